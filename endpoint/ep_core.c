/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc_ep life cycle, the poll loop, the key arena and the queries.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ep_internal.h"
#include "perc/rtp.h"

static const char *const state_names[] = {
	[PERC_EP_ICE] = "ice", [PERC_EP_DTLS] = "dtls", [PERC_EP_AUTH] = "auth",
	[PERC_EP_JOINED] = "joined", [PERC_EP_LEFT] = "left", [PERC_EP_FAILED] = "failed",
};

const char *
perc_ep_state_name(enum perc_ep_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

uint64_t
ep_mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

int64_t
ep_real_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void
ep_random(void *p, size_t n)
{
	/* RAND_bytes only fails when the DRBG cannot be seeded; a key made
	 * of zeros would be worse than stopping */
	if (RAND_bytes(p, (int)n) != 1)
		abort();
}

void
ep_log(struct perc_ep *ep, enum perc_ep_log lvl, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ep->cfg.on_log != NULL)
		ep->cfg.on_log(ep->cfg.cb_arg, ep, lvl, msg);
	else if (lvl <= PERC_EP_LOG_WARN)
		fprintf(stderr, "perc-endpoint %s: %s\n", ep->s_id, msg);
}

void
ep_set_state(struct perc_ep *ep, enum perc_ep_state s)
{
	if (ep->state == s || ep->state == PERC_EP_FAILED)
		return;
	ep->state = s;
	ep_log(ep, PERC_EP_LOG_INFO, "state %s", perc_ep_state_name(s));
	if (ep->cfg.on_state != NULL)
		ep->cfg.on_state(ep->cfg.cb_arg, ep, s, s == PERC_EP_FAILED ? ep->failure : NULL);
}

void
ep_fail(struct perc_ep *ep, const char *fmt, ...)
{
	bool member = ep->state == PERC_EP_JOINED || ep->state == PERC_EP_LEFT;
	va_list ap;

	if (ep->state == PERC_EP_FAILED)
		return;
	va_start(ap, fmt);
	vsnprintf(ep->failure, sizeof(ep->failure), fmt, ap);
	va_end(ap);
	ep_log(ep, PERC_EP_LOG_ERR, "%s", ep->failure);
	ep_set_state(ep, PERC_EP_FAILED);
	/* refused before joining (pin, profile): tell the KD at once rather
	 * than leaving it waiting for AUTH; a member that fails stays silent
	 * and the KD's keepalive timeout removes it */
	if (!member)
		ep_dtls_close(ep);
	/* no media after a failure: drop the sending keys now */
	for (unsigned i = 0; i < 2; i++) {
		if (ep->keys->tx[i].valid)
			perc_double_key_clear(&ep->keys->tx[i].dk);
		OPENSSL_cleanse(&ep->keys->tx[i], sizeof(ep->keys->tx[i]));
	}
}

void
ep_keylog(struct perc_ep *ep, const char *what, const char *attrs, const uint8_t *k, size_t n)
{
	char hex[2 * 64 + 1];

	if (ep->cfg.keylog == NULL || n > 64)
		return;
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", k[i]);
	hex[2 * n] = '\0';
	fprintf(ep->cfg.keylog, "%lld %s %s %s %s\n", (long long)ep_real_ms(), ep->s_id, what,
		attrs, hex);
	fflush(ep->cfg.keylog);
	OPENSSL_cleanse(hex, sizeof(hex));
}

void
ep_send(struct perc_ep *ep, const uint8_t *p, size_t n)
{
	if (sendto(ep->fd, p, n, 0, (const struct sockaddr *)&ep->mdd, sizeof(ep->mdd)) < 0 &&
	    errno != EAGAIN)
		ep_log(ep, PERC_EP_LOG_DEBUG, "sendto: %s", strerror(errno));
}

void
perc_ep_config_defaults(struct perc_ep_config *c)
{
	memset(c, 0, sizeof(*c));
	c->require_e2e = true;
	c->media = PERC_EP_AUDIO;
	c->ice_rto_ms = 100;
	c->ice_max_tries = 7;
	c->consent_interval_ms = 1000;
	c->consent_timeout_ms = 5000;
	c->keepalive_ms = 500;
	c->kd_timeout_ms = 3000;
	c->dtls_timeout_ms = 15000;
	c->overlap_ms = 250;
}

/* Key memory: one anonymous mapping, locked when RLIMIT_MEMLOCK allows and
 * never written to a core dump. */
static struct ep_arena *
arena_new(size_t *len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t n = (sizeof(struct ep_arena) + pg - 1) / pg * pg;
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, n, MADV_DONTDUMP);
	(void)mlock(p, n); /* best effort: the limit may be small */
	*len = n;
	return p;
}

static void
arena_free(struct ep_arena *a, size_t len)
{
	if (a == NULL)
		return;
	OPENSSL_cleanse(a, len);
	munlock(a, len);
	munmap(a, len);
}

static char *
dupstr(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static int
ep_socket(struct perc_ep *ep, char *err, size_t errlen)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(ep->cfg.bind_port) };
	socklen_t al = sizeof(a);

	if (inet_pton(AF_INET, ep->cfg.bind_addr ? ep->cfg.bind_addr : "0.0.0.0", &a.sin_addr) != 1) {
		snprintf(err, errlen, "bind address '%s' is not an IPv4 address",
			 ep->cfg.bind_addr);
		return -1;
	}
	memset(&ep->mdd, 0, sizeof(ep->mdd));
	ep->mdd.sin_family = AF_INET;
	ep->mdd.sin_port = htons(ep->cfg.mdd_port);
	if (ep->cfg.mdd_addr == NULL || inet_pton(AF_INET, ep->cfg.mdd_addr, &ep->mdd.sin_addr) != 1 ||
	    ep->cfg.mdd_port == 0) {
		snprintf(err, errlen, "MDD address '%s' port %u is not an IPv4 address and port",
			 ep->cfg.mdd_addr ? ep->cfg.mdd_addr : "(none)", ep->cfg.mdd_port);
		return -1;
	}
	ep->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ep->fd < 0 || bind(ep->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		snprintf(err, errlen, "cannot bind UDP %s:%u: %s (is the address configured?)",
			 ep->cfg.bind_addr ? ep->cfg.bind_addr : "0.0.0.0", ep->cfg.bind_port,
			 strerror(errno));
		return -1;
	}
	getsockname(ep->fd, (struct sockaddr *)&a, &al);
	ep->local_port = ntohs(a.sin_port);
	return 0;
}

static int
check_config(const struct perc_ep_config *c, char *err, size_t errlen)
{
	if (c->id == NULL || c->id[0] == '\0' || strlen(c->id) >= PERC_KD_MAX_ID) {
		snprintf(err, errlen, "endpoint id missing or longer than %u bytes",
			 PERC_KD_MAX_ID - 1);
		return -1;
	}
	if (c->token == NULL || strlen(c->token) > PERC_KD_MAX_TOKEN) {
		snprintf(err, errlen, "%s: access token missing or longer than %u bytes", c->id,
			 PERC_KD_MAX_TOKEN);
		return -1;
	}
	if (c->tls_id == NULL || c->tls_id_len < 20 || c->tls_id_len > 255) {
		snprintf(err, errlen, "%s: tls_id must be 20..255 bytes (RFC 8844), got %zu",
			 c->id, c->tls_id_len);
		return -1;
	}
	if (c->mdd_ufrag == NULL || c->mdd_pwd == NULL || c->ufrag == NULL ||
	    perc_stun_key_check(c->mdd_pwd, strlen(c->mdd_pwd)) != PERC_R_OK) {
		snprintf(err, errlen,
			 "%s: ICE ufrag, mdd_ufrag and mdd_pwd (printable ASCII) are required",
			 c->id);
		return -1;
	}
	if (c->cert_file == NULL || c->key_file == NULL) {
		snprintf(err, errlen, "%s: certificate and key PEM files are required", c->id);
		return -1;
	}
	if ((c->media & ~(PERC_EP_AUDIO | PERC_EP_VIDEO)) != 0 || c->ice_rto_ms == 0 ||
	    c->ice_max_tries == 0 || c->consent_interval_ms == 0 || c->keepalive_ms == 0 ||
	    c->kd_timeout_ms == 0 || c->dtls_timeout_ms == 0) {
		snprintf(err, errlen, "%s: bad media bits or a zero timer in the config", c->id);
		return -1;
	}
	return 0;
}

static void
tx_init(struct perc_ep *ep)
{
	for (unsigned i = 0; i < 2; i++) {
		struct ep_tx *t = &ep->tx[i];

		t->kind = i == 0 ? PERC_EP_AUDIO : PERC_EP_VIDEO;
		t->on = (ep->cfg.media & t->kind) != 0;
		ep_random(&t->ssrc, sizeof(t->ssrc));
		if (i == 1 && t->ssrc == ep->tx[0].ssrc)
			t->ssrc ^= 1;
		ep_random(&t->seq, sizeof(t->seq));
		t->seq &= 0x7fff; /* far from a ROC wrap in a test run */
		ep_random(&t->ts, sizeof(t->ts));
		t->sched.audio = i == 0;
	}
}

struct perc_ep *
perc_ep_create(const struct perc_ep_config *c, char *err, size_t errlen)
{
	struct perc_ep *ep;

	if (check_config(c, err, errlen) != 0)
		return NULL;
	ep = calloc(1, sizeof(*ep));
	if (ep == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ep->fd = -1;
	ep->cfg = *c;
	ep->s_id = dupstr(c->id);
	ep->s_conf = dupstr(c->conference ? c->conference : "");
	ep->s_token = dupstr(c->token);
	ep->s_mdd_ufrag = dupstr(c->mdd_ufrag);
	ep->s_mdd_pwd = dupstr(c->mdd_pwd);
	ep->s_ufrag = dupstr(c->ufrag);
	ep->cfg.id = ep->s_id;
	ep->cfg.conference = ep->s_conf;
	ep->cfg.token = ep->s_token;
	ep->cfg.mdd_ufrag = ep->s_mdd_ufrag;
	ep->cfg.mdd_pwd = ep->s_mdd_pwd;
	ep->cfg.ufrag = ep->s_ufrag;
	ep->cfg.kd_fingerprint = NULL; /* parsed into pin */
	memcpy(ep->tls_id, c->tls_id, c->tls_id_len);
	ep->tls_id_len = c->tls_id_len;
	ep->id_hash = ep_id_hash(c->id);
	ep->fresh_st = perc_stream_init(ep->fresh_mem, EP_REPLAY_WINDOW, 0);
	ep->keys = arena_new(&ep->arena_len);
	ep->eng = perc_engine_create(PERC_ARCH_AUTO);
	if (ep->s_id == NULL || ep->s_token == NULL || ep->keys == NULL || ep->eng == NULL ||
	    ep->fresh_st == NULL) {
		snprintf(err, errlen, "%s: out of memory (or no crypto engine for this CPU)", c->id);
		goto fail;
	}
	if (c->kd_fingerprint != NULL) {
		if (ep_parse_fingerprint(c->kd_fingerprint, ep->pin) != 0) {
			snprintf(err, errlen,
				 "%s: kd_fingerprint '%s' is not 'sha-256 XX:XX:...' (32 bytes)",
				 c->id, c->kd_fingerprint);
			goto fail;
		}
		ep->has_pin = true;
	} else if (c->require_e2e) {
		snprintf(err, errlen, "%s: require_e2e needs a kd_fingerprint pin", c->id);
		goto fail;
	}
	if (ep_socket(ep, err, errlen) != 0 || ep_dtls_ctx(ep, err, errlen) != 0)
		goto fail;
	ep->cfg.cert_file = ep->cfg.key_file = NULL; /* loaded; not kept */
	tx_init(ep);
	ep->state = PERC_EP_ICE;
	return ep;
fail:
	perc_ep_destroy(ep);
	return NULL;
}

void
perc_ep_destroy(struct perc_ep *ep)
{
	if (ep == NULL)
		return;
	ep_dtls_free(ep);
	if (ep->keys != NULL) {
		ep_keys_wipe(ep);
		arena_free(ep->keys, ep->arena_len);
	}
	if (ep->eng != NULL)
		perc_engine_destroy(ep->eng);
	if (ep->fd >= 0)
		close(ep->fd);
	if (ep->s_token != NULL)
		OPENSSL_cleanse(ep->s_token, strlen(ep->s_token));
	free(ep->s_id);
	free(ep->s_conf);
	free(ep->s_token);
	free(ep->s_mdd_ufrag);
	free(ep->s_mdd_pwd);
	free(ep->s_ufrag);
	free(ep);
}

int
perc_ep_start(struct perc_ep *ep)
{
	if (ep->started)
		return ep->state == PERC_EP_FAILED ? -1 : 0;
	ep->started = true;
	ep_ice_start(ep);
	return ep->state == PERC_EP_FAILED ? -1 : 0;
}

int
perc_ep_fd(const struct perc_ep *ep)
{
	return ep->fd;
}

static uint64_t
min_due(uint64_t a, uint64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

int
perc_ep_next_timeout_ms(const struct perc_ep *ep)
{
	uint64_t now = ep_mono_ms(), due = 0;

	if (!ep->started || ep->state == PERC_EP_FAILED)
		return 1000;
	if (!ep->ice_done)
		due = ep->ice_next;
	else
		due = ep->consent_next;
	due = min_due(due, ep_dtls_next(ep, now));
	if (ep->hs_done && ep->state != PERC_EP_LEFT)
		due = min_due(due, ep->ka_next);
	if (ep->ssl != NULL && !ep->hs_done)
		due = min_due(due, ep->hs_deadline);
	/* retired keys are zeroized on time, not at the next packet */
	due = min_due(due, ep_keys_next_retire(ep));
	if (due == 0 || due > now + 1000)
		return 1000;
	return due <= now ? 0 : (int)(due - now);
}

static void
ep_input(struct perc_ep *ep, uint8_t *p, size_t n, const struct sockaddr_in *from)
{
	if (from->sin_addr.s_addr != ep->mdd.sin_addr.s_addr || from->sin_port != ep->mdd.sin_port) {
		ep->st.not_stun_dtls_rtp++;
		return;
	}
	switch (perc_demux(p, n)) {
	case PERC_DEMUX_STUN:
		ep_ice_input(ep, p, n);
		break;
	case PERC_DEMUX_DTLS:
		ep_dtls_input(ep, p, n);
		break;
	case PERC_DEMUX_RTP:
		ep_media_input(ep, p, n);
		break;
	default:
		ep->st.not_stun_dtls_rtp++; /* RTCP is not used by this endpoint */
		break;
	}
}

void
perc_ep_poll(struct perc_ep *ep)
{
	uint8_t *buf = ep->rxbuf;
	uint64_t now;

	for (int i = 0; i < 256; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(ep->fd, buf, sizeof(ep->rxbuf), 0, (struct sockaddr *)&from,
				     &fl);

		if (n < 0)
			break;
		if (ep->started && ep->state != PERC_EP_FAILED)
			ep_input(ep, buf, (size_t)n, &from);
	}
	if (!ep->started || ep->state == PERC_EP_FAILED)
		return;
	now = ep_mono_ms();
	ep_ice_timer(ep, now);
	ep_dtls_timer(ep, now);
	ep_keys_expire(ep, now);
}

void
perc_ep_leave(struct perc_ep *ep)
{
	struct perc_kd_msg m = { .type = PERC_KD_BYE };
	unsigned n = 0;

	if (ep->state == PERC_EP_LEFT || ep->state == PERC_EP_FAILED)
		return;
	if (ep->hs_done)
		ep_kd_send(ep, &m);
	/* the SPIs held now: anything opened later under another SPI leaked */
	for (unsigned i = 0; i < EP_MAX_EKT; i++)
		if (ep->keys->ekt[i].used)
			ep->leave_spis[n++] = ep->keys->ekt[i].spi;
	ep->n_leave_spis = n;
	ep->left_ms = ep_real_ms();
	for (unsigned i = 0; i < 2; i++) {
		if (ep->keys->tx[i].valid)
			perc_double_key_clear(&ep->keys->tx[i].dk);
		OPENSSL_cleanse(&ep->keys->tx[i], sizeof(ep->keys->tx[i]));
	}
	ep_set_state(ep, PERC_EP_LEFT);
}

enum perc_ep_state
perc_ep_get_state(const struct perc_ep *ep)
{
	return ep->state;
}

const char *
perc_ep_failure(const struct perc_ep *ep)
{
	return ep->state == PERC_EP_FAILED ? ep->failure : NULL;
}

const char *
perc_ep_id(const struct perc_ep *ep)
{
	return ep->s_id;
}

bool
perc_ep_current_spi(const struct perc_ep *ep, uint16_t *spi)
{
	if (!ep->have_ekt)
		return false;
	*spi = ep->cur_spi;
	return true;
}

uint16_t
perc_ep_epoch(const struct perc_ep *ep, unsigned kind)
{
	(void)ep;
	(void)kind;
	/* one E2E key per SSRC and SPI: a new key always comes with a new SPI */
	return 0;
}

uint32_t
perc_ep_ssrc(const struct perc_ep *ep, unsigned kind)
{
	unsigned i = kind == PERC_EP_VIDEO ? 1 : 0;

	return ep->tx[i].on ? ep->tx[i].ssrc : 0;
}

uint32_t
perc_ep_roster(const struct perc_ep *ep, unsigned *n)
{
	*n = ep->have_ekt ? ep->roster.n : 0;
	return ep->have_ekt ? ep->roster.version : 0;
}

const char *
perc_ep_roster_member(const struct perc_ep *ep, unsigned i)
{
	return ep->have_ekt && i < ep->roster.n ? ep->roster.ids[i] : NULL;
}

uint16_t
perc_ep_local_port(const struct perc_ep *ep)
{
	return ep->local_port;
}

void
perc_ep_get_stats(const struct perc_ep *ep, struct perc_ep_stats *s)
{
	*s = ep->st;
}

unsigned
perc_ep_spi_count(const struct perc_ep *ep)
{
	return ep->nhist;
}

bool
perc_ep_spi_get(const struct perc_ep *ep, unsigned i, struct perc_ep_spi_info *out)
{
	if (i >= ep->nhist)
		return false;
	out->spi = ep->hist[i].spi;
	out->received_ms = ep->hist[i].received_ms;
	out->first_send_ms = ep->hist[i].first_send_ms;
	out->replaced_ms = ep->hist[i].replaced_ms;
	out->roster_version = ep->hist[i].roster_version;
	return true;
}

int64_t
perc_ep_joined_ms(const struct perc_ep *ep)
{
	return ep->joined_ms;
}

int64_t
perc_ep_left_ms(const struct perc_ep *ep)
{
	return ep->left_ms;
}

static double
lat_quantile(const struct perc_ep *ep, double q)
{
	uint64_t want = (uint64_t)(q * (double)ep->lat_n), acc = 0;

	if (want >= ep->lat_n)
		want = ep->lat_n - 1;
	for (unsigned i = 0; i < EP_LAT_BINS; i++) {
		acc += ep->lat_hist[i];
		if (acc > want)
			return (double)i;
	}
	return (double)(EP_LAT_BINS - 1);
}

bool
perc_ep_latency(const struct perc_ep *ep, double *p50, double *p99, double *max)
{
	if (ep->lat_n == 0)
		return false;
	*p50 = lat_quantile(ep, 0.50);
	*p99 = lat_quantile(ep, 0.99);
	*max = ep->lat_max;
	return true;
}
