/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-mdd: the PERC Media Distribution Device.
 *
 *   perc-mdd [EAL options] -- --addr IP [--addr IP ...] --port N [--provision FILE]
 *            [--api PATH] [--kd HOST:PORT --kd-cert F --kd-key F --kd-ca F]
 *
 * Lifecycle as in DPDK's l2fwd: EAL init, the application's options after
 * "--", ports, workers launched on every worker lcore, the control loop on
 * the main lcore, then stop and close ports and rte_eal_cleanup().
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include <jansson.h>

#include "config.h"
#include "cp.h"
#include "mdd.h"
#include "preflight.h"  /* issue 6 */
#include "xdp_port.h"   /* issue 6 */
#include "ops.h"
#include "capture.h"  /* issue 6: capture */

#define DEFAULT_PORT 3478
#define RXD 1024
#define TXD 1024

static const char usage_text[] =
	"usage: perc-mdd [EAL options] -- [options]\n"
	"       perc-mdd --config FILE [--check-config] [EAL options] [-- [options]]\n"
	"\n"
	"The PERC Media Distribution Device: forwards double-encrypted SRTP (RFC 8723)\n"
	"and plain SRTP between the endpoints of each conference, opening and re-sealing\n"
	"only the hop-by-hop layer. Every port the EAL brings up carries media; each\n"
	"worker lcore gets one RX and one TX queue per port; the main lcore runs the\n"
	"control loop. Needs at least one worker lcore (e.g. EAL -l 0-1).\n"
	"\n"
	"options:\n"
	"  --addr IP            a media address of this MDD (IPv4 or IPv6; repeatable)\n"
	"  --port N             the UDP port for all media (default 3478)\n"
	"  --provision FILE     conferences, endpoints and hop-by-hop keys (JSON; see\n"
	"                       docs/provisioning.md); optional with --api\n"
	"  --api PATH           conference API Unix socket (JSON lines; mddctl talks to\n"
	"                       it; docs/mdd-control.md), e.g. /run/perc-mdd.sock\n"
	"  --kd HOST:PORT       Key Distributor tunnel (RFC 9185 over TLS 1.3) to keep\n"
	"                       connected; needs the three files below\n"
	"  --kd-cert FILE       the MDD's client certificate (PEM)\n"
	"  --kd-key FILE        its private key (PEM)\n"
	"  --kd-ca FILE         certificate(s) trusted for the KD's server certificate\n"
	"  --consent-timeout MS no authenticated STUN request from an API endpoint this\n"
	"                       long: it is removed (RFC 7675; default 30000)\n"
	"  --media-timeout MS   no media from a keyed API endpoint this long:\n"
	"                       EndpointDisconnect to the KD (default 5000; 0 = off)\n"
	"  --arch A             crypto code path: auto (default), sse, avx, avx2, avx512;\n"
	"                       libsrtp runs the same pipeline on libsrtp2 per packet\n"
	"                       (the baseline for benchmarks; one worker only)\n"
	"  --stats-interval S   one-line summary every S seconds (default 1; 0 = off)\n"
	"  --stats-json FILE    write every counter as JSON on exit\n"
	"  --exit-when-idle MS  exit after MS milliseconds without a received frame\n"
	"                       (for pcap replays); waits for the first frame\n"
	"  --udp-csum           check UDP checksums of IPv4 input and write them on\n"
	"                       IPv4 output (IPv6 always)\n"
	"  --mbufs N            mbufs in the pool (default 16383)\n"
	"  --max-endpoints N    size of the endpoint table (default 16384)\n"
	"  --capture-dir DIR    the only directory API captures may write to (default\n"
	"                       " MDD_CAP_DIR_DEFAULT "; docs/operations.md)\n"
	"  -h, --help           this text\n"
	"  --preflight          only run the pre-flight checks, print each, exit 0 / 1\n"
	"  --no-preflight       start without them (docs/preflight.md)\n"
	"\n"
	"Before EAL init perc-mdd checks hugepages, hugetlbfs, stale hugepage files,\n"
	"IOMMU / vfio-pci for PCI ports, the memlock limit, the CPU of --arch and the\n"
	"XDP program of net_af_xdp ports; a failure names its fix and exits 69.\n"
	"\n"
	"AF_XDP (docs/afxdp.md): --vdev net_af_xdp0,iface=IF,xdp_prog=perc_xdp.bpf.o\n"
	"sends only UDP to --addr:--port to perc-mdd, the rest to the kernel.\n"
	"\n"
	"operations (docs/operations.md):\n"
	"  --metrics ADDR:PORT  Prometheus /metrics over HTTP (default 127.0.0.1:9464;\n"
	"                       [IPv6]:PORT; off = none); DPDK telemetry /perc/... too\n"
	"  --limits K=N,...     admission limits: conferences, endpoints, pps (ingress\n"
	"                       packets/s), busy_pct (busiest worker); 0 = none\n"
	"  The API ops drain, limits, log_level, stats_interval, metrics,\n"
	"  conference_stats and streams (per-stream counters) change and read\n"
	"  these while running (mddctl).\n"
	"\n"
	"configuration file (docs/configuration.md):\n"
	"  --config FILE        read everything from an INI file: [eal] 'args = ...'\n"
	"                       (the EAL arguments), [dataplane], [control], [kd],\n"
	"                       [metrics] hold the options above by their long names\n"
	"                       ('addr = 192.0.2.1', 'udp-csum = true'), [logging]\n"
	"                       'log-level = perc.mdd.*:debug' and 'syslog = daemon'\n"
	"                       (the EAL's). Options after -- on the command line\n"
	"                       replace the file's; EAL options are added after its.\n"
	"  --check-config       with --config: check the file and every value (files\n"
	"                       that must exist, addresses), print the effective\n"
	"                       settings, start nothing; exit 0, or 78 with FILE:LINE.\n"
	"  A bad file exits with 78 and the line. Example: docs/perc-mdd.conf.example.\n"
	"\n"
	"SIGHUP reads the provisioning file again: conferences added to or removed from\n"
	"it are added and removed, changed keys of running endpoints are replaced\n"
	"without a lost packet. SIGINT / SIGTERM stop after the running bursts.\n"
	"\n"
	"example (no NIC):\n"
	"  perc-mdd --no-huge -m 512 -l 0-1 --vdev net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap \\\n"
	"      -- --addr 192.0.2.1 --port 3478 --provision prov.json --exit-when-idle 500\n";

struct opts {
	const char *provision;
	struct mdd_cp_opts cp;
	unsigned max_endpoints;
	const char *stats_json;
	int arch;
	double stats_interval;
	long idle_ms;
	unsigned mbufs;
};

static volatile sig_atomic_t reload_requested;
/* fail() writes here instead of stderr while a file's value is checked */
static char *fail_buf;
static size_t fail_len;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		g_mdd.stop = true;
}

static int __attribute__((format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	if (fail_buf != NULL) {
		va_start(ap, fmt);
		vsnprintf(fail_buf, fail_len, fmt, ap);
		va_end(ap);
		return -1;
	}
	fprintf(stderr, "perc-mdd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see perc-mdd -- --help)\n");
	return -1;
}

/* partial: one option of a configuration file, without the checks of the whole */
static int
parse_opts(int argc, char **argv, struct opts *o, bool partial)
{
	static const struct option lo[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "provision", required_argument, NULL, 'P' },
		{ "arch", required_argument, NULL, 'A' },
		{ "stats-interval", required_argument, NULL, 's' },
		{ "stats-json", required_argument, NULL, 'j' },
		{ "exit-when-idle", required_argument, NULL, 'i' },
		{ "udp-csum", no_argument, NULL, 'c' },
		{ "mbufs", required_argument, NULL, 'm' },
		{ "max-endpoints", required_argument, NULL, 'E' },
		{ "api", required_argument, NULL, 'S' },
		{ "kd", required_argument, NULL, 'K' },
		{ "kd-cert", required_argument, NULL, 'C' },
		{ "kd-key", required_argument, NULL, 'k' },
		{ "kd-ca", required_argument, NULL, 'R' },
		{ "consent-timeout", required_argument, NULL, 'T' },
		{ "media-timeout", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	char *end;

	o->arch = PERC_ARCH_AUTO;
	o->stats_interval = 1;
	o->idle_ms = -1;
	o->mbufs = 16383;
	o->max_endpoints = 16384;
	o->cp.consent_ms = 30000;
	o->cp.media_ms = 5000;
	g_mdd.media_port = DEFAULT_PORT;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'a': {
			struct prov_addr *a = &g_mdd.addrs[g_mdd.n_addrs];
			char buf[80];

			if (g_mdd.n_addrs == MDD_MAX_ADDRS)
				return fail("at most 8 --addr (got more at '%s')", optarg);
			/* reuse the provisioning parser: "IP" becomes "IP:1" */
			snprintf(buf, sizeof(buf), strchr(optarg, ':') ? "[%s]:1" : "%s:1", optarg);
			if (prov_parse_addr(buf, a) != 0)
				return fail("--addr '%s' is not an IPv4 or IPv6 address", optarg);
			g_mdd.n_addrs++;
			break;
		}
		case 'p': {
			long v = strtol(optarg, &end, 10);

			if (*end || v < 1 || v > 65535)
				return fail("--port takes 1..65535, not '%s'", optarg);
			g_mdd.media_port = (uint16_t)v;
			break;
		}
		case 'P':
			o->provision = optarg;
			break;
		case 'A':
			o->arch = perc_arch_parse(optarg);
			if (o->arch < 0)
				return fail("--arch '%s': use auto, sse, avx, avx2, avx512 or libsrtp",
					    optarg);
			break;
		case 's':
			o->stats_interval = strtod(optarg, &end);
			if (*end || o->stats_interval < 0)
				return fail("--stats-interval takes seconds >= 0, not '%s'", optarg);
			break;
		case 'j':
			o->stats_json = optarg;
			break;
		case 'i':
			o->idle_ms = strtol(optarg, &end, 10);
			if (*end || o->idle_ms < 1)
				return fail("--exit-when-idle takes milliseconds >= 1, not '%s'", optarg);
			break;
		case 'c':
			g_mdd.udp_csum_check = true;
			g_mdd.udp_csum_tx = true;
			break;
		case 'm':
			o->mbufs = (unsigned)strtoul(optarg, &end, 10);
			if (*end || o->mbufs < 1024)
				return fail("--mbufs takes a number >= 1024, not '%s'", optarg);
			break;
		case 'E':
			o->max_endpoints = (unsigned)strtoul(optarg, &end, 10);
			if (*end || o->max_endpoints < 1 || o->max_endpoints > 1u << 22)
				return fail("--max-endpoints takes 1..4194304, not '%s'", optarg);
			break;
		case 'S':
			o->cp.api_path = optarg;
			break;
		case 'K':
			o->cp.kd = optarg;
			break;
		case 'C':
			o->cp.kd_cert = optarg;
			break;
		case 'k':
			o->cp.kd_key = optarg;
			break;
		case 'R':
			o->cp.kd_ca = optarg;
			break;
		case 'T': {
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || v < 100 || v > 3600000)
				return fail("--consent-timeout takes 100..3600000 ms, not '%s'", optarg);
			o->cp.consent_ms = v;
			break;
		}
		case 'M': {
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || v > 3600000)
				return fail("--media-timeout takes 0..3600000 ms, not '%s'", optarg);
			o->cp.media_ms = v;
			break;
		}
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			return fail("%s", "unknown option");
		}
	}
	if (optind < argc)
		return fail("unexpected argument '%s'", argv[optind]);
	if (partial)
		return 0;
	if (g_mdd.n_addrs == 0)
		return fail("%s", "no media address: give --addr IP (the address endpoints send to)");
	if (o->provision == NULL && o->cp.api_path == NULL)
		return fail("%s", "no --provision FILE and no --api PATH: nothing to forward "
			    "(docs/provisioning.md, docs/mdd-control.md)");
	if ((o->cp.kd_cert || o->cp.kd_key || o->cp.kd_ca) && o->cp.kd == NULL)
		return fail("%s", "--kd-cert / --kd-key / --kd-ca without --kd HOST:PORT");
	return 0;
}

static int
port_init(uint16_t port, unsigned nq, struct rte_mempool *pool, uint16_t *nrxq)
{
	struct rte_eth_dev_info di;
	struct rte_eth_conf conf;
	uint16_t nrx, ntx, rxd = RXD, txd = TXD;
	int r;

	memset(&conf, 0, sizeof(conf));
	r = rte_eth_dev_info_get(port, &di);
	if (r != 0)
		return r;
	nrx = (uint16_t)RTE_MIN(nq, di.max_rx_queues);
	ntx = (uint16_t)nq;
	if (di.max_tx_queues < nq) {
		MDD_LOG(ERR, DATAPLANE, "port %u offers %u TX queues, %u workers need one each: "
			"use fewer worker lcores (-l) or give the port more queues",
			port, di.max_tx_queues, nq);
		return -EINVAL;
	}
	if (nrx > 1 && (di.flow_type_rss_offloads & RTE_ETH_RSS_UDP)) {
		/* RSS on the 5-tuple keeps one sender on one worker */
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			di.flow_type_rss_offloads & (RTE_ETH_RSS_UDP | RTE_ETH_RSS_IP);
	}
	r = rte_eth_dev_configure(port, nrx, ntx, &conf);
	if (r != 0)
		return r;
	r = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
	if (r != 0)
		return r;
	for (uint16_t q = 0; q < nrx; q++)
		if ((r = rte_eth_rx_queue_setup(port, q, rxd, rte_eth_dev_socket_id(port), NULL,
						pool)) != 0)
			return r;
	for (uint16_t q = 0; q < ntx; q++)
		if ((r = rte_eth_tx_queue_setup(port, q, txd, rte_eth_dev_socket_id(port), NULL)) != 0)
			return r;
	r = rte_eth_dev_start(port);
	if (r != 0)
		return r;
	/* workers beyond the port's RX queues get its traffic by hand-off */
	*nrxq = nrx;
	rte_eth_promiscuous_enable(port);
	return 0;
}

/* a set-up error after the EAL: through rte_log (perc.mdd.control); -1 */
#define setup_error(fmt, ...) (MDD_LOG(ERR, CONTROL, fmt, ##__VA_ARGS__), -1)

static int
setup_workers(struct mdd *m, int arch)
{
	unsigned lcore, i = 0;
	size_t qs_size;

	m->n_workers = rte_lcore_count() - 1;
	if (m->n_workers == 0)
		return setup_error("no worker lcore: give the EAL at least two lcores (e.g. -l 0-1)");
	if (m->n_workers > MDD_MAX_WORKERS)
		m->n_workers = MDD_MAX_WORKERS;
	m->workers = rte_zmalloc("workers", m->n_workers * sizeof(*m->workers), RTE_CACHE_LINE_SIZE);
	qs_size = rte_rcu_qsbr_get_memsize(m->n_workers);
	m->qs = rte_zmalloc("qsbr", qs_size, RTE_CACHE_LINE_SIZE);
	m->punt = rte_ring_create("mdd_punt", 1024, (int)rte_socket_id(), RING_F_SC_DEQ);
	if (m->workers == NULL || m->qs == NULL || m->punt == NULL ||
	    rte_rcu_qsbr_init(m->qs, m->n_workers) != 0)
		return setup_error("out of memory for the workers (give the EAL more with -m)");
	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct mdd_worker *w = &m->workers[i];
		char name[32];

		if (i == m->n_workers)
			break;
		w->idx = i;
		w->lcore = lcore;
		w->engine = perc_engine_create((enum perc_arch)arch);
		if (w->engine == NULL)
			return setup_error("the crypto engine '%s' cannot run on this CPU (try "
					   "--arch auto)", perc_arch_name((enum perc_arch)arch));
		snprintf(name, sizeof(name), "mdd_hand%u", i);
		w->handoff = rte_ring_create(name, 4096, (int)rte_lcore_to_socket_id(lcore),
					     RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "mdd_ctx%u", i);
		w->ctl_tx = rte_ring_create(name, 512, (int)rte_lcore_to_socket_id(lcore),
					    RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (w->handoff == NULL || w->ctl_tx == NULL)
			return setup_error("out of memory for the worker rings (give the EAL more "
					   "with -m)");
		i++;
	}
	return 0;
}

/* --stats-json: the dataplane's counters and the control plane's */
static int
stats_json(struct mdd *m, const char *path)
{
	json_t *root = mdd_stats_obj(m);
	int r;

	mdd_cp_stats(root);
	mdd_xdp_stats(root);  /* issue 6: "xdp" counters of net_af_xdp ports */
	r = json_dump_file(root, path, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(root);
	return r == 0 ? 0 : -1;
}

static void
drain_ring(struct rte_ring *r)
{
	void *p = NULL; /* set by every dequeue that returns 0; gcc cannot tell */

	while (r != NULL && rte_ring_dequeue(r, &p) == 0)
		rte_pktmbuf_free(p);
}

/* ---- --config FILE (config.c) ---------------------------------------------- */

/* a file that must be there and readable (certificates, provisioning) */
static int
check_readable(const char *opt, const char *val, char *err, size_t errlen)
{
	FILE *f = fopen(val, "r");

	if (f == NULL) {
		snprintf(err, errlen, "%s %s: %s (give a readable file)", opt, val, strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}

/*
 * One value of the file, checked by the parser of the command line
 * (parse_opts, mdd_ops_args) and, for files and addresses, a little more.
 */
static int
check_opt(const char *opt, const char *val, char *err, size_t errlen)
{
	char *av[4] = { (char *)(uintptr_t)"perc-mdd", (char *)(uintptr_t)opt,
			(char *)(uintptr_t)val, NULL };
	int ac = val != NULL ? 3 : 2, r;
	unsigned n_addrs = g_mdd.n_addrs;
	struct opts o = { 0 };
	double si;

	if (strcmp(opt, "--preflight") == 0 || strcmp(opt, "--no-preflight") == 0)
		return 0;
	if (strcmp(opt, "--provision") == 0 || strncmp(opt, "--kd-", 5) == 0)
		return check_readable(opt, val, err, errlen);
	if (strcmp(opt, "--kd") == 0)
		return mdd_config_hostport(opt, val, false, err, errlen);
	if (strcmp(opt, "--api") == 0 &&
	    strlen(val) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		snprintf(err, errlen, "--api %s: a Unix socket path is at most %zu bytes", val,
			 sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
		return -1;
	}
	if (strcmp(opt, "--metrics") == 0 && strcmp(val, "off") != 0 &&
	    mdd_config_hostport(opt, val, true, err, errlen) != 0)
		return -1;
	if (strcmp(opt, "--capture-dir") == 0) {
		/* mdd_capture_args says what is wrong on stderr */
		if (mdd_capture_args(&ac, av) != 0) {
			snprintf(err, errlen, "%s '%s' refused (the reason is above)", opt, val);
			return -1;
		}
		return 0;
	}
	if (strcmp(opt, "--metrics") == 0 || strcmp(opt, "--limits") == 0) {
		/* mdd_ops_args says what is wrong on stderr */
		if (mdd_ops_args(&ac, av, &si) != 0) {
			snprintf(err, errlen, "%s '%s' refused (the reason is above)", opt, val);
			return -1;
		}
		return 0;
	}
	fail_buf = err;
	fail_len = errlen;
	r = parse_opts(ac, av, &o, true);
	fail_buf = NULL;
	g_mdd.n_addrs = n_addrs;
	return r;
}

/* --check-config: the whole of the options as the run would take them */
static int
check_config(const struct mdd_config *cfg, int argc, char **argv)
{
	struct opts o = { 0 };
	struct prov prov;
	struct prov_error perr;
	char **app;
	int n = 1, sep = argc;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	app = calloc((size_t)argc + 1, sizeof(*app));
	if (app == NULL)
		return 2;
	app[0] = argv[0];
	for (int i = sep + 1; i < argc; i++)
		app[n++] = argv[i];
	if (mdd_ops_args(&n, app, &o.stats_interval) != 0 || mdd_capture_args(&n, app) != 0 ||
	    parse_opts(n, app, &o, false) != 0)
		goto bad;
	if (o.provision != NULL) {
		if (prov_load(o.provision, &prov, &perr) != 0) {
			fprintf(stderr, "perc-mdd: %s\n", perr.msg);
			goto bad;
		}
		prov_free(&prov);
	}
	if (o.cp.kd != NULL && (o.cp.kd_cert == NULL || o.cp.kd_key == NULL || o.cp.kd_ca == NULL)) {
		fprintf(stderr, "perc-mdd: kd needs kd-cert, kd-key and kd-ca ([kd] section)\n");
		goto bad;
	}
	free(app);
	printf("perc-mdd: %s is valid; the effective settings:\n", cfg->path);
	mdd_config_summary(cfg, stdout);
	return 0;
bad:
	free(app);
	fprintf(stderr, "perc-mdd: %s: not valid (exit %d)\n", cfg->path, MDD_EX_CONFIG);
	return MDD_EX_CONFIG;
}

/*
 * "--config FILE [--check-config] [EAL] [-- OPTIONS]": the file and the rest
 * of the command line into cfg, *argv pointing at a copy of its vector (the
 * EAL rewrites entries). Returns -1 to go on, or the exit status.
 */
static int
config_argv(int *argc, char ***argv, struct mdd_config *cfg, char ***eal_argv,
	    enum mdd_preflight_mode *pf)
{
	char **v = *argv, err[512];
	bool check = false;
	int n = 3, i;
	enum mdd_preflight_mode fpf;

	if (*argc < 3) {
		fprintf(stderr, "perc-mdd: --config needs a FILE (docs/configuration.md)\n");
		return 2;
	}
	/* --check-config among the EAL arguments: take it out */
	for (i = 3; i < *argc && strcmp(v[i], "--") != 0; i++)
		if (strcmp(v[i], "--check-config") == 0)
			check = true;
		else
			v[n++] = v[i];
	for (; i < *argc; i++)
		v[n++] = v[i];
	v[n] = NULL;
	if (mdd_config_load(v[2], v[0], n - 3, v + 3, check_opt, cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "perc-mdd: %s\n", err);
		return MDD_EX_CONFIG;
	}
	*eal_argv = malloc(((size_t)cfg->argc + 1) * sizeof(**eal_argv));
	if (*eal_argv == NULL)
		return 2;
	memcpy(*eal_argv, cfg->argv, ((size_t)cfg->argc + 1) * sizeof(**eal_argv));
	*argc = cfg->argc;
	*argv = *eal_argv;
	/* preflight / no-preflight of the file */
	fpf = mdd_preflight_mode(argc, *argv);
	if (*pf == MDD_PREFLIGHT_RUN || fpf == MDD_PREFLIGHT_ONLY)
		*pf = fpf;
	return check ? check_config(cfg, *argc, *argv) : -1;
}

int
main(int argc, char **argv)
{
	struct opts o = { 0 };
	enum mdd_preflight_mode pf;  /* issue 6 */
	struct mdd_config cfg = { 0 };
	char **eal_argv = NULL;
	struct prov prov = { 0 };
	struct prov_error perr;
	char err[512];
	const char *log_where;
	uint16_t pid;
	int eal, rc = 1;
	uint64_t hz, next_stats, last_rx_t, last_rx = 0;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			bool after_dashes = false;

			for (int j = 1; j < i; j++)
				after_dashes |= strcmp(argv[j], "--") == 0;
			if (after_dashes || i == 1) {
				fputs(usage_text, stdout);
				return 0;
			}
		}
	/* issue 6: --preflight / --no-preflight, also after --config FILE */
	pf = mdd_preflight_mode(&argc, argv);
	if (argc >= 2 && strcmp(argv[1], "--config") == 0) {
		int r = config_argv(&argc, &argv, &cfg, &eal_argv, &pf);

		if (r >= 0) {
			mdd_config_free(&cfg);
			free(eal_argv);
			return r;
		}
	} else {
		for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
			if (strcmp(argv[i], "--check-config") == 0) {
				fprintf(stderr, "perc-mdd: --check-config checks a file: give "
						"--config FILE first\n");
				return 2;
			}
	}
	/* issue 6: pre-flight checks, before the EAL takes anything */
	{
		int nfail = pf == MDD_PREFLIGHT_SKIP ? 0 :
			mdd_preflight(argc, argv, pf == MDD_PREFLIGHT_ONLY, stderr);

		if (pf == MDD_PREFLIGHT_ONLY || nfail > 0) {
			mdd_config_free(&cfg);
			free(eal_argv);
			return pf == MDD_PREFLIGHT_ONLY ? nfail > 0 : MDD_EX_PREFLIGHT;
		}
	}
	/* rte_log's lines, the EAL's own included: once each into the journal
	 * when stderr is the journal (log.c) */
	log_where = mdd_log_open(argc, argv);
	eal = rte_eal_init(argc, argv);
	if (eal < 0) {
		fprintf(stderr, "perc-mdd: EAL initialisation failed: %s\n"
				"(hugepages: tools/demo reserves them; or run with --no-huge -m 512)\n",
			rte_strerror(rte_errno));
		mdd_config_free(&cfg);
		free(eal_argv);
		return 2;
	}
	/* perc-mdd's messages through rte_log from here on (ops.h); what
	 * came before the EAL is on stderr / stdout */
	mdd_log_register();
	argc -= eal;
	argv += eal;
	/* operations options (ops.h) are taken out first */
	if (mdd_ops_args(&argc, argv, &o.stats_interval) != 0)
		goto out_eal;
	if (mdd_capture_args(&argc, argv) != 0)
		goto out_eal;
	if (parse_opts(argc, argv, &o, false) != 0)
		goto out_eal;
	if (o.provision != NULL && prov_load(o.provision, &prov, &perr) != 0) {
		MDD_LOG(ERR, CONTROL, "%s", perr.msg);
		goto out_eal;
	}
	MDD_LOG(INFO, CONTROL, "log lines go to %s", log_where);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	RTE_ETH_FOREACH_DEV(pid) {
		if (g_mdd.n_ports == MDD_MAX_PORTS)
			break;
		g_mdd.ports[g_mdd.n_ports++] = pid;
	}
	if (g_mdd.n_ports == 0) {
		MDD_LOG(ERR, DATAPLANE, "no port: give the EAL a NIC (-a PCI) or a virtual device "
			"(--vdev net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap)");
		goto out_prov;
	}
	if (setup_workers(&g_mdd, o.arch) != 0)
		goto out_prov;
	if (o.arch == PERC_ARCH_LIBSRTP && g_mdd.n_workers > 1) {
		/* a libsrtp2 session holds per-SSRC state: one thread only */
		MDD_LOG(ERR, CONTROL, "--arch libsrtp runs with one worker lcore only (got %u): give "
			"the EAL two lcores (-l 0-1)", g_mdd.n_workers);
		goto out_prov;
	}
	g_mdd.pool = rte_pktmbuf_pool_create("mdd_mbufs", o.mbufs, 256, 0,
					     RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (g_mdd.pool == NULL) {
		MDD_LOG(ERR, DATAPLANE, "cannot create %u mbufs: %s (lower --mbufs or give the "
			"EAL more memory with -m)", o.mbufs, rte_strerror(rte_errno));
		goto out_prov;
	}
	for (unsigned i = 0; i < g_mdd.n_ports; i++) {
		struct rte_ether_addr mac;
		int r = port_init(g_mdd.ports[i], g_mdd.n_workers, g_mdd.pool, &g_mdd.port_nrxq[i]);

		if (r != 0) {
			MDD_LOG(ERR, DATAPLANE, "port %u cannot start: %s", g_mdd.ports[i],
				rte_strerror(-r));
			goto out_ports;
		}
		rte_eth_macaddr_get(g_mdd.ports[i], &mac);
		memcpy(g_mdd.port_mac[i], mac.addr_bytes, 6);
	}
	/* issue 6: media addresses into perc's XDP program on net_af_xdp ports */
	if (mdd_xdp_ports_init(&g_mdd, err, sizeof(err)) != 0) {
		MDD_LOG(ERR, DATAPLANE, "%s", err);
		goto out_ports;
	}
	if (mdd_tables_init(&g_mdd, o.max_endpoints, err, sizeof(err)) != 0 ||
	    mdd_setup_from_prov(&g_mdd, &prov, err, sizeof(err)) != 0) {
		MDD_LOG(ERR, CONTROL, "%s", err);
		mdd_teardown(&g_mdd);
		goto out_ports;
	}
	prov_free(&prov);
	o.cp.max_endpoints = o.max_endpoints;
	if (mdd_cp_init(&g_mdd, &o.cp, err, sizeof(err)) != 0) {
		MDD_LOG(ERR, CONTROL, "%s", err);
		mdd_teardown(&g_mdd);
		goto out_ports;
	}
	/* operations: log types, /metrics, telemetry (ops.h) */
	if (mdd_ops_init(&g_mdd, err, sizeof(err)) != 0) {
		MDD_LOG(ERR, CONTROL, "%s", err);
		mdd_cp_fini(&g_mdd);
		mdd_teardown(&g_mdd);
		goto out_ports;
	}
	/* captures: record pool, rings, pdump server (capture.h) */
	if (mdd_capture_init(&g_mdd, err, sizeof(err)) != 0) {
		MDD_LOG(ERR, CONTROL, "%s", err);
		mdd_capture_fini(&g_mdd);
		mdd_ops_fini(&g_mdd);
		mdd_cp_fini(&g_mdd);
		mdd_teardown(&g_mdd);
		goto out_ports;
	}
	MDD_LOG(NOTICE, CONTROL, "%u conference(s), %u endpoint(s), %u worker(s), %u port(s), "
		"crypto %s", g_mdd.n_confs, g_mdd.n_legs, g_mdd.n_workers, g_mdd.n_ports,
		perc_arch_name(perc_engine_arch(g_mdd.workers[0].engine)));

	for (unsigned i = 0; i < g_mdd.n_workers; i++)
		rte_eal_remote_launch(mdd_worker_main, &g_mdd.workers[i], g_mdd.workers[i].lcore);
	mdd_ops_ready(&g_mdd);

	hz = rte_get_tsc_hz();
	next_stats = rte_get_tsc_cycles() + (uint64_t)(o.stats_interval * (double)hz);
	last_rx_t = rte_get_tsc_cycles();
	while (!g_mdd.stop) {
		uint64_t now, rx;

		if (mdd_control_poll(&g_mdd) == 0)
			rte_delay_us_sleep(200);
		mdd_cp_poll(&g_mdd);
		mdd_rekey_tick(&g_mdd);
		mdd_ops_tick(&g_mdd);
		mdd_capture_poll(&g_mdd);
		if (reload_requested && o.provision == NULL) {
			reload_requested = 0;
			MDD_LOG(WARNING, CONTROL, "SIGHUP: no --provision file to read again (the "
				"conference API's conferences change through the API)");
		}
		if (reload_requested) {
			struct prov np;
			struct prov_error pe;

			reload_requested = 0;
			if (prov_load(o.provision, &np, &pe) != 0) {
				MDD_LOG(WARNING, CONTROL, "reload refused, running as before: %s",
					pe.msg);
			} else {
				mdd_reload(&g_mdd, &np, NULL); /* messages through rte_log */
				prov_free(&np);
			}
		}
		now = rte_get_tsc_cycles();
		if (o.stats_interval > 0 && now >= next_stats) {
			mdd_stats_line(&g_mdd, stdout, o.stats_interval);
			next_stats = now + (uint64_t)(o.stats_interval * (double)hz);
		}
		if (o.idle_ms > 0) {
			rx = mdd_counter_total(&g_mdd, MDD_C_rx_frames);
			if (rx != last_rx) {
				last_rx = rx;
				last_rx_t = now;
			} else if (rx > 0 && now - last_rx_t > (uint64_t)o.idle_ms * hz / 1000) {
				g_mdd.stop = true;
			}
		}
	}
	rte_eal_mp_wait_lcore();
	/* what the control thread still holds */
	mdd_control_poll(&g_mdd);
	if (o.stats_interval > 0)
		mdd_stats_line(&g_mdd, stdout, o.stats_interval);
	mdd_capture_fini(&g_mdd);
	rc = mdd_ops_fini(&g_mdd);
	if (o.stats_json != NULL && stats_json(&g_mdd, o.stats_json) != 0) {
		MDD_LOG(ERR, CONTROL, "cannot write %s: %s (a writable path for --stats-json)",
			o.stats_json, strerror(errno));
		rc = 1;
	}
	mdd_cp_fini(&g_mdd);
	mdd_teardown(&g_mdd);
out_ports:
	mdd_xdp_fini();
	for (unsigned i = 0; i < g_mdd.n_ports; i++) {
		rte_eth_dev_stop(g_mdd.ports[i]);
		rte_eth_dev_close(g_mdd.ports[i]);
	}
	for (unsigned i = 0; g_mdd.workers != NULL && i < g_mdd.n_workers; i++) {
		drain_ring(g_mdd.workers[i].handoff);
		drain_ring(g_mdd.workers[i].ctl_tx);
		perc_engine_destroy(g_mdd.workers[i].engine);
	}
	drain_ring(g_mdd.punt);
out_prov:
	prov_free(&prov);
out_eal:
	rte_eal_cleanup();
	mdd_config_free(&cfg);
	free(eal_argv);
	return rc;
}
