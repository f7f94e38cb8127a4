/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A fake MDD + KD in one process, for tests/integration/test_endpoint_cli.sh:
 * perc-endpoint's CLI against something that speaks its protocols without
 * perc-kd / perc-mdd. One UDP socket on 127.0.0.1; per peer (5-tuple) an
 * ICE-lite answer, a DTLS 1.2 server with the kdproto.h extensions, the KD
 * messages, and a relay that moves each SRTP packet to every other peer
 * (outer layer: open with the sender's client_write half, seal with the
 * receiver's server_write half; EKT field carried through).
 *
 * KD behaviour: the token is the participant id ("bad-*" is refused with
 * ERROR 1). First member: random EKT key, SPI 1. Join: EKT_STEP (HKDF step)
 * to the members, EKT_KEY with the stepped key to the joiner. BYE: a random
 * key under a new SPI in EKT_KEY to the remaining members.
 *
 * usage: test_endpoint_fakekd PORT_FILE KD_CERT KD_KEY ICE_PWD SECONDS
 * Prints a summary line at the end: "fakekd relayed=N relay_fail=N ...".
 */
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "perc/double.h"
#include "perc/ekt.h"
#include "perc/kdproto.h"
#include "perc/rtp.h"
#include "perc/stun.h"

#define MAX_PEERS 16

struct peer {
	bool used;
	struct sockaddr_in addr;
	SSL *ssl;
	BIO *rb, *wb;
	bool hs_done, member, left;
	char id[PERC_KD_MAX_ID];
	uint8_t tlsid[256];
	size_t tlsid_len;
	struct perc_key in, out;
	bool keys;
	uint16_t out_seq;
};

static struct {
	int fd;
	SSL_CTX *ctx;
	const char *pwd;
	struct perc_engine *e;
	struct peer p[MAX_PEERS];
	uint8_t key[16], salt[12];
	uint16_t spi;
	uint32_t ver;
	unsigned relayed, relay_fail, joins, leaves, errors, acks;
} g;

static int idx = -1;
static volatile sig_atomic_t stop;

static void
on_sig(int s)
{
	(void)s;
	stop = 1;
}

static int
ext_add(SSL *s, unsigned int type, unsigned int ctx, const unsigned char **out, size_t *outlen,
	X509 *x, size_t chainidx, int *al, void *arg)
{
	static const uint8_t ekt[] = { 1 }, dbl[] = { 0x00, 0x09 };
	struct peer *p = SSL_get_ex_data(s, idx);

	(void)ctx;
	(void)x;
	(void)chainidx;
	(void)al;
	(void)arg;
	if (type == PERC_EXT_EKT_CIPHERS) {
		*out = ekt;
		*outlen = 1;
	} else if (type == PERC_EXT_DOUBLE_SRTP) {
		*out = dbl;
		*outlen = 2;
	} else {
		*out = p->tlsid;
		*outlen = p->tlsid_len;
	}
	return 1;
}

static int
ext_parse(SSL *s, unsigned int type, unsigned int ctx, const unsigned char *in, size_t inlen,
	  X509 *x, size_t chainidx, int *al, void *arg)
{
	struct peer *p = SSL_get_ex_data(s, idx);

	(void)ctx;
	(void)x;
	(void)chainidx;
	(void)al;
	(void)arg;
	if (type == PERC_EXT_EXTERNAL_SESSION_ID && inlen <= sizeof(p->tlsid)) {
		memcpy(p->tlsid, in, inlen);
		p->tlsid_len = inlen;
	}
	return 1;
}

static int
verify_any(int ok, X509_STORE_CTX *c)
{
	(void)ok;
	(void)c;
	return 1;
}

static void
flush(struct peer *p)
{
	uint8_t buf[8192];
	int n;

	while ((n = BIO_read(p->wb, buf, sizeof(buf))) > 0)
		sendto(g.fd, buf, (size_t)n, 0, (struct sockaddr *)&p->addr, sizeof(p->addr));
}

static void
send_msg(struct peer *p, const struct perc_kd_msg *m)
{
	uint8_t buf[PERC_KD_MAX_MSG];
	int n = perc_kd_encode(m, buf, sizeof(buf));

	if (n > 0 && SSL_write(p->ssl, buf, n) == n)
		flush(p);
}

static void
roster(struct perc_kd_roster *r)
{
	memset(r, 0, sizeof(*r));
	r->version = g.ver;
	for (unsigned i = 0; i < MAX_PEERS; i++)
		if (g.p[i].used && g.p[i].member && r->n < PERC_KD_MAX_ROSTER)
			snprintf(r->ids[r->n++], PERC_KD_MAX_ID, "%s", g.p[i].id);
}

static void
send_key(struct peer *p)
{
	struct perc_kd_msg m = { .type = PERC_KD_EKT_KEY, .spi = g.spi, .ekt_key_len = 16,
				 .salt_len = 12, .ttl = 3600 };

	memcpy(m.ekt_key, g.key, 16);
	memcpy(m.salt, g.salt, 12);
	roster(&m.roster);
	send_msg(p, &m);
}

static void
join(struct peer *p)
{
	struct perc_kd_msg m = { .type = PERC_KD_EKT_STEP };
	bool any = false;
	uint8_t next[16];

	for (unsigned i = 0; i < MAX_PEERS; i++)
		any |= g.p[i].used && g.p[i].member;
	if (!any) {
		RAND_bytes(g.key, 16);
		RAND_bytes(g.salt, 12);
		g.spi = 1;
		g.ver = 1;
	} else {
		g.spi++;
		g.ver++;
		perc_kd_step_key(g.key, 16, g.salt, 12, g.spi, g.ver, next);
		memcpy(g.key, next, 16);
		p->member = true;
		m.spi = g.spi;
		roster(&m.roster);
		for (unsigned i = 0; i < MAX_PEERS; i++)
			if (g.p[i].used && g.p[i].member && &g.p[i] != p)
				send_msg(&g.p[i], &m);
	}
	p->member = true;
	g.joins++;
	send_key(p);
}

static void
leave(struct peer *p)
{
	p->member = false;
	p->left = true;
	g.leaves++;
	RAND_bytes(g.key, 16);
	g.spi++;
	g.ver++;
	for (unsigned i = 0; i < MAX_PEERS; i++)
		if (g.p[i].used && g.p[i].member)
			send_key(&g.p[i]);
}

static void
kd_msg(struct peer *p, const struct perc_kd_msg *m)
{
	struct perc_kd_msg r = { 0 };

	switch (m->type) {
	case PERC_KD_AUTH:
		snprintf(p->id, sizeof(p->id), "%.*s", (int)m->token_len, m->token);
		if (strncmp(p->id, "bad-", 4) == 0) {
			r.type = PERC_KD_ERROR;
			r.code = PERC_KD_E_TOKEN;
			snprintf(r.text, sizeof(r.text), "token %s refused", p->id);
			send_msg(p, &r);
			g.errors++;
			return;
		}
		join(p);
		break;
	case PERC_KD_EKT_ACK:
		g.acks++;
		break;
	case PERC_KD_KEEPALIVE:
		r.type = PERC_KD_KEEPALIVE_ACK;
		r.seq = m->seq;
		send_msg(p, &r);
		break;
	case PERC_KD_BYE:
		if (p->member)
			leave(p);
		break;
	default:
		break;
	}
}

static void
handshake_done(struct peer *p)
{
	const struct perc_profile *layer =
		perc_profile_layer(perc_profile_by_id(PERC_DOUBLE_AES_128_GCM));
	uint8_t ex[112];

	p->hs_done = true;
	if (SSL_export_keying_material(p->ssl, ex, sizeof(ex), "EXTRACTOR-dtls_srtp", 19, NULL, 0,
				       0) != 1)
		return;
	p->keys = perc_key_init(&p->in, g.e, layer, ex + 16, ex + 76) == PERC_R_OK &&
		  perc_key_init(&p->out, g.e, layer, ex + 48, ex + 100) == PERC_R_OK;
	OPENSSL_cleanse(ex, sizeof(ex));
}

static void
dtls(struct peer *p, const uint8_t *b, size_t n)
{
	uint8_t buf[PERC_KD_MAX_MSG];
	int r;

	BIO_write(p->rb, b, (int)n);
	if (!p->hs_done) {
		r = SSL_do_handshake(p->ssl);
		flush(p);
		ERR_clear_error();
		if (r != 1)
			return;
		handshake_done(p);
	}
	while ((r = SSL_read(p->ssl, buf, sizeof(buf))) > 0) {
		struct perc_kd_msg m;

		if (perc_kd_decode(buf, (size_t)r, &m) == PERC_R_OK)
			kd_msg(p, &m);
	}
	ERR_clear_error();
	flush(p);
}

static void
stun(struct peer *p, const uint8_t *b, size_t n)
{
	struct perc_stun_msg m;
	struct perc_stun_addr a = { .family = 4, .port = ntohs(p->addr.sin_port) };
	uint8_t out[512];
	int len;

	if (perc_stun_parse(b, n, &m) != PERC_R_OK || m.type != PERC_STUN_BINDING_REQUEST ||
	    perc_stun_check_integrity(&m, g.pwd, strlen(g.pwd)) != PERC_R_OK)
		return;
	memcpy(a.addr, &p->addr.sin_addr, 4);
	len = perc_stun_build_success(out, sizeof(out), m.tid, &a, g.pwd, strlen(g.pwd));
	if (len > 0)
		sendto(g.fd, out, (size_t)len, 0, (struct sockaddr *)&p->addr, sizeof(p->addr));
}

static void
relay(struct peer *from, const uint8_t *b, size_t n)
{
	int fl = perc_ekt_field_len(b, n);

	if (!from->keys || fl < 0) {
		g.relay_fail++;
		return;
	}
	for (unsigned i = 0; i < MAX_PEERS; i++) {
		struct peer *to = &g.p[i];
		struct perc_hop_change c = { .pt = -1, .seq = -1, .marker = -1 };
		uint8_t out[2048];
		uint32_t olen;

		if (!to->used || to == from || !to->keys)
			continue;
		c.seq = to->out_seq++; /* a per-receiver SEQ, recorded in the OHB */
		if (perc_hop_relay(g.e, &from->in, NULL, 0, &to->out, NULL, 0, &c, b,
				   (uint32_t)(n - (size_t)fl), out, sizeof(out) - 64, &olen) !=
		    PERC_R_OK) {
			g.relay_fail++;
			continue;
		}
		memcpy(out + olen, b + n - fl, (size_t)fl);
		olen += (uint32_t)fl;
		sendto(g.fd, out, olen, 0, (struct sockaddr *)&to->addr, sizeof(to->addr));
		g.relayed++;
	}
}

static struct peer *
peer_of(const struct sockaddr_in *a)
{
	struct peer *free_p = NULL;

	for (unsigned i = 0; i < MAX_PEERS; i++) {
		if (g.p[i].used && g.p[i].addr.sin_port == a->sin_port &&
		    g.p[i].addr.sin_addr.s_addr == a->sin_addr.s_addr)
			return &g.p[i];
		if (!g.p[i].used && free_p == NULL)
			free_p = &g.p[i];
	}
	if (free_p == NULL)
		return NULL;
	memset(free_p, 0, sizeof(*free_p));
	free_p->used = true;
	free_p->addr = *a;
	free_p->ssl = SSL_new(g.ctx);
	free_p->rb = BIO_new(BIO_s_mem());
	free_p->wb = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(free_p->rb, -1);
	SSL_set_bio(free_p->ssl, free_p->rb, free_p->wb);
	SSL_set_ex_data(free_p->ssl, idx, free_p);
	SSL_set_options(free_p->ssl, SSL_OP_NO_QUERY_MTU);
	SSL_set_mtu(free_p->ssl, 1200);
	SSL_set_accept_state(free_p->ssl);
	free_p->out_seq = 1000;
	return free_p;
}

static int
setup(const char *cert, const char *key)
{
	static const unsigned ctxf = SSL_EXT_CLIENT_HELLO | SSL_EXT_TLS1_2_SERVER_HELLO;
	static const unsigned exts[] = { PERC_EXT_EKT_CIPHERS, PERC_EXT_EXTERNAL_SESSION_ID,
					 PERC_EXT_DOUBLE_SRTP };

	idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	g.ctx = SSL_CTX_new(DTLS_server_method());
	if (g.ctx == NULL || SSL_CTX_use_certificate_file(g.ctx, cert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(g.ctx, key, SSL_FILETYPE_PEM) != 1)
		return -1;
	SSL_CTX_set_min_proto_version(g.ctx, DTLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(g.ctx, DTLS1_2_VERSION);
	SSL_CTX_set_tlsext_use_srtp(g.ctx, "SRTP_AEAD_AES_128_GCM");
	SSL_CTX_set_verify(g.ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_any);
	for (unsigned i = 0; i < 3; i++)
		if (SSL_CTX_add_custom_ext(g.ctx, exts[i], ctxf, ext_add, NULL, NULL, ext_parse,
					   NULL) != 1)
			return -1;
	g.e = perc_engine_create(PERC_ARCH_AUTO);
	return g.e != NULL ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t al = sizeof(a);
	struct timespec t0, t;
	double secs;
	FILE *pf;

	if (argc != 6) {
		fprintf(stderr, "usage: %s PORT_FILE KD_CERT KD_KEY ICE_PWD SECONDS\n", argv[0]);
		return 2;
	}
	g.pwd = argv[4];
	secs = atof(argv[5]);
	if (setup(argv[2], argv[3]) != 0) {
		fprintf(stderr, "fakekd: cannot set up DTLS with %s / %s\n", argv[2], argv[3]);
		return 2;
	}
	g.fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (g.fd < 0 || bind(g.fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		return 2;
	getsockname(g.fd, (struct sockaddr *)&a, &al);
	pf = fopen(argv[1], "w");
	if (pf == NULL)
		return 2;
	fprintf(pf, "%u\n", ntohs(a.sin_port));
	fclose(pf);
	signal(SIGTERM, on_sig);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop) {
		struct pollfd p = { .fd = g.fd, .events = POLLIN };
		uint8_t buf[4096];
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n;
		struct peer *pe;

		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 > secs)
			break;
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recvfrom(g.fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n <= 0 || (pe = peer_of(&from)) == NULL)
			continue;
		switch (perc_demux(buf, (size_t)n)) {
		case PERC_DEMUX_STUN: stun(pe, buf, (size_t)n); break;
		case PERC_DEMUX_DTLS: dtls(pe, buf, (size_t)n); break;
		case PERC_DEMUX_RTP: relay(pe, buf, (size_t)n); break;
		default: break;
		}
	}
	printf("fakekd relayed=%u relay_fail=%u joins=%u leaves=%u errors=%u acks=%u spi=%u\n",
	       g.relayed, g.relay_fail, g.joins, g.leaves, g.errors, g.acks, g.spi);
	return 0;
}
