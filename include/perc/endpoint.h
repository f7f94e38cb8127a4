/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * libperc_ep: a PERC endpoint (RFC 8871) for tests and demos of perc-mdd.
 *
 * One struct perc_ep is one participant: an ICE client (controlling, RFC
 * 8445 / 5389, consent freshness RFC 7675) towards the Media Distributor,
 * a DTLS 1.2 client to the Key Distributor through it (RFC 9185 tunnel on
 * the MDD side), the endpoint <-> KD messages of perc/kdproto.h, EKT (RFC
 * 8870) and double SRTP (RFC 8723) for audio and video.
 *
 * Keys are handled by reference only: no function of this header returns
 * key bytes or accepts them. The application learns SPIs, epochs, roster
 * versions and SSRCs. Key material lives inside the library in memory that
 * is locked (mlock, where the limit allows) and kept out of core dumps
 * (MADV_DONTDUMP), and is zeroized when a key is retired and on
 * perc_ep_destroy(). The one way out is the optional key log
 * (perc_ep_config.keylog), for debugging with packet analysers.
 *
 * The endpoint is poll-driven and single-threaded: watch perc_ep_fd() for
 * input, wake up after perc_ep_next_timeout_ms(), call perc_ep_poll().
 */
#ifndef PERC_ENDPOINT_H
#define PERC_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** Opaque endpoint. */
struct perc_ep;

/** Where an endpoint is in its life. */
enum perc_ep_state {
	PERC_EP_ICE = 0,    /**< connectivity checks towards the MDD */
	PERC_EP_DTLS,       /**< DTLS handshake with the KD (through the MDD) */
	PERC_EP_AUTH,       /**< AUTH sent, waiting for EKT_KEY */
	PERC_EP_JOINED,     /**< holds an EKT key, sends and receives media */
	PERC_EP_LEFT,       /**< sent BYE; still receives (see docs/endpoint.md) */
	PERC_EP_FAILED,     /**< gave up; perc_ep_failure() says why */
};

/** Name of a state: "ice", "dtls", "auth", "joined", "left", "failed". */
const char *perc_ep_state_name(enum perc_ep_state s);

/** Media kinds (bits). */
#define PERC_EP_AUDIO 0x1u
#define PERC_EP_VIDEO 0x2u

/** A received frame packet, already verified (outer and inner layer). */
struct perc_ep_frame {
	uint32_t ssrc;          /**< sender's SSRC */
	uint32_t sender_hash;   /**< FNV-1a of the sender's id (sealed header) */
	uint8_t kind;           /**< PERC_EP_AUDIO or PERC_EP_VIDEO */
	bool key_frame;         /**< video: packet of a key frame */
	bool marker;            /**< RTP marker (last packet of a video frame) */
	uint16_t spi;           /**< SPI the sender was using (sealed header) */
	uint16_t key_spi;       /**< SPI of the EKT key that carried the E2E key */
	uint32_t frame_no;      /**< sender's frame counter */
	uint32_t pkt_no;        /**< sender's packet counter for this SSRC */
	int64_t send_ms;        /**< sender's CLOCK_REALTIME at sealing */
	int64_t recv_ms;        /**< our CLOCK_REALTIME at opening */
	const uint8_t *payload; /**< application payload (after the sealed header) */
	size_t len;
};

/** Log levels of perc_ep_config.on_log. */
enum perc_ep_log { PERC_EP_LOG_ERR = 0, PERC_EP_LOG_WARN, PERC_EP_LOG_INFO, PERC_EP_LOG_DEBUG };

/**
 * Configuration. Fill with perc_ep_config_defaults() first, then set the
 * fields; strings are copied by perc_ep_create().
 */
struct perc_ep_config {
	const char *id;              /**< participant id (roster name) */
	const char *conference;      /**< conference name (reports only) */
	const char *cert_file;       /**< PEM certificate (self-signed P-256) */
	const char *key_file;        /**< PEM private key */
	const char *token;           /**< access token (JWT compact) for AUTH */
	const uint8_t *tls_id;       /**< external_session_id, 20..255 bytes */
	size_t tls_id_len;
	const char *bind_addr;       /**< local IPv4 address, e.g. "192.0.2.2" */
	uint16_t bind_port;          /**< 0: any */
	const char *mdd_addr;        /**< MDD IPv4 address */
	uint16_t mdd_port;
	const char *mdd_ufrag;       /**< MDD's ICE ufrag */
	const char *mdd_pwd;         /**< MDD's ICE password */
	const char *ufrag;           /**< our ICE ufrag */
	/** pinned KD certificate fingerprint, "sha-256 AB:CD:..." (RFC 8122) */
	const char *kd_fingerprint;
	/** refuse to send media unless the double profile was negotiated and
	 *  the KD certificate matched the pin (default true) */
	bool require_e2e;
	unsigned media;              /**< PERC_EP_AUDIO | PERC_EP_VIDEO (SSRCs made) */
	uint32_t ice_rto_ms;         /**< first STUN retransmission (100) */
	uint32_t ice_max_tries;      /**< connectivity check transmissions (7) */
	uint32_t consent_interval_ms; /**< consent request period (1000) */
	uint32_t consent_timeout_ms; /**< consent lost after this silence (5000) */
	uint32_t keepalive_ms;       /**< KEEPALIVE period (500) */
	/** once the KD has answered a KEEPALIVE: silence for this long means
	 *  the association is gone (KD restart); a new handshake follows,
	 *  media goes on with the keys held (3000) */
	uint32_t kd_timeout_ms;
	uint32_t dtls_timeout_ms;    /**< handshake must complete within (15000) */
	uint32_t overlap_ms;         /**< old keys accepted after a rekey (250) */
	/** key log (NSS-like text, docs/endpoint.md); NULL: off. The only
	 *  place key bytes leave the library. */
	FILE *keylog;
	/** verified media; called from perc_ep_poll() */
	void (*on_frame)(void *arg, struct perc_ep *ep, const struct perc_ep_frame *f);
	/** state changes; reason is the failure text for PERC_EP_FAILED */
	void (*on_state)(void *arg, struct perc_ep *ep, enum perc_ep_state s, const char *reason);
	/** log lines (no key bytes); NULL: stderr for ERR and WARN */
	void (*on_log)(void *arg, struct perc_ep *ep, enum perc_ep_log lvl, const char *msg);
	void *cb_arg;
};

/** Fill c with the defaults named above (everything else zero / NULL). */
void perc_ep_config_defaults(struct perc_ep_config *c);

/**
 * Create an endpoint: bind its UDP socket, load certificate and key, set up
 * the DTLS context. Nothing is sent before perc_ep_start(). Returns NULL
 * and writes a reason of at most errlen bytes into err on failure.
 */
struct perc_ep *perc_ep_create(const struct perc_ep_config *c, char *err, size_t errlen);

/** Zeroize every key, close the socket, free everything. NULL is ignored. */
void perc_ep_destroy(struct perc_ep *ep);

/** Start ICE (and then DTLS, AUTH, EKT). Returns 0 or -1 (state FAILED). */
int perc_ep_start(struct perc_ep *ep);

/** The UDP socket to watch for input. */
int perc_ep_fd(const struct perc_ep *ep);

/** Milliseconds until perc_ep_poll() has timer work (0: now; at most 1000). */
int perc_ep_next_timeout_ms(const struct perc_ep *ep);

/** Read every pending datagram and run due timers. Never blocks. */
void perc_ep_poll(struct perc_ep *ep);

/**
 * Send one audio frame (payload bytes of application data, e.g. 100-160
 * bytes of Opus, PT 111). The library prepends its sealed header, seals
 * both layers and appends the EKT field. Returns 0, or -1 when media may not
 * be sent now (not joined, left, failed, consent lost, no audio SSRC).
 */
int perc_ep_send_audio(struct perc_ep *ep, const uint8_t *payload, size_t len);

/**
 * Send one video frame of len bytes as packets of at most 1200 payload bytes
 * (PT 96, marker on the last). key_frame marks a key frame (the EKT Full
 * field rides on its packets). Returns the packets sent, or -1 as above.
 */
int perc_ep_send_video(struct perc_ep *ep, const uint8_t *frame, size_t len, bool key_frame);

/** Leave: BYE to the KD, stop sending media; keep ICE consent and keep
 *  receiving with the keys held now (docs/endpoint.md: leak checks). */
void perc_ep_leave(struct perc_ep *ep);

/** @name Queries: references to keys, never key bytes. */
/** @{ */
enum perc_ep_state perc_ep_get_state(const struct perc_ep *ep);
/** Why the endpoint failed, or NULL. */
const char *perc_ep_failure(const struct perc_ep *ep);
const char *perc_ep_id(const struct perc_ep *ep);
/** SPI of the EKT key in use; false before the first EKT_KEY. */
bool perc_ep_current_spi(const struct perc_ep *ep, uint16_t *spi);
/** Epoch of our E2E key for an SSRC of ours under the current SPI. */
uint16_t perc_ep_epoch(const struct perc_ep *ep, unsigned kind);
/** Our SSRC for PERC_EP_AUDIO or PERC_EP_VIDEO (0 when that kind is off). */
uint32_t perc_ep_ssrc(const struct perc_ep *ep, unsigned kind);
/** Roster version of the current EKT key; *n members. */
uint32_t perc_ep_roster(const struct perc_ep *ep, unsigned *n);
/** Member i of the current roster, or NULL. */
const char *perc_ep_roster_member(const struct perc_ep *ep, unsigned i);
/** The local UDP port (after create). */
uint16_t perc_ep_local_port(const struct perc_ep *ep);
/** @} */

/** Counters: X-macro _(field, "description"). */
#define PERC_EP_FOREACH_COUNTER(_) \
	_(rtp_sent, "RTP packets sent") \
	_(rtp_received, "SRTP packets received (any outcome)") \
	_(rtp_received_after_leave, "SRTP packets received after leaving") \
	_(e2e_ok, "packets whose outer and inner layers opened") \
	_(e2e_fail, "inner layer refused (auth, replay, bad sealed header)") \
	_(e2e_fail_auth, "  of which: inner tag did not verify with any held key") \
	_(e2e_fail_replay, "  of which: inner index replayed or too old") \
	_(e2e_fail_header, "  of which: sealed header malformed") \
	_(outer_fail, "outer (hop-by-hop) layer refused") \
	_(outer_replay, "  of which: outer replay / too old") \
	_(ohb_fail, "original header block invalid") \
	_(ekt_fail, "EKT field malformed or did not unwrap") \
	_(ekt_unknown_spi, "Full EKT field with an SPI we do not hold") \
	_(ekt_stale_epoch, "Full EKT field with an older epoch than installed") \
	_(ekt_full_rx, "Full EKT fields accepted") \
	_(ekt_late_unwrap, "Full fields unwrapped when their EKT key arrived later") \
	_(ekt_full_tx, "Full EKT fields sent") \
	_(no_key, "no inner key known yet for the sender") \
	_(seq_gap, "packets missing (sequence gaps)") \
	_(seq_dup, "duplicate packets") \
	_(seq_reorder, "packets arriving after a later one") \
	_(after_leave_ok, "opened after leaving with an SPI not held at leave time") \
	_(before_join_ok, "opened with a sealed SPI this endpoint never held") \
	_(not_stun_dtls_rtp, "datagrams of no known kind, or from elsewhere") \
	_(stun_fail, "STUN responses refused (integrity, tid, parse)") \
	_(rekeys, "EKT keys installed (EKT_KEY + EKT_STEP)") \
	_(keepalive_acks, "KEEPALIVE_ACK received") \
	_(kd_rejoins, "new DTLS associations after the KD went silent or closed")

struct perc_ep_stats {
#define PERC_EP_CTR_(f, d) uint64_t f;
	PERC_EP_FOREACH_COUNTER(PERC_EP_CTR_)
#undef PERC_EP_CTR_
};

/** Copy the counters. */
void perc_ep_get_stats(const struct perc_ep *ep, struct perc_ep_stats *s);

/** One SPI this endpoint held. */
struct perc_ep_spi_info {
	uint16_t spi;
	int64_t received_ms;     /**< CLOCK_REALTIME when the EKT key arrived */
	int64_t first_send_ms;   /**< first packet we sent under it; 0: none */
	/** when the next SPI arrived (0: still current); an SPI replaced
	 *  before the next media packet was due has no first_send_ms */
	int64_t replaced_ms;
	uint32_t roster_version;
};

/** Number of SPIs ever held; fill *out with entry i (oldest first). */
unsigned perc_ep_spi_count(const struct perc_ep *ep);
bool perc_ep_spi_get(const struct perc_ep *ep, unsigned i, struct perc_ep_spi_info *out);

/** CLOCK_REALTIME ms of join (first EKT key) and leave; 0 when not yet. */
int64_t perc_ep_joined_ms(const struct perc_ep *ep);
int64_t perc_ep_left_ms(const struct perc_ep *ep);

/** Latency of opened packets (our recv time - sealed send time), ms. */
bool perc_ep_latency(const struct perc_ep *ep, double *p50, double *p99, double *max);

#endif
