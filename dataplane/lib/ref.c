/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The libsrtp2 backend (PERC_ARCH_LIBSRTP): the reference oracle for the
 * differential tests and the per-packet baseline for the benchmarks.
 *
 * Each key owns two libsrtp2 sessions, one ssrc_any_outbound for protect and
 * one ssrc_any_inbound for unprotect; libsrtp2 keeps the ROC, the replay
 * windows and the SRTCP index per SSRC itself, so op->stream is not used.
 * That also means a reference key, unlike an ipsec-mb one, changes with every
 * packet: it belongs to one thread.
 *
 * What libsrtp2 does not tell us is the index of the packet it just handled:
 * srtp_get_stream_roc() reports the ROC of the highest index, which is not
 * the packet's ROC for a late packet from before a wrap. So every session
 * carries (as its srtp user data) a small table SSRC -> highest RTP index
 * accepted, and the packet index is estimated from it exactly as libsrtp2
 * estimates it (RFC 3711 §3.3.1; ROC 0 while the highest index is below
 * 2^15, which is libsrtp2's rule for a young stream).
 *
 * Checks that the ipsec-mb engine makes before any crypto (header length,
 * version, room) are repeated here first, so that both engines give the same
 * reason for the same bad packet; libsrtp2 would otherwise answer bad_param
 * or parse_err, or nothing at all for a wrong version.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "internal.h"
#include "perc/kdf.h"
#include "perc/rtp.h"

/* SSRC -> highest RTP index libsrtp2 accepted for it (open addressing) */
struct ref_slot {
	uint64_t top;
	uint32_t ssrc;
	uint32_t used;
};

/* What hangs off each srtp_t as user data. */
struct ref_ctx {
	srtp_policy_t pol;                 /* to add an ssrc_specific stream */
	uint8_t master[SRTP_MAX_KEY_LEN];  /* key ‖ salt, as pol.key wants */
	struct ref_slot *slot;
	uint32_t cap;                      /* power of two, or 0 */
	uint32_t n;
};

static pthread_once_t ref_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t ref_init_status = srtp_err_status_init_fail;

static void
ref_init_once(void)
{
	ref_init_status = srtp_init();
}

int
perc_ref_global_init(void)
{
	if (pthread_once(&ref_once, ref_init_once) != 0)
		return -1;
	return ref_init_status == srtp_err_status_ok ? 0 : -1;
}

/* ---- the SSRC table ---- */

static inline uint32_t
slot_hash(uint32_t ssrc, uint32_t cap)
{
	return (ssrc * 2654435761u) & (cap - 1);
}

static struct ref_slot *
slot_find(const struct ref_ctx *c, uint32_t ssrc)
{
	if (c->cap == 0)
		return NULL;
	for (uint32_t i = slot_hash(ssrc, c->cap);; i = (i + 1) & (c->cap - 1)) {
		if (!c->slot[i].used)
			return NULL;
		if (c->slot[i].ssrc == ssrc)
			return &c->slot[i];
	}
}

/* Room for one more entry (done before libsrtp2 changes any state, so that
 * the insert after a good packet cannot fail). 0 or -1. */
static int
slot_reserve(struct ref_ctx *c)
{
	struct ref_slot *old = c->slot, *ns;
	uint32_t ocap = c->cap, ncap;

	if ((uint64_t)(c->n + 1) * 2 <= c->cap)
		return 0;
	ncap = ocap ? ocap * 2 : 16;
	ns = calloc(ncap, sizeof(*ns));
	if (ns == NULL)
		return -1;
	c->slot = ns;
	c->cap = ncap;
	for (uint32_t i = 0; i < ocap; i++) {
		uint32_t j;

		if (!old[i].used)
			continue;
		for (j = slot_hash(old[i].ssrc, ncap); ns[j].used; j = (j + 1) & (ncap - 1))
			;
		ns[j] = old[i];
	}
	free(old);
	return 0;
}

static void
slot_accept(struct ref_ctx *c, uint32_t ssrc, uint64_t index)
{
	struct ref_slot *s = slot_find(c, ssrc);
	uint32_t i;

	if (s != NULL) {
		if (index > s->top)
			s->top = index;
		return;
	}
	for (i = slot_hash(ssrc, c->cap); c->slot[i].used; i = (i + 1) & (c->cap - 1))
		;
	c->slot[i].used = 1;
	c->slot[i].ssrc = ssrc;
	c->slot[i].top = index;
	c->n++;
}

/* The index libsrtp2 will give seq on this stream (srtp_rdbx_estimate_index:
 * the RFC 3711 guess, but ROC 0 while the highest index is at most 2^15). */
static uint64_t
ref_guess(const struct ref_slot *s, uint16_t seq)
{
	uint32_t roc, sl;

	if (s == NULL || s->top <= 32768)
		return seq;
	roc = (uint32_t)(s->top >> 16);
	sl = (uint32_t)(s->top & 0xffff);
	if (sl < 32768) {
		if ((uint32_t)seq > sl && seq - sl > 32768)
			roc--;
	} else if (sl - 32768 > seq) {
		roc++;
	}
	return ((uint64_t)roc << 16) | seq;
}

/* ---- keys ---- */

static int
ref_policy(srtp_policy_t *p, const struct perc_profile *layer)
{
	memset(p, 0, sizeof(*p));
	switch (layer->id) {
	case PERC_AES128_CM_SHA1_80:
		srtp_crypto_policy_set_rtp_default(&p->rtp);
		srtp_crypto_policy_set_rtcp_default(&p->rtcp);
		break;
	case PERC_AES128_CM_SHA1_32:
		/* RFC 5764 §4.1.2: the SRTCP tag stays 80 bits */
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p->rtp);
		srtp_crypto_policy_set_rtcp_default(&p->rtcp);
		break;
	case PERC_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
		break;
	case PERC_AEAD_AES_256_GCM:
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtcp);
		break;
	default:
		return PERC_R_PROFILE;
	}
	p->window_size = PERC_REPLAY_DEFAULT;
	p->allow_repeat_tx = 0;
	p->next = NULL;
	return PERC_R_OK;
}

static void
ref_ctx_free(struct ref_ctx *c)
{
	if (c == NULL)
		return;
	free(c->slot);
	perc_zeroize(c, sizeof(*c));
	free(c);
}

static void
ref_session_free(void *sess)
{
	if (sess == NULL)
		return;
	ref_ctx_free(srtp_get_user_data(sess));
	srtp_dealloc(sess);
}

static srtp_t
ref_session(const struct perc_profile *layer, srtp_ssrc_type_t dir, const uint8_t *mk,
	    const uint8_t *ms)
{
	struct ref_ctx *c = calloc(1, sizeof(*c));
	srtp_t s = NULL;

	if (c == NULL)
		return NULL;
	if (ref_policy(&c->pol, layer) != PERC_R_OK)
		goto fail;
	memcpy(c->master, mk, layer->key_len);
	memcpy(c->master + layer->key_len, ms, layer->salt_len);
	c->pol.key = c->master;
	c->pol.ssrc.type = dir;
	if (srtp_create(&s, &c->pol) != srtp_err_status_ok)
		goto fail;
	srtp_set_user_data(s, c);
	return s;
fail:
	ref_ctx_free(c);
	return NULL;
}

int
perc_ref_key_init(struct perc_key *k, const struct perc_profile *layer,
		  const uint8_t *master_key, const uint8_t *master_salt)
{
	srtp_policy_t probe;

	if (layer == NULL || layer->is_double || ref_policy(&probe, layer) != PERC_R_OK)
		return PERC_R_PROFILE;
	if (master_key == NULL || master_salt == NULL ||
	    (size_t)layer->key_len + layer->salt_len > SRTP_MAX_KEY_LEN)
		return PERC_R_KEY;
	if (perc_ref_global_init() != 0)
		return PERC_R_ENGINE;
	memset(k, 0, sizeof(*k));
	k->u.ref.tx = ref_session(layer, ssrc_any_outbound, master_key, master_salt);
	k->u.ref.rx = ref_session(layer, ssrc_any_inbound, master_key, master_salt);
	if (k->u.ref.tx == NULL || k->u.ref.rx == NULL) {
		ref_session_free(k->u.ref.tx);
		ref_session_free(k->u.ref.rx);
		memset(k, 0, sizeof(*k));
		return PERC_R_ENGINE;
	}
	k->prof = layer;
	k->arch = PERC_ARCH_LIBSRTP;
	k->tag_rtp = layer->rtp_tag_len;
	k->tag_rtcp = layer->rtcp_tag_len;
	k->aead = layer->aead;
	k->salt_len = layer->aead ? 12 : 14;
	return PERC_R_OK;
}

void
perc_ref_key_clear(struct perc_key *k)
{
	if (k == NULL)
		return;
	ref_session_free(k->u.ref.tx);
	ref_session_free(k->u.ref.rx);
	k->u.ref.tx = NULL;
	k->u.ref.rx = NULL;
}

/* ---- packets ---- */

static int
ref_reason(srtp_err_status_t st)
{
	switch (st) {
	case srtp_err_status_ok:
		return PERC_R_OK;
	case srtp_err_status_auth_fail:
		return PERC_R_AUTH;
	case srtp_err_status_replay_fail:
		return PERC_R_REPLAY;
	case srtp_err_status_replay_old:
	case srtp_err_status_pkt_idx_old:
		return PERC_R_TOO_OLD;
	case srtp_err_status_parse_err:
	case srtp_err_status_bad_param:
		return PERC_R_MALFORMED;
	case srtp_err_status_key_expired:
		return PERC_R_INDEX; /* SRTCP index or key usage exhausted */
	case srtp_err_status_cant_check:
		/* AES-CM SRTCP with E = 0 on a session whose policy encrypts:
		 * libsrtp2 refuses it before the tag check; the ipsec-mb engine
		 * accepts any E */
		return PERC_R_PROFILE;
	default:
		return PERC_R_ENGINE;
	}
}

/*
 * PERC_OPF_INDEX on RTP: libsrtp2 takes a ROC only through
 * srtp_set_stream_roc(), which arms a "pending" ROC for an existing stream:
 * the next packets get index ROC ‖ SEQ, and the stream jumps there when that
 * is more than 2^15 ahead (an index more than 2^15 behind is refused,
 * PERC_R_TOO_OLD). So the ROC is set only when it differs from libsrtp2's own
 * estimate and disarmed (ROC 0 means none) after the packet. A stream
 * libsrtp2 has not seen yet is added first from the stored policy. Unlike the
 * ipsec-mb engine, libsrtp2 still checks and updates its replay window.
 */
static int
ref_force_roc(srtp_t sess, struct ref_ctx *c, uint32_t ssrc, uint32_t roc)
{
	uint32_t cur;

	if (roc == 0)
		return PERC_R_TOO_OLD; /* ROC 0 is libsrtp2's "none"; and it is behind */
	if (srtp_get_stream_roc(sess, ssrc, &cur) != srtp_err_status_ok) {
		srtp_policy_t p = c->pol;

		p.ssrc.type = ssrc_specific;
		p.ssrc.value = ssrc;
		if (srtp_add_stream(sess, &p) != srtp_err_status_ok)
			return PERC_R_ENGINE;
	}
	return srtp_set_stream_roc(sess, ssrc, roc) == srtp_err_status_ok ? PERC_R_OK :
									      PERC_R_ENGINE;
}

static int
ref_rtp(struct perc_op *op, bool protect)
{
	const struct perc_key *k = op->key;
	srtp_t sess = protect ? k->u.ref.tx : k->u.ref.rx;
	struct ref_ctx *c = srtp_get_user_data(sess);
	uint32_t h, ssrc;
	uint64_t index;
	uint16_t seq;
	bool forced = false;
	srtp_err_status_t st;
	int n, r;

	h = perc_rtp_hdr_len(op->src, op->len);
	if (h == 0)
		return PERC_R_MALFORMED;
	op->hdr_len = (uint16_t)h;
	if (protect) {
		if ((uint64_t)op->len + k->tag_rtp > op->cap)
			return PERC_R_NO_ROOM;
	} else {
		if (op->len < h + k->tag_rtp)
			return PERC_R_MALFORMED;
		if (op->len > op->cap)
			return PERC_R_NO_ROOM;
	}
	if (slot_reserve(c) != 0)
		return PERC_R_ENGINE;
	ssrc = perc_get32(op->src + 8);
	seq = (uint16_t)((op->src[2] << 8) | op->src[3]);
	index = ref_guess(slot_find(c, ssrc), seq);
	if ((op->flags & PERC_OPF_INDEX) && (op->index >> 16) != (index >> 16)) {
		if ((op->index >> 16) > UINT32_MAX)
			return PERC_R_INDEX;
		r = ref_force_roc(sess, c, ssrc, (uint32_t)(op->index >> 16));
		if (r != PERC_R_OK)
			return r;
		forced = true;
		index = (op->index & ~0xffffull) | seq;
	}
	if (op->dst != op->src)
		memcpy(op->dst, op->src, op->len);
	n = (int)op->len;
	st = protect ? srtp_protect(sess, op->dst, &n) : srtp_unprotect(sess, op->dst, &n);
	if (forced)
		srtp_set_stream_roc(sess, ssrc, 0);
	if (st != srtp_err_status_ok)
		return ref_reason(st);
	slot_accept(c, ssrc, index);
	op->len = (uint32_t)n;
	op->index = index;
	return PERC_R_OK;
}

static int
ref_rtcp(struct perc_op *op, bool protect)
{
	const struct perc_key *k = op->key;
	srtp_t sess = protect ? k->u.ref.tx : k->u.ref.rx;
	uint32_t tag = k->tag_rtcp, eword;
	srtp_err_status_t st;
	int n;

	if (op->len < 8 || (op->src[0] & 0xc0) != 0x80)
		return PERC_R_MALFORMED;
	op->hdr_len = 8;
	if (protect) {
		if ((uint64_t)op->len + tag + 4 > op->cap)
			return PERC_R_NO_ROOM;
		/* E = 0 is a per-session policy in libsrtp2 (rtcp.sec_serv), with
		 * its own SRTCP index: mixing it with E = 1 packets of the same
		 * SSRC would reuse indices, so it is not offered per packet */
		if (op->flags & PERC_OPF_RTCP_AUTH_ONLY)
			return PERC_R_PROFILE;
		/* libsrtp2 numbers SRTCP packets itself (from 1) and cannot be told */
		if (op->flags & PERC_OPF_INDEX)
			return PERC_R_ENGINE;
	} else {
		if (op->len < 8 + tag + 4)
			return PERC_R_MALFORMED;
		if (op->len > op->cap)
			return PERC_R_NO_ROOM;
		/* PERC_OPF_INDEX: the index is in the packet; libsrtp2 checks its
		 * replay window regardless */
	}
	if (op->dst != op->src)
		memcpy(op->dst, op->src, op->len);
	n = (int)op->len;
	if (!protect) {
		eword = perc_get32(op->dst + (k->prof->aead ? op->len - 4 : op->len - tag - 4));
		op->index = eword & 0x7fffffff;
		op->encrypted = (uint8_t)(eword >> 31);
	}
	if (protect)
		st = srtp_protect_rtcp(sess, op->dst, &n);
	else
		st = srtp_unprotect_rtcp(sess, op->dst, &n);
	if (st != srtp_err_status_ok)
		return ref_reason(st);
	if (protect) {
		eword = perc_get32(op->dst + (k->prof->aead ? (uint32_t)n - 4 : op->len));
		op->index = eword & 0x7fffffff;
		op->encrypted = (uint8_t)(eword >> 31);
	}
	op->len = (uint32_t)n;
	return PERC_R_OK;
}

static int
ref_op(struct perc_op *op)
{
	if (op->key == NULL || op->key->prof == NULL || op->key->arch != PERC_ARCH_LIBSRTP ||
	    op->key->u.ref.tx == NULL || op->key->u.ref.rx == NULL)
		return PERC_R_KEY;
	if (op->len > PERC_PKT_MAX)
		return PERC_R_OVERSIZED;
	switch (op->type) {
	case PERC_OP_RTP_PROTECT:
		return ref_rtp(op, true);
	case PERC_OP_RTP_UNPROTECT:
		return ref_rtp(op, false);
	case PERC_OP_RTCP_PROTECT:
		return ref_rtcp(op, true);
	case PERC_OP_RTCP_UNPROTECT:
		return ref_rtcp(op, false);
	default:
		return PERC_R_MALFORMED;
	}
}

void
perc_ref_op(struct perc_op *op)
{
	op->reason = (uint8_t)ref_op(op);
}
