/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread's share of the dataplane: frames the workers punt
 * (ARP, IPv6 neighbour discovery, STUN, DTLS, anything not media), next-hop
 * resolution, and the counters' summary and JSON.
 *
 * STUN and DTLS go to the control plane's hook when perc-mdd set one (ICE-
 * lite, KD tunnel: cp_ice.c); what it does not take is counted and dropped.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "mdd.h"
#include "perc/rtp.h"

#define MDD_FOREACH_CTL(_) \
	_(arp_rx,         "ARP frames received") \
	_(arp_replied,    "ARP requests for our addresses answered") \
	_(nd_rx,          "IPv6 neighbour discovery frames received") \
	_(nd_replied,     "neighbour solicitations for our addresses answered") \
	_(nexthop_learned, "next hops learned from ARP / ND") \
	_(resolve_sent,   "ARP requests / neighbour solicitations sent") \
	_(stun_dropped,   "STUN frames not for ICE-lite (no USERNAME, not a request, no API)") \
	_(dtls_dropped,   "DTLS frames not from an ICE endpoint (or no control plane)") \
	_(icmp_dropped,   "ICMP other than neighbour discovery") \
	_(other_dropped,  "other frames not for the dataplane") \
	_(ctl_no_mbuf,    "control replies lost: mbuf pool empty") \
	_(ctl_tx_full,    "control replies lost: worker ring full")

enum {
#define CTL_ENUM_(n, d) CTL_##n,
	MDD_FOREACH_CTL(CTL_ENUM_)
#undef CTL_ENUM_
	CTL__COUNT
};

static const char *const ctl_names[] = {
#define CTL_NAME_(n, d) #n,
	MDD_FOREACH_CTL(CTL_NAME_)
#undef CTL_NAME_
};

static uint64_t ctl[CTL__COUNT];

static const char *const ctr_names[] = {
#define MDD_CTR_NAME_(n, d) #n,
	MDD_FOREACH_TRAFFIC(MDD_CTR_NAME_) MDD_FOREACH_DROP(MDD_CTR_NAME_)
#undef MDD_CTR_NAME_
};

static const char *const ctr_descs[] = {
#define MDD_CTR_DESC_(n, d) d,
	MDD_FOREACH_TRAFFIC(MDD_CTR_DESC_) MDD_FOREACH_DROP(MDD_CTR_DESC_)
#undef MDD_CTR_DESC_
};

const char *
mdd_ctr_name(unsigned i)
{
	return i < MDD_C__COUNT ? ctr_names[i] : "?";
}

const char *
mdd_ctr_desc(unsigned i)
{
	return i < MDD_C__COUNT ? ctr_descs[i] : "?";
}

uint64_t
mdd_counter_total(const struct mdd *m, unsigned c)
{
	uint64_t t = 0;

	for (unsigned w = 0; w < m->n_workers; w++)
		t += __atomic_load_n(&m->workers[w].ctr.c[c], __ATOMIC_RELAXED);
	return t;
}

/* Send a frame the control thread built, through worker 0's TX queue. */
static void
ctl_send(struct mdd *m, uint16_t port, const uint8_t *frame, size_t len)
{
	if (len > UINT16_MAX) {
		ctl[CTL_ctl_no_mbuf]++;
		return;
	}
	struct rte_mbuf *mb = rte_pktmbuf_alloc(m->pool);
	char *p;

	if (mb == NULL) {
		ctl[CTL_ctl_no_mbuf]++;
		return;
	}
	p = rte_pktmbuf_append(mb, (uint16_t)len);
	if (p == NULL) {
		rte_pktmbuf_free(mb);
		ctl[CTL_ctl_no_mbuf]++;
		return;
	}
	memcpy(p, frame, len);
	mb->port = port;
	if (rte_ring_enqueue(m->workers[0].ctl_tx, mb) != 0) {
		rte_pktmbuf_free(mb);
		ctl[CTL_ctl_tx_full]++;
	}
}

void mdd_ctl_send(struct mdd *m, uint16_t port, const uint8_t *frame, size_t len);
json_t *mdd_stats_obj(const struct mdd *m);

void
mdd_ctl_send(struct mdd *m, uint16_t port, const uint8_t *frame, size_t len)
{
	ctl_send(m, port, frame, len);
}

static unsigned
port_slot(const struct mdd *m, uint16_t port)
{
	for (unsigned i = 0; i < m->n_ports; i++)
		if (m->ports[i] == port)
			return i;
	return 0;
}

/* A neighbour told us its MAC: every leg at that IP gets it as next hop. */
static void
learn(struct mdd *m, int family, const uint8_t *ip, const uint8_t mac[6], uint16_t port,
      uint16_t vlan)
{
	for (unsigned i = 0; i < m->n_legs; i++) {
		struct mdd_leg *l = m->legs[i];
		const struct mdd_tx *cur = mdd_leg_tx(l);

		/* run-time endpoints: next hops only from authenticated STUN */
		if (l->ice || l->addr.family != family ||
		    memcmp(l->addr.ip, ip, family == AF_INET ? 4 : 16) != 0)
			continue;
		if (cur != NULL && cur->port_id == port &&
		    memcmp(cur->tmpl.dst_mac, mac, 6) == 0)
			continue;
		if (mdd_leg_set_nexthop(l, port, mac, vlan))
			ctl[CTL_nexthop_learned]++;
	}
}

static void
handle_arp(struct mdd *m, struct rte_mbuf *mb, const struct pkt_info *pi)
{
	const uint8_t *f = rte_pktmbuf_mtod(mb, const uint8_t *);
	struct pkt_arp a;
	uint8_t out[64];
	size_t n;

	ctl[CTL_arp_rx]++;
	if (pkt_arp_parse(f, rte_pktmbuf_data_len(mb), pi, &a) != 0)
		return;
	learn(m, AF_INET, a.spa, a.sha, mb->port, pi->vlan);
	if (a.op != 1 || !mdd_is_our_addr(m, AF_INET, a.tpa))
		return;
	n = pkt_arp_reply(&a, m->port_mac[port_slot(m, mb->port)], pi->vlan, out, sizeof(out));
	if (n > 0) {
		ctl_send(m, mb->port, out, n);
		ctl[CTL_arp_replied]++;
	}
}

static void
handle_icmp6(struct mdd *m, struct rte_mbuf *mb, const struct pkt_info *pi)
{
	const uint8_t *f = rte_pktmbuf_mtod(mb, const uint8_t *);
	struct pkt_nd nd;
	uint8_t out[128];
	size_t n;

	if (pkt_nd_parse(f, rte_pktmbuf_data_len(mb), pi, &nd) != 0) {
		ctl[CTL_icmp_dropped]++;
		return;
	}
	ctl[CTL_nd_rx]++;
	if (nd.type == 136 && nd.has_lladdr) {
		learn(m, AF_INET6, nd.target, nd.lladdr, mb->port, pi->vlan);
		return;
	}
	if (nd.type != 135)
		return;
	if (nd.has_lladdr)
		learn(m, AF_INET6, pi->src_ip, nd.lladdr, mb->port, pi->vlan);
	if (!mdd_is_our_addr(m, AF_INET6, nd.target))
		return;
	n = pkt_nd_advert(pi, &nd, m->port_mac[port_slot(m, mb->port)], out, sizeof(out));
	if (n > 0) {
		ctl_send(m, mb->port, out, n);
		ctl[CTL_nd_replied]++;
	}
}

static void
handle_punted(struct mdd *m, struct rte_mbuf *mb)
{
	struct pkt_info pi;
	const uint8_t *f = rte_pktmbuf_mtod(mb, const uint8_t *);

	if (pkt_parse(f, rte_pktmbuf_data_len(mb), false, &pi) != PKT_OK) {
		ctl[CTL_other_dropped]++;
		return;
	}
	switch (pi.kind) {
	case PKT_K_ARP:
		handle_arp(m, mb, &pi);
		break;
	case PKT_K_ICMP6:
		handle_icmp6(m, mb, &pi);
		break;
	case PKT_K_ICMP4:
		ctl[CTL_icmp_dropped]++;
		break;
	case PKT_K_UDP: {
		enum perc_demux d = perc_demux(f + pi.payload_off, pi.payload_len);

		if (m->udp_hook != NULL && m->udp_hook(m, mb, &pi, (int)d))
			break;
		if (d == PERC_DEMUX_STUN)
			ctl[CTL_stun_dropped]++;
		else if (d == PERC_DEMUX_DTLS)
			ctl[CTL_dtls_dropped]++;
		else
			ctl[CTL_other_dropped]++;
		break;
	}
	default:
		ctl[CTL_other_dropped]++;
		break;
	}
}

/* Ask for the MAC of every leg whose next hop is unknown, on every port
 * (once a second at most). */
static void
resolve(struct mdd *m)
{
	static uint64_t last;
	uint64_t now = rte_get_tsc_cycles();

	if (now - last < rte_get_tsc_hz())
		return;
	last = now;
	for (unsigned i = 0; i < m->n_legs; i++) {
		struct mdd_leg *l = m->legs[i];
		uint8_t out[128];
		size_t n;

		if (mdd_leg_tx(l) != NULL || l->ice)
			continue;
		for (unsigned p = 0; p < m->n_ports; p++) {
			if (l->addr.family == AF_INET)
				n = pkt_arp_request(m->port_mac[p], l->base.src_ip, l->addr.ip, 0, out,
						    sizeof(out));
			else
				n = pkt_nd_solicit(m->port_mac[p], l->base.src_ip, l->addr.ip, 0, out,
						   sizeof(out));
			if (n > 0) {
				ctl_send(m, m->ports[p], out, n);
				ctl[CTL_resolve_sent]++;
			}
		}
	}
}

unsigned
mdd_control_poll(struct mdd *m)
{
	struct rte_mbuf *mbs[32];
	unsigned n = rte_ring_dequeue_burst(m->punt, (void **)mbs, 32, NULL);

	for (unsigned i = 0; i < n; i++) {
		handle_punted(m, mbs[i]);
		rte_pktmbuf_free(mbs[i]);
	}
	resolve(m);
	return n;
}

void
mdd_stats_line(struct mdd *m, FILE *f, double interval_s)
{
	static uint64_t prev_rx, prev_tx, prev_drop;
	uint64_t rx = mdd_counter_total(m, MDD_C_rx_frames);
	uint64_t tx = mdd_counter_total(m, MDD_C_tx_frames);
	uint64_t dr = 0, top = 0;
	unsigned top_i = 0;

	for (unsigned i = MDD_DROP_FIRST; i < MDD_C__COUNT; i++) {
		uint64_t v = mdd_counter_total(m, i);

		dr += v;
		if (v > top) {
			top = v;
			top_i = i;
		}
	}
	fprintf(f, "rx %.0f pps tx %.0f pps drop %.0f pps | total rx %" PRIu64 " tx %" PRIu64
		   " drop %" PRIu64 "%s%s%s\n",
		(double)(rx - prev_rx) / interval_s, (double)(tx - prev_tx) / interval_s,
		(double)(dr - prev_drop) / interval_s, rx, tx, dr, top ? " (most: " : "",
		top ? mdd_ctr_name(top_i) : "", top ? ")" : "");
	fflush(f);
	prev_rx = rx;
	prev_tx = tx;
	prev_drop = dr;
}

static json_t *
counters_obj(const uint64_t *c)
{
	json_t *o = json_object();

	for (unsigned i = 0; i < MDD_C__COUNT; i++)
		json_object_set_new(o, mdd_ctr_name(i), json_integer((json_int_t)c[i]));
	return o;
}

json_t *
mdd_stats_obj(const struct mdd *m)
{
	json_t *root = json_object(), *workers = json_array(), *c = json_object();
	uint64_t total[MDD_C__COUNT] = { 0 };

	for (unsigned w = 0; w < m->n_workers; w++) {
		uint64_t v[MDD_C__COUNT];
		json_t *o;

		for (unsigned i = 0; i < MDD_C__COUNT; i++)
			v[i] = __atomic_load_n(&m->workers[w].ctr.c[i], __ATOMIC_RELAXED);
		o = counters_obj(v);
		json_object_set_new(o, "worker", json_integer(w));
		json_object_set_new(o, "lcore", json_integer(m->workers[w].lcore));
		json_object_set_new(o, "busy_cycles", json_integer((json_int_t)m->workers[w].busy_cycles));
		json_object_set_new(o, "idle_cycles", json_integer((json_int_t)m->workers[w].idle_cycles));
		json_array_append_new(workers, o);
		for (unsigned i = 0; i < MDD_C__COUNT; i++)
			total[i] += v[i];
	}
	for (unsigned i = 0; i < CTL__COUNT; i++)
		json_object_set_new(c, ctl_names[i], json_integer((json_int_t)ctl[i]));
	json_object_set_new(root, "total", counters_obj(total));
	json_object_set_new(root, "workers", workers);
	json_object_set_new(c, "keys_retired", json_integer((json_int_t)m->keys_retired));
	json_object_set_new(c, "reloads", json_integer((json_int_t)m->reloads));
	json_object_set_new(c, "conferences", json_integer((json_int_t)m->n_confs));
	json_object_set_new(c, "endpoints", json_integer((json_int_t)m->n_legs));
	json_object_set_new(root, "control", c);
	return root;
}

int
mdd_stats_json(const struct mdd *m, const char *path)
{
	json_t *root = mdd_stats_obj(m);
	int r = json_dump_file(root, path, JSON_INDENT(2) | JSON_SORT_KEYS);

	json_decref(root);
	return r == 0 ? 0 : -1;
}

/* ---- metrics (metrics.c, docs/operations.md): a control counter's
 * description by its name, from the MDD_FOREACH_CTL list ---- */
const char *mdd_ctl_ctr_desc(const char *name);

const char *
mdd_ctl_ctr_desc(const char *name)
{
	static const char *const descs[] = {
#define CTL_DESC_(n, d) d,
		MDD_FOREACH_CTL(CTL_DESC_)
#undef CTL_DESC_
	};

	for (unsigned i = 0; i < CTL__COUNT; i++)
		if (strcmp(ctl_names[i], name) == 0)
			return descs[i];
	return NULL;
}
