/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-kd: one DTLS 1.2 server per tunneled association (memory BIOs; the
 * records travel in TunneledDtls messages). After the handshake the
 * endpoint is matched to the roster by external_session_id and certificate
 * fingerprint, shows its access token (AUTH), and only then are keys sent:
 * MediaKeys (outer halves) to the MDD, the EKT key to the endpoint.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/srtp.h>
#include <openssl/x509.h>

#include "perc/reason.h"
#include "perc/tunnel.h"
#include "net.h"

#define EXPORT_LEN 112u           /* 2 * (32 + 24): profile 0x0009 */
#define DTLS_HDR 13u

/* ---- ClientHello / ServerHello extensions ---- */

static const uint8_t ekt_answer[1] = { 1 };          /* aeskw_128 */
static const uint8_t double_answer[2] = { 0x00, 0x09 };

static int
ext_add(SSL *s, unsigned int type, unsigned int context, const unsigned char **out,
	size_t *outlen, X509 *x, size_t chainidx, int *al, void *arg)
{
	struct kd_assoc *a = SSL_get_app_data(s);

	(void)context, (void)x, (void)chainidx, (void)al, (void)arg;
	if (a == NULL)
		return 0;
	switch (type) {
	case PERC_EXT_EKT_CIPHERS:
		if (!a->ekt_ok)
			return 0;
		*out = ekt_answer;
		*outlen = sizeof(ekt_answer);
		return 1;
	case PERC_EXT_EXTERNAL_SESSION_ID:
		a->ext56[0] = a->tls_id_len;
		memcpy(a->ext56 + 1, a->tls_id, a->tls_id_len);
		*out = a->ext56;
		*outlen = 1u + a->tls_id_len;
		return 1;
	case PERC_EXT_DOUBLE_SRTP:
		if (!a->double_ok)
			return 0;
		*out = double_answer;
		*outlen = sizeof(double_answer);
		return 1;
	}
	return 0;
}

static void
ext_free(SSL *s, unsigned int type, unsigned int context, const unsigned char *out, void *arg)
{
	(void)s, (void)type, (void)context, (void)out, (void)arg;
}

static int
ext_parse(SSL *s, unsigned int type, unsigned int context, const unsigned char *in,
	  size_t inlen, X509 *x, size_t chainidx, int *al, void *arg)
{
	struct kd_assoc *a = SSL_get_app_data(s);
	size_t i;

	(void)context, (void)x, (void)chainidx, (void)arg;
	if (a == NULL)
		return 0;
	*al = SSL_AD_DECODE_ERROR;
	switch (type) {
	case PERC_EXT_EKT_CIPHERS:
		if (inlen < 2 || in[0] != inlen - 1)
			return 0;
		for (i = 1; i < inlen; i++)
			if (in[i] == 1)
				a->ekt_ok = true;
		break;
	case PERC_EXT_EXTERNAL_SESSION_ID:
		if (inlen < 1 || in[0] != inlen - 1 || in[0] < KD_MIN_TLS_ID)
			return 0;
		a->tls_id_len = in[0];
		memcpy(a->tls_id, in + 1, in[0]);
		break;
	case PERC_EXT_DOUBLE_SRTP:
		if (inlen < 4 || (size_t)(in[0] << 8 | in[1]) != inlen - 2 || inlen % 2 != 0)
			return 0;
		for (i = 2; i + 1 < inlen; i += 2)
			if ((in[i] << 8 | in[i + 1]) == 0x0009)
				a->double_ok = true;
		break;
	}
	if (type == PERC_EXT_EKT_CIPHERS && !a->ekt_ok) {
		*al = SSL_AD_HANDSHAKE_FAILURE;
		kd_log("association %s: supported_ekt_ciphers lacks aeskw_128 (1): refused", a->uuid_s);
		return 0;
	}
	if (type == PERC_EXT_DOUBLE_SRTP && !a->double_ok) {
		*al = SSL_AD_HANDSHAKE_FAILURE;
		kd_log("association %s: perc_double_srtp lacks 0x0009: refused", a->uuid_s);
		return 0;
	}
	return 1;
}

/* Refuse a ClientHello without the three extensions before any work. */
static int
client_hello_cb(SSL *s, int *al, void *arg)
{
	static const unsigned int need[] = { PERC_EXT_DOUBLE_SRTP, PERC_EXT_EXTERNAL_SESSION_ID,
					     PERC_EXT_EKT_CIPHERS };
	static const char *const names[] = { "perc_double_srtp (double profile 0x0009)",
					     "external_session_id (56)", "supported_ekt_ciphers (39)" };
	struct kd_assoc *a = SSL_get_app_data(s);
	const unsigned char *p;
	size_t len, i;

	(void)arg;
	for (i = 0; i < 3; i++) {
		if (SSL_client_hello_get0_ext(s, need[i], &p, &len) != 1) {
			kd_log("association %s: ClientHello without %s: handshake refused",
			       a != NULL ? a->uuid_s : "?", names[i]);
			*al = 109;  /* missing_extension */
			return SSL_CLIENT_HELLO_ERROR;
		}
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* Endpoint certificates are self-signed: accept here, check the fingerprint
 * against the roster after the handshake (RFC 8842 style pinning). */
static int
verify_any(int ok, X509_STORE_CTX *ctx)
{
	(void)ok, (void)ctx;
	return 1;
}

int
kd_dtls_ctx_setup(SSL_CTX *ctx)
{
	const unsigned int ctxt = SSL_EXT_CLIENT_HELLO | SSL_EXT_TLS1_2_SERVER_HELLO;
	const unsigned int types[] = { PERC_EXT_EKT_CIPHERS, PERC_EXT_EXTERNAL_SESSION_ID,
				       PERC_EXT_DOUBLE_SRTP };
	size_t i;

	SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_any);
	SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* returns 0 on success */
	if (SSL_CTX_set_tlsext_use_srtp(ctx, "SRTP_AEAD_AES_128_GCM") != 0) {
		kd_log("OpenSSL refuses use_srtp SRTP_AEAD_AES_128_GCM: OpenSSL >= 3.0 is needed");
		return -1;
	}
	for (i = 0; i < 3; i++) {
		if (SSL_CTX_add_custom_ext(ctx, types[i], ctxt, ext_add, ext_free, NULL,
					   ext_parse, NULL) != 1) {
			kd_log("OpenSSL refuses custom extension %u", types[i]);
			return -1;
		}
	}
	SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, NULL);
	return 0;
}

/* ---- sending ---- */

/* Send what DTLS wrote: whole records, packed into datagrams of at most
 * the MTU, one TunneledDtls message per datagram. The whole memory BIO is
 * taken at once so that no record is ever cut in two. */
static void
drain(struct kd_net *n, struct kd_assoc *a)
{
	struct perc_tun_msg m;
	size_t have, off, start, rl;
	char *data;
	const uint8_t *buf;
	long got = BIO_get_mem_data(a->wbio, &data);

	if (got <= 0)
		return;
	buf = (const uint8_t *)data;
	have = (size_t)got;
	off = start = 0;
	memset(&m, 0, sizeof(m));
	m.type = PERC_TUN_TUNNELED_DTLS;
	memcpy(m.uuid, a->uuid, 16);
	while (off < have) {
		rl = off + DTLS_HDR <= have ? DTLS_HDR + (size_t)(buf[off + 11] << 8 | buf[off + 12])
					    : have - off;
		if (off + rl > have)
			rl = have - off;
		if (off > start && off + rl - start > KD_DTLS_MTU) {
			m.dtls = buf + start;
			m.dtls_len = (uint16_t)(off - start);
			kd_tunnel_send(n, a->tun, &m);
			start = off;
		}
		off += rl;
	}
	if (off > start) {
		m.dtls = buf + start;
		m.dtls_len = (uint16_t)(off - start);
		kd_tunnel_send(n, a->tun, &m);
	}
	/* clears (and zeroes) the buffer */
	(void)BIO_reset(a->wbio);
}

static void
send_msg(struct kd_net *n, struct kd_assoc *a, const struct perc_kd_msg *m)
{
	uint8_t buf[PERC_KD_MAX_MSG];
	int len;

	if (a->state == KD_A_DEAD || a->state == KD_A_HANDSHAKE)
		return;
	len = perc_kd_encode(m, buf, sizeof(buf));
	if (len < 0) {
		kd_log("association %s: cannot encode message type %u: %s (bug)", a->uuid_s, m->type,
		       perc_reason_name((unsigned int)-len));
		return;
	}
	ERR_clear_error();
	if (SSL_write(a->ssl, buf, len) != len)
		kd_log("association %s: DTLS write of message type %u failed", a->uuid_s, m->type);
	OPENSSL_cleanse(buf, sizeof(buf));
	drain(n, a);
}

static void
send_error(struct kd_net *n, struct kd_assoc *a, uint16_t code, const char *text)
{
	struct perc_kd_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PERC_KD_ERROR;
	m.code = code;
	snprintf(m.text, sizeof(m.text), "%s", text);
	send_msg(n, a, &m);
}

void
kd_assoc_kill(struct kd_net *n, struct kd_assoc *a, const char *why)
{
	struct kd_entry *e = a->entry;

	if (a->state == KD_A_DEAD)
		return;
	if (e != NULL) {
		if (e->joined)
			kd_leave(n->kd, e, why);
		if (e->link == a)
			e->link = NULL;
		a->entry = NULL;
	}
	if (a->state != KD_A_HANDSHAKE && !a->tun->dead && strcmp(why, "endpoint disconnect") != 0) {
		SSL_shutdown(a->ssl);
		drain(n, a);
	}
	a->state = KD_A_DEAD;
	kd_live.associations--;
	kd_log("association %s (tunnel %u): closed: %s", a->uuid_s, a->tun->id, why);
}

static void
refuse(struct kd_net *n, struct kd_assoc *a, uint16_t code, enum kd_drop d, const char *reason,
       const char *text)
{
	const char *conf = a->entry != NULL ? a->entry->conf->name : NULL;
	const char *part = a->entry != NULL ? a->entry->participant : NULL;

	if (d < KD_D__COUNT)
		n->kd->stats.drops[d]++;
	kd_log("association %s: refused (%s): %s", a->uuid_s, reason, text);
	kd_event(n->kd, "refused", conf, part, -1, NULL, -1, reason);
	send_error(n, a, code, text);
	kd_assoc_kill(n, a, reason);
}

void
kd_assoc_free(struct kd_assoc *a)
{
	SSL_free(a->ssl);     /* frees both BIOs */
	if (a->cert_der != NULL)
		OPENSSL_free(a->cert_der);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

/* ---- roster ops ---- */

static void
op_send_key(void *ctx, void *link, const uint8_t *key, size_t key_len, const uint8_t *salt,
	    size_t salt_len, uint16_t spi, uint32_t ttl, const struct perc_kd_roster *r)
{
	struct perc_kd_msg *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return;
	m->type = PERC_KD_EKT_KEY;
	m->ekt_key_len = (uint8_t)key_len;
	memcpy(m->ekt_key, key, key_len);
	m->salt_len = (uint8_t)salt_len;
	memcpy(m->salt, salt, salt_len);
	m->spi = spi;
	m->ttl = ttl;
	m->roster = *r;
	send_msg(ctx, link, m);
	OPENSSL_cleanse(m, sizeof(*m));
	free(m);
}

static void
op_send_step(void *ctx, void *link, uint16_t spi, const struct perc_kd_roster *r)
{
	struct perc_kd_msg *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return;
	m->type = PERC_KD_EKT_STEP;
	m->spi = spi;
	m->roster = *r;
	send_msg(ctx, link, m);
	free(m);
}

static void
op_drop(void *ctx, void *link, uint16_t code, const char *text)
{
	struct kd_assoc *a = link;

	a->entry = NULL;      /* the roster has let go of it already */
	send_error(ctx, a, code, text);
	kd_assoc_kill(ctx, a, "revoked");
}

void
kd_assoc_ops(struct kd_net *n, struct kd_ops *ops)
{
	ops->send_key = op_send_key;
	ops->send_step = op_send_step;
	ops->drop = op_drop;
	ops->ctx = n;
}

/* ---- the association's life ---- */

static struct kd_assoc *
find(struct kd_tunnel *t, const uint8_t uuid[16])
{
	struct kd_assoc *a;

	for (a = t->assocs; a != NULL; a = a->next)
		if (a->state != KD_A_DEAD && memcmp(a->uuid, uuid, 16) == 0)
			return a;
	return NULL;
}

static struct kd_assoc *
create(struct kd_net *n, struct kd_tunnel *t, const uint8_t uuid[16])
{
	struct kd_assoc *a;

	if (t->n_assocs >= KD_MAX_ASSOCS_PER_TUNNEL) {
		kd_log("tunnel %u: %u associations already; new one refused", t->id, t->n_assocs);
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	memcpy(a->uuid, uuid, 16);
	kd_uuid_format(uuid, a->uuid_s, sizeof(a->uuid_s));
	a->tun = t;
	a->ssl = SSL_new(n->dtls);
	a->rbio = BIO_new(BIO_s_mem());
	a->wbio = BIO_new(BIO_s_mem());
	if (a->ssl == NULL || a->rbio == NULL || a->wbio == NULL) {
		BIO_free(a->rbio);
		BIO_free(a->wbio);
		SSL_free(a->ssl);
		free(a);
		return NULL;
	}
	/* an empty memory BIO means "try again", not end of file */
	BIO_set_mem_eof_return(a->rbio, -1);
	SSL_set_bio(a->ssl, a->rbio, a->wbio);
	SSL_set_app_data(a->ssl, a);
	SSL_set_mtu(a->ssl, KD_DTLS_MTU);
	SSL_set_accept_state(a->ssl);
	a->state = KD_A_HANDSHAKE;
	a->created_mono = a->last_rx_mono = kd_mono_ms();
	a->next = t->assocs;
	t->assocs = a;
	t->n_assocs++;
	kd_live.associations++;
	kd_log("association %s (tunnel %u): new", a->uuid_s, t->id);
	return a;
}

static void
handshake_done(struct kd_net *n, struct kd_assoc *a)
{
	const SRTP_PROTECTION_PROFILE *sp = SSL_get_selected_srtp_profile(a->ssl);
	X509 *peer = SSL_get0_peer_certificate(a->ssl);
	struct kd_entry *e, *old_e;
	struct kd_assoc *old;
	uint8_t fp[32];
	char fps[120];

	n->kd->stats.handshakes_ok++;
	a->state = KD_A_WAIT_AUTH;
	if (sp == NULL || sp->id != SRTP_AEAD_AES_128_GCM || !a->double_ok || !a->ekt_ok) {
		refuse(n, a, PERC_KD_E_PROFILE, KD_D_NO_DOUBLE, "profile",
		       "no double profile: offer use_srtp SRTP_AEAD_AES_128_GCM, perc_double_srtp "
		       "0x0009 and supported_ekt_ciphers aeskw_128");
		return;
	}
	a->cert_len = peer != NULL ? i2d_X509(peer, &a->cert_der) : -1;
	if (a->cert_len <= 0 || perc_jwt_cert_thumbprint(a->cert_der, (size_t)a->cert_len, fp) != 0) {
		refuse(n, a, PERC_KD_E_NOT_AUTHORIZED, KD_D_NOT_AUTHORIZED, "not_authorized",
		       "no usable client certificate");
		return;
	}
	e = kd_entry_by_tls_id(n->kd, a->tls_id, a->tls_id_len);
	if (e == NULL || CRYPTO_memcmp(e->fp, fp, 32) != 0) {
		kd_fp_format(fp, fps, sizeof(fps));
		kd_log("association %s: %s for external_session_id of %u bytes and certificate %s",
		       a->uuid_s, e == NULL ? "no roster entry" : "fingerprint differs from the roster",
		       a->tls_id_len, fps);
		refuse(n, a, PERC_KD_E_NOT_AUTHORIZED, KD_D_NOT_AUTHORIZED, "not_authorized",
		       "no roster entry for this tls-id and certificate fingerprint; call "
		       "processing must authorize the participant first");
		return;
	}
	old = e->link;
	if (old != NULL && old != a) {
		/* the endpoint came back on a new association: the old one goes */
		old_e = old->entry;
		if (old_e != NULL && old_e->joined)
			kd_leave(n->kd, old_e, "replaced by a new association");
		send_error(n, old, PERC_KD_E_REMOVED, "replaced by a new association");
		old->entry = NULL;
		kd_assoc_kill(n, old, "replaced by a new association");
	}
	e->link = a;
	a->entry = e;
	kd_log("association %s: handshake done, %s in %s; waiting for AUTH", a->uuid_s,
	       e->participant, e->conf->name);
}

static void
send_media_keys(struct kd_net *n, struct kd_assoc *a, const uint8_t *ex)
{
	struct perc_tun_msg *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return;
	/* client key ‖ server key ‖ client salt ‖ server salt, each inner ‖ outer */
	m->type = PERC_TUN_MEDIA_KEYS;
	memcpy(m->uuid, a->uuid, 16);
	m->profile = 0x0009;
	m->client_key_len = m->server_key_len = 16;
	m->client_salt_len = m->server_salt_len = 12;
	memcpy(m->client_key, ex + 16, 16);
	memcpy(m->server_key, ex + 32 + 16, 16);
	memcpy(m->client_salt, ex + 64 + 12, 12);
	memcpy(m->server_salt, ex + 88 + 12, 12);
	kd_tunnel_send(n, a->tun, m);
	OPENSSL_cleanse(m, sizeof(*m));
	free(m);
}

static void
on_auth(struct kd_net *n, struct kd_assoc *a, const struct perc_kd_msg *m)
{
	struct perc_jwt_verify_params p;
	struct perc_jwt_verified v;
	struct kd_entry *e = a->entry;
	enum perc_jwt_err err;
	char text[PERC_KD_MAX_TEXT];
	uint8_t *ex;

	memset(&p, 0, sizeof(p));
	p.keys = n->issuer_keys;
	p.n_keys = n->n_issuer_keys;
	p.iss = n->iss;
	p.aud = n->aud;
	p.now = (int64_t)time(NULL);
	p.leeway = 60;
	p.cert_der = a->cert_der;
	p.cert_len = (size_t)a->cert_len;
	err = perc_jwt_verify(m->token, m->token_len, &p, &v);
	if (err != PERC_JWT_OK) {
		n->kd->stats.tokens_refused[err]++;
		snprintf(text, sizeof(text), "%s", perc_jwt_err_desc(err));
		refuse(n, a, PERC_KD_E_TOKEN, KD_D__COUNT, perc_jwt_err_name(err), text);
		return;
	}
	if (strcmp(v.sub, e->participant) != 0 || strcmp(v.conf, e->conf->name) != 0) {
		bool sub = strcmp(v.sub, e->participant) != 0;

		n->kd->stats.tokens_refused[sub ? KD_TOK_WRONG_SUB : KD_TOK_WRONG_CONF]++;
		snprintf(text, sizeof(text), "token %s is not the %s announced for this tls-id",
			 sub ? "sub" : "perc_conf", sub ? "participant" : "conference");
		refuse(n, a, PERC_KD_E_TOKEN, KD_D__COUNT, sub ? "wrong_sub" : "wrong_conf", text);
		return;
	}
	ex = kd_arena_alloc(n->kd);
	if (ex == NULL || SSL_export_keying_material(a->ssl, ex, EXPORT_LEN, "EXTRACTOR-dtls_srtp",
						     19, NULL, 0, 0) != 1) {
		kd_arena_free(n->kd, ex);
		refuse(n, a, PERC_KD_E_PROTOCOL, KD_D__COUNT, "internal",
		       "key export failed in the KD; try again");
		return;
	}
	send_media_keys(n, a, ex);
	kd_arena_free(n->kd, ex);     /* zeroizes */
	a->state = KD_A_MEMBER;
	if (kd_join(n->kd, e, a, a->uuid) != 0)
		refuse(n, a, PERC_KD_E_PROTOCOL, KD_D__COUNT, "internal",
		       "the KD could not make a key; try again");
}

static void
on_message(struct kd_net *n, struct kd_assoc *a, const uint8_t *p, size_t len)
{
	struct perc_kd_msg *m = calloc(1, sizeof(*m)), ack;
	char text[PERC_KD_MAX_TEXT];
	int rc;

	if (m == NULL)
		return;
	rc = perc_kd_decode(p, len, m);
	if (rc != PERC_R_OK) {
		snprintf(text, sizeof(text), "malformed message (type %u, %zu bytes): %s",
			 len > 0 ? p[0] : 0, len, perc_reason_desc((unsigned int)rc));
		refuse(n, a, PERC_KD_E_PROTOCOL, KD_D_KD_MSG_MALFORMED, "malformed", text);
		goto out;
	}
	if (a->state == KD_A_WAIT_AUTH) {
		if (m->type == PERC_KD_AUTH)
			on_auth(n, a, m);
		else
			refuse(n, a, PERC_KD_E_PROTOCOL, KD_D_KD_MSG_MALFORMED, "protocol",
			       "the first message must be AUTH with the access token");
		goto out;
	}
	switch (m->type) {
	case PERC_KD_KEEPALIVE:
		memset(&ack, 0, sizeof(ack));
		ack.type = PERC_KD_KEEPALIVE_ACK;
		ack.seq = m->seq;
		send_msg(n, a, &ack);
		break;
	case PERC_KD_EKT_ACK:
		if (a->entry != NULL)
			a->entry->acked_spi = m->spi;
		break;
	case PERC_KD_BYE:
		kd_assoc_kill(n, a, "bye");
		break;
	case PERC_KD_AUTH:
		kd_log("association %s: AUTH again after joining: ignored", a->uuid_s);
		break;
	default:
		snprintf(text, sizeof(text), "message type %u is not sent by endpoints", m->type);
		refuse(n, a, PERC_KD_E_PROTOCOL, KD_D_KD_MSG_MALFORMED, "protocol", text);
	}
out:
	OPENSSL_cleanse(m, sizeof(*m));
	free(m);
}

static void
fatal(struct kd_net *n, struct kd_assoc *a, const char *what)
{
	char eb[256];
	unsigned long e = ERR_get_error();

	if (e != 0)
		ERR_error_string_n(e, eb, sizeof(eb));
	else
		snprintf(eb, sizeof(eb), "alert or protocol error");
	ERR_clear_error();
	if (a->state == KD_A_HANDSHAKE) {
		n->kd->stats.handshakes_failed++;
		kd_event(n->kd, "handshake_failed", NULL, NULL, -1, NULL, -1, eb);
	}
	kd_log("association %s: %s: %s", a->uuid_s, what, eb);
	drain(n, a);             /* the alert, if any */
	if (a->state == KD_A_HANDSHAKE) {
		a->state = KD_A_DEAD;
		kd_live.associations--;
	} else {
		kd_assoc_kill(n, a, "DTLS error or alert");
	}
}

static void
pump(struct kd_net *n, struct kd_assoc *a)
{
	uint8_t buf[PERC_KD_MAX_MSG + 64];
	int r, err;

	if (a->state == KD_A_HANDSHAKE) {
		ERR_clear_error();
		r = SSL_do_handshake(a->ssl);
		if (r != 1) {
			err = SSL_get_error(a->ssl, r);
			if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
				drain(n, a);
			else
				fatal(n, a, "DTLS handshake failed");
			return;
		}
		drain(n, a);
		handshake_done(n, a);
	}
	while (a->state == KD_A_WAIT_AUTH || a->state == KD_A_MEMBER) {
		ERR_clear_error();
		r = SSL_read(a->ssl, buf, sizeof(buf));
		if (r > 0) {
			on_message(n, a, buf, (size_t)r);
			continue;
		}
		err = SSL_get_error(a->ssl, r);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
			break;
		if (err == SSL_ERROR_ZERO_RETURN)
			kd_assoc_kill(n, a, "close_notify from the endpoint");
		else
			fatal(n, a, "DTLS read failed");
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	if (a->state != KD_A_DEAD)
		drain(n, a);
}

/* What a peer can make us log as often as it likes is limited to 10 lines
 * a second; the counters still count everything. */
static bool
log_allowed(void)
{
	static uint64_t second;
	static unsigned int lines, suppressed;
	uint64_t now = kd_mono_ms() / 1000u;

	if (now != second) {
		if (suppressed > 0)
			kd_log("%u similar lines suppressed", suppressed);
		second = now;
		lines = suppressed = 0;
	}
	if (lines < 10) {
		lines++;
		return true;
	}
	suppressed++;
	return false;
}

void
kd_assoc_input(struct kd_net *n, struct kd_tunnel *t, const uint8_t uuid[16],
	       const uint8_t *rec, size_t len)
{
	struct kd_assoc *a = find(t, uuid);
	char us[40];
	size_t rl;

	if (a == NULL) {
		/* only a handshake record (content type 22) starts an association */
		if (len < DTLS_HDR || rec[0] != 22) {
			n->kd->stats.drops[KD_D_DTLS_GARBAGE]++;
			if (log_allowed()) {
				kd_uuid_format(uuid, us, sizeof(us));
				kd_log("tunnel %u: association %s: %zu bytes that are no DTLS handshake "
				       "for an unknown association: dropped (counted as dtls_garbage)",
				       t->id, us, len);
			}
			return;
		}
		a = create(n, t, uuid);
		if (a == NULL)
			return;
	}
	a->last_rx_mono = kd_mono_ms();
	/* One record at a time: OpenSSL drops the rest of a datagram after a
	 * retransmitted message in it, and an endpoint may pack its whole
	 * flight (or a ClientHello retransmission and the next flight) in one. */
	while (len > 0 && a->state != KD_A_DEAD) {
		rl = len >= DTLS_HDR ? DTLS_HDR + (size_t)(rec[11] << 8 | rec[12]) : len;
		if (rl > len)
			rl = len;     /* broken framing: DTLS drops it */
		if (BIO_write(a->rbio, rec, (int)rl) != (int)rl) {
			kd_log("association %s: out of memory buffering a record: dropped", a->uuid_s);
			return;
		}
		pump(n, a);
		/* what DTLS did not consume (garbage) must not pile up */
		(void)BIO_reset(a->rbio);
		rec += rl;
		len -= rl;
	}
}

void
kd_assoc_disconnect(struct kd_net *n, struct kd_tunnel *t, const uint8_t uuid[16])
{
	struct kd_assoc *a = find(t, uuid);
	char us[40];

	if (a == NULL) {
		kd_uuid_format(uuid, us, sizeof(us));
		kd_log("tunnel %u: EndpointDisconnect for unknown association %s: ignored", t->id, us);
		return;
	}
	kd_assoc_kill(n, a, "endpoint disconnect");
}

void
kd_assoc_timers(struct kd_net *n)
{
	uint64_t now = kd_mono_ms();
	uint64_t unjoined = n->keepalive_ms * 3u > KD_UNJOINED_MIN_MS ? n->keepalive_ms * 3u
								       : KD_UNJOINED_MIN_MS;
	struct kd_tunnel *t;
	struct kd_assoc *a;
	struct timeval tv;
	char why[96];

	for (t = n->tunnels; t != NULL; t = t->next) {
		if (t->dead)
			continue;
		for (a = t->assocs; a != NULL; a = a->next) {
			if (a->state == KD_A_DEAD)
				continue;
			if (a->state == KD_A_MEMBER && now - a->last_rx_mono > n->keepalive_ms) {
				n->kd->stats.drops[KD_D_KEEPALIVE_TIMEOUT]++;
				snprintf(why, sizeof(why), "silent for %llu ms (keepalive timeout)",
					 (unsigned long long)(now - a->last_rx_mono));
				send_error(n, a, PERC_KD_E_REMOVED, why);
				kd_assoc_kill(n, a, "keepalive timeout");
				continue;
			}
			if (a->state != KD_A_MEMBER && now - a->created_mono > unjoined) {
				if (a->state == KD_A_HANDSHAKE) {
					n->kd->stats.handshakes_failed++;
					a->state = KD_A_DEAD;
					kd_live.associations--;
					kd_log("association %s: handshake not finished in %llu ms: dropped",
					       a->uuid_s, (unsigned long long)unjoined);
				} else {
					refuse(n, a, PERC_KD_E_PROTOCOL, KD_D__COUNT, "auth_timeout",
					       "no AUTH in time");
				}
				continue;
			}
			if (a->state == KD_A_HANDSHAKE && DTLSv1_get_timeout(a->ssl, &tv) == 1 &&
			    tv.tv_sec == 0 && tv.tv_usec == 0) {
				kd_log("association %s: DTLS timer expired: retransmitting the last flight",
				       a->uuid_s);
				if (DTLSv1_handle_timeout(a->ssl) < 0)
					fatal(n, a, "DTLS retransmission failed");
				else
					drain(n, a);
			}
		}
	}
}
