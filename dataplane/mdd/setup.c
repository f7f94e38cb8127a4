/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tables from a provisioning file: conferences, legs, streams, keys. Runs on
 * the control thread before the workers start; everything the fast path
 * needs is allocated and expanded here (STYLE.md §5).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_pause.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "mdd.h"
#include "ops.h"
#include "perc/kdf.h"

struct mdd g_mdd;
/* generations of rx key pairs: set-up and the control thread only */
static uint64_t rx_gen;

static void rx_publish(struct mdd *m, struct mdd_leg *l, struct mdd_rxkeys *nk,
		       struct perc_key *retired);

static struct perc_stream *
new_stream(uint32_t window)
{
	size_t n = perc_stream_size(window);
	void *mem = rte_zmalloc("perc_stream", n, RTE_CACHE_LINE_SIZE);

	return mem == NULL ? NULL : perc_stream_init(mem, window, 0);
}

static struct perc_key *
new_key(struct perc_engine *e, const struct perc_profile *layer, const uint8_t *key,
	const uint8_t *salt)
{
	struct perc_key *k = rte_zmalloc("perc_key", sizeof(*k), 64);

	if (k == NULL)
		return NULL;
	if (perc_key_init(k, e, layer, key, salt) != PERC_R_OK) {
		rte_free(k);
		return NULL;
	}
	return k;
}

static void
free_key(struct perc_key *k)
{
	if (k == NULL)
		return;
	perc_key_clear(k);
	rte_free(k);
}

bool
mdd_is_our_addr(const struct mdd *m, int family, const uint8_t *ip)
{
	for (unsigned i = 0; i < m->n_addrs; i++)
		if (m->addrs[i].family == family &&
		    memcmp(m->addrs[i].ip, ip, family == AF_INET ? 4 : 16) == 0)
			return true;
	return false;
}

static const struct prov_addr *
our_addr_for(const struct mdd *m, int family)
{
	for (unsigned i = 0; i < m->n_addrs; i++)
		if (m->addrs[i].family == family)
			return &m->addrs[i];
	return NULL;
}

/* Fill the spare next-hop copy from l->base and publish it (tx_wlock held). */
static void
nexthop_publish(struct mdd_leg *l, uint16_t port, const uint8_t mac[6], uint16_t vlan)
{
	uint32_t g = __atomic_load_n(&l->tx_gen, __ATOMIC_RELAXED);
	struct mdd_tx *spare = &l->tx[(g + 1) & 1];
	unsigned slot = 0;

	for (unsigned i = 0; i < g_mdd.n_ports; i++)
		if (g_mdd.ports[i] == port)
			slot = i;
	spare->port_id = port;
	spare->tmpl = l->base;
	memcpy(spare->tmpl.dst_mac, mac, 6);
	memcpy(spare->tmpl.src_mac, g_mdd.port_mac[slot], 6);
	spare->tmpl.vlan = vlan;
	pkt_udp_tmpl_init(&spare->tmpl);
	/* generation 0 means unknown: skip it on wrap */
	__atomic_store_n(&l->tx_gen, g + 1 == 0 ? 2 : g + 1, __ATOMIC_RELEASE);
}

bool
mdd_leg_set_nexthop(struct mdd_leg *l, uint16_t port, const uint8_t mac[6], uint16_t vlan)
{
	if (__atomic_test_and_set(&l->tx_wlock, __ATOMIC_ACQUIRE))
		return false;
	nexthop_publish(l, port, mac, vlan);
	__atomic_clear(&l->tx_wlock, __ATOMIC_RELEASE);
	return true;
}

static inline uint32_t
ssrc_hash(uint32_t ssrc)
{
	return ssrc * 0x9e3779b1u;
}

struct mdd_stream *
mdd_stream_find(struct mdd_leg *l, uint32_t ssrc)
{
	uint32_t i = ssrc_hash(ssrc) & l->ssrc_mask;

	for (;;) {
		uint32_t idx1 = __atomic_load_n(&l->ssrc_tab[i].idx1, __ATOMIC_ACQUIRE);

		if (idx1 == 0)
			return NULL;
		if (l->ssrc_tab[i].ssrc == ssrc)
			return &l->streams[idx1 - 1];
		i = (i + 1) & l->ssrc_mask;
	}
}

struct mdd_stream *
mdd_stream_add(struct mdd_leg *l, uint32_t ssrc)
{
	uint32_t i = ssrc_hash(ssrc) & l->ssrc_mask;
	struct mdd_stream *s;

	if (l->n_streams >= l->max_streams)
		return NULL;
	s = &l->streams[l->n_streams];
	s->ssrc = ssrc;
	perc_stream_reset(s->in, 0);
	for (uint32_t j = 0; j < l->conf->cap; j++)
		if (s->out[j] != NULL)
			perc_stream_reset(s->out[j], 0);
	while (l->ssrc_tab[i].idx1 != 0)
		i = (i + 1) & l->ssrc_mask;
	l->ssrc_tab[i].ssrc = ssrc;
	l->n_streams++;
	/* publish last: other workers route feedback through this table */
	__atomic_store_n(&l->ssrc_tab[i].idx1, l->n_streams, __ATOMIC_RELEASE);
	return s;
}

/* the fast path reads and counts a stream in one cache line */
_Static_assert(sizeof(struct mdd_stream) == RTE_CACHE_LINE_SIZE,
	       "struct mdd_stream outgrew one cache line: move counters to mdd_stream_rare");

static int
setup_streams(struct mdd_leg *l, char *err, size_t errlen)
{
	uint32_t tab = 4;

	while (tab < 2 * l->max_streams)
		tab <<= 1;
	l->ssrc_tab = rte_zmalloc("ssrc_tab", tab * sizeof(*l->ssrc_tab), RTE_CACHE_LINE_SIZE);
	l->ssrc_mask = tab - 1;
	l->streams = rte_zmalloc("streams", l->max_streams * sizeof(*l->streams),
				 RTE_CACHE_LINE_SIZE);
	l->stream_rare = rte_zmalloc("stream_rare", l->max_streams * sizeof(*l->stream_rare),
				     RTE_CACHE_LINE_SIZE);
	if (l->ssrc_tab == NULL || l->streams == NULL || l->stream_rare == NULL)
		goto nomem;
	/* every stream slot with its inbound state and one outbound context
	 * per other leg of the conference, so that a new SSRC on the fast
	 * path only claims a slot */
	for (uint32_t i = 0; i < l->max_streams; i++) {
		struct mdd_stream *s = &l->streams[i];

		s->in = new_stream(MDD_IN_WINDOW);
		s->out = rte_zmalloc("stream_out", l->conf->cap * sizeof(*s->out),
				     RTE_CACHE_LINE_SIZE);
		s->out_serial = rte_zmalloc("stream_out_serial", l->conf->cap * sizeof(uint64_t),
					    RTE_CACHE_LINE_SIZE);
		if (s->in == NULL || s->out == NULL || s->out_serial == NULL)
			goto nomem;
		for (uint32_t j = 0; j < l->conf->cap; j++) {
			if (j == l->conf_idx)
				continue;
			s->out[j] = new_stream(MDD_OUT_WINDOW);
			if (s->out[j] == NULL)
				goto nomem;
		}
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory for the streams of endpoint %s (max_streams %u): "
		 "give the EAL more memory (-m) or lower max_streams", l->id, l->max_streams);
	return -1;
}

/* SHA-256 of key ‖ salt: tells a reload whether a key changed without the
 * MDD keeping master keys. */
static void
key_fp(const uint8_t *key, size_t kl, const uint8_t *salt, size_t sl, uint8_t fp[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned n = 0;

	memset(fp, 0, 32);
	if (c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(c, key, kl) == 1 && EVP_DigestUpdate(c, salt, sl) == 1)
		EVP_DigestFinal_ex(c, fp, &n);
	EVP_MD_CTX_free(c);
}

static struct mdd_rxkeys *
new_pair(struct perc_key *cur, const uint8_t *cur_fp, struct perc_key *alt,
	 const uint8_t *alt_fp, bool alt_is_next)
{
	struct mdd_rxkeys *p = rte_zmalloc("rxkeys", sizeof(*p), RTE_CACHE_LINE_SIZE);

	if (p == NULL)
		return NULL;
	p->cur = cur;
	p->alt = alt;
	p->alt_is_next = alt_is_next;
	p->gen = ++rx_gen;
	memcpy(p->cur_fp, cur_fp, 32);
	if (alt_fp != NULL)
		memcpy(p->alt_fp, alt_fp, 32);
	return p;
}

/* Keys of one leg, from the provisioning file or from the KD: what both
 * the first install and a rekey take. */
struct key_src {
	const uint8_t *rx_key, *rx_salt, *tx_key, *tx_salt;
	bool has_rx_next;
	const uint8_t *rx_key_next, *rx_salt_next;
	uint8_t key_len, salt_len;
};

static void
key_src_prov(struct key_src *ks, const struct prov_endpoint *pe)
{
	ks->rx_key = pe->rx_key;
	ks->rx_salt = pe->rx_salt;
	ks->tx_key = pe->tx_key;
	ks->tx_salt = pe->tx_salt;
	ks->has_rx_next = pe->has_rx_next;
	ks->rx_key_next = pe->rx_key_next;
	ks->rx_salt_next = pe->rx_salt_next;
	ks->key_len = pe->key_len;
	ks->salt_len = pe->salt_len;
}

/* A leg's first keys (not yet visible to workers, or published by the
 * caller): rx pair and tx key with their fingerprints. */
static int
leg_keys_init(struct perc_engine *e, struct mdd_leg *l, const struct key_src *ks)
{
	uint8_t fp[32], nfp[32];

	key_fp(ks->rx_key, ks->key_len, ks->rx_salt, ks->salt_len, fp);
	if (ks->has_rx_next)
		key_fp(ks->rx_key_next, ks->key_len, ks->rx_salt_next, ks->salt_len, nfp);
	l->rx = new_pair(new_key(e, l->layer, ks->rx_key, ks->rx_salt), fp,
			 ks->has_rx_next ? new_key(e, l->layer, ks->rx_key_next, ks->rx_salt_next)
					 : NULL,
			 ks->has_rx_next ? nfp : NULL, ks->has_rx_next);
	l->tx_key = new_key(e, l->layer, ks->tx_key, ks->tx_salt);
	key_fp(ks->tx_key, ks->key_len, ks->tx_salt, ks->salt_len, l->tx_fp);
	if (l->rx == NULL || l->rx->cur == NULL || l->tx_key == NULL ||
	    (ks->has_rx_next && l->rx->alt == NULL))
		return -1;
	return 0;
}

static void
free_leg(struct mdd_leg *l)
{
	if (l == NULL)
		return;
	for (uint32_t s = 0; l->streams != NULL && s < l->max_streams; s++) {
		rte_free(l->streams[s].in);
		for (uint32_t j = 0; l->streams[s].out != NULL && j < l->conf->cap; j++)
			rte_free(l->streams[s].out[j]);
		rte_free(l->streams[s].out);
		rte_free(l->streams[s].out_serial);
	}
	rte_free(l->streams);
	rte_free(l->stream_rare);
	rte_free(l->ssrc_tab);
	if (l->rx != NULL) {
		free_key(l->rx->cur);
		free_key(l->rx->alt);
		rte_free(l->rx);
	}
	free_key(l->tx_key);
	OPENSSL_cleanse(l->pwd, sizeof(l->pwd));
	rte_free(l);
}

static void
free_conf(struct mdd_conf *c)
{
	for (uint32_t j = 0; j < c->n_legs; j++)
		free_leg(c->legs[j]);
	rte_free(c->legs);
	rte_free(c);
}

static int
setup_leg(struct mdd *m, struct perc_engine *e, struct mdd_conf *c, uint32_t idx,
	  const struct prov_endpoint *pe, char *err, size_t errlen)
{
	struct mdd_leg *l = rte_zmalloc("leg", sizeof(*l), RTE_CACHE_LINE_SIZE);
	const struct prov_addr *ours;
	struct key_src ks;

	if (l == NULL) {
		snprintf(err, errlen, "out of memory for endpoint %s", pe->id);
		return -1;
	}
	c->legs[idx] = l;
	l->conf = c;
	l->conf_idx = idx;
	l->serial = ++m->leg_serial;
	snprintf(l->id, sizeof(l->id), "%s", pe->id);
	l->addr = pe->addr;
	l->dbl = pe->profile->is_double;
	l->ekt = pe->ekt;
	l->rewrite = pe->rewrite;
	l->marker = pe->marker;
	l->seq_offset = pe->seq_offset;
	memcpy(l->pt_map, pe->pt_map, sizeof(l->pt_map));
	l->profile = pe->profile;
	l->layer = perc_profile_layer(pe->profile);
	l->max_streams = pe->max_streams;
	l->worker = (uint16_t)(m->next_worker++ % m->n_workers);
	key_src_prov(&ks, pe);
	if (leg_keys_init(e, l, &ks) != 0) {
		snprintf(err, errlen, "endpoint %s: key set-up failed", pe->id);
		return -1;
	}
	ours = our_addr_for(m, pe->addr.family);
	if (ours == NULL) {
		snprintf(err, errlen, "endpoint %s is at an %s address but the MDD has none: add "
			 "--addr with one", pe->id, pe->addr.family == AF_INET ? "IPv4" : "IPv6");
		return -1;
	}
	l->base.family = pe->addr.family;
	memcpy(l->base.src_ip, ours->ip, 16);
	memcpy(l->base.dst_ip, pe->addr.ip, 16);
	l->base.src_port = m->media_port;
	l->base.dst_port = pe->addr.port;
	l->base.ttl = 64;

	memset(&l->key, 0, sizeof(l->key));
	l->key.family = (uint8_t)pe->addr.family;
	l->key.port = rte_cpu_to_be_16(pe->addr.port);
	memcpy(l->key.ip, pe->addr.ip, pe->addr.family == AF_INET ? 4 : 16);
	if (setup_streams(l, err, errlen) != 0)
		return -1;
	for (unsigned i = 0; i < pe->n_ssrcs; i++)
		if (mdd_stream_add(l, pe->ssrcs[i]) == NULL) {
			snprintf(err, errlen, "endpoint %s: more ssrcs than max_streams", pe->id);
			return -1;
		}
	memcpy(l->ssrcs, pe->ssrcs, pe->n_ssrcs * sizeof(uint32_t));
	l->n_ssrcs = pe->n_ssrcs;
	return 0;
}

static struct mdd_conf *
find_conf(const struct mdd *m, const char *id)
{
	for (unsigned i = 0; i < m->n_confs; i++)
		if (strcmp(m->confs[i]->id, id) == 0)
			return m->confs[i];
	return NULL;
}

static int
grow(void **arr, unsigned *cap, unsigned need, size_t elem)
{
	void *p;
	unsigned n = *cap ? *cap : 16;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*arr, (size_t)n * elem);
	if (p == NULL)
		return -1;
	*arr = p;
	*cap = n;
	return 0;
}

/*
 * Build a whole conference off the fast path, then publish its legs in the
 * lock-free table one by one (a leg is complete before it is visible).
 */
static int
conf_add(struct mdd *m, struct perc_engine *e, const struct prov_conference *pc, char *err,
	 size_t errlen)
{
	struct mdd_conf *c = rte_zmalloc("conf", sizeof(*c), RTE_CACHE_LINE_SIZE);
	unsigned added = 0;

	if (c == NULL || grow((void **)&m->confs, &m->confs_cap, m->n_confs + 1, sizeof(c)) != 0 ||
	    grow((void **)&m->legs, &m->legs_cap, m->n_legs + pc->n_endpoints, sizeof(c)) != 0) {
		rte_free(c);
		snprintf(err, errlen, "out of memory for conference %s", pc->id);
		return -1;
	}
	snprintf(c->id, sizeof(c->id), "%s", pc->id);
	c->n_legs = pc->n_endpoints;
	c->cap = pc->n_endpoints;
	c->legs = rte_zmalloc("conf_legs", (c->cap + 1) * sizeof(*c->legs), 0);
	if (c->legs == NULL) {
		snprintf(err, errlen, "out of memory for conference %s", pc->id);
		goto fail;
	}
	for (unsigned j = 0; j < pc->n_endpoints; j++)
		if (setup_leg(m, e, c, j, &pc->endpoints[j], err, errlen) != 0)
			goto fail;
	for (; added < c->n_legs; added++) {
		int r = rte_hash_add_key_data(m->legs_by_addr, &c->legs[added]->key, c->legs[added]);

		if (r != 0) {
			snprintf(err, errlen, "endpoint %s: the endpoint table is full (%d): restart "
				 "with a larger --max-endpoints", c->legs[added]->id, r);
			goto unpublish;
		}
		c->legs[added]->in_hash = true;
	}
	m->confs[m->n_confs++] = c;
	for (unsigned j = 0; j < c->n_legs; j++)
		m->legs[m->n_legs++] = c->legs[j];
	return 0;
unpublish:
	{
		int32_t pos[added + 1];

		for (unsigned j = 0; j < added; j++)
			pos[j] = rte_hash_del_key(m->legs_by_addr, &c->legs[j]->key);
		rte_rcu_qsbr_synchronize(m->qs, RTE_QSBR_THRID_INVALID);
		for (unsigned j = 0; j < added; j++)
			if (pos[j] >= 0)
				rte_hash_free_key_with_position(m->legs_by_addr, pos[j]);
	}
fail:
	free_conf(c);
	return -1;
}

/* Unpublish a conference's legs, wait until no worker can hold one, free. */
static void
conf_remove(struct mdd *m, struct mdd_conf *c)
{
	int32_t pos[c->n_legs + 1];
	unsigned gone = 0;

	for (uint32_t j = 0; j < c->n_legs; j++) {
		struct mdd_leg *l = c->legs[j];

		pos[j] = l != NULL && l->in_hash ? rte_hash_del_key(m->legs_by_addr, &l->key) : -1;
		gone += l != NULL;
	}
	rte_rcu_qsbr_synchronize(m->qs, RTE_QSBR_THRID_INVALID);
	for (uint32_t j = 0; j < c->n_legs; j++)
		if (pos[j] >= 0)
			rte_hash_free_key_with_position(m->legs_by_addr, pos[j]);
	for (unsigned i = 0, k = 0; i < m->n_legs; i++)
		if (m->legs[i]->conf != c)
			m->legs[k++] = m->legs[i];
	m->n_legs -= gone;
	for (unsigned i = 0; i < m->n_confs; i++)
		if (m->confs[i] == c) {
			m->confs[i] = m->confs[--m->n_confs];
			break;
		}
	m->keys_retired += 2 * gone;
	free_conf(c);
}

struct mdd_conf *
mdd_conf_find(const struct mdd *m, const char *id)
{
	return find_conf(m, id);
}

struct mdd_conf *
mdd_conf_create(struct mdd *m, const char *id, uint32_t cap, char *err, size_t errlen)
{
	struct mdd_conf *c;

	if (find_conf(m, id) != NULL) {
		snprintf(err, errlen, "conference %s exists already: delete it first or use "
			 "another id", id);
		return NULL;
	}
	c = rte_zmalloc("conf", sizeof(*c), RTE_CACHE_LINE_SIZE);
	if (c == NULL || grow((void **)&m->confs, &m->confs_cap, m->n_confs + 1, sizeof(c)) != 0)
		goto nomem;
	c->legs = rte_zmalloc("conf_legs", (cap + 1) * sizeof(*c->legs), 0);
	if (c->legs == NULL)
		goto nomem;
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->cap = cap;
	c->api = true;
	m->confs[m->n_confs++] = c;
	return c;
nomem:
	if (c != NULL)
		rte_free(c->legs);
	rte_free(c);
	snprintf(err, errlen, "out of memory for conference %s: give the EAL more memory (-m)", id);
	return NULL;
}

void
mdd_conf_delete(struct mdd *m, struct mdd_conf *c)
{
	conf_remove(m, c);
}

struct mdd_leg *
mdd_leg_find(const struct mdd_conf *c, const char *id)
{
	for (uint32_t j = 0; j < c->n_legs; j++)
		if (c->legs[j] != NULL && strcmp(c->legs[j]->id, id) == 0)
			return c->legs[j];
	return NULL;
}

struct mdd_leg *
mdd_leg_add(struct mdd *m, struct mdd_conf *c, const char *id, char *err, size_t errlen)
{
	const struct perc_profile *dbl = perc_profile_by_id(0x0009);
	struct mdd_leg *l;
	uint32_t slot = 0;

	if (!c->api) {
		snprintf(err, errlen, "conference %s comes from the provisioning file: add the "
			 "endpoint there and send SIGHUP, or use a conference made by the API", c->id);
		return NULL;
	}
	if (mdd_leg_find(c, id) != NULL) {
		snprintf(err, errlen, "endpoint %s exists already in conference %s: remove it "
			 "first or use another id", id, c->id);
		return NULL;
	}
	while (slot < c->n_legs && c->legs[slot] != NULL)
		slot++;
	if (slot == c->cap) {
		snprintf(err, errlen, "conference %s is full (%u endpoints): remove one first",
			 c->id, c->cap);
		return NULL;
	}
	if (grow((void **)&m->legs, &m->legs_cap, m->n_legs + 1, sizeof(l)) != 0)
		goto nomem;
	l = rte_zmalloc("leg", sizeof(*l), RTE_CACHE_LINE_SIZE);
	if (l == NULL)
		goto nomem;
	l->conf = c;
	l->conf_idx = slot;
	l->serial = ++m->leg_serial;
	l->ice = true;
	snprintf(l->id, sizeof(l->id), "%s", id);
	l->profile = dbl;
	l->layer = perc_profile_layer(dbl);
	l->dbl = true;
	l->ekt = true;
	l->marker = -1;
	for (unsigned i = 0; i < 128; i++)
		l->pt_map[i] = (uint8_t)i;
	l->max_streams = PROV_DEFAULT_MAX_STREAMS;
	l->worker = (uint16_t)(m->next_worker++ % m->n_workers);
	if (setup_streams(l, err, errlen) != 0) {
		free_leg(l);
		return NULL;
	}
	/* complete before visible: workers find it through the conference
	 * (as a receiver, skipped while it has no keys) */
	__atomic_store_n(&c->legs[slot], l, __ATOMIC_RELEASE);
	if (slot == c->n_legs)
		__atomic_store_n(&c->n_legs, slot + 1, __ATOMIC_RELEASE);
	m->legs[m->n_legs++] = l;
	return l;
nomem:
	snprintf(err, errlen, "out of memory for endpoint %s: give the EAL more memory (-m)", id);
	return NULL;
}

void
mdd_leg_remove(struct mdd *m, struct mdd_leg *l)
{
	struct mdd_conf *c = l->conf;
	int32_t pos = l->in_hash ? rte_hash_del_key(m->legs_by_addr, &l->key) : -1;

	__atomic_store_n(&c->legs[l->conf_idx], NULL, __ATOMIC_RELEASE);
	rte_rcu_qsbr_synchronize(m->qs, RTE_QSBR_THRID_INVALID);
	if (pos >= 0)
		rte_hash_free_key_with_position(m->legs_by_addr, pos);
	for (unsigned i = 0, k = 0; i < m->n_legs; i++)
		if (m->legs[i] != l)
			m->legs[k++] = m->legs[i];
	m->n_legs--;
	if (l->rx != NULL || l->tx_key != NULL)
		m->keys_retired += 2;
	free_leg(l);
}

int
mdd_leg_latch(struct mdd *m, struct mdd_leg *l, const struct prov_addr *a, uint16_t port,
	      const uint8_t mac[6], uint16_t vlan)
{
	const struct prov_addr *ours = our_addr_for(m, a->family);
	struct mdd_leg_key k;
	void *other = NULL;
	int32_t old = -1;

	if (ours == NULL)
		return -1;
	memset(&k, 0, sizeof(k));
	k.family = (uint8_t)a->family;
	k.port = rte_cpu_to_be_16(a->port);
	memcpy(k.ip, a->ip, a->family == AF_INET ? 4 : 16);
	if (!l->in_hash || memcmp(&k, &l->key, sizeof(k)) != 0) {
		if (rte_hash_lookup_data(m->legs_by_addr, &k, &other) >= 0 && other != l)
			return -1;
		if (rte_hash_add_key_data(m->legs_by_addr, &k, l) != 0)
			return -1;
		if (l->in_hash)
			old = rte_hash_del_key(m->legs_by_addr, &l->key);
		l->key = k;
		l->in_hash = true;
	}
	/* the control thread waits for a worker that holds the lock for a
	 * few instructions (latching a MAC), never the other way round */
	while (__atomic_test_and_set(&l->tx_wlock, __ATOMIC_ACQUIRE))
		rte_pause();
	l->addr = *a;
	l->base.family = a->family;
	memcpy(l->base.src_ip, ours->ip, 16);
	memset(l->base.dst_ip, 0, 16);
	memcpy(l->base.dst_ip, a->ip, a->family == AF_INET ? 4 : 16);
	l->base.src_port = m->media_port;
	l->base.dst_port = a->port;
	l->base.ttl = 64;
	nexthop_publish(l, port, mac, vlan);
	__atomic_clear(&l->tx_wlock, __ATOMIC_RELEASE);
	if (old >= 0) {
		rte_rcu_qsbr_synchronize(m->qs, RTE_QSBR_THRID_INVALID);
		rte_hash_free_key_with_position(m->legs_by_addr, old);
	}
	return 0;
}

int
mdd_tables_init(struct mdd *m, unsigned max_endpoints, char *err, size_t errlen)
{
	struct rte_hash_parameters hp = {
		.name = "mdd_legs",
		.entries = max_endpoints < 64 ? 128 : 2 * max_endpoints,
		.key_len = sizeof(struct mdd_leg_key),
		.hash_func = rte_jhash,
		.socket_id = (int)rte_socket_id(),
		/* workers read while the control thread adds and deletes; deleted
		 * slots are freed after an RCU grace period (NO_FREE_ON_DEL comes
		 * with the lock-free mode) */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};

	m->legs_by_addr = rte_hash_create(&hp);
	if (m->legs_by_addr == NULL) {
		snprintf(err, errlen, "cannot create the endpoint table for %u endpoints: %s",
			 max_endpoints, rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

int
mdd_setup_from_prov(struct mdd *m, const struct prov *p, char *err, size_t errlen)
{
	struct perc_engine *e = perc_engine_create(perc_engine_arch(m->workers[0].engine));
	int r = 0;

	if (e == NULL) {
		snprintf(err, errlen, "cannot create a crypto engine for key set-up");
		return -1;
	}
	for (unsigned i = 0; i < p->n_conferences && r == 0; i++)
		r = conf_add(m, e, &p->conferences[i], err, errlen);
	perc_engine_destroy(e);
	return r;
}

/* Whether a running conference can take the file's version of it by key
 * changes alone: the same endpoints, addresses, profiles and settings. */
static bool
same_shape(const struct mdd_conf *c, const struct prov_conference *pc)
{
	if (c->n_legs != pc->n_endpoints)
		return false;
	for (uint32_t j = 0; j < c->n_legs; j++) {
		const struct mdd_leg *l = c->legs[j];
		const struct prov_endpoint *pe = &pc->endpoints[j];

		if (strcmp(l->id, pe->id) != 0 || l->profile != pe->profile ||
		    memcmp(&l->addr, &pe->addr, sizeof(l->addr)) != 0 || l->ekt != pe->ekt ||
		    l->max_streams != pe->max_streams || l->n_ssrcs != pe->n_ssrcs ||
		    memcmp(l->ssrcs, pe->ssrcs, pe->n_ssrcs * sizeof(uint32_t)) != 0 ||
		    l->rewrite != pe->rewrite || l->marker != pe->marker ||
		    l->seq_offset != pe->seq_offset || memcmp(l->pt_map, pe->pt_map, 128) != 0)
			return false;
	}
	return true;
}

/* Replace what changed among one endpoint's keys, without a lost packet:
 * - a new tx key is published at once (the endpoint learned it with it);
 * - a new rx_key_next sits beside the current key until it opens a packet;
 * - an rx_key that is the current next key is promoted now (grace for the
 *   old one); any other new rx_key becomes current with the old one kept
 *   for the grace period. */
static unsigned
leg_rekey(struct mdd *m, struct perc_engine *e, struct mdd_leg *l, const struct key_src *pe)
{
	const struct mdd_rxkeys *rk = l->rx;
	uint8_t fp[32], nfp[32];
	unsigned changes = 0;

	key_fp(pe->tx_key, pe->key_len, pe->tx_salt, pe->salt_len, fp);
	if (memcmp(fp, l->tx_fp, 32) != 0) {
		struct perc_key *nk = new_key(e, l->layer, pe->tx_key, pe->tx_salt), *old = l->tx_key;

		if (nk != NULL) {
			__atomic_store_n(&l->tx_key, nk, __ATOMIC_RELEASE);
			memcpy(l->tx_fp, fp, 32);
			rte_rcu_qsbr_synchronize(m->qs, RTE_QSBR_THRID_INVALID);
			free_key(old);
			m->keys_retired++;
			changes++;
		}
	}
	key_fp(pe->rx_key, pe->key_len, pe->rx_salt, pe->salt_len, fp);
	memset(nfp, 0, sizeof(nfp));
	if (pe->has_rx_next)
		key_fp(pe->rx_key_next, pe->key_len, pe->rx_salt_next, pe->salt_len, nfp);
	if (memcmp(fp, rk->cur_fp, 32) == 0) {
		bool have_next = rk->alt != NULL && rk->alt_is_next;

		if (pe->has_rx_next && (!have_next || memcmp(nfp, rk->alt_fp, 32) != 0)) {
			struct perc_key *nk = new_key(e, l->layer, pe->rx_key_next, pe->rx_salt_next);

			if (nk != NULL) {
				rx_publish(m, l, new_pair(rk->cur, rk->cur_fp, nk, nfp, true), rk->alt);
				changes++;
			}
		} else if (!pe->has_rx_next && have_next) {
			/* the next key was withdrawn before it was used */
			rx_publish(m, l, new_pair(rk->cur, rk->cur_fp, NULL, NULL, false), rk->alt);
			changes++;
		}
	} else if (rk->alt != NULL && rk->alt_is_next && memcmp(fp, rk->alt_fp, 32) == 0) {
		l->rx_alt_retire = rte_get_tsc_cycles() + MDD_REKEY_GRACE_MS * rte_get_tsc_hz() / 1000;
		rx_publish(m, l, new_pair(rk->alt, rk->alt_fp, rk->cur, rk->cur_fp, false), NULL);
		changes++;
	} else {
		struct perc_key *nk = new_key(e, l->layer, pe->rx_key, pe->rx_salt);

		if (nk != NULL) {
			l->rx_alt_retire = rte_get_tsc_cycles() +
					   MDD_REKEY_GRACE_MS * rte_get_tsc_hz() / 1000;
			rx_publish(m, l, new_pair(nk, fp, rk->cur, rk->cur_fp, false), rk->alt);
			changes++;
		}
	}
	return changes;
}

/* A reload message: through rte_log as perc.mdd.control (perc-mdd passes
 * no stream), or to log when a caller without log types passes one. */
static void __attribute__((format(printf, 3, 4)))
reload_msg(FILE *log, uint32_t level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log != NULL)
		fprintf(log, "perc-mdd: reload: %s\n", msg);
	else
		rte_log(level, (uint32_t)mdd_logtypes[MDD_LOG_CONTROL], "perc-mdd: reload: %s\n", msg);
}

/* log: NULL for rte_log (perc.mdd.control), else a stream for the messages */
int
mdd_reload(struct mdd *m, const struct prov *p, FILE *log)
{
	struct perc_engine *e = perc_engine_create(perc_engine_arch(m->workers[0].engine));
	char err[512];
	unsigned added = 0, removed = 0, rekeyed = 0, refused = 0;

	if (e == NULL) {
		reload_msg(log, RTE_LOG_ERR, "no crypto engine for key set-up: nothing changed "
			   "(out of memory? send SIGHUP again)");
		return -1;
	}
	/* conferences gone from the file */
	for (unsigned i = 0; i < m->n_confs;) {
		bool keep = false;

		for (unsigned k = 0; k < p->n_conferences; k++)
			keep |= strcmp(p->conferences[k].id, m->confs[i]->id) == 0;
		if (keep || m->confs[i]->api) {
			i++;
			continue;
		}
		reload_msg(log, RTE_LOG_NOTICE, "conference %s removed", m->confs[i]->id);
		conf_remove(m, m->confs[i]);
		removed++;
	}
	for (unsigned k = 0; k < p->n_conferences; k++) {
		const struct prov_conference *pc = &p->conferences[k];
		struct mdd_conf *c = find_conf(m, pc->id);

		if (c == NULL) {
			if (conf_add(m, e, pc, err, sizeof(err)) == 0) {
				reload_msg(log, RTE_LOG_NOTICE, "conference %s added (%u endpoints)",
					   pc->id, pc->n_endpoints);
				added++;
			} else {
				reload_msg(log, RTE_LOG_WARNING, "conference %s not added: %s", pc->id,
					   err);
				refused++;
			}
			continue;
		}
		if (c->api) {
			reload_msg(log, RTE_LOG_WARNING, "conference %s is managed by the conference "
				   "API: the file's version is ignored (delete it through the API "
				   "first)", pc->id);
			refused++;
			continue;
		}
		if (!same_shape(c, pc)) {
			reload_msg(log, RTE_LOG_WARNING, "conference %s changed more than its keys: "
				   "left as it runs (remove it from the file, reload, add it back)",
				   pc->id);
			refused++;
			continue;
		}
		for (uint32_t j = 0; j < c->n_legs; j++) {
			struct key_src ks;

			key_src_prov(&ks, &pc->endpoints[j]);
			rekeyed += leg_rekey(m, e, c->legs[j], &ks);
		}
	}
	perc_engine_destroy(e);
	reload_msg(log, refused ? RTE_LOG_WARNING : RTE_LOG_NOTICE, "%u added, %u removed, %u key "
		   "changes, %u refused; %u conferences, %u endpoints", added, removed, rekeyed,
		   refused, m->n_confs, m->n_legs);
	m->reloads++;
	return refused ? -1 : 0;
}

/* Publish a new rx pair for l (nk; NULL when out of memory: nothing
 * changes) and free the old pair once no worker can still hold it;
 * retired (a key of the old pair not in the new) is then zeroized and
 * freed too. */
static void
rx_publish(struct mdd *m, struct mdd_leg *l, struct mdd_rxkeys *nk, struct perc_key *retired)
{
	struct mdd_rxkeys *old = l->rx;

	if (nk == NULL)
		return; /* try again on the next tick or reload */
	__atomic_store_n(&l->rx, nk, __ATOMIC_RELEASE);
	rte_rcu_qsbr_synchronize(m->qs, RTE_QSBR_THRID_INVALID);
	rte_free(old);
	if (retired != NULL) {
		free_key(retired);
		m->keys_retired++;
	}
}

void
mdd_rekey_tick(struct mdd *m)
{
	uint64_t now = rte_get_tsc_cycles();

	for (unsigned i = 0; i < m->n_legs; i++) {
		struct mdd_leg *l = m->legs[i];
		const struct mdd_rxkeys *rk = l->rx;

		if (rk == NULL || rk->alt == NULL)
			continue;
		if (rk->alt_is_next && __atomic_load_n(&l->rx_alt_used, __ATOMIC_ACQUIRE) == rk->gen) {
			/* the endpoint sends with the next key: it becomes current,
			 * the old one stays as alt for late packets */
			l->rx_alt_retire = now + MDD_REKEY_GRACE_MS * rte_get_tsc_hz() / 1000;
			rx_publish(m, l, new_pair(rk->alt, rk->alt_fp, rk->cur, rk->cur_fp, false), NULL);
		} else if (!rk->alt_is_next && now >= l->rx_alt_retire) {
			rx_publish(m, l, new_pair(rk->cur, rk->cur_fp, NULL, NULL, false), rk->alt);
		}
	}
}

int
mdd_leg_set_keys(struct mdd *m, struct mdd_leg *l, const struct mdd_keys *k)
{
	struct perc_engine *e;
	struct key_src ks = {
		.rx_key = k->rx_key, .rx_salt = k->rx_salt,
		.tx_key = k->tx_key, .tx_salt = k->tx_salt,
		.key_len = k->key_len, .salt_len = k->salt_len,
	};
	int r = 0;

	if (k->key_len != l->layer->key_len || k->salt_len != l->layer->salt_len)
		return -1;
	e = perc_engine_create(perc_engine_arch(m->workers[0].engine));
	if (e == NULL)
		return -1;
	if (l->rx == NULL) {
		struct mdd_leg tmp = { .layer = l->layer };

		if (leg_keys_init(e, &tmp, &ks) != 0) {
			if (tmp.rx != NULL) {
				free_key(tmp.rx->cur);
				rte_free(tmp.rx);
			}
			free_key(tmp.tx_key);
			r = -1;
		} else {
			/* tx first: a receiver is served once it has a tx key,
			 * a sender once it has an rx pair */
			memcpy(l->tx_fp, tmp.tx_fp, 32);
			__atomic_store_n(&l->tx_key, tmp.tx_key, __ATOMIC_RELEASE);
			__atomic_store_n(&l->rx, tmp.rx, __ATOMIC_RELEASE);
		}
	} else {
		leg_rekey(m, e, l, &ks);
	}
	perc_engine_destroy(e);
	return r;
}

void
mdd_teardown(struct mdd *m)
{
	for (unsigned i = 0; i < m->n_confs; i++)
		free_conf(m->confs[i]);
	free(m->confs);
	free(m->legs);
	rte_hash_free(m->legs_by_addr);
	m->legs = NULL;
	m->confs = NULL;
	m->legs_by_addr = NULL;
	m->n_legs = m->n_confs = 0;
	m->legs_cap = m->confs_cap = 0;
}
