/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-kd: the TLS 1.3 listener for MDD tunnels (RFC 9185). Each tunnel is a
 * mutually authenticated TLS connection carrying type(1) ‖ length(2) ‖ body
 * messages as a byte stream. A malformed message closes that tunnel only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "perc/reason.h"
#include "perc/tunnel.h"
#include "net.h"

#define TUN_IN_CAP (PERC_TUN_HDR + PERC_TUN_MAX_BODY)

uint64_t
kd_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The first OpenSSL error, as text, or what is given. */
static const char *
ssl_err_text(char *buf, size_t cap, const char *dflt)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		return dflt;
	ERR_error_string_n(e, buf, cap);
	ERR_clear_error();
	return buf;
}

int
kd_net_ctx_init(struct kd_net *n, const char *cert, const char *key, const char *mdd_ca)
{
	char eb[256];

	n->tls = SSL_CTX_new(TLS_server_method());
	n->dtls = SSL_CTX_new(DTLS_server_method());
	if (n->tls == NULL || n->dtls == NULL) {
		kd_log("cannot create TLS/DTLS contexts: %s", ssl_err_text(eb, sizeof(eb), "?"));
		return -1;
	}
	if (SSL_CTX_use_certificate_chain_file(n->tls, cert) != 1 ||
	    SSL_CTX_use_certificate_chain_file(n->dtls, cert) != 1) {
		kd_log("cannot load --cert %s: %s; give a PEM certificate", cert,
		       ssl_err_text(eb, sizeof(eb), "?"));
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(n->tls, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(n->dtls, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(n->tls) != 1) {
		kd_log("cannot load --key %s or it does not match --cert %s: %s", key, cert,
		       ssl_err_text(eb, sizeof(eb), "?"));
		return -1;
	}
	/* tunnel: TLS 1.3 only, MDDs authenticated against --mdd-ca */
	SSL_CTX_set_min_proto_version(n->tls, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(n->tls, TLS1_3_VERSION);
	if (SSL_CTX_load_verify_locations(n->tls, mdd_ca, NULL) != 1) {
		kd_log("cannot load --mdd-ca %s: %s; give a PEM bundle of MDD (CA) certificates",
		       mdd_ca, ssl_err_text(eb, sizeof(eb), "?"));
		return -1;
	}
	SSL_CTX_set_verify(n->tls, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_mode(n->tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_num_tickets(n->tls, 0);
	SSL_CTX_set_session_cache_mode(n->tls, SSL_SESS_CACHE_OFF);
	return kd_dtls_ctx_setup(n->dtls);
}

int
kd_net_listen(struct kd_net *n, const char *addr)
{
	struct sockaddr_in sa;
	char host[64];
	const char *colon = strrchr(addr, ':');
	long port;
	char *end;
	int fd, one = 1;
	struct epoll_event ev;

	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host)) {
		kd_log("--listen %s: give ADDR:PORT, e.g. 127.0.0.1:4443", addr);
		return -1;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	port = strtol(colon + 1, &end, 10);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (*end != '\0' || port < 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		kd_log("--listen %s: give an IPv4 ADDR:PORT, e.g. 127.0.0.1:4443", addr);
		return -1;
	}
	sa.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 64) != 0) {
		kd_log("cannot listen on %s: %s; pick a free port with --listen", addr,
		       strerror(errno));
		close(fd);
		return -1;
	}
	n->listen.kind = KD_FD_LISTEN;
	n->listen.fd = fd;
	ev.events = EPOLLIN;
	ev.data.ptr = &n->listen;
	if (epoll_ctl(n->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		close(fd);
		return -1;
	}
	kd_log("listening for MDD tunnels on %s (TLS 1.3, mutual authentication)", addr);
	return 0;
}

static void
tun_epoll(struct kd_net *n, struct kd_tunnel *t, bool want_out)
{
	struct epoll_event ev;

	if (t->epollout == want_out)
		return;
	ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0);
	ev.data.ptr = &t->f;
	if (epoll_ctl(n->epfd, EPOLL_CTL_MOD, t->f.fd, &ev) == 0)
		t->epollout = want_out;
}

void
kd_net_accept(struct kd_net *n)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct epoll_event ev;
	struct kd_tunnel *t;
	char ip[INET_ADDRSTRLEN];
	int fd, one = 1;

	for (;;) {
		fd = accept4(n->listen.fd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		t = calloc(1, sizeof(*t));
		if (t != NULL) {
			t->in_cap = TUN_IN_CAP;
			t->in = malloc(t->in_cap);
			t->ssl = SSL_new(n->tls);
		}
		if (t == NULL || t->in == NULL || t->ssl == NULL || SSL_set_fd(t->ssl, fd) != 1) {
			kd_log("out of memory accepting a tunnel: refused");
			if (t != NULL) {
				SSL_free(t->ssl);
				free(t->in);
				free(t);
			}
			close(fd);
			continue;
		}
		SSL_set_accept_state(t->ssl);
		t->f.kind = KD_FD_TUNNEL;
		t->f.fd = fd;
		t->id = ++n->next_tunnel_id;
		inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
		snprintf(t->peer, sizeof(t->peer), "%s:%u", ip, ntohs(sa.sin_port));
		ev.events = EPOLLIN;
		ev.data.ptr = &t->f;
		if (epoll_ctl(n->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			SSL_free(t->ssl);
			free(t->in);
			free(t);
			close(fd);
			continue;
		}
		t->next = n->tunnels;
		n->tunnels = t;
		n->kd->stats.tunnels_accepted++;
		kd_live.tunnels++;
		kd_log("tunnel %u: connection from %s", t->id, t->peer);
	}
}

static void
tun_fail(struct kd_net *n, struct kd_tunnel *t, enum kd_drop d, const char *why)
{
	if (t->dead)
		return;
	n->kd->stats.drops[d]++;
	kd_log("tunnel %u (%s): %s; closing this tunnel", t->id, t->peer, why);
	kd_event(n->kd, "tunnel_closed", NULL, NULL, -1, NULL, -1, why);
	t->dead = true;
}

void
kd_tunnel_flush(struct kd_net *n, struct kd_tunnel *t)
{
	char eb[256];
	int w, err;

	while (t->out_len > 0 && !t->dead) {
		ERR_clear_error();
		w = SSL_write(t->ssl, t->out, (int)(t->out_len > 65536 ? 65536 : t->out_len));
		if (w <= 0) {
			err = SSL_get_error(t->ssl, w);
			if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
				tun_epoll(n, t, true);
				return;
			}
			tun_fail(n, t, KD_D_TUNNEL_TLS, ssl_err_text(eb, sizeof(eb), "write failed"));
			return;
		}
		/* MediaKeys went through this buffer: wipe what was sent */
		memmove(t->out, t->out + w, t->out_len - (size_t)w);
		OPENSSL_cleanse(t->out + t->out_len - w, (size_t)w);
		t->out_len -= (size_t)w;
	}
	tun_epoll(n, t, false);
	if (t->out_len == 0 && t->closing)
		t->dead = true;
}

void
kd_tunnel_send(struct kd_net *n, struct kd_tunnel *t, const struct perc_tun_msg *m)
{
	size_t need = PERC_TUN_HDR + 20 + 4 * 256 + 300 + (m->type == PERC_TUN_TUNNELED_DTLS ? m->dtls_len : 0);
	uint8_t *nb;
	int len;

	if (t->dead || t->state == KD_T_HANDSHAKE)
		return;
	if (t->out_cap - t->out_len < need) {
		if (t->out_len + need > KD_TUN_OUT_MAX) {
			tun_fail(n, t, KD_D_TUNNEL_TLS, "the MDD does not read its tunnel (4 MiB queued)");
			return;
		}
		nb = malloc(t->out_len + need + 65536);
		if (nb == NULL) {
			tun_fail(n, t, KD_D_TUNNEL_TLS, "out of memory queueing a message");
			return;
		}
		if (t->out_len > 0)
			memcpy(nb, t->out, t->out_len);
		if (t->out != NULL)
			OPENSSL_cleanse(t->out, t->out_cap);
		free(t->out);
		t->out = nb;
		t->out_cap = t->out_len + need + 65536;
	}
	len = perc_tun_encode(m, t->out + t->out_len, t->out_cap - t->out_len);
	if (len < 0) {
		kd_log("tunnel %u: cannot encode message type %u: %s (bug)", t->id, m->type,
		       perc_reason_name((unsigned int)-len));
		return;
	}
	t->out_len += (size_t)len;
	kd_tunnel_flush(n, t);
}

static bool
has_double(const struct perc_tun_msg *m)
{
	uint16_t i;

	for (i = 0; i < m->n_profiles; i++)
		if (m->profiles[i] == 0x0009)
			return true;
	return false;
}

static void
tun_profiles(struct kd_net *n, struct kd_tunnel *t, const struct perc_tun_msg *m)
{
	struct perc_tun_msg r;
	char why[160];

	if (m->type != PERC_TUN_SUPPORTED_PROFILES) {
		snprintf(why, sizeof(why), "first message is type %u, not SupportedProfiles (1)",
			 m->type);
		tun_fail(n, t, KD_D_TUNNEL_MALFORMED, why);
		return;
	}
	if (m->version != PERC_TUN_VERSION) {
		n->kd->stats.drops[KD_D_TUNNEL_VERSION]++;
		kd_log("tunnel %u (%s): SupportedProfiles version %u, this KD speaks %u: "
		       "answered UnsupportedVersion, closing", t->id, t->peer, m->version,
		       PERC_TUN_VERSION);
		memset(&r, 0, sizeof(r));
		r.type = PERC_TUN_UNSUPPORTED_VERSION;
		r.version = PERC_TUN_VERSION;
		t->state = KD_T_READY;     /* allow the send */
		kd_tunnel_send(n, t, &r);
		t->closing = true;
		if (t->out_len == 0)
			t->dead = true;
		return;
	}
	if (!has_double(m)) {
		tun_fail(n, t, KD_D_TUNNEL_PROFILE, "SupportedProfiles lacks 0x0009 "
			 "(DOUBLE_AEAD_AES_128_GCM_AEAD_AES_128_GCM); configure the MDD for PERC");
		return;
	}
	t->state = KD_T_READY;
	kd_log("tunnel %u (%s): ready, %u profile(s) offered", t->id, t->peer, m->n_profiles);
}

static void
tun_message(struct kd_net *n, struct kd_tunnel *t, const uint8_t *p, size_t len)
{
	struct perc_tun_msg m;
	char why[160];
	int rc;

	rc = perc_tun_decode(p, len, &m);
	if (rc != PERC_R_OK) {
		snprintf(why, sizeof(why), "malformed message (type %u, %zu bytes): %s",
			 p[0], len, perc_reason_desc((unsigned int)rc));
		tun_fail(n, t, KD_D_TUNNEL_MALFORMED, why);
		return;
	}
	if (t->state == KD_T_PROFILES) {
		tun_profiles(n, t, &m);
		return;
	}
	switch (m.type) {
	case PERC_TUN_TUNNELED_DTLS:
		kd_assoc_input(n, t, m.uuid, m.dtls, m.dtls_len);
		break;
	case PERC_TUN_ENDPOINT_DISCONNECT:
		kd_assoc_disconnect(n, t, m.uuid);
		break;
	default:
		snprintf(why, sizeof(why), "unexpected message type %u from an MDD", m.type);
		tun_fail(n, t, KD_D_TUNNEL_MALFORMED, why);
	}
}

static void
tun_handshake(struct kd_net *n, struct kd_tunnel *t)
{
	char eb[256], why[400], subj[128] = "?";
	X509 *peer;
	long vr;
	int r, err;

	ERR_clear_error();
	r = SSL_do_handshake(t->ssl);
	if (r == 1) {
		t->state = KD_T_PROFILES;
		peer = SSL_get0_peer_certificate(t->ssl);
		if (peer != NULL)
			X509_NAME_oneline(X509_get_subject_name(peer), subj, sizeof(subj));
		kd_log("tunnel %u (%s): TLS 1.3 up, MDD %s", t->id, t->peer, subj);
		kd_event(n->kd, "tunnel_open", NULL, NULL, -1, NULL, -1, NULL);
		return;
	}
	err = SSL_get_error(t->ssl, r);
	if (err == SSL_ERROR_WANT_READ) {
		tun_epoll(n, t, false);
		return;
	}
	if (err == SSL_ERROR_WANT_WRITE) {
		tun_epoll(n, t, true);
		return;
	}
	vr = SSL_get_verify_result(t->ssl);
	snprintf(why, sizeof(why), "TLS handshake failed: %s%s%s",
		 ssl_err_text(eb, sizeof(eb), "connection closed"),
		 vr != X509_V_OK ? "; MDD certificate: " : "",
		 vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "");
	if (vr != X509_V_OK)
		strncat(why, " (add it or its CA to --mdd-ca)", sizeof(why) - strlen(why) - 1);
	tun_fail(n, t, KD_D_TUNNEL_TLS, why);
}

static void
tun_read(struct kd_net *n, struct kd_tunnel *t)
{
	char eb[256];
	size_t fl, off;
	int r, err;

	while (!t->dead) {
		if (t->in_len == t->in_cap) {
			/* cannot happen: a whole frame always fits */
			tun_fail(n, t, KD_D_TUNNEL_MALFORMED, "input buffer full");
			return;
		}
		ERR_clear_error();
		r = SSL_read(t->ssl, t->in + t->in_len, (int)(t->in_cap - t->in_len));
		if (r <= 0) {
			err = SSL_get_error(t->ssl, r);
			if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
				return;
			if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL) {
				kd_log("tunnel %u (%s): closed by the MDD", t->id, t->peer);
				kd_event(n->kd, "tunnel_closed", NULL, NULL, -1, NULL, -1, "closed by the MDD");
				t->dead = true;
				return;
			}
			tun_fail(n, t, KD_D_TUNNEL_TLS, ssl_err_text(eb, sizeof(eb), "TLS read failed"));
			return;
		}
		t->in_len += (size_t)r;
		off = 0;
		while (!t->dead && !t->closing &&
		       (fl = perc_tun_frame(t->in + off, t->in_len - off)) > 0) {
			tun_message(n, t, t->in + off, fl);
			off += fl;
		}
		if (t->closing)
			return;      /* nothing more is read from a tunnel on its way out */
		memmove(t->in, t->in + off, t->in_len - off);
		t->in_len -= off;
	}
}

void
kd_tunnel_event(struct kd_net *n, struct kd_tunnel *t, uint32_t events)
{
	if (t->dead)
		return;
	if (t->state == KD_T_HANDSHAKE) {
		tun_handshake(n, t);
		if (t->state == KD_T_HANDSHAKE || t->dead)
			return;
	}
	if (events & EPOLLOUT)
		kd_tunnel_flush(n, t);
	if (!t->closing)
		tun_read(n, t);
	if ((events & (EPOLLHUP | EPOLLERR)) && !t->dead) {
		kd_log("tunnel %u (%s): connection lost", t->id, t->peer);
		t->dead = true;
	}
}

static void
tunnel_destroy(struct kd_net *n, struct kd_tunnel *t)
{
	struct kd_assoc *a;

	/* the endpoints behind it are gone for us: leave rekeys for the rest */
	for (a = t->assocs; a != NULL; a = a->next)
		kd_assoc_kill(n, a, "tunnel closed");
	while ((a = t->assocs) != NULL) {
		t->assocs = a->next;
		kd_assoc_free(a);
	}
	epoll_ctl(n->epfd, EPOLL_CTL_DEL, t->f.fd, NULL);
	if (t->state != KD_T_HANDSHAKE)
		SSL_shutdown(t->ssl);
	SSL_free(t->ssl);
	close(t->f.fd);
	if (t->out != NULL)
		OPENSSL_cleanse(t->out, t->out_cap);
	free(t->out);
	free(t->in);
	kd_live.tunnels--;
	kd_log("tunnel %u (%s): closed", t->id, t->peer);
	free(t);
}

void
kd_net_reap(struct kd_net *n)
{
	struct kd_tunnel **tp, *t;
	struct kd_assoc **ap, *a;

	for (tp = &n->tunnels; (t = *tp) != NULL;) {
		if (t->dead) {
			*tp = t->next;
			tunnel_destroy(n, t);
			continue;
		}
		for (ap = &t->assocs; (a = *ap) != NULL;) {
			if (a->state == KD_A_DEAD) {
				*ap = a->next;
				t->n_assocs--;
				kd_assoc_free(a);
			} else {
				ap = &a->next;
			}
		}
		tp = &t->next;
	}
}

void
kd_net_fini(struct kd_net *n)
{
	struct kd_tunnel *t;

	for (t = n->tunnels; t != NULL; t = t->next)
		t->dead = true;
	kd_net_reap(n);
	if (n->listen.fd > 0)
		close(n->listen.fd);
	SSL_CTX_free(n->tls);
	SSL_CTX_free(n->dtls);
}
