/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-srtp: the crypto core on the command line, for people debugging keys
 * and packets and for outside checks. Hex in, hex out.
 * Exit status: 0 success, 1 packet rejected (reason on stderr), 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perc/double.h"
#include "perc/ekt.h"
#include "perc/kat.h"
#include "perc/kdf.h"
#include "perc/rtp.h"

#define EX_OK 0
#define EX_REJECT 1
#define EX_USAGE 2
#define BUF (PERC_PKT_MAX + 256)

static const char usage_text[] =
	"usage: perc-srtp COMMAND [options] [HEX]\n"
	"\n"
	"SRTP / SRTCP and RFC 8723 double SRTP from the command line. Keys and salts\n"
	"are MASTER keys and salts in hex (the RFC 3711 KDF runs inside); for double\n"
	"profiles --key is inner||outer and --salt inner||outer.\n"
	"\n"
	"commands:\n"
	"  protect   --profile P --key HEX --salt HEX [--roc N] [--ekt FIELD_HEX] PACKET_HEX\n"
	"  unprotect --profile P --key HEX --salt HEX [--roc N] PACKET_HEX\n"
	"  protect   --rtcp --index N [--auth-only] --profile P --key HEX --salt HEX PACKET_HEX\n"
	"  unprotect --rtcp --profile P --key HEX --salt HEX PACKET_HEX\n"
	"  relay     --profile P --in-key HEX --in-salt HEX --out-key HEX --out-salt HEX\n"
	"            [--pt N] [--seq N] [--marker 0|1] [--roc-in N] [--roc-out N] PACKET_HEX\n"
	"  ekt-wrap  --ekt-key HEX --spi N --epoch N --ssrc N --roc N --key HEX\n"
	"  ekt-unwrap --ekt-key HEX FIELD_HEX          (prints JSON)\n"
	"  selftest  [--arch A]                        (all known-answer data)\n"
	"  profiles                                    (list the profiles)\n"
	"\n"
	"options:\n"
	"  --profile P   registry name, e.g. SRTP_AEAD_AES_128_GCM or\n"
	"                DOUBLE_AEAD_AES_128_GCM_AEAD_AES_128_GCM (or its id, 0x0009)\n"
	"  --roc N       rollover counter of the packet (default 0)\n"
	"  --ekt HEX     (double protect) EKT field to append after the tag\n"
	"  --arch A      auto (default), sse, avx, avx2, avx512, or libsrtp (single\n"
	"                profiles; not for selftest)\n"
	"  -h, --help    this text\n"
	"\n"
	"For double profiles, unprotect prints the packet as the sender built it\n"
	"(original PT / SEQ / marker restored from the OHB, E2E plaintext payload);\n"
	"relay takes the outer (hop-by-hop) halves only and passes a trailing EKT\n"
	"field through unchanged. A trailing EKT field on unprotect / relay input is\n"
	"found by trying each possible field length against the tag; it is shown on\n"
	"stderr as 'ekt-field: HEX'.\n"
	"\n"
	"exit status: 0 success, 1 packet rejected (reason on stderr: auth, replay,\n"
	"malformed, ohb, ...), 2 bad usage.\n";

enum opt_id {
	O_PROFILE = 256, O_KEY, O_SALT, O_ROC, O_RTCP, O_INDEX, O_AUTH_ONLY, O_IN_KEY, O_IN_SALT,
	O_OUT_KEY, O_OUT_SALT, O_PT, O_SEQ, O_MARKER, O_ROC_IN, O_ROC_OUT, O_EKT_KEY, O_SPI,
	O_EPOCH, O_SSRC, O_EKT, O_ARCH,
};

static const struct option long_opts[] = {
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "key", required_argument, NULL, O_KEY },
	{ "salt", required_argument, NULL, O_SALT },
	{ "roc", required_argument, NULL, O_ROC },
	{ "rtcp", no_argument, NULL, O_RTCP },
	{ "index", required_argument, NULL, O_INDEX },
	{ "auth-only", no_argument, NULL, O_AUTH_ONLY },
	{ "in-key", required_argument, NULL, O_IN_KEY },
	{ "in-salt", required_argument, NULL, O_IN_SALT },
	{ "out-key", required_argument, NULL, O_OUT_KEY },
	{ "out-salt", required_argument, NULL, O_OUT_SALT },
	{ "pt", required_argument, NULL, O_PT },
	{ "seq", required_argument, NULL, O_SEQ },
	{ "marker", required_argument, NULL, O_MARKER },
	{ "roc-in", required_argument, NULL, O_ROC_IN },
	{ "roc-out", required_argument, NULL, O_ROC_OUT },
	{ "ekt-key", required_argument, NULL, O_EKT_KEY },
	{ "spi", required_argument, NULL, O_SPI },
	{ "epoch", required_argument, NULL, O_EPOCH },
	{ "ssrc", required_argument, NULL, O_SSRC },
	{ "ekt", required_argument, NULL, O_EKT },
	{ "arch", required_argument, NULL, O_ARCH },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* What the command line said. Byte strings keep their length (-1: absent). */
struct hexarg {
	uint8_t b[64];
	long n;
};

struct args {
	const char *cmd;
	const struct perc_profile *prof;
	struct hexarg key, salt, in_key, in_salt, out_key, out_salt, ekt_key, ekt;
	long long roc, index, roc_in, roc_out, spi, epoch, ssrc;
	int pt, seq, marker;
	bool rtcp, auth_only;
	int arch;
	const char *data;
};

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("perc-srtp: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(see perc-srtp --help)\n", stderr);
	return EX_USAGE;
}

static int
reject(int reason)
{
	fprintf(stderr, "%s\n", perc_reason_name((unsigned)reason));
	return EX_REJECT;
}

/* Parse an unsigned number in [0, max]; -1 on error. */
static long long
num(const char *s, long long max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (s == NULL || *s == 0 || *s == '-')
		return -1;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != 0 || v > (unsigned long long)max)
		return -1;
	return (long long)v;
}

static int
parse_args(int argc, char **argv, struct args *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	a->key.n = a->salt.n = a->in_key.n = a->in_salt.n = a->out_key.n = a->out_salt.n = -1;
	a->ekt_key.n = a->ekt.n = -1;
	a->roc = a->index = a->roc_in = a->roc_out = a->spi = a->epoch = a->ssrc = -1;
	a->pt = a->seq = a->marker = -1;
	a->arch = PERC_ARCH_AUTO;
	if (argc < 2)
		return usage_error("no command given");
	a->cmd = argv[1];
	if (strcmp(a->cmd, "-h") == 0 || strcmp(a->cmd, "--help") == 0)
		return -1;
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		struct hexarg *h = NULL;
		long long *n = NULL, max = UINT32_MAX;
		const char *what = NULL;

		switch (c) {
		case 'h':
			return -1;
		case O_PROFILE: {
			long long id = num(optarg, 0xffff);

			a->prof = id >= 0 ? perc_profile_by_id((uint16_t)id) : perc_profile_by_name(optarg);
			if (a->prof == NULL)
				return usage_error("unknown profile '%s' (perc-srtp profiles lists them)", optarg);
			continue;
		}
		case O_KEY: h = &a->key; what = "--key"; break;
		case O_SALT: h = &a->salt; what = "--salt"; break;
		case O_IN_KEY: h = &a->in_key; what = "--in-key"; break;
		case O_IN_SALT: h = &a->in_salt; what = "--in-salt"; break;
		case O_OUT_KEY: h = &a->out_key; what = "--out-key"; break;
		case O_OUT_SALT: h = &a->out_salt; what = "--out-salt"; break;
		case O_EKT_KEY: h = &a->ekt_key; what = "--ekt-key"; break;
		case O_EKT: h = &a->ekt; what = "--ekt"; break;
		case O_ROC: n = &a->roc; what = "--roc"; break;
		case O_ROC_IN: n = &a->roc_in; what = "--roc-in"; break;
		case O_ROC_OUT: n = &a->roc_out; what = "--roc-out"; break;
		case O_INDEX: n = &a->index; max = 0x7fffffff; what = "--index"; break;
		case O_SPI: n = &a->spi; max = 0xffff; what = "--spi"; break;
		case O_EPOCH: n = &a->epoch; max = 0xffff; what = "--epoch"; break;
		case O_SSRC: n = &a->ssrc; what = "--ssrc"; break;
		case O_RTCP: a->rtcp = true; continue;
		case O_AUTH_ONLY: a->auth_only = true; continue;
		case O_PT:
			a->pt = (int)num(optarg, 127);
			if (a->pt < 0)
				return usage_error("--pt takes 0..127, not '%s'", optarg);
			continue;
		case O_SEQ:
			a->seq = (int)num(optarg, 65535);
			if (a->seq < 0)
				return usage_error("--seq takes 0..65535, not '%s'", optarg);
			continue;
		case O_MARKER:
			a->marker = (int)num(optarg, 1);
			if (a->marker < 0)
				return usage_error("--marker takes 0 or 1, not '%s'", optarg);
			continue;
		case O_ARCH:
			a->arch = perc_arch_parse(optarg);
			if (a->arch < 0)
				return usage_error("unknown --arch '%s' (auto, sse, avx, avx2, avx512, libsrtp)",
						   optarg);
			continue;
		default:
			return usage_error("unknown option");
		}
		if (h != NULL) {
			h->n = perc_hex_decode(optarg, h->b, sizeof(h->b));
			if (h->n <= 0)
				return usage_error("%s wants hex bytes (at most %zu), not '%s'", what,
						   sizeof(h->b), optarg);
		} else {
			*n = num(optarg, max);
			if (*n < 0)
				return usage_error("%s takes a number from 0 to %lld, not '%s'", what, max,
						   optarg);
		}
	}
	if (optind < argc)
		a->data = argv[optind++];
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return 0;
}

static void
print_hex(const uint8_t *p, size_t n)
{
	static char out[2 * BUF + 1];

	perc_hex_encode(p, n, out);
	puts(out);
}

static int
need_key(const struct args *a, const struct hexarg *k, const struct hexarg *s, const char *kname,
	 const char *sname, bool half)
{
	const struct perc_profile *p = a->prof;
	long kl, sl;

	if (p == NULL)
		return usage_error("--profile is required");
	kl = half ? perc_profile_layer(p)->key_len : p->key_len;
	sl = half ? perc_profile_layer(p)->salt_len : p->salt_len;
	if (k->n != kl)
		return usage_error("%s must be %ld bytes for %s%s (got %ld)", kname, kl, p->name,
				   half && p->is_double ? " (outer half)" : "", k->n < 0 ? 0 : k->n);
	if (s->n != sl)
		return usage_error("%s must be %ld bytes for %s%s (got %ld)", sname, sl, p->name,
				   half && p->is_double ? " (outer half)" : "", s->n < 0 ? 0 : s->n);
	return 0;
}

static long
packet_arg(const struct args *a, uint8_t *buf)
{
	long n;

	if (a->data == NULL) {
		usage_error("the packet (hex) is missing");
		return -1;
	}
	n = perc_hex_decode(a->data, buf, PERC_PKT_MAX);
	if (n <= 0) {
		usage_error("the packet must be hex bytes, at most %u", PERC_PKT_MAX);
		return -1;
	}
	return n;
}

/* Possible lengths of a trailing EKT field, most likely first: none,
 * then whatever the last byte announces. */
static int
ekt_candidates(const uint8_t *pkt, size_t len, size_t *out)
{
	int n = 0, l = perc_ekt_field_len(pkt, len);

	if (l > 0 && (size_t)l < len)
		out[n++] = (size_t)l;
	out[n++] = 0;
	return n;
}

static void
show_ekt(const uint8_t *field, size_t n)
{
	char hex[2 * PERC_EKT_FIELD_MAX + 1];

	if (n == 0 || n > PERC_EKT_FIELD_MAX)
		return;
	perc_hex_encode(field, n, hex);
	fprintf(stderr, "ekt-field: %s\n", hex);
}

static struct perc_engine *
engine(const struct args *a)
{
	struct perc_engine *e = perc_engine_create((enum perc_arch)a->arch);

	if (e == NULL)
		fprintf(stderr, "perc-srtp: cannot run the %s engine: %s\n",
			perc_arch_name((enum perc_arch)a->arch), strerror(errno));
	return e;
}

static int
cmd_single(const struct args *a, bool protect, uint8_t *buf, long n)
{
	struct perc_engine *e;
	struct perc_key *k;
	static uint8_t out[BUF];
	struct perc_op op = { 0 };
	int r;

	if (a->rtcp && protect && a->index < 0)
		return usage_error("protect --rtcp needs --index N (the SRTCP index, 0..2^31-1)");
	if (a->ekt.n >= 0)
		return usage_error("--ekt is for double profiles only");
	e = engine(a);
	if (e == NULL)
		return EX_USAGE;
	k = aligned_alloc(64, sizeof(*k));
	if (k == NULL || (r = perc_key_init(k, e, a->prof, a->key.b, a->salt.b)) != PERC_R_OK) {
		fprintf(stderr, "perc-srtp: key set-up failed\n");
		perc_engine_destroy(e);
		free(k);
		return EX_USAGE;
	}
	op.key = k;
	op.src = buf;
	op.dst = out;
	op.len = (uint32_t)n;
	op.cap = BUF;
	op.flags = PERC_OPF_INDEX;
	if (a->rtcp) {
		op.type = protect ? PERC_OP_RTCP_PROTECT : PERC_OP_RTCP_UNPROTECT;
		op.index = protect ? (uint64_t)a->index : 0;
		if (a->auth_only)
			op.flags |= PERC_OPF_RTCP_AUTH_ONLY;
	} else {
		op.type = protect ? PERC_OP_RTP_PROTECT : PERC_OP_RTP_UNPROTECT;
		op.index = (uint64_t)(a->roc < 0 ? 0 : a->roc) << 16;
	}
	r = perc_engine_run1(e, &op);
	if (r == PERC_R_OK)
		print_hex(out, op.len);
	perc_key_clear(k);
	free(k);
	perc_engine_destroy(e);
	return r == PERC_R_OK ? EX_OK : reject(r);
}

static int
cmd_double(const struct args *a, bool protect, uint8_t *buf, long n)
{
	struct perc_double_key *dk;
	struct perc_engine *e;
	static uint8_t work[BUF];
	uint32_t roc = (uint32_t)(a->roc < 0 ? 0 : a->roc), len;
	int r = PERC_R_AUTH;

	if (a->rtcp)
		return usage_error("RTCP is protected hop by hop only: use the single profile of "
				   "one layer (%s)", perc_profile_layer(a->prof)->name);
	if (!protect && a->ekt.n >= 0)
		return usage_error("--ekt is for protect");
	e = engine(a);
	if (e == NULL)
		return EX_USAGE;
	dk = aligned_alloc(64, sizeof(*dk));
	if (dk == NULL || perc_double_key_init(dk, e, a->prof, a->key.b, a->salt.b) != PERC_R_OK) {
		fprintf(stderr, "perc-srtp: key set-up failed (the libsrtp engine has no double "
				"transform)\n");
		perc_engine_destroy(e);
		free(dk);
		return EX_USAGE;
	}
	if (protect) {
		len = (uint32_t)n;
		memcpy(work, buf, (size_t)n);
		r = perc_double_protect(e, dk, NULL, NULL, roc, work, &len, BUF - 64);
		if (r == PERC_R_OK && a->ekt.n > 0) {
			if (perc_ekt_field_len(a->ekt.b, (size_t)a->ekt.n) != a->ekt.n) {
				r = EX_USAGE;
				usage_error("--ekt is not a whole EKT field");
				goto out;
			}
			memcpy(work + len, a->ekt.b, (size_t)a->ekt.n);
			len += (uint32_t)a->ekt.n;
		}
		if (r == PERC_R_OK)
			print_hex(work, len);
	} else {
		size_t cand[2];
		int nc = ekt_candidates(buf, (size_t)n, cand);

		for (int i = 0; i < nc; i++) {
			len = (uint32_t)((size_t)n - cand[i]);
			memcpy(work, buf, len);
			r = perc_double_unprotect(e, dk, NULL, NULL, roc, work, &len);
			if (r == PERC_R_OK) {
				show_ekt(buf + n - cand[i], cand[i]);
				print_hex(work, len);
				break;
			}
		}
	}
	r = r == PERC_R_OK ? EX_OK : reject(r);
out:
	perc_double_key_clear(dk);
	free(dk);
	perc_engine_destroy(e);
	return r;
}

static int
cmd_relay(const struct args *a, uint8_t *buf, long n)
{
	const struct perc_hop_change c = { .pt = a->pt, .seq = a->seq, .marker = a->marker };
	const struct perc_profile *layer = perc_profile_layer(a->prof);
	struct perc_key *k;
	struct perc_engine *e;
	static uint8_t out[BUF];
	uint32_t rin = (uint32_t)(a->roc_in < 0 ? 0 : a->roc_in);
	uint32_t rout = (uint32_t)(a->roc_out < 0 ? 0 : a->roc_out), len = 0;
	size_t cand[2];
	int nc, r = PERC_R_AUTH;

	e = engine(a);
	if (e == NULL)
		return EX_USAGE;
	k = aligned_alloc(64, 2 * sizeof(*k));
	if (k == NULL || perc_key_init(&k[0], e, layer, a->in_key.b, a->in_salt.b) != PERC_R_OK ||
	    perc_key_init(&k[1], e, layer, a->out_key.b, a->out_salt.b) != PERC_R_OK) {
		fprintf(stderr, "perc-srtp: key set-up failed\n");
		perc_engine_destroy(e);
		free(k);
		return EX_USAGE;
	}
	/* single profiles carry no EKT field in this tool (PERC is double) */
	nc = a->prof->is_double ? ekt_candidates(buf, (size_t)n, cand) : 1;
	if (!a->prof->is_double)
		cand[0] = 0;
	for (int i = 0; i < nc; i++) {
		uint32_t body = (uint32_t)((size_t)n - cand[i]);

		if (a->prof->is_double) {
			r = perc_hop_relay(e, &k[0], NULL, rin, &k[1], NULL, rout, &c, buf, body, out,
					   BUF - 64, &len);
		} else {
			struct perc_op op = {
				.key = &k[0], .src = buf, .dst = out, .len = body, .cap = BUF,
				.type = PERC_OP_RTP_UNPROTECT, .flags = PERC_OPF_INDEX,
				.index = (uint64_t)rin << 16,
			};

			r = perc_engine_run1(e, &op);
			if (r == PERC_R_OK) {
				/* a plain SFU rewrites the header directly: no OHB to keep */
				if (c.pt >= 0)
					out[1] = (uint8_t)((out[1] & 0x80) | c.pt);
				if (c.marker >= 0)
					out[1] = (uint8_t)((out[1] & 0x7f) | (c.marker ? 0x80 : 0));
				if (c.seq >= 0) {
					out[2] = (uint8_t)(c.seq >> 8);
					out[3] = (uint8_t)c.seq;
				}
				op = (struct perc_op){
					.key = &k[1], .src = out, .dst = out, .len = op.len, .cap = BUF,
					.type = PERC_OP_RTP_PROTECT, .flags = PERC_OPF_INDEX,
					.index = (uint64_t)rout << 16,
				};
				r = perc_engine_run1(e, &op);
				len = op.len;
			}
		}
		if (r == PERC_R_OK) {
			memcpy(out + len, buf + body, cand[i]);
			len += (uint32_t)cand[i];
			show_ekt(buf + body, cand[i]);
			print_hex(out, len);
			break;
		}
	}
	perc_key_clear(&k[0]);
	perc_key_clear(&k[1]);
	free(k);
	perc_engine_destroy(e);
	return r == PERC_R_OK ? EX_OK : reject(r);
}

static int
cmd_ekt_wrap(const struct args *a)
{
	struct perc_ekt_plain pl = { 0 };
	uint8_t field[PERC_EKT_FIELD_MAX];
	int n;

	if (a->ekt_key.n != 16 && a->ekt_key.n != 32)
		return usage_error("--ekt-key must be 16 (AESKW128) or 32 (AESKW256) bytes");
	if (a->key.n != 16 && a->key.n != 32)
		return usage_error("--key (the SRTP master key to carry) must be 16 or 32 bytes");
	if (a->spi < 0 || a->epoch < 0 || a->ssrc < 0 || a->roc < 0)
		return usage_error("ekt-wrap needs --spi, --epoch, --ssrc and --roc");
	pl.key_len = (uint8_t)a->key.n;
	memcpy(pl.key, a->key.b, (size_t)a->key.n);
	pl.spi = (uint16_t)a->spi;
	pl.epoch = (uint16_t)a->epoch;
	pl.ssrc = (uint32_t)a->ssrc;
	pl.roc = (uint32_t)a->roc;
	n = perc_ekt_wrap(a->ekt_key.b, (size_t)a->ekt_key.n, &pl, field, sizeof(field));
	perc_zeroize(&pl, sizeof(pl));
	if (n < 0)
		return reject(-n);
	print_hex(field, (size_t)n);
	return EX_OK;
}

static int
cmd_ekt_unwrap(const struct args *a)
{
	struct perc_ekt_plain pl;
	uint8_t field[PERC_EKT_FIELD_MAX + 1];
	char hex[65];
	long n;
	int r;

	if (a->ekt_key.n != 16 && a->ekt_key.n != 32)
		return usage_error("--ekt-key must be 16 (AESKW128) or 32 (AESKW256) bytes");
	if (a->data == NULL)
		return usage_error("the EKT field (hex) is missing");
	n = perc_hex_decode(a->data, field, sizeof(field));
	if (n <= 0)
		return usage_error("the EKT field must be hex, at most %u bytes", PERC_EKT_FIELD_MAX);
	r = perc_ekt_unwrap(a->ekt_key.b, (size_t)a->ekt_key.n, field, (size_t)n, &pl);
	if (r != PERC_R_OK)
		return reject(r);
	perc_hex_encode(pl.key, pl.key_len, hex);
	printf("{\"spi\": %u, \"epoch\": %u, \"length\": %ld, \"key\": \"%s\", \"ssrc\": %u, "
	       "\"roc\": %u}\n",
	       pl.spi, pl.epoch, n, hex, pl.ssrc, pl.roc);
	perc_zeroize(&pl, sizeof(pl));
	perc_zeroize(hex, sizeof(hex));
	return EX_OK;
}

static int
cmd_selftest(const struct args *a)
{
	int fails = 0, ran = 0;

	if (a->arch == PERC_ARCH_LIBSRTP)
		return usage_error("selftest checks the ipsec-mb architectures; libsrtp2 is checked "
				   "differentially by the test suite");
	for (int arch = PERC_ARCH_SSE; arch <= PERC_ARCH_AVX512; arch++) {
		if (a->arch != PERC_ARCH_AUTO && arch != a->arch)
			continue;
		if (!perc_arch_supported((enum perc_arch)arch)) {
			printf("skip %s: not supported by this CPU\n", perc_arch_name((enum perc_arch)arch));
			continue;
		}
		fails += perc_selftest((enum perc_arch)arch, stdout);
		ran++;
	}
	if (ran == 0)
		return usage_error("the CPU supports none of the requested architectures");
	printf("selftest: %s\n", fails ? "FAILED" : "passed");
	return fails ? EX_REJECT : EX_OK;
}

int
main(int argc, char **argv)
{
	static uint8_t buf[BUF];
	struct args a;
	long n;
	int r = parse_args(argc, argv, &a);

	if (r < 0) {
		fputs(usage_text, stdout);
		return EX_OK;
	}
	if (r != 0)
		return r;
	if (strcmp(a.cmd, "selftest") == 0)
		return cmd_selftest(&a);
	if (strcmp(a.cmd, "profiles") == 0) {
		for (unsigned i = 0; perc_profiles[i] != NULL; i++)
			printf("0x%04x %s key %u salt %u\n", perc_profiles[i]->id, perc_profiles[i]->name,
			       perc_profiles[i]->key_len, perc_profiles[i]->salt_len);
		return EX_OK;
	}
	if (strcmp(a.cmd, "ekt-wrap") == 0)
		return cmd_ekt_wrap(&a);
	if (strcmp(a.cmd, "ekt-unwrap") == 0)
		return cmd_ekt_unwrap(&a);
	if (strcmp(a.cmd, "protect") == 0 || strcmp(a.cmd, "unprotect") == 0) {
		bool protect = a.cmd[0] == 'p';

		r = need_key(&a, &a.key, &a.salt, "--key", "--salt", false);
		if (r != 0)
			return r;
		n = packet_arg(&a, buf);
		if (n < 0)
			return EX_USAGE;
		return a.prof->is_double ? cmd_double(&a, protect, buf, n) :
					   cmd_single(&a, protect, buf, n);
	}
	if (strcmp(a.cmd, "relay") == 0) {
		if (a.rtcp)
			return usage_error("relay is for RTP; SRTCP is re-sealed hop by hop with "
					   "unprotect --rtcp and protect --rtcp");
		r = need_key(&a, &a.in_key, &a.in_salt, "--in-key", "--in-salt", true);
		if (r == 0)
			r = need_key(&a, &a.out_key, &a.out_salt, "--out-key", "--out-salt", true);
		if (r != 0)
			return r;
		n = packet_arg(&a, buf);
		if (n < 0)
			return EX_USAGE;
		return cmd_relay(&a, buf, n);
	}
	return usage_error("unknown command '%s'", a.cmd);
}
