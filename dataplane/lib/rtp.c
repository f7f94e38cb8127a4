/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RTP header codec (RFC 3550 §5.1) and RFC 8285 header extension walk. Every
 * length is checked against the bytes at hand before it is used: these run on
 * packets straight off the wire, before any authentication.
 */
#include <string.h>

#include "perc/bytes.h"
#include "perc/reason.h"
#include "perc/rtp.h"

#define RTP_EXT_ONE_BYTE 0xbedeu
#define RTP_EXT_TWO_BYTE 0x1000u	/* low 4 bits are "appbits" */
#define RTP_EXT_ONE_BYTE_STOP 15u	/* reserved id: ends the walk */

int
perc_rtp_parse(const uint8_t *p, size_t len, struct perc_rtp_hdr *h)
{
	size_t hl;

	if (len < PERC_RTP_FIXED || (p[0] >> 6) != 2)
		return PERC_R_MALFORMED;
	memset(h, 0, sizeof(*h));
	h->version = 2;
	h->padding = (p[0] & 0x20) != 0;
	h->extension = (p[0] & 0x10) != 0;
	h->cc = p[0] & 0x0f;
	h->marker = (p[1] & 0x80) != 0;
	h->pt = p[1] & 0x7f;
	h->seq = perc_rd16(p + 2);
	h->ts = perc_rd32(p + 4);
	h->ssrc = perc_rd32(p + 8);
	hl = PERC_RTP_FIXED + 4u * h->cc;
	if (h->extension) {
		if (len < hl + 4)
			return PERC_R_MALFORMED;
		h->ext_profile = perc_rd16(p + hl);
		/* the body may be up to 4 * 65535 bytes; hdr_len must stay
		 * representable, and a UDP payload is never that long anyway */
		if (hl + 4 + 4u * perc_rd16(p + hl + 2) > UINT16_MAX)
			return PERC_R_MALFORMED;
		h->ext_len = (uint16_t)(4u * perc_rd16(p + hl + 2));
		h->ext = p + hl + 4;
		hl += 4 + h->ext_len;
	}
	if (hl > len)
		return PERC_R_MALFORMED;
	h->hdr_len = (uint16_t)hl;
	return PERC_R_OK;
}

/* Record one element; -PERC_R_OVERSIZED when elems is full. */
static int
ext_add(struct perc_rtp_ext_elem *elems, unsigned max, unsigned *n, uint8_t id,
	uint8_t len, const uint8_t *data)
{
	if (*n >= max)
		return -PERC_R_OVERSIZED;
	elems[*n].id = id;
	elems[*n].len = len;
	elems[*n].data = data;
	(*n)++;
	return 0;
}

/*
 * One-byte form: ID(4) | len-1(4), then 1..16 data bytes. A zero byte is
 * padding; ID 0 with a non-zero length is neither padding nor an element.
 */
static int
ext_walk_one_byte(const uint8_t *e, size_t n, struct perc_rtp_ext_elem *elems,
		  unsigned max)
{
	unsigned cnt = 0;
	size_t i = 0;
	int r;

	while (i < n) {
		uint8_t id = e[i] >> 4, l = (uint8_t)((e[i] & 0x0f) + 1);

		if (e[i] == 0) {
			i++;
			continue;
		}
		if (id == 0)
			return -PERC_R_MALFORMED;
		if (id == RTP_EXT_ONE_BYTE_STOP)
			break;
		if (l > n - i - 1)
			return -PERC_R_MALFORMED;
		r = ext_add(elems, max, &cnt, id, l, e + i + 1);
		if (r < 0)
			return r;
		i += 1u + l;
	}
	return (int)cnt;
}

/* Two-byte form: ID(8), len(8), then 0..255 data bytes; a zero ID byte is
 * one byte of padding. */
static int
ext_walk_two_byte(const uint8_t *e, size_t n, struct perc_rtp_ext_elem *elems,
		  unsigned max)
{
	unsigned cnt = 0;
	size_t i = 0;
	int r;

	while (i < n) {
		if (e[i] == 0) {
			i++;
			continue;
		}
		if (n - i < 2 || e[i + 1] > n - i - 2)
			return -PERC_R_MALFORMED;
		r = ext_add(elems, max, &cnt, e[i], e[i + 1], e + i + 2);
		if (r < 0)
			return r;
		i += 2u + e[i + 1];
	}
	return (int)cnt;
}

int
perc_rtp_ext_parse(const struct perc_rtp_hdr *h, struct perc_rtp_ext_elem *elems,
		   unsigned max)
{
	if (!h->extension || h->ext == NULL)
		return 0;
	if (h->ext_profile == RTP_EXT_ONE_BYTE)
		return ext_walk_one_byte(h->ext, h->ext_len, elems, max);
	if ((h->ext_profile & 0xfff0u) == RTP_EXT_TWO_BYTE)
		return ext_walk_two_byte(h->ext, h->ext_len, elems, max);
	return 0;
}

int
perc_rtp_padding(const uint8_t *p, size_t len, const struct perc_rtp_hdr *h)
{
	uint8_t n;

	if (!h->padding)
		return 0;
	if (len <= h->hdr_len)
		return -PERC_R_MALFORMED;
	/* the count includes itself, so 0 is never valid */
	n = p[len - 1];
	if (n == 0 || n > len - h->hdr_len)
		return -PERC_R_MALFORMED;
	return n;
}

size_t
perc_rtp_write(uint8_t *p, size_t cap, bool marker, uint8_t pt, uint16_t seq,
	       uint32_t ts, uint32_t ssrc, const uint32_t *csrc, uint8_t cc)
{
	size_t n = PERC_RTP_FIXED + 4u * cc;

	if (cc > 15 || pt > 0x7f || (cc > 0 && csrc == NULL) || cap < n)
		return 0;
	p[0] = (uint8_t)(0x80 | cc);
	p[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	perc_wr32(p + 4, ts);
	perc_wr32(p + 8, ssrc);
	for (unsigned i = 0; i < cc; i++)
		perc_wr32(p + PERC_RTP_FIXED + 4 * i, csrc[i]);
	return n;
}
