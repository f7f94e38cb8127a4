/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RFC 9185 tunnel messages on arbitrary bytes, read as a stream the way the
 * MDD reads its TLS connection to the KD: frame, decode, move on. Anything
 * that decodes must encode back to the same bytes.
 */
#include <string.h>

#include "fuzz.h"
#include "perc/reason.h"
#include "perc/tunnel.h"

const char *const perc_fuzz_seeds[] = {
	/* SupportedProfiles (the RFC's example), then UnsupportedVersion */
	"0100070000040009000a" "02000100",
	/* MediaKeys */
	"03004f0f1e2d3c4b5a69788796a5b4c3d2e1f000090010101112131415161718191a1b1c1d1e1f10"
	"303132333435363738393a3b3c3d3e3f0c4c4d4e4f50515253545556570c6465666768696a6b6c6d"
	"6e6f",
	/* TunneledDtls, EndpointDisconnect */
	"040017a0a1a2a3a4a5a6a7a8a9aaabacadaeaf000516fefd0001"
	"050010a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
	/* MediaKeys with an MKI */
	"03001d000102030405060708090a0b0c0d0e0f0001024d4b01aa01bb01cc01dd",
	NULL,
};

static struct perc_tun_msg msg;
static uint8_t out[PERC_TUN_HDR + PERC_TUN_MAX_BODY];

static void
check_one(const uint8_t *p, size_t n)
{
	int r = perc_tun_decode(p, n, &msg), e;

	FUZZ_CHECK(r == PERC_R_OK || r == PERC_R_TRUNCATED || r == PERC_R_OVERSIZED ||
		   r == PERC_R_MALFORMED || r == PERC_R_UNKNOWN);
	if (r != PERC_R_OK)
		return;
	if (msg.type == PERC_TUN_TUNNELED_DTLS)
		FUZZ_CHECK(msg.dtls > p && msg.dtls + msg.dtls_len == p + n);
	/* another version's profile list is not decoded, so not re-encoded */
	if (msg.type == PERC_TUN_SUPPORTED_PROFILES && msg.version != PERC_TUN_VERSION)
		return;
	e = perc_tun_encode(&msg, out, sizeof(out));
	FUZZ_CHECK(e > 0 && (size_t)e == n && memcmp(out, p, n) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0, n;

	/* the whole input as one message: framing must agree with decode */
	n = perc_tun_frame(data, size);
	FUZZ_CHECK(n == 0 || (n >= PERC_TUN_HDR && n <= size));
	check_one(data, size);
	if (n == 0)
		FUZZ_CHECK(perc_tun_decode(data, size, &msg) == PERC_R_TRUNCATED);
	else if (n < size)
		FUZZ_CHECK(perc_tun_decode(data, size, &msg) == PERC_R_OVERSIZED);
	/* the input as a stream */
	while ((n = perc_tun_frame(data + off, size - off)) != 0) {
		FUZZ_CHECK(n >= PERC_TUN_HDR && n <= size - off);
		check_one(data + off, n);
		off += n;
	}
	/* what is left is an incomplete message */
	FUZZ_CHECK(size - off < PERC_TUN_HDR ||
		   PERC_TUN_HDR + (((size_t)data[off + 1] << 8) | data[off + 2]) > size - off);
	return 0;
}
