/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * STUN parser, MESSAGE-INTEGRITY check and builders on arbitrary bytes.
 * Beyond "no crash", checks that every refusal is a named reason, that
 * every pointer the parser returns stays inside the input, and that what
 * it accepts survives a rebuild: the transaction id and XOR-MAPPED-ADDRESS
 * go back through perc_stun_build_success and parse to the same values.
 */
#include <string.h>

#include "fuzz.h"
#include "perc/reason.h"
#include "perc/stun.h"

const char *const perc_fuzz_seeds[] = {
	/* RFC 5769 2.1: request, short-term credentials, FINGERPRINT */
	"000100582112a442b7e7a701bc34d686fa87dfae"
	"80220010" "5354554e2074657374" "20636c69656e74"
	"00240004" "6e0001ff" "80290008" "932ff9b151263b36"
	"00060009" "6576746a3a68367659202020"
	"00080014" "9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2" "80280004" "e57a3bcf",
	/* RFC 5769 2.2: IPv4 response */
	"0101003c2112a442b7e7a701bc34d686fa87dfae"
	"8022000b" "7465737420766563746f7220" "00200008" "0001a147e112a643"
	"00080014" "2b91f599fd9e90c38c7489f92af9ba53f06be7d7" "80280004" "c07d4c96",
	/* RFC 5769 2.3: IPv6 response */
	"010100482112a442b7e7a701bc34d686fa87dfae"
	"8022000b" "7465737420766563746f7220"
	"00200014" "0002a1470113a9faa5d3f179bc25f4b5bed2b9d9"
	"00080014" "a382954e4be67bf11784c97c8292c275bfe3ed41" "80280004" "c8fb0b4c",
	/* error response: ERROR-CODE 420, UNKNOWN-ATTRIBUTES, USE-CANDIDATE,
	 * ICE-CONTROLLING, an unknown comprehension-required attribute */
	"011100382112a442000102030405060708090a0b"
	"00090015" "00000414556e6b6e6f776e20417474726962757465000000"
	"000a0004" "00337fff" "00250000" "802a0008" "0102030405060708"
	"00330000",
	NULL,
};

static const char pw[] = "VOkJxbRl1RmTxUk/WvJxBt";

static bool
inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
	return p >= data && n <= size && p - data <= (ptrdiff_t)(size - n);
}

/* An accepted message's transaction id and mapped address rebuild and
 * reparse to the same values. */
static void
check_rebuild(const struct perc_stun_msg *m)
{
	struct perc_stun_msg r;
	uint8_t out[128];
	int n;

	if (!m->has_xor_mapped)
		return;
	n = perc_stun_build_success(out, sizeof(out), m->tid, &m->xor_mapped, pw, sizeof(pw) - 1);
	FUZZ_CHECK(n > 0);
	FUZZ_CHECK(perc_stun_parse(out, (size_t)n, &r) == PERC_R_OK);
	FUZZ_CHECK(memcmp(r.tid, m->tid, PERC_STUN_TID_LEN) == 0);
	FUZZ_CHECK(r.has_xor_mapped && r.has_fingerprint);
	FUZZ_CHECK(r.xor_mapped.family == m->xor_mapped.family);
	FUZZ_CHECK(r.xor_mapped.port == m->xor_mapped.port);
	FUZZ_CHECK(memcmp(r.xor_mapped.addr, m->xor_mapped.addr, 16) == 0);
	FUZZ_CHECK(perc_stun_check_integrity(&r, pw, sizeof(pw) - 1) == PERC_R_OK);
}

/* A 420 answer to whatever unknown attributes the message had. */
static void
check_420(const struct perc_stun_msg *m)
{
	struct perc_stun_msg r;
	uint8_t out[128];
	unsigned nu = m->n_unknown < PERC_STUN_MAX_UNKNOWN ? m->n_unknown : PERC_STUN_MAX_UNKNOWN;
	int n;

	if (nu == 0)
		return;
	n = perc_stun_build_error(out, sizeof(out), m->tid, 420, NULL, m->unknown, nu, pw,
				  sizeof(pw) - 1);
	FUZZ_CHECK(n > 0);
	FUZZ_CHECK(perc_stun_parse(out, (size_t)n, &r) == PERC_R_OK);
	FUZZ_CHECK(r.has_error && r.error_code == 420);
	FUZZ_CHECK(perc_stun_check_integrity(&r, pw, sizeof(pw) - 1) == PERC_R_OK);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perc_stun_msg m;
	int r = perc_stun_parse(data, size, &m);

	FUZZ_CHECK(r == PERC_R_OK || r == PERC_R_MALFORMED || r == PERC_R_TRUNCATED ||
		   r == PERC_R_UNKNOWN);
	if (r != PERC_R_OK)
		return 0;
	FUZZ_CHECK(perc_stun_is_stun(data, size));
	FUZZ_CHECK(m.msg == data && m.msg_len == size && size % 4 == 0);
	FUZZ_CHECK(m.username == NULL || inside(m.username, m.username_len, data, size));
	FUZZ_CHECK(m.username_len <= PERC_STUN_MAX_USERNAME);
	FUZZ_CHECK(!m.has_error || inside(m.error_reason, m.error_reason_len, data, size));
	FUZZ_CHECK(!m.has_error || (m.error_code >= 300 && m.error_code <= 699));
	FUZZ_CHECK(m.mi_off == 0 ||
		   (m.mi_off >= PERC_STUN_HDR && m.mi_off + 4 + PERC_STUN_MI_LEN <= size));
	FUZZ_CHECK(!m.has_xor_mapped || m.xor_mapped.family == 4 || m.xor_mapped.family == 6);
	r = perc_stun_check_integrity(&m, pw, sizeof(pw) - 1);
	FUZZ_CHECK(r == PERC_R_OK || r == PERC_R_AUTH);
	FUZZ_CHECK(m.mi_off != 0 || r == PERC_R_AUTH);
	check_rebuild(&m);
	check_420(&m);
	return 0;
}
