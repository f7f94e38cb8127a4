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

/* What phase 1 leaves for phases 2 and 3. */
struct op_plan {
	const uint8_t *src;
	uint8_t *dst;        /* cipher output start */
	uint32_t off;        /* cipher start offset in src */
	uint32_t clen;       /* bytes to cipher */
	uint32_t hlen;       /* bytes to hash (CM) */
	const uint8_t *aad;  /* GCM */
	uint32_t aad_len;
	uint8_t *tag_out;
	const void *gkey;
	const uint32_t *ek;
	const uint8_t *ipad, *opad;
	bool enc;
};

/* Phase 1 for RTP. Returns a reason; fills plan. */
static int
plan_rtp(struct perc_op *op, struct op_plan *pl)
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
		if ((uint64_t)op->len + tag > op->cap || (!k->prof->aead && op->len + 4 > op->cap))
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
	if (op->flags & PERC_OPF_INDEX) {
		index = (op->index & ~0xffffull) | seq;
	} else if (op->stream != NULL) {
		if (!perc_rtp_index_guess(&op->stream->rtp, op->stream->roc_init, seq, &index))
			return protect ? PERC_R_INDEX : PERC_R_TOO_OLD;
		r = perc_replay_check(&op->stream->rtp, index);
		if (r != PERC_R_OK)
			return r;
	} else {
		return PERC_R_KEY;
	}
	if ((index >> 16) > UINT32_MAX)
		return PERC_R_INDEX;
	op->index = index;

	if (k->prof->aead) {
		perc_gcm_iv(op->iv, k->rtp_salt, ssrc, (uint32_t)(index >> 16), seq);
		if (dst != src)
			memcpy(dst, src, h);
		pl->src = src;
		pl->off = h;
		pl->dst = dst + h;
		pl->clen = plen;
		pl->aad = dst;
		pl->aad_len = h;
		pl->gkey = &k->u.gcm.rtp;
		pl->enc = protect;
		pl->tag_out = protect ? dst + h + plen : op->tag;
		return PERC_R_OK;
	}
	/* AES-CM + HMAC-SHA1: run in place in dst, hash header ‖ payload ‖ ROC */
	if (dst != src)
		memcpy(dst, src, op->len);
	if (!protect)
		memcpy(op->saved, dst + h + plen, tag);
	perc_put32(dst + h + plen, (uint32_t)(index >> 16));
	cm_iv(op->iv, k->rtp_salt, ssrc, index);
	pl->src = dst;
	pl->off = h;
	pl->dst = dst + h;
	pl->clen = plen;
	pl->hlen = h + plen + 4;
	pl->ek = k->u.cm.rtp_ek;
	pl->ipad = k->u.cm.rtp_ipad;
	pl->opad = k->u.cm.rtp_opad;
	pl->enc = protect;
	pl->tag_out = op->tag;
	return PERC_R_OK;
}

/* Phase 1 for SRTCP (RFC 3711 §3.4, RFC 7714 §9). */
static int
plan_rtcp(struct perc_op *op, struct op_plan *pl)
{
	const struct perc_key *k = op->key;
	const uint8_t *src = op->src;
	uint8_t *dst = op->dst;
	bool protect = op->type == PERC_OP_RTCP_PROTECT, gcm = k->prof->aead, enc;
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

	if (gcm) {
		perc_gcm_iv(op->iv, k->rtcp_salt, ssrc, 0, 0);
		/* the index takes the last 4 IV bytes: 0 ‖ index31 */
		perc_put32(op->iv + 8, index ^ perc_get32(k->rtcp_salt + 8));
		if (dst != src)
			memcpy(dst, src, 8);
		pl->gkey = &k->u.gcm.rtcp;
		pl->enc = protect;
		pl->src = src;
		if (enc) {
			memcpy(op->aad, src, 8);
			perc_put32(op->aad + 8, eword);
			pl->aad = op->aad;
			pl->aad_len = 12;
			pl->off = 8;
			pl->dst = dst + 8;
			pl->clen = body;
		} else {
			/* authentication only: AAD = whole packet ‖ E‖index, nothing
			 * ciphered; the tag sits where E‖index must go, so keep it
			 * and lay the AAD out contiguously in dst */
			if (!protect)
				memcpy(op->saved, src + 8 + body, 16);
			if (dst != src)
				memcpy(dst, src, 8 + body);
			perc_put32(dst + 8 + body, eword);
			pl->src = dst;
			pl->aad = dst;
			pl->aad_len = 8 + body + 4;
			pl->off = 8 + body;
			pl->dst = dst + 8 + body;
			pl->clen = 0;
		}
		pl->tag_out = protect && enc ? dst + 8 + body : op->tag;
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
	pl->src = dst;
	pl->off = 8;
	pl->dst = dst + 8;
	pl->clen = enc ? body : 0;
	pl->hlen = 8 + body + 4;
	pl->ek = k->u.cm.rtcp_ek;
	pl->ipad = k->u.cm.rtcp_ipad;
	pl->opad = k->u.cm.rtcp_opad;
	pl->enc = protect;
	pl->tag_out = op->tag;
	return PERC_R_OK;
}

static void
fill_job(IMB_JOB *j, const struct perc_op *op, const struct op_plan *pl)
{
	const struct perc_key *k = op->key;

	j->src = pl->src;
	j->dst = pl->dst;
	j->cipher_start_src_offset_in_bytes = pl->off;
	j->msg_len_to_cipher_in_bytes = pl->clen;
	j->iv = op->iv;
	j->auth_tag_output = pl->tag_out;
	j->user_data = (void *)op;
	j->cipher_direction = pl->enc ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
	j->chain_order = pl->enc ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
	if (k->prof->aead) {
		j->cipher_mode = IMB_CIPHER_GCM;
		j->hash_alg = IMB_AUTH_AES_GMAC;
		j->enc_keys = pl->gkey;
		j->dec_keys = pl->gkey;
		j->key_len_in_bytes = k->prof->key_len;
		j->iv_len_in_bytes = 12;
		j->hash_start_src_offset_in_bytes = pl->off;
		j->msg_len_to_hash_in_bytes = pl->clen;
		j->u.GCM.aad = pl->aad;
		j->u.GCM.aad_len_in_bytes = pl->aad_len;
		j->auth_tag_output_len_in_bytes = 16;
	} else {
		j->cipher_mode = pl->clen ? IMB_CIPHER_CNTR : IMB_CIPHER_NULL;
		j->hash_alg = IMB_AUTH_HMAC_SHA_1;
		j->enc_keys = pl->ek;
		j->dec_keys = pl->ek;
		j->key_len_in_bytes = 16;
		j->iv_len_in_bytes = 16;
		j->hash_start_src_offset_in_bytes = 0;
		j->msg_len_to_hash_in_bytes = pl->hlen;
		j->u.HMAC._hashed_auth_key_xor_ipad = pl->ipad;
		j->u.HMAC._hashed_auth_key_xor_opad = pl->opad;
		j->auth_tag_output_len_in_bytes = 12;
	}
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

		if (!k->prof->aead)
			memcpy(dst + op->len, op->tag, k->tag_rtp);
		if (op->stream != NULL && !(op->flags & PERC_OPF_INDEX))
			r = perc_replay_update(&op->stream->rtp, op->index);
		op->len = op->hdr_len + plen + k->tag_rtp;
		break;
	}
	case PERC_OP_RTP_UNPROTECT: {
		uint32_t plen = op->len - op->hdr_len - k->tag_rtp;
		const uint8_t *want = k->prof->aead ? op->src + op->hdr_len + plen : op->saved;

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

		if (k->prof->aead) {
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
		const uint8_t *want = k->prof->aead && op->encrypted ? op->src + 8 + body : op->saved;

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

static int
plan_op(struct perc_op *op, struct op_plan *pl, enum perc_arch arch)
{
	if (op->key == NULL || op->key->prof == NULL || op->key->arch != arch)
		return PERC_R_KEY;
	if (op->len > PERC_PKT_MAX)
		return PERC_R_OVERSIZED;
	switch (op->type) {
	case PERC_OP_RTP_PROTECT:
	case PERC_OP_RTP_UNPROTECT:
		return plan_rtp(op, pl);
	case PERC_OP_RTCP_PROTECT:
	case PERC_OP_RTCP_UNPROTECT:
		return plan_rtcp(op, pl);
	default:
		return PERC_R_MALFORMED;
	}
}

uint16_t
perc_engine_run(struct perc_engine *e, struct perc_op **ops, uint16_t n)
{
	struct op_plan plan[PERC_BURST_MAX];
	uint16_t nlive = 0, nbad = 0, ngood = 0, got, done = 0;

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

	/* phase 1 */
	for (uint16_t i = 0; i < n; i++) {
		struct perc_op *op = ops[i];
		int r = plan_op(op, &plan[nlive], e->arch);

		op->reason = (uint8_t)r;
		if (r == PERC_R_OK)
			e->live[nlive++] = op;
		else
			e->bad[nbad++] = op;
	}

	/* phase 2 */
	if (nlive > 0) {
		IMB_JOB **jobs = e->jobs;

		got = IMB_GET_NEXT_BURST(e->mgr, nlive, jobs);
		if (got < nlive) {
			IMB_FLUSH_BURST(e->mgr, PERC_BURST_MAX, jobs);
			got = IMB_GET_NEXT_BURST(e->mgr, nlive, jobs);
		}
		if (got == nlive) {
			for (uint16_t i = 0; i < nlive; i++)
				fill_job(jobs[i], e->live[i], &plan[i]);
			done = IMB_SUBMIT_BURST(e->mgr, nlive, jobs);
			for (uint16_t i = 0; i < done; i++)
				((struct perc_op *)jobs[i]->user_data)->reason =
					jobs[i]->status == IMB_STATUS_COMPLETED ? PERC_R_OK : PERC_R_ENGINE;
			while (done < nlive) {
				uint16_t f = IMB_FLUSH_BURST(e->mgr, nlive - done, jobs);

				if (f == 0)
					break;
				for (uint16_t i = 0; i < f; i++)
					((struct perc_op *)jobs[i]->user_data)->reason =
						jobs[i]->status == IMB_STATUS_COMPLETED ? PERC_R_OK :
											  PERC_R_ENGINE;
				done += f;
			}
		}
		if (done < nlive) {
			/* the library refused the burst: nothing of it is trusted */
			for (uint16_t i = 0; i < nlive; i++)
				e->live[i]->reason = PERC_R_ENGINE;
		}
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
reorder:
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
