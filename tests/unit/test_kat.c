/* SPDX-License-Identifier: BSD-3-Clause */
/* Known-answer data: the self-test on every architecture, the embedded copy
 * of the vectors, the vector parser, and the KDF. */
#include <sys/stat.h>

#include "perc/kdf.h"
#include "perc/profile.h"
#include "testutil.h"

static const char *const files[] = {
	"ekt.txt", "perc_double.txt", "rfc3711_kdf.txt", "rfc5649_kwp.txt", "rfc7714.txt",
	"rfc9185_tunnel.txt",
};

static void
test_selftest_every_arch(void)
{
	enum perc_arch archs[8];
	int n = t_archs(archs);

	CU_ASSERT_FATAL(n >= 1);
	for (int i = 0; i < n; i++) {
		int fails = perc_selftest(archs[i], stdout);

		CU_ASSERT_EQUAL(fails, 0);
	}
	/* the libsrtp engine has no session-key or double path: refused, not faked */
	CU_ASSERT_NOT_EQUAL(perc_selftest(PERC_ARCH_LIBSRTP, NULL), 0);
}

/* The library embeds tests/vectors at build time: they must be the files on
 * disk, and the files the project's shared copy. */
static void
test_embedded_match_files(void)
{
	for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *disk = t_read_vectors(files[i]);
		const char *emb = perc_kat_text(files[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(emb);
		CU_ASSERT_STRING_EQUAL(disk, emb);
		free(disk);
	}
}

static void
test_repo_copy_matches_shared(void)
{
	struct stat st;

	if (stat(PERC_SHARED_VECTORS_DIR, &st) != 0) {
		printf("  (no %s beside the checkout: comparison skipped)\n", PERC_SHARED_VECTORS_DIR);
		return;
	}
	for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[600];
		FILE *f;
		char *disk = t_read_vectors(files[i]), *shared;
		long n;

		snprintf(path, sizeof(path), "%s/%s", PERC_SHARED_VECTORS_DIR, files[i]);
		f = fopen(path, "rb");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fseek(f, 0, SEEK_SET);
		shared = calloc(1, (size_t)n + 1);
		CU_ASSERT_FATAL(fread(shared, 1, (size_t)n, f) == (size_t)n);
		fclose(f);
		CU_ASSERT_STRING_EQUAL(disk, shared);
		free(disk);
		free(shared);
	}
}

static void
test_parser(void)
{
	struct perc_kat_section s[4];
	char good[] = "# c\n\n[a b]\nk = 01\n  x=y  \n[c]\nz = 2\n";
	char bad1[] = "k = v\n";            /* pair before any section */
	char bad2[] = "[a]\nno equals sign\n";
	char bad3[] = "[a\n";               /* unterminated section */

	CU_ASSERT_EQUAL(perc_kat_parse(good, s, 4), 2);
	CU_ASSERT_STRING_EQUAL(s[0].name, "a b");
	CU_ASSERT_STRING_EQUAL(perc_kat_get(&s[0], "k"), "01");
	CU_ASSERT_STRING_EQUAL(perc_kat_get(&s[0], "x"), "y");
	CU_ASSERT_PTR_NULL(perc_kat_get(&s[0], "z"));
	CU_ASSERT_STRING_EQUAL(perc_kat_get(&s[1], "z"), "2");
	CU_ASSERT_EQUAL(perc_kat_parse(bad1, s, 4), -1);
	CU_ASSERT_EQUAL(perc_kat_parse(bad2, s, 4), -1);
	CU_ASSERT_EQUAL(perc_kat_parse(bad3, s, 4), -1);
}

static void
test_hex(void)
{
	uint8_t b[4];
	char out[9];

	CU_ASSERT_EQUAL(perc_hex_decode("00fFa1", b, sizeof(b)), 3);
	CU_ASSERT_EQUAL(b[1], 0xff);
	CU_ASSERT_EQUAL(perc_hex_decode("0x0102", b, sizeof(b)), 2);
	CU_ASSERT_EQUAL(perc_hex_decode("abc", b, sizeof(b)), -1);
	CU_ASSERT_EQUAL(perc_hex_decode("zz", b, sizeof(b)), -1);
	CU_ASSERT_EQUAL(perc_hex_decode("0102030405", b, sizeof(b)), -1);
	perc_hex_encode((const uint8_t *)"\x01\xab", 2, out);
	CU_ASSERT_STRING_EQUAL(out, "01ab");
}

/* GCM profiles zero-pad the 12-byte master salt to 14 before the PRF and
 * cut the session salt to 12 bytes (PROTOCOL.md); a 12-byte and the padded
 * 14-byte salt must give the same keys. Bad key lengths are refused. */
static void
test_kdf_gcm_salt_padding(void)
{
	uint8_t mk[32], ms12[12], ms14[14] = { 0 }, a[32], b[32];

	for (int i = 0; i < 32; i++)
		mk[i] = (uint8_t)(i * 7);
	for (int i = 0; i < 12; i++)
		ms12[i] = ms14[i] = (uint8_t)(0xa0 + i);
	for (uint8_t label = 0; label < 6; label++) {
		CU_ASSERT_EQUAL(perc_kdf(mk, 32, ms12, 12, label, a, 32), 0);
		CU_ASSERT_EQUAL(perc_kdf(mk, 32, ms14, 14, label, b, 32), 0);
		CU_ASSERT_EQUAL(memcmp(a, b, 32), 0);
	}
	CU_ASSERT_EQUAL(perc_kdf(mk, 24, ms14, 14, 0, a, 16), -1);
	CU_ASSERT_EQUAL(perc_kdf(mk, 16, ms14, 13, 0, a, 16), -1);
	/* double profiles are refused by the per-layer derivation */
	struct perc_session_keys sk;

	CU_ASSERT_EQUAL(perc_kdf_session(perc_profile_by_id(PERC_DOUBLE_AES_128_GCM), mk, ms14, &sk),
			-1);
	CU_ASSERT_EQUAL(perc_kdf_session(perc_profile_by_id(PERC_AEAD_AES_256_GCM), mk, ms12, &sk), 0);
	CU_ASSERT_EQUAL(sk.key_len, 32);
	CU_ASSERT_EQUAL(sk.salt_len, 12);
}

static void
test_profiles(void)
{
	const struct perc_profile *p = perc_profile_by_name("double_aead_aes_256_gcm_aead_aes_256_gcm");

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(p->id, 0x000a);
	CU_ASSERT_EQUAL(p->key_len, 64);
	CU_ASSERT_EQUAL(perc_profile_layer(p)->id, PERC_AEAD_AES_256_GCM);
	CU_ASSERT_EQUAL(perc_profile_by_id(2)->rtp_tag_len, 4);
	CU_ASSERT_EQUAL(perc_profile_by_id(2)->rtcp_tag_len, 10);
	CU_ASSERT_PTR_NULL(perc_profile_by_id(3));
	CU_ASSERT_PTR_NULL(perc_profile_by_name("SRTP_NULL"));
	CU_ASSERT_STRING_EQUAL(perc_reason_name(PERC_R_AUTH), "auth");
	CU_ASSERT_STRING_EQUAL(perc_reason_name(PERC_R_REPLAY), "replay");
	CU_ASSERT_STRING_EQUAL(perc_reason_name(PERC_R_MALFORMED), "malformed");
	CU_ASSERT_STRING_EQUAL(perc_reason_name(999), "?");
}

int
main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	T_SUITE("kat");
	T_ADD(test_selftest_every_arch);
	T_ADD(test_embedded_match_files);
	T_ADD(test_repo_copy_matches_shared);
	T_ADD(test_parser);
	T_ADD(test_hex);
	T_ADD(test_kdf_gcm_salt_padding);
	T_ADD(test_profiles);
	return t_run();
}
