/* SPDX-License-Identifier: BSD-3-Clause */
/* L2-L4 packet helpers (dataplane/mdd/pkt.c): known-answer frames whose
 * checksums were worked out apart from pkt.c, a byte-wise reference
 * checksum, every error code, every truncation point under exact-size
 * buffers, and round trips of everything the module builds. */
#include <sys/socket.h>

#include "pkt.h"
#include "testutil.h"

/* ---- known-answer frames: Ethernet | IP | L4, checksums computed by hand
 * from RFC 791 / 768 / 8200 §8.1 / 4443 with a separate script ---- */

/* 02:00:00:00:00:01 192.0.2.1:40000 -> 02:00:00:00:00:02 198.51.100.2:50000,
 * TOS 0xb8, DF, TTL 64, payload "perc-mdd!" */
#define KAT_V4_ETH "0200000000020200000000010800"
#define KAT_V4_ETH_VLAN "0200000000020200000000018100a0640800"
#define KAT_V4_IP "45b800250000400040114dd9c0000201c6336402"
#define KAT_V4_UDP "9c40c35000111e69706572632d6d646421"
#define KAT_V4_UDP_NOCSUM "9c40c35000110000706572632d6d646421"
/* the same from 2001:db8::1 to 2001:db8::2, traffic class 0xb8, hop limit 64 */
#define KAT_V6_ETH "02000000000202000000000186dd"
#define KAT_V6_ETH_VLAN "0200000000020200000000018100a06486dd"
#define KAT_V6_IP "6b8000000011114020010db800000000000000000000000120010db8000000000000000000000002"
#define KAT_V6_UDP "9c40c3500011af2b706572632d6d646421"

/* NS from fe80::ff:fe00:1 (02:00:00:00:00:01) for 2001:db8::2, with a source
 * link-layer option, and the NA that 02:00:00:00:00:02 answers with */
#define KAT_NS \
	"3333ff00000202000000000186dd" \
	"6000000000203afffe80000000000000000000fffe000001ff0200000000000000000001ff000002" \
	"87004c5f0000000020010db80000000000000000000000020101020000000001"
#define KAT_NA \
	"02000000000102000000000286dd" \
	"6000000000203aff20010db8000000000000000000000002fe80000000000000000000fffe000001" \
	"8800baa96000000020010db80000000000000000000000020201020000000002"
/* duplicate address detection: NS from ::, NA to all-nodes with S clear */
#define KAT_DAD_NS \
	"3333ff00000202000000000186dd" \
	"6000000000183aff00000000000000000000000000000000ff0200000000000000000001ff000002" \
	"87004ceb0000000020010db8000000000000000000000002"
#define KAT_DAD_NA \
	"33330000000102000000000286dd" \
	"6000000000203aff20010db8000000000000000000000002ff020000000000000000000000000001" \
	"8800f9272000000020010db80000000000000000000000020201020000000002"
/* NS from 2001:db8::2 (02:..:02) for 2001:db8::1 on VLAN 100 */
#define KAT_SOLICIT_VLAN \
	"3333ff0000010200000000028100006486dd" \
	"6000000000203aff20010db8000000000000000000000002ff0200000000000000000001ff000001" \
	"87001c270000000020010db80000000000000000000000010101020000000002"
/* who-has 192.0.2.2 tell 192.0.2.1 (02:..:01), and 02:..:02's reply */
#define KAT_ARP_REQ \
	"ffffffffffff02000000000108060001080006040001020000000001c0000201" \
	"000000000000c0000202000000000000000000000000000000000000"
#define KAT_ARP_REP \
	"02000000000102000000000208060001080006040002020000000002c0000202" \
	"020000000001c0000201000000000000000000000000000000000000"

static const uint8_t mac1[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t mac2[6] = { 2, 0, 0, 0, 0, 2 };
static const uint8_t v4a[4] = { 192, 0, 2, 1 };
static const uint8_t v4b[4] = { 198, 51, 100, 2 };
static const uint8_t v6a[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t v6b[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
static const uint8_t v6_unspec[16];

/* In loops: report the first failure with its context and leave the test. */
#define T_LOOP_CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			printf("\n  %s:%d: %s fails at ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__); \
			printf("\n"); \
			CU_FAIL(#cond); \
			return; \
		} \
	} while (0)

/* ---- independent helpers ---- */

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* RFC 1071 the plain way: 16-bit big-endian words one at a time. */
static uint64_t
ref_sum(const uint8_t *p, size_t n, uint64_t s)
{
	for (size_t i = 0; i < n; i += 2)
		s += (uint64_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0u);
	return s;
}

static uint16_t
ref_fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Checksum of an upper-layer message behind the pseudo-header of the IP
 * header at ip; 0 when the message holds a correct checksum. */
static uint16_t
ref_l4(int family, const uint8_t *ip, uint8_t proto, const uint8_t *msg, size_t n)
{
	uint64_t s = proto + (uint64_t)n;

	s = family == AF_INET ? ref_sum(ip + 12, 8, s) : ref_sum(ip + 8, 32, s);
	return ref_fold(ref_sum(msg, n, s));
}

/* pkt_parse on an exact-size malloc'd copy, so that ASan sees over-reads
 * (an empty frame is a NULL pointer: nothing may be read at all) */
static int
parse_exact(const uint8_t *f, size_t n, bool verify, struct pkt_info *pi)
{
	uint8_t *d;
	int rc;

	if (n == 0)
		return pkt_parse(NULL, 0, verify, pi);
	d = t_dup_exact(f, n);
	rc = pkt_parse(d, n, verify, pi);

	free(d);
	return rc;
}

static int
arp_exact(const uint8_t *f, size_t n, const struct pkt_info *pi, struct pkt_arp *a)
{
	uint8_t *d = t_dup_exact(f, n);
	int rc = pkt_arp_parse(d, n, pi, a);

	free(d);
	return rc;
}

static int
nd_exact(const uint8_t *f, size_t n, const struct pkt_info *pi, struct pkt_nd *nd)
{
	uint8_t *d = t_dup_exact(f, n);
	int rc = pkt_nd_parse(d, n, pi, nd);

	free(d);
	return rc;
}

/* ---- test frames built byte by byte, apart from pkt.c ---- */

struct tf {
	uint8_t b[2048];
	size_t len, l3, l4;
	int family;
	unsigned ihl;           /* IPv4 header bytes */
};

static void
tf_ip4_csum(struct tf *f)
{
	uint8_t *ip = f->b + f->l3;

	put16(ip + 10, 0);
	put16(ip + 10, ref_fold(ref_sum(ip, f->ihl, 0)));
}

/* UDP checksum over the UDP length; 0 becomes 0xffff */
static void
tf_udp_csum(struct tf *f)
{
	uint8_t *u = f->b + f->l4;
	uint16_t c;

	put16(u + 6, 0);
	c = ref_l4(f->family, f->b + f->l3, 17, u, be16(u + 4));
	put16(u + 6, c ? c : 0xffff);
}

/* Ethernet (+ tag) + IPv4 of ihl bytes (NOP options) or IPv6 + an L4 body
 * of n bytes; for UDP (proto 17) an 8-byte header and n - 8 payload bytes.
 * Checksums are right. */
static void
tf_build(struct tf *f, int family, uint16_t vlan, unsigned ihl, uint8_t proto, size_t n)
{
	uint8_t *b = f->b, *ip;
	size_t o = 12;

	memset(f, 0, sizeof(*f));
	f->family = family;
	f->ihl = family == AF_INET ? ihl : PKT_IPV6_LEN;
	memcpy(b, mac2, 6);
	memcpy(b + 6, mac1, 6);
	if (vlan) {
		put16(b + 12, 0x8100);
		put16(b + 14, vlan);
		o = 16;
	}
	put16(b + o, family == AF_INET ? 0x0800 : 0x86dd);
	f->l3 = o + 2;
	f->l4 = f->l3 + f->ihl;
	f->len = f->l4 + n;
	ip = b + f->l3;
	if (family == AF_INET) {
		ip[0] = (uint8_t)(0x40 | ihl / 4);
		put16(ip + 2, (unsigned)(ihl + n));
		put16(ip + 4, 0x1234);
		ip[6] = 0x40;
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, v4a, 4);
		memcpy(ip + 16, v4b, 4);
		memset(ip + 20, 1, ihl - 20);
	} else {
		ip[0] = 0x60;
		put16(ip + 4, (unsigned)n);
		ip[6] = proto;
		ip[7] = 255;
		memcpy(ip + 8, v6a, 16);
		memcpy(ip + 24, v6b, 16);
	}
	for (size_t i = 0; i < n; i++)
		b[f->l4 + i] = (uint8_t)(i * 7 + 3);
	if (proto == 17) {
		put16(b + f->l4, 40000);
		put16(b + f->l4 + 2, 50000);
		put16(b + f->l4 + 4, (unsigned)n);
		tf_udp_csum(f);
	}
	if (family == AF_INET)
		tf_ip4_csum(f);
}

static int
tf_parse(const struct tf *f, bool verify)
{
	struct pkt_info pi;

	return parse_exact(f->b, f->len, verify, &pi);
}

/* ---- checksums ---- */

static void
test_csum(void)
{
	/* RFC 1071 §3: the example words sum to ddf2 */
	static const uint8_t ex[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint8_t buf[1600 + 8];
	uint64_t seed = 1071;

	CU_ASSERT_EQUAL(pkt_csum_fold(pkt_csum_partial(ex, 8, 0)), (uint16_t)~0xddf2);
	CU_ASSERT_EQUAL(pkt_csum_fold(0), 0xffff);
	CU_ASSERT_EQUAL(pkt_csum_fold(0xffff), 0);
	CU_ASSERT_EQUAL(pkt_csum_fold(0x2fffd), (uint16_t)~0xffff);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)t_rand(&seed);
	for (int pass = 0; pass < 3; pass++) {
		if (pass == 1)
			memset(buf, 0xff, sizeof(buf));      /* carries everywhere */
		if (pass == 2)
			memset(buf, 0, sizeof(buf));
		for (size_t n = 0; n <= 1600; n += n < 300 ? 1 : 37) {
			for (size_t off = 0; off < 8; off++) {
				const uint8_t *p = buf + off;
				uint16_t want = ref_fold(ref_sum(p, n, 0));
				uint32_t s = pkt_csum_partial(p, n, 0);
				size_t k = (n / 3) & ~(size_t)1;     /* even split */

				T_LOOP_CHECK(s <= 0x2fffd, "n=%zu off=%zu", n, off);
				T_LOOP_CHECK(pkt_csum_fold(s) == want, "n=%zu off=%zu", n, off);
				s = pkt_csum_partial(p + k, n - k, pkt_csum_partial(p, k, 0));
				T_LOOP_CHECK(pkt_csum_fold(s) == want, "chained n=%zu off=%zu", n, off);
				s = pkt_csum_partial(p, n, 0xffffffffu);
				T_LOOP_CHECK(s <= 0x2fffd, "n=%zu off=%zu", n, off);
				T_LOOP_CHECK(pkt_csum_fold(s) == ref_fold(ref_sum(p, n, 0xffffffffu)),
					     "large sum n=%zu off=%zu", n, off);
			}
		}
	}
}

/* ---- parsing known-answer frames ---- */

static void
test_parse_kat_v4(void)
{
	uint8_t f[128];
	struct pkt_info pi;
	size_t n = t_hex(KAT_V4_ETH KAT_V4_IP KAT_V4_UDP, f, sizeof(f));

	CU_ASSERT_EQUAL_FATAL(parse_exact(f, n, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_UDP);
	CU_ASSERT_EQUAL(pi.vlan, 0);
	CU_ASSERT_EQUAL(pi.ethertype, PKT_ETHERTYPE_IPV4);
	CU_ASSERT(memcmp(pi.dst_mac, mac2, 6) == 0);
	CU_ASSERT(memcmp(pi.src_mac, mac1, 6) == 0);
	CU_ASSERT_EQUAL(pi.l3_off, 14);
	CU_ASSERT_EQUAL(pi.family, AF_INET);
	CU_ASSERT(memcmp(pi.src_ip, v4a, 4) == 0);
	CU_ASSERT(memcmp(pi.dst_ip, v4b, 4) == 0);
	CU_ASSERT(memcmp(pi.src_ip + 4, v6_unspec, 12) == 0);
	CU_ASSERT_EQUAL(pi.ttl, 64);
	CU_ASSERT_EQUAL(pi.l4_off, 34);
	CU_ASSERT_EQUAL(pi.src_port, 40000);
	CU_ASSERT_EQUAL(pi.dst_port, 50000);
	CU_ASSERT_EQUAL(pi.payload_off, 42);
	CU_ASSERT_EQUAL(pi.payload_len, 9);
	CU_ASSERT(memcmp(f + pi.payload_off, "perc-mdd!", 9) == 0);
	/* and the reference agrees with the hand-made checksums */
	CU_ASSERT_EQUAL(ref_fold(ref_sum(f + 14, 20, 0)), 0);
	CU_ASSERT_EQUAL(ref_l4(AF_INET, f + 14, 17, f + 34, 17), 0);

	n = t_hex(KAT_V4_ETH_VLAN KAT_V4_IP KAT_V4_UDP, f, sizeof(f));
	CU_ASSERT_EQUAL_FATAL(parse_exact(f, n, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_UDP);
	CU_ASSERT_EQUAL(pi.vlan, 0xa064);
	CU_ASSERT_EQUAL(pi.ethertype, PKT_ETHERTYPE_IPV4);
	CU_ASSERT_EQUAL(pi.l3_off, 18);
	CU_ASSERT_EQUAL(pi.l4_off, 38);
	CU_ASSERT_EQUAL(pi.payload_off, 46);
	CU_ASSERT_EQUAL(pi.payload_len, 9);

	n = t_hex(KAT_V4_ETH KAT_V4_IP KAT_V4_UDP_NOCSUM, f, sizeof(f));
	CU_ASSERT_EQUAL(parse_exact(f, n, true, &pi), PKT_OK);    /* 0: none */
	CU_ASSERT_EQUAL(pi.kind, PKT_K_UDP);
}

static void
test_parse_kat_v6(void)
{
	uint8_t f[128];
	struct pkt_info pi;
	size_t n = t_hex(KAT_V6_ETH KAT_V6_IP KAT_V6_UDP, f, sizeof(f));

	CU_ASSERT_EQUAL_FATAL(parse_exact(f, n, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_UDP);
	CU_ASSERT_EQUAL(pi.vlan, 0);
	CU_ASSERT_EQUAL(pi.ethertype, PKT_ETHERTYPE_IPV6);
	CU_ASSERT_EQUAL(pi.l3_off, 14);
	CU_ASSERT_EQUAL(pi.family, AF_INET6);
	CU_ASSERT(memcmp(pi.src_ip, v6a, 16) == 0);
	CU_ASSERT(memcmp(pi.dst_ip, v6b, 16) == 0);
	CU_ASSERT_EQUAL(pi.ttl, 64);
	CU_ASSERT_EQUAL(pi.l4_off, 54);
	CU_ASSERT_EQUAL(pi.src_port, 40000);
	CU_ASSERT_EQUAL(pi.dst_port, 50000);
	CU_ASSERT_EQUAL(pi.payload_off, 62);
	CU_ASSERT_EQUAL(pi.payload_len, 9);
	CU_ASSERT(memcmp(f + pi.payload_off, "perc-mdd!", 9) == 0);
	CU_ASSERT_EQUAL(ref_l4(AF_INET6, f + 14, 17, f + 54, 17), 0);

	n = t_hex(KAT_V6_ETH_VLAN KAT_V6_IP KAT_V6_UDP, f, sizeof(f));
	CU_ASSERT_EQUAL_FATAL(parse_exact(f, n, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_UDP);
	CU_ASSERT_EQUAL(pi.vlan, 0xa064);
	CU_ASSERT_EQUAL(pi.l3_off, 18);
	CU_ASSERT_EQUAL(pi.l4_off, 58);
	CU_ASSERT_EQUAL(pi.payload_off, 66);
	CU_ASSERT_EQUAL(pi.payload_len, 9);
}

/* ---- every error code ---- */

static void
test_errors_l2(void)
{
	struct tf f;
	struct pkt_info pi;

	tf_build(&f, AF_INET, 0, 20, 17, 16);
	CU_ASSERT_EQUAL(parse_exact(f.b, 0, true, &pi), PKT_E_TRUNCATED);
	CU_ASSERT_EQUAL(parse_exact(f.b, 13, true, &pi), PKT_E_TRUNCATED);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_OTHER);
	tf_build(&f, AF_INET, 7, 20, 17, 16);
	CU_ASSERT_EQUAL(parse_exact(f.b, 17, true, &pi), PKT_E_TRUNCATED);
	/* an unknown ethertype is the control thread's, as is ARP */
	put16(f.b + 16, 0x88cc);
	CU_ASSERT_EQUAL(parse_exact(f.b, f.len, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_OTHER);
	CU_ASSERT_EQUAL(pi.ethertype, 0x88cc);
	CU_ASSERT_EQUAL(pi.vlan, 7);
	CU_ASSERT_EQUAL(pi.family, 0);
	put16(f.b + 16, 0x0806);
	CU_ASSERT_EQUAL(parse_exact(f.b, 18, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_ARP);
	CU_ASSERT_EQUAL(pi.l3_off, 18);
	/* QinQ: a second 802.1Q tag, or an 802.1ad outer tag */
	tf_build(&f, AF_INET, 7, 20, 17, 16);
	memmove(f.b + 16, f.b + 12, f.len - 12);
	f.len += 4;
	CU_ASSERT_EQUAL(parse_exact(f.b, f.len, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_OTHER);
	CU_ASSERT_EQUAL(pi.ethertype, PKT_ETHERTYPE_VLAN);
	put16(f.b + 12, 0x88a8);
	CU_ASSERT_EQUAL(parse_exact(f.b, f.len, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_OTHER);
	CU_ASSERT_EQUAL(pi.vlan, 0);
}

static void
test_errors_ipv4(void)
{
	struct tf f;
	struct pkt_info pi;
	uint8_t *ip;

	tf_build(&f, AF_INET, 0, 20, 17, 16);
	ip = f.b + f.l3;
	CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_OK);
	/* version */
	ip[0] = 0x65;
	CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_E_IP_VERSION);
	/* IHL < 5, even with a checksum right over those 16 bytes */
	ip[0] = 0x44;
	f.ihl = 16;
	tf_ip4_csum(&f);
	CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_E_IP_HDR);
	ip[0] = 0x40;
	CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_E_IP_HDR);
	ip[0] = 0x45;
	f.ihl = 20;
	tf_ip4_csum(&f);
	/* header checksum, both ways */
	ip[11] ^= 1;
	CU_ASSERT_EQUAL(tf_parse(&f, false), PKT_E_IP_HDR);
	ip[11] ^= 1;
	ip[8]--;        /* TTL changed, checksum not */
	CU_ASSERT_EQUAL(parse_exact(f.b, f.len, false, &pi), PKT_E_IP_HDR);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_OTHER);
	tf_ip4_csum(&f);
	CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_OK);
	/* total length beyond the frame, below the header, below IHL*4+8 */
	put16(ip + 2, (unsigned)(f.len - f.l3 + 1));
	tf_ip4_csum(&f);
	CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_E_IP_LEN);
	put16(ip + 2, 19);
	tf_ip4_csum(&f);
	CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_E_IP_LEN);
	ip[9] = 1;              /* whatever the protocol */
	tf_ip4_csum(&f);
	CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_E_IP_LEN);
	ip[9] = 17;
	put16(ip + 2, 27);
	tf_ip4_csum(&f);
	CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_E_IP_LEN);
	put16(ip + 2, 20);      /* an empty ICMP datagram is fine */
	ip[9] = 1;
	tf_ip4_csum(&f);
	CU_ASSERT_EQUAL(parse_exact(f.b, f.len, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_ICMP4);
	CU_ASSERT_EQUAL(pi.payload_len, 0);

	/* fragments: MF, an offset, both; DF alone and no flags are fine */
	tf_build(&f, AF_INET, 0, 20, 17, 16);
	ip[6] = 0x20;
	tf_ip4_csum(&f);
	CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_E_FRAGMENT);
	ip[6] = 0x40;
	ip[7] = 1;
	tf_ip4_csum(&f);
	CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_E_FRAGMENT);
	ip[6] = 0x1f;
	ip[7] = 0;
	tf_ip4_csum(&f);
	CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_E_FRAGMENT);
	ip[6] = 0;
	tf_ip4_csum(&f);
	CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_OK);

	/* options: IHL 15 */
	tf_build(&f, AF_INET, 0, 60, 17, 16);
	CU_ASSERT_EQUAL_FATAL(parse_exact(f.b, f.len, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.l4_off, 14 + 60);
	CU_ASSERT_EQUAL(pi.payload_len, 8);
	/* other protocols go to the control thread whole */
	tf_build(&f, AF_INET, 0, 20, 6, 40);
	CU_ASSERT_EQUAL(parse_exact(f.b, f.len, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_OTHER);
	CU_ASSERT_EQUAL(pi.family, AF_INET);
	CU_ASSERT_EQUAL(pi.l4_off, 34);
	CU_ASSERT_EQUAL(pi.payload_off, 34);
	CU_ASSERT_EQUAL(pi.payload_len, 40);
	tf_build(&f, AF_INET, 0, 20, 1, 12);
	CU_ASSERT_EQUAL(parse_exact(f.b, f.len, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_ICMP4);
	CU_ASSERT_EQUAL(pi.payload_len, 12);
}

static void
test_errors_ipv6(void)
{
	struct tf f;
	struct pkt_info pi;
	uint8_t *ip;

	tf_build(&f, AF_INET6, 0, 0, 17, 16);
	ip = f.b + f.l3;
	CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_OK);
	ip[0] = 0x40;
	CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_E_IP_VERSION);
	ip[0] = 0x60;
	put16(ip + 4, (unsigned)(f.len - f.l4 + 1));
	CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_E_IP_LEN);
	put16(ip + 4, 7);
	CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_E_IP_LEN);
	put16(ip + 4, 16);
	/* fragment header: refused; any other extension header: the control
	 * thread's */
	ip[6] = 44;
	CU_ASSERT_EQUAL(parse_exact(f.b, f.len, true, &pi), PKT_E_FRAGMENT);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_OTHER);
	ip[6] = 0;
	CU_ASSERT_EQUAL(parse_exact(f.b, f.len, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_OTHER);
	CU_ASSERT_EQUAL(pi.family, AF_INET6);
	CU_ASSERT_EQUAL(pi.l4_off, 54);
	CU_ASSERT_EQUAL(pi.payload_len, 16);
	ip[6] = 43;
	CU_ASSERT_EQUAL(parse_exact(f.b, f.len, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_OTHER);
	ip[6] = 58;
	CU_ASSERT_EQUAL(parse_exact(f.b, f.len, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_ICMP6);
	CU_ASSERT_EQUAL(pi.payload_off, 54);
	CU_ASSERT_EQUAL(pi.payload_len, 16);
	ip[6] = 17;
	CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_OK);
}

static void
test_errors_udp(void)
{
	static const int fams[2] = { AF_INET, AF_INET6 };

	for (int i = 0; i < 2; i++) {
		struct tf f;
		struct pkt_info pi;
		uint8_t *u;

		tf_build(&f, fams[i], 0, 20, 17, 24);
		u = f.b + f.l4;
		/* UDP length below 8, beyond the IP payload */
		put16(u + 4, 7);
		CU_ASSERT_EQUAL(tf_parse(&f, false), PKT_E_UDP_LEN);
		put16(u + 4, 25);
		CU_ASSERT_EQUAL(tf_parse(&f, false), PKT_E_UDP_LEN);
		/* shorter than the IP payload: the rest is ignored */
		put16(u + 4, 20);
		tf_udp_csum(&f);
		CU_ASSERT_EQUAL(parse_exact(f.b, f.len, true, &pi), PKT_OK);
		CU_ASSERT_EQUAL(pi.payload_len, 12);
		put16(u + 4, 8);
		tf_udp_csum(&f);
		CU_ASSERT_EQUAL(parse_exact(f.b, f.len, true, &pi), PKT_OK);
		CU_ASSERT_EQUAL(pi.payload_len, 0);
		put16(u + 4, 24);
		tf_udp_csum(&f);
		CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_OK);

		/* a wrong checksum: refused when verified, passed when not */
		u[15] ^= 0x40;
		CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_E_UDP_CSUM);
		CU_ASSERT_EQUAL(tf_parse(&f, false), PKT_OK);
		u[15] ^= 0x40;
		u[6] ^= 0x01;
		CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_E_UDP_CSUM);
		u[6] ^= 0x01;
		/* a changed pseudo-header (address) is caught too */
		f.b[f.l3 + (fams[i] == AF_INET ? 19 : 39)] ^= 1;
		if (fams[i] == AF_INET)
			tf_ip4_csum(&f);
		CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_E_UDP_CSUM);
		f.b[f.l3 + (fams[i] == AF_INET ? 19 : 39)] ^= 1;
		if (fams[i] == AF_INET)
			tf_ip4_csum(&f);
		/* checksum 0: "none" on IPv4, refused on IPv6 (RFC 8200 §8.1) */
		put16(u + 6, 0);
		if (fams[i] == AF_INET) {
			CU_ASSERT_EQUAL(tf_parse(&f, true), PKT_OK);
			CU_ASSERT_EQUAL(tf_parse(&f, false), PKT_OK);
		} else {
			CU_ASSERT_EQUAL(parse_exact(f.b, f.len, true, &pi), PKT_E_UDP_CSUM);
			CU_ASSERT_EQUAL(pi.kind, PKT_K_OTHER);
			CU_ASSERT_EQUAL(tf_parse(&f, false), PKT_E_UDP_CSUM);
		}
	}
}

static void
test_err_names(void)
{
	static const char *const want[] = {
		"ok", "truncated", "ip_version", "ip_hdr", "ip_len", "fragment", "udp_len",
		"udp_csum",
	};

	CU_ASSERT_EQUAL_FATAL((size_t)PKT_E__COUNT, sizeof(want) / sizeof(want[0]));
	for (int i = 0; i < PKT_E__COUNT; i++)
		CU_ASSERT_STRING_EQUAL(pkt_err_name(i), want[i]);
	CU_ASSERT_EQUAL(PKT_E_UDP_CSUM, 7);
	CU_ASSERT_STRING_EQUAL(pkt_err_name(-1), "?");
	CU_ASSERT_STRING_EQUAL(pkt_err_name(PKT_E__COUNT), "?");
}

/* ---- truncation and padding ---- */

/* What pkt_parse must say about the first cut bytes of a frame whose
 * headers end at l3 + ihl (IP header) */
static int
want_cut(size_t cut, bool vlan, int family, size_t ihl)
{
	size_t l3 = vlan ? 18 : 14;

	if (cut < 14 || (vlan && cut < 18))
		return PKT_E_TRUNCATED;
	if (cut < l3 + (family == AF_INET ? 20u : 40u) || cut < l3 + ihl)
		return PKT_E_TRUNCATED;
	return PKT_E_IP_LEN;
}

static void
check_cuts(const uint8_t *f, size_t len, bool vlan, int family, size_t ihl, const char *what)
{
	struct pkt_info pi;

	T_LOOP_CHECK(parse_exact(f, len, true, &pi) == PKT_OK, "%s whole", what);
	for (size_t cut = 0; cut < len; cut++) {
		int rc = parse_exact(f, cut, true, &pi);

		T_LOOP_CHECK(rc == want_cut(cut, vlan, family, ihl), "%s cut %zu of %zu: %s", what,
			     cut, len, pkt_err_name(rc));
		T_LOOP_CHECK(pi.kind == PKT_K_OTHER, "%s cut %zu", what, cut);
	}
}

static void
test_truncation(void)
{
	uint8_t f[128];
	struct tf t;
	size_t n;

	n = t_hex(KAT_V4_ETH KAT_V4_IP KAT_V4_UDP, f, sizeof(f));
	check_cuts(f, n, false, AF_INET, 20, "v4");
	n = t_hex(KAT_V4_ETH_VLAN KAT_V4_IP KAT_V4_UDP, f, sizeof(f));
	check_cuts(f, n, true, AF_INET, 20, "v4 vlan");
	n = t_hex(KAT_V6_ETH KAT_V6_IP KAT_V6_UDP, f, sizeof(f));
	check_cuts(f, n, false, AF_INET6, 40, "v6");
	n = t_hex(KAT_V6_ETH_VLAN KAT_V6_IP KAT_V6_UDP, f, sizeof(f));
	check_cuts(f, n, true, AF_INET6, 40, "v6 vlan");
	n = t_hex(KAT_NS, f, sizeof(f));
	check_cuts(f, n, false, AF_INET6, 40, "ns");
	tf_build(&t, AF_INET, 0, 32, 17, 8);
	check_cuts(t.b, t.len, false, AF_INET, 32, "v4 options");
	tf_build(&t, AF_INET, 9, 24, 1, 8);
	check_cuts(t.b, t.len, true, AF_INET, 24, "icmp4 options vlan");
}

static void
test_padding(void)
{
	uint8_t f[128];
	struct pkt_info pi;
	struct tf t;
	size_t n;

	/* 42 bytes of IPv4 UDP padded to 60 with junk, plus a stray FCS */
	tf_build(&t, AF_INET, 0, 20, 17, 8);
	CU_ASSERT_EQUAL(t.len, 42);
	memset(t.b + t.len, 0xa5, 22);
	t.len = 64;
	CU_ASSERT_EQUAL(parse_exact(t.b, t.len, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_UDP);
	CU_ASSERT_EQUAL(pi.payload_off, 42);
	CU_ASSERT_EQUAL(pi.payload_len, 0);
	for (size_t cut = 42; cut <= 64; cut++)
		CU_ASSERT_EQUAL(parse_exact(t.b, cut, true, &pi), PKT_OK);

	n = t_hex(KAT_V4_ETH_VLAN KAT_V4_IP KAT_V4_UDP "00000000000000", f, sizeof(f));
	CU_ASSERT_EQUAL(parse_exact(f, n, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.payload_len, 9);
	n = t_hex(KAT_V6_ETH KAT_V6_IP KAT_V6_UDP "deadbeef", f, sizeof(f));
	CU_ASSERT_EQUAL(parse_exact(f, n, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.payload_len, 9);
}

/* ---- egress templates ---- */

static void
tmpl_fill(struct pkt_udp_tmpl *t, int family, uint16_t vlan, uint8_t ttl)
{
	memset(t, 0, sizeof(*t));
	t->family = family;
	memcpy(t->dst_mac, mac2, 6);
	memcpy(t->src_mac, mac1, 6);
	t->vlan = vlan;
	if (family == AF_INET) {
		memcpy(t->src_ip, v4a, 4);
		memcpy(t->dst_ip, v4b, 4);
	} else {
		memcpy(t->src_ip, v6a, 16);
		memcpy(t->dst_ip, v6b, 16);
	}
	t->src_port = 40000;
	t->dst_port = 50000;
	t->ttl = ttl;
	pkt_udp_tmpl_init(t);
}

static void
check_write_kat(int family, uint16_t vlan, bool csum, const char *hex)
{
	struct pkt_udp_tmpl t;
	uint8_t want[128], got[128];
	size_t n = t_hex(hex, want, sizeof(want)), len;

	tmpl_fill(&t, family, vlan, 0);         /* 0: the default, 64 */
	memset(got, 0xee, sizeof(got));
	memcpy(got + t.hdr_len, "perc-mdd!", 9);
	len = pkt_udp_write(got, &t, 9, csum);
	CU_ASSERT_EQUAL(len, n);
	CU_ASSERT(memcmp(got, want, n) == 0);
	CU_ASSERT_EQUAL(got[n], 0xee);          /* nothing written past the frame */
}

static void
test_write_kat(void)
{
	check_write_kat(AF_INET, 0, true, KAT_V4_ETH KAT_V4_IP KAT_V4_UDP);
	check_write_kat(AF_INET, 0, false, KAT_V4_ETH KAT_V4_IP KAT_V4_UDP_NOCSUM);
	check_write_kat(AF_INET, 0xa064, true, KAT_V4_ETH_VLAN KAT_V4_IP KAT_V4_UDP);
	check_write_kat(AF_INET6, 0, true, KAT_V6_ETH KAT_V6_IP KAT_V6_UDP);
	check_write_kat(AF_INET6, 0xa064, true, KAT_V6_ETH_VLAN KAT_V6_IP KAT_V6_UDP);
}

static void
check_roundtrip(int family, uint16_t vlan, bool csum)
{
	static uint8_t buf[66 + 1500 + 16];
	struct pkt_udp_tmpl t;
	struct pkt_info pi;
	uint64_t seed = 768 + (uint64_t)family * 3 + vlan + csum;

	tmpl_fill(&t, family, vlan, 17);
	for (unsigned plen = 0; plen <= 1500; plen++) {
		size_t n, ip = vlan ? 18 : 14;
		uint8_t *u;
		int rc;

		for (size_t i = 0; i < plen; i++)
			buf[t.hdr_len + i] = (uint8_t)t_rand(&seed);
		memset(buf, 0x5a, t.hdr_len);   /* stale bytes the header must overwrite */
		n = pkt_udp_write(buf, &t, (uint16_t)plen, csum);
		T_LOOP_CHECK(n == t.hdr_len + plen, "plen %u", plen);
		rc = parse_exact(buf, n, true, &pi);
		T_LOOP_CHECK(rc == PKT_OK, "family %d vlan %u csum %d plen %u: %s", family, vlan,
			     csum, plen, pkt_err_name(rc));
		T_LOOP_CHECK(pi.kind == PKT_K_UDP && pi.family == family && pi.vlan == vlan &&
			     pi.ttl == 17 && pi.src_port == 40000 && pi.dst_port == 50000,
			     "plen %u", plen);
		T_LOOP_CHECK(pi.payload_off == t.hdr_len && pi.payload_len == plen, "plen %u", plen);
		T_LOOP_CHECK(memcmp(pi.src_ip, t.src_ip, 16) == 0 &&
			     memcmp(pi.dst_ip, t.dst_ip, 16) == 0, "plen %u", plen);
		/* the reference agrees */
		u = buf + pi.l4_off;
		if (family == AF_INET) {
			T_LOOP_CHECK(ref_fold(ref_sum(buf + ip, 20, 0)) == 0, "plen %u", plen);
			T_LOOP_CHECK(buf[ip + 1] == 0xb8 && buf[ip + 6] == 0x40 && buf[ip + 9] == 17,
				     "plen %u", plen);
		} else {
			T_LOOP_CHECK(buf[ip] == 0x6b && buf[ip + 1] == 0x80 && buf[ip + 6] == 17,
				     "plen %u", plen);
		}
		if (csum)
			T_LOOP_CHECK(be16(u + 6) != 0 &&
				     ref_l4(family, buf + ip, 17, u, 8 + plen) == 0, "plen %u", plen);
		else
			T_LOOP_CHECK(be16(u + 6) == 0, "plen %u", plen);
	}
}

static void
test_write_roundtrip(void)
{
	struct pkt_udp_tmpl t;
	uint8_t buf[128];

	check_roundtrip(AF_INET, 0, true);
	check_roundtrip(AF_INET, 0, false);
	check_roundtrip(AF_INET, 0x3005, true);
	check_roundtrip(AF_INET, 0x3005, false);
	check_roundtrip(AF_INET6, 0, true);
	check_roundtrip(AF_INET6, 0x0fff, true);

	tmpl_fill(&t, AF_INET, 0, 0);
	CU_ASSERT_EQUAL(t.hdr_len, 42);
	CU_ASSERT_EQUAL(t.hdr[14 + 8], 64);
	CU_ASSERT_EQUAL(pkt_udp_write(buf, &t, PKT_UDP_MAX_PAYLOAD + 1, true), 0);
	tmpl_fill(&t, AF_INET, 1, 0);
	CU_ASSERT_EQUAL(t.hdr_len, 46);
	tmpl_fill(&t, AF_INET6, 0, 0);
	CU_ASSERT_EQUAL(t.hdr_len, 62);
	CU_ASSERT_EQUAL(t.hdr[14 + 7], 64);
	tmpl_fill(&t, AF_INET6, 1, 0);
	CU_ASSERT_EQUAL(t.hdr_len, 66);
}

/* A payload chosen so that the UDP checksum comes out 0: sent as 0xffff. */
static void
test_write_csum_zero(void)
{
	static const int fams[2] = { AF_INET, AF_INET6 };

	for (int i = 0; i < 2; i++) {
		struct pkt_udp_tmpl t;
		struct pkt_info pi;
		uint8_t buf[128], *u, *ip;
		uint64_t s;
		size_t n;

		tmpl_fill(&t, fams[i], 0, 64);
		memcpy(buf + t.hdr_len, "zero-sum", 8);
		put16(buf + t.hdr_len + 8, 0);
		n = pkt_udp_write(buf, &t, 10, false);
		ip = buf + 14;
		u = buf + t.hdr_len - 8;
		put16(u + 6, 0);
		s = ref_sum(u, 18, 18 + 17);
		s = fams[i] == AF_INET ? ref_sum(ip + 12, 8, s) : ref_sum(ip + 8, 32, s);
		put16(buf + t.hdr_len + 8, ref_fold(s));
		CU_ASSERT_EQUAL(ref_l4(fams[i], ip, 17, u, 18), 0);    /* the checksum is 0 */
		n = pkt_udp_write(buf, &t, 10, true);
		CU_ASSERT_EQUAL(be16(u + 6), 0xffff);
		CU_ASSERT_EQUAL(parse_exact(buf, n, true, &pi), PKT_OK);
	}
}

/* ---- ARP ---- */

static void
test_arp(void)
{
	static const uint8_t zero[6];
	uint8_t f[128], out[128], want[128];
	struct pkt_info pi;
	struct pkt_arp req, rep;
	size_t n = t_hex(KAT_ARP_REQ, f, sizeof(f)), m;

	CU_ASSERT_EQUAL_FATAL(parse_exact(f, n, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_ARP);
	CU_ASSERT_EQUAL(pi.l3_off, 14);
	CU_ASSERT_EQUAL_FATAL(arp_exact(f, n, &pi, &req), 0);
	CU_ASSERT_EQUAL(req.op, 1);
	CU_ASSERT(memcmp(req.sha, mac1, 6) == 0);
	CU_ASSERT(memcmp(req.spa, v4a, 4) == 0);
	CU_ASSERT(memcmp(req.tha, zero, 6) == 0);
	CU_ASSERT_EQUAL(req.tpa[3], 2);

	/* our request is the same frame */
	memset(out, 0xee, sizeof(out));
	CU_ASSERT_EQUAL(pkt_arp_request(mac1, v4a, req.tpa, 0, out, sizeof(out)), 60);
	CU_ASSERT(memcmp(out, f, 60) == 0);
	CU_ASSERT_EQUAL(out[60], 0xee);
	CU_ASSERT_EQUAL(pkt_arp_request(mac1, v4a, req.tpa, 0, out, 59), 0);

	/* the reply, byte for byte, and parsed back */
	m = t_hex(KAT_ARP_REP, want, sizeof(want));
	memset(out, 0xee, sizeof(out));
	CU_ASSERT_EQUAL(pkt_arp_reply(&req, mac2, 0, out, sizeof(out)), m);
	CU_ASSERT(memcmp(out, want, m) == 0);
	CU_ASSERT_EQUAL(out[60], 0xee);
	CU_ASSERT_EQUAL(pkt_arp_reply(&req, mac2, 0, out, 59), 0);
	CU_ASSERT_EQUAL_FATAL(parse_exact(out, 60, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_ARP);
	CU_ASSERT(memcmp(pi.dst_mac, mac1, 6) == 0);
	CU_ASSERT(memcmp(pi.src_mac, mac2, 6) == 0);
	CU_ASSERT_EQUAL_FATAL(arp_exact(out, 60, &pi, &rep), 0);
	CU_ASSERT_EQUAL(rep.op, 2);
	CU_ASSERT(memcmp(rep.sha, mac2, 6) == 0);
	CU_ASSERT(memcmp(rep.spa, req.tpa, 4) == 0);
	CU_ASSERT(memcmp(rep.tha, req.sha, 6) == 0);
	CU_ASSERT(memcmp(rep.tpa, req.spa, 4) == 0);

	/* tagged: request and reply keep the tag and stay 60 bytes */
	CU_ASSERT_EQUAL(pkt_arp_request(mac1, v4a, req.tpa, 0x2064, out, sizeof(out)), 60);
	CU_ASSERT_EQUAL_FATAL(parse_exact(out, 60, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.kind, PKT_K_ARP);
	CU_ASSERT_EQUAL(pi.vlan, 0x2064);
	CU_ASSERT_EQUAL_FATAL(arp_exact(out, 60, &pi, &req), 0);
	CU_ASSERT_EQUAL(req.op, 1);
	CU_ASSERT_EQUAL(pkt_arp_reply(&req, mac2, pi.vlan, out, sizeof(out)), 60);
	CU_ASSERT_EQUAL_FATAL(parse_exact(out, 60, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(pi.vlan, 0x2064);
	CU_ASSERT_EQUAL_FATAL(arp_exact(out, 60, &pi, &rep), 0);
	CU_ASSERT_EQUAL(rep.op, 2);
	CU_ASSERT(memcmp(rep.tpa, v4a, 4) == 0);
	CU_ASSERT(memcmp(rep.tha, mac1, 6) == 0);
	CU_ASSERT(memcmp(out + 18 + 28, zero, 6) == 0);   /* zero padding */

	/* only Ethernet / IPv4, requests and replies; every cut is short */
	CU_ASSERT_EQUAL_FATAL(parse_exact(f, n, true, &pi), PKT_OK);
	{
		static const struct {
			size_t off;
			uint8_t val;
		} bad[] = { { 15, 6 }, { 16, 0x86 }, { 18, 8 }, { 19, 16 }, { 21, 3 }, { 21, 0 } };

		for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			uint8_t g[128];

			memcpy(g, f, n);
			g[bad[i].off] = bad[i].val;
			CU_ASSERT_EQUAL(arp_exact(g, n, &pi, &req), -1);
		}
	}
	for (size_t cut = 14; cut < 14 + 28; cut++) {
		CU_ASSERT_EQUAL(parse_exact(f, cut, true, &pi), PKT_OK);
		CU_ASSERT_EQUAL(arp_exact(f, cut, &pi, &req), -1);
	}
	CU_ASSERT_EQUAL(parse_exact(f, 42, true, &pi), PKT_OK);
	CU_ASSERT_EQUAL(arp_exact(f, 42, &pi, &req), 0);
	pi.kind = PKT_K_OTHER;
	CU_ASSERT_EQUAL(arp_exact(f, 42, &pi, &req), -1);
}

/* ---- neighbour discovery ---- */

/* recompute the ICMPv6 checksum of an untagged frame */
static void
nd_fix(uint8_t *f)
{
	size_t mlen = be16(f + 14 + 4);

	put16(f + 54 + 2, 0);
	put16(f + 54 + 2, ref_l4(AF_INET6, f + 14, 58, f + 54, mlen));
}

/* parse as ICMPv6 first, then as ND */
static int
nd_parse_frame(const uint8_t *f, size_t n, struct pkt_info *pi, struct pkt_nd *nd)
{
	if (parse_exact(f, n, true, pi) != PKT_OK || pi->kind != PKT_K_ICMP6)
		return -2;
	return nd_exact(f, n, pi, nd);
}

static void
test_nd_ns_na(void)
{
	uint8_t f[160], out[160], want[160];
	struct pkt_info pi, pa;
	struct pkt_nd ns, na;
	size_t n = t_hex(KAT_NS, f, sizeof(f)), m = t_hex(KAT_NA, want, sizeof(want)), len;

	CU_ASSERT_EQUAL_FATAL(nd_parse_frame(f, n, &pi, &ns), 0);
	CU_ASSERT_EQUAL(pi.ttl, 255);
	CU_ASSERT_EQUAL(pi.l4_off, 54);
	CU_ASSERT_EQUAL(pi.payload_len, 32);
	CU_ASSERT_EQUAL(ns.type, 135);
	CU_ASSERT_EQUAL(ns.flags, 0);
	CU_ASSERT(memcmp(ns.target, v6b, 16) == 0);
	CU_ASSERT(ns.has_lladdr);
	CU_ASSERT(memcmp(ns.lladdr, mac1, 6) == 0);

	memset(out, 0xee, sizeof(out));
	len = pkt_nd_advert(&pi, &ns, mac2, out, sizeof(out));
	CU_ASSERT_EQUAL_FATAL(len, m);
	CU_ASSERT(memcmp(out, want, m) == 0);
	CU_ASSERT_EQUAL(out[m], 0xee);
	CU_ASSERT_EQUAL(ref_l4(AF_INET6, out + 14, 58, out + 54, 32), 0);
	CU_ASSERT_EQUAL_FATAL(nd_parse_frame(out, len, &pa, &na), 0);
	CU_ASSERT_EQUAL(na.type, 136);
	CU_ASSERT_EQUAL(na.flags, PKT_ND_F_SOLICITED | PKT_ND_F_OVERRIDE);
	CU_ASSERT(memcmp(na.target, v6b, 16) == 0);
	CU_ASSERT(na.has_lladdr);
	CU_ASSERT(memcmp(na.lladdr, mac2, 6) == 0);
	CU_ASSERT(memcmp(pa.dst_mac, mac1, 6) == 0);
	CU_ASSERT(memcmp(pa.src_ip, v6b, 16) == 0);
	CU_ASSERT(memcmp(pa.dst_ip, pi.src_ip, 16) == 0);
	CU_ASSERT_EQUAL(pa.ttl, 255);

	CU_ASSERT_EQUAL(pkt_nd_advert(&pi, &ns, mac2, out, m - 1), 0);
	CU_ASSERT_EQUAL(pkt_nd_advert(&pa, &na, mac2, out, sizeof(out)), 0);   /* not an NS */

	/* tagged NS: the NA goes back on the same VLAN */
	{
		uint8_t g[160];

		memcpy(g, f, 12);
		put16(g + 12, 0x8100);
		put16(g + 14, 0x0123);
		memcpy(g + 16, f + 12, n - 12);
		CU_ASSERT_EQUAL_FATAL(nd_parse_frame(g, n + 4, &pi, &ns), 0);
		len = pkt_nd_advert(&pi, &ns, mac2, out, sizeof(out));
		CU_ASSERT_EQUAL_FATAL(len, m + 4);
		CU_ASSERT_EQUAL_FATAL(nd_parse_frame(out, len, &pa, &na), 0);
		CU_ASSERT_EQUAL(pa.vlan, 0x0123);
		CU_ASSERT(memcmp(out + 18, want + 14, m - 14) == 0);
	}
}

static void
test_nd_dad(void)
{
	uint8_t f[160], out[160], want[160];
	struct pkt_info pi, pa;
	struct pkt_nd ns, na;
	size_t n = t_hex(KAT_DAD_NS, f, sizeof(f)), m = t_hex(KAT_DAD_NA, want, sizeof(want)), len;

	CU_ASSERT_EQUAL_FATAL(nd_parse_frame(f, n, &pi, &ns), 0);
	CU_ASSERT_EQUAL(ns.type, 135);
	CU_ASSERT(!ns.has_lladdr);
	len = pkt_nd_advert(&pi, &ns, mac2, out, sizeof(out));
	CU_ASSERT_EQUAL_FATAL(len, m);
	CU_ASSERT(memcmp(out, want, m) == 0);
	CU_ASSERT_EQUAL_FATAL(nd_parse_frame(out, len, &pa, &na), 0);
	CU_ASSERT_EQUAL(na.flags, PKT_ND_F_OVERRIDE);
	CU_ASSERT_EQUAL(pa.dst_ip[0], 0xff);
	CU_ASSERT_EQUAL(pa.dst_ip[15], 1);
}

static void
test_nd_solicit(void)
{
	uint8_t out[160], want[160];
	struct pkt_info pi;
	struct pkt_nd ns;
	size_t m = t_hex(KAT_SOLICIT_VLAN, want, sizeof(want)), len;

	memset(out, 0xee, sizeof(out));
	len = pkt_nd_solicit(mac2, v6b, v6a, 100, out, sizeof(out));
	CU_ASSERT_EQUAL_FATAL(len, m);
	CU_ASSERT(memcmp(out, want, m) == 0);
	CU_ASSERT_EQUAL(out[m], 0xee);
	CU_ASSERT_EQUAL_FATAL(nd_parse_frame(out, len, &pi, &ns), 0);
	CU_ASSERT_EQUAL(pi.vlan, 100);
	CU_ASSERT_EQUAL(ns.type, 135);
	CU_ASSERT(memcmp(ns.target, v6a, 16) == 0);
	CU_ASSERT(ns.has_lladdr);
	CU_ASSERT(memcmp(ns.lladdr, mac2, 6) == 0);
	CU_ASSERT_EQUAL(pkt_nd_solicit(mac2, v6b, v6a, 100, out, m - 1), 0);

	/* untagged, and from :: (DAD): no source link-layer option */
	len = pkt_nd_solicit(mac2, v6b, v6a, 0, out, sizeof(out));
	CU_ASSERT_EQUAL_FATAL(len, m - 4);
	CU_ASSERT_EQUAL_FATAL(nd_parse_frame(out, len, &pi, &ns), 0);
	CU_ASSERT_EQUAL(pi.dst_mac[0], 0x33);
	CU_ASSERT_EQUAL(pi.dst_mac[2], 0xff);
	CU_ASSERT_EQUAL(pi.dst_mac[5], 0x01);
	len = pkt_nd_solicit(mac2, v6_unspec, v6a, 0, out, sizeof(out));
	CU_ASSERT_EQUAL_FATAL(len, 14 + 40 + 24);
	CU_ASSERT_EQUAL_FATAL(nd_parse_frame(out, len, &pi, &ns), 0);
	CU_ASSERT(!ns.has_lladdr);
	CU_ASSERT(memcmp(pi.src_ip, v6_unspec, 16) == 0);
	CU_ASSERT_EQUAL(pi.dst_ip[11], 1);
	CU_ASSERT_EQUAL(pi.dst_ip[12], 0xff);
	CU_ASSERT_EQUAL(ref_l4(AF_INET6, out + 14, 58, out + 54, 24), 0);
}

static void
test_nd_refused(void)
{
	uint8_t ns0[160], na0[160], dad0[160], g[168];
	struct pkt_info pi;
	struct pkt_nd nd;
	size_t n = t_hex(KAT_NS, ns0, sizeof(ns0));
	size_t na_n = t_hex(KAT_NA, na0, sizeof(na0));
	size_t dad_n = t_hex(KAT_DAD_NS, dad0, sizeof(dad0));

	/* hop limit (not under the checksum) */
	memcpy(g, ns0, n);
	g[14 + 7] = 254;
	CU_ASSERT_EQUAL(nd_parse_frame(g, n, &pi, &nd), -1);
	/* checksum */
	memcpy(g, ns0, n);
	g[54 + 3] ^= 0x10;
	CU_ASSERT_EQUAL(nd_parse_frame(g, n, &pi, &nd), -1);
	g[54 + 3] ^= 0x10;
	g[54 + 20] ^= 0x10;
	CU_ASSERT_EQUAL(nd_parse_frame(g, n, &pi, &nd), -1);
	/* code */
	memcpy(g, ns0, n);
	g[54 + 1] = 1;
	nd_fix(g);
	CU_ASSERT_EQUAL(nd_parse_frame(g, n, &pi, &nd), -1);
	/* not NS / NA */
	memcpy(g, ns0, n);
	g[54] = 128;
	nd_fix(g);
	CU_ASSERT_EQUAL(nd_parse_frame(g, n, &pi, &nd), -1);
	/* option length 0, option beyond the message, a stray byte after it */
	memcpy(g, ns0, n);
	g[54 + 25] = 0;
	nd_fix(g);
	CU_ASSERT_EQUAL(nd_parse_frame(g, n, &pi, &nd), -1);
	g[54 + 25] = 2;
	nd_fix(g);
	CU_ASSERT_EQUAL(nd_parse_frame(g, n, &pi, &nd), -1);
	memcpy(g, ns0, n);
	g[n] = 0;
	put16(g + 18, 33);
	nd_fix(g);
	CU_ASSERT_EQUAL(nd_parse_frame(g, n + 1, &pi, &nd), -1);
	/* the first source link-layer option counts; NS reserved bits are
	 * ignored */
	memcpy(g, ns0, n);
	memcpy(g + n, "\x01\x01\x0a\x0b\x0c\x0d\x0e\x0f", 8);
	put16(g + 18, 40);
	g[54 + 4] = 0xe0;
	nd_fix(g);
	CU_ASSERT_EQUAL(nd_parse_frame(g, n + 8, &pi, &nd), 0);
	CU_ASSERT(nd.has_lladdr);
	CU_ASSERT(memcmp(nd.lladdr, mac1, 6) == 0);
	CU_ASSERT_EQUAL(nd.flags, 0);
	/* an unknown option (nonce) is skipped */
	memcpy(g, ns0, n);
	memcpy(g + n, "\x0e\x01\x01\x02\x03\x04\x05\x06", 8);
	put16(g + 18, 40);
	nd_fix(g);
	CU_ASSERT_EQUAL(nd_parse_frame(g, n + 8, &pi, &nd), 0);
	CU_ASSERT(nd.has_lladdr);
	/* shorter than 24 bytes */
	memcpy(g, ns0, n);
	put16(g + 18, 20);
	nd_fix(g);
	CU_ASSERT_EQUAL(nd_parse_frame(g, 54 + 20, &pi, &nd), -1);
	/* multicast target */
	memcpy(g, ns0, n);
	g[54 + 8] = 0xff;
	nd_fix(g);
	CU_ASSERT_EQUAL(nd_parse_frame(g, n, &pi, &nd), -1);
	/* from :: with a source link-layer option */
	memcpy(g, ns0, n);
	memset(g + 22, 0, 16);
	nd_fix(g);
	CU_ASSERT_EQUAL(nd_parse_frame(g, n, &pi, &nd), -1);
	/* from :: to an address that is not solicited-node */
	memcpy(g, dad0, dad_n);
	g[38 + 11] = 0;
	nd_fix(g);
	CU_ASSERT_EQUAL(nd_parse_frame(g, dad_n, &pi, &nd), -1);
	/* NA to multicast with S set; fine with S clear */
	memcpy(g, na0, na_n);
	memcpy(g + 38, "\xff\x02\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	nd_fix(g);
	CU_ASSERT_EQUAL(nd_parse_frame(g, na_n, &pi, &nd), -1);
	g[54 + 4] = PKT_ND_F_OVERRIDE;
	nd_fix(g);
	CU_ASSERT_EQUAL(nd_parse_frame(g, na_n, &pi, &nd), 0);
	/* info that does not fit the frame, or not ICMPv6 */
	CU_ASSERT_EQUAL_FATAL(nd_parse_frame(ns0, n, &pi, &nd), 0);
	CU_ASSERT_EQUAL(nd_exact(ns0, n - 1, &pi, &nd), -1);
	pi.kind = PKT_K_UDP;
	CU_ASSERT_EQUAL(nd_exact(ns0, n, &pi, &nd), -1);
}

int
main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	T_SUITE("pkt");
	T_ADD(test_csum);
	T_ADD(test_parse_kat_v4);
	T_ADD(test_parse_kat_v6);
	T_ADD(test_errors_l2);
	T_ADD(test_errors_ipv4);
	T_ADD(test_errors_ipv6);
	T_ADD(test_errors_udp);
	T_ADD(test_err_names);
	T_ADD(test_truncation);
	T_ADD(test_padding);
	T_ADD(test_write_kat);
	T_ADD(test_write_roundtrip);
	T_ADD(test_write_csum_zero);
	T_ADD(test_arp);
	T_ADD(test_nd_ns_na);
	T_ADD(test_nd_dad);
	T_ADD(test_nd_solicit);
	T_ADD(test_nd_refused);
	return t_run();
}
