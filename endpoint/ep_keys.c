/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The keys an endpoint holds, all inside its arena: the outer (HBH) halves
 * from the DTLS exporter, the EKT keys by SPI (current and the ones still
 * in their overlap), our E2E key per SSRC and the senders' E2E keys.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ep_internal.h"

static int rx_key_init(struct perc_ep *ep, struct ep_rx_slot *s);
static int tx_key_init(struct perc_ep *ep, struct ep_tx_key *t);

static const struct perc_profile *
dbl_profile(void)
{
	return perc_profile_by_id(PERC_DOUBLE_AES_128_GCM);
}

int
ep_install_outer(struct perc_ep *ep, const uint8_t ex[EP_EXPORT_LEN])
{
	struct ep_arena *a = ep->keys;
	const struct perc_profile *layer = perc_profile_layer(dbl_profile());

	/* client key ‖ server key ‖ client salt ‖ server salt, each
	 * inner ‖ outer (kdproto.h); only the outer halves are used */
	memcpy(a->tx_outer_key, ex + 16, 16);
	memcpy(a->rx_outer_key, ex + 32 + 16, 16);
	memcpy(a->tx_outer_salt, ex + 64 + 12, 12);
	memcpy(a->rx_outer_salt, ex + 88 + 12, 12);
	if (a->outer_ok)
		perc_key_clear(&a->rx_outer);
	if (perc_key_init(&a->rx_outer, ep->eng, layer, a->rx_outer_key, a->rx_outer_salt) !=
	    PERC_R_OK)
		return -1;
	a->outer_ok = true;
	/* a new DTLS association (the KD restarted): the senders' E2E keys
	 * stay, their outer half and the outer replay state start again */
	for (unsigned s = 0; s < EP_MAX_SENDERS; s++) {
		if (ep->snd[s].used)
			perc_stream_reset(ep->snd[s].outer_st, 0);
		for (unsigned i = 0; i < EP_RX_SLOTS; i++) {
			struct ep_rx_slot *x = &a->rx[s][i];

			if (!x->used)
				continue;
			perc_double_key_clear(&x->dk);
			if (rx_key_init(ep, x) != PERC_R_OK)
				OPENSSL_cleanse(x, sizeof(*x));
		}
	}
	/* and so do ours: the same E2E key (receivers hold it), the new
	 * outer half */
	for (unsigned i = 0; i < 2; i++) {
		struct ep_tx_key *t = &a->tx[i];

		if (!t->valid)
			continue;
		perc_double_key_clear(&t->dk);
		if (tx_key_init(ep, t) != PERC_R_OK) {
			OPENSSL_cleanse(t, sizeof(*t));
			return -1;
		}
	}
	return 0;
}

struct ep_ekt_key *
ep_ekt_current(struct perc_ep *ep)
{
	for (unsigned i = 0; i < EP_MAX_EKT; i++)
		if (ep->keys->ekt[i].used && ep->keys->ekt[i].retire_ms == 0)
			return &ep->keys->ekt[i];
	return NULL;
}

struct ep_ekt_key *
ep_ekt_find(struct perc_ep *ep, uint16_t spi, uint64_t now)
{
	for (unsigned i = 0; i < EP_MAX_EKT; i++) {
		struct ep_ekt_key *k = &ep->keys->ekt[i];

		if (k->used && k->spi == spi && (k->retire_ms == 0 || now < k->retire_ms) &&
		    (k->ttl_ms == 0 || now < k->got_ms + k->ttl_ms))
			return k;
	}
	return NULL;
}

static void
ekt_drop(struct ep_ekt_key *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

static void
hist_add(struct perc_ep *ep, uint16_t spi, uint32_t ver)
{
	struct ep_spi_hist *h;

	if (ep->nhist == EP_MAX_SPI_HIST) {
		memmove(ep->hist, ep->hist + 1, sizeof(ep->hist[0]) * (EP_MAX_SPI_HIST - 1));
		ep->nhist--;
	}
	if (ep->nhist > 0)
		ep->hist[ep->nhist - 1].replaced_ms = ep_real_ms();
	h = &ep->hist[ep->nhist++];
	h->spi = spi;
	h->received_ms = ep_real_ms();
	h->first_send_ms = 0;
	h->replaced_ms = 0;
	h->roster_version = ver;
}

int
ep_ekt_install(struct perc_ep *ep, uint16_t spi, const uint8_t *key, size_t len,
	       const uint8_t *salt, size_t salt_len, uint32_t ver, uint64_t now)
{
	struct ep_arena *a = ep->keys;
	struct ep_ekt_key *cur, *slot = NULL;
	uint8_t s[EP_E2E_SALT];
	uint64_t ttl = 0;
	char attr[32];

	if (len != 16 && len != 32)
		return -1;
	cur = ep_ekt_current(ep);
	if (cur != NULL)
		ttl = cur->ttl_ms; /* a step keeps the lifetime; EKT_KEY sets its own */
	if (salt == NULL && cur != NULL) {
		memcpy(s, cur->salt, EP_E2E_SALT); /* a step keeps the salt */
	} else if (salt != NULL && salt_len == EP_E2E_SALT) {
		memcpy(s, salt, EP_E2E_SALT);
	} else {
		return -1;
	}
	slot = ep_ekt_find(ep, spi, now);
	if (slot != NULL) {
		if (slot->len == len && CRYPTO_memcmp(slot->key, key, len) == 0 &&
		    CRYPTO_memcmp(slot->salt, s, EP_E2E_SALT) == 0)
			return 0; /* the same key again (a repeated message) */
		/* the same SPI with another key: a restarted KD counts again */
		if (slot == cur)
			cur = NULL;
		ekt_drop(slot);
		slot = NULL;
	}
	if (cur != NULL)
		cur->retire_ms = now + ep->cfg.overlap_ms;
	for (unsigned i = 0; i < EP_MAX_EKT && slot == NULL; i++)
		if (!a->ekt[i].used)
			slot = &a->ekt[i];
	if (slot == NULL) { /* rekeys faster than the overlap: drop the oldest */
		slot = &a->ekt[0];
		for (unsigned i = 1; i < EP_MAX_EKT; i++)
			if (a->ekt[i].got_ms < slot->got_ms)
				slot = &a->ekt[i];
		ekt_drop(slot);
	}
	slot->used = true;
	slot->spi = spi;
	slot->len = (uint8_t)len;
	memcpy(slot->key, key, len);
	memcpy(slot->salt, s, EP_E2E_SALT);
	OPENSSL_cleanse(s, sizeof(s));
	slot->got_ms = now;
	slot->retire_ms = 0;
	slot->ttl_ms = ttl;
	ep->have_ekt = true;
	ep->cur_spi = spi;
	ep->st.rekeys++;
	hist_add(ep, spi, ver);
	snprintf(attr, sizeof(attr), "spi=%u", spi);
	ep_keylog(ep, "EKT_KEY", attr, key, len);
	for (unsigned i = 0; i < 2; i++)
		if (ep->tx[i].on && ep->state != PERC_EP_LEFT && ep->state != PERC_EP_FAILED &&
		    ep_tx_rekey(ep, i) != 0)
			return -1;
	ep_media_pending(ep, spi, now);
	return 0;
}

/* A double key: inner = an E2E key with the salt of its EKT key, outer =
 * one of our hop-by-hop halves. The concatenations are wiped after use. */
static int
dbl_key_init(struct perc_ep *ep, struct perc_double_key *dk, const uint8_t *e2e,
	     const uint8_t *salt, const uint8_t *outer_key, const uint8_t *outer_salt)
{
	uint8_t mk[32], ms[24];
	int r;

	memcpy(mk, e2e, 16);
	memcpy(mk + 16, outer_key, 16);
	memcpy(ms, salt, 12);
	memcpy(ms + 12, outer_salt, 12);
	r = perc_double_key_init(dk, ep->eng, dbl_profile(), mk, ms);
	OPENSSL_cleanse(mk, sizeof(mk));
	OPENSSL_cleanse(ms, sizeof(ms));
	return r;
}

/* inner = our E2E key with its EKT key's salt, outer = client_write */
static int
tx_key_init(struct perc_ep *ep, struct ep_tx_key *t)
{
	return dbl_key_init(ep, &t->dk, t->e2e, t->salt, ep->keys->tx_outer_key,
			    ep->keys->tx_outer_salt);
}

int
ep_tx_rekey(struct perc_ep *ep, unsigned idx)
{
	struct ep_arena *a = ep->keys;
	struct ep_tx_key *t = &a->tx[idx];
	struct ep_ekt_key *cur = ep_ekt_current(ep);
	char attr[48];

	if (!a->outer_ok || cur == NULL)
		return -1;
	if (t->valid)
		perc_double_key_clear(&t->dk);
	OPENSSL_cleanse(t, sizeof(*t));
	ep_random(t->e2e, sizeof(t->e2e));
	memcpy(t->salt, cur->salt, EP_E2E_SALT);
	if (tx_key_init(ep, t) != PERC_R_OK) {
		OPENSSL_cleanse(t, sizeof(*t));
		return -1;
	}
	t->valid = true;
	t->spi = ep->cur_spi;
	ep_sched_new_key(&ep->tx[idx].sched);
	snprintf(attr, sizeof(attr), "ssrc=%08x spi=%u", ep->tx[idx].ssrc, t->spi);
	ep_keylog(ep, "E2E_KEY", attr, t->e2e, sizeof(t->e2e));
	return 0;
}

static void
rx_drop(struct ep_rx_slot *s)
{
	if (s->used)
		perc_double_key_clear(&s->dk);
	OPENSSL_cleanse(s, sizeof(*s));
}

/* inner = the sender's E2E key with the salt of its EKT key, outer = our
 * receive half */
static int
rx_key_init(struct perc_ep *ep, struct ep_rx_slot *s)
{
	return dbl_key_init(ep, &s->dk, s->e2e, s->salt, ep->keys->rx_outer_key,
			    ep->keys->rx_outer_salt);
}

int
ep_rx_install(struct perc_ep *ep, unsigned sender, uint16_t spi, uint16_t epoch,
	      const uint8_t *e2e, const uint8_t *salt, uint32_t roc, uint64_t now,
	      unsigned *slot_out)
{
	struct ep_arena *a = ep->keys;
	struct ep_rx_slot *slots = a->rx[sender], *s = NULL;
	char attr[48];

	for (unsigned i = 0; i < EP_RX_SLOTS; i++) {
		if (!slots[i].used || slots[i].spi != spi)
			continue;
		if (epoch < slots[i].epoch)
			return -1;
		if (epoch == slots[i].epoch && CRYPTO_memcmp(slots[i].e2e, e2e, EP_E2E_KEY) == 0 &&
		    CRYPTO_memcmp(slots[i].salt, salt, EP_E2E_SALT) == 0) {
			*slot_out = i;
			return 1;
		}
		s = &slots[i]; /* a newer key under the same SPI replaces it */
		rx_drop(s);
		break;
	}
	if (s == NULL)
		for (unsigned i = 0; i < EP_RX_SLOTS && s == NULL; i++)
			if (!slots[i].used)
				s = &slots[i];
	if (s == NULL) {
		s = &slots[0];
		for (unsigned i = 1; i < EP_RX_SLOTS; i++)
			if (slots[i].got_ms < s->got_ms)
				s = &slots[i];
		rx_drop(s);
	}
	/* the sender moved on: its older keys stay for the overlap only */
	for (unsigned i = 0; i < EP_RX_SLOTS; i++)
		if (slots[i].used && slots[i].retire_ms == 0)
			slots[i].retire_ms = now + ep->cfg.overlap_ms;
	memcpy(s->e2e, e2e, EP_E2E_KEY);
	memcpy(s->salt, salt, EP_E2E_SALT);
	if (rx_key_init(ep, s) != PERC_R_OK) {
		OPENSSL_cleanse(s, sizeof(*s));
		return -2;
	}
	s->used = true;
	s->spi = spi;
	s->epoch = epoch;
	s->got_ms = now;
	s->retire_ms = 0;
	s->inner_st = perc_stream_init(s->st_mem, EP_REPLAY_WINDOW, roc);
	*slot_out = (unsigned)(s - slots);
	snprintf(attr, sizeof(attr), "ssrc=%08x spi=%u", ep->snd[sender].ssrc, spi);
	ep_keylog(ep, "E2E_KEY", attr, e2e, EP_E2E_KEY);
	return 0;
}

void
ep_ekt_set_ttl(struct perc_ep *ep, uint16_t spi, uint32_t ttl_s)
{
	for (unsigned i = 0; i < EP_MAX_EKT; i++)
		if (ep->keys->ekt[i].used && ep->keys->ekt[i].spi == spi &&
		    ep->keys->ekt[i].retire_ms == 0)
			ep->keys->ekt[i].ttl_ms = (uint64_t)ttl_s * 1000u;
}

static uint64_t
ekt_gone_at(const struct ep_ekt_key *k)
{
	uint64_t t = k->ttl_ms ? k->got_ms + k->ttl_ms : 0;

	if (k->retire_ms != 0 && (t == 0 || k->retire_ms < t))
		t = k->retire_ms;
	return t;
}

void
ep_keys_expire(struct perc_ep *ep, uint64_t now)
{
	struct ep_arena *a = ep->keys;

	for (unsigned i = 0; i < EP_MAX_EKT; i++) {
		uint64_t t = ekt_gone_at(&a->ekt[i]);

		if (!a->ekt[i].used || t == 0 || now < t)
			continue;
		if (a->ekt[i].retire_ms == 0)
			ep_log(ep, PERC_EP_LOG_WARN, "EKT key of SPI %u reached its TTL with no "
			       "newer key from the KD: no more media under it", a->ekt[i].spi);
		ekt_drop(&a->ekt[i]);
	}
	for (unsigned s = 0; s < EP_MAX_SENDERS; s++)
		for (unsigned i = 0; i < EP_RX_SLOTS; i++)
			if (a->rx[s][i].used && a->rx[s][i].retire_ms != 0 &&
			    now >= a->rx[s][i].retire_ms)
				rx_drop(&a->rx[s][i]);
}

uint64_t
ep_keys_next_retire(const struct perc_ep *ep)
{
	const struct ep_arena *a = ep->keys;
	uint64_t due = 0;

	for (unsigned i = 0; i < EP_MAX_EKT; i++) {
		uint64_t t = a->ekt[i].used ? ekt_gone_at(&a->ekt[i]) : 0;

		if (t != 0 && (due == 0 || t < due))
			due = t;
	}
	for (unsigned s = 0; s < EP_MAX_SENDERS; s++)
		for (unsigned i = 0; i < EP_RX_SLOTS; i++)
			if (a->rx[s][i].used && a->rx[s][i].retire_ms != 0 &&
			    (due == 0 || a->rx[s][i].retire_ms < due))
				due = a->rx[s][i].retire_ms;
	return due;
}

void
ep_keys_wipe(struct perc_ep *ep)
{
	struct ep_arena *a = ep->keys;

	for (unsigned i = 0; i < 2; i++)
		if (a->tx[i].valid)
			perc_double_key_clear(&a->tx[i].dk);
	for (unsigned s = 0; s < EP_MAX_SENDERS; s++)
		for (unsigned i = 0; i < EP_RX_SLOTS; i++)
			rx_drop(&a->rx[s][i]);
	if (a->outer_ok)
		perc_key_clear(&a->rx_outer);
	OPENSSL_cleanse(a, sizeof(*a));
}
