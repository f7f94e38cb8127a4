/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-capacity: the plan as a table, as JSON and as an SVG plot. Every
 * form carries the calibration's host facts (CPU model and frequency,
 * ipsec-mb version and architecture, DPDK version, git commit), because
 * a plan is only as good as the hardware it was measured on.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "capacity.h"

#ifndef PERC_GIT_COMMIT
#define PERC_GIT_COMMIT "unknown"
#endif

static const char *const cap_units[CAP_RES_N] = { "cycles/s", "bit/s", "bit/s" };

static json_t *
cap_host_json(const struct cap_calib *c)
{
	return json_pack("{s:s, s:f, s:f, s:f, s:i, s:s, s:s, s:s, s:s, s:s}",
			 "cpu_model", c->cpu_model, "tsc_hz", c->tsc_hz, "nominal_hz", c->nominal_hz,
			 "budget_hz", c->budget_hz,
			 "cpus", (int)c->cpus, "ipsec_mb", c->ipsec_mb, "arch", c->arch,
			 "dpdk", c->dpdk, "git_commit", c->git_commit, "date", c->date);
}

static json_t *
cap_curves_json(const struct cap_calib *c)
{
	json_t *a = json_array();
	unsigned i, k;

	for (i = 0; i < c->n_curves; i++) {
		json_t *f = json_array(), *y = json_array();

		for (k = 0; k < c->curves[i].n; k++) {
			json_array_append_new(f, json_real(c->curves[i].fanout[k]));
			json_array_append_new(y, json_real(c->curves[i].cycles[k]));
		}
		json_array_append_new(a, json_pack("{s:f, s:o, s:o}", "payload",
						   c->curves[i].payload, "fanout", f,
						   "cycles_per_ingress", y));
	}
	return a;
}

static json_t *
cap_flows_json(const struct cap_rates *r)
{
	json_t *a = json_array();
	unsigned i;

	for (i = 0; i < r->n_flows; i++) {
		const struct cap_flow *f = &r->flows[i];

		json_array_append_new(a, json_pack(
			"{s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
			"name", f->name, "payload_bytes", f->payload,
			"header_extension_bytes", f->hdr_ext, "wire_bytes", f->wire_bytes,
			"ingress_pps", f->ingress_pps, "egress_pps", f->egress_pps,
			"ingress_bps", f->ingress_pps * f->wire_bytes * 8,
			"egress_bps", f->egress_pps * f->wire_bytes * 8,
			"mean_fanout", f->ingress_pps > 0 ? f->egress_pps / f->ingress_pps : 0.0,
			"cycles_per_s", f->cycles_per_s));
	}
	return a;
}

/* the scenario's traffic mix on one worker core: cycles per ingress and
 * egress packet (cycles/s over pps) and the packet rates one core's budget
 * carries at 100 % busy; what perf/check_prediction_ndr.sh compares with
 * the harness (0 when the scenario has no traffic) */
static json_t *
cap_per_core_json(const struct cap_calib *c, const struct cap_plan *p)
{
	double in = p->rates.ingress_pps, out = p->rates.egress_pps, cyc = p->cycles_per_s;
	double cpi = in > 0 ? cyc / in : 0, cpe = out > 0 ? cyc / out : 0;

	return json_pack("{s:f, s:f, s:f, s:f, s:f}", "cycles_per_ingress", cpi,
			 "cycles_per_egress", cpe, "budget_hz", c->budget_hz,
			 "ingress_pps", cpi > 0 ? c->budget_hz / cpi : 0.0,
			 "egress_pps", cpe > 0 ? c->budget_hz / cpe : 0.0);
}

json_t *
cap_plan_json(const struct cap_scenario *sc, const struct cap_calib *c,
	      const struct cap_plan *p)
{
	json_t *res = json_object(), *by = json_object(), *pc = cap_per_core_json(c, p);
	double conf = 0;
	unsigned i;

	for (i = 0; i < sc->n_groups; i++)
		conf += sc->groups[i].count;

	for (i = 0; i < CAP_RES_N; i++) {
		json_object_set_new(res, cap_resource_name(i), json_pack(
			"{s:f, s:s, s:f, s:f, s:f, s:I}", "load", p->load[i], "unit", cap_units[i],
			"capacity", p->capacity[i], "utilisation", p->utilisation[i],
			"headroom_left", p->headroom_left[i], "servers_needed",
			(json_int_t)p->servers_by[i]));
		json_object_set_new(by, cap_resource_name(i), json_integer(p->servers_by[i]));
	}
	return json_pack(
		"{s:s, s:i, s:s, s:{s:s, s:f, s:f, s:i, s:i, s:f},"
		" s:o, s:o, s:o,"
		" s:{s:f, s:f, s:f}, s:{s:f, s:f, s:f}, s:f,"
		" s:f, s:f, s:I, s:I, s:I, s:o, s:o, s:s, s:f, s:f, s:f,"
		" s:{s:i, s:f, s:b}, s:o}",
		"tool", "perc-capacity", "format", 1, "git_commit", PERC_GIT_COMMIT,
		"scenario", "name", sc->name, "headroom", sc->headroom, "nic_gbps", sc->nic_gbps,
		"ports_per_server", (int)sc->ports_per_server,
		"worker_cores_per_server", (int)sc->cores_per_server,
		"conferences", conf,
		"host", cap_host_json(c), "cost_model", cap_curves_json(c),
		"flows", cap_flows_json(&p->rates),
		"ingress", "pps", p->rates.ingress_pps, "bps", p->rates.ingress_bps,
		"payload_bps", p->rates.ingress_payload_bps,
		"egress", "pps", p->rates.egress_pps, "bps", p->rates.egress_bps,
		"payload_bps", p->rates.egress_payload_bps,
		"streams", p->rates.streams,
		"cycles_per_s", p->cycles_per_s, "cores_exact", p->cores_exact,
		"cores", (json_int_t)p->cores, "nic_ports", (json_int_t)p->ports,
		"servers", (json_int_t)p->servers,
		"servers_by", by, "resources", res,
		"first_out", cap_resource_name(p->first_out),
		"scale_to_target", isfinite(p->scale_to_target) ? p->scale_to_target : 0.0,
		"streams_per_server", p->streams_per_server,
		"calibrated_streams_max", c->max_streams,
		"largest_conference", "size", (int)p->largest_size,
		"utilisation_of_one_server", p->largest_util, "fits", p->largest_fits,
		"per_core", pc);
}

/* 1234567 -> "1.23 M" */
static const char *
cap_si(char *buf, size_t n, double v)
{
	static const char *const pfx[] = { "", "k", "M", "G", "T" };
	unsigned i = 0;

	while (fabs(v) >= 1000 && i < 4) {
		v /= 1000;
		i++;
	}
	snprintf(buf, n, "%.3g %s", v, pfx[i]);
	return buf;
}

void
cap_plan_table(FILE *f, const struct cap_scenario *sc, const struct cap_calib *c,
	       const struct cap_plan *p)
{
	char b1[32], b2[32], b3[32], b4[32], b5[32];
	double conf = 0;
	unsigned i;

	for (i = 0; i < sc->n_groups; i++)
		conf += sc->groups[i].count;
	fprintf(f, "scenario     %s: %g conferences, %.0f sending streams\n", sc->name, conf,
		p->rates.streams);
	fprintf(f, "server       %u worker cores, %u x %g Gbit/s ports, headroom kept %.0f%%\n",
		sc->cores_per_server, sc->ports_per_server, sc->nic_gbps, 100 * sc->headroom);
	fprintf(f, "calibration  %s, TSC %.4f GHz, budget %.4f GHz/core; ipsec-mb %s (%s); %s; "
		"git %s; %s\n", c->cpu_model, c->tsc_hz / 1e9, c->budget_hz / 1e9, c->ipsec_mb,
		c->arch, c->dpdk, c->git_commit, c->date);
	fprintf(f, "perc-capacity git %s\n\n", PERC_GIT_COMMIT);
	fprintf(f, "%-10s %7s %5s %6s %11s %11s %7s %11s %11s %10s\n", "flow", "payload",
		"ext", "wire B", "ingress pps", "egress pps", "fan-out", "ingress b/s",
		"egress b/s", "cycles/s");
	for (i = 0; i < p->rates.n_flows; i++) {
		const struct cap_flow *fl = &p->rates.flows[i];

		fprintf(f, "%-10s %7.0f %5.0f %6.0f %11s %11s %7.2f %11s %11s %10s\n", fl->name,
			fl->payload, fl->hdr_ext, fl->wire_bytes, cap_si(b1, 32, fl->ingress_pps),
			cap_si(b2, 32, fl->egress_pps),
			fl->ingress_pps > 0 ? fl->egress_pps / fl->ingress_pps : 0,
			cap_si(b3, 32, fl->ingress_pps * fl->wire_bytes * 8),
			cap_si(b4, 32, fl->egress_pps * fl->wire_bytes * 8),
			cap_si(b5, 32, fl->cycles_per_s));
	}
	fprintf(f, "%-10s %7s %5s %6s %11s %11s %7s %11s %11s %10s\n\n", "total", "", "", "",
		cap_si(b1, 32, p->rates.ingress_pps), cap_si(b2, 32, p->rates.egress_pps), "",
		cap_si(b3, 32, p->rates.ingress_bps), cap_si(b4, 32, p->rates.egress_bps),
		cap_si(b5, 32, p->cycles_per_s));
	fprintf(f, "needed       %u cores (%.2f busy), %u NIC ports, %u server(s)\n", p->cores,
		p->cores_exact, p->ports, p->servers);
	fprintf(f, "%-12s %14s %14s %7s %9s %8s\n", "resource", "load", "capacity", "used",
		"headroom", "servers");
	for (i = 0; i < CAP_RES_N; i++)
		fprintf(f, "%-12s %14s %14s %6.1f%% %8.1f%% %8u%s\n", cap_resource_name(i),
			cap_si(b1, 32, p->load[i]), cap_si(b2, 32, p->capacity[i]),
			100 * p->utilisation[i], 100 * p->headroom_left[i], p->servers_by[i],
			i == p->first_out ? "  <- runs out first" : "");
	fprintf(f, "first out    %s; the load can grow %.2fx before it reaches %.0f%% on %u "
		"server(s)\n", cap_resource_name(p->first_out), p->scale_to_target,
		100 * (1 - sc->headroom), p->servers);
	fprintf(f, "largest      conference of %u uses %.1f%% of one server%s\n", p->largest_size,
		100 * p->largest_util, p->largest_fits ? "" :
		": MORE than one server may carry with the headroom (no cascading is modelled)");
	if (p->streams_beyond)
		fprintf(f, "note         %.0f streams per server, the calibration measured at most %.0f: "
			"larger tables cost more (cache misses); see bench_pipeline's streams rows "
			"and docs/capacity.md, Limitations\n", p->streams_per_server, c->max_streams);
}

/* ---- SVG ---- */

static const char *const cap_colours[CAP_RES_N] = { "#d62728", "#1f77b4", "#2ca02c" };

static void
cap_svg_bars(FILE *f, const struct cap_scenario *sc, const struct cap_plan *p)
{
	double x0 = 60, y0 = 60, w = 280, h = 240, top = 1.0, bw = w / CAP_RES_N;
	unsigned i;

	for (i = 0; i < CAP_RES_N; i++)
		if (p->utilisation[i] > top)
			top = p->utilisation[i];
	fprintf(f, "<text x='%g' y='40' font-size='14'>utilisation of %u server(s)</text>\n",
		x0, p->servers);
	fprintf(f, "<rect x='%g' y='%g' width='%g' height='%g' fill='none' stroke='#000'/>\n",
		x0, y0, w, h);
	for (i = 0; i <= 4; i++) {
		double y = y0 + h - h * (i * 0.25) / top;

		fprintf(f, "<text x='%g' y='%g' font-size='11' text-anchor='end'>%d%%</text>\n",
			x0 - 4, y + 4, i * 25);
	}
	for (i = 0; i < CAP_RES_N; i++) {
		double bh = h * p->utilisation[i] / top;

		fprintf(f, "<rect x='%g' y='%g' width='%g' height='%g' fill='%s'/>\n",
			x0 + i * bw + 15, y0 + h - bh, bw - 30, bh, cap_colours[i]);
		fprintf(f, "<text x='%g' y='%g' font-size='11' text-anchor='middle'>%s %.1f%%"
			"</text>\n", x0 + i * bw + bw / 2, y0 + h + 16, cap_resource_name(i),
			100 * p->utilisation[i]);
	}
	double ty = y0 + h - h * (1 - sc->headroom) / top;

	fprintf(f, "<line x1='%g' y1='%g' x2='%g' y2='%g' stroke='#000' stroke-dasharray='6,4'/>"
		"\n<text x='%g' y='%g' font-size='11'>target %.0f%%</text>\n", x0, ty, x0 + w, ty,
		x0 + 4, ty - 4, 100 * (1 - sc->headroom));
}

static void
cap_svg_scale(FILE *f, const struct cap_scenario *sc, const struct cap_plan *p)
{
	double x0 = 420, y0 = 60, w = 300, h = 240, kmax = 3, keep = 1 - sc->headroom;
	double per[CAP_RES_N], smax = 1;
	unsigned i, s;
	int k;

	for (i = 0; i < CAP_RES_N; i++) {
		per[i] = p->capacity[i] / p->servers;
		s = (unsigned)ceil(kmax * p->load[i] / (per[i] * keep) - 1e-9);
		if (s > smax)
			smax = s;
	}
	fprintf(f, "<text x='%g' y='40' font-size='14'>servers needed as the load scales</text>\n",
		x0);
	fprintf(f, "<rect x='%g' y='%g' width='%g' height='%g' fill='none' stroke='#000'/>\n",
		x0, y0, w, h);
	for (k = 0; k <= 3; k++)
		fprintf(f, "<text x='%g' y='%g' font-size='11' text-anchor='middle'>%dx</text>\n",
			x0 + w * k / kmax, y0 + h + 16, k);
	fprintf(f, "<text x='%g' y='%g' font-size='11' text-anchor='end'>%.0f</text>\n"
		"<text x='%g' y='%g' font-size='11' text-anchor='end'>0</text>\n",
		x0 - 4, y0 + 4, smax, x0 - 4, y0 + h);
	for (i = 0; i < CAP_RES_N; i++) {
		fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='2' points='",
			cap_colours[i]);
		for (k = 0; k <= 300; k++) {
			double sc_k = kmax * k / 300.0;
			double n = ceil(sc_k * p->load[i] / (per[i] * keep) - 1e-9);

			fprintf(f, "%.1f,%.1f ", x0 + w * sc_k / kmax, y0 + h - h * n / smax);
		}
		fprintf(f, "'/>\n<text x='%g' y='%g' font-size='11' fill='%s'>%s</text>\n",
			x0 + 8, y0 + 16 + 14 * i, cap_colours[i], cap_resource_name(i));
	}
	fprintf(f, "<line x1='%g' y1='%g' x2='%g' y2='%g' stroke='#888' stroke-dasharray='3,3'/>\n",
		x0 + w / kmax, y0, x0 + w / kmax, y0 + h);
}

/* text for an SVG text node: & < > escaped */
static void
cap_svg_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else
			fputc(*s, f);
	}
}

int
cap_plan_svg(const char *path, const struct cap_scenario *sc, const struct cap_calib *c,
	     const struct cap_plan *p)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL)
		return -1;
	fprintf(f, "<?xml version='1.0' encoding='UTF-8'?>\n<svg xmlns='http://www.w3.org/2000/"
		"svg' width='760' height='360' font-family='sans-serif'>\n"
		"<rect width='100%%' height='100%%' fill='#fff'/>\n");
	cap_svg_bars(f, sc, p);
	cap_svg_scale(f, sc, p);
	fprintf(f, "<text x='20' y='345' font-size='10'>");
	cap_svg_text(f, sc->name);
	fputs(" | ", f);
	cap_svg_text(f, c->cpu_model);
	fprintf(f, ", budget %.3f GHz/core, ipsec-mb ", c->budget_hz / 1e9);
	cap_svg_text(f, c->ipsec_mb);
	fputs(" (", f);
	cap_svg_text(f, c->arch);
	fputs("), ", f);
	cap_svg_text(f, c->dpdk);
	fputs(", calibration git ", f);
	cap_svg_text(f, c->git_commit);
	fprintf(f, ", perc-capacity git %s</text>\n</svg>\n", PERC_GIT_COMMIT);
	rc = ferror(f) ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}
