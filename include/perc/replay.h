/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Per-SSRC stream state: RFC 3711 §3.3.1 ROC estimation and a bitmap replay
 * window (64..32768 packets). Checked before crypto, updated only after the tag
 * verified. The state lives in caller-provided memory (a mempool element, a
 * table slot): nothing here allocates.
 */
#ifndef PERC_REPLAY_H
#define PERC_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PERC_REPLAY_MIN 64u
#define PERC_REPLAY_MAX 32768u
#define PERC_REPLAY_DEFAULT 1024u

/** A replay window over 48-bit (RTP) or 31-bit (SRTCP) indices. The
 *  bitmap is the window rounded up to a power of two, so that a slot is an
 *  AND, not a division; acceptance uses the configured window. */
struct perc_replay {
	uint64_t top;       /**< highest index accepted so far */
	uint32_t window;    /**< packets accepted behind top (configured) */
	uint32_t mask;      /**< bitmap bits - 1 (a power of two minus one) */
	uint32_t nwords;    /**< bitmap words */
	uint32_t seen;      /**< 0 until the first index was accepted */
	uint32_t hinted;    /**< engine-private: hint valid (unseen stream) */
	uint64_t hint;      /**< engine-private: provisional top within a burst */
	uint64_t *bits;     /**< bit (i & mask) set when index i was accepted */
};

/** One direction of one SSRC under one key. */
struct perc_stream {
	struct perc_replay rtp;   /**< RTP: index = ROC << 16 | SEQ */
	struct perc_replay rtcp;  /**< SRTCP index (31 bits) */
	uint32_t roc_init;        /**< ROC assumed for the first packet */
	uint32_t rtcp_next;       /**< next SRTCP index to send */
};

/** Bytes of caller memory a stream with this window needs (0: bad window). */
size_t perc_stream_size(uint32_t window);

/**
 * Lay out a stream in mem (perc_stream_size() bytes, 8-byte aligned).
 * window: packets, from 64 to 32768. roc: ROC of the first
 * packet. Returns the stream or NULL on a bad window.
 */
struct perc_stream *perc_stream_init(void *mem, uint32_t window, uint32_t roc);

/** Start again from roc (as after a rekey). */
void perc_stream_reset(struct perc_stream *s, uint32_t roc);

/** RFC 3711 §3.3.1: the 48-bit index of a received SEQ (ROC << 16 | SEQ).
 *  Returns false when the estimate would fall before index 0. */
bool perc_rtp_index_guess(const struct perc_replay *w, uint32_t roc_init,
			  uint16_t seq, uint64_t *index);

/** PERC_R_OK, PERC_R_REPLAY or PERC_R_TOO_OLD; changes nothing. */
int perc_replay_check(const struct perc_replay *w, uint64_t index);

/** Mark index accepted, sliding the window. Returns PERC_R_REPLAY when it
 *  was already marked (a duplicate within one burst), else PERC_R_OK. */
int perc_replay_update(struct perc_replay *w, uint64_t index);

#endif
