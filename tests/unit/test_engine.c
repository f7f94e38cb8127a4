/* SPDX-License-Identifier: BSD-3-Clause */
/* Replay window, ROC estimation, and the engine's reasons on every arch. */
#include "perc/replay.h"
#include "perc/rtp.h"
#include "testutil.h"

static struct perc_stream *
new_stream(uint32_t window, uint32_t roc)
{
	size_t n = perc_stream_size(window);
	void *mem;

	CU_ASSERT_FATAL(n > 0);
	mem = aligned_alloc(64, (n + 63) & ~(size_t)63);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	return perc_stream_init(mem, window, roc);
}

static void
test_window_sizes(void)
{
	CU_ASSERT_EQUAL(perc_stream_size(32), 0);
	CU_ASSERT_EQUAL(perc_stream_size(63), 0);
	CU_ASSERT_EQUAL(perc_stream_size(32768 + 1), 0);
	CU_ASSERT(perc_stream_size(100) > 0);
	CU_ASSERT(perc_stream_size(64) > 0);
	CU_ASSERT(perc_stream_size(32768) > perc_stream_size(1024));
	void *m = malloc(64);

	CU_ASSERT_PTR_NULL(perc_stream_init(m, 63, 0));
	free(m);
}

/* Window semantics for every allowed size class. */
static void
test_replay_window(void)
{
	static const uint32_t sizes[] = { 64, 100, 128, 1000, 1024, 32768 };

	for (unsigned si = 0; si < 6; si++) {
		uint32_t w = sizes[si];
		struct perc_stream *s = new_stream(w, 0);
		struct perc_replay *r = &s->rtp;

		const uint64_t base = 5000 + 2ull * w;

		CU_ASSERT_EQUAL(perc_replay_check(r, base), PERC_R_OK);
		CU_ASSERT_EQUAL(perc_replay_update(r, base), PERC_R_OK);
		CU_ASSERT_EQUAL(perc_replay_check(r, base), PERC_R_REPLAY);
		CU_ASSERT_EQUAL(perc_replay_update(r, base), PERC_R_REPLAY);
		/* inside the window, behind the top */
		CU_ASSERT_EQUAL(perc_replay_check(r, base - (w - 1)), PERC_R_OK);
		CU_ASSERT_EQUAL(perc_replay_update(r, base - (w - 1)), PERC_R_OK);
		CU_ASSERT_EQUAL(perc_replay_check(r, base - (w - 1)), PERC_R_REPLAY);
		/* exactly one past the window */
		CU_ASSERT_EQUAL(perc_replay_check(r, base - w), PERC_R_TOO_OLD);
		/* slide by less than the window: old marks that stay inside survive,
		 * the new slots are clear */
		CU_ASSERT_EQUAL(perc_replay_update(r, base + w / 2), PERC_R_OK);
		CU_ASSERT_EQUAL(perc_replay_check(r, base), PERC_R_REPLAY);
		CU_ASSERT_EQUAL(perc_replay_check(r, base + 1), PERC_R_OK);
		CU_ASSERT_EQUAL(perc_replay_check(r, base + w / 2 - 1), PERC_R_OK);
		CU_ASSERT_EQUAL(perc_replay_check(r, base - (w - 1)), PERC_R_TOO_OLD);
		/* jump far: everything before is too old, nothing inside marked */
		CU_ASSERT_EQUAL(perc_replay_update(r, 1000000), PERC_R_OK);
		CU_ASSERT_EQUAL(perc_replay_check(r, 1000000 - w), PERC_R_TOO_OLD);
		for (uint32_t i = 1; i < w; i++)
			if (perc_replay_check(r, 1000000 - i) != PERC_R_OK) {
				CU_FAIL("slot not cleared after a jump");
				break;
			}
		/* every index once, in order and shuffled within the window */
		perc_stream_reset(s, 0);
		for (uint64_t i = 0; i < 4 * w; i += 2)
			CU_ASSERT_EQUAL(perc_replay_update(r, i), PERC_R_OK);
		for (uint64_t i = 4 * w - w + 1; i < 4 * w; i += 2)
			CU_ASSERT_EQUAL(perc_replay_update(r, i), PERC_R_OK);
		for (uint64_t i = 4 * w - w + 1; i < 4 * w; i++)
			CU_ASSERT_EQUAL(perc_replay_check(r, i), PERC_R_REPLAY);
		free(s);
	}
}

/* A reference model: a set of seen indices, checked against the bitmap for
 * random walks with jumps forward and back. */
static void
test_replay_model(void)
{
	const uint32_t w = 100; /* not a power of two: bitmap 128 */
	struct perc_stream *s = new_stream(w, 0);
	static uint8_t seen[1 << 16];
	uint64_t rng = 42, top = 0;
	bool any = false;

	memset(seen, 0, sizeof(seen));
	for (int step = 0; step < 200000; step++) {
		uint64_t i = any ? top : 100;
		int64_t d = (int64_t)(t_rand(&rng) % 300) - 200;
		int want, got;

		if ((int64_t)i + d < 0 || i + (uint64_t)d >= sizeof(seen))
			continue;
		i = (uint64_t)((int64_t)i + d);
		if (any && i + w <= top)
			want = PERC_R_TOO_OLD;
		else if (seen[i])
			want = PERC_R_REPLAY;
		else
			want = PERC_R_OK;
		got = perc_replay_check(&s->rtp, i);
		CU_ASSERT_EQUAL(got, want);
		if (got != want)
			break;
		if (want == PERC_R_OK) {
			CU_ASSERT_EQUAL(perc_replay_update(&s->rtp, i), PERC_R_OK);
			seen[i] = 1;
			if (!any || i > top)
				top = i;
			any = true;
		}
	}
	free(s);
}

static void
test_roc_estimate(void)
{
	struct perc_stream *s = new_stream(1024, 7);
	uint64_t idx;

	/* first packet: the configured ROC */
	CU_ASSERT(perc_rtp_index_guess(&s->rtp, s->roc_init, 65530, &idx));
	CU_ASSERT_EQUAL(idx, (7ull << 16) | 65530);
	perc_replay_update(&s->rtp, idx);
	/* forward wrap 65535 -> 0 */
	CU_ASSERT(perc_rtp_index_guess(&s->rtp, s->roc_init, 3, &idx));
	CU_ASSERT_EQUAL(idx, (8ull << 16) | 3);
	perc_replay_update(&s->rtp, idx);
	/* a late packet from before the wrap keeps the old ROC */
	CU_ASSERT(perc_rtp_index_guess(&s->rtp, s->roc_init, 65533, &idx));
	CU_ASSERT_EQUAL(idx, (7ull << 16) | 65533);
	/* s_l >= 32768 and the new SEQ is more than half a space behind */
	perc_stream_reset(s, 1);
	perc_replay_update(&s->rtp, (1ull << 16) | 40000);
	CU_ASSERT(perc_rtp_index_guess(&s->rtp, s->roc_init, 100, &idx));
	CU_ASSERT_EQUAL(idx, (2ull << 16) | 100);
	CU_ASSERT(perc_rtp_index_guess(&s->rtp, s->roc_init, 20000, &idx));
	CU_ASSERT_EQUAL(idx, (1ull << 16) | 20000);
	/* at ROC 0 a SEQ far behind would need ROC -1: refused */
	perc_stream_reset(s, 0);
	perc_replay_update(&s->rtp, 100);
	CU_ASSERT_FALSE(perc_rtp_index_guess(&s->rtp, s->roc_init, 60000, &idx));
	free(s);
}

/* ---- engine reasons, per architecture ---- */

static const uint8_t gcm_key[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t gcm_salt[14] = { 0x51, 0x75, 0x69, 0x64, 0x20, 0x70, 0x72, 0x6f, 0x20, 0x71,
				      0x75, 0x6f, 0x00, 0x00 };
static const uint8_t cm_salt[14] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };

static size_t
make_rtp(uint8_t *p, uint16_t seq, uint32_t ssrc, size_t payload)
{
	size_t h = perc_rtp_write(p, 64, false, 96, seq, 1234, ssrc, NULL, 0);

	for (size_t i = 0; i < payload; i++)
		p[h + i] = (uint8_t)(i * 31 + seq);
	return h + payload;
}

static int
op1(struct perc_engine *e, const struct perc_key *k, struct perc_stream *s, uint8_t type,
    const uint8_t *src, uint8_t *dst, uint32_t *len, uint32_t cap)
{
	struct perc_op op = { .key = k, .stream = s, .src = src, .dst = dst, .len = *len,
			      .cap = cap, .type = type };
	int r = perc_engine_run1(e, &op);

	if (r == PERC_R_OK)
		*len = op.len;
	return r;
}

static void
reasons_for(struct perc_engine *e, uint16_t prof_id)
{
	const struct perc_profile *p = perc_profile_by_id(prof_id);
	struct perc_key *k = aligned_alloc(64, sizeof(*k)), *k2 = aligned_alloc(64, sizeof(*k2));
	struct perc_stream *tx = new_stream(64, 0), *rx = new_stream(64, 0);
	uint8_t pkt[1500], prot[1500], tmp[1500];
	uint32_t len, plen, n;
	uint16_t seq;

	CU_ASSERT_EQUAL_FATAL(perc_key_init(k, e, p, gcm_key, p->aead ? gcm_salt : cm_salt),
			      PERC_R_OK);
	/* same profile, other key: must not authenticate */
	uint8_t other[16];

	memcpy(other, gcm_key, 16);
	other[0] ^= 1;
	CU_ASSERT_EQUAL_FATAL(perc_key_init(k2, e, p, other, p->aead ? gcm_salt : cm_salt),
			      PERC_R_OK);

	len = (uint32_t)make_rtp(pkt, 1000, 0x11223344, 100);
	plen = len;
	CU_ASSERT_EQUAL(op1(e, k, tx, PERC_OP_RTP_PROTECT, pkt, prot, &len, sizeof(prot)), PERC_R_OK);
	CU_ASSERT_EQUAL(len, plen + p->rtp_tag_len);
	/* protecting the same index again would reuse the keystream: refused */
	n = plen;
	CU_ASSERT_EQUAL(op1(e, k, tx, PERC_OP_RTP_PROTECT, pkt, tmp, &n, sizeof(tmp)),
			PERC_R_REPLAY);
	/* receive, then the same packet again */
	n = len;
	CU_ASSERT_EQUAL(op1(e, k, rx, PERC_OP_RTP_UNPROTECT, prot, tmp, &n, sizeof(tmp)), PERC_R_OK);
	CU_ASSERT_EQUAL(n, plen);
	CU_ASSERT_EQUAL(memcmp(tmp, pkt, plen), 0);
	n = len;
	CU_ASSERT_EQUAL(op1(e, k, rx, PERC_OP_RTP_UNPROTECT, prot, tmp, &n, sizeof(tmp)),
			PERC_R_REPLAY);
	/* wrong key: auth, and the window is not touched by a forgery */
	for (seq = 1001; seq < 1001 + 100; seq++) {
		len = (uint32_t)make_rtp(pkt, seq, 0x11223344, 40);
		CU_ASSERT_EQUAL(op1(e, k, tx, PERC_OP_RTP_PROTECT, pkt, prot, &len, sizeof(prot)),
				PERC_R_OK);
	}
	n = len;
	CU_ASSERT_EQUAL(op1(e, k2, rx, PERC_OP_RTP_UNPROTECT, prot, tmp, &n, sizeof(tmp)),
			PERC_R_AUTH);
	n = len;
	CU_ASSERT_EQUAL(op1(e, k, rx, PERC_OP_RTP_UNPROTECT, prot, tmp, &n, sizeof(tmp)), PERC_R_OK);
	/* seq 1000 is now more than 64 behind 1100: too old */
	len = (uint32_t)make_rtp(pkt, 1000, 0x11223344, 40);
	{
		struct perc_op op = { .key = k, .src = pkt, .dst = prot, .len = len, .cap = 1500,
				      .type = PERC_OP_RTP_PROTECT, .flags = PERC_OPF_INDEX };

		CU_ASSERT_EQUAL(perc_engine_run1(e, &op), PERC_R_OK);
		n = op.len;
	}
	CU_ASSERT_EQUAL(op1(e, k, rx, PERC_OP_RTP_UNPROTECT, prot, tmp, &n, sizeof(tmp)),
			PERC_R_TOO_OLD);

	/* every single flipped bit of a fresh packet is refused, and a refused
	 * packet does not consume its index: the true one still passes */
	seq = 2000;
	len = (uint32_t)make_rtp(pkt, seq, 0x11223344, 24);
	CU_ASSERT_EQUAL(op1(e, k, tx, PERC_OP_RTP_PROTECT, pkt, prot, &len, sizeof(prot)), PERC_R_OK);
	for (uint32_t bit = 0; bit < len * 8; bit++) {
		int r;

		memcpy(tmp, prot, len);
		tmp[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		n = len;
		r = op1(e, k, rx, PERC_OP_RTP_UNPROTECT, tmp, tmp, &n, sizeof(tmp));
		/* byte 0 (V, X, CC) can change the header's shape: malformed when it
		 * no longer fits; the SEQ bytes can move the index out of the
		 * window (too old); every other bit must fail authentication */
		if (r == PERC_R_OK) {
			CU_FAIL("flipped bit accepted");
			printf("  bit %u accepted (%s)\n", bit, p->name);
			break;
		}
		if (bit < 8) {
			CU_ASSERT(r == PERC_R_AUTH || r == PERC_R_MALFORMED);
		} else if (bit >= 16 && bit < 32) {
			CU_ASSERT(r == PERC_R_AUTH || r == PERC_R_TOO_OLD);
		} else {
			CU_ASSERT_EQUAL(r, PERC_R_AUTH);
		}
	}
	n = len;
	CU_ASSERT_EQUAL(op1(e, k, rx, PERC_OP_RTP_UNPROTECT, prot, tmp, &n, sizeof(tmp)), PERC_R_OK);

	/* malformed: short, not version 2, shorter than header + tag */
	n = 11;
	CU_ASSERT_EQUAL(op1(e, k, rx, PERC_OP_RTP_UNPROTECT, prot, tmp, &n, sizeof(tmp)),
			PERC_R_MALFORMED);
	memcpy(tmp, prot, len);
	tmp[0] = 0x40;
	n = len;
	CU_ASSERT_EQUAL(op1(e, k, rx, PERC_OP_RTP_UNPROTECT, tmp, tmp, &n, sizeof(tmp)),
			PERC_R_MALFORMED);
	n = 12 + p->rtp_tag_len - 1;
	CU_ASSERT_EQUAL(op1(e, k, rx, PERC_OP_RTP_UNPROTECT, prot, tmp, &n, sizeof(tmp)),
			PERC_R_MALFORMED);
	/* no room for the tag */
	len = (uint32_t)make_rtp(pkt, 3000, 0x11223344, 24);
	n = len;
	CU_ASSERT_EQUAL(op1(e, k, tx, PERC_OP_RTP_PROTECT, pkt, tmp, &n, len + 3), PERC_R_NO_ROOM);
	/* no stream and no explicit index */
	n = len;
	CU_ASSERT_EQUAL(op1(e, k, NULL, PERC_OP_RTP_PROTECT, pkt, tmp, &n, sizeof(tmp)), PERC_R_KEY);

	/* SRTCP: protect twice from one stream gives consecutive indices; replay */
	{
		uint8_t rtcp[64] = { 0x81, 0xc9, 0x00, 0x07, 0xde, 0xad, 0xbe, 0xef };
		uint8_t s1[128], s2[128];
		uint32_t l1 = 32, l2 = 32;

		CU_ASSERT_EQUAL(op1(e, k, tx, PERC_OP_RTCP_PROTECT, rtcp, s1, &l1, sizeof(s1)),
				PERC_R_OK);
		CU_ASSERT_EQUAL(op1(e, k, tx, PERC_OP_RTCP_PROTECT, rtcp, s2, &l2, sizeof(s2)),
				PERC_R_OK);
		CU_ASSERT_EQUAL(l1, 32 + 4 + p->rtcp_tag_len);
		n = l2;
		CU_ASSERT_EQUAL(op1(e, k, rx, PERC_OP_RTCP_UNPROTECT, s2, tmp, &n, sizeof(tmp)),
				PERC_R_OK);
		CU_ASSERT_EQUAL(n, 32);
		CU_ASSERT_EQUAL(memcmp(tmp, rtcp, 32), 0);
		n = l1;
		CU_ASSERT_EQUAL(op1(e, k, rx, PERC_OP_RTCP_UNPROTECT, s1, tmp, &n, sizeof(tmp)),
				PERC_R_OK);
		n = l1;
		CU_ASSERT_EQUAL(op1(e, k, rx, PERC_OP_RTCP_UNPROTECT, s1, tmp, &n, sizeof(tmp)),
				PERC_R_REPLAY);
		/* a fresh index under the wrong key, or with a flipped bit */
		l2 = 32;
		CU_ASSERT_EQUAL(op1(e, k, tx, PERC_OP_RTCP_PROTECT, rtcp, s2, &l2, sizeof(s2)),
				PERC_R_OK);
		n = l2;
		CU_ASSERT_EQUAL(op1(e, k2, rx, PERC_OP_RTCP_UNPROTECT, s2, tmp, &n, sizeof(tmp)),
				PERC_R_AUTH);
		s2[10] ^= 4;
		n = l2;
		CU_ASSERT_EQUAL(op1(e, k, rx, PERC_OP_RTCP_UNPROTECT, s2, tmp, &n, sizeof(tmp)),
				PERC_R_AUTH);
		s2[10] ^= 4;
		n = l2;
		CU_ASSERT_EQUAL(op1(e, k, rx, PERC_OP_RTCP_UNPROTECT, s2, tmp, &n, sizeof(tmp)),
				PERC_R_OK);
		n = 7;
		CU_ASSERT_EQUAL(op1(e, k, rx, PERC_OP_RTCP_UNPROTECT, s2, tmp, &n, sizeof(tmp)),
				PERC_R_MALFORMED);
	}
	perc_key_clear(k);
	perc_key_clear(k2);
	/* a cleared key is zero and refused */
	n = len;
	CU_ASSERT_EQUAL(op1(e, k, tx, PERC_OP_RTP_PROTECT, pkt, tmp, &n, sizeof(tmp)), PERC_R_KEY);
	free(k);
	free(k2);
	free(tx);
	free(rx);
}

static void
test_engine_reasons(void)
{
	enum perc_arch archs[8];
	int n = t_archs(archs);
	static const uint16_t profs[] = { PERC_AES128_CM_SHA1_80, PERC_AES128_CM_SHA1_32,
					  PERC_AEAD_AES_128_GCM };

	for (int i = 0; i < n; i++) {
		struct perc_engine *e = perc_engine_create(archs[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(e);
		for (unsigned j = 0; j < 3; j++)
			reasons_for(e, profs[j]);
		perc_engine_destroy(e);
	}
}

/* A key built for one architecture is refused by another engine: the GCM
 * precomputation differs between them. */
static void
test_key_arch_mismatch(void)
{
	enum perc_arch archs[8];
	int n = t_archs(archs);
	struct perc_key *k = aligned_alloc(64, sizeof(*k));
	uint8_t pkt[128], out[256];
	uint32_t len;

	if (n < 2) {
		free(k);
		return;
	}
	struct perc_engine *a = perc_engine_create(archs[0]), *b = perc_engine_create(archs[1]);

	CU_ASSERT_EQUAL(perc_key_init(k, a, perc_profile_by_id(7), gcm_key, gcm_salt), PERC_R_OK);
	len = (uint32_t)make_rtp(pkt, 1, 2, 10);
	struct perc_op op = { .key = k, .src = pkt, .dst = out, .len = len, .cap = sizeof(out),
			      .type = PERC_OP_RTP_PROTECT, .flags = PERC_OPF_INDEX };

	CU_ASSERT_EQUAL(perc_engine_run1(b, &op), PERC_R_KEY);
	CU_ASSERT_EQUAL(perc_engine_run1(a, &op), PERC_R_OK);
	perc_key_clear(k);
	free(k);
	perc_engine_destroy(a);
	perc_engine_destroy(b);
}

/* A stream's very first burst crossing SEQ 65535 -> 0 gets the same indices
 * as the packets one at a time, for protect and for unprotect; a failed
 * first op leaves no anchor behind. */
static void
test_first_burst_wraps(void)
{
	enum perc_arch archs[8];
	int na = t_archs(archs);

	for (int a = 0; a < na; a++) {
		struct perc_engine *e = perc_engine_create(archs[a]);
		struct perc_key *k = aligned_alloc(64, sizeof(*k));
		struct perc_stream *tx = new_stream(1024, 3), *rx = new_stream(1024, 3);
		static uint8_t src[20][128], dst[20][256], out[20][256];
		struct perc_op op[20], *ops[20];

		CU_ASSERT_EQUAL_FATAL(perc_key_init(k, e, perc_profile_by_id(7), gcm_key, gcm_salt),
				      PERC_R_OK);
		for (int i = 0; i < 20; i++) {
			uint32_t n = (uint32_t)make_rtp(src[i], (uint16_t)(65530 + i), 0xabcd, 30);

			op[i] = (struct perc_op){ .key = k, .stream = tx, .src = src[i], .dst = dst[i],
						  .len = n, .cap = 256, .type = PERC_OP_RTP_PROTECT };
			ops[i] = &op[i];
		}
		CU_ASSERT_EQUAL(perc_engine_run(e, ops, 20), 20);
		for (int i = 0; i < 20; i++)
			CU_ASSERT_EQUAL(op[i].index, (i < 6 ? 3ull << 16 : 4ull << 16) |
							     (uint16_t)(65530 + i));
		/* receiver: a forged first packet must not anchor the rest */
		static uint8_t forged[256];

		memcpy(forged, dst[0], op[0].len);
		forged[20] ^= 1;
		struct perc_op f = { .key = k, .stream = rx, .src = forged, .dst = forged,
				     .len = op[0].len, .cap = 256, .type = PERC_OP_RTP_UNPROTECT };
		struct perc_op *fo[1] = { &f };

		CU_ASSERT_EQUAL(perc_engine_run(e, fo, 1), 0);
		CU_ASSERT_EQUAL(f.reason, PERC_R_AUTH);
		CU_ASSERT_EQUAL(rx->rtp.hinted, 0);
		for (int i = 0; i < 20; i++) {
			uint32_t len = op[i].len;

			op[i] = (struct perc_op){ .key = k, .stream = rx, .src = dst[i], .dst = out[i],
						  .len = len, .cap = 256, .type = PERC_OP_RTP_UNPROTECT };
			ops[i] = &op[i];
		}
		CU_ASSERT_EQUAL(perc_engine_run(e, ops, 20), 20);
		CU_ASSERT_EQUAL(rx->rtp.top, (4ull << 16) | 13);
		perc_key_clear(k);
		free(k);
		free(tx);
		free(rx);
		perc_engine_destroy(e);
	}
}

static void
test_arch_names(void)
{
	CU_ASSERT_EQUAL(perc_arch_parse("avx512"), PERC_ARCH_AVX512);
	CU_ASSERT_EQUAL(perc_arch_parse("libsrtp"), PERC_ARCH_LIBSRTP);
	CU_ASSERT_EQUAL(perc_arch_parse("neon"), -1);
	CU_ASSERT_STRING_EQUAL(perc_arch_name(PERC_ARCH_SSE), "sse");
	CU_ASSERT_PTR_NULL(perc_engine_create((enum perc_arch)99));
}

int
main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	T_SUITE("engine");
	T_ADD(test_window_sizes);
	T_ADD(test_replay_window);
	T_ADD(test_replay_model);
	T_ADD(test_roc_estimate);
	T_ADD(test_engine_reasons);
	T_ADD(test_key_arch_mismatch);
	T_ADD(test_first_burst_wraps);
	T_ADD(test_arch_names);
	return t_run();
}
