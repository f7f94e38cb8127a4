/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * OAuth 2.0 access tokens for the Key Distributor: JWTs as RFC 9068 profiles
 * them, signed ES256 only (RFC 7518 §3.4, ECDSA P-256 + SHA-256, signature
 * R||S in 64 bytes), bound to the endpoint's DTLS certificate by a
 * "cnf": {"x5t#S256": ...} confirmation claim (RFC 8705 §3.1).
 *
 * Control plane only: this allocates (jansson), and is never on the fast path.
 * docs/tokens.md gives the format, the claims and the order of the checks.
 */
#ifndef PERC_JWT_H
#define PERC_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "perc/reason.h"

/** Longest token accepted or produced, in characters (without a NUL). */
#define PERC_JWT_MAX_TOKEN 8192
/** Longest sub, conference or jti returned by verify, NUL included. */
#define PERC_JWT_MAX_ID 256
/** The JWT claim that names the conference. */
#define PERC_JWT_CONF_CLAIM "perc_conf"
/** The header "typ" of an access token (RFC 9068 §2.1). */
#define PERC_JWT_TYP "at+jwt"

/** X-macro: _(ENUM, "name", "description"). Why a token was refused. */
#define PERC_FOREACH_JWT_ERR(_) \
	_(OK,            "ok",            "token accepted") \
	_(MALFORMED,     "malformed",     "not three strict base64url segments of JSON objects, or a claim of the wrong type") \
	_(OVERSIZED,     "oversized",     "token or claim longer than allowed") \
	_(BAD_ALG,       "bad_alg",       "header alg is not ES256 (none, HS256 and all others refused)") \
	_(BAD_TYP,       "bad_typ",       "header typ is not at+jwt (RFC 9068), or crit present") \
	_(BAD_SIGNATURE, "bad_signature", "ES256 signature did not verify with any issuer key") \
	_(EXPIRED,       "expired",       "exp is in the past (beyond the leeway)") \
	_(NOT_YET_VALID, "not_yet_valid", "nbf or iat is in the future (beyond the leeway)") \
	_(WRONG_ISSUER,  "wrong_issuer",  "iss is not the expected issuer") \
	_(WRONG_AUDIENCE, "wrong_audience", "aud does not name this service") \
	_(MISSING_CLAIM, "missing_claim", "iss, aud, sub, perc_conf, exp, iat, jti or client_id absent or empty") \
	_(NO_CNF,        "no_cnf",        "no cnf x5t#S256 certificate binding") \
	_(CERT_MISMATCH, "cert_mismatch", "cnf x5t#S256 is not the presented certificate's thumbprint") \
	_(INTERNAL,      "internal",      "out of memory, or the crypto library failed")

enum perc_jwt_err {
#define PERC_JWT_ENUM_(e, n, d) PERC_JWT_##e,
	PERC_FOREACH_JWT_ERR(PERC_JWT_ENUM_)
#undef PERC_JWT_ENUM_
	PERC_JWT__COUNT
};

/** Short name ("bad_signature", ...) of a jwt error; "?" when out of range. */
const char *perc_jwt_err_name(unsigned int err);
/** One-line description of a jwt error. */
const char *perc_jwt_err_desc(unsigned int err);
/** The project-wide reason a jwt error counts under (PERC_R_AUTH for every
 *  refusal of a well-formed token, PERC_R_MALFORMED, PERC_R_OVERSIZED,
 *  PERC_R_ENGINE). */
enum perc_reason perc_jwt_err_reason(enum perc_jwt_err err);

/* ---- base64url (RFC 4648 §5, no padding, RFC 7515 §2) ---- */

/** Length of the base64url text of n bytes (no NUL). */
static inline size_t
perc_b64url_len(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

/** Encode n bytes as base64url without padding, NUL-terminated.
 *  @return the text length, or -1 when cap < perc_b64url_len(n) + 1. */
long perc_b64url_encode(const uint8_t *in, size_t n, char *out, size_t cap);

/** Decode strict base64url: alphabet A-Z a-z 0-9 - _ only, no padding, no
 *  whitespace, a length that is not 1 mod 4, and zero unused trailing bits
 *  (so each byte string has exactly one accepted text).
 *  @return the byte count, or -1 on bad input or cap too small. */
long perc_b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap);

/* ---- keys and certificates ---- */

/** SHA-256 of a DER certificate: the x5t#S256 thumbprint (RFC 8705 §3.1).
 *  @return 0, or -1 on failure. */
int perc_jwt_cert_thumbprint(const uint8_t *der, size_t len, uint8_t out[32]);

/** A P-256 public key from its affine coordinates (a JWK's x and y).
 *  @return a new EVP_PKEY (EVP_PKEY_free it), or NULL when the point is not
 *  on the curve. */
EVP_PKEY *perc_jwt_p256_pubkey(const uint8_t x[32], const uint8_t y[32]);

/* ---- signing (the Key Distributor's issuer side, and tests) ---- */

/** Claims of a token to sign. Strings NULL or "" are left out, except that
 *  sign refuses a token without iss, sub, aud, conf, jti or client_id. */
struct perc_jwt_claims {
	const char *iss;       /**< issuer (the authorization server) */
	const char *sub;       /**< the participant */
	const char *aud;       /**< the Key Distributor */
	const char *conf;      /**< the conference (claim PERC_JWT_CONF_CLAIM) */
	const char *jti;       /**< unique token id */
	const char *client_id; /**< the OAuth client (RFC 9068 §2.2) */
	const char *scope;     /**< optional, space-separated */
	const char *kid;       /**< optional header key id */
	int64_t iat;           /**< issued at, seconds since the epoch */
	int64_t nbf;           /**< not before; 0 leaves it out */
	int64_t exp;           /**< expiry, seconds since the epoch */
	uint8_t x5t_s256[32];  /**< SHA-256 of the endpoint's DER certificate */
};

/** Sign claims as an RFC 9068 access token, header {"typ":"at+jwt","alg":"ES256"}.
 *  @param key  a P-256 private key
 *  @return the token length (out NUL-terminated), or -1 (bad key, missing
 *  claim, cap too small, or longer than PERC_JWT_MAX_TOKEN). */
long perc_jwt_sign(EVP_PKEY *key, const struct perc_jwt_claims *c, char *out, size_t cap);

/** Sign arbitrary header and payload text (JSON, taken as is) with ES256 into
 *  compact form. For tests and tools that need tokens sign() will not make.
 *  @return the token length, or -1. */
long perc_jwt_sign_compact(EVP_PKEY *key, const char *header_json, const char *payload_json,
			   char *out, size_t cap);

/* ---- verification (the Key Distributor's resource-server side) ---- */

/** What a token is checked against. */
struct perc_jwt_verify_params {
	EVP_PKEY *const *keys;   /**< the issuer's P-256 public keys (rollover) */
	size_t n_keys;
	const char *iss;         /**< expected issuer, exact match */
	const char *aud;         /**< this service; aud must be it or contain it */
	int64_t now;             /**< current time, seconds since the epoch */
	int64_t leeway;          /**< clock skew allowed on exp, nbf, iat (s) */
	const uint8_t *cert_der; /**< the DER certificate the endpoint presented */
	size_t cert_len;
};

/** The claims of an accepted token. */
struct perc_jwt_verified {
	char sub[PERC_JWT_MAX_ID];
	char conf[PERC_JWT_MAX_ID];
	char jti[PERC_JWT_MAX_ID];
	int64_t exp;
	int64_t iat;
};

/** Verify an access token: size, three segments, header (alg ES256 exactly,
 *  typ at+jwt, no crit), signature with one of the keys, then the claims
 *  (exp, nbf, iat, iss, aud, sub, perc_conf, jti, client_id) and the cnf
 *  certificate binding. The first failing check names the result.
 *  @param out  filled only on PERC_JWT_OK (zeroed otherwise); may be NULL. */
enum perc_jwt_err perc_jwt_verify(const char *token, size_t len,
				  const struct perc_jwt_verify_params *p,
				  struct perc_jwt_verified *out);

/** The signature layer alone: a compact JWS whose header says alg ES256
 *  (nothing else of the header or the payload is looked at), verified with one
 *  of the keys. RFC 7515 Appendix A.3 passes here. */
enum perc_jwt_err perc_jws_verify_es256(const char *token, size_t len,
					EVP_PKEY *const *keys, size_t n_keys);

#endif
