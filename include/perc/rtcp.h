/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * RTCP compound packet codec (RFC 3550, RFC 4585 feedback) with full length
 * validation.
 */
#ifndef PERC_RTCP_H
#define PERC_RTCP_H

#include <stddef.h>
#include <stdint.h>

enum perc_rtcp_pt {
	PERC_RTCP_SR = 200,
	PERC_RTCP_RR = 201,
	PERC_RTCP_SDES = 202,
	PERC_RTCP_BYE = 203,
	PERC_RTCP_APP = 204,
	PERC_RTCP_RTPFB = 205,  /**< FMT 1: generic NACK */
	PERC_RTCP_PSFB = 206,   /**< FMT 1: PLI, 4: FIR */
	PERC_RTCP_XR = 207,
};

/** One packet of a compound. */
struct perc_rtcp_pkt {
	uint8_t pt;
	uint8_t count;        /**< RC / SC / FMT field */
	uint16_t len;         /**< bytes including the 4-byte header */
	uint32_t ssrc;        /**< sender SSRC (0 when the packet has none) */
	uint32_t media_ssrc;  /**< RTPFB/PSFB: SSRC of the media source, else 0 */
	const uint8_t *p;     /**< start of this packet */
};

#define PERC_RTCP_MAX_PKTS 32u

/**
 * Split a compound RTCP packet. Every packet must be version 2 with a type in
 * 192..223 (RFC 5761), have a length that fits, and only the last may carry
 * padding (a non-zero multiple of 4). The fixed part of SR, RR, SDES, BYE,
 * APP, XR, generic NACK and FIR bodies is checked as well. For a FIR (PSFB
 * FMT 4) media_ssrc is the SSRC of the first FCI entry, since RFC 5104 leaves
 * the header's media SSRC 0. Returns the number of packets,
 * -PERC_R_MALFORMED, or -PERC_R_OVERSIZED when more than max.
 */
int perc_rtcp_parse(const uint8_t *p, size_t len, struct perc_rtcp_pkt *pkts, unsigned max);

#endif
