/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * perc-kd internals: the key arena, the roster (conferences, authorized
 * participants, members), the rekey rules, counters, logging and events.
 * The network side (tunnels, DTLS associations) talks to the roster only
 * through struct kd_ops, so the roster and the API can be tested alone.
 */
#ifndef PERC_KD_H
#define PERC_KD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "perc/jwt.h"
#include "perc/kdproto.h"

#define KD_EKT_KEY_LEN 16u       /**< AESKW-128 */
#define KD_SALT_LEN 12u          /**< conference E2E master salt (GCM) */
#define KD_MAX_TLS_ID 255u
#define KD_MIN_TLS_ID 20u
#define KD_MAX_CONF_NAME 256u    /**< NUL included */
#define KD_REKEY_LOG 4096u       /**< rekeys remembered for the API */
#define KD_SLOT 128u             /**< one key arena slot */
#define KD_ARENA_SLOTS 2048u

/** X-macro: counters of things refused or dropped: _(ENUM, "name"). */
#define KD_FOREACH_DROP(_) \
	_(TUNNEL_MALFORMED, "tunnel_malformed") \
	_(TUNNEL_VERSION, "tunnel_version") \
	_(TUNNEL_PROFILE, "tunnel_profile") \
	_(TUNNEL_TLS, "tunnel_tls") \
	_(DTLS_GARBAGE, "dtls_garbage") \
	_(KD_MSG_MALFORMED, "kd_msg_malformed") \
	_(NOT_AUTHORIZED, "not_authorized") \
	_(NO_DOUBLE, "no_double_profile") \
	_(API_MALFORMED, "api_malformed") \
	_(API_REFUSED, "api_refused") \
	_(KEEPALIVE_TIMEOUT, "keepalive_timeout")

enum kd_drop {
#define KD_DROP_ENUM_(e, n) KD_D_##e,
	KD_FOREACH_DROP(KD_DROP_ENUM_)
#undef KD_DROP_ENUM_
	KD_D__COUNT
};

struct kd_stats {
	uint64_t tunnels_accepted;
	uint64_t handshakes_ok;
	uint64_t handshakes_failed;
	uint64_t joins;
	uint64_t leaves;
	uint64_t rekeys;
	uint64_t tokens_refused[PERC_JWT__COUNT + 2]; /**< + sub / conf mismatch */
	uint64_t drops[KD_D__COUNT];
};
/** tokens_refused index of "sub is not the roster's participant". */
#define KD_TOK_WRONG_SUB PERC_JWT__COUNT
/** tokens_refused index of "perc_conf is not the roster's conference". */
#define KD_TOK_WRONG_CONF (PERC_JWT__COUNT + 1)

struct kd_conf;

/** An authorized participant (what call processing announced). */
struct kd_entry {
	struct kd_conf *conf;
	char participant[PERC_KD_MAX_ID];
	uint8_t fp[32];                   /**< SHA-256 of its DTLS certificate */
	uint8_t tls_id[KD_MAX_TLS_ID];
	uint8_t tls_id_len;
	bool joined;                      /**< holds the conference's EKT key */
	void *link;                       /**< the association (network side) */
	uint8_t uuid[16];                 /**< association id while linked */
	uint16_t acked_spi;
	uint64_t joined_ms;
	struct kd_entry *next;
};

struct kd_conf {
	char name[KD_MAX_CONF_NAME];
	uint8_t *key;                     /**< KD_EKT_KEY_LEN bytes in the arena */
	uint8_t *salt;                    /**< KD_SALT_LEN bytes in the arena */
	bool have_key;                    /**< some member holds key */
	uint16_t spi;                     /**< SPI of key (valid when have_key) */
	uint32_t version;                 /**< roster version */
	unsigned int n_members;
	struct kd_entry *entries;
	struct kd_conf *next;
};

struct kd_rekey {
	char conf[KD_MAX_CONF_NAME];
	char participant[PERC_KD_MAX_ID];
	const char *cause;                /**< "join" | "leave" */
	uint16_t spi;
	uint32_t version;
	uint64_t time_ms;
};

/** What the roster asks of the network side. link is kd_entry.link. */
struct kd_ops {
	/** Send EKT_KEY. */
	void (*send_key)(void *ctx, void *link, const uint8_t *key, size_t key_len,
			 const uint8_t *salt, size_t salt_len, uint16_t spi, uint32_t ttl,
			 const struct perc_kd_roster *r);
	/** Send EKT_STEP. */
	void (*send_step)(void *ctx, void *link, uint16_t spi, const struct perc_kd_roster *r);
	/** The entry was revoked while joined: send ERROR code/text and close
	 *  the association (the entry is gone when this returns). */
	void (*drop)(void *ctx, void *link, uint16_t code, const char *text);
	void *ctx;
};

/** Key memory: one mmap'd region out of core dumps, locked where allowed. */
struct kd_arena {
	uint8_t *base;
	size_t size;
	uint8_t used[KD_ARENA_SLOTS];
};

struct kd {
	struct kd_arena arena;
	struct kd_conf *confs;
	struct kd_ops ops;
	struct kd_stats stats;
	struct kd_rekey *rekeys;          /**< ring of KD_REKEY_LOG */
	size_t n_rekeys;                  /**< total recorded (ring index mod) */
	uint32_t ekt_ttl;
	FILE *events;
	bool stopping;                    /**< exiting: leaves erase, no rekey */
	/** For tests: when set, replaces CLOCK_REALTIME milliseconds. */
	uint64_t (*now_ms)(void);
	/** For tests: replaces RAND_bytes. */
	int (*rand)(uint8_t *buf, size_t n);
};

/* ---- state.c ---- */
int kd_init(struct kd *kd, uint32_t ekt_ttl);
void kd_fini(struct kd *kd);
uint64_t kd_time_ms(const struct kd *kd);

uint8_t *kd_arena_alloc(struct kd *kd);
void kd_arena_free(struct kd *kd, uint8_t *slot);

/** stderr, one line with a UTC timestamp. Never pass key bytes. */
void kd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** One JSON line in the events file (when open). Strings may be NULL;
 *  spi < 0 and version < 0 are written as null. */
void kd_event(struct kd *kd, const char *event, const char *conf, const char *participant,
	      long spi, const char *cause, long long version, const char *reason);

struct kd_conf *kd_conf_find(struct kd *kd, const char *name);
struct kd_entry *kd_entry_find(struct kd *kd, const char *conf, const char *participant);
struct kd_entry *kd_entry_by_tls_id(struct kd *kd, const uint8_t *id, size_t len);

/** Announce a participant. Returns 0 or -1 with err filled (what to do). */
int kd_authorize(struct kd *kd, const char *conf, const char *participant,
		 const uint8_t fp[32], const uint8_t *tls_id, size_t tls_id_len,
		 char *err, size_t errcap);
/** Remove a participant; a joined one leaves first (leave rekey) and its
 *  association is dropped. Returns 0 or -1 with err filled. */
int kd_revoke(struct kd *kd, const char *conf, const char *participant,
	      char *err, size_t errcap);
/** A verified endpoint joins: becomes a member, join rekey (EKT_STEP to
 *  the others, EKT_KEY to it). Returns 0 or -1 (no key memory). */
int kd_join(struct kd *kd, struct kd_entry *e, void *link, const uint8_t uuid[16]);
/** A member leaves (BYE, timeout, disconnect, close): leave rekey. Does
 *  nothing for an entry that is not joined. why is logged. */
void kd_leave(struct kd *kd, struct kd_entry *e, const char *why);

/** Roster of a conference's members, in join order of the entry list. */
void kd_roster(const struct kd_conf *c, struct perc_kd_roster *r);

/** Lowercase-insensitive "sha-256 AB:CD:..." parse; 0 or -1. */
int kd_fp_parse(const char *s, uint8_t fp[32]);
/** "sha-256 AB:CD:..." (uppercase); out needs 8 + 96 bytes. */
void kd_fp_format(const uint8_t fp[32], char *out, size_t cap);
/** 8-4-4-4-12 lowercase; out needs 37 bytes. */
void kd_uuid_format(const uint8_t uuid[16], char *out, size_t cap);

/* ---- api.c ---- */
/** Handle one request line (without the newline). Returns a malloc'd
 *  response line without a newline (free it). */
char *kd_api_handle(struct kd *kd, const char *line, size_t len);

/** Live counts the API reports that the roster does not know. */
struct kd_live {
	unsigned int tunnels;
	unsigned int associations;
};
/** Set by the network side; the API reads it for "stats". */
extern struct kd_live kd_live;

#endif
