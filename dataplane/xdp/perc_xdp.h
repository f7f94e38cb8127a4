/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Shared between the XDP program (perc_xdp.bpf.c) and perc-mdd (xdp_port.c):
 * the layout of the configuration map and the indices of the counters.
 *
 * The program redirects to the AF_XDP sockets only UDP whose destination is
 * one of the MDD's media addresses and its media port; everything else goes
 * to the kernel (XDP_PASS), so ARP, ICMP, SSH and every other service of the
 * host keep working on the interface the MDD uses.
 */
#ifndef PERC_XDP_H
#define PERC_XDP_H

#include <linux/types.h>

/** Media addresses the program matches per family (as perc-mdd --addr). */
#define PERC_XDP_MAX_ADDRS 8

/** Map names as the kernel reports them (at most 15 characters). */
#define PERC_XDP_CFG_MAP "perc_cfg"
#define PERC_XDP_CNT_MAP "perc_cnt"

/** The one entry (key 0) of the array map "perc_cfg". */
struct perc_xdp_cfg {
	__be16 port;     /**< media UDP port, network order; 0 = redirect nothing */
	__u8 n4;         /**< valid entries of v4 */
	__u8 n6;         /**< valid entries of v6 */
	__be32 v4[PERC_XDP_MAX_ADDRS];
	__u8 v6[PERC_XDP_MAX_ADDRS][16];
};

/** Indices of the per-CPU array map "perc_cnt" (one __u64 each). */
enum perc_xdp_ctr {
	PERC_XDP_REDIRECTED,        /**< media, into the queue's AF_XDP socket */
	PERC_XDP_PASS_NOT_IP,       /**< ARP, LLDP, ...: to the kernel */
	PERC_XDP_PASS_NOT_UDP,      /**< ICMP, TCP, ...: to the kernel */
	PERC_XDP_PASS_OTHER_ADDR,   /**< UDP to another address of the host */
	PERC_XDP_PASS_OTHER_PORT,   /**< UDP to a media address, other port */
	PERC_XDP_PASS_NO_XSK,       /**< media on a queue without a socket */
	PERC_XDP_PASS_FRAGMENT,     /**< IPv4 fragment / IPv6 extension header */
	PERC_XDP_MALFORMED,         /**< truncated headers: to the kernel */
	PERC_XDP__COUNT
};

#endif /* PERC_XDP_H */
