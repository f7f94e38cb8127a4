/* SPDX-License-Identifier: BSD-3-Clause */
/* Library-internal glue between the engine and its libsrtp2 reference backend. */
#ifndef PERC_INTERNAL_H
#define PERC_INTERNAL_H

#include <string.h>

#include "perc/srtp.h"

static inline void
perc_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t
perc_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/** RFC 7714 §8.1 / §9.1 IV: (0x0000 ‖ SSRC ‖ hi ‖ lo) XOR salt, where hi is
 *  the ROC (RTP) or 0 (SRTCP) and lo the SEQ (RTP). */
static inline void
perc_gcm_iv(uint8_t *iv, const uint8_t *salt, uint32_t ssrc, uint32_t hi, uint16_t lo)
{
	uint8_t b[12];

	b[0] = 0;
	b[1] = 0;
	perc_put32(b + 2, ssrc);
	perc_put32(b + 6, hi);
	b[10] = (uint8_t)(lo >> 8);
	b[11] = (uint8_t)lo;
	for (int i = 0; i < 12; i++)
		iv[i] = b[i] ^ salt[i];
}

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
