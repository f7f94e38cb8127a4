/* SPDX-License-Identifier: BSD-3-Clause */
/* RFC 9068 access tokens (ES256, cnf x5t#S256): base64url, sign/verify round
 * trip, every refusal with its named reason, and the RFC 7515 A.3 vector. */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "perc/jwt.h"
#include "testutil.h"

#define NOW 1800000000LL
#define ISS "https://as.example.com"
#define AUD "perc-kd"

static EVP_PKEY *iss_key, *other_key;   /* the issuer, and a stranger */
static EVP_PKEY *ep1_key, *ep2_key;     /* two endpoints' DTLS keys */
static uint8_t *ep1_der, *ep2_der;      /* their self-signed certificates */
static int ep1_len, ep2_len;
static char tok[PERC_JWT_MAX_TOKEN + 64];

static const char STD_HDR[] = "{\"typ\":\"at+jwt\",\"alg\":\"ES256\"}";

static uint8_t *
make_cert(EVP_PKEY *k, const char *cn, long serial, int *len)
{
	X509 *x = X509_new();
	X509_NAME *n;
	uint8_t *der = NULL;

	if (x == NULL)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, n);
	if (X509_sign(x, k, EVP_sha256()) <= 0)
		abort();
	*len = i2d_X509(x, &der);
	if (*len <= 0)
		abort();
	X509_free(x);
	return der;
}

static void
std_params(struct perc_jwt_verify_params *p, EVP_PKEY **keys)
{
	keys[0] = iss_key;
	memset(p, 0, sizeof(*p));
	p->keys = keys;
	p->n_keys = 1;
	p->iss = ISS;
	p->aud = AUD;
	p->now = NOW;
	p->leeway = 30;
	p->cert_der = ep1_der;
	p->cert_len = (size_t)ep1_len;
}

static enum perc_jwt_err
vtok(const char *t)
{
	struct perc_jwt_verify_params p;
	EVP_PKEY *keys[1];

	std_params(&p, keys);
	return perc_jwt_verify(t, strlen(t), &p, NULL);
}

static void
thumb_b64(const uint8_t *der, int len, char *out, size_t cap)
{
	uint8_t th[32];

	CU_ASSERT_FATAL(perc_jwt_cert_thumbprint(der, (size_t)len, th) == 0);
	CU_ASSERT_FATAL(perc_b64url_encode(th, 32, out, cap) == 43);
}

/* The claims of a good token for endpoint 1, as a JSON object to edit. */
static json_t *
std_claims(void)
{
	char x5t[48];

	thumb_b64(ep1_der, ep1_len, x5t, sizeof(x5t));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:{s:s}}",
			 "iss", ISS, "sub", "alice", "aud", AUD, PERC_JWT_CONF_CLAIM, "conf-1",
			 "client_id", "ep-client", "scope", "perc.join", "jti", "t-0001",
			 "iat", (json_int_t)(NOW - 10), "exp", (json_int_t)(NOW + 300),
			 "cnf", "x5t#S256", x5t);
}

/* Sign header + claims (claims consumed) with a key into tok. */
static const char *
sign_json(EVP_PKEY *k, const char *hdr, json_t *claims)
{
	char *ps = json_dumps(claims, JSON_COMPACT);

	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	CU_ASSERT_FATAL(perc_jwt_sign_compact(k, hdr, ps, tok, sizeof(tok)) > 0);
	free(ps);
	json_decref(claims);
	return tok;
}

static enum perc_jwt_err
vclaims(json_t *claims)
{
	return vtok(sign_json(iss_key, STD_HDR, claims));
}

static void
std_sign(struct perc_jwt_claims *c)
{
	memset(c, 0, sizeof(*c));
	c->iss = ISS;
	c->sub = "alice";
	c->aud = AUD;
	c->conf = "conf-1";
	c->jti = "t-0001";
	c->client_id = "ep-client";
	c->scope = "perc.join";
	c->iat = NOW - 10;
	c->exp = NOW + 300;
	CU_ASSERT_FATAL(perc_jwt_cert_thumbprint(ep1_der, (size_t)ep1_len, c->x5t_s256) == 0);
}

/* ---- base64url ---- */

static void
test_b64url(void)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
	};
	static const char *const bad[] = {
		"Zg==", "Z", "Zh", "Zm9", "Zm9v+w", "Zm9v/w", "Zm 9v", "Zm9v\n", "Zm.v",
	};
	uint8_t ff[] = { 0xfb, 0xff, 0xbf };
	uint8_t buf[64], rnd[64];
	char s[128];
	uint64_t seed = 7;

	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = strlen(v[i].in);

		CU_ASSERT_EQUAL(perc_b64url_encode((const uint8_t *)v[i].in, n, s, sizeof(s)),
				(long)strlen(v[i].out));
		CU_ASSERT_STRING_EQUAL(s, v[i].out);
		CU_ASSERT_EQUAL(perc_b64url_decode(v[i].out, strlen(v[i].out), buf, sizeof(buf)),
				(long)n);
		CU_ASSERT(memcmp(buf, v[i].in, n) == 0);
	}
	/* the url-safe characters, not + and / */
	CU_ASSERT_EQUAL(perc_b64url_encode(ff, 3, s, sizeof(s)), 4);
	CU_ASSERT_STRING_EQUAL(s, "-_-_");
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(perc_b64url_decode(bad[i], strlen(bad[i]), buf, sizeof(buf)), -1);
	/* capacity is honoured */
	CU_ASSERT_EQUAL(perc_b64url_encode(ff, 3, s, 4), -1);
	CU_ASSERT_EQUAL(perc_b64url_decode("Zm9vYmFy", 8, buf, 5), -1);
	for (size_t n = 0; n < sizeof(rnd); n++) {
		for (size_t i = 0; i < n; i++)
			rnd[i] = (uint8_t)t_rand(&seed);
		CU_ASSERT_EQUAL(perc_b64url_encode(rnd, n, s, sizeof(s)), (long)perc_b64url_len(n));
		CU_ASSERT_EQUAL(perc_b64url_decode(s, strlen(s), buf, sizeof(buf)), (long)n);
		CU_ASSERT(memcmp(buf, rnd, n) == 0);
	}
}

/* ---- round trip ---- */

static void
test_round_trip(void)
{
	struct perc_jwt_claims c;
	struct perc_jwt_verify_params p;
	struct perc_jwt_verified v;
	EVP_PKEY *keys[2];
	const char *d1, *d2;
	uint8_t sig[80];
	long n;

	std_sign(&c);
	c.kid = "k1";
	n = perc_jwt_sign(iss_key, &c, tok, sizeof(tok));
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL((size_t)n, strlen(tok));
	/* the signature is R||S, 64 bytes, not DER */
	d1 = strchr(tok, '.');
	d2 = strrchr(tok, '.');
	CU_ASSERT_EQUAL(perc_b64url_decode(d2 + 1, strlen(d2 + 1), sig, sizeof(sig)), 64);
	CU_ASSERT(d1 != d2);

	std_params(&p, keys);
	memset(&v, 0xa5, sizeof(v));
	CU_ASSERT_EQUAL(perc_jwt_verify(tok, (size_t)n, &p, &v), PERC_JWT_OK);
	CU_ASSERT_STRING_EQUAL(v.sub, "alice");
	CU_ASSERT_STRING_EQUAL(v.conf, "conf-1");
	CU_ASSERT_STRING_EQUAL(v.jti, "t-0001");
	CU_ASSERT_EQUAL(v.exp, NOW + 300);
	CU_ASSERT_EQUAL(v.iat, NOW - 10);

	/* key rollover: the signing key second in the list */
	keys[0] = other_key;
	keys[1] = iss_key;
	p.n_keys = 2;
	CU_ASSERT_EQUAL(perc_jwt_verify(tok, (size_t)n, &p, NULL), PERC_JWT_OK);

	/* sign refuses a token without a required claim, and a short buffer */
	c.sub = "";
	CU_ASSERT_EQUAL(perc_jwt_sign(iss_key, &c, tok, sizeof(tok)), -1);
	std_sign(&c);
	CU_ASSERT_EQUAL(perc_jwt_sign(iss_key, &c, tok, 100), -1);
	/* and a key that is not P-256 private */
	CU_ASSERT_EQUAL(perc_jwt_sign(NULL, &c, tok, sizeof(tok)), -1);
}

static void
test_accepted_variants(void)
{
	json_t *c = std_claims();

	/* aud as an array naming us among others */
	json_object_set_new(c, "aud", json_pack("[s,s]", "other-rs", AUD));
	CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_OK);
	/* typ as the full media type, any case (RFC 9068 §4, RFC 7515 §4.1.9) */
	CU_ASSERT_EQUAL(vtok(sign_json(iss_key, "{\"alg\":\"ES256\",\"typ\":\"application/AT+JWT\"}",
				       std_claims())), PERC_JWT_OK);
	/* within the leeway on either side */
	c = std_claims();
	json_object_set_new(c, "exp", json_integer(NOW - 20));
	CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_OK);
	c = std_claims();
	json_object_set_new(c, "nbf", json_integer(NOW + 20));
	json_object_set_new(c, "iat", json_integer(NOW + 20));
	CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_OK);
}

/* ---- refusals ---- */

/* Replace segment i (0..2) of tok by new base64url text. */
static void
splice(int seg, const char *text)
{
	char out[sizeof(tok)], *parts[3], *save = NULL;

	parts[0] = strtok_r(tok, ".", &save);
	parts[1] = strtok_r(NULL, ".", &save);
	parts[2] = strtok_r(NULL, ".", &save);
	CU_ASSERT_FATAL(parts[0] && parts[1] && parts[2]);
	parts[seg] = (char *)text;
	snprintf(out, sizeof(out), "%s.%s.%s", parts[0], parts[1], parts[2]);
	strcpy(tok, out);
}

static void
test_tampered(void)
{
	struct perc_jwt_claims c;
	json_t *cl;
	char *ps, enc[2048];
	char *sig;

	/* payload: another participant, signature left as it was */
	std_sign(&c);
	CU_ASSERT_FATAL(perc_jwt_sign(iss_key, &c, tok, sizeof(tok)) > 0);
	cl = std_claims();
	json_object_set_new(cl, "sub", json_string("mallory"));
	ps = json_dumps(cl, JSON_COMPACT);
	perc_b64url_encode((const uint8_t *)ps, strlen(ps), enc, sizeof(enc));
	free(ps);
	json_decref(cl);
	splice(1, enc);
	CU_ASSERT_EQUAL(vtok(tok), PERC_JWT_BAD_SIGNATURE);

	/* signature: one character changed */
	CU_ASSERT_FATAL(perc_jwt_sign(iss_key, &c, tok, sizeof(tok)) > 0);
	sig = strrchr(tok, '.') + 1;
	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	CU_ASSERT_EQUAL(vtok(tok), PERC_JWT_BAD_SIGNATURE);

	/* signature: DER instead of R||S, truncated, empty */
	CU_ASSERT_FATAL(perc_jwt_sign(iss_key, &c, tok, sizeof(tok)) > 0);
	sig = strrchr(tok, '.') + 1;
	sig[40] = 0;
	CU_ASSERT_EQUAL(vtok(tok), PERC_JWT_BAD_SIGNATURE);
	sig[0] = 0;
	CU_ASSERT_EQUAL(vtok(tok), PERC_JWT_BAD_SIGNATURE);
	/* all-zero R and S */
	memset(enc, 'A', 86);
	enc[86] = 0;
	CU_ASSERT_FATAL(perc_jwt_sign(iss_key, &c, tok, sizeof(tok)) > 0);
	splice(2, enc);
	CU_ASSERT_EQUAL(vtok(tok), PERC_JWT_BAD_SIGNATURE);

	/* signed by another key */
	CU_ASSERT_FATAL(perc_jwt_sign(other_key, &c, tok, sizeof(tok)) > 0);
	CU_ASSERT_EQUAL(vtok(tok), PERC_JWT_BAD_SIGNATURE);
	/* verified with no key at all */
	{
		struct perc_jwt_verify_params p;
		EVP_PKEY *keys[1];

		std_params(&p, keys);
		p.n_keys = 0;
		CU_ASSERT_FATAL(perc_jwt_sign(iss_key, &c, tok, sizeof(tok)) > 0);
		CU_ASSERT_EQUAL(perc_jwt_verify(tok, strlen(tok), &p, NULL), PERC_JWT_BAD_SIGNATURE);
	}
}

/* The token built by hand: header and payload JSON, signature text. */
static const char *
raw_token(const char *hdr, const char *pay, const char *sig)
{
	char h[512], p[2048];

	perc_b64url_encode((const uint8_t *)hdr, strlen(hdr), h, sizeof(h));
	perc_b64url_encode((const uint8_t *)pay, strlen(pay), p, sizeof(p));
	snprintf(tok, sizeof(tok), "%s.%s.%s", h, p, sig);
	return tok;
}

static void
test_alg(void)
{
	json_t *cl = std_claims();
	char *pay = json_dumps(cl, JSON_COMPACT);
	char input[sizeof(tok)], sigtxt[128];
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	BIO *bio;
	char *pem;
	long pem_len;
	uint8_t pt[65];
	size_t pt_len;

	json_decref(cl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pay);
	/* alg none, with and without a signature */
	CU_ASSERT_EQUAL(vtok(raw_token("{\"alg\":\"none\",\"typ\":\"at+jwt\"}", pay, "")),
			PERC_JWT_BAD_ALG);
	CU_ASSERT_EQUAL(vtok(sign_json(iss_key, "{\"alg\":\"none\",\"typ\":\"at+jwt\"}",
				       json_loads(pay, 0, NULL))), PERC_JWT_BAD_ALG);
	/* no alg, alg of another type, another case, other ECDSA algorithms */
	CU_ASSERT_EQUAL(vtok(sign_json(iss_key, "{\"typ\":\"at+jwt\"}", json_loads(pay, 0, NULL))),
			PERC_JWT_BAD_ALG);
	CU_ASSERT_EQUAL(vtok(sign_json(iss_key, "{\"alg\":[\"ES256\"],\"typ\":\"at+jwt\"}",
				       json_loads(pay, 0, NULL))), PERC_JWT_BAD_ALG);
	CU_ASSERT_EQUAL(vtok(sign_json(iss_key, "{\"alg\":\"es256\",\"typ\":\"at+jwt\"}",
				       json_loads(pay, 0, NULL))), PERC_JWT_BAD_ALG);
	CU_ASSERT_EQUAL(vtok(sign_json(iss_key, "{\"alg\":\"ES384\",\"typ\":\"at+jwt\"}",
				       json_loads(pay, 0, NULL))), PERC_JWT_BAD_ALG);

	/* HS256 keyed with the issuer's public key, the classic confusion attack:
	 * as PEM, and as the raw point */
	bio = BIO_new(BIO_s_mem());
	CU_ASSERT_FATAL(bio != NULL && PEM_write_bio_PUBKEY(bio, iss_key) == 1);
	pem_len = BIO_get_mem_data(bio, &pem);
	{
		uint8_t *enc = NULL;

		pt_len = EVP_PKEY_get1_encoded_public_key(iss_key, &enc);
		CU_ASSERT_FATAL(pt_len == 65);
		memcpy(pt, enc, 65);
		OPENSSL_free(enc);
	}
	for (int k = 0; k < 2; k++) {
		const char *hdr = "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}";
		char *dot;

		raw_token(hdr, pay, "");
		snprintf(input, sizeof(input), "%s", tok);
		dot = strrchr(input, '.');
		*dot = 0;
		if (k == 0)
			HMAC(EVP_sha256(), pem, (int)pem_len, (const uint8_t *)input, strlen(input),
			     mac, &mac_len);
		else
			HMAC(EVP_sha256(), pt, (int)pt_len, (const uint8_t *)input, strlen(input),
			     mac, &mac_len);
		CU_ASSERT_FATAL(mac_len == 32);
		perc_b64url_encode(mac, mac_len, sigtxt, sizeof(sigtxt));
		raw_token(hdr, pay, sigtxt);
		CU_ASSERT_EQUAL(vtok(tok), PERC_JWT_BAD_ALG);
		/* the signature layer alone refuses it too */
		CU_ASSERT_EQUAL(perc_jws_verify_es256(tok, strlen(tok), &iss_key, 1), PERC_JWT_BAD_ALG);
	}
	BIO_free(bio);
	free(pay);
}

static void
test_typ(void)
{
	CU_ASSERT_EQUAL(vtok(sign_json(iss_key, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", std_claims())),
			PERC_JWT_BAD_TYP);
	CU_ASSERT_EQUAL(vtok(sign_json(iss_key, "{\"alg\":\"ES256\"}", std_claims())),
			PERC_JWT_BAD_TYP);
	CU_ASSERT_EQUAL(vtok(sign_json(iss_key, "{\"alg\":\"ES256\",\"typ\":\"at+jwt2\"}",
				       std_claims())), PERC_JWT_BAD_TYP);
	CU_ASSERT_EQUAL(vtok(sign_json(iss_key,
				       "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"crit\":[\"exp\"]}",
				       std_claims())), PERC_JWT_BAD_TYP);
}

static void
test_times(void)
{
	json_t *c = std_claims();

	json_object_set_new(c, "exp", json_integer(NOW - 31));
	CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_EXPIRED);
	c = std_claims();
	json_object_set_new(c, "nbf", json_integer(NOW + 31));
	CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_NOT_YET_VALID);
	c = std_claims();
	json_object_set_new(c, "iat", json_integer(NOW + 3600));
	CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_NOT_YET_VALID);
	/* extremes do not wrap around */
	c = std_claims();
	json_object_set_new(c, "nbf", json_integer(INT64_MIN));
	json_object_set_new(c, "exp", json_integer(INT64_MAX));
	CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_OK);
	c = std_claims();
	json_object_set_new(c, "exp", json_integer(INT64_MIN));
	CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_EXPIRED);
	/* NumericDate as a string or a fraction */
	c = std_claims();
	json_object_set_new(c, "exp", json_string("1800000300"));
	CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_MALFORMED);
	c = std_claims();
	json_object_set_new(c, "exp", json_real(1800000300.5));
	CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_MALFORMED);
}

static void
test_iss_aud(void)
{
	json_t *c = std_claims();

	json_object_set_new(c, "iss", json_string("https://evil.example.com"));
	CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_WRONG_ISSUER);
	c = std_claims();
	json_object_set_new(c, "iss", json_string(ISS "/"));
	CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_WRONG_ISSUER);
	c = std_claims();
	json_object_set_new(c, "aud", json_string("another-rs"));
	CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_WRONG_AUDIENCE);
	c = std_claims();
	json_object_set_new(c, "aud", json_pack("[s,s]", "a", "b"));
	CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_WRONG_AUDIENCE);
	c = std_claims();
	json_object_set_new(c, "aud", json_integer(1));
	CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_MALFORMED);
}

static void
test_missing_claims(void)
{
	static const char *const req[] = {
		"sub", PERC_JWT_CONF_CLAIM, "jti", "client_id", "iss", "aud", "exp", "iat",
	};

	for (unsigned i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		json_t *c = std_claims();

		json_object_del(c, req[i]);
		CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_MISSING_CLAIM);
	}
	for (int i = 0; i < 2; i++) {
		json_t *c = std_claims();

		json_object_set_new(c, i ? PERC_JWT_CONF_CLAIM : "sub", json_string(""));
		CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_MISSING_CLAIM);
		c = std_claims();
		json_object_set_new(c, i ? PERC_JWT_CONF_CLAIM : "sub", json_integer(42));
		CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_MALFORMED);
	}
	/* a sub longer than the verified struct holds */
	{
		char big[PERC_JWT_MAX_ID + 1];
		json_t *c = std_claims();

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		json_object_set_new(c, "sub", json_string(big));
		CU_ASSERT_EQUAL(vclaims(c), PERC_JWT_OVERSIZED);
	}
}

static void
test_cnf(void)
{
	struct perc_jwt_verify_params p;
	struct perc_jwt_claims c;
	EVP_PKEY *keys[1];
	json_t *cl;
	char x5t[48];

	/* the token was issued to endpoint 1; endpoint 2 replays it */
	std_sign(&c);
	CU_ASSERT_FATAL(perc_jwt_sign(iss_key, &c, tok, sizeof(tok)) > 0);
	std_params(&p, keys);
	p.cert_der = ep2_der;
	p.cert_len = (size_t)ep2_len;
	CU_ASSERT_EQUAL(perc_jwt_verify(tok, strlen(tok), &p, NULL), PERC_JWT_CERT_MISMATCH);
	/* no certificate presented */
	p.cert_der = NULL;
	p.cert_len = 0;
	CU_ASSERT_EQUAL(perc_jwt_verify(tok, strlen(tok), &p, NULL), PERC_JWT_CERT_MISMATCH);
	/* a cnf for endpoint 2's certificate */
	cl = std_claims();
	thumb_b64(ep2_der, ep2_len, x5t, sizeof(x5t));
	json_object_set_new(cl, "cnf", json_pack("{s:s}", "x5t#S256", x5t));
	CU_ASSERT_EQUAL(vclaims(cl), PERC_JWT_CERT_MISMATCH);
	/* no cnf, cnf without x5t#S256 (a jkt binding is not one we accept) */
	cl = std_claims();
	json_object_del(cl, "cnf");
	CU_ASSERT_EQUAL(vclaims(cl), PERC_JWT_NO_CNF);
	cl = std_claims();
	json_object_set_new(cl, "cnf", json_pack("{s:s}", "jkt", "abc"));
	CU_ASSERT_EQUAL(vclaims(cl), PERC_JWT_NO_CNF);
	/* thumbprint of the wrong length, not base64url, not an object */
	cl = std_claims();
	json_object_set_new(cl, "cnf", json_pack("{s:s}", "x5t#S256", "AAAA"));
	CU_ASSERT_EQUAL(vclaims(cl), PERC_JWT_MALFORMED);
	cl = std_claims();
	x5t[5] = '+';
	json_object_set_new(cl, "cnf", json_pack("{s:s}", "x5t#S256", x5t));
	CU_ASSERT_EQUAL(vclaims(cl), PERC_JWT_MALFORMED);
	cl = std_claims();
	json_object_set_new(cl, "cnf", json_string("x"));
	CU_ASSERT_EQUAL(vclaims(cl), PERC_JWT_MALFORMED);
}

static void
test_malformed(void)
{
	struct perc_jwt_claims c;
	char good[sizeof(tok)], buf[sizeof(tok) + 16];

	std_sign(&c);
	CU_ASSERT_FATAL(perc_jwt_sign(iss_key, &c, tok, sizeof(tok)) > 0);
	strcpy(good, tok);

	CU_ASSERT_EQUAL(vtok(""), PERC_JWT_MALFORMED);
	CU_ASSERT_EQUAL(vtok("abc"), PERC_JWT_MALFORMED);
	CU_ASSERT_EQUAL(vtok(".."), PERC_JWT_MALFORMED);
	CU_ASSERT_EQUAL(perc_jwt_verify(NULL, 0, NULL, NULL), PERC_JWT_MALFORMED);
	/* too many segments, too few */
	snprintf(buf, sizeof(buf), "%s.AAAA", good);
	CU_ASSERT_EQUAL(vtok(buf), PERC_JWT_MALFORMED);
	snprintf(buf, sizeof(buf), "%s", good);
	*strrchr(buf, '.') = 0;
	CU_ASSERT_EQUAL(vtok(buf), PERC_JWT_MALFORMED);
	/* base64url with padding, with the standard alphabet, with whitespace */
	snprintf(buf, sizeof(buf), "%s", good);
	buf[2] = '+';
	CU_ASSERT_EQUAL(vtok(buf), PERC_JWT_MALFORMED);
	snprintf(buf, sizeof(buf), "%s", good);
	buf[2] = ' ';
	CU_ASSERT_EQUAL(vtok(buf), PERC_JWT_MALFORMED);
	snprintf(buf, sizeof(buf), "eyJhbGciOiJFUzI1NiJ9==%s", strchr(good, '.'));
	CU_ASSERT_EQUAL(vtok(buf), PERC_JWT_MALFORMED);
	/* header not JSON, not an object, duplicate alg */
	CU_ASSERT_EQUAL(vtok(raw_token("{\"alg\":\"ES256\",", "{}", "AAAA")), PERC_JWT_MALFORMED);
	CU_ASSERT_EQUAL(vtok(raw_token("[\"ES256\"]", "{}", "AAAA")), PERC_JWT_MALFORMED);
	CU_ASSERT_EQUAL(vtok(raw_token("{\"alg\":\"none\",\"alg\":\"ES256\",\"typ\":\"at+jwt\"}",
				       "{}", "AAAA")), PERC_JWT_MALFORMED);
	/* payload not JSON, or with a duplicate sub, yet signed by the issuer */
	CU_ASSERT_FATAL(perc_jwt_sign_compact(iss_key, STD_HDR, "{\"sub\":", tok, sizeof(tok)) > 0);
	CU_ASSERT_EQUAL(vtok(tok), PERC_JWT_MALFORMED);
	CU_ASSERT_FATAL(perc_jwt_sign_compact(iss_key, STD_HDR, "{\"sub\":\"a\",\"sub\":\"b\"}",
					      tok, sizeof(tok)) > 0);
	CU_ASSERT_EQUAL(vtok(tok), PERC_JWT_MALFORMED);
	CU_ASSERT_FATAL(perc_jwt_sign_compact(iss_key, STD_HDR, "\"alice\"", tok, sizeof(tok)) > 0);
	CU_ASSERT_EQUAL(vtok(tok), PERC_JWT_MALFORMED);
	/* an embedded NUL ends nothing: the length given is what is checked */
	{
		struct perc_jwt_verify_params p;
		EVP_PKEY *keys[1];
		size_t n = strlen(good);

		std_params(&p, keys);
		memcpy(buf, good, n + 1);
		CU_ASSERT_EQUAL(perc_jwt_verify(buf, n, &p, NULL), PERC_JWT_OK);
		buf[n] = 0;
		CU_ASSERT_EQUAL(perc_jwt_verify(buf, n + 1, &p, NULL), PERC_JWT_BAD_SIGNATURE);
	}
}

static void
test_oversized(void)
{
	struct perc_jwt_claims c;
	struct perc_jwt_verify_params p;
	EVP_PKEY *keys[1];
	char *big = malloc(PERC_JWT_MAX_TOKEN + 2);
	char *scope = malloc(PERC_JWT_MAX_TOKEN);

	CU_ASSERT_FATAL(big != NULL && scope != NULL);
	std_sign(&c);
	CU_ASSERT_FATAL(perc_jwt_sign(iss_key, &c, tok, sizeof(tok)) > 0);
	/* a valid token followed by padding in its signature segment's place */
	memset(big, 'A', PERC_JWT_MAX_TOKEN + 1);
	memcpy(big, tok, strlen(tok));
	big[PERC_JWT_MAX_TOKEN + 1] = 0;
	std_params(&p, keys);
	CU_ASSERT_EQUAL(perc_jwt_verify(big, PERC_JWT_MAX_TOKEN + 1, &p, NULL), PERC_JWT_OVERSIZED);
	/* sign will not make one either */
	memset(scope, 's', PERC_JWT_MAX_TOKEN - 1);
	scope[PERC_JWT_MAX_TOKEN - 1] = 0;
	c.scope = scope;
	CU_ASSERT_EQUAL(perc_jwt_sign(iss_key, &c, big, PERC_JWT_MAX_TOKEN + 2), -1);
	free(big);
	free(scope);
}

/* RFC 7515 Appendix A.3: ES256 with the JWK of A.3.1. Its header is
 * {"alg":"ES256"} only, so full verification refuses it for typ; the
 * signature layer must accept it. */
static void
test_rfc7515_a3(void)
{
	static const char jws[] =
		"eyJhbGciOiJFUzI1NiJ9"
		"."
		"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
		"cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
		"."
		"DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
		"pmWQxfKTUJqPP3-Kg6NU1Q";
	static const char x_b64[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
	static const char y_b64[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
	uint8_t x[34], y[34];
	EVP_PKEY *k;
	struct perc_jwt_verify_params p;
	char t[sizeof(jws)];

	CU_ASSERT_FATAL(perc_b64url_decode(x_b64, strlen(x_b64), x, sizeof(x)) == 32);
	CU_ASSERT_FATAL(perc_b64url_decode(y_b64, strlen(y_b64), y, sizeof(y)) == 32);
	k = perc_jwt_p256_pubkey(x, y);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_EQUAL(perc_jws_verify_es256(jws, strlen(jws), &k, 1), PERC_JWT_OK);
	/* the issuer's key does not verify it */
	CU_ASSERT_EQUAL(perc_jws_verify_es256(jws, strlen(jws), &iss_key, 1), PERC_JWT_BAD_SIGNATURE);
	/* last signature character Q -> A: a different S */
	memcpy(t, jws, sizeof(jws));
	t[strlen(t) - 1] = 'A';
	CU_ASSERT_EQUAL(perc_jws_verify_es256(t, strlen(t), &k, 1), PERC_JWT_BAD_SIGNATURE);
	/* full verification: no typ */
	memset(&p, 0, sizeof(p));
	p.keys = &k;
	p.n_keys = 1;
	p.iss = "joe";
	p.aud = "x";
	p.now = 1300819300;
	CU_ASSERT_EQUAL(perc_jwt_verify(jws, strlen(jws), &p, NULL), PERC_JWT_BAD_TYP);
	EVP_PKEY_free(k);

	/* a point off the curve is refused as a key */
	y[31] ^= 1;
	CU_ASSERT_PTR_NULL(perc_jwt_p256_pubkey(x, y));
}

static void
test_names(void)
{
	CU_ASSERT_STRING_EQUAL(perc_jwt_err_name(PERC_JWT_OK), "ok");
	CU_ASSERT_STRING_EQUAL(perc_jwt_err_name(PERC_JWT_BAD_SIGNATURE), "bad_signature");
	CU_ASSERT_STRING_EQUAL(perc_jwt_err_name(PERC_JWT_CERT_MISMATCH), "cert_mismatch");
	CU_ASSERT_STRING_EQUAL(perc_jwt_err_name(PERC_JWT__COUNT), "?");
	CU_ASSERT_STRING_EQUAL(perc_jwt_err_desc(999), "?");
	for (unsigned i = 0; i < PERC_JWT__COUNT; i++)
		CU_ASSERT(strlen(perc_jwt_err_desc(i)) > 0);
	CU_ASSERT_EQUAL(perc_jwt_err_reason(PERC_JWT_OK), PERC_R_OK);
	CU_ASSERT_EQUAL(perc_jwt_err_reason(PERC_JWT_EXPIRED), PERC_R_AUTH);
	CU_ASSERT_EQUAL(perc_jwt_err_reason(PERC_JWT_BAD_ALG), PERC_R_AUTH);
	CU_ASSERT_EQUAL(perc_jwt_err_reason(PERC_JWT_MALFORMED), PERC_R_MALFORMED);
	CU_ASSERT_EQUAL(perc_jwt_err_reason(PERC_JWT_OVERSIZED), PERC_R_OVERSIZED);
}

int
main(void)
{
	int rc;

	iss_key = EVP_EC_gen("P-256");
	other_key = EVP_EC_gen("P-256");
	ep1_key = EVP_EC_gen("P-256");
	ep2_key = EVP_EC_gen("P-256");
	if (!iss_key || !other_key || !ep1_key || !ep2_key)
		return 2;
	ep1_der = make_cert(ep1_key, "endpoint-1", 1, &ep1_len);
	ep2_der = make_cert(ep2_key, "endpoint-2", 2, &ep2_len);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	T_SUITE("jwt");
	T_ADD(test_b64url);
	T_ADD(test_round_trip);
	T_ADD(test_accepted_variants);
	T_ADD(test_tampered);
	T_ADD(test_alg);
	T_ADD(test_typ);
	T_ADD(test_times);
	T_ADD(test_iss_aud);
	T_ADD(test_missing_claims);
	T_ADD(test_cnf);
	T_ADD(test_malformed);
	T_ADD(test_oversized);
	T_ADD(test_rfc7515_a3);
	T_ADD(test_names);
	rc = t_run();
	OPENSSL_free(ep1_der);
	OPENSSL_free(ep2_der);
	EVP_PKEY_free(iss_key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(ep1_key);
	EVP_PKEY_free(ep2_key);
	return rc;
}
