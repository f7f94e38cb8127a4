/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-capacity: the arithmetic (docs/capacity.md, "The model"). No I/O:
 * the unit test checks every function here on hand-computed cases.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity.h"

/* a ceiling that does not turn 3.0000000001 (rounding noise) into 4 */
static unsigned
cap_ceil(double x)
{
	if (x <= 0)
		return 0;
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
cap_fit_cmp(const void *x, const void *y)
{
	const struct cap_fit *a = x, *b = y;

	return (a->payload > b->payload) - (a->payload < b->payload);
}

/* least squares of cycles on fan-out over the points at one payload */
static int
cap_fit_one(const struct cap_calib *c, struct cap_fit *f)
{
	double sf = 0, sc = 0, sff = 0, sfc = 0, n = 0, fmin = INFINITY, fmax = -INFINITY;
	unsigned i;

	for (i = 0; i < c->n_points; i++) {
		const struct cap_point *p = &c->points[i];

		if (p->payload != f->payload)
			continue;
		sf += p->fanout;
		sc += p->cycles_per_ingress;
		sff += p->fanout * p->fanout;
		sfc += p->fanout * p->cycles_per_ingress;
		n++;
		fmin = cap_min(fmin, p->fanout);
		fmax = fmax > p->fanout ? fmax : p->fanout;
	}
	f->n = (unsigned)n;
	if (n < 2 || fmax == fmin)
		return -1;
	f->b = (n * sfc - sf * sc) / (n * sff - sf * sf);
	f->a = (sc - f->b * sf) / n;
	return 0;
}

int
cap_calib_fit(struct cap_calib *c, char *err, size_t errlen)
{
	unsigned i, j;

	c->n_fits = 0;
	for (i = 0; i < c->n_points; i++) {
		for (j = 0; j < c->n_fits; j++)
			if (c->fits[j].payload == c->points[i].payload)
				break;
		if (j < c->n_fits)
			continue;
		if (c->n_fits == CAP_MAX_FITS) {
			snprintf(err, errlen, "more than %d distinct payloads in points: "
				 "keep at most %d", CAP_MAX_FITS, CAP_MAX_FITS);
			return -1;
		}
		c->fits[c->n_fits].payload = c->points[i].payload;
		if (cap_fit_one(c, &c->fits[c->n_fits]) < 0) {
			snprintf(err, errlen, "payload %g has %u point(s) but the fit needs at "
				 "least two distinct fan-outs: add points (perf/calibrate.sh "
				 "measures fan-out 1, 3, 10, 30)", c->points[i].payload,
				 c->fits[c->n_fits].n);
			return -1;
		}
		c->n_fits++;
	}
	if (c->n_fits == 0) {
		snprintf(err, errlen, "no points: run perf/calibrate.sh");
		return -1;
	}
	qsort(c->fits, c->n_fits, sizeof(c->fits[0]), cap_fit_cmp);
	return 0;
}

void
cap_calib_ab(const struct cap_calib *c, double payload, double *a, double *b)
{
	unsigned i = 0;
	const struct cap_fit *lo, *hi;
	double t;

	if (c->n_fits == 1) {
		*a = c->fits[0].a;
		*b = c->fits[0].b;
		return;
	}
	/* the segment that holds payload, or the nearest end segment */
	while (i + 2 < c->n_fits && payload > c->fits[i + 1].payload)
		i++;
	lo = &c->fits[i];
	hi = &c->fits[i + 1];
	t = (payload - lo->payload) / (hi->payload - lo->payload);
	*a = lo->a + t * (hi->a - lo->a);
	*b = lo->b + t * (hi->b - lo->b);
}

double
cap_cycles_per_ingress(const struct cap_calib *c, double payload, double fanout)
{
	double a, b, y;

	cap_calib_ab(c, payload, &a, &b);
	y = a + b * fanout;
	return y > 0 ? y : 0;
}

double
cap_cycles_per_second(const struct cap_calib *c, const struct cap_rates *r)
{
	double sum = 0, a, b, y;
	unsigned i;

	for (i = 0; i < r->n_flows; i++) {
		const struct cap_flow *f = &r->flows[i];

		cap_calib_ab(c, f->payload + f->hdr_ext, &a, &b);
		y = f->ingress_pps * a + f->egress_pps * b;
		if (y > 0)
			sum += y;
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

void
cap_plan(const struct cap_scenario *sc, const struct cap_calib *c, struct cap_plan *p)
{
	double per_server[CAP_RES_N], keep = 1 - sc->headroom, worst = 0;
	unsigned i;

	memset(p, 0, sizeof(*p));
	cap_rates_scenario(sc, &p->rates);
	p->cycles_per_s = cap_cycles_per_second(c, &p->rates);
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
	cap_plan_largest(sc, c, per_server, p);
}
