/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The RFC 9185 tunnel client to the Key Distributor, on the control thread:
 * a non-blocking kernel TCP socket with OpenSSL TLS 1.3 (the MDD's client
 * certificate, the KD's certificate verified against --kd-ca), polled once
 * per control loop round; never blocks the dataplane. SupportedProfiles
 * {0, [0x0009]} goes first; a dropped tunnel is reconnected with
 * exponential backoff (100 ms .. 5 s). MediaKeys install the outer halves
 * into the leg (setup.c's RCU key publication: a rekey drops nothing);
 * TunneledDtls goes to the endpoint's latched 5-tuple. Keys are never
 * logged and zeroized once installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cp.h"
#include "mdapi.h"
#include "ops.h"
#include "perc/reason.h"
#include "perc/tunnel.h"

#define TUN_OUT_MAX (1u << 20)
#define TUN_IN_MAX (PERC_TUN_HDR + PERC_TUN_MAX_BODY)
#define TUN_PROFILE_DOUBLE 0x0009u
/* TCP connect plus TLS handshake must finish within this (a KD that
 * accepts and then says nothing must not hold the tunnel forever) */
#define TUN_SETUP_MS 5000u

enum tun_state { T_IDLE, T_CONNECTING, T_HANDSHAKE, T_UP };

static const char *const type_names[] = {
	"?", "supported_profiles", "unsupported_version", "media_keys", "tunneled_dtls",
	"endpoint_disconnect",
};

static struct {
	bool on;
	char host[256], port[8];
	struct sockaddr_storage sa;
	socklen_t sa_len;
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	enum tun_state st;
	uint64_t next_try_ms, up_since_ms, deadline_ms;
	uint32_t backoff_ms;
	bool was_up;
	bool refused;            /* this connection got UnsupportedVersion */
	uint8_t *out;
	size_t out_len;
	uint8_t *in;
	size_t in_len;
	/* counters */
	uint64_t connects, reconnects, failures, errors, unsupported, out_dropped;
	uint64_t msgs_in[6], msgs_out[6];
	char last_error[256];
} t = { .fd = -1 };

static void
tls_error(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[160] = "";

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	snprintf(t.last_error, sizeof(t.last_error), "%s%s%s", what, buf[0] ? ": " : "", buf);
}

int
mdd_tun_init(const struct mdd_cp_opts *o, char *err, size_t errlen)
{
	const char *colon;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	int r;

	if (o->kd == NULL)
		return 0;
	if (o->kd_cert == NULL || o->kd_key == NULL || o->kd_ca == NULL) {
		snprintf(err, errlen, "--kd needs --kd-cert FILE, --kd-key FILE and --kd-ca FILE "
			 "(the MDD's client certificate and key, the CA of the KD's certificate)");
		return -1;
	}
	colon = strrchr(o->kd, ':');
	if (colon == NULL || colon == o->kd || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= sizeof(t.port) || (size_t)(colon - o->kd) >= sizeof(t.host)) {
		snprintf(err, errlen, "--kd '%s' is not HOST:PORT (e.g. 127.0.0.1:4443)", o->kd);
		return -1;
	}
	snprintf(t.host, sizeof(t.host), "%.*s", (int)(colon - o->kd), o->kd);
	if (t.host[0] == '[' && t.host[strlen(t.host) - 1] == ']') {
		memmove(t.host, t.host + 1, strlen(t.host));
		t.host[strlen(t.host) - 1] = '\0';
	}
	snprintf(t.port, sizeof(t.port), "%s", colon + 1);
	r = getaddrinfo(t.host, t.port, &hints, &ai);
	if (r != 0 || ai == NULL) {
		snprintf(err, errlen, "--kd '%s': cannot resolve: %s", o->kd, gai_strerror(r));
		return -1;
	}
	memcpy(&t.sa, ai->ai_addr, ai->ai_addrlen);
	t.sa_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	t.ctx = SSL_CTX_new(TLS_client_method());
	if (t.ctx == NULL ||
	    SSL_CTX_set_min_proto_version(t.ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(t.ctx, TLS1_3_VERSION) != 1) {
		snprintf(err, errlen, "OpenSSL cannot make a TLS 1.3 client context");
		return -1;
	}
	if (SSL_CTX_use_certificate_chain_file(t.ctx, o->kd_cert) != 1) {
		snprintf(err, errlen, "--kd-cert %s: not a readable PEM certificate", o->kd_cert);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(t.ctx, o->kd_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(t.ctx) != 1) {
		snprintf(err, errlen, "--kd-key %s: not a readable PEM key of --kd-cert %s",
			 o->kd_key, o->kd_cert);
		return -1;
	}
	if (SSL_CTX_load_verify_locations(t.ctx, o->kd_ca, NULL) != 1) {
		snprintf(err, errlen, "--kd-ca %s: no readable PEM certificate in it", o->kd_ca);
		return -1;
	}
	ERR_clear_error();
	SSL_CTX_set_verify(t.ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(t.ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	t.out = malloc(TUN_OUT_MAX);
	t.in = malloc(TUN_IN_MAX);
	if (t.out == NULL || t.in == NULL) {
		snprintf(err, errlen, "out of memory for the tunnel buffers");
		return -1;
	}
	t.on = true;
	t.st = T_IDLE;
	t.next_try_ms = 0;
	return 0;
}

bool
mdd_tun_up(void)
{
	return t.st == T_UP;
}

static void
tun_close(void)
{
	if (t.ssl != NULL) {
		SSL_free(t.ssl);
		t.ssl = NULL;
	}
	if (t.fd >= 0)
		close(t.fd);
	t.fd = -1;
	/* DTLS in flight is stale for a new KD connection: endpoints retransmit */
	OPENSSL_cleanse(t.out, t.out_len);
	OPENSSL_cleanse(t.in, t.in_len);
	t.out_len = t.in_len = 0;
}

static void
tun_fail(const char *why)
{
	uint64_t now = mdd_now_ms();

	if (t.st == T_UP) {
		MDD_LOG(WARNING, TUNNEL, "KD tunnel %s:%s down: %s; reconnecting", t.host, t.port,
			why);
		/* a connection that lasted resets the backoff; one the KD drops at
		 * once (refused certificate) or refuses (UnsupportedVersion, however
		 * late it comes) keeps growing it */
		if (now - t.up_since_ms > 1000 && !t.refused)
			t.backoff_ms = 0;
	} else if (t.failures == 0 || t.backoff_ms >= MDD_BACKOFF_MAX_MS / 2) {
		/* the first failure and then every few seconds, not every try */
		MDD_LOG(WARNING, TUNNEL, "KD tunnel %s:%s: %s (retrying)", t.host, t.port, why);
	}
	t.failures++;
	tun_close();
	t.st = T_IDLE;
	t.backoff_ms = mdd_backoff_next(t.backoff_ms);
	t.next_try_ms = now + t.backoff_ms;
}

static int
queue(const struct perc_tun_msg *msg)
{
	int n;

	if (t.st != T_UP) {
		t.out_dropped++;
		return -1;
	}
	if (TUN_OUT_MAX - t.out_len < PERC_TUN_HDR + PERC_TUN_MAX_BODY) {
		t.out_dropped++;
		return -1;
	}
	n = perc_tun_encode(msg, t.out + t.out_len, TUN_OUT_MAX - t.out_len);
	if (n <= 0) {
		t.errors++;
		return -1;
	}
	t.out_len += (size_t)n;
	if (msg->type < 6)
		t.msgs_out[msg->type]++;
	return 0;
}

int
mdd_tun_send_dtls(const uint8_t uuid[16], const uint8_t *p, size_t len)
{
	struct perc_tun_msg msg = { .type = PERC_TUN_TUNNELED_DTLS };

	if (len == 0 || len > PERC_TUN_MAX_BODY - 18)
		return -1;
	memcpy(msg.uuid, uuid, 16);
	msg.dtls = p;
	msg.dtls_len = (uint16_t)len;
	return queue(&msg);
}

int
mdd_tun_send_disconnect(const uint8_t uuid[16])
{
	struct perc_tun_msg msg = { .type = PERC_TUN_ENDPOINT_DISCONNECT };

	memcpy(msg.uuid, uuid, 16);
	return queue(&msg);
}

static void
start_connect(void)
{
	int fd = socket(t.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	int idle = 10, intvl = 5, cnt = 3;

	if (fd < 0) {
		tun_fail(strerror(errno));
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* a KD host that vanishes without a reset is noticed in ~25 s even
	 * when the MDD has nothing to send */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	t.deadline_ms = mdd_now_ms() + TUN_SETUP_MS;
	t.fd = fd;
	if (connect(fd, (struct sockaddr *)&t.sa, t.sa_len) != 0 && errno != EINPROGRESS) {
		tun_fail(strerror(errno));
		return;
	}
	t.st = T_CONNECTING;
}

static void
start_tls(void)
{
	int e = 0;
	socklen_t el = sizeof(e);
	struct pollfd pf = { .fd = t.fd, .events = POLLOUT };

	if (poll(&pf, 1, 0) <= 0)
		return;
	if (getsockopt(t.fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0 || e != 0) {
		tun_fail(e ? strerror(e) : "connect failed");
		return;
	}
	t.ssl = SSL_new(t.ctx);
	if (t.ssl == NULL || SSL_set_fd(t.ssl, t.fd) != 1) {
		tls_error("SSL_new");
		tun_fail(t.last_error);
		return;
	}
	SSL_set_connect_state(t.ssl);
	{
		/* SNI when --kd names a host (not for an address literal) */
		struct in6_addr a6;

		if (inet_pton(AF_INET, t.host, &a6) != 1 && inet_pton(AF_INET6, t.host, &a6) != 1)
			SSL_set_tlsext_host_name(t.ssl, t.host);
	}
	t.st = T_HANDSHAKE;
}

static void
handshake(void)
{
	struct perc_tun_msg sp = { .type = PERC_TUN_SUPPORTED_PROFILES, .version = PERC_TUN_VERSION,
				   .n_profiles = 1, .profiles = { TUN_PROFILE_DOUBLE } };
	int r = SSL_do_handshake(t.ssl), e;

	if (r != 1) {
		e = SSL_get_error(t.ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return;
		if (SSL_get_verify_result(t.ssl) != X509_V_OK) {
			snprintf(t.last_error, sizeof(t.last_error),
				 "the KD's certificate does not verify against --kd-ca: %s",
				 X509_verify_cert_error_string(SSL_get_verify_result(t.ssl)));
			ERR_clear_error();
		} else {
			tls_error("TLS handshake failed");
		}
		t.errors++;
		tun_fail(t.last_error);
		return;
	}
	t.st = T_UP;
	t.refused = false;
	t.up_since_ms = mdd_now_ms();
	t.connects++;
	if (t.was_up)
		t.reconnects++;
	t.was_up = true;
	MDD_LOG(NOTICE, TUNNEL, "KD tunnel %s:%s up (%s)", t.host, t.port, SSL_get_version(t.ssl));
	/* always the first message (RFC 9185 §6) */
	queue(&sp);
}

static void
on_media_keys(struct mdd *m, struct perc_tun_msg *msg)
{
	struct mdd_leg *l = mdd_ice_leg_by_uuid(m, msg->uuid);
	struct mdd_keys k = {
		.rx_key = msg->client_key, .rx_salt = msg->client_salt,
		.tx_key = msg->server_key, .tx_salt = msg->server_salt,
		.key_len = msg->client_key_len, .salt_len = msg->client_salt_len,
	};
	bool first;

	if (l == NULL) {
		g_cp.c[MDD_CP_dtls_unknown_uuid]++;
		return;
	}
	first = l->rx == NULL;
	if (msg->profile != TUN_PROFILE_DOUBLE || msg->client_key_len != 16 ||
	    msg->server_key_len != 16 || msg->client_salt_len != 12 ||
	    msg->server_salt_len != 12 || mdd_leg_set_keys(m, l, &k) != 0) {
		g_cp.c[MDD_CP_keys_refused]++;
		/* the KD could send these at message rate: the first of each
		 * summary period is told (lengths only, never the bytes) */
		if (mdd_log_first(MDD_CP_keys_refused))
			MDD_LOG(WARNING, TUNNEL, "MediaKeys for %s/%s refused: profile 0x%04x with "
				"key/salt lengths %u/%u %u/%u (want 0x0009, 16/16 12/12); more in "
				"the keys_refused summary", l->conf->id, l->id, msg->profile,
				msg->client_key_len, msg->server_key_len, msg->client_salt_len,
				msg->server_salt_len);
		return;
	}
	g_cp.c[MDD_CP_keys_installed]++;
	l->media_ms = mdd_now_ms();
	l->media_seen = __atomic_load_n(&l->pkts_in, __ATOMIC_RELAXED);
	l->media_timed_out = false;
	MDD_LOG(INFO, TUNNEL, "keys installed for %s/%s%s", l->conf->id, l->id,
		first ? "" : " (rekey)");
}

static void
on_message(struct mdd *m, const uint8_t *p, size_t len)
{
	struct perc_tun_msg msg;
	struct mdd_leg *l;
	int r = perc_tun_decode(p, len, &msg);

	if (r != PERC_R_OK) {
		t.errors++;
		g_cp.c[MDD_CP_tun_undecodable]++;
		if (mdd_log_first(MDD_CP_tun_undecodable))
			MDD_LOG(WARNING, TUNNEL, "KD tunnel: undecodable message of type %u (%s): "
				"dropped; more in the tun_undecodable summary", p[0],
				perc_reason_name(r));
		return;
	}
	if (msg.type < 6)
		t.msgs_in[msg.type]++;
	switch (msg.type) {
	case PERC_TUN_MEDIA_KEYS:
		on_media_keys(m, &msg);
		break;
	case PERC_TUN_TUNNELED_DTLS:
		l = mdd_ice_leg_by_uuid(m, msg.uuid);
		if (l == NULL)
			g_cp.c[MDD_CP_dtls_unknown_uuid]++;
		else if (mdd_ice_send(m, l, msg.dtls, msg.dtls_len) == 0)
			g_cp.c[MDD_CP_dtls_to_endpoint]++;
		else
			g_cp.c[MDD_CP_dtls_no_room]++;
		break;
	case PERC_TUN_UNSUPPORTED_VERSION:
		t.unsupported++;
		t.refused = true;
		snprintf(t.last_error, sizeof(t.last_error),
			 "the KD does not speak tunnel version %u (its highest: %u)",
			 PERC_TUN_VERSION, msg.version);
		t.st = T_UP;
		tun_fail(t.last_error);
		break;
	default:
		/* SupportedProfiles and EndpointDisconnect go MDD -> KD only */
		t.errors++;
		break;
	}
	OPENSSL_cleanse(&msg, sizeof(msg));
}

static void
io(struct mdd *m)
{
	/* write what is queued */
	while (t.out_len > 0) {
		int n = SSL_write(t.ssl, t.out, (int)(t.out_len > 1 << 30 ? 1 << 30 : t.out_len)), e;

		if (n > 0) {
			memmove(t.out, t.out + n, t.out_len - (size_t)n);
			t.out_len -= (size_t)n;
			continue;
		}
		e = SSL_get_error(t.ssl, n);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
			break;
		tls_error("write");
		tun_fail(t.last_error);
		return;
	}
	/* read and handle whole messages */
	for (;;) {
		int n = SSL_read(t.ssl, t.in + t.in_len, (int)(TUN_IN_MAX - t.in_len)), e;
		size_t off = 0, f;

		if (n <= 0) {
			e = SSL_get_error(t.ssl, n);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return;
			if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && n == 0))
				snprintf(t.last_error, sizeof(t.last_error), "the KD closed the tunnel");
			else
				tls_error("read");
			tun_fail(t.last_error);
			return;
		}
		t.in_len += (size_t)n;
		while ((f = perc_tun_frame(t.in + off, t.in_len - off)) > 0) {
			on_message(m, t.in + off, f);
			if (t.st != T_UP)
				return;
			off += f;
		}
		memmove(t.in, t.in + off, t.in_len - off);
		OPENSSL_cleanse(t.in + t.in_len - off, off);
		t.in_len -= off;
	}
}

void
mdd_tun_poll(struct mdd *m)
{
	if (!t.on)
		return;
	if ((t.st == T_CONNECTING || t.st == T_HANDSHAKE) && mdd_now_ms() > t.deadline_ms) {
		snprintf(t.last_error, sizeof(t.last_error), "no %s within %u ms",
			 t.st == T_CONNECTING ? "TCP connection" : "TLS handshake", TUN_SETUP_MS);
		tun_fail(t.last_error);
		return;
	}
	switch (t.st) {
	case T_IDLE:
		if (mdd_now_ms() >= t.next_try_ms)
			start_connect();
		break;
	case T_CONNECTING:
		start_tls();
		break;
	case T_HANDSHAKE:
		handshake();
		if (t.st == T_UP)
			io(m);
		break;
	case T_UP:
		io(m);
		break;
	}
}

void
mdd_tun_fini(void)
{
	if (!t.on)
		return;
	if (t.ssl != NULL && t.st == T_UP)
		SSL_shutdown(t.ssl);
	tun_close();
	SSL_CTX_free(t.ctx);
	free(t.out);
	free(t.in);
	t.on = false;
}

json_t *
mdd_tun_stats(void)
{
	json_t *o = json_object(), *in = json_object(), *out = json_object();

	json_object_set_new(o, "configured", json_boolean(t.on));
	if (t.on)
		json_object_set_new(o, "kd", json_sprintf("%s:%s", t.host, t.port));
	json_object_set_new(o, "connected", json_boolean(t.st == T_UP));
	json_object_set_new(o, "connects", json_integer((json_int_t)t.connects));
	json_object_set_new(o, "reconnects", json_integer((json_int_t)t.reconnects));
	json_object_set_new(o, "failures", json_integer((json_int_t)t.failures));
	json_object_set_new(o, "errors", json_integer((json_int_t)t.errors));
	json_object_set_new(o, "unsupported_version", json_integer((json_int_t)t.unsupported));
	json_object_set_new(o, "dropped_unsent", json_integer((json_int_t)t.out_dropped));
	json_object_set_new(o, "backoff_ms", json_integer(t.backoff_ms));
	json_object_set_new(o, "last_error", json_string(t.last_error));
	for (unsigned i = 1; i < 6; i++) {
		json_object_set_new(in, type_names[i], json_integer((json_int_t)t.msgs_in[i]));
		json_object_set_new(out, type_names[i], json_integer((json_int_t)t.msgs_out[i]));
	}
	json_object_set_new(o, "messages_in", in);
	json_object_set_new(o, "messages_out", out);
	return o;
}
