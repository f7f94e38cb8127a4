/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-bench-pipeline-gen: double-encrypted RTP with EKT fields for the
 * pipeline benchmark's stream-count sweep, which needs more conferences
 * (up to 10,000 of 5 endpoints, 100,000 SSRCs) than perc-pcaptest gen
 * offers. It writes DIR/provision.json and DIR/in.pcap in the formats
 * perc-pcaptest gen uses (docs/pcaptest.md), media only:
 *
 *  - conference c (1-based ids "c1"...), endpoint g over the whole file at
 *    198.18.0.0 + 16 + g, UDP port 40000 + g mod 20000, MAC 02:e1:g+1;
 *    the MDD at --mdd-addr:--mdd-port, MAC 02:00:00:00:00:01;
 *  - every endpoint sends --ssrcs SSRCs (PT 111 for the first, 96 for the
 *    others), each --rounds packets of a 12-byte header and --payload
 *    bytes, SEQ from 1000, ROC 0, protected with perc_double_protect()
 *    (its own E2E key, its hop-by-hop rx key), then an EKT field: Full
 *    (the E2E key wrapped with the conference's EKT key) every tenth
 *    round from round 0, Short otherwise;
 *  - order: round by round; within a round position by position across
 *    the conferences, an endpoint's SSRCs back to back (as gen does), so
 *    that consecutive packets belong to different conferences;
 *  - keys from --seed; SSRCs unique over the file; IPv4, UDP checksums set.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "bench_pipeline_common.h"
#include "perc/bytes.h"
#include "perc/double.h"
#include "perc/ekt.h"
#include "perc/profile.h"
#include "perc/rtp.h"
#include "perc/seedrng.h"

#define PROG "perc-bench-pipeline-gen"
#define MAX_PAYLOAD 1300u
#define MAX_EPS 130000u          /* 198.18.0.0/15 */
#define SEQ0 1000u
#define PT_AUDIO 111u
#define PT_VIDEO 96u

static const char usage_text[] =
	"usage: " PROG " --dir DIR [options]\n"
	"\n"
	"Writes DIR/provision.json and DIR/in.pcap: double-encrypted RTP with EKT\n"
	"fields from every endpoint of many conferences, for perc-bench-pipeline.\n"
	"\n"
	"options:\n"
	"  --dir DIR          output folder (created if missing)\n"
	"  --conferences N    conferences, 1..26000 (default 1)\n"
	"  --size N           endpoints per conference, 2..64 (default 5)\n"
	"  --ssrcs N          SSRCs per endpoint, 1..16 (default 2)\n"
	"  --rounds N         packets per SSRC (default 10)\n"
	"  --payload N        RTP payload bytes, 0..1300 (default 200)\n"
	"  --profile NAME     DOUBLE_AEAD_AES_128_GCM_AEAD_AES_128_GCM (default) or\n"
	"                     DOUBLE_AEAD_AES_256_GCM_AEAD_AES_256_GCM\n"
	"  --seed N           key randomness (default 1)\n"
	"  --mdd-addr IP      the MDD's IPv4 address (default 192.0.2.1)\n"
	"  --mdd-port N       the MDD's media port (default 3478)\n"
	"  -h, --help         this text\n";

struct gopts {
	const char *dir;
	unsigned confs, size, ssrcs, rounds, payload, mdd_port;
	uint64_t seed;
	uint8_t mdd_ip[4];
	const struct perc_profile *prof;
};

struct ep {
	uint8_t rx_key[32], rx_salt[14], tx_key[32], tx_salt[14], e2e_key[32];
	struct perc_double_key dk;
};

struct conf {
	uint8_t ekt_key[32], e2e_salt[12];
	uint16_t spi;
};

#define die(...) bp_die(PROG, __VA_ARGS__)

static int
usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, PROG ": %s '%s'\n(see " PROG " --help)\n", msg, arg);
	return 2;
}

static bool
num(const char *s, unsigned long lo, unsigned long hi, unsigned *v)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno != 0 || *end != 0 || end == s || x < lo || x > hi)
		return false;
	*v = (unsigned)x;
	return true;
}

static void
hex(char *out, const uint8_t *p, size_t n)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = 0;
}

static uint32_t
csum_add(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)(p[n - 1] << 8);
	return s;
}

static uint16_t
csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void
ep_ip(unsigned g, uint8_t ip[4])
{
	perc_wr32(ip, 0xc6120000u + 16 + g);   /* 198.18.0.0/15 */
}

static uint16_t
ep_port(unsigned g)
{
	return (uint16_t)(40000 + g % 20000);
}

static uint32_t
ep_ssrc(const struct gopts *o, unsigned g, unsigned k)
{
	/* an odd multiplier is a bijection mod 2^32: unique and non-zero */
	return (uint32_t)((uint64_t)g * o->ssrcs + k + 1) * 0x9e3779b1u;
}

/* Ethernet + IPv4 + UDP around the payload already at f + 42. */
static size_t
frame(const struct gopts *o, unsigned g, uint8_t *f, size_t plen)
{
	uint8_t src[4];
	uint32_t s;
	uint16_t c;

	memcpy(f, (const uint8_t[6]){ 0x02, 0, 0, 0, 0, 0x01 }, 6);
	memcpy(f + 6, (const uint8_t[2]){ 0x02, 0xe1 }, 2);
	perc_wr32(f + 8, g + 1);
	perc_wr16(f + 12, 0x0800);
	ep_ip(g, src);
	f[14] = 0x45;
	f[15] = 0;
	perc_wr16(f + 16, (uint16_t)(20 + 8 + plen));
	perc_wr16(f + 18, 0);
	perc_wr16(f + 20, 0x4000);     /* DF */
	f[22] = 64;
	f[23] = 17;
	perc_wr16(f + 24, 0);
	memcpy(f + 26, src, 4);
	memcpy(f + 30, o->mdd_ip, 4);
	perc_wr16(f + 24, csum_fold(csum_add(f + 14, 20, 0)));
	perc_wr16(f + 34, ep_port(g));
	perc_wr16(f + 36, (uint16_t)o->mdd_port);
	perc_wr16(f + 38, (uint16_t)(8 + plen));
	perc_wr16(f + 40, 0);
	s = csum_add(f + 26, 8, 17u + (uint32_t)(8 + plen));
	c = csum_fold(csum_add(f + 34, 8 + plen, s));
	perc_wr16(f + 40, c == 0 ? 0xffff : c);
	return 42 + plen;
}

static void
pcap_put32le(FILE *f, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	fwrite(b, 1, 4, f);
}

static void
write_provision(const struct gopts *o, const struct ep *eps, const char *path)
{
	const struct perc_profile *layer = perc_profile_layer(o->prof);
	json_t *root = json_object(), *confs = json_array();
	char h[80], id[48], addr[48];

	for (unsigned c = 0; c < o->confs; c++) {
		json_t *jc = json_object(), *je = json_array();

		snprintf(id, sizeof(id), "c%u", c + 1);
		json_object_set_new(jc, "id", json_string(id));
		for (unsigned p = 0; p < o->size; p++) {
			unsigned g = c * o->size + p;
			const struct ep *e = &eps[g];
			json_t *x = json_object(), *ss = json_array();
			uint8_t ip[4];

			ep_ip(g, ip);
			snprintf(id, sizeof(id), "c%u-ep%u", c + 1, p + 1);
			snprintf(addr, sizeof(addr), "%u.%u.%u.%u:%u", ip[0], ip[1], ip[2], ip[3],
				 ep_port(g));
			json_object_set_new(x, "id", json_string(id));
			json_object_set_new(x, "addr", json_string(addr));
			json_object_set_new(x, "profile", json_string(o->prof->name));
			hex(h, e->rx_key, layer->key_len);
			json_object_set_new(x, "rx_key", json_string(h));
			hex(h, e->rx_salt, layer->salt_len);
			json_object_set_new(x, "rx_salt", json_string(h));
			hex(h, e->tx_key, layer->key_len);
			json_object_set_new(x, "tx_key", json_string(h));
			hex(h, e->tx_salt, layer->salt_len);
			json_object_set_new(x, "tx_salt", json_string(h));
			for (unsigned k = 0; k < o->ssrcs; k++)
				json_array_append_new(ss, json_integer(ep_ssrc(o, g, k)));
			json_object_set_new(x, "ssrcs", ss);
			json_object_set_new(x, "max_streams", json_integer(o->ssrcs));
			json_array_append_new(je, x);
		}
		json_object_set_new(jc, "endpoints", je);
		json_array_append_new(confs, jc);
	}
	json_object_set_new(root, "conferences", confs);
	if (json_dump_file(root, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER) != 0)
		die("cannot write %s", path);
	json_decref(root);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "conferences", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "ssrcs", required_argument, NULL, 'k' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "payload", required_argument, NULL, 'p' },
		{ "profile", required_argument, NULL, 'P' },
		{ "seed", required_argument, NULL, 'S' },
		{ "mdd-addr", required_argument, NULL, 'a' },
		{ "mdd-port", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gopts o = { .confs = 1, .size = 5, .ssrcs = 2, .rounds = 10, .payload = 200,
			   .mdd_port = 3478, .seed = 1, .mdd_ip = { 192, 0, 2, 1 } };
	const struct perc_profile *layer;
	struct perc_engine *e;
	struct ep *eps;
	struct conf *confs;
	char path[4096];
	unsigned n_eps, seedv, a[4];
	uint64_t rng, frames = 0;
	uint8_t buf[2048];
	FILE *pf;
	int c;

	o.prof = perc_profile_by_id(PERC_DOUBLE_AES_128_GCM);
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.dir = optarg;
			break;
		case 'c':
			if (!num(optarg, 1, 26000, &o.confs))
				return usage_error("--conferences takes 1..26000, not", optarg);
			break;
		case 's':
			if (!num(optarg, 2, 64, &o.size))
				return usage_error("--size takes 2..64, not", optarg);
			break;
		case 'k':
			if (!num(optarg, 1, 16, &o.ssrcs))
				return usage_error("--ssrcs takes 1..16, not", optarg);
			break;
		case 'r':
			if (!num(optarg, 1, 1000000, &o.rounds))
				return usage_error("--rounds takes 1..1000000, not", optarg);
			break;
		case 'p':
			if (!num(optarg, 0, MAX_PAYLOAD, &o.payload))
				return usage_error("--payload takes 0..1300, not", optarg);
			break;
		case 'P':
			o.prof = perc_profile_by_name(optarg);
			if (o.prof == NULL || !o.prof->is_double)
				return usage_error("--profile takes a double profile, not", optarg);
			break;
		case 'S':
			if (!num(optarg, 0, 0xffffffffu, &seedv))
				return usage_error("--seed takes a number, not", optarg);
			o.seed = seedv;
			break;
		case 'a':
			if (sscanf(optarg, "%3u.%3u.%3u.%3u", &a[0], &a[1], &a[2], &a[3]) != 4 ||
			    a[0] > 255 || a[1] > 255 || a[2] > 255 || a[3] > 255)
				return usage_error("--mdd-addr takes an IPv4 address, not", optarg);
			for (int i = 0; i < 4; i++)
				o.mdd_ip[i] = (uint8_t)a[i];
			break;
		case 'm':
			if (!num(optarg, 1, 65535, &o.mdd_port))
				return usage_error("--mdd-port takes 1..65535, not", optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fprintf(stderr, "(see " PROG " --help)\n");
			return 2;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind]);
	if (o.dir == NULL)
		return usage_error("--dir DIR is required, got", "");
	n_eps = o.confs * o.size;
	if (n_eps > MAX_EPS)
		return usage_error("at most 130000 endpoints (198.18.0.0/15): too many for",
				   "--conferences x --size");
	if (mkdir(o.dir, 0755) != 0 && errno != EEXIST)
		die("cannot create %s: %s", o.dir, strerror(errno));
	layer = perc_profile_layer(o.prof);
	e = perc_engine_create(PERC_ARCH_AUTO);
	eps = aligned_alloc(64, n_eps * sizeof(*eps));
	confs = calloc(o.confs, sizeof(*confs));
	if (e == NULL || eps == NULL || confs == NULL)
		die("out of memory for %u endpoints", n_eps);
	rng = o.seed * 0x2545f4914f6cdd1dull + 1;
	for (unsigned i = 0; i < o.confs; i++) {
		perc_seedrng_bytes(&rng, confs[i].ekt_key, layer->key_len);
		perc_seedrng_bytes(&rng, confs[i].e2e_salt, 12);
		confs[i].spi = (uint16_t)(0x100 + i);
	}
	for (unsigned g = 0; g < n_eps; g++) {
		struct ep *x = &eps[g];
		uint8_t mk[64], ms[28];

		memset(x, 0, sizeof(*x));
		perc_seedrng_bytes(&rng, x->rx_key, layer->key_len);
		perc_seedrng_bytes(&rng, x->rx_salt, layer->salt_len);
		perc_seedrng_bytes(&rng, x->tx_key, layer->key_len);
		perc_seedrng_bytes(&rng, x->tx_salt, layer->salt_len);
		perc_seedrng_bytes(&rng, x->e2e_key, layer->key_len);
		memcpy(mk, x->e2e_key, layer->key_len);
		memcpy(mk + layer->key_len, x->rx_key, layer->key_len);
		memcpy(ms, confs[g / o.size].e2e_salt, 12);
		memcpy(ms + 12, x->rx_salt, 12);
		if (perc_double_key_init(&x->dk, e, o.prof, mk, ms) != PERC_R_OK)
			die("key set-up failed for endpoint %u", g);
	}
	snprintf(path, sizeof(path), "%s/provision.json", o.dir);
	write_provision(&o, eps, path);

	snprintf(path, sizeof(path), "%s/in.pcap", o.dir);
	pf = fopen(path, "wb");
	if (pf == NULL)
		die("cannot write %s: %s", path, strerror(errno));
	setvbuf(pf, NULL, _IOFBF, 1 << 20);
	pcap_put32le(pf, 0xa1b2c3d4u);
	fwrite((const uint8_t[4]){ 2, 0, 4, 0 }, 1, 4, pf);   /* version 2.4 */
	pcap_put32le(pf, 0);
	pcap_put32le(pf, 0);
	pcap_put32le(pf, 65535);
	pcap_put32le(pf, 1);                                  /* DLT_EN10MB */
	for (unsigned r = 0; r < o.rounds; r++)
		for (unsigned p = 0; p < o.size; p++)
			for (unsigned cf = 0; cf < o.confs; cf++) {
				unsigned g = cf * o.size + p;
				const struct ep *x = &eps[g];

				for (unsigned k = 0; k < o.ssrcs; k++) {
					uint8_t *pkt = buf + 42;
					uint32_t ssrc = ep_ssrc(&o, g, k), len;
					size_t cap = sizeof(buf) - 42, h;
					uint64_t ts_us = frames * 20;
					int rr;

					h = perc_rtp_write(pkt, cap, r == 0, k == 0 ? PT_AUDIO : PT_VIDEO,
							   (uint16_t)(SEQ0 + r), ssrc ^ (960u * r), ssrc,
							   NULL, 0);
					for (unsigned i = 0; i < o.payload; i++)
						pkt[h + i] = (uint8_t)(ssrc + r * 7 + i * 13);
					len = (uint32_t)(h + o.payload);
					rr = perc_double_protect(e, &x->dk, NULL, NULL, 0, pkt, &len,
								 (uint32_t)cap);
					if (rr != PERC_R_OK)
						die("double protect: %s", perc_reason_name((unsigned)rr));
					if (r % 10 == 0) {
						struct perc_ekt_plain pl = {
							.key_len = layer->key_len, .ssrc = ssrc, .roc = 0,
							.spi = confs[cf].spi, .epoch = 0,
						};
						int n;

						memcpy(pl.key, x->e2e_key, layer->key_len);
						n = perc_ekt_wrap(confs[cf].ekt_key, layer->key_len, &pl,
								  pkt + len, cap - len);
						if (n < 0)
							die("EKT wrap: %s", perc_reason_name((unsigned)-n));
						len += (uint32_t)n;
					} else {
						pkt[len++] = PERC_EKT_SHORT;
					}
					len = (uint32_t)frame(&o, g, buf, len);
					pcap_put32le(pf, (uint32_t)(1700000000u + ts_us / 1000000));
					pcap_put32le(pf, (uint32_t)(ts_us % 1000000));
					pcap_put32le(pf, len);
					pcap_put32le(pf, len);
					fwrite(buf, 1, len, pf);
					frames++;
				}
			}
	if (fclose(pf) != 0)
		die("cannot write %s: %s", path, strerror(errno));
	printf(PROG ": %s: %u conferences x %u endpoints x %u SSRCs = %u streams, %s, %" PRIu64
	       " frames\n", o.dir, o.confs, o.size, o.ssrcs, n_eps * o.ssrcs, o.prof->name, frames);
	for (unsigned g = 0; g < n_eps; g++)
		perc_double_key_clear(&eps[g].dk);
	free(eps);
	free(confs);
	perc_engine_destroy(e);
	return 0;
}
