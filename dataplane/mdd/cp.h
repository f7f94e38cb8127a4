/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * perc-mdd's control plane, run by the control thread between its polls of
 * punted frames: the conference API (Unix socket, cp_api.c), ICE-lite with
 * consent freshness (cp_ice.c) and the RFC 9185 tunnel client to the Key
 * Distributor (cp_tunnel.c). Nothing here runs on a worker; workers see
 * the results through the RCU-published tables of setup.c.
 */
#ifndef MDD_CP_H
#define MDD_CP_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "mdd.h"

/** Options of the control plane (perc-mdd's command line). */
struct mdd_cp_opts {
	const char *api_path;        /**< conference API socket, or NULL */
	const char *kd;              /**< "HOST:PORT" of the KD, or NULL */
	const char *kd_cert, *kd_key, *kd_ca;
	uint64_t consent_ms;         /**< RFC 7675 consent timeout */
	uint64_t media_ms;           /**< silence before EndpointDisconnect; 0 = off */
	unsigned max_endpoints;      /**< sizes the ICE indexes (--max-endpoints) */
};

/* _(name, "description"): the control plane's counters (stats "ice") */
#define MDD_FOREACH_CP(_) \
	_(stun_answered,     "authenticated Binding requests answered with success") \
	_(stun_bad_integrity, "Binding requests whose MESSAGE-INTEGRITY failed (dropped)") \
	_(stun_unknown_user, "Binding requests for no known endpoint's ufrags (dropped)") \
	_(stun_no_fingerprint, "Binding requests without FINGERPRINT (dropped)") \
	_(stun_malformed,    "STUN that did not parse (dropped)") \
	_(stun_unknown_attr, "authenticated requests with unknown required attributes (420)") \
	_(ice_latched,       "endpoint 5-tuples latched by an authenticated request") \
	_(ice_latch_refused, "latches refused: 5-tuple of another endpoint, or table full") \
	_(consent_expired,   "endpoints removed: no authenticated request for --consent-timeout") \
	_(dtls_to_kd,        "DTLS records from endpoints tunneled to the KD") \
	_(dtls_tunnel_down,  "DTLS records from endpoints dropped: tunnel down") \
	_(dtls_not_latched,  "DTLS records from a 5-tuple no ICE endpoint latched (dropped)") \
	_(dtls_to_endpoint,  "DTLS records from the KD sent to endpoints") \
	_(dtls_unknown_uuid, "TunneledDtls / MediaKeys for an unknown association (dropped)") \
	_(dtls_no_room,      "DTLS records too large for one frame, or no next hop (dropped)") \
	_(keys_installed,    "MediaKeys installed (first keys or rekeys)") \
	_(keys_refused,      "MediaKeys refused (profile or lengths)") \
	_(tun_undecodable,   "KD tunnel messages that did not decode (dropped)") \
	_(media_timeouts,    "EndpointDisconnect sent after --media-timeout of silence") \
	_(disconnects_sent,  "EndpointDisconnect messages sent") \
	_(disconnects_unsent, "EndpointDisconnect not sent: tunnel down") \
	_(api_requests,      "conference API requests") \
	_(api_errors,        "conference API requests answered ok:false")

enum {
#define MDD_CP_ENUM_(n, d) MDD_CP_##n,
	MDD_FOREACH_CP(MDD_CP_ENUM_)
#undef MDD_CP_ENUM_
	MDD_CP__COUNT
};

/** Name and description of each counter, from MDD_FOREACH_CP (cp_api.c):
 *  the stats JSON, /metrics and the log summaries all read these. */
extern const char *const mdd_cp_names[MDD_CP__COUNT];
extern const char *const mdd_cp_descs[MDD_CP__COUNT];

/** Control plane state (the control thread's alone). */
struct mdd_cp {
	struct mdd_cp_opts o;
	uint64_t c[MDD_CP__COUNT];
};

extern struct mdd_cp g_cp;

/** Start the API socket and the tunnel (whichever is configured); sets
 *  m->udp_hook. 0, or -1 with err. */
int mdd_cp_init(struct mdd *m, const struct mdd_cp_opts *o, char *err, size_t errlen);
/** One round: API clients, tunnel I/O, consent and media timers. */
void mdd_cp_poll(struct mdd *m);
/** Close sockets, EndpointDisconnect nothing (the KD sees the tunnel go). */
void mdd_cp_fini(struct mdd *m);

/** Add the control plane's "ice" counters and "tunnel" state to root. */
void mdd_cp_stats(json_t *root);

/** CLOCK_MONOTONIC in ms. */
uint64_t mdd_now_ms(void);

/* cp_api.c */
int mdd_api_init(const char *path, char *err, size_t errlen);
void mdd_api_poll(struct mdd *m);
void mdd_api_fini(void);
/** An ok:false answer with the formatted reason: counted (api_errors) and
 *  logged at debug; every op of the API (cp_api.c, lifecycle.c, capture.c)
 *  refuses through it. */
json_t *mdd_api_refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cp_ice.c */
/** The ufrag and association indexes for max_endpoints. 0 or -1 (err). */
int mdd_ice_init(unsigned max_endpoints, char *err, size_t errlen);
void mdd_ice_fini(void);
/** Index a new run-time leg by its (unique) MDD ufrag. 0 or -1. */
int mdd_ice_leg_index(struct mdd_leg *l);
/** EndpointDisconnect for l's association, if any, which then ends. */
void mdd_ice_disconnect(struct mdd_leg *l);
/** Out of the indexes (and its association ended) before l is freed. */
void mdd_ice_leg_forget(struct mdd_leg *l);
bool mdd_ice_udp(struct mdd *m, struct rte_mbuf *mb, const struct pkt_info *pi, int demux);
/** Send a UDP payload to a latched leg through the control TX path. 0 or -1. */
int mdd_ice_send(struct mdd *m, struct mdd_leg *l, const uint8_t *p, size_t len);
/** Consent and media timers (every call; cheap). */
void mdd_ice_tick(struct mdd *m);
/** A leg by ICE ufrags / by association id, or NULL. */
struct mdd_leg *mdd_ice_leg_by_uuid(struct mdd *m, const uint8_t uuid[16]);
bool mdd_ice_ufrag_used(struct mdd *m, const char *ufrag);
/** Remove a run-time leg, telling the KD first when it has an association. */
void mdd_ice_leg_remove(struct mdd *m, struct mdd_leg *l, const char *why);
/** "waiting_ice" / "ice_ok" / "keyed". */
const char *mdd_ice_state(const struct mdd_leg *l);

/* cp_tunnel.c */
int mdd_tun_init(const struct mdd_cp_opts *o, char *err, size_t errlen);
void mdd_tun_poll(struct mdd *m);
void mdd_tun_fini(void);
bool mdd_tun_up(void);
/** Queue TunneledDtls(uuid, p) / EndpointDisconnect(uuid). 0, or -1 when
 *  the tunnel is down or its buffer full. */
int mdd_tun_send_dtls(const uint8_t uuid[16], const uint8_t *p, size_t len);
int mdd_tun_send_disconnect(const uint8_t uuid[16]);
/** Tunnel state and counters as JSON. */
json_t *mdd_tun_stats(void);

/* control.c */
/** Queue a frame the control thread built for transmission (worker 0). */
void mdd_ctl_send(struct mdd *m, uint16_t port, const uint8_t *frame, size_t len);
/** Every dataplane counter (total, per worker, control) as one object. */
json_t *mdd_stats_obj(const struct mdd *m);

#endif
