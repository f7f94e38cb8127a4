/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * RFC 3711 §4.3 key derivation (AES-CM PRF, key derivation rate 0), with the
 * RFC 6188 AES-256 PRF and the RFC 7714 convention that a 96-bit GCM master
 * salt is zero-padded to 112 bits before it enters the PRF.
 */
#ifndef PERC_KDF_H
#define PERC_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "profile.h"

enum perc_kdf_label {
	PERC_LABEL_RTP_ENC = 0,
	PERC_LABEL_RTP_AUTH = 1,
	PERC_LABEL_RTP_SALT = 2,
	PERC_LABEL_RTCP_ENC = 3,
	PERC_LABEL_RTCP_AUTH = 4,
	PERC_LABEL_RTCP_SALT = 5,
};

/** Session keys of one layer, as derived from one master key and salt. */
struct perc_session_keys {
	uint8_t key_len;          /**< cipher key bytes: 16 or 32 */
	uint8_t salt_len;         /**< session salt bytes: 14 (CM) or 12 (GCM) */
	uint8_t auth_len;         /**< auth key bytes: 20 (HMAC) or 0 */
	uint8_t rtp_key[32];
	uint8_t rtp_salt[14];
	uint8_t rtp_auth[20];
	uint8_t rtcp_key[32];
	uint8_t rtcp_salt[14];
	uint8_t rtcp_auth[20];
};

/**
 * Run the PRF once: out = first out_len bytes of AES-CM(master_key,
 * (salt ‖ 0x0000) XOR (label << 48)). salt_len may be 12 (zero-padded) or 14.
 * @return 0, or -1 when the key length is not 16/32 or OpenSSL fails.
 */
int perc_kdf(const uint8_t *master_key, size_t key_len, const uint8_t *master_salt,
	     size_t salt_len, uint8_t label, uint8_t *out, size_t out_len);

/**
 * Derive all six session keys for a SINGLE profile (or one layer of a double
 * profile: pass perc_profile_layer()).
 * @return 0, or -1 on a bad profile.
 */
int perc_kdf_session(const struct perc_profile *layer, const uint8_t *master_key,
		     const uint8_t *master_salt, struct perc_session_keys *out);

/** Overwrite memory in a way the compiler cannot elide. */
void perc_zeroize(void *p, size_t n);

/** Compare n bytes in time independent of the contents; 0 when equal. */
int perc_ct_memcmp(const void *a, const void *b, size_t n);

#endif
