/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc's XDP program (dataplane/xdp/perc_xdp.bpf.c) on hand-made frames
 * through the kernel's BPF_PROG_TEST_RUN: which frames it would give to
 * perc-mdd and which to the kernel, counted by reason. No AF_XDP socket is
 * bound in a test run, so media is counted passed_no_xsk: the match itself
 * is what is checked here (the redirect: tests/integration/test_afxdp.sh).
 * Needs root / CAP_BPF: skips (77) otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "perc_xdp.h"
#include "perc_xdp.skel.h"

static struct perc_xdp *skel;
static int failures, checks;

static void
counters(uint64_t out[PERC_XDP__COUNT])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t v[ncpu];

	for (uint32_t k = 0; k < PERC_XDP__COUNT; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.perc_cnt), &k, v) == 0)
			for (int c = 0; c < ncpu; c++)
				out[k] += v[c];
	}
}

/* run one frame; it must come back XDP_PASS and raise exactly counter want */
static void
expect(const char *name, const uint8_t *frame, size_t len, enum perc_xdp_ctr want)
{
	uint64_t before[PERC_XDP__COUNT], after[PERC_XDP__COUNT];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (uint32_t)len,
		    .repeat = 1);
	int r, ok;

	counters(before);
	r = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.perc_xdp), &o);
	counters(after);
	ok = r == 0 && o.retval == XDP_PASS;
	for (unsigned k = 0; k < PERC_XDP__COUNT; k++)
		ok &= after[k] - before[k] == (k == (unsigned)want ? 1u : 0u);
	checks++;
	if (!ok) {
		failures++;
		printf("FAIL %s: run %d retval %u, counter %u not the only one raised\n", name, r,
		       o.retval, want);
	} else {
		printf("ok   %s\n", name);
	}
}

/* Ethernet + optional tags + IPv4/IPv6 + UDP/TCP header, no payload needed */
struct frame {
	uint8_t b[256];
	size_t len;
};

static void
eth(struct frame *f, const uint16_t *tags, int ntags, uint16_t type)
{
	memset(f, 0, sizeof(*f));
	memset(f->b, 0x02, 12);
	f->len = 12;
	for (int i = 0; i < ntags; i++) {
		uint16_t t = htons(tags[i]), tci = htons(100);

		memcpy(f->b + f->len, &t, 2);
		memcpy(f->b + f->len + 2, &tci, 2);
		f->len += 4;
	}
	type = htons(type);
	memcpy(f->b + f->len, &type, 2);
	f->len += 2;
}

static void
ipv4(struct frame *f, const char *dst, uint8_t proto, uint16_t dport, int ihl, uint16_t frag)
{
	uint8_t *ip = f->b + f->len;
	uint16_t port = htons(dport), fo = htons(frag);

	ip[0] = (uint8_t)(0x40 | ihl);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 6, &fo, 2);
	inet_pton(AF_INET, "198.18.0.16", ip + 12);
	inet_pton(AF_INET, dst, ip + 16);
	f->len += (size_t)ihl * 4;
	memcpy(f->b + f->len + 2, &port, 2);   /* UDP / TCP destination port */
	f->len += 20;
}

static void
ipv6(struct frame *f, const char *dst, uint8_t next, uint16_t dport)
{
	uint8_t *ip = f->b + f->len;
	uint16_t port = htons(dport);

	ip[0] = 0x60;
	ip[6] = next;
	ip[7] = 64;
	inet_pton(AF_INET6, "2001:db8::16", ip + 8);
	inet_pton(AF_INET6, dst, ip + 24);
	f->len += 40;
	memcpy(f->b + f->len + 2, &port, 2);
	f->len += 20;
}

static void
configure(uint16_t port)
{
	struct perc_xdp_cfg cfg = { .port = htons(port), .n4 = 2, .n6 = 1 };
	uint32_t key = 0;

	inet_pton(AF_INET, "192.0.2.7", &cfg.v4[0]);
	inet_pton(AF_INET, "192.0.2.1", &cfg.v4[1]);
	inet_pton(AF_INET6, "2001:db8::1", cfg.v6[0]);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.perc_cfg), &key, &cfg, BPF_ANY) != 0) {
		printf("FAIL cannot write perc_cfg: %s\n", strerror(errno));
		exit(1);
	}
}

int
main(void)
{
	static const uint16_t q[] = { 0x8100 }, qq[] = { 0x88a8, 0x8100 };
	struct frame f;

	libbpf_set_print(NULL);
	skel = perc_xdp__open_and_load();
	if (skel == NULL) {
		printf("cannot load the XDP program (%s): needs root / CAP_BPF: skipped\n",
		       strerror(errno));
		return 77;
	}
	configure(0);
	eth(&f, NULL, 0, 0x0800), ipv4(&f, "192.0.2.1", 17, 3478, 5, 0);
	expect("unconfigured (port 0): media to the kernel", f.b, f.len, PERC_XDP_PASS_OTHER_PORT);
	configure(3478);
	expect("IPv4 UDP to the media address and port: media", f.b, f.len, PERC_XDP_PASS_NO_XSK);
	eth(&f, NULL, 0, 0x0800), ipv4(&f, "192.0.2.7", 17, 3478, 5, 0);
	expect("IPv4 media to the first of two addresses", f.b, f.len, PERC_XDP_PASS_NO_XSK);
	eth(&f, NULL, 0, 0x0800), ipv4(&f, "192.0.2.1", 17, 3478, 7, 0);
	expect("IPv4 with options (IHL 7): media", f.b, f.len, PERC_XDP_PASS_NO_XSK);
	eth(&f, q, 1, 0x0800), ipv4(&f, "192.0.2.1", 17, 3478, 5, 0);
	expect("802.1Q-tagged media", f.b, f.len, PERC_XDP_PASS_NO_XSK);
	eth(&f, qq, 2, 0x0800), ipv4(&f, "192.0.2.1", 17, 3478, 5, 0);
	expect("QinQ-tagged media", f.b, f.len, PERC_XDP_PASS_NO_XSK);
	eth(&f, NULL, 0, 0x0800), ipv4(&f, "192.0.2.1", 17, 5000, 5, 0);
	expect("IPv4 UDP to another port", f.b, f.len, PERC_XDP_PASS_OTHER_PORT);
	eth(&f, NULL, 0, 0x0800), ipv4(&f, "192.0.2.9", 17, 3478, 5, 0);
	expect("IPv4 UDP to another address", f.b, f.len, PERC_XDP_PASS_OTHER_ADDR);
	eth(&f, NULL, 0, 0x0800), ipv4(&f, "192.0.2.1", 6, 3478, 5, 0);
	expect("IPv4 TCP to the media address and port", f.b, f.len, PERC_XDP_PASS_NOT_UDP);
	eth(&f, NULL, 0, 0x0800), ipv4(&f, "192.0.2.1", 1, 0, 5, 0);
	expect("ICMP", f.b, f.len, PERC_XDP_PASS_NOT_UDP);
	eth(&f, NULL, 0, 0x0800), ipv4(&f, "192.0.2.1", 17, 3478, 5, 0x2000);
	expect("IPv4 first fragment (MF)", f.b, f.len, PERC_XDP_PASS_FRAGMENT);
	eth(&f, NULL, 0, 0x0800), ipv4(&f, "192.0.2.1", 17, 3478, 5, 185);
	expect("IPv4 later fragment (offset)", f.b, f.len, PERC_XDP_PASS_FRAGMENT);
	eth(&f, NULL, 0, 0x0806);
	f.len += 28;
	expect("ARP", f.b, f.len, PERC_XDP_PASS_NOT_IP);
	eth(&f, NULL, 0, 0x86dd), ipv6(&f, "2001:db8::1", 17, 3478);
	expect("IPv6 UDP to the media address and port: media", f.b, f.len, PERC_XDP_PASS_NO_XSK);
	eth(&f, q, 1, 0x86dd), ipv6(&f, "2001:db8::1", 17, 3478);
	expect("802.1Q-tagged IPv6 media", f.b, f.len, PERC_XDP_PASS_NO_XSK);
	eth(&f, NULL, 0, 0x86dd), ipv6(&f, "2001:db8::2", 17, 3478);
	expect("IPv6 UDP to another address", f.b, f.len, PERC_XDP_PASS_OTHER_ADDR);
	eth(&f, NULL, 0, 0x86dd), ipv6(&f, "2001:db8::1", 17, 3479);
	expect("IPv6 UDP to another port", f.b, f.len, PERC_XDP_PASS_OTHER_PORT);
	eth(&f, NULL, 0, 0x86dd), ipv6(&f, "2001:db8::1", 58, 0);
	expect("ICMPv6", f.b, f.len, PERC_XDP_PASS_NOT_UDP);
	eth(&f, NULL, 0, 0x86dd), ipv6(&f, "2001:db8::1", 44, 3478);
	expect("IPv6 fragment header", f.b, f.len, PERC_XDP_PASS_FRAGMENT);
	eth(&f, NULL, 0, 0x86dd), ipv6(&f, "2001:db8::1", 0, 3478);
	expect("IPv6 hop-by-hop header", f.b, f.len, PERC_XDP_PASS_FRAGMENT);
	/* truncations: every header cut short goes to the kernel, counted */
	eth(&f, q, 0, 0x8100);
	expect("VLAN tag cut off", f.b, f.len, PERC_XDP_MALFORMED);
	eth(&f, NULL, 0, 0x0800), ipv4(&f, "192.0.2.1", 17, 3478, 5, 0);
	expect("IPv4 header cut", f.b, 14 + 19, PERC_XDP_MALFORMED);
	expect("UDP header cut", f.b, 14 + 20 + 7, PERC_XDP_MALFORMED);
	eth(&f, NULL, 0, 0x0800), ipv4(&f, "192.0.2.1", 17, 3478, 4, 0);
	expect("IPv4 IHL below 5", f.b, f.len, PERC_XDP_MALFORMED);
	eth(&f, NULL, 0, 0x86dd), ipv6(&f, "2001:db8::1", 17, 3478);
	expect("IPv6 header cut", f.b, 14 + 39, PERC_XDP_MALFORMED);
	perc_xdp__destroy(skel);
	printf("xdp_prog: %d passed, %d failed\n", checks - failures, failures);
	return failures ? 1 : 0;
}
