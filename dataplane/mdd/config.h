/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * perc-mdd's configuration file: an INI file with an [eal] section (the EAL
 * arguments) and a [dataplane] section (the application's long options),
 * turned into the command line `perc-mdd EAL-ARGS -- OPTIONS`.
 */
#ifndef MDD_CONFIG_H
#define MDD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/** Exit status for a bad configuration file (sysexits EX_CONFIG). */
#define MDD_EX_CONFIG 78

/** An argument vector built from a file (NULL-terminated). */
struct mdd_config {
	int argc;
	char **argv;
	int cap;
};

/**
 * Read path into c->argv = { prog, EAL args..., "--", options... }.
 * Returns 0, or -1 with "FILE:LINE: reason" in err.
 */
int mdd_config_load(const char *path, const char *prog, struct mdd_config *c, char *err,
		    size_t errlen);

void mdd_config_free(struct mdd_config *c);

#endif
