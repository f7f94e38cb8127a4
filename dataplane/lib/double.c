/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RFC 8723 double SRTP. The inner (end-to-end) layer runs per packet through
 * the engine's bare AES-GCM (its AAD, the synthetic header, is not contiguous
 * with the payload); the outer (hop-by-hop) layer is an ordinary SRTP op, so
 * a Media Distributor batches it through perc_engine_run().
 */
#include <string.h>

#include "internal.h"
#include "perc/double.h"
#include "perc/kdf.h"
#include "perc/rtp.h"

#define INNER_TAG 16u
/* fixed header + 15 CSRCs */
#define SYNTH_MAX (PERC_RTP_FIXED + 4u * 15u)

int
perc_double_key_init(struct perc_double_key *k, struct perc_engine *e,
		     const struct perc_profile *dbl, const uint8_t *mk, const uint8_t *ms)
{
	const struct perc_profile *layer = perc_profile_layer(dbl);
	size_t kl;
	int r;

	if (dbl == NULL || !dbl->is_double || layer == NULL)
		return PERC_R_PROFILE;
	if (perc_engine_mgr(e) == NULL)
		return PERC_R_PROFILE; /* libsrtp2 has no double transform */
	kl = layer->key_len;
	r = perc_key_init(&k->inner, e, layer, mk, ms);
	if (r == PERC_R_OK)
		r = perc_key_init(&k->outer, e, layer, mk + kl, ms + layer->salt_len);
	if (r != PERC_R_OK)
		perc_double_key_clear(k);
	return r;
}

void
perc_double_key_clear(struct perc_double_key *k)
{
	perc_key_clear(&k->inner);
	perc_key_clear(&k->outer);
}

/* The synthetic header of RFC 8723 §5.1: the first 12 + 4·CC bytes with the
 * X bit cleared. It must be built from the ORIGINAL header fields. */
static uint32_t
synthetic_header(const uint8_t *hdr, uint8_t *out)
{
	uint32_t n = PERC_RTP_FIXED + 4u * (hdr[0] & 0x0fu);

	memcpy(out, hdr, n);
	out[0] &= (uint8_t)~0x10u;
	return n;
}

static int
inner_index(struct perc_stream *st, uint32_t roc, uint16_t seq, uint64_t *index)
{
	if (st == NULL) {
		*index = ((uint64_t)roc << 16) | seq;
		return PERC_R_OK;
	}
	if (!perc_rtp_index_guess(&st->rtp, st->roc_init, seq, index))
		return PERC_R_TOO_OLD;
	return perc_replay_check(&st->rtp, *index);
}

static int
outer_op(struct perc_engine *e, const struct perc_key *k, struct perc_stream *st, uint32_t roc,
	 uint8_t type, const uint8_t *src, uint8_t *dst, uint32_t *len, uint32_t cap)
{
	struct perc_op op = {
		.key = k,
		.stream = st,
		.src = src,
		.dst = dst,
		.len = *len,
		.cap = cap,
		.type = type,
		.flags = st == NULL ? PERC_OPF_INDEX : 0,
		.index = (uint64_t)roc << 16,
	};
	int r = perc_engine_run1(e, &op);

	if (r == PERC_R_OK)
		*len = op.len;
	perc_zeroize(op.iv, sizeof(op.iv));
	return r;
}

int
perc_double_protect(struct perc_engine *e, const struct perc_double_key *k,
		    struct perc_stream *inner_st, struct perc_stream *outer_st, uint32_t roc,
		    uint8_t *buf, uint32_t *len, uint32_t cap)
{
	const struct perc_key *in = &k->inner;
	uint8_t synth[SYNTH_MAX], iv[12];
	uint32_t h, plen, olen, slen;
	uint64_t index;
	uint16_t seq;
	int r;

	if (in->prof == NULL || !in->prof->aead)
		return PERC_R_KEY;
	h = perc_rtp_hdr_len(buf, *len);
	if (h == 0)
		return PERC_R_MALFORMED;
	plen = *len - h;
	if ((uint64_t)*len + INNER_TAG + 1 + k->outer.tag_rtp > cap)
		return PERC_R_NO_ROOM;
	seq = (uint16_t)(buf[2] << 8 | buf[3]);
	r = inner_index(inner_st, roc, seq, &index);
	if (r != PERC_R_OK)
		return r == PERC_R_TOO_OLD ? PERC_R_INDEX : r;

	/* inner layer: payload (and padding) under the E2E key */
	slen = synthetic_header(buf, synth);
	perc_gcm_iv(iv, in->rtp_salt, perc_get32(buf + 8), (uint32_t)(index >> 16), seq);
	r = perc_engine_gcm(e, &in->u.gcm.rtp, in->prof->key_len, true, iv, synth, slen,
			    buf + h, buf + h, plen, buf + h + plen);
	if (r != PERC_R_OK)
		return r;
	buf[h + plen + INNER_TAG] = 0x00; /* empty OHB */
	olen = h + plen + INNER_TAG + 1;

	/* outer layer: the whole real header as AAD, its own ROC */
	r = outer_op(e, &k->outer, outer_st, roc, PERC_OP_RTP_PROTECT, buf, buf, &olen, cap);
	if (r != PERC_R_OK)
		return r;
	if (inner_st != NULL)
		perc_replay_update(&inner_st->rtp, index);
	*len = olen;
	return PERC_R_OK;
}

int
perc_double_unprotect(struct perc_engine *e, const struct perc_double_key *k,
		      struct perc_stream *inner_st, struct perc_stream *outer_st, uint32_t roc,
		      uint8_t *buf, uint32_t *len)
{
	const struct perc_key *in = &k->inner;
	struct perc_ohb o;
	uint8_t synth[SYNTH_MAX], iv[12], pt;
	uint32_t h, n = *len, plen, slen;
	uint64_t index;
	uint16_t seq;
	bool marker;
	int r;

	if (in->prof == NULL || !in->prof->aead)
		return PERC_R_KEY;
	r = outer_op(e, &k->outer, outer_st, roc, PERC_OP_RTP_UNPROTECT, buf, buf, &n, n);
	if (r != PERC_R_OK)
		return r;
	h = perc_rtp_hdr_len(buf, n);
	if (h == 0)
		return PERC_R_MALFORMED;
	r = perc_ohb_parse(buf + h, n - h, &o);
	if (r != PERC_R_OK)
		return r;
	if (n - h < (uint32_t)o.len + INNER_TAG)
		return PERC_R_MALFORMED;
	plen = n - h - o.len - INNER_TAG;

	/* restore what the sender put in the header */
	pt = buf[1] & 0x7f;
	marker = (buf[1] & 0x80) != 0;
	seq = (uint16_t)(buf[2] << 8 | buf[3]);
	perc_ohb_restore(&o, &pt, &seq, &marker);
	buf[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
	buf[2] = (uint8_t)(seq >> 8);
	buf[3] = (uint8_t)seq;

	r = inner_index(inner_st, roc, seq, &index);
	if (r != PERC_R_OK)
		return r;
	slen = synthetic_header(buf, synth);
	perc_gcm_iv(iv, in->rtp_salt, perc_get32(buf + 8), (uint32_t)(index >> 16), seq);
	r = perc_engine_gcm(e, &in->u.gcm.rtp, in->prof->key_len, false, iv, synth, slen,
			    buf + h, buf + h, plen, buf + h + plen);
	if (r != PERC_R_OK)
		return r;
	if (inner_st != NULL) {
		r = perc_replay_update(&inner_st->rtp, index);
		if (r != PERC_R_OK)
			return r;
	}
	*len = h + plen;
	return PERC_R_OK;
}

int
perc_hop_rewrite(uint8_t *plain, uint32_t *len, uint32_t cap, uint32_t hdr_len,
		 const struct perc_hop_change *c)
{
	struct perc_ohb o;
	uint32_t n = *len, body;
	uint8_t pt = plain[1] & 0x7f;
	uint16_t seq = (uint16_t)(plain[2] << 8 | plain[3]);
	bool marker = (plain[1] & 0x80) != 0;
	int r;

	if (hdr_len > n)
		return PERC_R_MALFORMED;
	r = perc_ohb_parse(plain + hdr_len, n - hdr_len, &o);
	if (r != PERC_R_OK)
		return r;
	body = n - o.len;
	perc_ohb_apply(&o, &pt, &seq, &marker, c);
	if ((uint64_t)body + o.len > cap)
		return PERC_R_NO_ROOM;
	plain[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
	plain[2] = (uint8_t)(seq >> 8);
	plain[3] = (uint8_t)seq;
	*len = body + (uint32_t)perc_ohb_write(plain + body, &o);
	return PERC_R_OK;
}

int
perc_hop_relay(struct perc_engine *e, const struct perc_key *in, struct perc_stream *in_st,
	       uint32_t roc_in, const struct perc_key *out, struct perc_stream *out_st,
	       uint32_t roc_out, const struct perc_hop_change *c, const uint8_t *src,
	       uint32_t src_len, uint8_t *dst, uint32_t cap, uint32_t *dst_len)
{
	uint32_t n = src_len;
	int r;

	if (cap < src_len)
		return PERC_R_NO_ROOM;
	r = outer_op(e, in, in_st, roc_in, PERC_OP_RTP_UNPROTECT, src, dst, &n, cap);
	if (r != PERC_R_OK)
		return r;
	r = perc_hop_rewrite(dst, &n, cap - out->tag_rtp, perc_rtp_hdr_len(dst, n), c);
	if (r != PERC_R_OK)
		return r;
	r = outer_op(e, out, out_st, roc_out, PERC_OP_RTP_PROTECT, dst, dst, &n, cap);
	if (r != PERC_R_OK)
		return r;
	*dst_len = n;
	return PERC_R_OK;
}
