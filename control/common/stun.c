/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * STUN codec (RFC 5389 / RFC 8489) for ICE-lite short-term credentials.
 * Parsing is a single walk over the attributes with every length checked
 * before it is used; builders write into the caller's buffer.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "perc/bytes.h"
#include "perc/kdf.h"
#include "perc/reason.h"
#include "perc/stun.h"

#define ATTR_HDR 4u
#define FP_ATTR_LEN (ATTR_HDR + 4u)
#define MI_ATTR_LEN (ATTR_HDR + PERC_STUN_MI_LEN)
#define MAX_MSG_BODY 0xfffcu

static inline size_t
pad4(size_t n)
{
	return (n + 3u) & ~(size_t)3u;
}

/* ---- CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) ---- */

/* crc_table[i] = i reflected through eight shift-and-xor steps of the
 * polynomial; a constant (no first-use initialisation to race on),
 * checked against the bitwise definition in tests/unit/test_stun.c. */
static const uint32_t crc_table[256] = {
	0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu,
	0xe963a535u, 0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u,
	0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u,
	0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
	0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u,
	0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u,
	0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu,
	0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
	0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u,
	0xcfba9599u, 0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
	0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du, 0x76dc4190u, 0x01db7106u,
	0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
	0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du,
	0x91646c97u, 0xe6635c01u, 0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
	0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
	0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
	0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u,
	0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u,
	0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau,
	0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
	0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
	0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au,
	0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u, 0xe3630b12u, 0x94643b84u,
	0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
	0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu,
	0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu,
	0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u, 0xa1d1937eu,
	0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
	0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u,
	0x316e8eefu, 0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
	0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u,
	0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
	0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu,
	0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u,
	0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
	0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
	0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u,
	0x616bffd3u, 0x166ccf45u, 0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u,
	0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu,
	0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
	0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u, 0xcdd70693u,
	0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
	0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du,
};

uint32_t
perc_stun_crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++)
		c = crc_table[(c ^ p[i]) & 0xffu] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

/* ---- HMAC-SHA1 ---- */

/* One MAC context per thread, made on first use and kept: a message costs an
 * EVP_MAC_init with its key, no allocation. */
static _Thread_local EVP_MAC_CTX *tl_hmac;

static EVP_MAC_CTX *
hmac_ctx(void)
{
	if (tl_hmac == NULL) {
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

		if (mac == NULL)
			return NULL;
		tl_hmac = EVP_MAC_CTX_new(mac);
		EVP_MAC_free(mac);
	}
	return tl_hmac;
}

/* HMAC-SHA1 over p[0..n) with the header's length field read as len_field
 * (RFC 5389 15.4: the length as if MESSAGE-INTEGRITY ended the message). */
static int
stun_hmac(const char *key, size_t key_len, const uint8_t *p, size_t n, uint16_t len_field,
	  uint8_t out[PERC_STUN_MI_LEN])
{
	EVP_MAC_CTX *c = hmac_ctx();
	OSSL_PARAM params[2];
	uint8_t lf[2];
	size_t ol = 0;

	if (c == NULL)
		return PERC_R_ENGINE;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0);
	params[1] = OSSL_PARAM_construct_end();
	perc_wr16(lf, len_field);
	if (EVP_MAC_init(c, (const unsigned char *)key, key_len, params) != 1 ||
	    EVP_MAC_update(c, p, 2) != 1 || EVP_MAC_update(c, lf, 2) != 1 ||
	    EVP_MAC_update(c, p + 4, n - 4) != 1 ||
	    EVP_MAC_final(c, out, &ol, PERC_STUN_MI_LEN) != 1 || ol != PERC_STUN_MI_LEN)
		return PERC_R_ENGINE;
	return PERC_R_OK;
}

int
perc_stun_key_check(const char *password, size_t len)
{
	if (password == NULL || len == 0)
		return PERC_R_KEY;
	if (len > PERC_STUN_MAX_PASSWORD)
		return PERC_R_OVERSIZED;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)password[i] < 0x20 || (unsigned char)password[i] > 0x7e)
			return PERC_R_KEY;
	return PERC_R_OK;
}

/* ---- parsing ---- */

bool
perc_stun_is_stun(const uint8_t *p, size_t len)
{
	return len >= PERC_STUN_HDR && (p[0] & 0xc0) == 0 && perc_rd32(p + 4) == PERC_STUN_COOKIE;
}

static int
parse_xor_addr(const uint8_t *v, uint16_t vl, const uint8_t *hdr, struct perc_stun_addr *a)
{
	if (vl < 4)
		return PERC_R_MALFORMED;
	a->port = (uint16_t)(perc_rd16(v + 2) ^ (PERC_STUN_COOKIE >> 16));
	memset(a->addr, 0, sizeof(a->addr));
	if (v[1] == 0x01 && vl == 8) {
		a->family = 4;
		for (int i = 0; i < 4; i++)
			a->addr[i] = v[4 + i] ^ hdr[4 + i];
	} else if (v[1] == 0x02 && vl == 20) {
		a->family = 6;
		/* cookie then transaction id: header bytes 4..19 */
		for (int i = 0; i < 16; i++)
			a->addr[i] = v[4 + i] ^ hdr[4 + i];
	} else {
		return PERC_R_MALFORMED;
	}
	return PERC_R_OK;
}

static int
parse_error_code(const uint8_t *v, uint16_t vl, struct perc_stun_msg *m)
{
	unsigned cls, num;

	if (vl < 4 || vl - 4u > PERC_STUN_MAX_REASON)
		return PERC_R_MALFORMED;
	cls = v[2] & 0x07u;
	num = v[3];
	if (cls < 3 || cls > 6 || num > 99)
		return PERC_R_MALFORMED;
	m->has_error = true;
	m->error_code = (uint16_t)(cls * 100 + num);
	m->error_reason = v + 4;
	m->error_reason_len = (uint16_t)(vl - 4);
	return PERC_R_OK;
}

/* One attribute before MESSAGE-INTEGRITY. The first of a repeated attribute
 * is the one that counts (RFC 5389 15). */
static int
parse_attr(uint16_t t, const uint8_t *v, uint16_t vl, struct perc_stun_msg *m)
{
	switch (t) {
	case PERC_STUN_A_USERNAME:
		if (vl > PERC_STUN_MAX_USERNAME)
			return PERC_R_MALFORMED;
		if (m->username == NULL) {
			m->username = v;
			m->username_len = vl;
		}
		return PERC_R_OK;
	case PERC_STUN_A_XOR_MAPPED_ADDRESS:
		if (m->has_xor_mapped) {
			struct perc_stun_addr dummy;

			return parse_xor_addr(v, vl, m->msg, &dummy);
		}
		if (parse_xor_addr(v, vl, m->msg, &m->xor_mapped) != PERC_R_OK)
			return PERC_R_MALFORMED;
		m->has_xor_mapped = true;
		return PERC_R_OK;
	case PERC_STUN_A_PRIORITY:
		if (vl != 4)
			return PERC_R_MALFORMED;
		if (!m->has_priority) {
			m->has_priority = true;
			m->priority = perc_rd32(v);
		}
		return PERC_R_OK;
	case PERC_STUN_A_USE_CANDIDATE:
		if (vl != 0)
			return PERC_R_MALFORMED;
		m->use_candidate = true;
		return PERC_R_OK;
	case PERC_STUN_A_ICE_CONTROLLING:
	case PERC_STUN_A_ICE_CONTROLLED:
		if (vl != 8)
			return PERC_R_MALFORMED;
		if (!m->ice_controlling && !m->ice_controlled)
			m->tie_breaker = ((uint64_t)perc_rd32(v) << 32) | perc_rd32(v + 4);
		if (t == PERC_STUN_A_ICE_CONTROLLING)
			m->ice_controlling = true;
		else
			m->ice_controlled = true;
		return PERC_R_OK;
	case PERC_STUN_A_ERROR_CODE:
		if (m->has_error)
			return vl < 4 ? PERC_R_MALFORMED : PERC_R_OK;
		return parse_error_code(v, vl, m);
	case PERC_STUN_A_MAPPED_ADDRESS:
	case PERC_STUN_A_UNKNOWN_ATTRIBUTES:
		/* understood, not needed by ICE-lite */
		return PERC_R_OK;
	default:
		if (t < 0x8000u) {
			if (m->n_unknown < PERC_STUN_MAX_UNKNOWN)
				m->unknown[m->n_unknown] = t;
			m->n_unknown++;
		}
		return PERC_R_OK;
	}
}

int
perc_stun_parse(const uint8_t *p, size_t len, struct perc_stun_msg *m)
{
	size_t body, off;
	int r;

	memset(m, 0, sizeof(*m));
	if (len < PERC_STUN_HDR)
		return PERC_R_TRUNCATED;
	if ((p[0] & 0xc0) != 0)
		return PERC_R_MALFORMED;
	if (perc_rd32(p + 4) != PERC_STUN_COOKIE)
		return PERC_R_UNKNOWN;
	body = perc_rd16(p + 2);
	if (body & 3u)
		return PERC_R_MALFORMED;
	if (len < PERC_STUN_HDR + body)
		return PERC_R_TRUNCATED;
	if (len > PERC_STUN_HDR + body)
		return PERC_R_MALFORMED;
	m->msg = p;
	m->msg_len = len;
	m->type = perc_rd16(p);
	memcpy(m->tid, p + 8, PERC_STUN_TID_LEN);

	for (off = PERC_STUN_HDR; off < len;) {
		uint16_t t, vl;
		const uint8_t *v;

		if (len - off < ATTR_HDR)
			return PERC_R_TRUNCATED;
		t = perc_rd16(p + off);
		vl = perc_rd16(p + off + 2);
		v = p + off + ATTR_HDR;
		if (pad4(vl) > len - off - ATTR_HDR)
			return PERC_R_TRUNCATED;
		if (t == PERC_STUN_A_FINGERPRINT) {
			/* must be last, and right */
			if (vl != 4 || off + FP_ATTR_LEN != len)
				return PERC_R_MALFORMED;
			if ((perc_stun_crc32(p, off) ^ PERC_STUN_FP_XOR) != perc_rd32(v))
				return PERC_R_MALFORMED;
			m->has_fingerprint = true;
		} else if (m->mi_off != 0) {
			return PERC_R_MALFORMED;
		} else if (t == PERC_STUN_A_MESSAGE_INTEGRITY) {
			if (vl != PERC_STUN_MI_LEN)
				return PERC_R_MALFORMED;
			m->mi_off = off;
		} else if ((r = parse_attr(t, v, vl, m)) != PERC_R_OK) {
			return r;
		}
		off += ATTR_HDR + pad4(vl);
	}
	return PERC_R_OK;
}

int
perc_stun_check_integrity(const struct perc_stun_msg *m, const char *password,
			  size_t password_len)
{
	uint8_t mac[PERC_STUN_MI_LEN];
	int r = perc_stun_key_check(password, password_len);

	if (r != PERC_R_OK)
		return r;
	if (m->msg == NULL || m->mi_off < PERC_STUN_HDR)
		return PERC_R_AUTH;
	r = stun_hmac(password, password_len, m->msg, m->mi_off,
		      (uint16_t)(m->mi_off - PERC_STUN_HDR + MI_ATTR_LEN), mac);
	if (r != PERC_R_OK)
		return r;
	r = perc_ct_memcmp(mac, m->msg + m->mi_off + ATTR_HDR, PERC_STUN_MI_LEN) == 0 ?
		PERC_R_OK : PERC_R_AUTH;
	perc_zeroize(mac, sizeof(mac));
	return r;
}

/* ---- building ---- */

struct wr {
	uint8_t *p;
	size_t cap;
	size_t n;
	int err;   /* first reason that stopped the build, PERC_R_OK while none */
};

static void
w_header(struct wr *w, uint16_t type, const uint8_t tid[PERC_STUN_TID_LEN])
{
	if (w->cap < PERC_STUN_HDR) {
		w->err = PERC_R_NO_ROOM;
		return;
	}
	perc_wr16(w->p, type);
	perc_wr16(w->p + 2, 0);
	perc_wr32(w->p + 4, PERC_STUN_COOKIE);
	memcpy(w->p + 8, tid, PERC_STUN_TID_LEN);
	w->n = PERC_STUN_HDR;
}

/* Append an attribute header and zeroed, padded room for len value bytes;
 * returns where the value goes, NULL once the build has failed. */
static uint8_t *
w_attr(struct wr *w, uint16_t type, size_t len)
{
	uint8_t *v;

	if (w->err != PERC_R_OK)
		return NULL;
	if (len > UINT16_MAX || ATTR_HDR + pad4(len) > w->cap - w->n ||
	    w->n - PERC_STUN_HDR + ATTR_HDR + pad4(len) > MAX_MSG_BODY) {
		w->err = PERC_R_NO_ROOM;
		return NULL;
	}
	perc_wr16(w->p + w->n, type);
	perc_wr16(w->p + w->n + 2, (uint16_t)len);
	v = w->p + w->n + ATTR_HDR;
	memset(v, 0, pad4(len));
	w->n += ATTR_HDR + pad4(len);
	perc_wr16(w->p + 2, (uint16_t)(w->n - PERC_STUN_HDR));
	return v;
}

static void
w_integrity(struct wr *w, const char *password, size_t password_len)
{
	size_t at = w->n;
	uint8_t *v;
	int r;

	if (w->err != PERC_R_OK)
		return;
	r = perc_stun_key_check(password, password_len);
	if (r != PERC_R_OK) {
		w->err = r;
		return;
	}
	v = w_attr(w, PERC_STUN_A_MESSAGE_INTEGRITY, PERC_STUN_MI_LEN);
	if (v == NULL)
		return;
	/* the length field already ends at MESSAGE-INTEGRITY */
	r = stun_hmac(password, password_len, w->p, at, perc_rd16(w->p + 2), v);
	if (r != PERC_R_OK)
		w->err = r;
}

static int
w_finish(struct wr *w)
{
	uint8_t *v;
	size_t at = w->n;

	v = w_attr(w, PERC_STUN_A_FINGERPRINT, 4);
	if (v != NULL)
		perc_wr32(v, perc_stun_crc32(w->p, at) ^ PERC_STUN_FP_XOR);
	if (w->err != PERC_R_OK)
		return -w->err;
	return (int)w->n;
}

static void
w_xor_addr(struct wr *w, const struct perc_stun_addr *a)
{
	size_t alen = a->family == 4 ? 4 : 16;
	uint8_t *v;

	if (w->err != PERC_R_OK)
		return;
	if (a->family != 4 && a->family != 6) {
		w->err = PERC_R_MALFORMED;
		return;
	}
	v = w_attr(w, PERC_STUN_A_XOR_MAPPED_ADDRESS, 4 + alen);
	if (v == NULL)
		return;
	v[1] = a->family == 4 ? 0x01 : 0x02;
	perc_wr16(v + 2, (uint16_t)(a->port ^ (PERC_STUN_COOKIE >> 16)));
	for (size_t i = 0; i < alen; i++)
		v[4 + i] = a->addr[i] ^ w->p[4 + i];
}

int
perc_stun_build_success(uint8_t *out, size_t cap, const uint8_t tid[PERC_STUN_TID_LEN],
			const struct perc_stun_addr *mapped, const char *password,
			size_t password_len)
{
	struct wr w = { out, cap, 0, PERC_R_OK };

	w_header(&w, PERC_STUN_BINDING_SUCCESS, tid);
	w_xor_addr(&w, mapped);
	w_integrity(&w, password, password_len);
	return w_finish(&w);
}

static const char *
error_phrase(uint16_t code)
{
	switch (code) {
	case 300: return "Try Alternate";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 420: return "Unknown Attribute";
	case 487: return "Role Conflict";
	case 500: return "Server Error";
	default: return "";
	}
}

int
perc_stun_build_error(uint8_t *out, size_t cap, const uint8_t tid[PERC_STUN_TID_LEN],
		      uint16_t code, const char *reason, const uint16_t *unknown,
		      unsigned int n_unknown, const char *password, size_t password_len)
{
	struct wr w = { out, cap, 0, PERC_R_OK };
	size_t rl;
	uint8_t *v;

	if (code < 300 || code > 699 || (n_unknown > 0 && unknown == NULL))
		return -PERC_R_MALFORMED;
	if (reason == NULL)
		reason = error_phrase(code);
	rl = strlen(reason);
	if (rl > PERC_STUN_MAX_REASON || n_unknown > UINT16_MAX / 2)
		return -PERC_R_OVERSIZED;
	w_header(&w, PERC_STUN_BINDING_ERROR, tid);
	v = w_attr(&w, PERC_STUN_A_ERROR_CODE, 4 + rl);
	if (v != NULL) {
		v[2] = (uint8_t)(code / 100);
		v[3] = (uint8_t)(code % 100);
		memcpy(v + 4, reason, rl);
	}
	if (n_unknown > 0) {
		v = w_attr(&w, PERC_STUN_A_UNKNOWN_ATTRIBUTES, 2u * n_unknown);
		for (unsigned i = 0; v != NULL && i < n_unknown; i++)
			perc_wr16(v + 2 * i, unknown[i]);
	}
	if (password != NULL)
		w_integrity(&w, password, password_len);
	return w_finish(&w);
}

int
perc_stun_build_request(uint8_t *out, size_t cap, const uint8_t tid[PERC_STUN_TID_LEN],
			const struct perc_stun_request *req, const char *password,
			size_t password_len)
{
	struct wr w = { out, cap, 0, PERC_R_OK };
	size_t rl, ll;
	uint8_t *v;

	if (req->remote_ufrag == NULL || req->local_ufrag == NULL)
		return -PERC_R_MALFORMED;
	rl = strlen(req->remote_ufrag);
	ll = strlen(req->local_ufrag);
	if (rl + 1 + ll > PERC_STUN_MAX_USERNAME)
		return -PERC_R_OVERSIZED;
	w_header(&w, PERC_STUN_BINDING_REQUEST, tid);
	v = w_attr(&w, PERC_STUN_A_USERNAME, rl + 1 + ll);
	if (v != NULL) {
		memcpy(v, req->remote_ufrag, rl);
		v[rl] = ':';
		memcpy(v + rl + 1, req->local_ufrag, ll);
	}
	v = w_attr(&w, PERC_STUN_A_PRIORITY, 4);
	if (v != NULL)
		perc_wr32(v, req->priority);
	v = w_attr(&w, req->controlling ? PERC_STUN_A_ICE_CONTROLLING : PERC_STUN_A_ICE_CONTROLLED, 8);
	if (v != NULL) {
		perc_wr32(v, (uint32_t)(req->tie_breaker >> 32));
		perc_wr32(v + 4, (uint32_t)req->tie_breaker);
	}
	if (req->use_candidate)
		(void)w_attr(&w, PERC_STUN_A_USE_CANDIDATE, 0);
	w_integrity(&w, password, password_len);
	return w_finish(&w);
}
