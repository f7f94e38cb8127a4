/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Differential tests: the ipsec-mb burst engine on every architecture this
 * CPU runs against libsrtp2 (PERC_ARCH_LIBSRTP, dataplane/lib/ref.c), for the
 * four single profiles; and the burst path against the per-packet path.
 *
 *  test_rtp_diff, test_rtcp_diff  10,000 random packets per profile, per
 *      direction (ours -> libsrtp2, libsrtp2 -> ours), per arch: both engines
 *      protect every packet from the same state and must agree byte for
 *      byte, then the other engine unprotects them in another order.
 *  test_rtcp_auth_only  E = 0 SRTCP against a libsrtp2 session whose RTCP
 *      policy is authentication only.
 *  test_replay, test_index, test_reasons, test_flips  replays, the window
 *      edge, caller-given ROCs, refusals before crypto, one flipped bit.
 *  test_burst  bursts of 1..128 mixed ops with bad ones mixed in, against
 *      perc_engine_run1 on a copy of every stream.
 *
 * libsrtp2 facts these tests rely on (and check):
 *  - a libsrtp2 sender numbers SRTCP packets from 1, so our sending streams
 *    start with rtcp_next = 1 to stay in lockstep;
 *  - libsrtp2's SRTCP replay window is 128 packets whatever window_size says
 *    (ours is the stream's window, 1024 here); the RTP windows are both 1024;
 *  - libsrtp2 sends E = 0 SRTCP only from a session whose policy says so,
 *    so the reference refuses PERC_OPF_RTCP_AUTH_ONLY (PERC_R_PROFILE); it
 *    receives E = 0 for AES-GCM, but for AES-CM only on such a session
 *    (otherwise srtp_err_status_cant_check, PERC_R_PROFILE).
 *
 * PERC_TEST_SEED=n in the environment picks another random sequence.
 * Failures print the first few mismatches with their context; every test
 * then fails once through CUnit.
 */
#include <stdbool.h>

#include <srtp2/srtp.h>

#include "perc/rtp.h"
#include "testutil.h"

#define BUFSZ 4096u
#define MAXPAY 1400u
#define NPKT_RTP 10000u   /* per profile, per direction, per arch */
#define NPKT_RTCP 10000u
#define NSTREAM 4u
#define CHUNK 32u
#define WIN PERC_REPLAY_DEFAULT
#define REF_RTCP_WIN 128u

static const uint16_t prof_ids[] = {
	PERC_AES128_CM_SHA1_80, PERC_AES128_CM_SHA1_32,
	PERC_AEAD_AES_128_GCM, PERC_AEAD_AES_256_GCM,
};
#define NPROF (sizeof(prof_ids) / sizeof(prof_ids[0]))

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static struct perc_engine *g_ref;
static enum perc_arch g_arch[PERC_ARCH__COUNT];
static int g_narch;
static unsigned g_fail;
static char g_ctx[160];
static char g_base[140];

static void
fail_at(int line, const char *what)
{
	if (g_fail++ < 30)
		fprintf(stderr, "\n  FAIL test_diff.c:%d [%s]: %s", line, g_ctx, what);
}

#define CHECK(c)                              \
	do {                                  \
		if (!(c))                     \
			fail_at(__LINE__, #c); \
	} while (0)

#define CHECK_EQ(a, b)                                                                  \
	do {                                                                            \
		unsigned long long a_ = (unsigned long long)(a);                        \
		unsigned long long b_ = (unsigned long long)(b);                        \
		if (a_ != b_) {                                                         \
			char m_[200];                                                   \
			snprintf(m_, sizeof(m_), "%s == %s (%llu != %llu)", #a, #b, a_, b_); \
			fail_at(__LINE__, m_);                                          \
		}                                                                       \
	} while (0)

static inline uint32_t
rnd(uint32_t n)
{
	return (uint32_t)(t_rand(&rng) % n);
}

static void
fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)t_rand(&rng);
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* ---- keys, streams, ops ---- */

static struct perc_key *
key_new(struct perc_engine *e, const struct perc_profile *p, const uint8_t *mk, const uint8_t *ms)
{
	struct perc_key *k = aligned_alloc(64, sizeof(*k));

	if (k == NULL)
		abort();
	CHECK_EQ(perc_key_init(k, e, p, mk, ms), PERC_R_OK);
	return k;
}

static void
key_free(struct perc_key *k)
{
	perc_key_clear(k);
	free(k);
}

/* one key on our engine and the same master key on libsrtp2 */
struct kpair {
	const struct perc_profile *p;
	struct perc_key *k;
	struct perc_key *r;
};

static void
kpair_new(struct kpair *kp, struct perc_engine *e, const struct perc_profile *p)
{
	uint8_t mk[32], ms[14];

	fill(mk, sizeof(mk));
	fill(ms, sizeof(ms));
	kp->p = p;
	kp->k = key_new(e, p, mk, ms);
	kp->r = key_new(g_ref, p, mk, ms);
}

static void
kpair_free(struct kpair *kp)
{
	key_free(kp->k);
	key_free(kp->r);
}

static struct perc_stream *
stream_new(void)
{
	size_t n = perc_stream_size(WIN);
	void *m = aligned_alloc(64, (n + 63) & ~(size_t)63);
	struct perc_stream *s;

	if (m == NULL)
		abort();
	s = perc_stream_init(m, WIN, 0);
	CHECK(s != NULL);
	return s;
}

static int
op_run(struct perc_engine *e, struct perc_op *op, const struct perc_key *k, struct perc_stream *s,
       uint8_t type, const uint8_t *src, uint8_t *dst, uint32_t len, uint32_t cap, uint8_t flags)
{
	memset(op, 0, sizeof(*op));
	op->key = k;
	op->stream = s;
	op->type = type;
	op->src = src;
	op->dst = dst;
	op->len = len;
	op->cap = cap;
	op->flags = flags;
	return perc_engine_run1(e, op);
}

/* An op with PERC_OPF_INDEX and no stream, out of place. */
static int
op_run_index(struct perc_engine *e, struct perc_op *op, const struct perc_key *k, uint8_t type,
	     const uint8_t *src, uint8_t *dst, uint32_t len, uint64_t index)
{
	memset(op, 0, sizeof(*op));
	op->key = k;
	op->type = type;
	op->src = src;
	op->dst = dst;
	op->len = len;
	op->cap = BUFSZ;
	op->flags = PERC_OPF_INDEX;
	op->index = index;
	return perc_engine_run1(e, op);
}

/* src in place (copied into dst first) or out of place, at random */
static const uint8_t *
pick_src(const uint8_t *in, uint8_t *dst, uint32_t len)
{
	if (rnd(2))
		return in;
	memmove(dst, in, len);
	return dst;
}

/* ---- packet generators ---- */

/* RTP with random CSRCs, RFC 8285 one- or two-byte extension, padding and
 * a payload of 0..maxpay bytes. */
static uint32_t
gen_rtp(uint8_t *p, uint32_t ssrc, uint16_t seq, uint32_t maxpay)
{
	uint32_t cc = rnd(3) ? 0 : rnd(16), xk = rnd(3), h = 12, pay, npad = 0;
	bool pad = rnd(4) == 0;

	p[0] = (uint8_t)(0x80 | (pad ? 0x20 : 0) | (xk ? 0x10 : 0) | cc);
	p[1] = (uint8_t)(rnd(2) << 7 | (96 + rnd(32)));
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	put32(p + 4, (uint32_t)t_rand(&rng));
	put32(p + 8, ssrc);
	for (uint32_t i = 0; i < cc; i++, h += 4)
		put32(p + h, (uint32_t)t_rand(&rng));
	if (xk) {
		uint8_t *e = p + h;
		uint32_t b = 4, nel = 1 + rnd(5);

		for (uint32_t i = 0; i < nel; i++) {
			uint32_t l;

			while (rnd(4) == 0)
				e[b++] = 0; /* padding between elements */
			if (xk == 1) {
				l = 1 + rnd(16);
				e[b++] = (uint8_t)((1 + rnd(14)) << 4 | (l - 1));
			} else {
				l = rnd(3) ? rnd(24) : rnd(256);
				e[b++] = (uint8_t)(1 + rnd(255));
				e[b++] = (uint8_t)l;
			}
			fill(e + b, l);
			b += l;
		}
		while ((b - 4) % 4)
			e[b++] = 0;
		if (xk == 1) {
			e[0] = 0xbe;
			e[1] = 0xde;
		} else {
			e[0] = 0x10;
			e[1] = (uint8_t)rnd(16);
		}
		e[2] = (uint8_t)(((b - 4) / 4) >> 8);
		e[3] = (uint8_t)((b - 4) / 4);
		h += b;
	}
	pay = rnd(8) ? rnd(maxpay + 1) : 0;
	fill(p + h, pay);
	if (pad) {
		npad = 1 + rnd(255);
		memset(p + h + pay, 0, npad);
		p[h + pay + npad - 1] = (uint8_t)npad;
	}
	return h + pay + npad;
}

/* A compound-like RTCP packet: 1..4 packets, the first an SR or RR carrying
 * ssrc, random bodies, consistent length fields. */
static uint32_t
gen_rtcp(uint8_t *p, uint32_t ssrc)
{
	uint32_t off = 0, np = 1 + rnd(4);

	for (uint32_t i = 0; i < np; i++) {
		uint32_t words = (i == 0) + rnd(40);

		p[off] = (uint8_t)(0x80 | rnd(32));
		p[off + 1] = (uint8_t)(i == 0 ? 200 + rnd(2) : 200 + rnd(7));
		p[off + 2] = (uint8_t)(words >> 8);
		p[off + 3] = (uint8_t)words;
		fill(p + off + 4, 4 * words);
		if (i == 0)
			put32(p + 4, ssrc);
		off += 4 + 4 * words;
	}
	return off;
}

/* Shuffle ord[] inside consecutive groups of 1..gmax entries. */
static void
shuffle_groups(unsigned *ord, unsigned n, unsigned gmax)
{
	for (unsigned j = 0; j < n;) {
		unsigned g = 1 + rnd(gmax);

		if (j + g > n)
			g = n - j;
		for (unsigned i = g; i > 1; i--) {
			unsigned a = j + rnd(i), t = ord[a];

			ord[a] = ord[j + i - 1];
			ord[j + i - 1] = t;
		}
		j += g;
	}
}

static void
set_ctx(const char *what, enum perc_arch a, const struct perc_profile *p, const char *dir)
{
	snprintf(g_base, sizeof(g_base), "%s %s %s %s", what, perc_arch_name(a),
		 p ? p->name : "-", dir ? dir : "");
	snprintf(g_ctx, sizeof(g_ctx), "%s", g_base);
}

/* One step of a differential test: a check of one engine and profile. */
struct step {
	const char *what;
	const char *dir;
	void (*fn)(struct perc_engine *e, const struct perc_profile *p, void *arg);
	void *arg;
};

/* Every step on every architecture the CPU offers and every single profile,
 * one engine per architecture, the failure context named before each. */
static void
each_arch_profile(const struct step *steps, unsigned n)
{
	unsigned f0 = g_fail;

	for (int a = 0; a < g_narch; a++) {
		struct perc_engine *e = perc_engine_create(g_arch[a]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(e);
		for (unsigned pi = 0; pi < NPROF; pi++) {
			const struct perc_profile *p = perc_profile_by_id(prof_ids[pi]);

			for (unsigned i = 0; i < n; i++) {
				set_ctx(steps[i].what, g_arch[a], p, steps[i].dir);
				steps[i].fn(e, p, steps[i].arg);
			}
		}
		perc_engine_destroy(e);
	}
	CU_ASSERT_EQUAL(g_fail, f0);
}

static bool ours_sends = true, libsrtp_sends = false;

/* name the flipped bit in what a failure prints */
static void
ctx_bit(uint32_t bit)
{
	snprintf(g_ctx, sizeof(g_ctx), "%s bit %u", g_base, bit);
}

/* ---- RTP: ours vs libsrtp2, both directions ---- */

struct rtp_slot {
	uint8_t plain[BUFSZ];
	uint8_t ours[BUFSZ];
	uint8_t ref[BUFSZ];
	uint32_t plen, olen;
	uint64_t index;
	unsigned si;
};

/*
 * ours_send: ours protects, libsrtp2 unprotects (else the other way round).
 * Both engines protect every packet from the same state in the same order
 * and must agree byte for byte; the receiver gets the sender's bytes in
 * another small-group shuffle.
 */
static void
rtp_direction(struct perc_engine *e, const struct perc_profile *p, void *arg)
{
	bool ours_send = *(const bool *)arg;
	static struct rtp_slot c[CHUNK];
	struct perc_stream *tx[NSTREAM], *rx[NSTREAM];
	uint32_t ssrc[NSTREAM], max_roc[NSTREAM] = { 0 };
	uint16_t next[NSTREAM];
	uint8_t out[BUFSZ];
	struct kpair kp;
	struct perc_op o, r;
	unsigned ord[CHUNK], done = 0;

	kpair_new(&kp, e, p);
	for (unsigned i = 0; i < NSTREAM; i++) {
		ssrc[i] = (uint32_t)t_rand(&rng) ^ i; /* distinct: low bits differ */
		ssrc[i] = (ssrc[i] & ~3u) | i;
		next[i] = (uint16_t)(64000 + rnd(1400));
		tx[i] = stream_new();
		rx[i] = stream_new();
	}
	while (done < NPKT_RTP) {
		unsigned n = NPKT_RTP - done < CHUNK ? NPKT_RTP - done : CHUNK;

		for (unsigned j = 0; j < n; j++) {
			unsigned si = rnd(NSTREAM);

			c[j].si = si;
			c[j].plen = gen_rtp(c[j].plain, ssrc[si], next[si]++, MAXPAY);
			if (rnd(16) == 0)
				next[si] = (uint16_t)(next[si] + 1 + rnd(20)); /* losses */
			ord[j] = j;
		}
		shuffle_groups(ord, n, 4); /* the sender's own reordering */
		for (unsigned jj = 0; jj < n; jj++) {
			struct rtp_slot *s = &c[ord[jj]];
			const uint8_t *src;

			src = pick_src(s->plain, s->ours, s->plen);
			CHECK_EQ(op_run(e, &o, kp.k, tx[s->si], PERC_OP_RTP_PROTECT, src, s->ours,
					s->plen, BUFSZ, 0), PERC_R_OK);
			src = pick_src(s->plain, s->ref, s->plen);
			CHECK_EQ(op_run(g_ref, &r, kp.r, NULL, PERC_OP_RTP_PROTECT, src, s->ref,
					s->plen, BUFSZ, 0), PERC_R_OK);
			CHECK_EQ(o.len, s->plen + p->rtp_tag_len);
			CHECK_EQ(r.len, o.len);
			CHECK(memcmp(s->ours, s->ref, o.len) == 0);
			CHECK_EQ(o.index, r.index);
			CHECK_EQ(o.hdr_len, r.hdr_len);
			CHECK_EQ(o.hdr_len, perc_rtp_hdr_len(s->plain, s->plen));
			s->olen = o.len;
			s->index = o.index;
			if ((o.index >> 16) > max_roc[s->si])
				max_roc[s->si] = (uint32_t)(o.index >> 16);
		}
		shuffle_groups(ord, n, 8); /* the network's */
		for (unsigned jj = 0; jj < n; jj++) {
			struct rtp_slot *s = &c[ord[jj]];
			uint8_t *wire = ours_send ? s->ours : s->ref;
			const uint8_t *src = pick_src(wire, out, s->olen);

			op_run(ours_send ? g_ref : e, &r, ours_send ? kp.r : kp.k,
			       ours_send ? NULL : rx[s->si], PERC_OP_RTP_UNPROTECT, src, out,
			       s->olen, BUFSZ, 0);
			CHECK_EQ(r.reason, PERC_R_OK);
			CHECK_EQ(r.len, s->plen);
			CHECK(memcmp(out, s->plain, s->plen) == 0);
			CHECK_EQ(r.index, s->index);
			CHECK_EQ(r.hdr_len, perc_rtp_hdr_len(s->plain, s->plen));
		}
		done += n;
	}
	for (unsigned i = 0; i < NSTREAM; i++) {
		CHECK(max_roc[i] >= 1); /* every stream crossed 65535 -> 0 */
		free(tx[i]);
		free(rx[i]);
	}
	kpair_free(&kp);
}

static void
test_rtp_diff(void)
{
	const struct step steps[] = {
		{ "rtp", "ours->libsrtp", rtp_direction, &ours_sends },
		{ "rtp", "libsrtp->ours", rtp_direction, &libsrtp_sends },
	};

	each_arch_profile(steps, 2);
}

/* ---- SRTCP: ours vs libsrtp2, both directions ---- */

struct rtcp_slot {
	uint8_t plain[BUFSZ];
	uint8_t ours[BUFSZ];
	uint8_t ref[BUFSZ];
	uint32_t plen, olen, rlen;
	uint32_t index;
	bool auth_only;
	unsigned si;
};

static void
rtcp_direction(struct perc_engine *e, const struct perc_profile *p, void *arg)
{
	bool ours_send = *(const bool *)arg;
	static struct rtcp_slot c[CHUNK];
	struct perc_stream *tx[NSTREAM], *rx[NSTREAM];
	uint32_t ssrc[NSTREAM], last[NSTREAM] = { 0 };
	uint8_t out[BUFSZ];
	struct kpair kp;
	struct perc_op o, r;
	unsigned ord[CHUNK], done = 0, tag = p->rtcp_tag_len;

	kpair_new(&kp, e, p);
	for (unsigned i = 0; i < NSTREAM; i++) {
		ssrc[i] = ((uint32_t)t_rand(&rng) & ~3u) | i;
		tx[i] = stream_new();
		tx[i]->rtcp_next = 1; /* libsrtp2 starts at 1 */
		rx[i] = stream_new();
	}
	/* the reference cannot send E = 0 per packet, and says so up front */
	c[0].plen = gen_rtcp(c[0].plain, 1);
	CHECK_EQ(op_run(g_ref, &r, kp.r, NULL, PERC_OP_RTCP_PROTECT, c[0].plain, out, c[0].plen,
			BUFSZ, PERC_OPF_RTCP_AUTH_ONLY), PERC_R_PROFILE);
	while (done < NPKT_RTCP) {
		unsigned n = NPKT_RTCP - done < CHUNK ? NPKT_RTCP - done : CHUNK;

		for (unsigned j = 0; j < n; j++) {
			struct rtcp_slot *s = &c[j];
			const uint8_t *src;

			s->si = rnd(NSTREAM);
			s->plen = gen_rtcp(s->plain, ssrc[s->si]);
			s->auth_only = ours_send && rnd(8) == 0;
			src = pick_src(s->plain, s->ours, s->plen);
			CHECK_EQ(op_run(e, &o, kp.k, tx[s->si], PERC_OP_RTCP_PROTECT, src, s->ours,
					s->plen, BUFSZ, s->auth_only ? PERC_OPF_RTCP_AUTH_ONLY : 0),
				 PERC_R_OK);
			/* libsrtp2 protects every packet too, to stay in index lockstep */
			src = pick_src(s->plain, s->ref, s->plen);
			CHECK_EQ(op_run(g_ref, &r, kp.r, NULL, PERC_OP_RTCP_PROTECT, src, s->ref,
					s->plen, BUFSZ, 0), PERC_R_OK);
			CHECK_EQ(o.len, s->plen + 4 + tag);
			CHECK_EQ(r.len, o.len);
			CHECK_EQ(o.index, r.index);
			CHECK_EQ(o.index, last[s->si] + 1);
			CHECK_EQ(o.encrypted, !s->auth_only);
			CHECK_EQ(r.encrypted, 1);
			CHECK_EQ(o.hdr_len, 8);
			if (!s->auth_only)
				CHECK(memcmp(s->ours, s->ref, o.len) == 0);
			last[s->si] = (uint32_t)o.index;
			s->index = (uint32_t)o.index;
			s->olen = o.len;
			s->rlen = r.len;
			ord[j] = j;
		}
		shuffle_groups(ord, n, 8);
		for (unsigned jj = 0; jj < n; jj++) {
			struct rtcp_slot *s = &c[ord[jj]];
			uint8_t *wire = ours_send ? s->ours : s->ref;
			const uint8_t *src = pick_src(wire, out, s->olen);

			if (ours_send && s->auth_only && !p->aead) {
				/* libsrtp2 takes AES-CM SRTCP with E = 0 only on a
				 * session whose policy says so (see test_rtcp_auth_only) */
				CHECK_EQ(op_run(g_ref, &r, kp.r, NULL, PERC_OP_RTCP_UNPROTECT, src,
						out, s->olen, BUFSZ, 0), PERC_R_PROFILE);
				src = pick_src(wire, out, s->olen);
				op_run(e, &r, kp.k, rx[s->si], PERC_OP_RTCP_UNPROTECT, src, out,
				       s->olen, BUFSZ, 0);
			} else {
				op_run(ours_send ? g_ref : e, &r, ours_send ? kp.r : kp.k,
				       ours_send ? NULL : rx[s->si], PERC_OP_RTCP_UNPROTECT, src,
				       out, s->olen, BUFSZ, 0);
			}
			CHECK_EQ(r.reason, PERC_R_OK);
			CHECK_EQ(r.len, s->plen);
			CHECK(memcmp(out, s->plain, s->plen) == 0);
			CHECK_EQ(r.index, s->index);
			CHECK_EQ(r.encrypted, !s->auth_only);
		}
		done += n;
	}
	for (unsigned i = 0; i < NSTREAM; i++) {
		free(tx[i]);
		free(rx[i]);
	}
	kpair_free(&kp);
}

static void
test_rtcp_diff(void)
{
	const struct step steps[] = {
		{ "rtcp", "ours->libsrtp", rtcp_direction, &ours_sends },
		{ "rtcp", "libsrtp->ours", rtcp_direction, &libsrtp_sends },
	};

	each_arch_profile(steps, 2);
}

/* ---- SRTCP with E = 0 against a libsrtp2 session whose RTCP policy is
 * authentication only (what the reference backend cannot do per packet) ---- */

#define NPKT_AUTH_ONLY 2000u

static srtp_t
raw_session(const struct perc_profile *p, const uint8_t *mk, const uint8_t *ms,
	    srtp_ssrc_type_t dir)
{
	srtp_policy_t pol;
	uint8_t key[SRTP_MAX_KEY_LEN];
	srtp_t s = NULL;

	memset(&pol, 0, sizeof(pol));
	switch (p->id) {
	case PERC_AES128_CM_SHA1_80:
		srtp_crypto_policy_set_rtp_default(&pol.rtp);
		srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
		break;
	case PERC_AES128_CM_SHA1_32:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol.rtp);
		srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
		break;
	case PERC_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
		break;
	default:
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol.rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol.rtcp);
		break;
	}
	pol.rtcp.sec_serv = sec_serv_auth;
	memcpy(key, mk, p->key_len);
	memcpy(key + p->key_len, ms, p->salt_len);
	pol.key = key;
	pol.ssrc.type = dir;
	pol.window_size = WIN;
	CHECK_EQ(srtp_create(&s, &pol), srtp_err_status_ok);
	return s;
}

static void
rtcp_auth_only(struct perc_engine *e, const struct perc_profile *p, void *arg __attribute__((unused)))
{
	struct perc_stream *tx[NSTREAM], *rx[NSTREAM];
	uint32_t ssrc[NSTREAM];
	uint8_t mk[32], ms[14], plain[BUFSZ], ours[BUFSZ], theirs[BUFSZ], out[BUFSZ];
	struct perc_key *k;
	srtp_t stx, srx;
	struct perc_op o, r;

	fill(mk, sizeof(mk));
	fill(ms, sizeof(ms));
	k = key_new(e, p, mk, ms);
	stx = raw_session(p, mk, ms, ssrc_any_outbound);
	srx = raw_session(p, mk, ms, ssrc_any_inbound);
	for (unsigned i = 0; i < NSTREAM; i++) {
		ssrc[i] = ((uint32_t)t_rand(&rng) & ~3u) | i;
		tx[i] = stream_new();
		tx[i]->rtcp_next = 1;
		rx[i] = stream_new();
	}
	for (unsigned i = 0; i < NPKT_AUTH_ONLY && stx != NULL && srx != NULL; i++) {
		unsigned si = rnd(NSTREAM);
		uint32_t plen = gen_rtcp(plain, ssrc[si]);
		int n = (int)plen;

		CHECK_EQ(op_run(e, &o, k, tx[si], PERC_OP_RTCP_PROTECT, plain, ours, plen, BUFSZ,
				PERC_OPF_RTCP_AUTH_ONLY), PERC_R_OK);
		CHECK_EQ(o.encrypted, 0);
		memcpy(theirs, plain, plen);
		CHECK_EQ(srtp_protect_rtcp(stx, theirs, &n), srtp_err_status_ok);
		CHECK_EQ(o.len, (uint32_t)n);
		CHECK(memcmp(ours, theirs, o.len) == 0);
		/* each receives the other's packet */
		CHECK_EQ(op_run(e, &r, k, rx[si], PERC_OP_RTCP_UNPROTECT, theirs, out, (uint32_t)n,
				BUFSZ, 0), PERC_R_OK);
		CHECK_EQ(r.len, plen);
		CHECK_EQ(r.encrypted, 0);
		CHECK_EQ(r.index, o.index);
		CHECK(memcmp(out, plain, plen) == 0);
		n = (int)o.len;
		CHECK_EQ(srtp_unprotect_rtcp(srx, ours, &n), srtp_err_status_ok);
		CHECK_EQ((uint32_t)n, plen);
		CHECK(memcmp(ours, plain, plen) == 0);
	}
	for (unsigned i = 0; i < NSTREAM; i++) {
		free(tx[i]);
		free(rx[i]);
	}
	if (stx != NULL)
		srtp_dealloc(stx);
	if (srx != NULL)
		srtp_dealloc(srx);
	key_free(k);
}

static void
test_rtcp_auth_only(void)
{
	const struct step steps[] = { { "rtcp E=0", NULL, rtcp_auth_only, NULL } };

	each_arch_profile(steps, 1);
}

/* ---- replays and packets older than the window ---- */

#define NREPLAY 1200u

static uint8_t (*g_wire)[BUFSZ]; /* NREPLAY packets */
static uint32_t g_wlen[NREPLAY];

/* g_wire[i] into our receiver (stream rx) and into libsrtp2's */
static void
deliver_at(int line, struct perc_engine *e, const struct kpair *kp, struct perc_stream *rx,
	   uint8_t type, unsigned i, int want_ours, int want_ref)
{
	uint8_t out[BUFSZ];
	struct perc_op o;
	char m[96];
	int a = op_run(e, &o, kp->k, rx, type, g_wire[i], out, g_wlen[i], BUFSZ, 0);
	int b = op_run(g_ref, &o, kp->r, NULL, type, g_wire[i], out, g_wlen[i], BUFSZ, 0);

	if (a != want_ours) {
		snprintf(m, sizeof(m), "packet %u: ours says %s, want %s", i, perc_reason_name(a),
			 perc_reason_name(want_ours));
		fail_at(line, m);
	}
	if (b != want_ref) {
		snprintf(m, sizeof(m), "packet %u: libsrtp2 says %s, want %s", i,
			 perc_reason_name(b), perc_reason_name(want_ref));
		fail_at(line, m);
	}
}

#define DELIVER(type, i, wo, wr) deliver_at(__LINE__, e, &kp, rx, (type), (i), (wo), (wr))

static void
rtp_replay(struct perc_engine *e, const struct perc_profile *p, void *arg __attribute__((unused)))
{
	struct perc_stream *tx = stream_new(), *rx = stream_new();
	uint8_t plain[BUFSZ], out[BUFSZ];
	uint32_t ssrc = (uint32_t)t_rand(&rng), plen;
	uint16_t seq0 = (uint16_t)(65000 + rnd(500));
	struct kpair kp;
	struct perc_op o, r;
	/* held back: top - index = 1199 (too old), 1024 (too old), 1023 (the
	 * window's oldest slot: accepted) */
	const unsigned hold[] = { 0, NREPLAY - 1 - WIN, NREPLAY - WIN };
	/* then the same packet again: newest, that oldest slot, two inside */
	const unsigned again[] = { NREPLAY - 1, NREPLAY - WIN, 700, NREPLAY - 2 };

	kpair_new(&kp, e, p);
	for (unsigned i = 0; i < NREPLAY; i++) {
		plen = gen_rtp(plain, ssrc, (uint16_t)(seq0 + i), 100);
		CHECK_EQ(op_run(e, &o, kp.k, tx, PERC_OP_RTP_PROTECT, plain, g_wire[i], plen,
				BUFSZ, 0), PERC_R_OK);
		CHECK_EQ(op_run(g_ref, &r, kp.r, NULL, PERC_OP_RTP_PROTECT, plain, out, plen,
				BUFSZ, 0), PERC_R_OK);
		CHECK(memcmp(out, g_wire[i], o.len) == 0);
		g_wlen[i] = o.len;
		if (i == NREPLAY - 1 || i == 600) {
			/* protecting a SEQ again: refused by both senders */
			CHECK_EQ(op_run(e, &o, kp.k, tx, PERC_OP_RTP_PROTECT, plain, out, plen,
					BUFSZ, 0), PERC_R_REPLAY);
			CHECK_EQ(op_run(g_ref, &r, kp.r, NULL, PERC_OP_RTP_PROTECT, plain, out,
					plen, BUFSZ, 0), PERC_R_REPLAY);
		}
	}
	/* a SEQ more than the window behind the sender's highest */
	plen = gen_rtp(plain, ssrc, (uint16_t)(seq0 + NREPLAY - 1 - WIN), 100);
	CHECK_EQ(op_run(e, &o, kp.k, tx, PERC_OP_RTP_PROTECT, plain, out, plen, BUFSZ, 0),
		 PERC_R_TOO_OLD);
	CHECK_EQ(op_run(g_ref, &r, kp.r, NULL, PERC_OP_RTP_PROTECT, plain, out, plen, BUFSZ,
			0), PERC_R_TOO_OLD);

	for (unsigned i = 0; i < NREPLAY; i++)
		if (i != hold[0] && i != hold[1] && i != hold[2])
			DELIVER(PERC_OP_RTP_UNPROTECT, i, PERC_R_OK, PERC_R_OK);
	DELIVER(PERC_OP_RTP_UNPROTECT, hold[0], PERC_R_TOO_OLD, PERC_R_TOO_OLD);
	DELIVER(PERC_OP_RTP_UNPROTECT, hold[1], PERC_R_TOO_OLD, PERC_R_TOO_OLD);
	DELIVER(PERC_OP_RTP_UNPROTECT, hold[2], PERC_R_OK, PERC_R_OK);
	for (unsigned h = 0; h < 4; h++)
		DELIVER(PERC_OP_RTP_UNPROTECT, again[h], PERC_R_REPLAY, PERC_R_REPLAY);
	free(tx);
	free(rx);
	kpair_free(&kp);
}

static void
rtcp_replay(struct perc_engine *e, const struct perc_profile *p, void *arg __attribute__((unused)))
{
	struct perc_stream *tx = stream_new(), *rx = stream_new();
	uint8_t plain[BUFSZ], out[BUFSZ];
	uint32_t ssrc = (uint32_t)t_rand(&rng), plen;
	struct kpair kp;
	struct perc_op o, r;
	/* held back, by distance from the top (NREPLAY - 1): 1199 both too
	 * old; 1024 ours too old; 1023 ours ok, libsrtp2 too old; 128
	 * libsrtp2 too old; 127 both accept */
	const unsigned hold[] = { 0, NREPLAY - 1 - WIN, NREPLAY - WIN,
				  NREPLAY - 1 - REF_RTCP_WIN, NREPLAY - REF_RTCP_WIN };
	const int want_ours[] = { PERC_R_TOO_OLD, PERC_R_TOO_OLD, PERC_R_OK, PERC_R_OK,
				  PERC_R_OK };
	const int want_ref[] = { PERC_R_TOO_OLD, PERC_R_TOO_OLD, PERC_R_TOO_OLD, PERC_R_TOO_OLD,
				 PERC_R_OK };
	const unsigned again[] = { NREPLAY - 1, NREPLAY - 2, NREPLAY - REF_RTCP_WIN };

	kpair_new(&kp, e, p);
	tx->rtcp_next = 1;
	for (unsigned i = 0; i < NREPLAY; i++) {
		plen = gen_rtcp(plain, ssrc);
		CHECK_EQ(op_run(e, &o, kp.k, tx, PERC_OP_RTCP_PROTECT, plain, g_wire[i], plen,
				BUFSZ, 0), PERC_R_OK);
		CHECK_EQ(op_run(g_ref, &r, kp.r, NULL, PERC_OP_RTCP_PROTECT, plain, out, plen,
				BUFSZ, 0), PERC_R_OK);
		CHECK(memcmp(out, g_wire[i], o.len) == 0);
		g_wlen[i] = o.len;
	}
	for (unsigned i = 0; i < NREPLAY; i++) {
		bool held = false;

		for (unsigned h = 0; h < 5; h++)
			held |= i == hold[h];
		if (!held)
			DELIVER(PERC_OP_RTCP_UNPROTECT, i, PERC_R_OK, PERC_R_OK);
	}
	for (unsigned h = 0; h < 5; h++)
		DELIVER(PERC_OP_RTCP_UNPROTECT, hold[h], want_ours[h], want_ref[h]);
	for (unsigned h = 0; h < 3; h++)
		DELIVER(PERC_OP_RTCP_UNPROTECT, again[h], PERC_R_REPLAY, PERC_R_REPLAY);
	free(tx);
	free(rx);
	kpair_free(&kp);
}

static void
test_replay(void)
{
	const struct step steps[] = {
		{ "rtp replay", NULL, rtp_replay, NULL },
		{ "rtcp replay", NULL, rtcp_replay, NULL },
	};

	g_wire = malloc(NREPLAY * sizeof(*g_wire));
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_wire);
	each_arch_profile(steps, 2);
	free(g_wire);
}

/* ---- one flipped bit ---- */

#define NFLIP 400u

/*
 * What a receiver must say about an RTP packet with one bit flipped:
 * MALFORMED when the header no longer fits (version bits, or CC / X / the
 * extension length now claiming more than the packet holds before the tag);
 * REPLAY or TOO_OLD when a flipped SEQ bit lands on an index already seen
 * or behind the window (the replay check comes before the tag check);
 * AUTH otherwise.
 */
static int
rtp_flip_expect(const uint8_t *pkt, uint32_t len, uint32_t tag, const struct perc_stream *s)
{
	uint32_t h = perc_rtp_hdr_len(pkt, len);
	uint64_t index;
	int r;

	if (h == 0 || len < h + tag)
		return PERC_R_MALFORMED;
	if (!perc_rtp_index_guess(&s->rtp, s->roc_init, (uint16_t)(pkt[2] << 8 | pkt[3]), &index))
		return PERC_R_TOO_OLD;
	r = perc_replay_check(&s->rtp, index);
	return r != PERC_R_OK ? r : PERC_R_AUTH;
}

static void
rtp_flips(struct perc_engine *e, const struct perc_profile *p, void *arg)
{
	unsigned *seen = arg;
	struct perc_stream *tx = stream_new(), *rx = stream_new();
	uint8_t plain[BUFSZ], wire[BUFSZ], bad[BUFSZ], out[BUFSZ];
	uint32_t ssrc = (uint32_t)t_rand(&rng), tag = p->rtp_tag_len;
	uint16_t seq = (uint16_t)(65300 + rnd(200));
	struct kpair kp;
	struct perc_op o, r;

	kpair_new(&kp, e, p);
	for (unsigned i = 0; i < NFLIP; i++) {
		uint32_t plen = gen_rtp(plain, ssrc, seq, rnd(4) ? 64 : MAXPAY), len, h, bit;
		unsigned region;
		int want;

		seq = (uint16_t)(seq + 1 + (rnd(8) == 0 ? rnd(3) : 0));
		CHECK_EQ(op_run(e, &o, kp.k, tx, PERC_OP_RTP_PROTECT, plain, wire, plen, BUFSZ, 0),
			 PERC_R_OK);
		len = o.len;
		h = o.hdr_len;
		region = rnd(3);
		if (region == 1 && len == h + tag)
			region = 2;
		bit = region == 0 ? rnd(h * 8) :
		      region == 1 ? h * 8 + rnd((len - h - tag) * 8) :
				    (len - tag) * 8 + rnd(tag * 8);
		memcpy(bad, wire, len);
		bad[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
		want = rtp_flip_expect(bad, len, tag, rx);
		seen[want]++;
		ctx_bit(bit);
		CHECK_EQ(op_run(e, &o, kp.k, rx, PERC_OP_RTP_UNPROTECT, bad, out, len, BUFSZ, 0),
			 want);
		CHECK_EQ(op_run(g_ref, &r, kp.r, NULL, PERC_OP_RTP_UNPROTECT, bad, out, len, BUFSZ,
				0), want);
		/* the packet as sent still goes through on both */
		CHECK_EQ(op_run(e, &o, kp.k, rx, PERC_OP_RTP_UNPROTECT, wire, out, len, BUFSZ, 0),
			 PERC_R_OK);
		CHECK_EQ(op_run(g_ref, &r, kp.r, NULL, PERC_OP_RTP_UNPROTECT, wire, out, len, BUFSZ,
				0), PERC_R_OK);
		CHECK(memcmp(out, plain, plen) == 0);
	}
	free(tx);
	free(rx);
	kpair_free(&kp);
}

/* SRTCP: MALFORMED only for the version bits (nothing else is parsed);
 * a flip in the E ‖ index word changes the index, which may then be a
 * replay or too old for one window and not the other. */
static int
rtcp_flip_expect(const uint8_t *pkt, uint32_t len, const struct perc_profile *p, uint32_t top,
		 uint32_t win, const struct perc_stream *s)
{
	uint32_t eword = get32(pkt + (p->aead ? len - 4 : len - p->rtcp_tag_len - 4));
	uint32_t index = eword & 0x7fffffff;

	if ((pkt[0] & 0xc0) != 0x80)
		return PERC_R_MALFORMED;
	if (s != NULL) {
		int r = perc_replay_check(&s->rtcp, index);

		return r != PERC_R_OK ? r : PERC_R_AUTH;
	}
	/* libsrtp2 refuses AES-CM SRTCP with E = 0 on an encrypting session */
	if (!p->aead && !(eword >> 31))
		return PERC_R_PROFILE;
	/* libsrtp2: indices 1..top were all delivered */
	if (index > top)
		return PERC_R_AUTH;
	if (top - index >= win)
		return PERC_R_TOO_OLD;
	return index == 0 ? PERC_R_AUTH : PERC_R_REPLAY;
}

static void
rtcp_flips(struct perc_engine *e, const struct perc_profile *p, void *arg)
{
	unsigned *seen = arg;
	struct perc_stream *tx = stream_new(), *rx = stream_new();
	uint8_t plain[BUFSZ], wire[BUFSZ], bad[BUFSZ], out[BUFSZ];
	uint32_t ssrc = (uint32_t)t_rand(&rng);
	struct kpair kp;
	struct perc_op o, r;

	kpair_new(&kp, e, p);
	tx->rtcp_next = 1;
	for (unsigned i = 0; i < NFLIP; i++) {
		uint32_t plen = gen_rtcp(plain, ssrc), len, bit, top = i;
		bool auth_only = p->aead && rnd(4) == 0; /* E = 0: see test_rtcp_diff */
		int want;

		CHECK_EQ(op_run(e, &o, kp.k, tx, PERC_OP_RTCP_PROTECT, plain, wire, plen, BUFSZ,
				auth_only ? PERC_OPF_RTCP_AUTH_ONLY : 0), PERC_R_OK);
		len = o.len;
		bit = rnd(len * 8);
		memcpy(bad, wire, len);
		bad[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
		ctx_bit(bit);
		want = rtcp_flip_expect(bad, len, p, top, WIN, rx);
		seen[want]++;
		CHECK_EQ(op_run(e, &o, kp.k, rx, PERC_OP_RTCP_UNPROTECT, bad, out, len, BUFSZ, 0),
			 want);
		want = rtcp_flip_expect(bad, len, p, top, REF_RTCP_WIN, NULL);
		CHECK_EQ(op_run(g_ref, &r, kp.r, NULL, PERC_OP_RTCP_UNPROTECT, bad, out, len, BUFSZ,
				0), want);
		CHECK_EQ(op_run(e, &o, kp.k, rx, PERC_OP_RTCP_UNPROTECT, wire, out, len, BUFSZ, 0),
			 PERC_R_OK);
		CHECK_EQ(op_run(g_ref, &r, kp.r, NULL, PERC_OP_RTCP_UNPROTECT, wire, out, len,
				BUFSZ, 0), PERC_R_OK);
		CHECK(memcmp(out, plain, plen) == 0);
	}
	free(tx);
	free(rx);
	kpair_free(&kp);
}

static void
test_flips(void)
{
	unsigned seen[PERC_R__COUNT] = { 0 }, seen_c[PERC_R__COUNT] = { 0 };
	const struct step steps[] = {
		{ "rtp flip", NULL, rtp_flips, seen },
		{ "rtcp flip", NULL, rtcp_flips, seen_c },
	};

	each_arch_profile(steps, 2);
	/* every kind of outcome actually happened */
	CU_ASSERT(seen[PERC_R_AUTH] > 0 && seen[PERC_R_MALFORMED] > 0 && seen[PERC_R_REPLAY] > 0);
	CU_ASSERT(seen_c[PERC_R_AUTH] > 0 && seen_c[PERC_R_MALFORMED] > 0);
	printf("\n    rtp flips: auth %u malformed %u replay %u too_old %u; "
	       "srtcp flips (ours): auth %u malformed %u replay %u too_old %u\n    ",
	       seen[PERC_R_AUTH], seen[PERC_R_MALFORMED], seen[PERC_R_REPLAY], seen[PERC_R_TOO_OLD],
	       seen_c[PERC_R_AUTH], seen_c[PERC_R_MALFORMED], seen_c[PERC_R_REPLAY],
	       seen_c[PERC_R_TOO_OLD]);
}

/* ---- PERC_OPF_INDEX: a caller-given ROC on both engines ---- */

static void
index_run(struct perc_engine *e, const struct perc_profile *p, void *arg __attribute__((unused)))
{
	uint8_t plain[BUFSZ], ours[BUFSZ], ref[BUFSZ], out[BUFSZ];
	uint32_t ssrc = (uint32_t)t_rand(&rng), roc = 5 + rnd(1000), plen;
	uint16_t seq = (uint16_t)(65400 + rnd(100));
	struct perc_stream *tx = stream_new();
	struct kpair kp;
	struct perc_op o, r;

	kpair_new(&kp, e, p);
	for (unsigned i = 0; i < 300; i++, seq++) {
		uint64_t index = ((uint64_t)roc << 16) | seq;

		if (seq == 65535)
			roc++;
		plen = gen_rtp(plain, ssrc, seq, 200);
		CHECK_EQ(op_run_index(e, &o, kp.k, PERC_OP_RTP_PROTECT, plain, ours, plen, index),
			 PERC_R_OK);
		CHECK_EQ(op_run_index(g_ref, &r, kp.r, PERC_OP_RTP_PROTECT, plain, ref, plen,
				      index), PERC_R_OK);
		CHECK_EQ(o.index, index);
		CHECK_EQ(r.index, index);
		CHECK_EQ(r.len, o.len);
		CHECK(memcmp(ours, ref, o.len) == 0);
		CHECK_EQ(op_run_index(g_ref, &r, kp.r, PERC_OP_RTP_UNPROTECT, ours, out, o.len,
				      index), PERC_R_OK);
		CHECK_EQ(r.len, plen);
		CHECK(memcmp(out, plain, plen) == 0);
		CHECK_EQ(op_run_index(e, &r, kp.k, PERC_OP_RTP_UNPROTECT, ref, out, o.len, index),
			 PERC_R_OK);
		CHECK(memcmp(out, plain, plen) == 0);
	}
	/* libsrtp2 goes on from the ROC it was given, without the flag */
	tx->roc_init = roc;
	plen = gen_rtp(plain, ssrc, seq, 200);
	CHECK_EQ(op_run(e, &o, kp.k, tx, PERC_OP_RTP_PROTECT, plain, ours, plen, BUFSZ, 0),
		 PERC_R_OK);
	CHECK_EQ(op_run(g_ref, &r, kp.r, NULL, PERC_OP_RTP_PROTECT, plain, ref, plen, BUFSZ, 0),
		 PERC_R_OK);
	CHECK_EQ(r.index, ((uint64_t)roc << 16) | seq);
	CHECK(o.len == r.len && memcmp(ours, ref, o.len) == 0);
	/* a ROC far behind what libsrtp2 holds: refused, not silently moved */
	plen = gen_rtp(plain, ssrc, (uint16_t)(seq + 100), 200);
	CHECK_EQ(op_run_index(g_ref, &r, kp.r, PERC_OP_RTP_PROTECT, plain, ref, plen,
			      ((uint64_t)(roc - 1) << 16) | (uint16_t)(seq + 100)), PERC_R_TOO_OLD);
	CHECK_EQ(op_run_index(g_ref, &r, kp.r, PERC_OP_RTP_PROTECT, plain, ref, plen,
			      (uint16_t)(seq + 100)), PERC_R_TOO_OLD);
	/* libsrtp2 numbers SRTCP itself */
	plen = gen_rtcp(plain, ssrc);
	CHECK_EQ(op_run_index(g_ref, &r, kp.r, PERC_OP_RTCP_PROTECT, plain, ref, plen, 7),
		 PERC_R_ENGINE);
	free(tx);
	kpair_free(&kp);
}

static void
test_index(void)
{
	const struct step steps[] = { { "index", NULL, index_run, NULL } };

	each_arch_profile(steps, 1);
}

/* ---- the same reason from both engines for packets refused before crypto ---- */

static void
reasons_run(struct perc_engine *e, const struct perc_profile *p, void *arg __attribute__((unused)))
{
	uint8_t plain[BUFSZ], wire[BUFSZ], bad[BUFSZ], out[BUFSZ];
	uint32_t ssrc = (uint32_t)t_rand(&rng), plen, wlen, clen, cwlen;
	struct perc_stream *tx = stream_new(), *rx = stream_new();
	struct kpair kp;
	struct perc_op o, r;
	struct {
		uint8_t type;
		const uint8_t *src;
		uint32_t len, cap;
		int want;
	} c[16];
	unsigned nc = 0;
	uint8_t rtcp[BUFSZ], rtcpw[BUFSZ];

	kpair_new(&kp, e, p);
	tx->rtcp_next = 1;
	plen = gen_rtp(plain, ssrc, 1000, 100);
	CHECK_EQ(op_run(e, &o, kp.k, tx, PERC_OP_RTP_PROTECT, plain, wire, plen, BUFSZ, 0),
		 PERC_R_OK);
	wlen = o.len;
	clen = gen_rtcp(rtcp, ssrc);
	CHECK_EQ(op_run(e, &o, kp.k, tx, PERC_OP_RTCP_PROTECT, rtcp, rtcpw, clen, BUFSZ, 0),
		 PERC_R_OK);
	cwlen = o.len;
	memcpy(bad, plain, plen);
	bad[0] = (uint8_t)((bad[0] & 0x3f) | 0x40);
#define CASE(t, s_, l, cp, w) c[nc++] = (typeof(c[0])){ (t), (s_), (l), (cp), (w) }
	CASE(PERC_OP_RTP_PROTECT, plain, plen, plen + p->rtp_tag_len - 1, PERC_R_NO_ROOM);
	CASE(PERC_OP_RTP_PROTECT, plain, 11, BUFSZ, PERC_R_MALFORMED);
	CASE(PERC_OP_RTP_PROTECT, bad, plen, BUFSZ, PERC_R_MALFORMED);
	CASE(PERC_OP_RTP_PROTECT, plain, perc_rtp_hdr_len(plain, plen) - 1, BUFSZ,
	     PERC_R_MALFORMED);
	CASE(PERC_OP_RTP_UNPROTECT, wire, wlen, wlen - 1, PERC_R_NO_ROOM);
	CASE(PERC_OP_RTP_UNPROTECT, wire, perc_rtp_hdr_len(wire, wlen) + p->rtp_tag_len - 1, BUFSZ,
	     PERC_R_MALFORMED);
	CASE(PERC_OP_RTP_UNPROTECT, wire, PERC_PKT_MAX + 1, PERC_PKT_MAX + 1, PERC_R_OVERSIZED);
	CASE(PERC_OP_RTCP_PROTECT, rtcp, clen, clen + 4 + p->rtcp_tag_len - 1, PERC_R_NO_ROOM);
	CASE(PERC_OP_RTCP_PROTECT, rtcp, 7, BUFSZ, PERC_R_MALFORMED);
	CASE(PERC_OP_RTCP_UNPROTECT, rtcpw, cwlen, cwlen - 1, PERC_R_NO_ROOM);
	CASE(PERC_OP_RTCP_UNPROTECT, rtcpw, 8 + 4 + p->rtcp_tag_len - 1, BUFSZ, PERC_R_MALFORMED);
	CASE(9, plain, plen, BUFSZ, PERC_R_MALFORMED);
#undef CASE
	for (unsigned i = 0; i < nc; i++) {
		bool tx_op = c[i].type == PERC_OP_RTP_PROTECT || c[i].type == PERC_OP_RTCP_PROTECT;

		snprintf(g_ctx, sizeof(g_ctx), "%s case %u", g_base, i);
		CHECK_EQ(op_run(e, &o, kp.k, tx_op ? tx : rx, c[i].type, c[i].src, out, c[i].len,
				c[i].cap, 0), c[i].want);
		CHECK_EQ(op_run(g_ref, &r, kp.r, NULL, c[i].type, c[i].src, out, c[i].len, c[i].cap,
				0), c[i].want);
	}
	/* each engine refuses the other's key */
	snprintf(g_ctx, sizeof(g_ctx), "%s key", g_base);
	CHECK_EQ(op_run(e, &o, kp.r, tx, PERC_OP_RTP_PROTECT, plain, out, plen, BUFSZ, 0),
		 PERC_R_KEY);
	CHECK_EQ(op_run(g_ref, &r, kp.k, NULL, PERC_OP_RTP_PROTECT, plain, out, plen, BUFSZ, 0),
		 PERC_R_KEY);
	/* and after all that, the good packets still go through both */
	CHECK_EQ(op_run(e, &o, kp.k, rx, PERC_OP_RTP_UNPROTECT, wire, out, wlen, BUFSZ, 0),
		 PERC_R_OK);
	CHECK_EQ(op_run(g_ref, &r, kp.r, NULL, PERC_OP_RTP_UNPROTECT, wire, out, wlen, BUFSZ, 0),
		 PERC_R_OK);
	CHECK_EQ(op_run(e, &o, kp.k, rx, PERC_OP_RTCP_UNPROTECT, rtcpw, out, cwlen, BUFSZ, 0),
		 PERC_R_OK);
	CHECK_EQ(op_run(g_ref, &r, kp.r, NULL, PERC_OP_RTCP_UNPROTECT, rtcpw, out, cwlen, BUFSZ,
			0), PERC_R_OK);
	free(tx);
	free(rx);
	kpair_free(&kp);
}

static void
test_reasons(void)
{
	const struct step steps[] = { { "reasons", NULL, reasons_run, NULL } };

	each_arch_profile(steps, 1);
}

/* ---- bursts against single ops ---- */

#define BK 6u        /* keys */
#define BS 3u        /* SSRCs per key */
#define NBURST 300u  /* bursts per arch */

struct bstate {
	struct perc_stream *tx[BK][BS];
	struct perc_stream *rx[BK][BS];
};

/* one op as built, before it is copied into the burst and single worlds */
struct bop {
	uint8_t in[BUFSZ];
	uint8_t expect[BUFSZ];   /* plaintext an unprotect must give */
	uint8_t type, flags;
	uint32_t len, cap, elen;
	unsigned ki, si;
	bool inplace, wrong_key, no_stream;
	bool must_fail;          /* a flipped bit in an SRTP/SRTCP packet */
	int want;                /* the reason the injected fault must give, or -1 */
};

struct bworld {
	uint8_t in[PERC_BURST_MAX][BUFSZ];
	uint8_t out[PERC_BURST_MAX][BUFSZ];
	struct perc_op op[PERC_BURST_MAX];
};

static void
bop_to_op(const struct bop *b, struct bworld *w, unsigned i, struct bstate *st,
	  const struct perc_key *const *keys, const struct perc_key *const *refkeys)
{
	struct perc_op *op = &w->op[i];
	bool tx = b->type == PERC_OP_RTP_PROTECT || b->type == PERC_OP_RTCP_PROTECT;

	memcpy(w->in[i], b->in, b->len);
	memset(op, 0, sizeof(*op));
	op->key = b->wrong_key ? refkeys[b->ki] : keys[b->ki];
	op->stream = b->no_stream ? NULL : tx ? st->tx[b->ki][b->si] : st->rx[b->ki][b->si];
	op->type = b->type;
	op->flags = b->flags;
	op->src = w->in[i];
	op->dst = b->inplace ? w->in[i] : w->out[i];
	op->len = b->len;
	op->cap = b->cap;
}

static bool
stream_eq(const struct perc_stream *a, const struct perc_stream *b)
{
	return a->rtp.top == b->rtp.top && a->rtp.seen == b->rtp.seen &&
	       a->rtcp.top == b->rtcp.top && a->rtcp.seen == b->rtcp.seen &&
	       a->rtcp_next == b->rtcp_next && a->roc_init == b->roc_init &&
	       memcmp(a->rtp.bits, b->rtp.bits, a->rtp.nwords * 8) == 0 &&
	       memcmp(a->rtcp.bits, b->rtcp.bits, a->rtcp.nwords * 8) == 0;
}

static void
burst_arch(struct perc_engine *e, unsigned *stats)
{
	static struct bop b[PERC_BURST_MAX];
	static struct bworld wa, wb;
	static uint8_t last_wire[BK][BS][BUFSZ];
	static uint32_t last_len[BK][BS];
	struct perc_key *keys[BK], *refkeys[BK];
	struct bstate sa, sb;
	uint32_t ssrc[BK][BS];
	uint16_t tseq[BK][BS], rseq[BK][BS];
	struct perc_op *ptr[PERC_BURST_MAX];
	struct perc_op tmp;

	for (unsigned ki = 0; ki < BK; ki++) {
		const struct perc_profile *p =
			perc_profile_by_id(prof_ids[ki < NPROF ? ki : rnd(NPROF)]);
		uint8_t mk[32], ms[14];

		fill(mk, sizeof(mk));
		fill(ms, sizeof(ms));
		keys[ki] = key_new(e, p, mk, ms);
		refkeys[ki] = key_new(g_ref, p, mk, ms);
		for (unsigned si = 0; si < BS; si++) {
			ssrc[ki][si] = ((uint32_t)t_rand(&rng) & ~15u) | (ki * BS + si);
			tseq[ki][si] = (uint16_t)(65200 + rnd(300));
			rseq[ki][si] = (uint16_t)(65200 + rnd(300));
			sa.tx[ki][si] = stream_new();
			sa.rx[ki][si] = stream_new();
			sb.tx[ki][si] = stream_new();
			sb.rx[ki][si] = stream_new();
			sa.tx[ki][si]->rtcp_next = sb.tx[ki][si]->rtcp_next = 1 + rnd(100);
			last_len[ki][si] = 0;
		}
	}

	for (unsigned bi = 0; bi < NBURST; bi++) {
		unsigned n = bi < 8 ? 1 + bi * 18 : 1 + rnd(PERC_BURST_MAX), ngood = 0, nbad = 0;
		uint16_t got;

		for (unsigned i = 0; i < n; i++) {
			struct bop *o = &b[i];
			unsigned t = rnd(10), bad = rnd(8) == 0 ? 1 + rnd(7) : 0;
			const struct perc_key *rk;

			o->ki = rnd(BK);
			o->si = rnd(BS);
			rk = refkeys[o->ki];
			o->type = t < 4 ? PERC_OP_RTP_PROTECT : t < 8 ? PERC_OP_RTP_UNPROTECT :
				  t < 9 ? PERC_OP_RTCP_PROTECT : PERC_OP_RTCP_UNPROTECT;
			o->flags = 0;
			o->inplace = rnd(2);
			o->wrong_key = o->no_stream = o->must_fail = false;
			o->want = -1;
			o->elen = 0;
			o->cap = BUFSZ;
			switch (o->type) {
			case PERC_OP_RTP_PROTECT: {
				uint16_t *seq = &tseq[o->ki][o->si];

				/* bad == 1: a SEQ already sent (REPLAY) */
				uint16_t sq = bad == 1 ? (uint16_t)(*seq - 1 - rnd(3)) : (*seq)++;

				o->len = gen_rtp(o->in, ssrc[o->ki][o->si], sq,
						 rnd(4) ? 200 : MAXPAY);
				break;
			}
			case PERC_OP_RTCP_PROTECT:
				o->len = gen_rtcp(o->in, ssrc[o->ki][o->si]);
				if (rnd(4) == 0)
					o->flags = PERC_OPF_RTCP_AUTH_ONLY;
				break;
			case PERC_OP_RTP_UNPROTECT:
				if (bad == 1 && last_len[o->ki][o->si]) {
					/* a replay of the last packet of this stream */
					o->len = last_len[o->ki][o->si];
					memcpy(o->in, last_wire[o->ki][o->si], o->len);
					break;
				}
				o->elen = gen_rtp(o->expect, ssrc[o->ki][o->si],
						  rseq[o->ki][o->si]++, rnd(4) ? 200 : MAXPAY);
				CHECK_EQ(op_run(g_ref, &tmp, rk, NULL, PERC_OP_RTP_PROTECT,
						o->expect, o->in, o->elen, BUFSZ, 0), PERC_R_OK);
				o->len = tmp.len;
				memcpy(last_wire[o->ki][o->si], o->in, o->len);
				last_len[o->ki][o->si] = o->len;
				break;
			default:
				o->elen = gen_rtcp(o->expect, ssrc[o->ki][o->si]);
				CHECK_EQ(op_run(g_ref, &tmp, rk, NULL, PERC_OP_RTCP_PROTECT,
						o->expect, o->in, o->elen, BUFSZ, 0), PERC_R_OK);
				o->len = tmp.len;
				break;
			}
			switch (bad) {
			case 2: /* one flipped bit */
				o->in[rnd(o->len)] ^= (uint8_t)(1u << rnd(8));
				o->must_fail = o->type == PERC_OP_RTP_UNPROTECT ||
					       o->type == PERC_OP_RTCP_UNPROTECT;
				break;
			case 3: /* shorter than any header */
				o->len = rnd(o->type >= PERC_OP_RTCP_PROTECT ? 8 : 12);
				o->want = PERC_R_MALFORMED;
				break;
			case 4: /* no room at dst */
				o->want = PERC_R_NO_ROOM;
				o->inplace = false;
				if (o->type == PERC_OP_RTP_PROTECT)
					o->cap = o->len + keys[o->ki]->tag_rtp - 1;
				else if (o->type == PERC_OP_RTCP_PROTECT)
					o->cap = o->len + keys[o->ki]->tag_rtcp + 3;
				else
					o->cap = o->len - 1;
				break;
			case 5: /* a key of another engine */
				o->wrong_key = true;
				o->want = PERC_R_KEY;
				break;
			case 6: /* no stream and no PERC_OPF_INDEX */
				o->no_stream = true;
				o->want = PERC_R_KEY;
				break;
			case 7: /* not version 2 */
				o->in[0] = (uint8_t)((o->in[0] & 0x3f) | 0x40);
				o->want = PERC_R_MALFORMED;
				break;
			default:
				break;
			}
		}
		for (unsigned i = 0; i < n; i++) {
			bop_to_op(&b[i], &wa, i, &sa, (const struct perc_key *const *)keys,
				  (const struct perc_key *const *)refkeys);
			bop_to_op(&b[i], &wb, i, &sb, (const struct perc_key *const *)keys,
				  (const struct perc_key *const *)refkeys);
			ptr[i] = &wa.op[i];
		}
		got = perc_engine_run(e, ptr, (uint16_t)n);
		for (unsigned i = 0; i < n; i++)
			perc_engine_run1(e, &wb.op[i]);

		/* the good ones first, in their order; the bad ones after, once each */
		for (unsigned i = 0; i < n; i++) {
			struct perc_op *x = &wa.op[i], *y = &wb.op[i];

			CHECK_EQ(x->reason, y->reason);
			if (b[i].want >= 0)
				CHECK_EQ(x->reason, b[i].want);
			if (b[i].must_fail)
				CHECK(x->reason != PERC_R_OK);
			stats[y->reason]++;
			if (y->reason == PERC_R_OK) {
				CHECK(ngood < got && ptr[ngood] == x);
				ngood++;
				CHECK_EQ(x->len, y->len);
				CHECK_EQ(x->index, y->index);
				CHECK_EQ(x->hdr_len, y->hdr_len);
				CHECK_EQ(x->encrypted, y->encrypted);
				CHECK(x->len <= BUFSZ && memcmp(x->dst, y->dst, y->len) == 0);
				if (b[i].elen) {
					CHECK_EQ(y->len, b[i].elen);
					CHECK(memcmp(y->dst, b[i].expect, b[i].elen) == 0);
				}
			} else {
				bool found = false;

				for (unsigned j = got; j < n; j++)
					found |= ptr[j] == x;
				CHECK(found);
				nbad++;
			}
		}
		CHECK_EQ(ngood, got);
		CHECK_EQ(ngood + nbad, n);
		for (unsigned j = got; j < n; j++) {
			CHECK(ptr[j]->reason != PERC_R_OK);
			for (unsigned k = got; k < j; k++)
				CHECK(ptr[k] != ptr[j]);
		}
	}
	for (unsigned ki = 0; ki < BK; ki++) {
		for (unsigned si = 0; si < BS; si++) {
			CHECK(stream_eq(sa.tx[ki][si], sb.tx[ki][si]));
			CHECK(stream_eq(sa.rx[ki][si], sb.rx[ki][si]));
			free(sa.tx[ki][si]);
			free(sa.rx[ki][si]);
			free(sb.tx[ki][si]);
			free(sb.rx[ki][si]);
		}
		key_free(keys[ki]);
		key_free(refkeys[ki]);
	}
}

static void
test_burst(void)
{
	unsigned f0 = g_fail, stats[PERC_R__COUNT] = { 0 };

	for (int a = 0; a < g_narch; a++) {
		struct perc_engine *e = perc_engine_create(g_arch[a]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(e);
		set_ctx("burst", g_arch[a], NULL, NULL);
		burst_arch(e, stats);
		perc_engine_destroy(e);
	}
	printf("\n    burst ops:");
	for (unsigned r = 0; r < PERC_R__COUNT; r++)
		if (stats[r])
			printf(" %s %u", perc_reason_name(r), stats[r]);
	printf("\n    ");
	CU_ASSERT(stats[PERC_R_OK] > 0 && stats[PERC_R_AUTH] > 0 && stats[PERC_R_MALFORMED] > 0 &&
		  stats[PERC_R_REPLAY] > 0 && stats[PERC_R_NO_ROOM] > 0 && stats[PERC_R_KEY] > 0);
	CU_ASSERT_EQUAL(g_fail, f0);
}

int
main(void)
{
	const char *seed = getenv("PERC_TEST_SEED");

	if (seed != NULL)
		rng = strtoull(seed, NULL, 0) | 1;
	g_narch = t_archs(g_arch);
	g_ref = perc_engine_create(PERC_ARCH_LIBSRTP);
	if (g_ref == NULL || g_narch == 0) {
		fprintf(stderr, "no libsrtp2 engine or no ipsec-mb architecture\n");
		return 1;
	}
	printf("seed 0x%llx, archs:", (unsigned long long)rng);
	for (int a = 0; a < g_narch; a++)
		printf(" %s", perc_arch_name(g_arch[a]));
	printf("\n");
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	{
		T_SUITE("diff");

		T_ADD(test_rtp_diff);
		T_ADD(test_rtcp_diff);
		T_ADD(test_rtcp_auth_only);
		T_ADD(test_replay);
		T_ADD(test_index);
		T_ADD(test_reasons);
		T_ADD(test_flips);
		T_ADD(test_burst);
	}
	{
		int rc = t_run();

		perc_engine_destroy(g_ref);
		return rc;
	}
}
