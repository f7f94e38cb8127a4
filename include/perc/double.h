/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * RFC 8723 double SRTP: the endpoint's send and receive procedures and the
 * Media Distributor's hop operation.
 */
#ifndef PERC_DOUBLE_H
#define PERC_DOUBLE_H

#include <stdint.h>

#include "ohb.h"
#include "srtp.h"

/** Keys of one endpoint direction: inner (E2E) and outer (HBH) halves. */
struct perc_double_key {
	struct perc_key inner;
	struct perc_key outer;
};

/** Split an inner‖outer master key and salt and set up both layers. */
int perc_double_key_init(struct perc_double_key *k, struct perc_engine *e,
			 const struct perc_profile *dbl, const uint8_t *master_key,
			 const uint8_t *master_salt);
void perc_double_key_clear(struct perc_double_key *k);

/**
 * Endpoint send: protect the plain RTP packet in buf (len bytes, room for
 * cap) in place: inner GCM over payload (+ padding) with the synthetic
 * header as AAD and the inner ROC, OHB 0x00, then the outer layer over the
 * whole header. inner_st/outer_st track the two ROCs independently; with
 * NULL streams roc is used for both. On success *len is the new length.
 * Returns a perc_reason.
 */
int perc_double_protect(struct perc_engine *e, const struct perc_double_key *k,
			struct perc_stream *inner_st, struct perc_stream *outer_st,
			uint32_t roc, uint8_t *buf, uint32_t *len, uint32_t cap);

/**
 * Endpoint receive: open the outer layer, read the OHB, restore the
 * original PT / SEQ / marker, open the inner layer with the original SEQ and
 * the inner ROC. buf then holds the packet as the sender built it (header
 * with its extension as received, except the restored fields).
 */
int perc_double_unprotect(struct perc_engine *e, const struct perc_double_key *k,
			  struct perc_stream *inner_st, struct perc_stream *outer_st,
			  uint32_t roc, uint8_t *buf, uint32_t *len);

/**
 * Media Distributor hop on one packet: open the outer layer with in (the
 * sender's HBH key), apply the change to header and OHB, seal with out (the
 * receiver's HBH key) into dst (may equal src). Streams may be NULL (then
 * roc_in / roc_out are used). Returns a perc_reason; *dst_len on success.
 */
int perc_hop_relay(struct perc_engine *e, const struct perc_key *in, struct perc_stream *in_st,
		   uint32_t roc_in, const struct perc_key *out, struct perc_stream *out_st,
		   uint32_t roc_out, const struct perc_hop_change *c, const uint8_t *src,
		   uint32_t src_len, uint8_t *dst, uint32_t cap, uint32_t *dst_len);

/**
 * After an outer-layer open (plain = header ‖ inner ct ‖ inner tag ‖ OHB,
 * len bytes, hdr_len header bytes): apply c to the header and the OHB in
 * place. The OHB may grow or shrink: *len changes and cap bounds it.
 * Returns PERC_R_OK, PERC_R_OHB or PERC_R_NO_ROOM.
 */
int perc_hop_rewrite(uint8_t *plain, uint32_t *len, uint32_t cap, uint32_t hdr_len,
		     const struct perc_hop_change *c);

#endif
