/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RFC 8870 EKT: the field that trails every SRTP packet of a PERC endpoint,
 * the RFC 5649 key wrap that protects it, and the EKTKey message body that
 * the Key Distributor sends over DTLS.
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "perc/bytes.h"
#include "perc/ekt.h"
#include "perc/kdf.h"
#include "perc/reason.h"

/* SPI(2) ‖ Epoch(2) ‖ Length(2) ‖ Type(1) after the ciphertext */
#define EKT_TRAILER 7u
/* RFC 5649: the smallest wrap is one 8-byte block plus the 8-byte AIV */
#define KWP_MIN_WRAPPED 16u
#define KWP_MAX_IN ((size_t)INT_MAX - 16)
/* Unwraps into a caller buffer shorter than the ciphertext go through a
 * stack copy of at most this size (see perc_aes_kwp_unwrap()). */
#define KWP_TMP_MAX 272u
/* EKTPlaintext: key length(1) ‖ key ‖ SSRC(4) ‖ ROC(4) */
#define EKT_PLAIN_MAX (1u + 32u + 8u)
#define EKT_WRAPPED_MAX (8u * ((EKT_PLAIN_MAX + 7u) / 8u) + 8u)
/* EKTKey: ekt_key_value<1..256> and srtp_master_salt<1..256> */
#define EKTKEY_VEC_MAX 256u
#define EKTKEY_FIXED (2u + 2u + 2u + 3u)

/*
 * Key wrap contexts. EVP has no way to run a cipher without an allocated
 * context, and unwrap is a decoder that must not allocate per call: each
 * thread keeps one context per KEK size, allocated on its first use and
 * freed when the thread exits. A call only re-keys it.
 */
#define KW_SLOTS 3

struct kw_tls {
	EVP_CIPHER_CTX *ctx[KW_SLOTS];
};

static pthread_key_t kw_key;
static pthread_once_t kw_once = PTHREAD_ONCE_INIT;
static bool kw_key_ok;

static void
kw_tls_free(void *v)
{
	struct kw_tls *t = v;

	for (int i = 0; i < KW_SLOTS; i++)
		EVP_CIPHER_CTX_free(t->ctx[i]);
	free(t);
}

static void
kw_key_create(void)
{
	kw_key_ok = pthread_key_create(&kw_key, kw_tls_free) == 0;
}

/* Slot of a KEK size, or -1 when AES has no such key. */
static int
kw_slot(size_t kek_len)
{
	switch (kek_len) {
	case 16:
		return 0;
	case 24:
		return 1;
	case 32:
		return 2;
	default:
		return -1;
	}
}

static const EVP_CIPHER *
kw_cipher(int slot)
{
	if (slot == 0)
		return EVP_aes_128_wrap_pad();
	if (slot == 1)
		return EVP_aes_192_wrap_pad();
	return EVP_aes_256_wrap_pad();
}

static EVP_CIPHER_CTX *
kw_ctx_new(int slot)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	if (c == NULL)
		return NULL;
	/* the wrap modes refuse to run unless the caller opts in */
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_CipherInit_ex(c, kw_cipher(slot), NULL, NULL, NULL, 1) != 1) {
		EVP_CIPHER_CTX_free(c);
		return NULL;
	}
	return c;
}

/* This thread's context for the KEK size, keyed for enc (1) or dec (0). */
static EVP_CIPHER_CTX *
kw_ctx(const uint8_t *kek, int slot, int enc)
{
	struct kw_tls *t;

	if (pthread_once(&kw_once, kw_key_create) != 0 || !kw_key_ok)
		return NULL;
	t = pthread_getspecific(kw_key);
	if (t == NULL) {
		t = calloc(1, sizeof(*t));
		if (t == NULL)
			return NULL;
		if (pthread_setspecific(kw_key, t) != 0) {
			free(t);
			return NULL;
		}
	}
	if (t->ctx[slot] == NULL) {
		t->ctx[slot] = kw_ctx_new(slot);
		if (t->ctx[slot] == NULL)
			return NULL;
	}
	/* no cipher: keep the fetched one, replace only the key (the default
	 * RFC 5649 IV stays) */
	if (EVP_CipherInit_ex(t->ctx[slot], NULL, NULL, kek, NULL, enc) != 1)
		return NULL;
	return t->ctx[slot];
}

/* Re-key the context with an all-zero KEK so that the key schedule of the
 * KEK just used does not stay in this thread's memory (no allocation). */
static void
kw_ctx_release(EVP_CIPHER_CTX *c)
{
	static const uint8_t zero[32];

	if (c != NULL && EVP_CipherInit_ex(c, NULL, NULL, zero, NULL, 1) != 1)
		ERR_clear_error();
}

int
perc_aes_kwp_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t n,
		  uint8_t *out, size_t cap)
{
	int slot = kw_slot(kek_len), ol;
	EVP_CIPHER_CTX *c;
	size_t need;

	if (slot < 0)
		return -PERC_R_KEY;
	if (n == 0 || n > KWP_MAX_IN)
		return -PERC_R_MALFORMED;
	need = 8 * ((n + 7) / 8) + 8;
	if (cap < need)
		return -PERC_R_NO_ROOM;
	c = kw_ctx(kek, slot, 1);
	if (c == NULL || EVP_CipherUpdate(c, out, &ol, in, (int)n) != 1 || (size_t)ol != need) {
		ERR_clear_error();
		kw_ctx_release(c);
		return -PERC_R_ENGINE;
	}
	kw_ctx_release(c);
	return ol;
}

/*
 * OpenSSL writes the padded plaintext (n - 8 bytes) before it checks it,
 * and on a failed check wipes n bytes, not n - 8, from the output. A caller
 * buffer of less than n bytes is therefore never handed to it: such unwraps
 * run through a stack buffer and are copied out once they verify.
 */
int
perc_aes_kwp_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t n,
		    uint8_t *out, size_t cap)
{
	int slot = kw_slot(kek_len), ol, r;
	uint8_t tmp[KWP_TMP_MAX];
	uint8_t *dst = cap >= n ? out : tmp;
	EVP_CIPHER_CTX *c;

	if (slot < 0)
		return -PERC_R_KEY;
	if (n < KWP_MIN_WRAPPED || n % 8 || n > KWP_MAX_IN)
		return -PERC_R_MALFORMED;
	if (cap < n - 8 || (dst == tmp && n > sizeof(tmp)))
		return -PERC_R_NO_ROOM;
	c = kw_ctx(kek, slot, 0);
	if (c == NULL)
		return -PERC_R_ENGINE;
	if (EVP_CipherUpdate(c, dst, &ol, in, (int)n) != 1 || ol <= 0) {
		/* integrity check value or padding did not verify; leave no
		 * error behind for the next OpenSSL user on this thread */
		ERR_clear_error();
		r = -PERC_R_AUTH;
	} else {
		r = ol;
		if (dst == tmp)
			memcpy(out, tmp, (size_t)ol);
	}
	if (dst == tmp)
		perc_zeroize(tmp, n);
	kw_ctx_release(c);
	return r;
}

int
perc_ekt_field_len(const uint8_t *pkt, size_t len)
{
	size_t fl;

	if (len == 0)
		return -PERC_R_TRUNCATED;
	if (pkt[len - 1] == PERC_EKT_SHORT)
		return 1;
	if (pkt[len - 1] != PERC_EKT_FULL || len < 3)
		return -PERC_R_EKT;
	fl = perc_rd16(pkt + len - 3);
	if (fl < EKT_TRAILER + 1 || fl > len)
		return -PERC_R_EKT;
	return (int)fl;
}

/* A Full field of exactly len bytes whose ciphertext could hold an
 * EKTPlaintext of this implementation. */
static bool
full_field_ok(const uint8_t *f, size_t len)
{
	size_t ct;

	if (len < EKT_TRAILER || f[len - 1] != PERC_EKT_FULL ||
	    perc_ekt_field_len(f, len) != (int)len)
		return false;
	ct = len - EKT_TRAILER;
	return ct >= KWP_MIN_WRAPPED && ct % 8 == 0 && ct <= EKT_WRAPPED_MAX;
}

int
perc_ekt_field_spi(const uint8_t *field, size_t len)
{
	if (!full_field_ok(field, len))
		return -PERC_R_EKT;
	return perc_rd16(field + len - EKT_TRAILER);
}

int
perc_ekt_wrap(const uint8_t *ekt_key, size_t ekt_key_len, const struct perc_ekt_plain *pl,
	      uint8_t *out, size_t cap)
{
	uint8_t pt[EKT_PLAIN_MAX];
	size_t m, ct, total;
	int r;

	if (ekt_key_len != 16 && ekt_key_len != 32)
		return -PERC_R_KEY;
	if (pl->key_len != 16 && pl->key_len != 32)
		return -PERC_R_EKT;
	m = 1u + pl->key_len + 8u;
	ct = 8 * ((m + 7) / 8) + 8;
	total = ct + EKT_TRAILER;
	if (cap < total)
		return -PERC_R_NO_ROOM;
	pt[0] = pl->key_len;
	memcpy(pt + 1, pl->key, pl->key_len);
	perc_wr32(pt + 1 + pl->key_len, pl->ssrc);
	perc_wr32(pt + 5 + pl->key_len, pl->roc);
	r = perc_aes_kwp_wrap(ekt_key, ekt_key_len, pt, m, out, cap);
	perc_zeroize(pt, sizeof(pt));
	if (r != (int)ct)
		return -PERC_R_ENGINE;
	perc_wr16(out + ct, pl->spi);
	perc_wr16(out + ct + 2, pl->epoch);
	perc_wr16(out + ct + 4, (uint16_t)total);
	out[ct + 6] = PERC_EKT_FULL;
	return (int)total;
}

int
perc_ekt_unwrap(const uint8_t *ekt_key, size_t ekt_key_len, const uint8_t *field,
		size_t len, struct perc_ekt_plain *pl)
{
	uint8_t pt[EKT_WRAPPED_MAX];	/* whole ciphertext size: no bounce copy */
	size_t ct, kl;
	int r;

	memset(pl, 0, sizeof(*pl));
	if (!full_field_ok(field, len))
		return PERC_R_EKT;
	ct = len - EKT_TRAILER;
	pl->spi = perc_rd16(field + ct);
	pl->epoch = perc_rd16(field + ct + 2);
	if (ekt_key_len != 16 && ekt_key_len != 32)
		return PERC_R_KEY;
	r = perc_aes_kwp_unwrap(ekt_key, ekt_key_len, field, ct, pt, sizeof(pt));
	if (r < 0)
		return r == -PERC_R_AUTH ? PERC_R_AUTH : PERC_R_ENGINE;
	kl = pt[0];
	if ((kl != 16 && kl != 32) || (size_t)r != 1 + kl + 8) {
		perc_zeroize(pt, sizeof(pt));
		return PERC_R_EKT;
	}
	pl->key_len = (uint8_t)kl;
	memcpy(pl->key, pt + 1, kl);
	pl->ssrc = perc_rd32(pt + 1 + kl);
	pl->roc = perc_rd32(pt + 5 + kl);
	perc_zeroize(pt, sizeof(pt));
	return PERC_R_OK;
}

int
perc_ektkey_encode(const struct perc_ektkey_msg *m, uint8_t *out, size_t cap)
{
	size_t n = EKTKEY_FIXED + m->ekt_key_len + m->salt_len, off;

	if (m->ekt_key_len == 0 || m->salt_len == 0)
		return -PERC_R_MALFORMED;
	if (m->ekt_key_len > sizeof(m->ekt_key) || m->salt_len > sizeof(m->salt) ||
	    m->ttl > 0xffffffu)
		return -PERC_R_OVERSIZED;
	if (cap < n)
		return -PERC_R_NO_ROOM;
	perc_wr16(out, m->ekt_key_len);
	memcpy(out + 2, m->ekt_key, m->ekt_key_len);
	off = 2u + m->ekt_key_len;
	perc_wr16(out + off, m->salt_len);
	memcpy(out + off + 2, m->salt, m->salt_len);
	off += 2u + m->salt_len;
	perc_wr16(out + off, m->spi);
	out[off + 2] = (uint8_t)(m->ttl >> 16);
	perc_wr16(out + off + 3, (uint16_t)m->ttl);
	return (int)n;
}

/*
 * One opaque<1..256> vector with a 2-byte length into dst (cap bytes).
 * Advances *off. The bounds are checked before the bytes at hand, so that a
 * vector that is merely cut short reads as truncated.
 */
static int
ektkey_vec(const uint8_t *p, size_t len, size_t *off, uint8_t *dst, size_t cap,
	   uint8_t *dst_len)
{
	size_t n;

	if (len - *off < 2)
		return PERC_R_TRUNCATED;
	n = perc_rd16(p + *off);
	if (n == 0)
		return PERC_R_MALFORMED;
	if (n > EKTKEY_VEC_MAX || n > cap)
		return PERC_R_OVERSIZED;
	if (len - *off - 2 < n)
		return PERC_R_TRUNCATED;
	memcpy(dst, p + *off + 2, n);
	*dst_len = (uint8_t)n;
	*off += 2 + n;
	return PERC_R_OK;
}

int
perc_ektkey_decode(const uint8_t *p, size_t len, struct perc_ektkey_msg *m)
{
	size_t off = 0;
	int r;

	memset(m, 0, sizeof(*m));
	r = ektkey_vec(p, len, &off, m->ekt_key, sizeof(m->ekt_key), &m->ekt_key_len);
	if (r == PERC_R_OK)
		r = ektkey_vec(p, len, &off, m->salt, sizeof(m->salt), &m->salt_len);
	if (r == PERC_R_OK && len - off < 5)
		r = PERC_R_TRUNCATED;
	if (r == PERC_R_OK && len - off > 5)
		r = PERC_R_MALFORMED;
	if (r != PERC_R_OK) {
		perc_zeroize(m, sizeof(*m));
		return r;
	}
	m->spi = perc_rd16(p + off);
	m->ttl = ((uint32_t)p[off + 2] << 16) | perc_rd16(p + off + 3);
	return PERC_R_OK;
}
