/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-loadgen: one fresh frame per call. Every packet is sealed when it
 * is sent (inner GCM under the sender's E2E key, OHB, outer GCM under its
 * HBH key, EKT field), with the stream's next SEQ and timestamp, so no
 * two frames on the wire are alike and the MDD's replay check never
 * fires. Also the reference hop the unit test and --loopback use.
 */
#include <stdio.h>
#include <string.h>

#include "lg.h"
#include "perc/rtcp.h"
#include "perc/rtp.h"

static uint16_t
ip_csum(const uint8_t *h)
{
	uint32_t sum = 0;

	for (unsigned i = 0; i < LG_IP4; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Ethernet II, IPv4 (TTL 64, DF, header checksum), UDP (checksum 0, which
 * IPv4 allows) around udp_len bytes already at frame + LG_L2L4 */
static void
write_l2l4(uint8_t *f, const uint8_t *dst_mac, const uint8_t *src_mac, const uint8_t *src_ip,
	   const uint8_t *dst_ip, uint16_t sport, uint16_t dport, uint32_t udp_len)
{
	uint8_t *ip = f + LG_ETH, *udp = ip + LG_IP4;

	memcpy(f, dst_mac, 6);
	memcpy(f + 6, src_mac, 6);
	lg_put16(f + 12, 0x0800);
	ip[0] = 0x45;
	ip[1] = 0;
	lg_put16(ip + 2, (uint16_t)(LG_IP4 + LG_UDP + udp_len));
	lg_put16(ip + 4, 0);
	lg_put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = 17;
	lg_put16(ip + 10, 0);
	memcpy(ip + 12, src_ip, 4);
	memcpy(ip + 16, dst_ip, 4);
	lg_put16(ip + 10, ip_csum(ip));
	lg_put16(udp, sport);
	lg_put16(udp + 2, dport);
	lg_put16(udp + 4, (uint16_t)(LG_UDP + udp_len));
	lg_put16(udp + 6, 0);
}

static void
put64(uint8_t *p, uint64_t v)
{
	lg_put32(p, (uint32_t)(v >> 32));
	lg_put32(p + 4, (uint32_t)v);
}

uint32_t
lg_build(struct lg_world *w, struct lg_stream *s, enum lg_phase ph, uint64_t stamp,
	 uint8_t *frame, uint32_t cap)
{
	struct lg_endpoint *ep = &w->eps[s->ep];
	const struct lg_conf *cf = &w->confs[ep->conf];
	uint8_t *rtp = frame + LG_L2L4, *pl = rtp + LG_RTP;
	uint32_t room, len = LG_RTP + s->payload;
	uint32_t roc = (uint32_t)(s->index >> 16);
	uint16_t seq = (uint16_t)s->index;
	bool marker;
	int r;

	if (cap < LG_L2L4 + len + 16 + 1 + 16 + PERC_EKT_FIELD_MAX)
		return 0;
	room = cap - LG_L2L4;
	/* marker: the first audio packet (talk spurt), every third video
	 * packet (the last of a frame) */
	marker = s->video ? s->sent % 3 == 2 : s->sent == 0;
	rtp[0] = 0x80;
	rtp[1] = (uint8_t)((marker ? 0x80 : 0) | s->pt);
	lg_put16(rtp + 2, seq);
	lg_put32(rtp + 4, s->ts);
	lg_put32(rtp + 8, s->ssrc);
	lg_put32(pl, LG_MAGIC);
	lg_put32(pl + 4, ph);
	put64(pl + 8, stamp);
	put64(pl + 16, s->index);
	memset(pl + LG_STAMP, (uint8_t)s->ssrc, s->payload - LG_STAMP);
	r = perc_double_protect(w->eng, &ep->send, NULL, NULL, roc, rtp, &len, room);
	if (r != PERC_R_OK)
		return 0;
	if (s->sent == 0 || (w->o.ekt_full_every > 0 && s->sent % w->o.ekt_full_every == 0)) {
		/* a Full field carries the E2E key to receivers that join late */
		struct perc_ekt_plain p = {
			.key_len = w->layer->key_len, .ssrc = s->ssrc, .roc = roc,
			.spi = cf->spi, .epoch = 0,
		};
		int n;

		memcpy(p.key, ep->e2e_key, p.key_len);
		n = perc_ekt_wrap(cf->ekt_key, cf->ekt_key_len, &p, rtp + len, room - len);
		memset(p.key, 0, sizeof(p.key));
		if (n < 0)
			return 0;
		len += (uint32_t)n;
	} else {
		rtp[len++] = PERC_EKT_SHORT;
	}
	write_l2l4(frame, w->o.mdd_mac, ep->mac, ep->ip, w->o.mdd_ip, ep->port, w->o.mdd_port,
		   len);
	s->index++;
	s->sent++;
	if (!s->video)
		s->ts += 960;
	else if (s->sent % 3 == 0)
		s->ts += 3000;
	return LG_L2L4 + len;
}

uint32_t
lg_ref_hop(struct lg_world *w, const uint8_t *in, uint32_t in_len, unsigned rpos, uint8_t *out,
	   uint32_t cap)
{
	const uint8_t *rtp = in + LG_L2L4;
	uint32_t n, body, olen, idx;
	const struct lg_stream *s;
	const struct lg_endpoint *sep, *rep;
	static const struct perc_hop_change none = {-1, -1, -1};
	uint64_t index;
	uint16_t seq;
	int fl, r;

	if (in_len < LG_L2L4 + LG_RTP + 1 || rpos >= w->o.size || cap < LG_L2L4)
		return 0;
	n = in_len - LG_L2L4;
	fl = perc_ekt_field_len(rtp, n);
	if (fl < 0 || (uint32_t)fl >= n)
		return 0;
	body = n - (uint32_t)fl;
	idx = lg_index_of_ssrc(lg_get32(rtp + 8));
	if (idx >= w->n_streams)
		return 0;
	s = &w->streams[idx];
	sep = &w->eps[s->ep];
	rep = &w->eps[sep->conf * w->o.size + rpos];
	if (rep == sep)
		return 0;
	/* the packet's index: the one nearest below the stream's next */
	seq = lg_get16(rtp + 2);
	index = (s->index & ~0xffffull) | seq;
	if (index >= s->index && index >= 0x10000)
		index -= 0x10000;
	r = perc_hop_relay(w->eng, &sep->send.outer, NULL, (uint32_t)(index >> 16), &rep->recv,
			   NULL, (uint32_t)(index >> 16), &none, rtp, body, out + LG_L2L4,
			   cap - LG_L2L4, &olen);
	if (r != PERC_R_OK || olen + (uint32_t)fl > cap - LG_L2L4)
		return 0;
	memcpy(out + LG_L2L4 + olen, rtp + body, (size_t)fl);
	olen += (uint32_t)fl;
	write_l2l4(out, rep->mac, w->o.mdd_mac, w->o.mdd_ip, rep->ip, w->o.mdd_port, rep->port,
		   olen);
	return LG_L2L4 + olen;
}

/* SR without report blocks + SDES with one CNAME chunk */
static uint32_t
sr_sdes(const struct lg_world *w, const struct lg_endpoint *ep, uint8_t *b)
{
	const struct lg_stream *s = &w->streams[ep->first_stream];
	uint32_t ssrc = s->ssrc, n = 0;
	int cl;

	b[0] = 0x80;
	b[1] = PERC_RTCP_SR;
	lg_put16(b + 2, 6);
	lg_put32(b + 4, ssrc);
	lg_put32(b + 8, 3900000000u + ep->rtcp_n / 2);     /* NTP seconds */
	lg_put32(b + 12, (ep->rtcp_n & 1) ? 0x80000000u : 0); /* NTP fraction */
	lg_put32(b + 16, s->ts);
	lg_put32(b + 20, s->sent);
	lg_put32(b + 24, s->sent * s->payload);
	n = 28;
	/* SDES: header, SSRC, CNAME item, end item, padded to 32 bits */
	memset(b + n, 0, 4 + 4 + 2 + 32 + 4);
	cl = snprintf((char *)b + n + 10, 32, "lg%u@perc.test", (unsigned)(ep - w->eps));
	b[n] = 0x81;
	b[n + 1] = PERC_RTCP_SDES;
	lg_put32(b + n + 4, ssrc);
	b[n + 8] = 1;
	b[n + 9] = (uint8_t)cl;
	{
		uint32_t sl = (4 + 2 + (uint32_t)cl + 1 + 3) & ~3u;

		lg_put16(b + n + 2, (uint16_t)(sl / 4));
		n += 4 + sl;
	}
	return n;
}

uint32_t
lg_build_rtcp(struct lg_world *w, unsigned e, bool fb, uint8_t *frame, uint32_t cap,
	      unsigned *copies)
{
	struct lg_endpoint *ep = &w->eps[e];
	uint8_t *b = frame + LG_L2L4;
	uint32_t n;

	if (e >= w->n_eps || cap < LG_L2L4 + 160)
		return 0;
	n = sr_sdes(w, ep, b);
	*copies = w->o.size - 1;
	if (fb && w->o.size > 1 && ep->rtcp_n % 4 == 3) {
		/* feedback about the next member's first SSRC: PLI, or a NACK
		 * of its last packet every other time */
		const struct lg_endpoint *to =
			&w->eps[ep->conf * w->o.size + (ep->pos + 1) % w->o.size];
		const struct lg_stream *ts = &w->streams[to->first_stream];
		bool pli = ep->rtcp_n % 8 == 3;

		b[n] = 0x81;
		b[n + 1] = pli ? PERC_RTCP_PSFB : PERC_RTCP_RTPFB;
		lg_put16(b + n + 2, pli ? 2 : 3);
		lg_put32(b + n + 4, w->streams[ep->first_stream].ssrc);
		lg_put32(b + n + 8, ts->ssrc);
		n += 12;
		if (!pli) {
			lg_put16(b + n, (uint16_t)(ts->index - 1));
			lg_put16(b + n + 2, 0);
			n += 4;
		}
		*copies = 1;
	}
	{
		struct perc_op op = {
			.key = &ep->send.outer, .src = b, .dst = b, .len = n,
			.cap = cap - LG_L2L4, .type = PERC_OP_RTCP_PROTECT,
			.flags = PERC_OPF_INDEX, .index = ep->rtcp_index,
		};

		if (perc_engine_run1(w->eng, &op) != PERC_R_OK)
			return 0;
		n = op.len;
	}
	ep->rtcp_index = (ep->rtcp_index + 1) & 0x7fffffffu;
	ep->rtcp_n++;
	write_l2l4(frame, w->o.mdd_mac, ep->mac, ep->ip, w->o.mdd_ip, ep->port, w->o.mdd_port, n);
	return LG_L2L4 + n;
}

int
lg_rtcp_target(const struct lg_world *w, const uint8_t *rtcp, uint32_t len)
{
	struct perc_rtcp_pkt p[PERC_RTCP_MAX_PKTS];
	int n = perc_rtcp_parse(rtcp, len, p, PERC_RTCP_MAX_PKTS);

	/* perc-mdd: the first RTPFB / PSFB whose media SSRC is a stream of
	 * another member picks the one receiver */
	for (int i = 0; i < n; i++) {
		uint32_t idx;

		if ((p[i].pt != PERC_RTCP_RTPFB && p[i].pt != PERC_RTCP_PSFB) ||
		    p[i].media_ssrc == 0)
			continue;
		idx = lg_index_of_ssrc(p[i].media_ssrc);
		if (idx < w->n_streams)
			return (int)w->streams[idx].ep;
	}
	return -1;
}

uint32_t
lg_ref_hop_rtcp(struct lg_world *w, const uint8_t *in, uint32_t in_len, unsigned rpos,
		uint8_t *out, uint32_t cap)
{
	const struct lg_endpoint *sep, *rep;
	uint32_t idx, n;
	uint8_t *b = out + LG_L2L4;
	int t;

	if (in_len < LG_L2L4 + 8 || rpos >= w->o.size || cap < in_len)
		return 0;
	n = in_len - LG_L2L4;
	idx = lg_index_of_ssrc(lg_get32(in + LG_L2L4 + 4));
	if (idx >= w->n_streams)
		return 0;
	sep = &w->eps[w->streams[idx].ep];
	rep = &w->eps[sep->conf * w->o.size + rpos];
	if (rep == sep)
		return 0;
	memcpy(b, in + LG_L2L4, n);
	{
		struct perc_op op = {
			.key = &sep->send.outer, .src = b, .dst = b, .len = n, .cap = n,
			.type = PERC_OP_RTCP_UNPROTECT, .flags = PERC_OPF_INDEX,
		};

		if (perc_engine_run1(w->eng, &op) != PERC_R_OK)
			return 0;
		n = op.len;
		t = lg_rtcp_target(w, b, n);
		if (t >= 0 && &w->eps[t] != rep)
			return 0;
		op.key = &rep->recv;
		op.len = n;
		op.cap = cap - LG_L2L4;
		op.type = PERC_OP_RTCP_PROTECT;
		if (perc_engine_run1(w->eng, &op) != PERC_R_OK)
			return 0;
		n = op.len;
	}
	write_l2l4(out, rep->mac, w->o.mdd_mac, w->o.mdd_ip, rep->ip, w->o.mdd_port, rep->port, n);
	return LG_L2L4 + n;
}
