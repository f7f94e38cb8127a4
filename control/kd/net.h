/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * perc-kd network side: TLS 1.3 tunnels from MDDs (RFC 9185) and the DTLS
 * 1.2 associations tunneled inside them, one thread, one epoll set.
 */
#ifndef PERC_KD_NET_H
#define PERC_KD_NET_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "perc/tunnel.h"
#include "kd.h"

#define KD_DTLS_MTU 1200u
#define KD_TUN_OUT_MAX (4u << 20)     /**< an MDD that stops reading is cut off */
#define KD_MAX_ASSOCS_PER_TUNNEL 4096u
#define KD_UNJOINED_MIN_MS 10000u     /**< handshake + AUTH must finish within */

enum kd_fd_kind { KD_FD_LISTEN = 1, KD_FD_TUNNEL, KD_FD_API_LISTEN, KD_FD_API_CLIENT };

/** First member of everything registered in epoll. */
struct kd_fd {
	enum kd_fd_kind kind;
	int fd;
};

enum kd_assoc_state { KD_A_HANDSHAKE, KD_A_WAIT_AUTH, KD_A_MEMBER, KD_A_DEAD };

struct kd_tunnel;

struct kd_assoc {
	uint8_t uuid[16];
	char uuid_s[40];
	struct kd_tunnel *tun;
	SSL *ssl;
	BIO *rbio, *wbio;                 /**< memory BIOs (owned by ssl) */
	enum kd_assoc_state state;
	/* from the ClientHello */
	uint8_t tls_id[KD_MAX_TLS_ID];
	uint8_t tls_id_len;
	uint8_t ext56[1 + KD_MAX_TLS_ID]; /**< our echo of external_session_id */
	bool ekt_ok;                      /**< aeskw_128 offered */
	bool double_ok;                   /**< 0x0009 offered */
	uint8_t *cert_der;                /**< client certificate (for cnf) */
	int cert_len;
	struct kd_entry *entry;           /**< matched roster entry */
	uint64_t created_mono, last_rx_mono;
	struct kd_assoc *next;
};

enum kd_tun_state { KD_T_HANDSHAKE, KD_T_PROFILES, KD_T_READY };

struct kd_tunnel {
	struct kd_fd f;
	unsigned int id;
	char peer[80];
	SSL *ssl;
	enum kd_tun_state state;
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out;
	size_t out_len, out_cap;
	bool epollout;
	bool closing;                     /**< close when out is flushed */
	bool dead;                        /**< reaped at the end of the loop pass */
	unsigned int n_assocs;
	struct kd_assoc *assocs;
	struct kd_tunnel *next;
};

struct kd_net {
	struct kd *kd;
	SSL_CTX *tls;
	SSL_CTX *dtls;
	int epfd;
	struct kd_fd listen;
	EVP_PKEY **issuer_keys;
	size_t n_issuer_keys;
	const char *iss, *aud;
	uint32_t keepalive_ms;
	unsigned int next_tunnel_id;
	struct kd_tunnel *tunnels;
};

uint64_t kd_mono_ms(void);

/* tunnel.c */
int kd_net_ctx_init(struct kd_net *n, const char *cert, const char *key, const char *mdd_ca);
int kd_net_listen(struct kd_net *n, const char *addr);
void kd_net_accept(struct kd_net *n);
void kd_tunnel_event(struct kd_net *n, struct kd_tunnel *t, uint32_t events);
/** Append a tunnel message and try to send. Marks the tunnel dead on failure. */
void kd_tunnel_send(struct kd_net *n, struct kd_tunnel *t, const struct perc_tun_msg *m);
void kd_tunnel_flush(struct kd_net *n, struct kd_tunnel *t);
/** Free dead tunnels and dead associations. */
void kd_net_reap(struct kd_net *n);
void kd_net_fini(struct kd_net *n);

/* assoc.c */
int kd_dtls_ctx_setup(SSL_CTX *ctx);
void kd_assoc_input(struct kd_net *n, struct kd_tunnel *t, const uint8_t uuid[16],
		    const uint8_t *rec, size_t len);
void kd_assoc_disconnect(struct kd_net *n, struct kd_tunnel *t, const uint8_t uuid[16]);
/** Leave, send close_notify when the tunnel is alive, mark dead. */
void kd_assoc_kill(struct kd_net *n, struct kd_assoc *a, const char *why);
void kd_assoc_free(struct kd_assoc *a);
/** Timers: DTLS retransmission, keepalive, unfinished associations. */
void kd_assoc_timers(struct kd_net *n);
/** The roster's view of the network (struct kd_ops). */
void kd_assoc_ops(struct kd_net *n, struct kd_ops *ops);

#endif
