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

/** What a frame is, as far as the dataplane cares. */
enum pkt_kind {
	PKT_K_UDP = 0,      /**< IPv4/IPv6 UDP, header checks passed */
	PKT_K_ARP,          /**< ARP (for the control thread) */
	PKT_K_ICMP4,        /**< ICMPv4 (control thread) */
	PKT_K_ICMP6,        /**< ICMPv6, incl. neighbour discovery (control thread) */
	PKT_K_OTHER,        /**< another protocol or ethertype (control thread) */
};

/** Why a frame was refused by pkt_parse(). */
enum pkt_err {
	PKT_OK = 0,
	PKT_E_TRUNCATED,    /**< shorter than its Ethernet / IP / UDP headers */
	PKT_E_IP_VERSION,   /**< IP version field does not match the ethertype */
	PKT_E_IP_HDR,       /**< IPv4 IHL < 5, or header checksum wrong */
	PKT_E_IP_LEN,       /**< IP total / payload length beyond the frame or too short */
	PKT_E_FRAGMENT,     /**< IPv4 MF / offset, or an IPv6 fragment header */
	PKT_E_UDP_LEN,      /**< UDP length field disagrees with the IP payload */
	PKT_E_UDP_CSUM,     /**< UDP checksum present and wrong (IPv6: also zero) */
};

/** Parsed frame; offsets from the start of the frame. */
struct pkt_info {
	enum pkt_kind kind;
	uint16_t vlan;            /**< VLAN id + PCP bits (0: untagged) */
	uint16_t ethertype;       /**< after a VLAN tag */
	uint8_t dst_mac[6], src_mac[6];
	uint16_t l3_off;          /**< IP / ARP header */
	int family;               /**< AF_INET or AF_INET6 (UDP / ICMP) */
	uint8_t src_ip[16], dst_ip[16]; /**< IPv4 in the first 4 bytes */
	uint8_t ttl;              /**< TTL / hop limit */
	uint16_t l4_off;          /**< UDP / ICMP header */
	uint16_t src_port, dst_port; /**< host order (UDP) */
	uint16_t payload_off;     /**< UDP payload */
	uint16_t payload_len;     /**< UDP payload bytes (from the UDP length) */
};

/**
 * Parse a frame of len bytes. Frames may carry Ethernet padding beyond the
 * IP length: it is ignored. IPv6 extension headers other than a fragment
 * header make the frame PKT_K_OTHER. With verify_csum, UDP checksums are
 * checked in software (IPv4 checksum 0 means none). Returns PKT_OK (and
 * info->kind), or an enum pkt_err.
 */
int pkt_parse(const uint8_t *frame, size_t len, bool verify_csum, struct pkt_info *info);

/** Name of an enum pkt_err ("truncated", "ip_version", ...). */
const char *pkt_err_name(int err);

/** The headers of one direction of a UDP flow, prepared once per leg. */
struct pkt_udp_tmpl {
	int family;
	uint8_t dst_mac[6], src_mac[6];
	uint16_t vlan;            /**< 0: untagged */
	uint8_t src_ip[16], dst_ip[16];
	uint16_t src_port, dst_port; /**< host order */
	uint8_t ttl;              /**< default 64 */
	uint16_t hdr_len;         /**< Ethernet (+VLAN) + IP + UDP bytes */
	uint8_t hdr[PKT_ETH_LEN + PKT_VLAN_LEN + PKT_IPV6_LEN + PKT_UDP_LEN];
	uint32_t pseudo_sum;      /**< folded partial checksum of the addresses */
};

/** Fill t->hdr, t->hdr_len and t->pseudo_sum from the address fields. */
void pkt_udp_tmpl_init(struct pkt_udp_tmpl *t);

/**
 * Write t's headers in front of a UDP payload that already sits at
 * frame + t->hdr_len (payload_len bytes), setting the length fields and the
 * IPv4 header checksum. udp_csum: compute the UDP checksum in software
 * (mandatory for IPv6; for IPv4 false leaves 0, "no checksum"). Returns the
 * frame length.
 */
size_t pkt_udp_write(uint8_t *frame, const struct pkt_udp_tmpl *t, uint16_t payload_len,
		     bool udp_csum);

/** A parsed ARP request / reply (Ethernet + IPv4 only). */
struct pkt_arp {
	uint16_t op;               /**< 1 request, 2 reply */
	uint8_t sha[6], tha[6];
	uint8_t spa[4], tpa[4];
};

/** Parse the ARP body at frame + info->l3_off; 0 or -1. */
int pkt_arp_parse(const uint8_t *frame, size_t len, const struct pkt_info *info,
		  struct pkt_arp *arp);

/** Build the reply to a request for one of our addresses: our_mac answers
 *  for req->tpa. Returns the frame length (60, padded) or 0 when cap is short. */
size_t pkt_arp_reply(const struct pkt_arp *req, const uint8_t our_mac[6], uint16_t vlan,
		     uint8_t *out, size_t cap);

/** Build an ARP request for ip (next-hop resolution). Returns the length. */
size_t pkt_arp_request(const uint8_t our_mac[6], const uint8_t our_ip[4], const uint8_t ip[4],
		       uint16_t vlan, uint8_t *out, size_t cap);

/** A parsed neighbour solicitation / advertisement (RFC 4861). */
struct pkt_nd {
	uint8_t type;              /**< 135 NS, 136 NA */
	uint8_t target[16];
	bool has_lladdr;           /**< source (NS) / target (NA) link-layer option */
	uint8_t lladdr[6];
};

/** Parse an ICMPv6 NS or NA (checksum, hop limit 255, code 0, options);
 *  0 or -1. */
int pkt_nd_parse(const uint8_t *frame, size_t len, const struct pkt_info *info,
		 struct pkt_nd *nd);

/** Build the solicited NA answering an NS for one of our addresses (target
 *  = ns->target), sent to the soliciting node (info's source). Returns the
 *  frame length or 0. */
size_t pkt_nd_advert(const struct pkt_info *info, const struct pkt_nd *ns,
		     const uint8_t our_mac[6], uint8_t *out, size_t cap);

/** Build an NS for target from our_ip to its solicited-node multicast
 *  address. Returns the frame length or 0. */
size_t pkt_nd_solicit(const uint8_t our_mac[6], const uint8_t our_ip[16],
		      const uint8_t target[16], uint16_t vlan, uint8_t *out, size_t cap);

/** Internet checksum helpers (RFC 1071): partial sum and fold. */
uint32_t pkt_csum_partial(const void *p, size_t n, uint32_t sum);
uint16_t pkt_csum_fold(uint32_t sum);

#endif
