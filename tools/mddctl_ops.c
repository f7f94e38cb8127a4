/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mddctl's operator verbs (docs/operations.md): conferences, endpoints,
 * metrics, conference-stats, streams, drain, limits, log-level,
 * stats-interval, capture. Each builds one request of perc-mdd's
 * operations ops.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mddctl_ops.h"

const char mddctl_ops_usage[] =
	"  conferences                   every conference with its endpoints (= list)\n"
	"  endpoints CONF                the endpoints of one conference with their packet\n"
	"                                counts and streams (= conference-stats CONF)\n"
	"  metrics                       every metric as JSON (what /metrics serves)\n"
	"  conference-stats ID           per endpoint and stream counts of a conference\n"
	"  streams CONF [ENDPOINT]       every stream (SSRC) of the conference or of one\n"
	"                                endpoint: packets, bytes, copies out, auth / replay /\n"
	"                                OHB failures, ROC and SEQ, milliseconds idle\n"
	"  drain [--deadline S]          refuse new conferences / endpoints; perc-mdd exits\n"
	"                                when no endpoint is left (or after S seconds)\n"
	"  drain --cancel                take new ones again\n"
	"  limits [--conferences N] [--endpoints N] [--pps N] [--busy-pct P]\n"
	"                                admission limits (0 = none); none given: show\n"
	"  log-level [TYPE LEVEL]        set rte_log level of TYPE (pattern, e.g.\n"
	"                                'perc.mdd.*') to emerg..debug; none: show\n"
	"  stats-interval [S]            summary line period (0 = off); none: show\n"
	"  capture start CONF ID --file F [--decrypted] [--max-packets N] [--max-seconds S]\n"
	"                                pcapng of one endpoint's packets (F absolute, in\n"
	"                                perc-mdd's --capture-dir; --decrypted: hop layer\n"
	"                                opened, E2E layer still sealed)\n"
	"  capture stop CONF ID          end it (the file is complete)\n"
	"  capture list                  running and ended captures\n";

static int
number(const char *s, double max, double *v)
{
	char *end;

	*v = strtod(s, &end);
	return *end != '\0' || end == s || *v < 0 || *v > max ? -1 : 0;
}

static json_t *
limits(int argc, char **argv, const char **why)
{
	static const struct {
		const char *opt, *key;
		double max;
	} lo[] = {
		{ "--conferences", "conferences", 4294967295.0 },
		{ "--endpoints", "endpoints", 4294967295.0 },
		{ "--pps", "pps", 1e15 },
		{ "--busy-pct", "busy_pct", 100 },
	};
	json_t *o = json_pack("{s:s}", "op", "limits");

	*why = "limits [--conferences N] [--endpoints N] [--pps N] [--busy-pct P]: whole "
	       "numbers >= 0 (0 = no limit), busy-pct <= 100";
	for (int i = 1; i < argc; i += 2) {
		size_t k;
		double v;

		for (k = 0; k < sizeof(lo) / sizeof(lo[0]); k++)
			if (strcmp(argv[i], lo[k].opt) == 0)
				break;
		if (k == sizeof(lo) / sizeof(lo[0]) || i + 1 >= argc ||
		    number(argv[i + 1], lo[k].max, &v) != 0 || v != (double)(long long)v) {
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, lo[k].key, json_integer((json_int_t)v));
	}
	return o;
}

static json_t *
capture(int argc, char **argv, const char **why)
{
	json_t *o;
	double v;

	*why = "capture start CONF ID --file ABSOLUTE_PATH [--decrypted] [--max-packets N] "
	       "[--max-seconds S] | capture stop CONF ID | capture list";
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return json_pack("{s:s}", "op", "capture_list");
	if (argc == 4 && strcmp(argv[1], "stop") == 0)
		return json_pack("{s:s,s:s,s:s}", "op", "capture_stop", "conference", argv[2], "id",
				 argv[3]);
	if (argc < 4 || strcmp(argv[1], "start") != 0)
		return NULL;
	o = json_pack("{s:s,s:s,s:s}", "op", "capture_start", "conference", argv[2], "id",
		      argv[3]);
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--decrypted") == 0) {
			json_object_set_new(o, "decrypted", json_true());
		} else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc) {
			json_object_set_new(o, "file", json_string(argv[++i]));
		} else if (strcmp(argv[i], "--max-packets") == 0 && i + 1 < argc &&
			   number(argv[i + 1], 1e15, &v) == 0 && v == (double)(long long)v) {
			json_object_set_new(o, "max_packets", json_integer((json_int_t)v));
			i++;
		} else if (strcmp(argv[i], "--max-seconds") == 0 && i + 1 < argc &&
			   number(argv[i + 1], 86400, &v) == 0) {
			json_object_set_new(o, "max_seconds", json_real(v));
			i++;
		} else {
			json_decref(o);
			return NULL;
		}
	}
	if (json_object_get(o, "file") == NULL) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
mddctl_ops_build(int argc, char **argv, const char **why, int *mine)
{
	double v;

	*mine = 1;
	if (strcmp(argv[0], "metrics") == 0) {
		*why = "metrics takes no argument";
		return argc == 1 ? json_pack("{s:s}", "op", "metrics") : NULL;
	}
	if (strcmp(argv[0], "conferences") == 0) {
		*why = "conferences takes no argument";
		return argc == 1 ? json_pack("{s:s}", "op", "list") : NULL;
	}
	if (strcmp(argv[0], "conference-stats") == 0 || strcmp(argv[0], "endpoints") == 0) {
		*why = strcmp(argv[0], "endpoints") == 0 ? "endpoints CONF" : "conference-stats ID";
		return argc == 2 ? json_pack("{s:s,s:s}", "op", "conference_stats", "id", argv[1])
				 : NULL;
	}
	if (strcmp(argv[0], "streams") == 0) {
		*why = "streams CONF [ENDPOINT]";
		if (argc == 2)
			return json_pack("{s:s,s:s}", "op", "streams", "conference", argv[1]);
		if (argc == 3)
			return json_pack("{s:s,s:s,s:s}", "op", "streams", "conference", argv[1],
					 "endpoint", argv[2]);
		return NULL;
	}
	if (strcmp(argv[0], "drain") == 0) {
		*why = "drain [--deadline SECONDS] | drain --cancel";
		if (argc == 1)
			return json_pack("{s:s}", "op", "drain");
		if (argc == 2 && strcmp(argv[1], "--cancel") == 0)
			return json_pack("{s:s,s:b}", "op", "drain", "cancel", 1);
		if (argc == 3 && strcmp(argv[1], "--deadline") == 0 &&
		    number(argv[2], 604800, &v) == 0)
			return json_pack("{s:s,s:f}", "op", "drain", "deadline_s", v);
		return NULL;
	}
	if (strcmp(argv[0], "limits") == 0)
		return limits(argc, argv, why);
	if (strcmp(argv[0], "log-level") == 0) {
		*why = "log-level [TYPE LEVEL] (LEVEL: emerg alert crit err warning notice info "
		       "debug)";
		if (argc == 1)
			return json_pack("{s:s}", "op", "log_level");
		if (argc == 3)
			return json_pack("{s:s,s:s,s:s}", "op", "log_level", "type", argv[1], "level",
					 argv[2]);
		return NULL;
	}
	if (strcmp(argv[0], "stats-interval") == 0) {
		*why = "stats-interval [SECONDS] (0..3600; 0 = off)";
		if (argc == 1)
			return json_pack("{s:s}", "op", "stats_interval");
		if (argc == 2 && number(argv[1], 3600, &v) == 0)
			return json_pack("{s:s,s:f}", "op", "stats_interval", "seconds", v);
		return NULL;
	}
	if (strcmp(argv[0], "capture") == 0)
		return capture(argc, argv, why);
	*mine = 0;
	return NULL;
}
