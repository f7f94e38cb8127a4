/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libperc_ep against a fake MDD + KD in this process: ICE-lite answers with
 * short-term credentials, a DTLS 1.2 server with the extensions of
 * kdproto.h, the KD messages (AUTH, EKT_KEY, EKT_STEP, KEEPALIVE, ERROR),
 * and a relay that opens the outer layer with the endpoint's client_write
 * half, rewrites PT and SEQ (OHB) and re-seals with its server_write half
 * back to the endpoint. Only the public API drives the endpoint here.
 */
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "ep_testutil.h"
#include "perc/double.h"
#include "perc/ekt.h"
#include "perc/kdproto.h"
#include "perc/rtp.h"
#include "perc/stun.h"
#include "testutil.h"

static struct ep_pki pki;

#define MDD_PWD "mdd-password-0123456789"

struct fake {
	int fd;
	uint16_t port;
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *rb, *wb;
	struct sockaddr_in peer;
	bool hs_done;
	/* behaviour */
	bool answer_double;
	unsigned stun_ignore;      /* ignore this many more STUN requests */
	bool stun_off;             /* ignore all STUN */
	bool error_on_auth;
	bool send_step;            /* EKT_STEP after the first ACK */
	bool no_ka_ack;
	uint8_t ekt[16], salt[12], ekt2[16];
	/* what it saw */
	unsigned stun_req, stun_bad;
	bool use_candidate, controlling;
	uint8_t ch_tlsid[256], ch_ekt[8], ch_dbl[8];
	size_t ch_tlsid_len, ch_ekt_len, ch_dbl_len;
	char token[PERC_KD_MAX_TOKEN + 1];
	bool got_auth, got_bye, got_close;
	uint16_t acks[16];
	unsigned nacks, keepalives, handshakes;
	/* relay */
	struct perc_engine *e;
	struct perc_key in, out;
	bool keys;
	unsigned relayed, relay_fail, full_spi2_ok;
	uint16_t out_seq;
};

static int fake_idx = -1;

static int
f_ext_add(SSL *s, unsigned int type, unsigned int ctx, const unsigned char **out, size_t *outlen,
	  X509 *x, size_t chainidx, int *al, void *arg)
{
	static const uint8_t ekt[] = { 1 }, dbl[] = { 0x00, 0x09 };
	struct fake *f = SSL_get_ex_data(s, fake_idx);

	(void)ctx;
	(void)x;
	(void)chainidx;
	(void)al;
	(void)arg;
	if (type == PERC_EXT_EKT_CIPHERS) {
		*out = ekt;
		*outlen = 1;
		return 1;
	}
	if (type == PERC_EXT_DOUBLE_SRTP) {
		if (!f->answer_double)
			return 0;
		*out = dbl;
		*outlen = 2;
		return 1;
	}
	*out = f->ch_tlsid; /* 56: echo */
	*outlen = f->ch_tlsid_len;
	return 1;
}

static int
f_ext_parse(SSL *s, unsigned int type, unsigned int ctx, const unsigned char *in, size_t inlen,
	    X509 *x, size_t chainidx, int *al, void *arg)
{
	struct fake *f = SSL_get_ex_data(s, fake_idx);

	(void)ctx;
	(void)x;
	(void)chainidx;
	(void)al;
	(void)arg;
	if (type == PERC_EXT_EXTERNAL_SESSION_ID && inlen <= sizeof(f->ch_tlsid)) {
		memcpy(f->ch_tlsid, in, inlen);
		f->ch_tlsid_len = inlen;
	} else if (type == PERC_EXT_EKT_CIPHERS && inlen <= sizeof(f->ch_ekt)) {
		memcpy(f->ch_ekt, in, inlen);
		f->ch_ekt_len = inlen;
	} else if (type == PERC_EXT_DOUBLE_SRTP && inlen <= sizeof(f->ch_dbl)) {
		memcpy(f->ch_dbl, in, inlen);
		f->ch_dbl_len = inlen;
	}
	return 1;
}

static int
f_verify(int ok, X509_STORE_CTX *c)
{
	(void)ok;
	(void)c;
	return 1;
}

static void
f_new_ssl(struct fake *f)
{
	if (f->ssl != NULL)
		SSL_free(f->ssl);
	f->ssl = SSL_new(f->ctx);
	f->rb = BIO_new(BIO_s_mem());
	f->wb = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(f->rb, -1);
	BIO_set_mem_eof_return(f->wb, -1);
	SSL_set_bio(f->ssl, f->rb, f->wb);
	SSL_set_ex_data(f->ssl, fake_idx, f);
	SSL_set_options(f->ssl, SSL_OP_NO_QUERY_MTU);
	SSL_set_mtu(f->ssl, 1200);
	SSL_set_accept_state(f->ssl);
	f->hs_done = false;
}

static void
fake_init(struct fake *f)
{
	static const unsigned ctxf = SSL_EXT_CLIENT_HELLO | SSL_EXT_TLS1_2_SERVER_HELLO;
	static const unsigned exts[] = { PERC_EXT_EKT_CIPHERS, PERC_EXT_EXTERNAL_SESSION_ID,
					 PERC_EXT_DOUBLE_SRTP };

	memset(f, 0, sizeof(*f));
	if (fake_idx < 0)
		fake_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	f->fd = t_udp_socket(&f->port);
	f->answer_double = true;
	f->send_step = true;
	ep_random(f->ekt, 16);
	ep_random(f->salt, 12);
	f->ctx = SSL_CTX_new(DTLS_server_method());
	SSL_CTX_set_min_proto_version(f->ctx, DTLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(f->ctx, DTLS1_2_VERSION);
	CU_ASSERT_FATAL(SSL_CTX_use_certificate_file(f->ctx, pki.kd.cert, SSL_FILETYPE_PEM) == 1);
	CU_ASSERT_FATAL(SSL_CTX_use_PrivateKey_file(f->ctx, pki.kd.key, SSL_FILETYPE_PEM) == 1);
	SSL_CTX_set_tlsext_use_srtp(f->ctx, "SRTP_AEAD_AES_128_GCM");
	SSL_CTX_set_verify(f->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, f_verify);
	for (unsigned i = 0; i < 3; i++)
		CU_ASSERT(SSL_CTX_add_custom_ext(f->ctx, exts[i], ctxf, f_ext_add, NULL, NULL,
						 f_ext_parse, NULL) == 1);
	f->e = perc_engine_create(PERC_ARCH_AUTO);
	f_new_ssl(f);
}

static void
fake_free(struct fake *f)
{
	if (f->keys) {
		perc_key_clear(&f->in);
		perc_key_clear(&f->out);
	}
	SSL_free(f->ssl);
	SSL_CTX_free(f->ctx);
	perc_engine_destroy(f->e);
	close(f->fd);
}

static void
f_flush(struct fake *f)
{
	uint8_t buf[8192];
	int n;

	while ((n = BIO_read(f->wb, buf, sizeof(buf))) > 0)
		sendto(f->fd, buf, (size_t)n, 0, (struct sockaddr *)&f->peer, sizeof(f->peer));
}

static void
f_send(struct fake *f, const struct perc_kd_msg *m)
{
	uint8_t buf[PERC_KD_MAX_MSG];
	int n = perc_kd_encode(m, buf, sizeof(buf));

	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT(SSL_write(f->ssl, buf, n) == n);
	f_flush(f);
}

static void
f_roster(struct perc_kd_roster *r, uint32_t ver)
{
	memset(r, 0, sizeof(*r));
	r->version = ver;
	r->n = 2;
	strcpy(r->ids[0], "c1-a");
	strcpy(r->ids[1], "c1-x");
}

static void
f_handshake_done(struct fake *f)
{
	const struct perc_profile *layer =
		perc_profile_layer(perc_profile_by_id(PERC_DOUBLE_AES_128_GCM));
	uint8_t ex[112];

	f->hs_done = true;
	f->handshakes++;
	CU_ASSERT_FATAL(SSL_export_keying_material(f->ssl, ex, sizeof(ex), "EXTRACTOR-dtls_srtp",
						   19, NULL, 0, 0) == 1);
	if (f->keys) {
		perc_key_clear(&f->in);
		perc_key_clear(&f->out);
	}
	/* what MediaKeys would carry: the outer halves */
	CU_ASSERT(perc_key_init(&f->in, f->e, layer, ex + 16, ex + 64 + 12) == PERC_R_OK);
	CU_ASSERT(perc_key_init(&f->out, f->e, layer, ex + 48, ex + 88 + 12) == PERC_R_OK);
	f->keys = true;
}

static void
f_kd_msg(struct fake *f, const struct perc_kd_msg *m)
{
	struct perc_kd_msg r;

	memset(&r, 0, sizeof(r));
	switch (m->type) {
	case PERC_KD_AUTH:
		f->got_auth = true;
		memcpy(f->token, m->token, m->token_len);
		f->token[m->token_len] = '\0';
		if (f->error_on_auth) {
			r.type = PERC_KD_ERROR;
			r.code = PERC_KD_E_TOKEN;
			strcpy(r.text, "token names conference c9");
			f_send(f, &r);
			return;
		}
		r.type = PERC_KD_EKT_KEY;
		r.spi = 1;
		r.ekt_key_len = 16;
		memcpy(r.ekt_key, f->ekt, 16);
		r.salt_len = 12;
		memcpy(r.salt, f->salt, 12);
		r.ttl = 3600;
		f_roster(&r.roster, 1);
		f_send(f, &r);
		break;
	case PERC_KD_EKT_ACK:
		if (f->nacks < 16)
			f->acks[f->nacks++] = m->spi;
		if (f->nacks == 1 && f->send_step) {
			r.type = PERC_KD_EKT_STEP;
			r.spi = 2;
			f_roster(&r.roster, 2);
			CU_ASSERT(perc_kd_step_key(f->ekt, 16, f->salt, 12, 2, 2, f->ekt2) == 0);
			f_send(f, &r);
		}
		break;
	case PERC_KD_KEEPALIVE:
		f->keepalives++;
		if (f->no_ka_ack)
			break;
		r.type = PERC_KD_KEEPALIVE_ACK;
		r.seq = m->seq;
		f_send(f, &r);
		break;
	case PERC_KD_BYE:
		f->got_bye = true;
		break;
	default:
		break;
	}
}

static void
f_dtls(struct fake *f, const uint8_t *p, size_t n)
{
	uint8_t buf[PERC_KD_MAX_MSG];
	int r;

	BIO_write(f->rb, p, (int)n);
	if (!f->hs_done) {
		r = SSL_do_handshake(f->ssl);
		f_flush(f);
		if (r != 1) {
			ERR_clear_error();
			return;
		}
		f_handshake_done(f);
	}
	while ((r = SSL_read(f->ssl, buf, sizeof(buf))) > 0) {
		struct perc_kd_msg m;

		if (perc_kd_decode(buf, (size_t)r, &m) == PERC_R_OK)
			f_kd_msg(f, &m);
	}
	if (SSL_get_error(f->ssl, r) == SSL_ERROR_ZERO_RETURN)
		f->got_close = true;
	ERR_clear_error();
	f_flush(f);
}

static void
f_stun(struct fake *f, const uint8_t *p, size_t n)
{
	struct perc_stun_msg m;
	struct perc_stun_addr a = { .family = 4, .port = ntohs(f->peer.sin_port) };
	uint8_t out[512];
	int len;

	if (perc_stun_parse(p, n, &m) != PERC_R_OK || m.type != PERC_STUN_BINDING_REQUEST ||
	    perc_stun_check_integrity(&m, MDD_PWD, strlen(MDD_PWD)) != PERC_R_OK ||
	    m.username_len != 9 || memcmp(m.username, "mddU:epU1", 9) != 0 ||
	    !m.has_fingerprint || !m.has_priority) {
		f->stun_bad++;
		return;
	}
	f->stun_req++;
	f->use_candidate |= m.use_candidate;
	f->controlling |= m.ice_controlling;
	if (f->stun_off)
		return;
	if (f->stun_ignore > 0) {
		f->stun_ignore--;
		return;
	}
	memcpy(a.addr, &f->peer.sin_addr, 4);
	len = perc_stun_build_success(out, sizeof(out), m.tid, &a, MDD_PWD, strlen(MDD_PWD));
	CU_ASSERT_FATAL(len > 0);
	sendto(f->fd, out, (size_t)len, 0, (struct sockaddr *)&f->peer, sizeof(f->peer));
}

/* the MDD's hop: strip EKT, open with client_write, change PT and SEQ,
 * seal with server_write, put the EKT field back, send to the endpoint */
static void
f_relay(struct fake *f, const uint8_t *p, size_t n)
{
	uint8_t out[2048];
	int fl = perc_ekt_field_len(p, n);
	struct perc_hop_change c = { .pt = 100, .seq = f->out_seq++, .marker = -1 };
	uint32_t olen;

	if (!f->keys || fl < 0) {
		f->relay_fail++;
		return;
	}
	if (fl > 1) {
		struct perc_ekt_plain pl;

		if (perc_ekt_field_spi(p + n - fl, (size_t)fl) == 2 &&
		    perc_ekt_unwrap(f->ekt2, 16, p + n - fl, (size_t)fl, &pl) == PERC_R_OK)
			f->full_spi2_ok++;
	}
	if (perc_hop_relay(f->e, &f->in, NULL, 0, &f->out, NULL, 0, &c, p, (uint32_t)(n - fl),
			   out, sizeof(out) - 64, &olen) != PERC_R_OK) {
		f->relay_fail++;
		return;
	}
	memcpy(out + olen, p + n - fl, (size_t)fl);
	olen += (uint32_t)fl;
	sendto(f->fd, out, olen, 0, (struct sockaddr *)&f->peer, sizeof(f->peer));
	f->relayed++;
}

static void
fake_poll(struct fake *f)
{
	uint8_t buf[4096];

	for (;;) {
		socklen_t al = sizeof(f->peer);
		ssize_t n = recvfrom(f->fd, buf, sizeof(buf), 0, (struct sockaddr *)&f->peer, &al);

		if (n <= 0)
			return;
		switch (perc_demux(buf, (size_t)n)) {
		case PERC_DEMUX_STUN: f_stun(f, buf, (size_t)n); break;
		case PERC_DEMUX_DTLS: f_dtls(f, buf, (size_t)n); break;
		case PERC_DEMUX_RTP: f_relay(f, buf, (size_t)n); break;
		default: break;
		}
	}
}

/* run endpoint and fake for up to ms, sending audio every 20 ms and a
 * video frame every 33 ms while joined; stop early when done() says so */
static void
run(struct fake *f, struct perc_ep *ep, unsigned ms, bool (*done)(struct fake *, struct perc_ep *))
{
	uint64_t end = ep_mono_ms() + ms, next_a = 0, next_v = 0;
	uint8_t payload[3000];
	unsigned frames = 0;

	memset(payload, 0x5a, sizeof(payload));
	while (ep_mono_ms() < end) {
		struct pollfd pf[2] = { { .fd = f->fd, .events = POLLIN },
					{ .fd = perc_ep_fd(ep), .events = POLLIN } };
		int t = perc_ep_next_timeout_ms(ep);
		uint64_t now;

		poll(pf, 2, t < 10 ? t : 10);
		fake_poll(f);
		perc_ep_poll(ep);
		now = ep_mono_ms();
		if (perc_ep_get_state(ep) == PERC_EP_JOINED) {
			if (now >= next_a) {
				perc_ep_send_audio(ep, payload, 120);
				next_a = now + 20;
			}
			if (now >= next_v) {
				perc_ep_send_video(ep, payload, 2500, frames++ % 30 == 0);
				next_v = now + 33;
			}
		}
		if (done != NULL && done(f, ep))
			break;
	}
}

static struct perc_ep *
ep_for(struct fake *f, struct perc_ep_config *c, struct t_frames *got)
{
	char err[300];
	struct perc_ep *ep;

	c->on_frame = t_on_frame;
	c->cb_arg = got;
	c->mdd_port = f->port;
	ep = perc_ep_create(c, err, sizeof(err));
	if (ep == NULL)
		fprintf(stderr, "perc_ep_create: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ep);
	CU_ASSERT_EQUAL(perc_ep_start(ep), 0);
	return ep;
}

static bool
stepped_and_opened(struct fake *f, struct perc_ep *ep)
{
	struct perc_ep_stats s;

	perc_ep_get_stats(ep, &s);
	return f->nacks >= 2 && f->keepalives >= 2 && s.e2e_ok > 60 && f->full_spi2_ok > 3;
}

static void
test_join_step_media(void)
{
	struct fake f;
	struct perc_ep_config c;
	struct t_frames got = { 0 };
	struct perc_ep_stats s;
	struct perc_ep *ep;
	uint16_t spi = 0;
	unsigned n;

	fake_init(&f);
	t_config(&c, &pki, "c1-a", PERC_EP_AUDIO | PERC_EP_VIDEO, 0);
	ep = ep_for(&f, &c, &got);
	CU_ASSERT_EQUAL(perc_ep_get_state(ep), PERC_EP_ICE);
	run(&f, ep, 5000, stepped_and_opened);
	perc_ep_get_stats(ep, &s);
	/* ICE: controlling, nominating, integrity with the MDD's password */
	CU_ASSERT(f.stun_req >= 1);
	CU_ASSERT_EQUAL(f.stun_bad, 0);
	CU_ASSERT_TRUE(f.use_candidate);
	CU_ASSERT_TRUE(f.controlling);
	/* the ClientHello's extensions */
	CU_ASSERT_EQUAL(f.ch_tlsid_len, 21);
	CU_ASSERT_EQUAL(f.ch_tlsid[0], 20);
	CU_ASSERT_EQUAL(memcmp(f.ch_tlsid + 1, "0123456789abcdefghij", 20), 0);
	CU_ASSERT_EQUAL(f.ch_ekt_len, 2);
	CU_ASSERT_EQUAL(f.ch_ekt[1], 1);
	CU_ASSERT_EQUAL(f.ch_dbl_len, 4);
	CU_ASSERT_EQUAL(memcmp(f.ch_dbl, "\x00\x02\x00\x09", 4), 0);
	/* AUTH, the acks of EKT_KEY and EKT_STEP, keepalives */
	CU_ASSERT_TRUE(f.got_auth);
	CU_ASSERT_STRING_EQUAL(f.token, "token-for-tests");
	CU_ASSERT_EQUAL(f.nacks, 2);
	CU_ASSERT_EQUAL(f.acks[0], 1);
	CU_ASSERT_EQUAL(f.acks[1], 2);
	CU_ASSERT(f.keepalives >= 2);
	CU_ASSERT(s.keepalive_acks >= 1);
	/* state, SPI and roster by reference */
	CU_ASSERT_EQUAL(perc_ep_get_state(ep), PERC_EP_JOINED);
	CU_ASSERT_TRUE(perc_ep_current_spi(ep, &spi));
	CU_ASSERT_EQUAL(spi, 2);
	CU_ASSERT_EQUAL(perc_ep_roster(ep, &n), 2);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_STRING_EQUAL(perc_ep_roster_member(ep, 1), "c1-x");
	CU_ASSERT_PTR_NULL(perc_ep_roster_member(ep, 2));
	CU_ASSERT_EQUAL(perc_ep_spi_count(ep), 2);
	CU_ASSERT(perc_ep_joined_ms(ep) > 0);
	/* the KD's stepped key unwraps the endpoint's Full fields under SPI 2:
	 * both sides derived the same key */
	CU_ASSERT(f.full_spi2_ok > 3);
	/* its own media came back through the hop (PT and SEQ rewritten) and
	 * opened end to end */
	CU_ASSERT(f.relayed > 60);
	CU_ASSERT_EQUAL(f.relay_fail, 0);
	CU_ASSERT(s.e2e_ok > 60);
	CU_ASSERT_EQUAL(s.e2e_fail, 0);
	CU_ASSERT_EQUAL(s.outer_fail, 0);
	CU_ASSERT_EQUAL(s.ohb_fail, 0);
	CU_ASSERT_EQUAL(s.before_join_ok, 0);
	CU_ASSERT_EQUAL(got.last.key_spi, 2);
	CU_ASSERT(s.rtp_sent >= f.relayed);
	/* leave: BYE, no more media, still receiving */
	perc_ep_leave(ep);
	run(&f, ep, 100, NULL);
	CU_ASSERT_TRUE(f.got_bye);
	CU_ASSERT_EQUAL(perc_ep_get_state(ep), PERC_EP_LEFT);
	CU_ASSERT_EQUAL(perc_ep_send_audio(ep, (const uint8_t *)"x", 1), -1);
	perc_ep_destroy(ep);
	fake_free(&f);
}

static bool
failed(struct fake *f, struct perc_ep *ep)
{
	(void)f;
	return perc_ep_get_state(ep) == PERC_EP_FAILED;
}

static void
test_wrong_pin(void)
{
	struct fake f;
	struct perc_ep_config c;
	struct perc_ep_stats s;
	struct perc_ep *ep;

	fake_init(&f);
	t_config(&c, &pki, "c1-a", PERC_EP_AUDIO, 0);
	c.kd_fingerprint = pki.other.fp;
	ep = ep_for(&f, &c, NULL);
	run(&f, ep, 3000, failed);
	perc_ep_get_stats(ep, &s);
	CU_ASSERT_EQUAL(perc_ep_get_state(ep), PERC_EP_FAILED);
	CU_ASSERT_PTR_NOT_NULL(strstr(perc_ep_failure(ep), "KD certificate fingerprint"));
	CU_ASSERT_PTR_NOT_NULL(strstr(perc_ep_failure(ep), pki.kd.fp + 8));
	CU_ASSERT_PTR_NOT_NULL(strstr(perc_ep_failure(ep), "does not match the pinned"));
	CU_ASSERT_FALSE(f.got_auth); /* not even the token went out */
	run(&f, ep, 100, NULL);
	CU_ASSERT_TRUE(f.got_close); /* but a close_notify did */
	CU_ASSERT_EQUAL(s.rtp_sent, 0);
	CU_ASSERT_EQUAL(perc_ep_joined_ms(ep), 0);
	perc_ep_destroy(ep);
	fake_free(&f);
}

static void
test_no_double_profile(void)
{
	struct fake f;
	struct perc_ep_config c;
	struct perc_ep *ep;

	fake_init(&f);
	f.answer_double = false;
	t_config(&c, &pki, "c1-a", PERC_EP_AUDIO, 0);
	ep = ep_for(&f, &c, NULL);
	run(&f, ep, 3000, failed);
	CU_ASSERT_EQUAL(perc_ep_get_state(ep), PERC_EP_FAILED);
	CU_ASSERT_PTR_NOT_NULL(strstr(perc_ep_failure(ep), "double profile"));
	CU_ASSERT_FALSE(f.got_auth);
	perc_ep_destroy(ep);
	fake_free(&f);
}

static void
test_kd_error(void)
{
	struct fake f;
	struct perc_ep_config c;
	struct perc_ep *ep;

	fake_init(&f);
	f.error_on_auth = true;
	t_config(&c, &pki, "c1-a", PERC_EP_AUDIO, 0);
	ep = ep_for(&f, &c, NULL);
	run(&f, ep, 3000, failed);
	CU_ASSERT_EQUAL(perc_ep_get_state(ep), PERC_EP_FAILED);
	CU_ASSERT_STRING_EQUAL(perc_ep_failure(ep),
			       "KD error 1 (access token refused): token names conference c9");
	perc_ep_destroy(ep);
	fake_free(&f);
}

static bool
joined_some(struct fake *f, struct perc_ep *ep)
{
	struct perc_ep_stats s;

	(void)f;
	perc_ep_get_stats(ep, &s);
	return s.e2e_ok > 10;
}

static void
test_ice_retransmit_and_consent(void)
{
	struct fake f;
	struct perc_ep_config c;
	struct perc_ep_stats s1, s2;
	struct perc_ep *ep;
	uint64_t t0;

	fake_init(&f);
	f.stun_ignore = 2; /* the first two requests are lost */
	t_config(&c, &pki, "c1-a", PERC_EP_AUDIO, 0);
	c.consent_interval_ms = 100;
	c.consent_timeout_ms = 500;
	ep = ep_for(&f, &c, NULL);
	t0 = ep_mono_ms();
	run(&f, ep, 3000, joined_some);
	CU_ASSERT_EQUAL(perc_ep_get_state(ep), PERC_EP_JOINED);
	/* retransmitted at 100 and 200 ms: the third request made it */
	CU_ASSERT(f.stun_req >= 3);
	CU_ASSERT(ep_mono_ms() - t0 >= 300);
	/* consent: requests every 100 ms ... */
	f.stun_req = 0;
	run(&f, ep, 300, NULL);
	CU_ASSERT(f.stun_req >= 2 && f.stun_req <= 4);
	/* ... the MDD stops answering: media stops after 500 ms */
	f.stun_off = true;
	t0 = ep_mono_ms();
	run(&f, ep, 1500, failed);
	CU_ASSERT_EQUAL(perc_ep_get_state(ep), PERC_EP_FAILED);
	CU_ASSERT(ep_mono_ms() - t0 >= 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(perc_ep_failure(ep), "consent"));
	perc_ep_get_stats(ep, &s1);
	run(&f, ep, 200, NULL);
	perc_ep_get_stats(ep, &s2);
	CU_ASSERT_EQUAL(s1.rtp_sent, s2.rtp_sent);
	perc_ep_destroy(ep);
	fake_free(&f);
}

static void
test_ice_gives_up(void)
{
	struct fake f;
	struct perc_ep_config c;
	struct perc_ep *ep;

	fake_init(&f);
	f.stun_off = true;
	t_config(&c, &pki, "c1-a", PERC_EP_AUDIO, 0);
	c.ice_max_tries = 4; /* 100 + 200 + 400 + 800 ms */
	ep = ep_for(&f, &c, NULL);
	run(&f, ep, 3000, failed);
	CU_ASSERT_EQUAL(perc_ep_get_state(ep), PERC_EP_FAILED);
	CU_ASSERT_EQUAL(f.stun_req, 4);
	CU_ASSERT_PTR_NOT_NULL(strstr(perc_ep_failure(ep), "ICE"));
	perc_ep_destroy(ep);
	fake_free(&f);
}

static bool
rejoined(struct fake *f, struct perc_ep *ep)
{
	struct perc_ep_stats s;

	perc_ep_get_stats(ep, &s);
	return f->handshakes >= 2 && f->nacks >= 1 && s.kd_rejoins >= 1 && f->relayed > 40;
}

/* The KD restarts: it forgets the association. The endpoint notices the
 * silence, handshakes again, gets a new key (same SPI number, another key)
 * and media goes on. */
static void
test_kd_restart(void)
{
	struct fake f;
	struct perc_ep_config c;
	struct t_frames got = { 0 };
	struct perc_ep_stats s, s2;
	struct perc_ep *ep;
	uint16_t spi;

	fake_init(&f);
	f.send_step = false;
	t_config(&c, &pki, "c1-a", PERC_EP_AUDIO, 0);
	c.kd_timeout_ms = 600;
	ep = ep_for(&f, &c, &got);
	run(&f, ep, 3000, joined_some);
	run(&f, ep, 600, NULL); /* keepalives answered */
	perc_ep_get_stats(ep, &s);
	CU_ASSERT(s.keepalive_acks >= 1);
	/* restart: new server state, new EKT key under SPI 1 again */
	f_new_ssl(&f);
	ep_random(f.ekt, 16);
	ep_random(f.salt, 12);
	f.nacks = 0;
	f.relayed = 0;
	run(&f, ep, 4000, rejoined);
	perc_ep_get_stats(ep, &s2);
	CU_ASSERT_EQUAL(perc_ep_get_state(ep), PERC_EP_JOINED);
	CU_ASSERT_EQUAL(s2.kd_rejoins, 1);
	CU_ASSERT_EQUAL(f.handshakes, 2);
	CU_ASSERT_TRUE(perc_ep_current_spi(ep, &spi));
	CU_ASSERT_EQUAL(spi, 1);
	CU_ASSERT(f.relayed > 40);
	CU_ASSERT(s2.e2e_ok > s.e2e_ok + 30);
	CU_ASSERT_EQUAL(s2.e2e_fail, 0);
	perc_ep_destroy(ep);
	fake_free(&f);
}

static void
test_create_refuses(void)
{
	struct perc_ep_config c;
	char err[300];

	t_config(&c, &pki, "c1-a", PERC_EP_AUDIO, 3478);
	c.kd_fingerprint = "sha-256 AB:CD";
	CU_ASSERT_PTR_NULL(perc_ep_create(&c, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "kd_fingerprint"));
	t_config(&c, &pki, "c1-a", PERC_EP_AUDIO, 3478);
	c.kd_fingerprint = NULL;
	CU_ASSERT_PTR_NULL(perc_ep_create(&c, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "require_e2e"));
	t_config(&c, &pki, "c1-a", PERC_EP_AUDIO, 3478);
	c.tls_id_len = 19;
	CU_ASSERT_PTR_NULL(perc_ep_create(&c, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "tls_id"));
	t_config(&c, &pki, "c1-a", PERC_EP_AUDIO, 3478);
	c.key_file = pki.kd.key; /* not the certificate's key */
	CU_ASSERT_PTR_NULL(perc_ep_create(&c, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "certificate"));
	t_config(&c, &pki, "c1-a", PERC_EP_AUDIO, 3478);
	c.bind_addr = "192.0.2.300";
	CU_ASSERT_PTR_NULL(perc_ep_create(&c, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "bind address"));
}

int
main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	if (t_pki_init(&pki) != 0)
		return 2;
	T_SUITE("endpoint_dtls");
	T_ADD(test_create_refuses);
	T_ADD(test_join_step_media);
	T_ADD(test_wrong_pin);
	T_ADD(test_no_double_profile);
	T_ADD(test_kd_error);
	T_ADD(test_ice_retransmit_and_consent);
	T_ADD(test_ice_gives_up);
	T_ADD(test_kd_restart);
	int r = t_run();

	t_pki_free(&pki);
	return r;
}
