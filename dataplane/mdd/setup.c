/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tables from a provisioning file: conferences, legs, streams, keys. Runs on
 * the control thread before the workers start; everything the fast path
 * needs is allocated and expanded here (STYLE.md §5).
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_cycles.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>

#include "mdd.h"
#include "perc/kdf.h"

struct mdd g_mdd;
/* generations of rx key pairs: set-up and the control thread only */
static uint64_t rx_gen;

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

bool
mdd_leg_set_nexthop(struct mdd_leg *l, uint16_t port, const uint8_t mac[6], uint16_t vlan)
{
	uint32_t g;
	struct mdd_tx *spare;
	unsigned slot = 0;

	if (__atomic_test_and_set(&l->tx_wlock, __ATOMIC_ACQUIRE))
		return false;
	g = __atomic_load_n(&l->tx_gen, __ATOMIC_RELAXED);
	spare = &l->tx[(g + 1) & 1];
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
	for (uint32_t j = 0; j < l->conf->n_legs; j++)
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
	if (l->ssrc_tab == NULL || l->streams == NULL)
		goto nomem;
	/* every stream slot with its inbound state and one outbound context
	 * per other leg of the conference, so that a new SSRC on the fast
	 * path only claims a slot */
	for (uint32_t i = 0; i < l->max_streams; i++) {
		struct mdd_stream *s = &l->streams[i];

		s->in = new_stream(MDD_IN_WINDOW);
		s->out = rte_zmalloc("stream_out", l->conf->n_legs * sizeof(*s->out),
				     RTE_CACHE_LINE_SIZE);
		if (s->in == NULL || s->out == NULL)
			goto nomem;
		for (uint32_t j = 0; j < l->conf->n_legs; j++) {
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

static int
setup_leg(struct mdd *m, struct perc_engine *e, struct mdd_conf *c, uint32_t idx,
	  const struct prov_endpoint *pe, char *err, size_t errlen)
{
	struct mdd_leg *l = rte_zmalloc("leg", sizeof(*l), RTE_CACHE_LINE_SIZE);
	const struct prov_addr *ours;
	int r;

	if (l == NULL) {
		snprintf(err, errlen, "out of memory for endpoint %s", pe->id);
		return -1;
	}
	c->legs[idx] = l;
	l->conf = c;
	l->conf_idx = idx;
	snprintf(l->id, sizeof(l->id), "%s", pe->id);
	l->addr = pe->addr;
	l->dbl = pe->profile->is_double;
	l->ekt = pe->ekt;
	l->rewrite = pe->rewrite;
	l->marker = pe->marker;
	l->seq_offset = pe->seq_offset;
	memcpy(l->pt_map, pe->pt_map, sizeof(l->pt_map));
	l->layer = perc_profile_layer(pe->profile);
	l->max_streams = pe->max_streams;
	l->worker = (uint16_t)(m->n_legs % m->n_workers);
	l->rx = rte_zmalloc("rxkeys", sizeof(*l->rx), RTE_CACHE_LINE_SIZE);
	if (l->rx == NULL) {
		snprintf(err, errlen, "out of memory for endpoint %s", pe->id);
		return -1;
	}
	l->rx->gen = ++rx_gen;
	l->rx->cur = new_key(e, l->layer, pe->rx_key, pe->rx_salt);
	l->tx_key = new_key(e, l->layer, pe->tx_key, pe->tx_salt);
	if (pe->has_rx_next) {
		l->rx->alt = new_key(e, l->layer, pe->rx_key_next, pe->rx_salt_next);
		l->rx->alt_is_next = true;
		if (l->rx->alt == NULL) {
			snprintf(err, errlen, "endpoint %s: next key set-up failed", pe->id);
			return -1;
		}
	}
	if (l->rx->cur == NULL || l->tx_key == NULL) {
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
	r = rte_hash_add_key_data(m->legs_by_addr, &l->key, l);
	if (r != 0) {
		snprintf(err, errlen, "endpoint %s: leg table full (%d)", pe->id, r);
		return -1;
	}
	m->legs[m->n_legs++] = l;
	return 0;
}

int
mdd_setup_from_prov(struct mdd *m, const struct prov *p, char *err, size_t errlen)
{
	struct rte_hash_parameters hp = {
		.name = "mdd_legs",
		.entries = p->n_endpoints < 64 ? 128 : 2 * p->n_endpoints,
		.key_len = sizeof(struct mdd_leg_key),
		.hash_func = rte_jhash,
		.socket_id = (int)rte_socket_id(),
		/* workers read while the control thread writes */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	struct perc_engine *e = perc_engine_create(perc_engine_arch(m->workers[0].engine));
	int r = -1;

	if (e == NULL) {
		snprintf(err, errlen, "cannot create a crypto engine for key set-up");
		return -1;
	}
	m->legs_by_addr = rte_hash_create(&hp);
	m->confs = rte_zmalloc("confs", (p->n_conferences + 1) * sizeof(*m->confs), 0);
	m->legs = rte_zmalloc("legs", (p->n_endpoints + 1) * sizeof(*m->legs), 0);
	if (m->legs_by_addr == NULL || m->confs == NULL || m->legs == NULL) {
		snprintf(err, errlen, "out of memory for the conference tables");
		goto out;
	}
	for (unsigned i = 0; i < p->n_conferences; i++) {
		const struct prov_conference *pc = &p->conferences[i];
		struct mdd_conf *c = &m->confs[i];

		snprintf(c->id, sizeof(c->id), "%s", pc->id);
		c->n_legs = pc->n_endpoints;
		c->legs = rte_zmalloc("conf_legs", (c->n_legs + 1) * sizeof(*c->legs), 0);
		if (c->legs == NULL) {
			snprintf(err, errlen, "out of memory for conference %s", pc->id);
			goto out;
		}
		m->n_confs++;
		for (unsigned j = 0; j < pc->n_endpoints; j++)
			if (setup_leg(m, e, c, j, &pc->endpoints[j], err, errlen) != 0)
				goto out;
	}
	r = 0;
out:
	perc_engine_destroy(e);
	return r;
}

/* Publish a new rx pair for l and free the old pair once no worker can
 * still hold it; retired (a key of the old pair not in the new) is then
 * zeroized and freed too. */
static void
rx_publish(struct mdd *m, struct mdd_leg *l, struct perc_key *cur, struct perc_key *alt,
	   bool alt_is_next, struct perc_key *retired)
{
	struct mdd_rxkeys *nk = rte_zmalloc("rxkeys", sizeof(*nk), RTE_CACHE_LINE_SIZE);
	struct mdd_rxkeys *old = l->rx;

	if (nk == NULL)
		return; /* try again on the next tick */
	nk->cur = cur;
	nk->alt = alt;
	nk->alt_is_next = alt_is_next;
	nk->gen = ++rx_gen;
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

		if (rk->alt == NULL)
			continue;
		if (rk->alt_is_next && __atomic_load_n(&l->rx_alt_used, __ATOMIC_ACQUIRE) == rk->gen) {
			/* the endpoint sends with the next key: it becomes current,
			 * the old one stays as alt for late packets */
			l->rx_alt_retire = now + MDD_REKEY_GRACE_MS * rte_get_tsc_hz() / 1000;
			rx_publish(m, l, rk->alt, rk->cur, false, NULL);
		} else if (!rk->alt_is_next && now >= l->rx_alt_retire) {
			rx_publish(m, l, rk->cur, NULL, false, rk->alt);
		}
	}
}

void
mdd_teardown(struct mdd *m)
{
	for (unsigned i = 0; i < m->n_legs; i++) {
		struct mdd_leg *l = m->legs[i];

		for (uint32_t s = 0; l->streams != NULL && s < l->max_streams; s++) {
			rte_free(l->streams[s].in);
			for (uint32_t j = 0; l->streams[s].out != NULL && j < l->conf->n_legs; j++)
				rte_free(l->streams[s].out[j]);
			rte_free(l->streams[s].out);
		}
		rte_free(l->streams);
		rte_free(l->ssrc_tab);
		if (l->rx != NULL) {
			free_key(l->rx->cur);
			free_key(l->rx->alt);
			rte_free(l->rx);
		}
		free_key(l->tx_key);
		rte_free(l);
	}
	for (unsigned i = 0; i < m->n_confs; i++)
		rte_free(m->confs[i].legs);
	rte_free(m->confs);
	rte_free(m->legs);
	rte_hash_free(m->legs_by_addr);
	m->legs = NULL;
	m->confs = NULL;
	m->legs_by_addr = NULL;
	m->n_legs = m->n_confs = 0;
}
