/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Endpoint <-> Key Distributor messages inside DTLS (include/perc/kdproto.h):
 * type(1) ‖ length(2) ‖ body, one per application data record, and the
 * HKDF-SHA256 step of the join rekey.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "perc/bytes.h"
#include "perc/ekt.h"
#include "perc/kdproto.h"
#include "perc/reason.h"

/* Roster body: version(4) ‖ n(1) ‖ n × (len(1) ‖ id). Returns bytes or -reason. */
static int
roster_encode(const struct perc_kd_roster *r, uint8_t *out, size_t cap)
{
	size_t off = 5;

	if (r->n > PERC_KD_MAX_ROSTER)
		return -PERC_R_OVERSIZED;
	if (cap < off)
		return -PERC_R_NO_ROOM;
	perc_wr32(out, r->version);
	out[4] = r->n;
	for (unsigned i = 0; i < r->n; i++) {
		size_t l = strnlen(r->ids[i], PERC_KD_MAX_ID);

		if (l == 0)
			return -PERC_R_MALFORMED;
		if (l >= PERC_KD_MAX_ID)
			return -PERC_R_OVERSIZED;
		if (cap - off < 1 + l)
			return -PERC_R_NO_ROOM;
		out[off] = (uint8_t)l;
		memcpy(out + off + 1, r->ids[i], l);
		off += 1 + l;
	}
	return (int)off;
}

/* Decode a roster that runs to the end of the body (p, len). */
static int
roster_decode(const uint8_t *p, size_t len, struct perc_kd_roster *r)
{
	size_t off = 5;

	if (len < off)
		return PERC_R_TRUNCATED;
	r->version = perc_rd32(p);
	r->n = p[4];
	if (r->n > PERC_KD_MAX_ROSTER)
		return PERC_R_OVERSIZED;
	for (unsigned i = 0; i < r->n; i++) {
		size_t l;

		if (off >= len)
			return PERC_R_TRUNCATED;
		l = p[off];
		if (l == 0)
			return PERC_R_MALFORMED;
		if (l >= PERC_KD_MAX_ID)
			return PERC_R_OVERSIZED;
		if (len - off - 1 < l)
			return PERC_R_TRUNCATED;
		memcpy(r->ids[i], p + off + 1, l);
		r->ids[i][l] = '\0';
		/* an id is printable text: it is logged and compared as a string */
		for (size_t k = 0; k < l; k++)
			if (r->ids[i][k] < 0x20 || r->ids[i][k] == 0x7f)
				return PERC_R_MALFORMED;
		off += 1 + l;
	}
	return off == len ? PERC_R_OK : PERC_R_OVERSIZED;
}

static int
body_encode(const struct perc_kd_msg *m, uint8_t *b, size_t cap)
{
	struct perc_ektkey_msg ek;
	size_t tl;
	int n, r;

	switch (m->type) {
	case PERC_KD_AUTH:
		if (m->token == NULL || m->token_len == 0)
			return -PERC_R_MALFORMED;
		if (m->token_len > PERC_KD_MAX_TOKEN)
			return -PERC_R_OVERSIZED;
		if (cap < m->token_len)
			return -PERC_R_NO_ROOM;
		memcpy(b, m->token, m->token_len);
		return m->token_len;
	case PERC_KD_KEEPALIVE:
	case PERC_KD_KEEPALIVE_ACK:
		if (cap < 4)
			return -PERC_R_NO_ROOM;
		perc_wr32(b, m->seq);
		return 4;
	case PERC_KD_EKT_ACK:
		if (cap < 2)
			return -PERC_R_NO_ROOM;
		perc_wr16(b, m->spi);
		return 2;
	case PERC_KD_EKT_STEP:
		if (cap < 2)
			return -PERC_R_NO_ROOM;
		perc_wr16(b, m->spi);
		r = roster_encode(&m->roster, b + 2, cap - 2);
		return r < 0 ? r : r + 2;
	case PERC_KD_EKT_KEY:
		if (m->ekt_key_len != 16 && m->ekt_key_len != 32)
			return -PERC_R_MALFORMED;
		memset(&ek, 0, sizeof(ek));
		ek.ekt_key_len = m->ekt_key_len;
		memcpy(ek.ekt_key, m->ekt_key, m->ekt_key_len);
		ek.salt_len = m->salt_len;
		memcpy(ek.salt, m->salt, m->salt_len < sizeof(ek.salt) ? m->salt_len : sizeof(ek.salt));
		ek.spi = m->spi;
		ek.ttl = m->ttl;
		n = m->salt_len > sizeof(ek.salt) ? -PERC_R_OVERSIZED : perc_ektkey_encode(&ek, b, cap);
		OPENSSL_cleanse(&ek, sizeof(ek));
		if (n < 0)
			return n;
		r = roster_encode(&m->roster, b + n, cap - (size_t)n);
		return r < 0 ? r : r + n;
	case PERC_KD_ERROR:
		tl = strnlen(m->text, PERC_KD_MAX_TEXT);
		if (tl >= PERC_KD_MAX_TEXT)
			return -PERC_R_OVERSIZED;
		if (cap < 2 + tl)
			return -PERC_R_NO_ROOM;
		perc_wr16(b, m->code);
		memcpy(b + 2, m->text, tl);
		return (int)(2 + tl);
	case PERC_KD_BYE:
		return 0;
	default:
		return -PERC_R_UNKNOWN;
	}
}

int
perc_kd_encode(const struct perc_kd_msg *m, uint8_t *out, size_t cap)
{
	size_t lim = cap < PERC_KD_MAX_MSG ? cap : PERC_KD_MAX_MSG;
	int n;

	if (lim < PERC_KD_HDR)
		return -PERC_R_NO_ROOM;
	n = body_encode(m, out + PERC_KD_HDR, lim - PERC_KD_HDR);
	if (n < 0) {
		OPENSSL_cleanse(out, lim);
		return n;
	}
	out[0] = m->type;
	perc_wr16(out + 1, (uint16_t)n);
	return n + (int)PERC_KD_HDR;
}

/* EKT_KEY body: the EKTKey fields, then the roster. The EKTKey part has no
 * length of its own: it ends after its TTL, which its vectors place. */
static int
ektkey_part_len(const uint8_t *b, size_t n, size_t *out)
{
	size_t off, kl, sl;

	if (n < 2)
		return PERC_R_TRUNCATED;
	kl = perc_rd16(b);
	if (n - 2 < kl + 2)
		return PERC_R_TRUNCATED;
	off = 2 + kl;
	sl = perc_rd16(b + off);
	off += 2;
	if (n - off < sl + 5)
		return PERC_R_TRUNCATED;
	*out = off + sl + 5;
	return PERC_R_OK;
}

static int
decode_ekt_key(const uint8_t *b, size_t n, struct perc_kd_msg *m)
{
	struct perc_ektkey_msg ek;
	size_t el;
	int r = ektkey_part_len(b, n, &el);

	if (r != PERC_R_OK)
		return r;
	r = perc_ektkey_decode(b, el, &ek);
	if (r == PERC_R_OK && ek.ekt_key_len != 16 && ek.ekt_key_len != 32)
		r = PERC_R_MALFORMED; /* AESKW-128 or -256 only */
	if (r == PERC_R_OK) {
		m->ekt_key_len = ek.ekt_key_len;
		memcpy(m->ekt_key, ek.ekt_key, ek.ekt_key_len);
		m->salt_len = ek.salt_len;
		memcpy(m->salt, ek.salt, ek.salt_len);
		m->spi = ek.spi;
		m->ttl = ek.ttl;
		r = roster_decode(b + el, n - el, &m->roster);
	}
	OPENSSL_cleanse(&ek, sizeof(ek));
	return r;
}

static int
body_decode(const uint8_t *b, size_t n, struct perc_kd_msg *m)
{
	switch (m->type) {
	case PERC_KD_AUTH:
		if (n == 0)
			return PERC_R_MALFORMED;
		if (n > PERC_KD_MAX_TOKEN)
			return PERC_R_OVERSIZED;
		m->token = (const char *)b;
		m->token_len = (uint16_t)n;
		return PERC_R_OK;
	case PERC_KD_KEEPALIVE:
	case PERC_KD_KEEPALIVE_ACK:
		if (n < 4)
			return PERC_R_TRUNCATED;
		m->seq = perc_rd32(b);
		return n == 4 ? PERC_R_OK : PERC_R_OVERSIZED;
	case PERC_KD_EKT_ACK:
		if (n < 2)
			return PERC_R_TRUNCATED;
		m->spi = perc_rd16(b);
		return n == 2 ? PERC_R_OK : PERC_R_OVERSIZED;
	case PERC_KD_EKT_STEP:
		if (n < 2)
			return PERC_R_TRUNCATED;
		m->spi = perc_rd16(b);
		return roster_decode(b + 2, n - 2, &m->roster);
	case PERC_KD_EKT_KEY:
		return decode_ekt_key(b, n, m);
	case PERC_KD_ERROR:
		if (n < 2)
			return PERC_R_TRUNCATED;
		if (n - 2 >= PERC_KD_MAX_TEXT)
			return PERC_R_OVERSIZED;
		m->code = perc_rd16(b);
		memcpy(m->text, b + 2, n - 2);
		m->text[n - 2] = '\0';
		/* text is shown to people: no control bytes, no embedded NUL */
		for (size_t i = 0; i < n - 2; i++)
			if ((uint8_t)m->text[i] < 0x20 || m->text[i] == 0x7f)
				return PERC_R_MALFORMED;
		return PERC_R_OK;
	case PERC_KD_BYE:
		return n == 0 ? PERC_R_OK : PERC_R_OVERSIZED;
	default:
		return PERC_R_UNKNOWN;
	}
}

int
perc_kd_decode(const uint8_t *p, size_t len, struct perc_kd_msg *m)
{
	size_t n;
	int r;

	memset(m, 0, sizeof(*m));
	if (len < PERC_KD_HDR)
		return PERC_R_TRUNCATED;
	if (len > PERC_KD_MAX_MSG)
		return PERC_R_OVERSIZED;
	m->type = p[0];
	n = perc_rd16(p + 1);
	if (len - PERC_KD_HDR < n)
		return PERC_R_TRUNCATED;
	if (len - PERC_KD_HDR > n)
		return PERC_R_OVERSIZED;
	r = body_decode(p + PERC_KD_HDR, n, m);
	if (r != PERC_R_OK) {
		uint8_t t = m->type;

		OPENSSL_cleanse(m, sizeof(*m)); /* no half-decoded key left behind */
		m->type = t;
	}
	return r;
}

int
perc_kd_step_key(const uint8_t *cur, size_t key_len, const uint8_t *salt, size_t salt_len,
		 uint16_t new_spi, uint32_t roster_version, uint8_t *next)
{
	static const char label[] = "PERC EKT step";
	uint8_t info[sizeof(label) - 1 + 6];
	OSSL_PARAM prm[5], *q = prm;
	EVP_KDF_CTX *kc;
	EVP_KDF *kdf;
	int ok;

	if (key_len == 0 || key_len > 64)
		return -PERC_R_KEY;
	memcpy(info, label, sizeof(label) - 1);
	perc_wr16(info + sizeof(label) - 1, new_spi);
	perc_wr32(info + sizeof(label) + 1, roster_version);
	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	kc = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	if (kc == NULL)
		return -PERC_R_ENGINE;
	*q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)cur, key_len);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info));
	*q = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(kc, next, key_len, prm);
	EVP_KDF_CTX_free(kc);
	return ok == 1 ? 0 : -PERC_R_ENGINE;
}
