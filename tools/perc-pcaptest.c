/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-pcaptest: test traffic for perc-mdd. `gen` writes conferences, keys
 * and a pcap of endpoint media; `check` judges the pcap a Media Distributor
 * wrote; `forward` is the reference Media Distributor (the executable form
 * of the forwarding rules, and the oracle for perc-mdd's tests).
 * docs/pcaptest.md describes the files and the rules.
 */
#include <stdio.h>
#include <string.h>

#include "pcaptest/pcaptest.h"

static const char usage_text[] =
	"usage: perc-pcaptest COMMAND [options]\n"
	"\n"
	"commands:\n"
	"  gen      --dir DIR [options]            conferences, keys and in.pcap\n"
	"  check    --dir DIR --out OUT.pcap       judge what a Media Distributor wrote\n"
	"\n"
	"perc-pcaptest COMMAND --help describes each; docs/pcaptest.md the files\n"
	"and the rules. Exit status: 0 success, 1 failure (check: a problem\n"
	"found), 2 bad usage.\n";

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (cmd == NULL)
		return pt_usage_error(NULL, "no command given");
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_text, stdout);
		return PT_EX_OK;
	}
	/* each command parses argv[1..]; getopt names argv[0] in its messages */
	if (strcmp(cmd, "gen") == 0 || strcmp(cmd, "check") == 0 || strcmp(cmd, "forward") == 0) {
		static char name[32];

		snprintf(name, sizeof(name), "perc-pcaptest %s", cmd);
		argv[1] = name;
	}
	if (strcmp(cmd, "gen") == 0)
		return pt_cmd_gen(argc - 1, argv + 1);
	if (strcmp(cmd, "check") == 0)
		return pt_cmd_check(argc - 1, argv + 1);
	if (strcmp(cmd, "forward") == 0)
		return pt_cmd_forward(argc - 1, argv + 1);
	return pt_usage_error(NULL, "unknown command '%s'", cmd);
}
