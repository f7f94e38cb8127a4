/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The burst engine over Intel ipsec-mb (one IMB_MGR per thread).
 *
 * perc_engine_run() works in three phases (VPP wireguard / rte_ipsec style):
 *  1. per op: parse, compute the index, replay pre-check, build the IV and
 *     the AAD, copy the header when out of place;
 *  2. one IMB_SUBMIT_BURST for all ops of all keys, then flush;
 *  3. per op: constant-time tag check, replay window update, tag placement.
 * The good ops are moved to the front, the bad ones to the end.
 *
 * AES-GCM (RFC 7714) runs out of place natively. AES-CM + HMAC-SHA1
 * (RFC 3711) authenticates the buffer the cipher writes plus the ROC, which
 * ipsec-mb reads from job->src: for that profile an out-of-place op first
 * copies the packet into dst and then runs in place there.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "perc/kdf.h"
#include "perc/rtp.h"
#include "perc/srtp.h"

struct perc_engine {
	IMB_MGR *mgr;
	enum perc_arch arch;
	IMB_JOB *jobs[PERC_BURST_MAX];
	struct perc_op *bad[PERC_BURST_MAX];
	struct perc_op *live[PERC_BURST_MAX];
	bool hinted;    /* some stream carries a phase-1 anchor (rtp_index) */
};

static const char *const arch_names[PERC_ARCH__COUNT] = {
	[PERC_ARCH_AUTO] = "auto", [PERC_ARCH_SSE] = "sse", [PERC_ARCH_AVX] = "avx",
	[PERC_ARCH_AVX2] = "avx2", [PERC_ARCH_AVX512] = "avx512",
	[PERC_ARCH_LIBSRTP] = "libsrtp",
};

const char *
perc_arch_name(enum perc_arch a)
{
	return (unsigned)a < PERC_ARCH__COUNT ? arch_names[a] : "?";
}

int
perc_arch_parse(const char *name)
{
	for (int i = 0; i < PERC_ARCH__COUNT; i++)
		if (name != NULL && strcmp(name, arch_names[i]) == 0)
			return i;
	return -1;
}

static uint64_t
arch_flags(enum perc_arch a)
{
	switch (a) {
	case PERC_ARCH_SSE:
		return IMB_CPUFLAGS_SSE;
	case PERC_ARCH_AVX:
		return IMB_CPUFLAGS_AVX;
	case PERC_ARCH_AVX2:
		return IMB_CPUFLAGS_AVX2;
	case PERC_ARCH_AVX512:
		return IMB_CPUFLAGS_AVX512;
	default:
		return 0;
	}
}

bool
perc_arch_supported(enum perc_arch a)
{
	IMB_MGR *m;
	bool ok;

	if (a == PERC_ARCH_AUTO || a == PERC_ARCH_LIBSRTP)
		return true;
	if ((unsigned)a >= PERC_ARCH__COUNT)
		return false;
	m = alloc_mb_mgr(0);
	if (m == NULL)
		return false;
	ok = (m->features & arch_flags(a)) == arch_flags(a);
	free_mb_mgr(m);
	return ok;
}

struct perc_engine *
perc_engine_create(enum perc_arch arch)
{
	struct perc_engine *e;

	if ((unsigned)arch >= PERC_ARCH__COUNT) {
		errno = EINVAL;
		return NULL;
	}
	if (!perc_arch_supported(arch)) {
		errno = ENOTSUP;
		return NULL;
	}
	e = aligned_alloc(64, (sizeof(*e) + 63) & ~(size_t)63);
	if (e == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->arch = arch;
	if (arch == PERC_ARCH_LIBSRTP) {
		if (perc_ref_global_init() != 0) {
			free(e);
			errno = EIO;
			return NULL;
		}
		return e;
	}
	e->mgr = alloc_mb_mgr(0);
	if (e->mgr == NULL) {
		free(e);
		errno = ENOMEM;
		return NULL;
	}
	switch (arch) {
	case PERC_ARCH_SSE:
		init_mb_mgr_sse(e->mgr);
		break;
	case PERC_ARCH_AVX:
		init_mb_mgr_avx(e->mgr);
		break;
	case PERC_ARCH_AVX2:
		init_mb_mgr_avx2(e->mgr);
		break;
	case PERC_ARCH_AVX512:
		init_mb_mgr_avx512(e->mgr);
		break;
	default: {
		IMB_ARCH got = IMB_ARCH_NONE;

		init_mb_mgr_auto(e->mgr, &got);
		e->arch = got == IMB_ARCH_AVX512 ? PERC_ARCH_AVX512 :
			  got == IMB_ARCH_AVX2	 ? PERC_ARCH_AVX2 :
			  got == IMB_ARCH_AVX	 ? PERC_ARCH_AVX :
						   PERC_ARCH_SSE;
		break;
	}
	}
	if (imb_get_errno(e->mgr) != 0) {
		free_mb_mgr(e->mgr);
		free(e);
		errno = ENOTSUP;
		return NULL;
	}
	return e;
}

void
perc_engine_destroy(struct perc_engine *e)
{
	if (e == NULL)
		return;
	if (e->mgr != NULL)
		free_mb_mgr(e->mgr);
	free(e);
}

enum perc_arch
perc_engine_arch(const struct perc_engine *e)
{
	return e->arch;
}

IMB_MGR *
perc_engine_mgr(struct perc_engine *e)
{
	return e->mgr;
}

/* ---- key set-up: everything the fast path needs, computed once ---- */

static void
hmac_pads(IMB_MGR *m, const uint8_t *key, size_t n, uint8_t *ipad, uint8_t *opad)
{
	uint8_t blk[64];

	memset(blk, 0x36, sizeof(blk));
	for (size_t i = 0; i < n; i++)
		blk[i] ^= key[i];
	IMB_SHA1_ONE_BLOCK(m, blk, ipad);
	memset(blk, 0x5c, sizeof(blk));
	for (size_t i = 0; i < n; i++)
		blk[i] ^= key[i];
	IMB_SHA1_ONE_BLOCK(m, blk, opad);
	perc_zeroize(blk, sizeof(blk));
}

/* Every per-key field of the four jobs a key's packets use. */
static void
fill_templates(struct perc_key *k)
{
	for (int t = 0; t < PERC_TMPL__COUNT; t++) {
		struct perc_job_tmpl *j = &k->tmpl[t];
		bool rtcp = t == PERC_TMPL_RTCP_ENC || t == PERC_TMPL_RTCP_DEC;
		bool enc = t == PERC_TMPL_RTP_ENC || t == PERC_TMPL_RTCP_ENC;

		memset(j, 0, sizeof(*j));
		j->dir = enc ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
		j->chain = enc ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
		if (k->aead) {
			j->keys = rtcp ? &k->u.gcm.rtcp : &k->u.gcm.rtp;
			j->cipher_mode = IMB_CIPHER_GCM;
			j->hash_alg = IMB_AUTH_AES_GMAC;
			j->key_len = k->prof->key_len;
			j->iv_len = 12;
			j->tag_out_len = 16;
		} else {
			j->keys = rtcp ? k->u.cm.rtcp_ek : k->u.cm.rtp_ek;
			j->cipher_mode = IMB_CIPHER_CNTR;
			j->hash_alg = IMB_AUTH_HMAC_SHA_1;
			j->key_len = 16;
			j->iv_len = 16;
			j->ipad = rtcp ? k->u.cm.rtcp_ipad : k->u.cm.rtp_ipad;
			j->opad = rtcp ? k->u.cm.rtcp_opad : k->u.cm.rtp_opad;
			/* ipsec-mb emits 12 or 20 bytes of HMAC-SHA1; SRTP keeps 10 or 4 */
			j->tag_out_len = 12;
		}
	}
}

int
perc_key_init_session(struct perc_key *k, struct perc_engine *e,
		      const struct perc_profile *layer, const uint8_t *rtp_key,
		      const uint8_t *rtp_salt, const uint8_t *rtp_auth, const uint8_t *rtcp_key,
		      const uint8_t *rtcp_salt, const uint8_t *rtcp_auth)
{
	IMB_MGR *m = e->mgr;

	if (layer == NULL || layer->is_double)
		return PERC_R_PROFILE;
	if (m == NULL)
		return PERC_R_KEY; /* libsrtp takes master keys only */
	if (rtcp_key == NULL)
		rtcp_key = rtp_key;
	if (rtcp_salt == NULL)
		rtcp_salt = rtp_salt;
	if (rtcp_auth == NULL)
		rtcp_auth = rtp_auth;
	memset(k, 0, sizeof(*k));
	k->prof = layer;
	k->arch = (uint8_t)e->arch;
	k->tag_rtp = layer->rtp_tag_len;
	k->tag_rtcp = layer->rtcp_tag_len;
	k->aead = layer->aead;
	k->salt_len = layer->aead ? 12 : 14;
	memcpy(k->rtp_salt, rtp_salt, k->salt_len);
	memcpy(k->rtcp_salt, rtcp_salt, k->salt_len);
	if (layer->aead) {
		if (layer->key_len == 16) {
			IMB_AES128_GCM_PRE(m, rtp_key, &k->u.gcm.rtp);
			IMB_AES128_GCM_PRE(m, rtcp_key, &k->u.gcm.rtcp);
		} else {
			IMB_AES256_GCM_PRE(m, rtp_key, &k->u.gcm.rtp);
			IMB_AES256_GCM_PRE(m, rtcp_key, &k->u.gcm.rtcp);
		}
	} else {
		uint32_t dk[60] __attribute__((aligned(16)));

		if (rtp_auth == NULL)
			return PERC_R_KEY;
		IMB_AES_KEYEXP_128(m, rtp_key, k->u.cm.rtp_ek, dk);
		IMB_AES_KEYEXP_128(m, rtcp_key, k->u.cm.rtcp_ek, dk);
		perc_zeroize(dk, sizeof(dk));
		hmac_pads(m, rtp_auth, 20, k->u.cm.rtp_ipad, k->u.cm.rtp_opad);
		hmac_pads(m, rtcp_auth, 20, k->u.cm.rtcp_ipad, k->u.cm.rtcp_opad);
	}
	fill_templates(k);
	return imb_get_errno(m) == 0 ? PERC_R_OK : PERC_R_ENGINE;
}

int
perc_key_init(struct perc_key *k, struct perc_engine *e, const struct perc_profile *layer,
	      const uint8_t *master_key, const uint8_t *master_salt)
{
	struct perc_session_keys s;
	int r;

	if (layer == NULL || layer->is_double)
		return PERC_R_PROFILE;
	if (e->arch == PERC_ARCH_LIBSRTP)
		return perc_ref_key_init(k, layer, master_key, master_salt);
	if (perc_kdf_session(layer, master_key, master_salt, &s) != 0)
		return PERC_R_ENGINE;
	r = perc_key_init_session(k, e, layer, s.rtp_key, s.rtp_salt, s.rtp_auth, s.rtcp_key,
				  s.rtcp_salt, s.rtcp_auth);
	perc_zeroize(&s, sizeof(s));
	return r;
}

void
perc_key_clear(struct perc_key *k)
{
	if (k == NULL)
		return;
	if (k->arch == PERC_ARCH_LIBSRTP && k->prof != NULL)
		perc_ref_key_clear(k);
	perc_zeroize(k, sizeof(*k));
}

/* ---- per-packet helpers ---- */

/* RFC 3711 §4.1.1: IV = (salt << 16) XOR (SSRC << 64) XOR (index << 16) */
static inline void
cm_iv(uint8_t *iv, const uint8_t *salt, uint32_t ssrc, uint64_t index)
{
	uint8_t b[16] = { 0 };

	perc_put32(b + 4, ssrc);
	b[8] = (uint8_t)(index >> 40);
	b[9] = (uint8_t)(index >> 32);
	perc_put32(b + 10, (uint32_t)index);
	for (int i = 0; i < 14; i++)
		iv[i] = b[i] ^ salt[i];
	iv[14] = 0;
	iv[15] = 0;
}

/* Start a job from a key's template: every per-key field. */
static inline void
job_from_tmpl(IMB_JOB *j, const struct perc_job_tmpl *t, struct perc_op *op)
{
	j->enc_keys = t->keys;
	j->dec_keys = t->keys;
	j->key_len_in_bytes = t->key_len;
	j->cipher_mode = t->cipher_mode;
	j->hash_alg = t->hash_alg;
	j->cipher_direction = t->dir;
	j->chain_order = t->chain;
	j->iv_len_in_bytes = t->iv_len;
	j->auth_tag_output_len_in_bytes = t->tag_out_len;
	if (t->ipad != NULL) {
		j->hash_start_src_offset_in_bytes = 0;
		j->u.HMAC._hashed_auth_key_xor_ipad = t->ipad;
		j->u.HMAC._hashed_auth_key_xor_opad = t->opad;
	}
	j->user_data = op;
	j->iv = op->iv;
}

/* Header copy for out-of-place ops: the common 12-byte header without a
 * library call. */
static inline void
copy_hdr(uint8_t *dst, const uint8_t *src, uint32_t h)
{
	if (h == PERC_RTP_FIXED) {
		memcpy(dst, src, 8);
		memcpy(dst + 8, src + 8, 4);
	} else {
		memcpy(dst, src, h);
	}
}

/*
 * RTP index of an op's packet. A stream that has accepted nothing yet has
 * no s_l to estimate against; within one burst the first op of such a
 * stream becomes the provisional anchor (rtp.hint), so that a first burst
 * crossing SEQ 65535 -> 0 gets the ROC it would get packet by packet.
 */
static inline int
rtp_index(struct perc_engine *e, struct perc_op *op, uint16_t seq, uint64_t *index)
{
	struct perc_stream *st = op->stream;
	struct perc_replay *w;

	if (op->flags & PERC_OPF_INDEX) {
		*index = (op->index & ~0xffffull) | seq;
		return PERC_R_OK;
	}
	if (st == NULL)
		return PERC_R_KEY;
	w = &st->rtp;
	if (w->seen) {
		if (!perc_rtp_index_guess(w, st->roc_init, seq, index))
			return op->type == PERC_OP_RTP_PROTECT ? PERC_R_INDEX : PERC_R_TOO_OLD;
		return perc_replay_check(w, *index);
	}
	if (!w->hinted) {
		*index = ((uint64_t)st->roc_init << 16) | seq;
		w->hint = *index;
		w->hinted = 1;
		e->hinted = true;
		return PERC_R_OK;
	}
	/* estimate against the provisional anchor as if it were accepted */
	{
		struct perc_replay tmp = *w;

		tmp.seen = 1;
		tmp.top = w->hint;
		if (!perc_rtp_index_guess(&tmp, st->roc_init, seq, index))
			return op->type == PERC_OP_RTP_PROTECT ? PERC_R_INDEX : PERC_R_TOO_OLD;
	}
	if (*index > w->hint)
		w->hint = *index;
	return PERC_R_OK;
}

/* Phase 1 for RTP: checks, index, IV, and the job from the key's template. */
static int
plan_rtp(struct perc_engine *e, struct perc_op *op, IMB_JOB *j)
{
	const struct perc_key *k = op->key;
	const uint8_t *src = op->src;
	uint8_t *dst = op->dst;
	bool protect = op->type == PERC_OP_RTP_PROTECT;
	uint32_t h, plen, tag = k->tag_rtp, ssrc;
	uint16_t seq;
	uint64_t index;
	int r;

	h = perc_rtp_hdr_len(src, op->len);
	if (h == 0)
		return PERC_R_MALFORMED;
	op->hdr_len = (uint16_t)h;
	if (protect) {
		plen = op->len - h;
		if ((uint64_t)op->len + tag > op->cap || (!k->aead && op->len + 4 > op->cap))
			return PERC_R_NO_ROOM;
	} else {
		if (op->len < h + tag)
			return PERC_R_MALFORMED;
		plen = op->len - h - tag;
		if (op->len > op->cap)
			return PERC_R_NO_ROOM;
	}
	ssrc = perc_get32(src + 8);
	seq = (uint16_t)((src[2] << 8) | src[3]);
	r = rtp_index(e, op, seq, &index);
	if (r != PERC_R_OK)
		return r;
	if ((index >> 16) > UINT32_MAX)
		return PERC_R_INDEX;
	op->index = index;

	job_from_tmpl(j, &k->tmpl[protect ? PERC_TMPL_RTP_ENC : PERC_TMPL_RTP_DEC], op);
	j->cipher_start_src_offset_in_bytes = h;
	j->msg_len_to_cipher_in_bytes = plen;
	j->dst = dst + h;
	if (k->aead) {
		perc_gcm_iv(op->iv, k->rtp_salt, ssrc, (uint32_t)(index >> 16), seq);
		if (dst != src)
			copy_hdr(dst, src, h);
		j->src = src;
		j->hash_start_src_offset_in_bytes = h;
		j->msg_len_to_hash_in_bytes = plen;
		j->u.GCM.aad = dst;
		j->u.GCM.aad_len_in_bytes = h;
		j->auth_tag_output = protect ? dst + h + plen : op->tag;
		return PERC_R_OK;
	}
	/* AES-CM + HMAC-SHA1: run in place in dst, hash header ‖ payload ‖ ROC */
	if (dst != src)
		memcpy(dst, src, op->len);
	if (!protect)
		memcpy(op->saved, dst + h + plen, tag);
	perc_put32(dst + h + plen, (uint32_t)(index >> 16));
	cm_iv(op->iv, k->rtp_salt, ssrc, index);
	j->src = dst;
	if (plen == 0)
		j->cipher_mode = IMB_CIPHER_NULL;
	j->msg_len_to_hash_in_bytes = h + plen + 4;
	j->auth_tag_output = op->tag;
	return PERC_R_OK;
}

/* Phase 1 for SRTCP (RFC 3711 §3.4, RFC 7714 §9). */
static int
plan_rtcp(struct perc_op *op, IMB_JOB *j)
{
	const struct perc_key *k = op->key;
	const uint8_t *src = op->src;
	uint8_t *dst = op->dst;
	bool protect = op->type == PERC_OP_RTCP_PROTECT, gcm = k->aead, enc;
	uint32_t tag = k->tag_rtcp, ssrc, index, body, eword;
	int r;

	if (op->len < 8 || (src[0] & 0xc0) != 0x80)
		return PERC_R_MALFORMED;
	op->hdr_len = 8;
	ssrc = perc_get32(src + 4);
	if (protect) {
		if ((uint64_t)op->len + tag + 4 > op->cap)
			return PERC_R_NO_ROOM;
		if (op->flags & PERC_OPF_INDEX) {
			if (op->index > 0x7fffffff)
				return PERC_R_INDEX;
			index = (uint32_t)op->index;
		} else if (op->stream != NULL) {
			if (op->stream->rtcp_next > 0x7fffffff)
				return PERC_R_INDEX;
			index = op->stream->rtcp_next;
			r = perc_replay_check(&op->stream->rtcp, index);
			if (r != PERC_R_OK)
				return r;
			/* taken now, so that the next op of this stream in the
			 * same burst gets the next index */
			op->stream->rtcp_next = index + 1;
		} else {
			return PERC_R_KEY;
		}
		enc = !(op->flags & PERC_OPF_RTCP_AUTH_ONLY);
		body = op->len - 8;
	} else {
		if (op->len < 8 + tag + 4)
			return PERC_R_MALFORMED;
		if (op->len > op->cap)
			return PERC_R_NO_ROOM;
		body = op->len - 8 - tag - 4;
		eword = gcm ? perc_get32(src + op->len - 4) : perc_get32(src + 8 + body);
		enc = eword >> 31;
		index = eword & 0x7fffffff;
		if (op->flags & PERC_OPF_INDEX) {
			/* caller-held state: no replay check */
		} else if (op->stream != NULL) {
			r = perc_replay_check(&op->stream->rtcp, index);
			if (r != PERC_R_OK)
				return r;
		} else {
			return PERC_R_KEY;
		}
	}
	op->index = index;
	op->encrypted = enc;
	eword = (enc ? 0x80000000u : 0) | index;

	job_from_tmpl(j, &k->tmpl[protect ? PERC_TMPL_RTCP_ENC : PERC_TMPL_RTCP_DEC], op);
	if (gcm) {
		perc_gcm_iv(op->iv, k->rtcp_salt, ssrc, 0, 0);
		/* the index takes the last 4 IV bytes: 0 ‖ index31 */
		perc_put32(op->iv + 8, index ^ perc_get32(k->rtcp_salt + 8));
		if (dst != src)
			memcpy(dst, src, 8);
		if (enc) {
			memcpy(op->aad, src, 8);
			perc_put32(op->aad + 8, eword);
			j->src = src;
			j->u.GCM.aad = op->aad;
			j->u.GCM.aad_len_in_bytes = 12;
			j->cipher_start_src_offset_in_bytes = 8;
			j->dst = dst + 8;
			j->msg_len_to_cipher_in_bytes = body;
		} else {
			/* authentication only: AAD = whole packet ‖ E‖index, nothing
			 * ciphered; the tag sits where E‖index must go, so keep it
			 * and lay the AAD out contiguously in dst */
			if (!protect)
				memcpy(op->saved, src + 8 + body, 16);
			if (dst != src)
				memcpy(dst, src, 8 + body);
			perc_put32(dst + 8 + body, eword);
			j->src = dst;
			j->u.GCM.aad = dst;
			j->u.GCM.aad_len_in_bytes = 8 + body + 4;
			j->cipher_start_src_offset_in_bytes = 8 + body;
			j->dst = dst + 8 + body;
			j->msg_len_to_cipher_in_bytes = 0;
		}
		j->hash_start_src_offset_in_bytes = j->cipher_start_src_offset_in_bytes;
		j->msg_len_to_hash_in_bytes = j->msg_len_to_cipher_in_bytes;
		j->auth_tag_output = protect && enc ? dst + 8 + body : op->tag;
		return PERC_R_OK;
	}
	/* AES-CM: packet ‖ E‖index ‖ tag; HMAC over packet ‖ E‖index */
	if (dst != src)
		memcpy(dst, src, op->len);
	if (protect)
		perc_put32(dst + 8 + body, eword);
	else
		memcpy(op->saved, dst + 8 + body + 4, tag);
	cm_iv(op->iv, k->rtcp_salt, ssrc, index);
	j->src = dst;
	j->dst = dst + 8;
	j->cipher_start_src_offset_in_bytes = 8;
	j->msg_len_to_cipher_in_bytes = enc ? body : 0;
	if (!enc || body == 0)
		j->cipher_mode = IMB_CIPHER_NULL;
	j->msg_len_to_hash_in_bytes = 8 + body + 4;
	j->auth_tag_output = op->tag;
	return PERC_R_OK;
}

/* Phase 3 for one op whose job completed. */
static int
finish(struct perc_op *op)
{
	const struct perc_key *k = op->key;
	uint8_t *dst = op->dst;
	int r = PERC_R_OK;

	switch (op->type) {
	case PERC_OP_RTP_PROTECT: {
		uint32_t plen = op->len - op->hdr_len;

		if (!k->aead)
			memcpy(dst + op->len, op->tag, k->tag_rtp);
		if (op->stream != NULL && !(op->flags & PERC_OPF_INDEX))
			r = perc_replay_update(&op->stream->rtp, op->index);
		if (r != PERC_R_OK) {
			/* a second use of this index in the burst: its ciphertext
			 * shares a nonce with the first and must not leave */
			perc_zeroize(dst + op->hdr_len, plen + k->tag_rtp);
			return r;
		}
		op->len = op->hdr_len + plen + k->tag_rtp;
		break;
	}
	case PERC_OP_RTP_UNPROTECT: {
		uint32_t plen = op->len - op->hdr_len - k->tag_rtp;
		const uint8_t *want = k->aead ? op->src + op->hdr_len + plen : op->saved;

		if (perc_ct_memcmp(op->tag, want, k->tag_rtp) != 0)
			return PERC_R_AUTH;
		if (op->stream != NULL && !(op->flags & PERC_OPF_INDEX))
			r = perc_replay_update(&op->stream->rtp, op->index);
		op->len = op->hdr_len + plen;
		break;
	}
	case PERC_OP_RTCP_PROTECT: {
		uint32_t body = op->len - 8;
		uint32_t eword = (op->encrypted ? 0x80000000u : 0) | (uint32_t)op->index;

		if (k->aead) {
			if (!op->encrypted)
				memcpy(dst + 8 + body, op->tag, 16);
			perc_put32(dst + 8 + body + 16, eword);
		} else {
			memcpy(dst + 8 + body + 4, op->tag, k->tag_rtcp);
		}
		if (op->stream != NULL && !(op->flags & PERC_OPF_INDEX))
			r = perc_replay_update(&op->stream->rtcp, op->index);
		op->len = 8 + body + 4 + k->tag_rtcp;
		break;
	}
	case PERC_OP_RTCP_UNPROTECT: {
		uint32_t body = op->len - 8 - k->tag_rtcp - 4;
		/* GCM with E = 1: the tag is still in src; otherwise phase 1 saved it */
		const uint8_t *want = k->aead && op->encrypted ? op->src + 8 + body : op->saved;

		if (perc_ct_memcmp(op->tag, want, k->tag_rtcp) != 0)
			return PERC_R_AUTH;
		if (op->stream != NULL && !(op->flags & PERC_OPF_INDEX))
			r = perc_replay_update(&op->stream->rtcp, op->index);
		op->len = 8 + body;
		break;
	}
	default:
		return PERC_R_MALFORMED;
	}
	return r;
}

static inline int
plan_op(struct perc_engine *e, struct perc_op *op, IMB_JOB *j)
{
	if (op->key == NULL || op->key->prof == NULL || op->key->arch != e->arch)
		return PERC_R_KEY;
	if (op->len > PERC_PKT_MAX)
		return PERC_R_OVERSIZED;
	switch (op->type) {
	case PERC_OP_RTP_PROTECT:
	case PERC_OP_RTP_UNPROTECT:
		return plan_rtp(e, op, j);
	case PERC_OP_RTCP_PROTECT:
	case PERC_OP_RTCP_UNPROTECT:
		return plan_rtcp(op, j);
	default:
		return PERC_R_MALFORMED;
	}
}

static inline uint8_t
job_reason(const IMB_JOB *j)
{
	return j->status == IMB_STATUS_COMPLETED ? PERC_R_OK : PERC_R_ENGINE;
}

/* Phase 2: one submission of nlive filled jobs, then flush until all are
 * back. Returns false when the library did not complete them all. */
static bool
submit(struct perc_engine *e, uint16_t nlive)
{
	IMB_JOB **jobs = e->jobs;
	uint16_t done;

#ifdef NDEBUG
	/* phase 1 validated every length and the keys come from
	 * perc_key_init(): the library's per-job checks (two 376-byte table
	 * copies per job in 1.3) are redundant in release builds */
	done = (uint16_t)IMB_SUBMIT_BURST_NOCHECK(e->mgr, nlive, jobs);
#else
	done = (uint16_t)IMB_SUBMIT_BURST(e->mgr, nlive, jobs);
#endif
	for (uint16_t i = 0; i < done; i++)
		((struct perc_op *)jobs[i]->user_data)->reason = job_reason(jobs[i]);
	while (done < nlive) {
		uint16_t f = (uint16_t)IMB_FLUSH_BURST(e->mgr, nlive - done, jobs);

		if (f == 0)
			return false;
		for (uint16_t i = 0; i < f; i++)
			((struct perc_op *)jobs[i]->user_data)->reason = job_reason(jobs[i]);
		done += f;
	}
	return true;
}

/* Drop the provisional anchors phase 1 put on streams nothing had
 * accepted yet (rtp_index()). */
static void
clear_hints(struct perc_engine *e, struct perc_op **ops, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		if (ops[i]->stream != NULL)
			ops[i]->stream->rtp.hinted = 0;
	e->hinted = false;
}

uint16_t
perc_engine_run(struct perc_engine *e, struct perc_op **ops, uint16_t n)
{
	uint16_t nlive = 0, nbad = 0, ngood = 0, got;

	if (n > PERC_BURST_MAX)
		n = PERC_BURST_MAX;
	if (e->arch == PERC_ARCH_LIBSRTP) {
		for (uint16_t i = 0; i < n; i++) {
			perc_ref_op(ops[i]);
			if (ops[i]->reason == PERC_R_OK)
				e->live[ngood++] = ops[i];
			else
				e->bad[nbad++] = ops[i];
		}
		goto reorder;
	}

	/* phase 1: plan every op straight into the next free job slot */
	got = (uint16_t)IMB_GET_NEXT_BURST(e->mgr, n, e->jobs);
	if (got < n) {
		IMB_FLUSH_BURST(e->mgr, PERC_BURST_MAX, e->jobs);
		got = (uint16_t)IMB_GET_NEXT_BURST(e->mgr, n, e->jobs);
	}
	for (uint16_t i = 0; i < n; i++) {
		struct perc_op *op = ops[i];
		int r;

		/* two stages: the op four ahead, then what the op two ahead
		 * points at (its key, packet and stream) */
		if (i + 4 < n)
			__builtin_prefetch(ops[i + 4]);
		if (i + 2 < n) {
			__builtin_prefetch(ops[i + 2]->key);
			__builtin_prefetch(ops[i + 2]->src);
			__builtin_prefetch(ops[i + 2]->stream);
		}
		r = nlive < got ? plan_op(e, op, e->jobs[nlive]) : PERC_R_ENGINE;
		op->reason = (uint8_t)r;
		if (r == PERC_R_OK)
			e->live[nlive++] = op;
		else
			e->bad[nbad++] = op;
	}

	/* phase 2 */
	if (nlive > 0 && !submit(e, nlive)) {
		/* the library refused the burst: nothing of it is trusted */
		for (uint16_t i = 0; i < nlive; i++)
			e->live[i]->reason = PERC_R_ENGINE;
	}

	/* phase 3, keeping the original order among the good ones */
	for (uint16_t i = 0; i < nlive; i++) {
		struct perc_op *op = e->live[i];

		if (op->reason == PERC_R_OK)
			op->reason = (uint8_t)finish(op);
		if (op->reason == PERC_R_OK)
			e->live[ngood++] = op;
		else
			e->bad[nbad++] = op;
	}
	if (e->hinted)
		clear_hints(e, ops, n);
reorder:
	if (nbad == 0)
		return ngood; /* ops[] is already in order */
	for (uint16_t i = 0; i < ngood; i++)
		ops[i] = e->live[i];
	for (uint16_t i = 0; i < nbad; i++)
		ops[ngood + i] = e->bad[i];
	return ngood;
}

int
perc_engine_run1(struct perc_engine *e, struct perc_op *op)
{
	struct perc_op *ops[1] = { op };

	perc_engine_run(e, ops, 1);
	return op->reason;
}

int
perc_engine_gcm(struct perc_engine *e, const struct gcm_key_data *gk, unsigned key_len,
		bool enc, const uint8_t iv[12], const uint8_t *aad, size_t aad_len,
		const uint8_t *src, uint8_t *dst, size_t len, uint8_t *tag)
{
	struct gcm_context_data ctx;
	uint8_t calc[16];
	IMB_MGR *m = e->mgr;

	if (m == NULL || (key_len != 16 && key_len != 32))
		return PERC_R_KEY;
	if (enc) {
		if (key_len == 16)
			IMB_AES128_GCM_ENC(m, gk, &ctx, dst, src, len, iv, aad, aad_len, tag, 16);
		else
			IMB_AES256_GCM_ENC(m, gk, &ctx, dst, src, len, iv, aad, aad_len, tag, 16);
		return PERC_R_OK;
	}
	if (key_len == 16)
		IMB_AES128_GCM_DEC(m, gk, &ctx, dst, src, len, iv, aad, aad_len, calc, 16);
	else
		IMB_AES256_GCM_DEC(m, gk, &ctx, dst, src, len, iv, aad, aad_len, calc, 16);
	return perc_ct_memcmp(calc, tag, 16) == 0 ? PERC_R_OK : PERC_R_AUTH;
}
