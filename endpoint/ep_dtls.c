/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DTLS 1.2 client to the Key Distributor through the MDD, and the
 * endpoint <-> KD messages of perc/kdproto.h.
 *
 * The UDP socket carries STUN and SRTP too, so OpenSSL gets a memory BIO to
 * read from (one datagram fed at a time) and a small BIO of our own to
 * write through: each write of the record layer is one datagram.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "ep_internal.h"

#define EP_DTLS_MTU 1200
#define EP_MAX_REJOINS 5u

static int ep_ssl_idx = -1;

static struct perc_ep *
ep_of(SSL *s)
{
	return SSL_get_ex_data(s, ep_ssl_idx);
}

/* ---- write BIO: one write = one datagram to the MDD ---- */
static int
dgram_write(BIO *b, const char *data, int len)
{
	struct perc_ep *ep = BIO_get_data(b);

	ep_send(ep, (const uint8_t *)data, (size_t)len);
	return len;
}

static long
dgram_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_DGRAM_QUERY_MTU:
	case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
		return EP_DTLS_MTU;
	case BIO_CTRL_WPENDING:
	case BIO_CTRL_PENDING:
		return 0;
	default:
		return 0;
	}
}

static int
dgram_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *dgram_meth;

static BIO_METHOD *
dgram_method(void)
{
	if (dgram_meth == NULL) {
		dgram_meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "perc-ep-udp");
		if (dgram_meth == NULL)
			return NULL;
		BIO_meth_set_write(dgram_meth, dgram_write);
		BIO_meth_set_ctrl(dgram_meth, dgram_ctrl);
		BIO_meth_set_create(dgram_meth, dgram_create);
	}
	return dgram_meth;
}

/* ---- custom extensions (kdproto.h) ---- */
static int
ext_add(SSL *s, unsigned int type, unsigned int ctx, const unsigned char **out, size_t *outlen,
	X509 *x, size_t chainidx, int *al, void *arg)
{
	static const uint8_t ekt[] = { 1, 1 };              /* len 1, aeskw_128 */
	static const uint8_t dbl[] = { 0, 2, 0x00, 0x09 };  /* len 2, 0x0009 */
	struct perc_ep *ep = ep_of(s);
	uint8_t *b;

	(void)ctx;
	(void)x;
	(void)chainidx;
	(void)al;
	(void)arg;
	switch (type) {
	case PERC_EXT_EKT_CIPHERS:
		*out = ekt;
		*outlen = sizeof(ekt);
		return 1;
	case PERC_EXT_DOUBLE_SRTP:
		*out = dbl;
		*outlen = sizeof(dbl);
		return 1;
	case PERC_EXT_EXTERNAL_SESSION_ID:
		b = OPENSSL_malloc(1 + ep->tls_id_len);
		if (b == NULL)
			return -1;
		b[0] = (uint8_t)ep->tls_id_len;
		memcpy(b + 1, ep->tls_id, ep->tls_id_len);
		*out = b;
		*outlen = 1 + ep->tls_id_len;
		return 1;
	default:
		return 0;
	}
}

static void
ext_free(SSL *s, unsigned int type, unsigned int ctx, const unsigned char *out, void *arg)
{
	(void)s;
	(void)ctx;
	(void)arg;
	if (type == PERC_EXT_EXTERNAL_SESSION_ID)
		OPENSSL_free((void *)out);
}

static int
ext_parse(SSL *s, unsigned int type, unsigned int ctx, const unsigned char *in, size_t inlen,
	  X509 *x, size_t chainidx, int *al, void *arg)
{
	struct perc_ep *ep = ep_of(s);

	(void)ctx;
	(void)x;
	(void)chainidx;
	(void)arg;
	*al = SSL_AD_DECODE_ERROR;
	switch (type) {
	case PERC_EXT_EKT_CIPHERS:
		if (inlen != 1 || in[0] != 1)
			return 0; /* we offered aeskw_128 only */
		ep->ekt_answered = true;
		ep->ekt_cipher = in[0];
		return 1;
	case PERC_EXT_DOUBLE_SRTP:
		if (inlen != 2)
			return 0;
		ep->dbl_answered = true;
		ep->dbl_profile = (uint16_t)(in[0] << 8 | in[1]);
		return 1;
	case PERC_EXT_EXTERNAL_SESSION_ID:
		if (inlen < 1 || in[0] != inlen - 1 || inlen - 1 != ep->tls_id_len ||
		    memcmp(in + 1, ep->tls_id, ep->tls_id_len) != 0)
			return 0; /* the server must echo our id */
		ep->tlsid_answered = true;
		return 1;
	default:
		return 1;
	}
}

static int
verify_any(int ok, X509_STORE_CTX *c)
{
	(void)ok;
	(void)c;
	/* self-signed certificates: the pinned fingerprint decides, after the
	 * handshake, before anything is sent */
	return 1;
}

int
ep_parse_fingerprint(const char *s, uint8_t out[32])
{
	unsigned n = 0;

	if (strncasecmp(s, "sha-256", 7) != 0)
		return -1;
	s += 7;
	while (*s == ' ')
		s++;
	while (n < 32) {
		unsigned v;

		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]) ||
		    sscanf(s, "%2x", &v) != 1)
			return -1;
		out[n++] = (uint8_t)v;
		s += 2;
		if (n < 32) {
			if (*s != ':')
				return -1;
			s++;
		}
	}
	return *s == '\0' ? 0 : -1;
}

static void
fp_text(const uint8_t *d, char *out)
{
	char *p = out + sprintf(out, "sha-256 ");

	for (unsigned i = 0; i < 32; i++)
		p += sprintf(p, i ? ":%02X" : "%02X", d[i]);
}

int
ep_dtls_ctx(struct perc_ep *ep, char *err, size_t errlen)
{
	static const unsigned int ctxf = SSL_EXT_CLIENT_HELLO | SSL_EXT_TLS1_2_SERVER_HELLO;
	static const unsigned int exts[] = { PERC_EXT_EKT_CIPHERS, PERC_EXT_EXTERNAL_SESSION_ID,
					     PERC_EXT_DOUBLE_SRTP };
	unsigned long e;

	if (ep_ssl_idx < 0)
		ep_ssl_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	ep->ctx = SSL_CTX_new(DTLS_client_method());
	if (ep->ctx == NULL || dgram_method() == NULL)
		goto ssl_err;
	SSL_CTX_set_min_proto_version(ep->ctx, DTLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ep->ctx, DTLS1_2_VERSION);
	if (SSL_CTX_use_certificate_file(ep->ctx, ep->cfg.cert_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ep->ctx, ep->cfg.key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ep->ctx) != 1) {
		e = ERR_get_error();
		snprintf(err, errlen, "%s: cannot load certificate '%s' / key '%s': %s "
			 "(PEM files of one P-256 key pair are needed)", ep->s_id,
			 ep->cfg.cert_file, ep->cfg.key_file,
			 e ? ERR_reason_error_string(e) : "unreadable");
		ERR_clear_error();
		return -1;
	}
	/* use_srtp names the outer transform; the double profile rides in
	 * PERC_EXT_DOUBLE_SRTP (kdproto.h) */
	if (SSL_CTX_set_tlsext_use_srtp(ep->ctx, "SRTP_AEAD_AES_128_GCM") != 0)
		goto ssl_err;
	SSL_CTX_set_verify(ep->ctx, SSL_VERIFY_PEER, verify_any);
	for (unsigned i = 0; i < 3; i++)
		if (SSL_CTX_add_custom_ext(ep->ctx, exts[i], ctxf, ext_add, ext_free, NULL,
					   ext_parse, NULL) != 1)
			goto ssl_err;
	return 0;
ssl_err:
	e = ERR_get_error();
	snprintf(err, errlen, "%s: OpenSSL DTLS setup failed: %s", ep->s_id,
		 e ? ERR_reason_error_string(e) : "unknown");
	ERR_clear_error();
	return -1;
}

void
ep_dtls_close(struct perc_ep *ep)
{
	if (ep->ssl != NULL && ep->hs_done) {
		SSL_shutdown(ep->ssl); /* close_notify through our write BIO */
		ERR_clear_error();
	}
}

void
ep_dtls_free(struct perc_ep *ep)
{
	if (ep->ssl != NULL)
		SSL_free(ep->ssl); /* frees both BIOs */
	ep->ssl = NULL;
	if (ep->ctx != NULL)
		SSL_CTX_free(ep->ctx);
	ep->ctx = NULL;
}

static void
ssl_fail(struct perc_ep *ep, const char *what)
{
	unsigned long e = ERR_get_error();

	ep_fail(ep, "DTLS %s failed: %s", what, e ? ERR_reason_error_string(e) :
		"peer closed or protocol error (see the KD log)");
	ERR_clear_error();
}

static void handshake_done(struct perc_ep *ep);
static void rejoin(struct perc_ep *ep, const char *why);
static void kd_handle(struct perc_ep *ep, const struct perc_kd_msg *m);

static void
drive(struct perc_ep *ep)
{
	int r;

	if (!ep->hs_done) {
		r = SSL_do_handshake(ep->ssl);
		if (r == 1) {
			ep->hs_done = true;
			handshake_done(ep);
		} else {
			int e = SSL_get_error(ep->ssl, r);

			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				ssl_fail(ep, "handshake");
			return;
		}
	}
	for (;;) {
		uint8_t buf[PERC_KD_MAX_MSG];
		struct perc_kd_msg m;
		int e;

		if (ep->state == PERC_EP_FAILED)
			return;
		r = SSL_read(ep->ssl, buf, sizeof(buf));
		if (r <= 0) {
			e = SSL_get_error(ep->ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				return;
			if (ep->state == PERC_EP_LEFT)
				return; /* the KD may close after our BYE */
			if (ep->state == PERC_EP_JOINED) {
				ERR_clear_error();
				rejoin(ep, e == SSL_ERROR_ZERO_RETURN ? "the KD closed it" :
				       "DTLS read error");
				return;
			}
			if (e == SSL_ERROR_ZERO_RETURN)
				ep_fail(ep, "the KD closed the DTLS association before sending a key");
			else
				ssl_fail(ep, "read");
			return;
		}
		e = perc_kd_decode(buf, (size_t)r, &m);
		OPENSSL_cleanse(buf, (size_t)r);
		if (e != PERC_R_OK) {
			ep_log(ep, PERC_EP_LOG_WARN, "KD message refused: %s", perc_reason_desc(e));
			continue;
		}
		kd_handle(ep, &m);
		OPENSSL_cleanse(&m, sizeof(m));
	}
}

void
ep_dtls_start(struct perc_ep *ep)
{
	BIO *wb;

	ep->ssl = SSL_new(ep->ctx);
	ep->rbio = BIO_new(BIO_s_mem());
	wb = BIO_new(dgram_method());
	if (ep->ssl == NULL || ep->rbio == NULL || wb == NULL) {
		BIO_free(ep->rbio);
		BIO_free(wb);
		ep_fail(ep, "out of memory for the DTLS association");
		return;
	}
	BIO_set_data(wb, ep);
	BIO_set_mem_eof_return(ep->rbio, -1);
	SSL_set_ex_data(ep->ssl, ep_ssl_idx, ep);
	SSL_set_bio(ep->ssl, ep->rbio, wb);
	SSL_set_options(ep->ssl, SSL_OP_NO_QUERY_MTU);
	SSL_set_mtu(ep->ssl, EP_DTLS_MTU);
	DTLS_set_link_mtu(ep->ssl, EP_DTLS_MTU + 28);
	SSL_set_connect_state(ep->ssl);
	ep->hs_deadline = ep_mono_ms() + ep->cfg.dtls_timeout_ms;
	ep->kd_last_rx = ep_mono_ms();
	drive(ep);
}

/* The KD went silent or closed the association while we were a member
 * (a KD restart): a new handshake on the same ICE path. The keys held stay
 * in use until the new association brings new ones. */
static void
rejoin(struct perc_ep *ep, const char *why)
{
	if (ep->rejoins >= EP_MAX_REJOINS) {
		ep_fail(ep, "lost the KD association %u times (last: %s); giving up", ep->rejoins,
			why);
		return;
	}
	ep->rejoins++;
	ep->st.kd_rejoins++;
	ep_log(ep, PERC_EP_LOG_WARN, "KD association lost (%s): new DTLS handshake; media goes "
	       "on with the keys held", why);
	SSL_free(ep->ssl);
	ep->ssl = NULL;
	ep->rbio = NULL;
	ep->hs_done = false;
	ep->dbl_answered = ep->ekt_answered = ep->tlsid_answered = false;
	ep->ka_acked = false;
	ep->rejoining = true;
	ep_dtls_start(ep);
}

void
ep_dtls_input(struct perc_ep *ep, const uint8_t *p, size_t n)
{
	if (ep->ssl == NULL)
		return;
	BIO_write(ep->rbio, p, (int)n);
	drive(ep);
}

uint64_t
ep_dtls_next(const struct perc_ep *ep, uint64_t now)
{
	struct timeval tv;

	if (ep->ssl == NULL || ep->hs_done || DTLSv1_get_timeout(ep->ssl, &tv) != 1)
		return 0;
	return now + (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

void
ep_dtls_timer(struct perc_ep *ep, uint64_t now)
{
	struct timeval tv;

	if (ep->ssl == NULL || ep->state == PERC_EP_FAILED)
		return;
	if (!ep->hs_done) {
		if (now >= ep->hs_deadline) {
			ep_fail(ep, "DTLS handshake with the KD did not complete within %u ms (is "
				"perc-kd running and perc-mdd's tunnel to it up?)",
				ep->cfg.dtls_timeout_ms);
			return;
		}
		if (DTLSv1_get_timeout(ep->ssl, &tv) == 1 && tv.tv_sec == 0 && tv.tv_usec < 1000 &&
		    DTLSv1_handle_timeout(ep->ssl) < 0)
			ssl_fail(ep, "retransmission");
		return;
	}
	if (ep->state == PERC_EP_JOINED && ep->ka_acked &&
	    now - ep->kd_last_rx >= ep->cfg.kd_timeout_ms) {
		char why[64];

		snprintf(why, sizeof(why), "no message from the KD for %u ms",
			 ep->cfg.kd_timeout_ms);
		rejoin(ep, why);
		return;
	}
	if (ep->state != PERC_EP_LEFT && now >= ep->ka_next) {
		struct perc_kd_msg m = { .type = PERC_KD_KEEPALIVE, .seq = ++ep->ka_seq };

		ep_kd_send(ep, &m);
		ep->ka_next = now + ep->cfg.keepalive_ms;
	}
}

int
ep_kd_send(struct perc_ep *ep, const struct perc_kd_msg *m)
{
	uint8_t buf[PERC_KD_MAX_MSG];
	int n = perc_kd_encode(m, buf, sizeof(buf));

	if (n < 0) {
		ep_log(ep, PERC_EP_LOG_ERR, "cannot encode KD message %u: %s", m->type,
		       perc_reason_desc((unsigned)-n));
		return -1;
	}
	n = SSL_write(ep->ssl, buf, n);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (n <= 0) {
		ssl_fail(ep, "write");
		return -1;
	}
	return 0;
}

/* After the handshake, before any message: the pin, the profiles, the
 * keys. A failure here sends nothing. */
static void
handshake_done(struct perc_ep *ep)
{
	uint8_t ex[EP_EXPORT_LEN], md[32];
	unsigned int mdl = 0;
	char got[120], want[120];
	X509 *peer = SSL_get1_peer_certificate(ep->ssl);
	const SRTP_PROTECTION_PROFILE *sp = SSL_get_selected_srtp_profile(ep->ssl);
	struct perc_kd_msg auth = { .type = PERC_KD_AUTH };
	int r;

	if (peer == NULL || X509_digest(peer, EVP_sha256(), md, &mdl) != 1 || mdl != 32) {
		X509_free(peer);
		ep_fail(ep, "the KD sent no usable certificate");
		return;
	}
	X509_free(peer);
	if (ep->has_pin && CRYPTO_memcmp(md, ep->pin, 32) != 0) {
		fp_text(md, got);
		fp_text(ep->pin, want);
		ep_fail(ep, "KD certificate fingerprint %s does not match the pinned %s", got, want);
		return;
	}
	if (ep->cfg.require_e2e && (!ep->dbl_answered || ep->dbl_profile != 0x0009)) {
		ep_fail(ep, "require_e2e: the KD did not select the double profile 0x0009 in "
			"extension 0x%04X (%s); no media will be sent",
			PERC_EXT_DOUBLE_SRTP, ep->dbl_answered ? "other profile" : "no answer");
		return;
	}
	if (sp == NULL || sp->id != 0x0007) {
		ep_fail(ep, "use_srtp: the KD did not select SRTP_AEAD_AES_128_GCM for the outer layer");
		return;
	}
	if (ep->cfg.require_e2e && !ep->ekt_answered) {
		ep_fail(ep, "require_e2e: the KD did not answer supported_ekt_ciphers (39)");
		return;
	}
	r = SSL_export_keying_material(ep->ssl, ex, sizeof(ex), "EXTRACTOR-dtls_srtp", 19, NULL,
				       0, 0);
	if (r != 1 || ep_install_outer(ep, ex) != 0) {
		OPENSSL_cleanse(ex, sizeof(ex));
		ep_fail(ep, "cannot export or install the DTLS-SRTP keys");
		return;
	}
	OPENSSL_cleanse(ex, sizeof(ex));
	ep_log(ep, PERC_EP_LOG_INFO, "DTLS connected, KD pin ok, double profile 0x%04x",
	       ep->dbl_profile);
	auth.token = ep->s_token;
	auth.token_len = (uint16_t)strlen(ep->s_token);
	if (ep_kd_send(ep, &auth) != 0)
		return;
	ep->ka_next = ep_mono_ms() + ep->cfg.keepalive_ms;
	if (!ep->rejoining)
		ep_set_state(ep, PERC_EP_AUTH);
}

static void
ack(struct perc_ep *ep, uint16_t spi)
{
	struct perc_kd_msg m = { .type = PERC_KD_EKT_ACK, .spi = spi };

	ep_kd_send(ep, &m);
}

static void
on_ekt_key(struct perc_ep *ep, const struct perc_kd_msg *m)
{
	if (m->ekt_key_len != 16 || m->salt_len != EP_E2E_SALT) {
		ep_fail(ep, "EKT_KEY with a %u-byte key / %u-byte salt; this endpoint needs "
			"AESKW-128 and a 12-byte salt", m->ekt_key_len, m->salt_len);
		return;
	}
	ep->roster = m->roster;
	/* the first key is the join: stamp it before the key's own receipt
	 * time, so that every SPI of the report is received at or after it */
	if (ep->state == PERC_EP_AUTH && ep->joined_ms == 0)
		ep->joined_ms = ep_real_ms();
	if (ep_ekt_install(ep, m->spi, m->ekt_key, m->ekt_key_len, m->salt, m->salt_len,
			   m->roster.version, ep_mono_ms()) != 0) {
		ep_fail(ep, "cannot install the EKT key of SPI %u", m->spi);
		return;
	}
	ep_ekt_set_ttl(ep, m->spi, m->ttl);
	ack(ep, m->spi);
	ep->rejoining = false;
	if (ep->state == PERC_EP_AUTH)
		ep_set_state(ep, PERC_EP_JOINED);
}

static void
on_ekt_step(struct perc_ep *ep, const struct perc_kd_msg *m)
{
	struct ep_ekt_key *cur = ep_ekt_current(ep);
	uint8_t next[32];

	if (cur == NULL) {
		ep_log(ep, PERC_EP_LOG_WARN, "EKT_STEP before EKT_KEY ignored");
		return;
	}
	if (perc_kd_step_key(cur->key, cur->len, cur->salt, EP_E2E_SALT,
			     m->spi, m->roster.version, next) != 0) {
		ep_fail(ep, "EKT_STEP: the key step failed in the crypto library");
		return;
	}
	ep->roster = m->roster;
	if (ep_ekt_install(ep, m->spi, next, cur->len, NULL, 0, m->roster.version,
			   ep_mono_ms()) != 0) {
		OPENSSL_cleanse(next, sizeof(next));
		ep_fail(ep, "cannot install the EKT key of SPI %u", m->spi);
		return;
	}
	OPENSSL_cleanse(next, sizeof(next));
	ack(ep, m->spi);
}

static const char *
kd_err_name(uint16_t code)
{
	switch (code) {
	case PERC_KD_E_TOKEN: return "access token refused";
	case PERC_KD_E_NOT_AUTHORIZED: return "not authorized (no roster entry for tls-id / fingerprint)";
	case PERC_KD_E_PROTOCOL: return "protocol error";
	case PERC_KD_E_PROFILE: return "no double profile negotiated";
	case PERC_KD_E_REMOVED: return "removed from the conference";
	default: return "unknown code";
	}
}

static void
kd_handle(struct perc_ep *ep, const struct perc_kd_msg *m)
{
	ep->kd_last_rx = ep_mono_ms();
	switch (m->type) {
	case PERC_KD_EKT_KEY:
		if (ep->state == PERC_EP_LEFT)
			return; /* keys offered after BYE are not taken */
		on_ekt_key(ep, m);
		break;
	case PERC_KD_EKT_STEP:
		if (ep->state == PERC_EP_LEFT)
			return;
		on_ekt_step(ep, m);
		break;
	case PERC_KD_KEEPALIVE_ACK:
		ep->st.keepalive_acks++;
		ep->ka_acked = true;
		break;
	case PERC_KD_ERROR:
		if (ep->state == PERC_EP_LEFT) {
			ep_log(ep, PERC_EP_LOG_INFO, "KD error %u after BYE: %s", m->code, m->text);
			break;
		}
		ep_fail(ep, "KD error %u (%s): %s", m->code, kd_err_name(m->code), m->text);
		break;
	default:
		ep_log(ep, PERC_EP_LOG_WARN, "unexpected KD message type %u ignored", m->type);
		break;
	}
}
