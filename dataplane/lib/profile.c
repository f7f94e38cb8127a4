/* SPDX-License-Identifier: BSD-3-Clause */
#include <stddef.h>
#include <strings.h>

#include "perc/profile.h"

static const struct perc_profile p_cm80 = {
	.id = PERC_AES128_CM_SHA1_80, .name = "SRTP_AES128_CM_HMAC_SHA1_80",
	.key_len = 16, .salt_len = 14, .rtp_tag_len = 10, .rtcp_tag_len = 10,
	.auth_key_len = 20, .layer = PERC_AES128_CM_SHA1_80,
};
static const struct perc_profile p_cm32 = {
	.id = PERC_AES128_CM_SHA1_32, .name = "SRTP_AES128_CM_HMAC_SHA1_32",
	.key_len = 16, .salt_len = 14, .rtp_tag_len = 4, .rtcp_tag_len = 10,
	.auth_key_len = 20, .layer = PERC_AES128_CM_SHA1_32,
};
static const struct perc_profile p_gcm128 = {
	.id = PERC_AEAD_AES_128_GCM, .name = "SRTP_AEAD_AES_128_GCM",
	.key_len = 16, .salt_len = 12, .rtp_tag_len = 16, .rtcp_tag_len = 16,
	.aead = true, .layer = PERC_AEAD_AES_128_GCM,
};
static const struct perc_profile p_gcm256 = {
	.id = PERC_AEAD_AES_256_GCM, .name = "SRTP_AEAD_AES_256_GCM",
	.key_len = 32, .salt_len = 12, .rtp_tag_len = 16, .rtcp_tag_len = 16,
	.aead = true, .layer = PERC_AEAD_AES_256_GCM,
};
static const struct perc_profile p_dbl128 = {
	.id = PERC_DOUBLE_AES_128_GCM, .name = "DOUBLE_AEAD_AES_128_GCM_AEAD_AES_128_GCM",
	.key_len = 32, .salt_len = 24, .rtp_tag_len = 16, .rtcp_tag_len = 16,
	.aead = true, .is_double = true, .layer = PERC_AEAD_AES_128_GCM,
};
static const struct perc_profile p_dbl256 = {
	.id = PERC_DOUBLE_AES_256_GCM, .name = "DOUBLE_AEAD_AES_256_GCM_AEAD_AES_256_GCM",
	.key_len = 64, .salt_len = 24, .rtp_tag_len = 16, .rtcp_tag_len = 16,
	.aead = true, .is_double = true, .layer = PERC_AEAD_AES_256_GCM,
};

const struct perc_profile *const perc_profiles[] = {
	&p_cm80, &p_cm32, &p_gcm128, &p_gcm256, &p_dbl128, &p_dbl256, NULL,
};

const struct perc_profile *
perc_profile_by_id(uint16_t id)
{
	for (unsigned i = 0; perc_profiles[i] != NULL; i++)
		if (perc_profiles[i]->id == id)
			return perc_profiles[i];
	return NULL;
}

const struct perc_profile *
perc_profile_by_name(const char *name)
{
	if (name == NULL)
		return NULL;
	for (unsigned i = 0; perc_profiles[i] != NULL; i++)
		if (strcasecmp(perc_profiles[i]->name, name) == 0)
			return perc_profiles[i];
	return NULL;
}

const struct perc_profile *
perc_profile_layer(const struct perc_profile *p)
{
	return p == NULL ? NULL : perc_profile_by_id(p->layer);
}
