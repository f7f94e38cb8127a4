/* SPDX-License-Identifier: BSD-3-Clause */
/* Endpoint <-> KD messages (kdproto.h): round trips of every type, every
 * truncation and every extension of a valid message, bounds, and the join
 * rekey step against HKDF written out with HMAC-SHA256 (RFC 5869). */
#include <openssl/hmac.h>

#include "perc/kdproto.h"
#include "perc/reason.h"
#include "testutil.h"

static struct perc_kd_msg
sample(uint8_t type)
{
	static const char tok[] = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln";
	struct perc_kd_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.token = tok;
	m.token_len = sizeof(tok) - 1;
	m.seq = 0xdeadbeef;
	m.spi = 0x1234;
	m.ekt_key_len = 16;
	for (unsigned i = 0; i < 16; i++)
		m.ekt_key[i] = (uint8_t)(0xa0 + i);
	m.salt_len = 12;
	for (unsigned i = 0; i < 12; i++)
		m.salt[i] = (uint8_t)(0x10 + i);
	m.ttl = 86400;
	m.roster.version = 7;
	m.roster.n = 3;
	strcpy(m.roster.ids[0], "c1-alice");
	strcpy(m.roster.ids[1], "c1-bob");
	strcpy(m.roster.ids[2], "c1-carol");
	m.code = PERC_KD_E_TOKEN;
	strcpy(m.text, "token bound to another certificate");
	return m;
}

static const uint8_t all_types[] = {
	PERC_KD_AUTH, PERC_KD_KEEPALIVE, PERC_KD_KEEPALIVE_ACK, PERC_KD_EKT_STEP,
	PERC_KD_EKT_ACK, PERC_KD_ERROR, PERC_KD_BYE, PERC_KD_EKT_KEY,
};

static void
check_equal(const struct perc_kd_msg *a, const struct perc_kd_msg *b)
{
	CU_ASSERT_EQUAL(a->type, b->type);
	switch (a->type) {
	case PERC_KD_AUTH:
		CU_ASSERT_EQUAL(a->token_len, b->token_len);
		CU_ASSERT(memcmp(a->token, b->token, a->token_len) == 0);
		break;
	case PERC_KD_KEEPALIVE:
	case PERC_KD_KEEPALIVE_ACK:
		CU_ASSERT_EQUAL(a->seq, b->seq);
		break;
	case PERC_KD_EKT_ACK:
		CU_ASSERT_EQUAL(a->spi, b->spi);
		break;
	case PERC_KD_EKT_KEY:
		CU_ASSERT_EQUAL(a->ekt_key_len, b->ekt_key_len);
		CU_ASSERT(memcmp(a->ekt_key, b->ekt_key, a->ekt_key_len) == 0);
		CU_ASSERT_EQUAL(a->salt_len, b->salt_len);
		CU_ASSERT(memcmp(a->salt, b->salt, a->salt_len) == 0);
		CU_ASSERT_EQUAL(a->ttl, b->ttl);
		/* fall through: SPI and roster */
	case PERC_KD_EKT_STEP:
		CU_ASSERT_EQUAL(a->spi, b->spi);
		CU_ASSERT_EQUAL(a->roster.version, b->roster.version);
		CU_ASSERT_EQUAL(a->roster.n, b->roster.n);
		for (unsigned i = 0; i < a->roster.n; i++)
			CU_ASSERT_STRING_EQUAL(a->roster.ids[i], b->roster.ids[i]);
		break;
	case PERC_KD_ERROR:
		CU_ASSERT_EQUAL(a->code, b->code);
		CU_ASSERT_STRING_EQUAL(a->text, b->text);
		break;
	default:
		break;
	}
}

static void
test_round_trips(void)
{
	uint8_t buf[PERC_KD_MAX_MSG];

	for (unsigned t = 0; t < sizeof(all_types); t++) {
		struct perc_kd_msg m = sample(all_types[t]), d;
		int n = perc_kd_encode(&m, buf, sizeof(buf));

		CU_ASSERT_FATAL(n >= (int)PERC_KD_HDR);
		CU_ASSERT_EQUAL(buf[0], all_types[t]);
		CU_ASSERT_EQUAL((buf[1] << 8 | buf[2]) + (int)PERC_KD_HDR, n);
		CU_ASSERT_EQUAL_FATAL(perc_kd_decode(buf, (size_t)n, &d), PERC_R_OK);
		check_equal(&m, &d);
		/* every shorter buffer to encode into is refused, never overrun */
		for (int cap = 0; cap < n; cap++)
			CU_ASSERT_EQUAL(perc_kd_encode(&m, buf, (size_t)cap), -PERC_R_NO_ROOM);
	}
}

/* The EKT_KEY body starts with the RFC 8870 EKTKey fields byte for byte. */
static void
test_ekt_key_layout(void)
{
	struct perc_kd_msg m = sample(PERC_KD_EKT_KEY);
	uint8_t buf[512];
	int n = perc_kd_encode(&m, buf, sizeof(buf));
	const uint8_t *b = buf + PERC_KD_HDR;

	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(b[0] << 8 | b[1], 16);
	CU_ASSERT(memcmp(b + 2, m.ekt_key, 16) == 0);
	CU_ASSERT_EQUAL(b[18] << 8 | b[19], 12);
	CU_ASSERT(memcmp(b + 20, m.salt, 12) == 0);
	CU_ASSERT_EQUAL(b[32] << 8 | b[33], 0x1234);
	CU_ASSERT_EQUAL(b[34] << 16 | b[35] << 8 | b[36], 86400);
	/* roster: version 7, three ids */
	CU_ASSERT_EQUAL(b[40], 7);
	CU_ASSERT_EQUAL(b[41], 3);
	CU_ASSERT_EQUAL(b[42], 8);
	CU_ASSERT(memcmp(b + 43, "c1-alice", 8) == 0);
}

/* Every cut of a valid message, and every valid message with a byte more
 * (header length adjusted or not), is refused with the right reason. */
static void
test_truncations_and_trailers(void)
{
	uint8_t buf[PERC_KD_MAX_MSG];

	for (unsigned t = 0; t < sizeof(all_types); t++) {
		struct perc_kd_msg m = sample(all_types[t]), d;
		int n = perc_kd_encode(&m, buf, sizeof(buf));
		uint16_t bl;

		CU_ASSERT_FATAL(n > 0);
		for (int cut = 0; cut < n; cut++) {
			uint8_t *c = t_dup_exact(buf, (size_t)cut);

			CU_ASSERT_NOT_EQUAL(perc_kd_decode(c, (size_t)cut, &d), PERC_R_OK);
			free(c);
		}
		/* body length in the header cut, bytes left over */
		bl = (uint16_t)(n - (int)PERC_KD_HDR);
		if (bl > 0) {
			uint8_t *c = t_dup_exact(buf, (size_t)n);

			c[1] = (uint8_t)((bl - 1) >> 8);
			c[2] = (uint8_t)(bl - 1);
			CU_ASSERT_EQUAL(perc_kd_decode(c, (size_t)n, &d), PERC_R_OVERSIZED);
			/* the same message cut to its declared length is short inside
			 * (AUTH is any non-empty text, so a shorter token is valid) */
			if (all_types[t] != PERC_KD_AUTH && all_types[t] != PERC_KD_ERROR)
				CU_ASSERT_NOT_EQUAL(perc_kd_decode(c, (size_t)n - 1, &d), PERC_R_OK);
			free(c);
		}
		/* one byte more in the body than the type takes */
		if (all_types[t] != PERC_KD_AUTH && all_types[t] != PERC_KD_ERROR) {
			uint8_t *c = t_dup_exact(buf, (size_t)n + 1);

			c[n] = 0;
			c[1] = (uint8_t)((bl + 1) >> 8);
			c[2] = (uint8_t)(bl + 1);
			CU_ASSERT_EQUAL(perc_kd_decode(c, (size_t)n + 1, &d), PERC_R_OVERSIZED);
			free(c);
		}
	}
}

static void
test_bounds(void)
{
	uint8_t buf[PERC_KD_MAX_MSG + 8];
	struct perc_kd_msg m = sample(PERC_KD_EKT_KEY), d;
	char big[PERC_KD_MAX_TOKEN + 2];

	/* unknown types both ways */
	m.type = 99;
	CU_ASSERT_EQUAL(perc_kd_encode(&m, buf, sizeof(buf)), -PERC_R_UNKNOWN);
	memcpy(buf, "\x63\x00\x00", 3);
	CU_ASSERT_EQUAL(perc_kd_decode(buf, 3, &d), PERC_R_UNKNOWN);
	/* EKT key lengths other than AESKW-128/256 */
	m = sample(PERC_KD_EKT_KEY);
	m.ekt_key_len = 24;
	CU_ASSERT_EQUAL(perc_kd_encode(&m, buf, sizeof(buf)), -PERC_R_MALFORMED);
	/* empty and too long tokens */
	m = sample(PERC_KD_AUTH);
	m.token_len = 0;
	CU_ASSERT_EQUAL(perc_kd_encode(&m, buf, sizeof(buf)), -PERC_R_MALFORMED);
	memset(big, 'a', sizeof(big));
	m.token = big;
	m.token_len = PERC_KD_MAX_TOKEN + 1;
	CU_ASSERT_EQUAL(perc_kd_encode(&m, buf, sizeof(buf)), -PERC_R_OVERSIZED);
	m.token_len = PERC_KD_MAX_TOKEN;
	CU_ASSERT(perc_kd_encode(&m, buf, sizeof(buf)) > 0);
	/* rosters: too many members, an empty id, a control byte in an id */
	m = sample(PERC_KD_EKT_STEP);
	m.roster.n = PERC_KD_MAX_ROSTER + 1;
	CU_ASSERT_EQUAL(perc_kd_encode(&m, buf, sizeof(buf)), -PERC_R_OVERSIZED);
	m = sample(PERC_KD_EKT_STEP);
	m.roster.ids[1][0] = '\0';
	CU_ASSERT_EQUAL(perc_kd_encode(&m, buf, sizeof(buf)), -PERC_R_MALFORMED);
	m = sample(PERC_KD_EKT_STEP);
	m.roster.ids[1][2] = '\n';
	{
		int n = perc_kd_encode(&m, buf, sizeof(buf));

		CU_ASSERT_FATAL(n > 0);
		CU_ASSERT_EQUAL(perc_kd_decode(buf, (size_t)n, &d), PERC_R_MALFORMED);
	}
	/* a roster that says 65 members */
	m = sample(PERC_KD_EKT_STEP);
	{
		int n = perc_kd_encode(&m, buf, sizeof(buf));

		buf[PERC_KD_HDR + 2 + 4] = PERC_KD_MAX_ROSTER + 1;
		CU_ASSERT_EQUAL(perc_kd_decode(buf, (size_t)n, &d), PERC_R_OVERSIZED);
	}
	/* a decode that fails leaves no key bytes behind */
	m = sample(PERC_KD_EKT_KEY);
	{
		int n = perc_kd_encode(&m, buf, sizeof(buf));
		static const uint8_t zero[32];

		buf[n - 1] = 0; /* last roster id gets a NUL: malformed */
		CU_ASSERT_NOT_EQUAL(perc_kd_decode(buf, (size_t)n, &d), PERC_R_OK);
		CU_ASSERT(memcmp(d.ekt_key, zero, sizeof(zero)) == 0);
	}
	/* over the message limit */
	memset(buf, 0, sizeof(buf));
	buf[0] = PERC_KD_AUTH;
	CU_ASSERT_EQUAL(perc_kd_decode(buf, PERC_KD_MAX_MSG + 1, &d), PERC_R_OVERSIZED);
}

/* HKDF-SHA256 by hand: PRK = HMAC(salt, IKM); T(1) = HMAC(PRK, info ‖ 1) ... */
static void
hkdf_ref(const uint8_t *ikm, size_t n, const uint8_t *salt, size_t sl, const uint8_t *info,
	 size_t il, uint8_t *out, size_t ol)
{
	uint8_t prk[32], t[32], in[128];
	unsigned len = 0;
	size_t done = 0, tl = 0;

	HMAC(EVP_sha256(), salt, (int)sl, ikm, n, prk, &len);
	for (uint8_t c = 1; done < ol; c++) {
		memcpy(in, t, tl);
		memcpy(in + tl, info, il);
		in[tl + il] = c;
		HMAC(EVP_sha256(), prk, 32, in, tl + il + 1, t, &len);
		tl = 32;
		memcpy(out + done, t, ol - done < 32 ? ol - done : 32);
		done += 32;
	}
}

static void
test_step_key(void)
{
	static const char info_hdr[] = "PERC EKT step";
	uint8_t cur[32], salt[12], next[32], ref[32], info[32], again[32];
	size_t il = sizeof(info_hdr) - 1;

	for (unsigned i = 0; i < 32; i++)
		cur[i] = (uint8_t)(i * 7 + 1);
	for (unsigned i = 0; i < 12; i++)
		salt[i] = (uint8_t)(0xf0 - i);
	memcpy(info, info_hdr, il);
	info[il] = 0x01;
	info[il + 1] = 0x02;
	info[il + 2] = 0;
	info[il + 3] = 0;
	info[il + 4] = 0;
	info[il + 5] = 9;
	for (size_t kl = 16; kl <= 32; kl += 16) {
		CU_ASSERT_EQUAL_FATAL(perc_kd_step_key(cur, kl, salt, 12, 0x0102, 9, next), 0);
		hkdf_ref(cur, kl, salt, 12, info, il + 6, ref, kl);
		CU_ASSERT(memcmp(next, ref, kl) == 0);
		CU_ASSERT(memcmp(next, cur, kl) != 0);
		/* SPI and roster version enter the derivation */
		CU_ASSERT_EQUAL(perc_kd_step_key(cur, kl, salt, 12, 0x0103, 9, again), 0);
		CU_ASSERT(memcmp(next, again, kl) != 0);
		CU_ASSERT_EQUAL(perc_kd_step_key(cur, kl, salt, 12, 0x0102, 10, again), 0);
		CU_ASSERT(memcmp(next, again, kl) != 0);
	}
	CU_ASSERT_EQUAL(perc_kd_step_key(cur, 0, salt, 12, 1, 1, next), -PERC_R_KEY);
}

int
main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	T_SUITE("kdproto");
	T_ADD(test_round_trips);
	T_ADD(test_ekt_key_layout);
	T_ADD(test_truncations_and_trailers);
	T_ADD(test_bounds);
	T_ADD(test_step_key);
	return t_run();
}
