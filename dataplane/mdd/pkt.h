/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Ethernet / IPv4 / IPv6 / UDP parsing and building on plain byte buffers,
 * plus the ARP and IPv6 neighbour discovery messages the control thread
 * answers. No DPDK types: the worker passes rte_pktmbuf_mtod() pointers;
 * the unit tests pass arrays. Every length is checked; nothing allocates.
 */
#ifndef MDD_PKT_H
#define MDD_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_ETH_LEN 14u
#define PKT_VLAN_LEN 4u
#define PKT_IPV4_LEN 20u
#define PKT_IPV6_LEN 40u
#define PKT_UDP_LEN 8u
#define PKT_ETHERTYPE_IPV4 0x0800u
#define PKT_ETHERTYPE_ARP 0x0806u
#define PKT_ETHERTYPE_IPV6 0x86ddu
#define PKT_ETHERTYPE_VLAN 0x8100u
#define PKT_ARP_FRAME_LEN 60u     /**< ARP frames are padded to the Ethernet minimum */
#define PKT_TOS_EF 0xb8u          /**< DSCP EF (46) << 2: what pkt_udp_write sends */
#define PKT_UDP_MAX_PAYLOAD 65507u /**< 65535 - IPv4 - UDP headers */
#define PKT_ND_F_ROUTER 0x80u     /**< NA flags (first byte after the checksum) */
#define PKT_ND_F_SOLICITED 0x40u
#define PKT_ND_F_OVERRIDE 0x20u

/** What a frame is, as far as the dataplane cares. */
enum pkt_kind {
	PKT_K_UDP = 0,      /**< IPv4/IPv6 UDP, header checks passed */
	PKT_K_ARP,          /**< ARP (for the control thread) */
	PKT_K_ICMP4,        /**< ICMPv4 (control thread) */
	PKT_K_ICMP6,        /**< ICMPv6, incl. neighbour discovery (control thread) */
	PKT_K_OTHER,        /**< another protocol or ethertype (control thread) */
};

/**
 * Why a frame was refused by pkt_parse(). X-macro: _(ENUM, "name",
 * "description"), so that drop counters and telemetry take their names from
 * this one list (PKT_OK, 0, is not in it).
 */
#define PKT_FOREACH_ERR(_) \
	_(TRUNCATED,  "truncated",  "shorter than its Ethernet / VLAN / IP headers") \
	_(IP_VERSION, "ip_version", "IP version field does not match the ethertype") \
	_(IP_HDR,     "ip_hdr",     "IPv4 IHL < 5, or IPv4 header checksum wrong") \
	_(IP_LEN,     "ip_len",     "IP total / payload length beyond the frame or too short") \
	_(FRAGMENT,   "fragment",   "IPv4 MF / fragment offset, or an IPv6 fragment header") \
	_(UDP_LEN,    "udp_len",    "UDP length < 8 or beyond the IP payload") \
	_(UDP_CSUM,   "udp_csum",   "UDP checksum wrong (IPv6: also zero)")

enum pkt_err {
	PKT_OK = 0,
#define PKT_E_ENUM_(e, n, d) PKT_E_##e,
	PKT_FOREACH_ERR(PKT_E_ENUM_)
#undef PKT_E_ENUM_
	PKT_E__COUNT
};

/**
 * Parsed frame; offsets from the start of the frame. Fields that do not
 * apply to the frame's kind are zero.
 */
struct pkt_info {
	enum pkt_kind kind;
	uint16_t vlan;            /**< tag control information of a single 802.1Q
				   *   tag: PCP, DEI, VLAN id (0: untagged) */
	uint16_t ethertype;       /**< after a VLAN tag */
	uint8_t dst_mac[6], src_mac[6];
	uint16_t l3_off;          /**< IP / ARP header */
	int family;               /**< AF_INET or AF_INET6 (any IP frame), else 0 */
	uint8_t src_ip[16], dst_ip[16]; /**< IPv4 in the first 4 bytes, rest 0 */
	uint8_t ttl;              /**< TTL / hop limit */
	uint16_t l4_off;          /**< UDP / ICMP header: the first byte after the
				   *   IPv4 header (options included) or the fixed
				   *   IPv6 header */
	uint16_t src_port, dst_port; /**< host order (UDP) */
	uint16_t payload_off;     /**< UDP payload; other IP kinds: l4_off */
	uint16_t payload_len;     /**< UDP payload bytes (from the UDP length);
				   *   other IP kinds: bytes of IP payload (the
				   *   ICMP message for ICMP4 / ICMP6) */
};

/**
 * Parse a frame of len bytes. Frames may carry Ethernet padding beyond the
 * IP length: it is ignored. One 802.1Q tag (0x8100) is understood; a second
 * tag (QinQ) or an 802.1ad S-tag makes the frame PKT_K_OTHER, as does any
 * IPv6 extension header other than a fragment header (PKT_E_FRAGMENT, like
 * an IPv4 fragment). The IPv4 header checksum is always verified. With
 * verify_csum, UDP checksums are checked in software (IPv4 checksum 0 means
 * none); an IPv6 UDP checksum of 0 is refused with or without verify_csum
 * (RFC 8200 §8.1). A UDP datagram whose IP payload is shorter than a UDP
 * header is PKT_E_IP_LEN. ARP bodies are checked by pkt_arp_parse().
 * Returns PKT_OK (and info->kind), or an enum pkt_err; on error info holds
 * what was parsed before the fault and its kind is PKT_K_OTHER.
 */
int pkt_parse(const uint8_t *frame, size_t len, bool verify_csum, struct pkt_info *info);

/** Name of an enum pkt_err ("ok", "truncated", "ip_version", ...); "?" when
 *  out of range. */
const char *pkt_err_name(int err);

/** The headers of one direction of a UDP flow, prepared once per leg. */
struct pkt_udp_tmpl {
	int family;
	uint8_t dst_mac[6], src_mac[6];
	uint16_t vlan;            /**< tag control information; 0: untagged */
	uint8_t src_ip[16], dst_ip[16];
	uint16_t src_port, dst_port; /**< host order */
	uint8_t ttl;              /**< default 64 (0 here means 64) */
	uint16_t hdr_len;         /**< Ethernet (+VLAN) + IP + UDP bytes */
	uint8_t hdr[PKT_ETH_LEN + PKT_VLAN_LEN + PKT_IPV6_LEN + PKT_UDP_LEN];
	uint32_t pseudo_sum;      /**< folded partial checksum of the addresses
				   *   (pkt_csum_partial() convention) */
	uint32_t ip_sum;          /**< IPv4: folded partial checksum of the IPv4
				   *   header with total length and checksum 0 */
};

/**
 * Fill t->hdr, t->hdr_len, t->pseudo_sum and t->ip_sum from the address
 * fields (family AF_INET or AF_INET6). The headers carry DSCP EF
 * (PKT_TOS_EF); IPv4 sets DF and identification 0 (RFC 6864 atomic
 * datagrams).
 */
void pkt_udp_tmpl_init(struct pkt_udp_tmpl *t);

/**
 * Write t's headers in front of a UDP payload that already sits at
 * frame + t->hdr_len (payload_len bytes), setting the length fields and the
 * IPv4 header checksum. udp_csum: compute the UDP checksum in software
 * (mandatory for IPv6; for IPv4 false leaves 0, "no checksum"; a computed 0
 * is sent as 0xffff). Frames under 60 bytes are not padded: that is left to
 * the NIC or the caller.
 * Returns the frame length, or 0 when payload_len > PKT_UDP_MAX_PAYLOAD.
 */
size_t pkt_udp_write(uint8_t *frame, const struct pkt_udp_tmpl *t, uint16_t payload_len,
		     bool udp_csum);

/** A parsed ARP request / reply (Ethernet + IPv4 only). */
struct pkt_arp {
	uint16_t op;               /**< 1 request, 2 reply */
	uint8_t sha[6], tha[6];
	uint8_t spa[4], tpa[4];
};

/** Parse the ARP body at frame + info->l3_off of a PKT_K_ARP frame: 0, or
 *  -1 when it is short, not Ethernet / IPv4 (htype 1, ptype 0x0800, hlen 6,
 *  plen 4) or neither a request nor a reply. */
int pkt_arp_parse(const uint8_t *frame, size_t len, const struct pkt_info *info,
		  struct pkt_arp *arp);

/** Build the reply to a request for one of our addresses: our_mac answers
 *  for req->tpa, sent to req->sha (vlan: tag control information, 0 for
 *  none). Returns the frame length (60, padded, tagged or not) or 0 when cap
 *  is short. */
size_t pkt_arp_reply(const struct pkt_arp *req, const uint8_t our_mac[6], uint16_t vlan,
		     uint8_t *out, size_t cap);

/** Build a broadcast ARP request for ip (next-hop resolution). Returns the
 *  length (60, padded) or 0 when cap is short. */
size_t pkt_arp_request(const uint8_t our_mac[6], const uint8_t our_ip[4], const uint8_t ip[4],
		       uint16_t vlan, uint8_t *out, size_t cap);

/** A parsed neighbour solicitation / advertisement (RFC 4861). */
struct pkt_nd {
	uint8_t type;              /**< 135 NS, 136 NA */
	uint8_t target[16];
	bool has_lladdr;           /**< source (NS) / target (NA) link-layer option */
	uint8_t lladdr[6];
	uint8_t flags;             /**< NA: PKT_ND_F_*; NS: 0 */
};

/** Parse an ICMPv6 NS or NA of a PKT_K_ICMP6 frame with the checks of
 *  RFC 4861 §7.1.1 / §7.1.2: hop limit 255, code 0, checksum, length >= 24,
 *  target not multicast, every option of non-zero length within the message,
 *  NS from :: only to a solicited-node address and without a source
 *  link-layer option, NA to multicast without the S flag. Only 6-byte
 *  (length 1) link-layer options are taken; the first one counts. 0 or -1. */
int pkt_nd_parse(const uint8_t *frame, size_t len, const struct pkt_info *info,
		 struct pkt_nd *nd);

/** Build the solicited NA answering an NS for one of our addresses (target
 *  = ns->target, which is also the NA's IPv6 source), with S and O set and a
 *  target link-layer option, sent to the soliciting node (info's source IP
 *  and MAC, info's VLAN tag). An NS from :: (duplicate address detection) is
 *  answered to all-nodes ff02::1 (33:33:00:00:00:01) with S clear
 *  (RFC 4861 §7.2.4). Returns the frame length or 0 (cap short, ns not an NS,
 *  info not IPv6). */
size_t pkt_nd_advert(const struct pkt_info *info, const struct pkt_nd *ns,
		     const uint8_t our_mac[6], uint8_t *out, size_t cap);

/** Build an NS for target from our_ip to its solicited-node multicast
 *  address ff02::1:ffXX:XXXX (MAC 33:33:ff:XX:XX:XX) with a source
 *  link-layer option; when our_ip is :: (duplicate address detection) the
 *  option is left out (RFC 4861 §4.3). Returns the frame length or 0. */
size_t pkt_nd_solicit(const uint8_t our_mac[6], const uint8_t our_ip[16],
		      const uint8_t target[16], uint16_t vlan, uint8_t *out, size_t cap);

/**
 * Internet checksum helpers (RFC 1071). pkt_csum_partial() adds the 16-bit
 * big-endian words of p[0..n) (an odd last byte padded with zero) to sum and
 * returns an unfolded one's complement sum, in host order, that never
 * exceeds 0x2fffd: small host-order values (a protocol number, a length) may
 * be added to it directly. Chain calls only after blocks of even length.
 * pkt_csum_fold() folds a sum to 16 bits and complements it: the value of a
 * checksum field in host order, and 0 when a sum over data that includes a
 * correct checksum field is verified.
 */
uint32_t pkt_csum_partial(const void *p, size_t n, uint32_t sum);
uint16_t pkt_csum_fold(uint32_t sum);

#endif
