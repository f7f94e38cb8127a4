/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libperc_ep internals: the endpoint struct, the key arena and the pieces
 * the unit tests reach (EKT send schedule, receiver key logic, sealed
 * header). Not installed; the public API is perc/endpoint.h.
 */
#ifndef PERC_EP_INTERNAL_H
#define PERC_EP_INTERNAL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "perc/double.h"
#include "perc/ekt.h"
#include "perc/endpoint.h"
#include "perc/kdproto.h"
#include "perc/srtp.h"
#include "perc/stun.h"

#define EP_MAX_EKT 4u          /* EKT keys held: current + retiring ones */
#define EP_MAX_SENDERS 32u     /* remote SSRCs tracked */
#define EP_RX_SLOTS 3u         /* E2E keys held per remote SSRC */
#define EP_MAX_SPI_HIST 128u   /* SPIs remembered for the report / leak checks */
#define EP_STREAM_MEM 512u     /* bytes for one perc_stream (window 64) */
#define EP_REPLAY_WINDOW 64u
#define EP_LAT_BINS 10001u     /* latency histogram, 1 ms bins, last = overflow */
#define EP_PKT_MAX 1500u
#define EP_VIDEO_MTU 1200u     /* payload bytes per video packet */
#define EP_FULL_AFTER_KEY 3u   /* Full EKT fields after a new E2E key */
#define EP_AUDIO_FULL_MS 100u  /* audio: a Full field at least this often */
#define EP_PT_AUDIO 111u
#define EP_PT_VIDEO 96u
#define EP_E2E_KEY 16u         /* inner master key (DOUBLE_AEAD_AES_128_GCM) */
#define EP_E2E_SALT 12u
#define EP_EXPORT_LEN 112u     /* 2 * (32 + 24) for profile 0x0009 */

/* ---- sealed payload header (inside the inner layer) ---- */
#define EP_HDR_MAGIC0 0x50u    /* 'P' */
#define EP_HDR_MAGIC1 0x45u    /* 'E' */
#define EP_HDR_VERSION 1u
#define EP_HDR_LEN 28u
#define EP_HDR_F_AUDIO 0x01u
#define EP_HDR_F_VIDEO 0x02u
#define EP_HDR_F_KEY 0x04u

struct ep_sealed_hdr {
	uint8_t flags;
	uint32_t sender_hash;
	int64_t send_ms;
	uint32_t frame_no;
	uint32_t pkt_no;
	uint16_t spi;
};

/** Write h into out (EP_HDR_LEN bytes). */
void ep_hdr_write(uint8_t *out, const struct ep_sealed_hdr *h);
/** Parse; false when shorter, wrong magic or version, or bad flags. */
bool ep_hdr_parse(const uint8_t *p, size_t len, struct ep_sealed_hdr *h);
/** FNV-1a 32 of a NUL-terminated id. */
uint32_t ep_id_hash(const char *id);

/* ---- EKT send schedule (RFC 8870 §4.3 as this endpoint applies it) ---- */
struct ep_ekt_sched {
	bool audio;             /* audio: timed Full fields; video: key frames */
	uint8_t full_left;      /* Full fields still owed after a new key */
	uint64_t last_full_ms;  /* monotonic ms of the last Full field */
};

/** A new E2E key was picked: the next EP_FULL_AFTER_KEY packets carry Full. */
void ep_sched_new_key(struct ep_ekt_sched *s);
/** Whether the packet sent now carries a Full field (and account for it). */
bool ep_sched_full(struct ep_ekt_sched *s, uint64_t now_ms, bool key_frame);

/* ---- key material: everything here lives in the locked arena ---- */
struct ep_ekt_key {
	bool used;
	uint16_t spi;
	uint8_t len;
	uint8_t key[32];
	uint8_t salt[EP_E2E_SALT];  /* conference E2E master salt with it */
	uint64_t got_ms;        /* monotonic */
	uint64_t retire_ms;     /* 0: current; else monotonic ms it goes */
	uint64_t ttl_ms;        /* ekt_ttl (RFC 8870): gone at got_ms + ttl_ms; 0: none */
};

struct ep_rx_slot {
	bool used;
	uint16_t spi;           /* SPI of the EKT key that brought it */
	uint16_t epoch;
	uint8_t e2e[EP_E2E_KEY];
	uint8_t salt[EP_E2E_SALT];
	uint64_t got_ms;
	uint64_t retire_ms;     /* 0: newest of its sender */
	struct perc_double_key dk;  /* inner = sender's E2E, outer = our rx */
	uint64_t st_mem[EP_STREAM_MEM / 8];
	struct perc_stream *inner_st;
};

struct ep_tx_key {
	bool valid;
	uint16_t spi;
	uint8_t e2e[EP_E2E_KEY];
	uint8_t salt[EP_E2E_SALT];
	struct perc_double_key dk;  /* inner = our E2E, outer = client_write */
};

struct ep_arena {
	uint8_t tx_outer_key[16], tx_outer_salt[12];
	uint8_t rx_outer_key[16], rx_outer_salt[12];
	bool outer_ok;
	struct perc_key rx_outer;   /* outer check before the inner layer */
	struct ep_ekt_key ekt[EP_MAX_EKT];
	struct ep_tx_key tx[2];     /* 0 audio, 1 video */
	struct ep_rx_slot rx[EP_MAX_SENDERS][EP_RX_SLOTS];
};

/* ---- non-secret per-remote-SSRC state ---- */
struct ep_sender {
	bool used;
	uint32_t ssrc;
	uint64_t st_mem[EP_STREAM_MEM / 8];   /* outer replay */
	struct perc_stream *outer_st;
	bool seen_pkt;
	uint32_t top_pkt;                     /* highest sealed pkt_no */
	/* the sender's newest Full field names an SPI we do not hold (yet:
	 * its EKT key may still be on its way from the KD; then the field is
	 * unwrapped when the key arrives) */
	bool unknown_spi;
	uint16_t pend_spi;
	uint8_t pend_len;
	uint8_t pend_field[PERC_EKT_FIELD_MAX];
};

struct ep_tx {
	bool on;
	uint8_t kind;
	uint32_t ssrc;
	uint16_t seq;
	uint32_t roc;
	uint32_t ts;
	uint32_t frame_no;
	uint32_t pkt_no;
	struct ep_ekt_sched sched;
};

struct ep_spi_hist {
	uint16_t spi;
	int64_t received_ms;
	int64_t first_send_ms;
	int64_t replaced_ms;
	uint32_t roster_version;
};

struct perc_ep {
	struct perc_ep_config cfg;   /* string fields point at the copies below */
	char *s_id, *s_conf, *s_token, *s_mdd_ufrag, *s_mdd_pwd, *s_ufrag;
	uint8_t tls_id[255];
	size_t tls_id_len;
	uint8_t pin[32];
	bool has_pin;
	uint32_t id_hash;

	int fd;
	struct sockaddr_in mdd;
	uint16_t local_port;
	enum perc_ep_state state;
	char failure[320];
	struct perc_engine *eng;
	struct ep_arena *keys;
	size_t arena_len;

	/* ICE */
	uint8_t ice_tid[PERC_STUN_TID_LEN];
	uint32_t ice_tries;
	uint32_t ice_rto;
	uint64_t ice_next;
	bool ice_done;
	uint64_t tie_breaker;
	uint8_t consent_tid[PERC_STUN_TID_LEN];
	uint64_t consent_next;
	uint64_t consent_last_ok;
	bool consent_lost;

	/* DTLS and the KD */
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *rbio;
	bool hs_done;
	bool dbl_answered;
	uint16_t dbl_profile;
	bool ekt_answered;
	uint8_t ekt_cipher;
	bool tlsid_answered;
	uint64_t ka_next;
	uint32_t ka_seq;
	uint64_t kd_last_rx;        /* monotonic ms of the last KD message */
	uint64_t hs_deadline;       /* handshake must be done by then */
	bool rejoining;             /* new DTLS association, keys kept meanwhile */
	bool ka_acked;              /* the KD has answered a KEEPALIVE */
	unsigned rejoins;
	bool started;

	/* EKT */
	bool have_ekt;
	uint16_t cur_spi;
	struct perc_kd_roster roster;
	struct ep_spi_hist hist[EP_MAX_SPI_HIST];
	unsigned nhist;
	uint16_t leave_spis[EP_MAX_EKT];
	unsigned n_leave_spis;
	int64_t joined_ms, left_ms;

	/* media */
	struct ep_tx tx[2];
	struct ep_sender snd[EP_MAX_SENDERS];
	struct perc_stream *fresh_st;   /* an unseen stream, for index guesses */
	uint64_t fresh_mem[EP_STREAM_MEM / 8];

	/* a whole DTLS flight may come as one datagram (the KD's output of
	 * one step, relayed by the MDD): room for the largest UDP payload */
	uint8_t rxbuf[65536];

	struct perc_ep_stats st;
	uint32_t lat_hist[EP_LAT_BINS];
	uint64_t lat_n;
	double lat_max;
};

/* ep_core.c */
uint64_t ep_mono_ms(void);
int64_t ep_real_ms(void);
void ep_log(struct perc_ep *ep, enum perc_ep_log lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ep_fail(struct perc_ep *ep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ep_set_state(struct perc_ep *ep, enum perc_ep_state s);
void ep_keylog(struct perc_ep *ep, const char *what, const char *attrs, const uint8_t *k,
	       size_t n);
void ep_send(struct perc_ep *ep, const uint8_t *p, size_t n);
void ep_random(void *p, size_t n);

/* ep_ice.c */
void ep_ice_start(struct perc_ep *ep);
void ep_ice_timer(struct perc_ep *ep, uint64_t now);
void ep_ice_input(struct perc_ep *ep, const uint8_t *p, size_t n);
bool ep_may_send_media(const struct perc_ep *ep);

/* ep_dtls.c */
int ep_dtls_ctx(struct perc_ep *ep, char *err, size_t errlen);
void ep_dtls_start(struct perc_ep *ep);
void ep_dtls_input(struct perc_ep *ep, const uint8_t *p, size_t n);
void ep_dtls_timer(struct perc_ep *ep, uint64_t now);
uint64_t ep_dtls_next(const struct perc_ep *ep, uint64_t now);
void ep_dtls_free(struct perc_ep *ep);
/** close_notify to the KD (after a refusal before joining). */
void ep_dtls_close(struct perc_ep *ep);
int ep_kd_send(struct perc_ep *ep, const struct perc_kd_msg *m);
int ep_parse_fingerprint(const char *s, uint8_t out[32]);

/* ep_keys.c: EKT keys, E2E keys, outer keys */
int ep_install_outer(struct perc_ep *ep, const uint8_t exported[EP_EXPORT_LEN]);
int ep_ekt_install(struct perc_ep *ep, uint16_t spi, const uint8_t *key, size_t len,
		   const uint8_t *salt, size_t salt_len, uint32_t roster_version, uint64_t now);
struct ep_ekt_key *ep_ekt_find(struct perc_ep *ep, uint16_t spi, uint64_t now);
struct ep_ekt_key *ep_ekt_current(struct perc_ep *ep);
/** The EKT_KEY's ekt_ttl in seconds for the key of spi (0: no limit). */
void ep_ekt_set_ttl(struct perc_ep *ep, uint16_t spi, uint32_t ttl_s);
void ep_keys_expire(struct perc_ep *ep, uint64_t now);
/** Monotonic ms of the next key retirement; 0: none pending. */
uint64_t ep_keys_next_retire(const struct perc_ep *ep);
int ep_tx_rekey(struct perc_ep *ep, unsigned idx);
/** Install a sender's E2E key from a Full field: 0 new, 1 already held,
 *  -1 stale epoch, -2 engine refused. *slot is set on 0 and 1. */
int ep_rx_install(struct perc_ep *ep, unsigned sender, uint16_t spi, uint16_t epoch,
		  const uint8_t *e2e, const uint8_t *salt, uint32_t roc, uint64_t now,
		  unsigned *slot);
void ep_keys_wipe(struct perc_ep *ep);

/* ep_media.c */
void ep_media_input(struct perc_ep *ep, uint8_t *p, size_t n);
/** An EKT key arrived: unwrap the Full fields that were waiting for it. */
void ep_media_pending(struct perc_ep *ep, uint16_t spi, uint64_t now);
int ep_sender_find(struct perc_ep *ep, uint32_t ssrc, bool create);

#endif
