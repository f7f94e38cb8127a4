/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * perc-mdd operations (docs/operations.md): metrics (Prometheus /metrics,
 * DPDK telemetry /perc/..., the API's "metrics" op; metrics.c) and the
 * lifecycle (drain, admission limits, log types and levels, rate-limited
 * drop summaries, systemd notification; lifecycle.c). Everything here runs
 * on the control thread, except the telemetry callbacks, which read only a
 * snapshot the control thread publishes under a mutex.
 */
#ifndef MDD_OPS_H
#define MDD_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <rte_log.h>

#include "mdd.h"

/** Default --metrics address. */
#define MDD_METRICS_DEFAULT "127.0.0.1:9464"

/** rte_log types of perc-mdd (registered by mdd_ops_init). */
enum mdd_logtype {
	MDD_LOG_DATAPLANE,   /**< perc.mdd.dataplane: drops, ports, workers */
	MDD_LOG_CONTROL,     /**< perc.mdd.control: lifecycle, drain, limits */
	MDD_LOG_ICE,         /**< perc.mdd.ice */
	MDD_LOG_TUNNEL,      /**< perc.mdd.tunnel */
	MDD_LOG_API,         /**< perc.mdd.api */
	MDD_LOG__COUNT
};

/** The rte_log type ids (log.c): RTE_LOGTYPE_USER1 until mdd_log_register(). */
extern int mdd_logtypes[MDD_LOG__COUNT];
/** "perc.mdd.dataplane", ... indexed by enum mdd_logtype. */
extern const char *const mdd_logtype_names[MDD_LOG__COUNT];

/** Register the log types (once; later calls do nothing), each at the
 *  level an EAL --log-level given at start names, else info. */
void mdd_log_register(void);

/**
 * Just before rte_eal_init(argc, argv): when stderr is the systemd
 * journal's stream ($JOURNAL_STREAM) and no EAL --syslog was given, every
 * rte_log line (the EAL's too) goes there once, with an sd-daemon "<N>"
 * priority prefix, instead of the EAL's stderr + syslog copies
 * (docs/operations.md "Logging"). Otherwise nothing changes.
 *
 * @return where the lines go, in words (for the start-up log).
 */
const char *mdd_log_open(int argc, char **argv);

/**
 * Whether control-plane counter @p cp (MDD_CP_*, cp.h) has just counted
 * its first event since the last rate-limited summary (lifecycle.c, every
 * 10 s). Events a peer can repeat at packet rate log their details for
 * that first one only; the summary line gives the count of all of them.
 */
bool mdd_log_first(unsigned cp);

/** Log through rte_log with the subsystem's type: MDD_LOG(WARNING, CONTROL, "..."). */
#define MDD_LOG(level, sub, fmt, ...) \
	rte_log(RTE_LOG_##level, mdd_logtypes[MDD_LOG_##sub], "perc-mdd: " fmt "\n", ##__VA_ARGS__)

/** Admission limits (0 = none). */
struct mdd_limits {
	uint32_t conferences;
	uint32_t endpoints;
	uint64_t pps;        /**< ingress frames per second (last full second) */
	uint32_t busy_pct;   /**< busiest worker's busy share over the last second */
};

/**
 * Take perc-mdd's operations options out of argv (after the EAL's):
 * --metrics ADDR:PORT|off, --limits K=V[,K=V...]. The rest is left for
 * perc-mdd's own parser. stats_interval is the main loop's setting, which
 * the API's "stats_interval" op changes. 0, or -1 (message on stderr).
 */
int mdd_ops_args(int *argc, char **argv, double *stats_interval);

/** Log types, the metrics listener, telemetry commands. 0 or -1 (err). */
int mdd_ops_init(struct mdd *m, char *err, size_t errlen);
/** Workers are running: READY=1 to systemd. */
void mdd_ops_ready(struct mdd *m);
/** Once per control-loop round: HTTP clients, per-second rates, watchdog,
 *  drain, drop summaries. Sets m->stop when a drain is over. */
void mdd_ops_tick(struct mdd *m);
/** After the workers stopped: STOPPING=1, final counters logged, listener
 *  closed. Returns the exit status the run deserves (0). */
int mdd_ops_fini(struct mdd *m);

/**
 * The API's operations ops (drain, limits, log_level, stats_interval,
 * metrics, conference_stats), or NULL when line is another op (cp_api.c
 * then parses it).
 */
json_t *mdd_ops_api(struct mdd *m, const char *line, size_t len);

/** Whether a new conference (endpoint false) or endpoint (true) may come
 *  in: 0, or -1 with the refusal for the client in err. */
int mdd_ops_admit(struct mdd *m, bool endpoint, char *err, size_t errlen);

/* lifecycle.c, read by metrics.c */
struct mdd_ops_state {
	struct mdd_limits lim;
	bool draining;
	uint64_t drain_deadline_ms;       /**< monotonic; 0 = none */
	uint64_t pps;                     /**< last full second */
	double busy[MDD_MAX_WORKERS];     /**< share over the last second, 0..1 */
	double busy_max;
	uint64_t refused_conf_drain, refused_conf_limit;
	uint64_t refused_ep_drain, refused_ep_limit, refused_ep_pps, refused_ep_busy;
	uint64_t start_ms;
};
extern struct mdd_ops_state g_ops;

/* control.c: a control counter's description by name, or NULL */
const char *mdd_ctl_ctr_desc(const char *name);

/* metrics.c */
/** Open the /metrics listener at "ADDR:PORT" (NULL or "off": none). An
 *  address in use is an error when explicit (--metrics), else a warning
 *  and 1 (running without /metrics). 0, 1 or -1 (err). */
int mdd_metrics_init(struct mdd *m, const char *addr, bool explicit, char *err, size_t errlen);
/** Serve HTTP clients; refresh the telemetry snapshot once a second. */
void mdd_metrics_poll(struct mdd *m, bool second);
void mdd_metrics_fini(void);
/** Every metric as JSON (the API's "metrics" op). */
json_t *mdd_metrics_json(struct mdd *m);
/** Every metric in the Prometheus text format; malloc'd, *len set. */
char *mdd_metrics_text(struct mdd *m, size_t *len);

#endif
