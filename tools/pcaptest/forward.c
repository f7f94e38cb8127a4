/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-pcaptest forward: a reference Media Distributor, one packet at a
 * time, in plain C with libperc. It reads what perc-mdd reads
 * (provision.json and the MDD's own address, port and MAC) plus in.pcap,
 * and writes what perc-mdd should write. It never reads an E2E key.
 *
 * It is the executable form of the forwarding rules in docs/pcaptest.md and
 * the oracle for perc-mdd's own tests; being per packet and table-free, it
 * makes no claim about speed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "perc/double.h"
#include "perc/ekt.h"
#include "perc/ohb.h"
#include "perc/rtcp.h"
#include "perc/rtp.h"
#include "perc/srtp.h"
#include "pcaptest.h"

#define CMD "forward"
#define INNER_TAG 16u

static const char usage_text[] =
	"usage: perc-pcaptest forward --dir DIR --out OUT.pcap [--quiet]\n"
	"\n"
	"The reference forwarder: reads DIR/provision.json, the \"mdd\" part of\n"
	"DIR/secrets.json (address, port, MAC: what perc-mdd has on its command\n"
	"line) and DIR/in.pcap; writes what a correct MDD sends to OUT.pcap.\n"
	"Per frame: L2-L4 checks, lookup of the sending endpoint, EKT field, outer\n"
	"(hop-by-hop) open with the endpoint's rx key (in a rekey: the current\n"
	"key, else the next one, which the first packet it opens makes current),\n"
	"then one copy per receiver, its RTP rewritten as the receiver's policy\n"
	"says (pt_map, seq_offset, marker; double profiles: the originals in the\n"
	"OHB, RFC 8723 §5.2), sealed with the receiver's tx key and the MDD's own\n"
	"ROC (following the new SEQ) / SRTCP index for that receiver. Prints its\n"
	"counters. When secrets.json lists bad frames, it also checks that each\n"
	"was dropped with its counter and that no other frame was dropped (exit 1\n"
	"otherwise).\n"
	"\n"
	"  --quiet        print only the summary line\n"
	"  --fault NAME   (tests of check) break one rule on purpose: fb-to-all\n"
	"                 (feedback to everybody), to-sender (a copy back to the\n"
	"                 sender too), no-reseal (forward the sender's bytes),\n"
	"                 roc (seal with ROC + 1), ekt (a Short EKT field on every\n"
	"                 copy), pt (rewrite PT to 100, recorded in the OHB),\n"
	"                 no-rewrite (ignore the receivers' rewrite policies),\n"
	"                 ohb (rewrite as asked, but leave one original out of\n"
	"                 the OHB: the SEQ, else the PT, else the marker),\n"
	"                 ohb-extra (rewrite as asked, but record the PT in the\n"
	"                 OHB even where it stays as sent)\n"
	"\n"
	"docs/pcaptest.md spells out the rules.\n";

enum { K_IN = 1, K_OUT = 2 };

/* rules broken on purpose, so that the tests can watch check notice */
enum fault { F_NONE = 0, F_FB_TO_ALL, F_TO_SENDER, F_NO_RESEAL, F_ROC, F_EKT, F_PT,
	     F_NO_REWRITE, F_OHB, F_OHB_EXTRA };
static const char *const fault_names[] = {
	"none", "fb-to-all", "to-sender", "no-reseal", "roc", "ekt", "pt", "no-rewrite", "ohb",
	"ohb-extra",
};

struct fwd {
	struct pt_world w;
	struct perc_engine *e;
	struct perc_key *rx, *tx;        /* per endpoint, one layer */
	struct perc_key *rx_next;        /* per endpoint: rx_key_next, if provisioned */
	struct perc_key **rx_cur;        /* per endpoint: the key tried first */
	struct perc_key **rx_alt;        /* per endpoint: next, then previous; or NULL */
	struct pt_streams streams;        /* (kind, ep, ssrc) -> replay / ROC state */
	struct pt_map learned;           /* (ssrc, conf) -> ep, beyond the listed */
	unsigned *active;                /* per endpoint: SSRCs bound */
	uint8_t (*mac)[6];               /* latched per endpoint */
	bool *latched;
	uint64_t cnt[PT_C__COUNT];
	uint64_t frames, accepted, out, no_mac;
	uint64_t rewritten, ohb_failed;  /* RTP copies rewritten; rewrites refused */
	uint64_t rekey_next, rekeys;     /* opened with the alternative key; promotions */
	struct pt_pcap outp;
	bool quiet;
	enum fault fault;
};

/* Which endpoint of conference conf sends ssrc (listed or learned); -1
 * when none. */
static int
owner_of(const struct fwd *f, unsigned conf, uint32_t ssrc)
{
	int o = pt_world_ep_by_ssrc(&f->w, (int)conf, ssrc);
	uint32_t *l;

	if (o >= 0)
		return o;
	l = pt_map_get(&f->learned, ssrc, conf, 0);
	return l ? (int)*l : -1;
}

/* The endpoint's stream of ssrc, binding a new SSRC within max_streams.
 * Returns PT_C_NONE or PT_C_STREAM_LIMIT. */
static int
bind_ssrc(struct fwd *f, unsigned ep, uint32_t ssrc)
{
	const struct pt_endpoint *e = &f->w.eps[ep];
	int owner = owner_of(f, e->conf, ssrc);

	/* an SSRC another endpoint of the conference sends is not to be had */
	if (owner >= 0)
		return (unsigned)owner == ep ? PT_C_NONE : PT_C_STREAM_LIMIT;
	if (f->active[ep] >= e->max_streams)
		return PT_C_STREAM_LIMIT;
	if (pt_map_put(&f->learned, ssrc, e->conf, 0, ep) != 0)
		return PT_C_STREAM_LIMIT;
	f->active[ep]++;
	return PT_C_NONE;
}


static int
emit(struct fwd *f, unsigned rcv, const uint8_t *payload, size_t plen, struct timeval ts)
{
	const struct pt_endpoint *r = &f->w.eps[rcv];
	uint8_t frame[PT_FRAME_MAX];
	size_t n;

	n = pt_frame_build(frame, sizeof(frame), f->mac[rcv], f->w.mdd_mac, &f->w.mdd, &r->addr,
			   payload, plen);
	if (n == 0 || pt_pcap_add(&f->outp, frame, n, ts) != 0)
		return -1;
	f->out++;
	return 0;
}

static int
srtp_counter(int reason)
{
	switch (reason) {
	case PERC_R_REPLAY:
	case PERC_R_TOO_OLD:
		return PT_C_SRTP_REPLAY;
	case PERC_R_MALFORMED:
		return PT_C_RTP_MALFORMED;
	default:
		return PT_C_SRTP_AUTH;
	}
}

/*
 * Open an input packet (op filled, key unset) with the endpoint's rx keys
 * the way perc-mdd does: the current key; when that fails authentication
 * and there is an alternative, the alternative. The first packet that opens
 * with the next key makes it current and the old one the alternative; the
 * old one stays valid (perc-mdd frees it 500 ms later, which a capture
 * replayed at speed does not reach). Returns a perc_reason.
 */
static int
open_rx(struct fwd *f, unsigned ep, struct perc_op *op)
{
	struct perc_op again = *op;
	struct perc_key *alt = f->rx_alt[ep];
	int r;

	op->key = f->rx_cur[ep];
	r = perc_engine_run1(f->e, op);
	if (r != PERC_R_AUTH || alt == NULL)
		return r;
	*op = again;
	op->key = alt;
	r = perc_engine_run1(f->e, op);
	if (r != PERC_R_OK)
		return r;
	f->rekey_next++;
	if (alt == &f->rx_next[ep]) {
		/* the endpoint sends with its next key now */
		f->rx_alt[ep] = f->rx_cur[ep];
		f->rx_cur[ep] = alt;
		f->rekeys++;
	}
	return r;
}

/* --fault ohb: leave one original out of the OHB at the end of p;
 * --fault ohb-extra: record the PT even where it did not change */
static void
ohb_spoil(const struct fwd *f, uint8_t *p, uint32_t *len, uint32_t h)
{
	struct perc_ohb o;

	if (perc_ohb_parse(p + h, *len - h, &o) != PERC_R_OK)
		return;
	*len -= o.len;
	if (f->fault == F_OHB_EXTRA) {
		if (!(o.config & PERC_OHB_P)) {
			o.config |= PERC_OHB_P;
			o.pt = p[1] & 0x7f;
		}
	} else if (o.config & PERC_OHB_Q)
		o.config &= (uint8_t)~PERC_OHB_Q;
	else if (o.config & PERC_OHB_P)
		o.config &= (uint8_t)~PERC_OHB_P;
	else
		o.config &= (uint8_t)~(PERC_OHB_M | PERC_OHB_B);
	*len += (uint32_t)perc_ohb_write(p + *len, &o);
}

/*
 * The receiver's rewrite of an opened RTP packet (p, *len bytes, h header
 * bytes; room for cap), as perc-mdd does it: PT through the receiver's
 * pt_map, SEQ + seq_offset, the marker cleared or set. Double profiles go
 * through perc_hop_rewrite (RFC 8723 §5.2: the first change of a field
 * records its original in the OHB, setting it to its original drops the
 * entry, fields left alone leave the OHB alone); single profiles are
 * rewritten as by a plain SFU. The receiver-side ROC follows the new SEQ,
 * as the receiver's stream seals it. Returns a perc_reason.
 */
static int
rewrite(const struct fwd *f, bool dbl, const struct pt_rewrite *rw, uint8_t *p, uint32_t *len,
	uint32_t cap, uint32_t h)
{
	uint8_t pt = p[1] & 0x7f;
	uint16_t seq = pt_get16(p + 2);
	struct perc_hop_change c = {
		.pt = rw->listed[pt] ? rw->pt_map[pt] : -1,
		.seq = rw->seq_offset ? (uint16_t)(seq + rw->seq_offset) : -1,
		.marker = rw->marker,
	};
	int r;

	if (dbl) {
		r = perc_hop_rewrite(p, len, cap, h, &c);
		if (r == PERC_R_OK && (f->fault == F_OHB || f->fault == F_OHB_EXTRA))
			ohb_spoil(f, p, len, h);
		return r;
	}
	if (c.pt >= 0)
		p[1] = (uint8_t)((p[1] & 0x80) | c.pt);
	if (c.marker >= 0)
		p[1] = (uint8_t)((p[1] & 0x7f) | (c.marker ? 0x80 : 0));
	if (c.seq >= 0)
		pt_put16(p + 2, (uint16_t)c.seq);
	return PERC_R_OK;
}

static void
latch(struct fwd *f, unsigned ep, const struct pt_frame *pf)
{
	memcpy(f->mac[ep], pf->src_mac, 6);
	f->latched[ep] = true;
}

static int
do_rtp(struct fwd *f, unsigned ep, const struct pt_frame *pf, struct timeval ts)
{
	const struct pt_endpoint *e = &f->w.eps[ep];
	const struct pt_conf *cf = &f->w.confs[e->conf];
	const uint8_t *p = pf->payload;
	uint8_t plain[PT_FRAME_MAX], out[PT_FRAME_MAX], rw[PT_FRAME_MAX];
	size_t ekt_len = 0, body, min;
	uint32_t h, ssrc;
	struct perc_op op;
	int c, r;

	if (e->ekt) {
		int n = perc_ekt_field_len(p, pf->plen);

		if (n < 0)
			return -n == PERC_R_TRUNCATED ? PT_C_RTP_MALFORMED : PT_C_EKT_INVALID;
		ekt_len = (size_t)n;
	}
	body = pf->plen - ekt_len;
	h = perc_rtp_hdr_len(p, (uint32_t)body);
	min = (size_t)h + e->layer->rtp_tag_len + (e->prof->is_double ? INNER_TAG + 1 : 0);
	if (h == 0 || body < min)
		return PT_C_RTP_MALFORMED;
	ssrc = pt_get32(p + 8);
	c = bind_ssrc(f, ep, ssrc);
	if (c != PT_C_NONE)
		return c;
	memset(&op, 0, sizeof(op));
	op.stream = pt_streams_get(&f->streams, K_IN, ep, ssrc);
	op.src = p;
	op.dst = plain;
	op.len = (uint32_t)body;
	op.cap = sizeof(plain);
	op.type = PERC_OP_RTP_UNPROTECT;
	if (op.stream == NULL)
		return PT_C_SRTP_AUTH;
	r = open_rx(f, ep, &op);
	if (r != PERC_R_OK)
		return srtp_counter(r);
	if (e->prof->is_double) {
		struct perc_ohb o;

		if (perc_ohb_parse(plain + h, op.len - h, &o) != PERC_R_OK)
			return PT_C_RTP_MALFORMED;
	}
	latch(f, ep, pf);
	if (f->fault == F_PT && e->prof->is_double) {
		const struct perc_hop_change chg = { .pt = 100, .seq = -1, .marker = -1 };
		uint32_t n = op.len;

		if (perc_hop_rewrite(plain, &n, sizeof(plain) - 64, h, &chg) == PERC_R_OK)
			op.len = n;
	}
	for (unsigned i = cf->first_ep; i < cf->first_ep + cf->n_eps; i++) {
		const struct pt_rewrite *pol = &f->w.eps[i].rw;
		const uint8_t *src = plain;
		uint32_t slen = op.len;
		struct perc_op so;
		size_t el;

		if (i == ep && f->fault != F_TO_SENDER)
			continue;
		if (!f->latched[i]) {
			f->no_mac++;
			continue;
		}
		if (f->fault == F_NO_RESEAL) {
			if (emit(f, i, p, pf->plen, ts) != 0)
				return -1;
			continue;
		}
		if (pol->any && f->fault != F_NO_REWRITE) {
			memcpy(rw, plain, op.len);
			r = rewrite(f, e->prof->is_double, pol, rw, &slen, sizeof(rw) - 64, h);
			if (r != PERC_R_OK) {
				fprintf(stderr, "perc-pcaptest forward: rewrite for %s failed: %s\n",
					f->w.eps[i].id, perc_reason_name((unsigned)r));
				f->ohb_failed++;
				continue;
			}
			src = rw;
			f->rewritten++;
		}
		memset(&so, 0, sizeof(so));
		so.key = &f->tx[i];
		so.stream = pt_streams_get(&f->streams, K_OUT, i, ssrc);
		so.src = src;
		so.dst = out;
		so.len = slen;
		so.cap = (uint32_t)(sizeof(out) - ekt_len);
		so.type = PERC_OP_RTP_PROTECT;
		if (f->fault == F_ROC) {
			so.flags = PERC_OPF_INDEX;
			so.index = op.index + 0x10000;
		}
		if (so.stream == NULL || perc_engine_run1(f->e, &so) != PERC_R_OK) {
			fprintf(stderr, "perc-pcaptest forward: sealing for %s failed: %s\n",
				f->w.eps[i].id, perc_reason_name(so.reason));
			continue;
		}
		el = ekt_len;
		memcpy(out + so.len, p + body, el);
		if (f->fault == F_EKT && el > 0) {
			out[so.len] = PERC_EKT_SHORT;
			el = 1;
		}
		if (emit(f, i, out, so.len + el, ts) != 0)
			return -1;
	}
	return PT_C_NONE;
}

/* feedback naming a media source: RTPFB 1 (NACK), PSFB 1 (PLI), PSFB 4 (FIR) */
static bool
is_feedback(const struct perc_rtcp_pkt *k)
{
	return (k->pt == PERC_RTCP_RTPFB && k->count == 1) ||
	       (k->pt == PERC_RTCP_PSFB && (k->count == 1 || k->count == 4));
}

static int
do_rtcp(struct fwd *f, unsigned ep, const struct pt_frame *pf, struct timeval ts)
{
	const struct pt_endpoint *e = &f->w.eps[ep];
	const struct pt_conf *cf = &f->w.confs[e->conf];
	struct perc_rtcp_pkt pk[PERC_RTCP_MAX_PKTS];
	uint8_t plain[PT_FRAME_MAX], out[PT_FRAME_MAX];
	int target = -1, n, r;
	struct perc_op op;
	uint32_t ssrc;

	if (pf->plen < 8)
		return PT_C_RTP_MALFORMED;
	ssrc = pt_get32(pf->payload + 4);
	memset(&op, 0, sizeof(op));
	op.stream = pt_streams_get(&f->streams, K_IN, ep, ssrc);
	op.src = pf->payload;
	op.dst = plain;
	op.len = (uint32_t)pf->plen;
	op.cap = sizeof(plain);
	op.type = PERC_OP_RTCP_UNPROTECT;
	if (op.stream == NULL)
		return PT_C_SRTP_AUTH;
	r = open_rx(f, ep, &op);
	if (r != PERC_R_OK)
		return srtp_counter(r);
	n = perc_rtcp_parse(plain, op.len, pk, PERC_RTCP_MAX_PKTS);
	if (n < 0)
		return PT_C_RTP_MALFORMED;
	for (int i = 0; i < n; i++) {
		if (!is_feedback(&pk[i]))
			continue;
		target = owner_of(f, e->conf, pk[i].media_ssrc);
		if (target < 0 || (unsigned)target == ep)
			return PT_C_FB_NO_TARGET;
		break;
	}
	if (f->fault == F_FB_TO_ALL)
		target = -1;
	latch(f, ep, pf);
	for (unsigned i = cf->first_ep; i < cf->first_ep + cf->n_eps; i++) {
		struct perc_op so;

		if ((i == ep && f->fault != F_TO_SENDER) || (target >= 0 && i != (unsigned)target))
			continue;
		if (!f->latched[i]) {
			f->no_mac++;
			continue;
		}
		memset(&so, 0, sizeof(so));
		so.key = &f->tx[i];
		so.stream = pt_streams_get(&f->streams, K_OUT, i, ssrc);
		so.src = plain;
		so.dst = out;
		so.len = op.len;
		so.cap = sizeof(out);
		so.type = PERC_OP_RTCP_PROTECT;
		if (so.stream == NULL || perc_engine_run1(f->e, &so) != PERC_R_OK) {
			fprintf(stderr, "perc-pcaptest forward: SRTCP sealing for %s failed: %s\n",
				f->w.eps[i].id, perc_reason_name(so.reason));
			continue;
		}
		if (emit(f, i, out, so.len, ts) != 0)
			return -1;
	}
	return PT_C_NONE;
}

/* One input frame: PT_C_NONE when accepted, else the drop counter; -1 on
 * an internal failure. */
static int
do_frame(struct fwd *f, const struct pt_pkt *pk)
{
	struct pt_frame pf;
	size_t al;
	int c, ep;

	c = pt_frame_parse(pk->data, pk->len, &pf);
	if (c != PT_C_NONE)
		return c;
	if (pf.kind != PT_F_UDP)
		return PT_C_NOT_OURS;   /* ARP, ND, other protocols: the control plane's */
	if (!pf.ip_csum_ok || !pf.udp_csum_ok || (pf.family == AF_INET6 && pf.udp_csum_zero))
		return PT_C_BAD_CHECKSUM;
	al = pf.family == AF_INET6 ? 16 : 4;
	if (pf.family != f->w.mdd.family || memcmp(pf.dst_ip, f->w.mdd.ip, al) != 0 ||
	    pf.dport != f->w.mdd.port)
		return PT_C_NOT_OURS;
	if (pf.plen > PT_MTU_PAYLOAD)
		return PT_C_OVERSIZED;
	ep = pt_world_ep_by_addr(&f->w, pf.family, pf.src_ip, pf.sport);
	if (ep < 0)
		return PT_C_UNKNOWN_ENDPOINT;
	if (pf.plen == 0 || (pf.payload[0] >> 6) != 2)
		return PT_C_RTP_BAD_VERSION;
	if (pf.plen >= 2 && pf.payload[1] >= 192 && pf.payload[1] <= 223)
		return do_rtcp(f, (unsigned)ep, &pf, pk->ts);
	return do_rtp(f, (unsigned)ep, &pf, pk->ts);
}

static int
load(struct fwd *f, const char *dir)
{
	char path[4096], err[512];

	if (pt_secrets_load_mdd(pt_path(path, sizeof(path), dir, "secrets.json"), &f->w, err,
				sizeof(err)) != 0 ||
	    pt_provision_load(pt_path(path, sizeof(path), dir, "provision.json"), &f->w, err,
			      sizeof(err)) != 0) {
		fprintf(stderr, "perc-pcaptest forward: %s\n", err);
		return -1;
	}
	f->rx = aligned_alloc(64, f->w.n_eps * sizeof(*f->rx));
	f->tx = aligned_alloc(64, f->w.n_eps * sizeof(*f->tx));
	f->rx_next = aligned_alloc(64, f->w.n_eps * sizeof(*f->rx_next));
	f->rx_cur = calloc(f->w.n_eps, sizeof(*f->rx_cur));
	f->rx_alt = calloc(f->w.n_eps, sizeof(*f->rx_alt));
	f->active = calloc(f->w.n_eps, sizeof(*f->active));
	f->mac = calloc(f->w.n_eps, sizeof(*f->mac));
	f->latched = calloc(f->w.n_eps, sizeof(*f->latched));
	if (!f->rx || !f->tx || !f->rx_next || !f->rx_cur || !f->rx_alt || !f->active || !f->mac ||
	    !f->latched) {
		fprintf(stderr, "perc-pcaptest forward: out of memory\n");
		return -1;
	}
	memset(f->rx, 0, f->w.n_eps * sizeof(*f->rx));
	memset(f->tx, 0, f->w.n_eps * sizeof(*f->tx));
	memset(f->rx_next, 0, f->w.n_eps * sizeof(*f->rx_next));
	for (unsigned i = 0; i < f->w.n_eps; i++) {
		const struct pt_endpoint *e = &f->w.eps[i];
		int r = perc_key_init(&f->rx[i], f->e, e->layer, e->rx_key, e->rx_salt);

		if (r == PERC_R_OK)
			r = perc_key_init(&f->tx[i], f->e, e->layer, e->tx_key, e->tx_salt);
		if (r == PERC_R_OK && e->has_rx_next) {
			r = perc_key_init(&f->rx_next[i], f->e, e->layer, e->rx_key_next,
					  e->rx_salt_next);
			f->rx_alt[i] = &f->rx_next[i];
		}
		f->rx_cur[i] = &f->rx[i];
		if (r != PERC_R_OK) {
			fprintf(stderr, "perc-pcaptest forward: keys of %s: %s\n", e->id,
				perc_reason_name((unsigned)r));
			return -1;
		}
		f->active[i] = e->n_ssrcs;
	}
	return 0;
}

/* Compare each frame's fate with secrets.json's "bad" list. */
static int
verify_drops(const struct fwd *f, const int *fate, size_t n)
{
	int *want = calloc(n + 1, sizeof(*want));
	unsigned bad = 0;

	if (want == NULL)
		return -1;
	for (unsigned i = 0; i < f->w.n_bad; i++)
		if (f->w.bad[i].frame <= n)
			want[f->w.bad[i].frame - 1] = f->w.bad[i].counter;
	for (size_t i = 0; i < n; i++) {
		if (fate[i] == want[i])
			continue;
		if (bad++ < 20)
			fprintf(stderr, "forward: in.pcap frame %zu: %s%s, secrets.json says %s\n",
				i + 1, fate[i] ? "dropped as " : "accepted",
				fate[i] ? pt_counter_name(fate[i]) : "",
				want[i] ? pt_counter_name(want[i]) : "valid");
	}
	free(want);
	if (bad)
		fprintf(stderr, "forward: %u frames were not treated as secrets.json says\n", bad);
	return bad ? 1 : 0;
}

static void
fwd_free(struct fwd *f)
{
	for (unsigned i = 0; f->rx && f->tx && f->rx_next && i < f->w.n_eps; i++) {
		perc_key_clear(&f->rx[i]);
		perc_key_clear(&f->tx[i]);
		perc_key_clear(&f->rx_next[i]);
	}
	free(f->rx);
	free(f->tx);
	free(f->rx_next);
	free(f->rx_cur);
	free(f->rx_alt);
	free(f->active);
	free(f->mac);
	free(f->latched);
	pt_streams_free(&f->streams);
	pt_map_free(&f->learned);
	pt_pcap_free(&f->outp);
	pt_world_free(&f->w);
	if (f->e)
		perc_engine_destroy(f->e);
}

static const struct option long_opts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "out", required_argument, NULL, 'o' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "fault", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int
pt_cmd_forward(int argc, char **argv)
{
	const char *dir = NULL, *outp = NULL;
	struct pt_pcap in = { 0 };
	struct fwd f;
	char path[4096], err[512];
	int c, rc = PT_EX_FAIL, *fate = NULL;

	memset(&f, 0, sizeof(f));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'o':
			outp = optarg;
			break;
		case 'q':
			f.quiet = true;
			break;
		case 'f': {
			unsigned k;

			for (k = 1; k < sizeof(fault_names) / sizeof(fault_names[0]); k++)
				if (strcmp(optarg, fault_names[k]) == 0)
					break;
			if (k == sizeof(fault_names) / sizeof(fault_names[0]))
				return pt_usage_error(CMD, "unknown --fault '%s'", optarg);
			f.fault = (enum fault)k;
			break;
		}
		case 'h':
			fputs(usage_text, stdout);
			return PT_EX_OK;
		default:
			return pt_usage_hint(CMD);
		}
	}
	if (optind < argc)
		return pt_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
	if (dir == NULL || outp == NULL)
		return pt_usage_error(CMD, "--dir DIR and --out OUT.pcap are required");
	f.e = perc_engine_create(PERC_ARCH_AUTO);
	if (f.e == NULL) {
		fprintf(stderr, "perc-pcaptest forward: no crypto engine\n");
		return PT_EX_FAIL;
	}
	if (load(&f, dir) != 0) {
		rc = PT_EX_USAGE;
		goto out;
	}
	if (pt_pcap_read(pt_path(path, sizeof(path), dir, "in.pcap"), &in, err, sizeof(err)) != 0) {
		fprintf(stderr, "perc-pcaptest forward: %s\n", err);
		rc = PT_EX_USAGE;
		goto out;
	}
	fate = calloc(in.n + 1, sizeof(*fate));
	if (fate == NULL)
		goto out;
	for (size_t i = 0; i < in.n; i++) {
		int r = do_frame(&f, &in.p[i]);

		if (r < 0) {
			fprintf(stderr, "perc-pcaptest forward: out of memory at frame %zu\n", i + 1);
			goto out;
		}
		fate[i] = r;
		f.frames++;
		if (r == PT_C_NONE)
			f.accepted++;
		else
			f.cnt[r]++;
	}
	if (pt_pcap_write(outp, &f.outp, err, sizeof(err)) != 0) {
		fprintf(stderr, "perc-pcaptest forward: %s\n", err);
		goto out;
	}
	if (f.fault != F_NONE)
		printf("forward: breaking a rule on purpose (--fault %s)\n", fault_names[f.fault]);
	printf("forward: %llu frames in, %llu accepted, %llu dropped, %llu frames out, %llu copies skipped (receiver MAC not yet known)\n",
	       (unsigned long long)f.frames, (unsigned long long)f.accepted,
	       (unsigned long long)(f.frames - f.accepted), (unsigned long long)f.out,
	       (unsigned long long)f.no_mac);
	if (f.rewritten || f.ohb_failed)
		printf("forward: %llu RTP copies rewritten for their receiver (pt_map, seq_offset, marker), %llu rewrites failed\n",
		       (unsigned long long)f.rewritten, (unsigned long long)f.ohb_failed);
	if (f.rekey_next)
		printf("forward: %llu packets opened with the alternative rx key, %llu endpoints switched to their next key\n",
		       (unsigned long long)f.rekey_next, (unsigned long long)f.rekeys);
	if (!f.quiet)
		for (int k = PT_C_NONE + 1; k < PT_C__COUNT; k++)
			if (f.cnt[k])
				printf("  %-18s %llu\n", pt_counter_name(k), (unsigned long long)f.cnt[k]);
	rc = verify_drops(&f, fate, in.n) == 0 ? PT_EX_OK : PT_EX_FAIL;
out:
	free(fate);
	pt_pcap_free(&in);
	fwd_free(&f);
	return rc;
}
