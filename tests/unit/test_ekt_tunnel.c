/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * EKT (RFC 8870), AES key wrap with padding (RFC 5649), the EKTKey body and
 * the RFC 9185 tunnel messages: every known-answer vector, round trips, and
 * truncated, oversized, unknown and tampered input refused with the right
 * reason.
 */
#include <pthread.h>

#include <openssl/crypto.h>

#include "testutil.h"

#include "perc/ekt.h"
#include "perc/reason.h"
#include "perc/tunnel.h"

#define MAX_SECS 16

/* ---- helpers ---- */

static void
t_fill(uint64_t *s, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)t_rand(s);
}

/* hex value of key in a section into out; -1 when absent */
static long
sec_hex(const struct perc_kat_section *s, const char *key, uint8_t *out, size_t cap)
{
	const char *v = perc_kat_get(s, key);

	return v == NULL ? -1 : perc_hex_decode(v, out, cap);
}

static unsigned long
sec_num(const struct perc_kat_section *s, const char *key)
{
	const char *v = perc_kat_get(s, key);

	return v == NULL ? 0 : strtoul(v, NULL, 0);
}

static int
load(const char *name, char **text, struct perc_kat_section *secs)
{
	*text = t_read_vectors(name);
	return perc_kat_parse(*text, secs, MAX_SECS);
}

/* ---- OpenSSL allocation counter (installed before OpenSSL's first use) ---- */

static bool mem_hooked;
static unsigned long mem_allocs, mem_frees;

static void *
count_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	mem_allocs++;
	return malloc(n);
}

static void *
count_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	if (p == NULL)
		mem_allocs++;
	return realloc(p, n);
}

static void
count_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	if (p != NULL)
		mem_frees++;
	free(p);
}

/* ---- EKT vectors ---- */

static void
test_ekt_vectors(void)
{
	struct perc_kat_section secs[MAX_SECS];
	char *text;
	int n = load("ekt.txt", &text, secs), full = 0, shrt = 0;

	CU_ASSERT_FATAL(n > 0);
	for (int i = 0; i < n; i++) {
		const struct perc_kat_section *s = &secs[i];
		uint8_t field[128], out[128], ek[32];
		long fl = sec_hex(s, "field", field, sizeof(field));
		long el = sec_hex(s, "ekt_key", ek, sizeof(ek));
		struct perc_ekt_plain pl = { 0 }, got;
		long kl;

		CU_ASSERT_FATAL(fl > 0);
		if (el < 0) {
			CU_ASSERT_EQUAL(fl, 1);
			CU_ASSERT_EQUAL(perc_ekt_field_len(field, 1), 1);
			CU_ASSERT_EQUAL(perc_ekt_field_spi(field, 1), -PERC_R_EKT);
			CU_ASSERT_EQUAL(perc_ekt_unwrap(ek, 16, field, 1, &got), PERC_R_EKT);
			shrt++;
			continue;
		}
		kl = sec_hex(s, "srtp_master_key", pl.key, sizeof(pl.key));
		CU_ASSERT_FATAL(kl == 16 || kl == 32);
		pl.key_len = (uint8_t)kl;
		pl.spi = (uint16_t)sec_num(s, "spi");
		pl.epoch = (uint16_t)sec_num(s, "epoch");
		pl.ssrc = (uint32_t)sec_num(s, "ssrc");
		pl.roc = (uint32_t)sec_num(s, "roc");
		/* the field is ciphertext, SPI, epoch, length, type 0x02 */
		CU_ASSERT_EQUAL(fl, 8 * ((1 + kl + 8 + 7) / 8) + 8 + 7);
		CU_ASSERT_EQUAL(perc_ekt_wrap(ek, (size_t)el, &pl, out, sizeof(out)), fl);
		CU_ASSERT_EQUAL(memcmp(out, field, (size_t)fl), 0);
		CU_ASSERT_EQUAL(perc_ekt_field_len(field, (size_t)fl), fl);
		CU_ASSERT_EQUAL(perc_ekt_field_spi(field, (size_t)fl), pl.spi);
		CU_ASSERT_EQUAL_FATAL(perc_ekt_unwrap(ek, (size_t)el, field, (size_t)fl, &got),
				      PERC_R_OK);
		CU_ASSERT_EQUAL(got.key_len, pl.key_len);
		CU_ASSERT_EQUAL(memcmp(got.key, pl.key, pl.key_len), 0);
		CU_ASSERT_EQUAL(got.ssrc, pl.ssrc);
		CU_ASSERT_EQUAL(got.roc, pl.roc);
		CU_ASSERT_EQUAL(got.spi, pl.spi);
		CU_ASSERT_EQUAL(got.epoch, pl.epoch);
		full++;
	}
	CU_ASSERT(full >= 2);
	CU_ASSERT(shrt >= 1);
	free(text);
}

static void
test_kwp_vectors(void)
{
	struct perc_kat_section secs[MAX_SECS];
	char *text;
	int n = load("rfc5649_kwp.txt", &text, secs);

	CU_ASSERT_FATAL(n > 0);
	for (int i = 0; i < n; i++) {
		const struct perc_kat_section *s = &secs[i];
		uint8_t kek[32], key[64], wrapped[80], out[80];
		long kl = sec_hex(s, "kek", kek, sizeof(kek));
		long nl = sec_hex(s, "key", key, sizeof(key));
		long wl = sec_hex(s, "wrapped", wrapped, sizeof(wrapped));

		CU_ASSERT_FATAL(kl > 0 && nl > 0 && wl > 0);
		CU_ASSERT_EQUAL(wl, 8 * ((nl + 7) / 8) + 8);
		CU_ASSERT_EQUAL(perc_aes_kwp_wrap(kek, (size_t)kl, key, (size_t)nl, out,
						  sizeof(out)), wl);
		CU_ASSERT_EQUAL(memcmp(out, wrapped, (size_t)wl), 0);
		CU_ASSERT_EQUAL(perc_aes_kwp_unwrap(kek, (size_t)kl, wrapped, (size_t)wl, out,
						    sizeof(out)), nl);
		CU_ASSERT_EQUAL(memcmp(out, key, (size_t)nl), 0);
		/* one bit off anywhere in the ciphertext */
		for (long b = 0; b < wl; b++) {
			wrapped[b] ^= 0x10;
			CU_ASSERT_EQUAL(perc_aes_kwp_unwrap(kek, (size_t)kl, wrapped, (size_t)wl,
							    out, sizeof(out)), -PERC_R_AUTH);
			wrapped[b] ^= 0x10;
		}
	}
	free(text);
}

/* ---- key wrap ---- */

static void
test_kwp_round_trip(void)
{
	static const size_t keks[] = { 16, 24, 32 };
	uint64_t seed = 0x6b77703531343921ull;
	uint8_t kek[32], in[72], w[96], out[96];

	for (size_t k = 0; k < 3; k++) {
		for (size_t n = 1; n <= 64; n++) {
			int wl, ul;

			t_fill(&seed, kek, sizeof(kek));
			t_fill(&seed, in, n);
			wl = perc_aes_kwp_wrap(kek, keks[k], in, n, w, sizeof(w));
			CU_ASSERT_EQUAL_FATAL(wl, (int)(8 * ((n + 7) / 8) + 8));
			ul = perc_aes_kwp_unwrap(kek, keks[k], w, (size_t)wl, out, sizeof(out));
			CU_ASSERT_EQUAL(ul, (int)n);
			CU_ASSERT_EQUAL(memcmp(in, out, n), 0);
			/* the same bytes under another KEK */
			kek[0] ^= 1;
			CU_ASSERT_EQUAL(perc_aes_kwp_unwrap(kek, keks[k], w, (size_t)wl, out,
							    sizeof(out)), -PERC_R_AUTH);
		}
	}
}

static void
test_kwp_errors(void)
{
	uint8_t kek[32] = { 1 }, in[32] = { 2 }, w[48], out[48];
	int wl;

	CU_ASSERT_EQUAL(perc_aes_kwp_wrap(kek, 20, in, 16, w, sizeof(w)), -PERC_R_KEY);
	CU_ASSERT_EQUAL(perc_aes_kwp_wrap(kek, 0, in, 16, w, sizeof(w)), -PERC_R_KEY);
	CU_ASSERT_EQUAL(perc_aes_kwp_wrap(kek, 16, in, 0, w, sizeof(w)), -PERC_R_MALFORMED);
	CU_ASSERT_EQUAL(perc_aes_kwp_wrap(kek, 16, in, 9, w, 23), -PERC_R_NO_ROOM);
	CU_ASSERT_EQUAL(perc_aes_kwp_wrap(kek, 16, in, 9, w, 24), 24);
	CU_ASSERT_EQUAL(perc_aes_kwp_wrap(kek, 16, in, 17, w, 32), 32);
	wl = perc_aes_kwp_wrap(kek, 16, in, 16, w, sizeof(w));
	CU_ASSERT_EQUAL_FATAL(wl, 24);
	CU_ASSERT_EQUAL(perc_aes_kwp_unwrap(kek, 17, w, 24, out, sizeof(out)), -PERC_R_KEY);
	CU_ASSERT_EQUAL(perc_aes_kwp_unwrap(kek, 16, w, 23, out, sizeof(out)), -PERC_R_MALFORMED);
	CU_ASSERT_EQUAL(perc_aes_kwp_unwrap(kek, 16, w, 8, out, sizeof(out)), -PERC_R_MALFORMED);
	CU_ASSERT_EQUAL(perc_aes_kwp_unwrap(kek, 16, w, 0, out, sizeof(out)), -PERC_R_MALFORMED);
	CU_ASSERT_EQUAL(perc_aes_kwp_unwrap(kek, 16, w, 24, out, 15), -PERC_R_NO_ROOM);
	CU_ASSERT_EQUAL(perc_aes_kwp_unwrap(kek, 16, w, 24, out, 16), 16);
	/* a valid wrap cut to a shorter multiple of 8 */
	CU_ASSERT_EQUAL(perc_aes_kwp_unwrap(kek, 16, w, 16, out, sizeof(out)), -PERC_R_AUTH);
}

/* ---- EKT field ---- */

static void
random_plain(uint64_t *seed, struct perc_ekt_plain *pl, uint8_t key_len)
{
	memset(pl, 0, sizeof(*pl));
	pl->key_len = key_len;
	t_fill(seed, pl->key, key_len);
	pl->ssrc = (uint32_t)t_rand(seed);
	pl->roc = (uint32_t)t_rand(seed);
	pl->spi = (uint16_t)t_rand(seed);
	pl->epoch = (uint16_t)t_rand(seed);
}

static void
test_ekt_round_trip(void)
{
	static const uint8_t ekl[] = { 16, 32 }, skl[] = { 16, 32 };
	uint64_t seed = 0x454b545f72743031ull;

	for (int a = 0; a < 2; a++) {
		for (int b = 0; b < 2; b++) {
			for (int i = 0; i < 100; i++) {
				struct perc_ekt_plain pl, got;
				uint8_t ek[32], f[PERC_EKT_FIELD_MAX];
				int fl;

				t_fill(&seed, ek, sizeof(ek));
				random_plain(&seed, &pl, skl[b]);
				fl = perc_ekt_wrap(ek, ekl[a], &pl, f, sizeof(f));
				CU_ASSERT_EQUAL_FATAL(fl, skl[b] == 16 ? 47 : 63);
				CU_ASSERT_EQUAL(f[fl - 1], PERC_EKT_FULL);
				CU_ASSERT_EQUAL(perc_ekt_field_len(f, (size_t)fl), fl);
				CU_ASSERT_EQUAL(perc_ekt_field_spi(f, (size_t)fl), pl.spi);
				CU_ASSERT_EQUAL_FATAL(perc_ekt_unwrap(ek, ekl[a], f, (size_t)fl,
								      &got), PERC_R_OK);
				CU_ASSERT_EQUAL(got.key_len, pl.key_len);
				CU_ASSERT_EQUAL(memcmp(got.key, pl.key, pl.key_len), 0);
				CU_ASSERT_EQUAL(got.ssrc, pl.ssrc);
				CU_ASSERT_EQUAL(got.roc, pl.roc);
				CU_ASSERT_EQUAL(got.spi, pl.spi);
				CU_ASSERT_EQUAL(got.epoch, pl.epoch);
			}
		}
	}
}

/* The field at the end of a packet: field_len finds it behind the payload. */
static void
test_ekt_field_in_packet(void)
{
	uint64_t seed = 7;
	struct perc_ekt_plain pl;
	uint8_t ek[16] = { 9 }, pkt[128];
	int fl;

	memset(pkt, 0xee, sizeof(pkt));
	random_plain(&seed, &pl, 16);
	fl = perc_ekt_wrap(ek, sizeof(ek), &pl, pkt + 50, sizeof(pkt) - 50);
	CU_ASSERT_EQUAL_FATAL(fl, 47);
	CU_ASSERT_EQUAL(perc_ekt_field_len(pkt, 50 + (size_t)fl), fl);
	pkt[10] = PERC_EKT_SHORT;
	CU_ASSERT_EQUAL(perc_ekt_field_len(pkt, 11), 1);
	CU_ASSERT_EQUAL(perc_ekt_field_len(pkt, 0), -PERC_R_TRUNCATED);
}

static void
test_ekt_wrong_key(void)
{
	uint64_t seed = 0x77726f6e67ull;
	struct perc_ekt_plain pl, got;
	uint8_t ek[32], f[PERC_EKT_FIELD_MAX];
	int fl;

	for (size_t kl = 16; kl <= 32; kl += 16) {
		t_fill(&seed, ek, sizeof(ek));
		random_plain(&seed, &pl, 32);
		fl = perc_ekt_wrap(ek, kl, &pl, f, sizeof(f));
		CU_ASSERT_EQUAL_FATAL(fl, 63);
		ek[kl - 1] ^= 0x80;
		CU_ASSERT_EQUAL(perc_ekt_unwrap(ek, kl, f, (size_t)fl, &got), PERC_R_AUTH);
		/* SPI and epoch are known even when the unwrap fails */
		CU_ASSERT_EQUAL(got.spi, pl.spi);
		CU_ASSERT_EQUAL(got.epoch, pl.epoch);
		CU_ASSERT_EQUAL(got.key_len, 0);
		ek[kl - 1] ^= 0x80;
		/* AES-128 KEK against an AES-256 wrap and the other way round */
		CU_ASSERT_EQUAL(perc_ekt_unwrap(ek, kl == 16 ? 32 : 16, f, (size_t)fl, &got),
				PERC_R_AUTH);
		/* any ciphertext bit */
		for (int b = 0; b < fl - 7; b++) {
			f[b] ^= 1;
			CU_ASSERT_EQUAL(perc_ekt_unwrap(ek, kl, f, (size_t)fl, &got), PERC_R_AUTH);
			f[b] ^= 1;
		}
		CU_ASSERT_EQUAL(perc_ekt_unwrap(ek, kl, f, (size_t)fl, &got), PERC_R_OK);
		CU_ASSERT_EQUAL(perc_ekt_unwrap(ek, 24, f, (size_t)fl, &got), PERC_R_KEY);
	}
}

static void
test_ekt_wrap_errors(void)
{
	uint64_t seed = 11;
	struct perc_ekt_plain pl;
	uint8_t ek[32] = { 0 }, f[PERC_EKT_FIELD_MAX];

	random_plain(&seed, &pl, 16);
	CU_ASSERT_EQUAL(perc_ekt_wrap(ek, 16, &pl, f, 46), -PERC_R_NO_ROOM);
	CU_ASSERT_EQUAL(perc_ekt_wrap(ek, 16, &pl, f, 47), 47);
	CU_ASSERT_EQUAL(perc_ekt_wrap(ek, 24, &pl, f, sizeof(f)), -PERC_R_KEY);
	CU_ASSERT_EQUAL(perc_ekt_wrap(ek, 0, &pl, f, sizeof(f)), -PERC_R_KEY);
	pl.key_len = 24;
	CU_ASSERT_EQUAL(perc_ekt_wrap(ek, 16, &pl, f, sizeof(f)), -PERC_R_EKT);
	pl.key_len = 0;
	CU_ASSERT_EQUAL(perc_ekt_wrap(ek, 16, &pl, f, sizeof(f)), -PERC_R_EKT);
	pl.key_len = 32;
	CU_ASSERT_EQUAL(perc_ekt_wrap(ek, 32, &pl, f, 62), -PERC_R_NO_ROOM);
	CU_ASSERT_EQUAL(perc_ekt_wrap(ek, 32, &pl, f, 63), 63);
}

static void
test_ekt_truncated(void)
{
	uint64_t seed = 0x7472756e63ull;
	struct perc_ekt_plain pl, got;
	uint8_t ek[16], f[PERC_EKT_FIELD_MAX];

	for (int i = 0; i < 20; i++) {
		int fl;

		t_fill(&seed, ek, sizeof(ek));
		random_plain(&seed, &pl, i % 2 ? 32 : 16);
		fl = perc_ekt_wrap(ek, sizeof(ek), &pl, f, sizeof(f));
		CU_ASSERT_FATAL(fl > 0);
		for (int k = 0; k < fl; k++) {
			uint8_t *d = t_dup_exact(f, (size_t)k);
			int r = perc_ekt_unwrap(ek, sizeof(ek), d, (size_t)k, &got);

			/* a prefix is refused; only one that happens to end in
			 * a plausible trailer gets as far as the unwrap */
			CU_ASSERT(r == PERC_R_EKT || r == PERC_R_AUTH);
			if (k == 0) {
				CU_ASSERT_EQUAL(perc_ekt_field_len(d, 0), -PERC_R_TRUNCATED);
			} else {
				int fl2 = perc_ekt_field_len(d, (size_t)k);

				CU_ASSERT(fl2 == -PERC_R_EKT || (fl2 > 0 && fl2 <= k));
			}
			if (r == PERC_R_EKT)
				CU_ASSERT_EQUAL(perc_ekt_field_spi(d, (size_t)k), -PERC_R_EKT);
			free(d);
		}
	}
}

static void
test_ekt_oversized(void)
{
	uint64_t seed = 0x6f766572ull;
	struct perc_ekt_plain pl, got;
	uint8_t ek[16] = { 3 }, f[PERC_EKT_FIELD_MAX + 16], g[PERC_EKT_FIELD_MAX + 16];
	int fl;

	random_plain(&seed, &pl, 16);
	fl = perc_ekt_wrap(ek, sizeof(ek), &pl, f, sizeof(f));
	CU_ASSERT_EQUAL_FATAL(fl, 47);
	if (fl != 47)
		return; /* (tells the compiler the indices below stay in g) */
	/* trailing bytes after the type byte */
	for (int extra = 0; extra < 4; extra++) {
		memcpy(g, f, (size_t)fl);
		g[fl] = (uint8_t)(extra == 0 ? 0x00 : extra == 1 ? 0x02 : 0xff);
		CU_ASSERT_EQUAL(perc_ekt_unwrap(ek, sizeof(ek), g, (size_t)fl + 1, &got),
				PERC_R_EKT);
		CU_ASSERT_EQUAL(perc_ekt_field_spi(g, (size_t)fl + 1), -PERC_R_EKT);
	}
	/* Length longer than the field, than the packet, or shorter */
	memcpy(g, f, (size_t)fl);
	g[fl - 2] = (uint8_t)(fl + 8);
	CU_ASSERT_EQUAL(perc_ekt_field_len(g, (size_t)fl), -PERC_R_EKT);
	CU_ASSERT_EQUAL(perc_ekt_unwrap(ek, sizeof(ek), g, (size_t)fl, &got), PERC_R_EKT);
	g[fl - 3] = 0xff;
	CU_ASSERT_EQUAL(perc_ekt_field_len(g, (size_t)fl), -PERC_R_EKT);
	g[fl - 3] = 0;
	g[fl - 2] = 7;
	CU_ASSERT_EQUAL(perc_ekt_field_len(g, (size_t)fl), -PERC_R_EKT);
	g[fl - 2] = 8;
	CU_ASSERT_EQUAL(perc_ekt_field_len(g, (size_t)fl), 8);
	CU_ASSERT_EQUAL(perc_ekt_unwrap(ek, sizeof(ek), g, 8, &got), PERC_R_EKT);
	CU_ASSERT_EQUAL(perc_ekt_unwrap(ek, sizeof(ek), g, (size_t)fl, &got), PERC_R_EKT);
	/* a ciphertext longer than any EKTPlaintext this code holds */
	memset(g, 0x5a, 64);
	g[64] = 0x12;
	g[65] = 0x34;
	g[66] = 0;
	g[67] = 0;
	g[68] = 0;
	g[69] = 71;
	g[70] = PERC_EKT_FULL;
	CU_ASSERT_EQUAL(perc_ekt_field_len(g, 71), 71);
	CU_ASSERT_EQUAL(perc_ekt_field_spi(g, 71), -PERC_R_EKT);
	CU_ASSERT_EQUAL(perc_ekt_unwrap(ek, sizeof(ek), g, 71, &got), PERC_R_EKT);
	/* a ciphertext that is not whole 8-byte blocks */
	g[68] = 0;
	g[69] = 50;
	CU_ASSERT_EQUAL(perc_ekt_unwrap(ek, sizeof(ek), g + 21, 50, &got), PERC_R_EKT);
}

static void
test_ekt_unknown_type(void)
{
	static const uint8_t types[] = { 0x01, 0x03, 0x04, 0x80, 0xff };
	uint64_t seed = 0x7479706573ull;
	struct perc_ekt_plain pl, got;
	uint8_t ek[16] = { 4 }, f[PERC_EKT_FIELD_MAX];
	int fl;

	random_plain(&seed, &pl, 16);
	fl = perc_ekt_wrap(ek, sizeof(ek), &pl, f, sizeof(f));
	CU_ASSERT_EQUAL_FATAL(fl, 47);
	for (size_t i = 0; i < sizeof(types); i++) {
		f[fl - 1] = types[i];
		CU_ASSERT_EQUAL(perc_ekt_field_len(f, (size_t)fl), -PERC_R_EKT);
		CU_ASSERT_EQUAL(perc_ekt_field_spi(f, (size_t)fl), -PERC_R_EKT);
		CU_ASSERT_EQUAL(perc_ekt_unwrap(ek, sizeof(ek), f, (size_t)fl, &got), PERC_R_EKT);
		CU_ASSERT_EQUAL(perc_ekt_field_len(f + fl - 1, 1), -PERC_R_EKT);
	}
}

/* A field that authenticates but whose plaintext is not an EKTPlaintext. */
static void
test_ekt_bad_plaintext(void)
{
	uint8_t ek[16] = { 5 }, pt[48], f[80];
	struct perc_ekt_plain got;
	int wl;

	memset(pt, 0x33, sizeof(pt));
	/* key length 20 */
	pt[0] = 20;
	wl = perc_aes_kwp_wrap(ek, sizeof(ek), pt, 1 + 20 + 8, f, sizeof(f));
	CU_ASSERT_EQUAL_FATAL(wl, 40);
	memcpy(f + wl, "\x00\x01\x00\x00\x00\x2f\x02", 7);
	CU_ASSERT_EQUAL(perc_ekt_unwrap(ek, sizeof(ek), f, 47, &got), PERC_R_EKT);
	CU_ASSERT_EQUAL(got.spi, 1);
	/* key length 16, but 7 bytes more than SSRC and ROC */
	pt[0] = 16;
	wl = perc_aes_kwp_wrap(ek, sizeof(ek), pt, 1 + 16 + 8 + 7, f, sizeof(f));
	CU_ASSERT_EQUAL_FATAL(wl, 40);
	memcpy(f + wl, "\x00\x01\x00\x00\x00\x2f\x02", 7);
	CU_ASSERT_EQUAL(perc_ekt_unwrap(ek, sizeof(ek), f, 47, &got), PERC_R_EKT);
	/* and the right size: accepted */
	wl = perc_aes_kwp_wrap(ek, sizeof(ek), pt, 1 + 16 + 8, f, sizeof(f));
	memcpy(f + wl, "\x00\x01\x00\x00\x00\x2f\x02", 7);
	CU_ASSERT_EQUAL(perc_ekt_unwrap(ek, sizeof(ek), f, 47, &got), PERC_R_OK);
	CU_ASSERT_EQUAL(got.ssrc, 0x33333333u);
}

/* Unwrap and wrap run on the fast path of an endpoint: after the first call
 * on a thread they must not allocate. A failed unwrap goes through OpenSSL's
 * error queue, which allocates and frees its strings: that must not leak. */
static void
test_ekt_no_alloc(void)
{
	uint64_t seed = 0x6e6f616c6c6f63ull;
	struct perc_ekt_plain pl, got;
	uint8_t ek[32], bad[32], f[PERC_EKT_FIELD_MAX];
	unsigned long before;
	int fl;

	if (!mem_hooked) {
		fprintf(stderr, "(OpenSSL allocator not hooked: allocation count skipped) ");
		return;
	}
	t_fill(&seed, ek, sizeof(ek));
	memcpy(bad, ek, sizeof(bad));
	bad[0] ^= 1;
	random_plain(&seed, &pl, 16);
	/* warm up every KEK size on this thread */
	fl = perc_ekt_wrap(ek, 16, &pl, f, sizeof(f));
	CU_ASSERT_EQUAL_FATAL(fl, 47);
	(void)perc_ekt_unwrap(ek, 16, f, (size_t)fl, &got);
	(void)perc_ekt_unwrap(bad, 16, f, (size_t)fl, &got);
	(void)perc_ekt_wrap(ek, 32, &pl, f, sizeof(f));
	before = mem_allocs;
	for (int i = 0; i < 500; i++) {
		fl = perc_ekt_wrap(ek, 16, &pl, f, sizeof(f));
		CU_ASSERT_EQUAL(perc_ekt_unwrap(ek, 16, f, (size_t)fl, &got), PERC_R_OK);
		fl = perc_ekt_wrap(ek, 32, &pl, f, sizeof(f));
		CU_ASSERT_EQUAL(perc_ekt_unwrap(ek, 32, f, (size_t)fl, &got), PERC_R_OK);
	}
	CU_ASSERT_EQUAL(mem_allocs - before, 0);
	fl = perc_ekt_wrap(ek, 16, &pl, f, sizeof(f));
	before = mem_allocs - mem_frees;
	for (int i = 0; i < 500; i++)
		CU_ASSERT_EQUAL(perc_ekt_unwrap(bad, 16, f, (size_t)fl, &got), PERC_R_AUTH);
	CU_ASSERT_EQUAL(mem_allocs - mem_frees, before);
}

static void *
ekt_thread(void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
	long bad = 0;

	for (int i = 0; i < 300; i++) {
		struct perc_ekt_plain pl, got;
		uint8_t ek[32], f[PERC_EKT_FIELD_MAX];
		size_t kl = i % 2 ? 32 : 16;
		int fl;

		t_fill(&seed, ek, sizeof(ek));
		random_plain(&seed, &pl, 32);
		fl = perc_ekt_wrap(ek, kl, &pl, f, sizeof(f));
		if (fl != 63 || perc_ekt_unwrap(ek, kl, f, (size_t)fl, &got) != PERC_R_OK ||
		    memcmp(got.key, pl.key, 32) != 0 || got.ssrc != pl.ssrc)
			bad++;
	}
	return (void *)bad;
}

/* Per-thread key wrap contexts: threads do not disturb each other and
 * their contexts go away with them. */
static void
test_ekt_threads(void)
{
	pthread_t th[4];

	for (uintptr_t i = 0; i < 4; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, ekt_thread, (void *)i), 0);
	for (int i = 0; i < 4; i++) {
		void *bad = NULL;

		CU_ASSERT_EQUAL(pthread_join(th[i], &bad), 0);
		CU_ASSERT_PTR_NULL(bad);
	}
}

/* ---- EKTKey message ---- */

#define EKTKEY_HEX "0010" "000102030405060708090a0b0c0d0e0f" "000c" \
	"101112131415161718191a1b" "1234" "abcdef"

static void
test_ektkey_encode_decode(void)
{
	struct perc_ektkey_msg m = { 0 }, got;
	uint8_t ref[128], out[128];
	size_t n = t_hex(EKTKEY_HEX, ref, sizeof(ref));

	m.ekt_key_len = 16;
	for (int i = 0; i < 16; i++)
		m.ekt_key[i] = (uint8_t)i;
	m.salt_len = 12;
	for (int i = 0; i < 12; i++)
		m.salt[i] = (uint8_t)(0x10 + i);
	m.spi = 0x1234;
	m.ttl = 0xabcdef;
	CU_ASSERT_EQUAL_FATAL(perc_ektkey_encode(&m, out, sizeof(out)), (int)n);
	CU_ASSERT_EQUAL(memcmp(out, ref, n), 0);
	CU_ASSERT_EQUAL_FATAL(perc_ektkey_decode(ref, n, &got), PERC_R_OK);
	CU_ASSERT_EQUAL(got.ekt_key_len, 16);
	CU_ASSERT_EQUAL(memcmp(got.ekt_key, m.ekt_key, 16), 0);
	CU_ASSERT_EQUAL(got.salt_len, 12);
	CU_ASSERT_EQUAL(memcmp(got.salt, m.salt, 12), 0);
	CU_ASSERT_EQUAL(got.spi, 0x1234);
	CU_ASSERT_EQUAL(got.ttl, 0xabcdefu);
	CU_ASSERT_EQUAL(perc_ektkey_encode(&m, out, n - 1), -PERC_R_NO_ROOM);
}

static void
test_ektkey_round_trip(void)
{
	static const uint8_t kls[] = { 1, 16, 32 }, sls[] = { 1, 12, 14, 32 };
	uint64_t seed = 0x656b746b6579ull;

	for (size_t a = 0; a < sizeof(kls); a++) {
		for (size_t b = 0; b < sizeof(sls); b++) {
			struct perc_ektkey_msg m = { 0 }, got;
			uint8_t out[128];
			int n;

			m.ekt_key_len = kls[a];
			t_fill(&seed, m.ekt_key, kls[a]);
			m.salt_len = sls[b];
			t_fill(&seed, m.salt, sls[b]);
			m.spi = (uint16_t)t_rand(&seed);
			m.ttl = (uint32_t)t_rand(&seed) & 0xffffffu;
			n = perc_ektkey_encode(&m, out, sizeof(out));
			CU_ASSERT_EQUAL_FATAL(n, 9 + kls[a] + sls[b]);
			CU_ASSERT_EQUAL_FATAL(perc_ektkey_decode(out, (size_t)n, &got), PERC_R_OK);
			CU_ASSERT_EQUAL(memcmp(&got, &m, sizeof(m)), 0);
		}
	}
}

static void
test_ektkey_truncated(void)
{
	struct perc_ektkey_msg got;
	uint8_t ref[128];
	size_t n = t_hex(EKTKEY_HEX, ref, sizeof(ref));

	for (size_t k = 0; k < n; k++) {
		uint8_t *d = t_dup_exact(ref, k);

		CU_ASSERT_EQUAL(perc_ektkey_decode(d, k, &got), PERC_R_TRUNCATED);
		free(d);
	}
}

static void
test_ektkey_bad(void)
{
	struct perc_ektkey_msg m = { 0 }, got;
	uint8_t b[512], out[64];
	size_t n = t_hex(EKTKEY_HEX, b, sizeof(b));

	/* trailing byte */
	b[n] = 0;
	CU_ASSERT_EQUAL(perc_ektkey_decode(b, n + 1, &got), PERC_R_MALFORMED);
	/* empty key, empty salt */
	n = t_hex("0000" "0001aa" "1234" "000001", b, sizeof(b));
	CU_ASSERT_EQUAL(perc_ektkey_decode(b, n, &got), PERC_R_MALFORMED);
	n = t_hex("0001aa" "0000" "1234" "000001", b, sizeof(b));
	CU_ASSERT_EQUAL(perc_ektkey_decode(b, n, &got), PERC_R_MALFORMED);
	/* a 33-byte key is present in full but more than this code holds */
	b[0] = 0;
	b[1] = 33;
	memset(b + 2, 0x11, 33);
	n = 35 + t_hex("0001aa" "1234" "000001", b + 35, sizeof(b) - 35);
	CU_ASSERT_EQUAL(perc_ektkey_decode(b, n, &got), PERC_R_OVERSIZED);
	/* 257 bytes: over the RFC bound too */
	b[0] = 1;
	b[1] = 1;
	memset(b + 2, 0x11, 257);
	n = 259 + t_hex("0001aa" "1234" "000001", b + 259, sizeof(b) - 259);
	CU_ASSERT_EQUAL(perc_ektkey_decode(b, n, &got), PERC_R_OVERSIZED);
	/* a salt of 33 */
	n = t_hex("0001aa" "0021", b, sizeof(b));
	memset(b + n, 0x22, 33);
	n += 33;
	n += t_hex("1234" "000001", b + n, sizeof(b) - n);
	CU_ASSERT_EQUAL(perc_ektkey_decode(b, n, &got), PERC_R_OVERSIZED);
	/* encoder bounds */
	m.ekt_key_len = 16;
	m.salt_len = 12;
	m.ttl = 0x1000000;
	CU_ASSERT_EQUAL(perc_ektkey_encode(&m, out, sizeof(out)), -PERC_R_OVERSIZED);
	m.ttl = 0xffffff;
	CU_ASSERT_EQUAL(perc_ektkey_encode(&m, out, sizeof(out)), 37);
	m.ekt_key_len = 33;
	CU_ASSERT_EQUAL(perc_ektkey_encode(&m, out, sizeof(out)), -PERC_R_OVERSIZED);
	m.ekt_key_len = 0;
	CU_ASSERT_EQUAL(perc_ektkey_encode(&m, out, sizeof(out)), -PERC_R_MALFORMED);
	m.ekt_key_len = 16;
	m.salt_len = 0;
	CU_ASSERT_EQUAL(perc_ektkey_encode(&m, out, sizeof(out)), -PERC_R_MALFORMED);
	m.salt_len = 33;
	CU_ASSERT_EQUAL(perc_ektkey_encode(&m, out, sizeof(out)), -PERC_R_OVERSIZED);
}

/* ---- tunnel ---- */

static struct perc_tun_msg tm, tg;	/* large: keep them off the stack */
static uint8_t tbuf[PERC_TUN_HDR + PERC_TUN_MAX_BODY + 8];

static void
test_tun_vectors(void)
{
	struct perc_kat_section secs[MAX_SECS];
	char *text;
	int n = load("rfc9185_tunnel.txt", &text, secs);

	CU_ASSERT_FATAL(n > 0);
	for (int i = 0; i < n; i++) {
		const struct perc_kat_section *s = &secs[i];
		uint8_t msg[512], out[512], uuid[16];
		long ml = sec_hex(s, "message", msg, sizeof(msg));
		long ul = sec_hex(s, "association_id", uuid, sizeof(uuid));

		CU_ASSERT_FATAL(ml >= 3);
		CU_ASSERT_EQUAL(perc_tun_frame(msg, (size_t)ml), (size_t)ml);
		CU_ASSERT_EQUAL_FATAL(perc_tun_decode(msg, (size_t)ml, &tm), PERC_R_OK);
		CU_ASSERT_EQUAL(tm.type, msg[0]);
		if (ul == 16)
			CU_ASSERT_EQUAL(memcmp(tm.uuid, uuid, 16), 0);
		if (perc_kat_get(s, "profile") != NULL)
			CU_ASSERT_EQUAL(tm.profile, sec_num(s, "profile"));
		if (perc_kat_get(s, "highest_version") != NULL)
			CU_ASSERT_EQUAL(tm.version, sec_num(s, "highest_version"));
		CU_ASSERT_EQUAL(perc_tun_encode(&tm, out, sizeof(out)), ml);
		CU_ASSERT_EQUAL(memcmp(out, msg, (size_t)ml), 0);
		CU_ASSERT_EQUAL(perc_tun_encode(&tm, out, (size_t)ml - 1), -PERC_R_NO_ROOM);
	}
	free(text);
}

/* The fields of the vectors, spelled out. */
static void
test_tun_vector_fields(void)
{
	uint8_t b[256];
	size_t n;

	n = t_hex("0100070000040009000a", b, sizeof(b));
	CU_ASSERT_EQUAL_FATAL(perc_tun_decode(b, n, &tm), PERC_R_OK);
	CU_ASSERT_EQUAL(tm.type, PERC_TUN_SUPPORTED_PROFILES);
	CU_ASSERT_EQUAL(tm.version, 0);
	CU_ASSERT_EQUAL(tm.n_profiles, 2);
	CU_ASSERT_EQUAL(tm.profiles[0], 0x0009);
	CU_ASSERT_EQUAL(tm.profiles[1], 0x000a);
	n = t_hex("03004f0f1e2d3c4b5a69788796a5b4c3d2e1f000090010101112131415161718191a1b"
		  "1c1d1e1f10303132333435363738393a3b3c3d3e3f0c4c4d4e4f505152535455565"
		  "70c6465666768696a6b6c6d6e6f", b, sizeof(b));
	CU_ASSERT_EQUAL_FATAL(perc_tun_decode(b, n, &tm), PERC_R_OK);
	CU_ASSERT_EQUAL(tm.type, PERC_TUN_MEDIA_KEYS);
	CU_ASSERT_EQUAL(tm.profile, 9);
	CU_ASSERT_EQUAL(tm.mki_len, 0);
	CU_ASSERT_EQUAL(tm.client_key_len, 16);
	CU_ASSERT_EQUAL(tm.client_key[0], 0x10);
	CU_ASSERT_EQUAL(tm.client_key[15], 0x1f);
	CU_ASSERT_EQUAL(tm.server_key_len, 16);
	CU_ASSERT_EQUAL(tm.server_key[0], 0x30);
	CU_ASSERT_EQUAL(tm.client_salt_len, 12);
	CU_ASSERT_EQUAL(tm.client_salt[0], 0x4c);
	CU_ASSERT_EQUAL(tm.server_salt_len, 12);
	CU_ASSERT_EQUAL(tm.server_salt[11], 0x6f);
}

/* One message of each type with every field in use; returns its length. */
static int
sample_msg(int type, uint8_t *out, size_t cap)
{
	static const uint8_t dtls[] = { 0x16, 0xfe, 0xfd, 0x00, 0x01 };

	memset(&tm, 0, sizeof(tm));
	tm.type = (uint8_t)type;
	if (type >= PERC_TUN_MEDIA_KEYS)
		for (int i = 0; i < 16; i++)
			tm.uuid[i] = (uint8_t)(0xa0 + i);
	switch (type) {
	case PERC_TUN_SUPPORTED_PROFILES:
		tm.n_profiles = 3;
		tm.profiles[0] = 0x0009;
		tm.profiles[1] = 0x000a;
		tm.profiles[2] = 0x0001;
		break;
	case PERC_TUN_UNSUPPORTED_VERSION:
		tm.version = 0;
		break;
	case PERC_TUN_MEDIA_KEYS:
		tm.profile = 0x000a;
		tm.mki_len = 2;
		tm.mki[0] = 0x4d;
		tm.mki[1] = 0x4b;
		tm.client_key_len = tm.server_key_len = 32;
		tm.client_salt_len = tm.server_salt_len = 12;
		memset(tm.client_key, 0xc1, 32);
		memset(tm.server_key, 0x5e, 32);
		memset(tm.client_salt, 0xc5, 12);
		memset(tm.server_salt, 0x55, 12);
		break;
	case PERC_TUN_TUNNELED_DTLS:
		tm.dtls = dtls;
		tm.dtls_len = sizeof(dtls);
		break;
	default:
		break;
	}
	return perc_tun_encode(&tm, out, cap);
}

static void
test_tun_round_trip(void)
{
	uint8_t b[512], out[512];

	for (int t = PERC_TUN_SUPPORTED_PROFILES; t <= PERC_TUN_ENDPOINT_DISCONNECT; t++) {
		int n = sample_msg(t, b, sizeof(b));

		CU_ASSERT_FATAL(n > (int)PERC_TUN_HDR);
		CU_ASSERT_EQUAL(b[0], t);
		CU_ASSERT_EQUAL((b[1] << 8 | b[2]) + 3, n);
		CU_ASSERT_EQUAL_FATAL(perc_tun_decode(b, (size_t)n, &tg), PERC_R_OK);
		CU_ASSERT_EQUAL(tg.type, t);
		if (t == PERC_TUN_TUNNELED_DTLS) {
			CU_ASSERT_PTR_EQUAL(tg.dtls, b + 3 + 16 + 2);
			CU_ASSERT_EQUAL(tg.dtls_len, 5);
			CU_ASSERT_EQUAL(memcmp(tg.dtls, tm.dtls, 5), 0);
			tg.dtls = tm.dtls;
		}
		/* the decoder fills exactly what the encoder was given */
		CU_ASSERT_EQUAL(memcmp(&tg, &tm, sizeof(tm)), 0);
		CU_ASSERT_EQUAL(perc_tun_encode(&tg, out, sizeof(out)), n);
		CU_ASSERT_EQUAL(memcmp(out, b, (size_t)n), 0);
	}
}

static void
test_tun_truncated(void)
{
	uint8_t b[512];

	for (int t = PERC_TUN_SUPPORTED_PROFILES; t <= PERC_TUN_ENDPOINT_DISCONNECT; t++) {
		int n = sample_msg(t, b, sizeof(b));

		CU_ASSERT_FATAL(n > 0);
		/* cut anywhere: the header promises more than there is */
		for (int k = 0; k < n; k++) {
			uint8_t *d = t_dup_exact(b, (size_t)k);

			CU_ASSERT_EQUAL(perc_tun_frame(d, (size_t)k), 0);
			CU_ASSERT_EQUAL(perc_tun_decode(d, (size_t)k, &tg), PERC_R_TRUNCATED);
			free(d);
		}
		/* body cut with the header made to agree: a field runs past
		 * the end of the message */
		for (int k = 3; k < n; k++) {
			uint8_t *d = t_dup_exact(b, (size_t)k);

			d[1] = (uint8_t)((k - 3) >> 8);
			d[2] = (uint8_t)(k - 3);
			CU_ASSERT_EQUAL(perc_tun_frame(d, (size_t)k), (size_t)k);
			CU_ASSERT_EQUAL(perc_tun_decode(d, (size_t)k, &tg), PERC_R_TRUNCATED);
			free(d);
		}
	}
}

static void
test_tun_oversized(void)
{
	uint8_t b[512];

	for (int t = PERC_TUN_SUPPORTED_PROFILES; t <= PERC_TUN_ENDPOINT_DISCONNECT; t++) {
		int n = sample_msg(t, b, sizeof(b));

		CU_ASSERT_FATAL(n > 0);
		/* bytes after the message that decode was told to take */
		b[n] = 0;
		CU_ASSERT_EQUAL(perc_tun_frame(b, (size_t)n + 1), (size_t)n);
		CU_ASSERT_EQUAL(perc_tun_decode(b, (size_t)n + 1, &tg), PERC_R_OVERSIZED);
		/* a body longer than its fields */
		b[2]++;
		CU_ASSERT_EQUAL(perc_tun_decode(b, (size_t)n + 1, &tg), PERC_R_OVERSIZED);
	}
}

static void
test_tun_unknown_type(void)
{
	static const uint8_t types[] = { 0, 6, 7, 0x7f, 0x80, 0xff };
	uint8_t b[512];
	int n = sample_msg(PERC_TUN_ENDPOINT_DISCONNECT, b, sizeof(b));

	CU_ASSERT_FATAL(n > 0);
	for (size_t i = 0; i < sizeof(types); i++) {
		b[0] = types[i];
		CU_ASSERT_EQUAL(perc_tun_frame(b, (size_t)n), (size_t)n);
		CU_ASSERT_EQUAL(perc_tun_decode(b, (size_t)n, &tg), PERC_R_UNKNOWN);
		tm.type = types[i];
		CU_ASSERT_EQUAL(perc_tun_encode(&tm, b + 64, 256), -PERC_R_UNKNOWN);
	}
	/* an empty body of an unknown type is still framed and refused */
	CU_ASSERT_EQUAL(perc_tun_decode((const uint8_t *)"\x09\x00\x00", 3, &tg),
			PERC_R_UNKNOWN);
}

static void
test_tun_malformed(void)
{
	uint8_t b[512];
	size_t n;

	/* SupportedProfiles: empty list, odd list, more profiles than held */
	n = t_hex("010003000000", b, sizeof(b));
	CU_ASSERT_EQUAL(perc_tun_decode(b, n, &tg), PERC_R_MALFORMED);
	n = t_hex("01000400000109", b, sizeof(b));
	CU_ASSERT_EQUAL(perc_tun_decode(b, n, &tg), PERC_R_MALFORMED);
	n = t_hex("0100450000" "42", b, sizeof(b));
	memset(b + n, 0, 66);
	n += 66;
	CU_ASSERT_EQUAL(perc_tun_decode(b, n, &tg), PERC_R_OVERSIZED);
	/* 32 are fine */
	b[2] = 0x43;
	b[5] = 0x40;
	CU_ASSERT_EQUAL(perc_tun_decode(b, n - 2, &tg), PERC_R_OK);
	CU_ASSERT_EQUAL(tg.n_profiles, PERC_TUN_MAX_PROFILES);
	/* MediaKeys with each key or salt empty in turn */
	for (int f = 0; f < 4; f++) {
		n = t_hex("03001b" "000102030405060708090a0b0c0d0e0f" "0009" "00"
			  "01aa" "01bb" "01cc" "01dd", b, sizeof(b));
		CU_ASSERT_EQUAL_FATAL(perc_tun_decode(b, n, &tg), PERC_R_OK);
		/* remove one field's byte and zero its length */
		memmove(b + 23 + 2 * f, b + 24 + 2 * f, n - 24 - 2 * (size_t)f);
		b[22 + 2 * f] = 0;
		n--;
		b[2]--;
		CU_ASSERT_EQUAL(perc_tun_decode(b, n, &tg), PERC_R_MALFORMED);
	}
	/* TunneledDtls with an empty DTLS message */
	n = t_hex("040012" "000102030405060708090a0b0c0d0e0f" "0000", b, sizeof(b));
	CU_ASSERT_EQUAL(perc_tun_decode(b, n, &tg), PERC_R_MALFORMED);
	/* TunneledDtls whose DTLS length runs past the body */
	n = t_hex("040013" "000102030405060708090a0b0c0d0e0f" "000216", b, sizeof(b));
	CU_ASSERT_EQUAL(perc_tun_decode(b, n, &tg), PERC_R_TRUNCATED);
	/* fixed-size bodies with a byte too many */
	n = t_hex("02000200" "00", b, sizeof(b));
	CU_ASSERT_EQUAL(perc_tun_decode(b, n, &tg), PERC_R_OVERSIZED);
	n = t_hex("050011" "000102030405060708090a0b0c0d0e0f" "00", b, sizeof(b));
	CU_ASSERT_EQUAL(perc_tun_decode(b, n, &tg), PERC_R_OVERSIZED);
}

/* A later version's SupportedProfiles still yields its version, so that
 * the KD can answer UnsupportedVersion. */
static void
test_tun_other_version(void)
{
	uint8_t b[64];
	size_t n;

	n = t_hex("010005010002000a", b, sizeof(b));
	CU_ASSERT_EQUAL_FATAL(perc_tun_decode(b, n, &tg), PERC_R_OK);
	CU_ASSERT_EQUAL(tg.version, 1);
	CU_ASSERT_EQUAL(tg.n_profiles, 0);
	n = t_hex("010001ff", b, sizeof(b));
	CU_ASSERT_EQUAL_FATAL(perc_tun_decode(b, n, &tg), PERC_R_OK);
	CU_ASSERT_EQUAL(tg.version, 0xff);
	/* no version at all */
	n = t_hex("010000", b, sizeof(b));
	CU_ASSERT_EQUAL(perc_tun_decode(b, n, &tg), PERC_R_TRUNCATED);
}

static void
test_tun_encode_errors(void)
{
	static uint8_t dtls[PERC_TUN_MAX_BODY];
	uint8_t b[512];

	CU_ASSERT_FATAL(sample_msg(PERC_TUN_SUPPORTED_PROFILES, b, sizeof(b)) > 0);
	tm.n_profiles = 0;
	CU_ASSERT_EQUAL(perc_tun_encode(&tm, b, sizeof(b)), -PERC_R_MALFORMED);
	tm.n_profiles = PERC_TUN_MAX_PROFILES + 1;
	CU_ASSERT_EQUAL(perc_tun_encode(&tm, b, sizeof(b)), -PERC_R_OVERSIZED);
	tm.n_profiles = PERC_TUN_MAX_PROFILES;
	CU_ASSERT_EQUAL(perc_tun_encode(&tm, b, sizeof(b)), 3 + 3 + 64);

	CU_ASSERT_FATAL(sample_msg(PERC_TUN_MEDIA_KEYS, b, sizeof(b)) > 0);
	tm.server_salt_len = 0;
	CU_ASSERT_EQUAL(perc_tun_encode(&tm, b, sizeof(b)), -PERC_R_MALFORMED);
	tm.server_salt_len = 12;
	tm.client_key_len = 0;
	CU_ASSERT_EQUAL(perc_tun_encode(&tm, b, sizeof(b)), -PERC_R_MALFORMED);
	/* every vector at 255: the largest MediaKeys */
	tm.mki_len = tm.client_key_len = tm.server_key_len = 255;
	tm.client_salt_len = tm.server_salt_len = 255;
	CU_ASSERT_EQUAL(perc_tun_encode(&tm, tbuf, sizeof(tbuf)), 3 + 16 + 2 + 5 * 256);
	CU_ASSERT_EQUAL(perc_tun_decode(tbuf, 3 + 16 + 2 + 5 * 256, &tg), PERC_R_OK);
	CU_ASSERT_EQUAL(memcmp(&tg, &tm, sizeof(tm)), 0);

	CU_ASSERT_FATAL(sample_msg(PERC_TUN_TUNNELED_DTLS, b, sizeof(b)) > 0);
	tm.dtls_len = 0;
	CU_ASSERT_EQUAL(perc_tun_encode(&tm, b, sizeof(b)), -PERC_R_MALFORMED);
	tm.dtls_len = 5;
	tm.dtls = NULL;
	CU_ASSERT_EQUAL(perc_tun_encode(&tm, b, sizeof(b)), -PERC_R_MALFORMED);
	/* the body is uuid ‖ length ‖ message and must stay within 2^16-1 */
	tm.dtls = dtls;
	tm.dtls_len = PERC_TUN_MAX_BODY - 18;
	CU_ASSERT_EQUAL(perc_tun_encode(&tm, tbuf, sizeof(tbuf)), (int)(3 + PERC_TUN_MAX_BODY));
	CU_ASSERT_EQUAL(perc_tun_frame(tbuf, 3 + PERC_TUN_MAX_BODY), 3 + PERC_TUN_MAX_BODY);
	CU_ASSERT_EQUAL(perc_tun_decode(tbuf, 3 + PERC_TUN_MAX_BODY, &tg), PERC_R_OK);
	CU_ASSERT_EQUAL(tg.dtls_len, PERC_TUN_MAX_BODY - 18);
	tm.dtls_len = PERC_TUN_MAX_BODY - 17;
	CU_ASSERT_EQUAL(perc_tun_encode(&tm, tbuf, sizeof(tbuf)), -PERC_R_OVERSIZED);
	CU_ASSERT_EQUAL(perc_tun_encode(&tm, b, sizeof(b)), -PERC_R_OVERSIZED);
	tm.dtls_len = 100;
	CU_ASSERT_EQUAL(perc_tun_encode(&tm, b, 3 + 18 + 99), -PERC_R_NO_ROOM);
	CU_ASSERT_EQUAL(perc_tun_encode(&tm, b, 3 + 18 + 100), 3 + 18 + 100);
}

/* Bytes arrive one at a time; a message is framed exactly when its last
 * byte is in, and a reader consumes them in order. */
static void
test_tun_frame_stream(void)
{
	static const int order[] = { PERC_TUN_SUPPORTED_PROFILES, PERC_TUN_TUNNELED_DTLS,
				     PERC_TUN_MEDIA_KEYS, PERC_TUN_ENDPOINT_DISCONNECT,
				     PERC_TUN_UNSUPPORTED_VERSION };
	uint8_t stream[2048], buf[2048];
	size_t ends[5], total = 0, have = 0;
	int got = 0;

	for (int i = 0; i < 5; i++) {
		int n = sample_msg(order[i], stream + total, sizeof(stream) - total);

		CU_ASSERT_FATAL(n > 0);
		total += (size_t)n;
		ends[i] = total;
	}
	for (size_t i = 0; i < total; i++) {
		size_t n;

		buf[have++] = stream[i];
		n = perc_tun_frame(buf, have);
		if (got < 5 && i + 1 == ends[got]) {
			CU_ASSERT_EQUAL_FATAL(n, have);
			CU_ASSERT_EQUAL(perc_tun_decode(buf, n, &tg), PERC_R_OK);
			CU_ASSERT_EQUAL(tg.type, order[got]);
			memmove(buf, buf + n, have - n);
			have -= n;
			got++;
		} else {
			CU_ASSERT_EQUAL(n, 0);
		}
	}
	CU_ASSERT_EQUAL(got, 5);
	CU_ASSERT_EQUAL(have, 0);
}

static void
test_tun_frame_back_to_back(void)
{
	uint8_t b[1024];
	int n1 = sample_msg(PERC_TUN_MEDIA_KEYS, b, sizeof(b));
	int n2 = sample_msg(PERC_TUN_TUNNELED_DTLS, b + n1, sizeof(b) - (size_t)n1);
	size_t f;

	CU_ASSERT_FATAL(n1 > 0 && n2 > 0);
	f = perc_tun_frame(b, (size_t)(n1 + n2));
	CU_ASSERT_EQUAL_FATAL(f, (size_t)n1);
	CU_ASSERT_EQUAL(perc_tun_decode(b, f, &tg), PERC_R_OK);
	CU_ASSERT_EQUAL(tg.type, PERC_TUN_MEDIA_KEYS);
	/* decode is given exactly one message: both together are too much */
	CU_ASSERT_EQUAL(perc_tun_decode(b, (size_t)(n1 + n2), &tg), PERC_R_OVERSIZED);
	CU_ASSERT_EQUAL(perc_tun_frame(b + f, (size_t)n2), (size_t)n2);
	CU_ASSERT_EQUAL(perc_tun_frame(b + f, (size_t)n2 - 1), 0);
	CU_ASSERT_EQUAL(perc_tun_decode(b + f, (size_t)n2, &tg), PERC_R_OK);
	CU_ASSERT_EQUAL(tg.type, PERC_TUN_TUNNELED_DTLS);
	CU_ASSERT_EQUAL(perc_tun_frame(b, 0), 0);
	CU_ASSERT_EQUAL(perc_tun_frame(b, 2), 0);
}

int
main(void)
{
	/* before anything touches OpenSSL, so every allocation is counted */
	mem_hooked = CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free) == 1;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	{
		T_SUITE("ekt");
		T_ADD(test_ekt_vectors);
		T_ADD(test_kwp_vectors);
		T_ADD(test_kwp_round_trip);
		T_ADD(test_kwp_errors);
		T_ADD(test_ekt_round_trip);
		T_ADD(test_ekt_field_in_packet);
		T_ADD(test_ekt_wrong_key);
		T_ADD(test_ekt_wrap_errors);
		T_ADD(test_ekt_truncated);
		T_ADD(test_ekt_oversized);
		T_ADD(test_ekt_unknown_type);
		T_ADD(test_ekt_bad_plaintext);
		T_ADD(test_ekt_no_alloc);
		T_ADD(test_ekt_threads);
	}
	{
		T_SUITE("ektkey");
		T_ADD(test_ektkey_encode_decode);
		T_ADD(test_ektkey_round_trip);
		T_ADD(test_ektkey_truncated);
		T_ADD(test_ektkey_bad);
	}
	{
		T_SUITE("tunnel");
		T_ADD(test_tun_vectors);
		T_ADD(test_tun_vector_fields);
		T_ADD(test_tun_round_trip);
		T_ADD(test_tun_truncated);
		T_ADD(test_tun_oversized);
		T_ADD(test_tun_unknown_type);
		T_ADD(test_tun_malformed);
		T_ADD(test_tun_other_version);
		T_ADD(test_tun_encode_errors);
		T_ADD(test_tun_frame_stream);
		T_ADD(test_tun_frame_back_to_back);
	}
	return t_run();
}
