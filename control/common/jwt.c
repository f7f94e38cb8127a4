/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RFC 9068 access tokens, ES256 only, bound to a certificate (RFC 8705).
 *
 * The verifier never lets the token choose how it is checked: the algorithm
 * is fixed (ES256), the keys come from configuration, and the header is only
 * looked at to refuse what is not ES256 / at+jwt. That is what closes the
 * "alg: none" and RS/HS confusion attacks.
 */
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "perc/jwt.h"

/* Largest decoded segment of a token no longer than PERC_JWT_MAX_TOKEN. */
#define SEG_MAX (PERC_JWT_MAX_TOKEN / 4 * 3 + 3)
#define ES256_SIG_LEN 64

static const char *const err_names[] = {
#define N_(e, n, d) n,
	PERC_FOREACH_JWT_ERR(N_)
#undef N_
};
static const char *const err_descs[] = {
#define D_(e, n, d) d,
	PERC_FOREACH_JWT_ERR(D_)
#undef D_
};

const char *
perc_jwt_err_name(unsigned int err)
{
	return err < PERC_JWT__COUNT ? err_names[err] : "?";
}

const char *
perc_jwt_err_desc(unsigned int err)
{
	return err < PERC_JWT__COUNT ? err_descs[err] : "?";
}

enum perc_reason
perc_jwt_err_reason(enum perc_jwt_err err)
{
	switch (err) {
	case PERC_JWT_OK:
		return PERC_R_OK;
	case PERC_JWT_MALFORMED:
		return PERC_R_MALFORMED;
	case PERC_JWT_OVERSIZED:
		return PERC_R_OVERSIZED;
	case PERC_JWT_INTERNAL:
		return PERC_R_ENGINE;
	default:
		return PERC_R_AUTH;
	}
}

/* ---- base64url ---- */

static const char b64url_alpha[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

long
perc_b64url_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
	size_t need = perc_b64url_len(n), o = 0, i = 0;

	if (cap < need + 1)
		return -1;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64url_alpha[v >> 18];
		out[o++] = b64url_alpha[(v >> 12) & 63];
		out[o++] = b64url_alpha[(v >> 6) & 63];
		out[o++] = b64url_alpha[v & 63];
	}
	if (n - i == 1) {
		out[o++] = b64url_alpha[in[i] >> 2];
		out[o++] = b64url_alpha[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		out[o++] = b64url_alpha[v >> 10];
		out[o++] = b64url_alpha[(v >> 4) & 63];
		out[o++] = b64url_alpha[(v & 15) << 2];
	}
	out[o] = 0;
	return (long)o;
}

static int
b64url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long
perc_b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	size_t rem = len % 4, o = 0;
	uint32_t acc = 0;

	if (rem == 1 || cap < len / 4 * 3 + (rem ? rem - 1 : 0))
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_val((unsigned char)in[i]);

		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if (i % 4 == 3) {
			out[o++] = (uint8_t)(acc >> 16);
			out[o++] = (uint8_t)(acc >> 8);
			out[o++] = (uint8_t)acc;
			acc = 0;
		}
	}
	/* the unused low bits of the last character must be zero: one text per byte string */
	if (rem == 2) {
		if (acc & 15)
			return -1;
		out[o++] = (uint8_t)(acc >> 4);
	} else if (rem == 3) {
		if (acc & 3)
			return -1;
		out[o++] = (uint8_t)(acc >> 10);
		out[o++] = (uint8_t)(acc >> 2);
	}
	return (long)o;
}

/* ---- keys ---- */

int
perc_jwt_cert_thumbprint(const uint8_t *der, size_t len, uint8_t out[32])
{
	unsigned int n = 0;

	if (der == NULL || len == 0)
		return -1;
	if (EVP_Digest(der, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return -1;
	return 0;
}

/* ES256 means P-256 and nothing else: a P-384 key would give 96-byte signatures. */
static int
is_p256(EVP_PKEY *key)
{
	char group[32];

	if (key == NULL || !EVP_PKEY_is_a(key, "EC"))
		return 0;
	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
					   sizeof(group), NULL) != 1)
		return 0;
	return strcmp(group, "prime256v1") == 0;
}

EVP_PKEY *
perc_jwt_p256_pubkey(const uint8_t x[32], const uint8_t y[32])
{
	char group[] = "prime256v1";
	uint8_t pub[65];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *key = NULL;

	pub[0] = 0x04; /* uncompressed point */
	memcpy(pub + 1, x, 32);
	memcpy(pub + 33, y, 32);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub));
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
		key = NULL;
	EVP_PKEY_CTX_free(ctx);
	if (key != NULL) {
		/* a point off the curve is an invalid-curve attack waiting to happen */
		ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
		if (ctx == NULL || EVP_PKEY_public_check(ctx) != 1) {
			EVP_PKEY_free(key);
			key = NULL;
		}
		EVP_PKEY_CTX_free(ctx);
	}
	ERR_clear_error();
	return key;
}

/* ---- ES256 raw signatures (R||S, RFC 7518 §3.4) ---- */

static int
es256_sign(EVP_PKEY *key, const char *data, size_t len, uint8_t sig[ES256_SIG_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[80];
	size_t der_len = sizeof(der);
	const uint8_t *p = der;
	ECDSA_SIG *es = NULL;
	int ok = 0;

	if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, der, &der_len, (const uint8_t *)data, len) != 1)
		goto out;
	es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (es == NULL)
		goto out;
	if (BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32) != 32 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32) != 32)
		goto out;
	ok = 1;
out:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

static int
es256_verify(EVP_PKEY *key, const char *data, size_t len, const uint8_t sig[ES256_SIG_LEN])
{
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
	uint8_t *der = NULL;
	int der_len, ok = 0;

	if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	der_len = i2d_ECDSA_SIG(es, &der);
	if (der_len <= 0)
		goto out;
	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1)
		goto out;
	ok = EVP_DigestVerify(md, der, (size_t)der_len, (const uint8_t *)data, len) == 1;
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

/* ---- signing ---- */

long
perc_jwt_sign_compact(EVP_PKEY *key, const char *header_json, const char *payload_json,
		      char *out, size_t cap)
{
	size_t hl = strlen(header_json), pl = strlen(payload_json);
	size_t in_len = perc_b64url_len(hl) + 1 + perc_b64url_len(pl);
	size_t total = in_len + 1 + perc_b64url_len(ES256_SIG_LEN);
	uint8_t sig[ES256_SIG_LEN];
	long n;

	if (!is_p256(key) || total > PERC_JWT_MAX_TOKEN || cap < total + 1)
		return -1;
	n = perc_b64url_encode((const uint8_t *)header_json, hl, out, cap);
	out[n] = '.';
	perc_b64url_encode((const uint8_t *)payload_json, pl, out + n + 1, cap - (size_t)n - 1);
	if (!es256_sign(key, out, in_len, sig))
		return -1;
	out[in_len] = '.';
	perc_b64url_encode(sig, sizeof(sig), out + in_len + 1, cap - in_len - 1);
	return (long)total;
}

static int
set_str(json_t *o, const char *name, const char *v)
{
	if (v == NULL || v[0] == 0)
		return 0;
	return json_object_set_new(o, name, json_string(v));
}

long
perc_jwt_sign(EVP_PKEY *key, const struct perc_jwt_claims *c, char *out, size_t cap)
{
	json_t *h = json_object(), *p = json_object(), *cnf = json_object();
	char x5t[48], *hs = NULL, *ps = NULL;
	long n = -1;
	int bad = 0;

	if (h == NULL || p == NULL || cnf == NULL)
		goto out;
	if (c->iss == NULL || c->sub == NULL || c->aud == NULL || c->conf == NULL ||
	    c->jti == NULL || c->client_id == NULL || !c->iss[0] || !c->sub[0] ||
	    !c->aud[0] || !c->conf[0] || !c->jti[0] || !c->client_id[0])
		goto out;
	bad |= json_object_set_new(h, "typ", json_string(PERC_JWT_TYP));
	bad |= json_object_set_new(h, "alg", json_string("ES256"));
	bad |= set_str(h, "kid", c->kid);
	bad |= set_str(p, "iss", c->iss);
	bad |= set_str(p, "sub", c->sub);
	bad |= set_str(p, "aud", c->aud);
	bad |= set_str(p, PERC_JWT_CONF_CLAIM, c->conf);
	bad |= set_str(p, "client_id", c->client_id);
	bad |= set_str(p, "scope", c->scope);
	bad |= set_str(p, "jti", c->jti);
	bad |= json_object_set_new(p, "iat", json_integer(c->iat));
	if (c->nbf != 0)
		bad |= json_object_set_new(p, "nbf", json_integer(c->nbf));
	bad |= json_object_set_new(p, "exp", json_integer(c->exp));
	perc_b64url_encode(c->x5t_s256, 32, x5t, sizeof(x5t));
	bad |= set_str(cnf, "x5t#S256", x5t);
	bad |= json_object_set(p, "cnf", cnf);
	if (bad)
		goto out;
	hs = json_dumps(h, JSON_COMPACT);
	ps = json_dumps(p, JSON_COMPACT);
	if (hs != NULL && ps != NULL)
		n = perc_jwt_sign_compact(key, hs, ps, out, cap);
out:
	free(hs);
	free(ps);
	json_decref(cnf);
	json_decref(p);
	json_decref(h);
	return n;
}

/* ---- verification ---- */

struct jws_parts {
	const char *hdr, *pay, *sig;
	size_t hdr_len, pay_len, sig_len;
	size_t signed_len; /* header "." payload */
};

static enum perc_jwt_err
split(const char *t, size_t len, struct jws_parts *j)
{
	const char *d1, *d2;

	if (t == NULL)
		return PERC_JWT_MALFORMED;
	if (len > PERC_JWT_MAX_TOKEN)
		return PERC_JWT_OVERSIZED;
	d1 = memchr(t, '.', len);
	if (d1 == NULL)
		return PERC_JWT_MALFORMED;
	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - t));
	if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - t)) != NULL)
		return PERC_JWT_MALFORMED; /* exactly three segments: no JWE, no extras */
	j->hdr = t;
	j->hdr_len = (size_t)(d1 - t);
	j->pay = d1 + 1;
	j->pay_len = (size_t)(d2 - j->pay);
	j->sig = d2 + 1;
	j->sig_len = len - (size_t)(j->sig - t);
	j->signed_len = (size_t)(d2 - t);
	/* an empty signature ("alg":"none" style) is left to the alg and signature checks */
	if (j->hdr_len == 0 || j->pay_len == 0)
		return PERC_JWT_MALFORMED;
	return PERC_JWT_OK;
}

/* Decode a segment and parse it as one JSON object; duplicate names are
 * refused so that no two parsers can read different claims from one token. */
static json_t *
seg_json(const char *s, size_t len)
{
	uint8_t buf[SEG_MAX];
	long n = perc_b64url_decode(s, len, buf, sizeof(buf));
	json_error_t e;
	json_t *o;

	if (n <= 0)
		return NULL;
	o = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, &e);
	if (o != NULL && !json_is_object(o)) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

static enum perc_jwt_err
check_alg(json_t *h)
{
	json_t *alg = json_object_get(h, "alg");

	if (alg == NULL || !json_is_string(alg))
		return PERC_JWT_BAD_ALG;
	/* exact, case-sensitive (RFC 7515 §4.1.1): "none", "HS256", "es256" all refused */
	if (json_string_length(alg) != 5 || strcmp(json_string_value(alg), "ES256") != 0)
		return PERC_JWT_BAD_ALG;
	return PERC_JWT_OK;
}

static enum perc_jwt_err
check_sig(const struct jws_parts *j, EVP_PKEY *const *keys, size_t n_keys)
{
	uint8_t sig[ES256_SIG_LEN + 3];

	if (perc_b64url_decode(j->sig, j->sig_len, sig, sizeof(sig)) != ES256_SIG_LEN)
		return PERC_JWT_BAD_SIGNATURE;
	for (size_t i = 0; i < n_keys; i++)
		if (is_p256(keys[i]) && es256_verify(keys[i], j->hdr, j->signed_len, sig))
			return PERC_JWT_OK;
	return PERC_JWT_BAD_SIGNATURE;
}

enum perc_jwt_err
perc_jws_verify_es256(const char *token, size_t len, EVP_PKEY *const *keys, size_t n_keys)
{
	struct jws_parts j;
	enum perc_jwt_err e = split(token, len, &j);
	json_t *h;

	if (e != PERC_JWT_OK)
		return e;
	h = seg_json(j.hdr, j.hdr_len);
	if (h == NULL)
		return PERC_JWT_MALFORMED;
	e = check_alg(h);
	json_decref(h);
	if (e != PERC_JWT_OK)
		return e;
	return check_sig(&j, keys, n_keys);
}

/* A required string claim: absent or "" → missing, other type → malformed. */
static enum perc_jwt_err
req_str(json_t *p, const char *name, const char **v)
{
	json_t *o = json_object_get(p, name);

	if (o == NULL)
		return PERC_JWT_MISSING_CLAIM;
	if (!json_is_string(o))
		return PERC_JWT_MALFORMED;
	if (json_string_length(o) == 0)
		return PERC_JWT_MISSING_CLAIM;
	*v = json_string_value(o);
	return PERC_JWT_OK;
}

/* A NumericDate, integers only; *present says whether the claim was there. */
static enum perc_jwt_err
opt_time(json_t *p, const char *name, int64_t *v, int *present)
{
	json_t *o = json_object_get(p, name);

	*present = o != NULL;
	if (o == NULL)
		return PERC_JWT_OK;
	if (!json_is_integer(o))
		return PERC_JWT_MALFORMED;
	*v = (int64_t)json_integer_value(o);
	return PERC_JWT_OK;
}

static enum perc_jwt_err
check_times(json_t *p, const struct perc_jwt_verify_params *pr, int64_t *exp, int64_t *iat)
{
	int64_t leeway = pr->leeway > 0 ? pr->leeway : 0, nbf = 0;
	int has_exp, has_iat, has_nbf;
	enum perc_jwt_err e;

	if ((e = opt_time(p, "exp", exp, &has_exp)) != PERC_JWT_OK ||
	    (e = opt_time(p, "iat", iat, &has_iat)) != PERC_JWT_OK ||
	    (e = opt_time(p, "nbf", &nbf, &has_nbf)) != PERC_JWT_OK)
		return e;
	if (!has_exp || !has_iat)
		return PERC_JWT_MISSING_CLAIM;
	/* token values are only ever compared with now +/- leeway: no overflow on them */
	if (*exp < pr->now - leeway)
		return PERC_JWT_EXPIRED;
	if ((has_nbf && nbf > pr->now + leeway) || *iat > pr->now + leeway)
		return PERC_JWT_NOT_YET_VALID;
	return PERC_JWT_OK;
}

static enum perc_jwt_err
check_aud(json_t *p, const char *want)
{
	json_t *aud = json_object_get(p, "aud"), *v;
	size_t i;

	if (aud == NULL)
		return PERC_JWT_MISSING_CLAIM;
	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0 ? PERC_JWT_OK
								  : PERC_JWT_WRONG_AUDIENCE;
	if (!json_is_array(aud))
		return PERC_JWT_MALFORMED;
	json_array_foreach(aud, i, v) {
		if (!json_is_string(v))
			return PERC_JWT_MALFORMED;
		if (strcmp(json_string_value(v), want) == 0)
			return PERC_JWT_OK;
	}
	return PERC_JWT_WRONG_AUDIENCE;
}

static enum perc_jwt_err
check_cnf(json_t *p, const uint8_t *der, size_t der_len)
{
	json_t *cnf = json_object_get(p, "cnf"), *x5t;
	uint8_t got[32 + 3], want[32];

	if (cnf == NULL)
		return PERC_JWT_NO_CNF;
	if (!json_is_object(cnf))
		return PERC_JWT_MALFORMED;
	x5t = json_object_get(cnf, "x5t#S256");
	if (x5t == NULL)
		return PERC_JWT_NO_CNF;
	if (!json_is_string(x5t) ||
	    perc_b64url_decode(json_string_value(x5t), json_string_length(x5t), got,
			       sizeof(got)) != 32)
		return PERC_JWT_MALFORMED;
	if (perc_jwt_cert_thumbprint(der, der_len, want) != 0)
		return PERC_JWT_CERT_MISMATCH; /* no certificate presented */
	return CRYPTO_memcmp(got, want, 32) == 0 ? PERC_JWT_OK : PERC_JWT_CERT_MISMATCH;
}

static enum perc_jwt_err
copy_id(char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n >= PERC_JWT_MAX_ID)
		return PERC_JWT_OVERSIZED;
	memcpy(dst, src, n + 1);
	return PERC_JWT_OK;
}

static enum perc_jwt_err
check_claims(json_t *p, const struct perc_jwt_verify_params *pr, struct perc_jwt_verified *v)
{
	const char *iss = NULL, *sub = NULL, *conf = NULL, *jti = NULL, *cid = NULL;
	enum perc_jwt_err e;

	if ((e = check_times(p, pr, &v->exp, &v->iat)) != PERC_JWT_OK)
		return e;
	if ((e = req_str(p, "iss", &iss)) != PERC_JWT_OK)
		return e;
	if (pr->iss == NULL || strcmp(iss, pr->iss) != 0)
		return PERC_JWT_WRONG_ISSUER;
	if (pr->aud == NULL)
		return PERC_JWT_WRONG_AUDIENCE;
	if ((e = check_aud(p, pr->aud)) != PERC_JWT_OK)
		return e;
	if ((e = req_str(p, "sub", &sub)) != PERC_JWT_OK ||
	    (e = req_str(p, PERC_JWT_CONF_CLAIM, &conf)) != PERC_JWT_OK ||
	    (e = req_str(p, "jti", &jti)) != PERC_JWT_OK ||
	    (e = req_str(p, "client_id", &cid)) != PERC_JWT_OK)
		return e;
	if ((e = check_cnf(p, pr->cert_der, pr->cert_len)) != PERC_JWT_OK)
		return e;
	if ((e = copy_id(v->sub, sub)) != PERC_JWT_OK ||
	    (e = copy_id(v->conf, conf)) != PERC_JWT_OK ||
	    (e = copy_id(v->jti, jti)) != PERC_JWT_OK)
		return e;
	return PERC_JWT_OK;
}

static int
typ_ok(json_t *h)
{
	json_t *typ = json_object_get(h, "typ");
	const char *s;

	if (typ == NULL || !json_is_string(typ))
		return 0;
	/* RFC 9068 §4: "at+jwt" or "application/at+jwt"; media types are
	 * case-insensitive (RFC 7515 §4.1.9) */
	s = json_string_value(typ);
	if (strncasecmp(s, "application/", 12) == 0)
		s += 12;
	return strcasecmp(s, PERC_JWT_TYP) == 0;
}

enum perc_jwt_err
perc_jwt_verify(const char *token, size_t len, const struct perc_jwt_verify_params *p,
		struct perc_jwt_verified *out)
{
	struct perc_jwt_verified v;
	struct jws_parts j;
	json_t *h = NULL, *pay = NULL;
	enum perc_jwt_err e;

	memset(&v, 0, sizeof(v));
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	e = split(token, len, &j);
	if (e != PERC_JWT_OK)
		return e;
	h = seg_json(j.hdr, j.hdr_len);
	if (h == NULL)
		return PERC_JWT_MALFORMED;
	if ((e = check_alg(h)) != PERC_JWT_OK)
		goto out;
	/* crit names extensions we would have to understand (RFC 7515 §4.1.11): we know none */
	if (!typ_ok(h) || json_object_get(h, "crit") != NULL) {
		e = PERC_JWT_BAD_TYP;
		goto out;
	}
	if ((e = check_sig(&j, p->keys, p->n_keys)) != PERC_JWT_OK)
		goto out;
	/* only the issuer's signed bytes reach the claims parser */
	pay = seg_json(j.pay, j.pay_len);
	if (pay == NULL) {
		e = PERC_JWT_MALFORMED;
		goto out;
	}
	e = check_claims(pay, p, &v);
	if (e == PERC_JWT_OK && out != NULL)
		*out = v;
out:
	json_decref(pay);
	json_decref(h);
	return e;
}
