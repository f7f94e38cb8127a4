/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * EKT field, RFC 5649 unwrap and EKTKey body on arbitrary bytes. The seeds
 * are fields wrapped under the key below, so mutations reach the unwrap and
 * its plaintext checks, not only the length checks. Whatever unwraps or
 * decodes must encode back to the same bytes: both codecs are canonical.
 */
#include <string.h>

#include "fuzz.h"
#include "perc/ekt.h"
#include "perc/reason.h"

/* the EKT key of tests/vectors/ekt.txt, and a 32-byte one */
static const uint8_t ekt_key16[16] = {
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};
static const uint8_t ekt_key32[32] = {
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
	0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
};
/* the AES-192 KEK of RFC 5649 §6 */
static const uint8_t kek24[24] = {
	0x58, 0x40, 0xdf, 0x6e, 0x29, 0xb0, 0x2a, 0xf1, 0xab, 0x49, 0x3b, 0x70,
	0x5b, 0xf1, 0x6e, 0xa1, 0xae, 0x83, 0x38, 0xf4, 0xdc, 0xc1, 0x76, 0xa8,
};

const char *const perc_fuzz_seeds[] = {
	/* Full fields from tests/vectors/ekt.txt (16 and 32-byte SRTP keys) */
	"2184df032401c4109a614e89c9355b3c7dcb22a70a817b72c487fdb24a367c3c5ab350d7672be55c"
	"00010000002f02",
	"558ef55617c91a4a89a4b851ba76c31d032b99388a886b5dc8a4731272963d76ddfcf1d7b80d340c"
	"eb6ef371f08b8feed17a060393bad7b212340003003f02",
	/* a Short field behind a payload */
	"deadbeef00",
	/* RFC 5649 §6 wraps */
	"138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a",
	"afbeb0f07dfbf5419200f2ccb50bb24f",
	/* EKTKey bodies */
	"0010000102030405060708090a0b0c0d0e0f000c101112131415161718191a1b1234abcdef",
	"0020000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	"000e303132333435363738393a3b3c3d0001000000",
	NULL,
};

static void
fuzz_field(const uint8_t *data, size_t size, const uint8_t *key, size_t key_len)
{
	struct perc_ekt_plain pl;
	uint8_t out[PERC_EKT_FIELD_MAX];
	int r = perc_ekt_unwrap(key, key_len, data, size, &pl), spi, n;

	FUZZ_CHECK(r == PERC_R_OK || r == PERC_R_EKT || r == PERC_R_AUTH);
	spi = perc_ekt_field_spi(data, size);
	FUZZ_CHECK(r == PERC_R_EKT || spi == pl.spi);
	if (r != PERC_R_OK)
		return;
	FUZZ_CHECK(pl.key_len == 16 || pl.key_len == 32);
	n = perc_ekt_wrap(key, key_len, &pl, out, sizeof(out));
	FUZZ_CHECK(n > 0 && (size_t)n == size && memcmp(out, data, size) == 0);
}

static void
fuzz_kwp(const uint8_t *data, size_t size, const uint8_t *kek, size_t kek_len)
{
	uint8_t pt[512], ct[520];
	int n = perc_aes_kwp_unwrap(kek, kek_len, data, size, pt, sizeof(pt)), w;

	if (n < 0) {
		FUZZ_CHECK(n == -PERC_R_AUTH || n == -PERC_R_MALFORMED || n == -PERC_R_NO_ROOM);
		return;
	}
	FUZZ_CHECK(n > 0 && (size_t)n + 8 <= size);
	w = perc_aes_kwp_wrap(kek, kek_len, pt, (size_t)n, ct, sizeof(ct));
	FUZZ_CHECK(w > 0 && (size_t)w == size && memcmp(ct, data, size) == 0);
}

static void
fuzz_ektkey(const uint8_t *data, size_t size)
{
	struct perc_ektkey_msg m;
	uint8_t out[128];
	int r = perc_ektkey_decode(data, size, &m), n;

	FUZZ_CHECK(r == PERC_R_OK || r == PERC_R_TRUNCATED || r == PERC_R_OVERSIZED ||
		   r == PERC_R_MALFORMED);
	if (r != PERC_R_OK)
		return;
	n = perc_ektkey_encode(&m, out, sizeof(out));
	FUZZ_CHECK(n > 0 && (size_t)n == size && memcmp(out, data, size) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fl = perc_ekt_field_len(data, size);

	FUZZ_CHECK(fl == -PERC_R_EKT || fl == -PERC_R_TRUNCATED ||
		   (fl > 0 && (size_t)fl <= size));
	FUZZ_CHECK(size > 0 || fl == -PERC_R_TRUNCATED);
	/* the field as the tail of a packet, and the input as the field */
	if (fl > 0)
		fuzz_field(data + size - (size_t)fl, (size_t)fl, ekt_key16, sizeof(ekt_key16));
	fuzz_field(data, size, ekt_key16, sizeof(ekt_key16));
	fuzz_field(data, size, ekt_key32, sizeof(ekt_key32));
	fuzz_kwp(data, size, kek24, sizeof(kek24));
	fuzz_ektkey(data, size);
	return 0;
}
