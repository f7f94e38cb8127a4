/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The SRTP/SRTCP engine interface shared by the fast path, the control plane
 * and the tools.
 *
 * An engine belongs to one thread. The ipsec-mb engines own one IMB_MGR and
 * process many packets of many keys in one burst submission; the libsrtp2
 * engine implements the same calls per packet (reference oracle and benchmark
 * baseline, single profiles only).
 *
 * A key (struct perc_key) is set up once: KDF, AES/GCM key expansion, HMAC
 * pads and job templates; afterwards it is read-only and may be shared by
 * threads whose engines have the same architecture. Stream state (ROC, replay
 * window, SRTCP index) lives in struct perc_stream, owned by one thread.
 */
#ifndef PERC_SRTP_H
#define PERC_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <intel-ipsec-mb.h>

#include "profile.h"
#include "reason.h"
#include "replay.h"

/** Which implementation runs the crypto. */
enum perc_arch {
	PERC_ARCH_AUTO = 0,  /**< best ipsec-mb architecture the CPU offers */
	PERC_ARCH_SSE,
	PERC_ARCH_AVX,
	PERC_ARCH_AVX2,
	PERC_ARCH_AVX512,
	PERC_ARCH_LIBSRTP,   /**< libsrtp2, per packet: reference and baseline */
	PERC_ARCH__COUNT
};

/** "auto", "sse", "avx", "avx2", "avx512", "libsrtp". */
const char *perc_arch_name(enum perc_arch a);
/** Parse a name as above; -1 when unknown. */
int perc_arch_parse(const char *name);
/** Whether this CPU can run the architecture. */
bool perc_arch_supported(enum perc_arch a);

/** Maximum packets one perc_engine_run() call takes. */
#define PERC_BURST_MAX 128u
/** Largest packet the engines accept. */
#define PERC_PKT_MAX 65535u

/** Job templates of a key, filled once at key set-up. */
enum perc_tmpl {
	PERC_TMPL_RTP_ENC = 0,
	PERC_TMPL_RTP_DEC,
	PERC_TMPL_RTCP_ENC,
	PERC_TMPL_RTCP_DEC,
	PERC_TMPL__COUNT
};

/** One single-profile key of one layer, expanded for one engine
 *  architecture. Treat as opaque; 64-byte aligned. An ipsec-mb key is
 *  read-only after set-up and may be shared by threads whose engines have
 *  its architecture; a libsrtp2 key holds libsrtp2's per-SSRC state and
 *  belongs to one thread. */
struct perc_key {
	const struct perc_profile *prof;  /**< single profile of this layer */
	uint8_t arch;                     /**< enum perc_arch it was built for */
	uint8_t tag_rtp;                  /**< RTP tag bytes */
	uint8_t tag_rtcp;                 /**< SRTCP tag bytes */
	uint8_t salt_len;                 /**< session salt bytes */
	uint8_t aead;                     /**< prof->aead, kept beside the tags */
	/** the per-key fields of the four ipsec-mb jobs a key's packets use,
	 *  filled once; one cache line each, next to the fields above so the
	 *  fast path touches no more of a cold key than it must */
	struct perc_job_tmpl {
		const void *keys;             /**< enc_keys = dec_keys */
		const uint8_t *ipad, *opad;   /**< HMAC-SHA1 pads (AES-CM) */
		uint64_t key_len;
		IMB_CIPHER_MODE cipher_mode;
		IMB_HASH_ALG hash_alg;
		IMB_CIPHER_DIRECTION dir;
		IMB_CHAIN_ORDER chain;
		uint8_t iv_len;
		uint8_t tag_out_len;
	} tmpl[PERC_TMPL__COUNT] __attribute__((aligned(64)));
	uint8_t rtp_salt[16];             /**< session salt, zero-padded */
	uint8_t rtcp_salt[16];
	union {
		struct {
			struct gcm_key_data rtp;
			struct gcm_key_data rtcp;
		} gcm;
		struct {
			uint32_t rtp_ek[60] __attribute__((aligned(16)));
			uint32_t rtcp_ek[60] __attribute__((aligned(16)));
			uint8_t rtp_ipad[32] __attribute__((aligned(16)));
			uint8_t rtp_opad[32] __attribute__((aligned(16)));
			uint8_t rtcp_ipad[32] __attribute__((aligned(16)));
			uint8_t rtcp_opad[32] __attribute__((aligned(16)));
		} cm;
		struct {
			void *tx;   /**< srtp_t, ssrc_any_outbound */
			void *rx;   /**< srtp_t, ssrc_any_inbound */
		} ref;
	} u;
} __attribute__((aligned(64)));

/** What one op asks for. */
enum perc_op_type {
	PERC_OP_RTP_PROTECT = 0,
	PERC_OP_RTP_UNPROTECT,
	PERC_OP_RTCP_PROTECT,
	PERC_OP_RTCP_UNPROTECT,
};

/** Op flags. */
#define PERC_OPF_INDEX     0x01u  /**< use op->index instead of the stream's */
#define PERC_OPF_RTCP_AUTH_ONLY 0x02u  /**< SRTCP protect with E = 0 */

/**
 * One packet for an engine. src and dst may be equal (in place) or apart
 * (out of place: the header is copied, the payload transformed into dst).
 * On protect dst needs room for len + tag (+ 4 for SRTCP).
 */
struct perc_op {
	const struct perc_key *key;  /**< expanded key (the engine's arch) */
	struct perc_stream *stream;  /**< ROC/replay state; NULL needs PERC_OPF_INDEX */
	const uint8_t *src;          /**< packet in */
	uint8_t *dst;                /**< packet out (may equal src) */
	uint32_t len;                /**< in: bytes at src; out: bytes at dst */
	uint32_t cap;                /**< room at dst */
	uint8_t type;                /**< enum perc_op_type */
	uint8_t flags;               /**< PERC_OPF_* */
	uint8_t reason;              /**< out: enum perc_reason */
	uint8_t encrypted;           /**< out (SRTCP unprotect): E bit */
	uint16_t hdr_len;            /**< out: RTP header / SRTCP prefix bytes */
	uint64_t index;              /**< RTP ROC<<16|SEQ or SRTCP index: in with
				      *  PERC_OPF_INDEX, out always */
	/* engine scratch (not for callers) */
	uint8_t iv[16] __attribute__((aligned(16)));
	uint8_t aad[16];
	uint8_t tag[20];
	uint8_t saved[16];
};

struct perc_engine;

/** Create an engine for the calling thread; NULL with errno on failure
 *  (ENOTSUP: CPU lacks the architecture). */
struct perc_engine *perc_engine_create(enum perc_arch arch);
void perc_engine_destroy(struct perc_engine *e);
/** The architecture actually running (AUTO resolved). */
enum perc_arch perc_engine_arch(const struct perc_engine *e);

/**
 * Set up a key for a SINGLE profile: KDF from the master key and salt, key
 * expansion, HMAC pads. For a double profile set up each layer with
 * perc_profile_layer() and its half. Returns PERC_R_OK or PERC_R_PROFILE /
 * PERC_R_ENGINE.
 */
int perc_key_init(struct perc_key *k, struct perc_engine *e,
		  const struct perc_profile *layer, const uint8_t *master_key,
		  const uint8_t *master_salt);

/** Set up a key from already-derived session keys (RFC 7714 test vectors).
 *  auth may be NULL for AEAD profiles. rtcp_* default to the RTP ones when NULL. */
int perc_key_init_session(struct perc_key *k, struct perc_engine *e,
			  const struct perc_profile *layer, const uint8_t *rtp_key,
			  const uint8_t *rtp_salt, const uint8_t *rtp_auth,
			  const uint8_t *rtcp_key, const uint8_t *rtcp_salt,
			  const uint8_t *rtcp_auth);

/** Zeroize a key (and free the libsrtp sessions behind a reference key). */
void perc_key_clear(struct perc_key *k);

/**
 * Run a burst of up to PERC_BURST_MAX ops of any keys, types and sizes.
 * Phase 1 parses and checks replay, phase 2 submits one ipsec-mb burst,
 * phase 3 verifies tags in constant time and updates replay state.
 * Returns the number of good ops; ops[] is reordered so that the good ones
 * come first (in their original order) and the bad ones after, each with
 * op->reason set.
 */
uint16_t perc_engine_run(struct perc_engine *e, struct perc_op **ops, uint16_t n);

/** One op through perc_engine_run(); returns op->reason. */
int perc_engine_run1(struct perc_engine *e, struct perc_op *op);

/**
 * Bare AES-GCM with caller IV and AAD on the engine's architecture (the
 * inner layer of RFC 8723, known-answer checks). enc: seal src into dst and
 * write the 16-byte tag; !enc: open and verify tag in constant time.
 * Returns PERC_R_OK or PERC_R_AUTH / PERC_R_KEY.
 */
int perc_engine_gcm(struct perc_engine *e, const struct gcm_key_data *gk, unsigned key_len,
		    bool enc, const uint8_t iv[12], const uint8_t *aad, size_t aad_len,
		    const uint8_t *src, uint8_t *dst, size_t len, uint8_t *tag);

/** The engine's IMB_MGR (NULL for libsrtp); for benchmarks of the bare operation. */
IMB_MGR *perc_engine_mgr(struct perc_engine *e);

#endif
