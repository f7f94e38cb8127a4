/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-loadgen: a generator of fresh double-encrypted SRTP (RFC 8723, EKT
 * fields), hop-by-hop SRTCP, and a validating receiver, for perc-mdd. This header is the core
 * shared by the DPDK program (main.c) and the unit test: the world
 * (conferences, endpoints, streams, keys), the sealing of one frame, the
 * receiver's checks and a reference hop. Nothing here uses DPDK.
 * docs/performance.md describes the traffic and the counters.
 */
#ifndef PERC_LOADGEN_H
#define PERC_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "perc/double.h"
#include "perc/ekt.h"
#include "perc/profile.h"
#include "perc/srtp.h"

#define LG_ETH 14u
#define LG_IP4 20u
#define LG_UDP 8u
#define LG_L2L4 (LG_ETH + LG_IP4 + LG_UDP)
#define LG_RTP 12u
/* sealed in the first bytes of every E2E payload: magic, phase, send
 * time, the sender's 48-bit index */
#define LG_STAMP 24u
#define LG_MAGIC 0x504c4731u   /* "PLG1" */
#define LG_FRAME_MAX 2048u
#define LG_PAYLOAD_MAX 1300u
#define LG_WIN 128u            /* reorder / duplicate window per stream */
#define LG_LAT_BUCKETS 65536u  /* latency histogram: 1 us buckets, last = overflow */
#define LG_MAX_SIZE 64u
#define LG_MAX_ENDPOINTS 131000u /* 198.18.0.16 .. in 198.18.0.0/15 */

enum lg_media { LG_AUDIO = 0, LG_VIDEO, LG_MIX };
enum lg_phase { LG_PH_PRIME = 0, LG_PH_MEASURE = 1 };

/* what the receiver counts; _(ENUM, "json name") */
#define LG_FOREACH_RX(_) \
	_(FRAMES, "frames") \
	_(OK, "ok") \
	_(PRIMING, "priming") \
	_(NOT_OURS, "not_ours") \
	_(UNKNOWN_SSRC, "unknown_ssrc") \
	_(WRONG_RECEIVER, "wrong_receiver") \
	_(EKT_BAD, "ekt_bad") \
	_(EKT_FULL, "ekt_full") \
	_(OUTER_FAIL, "outer_fail") \
	_(OHB_BAD, "ohb_bad") \
	_(INNER_FAIL, "inner_fail") \
	_(PAYLOAD_BAD, "payload_bad") \
	_(DUP, "duplicates") \
	_(REORDER, "reordered") \
	_(TOO_OLD, "too_old") \
	_(RTCP, "rtcp_received") \
	_(RTCP_FAIL, "rtcp_fail") \
	_(RTCP_REPLAY, "rtcp_replay") \
	_(RTCP_MISROUTED, "rtcp_misrouted") \
	_(RTCP_FB, "rtcp_feedback")

enum lg_rx_counter {
#define LG_RX_ENUM_(e, n) LG_RX_##e,
	LG_FOREACH_RX(LG_RX_ENUM_)
#undef LG_RX_ENUM_
	LG_RX__COUNT
};
const char *lg_rx_name(int c);

struct lg_opts {
	unsigned conferences;
	unsigned size;          /* endpoints per conference (fan-out + 1) */
	unsigned streams;       /* 0: conferences x size x ssrcs; else sets conferences */
	enum lg_media media;
	unsigned layers;        /* video SSRCs per endpoint (simulcast) */
	unsigned audio_ssrcs;   /* audio SSRCs per endpoint */
	unsigned payload_audio;
	unsigned payload_video;
	unsigned ekt_full_every;/* a Full EKT field every N packets of a stream */
	unsigned rtcp_interval_ms; /* a compound per endpoint this often; 0: none */
	uint64_t seed;
	const char *profile;
	uint8_t mdd_ip[4];
	uint16_t mdd_port;
	uint8_t mdd_mac[6];
};

void lg_opts_default(struct lg_opts *o);

struct lg_endpoint {
	unsigned conf, pos;
	uint8_t ip[4];
	uint16_t port;
	uint8_t mac[6];
	uint8_t rx_key[32], rx_salt[12];   /* HBH: what it sends with */
	uint8_t tx_key[32], tx_salt[12];   /* HBH: what the MDD sends it with */
	uint8_t e2e_key[32];               /* inner master key (its EKT Full fields) */
	struct perc_double_key send;       /* inner = E2E, outer = rx */
	struct perc_key recv;              /* outer key of what it receives */
	unsigned first_stream, n_streams;
	uint32_t rtcp_index;               /* next SRTCP index it sends */
	uint32_t rtcp_n;                   /* compounds it sent */
};

struct lg_stream {
	uint32_t ep;
	uint32_t ssrc;
	uint8_t pt;
	uint8_t video;
	uint16_t payload;
	uint64_t index;      /* next RTP index to send: ROC << 16 | SEQ */
	uint32_t ts;         /* next RTP timestamp */
	uint32_t sent;       /* packets sent */
};

struct lg_conf {
	uint8_t ekt_key[32];
	unsigned ekt_key_len;
	uint16_t spi;
	uint8_t e2e_salt[12];
};

struct lg_world {
	struct lg_opts o;
	const struct perc_profile *prof, *layer;
	struct perc_engine *eng;
	struct lg_conf *confs;
	unsigned n_confs;
	struct lg_endpoint *eps;
	unsigned n_eps;
	struct lg_stream *streams;
	unsigned n_streams;
	unsigned ssrcs_per_ep;
};

/* Build the world: endpoints, keys (expanded for the engine), streams.
 * 0, or -1 with a message in err. */
int lg_world_init(struct lg_world *w, const struct lg_opts *o, struct perc_engine *eng,
		  char *err, size_t errlen);
/* Zeroize every key and free. */
void lg_world_free(struct lg_world *w);
/* Write the provisioning file of docs/provisioning.md (HBH keys only). */
int lg_world_write_provision(const struct lg_world *w, const char *path, char *err,
			     size_t errlen);
/* SSRC of stream i and back (a bijection, so any 32-bit SSRC maps to one
 * index; out of range: not ours). */
uint32_t lg_ssrc_of(uint32_t i);
uint32_t lg_index_of_ssrc(uint32_t ssrc);

/* Seal the next packet of stream s into frame (cap bytes): Ethernet, IPv4,
 * UDP from the sender's address to the MDD, RTP, E2E payload (stamp
 * first), double SRTP, EKT field. Returns the frame length or 0 on error. */
uint32_t lg_build(struct lg_world *w, struct lg_stream *s, enum lg_phase ph, uint64_t stamp,
		  uint8_t *frame, uint32_t cap);

/* Seal the next RTCP compound of endpoint ep (SR + SDES; every fourth one,
 * when fb, a PLI or NACK about the first SSRC of the next member of its
 * conference) with SRTCP under its HBH key (E = 1, index incrementing),
 * from its address to the MDD. *copies: how many receivers perc-mdd
 * delivers it to (a feedback compound goes to the media sender only, any
 * other to every other member). Returns the frame length or 0. */
uint32_t lg_build_rtcp(struct lg_world *w, unsigned ep, bool fb, uint8_t *frame, uint32_t cap,
		       unsigned *copies);
/* The member a plain compound's feedback is for (perc-mdd's routing):
 * its endpoint index, -1 when it has no feedback about one of ours. */
int lg_rtcp_target(const struct lg_world *w, const uint8_t *rtcp, uint32_t len);

/* Per (sender stream, receiver position) receive state. */
struct lg_rxs {
	uint64_t top;
	uint64_t bits[LG_WIN / 64];
	uint32_t seen;
};

struct lg_rx {
	struct lg_world *w;
	struct lg_rxs *st;                /* n_streams x size */
	struct lg_rxs *rst;               /* SRTCP: n_eps x size */
	uint64_t c[LG_RX__COUNT];
	uint64_t lat[LG_LAT_BUCKETS];     /* measured packets by latency (us) */
	uint64_t lat_sum_ns, lat_min_ns, lat_max_ns;
	double ns_per_tick;               /* stamp units to ns */
};

int lg_rx_init(struct lg_rx *r, struct lg_world *w, double ns_per_tick);
void lg_rx_free(struct lg_rx *r);
/* Forget what was received (a new trial) but keep the streams' state. */
void lg_rx_clear_counts(struct lg_rx *r);
/* Open one frame the MDD sent (modified in place) and count it; now is in
 * stamp units. Returns the counter it went to. */
int lg_rx_frame(struct lg_rx *r, uint8_t *frame, uint32_t len, uint64_t now);
/* Latency percentile (0..100) in ns from the histogram; 0 when empty. */
double lg_rx_lat_pct(const struct lg_rx *r, double pct);

/* The reference hop (what a correct MDD sends): open the frame a sender
 * built with its rx key, seal for the receiver at position rpos of the
 * conference with its tx key, re-address to it. Returns the new frame
 * length or 0 (not a frame of this world, or rpos is the sender). */
uint32_t lg_ref_hop(struct lg_world *w, const uint8_t *in, uint32_t in_len, unsigned rpos,
		    uint8_t *out, uint32_t cap);
/* The same for an SRTCP frame (HBH only, same index), routed as perc-mdd
 * routes it: 0 as well for a receiver that does not get it. */
uint32_t lg_ref_hop_rtcp(struct lg_world *w, const uint8_t *in, uint32_t in_len, unsigned rpos,
			 uint8_t *out, uint32_t cap);

static inline void
lg_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
lg_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint16_t
lg_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
lg_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
