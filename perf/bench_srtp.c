/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-bench-srtp: TSC cycles per RTP packet of SRTP protect and unprotect.
 *
 * For each profile, payload size and direction one run times, interleaved
 * rep by rep so that a noisy neighbour hits all columns alike:
 *   engine    perc_engine_run() in bursts over many keys (the fast path);
 *   libsrtp2  one packet at a time through libsrtp2 (the baseline);
 *   floor     the bare ipsec-mb operation on the same bytes (what no SRTP
 *             code can beat): GCM through the direct API, AES-CM + HMAC-SHA1
 *             through a burst of jobs;
 *   floor_job GCM through a burst of jobs (tells the job API's own cost
 *             apart from the engine's).
 * All four run on the same keys, packets and buffers, and the first pass of
 * each is checked byte for byte against packets the engine protected, so a
 * column never times work the others do not do.
 *
 * Timing covers only the crypto calls of one pass over --pool packets;
 * restoring buffers, resetting replay state and recreating libsrtp2 sessions
 * happen between passes, outside the timed region.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <x86intrin.h>

#include <intel-ipsec-mb.h>
#include <srtp2/srtp.h>

#include "perc/kdf.h"
#include "perc/profile.h"
#include "perc/reason.h"
#include "perc/replay.h"
#include "perc/srtp.h"

#ifndef PERC_GIT_COMMIT
#define PERC_GIT_COMMIT "unknown"
#endif

#define PROG "perc-bench-srtp"
#define RTP_HDR 12u
#define SEQ_BASE 1000u          /* priming packets use SEQ_BASE - 1 */
#define SSRC_BASE 0x5e4c0000u   /* key k protects SSRC SSRC_BASE + k */
#define MAX_REPS 1000u
#define MAX_SIZES 8u
#define MAX_PAYLOAD 9000u
#define TARGET_SPEEDUP 8.0
#define TARGET_FLOOR 1.3

enum method { M_ENGINE, M_LIBSRTP, M_FLOOR, M_FLOOR_JOB, M__COUNT };
static const char *const method_names[M__COUNT] = { "engine", "libsrtp2", "floor", "floor_job" };

enum ref_mode { REF_AUTO, REF_ENGINE, REF_DIRECT, REF_NONE };
static const char *const ref_names[] = { "auto", "engine", "direct", "none" };

#define PROF_GCM 0x1u
#define PROF_CM80 0x2u
#define OP_PROTECT 0x1u
#define OP_UNPROTECT 0x2u

struct cfg {
	unsigned burst, reps, keys, pool;
	unsigned long packets, warmup;
	int arch;                     /* enum perc_arch asked for */
	const char *json;
	bool quick;
	int cpu;                      /* -1: leave the affinity alone */
	int ref_mode;                 /* enum ref_mode */
	unsigned profiles, ops, methods;
	unsigned nsizes;
	uint32_t sizes[MAX_SIZES];
};

struct ctx {
	struct cfg cfg;
	struct perc_engine *e;        /* the burst engine */
	IMB_MGR *mgr;                 /* its IMB_MGR, for the floor */
	struct perc_engine *re;       /* PERC_ARCH_LIBSRTP engine, REF_ENGINE only */
	int ref_path;                 /* REF_ENGINE, REF_DIRECT or REF_NONE */
	char ref_note[256];
	double tsc_hz;
	bool tsc_invariant;
	char cpu_model[160];
	char date[32];
};

struct cm_floor_key {
	uint32_t ek[60] __attribute__((aligned(16)));
	uint8_t ipad[32] __attribute__((aligned(16)));
	uint8_t opad[32] __attribute__((aligned(16)));
};

/* Everything one row (profile, payload, direction) needs. */
struct row {
	const struct perc_profile *prof;
	bool unprotect;
	unsigned pool, keys, burst;
	uint32_t plen, len_plain, len_prot, slot, tag;
	uint8_t *plain;               /* pool slots: plaintext RTP packets */
	uint8_t *prot;                /* pool slots: the same packets protected */
	uint8_t *work;                /* pool slots: what the timed pass writes */
	uint8_t *prime_plain;         /* keys slots: SEQ_BASE - 1 per key */
	uint8_t *prime_prot;
	uint8_t *scratch;             /* one slot */
	uint8_t (*iv)[16];            /* pool: floor IVs */
	uint8_t (*tags)[16];          /* pool: floor tags that are not in a packet */
	struct perc_op *ops;
	struct perc_op **opp;
	uint8_t (*mkey)[16];
	uint8_t (*msalt)[16];
	struct perc_key *ekeys;       /* burst engine keys */
	struct perc_stream **st;      /* one stream per key */
	uint8_t *stream_mem;
	struct perc_key *rkeys;       /* REF_ENGINE keys */
	bool rkeys_live;
	srtp_t *tx, *rx;              /* REF_DIRECT sessions */
	struct gcm_key_data *gk;      /* floor, GCM */
	struct cm_floor_key *ck;      /* floor, AES-CM + HMAC-SHA1 */
	bool skip[M__COUNT];          /* column not available for this row */
};

struct bstat {
	bool have;
	unsigned n;
	double med, min, max;
	double s[MAX_REPS];
};

struct result {
	const struct perc_profile *prof;
	uint32_t plen;
	bool unprotect;
	struct bstat st[M__COUNT];
};

/* ---------------------------------------------------------------- utils */

static void
die(const char *what)
{
	fprintf(stderr, PROG ": %s\n", what);
	exit(1);
}

static void *
zalloc(size_t n)
{
	size_t sz = (n + 63) & ~(size_t)63;
	void *p = aligned_alloc(64, sz ? sz : 64);

	if (p == NULL)
		die("out of memory");
	memset(p, 0, sz ? sz : 64);
	return p;
}

static inline uint8_t *
pkt(uint8_t *base, const struct row *r, unsigned i)
{
	return base + (size_t)i * r->slot;
}

static inline void
put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void
rng_fill(uint64_t *s, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(rng_next(s) >> 32);
}

/* Serialise rdtsc after the work before it, and the work after it. */
static inline uint64_t
tsc_begin(void)
{
	uint64_t t;

	_mm_lfence();
	t = __rdtsc();
	_mm_lfence();
	return t;
}

static inline uint64_t
tsc_end(void)
{
	unsigned aux;
	uint64_t t = __rdtscp(&aux);

	_mm_lfence();
	return t;
}

static double
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* TSC ticks per second against CLOCK_MONOTONIC over ~100 ms. */
static double
tsc_calibrate(void)
{
	struct timespec nap = { 0, 100 * 1000 * 1000 };
	double n0, n1;
	uint64_t t0, t1;

	n0 = mono_ns();
	t0 = tsc_begin();
	while (nanosleep(&nap, &nap) != 0 && errno == EINTR)
		;
	t1 = tsc_end();
	n1 = mono_ns();
	return (double)(t1 - t0) * 1e9 / (n1 - n0);
}

static void
read_cpuinfo(struct ctx *c)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	bool model = false, flags = false;

	snprintf(c->cpu_model, sizeof(c->cpu_model), "unknown");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL && !(model && flags)) {
		char *v = strchr(line, ':');

		if (v == NULL)
			continue;
		v++;
		v += strspn(v, " \t");
		v[strcspn(v, "\n")] = '\0';
		if (!model && strncmp(line, "model name", 10) == 0) {
			snprintf(c->cpu_model, sizeof(c->cpu_model), "%s", v);
			model = true;
		} else if (!flags && strncmp(line, "flags", 5) == 0) {
			c->tsc_invariant = strstr(v, "constant_tsc") != NULL &&
					   strstr(v, "nonstop_tsc") != NULL;
			flags = true;
		}
	}
	fclose(f);
}

/* ---------------------------------------------------------------- options */

static void
usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " [options]\n"
"\n"
"Cycles per RTP packet (12-byte header) of SRTP protect and unprotect for the\n"
"burst engine, libsrtp2 per packet and the bare ipsec-mb operation (floor).\n"
"Cycles are TSC ticks; ns/pkt uses the TSC rate calibrated at start.\n"
"\n"
"  --burst N        packets per perc_engine_run() call and per floor job\n"
"                   burst, 1..%u (default 32)\n"
"  --packets N      packets timed per repetition, at least (default 20000)\n"
"  --reps N         repetitions per row; the median is reported, min..max as\n"
"                   spread, 1..%u (default 7)\n"
"  --warmup N       untimed packets per row and column first (default 4096)\n"
"  --keys N         keys (one SSRC each) the packets are spread over,\n"
"                   round robin, 1..4096 (default 64)\n"
"  --pool N         packets per timed pass, 1..32768; buffers and replay\n"
"                   state are restored between passes, untimed (default 512)\n"
"  --arch A         ipsec-mb code path of the engine and the floor:\n"
"                   auto|sse|avx|avx2|avx512 (default auto)\n"
"  --libsrtp M      how the baseline reaches libsrtp2: engine (PERC_ARCH_LIBSRTP,\n"
"                   perc_engine_run1), direct (srtp_protect/srtp_unprotect),\n"
"                   auto (engine, else direct), none (default auto)\n"
"  --profiles L     comma list of gcm (SRTP_AEAD_AES_128_GCM) and cm80\n"
"                   (SRTP_AES128_CM_HMAC_SHA1_80) (default gcm,cm80)\n"
"  --sizes L        comma list of payload bytes, 1..%u, at most %u\n"
"                   (default 200,1200)\n"
"  --ops L          comma list of protect, unprotect (default both)\n"
"  --methods L      comma list of engine, libsrtp2, floor, floor_job\n"
"                   (default all)\n"
"  --cpu N          pin the process to CPU N first (default: no pinning)\n"
"  --json FILE      write the results as JSON to FILE, creating its\n"
"                   directory (default perf/results/bench_srtp.json)\n"
"  --quick          smoke mode: 2048 packets x 3 reps, pool 256, warmup 512\n"
"                   (options given explicitly still win)\n"
"  -h, --help       this text\n"
"\n"
"Targets are reported per row (engine >= %.0fx faster than libsrtp2; GCM\n"
"engine within %.1fx of the floor) and never change the exit status.\n"
"Exit status: 0 measured, 1 setup or verification failed, 2 bad options.\n",
		PERC_BURST_MAX, MAX_REPS, MAX_PAYLOAD, MAX_SIZES, TARGET_SPEEDUP, TARGET_FLOOR);
}

static void
bad_opt(const char *opt, const char *val, const char *want)
{
	fprintf(stderr, PROG ": %s: expected %s, got '%s' (see --help)\n", opt, want, val);
	exit(2);
}

static unsigned long
parse_num(const char *opt, const char *val, unsigned long lo, unsigned long hi)
{
	char want[64], *end;
	unsigned long v;

	snprintf(want, sizeof(want), "an integer %lu..%lu", lo, hi);
	if (val[0] < '0' || val[0] > '9')
		bad_opt(opt, val, want);
	errno = 0;
	v = strtoul(val, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		bad_opt(opt, val, want);
	return v;
}

/* Comma list of names -> bit mask; names[i] sets bit i. */
static unsigned
parse_names(const char *opt, const char *val, const char *const *names, unsigned n,
	    const char *want)
{
	char buf[256], *save = NULL, *tok;
	unsigned mask = 0;

	if (strlen(val) >= sizeof(buf))
		bad_opt(opt, val, want);
	strcpy(buf, val);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		unsigned i;

		for (i = 0; i < n; i++)
			if (strcmp(tok, names[i]) == 0)
				break;
		if (i == n)
			bad_opt(opt, val, want);
		mask |= 1u << i;
	}
	if (mask == 0)
		bad_opt(opt, val, want);
	return mask;
}

static void
parse_sizes(struct cfg *cfg, const char *val)
{
	char buf[256], *save = NULL, *tok;
	char want[80];

	snprintf(want, sizeof(want), "a comma list of at most %u sizes 1..%u", MAX_SIZES,
		 MAX_PAYLOAD);
	if (strlen(val) >= sizeof(buf))
		bad_opt("--sizes", val, want);
	strcpy(buf, val);
	cfg->nsizes = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (cfg->nsizes == MAX_SIZES)
			bad_opt("--sizes", val, want);
		cfg->sizes[cfg->nsizes++] = (uint32_t)parse_num("--sizes", tok, 1, MAX_PAYLOAD);
	}
	if (cfg->nsizes == 0)
		bad_opt("--sizes", val, want);
}

enum {
	O_BURST = 256, O_PACKETS, O_REPS, O_WARMUP, O_KEYS, O_POOL, O_ARCH, O_LIBSRTP,
	O_PROFILES, O_SIZES, O_OPS, O_METHODS, O_CPU, O_JSON, O_QUICK,
};

static void
parse_args(struct cfg *cfg, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "burst", required_argument, NULL, O_BURST },
		{ "packets", required_argument, NULL, O_PACKETS },
		{ "reps", required_argument, NULL, O_REPS },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "keys", required_argument, NULL, O_KEYS },
		{ "pool", required_argument, NULL, O_POOL },
		{ "arch", required_argument, NULL, O_ARCH },
		{ "libsrtp", required_argument, NULL, O_LIBSRTP },
		{ "profiles", required_argument, NULL, O_PROFILES },
		{ "sizes", required_argument, NULL, O_SIZES },
		{ "ops", required_argument, NULL, O_OPS },
		{ "methods", required_argument, NULL, O_METHODS },
		{ "cpu", required_argument, NULL, O_CPU },
		{ "json", required_argument, NULL, O_JSON },
		{ "quick", no_argument, NULL, O_QUICK },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const prof_names[] = { "gcm", "cm80" };
	static const char *const op_names[] = { "protect", "unprotect" };
	bool set_packets = false, set_reps = false, set_pool = false, set_warmup = false;
	int o, a;

	*cfg = (struct cfg){
		.burst = 32, .reps = 7, .keys = 64, .pool = 512, .packets = 20000, .warmup = 4096,
		.arch = PERC_ARCH_AUTO, .json = "perf/results/bench_srtp.json", .cpu = -1,
		.ref_mode = REF_AUTO, .profiles = PROF_GCM | PROF_CM80,
		.ops = OP_PROTECT | OP_UNPROTECT, .methods = (1u << M__COUNT) - 1,
		.nsizes = 2, .sizes = { 200, 1200 },
	};
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (o) {
		case O_BURST:
			cfg->burst = (unsigned)parse_num("--burst", optarg, 1, PERC_BURST_MAX);
			break;
		case O_PACKETS:
			cfg->packets = parse_num("--packets", optarg, 1, 1000000000ul);
			set_packets = true;
			break;
		case O_REPS:
			cfg->reps = (unsigned)parse_num("--reps", optarg, 1, MAX_REPS);
			set_reps = true;
			break;
		case O_WARMUP:
			cfg->warmup = parse_num("--warmup", optarg, 0, 1000000000ul);
			set_warmup = true;
			break;
		case O_KEYS:
			cfg->keys = (unsigned)parse_num("--keys", optarg, 1, 4096);
			break;
		case O_POOL:
			cfg->pool = (unsigned)parse_num("--pool", optarg, 1, 32768);
			set_pool = true;
			break;
		case O_ARCH:
			a = perc_arch_parse(optarg);
			if (a < 0 || a == PERC_ARCH_LIBSRTP)
				bad_opt("--arch", optarg, "auto, sse, avx, avx2 or avx512");
			cfg->arch = a;
			break;
		case O_LIBSRTP:
			cfg->ref_mode = -1;
			for (int i = 0; i <= REF_NONE; i++)
				if (strcmp(optarg, ref_names[i]) == 0)
					cfg->ref_mode = i;
			if (cfg->ref_mode < 0)
				bad_opt("--libsrtp", optarg, "auto, engine, direct or none");
			break;
		case O_PROFILES:
			cfg->profiles = parse_names("--profiles", optarg, prof_names, 2,
						    "a comma list of gcm, cm80");
			break;
		case O_SIZES:
			parse_sizes(cfg, optarg);
			break;
		case O_OPS:
			cfg->ops = parse_names("--ops", optarg, op_names, 2,
					       "a comma list of protect, unprotect");
			break;
		case O_METHODS:
			cfg->methods = parse_names("--methods", optarg, method_names, M__COUNT,
						   "a comma list of engine, libsrtp2, floor, floor_job");
			break;
		case O_CPU:
			cfg->cpu = (int)parse_num("--cpu", optarg, 0, CPU_SETSIZE - 1);
			break;
		case O_JSON:
			if (optarg[0] == '\0')
				bad_opt("--json", optarg, "a file name");
			cfg->json = optarg;
			break;
		case O_QUICK:
			cfg->quick = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			fprintf(stderr, PROG ": option '%s' needs a value (see --help)\n",
				argv[optind - 1]);
			exit(2);
		default:
			fprintf(stderr, PROG ": unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", argv[optind]);
		exit(2);
	}
	if (cfg->quick) {
		if (!set_packets)
			cfg->packets = 2048;
		if (!set_reps)
			cfg->reps = 3;
		if (!set_pool)
			cfg->pool = 256;
		if (!set_warmup)
			cfg->warmup = 512;
	}
	if (cfg->ref_mode == REF_NONE)
		cfg->methods &= ~(1u << M_LIBSRTP);
}

/* ---------------------------------------------------------------- baseline */

static void
ref_policy(srtp_policy_t *pol, const struct perc_profile *prof, uint32_t ssrc, uint8_t *keybuf)
{
	memset(pol, 0, sizeof(*pol));
	if (prof->aead) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtcp);
	} else {
		srtp_crypto_policy_set_rtp_default(&pol->rtp);
		srtp_crypto_policy_set_rtcp_default(&pol->rtcp);
	}
	pol->ssrc.type = ssrc_specific;
	pol->ssrc.value = ssrc;
	pol->key = keybuf;
	pol->window_size = PERC_REPLAY_DEFAULT;
	pol->allow_repeat_tx = 0;
}

/* Fresh libsrtp2 state for every key, so that the next pass's sequence
 * numbers are new to its replay windows. Untimed. */
static int
ref_rekey(struct ctx *c, struct row *r)
{
	for (unsigned k = 0; k < r->keys; k++) {
		if (c->ref_path == REF_ENGINE) {
			if (r->rkeys_live)
				perc_key_clear(&r->rkeys[k]);
			if (perc_key_init(&r->rkeys[k], c->re, r->prof, r->mkey[k], r->msalt[k]) !=
			    PERC_R_OK)
				return -1;
		} else {
			srtp_t *s = r->unprotect ? &r->rx[k] : &r->tx[k];
			uint8_t keybuf[32];
			srtp_policy_t pol;

			memcpy(keybuf, r->mkey[k], 16);
			memcpy(keybuf + 16, r->msalt[k], r->prof->salt_len);
			ref_policy(&pol, r->prof, SSRC_BASE + k, keybuf);
			if (*s != NULL)
				srtp_dealloc(*s);
			*s = NULL;
			if (srtp_create(s, &pol) != srtp_err_status_ok) {
				*s = NULL;
				return -1;
			}
		}
	}
	r->rkeys_live = c->ref_path == REF_ENGINE;
	return 0;
}

static void
ref_free(struct ctx *c, struct row *r)
{
	for (unsigned k = 0; k < r->keys; k++) {
		if (r->rkeys_live)
			perc_key_clear(&r->rkeys[k]);
		if (r->tx[k] != NULL)
			srtp_dealloc(r->tx[k]);
		if (r->rx[k] != NULL)
			srtp_dealloc(r->rx[k]);
		r->tx[k] = r->rx[k] = NULL;
	}
	r->rkeys_live = false;
	(void)c;
}

/* One packet through libsrtp2, in place; true when it was accepted. */
static bool
ref_one(struct ctx *c, struct row *r, unsigned k, uint8_t *buf, uint32_t len)
{
	if (c->ref_path == REF_ENGINE) {
		struct perc_op op;

		memset(&op, 0, sizeof(op));
		op.key = &r->rkeys[k];
		op.src = buf;
		op.dst = buf;
		op.len = len;
		op.cap = r->slot;
		op.type = r->unprotect ? PERC_OP_RTP_UNPROTECT : PERC_OP_RTP_PROTECT;
		return perc_engine_run1(c->re, &op) == PERC_R_OK;
	} else {
		int l = (int)len;

		if (r->unprotect)
			return srtp_unprotect(r->rx[k], buf, &l) == srtp_err_status_ok;
		return srtp_protect(r->tx[k], buf, &l) == srtp_err_status_ok;
	}
}

/* One packet per key before the timed pass, so that what a new session does
 * on its first packet (libsrtp2 clones an ssrc_any stream) is not timed. */
static int
ref_prime(struct ctx *c, struct row *r)
{
	for (unsigned k = 0; k < r->keys; k++) {
		const uint8_t *p = pkt(r->unprotect ? r->prime_prot : r->prime_plain, r, k);
		uint32_t len = r->unprotect ? r->len_prot : r->len_plain;

		memcpy(r->scratch, p, len);
		if (!ref_one(c, r, k, r->scratch, len))
			return -1;
	}
	return 0;
}

static void
ref_choose(struct ctx *c)
{
	int mode = c->cfg.ref_mode;

	c->ref_path = REF_NONE;
	if (mode == REF_NONE || !(c->cfg.methods & (1u << M_LIBSRTP))) {
		snprintf(c->ref_note, sizeof(c->ref_note), "not measured");
		return;
	}
	if (mode == REF_AUTO || mode == REF_ENGINE) {
		c->re = perc_engine_create(PERC_ARCH_LIBSRTP);
		if (c->re != NULL) {
			/* the backend may be a stub that refuses keys: try one */
			static struct perc_key probe;
			uint8_t mk[16] = { 1 }, ms[14] = { 2 };
			const struct perc_profile *p = perc_profile_by_id(PERC_AEAD_AES_128_GCM);

			if (perc_key_init(&probe, c->re, p, mk, ms) == PERC_R_OK) {
				perc_key_clear(&probe);
				c->ref_path = REF_ENGINE;
				snprintf(c->ref_note, sizeof(c->ref_note),
					 "perc_engine_run1 on a PERC_ARCH_LIBSRTP engine, in place");
				return;
			}
			perc_engine_destroy(c->re);
			c->re = NULL;
			snprintf(c->ref_note, sizeof(c->ref_note),
				 "PERC_ARCH_LIBSRTP engine refuses keys");
		} else {
			snprintf(c->ref_note, sizeof(c->ref_note),
				 "perc_engine_create(PERC_ARCH_LIBSRTP): %s", strerror(errno));
		}
		if (mode == REF_ENGINE) {
			fprintf(stderr, PROG ": --libsrtp engine: %s; use --libsrtp direct\n",
				c->ref_note);
			exit(1);
		}
	}
	if (srtp_init() != srtp_err_status_ok) {
		snprintf(c->ref_note, sizeof(c->ref_note), "srtp_init() failed");
		if (mode == REF_DIRECT)
			die("--libsrtp direct: srtp_init() failed");
		return;
	}
	c->ref_path = REF_DIRECT;
	if (mode == REF_AUTO) {
		char why[sizeof(c->ref_note)];

		snprintf(why, sizeof(why), "%s", c->ref_note);
		snprintf(c->ref_note, sizeof(c->ref_note),
			 "srtp_protect/srtp_unprotect called directly, in place (%.160s)", why);
	} else {
		snprintf(c->ref_note, sizeof(c->ref_note),
			 "srtp_protect/srtp_unprotect called directly, in place");
	}
}

/* ---------------------------------------------------------------- row setup */

static void
write_rtp(uint8_t *p, uint16_t seq, uint32_t ssrc, uint64_t *rng, uint32_t plen)
{
	p[0] = 0x80;
	p[1] = 96;
	put16(p + 2, seq);
	put32(p + 4, (uint32_t)seq * 960u);
	put32(p + 8, ssrc);
	rng_fill(rng, p + RTP_HDR, plen);
}

/* Protect n packets with the burst engine, PERC_OPF_INDEX (ROC 0); packet
 * i under key i % keys. */
static void
gen_protected(struct ctx *c, struct row *r, uint8_t *in, uint8_t *out, unsigned n)
{
	for (unsigned b = 0; b < n; b += r->burst) {
		unsigned m = n - b < r->burst ? n - b : r->burst;

		for (unsigned j = 0; j < m; j++) {
			struct perc_op *op = &r->ops[j];

			memset(op, 0, sizeof(*op));
			op->key = &r->ekeys[(b + j) % r->keys];
			op->src = pkt(in, r, b + j);
			op->dst = pkt(out, r, b + j);
			op->len = r->len_plain;
			op->cap = r->slot;
			op->type = PERC_OP_RTP_PROTECT;
			op->flags = PERC_OPF_INDEX;
			op->index = 0;
			r->opp[j] = op;
		}
		if (perc_engine_run(c->e, r->opp, (uint16_t)m) != m)
			die("the engine refused to protect the packet pool");
		for (unsigned j = 0; j < m; j++)
			if (r->ops[j].len != r->len_prot)
				die("the engine protected a packet to an unexpected length");
	}
}

/* RFC 7714 §8.1: IV = (0 0 ‖ SSRC ‖ ROC ‖ SEQ) XOR salt, 12 bytes. */
static void
floor_iv_gcm(uint8_t *iv, const uint8_t *salt, uint32_t ssrc, uint16_t seq)
{
	uint8_t b[12] = { 0 };

	put32(b + 2, ssrc);
	put16(b + 10, seq);
	for (int i = 0; i < 12; i++)
		iv[i] = b[i] ^ salt[i];
}

/* RFC 3711 §4.1.1: IV = salt·2^16 XOR SSRC·2^64 XOR index·2^16 (ROC 0). */
static void
floor_iv_cm(uint8_t *iv, const uint8_t *salt, uint32_t ssrc, uint16_t seq)
{
	uint8_t b[16] = { 0 };

	put32(b + 4, ssrc);
	put16(b + 12, seq);
	for (int i = 0; i < 14; i++)
		iv[i] = b[i] ^ salt[i];
	iv[14] = 0;
	iv[15] = 0;
}

static void
floor_keys(struct ctx *c, struct row *r, unsigned k)
{
	struct perc_session_keys s;

	if (perc_kdf_session(r->prof, r->mkey[k], r->msalt[k], &s) != 0)
		die("perc_kdf_session failed");
	if (r->prof->aead) {
		IMB_AES128_GCM_PRE(c->mgr, s.rtp_key, &r->gk[k]);
	} else {
		uint32_t dk[60] __attribute__((aligned(16)));
		uint8_t blk[64] __attribute__((aligned(16)));

		IMB_AES_KEYEXP_128(c->mgr, s.rtp_key, r->ck[k].ek, dk);
		/* HMAC: hash state after one block of key XOR ipad / opad */
		for (int pass = 0; pass < 2; pass++) {
			uint8_t pad = pass == 0 ? 0x36 : 0x5c;

			memset(blk, pad, sizeof(blk));
			for (unsigned i = 0; i < s.auth_len; i++)
				blk[i] = (uint8_t)(s.rtp_auth[i] ^ pad);
			IMB_SHA1_ONE_BLOCK(c->mgr, blk, pass == 0 ? r->ck[k].ipad : r->ck[k].opad);
		}
	}
	for (unsigned i = k; i < r->pool; i += r->keys) {
		uint16_t seq = (uint16_t)(SEQ_BASE + i / r->keys);

		if (r->prof->aead)
			floor_iv_gcm(r->iv[i], s.rtp_salt, SSRC_BASE + k, seq);
		else
			floor_iv_cm(r->iv[i], s.rtp_salt, SSRC_BASE + k, seq);
	}
	perc_zeroize(&s, sizeof(s));
}

static void
row_setup(struct ctx *c, struct row *r, const struct perc_profile *prof, uint32_t plen,
	  bool unprotect)
{
	const struct cfg *cfg = &c->cfg;
	uint64_t rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)prof->id << 32) ^ plen;
	size_t ssz = perc_stream_size(PERC_REPLAY_DEFAULT);

	memset(r, 0, sizeof(*r));
	r->prof = prof;
	r->unprotect = unprotect;
	r->pool = cfg->pool;
	r->keys = cfg->keys;
	r->burst = cfg->burst;
	r->plen = plen;
	r->tag = prof->rtp_tag_len;
	r->len_plain = RTP_HDR + plen;
	r->len_prot = r->len_plain + r->tag;
	/* room for the tag, the ROC the HMAC covers, libsrtp2's trailer */
	r->slot = (r->len_plain + 64 + 63) & ~63u;
	r->plain = zalloc((size_t)r->pool * r->slot);
	r->prot = zalloc((size_t)r->pool * r->slot);
	r->work = zalloc((size_t)r->pool * r->slot);
	r->prime_plain = zalloc((size_t)r->keys * r->slot);
	r->prime_prot = zalloc((size_t)r->keys * r->slot);
	r->scratch = zalloc(r->slot);
	r->iv = zalloc((size_t)r->pool * sizeof(*r->iv));
	r->tags = zalloc((size_t)r->pool * sizeof(*r->tags));
	r->ops = zalloc((size_t)(r->pool > r->keys ? r->pool : r->keys) * sizeof(*r->ops));
	r->opp = zalloc((size_t)(r->pool > r->keys ? r->pool : r->keys) * sizeof(*r->opp));
	r->mkey = zalloc((size_t)r->keys * sizeof(*r->mkey));
	r->msalt = zalloc((size_t)r->keys * sizeof(*r->msalt));
	r->ekeys = zalloc((size_t)r->keys * sizeof(*r->ekeys));
	r->rkeys = zalloc((size_t)r->keys * sizeof(*r->rkeys));
	r->st = zalloc((size_t)r->keys * sizeof(*r->st));
	r->stream_mem = zalloc((size_t)r->keys * ssz);
	r->tx = zalloc((size_t)r->keys * sizeof(*r->tx));
	r->rx = zalloc((size_t)r->keys * sizeof(*r->rx));
	r->gk = zalloc((size_t)r->keys * sizeof(*r->gk));
	r->ck = zalloc((size_t)r->keys * sizeof(*r->ck));

	for (unsigned k = 0; k < r->keys; k++) {
		rng_fill(&rng, r->mkey[k], 16);
		rng_fill(&rng, r->msalt[k], prof->salt_len);
		if (perc_key_init(&r->ekeys[k], c->e, prof, r->mkey[k], r->msalt[k]) != PERC_R_OK)
			die("perc_key_init failed on the burst engine");
		r->st[k] = perc_stream_init(r->stream_mem + (size_t)k * ssz, PERC_REPLAY_DEFAULT, 0);
		if (r->st[k] == NULL)
			die("perc_stream_init failed");
		write_rtp(pkt(r->prime_plain, r, k), SEQ_BASE - 1, SSRC_BASE + k, &rng, plen);
	}
	for (unsigned i = 0; i < r->pool; i++)
		write_rtp(pkt(r->plain, r, i), (uint16_t)(SEQ_BASE + i / r->keys),
			  SSRC_BASE + i % r->keys, &rng, plen);
	gen_protected(c, r, r->plain, r->prot, r->pool);
	gen_protected(c, r, r->prime_plain, r->prime_prot, r->keys);
	for (unsigned k = 0; k < r->keys; k++)
		floor_keys(c, r, k);
	r->skip[M_FLOOR_JOB] = !prof->aead; /* for CM the floor already is the job API */
	r->skip[M_LIBSRTP] = c->ref_path == REF_NONE;
}

static void
row_free(struct ctx *c, struct row *r)
{
	ref_free(c, r);
	for (unsigned k = 0; k < r->keys; k++)
		perc_key_clear(&r->ekeys[k]);
	perc_zeroize(r->gk, (size_t)r->keys * sizeof(*r->gk));
	perc_zeroize(r->ck, (size_t)r->keys * sizeof(*r->ck));
	free(r->plain);
	free(r->prot);
	free(r->work);
	free(r->prime_plain);
	free(r->prime_prot);
	free(r->scratch);
	free(r->iv);
	free(r->tags);
	free(r->ops);
	free(r->opp);
	free(r->mkey);
	free(r->msalt);
	free(r->ekeys);
	free(r->rkeys);
	free(r->st);
	free(r->stream_mem);
	free(r->tx);
	free(r->rx);
	free(r->gk);
	free(r->ck);
}

/* ---------------------------------------------------------------- passes */

/* Ops for one pass: engine protect reads plain and writes work (out of
 * place, as fan-out does); everything else runs in place in work. */
static void
set_ops(struct row *r, bool ref)
{
	for (unsigned i = 0; i < r->pool; i++) {
		struct perc_op *op = &r->ops[i];
		unsigned k = i % r->keys;

		memset(op, 0, sizeof(*op));
		op->key = ref ? &r->rkeys[k] : &r->ekeys[k];
		op->stream = ref ? NULL : r->st[k];
		op->src = !ref && !r->unprotect ? pkt(r->plain, r, i) : pkt(r->work, r, i);
		op->dst = pkt(r->work, r, i);
		op->len = r->unprotect ? r->len_prot : r->len_plain;
		op->cap = r->slot;
		op->type = r->unprotect ? PERC_OP_RTP_UNPROTECT : PERC_OP_RTP_PROTECT;
		r->opp[i] = op;
	}
}

/* Untimed: put every buffer and state back to where a pass starts. */
static int
prepare(struct ctx *c, struct row *r, enum method m)
{
	memcpy(r->work, r->unprotect ? r->prot : r->plain, (size_t)r->pool * r->slot);
	switch (m) {
	case M_ENGINE:
		for (unsigned k = 0; k < r->keys; k++)
			perc_stream_reset(r->st[k], 0);
		set_ops(r, false);
		return 0;
	case M_LIBSRTP:
		if (ref_rekey(c, r) != 0 || ref_prime(c, r) != 0)
			return -1;
		if (c->ref_path == REF_ENGINE)
			set_ops(r, true);
		return 0;
	default:
		return 0;
	}
}

static unsigned
pass_engine(struct ctx *c, struct row *r)
{
	unsigned bad = 0;

	for (unsigned b = 0; b < r->pool; b += r->burst) {
		uint16_t n = (uint16_t)(r->pool - b < r->burst ? r->pool - b : r->burst);

		bad += n - perc_engine_run(c->e, r->opp + b, n);
	}
	return bad;
}

static unsigned
pass_libsrtp(struct ctx *c, struct row *r)
{
	unsigned bad = 0, k = 0;

	if (c->ref_path == REF_ENGINE) {
		for (unsigned i = 0; i < r->pool; i++)
			bad += perc_engine_run1(c->re, &r->ops[i]) != PERC_R_OK;
		return bad;
	}
	for (unsigned i = 0; i < r->pool; i++) {
		int l = (int)(r->unprotect ? r->len_prot : r->len_plain);
		uint8_t *p = pkt(r->work, r, i);
		srtp_err_status_t s = r->unprotect ? srtp_unprotect(r->rx[k], p, &l) :
						     srtp_protect(r->tx[k], p, &l);

		bad += s != srtp_err_status_ok;
		if (++k == r->keys)
			k = 0;
	}
	return bad;
}

/* GCM through the direct API: header as AAD, protect out of place. */
static unsigned
pass_floor_gcm(struct ctx *c, struct row *r)
{
	struct gcm_context_data gctx;
	IMB_MGR *m = c->mgr;
	unsigned k = 0;
	uint32_t plen = r->plen;

	if (!r->unprotect) {
		for (unsigned i = 0; i < r->pool; i++) {
			const uint8_t *s = pkt(r->plain, r, i);
			uint8_t *d = pkt(r->work, r, i);

			IMB_AES128_GCM_ENC(m, &r->gk[k], &gctx, d + RTP_HDR, s + RTP_HDR, plen,
					   r->iv[i], s, RTP_HDR, d + RTP_HDR + plen, 16);
			if (++k == r->keys)
				k = 0;
		}
	} else {
		for (unsigned i = 0; i < r->pool; i++) {
			uint8_t *d = pkt(r->work, r, i);

			IMB_AES128_GCM_DEC(m, &r->gk[k], &gctx, d + RTP_HDR, d + RTP_HDR, plen,
					   r->iv[i], d, RTP_HDR, r->tags[i], 16);
			if (++k == r->keys)
				k = 0;
		}
	}
	return 0;
}

static inline void
fill_floor_job(IMB_JOB *j, struct row *r, unsigned i, unsigned k)
{
	bool enc = !r->unprotect;
	uint8_t *w = pkt(r->work, r, i);

	j->cipher_direction = enc ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
	j->chain_order = enc ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
	j->key_len_in_bytes = 16;
	j->cipher_start_src_offset_in_bytes = RTP_HDR;
	j->msg_len_to_cipher_in_bytes = r->plen;
	j->dst = w + RTP_HDR;
	j->iv = r->iv[i];
	j->user_data = NULL;
	if (r->prof->aead) {
		const uint8_t *s = enc ? pkt(r->plain, r, i) : w;

		j->cipher_mode = IMB_CIPHER_GCM;
		j->hash_alg = IMB_AUTH_AES_GMAC;
		j->enc_keys = &r->gk[k];
		j->dec_keys = &r->gk[k];
		j->src = s;
		j->iv_len_in_bytes = 12;
		j->hash_start_src_offset_in_bytes = RTP_HDR;
		j->msg_len_to_hash_in_bytes = r->plen;
		j->u.GCM.aad = s;
		j->u.GCM.aad_len_in_bytes = RTP_HDR;
		j->auth_tag_output = enc ? w + RTP_HDR + r->plen : r->tags[i];
		j->auth_tag_output_len_in_bytes = 16;
	} else {
		/* in place; the HMAC covers header ‖ payload ‖ 4 ROC bytes */
		j->cipher_mode = IMB_CIPHER_CNTR;
		j->hash_alg = IMB_AUTH_HMAC_SHA_1;
		j->enc_keys = r->ck[k].ek;
		j->dec_keys = r->ck[k].ek;
		j->src = w;
		j->iv_len_in_bytes = 16;
		j->hash_start_src_offset_in_bytes = 0;
		j->msg_len_to_hash_in_bytes = r->len_plain + 4;
		j->u.HMAC._hashed_auth_key_xor_ipad = r->ck[k].ipad;
		j->u.HMAC._hashed_auth_key_xor_opad = r->ck[k].opad;
		j->auth_tag_output = r->tags[i];
		j->auth_tag_output_len_in_bytes = 12;
	}
}

static unsigned
count_failed(IMB_JOB **jobs, unsigned n)
{
	unsigned bad = 0;

	for (unsigned i = 0; i < n; i++)
		bad += jobs[i]->status != IMB_STATUS_COMPLETED;
	return bad;
}

/* A burst of jobs per --burst packets: get, fill, submit, flush. */
static unsigned
pass_floor_jobs(struct ctx *c, struct row *r)
{
	IMB_JOB *jobs[PERC_BURST_MAX];
	IMB_MGR *m = c->mgr;
	unsigned bad = 0, k = 0;

	for (unsigned b = 0; b < r->pool; b += r->burst) {
		unsigned n = r->pool - b < r->burst ? r->pool - b : r->burst, got, done;

		got = IMB_GET_NEXT_BURST(m, n, jobs);
		if (got < n) {
			IMB_FLUSH_BURST(m, PERC_BURST_MAX, jobs);
			got = IMB_GET_NEXT_BURST(m, n, jobs);
		}
		if (got < n) {
			bad += n;
			k = (b + n) % r->keys;
			continue;
		}
		for (unsigned j = 0; j < n; j++) {
			fill_floor_job(jobs[j], r, b + j, k);
			if (++k == r->keys)
				k = 0;
		}
		done = IMB_SUBMIT_BURST(m, n, jobs);
		bad += count_failed(jobs, done);
		while (done < n) {
			unsigned f = IMB_FLUSH_BURST(m, n - done, jobs);

			if (f == 0) {
				bad += n - done;
				break;
			}
			bad += count_failed(jobs, f);
			done += f;
		}
	}
	return bad;
}

static unsigned
run_pass(struct ctx *c, struct row *r, enum method m)
{
	switch (m) {
	case M_ENGINE:
		return pass_engine(c, r);
	case M_LIBSRTP:
		return pass_libsrtp(c, r);
	case M_FLOOR:
		return r->prof->aead ? pass_floor_gcm(c, r) : pass_floor_jobs(c, r);
	case M_FLOOR_JOB:
		return pass_floor_jobs(c, r);
	default:
		return r->pool;
	}
}

/* Untimed, after a pass: did it produce the packets the engine made? */
static int
verify(struct row *r, enum method m)
{
	for (unsigned i = 0; i < r->pool; i++) {
		const uint8_t *w = pkt(r->work, r, i);
		const uint8_t *p = pkt(r->prot, r, i);
		const uint8_t *tag = p + r->len_plain;
		bool floor_cm = (m == M_FLOOR || m == M_FLOOR_JOB) && !r->prof->aead;
		bool ok;

		if (!r->unprotect) {
			if (floor_cm)
				ok = memcmp(w, p, r->len_plain) == 0 &&
				     memcmp(r->tags[i], tag, r->tag) == 0;
			else
				ok = memcmp(w, p, r->len_prot) == 0;
		} else {
			ok = memcmp(w + RTP_HDR, pkt(r->plain, r, i) + RTP_HDR, r->plen) == 0;
			/* the GCM floor computes the tag aside; the CM floor hashes the
			 * tag bytes where SRTP puts the ROC, so only its payload counts */
			if (ok && (m == M_FLOOR || m == M_FLOOR_JOB) && r->prof->aead)
				ok = memcmp(r->tags[i], tag, 16) == 0;
		}
		if (!ok) {
			fprintf(stderr,
				PROG ": %s %u %s: %s output of packet %u differs from the engine's\n",
				r->prof->name, r->plen, r->unprotect ? "unprotect" : "protect",
				method_names[m], i);
			return -1;
		}
	}
	return 0;
}

/* Cycles per packet over passes totalling at least npkts packets. */
static int
measure(struct ctx *c, struct row *r, enum method m, unsigned long npkts, double *cpp)
{
	uint64_t cyc = 0;
	unsigned long done = 0;

	do {
		uint64_t t0, t1;
		unsigned bad;

		if (prepare(c, r, m) != 0)
			return -1;
		t0 = tsc_begin();
		bad = run_pass(c, r, m);
		t1 = tsc_end();
		if (bad != 0) {
			fprintf(stderr, PROG ": %s %u %s: %s refused %u of %u packets\n",
				r->prof->name, r->plen, r->unprotect ? "unprotect" : "protect",
				method_names[m], bad, r->pool);
			return -1;
		}
		cyc += t1 - t0;
		done += r->pool;
	} while (done < npkts);
	*cpp = (double)cyc / (double)done;
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
summarise(struct bstat *s)
{
	double v[MAX_REPS];

	if (!s->have || s->n == 0) {
		s->have = false;
		s->med = s->min = s->max = NAN;
		return;
	}
	memcpy(v, s->s, s->n * sizeof(double));
	qsort(v, s->n, sizeof(double), cmp_double);
	s->min = v[0];
	s->max = v[s->n - 1];
	s->med = s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
}

static void
run_row(struct ctx *c, struct result *res, const struct perc_profile *prof, uint32_t plen,
	bool unprotect)
{
	struct row r;
	bool on[M__COUNT];

	row_setup(c, &r, prof, plen, unprotect);
	memset(res, 0, sizeof(*res));
	res->prof = prof;
	res->plen = plen;
	res->unprotect = unprotect;
	for (int m = 0; m < M__COUNT; m++) {
		double dummy;

		on[m] = (c->cfg.methods & (1u << m)) && !r.skip[m];
		if (!on[m])
			continue;
		/* one checked pass, then the warm-up */
		if (prepare(c, &r, m) != 0) {
			if (m == M_LIBSRTP) {
				fprintf(stderr,
					PROG ": %s: libsrtp2 cannot set up this profile; its column is n/a\n",
					prof->name);
				on[m] = false;
				continue;
			}
			die("preparing a pass failed");
		}
		if (run_pass(c, &r, m) != 0 || verify(&r, m) != 0) {
			fprintf(stderr, PROG ": %s %u %s: %s failed its check pass\n", prof->name,
				plen, unprotect ? "unprotect" : "protect", method_names[m]);
			exit(1);
		}
		if (c->cfg.warmup > 0 && measure(c, &r, m, c->cfg.warmup, &dummy) != 0)
			exit(1);
	}
	/* repetitions interleaved across the columns */
	for (unsigned rep = 0; rep < c->cfg.reps; rep++) {
		for (int m = 0; m < M__COUNT; m++) {
			struct bstat *s = &res->st[m];

			if (!on[m])
				continue;
			if (measure(c, &r, m, c->cfg.packets, &s->s[s->n]) != 0)
				exit(1);
			s->n++;
			s->have = true;
		}
	}
	for (int m = 0; m < M__COUNT; m++)
		summarise(&res->st[m]);
	row_free(c, &r);
}

/* ---------------------------------------------------------------- report */

static double
ratio(double a, double b)
{
	return isnan(a) || isnan(b) || b <= 0 ? NAN : a / b;
}

static double
speedup(const struct result *r)
{
	return ratio(r->st[M_LIBSRTP].med, r->st[M_ENGINE].med);
}

static double
engine_over_floor(const struct result *r)
{
	return ratio(r->st[M_ENGINE].med, r->st[M_FLOOR].med);
}

static double
spread_pct(const struct bstat *s)
{
	return s->have && s->med > 0 ? (s->max - s->min) / s->med * 100.0 : NAN;
}

/* "target met" / "missed by X" for both targets of a row. */
static void
target_text(const struct result *r, bool floor_target, char *buf, size_t n)
{
	double v = floor_target ? engine_over_floor(r) : speedup(r);

	if (floor_target && !r->prof->aead)
		snprintf(buf, n, "n/a (GCM only)");
	else if (isnan(v))
		snprintf(buf, n, "n/a (not measured)");
	else if (floor_target)
		snprintf(buf, n, v <= TARGET_FLOOR ? "target met (%.2fx <= %.1fx)" :
						     "missed by %.2fx (%.2fx > %.1fx)",
			 v <= TARGET_FLOOR ? v : v / TARGET_FLOOR, v, TARGET_FLOOR);
	else if (v >= TARGET_SPEEDUP)
		snprintf(buf, n, "target met (%.1fx >= %.0fx)", v, TARGET_SPEEDUP);
	else
		snprintf(buf, n, "missed by %.2fx (%.1fx < %.0fx)", TARGET_SPEEDUP / v, v,
			 TARGET_SPEEDUP);
}

static void
fmt_num(char *buf, size_t n, double v, int prec, const char *suffix)
{
	if (isnan(v))
		snprintf(buf, n, "n/a");
	else
		snprintf(buf, n, "%.*f%s", prec, v, suffix);
}

static void
print_header(const struct ctx *c)
{
	const struct cfg *g = &c->cfg;

	printf("perc-bench-srtp  commit %s  %s\n", PERC_GIT_COMMIT, c->date);
	printf("cpu        %s\n", c->cpu_model);
	printf("tsc        %.4f GHz (calibrated over 100 ms against CLOCK_MONOTONIC%s)\n",
	       c->tsc_hz / 1e9, c->tsc_invariant ? "; invariant TSC" : "; TSC NOT invariant");
	printf("ipsec-mb   header %s, library %s; arch %s (asked %s)\n", IMB_VERSION_STR,
	       imb_get_version_str(), perc_arch_name(perc_engine_arch(c->e)),
	       perc_arch_name((enum perc_arch)g->arch));
	printf("libsrtp2   %s; %s\n", srtp_get_version_string(), c->ref_note);
	printf("config     burst %u, %u keys (one SSRC each, round robin), pool %u packets per "
	       "timed pass,\n           >= %lu packets x %u reps (median; spread = (max-min)/median),"
	       " warm-up %lu%s\n",
	       g->burst, g->keys, g->pool, g->packets, g->reps, g->warmup,
	       g->quick ? ", QUICK MODE (smoke only)" : "");
	printf("engine     protect out of place (src != dst), unprotect in place; replay state: "
	       "perc_stream_reset()\n           between passes, untimed (check and update are "
	       "timed)\n");
	printf("libsrtp2   in place; sessions recreated and primed with one packet per SSRC "
	       "between passes, untimed\n");
	printf("floor      GCM: IMB_AES128_GCM_ENC/_DEC, 12-byte header as AAD; CM: CNTR + "
	       "HMAC_SHA_1 job bursts;\n           floor_job: GCM as job bursts\n");
	if (c->cfg.cpu >= 0)
		printf("pinned     cpu %d\n", c->cfg.cpu);
	printf("\n");
}

static void
print_table(const struct ctx *c, const struct result *res, unsigned n)
{
	printf("%-27s %7s %-9s %9s %8s %6s %9s %6s %9s %6s %8s %9s %9s\n", "profile", "payload",
	       "op", "eng cyc", "eng ns", "spread", "srtp2 cyc", "spread", "floor cyc", "spread",
	       "speedup", "eng/floor", "floor_job");
	for (unsigned i = 0; i < n; i++) {
		const struct result *r = &res[i];
		char v[10][24];

		fmt_num(v[0], 24, r->st[M_ENGINE].med, 0, "");
		fmt_num(v[1], 24, ratio(r->st[M_ENGINE].med, c->tsc_hz / 1e9), 1, "");
		fmt_num(v[2], 24, spread_pct(&r->st[M_ENGINE]), 1, "%");
		fmt_num(v[3], 24, r->st[M_LIBSRTP].med, 0, "");
		fmt_num(v[4], 24, spread_pct(&r->st[M_LIBSRTP]), 1, "%");
		fmt_num(v[5], 24, r->st[M_FLOOR].med, 0, "");
		fmt_num(v[6], 24, spread_pct(&r->st[M_FLOOR]), 1, "%");
		fmt_num(v[7], 24, speedup(r), 1, "x");
		fmt_num(v[8], 24, engine_over_floor(r), 2, "");
		fmt_num(v[9], 24, r->st[M_FLOOR_JOB].med, 0, "");
		printf("%-27s %7u %-9s %9s %8s %6s %9s %6s %9s %6s %8s %9s %9s\n", r->prof->name,
		       r->plen, r->unprotect ? "unprotect" : "protect", v[0], v[1], v[2], v[3],
		       v[4], v[5], v[6], v[7], v[8], v[9]);
	}
	printf("\ntargets (a report; the exit status does not depend on them):\n");
	for (unsigned i = 0; i < n; i++) {
		char a[64], b[64];

		target_text(&res[i], false, a, sizeof(a));
		target_text(&res[i], true, b, sizeof(b));
		printf("  %-27s %5u %-9s  >= %.0fx libsrtp2: %-34s  GCM <= %.1fx floor: %s\n",
		       res[i].prof->name, res[i].plen, res[i].unprotect ? "unprotect" : "protect",
		       TARGET_SPEEDUP, a, TARGET_FLOOR, b);
	}
}

/* ---------------------------------------------------------------- JSON */

static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void
json_num(FILE *f, double v, int prec)
{
	if (isnan(v) || isinf(v))
		fputs("null", f);
	else
		fprintf(f, "%.*f", prec, v);
}

static void
json_stat(FILE *f, const struct ctx *c, const char *name, const struct bstat *s, bool last)
{
	fprintf(f, "        ");
	json_str(f, name);
	if (!s->have) {
		fprintf(f, ": null%s\n", last ? "" : ",");
		return;
	}
	fprintf(f, ": {\"cyc_per_pkt\": ");
	json_num(f, s->med, 2);
	fprintf(f, ", \"ns_per_pkt\": ");
	json_num(f, s->med * 1e9 / c->tsc_hz, 3);
	fprintf(f, ", \"min\": ");
	json_num(f, s->min, 2);
	fprintf(f, ", \"max\": ");
	json_num(f, s->max, 2);
	fprintf(f, ", \"spread_pct\": ");
	json_num(f, spread_pct(s), 2);
	fprintf(f, ", \"samples\": [");
	for (unsigned i = 0; i < s->n; i++) {
		if (i)
			fputs(", ", f);
		json_num(f, s->s[i], 2);
	}
	fprintf(f, "]}%s\n", last ? "" : ",");
}

static void
json_target(FILE *f, const struct result *r, bool floor_target)
{
	double v = floor_target ? engine_over_floor(r) : speedup(r);
	double goal = floor_target ? TARGET_FLOOR : TARGET_SPEEDUP;
	char text[64];

	target_text(r, floor_target, text, sizeof(text));
	fprintf(f, "{\"goal\": %.1f, \"met\": ", goal);
	if ((floor_target && !r->prof->aead) || isnan(v))
		fputs("null", f);
	else
		fputs((floor_target ? v <= goal : v >= goal) ? "true" : "false", f);
	fprintf(f, ", \"missed_by\": ");
	if ((floor_target && !r->prof->aead) || isnan(v) ||
	    (floor_target ? v <= goal : v >= goal))
		fputs("null", f);
	else
		json_num(f, floor_target ? v / goal : goal / v, 3);
	fprintf(f, ", \"text\": ");
	json_str(f, text);
	fputc('}', f);
}

static int
write_json(const struct ctx *c, const char *path, const struct result *res, unsigned n)
{
	const struct cfg *g = &c->cfg;
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fprintf(f, "{\n  \"tool\": \"perc-bench-srtp\",\n  \"format\": 1,\n  \"date\": ");
	json_str(f, c->date);
	fprintf(f, ",\n  \"git_commit\": ");
	json_str(f, PERC_GIT_COMMIT);
	fprintf(f, ",\n  \"cpu_model\": ");
	json_str(f, c->cpu_model);
	fprintf(f, ",\n  \"tsc_hz\": %.0f,\n  \"tsc_invariant\": %s,\n", c->tsc_hz,
		c->tsc_invariant ? "true" : "false");
	fprintf(f, "  \"ipsec_mb\": {\"header\": ");
	json_str(f, IMB_VERSION_STR);
	fprintf(f, ", \"library\": ");
	json_str(f, imb_get_version_str());
	fprintf(f, "},\n  \"arch\": {\"requested\": ");
	json_str(f, perc_arch_name((enum perc_arch)g->arch));
	fprintf(f, ", \"used\": ");
	json_str(f, perc_arch_name(perc_engine_arch(c->e)));
	fprintf(f, "},\n  \"libsrtp2\": {\"version\": ");
	json_str(f, srtp_get_version_string());
	fprintf(f, ", \"path\": ");
	json_str(f, ref_names[c->ref_path]);
	fprintf(f, ", \"note\": ");
	json_str(f, c->ref_note);
	fprintf(f, "},\n  \"config\": {\"burst\": %u, \"packets\": %lu, \"reps\": %u, "
		   "\"warmup\": %lu, \"keys\": %u, \"pool\": %u, \"quick\": %s, \"cpu\": %d, "
		   "\"rtp_header\": %u,\n", g->burst, g->packets, g->reps, g->warmup, g->keys,
		g->pool, g->quick ? "true" : "false", g->cpu, RTP_HDR);
	fprintf(f, "    \"cycles\": \"TSC ticks, median over reps\",\n"
		   "    \"engine\": \"perc_engine_run bursts; protect out of place, unprotect in place\",\n"
		   "    \"engine_replay\": \"perc_stream_reset between passes, untimed\",\n"
		   "    \"libsrtp2_replay\": \"sessions recreated and primed between passes, untimed\",\n"
		   "    \"floor\": \"GCM: IMB_AES128_GCM_ENC/_DEC with the header as AAD; "
		   "CM: CNTR + HMAC_SHA_1 job bursts\",\n"
		   "    \"floor_job\": \"GCM as IMB_CIPHER_GCM job bursts\"},\n");
	fprintf(f, "  \"targets\": {\"speedup_vs_libsrtp2_min\": %.1f, "
		   "\"gcm_engine_over_floor_max\": %.1f},\n  \"rows\": [\n",
		TARGET_SPEEDUP, TARGET_FLOOR);
	for (unsigned i = 0; i < n; i++) {
		const struct result *r = &res[i];

		fprintf(f, "    {\"profile\": ");
		json_str(f, r->prof->name);
		fprintf(f, ", \"payload\": %u, \"op\": \"%s\",\n", r->plen,
			r->unprotect ? "unprotect" : "protect");
		for (int m = 0; m < M__COUNT; m++)
			json_stat(f, c, method_names[m], &r->st[m], false);
		fprintf(f, "        \"speedup_vs_libsrtp2\": ");
		json_num(f, speedup(r), 3);
		fprintf(f, ",\n        \"engine_over_floor\": ");
		json_num(f, engine_over_floor(r), 3);
		fprintf(f, ",\n        \"engine_over_floor_job\": ");
		json_num(f, ratio(r->st[M_ENGINE].med, r->st[M_FLOOR_JOB].med), 3);
		fprintf(f, ",\n        \"target_speedup\": ");
		json_target(f, r, false);
		fprintf(f, ",\n        \"target_floor\": ");
		json_target(f, r, true);
		fprintf(f, "}%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	if (ferror(f)) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

/* A strict JSON syntax check of what was written (RFC 8259 grammar). */
struct jp {
	const char *p, *end;
	int depth;
};

static void
jp_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool
jp_lit(struct jp *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool
jp_digits(struct jp *j)
{
	const char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

static bool
jp_number(struct jp *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!jp_digits(j))
		return false;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!jp_digits(j))
			return false;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!jp_digits(j))
			return false;
	}
	return true;
}

static bool
jp_string(struct jp *j)
{
	if (j->p >= j->end || *j->p != '"')
		return false;
	for (j->p++; j->p < j->end; j->p++) {
		unsigned char ch = (unsigned char)*j->p;

		if (ch == '"') {
			j->p++;
			return true;
		}
		if (ch < 0x20)
			return false;
		if (ch == '\\') {
			if (++j->p >= j->end)
				return false;
			if (*j->p == 'u') {
				for (int i = 0; i < 4; i++)
					if (++j->p >= j->end || strchr("0123456789abcdefABCDEF", *j->p) == NULL)
						return false;
			} else if (strchr("\"\\/bfnrt", *j->p) == NULL) {
				return false;
			}
		}
	}
	return false;
}

static bool
jp_value(struct jp *j)
{
	bool ok = false;

	jp_ws(j);
	if (j->p >= j->end || ++j->depth > 64)
		return false;
	if (*j->p == '{' || *j->p == '[') {
		char close = *j->p == '{' ? '}' : ']';
		bool obj = close == '}';

		j->p++;
		jp_ws(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			ok = true;
		} else {
			for (;;) {
				if (obj) {
					jp_ws(j);
					if (!jp_string(j))
						break;
					jp_ws(j);
					if (j->p >= j->end || *j->p++ != ':')
						break;
				}
				if (!jp_value(j))
					break;
				jp_ws(j);
				if (j->p < j->end && *j->p == ',') {
					j->p++;
					continue;
				}
				if (j->p < j->end && *j->p == close) {
					j->p++;
					ok = true;
				}
				break;
			}
		}
	} else if (*j->p == '"') {
		ok = jp_string(j);
	} else if (*j->p == 't' || *j->p == 'f' || *j->p == 'n') {
		ok = jp_lit(j, "true") || jp_lit(j, "false") || jp_lit(j, "null");
	} else {
		ok = jp_number(j);
	}
	j->depth--;
	return ok;
}

static int
check_json(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;
	struct jp j;
	bool ok;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	buf = malloc((size_t)n);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	j = (struct jp){ .p = buf, .end = buf + n, .depth = 0 };
	ok = jp_value(&j);
	jp_ws(&j);
	ok = ok && j.p == j.end;
	free(buf);
	return ok ? 0 : -1;
}

/* mkdir -p of the directory part of path. */
static int
make_parent_dirs(const char *path)
{
	char buf[PATH_MAX];

	if (strlen(path) >= sizeof(buf))
		return -1;
	strcpy(buf, path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

/* ---------------------------------------------------------------- main */

int
main(int argc, char **argv)
{
	static struct ctx c;
	static struct result res[2 * MAX_SIZES * 2];
	static const uint16_t prof_ids[] = { PERC_AEAD_AES_128_GCM, PERC_AES128_CM_SHA1_80 };
	unsigned nres = 0;
	time_t now = time(NULL);
	struct tm tm;

	parse_args(&c.cfg, argc, argv);
	if (c.cfg.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(c.cfg.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0) {
			fprintf(stderr, PROG ": --cpu %d: %s (see nproc / taskset -p $$)\n",
				c.cfg.cpu, strerror(errno));
			return 2;
		}
	}
	if (!perc_arch_supported((enum perc_arch)c.cfg.arch)) {
		fprintf(stderr, PROG ": --arch %s: this CPU lacks it; try --arch auto\n",
			perc_arch_name((enum perc_arch)c.cfg.arch));
		return 1;
	}
	c.e = perc_engine_create((enum perc_arch)c.cfg.arch);
	if (c.e == NULL) {
		fprintf(stderr, PROG ": perc_engine_create(%s): %s\n",
			perc_arch_name((enum perc_arch)c.cfg.arch), strerror(errno));
		return 1;
	}
	c.mgr = perc_engine_mgr(c.e);
	read_cpuinfo(&c);
	gmtime_r(&now, &tm);
	strftime(c.date, sizeof(c.date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	c.tsc_hz = tsc_calibrate();
	ref_choose(&c);
	print_header(&c);

	for (unsigned p = 0; p < 2; p++) {
		const struct perc_profile *prof;

		if (!(c.cfg.profiles & (1u << p)))
			continue;
		prof = perc_profile_by_id(prof_ids[p]);
		if (prof == NULL)
			die("profile table lacks a benchmarked profile");
		for (unsigned s = 0; s < c.cfg.nsizes; s++)
			for (unsigned o = 0; o < 2; o++)
				if (c.cfg.ops & (1u << o))
					run_row(&c, &res[nres++], prof, c.cfg.sizes[s], o == 1);
	}
	print_table(&c, res, nres);

	if (make_parent_dirs(c.cfg.json) != 0 || write_json(&c, c.cfg.json, res, nres) != 0) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", c.cfg.json, strerror(errno));
		return 1;
	}
	if (check_json(c.cfg.json) != 0) {
		fprintf(stderr, PROG ": %s: the JSON written does not parse back\n", c.cfg.json);
		return 1;
	}
	printf("\njson       %s\n", c.cfg.json);
	if (c.re != NULL)
		perc_engine_destroy(c.re);
	perc_engine_destroy(c.e);
	return 0;
}
