/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Per-endpoint capture on demand (docs/operations.md, "Capture").
 *
 * The control thread arms a capture by storing a token in the leg
 * (mdd_leg.capture). The leg's owning worker, and any worker sending to the
 * leg, copies each packet into a record from a fixed pool and enqueues it
 * on its own single-producer ring to the control thread; no malloc, no
 * syscall, no lock in the fast path. A full ring or an empty pool is a
 * counted drop. The control thread writes the records as pcapng.
 *
 * Token layout: bit 0 = decrypted (the packet after the hop-by-hop layer
 * was opened: RTP header, still E2E-sealed payload and OHB; never a key),
 * bits 1..4 = capture slot, bits 5.. = generation (a stale record of a
 * stopped capture never lands in a later one).
 */
#ifndef MDD_CAPTURE_H
#define MDD_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "mdd.h"

/** Captures at a time. */
#define MDD_CAP_MAX 16
/** Bytes of a packet kept (an Ethernet frame of the largest media packet fits). */
#define MDD_CAP_SNAP 2048
/** Records in the pool (shared by all workers) and in each worker's ring. */
#define MDD_CAP_POOL 4095
#define MDD_CAP_RING 1024
/** Default --capture-dir. */
#define MDD_CAP_DIR_DEFAULT "/var/lib/perc-mdd/captures"

enum mdd_cap_dir {
	MDD_CAP_IN = 1,   /**< from the endpoint */
	MDD_CAP_OUT = 2,  /**< to the endpoint */
};

/** One captured packet on its way to the control thread. */
struct mdd_cap_rec {
	uint64_t tsc;             /**< when the worker copied it */
	uint32_t token;           /**< the leg's capture token then */
	uint16_t len;             /**< bytes in data */
	uint16_t orig_len;        /**< bytes of the packet */
	uint8_t dir;              /**< enum mdd_cap_dir */
	struct mdd_leg_key peer;  /**< the endpoint's address */
	uint8_t data[MDD_CAP_SNAP];
};

/** Record pool (NULL when captures are unavailable). */
extern struct rte_mempool *mdd_cap_pool;

/** Fast path: copy p[0..len) for the capture tok (worker w). */
static inline void
mdd_cap_copy(struct mdd_worker *w, uint32_t tok, const struct mdd_leg_key *peer, uint8_t dir,
	     const uint8_t *p, uint32_t len)
{
	struct mdd_cap_rec *r;
	void *obj;

	if (mdd_cap_pool == NULL || rte_mempool_get(mdd_cap_pool, &obj) != 0) {
		w->ctr.c[MDD_C_capture_no_buf]++;
		return;
	}
	r = obj;
	r->tsc = rte_rdtsc();
	r->token = tok;
	r->orig_len = (uint16_t)(len > UINT16_MAX ? UINT16_MAX : len);
	r->len = (uint16_t)(len > MDD_CAP_SNAP ? MDD_CAP_SNAP : len);
	r->dir = dir;
	r->peer = *peer;
	memcpy(r->data, p, r->len);
	if (rte_ring_sp_enqueue(w->cap_ring, r) != 0) {
		rte_mempool_put(mdd_cap_pool, r);
		w->ctr.c[MDD_C_capture_ring_full]++;
		return;
	}
	w->ctr.c[MDD_C_captured]++;
}

/** The leg's capture token when it wants decrypted (dec true) or raw
 *  (dec false) copies, else 0. */
static inline uint32_t
mdd_cap_want(const struct mdd_leg *l, bool dec)
{
	uint32_t t = __atomic_load_n(&l->capture, __ATOMIC_RELAXED);

	return t != 0 && (bool)(t & 1) == dec ? t : 0;
}

/** Take --capture-dir DIR out of argv (perc-mdd's options, after the
 *  EAL's). 0, or -1 (message on stderr). */
int mdd_capture_args(int *argc, char **argv);
/** The record pool and each worker's ring (before the workers start);
 *  rte_pdump_init so dpdk-dumpcap can attach (a warning when it cannot).
 *  0 or -1 (err). */
int mdd_capture_init(struct mdd *m, char *err, size_t errlen);
/** Control thread, every round: write records, end captures at their
 *  limits or when their endpoint left. Returns records handled. */
unsigned mdd_capture_poll(struct mdd *m);
/** Close every capture (files complete), free the rings and the pool,
 *  rte_pdump_uninit. */
void mdd_capture_fini(struct mdd *m);
/** The API's capture ops (capture_start, capture_stop, capture_list), or
 *  NULL when line is another op. */
json_t *mdd_capture_api(struct mdd *m, const char *line, size_t len);

#endif
