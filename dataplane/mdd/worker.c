/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fast path: one run-to-completion loop per worker lcore.
 *
 *  RX burst -> classify (L2-L4, RFC 7983) -> leg lookup -> EKT strip ->
 *  stream lookup -> one engine burst opening the hop-by-hop layer ->
 *  fan-out: per receiver a new mbuf and an out-of-place seal op with the
 *  receiver's key -> engine bursts of seals -> headers, EKT re-appended ->
 *  TX burst; unsent frames freed and counted.
 *
 * No locks, no syscalls, no malloc: mbufs come from the pool, streams were
 * preallocated at set-up, counters are per worker.
 */
#include <string.h>
#include <sys/socket.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "capture.h"
#include "mdd.h"
#include "perc/double.h"
#include "perc/ekt.h"
#include "perc/ohb.h"
#include "perc/rtcp.h"
#include "perc/rtp.h"

#define CTR(w, name) ((w)->ctr.c[MDD_C_##name])
#define TXQ_MAX 256
/* copies of one packet allocated in one call (larger fan-outs go one by one) */
#define MDD_BULK_MAX 64
#define SEAL_MAX PERC_BURST_MAX
/* bytes a seal may add: tag (16) and the SRTCP index word (4), rounded up */
#define SEAL_SLACK 32u

/* A media packet between classification and the end of its fan-out. */
struct media {
	struct rte_mbuf *m;
	struct mdd_leg *leg;
	struct mdd_stream *st;
	uint8_t *pkt;            /* RTP / SRTCP in the mbuf */
	uint32_t len;            /* SRTP / SRTCP bytes (EKT field excluded) */
	const uint8_t *ekt;      /* EKT field after the SRTP packet */
	struct perc_key *alt;    /* the leg's alternative rx key at open time */
	uint64_t alt_gen;        /* its pair's generation when alt is the next key */
	uint16_t ekt_len;
	bool rtcp;
	uint16_t port;           /* where it came from: the next hop once it opened */
	uint16_t vlan;
	uint8_t src_mac[6];
};

/* One copy on its way to a receiver. */
struct copy {
	struct rte_mbuf *m;
	struct mdd_leg *to;
	const struct mdd_tx *tx;     /* the receiver's next hop when queued */
	struct mdd_stream *st;       /* the sender's stream: counts the copy */
	const uint8_t *ekt;
	uint16_t ekt_len;
	bool rtcp;
};

/* Worker-local scratch, one per lcore (kept off the stack: ops are large). */
struct wstate {
	struct media media[MDD_BURST * 2];
	struct perc_op open_op[MDD_BURST * 2];
	struct perc_op *open_ops[MDD_BURST * 2];
	uint8_t scratch[MDD_BURST * 2][MDD_MAX_MEDIA]; /* packets of legs in a rekey */
	unsigned n_media;
	struct copy copies[SEAL_MAX];
	struct perc_op seal_op[SEAL_MAX];
	struct perc_op *seal_ops[SEAL_MAX];
	unsigned n_seal;
	struct rte_mbuf *txq[MDD_MAX_PORTS][TXQ_MAX];
	unsigned n_tx[MDD_MAX_PORTS];
	unsigned port_slot[RTE_MAX_ETHPORTS];
	uint16_t queue;
	struct mdd_leg_key last_key;
	struct mdd_leg *last_leg;
	uint64_t now;                /* TSC at the start of this loop turn */
} __rte_cache_aligned;

static struct wstate *wstates[MDD_MAX_WORKERS];

/* capture records (capture.c creates the pool; NULL: no capture) */
struct rte_mempool *mdd_cap_pool;

static inline void
drop(struct mdd_worker *w, struct rte_mbuf *m, unsigned ctr)
{
	w->ctr.c[ctr]++;
	rte_pktmbuf_free(m);
}

static unsigned
pkt_err_ctr(int err, size_t len)
{
	switch (err) {
	case PKT_E_TRUNCATED:
		return len < PKT_ETH_LEN ? MDD_C_eth_truncated : MDD_C_ip_truncated;
	case PKT_E_IP_VERSION:
		return MDD_C_ip_bad_version;
	case PKT_E_IP_HDR:
		return MDD_C_ip_bad_hdr;
	case PKT_E_IP_LEN:
		return MDD_C_ip_bad_len;
	case PKT_E_FRAGMENT:
		return MDD_C_ip_fragment;
	case PKT_E_UDP_LEN:
		return MDD_C_udp_bad_len;
	default:
		return MDD_C_udp_bad_csum;
	}
}

/* ---- TX ---- */

static void
tx_flush(struct mdd_worker *w, struct wstate *ws, unsigned slot)
{
	unsigned n = ws->n_tx[slot], sent;

	if (n == 0)
		return;
	sent = rte_eth_tx_burst(g_mdd.ports[slot], ws->queue, ws->txq[slot], (uint16_t)n);
	CTR(w, tx_frames) += sent;
	/* bytes were counted when queued (the mbuf was hot then); take back
	 * what the port did not take */
	for (unsigned i = sent; i < n; i++) {
		CTR(w, tx_bytes) -= rte_pktmbuf_pkt_len(ws->txq[slot][i]);
		drop(w, ws->txq[slot][i], MDD_C_tx_full);
	}
	ws->n_tx[slot] = 0;
}

static inline void
tx_add(struct mdd_worker *w, struct wstate *ws, uint16_t port, struct rte_mbuf *m)
{
	unsigned slot = ws->port_slot[port];

	CTR(w, tx_bytes) += rte_pktmbuf_pkt_len(m);
	ws->txq[slot][ws->n_tx[slot]++] = m;
	if (ws->n_tx[slot] == TXQ_MAX)
		tx_flush(w, ws, slot);
}

/* ---- classify ---- */

#define PREFETCH_AHEAD 4

/* The headers and the last line of a frame: classify reads both (the EKT
 * field is at the end). */
static inline void
prefetch_frame(const struct rte_mbuf *m)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);

	rte_prefetch0(d);
	rte_prefetch0(d + RTE_CACHE_LINE_SIZE);
	rte_prefetch0(d + rte_pktmbuf_data_len(m) - 1);
}

static struct mdd_leg *
leg_lookup(struct wstate *ws, const struct pkt_info *pi)
{
	struct mdd_leg_key k;
	void *data;

	memset(&k, 0, sizeof(k));
	k.family = (uint8_t)pi->family;
	k.port = rte_cpu_to_be_16(pi->src_port);
	memcpy(k.ip, pi->src_ip, pi->family == AF_INET ? 4 : 16);
	if (ws->last_leg != NULL && memcmp(&k, &ws->last_key, sizeof(k)) == 0)
		return ws->last_leg;
	if (rte_hash_lookup_data(g_mdd.legs_by_addr, &k, &data) < 0)
		return NULL;
	ws->last_key = k;
	ws->last_leg = data;
	return data;
}

/* Remember where the endpoint's frames come from: its next-hop MAC (when no
 * neighbour resolution gave one), VLAN and the port to answer on. Only for
 * a packet that opened with the leg's key: a forged frame from the
 * endpoint's address must not redirect what the MDD sends it (an
 * authenticated STUN request is the other way, on the control thread). */
static inline void
latch(struct mdd_leg *l, const struct media *md)
{
	const struct mdd_tx *cur = mdd_leg_tx(l);

	if (cur == NULL || cur->port_id != md->port || cur->tmpl.vlan != md->vlan ||
	    memcmp(cur->tmpl.dst_mac, md->src_mac, 6) != 0)
		mdd_leg_set_nexthop(l, md->port, md->src_mac, md->vlan);
}

static void
punt(struct mdd_worker *w, struct rte_mbuf *m)
{
	if (rte_ring_enqueue(g_mdd.punt, m) != 0) {
		drop(w, m, MDD_C_punt_full);
		return;
	}
	CTR(w, punted)++;
}

/* Classify one frame; media of this worker's legs goes to ws->media. */
static void
classify(struct mdd_worker *w, struct wstate *ws, struct rte_mbuf *m, bool handed)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t flen = rte_pktmbuf_data_len(m);
	struct pkt_info pi;
	struct mdd_leg *l;
	struct media *md;
	uint8_t *pl;
	uint32_t plen, ssrc;
	int r, el = 0;
	enum perc_demux d;

	if (!handed) {
		CTR(w, rx_frames)++;
		CTR(w, rx_bytes) += rte_pktmbuf_pkt_len(m);
	}
	if (m->nb_segs != 1) {
		drop(w, m, MDD_C_oversized);
		return;
	}
	r = pkt_parse(frame, flen, g_mdd.udp_csum_check, &pi);
	if (r != PKT_OK) {
		drop(w, m, pkt_err_ctr(r, flen));
		return;
	}
	if (pi.kind != PKT_K_UDP) {
		punt(w, m);
		return;
	}
	if (pi.dst_port != g_mdd.media_port || !mdd_is_our_addr(&g_mdd, pi.family, pi.dst_ip)) {
		drop(w, m, MDD_C_not_ours);
		return;
	}
	pl = rte_pktmbuf_mtod_offset(m, uint8_t *, pi.payload_off);
	plen = pi.payload_len;
	d = perc_demux(pl, plen);
	l = leg_lookup(ws, &pi);
	/* A provisioned leg (static address) whose next hop nothing has
	 * given yet takes the first frame's, before any hand-off, so the
	 * worker that sees the frame first keeps arrival order. Changing a
	 * known next hop takes an opened packet (fan_out) or authenticated
	 * STUN: a forged frame cannot redirect an established leg, and
	 * run-time (ICE) legs always have one from STUN before media. */
	if (l != NULL && !handed && __atomic_load_n(&l->tx_gen, __ATOMIC_ACQUIRE) == 0 && !l->ice)
		mdd_leg_set_nexthop(l, m->port, pi.src_mac, pi.vlan);
	if (l != NULL && l->worker != w->idx && !handed) {
		/* the owner of this sender's streams is another worker */
		if (rte_ring_enqueue(g_mdd.workers[l->worker].handoff, m) != 0)
			drop(w, m, MDD_C_handoff_full);
		else
			CTR(w, handoff_out)++;
		return;
	}
	if (l != NULL && unlikely(__atomic_load_n(&l->capture, __ATOMIC_RELAXED) != 0)) {
		/* capture of the endpoint's frames as received (the owner only) */
		uint32_t tok = mdd_cap_want(l, false);

		if (tok != 0)
			mdd_cap_copy(w, tok, &l->key, MDD_CAP_IN, frame, flen);
	}
	if (d == PERC_DEMUX_STUN || d == PERC_DEMUX_DTLS) {
		punt(w, m);
		return;
	}
	if (d != PERC_DEMUX_RTP && d != PERC_DEMUX_RTCP) {
		/* RFC 7983 ranges: an RTP-like first byte with another version */
		drop(w, m, plen > 0 && pl[0] >= 64 ? MDD_C_rtp_bad_version : MDD_C_not_media);
		return;
	}
	if (l == NULL) {
		drop(w, m, MDD_C_unknown_endpoint);
		return;
	}
	if (plen > MDD_MAX_MEDIA) {
		drop(w, m, MDD_C_oversized);
		return;
	}
	if (__atomic_load_n(&l->rx, __ATOMIC_ACQUIRE) == NULL) {
		/* a run-time endpoint before the KD sent its keys */
		drop(w, m, MDD_C_no_key);
		return;
	}
	if (d == PERC_DEMUX_RTP && l->ekt) {
		/* EKT field: after the tag, outside both layers; kept as is */
		el = perc_ekt_field_len(pl, plen);
		if (el <= 0 || (uint32_t)el >= plen) {
			drop(w, m, MDD_C_ekt_invalid);
			return;
		}
	}
	if (plen - (uint32_t)el < (d == PERC_DEMUX_RTP ? 12u : 8u)) {
		drop(w, m, MDD_C_rtp_malformed);
		return;
	}
	/* the UDP payload need not be 4-byte aligned: load through memcpy */
	memcpy(&ssrc, pl + (d == PERC_DEMUX_RTP ? 8 : 4), sizeof(ssrc));
	ssrc = rte_be_to_cpu_32(ssrc);
	md = &ws->media[ws->n_media];
	md->st = l->last_idx < l->n_streams && l->streams[l->last_idx].ssrc == ssrc ?
			 &l->streams[l->last_idx] :
			 mdd_stream_find(l, ssrc);
	if (md->st == NULL) {
		md->st = mdd_stream_add(l, ssrc);
		if (md->st == NULL) {
			drop(w, m, MDD_C_stream_limit);
			return;
		}
		CTR(w, streams_created)++;
	}
	l->last_idx = (uint32_t)(md->st - l->streams);
	md->m = m;
	md->leg = l;
	md->pkt = pl;
	md->rtcp = d == PERC_DEMUX_RTCP;
	md->len = plen - (uint32_t)el;
	md->ekt = el > 0 ? pl + plen - el : NULL;
	md->ekt_len = (uint16_t)el;
	md->port = m->port;
	md->vlan = pi.vlan;
	memcpy(md->src_mac, pi.src_mac, 6);
	if (el > 1)
		CTR(w, ekt_full)++;
	ws->n_media++;
}

/* ---- open ---- */

static unsigned
open_ctr(const struct media *md, int reason)
{
	switch (reason) {
	case PERC_R_AUTH:
		return md->rtcp ? MDD_C_srtcp_auth : MDD_C_srtp_auth;
	case PERC_R_REPLAY:
		return md->rtcp ? MDD_C_srtcp_replay : MDD_C_srtp_replay;
	case PERC_R_TOO_OLD:
		return md->rtcp ? MDD_C_srtcp_replay : MDD_C_srtp_too_old;
	case PERC_R_KEY:
		return MDD_C_no_key;
	default:
		return MDD_C_rtp_malformed;
	}
}

/* A packet whose hop layer did not open: the worker's named counter and
 * its stream's own (a stream's SSRC is in clear, so even a forgery is
 * counted on the stream it names). */
static void
open_drop(struct mdd_worker *w, struct media *md, int reason)
{
	struct mdd_stream_rare *r = &md->leg->stream_rare[md->st - md->leg->streams];

	if (reason == PERC_R_AUTH)
		r->auth_fail++;
	else if (reason == PERC_R_REPLAY || reason == PERC_R_TOO_OLD)
		r->replay++;
	drop(w, md->m, open_ctr(md, reason));
	md->m = NULL;
}

/* Open the hop-by-hop layer of every media packet in one engine burst.
 * Packets of a leg in a rekey (an alternative rx key installed) are kept
 * aside first, since a failed in-place open leaves garbage: those that
 * fail with the current key are tried again with the alternative in a
 * second burst. Returns the number opened; ws->open_ops[0..n) are the good
 * ones. */
static unsigned
open_all(struct mdd_worker *w, struct wstate *ws)
{
	unsigned n = ws->n_media, good, nretry = 0;
	struct perc_op *retry[MDD_BURST * 2];
	/* libsrtp2 keeps a replay window per key session, not in op->stream */
	bool own_window = perc_engine_arch(w->engine) != PERC_ARCH_LIBSRTP;

	/* with many streams the per-stream state is cold: ask for all of it
	 * before the first op needs any (stream windows, key pairs) */
	for (unsigned i = 0; i < n; i++) {
		const struct media *md = &ws->media[i];

		rte_prefetch0(md->st->in);
		rte_prefetch0(md->st->in->rtp.bits);
		rte_prefetch0(md->leg->rx);
	}
	for (unsigned i = 0; i < n; i++) {
		struct media *md = &ws->media[i];
		struct perc_op *op = &ws->open_op[i];
		/* one load: the pair is replaced whole by the control thread */
		const struct mdd_rxkeys *rk = __atomic_load_n(&md->leg->rx, __ATOMIC_ACQUIRE);

		op->key = rk->cur;
		md->alt = rk->alt;
		md->alt_gen = rk->alt_is_next ? rk->gen : 0;
		if (md->alt != NULL)
			memcpy(ws->scratch[i], md->pkt, md->len);
		op->stream = md->st->in;
		op->src = md->pkt;
		op->dst = md->pkt;
		op->len = md->len;
		op->cap = md->len;
		op->type = md->rtcp ? PERC_OP_RTCP_UNPROTECT : PERC_OP_RTP_UNPROTECT;
		op->flags = 0;
		ws->open_ops[i] = op;
	}
	good = perc_engine_run(w->engine, ws->open_ops, (uint16_t)n);
	for (unsigned i = good; i < n; i++) {
		struct perc_op *op = ws->open_ops[i];
		struct media *md = &ws->media[op - ws->open_op];

		if (op->reason == PERC_R_AUTH && md->alt != NULL) {
			memcpy(md->pkt, ws->scratch[op - ws->open_op], md->len);
			op->key = md->alt;
			op->len = md->len;
			/* Keep the index this pass estimated and replay-checked
			 * against the window as it was before the burst: the
			 * window has since taken the later packets of the burst.
			 * Checked again, it would call a forged copy placed ahead
			 * of its original a replay instead of an auth failure.
			 * The window is updated below, once the tag verified. */
			if (own_window)
				op->flags = PERC_OPF_INDEX;
			retry[nretry++] = op;
			continue;
		}
		open_drop(w, md, op->reason);
	}
	if (nretry > 0) {
		unsigned ok = perc_engine_run(w->engine, retry, (uint16_t)nretry);

		for (unsigned i = 0; i < nretry; i++) {
			struct perc_op *op = retry[i];
			struct media *md = &ws->media[op - ws->open_op];

			if (i < ok && own_window) {
				struct perc_replay *win = md->rtcp ? &md->st->in->rtcp
								   : &md->st->in->rtp;
				int r = perc_replay_check(win, op->index);

				if (r == PERC_R_OK)
					r = perc_replay_update(win, op->index);
				if (r != PERC_R_OK) {
					/* a duplicate of a packet accepted earlier in
					 * this burst (or pushed out of the window by
					 * its later packets) */
					open_drop(w, md, r);
					continue;
				}
			}
			if (i < ok) {
				/* tell the control thread the endpoint uses the next key */
				if (md->alt_gen != 0)
					__atomic_store_n(&md->leg->rx_alt_used, md->alt_gen,
							 __ATOMIC_RELEASE);
				CTR(w, rekey_next)++;
				ws->open_ops[good++] = retry[i];
			} else {
				open_drop(w, md, op->reason);
			}
		}
	}
	return good;
}

/* ---- fan-out and seal ---- */

static void
seal_flush(struct mdd_worker *w, struct wstate *ws)
{
	unsigned n = ws->n_seal, good;

	if (n == 0)
		return;
	good = perc_engine_run(w->engine, ws->seal_ops, (uint16_t)n);
	for (unsigned i = 0; i < n; i++) {
		struct perc_op *op = ws->seal_ops[i];
		struct copy *c = &ws->copies[op - ws->seal_op];
		const struct pkt_udp_tmpl *t = &c->tx->tmpl;
		uint8_t *frame;
		uint32_t ulen;

		if (i >= good) {
			drop(w, c->m, MDD_C_seal_failed);
			continue;
		}
		__atomic_fetch_add(&c->to->pkts_out, 1, __ATOMIC_RELAXED);
		c->st->ctr.copies_out++;
		frame = rte_pktmbuf_mtod(c->m, uint8_t *);
		ulen = op->len;
		if (c->ekt_len) {
			memcpy(frame + t->hdr_len + ulen, c->ekt, c->ekt_len);
			ulen += c->ekt_len;
		}
		c->m->data_len = (uint16_t)pkt_udp_write(frame, t, (uint16_t)ulen,
							 t->family == AF_INET6 || g_mdd.udp_csum_tx);
		c->m->pkt_len = c->m->data_len;
		if (unlikely(__atomic_load_n(&c->to->capture, __ATOMIC_RELAXED) != 0)) {
			uint32_t tok = mdd_cap_want(c->to, false);

			if (tok != 0)
				mdd_cap_copy(w, tok, &c->to->key, MDD_CAP_OUT, frame,
					     c->m->data_len);
		}
		if (c->rtcp)
			CTR(w, tx_rtcp)++;
		else
			CTR(w, tx_rtp)++;
		tx_add(w, ws, c->tx->port_id, c->m);
	}
	ws->n_seal = 0;
}

/*
 * The receiver's rewrite (RFC 8723 §5.2): the opened packet is copied into
 * the receiver's buffer, PT / SEQ / marker changed there (for double
 * profiles with the OHB recording the originals), and sealed in place.
 */
static int
rewrite(const struct media *md, const struct perc_op *open, const struct mdd_leg *to,
	struct perc_op *op)
{
	uint8_t *p = op->dst;
	uint8_t pt = md->pkt[1] & 0x7f;
	uint16_t seq = (uint16_t)(md->pkt[2] << 8 | md->pkt[3]);
	struct perc_hop_change c = {
		.pt = to->pt_map[pt] != pt ? to->pt_map[pt] : -1,
		.seq = to->seq_offset ? (uint16_t)(seq + to->seq_offset) : -1,
		.marker = to->marker,
	};
	uint32_t len = open->len;
	int r;

	memcpy(p, md->pkt, open->len);
	if (md->leg->dbl) {
		r = perc_hop_rewrite(p, &len, op->cap - SEAL_SLACK, open->hdr_len, &c);
		if (r != PERC_R_OK)
			return r;
	} else {
		/* a plain SFU: no OHB to keep */
		if (c.pt >= 0)
			p[1] = (uint8_t)((p[1] & 0x80) | c.pt);
		if (c.marker >= 0)
			p[1] = (uint8_t)((p[1] & 0x7f) | (c.marker ? 0x80 : 0));
		if (c.seq >= 0) {
			p[2] = (uint8_t)(c.seq >> 8);
			p[3] = (uint8_t)c.seq;
		}
	}
	op->src = p;
	op->len = len;
	return PERC_R_OK;
}

/* Queue one sealed copy of an opened packet for receiver `to`, in m (from
 * the packet's bulk allocation) or a fresh mbuf. Returns whether m was used. */
static bool
copy_to(struct mdd_worker *w, struct wstate *ws, const struct media *md,
	const struct perc_op *open, struct mdd_leg *to, struct rte_mbuf *m)
{
	const struct mdd_tx *tx = mdd_leg_tx(to);
	struct perc_key *key = __atomic_load_n(&to->tx_key, __ATOMIC_ACQUIRE);
	const struct pkt_udp_tmpl *tmpl;
	struct copy *c;
	struct perc_op *op;
	uint32_t room;

	if (key == NULL) {
		/* a run-time endpoint the KD has not keyed yet */
		CTR(w, receiver_no_key)++;
		return false;
	}
	if (tx == NULL) {
		/* nothing heard from it and no ARP / ND answer yet */
		CTR(w, no_nexthop)++;
		return false;
	}
	tmpl = &tx->tmpl;
	if (ws->n_seal == SEAL_MAX)
		seal_flush(w, ws);
	if (m == NULL)
		m = rte_pktmbuf_alloc(g_mdd.pool);
	if (m == NULL) {
		CTR(w, no_mbuf)++;
		return false;
	}
	room = rte_pktmbuf_tailroom(m);
	if (room < tmpl->hdr_len + open->len + SEAL_SLACK + md->ekt_len) {
		drop(w, m, MDD_C_oversized);
		return true;
	}
	if (unlikely(md->st->out_serial[to->conf_idx] != to->serial)) {
		/* the slot's first seal for this receiver: a leg that had the
		 * slot before may have left its ROC and index there */
		perc_stream_reset(md->st->out[to->conf_idx], 0);
		md->st->out_serial[to->conf_idx] = to->serial;
	}
	c = &ws->copies[ws->n_seal];
	op = &ws->seal_op[ws->n_seal];
	c->m = m;
	c->to = to;
	c->st = md->st;
	c->tx = tx;
	c->ekt = md->ekt;
	c->ekt_len = md->ekt_len;
	c->rtcp = md->rtcp;
	op->key = key;
	op->stream = md->st->out[to->conf_idx];
	op->src = md->pkt;
	op->dst = rte_pktmbuf_mtod(m, uint8_t *) + tmpl->hdr_len;
	op->len = open->len;
	op->cap = room - tmpl->hdr_len - md->ekt_len;
	if (to->rewrite && !md->rtcp && rewrite(md, open, to, op) != PERC_R_OK) {
		rte_pktmbuf_free(m);
		CTR(w, ohb_invalid)++;
		return true;
	}
	if (unlikely(__atomic_load_n(&to->capture, __ATOMIC_RELAXED) != 0)) {
		/* decrypted capture toward it: what is about to be sealed */
		uint32_t tok = mdd_cap_want(to, true);

		if (tok != 0)
			mdd_cap_copy(w, tok, &to->key, MDD_CAP_OUT, op->src, op->len);
	}
	op->type = md->rtcp ? PERC_OP_RTCP_PROTECT : PERC_OP_RTP_PROTECT;
	op->flags = 0;
	ws->seal_ops[ws->n_seal] = op;
	ws->n_seal++;
	return true;
}

/* RTCP feedback naming a media SSRC goes to the leg that sends it. */
static struct mdd_leg *
feedback_target(const struct media *md, uint32_t len)
{
	struct perc_rtcp_pkt p[PERC_RTCP_MAX_PKTS];
	int n = perc_rtcp_parse(md->pkt, len, p, PERC_RTCP_MAX_PKTS);
	struct mdd_conf *c = md->leg->conf;

	for (int i = 0; i < n; i++) {
		if ((p[i].pt != PERC_RTCP_RTPFB && p[i].pt != PERC_RTCP_PSFB) || p[i].media_ssrc == 0)
			continue;
		for (uint32_t j = 0; j < __atomic_load_n(&c->n_legs, __ATOMIC_ACQUIRE); j++) {
			struct mdd_leg *l = mdd_conf_leg(c, j);

			if (l != NULL && l != md->leg && mdd_stream_find(l, p[i].media_ssrc))
				return l;
		}
	}
	return NULL;
}

static void
fan_out(struct mdd_worker *w, struct wstate *ws, unsigned good)
{
	/* every sender of the burst that authenticated keeps its next hop
	 * before any copy goes out (a receiver that spoke in this burst) */
	for (unsigned i = 0; i < good; i++) {
		struct media *md = &ws->media[ws->open_ops[i] - ws->open_op];

		struct mdd_stream_ctr *sc = &md->st->ctr;

		latch(md->leg, md);
		md->leg->pkts_in++;
		if (md->rtcp)
			md->leg->stream_rare[md->st - md->leg->streams].rtcp_in++;
		else
			sc->rtp_in++;
		sc->bytes_in += md->len;
		sc->last_tsc = ws->now;
	}
	for (unsigned i = 0; i < good; i++) {
		const struct perc_op *op = ws->open_ops[i];
		struct media *md = &ws->media[op - ws->open_op];
		struct mdd_conf *c = md->leg->conf;
		struct mdd_leg *only = NULL;
		unsigned sent = 0;

		if (i + 1 < good) {
			/* the next packet's receivers: their legs and the outbound
			 * contexts of its stream (cold when streams are many) */
			const struct media *nx = &ws->media[ws->open_ops[i + 1] - ws->open_op];
			const struct mdd_conf *nc = nx->leg->conf;

			for (uint32_t j = 0; j < nc->n_legs && j < 16; j++) {
				/* a NULL slot prefetches nothing and never faults */
				rte_prefetch0(nc->legs[j]);
				rte_prefetch0(nx->st->out[j]);
			}
		}

		if (md->rtcp) {
			CTR(w, rx_rtcp)++;
			only = feedback_target(md, op->len);
		} else {
			struct perc_ohb o;

			CTR(w, rx_rtp)++;
			if (md->leg->dbl &&
			    perc_ohb_parse(md->pkt + op->hdr_len, op->len - op->hdr_len, &o) != PERC_R_OK) {
				md->leg->stream_rare[md->st - md->leg->streams].ohb_invalid++;
				drop(w, md->m, MDD_C_ohb_invalid);
				md->m = NULL;
				continue;
			}
		}
		if (unlikely(__atomic_load_n(&md->leg->capture, __ATOMIC_RELAXED) != 0)) {
			/* decrypted capture: the hop layer opened, E2E still sealed */
			uint32_t tok = mdd_cap_want(md->leg, true);

			if (tok != 0)
				mdd_cap_copy(w, tok, &md->leg->key, MDD_CAP_IN, md->pkt, op->len);
		}
		{
			/* one bulk allocation for the packet's copies */
			struct rte_mbuf *mb[MDD_BULK_MAX];
			uint32_t n_legs = __atomic_load_n(&c->n_legs, __ATOMIC_ACQUIRE);
			unsigned want = only != NULL ? 1 : n_legs - 1, used = 0;

			if (want > MDD_BULK_MAX ||
			    rte_pktmbuf_alloc_bulk(g_mdd.pool, mb, want) != 0)
				want = 0; /* one by one, as the pool allows */
			for (uint32_t j = 0; j < n_legs; j++) {
				struct mdd_leg *to = mdd_conf_leg(c, j);

				if (to == NULL || to == md->leg || (only != NULL && to != only))
					continue;
				if (copy_to(w, ws, md, op, to, used < want ? mb[used] : NULL) &&
				    used < want)
					used++;
				sent++;
			}
			if (used < want)
				rte_pktmbuf_free_bulk(mb + used, want - used);
		}
		if (sent == 0)
			CTR(w, no_receivers)++;
	}
	/* the copies read the opened packets: seal before freeing them */
	seal_flush(w, ws);
	for (unsigned i = 0; i < ws->n_media; i++)
		if (ws->media[i].m != NULL)
			rte_pktmbuf_free(ws->media[i].m);
	ws->n_media = 0;
}

static void
process_media(struct mdd_worker *w, struct wstate *ws)
{
	unsigned good;

	if (ws->n_media == 0)
		return;
	good = open_all(w, ws);
	fan_out(w, ws, good);
}

/* ---- the loop ---- */

int
mdd_worker_main(void *arg)
{
	struct mdd_worker *w = arg;
	struct wstate *ws;
	struct rte_mbuf *pkts[MDD_BURST];
	uint64_t t0 = rte_rdtsc(), t1;

	ws = rte_zmalloc("wstate", sizeof(*ws), RTE_CACHE_LINE_SIZE);
	if (ws == NULL)
		return -1;
	wstates[w->idx] = ws;
	ws->queue = (uint16_t)w->idx;
	for (unsigned i = 0; i < g_mdd.n_ports; i++)
		ws->port_slot[g_mdd.ports[i]] = i;
	rte_rcu_qsbr_thread_register(g_mdd.qs, w->idx);
	rte_rcu_qsbr_thread_online(g_mdd.qs, w->idx);

	while (!g_mdd.stop) {
		unsigned work = 0, n;

		/* no leg pointer survives a quiescent state: a removed leg is
		 * freed after the grace period */
		ws->last_leg = NULL;
		ws->now = t0;

		for (unsigned p = 0; p < g_mdd.n_ports; p++) {
			if (ws->queue >= g_mdd.port_nrxq[p])
				continue;
			n = rte_eth_rx_burst(g_mdd.ports[p], ws->queue, pkts, MDD_BURST);
			work += n;
			for (unsigned i = 0; i < n && i < PREFETCH_AHEAD; i++)
				prefetch_frame(pkts[i]);
			for (unsigned i = 0; i < n; i++) {
				if (i + PREFETCH_AHEAD < n)
					prefetch_frame(pkts[i + PREFETCH_AHEAD]);
				classify(w, ws, pkts[i], false);
			}
			process_media(w, ws);
		}
		n = rte_ring_dequeue_burst(w->handoff, (void **)pkts, MDD_BURST, NULL);
		if (n > 0) {
			work += n;
			CTR(w, handoff_in) += n;
			for (unsigned i = 0; i < n; i++)
				classify(w, ws, pkts[i], true);
			process_media(w, ws);
		}
		n = rte_ring_dequeue_burst(w->ctl_tx, (void **)pkts, MDD_BURST, NULL);
		for (unsigned i = 0; i < n; i++) {
			CTR(w, ctl_tx)++;
			tx_add(w, ws, pkts[i]->port, pkts[i]);
		}
		work += n;
		for (unsigned p = 0; p < g_mdd.n_ports; p++)
			tx_flush(w, ws, p);
		rte_rcu_qsbr_quiescent(g_mdd.qs, w->idx);
		t1 = rte_rdtsc();
		if (work)
			w->busy_cycles += t1 - t0;
		else
			w->idle_cycles += t1 - t0;
		t0 = t1;
	}
	rte_rcu_qsbr_thread_offline(g_mdd.qs, w->idx);
	rte_rcu_qsbr_thread_unregister(g_mdd.qs, w->idx);
	wstates[w->idx] = NULL;
	rte_free(ws);
	return 0;
}
