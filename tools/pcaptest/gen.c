/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-pcaptest gen: conferences of endpoints with random keys (from a
 * seed), their media towards the MDD as in.pcap, and the two JSON files:
 * provision.json for the MDD, secrets.json for the checker.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "perc/double.h"
#include "perc/ekt.h"
#include "perc/kat.h"
#include "perc/rtcp.h"
#include "perc/rtp.h"
#include "pcaptest.h"

#define CMD "gen"
#define MAX_PAYLOAD 1300u
#define OVERSIZED_PAYLOAD 1600u  /* UDP payload of the oversized frame */
#define N_STREAM_LIMIT 3u        /* frames on new SSRCs from one endpoint */
#define PT_AUDIO 111u
#define PT_VIDEO 96u
#define TS_BASE_SEC 1700000000
#define TS_STEP_US 250

static const char usage_text[] =
	"usage: perc-pcaptest gen --dir DIR [options]\n"
	"\n"
	"Writes DIR/provision.json (perc-mdd --provision), DIR/secrets.json (all\n"
	"keys, for check) and DIR/in.pcap (frames from the endpoints to the MDD).\n"
	"\n"
	"options:\n"
	"  --dir DIR          output folder (created if missing)\n"
	"  --conferences N    conferences (default 2)\n"
	"  --size N           endpoints per conference, 2..64 (default 3)\n"
	"  --packets N        RTP packets per sender SSRC (default 50)\n"
	"  --payload N        RTP payload bytes, at most 1300 (default 160; an\n"
	"                     endpoint's second SSRC adds seq %% 17)\n"
	"  --profile NAME     DOUBLE_AEAD_AES_128_GCM_AEAD_AES_128_GCM (default),\n"
	"                     DOUBLE_AEAD_AES_256_GCM_AEAD_AES_256_GCM, or a single\n"
	"                     profile: SRTP_AEAD_AES_128_GCM, SRTP_AEAD_AES_256_GCM,\n"
	"                     SRTP_AES128_CM_HMAC_SHA1_80, SRTP_AES128_CM_HMAC_SHA1_32\n"
	"  --ipv6             IPv6 instead of IPv4\n"
	"  --rtcp             SRTCP too: SR+SDES every 10 packets, PLI, NACK, FIR\n"
	"  --bad              one frame of each kind of bad input (listed in\n"
	"                     secrets.json with the counter it should hit)\n"
	"  --rekey            a hop-by-hop rekey: every endpoint gets a second rx\n"
	"                     key (rx_key_next) and sends its second half of rounds\n"
	"                     (RTP outer layer, SRTCP) with it; SEQ, ROC and the\n"
	"                     SRTCP index go on, the E2E key stays\n"
	"  --rewrite          give receivers a rewrite policy (pt_map, seq_offset,\n"
	"                     marker): ep1 a pt_map, ep2 seq_offset 1000 and marker\n"
	"                     \"set\", ep3 marker \"clear\", a pt_map and an offset\n"
	"                     that wraps its SEQ halfway (RFC 8723 §5.2, the OHB)\n"
	"  --seed N           key and SSRC randomness (default 1)\n"
	"  --mdd-addr IP      the MDD's address (default 192.0.2.1 / 2001:db8::1)\n"
	"  --mdd-port N       the MDD's media port (default 3478)\n"
	"  --seq-start N      first RTP sequence number (default 65500: every\n"
	"                     stream wraps its ROC)\n"
	"  -h, --help         this text\n"
	"\n"
	"docs/pcaptest.md describes the files.\n";

struct gen_opts {
	const char *dir;
	unsigned confs, size, packets, payload, seq_start, mdd_port;
	const struct perc_profile *prof;
	bool ipv6, rtcp, bad, rekey, rewrite, mdd_set;
	unsigned rekey_round;  /* --rekey: first round with the next key */
	uint64_t seed;
	struct pt_addr mdd;
};

enum gkind { G_RTP = 0, G_RTCP };

/* a valid frame, in send order */
struct gframe {
	uint8_t *data;
	uint32_t len;
	unsigned ep;
	uint8_t kind;          /* enum gkind */
	uint8_t sidx;          /* which SSRC of the endpoint */
	unsigned round;
	uint32_t ssrc;
	uint16_t seq;
	uint8_t ekt_len;       /* EKT field bytes at the end */
};

enum gwhere { W_BEFORE = 0, W_AFTER, W_END };

/* a bad frame and where it goes */
struct gbad {
	uint8_t *data;
	uint32_t len;
	long ref;              /* the valid frame it copies, or -1 */
	size_t anchor;         /* valid frame it is placed next to */
	uint8_t where;         /* enum gwhere */
	int counter;
	char desc[200];
	char note[320];
};

/* what one RTP packet needs besides its header fields */
struct rtp_keys {
	const struct perc_double_key *dk;  /* double profiles */
	const struct perc_key *single;     /* single profiles */
	const struct pt_conf *cf;          /* EKT key, SPI (double) */
	const uint8_t *e2e_key;
	unsigned e2e_len;
};

struct gen {
	struct gen_opts o;
	struct pt_world w;
	struct pt_rng rng;
	struct perc_engine *e;
	struct perc_key *rx;              /* per endpoint: rx key, one layer */
	struct perc_double_key *dk;       /* per endpoint: e2e ‖ rx */
	struct perc_key *rxn;             /* --rekey, per endpoint: rx_key_next */
	struct perc_double_key *dkn;      /* --rekey, per endpoint: e2e ‖ rx_key_next */
	uint32_t *rtcp_index;             /* per endpoint */
	uint32_t *ts0;                    /* per endpoint, per SSRC (2) */
	struct pt_map ssrcs_used;
	struct gframe *v;
	size_t nv, capv;
	struct gbad *b;
	size_t nb, capb;
};

static int
fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("perc-pcaptest gen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return PT_EX_FAIL;
}

/* ---- options ---- */

enum { O_DIR = 256, O_CONFS, O_SIZE, O_PACKETS, O_PAYLOAD, O_PROFILE, O_IPV6, O_RTCP, O_BAD,
       O_REKEY, O_REWRITE, O_SEED, O_MDD_ADDR, O_MDD_PORT, O_SEQ_START };

static const struct option long_opts[] = {
	{ "dir", required_argument, NULL, O_DIR },
	{ "conferences", required_argument, NULL, O_CONFS },
	{ "size", required_argument, NULL, O_SIZE },
	{ "packets", required_argument, NULL, O_PACKETS },
	{ "payload", required_argument, NULL, O_PAYLOAD },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "ipv6", no_argument, NULL, O_IPV6 },
	{ "rtcp", no_argument, NULL, O_RTCP },
	{ "bad", no_argument, NULL, O_BAD },
	{ "rekey", no_argument, NULL, O_REKEY },
	{ "rewrite", no_argument, NULL, O_REWRITE },
	{ "seed", required_argument, NULL, O_SEED },
	{ "mdd-addr", required_argument, NULL, O_MDD_ADDR },
	{ "mdd-port", required_argument, NULL, O_MDD_PORT },
	{ "seq-start", required_argument, NULL, O_SEQ_START },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int
parse_opts(int argc, char **argv, struct gen_opts *o)
{
	unsigned long long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->confs = 2;
	o->size = 3;
	o->packets = 50;
	o->payload = 160;
	o->seq_start = 65500;
	o->mdd_port = 3478;
	o->seed = 1;
	o->prof = perc_profile_by_id(PERC_DOUBLE_AES_128_GCM);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		case O_DIR:
			o->dir = optarg;
			break;
#define NUM_OPT(id, name, lo, hi, field) \
		case id: \
			if (!pt_num(optarg, lo, hi, &v)) \
				return pt_usage_error(CMD, "%s wants a number from %u to %u, not '%s'", \
						      name, (unsigned)(lo), (unsigned)(hi), optarg); \
			o->field = (unsigned)v; \
			break;
		NUM_OPT(O_CONFS, "--conferences", 1, 1000, confs)
		NUM_OPT(O_SIZE, "--size", 2, 64, size)
		NUM_OPT(O_PACKETS, "--packets", 1, 1000000, packets)
		NUM_OPT(O_PAYLOAD, "--payload", 0, MAX_PAYLOAD, payload)
		NUM_OPT(O_MDD_PORT, "--mdd-port", 1, 65535, mdd_port)
		NUM_OPT(O_SEQ_START, "--seq-start", 0, 65535, seq_start)
#undef NUM_OPT
		case O_PROFILE:
			o->prof = pt_num(optarg, 1, 0xffff, &v) ? perc_profile_by_id((uint16_t)v)
								: perc_profile_by_name(optarg);
			if (o->prof == NULL)
				return pt_usage_error(CMD, "unknown profile '%s' (perc-srtp profiles lists them)",
						      optarg);
			break;
		case O_IPV6:
			o->ipv6 = true;
			break;
		case O_RTCP:
			o->rtcp = true;
			break;
		case O_BAD:
			o->bad = true;
			break;
		case O_REKEY:
			o->rekey = true;
			break;
		case O_REWRITE:
			o->rewrite = true;
			break;
		case O_SEED:
			if (!pt_num(optarg, 0, INT64_MAX, &v))
				return pt_usage_error(CMD, "--seed wants a number, not '%s'", optarg);
			o->seed = v;
			break;
		case O_MDD_ADDR:
			if (pt_parse_ip(optarg, &o->mdd) != 0)
				return pt_usage_error(CMD, "--mdd-addr '%s' is not an IPv4 or IPv6 address",
						      optarg);
			o->mdd_set = true;
			break;
		default:
			return pt_usage_hint(CMD);
		}
	}
	if (optind < argc)
		return pt_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
	if (o->dir == NULL)
		return pt_usage_error(CMD, "--dir DIR is required");
	if (o->mdd_set && (o->mdd.family == AF_INET6) != o->ipv6)
		return pt_usage_error(CMD, "--mdd-addr is %s but %s", o->ipv6 ? "IPv4" : "IPv6",
				      o->ipv6 ? "--ipv6 was given" : "--ipv6 was not given");
	if (!o->mdd_set)
		pt_parse_ip(o->ipv6 ? "2001:db8::1" : "192.0.2.1", &o->mdd);
	o->mdd.port = (uint16_t)o->mdd_port;
	if (o->bad && o->packets < 4)
		return pt_usage_error(CMD, "--bad needs --packets 4 or more (bad frames copy packets of round 1 and later)");
	if (o->rekey && o->packets < 2)
		return pt_usage_error(CMD, "--rekey needs --packets 2 or more (the first half with the current key, the second with the next)");
	o->rekey_round = o->packets / 2;
	if ((unsigned long long)o->confs * o->size * 2 * o->packets > 50000000ull)
		return pt_usage_error(CMD, "%u conferences x %u endpoints x %u packets is too much for one pcap",
				      o->confs, o->size, o->packets);
	return 0;
}

/* ---- the world ---- */

static void
map_pt(struct pt_rewrite *rw, uint8_t from, uint8_t to)
{
	rw->listed[from] = true;
	rw->pt_map[from] = to;
	rw->any |= from != to;
}

/*
 * --rewrite: the receivers' policies (docs/pcaptest.md), chosen so that
 * one capture needs every OHB entry of RFC 8723 §5.2 and its "set back to
 * the original: no entry" rule:
 * - ep1: audio 111 -> 110 and video 96 -> 100 (P); in c2, c4, ... video
 *   96 -> 96, to itself (no P entry);
 * - ep2: seq_offset 1000 (Q), marker "set" (M with B = 0; no M for a packet
 *   whose marker was set already);
 * - ep3: marker "clear" (M with B = 1), audio 111 -> 111 (no P entry),
 *   video 96 -> 98 (P), and a seq_offset that makes its SEQ cross
 *   65535 -> 0 at round packets / 2 (Q, and a receiver-side ROC that wraps
 *   at another point than the sender's); 32768 where that offset is 0.
 * Others: none. No randomness used: the keys are those without --rewrite.
 */
static void
set_rewrite(const struct gen_opts *o, struct pt_endpoint *ep)
{
	struct pt_rewrite *rw = &ep->rw;
	uint16_t wrap;

	pt_rewrite_none(rw);
	if (!o->rewrite)
		return;
	switch (ep->pos) {
	case 0:
		map_pt(rw, PT_AUDIO, 110);
		map_pt(rw, PT_VIDEO, ep->conf % 2 == 0 ? 100 : PT_VIDEO);
		break;
	case 1:
		rw->seq_offset = 1000;
		rw->marker = 1;
		rw->any = true;
		break;
	case 2:
		map_pt(rw, PT_AUDIO, PT_AUDIO);
		map_pt(rw, PT_VIDEO, 98);
		wrap = (uint16_t)(0x10000u - ((o->seq_start + o->packets / 2) & 0xffffu));
		rw->seq_offset = wrap != 0 ? wrap : 0x8000;
		rw->marker = 0;
		rw->any = true;
		break;
	default:
		break;
	}
}

static uint32_t
new_ssrc(struct gen *g)
{
	uint32_t s;

	do
		s = (uint32_t)pt_rng_next(&g->rng);
	while (s == 0 || pt_map_get(&g->ssrcs_used, s, 0, 0) != NULL);
	pt_map_put(&g->ssrcs_used, s, 0, 0, 1);
	return s;
}

static void
ep_addr(const struct gen_opts *o, unsigned gi, struct pt_addr *a)
{
	uint32_t n = 16 + gi;

	memset(a, 0, sizeof(*a));
	if (o->ipv6) {
		static const uint8_t pre[8] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0 };

		a->family = AF_INET6;
		memcpy(a->ip, pre, 8);
		pt_put32(a->ip + 12, n);
	} else {
		a->family = AF_INET;
		pt_put32(a->ip, 0xc6120000u + n);  /* 198.18.0.0/15 */
	}
	a->port = (uint16_t)(40000 + gi % 20000);
}

/*
 * --rekey: a second rx key and salt per endpoint, from a random stream of
 * their own, so that every other key, SSRC and timestamp is the one the
 * same seed gives without --rekey. Double profiles: only the outer half
 * changes; the E2E half stays.
 */
static int
make_next_keys(struct gen *g)
{
	struct pt_rng rng = { g->o.seed ^ 0x72656b6579ull };  /* "rekey" */
	struct pt_world *w = &g->w;

	for (unsigned i = 0; i < w->n_eps; i++) {
		struct pt_endpoint *ep = &w->eps[i];
		const struct perc_profile *layer = ep->layer;
		uint8_t mk[64], ms[28];
		int r;

		pt_rng_bytes(&rng, ep->rx_key_next, layer->key_len);
		pt_rng_bytes(&rng, ep->rx_salt_next, layer->salt_len);
		ep->has_rx_next = true;
		ep->rekey_round = g->o.rekey_round;
		ep->rekey_index = (uint64_t)g->o.seq_start + g->o.rekey_round;
		r = perc_key_init(&g->rxn[i], g->e, layer, ep->rx_key_next, ep->rx_salt_next);
		if (r == PERC_R_OK && ep->prof->is_double) {
			memcpy(mk, ep->e2e_key, layer->key_len);
			memcpy(mk + layer->key_len, ep->rx_key_next, layer->key_len);
			memcpy(ms, ep->e2e_salt, 12);
			memcpy(ms + 12, ep->rx_salt_next, 12);
			r = perc_double_key_init(&g->dkn[i], g->e, ep->prof, mk, ms);
			memset(mk, 0, sizeof(mk));
		}
		if (r != PERC_R_OK)
			return fail("next key set-up for %s: %s", ep->id, perc_reason_name((unsigned)r));
	}
	return 0;
}

static int
make_world(struct gen *g)
{
	const struct gen_opts *o = &g->o;
	const struct perc_profile *layer = perc_profile_layer(o->prof);
	struct pt_world *w = &g->w;
	char err[256];

	w->mdd = o->mdd;
	memcpy(w->mdd_mac, (const uint8_t[6]){ 0x02, 0, 0, 0, 0, 0x01 }, 6);
	w->payload = o->payload;
	w->n_confs = o->confs;
	w->n_eps = o->confs * o->size;
	w->confs = calloc(w->n_confs, sizeof(*w->confs));
	w->eps = calloc(w->n_eps, sizeof(*w->eps));
	g->rx = aligned_alloc(64, w->n_eps * sizeof(*g->rx));
	g->dk = aligned_alloc(64, w->n_eps * sizeof(*g->dk));
	g->rxn = aligned_alloc(64, w->n_eps * sizeof(*g->rxn));
	g->dkn = aligned_alloc(64, w->n_eps * sizeof(*g->dkn));
	g->rtcp_index = calloc(w->n_eps, sizeof(*g->rtcp_index));
	g->ts0 = calloc(2 * (size_t)w->n_eps, sizeof(*g->ts0));
	if (!w->confs || !w->eps || !g->rx || !g->dk || !g->rxn || !g->dkn || !g->rtcp_index ||
	    !g->ts0)
		return fail("out of memory");
	memset(g->rx, 0, w->n_eps * sizeof(*g->rx));
	memset(g->dk, 0, w->n_eps * sizeof(*g->dk));
	memset(g->rxn, 0, w->n_eps * sizeof(*g->rxn));
	memset(g->dkn, 0, w->n_eps * sizeof(*g->dkn));
	for (unsigned c = 0; c < w->n_confs; c++) {
		struct pt_conf *cf = &w->confs[c];

		snprintf(cf->id, sizeof(cf->id), "c%u", c + 1);
		cf->first_ep = c * o->size;
		cf->n_eps = o->size;
		if (o->prof->is_double) {
			cf->ekt_key_len = layer->key_len;
			pt_rng_bytes(&g->rng, cf->ekt_key, cf->ekt_key_len);
			cf->ekt_spi = (uint16_t)(0x100 + c);
			pt_rng_bytes(&g->rng, cf->e2e_salt, sizeof(cf->e2e_salt));
		}
	}
	for (unsigned i = 0; i < w->n_eps; i++) {
		struct pt_endpoint *ep = &w->eps[i];
		uint8_t mk[64], ms[28];
		int r;

		ep->conf = i / o->size;
		ep->pos = i % o->size;
		snprintf(ep->id, sizeof(ep->id), "c%u-ep%u", ep->conf + 1, ep->pos + 1);
		ep_addr(o, i, &ep->addr);
		memcpy(ep->mac, (const uint8_t[6]){ 0x02, 0xe0, 0, 0, 0, 0 }, 6);
		pt_put32(ep->mac + 2, i + 1);
		ep->have_mac = true;
		ep->prof = o->prof;
		ep->layer = layer;
		pt_rng_bytes(&g->rng, ep->rx_key, layer->key_len);
		pt_rng_bytes(&g->rng, ep->rx_salt, layer->salt_len);
		pt_rng_bytes(&g->rng, ep->tx_key, layer->key_len);
		pt_rng_bytes(&g->rng, ep->tx_salt, layer->salt_len);
		ep->n_ssrcs = ep->pos % 2 == 1 ? 2 : 1;
		for (unsigned k = 0; k < ep->n_ssrcs; k++) {
			ep->ssrcs[k] = new_ssrc(g);
			g->ts0[2 * i + k] = (uint32_t)pt_rng_next(&g->rng);
		}
		ep->max_streams = ep->n_ssrcs;
		ep->ekt = o->prof->is_double;
		set_rewrite(o, ep);
		r = perc_key_init(&g->rx[i], g->e, layer, ep->rx_key, ep->rx_salt);
		if (r == PERC_R_OK && o->prof->is_double) {
			pt_rng_bytes(&g->rng, ep->e2e_key, layer->key_len);
			memcpy(ep->e2e_salt, w->confs[ep->conf].e2e_salt, 12);
			memcpy(mk, ep->e2e_key, layer->key_len);
			memcpy(mk + layer->key_len, ep->rx_key, layer->key_len);
			memcpy(ms, ep->e2e_salt, 12);
			memcpy(ms + 12, ep->rx_salt, 12);
			r = perc_double_key_init(&g->dk[i], g->e, o->prof, mk, ms);
		}
		if (r != PERC_R_OK)
			return fail("key set-up for %s: %s", ep->id, perc_reason_name((unsigned)r));
	}
	if (o->rekey && make_next_keys(g) != 0)
		return -1;
	if (pt_world_index(w, err, sizeof(err)) != 0)
		return fail("%s", err);
	return 0;
}

/* ---- packets ---- */

/*
 * One RTP packet as UDP payload into out: header (the second SSRC of an
 * endpoint carries a one-byte header extension), the payload of (ssrc,
 * seq), protected; double profiles end with an EKT field (Full or Short).
 * Returns the length or 0 (with a message).
 */
static size_t
build_rtp(struct gen *g, const struct rtp_keys *k, unsigned sidx, uint32_t ssrc, uint16_t seq,
	  uint32_t roc, uint32_t ts, bool marker, size_t plen, bool full_ekt, uint8_t *out,
	  size_t cap, uint8_t *ekt_len)
{
	uint8_t pt = sidx == 0 ? PT_AUDIO : PT_VIDEO;
	size_t h = perc_rtp_write(out, cap, marker, pt, seq, ts, ssrc, NULL, 0);
	uint32_t len;
	int r;

	if (h == 0 || cap < h + 8 + plen + 128)
		{
			fail("packet of %zu bytes does not fit", plen);
			return 0;
		}
	if (sidx > 0) {
		/* RFC 8285 one-byte form: id 1, 3 bytes (an abs-send-time) */
		out[0] |= 0x10;
		memcpy(out + h, (const uint8_t[]){ 0xbe, 0xde, 0x00, 0x01, 0x12 }, 5);
		out[h + 5] = (uint8_t)(seq >> 8);
		out[h + 6] = (uint8_t)seq;
		out[h + 7] = (uint8_t)roc;
		h += 8;
	}
	pt_payload_fill(ssrc, seq, out + h, plen);
	len = (uint32_t)(h + plen);
	*ekt_len = 0;
	if (k->dk != NULL) {
		r = perc_double_protect(g->e, k->dk, NULL, NULL, roc, out, &len, (uint32_t)cap);
		if (r != PERC_R_OK)
			{
				fail("double protect: %s", perc_reason_name((unsigned)r));
				return 0;
			}
		if (full_ekt) {
			struct perc_ekt_plain pl = {
				.key_len = (uint8_t)k->e2e_len, .ssrc = ssrc, .roc = roc,
				.spi = k->cf->ekt_spi, .epoch = 0,
			};
			int n;

			memcpy(pl.key, k->e2e_key, k->e2e_len);
			n = perc_ekt_wrap(k->cf->ekt_key, k->cf->ekt_key_len, &pl, out + len, cap - len);
			memset(&pl, 0, sizeof(pl));
			if (n < 0)
				{
					fail("EKT wrap: %s", perc_reason_name((unsigned)-n));
					return 0;
				}
			*ekt_len = (uint8_t)n;
		} else {
			out[len] = PERC_EKT_SHORT;
			*ekt_len = 1;
		}
		return len + *ekt_len;
	}
	{
		struct perc_op op = {
			.key = k->single, .src = out, .dst = out, .len = len, .cap = (uint32_t)cap,
			.type = PERC_OP_RTP_PROTECT, .flags = PERC_OPF_INDEX,
			.index = (uint64_t)roc << 16 | seq,
		};

		r = perc_engine_run1(g->e, &op);
		if (r != PERC_R_OK)
			{
				fail("protect: %s", perc_reason_name((unsigned)r));
				return 0;
			}
		return op.len;
	}
}

/* Whether endpoint i sends round r with its next key (--rekey). */
static bool
uses_next(const struct gen *g, unsigned i, unsigned r)
{
	return g->w.eps[i].has_rx_next && r >= g->w.eps[i].rekey_round;
}

/* The keys endpoint i sends round r with. */
static void
ep_keys(struct gen *g, unsigned i, unsigned r, struct rtp_keys *k)
{
	const struct pt_endpoint *ep = &g->w.eps[i];
	bool next = uses_next(g, i, r);

	memset(k, 0, sizeof(*k));
	if (ep->prof->is_double) {
		k->dk = next ? &g->dkn[i] : &g->dk[i];
		k->cf = &g->w.confs[ep->conf];
		k->e2e_key = ep->e2e_key;
		k->e2e_len = ep->layer->key_len;
	} else {
		k->single = next ? &g->rxn[i] : &g->rx[i];
	}
}

static int
add_valid(struct gen *g, const struct gframe *f, const uint8_t *payload, size_t plen)
{
	const struct pt_endpoint *ep = &g->w.eps[f->ep];
	uint8_t frame[PT_FRAME_MAX];
	size_t n;

	n = pt_frame_build(frame, sizeof(frame), g->w.mdd_mac, ep->mac, &ep->addr, &g->w.mdd,
			   payload, plen);
	if (n == 0)
		return fail("frame of %zu bytes does not fit", plen);
	if (g->nv == g->capv) {
		size_t cap = g->capv ? 2 * g->capv : 1024;
		struct gframe *nv = realloc(g->v, cap * sizeof(*nv));

		if (nv == NULL)
			return fail("out of memory");
		g->v = nv;
		g->capv = cap;
	}
	g->v[g->nv] = *f;
	g->v[g->nv].data = malloc(n);
	if (g->v[g->nv].data == NULL)
		return fail("out of memory");
	memcpy(g->v[g->nv].data, frame, n);
	g->v[g->nv].len = (uint32_t)n;
	g->nv++;
	return 0;
}

static uint32_t
rtp_ts(const struct gen *g, unsigned i, unsigned sidx, unsigned r)
{
	uint32_t t0 = g->ts0[2 * i + sidx];

	return sidx == 0 ? t0 + 960u * r : t0 + 3000u * (r / 3);
}

static int
send_rtp(struct gen *g, unsigned i, unsigned sidx, unsigned r)
{
	const struct pt_endpoint *ep = &g->w.eps[i];
	uint32_t index = g->o.seq_start + r;
	uint16_t seq = (uint16_t)index;
	uint32_t roc = index >> 16;
	bool marker = sidx == 0 ? r == 0 : r % 3 == 2;
	uint8_t buf[2048];
	struct rtp_keys k;
	struct gframe f = { .ep = i, .kind = G_RTP, .sidx = (uint8_t)sidx, .round = r,
			    .ssrc = ep->ssrcs[sidx], .seq = seq };
	size_t n;

	ep_keys(g, i, r, &k);
	n = build_rtp(g, &k, sidx, f.ssrc, seq, roc, rtp_ts(g, i, sidx, r), marker,
		      pt_payload_len(g->o.payload, sidx, seq), r % 10 == 0, buf, sizeof(buf),
		      &f.ekt_len);
	if (n == 0)
		return -1;
	return add_valid(g, &f, buf, n);
}

/* Protect a plain compound with the endpoint's rx key (of round r) and
 * queue it. */
static int
send_rtcp(struct gen *g, unsigned i, unsigned r, uint8_t *buf, size_t len, size_t cap)
{
	struct perc_rtcp_pkt pk[PERC_RTCP_MAX_PKTS];
	struct gframe f = { .ep = i, .kind = G_RTCP, .round = r, .ssrc = pt_get32(buf + 4) };
	struct perc_op op = {
		.key = uses_next(g, i, r) ? &g->rxn[i] : &g->rx[i], .src = buf, .dst = buf, .len = (uint32_t)len, .cap = (uint32_t)cap,
		.type = PERC_OP_RTCP_PROTECT, .flags = PERC_OPF_INDEX,
		.index = g->rtcp_index[i]++,
	};
	int r2;

	if (perc_rtcp_parse(buf, len, pk, PERC_RTCP_MAX_PKTS) < 0)
		return fail("internal: built an RTCP compound that does not parse");
	r2 = perc_engine_run1(g->e, &op);
	if (r2 != PERC_R_OK)
		return fail("SRTCP protect: %s", perc_reason_name((unsigned)r2));
	return add_valid(g, &f, buf, op.len);
}

static int
send_sr_sdes(struct gen *g, unsigned i, unsigned r)
{
	const struct pt_endpoint *ep = &g->w.eps[i];
	uint8_t buf[512];
	char cname[64];
	size_t n = 0, cl, sl;

	/* SR, no report blocks */
	buf[n++] = 0x80;
	buf[n++] = PERC_RTCP_SR;
	pt_put16(buf + n, 6);
	n += 2;
	pt_put32(buf + n, ep->ssrcs[0]);
	pt_put32(buf + n + 4, 3900000000u + r / 50);              /* NTP seconds */
	pt_put32(buf + n + 8, (uint32_t)((r % 50) * 85899345u));  /* NTP fraction */
	pt_put32(buf + n + 12, rtp_ts(g, i, 0, r));
	pt_put32(buf + n + 16, r + 1);                             /* packets */
	pt_put32(buf + n + 20, (r + 1) * g->o.payload);            /* octets */
	n += 24;
	/* SDES, one chunk with a CNAME */
	cl = (size_t)snprintf(cname, sizeof(cname), "%s@perc.test", ep->id);
	sl = 4 + 2 + cl + 1;
	sl = (sl + 3) & ~(size_t)3;
	buf[n] = 0x81;
	buf[n + 1] = PERC_RTCP_SDES;
	pt_put16(buf + n + 2, (uint16_t)(sl / 4));
	memset(buf + n + 4, 0, sl);
	pt_put32(buf + n + 4, ep->ssrcs[0]);
	buf[n + 8] = 1;  /* CNAME */
	buf[n + 9] = (uint8_t)cl;
	memcpy(buf + n + 10, cname, cl);
	n += 4 + sl;
	return send_rtcp(g, i, r, buf, n, sizeof(buf));
}

/* PLI (psfb 1), NACK (rtpfb 1) or FIR (psfb 4) from endpoint i about media */
static int
send_fb(struct gen *g, unsigned i, unsigned r, int type, uint32_t media, uint16_t pid,
	uint8_t fir_seq)
{
	const struct pt_endpoint *ep = &g->w.eps[i];
	uint8_t buf[128];
	size_t n;

	memset(buf, 0, sizeof(buf));
	pt_put32(buf + 4, ep->ssrcs[0]);
	if (type == 'P') {
		buf[0] = 0x81;
		buf[1] = PERC_RTCP_PSFB;
		pt_put16(buf + 2, 2);
		pt_put32(buf + 8, media);
		n = 12;
	} else if (type == 'N') {
		buf[0] = 0x81;
		buf[1] = PERC_RTCP_RTPFB;
		pt_put16(buf + 2, 3);
		pt_put32(buf + 8, media);
		pt_put16(buf + 12, pid);
		pt_put16(buf + 14, 0x0005);
		n = 16;
	} else {
		buf[0] = 0x84;
		buf[1] = PERC_RTCP_PSFB;
		pt_put16(buf + 2, 4);
		pt_put32(buf + 12, media);
		buf[16] = fir_seq;
		n = 20;
	}
	return send_rtcp(g, i, r, buf, n, sizeof(buf));
}

/* the feedback a conference's members send in round r */
static int
send_feedback(struct gen *g, unsigned i, unsigned r)
{
	const struct pt_endpoint *ep = &g->w.eps[i];
	const struct pt_conf *cf = &g->w.confs[ep->conf];
	const struct pt_endpoint *m0 = &g->w.eps[cf->first_ep], *m1 = m0 + 1;
	const struct pt_endpoint *ml = m0 + cf->n_eps - 1;
	unsigned p = g->o.packets, n = cf->n_eps;
	int rc = 0;

	if (r == p / 4 && ep->pos == 1)
		rc = send_fb(g, i, r, 'P', m0->ssrcs[0], 0, 0);
	if (rc == 0 && r == p / 4 && ep->pos == 0)
		rc = send_fb(g, i, r, 'P', ml->ssrcs[ml->n_ssrcs - 1], 0, 0);
	if (rc == 0 && r == p / 2 && ep->pos == n - 1)
		rc = send_fb(g, i, r, 'N', m0->ssrcs[0],
			     (uint16_t)(g->o.seq_start + (r > 0 ? r - 1 : 0)), 0);
	if (rc == 0 && r == 3 * p / 4 && ep->pos == 0)
		rc = send_fb(g, i, r, 'F', m1->ssrcs[m1->n_ssrcs - 1], 0, (uint8_t)ep->conf);
	return rc;
}

static int
make_valid(struct gen *g)
{
	const struct gen_opts *o = &g->o;

	for (unsigned r = 0; r < o->packets; r++) {
		/* interleave: position by position across the conferences */
		for (unsigned pos = 0; pos < o->size; pos++) {
			for (unsigned c = 0; c < o->confs; c++) {
				unsigned i = c * o->size + pos;
				struct pt_endpoint *ep = &g->w.eps[i];

				/* the SRTCP index goes on across the rekey */
				if (ep->has_rx_next && r == ep->rekey_round)
					ep->rekey_srtcp = g->rtcp_index[i];
				for (unsigned k = 0; k < ep->n_ssrcs; k++)
					if (send_rtp(g, i, k, r) != 0)
						return -1;
				if (o->rtcp && r % 10 == 9 && send_sr_sdes(g, i, r) != 0)
					return -1;
				if (o->rtcp && send_feedback(g, i, r) != 0)
					return -1;
			}
		}
	}
	return 0;
}

/* ---- bad frames ---- */

static struct gbad *
add_bad(struct gen *g, const uint8_t *data, size_t len, long ref, size_t anchor, int where,
	int counter, const char *desc, const char *note)
{
	struct gbad *b;

	if (g->nb == g->capb) {
		size_t cap = g->capb ? 2 * g->capb : 32;
		struct gbad *nb = realloc(g->b, cap * sizeof(*nb));

		if (nb == NULL)
			return NULL;
		g->b = nb;
		g->capb = cap;
	}
	b = &g->b[g->nb];
	memset(b, 0, sizeof(*b));
	b->data = malloc(len ? len : 1);
	if (b->data == NULL)
		return NULL;
	memcpy(b->data, data, len);
	b->len = (uint32_t)len;
	b->ref = ref;
	b->anchor = anchor;
	b->where = (uint8_t)where;
	b->counter = counter;
	snprintf(b->desc, sizeof(b->desc), "%s", desc);
	snprintf(b->note, sizeof(b->note), "%s", note ? note : "");
	g->nb++;
	return b;
}

/* The j-th victim: an RTP frame of the first SSRC of endpoint j mod n, in a
 * round from 1 on whose EKT field is Short (round not a multiple of 10). */
static size_t
victim(const struct gen *g, unsigned j)
{
	unsigned ep = j % g->w.n_eps, span = g->o.packets - 1;
	unsigned r = 1 + (span / 3 + 7 * j) % span;

	if (r % 10 == 0)
		r = r + 1 < g->o.packets ? r + 1 : r - 1;
	for (size_t i = 0; i < g->nv; i++) {
		const struct gframe *f = &g->v[i];

		if (f->ep == ep && f->kind == G_RTP && f->sidx == 0 && f->round == r)
			return i;
	}
	return 0;  /* not reached: every endpoint sends in every round */
}

/* A copy of valid frame vi, changed by the caller, placed before it. */
static uint8_t *
copy_of(const struct gen *g, size_t vi, uint8_t *buf)
{
	memcpy(buf, g->v[vi].data, g->v[vi].len);
	return buf;
}

static size_t
l4_off(const struct gen *g)
{
	return PT_ETH + (g->o.ipv6 ? PT_IP6 : PT_IP4);
}

static void
fix(const struct gen *g, uint8_t *f, size_t udp_bytes)
{
	pt_frame_fix_csums(f, g->o.ipv6 ? AF_INET6 : AF_INET, PT_ETH, l4_off(g), udp_bytes);
}

static int
bad_l2_l4(struct gen *g, unsigned *j)
{
	const bool v6 = g->o.ipv6;
	const size_t l3 = PT_ETH, l4 = l4_off(g);
	uint8_t f[PT_FRAME_MAX];
	size_t vi, len, ul;

	vi = victim(g, (*j)++);
	if (!add_bad(g, copy_of(g, vi, f), 10, (long)vi, vi, W_BEFORE, PT_C_ETH_TRUNCATED,
		     "cut to 10 bytes, shorter than an Ethernet header", NULL))
		return -1;

	vi = victim(g, (*j)++);
	len = l3 + (v6 ? 30 : 12);
	if (!add_bad(g, copy_of(g, vi, f), len, (long)vi, vi, W_BEFORE, PT_C_IP_TRUNCATED,
		     v6 ? "cut to 44 bytes: 30 of the 40-byte IPv6 header"
			: "cut to 26 bytes: 12 of the 20-byte IPv4 header", NULL))
		return -1;

	vi = victim(g, (*j)++);
	copy_of(g, vi, f);
	len = g->v[vi].len;
	ul = len - l4;
	if (v6)
		pt_put16(f + l3 + 4, (uint16_t)(pt_get16(f + l3 + 4) + 100));
	else
		pt_put16(f + l3 + 2, (uint16_t)(pt_get16(f + l3 + 2) + 100));
	fix(g, f, ul);
	if (!add_bad(g, f, len, (long)vi, vi, W_BEFORE, PT_C_IP_BAD_LEN,
		     v6 ? "IPv6 payload length 100 bytes beyond the frame"
			: "IPv4 total length 100 bytes beyond the frame",
		     "a parser that does not compare the IP length with the frame would see udp_bad_len instead"))
		return -1;

	vi = victim(g, (*j)++);
	copy_of(g, vi, f);
	len = g->v[vi].len;
	ul = len - l4;
	if (!v6) {
		pt_put16(f + l3 + 6, 0x2000);  /* MF, offset 0, DF cleared */
		fix(g, f, ul);
		if (!add_bad(g, f, len, (long)vi, vi, W_BEFORE, PT_C_IP_FRAGMENT,
			     "IPv4 first fragment (MF set, offset 0) holding a whole datagram", NULL))
			return -1;
	} else {
		uint8_t h[8] = { 17, 0, 0x00, 0x01, 0, 0, 0x12, 0x34 };  /* offset 0, M */

		memmove(f + l4 + 8, f + l4, len - l4);
		memcpy(f + l4, h, 8);
		f[l3 + 6] = 44;
		pt_put16(f + l3 + 4, (uint16_t)(pt_get16(f + l3 + 4) + 8));
		len += 8;
		if (!add_bad(g, f, len, (long)vi, vi, W_BEFORE, PT_C_IP_FRAGMENT,
			     "IPv6 fragment header (offset 0, M set) before the UDP header", NULL))
			return -1;
	}

	vi = victim(g, (*j)++);
	copy_of(g, vi, f);
	len = g->v[vi].len;
	ul = len - l4;
	pt_put16(f + l4 + 4, (uint16_t)(ul + 4));
	fix(g, f, ul);
	if (!add_bad(g, f, len, (long)vi, vi, W_BEFORE, PT_C_UDP_BAD_LEN,
		     "UDP length field 4 bytes longer than the IP payload", NULL))
		return -1;

	vi = victim(g, (*j)++);
	copy_of(g, vi, f);
	len = g->v[vi].len;
	ul = len - l4;
	pt_put16(f + l4 + 2, (uint16_t)(g->w.mdd.port == 65535 ? 65534 : g->w.mdd.port + 1));
	fix(g, f, ul);
	if (!add_bad(g, f, len, (long)vi, vi, W_BEFORE, PT_C_NOT_OURS,
		     "sent to another UDP port of the MDD's address",
		     "a forwarder that hands such frames to the control plane may count them there instead"))
		return -1;
	return 0;
}

static int
bad_rtp(struct gen *g, unsigned *j)
{
	const size_t l4 = l4_off(g), po = l4 + PT_UDP;
	const struct pt_endpoint *ep;
	uint8_t f[PT_FRAME_MAX], p[64];
	size_t vi, len, ul, n;

	vi = victim(g, (*j)++);
	copy_of(g, vi, f);
	len = g->v[vi].len;
	ul = len - l4;
	f[po] = (uint8_t)((f[po] & 0x3f) | 0xc0);
	fix(g, f, ul);
	if (!add_bad(g, f, len, (long)vi, vi, W_BEFORE, PT_C_RTP_BAD_VERSION,
		     "RTP version 3 (first byte 0xc0)",
		     "0xc0 is outside RFC 7983's RTP/RTCP range 128..191: a forwarder that demultiplexes first may count it as not media"))
		return -1;

	/* 12-byte header, 2 bytes (and a Short EKT field): shorter than the
	 * header and the shortest tag (4 bytes, AES-CM HMAC-SHA1-32) */
	vi = victim(g, (*j)++);
	ep = &g->w.eps[g->v[vi].ep];
	memcpy(p, g->v[vi].data + po, 14);
	n = 14;
	if (ep->ekt)
		p[n++] = PERC_EKT_SHORT;
	len = pt_frame_build(f, sizeof(f), g->w.mdd_mac, ep->mac, &ep->addr, &g->w.mdd, p, n);
	if (!add_bad(g, f, len, (long)vi, vi, W_BEFORE, PT_C_RTP_MALFORMED,
		     ep->ekt ? "RTP header and 2 bytes, then a Short EKT field: shorter than header + tag"
			     : "RTP header and 2 bytes: shorter than header + tag", NULL))
		return -1;

	vi = victim(g, (*j)++);
	copy_of(g, vi, f);
	len = g->v[vi].len;
	ul = len - l4;
	f[len - g->v[vi].ekt_len - 1] ^= 0x01;  /* last byte of the outer tag */
	fix(g, f, ul);
	if (!add_bad(g, f, len, (long)vi, vi, W_BEFORE, PT_C_SRTP_AUTH,
		     "one bit of the outer tag flipped", NULL))
		return -1;

	vi = victim(g, (*j)++);
	n = vi + 3 < g->nv ? vi + 3 : g->nv - 1;
	if (!add_bad(g, g->v[vi].data, g->v[vi].len, (long)vi, n, W_AFTER, PT_C_SRTP_REPLAY,
		     "a replay", NULL))
		return -1;

	if (g->o.prof->is_double) {
		vi = victim(g, (*j)++);
		copy_of(g, vi, f);
		len = g->v[vi].len;
		f[len - 1] = 0x05;
		fix(g, f, ul = len - l4);
		if (!add_bad(g, f, len, (long)vi, vi, W_BEFORE, PT_C_EKT_INVALID,
			     "EKT type byte 0x05 (unknown) instead of the Short field 0x00", NULL))
			return -1;
	}
	return 0;
}

/* frames that are not copies: a stranger, new SSRCs, an oversized packet */
static int
bad_fresh(struct gen *g, unsigned *j)
{
	const struct perc_profile *layer = perc_profile_layer(g->o.prof);
	uint8_t f[PT_FRAME_MAX], p[2048], mk[64], ms[28];
	struct perc_double_key *dk = NULL;
	struct perc_key *sk = NULL;
	struct pt_endpoint *ep;
	struct pt_addr a;
	struct rtp_keys k;
	size_t vi, n, len;
	uint8_t ekt_len;
	char desc[200], astr[80];
	int r;

	/* unknown endpoint: same profile, keys nobody provisioned */
	memset(&k, 0, sizeof(k));
	pt_rng_bytes(&g->rng, mk, sizeof(mk));
	pt_rng_bytes(&g->rng, ms, sizeof(ms));
	if (g->o.prof->is_double) {
		dk = aligned_alloc(64, sizeof(*dk));
		r = dk ? perc_double_key_init(dk, g->e, g->o.prof, mk, ms) : PERC_R_ENGINE;
		k.dk = dk;
		k.cf = &g->w.confs[0];
		k.e2e_key = mk;
		k.e2e_len = layer->key_len;
	} else {
		sk = aligned_alloc(64, sizeof(*sk));
		r = sk ? perc_key_init(sk, g->e, layer, mk, ms) : PERC_R_ENGINE;
		k.single = sk;
	}
	if (r != PERC_R_OK)
		return fail("key set-up for the unknown endpoint: %s", perc_reason_name((unsigned)r));
	n = build_rtp(g, &k, 0, new_ssrc(g), 1000, 0, 12345, false, g->o.payload, false, p,
		      sizeof(p), &ekt_len);
	if (dk) {
		perc_double_key_clear(dk);
		free(dk);
	} else {
		perc_key_clear(sk);
		free(sk);
	}
	if (n == 0)
		return -1;
	if (g->o.ipv6)
		pt_parse_ip("2001:db8:ffff::250", &a);
	else
		pt_parse_ip("198.19.255.250", &a);
	a.port = 40999;
	len = pt_frame_build(f, sizeof(f), g->w.mdd_mac, (const uint8_t[6]){ 0x02, 0xee, 0xee, 0xee, 0xee, 0xee },
			     &a, &g->w.mdd, p, n);
	vi = victim(g, (*j)++);
	snprintf(desc, sizeof(desc), "valid-looking RTP from %s, which is not provisioned",
		 pt_fmt_addr_port(&a, astr, sizeof(astr)));
	if (!add_bad(g, f, len, -1, vi, W_BEFORE, PT_C_UNKNOWN_ENDPOINT, desc, NULL))
		return -1;

	/* new SSRCs beyond the endpoint's bound (max_streams = its listed SSRCs) */
	vi = victim(g, (*j)++);
	ep = &g->w.eps[g->v[vi].ep];
	ep_keys(g, g->v[vi].ep, g->v[vi].round, &k);
	for (unsigned s = 0; s < N_STREAM_LIMIT; s++) {
		uint32_t ssrc = new_ssrc(g);
		uint16_t seq = (uint16_t)pt_rng_next(&g->rng);

		n = build_rtp(g, &k, 0, ssrc, seq, 0, 777u * s, s == 0, g->o.payload, true, p,
			      sizeof(p), &ekt_len);
		if (n == 0)
			return -1;
		len = pt_frame_build(f, sizeof(f), g->w.mdd_mac, ep->mac, &ep->addr, &g->w.mdd, p, n);
		snprintf(desc, sizeof(desc),
			 "RTP from %s on ssrc %u, which it does not list (new stream %u of %u, max_streams %u)",
			 ep->id, ssrc, s + 1, N_STREAM_LIMIT, ep->max_streams);
		if (!add_bad(g, f, len, -1, vi, W_BEFORE, PT_C_STREAM_LIMIT, desc,
			     "provision.json sets max_streams to the number of listed ssrcs, so every unlisted SSRC is beyond the bound; the packet authenticates"))
			return -1;
	}

	/* oversized: the first SSRC of the first endpoint, one packet past the
	 * last, at the end of the capture */
	ep = &g->w.eps[0];
	ep_keys(g, 0, g->o.packets, &k);
	{
		uint32_t index = g->o.seq_start + g->o.packets;
		size_t over = ep->prof->is_double ? 16 + 1 + layer->rtp_tag_len + 1 : layer->rtp_tag_len;

		n = build_rtp(g, &k, 0, ep->ssrcs[0], (uint16_t)index, index >> 16, 0, false,
			      OVERSIZED_PAYLOAD - PERC_RTP_FIXED - over, false, p, sizeof(p), &ekt_len);
		if (n != OVERSIZED_PAYLOAD)
			return fail("internal: oversized packet is %zu bytes", n);
		len = pt_frame_build(f, sizeof(f), g->w.mdd_mac, ep->mac, &ep->addr, &g->w.mdd, p, n);
		snprintf(desc, sizeof(desc),
			 "valid RTP from %s (ssrc %u seq %u, one past its last packet) with %u bytes of UDP payload, more than the %u the MDD forwards",
			 ep->id, ep->ssrcs[0], (uint16_t)index, OVERSIZED_PAYLOAD, PT_MTU_PAYLOAD);
		if (!add_bad(g, f, len, -1, g->nv - 1, W_END, PT_C_OVERSIZED, desc,
			     "the frame is 1642 bytes (IPv4) or 1662 (IPv6): it fits a 2048-byte mbuf, so the drop must come from the size check"))
			return -1;
	}
	return 0;
}

static int
make_bad(struct gen *g)
{
	unsigned j = 0;

	if (bad_l2_l4(g, &j) || bad_rtp(g, &j) || bad_fresh(g, &j))
		return fail("could not build the bad frames");
	return 0;
}

/* ---- output ---- */

static json_t *
jhex(const uint8_t *b, size_t n)
{
	char s[2 * 64 + 1];

	perc_hex_encode(b, n, s);
	return json_string(s);
}

static json_t *
jssrcs(const struct pt_endpoint *ep)
{
	json_t *a = json_array();

	for (unsigned k = 0; k < ep->n_ssrcs; k++)
		json_array_append_new(a, json_integer(ep->ssrcs[k]));
	return a;
}

/* the endpoint's rewrite policy, with provision.json's keys */
static void
jrewrite(json_t *o, const struct pt_endpoint *ep)
{
	const struct pt_rewrite *rw = &ep->rw;
	json_t *m = json_object();
	char k[8];

	for (unsigned i = 0; i < PT_PT_COUNT; i++)
		if (rw->listed[i]) {
			snprintf(k, sizeof(k), "%u", i);
			json_object_set_new(m, k, json_integer(rw->pt_map[i]));
		}
	if (json_object_size(m) > 0)
		json_object_set_new(o, "pt_map", m);
	else
		json_decref(m);
	if (rw->seq_offset != 0)
		json_object_set_new(o, "seq_offset", json_integer(rw->seq_offset));
	if (rw->marker >= 0)
		json_object_set_new(o, "marker", json_string(pt_marker_name(rw->marker)));
}

static int
write_json(json_t *root, const char *dir, const char *name)
{
	char path[4096];
	int r;

	pt_path(path, sizeof(path), dir, name);
	r = json_dump_file(root, path, JSON_INDENT(1));
	json_decref(root);
	if (r != 0)
		return fail("cannot write %s: %s", path, strerror(errno));
	return 0;
}

static int
write_provision(const struct gen *g)
{
	const struct pt_world *w = &g->w;
	json_t *root = json_object(), *confs = json_array();
	char buf[80];

	for (unsigned c = 0; c < w->n_confs; c++) {
		const struct pt_conf *cf = &w->confs[c];
		json_t *eps = json_array();

		for (unsigned i = cf->first_ep; i < cf->first_ep + cf->n_eps; i++) {
			const struct pt_endpoint *ep = &w->eps[i];
			size_t kl = ep->layer->key_len, sl = ep->layer->salt_len;
			json_t *o = json_object();

			json_object_set_new(o, "id", json_string(ep->id));
			json_object_set_new(o, "addr", json_string(pt_fmt_addr_port(&ep->addr, buf, sizeof(buf))));
			json_object_set_new(o, "profile", json_string(ep->prof->name));
			json_object_set_new(o, "rx_key", jhex(ep->rx_key, kl));
			json_object_set_new(o, "rx_salt", jhex(ep->rx_salt, sl));
			json_object_set_new(o, "tx_key", jhex(ep->tx_key, kl));
			json_object_set_new(o, "tx_salt", jhex(ep->tx_salt, sl));
			if (ep->has_rx_next) {
				json_object_set_new(o, "rx_key_next", jhex(ep->rx_key_next, kl));
				json_object_set_new(o, "rx_salt_next", jhex(ep->rx_salt_next, sl));
			}
			json_object_set_new(o, "ssrcs", jssrcs(ep));
			json_object_set_new(o, "max_streams", json_integer(ep->max_streams));
			json_object_set_new(o, "ekt", json_boolean(ep->ekt));
			jrewrite(o, ep);
			json_array_append_new(eps, o);
		}
		json_array_append_new(confs, json_pack("{s:s, s:o}", "id", cf->id, "endpoints", eps));
	}
	json_object_set_new(root, "conferences", confs);
	return write_json(root, g->o.dir, "provision.json");
}

static const char *const rules[] = {
	"RTP: every valid packet goes to every other endpoint of its conference, once, never back to its sender",
	"RTCP: a compound holding feedback that names a media SSRC (RTPFB 1 NACK, PSFB 1 PLI, PSFB 4 FIR) goes only to the endpoint that sends that SSRC; any other compound goes to every other endpoint",
	"MAC latch: the MDD learns a receiver's Ethernet address from the receiver's own valid frames, so a packet is owed to a receiver only when the receiver sent a valid frame earlier in in.pcap; earlier deliveries are allowed, not required",
	"every frame of in.pcap not listed under \"bad\" is valid",
	"E2E keys: each endpoint has its own inner master key (what its Full EKT fields carry); the inner master salt is per conference (what the EKTKey message carries)",
};

static const char rekey_rule[] =
	"rekey: an endpoint with rx_key_next protects its RTP (the outer layer for double profiles) and SRTCP with rx_key "
	"before round rekey_at_round and with rx_key_next from then on, all its SSRCs at once; SEQ, ROC and the SRTCP "
	"index go on (rekey_at_index, rekey_at_srtcp_index: the first with the next key); the E2E key does not change; "
	"a forwarder opens with the current key, else the next one, and the first packet that opens with the next key makes it current";

static const char rewrite_rule[] =
	"rewrite: RTP the MDD sends to an endpoint with pt_map / seq_offset / marker carries PT = pt_map[PT], "
	"SEQ = SEQ + seq_offset mod 2^16, marker cleared (\"clear\") or set (\"set\"); for double profiles the OHB "
	"(RFC 8723 §5.2) then holds the original PT iff the PT changed, the original SEQ iff the SEQ changed, and the "
	"original marker (M, B) iff the marker changed; the receiver-side ROC follows the new SEQ from 0; RTCP is "
	"never rewritten";

static json_t *
secrets_bad(const struct gen *g, const unsigned *vnum, const unsigned *bnum)
{
	json_t *a = json_array();
	char what[600];

	/* in frame order */
	for (size_t k = 1, i = 0; k <= g->nv + g->nb; k++) {
		const struct gbad *b;
		json_t *o;

		for (i = 0; i < g->nb && bnum[i] != k; i++)
			;
		if (i == g->nb)
			continue;
		b = &g->b[i];
		o = json_object();

		if (b->ref >= 0) {
			const struct gframe *f = &g->v[b->ref];

			snprintf(what, sizeof(what), "%s; copy of frame %u (%s ssrc %u seq %u), placed %s",
				 b->desc, vnum[b->ref], g->w.eps[f->ep].id, f->ssrc, f->seq,
				 b->where == W_BEFORE ? "before it" : "after it");
		} else {
			snprintf(what, sizeof(what), "%s", b->desc);
		}
		json_object_set_new(o, "frame", json_integer(bnum[i]));
		json_object_set_new(o, "counter", json_string(pt_counter_name(b->counter)));
		json_object_set_new(o, "what", json_string(what));
		if (b->note[0])
			json_object_set_new(o, "note", json_string(b->note));
		json_array_append_new(a, o);
	}
	return a;
}

static int
write_secrets(const struct gen *g, const unsigned *vnum, const unsigned *bnum)
{
	const struct pt_world *w = &g->w;
	const struct gen_opts *o = &g->o;
	json_t *root = json_object(), *confs = json_array(), *eps = json_array(), *r = json_array();
	char buf[80], mac[32];

	json_object_set_new(root, "format", json_string("perc-pcaptest secrets 1"));
	json_object_set_new(root, "generator", json_pack("{s:I, s:i, s:i, s:i, s:i, s:s, s:b, s:b, s:b, s:b, s:b, s:i}",
		"seed", (json_int_t)o->seed, "conferences", o->confs, "size", o->size,
		"packets", o->packets, "payload", o->payload, "profile", o->prof->name,
		"ipv6", o->ipv6, "rtcp", o->rtcp, "bad", o->bad, "rekey", o->rekey,
		"rewrite", o->rewrite, "seq_start", o->seq_start));
	json_object_set_new(root, "mdd", json_pack("{s:s, s:s}",
		"addr", pt_fmt_addr_port(&w->mdd, buf, sizeof(buf)),
		"mac", pt_fmt_mac(w->mdd_mac, mac, sizeof(mac))));
	json_object_set_new(root, "payload", json_integer(o->payload));
	json_object_set_new(root, "payload_rule", json_string(
		"length: --payload bytes on an endpoint's first SSRC, --payload + seq % 17 on its second; "
		"bytes: x = ssrc ^ (seq * 0x10001) (32-bit); for each byte x = x * 1103515245 + 12345, byte = x >> 24"));
	for (unsigned c = 0; c < w->n_confs; c++) {
		const struct pt_conf *cf = &w->confs[c];
		json_t *x = json_pack("{s:s}", "id", cf->id);

		if (cf->ekt_key_len) {
			json_object_set_new(x, "ekt_key", jhex(cf->ekt_key, cf->ekt_key_len));
			json_object_set_new(x, "ekt_spi", json_integer(cf->ekt_spi));
			json_object_set_new(x, "e2e_salt", jhex(cf->e2e_salt, 12));
		}
		json_array_append_new(confs, x);
	}
	json_object_set_new(root, "conferences", confs);
	for (unsigned i = 0; i < w->n_eps; i++) {
		const struct pt_endpoint *ep = &w->eps[i];
		size_t kl = ep->layer->key_len, sl = ep->layer->salt_len;
		json_t *x = json_object();

		json_object_set_new(x, "id", json_string(ep->id));
		json_object_set_new(x, "conference", json_string(w->confs[ep->conf].id));
		json_object_set_new(x, "addr", json_string(pt_fmt_addr_port(&ep->addr, buf, sizeof(buf))));
		json_object_set_new(x, "mac", json_string(pt_fmt_mac(ep->mac, buf, sizeof(buf))));
		json_object_set_new(x, "profile", json_string(ep->prof->name));
		json_object_set_new(x, "rx_key", jhex(ep->rx_key, kl));
		json_object_set_new(x, "rx_salt", jhex(ep->rx_salt, sl));
		json_object_set_new(x, "tx_key", jhex(ep->tx_key, kl));
		json_object_set_new(x, "tx_salt", jhex(ep->tx_salt, sl));
		if (ep->has_rx_next) {
			json_object_set_new(x, "rx_key_next", jhex(ep->rx_key_next, kl));
			json_object_set_new(x, "rx_salt_next", jhex(ep->rx_salt_next, sl));
			json_object_set_new(x, "rekey_at_round", json_integer(ep->rekey_round));
			json_object_set_new(x, "rekey_at_index", json_integer((json_int_t)ep->rekey_index));
			json_object_set_new(x, "rekey_at_srtcp_index", json_integer(ep->rekey_srtcp));
		}
		if (ep->prof->is_double) {
			json_object_set_new(x, "e2e_key", jhex(ep->e2e_key, kl));
			json_object_set_new(x, "e2e_salt", jhex(ep->e2e_salt, 12));
		}
		json_object_set_new(x, "ssrcs", jssrcs(ep));
		json_object_set_new(x, "max_streams", json_integer(ep->max_streams));
		json_object_set_new(x, "ekt", json_boolean(ep->ekt));
		jrewrite(x, ep);
		json_array_append_new(eps, x);
	}
	json_object_set_new(root, "endpoints", eps);
	json_object_set_new(root, "bad", secrets_bad(g, vnum, bnum));
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		json_array_append_new(r, json_string(rules[i]));
	if (o->rekey)
		json_array_append_new(r, json_string(rekey_rule));
	if (o->rewrite)
		json_array_append_new(r, json_string(rewrite_rule));
	json_object_set_new(root, "rules", r);
	return write_json(root, o->dir, "secrets.json");
}

/* Merge valid and bad frames into in.pcap; number them (1-based). */
static int
write_pcap(const struct gen *g, unsigned *vnum, unsigned *bnum)
{
	struct pt_pcap c = { 0 };
	char path[4096], err[512];
	int rc = 0;

#define EMIT(d, l) do { \
		struct timeval ts = { TS_BASE_SEC + (time_t)(c.n * TS_STEP_US / 1000000), \
				      (suseconds_t)(c.n * TS_STEP_US % 1000000) }; \
		if (pt_pcap_add(&c, d, l, ts) != 0) { rc = fail("out of memory"); goto out; } \
	} while (0)
	for (size_t vi = 0; vi < g->nv; vi++) {
		for (size_t i = 0; i < g->nb; i++)
			if (g->b[i].anchor == vi && g->b[i].where == W_BEFORE) {
				EMIT(g->b[i].data, g->b[i].len);
				bnum[i] = (unsigned)c.n;
			}
		EMIT(g->v[vi].data, g->v[vi].len);
		vnum[vi] = (unsigned)c.n;
		for (size_t i = 0; i < g->nb; i++)
			if (g->b[i].anchor == vi && g->b[i].where == W_AFTER) {
				EMIT(g->b[i].data, g->b[i].len);
				bnum[i] = (unsigned)c.n;
			}
	}
	for (size_t i = 0; i < g->nb; i++)
		if (g->b[i].where == W_END) {
			EMIT(g->b[i].data, g->b[i].len);
			bnum[i] = (unsigned)c.n;
		}
#undef EMIT
	if (pt_pcap_write(pt_path(path, sizeof(path), g->o.dir, "in.pcap"), &c, err, sizeof(err)) != 0)
		rc = fail("%s", err);
out:
	pt_pcap_free(&c);
	return rc;
}

static void
gen_free(struct gen *g)
{
	for (unsigned i = 0; g->rx && i < g->w.n_eps; i++) {
		perc_key_clear(&g->rx[i]);
		if (g->dk)
			perc_double_key_clear(&g->dk[i]);
		if (g->rxn)
			perc_key_clear(&g->rxn[i]);
		if (g->dkn)
			perc_double_key_clear(&g->dkn[i]);
	}
	free(g->rx);
	free(g->dk);
	free(g->rxn);
	free(g->dkn);
	free(g->rtcp_index);
	free(g->ts0);
	for (size_t i = 0; i < g->nv; i++)
		free(g->v[i].data);
	free(g->v);
	for (size_t i = 0; i < g->nb; i++)
		free(g->b[i].data);
	free(g->b);
	pt_map_free(&g->ssrcs_used);
	pt_world_free(&g->w);
	if (g->e)
		perc_engine_destroy(g->e);
}

int
pt_cmd_gen(int argc, char **argv)
{
	struct gen g;
	unsigned *vnum = NULL, *bnum = NULL;
	int rc;

	memset(&g, 0, sizeof(g));
	rc = parse_opts(argc, argv, &g.o);
	if (rc != 0)
		return rc < 0 ? PT_EX_OK : rc;
	if (mkdir(g.o.dir, 0777) != 0 && errno != EEXIST)
		return fail("cannot create %s: %s", g.o.dir, strerror(errno));
	g.rng.s = g.o.seed;
	g.e = perc_engine_create(PERC_ARCH_AUTO);
	if (g.e == NULL)
		return fail("no crypto engine: %s", strerror(errno));
	rc = PT_EX_FAIL;
	if (make_world(&g) != 0 || make_valid(&g) != 0)
		goto out;
	if (g.o.bad && make_bad(&g) != 0)
		goto out;
	vnum = calloc(g.nv + 1, sizeof(*vnum));
	bnum = calloc(g.nb + 1, sizeof(*bnum));
	if (vnum == NULL || bnum == NULL) {
		fail("out of memory");
		goto out;
	}
	if (write_pcap(&g, vnum, bnum) || write_provision(&g) || write_secrets(&g, vnum, bnum))
		goto out;
	printf("gen: %s: %u conferences x %u endpoints, %s, %zu valid frames, %zu bad frames",
	       g.o.dir, g.o.confs, g.o.size, g.o.prof->name, g.nv, g.nb);
	if (g.o.rekey)
		printf(", rekey at round %u", g.o.rekey_round);
	if (g.o.rewrite) {
		unsigned k = 0;

		for (unsigned i = 0; i < g.w.n_eps; i++)
			k += g.w.eps[i].rw.any;
		printf(", %u receivers with a rewrite", k);
	}
	putchar('\n');
	rc = PT_EX_OK;
out:
	free(vnum);
	free(bnum);
	gen_free(&g);
	return rc;
}
