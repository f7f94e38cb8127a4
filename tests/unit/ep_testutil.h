/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers of the libperc_ep tests: certificates, sockets, endpoints that a
 * test drives by hand (through the library's internals). */
#ifndef PERC_EP_TESTUTIL_H
#define PERC_EP_TESTUTIL_H

#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../../endpoint/ep_internal.h"

/* one P-256 self-signed certificate */
struct t_cert {
	char cert[300], key[300];
	char fp[120];        /* "sha-256 AB:..." */
};

struct ep_pki {
	char dir[256];
	struct t_cert ep, kd, other;
};

static inline int
t_make_cert(const char *dir, const char *name, struct t_cert *c)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	uint8_t md[32];
	unsigned int mdl;
	FILE *f;
	char *p;

	if (k == NULL || x == NULL)
		return -1;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)name, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	if (X509_sign(x, k, EVP_sha256()) == 0)
		return -1;
	snprintf(c->cert, sizeof(c->cert), "%s/%s.pem", dir, name);
	snprintf(c->key, sizeof(c->key), "%s/%s.key", dir, name);
	f = fopen(c->cert, "w");
	if (f == NULL)
		return -1;
	PEM_write_X509(f, x);
	fclose(f);
	f = fopen(c->key, "w");
	if (f == NULL)
		return -1;
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_digest(x, EVP_sha256(), md, &mdl);
	p = c->fp + sprintf(c->fp, "sha-256 ");
	for (unsigned i = 0; i < 32; i++)
		p += sprintf(p, i ? ":%02X" : "%02X", md[i]);
	X509_free(x);
	EVP_PKEY_free(k);
	return 0;
}

static inline int
t_pki_init(struct ep_pki *p)
{
	snprintf(p->dir, sizeof(p->dir), "/tmp/perc-ep-test-XXXXXX");
	if (mkdtemp(p->dir) == NULL)
		return -1;
	if (t_make_cert(p->dir, "ep", &p->ep) || t_make_cert(p->dir, "kd", &p->kd) ||
	    t_make_cert(p->dir, "other", &p->other))
		return -1;
	return 0;
}

static inline void
t_pki_free(struct ep_pki *p)
{
	const struct t_cert *c[] = { &p->ep, &p->kd, &p->other };

	for (unsigned i = 0; i < 3; i++) {
		unlink(c[i]->cert);
		unlink(c[i]->key);
	}
	rmdir(p->dir);
}

/* frames received through on_frame */
struct t_frames {
	unsigned n;
	struct perc_ep_frame last;
	int last_byte;        /* last payload byte of the last frame */
};

static inline void
t_on_frame(void *arg, struct perc_ep *ep, const struct perc_ep_frame *f)
{
	struct t_frames *t = arg;

	(void)ep;
	if (t == NULL)
		return;
	t->n++;
	t->last = *f;
	t->last_byte = f->len ? f->payload[f->len - 1] : -1;
	t->last.payload = NULL;
}

static char t_logbuf[65536];
static size_t t_logn;

static inline void
t_on_log(void *arg, struct perc_ep *ep, enum perc_ep_log lvl, const char *msg)
{
	int n;

	(void)arg;
	(void)lvl;
	n = snprintf(t_logbuf + t_logn, sizeof(t_logbuf) - t_logn, "%s: %s\n", perc_ep_id(ep),
		     msg);
	if (n > 0 && t_logn + (size_t)n < sizeof(t_logbuf))
		t_logn += (size_t)n;
	if (getenv("EP_TEST_VERBOSE"))
		fprintf(stderr, "[%s] %s\n", perc_ep_id(ep), msg);
}

static inline void
t_log_capture_reset(void)
{
	t_logn = 0;
	t_logbuf[0] = '\0';
}

static inline const char *
t_log_capture(void)
{
	return t_logbuf;
}

/* UDP socket on 127.0.0.1, any port; *port gets it */
static inline int
t_udp_socket(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		abort();
	getsockname(fd, (struct sockaddr *)&a, &al);
	if (port != NULL)
		*port = ntohs(a.sin_port);
	return fd;
}

static inline ssize_t
t_recv(int fd, uint8_t *buf, size_t cap, int timeout_ms)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };

	if (poll(&pf, 1, timeout_ms) <= 0)
		return -1;
	return recv(fd, buf, cap, 0);
}

static inline void
t_config(struct perc_ep_config *c, const struct ep_pki *pki, const char *id, unsigned media,
	 uint16_t mdd_port)
{
	static const uint8_t tls_id[20] = "0123456789abcdefghij";

	perc_ep_config_defaults(c);
	c->id = id;
	c->conference = "c1";
	c->cert_file = pki->ep.cert;
	c->key_file = pki->ep.key;
	c->token = "token-for-tests";
	c->tls_id = tls_id;
	c->tls_id_len = sizeof(tls_id);
	c->bind_addr = "127.0.0.1";
	c->mdd_addr = "127.0.0.1";
	c->mdd_port = mdd_port;
	c->mdd_ufrag = "mddU";
	c->mdd_pwd = "mdd-password-0123456789";
	c->ufrag = "epU1";
	c->kd_fingerprint = pki->kd.fp;
	c->media = media;
	c->on_log = t_on_log;
}

static inline struct perc_ep *
t_ep_new(const struct ep_pki *pki, const char *id, unsigned media, uint32_t overlap,
	 struct t_frames *frames)
{
	struct perc_ep_config c;
	char err[300];
	struct perc_ep *ep;

	t_config(&c, pki, id, media, 9);
	c.overlap_ms = overlap;
	c.on_frame = t_on_frame;
	c.cb_arg = frames;
	ep = perc_ep_create(&c, err, sizeof(err));
	if (ep == NULL)
		fprintf(stderr, "perc_ep_create: %s\n", err);
	return ep;
}

/* test hook: send to this test's socket */
static inline void
t_ep_point_at(struct perc_ep *ep, int fd)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	getsockname(fd, (struct sockaddr *)&a, &al);
	ep->mdd = a;
}

/* test hook: as if ICE and the handshake were done */
static inline void
t_ep_force_joined(struct perc_ep *ep)
{
	ep->started = true;
	ep->ice_done = true;
	ep->consent_last_ok = ep_mono_ms();
	ep->consent_next = ep_mono_ms() + 3600000;
	ep->state = PERC_EP_JOINED;
	ep->joined_ms = ep_real_ms();
}

/* whether the mapping that holds addr has the VmFlags flag */
static inline bool
t_smaps_has_flag(const void *addr, const char *flag)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	uintptr_t a = (uintptr_t)addr;
	char line[512];
	bool in = false, found = false;

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		char c;

		if (sscanf(line, "%lx-%lx %c", &lo, &hi, &c) == 3 && strchr(line, ' ') != NULL &&
		    strncmp(line, "VmFlags", 7) != 0)
			in = a >= lo && a < hi;
		if (in && strncmp(line, "VmFlags:", 8) == 0) {
			found = strstr(line + 8, flag) != NULL;
			break;
		}
	}
	fclose(f);
	return found;
}

#endif
