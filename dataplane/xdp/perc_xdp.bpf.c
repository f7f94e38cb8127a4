/* SPDX-License-Identifier: (BSD-3-Clause OR GPL-2.0) */
/*
 * perc-mdd's XDP program for net_af_xdp ports: media (UDP to one of the MDD's
 * addresses and its media port) goes into the AF_XDP socket of the receive
 * queue, everything else to the kernel. Loaded by DPDK's net_af_xdp PMD
 * (devarg xdp_prog=PATH, which requires the map "xsks_map"); perc-mdd then
 * writes the addresses and port into "perc_cfg" and reads "perc_cnt".
 * Until perc-mdd has written the configuration the port is 0 and every frame
 * goes to the kernel.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "perc_xdp.h"

/* the PMD puts queue i's socket at key i */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct perc_xdp_cfg);
} perc_cfg SEC(".maps");

/* per CPU: no atomic operation on the fast path; perc-mdd sums the CPUs */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PERC_XDP__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} perc_cnt SEC(".maps");

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

static __always_inline int
count(__u32 idx, int verdict)
{
	__u64 *c = bpf_map_lookup_elem(&perc_cnt, &idx);

	if (c != NULL)
		*c += 1;
	return verdict;
}

static __always_inline int
match_v4(const struct perc_xdp_cfg *cfg, __be32 dst)
{
#pragma unroll
	for (int i = 0; i < PERC_XDP_MAX_ADDRS; i++)
		if (i < cfg->n4 && cfg->v4[i] == dst)
			return 1;
	return 0;
}

static __always_inline int
same16(const __u8 *a, const __u8 *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1];
}

static __always_inline int
match_v6(const struct perc_xdp_cfg *cfg, const struct ipv6hdr *ip6)
{
	__u8 dst[16];

	__builtin_memcpy(dst, &ip6->daddr, 16);
#pragma unroll
	for (int i = 0; i < PERC_XDP_MAX_ADDRS; i++)
		if (i < cfg->n6 && same16(cfg->v6[i], dst))
			return 1;
	return 0;
}

SEC("xdp")
int
perc_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	const struct perc_xdp_cfg *cfg;
	struct udphdr *udp;
	__u32 key = 0, qid;
	__u16 proto;
	void *l3;

	if ((void *)(eth + 1) > end)
		return count(PERC_XDP_MALFORMED, XDP_PASS);
	proto = eth->h_proto;
	l3 = eth + 1;
	/* up to two VLAN tags (802.1Q, QinQ) */
#pragma unroll
	for (int i = 0; i < 2; i++) {
		struct vlan_hdr *vh = l3;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > end)
			return count(PERC_XDP_MALFORMED, XDP_PASS);
		proto = vh->proto;
		l3 = vh + 1;
	}
	cfg = bpf_map_lookup_elem(&perc_cfg, &key);
	if (cfg == NULL)
		return count(PERC_XDP_MALFORMED, XDP_PASS);
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > end || ip->ihl < 5)
			return count(PERC_XDP_MALFORMED, XDP_PASS);
		if (ip->protocol != IPPROTO_UDP)
			return count(PERC_XDP_PASS_NOT_UDP, XDP_PASS);
		if (!match_v4(cfg, ip->daddr))
			return count(PERC_XDP_PASS_OTHER_ADDR, XDP_PASS);
		/* a later fragment has no UDP header: the kernel reassembles */
		if (ip->frag_off & bpf_htons(0x3fff))
			return count(PERC_XDP_PASS_FRAGMENT, XDP_PASS);
		udp = (void *)ip + ip->ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > end)
			return count(PERC_XDP_MALFORMED, XDP_PASS);
		if (ip6->nexthdr != IPPROTO_UDP) {
			/* extension headers: the MDD parses none, the kernel all */
			if (ip6->nexthdr == IPPROTO_HOPOPTS || ip6->nexthdr == IPPROTO_ROUTING ||
			    ip6->nexthdr == IPPROTO_FRAGMENT || ip6->nexthdr == IPPROTO_DSTOPTS)
				return count(PERC_XDP_PASS_FRAGMENT, XDP_PASS);
			return count(PERC_XDP_PASS_NOT_UDP, XDP_PASS);
		}
		if (!match_v6(cfg, ip6))
			return count(PERC_XDP_PASS_OTHER_ADDR, XDP_PASS);
		udp = (void *)(ip6 + 1);
	} else {
		return count(PERC_XDP_PASS_NOT_IP, XDP_PASS);
	}
	if ((void *)(udp + 1) > end)
		return count(PERC_XDP_MALFORMED, XDP_PASS);
	if (cfg->port == 0 || udp->dest != cfg->port)
		return count(PERC_XDP_PASS_OTHER_PORT, XDP_PASS);
	qid = ctx->rx_queue_index;
	/* a queue the MDD has no socket on: better the kernel than a drop */
	if (bpf_map_lookup_elem(&xsks_map, &qid) == NULL)
		return count(PERC_XDP_PASS_NO_XSK, XDP_PASS);
	count(PERC_XDP_REDIRECTED, XDP_PASS);
	return bpf_redirect_map(&xsks_map, qid, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
