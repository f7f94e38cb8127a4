/* SPDX-License-Identifier: BSD-3-Clause */
/* RFC 8723 double SRTP: round trips, relays with every combination of
 * changes, chains of distributors, OHB rules and malformed OHBs. */
#include "perc/double.h"
#include "perc/rtp.h"
#include "testutil.h"

#define CAP 2048

struct fixture {
	const struct perc_profile *p;
	struct perc_engine *e;
	struct perc_double_key *snd;   /* sender: inner ‖ outer(A) */
	struct perc_double_key *rcv;   /* receiver: inner ‖ outer(B) */
	struct perc_key *hop[3];       /* A (sender leg), B, C (outer keys) */
};

static void
fill(uint8_t *b, size_t n, uint64_t *rng)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)t_rand(rng);
}

static void
fixture_init(struct fixture *f, enum perc_arch arch, uint16_t prof, uint64_t *rng)
{
	const struct perc_profile *layer;
	uint8_t mk[64], ms[24], hk[3][32], hs[3][12];

	f->p = perc_profile_by_id(prof);
	layer = perc_profile_layer(f->p);
	f->e = perc_engine_create(arch);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->e);
	fill(mk, sizeof(mk), rng);
	fill(ms, sizeof(ms), rng);
	fill(&hk[0][0], sizeof(hk), rng);
	fill(&hs[0][0], sizeof(hs), rng);
	f->snd = aligned_alloc(64, sizeof(*f->snd));
	f->rcv = aligned_alloc(64, sizeof(*f->rcv));
	CU_ASSERT_EQUAL_FATAL(perc_double_key_init(f->snd, f->e, f->p, mk, ms), PERC_R_OK);
	CU_ASSERT_EQUAL_FATAL(perc_double_key_init(f->rcv, f->e, f->p, mk, ms), PERC_R_OK);
	for (int i = 0; i < 3; i++) {
		f->hop[i] = aligned_alloc(64, sizeof(struct perc_key));
		CU_ASSERT_EQUAL_FATAL(perc_key_init(f->hop[i], f->e, layer, hk[i], hs[i]), PERC_R_OK);
	}
	/* sender's outer layer = hop A; receiver's outer layer = hop B */
	perc_key_clear(&f->snd->outer);
	memcpy(&f->snd->outer, f->hop[0], sizeof(struct perc_key));
	perc_key_clear(&f->rcv->outer);
	memcpy(&f->rcv->outer, f->hop[1], sizeof(struct perc_key));
}

static void
fixture_fini(struct fixture *f)
{
	perc_double_key_clear(f->snd);
	perc_double_key_clear(f->rcv);
	free(f->snd);
	free(f->rcv);
	for (int i = 0; i < 3; i++) {
		perc_key_clear(f->hop[i]);
		free(f->hop[i]);
	}
	perc_engine_destroy(f->e);
}

/* A random plain RTP packet: CSRCs, one- or two-byte extension, padding. */
static uint32_t
random_rtp(uint8_t *p, uint64_t *rng, uint16_t seq)
{
	uint8_t cc = (uint8_t)(t_rand(rng) % 4);
	uint32_t csrc[4] = { 1, 2, 3, 4 };
	uint32_t n = (uint32_t)perc_rtp_write(p, CAP, t_rand(rng) & 1, (uint8_t)(t_rand(rng) % 128),
					      seq, (uint32_t)t_rand(rng), 0xcafe0000u | (seq & 3),
					      csrc, cc);
	uint32_t payload = (uint32_t)(t_rand(rng) % 300);

	if (t_rand(rng) & 1) {
		uint16_t words = (uint16_t)(1 + t_rand(rng) % 3);
		bool two = t_rand(rng) & 1;

		p[0] |= 0x10;
		p[n++] = two ? 0x10 : 0xbe;
		p[n++] = two ? 0x00 : 0xde;
		p[n++] = 0;
		p[n++] = (uint8_t)words;
		memset(p + n, 0, 4u * words);
		if (two) {
			p[n] = 5;
			p[n + 1] = 2;
		} else {
			p[n] = 0x51; /* id 5, 2 bytes */
		}
		p[n + 2] = 0xab;
		n += 4u * words;
	}
	fill(p + n, payload, rng);
	n += payload;
	if (t_rand(rng) & 1) {
		uint8_t pad = (uint8_t)(1 + t_rand(rng) % 8);

		p[0] |= 0x20;
		memset(p + n, 0, pad - 1u);
		n += pad;
		p[n - 1] = pad;
	}
	return n;
}

static void
test_round_trips(void)
{
	enum perc_arch archs[8];
	int na = t_archs(archs);
	static const uint16_t profs[] = { PERC_DOUBLE_AES_128_GCM, PERC_DOUBLE_AES_256_GCM };
	uint64_t rng = 7;

	for (int a = 0; a < na; a++)
		for (int pi = 0; pi < 2; pi++) {
			struct fixture f;
			struct perc_double_key *self = aligned_alloc(64, sizeof(*self));
			uint8_t plain[CAP], buf[CAP];

			fixture_init(&f, archs[a], profs[pi], &rng);
			/* the sender opening its own packets: same outer key */
			memcpy(self, f.snd, sizeof(*self));
			for (int i = 0; i < 500; i++) {
				uint16_t seq = (uint16_t)(65400 + i); /* wraps */
				uint32_t roc = seq < 65400 ? 1 : 0;
				uint32_t n = random_rtp(plain, &rng, seq), len = n;

				memcpy(buf, plain, n);
				CU_ASSERT_EQUAL_FATAL(perc_double_protect(f.e, f.snd, NULL, NULL, roc, buf,
									  &len, CAP),
						      PERC_R_OK);
				CU_ASSERT_EQUAL(len, n + 16 + 1 + 16);
				/* the E2E payload is not the plaintext */
				CU_ASSERT(memcmp(buf + perc_rtp_hdr_len(plain, n),
						 plain + perc_rtp_hdr_len(plain, n), 8) != 0 ||
					  n - perc_rtp_hdr_len(plain, n) < 8);
				CU_ASSERT_EQUAL(perc_double_unprotect(f.e, self, NULL, NULL, roc, buf, &len),
						PERC_R_OK);
				CU_ASSERT_EQUAL(len, n);
				CU_ASSERT_EQUAL(memcmp(buf, plain, n), 0);
			}
			free(self);
			fixture_fini(&f);
		}
}

/* Every combination of (none, change, change-to-original) for PT, SEQ and
 * marker; the receiver must always get the sender's packet back, and the
 * OHB must hold exactly the fields that differ from the original. */
static void
test_relay_combinations(void)
{
	enum perc_arch archs[8];
	int na = t_archs(archs);
	uint64_t rng = 11;

	for (int a = 0; a < na; a++) {
		struct fixture f;

		fixture_init(&f, archs[a], PERC_DOUBLE_AES_128_GCM, &rng);
		for (int combo = 0; combo < 27; combo++) {
			uint8_t plain[CAP], wire[CAP], out[CAP], buf[CAP];
			uint32_t n = random_rtp(plain, &rng, (uint16_t)(100 + combo)), len = n, olen;
			int mode[3] = { combo % 3, (combo / 3) % 3, combo / 9 };
			uint8_t opt = plain[1] & 0x7f;
			uint16_t oseq = (uint16_t)(plain[2] << 8 | plain[3]);
			int om = plain[1] >> 7;
			struct perc_hop_change c = {
				.pt = mode[0] == 0 ? -1 : mode[0] == 1 ? (opt + 1) % 128 : opt,
				.seq = mode[1] == 0 ? -1 : mode[1] == 1 ? (oseq + 7) % 65536 : oseq,
				.marker = mode[2] == 0 ? -1 : mode[2] == 1 ? !om : om,
			};
			uint32_t expect_ohb = 1 + (mode[0] == 1) + 2u * (mode[1] == 1);
			uint32_t h;

			memcpy(wire, plain, n);
			CU_ASSERT_EQUAL_FATAL(perc_double_protect(f.e, f.snd, NULL, NULL, 0, wire, &len,
								  CAP),
					      PERC_R_OK);
			CU_ASSERT_EQUAL_FATAL(perc_hop_relay(f.e, f.hop[0], NULL, 0, f.hop[1], NULL, 0, &c,
							     wire, len, out, CAP, &olen),
					      PERC_R_OK);
			/* header fields as the relay set them */
			if (c.pt >= 0)
				CU_ASSERT_EQUAL(out[1] & 0x7f, c.pt);
			if (c.seq >= 0)
				CU_ASSERT_EQUAL(out[2] << 8 | out[3], c.seq);
			if (c.marker >= 0)
				CU_ASSERT_EQUAL(out[1] >> 7, c.marker);
			CU_ASSERT_EQUAL(olen, len - 1 + expect_ohb);
			/* the OHB as seen by opening the outer layer with B */
			{
				struct perc_op op = { .key = f.hop[1], .src = out, .dst = buf, .len = olen,
						      .cap = CAP, .type = PERC_OP_RTP_UNPROTECT,
						      .flags = PERC_OPF_INDEX };
				struct perc_ohb o;

				CU_ASSERT_EQUAL_FATAL(perc_engine_run1(f.e, &op), PERC_R_OK);
				h = op.hdr_len;
				CU_ASSERT_EQUAL_FATAL(perc_ohb_parse(buf + h, op.len - h, &o), PERC_R_OK);
				CU_ASSERT_EQUAL(o.len, expect_ohb);
				CU_ASSERT_EQUAL((o.config & PERC_OHB_M) != 0, mode[2] == 1);
				if (mode[2] == 1)
					CU_ASSERT_EQUAL((o.config & PERC_OHB_B) != 0, om);
				if (mode[0] == 1)
					CU_ASSERT_EQUAL(o.pt, opt);
				if (mode[1] == 1)
					CU_ASSERT_EQUAL(o.seq, oseq);
			}
			CU_ASSERT_EQUAL(perc_double_unprotect(f.e, f.rcv, NULL, NULL, 0, out, &olen),
					PERC_R_OK);
			CU_ASSERT_EQUAL(olen, n);
			CU_ASSERT_EQUAL(memcmp(out, plain, n), 0);
		}
		fixture_fini(&f);
	}
}

/* Distributor 1 (A -> C) changes all three fields, distributor 2 (C -> B)
 * changes them again and then back to the originals: the OHB entries are
 * dropped again and the receiver still gets the original packet. */
static void
test_relay_chain(void)
{
	uint64_t rng = 13;
	struct fixture f;
	uint8_t plain[CAP], wire[CAP], mid[CAP], out[CAP];
	enum perc_arch archs[8];

	t_archs(archs);
	fixture_init(&f, archs[0], PERC_DOUBLE_AES_256_GCM, &rng);
	for (int i = 0; i < 50; i++) {
		uint32_t n = random_rtp(plain, &rng, (uint16_t)(5000 + i)), len = n, ml, ol;
		uint8_t opt = plain[1] & 0x7f;
		uint16_t oseq = (uint16_t)(plain[2] << 8 | plain[3]);
		int om = plain[1] >> 7;
		struct perc_hop_change c1 = { (opt + 3) % 128, (oseq + 100) % 65536, !om };
		struct perc_hop_change c2 = { (opt + 5) % 128, (oseq + 200) % 65536, -1 };
		struct perc_hop_change back = { opt, oseq, om };

		memcpy(wire, plain, n);
		CU_ASSERT_EQUAL_FATAL(perc_double_protect(f.e, f.snd, NULL, NULL, 0, wire, &len, CAP),
				      PERC_R_OK);
		CU_ASSERT_EQUAL_FATAL(perc_hop_relay(f.e, f.hop[0], NULL, 0, f.hop[2], NULL, 0, &c1,
						     wire, len, mid, CAP, &ml),
				      PERC_R_OK);
		CU_ASSERT_EQUAL(ml, len + 3);
		/* second distributor: change again (originals stay recorded) */
		CU_ASSERT_EQUAL_FATAL(perc_hop_relay(f.e, f.hop[2], NULL, 0, f.hop[1], NULL, 0, &c2,
						     mid, ml, out, CAP, &ol),
				      PERC_R_OK);
		CU_ASSERT_EQUAL(ol, ml);
		CU_ASSERT_EQUAL(perc_double_unprotect(f.e, f.rcv, NULL, NULL, 0, out, &ol), PERC_R_OK);
		CU_ASSERT_EQUAL(ol, n);
		CU_ASSERT_EQUAL(memcmp(out, plain, n), 0);
		/* second distributor sets everything back: OHB shrinks to one byte */
		CU_ASSERT_EQUAL_FATAL(perc_hop_relay(f.e, f.hop[2], NULL, 0, f.hop[1], NULL, 0, &back,
						     mid, ml, out, CAP, &ol),
				      PERC_R_OK);
		CU_ASSERT_EQUAL(ol, len);
		CU_ASSERT_EQUAL(memcmp(out, wire, 12), 0); /* same fixed header as sent */
		CU_ASSERT_EQUAL(perc_double_unprotect(f.e, f.rcv, NULL, NULL, 0, out, &ol), PERC_R_OK);
		CU_ASSERT_EQUAL(memcmp(out, plain, n), 0);
	}
	fixture_fini(&f);
}

/* Seal an outer plaintext with a hand-made OHB under hop A and ask a
 * distributor and a receiver to handle it. */
static void
check_bad_ohb(struct fixture *f, const uint8_t *ohb, uint32_t ohb_len, uint32_t body)
{
	uint8_t pkt[CAP], out[CAP];
	uint32_t n = (uint32_t)perc_rtp_write(pkt, CAP, false, 96, 77, 1, 2, NULL, 0), ol;
	struct perc_hop_change none = { -1, -1, -1 };
	struct perc_op op = { .key = f->hop[0], .src = pkt, .dst = pkt, .cap = CAP,
			      .type = PERC_OP_RTP_PROTECT, .flags = PERC_OPF_INDEX };

	memset(pkt + n, 0x5a, body);
	n += body;
	memcpy(pkt + n, ohb, ohb_len);
	n += ohb_len;
	op.len = n;
	CU_ASSERT_EQUAL_FATAL(perc_engine_run1(f->e, &op), PERC_R_OK);
	CU_ASSERT_EQUAL(perc_hop_relay(f->e, f->hop[0], NULL, 0, f->hop[1], NULL, 0, &none, pkt,
				       op.len, out, CAP, &ol),
			PERC_R_OHB);
	memcpy(out, pkt, op.len);
	ol = op.len;
	memcpy(&f->rcv->outer, f->hop[0], sizeof(struct perc_key));
	CU_ASSERT_EQUAL(perc_double_unprotect(f->e, f->rcv, NULL, NULL, 0, out, &ol), PERC_R_OHB);
	memcpy(&f->rcv->outer, f->hop[1], sizeof(struct perc_key));
}

static void
test_malformed_ohb(void)
{
	uint64_t rng = 17;
	struct fixture f;
	enum perc_arch archs[8];
	static const uint8_t reserved[] = { 0x10 }, b_without_m[] = { 0x08 },
			     pt_reserved[] = { 0x80, 0x02 }, long_seq[] = { 0x00, 0x01 },
			     long_all[] = { 0x60, 0x00, 0x01, 0x03 };

	t_archs(archs);
	fixture_init(&f, archs[0], PERC_DOUBLE_AES_128_GCM, &rng);
	check_bad_ohb(&f, reserved, 1, 20);
	check_bad_ohb(&f, b_without_m, 1, 20);
	check_bad_ohb(&f, pt_reserved, 2, 20);
	/* Q says SEQ is there, but the payload holds only one byte before it */
	check_bad_ohb(&f, long_seq + 1, 1, 0);
	/* P and Q: four bytes of OHB in a three-byte payload */
	check_bad_ohb(&f, long_all + 1, 3, 0);
	fixture_fini(&f);

	/* codec level: parse / write round trip and the rules */
	struct perc_ohb o;
	uint8_t buf[8];

	CU_ASSERT_EQUAL(perc_ohb_parse((const uint8_t *)"\x05\x00\x07\x0f", 4, &o), PERC_R_OK);
	CU_ASSERT_EQUAL(o.len, 4);
	CU_ASSERT_EQUAL(o.pt, 5);
	CU_ASSERT_EQUAL(o.seq, 7);
	CU_ASSERT_EQUAL(perc_ohb_write(buf, &o), 4);
	CU_ASSERT_EQUAL(memcmp(buf, "\x05\x00\x07\x0f", 4), 0);
	CU_ASSERT_EQUAL(perc_ohb_parse(buf, 0, &o), PERC_R_OHB);
	CU_ASSERT_EQUAL(perc_ohb_parse((const uint8_t *)"\x0c", 1, &o), PERC_R_OK); /* B with M */
}

/* Wrong keys anywhere are refused with auth; an inner-layer forgery (MDD
 * tampering with the E2E payload and re-sealing) is caught by the inner tag. */
static void
test_tamper(void)
{
	uint64_t rng = 19;
	struct fixture f;
	enum perc_arch archs[8];
	uint8_t plain[CAP], wire[CAP], out[CAP], buf[CAP];
	uint32_t n, len, ol;
	struct perc_hop_change none = { -1, -1, -1 };

	t_archs(archs);
	fixture_init(&f, archs[0], PERC_DOUBLE_AES_128_GCM, &rng);
	n = random_rtp(plain, &rng, 9);
	len = n;
	memcpy(wire, plain, n);
	CU_ASSERT_EQUAL_FATAL(perc_double_protect(f.e, f.snd, NULL, NULL, 0, wire, &len, CAP),
			      PERC_R_OK);
	/* the wrong hop key */
	CU_ASSERT_EQUAL(perc_hop_relay(f.e, f.hop[1], NULL, 0, f.hop[2], NULL, 0, &none, wire, len,
				       out, CAP, &ol),
			PERC_R_AUTH);
	/* a distributor that flips a payload bit in the opened outer layer and
	 * re-seals it: the receiver's inner check fails */
	{
		struct perc_op op = { .key = f.hop[0], .src = wire, .dst = buf, .len = len, .cap = CAP,
				      .type = PERC_OP_RTP_UNPROTECT, .flags = PERC_OPF_INDEX };

		CU_ASSERT_EQUAL_FATAL(perc_engine_run1(f.e, &op), PERC_R_OK);
		buf[op.hdr_len] ^= 0x01;
		op = (struct perc_op){ .key = f.hop[1], .src = buf, .dst = out, .len = op.len,
				       .cap = CAP, .type = PERC_OP_RTP_PROTECT,
				       .flags = PERC_OPF_INDEX };
		CU_ASSERT_EQUAL_FATAL(perc_engine_run1(f.e, &op), PERC_R_OK);
		ol = op.len;
		CU_ASSERT_EQUAL(perc_double_unprotect(f.e, f.rcv, NULL, NULL, 0, out, &ol),
				PERC_R_AUTH);
	}
	/* inner replay: streams reject the same packet twice */
	{
		size_t ss = perc_stream_size(1024);
		struct perc_stream *in = perc_stream_init(malloc(ss), 1024, 0);
		struct perc_stream *outs = perc_stream_init(malloc(ss), 1024, 0);
		struct perc_double_key *self = aligned_alloc(64, sizeof(*self));

		memcpy(self, f.snd, sizeof(*self));
		memcpy(buf, wire, len);
		ol = len;
		CU_ASSERT_EQUAL(perc_double_unprotect(f.e, self, in, outs, 0, buf, &ol), PERC_R_OK);
		memcpy(buf, wire, len);
		ol = len;
		CU_ASSERT_EQUAL(perc_double_unprotect(f.e, self, in, outs, 0, buf, &ol), PERC_R_REPLAY);
		free(in);
		free(outs);
		free(self);
	}
	/* the libsrtp engine has no double transform: refused */
	{
		struct perc_engine *ref = perc_engine_create(PERC_ARCH_LIBSRTP);
		struct perc_double_key *dk = aligned_alloc(64, sizeof(*dk));
		uint8_t mk[32] = { 0 }, ms[24] = { 0 };

		CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
		CU_ASSERT_EQUAL(perc_double_key_init(dk, ref, f.p, mk, ms), PERC_R_PROFILE);
		free(dk);
		perc_engine_destroy(ref);
	}
	fixture_fini(&f);
}

int
main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	T_SUITE("double");
	T_ADD(test_round_trips);
	T_ADD(test_relay_combinations);
	T_ADD(test_relay_chain);
	T_ADD(test_malformed_ohb);
	T_ADD(test_tamper);
	return t_run();
}
