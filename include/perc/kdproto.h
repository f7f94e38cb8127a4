/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What a PERC endpoint and the Key Distributor say to each other inside
 * their DTLS association (tunneled through the MDD, RFC 9185), and the
 * DTLS extensions they use. docs/wire.md explains each deviation from
 * RFC 8723 / 8870 / 9185 and why it keeps their keys and properties.
 *
 * DTLS 1.2 ClientHello / ServerHello extensions (OpenSSL custom extensions):
 * - use_srtp (14, OpenSSL's own): the client offers SRTP_AEAD_AES_128_GCM
 *   (and _256_GCM); it names the outer (HBH) transform.
 * - supported_ekt_ciphers (39, RFC 8870 §5.2.1): client list
 *   `uint8 len ‖ uint8 cipher...`, server answers one cipher byte.
 * - external_session_id (56, RFC 8844): `uint8 len ‖ opaque id<20..255>`
 *   in both directions; the server echoes the client's value.
 * - perc_double_srtp (PERC_EXT_DOUBLE_SRTP, private use): client
 *   `uint16 len ‖ uint16 profile...` (0x0009, 0x000A), server answers the
 *   chosen `uint16 profile`. Together with use_srtp it stands for the
 *   double profile that OpenSSL 3.0 cannot put into use_srtp. Covered by the
 *   Finished MACs, so a man in the middle (the MDD) cannot strip it.
 *
 * Keying: SSL_export_keying_material("EXTRACTOR-dtls_srtp") of
 * 2·(key + salt) bytes of the DOUBLE profile (0x0009: 2·(32 + 24) = 112),
 * client key ‖ server key ‖ client salt ‖ server salt, each key and salt
 * inner half ‖ outer half (RFC 8723 §5.1). The KD sends the MDD the outer
 * halves (MediaKeys); the inner halves are not used (the E2E keys travel in
 * EKT, RFC 8871 §5.5).
 *
 * Application data records: exactly one message per record,
 * `type(1) ‖ length(2) ‖ body`, big-endian.
 */
#ifndef PERC_KDPROTO_H
#define PERC_KDPROTO_H

#include <stddef.h>
#include <stdint.h>

#define PERC_EXT_EKT_CIPHERS 39u
#define PERC_EXT_EXTERNAL_SESSION_ID 56u
#define PERC_EXT_DOUBLE_SRTP 0xFFA9u     /**< private-use extension type */

#define PERC_KD_HDR 3u
#define PERC_KD_MAX_MSG 4096u            /**< largest message (fits one DTLS record) */
#define PERC_KD_MAX_TOKEN 2048u
#define PERC_KD_MAX_ROSTER 64u           /**< members listed in one roster */
#define PERC_KD_MAX_ID 64u               /**< participant id bytes, NUL included */
#define PERC_KD_MAX_TEXT 256u

enum perc_kd_type {
	/** endpoint -> KD, first message after the handshake: the access token
	 *  (JWT compact text, RFC 9068), body = token bytes. No key is sent
	 *  before it is verified. */
	PERC_KD_AUTH = 1,
	/** endpoint -> KD: `uint32 seq`; the KD answers KEEPALIVE_ACK with the
	 *  same seq. A member silent longer than the KD's timeout is removed. */
	PERC_KD_KEEPALIVE = 2,
	PERC_KD_KEEPALIVE_ACK = 3,
	/** KD -> endpoint: join rekey. `uint16 new_spi ‖ roster`. The member
	 *  derives the next EKT key from the one it holds (perc_kd_step_key())
	 *  and must use it within 250 ms. */
	PERC_KD_EKT_STEP = 4,
	/** endpoint -> KD: `uint16 spi`: the endpoint holds the key of spi
	 *  (after EKT_KEY or EKT_STEP). */
	PERC_KD_EKT_ACK = 5,
	/** KD -> endpoint: `uint16 code ‖ text` (UTF-8, no NUL); the KD closes
	 *  the association after it. */
	PERC_KD_ERROR = 6,
	/** endpoint -> KD: the endpoint leaves (empty body). */
	PERC_KD_BYE = 7,
	/** KD -> endpoint: RFC 8870 EKTKey body (perc_ektkey_encode) ‖ roster.
	 *  Stands for the ekt_key(26) handshake message OpenSSL 3.0 cannot send. */
	PERC_KD_EKT_KEY = 26,
};

/** Error codes of PERC_KD_ERROR. */
enum perc_kd_err {
	PERC_KD_E_TOKEN = 1,       /**< access token refused (text says why) */
	PERC_KD_E_NOT_AUTHORIZED = 2, /**< no roster entry for tls-id / fingerprint */
	PERC_KD_E_PROTOCOL = 3,    /**< malformed or unexpected message */
	PERC_KD_E_PROFILE = 4,     /**< no double profile negotiated */
	PERC_KD_E_REMOVED = 5,     /**< removed from the conference */
};

/** Who holds an EKT key: body `uint32 version ‖ uint8 n ‖ n × (uint8 len ‖ id)`. */
struct perc_kd_roster {
	uint32_t version;
	uint8_t n;
	char ids[PERC_KD_MAX_ROSTER][PERC_KD_MAX_ID];
};

struct perc_kd_msg {
	uint8_t type;
	/* AUTH: points into the decoded buffer */
	const char *token;
	uint16_t token_len;
	/* KEEPALIVE, KEEPALIVE_ACK */
	uint32_t seq;
	/* EKT_STEP, EKT_ACK: the SPI; EKT_KEY: ektkey.spi */
	uint16_t spi;
	/* EKT_KEY: cipher implied by the key length (16: AESKW-128, 32: -256) */
	uint8_t ekt_key_len;
	uint8_t ekt_key[32];
	uint8_t salt_len;
	uint8_t salt[32];
	uint32_t ttl;
	/* EKT_KEY, EKT_STEP */
	struct perc_kd_roster roster;
	/* ERROR */
	uint16_t code;
	char text[PERC_KD_MAX_TEXT];
};

/** Encode; returns bytes or -PERC_R_NO_ROOM / -PERC_R_MALFORMED / -PERC_R_UNKNOWN. */
int perc_kd_encode(const struct perc_kd_msg *m, uint8_t *out, size_t cap);
/** Decode one whole record of len bytes; PERC_R_OK, PERC_R_TRUNCATED,
 *  PERC_R_OVERSIZED (trailing bytes, too many members, too long), PERC_R_MALFORMED,
 *  PERC_R_UNKNOWN (type). */
int perc_kd_decode(const uint8_t *p, size_t len, struct perc_kd_msg *m);

/**
 * The join rekey's one-way step: next = HKDF-SHA256(IKM = cur EKT key,
 * salt = the conference's E2E master salt, info = "PERC EKT step" ‖
 * uint16 new_spi ‖ uint32 roster version), as long as cur. A joiner given
 * next cannot compute cur. Returns 0 or -PERC_R_ENGINE.
 */
int perc_kd_step_key(const uint8_t *cur, size_t key_len, const uint8_t *salt, size_t salt_len,
		     uint16_t new_spi, uint32_t roster_version, uint8_t *next);

#endif
