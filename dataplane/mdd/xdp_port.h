/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * perc-mdd on net_af_xdp ports with the project's XDP program
 * (dataplane/xdp/perc_xdp.bpf.c, docs/afxdp.md).
 *
 * DPDK 22.11's net_af_xdp PMD loads and attaches the program itself
 * (devarg xdp_prog=PATH) and fills its "xsks_map"; it offers no way to take
 * an attached program from the application (use_cni is for a CNI's pinned
 * map). So after the ports have started, perc-mdd finds the program on each
 * net_af_xdp port's interface by id, writes the media addresses and port into
 * its "perc_cfg" map and keeps the "perc_cnt" map to read the counters.
 */
#ifndef MDD_XDP_PORT_H
#define MDD_XDP_PORT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "perc_xdp.h"

struct mdd;

/** The XDP counters summed over every CPU and every net_af_xdp port. */
struct mdd_xdp_counters {
	unsigned ports;                    /**< ports running perc's program */
	uint64_t c[PERC_XDP__COUNT];       /**< indexed by enum perc_xdp_ctr */
};

/**
 * Configure perc's XDP program on every started net_af_xdp port of @p m:
 * media addresses and port into "perc_cfg". A net_af_xdp port without
 * perc's program (no xdp_prog devarg: the PMD's default program redirects
 * everything) is reported (rte_log, perc.mdd.dataplane) and left alone.
 *
 * @return 0, or -1 with a message in @p err (a map cannot be written).
 */
int mdd_xdp_ports_init(const struct mdd *m, char *err, size_t len);

/**
 * Read the counters (for the metrics code and the stats JSON).
 *
 * @return 0 (out->ports == 0 when no port runs perc's program), -1 when a
 *   map cannot be read.
 */
int mdd_xdp_counters(struct mdd_xdp_counters *out);

/** Name of counter @p i in the stats JSON ("redirected", ...). */
const char *mdd_xdp_ctr_name(unsigned i);

/** Add "xdp": {ports, counters} to the stats JSON @p root when in use. */
void mdd_xdp_stats(json_t *root);

/** Close the map descriptors (before the ports close). */
void mdd_xdp_fini(void);

#endif /* MDD_XDP_PORT_H */
