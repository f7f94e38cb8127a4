/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-loadgen: one fresh frame per call. Every packet is sealed when it
 * is sent (inner GCM under the sender's E2E key, OHB, outer GCM under its
 * HBH key, EKT field), with the stream's next SEQ and timestamp, so no
 * two frames on the wire are alike and the MDD's replay check never
 * fires. Also the reference hop the unit test and --loopback use.
 */
#include <string.h>

#include "lg.h"
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
