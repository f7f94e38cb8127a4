/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * RFC 9185 tunnel messages between the Media Distributor and the Key
 * Distributor: type(1) ‖ length(2) ‖ body, big-endian, read from a byte
 * stream (a TLS connection) without regard to record boundaries.
 */
#ifndef PERC_TUNNEL_H
#define PERC_TUNNEL_H

#include <stddef.h>
#include <stdint.h>

enum perc_tun_type {
	PERC_TUN_SUPPORTED_PROFILES = 1,
	PERC_TUN_UNSUPPORTED_VERSION = 2,
	PERC_TUN_MEDIA_KEYS = 3,
	PERC_TUN_TUNNELED_DTLS = 4,
	PERC_TUN_ENDPOINT_DISCONNECT = 5,
};

#define PERC_TUN_VERSION 0x00u
#define PERC_TUN_HDR 3u
#define PERC_TUN_MAX_PROFILES 32u
#define PERC_TUN_MAX_BODY 65535u

struct perc_tun_msg {
	uint8_t type;
	uint8_t uuid[16];                 /**< MediaKeys, TunneledDtls, EndpointDisconnect */
	/* SupportedProfiles / UnsupportedVersion */
	uint8_t version;                  /**< version or highest_version */
	uint16_t n_profiles;
	uint16_t profiles[PERC_TUN_MAX_PROFILES];
	/* MediaKeys */
	uint16_t profile;
	uint8_t mki_len;
	uint8_t mki[255];
	uint8_t client_key_len, server_key_len, client_salt_len, server_salt_len;
	uint8_t client_key[255], server_key[255], client_salt[255], server_salt[255];
	/* TunneledDtls */
	uint16_t dtls_len;
	const uint8_t *dtls;              /**< points into the decoded buffer */
};

/**
 * Encode a message. Returns total bytes (header included) or
 * -PERC_R_NO_ROOM / -PERC_R_OVERSIZED / -PERC_R_MALFORMED (a field out of
 * its RFC bounds, e.g. no profiles, empty key, empty DTLS message) /
 * -PERC_R_UNKNOWN (type).
 */
int perc_tun_encode(const struct perc_tun_msg *m, uint8_t *out, size_t cap);

/**
 * Look at a byte stream buffer: returns the length of the first whole
 * message in it (header included), 0 when more bytes are needed.
 */
size_t perc_tun_frame(const uint8_t *p, size_t len);

/**
 * Decode exactly one message of len bytes (as framed by perc_tun_frame()).
 * Returns PERC_R_OK, PERC_R_TRUNCATED (a field runs past the end),
 * PERC_R_OVERSIZED (trailing bytes, or more profiles than held),
 * PERC_R_MALFORMED (a field below its minimum), PERC_R_UNKNOWN (type).
 * A SupportedProfiles of a version other than PERC_TUN_VERSION decodes to
 * its version alone (n_profiles 0), so that the KD can answer
 * UnsupportedVersion.
 */
int perc_tun_decode(const uint8_t *p, size_t len, struct perc_tun_msg *m);

#endif
