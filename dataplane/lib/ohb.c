/* SPDX-License-Identifier: BSD-3-Clause */
/* RFC 8723 §4 Original Header Block and the §5.2 rules for changing it. */
#include "perc/ohb.h"
#include "perc/reason.h"

int
perc_ohb_parse(const uint8_t *plain, size_t len, struct perc_ohb *o)
{
	uint8_t c;
	size_t n;

	if (len == 0)
		return PERC_R_OHB;
	c = plain[len - 1];
	/* RFC 8723 says "C & 0x0C MUST NOT be 0x80"; what it means is B
	 * without M, which can never describe an original marker. */
	if ((c & PERC_OHB_R) || (c & (PERC_OHB_B | PERC_OHB_M)) == PERC_OHB_B)
		return PERC_R_OHB;
	n = 1 + ((c & PERC_OHB_P) ? 1 : 0) + ((c & PERC_OHB_Q) ? 2 : 0);
	if (n > len)
		return PERC_R_OHB;
	o->config = c;
	o->len = (uint8_t)n;
	o->pt = 0;
	o->seq = 0;
	if (c & PERC_OHB_Q)
		o->seq = (uint16_t)(plain[len - 3] << 8 | plain[len - 2]);
	if (c & PERC_OHB_P) {
		uint8_t b = plain[len - n];

		if (b & 0x80) /* the bit above the 7-bit PT is reserved */
			return PERC_R_OHB;
		o->pt = b;
	}
	return PERC_R_OK;
}

size_t
perc_ohb_write(uint8_t *dst, const struct perc_ohb *o)
{
	size_t n = 0;

	if (o->config & PERC_OHB_P)
		dst[n++] = o->pt & 0x7f;
	if (o->config & PERC_OHB_Q) {
		dst[n++] = (uint8_t)(o->seq >> 8);
		dst[n++] = (uint8_t)o->seq;
	}
	dst[n++] = o->config & 0x0f;
	return n;
}

static uint8_t
ohb_len(uint8_t config)
{
	return (uint8_t)(1 + ((config & PERC_OHB_P) ? 1 : 0) + ((config & PERC_OHB_Q) ? 2 : 0));
}

void
perc_ohb_apply(struct perc_ohb *o, uint8_t *pt, uint16_t *seq, bool *marker,
	       const struct perc_hop_change *c)
{
	if (c->pt >= 0) {
		uint8_t orig = (o->config & PERC_OHB_P) ? o->pt : *pt;

		if ((uint8_t)c->pt == orig) {
			o->config &= (uint8_t)~PERC_OHB_P;
			o->pt = 0;
		} else {
			o->config |= PERC_OHB_P;
			o->pt = orig;
		}
		*pt = (uint8_t)c->pt;
	}
	if (c->seq >= 0) {
		uint16_t orig = (o->config & PERC_OHB_Q) ? o->seq : *seq;

		if ((uint16_t)c->seq == orig) {
			o->config &= (uint8_t)~PERC_OHB_Q;
			o->seq = 0;
		} else {
			o->config |= PERC_OHB_Q;
			o->seq = orig;
		}
		*seq = (uint16_t)c->seq;
	}
	if (c->marker >= 0) {
		bool orig = (o->config & PERC_OHB_M) ? (o->config & PERC_OHB_B) != 0 : *marker;

		o->config &= (uint8_t)~(PERC_OHB_M | PERC_OHB_B);
		if ((c->marker != 0) != orig)
			o->config |= (uint8_t)(PERC_OHB_M | (orig ? PERC_OHB_B : 0));
		*marker = c->marker != 0;
	}
	o->len = ohb_len(o->config);
}

void
perc_ohb_restore(const struct perc_ohb *o, uint8_t *pt, uint16_t *seq, bool *marker)
{
	if (o->config & PERC_OHB_P)
		*pt = o->pt;
	if (o->config & PERC_OHB_Q)
		*seq = o->seq;
	if (o->config & PERC_OHB_M)
		*marker = (o->config & PERC_OHB_B) != 0;
}
