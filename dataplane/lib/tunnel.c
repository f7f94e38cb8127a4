/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RFC 9185 tunnel messages between the Media Distributor and the Key
 * Distributor. The peer is authenticated but its bytes are still checked
 * like any other input: a bad length must not take the MDD down.
 */
#include <string.h>

#include "perc/bytes.h"
#include "perc/reason.h"
#include "perc/tunnel.h"

#define TUN_UUID 16u

/* Reader over one message body: every read checks what is left. */
struct tun_rd {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static inline size_t
rd_left(const struct tun_rd *r)
{
	return r->len - r->off;
}

static int
rd_bytes(struct tun_rd *r, size_t n, const uint8_t **out)
{
	if (rd_left(r) < n)
		return PERC_R_TRUNCATED;
	*out = r->p + r->off;
	r->off += n;
	return PERC_R_OK;
}

static int
rd_u8(struct tun_rd *r, uint8_t *v)
{
	const uint8_t *b;
	int rc = rd_bytes(r, 1, &b);

	if (rc == PERC_R_OK)
		*v = b[0];
	return rc;
}

static int
rd_u16(struct tun_rd *r, uint16_t *v)
{
	const uint8_t *b;
	int rc = rd_bytes(r, 2, &b);

	if (rc == PERC_R_OK)
		*v = perc_rd16(b);
	return rc;
}

static int
rd_uuid(struct tun_rd *r, uint8_t *uuid)
{
	const uint8_t *b;
	int rc = rd_bytes(r, TUN_UUID, &b);

	if (rc == PERC_R_OK)
		memcpy(uuid, b, TUN_UUID);
	return rc;
}

/* opaque x<min..255>: 1-byte length, then the bytes into dst (255 bytes) */
static int
rd_vec8(struct tun_rd *r, uint8_t min, uint8_t *dst, uint8_t *dst_len)
{
	const uint8_t *b;
	uint8_t n;
	int rc = rd_u8(r, &n);

	if (rc != PERC_R_OK)
		return rc;
	if (n < min)
		return PERC_R_MALFORMED;
	rc = rd_bytes(r, n, &b);
	if (rc != PERC_R_OK)
		return rc;
	memcpy(dst, b, n);
	*dst_len = n;
	return PERC_R_OK;
}

static int
dec_supported_profiles(struct tun_rd *r, struct perc_tun_msg *m)
{
	const uint8_t *b;
	uint16_t n;
	int rc = rd_u8(r, &m->version);

	if (rc != PERC_R_OK)
		return rc;
	/* A later version may lay out the rest differently; the caller
	 * needs only the version to answer UnsupportedVersion. */
	if (m->version != PERC_TUN_VERSION) {
		r->off = r->len;
		return PERC_R_OK;
	}
	rc = rd_u16(r, &n);
	if (rc != PERC_R_OK)
		return rc;
	if (n < 2 || n % 2)
		return PERC_R_MALFORMED;
	if (n / 2 > PERC_TUN_MAX_PROFILES)
		return PERC_R_OVERSIZED;
	rc = rd_bytes(r, n, &b);
	if (rc != PERC_R_OK)
		return rc;
	m->n_profiles = n / 2;
	for (unsigned i = 0; i < m->n_profiles; i++)
		m->profiles[i] = perc_rd16(b + 2 * i);
	return PERC_R_OK;
}

static int
dec_media_keys(struct tun_rd *r, struct perc_tun_msg *m)
{
	int rc = rd_uuid(r, m->uuid);

	if (rc == PERC_R_OK)
		rc = rd_u16(r, &m->profile);
	if (rc == PERC_R_OK)
		rc = rd_vec8(r, 0, m->mki, &m->mki_len);
	if (rc == PERC_R_OK)
		rc = rd_vec8(r, 1, m->client_key, &m->client_key_len);
	if (rc == PERC_R_OK)
		rc = rd_vec8(r, 1, m->server_key, &m->server_key_len);
	if (rc == PERC_R_OK)
		rc = rd_vec8(r, 1, m->client_salt, &m->client_salt_len);
	if (rc == PERC_R_OK)
		rc = rd_vec8(r, 1, m->server_salt, &m->server_salt_len);
	return rc;
}

static int
dec_tunneled_dtls(struct tun_rd *r, struct perc_tun_msg *m)
{
	int rc = rd_uuid(r, m->uuid);

	if (rc == PERC_R_OK)
		rc = rd_u16(r, &m->dtls_len);
	if (rc == PERC_R_OK && m->dtls_len == 0)
		rc = PERC_R_MALFORMED;
	if (rc == PERC_R_OK)
		rc = rd_bytes(r, m->dtls_len, &m->dtls);
	return rc;
}

static int
dec_body(struct tun_rd *r, struct perc_tun_msg *m)
{
	switch (m->type) {
	case PERC_TUN_SUPPORTED_PROFILES:
		return dec_supported_profiles(r, m);
	case PERC_TUN_UNSUPPORTED_VERSION:
		return rd_u8(r, &m->version);
	case PERC_TUN_MEDIA_KEYS:
		return dec_media_keys(r, m);
	case PERC_TUN_TUNNELED_DTLS:
		return dec_tunneled_dtls(r, m);
	case PERC_TUN_ENDPOINT_DISCONNECT:
		return rd_uuid(r, m->uuid);
	default:
		return PERC_R_UNKNOWN;
	}
}

size_t
perc_tun_frame(const uint8_t *p, size_t len)
{
	size_t n;

	if (len < PERC_TUN_HDR)
		return 0;
	n = PERC_TUN_HDR + perc_rd16(p + 1);
	return len >= n ? n : 0;
}

int
perc_tun_decode(const uint8_t *p, size_t len, struct perc_tun_msg *m)
{
	struct tun_rd r;
	int rc;

	memset(m, 0, sizeof(*m));
	if (len < PERC_TUN_HDR)
		return PERC_R_TRUNCATED;
	r.p = p + PERC_TUN_HDR;
	r.len = perc_rd16(p + 1);
	r.off = 0;
	if (len - PERC_TUN_HDR < r.len)
		return PERC_R_TRUNCATED;
	if (len - PERC_TUN_HDR > r.len)
		return PERC_R_OVERSIZED;
	m->type = p[0];
	rc = dec_body(&r, m);
	if (rc == PERC_R_OK && rd_left(&r) != 0)
		rc = PERC_R_OVERSIZED;
	return rc;
}

/* Body length of m, or a negative reason when a field is out of bounds. */
static long
enc_body_len(const struct perc_tun_msg *m)
{
	switch (m->type) {
	case PERC_TUN_SUPPORTED_PROFILES:
		if (m->n_profiles == 0)
			return -PERC_R_MALFORMED;
		if (m->n_profiles > PERC_TUN_MAX_PROFILES)
			return -PERC_R_OVERSIZED;
		return 1 + 2 + 2L * m->n_profiles;
	case PERC_TUN_UNSUPPORTED_VERSION:
		return 1;
	case PERC_TUN_MEDIA_KEYS:
		if (!m->client_key_len || !m->server_key_len || !m->client_salt_len ||
		    !m->server_salt_len)
			return -PERC_R_MALFORMED;
		return TUN_UUID + 2 + 5 + (long)m->mki_len + m->client_key_len +
		       m->server_key_len + m->client_salt_len + m->server_salt_len;
	case PERC_TUN_TUNNELED_DTLS:
		if (m->dtls_len == 0 || m->dtls == NULL)
			return -PERC_R_MALFORMED;
		return TUN_UUID + 2 + (long)m->dtls_len;
	case PERC_TUN_ENDPOINT_DISCONNECT:
		return TUN_UUID;
	default:
		return -PERC_R_UNKNOWN;
	}
}

static uint8_t *
wr_vec8(uint8_t *p, const uint8_t *v, uint8_t n)
{
	*p++ = n;
	memcpy(p, v, n);
	return p + n;
}

/* Writes the body; enc_body_len() has checked every bound and the room. */
static void
enc_body(const struct perc_tun_msg *m, uint8_t *p)
{
	switch (m->type) {
	case PERC_TUN_SUPPORTED_PROFILES:
		*p++ = m->version;
		p = perc_wr16(p, (uint16_t)(2 * m->n_profiles));
		for (unsigned i = 0; i < m->n_profiles; i++)
			p = perc_wr16(p, m->profiles[i]);
		break;
	case PERC_TUN_UNSUPPORTED_VERSION:
		*p = m->version;
		break;
	case PERC_TUN_MEDIA_KEYS:
		memcpy(p, m->uuid, TUN_UUID);
		p = perc_wr16(p + TUN_UUID, m->profile);
		p = wr_vec8(p, m->mki, m->mki_len);
		p = wr_vec8(p, m->client_key, m->client_key_len);
		p = wr_vec8(p, m->server_key, m->server_key_len);
		p = wr_vec8(p, m->client_salt, m->client_salt_len);
		wr_vec8(p, m->server_salt, m->server_salt_len);
		break;
	case PERC_TUN_TUNNELED_DTLS:
		memcpy(p, m->uuid, TUN_UUID);
		p = perc_wr16(p + TUN_UUID, m->dtls_len);
		memcpy(p, m->dtls, m->dtls_len);
		break;
	default:
		memcpy(p, m->uuid, TUN_UUID);
		break;
	}
}

int
perc_tun_encode(const struct perc_tun_msg *m, uint8_t *out, size_t cap)
{
	long n = enc_body_len(m);

	if (n < 0)
		return (int)n;
	if (n > (long)PERC_TUN_MAX_BODY)
		return -PERC_R_OVERSIZED;
	if (cap < PERC_TUN_HDR + (size_t)n)
		return -PERC_R_NO_ROOM;
	out[0] = m->type;
	perc_wr16(out + 1, (uint16_t)n);
	enc_body(m, out + PERC_TUN_HDR);
	return (int)(PERC_TUN_HDR + (size_t)n);
}
