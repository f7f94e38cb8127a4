/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RTP header parser, RFC 8285 extension walk, padding check and demux on
 * arbitrary bytes. Beyond "no crash", checks that the inline fast-path
 * length agrees with the full parser and that every pointer it returns
 * stays inside the input.
 */
#include <string.h>

#include "fuzz.h"
#include "perc/reason.h"
#include "perc/rtp.h"

const char *const perc_fuzz_seeds[] = {
	/* 2 CSRCs */
	"82e0123400010203cafebabe" "11111111" "22222222" "deadbeef",
	/* one-byte extension with padding */
	"906000010000000200000003" "bede0002" "10aa0022b1b2b300" "0102",
	/* one-byte extension ended by id 15 */
	"906000010000000200000003" "bede0002" "10aaf5ffff22b1b2" "0102",
	/* two-byte extension, appbits 5 */
	"916000010000000200000003" "44444444" "10050003" "010000" "0f03c1c2c3" "ff01dd" "00"
	"cafe",
	/* P bit */
	"a06000010000000200000003" "aabbcc000003",
	/* 15 CSRCs, extension and padding at once */
	"bf7fffffffffffffffffffff" "000000010000000200000003000000040000000500000006"
	"000000070000000800000009" "0000000a0000000b0000000c0000000d0000000e0000000f"
	"bede0001" "1122f000" "ee0000000004",
	NULL,
};

static void
check_ext(const struct perc_rtp_hdr *h, const uint8_t *data, size_t size)
{
	struct perc_rtp_ext_elem e[PERC_RTP_MAX_EXT_ELEMS];
	int n = perc_rtp_ext_parse(h, e, PERC_RTP_MAX_EXT_ELEMS);

	FUZZ_CHECK(n >= -(int)PERC_R__COUNT && n <= (int)PERC_RTP_MAX_EXT_ELEMS);
	for (int i = 0; i < n; i++) {
		FUZZ_CHECK(e[i].id != 0);
		FUZZ_CHECK(e[i].data >= h->ext);
		FUZZ_CHECK(e[i].data + e[i].len <= h->ext + h->ext_len);
		FUZZ_CHECK(e[i].data + e[i].len <= data + size);
	}
	/* fewer slots than elements is refused, never overrun */
	if (n > 1)
		FUZZ_CHECK(perc_rtp_ext_parse(h, e, (unsigned)n - 1) == -PERC_R_OVERSIZED);
}

/* Writing the parsed fields back gives the input's fixed header and CSRCs,
 * with the P and X bits cleared. */
static void
check_write(const struct perc_rtp_hdr *h, const uint8_t *data)
{
	uint32_t csrc[15];
	uint8_t out[PERC_RTP_FIXED + 4 * 15];
	size_t n;

	for (unsigned i = 0; i < h->cc; i++) {
		const uint8_t *c = data + PERC_RTP_FIXED + 4 * i;

		csrc[i] = ((uint32_t)c[0] << 24) | ((uint32_t)c[1] << 16) |
			  ((uint32_t)c[2] << 8) | c[3];
	}
	n = perc_rtp_write(out, sizeof(out), h->marker, h->pt, h->seq, h->ts, h->ssrc,
			   csrc, h->cc);
	FUZZ_CHECK(n == PERC_RTP_FIXED + 4u * h->cc);
	FUZZ_CHECK(out[0] == (data[0] & 0xcf));
	FUZZ_CHECK(memcmp(out + 1, data + 1, n - 1) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perc_rtp_hdr h;
	uint32_t fast;
	int r, pad;

	(void)perc_demux(data, size);
	if (size > UINT32_MAX)
		return 0;
	fast = perc_rtp_hdr_len(data, (uint32_t)size);
	r = perc_rtp_parse(data, size, &h);
	FUZZ_CHECK(r == PERC_R_OK || r == PERC_R_MALFORMED);
	if (r != PERC_R_OK) {
		/* the parser also refuses headers past 64 KiB, which the
		 * inline length has no reason to */
		FUZZ_CHECK(fast == 0 || fast > UINT16_MAX);
		return 0;
	}
	FUZZ_CHECK(fast == h.hdr_len);
	FUZZ_CHECK(h.hdr_len >= PERC_RTP_FIXED && h.hdr_len <= size);
	FUZZ_CHECK(!h.extension || h.ext + h.ext_len <= data + h.hdr_len);
	check_ext(&h, data, size);
	check_write(&h, data);
	pad = perc_rtp_padding(data, size, &h);
	FUZZ_CHECK(pad == -PERC_R_MALFORMED || (pad >= 0 && (size_t)pad <= size - h.hdr_len));
	FUZZ_CHECK(h.padding || pad == 0);
	return 0;
}
