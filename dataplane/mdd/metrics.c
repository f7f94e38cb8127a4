/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-mdd's metrics: one collector walks every figure once (the counters'
 * X-macro lists of counters.h and cp.h, the control counters of control.c
 * through mdd_stats_obj, ports, workers, mempool, tables, tunnel, the
 * lifecycle's state) and emits it three ways at the same time: the
 * Prometheus text format (served on GET /metrics by a small non-blocking
 * HTTP/1.1 server in the control loop), JSON (the API's "metrics" op) and
 * a flat snapshot for DPDK telemetry (/perc/... commands). Telemetry
 * callbacks run on the EAL's telemetry thread: they read only the
 * snapshot, which the control thread rebuilds once a second under a mutex.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_telemetry.h>

#include "cp.h"
#include "ops.h"
#include "xdp_port.h"

#define HTTP_CLIENTS 4
#define HTTP_REQ_MAX 4096
#define HTTP_TIMEOUT_MS 5000
#define XSTATS_MAX 256

/* ---- the collector --------------------------------------------------- */

enum grp { G_STATS, G_DROPS, G_SRTP, G_WORKERS, G_PORTS, G_STATE, G__COUNT };
static const char *const grp_cmd[G__COUNT] = {
	"/perc/stats", "/perc/drops", "/perc/srtp", "/perc/workers", "/perc/ports", "/perc/state",
};
static const char *const grp_help[G__COUNT] = {
	"perc-mdd traffic and control plane counters (totals). No parameters",
	"perc-mdd drops by reason (totals over the workers). No parameters",
	"perc-mdd SRTP / SRTCP failures by protocol, reason and direction. No parameters",
	"perc-mdd workers: busy / idle cycles, busy percent. No parameters",
	"perc-mdd ports: packets, bytes, errors, xstats. No parameters",
	"perc-mdd state: tables, mempool, tunnel, drain, admission limits. No parameters",
};

#define SNAP_MAX 4096
struct snap_ent {
	uint8_t grp;
	char key[64];
	uint64_t v;
};

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

struct mx {
	struct buf *txt;             /* Prometheus text, or NULL */
	json_t *js;                  /* JSON, or NULL */
	struct snap_ent *snap;       /* telemetry snapshot, or NULL */
	unsigned n_snap;
	const char *fam;             /* current family */
	enum grp grp;
	bool ratio;                  /* telemetry carries it as percent */
	json_t *fam_samples;
};

static void __attribute__((format(printf, 2, 3)))
bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 65536;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *p = realloc(b->p, cap);

		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

/* HELP text: backslash and newline escaped (exposition format) */
static void
help_escaped(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			bprintf(b, "\\\\");
		else if (*s == '\n')
			bprintf(b, "\\n");
		else
			bprintf(b, "%c", *s);
	}
}

/* Start a metric family: name (without the perc_mdd_ prefix), TYPE
 * "counter" (name ends in _total) or "gauge". */
static void
fam(struct mx *x, enum grp g, const char *name, const char *type, const char *help)
{
	x->fam = name;
	x->grp = g;
	x->ratio = strstr(name, "_ratio") != NULL;
	if (x->txt != NULL) {
		bprintf(x->txt, "# HELP perc_mdd_%s ", name);
		help_escaped(x->txt, help);
		bprintf(x->txt, "\n# TYPE perc_mdd_%s %s\n", name, type);
	}
	if (x->js != NULL) {
		x->fam_samples = json_array();
		json_object_set_new(x->js, name, json_pack("{s:s,s:s,s:o}", "type", type, "help",
							   help, "samples", x->fam_samples));
	}
}

static bool
label_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

/* One sample of the current family with up to three labels: lab holds
 * name, value pairs, NULL-terminated (NULL: none). */
static void
smpl(struct mx *x, const char *const *lab, double v)
{
	unsigned nl = 0;

	while (lab != NULL && nl < 3 && lab[2 * nl] != NULL)
		nl++;
	if (x->txt != NULL) {
		bprintf(x->txt, "perc_mdd_%s", x->fam);
		for (unsigned i = 0; i < nl; i++) {
			/* label values here are ids, names and numbers: anything odd is
			 * replaced rather than quoted */
			bprintf(x->txt, "%s%s=\"", i == 0 ? "{" : ",", lab[2 * i]);
			for (const char *c = lab[2 * i + 1]; *c; c++)
				bprintf(x->txt, "%c", label_char_ok(*c) ? *c : '_');
			bprintf(x->txt, "\"%s", i + 1 == nl ? "}" : "");
		}
		if (v == (double)(uint64_t)v)
			bprintf(x->txt, " %" PRIu64 "\n", (uint64_t)v);
		else
			bprintf(x->txt, " %.6g\n", v);
	}
	if (x->js != NULL) {
		json_t *o = json_object();

		for (unsigned i = 0; i < nl; i++)
			json_object_set_new(o, lab[2 * i], json_string(lab[2 * i + 1]));
		json_object_set_new(o, "value", v == (double)(uint64_t)v ?
					       json_integer((json_int_t)(uint64_t)v) : json_real(v));
		json_array_append_new(x->fam_samples, o);
	}
	if (x->snap != NULL && x->n_snap < SNAP_MAX) {
		struct snap_ent *e = &x->snap[x->n_snap++];
		size_t off;
		char *p;

		e->grp = (uint8_t)x->grp;
		/* telemetry has no labels: name_value1_value2..., totals without
		 * _total; ratios as percent (the dicts carry integers here) */
		off = (size_t)snprintf(e->key, sizeof(e->key), "%s", x->fam);
		p = strstr(e->key, "_total");
		if (p != NULL) {
			*p = '\0';
			off = (size_t)(p - e->key);
		}
		for (unsigned i = 0; i < nl && off < sizeof(e->key); i++)
			off += (size_t)snprintf(e->key + off, sizeof(e->key) - off, "_%s",
						lab[2 * i + 1]);
		for (p = e->key; *p; p++)
			if (!label_char_ok(*p))
				*p = '_';
		e->v = x->ratio ? (uint64_t)(v * 100.0 + 0.5) : (uint64_t)v;
	}
}

static void
smp(struct mx *x, const char *k1, const char *v1, const char *k2, const char *v2, double v)
{
	const char *lab[] = { k1, v1, k2, v2, NULL, NULL };

	smpl(x, k1 != NULL ? lab : NULL, v);
}

static void
smp0(struct mx *x, double v)
{
	smp(x, NULL, NULL, NULL, NULL, v);
}

/* the dataplane counters (counters.h): traffic per worker, drops by reason */
static void
collect_counters(struct mx *x, const struct mdd *m)
{
	char name[96], w[16];

	for (unsigned i = 0; i < MDD_DROP_FIRST; i++) {
		snprintf(name, sizeof(name), "%s_total", mdd_ctr_name(i));
		fam(x, G_STATS, name, "counter", mdd_ctr_desc(i));
		if (x->snap != NULL && x->txt == NULL && x->js == NULL) {
			/* telemetry: the total only */
			smp0(x, (double)mdd_counter_total(m, i));
			continue;
		}
		for (unsigned k = 0; k < m->n_workers; k++) {
			snprintf(w, sizeof(w), "%u", k);
			smp(x, "worker", w, NULL, NULL,
			    (double)__atomic_load_n(&m->workers[k].ctr.c[i], __ATOMIC_RELAXED));
		}
	}
	fam(x, G_DROPS, "drops_total", "counter",
	    "packets dropped, by reason (docs/operations.md lists each reason)");
	for (unsigned i = MDD_DROP_FIRST; i < MDD_C__COUNT; i++)
		smp(x, "reason", mdd_ctr_name(i), NULL, NULL, (double)mdd_counter_total(m, i));
	/* SRTP / SRTCP failures: the drop reasons named srtp_* and srtcp_* are
	 * inbound (opening the hop-by-hop layer), seal_failed is outbound */
	fam(x, G_SRTP, "srtp_failures_total", "counter",
	    "SRTP and SRTCP failures by protocol, reason and direction (in: opening, out: sealing)");
	for (unsigned i = MDD_DROP_FIRST; i < MDD_C__COUNT; i++) {
		const char *n = mdd_ctr_name(i);

		if (strncmp(n, "srtp_", 5) == 0 || strncmp(n, "srtcp_", 6) == 0) {
			size_t pl = n[4] == '_' ? 4 : 5;
			const char *lab[] = { "proto", pl == 4 ? "srtp" : "srtcp", "reason", n + pl + 1,
					      "direction", "in", NULL };

			smpl(x, lab, (double)mdd_counter_total(m, i));
		} else if (strcmp(n, "seal_failed") == 0) {
			const char *lab[] = { "proto", "any", "reason", "seal", "direction", "out",
					      NULL };

			smpl(x, lab, (double)mdd_counter_total(m, i));
		}
	}
}

/* the control plane's counters (cp.h) and control.c's (through its JSON) */
static void
collect_cp(struct mx *x, const struct mdd *m)
{
	char name[96];
	json_t *st = mdd_stats_obj(m), *ctl = json_object_get(st, "control"), *v;
	const char *k, *help;

	for (unsigned i = 0; i < MDD_CP__COUNT; i++) {
		snprintf(name, sizeof(name), "cp_%s_total", mdd_cp_names[i]);
		fam(x, G_STATS, name, "counter", mdd_cp_descs[i]);
		smp0(x, (double)g_cp.c[i]);
	}
	json_object_foreach(ctl, k, v) {
		/* conferences / endpoints are gauges, exported with the tables */
		if (!json_is_integer(v) || strcmp(k, "conferences") == 0 ||
		    strcmp(k, "endpoints") == 0)
			continue;
		snprintf(name, sizeof(name), "control_%s_total", k);
		help = mdd_ctl_ctr_desc(k);
		if (strcmp(k, "keys_retired") == 0)
			help = "hop-by-hop keys retired: zeroized and freed after a rekey or removal";
		else if (strcmp(k, "reloads") == 0)
			help = "provisioning file reloads (SIGHUP)";
		fam(x, G_STATS, name, "counter", help != NULL ? help : "control thread counter");
		smp0(x, (double)json_integer_value(v));
	}
	json_decref(st);
}

static void
collect_workers(struct mx *x, const struct mdd *m)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} cyc[] = {
		{ "worker_busy_cycles_total", "TSC cycles a worker spent on bursts that carried frames",
		  offsetof(struct mdd_worker, busy_cycles) },
		{ "worker_idle_cycles_total", "TSC cycles a worker spent polling empty queues",
		  offsetof(struct mdd_worker, idle_cycles) },
	};
	char w[16], lc[16];

	for (size_t i = 0; i < RTE_DIM(cyc); i++) {
		fam(x, G_WORKERS, cyc[i].name, "counter", cyc[i].help);
		for (unsigned k = 0; k < m->n_workers; k++) {
			const uint64_t *v = (const uint64_t *)((const char *)&m->workers[k] +
							       cyc[i].off);

			snprintf(w, sizeof(w), "%u", k);
			snprintf(lc, sizeof(lc), "%u", m->workers[k].lcore);
			smp(x, "worker", w, "lcore", lc, (double)__atomic_load_n(v, __ATOMIC_RELAXED));
		}
	}
	fam(x, G_WORKERS, "worker_busy_ratio", "gauge",
	    "share of the last second a worker was busy (0..1; telemetry: percent)");
	for (unsigned k = 0; k < m->n_workers; k++) {
		snprintf(w, sizeof(w), "%u", k);
		smp(x, "worker", w, NULL, NULL, g_ops.busy[k]);
	}
}

static void
collect_ports(struct mx *x, const struct mdd *m)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} st[] = {
#define PSTAT_(n, f, h) { n, h, offsetof(struct rte_eth_stats, f) }
		PSTAT_("port_rx_packets_total", ipackets, "packets the port received"),
		PSTAT_("port_tx_packets_total", opackets, "packets the port sent"),
		PSTAT_("port_rx_bytes_total", ibytes, "bytes the port received"),
		PSTAT_("port_tx_bytes_total", obytes, "bytes the port sent"),
		PSTAT_("port_rx_missed_total", imissed,
		       "packets the NIC dropped: RX queues full (imissed)"),
		PSTAT_("port_rx_errors_total", ierrors, "erroneous packets received (ierrors)"),
		PSTAT_("port_tx_errors_total", oerrors, "packets the port failed to send (oerrors)"),
		PSTAT_("port_rx_nombuf_total", rx_nombuf, "RX mbuf allocation failures"),
#undef PSTAT_
	};
	struct rte_eth_stats es[MDD_MAX_PORTS];
	char p[16];

	for (unsigned i = 0; i < m->n_ports; i++)
		if (rte_eth_stats_get(m->ports[i], &es[i]) != 0)
			memset(&es[i], 0, sizeof(es[i]));
	for (size_t s = 0; s < RTE_DIM(st); s++) {
		fam(x, G_PORTS, st[s].name, "counter", st[s].help);
		for (unsigned i = 0; i < m->n_ports; i++) {
			snprintf(p, sizeof(p), "%u", m->ports[i]);
			smp(x, "port", p, NULL, NULL,
			    (double)*(const uint64_t *)((const char *)&es[i] + st[s].off));
		}
	}
	fam(x, G_PORTS, "port_xstats_total", "counter",
	    "the driver's extended statistics (rte_eth_xstats), by name");
	for (unsigned i = 0; i < m->n_ports; i++) {
		struct rte_eth_xstat xs[XSTATS_MAX];
		struct rte_eth_xstat_name xn[XSTATS_MAX];
		int n = rte_eth_xstats_get(m->ports[i], xs, XSTATS_MAX);

		if (n <= 0 || n > XSTATS_MAX ||
		    rte_eth_xstats_get_names(m->ports[i], xn, XSTATS_MAX) != n)
			continue;
		snprintf(p, sizeof(p), "%u", m->ports[i]);
		for (int k = 0; k < n; k++)
			if (xs[k].id < (uint64_t)n)
				smp(x, "port", p, "stat", xn[xs[k].id].name, (double)xs[k].value);
	}
}

/* perc's XDP program on net_af_xdp ports (docs/afxdp.md): what it sent to
 * perc-mdd and what it passed to the kernel, summed over CPUs and ports */
static void
collect_xdp(struct mx *x)
{
	struct mdd_xdp_counters xc;

	if (mdd_xdp_counters(&xc) != 0 || xc.ports == 0)
		return;
	fam(x, G_PORTS, "xdp_ports", "gauge", "net_af_xdp ports running perc's XDP program");
	smp0(x, xc.ports);
	fam(x, G_PORTS, "xdp_frames_total", "counter",
	    "frames perc's XDP program saw, by result: redirected to perc-mdd, or passed_* / "
	    "malformed to the kernel (docs/afxdp.md)");
	for (unsigned i = 0; i < PERC_XDP__COUNT; i++)
		smp(x, "result", mdd_xdp_ctr_name(i), NULL, NULL, (double)xc.c[i]);
}

static void
collect_state(struct mx *x, const struct mdd *m)
{
	json_t *tun = mdd_tun_stats();

	fam(x, G_STATE, "conferences", "gauge", "conferences (file and API)");
	smp0(x, m->n_confs);
	fam(x, G_STATE, "endpoints", "gauge", "endpoints (file and API)");
	smp0(x, m->n_legs);
	fam(x, G_STATE, "endpoint_table_used", "gauge", "endpoint addresses in the lookup table");
	smp0(x, m->legs_by_addr != NULL ? rte_hash_count(m->legs_by_addr) : 0);
	fam(x, G_STATE, "mempool_in_use", "gauge", "mbufs in use (rte_mempool_in_use_count)");
	smp0(x, m->pool != NULL ? rte_mempool_in_use_count(m->pool) : 0);
	fam(x, G_STATE, "mempool_size", "gauge", "mbufs in the pool");
	smp0(x, m->pool != NULL ? m->pool->size : 0);
	fam(x, G_STATE, "ingress_pps", "gauge", "frames received in the last full second");
	smp0(x, (double)g_ops.pps);
	fam(x, G_STATE, "tunnel_up", "gauge", "1 when the tunnel to the Key Distributor is up");
	smp0(x, mdd_tun_up() ? 1 : 0);
	fam(x, G_STATE, "tunnel_connects_total", "counter", "tunnel connections established");
	smp0(x, (double)json_integer_value(json_object_get(tun, "connects")));
	fam(x, G_STATE, "tunnel_failures_total", "counter", "tunnel connection attempts that failed");
	smp0(x, (double)json_integer_value(json_object_get(tun, "failures")));
	fam(x, G_STATE, "tunnel_errors_total", "counter", "tunnel protocol errors");
	smp0(x, (double)json_integer_value(json_object_get(tun, "errors")));
	json_decref(tun);
	fam(x, G_STATE, "draining", "gauge", "1 while draining (new conferences and endpoints refused)");
	smp0(x, g_ops.draining ? 1 : 0);
	fam(x, G_STATE, "admission_limit", "gauge", "admission limits (0: none)");
	smp(x, "limit", "conferences", NULL, NULL, g_ops.lim.conferences);
	smp(x, "limit", "endpoints", NULL, NULL, g_ops.lim.endpoints);
	smp(x, "limit", "pps", NULL, NULL, (double)g_ops.lim.pps);
	smp(x, "limit", "busy_pct", NULL, NULL, g_ops.lim.busy_pct);
	fam(x, G_STATE, "admission_refused_total", "counter",
	    "conference_create / endpoint_add refused, by what and why");
	smp(x, "what", "conference", "reason", "draining", (double)g_ops.refused_conf_drain);
	smp(x, "what", "conference", "reason", "conferences", (double)g_ops.refused_conf_limit);
	smp(x, "what", "endpoint", "reason", "draining", (double)g_ops.refused_ep_drain);
	smp(x, "what", "endpoint", "reason", "endpoints", (double)g_ops.refused_ep_limit);
	smp(x, "what", "endpoint", "reason", "pps", (double)g_ops.refused_ep_pps);
	smp(x, "what", "endpoint", "reason", "busy", (double)g_ops.refused_ep_busy);
	fam(x, G_STATE, "uptime_seconds", "gauge", "seconds since start");
	smp0(x, (double)((mdd_now_ms() - g_ops.start_ms) / 1000));
}

static void
collect(struct mx *x, const struct mdd *m)
{
	collect_counters(x, m);
	collect_cp(x, m);
	collect_workers(x, m);
	collect_ports(x, m);
	collect_xdp(x);
	collect_state(x, m);
}

char *
mdd_metrics_text(struct mdd *m, size_t *len)
{
	struct buf b = { 0 };
	struct mx x = { .txt = &b };

	collect(&x, m);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

json_t *
mdd_metrics_json(struct mdd *m)
{
	struct mx x = { .js = json_object() };

	collect(&x, m);
	return x.js;
}

/* ---- telemetry --------------------------------------------------------- */

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snap_ent *snap;
static unsigned n_snap;

static void
snap_refresh(struct mdd *m)
{
	struct mx x = { .snap = malloc(SNAP_MAX * sizeof(struct snap_ent)) };
	struct snap_ent *old;

	if (x.snap == NULL)
		return;
	collect(&x, m);
	pthread_mutex_lock(&snap_lock);
	old = snap;
	snap = x.snap;
	n_snap = x.n_snap;
	pthread_mutex_unlock(&snap_lock);
	free(old);
}

static int
tel_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	unsigned g, added = 0;

	(void)params;
	for (g = 0; g < G__COUNT; g++)
		if (strcmp(cmd, grp_cmd[g]) == 0)
			break;
	if (g == G__COUNT)
		return -1;
	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&snap_lock);
	for (unsigned i = 0; i < n_snap && added < RTE_TEL_MAX_DICT_ENTRIES; i++)
		if (snap[i].grp == g) {
			rte_tel_data_add_dict_u64(d, snap[i].key, snap[i].v);
			added++;
		}
	pthread_mutex_unlock(&snap_lock);
	return 0;
}

/* ---- HTTP ----------------------------------------------------------------- */

struct hclient {
	int fd;
	size_t in_len;
	char in[HTTP_REQ_MAX + 1];
	char *out;
	size_t out_len, out_off;
	uint64_t since_ms;
};

static int http_fd = -1;
static struct hclient hc[HTTP_CLIENTS];

static int
parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host) || colon == s)
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		host[strlen(host) - 1] = '\0';
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*a);
		return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0 : -1;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	*sl = sizeof(*a);
	return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

int
mdd_metrics_init(struct mdd *m, const char *addr, bool explicit, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	for (unsigned g = 0; g < G__COUNT; g++)
		if (rte_telemetry_register_cmd(grp_cmd[g], tel_cb, grp_help[g]) != 0)
			MDD_LOG(WARNING, CONTROL, "telemetry command %s not registered (telemetry "
				"disabled?): /metrics and the API still have every figure", grp_cmd[g]);
	snap_refresh(m);
	for (int i = 0; i < HTTP_CLIENTS; i++)
		hc[i].fd = -1;
	if (addr == NULL || strcmp(addr, "off") == 0)
		return 0;
	if (parse_hostport(addr, &ss, &sl) != 0) {
		snprintf(err, errlen, "--metrics '%s': give IPv4:PORT, [IPv6]:PORT or off "
			 "(default " MDD_METRICS_DEFAULT ")", addr);
		return -1;
	}
	http_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (http_fd >= 0)
		setsockopt(http_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (http_fd < 0 || bind(http_fd, (struct sockaddr *)&ss, sl) != 0 ||
	    listen(http_fd, 8) != 0) {
		if (!explicit && errno == EADDRINUSE) {
			/* the default address, taken (another perc-mdd on this host):
			 * run without /metrics rather than not at all */
			MDD_LOG(WARNING, CONTROL, "metrics: %s is in use: no /metrics (give "
				"--metrics ADDR:PORT; telemetry and the API have every figure)",
				addr);
			close(http_fd);
			http_fd = -1;
			return 1;
		}
		snprintf(err, errlen, "--metrics %s: cannot listen: %s (port taken? another "
			 "address, or --metrics off)", addr, strerror(errno));
		if (http_fd >= 0)
			close(http_fd);
		http_fd = -1;
		return -1;
	}
	MDD_LOG(INFO, CONTROL, "metrics on http://%s/metrics", addr);
	return 0;
}

static void
hc_close(struct hclient *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	c->out = NULL;
	c->fd = -1;
	c->in_len = c->out_len = c->out_off = 0;
}

static void
respond(struct hclient *c, const char *status, const char *extra, const char *ctype,
	const char *body, size_t blen, bool head)
{
	struct buf b = { 0 };

	bprintf(&b, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
		    "Connection: close\r\n\r\n", status, ctype, blen, extra);
	if (!head && !b.oom) {
		if (b.cap - b.len < blen + 1) {
			char *p = realloc(b.p, b.len + blen + 1);

			if (p == NULL)
				b.oom = true;
			else
				b.p = p;
		}
		if (!b.oom) {
			memcpy(b.p + b.len, body, blen);
			b.len += blen;
		}
	}
	if (b.oom) {
		free(b.p);
		hc_close(c);
		return;
	}
	c->out = b.p;
	c->out_len = b.len;
	c->out_off = 0;
}

static void
hc_request(struct mdd *m, struct hclient *c)
{
	char method[16], path[256];
	bool head;

	c->in[c->in_len] = '\0';
	if (sscanf(c->in, "%15s %255s", method, path) != 2) {
		static const char msg[] = "bad request: send GET /metrics\n";

		respond(c, "400 Bad Request", "", "text/plain", msg, sizeof(msg) - 1, false);
		return;
	}
	head = strcmp(method, "HEAD") == 0;
	if (strcmp(method, "GET") != 0 && !head) {
		static const char msg[] = "only GET (and HEAD) on /metrics\n";

		respond(c, "405 Method Not Allowed", "Allow: GET, HEAD\r\n", "text/plain", msg,
			sizeof(msg) - 1, false);
		return;
	}
	if (strcmp(path, "/metrics") != 0 && strncmp(path, "/metrics?", 9) != 0) {
		static const char msg[] = "not found: perc-mdd serves /metrics only\n";

		respond(c, "404 Not Found", "", "text/plain", msg, sizeof(msg) - 1, head);
		return;
	}
	size_t len;
	char *txt = mdd_metrics_text(m, &len);

	if (txt == NULL) {
		static const char msg[] = "out of memory\n";

		respond(c, "500 Internal Server Error", "", "text/plain", msg, sizeof(msg) - 1, head);
		return;
	}
	respond(c, "200 OK", "", "text/plain; version=0.0.4; charset=utf-8", txt, len, head);
	free(txt);
}

static void
hc_read(struct mdd *m, struct hclient *c)
{
	ssize_t n = read(c->fd, c->in + c->in_len, HTTP_REQ_MAX - c->in_len);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		hc_close(c);
		return;
	}
	if (n < 0)
		return;
	c->in_len += (size_t)n;
	c->in[c->in_len] = '\0';
	if (strstr(c->in, "\r\n\r\n") != NULL || strstr(c->in, "\n\n") != NULL) {
		hc_request(m, c);
		return;
	}
	if (c->in_len >= HTTP_REQ_MAX) {
		static const char msg[] = "request header larger than 4096 bytes\n";

		respond(c, "431 Request Header Fields Too Large", "", "text/plain", msg,
			sizeof(msg) - 1, false);
	}
}

static void
hc_write(struct hclient *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				hc_close(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	hc_close(c); /* Connection: close */
}

static void
http_poll(struct mdd *m)
{
	struct pollfd pf[HTTP_CLIENTS + 1];
	int map[HTTP_CLIENTS + 1], n = 0;
	uint64_t now = mdd_now_ms();

	if (http_fd < 0)
		return;
	pf[n].fd = http_fd;
	pf[n].events = POLLIN;
	map[n++] = -1;
	for (int i = 0; i < HTTP_CLIENTS; i++) {
		if (hc[i].fd >= 0 && now - hc[i].since_ms > HTTP_TIMEOUT_MS)
			hc_close(&hc[i]); /* slow or silent client */
		if (hc[i].fd < 0)
			continue;
		pf[n].fd = hc[i].fd;
		pf[n].events = hc[i].out != NULL ? POLLOUT : POLLIN;
		map[n++] = i;
	}
	if (poll(pf, (nfds_t)n, 0) <= 0)
		return;
	for (int k = 1; k < n; k++) {
		struct hclient *c = &hc[map[k]];

		if (c->out == NULL && (pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
			hc_read(m, c);
		if (c->fd >= 0 && c->out != NULL)
			hc_write(c);
	}
	if (pf[0].revents & POLLIN) {
		int fd;

		while ((fd = accept4(http_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
			int i;

			for (i = 0; i < HTTP_CLIENTS && hc[i].fd >= 0; i++)
				;
			if (i == HTTP_CLIENTS) {
				close(fd); /* a few scrapers at a time; the rest retry */
				continue;
			}
			hc[i].fd = fd;
			hc[i].since_ms = now;
		}
	}
}

void
mdd_metrics_poll(struct mdd *m, bool second)
{
	http_poll(m);
	if (second)
		snap_refresh(m);
}

void
mdd_metrics_fini(void)
{
	for (int i = 0; i < HTTP_CLIENTS; i++)
		if (hc[i].fd >= 0)
			hc_close(&hc[i]);
	if (http_fd >= 0)
		close(http_fd);
	http_fd = -1;
	/* telemetry commands stay registered until rte_eal_cleanup: answer empty */
	pthread_mutex_lock(&snap_lock);
	free(snap);
	snap = NULL;
	n_snap = 0;
	pthread_mutex_unlock(&snap_lock);
}
