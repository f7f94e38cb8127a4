/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RTCP compound packet splitter (RFC 3550 §6.4 and appendix A.2, RFC 4585
 * §6.1, RFC 5104 §4.3.1). Each packet's own body is checked as far as its
 * type defines one, so that a caller can read the fixed parts of SR, RR,
 * SDES, BYE and feedback packets without another length check.
 */
#include <string.h>

#include "perc/bytes.h"
#include "perc/reason.h"
#include "perc/rtcp.h"

#define RTCP_HDR 4u
#define RTCP_PT_FIRST 192u	/* RFC 5761 §4: RTCP types live in 192..223 */
#define RTCP_PT_LAST 223u
#define RTCP_SR_INFO 20u
#define RTCP_REPORT_BLOCK 24u
#define RTCP_FMT_NACK 1u
#define RTCP_FMT_PLI 1u
#define RTCP_FMT_FIR 4u
#define RTCP_FIR_ENTRY 8u

/* SDES: count chunks of SSRC/CSRC then items, each chunk ended by a zero
 * byte and padded to a 32-bit boundary (RFC 3550 §6.5). */
static int
check_sdes(const uint8_t *p, size_t n, unsigned count)
{
	size_t off = RTCP_HDR;

	for (unsigned c = 0; c < count; c++) {
		if (n - off < 4)
			return -PERC_R_MALFORMED;
		off += 4;
		for (;;) {
			if (off >= n)
				return -PERC_R_MALFORMED;
			if (p[off] == 0)
				break;
			if (n - off < 2 || p[off + 1] > n - off - 2)
				return -PERC_R_MALFORMED;
			off += 2u + p[off + 1];
		}
		/* the end byte, then up to the next word */
		off = (off + 4) & ~(size_t)3;
		if (off > n)
			return -PERC_R_MALFORMED;
	}
	return 0;
}

/* BYE: count SSRCs, then optionally a length-prefixed reason. */
static int
check_bye(const uint8_t *p, size_t n, unsigned count)
{
	size_t off = RTCP_HDR + 4u * count;

	if (off > n)
		return -PERC_R_MALFORMED;
	if (off < n && p[off] > n - off - 1)
		return -PERC_R_MALFORMED;
	return 0;
}

/* RTPFB / PSFB: sender and media SSRC, then FCI (RFC 4585 §6.1). */
static int
check_fb(const uint8_t *p, size_t n, struct perc_rtcp_pkt *k)
{
	size_t fci;

	if (n < 12)
		return -PERC_R_MALFORMED;
	fci = n - 12;
	k->media_ssrc = perc_rd32(p + 8);
	if (k->pt == PERC_RTCP_RTPFB && k->count == RTCP_FMT_NACK && (fci == 0 || fci % 4))
		return -PERC_R_MALFORMED;
	if (k->pt == PERC_RTCP_PSFB && k->count == RTCP_FMT_FIR) {
		if (fci == 0 || fci % RTCP_FIR_ENTRY)
			return -PERC_R_MALFORMED;
		/* RFC 5104 §4.3.1.2: the header's media SSRC is unused (0);
		 * the target sits in the FCI entry. A FIR may name several
		 * targets: report the first. */
		k->media_ssrc = perc_rd32(p + 12);
	}
	return 0;
}

/* Checks the body of one packet of n bytes (padding excluded) and fills the
 * SSRC fields. */
static int
check_body(const uint8_t *p, size_t n, struct perc_rtcp_pkt *k)
{
	switch (k->pt) {
	case PERC_RTCP_SR:
		if (n < 8 + RTCP_SR_INFO + RTCP_REPORT_BLOCK * (size_t)k->count)
			return -PERC_R_MALFORMED;
		break;
	case PERC_RTCP_RR:
		if (n < 8 + RTCP_REPORT_BLOCK * (size_t)k->count)
			return -PERC_R_MALFORMED;
		break;
	case PERC_RTCP_SDES:
		if (check_sdes(p, n, k->count))
			return -PERC_R_MALFORMED;
		break;
	case PERC_RTCP_BYE:
		if (check_bye(p, n, k->count))
			return -PERC_R_MALFORMED;
		break;
	case PERC_RTCP_APP:
		if (n < 12)	/* SSRC and 4-byte name */
			return -PERC_R_MALFORMED;
		break;
	case PERC_RTCP_RTPFB:
	case PERC_RTCP_PSFB:
		if (check_fb(p, n, k))
			return -PERC_R_MALFORMED;
		break;
	case PERC_RTCP_XR:
		if (n < 8)
			return -PERC_R_MALFORMED;
		break;
	default:
		/* a type we do not know: its layout is not ours to judge */
		return 0;
	}
	/* SDES and BYE lead with a source only when count > 0 */
	if (n >= 8 && (k->count > 0 || (k->pt != PERC_RTCP_SDES && k->pt != PERC_RTCP_BYE)))
		k->ssrc = perc_rd32(p + 4);
	return 0;
}

/* One packet at p with rest bytes left in the compound; returns its length
 * on the wire or a negative reason. */
static int
parse_one(const uint8_t *p, size_t rest, struct perc_rtcp_pkt *k)
{
	size_t n, body;

	if (rest < RTCP_HDR || (p[0] >> 6) != 2)
		return -PERC_R_MALFORMED;
	if (p[1] < RTCP_PT_FIRST || p[1] > RTCP_PT_LAST)
		return -PERC_R_MALFORMED;
	n = 4u * (((size_t)p[2] << 8 | p[3]) + 1);
	/* 4 * 65536 bytes would not fit len, nor any UDP payload */
	if (n > rest || n > UINT16_MAX)
		return -PERC_R_MALFORMED;
	memset(k, 0, sizeof(*k));
	k->pt = p[1];
	k->count = p[0] & 0x1f;
	k->len = (uint16_t)n;
	k->p = p;
	body = n;
	if (p[0] & 0x20) {
		/* padding: only on the last packet, a non-zero multiple of
		 * four that leaves the header alone (RFC 3550 §6.4.1) */
		uint8_t pad = p[n - 1];

		if (n != rest || pad == 0 || pad % 4 || pad > n - RTCP_HDR)
			return -PERC_R_MALFORMED;
		body = n - pad;
	}
	if (check_body(p, body, k))
		return -PERC_R_MALFORMED;
	return (int)n;
}

int
perc_rtcp_parse(const uint8_t *p, size_t len, struct perc_rtcp_pkt *pkts, unsigned max)
{
	struct perc_rtcp_pkt k;
	unsigned cnt = 0;
	size_t off = 0;
	int n;

	if (len == 0)
		return -PERC_R_MALFORMED;
	while (off < len) {
		n = parse_one(p + off, len - off, &k);
		if (n < 0)
			return n;
		if (cnt >= max)
			return -PERC_R_OVERSIZED;
		pkts[cnt++] = k;
		off += (size_t)n;
	}
	return (int)cnt;
}
