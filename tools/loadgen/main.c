/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-loadgen: sends fresh double-encrypted SRTP with EKT fields to
 * perc-mdd on a DPDK port at a paced rate and opens everything the MDD
 * sends back (rx.c). One lcore does both: TX bursts when the pace says so,
 * RX bursts in between. Without EAL options it writes the provisioning
 * file (--write-provision) or runs the whole path in one thread with a
 * reference hop instead of an MDD (--loopback). docs/performance.md.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_version.h>

#include "lg.h"

#define BURST_MAX 64u
#define NB_MBUF 8191u
#define RING_DESC 1024u
#define LG_MAX_QUEUES 8u

struct run_opts {
	double rate;          /* packets per second offered; 0: as fast as it goes */
	double duration;      /* seconds of measured traffic */
	unsigned warmup_ms;   /* after the priming round */
	unsigned drain_ms;    /* after the last packet */
	unsigned burst;
	bool whole_bursts;    /* paced: send only once a whole burst is due */
	bool prime;
	uint16_t tx_port, rx_port;
	unsigned queues;      /* RX and TX queues per port */
	const char *json;
	const char *provision_out;
	const char *write_provision;
	bool loopback;
	double max_loss;      /* exit 1 above it; < 0: never */
	const char *arch;
};

struct run {
	struct lg_world w;
	struct lg_rx rx;
	struct run_opts ro;
	struct rte_mempool *pool;
	unsigned cursor;      /* next stream, round robin */
	uint64_t prime_sent, sent, tx_full, build_fail;
	/* SRTCP compounds sent, copies perc-mdd's routing delivers of them */
	uint64_t rtcp_sent, rtcp_expect, rtcp_build_fail; /* fail: not built or port full */
	unsigned rtcp_cursor; /* next endpoint to send a compound */
	double hz;
	uint64_t (*now)(void);
	unsigned (*send)(struct run *r, unsigned n, enum lg_phase ph, uint64_t now);
	void (*send_rtcp)(struct run *r, unsigned n);
	void (*poll)(struct run *r);
	double t_measure;     /* seconds the measured phase took */
};

static const char usage_text[] =
"usage: perc-loadgen [EAL options] -- [options]      send to perc-mdd on a DPDK port\n"
"       perc-loadgen --write-provision FILE [world options]   the MDD's provisioning file\n"
"       perc-loadgen --loopback [options]            no DPDK: a reference hop instead of an MDD\n"
"\n"
"Generates fresh double SRTP (RFC 8723) with EKT fields and hop-by-hop SRTCP for\n"
"a set of conferences, sends it to the MDD and opens every packet the MDD sends\n"
"back (outer, OHB, EKT, inner; SRTCP index and routing): loss, duplicates,\n"
"reordering, latency. JSON results on stdout.\n"
"\n"
"world options (give the same to --write-provision and to the run):\n"
"  --conferences N      conferences (default 1)\n"
"  --size M             endpoints per conference, 2..64 (default 3; fan-out M-1)\n"
"  --streams N          at least N sending SSRCs in all: sets --conferences\n"
"  --media KIND         audio | video | mix (default audio): SSRCs per endpoint\n"
"                       audio A, video LAYERS, mix A + LAYERS\n"
"  --audio-ssrcs A      audio SSRCs per endpoint, 1..16 (default 1)\n"
"  --layers N           video (simulcast) layers per endpoint, 1..3 (default 1)\n"
"  --payload B          RTP payload bytes of the chosen media (audio default 160,\n"
"                       video 1200; %u..%u)\n"
"  --audio-payload B, --video-payload B   each on its own (for --media mix)\n"
"  --profile NAME       DOUBLE_AEAD_AES_128_GCM_AEAD_AES_128_GCM (default) or _256_\n"
"  --ekt-full-every N   a Full EKT field every N packets of a stream (default 100;\n"
"                       0: the first only), Short fields otherwise\n"
"  --seed N             keys, SSRC order, timestamps (default 1)\n"
"  --mdd-addr IP        the MDD's IPv4 media address (default 192.0.2.1)\n"
"  --mdd-port N         its media port (default 3478)\n"
"  --mdd-mac MAC        destination MAC of what is sent (default 02:00:00:00:00:01)\n"
"\n"
"run options:\n"
"  --rate PPS           packets per second offered, all streams round robin\n"
"                       (default 10000; 0: as fast as the generator goes)\n"
"  --duration S         seconds of measured traffic (default 2)\n"
"  --warmup-ms MS       wait after the priming round (default 300)\n"
"  --no-prime           no priming round (one packet per stream so that the\n"
"                       MDD learns every endpoint's next hop before measuring)\n"
"  --drain-ms MS        receive on after the last packet (default 300)\n"
"  --rtcp-interval-ms MS  each endpoint sends an SRTCP compound (SR + SDES,\n"
"                       every fourth with a PLI or NACK) this often while\n"
"                       measuring (default 500; 0: no RTCP)\n"
"  --burst N            packets per TX burst, 1..%u (default 32)\n"
"  --whole-bursts       with --rate: wait until a whole --burst is due and send it\n"
"                       at once (the MDD sees full bursts at any rate, as it does\n"
"                       at its limit: perf/ndr_cycles.py); default: send what is due\n"
"  --tx-port P, --rx-port P   DPDK ports (default 0 and 0)\n"
"  --queues N           RX and TX queues per port, 1..8 (default 1): a memif peer\n"
"                       (perc-mdd with N workers) needs as many; a sender stays\n"
"                       on one TX queue (its endpoint modulo N), every RX queue is read\n"
"  --provision-out FILE also write the provisioning file before sending\n"
"  --json FILE          the results also into FILE\n"
"  --max-loss R         exit 1 when the loss ratio exceeds R (default: never)\n"
"  --arch A             ipsec-mb architecture: auto, sse, avx, avx2, avx512\n"
"  --help\n"
"\n"
"Exit status: 0 done (loss is a result, not an error), 1 a packet failed a check\n"
"(outer / inner / OHB / EKT / payload / duplicate / misrouted) or --max-loss was\n"
"exceeded, 2 bad usage or set-up failure.\n";

static int __attribute__((format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "perc-loadgen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nperc-loadgen --help lists the options\n");
	return 2;
}

static bool
num(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max))
		return false;
	*out = v;
	return true;
}

static bool
parse_ip4(const char *s, uint8_t ip[4])
{
	unsigned a, b, c, d;
	char tail;

	if (sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 || b > 255 ||
	    c > 255 || d > 255)
		return false;
	ip[0] = (uint8_t)a;
	ip[1] = (uint8_t)b;
	ip[2] = (uint8_t)c;
	ip[3] = (uint8_t)d;
	return true;
}

static bool
parse_mac(const char *s, uint8_t m[6])
{
	unsigned v[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != 6)
		return false;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return false;
		m[i] = (uint8_t)v[i];
	}
	return true;
}

enum {
	O_CONF = 256, O_SIZE, O_STREAMS, O_MEDIA, O_LAYERS, O_PAYLOAD, O_APAY, O_VPAY,
	O_PROFILE, O_EKT, O_RTCPI, O_SEED, O_MADDR, O_MPORT, O_MMAC, O_RATE, O_DUR, O_WARM, O_NOPRIME, O_WHOLE,
	O_DRAIN, O_BURST, O_TXP, O_RXP, O_PROV, O_WPROV, O_JSON, O_MAXLOSS, O_ARCH, O_LOOP,
	O_HELP, O_ASSRC, O_QUEUES,
};

static const struct option long_opts[] = {
	{"conferences", 1, NULL, O_CONF}, {"size", 1, NULL, O_SIZE},
	{"streams", 1, NULL, O_STREAMS}, {"media", 1, NULL, O_MEDIA},
	{"layers", 1, NULL, O_LAYERS}, {"payload", 1, NULL, O_PAYLOAD},
	{"audio-payload", 1, NULL, O_APAY}, {"video-payload", 1, NULL, O_VPAY},
	{"profile", 1, NULL, O_PROFILE}, {"ekt-full-every", 1, NULL, O_EKT},
	{"rtcp-interval-ms", 1, NULL, O_RTCPI},
	{"seed", 1, NULL, O_SEED}, {"mdd-addr", 1, NULL, O_MADDR},
	{"mdd-port", 1, NULL, O_MPORT}, {"mdd-mac", 1, NULL, O_MMAC},
	{"rate", 1, NULL, O_RATE}, {"duration", 1, NULL, O_DUR},
	{"warmup-ms", 1, NULL, O_WARM}, {"no-prime", 0, NULL, O_NOPRIME},
	{"whole-bursts", 0, NULL, O_WHOLE},
	{"drain-ms", 1, NULL, O_DRAIN}, {"burst", 1, NULL, O_BURST},
	{"tx-port", 1, NULL, O_TXP}, {"rx-port", 1, NULL, O_RXP},
	{"provision-out", 1, NULL, O_PROV}, {"write-provision", 1, NULL, O_WPROV},
	{"json", 1, NULL, O_JSON}, {"max-loss", 1, NULL, O_MAXLOSS},
	{"arch", 1, NULL, O_ARCH}, {"loopback", 0, NULL, O_LOOP},
	{"audio-ssrcs", 1, NULL, O_ASSRC}, {"queues", 1, NULL, O_QUEUES},
	{"help", 0, NULL, O_HELP}, {NULL, 0, NULL, 0},
};

static int
parse_args(int argc, char **argv, struct lg_opts *o, struct run_opts *ro)
{
	int payload = -1, c;
	double v;

	lg_opts_default(o);
	memset(ro, 0, sizeof(*ro));
	ro->rate = 10000;
	ro->duration = 2;
	ro->warmup_ms = 300;
	ro->drain_ms = 300;
	ro->burst = 32;
	ro->queues = 1;
	ro->prime = true;
	ro->max_loss = -1;
	ro->arch = "auto";
	optind = 1;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		const char *a = optarg;

		switch (c) {
		case O_CONF:
			if (!num(a, 1, 100000, &v))
				return usage_error("--conferences '%s': give 1..100000", a);
			o->conferences = (unsigned)v;
			break;
		case O_SIZE:
			if (!num(a, 2, LG_MAX_SIZE, &v))
				return usage_error("--size '%s': give 2..64", a);
			o->size = (unsigned)v;
			break;
		case O_STREAMS:
			if (!num(a, 1, 400000, &v))
				return usage_error("--streams '%s': give 1..400000", a);
			o->streams = (unsigned)v;
			break;
		case O_MEDIA:
			if (strcmp(a, "audio") == 0)
				o->media = LG_AUDIO;
			else if (strcmp(a, "video") == 0)
				o->media = LG_VIDEO;
			else if (strcmp(a, "mix") == 0)
				o->media = LG_MIX;
			else
				return usage_error("--media '%s': audio, video or mix", a);
			break;
		case O_LAYERS:
			if (!num(a, 1, 3, &v))
				return usage_error("--layers '%s': give 1..3", a);
			o->layers = (unsigned)v;
			break;
		case O_QUEUES:
			if (!num(a, 1, LG_MAX_QUEUES, &v))
				return usage_error("--queues '%s': give 1..8", a);
			ro->queues = (unsigned)v;
			break;
		case O_ASSRC:
			if (!num(a, 1, 16, &v))
				return usage_error("--audio-ssrcs '%s': give 1..16", a);
			o->audio_ssrcs = (unsigned)v;
			break;
		case O_PAYLOAD:
		case O_APAY:
		case O_VPAY:
			if (!num(a, LG_STAMP, LG_PAYLOAD_MAX, &v))
				return usage_error("payload '%s': give 24..1300 bytes", a);
			if (c == O_PAYLOAD)
				payload = (int)v;
			else if (c == O_APAY)
				o->payload_audio = (unsigned)v;
			else
				o->payload_video = (unsigned)v;
			break;
		case O_PROFILE:
			o->profile = a;
			break;
		case O_EKT:
			if (!num(a, 0, 1e9, &v))
				return usage_error("--ekt-full-every '%s': give a count", a);
			o->ekt_full_every = (unsigned)v;
			break;
		case O_RTCPI:
			if (!num(a, 0, 3.6e6, &v))
				return usage_error("--rtcp-interval-ms '%s': give milliseconds, 0 for none", a);
			o->rtcp_interval_ms = (unsigned)v;
			break;
		case O_SEED:
			if (!num(a, 0, 1e18, &v))
				return usage_error("--seed '%s': give a number", a);
			o->seed = (uint64_t)v;
			break;
		case O_MADDR:
			if (!parse_ip4(a, o->mdd_ip))
				return usage_error("--mdd-addr '%s': give an IPv4 address", a);
			break;
		case O_MPORT:
			if (!num(a, 1, 65535, &v))
				return usage_error("--mdd-port '%s': give 1..65535", a);
			o->mdd_port = (uint16_t)v;
			break;
		case O_MMAC:
			if (!parse_mac(a, o->mdd_mac))
				return usage_error("--mdd-mac '%s': give aa:bb:cc:dd:ee:ff", a);
			break;
		case O_RATE:
			if (!num(a, 0, 1e9, &ro->rate))
				return usage_error("--rate '%s': packets per second, 0 for flat out", a);
			break;
		case O_DUR:
			if (!num(a, 0.01, 3600, &ro->duration))
				return usage_error("--duration '%s': give 0.01..3600 seconds", a);
			break;
		case O_WARM:
		case O_DRAIN:
			if (!num(a, 0, 60000, &v))
				return usage_error("'%s': give 0..60000 milliseconds", a);
			*(c == O_WARM ? &ro->warmup_ms : &ro->drain_ms) = (unsigned)v;
			break;
		case O_NOPRIME:
			ro->prime = false;
			break;
		case O_WHOLE:
			ro->whole_bursts = true;
			break;
		case O_BURST:
			if (!num(a, 1, BURST_MAX, &v))
				return usage_error("--burst '%s': give 1..64", a);
			ro->burst = (unsigned)v;
			break;
		case O_TXP:
		case O_RXP:
			if (!num(a, 0, RTE_MAX_ETHPORTS - 1, &v))
				return usage_error("port '%s': give a DPDK port number", a);
			*(c == O_TXP ? &ro->tx_port : &ro->rx_port) = (uint16_t)v;
			break;
		case O_PROV:
			ro->provision_out = a;
			break;
		case O_WPROV:
			ro->write_provision = a;
			break;
		case O_JSON:
			ro->json = a;
			break;
		case O_MAXLOSS:
			if (!num(a, 0, 1, &ro->max_loss))
				return usage_error("--max-loss '%s': a ratio, 0..1", a);
			break;
		case O_ARCH:
			if (perc_arch_parse(a) < 0 || perc_arch_parse(a) == PERC_ARCH_LIBSRTP)
				return usage_error("--arch '%s': auto, sse, avx, avx2 or avx512", a);
			ro->arch = a;
			break;
		case O_LOOP:
			ro->loopback = true;
			break;
		case O_HELP:
			printf(usage_text, LG_STAMP, LG_PAYLOAD_MAX, BURST_MAX);
			exit(0);
		default:
			return usage_error("%s", "unknown option");
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (payload >= 0) {
		if (o->media == LG_VIDEO)
			o->payload_video = (unsigned)payload;
		else if (o->media == LG_AUDIO)
			o->payload_audio = (unsigned)payload;
		else
			o->payload_audio = o->payload_video = (unsigned)payload;
	}
	return 0;
}

/* ---- the two kinds of port ---- */

static uint64_t
now_tsc(void)
{
	return rte_rdtsc();
}

static uint64_t
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct lg_stream *
next_stream(struct run *r)
{
	struct lg_stream *s = &r->w.streams[r->cursor];

	if (++r->cursor == r->w.n_streams)
		r->cursor = 0;
	return s;
}

/* A sender's frames always leave on the same TX queue (its endpoint
 * modulo the queues), as RSS on the 5-tuple would keep one sender on one
 * MDD worker. */
static unsigned
send_dpdk(struct run *r, unsigned n, enum lg_phase ph, uint64_t now)
{
	struct rte_mbuf *m[BURST_MAX], *q[LG_MAX_QUEUES][BURST_MAX];
	unsigned nq[LG_MAX_QUEUES] = {0}, ok;

	if (rte_pktmbuf_alloc_bulk(r->pool, m, n) != 0)
		return 0; /* all mbufs in flight: the pace catches up later */
	for (unsigned i = 0; i < n; i++) {
		struct lg_stream *s = next_stream(r);
		uint8_t *d = rte_pktmbuf_mtod(m[i], uint8_t *);
		uint32_t len = lg_build(&r->w, s, ph, now, d, rte_pktmbuf_tailroom(m[i]));
		unsigned qi = s->ep % r->ro.queues;

		if (len == 0) {
			r->build_fail++;
			rte_pktmbuf_free(m[i]);
			continue;
		}
		m[i]->data_len = (uint16_t)len;
		m[i]->pkt_len = len;
		q[qi][nq[qi]++] = m[i];
	}
	for (unsigned qi = 0; qi < r->ro.queues; qi++) {
		if (nq[qi] == 0)
			continue;
		ok = rte_eth_tx_burst(r->ro.tx_port, (uint16_t)qi, q[qi], (uint16_t)nq[qi]);
		if (ok < nq[qi]) {
			r->tx_full += nq[qi] - ok;
			rte_pktmbuf_free_bulk(q[qi] + ok, nq[qi] - ok);
		}
	}
	return n;
}

/* the next n endpoints' compounds, each on its endpoint's TX queue;
 * feedback only once every stream primed the MDD (so perc-mdd knows the
 * media sender and routes the feedback to it alone) */
static void
send_rtcp_dpdk(struct run *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		unsigned e = r->rtcp_cursor, copies;
		struct rte_mbuf *m = rte_pktmbuf_alloc(r->pool);
		uint32_t len;

		if (m == NULL)
			return;
		r->rtcp_cursor = (r->rtcp_cursor + 1) % r->w.n_eps;
		len = lg_build_rtcp(&r->w, e, r->ro.prime, rte_pktmbuf_mtod(m, uint8_t *),
				    rte_pktmbuf_tailroom(m), &copies);
		if (len == 0) {
			r->rtcp_build_fail++;
			rte_pktmbuf_free(m);
			continue;
		}
		m->data_len = (uint16_t)len;
		m->pkt_len = len;
		if (rte_eth_tx_burst(r->ro.tx_port, (uint16_t)(e % r->ro.queues), &m, 1) != 1) {
			r->rtcp_build_fail++;
			rte_pktmbuf_free(m);
			continue;
		}
		r->rtcp_sent++;
		r->rtcp_expect += copies;
	}
}

static void poll_frames(struct run *r, struct rte_mbuf **m, uint16_t n, uint64_t now);

/* Receive until the port is empty (a bounded number of bursts): with
 * fan-out the MDD sends back several frames per frame sent, and a receiver
 * that polls once per TX burst would let the MDD's TX ring overflow and
 * call it the MDD's loss. */
static void
poll_dpdk(struct run *r)
{
	for (uint16_t qi = 0; qi < r->ro.queues; qi++) {
		for (int k = 0; k < 16; k++) {
			struct rte_mbuf *m[BURST_MAX];
			uint16_t n = rte_eth_rx_burst(r->ro.rx_port, qi, m, BURST_MAX);
			uint64_t now = rte_rdtsc();

			poll_frames(r, m, n, now);
			if (n < BURST_MAX)
				break;
		}
	}
}

static void
poll_frames(struct run *r, struct rte_mbuf **m, uint16_t n, uint64_t now)
{
	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(m[i + 1], void *));
		if (m[i]->nb_segs == 1)
			lg_rx_frame(&r->rx, rte_pktmbuf_mtod(m[i], uint8_t *), m[i]->data_len, now);
		else
			r->rx.c[LG_RX_NOT_OURS]++;
	}
	if (n > 0)
		rte_pktmbuf_free_bulk(m, n);
}

/* loopback: the reference hop to every other member, straight into rx */
static unsigned
send_loop(struct run *r, unsigned n, enum lg_phase ph, uint64_t now)
{
	static uint8_t in[LG_FRAME_MAX], out[LG_FRAME_MAX];

	for (unsigned i = 0; i < n; i++) {
		struct lg_stream *s = next_stream(r);
		uint32_t len = lg_build(&r->w, s, ph, now, in, sizeof(in));

		if (len == 0) {
			r->build_fail++;
			continue;
		}
		for (unsigned p = 0; p < r->w.o.size; p++) {
			uint32_t ol = lg_ref_hop(&r->w, in, len, p, out, sizeof(out));

			if (ol > 0)
				lg_rx_frame(&r->rx, out, ol, now_mono());
		}
	}
	return n;
}

static void
send_rtcp_loop(struct run *r, unsigned n)
{
	static uint8_t in[LG_FRAME_MAX], out[LG_FRAME_MAX];

	for (unsigned i = 0; i < n; i++) {
		unsigned e = r->rtcp_cursor, copies;
		uint32_t len;

		r->rtcp_cursor = (r->rtcp_cursor + 1) % r->w.n_eps;
		len = lg_build_rtcp(&r->w, e, r->ro.prime, in, sizeof(in), &copies);
		if (len == 0) {
			r->rtcp_build_fail++;
			continue;
		}
		r->rtcp_sent++;
		r->rtcp_expect += copies;
		for (unsigned p = 0; p < r->w.o.size; p++) {
			uint32_t ol = lg_ref_hop_rtcp(&r->w, in, len, p, out, sizeof(out));

			if (ol > 0)
				lg_rx_frame(&r->rx, out, ol, now_mono());
		}
	}
}

static void
poll_loop(struct run *r)
{
	(void)r;
}

/* ---- the run ---- */

static void
paced(struct run *r, double rate, double seconds, uint64_t limit, enum lg_phase ph,
      uint64_t *count)
{
	uint64_t start = r->now(), end = start + (uint64_t)(seconds * r->hz), now, due;
	uint64_t rtcp_done = 0;
	/* compounds per tick: every endpoint once an interval */
	double rtcp_rate = r->w.o.rtcp_interval_ms > 0 && ph == LG_PH_MEASURE ?
		(double)r->w.n_eps * 1000.0 / r->w.o.rtcp_interval_ms / r->hz : 0;

	*count = 0;
	while ((now = r->now()) < end && *count < limit) {
		if (rtcp_rate > 0) {
			/* the first round at once, then paced */
			uint64_t rd = r->w.n_eps + (uint64_t)((double)(now - start) * rtcp_rate);

			if (rd > rtcp_done) {
				unsigned k = rd - rtcp_done > r->ro.burst ? r->ro.burst
									   : (unsigned)(rd - rtcp_done);

				r->send_rtcp(r, k);
				rtcp_done += k;
			}
		}
		due = rate > 0 ? (uint64_t)((double)(now - start) * rate / r->hz) : UINT64_MAX;
		/* the measured phase only: priming sends one packet per stream */
		if (r->ro.whole_bursts && ph == LG_PH_MEASURE &&
		    due - *count < r->ro.burst)
			due = *count;
		if (due > *count) {
			uint64_t n = due - *count;

			if (n > r->ro.burst)
				n = r->ro.burst;
			if (n > limit - *count)
				n = limit - *count;
			*count += r->send(r, (unsigned)n, ph, now);
		}
		r->poll(r);
	}
	if (ph == LG_PH_MEASURE)
		r->t_measure = (double)(now - start) / r->hz;
}

static void
idle(struct run *r, unsigned ms)
{
	uint64_t end = r->now() + (uint64_t)(ms / 1000.0 * r->hz);

	while (r->now() < end)
		r->poll(r);
}

static int
write_json(struct run *r, FILE *f)
{
	const struct lg_rx *x = &r->rx;
	uint64_t tx_ok = r->sent - r->tx_full - r->build_fail;
	uint64_t expected = tx_ok * (r->w.o.size - 1);
	uint64_t ok = x->c[LG_RX_OK];
	double loss = expected ? (double)((int64_t)expected - (int64_t)ok) / (double)expected : 0;
	/* packets offered but not taken by the port count as lost too */
	double loss_offered = r->sent ? 1.0 - (double)ok / (double)(r->sent * (r->w.o.size - 1)) : 0;
	static const char *const media[] = {"audio", "video", "mix"};

	fprintf(f, "{\n \"tool\": \"perc-loadgen\",\n \"dpdk\": \"%s\",\n", rte_version());
	fprintf(f, " \"config\": {\"conferences\": %u, \"size\": %u, \"fanout\": %u, "
		   "\"streams\": %u, \"endpoints\": %u, \"media\": \"%s\", \"layers\": %u, "
		   "\"audio_ssrcs\": %u, "
		   "\"payload_audio\": %u, \"payload_video\": %u, \"profile\": \"%s\", "
		   "\"ekt_full_every\": %u, \"seed\": %" PRIu64 ", \"rate_pps\": %.0f, "
		   "\"duration_s\": %.3f, \"burst\": %u, \"whole_bursts\": %s, \"loopback\": %s, \"arch\": \"%s\"},\n",
		r->w.n_confs, r->w.o.size, r->w.o.size - 1, r->w.n_streams, r->w.n_eps,
		media[r->w.o.media], r->w.o.layers, r->w.o.audio_ssrcs, r->w.o.payload_audio,
		r->w.o.payload_video,
		r->w.prof->name, r->w.o.ekt_full_every, r->w.o.seed, r->ro.rate, r->ro.duration,
		r->ro.burst, r->ro.whole_bursts ? "true" : "false", r->ro.loopback ? "true" : "false",
		perc_arch_name(perc_engine_arch(r->w.eng)));
	fprintf(f, " \"tx\": {\"priming\": %" PRIu64 ", \"offered\": %" PRIu64 ", \"sent\": %"
		   PRIu64 ", \"tx_full\": %" PRIu64 ", \"build_fail\": %" PRIu64
		   ", \"seconds\": %.6f, \"offered_pps\": %.1f},\n",
		r->prime_sent, r->sent, tx_ok, r->tx_full, r->build_fail, r->t_measure,
		r->t_measure > 0 ? (double)r->sent / r->t_measure : 0);
	fprintf(f, " \"rtcp\": {\"interval_ms\": %u, \"sent\": %" PRIu64 ", \"not_sent\": %"
		   PRIu64 ", \"expected\": %" PRIu64 ", \"received\": %" PRIu64
		   ", \"feedback\": %" PRIu64 ", \"fail\": %" PRIu64 ", \"replay\": %" PRIu64
		   ", \"misrouted\": %" PRIu64 ", \"lost\": %" PRId64 "},\n",
		r->w.o.rtcp_interval_ms, r->rtcp_sent, r->rtcp_build_fail, r->rtcp_expect,
		x->c[LG_RX_RTCP], x->c[LG_RX_RTCP_FB], x->c[LG_RX_RTCP_FAIL],
		x->c[LG_RX_RTCP_REPLAY], x->c[LG_RX_RTCP_MISROUTED],
		(int64_t)r->rtcp_expect - (int64_t)x->c[LG_RX_RTCP]);
	fputs(" \"rx\": {", f);
	for (int c = 0; c < LG_RX__COUNT; c++)
		fprintf(f, "%s\"%s\": %" PRIu64, c ? ", " : "", lg_rx_name(c), x->c[c]);
	fprintf(f, ", \"ok_pps\": %.1f},\n", r->t_measure > 0 ? (double)ok / r->t_measure : 0);
	fprintf(f, " \"expected\": %" PRIu64 ", \"lost\": %" PRId64 ", \"loss_ratio\": %.9f, "
		   "\"loss_ratio_offered\": %.9f,\n",
		expected, (int64_t)expected - (int64_t)ok, loss, loss_offered);
	fprintf(f, " \"latency_ns\": {\"min\": %" PRIu64 ", \"mean\": %.0f, \"p50\": %.0f, "
		   "\"p99\": %.0f, \"p999\": %.0f, \"max\": %" PRIu64 "},\n",
		ok ? x->lat_min_ns : 0, ok ? (double)x->lat_sum_ns / (double)ok : 0,
		lg_rx_lat_pct(x, 50), lg_rx_lat_pct(x, 99), lg_rx_lat_pct(x, 99.9),
		x->lat_max_ns);
	fprintf(f, " \"errors\": %" PRIu64 "\n}\n",
		x->c[LG_RX_OUTER_FAIL] + x->c[LG_RX_OHB_BAD] + x->c[LG_RX_INNER_FAIL] +
			x->c[LG_RX_PAYLOAD_BAD] + x->c[LG_RX_EKT_BAD] + x->c[LG_RX_DUP] +
			x->c[LG_RX_WRONG_RECEIVER] + x->c[LG_RX_UNKNOWN_SSRC] +
			x->c[LG_RX_RTCP_FAIL] + x->c[LG_RX_RTCP_REPLAY] + x->c[LG_RX_RTCP_MISROUTED]);
	return ferror(f) ? -1 : 0;
}

static int
port_init(struct run *r, uint16_t port)
{
	struct rte_eth_conf conf;
	uint16_t rxd = RING_DESC, txd = RING_DESC;
	struct rte_eth_link link;
	int rc;

	if (!rte_eth_dev_is_valid_port(port)) {
		fprintf(stderr, "perc-loadgen: no DPDK port %u: give a --vdev (e.g. "
				"net_memif0,role=client,socket=PATH) or a NIC\n", port);
		return -1;
	}
	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_configure(port, r->ro.queues, r->ro.queues, &conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
	for (uint16_t qi = 0; rc == 0 && qi < r->ro.queues; qi++) {
		rc = rte_eth_rx_queue_setup(port, qi, rxd, rte_eth_dev_socket_id(port), NULL,
					    r->pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(port, qi, txd, rte_eth_dev_socket_id(port), NULL);
	}
	if (rc == 0)
		rc = rte_eth_dev_start(port);
	if (rc != 0) {
		fprintf(stderr, "perc-loadgen: port %u set-up failed: %s\n", port, strerror(-rc));
		return -1;
	}
	rte_eth_promiscuous_enable(port);
	/* a memif client is up once the server (perc-mdd) accepted it */
	for (int i = 0; i < 300; i++) {
		if (rte_eth_link_get_nowait(port, &link) == 0 && link.link_status)
			return 0;
		rte_delay_us_sleep(100000);
	}
	fprintf(stderr, "perc-loadgen: port %u link down after 30 s: is perc-mdd running with "
			"the other end (memif server on the same socket)?\n", port);
	return -1;
}

static int
run_traffic(struct run *r)
{
	uint64_t n;

	if (r->ro.prime) {
		double rate = r->ro.rate > 0 ? r->ro.rate : 200000;

		paced(r, rate, 3600, r->w.n_streams, LG_PH_PRIME, &r->prime_sent);
		idle(r, r->ro.warmup_ms);
	}
	paced(r, r->ro.rate, r->ro.duration, UINT64_MAX, LG_PH_MEASURE, &n);
	r->sent = n;
	idle(r, r->ro.drain_ms);
	return 0;
}

static int
finish(struct run *r)
{
	const struct lg_rx *x = &r->rx;
	uint64_t errors = x->c[LG_RX_OUTER_FAIL] + x->c[LG_RX_OHB_BAD] + x->c[LG_RX_INNER_FAIL] +
			  x->c[LG_RX_PAYLOAD_BAD] + x->c[LG_RX_EKT_BAD] + x->c[LG_RX_DUP] +
			  x->c[LG_RX_WRONG_RECEIVER] + x->c[LG_RX_UNKNOWN_SSRC] +
			  x->c[LG_RX_RTCP_FAIL] + x->c[LG_RX_RTCP_REPLAY] + x->c[LG_RX_RTCP_MISROUTED];
	uint64_t expected = (r->sent - r->tx_full - r->build_fail) * (r->w.o.size - 1);
	double loss = expected ? ((double)expected - (double)x->c[LG_RX_OK]) / (double)expected : 0;
	double rtcp_loss = r->rtcp_expect ? ((double)r->rtcp_expect - (double)x->c[LG_RX_RTCP]) /
						    (double)r->rtcp_expect : 0;
	int rc = 0;

	write_json(r, stdout);
	if (r->ro.json != NULL) {
		FILE *f = fopen(r->ro.json, "w");

		if (f == NULL || write_json(r, f) != 0 || fclose(f) != 0) {
			fprintf(stderr, "perc-loadgen: cannot write %s\n", r->ro.json);
			rc = 2;
		}
	}
	if (errors > 0) {
		fprintf(stderr, "perc-loadgen: %" PRIu64 " packets failed a check (see \"rx\")\n",
			errors);
		rc = rc ? rc : 1;
	}
	if (r->ro.max_loss >= 0 && loss > r->ro.max_loss) {
		fprintf(stderr, "perc-loadgen: loss %.6f above --max-loss %.6f\n", loss,
			r->ro.max_loss);
		rc = rc ? rc : 1;
	}
	if (r->ro.max_loss >= 0 && rtcp_loss > r->ro.max_loss) {
		fprintf(stderr, "perc-loadgen: RTCP loss %.6f above --max-loss %.6f (see \"rtcp\")\n",
			rtcp_loss, r->ro.max_loss);
		rc = rc ? rc : 1;
	}
	return rc;
}

static int
setup_world(struct run *r, struct lg_opts *o, struct perc_engine **eng)
{
	char err[256];

	*eng = perc_engine_create((enum perc_arch)perc_arch_parse(r->ro.arch));
	if (*eng == NULL) {
		fprintf(stderr, "perc-loadgen: no ipsec-mb engine for --arch %s: %s\n", r->ro.arch,
			strerror(errno));
		return 2;
	}
	if (lg_world_init(&r->w, o, *eng, err, sizeof(err)) != 0) {
		fprintf(stderr, "perc-loadgen: %s\n", err);
		return 2;
	}
	if (r->ro.provision_out != NULL &&
	    lg_world_write_provision(&r->w, r->ro.provision_out, err, sizeof(err)) != 0) {
		fprintf(stderr, "perc-loadgen: %s\n", err);
		return 2;
	}
	return 0;
}

static int
offline(int argc, char **argv)
{
	static struct run r;
	struct perc_engine *eng = NULL;
	struct lg_opts o;
	int rc;

	rc = parse_args(argc, argv, &o, &r.ro);
	if (rc != 0)
		return rc;
	if (r.ro.write_provision == NULL && !r.ro.loopback)
		return usage_error("%s", "without EAL options give --write-provision FILE or "
			"--loopback; to send: perc-loadgen [EAL options] -- [options]");
	if (r.ro.write_provision != NULL)
		r.ro.provision_out = r.ro.write_provision;
	rc = setup_world(&r, &o, &eng);
	if (rc == 0 && r.ro.loopback) {
		r.hz = 1e9;
		r.now = now_mono;
		r.send = send_loop;
		r.send_rtcp = send_rtcp_loop;
		r.poll = poll_loop;
		if (lg_rx_init(&r.rx, &r.w, 1.0) != 0) {
			fprintf(stderr, "perc-loadgen: out of memory for the receiver\n");
			rc = 2;
		} else {
			run_traffic(&r);
			rc = finish(&r);
		}
		lg_rx_free(&r.rx);
	}
	lg_world_free(&r.w);
	if (eng != NULL)
		perc_engine_destroy(eng);
	return rc;
}

int
main(int argc, char **argv)
{
	static struct run r;
	struct perc_engine *eng = NULL;
	struct lg_opts o;
	bool eal = false;
	int n, rc;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			eal = true;
	if (!eal)
		return offline(argc, argv);
	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "perc-loadgen: EAL initialisation failed: check the EAL options\n");
		return 2;
	}
	argc -= n;
	argv += n;
	rc = parse_args(argc, argv, &o, &r.ro);
	if (rc == 0 && r.ro.loopback)
		rc = usage_error("%s", "--loopback runs without EAL options (no --)");
	if (rc == 0)
		rc = setup_world(&r, &o, &eng);
	if (rc == 0 && r.ro.write_provision != NULL)
		goto out;
	if (rc == 0) {
		r.pool = rte_pktmbuf_pool_create("lg_pool", NB_MBUF, 256, 0,
						 RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
		if (r.pool == NULL) {
			fprintf(stderr, "perc-loadgen: no mbuf pool: give the EAL more memory (-m)\n");
			rc = 2;
		}
	}
	if (rc == 0 && (port_init(&r, r.ro.tx_port) != 0 ||
			(r.ro.rx_port != r.ro.tx_port && port_init(&r, r.ro.rx_port) != 0)))
		rc = 2;
	if (rc == 0 && lg_rx_init(&r.rx, &r.w, 1e9 / (double)rte_get_tsc_hz()) != 0) {
		fprintf(stderr, "perc-loadgen: out of memory for the receiver\n");
		rc = 2;
	}
	if (rc == 0) {
		r.hz = (double)rte_get_tsc_hz();
		r.now = now_tsc;
		r.send = send_dpdk;
		r.send_rtcp = send_rtcp_dpdk;
		r.poll = poll_dpdk;
		run_traffic(&r);
		rc = finish(&r);
	}
	lg_rx_free(&r.rx);
	if (r.pool != NULL) {
		rte_eth_dev_stop(r.ro.tx_port);
		if (r.ro.rx_port != r.ro.tx_port)
			rte_eth_dev_stop(r.ro.rx_port);
	}
out:
	lg_world_free(&r.w);
	if (eng != NULL)
		perc_engine_destroy(eng);
	rte_eal_cleanup();
	return rc;
}
