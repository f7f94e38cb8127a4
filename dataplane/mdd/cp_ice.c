/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ICE-lite (RFC 8445 §2.5) for run-time endpoints, on the control thread:
 * Binding requests punted by the workers are authenticated with the
 * endpoint's short-term credentials (the MDD's pwd), the source 5-tuple and
 * next hop are latched, and a success response goes back through the
 * control TX path. Consent freshness (RFC 7675): every authenticated
 * request refreshes it; an endpoint without one for --consent-timeout is
 * removed. DTLS records (RFC 7983: first byte 20..63) from a latched
 * 5-tuple go to the KD in TunneledDtls under the endpoint's association id.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/crypto.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "cp.h"
#include "mdapi.h"
#include "ops.h"
#include "perc/reason.h"
#include "perc/rtp.h"
#include "perc/stun.h"

uint64_t
mdd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const char *
mdd_ice_state(const struct mdd_leg *l)
{
	return mdd_ice_state_name(l->in_hash, l->rx != NULL);
}

/* The run-time legs by MDD ufrag and by association id: every Binding
 * request and tunnel message finds its endpoint in O(1) (consent checks
 * alone are one request per endpoint every few seconds). Control thread
 * only: no concurrent readers. */
struct ufrag_key {
	/* NUL-padded; a multiple of 4 bytes, since rte_jhash reads whole
	 * 32-bit words (a 257-byte key would be read past its end) */
	char s[RTE_ALIGN_CEIL(MDD_ICE_CRED_MAX + 1, 4)];
} __rte_aligned(4);

static struct rte_hash *by_ufrag, *by_uuid;

int
mdd_ice_init(unsigned max_endpoints, char *err, size_t errlen)
{
	struct rte_hash_parameters hp = {
		.entries = max_endpoints < 64 ? 128 : max_endpoints,
		.hash_func = rte_jhash,
		.socket_id = (int)rte_socket_id(),
	};

	hp.name = "mdd_ice_ufrag";
	hp.key_len = sizeof(struct ufrag_key);
	by_ufrag = rte_hash_create(&hp);
	hp.name = "mdd_ice_uuid";
	hp.key_len = 16;
	by_uuid = rte_hash_create(&hp);
	if (by_ufrag == NULL || by_uuid == NULL) {
		snprintf(err, errlen, "cannot create the ICE tables for %u endpoints: %s (give the "
			 "EAL more memory with -m or lower --max-endpoints)", max_endpoints,
			 rte_strerror(rte_errno));
		mdd_ice_fini();
		return -1;
	}
	return 0;
}

void
mdd_ice_fini(void)
{
	rte_hash_free(by_ufrag);
	rte_hash_free(by_uuid);
	by_ufrag = by_uuid = NULL;
}

static void
ufrag_key(struct ufrag_key *k, const char *ufrag)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->s, sizeof(k->s), "%s", ufrag);
}

static struct mdd_leg *
leg_by_ufrag(const char *ufrag)
{
	struct ufrag_key k;
	void *data;

	ufrag_key(&k, ufrag);
	return rte_hash_lookup_data(by_ufrag, &k, &data) >= 0 ? data : NULL;
}

bool
mdd_ice_ufrag_used(struct mdd *m, const char *ufrag)
{
	(void)m;
	return leg_by_ufrag(ufrag) != NULL;
}

int
mdd_ice_leg_index(struct mdd_leg *l)
{
	struct ufrag_key k;

	ufrag_key(&k, l->ufrag);
	return rte_hash_add_key_data(by_ufrag, &k, l) == 0 ? 0 : -1;
}

/* An association id as a hash key: rte_jhash loads 32-bit words, so the
 * key is copied to an aligned buffer (ids sit at odd offsets in messages). */
struct uuid_key {
	uint32_t w[4];
};

static void
uuid_key(struct uuid_key *k, const uint8_t uuid[16])
{
	memcpy(k->w, uuid, 16);
}

struct mdd_leg *
mdd_ice_leg_by_uuid(struct mdd *m, const uint8_t uuid[16])
{
	struct uuid_key k;
	void *data;

	(void)m;
	uuid_key(&k, uuid);
	return rte_hash_lookup_data(by_uuid, &k, &data) >= 0 ? data : NULL;
}

/* A new association for l (its first DTLS record, or the first after an
 * EndpointDisconnect). 0 or -1. */
static int
uuid_set(struct mdd_leg *l)
{
	struct uuid_key k;

	for (int tries = 0; tries < 4; tries++) {
		if (mdd_uuid_v4(l->uuid) != 0)
			return -1;
		uuid_key(&k, l->uuid);
		if (rte_hash_lookup(by_uuid, &k) >= 0)
			continue; /* 2^-122: never, but a duplicate must not alias */
		if (rte_hash_add_key_data(by_uuid, &k, l) != 0)
			return -1;
		l->has_uuid = true;
		return 0;
	}
	return -1;
}

void
mdd_ice_disconnect(struct mdd_leg *l)
{
	struct uuid_key k;

	if (!l->has_uuid)
		return;
	if (mdd_tun_send_disconnect(l->uuid) == 0)
		g_cp.c[MDD_CP_disconnects_sent]++;
	else
		g_cp.c[MDD_CP_disconnects_unsent]++;
	uuid_key(&k, l->uuid);
	rte_hash_del_key(by_uuid, &k);
	l->has_uuid = false;
}

void
mdd_ice_leg_forget(struct mdd_leg *l)
{
	struct ufrag_key k;

	mdd_ice_disconnect(l);
	ufrag_key(&k, l->ufrag);
	if (leg_by_ufrag(l->ufrag) == l)
		rte_hash_del_key(by_ufrag, &k);
}

/* mdd_ice_lookup_fn over the run-time legs */
static const char *
leg_by_ufrags(void *ctx, const char *local, const char *remote, void **ep)
{
	struct mdd_leg *l = leg_by_ufrag(local);

	(void)ctx;
	if (l == NULL || strcmp(l->remote_ufrag, remote) != 0)
		return NULL;
	*ep = l;
	return l->pwd;
}

void
mdd_ice_leg_remove(struct mdd *m, struct mdd_leg *l, const char *why)
{
	/* an operator's removal is the API's business; the others (consent
	 * expired) are ICE's and worth a notice */
	if (strcmp(why, "API") == 0)
		MDD_LOG(INFO, API, "endpoint %s/%s removed (%s)", l->conf->id, l->id, why);
	else
		MDD_LOG(NOTICE, ICE, "endpoint %s/%s removed (%s)", l->conf->id, l->id, why);
	mdd_ice_leg_forget(l);
	mdd_leg_remove(m, l);
}

int
mdd_ice_send(struct mdd *m, struct mdd_leg *l, const uint8_t *p, size_t len)
{
	const struct mdd_tx *cur = mdd_leg_tx(l);
	struct mdd_tx tx;
	uint8_t frame[2048];
	size_t n;

	if (cur == NULL)
		return -1;
	tx = *cur;
	if (len > sizeof(frame) - tx.tmpl.hdr_len || len > MDD_MAX_MEDIA)
		return -1;
	memcpy(frame + tx.tmpl.hdr_len, p, len);
	n = pkt_udp_write(frame, &tx.tmpl, (uint16_t)len, true);
	if (n == 0)
		return -1;
	mdd_ctl_send(m, tx.port_id, frame, n);
	return 0;
}

static void
src_addr(const struct pkt_info *pi, struct prov_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = pi->family;
	memcpy(a->ip, pi->src_ip, 16);
	a->port = pi->src_port;
}

/* An authenticated Binding request: latch, refresh consent, answer. */
static void
answer(struct mdd *m, struct mdd_leg *l, const struct perc_stun_msg *sm, struct rte_mbuf *mb,
       const struct pkt_info *pi)
{
	struct prov_addr a;
	struct perc_stun_addr mapped;
	uint8_t out[256];
	bool moved;
	char buf[64];
	int n;

	src_addr(pi, &a);
	moved = !l->in_hash || memcmp(&a, &l->addr, sizeof(a)) != 0;
	if (mdd_leg_latch(m, l, &a, mb->port, pi->src_mac, pi->vlan) != 0) {
		g_cp.c[MDD_CP_ice_latch_refused]++;
		/* an endpoint may repeat this with every check: the first of
		 * each summary period is told, the summary counts them all */
		if (mdd_log_first(MDD_CP_ice_latch_refused))
			MDD_LOG(NOTICE, ICE, "endpoint %s/%s: latch at %s refused: the 5-tuple is "
				"another endpoint's, or the table is full (raise --max-endpoints); "
				"more in the ice_latch_refused summary", l->conf->id, l->id,
				prov_format_addr(&a, buf, sizeof(buf)));
		return;
	}
	if (moved) {
		g_cp.c[MDD_CP_ice_latched]++;
		MDD_LOG(INFO, ICE, "endpoint %s/%s at %s (ICE)", l->conf->id, l->id,
			prov_format_addr(&a, buf, sizeof(buf)));
	}
	l->consent_ms = mdd_now_ms();
	if (sm->use_candidate)
		l->nominated = true;
	memset(&mapped, 0, sizeof(mapped));
	mapped.family = pi->family == AF_INET ? 4 : 6;
	mapped.port = pi->src_port;
	memcpy(mapped.addr, pi->src_ip, 16);
	n = perc_stun_build_success(out, sizeof(out), sm->tid, &mapped, l->pwd, strlen(l->pwd));
	if (n > 0 && mdd_ice_send(m, l, out, (size_t)n) == 0)
		g_cp.c[MDD_CP_stun_answered]++;
}

/* STUN that nobody authenticated, dropped and counted in ctr: anyone can
 * send it at packet rate, so only the first of each summary period is
 * told (debug, with its source); the summary line counts them all */
static void
stun_dropped(unsigned ctr, const struct pkt_info *pi)
{
	struct prov_addr a;
	char buf[64];

	g_cp.c[ctr]++;
	if (!mdd_log_first(ctr))
		return;
	src_addr(pi, &a);
	MDD_LOG(DEBUG, ICE, "STUN from %s dropped: %s; more of these are counted in the %s summary",
		prov_format_addr(&a, buf, sizeof(buf)), mdd_cp_descs[ctr], mdd_cp_names[ctr]);
}

static bool
on_stun(struct mdd *m, struct rte_mbuf *mb, const struct pkt_info *pi, const uint8_t *p,
	size_t len)
{
	struct perc_stun_msg sm;
	void *ep = NULL;
	struct mdd_leg *l;
	uint8_t out[256];
	int n;

	switch (mdd_ice_check(p, len, &sm, leg_by_ufrags, m, &ep)) {
	case MDD_ICE_OK:
		answer(m, ep, &sm, mb, pi);
		return true;
	case MDD_ICE_NOT_ICE:
		/* indications, responses and requests without USERNAME are not
		 * ICE connectivity checks: the generic counter takes them */
		return false;
	case MDD_ICE_MALFORMED:
		stun_dropped(MDD_CP_stun_malformed, pi);
		return true;
	case MDD_ICE_UNKNOWN_USER:
		stun_dropped(MDD_CP_stun_unknown_user, pi);
		return true;
	case MDD_ICE_BAD_INTEGRITY:
		/* dropped, not answered 401: an answer would go to a source
		 * nobody authenticated */
		stun_dropped(MDD_CP_stun_bad_integrity, pi);
		return true;
	case MDD_ICE_NO_FINGERPRINT:
		stun_dropped(MDD_CP_stun_no_fingerprint, pi);
		return true;
	case MDD_ICE_UNKNOWN_ATTR:
		/* authenticated: 420 to where the endpoint is latched, if there */
		l = ep;
		g_cp.c[MDD_CP_stun_unknown_attr]++;
		n = perc_stun_build_error(out, sizeof(out), sm.tid, 420, NULL, sm.unknown,
					  sm.n_unknown < PERC_STUN_MAX_UNKNOWN ? sm.n_unknown
									: PERC_STUN_MAX_UNKNOWN,
					  l->pwd, strlen(l->pwd));
		if (n > 0 && l->in_hash && memcmp(l->addr.ip, pi->src_ip, 16) == 0 &&
		    l->addr.port == pi->src_port)
			mdd_ice_send(m, l, out, (size_t)n);
		return true;
	}
	return false;
}

static bool
on_dtls(struct mdd *m, const struct pkt_info *pi, const uint8_t *p, size_t len)
{
	struct mdd_leg_key k;
	void *data = NULL;
	struct mdd_leg *l;
	char u[37];

	memset(&k, 0, sizeof(k));
	k.family = (uint8_t)pi->family;
	k.port = rte_cpu_to_be_16(pi->src_port);
	memcpy(k.ip, pi->src_ip, pi->family == AF_INET ? 4 : 16);
	if (rte_hash_lookup_data(m->legs_by_addr, &k, &data) < 0)
		return false;
	l = data;
	if (!l->ice) {
		/* a provisioned endpoint has its keys from the file */
		return false;
	}
	if (!mdd_is_dtls(p, len)) {
		g_cp.c[MDD_CP_dtls_not_latched]++;
		return true;
	}
	if (!mdd_tun_up()) {
		/* the endpoint retransmits; nothing is kept */
		g_cp.c[MDD_CP_dtls_tunnel_down]++;
		return true;
	}
	if (!l->has_uuid) {
		if (uuid_set(l) != 0) {
			g_cp.c[MDD_CP_dtls_tunnel_down]++;
			return true;
		}
		l->media_timed_out = false;
		MDD_LOG(INFO, ICE, "endpoint %s/%s: DTLS association %s", l->conf->id, l->id,
			mdd_uuid_fmt(l->uuid, u));
	}
	if (mdd_tun_send_dtls(l->uuid, p, len) == 0)
		g_cp.c[MDD_CP_dtls_to_kd]++;
	else
		g_cp.c[MDD_CP_dtls_tunnel_down]++;
	return true;
}

bool
mdd_ice_udp(struct mdd *m, struct rte_mbuf *mb, const struct pkt_info *pi, int demux)
{
	const uint8_t *p = rte_pktmbuf_mtod_offset(mb, const uint8_t *, pi->payload_off);

	if (demux == PERC_DEMUX_STUN)
		return on_stun(m, mb, pi, p, pi->payload_len);
	if (demux == PERC_DEMUX_DTLS)
		return on_dtls(m, pi, p, pi->payload_len);
	return false;
}

void
mdd_ice_tick(struct mdd *m)
{
	static uint64_t last;
	uint64_t now = mdd_now_ms();

	if (now - last < 20)
		return;
	last = now;
	/* backwards: a removal compacts the array behind i */
	for (unsigned i = m->n_legs; i-- > 0;) {
		struct mdd_leg *l = m->legs[i];
		uint64_t in;

		if (!l->ice)
			continue;
		if (l->in_hash &&
		    mdd_ice_consent_expired(l->consent_ms, now, g_cp.o.consent_ms)) {
			g_cp.c[MDD_CP_consent_expired]++;
			mdd_ice_leg_remove(m, l, "consent expired: no authenticated STUN request");
			continue;
		}
		if (g_cp.o.media_ms == 0 || l->rx == NULL || !l->has_uuid || l->media_timed_out)
			continue;
		in = __atomic_load_n(&l->pkts_in, __ATOMIC_RELAXED);
		if (in != l->media_seen) {
			l->media_seen = in;
			l->media_ms = now;
		} else if (now - l->media_ms >= g_cp.o.media_ms) {
			MDD_LOG(NOTICE, ICE, "endpoint %s/%s: no media for %" PRIu64 " ms: "
				"EndpointDisconnect", l->conf->id, l->id, g_cp.o.media_ms);
			g_cp.c[MDD_CP_media_timeouts]++;
			l->media_timed_out = true;
			mdd_ice_disconnect(l);
		}
	}
}
