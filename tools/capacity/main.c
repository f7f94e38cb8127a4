/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-capacity: how many cores, NIC ports and servers a PERC deployment
 * needs, from a scenario and a calibration measured on the target
 * hardware (docs/capacity.md).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "capacity.h"

#define CAP_DEFAULT_CALIB "perf/results/calibration.json"

static const char usage_text[] =
	"usage: perc-capacity --scenario FILE [--calibration FILE] [--format table|json]\n"
	"                     [--plot FILE.svg]\n"
	"       perc-capacity --point PAYLOAD:FANOUT [--calibration FILE] [--format table|json]\n"
	"\n"
	"Sizes a PERC Media Distributor deployment: ingress and egress packet and bit\n"
	"rates on the wire, worker cycles, cores, NIC ports and servers, the resource\n"
	"that runs out first and the headroom left on each.\n"
	"\n"
	"  --scenario FILE      deployment scenario, JSON or YAML (.yaml/.yml);\n"
	"                       examples in perf/scenarios/\n"
	"  --calibration FILE   cost model measured by perf/calibrate.sh\n"
	"                       (default " CAP_DEFAULT_CALIB ")\n"
	"  --format table|json  output on stdout (default table)\n"
	"  --plot FILE.svg      also write an SVG: utilisation per resource, and servers\n"
	"                       needed per resource as the load scales 0-3x\n"
	"  --point P:F          print the model's cycles per ingress and per egress packet\n"
	"                       at RTP payload P bytes and fan-out F (no scenario)\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: 0 planned, 1 an output could not be written, 2 bad usage,\n"
	"78 a bad scenario or calibration file (the message names file, line, field).\n"
	"docs/capacity.md describes the model, every overhead and both file formats.\n";

struct cap_opts {
	const char *scenario, *calibration, *plot;
	bool json, point;
	double payload, fanout;
};

static int __attribute__((format(printf, 1, 2)))
cap_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("perc-capacity: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see perc-capacity --help)\n", stderr);
	return CAP_EX_USAGE;
}

static int
cap_parse_point(const char *s, struct cap_opts *o)
{
	char *end;

	o->payload = strtod(s, &end);
	if (end == s || *end != ':' || !(o->payload >= 1 && o->payload <= 9000))
		return -1;
	s = end + 1;
	o->fanout = strtod(s, &end);
	if (end == s || *end != '\0' || !(o->fanout >= 0 && o->fanout <= 100000))
		return -1;
	o->point = true;
	return 0;
}

static int
cap_parse(int argc, char **argv, struct cap_opts *o)
{
	static const struct option lo[] = {
		{ "scenario", required_argument, NULL, 's' },
		{ "calibration", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "plot", required_argument, NULL, 'p' },
		{ "point", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->calibration = CAP_DEFAULT_CALIB;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 's': o->scenario = optarg; break;
		case 'c': o->calibration = optarg; break;
		case 'p': o->plot = optarg; break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				o->json = true;
			else if (strcmp(optarg, "table") != 0)
				return cap_usage("--format '%s': use table or json", optarg);
			break;
		case 'P':
			if (cap_parse_point(optarg, o) < 0)
				return cap_usage("--point '%s': use PAYLOAD:FANOUT, e.g. 1200:5 "
						 "(payload 1 to 9000 bytes)", optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(CAP_EX_OK);
		default:
			return cap_usage("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cap_usage("unexpected argument '%s'", argv[optind]);
	if (o->scenario == NULL && !o->point)
		return cap_usage("give --scenario FILE (or --point P:F)");
	if (o->plot) {
		const char *dot = strrchr(o->plot, '.');

		if (dot == NULL || strcasecmp(dot, ".svg") != 0)
			return cap_usage("--plot '%s': only SVG is written (name the file .svg); "
					 "convert it with any SVG tool if you need PNG", o->plot);
		if (o->point)
			return cap_usage("--plot goes with --scenario, not --point");
	}
	return CAP_EX_OK;
}

static int
cap_print_point(const struct cap_opts *o, const struct cap_calib *c)
{
	double in = cap_cycles_per_ingress(c, o->payload, o->fanout);
	double out = o->fanout > 0 ? in / o->fanout : 0;

	if (o->json) {
		json_t *j = json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:s, s:s}",
				      "payload", o->payload, "fanout", o->fanout,
				      "cycles_per_ingress", in, "cycles_per_egress", out,
				      "budget_hz", c->budget_hz,
				      "ingress_pps_per_core", in > 0 ? c->budget_hz / in : 0.0,
				      "egress_pps_per_core", out > 0 ? c->budget_hz / out : 0.0,
				      "cpu_model", c->cpu_model, "arch", c->arch);

		json_dumpf(j, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
		putchar('\n');
		json_decref(j);
	} else {
		printf("payload %g fan-out %g: %.1f cycles per ingress packet, %.1f per egress "
		       "packet (%s, %s)\n", o->payload, o->fanout, in, out, c->cpu_model, c->arch);
	}
	return CAP_EX_OK;
}

int
main(int argc, char **argv)
{
	static struct cap_scenario sc;
	static struct cap_calib cal;
	static struct cap_plan plan;
	struct cap_opts o;
	char err[1024];
	int rc = cap_parse(argc, argv, &o);

	if (rc != CAP_EX_OK)
		return rc;
	if (cap_calib_load(o.calibration, &cal, err, sizeof(err)) < 0) {
		fprintf(stderr, "perc-capacity: calibration %s\n", err);
		if (access(o.calibration, R_OK) != 0)
			fprintf(stderr, "perc-capacity: make one on the target hardware with "
				"perf/calibrate.sh (docs/capacity.md), or give --calibration FILE\n");
		return CAP_EX_CONFIG;
	}
	if (o.point)
		return cap_print_point(&o, &cal);
	if (cap_scenario_load(o.scenario, &sc, err, sizeof(err)) < 0) {
		fprintf(stderr, "perc-capacity: scenario %s\n", err);
		return CAP_EX_CONFIG;
	}
	cap_plan(&sc, &cal, &plan);
	if (o.json) {
		json_t *j = cap_plan_json(&sc, &cal, &plan);

		json_object_set_new(j, "scenario_file", json_string(o.scenario));
		json_object_set_new(j, "calibration_file", json_string(o.calibration));
		if (json_dumpf(j, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(10)) < 0)
			rc = CAP_EX_FAIL;
		putchar('\n');
		json_decref(j);
	} else {
		cap_plan_table(stdout, &sc, &cal, &plan);
	}
	if (o.plot && cap_plan_svg(o.plot, &sc, &cal, &plan) < 0) {
		fprintf(stderr, "perc-capacity: cannot write %s: check the folder exists and is "
			"writable\n", o.plot);
		rc = CAP_EX_FAIL;
	}
	if (fflush(stdout) != 0)
		rc = CAP_EX_FAIL;
	return rc;
}
