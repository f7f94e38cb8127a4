/* SPDX-License-Identifier: BSD-3-Clause */
/* RFC 3711 §4.3 key derivation, off the fast path: runs once per key install. */
#include <string.h>

#include <openssl/evp.h>

#include "perc/kdf.h"

void
perc_zeroize(void *p, size_t n)
{
	volatile uint8_t *v = p;

	while (n--)
		*v++ = 0;
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

int
perc_ct_memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	uint64_t d = 0;
	size_t i = 0;

	/* OR of XORs over whole words, then the tail: no early exit, no
	 * data-dependent branch */
	for (; i + 8 <= n; i += 8) {
		uint64_t u, v;

		memcpy(&u, x + i, 8);
		memcpy(&v, y + i, 8);
		d |= u ^ v;
	}
	for (; i < n; i++)
		d |= (uint64_t)(x[i] ^ y[i]);
	return (int)((d | (0 - d)) >> 63);
}

int
perc_kdf(const uint8_t *master_key, size_t key_len, const uint8_t *master_salt,
	 size_t salt_len, uint8_t label, uint8_t *out, size_t out_len)
{
	const EVP_CIPHER *c;
	EVP_CIPHER_CTX *ctx;
	uint8_t iv[16] = { 0 };
	uint8_t zero[64] = { 0 };
	int n, ok;

	if (key_len == 16)
		c = EVP_aes_128_ctr();
	else if (key_len == 32)
		c = EVP_aes_256_ctr();
	else
		return -1;
	if ((salt_len != 12 && salt_len != 14) || out_len > sizeof(zero))
		return -1;
	/* x = (salt ‖ 0…) XOR (label << 48) within the 112-bit salt; IV = x ‖ 0x0000 */
	memcpy(iv, master_salt, salt_len);
	iv[7] ^= label;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return -1;
	ok = EVP_EncryptInit_ex(ctx, c, NULL, master_key, iv) == 1 &&
	     EVP_EncryptUpdate(ctx, out, &n, zero, (int)out_len) == 1 && (size_t)n == out_len;
	EVP_CIPHER_CTX_free(ctx);
	perc_zeroize(iv, sizeof(iv));
	return ok ? 0 : -1;
}

int
perc_kdf_session(const struct perc_profile *layer, const uint8_t *mk, const uint8_t *ms,
		 struct perc_session_keys *o)
{
	size_t kl, sl, al;

	if (layer == NULL || layer->is_double)
		return -1;
	kl = layer->key_len;
	sl = layer->aead ? 12 : 14;
	al = layer->auth_key_len;
	memset(o, 0, sizeof(*o));
	o->key_len = (uint8_t)kl;
	o->salt_len = (uint8_t)sl;
	o->auth_len = (uint8_t)al;
	if (perc_kdf(mk, kl, ms, layer->salt_len, PERC_LABEL_RTP_ENC, o->rtp_key, kl) ||
	    perc_kdf(mk, kl, ms, layer->salt_len, PERC_LABEL_RTP_SALT, o->rtp_salt, sl) ||
	    perc_kdf(mk, kl, ms, layer->salt_len, PERC_LABEL_RTCP_ENC, o->rtcp_key, kl) ||
	    perc_kdf(mk, kl, ms, layer->salt_len, PERC_LABEL_RTCP_SALT, o->rtcp_salt, sl))
		goto fail;
	if (al && (perc_kdf(mk, kl, ms, layer->salt_len, PERC_LABEL_RTP_AUTH, o->rtp_auth, al) ||
		   perc_kdf(mk, kl, ms, layer->salt_len, PERC_LABEL_RTCP_AUTH, o->rtcp_auth, al)))
		goto fail;
	return 0;
fail:
	perc_zeroize(o, sizeof(*o));
	return -1;
}
