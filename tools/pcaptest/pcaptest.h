/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-pcaptest: test traffic for perc-mdd. Shared types: the generated
 * world (conferences, endpoints, keys), frames in and out of pcap files,
 * the L2-L4 parser and builder, a small hash map, the payload rule.
 * docs/pcaptest.md describes the files and the rules.
 */
#ifndef PCAPTEST_H
#define PCAPTEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "perc/ekt.h"
#include "perc/profile.h"

#define PT_EX_OK 0
#define PT_EX_FAIL 1
#define PT_EX_USAGE 2

#define PT_ID_MAX 64
#define PT_MAX_SSRCS 64     /* listed per endpoint, as provision.h allows */
#define PT_MTU_PAYLOAD 1500 /* largest UDP payload the MDD forwards */
#define PT_FRAME_MAX 9216   /* largest frame the tools build or read back */
#define PT_WINDOW 1024      /* replay window of every stream the tools keep */
#define PT_PT_COUNT 128     /* RTP payload types 0..127 */

/* Counters: the names the forwarder exports (first block) and those only
 * the reference forwarder keeps (second block). _(ENUM, "name") */
#define PT_FOREACH_COUNTER(_) \
	_(NONE, "none") \
	_(ETH_TRUNCATED, "eth_truncated") \
	_(IP_TRUNCATED, "ip_truncated") \
	_(IP_BAD_LEN, "ip_bad_len") \
	_(IP_FRAGMENT, "ip_fragment") \
	_(UDP_BAD_LEN, "udp_bad_len") \
	_(NOT_OURS, "not_ours") \
	_(RTP_BAD_VERSION, "rtp_bad_version") \
	_(RTP_MALFORMED, "rtp_malformed") \
	_(SRTP_AUTH, "srtp_auth") \
	_(SRTP_REPLAY, "srtp_replay") \
	_(UNKNOWN_ENDPOINT, "unknown_endpoint") \
	_(STREAM_LIMIT, "stream_limit") \
	_(EKT_INVALID, "ekt_invalid") \
	_(OVERSIZED, "oversized") \
	_(BAD_CHECKSUM, "bad_checksum") \
	_(FB_NO_TARGET, "fb_no_target")

enum pt_counter {
#define PT_C_ENUM_(e, n) PT_C_##e,
	PT_FOREACH_COUNTER(PT_C_ENUM_)
#undef PT_C_ENUM_
	PT_C__COUNT
};
/* the first counter that only the reference forwarder has */
#define PT_C__FORWARDER_COUNT PT_C_BAD_CHECKSUM

const char *pt_counter_name(int c);
/* counter by name; -1 when unknown. Only the forwarder's names when
 * forwarder_only. */
int pt_counter_by_name(const char *name, bool forwarder_only);

/* ---- a small hash map ---- */

/* Open-addressing map from a 3-word key to a 32-bit value. */
struct pt_map_slot {
	uint64_t k[3];
	uint32_t v;
	uint32_t used;
};
struct pt_map {
	struct pt_map_slot *s;
	size_t cap, n;
};
uint32_t *pt_map_get(const struct pt_map *m, uint64_t a, uint64_t b, uint64_t c);
/* Insert or replace; 0 or -1 (out of memory). */
int pt_map_put(struct pt_map *m, uint64_t a, uint64_t b, uint64_t c, uint32_t v);
void pt_map_free(struct pt_map *m);

/** Replay / ROC state per (kind, endpoint, ssrc), created on first use. */
struct pt_streams {
	struct pt_map map;                   /* (kind, ep, ssrc) -> st[] */
	struct perc_stream **st;
	size_t n, cap;
};

/** The stream of (kind, ep, ssrc), a new one (PT_WINDOW) the first time;
 *  NULL when out of memory. */
struct perc_stream *pt_streams_get(struct pt_streams *s, int kind, unsigned ep, uint32_t ssrc);
/** Forget every stream (they start afresh); keeps the table usable. */
void pt_streams_clear(struct pt_streams *s);
void pt_streams_free(struct pt_streams *s);

/* ---- addresses, endpoints, the world ---- */

struct pt_addr {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t ip[16];      /* network order; IPv4 in the first 4 bytes */
	uint16_t port;       /* host order */
};

struct pt_endpoint {
	char id[PT_ID_MAX];
	unsigned conf;                       /* index in world.confs */
	unsigned pos;                        /* position in its conference */
	struct pt_addr addr;
	uint8_t mac[6];
	bool have_mac;
	const struct perc_profile *prof;     /* as named (single or double) */
	const struct perc_profile *layer;    /* the hop-by-hop layer */
	uint8_t rx_key[32], rx_salt[14], tx_key[32], tx_salt[14];
	uint8_t e2e_key[32], e2e_salt[12];   /* double profiles: inner halves */
	/* a hop-by-hop rekey (gen --rekey): the key the endpoint switches to */
	bool has_rx_next;
	uint8_t rx_key_next[32], rx_salt_next[14];
	/* secrets.json only: where it switches, all SSRCs at once */
	unsigned rekey_round;                /* first round sent with the next key */
	uint64_t rekey_index;                /* its RTP index, ROC << 16 | SEQ */
	uint32_t rekey_srtcp;                /* first SRTCP index with the next key */
	uint32_t ssrcs[PT_MAX_SSRCS];
	unsigned n_ssrcs;
	unsigned max_streams;
	bool ekt;                            /* packets carry an EKT field */
	/* the rewrite of the RTP the MDD sends TO this endpoint (gen --rewrite;
	 * "pt_map", "seq_offset", "marker" in both JSON files), RFC 8723 §5.2 */
	struct pt_rewrite {
		bool any;                    /* some field below changes something */
		bool listed[PT_PT_COUNT];    /* pt_map has an entry for this PT */
		uint8_t pt_map[PT_PT_COUNT]; /* identity where not listed */
		uint16_t seq_offset;         /* added mod 2^16 */
		int8_t marker;               /* -1 keep, 0 clear, 1 set */
	} rw;
};

struct pt_conf {
	char id[PT_ID_MAX];
	unsigned first_ep, n_eps;            /* endpoints are contiguous */
	uint8_t ekt_key[32];
	unsigned ekt_key_len;
	uint16_t ekt_spi;
	uint8_t e2e_salt[12];
};

struct pt_bad {
	unsigned frame;                      /* 1-based record of in.pcap */
	int counter;                         /* enum pt_counter */
	char what[256];
	char note[320];
};

struct pt_world {
	struct pt_addr mdd;
	uint8_t mdd_mac[6];
	struct pt_conf *confs;
	unsigned n_confs;
	struct pt_endpoint *eps;
	unsigned n_eps;
	struct pt_bad *bad;
	unsigned n_bad;
	unsigned payload;
	struct pt_map by_addr, by_ssrc;   /* pt_world_index() */
};

void pt_world_free(struct pt_world *w);
/* Endpoint by address, or -1. */
int pt_world_ep_by_addr(const struct pt_world *w, int family, const uint8_t *ip,
			uint16_t port);
/* Endpoint of conference conf listing ssrc (conf -1: of any conference;
 * SSRCs are unique within a conference only), or -1. */
int pt_world_ep_by_ssrc(const struct pt_world *w, int conf, uint32_t ssrc);
/* Build the lookup tables after the endpoints are in place. 0 or -1. */
int pt_world_index(struct pt_world *w, char *err, size_t errlen);

/* secrets.json: everything (check); provision.json: conferences, endpoints,
 * HBH keys (forward). 0, or -1 with a message in err. */
int pt_secrets_load(const char *path, struct pt_world *w, char *err, size_t errlen);
int pt_provision_load(const char *path, struct pt_world *w, char *err, size_t errlen);
/* The "mdd" and "bad" parts of secrets.json only (forward). */
int pt_secrets_load_mdd(const char *path, struct pt_world *w, char *err, size_t errlen);

/* No rewrite: the identity pt_map, no offset, the marker kept. */
void pt_rewrite_none(struct pt_rewrite *rw);
/* The RTP header fields a receiver with policy rw gets for a packet sent
 * with pt, seq, marker (the OHB aside). */
void pt_rewrite_fields(const struct pt_rewrite *rw, uint8_t *pt, uint16_t *seq, bool *marker);
/* "marker" value as written in the JSON files: "keep", "clear", "set". */
const char *pt_marker_name(int marker);

/* "a.b.c.d", "v6" (no port); "a.b.c.d:p", "[v6]:p" (with port) */
int pt_parse_ip(const char *s, struct pt_addr *a);
int pt_parse_addr_port(const char *s, struct pt_addr *a);
const char *pt_fmt_ip(const struct pt_addr *a, char *buf, size_t len);
const char *pt_fmt_addr_port(const struct pt_addr *a, char *buf, size_t len);
int pt_parse_mac(const char *s, uint8_t mac[6]);
const char *pt_fmt_mac(const uint8_t mac[6], char *buf, size_t len);

/* ---- frames and pcap files ---- */

struct pt_pkt {
	uint8_t *data;
	uint32_t len;
	struct timeval ts;
};

struct pt_pcap {
	struct pt_pkt *p;
	size_t n, cap;
};

/* Append a copy. 0 or -1 (out of memory). */
int pt_pcap_add(struct pt_pcap *c, const uint8_t *data, size_t len, struct timeval ts);
void pt_pcap_free(struct pt_pcap *c);
/* Read an Ethernet (DLT_EN10MB) capture; 0 or -1 with err. */
int pt_pcap_read(const char *path, struct pt_pcap *c, char *err, size_t errlen);
int pt_pcap_write(const char *path, const struct pt_pcap *c, char *err, size_t errlen);

/* ---- L2-L4 ---- */

#define PT_ETH 14u
#define PT_IP4 20u
#define PT_IP6 40u
#define PT_UDP 8u

enum pt_frame_kind {
	PT_F_UDP = 0,
	PT_F_CONTROL,    /* ARP, ICMPv6: the control plane's */
	PT_F_OTHER,      /* another ethertype or IP protocol */
};

struct pt_frame {
	enum pt_frame_kind kind;
	uint8_t dst_mac[6], src_mac[6];
	int family;
	uint8_t src_ip[16], dst_ip[16];
	uint16_t sport, dport;
	uint16_t l3_off, l4_off;
	const uint8_t *payload;
	size_t plen;
	bool ip_csum_ok;       /* IPv4 header checksum (true for IPv6) */
	bool udp_csum_zero;
	bool udp_csum_ok;      /* zero counts as ok here; see udp_csum_zero */
};

/* Parse a frame; returns PT_C_NONE or the counter a forwarder should hit
 * (eth_truncated ... udp_bad_len). Checksums are reported, not judged. */
int pt_frame_parse(const uint8_t *f, size_t len, struct pt_frame *pf);

/* Build Ethernet + IP + UDP around payload into out (cap bytes). IPv4: TTL
 * 64, DF, header checksum; UDP checksum always. Returns the frame length
 * or 0 when it does not fit. */
size_t pt_frame_build(uint8_t *out, size_t cap, const uint8_t dst_mac[6],
		      const uint8_t src_mac[6], const struct pt_addr *src,
		      const struct pt_addr *dst, const uint8_t *payload, size_t plen);
/* Recompute the IPv4 header checksum (if IPv4) and the UDP checksum over
 * udp_bytes bytes at l4_off (pseudo-header length = udp_bytes). */
void pt_frame_fix_csums(uint8_t *f, int family, size_t l3_off, size_t l4_off,
			size_t udp_bytes);
uint16_t pt_csum(const void *p, size_t n, uint32_t sum);
uint16_t pt_udp_csum(int family, const uint8_t *src_ip, const uint8_t *dst_ip,
		     const uint8_t *udp, size_t n);

/* ---- payload rule, randomness, hashing ---- */

/* The payload of (ssrc, seq): n bytes of an LCG seeded with
 * ssrc XOR (seq * 0x10001); docs/pcaptest.md spells it out. */
void pt_payload_fill(uint32_t ssrc, uint16_t seq, uint8_t *out, size_t n);
/* Payload length of the k-th SSRC of an endpoint at seq. */
size_t pt_payload_len(unsigned payload, unsigned k, uint16_t seq);

struct pt_rng {
	uint64_t s;
};
uint64_t pt_rng_next(struct pt_rng *r);
void pt_rng_bytes(struct pt_rng *r, uint8_t *out, size_t n);

uint64_t pt_fnv64(const void *p, size_t n);


static inline uint16_t
pt_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
pt_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
pt_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
pt_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- option helpers ---- */

/* Print "perc-pcaptest CMD: message" and the --help hint; returns 2. */
int pt_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* After getopt's own message about an option: the --help hint; returns 2. */
int pt_usage_hint(const char *cmd);
/* Unsigned number in [min, max]; false on error. */
bool pt_num(const char *s, unsigned long long min, unsigned long long max,
	    unsigned long long *out);
/* Join dir and name into buf. */
const char *pt_path(char *buf, size_t len, const char *dir, const char *name);

/* ---- the commands ---- */

int pt_cmd_gen(int argc, char **argv);
int pt_cmd_forward(int argc, char **argv);
int pt_cmd_check(int argc, char **argv);

#endif
