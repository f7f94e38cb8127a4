/* SPDX-License-Identifier: BSD-3-Clause */
/* STUN codec: the RFC 5769 vectors (short-term ones), round trips of every
 * builder, every truncation, every flipped bit, wrong passwords. */
#include "perc/reason.h"
#include "perc/stun.h"
#include "testutil.h"

/* RFC 5769 2.1-2.3, typed in from the RFC's hex dumps. */
static const char *const rfc5769_request =
	"000100582112a442b7e7a701bc34d686fa87dfae"
	"80220010" "5354554e2074657374" "20636c69656e74"
	"00240004" "6e0001ff"
	"80290008" "932ff9b151263b36"
	"00060009" "6576746a3a68367659202020"
	"00080014" "9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2"
	"80280004" "e57a3bcf";
static const char *const rfc5769_resp4 =
	"0101003c2112a442b7e7a701bc34d686fa87dfae"
	"8022000b" "7465737420766563746f7220"
	"00200008" "0001a147e112a643"
	"00080014" "2b91f599fd9e90c38c7489f92af9ba53f06be7d7"
	"80280004" "c07d4c96";
static const char *const rfc5769_resp6 =
	"010100482112a442b7e7a701bc34d686fa87dfae"
	"8022000b" "7465737420766563746f7220"
	"00200014" "0002a1470113a9faa5d3f179bc25f4b5bed2b9d9"
	"00080014" "a382954e4be67bf11784c97c8292c275bfe3ed41"
	"80280004" "c8fb0b4c";
static const char pw[] = "VOkJxbRl1RmTxUk/WvJxBt";
#define PWL (sizeof(pw) - 1)

static const uint8_t tid5769[12] = { 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
				     0xfa, 0x87, 0xdf, 0xae };

static void
test_crc32(void)
{
	uint8_t buf[300];
	uint64_t s = 7;

	CU_ASSERT_EQUAL(perc_stun_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
	CU_ASSERT_EQUAL(perc_stun_crc32(buf, 0), 0);
	/* the table against the bitwise definition */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)t_rand(&s);
	for (size_t n = 0; n <= sizeof(buf); n += 37) {
		uint32_t c = 0xFFFFFFFFu;

		for (size_t i = 0; i < n; i++) {
			c ^= buf[i];
			for (int k = 0; k < 8; k++)
				c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		}
		CU_ASSERT_EQUAL(perc_stun_crc32(buf, n), c ^ 0xFFFFFFFFu);
	}
}

static void
test_rfc5769_request(void)
{
	uint8_t b[256];
	size_t n = t_hex(rfc5769_request, b, sizeof(b));
	uint8_t *d = t_dup_exact(b, n);
	struct perc_stun_msg m;

	CU_ASSERT_EQUAL_FATAL(n, 108);
	CU_ASSERT_TRUE(perc_stun_is_stun(d, n));
	CU_ASSERT_EQUAL_FATAL(perc_stun_parse(d, n, &m), PERC_R_OK);
	CU_ASSERT_EQUAL(m.type, PERC_STUN_BINDING_REQUEST);
	CU_ASSERT_EQUAL(memcmp(m.tid, tid5769, 12), 0);
	CU_ASSERT_EQUAL(m.username_len, 9);
	CU_ASSERT_EQUAL(memcmp(m.username, "evtj:h6vY", 9), 0);
	CU_ASSERT_TRUE(m.has_priority);
	CU_ASSERT_EQUAL(m.priority, 0x6e0001ffu);
	CU_ASSERT_TRUE(m.ice_controlled);
	CU_ASSERT_FALSE(m.ice_controlling);
	CU_ASSERT_EQUAL(m.tie_breaker, 0x932ff9b151263b36ull);
	CU_ASSERT_FALSE(m.use_candidate);
	CU_ASSERT_TRUE(m.has_fingerprint);
	CU_ASSERT_EQUAL(m.mi_off, 76);
	CU_ASSERT_EQUAL(m.n_unknown, 0);
	CU_ASSERT_EQUAL(perc_stun_check_integrity(&m, pw, PWL), PERC_R_OK);
	CU_ASSERT_EQUAL(perc_stun_check_integrity(&m, "VOkJxbRl1RmTxUk/WvJxBu", PWL), PERC_R_AUTH);
	CU_ASSERT_EQUAL(perc_stun_check_integrity(&m, pw, PWL - 1), PERC_R_AUTH);
	free(d);
}

static void
check_response(const char *hex, size_t want_len, uint8_t family, const uint8_t *addr)
{
	uint8_t b[256];
	size_t n = t_hex(hex, b, sizeof(b));
	uint8_t *d = t_dup_exact(b, n);
	struct perc_stun_msg m;

	CU_ASSERT_EQUAL_FATAL(n, want_len);
	CU_ASSERT_EQUAL_FATAL(perc_stun_parse(d, n, &m), PERC_R_OK);
	CU_ASSERT_EQUAL(m.type, PERC_STUN_BINDING_SUCCESS);
	CU_ASSERT_TRUE(m.has_fingerprint);
	CU_ASSERT_TRUE_FATAL(m.has_xor_mapped);
	CU_ASSERT_EQUAL(m.xor_mapped.family, family);
	CU_ASSERT_EQUAL(m.xor_mapped.port, 32853);
	CU_ASSERT_EQUAL(memcmp(m.xor_mapped.addr, addr, family == 4 ? 4 : 16), 0);
	CU_ASSERT_EQUAL(perc_stun_check_integrity(&m, pw, PWL), PERC_R_OK);
	CU_ASSERT_EQUAL(perc_stun_check_integrity(&m, "wrong", 5), PERC_R_AUTH);
	free(d);
}

static void
test_rfc5769_responses(void)
{
	static const uint8_t a4[4] = { 192, 0, 2, 1 };
	static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
					0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77 };

	check_response(rfc5769_resp4, 80, 4, a4);
	check_response(rfc5769_resp6, 92, 6, a6);
}

/* Every prefix is refused, and never by reading past it (exact-size copies). */
static void
check_truncations(const uint8_t *b, size_t n)
{
	struct perc_stun_msg m;

	for (size_t k = 0; k < n; k++) {
		uint8_t *d = t_dup_exact(b, k);

		CU_ASSERT_EQUAL(perc_stun_parse(d, k, &m), PERC_R_TRUNCATED);
		free(d);
	}
	/* a trailing byte is refused too */
	{
		uint8_t *d = malloc(n + 1);

		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		memcpy(d, b, n);
		d[n] = 0;
		CU_ASSERT_EQUAL(perc_stun_parse(d, n + 1, &m), PERC_R_MALFORMED);
		free(d);
	}
}

/* Every single flipped bit is refused by the parse (header, lengths,
 * FINGERPRINT) or by MESSAGE-INTEGRITY. */
static void
check_bitflips(const uint8_t *b, size_t n, const char *pass, size_t pass_len)
{
	uint8_t *d = t_dup_exact(b, n);
	struct perc_stun_msg m;
	unsigned accepted = 0;

	for (size_t bit = 0; bit < 8 * n; bit++) {
		d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (perc_stun_parse(d, n, &m) == PERC_R_OK &&
		    perc_stun_check_integrity(&m, pass, pass_len) == PERC_R_OK) {
			printf("  bit %zu flipped and accepted\n", bit);
			accepted++;
		}
		d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	CU_ASSERT_EQUAL(accepted, 0);
	free(d);
}

static void
test_rfc5769_truncations_and_flips(void)
{
	const char *v[] = { rfc5769_request, rfc5769_resp4, rfc5769_resp6 };

	for (unsigned i = 0; i < 3; i++) {
		uint8_t b[256];
		size_t n = t_hex(v[i], b, sizeof(b));

		check_truncations(b, n);
		check_bitflips(b, n, pw, PWL);
	}
}

static void
test_header_checks(void)
{
	uint8_t b[256];
	size_t n = t_hex(rfc5769_resp4, b, sizeof(b));
	struct perc_stun_msg m;

	b[0] |= 0x80;   /* not STUN: RTP/RTCP-looking */
	CU_ASSERT_EQUAL(perc_stun_parse(b, n, &m), PERC_R_MALFORMED);
	CU_ASSERT_FALSE(perc_stun_is_stun(b, n));
	b[0] &= 0x7f;
	b[4] ^= 1;      /* RFC 3489: no cookie */
	CU_ASSERT_EQUAL(perc_stun_parse(b, n, &m), PERC_R_UNKNOWN);
	b[4] ^= 1;
	b[3] = 0x3d;    /* length not a multiple of 4 */
	CU_ASSERT_EQUAL(perc_stun_parse(b, n, &m), PERC_R_MALFORMED);
	b[3] = 0x3c;
	CU_ASSERT_EQUAL(perc_stun_parse(b, n, &m), PERC_R_OK);
}

static void
test_key_check(void)
{
	CU_ASSERT_EQUAL(perc_stun_key_check(pw, PWL), PERC_R_OK);
	CU_ASSERT_EQUAL(perc_stun_key_check("", 0), PERC_R_KEY);
	CU_ASSERT_EQUAL(perc_stun_key_check(NULL, 3), PERC_R_KEY);
	CU_ASSERT_EQUAL(perc_stun_key_check("a\tb", 3), PERC_R_KEY);
	CU_ASSERT_EQUAL(perc_stun_key_check("\xc3\xa9t\xc3\xa9", 6), PERC_R_KEY);
	CU_ASSERT_EQUAL(perc_stun_key_check("a b~", 4), PERC_R_OK);
	{
		char big[PERC_STUN_MAX_PASSWORD + 1];

		memset(big, 'x', sizeof(big));
		CU_ASSERT_EQUAL(perc_stun_key_check(big, sizeof(big)), PERC_R_OVERSIZED);
		CU_ASSERT_EQUAL(perc_stun_key_check(big, sizeof(big) - 1), PERC_R_OK);
	}
}

static void
test_success_round_trip(void)
{
	struct perc_stun_addr a4 = { .family = 4, .port = 32853, .addr = { 192, 0, 2, 1 } };
	struct perc_stun_addr a6 = { .family = 6, .port = 1,
				     .addr = { 0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8,
					       9, 10, 11, 0xff } };
	const struct perc_stun_addr *as[] = { &a4, &a6 };
	uint8_t out[256];
	struct perc_stun_msg m;

	for (unsigned i = 0; i < 2; i++) {
		int n = perc_stun_build_success(out, sizeof(out), tid5769, as[i], pw, PWL);

		CU_ASSERT_FATAL(n > 0);
		CU_ASSERT_EQUAL((size_t)n, 20 + 4 + (i ? 20 : 8) + 24 + 8);
		CU_ASSERT_EQUAL_FATAL(perc_stun_parse(out, (size_t)n, &m), PERC_R_OK);
		CU_ASSERT_EQUAL(m.type, PERC_STUN_BINDING_SUCCESS);
		CU_ASSERT_EQUAL(memcmp(m.tid, tid5769, 12), 0);
		CU_ASSERT_TRUE(m.has_xor_mapped);
		CU_ASSERT_EQUAL(m.xor_mapped.family, as[i]->family);
		CU_ASSERT_EQUAL(m.xor_mapped.port, as[i]->port);
		CU_ASSERT_EQUAL(memcmp(m.xor_mapped.addr, as[i]->addr, 16), 0);
		CU_ASSERT_TRUE(m.has_fingerprint);
		CU_ASSERT_EQUAL(perc_stun_check_integrity(&m, pw, PWL), PERC_R_OK);
		CU_ASSERT_EQUAL(perc_stun_check_integrity(&m, "VOkJxbRl1RmTxUk/WvJxBT", PWL),
				PERC_R_AUTH);
		check_truncations(out, (size_t)n);
		check_bitflips(out, (size_t)n, pw, PWL);
		/* every buffer too small is refused, never overrun */
		for (int cap = 0; cap < n; cap++) {
			uint8_t *small = malloc((size_t)cap + 1);

			CU_ASSERT_PTR_NOT_NULL_FATAL(small);
			CU_ASSERT_EQUAL(perc_stun_build_success(small, (size_t)cap, tid5769, as[i],
								pw, PWL), -PERC_R_NO_ROOM);
			free(small);
		}
	}
	/* the IPv4 XOR-MAPPED-ADDRESS bytes are RFC 5769's */
	{
		uint8_t want[12];

		CU_ASSERT_FATAL(perc_stun_build_success(out, sizeof(out), tid5769, &a4, pw, PWL) > 0);
		t_hex("002000080001a147e112a643", want, sizeof(want));
		CU_ASSERT_EQUAL(memcmp(out + 20, want, 12), 0);
	}
	a4.family = 5;
	CU_ASSERT_EQUAL(perc_stun_build_success(out, sizeof(out), tid5769, &a4, pw, PWL),
			-PERC_R_MALFORMED);
	a4.family = 4;
	CU_ASSERT_EQUAL(perc_stun_build_success(out, sizeof(out), tid5769, &a4, "bad\n", 4),
			-PERC_R_KEY);
}

static void
test_error_round_trip(void)
{
	static const uint16_t codes[] = { 400, 401, 420, 487, 500, 699, 300 };
	uint16_t unk[3] = { 0x0033, 0x7fff, 0x0001 };
	uint8_t out[1024];
	struct perc_stun_msg m;

	for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		bool auth = codes[i] != 400 && codes[i] != 401;
		unsigned nu = codes[i] == 420 ? (i % 3) + 1 : 0;
		int n = perc_stun_build_error(out, sizeof(out), tid5769, codes[i], NULL, unk, nu,
					      auth ? pw : NULL, PWL);

		CU_ASSERT_FATAL(n > 0);
		CU_ASSERT_EQUAL(n % 4, 0);
		CU_ASSERT_EQUAL_FATAL(perc_stun_parse(out, (size_t)n, &m), PERC_R_OK);
		CU_ASSERT_EQUAL(m.type, PERC_STUN_BINDING_ERROR);
		CU_ASSERT_TRUE(m.has_error);
		CU_ASSERT_EQUAL(m.error_code, codes[i]);
		CU_ASSERT_TRUE(m.has_fingerprint);
		CU_ASSERT_EQUAL(perc_stun_check_integrity(&m, pw, PWL), auth ? PERC_R_OK : PERC_R_AUTH);
		if (codes[i] == 420) {
			CU_ASSERT_EQUAL(m.error_reason_len, strlen("Unknown Attribute"));
			CU_ASSERT_EQUAL(memcmp(m.error_reason, "Unknown Attribute", 17), 0);
			/* the UNKNOWN-ATTRIBUTES value lists them in order */
			CU_ASSERT_EQUAL(out[20 + 4 + 4 + 20], 0x00);
			CU_ASSERT_EQUAL(out[20 + 4 + 4 + 20 + 1], 0x0a);
			CU_ASSERT_EQUAL(out[20 + 4 + 4 + 20 + 3], 2 * nu);
			CU_ASSERT_EQUAL(out[20 + 4 + 4 + 20 + 4 + 1], 0x33);
		}
		check_truncations(out, (size_t)n);
		check_bitflips(out, (size_t)n, pw, PWL);
	}
	/* caller's reason phrase, with padding */
	{
		int n = perc_stun_build_error(out, sizeof(out), tid5769, 487, "Role!", NULL, 0,
					      pw, PWL);

		CU_ASSERT_FATAL(n > 0);
		CU_ASSERT_EQUAL_FATAL(perc_stun_parse(out, (size_t)n, &m), PERC_R_OK);
		CU_ASSERT_EQUAL(m.error_reason_len, 5);
		CU_ASSERT_EQUAL(memcmp(m.error_reason, "Role!", 5), 0);
	}
	CU_ASSERT_EQUAL(perc_stun_build_error(out, sizeof(out), tid5769, 299, NULL, NULL, 0,
					      NULL, 0), -PERC_R_MALFORMED);
	CU_ASSERT_EQUAL(perc_stun_build_error(out, sizeof(out), tid5769, 700, NULL, NULL, 0,
					      NULL, 0), -PERC_R_MALFORMED);
	CU_ASSERT_EQUAL(perc_stun_build_error(out, sizeof(out), tid5769, 420, NULL, NULL, 2,
					      NULL, 0), -PERC_R_MALFORMED);
	CU_ASSERT_EQUAL(perc_stun_build_error(out, 40, tid5769, 420, NULL, unk, 3, pw, PWL),
			-PERC_R_NO_ROOM);
}

static void
test_request_round_trip(void)
{
	struct perc_stun_request rq = {
		.remote_ufrag = "evtj", .local_ufrag = "h6vYx", .priority = 0x6e0001ff,
		.controlling = true, .tie_breaker = 0x0102030405060708ull,
		.use_candidate = true,
	};
	uint8_t out[700];
	struct perc_stun_msg m;

	for (int variant = 0; variant < 2; variant++) {
		int n;

		rq.controlling = variant == 0;
		rq.use_candidate = variant == 0;
		n = perc_stun_build_request(out, sizeof(out), tid5769, &rq, pw, PWL);
		CU_ASSERT_FATAL(n > 0);
		CU_ASSERT_EQUAL_FATAL(perc_stun_parse(out, (size_t)n, &m), PERC_R_OK);
		CU_ASSERT_EQUAL(m.type, PERC_STUN_BINDING_REQUEST);
		CU_ASSERT_EQUAL(m.username_len, 10);
		CU_ASSERT_EQUAL(memcmp(m.username, "evtj:h6vYx", 10), 0);
		CU_ASSERT_TRUE(m.has_priority);
		CU_ASSERT_EQUAL(m.priority, 0x6e0001ffu);
		CU_ASSERT_EQUAL(m.ice_controlling, variant == 0);
		CU_ASSERT_EQUAL(m.ice_controlled, variant == 1);
		CU_ASSERT_EQUAL(m.tie_breaker, 0x0102030405060708ull);
		CU_ASSERT_EQUAL(m.use_candidate, variant == 0);
		CU_ASSERT_TRUE(m.has_fingerprint);
		CU_ASSERT_EQUAL(m.n_unknown, 0);
		CU_ASSERT_EQUAL(perc_stun_check_integrity(&m, pw, PWL), PERC_R_OK);
		CU_ASSERT_EQUAL(perc_stun_check_integrity(&m, "x", 1), PERC_R_AUTH);
		check_truncations(out, (size_t)n);
		check_bitflips(out, (size_t)n, pw, PWL);
	}
	/* the longest USERNAME RFC 5389 allows, and one byte more */
	{
		char r[300], l[300];
		int n;

		memset(r, 'r', sizeof(r));
		memset(l, 'l', sizeof(l));
		r[255] = 0;
		l[256] = 0;
		rq.remote_ufrag = r;
		rq.local_ufrag = l;
		n = perc_stun_build_request(out, sizeof(out), tid5769, &rq, pw, PWL);
		CU_ASSERT_FATAL(n > 0);
		CU_ASSERT_EQUAL_FATAL(perc_stun_parse(out, (size_t)n, &m), PERC_R_OK);
		CU_ASSERT_EQUAL(m.username_len, 512);
		l[256] = 'l';
		l[257] = 0;
		CU_ASSERT_EQUAL(perc_stun_build_request(out, sizeof(out), tid5769, &rq, pw, PWL),
				-PERC_R_OVERSIZED);
		rq.local_ufrag = NULL;
		CU_ASSERT_EQUAL(perc_stun_build_request(out, sizeof(out), tid5769, &rq, pw, PWL),
				-PERC_R_MALFORMED);
	}
}

/* A Binding request made by hand: the RFC 5769 header with the attributes
 * given in hex and the length field set; returns the length. */
static size_t
hand_msg(uint8_t *b, const char *attrs_hex)
{
	size_t n = t_hex("000100002112a442b7e7a701bc34d686fa87dfae", b, 20);

	n += t_hex(attrs_hex, b + 20, 580);
	b[2] = (uint8_t)((n - 20) >> 8);
	b[3] = (uint8_t)(n - 20);
	return n;
}

static void
test_attribute_checks(void)
{
	uint8_t b[600];
	struct perc_stun_msg m;
	size_t n;

	/* unknown comprehension-required listed, optional ones ignored */
	n = hand_msg(b, "00330002abcd0000" "c0010000" "7fff0000" "00330000");
	CU_ASSERT_EQUAL_FATAL(perc_stun_parse(b, n, &m), PERC_R_OK);
	CU_ASSERT_EQUAL(m.n_unknown, 3);
	CU_ASSERT_EQUAL(m.unknown[0], 0x0033);
	CU_ASSERT_EQUAL(m.unknown[1], 0x7fff);
	CU_ASSERT_EQUAL(perc_stun_check_integrity(&m, pw, PWL), PERC_R_AUTH);
	/* more unknowns than slots: counted, the first kept */
	n = hand_msg(b, "00400000004100000042000000430000004400000045000000460000004700000048000000490000");
	CU_ASSERT_EQUAL_FATAL(perc_stun_parse(b, n, &m), PERC_R_OK);
	CU_ASSERT_EQUAL(m.n_unknown, 10);
	CU_ASSERT_EQUAL(m.unknown[PERC_STUN_MAX_UNKNOWN - 1], 0x0047);
	/* wrong value lengths */
	n = hand_msg(b, "0024000300000000");
	CU_ASSERT_EQUAL(perc_stun_parse(b, n, &m), PERC_R_MALFORMED);
	n = hand_msg(b, "0025000400000000");
	CU_ASSERT_EQUAL(perc_stun_parse(b, n, &m), PERC_R_MALFORMED);
	n = hand_msg(b, "802a000400000000");
	CU_ASSERT_EQUAL(perc_stun_parse(b, n, &m), PERC_R_MALFORMED);
	n = hand_msg(b, "002000080003a147e112a643");
	CU_ASSERT_EQUAL(perc_stun_parse(b, n, &m), PERC_R_MALFORMED);
	n = hand_msg(b, "002000140001a147e112a643e112a643e112a643e112a643");
	CU_ASSERT_EQUAL(perc_stun_parse(b, n, &m), PERC_R_MALFORMED);
	n = hand_msg(b, "000800100000000000000000000000000000000000000000");
	CU_ASSERT_EQUAL(perc_stun_parse(b, n, &m), PERC_R_MALFORMED);
	/* ERROR-CODE: class 2 and number 100 refused */
	n = hand_msg(b, "0009000400000200");
	CU_ASSERT_EQUAL(perc_stun_parse(b, n, &m), PERC_R_MALFORMED);
	n = hand_msg(b, "0009000400000464");
	CU_ASSERT_EQUAL(perc_stun_parse(b, n, &m), PERC_R_MALFORMED);
	n = hand_msg(b, "0009000400000414");
	CU_ASSERT_EQUAL_FATAL(perc_stun_parse(b, n, &m), PERC_R_OK);
	CU_ASSERT_EQUAL(m.error_code, 420);
	/* attribute running past the message */
	n = hand_msg(b, "0006000861626364");
	CU_ASSERT_EQUAL(perc_stun_parse(b, n, &m), PERC_R_TRUNCATED);
	/* FINGERPRINT not last, or wrong */
	n = hand_msg(b, "8028000400000000" "00250000");
	CU_ASSERT_EQUAL(perc_stun_parse(b, n, &m), PERC_R_MALFORMED);
	n = hand_msg(b, "8028000400000000");
	CU_ASSERT_EQUAL(perc_stun_parse(b, n, &m), PERC_R_MALFORMED);
	/* anything but FINGERPRINT after MESSAGE-INTEGRITY */
	n = hand_msg(b, "00080014" "0000000000000000000000000000000000000000" "00250000");
	CU_ASSERT_EQUAL(perc_stun_parse(b, n, &m), PERC_R_MALFORMED);
	/* duplicates: the first counts */
	n = hand_msg(b, "0024000400000001" "0024000400000002");
	CU_ASSERT_EQUAL_FATAL(perc_stun_parse(b, n, &m), PERC_R_OK);
	CU_ASSERT_EQUAL(m.priority, 1);
	/* USERNAME of 513 bytes refused */
	{
		char hex[2 * 516 + 16];

		memcpy(hex, "00060201", 8);
		memset(hex + 8, '6', 2 * 516);
		hex[8 + 2 * 516] = 0;
		n = hand_msg(b, hex);
		CU_ASSERT_EQUAL(n, 20 + 4 + 516);
		CU_ASSERT_EQUAL(perc_stun_parse(b, n, &m), PERC_R_MALFORMED);
	}
}

int
main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	T_SUITE("stun");
	T_ADD(test_crc32);
	T_ADD(test_rfc5769_request);
	T_ADD(test_rfc5769_responses);
	T_ADD(test_rfc5769_truncations_and_flips);
	T_ADD(test_header_checks);
	T_ADD(test_key_check);
	T_ADD(test_success_round_trip);
	T_ADD(test_error_round_trip);
	T_ADD(test_request_round_trip);
	T_ADD(test_attribute_checks);
	return t_run();
}
