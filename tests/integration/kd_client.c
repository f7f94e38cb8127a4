/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kd_client: plays an MDD (TLS 1.3 tunnel, RFC 9185) and one or more PERC
 * endpoints (DTLS 1.2 clients with the PERC extensions, tunneled) against a
 * running perc-kd, runs one scenario and checks what perc-kd answers.
 * Prints "ok ..." / "FAIL ..." lines; exits 0 only when every check passed.
 *
 * usage: kd_client api SOCKET JSON
 *        kd_client run --kd HOST:PORT --kd-fp FP --mdd-cert C --mdd-key K
 *                  [--api SOCKET] [--ep NAME,CERT,KEY,TLSIDHEX,TOKENFILE]... SCENARIO
 * scenarios: join two refused nodouble badmdd version noprofile garbage
 *            revoke timeout disconnect close loss nocert replace
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "perc/kdproto.h"
#include "perc/reason.h"
#include "perc/tunnel.h"

#define MAX_EP 4
#define MAX_Q 64

static int n_ok, n_fail;

static void check(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
check(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf(cond ? "ok   " : "FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (cond)
		n_ok++;
	else
		n_fail++;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- MDD side: the tunnel ---- */

struct tun {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	uint8_t in[PERC_TUN_HDR + PERC_TUN_MAX_BODY + 16];
	size_t in_len;
	bool closed;
	bool got_unsupported;
	uint8_t unsupported_version;
};

struct ep {
	const char *name, *cert, *keyf;
	uint8_t tls_id[255];
	size_t tls_id_len;
	char token[PERC_KD_MAX_TOKEN + 2];
	bool no_double;                    /* leave out perc_double_srtp */
	bool no_cert;                      /* present no certificate */
	bool no_timers;                    /* never retransmit (loss test) */
	uint64_t drop_until;               /* lose what the KD sends before this */
	int dropped;
	struct tun *t;
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *rb, *wb;
	uint8_t uuid[16];
	bool hs_done, hs_failed, closed;
	/* server answers to the extensions */
	int ekt_answer, double_answer;
	bool echo_ok;
	uint8_t exp[112];
	bool have_mk;
	struct perc_tun_msg mk;
	struct perc_kd_msg q[MAX_Q];
	int nq, qhead;
	/* the EKT key it holds */
	uint8_t key[16], salt[12];
	uint16_t spi;
	bool have_key;
};

static const char *kd_addr, *kd_fp, *mdd_cert, *mdd_key, *api_path, *keys_out;

/* Append key bytes as hex to --keys-out, so the test can look for them in
 * perc-kd's log and events (they must not be there). */
static void
note_key(const uint8_t *k, size_t n)
{
	FILE *f;
	size_t i;

	if (keys_out == NULL || (f = fopen(keys_out, "a")) == NULL)
		return;
	for (i = 0; i < n; i++)
		fprintf(f, "%02x", k[i]);
	fputc('\n', f);
	fclose(f);
}
static struct ep eps[MAX_EP];
static int n_ep;

static void
die(const char *what)
{
	fprintf(stderr, "kd_client: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(2);
}

static int
tcp_connect(const char *addr)
{
	struct sockaddr_in sa;
	char host[64];
	const char *c = strrchr(addr, ':');
	int fd, one = 1;

	if (c == NULL || (size_t)(c - addr) >= sizeof(host))
		die("--kd HOST:PORT");
	memcpy(host, addr, (size_t)(c - addr));
	host[c - addr] = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(c + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		die("bad --kd address");
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("cannot connect to perc-kd");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Returns true when the TLS handshake completed (from the client's view). */
static bool
tun_open(struct tun *t, const char *cert, const char *key)
{
	memset(t, 0, sizeof(*t));
	t->ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_3_VERSION);
	if (SSL_CTX_use_certificate_file(t->ctx, cert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1)
		die("cannot load the MDD certificate / key");
	t->fd = tcp_connect(kd_addr);
	t->ssl = SSL_new(t->ctx);
	SSL_set_fd(t->ssl, t->fd);
	return SSL_connect(t->ssl) == 1;
}

static void
tun_close(struct tun *t)
{
	if (t->ssl != NULL) {
		SSL_shutdown(t->ssl);
		SSL_free(t->ssl);
	}
	if (t->fd > 0)
		close(t->fd);
	SSL_CTX_free(t->ctx);
	t->ssl = NULL;
	t->fd = -1;
	t->ctx = NULL;
}

static void
tun_raw(struct tun *t, const uint8_t *p, size_t len)
{
	if (SSL_write(t->ssl, p, (int)len) != (int)len)
		t->closed = true;
}

static void
tun_send(struct tun *t, const struct perc_tun_msg *m)
{
	uint8_t buf[PERC_TUN_HDR + PERC_TUN_MAX_BODY];
	int len = perc_tun_encode(m, buf, sizeof(buf));

	if (len < 0)
		die("cannot encode a tunnel message");
	tun_raw(t, buf, (size_t)len);
}

/* SupportedProfiles by hand: the codec will not encode other versions. */
static void
send_profiles(struct tun *t, uint8_t version, uint16_t p1, uint16_t p2)
{
	uint8_t b[12];
	size_t np = p2 != 0 ? 2 : 1, body = 1 + 2 + 2 * np;

	b[0] = PERC_TUN_SUPPORTED_PROFILES;
	b[1] = 0;
	b[2] = (uint8_t)body;
	b[3] = version;
	b[4] = 0;
	b[5] = (uint8_t)(2 * np);
	b[6] = (uint8_t)(p1 >> 8);
	b[7] = (uint8_t)p1;
	b[8] = (uint8_t)(p2 >> 8);
	b[9] = (uint8_t)p2;
	tun_raw(t, b, 3 + body);
}

/* ---- endpoint side: DTLS through the tunnel ---- */

static void
ep_drain(struct ep *e)
{
	uint8_t buf[16384];
	struct perc_tun_msg m;
	int r;

	while ((r = BIO_read(e->wb, buf, sizeof(buf))) > 0) {
		memset(&m, 0, sizeof(m));
		m.type = PERC_TUN_TUNNELED_DTLS;
		memcpy(m.uuid, e->uuid, 16);
		m.dtls = buf;
		m.dtls_len = (uint16_t)r;
		tun_send(e->t, &m);
	}
}

static void
ep_step(struct ep *e)
{
	uint8_t buf[PERC_KD_MAX_MSG + 64];
	int r, err;

	if (e->closed || e->hs_failed)
		return;
	if (!e->hs_done) {
		r = SSL_do_handshake(e->ssl);
		if (r == 1) {
			e->hs_done = true;
		} else {
			err = SSL_get_error(e->ssl, r);
			if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
				e->hs_failed = true;
			ep_drain(e);
			return;
		}
	}
	for (;;) {
		r = SSL_read(e->ssl, buf, sizeof(buf));
		if (r <= 0) {
			err = SSL_get_error(e->ssl, r);
			if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
				e->closed = true;
			break;
		}
		if (e->nq == MAX_Q && e->qhead > 0) {
			/* drop what was read already */
			memmove(e->q, e->q + e->qhead, (size_t)(e->nq - e->qhead) * sizeof(e->q[0]));
			e->nq -= e->qhead;
			e->qhead = 0;
		}
		if (e->nq == MAX_Q)
			die("message queue full");
		if (perc_kd_decode(buf, (size_t)r, &e->q[e->nq]) != PERC_R_OK) {
			check(false, "%s: perc-kd sent a message that does not decode", e->name);
			continue;
		}
		e->nq++;
	}
	ep_drain(e);
}

static struct ep *
ep_by_uuid(const uint8_t uuid[16])
{
	int i;

	for (i = 0; i < n_ep; i++)
		if (memcmp(eps[i].uuid, uuid, 16) == 0)
			return &eps[i];
	return NULL;
}

static void
on_tun_msg(struct tun *t, const uint8_t *p, size_t len)
{
	struct perc_tun_msg m;
	struct ep *e;

	if (perc_tun_decode(p, len, &m) != PERC_R_OK) {
		check(false, "perc-kd sent a tunnel message that does not decode");
		return;
	}
	switch (m.type) {
	case PERC_TUN_UNSUPPORTED_VERSION:
		t->got_unsupported = true;
		t->unsupported_version = m.version;
		break;
	case PERC_TUN_MEDIA_KEYS:
		e = ep_by_uuid(m.uuid);
		if (e == NULL) {
			check(false, "MediaKeys for an unknown association");
			return;
		}
		e->mk = m;
		e->have_mk = true;
		note_key(m.client_key, m.client_key_len);
		note_key(m.server_key, m.server_key_len);
		break;
	case PERC_TUN_TUNNELED_DTLS:
		e = ep_by_uuid(m.uuid);
		if (e == NULL || e->t != t)
			return;
		if (now_ms() < e->drop_until) {
			e->dropped++;
			return;
		}
		BIO_write(e->rb, m.dtls, m.dtls_len);
		ep_step(e);
		break;
	default:
		check(false, "perc-kd sent tunnel message type %u", m.type);
	}
}

/* Read what the tunnel has for up to ms milliseconds. */
static void
tun_pump(struct tun *t, int ms)
{
	struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
	size_t fl, off;
	int r;

	if (t->closed || t->ssl == NULL)
		return;
	if (SSL_pending(t->ssl) == 0 && poll(&pfd, 1, ms) <= 0)
		return;
	r = SSL_read(t->ssl, t->in + t->in_len, (int)(sizeof(t->in) - t->in_len));
	if (r <= 0) {
		t->closed = true;
		return;
	}
	t->in_len += (size_t)r;
	off = 0;
	while ((fl = perc_tun_frame(t->in + off, t->in_len - off)) > 0) {
		on_tun_msg(t, t->in + off, fl);
		off += fl;
	}
	memmove(t->in, t->in + off, t->in_len - off);
	t->in_len -= off;
}

typedef bool (*cond_fn)(void *);

static void
ep_timers(void)
{
	int i;

	for (i = 0; i < n_ep; i++)
		if (eps[i].ssl != NULL && !eps[i].no_timers && !eps[i].hs_done && !eps[i].hs_failed &&
		    DTLSv1_handle_timeout(eps[i].ssl) > 0)
			ep_drain(&eps[i]);
}

/* Pump every tunnel in use until cond holds or ms pass. */
static bool
wait_for(cond_fn cond, void *arg, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	struct tun *seen[MAX_EP];
	int i, j, ns;

	while (!cond(arg)) {
		if (now_ms() >= end)
			return false;
		ns = 0;
		for (i = 0; i < n_ep; i++) {
			if (eps[i].t == NULL)
				continue;
			for (j = 0; j < ns && seen[j] != eps[i].t; j++)
				;
			if (j == ns)
				seen[ns++] = eps[i].t;
		}
		for (j = 0; j < ns; j++)
			tun_pump(seen[j], 20);
		if (ns == 0)
			usleep(20000);
		ep_timers();
	}
	return true;
}

/* custom extensions of the client */
static int
cext_add(SSL *s, unsigned int type, unsigned int context, const unsigned char **out,
	 size_t *outlen, X509 *x, size_t chainidx, int *al, void *arg)
{
	static const uint8_t ekt[] = { 2, 1, 2 };                 /* aeskw_128, aeskw_256 */
	static const uint8_t dbl[] = { 0, 4, 0x00, 0x09, 0x00, 0x0A };
	struct ep *e = SSL_get_app_data(s);
	static uint8_t id[MAX_EP][256];

	(void)context, (void)x, (void)chainidx, (void)al, (void)arg;
	switch (type) {
	case PERC_EXT_EKT_CIPHERS:
		*out = ekt;
		*outlen = sizeof(ekt);
		return 1;
	case PERC_EXT_EXTERNAL_SESSION_ID:
		id[e - eps][0] = (uint8_t)e->tls_id_len;
		memcpy(id[e - eps] + 1, e->tls_id, e->tls_id_len);
		*out = id[e - eps];
		*outlen = 1 + e->tls_id_len;
		return 1;
	case PERC_EXT_DOUBLE_SRTP:
		if (e->no_double)
			return 0;
		*out = dbl;
		*outlen = sizeof(dbl);
		return 1;
	}
	return 0;
}

static int
cext_parse(SSL *s, unsigned int type, unsigned int context, const unsigned char *in,
	   size_t inlen, X509 *x, size_t chainidx, int *al, void *arg)
{
	struct ep *e = SSL_get_app_data(s);

	(void)context, (void)x, (void)chainidx, (void)al, (void)arg;
	switch (type) {
	case PERC_EXT_EKT_CIPHERS:
		e->ekt_answer = inlen == 1 ? in[0] : -1;
		break;
	case PERC_EXT_EXTERNAL_SESSION_ID:
		e->echo_ok = inlen == 1 + e->tls_id_len && in[0] == e->tls_id_len &&
			     memcmp(in + 1, e->tls_id, e->tls_id_len) == 0;
		break;
	case PERC_EXT_DOUBLE_SRTP:
		e->double_answer = inlen == 2 ? (in[0] << 8 | in[1]) : -1;
		break;
	}
	return 1;
}

static int
verify_any(int ok, X509_STORE_CTX *c)
{
	(void)ok, (void)c;
	return 1;
}

static void
ep_start(struct ep *e, struct tun *t)
{
	const unsigned int ctxt = SSL_EXT_CLIENT_HELLO | SSL_EXT_TLS1_2_SERVER_HELLO;
	const unsigned int types[] = { PERC_EXT_EKT_CIPHERS, PERC_EXT_EXTERNAL_SESSION_ID,
				       PERC_EXT_DOUBLE_SRTP };
	int i;

	e->t = t;
	e->ekt_answer = e->double_answer = -1;
	RAND_bytes(e->uuid, 16);
	e->uuid[6] = (uint8_t)((e->uuid[6] & 0x0f) | 0x40);
	e->ctx = SSL_CTX_new(DTLS_client_method());
	SSL_CTX_set_min_proto_version(e->ctx, DTLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(e->ctx, DTLS1_2_VERSION);
	if (!e->no_cert &&
	    (SSL_CTX_use_certificate_file(e->ctx, e->cert, SSL_FILETYPE_PEM) != 1 ||
	     SSL_CTX_use_PrivateKey_file(e->ctx, e->keyf, SSL_FILETYPE_PEM) != 1))
		die("cannot load an endpoint certificate / key");
	SSL_CTX_set_verify(e->ctx, SSL_VERIFY_PEER, verify_any);
	SSL_CTX_set_options(e->ctx, SSL_OP_NO_QUERY_MTU);
	if (SSL_CTX_set_tlsext_use_srtp(e->ctx, "SRTP_AEAD_AES_128_GCM:SRTP_AEAD_AES_256_GCM") != 0)
		die("use_srtp");
	for (i = 0; i < 3; i++)
		if (SSL_CTX_add_custom_ext(e->ctx, types[i], ctxt, cext_add, NULL, NULL,
					   cext_parse, NULL) != 1)
			die("custom extension");
	e->ssl = SSL_new(e->ctx);
	e->rb = BIO_new(BIO_s_mem());
	e->wb = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(e->rb, -1);
	SSL_set_bio(e->ssl, e->rb, e->wb);
	SSL_set_app_data(e->ssl, e);
	SSL_set_mtu(e->ssl, 1200);
	SSL_set_connect_state(e->ssl);
	ep_step(e);
}

static void
ep_send(struct ep *e, const struct perc_kd_msg *m)
{
	uint8_t buf[PERC_KD_MAX_MSG];
	int len = perc_kd_encode(m, buf, sizeof(buf));

	if (len < 0)
		die("cannot encode a KD message");
	SSL_write(e->ssl, buf, len);
	ep_drain(e);
}

static bool c_hs(void *a) { struct ep *e = a; return e->hs_done || e->hs_failed || e->closed; }
static bool c_msg(void *a) { struct ep *e = a; return e->qhead < e->nq || e->closed; }
static bool c_closed(void *a) { struct ep *e = a; return e->closed || e->hs_failed; }
static bool c_tclosed(void *a) { struct tun *t = a; tun_pump(t, 20); return t->closed; }

/* Next message of the endpoint (NULL after ms). */
static struct perc_kd_msg *
next_msg(struct ep *e, int ms)
{
	if (e->qhead < e->nq || wait_for(c_msg, e, ms)) {
		if (e->qhead < e->nq)
			return &e->q[e->qhead++];
	}
	return NULL;
}

static void
fp_of(SSL *s, char *out, size_t cap)
{
	X509 *x = SSL_get0_peer_certificate(s);
	unsigned char *der = NULL, md[32];
	int len, i;
	size_t o;

	out[0] = '\0';
	if (x == NULL || (len = i2d_X509(x, &der)) <= 0)
		return;
	SHA256(der, (size_t)len, md);
	OPENSSL_free(der);
	o = (size_t)snprintf(out, cap, "sha-256 ");
	for (i = 0; i < 32; i++)
		o += (size_t)snprintf(out + o, cap - o, i ? ":%02X" : "%02X", md[i]);
}

/* Handshake + checks of what the KD negotiated; then AUTH. */
static bool
ep_handshake(struct ep *e, struct tun *t)
{
	const SRTP_PROTECTION_PROFILE *sp;
	struct perc_kd_msg m;
	char fp[120];

	ep_start(e, t);
	wait_for(c_hs, e, 5000);
	check(e->hs_done, "%s: DTLS handshake through the tunnel", e->name);
	if (!e->hs_done)
		return false;
	fp_of(e->ssl, fp, sizeof(fp));
	check(strcmp(fp, kd_fp) == 0, "%s: KD certificate matches the pinned fingerprint", e->name);
	sp = SSL_get_selected_srtp_profile(e->ssl);
	check(sp != NULL && sp->id == SRTP_AEAD_AES_128_GCM, "%s: use_srtp SRTP_AEAD_AES_128_GCM",
	      e->name);
	check(e->ekt_answer == 1, "%s: supported_ekt_ciphers answered aeskw_128 (got %d)", e->name,
	      e->ekt_answer);
	check(e->echo_ok, "%s: external_session_id echoed", e->name);
	check(e->double_answer == 9, "%s: perc_double_srtp answered 0x0009 (got %d)", e->name,
	      e->double_answer);
	if (SSL_export_keying_material(e->ssl, e->exp, sizeof(e->exp), "EXTRACTOR-dtls_srtp", 19,
				       NULL, 0, 0) != 1)
		die("export");
	memset(&m, 0, sizeof(m));
	m.type = PERC_KD_AUTH;
	m.token = e->token;
	m.token_len = (uint16_t)strlen(e->token);
	ep_send(e, &m);
	return true;
}

static bool c_mk(void *a) { struct ep *e = a; return e->have_mk || e->closed; }

static void
take_key(struct ep *e, const struct perc_kd_msg *m)
{
	memcpy(e->key, m->ekt_key, 16);
	memcpy(e->salt, m->salt, 12);
	note_key(m->ekt_key, 16);
	note_key(m->salt, 12);
	e->spi = m->spi;
	e->have_key = true;
}

static bool
in_roster(const struct perc_kd_roster *r, const char *id)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->ids[i], id) == 0)
			return true;
	return false;
}

/* A whole successful join: MediaKeys right, EKT_KEY received. */
static bool
ep_join(struct ep *e, struct tun *t)
{
	struct perc_kd_msg *m;

	if (!ep_handshake(e, t))
		return false;
	wait_for(c_mk, e, 5000);
	check(e->have_mk, "%s: MediaKeys arrived on the tunnel", e->name);
	if (e->have_mk) {
		check(e->mk.profile == 0x0009, "%s: MediaKeys profile 0x0009 (got 0x%04x)", e->name,
		      e->mk.profile);
		check(e->mk.client_key_len == 16 && e->mk.server_key_len == 16 &&
		      e->mk.client_salt_len == 12 && e->mk.server_salt_len == 12,
		      "%s: MediaKeys halves are 16-byte keys and 12-byte salts", e->name);
		check(memcmp(e->mk.client_key, e->exp + 16, 16) == 0 &&
		      memcmp(e->mk.server_key, e->exp + 48, 16) == 0 &&
		      memcmp(e->mk.client_salt, e->exp + 76, 12) == 0 &&
		      memcmp(e->mk.server_salt, e->exp + 100, 12) == 0,
		      "%s: MediaKeys = the outer halves of the endpoint's own exporter output", e->name);
		check(memcmp(e->mk.client_key, e->exp, 16) != 0,
		      "%s: MediaKeys does not carry the inner half", e->name);
	}
	m = next_msg(e, 5000);
	check(m != NULL && m->type == PERC_KD_EKT_KEY, "%s: EKT_KEY arrived (got type %d)", e->name,
	      m != NULL ? m->type : -1);
	if (m == NULL || m->type != PERC_KD_EKT_KEY)
		return false;
	check(m->ekt_key_len == 16 && m->salt_len == 12, "%s: EKT_KEY has a 16-byte AESKW-128 key "
	      "and a 12-byte salt", e->name);
	check(in_roster(&m->roster, e->name), "%s: EKT_KEY roster lists it (version %u)", e->name,
	      m->roster.version);
	take_key(e, m);
	return true;
}

static void
ep_bye(struct ep *e)
{
	struct perc_kd_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PERC_KD_BYE;
	ep_send(e, &m);
	wait_for(c_closed, e, 2000);
	check(e->closed, "%s: association closed after BYE", e->name);
}

static void
keepalive(struct ep *e, uint32_t seq)
{
	struct perc_kd_msg m, *r;

	memset(&m, 0, sizeof(m));
	m.type = PERC_KD_KEEPALIVE;
	m.seq = seq;
	ep_send(e, &m);
	/* acks of earlier keepalives that nobody waited for */
	while ((r = next_msg(e, 3000)) != NULL && r->type == PERC_KD_KEEPALIVE_ACK && r->seq != seq)
		;
	check(r != NULL && r->type == PERC_KD_KEEPALIVE_ACK && r->seq == seq,
	      "%s: KEEPALIVE %u answered by KEEPALIVE_ACK", e->name, seq);
}

/* expect a fresh EKT_KEY with a new SPI after someone left */
static void
expect_leave_key(struct ep *e, const uint8_t *old_key, uint16_t old_spi, const char *why)
{
	struct perc_kd_msg *m = next_msg(e, 5000);

	check(m != NULL && m->type == PERC_KD_EKT_KEY, "%s: new EKT_KEY after %s (got type %d)",
	      e->name, why, m != NULL ? m->type : -1);
	if (m == NULL || m->type != PERC_KD_EKT_KEY)
		return;
	check(m->spi != old_spi, "%s: new SPI %u != %u", e->name, m->spi, old_spi);
	check(memcmp(m->ekt_key, old_key, 16) != 0, "%s: leave key differs from the old key", e->name);
	check(memcmp(m->salt, e->salt, 12) == 0, "%s: conference salt unchanged", e->name);
	take_key(e, m);
}

/* ---- API helper ---- */

static int
api_call(const char *path, const char *req, char *resp, size_t cap)
{
	struct sockaddr_un sa;
	size_t o = 0;
	ssize_t r;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	/* a refused overlong request may be cut short: read the answer anyway */
	if (write(fd, req, strlen(req)) >= 0)
		(void)!write(fd, "\n", 1);
	while (o + 1 < cap && (r = read(fd, resp + o, cap - o - 1)) > 0) {
		o += (size_t)r;
		if (memchr(resp, '\n', o) != NULL)
			break;
	}
	resp[o] = '\0';
	resp[strcspn(resp, "\n")] = '\0';
	close(fd);
	return 0;
}

/* ---- scenarios ---- */

static void
sc_join(void)
{
	struct tun t;
	struct ep *e = &eps[0];

	check(tun_open(&t, mdd_cert, mdd_key), "tunnel: TLS 1.3 with the MDD certificate");
	send_profiles(&t, 0, 9, 7);
	if (ep_join(e, &t)) {
		keepalive(e, 7);
		ep_bye(e);
	}
	tun_close(&t);
}

static void
sc_two(void)
{
	struct ep *a = &eps[0], *b = &eps[1];
	struct perc_kd_msg *m;
	uint8_t derived[16], kb[16];
	uint16_t spi_b;
	struct tun t;

	check(tun_open(&t, mdd_cert, mdd_key), "tunnel: TLS 1.3 with the MDD certificate");
	send_profiles(&t, 0, 9, 0);
	if (!ep_join(a, &t))
		return;
	if (!ep_join(b, &t))
		return;
	memcpy(kb, b->key, 16);
	spi_b = b->spi;
	check(b->spi != a->spi, "join: new SPI %u (was %u)", b->spi, a->spi);
	m = next_msg(a, 5000);
	check(m != NULL && m->type == PERC_KD_EKT_STEP, "%s: EKT_STEP after %s joined (got type %d)",
	      a->name, b->name, m != NULL ? m->type : -1);
	if (m != NULL && m->type == PERC_KD_EKT_STEP) {
		check(m->spi == b->spi, "EKT_STEP SPI %u = joiner's EKT_KEY SPI %u", m->spi, b->spi);
		check(in_roster(&m->roster, a->name) && in_roster(&m->roster, b->name) &&
		      m->roster.n == 2, "EKT_STEP roster lists both members");
		check(perc_kd_step_key(a->key, 16, a->salt, 12, m->spi, m->roster.version,
				       derived) == 0 && memcmp(derived, b->key, 16) == 0,
		      "%s's stepped key equals %s's EKT_KEY", a->name, b->name);
		check(memcmp(a->key, b->key, 16) != 0, "the joiner did not get the old key");
		check(memcmp(a->salt, b->salt, 12) == 0, "both hold the same conference salt");
		memcpy(a->key, derived, 16);
		a->spi = m->spi;
	}
	keepalive(a, 1);
	keepalive(b, 2);
	ep_bye(b);
	expect_leave_key(a, kb, spi_b, "the BYE of the other member");
	ep_bye(a);
	tun_close(&t);
}

static void
sc_refused(int code, const char *text)
{
	struct tun t;
	struct ep *e = &eps[0];
	struct perc_kd_msg *m;

	check(tun_open(&t, mdd_cert, mdd_key), "tunnel: TLS 1.3 with the MDD certificate");
	send_profiles(&t, 0, 9, 0);
	if (ep_handshake(e, &t)) {
		m = next_msg(e, 5000);
		check(m != NULL && m->type == PERC_KD_ERROR && m->code == code,
		      "%s: ERROR code %d (got type %d code %d: %s)", e->name, code,
		      m != NULL ? m->type : -1, m != NULL ? m->code : -1, m != NULL ? m->text : "");
		if (text != NULL)
			check(m != NULL && strstr(m->text, text) != NULL, "%s: ERROR text names \"%s\"",
			      e->name, text);
		wait_for(c_closed, e, 2000);
		check(e->closed, "%s: association closed by the KD", e->name);
		tun_pump(&t, 300);
		check(!e->have_mk, "%s: no MediaKeys sent for a refused endpoint", e->name);
		check(!t.closed, "tunnel stays open");
	}
	tun_close(&t);
}

/* A handshake the KD must refuse: without perc_double_srtp, or without a
 * client certificate. */
static void
sc_nodouble(bool no_cert)
{
	struct tun t;
	struct ep *e = &eps[0];

	check(tun_open(&t, mdd_cert, mdd_key), "tunnel: TLS 1.3 with the MDD certificate");
	send_profiles(&t, 0, 9, 0);
	e->no_double = !no_cert;
	e->no_cert = no_cert;
	ep_start(e, &t);
	wait_for(c_hs, e, 5000);
	check(!e->hs_done, "%s: handshake without %s refused", e->name,
	      no_cert ? "a client certificate" : "perc_double_srtp");
	tun_pump(&t, 300);
	check(!e->have_mk, "%s: no MediaKeys", e->name);
	check(!t.closed, "tunnel stays open");
	tun_close(&t);
}

static void
sc_badmdd(void)
{
	struct tun t;
	bool up = tun_open(&t, mdd_cert, mdd_key);

	if (up) {
		/* TLS 1.3: the client finishes first; the KD's refusal comes after */
		send_profiles(&t, 0, 9, 0);
		wait_for(c_tclosed, &t, 3000);
		check(t.closed, "tunnel with an MDD certificate outside --mdd-ca closed by the KD");
	} else {
		check(true, "tunnel with an MDD certificate outside --mdd-ca refused in the handshake");
	}
	tun_close(&t);
}

static void
sc_version(void)
{
	struct tun t;

	check(tun_open(&t, mdd_cert, mdd_key), "tunnel: TLS 1.3 with the MDD certificate");
	send_profiles(&t, 1, 9, 0);
	wait_for(c_tclosed, &t, 3000);
	check(t.got_unsupported && t.unsupported_version == 0,
	      "SupportedProfiles version 1 answered UnsupportedVersion(0)");
	check(t.closed, "tunnel closed after UnsupportedVersion");
	tun_close(&t);
}

static void
sc_noprofile(void)
{
	struct tun t;

	check(tun_open(&t, mdd_cert, mdd_key), "tunnel: TLS 1.3 with the MDD certificate");
	send_profiles(&t, 0, 7, 8);
	wait_for(c_tclosed, &t, 3000);
	check(t.closed, "SupportedProfiles without 0x0009 closes the tunnel");
	tun_close(&t);
}

static void
sc_garbage(void)
{
	static const uint8_t bad_frame[] = { 4, 0, 3, 1, 2, 3 };  /* TunneledDtls without uuid */
	struct tun a, b, c;
	struct ep *e = &eps[0];
	struct perc_tun_msg m;
	uint8_t junk[200], uuid[16];

	check(tun_open(&a, mdd_cert, mdd_key), "tunnel A up");
	send_profiles(&a, 0, 9, 0);
	if (!ep_join(e, &a))
		return;
	/* tunnel B: a malformed frame */
	check(tun_open(&b, mdd_cert, mdd_key), "tunnel B up");
	send_profiles(&b, 0, 9, 0);
	tun_raw(&b, bad_frame, sizeof(bad_frame));
	wait_for(c_tclosed, &b, 3000);
	check(b.closed, "tunnel B closed after a malformed TunneledDtls");
	/* tunnel C: an unknown message type */
	check(tun_open(&c, mdd_cert, mdd_key), "tunnel C up");
	send_profiles(&c, 0, 9, 0);
	tun_raw(&c, (const uint8_t[]){ 0x77, 0, 2, 0xde, 0xad }, 5);
	wait_for(c_tclosed, &c, 3000);
	check(c.closed, "tunnel C closed after an unknown message type");
	/* garbage DTLS on tunnel A: to a new uuid and to the member's own */
	RAND_bytes(junk, sizeof(junk));
	RAND_bytes(uuid, sizeof(uuid));
	memset(&m, 0, sizeof(m));
	m.type = PERC_TUN_TUNNELED_DTLS;
	memcpy(m.uuid, uuid, 16);
	m.dtls = junk;
	m.dtls_len = sizeof(junk);
	junk[0] = 0x99;
	tun_send(&a, &m);
	junk[0] = 22;           /* looks like a handshake record, is not */
	tun_send(&a, &m);
	junk[0] = 23;
	memcpy(m.uuid, e->uuid, 16);
	tun_send(&a, &m);
	tun_pump(&a, 200);
	check(!a.closed && !e->closed, "tunnel A and its member survive garbage DTLS");
	keepalive(e, 99);
	ep_bye(e);
	tun_close(&a);
	tun_close(&b);
	tun_close(&c);
}

static void
api_expect_ok(const char *req, const char *what)
{
	char resp[8192];

	check(api_path != NULL && api_call(api_path, req, resp, sizeof(resp)) == 0 &&
	      strstr(resp, "\"ok\":true") != NULL, "api %s (%s)", what, resp);
}

static void
sc_leave_by(const char *how)
{
	struct ep *a = &eps[0], *b = &eps[1];
	struct perc_kd_msg *m;
	uint8_t kb[16];
	uint16_t spi_b;
	char req[512];
	struct tun t;
	uint64_t end;
	uint32_t seq = 100;

	check(tun_open(&t, mdd_cert, mdd_key), "tunnel up");
	send_profiles(&t, 0, 9, 0);
	if (!ep_join(a, &t) || !ep_join(b, &t))
		return;
	m = next_msg(a, 3000);        /* the join's EKT_STEP */
	if (m != NULL && m->type == PERC_KD_EKT_STEP &&
	    perc_kd_step_key(a->key, 16, a->salt, 12, m->spi, m->roster.version, a->key) == 0)
		a->spi = m->spi;
	memcpy(kb, b->key, 16);
	spi_b = b->spi;
	if (strcmp(how, "revoke") == 0) {
		snprintf(req, sizeof(req), "{\"op\":\"revoke\",\"conference\":\"c1\",\"participant\":\"%s\"}",
			 b->name);
		api_expect_ok(req, "revoke");
		m = next_msg(b, 3000);
		check(m != NULL && m->type == PERC_KD_ERROR && m->code == PERC_KD_E_REMOVED,
		      "%s: ERROR REMOVED after revoke", b->name);
		wait_for(c_closed, b, 2000);
		check(b->closed, "%s: association closed after revoke", b->name);
	} else if (strcmp(how, "close") == 0) {
		/* close_notify instead of BYE */
		SSL_shutdown(b->ssl);
		ep_drain(b);
	} else if (strcmp(how, "disconnect") == 0) {
		struct perc_tun_msg d;

		memset(&d, 0, sizeof(d));
		d.type = PERC_TUN_ENDPOINT_DISCONNECT;
		memcpy(d.uuid, b->uuid, 16);
		tun_send(&t, &d);
	} else {
		/* timeout: a keeps talking (acks dropped from its queue), b is
		 * silent, until a's leave key is there */
		struct perc_kd_msg k;

		end = now_ms() + 6000;
		while (now_ms() < end && a->qhead == a->nq) {
			memset(&k, 0, sizeof(k));
			k.type = PERC_KD_KEEPALIVE;
			k.seq = seq++;
			ep_send(a, &k);
			wait_for(c_msg, a, 250);
			while (a->qhead < a->nq && a->q[a->qhead].type == PERC_KD_KEEPALIVE_ACK)
				a->qhead++;
		}
	}
	expect_leave_key(a, kb, spi_b, how);
	if (strcmp(how, "timeout") == 0) {
		m = next_msg(b, 3000);
		check(m != NULL && m->type == PERC_KD_ERROR && m->code == PERC_KD_E_REMOVED,
		      "%s: ERROR REMOVED after its keepalive timeout", b->name);
	}
	keepalive(a, seq);
	ep_bye(a);
	tun_close(&t);
}

/* The same participant comes back on a new association through another
 * MDD tunnel: the old association is removed, the new one joins. */
static void
sc_replace(void)
{
	struct ep *old = &eps[0], *nw = &eps[1];
	struct perc_kd_msg *m;
	struct tun a, b;

	check(tun_open(&a, mdd_cert, mdd_key), "tunnel A up");
	send_profiles(&a, 0, 9, 0);
	check(tun_open(&b, mdd_cert, mdd_key), "tunnel B up");
	send_profiles(&b, 0, 9, 0);
	if (!ep_join(old, &a) || !ep_join(nw, &b))
		return;
	m = next_msg(old, 3000);
	check(m != NULL && m->type == PERC_KD_ERROR && m->code == PERC_KD_E_REMOVED,
	      "old association: ERROR REMOVED when the participant came back (%s)",
	      m != NULL && m->type == PERC_KD_ERROR ? m->text : "none");
	wait_for(c_closed, old, 2000);
	check(old->closed, "old association closed");
	check(nw->spi != old->spi, "new association holds a new SPI (%u, was %u)", nw->spi, old->spi);
	keepalive(nw, 5);
	ep_bye(nw);
	tun_close(&a);
	tun_close(&b);
}

/* The KD's first flight is lost and the client never retransmits: only
 * the KD's own retransmission timer can finish the handshake. */
static void
sc_loss(void)
{
	struct ep *e = &eps[0];
	struct tun t;
	uint64_t t0;

	check(tun_open(&t, mdd_cert, mdd_key), "tunnel up");
	send_profiles(&t, 0, 9, 0);
	e->no_timers = true;
	t0 = now_ms();
	e->drop_until = t0 + 400;
	if (ep_join(e, &t)) {
		check(e->dropped > 0, "%s: %d tunneled records from the KD lost", e->name, e->dropped);
		/* OpenSSL's first retransmission timeout is 1 s */
		check(now_ms() - t0 >= 900 && now_ms() - t0 < 2500,
		      "%s: joined after the KD's 1 s retransmission (%llu ms)", e->name,
		      (unsigned long long)(now_ms() - t0));
		ep_bye(e);
	}
	tun_close(&t);
}

static int
hexdec(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2, i;
	unsigned int v;

	if (n > cap)
		return -1;
	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (int)n;
}

static void
add_ep(char *spec)
{
	struct ep *e;
	char *f[5], *save = NULL, *tok;
	FILE *fp;
	int i = 0, n;

	if (n_ep == MAX_EP)
		die("too many --ep");
	for (tok = strtok_r(spec, ",", &save); tok != NULL && i < 5; tok = strtok_r(NULL, ",", &save))
		f[i++] = tok;
	if (i != 5)
		die("--ep NAME,CERT,KEY,TLSIDHEX,TOKENFILE");
	e = &eps[n_ep++];
	e->name = f[0];
	e->cert = f[1];
	e->keyf = f[2];
	n = hexdec(f[3], e->tls_id, sizeof(e->tls_id));
	if (n < 1)
		die("bad tls-id hex");
	e->tls_id_len = (size_t)n;
	fp = fopen(f[4], "r");
	if (fp == NULL || fgets(e->token, sizeof(e->token), fp) == NULL)
		die("cannot read the token file");
	fclose(fp);
	e->token[strcspn(e->token, "\r\n")] = '\0';
}

int
main(int argc, char **argv)
{
	static const struct option o[] = {
		{ "kd", required_argument, NULL, 'k' }, { "kd-fp", required_argument, NULL, 'f' },
		{ "mdd-cert", required_argument, NULL, 'c' }, { "mdd-key", required_argument, NULL, 'K' },
		{ "api", required_argument, NULL, 'a' }, { "ep", required_argument, NULL, 'e' },
		{ "expect-code", required_argument, NULL, 'C' },
		{ "expect-text", required_argument, NULL, 'T' },
		{ "keys-out", required_argument, NULL, 'O' }, { NULL, 0, NULL, 0 } };
	const char *sc, *text = NULL;
	char resp[65536];
	int c, code = 0;

	if (argc == 4 && strcmp(argv[1], "api") == 0) {
		if (api_call(argv[2], argv[3], resp, sizeof(resp)) != 0)
			die("cannot reach the API socket");
		fputs(resp, stdout);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "run") != 0) {
		fprintf(stderr, "usage: kd_client api SOCKET JSON | kd_client run --kd H:P --kd-fp FP "
			"--mdd-cert C --mdd-key K [--api S] [--ep N,CERT,KEY,TLSID,TOKENFILE]... SCENARIO\n");
		return 2;
	}
	argc--, argv++;
	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (c) {
		case 'k': kd_addr = optarg; break;
		case 'f': kd_fp = optarg; break;
		case 'c': mdd_cert = optarg; break;
		case 'K': mdd_key = optarg; break;
		case 'a': api_path = optarg; break;
		case 'e': add_ep(optarg); break;
		case 'C': code = atoi(optarg); break;
		case 'T': text = optarg; break;
		case 'O': keys_out = optarg; break;
		default: return 2;
		}
	}
	if (optind != argc - 1 || kd_addr == NULL || kd_fp == NULL || mdd_cert == NULL || mdd_key == NULL)
		die("missing options; see the usage at the top of kd_client.c");
	sc = argv[optind];
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(sc, "join") == 0 && n_ep >= 1)
		sc_join();
	else if (strcmp(sc, "two") == 0 && n_ep >= 2)
		sc_two();
	else if (strcmp(sc, "refused") == 0 && n_ep >= 1)
		sc_refused(code, text);
	else if (strcmp(sc, "nodouble") == 0 && n_ep >= 1)
		sc_nodouble(false);
	else if (strcmp(sc, "nocert") == 0 && n_ep >= 1)
		sc_nodouble(true);
	else if (strcmp(sc, "badmdd") == 0)
		sc_badmdd();
	else if (strcmp(sc, "version") == 0)
		sc_version();
	else if (strcmp(sc, "noprofile") == 0)
		sc_noprofile();
	else if (strcmp(sc, "garbage") == 0 && n_ep >= 1)
		sc_garbage();
	else if (strcmp(sc, "replace") == 0 && n_ep >= 2)
		sc_replace();
	else if (strcmp(sc, "loss") == 0 && n_ep >= 1)
		sc_loss();
	else if ((strcmp(sc, "revoke") == 0 || strcmp(sc, "timeout") == 0 ||
		  strcmp(sc, "close") == 0 ||
		  strcmp(sc, "disconnect") == 0) && n_ep >= 2)
		sc_leave_by(sc);
	else
		die("unknown scenario or too few --ep");
	printf("%s: %d ok, %d failed\n", sc, n_ok, n_fail);
	return n_fail == 0 && n_ok > 0 ? 0 : 1;
}
