/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * perc-mdd's configuration file (docs/configuration.md): an INI file with
 * the sections [eal], [dataplane], [control], [kd], [metrics] and [logging],
 * whose keys are perc-mdd's long options without the leading dashes. The
 * file and the rest of the command line become the vector
 * `perc-mdd EAL-ARGS -- OPTIONS`, so the file and the command line mean
 * exactly the same and go through the same parser.
 */
#ifndef MDD_CONFIG_H
#define MDD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/** Exit status for a bad configuration file (sysexits EX_CONFIG). */
#define MDD_EX_CONFIG 78

/** One key = value line of the file. */
struct mdd_config_entry {
	int key;          /**< index into the key table */
	int line;         /**< line number in the file */
	char *val;
	bool overridden;  /**< the command line gives this option too */
};

/** An argument vector built from a file (NULL-terminated) and the lines it came from. */
struct mdd_config {
	int argc;
	char **argv;
	int cap;
	const char *path;
	struct mdd_config_entry *ent;
	int n_ent;
	int xargc;        /**< the command line after --config FILE */
	char **xargv;
};

/**
 * Checks one application option as the command line would, with the file's
 * value: opt is the long option with its dashes ("--port"), val its value
 * (NULL for a flag). Returns 0, or -1 with the reason in err.
 */
typedef int (*mdd_config_check_fn)(const char *opt, const char *val, char *err, size_t errlen);

/**
 * Read path into c->argv = { prog, EAL args..., "--", options... }.
 * xargv (xargc entries) is the command line after "--config FILE":
 * EAL arguments, then optionally "--" and application options; an
 * application option given there replaces the file's key of the same name,
 * EAL arguments are appended after the file's. check (may be NULL) checks
 * every value of the file that is used. Returns 0, or -1 with
 * "FILE:LINE: reason" in err.
 */
int mdd_config_load(const char *path, const char *prog, int xargc, char **xargv,
		    mdd_config_check_fn check, struct mdd_config *c, char *err, size_t errlen);

/**
 * Whether s is HOST:PORT (IPv4, [IPv6] or, unless literal, a name; port
 * 1..65535). Returns 0, or -1 with the reason in err (what names the option).
 */
int mdd_config_hostport(const char *what, const char *s, bool literal, char *err,
			size_t errlen);

/** Print the effective settings, one "section.key = value  (origin)" a line. */
void mdd_config_summary(const struct mdd_config *c, FILE *out);

void mdd_config_free(struct mdd_config *c);

#endif
