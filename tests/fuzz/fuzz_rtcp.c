/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RTCP compound splitter on arbitrary bytes. A compound it accepts must be
 * tiled exactly by its packets, each a whole number of words inside the
 * input; fewer slots than packets is refused, never overrun.
 */
#include "fuzz.h"
#include "perc/reason.h"
#include "perc/rtcp.h"

const char *const perc_fuzz_seeds[] = {
	/* SR + SDES */
	"81c8000c" "aaaaaaaa" "0000000100000002" "00000003" "00000004" "00000005"
	"bbbbbbbb" "00000000" "00000001" "00000000" "00000000" "00000000"
	"81ca0003" "aaaaaaaa" "0103616263" "000000",
	/* RR + PLI + NACK + FIR + BYE */
	"80c90001cccccccc" "81ce0002ccccccccdddddddd" "81cd0003ccccccccdddddddd00100003"
	"84ce0004cccccccc000000001122334405000000" "81cb0002aaaaaaaa02686900",
	/* padding on the last packet */
	"80c90001cccccccc" "a1ce0003ccccccccdddddddd00000004",
	/* APP, XR, an unknown type */
	"80cc0002aaaaaaaa6e616d65" "80cf0001aaaaaaaa" "80d00001cccccccc",
	NULL,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perc_rtcp_pkt k[PERC_RTCP_MAX_PKTS];
	size_t off = 0;
	int n = perc_rtcp_parse(data, size, k, PERC_RTCP_MAX_PKTS);

	if (n < 0) {
		FUZZ_CHECK(n == -PERC_R_MALFORMED || n == -PERC_R_OVERSIZED);
		return 0;
	}
	FUZZ_CHECK(n > 0 && n <= (int)PERC_RTCP_MAX_PKTS);
	for (int i = 0; i < n; i++) {
		FUZZ_CHECK(k[i].p == data + off);
		FUZZ_CHECK(k[i].len >= 4 && k[i].len % 4 == 0);
		FUZZ_CHECK(k[i].pt >= 192 && k[i].pt <= 223);
		FUZZ_CHECK(k[i].count == (data[off] & 0x1f));
		/* padding only on the last packet */
		FUZZ_CHECK(i == n - 1 || !(data[off] & 0x20));
		off += k[i].len;
		FUZZ_CHECK(off <= size);
	}
	FUZZ_CHECK(off == size);
	if (n > 1)
		FUZZ_CHECK(perc_rtcp_parse(data, size, k, (unsigned)n - 1) == -PERC_R_OVERSIZED);
	return 0;
}
