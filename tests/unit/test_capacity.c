/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-capacity's arithmetic on cases computed by hand (docs/capacity.md,
 * "The model"): wire bytes per packet, the rates of small conferences,
 * the cost-model fit and its interpolation, cores, ports, servers, the
 * resource that runs out first, the headroom left; and the loaders'
 * refusals (YAML and JSON) with the field named.
 */
#include <math.h>

#include "testutil.h"
#include "capacity.h"

#define NEAR(x, want) CU_ASSERT_DOUBLE_EQUAL((x), (want), 1e-9 * fabs((double)(want)) + 1e-9)

/*
 * The synthetic calibration of every test: a(P) = 1000 + (P - 100),
 * b(P) = 200 + 0.2 (P - 100), TSC and budget 2 GHz. Points at payload 100
 * and 1100, fan-out 1 and 11, so the fit is exact.
 */
static void
synthetic_calib(struct cap_calib *c)
{
	static const double pts[][3] = {
		{ 100, 1, 1200 }, { 100, 11, 3200 }, { 1100, 1, 2400 }, { 1100, 11, 6400 },
	};
	char err[256];
	unsigned i;

	memset(c, 0, sizeof(*c));
	snprintf(c->cpu_model, sizeof(c->cpu_model), "synthetic");
	c->tsc_hz = c->budget_hz = 2e9;
	for (i = 0; i < 4; i++) {
		c->points[i].payload = pts[i][0];
		c->points[i].fanout = pts[i][1];
		c->points[i].cycles_per_ingress = pts[i][2];
	}
	c->n_points = 4;
	CU_ASSERT_EQUAL_FATAL(cap_calib_fit(c, err, sizeof(err)), 0);
}

/* audio only: Opus 32 kbit/s in 20 ms packets = 80 bytes at 50 pps */
static void
audio_scenario(struct cap_scenario *sc, unsigned size, double count)
{
	memset(sc, 0, sizeof(*sc));
	sc->groups[0].count = count;
	sc->groups[0].size = size;
	sc->n_groups = 1;
	sc->audio.bitrate = 32000;
	sc->audio.pps = 50;
	CU_ASSERT_EQUAL_FATAL(cap_stream_complete(&sc->audio), 0);
	sc->nic_gbps = 10;
	sc->ports_per_server = 2;
	sc->cores_per_server = 8;
	sc->headroom = 0.3;
}

static void
test_wire_bytes(void)
{
	/* 80 + RTP 12 + OHB 1 + tags 32 + EKT 1 = 126; + UDP 8 + IPv4 20 = 154;
	 * + Ethernet 14 + FCS 4 = 172; + preamble/SFD 8 + IFG 12 = 192 */
	NEAR(cap_wire_bytes(80, 0), 192);
	NEAR(cap_wire_bytes(1200, 0), 1312);
	NEAR(cap_wire_bytes(1200, 8), 1320);
	/* no payload: 46 + 28 + 18 = 92 >= 64, so no padding; 112 on the wire */
	NEAR(cap_wire_bytes(0, 0), 112);
	CU_ASSERT_TRUE(CAP_ETH_PREAMBLE_SFD + CAP_ETH_HEADER + CAP_ETH_FCS + CAP_ETH_IFG == 38);
}

static void
test_stream_complete(void)
{
	struct cap_stream s = { .bitrate = 32000, .pps = 50 };

	CU_ASSERT_EQUAL(cap_stream_complete(&s), 0);
	NEAR(s.payload, 80);
	s = (struct cap_stream){ .bitrate = 1200000, .payload = 1200 };
	CU_ASSERT_EQUAL(cap_stream_complete(&s), 0);
	NEAR(s.pps, 125);
	s = (struct cap_stream){ .pps = 50, .payload = 160 };
	CU_ASSERT_EQUAL(cap_stream_complete(&s), 0);
	NEAR(s.bitrate, 64000);
	s = (struct cap_stream){ .pps = 50 };
	CU_ASSERT_EQUAL(cap_stream_complete(&s), -1);
}

static void
test_three_party_audio(void)
{
	struct cap_scenario sc;
	struct cap_rates r;

	audio_scenario(&sc, 3, 1);
	cap_rates_scenario(&sc, &r);
	CU_ASSERT_EQUAL_FATAL(r.n_flows, 1);
	/* 3 senders x 50 pps in; each packet to the 2 others */
	NEAR(r.ingress_pps, 150);
	NEAR(r.egress_pps, 300);
	NEAR(r.ingress_bps, 150 * 192 * 8);
	NEAR(r.egress_bps, 300 * 192 * 8);
	NEAR(r.ingress_payload_bps, 3 * 32000);
	NEAR(r.egress_payload_bps, 6 * 32000);
	NEAR(r.streams, 3);
	/* last 1 speaker only: each receives one stream */
	sc.audio_receive = 1;
	cap_rates_scenario(&sc, &r);
	NEAR(r.egress_pps, 150);
	/* a limit above the conference changes nothing */
	sc.audio_receive = 5;
	cap_rates_scenario(&sc, &r);
	NEAR(r.egress_pps, 300);
}

static void
test_video_simulcast(void)
{
	struct cap_scenario sc;
	struct cap_rates r;
	unsigned i;

	audio_scenario(&sc, 4, 1);
	sc.video = true;
	sc.video_senders = 1;
	sc.n_layers = 2;
	sc.layers[0] = (struct cap_stream){ .pps = 100, .payload = 1000 };
	sc.layers[1] = (struct cap_stream){ .pps = 200, .payload = 1200, .hdr_ext = 8 };
	sc.video_receive = 2;
	sc.video_top = 1;
	cap_rates_scenario(&sc, &r);
	CU_ASSERT_EQUAL_FATAL(r.n_flows, 3);
	/* 4 senders; each receives 2 of the 3 others: 1 at the top layer,
	 * 1 at layer 0. L0: 400 in, 4 x 1 x 100 out; L1: 800 in, 4 x 1 x 200 out */
	for (i = 0; i < r.n_flows; i++) {
		if (strcmp(r.flows[i].name, "video L0") == 0) {
			NEAR(r.flows[i].ingress_pps, 400);
			NEAR(r.flows[i].egress_pps, 400);
		} else if (strcmp(r.flows[i].name, "video L1") == 0) {
			NEAR(r.flows[i].ingress_pps, 800);
			NEAR(r.flows[i].egress_pps, 800);
			NEAR(r.flows[i].wire_bytes, 1320);
		} else {
			CU_ASSERT_STRING_EQUAL(r.flows[i].name, "audio");
			NEAR(r.flows[i].egress_pps, 4 * 3 * 50);
		}
	}
	/* half the participants send video (2 of 4), all received at the top:
	 * senders see 1 other, the 2 others see both: 2 + 4 = 6 copies */
	sc.video_senders = 0.5;
	sc.video_receive = 0;
	sc.video_top = 0;
	cap_rates_scenario(&sc, &r);
	for (i = 0; i < r.n_flows; i++)
		if (strcmp(r.flows[i].name, "video L1") == 0) {
			NEAR(r.flows[i].ingress_pps, 2 * 200);
			NEAR(r.flows[i].egress_pps, 6 * 200);
		}
	/* a screen share in one conference of two: 0.5 x 1 in, 0.5 x 3 out */
	sc.screen_share = 0.5;
	sc.screen = (struct cap_stream){ .pps = 100, .payload = 1200 };
	cap_rates_scenario(&sc, &r);
	for (i = 0; i < r.n_flows; i++)
		if (strcmp(r.flows[i].name, "screen") == 0) {
			NEAR(r.flows[i].ingress_pps, 50);
			NEAR(r.flows[i].egress_pps, 150);
		}
}

static void
test_fit(void)
{
	struct cap_calib c;
	double a, b;
	char err[256];

	synthetic_calib(&c);
	CU_ASSERT_EQUAL_FATAL(c.n_curves, 2);
	NEAR(cap_curve_eval(&c.curves[0], 6, &a, &b), 2200);
	NEAR(a, 1000);
	NEAR(b, 200);
	NEAR(cap_curve_eval(&c.curves[1], 0, &a, &b), 2000);
	NEAR(b, 400);
	/* payload between the curves, below them (extrapolated), above */
	NEAR(cap_cycles_per_ingress(&c, 600, 5), 1500 + 5 * 300);
	NEAR(cap_cycles_per_ingress(&c, 80, 2), 980 + 2 * 196);
	NEAR(cap_cycles_per_ingress(&c, 1300, 0), 2200);
	/* piecewise in the fan-out, repeated fan-outs averaged, points in any
	 * order: (1,10) (2,14) (4,18) (2,16) -> 1:10, 2:15, 4:18 */
	memset(&c, 0, sizeof(c));
	c.points[0] = (struct cap_point){ 200, 1, 10 };
	c.points[1] = (struct cap_point){ 200, 2, 14 };
	c.points[2] = (struct cap_point){ 200, 4, 18 };
	c.points[3] = (struct cap_point){ 200, 2, 16 };
	c.n_points = 4;
	CU_ASSERT_EQUAL_FATAL(cap_calib_fit(&c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(c.curves[0].n, 3);
	NEAR(c.curves[0].cycles[1], 15);
	NEAR(cap_cycles_per_ingress(&c, 999, 1.5), 12.5);    /* one payload: used for all */
	NEAR(cap_curve_eval(&c.curves[0], 3, &a, &b), 16.5);
	NEAR(a, 12);
	NEAR(b, 1.5);
	NEAR(cap_cycles_per_ingress(&c, 200, 8), 24);        /* the last slope goes on */
	NEAR(cap_cycles_per_ingress(&c, 200, 0), 5);         /* and the first */
	/* one fan-out at a payload gives no slope */
	c.points[1].fanout = 1;
	c.points[2].fanout = 1;
	c.points[3].fanout = 1;
	CU_ASSERT_EQUAL(cap_calib_fit(&c, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "two distinct fan-outs"));
}

/* the cost is not linear in the fan-out: each conference size is costed at
 * its own fan-out, not at the scenario's mean fan-out */
static void
test_plan_per_group(void)
{
	struct cap_scenario sc;
	struct cap_calib c;
	struct cap_plan p;
	char err[256];

	memset(&c, 0, sizeof(c));
	c.budget_hz = 1e9;
	c.points[0] = (struct cap_point){ 80, 1, 1000 };
	c.points[1] = (struct cap_point){ 80, 2, 1200 };
	c.points[2] = (struct cap_point){ 80, 10, 2000 };
	c.n_points = 3;
	CU_ASSERT_EQUAL_FATAL(cap_calib_fit(&c, err, sizeof(err)), 0);
	audio_scenario(&sc, 2, 1);
	sc.groups[1].count = 1;
	sc.groups[1].size = 11;
	sc.n_groups = 2;
	cap_plan(&sc, &c, &p);
	/* 2 x 50 pps at fan-out 1 (1000) + 11 x 50 pps at fan-out 10 (2000);
	 * at the mean fan-out 5600 / 650 it would be 1,209,975 */
	NEAR(p.cycles_per_s, 100 * 1000 + 550 * 2000);
	CU_ASSERT_EQUAL_FATAL(p.rates.n_flows, 1);
	NEAR(p.rates.flows[0].cycles_per_s, 1.2e6);
	NEAR(p.rates.egress_pps, 100 + 5500);
}

static void
test_plan_cores_ports_servers(void)
{
	struct cap_scenario sc;
	struct cap_calib c;
	struct cap_plan p;

	synthetic_calib(&c);
	/* 100,000 three-party audio conferences: per conference 150 pps in at
	 * a(80) = 980 and 300 copies at b(80) = 196: 205,800 cycles/s */
	audio_scenario(&sc, 3, 100000);
	cap_plan(&sc, &c, &p);
	NEAR(p.cycles_per_s, 20.58e9);
	NEAR(p.cores_exact, 10.29);
	CU_ASSERT_EQUAL(p.cores, 15);           /* 10.29 / 0.7 = 14.7 */
	NEAR(p.rates.egress_bps, 46.08e9);
	NEAR(p.rates.ingress_bps, 23.04e9);
	CU_ASSERT_EQUAL(p.ports, 7);            /* 46.08 / (10 x 0.7) = 6.58 */
	CU_ASSERT_EQUAL(p.servers_by[CAP_RES_CPU], 2);     /* 20.58 / (16 x 0.7) = 1.84 */
	CU_ASSERT_EQUAL(p.servers_by[CAP_RES_NIC_IN], 2);  /* 23.04 / (20 x 0.7) = 1.65 */
	CU_ASSERT_EQUAL(p.servers_by[CAP_RES_NIC_OUT], 4); /* 46.08 / 14 = 3.29 */
	CU_ASSERT_EQUAL(p.servers, 4);
	CU_ASSERT_EQUAL(p.first_out, CAP_RES_NIC_OUT);
	NEAR(p.utilisation[CAP_RES_NIC_OUT], 0.576);
	NEAR(p.headroom_left[CAP_RES_NIC_OUT], 0.424);
	NEAR(p.utilisation[CAP_RES_CPU], 20.58e9 / (4 * 8 * 2e9));
	NEAR(p.headroom_left[CAP_RES_NIC_IN], 1 - 23.04e9 / 80e9);
	NEAR(p.scale_to_target, 0.7 / 0.576);
	CU_ASSERT_EQUAL(p.largest_size, 3);
	CU_ASSERT_TRUE(p.largest_fits);
	/* 300,000 streams on 4 servers; the note only beyond 10x calibrated */
	NEAR(p.streams_per_server, 75000);
	CU_ASSERT_FALSE(p.streams_beyond);          /* max_streams 0: not known */
	c.max_streams = 7500;
	cap_plan(&sc, &c, &p);
	CU_ASSERT_FALSE(p.streams_beyond);
	c.max_streams = 7499;
	cap_plan(&sc, &c, &p);
	CU_ASSERT_TRUE(p.streams_beyond);
}

static void
test_plan_cpu_first(void)
{
	struct cap_scenario sc;
	struct cap_calib c;
	struct cap_plan p;

	synthetic_calib(&c);
	/* the same load on 100 Gbit/s ports and 2 cores: the CPU runs out */
	audio_scenario(&sc, 3, 100000);
	sc.nic_gbps = 100;
	sc.cores_per_server = 2;
	cap_plan(&sc, &c, &p);
	CU_ASSERT_EQUAL(p.first_out, CAP_RES_CPU);
	CU_ASSERT_EQUAL(p.servers_by[CAP_RES_CPU], 8);     /* 20.58 / (4 x 0.7) = 7.35 */
	CU_ASSERT_EQUAL(p.servers, 8);
	NEAR(p.headroom_left[CAP_RES_CPU], 1 - 20.58e9 / (8 * 2 * 2e9));
	/* headroom 0: exactly full counts as fitting (no extra server) */
	sc.headroom = 0;
	sc.groups[0].count = 100000 * (16 * 2e9 / 20.58e9);
	cap_plan(&sc, &c, &p);
	CU_ASSERT_EQUAL(p.servers, 8);
	NEAR(p.utilisation[CAP_RES_CPU], 1);
}

static void
test_largest_conference(void)
{
	struct cap_scenario sc;
	struct cap_calib c;
	struct cap_plan p;

	synthetic_calib(&c);
	/* 1000 people all-to-all audio: 1000 x 999 x 50 copies = 76.7 Gbit/s
	 * egress, more than one server's 2 x 10 Gbit/s */
	audio_scenario(&sc, 1000, 1);
	cap_plan(&sc, &c, &p);
	CU_ASSERT_EQUAL(p.largest_size, 1000);
	CU_ASSERT_FALSE(p.largest_fits);
	NEAR(p.largest_util, 1000.0 * 999 * 50 * 192 * 8 / 20e9);
	/* last 3 speakers: 150 streams of egress per 1000, fits */
	sc.audio_receive = 3;
	cap_plan(&sc, &c, &p);
	CU_ASSERT_TRUE(p.largest_fits);
}

/* ---- loaders ---- */

static char *
write_tmp(const char *suffix, const char *text)
{
	static char path[64];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_capacity_XXXXXX%s", suffix);
	fd = mkstemps(path, (int)strlen(suffix));
	CU_ASSERT_FATAL(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static const char yaml_ok[] =
	"# a scenario\n"
	"name: yaml test\n"
	"conferences:\n"
	"  - {count: 1, size: 3}\n"
	"media:\n"
	"  audio: {bitrate_kbps: 32, packet_rate: 50}\n"
	"  video:\n"
	"    senders: 1\n"
	"    layers:\n"
	"      - bitrate_kbps: 960\n"
	"subscription: {video: all, audio: 2}\n"
	"server: {nic_gbps: 10, ports: 2, worker_cores: 8}\n"
	"headroom: 0.25\n";

static void
test_load_yaml(void)
{
	struct cap_scenario sc;
	char err[1024], *path = write_tmp(".yaml", yaml_ok);

	CU_ASSERT_EQUAL_FATAL(cap_scenario_load(path, &sc, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(sc.name, "yaml test");
	NEAR(sc.audio.payload, 80);
	CU_ASSERT_EQUAL(sc.n_layers, 1);
	NEAR(sc.layers[0].payload, 1200);     /* the video default */
	NEAR(sc.layers[0].pps, 100);          /* 960 kbit/s / 9600 bit */
	CU_ASSERT_EQUAL(sc.audio_receive, 2);
	CU_ASSERT_EQUAL(sc.video_receive, 0);
	NEAR(sc.headroom, 0.25);
	remove(path);
}

static void
expect_refused(const char *suffix, const char *text, const char *want1, const char *want2)
{
	struct cap_scenario sc;
	char err[1024], *path = write_tmp(suffix, text);

	CU_ASSERT_EQUAL(cap_scenario_load(path, &sc, err, sizeof(err)), -1);
	if (strstr(err, want1) == NULL || strstr(err, want2) == NULL)
		fprintf(stderr, "\n  message '%s' lacks '%s' or '%s'\n", err, want1, want2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want1));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want2));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
	remove(path);
}

static void
test_load_refusals(void)
{
	char bad[sizeof(yaml_ok) + 64];

	/* the line of a YAML field is named */
	snprintf(bad, sizeof(bad), "%s", yaml_ok);
	memcpy(strstr(bad, "bitrate_kbps: 960"), "bitrate_kbps: abc", 17);
	expect_refused(".yaml", bad, "line 10", "media.video.layers[0].bitrate_kbps");
	expect_refused(".yaml", "conferences: [\n  {count: 1, size: 3\n", "line ", "YAML syntax");
	expect_refused(".yaml", "headroom: 0.2\nname: a\nheadroom: 0.3\n", "line 3",
		       "'headroom' appears twice");
	expect_refused(".yaml", "", "empty", "write a scenario");
	expect_refused(".yaml", "- 1\n- 2\n", "(top level)", "must be an object");
	expect_refused(".json", "{\"conferences\": [}", "line 1", "JSON syntax");
	expect_refused(".json", "{\"conferences\": [{\"count\": 1, \"size\": 1}]}",
		       "conferences[0].size", "out of range");
	expect_refused(".json", "{\"conferences\": [{\"count\": 1, \"size\": 3}], \"medai\": {}}",
		       "medai", "unknown field");
	expect_refused(".json", "{\"conferences\": [{\"count\": 1, \"size\": 3}], \"media\": "
		       "{\"audio\": {\"packet_rate\": 50}}}", "media.audio", "two of");
	expect_refused(".json", "{\"conferences\": [{\"count\": 1, \"size\": 3}], \"media\": "
		       "{\"audio\": {\"bitrate_kbps\": 32, \"packet_rate\": 50, \"payload_bytes\": "
		       "100}}}", "media.audio", "not payload_bytes 100");
	expect_refused(".json", "{\"conferences\": [{\"count\": 1, \"size\": 3}], \"media\": "
		       "{\"audio\": {\"bitrate_kbps\": 32, \"packet_rate\": 50}}}", "server",
		       "missing");
	expect_refused(".json", "{\"format\": 2}", "format", "unsupported version");
}

static void
test_load_calibration(void)
{
	struct cap_calib c;
	char err[1024], *path;

	path = write_tmp(".json", "{\"format\": 1, \"host\": {\"cpu_model\": \"x\"}, "
			 "\"budget_hz\": 2e9, \"points\": [{\"payload\": 100, \"fanout\": 1, "
			 "\"cycles_per_egress\": 1200}, {\"payload\": 100, \"fanout\": 11, "
			 "\"cycles_per_ingress\": 3200}]}");
	CU_ASSERT_EQUAL_FATAL(cap_calib_load(path, &c, err, sizeof(err)), 0);
	NEAR(c.curves[0].cycles[0], 1200);     /* cycles_per_egress x fan-out 1 */
	NEAR(cap_cycles_per_ingress(&c, 100, 6), 2200);
	remove(path);
	path = write_tmp(".json", "{\"format\": 1, \"host\": {\"cpu_model\": \"x\"}, "
			 "\"budget_hz\": 2e9, \"points\": [{\"payload\": 100, \"fanout\": 1, "
			 "\"cycles_per_egress\": 1200}]}");
	CU_ASSERT_EQUAL(cap_calib_load(path, &c, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "two distinct fan-outs"));
	remove(path);
	path = write_tmp(".json", "{\"format\": 1, \"host\": {}, \"budget_hz\": 2e9}");
	CU_ASSERT_EQUAL(cap_calib_load(path, &c, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "host.cpu_model"));
	remove(path);
}

int
main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	T_SUITE("capacity");
	T_ADD(test_wire_bytes);
	T_ADD(test_stream_complete);
	T_ADD(test_three_party_audio);
	T_ADD(test_video_simulcast);
	T_ADD(test_fit);
	T_ADD(test_plan_per_group);
	T_ADD(test_plan_cores_ports_servers);
	T_ADD(test_plan_cpu_first);
	T_ADD(test_largest_conference);
	T_ADD(test_load_yaml);
	T_ADD(test_load_refusals);
	T_ADD(test_load_calibration);
	return t_run();
}
