/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-mdd's lifecycle (docs/operations.md): rte_log types per subsystem,
 * drain (refuse new conferences and endpoints, exit when no endpoint is
 * left or at a deadline), admission limits, the API's operations ops,
 * rate-limited drop summaries, systemd notification (READY, WATCHDOG,
 * STATUS, STOPPING) and the final counters on exit. Control thread only.
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <mntent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_version.h>

#include "cp.h"
#include "ops.h"
#include "perc/sdnotify.h"

/* a drop reason summary at most this often (ms) */
#define SUMMARY_MS 10000u

struct mdd_ops_state g_ops;

static const char *const level_names[] = {
	NULL, "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

static const char *metrics_addr = MDD_METRICS_DEFAULT;
static bool metrics_explicit;
static double *stats_interval_p;
static uint64_t last_sec_ms, last_summary_ms, last_rx;
static uint64_t last_busy[MDD_MAX_WORKERS], last_idle[MDD_MAX_WORKERS];
static uint64_t summary_base[MDD_C__COUNT];
static uint64_t watchdog_us;

/* ---- options -------------------------------------------------------------- */

static int
parse_limits(const char *s, struct mdd_limits *l, char *err, size_t errlen)
{
	char *copy = strdup(s), *tok, *save = NULL;
	int rc = 0;

	if (copy == NULL)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok != NULL && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		unsigned long long v;

		if (eq == NULL) {
			rc = -1;
			break;
		}
		*eq = '\0';
		errno = 0;
		v = strtoull(eq + 1, &end, 10);
		if (errno != 0 || *end != '\0' || end == eq + 1 || eq[1] == '-') {
			rc = -1;
			break;
		}
		if (strcmp(tok, "conferences") == 0 && v <= UINT32_MAX)
			l->conferences = (uint32_t)v;
		else if (strcmp(tok, "endpoints") == 0 && v <= UINT32_MAX)
			l->endpoints = (uint32_t)v;
		else if (strcmp(tok, "pps") == 0)
			l->pps = v;
		else if (strcmp(tok, "busy_pct") == 0 && v <= 100)
			l->busy_pct = (uint32_t)v;
		else
			rc = -1;
	}
	if (rc != 0)
		snprintf(err, errlen, "--limits '%s': give KEY=N[,KEY=N...] with keys conferences, "
			 "endpoints, pps, busy_pct (0..100); 0 = no limit", s);
	free(copy);
	return rc;
}

int
mdd_ops_args(int *argc, char **argv, double *stats_interval)
{
	char err[256];
	int out = 1;

	stats_interval_p = stats_interval;
	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i], *val = NULL;
		bool metrics = false, limits = false;

		if (strncmp(a, "--metrics", 9) == 0 && (a[9] == '\0' || a[9] == '='))
			metrics = true;
		else if (strncmp(a, "--limits", 8) == 0 && (a[8] == '\0' || a[8] == '='))
			limits = true;
		if (!metrics && !limits) {
			argv[out++] = argv[i];
			continue;
		}
		val = strchr(a, '=');
		if (val != NULL) {
			val++;
		} else if (i + 1 < *argc) {
			val = argv[++i];
		} else {
			fprintf(stderr, "perc-mdd: %s needs a value (see perc-mdd -- --help)\n", a);
			return -1;
		}
		if (metrics) {
			metrics_addr = val;
			metrics_explicit = true;
		} else if (parse_limits(val, &g_ops.lim, err, sizeof(err)) != 0) {
			fprintf(stderr, "perc-mdd: %s\n", err);
			return -1;
		}
	}
	argv[out] = NULL;
	*argc = out;
	return 0;
}

/* ---- start, tick, stop ------------------------------------------------------ */

#if RTE_VERSION >= RTE_VERSION_NUM(23, 3, 0, 0) && defined(ALLOW_EXPERIMENTAL_API)
/* DPDK 23.03+: the workers' own busy / idle cycles for rte_lcore_dump() and
 * telemetry's /eal/lcore/usage (22.11, Debian 12's, has no such hook: the
 * same two counters are exported by metrics.c either way) */
static int
lcore_usage(unsigned int lcore_id, struct rte_lcore_usage *u)
{
	for (unsigned w = 0; w < g_mdd.n_workers; w++)
		if (g_mdd.workers[w].lcore == lcore_id) {
			u->busy_cycles = __atomic_load_n(&g_mdd.workers[w].busy_cycles,
							 __ATOMIC_RELAXED);
			u->total_cycles = u->busy_cycles +
				__atomic_load_n(&g_mdd.workers[w].idle_cycles, __ATOMIC_RELAXED);
			return 0;
		}
	return -1;
}
#endif

int
mdd_ops_init(struct mdd *m, char *err, size_t errlen)
{
#if RTE_VERSION >= RTE_VERSION_NUM(23, 3, 0, 0) && defined(ALLOW_EXPERIMENTAL_API)
	rte_lcore_register_usage_cb(lcore_usage);
#endif
	mdd_log_register(); /* log.c; main.c did it right after the EAL */
	g_ops.start_ms = mdd_now_ms();
	last_sec_ms = last_summary_ms = g_ops.start_ms;
	watchdog_us = perc_sd_watchdog_usec();
	switch (mdd_metrics_init(m, metrics_addr, metrics_explicit, err, errlen)) {
	case 0:
		return 0;
	case 1:
		metrics_addr = "off";
		return 0;
	default:
		return -1;
	}
}

void
mdd_ops_ready(struct mdd *m)
{
	perc_sd_notifyf("READY=1\nSTATUS=forwarding: %u conference(s), %u endpoint(s), "
			"%u worker(s)", m->n_confs, m->n_legs, m->n_workers);
	MDD_LOG(INFO, CONTROL, "running: %u worker(s), metrics %s%s%s", m->n_workers,
		strcmp(metrics_addr, "off") == 0 ? "off" : "http://", 
		strcmp(metrics_addr, "off") == 0 ? "" : metrics_addr,
		strcmp(metrics_addr, "off") == 0 ? "" : "/metrics");
}

/* once a second: ingress rate and the workers' busy shares */
static void
rates(struct mdd *m)
{
	uint64_t rx = mdd_counter_total(m, MDD_C_rx_frames);

	g_ops.pps = rx - last_rx;
	last_rx = rx;
	g_ops.busy_max = 0;
	for (unsigned w = 0; w < m->n_workers && w < MDD_MAX_WORKERS; w++) {
		uint64_t b = __atomic_load_n(&m->workers[w].busy_cycles, __ATOMIC_RELAXED);
		uint64_t i = __atomic_load_n(&m->workers[w].idle_cycles, __ATOMIC_RELAXED);
		uint64_t db = b - last_busy[w], di = i - last_idle[w];

		g_ops.busy[w] = db + di > 0 ? (double)db / (double)(db + di) : 0;
		g_ops.busy_max = RTE_MAX(g_ops.busy_max, g_ops.busy[w]);
		last_busy[w] = b;
		last_idle[w] = i;
	}
}

/* "N packets dropped for reason X in the last 10 s": one line per reason
 * and period, never one per packet */
static void
drop_summary(struct mdd *m, uint64_t period_ms)
{
	for (unsigned i = MDD_DROP_FIRST; i < MDD_C__COUNT; i++) {
		uint64_t v = mdd_counter_total(m, i);

		if (v > summary_base[i])
			MDD_LOG(NOTICE, DATAPLANE, "%" PRIu64 " packets dropped for reason %s in "
				"the last %" PRIu64 " s (%s)", v - summary_base[i], mdd_ctr_name(i),
				period_ms / 1000, mdd_ctr_desc(i));
		summary_base[i] = v;
	}
}

/* each control-plane counter at the last summary */
static uint64_t cp_base[MDD_CP__COUNT];

bool
mdd_log_first(unsigned cp)
{
	return cp < MDD_CP__COUNT && g_cp.c[cp] == cp_base[cp] + 1;
}

/* the control plane's failure counters (MDD_FOREACH_CP entries whose
 * description says dropped / refused / not sent), summarised the same way
 * under the subsystem's log type */
static void
cp_summary(uint64_t period_ms)
{
	for (unsigned i = 0; i < MDD_CP__COUNT; i++) {
		const char *n = mdd_cp_names[i];
		int type;

		if (g_cp.c[i] <= cp_base[i] || (strstr(mdd_cp_descs[i], "dropped") == NULL &&
						strstr(mdd_cp_descs[i], "refused") == NULL &&
						strstr(mdd_cp_descs[i], "not sent") == NULL &&
						strstr(mdd_cp_descs[i], "ok:false") == NULL)) {
			cp_base[i] = g_cp.c[i];
			continue;
		}
		if (strncmp(n, "stun_", 5) == 0 || strncmp(n, "ice_", 4) == 0 ||
		    strncmp(n, "consent", 7) == 0)
			type = mdd_logtypes[MDD_LOG_ICE];
		else if (strncmp(n, "api_", 4) == 0)
			type = mdd_logtypes[MDD_LOG_API];
		else
			type = mdd_logtypes[MDD_LOG_TUNNEL];
		rte_log(RTE_LOG_NOTICE, (uint32_t)type, "perc-mdd: %" PRIu64 " %s in the last %" PRIu64
			" s (%s)\n", g_cp.c[i] - cp_base[i], n, period_ms / 1000, mdd_cp_descs[i]);
		cp_base[i] = g_cp.c[i];
	}
}

static void
drain_check(struct mdd *m, uint64_t now)
{
	if (!g_ops.draining || m->stop)
		return;
	if (m->n_legs == 0) {
		MDD_LOG(NOTICE, CONTROL, "drain: no endpoint left, stopping");
		m->stop = true;
	} else if (g_ops.drain_deadline_ms != 0 && now >= g_ops.drain_deadline_ms) {
		MDD_LOG(NOTICE, CONTROL, "drain: deadline reached with %u endpoint(s) left, "
			"stopping", m->n_legs);
		m->stop = true;
	}
}

void
mdd_ops_tick(struct mdd *m)
{
	uint64_t now = mdd_now_ms();
	bool second = now - last_sec_ms >= 1000;

	if (second) {
		last_sec_ms = now;
		rates(m);
		if (watchdog_us != 0)
			perc_sd_notify("WATCHDOG=1");
		perc_sd_notifyf("STATUS=%s: %u conference(s), %u endpoint(s), %" PRIu64 " pps",
				g_ops.draining ? "draining" : "forwarding", m->n_confs, m->n_legs,
				g_ops.pps);
	}
	if (now - last_summary_ms >= SUMMARY_MS) {
		drop_summary(m, now - last_summary_ms);
		cp_summary(now - last_summary_ms);
		last_summary_ms = now;
	}
	mdd_metrics_poll(m, second);
	drain_check(m, now);
}

/* hugepage files of this process's file prefix that will outlive it (no
 * --huge-unlink): say so, with the fix, rather than leave them silently */
static void
hugepage_files_hint(void)
{
	char rt[PATH_MAX];
	const char *prefix;
	struct mntent *me;
	FILE *mt;

	snprintf(rt, sizeof(rt), "%s", rte_eal_get_runtime_dir());
	prefix = basename(rt);
	mt = setmntent("/proc/mounts", "r");
	if (mt == NULL)
		return;
	while ((me = getmntent(mt)) != NULL) {
		DIR *d;
		struct dirent *e;
		unsigned n = 0;
		size_t pl = strlen(prefix);

		if (strcmp(me->mnt_type, "hugetlbfs") != 0 || (d = opendir(me->mnt_dir)) == NULL)
			continue;
		while ((e = readdir(d)) != NULL)
			if (strncmp(e->d_name, prefix, pl) == 0 &&
			    strncmp(e->d_name + pl, "map_", 4) == 0)
				n++;
		closedir(d);
		if (n > 0)
			MDD_LOG(WARNING, CONTROL, "%u hugepage files %s/%smap_* stay after exit: run "
				"with the EAL option --huge-unlink (or remove them when no DPDK "
				"process of prefix %s runs)", n, me->mnt_dir, prefix, prefix);
	}
	endmntent(mt);
}

int
mdd_ops_fini(struct mdd *m)
{
	uint64_t drops = 0;

	perc_sd_notify("STOPPING=1\nSTATUS=stopping");
	for (unsigned i = MDD_DROP_FIRST; i < MDD_C__COUNT; i++)
		drops += mdd_counter_total(m, i);
	MDD_LOG(NOTICE, CONTROL, "final counters: rx_frames %" PRIu64 " rx_bytes %" PRIu64
		" rx_rtp %" PRIu64 " rx_rtcp %" PRIu64 " tx_frames %" PRIu64 " tx_rtp %" PRIu64
		" tx_rtcp %" PRIu64 " drops %" PRIu64,
		mdd_counter_total(m, MDD_C_rx_frames), mdd_counter_total(m, MDD_C_rx_bytes),
		mdd_counter_total(m, MDD_C_rx_rtp), mdd_counter_total(m, MDD_C_rx_rtcp),
		mdd_counter_total(m, MDD_C_tx_frames), mdd_counter_total(m, MDD_C_tx_rtp),
		mdd_counter_total(m, MDD_C_tx_rtcp), drops);
	for (unsigned i = MDD_DROP_FIRST; i < MDD_C__COUNT; i++) {
		uint64_t v = mdd_counter_total(m, i);

		if (v > 0)
			MDD_LOG(NOTICE, CONTROL, "final drops: %s %" PRIu64, mdd_ctr_name(i), v);
	}
	hugepage_files_hint();
	mdd_metrics_fini();
	return 0;
}

/* ---- admission ---------------------------------------------------------------- */

int
mdd_ops_admit(struct mdd *m, bool ep, char *err, size_t errlen)
{
	const char *what = ep ? "endpoint" : "conference";

	if (g_ops.draining) {
		ep ? g_ops.refused_ep_drain++ : g_ops.refused_conf_drain++;
		snprintf(err, errlen, "draining: no new %ss (the running ones go on until they "
			 "leave; send them to another MDD)", what);
		return -1;
	}
	if (!ep && g_ops.lim.conferences != 0 && m->n_confs >= g_ops.lim.conferences) {
		g_ops.refused_conf_limit++;
		snprintf(err, errlen, "admission limit: %u conferences (limit %u): delete one, or "
			 "raise it ({\"op\":\"limits\",\"conferences\":N})", m->n_confs,
			 g_ops.lim.conferences);
		return -1;
	}
	if (!ep)
		return 0;
	if (g_ops.lim.endpoints != 0 && m->n_legs >= g_ops.lim.endpoints) {
		g_ops.refused_ep_limit++;
		snprintf(err, errlen, "admission limit: %u endpoints (limit %u): remove one, or "
			 "raise it ({\"op\":\"limits\",\"endpoints\":N})", m->n_legs,
			 g_ops.lim.endpoints);
		return -1;
	}
	if (g_ops.lim.pps != 0 && g_ops.pps > g_ops.lim.pps) {
		g_ops.refused_ep_pps++;
		snprintf(err, errlen, "admission limit: ingress %" PRIu64 " packets/s is above the "
			 "limit %" PRIu64 ": place the endpoint on another MDD", g_ops.pps,
			 g_ops.lim.pps);
		return -1;
	}
	if (g_ops.lim.busy_pct != 0 && g_ops.busy_max * 100.0 > g_ops.lim.busy_pct) {
		g_ops.refused_ep_busy++;
		snprintf(err, errlen, "admission limit: busiest worker %.0f %% busy, above the "
			 "limit %u %%: place the endpoint on another MDD", g_ops.busy_max * 100.0,
			 g_ops.lim.busy_pct);
		return -1;
	}
	return 0;
}

/* ---- API ops -------------------------------------------------------------------- */

/* fields beyond "op" must be among allowed (" a b "); NULL or the bad key */
static const char *
bad_field(json_t *o, const char *allowed)
{
	const char *k;
	json_t *v;
	char pat[80];

	json_object_foreach(o, k, v) {
		snprintf(pat, sizeof(pat), " %.70s ", k);
		if (strcmp(k, "op") != 0 && strstr(allowed, pat) == NULL)
			return k;
	}
	return NULL;
}

static json_t *
op_drain(struct mdd *m, json_t *o)
{
	json_t *d = json_object_get(o, "deadline_s"), *c = json_object_get(o, "cancel");

	if (c != NULL && !json_is_boolean(c))
		return mdd_api_refuse("drain: \"cancel\" is true or false");
	if (d != NULL && (!json_is_number(d) || json_number_value(d) < 0 ||
			  json_number_value(d) > 86400 * 7))
		return mdd_api_refuse("drain: \"deadline_s\" is seconds, 0..604800 (0 = none)");
	if (json_is_true(c)) {
		g_ops.draining = false;
		g_ops.drain_deadline_ms = 0;
		MDD_LOG(NOTICE, CONTROL, "drain cancelled: new conferences and endpoints taken again");
		perc_sd_notify("STATUS=forwarding (drain cancelled)");
		return json_pack("{s:b,s:b}", "ok", 1, "draining", 0);
	}
	g_ops.draining = true;
	g_ops.drain_deadline_ms = d != NULL && json_number_value(d) > 0 ?
		mdd_now_ms() + (uint64_t)(json_number_value(d) * 1000.0) : 0;
	MDD_LOG(NOTICE, CONTROL, "draining: new conferences and endpoints refused; %u endpoint(s) "
		"left; deadline %s%.0f s", m->n_legs, g_ops.drain_deadline_ms ? "" : "none ",
		d != NULL ? json_number_value(d) : 0.0);
	perc_sd_notifyf("STATUS=draining: %u endpoint(s) left", m->n_legs);
	return json_pack("{s:b,s:b,s:i,s:i,s:f}", "ok", 1, "draining", 1, "conferences",
			 (int)m->n_confs, "endpoints", (int)m->n_legs, "deadline_s",
			 d != NULL ? json_number_value(d) : 0.0);
}

static json_t *
limits_obj(struct mdd *m)
{
	return json_pack("{s:b,s:{s:i,s:i,s:I,s:i},s:{s:i,s:i,s:I,s:i},s:b}", "ok", 1,
			 "limits", "conferences", (int)g_ops.lim.conferences, "endpoints",
			 (int)g_ops.lim.endpoints, "pps", (json_int_t)g_ops.lim.pps, "busy_pct",
			 (int)g_ops.lim.busy_pct,
			 "current", "conferences", (int)m->n_confs, "endpoints", (int)m->n_legs,
			 "pps", (json_int_t)g_ops.pps, "busy_pct", (int)(g_ops.busy_max * 100.0 + 0.5),
			 "draining", g_ops.draining);
}

static json_t *
op_limits(struct mdd *m, json_t *o)
{
	static const char *const keys[] = { "conferences", "endpoints", "pps", "busy_pct" };
	struct mdd_limits nl = g_ops.lim;

	for (size_t i = 0; i < RTE_DIM(keys); i++) {
		json_t *v = json_object_get(o, keys[i]);
		json_int_t n;

		if (v == NULL)
			continue;
		n = json_integer_value(v);
		if (!json_is_integer(v) || n < 0 || (i == 3 && n > 100) ||
		    (i != 2 && n > (json_int_t)UINT32_MAX))
			return mdd_api_refuse("limits: \"%s\" takes an integer >= 0%s (0 = no "
					      "limit)", keys[i], i == 3 ? " and <= 100" : "");
		if (i == 0)
			nl.conferences = (uint32_t)n;
		else if (i == 1)
			nl.endpoints = (uint32_t)n;
		else if (i == 2)
			nl.pps = (uint64_t)n;
		else
			nl.busy_pct = (uint32_t)n;
	}
	if (memcmp(&nl, &g_ops.lim, sizeof(nl)) != 0) {
		g_ops.lim = nl;
		MDD_LOG(NOTICE, CONTROL, "admission limits: conferences %u endpoints %u pps %" PRIu64
			" busy %u %% (0 = none)", nl.conferences, nl.endpoints, nl.pps, nl.busy_pct);
	}
	return limits_obj(m);
}

static int
parse_level(json_t *v)
{
	if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 8)
		return (int)json_integer_value(v);
	if (json_is_string(v))
		for (int i = 1; i <= 8; i++)
			if (strcmp(json_string_value(v), level_names[i]) == 0)
				return i;
	return -1;
}

static json_t *
op_log_level(json_t *o)
{
	json_t *t = json_object_get(o, "type"), *l = json_object_get(o, "level"), *types;
	int lv;

	if ((t == NULL) != (l == NULL))
		return mdd_api_refuse("log_level: give \"type\" and \"level\" together (or neither "
				      "to read the levels)");
	if (t != NULL) {
		if (!json_is_string(t) || json_string_length(t) == 0 ||
		    json_string_length(t) > 128)
			return mdd_api_refuse("log_level: \"type\" is a log type or pattern, e.g. "
					      "\"perc.mdd.*\" or \"lib.eal\"");
		lv = parse_level(l);
		if (lv < 0)
			return mdd_api_refuse("log_level: \"level\" is emerg, alert, crit, err, "
					      "warning, notice, info, debug or 1..8");
		if (rte_log_set_level_pattern(json_string_value(t), (uint32_t)lv) != 0)
			return mdd_api_refuse("log_level: pattern \"%s\" refused by rte_log",
					      json_string_value(t));
		MDD_LOG(NOTICE, CONTROL, "log level of %s set to %s", json_string_value(t),
			level_names[lv]);
	}
	types = json_object();
	for (int i = 0; i < MDD_LOG__COUNT; i++) {
		int cur = rte_log_get_level((uint32_t)mdd_logtypes[i]);

		json_object_set_new(types, mdd_logtype_names[i],
				    json_string(cur >= 1 && cur <= 8 ? level_names[cur] : "?"));
	}
	lv = (int)rte_log_get_global_level();
	return json_pack("{s:b,s:o,s:s}", "ok", 1, "types", types, "global",
			 lv >= 1 && lv <= 8 ? level_names[lv] : "?");
}

static json_t *
op_stats_interval(json_t *o)
{
	json_t *s = json_object_get(o, "seconds");

	if (s != NULL) {
		if (!json_is_number(s) || json_number_value(s) < 0 || json_number_value(s) > 3600)
			return mdd_api_refuse("stats_interval: \"seconds\" is 0..3600 (0 = no "
					      "summary lines)");
		if (stats_interval_p != NULL)
			*stats_interval_p = json_number_value(s);
		MDD_LOG(NOTICE, CONTROL, "stats interval %.3g s", json_number_value(s));
	}
	return json_pack("{s:b,s:f}", "ok", 1, "seconds",
			 stats_interval_p != NULL ? *stats_interval_p : 0.0);
}

/* One stream's counters (the owner worker writes them; read racily). */
static json_t *
stream_json(const struct mdd_leg *l, uint32_t i, uint64_t now, uint64_t hz)
{
	const struct mdd_stream *st = &l->streams[i];
	const struct mdd_stream_ctr *sc = &st->ctr;
	const struct mdd_stream_rare *r = &l->stream_rare[i];
	uint64_t last = sc->last_tsc;
	json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "endpoint", l->id, "ssrc",
			      (json_int_t)st->ssrc, "rtp_packets", (json_int_t)sc->rtp_in,
			      "rtcp_packets", (json_int_t)r->rtcp_in, "bytes",
			      (json_int_t)sc->bytes_in, "copies_out", (json_int_t)sc->copies_out,
			      "auth_fail", (json_int_t)r->auth_fail, "replay",
			      (json_int_t)r->replay, "ohb_invalid", (json_int_t)r->ohb_invalid);

	/* the receive window's top: ROC << 16 | SEQ of the highest packet */
	if (st->in->rtp.seen) {
		uint64_t top = st->in->rtp.top;

		json_object_set_new(o, "roc", json_integer((json_int_t)(top >> 16)));
		json_object_set_new(o, "seq", json_integer((json_int_t)(top & 0xffff)));
	}
	if (st->in->rtcp.seen)
		json_object_set_new(o, "srtcp_index", json_integer((json_int_t)st->in->rtcp.top));
	json_object_set_new(o, "idle_ms",
			    last == 0 || now < last ? json_null()
						    : json_integer((json_int_t)((now - last) * 1000 / hz)));
	return o;
}

/* The streams of leg l appended to arr. */
static void
leg_streams(const struct mdd_leg *l, json_t *arr)
{
	uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();
	/* the owner worker appends streams; n_streams is read racily and
	 * each entry it counts is complete (published after its fill) */
	uint32_t ns = __atomic_load_n(&l->n_streams, __ATOMIC_ACQUIRE);

	for (uint32_t s = 0; s < ns && s < l->max_streams; s++)
		json_array_append_new(arr, stream_json(l, s, now, hz));
}

static const struct mdd_conf *
api_conf(const struct mdd *m, json_t *id, const char *op, json_t **err)
{
	const struct mdd_conf *c;

	if (!json_is_string(id)) {
		*err = mdd_api_refuse("%s needs the conference's id (see {\"op\":\"list\"})", op);
		return NULL;
	}
	c = mdd_conf_find(m, json_string_value(id));
	if (c == NULL)
		*err = mdd_api_refuse("no conference %.64s: see {\"op\":\"list\"}",
				      json_string_value(id));
	return c;
}

static json_t *
op_conference_stats(struct mdd *m, json_t *o)
{
	json_t *eps, *err = NULL;
	const struct mdd_conf *c = api_conf(m, json_object_get(o, "id"), "conference_stats", &err);
	uint64_t in = 0, out = 0;

	if (c == NULL)
		return err;
	eps = json_array();
	for (uint32_t j = 0; j < c->n_legs; j++) {
		const struct mdd_leg *l = mdd_conf_leg(c, j);
		uint64_t li, lo;
		json_t *streams;

		if (l == NULL)
			continue;
		li = __atomic_load_n(&l->pkts_in, __ATOMIC_RELAXED);
		lo = __atomic_load_n(&l->pkts_out, __ATOMIC_RELAXED);
		in += li;
		out += lo;
		streams = json_array();
		leg_streams(l, streams);
		json_array_append_new(eps, json_pack("{s:s,s:i,s:I,s:I,s:b,s:o}", "id", l->id,
						     "worker", (int)l->worker, "packets_in",
						     (json_int_t)li, "packets_out", (json_int_t)lo,
						     "keyed", l->rx != NULL, "streams", streams));
	}
	/* the conference's own totals: what its endpoints sent and received */
	return json_pack("{s:b,s:s,s:I,s:I,s:o}", "ok", 1, "id", c->id, "packets_in",
			 (json_int_t)in, "packets_out", (json_int_t)out, "endpoints", eps);
}

/* {"op":"streams","conference":C[,"endpoint":E]}: every stream's counters. */
static json_t *
op_streams(struct mdd *m, json_t *o)
{
	json_t *ep = json_object_get(o, "endpoint"), *arr, *err = NULL;
	const struct mdd_conf *c = api_conf(m, json_object_get(o, "conference"), "streams", &err);
	const struct mdd_leg *only = NULL;

	if (c == NULL)
		return err;
	if (ep != NULL) {
		if (!json_is_string(ep))
			return mdd_api_refuse("streams: \"endpoint\" is an endpoint id (a string)");
		only = mdd_leg_find(c, json_string_value(ep));
		if (only == NULL)
			return mdd_api_refuse("no endpoint %.64s in conference %s: see "
					      "{\"op\":\"conference_stats\",\"id\":\"%s\"}",
					      json_string_value(ep), c->id, c->id);
	}
	arr = json_array();
	for (uint32_t j = 0; j < c->n_legs; j++) {
		const struct mdd_leg *l = mdd_conf_leg(c, j);

		if (l != NULL && (only == NULL || l == only))
			leg_streams(l, arr);
	}
	return json_pack("{s:b,s:s,s:o}", "ok", 1, "conference", c->id, "streams", arr);
}

json_t *
mdd_ops_api(struct mdd *m, const char *line, size_t len)
{
	static const struct {
		const char *op, *fields;
	} ops[] = {
		{ "drain", " deadline_s cancel " }, { "limits", " conferences endpoints pps busy_pct " },
		{ "log_level", " type level " }, { "stats_interval", " seconds " },
		{ "metrics", " " }, { "conference_stats", " id " },
		{ "streams", " conference endpoint " },
	};
	json_t *o, *r = NULL;
	const char *op, *bad;
	size_t i;
	char quoted[40];

	/* parse only what may be ours: the conference API's requests (ICE
	 * passwords among them) are not copied into a second tree */
	for (i = 0; i < RTE_DIM(ops); i++) {
		int n = snprintf(quoted, sizeof(quoted), "\"%s\"", ops[i].op);

		if (memmem(line, len, quoted, (size_t)n) != NULL)
			break;
	}
	if (i == RTE_DIM(ops))
		return NULL;
	o = json_loadb(line, len, 0, NULL);
	if (o == NULL || !json_is_object(o) || !json_is_string(json_object_get(o, "op"))) {
		json_decref(o);
		return NULL; /* cp_api.c explains what is wrong */
	}
	op = json_string_value(json_object_get(o, "op"));
	for (i = 0; i < RTE_DIM(ops); i++)
		if (strcmp(op, ops[i].op) == 0)
			break;
	if (i == RTE_DIM(ops)) {
		json_decref(o);
		return NULL;
	}
	bad = bad_field(o, ops[i].fields);
	if (bad != NULL)
		r = mdd_api_refuse("unknown field \"%.64s\" for op %s: it "
				   "takes%s(docs/operations.md)", bad, op, ops[i].fields);
	else if (i == 0)
		r = op_drain(m, o);
	else if (i == 1)
		r = op_limits(m, o);
	else if (i == 2)
		r = op_log_level(o);
	else if (i == 3)
		r = op_stats_interval(o);
	else if (i == 4)
		r = json_pack("{s:b,s:o}", "ok", 1, "metrics", mdd_metrics_json(m));
	else if (i == 5)
		r = op_conference_stats(m, o);
	else
		r = op_streams(m, o);
	json_decref(o);
	return r;
}
