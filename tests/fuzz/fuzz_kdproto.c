/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Endpoint <-> KD messages (kdproto.h) on arbitrary bytes. Beyond "no
 * crash": every refusal is a named reason, a token stays inside the input,
 * roster ids are printable text, and what is accepted encodes back to the
 * very same bytes (the codec has one wire form per message).
 */
#include <string.h>

#include "fuzz.h"
#include "perc/kdproto.h"
#include "perc/reason.h"

const char *const perc_fuzz_seeds[] = {
	/* AUTH "a.b.c" */
	"010005612e622e63",
	/* KEEPALIVE 1, KEEPALIVE_ACK 1 */
	"02000400000001", "03000400000001",
	/* EKT_STEP spi 2, roster v3 [alice, bob] */
	"04000f0002000000030205616c69636503626f62",
	/* EKT_ACK spi 2, BYE, ERROR 1 "no" */
	"0500020002", "070000", "060004" "0001" "6e6f",
	/* EKT_KEY: 16-byte key, 12-byte salt, spi 5, ttl 60, roster v1 [a] */
	"1a0030" "0010" "000102030405060708090a0b0c0d0e0f" "000c" "a0a1a2a3a4a5a6a7a8a9aaab"
	"0005" "00003c" "00000001" "01" "0161",
	NULL,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perc_kd_msg m;
	uint8_t out[PERC_KD_MAX_MSG];
	int r = perc_kd_decode(data, size, &m), n;

	FUZZ_CHECK(r == PERC_R_OK || r == PERC_R_MALFORMED || r == PERC_R_TRUNCATED ||
		   r == PERC_R_OVERSIZED || r == PERC_R_UNKNOWN);
	if (r != PERC_R_OK)
		return 0;
	if (m.type == PERC_KD_AUTH)
		FUZZ_CHECK((const uint8_t *)m.token == data + PERC_KD_HDR &&
			   m.token_len == size - PERC_KD_HDR);
	for (unsigned i = 0; i < m.roster.n; i++) {
		size_t l = strlen(m.roster.ids[i]);

		FUZZ_CHECK(l > 0 && l < PERC_KD_MAX_ID);
		for (size_t k = 0; k < l; k++)
			FUZZ_CHECK((uint8_t)m.roster.ids[i][k] >= 0x20 && m.roster.ids[i][k] != 0x7f);
	}
	n = perc_kd_encode(&m, out, sizeof(out));
	FUZZ_CHECK(n == (int)size && memcmp(out, data, size) == 0);
	return 0;
}
