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

/** How a key becomes arguments. */
enum mdd_config_kind {
	MDD_CONFIG_ARGS,      /**< EAL words, split on blanks (quotes group) */
	MDD_CONFIG_VAL,       /**< --key VALUE */
	MDD_CONFIG_LIST,      /**< --key V for every item of a list (commas or blanks) */
	MDD_CONFIG_FLAG,      /**< --key when true; true or false */
	MDD_CONFIG_LOGLEVEL,  /**< EAL --log-level=ITEM for every item of a list */
	MDD_CONFIG_SYSLOG,    /**< EAL --syslog=FACILITY */
};

/** A key of the file: its section, its long option, the default shown. */
struct mdd_config_key {
	const char *sect;
	const char *name;
	enum mdd_config_kind kind;
	const char *def;
};

/** A program's file: its keys and sections, and whether it has EAL arguments. */
struct mdd_config_schema {
	const char *prog;                /**< for the messages: "perc-mdd" */
	const struct mdd_config_key *keys;
	int n_keys;
	const char *const *sections;     /**< NULL-terminated */
	bool eal;                        /**< vector "prog EAL -- OPTIONS", else "prog OPTIONS" */
};

/** perc-mdd's: [eal] [dataplane] [control] [kd] [metrics] [logging]. */
extern const struct mdd_config_schema mdd_config_schema;

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
	const struct mdd_config_schema *schema;
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
 * The same for another program's schema. Without EAL (schema->eal false)
 * the vector is { prog, options... } and all of xargv are options.
 */
int mdd_config_load_schema(const struct mdd_config_schema *schema, const char *path,
			   const char *prog, int xargc, char **xargv, mdd_config_check_fn check,
			   struct mdd_config *c, char *err, size_t errlen);

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
