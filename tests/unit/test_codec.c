/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RTP, RTCP and demux codecs: field values, RFC 8285 extension walks, padding
 * rules, and every prefix of every valid packet (each copied into a buffer of
 * exactly that size, so a read past the end shows under ASan or valgrind).
 */
#include "testutil.h"

#include "perc/reason.h"
#include "perc/rtcp.h"
#include "perc/rtp.h"

/* 2 CSRCs, marker, PT 96, no extension */
#define RTP_CSRC "82e0123400010203cafebabe" "11111111" "22222222" "deadbeef"
/* one-byte extension: (1, aa), padding, (2, b1b2b3), padding */
#define RTP_EXT1 "9060000100000002" "00000003" "bede0002" "10aa0022b1b2b300" "0102"
/* one-byte extension cut short by id 15 */
#define RTP_EXT1_STOP "9060000100000002" "00000003" "bede0002" "10aaf5ffff22b1b2" "0102"
/* one CSRC, two-byte extension, appbits 5: (1, -), pad, (15, c1c2c3), (255, dd), pad */
#define RTP_EXT2 "9160000100000002" "00000003" "44444444" "10050003" \
	"010000" "0f03c1c2c3" "ff01dd" "00" "cafe"
/* P bit: 3 bytes of padding after a 3-byte payload */
#define RTP_PAD "a060000100000002" "00000003" "aabbcc000003"

#define RTCP_SR "81c8000c" "aaaaaaaa" "0000000100000002" "00000003" "00000004" \
	"00000005" "bbbbbbbb" "00000000" "00000001" "00000000" "00000000" "00000000"
#define RTCP_SDES "81ca0003" "aaaaaaaa" "0103616263" "000000"
#define RTCP_RR "80c90001" "cccccccc"
#define RTCP_PLI "81ce0002" "cccccccc" "dddddddd"
#define RTCP_NACK "81cd0003" "cccccccc" "dddddddd" "00100003"
#define RTCP_FIR "84ce0004" "cccccccc" "00000000" "11223344" "05000000"
#define RTCP_BYE "81cb0002" "aaaaaaaa" "02686900"

static size_t
hex_pkt(const char *hex, uint8_t *buf, size_t cap)
{
	return t_hex(hex, buf, cap);
}

static void
test_rtp_csrc(void)
{
	uint8_t b[256];
	size_t n = hex_pkt(RTP_CSRC, b, sizeof(b));
	struct perc_rtp_hdr h;
	struct perc_rtp_ext_elem e[4];

	CU_ASSERT_EQUAL_FATAL(perc_rtp_parse(b, n, &h), PERC_R_OK);
	CU_ASSERT_EQUAL(h.version, 2);
	CU_ASSERT_FALSE(h.padding);
	CU_ASSERT_FALSE(h.extension);
	CU_ASSERT_EQUAL(h.cc, 2);
	CU_ASSERT_TRUE(h.marker);
	CU_ASSERT_EQUAL(h.pt, 96);
	CU_ASSERT_EQUAL(h.seq, 0x1234);
	CU_ASSERT_EQUAL(h.ts, 0x00010203u);
	CU_ASSERT_EQUAL(h.ssrc, 0xcafebabeu);
	CU_ASSERT_EQUAL(h.hdr_len, 20);
	CU_ASSERT_EQUAL(perc_rtp_hdr_len(b, (uint32_t)n), 20u);
	CU_ASSERT_EQUAL(perc_rtp_ext_parse(&h, e, 4), 0);
	CU_ASSERT_EQUAL(perc_rtp_padding(b, n, &h), 0);
}

static void
test_rtp_version(void)
{
	uint8_t b[256];
	size_t n = hex_pkt(RTP_CSRC, b, sizeof(b));
	struct perc_rtp_hdr h;

	for (uint8_t v = 0; v < 4; v++) {
		if (v == 2)
			continue;
		b[0] = (uint8_t)((b[0] & 0x3f) | (v << 6));
		CU_ASSERT_EQUAL(perc_rtp_parse(b, n, &h), PERC_R_MALFORMED);
		CU_ASSERT_EQUAL(perc_rtp_hdr_len(b, (uint32_t)n), 0u);
	}
}

static void
test_rtp_ext_one_byte(void)
{
	uint8_t b[256];
	size_t n = hex_pkt(RTP_EXT1, b, sizeof(b));
	struct perc_rtp_hdr h;
	struct perc_rtp_ext_elem e[4];

	CU_ASSERT_EQUAL_FATAL(perc_rtp_parse(b, n, &h), PERC_R_OK);
	CU_ASSERT_TRUE(h.extension);
	CU_ASSERT_EQUAL(h.ext_profile, 0xbede);
	CU_ASSERT_EQUAL(h.ext_len, 8);
	CU_ASSERT_EQUAL(h.hdr_len, 24);
	CU_ASSERT_PTR_EQUAL(h.ext, b + 16);
	CU_ASSERT_EQUAL(perc_rtp_hdr_len(b, (uint32_t)n), 24u);
	CU_ASSERT_EQUAL_FATAL(perc_rtp_ext_parse(&h, e, 4), 2);
	CU_ASSERT_EQUAL(e[0].id, 1);
	CU_ASSERT_EQUAL(e[0].len, 1);
	CU_ASSERT_EQUAL(e[0].data[0], 0xaa);
	CU_ASSERT_EQUAL(e[1].id, 2);
	CU_ASSERT_EQUAL(e[1].len, 3);
	CU_ASSERT_EQUAL(memcmp(e[1].data, "\xb1\xb2\xb3", 3), 0);
	/* room for one element only */
	CU_ASSERT_EQUAL(perc_rtp_ext_parse(&h, e, 1), -PERC_R_OVERSIZED);
}

static void
test_rtp_ext_one_byte_stop(void)
{
	uint8_t b[256];
	size_t n = hex_pkt(RTP_EXT1_STOP, b, sizeof(b));
	struct perc_rtp_hdr h;
	struct perc_rtp_ext_elem e[4];

	CU_ASSERT_EQUAL_FATAL(perc_rtp_parse(b, n, &h), PERC_R_OK);
	/* id 15: its length is ignored and nothing after it counts */
	CU_ASSERT_EQUAL_FATAL(perc_rtp_ext_parse(&h, e, 4), 1);
	CU_ASSERT_EQUAL(e[0].id, 1);
}

static void
test_rtp_ext_one_byte_bad(void)
{
	uint8_t b[256];
	size_t n = hex_pkt(RTP_EXT1, b, sizeof(b));
	struct perc_rtp_hdr h;
	struct perc_rtp_ext_elem e[4];

	/* second element claims 16 bytes: runs past the 8-byte body */
	b[19] = 0x2f;
	CU_ASSERT_EQUAL_FATAL(perc_rtp_parse(b, n, &h), PERC_R_OK);
	CU_ASSERT_EQUAL(perc_rtp_ext_parse(&h, e, 4), -PERC_R_MALFORMED);
	/* id 0 with a length is not padding */
	n = hex_pkt(RTP_EXT1, b, sizeof(b));
	b[18] = 0x01;
	CU_ASSERT_EQUAL_FATAL(perc_rtp_parse(b, n, &h), PERC_R_OK);
	CU_ASSERT_EQUAL(perc_rtp_ext_parse(&h, e, 4), -PERC_R_MALFORMED);
	/* last byte of the body starts an element with no room for data */
	n = hex_pkt(RTP_EXT1, b, sizeof(b));
	b[23] = 0x30;
	CU_ASSERT_EQUAL_FATAL(perc_rtp_parse(b, n, &h), PERC_R_OK);
	CU_ASSERT_EQUAL(perc_rtp_ext_parse(&h, e, 4), -PERC_R_MALFORMED);
	/* all padding: no elements */
	n = hex_pkt(RTP_EXT1, b, sizeof(b));
	memset(b + 16, 0, 8);
	CU_ASSERT_EQUAL_FATAL(perc_rtp_parse(b, n, &h), PERC_R_OK);
	CU_ASSERT_EQUAL(perc_rtp_ext_parse(&h, e, 4), 0);
}

static void
test_rtp_ext_two_byte(void)
{
	uint8_t b[256];
	size_t n = hex_pkt(RTP_EXT2, b, sizeof(b));
	struct perc_rtp_hdr h;
	struct perc_rtp_ext_elem e[4];

	CU_ASSERT_EQUAL_FATAL(perc_rtp_parse(b, n, &h), PERC_R_OK);
	CU_ASSERT_EQUAL(h.cc, 1);
	CU_ASSERT_EQUAL(h.ext_profile, 0x1005);
	CU_ASSERT_EQUAL(h.ext_len, 12);
	CU_ASSERT_EQUAL(h.hdr_len, 32);
	CU_ASSERT_EQUAL(perc_rtp_hdr_len(b, (uint32_t)n), 32u);
	CU_ASSERT_EQUAL_FATAL(perc_rtp_ext_parse(&h, e, 4), 3);
	CU_ASSERT_EQUAL(e[0].id, 1);
	CU_ASSERT_EQUAL(e[0].len, 0);
	/* 15 is an ordinary id in the two-byte form */
	CU_ASSERT_EQUAL(e[1].id, 15);
	CU_ASSERT_EQUAL(e[1].len, 3);
	CU_ASSERT_EQUAL(memcmp(e[1].data, "\xc1\xc2\xc3", 3), 0);
	CU_ASSERT_EQUAL(e[2].id, 255);
	CU_ASSERT_EQUAL(e[2].len, 1);
	CU_ASSERT_EQUAL(e[2].data[0], 0xdd);
	CU_ASSERT_EQUAL(perc_rtp_ext_parse(&h, e, 2), -PERC_R_OVERSIZED);
	/* (255, len 3) would read the byte after the body */
	b[29] = 3;
	CU_ASSERT_EQUAL(perc_rtp_ext_parse(&h, e, 4), -PERC_R_MALFORMED);
	/* an id with no length byte left */
	b[29] = 1;
	b[31] = 0x07;
	CU_ASSERT_EQUAL(perc_rtp_ext_parse(&h, e, 4), -PERC_R_MALFORMED);
}

static void
test_rtp_ext_other_profile(void)
{
	uint8_t b[256];
	size_t n = hex_pkt(RTP_EXT1, b, sizeof(b));
	struct perc_rtp_hdr h;
	struct perc_rtp_ext_elem e[4];

	b[16 - 4] = 0xab;
	b[16 - 3] = 0xcd;
	CU_ASSERT_EQUAL_FATAL(perc_rtp_parse(b, n, &h), PERC_R_OK);
	CU_ASSERT_EQUAL(h.ext_profile, 0xabcd);
	CU_ASSERT_EQUAL(perc_rtp_ext_parse(&h, e, 4), 0);
	/* 0x1010 is not a two-byte profile (only the low 4 bits are free) */
	b[12] = 0x10;
	b[13] = 0x10;
	CU_ASSERT_EQUAL_FATAL(perc_rtp_parse(b, n, &h), PERC_R_OK);
	CU_ASSERT_EQUAL(perc_rtp_ext_parse(&h, e, 4), 0);
}

static void
test_rtp_ext_len_too_long(void)
{
	uint8_t b[256];
	size_t n = hex_pkt(RTP_EXT1, b, sizeof(b));
	struct perc_rtp_hdr h;

	/* 3 words claimed, 2 words and a 2-byte payload present */
	b[15] = 3;
	CU_ASSERT_EQUAL(perc_rtp_parse(b, n, &h), PERC_R_MALFORMED);
	CU_ASSERT_EQUAL(perc_rtp_hdr_len(b, (uint32_t)n), 0u);
	b[14] = 0xff;
	b[15] = 0xff;
	CU_ASSERT_EQUAL(perc_rtp_parse(b, n, &h), PERC_R_MALFORMED);
	CU_ASSERT_EQUAL(perc_rtp_hdr_len(b, (uint32_t)n), 0u);
}

static void
test_rtp_padding(void)
{
	uint8_t b[256];
	size_t n = hex_pkt(RTP_PAD, b, sizeof(b));
	struct perc_rtp_hdr h;

	CU_ASSERT_EQUAL_FATAL(perc_rtp_parse(b, n, &h), PERC_R_OK);
	CU_ASSERT_TRUE(h.padding);
	CU_ASSERT_EQUAL(perc_rtp_padding(b, n, &h), 3);
	/* the whole payload is padding: still valid */
	b[n - 1] = 6;
	CU_ASSERT_EQUAL(perc_rtp_padding(b, n, &h), 6);
	b[n - 1] = 7;
	CU_ASSERT_EQUAL(perc_rtp_padding(b, n, &h), -PERC_R_MALFORMED);
	b[n - 1] = 0;
	CU_ASSERT_EQUAL(perc_rtp_padding(b, n, &h), -PERC_R_MALFORMED);
	b[n - 1] = 0xff;
	CU_ASSERT_EQUAL(perc_rtp_padding(b, n, &h), -PERC_R_MALFORMED);
	/* P bit but no payload at all */
	CU_ASSERT_EQUAL_FATAL(perc_rtp_parse(b, 12, &h), PERC_R_OK);
	CU_ASSERT_EQUAL(perc_rtp_padding(b, 12, &h), -PERC_R_MALFORMED);
	/* without P the last byte means nothing */
	b[0] &= (uint8_t)~0x20;
	CU_ASSERT_EQUAL_FATAL(perc_rtp_parse(b, n, &h), PERC_R_OK);
	CU_ASSERT_EQUAL(perc_rtp_padding(b, n, &h), 0);
}

/* Every prefix of a valid packet: shorter than the header is refused by
 * both parsers, the header itself and longer parse to the same header. */
static void
rtp_prefixes(const char *hex)
{
	uint8_t b[256];
	size_t n = hex_pkt(hex, b, sizeof(b));
	struct perc_rtp_hdr full, h;
	struct perc_rtp_ext_elem e[PERC_RTP_MAX_EXT_ELEMS];

	CU_ASSERT_EQUAL_FATAL(perc_rtp_parse(b, n, &full), PERC_R_OK);
	for (size_t k = 0; k < n; k++) {
		uint8_t *d = t_dup_exact(b, k);
		int r = perc_rtp_parse(d, k, &h);
		uint32_t hl = perc_rtp_hdr_len(d, (uint32_t)k);

		if (k < full.hdr_len) {
			CU_ASSERT_EQUAL(r, PERC_R_MALFORMED);
			CU_ASSERT_EQUAL(hl, 0u);
		} else {
			CU_ASSERT_EQUAL(r, PERC_R_OK);
			CU_ASSERT_EQUAL(h.hdr_len, full.hdr_len);
			CU_ASSERT_EQUAL(hl, full.hdr_len);
			CU_ASSERT_EQUAL(perc_rtp_ext_parse(&h, e, PERC_RTP_MAX_EXT_ELEMS),
					perc_rtp_ext_parse(&full, e, PERC_RTP_MAX_EXT_ELEMS));
			(void)perc_rtp_padding(d, k, &h);
		}
		free(d);
	}
}

static void
test_rtp_truncated(void)
{
	rtp_prefixes(RTP_CSRC);
	rtp_prefixes(RTP_EXT1);
	rtp_prefixes(RTP_EXT1_STOP);
	rtp_prefixes(RTP_EXT2);
	rtp_prefixes(RTP_PAD);
}

static void
test_rtp_write(void)
{
	const uint32_t csrc[3] = { 0x01020304, 0x05060708, 0x090a0b0c };
	uint8_t b[128], ref[128];
	struct perc_rtp_hdr h;
	size_t n;

	n = perc_rtp_write(b, sizeof(b), true, 96, 0x1234, 0x00010203, 0xcafebabe, csrc, 2);
	CU_ASSERT_EQUAL_FATAL(n, 20);
	CU_ASSERT_EQUAL(memcmp(b, ref, t_hex("82e0123400010203cafebabe0102030405060708",
					     ref, sizeof(ref))), 0);
	CU_ASSERT_EQUAL_FATAL(perc_rtp_parse(b, n, &h), PERC_R_OK);
	CU_ASSERT_EQUAL(h.cc, 2);
	CU_ASSERT_EQUAL(h.hdr_len, 20);
	n = perc_rtp_write(b, 12, false, 0, 1, 2, 3, NULL, 0);
	CU_ASSERT_EQUAL(n, 12);
	CU_ASSERT_EQUAL(b[0], 0x80);
	CU_ASSERT_EQUAL(b[1], 0x00);
	CU_ASSERT_EQUAL(perc_rtp_write(b, 11, false, 0, 1, 2, 3, NULL, 0), 0);
	CU_ASSERT_EQUAL(perc_rtp_write(b, 23, false, 0, 1, 2, 3, csrc, 3), 0);
	CU_ASSERT_EQUAL(perc_rtp_write(b, 24, false, 0, 1, 2, 3, csrc, 3), 24);
	CU_ASSERT_EQUAL(perc_rtp_write(b, sizeof(b), false, 128, 1, 2, 3, NULL, 0), 0);
	CU_ASSERT_EQUAL(perc_rtp_write(b, sizeof(b), false, 0, 1, 2, 3, csrc, 16), 0);
	CU_ASSERT_EQUAL(perc_rtp_write(b, sizeof(b), false, 0, 1, 2, 3, NULL, 1), 0);
}

/* ---- RTCP ---- */

static int
rtcp_hex(const char *hex, struct perc_rtcp_pkt *k, unsigned max, uint8_t *b, size_t *n)
{
	*n = hex_pkt(hex, b, 512);
	return perc_rtcp_parse(b, *n, k, max);
}

static void
test_rtcp_sr_sdes(void)
{
	struct perc_rtcp_pkt k[4];
	uint8_t b[512];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(rtcp_hex(RTCP_SR RTCP_SDES, k, 4, b, &n), 2);
	CU_ASSERT_EQUAL(k[0].pt, PERC_RTCP_SR);
	CU_ASSERT_EQUAL(k[0].count, 1);
	CU_ASSERT_EQUAL(k[0].len, 52);
	CU_ASSERT_EQUAL(k[0].ssrc, 0xaaaaaaaau);
	CU_ASSERT_EQUAL(k[0].media_ssrc, 0);
	CU_ASSERT_PTR_EQUAL(k[0].p, b);
	CU_ASSERT_EQUAL(k[1].pt, PERC_RTCP_SDES);
	CU_ASSERT_EQUAL(k[1].count, 1);
	CU_ASSERT_EQUAL(k[1].len, 16);
	CU_ASSERT_EQUAL(k[1].ssrc, 0xaaaaaaaau);
	CU_ASSERT_PTR_EQUAL(k[1].p, b + 52);
	/* room for one packet only */
	CU_ASSERT_EQUAL(perc_rtcp_parse(b, n, k, 1), -PERC_R_OVERSIZED);
}

static void
test_rtcp_rr_pli(void)
{
	struct perc_rtcp_pkt k[4];
	uint8_t b[512];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(rtcp_hex(RTCP_RR RTCP_PLI, k, 4, b, &n), 2);
	CU_ASSERT_EQUAL(k[0].pt, PERC_RTCP_RR);
	CU_ASSERT_EQUAL(k[0].count, 0);
	CU_ASSERT_EQUAL(k[0].len, 8);
	CU_ASSERT_EQUAL(k[0].ssrc, 0xccccccccu);
	CU_ASSERT_EQUAL(k[1].pt, PERC_RTCP_PSFB);
	CU_ASSERT_EQUAL(k[1].count, 1);
	CU_ASSERT_EQUAL(k[1].len, 12);
	CU_ASSERT_EQUAL(k[1].ssrc, 0xccccccccu);
	CU_ASSERT_EQUAL(k[1].media_ssrc, 0xddddddddu);
}

static void
test_rtcp_nack(void)
{
	struct perc_rtcp_pkt k[4];
	uint8_t b[512];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(rtcp_hex(RTCP_NACK, k, 4, b, &n), 1);
	CU_ASSERT_EQUAL(k[0].pt, PERC_RTCP_RTPFB);
	CU_ASSERT_EQUAL(k[0].count, 1);
	CU_ASSERT_EQUAL(k[0].len, 16);
	CU_ASSERT_EQUAL(k[0].ssrc, 0xccccccccu);
	CU_ASSERT_EQUAL(k[0].media_ssrc, 0xddddddddu);
	/* a NACK needs at least one FCI entry */
	CU_ASSERT_EQUAL(rtcp_hex("81cd0002" "cccccccc" "dddddddd", k, 4, b, &n),
			-PERC_R_MALFORMED);
	/* a feedback packet without its media SSRC */
	CU_ASSERT_EQUAL(rtcp_hex("81ce0001" "cccccccc", k, 4, b, &n), -PERC_R_MALFORMED);
}

static void
test_rtcp_fir(void)
{
	struct perc_rtcp_pkt k[4];
	uint8_t b[512];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(rtcp_hex(RTCP_RR RTCP_FIR, k, 4, b, &n), 2);
	CU_ASSERT_EQUAL(k[1].pt, PERC_RTCP_PSFB);
	CU_ASSERT_EQUAL(k[1].count, 4);
	CU_ASSERT_EQUAL(k[1].len, 20);
	CU_ASSERT_EQUAL(k[1].ssrc, 0xccccccccu);
	/* the header's media SSRC is 0: the target comes from the FCI */
	CU_ASSERT_EQUAL(k[1].media_ssrc, 0x11223344u);
	/* FIR entries are 8 bytes; none, or half of one, is malformed */
	CU_ASSERT_EQUAL(rtcp_hex("84ce0002" "cccccccc" "00000000", k, 4, b, &n),
			-PERC_R_MALFORMED);
	CU_ASSERT_EQUAL(rtcp_hex("84ce0003" "cccccccc" "00000000" "11223344", k, 4, b, &n),
			-PERC_R_MALFORMED);
}

static void
test_rtcp_bye(void)
{
	struct perc_rtcp_pkt k[4];
	uint8_t b[512];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(rtcp_hex(RTCP_RR RTCP_BYE, k, 4, b, &n), 2);
	CU_ASSERT_EQUAL(k[1].pt, PERC_RTCP_BYE);
	CU_ASSERT_EQUAL(k[1].ssrc, 0xaaaaaaaau);
	/* reason length past the packet */
	CU_ASSERT_EQUAL(rtcp_hex(RTCP_RR "81cb0002" "aaaaaaaa" "05686900", k, 4, b, &n),
			-PERC_R_MALFORMED);
	/* two SSRCs claimed, one present */
	CU_ASSERT_EQUAL(rtcp_hex(RTCP_RR "82cb0001" "aaaaaaaa", k, 4, b, &n),
			-PERC_R_MALFORMED);
	/* BYE with no source at all carries no sender SSRC */
	CU_ASSERT_EQUAL_FATAL(rtcp_hex(RTCP_RR "80cb0000", k, 4, b, &n), 2);
	CU_ASSERT_EQUAL(k[1].ssrc, 0);
}

static void
test_rtcp_bad_length(void)
{
	struct perc_rtcp_pkt k[4];
	uint8_t b[512];
	size_t n;

	/* length one word longer than the buffer */
	CU_ASSERT_EQUAL(rtcp_hex("80c90002" "cccccccc", k, 4, b, &n), -PERC_R_MALFORMED);
	/* a second packet that is two stray bytes */
	CU_ASSERT_EQUAL(rtcp_hex(RTCP_RR "80c9", k, 4, b, &n), -PERC_R_MALFORMED);
	/* SR with two report blocks claimed and one present */
	n = hex_pkt(RTCP_SR, b, sizeof(b));
	b[0] = 0x82;
	CU_ASSERT_EQUAL(perc_rtcp_parse(b, n, k, 4), -PERC_R_MALFORMED);
	/* RR shorter than its own SSRC */
	CU_ASSERT_EQUAL(rtcp_hex("80c90000", k, 4, b, &n), -PERC_R_MALFORMED);
	/* SDES item running past the chunk */
	CU_ASSERT_EQUAL(rtcp_hex("81ca0003" "aaaaaaaa" "0109616263" "000000", k, 4, b, &n),
			-PERC_R_MALFORMED);
	/* SDES chunk without its end byte */
	CU_ASSERT_EQUAL(rtcp_hex("81ca0002" "aaaaaaaa" "01026162", k, 4, b, &n),
			-PERC_R_MALFORMED);
	/* empty input */
	CU_ASSERT_EQUAL(perc_rtcp_parse(b, 0, k, 4), -PERC_R_MALFORMED);
}

static void
test_rtcp_version_type(void)
{
	struct perc_rtcp_pkt k[4];
	uint8_t b[512];
	size_t n;

	CU_ASSERT_EQUAL(rtcp_hex("40c90001" "cccccccc", k, 4, b, &n), -PERC_R_MALFORMED);
	CU_ASSERT_EQUAL(rtcp_hex(RTCP_RR "40c90001" "cccccccc", k, 4, b, &n),
			-PERC_R_MALFORMED);
	/* an RTP payload type, not RTCP */
	CU_ASSERT_EQUAL(rtcp_hex(RTCP_RR "80600001" "cccccccc", k, 4, b, &n),
			-PERC_R_MALFORMED);
	/* a type this codec does not know is passed through */
	CU_ASSERT_EQUAL_FATAL(rtcp_hex(RTCP_RR "80d00001" "cccccccc", k, 4, b, &n), 2);
	CU_ASSERT_EQUAL(k[1].pt, 208);
	CU_ASSERT_EQUAL(k[1].ssrc, 0);
}

static void
test_rtcp_padding(void)
{
	struct perc_rtcp_pkt k[4];
	uint8_t b[512];
	size_t n;

	/* padding on the last packet */
	CU_ASSERT_EQUAL_FATAL(rtcp_hex(RTCP_RR "a1ce0003" "cccccccc" "dddddddd" "00000004",
				       k, 4, b, &n), 2);
	CU_ASSERT_EQUAL(k[1].len, 16);
	CU_ASSERT_EQUAL(k[1].media_ssrc, 0xddddddddu);
	/* padding on a packet that is not the last */
	CU_ASSERT_EQUAL(rtcp_hex("a0c90002" "cccccccc" "00000004" RTCP_PLI, k, 4, b, &n),
			-PERC_R_MALFORMED);
	/* a count of 0, not a multiple of 4, or eating into the header */
	CU_ASSERT_EQUAL(rtcp_hex("a0c90002" "cccccccc" "00000000", k, 4, b, &n),
			-PERC_R_MALFORMED);
	CU_ASSERT_EQUAL(rtcp_hex("a0c90002" "cccccccc" "00000003", k, 4, b, &n),
			-PERC_R_MALFORMED);
	CU_ASSERT_EQUAL(rtcp_hex("a0c90002" "cccccccc" "0000000c", k, 4, b, &n),
			-PERC_R_MALFORMED);
	/* padding that leaves the RR without its SSRC */
	CU_ASSERT_EQUAL(rtcp_hex("a0c90002" "cccccccc" "00000008", k, 4, b, &n),
			-PERC_R_MALFORMED);
}

/* Every prefix of a valid compound: refused, unless it ends exactly on a
 * packet boundary, where it is the compound of the packets before. */
static void
rtcp_prefixes(const char *hex)
{
	struct perc_rtcp_pkt full[8], k[8];
	uint8_t b[512];
	size_t n, bound[9];
	int cnt = rtcp_hex(hex, full, 8, b, &n);

	CU_ASSERT_FATAL(cnt > 0);
	bound[0] = 0;
	for (int i = 0; i < cnt; i++)
		bound[i + 1] = bound[i] + full[i].len;
	CU_ASSERT_EQUAL_FATAL(bound[cnt], n);
	for (size_t len = 0; len < n; len++) {
		uint8_t *d = t_dup_exact(b, len);
		int r = perc_rtcp_parse(d, len, k, 8), at = -1;

		for (int i = 1; i < cnt; i++)
			if (bound[i] == len)
				at = i;
		if (at > 0) {
			CU_ASSERT_EQUAL(r, at);
		} else {
			CU_ASSERT_EQUAL(r, -PERC_R_MALFORMED);
		}
		free(d);
	}
}

static void
test_rtcp_truncated(void)
{
	rtcp_prefixes(RTCP_SR RTCP_SDES);
	rtcp_prefixes(RTCP_RR RTCP_PLI RTCP_NACK RTCP_FIR RTCP_BYE);
	rtcp_prefixes(RTCP_RR "a1ce0003" "cccccccc" "dddddddd" "00000004");
}

static void
test_demux(void)
{
	static const struct {
		uint8_t b0, b1;
		size_t len;
		enum perc_demux want;
	} c[] = {
		{ 0, 0, 0, PERC_DEMUX_OTHER },   { 0, 0, 1, PERC_DEMUX_STUN },
		{ 3, 0, 20, PERC_DEMUX_STUN },   { 4, 0, 20, PERC_DEMUX_OTHER },
		{ 19, 0, 20, PERC_DEMUX_OTHER }, { 20, 0, 20, PERC_DEMUX_DTLS },
		{ 22, 0xfe, 20, PERC_DEMUX_DTLS }, { 63, 0, 20, PERC_DEMUX_DTLS },
		{ 64, 0, 20, PERC_DEMUX_TURN },  { 79, 0, 20, PERC_DEMUX_TURN },
		{ 80, 0, 20, PERC_DEMUX_OTHER }, { 127, 0, 20, PERC_DEMUX_OTHER },
		{ 0x80, 0x60, 20, PERC_DEMUX_RTP }, { 0x80, 0xe0, 20, PERC_DEMUX_RTP },
		{ 0x80, 0xbf, 20, PERC_DEMUX_RTP }, { 0x80, 0xc0, 20, PERC_DEMUX_RTCP },
		{ 0x81, 0xc8, 20, PERC_DEMUX_RTCP }, { 0x81, 0xdf, 20, PERC_DEMUX_RTCP },
		{ 0x80, 0xc8, 1, PERC_DEMUX_RTP }, { 0xbf, 0xc9, 20, PERC_DEMUX_RTCP },
		{ 0xc0, 0xc9, 20, PERC_DEMUX_OTHER }, { 0xff, 0, 20, PERC_DEMUX_OTHER },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint8_t b[20] = { c[i].b0, c[i].b1 };

		CU_ASSERT_EQUAL(perc_demux(b, c[i].len), c[i].want);
	}
}

/* A valid header of each kind demuxes as what it is. */
static void
test_demux_packets(void)
{
	uint8_t b[512];
	size_t n;

	n = hex_pkt(RTP_EXT2, b, sizeof(b));
	CU_ASSERT_EQUAL(perc_demux(b, n), PERC_DEMUX_RTP);
	n = hex_pkt(RTCP_SR RTCP_SDES, b, sizeof(b));
	CU_ASSERT_EQUAL(perc_demux(b, n), PERC_DEMUX_RTCP);
	n = hex_pkt(RTCP_FIR, b, sizeof(b));
	CU_ASSERT_EQUAL(perc_demux(b, n), PERC_DEMUX_RTCP);
}

int
main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	{
		T_SUITE("rtp");
		T_ADD(test_rtp_csrc);
		T_ADD(test_rtp_version);
		T_ADD(test_rtp_ext_one_byte);
		T_ADD(test_rtp_ext_one_byte_stop);
		T_ADD(test_rtp_ext_one_byte_bad);
		T_ADD(test_rtp_ext_two_byte);
		T_ADD(test_rtp_ext_other_profile);
		T_ADD(test_rtp_ext_len_too_long);
		T_ADD(test_rtp_padding);
		T_ADD(test_rtp_truncated);
		T_ADD(test_rtp_write);
	}
	{
		T_SUITE("rtcp");
		T_ADD(test_rtcp_sr_sdes);
		T_ADD(test_rtcp_rr_pli);
		T_ADD(test_rtcp_nack);
		T_ADD(test_rtcp_fir);
		T_ADD(test_rtcp_bye);
		T_ADD(test_rtcp_bad_length);
		T_ADD(test_rtcp_version_type);
		T_ADD(test_rtcp_padding);
		T_ADD(test_rtcp_truncated);
	}
	{
		T_SUITE("demux");
		T_ADD(test_demux);
		T_ADD(test_demux_packets);
	}
	return t_run();
}
