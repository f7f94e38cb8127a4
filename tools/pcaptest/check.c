/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-pcaptest check: judge what a Media Distributor wrote. It first opens
 * every valid frame of in.pcap with the sender's keys (so it knows exactly
 * what each sender sent, and under which ROC), works out who is owed a
 * copy of each, then opens every frame of OUT.pcap the way its receiver
 * would: outer layer with the receiver's tx key and a receiver-side stream
 * per (receiver, SSRC), OHB, inner layer with the sender's E2E key.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "perc/ekt.h"
#include "perc/ohb.h"
#include "perc/rtcp.h"
#include "perc/rtp.h"
#include "perc/srtp.h"
#include "pcaptest.h"

#define CMD "check"
#define INNER_TAG 16u
#define MAX_PROBLEMS 20u
#define NONE UINT32_MAX
#define MAX_SRC_MACS 4u

static const char usage_text[] =
	"usage: perc-pcaptest check --dir DIR --out OUT.pcap [--out OUT2.pcap ...]\n"
	"\n"
	"Verifies every frame a Media Distributor wrote (OUT.pcap) against what\n"
	"the endpoints sent (DIR/in.pcap) and every key (DIR/secrets.json):\n"
	"Ethernet dst = the receiver's MAC; IP/UDP from the MDD's address and\n"
	"port to a provisioned endpoint, checksums right (UDP: mandatory for IPv6,\n"
	"checked when non-zero for IPv4); RTP: outer layer opens with the\n"
	"receiver's tx key (receiver-side ROC per SSRC, following the SEQ as\n"
	"received), OHB parses, original header restored, inner layer opens with\n"
	"the sender's E2E key, payload and EKT field as the sender sent them;\n"
	"PT / SEQ / marker as the receiver's rewrite policy says (pt_map,\n"
	"seq_offset, marker; none: as sent) and the OHB holding exactly the\n"
	"originals RFC 8723 §5.2 wants; RTCP: opens with the receiver's tx\n"
	"key, compound as sent, feedback only to the owner of the SSRC it names.\n"
	"Every receiver must get every packet it is owed exactly once, and no\n"
	"endpoint its own; bad frames of in.pcap must produce nothing.\n"
	"\n"
	"Prints a summary and the first 20 problems. Exit status: 0 all right,\n"
	"1 a problem found, 2 bad usage or unreadable input.\n";

enum { R_RTP = 0, R_RTCP };

/* what one valid frame of in.pcap carried */
struct rec {
	unsigned frame;         /* 1-based in in.pcap */
	unsigned ep;            /* sender */
	uint8_t kind;
	uint8_t ekt_len;
	uint16_t seq;
	uint32_t ssrc;
	uint64_t index;         /* RTP: the sender's ROC << 16 | SEQ */
	uint8_t *hdr;           /* RTP header as sent; RTCP: the plain compound */
	uint32_t hdr_len;       /* RTP header bytes; RTCP compound bytes */
	uint32_t plen;          /* RTP payload bytes */
	uint8_t ekt[PERC_EKT_FIELD_MAX];
	int target;             /* RTCP feedback: the endpoint it goes to; else -1 */
	char what[48];          /* RTCP: "SR+SDES", "PLI naming ssrc N", ... */
	uint32_t next;          /* next rec with the same (ssrc, seq) / body hash */
	uint16_t *cnt;          /* deliveries per position in the conference */
};

struct chk {
	struct pt_world w;
	struct perc_engine *e;
	struct perc_key *rx, *tx, *e2e;   /* per endpoint */
	struct perc_key *rxn;             /* per endpoint: rx_key_next (a rekey) */
	uint64_t rekey_next;              /* input packets sent with the next key */
	unsigned *first_valid;            /* per endpoint: first valid frame, or 0 */
	struct rec *r;
	size_t nr, capr;
	struct pt_map by_seq;             /* (ssrc, seq) -> first rec */
	struct pt_map by_body;            /* (hash, len) -> first rec */
	struct pt_map bad_rtp;            /* (ssrc, seq) -> bad frame number */
	struct pt_map bad_ssrc;           /* ssrc -> bad frame number */
	struct pt_streams streams;        /* (kind, ep, ssrc) -> replay / ROC state */
	uint64_t frames, rtp, rtcp, control, wrong;
	/* RTP frames that passed to receivers with a policy: the fields changed
	 * (double: the OHB entries P, Q, M with B = 0, M with B = 1) and the
	 * fields the policy named but left at their original value */
	uint64_t rw_frames, rw_pt, rw_seq, rw_m0, rw_m1, rw_kept;
	uint8_t src_macs[MAX_SRC_MACS][6];
	uint64_t src_mac_n[MAX_SRC_MACS];
	unsigned n_src_macs;
	uint64_t problems;
	char prob[MAX_PROBLEMS][512];
	unsigned cur_frame;               /* OUT.pcap frame being judged */
};

static int
die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
die(const char *fmt, ...)
{
	va_list ap;

	fputs("perc-pcaptest check: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static void
note_problem(struct chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note_problem(struct chk *c, const char *fmt, ...)
{
	va_list ap;

	if (c->problems < MAX_PROBLEMS) {
		va_start(ap, fmt);
		vsnprintf(c->prob[c->problems], sizeof(c->prob[0]), fmt, ap);
		va_end(ap);
	}
	c->problems++;
}

/* One output frame is wrong: say who, what and why. */
static void
wrong(struct chk *c, int sender, int rcv, uint32_t ssrc, long seq, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void
wrong(struct chk *c, int sender, int rcv, uint32_t ssrc, long seq, const char *fmt, ...)
{
	char msg[400], s_seq[24];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (seq >= 0)
		snprintf(s_seq, sizeof(s_seq), "%ld", seq);
	else
		snprintf(s_seq, sizeof(s_seq), "-");
	note_problem(c, "wrong: out frame %u: sender %s, receiver %s, ssrc %u, seq %s: %s",
		     c->cur_frame, sender >= 0 ? c->w.eps[sender].id : "?",
		     rcv >= 0 ? c->w.eps[rcv].id : "?", ssrc, s_seq, msg);
	c->wrong++;
}

/* ---- crypto helpers ---- */

/* Open one SRTP/SRTCP layer out of place with an explicit RTP index (or, for
 * SRTCP, the index in the packet). Returns a perc_reason. */
static int
open_at(struct chk *c, const struct perc_key *k, bool rtcp, uint64_t index, const uint8_t *src,
	uint32_t len, uint8_t *dst, uint32_t cap, uint32_t *out_len)
{
	struct perc_op op = {
		.key = k, .src = src, .dst = dst, .len = len, .cap = cap,
		.type = rtcp ? PERC_OP_RTCP_UNPROTECT : PERC_OP_RTP_UNPROTECT,
		.flags = PERC_OPF_INDEX, .index = index,
	};
	int r = perc_engine_run1(c->e, &op);

	if (r == PERC_R_OK)
		*out_len = op.len;
	return r;
}

/*
 * The inner (E2E) layer of RFC 8723: hdr is the header as the sender built
 * it, ct the ct_len bytes of ciphertext followed by the 16-byte inner tag.
 * The synthetic header (X cleared, no extension) is the AAD. Writes the
 * payload to out. Returns a perc_reason.
 */
static int
inner_open(struct chk *c, const struct perc_key *k, const uint8_t *hdr, const uint8_t *ct,
	   uint32_t ct_len, uint32_t roc, uint8_t *out)
{
	uint8_t synth[PERC_RTP_FIXED + 60], iv[12], tag[16];
	uint32_t slen = PERC_RTP_FIXED + 4u * (hdr[0] & 0x0fu);
	uint16_t seq = pt_get16(hdr + 2);

	memcpy(synth, hdr, slen);
	synth[0] &= (uint8_t)~0x10u;
	memset(iv, 0, 2);
	memcpy(iv + 2, hdr + 8, 4);
	pt_put32(iv + 6, roc);
	pt_put16(iv + 10, seq);
	for (int i = 0; i < 12; i++)
		iv[i] ^= k->rtp_salt[i];
	memcpy(tag, ct + ct_len, 16);
	return perc_engine_gcm(c->e, &k->u.gcm.rtp, k->prof->key_len, false, iv, synth, slen,
			       ct, out, ct_len, tag);
}

/* ---- in.pcap: what was sent ---- */

/*
 * Open an input packet (op filled, key unset) with the sender's rx key,
 * or, for an endpoint in a rekey, with whichever of its current and next
 * key opens it; then hold that against secrets.json, which says from which
 * RTP index / SRTCP index on the endpoint sends with the next key. Returns
 * a perc_reason; *why is set when the key used is not the one the secrets
 * name.
 */
static int
open_sent(struct chk *c, unsigned ep, struct perc_op *op, const char **why)
{
	const struct pt_endpoint *e = &c->w.eps[ep];
	struct perc_op again = *op;
	bool next = false, want;
	int r;

	*why = NULL;
	op->key = &c->rx[ep];
	r = perc_engine_run1(c->e, op);
	if (r == PERC_R_AUTH && e->has_rx_next) {
		*op = again;
		op->key = &c->rxn[ep];
		r = perc_engine_run1(c->e, op);
		next = true;
	}
	if (r != PERC_R_OK || !e->has_rx_next)
		return r;
	if (op->type == PERC_OP_RTCP_UNPROTECT)
		want = op->index >= e->rekey_srtcp;
	else
		want = op->index >= e->rekey_index;
	if (next != want)
		*why = next ? "opens with rx_key_next, but secrets.json says the sender still used rx_key"
			    : "opens with rx_key, but secrets.json says the sender had switched to rx_key_next";
	if (next)
		c->rekey_next++;
	return r;
}

static struct rec *
new_rec(struct chk *c)
{
	if (c->nr == c->capr) {
		size_t cap = c->capr ? 2 * c->capr : 1024;
		struct rec *n = realloc(c->r, cap * sizeof(*n));

		if (n == NULL)
			return NULL;
		c->r = n;
		c->capr = cap;
	}
	memset(&c->r[c->nr], 0, sizeof(c->r[0]));
	c->r[c->nr].next = NONE;
	c->r[c->nr].target = -1;
	return &c->r[c->nr];
}

/* link the newest rec into a chain map */
static int
chain(struct pt_map *m, struct rec *all, uint32_t ri, uint64_t a, uint64_t b)
{
	uint32_t *v = pt_map_get(m, a, b, 0);

	if (v == NULL)
		return pt_map_put(m, a, b, 0, ri);
	while (all[*v].next != NONE)
		v = &all[*v].next;
	*v = ri;
	return 0;
}

static int
sent_rtp(struct chk *c, unsigned frame, unsigned ep, const struct pt_frame *pf)
{
	const struct pt_endpoint *e = &c->w.eps[ep];
	const uint8_t *p = pf->payload;
	uint8_t plain[PT_FRAME_MAX], pay[PT_FRAME_MAX], want[PT_FRAME_MAX];
	size_t ekt_len = 0, body;
	uint32_t h, n, ssrc;
	const char *why;
	struct perc_op op;
	struct rec *rc;
	int r;

	if (e->ekt) {
		int x = perc_ekt_field_len(p, pf->plen);

		if (x < 0)
			return die("in.pcap frame %u (from %s, not listed as bad): EKT field invalid", frame, e->id);
		ekt_len = (size_t)x;
	}
	body = pf->plen - ekt_len;
	h = perc_rtp_hdr_len(p, (uint32_t)body);
	if (h == 0)
		return die("in.pcap frame %u (from %s, not listed as bad): RTP header malformed", frame, e->id);
	ssrc = pt_get32(p + 8);
	memset(&op, 0, sizeof(op));
	op.stream = pt_streams_get(&c->streams, 0, ep, ssrc);
	op.src = p;
	op.dst = plain;
	op.len = (uint32_t)body;
	op.cap = sizeof(plain);
	op.type = PERC_OP_RTP_UNPROTECT;
	r = op.stream ? open_sent(c, ep, &op, &why) : PERC_R_NO_ROOM;
	if (r != PERC_R_OK)
		return die("in.pcap frame %u (from %s ssrc %u, not listed as bad) does not open with its rx key%s: %s",
			   frame, e->id, ssrc, e->has_rx_next ? " or its rx_key_next" : "",
			   perc_reason_name((unsigned)r));
	if (why != NULL)
		return die("in.pcap frame %u (from %s ssrc %u seq %u, index %llu) %s from index %llu (round %u)",
			   frame, e->id, ssrc, pt_get16(p + 2), (unsigned long long)op.index, why,
			   (unsigned long long)e->rekey_index, e->rekey_round);
	n = op.len;
	rc = new_rec(c);
	if (rc == NULL)
		return die("out of memory");
	rc->frame = frame;
	rc->ep = ep;
	rc->kind = R_RTP;
	rc->ssrc = ssrc;
	rc->seq = pt_get16(p + 2);
	rc->index = op.index;
	rc->hdr_len = h;
	rc->ekt_len = (uint8_t)ekt_len;
	memcpy(rc->ekt, p + body, ekt_len);
	if (e->prof->is_double) {
		struct perc_ohb o;

		if (perc_ohb_parse(plain + h, n - h, &o) != PERC_R_OK || o.config != 0 ||
		    n - h < INNER_TAG + 1)
			return die("in.pcap frame %u: the sender's OHB is not the empty 0x00", frame);
		n -= 1 + INNER_TAG;
		r = inner_open(c, &c->e2e[ep], plain, plain + h, n - h, (uint32_t)(op.index >> 16), pay);
		if (r != PERC_R_OK)
			return die("in.pcap frame %u (from %s ssrc %u) does not open with its E2E key: %s",
				   frame, e->id, ssrc, perc_reason_name((unsigned)r));
	} else {
		memcpy(pay, plain + h, n - h);
	}
	rc->plen = n - h;
	pt_payload_fill(ssrc, rc->seq, want, rc->plen);
	if (memcmp(want, pay, rc->plen) != 0)
		return die("in.pcap frame %u (from %s ssrc %u seq %u): payload does not follow the payload rule",
			   frame, e->id, ssrc, rc->seq);
	rc->hdr = malloc(h);
	if (rc->hdr == NULL)
		return die("out of memory");
	memcpy(rc->hdr, p, h);
	if (chain(&c->by_seq, c->r, (uint32_t)c->nr, ssrc, rc->seq) != 0)
		return die("out of memory");
	c->nr++;
	return 0;
}

static bool
is_feedback(const struct perc_rtcp_pkt *k)
{
	return (k->pt == PERC_RTCP_RTPFB && k->count == 1) ||
	       (k->pt == PERC_RTCP_PSFB && (k->count == 1 || k->count == 4));
}

static void
describe_rtcp(const struct perc_rtcp_pkt *pk, int n, char *out, size_t len)
{
	size_t o = 0;

	out[0] = 0;
	for (int i = 0; i < n && o < len; i++) {
		const char *name;

		switch (pk[i].pt) {
		case PERC_RTCP_SR: name = "SR"; break;
		case PERC_RTCP_RR: name = "RR"; break;
		case PERC_RTCP_SDES: name = "SDES"; break;
		case PERC_RTCP_BYE: name = "BYE"; break;
		case PERC_RTCP_RTPFB: name = pk[i].count == 1 ? "NACK" : "RTPFB"; break;
		case PERC_RTCP_PSFB:
			name = pk[i].count == 1 ? "PLI" : pk[i].count == 4 ? "FIR" : "PSFB";
			break;
		default: name = "RTCP"; break;
		}
		if (is_feedback(&pk[i]))
			o += (size_t)snprintf(out + o, len - o, "%s%s naming ssrc %u", i ? "+" : "",
					      name, pk[i].media_ssrc);
		else
			o += (size_t)snprintf(out + o, len - o, "%s%s", i ? "+" : "", name);
	}
}

static int
sent_rtcp(struct chk *c, unsigned frame, unsigned ep, const struct pt_frame *pf)
{
	const struct pt_endpoint *e = &c->w.eps[ep];
	struct perc_rtcp_pkt pk[PERC_RTCP_MAX_PKTS];
	uint8_t plain[PT_FRAME_MAX];
	struct perc_op op = {
		.src = pf->payload, .dst = plain, .len = (uint32_t)pf->plen, .cap = sizeof(plain),
		.type = PERC_OP_RTCP_UNPROTECT, .flags = PERC_OPF_INDEX,
	};
	const char *why;
	uint32_t n;
	struct rec *rc;
	int r, np;

	r = open_sent(c, ep, &op, &why);
	if (r != PERC_R_OK)
		return die("in.pcap frame %u (SRTCP from %s, not listed as bad) does not open with its rx key%s: %s",
			   frame, e->id, e->has_rx_next ? " or its rx_key_next" : "",
			   perc_reason_name((unsigned)r));
	if (why != NULL)
		return die("in.pcap frame %u (SRTCP from %s, index %llu) %s from SRTCP index %u (round %u)",
			   frame, e->id, (unsigned long long)op.index, why, e->rekey_srtcp,
			   e->rekey_round);
	n = op.len;
	np = perc_rtcp_parse(plain, n, pk, PERC_RTCP_MAX_PKTS);
	if (np < 0)
		return die("in.pcap frame %u (SRTCP from %s): the compound does not parse", frame, e->id);
	rc = new_rec(c);
	if (rc == NULL)
		return die("out of memory");
	rc->frame = frame;
	rc->ep = ep;
	rc->kind = R_RTCP;
	rc->ssrc = pt_get32(plain + 4);
	describe_rtcp(pk, np, rc->what, sizeof(rc->what));
	for (int i = 0; i < np; i++) {
		int o;

		if (!is_feedback(&pk[i]))
			continue;
		o = pt_world_ep_by_ssrc(&c->w, (int)e->conf, pk[i].media_ssrc);
		if (o < 0 || (unsigned)o == ep)
			return die("in.pcap frame %u (from %s): feedback names ssrc %u, which no other endpoint of its conference sends",
				   frame, e->id, pk[i].media_ssrc);
		rc->target = o;
		break;
	}
	rc->hdr = malloc(n);
	if (rc->hdr == NULL)
		return die("out of memory");
	memcpy(rc->hdr, plain, n);
	rc->hdr_len = n;
	if (chain(&c->by_body, c->r, (uint32_t)c->nr, pt_fnv64(plain, n), n) != 0)
		return die("out of memory");
	c->nr++;
	return 0;
}

/* remember what a bad frame would look like if it were forwarded */
static void
note_bad(struct chk *c, unsigned frame, const uint8_t *data, size_t len)
{
	struct pt_frame pf;

	if (pt_frame_parse(data, len, &pf) != PT_C_NONE || pf.kind != PT_F_UDP || pf.plen < 12)
		return;
	if (pf.payload[1] >= 192 && pf.payload[1] <= 223)
		return;
	pt_map_put(&c->bad_rtp, pt_get32(pf.payload + 8), pt_get16(pf.payload + 2), 0, frame);
	if (pt_world_ep_by_ssrc(&c->w, -1, pt_get32(pf.payload + 8)) < 0)
		pt_map_put(&c->bad_ssrc, pt_get32(pf.payload + 8), 0, 0, frame);
}

static const struct pt_bad *
bad_frame(const struct chk *c, unsigned frame)
{
	for (unsigned i = 0; i < c->w.n_bad; i++)
		if (c->w.bad[i].frame == frame)
			return &c->w.bad[i];
	return NULL;
}

static int
read_input(struct chk *c, const struct pt_pcap *in)
{
	unsigned *bad = calloc(in->n + 2, sizeof(*bad));

	if (bad == NULL)
		return die("out of memory");
	for (unsigned i = 0; i < c->w.n_bad; i++) {
		if (c->w.bad[i].frame > in->n) {
			free(bad);
			return die("secrets.json lists bad frame %u, but in.pcap has %zu frames",
				   c->w.bad[i].frame, in->n);
		}
		bad[c->w.bad[i].frame] = 1;
	}
	for (size_t i = 0; i < in->n; i++) {
		unsigned fno = (unsigned)i + 1;
		struct pt_frame pf;
		int ep, cnt, r;
		size_t al;

		if (bad[fno]) {
			note_bad(c, fno, in->p[i].data, in->p[i].len);
			continue;
		}
		cnt = pt_frame_parse(in->p[i].data, in->p[i].len, &pf);
		al = pf.family == AF_INET6 ? 16 : 4;
		if (cnt != PT_C_NONE || pf.kind != PT_F_UDP) {
			free(bad);
			return die("in.pcap frame %u is not listed as bad but is no valid UDP frame (%s)",
				   fno, cnt ? pt_counter_name(cnt) : "not UDP");
		}
		ep = pt_world_ep_by_addr(&c->w, pf.family, pf.src_ip, pf.sport);
		if (ep < 0 || pf.family != c->w.mdd.family || memcmp(pf.dst_ip, c->w.mdd.ip, al) ||
		    pf.dport != c->w.mdd.port || pf.plen < 8) {
			free(bad);
			return die("in.pcap frame %u is not listed as bad but is not from an endpoint to the MDD",
				   fno);
		}
		if (c->first_valid[ep] == 0)
			c->first_valid[ep] = fno;
		if (pf.payload[1] >= 192 && pf.payload[1] <= 223)
			r = sent_rtcp(c, fno, (unsigned)ep, &pf);
		else
			r = sent_rtp(c, fno, (unsigned)ep, &pf);
		if (r != 0) {
			free(bad);
			return -1;
		}
	}
	free(bad);
	/* delivery counters, one per position of the sender's conference */
	for (size_t i = 0; i < c->nr; i++) {
		c->r[i].cnt = calloc(c->w.confs[c->w.eps[c->r[i].ep].conf].n_eps, sizeof(uint16_t));
		if (c->r[i].cnt == NULL)
			return die("out of memory");
	}
	/* the receiver-side streams start afresh for OUT.pcap */
	pt_streams_clear(&c->streams);
	return 0;
}

/* 0: not owed and not allowed; 1: owed; 2: allowed (the receiver's MAC
 * could not be known yet) */
static int
owed(const struct chk *c, const struct rec *r, unsigned rcv)
{
	const struct pt_endpoint *s = &c->w.eps[r->ep], *d = &c->w.eps[rcv];

	if (rcv == r->ep || s->conf != d->conf)
		return 0;
	if (r->kind == R_RTCP && r->target >= 0 && (unsigned)r->target != rcv)
		return 0;
	if (c->first_valid[rcv] != 0 && c->first_valid[rcv] < r->frame)
		return 1;
	return 2;
}

/* ---- OUT.pcap: what was delivered ---- */

/* Why does the outer layer not open? Try the usual mistakes. */
static void
diag_outer(struct chk *c, int sender, unsigned rcv, uint32_t ssrc, uint16_t seq, bool rtcp,
	   uint64_t guess, const uint8_t *p, uint32_t len, int reason)
{
	const struct pt_conf *cf = &c->w.confs[c->w.eps[rcv].conf];
	uint8_t tmp[PT_FRAME_MAX];
	uint32_t n;

	if (!rtcp) {
		for (int d = -1; d <= 1; d += 2) {
			int64_t roc = (int64_t)(guess >> 16) + d;

			if (roc < 0 || roc > UINT32_MAX)
				continue;
			if (open_at(c, &c->tx[rcv], false, (uint64_t)roc << 16 | seq, p, len, tmp,
				    sizeof(tmp), &n) == PERC_R_OK) {
				wrong(c, sender, (int)rcv, ssrc, seq,
				      "sealed with ROC %lld, but the receiver's ROC for this SSRC is %llu",
				      (long long)roc, (unsigned long long)(guess >> 16));
				return;
			}
		}
	}
	if (sender >= 0) {
		uint32_t *ri = rtcp ? NULL : pt_map_get(&c->by_seq, ssrc, seq, 0);
		uint64_t idx = ri ? c->r[*ri].index : guess;

		if (open_at(c, &c->rx[sender], rtcp, idx, p, len, tmp, sizeof(tmp), &n) == PERC_R_OK ||
		    (c->w.eps[sender].has_rx_next &&
		     open_at(c, &c->rxn[sender], rtcp, idx, p, len, tmp, sizeof(tmp), &n) == PERC_R_OK)) {
			wrong(c, sender, (int)rcv, ssrc, rtcp ? -1 : seq,
			      "still sealed with the sender's rx key: not re-sealed for the receiver");
			return;
		}
	}
	for (unsigned i = cf->first_ep; i < cf->first_ep + cf->n_eps; i++) {
		if (i == rcv)
			continue;
		if (open_at(c, &c->tx[i], rtcp, guess, p, len, tmp, sizeof(tmp), &n) == PERC_R_OK) {
			wrong(c, sender, (int)rcv, ssrc, rtcp ? -1 : seq,
			      "sealed with %s's tx key instead of %s's", c->w.eps[i].id, c->w.eps[rcv].id);
			return;
		}
	}
	wrong(c, sender, (int)rcv, ssrc, rtcp ? -1 : seq,
	      "%s layer does not open with %s's tx key (%s)", rtcp ? "SRTCP" : "outer",
	      c->w.eps[rcv].id, perc_reason_name((unsigned)reason));
}

/* Open the outer layer with the receiver's stream; a replayed index is
 * opened anyway (a duplicate is counted, not refused). */
static int
open_outer(struct chk *c, int sender, unsigned rcv, uint32_t ssrc, bool rtcp, const uint8_t *p,
	   uint32_t len, uint8_t *plain, uint32_t *n, bool *replayed)
{
	struct perc_stream *st = pt_streams_get(&c->streams, rtcp ? 2 : 1, rcv, ssrc);
	struct perc_op op = {
		.key = &c->tx[rcv], .stream = st, .src = p, .dst = plain, .len = len,
		.cap = PT_FRAME_MAX, .type = rtcp ? PERC_OP_RTCP_UNPROTECT : PERC_OP_RTP_UNPROTECT,
	};
	uint16_t seq = rtcp ? 0 : pt_get16(p + 2);
	uint64_t guess = 0;
	int r;

	*replayed = false;
	if (st == NULL) {
		wrong(c, sender, (int)rcv, ssrc, -1, "out of memory");
		return -1;
	}
	if (!rtcp && !perc_rtp_index_guess(&st->rtp, st->roc_init, seq, &guess))
		guess = seq;
	r = perc_engine_run1(c->e, &op);
	if (r == PERC_R_REPLAY || r == PERC_R_TOO_OLD) {
		/* seen before: a duplicate (or a reused index), counted later;
		 * older than the window: late, which is no fault if it opens */
		*replayed = r == PERC_R_REPLAY;
		r = open_at(c, &c->tx[rcv], rtcp, guess, p, len, plain, PT_FRAME_MAX, &op.len);
	}
	if (r != PERC_R_OK) {
		if (r == PERC_R_MALFORMED)
			wrong(c, sender, (int)rcv, ssrc, rtcp ? -1 : seq,
			      "%s too short for its header and tag", rtcp ? "SRTCP" : "SRTP");
		else
			diag_outer(c, sender, rcv, ssrc, seq, rtcp, guess, p, len, r);
		return -1;
	}
	*n = op.len;
	return 0;
}

/* count a delivery of rec ri to rcv; reports what is not owed */
static void
deliver(struct chk *c, uint32_t ri, unsigned rcv, bool replayed, long seq)
{
	struct rec *r = &c->r[ri];
	unsigned pos = c->w.eps[rcv].pos;

	if (owed(c, r, rcv) == 0) {
		if (r->kind == R_RTCP && r->target >= 0)
			wrong(c, (int)r->ep, (int)rcv, r->ssrc, -1,
			      "%s (in.pcap frame %u) belongs only to %s, the sender of the SSRC it names",
			      r->what, r->frame, c->w.eps[r->target].id);
		else
			wrong(c, (int)r->ep, (int)rcv, r->ssrc, seq, "not owed to this receiver");
		return;
	}
	if (replayed && r->cnt[pos] == 0) {
		wrong(c, (int)r->ep, (int)rcv, r->ssrc, seq,
		      "%s index reused for another packet of this receiver and SSRC (nonce reuse)",
		      r->kind == R_RTCP ? "SRTCP" : "outer");
		return;
	}
	if (r->cnt[pos] < UINT16_MAX)
		r->cnt[pos]++;
}

/* The OHB RFC 8723 §5.2 wants after one hop from the sender's empty OHB:
 * an entry for each of PT, SEQ, marker that differs from what was sent. */
static void
want_ohb(const uint8_t *sent, const uint8_t *now, struct perc_ohb *o)
{
	bool m0 = (sent[1] & 0x80) != 0, m1 = (now[1] & 0x80) != 0;

	memset(o, 0, sizeof(*o));
	if ((sent[1] & 0x7f) != (now[1] & 0x7f)) {
		o->config |= PERC_OHB_P;
		o->pt = sent[1] & 0x7f;
	}
	if (pt_get16(sent + 2) != pt_get16(now + 2)) {
		o->config |= PERC_OHB_Q;
		o->seq = pt_get16(sent + 2);
	}
	if (m0 != m1)
		o->config |= (uint8_t)(PERC_OHB_M | (m0 ? PERC_OHB_B : 0));
}

#define APPEND(...) (o += (size_t)snprintf(o < len ? msg + o : msg, o < len ? len - o : 0, __VA_ARGS__))

/*
 * Hold the OHB that came (got) against the one §5.2 wants for the header
 * as sent and as received. Returns true when they agree; else msg says
 * every entry that is missing, extra or wrong.
 */
static bool
ohb_right(const struct perc_ohb *got, const uint8_t *sent, const uint8_t *now, char *msg,
	  size_t len)
{
	struct perc_ohb w;
	size_t o = 0;

	want_ohb(sent, now, &w);
	msg[0] = 0;
	if ((w.config & PERC_OHB_P) && !(got->config & PERC_OHB_P))
		APPEND("%sno original PT (P) although the PT was rewritten %u -> %u", o ? "; " : "",
		       w.pt, now[1] & 0x7f);
	else if (!(w.config & PERC_OHB_P) && (got->config & PERC_OHB_P))
		APPEND("%san original PT (P = %u) although the PT was not changed (%u): a field at its original value has no entry",
		       o ? "; " : "", got->pt, now[1] & 0x7f);
	else if ((w.config & PERC_OHB_P) && got->pt != w.pt)
		APPEND("%soriginal PT %u, but the sender sent PT %u", o ? "; " : "", got->pt, w.pt);
	if ((w.config & PERC_OHB_Q) && !(got->config & PERC_OHB_Q))
		APPEND("%sno original SEQ (Q) although the SEQ was rewritten %u -> %u", o ? "; " : "",
		       w.seq, pt_get16(now + 2));
	else if (!(w.config & PERC_OHB_Q) && (got->config & PERC_OHB_Q))
		APPEND("%san original SEQ (Q = %u) although the SEQ was not changed (%u): a field at its original value has no entry",
		       o ? "; " : "", got->seq, pt_get16(now + 2));
	else if ((w.config & PERC_OHB_Q) && got->seq != w.seq)
		APPEND("%soriginal SEQ %u, but the sender sent SEQ %u", o ? "; " : "", got->seq, w.seq);
	if ((w.config & PERC_OHB_M) && !(got->config & PERC_OHB_M))
		APPEND("%sno original marker (M) although the marker was changed %d -> %d", o ? "; " : "",
		       (sent[1] & 0x80) != 0, (now[1] & 0x80) != 0);
	else if (!(w.config & PERC_OHB_M) && (got->config & PERC_OHB_M))
		APPEND("%san original marker (M, B = %d) although the marker was not changed (%d): a field at its original value has no entry",
		       o ? "; " : "", (got->config & PERC_OHB_B) != 0, (now[1] & 0x80) != 0);
	else if ((w.config & PERC_OHB_M) && (got->config & PERC_OHB_B) != (w.config & PERC_OHB_B))
		APPEND("%sB = %d as the original marker, but the sender sent marker %d", o ? "; " : "",
		       (got->config & PERC_OHB_B) != 0, (w.config & PERC_OHB_B) != 0);
	return o == 0;
}

/* Does the received header carry the PT / SEQ / marker the receiver's
 * policy gives the header as sent (sent)? Else say which are off. */
static bool
policy_right(const struct pt_rewrite *rw, const uint8_t *sent, const uint8_t *now, char *msg,
	     size_t len)
{
	uint8_t pt = sent[1] & 0x7f;
	uint16_t seq = pt_get16(sent + 2);
	bool m = (sent[1] & 0x80) != 0;
	size_t o = 0;

	pt_rewrite_fields(rw, &pt, &seq, &m);
	msg[0] = 0;
	if ((now[1] & 0x7f) != pt && rw->listed[sent[1] & 0x7f])
		APPEND("%sPT %u, but pt_map wants %u for the sent %u", o ? "; " : "", now[1] & 0x7f, pt,
		       sent[1] & 0x7f);
	else if ((now[1] & 0x7f) != pt)
		APPEND("%sPT %u, but the sent %u is not in the receiver's pt_map", o ? "; " : "",
		       now[1] & 0x7f, sent[1] & 0x7f);
	if (pt_get16(now + 2) != seq)
		APPEND("%sSEQ %u, but seq_offset %u wants %u for the sent %u", o ? "; " : "",
		       pt_get16(now + 2), rw->seq_offset, seq, pt_get16(sent + 2));
	if (((now[1] & 0x80) != 0) != m)
		APPEND("%smarker %d, but marker \"%s\" wants %d for the sent %d", o ? "; " : "",
		       (now[1] & 0x80) != 0, pt_marker_name(rw->marker), m, (sent[1] & 0x80) != 0);
	return o == 0;
}

#undef APPEND

/*
 * The sent packet an output RTP frame carries: plain holds the opened
 * outer layer (header, then n - h bytes of payload; double profiles: the
 * inner ciphertext and tag, OHB cut off). Candidates for the SEQ the sender
 * used: the OHB's original, the receiver's seq_offset undone, the SEQ as
 * received. A packet matches when the inner layer opens with the sender's
 * E2E key under the header it sent (double) or the payload is the one of
 * its SEQ (single). Prefers a packet this receiver has not had yet.
 * Returns the rec or NONE.
 */
static uint32_t
find_sent(struct chk *c, int sender, unsigned rcv, uint32_t ssrc, const uint16_t *cand,
	  unsigned n_cand, const uint8_t *plain, uint32_t h, uint32_t n, uint8_t *pay)
{
	const struct pt_endpoint *s = &c->w.eps[sender];
	uint8_t want[PT_FRAME_MAX];
	uint32_t *ri, any = NONE;

	for (unsigned k = 0; k < n_cand && any == NONE; k++) {
		for (ri = pt_map_get(&c->by_seq, ssrc, cand[k], 0); ri != NULL && *ri != NONE;
		     ri = &c->r[*ri].next) {
			const struct rec *r = &c->r[*ri];

			if (r->ep != (unsigned)sender || n - h != r->plen)
				continue;
			if (s->prof->is_double) {
				if (inner_open(c, &c->e2e[sender], r->hdr, plain + h, n - h,
					       (uint32_t)(r->index >> 16), pay) != PERC_R_OK)
					continue;
			} else {
				pt_payload_fill(ssrc, r->seq, want, r->plen);
				if (memcmp(plain + h, want, r->plen) != 0)
					continue;
				memcpy(pay, want, r->plen);
			}
			if (any == NONE)
				any = *ri;
			if (r->cnt[c->w.eps[rcv].pos] == 0)
				return *ri;
		}
	}
	return any;
}

/* tally what a policy did to a frame that passed */
static void
count_rewrite(struct chk *c, const struct pt_rewrite *rw, const uint8_t *sent, const uint8_t *now)
{
	bool m0 = (sent[1] & 0x80) != 0, m1 = (now[1] & 0x80) != 0;

	c->rw_frames++;
	if ((sent[1] & 0x7f) != (now[1] & 0x7f))
		c->rw_pt++;
	else if (rw->listed[sent[1] & 0x7f])
		c->rw_kept++;
	if (pt_get16(sent + 2) != pt_get16(now + 2))
		c->rw_seq++;
	if (m0 != m1)
		m0 ? c->rw_m1++ : c->rw_m0++;
	else if (rw->marker >= 0)
		c->rw_kept++;
}

static void
out_rtp(struct chk *c, unsigned rcv, const struct pt_frame *pf)
{
	const struct pt_rewrite *rw = &c->w.eps[rcv].rw;
	const uint8_t *p = pf->payload;
	uint8_t plain[PT_FRAME_MAX], pay[PT_FRAME_MAX], want[PT_FRAME_MAX], hdr[PT_FRAME_MAX];
	uint32_t h, n, ssrc, found;
	const struct pt_endpoint *s;
	struct perc_ohb o = { 0 };
	size_t ekt_len = 0, body;
	bool replayed;
	uint16_t seq, cand[3];
	unsigned n_cand = 0;
	char why[320];
	int sender;
	long lseq;

	c->rtp++;
	h = perc_rtp_hdr_len(p, (uint32_t)pf->plen);
	if (h == 0) {
		wrong(c, -1, (int)rcv, 0, -1, "RTP header malformed");
		return;
	}
	ssrc = pt_get32(p + 8);
	seq = pt_get16(p + 2);
	lseq = seq;
	sender = pt_world_ep_by_ssrc(&c->w, (int)c->w.eps[rcv].conf, ssrc);
	if (sender < 0)
		sender = pt_world_ep_by_ssrc(&c->w, -1, ssrc);  /* to say where it is from */
	if (sender < 0) {
		uint32_t *b = pt_map_get(&c->bad_ssrc, ssrc, 0, 0);

		if (b)
			wrong(c, -1, (int)rcv, ssrc, lseq, "ssrc is not provisioned: bad frame %u (%s) was forwarded",
			      *b, bad_frame(c, *b) ? pt_counter_name(bad_frame(c, *b)->counter) : "?");
		else
			wrong(c, -1, (int)rcv, ssrc, lseq, "ssrc is not provisioned");
		return;
	}
	s = &c->w.eps[sender];
	if ((unsigned)sender == rcv) {
		wrong(c, sender, (int)rcv, ssrc, lseq, "sent back to its sender");
		return;
	}
	if (s->conf != c->w.eps[rcv].conf) {
		wrong(c, sender, (int)rcv, ssrc, lseq, "crosses conferences (%s to %s)",
		      c->w.confs[s->conf].id, c->w.confs[c->w.eps[rcv].conf].id);
		return;
	}
	if (s->ekt) {
		int x = perc_ekt_field_len(p, pf->plen);

		if (x < 0) {
			wrong(c, sender, (int)rcv, ssrc, lseq, "no valid EKT field at the end");
			return;
		}
		ekt_len = (size_t)x;
	}
	body = pf->plen - ekt_len;
	/* the receiver's stream follows the SEQ as received */
	if (open_outer(c, sender, rcv, ssrc, false, p, (uint32_t)body, plain, &n, &replayed) != 0)
		return;
	/* hdr: the header the receiver restores with the OHB (double) */
	memcpy(hdr, plain, h);
	if (s->prof->is_double) {
		uint8_t pt = plain[1] & 0x7f;
		bool m = plain[1] & 0x80;
		uint16_t oseq = seq;

		if (perc_ohb_parse(plain + h, n - h, &o) != PERC_R_OK || n - h < o.len + INNER_TAG) {
			wrong(c, sender, (int)rcv, ssrc, lseq, "OHB does not parse");
			return;
		}
		perc_ohb_restore(&o, &pt, &oseq, &m);
		hdr[1] = (uint8_t)((m ? 0x80 : 0) | pt);
		pt_put16(hdr + 2, oseq);
		n -= o.len + INNER_TAG;
		cand[n_cand++] = oseq;
	}
	/* which sent packet is it? */
	if (rw->seq_offset != 0)
		cand[n_cand++] = (uint16_t)(seq - rw->seq_offset);
	cand[n_cand++] = seq;
	for (unsigned k = 1; k < n_cand; k++)
		for (unsigned j = 0; j < k; j++)
			if (cand[k] == cand[j]) {
				memmove(cand + k, cand + k + 1, (n_cand - k - 1) * sizeof(cand[0]));
				n_cand--;
				k--;
				break;
			}
	found = find_sent(c, sender, rcv, ssrc, cand, n_cand, plain, h, n, pay);
	if (found == NONE) {
		uint32_t *b = NULL;
		bool known = false;

		for (unsigned k = 0; k < n_cand; k++) {
			if (b == NULL)
				b = pt_map_get(&c->bad_rtp, ssrc, cand[k], 0);
			known |= pt_map_get(&c->by_seq, ssrc, cand[k], 0) != NULL;
		}
		if (b)
			wrong(c, sender, (int)rcv, ssrc, lseq, "bad frame %u of in.pcap (%s) was forwarded", *b,
			      bad_frame(c, *b) ? pt_counter_name(bad_frame(c, *b)->counter) : "?");
		else if (!known)
			wrong(c, sender, (int)rcv, ssrc, lseq, "the sender sent no valid packet with this ssrc and seq%s",
			      rw->any ? " (nor with seq - seq_offset, nor the OHB's original)" : "");
		else if (s->prof->is_double)
			wrong(c, sender, (int)rcv, ssrc, lseq,
			      "inner layer does not open with the sender's E2E key (payload, header or length changed)");
		else
			wrong(c, sender, (int)rcv, ssrc, lseq, "payload differs from what the sender sent");
		return;
	}
	{
		const struct rec *r = &c->r[found];

		lseq = r->seq;
		/* beyond PT, SEQ and marker, the header is the sender's */
		if (h != r->hdr_len || p[0] != r->hdr[0] || memcmp(p + 4, r->hdr + 4, h - 4) != 0) {
			wrong(c, sender, (int)rcv, ssrc, lseq, "header differs from what the sender sent (in.pcap frame %u)",
			      r->frame);
			return;
		}
		if (!rw->any) {
			if (o.config != 0 || memcmp(p, r->hdr, 4) != 0) {
				wrong(c, sender, (int)rcv, ssrc, lseq,
				      "header rewritten (PT, SEQ or marker), but no rewrite was asked");
				return;
			}
		} else {
			if (!policy_right(rw, r->hdr, p, why, sizeof(why))) {
				wrong(c, sender, (int)rcv, ssrc, lseq,
				      "header not rewritten as the receiver's policy says: %s", why);
				return;
			}
			if (s->prof->is_double && !ohb_right(&o, r->hdr, p, why, sizeof(why))) {
				wrong(c, sender, (int)rcv, ssrc, lseq, "OHB (0x%02x) wrong (RFC 8723 §5.2): %s",
				      o.config, why);
				return;
			}
		}
		if (s->prof->is_double && memcmp(hdr, r->hdr, h) != 0) {
			wrong(c, sender, (int)rcv, ssrc, lseq,
			      "restoring the OHB gives PT %u, SEQ %u, marker %d, but the sender sent PT %u, SEQ %u, marker %d (in.pcap frame %u)",
			      hdr[1] & 0x7f, pt_get16(hdr + 2), hdr[1] >> 7, r->hdr[1] & 0x7f,
			      pt_get16(r->hdr + 2), r->hdr[1] >> 7, r->frame);
			return;
		}
		if (s->prof->is_double) {
			pt_payload_fill(ssrc, r->seq, want, r->plen);
			if (memcmp(pay, want, r->plen) != 0) {
				wrong(c, sender, (int)rcv, ssrc, lseq, "payload differs from what the generator sent");
				return;
			}
		}
		if (ekt_len != r->ekt_len || memcmp(p + body, r->ekt, ekt_len) != 0) {
			wrong(c, sender, (int)rcv, ssrc, lseq,
			      "EKT field differs from the one the sender attached (%zu bytes, sent %u)",
			      ekt_len, r->ekt_len);
			return;
		}
	}
	if (rw->any)
		count_rewrite(c, rw, c->r[found].hdr, p);
	deliver(c, found, rcv, replayed, lseq);
}

static void
out_rtcp(struct chk *c, unsigned rcv, const struct pt_frame *pf)
{
	uint8_t plain[PT_FRAME_MAX];
	uint32_t n, ssrc, *ri, found = NONE, any = NONE;
	bool replayed;
	int sender;

	c->rtcp++;
	if (pf->plen < 8) {
		wrong(c, -1, (int)rcv, 0, -1, "SRTCP shorter than 8 bytes");
		return;
	}
	ssrc = pt_get32(pf->payload + 4);
	sender = pt_world_ep_by_ssrc(&c->w, (int)c->w.eps[rcv].conf, ssrc);
	if (sender < 0)
		sender = pt_world_ep_by_ssrc(&c->w, -1, ssrc);
	if (sender < 0) {
		wrong(c, -1, (int)rcv, ssrc, -1, "RTCP from an ssrc nobody is provisioned with");
		return;
	}
	if ((unsigned)sender == rcv) {
		wrong(c, sender, (int)rcv, ssrc, -1, "RTCP sent back to its sender");
		return;
	}
	if (c->w.eps[sender].conf != c->w.eps[rcv].conf) {
		wrong(c, sender, (int)rcv, ssrc, -1, "RTCP crosses conferences");
		return;
	}
	if (open_outer(c, sender, rcv, ssrc, true, pf->payload, (uint32_t)pf->plen, plain, &n,
		       &replayed) != 0)
		return;
	for (ri = pt_map_get(&c->by_body, pt_fnv64(plain, n), n, 0); ri && *ri != NONE;
	     ri = &c->r[*ri].next) {
		const struct rec *r = &c->r[*ri];

		if (r->ep != (unsigned)sender || r->hdr_len != n || memcmp(r->hdr, plain, n) != 0)
			continue;
		if (any == NONE)
			any = *ri;
		if (owed(c, r, rcv) != 0 && r->cnt[c->w.eps[rcv].pos] == 0) {
			found = *ri;
			break;
		}
	}
	if (found == NONE)
		found = any;
	if (found == NONE) {
		wrong(c, sender, (int)rcv, ssrc, -1, "RTCP compound differs from everything the sender sent");
		return;
	}
	deliver(c, found, rcv, replayed, -1);
}

static void
out_frame(struct chk *c, const struct pt_pkt *pk)
{
	char a[80], b[80], m1[24], m2[24];
	struct pt_addr src;
	struct pt_frame pf;
	int cnt, rcv, sender = -1;
	uint32_t ssrc = 0;
	long seq = -1;
	size_t al;
	unsigned i;

	c->frames++;
	cnt = pt_frame_parse(pk->data, pk->len, &pf);
	if (cnt != PT_C_NONE) {
		wrong(c, -1, -1, 0, -1, "not a well-formed frame (%s)", pt_counter_name(cnt));
		return;
	}
	if (pf.kind == PT_F_CONTROL) {
		c->control++;
		return;
	}
	if (pf.kind != PT_F_UDP) {
		wrong(c, -1, -1, 0, -1, "neither IPv4/IPv6 UDP nor ARP/ICMPv6");
		return;
	}
	for (i = 0; i < c->n_src_macs; i++)
		if (memcmp(c->src_macs[i], pf.src_mac, 6) == 0)
			break;
	if (i == c->n_src_macs && i < MAX_SRC_MACS)
		memcpy(c->src_macs[c->n_src_macs++], pf.src_mac, 6);
	if (i < MAX_SRC_MACS)
		c->src_mac_n[i]++;
	memset(&src, 0, sizeof(src));
	src.family = pf.family;
	al = pf.family == AF_INET6 ? 16 : 4;
	memcpy(src.ip, pf.src_ip, al);
	src.port = pf.sport;
	/* what the frame seems to carry, to name it in the messages below */
	if (pf.plen >= 12 && (pf.payload[0] >> 6) == 2) {
		bool is_rtcp = pf.payload[1] >= 192 && pf.payload[1] <= 223;

		ssrc = pt_get32(pf.payload + (is_rtcp ? 4 : 8));
		seq = is_rtcp ? -1 : pt_get16(pf.payload + 2);
		sender = pt_world_ep_by_ssrc(&c->w, -1, ssrc);
	}
	rcv = pt_world_ep_by_addr(&c->w, pf.family, pf.dst_ip, pf.dport);
	if (rcv < 0) {
		struct pt_addr dst = { .family = pf.family, .port = pf.dport };

		memcpy(dst.ip, pf.dst_ip, al);
		wrong(c, sender, -1, ssrc, seq, "sent to %s, which is no provisioned endpoint",
		      pt_fmt_addr_port(&dst, a, sizeof(a)));
		return;
	}
	if (sender >= 0 && pt_world_ep_by_ssrc(&c->w, (int)c->w.eps[rcv].conf, ssrc) >= 0)
		sender = pt_world_ep_by_ssrc(&c->w, (int)c->w.eps[rcv].conf, ssrc);
	if (pf.family != c->w.mdd.family || memcmp(pf.src_ip, c->w.mdd.ip, al) != 0 ||
	    pf.sport != c->w.mdd.port) {
		wrong(c, sender, rcv, ssrc, seq, "from %s, not from the MDD's %s", pt_fmt_addr_port(&src, a, sizeof(a)),
		      pt_fmt_addr_port(&c->w.mdd, b, sizeof(b)));
		return;
	}
	if (memcmp(pf.dst_mac, c->w.eps[rcv].mac, 6) != 0) {
		wrong(c, sender, rcv, ssrc, seq, "Ethernet dst %s is not the receiver's MAC %s",
		      pt_fmt_mac(pf.dst_mac, m1, sizeof(m1)), pt_fmt_mac(c->w.eps[rcv].mac, m2, sizeof(m2)));
		return;
	}
	if (!pf.ip_csum_ok) {
		wrong(c, sender, rcv, ssrc, seq, "IPv4 header checksum wrong");
		return;
	}
	if (pf.family == AF_INET6 && pf.udp_csum_zero) {
		wrong(c, sender, rcv, ssrc, seq, "UDP checksum missing (mandatory over IPv6)");
		return;
	}
	if (!pf.udp_csum_ok) {
		wrong(c, sender, rcv, ssrc, seq, "UDP checksum wrong");
		return;
	}
	if (pf.plen < 2 || (pf.payload[0] >> 6) != 2) {
		wrong(c, -1, rcv, 0, -1, "UDP payload is neither RTP nor RTCP (first byte 0x%02x)",
		      pf.plen ? pf.payload[0] : 0);
		return;
	}
	if (pf.payload[1] >= 192 && pf.payload[1] <= 223)
		out_rtcp(c, (unsigned)rcv, &pf);
	else
		out_rtp(c, (unsigned)rcv, &pf);
}

/* missing and duplicate deliveries; returns the counts */
static void
tally(struct chk *c, uint64_t *expected, uint64_t *delivered, uint64_t *missing,
      uint64_t *dup, uint64_t *early)
{
	*expected = *delivered = *missing = *dup = *early = 0;
	for (size_t i = 0; i < c->nr; i++) {
		const struct rec *r = &c->r[i];
		const struct pt_conf *cf = &c->w.confs[c->w.eps[r->ep].conf];

		for (unsigned k = 0; k < cf->n_eps; k++) {
			unsigned rcv = cf->first_ep + k;
			int o = owed(c, r, rcv);
			char what[80];

			if (o == 0)
				continue;
			if (r->kind == R_RTP)
				snprintf(what, sizeof(what), "ssrc %u, seq %u", r->ssrc, r->seq);
			else
				snprintf(what, sizeof(what), "ssrc %u, RTCP %s", r->ssrc, r->what);
			if (o == 1) {
				(*expected)++;
				if (r->cnt[k] == 0) {
					(*missing)++;
					note_problem(c, "missing: sender %s, receiver %s, %s (in.pcap frame %u)",
						     c->w.eps[r->ep].id, c->w.eps[rcv].id, what, r->frame);
				} else {
					(*delivered)++;
				}
			} else if (r->cnt[k] > 0) {
				(*early)++;
			}
			if (r->cnt[k] > 1) {
				*dup += r->cnt[k] - 1u;
				note_problem(c, "duplicate: sender %s, receiver %s, %s (in.pcap frame %u) delivered %u times",
					     c->w.eps[r->ep].id, c->w.eps[rcv].id, what, r->frame, r->cnt[k]);
			}
		}
	}
}

static int
setup_keys(struct chk *c)
{
	size_t sz = c->w.n_eps * sizeof(struct perc_key);

	c->rx = aligned_alloc(64, sz);
	c->tx = aligned_alloc(64, sz);
	c->e2e = aligned_alloc(64, sz);
	c->rxn = aligned_alloc(64, sz);
	c->first_valid = calloc(c->w.n_eps, sizeof(*c->first_valid));
	if (!c->rx || !c->tx || !c->e2e || !c->rxn || !c->first_valid)
		return die("out of memory");
	memset(c->rx, 0, sz);
	memset(c->tx, 0, sz);
	memset(c->e2e, 0, sz);
	memset(c->rxn, 0, sz);
	for (unsigned i = 0; i < c->w.n_eps; i++) {
		const struct pt_endpoint *e = &c->w.eps[i];
		int r = perc_key_init(&c->rx[i], c->e, e->layer, e->rx_key, e->rx_salt);

		if (r == PERC_R_OK)
			r = perc_key_init(&c->tx[i], c->e, e->layer, e->tx_key, e->tx_salt);
		if (r == PERC_R_OK && e->prof->is_double)
			r = perc_key_init(&c->e2e[i], c->e, e->layer, e->e2e_key, e->e2e_salt);
		if (r == PERC_R_OK && e->has_rx_next)
			r = perc_key_init(&c->rxn[i], c->e, e->layer, e->rx_key_next, e->rx_salt_next);
		if (r != PERC_R_OK)
			return die("keys of %s: %s", e->id, perc_reason_name((unsigned)r));
	}
	return 0;
}

static void
chk_free(struct chk *c)
{
	for (unsigned i = 0; c->rx && c->tx && c->e2e && c->rxn && i < c->w.n_eps; i++) {
		perc_key_clear(&c->rx[i]);
		perc_key_clear(&c->tx[i]);
		perc_key_clear(&c->e2e[i]);
		perc_key_clear(&c->rxn[i]);
	}
	free(c->rx);
	free(c->tx);
	free(c->e2e);
	free(c->rxn);
	free(c->first_valid);
	for (size_t i = 0; i < c->nr; i++) {
		free(c->r[i].hdr);
		free(c->r[i].cnt);
	}
	free(c->r);
	pt_streams_free(&c->streams);
	pt_map_free(&c->by_seq);
	pt_map_free(&c->by_body);
	pt_map_free(&c->bad_rtp);
	pt_map_free(&c->bad_ssrc);
	pt_world_free(&c->w);
	if (c->e)
		perc_engine_destroy(c->e);
}

static const struct option long_opts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "out", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int
pt_cmd_check(int argc, char **argv)
{
	const char *dir = NULL, *outp[8];
	unsigned n_out = 0;
	struct pt_pcap in = { 0 }, out[8];
	uint64_t expected, delivered, missing, dup, early;
	char path[4096], err[512], mac[24];
	struct chk c;
	int ch, rc = PT_EX_USAGE;

	memset(&c, 0, sizeof(c));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'o':
			if (n_out == 8)
				return pt_usage_error(CMD, "at most 8 --out files");
			outp[n_out++] = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return PT_EX_OK;
		default:
			return pt_usage_hint(CMD);
		}
	}
	if (optind < argc)
		return pt_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
	if (dir == NULL || n_out == 0)
		return pt_usage_error(CMD, "--dir DIR and --out OUT.pcap are required");
	memset(out, 0, sizeof(out));
	c.e = perc_engine_create(PERC_ARCH_AUTO);
	if (c.e == NULL) {
		die("no crypto engine");
		goto out;
	}
	if (pt_secrets_load(pt_path(path, sizeof(path), dir, "secrets.json"), &c.w, err, sizeof(err)) != 0) {
		die("%s", err);
		goto out;
	}
	if (pt_pcap_read(pt_path(path, sizeof(path), dir, "in.pcap"), &in, err, sizeof(err)) != 0) {
		die("%s", err);
		goto out;
	}
	for (unsigned f = 0; f < n_out; f++)
		if (pt_pcap_read(outp[f], &out[f], err, sizeof(err)) != 0) {
			die("%s", err);
			goto out;
		}
	if (setup_keys(&c) != 0 || read_input(&c, &in) != 0)
		goto out;
	/* several files: one per TX queue of a multi-worker forwarder; each
	 * receiver's copies of one SSRC come from one worker, so one file */
	for (unsigned f = 0; f < n_out; f++)
		for (size_t i = 0; i < out[f].n; i++) {
			c.cur_frame = (unsigned)i + 1;
			out_frame(&c, &out[f].p[i]);
		}
	tally(&c, &expected, &delivered, &missing, &dup, &early);
	printf("check: %llu frames, %llu rtp, %llu rtcp, %llu expected deliveries, %llu delivered, %llu missing, %llu duplicate, %llu wrong\n",
	       (unsigned long long)c.frames, (unsigned long long)c.rtp, (unsigned long long)c.rtcp,
	       (unsigned long long)expected, (unsigned long long)delivered,
	       (unsigned long long)missing, (unsigned long long)dup, (unsigned long long)c.wrong);
	if (c.rekey_next)
		printf("note: %llu packets of in.pcap sent with rx_key_next (a hop-by-hop rekey)\n",
		       (unsigned long long)c.rekey_next);
	if (early)
		printf("note: %llu deliveries before the receiver had sent anything (allowed, not owed)\n",
		       (unsigned long long)early);
	if (c.rw_frames)
		printf("note: rewrite: %llu RTP frames as their receiver's policy says; changed%s: PT %llu, SEQ %llu, marker 0 -> 1 (M, B = 0) %llu, marker 1 -> 0 (M, B = 1) %llu; %llu fields the policy names left at their original value (no entry)\n",
		       (unsigned long long)c.rw_frames, c.w.eps[0].prof->is_double ? " (OHB entries)" : "",
		       (unsigned long long)c.rw_pt, (unsigned long long)c.rw_seq,
		       (unsigned long long)c.rw_m0, (unsigned long long)c.rw_m1,
		       (unsigned long long)c.rw_kept);
	if (c.control)
		printf("note: %llu ARP / ICMPv6 frames ignored\n", (unsigned long long)c.control);
	for (unsigned i = 0; i < c.n_src_macs; i++)
		printf("note: Ethernet src %s on %llu frames\n", pt_fmt_mac(c.src_macs[i], mac, sizeof(mac)),
		       (unsigned long long)c.src_mac_n[i]);
	for (unsigned i = 0; i < c.problems && i < MAX_PROBLEMS; i++)
		printf("%s\n", c.prob[i]);
	if (c.problems > MAX_PROBLEMS)
		printf("(%llu more problems)\n", (unsigned long long)(c.problems - MAX_PROBLEMS));
	rc = missing == 0 && dup == 0 && c.wrong == 0 ? PT_EX_OK : PT_EX_FAIL;
out:
	pt_pcap_free(&in);
	for (unsigned f = 0; f < n_out; f++)
		pt_pcap_free(&out[f]);
	chk_free(&c);
	return rc;
}
