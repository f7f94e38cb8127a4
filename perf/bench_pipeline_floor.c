/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The floor of the pipeline benchmark: the crypto that perc-mdd's pipeline
 * must do for a capture, and nothing else, in TSC cycles.
 *
 * For every RTP frame: one AES-GCM decrypt of the hop-by-hop (outer) layer
 * with the sender's rx session key, in place, and one AES-GCM encrypt of
 * the same bytes per receiver (every other endpoint of the conference)
 * with that receiver's tx session key, out of place, all with the RTP
 * header as AAD, through ipsec-mb's direct API (IMB_AES128_GCM_DEC / _ENC
 * on the IMB_MGR of a perc engine). Keys are the provisioned ones, expanded
 * once; IVs are RFC 7714's (SSRC, ROC, SEQ XOR the session salt), the
 * per-frame part precomputed, the XOR with each key's salt in the loop.
 * Before anything is timed every frame's outer tag is checked, so the
 * floor opens exactly the packets the pipeline opens.
 *
 * Not in the floor: parsing, lookups, replay windows, the tag comparison,
 * OHB, EKT, headers, mbufs, TX.
 *
 * perc-bench-pipeline runs bp_floor_pass() on its worker lcore after each
 * timed chunk (so both see the same machine at the same time); built with
 * BP_FLOOR_MAIN this file is also perc-bench-pipeline-floor, the floor on
 * its own (for profiling).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <intel-ipsec-mb.h>
#include <jansson.h>

#include "bench_pipeline_common.h"
#include "perc/ekt.h"
#include "perc/kdf.h"
#include "perc/rtp.h"
#include "perc/srtp.h"

#define GCM_TAG 16u
#define N_OUT 64u                 /* egress buffers, reused round robin */
#define OUT_SLOT 2048u

/* one frame, ready for the timed loop */
struct fframe {
	size_t off;                   /* of the SRTP packet, in the capture */
	uint32_t ep;
	uint16_t hdr;                 /* RTP header = AAD */
	uint16_t len;                 /* outer ciphertext */
	uint8_t ivb[12];              /* 0 0 SSRC ROC SEQ */
};

/* one endpoint's session keys */
struct fkey {
	struct gcm_key_data rx __attribute__((aligned(64)));
	struct gcm_key_data tx __attribute__((aligned(64)));
	uint8_t rx_salt[12], tx_salt[12];
	unsigned key_len;
};

struct roc_slot {
	uint64_t key;                 /* (ep << 32 | ssrc) + 1; 0 = empty */
	uint32_t roc;
	uint16_t s_l;
};

struct bp_floor {
	const struct bp_world *w;
	const struct bp_capture *cap;
	struct perc_engine *e;
	IMB_MGR *m;
	struct fkey *keys;
	struct fframe *ff;
	uint8_t *work;                /* the loaded chunk */
	size_t work_cap, base;        /* base: capture offset of work[0] */
	uint8_t *out;
};

static int __attribute__((format(printf, 3, 4)))
err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void *
zalloc64(size_t n)
{
	void *p = aligned_alloc(64, (n + 63) & ~(size_t)63);

	if (p != NULL)
		memset(p, 0, n);
	return p;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int
session(IMB_MGR *m, const struct prov_endpoint *pe, const uint8_t *mkey, const uint8_t *msalt,
	struct gcm_key_data *gk, uint8_t salt[12], char *err, size_t errlen)
{
	const struct perc_profile *layer = perc_profile_layer(pe->profile);
	struct perc_session_keys s;

	if (layer == NULL || !layer->aead || (layer->key_len != 16 && layer->key_len != 32))
		return err_set(err, errlen, "endpoint %s: the floor covers AES-GCM hop-by-hop "
			       "layers only", pe->id);
	if (perc_kdf_session(layer, mkey, msalt, &s) != 0)
		return err_set(err, errlen, "endpoint %s: key derivation failed", pe->id);
	if (layer->key_len == 16)
		IMB_AES128_GCM_PRE(m, s.rtp_key, gk);
	else
		IMB_AES256_GCM_PRE(m, s.rtp_key, gk);
	memcpy(salt, s.rtp_salt, 12);
	perc_zeroize(&s, sizeof(s));
	return 0;
}

/* RFC 3711 §3.3.1 index estimate per (endpoint, SSRC), in capture order */
static uint32_t
roc_of(struct roc_slot *t, size_t mask, uint32_t ep, uint32_t ssrc, uint16_t seq)
{
	uint64_t key = ((uint64_t)ep << 32 | ssrc) + 1;
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & mask;
	uint32_t v;

	while (t[i].key != 0 && t[i].key != key)
		i = (i + 1) & mask;
	if (t[i].key == 0) {
		t[i].key = key;
		t[i].roc = 0;
		t[i].s_l = seq;
		return 0;
	}
	v = t[i].roc;
	if (t[i].s_l < 0x8000) {
		if (seq > t[i].s_l && seq - t[i].s_l > 0x8000)
			v = t[i].roc - 1;
	} else if (t[i].s_l - 0x8000 > seq) {
		v = t[i].roc + 1;
	}
	if (v > t[i].roc || (v == t[i].roc && seq > t[i].s_l)) {
		t[i].roc = v;
		t[i].s_l = seq;
	}
	return v;
}

static inline void
iv_xor(uint8_t iv[12], const uint8_t b[12], const uint8_t s[12])
{
	uint64_t x, y;
	uint32_t u, v;

	memcpy(&x, b, 8);
	memcpy(&y, s, 8);
	x ^= y;
	memcpy(iv, &x, 8);
	memcpy(&u, b + 8, 4);
	memcpy(&v, s + 8, 4);
	u ^= v;
	memcpy(iv + 8, &u, 4);
}

/* header, ciphertext, IV of every frame; 0, or -1 with err */
static int
prepare_frames(struct bp_floor *f, char *err, size_t errlen)
{
	const struct bp_capture *cap = f->cap;
	struct roc_slot *rt;
	size_t rmask = 1;
	uint8_t scratch[OUT_SLOT];
	size_t bad = 0;

	while (rmask < 2 * (size_t)f->w->n_streams + 2 * cap->n / 1024 + 2)
		rmask <<= 1;
	rt = zalloc64(rmask * sizeof(*rt));
	f->ff = zalloc64(cap->n * sizeof(*f->ff));
	if (rt == NULL || f->ff == NULL) {
		free(rt);
		return err_set(err, errlen, "out of memory for %zu frames", cap->n);
	}
	rmask--;
	for (size_t i = 0; i < cap->n; i++) {
		const struct bp_frame *bf = &cap->f[i];
		const uint8_t *pl = cap->data + bf->off + bf->payload_off;
		const struct fkey *k = &f->keys[bf->ep];
		struct fframe *x = &f->ff[i];
		struct gcm_context_data ctx;
		uint8_t iv[12], tag[GCM_TAG];
		uint32_t len = bf->payload_len, h, ssrc;
		uint16_t seq;
		int el = 0;

		if (f->w->eps[bf->ep]->ekt) {
			el = perc_ekt_field_len(pl, len);
			if (el <= 0 || (uint32_t)el >= len) {
				free(rt);
				return err_set(err, errlen, "frame %zu: no valid EKT field", i + 1);
			}
		}
		len -= (uint32_t)el;
		h = perc_rtp_hdr_len(pl, len);
		if (h == 0 || len < h + GCM_TAG || len - h - GCM_TAG + h + 64 > OUT_SLOT) {
			free(rt);
			return err_set(err, errlen, "frame %zu: not an SRTP packet the floor handles",
				       i + 1);
		}
		ssrc = (uint32_t)pl[8] << 24 | (uint32_t)pl[9] << 16 | (uint32_t)pl[10] << 8 | pl[11];
		seq = (uint16_t)(pl[2] << 8 | pl[3]);
		x->off = bf->off + bf->payload_off;
		x->ep = bf->ep;
		x->hdr = (uint16_t)h;
		x->len = (uint16_t)(len - h - GCM_TAG);
		put32(x->ivb + 2, ssrc);
		put32(x->ivb + 6, roc_of(rt, rmask, bf->ep, ssrc, seq));
		x->ivb[10] = (uint8_t)(seq >> 8);
		x->ivb[11] = (uint8_t)seq;
		iv_xor(iv, x->ivb, k->rx_salt);
		if (k->key_len == 16)
			IMB_AES128_GCM_DEC(f->m, &k->rx, &ctx, scratch, pl + h, x->len, iv, pl, h, tag,
					   GCM_TAG);
		else
			IMB_AES256_GCM_DEC(f->m, &k->rx, &ctx, scratch, pl + h, x->len, iv, pl, h, tag,
					   GCM_TAG);
		if (perc_ct_memcmp(tag, pl + h + x->len, GCM_TAG) != 0)
			bad++;
	}
	free(rt);
	if (bad > 0)
		return err_set(err, errlen, "%zu of %zu frames do not open with their sender's rx "
			       "key: the floor would not time what the pipeline does", bad, cap->n);
	return 0;
}

struct bp_floor *
bp_floor_create(const struct bp_world *w, const struct bp_capture *c, int arch, char *err,
		size_t errlen)
{
	struct bp_floor *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	f->w = w;
	f->cap = c;
	if (arch == PERC_ARCH_LIBSRTP) {
		err_set(err, errlen, "the floor runs on ipsec-mb, not libsrtp2");
		goto fail;
	}
	f->e = perc_engine_create((enum perc_arch)arch);
	f->m = f->e != NULL ? perc_engine_mgr(f->e) : NULL;
	if (f->m == NULL) {
		err_set(err, errlen, "the ipsec-mb architecture '%s' cannot run on this CPU",
			perc_arch_name((enum perc_arch)arch));
		goto fail;
	}
	f->keys = zalloc64((size_t)w->n_eps * sizeof(*f->keys));
	f->out = zalloc64((size_t)N_OUT * OUT_SLOT);
	if (f->keys == NULL || f->out == NULL) {
		err_set(err, errlen, "out of memory for %u endpoints' keys", w->n_eps);
		goto fail;
	}
	for (unsigned i = 0; i < w->n_eps; i++) {
		const struct prov_endpoint *pe = w->eps[i];

		if (session(f->m, pe, pe->rx_key, pe->rx_salt, &f->keys[i].rx, f->keys[i].rx_salt,
			    err, errlen) != 0 ||
		    session(f->m, pe, pe->tx_key, pe->tx_salt, &f->keys[i].tx, f->keys[i].tx_salt,
			    err, errlen) != 0)
			goto fail;
		f->keys[i].key_len = perc_profile_layer(pe->profile)->key_len;
	}
	if (prepare_frames(f, err, errlen) != 0)
		goto fail;
	return f;
fail:
	bp_floor_destroy(f);
	return NULL;
}

int
bp_floor_load(struct bp_floor *f, size_t a, size_t b)
{
	const struct bp_capture *c = f->cap;
	size_t n;

	if (a >= b)
		return 0;
	n = c->f[b - 1].off + c->f[b - 1].len - c->f[a].off;
	if (n > f->work_cap) {
		free(f->work);
		f->work = zalloc64(n);
		f->work_cap = f->work ? n : 0;
		if (f->work == NULL)
			return -1;
	}
	f->base = c->f[a].off;
	memcpy(f->work, c->data + f->base, n);
	return 0;
}

uint64_t
bp_floor_pass(struct bp_floor *f, size_t a, size_t b)
{
	const struct bp_world *w = f->w;
	const struct fkey *keys = f->keys;
	IMB_MGR *m = f->m;
	struct gcm_context_data ctx;
	uint8_t iv[12] __attribute__((aligned(16)));
	uint8_t tag[GCM_TAG];
	unsigned o = 0;
	uint64_t t0, t1;

	t0 = bp_tsc_begin();
	for (size_t i = a; i < b; i++) {
		const struct fframe *x = &f->ff[i];
		const struct fkey *sk = &keys[x->ep];
		uint8_t *p = f->work + (x->off - f->base);
		unsigned first = w->conf_first[x->ep], n = w->conf_n[x->ep];

		iv_xor(iv, x->ivb, sk->rx_salt);
		if (sk->key_len == 16)
			IMB_AES128_GCM_DEC(m, &sk->rx, &ctx, p + x->hdr, p + x->hdr, x->len, iv, p,
					   x->hdr, tag, GCM_TAG);
		else
			IMB_AES256_GCM_DEC(m, &sk->rx, &ctx, p + x->hdr, p + x->hdr, x->len, iv, p,
					   x->hdr, tag, GCM_TAG);
		for (unsigned r = first; r < first + n; r++) {
			const struct fkey *rk = &keys[r];
			uint8_t *d;

			if (r == x->ep)
				continue;
			d = f->out + (size_t)(o++ % N_OUT) * OUT_SLOT;
			iv_xor(iv, x->ivb, rk->tx_salt);
			if (rk->key_len == 16)
				IMB_AES128_GCM_ENC(m, &rk->tx, &ctx, d + x->hdr, p + x->hdr, x->len, iv,
						   p, x->hdr, d + x->hdr + x->len, GCM_TAG);
			else
				IMB_AES256_GCM_ENC(m, &rk->tx, &ctx, d + x->hdr, p + x->hdr, x->len, iv,
						   p, x->hdr, d + x->hdr + x->len, GCM_TAG);
		}
	}
	t1 = bp_tsc_end();
	return t1 - t0;
}

const char *
bp_floor_arch(const struct bp_floor *f)
{
	return perc_arch_name(perc_engine_arch(f->e));
}

void
bp_floor_destroy(struct bp_floor *f)
{
	if (f == NULL)
		return;
	if (f->keys != NULL)
		perc_zeroize(f->keys, (size_t)f->w->n_eps * sizeof(*f->keys));
	free(f->keys);
	free(f->ff);
	free(f->work);
	free(f->out);
	perc_engine_destroy(f->e);
	free(f);
}

#ifdef BP_FLOOR_MAIN
/* ---- perc-bench-pipeline-floor: the floor alone ---- */

#ifndef PERC_GIT_COMMIT
#define PERC_GIT_COMMIT "unknown"
#endif
#define PROG "perc-bench-pipeline-floor"

static const char usage_text[] =
	"usage: " PROG " --provision FILE --pcap FILE [options]\n"
	"\n"
	"The floor of perc-bench-pipeline on its own (for profiling): per frame one\n"
	"AES-GCM decrypt of the outer layer and one AES-GCM encrypt per receiver, same\n"
	"keys, lengths and AAD, through ipsec-mb's direct API. Prints JSON: TSC cycles\n"
	"per egress packet. perc-bench-pipeline runs the same passes beside the\n"
	"pipeline; use that for comparisons.\n"
	"\n"
	"options:\n"
	"  --provision FILE   conferences and keys (provision.json)\n"
	"  --pcap FILE        RTP frames from the endpoints (in.pcap)\n"
	"  --port N           the MDD's media port (default 3478)\n"
	"  --arch A           auto (default), sse, avx, avx2, avx512\n"
	"  --warmup N         frames not timed (default: provisioned SSRCs)\n"
	"  --chunk-egress N   copies per timed chunk (default 4096)\n"
	"  --reps N           passes over the chunks (default 3)\n"
	"  --json FILE        where the result goes (default stdout)\n"
	"  -h, --help         this text\n"
	"\n"
	"Exit status: 0 measured, 1 a setup or the tag check failed, 2 bad usage.\n";

#define die(...) bp_die(PROG, __VA_ARGS__)

static int
usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, PROG ": %s%s%s%s\n(see " PROG " --help)\n", msg, arg ? " '" : "",
		arg ? arg : "", arg ? "'" : "");
	return 2;
}

static bool
num(const char *s, long lo, long hi, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return errno == 0 && *end == 0 && end != s && *v >= lo && *v <= hi;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "provision", required_argument, NULL, 'P' },
		{ "pcap", required_argument, NULL, 'i' },
		{ "port", required_argument, NULL, 'p' },
		{ "arch", required_argument, NULL, 'A' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "chunk-egress", required_argument, NULL, 'c' },
		{ "reps", required_argument, NULL, 'r' },
		{ "json", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *provision = NULL, *pcap = NULL, *json = NULL;
	long warmup = -1, reps = 3, chunk = 4096, port = 3478;
	int arch = PERC_ARCH_AUTO, c;
	struct bp_world w;
	struct bp_capture cap;
	struct bp_floor *f;
	size_t *b, ns = 0;
	unsigned nchunks;
	double *cpe, tsc_hz;
	uint64_t tot_cyc = 0, tot_eg = 0;
	char err[512], cpu[160], date[40];
	bool tsc_inv;
	json_t *root, *samples, *jt;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'P':
			provision = optarg;
			break;
		case 'i':
			pcap = optarg;
			break;
		case 'p':
			if (!num(optarg, 1, 65535, &port))
				return usage_error("--port takes 1..65535, not", optarg);
			break;
		case 'A':
			arch = perc_arch_parse(optarg);
			if (arch < 0 || arch == PERC_ARCH_LIBSRTP)
				return usage_error("--arch: auto, sse, avx, avx2 or avx512, not", optarg);
			break;
		case 'w':
			if (!num(optarg, 0, 1L << 40, &warmup))
				return usage_error("--warmup takes frames >= 0, not", optarg);
			break;
		case 'c':
			if (!num(optarg, 1, 1L << 30, &chunk))
				return usage_error("--chunk-egress takes a number >= 1, not", optarg);
			break;
		case 'r':
			if (!num(optarg, 1, 100, &reps))
				return usage_error("--reps takes 1..100, not", optarg);
			break;
		case 'j':
			json = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return usage_error("unknown option", NULL);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind]);
	if (provision == NULL || pcap == NULL)
		return usage_error("--provision FILE and --pcap FILE are required", NULL);

	bp_cpu_model(cpu, sizeof(cpu), &tsc_inv);
	tsc_hz = bp_tsc_calibrate();
	if (bp_world_load(provision, &w, err, sizeof(err)) != 0 ||
	    bp_capture_load(pcap, &w, (uint16_t)port, &cap, err, sizeof(err)) != 0)
		die("%s", err);
	f = bp_floor_create(&w, &cap, arch, err, sizeof(err));
	if (f == NULL)
		die("%s", err);
	b = bp_split(&cap, warmup < 0 ? w.n_streams : (size_t)warmup, (uint64_t)chunk, &nchunks);
	if (b == NULL || nchunks == 0)
		die("nothing to time after the warm-up");
	cpe = calloc((size_t)nchunks * (size_t)reps, sizeof(*cpe));
	samples = json_array();
	if (cpe == NULL || samples == NULL)
		die("out of memory");
	/* one untimed pass warms code and keys */
	if (bp_floor_load(f, b[1], b[2]) != 0)
		die("out of memory for the work area");
	bp_floor_pass(f, b[1], b[2]);
	for (long rep = 0; rep < reps; rep++)
		for (unsigned k = 0; k < nchunks; k++) {
			uint64_t eg = bp_egress(&cap, b[k + 1], b[k + 2]), cyc;
			json_t *s = json_object();

			if (bp_floor_load(f, b[k + 1], b[k + 2]) != 0)
				die("out of memory for the work area");
			cyc = bp_floor_pass(f, b[k + 1], b[k + 2]);
			cpe[ns++] = (double)cyc / (double)eg;
			tot_cyc += cyc;
			tot_eg += eg;
			json_object_set_new(s, "rep", json_integer(rep + 1));
			json_object_set_new(s, "chunk", json_integer(k + 1));
			json_object_set_new(s, "ingress", json_integer((json_int_t)(b[k + 2] - b[k + 1])));
			json_object_set_new(s, "egress", json_integer((json_int_t)eg));
			json_object_set_new(s, "cycles", json_integer((json_int_t)cyc));
			json_object_set_new(s, "cycles_per_egress", json_real((double)cyc / (double)eg));
			json_array_append_new(samples, s);
		}
	qsort(cpe, ns, sizeof(*cpe), cmp_double);

	root = json_object();
	bp_now_iso(date, sizeof(date));
	json_object_set_new(root, "tool", json_string(PROG));
	json_object_set_new(root, "date", json_string(date));
	json_object_set_new(root, "git_commit", json_string(PERC_GIT_COMMIT));
	json_object_set_new(root, "cpu_model", json_string(cpu));
	json_object_set_new(root, "tsc_hz", json_real(tsc_hz));
	json_object_set_new(root, "tsc_invariant", json_boolean(tsc_inv));
	json_object_set_new(root, "ipsec_mb", json_string(imb_get_version_str()));
	json_object_set_new(root, "arch", json_string(bp_floor_arch(f)));
	json_object_set_new(root, "conferences", json_integer(w.n_confs));
	json_object_set_new(root, "endpoints", json_integer(w.n_eps));
	json_object_set_new(root, "streams", json_integer(w.n_streams));
	json_object_set_new(root, "frames", json_integer((json_int_t)cap.n));
	json_object_set_new(root, "warmup_frames", json_integer((json_int_t)b[1]));
	json_object_set_new(root, "chunks", json_integer(nchunks));
	json_object_set_new(root, "reps", json_integer(reps));
	json_object_set_new(root, "samples", samples);
	jt = json_object();
	json_object_set_new(jt, "egress", json_integer((json_int_t)tot_eg));
	json_object_set_new(jt, "cycles", json_integer((json_int_t)tot_cyc));
	json_object_set_new(jt, "cycles_per_egress", json_real((double)tot_cyc / (double)tot_eg));
	json_object_set_new(jt, "cycles_per_egress_median",
			    json_real(ns % 2 ? cpe[ns / 2] : (cpe[ns / 2 - 1] + cpe[ns / 2]) / 2));
	json_object_set_new(jt, "cycles_per_egress_min", json_real(cpe[0]));
	json_object_set_new(jt, "cycles_per_egress_max", json_real(cpe[ns - 1]));
	json_object_set_new(root, "timed", jt);
	if ((json ? json_dump_file(root, json, JSON_INDENT(1) | JSON_PRESERVE_ORDER)
		  : json_dumpf(root, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER)) != 0)
		die("cannot write %s: %s", json ? json : "stdout", strerror(errno));
	json_decref(root);
	free(cpe);
	free(b);
	bp_floor_destroy(f);
	bp_capture_free(&cap);
	bp_world_free(&w);
	return 0;
}
#endif /* BP_FLOOR_MAIN */
