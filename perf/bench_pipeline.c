/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-bench-pipeline: TSC cycles per egress packet of perc-mdd's worker
 * loop, on virtual ports, with the capture loaded into mbufs before the
 * timed part, and beside it the floor: the bare ipsec-mb work of the same
 * packets (bench_pipeline_floor.c) on the same lcore.
 *
 *   perc-bench-pipeline [EAL options] -- --provision FILE --pcap FILE [options]
 *
 * dataplane/mdd/worker.c, setup.c and control.c are compiled in unchanged:
 * mdd_worker_main() runs on the one worker lcore exactly as in perc-mdd,
 * with its own busy/idle accounting. Only main.c is replaced, by this file:
 *
 *  - RX port: net_ring (rte_eth_from_rings) over a ring this program
 *    fills. Before a chunk is timed, its frames are copied into mbufs and
 *    the whole chunk is enqueued at once (the consumer sees it in one tail
 *    update); the worker is idle while that happens.
 *  - TX port: net_null with no-rx=1: its TX burst frees the mbufs, which is
 *    what a NIC's TX completion costs the worker. The preloaded mbufs carry
 *    the null port as m->port, so the worker latches every endpoint's next
 *    hop on it; the worker does not poll it for RX (no RX queue given).
 *
 * The first --warmup frames (default: one per provisioned SSRC, i.e. the
 * generators' round 0) latch the next hops and warm the tables; they are
 * not timed. The rest is split into chunks of about --chunk-egress copies
 * (a millisecond or two of work, shorter than a scheduler time slice),
 * each one sample: the worker's busy_cycles and tx_frames before and after
 * the chunk. Every sample is checked: every frame received and opened,
 * exactly the expected copies sent, no drop counter moved; a failed check
 * exits 1.
 *
 * The busy cycles are TSC cycles: they include any time the worker thread
 * spent descheduled while another task had its CPU (on a shared 2-core
 * machine that happens). So each sample also records the worker thread's
 * nonvoluntary context switches; the summary uses the samples without one
 * (all of them, flagged, when fewer than a quarter are clean).
 *
 * Each chunk is paired with a floor pass over the same frames on the same
 * lcore, right before or after it (alternately): the worker loop is
 * stopped, the floor runs there, the loop is launched again. A shared,
 * noisy machine changes speed from second to second; a pair sees the same
 * machine, so the ratio of the two is steadier than either number.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_version.h>

#include "bench_pipeline_common.h"
#include "mdd.h"

#ifndef PERC_GIT_COMMIT
#define PERC_GIT_COMMIT "unknown"
#endif

#define PROG "perc-bench-pipeline"
#define NULL_NAME "net_null_bench"
#define RING_PORT_NAME "net_ring_bench"
#define WAIT_LIMIT_S 300

static const char usage_text[] =
	"usage: " PROG " [EAL options] -- --provision FILE --pcap FILE [options]\n"
	"\n"
	"Runs perc-mdd's worker loop (dataplane/mdd/worker.c, unchanged) on one worker\n"
	"lcore over a net_ring RX port preloaded with the capture and a net_null TX\n"
	"port, and reports the worker's busy TSC cycles per egress packet as JSON.\n"
	"EAL: exactly two lcores (e.g. -l 0-1 --no-huge --no-pci -m 2048).\n"
	"\n"
	"options:\n"
	"  --provision FILE   conferences and keys (perc-pcaptest gen's provision.json)\n"
	"  --pcap FILE        RTP frames from the endpoints (in.pcap; media only)\n"
	"  --addr IP          the MDD's media address (default 192.0.2.1)\n"
	"  --port N           the MDD's media port (default 3478)\n"
	"  --arch A           auto (default), sse, avx, avx2, avx512, libsrtp\n"
	"  --warmup N         frames before the timed part (default: provisioned SSRCs)\n"
	"  --chunk-egress N   copies per timed chunk, one sample each (default 4096)\n"
	"  --no-floor         do not pair each chunk with a floor pass\n"
	"  --floor-arch A     ipsec-mb path of the floor (default: the pipeline's;\n"
	"                     auto when the pipeline runs libsrtp)\n"
	"  --mbufs N          egress mbuf pool (default 16383, as perc-mdd)\n"
	"  --json FILE        where the result goes (default stdout)\n"
	"  --label S          copied into the JSON\n"
	"  -h, --help         this text\n"
	"\n"
	"Exit status: 0 measured, 1 a setup or a check failed, 2 bad usage.\n";

struct opts {
	const char *provision, *pcap, *json, *label, *addr;
	int arch, floor_arch;
	bool floor;
	long warmup;
	unsigned chunk_egress, mbufs;
};

/* the worker lcore's thread (for its context switches) */
static int worker_tid;

static int
tid_main(void *arg)
{
	(void)arg;
	worker_tid = (int)syscall(SYS_gettid);
	return 0;
}

/* A snapshot of the worker's counters (read while it is idle). */
struct snap {
	uint64_t busy, idle, tsc;
	uint64_t c[MDD_C__COUNT];
};

#define die(...) bp_die(PROG, __VA_ARGS__)

static int
usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, PROG ": %s%s%s%s\n(see " PROG " -- --help)\n", msg, arg ? " '" : "",
		arg ? arg : "", arg ? "'" : "");
	return 2;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "provision", required_argument, NULL, 'P' },
		{ "pcap", required_argument, NULL, 'i' },
		{ "addr", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "arch", required_argument, NULL, 'A' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "chunk-egress", required_argument, NULL, 'c' },
		{ "no-floor", no_argument, NULL, 'n' },
		{ "floor-arch", required_argument, NULL, 'F' },
		{ "mbufs", required_argument, NULL, 'm' },
		{ "json", required_argument, NULL, 'j' },
		{ "label", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->arch = PERC_ARCH_AUTO;
	o->warmup = -1;
	o->chunk_egress = 4096;
	o->floor = true;
	o->floor_arch = -1;
	o->mbufs = 16383;
	o->addr = "192.0.2.1";
	g_mdd.media_port = 3478;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'P':
			o->provision = optarg;
			break;
		case 'i':
			o->pcap = optarg;
			break;
		case 'a':
			o->addr = optarg;
			break;
		case 'p':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 65535)
				return usage_error("--port takes 1..65535, not", optarg);
			g_mdd.media_port = (uint16_t)v;
			break;
		case 'A':
			o->arch = perc_arch_parse(optarg);
			if (o->arch < 0)
				return usage_error("--arch: auto, sse, avx, avx2, avx512 or libsrtp, not",
						   optarg);
			break;
		case 'w':
			o->warmup = strtol(optarg, &end, 10);
			if (*end || o->warmup < 0)
				return usage_error("--warmup takes frames >= 0, not", optarg);
			break;
		case 'c':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > (1L << 24))
				return usage_error("--chunk-egress takes 1..16M, not", optarg);
			o->chunk_egress = (unsigned)v;
			break;
		case 'n':
			o->floor = false;
			break;
		case 'F':
			o->floor_arch = perc_arch_parse(optarg);
			if (o->floor_arch < 0 || o->floor_arch == PERC_ARCH_LIBSRTP)
				return usage_error("--floor-arch: auto, sse, avx, avx2 or avx512, not",
						   optarg);
			break;
		case 'm':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1024 || v > 16 * 1024 * 1024)
				return usage_error("--mbufs takes 1024..16M, not", optarg);
			o->mbufs = (unsigned)v;
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'l':
			o->label = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			return usage_error("unknown option", NULL);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind]);
	if (o->floor_arch < 0)
		o->floor_arch = o->arch == PERC_ARCH_LIBSRTP ? PERC_ARCH_AUTO : o->arch;
	if (o->provision == NULL || o->pcap == NULL)
		return usage_error("--provision FILE and --pcap FILE are required", NULL);
	{
		/* the provisioning parser reads "IP:port" */
		struct prov_addr *a = &g_mdd.addrs[0];
		char buf[80];

		snprintf(buf, sizeof(buf), strchr(o->addr, ':') ? "[%s]:1" : "%s:1", o->addr);
		if (prov_parse_addr(buf, a) != 0)
			return usage_error("--addr is not an IPv4 or IPv6 address:", o->addr);
		g_mdd.n_addrs = 1;
	}
	return 0;
}

/* ---- ports and workers (what perc-mdd's main.c does, for these ports) ---- */

static void
port_start(uint16_t port, struct rte_mempool *pool)
{
	struct rte_eth_conf conf;
	int r;

	memset(&conf, 0, sizeof(conf));
	r = rte_eth_dev_configure(port, 1, 1, &conf);
	if (r == 0)
		r = rte_eth_rx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), NULL, pool);
	if (r == 0)
		r = rte_eth_tx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), NULL);
	if (r == 0)
		r = rte_eth_dev_start(port);
	if (r != 0)
		die("port %u cannot start: %s", port, rte_strerror(-r));
}

static void
add_port(uint16_t port, uint16_t nrxq)
{
	struct rte_ether_addr mac;
	unsigned i = g_mdd.n_ports++;

	g_mdd.ports[i] = port;
	g_mdd.port_nrxq[i] = nrxq;
	rte_eth_macaddr_get(port, &mac);
	memcpy(g_mdd.port_mac[i], mac.addr_bytes, 6);
}

static void
setup_worker(struct mdd *m, int arch)
{
	struct mdd_worker *w;
	unsigned lcore = rte_get_next_lcore(-1, 1, 0);

	if (rte_lcore_count() != 2 || lcore >= RTE_MAX_LCORE)
		die("give the EAL exactly two lcores (-l 0-1): the main one waits, one worker runs "
		    "(got %u)", rte_lcore_count());
	m->n_workers = 1;
	m->workers = rte_zmalloc("workers", sizeof(*m->workers), RTE_CACHE_LINE_SIZE);
	m->qs = rte_zmalloc("qsbr", rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	m->punt = rte_ring_create("mdd_punt", 1024, (int)rte_socket_id(), RING_F_SC_DEQ);
	if (m->workers == NULL || m->qs == NULL || m->punt == NULL ||
	    rte_rcu_qsbr_init(m->qs, 1) != 0)
		die("out of memory for the worker (give the EAL more with -m)");
	w = &m->workers[0];
	w->idx = 0;
	w->lcore = lcore;
	w->engine = perc_engine_create((enum perc_arch)arch);
	if (w->engine == NULL)
		die("the crypto engine '%s' cannot run on this CPU (try --arch auto)",
		    perc_arch_name((enum perc_arch)arch));
	w->handoff = rte_ring_create("mdd_hand0", 4096, (int)rte_lcore_to_socket_id(lcore),
				     RING_F_SC_DEQ);
	w->ctl_tx = rte_ring_create("mdd_ctx0", 512, (int)rte_lcore_to_socket_id(lcore),
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (w->handoff == NULL || w->ctl_tx == NULL)
		die("out of memory for the worker rings");
}

/* ---- samples ---- */

static void
snap_take(struct snap *s)
{
	const struct mdd_worker *w = &g_mdd.workers[0];

	s->busy = __atomic_load_n(&w->busy_cycles, __ATOMIC_ACQUIRE);
	s->idle = __atomic_load_n(&w->idle_cycles, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < MDD_C__COUNT; i++)
		s->c[i] = __atomic_load_n(&w->ctr.c[i], __ATOMIC_ACQUIRE);
	s->tsc = rte_rdtsc();
}

static void
sleep_us(long us)
{
	struct timespec d = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&d, NULL);
}

/*
 * Copy frames [a, b) into mbufs, hand them to the worker in one enqueue and
 * wait until it has taken them all and finished the loop iteration that
 * processed the last ones: rx_frames reaches the target inside that
 * iteration, so an idle iteration completed after that (idle_cycles moves)
 * comes after it. The main lcore sleeps meanwhile.
 */
static void
play(const struct bp_capture *cap, size_t a, size_t b, struct rte_mempool *in_pool,
     struct rte_ring *rx, uint16_t tx_port, struct rte_mbuf **mb, struct snap *s0,
     struct snap *s1, uint64_t *preempted)
{
	uint64_t p0;
	const struct mdd_worker *w = &g_mdd.workers[0];
	size_t n = b - a;
	uint64_t target, idle0, t_end;

	if (n == 0) {
		snap_take(s0);
		*s1 = *s0;
		*preempted = 0;
		return;
	}
	if (rte_pktmbuf_alloc_bulk(in_pool, mb, (unsigned)n) != 0)
		die("ingress pool empty (%zu frames)", n);
	for (size_t i = 0; i < n; i++) {
		const struct bp_frame *f = &cap->f[a + i];

		memcpy(rte_pktmbuf_mtod(mb[i], void *), cap->data + f->off, f->len);
		mb[i]->data_len = (uint16_t)f->len;
		mb[i]->pkt_len = f->len;
		mb[i]->port = tx_port;
	}
	p0 = bp_preemptions(worker_tid);
	snap_take(s0);
	target = s0->c[MDD_C_rx_frames] + n;
	if (rte_ring_enqueue_bulk(rx, (void **)mb, (unsigned)n, NULL) != n)
		die("RX ring too small for %zu frames", n);
	t_end = rte_rdtsc() + (uint64_t)WAIT_LIMIT_S * rte_get_tsc_hz();
	while (__atomic_load_n(&w->ctr.c[MDD_C_rx_frames], __ATOMIC_ACQUIRE) < target) {
		if (rte_rdtsc() > t_end)
			die("the worker took only %" PRIu64 " of %zu frames in %d s",
			    __atomic_load_n(&w->ctr.c[MDD_C_rx_frames], __ATOMIC_ACQUIRE) -
				    s0->c[MDD_C_rx_frames], n, WAIT_LIMIT_S);
		sleep_us(200);
	}
	idle0 = __atomic_load_n(&w->idle_cycles, __ATOMIC_ACQUIRE);
	while (__atomic_load_n(&w->idle_cycles, __ATOMIC_ACQUIRE) == idle0)
		sleep_us(50);
	snap_take(s1);
	*preempted = bp_preemptions(worker_tid) - p0;
}

static json_t *
sample_json(const struct snap *s0, const struct snap *s1, size_t ingress, uint64_t want_egress,
	    json_t *problems, const char *what)
{
	json_t *o = json_object(), *drops = json_object();
	uint64_t busy = s1->busy - s0->busy;
	uint64_t tx = s1->c[MDD_C_tx_frames] - s0->c[MDD_C_tx_frames];
	uint64_t rx_rtp = s1->c[MDD_C_rx_rtp] - s0->c[MDD_C_rx_rtp];
	char msg[256];

	json_object_set_new(o, "ingress", json_integer((json_int_t)ingress));
	json_object_set_new(o, "egress", json_integer((json_int_t)tx));
	json_object_set_new(o, "egress_expected", json_integer((json_int_t)want_egress));
	json_object_set_new(o, "busy_cycles", json_integer((json_int_t)busy));
	json_object_set_new(o, "idle_cycles", json_integer((json_int_t)(s1->idle - s0->idle)));
	json_object_set_new(o, "wall_cycles", json_integer((json_int_t)(s1->tsc - s0->tsc)));
	json_object_set_new(o, "cycles_per_egress",
			    tx ? json_real((double)busy / (double)tx) : json_null());
	json_object_set_new(o, "cycles_per_ingress",
			    ingress ? json_real((double)busy / (double)ingress) : json_null());
	for (unsigned i = MDD_DROP_FIRST; i < MDD_C__COUNT; i++)
		if (s1->c[i] != s0->c[i])
			json_object_set_new(drops, mdd_ctr_name(i),
					    json_integer((json_int_t)(s1->c[i] - s0->c[i])));
	json_object_set_new(o, "drops", drops);
	if (problems != NULL) {
		if (json_object_size(drops) > 0) {
			snprintf(msg, sizeof(msg), "%s: drop counters moved", what);
			json_array_append_new(problems, json_string(msg));
		}
		if (rx_rtp != ingress || tx != want_egress) {
			snprintf(msg, sizeof(msg), "%s: %" PRIu64 " of %zu frames opened, %" PRIu64
				 " of %" PRIu64 " copies sent", what, rx_rtp, ingress, tx, want_egress);
			json_array_append_new(problems, json_string(msg));
		}
	}
	return o;
}

/* ---- the floor beside the pipeline ---- */

struct floor_job {
	struct bp_floor *f;
	size_t a, b;
	uint64_t cycles;
};

static int
floor_main(void *arg)
{
	struct floor_job *j = arg;

	j->cycles = bp_floor_pass(j->f, j->a, j->b);
	return 0;
}

/* Stop the worker loop, time a floor pass over frames [a, b) on its
 * lcore, launch the loop again; returns the floor's cycles. */
static uint64_t
floor_beside(struct bp_floor *f, size_t a, size_t b, uint64_t *preempted)
{
	unsigned lcore = g_mdd.workers[0].lcore;
	struct floor_job j = { .f = f, .a = a, .b = b };
	uint64_t p0;

	g_mdd.stop = true;
	if (rte_eal_wait_lcore(lcore) != 0)
		die("the worker loop failed");
	g_mdd.stop = false;
	if (bp_floor_load(f, a, b) != 0)
		die("out of memory for the floor's work area");
	p0 = bp_preemptions(worker_tid);
	if (rte_eal_remote_launch(floor_main, &j, lcore) != 0)
		die("cannot launch the floor on lcore %u", lcore);
	rte_eal_wait_lcore(lcore);
	*preempted = bp_preemptions(worker_tid) - p0;
	if (rte_eal_remote_launch(mdd_worker_main, &g_mdd.workers[0], lcore) != 0)
		die("cannot launch the worker on lcore %u", lcore);
	return j.cycles;
}

/* ---- summary ---- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* median, min, max of v[0..n) (sorted in place) into o under prefix */
static void
stats_json(json_t *o, const char *prefix, double *v, size_t n)
{
	char k[64];

	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	snprintf(k, sizeof(k), "%s_median", prefix);
	json_object_set_new(o, k, json_real(n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2));
	snprintf(k, sizeof(k), "%s_min", prefix);
	json_object_set_new(o, k, json_real(v[0]));
	snprintf(k, sizeof(k), "%s_max", prefix);
	json_object_set_new(o, k, json_real(v[n - 1]));
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct bp_world world;
	struct bp_capture cap;
	struct bp_floor *fl = NULL;
	struct rte_ring *rx, *txr;
	struct rte_mempool *in_pool;
	struct rte_mbuf **mb;
	char err[512], cpu[160], date[40], label[64];
	size_t *bounds, max_chunk = 0, warmup;
	unsigned nchunks;
	int eal, ring_port, r;
	uint16_t null_port;
	bool tsc_inv;
	double tsc_hz, *cpe, *fcpe, *ratio, *all;
	unsigned n_clean = 0, n_fclean = 0, n_rclean = 0;
	uint64_t pre = 0, fpre = 0;
	uint64_t tot_busy = 0, tot_tx = 0, tot_in = 0, tot_floor = 0, tot_eg = 0;
	json_t *root, *samples, *problems, *jt;
	struct snap s0, s1, first, last;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
	eal = rte_eal_init(argc, argv);
	if (eal < 0) {
		fprintf(stderr, PROG ": EAL initialisation failed: %s (try --no-huge -m 2048)\n",
			rte_strerror(rte_errno));
		return 2;
	}
	r = parse_opts(argc - eal, argv + eal, &o);
	if (r != 0)
		return r;
	bp_cpu_model(cpu, sizeof(cpu), &tsc_inv);
	tsc_hz = bp_tsc_calibrate();
	if (bp_world_load(o.provision, &world, err, sizeof(err)) != 0 ||
	    bp_capture_load(o.pcap, &world, g_mdd.media_port, &cap, err, sizeof(err)) != 0)
		die("%s", err);
	warmup = o.warmup < 0 ? world.n_streams : (size_t)o.warmup;
	bounds = bp_split(&cap, warmup, o.chunk_egress, &nchunks);
	if (bounds == NULL)
		die("out of memory");
	if (nchunks == 0)
		die("nothing left to time after %zu warm-up frames of %zu", warmup, cap.n);
	for (unsigned k = 0; k <= nchunks; k++)
		if (bounds[k + 1] - bounds[k] > max_chunk)
			max_chunk = bounds[k + 1] - bounds[k];
	if (o.floor) {
		fl = bp_floor_create(&world, &cap, o.floor_arch, err, sizeof(err));
		if (fl == NULL)
			die("floor: %s", err);
	}

	/* ports: the RX ring holds a whole chunk; the ring port's TX ring is
	 * never used (copies go to the null port, see m->port) */
	rx = rte_ring_create("bench_rx", (unsigned)rte_align64pow2(max_chunk + 1),
			     (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	txr = rte_ring_create("bench_tx_unused", 1024, (int)rte_socket_id(),
			      RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (rx == NULL || txr == NULL)
		die("cannot create the port rings: %s", rte_strerror(rte_errno));
	ring_port = rte_eth_from_rings(RING_PORT_NAME, &rx, 1, &txr, 1, (unsigned)rte_socket_id());
	if (ring_port < 0)
		die("cannot create the net_ring port: %s", rte_strerror(rte_errno));
	if (rte_vdev_init(NULL_NAME, "no-rx=1") != 0 ||
	    rte_eth_dev_get_port_by_name(NULL_NAME, &null_port) != 0)
		die("cannot create the net_null port (is the net_null PMD installed?)");
	setup_worker(&g_mdd, o.arch);
	g_mdd.pool = rte_pktmbuf_pool_create("mdd_mbufs", o.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					     (int)rte_socket_id());
	/* ingress mbufs sized to the largest frame: a chunk plus what the two
	 * lcore caches may hold */
	in_pool = rte_pktmbuf_pool_create("bench_in", (unsigned)(max_chunk + 2048), 256, 0,
					  (uint16_t)(RTE_PKTMBUF_HEADROOM +
						     RTE_ALIGN_CEIL(cap.max_len, 64)),
					  (int)rte_socket_id());
	mb = malloc(max_chunk * sizeof(*mb));
	cpe = calloc(nchunks, sizeof(*cpe));
	fcpe = calloc(nchunks, sizeof(*fcpe));
	ratio = calloc(nchunks, sizeof(*ratio));
	all = calloc(nchunks, sizeof(*all));
	if (g_mdd.pool == NULL || in_pool == NULL || mb == NULL || cpe == NULL || fcpe == NULL ||
	    ratio == NULL || all == NULL)
		die("cannot create the mbuf pools (%zu frames a chunk): %s; give the EAL more "
		    "memory (-m)", max_chunk, rte_strerror(rte_errno));
	port_start((uint16_t)ring_port, g_mdd.pool);
	port_start(null_port, g_mdd.pool);
	add_port((uint16_t)ring_port, 1);
	add_port(null_port, 0);        /* TX only: the worker does not poll it */
	if (mdd_tables_init(&g_mdd, world.n_eps, err, sizeof(err)) != 0 ||
	    mdd_setup_from_prov(&g_mdd, &world.prov, err, sizeof(err)) != 0)
		die("%s", err);
	rte_eal_remote_launch(tid_main, NULL, g_mdd.workers[0].lcore);
	rte_eal_wait_lcore(g_mdd.workers[0].lcore);
	rte_eal_remote_launch(mdd_worker_main, &g_mdd.workers[0], g_mdd.workers[0].lcore);

	root = json_object();
	samples = json_array();
	problems = json_array();
	/* warm-up: next hops latched, tables touched, the floor's code and
	 * keys run once; not timed */
	play(&cap, bounds[0], bounds[1], in_pool, rx, null_port, mb, &s0, &s1, &pre);
	json_object_set_new(root, "warmup",
			    sample_json(&s0, &s1, bounds[1] - bounds[0],
					bp_egress(&cap, bounds[0], bounds[1]), NULL, "warm-up"));
	if (fl != NULL)
		floor_beside(fl, bounds[1], bounds[2], &fpre);
	first = s1;
	for (unsigned k = 0; k < nchunks; k++) {
		size_t a = bounds[k + 1], b = bounds[k + 2];
		uint64_t want = bp_egress(&cap, a, b), tx, fcyc = 0;
		json_t *sj;

		/* alternate the order, so a drift in machine speed does not
		 * favour one side */
		fpre = 0;
		if (fl != NULL && k % 2 == 1)
			fcyc = floor_beside(fl, a, b, &fpre);
		snprintf(label, sizeof(label), "chunk %u", k + 1);
		play(&cap, a, b, in_pool, rx, null_port, mb, &s0, &s1, &pre);
		if (fl != NULL && k % 2 == 0)
			fcyc = floor_beside(fl, a, b, &fpre);
		sj = sample_json(&s0, &s1, b - a, want, problems, label);
		json_object_set_new(sj, "preempted", json_integer((json_int_t)pre));
		tx = s1.c[MDD_C_tx_frames] - s0.c[MDD_C_tx_frames];
		all[k] = tx ? (double)(s1.busy - s0.busy) / (double)tx : 0;
		if (pre == 0)
			cpe[n_clean++] = all[k];
		if (fl != NULL) {
			double fc = (double)fcyc / (double)want;

			json_object_set_new(sj, "floor_cycles", json_integer((json_int_t)fcyc));
			json_object_set_new(sj, "floor_cycles_per_egress", json_real(fc));
			json_object_set_new(sj, "floor_preempted", json_integer((json_int_t)fpre));
			json_object_set_new(sj, "floor_over_pipeline",
					    json_real(all[k] > 0 ? fc / all[k] : 0));
			if (fpre == 0)
				fcpe[n_fclean++] = fc;
			if (fpre == 0 && pre == 0 && all[k] > 0)
				ratio[n_rclean++] = fc / all[k];
			tot_floor += fcyc;
			tot_eg += want;
		}
		json_array_append_new(samples, sj);
		tot_busy += s1.busy - s0.busy;
		tot_tx += tx;
		tot_in += b - a;
		last = s1;
	}
	g_mdd.stop = true;
	rte_eal_mp_wait_lcore();

	bp_now_iso(date, sizeof(date));
	json_object_set_new(root, "tool", json_string(PROG));
	json_object_set_new(root, "label", json_string(o.label ? o.label : ""));
	json_object_set_new(root, "date", json_string(date));
	json_object_set_new(root, "git_commit", json_string(PERC_GIT_COMMIT));
	json_object_set_new(root, "cpu_model", json_string(cpu));
	json_object_set_new(root, "tsc_hz", json_real(tsc_hz));
	json_object_set_new(root, "tsc_hz_dpdk", json_integer((json_int_t)rte_get_tsc_hz()));
	json_object_set_new(root, "tsc_invariant", json_boolean(tsc_inv));
	json_object_set_new(root, "dpdk", json_string(rte_version()));
	json_object_set_new(root, "ipsec_mb", json_string(imb_get_version_str()));
	json_object_set_new(root, "arch_requested",
			    json_string(perc_arch_name((enum perc_arch)o.arch)));
	json_object_set_new(root, "arch", json_string(perc_arch_name(
						  perc_engine_arch(g_mdd.workers[0].engine))));
	json_object_set_new(root, "floor_arch", fl ? json_string(bp_floor_arch(fl)) : json_null());
	json_object_set_new(root, "worker_lcore", json_integer(g_mdd.workers[0].lcore));
	json_object_set_new(root, "provision", json_string(o.provision));
	json_object_set_new(root, "pcap", json_string(o.pcap));
	json_object_set_new(root, "conferences", json_integer(world.n_confs));
	json_object_set_new(root, "endpoints", json_integer(world.n_eps));
	json_object_set_new(root, "streams", json_integer(world.n_streams));
	json_object_set_new(root, "frames", json_integer((json_int_t)cap.n));
	json_object_set_new(root, "warmup_frames", json_integer((json_int_t)(bounds[1] - bounds[0])));
	json_object_set_new(root, "chunk_egress", json_integer(o.chunk_egress));
	json_object_set_new(root, "chunks", json_integer(nchunks));
	json_object_set_new(root, "samples", samples);
	jt = json_object();
	json_object_set_new(jt, "ingress", json_integer((json_int_t)tot_in));
	json_object_set_new(jt, "egress", json_integer((json_int_t)tot_tx));
	json_object_set_new(jt, "busy_cycles", json_integer((json_int_t)tot_busy));
	json_object_set_new(jt, "cycles_per_egress",
			    tot_tx ? json_real((double)tot_busy / (double)tot_tx) : json_null());
	/* the summary: samples the scheduler did not interrupt, unless
	 * there are too few of them */
	json_object_set_new(jt, "clean_samples", json_integer(n_clean));
	json_object_set_new(jt, "clean_only", json_boolean(4 * n_clean >= nchunks));
	if (4 * n_clean >= nchunks)
		stats_json(jt, "cycles_per_egress", cpe, n_clean);
	else
		stats_json(jt, "cycles_per_egress", all, nchunks);
	if (fl != NULL) {
		json_object_set_new(jt, "floor_cycles", json_integer((json_int_t)tot_floor));
		json_object_set_new(jt, "floor_cycles_per_egress",
				    json_real((double)tot_floor / (double)tot_eg));
		json_object_set_new(jt, "floor_clean_samples", json_integer(n_fclean));
		json_object_set_new(jt, "pair_clean_samples", json_integer(n_rclean));
		stats_json(jt, "floor_cycles_per_egress", fcpe, n_fclean);
		stats_json(jt, "floor_over_pipeline", ratio, n_rclean);
	}
	json_object_set_new(root, "timed", jt);
	{
		json_t *c = json_object();

		for (unsigned i = 0; i < MDD_C__COUNT; i++)
			if (last.c[i] != first.c[i])
				json_object_set_new(c, mdd_ctr_name(i),
						    json_integer((json_int_t)(last.c[i] - first.c[i])));
		json_object_set_new(root, "counters_after_warmup", c);
	}
	json_object_set_new(root, "problems", problems);
	json_object_set_new(root, "valid", json_boolean(json_array_size(problems) == 0));
	if (o.json != NULL)
		r = json_dump_file(root, o.json, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	else
		r = json_dumpf(root, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	if (r != 0)
		die("cannot write %s: %s", o.json ? o.json : "stdout", strerror(errno));
	r = json_array_size(problems) == 0 ? 0 : 1;
	for (size_t i = 0; i < json_array_size(problems); i++)
		fprintf(stderr, PROG ": %s\n", json_string_value(json_array_get(problems, i)));
	json_decref(root);

	mdd_teardown(&g_mdd);
	for (unsigned i = 0; i < g_mdd.n_ports; i++) {
		rte_eth_dev_stop(g_mdd.ports[i]);
		rte_eth_dev_close(g_mdd.ports[i]);
	}
	perc_engine_destroy(g_mdd.workers[0].engine);
	bp_floor_destroy(fl);
	free(mb);
	free(cpe);
	free(fcpe);
	free(ratio);
	free(all);
	free(bounds);
	bp_capture_free(&cap);
	bp_world_free(&world);
	rte_eal_cleanup();
	return r;
}
