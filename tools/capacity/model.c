/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-capacity: the arithmetic (docs/capacity.md, "The model"). No I/O:
 * the unit test checks every function here on hand-computed cases.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity.h"

/* a ceiling that does not turn 3.0000000001 (rounding noise) into 4, and
 * saturates instead of overflowing on absurd scenarios */
static unsigned
cap_ceil(double x)
{
	if (!(x > 0))
		return 0;
	if (x >= (double)UINT_MAX)
		return UINT_MAX;
	return (unsigned)ceil(x - 1e-9);
}

static double
cap_min(double a, double b)
{
	return a < b ? a : b;
}

const char *
cap_resource_name(enum cap_resource r)
{
	switch (r) {
	case CAP_RES_CPU: return "cpu";
	case CAP_RES_NIC_IN: return "nic_ingress";
	case CAP_RES_NIC_OUT: return "nic_egress";
	default: return "?";
	}
}

double
cap_wire_bytes(double payload, double hdr_ext)
{
	double srtp = CAP_RTP + hdr_ext + payload + CAP_OHB + CAP_SRTP_TAGS + CAP_EKT_SHORT;
	double frame = CAP_ETH_HEADER + CAP_IPV4 + CAP_UDP + srtp + CAP_ETH_FCS;

	if (frame < CAP_ETH_MIN_FRAME)
		frame = CAP_ETH_MIN_FRAME;
	return frame + CAP_ETH_PREAMBLE_SFD + CAP_ETH_IFG;
}

int
cap_stream_complete(struct cap_stream *s)
{
	int have = (s->bitrate > 0) + (s->pps > 0) + (s->payload > 0);

	if (have < 2)
		return -1;
	if (s->payload <= 0)
		s->payload = s->bitrate / 8.0 / s->pps;
	else if (s->pps <= 0)
		s->pps = s->bitrate / 8.0 / s->payload;
	else if (s->bitrate <= 0)
		s->bitrate = s->payload * 8.0 * s->pps;
	return 0;
}

/* the flow of one class, found by name or appended */
static struct cap_flow *
cap_flow_get(struct cap_rates *r, const char *name, const struct cap_stream *s)
{
	unsigned i;

	for (i = 0; i < r->n_flows; i++)
		if (strcmp(r->flows[i].name, name) == 0)
			return &r->flows[i];
	if (r->n_flows == CAP_MAX_FLOWS)
		return NULL;
	struct cap_flow *f = &r->flows[r->n_flows++];

	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->payload = s->payload;
	f->hdr_ext = s->hdr_ext;
	f->wire_bytes = cap_wire_bytes(s->payload, s->hdr_ext);
	return f;
}

static void
cap_add(struct cap_rates *r, const char *name, const struct cap_stream *s,
	double in_pps, double out_pps, double streams)
{
	struct cap_flow *f;

	if (in_pps <= 0 && out_pps <= 0)
		return;
	f = cap_flow_get(r, name, s);
	if (f == NULL)
		return;
	f->ingress_pps += in_pps;
	f->egress_pps += out_pps;
	r->streams += streams;
}

/* streams one receiver gets: min(limit, available); limit 0 = all */
static double
cap_received(unsigned limit, double available)
{
	if (available <= 0)
		return 0;
	return limit == 0 ? available : cap_min(limit, available);
}

/* of r received video streams, those at the top layer (limit 0 = all) */
static double
cap_top(unsigned limit, double r)
{
	return limit == 0 ? r : cap_min(limit, r);
}

static void
cap_rates_video(const struct cap_scenario *sc, double s, double count, struct cap_rates *out)
{
	double v = round(sc->video_senders * s);
	double r_snd, r_non, top, low;
	unsigned l, hi = sc->n_layers - 1;
	char name[24];

	if (v > s)
		v = s;
	if (v <= 0)
		return;
	/* a sender does not receive itself; others see all v senders */
	r_snd = cap_received(sc->video_receive, v - 1);
	r_non = cap_received(sc->video_receive, v);
	top = v * cap_top(sc->video_top, r_snd) + (s - v) * cap_top(sc->video_top, r_non);
	low = v * r_snd + (s - v) * r_non - top;
	for (l = 0; l < sc->n_layers; l++) {
		double copies = 0;

		if (l == hi)
			copies += top;
		if (l == 0)
			copies += low;
		snprintf(name, sizeof(name), "video L%u", l);
		cap_add(out, name, &sc->layers[l], count * v * sc->layers[l].pps,
			count * copies * sc->layers[l].pps, count * v);
	}
}

void
cap_rates_conference(const struct cap_scenario *sc, unsigned size, double count,
		     struct cap_rates *out)
{
	double s = size;

	if (size < 2 || count <= 0)
		return;
	/* audio: everyone sends, each receives up to audio_receive others */
	cap_add(out, "audio", &sc->audio, count * s * sc->audio.pps,
		count * s * cap_received(sc->audio_receive, s - 1) * sc->audio.pps, count * s);
	if (sc->video && sc->n_layers > 0)
		cap_rates_video(sc, s, count, out);
	/* screen share: one sender, every other participant receives it */
	if (sc->screen_share > 0)
		cap_add(out, "screen", &sc->screen, count * sc->screen_share * sc->screen.pps,
			count * sc->screen_share * (s - 1) * sc->screen.pps,
			count * sc->screen_share);
}

/* totals over the flows */
static void
cap_rates_sum(struct cap_rates *r)
{
	unsigned i;

	r->ingress_pps = r->egress_pps = 0;
	r->ingress_bps = r->egress_bps = 0;
	r->ingress_payload_bps = r->egress_payload_bps = 0;
	for (i = 0; i < r->n_flows; i++) {
		const struct cap_flow *f = &r->flows[i];

		r->ingress_pps += f->ingress_pps;
		r->egress_pps += f->egress_pps;
		r->ingress_bps += f->ingress_pps * f->wire_bytes * 8;
		r->egress_bps += f->egress_pps * f->wire_bytes * 8;
		r->ingress_payload_bps += f->ingress_pps * f->payload * 8;
		r->egress_payload_bps += f->egress_pps * f->payload * 8;
	}
}

void
cap_rates_scenario(const struct cap_scenario *sc, struct cap_rates *out)
{
	unsigned g;

	memset(out, 0, sizeof(*out));
	for (g = 0; g < sc->n_groups; g++)
		cap_rates_conference(sc, sc->groups[g].size, sc->groups[g].count, out);
	cap_rates_sum(out);
}

/* ---- cost model ---- */

static int
cap_curve_cmp(const void *x, const void *y)
{
	const struct cap_curve *a = x, *b = y;

	return (a->payload > b->payload) - (a->payload < b->payload);
}

/* add a point to a curve: insertion in fan-out order, a repeated fan-out
 * averaged (counts kept in cnt) */
static int
cap_curve_add(struct cap_curve *k, unsigned cnt[CAP_MAX_CURVE], double f, double y)
{
	unsigned i, j;

	for (i = 0; i < k->n && k->fanout[i] < f; i++)
		;
	if (i < k->n && k->fanout[i] == f) {
		k->cycles[i] = (k->cycles[i] * cnt[i] + y) / (cnt[i] + 1);
		cnt[i]++;
		return 0;
	}
	if (k->n == CAP_MAX_CURVE)
		return -1;
	for (j = k->n; j > i; j--) {
		k->fanout[j] = k->fanout[j - 1];
		k->cycles[j] = k->cycles[j - 1];
		cnt[j] = cnt[j - 1];
	}
	k->fanout[i] = f;
	k->cycles[i] = y;
	cnt[i] = 1;
	k->n++;
	return 0;
}

int
cap_calib_fit(struct cap_calib *c, char *err, size_t errlen)
{
	static unsigned cnt[CAP_MAX_FITS][CAP_MAX_CURVE];
	unsigned i, j;

	c->n_curves = 0;
	for (i = 0; i < c->n_points; i++) {
		const struct cap_point *p = &c->points[i];

		for (j = 0; j < c->n_curves; j++)
			if (c->curves[j].payload == p->payload)
				break;
		if (j == c->n_curves) {
			if (c->n_curves == CAP_MAX_FITS) {
				snprintf(err, errlen, "more than %d distinct payloads: keep at most %d",
					 CAP_MAX_FITS, CAP_MAX_FITS);
				return -1;
			}
			memset(&c->curves[j], 0, sizeof(c->curves[j]));
			c->curves[j].payload = p->payload;
			c->n_curves++;
		}
		if (cap_curve_add(&c->curves[j], cnt[j], p->fanout, p->cycles_per_ingress) < 0) {
			snprintf(err, errlen, "more than %d distinct fan-outs at payload %g: keep at "
				 "most %d", CAP_MAX_CURVE, p->payload, CAP_MAX_CURVE);
			return -1;
		}
	}
	if (c->n_curves == 0) {
		snprintf(err, errlen, "no points: run perf/calibrate.sh");
		return -1;
	}
	for (j = 0; j < c->n_curves; j++)
		if (c->curves[j].n < 2) {
			snprintf(err, errlen, "payload %g has one fan-out (%g) but the model needs at "
				 "least two distinct fan-outs per payload: add points "
				 "(perf/calibrate.sh measures fan-out 1, 3, 10, 30)",
				 c->curves[j].payload, c->curves[j].fanout[0]);
			return -1;
		}
	qsort(c->curves, c->n_curves, sizeof(c->curves[0]), cap_curve_cmp);
	return 0;
}

double
cap_curve_eval(const struct cap_curve *k, double fanout, double *a, double *b)
{
	unsigned i = 0;
	double sb, sa;

	/* the segment that holds fanout, or the nearest end segment */
	while (i + 2 < k->n && fanout > k->fanout[i + 1])
		i++;
	sb = (k->cycles[i + 1] - k->cycles[i]) / (k->fanout[i + 1] - k->fanout[i]);
	sa = k->cycles[i] - sb * k->fanout[i];
	if (a)
		*a = sa;
	if (b)
		*b = sb;
	return sa + sb * fanout;
}

double
cap_cycles_per_ingress(const struct cap_calib *c, double payload, double fanout)
{
	unsigned i = 0;
	double lo, hi, y;

	if (c->n_curves == 1) {
		y = cap_curve_eval(&c->curves[0], fanout, NULL, NULL);
	} else {
		while (i + 2 < c->n_curves && payload > c->curves[i + 1].payload)
			i++;
		lo = cap_curve_eval(&c->curves[i], fanout, NULL, NULL);
		hi = cap_curve_eval(&c->curves[i + 1], fanout, NULL, NULL);
		y = lo + (hi - lo) * (payload - c->curves[i].payload) /
			 (c->curves[i + 1].payload - c->curves[i].payload);
	}
	return y > 0 ? y : 0;
}

double
cap_cycles_per_second(const struct cap_calib *c, struct cap_rates *r)
{
	double sum = 0;
	unsigned i;

	for (i = 0; i < r->n_flows; i++) {
		struct cap_flow *f = &r->flows[i];
		double fan = f->ingress_pps > 0 ? f->egress_pps / f->ingress_pps : 0;

		f->cycles_per_s = f->ingress_pps *
				  cap_cycles_per_ingress(c, f->payload + f->hdr_ext, fan);
		sum += f->cycles_per_s;
	}
	return sum;
}

/* ---- plan ---- */

/* what one server offers of each resource */
static void
cap_server_capacity(const struct cap_scenario *sc, const struct cap_calib *c,
		    double cap[CAP_RES_N])
{
	cap[CAP_RES_CPU] = sc->cores_per_server * c->budget_hz;
	cap[CAP_RES_NIC_IN] = sc->ports_per_server * sc->nic_gbps * 1e9;
	cap[CAP_RES_NIC_OUT] = cap[CAP_RES_NIC_IN];
}

static void
cap_plan_largest(const struct cap_scenario *sc, const struct cap_calib *c,
		 const double per_server[CAP_RES_N], struct cap_plan *p)
{
	struct cap_rates r;
	double load[CAP_RES_N];
	unsigned g, i;

	p->largest_size = 0;
	for (g = 0; g < sc->n_groups; g++)
		if (sc->groups[g].count > 0 && sc->groups[g].size > p->largest_size)
			p->largest_size = sc->groups[g].size;
	memset(&r, 0, sizeof(r));
	cap_rates_conference(sc, p->largest_size, 1, &r);
	cap_rates_sum(&r);
	load[CAP_RES_CPU] = cap_cycles_per_second(c, &r);
	load[CAP_RES_NIC_IN] = r.ingress_bps;
	load[CAP_RES_NIC_OUT] = r.egress_bps;
	p->largest_util = 0;
	for (i = 0; i < CAP_RES_N; i++)
		if (per_server[i] > 0 && load[i] / per_server[i] > p->largest_util)
			p->largest_util = load[i] / per_server[i];
	p->largest_fits = p->largest_util <= 1 - sc->headroom + 1e-12;
}

/* rates and cycles group by group: each group's flows have one fan-out,
 * and the cost is not linear in the fan-out */
static void
cap_plan_rates(const struct cap_scenario *sc, const struct cap_calib *c, struct cap_plan *p)
{
	struct cap_rates g;
	unsigned i, k;

	for (i = 0; i < sc->n_groups; i++) {
		memset(&g, 0, sizeof(g));
		cap_rates_conference(sc, sc->groups[i].size, sc->groups[i].count, &g);
		p->cycles_per_s += cap_cycles_per_second(c, &g);
		p->rates.streams += g.streams;
		for (k = 0; k < g.n_flows; k++) {
			struct cap_stream s = { .payload = g.flows[k].payload,
						.hdr_ext = g.flows[k].hdr_ext };
			struct cap_flow *f = cap_flow_get(&p->rates, g.flows[k].name, &s);

			if (f == NULL)
				continue;
			f->ingress_pps += g.flows[k].ingress_pps;
			f->egress_pps += g.flows[k].egress_pps;
			f->cycles_per_s += g.flows[k].cycles_per_s;
		}
	}
	cap_rates_sum(&p->rates);
}

void
cap_plan(const struct cap_scenario *sc, const struct cap_calib *c, struct cap_plan *p)
{
	double per_server[CAP_RES_N], keep = 1 - sc->headroom, worst = 0;
	unsigned i;

	memset(p, 0, sizeof(*p));
	cap_plan_rates(sc, c, p);
	p->cores_exact = p->cycles_per_s / c->budget_hz;
	p->cores = cap_ceil(p->cores_exact / keep);
	p->ports = cap_ceil((p->rates.ingress_bps > p->rates.egress_bps ?
			     p->rates.ingress_bps : p->rates.egress_bps) /
			    (sc->nic_gbps * 1e9 * keep));
	p->load[CAP_RES_CPU] = p->cycles_per_s;
	p->load[CAP_RES_NIC_IN] = p->rates.ingress_bps;
	p->load[CAP_RES_NIC_OUT] = p->rates.egress_bps;
	cap_server_capacity(sc, c, per_server);
	p->servers = 1;
	for (i = 0; i < CAP_RES_N; i++) {
		p->servers_by[i] = cap_ceil(p->load[i] / (per_server[i] * keep));
		if (p->servers_by[i] > p->servers)
			p->servers = p->servers_by[i];
	}
	p->first_out = CAP_RES_CPU;
	for (i = 0; i < CAP_RES_N; i++) {
		p->capacity[i] = p->servers * per_server[i];
		p->utilisation[i] = p->load[i] / p->capacity[i];
		p->headroom_left[i] = 1 - p->utilisation[i];
		if (p->utilisation[i] > worst) {
			worst = p->utilisation[i];
			p->first_out = (enum cap_resource)i;
		}
	}
	p->scale_to_target = worst > 0 ? keep / worst : INFINITY;
	/* the cost model knows nothing of table sizes: say when the plan is far
	 * beyond the stream counts it was measured with */
	p->streams_per_server = p->rates.streams / p->servers;
	p->streams_beyond = c->max_streams > 0 && p->streams_per_server > 10 * c->max_streams;
	cap_plan_largest(sc, c, per_server, p);
}
