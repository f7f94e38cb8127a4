/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * SRTP protection profiles (DTLS-SRTP registry) that perc-mdd knows.
 */
#ifndef PERC_PROFILE_H
#define PERC_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

enum perc_profile_id {
	PERC_AES128_CM_SHA1_80 = 0x0001,
	PERC_AES128_CM_SHA1_32 = 0x0002,
	PERC_AEAD_AES_128_GCM = 0x0007,
	PERC_AEAD_AES_256_GCM = 0x0008,
	PERC_DOUBLE_AES_128_GCM = 0x0009,
	PERC_DOUBLE_AES_256_GCM = 0x000a,
};

/** Static description of one profile. For double profiles the lengths are
 *  those of the whole (inner ‖ outer) master key and salt. */
struct perc_profile {
	uint16_t id;
	const char *name;        /**< registry name, e.g. "SRTP_AEAD_AES_128_GCM" */
	uint8_t key_len;         /**< master key bytes */
	uint8_t salt_len;        /**< master salt bytes */
	uint8_t rtp_tag_len;     /**< RTP auth tag bytes (outer for double) */
	uint8_t rtcp_tag_len;    /**< SRTCP auth tag bytes */
	uint8_t auth_key_len;    /**< HMAC key bytes (0 for AEAD) */
	bool aead;               /**< AES-GCM (RFC 7714) rather than AES-CM + HMAC */
	bool is_double;          /**< RFC 8723 double profile */
	uint16_t layer;          /**< single profile used by each layer (double), else id */
};

/** Profile by registry id, or NULL. */
const struct perc_profile *perc_profile_by_id(uint16_t id);
/** Profile by registry name (case-insensitive), or NULL. */
const struct perc_profile *perc_profile_by_name(const char *name);
/** The single profile of one layer of a double profile (the profile itself
 *  when it is single). */
const struct perc_profile *perc_profile_layer(const struct perc_profile *p);
/** All known profiles, NULL-terminated. */
extern const struct perc_profile *const perc_profiles[];

#endif
