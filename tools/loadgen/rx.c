/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-loadgen: the validating receiver. Every frame the MDD sends back is
 * opened as an endpoint would: the outer layer with the receiving
 * endpoint's HBH key, the OHB, the EKT field (a Full field is unwrapped
 * with the conference's EKT key and must carry the sender's E2E key), the
 * inner layer with the sender's E2E key; then the stamp sealed in the E2E
 * payload gives the send time and the sender's index, and a window per
 * (sender stream, receiver) counts duplicates and reordering.
 */
#include <stdlib.h>
#include <string.h>

#include "lg.h"
#include "perc/ohb.h"
#include "perc/rtcp.h"
#include "perc/rtp.h"

int
lg_rx_init(struct lg_rx *r, struct lg_world *w, double ns_per_tick)
{
	memset(r, 0, sizeof(*r));
	r->w = w;
	r->ns_per_tick = ns_per_tick;
	r->st = calloc((size_t)w->n_streams * w->o.size, sizeof(*r->st));
	r->rst = calloc((size_t)w->n_eps * w->o.size, sizeof(*r->rst));
	lg_rx_clear_counts(r);
	return r->st == NULL || r->rst == NULL ? -1 : 0;
}

void
lg_rx_free(struct lg_rx *r)
{
	free(r->st);
	free(r->rst);
	r->st = NULL;
	r->rst = NULL;
}

void
lg_rx_clear_counts(struct lg_rx *r)
{
	memset(r->c, 0, sizeof(r->c));
	memset(r->lat, 0, sizeof(r->lat));
	r->lat_sum_ns = 0;
	r->lat_max_ns = 0;
	r->lat_min_ns = UINT64_MAX;
}

/* RFC 3711 §3.3.1 against the highest index seen; ROC 0 first */
static uint64_t
index_guess(const struct lg_rxs *s, uint16_t seq)
{
	uint64_t roc;
	uint16_t top;

	if (!s->seen)
		return seq;
	roc = s->top >> 16;
	top = (uint16_t)s->top;
	if (top < 32768) {
		if ((int)seq - (int)top > 32768 && roc > 0)
			roc--;
	} else if ((int)top - 32768 > (int)seq) {
		roc++;
	}
	return roc << 16 | seq;
}

/* Mark index received: 0 new and in order (maybe after a gap), 1 new but
 * behind the highest (reordered), 2 duplicate, 3 too old to tell. */
static int
window_mark(struct lg_rxs *s, uint64_t idx)
{
	uint64_t bit = 1ull << (idx & 63);
	unsigned word = (unsigned)(idx / 64) % (LG_WIN / 64);

	if (!s->seen || idx > s->top) {
		uint64_t from = s->seen ? s->top + 1 : idx;

		if (idx - from >= LG_WIN) {
			memset(s->bits, 0, sizeof(s->bits));
		} else {
			for (uint64_t i = from; i <= idx; i++)
				s->bits[(i / 64) % (LG_WIN / 64)] &= ~(1ull << (i & 63));
		}
		s->bits[word] |= bit;
		s->top = idx;
		s->seen = 1;
		return 0;
	}
	if (s->top - idx >= LG_WIN)
		return 3;
	if (s->bits[word] & bit)
		return 2;
	s->bits[word] |= bit;
	return 1;
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)lg_get32(p) << 32 | lg_get32(p + 4);
}

static int
count(struct lg_rx *r, int c)
{
	r->c[c]++;
	return c;
}

/* Parse Ethernet / IPv4 / UDP to one of the world's endpoints; the
 * endpoint index, or -1. */
static int
l2l4(const struct lg_world *w, const uint8_t *f, uint32_t len, uint32_t *udp_len)
{
	const uint8_t *ip = f + LG_ETH, *udp = ip + LG_IP4;
	uint32_t g, ul;

	if (len < LG_L2L4 || lg_get16(f + 12) != 0x0800 || ip[0] != 0x45 || ip[9] != 17)
		return -1;
	ul = lg_get16(udp + 4);
	if (ul < LG_UDP || lg_get16(ip + 2) != LG_IP4 + ul || LG_ETH + LG_IP4 + ul > len)
		return -1;
	g = lg_get32(ip + 16) - 0xc6120010u;
	if (g >= w->n_eps || lg_get16(udp + 2) != w->eps[g].port ||
	    memcmp(ip + 12, w->o.mdd_ip, 4) != 0)
		return -1;
	*udp_len = ul - LG_UDP;
	return (int)g;
}

static int
check_ekt(struct lg_rx *r, const struct lg_endpoint *sep, uint32_t ssrc, uint64_t index,
	  const uint8_t *field, uint32_t fl)
{
	const struct lg_conf *cf = &r->w->confs[sep->conf];
	struct perc_ekt_plain p;
	int ok;

	if (fl == 1)
		return field[0] == PERC_EKT_SHORT ? -1 : LG_RX_EKT_BAD;
	if (perc_ekt_unwrap(cf->ekt_key, cf->ekt_key_len, field, fl, &p) != PERC_R_OK)
		return LG_RX_EKT_BAD;
	ok = p.key_len == r->w->layer->key_len && memcmp(p.key, sep->e2e_key, p.key_len) == 0 &&
	     p.ssrc == ssrc && p.roc == (uint32_t)(index >> 16) && p.spi == cf->spi;
	memset(p.key, 0, sizeof(p.key));
	r->c[LG_RX_EKT_FULL]++;
	return ok ? -1 : LG_RX_EKT_BAD;
}

/* inner GCM open with the sender's E2E key (RFC 8723 §5.1: the synthetic
 * header is the original fixed header + CSRCs with X cleared) */
static int
open_inner(struct lg_rx *r, const struct lg_endpoint *sep, uint8_t *p, uint32_t h,
	   uint32_t plen, uint64_t index)
{
	const struct perc_key *k = &sep->send.inner;
	uint8_t synth[LG_RTP + 60], iv[12];
	uint32_t slen = LG_RTP + 4u * (p[0] & 0x0fu);
	uint32_t ssrc = lg_get32(p + 8), roc = (uint32_t)(index >> 16);
	uint16_t seq = (uint16_t)index;

	memcpy(synth, p, slen);
	synth[0] &= (uint8_t)~0x10u;
	/* RFC 7714 IV: (0 ‖ SSRC ‖ ROC ‖ SEQ) XOR salt */
	iv[0] = iv[1] = 0;
	lg_put32(iv + 2, ssrc);
	lg_put32(iv + 6, roc);
	lg_put16(iv + 10, seq);
	for (unsigned i = 0; i < 12; i++)
		iv[i] ^= k->rtp_salt[i];
	return perc_engine_gcm(r->w->eng, &k->u.gcm.rtp, k->prof->key_len, false, iv, synth,
			       slen, p + h, p + h, plen, p + h + plen);
}

static int
judge_payload(struct lg_rx *r, struct lg_rxs *st, const uint8_t *pl, uint32_t plen,
	      uint64_t index, uint64_t now)
{
	uint32_t ph;
	uint64_t ns;
	int m;

	if (plen < LG_STAMP || lg_get32(pl) != LG_MAGIC || get64(pl + 16) != index)
		return count(r, LG_RX_PAYLOAD_BAD);
	ph = lg_get32(pl + 4);
	if (ph != LG_PH_PRIME && ph != LG_PH_MEASURE)
		return count(r, LG_RX_PAYLOAD_BAD);
	m = window_mark(st, index);
	if (m == 2)
		return count(r, LG_RX_DUP);
	if (m == 1)
		r->c[LG_RX_REORDER]++;
	if (m == 3)
		return count(r, LG_RX_TOO_OLD);
	if (ph == LG_PH_PRIME)
		return count(r, LG_RX_PRIMING);
	ns = (uint64_t)((double)(now - get64(pl + 8)) * r->ns_per_tick);
	r->lat[ns / 1000 < LG_LAT_BUCKETS ? ns / 1000 : LG_LAT_BUCKETS - 1]++;
	r->lat_sum_ns += ns;
	if (ns < r->lat_min_ns)
		r->lat_min_ns = ns;
	if (ns > r->lat_max_ns)
		r->lat_max_ns = ns;
	return count(r, LG_RX_OK);
}

/* An SRTCP frame (RFC 8723: hop by hop only): open it with the receiving
 * endpoint's HBH key, check the SRTCP index against a window per (sender,
 * receiver), parse the compound and check it reached whom perc-mdd routes
 * it to. Not counted in frames. */
static int
rx_rtcp(struct lg_rx *r, const struct lg_endpoint *rep, uint8_t *p, uint32_t n)
{
	struct lg_world *w = r->w;
	struct perc_rtcp_pkt pk[PERC_RTCP_MAX_PKTS];
	const struct lg_endpoint *sep;
	uint32_t idx = lg_index_of_ssrc(lg_get32(p + 4));
	int np, t, m;
	struct perc_op op = {
		.key = &rep->recv, .src = p, .dst = p, .len = n, .cap = n,
		.type = PERC_OP_RTCP_UNPROTECT, .flags = PERC_OPF_INDEX,
	};

	if (idx >= w->n_streams)
		return count(r, LG_RX_RTCP_MISROUTED);
	sep = &w->eps[w->streams[idx].ep];
	if (sep->conf != rep->conf || sep == rep ||
	    idx != sep->first_stream)
		return count(r, LG_RX_RTCP_MISROUTED);
	/* the index comes from the packet; the window below is ours */
	if (perc_engine_run1(w->eng, &op) != PERC_R_OK || !op.encrypted)
		return count(r, LG_RX_RTCP_FAIL);
	np = perc_rtcp_parse(p, op.len, pk, PERC_RTCP_MAX_PKTS);
	if (np < 2 || pk[0].pt != PERC_RTCP_SR || pk[1].pt != PERC_RTCP_SDES)
		return count(r, LG_RX_RTCP_FAIL);
	m = window_mark(&r->rst[(size_t)(sep - w->eps) * w->o.size + rep->pos], op.index);
	if (m >= 2)
		return count(r, LG_RX_RTCP_REPLAY);
	t = lg_rtcp_target(w, p, op.len);
	if (t >= 0) {
		if (&w->eps[t] != rep)
			return count(r, LG_RX_RTCP_MISROUTED);
		r->c[LG_RX_RTCP_FB]++;
	}
	return count(r, LG_RX_RTCP);
}

int
lg_rx_frame(struct lg_rx *r, uint8_t *f, uint32_t len, uint64_t now)
{
	struct lg_world *w = r->w;
	const struct lg_endpoint *rep, *sep;
	struct perc_ohb o;
	struct lg_rxs *st;
	uint32_t n, body, idx, h, plen;
	uint64_t index;
	uint8_t *p;
	int g, fl, c;

	g = l2l4(w, f, len, &n);
	/* RFC 5761: RTCP packet types 192..223 where RTP has M and PT */
	if (g >= 0 && n >= 8 && (f[LG_L2L4] & 0xc0) == 0x80 && f[LG_L2L4 + 1] >= 192 &&
	    f[LG_L2L4 + 1] <= 223)
		return rx_rtcp(r, &w->eps[g], f + LG_L2L4, n);
	r->c[LG_RX_FRAMES]++;
	if (g < 0 || n < LG_RTP + 1 || (f[LG_L2L4] & 0xc0) != 0x80)
		return count(r, LG_RX_NOT_OURS);
	rep = &w->eps[g];
	p = f + LG_L2L4;
	idx = lg_index_of_ssrc(lg_get32(p + 8));
	if (idx >= w->n_streams)
		return count(r, LG_RX_UNKNOWN_SSRC);
	sep = &w->eps[w->streams[idx].ep];
	if (sep->conf != rep->conf || sep == rep)
		return count(r, LG_RX_WRONG_RECEIVER);
	fl = perc_ekt_field_len(p, n);
	if (fl < 0 || (uint32_t)fl >= n)
		return count(r, LG_RX_EKT_BAD);
	body = n - (uint32_t)fl;
	st = &r->st[(size_t)idx * w->o.size + rep->pos];
	index = index_guess(st, lg_get16(p + 2));
	{
		struct perc_op op = {
			.key = &rep->recv, .stream = NULL, .src = p, .dst = p, .len = body,
			.cap = body, .type = PERC_OP_RTP_UNPROTECT, .flags = PERC_OPF_INDEX,
			.index = index,
		};

		if (perc_engine_run1(w->eng, &op) != PERC_R_OK)
			return count(r, LG_RX_OUTER_FAIL);
		body = op.len;
		h = op.hdr_len;
	}
	c = check_ekt(r, sep, lg_get32(p + 8), index, p + n - fl, (uint32_t)fl);
	if (c >= 0)
		return count(r, c);
	if (perc_ohb_parse(p + h, body - h, &o) != PERC_R_OK || o.config != 0 ||
	    body - h < o.len + 16u)
		/* no rewrite is provisioned: the OHB must be the empty one */
		return count(r, LG_RX_OHB_BAD);
	plen = body - h - o.len - 16u;
	if (open_inner(r, sep, p, h, plen, index) != PERC_R_OK)
		return count(r, LG_RX_INNER_FAIL);
	return judge_payload(r, st, p + h, plen, index, now);
}

double
lg_rx_lat_pct(const struct lg_rx *r, double pct)
{
	uint64_t total = 0, want, acc = 0;

	for (unsigned i = 0; i < LG_LAT_BUCKETS; i++)
		total += r->lat[i];
	if (total == 0)
		return 0;
	want = (uint64_t)((double)total * pct / 100.0);
	if (want == 0)
		want = 1;
	for (unsigned i = 0; i < LG_LAT_BUCKETS; i++) {
		acc += r->lat[i];
		if (acc >= want)
			return (i + 0.5) * 1000.0;
	}
	return (double)r->lat_max_ns;
}
