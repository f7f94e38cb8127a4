/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by perc-bench-pipeline (the MDD worker loop) and
 * perc-bench-pipeline-floor (the bare ipsec-mb work of the same packets):
 * the provisioning file and the capture, read once into memory before
 * anything is timed; each frame's sender and fan-out; the split of the
 * capture into a warm-up and the timed chunks; the TSC and the machine
 * facts the JSON reports. perf/README.md describes the benchmark.
 */
#ifndef BENCH_PIPELINE_COMMON_H
#define BENCH_PIPELINE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provision.h"

/** The conferences as provisioned, flattened: endpoint i of the whole file. */
struct bp_world {
	struct prov prov;
	const struct prov_endpoint **eps;
	unsigned n_eps;
	unsigned *conf_first;       /**< per endpoint: index of its conference's first endpoint */
	unsigned *conf_n;           /**< per endpoint: endpoints in its conference */
	unsigned n_confs;
	unsigned n_streams;         /**< SSRCs listed over all endpoints */
	struct bp_addr_ent *by_addr; /**< sorted, for bp_world_find() */
};

/** One frame of the capture. */
struct bp_frame {
	size_t off;                 /**< in bp_capture.data */
	uint32_t len;
	uint32_t ep;                /**< sender (index in bp_world) */
	uint16_t payload_off;       /**< UDP payload (the SRTP packet, EKT field last) */
	uint16_t payload_len;
	uint16_t fanout;            /**< copies a correct MDD sends: the other endpoints */
};

struct bp_capture {
	uint8_t *data;
	size_t size;
	struct bp_frame *f;
	size_t n;
	uint32_t max_len;
	uint64_t egress;            /**< sum of fanout */
};

/** Load and flatten a provisioning file; 0, or -1 with err. */
int bp_world_load(const char *path, struct bp_world *w, char *err, size_t errlen);
void bp_world_free(struct bp_world *w);
/** Endpoint at a source address (family, network-order ip, host-order port) or -1. */
int bp_world_find(const struct bp_world *w, int family, const uint8_t *ip, uint16_t port);

/**
 * Read an Ethernet capture. Every frame must be RTP over UDP from a
 * provisioned endpoint to mdd_port (the benchmark replays media only:
 * generate without RTCP and bad frames). 0, or -1 with err.
 */
int bp_capture_load(const char *path, const struct bp_world *w, uint16_t mdd_port,
		    struct bp_capture *c, char *err, size_t errlen);
void bp_capture_free(struct bp_capture *c);

/**
 * Split the capture into a warm-up [b[0], b[1]) of warmup frames and the
 * timed chunks after it, each of the fewest frames whose copies reach
 * chunk_egress (the last one may have fewer): chunk k is [b[k+1], b[k+2]).
 * Returns the malloc'd bounds (NULL when out of memory) and the number of
 * chunks in *chunks (0: nothing to time).
 */
size_t *bp_split(const struct bp_capture *c, size_t warmup, uint64_t chunk_egress,
		 unsigned *chunks);

/** Nonvoluntary context switches of thread tid of this process so far
 *  (the scheduler gave its CPU to another task); 0 when unknown. */
uint64_t bp_preemptions(int tid);

/** Egress packets a correct MDD sends for frames [a, b). */
uint64_t bp_egress(const struct bp_capture *c, size_t a, size_t b);

/** TSC ticks per second, measured against CLOCK_MONOTONIC over ~100 ms. */
double bp_tsc_calibrate(void);
/** rdtsc serialised against the work before (end) or after (begin) it. */
uint64_t bp_tsc_begin(void);
uint64_t bp_tsc_end(void);

/* ---- the floor (bench_pipeline_floor.c) ---- */

struct bp_floor;

/**
 * Expand every endpoint's rx and tx session keys for ipsec-mb's direct
 * GCM API (arch: enum perc_arch, not libsrtp), find each frame's header,
 * ciphertext and IV, and check that every frame's outer tag verifies with
 * its sender's key. NULL with err on failure.
 */
struct bp_floor *bp_floor_create(const struct bp_world *w, const struct bp_capture *c, int arch,
				 char *err, size_t errlen);
/** Copy frames [a, b) to the floor's work area (not timed). 0 or -1. */
int bp_floor_load(struct bp_floor *f, size_t a, size_t b);
/** Timed: decrypt each loaded frame once and encrypt it once per
 *  receiver; returns TSC cycles. Call from one thread at a time. */
uint64_t bp_floor_pass(struct bp_floor *f, size_t a, size_t b);
/** The ipsec-mb architecture running. */
const char *bp_floor_arch(const struct bp_floor *f);
void bp_floor_destroy(struct bp_floor *f);

/** CPU model and whether the TSC is invariant, from /proc/cpuinfo. */
void bp_cpu_model(char *buf, size_t len, bool *tsc_invariant);
/** UTC now as ISO 8601. */
void bp_now_iso(char *buf, size_t len);

/** "PROG: message" on stderr, exit status 1 (a setup or check failed). */
void bp_die(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

#endif
