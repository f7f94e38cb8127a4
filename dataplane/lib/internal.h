/* SPDX-License-Identifier: BSD-3-Clause */
/* Library-internal glue between the engine and its libsrtp2 reference backend. */
#ifndef PERC_INTERNAL_H
#define PERC_INTERNAL_H

#include "perc/srtp.h"

/** srtp_init() once per process (thread-safe); 0 on success. */
int perc_ref_global_init(void);

/** Create the libsrtp2 sessions (ssrc_any_outbound and ssrc_any_inbound,
 *  replay window PERC_REPLAY_DEFAULT) for a single profile. Returns a
 *  perc_reason. */
int perc_ref_key_init(struct perc_key *k, const struct perc_profile *layer,
		      const uint8_t *master_key, const uint8_t *master_salt);

/** Deallocate the libsrtp2 sessions of k. */
void perc_ref_key_clear(struct perc_key *k);

/** Run one op through libsrtp2 (per packet, in place after copying src to
 *  dst when they differ). Sets op->reason, op->len, op->hdr_len, op->index.
 *  op->stream is not used: libsrtp2 keeps ROC and replay state itself;
 *  PERC_OPF_INDEX sets the stream's ROC / SRTCP index where libsrtp2 allows. */
void perc_ref_op(struct perc_op *op);

#endif
