/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Known-answer data: the parser for the vector files (tests/vectors/, a copy
 * of shared/vectors/) and the self-test that checks every crypto path
 * against them. The files are compiled into the library so that
 * `perc-srtp selftest` runs anywhere.
 */
#ifndef PERC_KAT_H
#define PERC_KAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "srtp.h"

#define PERC_KAT_MAX_KV 24u

/** One [section] of a vector file: name and key = value pairs. */
struct perc_kat_section {
	const char *name;
	unsigned n;
	struct {
		const char *k;
		const char *v;
	} kv[PERC_KAT_MAX_KV];
};

/**
 * Parse a vector file held in text (modified in place: NULs are written).
 * '#' lines are comments. Returns the number of sections (at most max) or -1
 * on a line that is neither a section, a pair nor blank.
 */
int perc_kat_parse(char *text, struct perc_kat_section *secs, unsigned max);

/** Value of key in a section, or NULL. */
const char *perc_kat_get(const struct perc_kat_section *s, const char *key);

/** Embedded vector files, NULL-terminated: {name, text}. */
struct perc_kat_file {
	const char *name;   /**< e.g. "rfc7714.txt" */
	const char *text;
};
extern const struct perc_kat_file perc_kat_files[];
/** Embedded file by name, or NULL. */
const char *perc_kat_text(const char *name);

/** Decode hex (no separators) into out; returns bytes or -1 on bad hex or
 *  when it does not fit. */
long perc_hex_decode(const char *hex, uint8_t *out, size_t cap);
/** Encode n bytes as lowercase hex into out (2n+1 bytes). */
void perc_hex_encode(const uint8_t *in, size_t n, char *out);

/**
 * Check every crypto path of an engine against all embedded known-answer
 * data (KDF, RFC 7714 GCM, double SRTP send / receive / relay, EKT, key
 * wrap, tunnel codec). Prints one line per case to log (may be NULL).
 * Returns the number of failed cases.
 */
int perc_selftest(enum perc_arch arch, FILE *log);

#endif
