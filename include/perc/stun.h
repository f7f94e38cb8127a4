/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * STUN message codec (RFC 5389, RFC 8489 where it matters) for ICE (RFC 8445)
 * Binding requests and responses with short-term credentials.
 *
 * Parsing never reads past the given length, never allocates and keeps
 * pointers into the caller's buffer. Builders write into caller buffers.
 * Every refusal is a named reason from perc/reason.h. See docs/stun.md.
 */
#ifndef PERC_STUN_H
#define PERC_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PERC_STUN_HDR 20u              /**< fixed header bytes */
#define PERC_STUN_COOKIE 0x2112A442u   /**< magic cookie */
#define PERC_STUN_TID_LEN 12u          /**< transaction id bytes */
#define PERC_STUN_MI_LEN 20u           /**< HMAC-SHA1 bytes */
#define PERC_STUN_FP_XOR 0x5354554Eu   /**< FINGERPRINT = CRC-32 ^ this */
#define PERC_STUN_MAX_UNKNOWN 8u       /**< unknown attribute types kept */
#define PERC_STUN_MAX_USERNAME 512u    /**< RFC 5389 15.3: < 513 bytes */
#define PERC_STUN_MAX_PASSWORD 256u    /**< longest short-term password taken */
#define PERC_STUN_MAX_REASON 763u      /**< ERROR-CODE reason phrase bytes */

/** Message types (method Binding, the four classes). */
enum perc_stun_type {
	PERC_STUN_BINDING_REQUEST = 0x0001,
	PERC_STUN_BINDING_INDICATION = 0x0011,
	PERC_STUN_BINDING_SUCCESS = 0x0101,
	PERC_STUN_BINDING_ERROR = 0x0111,
};

/** Attribute types this codec knows. */
enum perc_stun_attr {
	PERC_STUN_A_MAPPED_ADDRESS = 0x0001,
	PERC_STUN_A_USERNAME = 0x0006,
	PERC_STUN_A_MESSAGE_INTEGRITY = 0x0008,
	PERC_STUN_A_ERROR_CODE = 0x0009,
	PERC_STUN_A_UNKNOWN_ATTRIBUTES = 0x000A,
	PERC_STUN_A_XOR_MAPPED_ADDRESS = 0x0020,
	PERC_STUN_A_PRIORITY = 0x0024,
	PERC_STUN_A_USE_CANDIDATE = 0x0025,
	PERC_STUN_A_SOFTWARE = 0x8022,
	PERC_STUN_A_FINGERPRINT = 0x8028,
	PERC_STUN_A_ICE_CONTROLLED = 0x8029,
	PERC_STUN_A_ICE_CONTROLLING = 0x802A,
};

/** A transport address (XOR-MAPPED-ADDRESS), already un-XORed. */
struct perc_stun_addr {
	uint8_t family;    /**< 4 or 6 */
	uint16_t port;     /**< host order */
	uint8_t addr[16];  /**< network order; IPv4 uses the first 4 bytes */
};

/** Parsed view of a STUN message; pointers point into the message. */
struct perc_stun_msg {
	const uint8_t *msg;        /**< the message (header included) */
	size_t msg_len;            /**< PERC_STUN_HDR + attribute bytes */
	uint16_t type;             /**< e.g. PERC_STUN_BINDING_REQUEST */
	uint8_t tid[PERC_STUN_TID_LEN];

	const uint8_t *username;   /**< USERNAME value (not NUL-terminated) */
	uint16_t username_len;
	size_t mi_off;             /**< offset of MESSAGE-INTEGRITY's header; 0 if none */
	bool has_fingerprint;      /**< FINGERPRINT present (and verified) */
	bool has_xor_mapped;
	struct perc_stun_addr xor_mapped;
	bool has_priority;
	uint32_t priority;
	bool use_candidate;
	bool ice_controlling;      /**< ICE-CONTROLLING present */
	bool ice_controlled;       /**< ICE-CONTROLLED present */
	uint64_t tie_breaker;      /**< of whichever of the two came first */
	bool has_error;
	uint16_t error_code;       /**< 300..699 */
	const uint8_t *error_reason;
	uint16_t error_reason_len;
	/** Comprehension-required attributes (0x0000-0x7FFF) not understood:
	 *  the first PERC_STUN_MAX_UNKNOWN of them; n_unknown counts all. */
	uint16_t unknown[PERC_STUN_MAX_UNKNOWN];
	unsigned int n_unknown;
};

/** True when p looks like STUN (top two bits zero, magic cookie): the
 *  demultiplexing test of RFC 7983 plus the cookie. */
bool perc_stun_is_stun(const uint8_t *p, size_t len);

/** CRC-32 (IEEE 802.3, reflected, as zlib's crc32(0, p, n)). */
uint32_t perc_stun_crc32(const uint8_t *p, size_t n);

/**
 * Parse and check a whole STUN message (one datagram: len must equal the
 * header length plus the length field). Checks the header, every attribute
 * length and its padding, the known attributes' values, and FINGERPRINT
 * when present (it must be last). Attributes after MESSAGE-INTEGRITY other
 * than FINGERPRINT are refused (RFC 5389 says ignore; an ICE-lite agent
 * that never sends them gains nothing by taking them).
 *
 * Unknown comprehension-required attributes do NOT fail the parse: they are
 * listed in m->unknown so that the caller, after authenticating, answers 420
 * (perc_stun_build_error with the list).
 *
 * MESSAGE-INTEGRITY is located, not verified: call perc_stun_check_integrity.
 *
 * @return PERC_R_OK; PERC_R_TRUNCATED (shorter than its length fields say);
 *         PERC_R_UNKNOWN (no magic cookie: RFC 3489 or not STUN);
 *         PERC_R_MALFORMED (bad header, trailing bytes, bad attribute value,
 *         bad or misplaced FINGERPRINT, attribute after MESSAGE-INTEGRITY).
 */
int perc_stun_parse(const uint8_t *p, size_t len, struct perc_stun_msg *m);

/**
 * Check a short-term password: RFC 5389 keys are SASLprep(password) (RFC
 * 8489: OpaqueString). Only printable ASCII (0x20-0x7E), for which both
 * are the identity, is accepted; anything else is refused rather than
 * prepared wrongly.
 * @return PERC_R_OK, PERC_R_KEY (empty or not printable ASCII) or
 *         PERC_R_OVERSIZED (longer than PERC_STUN_MAX_PASSWORD).
 */
int perc_stun_key_check(const char *password, size_t len);

/**
 * Verify MESSAGE-INTEGRITY of a parsed message with a short-term password,
 * in constant time.
 * @return PERC_R_OK; PERC_R_AUTH (absent or wrong); a perc_stun_key_check
 *         reason; PERC_R_ENGINE (OpenSSL failed).
 */
int perc_stun_check_integrity(const struct perc_stun_msg *m, const char *password,
			      size_t password_len);

/**
 * Build a Binding success response: XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY
 * (with password) and FINGERPRINT.
 * @return bytes written (> 0), or -PERC_R_NO_ROOM, -PERC_R_MALFORMED (bad
 *         address family), a negated key reason, -PERC_R_ENGINE.
 */
int perc_stun_build_success(uint8_t *out, size_t cap, const uint8_t tid[PERC_STUN_TID_LEN],
			    const struct perc_stun_addr *mapped, const char *password,
			    size_t password_len);

/**
 * Build a Binding error response: ERROR-CODE (code 300..699; reason NULL
 * gives the RFC's phrase for 400, 401, 420, 487, 500), UNKNOWN-ATTRIBUTES
 * when n_unknown > 0 (for 420), MESSAGE-INTEGRITY when password is not NULL
 * (RFC 5389 10.1.2: not on 400 and 401, whose credentials are the problem),
 * and FINGERPRINT.
 * @return bytes written (> 0), -PERC_R_MALFORMED (code out of range, or
 *         n_unknown > 0 with no list), -PERC_R_OVERSIZED (reason phrase
 *         too long) or a negated reason as above.
 */
int perc_stun_build_error(uint8_t *out, size_t cap, const uint8_t tid[PERC_STUN_TID_LEN],
			  uint16_t code, const char *reason, const uint16_t *unknown,
			  unsigned int n_unknown, const char *password, size_t password_len);

/** What an ICE Binding request carries (RFC 8445 7.1). */
struct perc_stun_request {
	const char *remote_ufrag;  /**< the peer's username fragment */
	const char *local_ufrag;   /**< ours; USERNAME is "remote:local" */
	uint32_t priority;
	bool controlling;          /**< ICE-CONTROLLING, else ICE-CONTROLLED */
	uint64_t tie_breaker;
	bool use_candidate;
};

/**
 * Build a Binding request as an ICE agent sends it: USERNAME, PRIORITY,
 * ICE-CONTROLLING or ICE-CONTROLLED, USE-CANDIDATE (when asked),
 * MESSAGE-INTEGRITY with the peer's password, FINGERPRINT.
 * @return bytes written (> 0), -PERC_R_OVERSIZED (USERNAME too long),
 *         -PERC_R_MALFORMED (a NULL ufrag) or a negated reason as above.
 */
int perc_stun_build_request(uint8_t *out, size_t cap, const uint8_t tid[PERC_STUN_TID_LEN],
			    const struct perc_stun_request *req, const char *password,
			    size_t password_len);

#endif
