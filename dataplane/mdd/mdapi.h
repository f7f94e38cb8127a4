/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The parts of perc-mdd's control plane that need no EAL, so unit tests
 * link them alone: the conference API's request parser (JSON, one request
 * per line), ICE-lite credential and username rules (RFC 8445 §5.3), UUID
 * v4 association ids (RFC 9185) and the tunnel's reconnect backoff.
 * docs/mdd-control.md describes the API.
 */
#ifndef MDD_MDAPI_H
#define MDD_MDAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perc/stun.h"
#include "provision.h"

/** Longest API request line taken (bytes, newline excluded). */
#define MDD_API_MAX_LINE 65536u
/** ICE ufrag / pwd bounds (RFC 8445 §5.3; NUL excluded). */
#define MDD_ICE_UFRAG_MIN 4u
#define MDD_ICE_PWD_MIN 22u
#define MDD_ICE_CRED_MAX 256u
/** Lengths of generated credentials. */
#define MDD_ICE_UFRAG_GEN 8u
#define MDD_ICE_PWD_GEN 24u
/** Endpoints an API conference holds unless conference_create says
 *  otherwise ("max_endpoints"), and the bound on what it may say. */
#define MDD_API_CONF_LEGS_DEFAULT 32u
#define MDD_API_CONF_LEGS_MAX 1024u
/** Tunnel reconnect backoff (ms). */
#define MDD_BACKOFF_MIN_MS 100u
#define MDD_BACKOFF_MAX_MS 5000u

enum mdd_api_op {
	MDD_API_CONF_CREATE,
	MDD_API_CONF_DELETE,
	MDD_API_EP_ADD,
	MDD_API_EP_REMOVE,
	MDD_API_LIST,
	MDD_API_STATS,
};

/** A parsed and validated API request. */
struct mdd_api_req {
	enum mdd_api_op op;
	char conf[PROV_ID_MAX];                  /**< conference id */
	char id[PROV_ID_MAX];                    /**< endpoint id */
	char remote_ufrag[MDD_ICE_CRED_MAX + 1];
	char ufrag[MDD_ICE_CRED_MAX + 1];        /**< "" when not given */
	char pwd[MDD_ICE_CRED_MAX + 1];          /**< "" when not given */
	unsigned max_endpoints;                  /**< conference_create (default 32) */
};

/**
 * Parse one request line (len bytes, no newline). Returns 0, or -1 with a
 * message for the client in err ("what was wrong and what to do").
 */
int mdd_api_parse(const char *line, size_t len, struct mdd_api_req *r, char *err, size_t errlen);

/** Name of an op as the API spells it. */
const char *mdd_api_op_name(enum mdd_api_op op);

/** Whether s is a valid id (1..PROV_ID_MAX-1 bytes of printable ASCII
 *  without '"' or '\'), the provisioning file's rule. */
bool mdd_api_id_ok(const char *s);

/** Whether s is an ICE credential of min..MDD_ICE_CRED_MAX ice-chars
 *  (ALPHA / DIGIT / "+" / "/"). */
bool mdd_ice_cred_ok(const char *s, size_t min);

/** Random ICE credential of n ice-chars (RAND_bytes) into out (n + 1
 *  bytes). Returns 0, or -1 when the random generator failed. */
int mdd_ice_cred_gen(char *out, size_t n);

/**
 * Split a Binding request's USERNAME "<MDD ufrag>:<remote ufrag>" (RFC
 * 8445 §7.2.2: the receiver's fragment first). Returns 0 and the two
 * fragments NUL-terminated, or -1 (no colon, empty part, too long).
 */
int mdd_ice_split_username(const uint8_t *u, size_t len, char local[MDD_ICE_CRED_MAX + 1],
			   char remote[MDD_ICE_CRED_MAX + 1]);

/** What ICE-lite makes of a punted STUN message (mdd_ice_check). */
enum mdd_ice_verdict {
	MDD_ICE_OK,              /**< authenticated Binding request: latch and answer */
	MDD_ICE_NOT_ICE,         /**< not a Binding request with USERNAME */
	MDD_ICE_MALFORMED,       /**< does not parse */
	MDD_ICE_UNKNOWN_USER,    /**< USERNAME names no endpoint */
	MDD_ICE_BAD_INTEGRITY,   /**< MESSAGE-INTEGRITY absent or wrong */
	MDD_ICE_NO_FINGERPRINT,  /**< authenticated, but no FINGERPRINT */
	MDD_ICE_UNKNOWN_ATTR,    /**< authenticated; answer 420 */
};

/** Find the endpoint whose MDD ufrag is local and remote ufrag remote:
 *  its MDD pwd (and *ep), or NULL. */
typedef const char *(*mdd_ice_lookup_fn)(void *ctx, const char *local, const char *remote,
					 void **ep);

/**
 * The ICE-lite checks of a STUN message p of len bytes, in order: it parses
 * (sm filled), is a Binding request with USERNAME "<MDD ufrag>:<remote
 * ufrag>" of a known endpoint (lookup), MESSAGE-INTEGRITY verifies with
 * that endpoint's MDD pwd, FINGERPRINT is there, no unknown
 * comprehension-required attribute. *ep is the endpoint when one was found.
 */
enum mdd_ice_verdict mdd_ice_check(const uint8_t *p, size_t len, struct perc_stun_msg *sm,
				   mdd_ice_lookup_fn lookup, void *ctx, void **ep);

/** "waiting_ice" (no 5-tuple), "ice_ok" (latched, no keys) or "keyed". */
const char *mdd_ice_state_name(bool latched, bool keyed);

/** Whether the consent of an endpoint last refreshed at last_ms has
 *  expired at now_ms (RFC 7675 with the given timeout). */
bool mdd_ice_consent_expired(uint64_t last_ms, uint64_t now_ms, uint64_t timeout_ms);

/** RFC 7983: a DTLS record starts with 20..63. */
bool mdd_is_dtls(const uint8_t *p, size_t len);

/** A random UUID v4 (RFC 9562: version 4, variant 10). 0 or -1. */
int mdd_uuid_v4(uint8_t u[16]);

/** "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into out (37 bytes); returns out. */
const char *mdd_uuid_fmt(const uint8_t u[16], char out[37]);

/** Next reconnect delay after one of cur ms failed: doubles, from
 *  MDD_BACKOFF_MIN_MS (cur 0) up to MDD_BACKOFF_MAX_MS. */
uint32_t mdd_backoff_next(uint32_t cur);

#endif
