/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * perc-mdd's dataplane state: conferences, endpoint legs, streams, workers.
 *
 * Ownership (ARCHITECTURE.md): a leg is owned by one worker, the one that
 * receives its packets; that worker alone writes the leg's streams (ROC,
 * replay windows, the SSRC table) and every outbound context fed from them.
 * Keys are read-only once published. The control thread builds everything
 * off the fast path and publishes it before the workers start (and, for
 * run-time changes, through RCU).
 */
#ifndef MDD_MDD_H
#define MDD_MDD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_atomic.h>
#include <rte_hash.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "counters.h"
#include "perc/srtp.h"
#include "pkt.h"
#include "provision.h"

#define MDD_MAX_WORKERS 32
#define MDD_MAX_PORTS 8
#define MDD_MAX_ADDRS 8
#define MDD_BURST 32
/** Largest RTP/RTCP packet (UDP payload) the MDD forwards. */
#define MDD_MAX_MEDIA 1500u
/** Replay window of a sender's inbound stream and of outbound contexts. */
#define MDD_IN_WINDOW PERC_REPLAY_DEFAULT
#define MDD_OUT_WINDOW PERC_REPLAY_MIN

struct mdd_conf;
struct mdd_leg;
struct rte_mbuf;

/** Counters of one stream (docs/operations.md, "streams"), written by the
 *  owner worker alone with plain stores, read racily by the control thread
 *  (aligned 64-bit words: a reader sees an old or a new value, never half).
 *  Those written for every packet sit in the stream's one cache line with
 *  the pointers the fast path reads anyway ... */
struct mdd_stream_ctr {
	uint64_t rtp_in;             /**< SRTP packets whose hop layer opened */
	uint64_t bytes_in;           /**< SRTP / SRTCP bytes opened (EKT field excluded) */
	uint64_t copies_out;         /**< copies sealed toward receivers */
	uint64_t last_tsc;           /**< TSC of the burst that last opened one (0: never) */
};

/** ... and the rare ones (RTCP, failures) in a per-leg array beside the
 *  streams (mdd_leg.stream_rare, same index), out of the hot lines. */
struct mdd_stream_rare {
	uint64_t rtcp_in;            /**< SRTCP packets whose hop layer opened */
	uint64_t auth_fail;          /**< hop-layer tag did not verify */
	uint64_t replay;             /**< duplicate or behind the replay window */
	uint64_t ohb_invalid;        /**< opened, but the OHB was malformed */
};

/** One SSRC sent by one leg: one cache line. The owner worker writes it. */
struct mdd_stream {
	uint32_t ssrc;
	struct perc_stream *in;      /**< sender's HBH layer: ROC, replay */
	struct perc_stream **out;    /**< per conference leg index: receiver ROC / SRTCP index */
	uint64_t *out_serial;        /**< per leg index: serial of the leg out[] was reset for
				      *   (a slot freed and taken by a new leg is reset lazily
				      *   by the owner worker before its first seal) */
	struct mdd_stream_ctr ctr;
} __rte_cache_aligned;

/** SSRC table slot of a leg: open addressing, written by the owner only;
 *  idx1 is published last (release) so other workers may read it. */
struct mdd_ssrc_slot {
	uint32_t ssrc;
	uint32_t idx1;               /**< stream index + 1; 0 = empty */
};

/** How long a previous rx key still opens late packets after a rekey. */
#define MDD_REKEY_GRACE_MS 500

/** The rx keys of a leg (immutable once published). */
struct mdd_rxkeys {
	struct perc_key *cur;
	struct perc_key *alt;        /**< next or previous key, or NULL */
	bool alt_is_next;
	uint64_t gen;                /**< unique per pair (never reused) */
	uint8_t cur_fp[32], alt_fp[32]; /**< SHA-256(key ‖ salt): what a reload compares */
};

/** Hash key of a leg: the endpoint's address as the MDD sees it. */
struct mdd_leg_key {
	uint8_t family;              /**< AF_INET / AF_INET6 */
	uint8_t pad;
	uint16_t port;               /**< network order */
	uint8_t ip[16];
} __rte_packed;

/** Where and how to send to a leg: egress port and prepared headers. */
struct mdd_tx {
	uint16_t port_id;
	struct pkt_udp_tmpl tmpl;
};

/** One endpoint's media leg. */
struct mdd_leg {
	uint32_t conf_idx;           /**< index within its conference */
	uint16_t worker;             /**< owning worker */
	bool dbl;                    /**< double profile: the key is the outer half */
	bool ekt;                    /**< packets carry an EKT field */
	bool rewrite;                /**< PT / SEQ / marker rewritten toward it */
	int8_t marker;               /**< -1 keep, 0 clear, 1 set */
	uint16_t seq_offset;
	uint8_t pt_map[128];
	struct mdd_conf *conf;
	const struct perc_profile *layer; /**< single profile of the HBH layer */
	/* rx keys, published as one pair so a reader never sees half a
	 * promotion: a packet that fails with rx->cur is tried with rx->alt,
	 * the next key (a rekey in progress: the first packet it opens makes
	 * it current) or the previous one (kept for a grace period). The
	 * control thread replaces the pair; old pairs and retired keys are
	 * freed after an RCU grace period. */
	struct mdd_rxkeys *rx;
	uint64_t rx_alt_used;        /**< owner: gen of the pair whose next key opened a packet */
	uint64_t rx_alt_retire;      /**< control: TSC when the previous key goes */
	struct perc_key *tx_key;     /**< seals what the MDD sends to it (RCU-published) */
	uint8_t tx_fp[32];           /**< SHA-256(tx key ‖ salt) */
	const struct perc_profile *profile; /**< as provisioned (single or double) */
	uint32_t ssrcs[PROV_MAX_SSRCS];  /**< as provisioned (a reload compares) */
	unsigned n_ssrcs;
	/* next hop, double-buffered: a writer (the owner latching the
	 * endpoint's source MAC, or the control thread after ARP / ND) fills
	 * the spare copy and publishes it; every worker reads the current one */
	struct mdd_tx tx[2];
	uint32_t tx_gen;             /**< 0: next hop unknown; else tx[tx_gen & 1] */
	uint8_t tx_wlock;            /**< writers try-lock (never waited on) */
	struct pkt_udp_tmpl base;    /**< addresses and ports; MACs unset */
	/* streams, owned by the worker */
	struct mdd_stream *streams;
	struct mdd_stream_rare *stream_rare; /**< rare counters, by stream index */
	uint32_t n_streams;
	uint32_t max_streams;
	struct mdd_ssrc_slot *ssrc_tab;
	uint32_t ssrc_mask;
	uint32_t last_idx;           /**< last stream looked up (cache) */
	char id[PROV_ID_MAX];
	struct prov_addr addr;
	struct mdd_leg_key key;
	uint64_t serial;             /**< unique per leg ever created (never reused) */
	/* packet counts: in written by the owner worker, out by any worker (atomic) */
	uint64_t pkts_in;
	uint64_t pkts_out;
	/* run-time endpoints (conference API, ICE-lite, KD tunnel): the control
	 * thread's alone; workers only read `key` through the hash */
	bool ice;                    /**< created by the API: address from ICE, keys from the KD */
	bool in_hash;                /**< key is in legs_by_addr */
	bool nominated;              /**< a request carried USE-CANDIDATE */
	bool has_uuid;               /**< a DTLS association with the KD exists */
	bool media_timed_out;        /**< EndpointDisconnect sent for silence */
	uint8_t uuid[16];            /**< RFC 9185 association id (UUID v4) */
	char ufrag[257], pwd[257];   /**< the MDD's ICE credentials for this endpoint */
	char remote_ufrag[257];
	uint64_t consent_ms;         /**< last authenticated Binding request (monotonic ms) */
	uint64_t media_ms;           /**< when pkts_in last changed, or keys came (monotonic ms) */
	uint64_t media_seen;         /**< pkts_in at media_ms */
	uint32_t capture;            /**< capture token (capture.h); 0 = none */
};

struct mdd_conf {
	char id[PROV_ID_MAX];
	uint32_t n_legs;             /**< slots in use (high water); a slot may be NULL */
	uint32_t cap;                /**< slots allocated (legs[], every stream's out[]) */
	bool api;                    /**< created by the conference API (not the file) */
	struct mdd_leg **legs;
};

/** A conference's leg in slot j, or NULL (workers and control). */
static inline struct mdd_leg *
mdd_conf_leg(const struct mdd_conf *c, uint32_t j)
{
	return __atomic_load_n(&c->legs[j], __ATOMIC_ACQUIRE);
}

/** Keys of one leg as a key source hands them over (one layer). */
struct mdd_keys {
	const uint8_t *rx_key, *rx_salt;  /**< what the endpoint sends with */
	const uint8_t *tx_key, *tx_salt;  /**< what the MDD sends to it with */
	uint8_t key_len, salt_len;
};

/** Per-worker state, written by its lcore only (STYLE.md §2). */
struct mdd_worker {
	unsigned idx;
	unsigned lcore;
	struct perc_engine *engine;
	struct rte_ring *handoff;     /**< frames owned by this worker, from others */
	struct rte_ring *ctl_tx;      /**< frames the control thread sends */
	struct rte_ring *cap_ring;    /**< captured packets to the control thread (capture.h) */
	struct mdd_counters ctr;
	uint64_t busy_cycles, idle_cycles;
} __rte_cache_aligned;

/** Global state. */
struct mdd {
	/* configuration */
	unsigned n_workers;
	uint16_t n_ports;
	uint16_t ports[MDD_MAX_PORTS];
	uint8_t port_mac[MDD_MAX_PORTS][6];
	uint16_t port_nrxq[MDD_MAX_PORTS]; /**< RX queues: a worker polls queue idx if < this */
	uint16_t media_port;          /**< host order */
	unsigned n_addrs;
	struct prov_addr addrs[MDD_MAX_ADDRS];
	bool udp_csum_check;          /**< verify UDP checksums of IPv4 input */
	bool udp_csum_tx;             /**< write UDP checksums on IPv4 output */
	/* tables (the arrays are the control thread's; workers use the hash) */
	struct rte_hash *legs_by_addr;
	struct mdd_conf **confs;
	unsigned n_confs, confs_cap;
	struct mdd_leg **legs;
	unsigned n_legs, legs_cap;
	unsigned next_worker;         /**< round robin of leg owners */
	uint64_t reloads;
	/* resources */
	struct rte_mempool *pool;
	struct rte_ring *punt;        /**< workers -> control */
	struct rte_rcu_qsbr *qs;
	struct mdd_worker *workers;
	uint64_t keys_retired;        /**< control: previous keys zeroized and freed */
	uint64_t leg_serial;          /**< control: last leg serial given */
	/* control plane hook (perc-mdd sets it; benchmarks leave it NULL): a
	 * punted UDP frame (STUN or DTLS) is offered first; true = taken */
	bool (*udp_hook)(struct mdd *m, struct rte_mbuf *mb, const struct pkt_info *pi, int demux);
	volatile bool stop;
};

extern struct mdd g_mdd;

/** The current next hop of a leg, or NULL when it is not known yet. */
static inline const struct mdd_tx *
mdd_leg_tx(const struct mdd_leg *l)
{
	uint32_t g = __atomic_load_n(&l->tx_gen, __ATOMIC_ACQUIRE);

	return g == 0 ? NULL : &l->tx[g & 1];
}

/* setup.c */
/** Set a leg's next hop (port, MAC, VLAN). Returns false when another
 *  writer holds the leg at this instant (the caller tries again later). */
bool mdd_leg_set_nexthop(struct mdd_leg *l, uint16_t port, const uint8_t mac[6], uint16_t vlan);
/** Create the endpoint table for up to max_endpoints endpoints. */
int mdd_tables_init(struct mdd *m, unsigned max_endpoints, char *err, size_t errlen);
/** Build conferences, legs, streams and keys from a provisioning file; the
 *  workers' engines must exist (keys are expanded for their architecture). */
int mdd_setup_from_prov(struct mdd *m, const struct prov *p, char *err, size_t errlen);
/** Apply a new provisioning file while running (control thread): add and
 *  remove conferences, replace keys of running endpoints without a lost
 *  packet. A conference whose endpoints changed otherwise is left as it is
 *  (reported). Returns 0, or -1 when something was refused. */
int mdd_reload(struct mdd *m, const struct prov *p, FILE *log);
/** Create an empty conference for the conference API (cap legs). NULL
 *  with the reason in err. */
struct mdd_conf *mdd_conf_create(struct mdd *m, const char *id, uint32_t cap, char *err,
				 size_t errlen);
/** Find a conference by id (control thread). */
struct mdd_conf *mdd_conf_find(const struct mdd *m, const char *id);
/** Remove a conference and every leg of it (after an RCU grace period,
 *  keys zeroized). */
void mdd_conf_delete(struct mdd *m, struct mdd_conf *c);
/** Add a run-time leg (no address, no keys) to an API conference, in a
 *  free slot, without touching the other legs. NULL with err. */
struct mdd_leg *mdd_leg_add(struct mdd *m, struct mdd_conf *c, const char *id, char *err,
			    size_t errlen);
/** Find a leg of c by id, or NULL. */
struct mdd_leg *mdd_leg_find(const struct mdd_conf *c, const char *id);
/** Remove one leg: out of the hash and its conference, freed (keys
 *  zeroized) after an RCU grace period. */
void mdd_leg_remove(struct mdd *m, struct mdd_leg *l);
/** Latch a run-time leg at the endpoint's address a (a 5-tuple that ICE
 *  authenticated) with the frame's next hop. Returns 0, or -1 when
 *  another leg is at that address or the table is full. */
int mdd_leg_latch(struct mdd *m, struct mdd_leg *l, const struct prov_addr *a, uint16_t port,
		  const uint8_t mac[6], uint16_t vlan);
/** Install or replace a leg's keys through the RCU publication of a
 *  reload: the first install publishes both; later ones keep the old rx
 *  key beside the new one for MDD_REKEY_GRACE_MS so a rekey drops nothing.
 *  Returns 0 or -1 (no memory, bad lengths). */
int mdd_leg_set_keys(struct mdd *m, struct mdd_leg *l, const struct mdd_keys *k);
/** Zeroize keys and free the tables. */
void mdd_teardown(struct mdd *m);
/** Stream of ssrc in leg, or NULL (owner or reader). */
struct mdd_stream *mdd_stream_find(struct mdd_leg *l, uint32_t ssrc);
/** Claim a new stream for ssrc (owner worker only). NULL past the bound. */
struct mdd_stream *mdd_stream_add(struct mdd_leg *l, uint32_t ssrc);
/** Whether addr (network-order IPv4/IPv6 bytes of family) is one of ours. */
bool mdd_is_our_addr(const struct mdd *m, int family, const uint8_t *ip);

/* worker.c */
int mdd_worker_main(void *arg);

/** Promote next rx keys that have opened a packet and retire previous ones
 *  whose grace period is over (control thread). */
void mdd_rekey_tick(struct mdd *m);

/* control.c */
/** Handle punted frames and periodic work once; returns frames handled. */
unsigned mdd_control_poll(struct mdd *m);
/** Sum of one counter over all workers. */
uint64_t mdd_counter_total(const struct mdd *m, unsigned ctr);
/** One line of totals (rates since the previous call) to f. */
void mdd_stats_line(struct mdd *m, FILE *f, double interval_s);
/** All counters, per worker and total, as JSON to path; 0 or -1. */
int mdd_stats_json(const struct mdd *m, const char *path);

#endif
