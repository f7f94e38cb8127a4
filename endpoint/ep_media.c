/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Media: the sealed payload header, the EKT send schedule, sending
 * (double SRTP + EKT field) and receiving with its checks.
 */
#include <endian.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ep_internal.h"
#include "perc/ekt.h"
#include "perc/rtp.h"

/* ---- sealed header ---- */
static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

void
ep_hdr_write(uint8_t *o, const struct ep_sealed_hdr *h)
{
	uint64_t t = htobe64((uint64_t)h->send_ms);

	o[0] = EP_HDR_MAGIC0;
	o[1] = EP_HDR_MAGIC1;
	o[2] = EP_HDR_VERSION;
	o[3] = h->flags;
	put32(o + 4, h->sender_hash);
	memcpy(o + 8, &t, 8);
	put32(o + 16, h->frame_no);
	put32(o + 20, h->pkt_no);
	put16(o + 24, h->spi);
	o[26] = 0;
	o[27] = 0;
}

bool
ep_hdr_parse(const uint8_t *p, size_t len, struct ep_sealed_hdr *h)
{
	uint64_t t;
	uint8_t kind;

	if (len < EP_HDR_LEN || p[0] != EP_HDR_MAGIC0 || p[1] != EP_HDR_MAGIC1 ||
	    p[2] != EP_HDR_VERSION || p[26] != 0 || p[27] != 0)
		return false;
	kind = p[3] & (EP_HDR_F_AUDIO | EP_HDR_F_VIDEO);
	if ((p[3] & ~(EP_HDR_F_AUDIO | EP_HDR_F_VIDEO | EP_HDR_F_KEY)) != 0 ||
	    (kind != EP_HDR_F_AUDIO && kind != EP_HDR_F_VIDEO) ||
	    ((p[3] & EP_HDR_F_KEY) && kind != EP_HDR_F_VIDEO))
		return false;
	h->flags = p[3];
	h->sender_hash = get32(p + 4);
	memcpy(&t, p + 8, 8);
	h->send_ms = (int64_t)be64toh(t);
	h->frame_no = get32(p + 16);
	h->pkt_no = get32(p + 20);
	h->spi = (uint16_t)(p[24] << 8 | p[25]);
	return true;
}

uint32_t
ep_id_hash(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id; id++) {
		h ^= (uint8_t)*id;
		h *= 16777619u;
	}
	return h;
}

/* ---- EKT schedule ---- */
void
ep_sched_new_key(struct ep_ekt_sched *s)
{
	s->full_left = EP_FULL_AFTER_KEY;
}

bool
ep_sched_full(struct ep_ekt_sched *s, uint64_t now, bool key_frame)
{
	bool full;

	if (s->full_left > 0) {
		s->full_left--;
		full = true;
	} else if (s->audio) {
		full = now - s->last_full_ms >= EP_AUDIO_FULL_MS;
	} else {
		full = key_frame;
	}
	if (full)
		s->last_full_ms = now;
	return full;
}

/* ---- sending ---- */
static void
note_first_send(struct perc_ep *ep, uint16_t spi)
{
	for (unsigned i = ep->nhist; i-- > 0;)
		if (ep->hist[i].spi == spi) {
			if (ep->hist[i].first_send_ms == 0)
				ep->hist[i].first_send_ms = ep_real_ms();
			return;
		}
}

static int
send_one(struct perc_ep *ep, unsigned idx, const uint8_t *data, size_t len, bool marker,
	 bool key_frame, uint32_t ts)
{
	struct ep_tx *t = &ep->tx[idx];
	struct ep_tx_key *k = &ep->keys->tx[idx];
	struct ep_ekt_key *ekt = ep_ekt_current(ep);
	struct ep_sealed_hdr h = {
		.flags = (uint8_t)((idx == 0 ? EP_HDR_F_AUDIO : EP_HDR_F_VIDEO) |
				   (key_frame ? EP_HDR_F_KEY : 0)),
		.sender_hash = ep->id_hash,
		.send_ms = ep_real_ms(),
		.frame_no = t->frame_no,
		.pkt_no = t->pkt_no,
		.spi = k->spi,
	};
	uint8_t buf[EP_PKT_MAX + 256];
	uint32_t n, cap = sizeof(buf) - PERC_EKT_FIELD_MAX;
	int r;

	if (!k->valid || ekt == NULL || ekt->spi != k->spi)
		return -1;
	n = (uint32_t)perc_rtp_write(buf, sizeof(buf), marker,
				     idx == 0 ? EP_PT_AUDIO : EP_PT_VIDEO, t->seq, ts, t->ssrc,
				     NULL, 0);
	if (n == 0 || n + EP_HDR_LEN + len + 64 > cap)
		return -1;
	ep_hdr_write(buf + n, &h);
	memcpy(buf + n + EP_HDR_LEN, data, len);
	n += EP_HDR_LEN + (uint32_t)len;
	r = perc_double_protect(ep->eng, &k->dk, NULL, NULL, t->roc, buf, &n, cap);
	if (r != PERC_R_OK) {
		ep_log(ep, PERC_EP_LOG_WARN, "double SRTP protect failed: %s", perc_reason_desc(r));
		return -1;
	}
	if (ep_sched_full(&t->sched, ep_mono_ms(), key_frame)) {
		struct perc_ekt_plain pl = { .key_len = EP_E2E_KEY, .ssrc = t->ssrc,
					     .roc = t->roc, .spi = k->spi, .epoch = 0 };

		memcpy(pl.key, k->e2e, EP_E2E_KEY);
		r = perc_ekt_wrap(ekt->key, ekt->len, &pl, buf + n, sizeof(buf) - n);
		OPENSSL_cleanse(pl.key, sizeof(pl.key));
		if (r < 0)
			return -1;
		n += (uint32_t)r;
		ep->st.ekt_full_tx++;
	} else {
		buf[n++] = PERC_EKT_SHORT;
	}
	ep_send(ep, buf, n);
	if (++t->seq == 0)
		t->roc++;
	t->pkt_no++;
	ep->st.rtp_sent++;
	note_first_send(ep, k->spi);
	return 0;
}

int
perc_ep_send_audio(struct perc_ep *ep, const uint8_t *payload, size_t len)
{
	struct ep_tx *t = &ep->tx[0];

	if (!t->on || !ep_may_send_media(ep) || len > EP_VIDEO_MTU)
		return -1;
	if (send_one(ep, 0, payload, len, false, false, t->ts) != 0)
		return -1;
	t->ts += 960; /* 20 ms at 48 kHz */
	t->frame_no++;
	return 0;
}

int
perc_ep_send_video(struct perc_ep *ep, const uint8_t *frame, size_t len, bool key_frame)
{
	struct ep_tx *t = &ep->tx[1];
	uint32_t ts = (uint32_t)(ep_mono_ms() * 90u); /* 90 kHz */
	int pkts = 0;
	size_t off = 0;

	if (!t->on || !ep_may_send_media(ep) || len == 0)
		return -1;
	while (off < len) {
		size_t n = len - off > EP_VIDEO_MTU - EP_HDR_LEN ? EP_VIDEO_MTU - EP_HDR_LEN :
			   len - off;

		if (send_one(ep, 1, frame + off, n, off + n == len, key_frame, ts + t->ts) != 0)
			break;
		off += n;
		pkts++;
	}
	t->frame_no++;
	return pkts > 0 ? pkts : -1;
}

/* ---- receiving ---- */
int
ep_sender_find(struct perc_ep *ep, uint32_t ssrc, bool create)
{
	int free_i = -1;

	for (unsigned i = 0; i < EP_MAX_SENDERS; i++) {
		if (ep->snd[i].used && ep->snd[i].ssrc == ssrc)
			return (int)i;
		if (!ep->snd[i].used && free_i < 0)
			free_i = (int)i;
	}
	if (!create || free_i < 0)
		return -1;
	memset(&ep->snd[free_i], 0, sizeof(ep->snd[free_i]));
	ep->snd[free_i].used = true;
	ep->snd[free_i].ssrc = ssrc;
	ep->snd[free_i].outer_st = perc_stream_init(ep->snd[free_i].st_mem, EP_REPLAY_WINDOW, 0);
	return free_i;
}

static bool
spi_ever_held(const struct perc_ep *ep, uint16_t spi)
{
	for (unsigned i = 0; i < ep->nhist; i++)
		if (ep->hist[i].spi == spi)
			return true;
	return false;
}

static bool
spi_held_at_leave(const struct perc_ep *ep, uint16_t spi)
{
	for (unsigned i = 0; i < ep->n_leave_spis; i++)
		if (ep->leave_spis[i] == spi)
			return true;
	return false;
}

/* Outer layer check out of place (the packet stays as received, so the
 * inner layer can be tried with more than one key). Returns the index. */
static int
outer_check(struct perc_ep *ep, struct perc_stream *st, const uint8_t *p, uint32_t n,
	    uint8_t *scratch, uint32_t *plain_len, uint64_t *index)
{
	uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
	struct perc_op op = {
		.key = &ep->keys->rx_outer, .src = p, .dst = scratch, .len = n, .cap = n,
		.type = PERC_OP_RTP_UNPROTECT, .flags = PERC_OPF_INDEX,
	};
	int r;

	if (!perc_rtp_index_guess(&st->rtp, st->roc_init, seq, index))
		return PERC_R_TOO_OLD;
	r = perc_replay_check(&st->rtp, *index);
	if (r != PERC_R_OK)
		return r;
	op.index = *index;
	r = perc_engine_run1(ep->eng, &op);
	*plain_len = op.len;
	return r;
}

static void
record_latency(struct perc_ep *ep, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	ep->lat_hist[ms >= (int64_t)EP_LAT_BINS ? EP_LAT_BINS - 1 : (unsigned)ms]++;
	ep->lat_n++;
	if ((double)ms > ep->lat_max)
		ep->lat_max = (double)ms;
}

static void
seq_check(struct perc_ep *ep, struct ep_sender *s, uint32_t pkt_no)
{
	if (!s->seen_pkt) {
		s->seen_pkt = true;
		s->top_pkt = pkt_no;
		return;
	}
	if (pkt_no == s->top_pkt) {
		ep->st.seq_dup++;
	} else if ((int32_t)(pkt_no - s->top_pkt) > 0) {
		ep->st.seq_gap += pkt_no - s->top_pkt - 1;
		s->top_pkt = pkt_no;
	} else {
		ep->st.seq_reorder++;
		if (ep->st.seq_gap > 0)
			ep->st.seq_gap--; /* the gap it left is filled */
	}
}

/* A Full field whose EKT key this endpoint does not hold (yet): keep the
 * latest one of the sender, to unwrap when the key arrives. Returns -2. */
static int
hold_full(struct ep_sender *s, uint16_t spi, const uint8_t *f, size_t flen)
{
	s->unknown_spi = true;
	if (flen <= sizeof(s->pend_field)) {
		s->pend_spi = spi;
		s->pend_len = (uint8_t)flen;
		memcpy(s->pend_field, f, flen);
	}
	return -2;
}

/* A Full EKT field: unwrap with the EKT key of its SPI, install the
 * sender's E2E key. Returns the slot, -1, or -2 (held for its key). */
static int
take_full(struct perc_ep *ep, int si, uint32_t ssrc, const uint8_t *f, size_t flen, uint64_t now)
{
	struct perc_ekt_plain pl;
	struct ep_ekt_key *k;
	unsigned slot;
	int spi = perc_ekt_field_spi(f, flen), r;

	if (spi < 0) {
		ep->st.ekt_fail++;
		return -1;
	}
	k = ep_ekt_find(ep, (uint16_t)spi, now);
	if (k == NULL) {
		ep->st.ekt_unknown_spi++;
		return hold_full(&ep->snd[si], (uint16_t)spi, f, flen);
	}
	r = perc_ekt_unwrap(k->key, k->len, f, flen, &pl);
	if (r != PERC_R_OK || pl.key_len != EP_E2E_KEY || pl.ssrc != ssrc) {
		OPENSSL_cleanse(&pl, sizeof(pl));
		ep->st.ekt_fail++;
		if (r != PERC_R_AUTH)
			return -1;
		/* the same SPI number under another EKT key (a restarted KD
		 * counts from 1 again) that we do not hold yet: like an
		 * unknown SPI, wait for that key */
		return hold_full(&ep->snd[si], (uint16_t)spi, f, flen);
	}
	r = ep_rx_install(ep, (unsigned)si, pl.spi, pl.epoch, pl.key, k->salt, pl.roc, now, &slot);
	OPENSSL_cleanse(&pl, sizeof(pl));
	if (r == -1) {
		ep->st.ekt_stale_epoch++;
		return -1;
	}
	if (r < 0)
		return -1;
	if (r == 0)
		ep->st.ekt_full_rx++;
	ep->snd[si].unknown_spi = false;
	ep->snd[si].pend_len = 0;
	return (int)slot;
}

void
ep_media_pending(struct perc_ep *ep, uint16_t spi, uint64_t now)
{
	for (unsigned i = 0; i < EP_MAX_SENDERS; i++) {
		struct ep_sender *s = &ep->snd[i];

		if (s->used && s->pend_len > 0 && s->pend_spi == spi &&
		    take_full(ep, (int)i, s->ssrc, s->pend_field, s->pend_len, now) >= 0)
			ep->st.ekt_late_unwrap++;
	}
}

/* Try the held E2E keys of the sender, the Full field's first, then the
 * newest. Returns PERC_R_OK (work holds the plain packet, *used the slot),
 * PERC_R_KEY (no key), PERC_R_REPLAY or PERC_R_AUTH. */
static int
open_inner(struct perc_ep *ep, int si, int first, const uint8_t *p, uint32_t n, uint32_t roc,
	   uint8_t *work, uint32_t *wlen, unsigned *used, uint64_t now)
{
	struct ep_rx_slot *slots = ep->keys->rx[si];
	unsigned order[EP_RX_SLOTS], k = 0;
	bool any = false, replay = false;

	if (first >= 0)
		order[k++] = (unsigned)first;
	/* newest first: the retire time is 0 for the newest */
	for (unsigned pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < EP_RX_SLOTS; i++)
			if ((int)i != first && slots[i].used &&
			    ((pass == 0) == (slots[i].retire_ms == 0)))
				order[k++] = i;
	for (unsigned j = 0; j < k; j++) {
		struct ep_rx_slot *s = &slots[order[j]];
		int r;

		if (s->retire_ms != 0 && now >= s->retire_ms)
			continue;
		any = true;
		memcpy(work, p, n);
		*wlen = n;
		r = perc_double_unprotect(ep->eng, &s->dk, s->inner_st, NULL, roc, work, wlen);
		if (r == PERC_R_OK) {
			*used = order[j];
			return PERC_R_OK;
		}
		if (r == PERC_R_REPLAY || r == PERC_R_TOO_OLD)
			replay = true;
	}
	if (!any)
		return PERC_R_KEY;
	return replay ? PERC_R_REPLAY : PERC_R_AUTH;
}

static void
deliver(struct perc_ep *ep, struct ep_sender *s, struct ep_rx_slot *slot, const uint8_t *pkt,
	uint32_t n)
{
	uint32_t h = perc_rtp_hdr_len(pkt, n);
	struct ep_sealed_hdr sh;
	struct perc_ep_frame f;

	if (h == 0 || !ep_hdr_parse(pkt + h, n - h, &sh)) {
		ep->st.e2e_fail++;
		ep->st.e2e_fail_header++;
		return;
	}
	ep->st.e2e_ok++;
	f.recv_ms = ep_real_ms();
	if (!spi_ever_held(ep, sh.spi))
		ep->st.before_join_ok++;
	if (ep->state == PERC_EP_LEFT && !spi_held_at_leave(ep, sh.spi))
		ep->st.after_leave_ok++;
	seq_check(ep, s, sh.pkt_no);
	record_latency(ep, f.recv_ms - sh.send_ms);
	if (ep->cfg.on_frame == NULL)
		return;
	f.ssrc = s->ssrc;
	f.sender_hash = sh.sender_hash;
	f.kind = (sh.flags & EP_HDR_F_VIDEO) ? PERC_EP_VIDEO : PERC_EP_AUDIO;
	f.key_frame = (sh.flags & EP_HDR_F_KEY) != 0;
	f.marker = (pkt[1] & 0x80) != 0;
	f.spi = sh.spi;
	f.key_spi = slot->spi;
	f.frame_no = sh.frame_no;
	f.pkt_no = sh.pkt_no;
	f.send_ms = sh.send_ms;
	f.payload = pkt + h + EP_HDR_LEN;
	f.len = n - h - EP_HDR_LEN;
	ep->cfg.on_frame(ep->cfg.cb_arg, ep, &f);
}

/* Stage 1: lengths, the outer layer (out of place), the OHB, the sender's
 * entry and its outer replay window. Returns the sender or -1 (counted). */
static int
rx_outer(struct perc_ep *ep, const uint8_t *p, size_t len, uint32_t *n, int *flen,
	 uint64_t *index)
{
	uint8_t scratch[EP_PKT_MAX + 512];
	struct perc_ohb ohb;
	uint32_t plain_len = 0, h, ssrc;
	int si, r;

	if (!ep->keys->outer_ok || len > EP_PKT_MAX + 256) {
		ep->st.outer_fail++;
		return -1;
	}
	*flen = perc_ekt_field_len(p, len);
	h = perc_rtp_hdr_len(p, (uint32_t)len);
	if (h == 0) {
		ep->st.outer_fail++; /* not even an RTP header */
		return -1;
	}
	if (*flen < 0 || (size_t)*flen >= len - h) {
		ep->st.ekt_fail++;
		return -1;
	}
	*n = (uint32_t)(len - (size_t)*flen);
	ssrc = get32(p + 8);
	si = ep_sender_find(ep, ssrc, false);
	r = outer_check(ep, si >= 0 ? ep->snd[si].outer_st : ep->fresh_st, p, *n, scratch,
			&plain_len, index);
	if (r == PERC_R_OK && perc_ohb_parse(scratch + h, plain_len - h, &ohb) != PERC_R_OK)
		r = PERC_R_OHB;
	OPENSSL_cleanse(scratch, plain_len);
	if (r == PERC_R_REPLAY || r == PERC_R_TOO_OLD) {
		ep->st.outer_replay++;
		ep->st.seq_dup++;
		return -1;
	}
	if (r != PERC_R_OK) {
		if (r == PERC_R_OHB)
			ep->st.ohb_fail++;
		else
			ep->st.outer_fail++;
		return -1;
	}
	if (si < 0)
		si = ep_sender_find(ep, ssrc, true);
	if (si < 0) {
		ep->st.no_key++; /* more senders than this endpoint tracks */
		return -1;
	}
	perc_replay_update(&ep->snd[si].outer_st->rtp, *index);
	return si;
}

static void
count_inner_refusal(struct perc_ep *ep, int r)
{
	if (r == PERC_R_KEY) {
		ep->st.no_key++;
		return;
	}
	ep->st.e2e_fail++;
	if (r == PERC_R_REPLAY) {
		ep->st.e2e_fail_replay++;
		ep->st.seq_dup++;
	} else {
		ep->st.e2e_fail_auth++;
	}
}

void
ep_media_input(struct perc_ep *ep, uint8_t *p, size_t len)
{
	uint8_t work[EP_PKT_MAX + 512];
	uint64_t now = ep_mono_ms(), index = 0;
	uint32_t n = 0, wlen = 0;
	unsigned used = 0;
	int flen = 0, si, first = -1, r;

	ep->st.rtp_received++;
	if (ep->state == PERC_EP_LEFT)
		ep->st.rtp_received_after_leave++;
	si = rx_outer(ep, p, len, &n, &flen, &index);
	if (si < 0)
		return;
	/* Stage 2: the EKT field, then the inner layer */
	if (flen > 1)
		first = take_full(ep, si, ep->snd[si].ssrc, p + n, (size_t)flen, now);
	/* sealed under a key wrapped with an EKT key we do not hold: no
	 * point in trying the older keys */
	if (first == -2)
		r = PERC_R_KEY;
	else
		r = open_inner(ep, si, first < 0 ? -1 : first, p, n, (uint32_t)(index >> 16),
			       work, &wlen, &used, now);
	/* the sender moved to a key we were not given: not a failure of the
	 * packet, a key we lack (a leaver, or a rekey that is still on its way) */
	if (r == PERC_R_AUTH && ep->snd[si].unknown_spi)
		r = PERC_R_KEY;
	if (r != PERC_R_OK)
		count_inner_refusal(ep, r);
	else
		deliver(ep, &ep->snd[si], &ep->keys->rx[si][used], work, wlen);
}
