/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-endpoint: run the PERC endpoints listed in a JSON spec (libperc_ep,
 * docs/endpoint.md) in one epoll loop; send audio / video, check what
 * arrives, write a JSON report.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "perc/endpoint.h"

#define MAX_EPS 64
#define AUDIO_MS 20
#define VIDEO_MS 33
#define KEYFRAME_MS 2000

struct runner {
	struct perc_ep *ep;
	struct perc_ep_config cfg;
	char id[64];
	char conf[64];
	char *cert, *key, *token, *mdd_addr, *bind_addr, *ufrag, *mdd_ufrag, *mdd_pwd, *fp;
	uint8_t tls_id[255];
	int64_t start_ms, leave_ms;   /* relative to the run start; -1: never */
	bool started, left;
	uint64_t next_audio, next_video, next_key;
	uint32_t audio_frames, video_frames;
};

static volatile sig_atomic_t stop;
static bool verbose;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t
mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static int64_t
real_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static FILE *
open_keylog(const char *path)
{
	/* key material: readable by the owner only */
	int kfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	FILE *kl = kfd >= 0 ? fdopen(kfd, "a") : NULL;

	if (kl == NULL) {
		fprintf(stderr, "perc-endpoint: cannot open key log %s: %s\n", path,
			strerror(errno));
		if (kfd >= 0)
			close(kfd);
	}
	return kl;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: perc-endpoint --spec FILE.json [--duration S] [--report FILE]\n"
		"                     [--keylog FILE] [--live] [--verbose] [--help]\n"
		"Runs the PERC endpoints of the spec (ICE to the MDD, DTLS to the KD through\n"
		"it, AUTH token, EKT, double SRTP audio/video) in one loop.\n"
		"  --spec FILE     JSON spec (docs/endpoint.md); relative cert/key/@token\n"
		"                  paths are taken from the spec's directory\n"
		"  --duration S    stop after S seconds (default: until SIGINT/SIGTERM)\n"
		"  --report FILE   write the JSON report there at the end\n"
		"  --keylog FILE   append every EKT key and E2E key held (debugging only)\n"
		"  --live          a table row per conference every second\n"
		"  --verbose       log protocol steps\n"
		"Exit status: 0 when no endpoint failed, 1 when one failed (report says\n"
		"why), 2 on a usage or spec error.\n");
}

static void
log_cb(void *arg, struct perc_ep *ep, enum perc_ep_log lvl, const char *msg)
{
	static const char *const lv[] = { "error", "warning", "info", "debug" };

	(void)arg;
	if (lvl > PERC_EP_LOG_INFO && !verbose)
		return;
	fprintf(stderr, "%lld %s %s: %s\n", (long long)real_ms(), perc_ep_id(ep), lv[lvl], msg);
}

static char *
path_in(const char *dir, const char *p)
{
	char buf[PATH_MAX];

	if (p[0] == '/')
		return strdup(p);
	snprintf(buf, sizeof(buf), "%s/%s", dir, p);
	return strdup(buf);
}

static char *
read_token(const char *dir, const char *v)
{
	char *path, *buf;
	FILE *f;
	long n;

	if (v[0] != '@')
		return strdup(v);
	path = path_in(dir, v + 1);
	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "perc-endpoint: cannot read token file %s: %s\n", path,
			strerror(errno));
		free(path);
		return NULL;
	}
	free(path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
	if (buf != NULL && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	while (buf != NULL && n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
					buf[n - 1] == ' '))
		buf[--n] = '\0';
	return buf;
}

static int
hex_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s);

	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (int)(n / 2);
}

/* "a.b.c.d:port" or "a.b.c.d" (port 0) */
static int
split_addr(const char *s, char **addr, uint16_t *port)
{
	const char *c = strrchr(s, ':');
	char *end;
	unsigned long p = 0;

	if (c != NULL) {
		p = strtoul(c + 1, &end, 10);
		if (*end != '\0' || p > 65535)
			return -1;
		*addr = strndup(s, (size_t)(c - s));
	} else {
		*addr = strdup(s);
	}
	*port = (uint16_t)p;
	return *addr != NULL ? 0 : -1;
}

static const char *
jstr(json_t *o, json_t *top, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (v == NULL && top != NULL)
		v = json_object_get(top, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

#define NEED(var, obj, key)                                                                    \
	do {                                                                                   \
		(var) = jstr((obj), NULL, (key));                                              \
		if ((var) == NULL) {                                                           \
			fprintf(stderr, "perc-endpoint: spec: endpoints[%d] needs string \"%s\"\n", \
				idx, (key));                                                   \
			return -1;                                                             \
		}                                                                              \
	} while (0)

/* who: id, conference, certificate, token, tls-id, ICE credentials */
static int
spec_identity(struct runner *r, json_t *e, const char *dir, int idx)
{
	json_t *ice = json_object_get(e, "ice");
	const char *s;
	int n;

	NEED(s, e, "id");
	snprintf(r->id, sizeof(r->id), "%s", s);
	s = jstr(e, NULL, "conference");
	snprintf(r->conf, sizeof(r->conf), "%s", s ? s : "");
	NEED(s, e, "cert");
	r->cert = path_in(dir, s);
	NEED(s, e, "key");
	r->key = path_in(dir, s);
	NEED(s, e, "token");
	r->token = read_token(dir, s);
	if (r->token == NULL)
		return -1;
	NEED(s, e, "tls_id");
	n = hex_decode(s, r->tls_id, sizeof(r->tls_id));
	if (n < 20) {
		fprintf(stderr, "perc-endpoint: spec: %s: tls_id must be 20..255 bytes of hex\n",
			r->id);
		return -1;
	}
	r->cfg.tls_id_len = (size_t)n;
	if (!json_is_object(ice)) {
		fprintf(stderr, "perc-endpoint: spec: %s needs an \"ice\" object\n", r->id);
		return -1;
	}
	NEED(s, ice, "ufrag");
	r->ufrag = strdup(s);
	NEED(s, ice, "mdd_ufrag");
	r->mdd_ufrag = strdup(s);
	NEED(s, ice, "mdd_pwd");
	r->mdd_pwd = strdup(s);
	return 0;
}
#undef NEED

/* where and whom to trust: MDD, bind address, KD pin, require_e2e (the
 * endpoint's own value, else the top level's) */
static int
spec_network(struct runner *r, json_t *top, json_t *e)
{
	const char *s = jstr(e, top, "mdd");
	json_t *v;
	uint16_t port;

	if (s == NULL || split_addr(s, &r->mdd_addr, &r->cfg.mdd_port) != 0 ||
	    r->cfg.mdd_port == 0) {
		fprintf(stderr, "perc-endpoint: spec: %s: \"mdd\" must be \"IPv4:port\"\n", r->id);
		return -1;
	}
	s = jstr(e, top, "bind");
	if (split_addr(s ? s : "0.0.0.0", &r->bind_addr, &port) != 0) {
		fprintf(stderr, "perc-endpoint: spec: %s: bad \"bind\"\n", r->id);
		return -1;
	}
	r->cfg.bind_port = port;
	s = jstr(e, top, "kd_fingerprint");
	r->fp = s ? strdup(s) : NULL;
	v = json_object_get(e, "require_e2e");
	if (v == NULL)
		v = json_object_get(top, "require_e2e");
	if (v != NULL && !json_is_boolean(v)) {
		fprintf(stderr, "perc-endpoint: spec: %s: require_e2e must be true or false\n",
			r->id);
		return -1;
	}
	r->cfg.require_e2e = v == NULL || json_is_true(v);
	return 0;
}

/* what and when: media kinds, start_s, leave_s */
static int
spec_schedule(struct runner *r, json_t *e)
{
	const char *media = jstr(e, NULL, "media");
	json_t *v;

	if (media == NULL || strcmp(media, "audio") == 0) {
		r->cfg.media = PERC_EP_AUDIO;
	} else if (strcmp(media, "video") == 0) {
		r->cfg.media = PERC_EP_VIDEO;
	} else if (strcmp(media, "both") == 0) {
		r->cfg.media = PERC_EP_AUDIO | PERC_EP_VIDEO;
	} else if (strcmp(media, "none") == 0) {
		r->cfg.media = 0;
	} else {
		fprintf(stderr, "perc-endpoint: spec: %s: media must be audio, video, both or "
			"none\n", r->id);
		return -1;
	}
	v = json_object_get(e, "start_s");
	r->start_ms = json_is_number(v) ? (int64_t)(json_number_value(v) * 1000) : 0;
	v = json_object_get(e, "leave_s");
	r->leave_ms = json_is_number(v) ? (int64_t)(json_number_value(v) * 1000) : -1;
	if (r->start_ms < 0 || (json_is_number(v) && r->leave_ms < r->start_ms)) {
		fprintf(stderr, "perc-endpoint: spec: %s: start_s must be >= 0 and leave_s null "
			"or >= start_s\n", r->id);
		return -1;
	}
	return 0;
}

static int
spec_endpoint(struct runner *r, json_t *top, json_t *e, const char *dir, int idx)
{
	perc_ep_config_defaults(&r->cfg);
	if (spec_identity(r, e, dir, idx) != 0 || spec_network(r, top, e) != 0 ||
	    spec_schedule(r, e) != 0)
		return -1;
	r->cfg.id = r->id;
	r->cfg.conference = r->conf;
	r->cfg.cert_file = r->cert;
	r->cfg.key_file = r->key;
	r->cfg.token = r->token;
	r->cfg.tls_id = r->tls_id;
	r->cfg.bind_addr = r->bind_addr;
	r->cfg.mdd_addr = r->mdd_addr;
	r->cfg.mdd_ufrag = r->mdd_ufrag;
	r->cfg.mdd_pwd = r->mdd_pwd;
	r->cfg.ufrag = r->ufrag;
	r->cfg.kd_fingerprint = r->fp;
	r->cfg.on_log = log_cb;
	return 0;
}

static int
load_spec(const char *file, struct runner *rs, int *n)
{
	json_error_t err;
	json_t *top = json_load_file(file, 0, &err), *eps, *e;
	char *copy = strdup(file), *dir = dirname(copy);
	size_t i;
	int rc = 0;

	if (top == NULL) {
		fprintf(stderr, "perc-endpoint: spec %s line %d column %d: %s\n", file, err.line,
			err.column, err.text);
		free(copy);
		return -1;
	}
	eps = json_object_get(top, "endpoints");
	if (!json_is_array(eps) || json_array_size(eps) == 0 ||
	    json_array_size(eps) > MAX_EPS) {
		fprintf(stderr, "perc-endpoint: spec %s: \"endpoints\" must be an array of 1..%d "
			"objects\n", file, MAX_EPS);
		rc = -1;
	}
	json_array_foreach(eps, i, e) {
		if (rc != 0 || i >= MAX_EPS)
			break;
		if (spec_endpoint(&rs[i], top, e, dir, (int)i) != 0)
			rc = -1;
		*n = (int)i + 1;
		for (size_t j = 0; rc == 0 && j < i; j++)
			if (strcmp(rs[j].id, rs[i].id) == 0) {
				fprintf(stderr, "perc-endpoint: spec %s: endpoint id \"%s\" appears "
					"twice; ids must be unique\n", file, rs[i].id);
				rc = -1;
			}
	}
	json_decref(top);
	free(copy);
	return rc;
}

static void
send_media(struct runner *r, uint64_t now)
{
	uint8_t buf[16384];

	if (r->next_audio && now >= r->next_audio) {
		/* 100..160 payload bytes with the 28-byte sealed header */
		size_t len = 72 + (r->audio_frames * 37u) % 61u;

		RAND_bytes(buf, (int)len);
		perc_ep_send_audio(r->ep, buf, len);
		r->audio_frames++;
		r->next_audio += AUDIO_MS;
		if (r->next_audio < now)
			r->next_audio = now + AUDIO_MS; /* we were late: no burst */
	}
	if (r->next_video && now >= r->next_video) {
		bool key = now >= r->next_key;
		size_t len = key ? 5 * 1172 + 300 : 1172 + (r->video_frames * 311u) % 1500u;

		RAND_bytes(buf, (int)len);
		perc_ep_send_video(r->ep, buf, len, key);
		if (key)
			r->next_key = now + KEYFRAME_MS;
		r->video_frames++;
		r->next_video += VIDEO_MS;
		if (r->next_video < now)
			r->next_video = now + VIDEO_MS;
	}
}

static uint64_t
runner_due(const struct runner *r, uint64_t t0)
{
	uint64_t d = 0;

#define DUE(x) do { if ((x) && (d == 0 || (x) < d)) d = (x); } while (0)
	if (!r->started)
		d = t0 + (uint64_t)r->start_ms;
	if (r->started && !r->left && r->leave_ms >= 0)
		DUE(t0 + (uint64_t)r->leave_ms);
	/* media timers only run while joined (they lag behind otherwise) */
	if (r->started && !r->left && perc_ep_get_state(r->ep) == PERC_EP_JOINED) {
		DUE(r->next_audio);
		DUE(r->next_video);
	}
#undef DUE
	return d;
}

static void
runner_step(struct runner *r, uint64_t now, uint64_t t0)
{
	if (!r->started && now >= t0 + (uint64_t)r->start_ms) {
		r->started = true;
		perc_ep_start(r->ep);
		if (r->cfg.media & PERC_EP_AUDIO)
			r->next_audio = now + AUDIO_MS;
		if (r->cfg.media & PERC_EP_VIDEO)
			r->next_video = r->next_key = now + VIDEO_MS;
	}
	if (!r->started)
		return;
	if (!r->left && r->leave_ms >= 0 && now >= t0 + (uint64_t)r->leave_ms) {
		perc_ep_leave(r->ep);
		r->left = true;
		r->next_audio = r->next_video = 0;
	}
	perc_ep_poll(r->ep);
	if (!r->left && perc_ep_get_state(r->ep) == PERC_EP_JOINED)
		send_media(r, now);
}

/* One conference's row of the live table. */
struct live_row {
	unsigned n, joined;
	uint64_t sent, recv, ok, fail;
	uint16_t spi;
	bool spi_set, spi_mixed;
	char notes[160];
};

static void
live_add(struct live_row *row, const struct runner *r)
{
	enum perc_ep_state st = perc_ep_get_state(r->ep);
	struct perc_ep_stats s;
	uint16_t spi;
	size_t l = strlen(row->notes);

	perc_ep_get_stats(r->ep, &s);
	row->n++;
	row->sent += s.rtp_sent;
	row->recv += s.rtp_received;
	row->ok += s.e2e_ok;
	row->fail += s.e2e_fail;
	if (st == PERC_EP_JOINED && !r->left) {
		row->joined++;
		if (perc_ep_current_spi(r->ep, &spi)) {
			row->spi_mixed |= row->spi_set && spi != row->spi;
			row->spi = spi;
			row->spi_set = true;
		}
	} else if (l + 2 < sizeof(row->notes)) {
		snprintf(row->notes + l, sizeof(row->notes) - l, "%s%s %s", l ? ", " : "", r->id,
			 r->left ? "left" : perc_ep_state_name(st));
	}
}

/*
 * The live table: a row per conference per second with members joined, the
 * EKT SPI in use ("mixed" while a rekey is in flight), packets sent and
 * received per second, and the receivers' end-to-end checks so far. Rates
 * need the previous totals, kept per conference in prev[] (one slot per
 * runner is enough: there are never more conferences than endpoints).
 */
static void
live_line(struct runner *rs, int n, uint64_t t0)
{
	static uint64_t prev_sent[MAX_EPS], prev_recv[MAX_EPS];
	static uint64_t prev_t;
	static bool header;
	uint64_t now = mono_ms();
	double dt = prev_t ? (double)(now - prev_t) / 1000.0 : 1.0;
	int c = 0;

	if (!header) {
		printf("%7s %-10s %7s %6s %8s %8s %9s %9s  %s\n", "time", "conference", "joined",
		       "spi", "sent/s", "recv/s", "e2e_ok", "e2e_fail", "not joined");
		header = true;
	}
	for (int i = 0; i < n; i++) {
		struct live_row row;
		char spi[8];
		bool seen = false;

		for (int k = 0; k < i && !seen; k++)
			seen = strcmp(rs[k].conf, rs[i].conf) == 0;
		if (seen)
			continue;
		memset(&row, 0, sizeof(row));
		for (int k = i; k < n; k++)
			if (strcmp(rs[k].conf, rs[i].conf) == 0)
				live_add(&row, &rs[k]);
		if (row.spi_mixed)
			snprintf(spi, sizeof(spi), "mixed");
		else if (row.spi_set)
			snprintf(spi, sizeof(spi), "%u", row.spi);
		else
			snprintf(spi, sizeof(spi), "-");
		printf("%6.1fs %-10.10s %3u/%-3u %6s %8.0f %8.0f %9llu %9llu  %s\n",
		       (double)(now - t0) / 1000.0, rs[i].conf, row.joined, row.n, spi,
		       (double)(row.sent - prev_sent[c]) / dt, (double)(row.recv - prev_recv[c]) / dt,
		       (unsigned long long)row.ok, (unsigned long long)row.fail, row.notes);
		prev_sent[c] = row.sent;
		prev_recv[c] = row.recv;
		c++;
	}
	prev_t = now;
	fflush(stdout);
}

static json_t *
ms_or_null(int64_t v)
{
	return v != 0 ? json_integer(v) : json_null();
}

static json_t *
report_one(const struct runner *r)
{
	struct perc_ep *ep = r->ep;
	struct perc_ep_stats s;
	json_t *o = json_object(), *spis = json_array(), *lat, *ctr = json_object();
	double p50, p99, max;
	const char *fail = perc_ep_failure(ep);

	perc_ep_get_stats(ep, &s);
	json_object_set_new(o, "id", json_string(r->id));
	json_object_set_new(o, "conference", json_string(r->conf));
	json_object_set_new(o, "joined", json_boolean(perc_ep_joined_ms(ep) != 0));
	json_object_set_new(o, "state", json_string(perc_ep_state_name(perc_ep_get_state(ep))));
	json_object_set_new(o, "failure", fail ? json_string(fail) : json_null());
	json_object_set_new(o, "local_port", json_integer(perc_ep_local_port(ep)));
	json_object_set_new(o, "audio_ssrc", json_integer(perc_ep_ssrc(ep, PERC_EP_AUDIO)));
	json_object_set_new(o, "video_ssrc", json_integer(perc_ep_ssrc(ep, PERC_EP_VIDEO)));
	json_object_set_new(o, "rtp_sent", json_integer((json_int_t)s.rtp_sent));
	json_object_set_new(o, "rtp_received", json_integer((json_int_t)s.rtp_received));
	json_object_set_new(o, "e2e_ok", json_integer((json_int_t)s.e2e_ok));
	json_object_set_new(o, "e2e_fail", json_integer((json_int_t)s.e2e_fail));
	json_object_set_new(o, "outer_fail", json_integer((json_int_t)s.outer_fail));
	json_object_set_new(o, "no_key", json_integer((json_int_t)s.no_key));
	if (r->left) {
		json_object_set_new(o, "after_leave_ok",
				    json_integer((json_int_t)s.after_leave_ok));
		json_object_set_new(o, "rtp_received_after_leave",
				    json_integer((json_int_t)s.rtp_received_after_leave));
	}
	json_object_set_new(o, "before_join_ok", json_integer((json_int_t)s.before_join_ok));
	json_object_set_new(o, "left_ms", ms_or_null(perc_ep_left_ms(ep)));
	json_object_set_new(o, "joined_ms", ms_or_null(perc_ep_joined_ms(ep)));
	for (unsigned i = 0; i < perc_ep_spi_count(ep); i++) {
		struct perc_ep_spi_info si;
		json_t *j = json_object();

		perc_ep_spi_get(ep, i, &si);
		json_object_set_new(j, "spi", json_integer(si.spi));
		json_object_set_new(j, "received_ms", json_integer(si.received_ms));
		json_object_set_new(j, "first_send_ms", ms_or_null(si.first_send_ms));
		json_object_set_new(j, "replaced_ms", ms_or_null(si.replaced_ms));
		json_object_set_new(j, "roster_version", json_integer(si.roster_version));
		json_array_append_new(spis, j);
	}
	json_object_set_new(o, "spis", spis);
	if (perc_ep_latency(ep, &p50, &p99, &max))
		lat = json_pack("{s:f,s:f,s:f}", "p50", p50, "p99", p99, "max", max);
	else
		lat = json_pack("{s:n,s:n,s:n}", "p50", "p99", "max");
	json_object_set_new(o, "latency_ms", lat);
#define CTR_(f, d) json_object_set_new(ctr, #f, json_integer((json_int_t)s.f));
	PERC_EP_FOREACH_COUNTER(CTR_)
#undef CTR_
	json_object_set_new(o, "counters", ctr);
	return o;
}

static int
write_report(const char *file, struct runner *rs, int n)
{
	json_t *top = json_object(), *arr = json_array();
	int rc;

	for (int i = 0; i < n; i++)
		json_array_append_new(arr, report_one(&rs[i]));
	json_object_set_new(top, "endpoints", arr);
	rc = json_dump_file(top, file, JSON_INDENT(1));
	json_decref(top);
	if (rc != 0)
		fprintf(stderr, "perc-endpoint: cannot write the report to %s\n", file);
	return rc;
}

static int
create_all(struct runner *rs, int n, FILE *kl)
{
	for (int i = 0; i < n; i++) {
		char err[400];

		rs[i].cfg.keylog = kl;
		rs[i].ep = perc_ep_create(&rs[i].cfg, err, sizeof(err));
		if (rs[i].ep == NULL) {
			fprintf(stderr, "perc-endpoint: %s\n", err);
			return -1;
		}
	}
	return 0;
}

static bool
any_failed(struct runner *rs, int n)
{
	bool failed = false;

	for (int i = 0; i < n; i++)
		if (perc_ep_get_state(rs[i].ep) == PERC_EP_FAILED) {
			fprintf(stderr, "perc-endpoint: %s failed: %s\n", rs[i].id,
				perc_ep_failure(rs[i].ep));
			failed = true;
		}
	return failed;
}

static void
free_runner(struct runner *r)
{
	perc_ep_destroy(r->ep);
	free(r->cert);
	free(r->key);
	free(r->token);
	free(r->mdd_addr);
	free(r->bind_addr);
	free(r->ufrag);
	free(r->mdd_ufrag);
	free(r->mdd_pwd);
	free(r->fp);
}

static bool
all_failed(struct runner *rs, int n)
{
	for (int i = 0; i < n; i++)
		if (perc_ep_get_state(rs[i].ep) != PERC_EP_FAILED)
			return false;
	return true;
}

static int
run(struct runner *rs, int n, double duration, bool live)
{
	int efd = epoll_create1(EPOLL_CLOEXEC);
	uint64_t t0 = mono_ms(), end = duration > 0 ? t0 + (uint64_t)(duration * 1000) : 0;
	uint64_t next_live = t0 + 1000;

	if (efd < 0) {
		perror("perc-endpoint: epoll_create1");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

		epoll_ctl(efd, EPOLL_CTL_ADD, perc_ep_fd(rs[i].ep), &ev);
	}
	while (!stop) {
		struct epoll_event evs[MAX_EPS];
		uint64_t now = mono_ms();
		int64_t wait = 1000;

		if (end && now >= end)
			break;
		for (int i = 0; i < n; i++) {
			uint64_t d = runner_due(&rs[i], t0);
			int64_t w = rs[i].started ? perc_ep_next_timeout_ms(rs[i].ep) : 1000;

			if (d && (int64_t)(d - now) < w)
				w = d > now ? (int64_t)(d - now) : 0;
			if (w < wait)
				wait = w;
		}
		if (live && (int64_t)(next_live - now) < wait)
			wait = next_live > now ? (int64_t)(next_live - now) : 0;
		if (end && (int64_t)(end - now) < wait)
			wait = (int64_t)(end - now);
		epoll_wait(efd, evs, MAX_EPS, (int)wait);
		now = mono_ms();
		for (int i = 0; i < n; i++)
			runner_step(&rs[i], now, t0);
		if (live && now >= next_live) {
			live_line(rs, n, t0);
			next_live += 1000;
		}
		if (all_failed(rs, n))
			break; /* nothing left to run */
	}
	close(efd);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spec", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "report", required_argument, NULL, 'r' },
		{ "keylog", required_argument, NULL, 'k' },
		{ "live", no_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct runner rs[MAX_EPS];
	const char *spec = NULL, *report = NULL, *keylog = NULL;
	double duration = 0;
	bool live = false, failed = false;
	FILE *kl = NULL;
	int c, n = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "s:d:r:k:lvh", opts, NULL)) != -1) {
		switch (c) {
		case 's': spec = optarg; break;
		case 'd':
			duration = strtod(optarg, &end);
			if (*end != '\0' || duration <= 0) {
				fprintf(stderr, "perc-endpoint: --duration wants seconds > 0, got "
					"'%s'\n", optarg);
				return 2;
			}
			break;
		case 'r': report = optarg; break;
		case 'k': keylog = optarg; break;
		case 'l': live = true; break;
		case 'v': verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (spec == NULL || optind != argc) {
		fprintf(stderr, "perc-endpoint: --spec FILE is required (and nothing else on the "
			"command line)\n");
		usage(stderr);
		return 2;
	}
	/* OpenSSL's own secrets (the endpoints' private keys) in its locked,
	 * never-dumped secure heap; libperc_ep keeps the media keys in its
	 * own arena. Best effort: without it OpenSSL uses the normal heap. */
	if (CRYPTO_secure_malloc_init(1u << 18, 16) != 1 && verbose)
		fprintf(stderr, "perc-endpoint: no OpenSSL secure heap (mlock limit?)\n");
	if (load_spec(spec, rs, &n) != 0)
		goto out2;
	if (keylog != NULL && (kl = open_keylog(keylog)) == NULL)
		goto out2;
	if (create_all(rs, n, kl) != 0)
		goto out2;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	run(rs, n, duration, live);
	if (verbose)
		fprintf(stderr, "perc-endpoint: OpenSSL secure heap in use: %zu bytes\n",
			CRYPTO_secure_used());
	failed = any_failed(rs, n);
	if (report != NULL && write_report(report, rs, n) != 0)
		failed = true;
	for (int i = 0; i < n; i++)
		free_runner(&rs[i]);
	if (kl != NULL)
		fclose(kl);
	return failed ? 1 : 0;
out2:
	for (int i = 0; i < n; i++)
		free_runner(&rs[i]);
	if (kl != NULL)
		fclose(kl);
	return 2;
}
