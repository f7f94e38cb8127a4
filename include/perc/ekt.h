/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * RFC 8870 EKT: the EKT field that trails SRTP packets (Short and Full), the
 * AES key wrap with padding (RFC 5649, through OpenSSL) of the EKTPlaintext,
 * and the DTLS EKTKey handshake message body.
 */
#ifndef PERC_EKT_H
#define PERC_EKT_H

#include <stddef.h>
#include <stdint.h>

#define PERC_EKT_SHORT 0x00u
#define PERC_EKT_FULL 0x02u
/** Largest Full field: 1-byte key length, 32-byte key, SSRC, ROC wrapped
 *  (8*ceil(41/8)+8 = 56) + SPI, epoch, length, type. */
#define PERC_EKT_FIELD_MAX 63u

enum perc_ekt_cipher {
	PERC_EKT_AESKW_128 = 1,
	PERC_EKT_AESKW_256 = 2,
};

/** Decoded EKTPlaintext plus the Full field's trailer. */
struct perc_ekt_plain {
	uint8_t key_len;     /**< SRTP master key bytes: 16 or 32 */
	uint8_t key[32];     /**< SRTP master key (the E2E half in PERC) */
	uint32_t ssrc;
	uint32_t roc;
	uint16_t spi;
	uint16_t epoch;
};

/**
 * Length of the EKT field at the end of a packet of len bytes, without
 * authenticating anything: 1 for a Short field, the Length value of a Full
 * field. Returns -PERC_R_EKT for an unknown type byte, a Length shorter than
 * 8 or longer than len, and -PERC_R_TRUNCATED when len is 0.
 */
int perc_ekt_field_len(const uint8_t *pkt, size_t len);

/**
 * Build a Full EKT field into out: wrap (key_len ‖ key ‖ ssrc ‖ roc) with
 * ekt_key (16 or 32 bytes: AESKW-128/256) and append SPI, epoch, length,
 * type. Returns the field length or -PERC_R_NO_ROOM / -PERC_R_ENGINE,
 * -PERC_R_KEY (ekt_key_len) or -PERC_R_EKT (pl->key_len not 16 or 32).
 */
int perc_ekt_wrap(const uint8_t *ekt_key, size_t ekt_key_len,
		  const struct perc_ekt_plain *pl, uint8_t *out, size_t cap);

/**
 * Parse and unwrap a Full EKT field (exactly len bytes). The SPI and epoch
 * are filled in pl before the unwrap is tried, so a caller can look up the
 * EKT key by SPI first with perc_ekt_field_spi(). Returns PERC_R_OK,
 * PERC_R_EKT (not a Full field, bad length, bad plaintext), PERC_R_AUTH
 * (key wrap integrity check failed), PERC_R_KEY (ekt_key_len not 16 or 32).
 * A successful unwrap does not allocate (the key wrap context is kept per
 * thread); a failed one makes OpenSSL record an error, which allocates and
 * is cleared again before returning.
 */
int perc_ekt_unwrap(const uint8_t *ekt_key, size_t ekt_key_len, const uint8_t *field,
		    size_t len, struct perc_ekt_plain *pl);

/** SPI of a Full field of len bytes; -PERC_R_EKT when it is not one. */
int perc_ekt_field_spi(const uint8_t *field, size_t len);

/** RFC 5649 AES key wrap with padding (KEK 16, 24 or 32 bytes). Returns the
 *  wrapped length (8*ceil(n/8)+8) or -PERC_R_KEY (KEK length),
 *  -PERC_R_MALFORMED (n == 0), -PERC_R_NO_ROOM, -PERC_R_ENGINE. */
int perc_aes_kwp_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t n,
		      uint8_t *out, size_t cap);
/** Unwrap; returns the plaintext length or -PERC_R_AUTH / -PERC_R_MALFORMED
 *  (n not a multiple of 8 or below 16) / -PERC_R_KEY / -PERC_R_NO_ROOM (cap
 *  must hold n - 8 bytes, the padded plaintext). */
int perc_aes_kwp_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t n,
			uint8_t *out, size_t cap);

/** DTLS EKTKey handshake message body (RFC 8870 §5.2.2). */
struct perc_ektkey_msg {
	uint8_t ekt_key_len;
	uint8_t ekt_key[32];
	uint8_t salt_len;
	uint8_t salt[32];     /**< SRTP master salt (the E2E half in PERC) */
	uint16_t spi;
	uint32_t ttl;         /**< 24 bits on the wire */
};

/** Encode; returns bytes or -PERC_R_NO_ROOM / -PERC_R_OVERSIZED /
 *  -PERC_R_MALFORMED (empty key or salt). */
int perc_ektkey_encode(const struct perc_ektkey_msg *m, uint8_t *out, size_t cap);
/** Decode exactly len bytes; PERC_R_OK, PERC_R_TRUNCATED, PERC_R_OVERSIZED
 *  (key or salt longer than this implementation holds), PERC_R_MALFORMED
 *  (empty key or salt, trailing bytes). */
int perc_ektkey_decode(const uint8_t *p, size_t len, struct perc_ektkey_msg *m);

#endif
