/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The provisioning file (`perc-mdd --provision FILE`): conferences, their
 * endpoints, addresses and hop-by-hop keys, as JSON. Parsed and validated in
 * full before anything is installed; a bad file is refused with the line,
 * column and reason. No DPDK here: the control thread turns the result into
 * dataplane tables.
 *
 * Format:
 * {"conferences": [{"id": "c1", "endpoints": [
 *    {"id": "a", "addr": "192.0.2.10:40000",
 *     "profile": "DOUBLE_AEAD_AES_128_GCM_AEAD_AES_128_GCM",
 *     "rx_key": "HEX", "rx_salt": "HEX", "tx_key": "HEX", "tx_salt": "HEX",
 *     "ssrcs": [1234]}]}]}
 * Optional per endpoint: "max_streams" (default PROV_DEFAULT_MAX_STREAMS),
 * "pt_map" ({"96": 100, ...}: payload types rewritten toward this endpoint),
 * "seq_offset" (0..65535 added to every SEQ sent to it), "marker" ("keep",
 * "clear" or "set"),
 * "rx_key_next" and "rx_salt_next" (together: the key the endpoint switches
 * to next; packets open with either, and the first one that opens with the
 * next key makes it current),
 * "ekt" (bool: packets carry an EKT field; default true for double
 * profiles, false for single ones, where true is refused). IPv6 addresses
 * are written "[2001:db8::1]:40000". "ssrcs" is required but may be [].
 * docs/provisioning.md describes every field, default and refusal.
 */
#ifndef MDD_PROVISION_H
#define MDD_PROVISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "perc/profile.h"

#define PROV_ID_MAX 64            /* bytes of an id, NUL included */
#define PROV_MAX_SSRCS 64         /* ssrcs listed per endpoint */
#define PROV_DEFAULT_MAX_STREAMS 16
#define PROV_MAX_STREAMS_LIMIT 1024

/** An IPv4 or IPv6 address and UDP port. */
struct prov_addr {
	int family;                /* AF_INET or AF_INET6 */
	uint8_t ip[16];            /* network order; IPv4 in the first 4 bytes */
	uint16_t port;             /* host order */
};

struct prov_endpoint {
	char id[PROV_ID_MAX];
	struct prov_addr addr;
	const struct perc_profile *profile;  /* as named (single or double) */
	/* hop-by-hop keys: for double profiles the outer halves */
	uint8_t rx_key[32], rx_salt[14];
	uint8_t tx_key[32], tx_salt[14];
	/* optional: the key the endpoint will send with next (a rekey in
	 * progress); the MDD opens with either and promotes it on first use */
	bool has_rx_next;
	uint8_t rx_key_next[32], rx_salt_next[14];
	/* optional rewrite of what the MDD sends TO this endpoint (RFC 8723
	 * §5.2: only PT, SEQ and the marker; originals go into the OHB) */
	bool rewrite;                        /* any of the three below */
	uint8_t pt_map[128];                 /* PT -> PT (identity unless "pt_map") */
	uint16_t seq_offset;                 /* added to SEQ ("seq_offset") */
	int8_t marker;                       /* -1 keep, 0 clear, 1 set ("marker") */
	uint8_t key_len, salt_len;           /* of one layer */
	uint32_t ssrcs[PROV_MAX_SSRCS];
	unsigned n_ssrcs;
	unsigned max_streams;
	bool ekt;
	int line;                            /* where it was defined */
};

struct prov_conference {
	char id[PROV_ID_MAX];
	struct prov_endpoint *endpoints;
	unsigned n_endpoints;
	int line;
};

struct prov {
	struct prov_conference *conferences;
	unsigned n_conferences;
	unsigned n_endpoints;                /* over all conferences */
};

/** Why a file was refused. msg is "FILE:LINE:COL: what: reason" (what
 *  names the conference or endpoint, e.g. `endpoint "b" of conference
 *  "c1"`), or "FILE: reason" when no position applies (file cannot be
 *  opened or is empty); a message too long for msg ends in "...". */
struct prov_error {
	int line;                  /* 1-based; 0 when none */
	int column;                /* 1-based, in characters; 0 when none */
	char msg[256];
};

/**
 * Parse and validate a provisioning file. Checks: JSON syntax; known keys
 * only; ids non-empty, unique (conference ids globally, endpoint ids within
 * their conference), at most PROV_ID_MAX-1 bytes of printable ASCII without
 * '"' or '\'; addresses parse, have a port, are neither unspecified nor
 * IPv4-mapped IPv6, and no two endpoints (in any conference) share one;
 * profile known; key and salt lengths those of one layer of the profile;
 * ssrcs 0..2^32-1, at most PROV_MAX_SSRCS, unique within a conference and at
 * most max_streams per endpoint; max_streams 1..PROV_MAX_STREAMS_LIMIT.
 * Lines and columns point at the value at fault (at the object for a
 * missing key). Returns 0 and fills p (release with prov_free), or -1,
 * fills err and leaves p empty (prov_free on it is harmless).
 */
int prov_load(const char *path, struct prov *p, struct prov_error *err);

/** The same from a string (tests); "<string>" stands for the file name. */
int prov_parse(const char *text, struct prov *p, struct prov_error *err);

/** Zeroize the keys and free everything prov_load allocated; leaves p
 *  empty, so a second call does nothing. */
void prov_free(struct prov *p);

/** Parse "a.b.c.d:port" or "[v6]:port" (numeric only, no zone; port
 *  1..65535); 0 or -1. Accepts what the provisioning file refuses for
 *  endpoints (0.0.0.0, [::], IPv4-mapped). */
int prov_parse_addr(const char *s, struct prov_addr *a);

/** Format an address as above into buf (at least 64 bytes); returns buf. */
const char *prov_format_addr(const struct prov_addr *a, char *buf, size_t len);

#endif
