/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * RTP header codec (RFC 3550, RFC 8285 header extensions) with full length
 * validation. Parsing never reads past len and never allocates.
 */
#ifndef PERC_RTP_H
#define PERC_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PERC_RTP_FIXED 12u
#define PERC_RTP_MAX_EXT_ELEMS 64u

/** Parsed view of an RTP header; pointers point into the packet. */
struct perc_rtp_hdr {
	uint8_t version;
	bool padding;
	bool extension;
	uint8_t cc;
	bool marker;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	uint16_t hdr_len;        /**< fixed + CSRCs + extension */
	uint16_t ext_profile;    /**< 0xBEDE, 0x100X or other (when extension) */
	uint16_t ext_len;        /**< extension body bytes (excl. 4-byte header) */
	const uint8_t *ext;      /**< extension body */
};

/** One RFC 8285 extension element. */
struct perc_rtp_ext_elem {
	uint8_t id;
	uint8_t len;
	const uint8_t *data;
};

/**
 * Header length of an RTP packet (fixed + CSRCs + extension) with every
 * length checked: 0 when the packet is not version 2 or shorter than its
 * header. The fast path uses this; it does not look inside the extension.
 */
static inline uint32_t
perc_rtp_hdr_len(const uint8_t *p, uint32_t len)
{
	uint32_t h;

	if (len < PERC_RTP_FIXED || (p[0] & 0xc0) != 0x80)
		return 0;
	h = PERC_RTP_FIXED + 4u * (p[0] & 0x0fu);
	if (p[0] & 0x10) {
		if (len < h + 4)
			return 0;
		h += 4 + 4u * (((uint32_t)p[h + 2] << 8) | p[h + 3]);
	}
	return h <= len ? h : 0;
}

/** Parse the header. Returns PERC_R_OK or PERC_R_MALFORMED. */
int perc_rtp_parse(const uint8_t *p, size_t len, struct perc_rtp_hdr *h);

/**
 * Walk the RFC 8285 one-byte (0xBEDE) or two-byte (0x100X) extension
 * elements of a parsed header into elems (at most max). Padding bytes (0x00)
 * are skipped; id 15 in one-byte form ends the walk. Returns the number of
 * elements, or -PERC_R_MALFORMED when an element runs past the extension (or
 * a one-byte element has id 0 and a non-zero length), or -PERC_R_OVERSIZED
 * when more than max elements are present. Returns 0 for other extension
 * profiles.
 */
int perc_rtp_ext_parse(const struct perc_rtp_hdr *h, struct perc_rtp_ext_elem *elems,
		       unsigned max);

/**
 * Validate and measure RTP padding of a PLAINTEXT packet: the P bit says the
 * last byte counts padding bytes (that byte included). Returns the padding
 * length (0 without P), or -PERC_R_MALFORMED when the count is 0 or larger
 * than the payload.
 */
int perc_rtp_padding(const uint8_t *p, size_t len, const struct perc_rtp_hdr *h);

/** Write a header without extension (CSRCs from csrc when cc > 0). Returns
 *  bytes written, or 0 when cap is too small, cc > 15, pt > 127 or csrc is
 *  NULL with cc > 0. */
size_t perc_rtp_write(uint8_t *p, size_t cap, bool marker, uint8_t pt, uint16_t seq,
		      uint32_t ts, uint32_t ssrc, const uint32_t *csrc, uint8_t cc);

/** RFC 7983 / RFC 5761 demultiplexing of the first UDP payload bytes. */
enum perc_demux {
	PERC_DEMUX_OTHER = 0,
	PERC_DEMUX_STUN,
	PERC_DEMUX_DTLS,
	PERC_DEMUX_TURN,
	PERC_DEMUX_RTP,
	PERC_DEMUX_RTCP,
};
static inline enum perc_demux
perc_demux(const uint8_t *p, size_t len)
{
	uint8_t b;

	if (len == 0)
		return PERC_DEMUX_OTHER;
	b = p[0];
	if (b <= 3)
		return PERC_DEMUX_STUN;
	if (b >= 20 && b <= 63)
		return PERC_DEMUX_DTLS;
	if (b >= 64 && b <= 79)
		return PERC_DEMUX_TURN;
	if (b >= 128 && b <= 191) {
		if (len >= 2 && p[1] >= 192 && p[1] <= 223)
			return PERC_DEMUX_RTCP;
		return PERC_DEMUX_RTP;
	}
	return PERC_DEMUX_OTHER;
}

#endif
