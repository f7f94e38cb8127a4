/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ethernet / IPv4 (RFC 791) / IPv6 (RFC 8200) / UDP (RFC 768) headers, ARP
 * (RFC 826) and neighbour discovery (RFC 4861) on plain byte buffers.
 *
 * Every field is bounds-checked against the bytes at hand before it is read:
 * these run on frames straight off the wire. Checksums (RFC 1071) are summed
 * as 32-bit words in memory order into 64-bit accumulators and folded to
 * 16 bits at the end; one byte swap turns the result into host order.
 */
#include <string.h>
#include <sys/socket.h>

#include "pkt.h"
#include "perc/bytes.h"

#define IPPROTO_ICMP_ 1u
#define IPPROTO_UDP_ 17u
#define IPPROTO_FRAG6_ 44u
#define IPPROTO_ICMP6_ 58u
#define ND_NS 135u
#define ND_NA 136u
#define ND_OPT_SLLA 1u
#define ND_OPT_TLLA 2u
#define ND_HDR_LEN 24u          /* type, code, checksum, flags, target */
#define ND_OPT_LLA_LEN 8u       /* type, length, 6-byte MAC */
#define ARP_BODY_LEN 28u

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define CSUM_TO_HOST(x) (x)
#else
#define CSUM_TO_HOST(x) ((uint16_t)__builtin_bswap16(x))
#endif

/* ---- checksums ---- */

static inline uint32_t
ld32(const uint8_t *p)
{
	uint32_t w;

	memcpy(&w, p, 4);
	return w;
}

/* One's complement sum of p[0..n) in memory order, folded to 16 bits.
 * 32-bit words go into 64-bit accumulators, so that the carries pile up in
 * the upper halves instead of forming a chain, and are folded back at the
 * end; byte positions keep their parity, so the 16-bit sum falls out of the
 * fold (RFC 1071 §2 (B), (C)). Four accumulators keep the adds independent
 * (and let the compiler use vector adds). */
static inline uint16_t
raw_sum(const uint8_t *p, size_t n)
{
	uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, acc;
	uint16_t w16;

	for (; n >= 16; p += 16, n -= 16) {
		a0 += ld32(p);
		a1 += ld32(p + 4);
		a2 += ld32(p + 8);
		a3 += ld32(p + 12);
	}
	acc = a0 + a1 + a2 + a3;
	for (; n >= 4; p += 4, n -= 4)
		acc += ld32(p);
	if (n & 2) {
		memcpy(&w16, p, 2);
		acc += w16;
		p += 2;
	}
	if (n & 1) {
		uint8_t last[2] = { p[0], 0 };

		memcpy(&w16, last, 2);
		acc += w16;
	}
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffu) + (acc >> 16);
	acc = (acc & 0xffffu) + (acc >> 16);
	return (uint16_t)acc;
}

static inline uint32_t
csum_partial(const uint8_t *p, size_t n, uint32_t sum)
{
	return (sum & 0xffffu) + (sum >> 16) + CSUM_TO_HOST(raw_sum(p, n));
}

static inline uint16_t
csum_fold(uint32_t sum)
{
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t
pkt_csum_partial(const void *p, size_t n, uint32_t sum)
{
	return csum_partial(p, n, sum);
}

uint16_t
pkt_csum_fold(uint32_t sum)
{
	return csum_fold(sum);
}

/* Checksum of an upper-layer message behind an IPv4 (alen 4) or IPv6
 * (alen 16) pseudo-header; 0 when msg holds a correct checksum. */
static uint16_t
l4_csum(const uint8_t *src, const uint8_t *dst, size_t alen, uint8_t proto,
	const uint8_t *msg, size_t mlen)
{
	uint32_t s = csum_partial(src, alen, proto + (uint32_t)mlen);

	s = csum_partial(dst, alen, s);
	return csum_fold(csum_partial(msg, mlen, s));
}

/* ---- parsing ---- */

static const char *const err_names[] = {
	[PKT_OK] = "ok",
#define PKT_E_NAME_(e, n, d) [PKT_E_##e] = n,
	PKT_FOREACH_ERR(PKT_E_NAME_)
#undef PKT_E_NAME_
};

const char *
pkt_err_name(int err)
{
	return err >= 0 && err < PKT_E__COUNT ? err_names[err] : "?";
}

/* UDP at f + l4 inside an IP payload of iplen (>= 8) bytes. */
static int
parse_udp(const uint8_t *f, size_t l4, size_t iplen, bool verify_csum, struct pkt_info *info)
{
	const uint8_t *u = f + l4;
	size_t ulen = perc_rd16(u + 4);
	uint16_t csum = perc_rd16(u + 6);
	bool v6 = info->family == AF_INET6;

	if (ulen < PKT_UDP_LEN || ulen > iplen)
		return PKT_E_UDP_LEN;
	info->src_port = perc_rd16(u);
	info->dst_port = perc_rd16(u + 2);
	info->payload_off = (uint16_t)(l4 + PKT_UDP_LEN);
	info->payload_len = (uint16_t)(ulen - PKT_UDP_LEN);
	if (csum == 0) {
		if (v6)
			return PKT_E_UDP_CSUM;
	} else if (verify_csum &&
		   l4_csum(info->src_ip, info->dst_ip, v6 ? 16 : 4, IPPROTO_UDP_, u, ulen) != 0) {
		return PKT_E_UDP_CSUM;
	}
	info->kind = PKT_K_UDP;
	return PKT_OK;
}

/* Any IP payload but UDP: the control thread gets it whole. */
static int
ip_other(struct pkt_info *info, size_t l4, size_t iplen, enum pkt_kind kind)
{
	info->payload_off = (uint16_t)l4;
	info->payload_len = (uint16_t)iplen;
	info->kind = kind;
	return PKT_OK;
}

static int
parse_ipv4(const uint8_t *f, size_t len, size_t l3, bool verify_csum, struct pkt_info *info)
{
	const uint8_t *ip = f + l3;
	size_t room = len - l3, ihl, tot, l4;

	if (room < PKT_IPV4_LEN)
		return PKT_E_TRUNCATED;
	if ((ip[0] >> 4) != 4)
		return PKT_E_IP_VERSION;
	ihl = (ip[0] & 0x0fu) * 4u;
	if (ihl < PKT_IPV4_LEN)
		return PKT_E_IP_HDR;
	if (room < ihl)
		return PKT_E_TRUNCATED;
	tot = perc_rd16(ip + 2);
	if (tot > room || tot < ihl)
		return PKT_E_IP_LEN;
	/* the sum over a correct header, checksum included, is 0xffff in
	 * either byte order */
	if (raw_sum(ip, ihl) != 0xffffu)
		return PKT_E_IP_HDR;
	if (perc_rd16(ip + 6) & 0x3fffu)     /* MF or fragment offset */
		return PKT_E_FRAGMENT;
	info->family = AF_INET;
	info->ttl = ip[8];
	memcpy(info->src_ip, ip + 12, 4);
	memcpy(info->dst_ip, ip + 16, 4);
	l4 = l3 + ihl;
	info->l4_off = (uint16_t)l4;
	switch (ip[9]) {
	case IPPROTO_UDP_:
		if (tot < ihl + PKT_UDP_LEN)
			return PKT_E_IP_LEN;
		return parse_udp(f, l4, tot - ihl, verify_csum, info);
	case IPPROTO_ICMP_:
		return ip_other(info, l4, tot - ihl, PKT_K_ICMP4);
	default:
		return ip_other(info, l4, tot - ihl, PKT_K_OTHER);
	}
}

static int
parse_ipv6(const uint8_t *f, size_t len, size_t l3, bool verify_csum, struct pkt_info *info)
{
	const uint8_t *ip = f + l3;
	size_t room = len - l3, plen, l4;

	if (room < PKT_IPV6_LEN)
		return PKT_E_TRUNCATED;
	if ((ip[0] >> 4) != 6)
		return PKT_E_IP_VERSION;
	plen = perc_rd16(ip + 4);
	if (plen > room - PKT_IPV6_LEN)
		return PKT_E_IP_LEN;
	info->family = AF_INET6;
	info->ttl = ip[7];
	memcpy(info->src_ip, ip + 8, 16);
	memcpy(info->dst_ip, ip + 24, 16);
	l4 = l3 + PKT_IPV6_LEN;
	info->l4_off = (uint16_t)l4;
	switch (ip[6]) {
	case IPPROTO_UDP_:
		if (plen < PKT_UDP_LEN)
			return PKT_E_IP_LEN;
		return parse_udp(f, l4, plen, verify_csum, info);
	case IPPROTO_ICMP6_:
		return ip_other(info, l4, plen, PKT_K_ICMP6);
	case IPPROTO_FRAG6_:
		return PKT_E_FRAGMENT;
	default:        /* another protocol, or an extension header */
		return ip_other(info, l4, plen, PKT_K_OTHER);
	}
}

int
pkt_parse(const uint8_t *frame, size_t len, bool verify_csum, struct pkt_info *info)
{
	size_t l3 = PKT_ETH_LEN;
	uint16_t et;

	memset(info, 0, sizeof(*info));
	info->kind = PKT_K_OTHER;
	if (len < PKT_ETH_LEN)
		return PKT_E_TRUNCATED;
	memcpy(info->dst_mac, frame, 6);
	memcpy(info->src_mac, frame + 6, 6);
	et = perc_rd16(frame + 12);
	if (et == PKT_ETHERTYPE_VLAN) {
		if (len < PKT_ETH_LEN + PKT_VLAN_LEN)
			return PKT_E_TRUNCATED;
		info->vlan = perc_rd16(frame + 14);
		et = perc_rd16(frame + 16);
		l3 += PKT_VLAN_LEN;
	}
	info->ethertype = et;
	info->l3_off = (uint16_t)l3;
	/* the IP parsers set info->kind only once the frame has passed */
	switch (et) {
	case PKT_ETHERTYPE_IPV4:
		return parse_ipv4(frame, len, l3, verify_csum, info);
	case PKT_ETHERTYPE_IPV6:
		return parse_ipv6(frame, len, l3, verify_csum, info);
	case PKT_ETHERTYPE_ARP:
		info->kind = PKT_K_ARP;
		return PKT_OK;
	default:        /* incl. a second VLAN tag */
		return PKT_OK;
	}
}

/* ---- UDP egress ---- */

void
pkt_udp_tmpl_init(struct pkt_udp_tmpl *t)
{
	uint8_t *h = t->hdr, *ip, *u;
	uint8_t ttl = t->ttl ? t->ttl : 64;
	size_t o = 12;

	memset(t->hdr, 0, sizeof(t->hdr));
	memcpy(h, t->dst_mac, 6);
	memcpy(h + 6, t->src_mac, 6);
	if (t->vlan != 0) {
		perc_wr16(h + o, PKT_ETHERTYPE_VLAN);
		perc_wr16(h + o + 2, t->vlan);
		o += PKT_VLAN_LEN;
	}
	ip = h + o + 2;
	if (t->family == AF_INET6) {
		perc_wr16(h + o, PKT_ETHERTYPE_IPV6);
		/* version 6, traffic class, flow label 0 */
		ip[0] = (uint8_t)(0x60u | (PKT_TOS_EF >> 4));
		ip[1] = (uint8_t)((PKT_TOS_EF & 0x0fu) << 4);
		ip[6] = IPPROTO_UDP_;
		ip[7] = ttl;
		memcpy(ip + 8, t->src_ip, 16);
		memcpy(ip + 24, t->dst_ip, 16);
		u = ip + PKT_IPV6_LEN;
		t->pseudo_sum = (uint16_t)~csum_fold(csum_partial(ip + 8, 32, 0));
		t->ip_sum = 0;
	} else {
		perc_wr16(h + o, PKT_ETHERTYPE_IPV4);
		ip[0] = 0x45;
		ip[1] = PKT_TOS_EF;
		ip[6] = 0x40;           /* DF; identification 0 (RFC 6864) */
		ip[8] = ttl;
		ip[9] = IPPROTO_UDP_;
		memcpy(ip + 12, t->src_ip, 4);
		memcpy(ip + 16, t->dst_ip, 4);
		u = ip + PKT_IPV4_LEN;
		t->pseudo_sum = (uint16_t)~csum_fold(csum_partial(ip + 12, 8, 0));
		t->ip_sum = (uint16_t)~csum_fold(csum_partial(ip, PKT_IPV4_LEN, 0));
	}
	perc_wr16(u, t->src_port);
	perc_wr16(u + 2, t->dst_port);
	t->hdr_len = (uint16_t)(u + PKT_UDP_LEN - h);
}

/* Constant-size copies for the four header shapes, so that none of them
 * goes through a variable-length memcpy. */
static inline void
copy_hdr(uint8_t *frame, const struct pkt_udp_tmpl *t)
{
	switch (t->hdr_len) {
	case PKT_ETH_LEN + PKT_IPV4_LEN + PKT_UDP_LEN:
		memcpy(frame, t->hdr, PKT_ETH_LEN + PKT_IPV4_LEN + PKT_UDP_LEN);
		break;
	case PKT_ETH_LEN + PKT_VLAN_LEN + PKT_IPV4_LEN + PKT_UDP_LEN:
		memcpy(frame, t->hdr, PKT_ETH_LEN + PKT_VLAN_LEN + PKT_IPV4_LEN + PKT_UDP_LEN);
		break;
	case PKT_ETH_LEN + PKT_IPV6_LEN + PKT_UDP_LEN:
		memcpy(frame, t->hdr, PKT_ETH_LEN + PKT_IPV6_LEN + PKT_UDP_LEN);
		break;
	case PKT_ETH_LEN + PKT_VLAN_LEN + PKT_IPV6_LEN + PKT_UDP_LEN:
		memcpy(frame, t->hdr, PKT_ETH_LEN + PKT_VLAN_LEN + PKT_IPV6_LEN + PKT_UDP_LEN);
		break;
	default:
		memcpy(frame, t->hdr, t->hdr_len);
		break;
	}
}

size_t
pkt_udp_write(uint8_t *frame, const struct pkt_udp_tmpl *t, uint16_t payload_len, bool udp_csum)
{
	uint8_t *u = frame + t->hdr_len - PKT_UDP_LEN;
	uint32_t ulen = PKT_UDP_LEN + (uint32_t)payload_len;

	if (payload_len > PKT_UDP_MAX_PAYLOAD)
		return 0;
	copy_hdr(frame, t);
	perc_wr16(u + 4, ulen);
	if (t->family == AF_INET6) {
		perc_wr16(u - PKT_IPV6_LEN + 4, ulen);
	} else {
		uint8_t *ip = u - PKT_IPV4_LEN;
		uint32_t tot = ulen + PKT_IPV4_LEN;

		perc_wr16(ip + 2, tot);
		perc_wr16(ip + 10, csum_fold(t->ip_sum + tot));
	}
	if (udp_csum) {
		uint16_t c = csum_fold(csum_partial(u, ulen, t->pseudo_sum + IPPROTO_UDP_ + ulen));

		perc_wr16(u + 6, c ? c : 0xffffu);
	}
	return t->hdr_len + (size_t)payload_len;
}

/* ---- ARP ---- */

/* Ethernet header (+ 802.1Q tag when vlan != 0); returns its length. */
static size_t
put_eth(uint8_t *out, const uint8_t dst[6], const uint8_t src[6], uint16_t vlan, uint16_t et)
{
	size_t o = 12;

	memcpy(out, dst, 6);
	memcpy(out + 6, src, 6);
	if (vlan != 0) {
		perc_wr16(out + o, PKT_ETHERTYPE_VLAN);
		perc_wr16(out + o + 2, vlan);
		o += PKT_VLAN_LEN;
	}
	perc_wr16(out + o, et);
	return o + 2;
}

static inline size_t
eth_len(uint16_t vlan)
{
	return PKT_ETH_LEN + (vlan != 0 ? PKT_VLAN_LEN : 0);
}

int
pkt_arp_parse(const uint8_t *frame, size_t len, const struct pkt_info *info, struct pkt_arp *arp)
{
	const uint8_t *a = frame + info->l3_off;
	uint16_t op;

	if (info->kind != PKT_K_ARP || len < info->l3_off || len - info->l3_off < ARP_BODY_LEN)
		return -1;
	/* htype 1 (Ethernet), ptype 0x0800, hlen 6, plen 4 */
	if (perc_rd16(a) != 1 || perc_rd16(a + 2) != PKT_ETHERTYPE_IPV4 || a[4] != 6 || a[5] != 4)
		return -1;
	op = perc_rd16(a + 6);
	if (op != 1 && op != 2)
		return -1;
	arp->op = op;
	memcpy(arp->sha, a + 8, 6);
	memcpy(arp->spa, a + 14, 4);
	memcpy(arp->tha, a + 18, 6);
	memcpy(arp->tpa, a + 24, 4);
	return 0;
}

/* A whole ARP frame, padded with zeros to 60 bytes. */
static size_t
put_arp(uint8_t *out, size_t cap, const uint8_t eth_dst[6], uint16_t vlan, uint16_t op,
	const uint8_t sha[6], const uint8_t spa[4], const uint8_t tha[6], const uint8_t tpa[4])
{
	uint8_t *a;

	if (cap < PKT_ARP_FRAME_LEN)
		return 0;
	memset(out, 0, PKT_ARP_FRAME_LEN);
	a = out + put_eth(out, eth_dst, sha, vlan, PKT_ETHERTYPE_ARP);
	perc_wr16(a, 1);
	perc_wr16(a + 2, PKT_ETHERTYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	perc_wr16(a + 6, op);
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, spa, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, tpa, 4);
	return PKT_ARP_FRAME_LEN;
}

size_t
pkt_arp_reply(const struct pkt_arp *req, const uint8_t our_mac[6], uint16_t vlan, uint8_t *out,
	      size_t cap)
{
	return put_arp(out, cap, req->sha, vlan, 2, our_mac, req->tpa, req->sha, req->spa);
}

size_t
pkt_arp_request(const uint8_t our_mac[6], const uint8_t our_ip[4], const uint8_t ip[4],
		uint16_t vlan, uint8_t *out, size_t cap)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[6];

	return put_arp(out, cap, bcast, vlan, 1, our_mac, our_ip, zero, ip);
}

/* ---- neighbour discovery ---- */

static const uint8_t in6_unspec[16];

static inline bool
in6_is_unspec(const uint8_t a[16])
{
	return memcmp(a, in6_unspec, 16) == 0;
}

/* ff02::1:ffXX:XXXX */
static inline bool
in6_is_solicited_node(const uint8_t a[16])
{
	static const uint8_t pfx[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };

	return memcmp(a, pfx, sizeof(pfx)) == 0;
}

int
pkt_nd_parse(const uint8_t *frame, size_t len, const struct pkt_info *info, struct pkt_nd *nd)
{
	const uint8_t *m = frame + info->l4_off;
	size_t mlen = info->payload_len, o, olen;
	uint8_t want;

	if (info->kind != PKT_K_ICMP6 || info->family != AF_INET6 ||
	    (size_t)info->l4_off + mlen > len || mlen < ND_HDR_LEN)
		return -1;
	if ((m[0] != ND_NS && m[0] != ND_NA) || m[1] != 0 || info->ttl != 255)
		return -1;
	if (l4_csum(info->src_ip, info->dst_ip, 16, IPPROTO_ICMP6_, m, mlen) != 0)
		return -1;
	if (m[8] == 0xff)       /* multicast target */
		return -1;
	memset(nd, 0, sizeof(*nd));
	nd->type = m[0];
	nd->flags = m[0] == ND_NA ? (uint8_t)(m[4] & 0xe0u) : 0;
	memcpy(nd->target, m + 8, 16);
	want = m[0] == ND_NS ? ND_OPT_SLLA : ND_OPT_TLLA;
	for (o = ND_HDR_LEN; o < mlen; o += olen) {
		if (mlen - o < 2)
			return -1;
		olen = m[o + 1] * 8u;
		if (olen == 0 || olen > mlen - o)
			return -1;
		if (m[o] == want && olen == ND_OPT_LLA_LEN && !nd->has_lladdr) {
			nd->has_lladdr = true;
			memcpy(nd->lladdr, m + o + 2, 6);
		}
	}
	if (nd->type == ND_NS && in6_is_unspec(info->src_ip) &&
	    (!in6_is_solicited_node(info->dst_ip) || nd->has_lladdr))
		return -1;
	if (nd->type == ND_NA && info->dst_ip[0] == 0xff && (nd->flags & PKT_ND_F_SOLICITED))
		return -1;
	return 0;
}

/* IPv6 header + an NS / NA: type, flags, target and at most one link-layer
 * option of our_mac (opt 0: none); fills the checksum. Returns the length
 * from ip on. */
static size_t
put_nd(uint8_t *ip, const uint8_t src[16], const uint8_t dst[16], uint8_t type, uint8_t flags,
       const uint8_t target[16], uint8_t opt, const uint8_t our_mac[6])
{
	uint8_t *m = ip + PKT_IPV6_LEN;
	size_t mlen = ND_HDR_LEN + (opt != 0 ? ND_OPT_LLA_LEN : 0);

	memset(ip, 0, PKT_IPV6_LEN + mlen);
	ip[0] = 0x60;
	perc_wr16(ip + 4, (uint32_t)mlen);
	ip[6] = IPPROTO_ICMP6_;
	ip[7] = 255;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	m[0] = type;
	m[4] = flags;
	memcpy(m + 8, target, 16);
	if (opt != 0) {
		m[ND_HDR_LEN] = opt;
		m[ND_HDR_LEN + 1] = 1;
		memcpy(m + ND_HDR_LEN + 2, our_mac, 6);
	}
	perc_wr16(m + 2, l4_csum(src, dst, 16, IPPROTO_ICMP6_, m, mlen));
	return PKT_IPV6_LEN + mlen;
}

size_t
pkt_nd_advert(const struct pkt_info *info, const struct pkt_nd *ns, const uint8_t our_mac[6],
	      uint8_t *out, size_t cap)
{
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	bool dad = in6_is_unspec(info->src_ip);
	size_t o;

	if (ns->type != ND_NS || info->family != AF_INET6 ||
	    cap < eth_len(info->vlan) + PKT_IPV6_LEN + ND_HDR_LEN + ND_OPT_LLA_LEN)
		return 0;
	o = put_eth(out, dad ? all_nodes_mac : info->src_mac, our_mac, info->vlan,
		    PKT_ETHERTYPE_IPV6);
	return o + put_nd(out + o, ns->target, dad ? all_nodes : info->src_ip, ND_NA,
			  dad ? PKT_ND_F_OVERRIDE : PKT_ND_F_SOLICITED | PKT_ND_F_OVERRIDE,
			  ns->target, ND_OPT_TLLA, our_mac);
}

size_t
pkt_nd_solicit(const uint8_t our_mac[6], const uint8_t our_ip[16], const uint8_t target[16],
	       uint16_t vlan, uint8_t *out, size_t cap)
{
	uint8_t snm[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff };
	uint8_t mac[6] = { 0x33, 0x33, 0xff };
	bool dad = in6_is_unspec(our_ip);
	size_t o;

	if (cap < eth_len(vlan) + PKT_IPV6_LEN + ND_HDR_LEN + (dad ? 0 : ND_OPT_LLA_LEN))
		return 0;
	memcpy(snm + 13, target + 13, 3);
	memcpy(mac + 3, target + 13, 3);
	o = put_eth(out, mac, our_mac, vlan, PKT_ETHERTYPE_IPV6);
	return o + put_nd(out + o, our_ip, snm, ND_NS, 0, target, dad ? 0 : (uint8_t)ND_OPT_SLLA,
			  our_mac);
}
