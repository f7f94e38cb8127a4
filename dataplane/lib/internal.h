/* SPDX-License-Identifier: BSD-3-Clause */
/* Library-internal glue between the engine and its libsrtp2 reference backend. */
#ifndef PERC_INTERNAL_H
#define PERC_INTERNAL_H

#include <endian.h>
#include <string.h>

#include "perc/srtp.h"

static inline void
perc_put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static inline uint32_t
perc_get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

/** RFC 7714 §8.1 / §9.1 IV: (0x0000 ‖ SSRC ‖ hi ‖ lo) XOR salt, where hi is
 *  the ROC (RTP) or 0 (SRTCP) and lo the SEQ (RTP). */
static inline void
perc_gcm_iv(uint8_t *iv, const uint8_t *salt, uint32_t ssrc, uint32_t hi, uint16_t lo)
{
	/* big-endian 0x0000 ‖ SSRC ‖ hi ‖ lo as one 64-bit and one 32-bit
	 * word, XORed with the salt: no byte loop */
	uint64_t b0 = htobe64(((uint64_t)ssrc << 16) | (hi >> 16));
	uint32_t b1 = htobe32((hi << 16) | lo), s1;
	uint64_t s0;

	memcpy(&s0, salt, 8);
	memcpy(&s1, salt + 8, 4);
	b0 ^= s0;
	b1 ^= s1;
	memcpy(iv, &b0, 8);
	memcpy(iv + 8, &b1, 4);
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
