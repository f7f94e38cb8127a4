/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-endpoint capture on demand (capture.h; docs/operations.md "Capture")
 * and the pdump server that lets dpdk-dumpcap attach to perc-mdd.
 *
 * Everything here runs on the control thread. A capture is one pcapng file
 * (written here, not with rte_pcapng, whose files carry one interface per
 * ethdev port: a capture is one endpoint): a Section Header Block, one
 * Interface Description Block naming the endpoint, and one Enhanced Packet
 * Block per packet with its direction in epb_flags.
 *
 * Raw captures hold the frames as received from / sent to the endpoint.
 *
 * Decrypted captures hold the packet after the hop-by-hop (outer) layer was
 * opened, or before it is sealed toward the endpoint: the RTP header, the
 * payload still sealed by the end-to-end layer, and the OHB (RFC 8723); for
 * SRTCP the compound RTCP packet (RTCP has no end-to-end layer in PERC).
 * The EKT field is not part of it. Since there is no such frame on any
 * wire, each packet is written as the UDP payload of synthesized headers:
 * Ethernet (zero MACs), IPv4 or IPv6 (the endpoint's address and the MDD's
 * first media address of that family) and UDP (the endpoint's port and the
 * media port; checksum 0). Keys never reach a capture: the fast path copies
 * packet bytes only, and the E2E layer stays sealed because the MDD never
 * has its keys.
 *
 * Files are created only in --capture-dir: the API refuses relative paths,
 * paths whose directory is not that directory (or under it, after
 * symlinks are resolved), and existing files (O_EXCL | O_NOFOLLOW).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pdump.h>

#include "capture.h"
#include "cp.h"
#include "ops.h"
#include "pkt.h"

enum cap_state { CAP_FREE, CAP_RUNNING, CAP_DONE };

struct cap {
	enum cap_state state;
	uint32_t token;
	bool decrypted;
	char conf[PROV_ID_MAX], id[PROV_ID_MAX];
	uint64_t leg_serial;       /* the leg captured (a new leg of that id is another) */
	char path[PATH_MAX];
	FILE *f;
	uint64_t max_packets;      /* 0 = none */
	uint64_t deadline_tsc;     /* 0 = none */
	uint64_t tsc0, ns0;        /* TSC and CLOCK_REALTIME (ns) at the start */
	uint64_t start_ms;
	uint64_t packets, bytes, lost_late;
	const char *end_reason;
	int write_errno;
};

static struct cap caps[MDD_CAP_MAX];
static uint32_t cap_gen;
static char cap_dir[PATH_MAX] = MDD_CAP_DIR_DEFAULT;
static bool pdump_on;
static uint64_t last_check_tsc;

int
mdd_capture_args(int *argc, char **argv)
{
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i], *val;

		if (strncmp(a, "--capture-dir", 13) != 0 || (a[13] != '\0' && a[13] != '=')) {
			argv[out++] = argv[i];
			continue;
		}
		if (a[13] == '=') {
			val = a + 14;
		} else if (i + 1 < *argc) {
			val = argv[++i];
		} else {
			fprintf(stderr, "perc-mdd: --capture-dir needs a directory\n");
			return -1;
		}
		if (val[0] != '/' || strlen(val) >= sizeof(cap_dir)) {
			fprintf(stderr, "perc-mdd: --capture-dir '%s': give an absolute path of an "
					"existing directory\n", val);
			return -1;
		}
		snprintf(cap_dir, sizeof(cap_dir), "%s", val);
	}
	*argc = out;
	argv[out] = NULL;
	return 0;
}

int
mdd_capture_init(struct mdd *m, char *err, size_t errlen)
{
	mdd_cap_pool = rte_mempool_create("mdd_cap", MDD_CAP_POOL, sizeof(struct mdd_cap_rec), 32,
					  0, NULL, NULL, NULL, NULL, (int)rte_socket_id(), 0);
	if (mdd_cap_pool == NULL) {
		snprintf(err, errlen, "cannot create the capture record pool (%u x %zu bytes): %s "
			 "(give the EAL more memory with -m)", MDD_CAP_POOL,
			 sizeof(struct mdd_cap_rec), rte_strerror(rte_errno));
		return -1;
	}
	for (unsigned i = 0; i < m->n_workers; i++) {
		char name[32];

		snprintf(name, sizeof(name), "mdd_cap%u", i);
		m->workers[i].cap_ring = rte_ring_create(name, MDD_CAP_RING, (int)rte_socket_id(),
							 RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (m->workers[i].cap_ring == NULL) {
			snprintf(err, errlen, "cannot create capture ring %s: %s (give the EAL more "
				 "memory with -m)", name, rte_strerror(rte_errno));
			return -1;
		}
	}
	/* dpdk-dumpcap / dpdk-pdump attach as secondary processes: that
	 * needs shared hugepage memory, so with --no-huge (or --in-memory)
	 * this is refused and perc-mdd runs without it */
	if (rte_pdump_init() == 0)
		pdump_on = true;
	else
		MDD_LOG(WARNING, CONTROL, "pdump unavailable (%s): dpdk-dumpcap cannot attach; "
			"per-endpoint capture through the API still works",
			rte_strerror(rte_errno));
	return 0;
}

/* ---- pcapng ---- */

static int
put(FILE *f, const void *p, size_t n)
{
	return fwrite(p, 1, n, f) == n ? 0 : -1;
}

static int
put32(FILE *f, uint32_t v)
{
	return put(f, &v, 4);
}

/* an option: code, length, value padded to 4 bytes */
static int
put_opt(FILE *f, uint16_t code, const void *v, uint16_t len)
{
	static const uint8_t zero[4];
	uint16_t h[2] = { code, len };

	return put(f, h, 4) || put(f, v, len) || put(f, zero, (4 - len % 4) % 4);
}

static uint32_t
opt_size(size_t len)
{
	return 4 + (uint32_t)((len + 3) & ~(size_t)3);
}

static int
write_headers(struct cap *c)
{
	static const char appl[] = "perc-mdd";
	char name[2 * PROV_ID_MAX + 16], desc[64];
	uint32_t len;
	uint8_t tsresol = 9;      /* nanoseconds */
	int r;

	/* Section Header Block: byte-order magic, version 1.0, length unknown */
	len = 28 + opt_size(sizeof(appl) - 1) + 4;
	r = put32(c->f, 0x0A0D0D0A) || put32(c->f, len) || put32(c->f, 0x1A2B3C4D) ||
	    put32(c->f, 0x00000001) || put32(c->f, 0xffffffff) || put32(c->f, 0xffffffff) ||
	    put_opt(c->f, 4, appl, sizeof(appl) - 1) || put32(c->f, 0) || put32(c->f, len);
	if (r)
		return -1;
	/* Interface Description Block: Ethernet, the endpoint's name */
	snprintf(name, sizeof(name), "%s/%s", c->conf, c->id);
	snprintf(desc, sizeof(desc), "perc-mdd endpoint capture, %s",
		 c->decrypted ? "hop-by-hop layer opened (E2E sealed)" : "raw frames");
	len = 20 + opt_size(strlen(name)) + opt_size(strlen(desc)) + opt_size(1) + 4;
	return put32(c->f, 1) || put32(c->f, len) || put32(c->f, 1) ||
	       put32(c->f, MDD_CAP_SNAP) || put_opt(c->f, 2, name, (uint16_t)strlen(name)) ||
	       put_opt(c->f, 3, desc, (uint16_t)strlen(desc)) || put_opt(c->f, 9, &tsresol, 1) ||
	       put32(c->f, 0) || put32(c->f, len);
}

/* Ethernet / IP / UDP headers for a decrypted record (see the top), built
 * as perc-mdd builds its own (pkt.c; MACs zero); the header length, or 0
 * when the MDD has no address of the peer's family. */
static size_t
synth_headers(const struct mdd *m, const struct mdd_cap_rec *r, uint8_t *h)
{
	struct pkt_udp_tmpl t = { .family = r->peer.family };
	const uint8_t *ours = NULL;
	size_t alen = t.family == AF_INET6 ? 16 : 4;
	uint16_t peer = rte_be_to_cpu_16(r->peer.port);
	bool in = r->dir == MDD_CAP_IN;

	for (unsigned i = 0; i < m->n_addrs && ours == NULL; i++)
		if (m->addrs[i].family == r->peer.family)
			ours = m->addrs[i].ip;
	if (ours == NULL)
		return 0;
	memcpy(t.src_ip, in ? r->peer.ip : ours, alen);
	memcpy(t.dst_ip, in ? ours : r->peer.ip, alen);
	t.src_port = in ? peer : m->media_port;
	t.dst_port = in ? m->media_port : peer;
	pkt_udp_tmpl_init(&t);
	/* the payload is written apart: no UDP checksum over it */
	pkt_udp_write(h, &t, (uint16_t)r->len, false);
	return t.hdr_len;
}

static int
write_epb(const struct mdd *m, struct cap *c, const struct mdd_cap_rec *r)
{
	static const uint8_t zero[4];
	uint8_t hdr[14 + 40 + 8];
	size_t hl = 0, cap_len, orig;
	uint64_t ts;
	uint32_t flags = r->dir == MDD_CAP_IN ? 1 : 2, len;

	if (c->decrypted) {
		hl = synth_headers(m, r, hdr);
		if (hl == 0)
			return 0;
	}
	cap_len = hl + r->len;
	orig = hl + r->orig_len;
	ts = c->ns0 + (uint64_t)((double)(r->tsc - c->tsc0) * 1e9 / (double)rte_get_tsc_hz());
	len = (uint32_t)(28 + ((cap_len + 3) & ~(size_t)3) + opt_size(4) + 4 + 4);
	if (put32(c->f, 6) || put32(c->f, len) || put32(c->f, 0) ||
	    put32(c->f, (uint32_t)(ts >> 32)) || put32(c->f, (uint32_t)ts) ||
	    put32(c->f, (uint32_t)cap_len) || put32(c->f, (uint32_t)orig) ||
	    put(c->f, hdr, hl) || put(c->f, r->data, r->len) ||
	    put(c->f, zero, (4 - cap_len % 4) % 4) || put_opt(c->f, 2, &flags, 4) ||
	    put32(c->f, 0) || put32(c->f, len))
		return -1;
	c->packets++;
	c->bytes += cap_len;
	return 0;
}

/* ---- captures ---- */

static uint64_t
realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct mdd_leg *
cap_leg(const struct mdd *m, const struct cap *c)
{
	struct mdd_conf *cf = mdd_conf_find(m, c->conf);
	struct mdd_leg *l = cf == NULL ? NULL : mdd_leg_find(cf, c->id);

	return l != NULL && l->serial == c->leg_serial ? l : NULL;
}

static json_t *
cap_json(const struct cap *c)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:s,s:I,s:I,s:I,s:I}", "conference", c->conf,
			      "id", c->id, "file", c->path, "decrypted", c->decrypted, "state",
			      c->state == CAP_RUNNING ? "running" : "done", "packets",
			      (json_int_t)c->packets, "bytes", (json_int_t)c->bytes,
			      "max_packets", (json_int_t)c->max_packets, "start_ms",
			      (json_int_t)c->start_ms);

	if (c->state == CAP_DONE)
		json_object_set_new(o, "end", json_string(c->end_reason));
	if (c->write_errno != 0)
		json_object_set_new(o, "write_error", json_string(strerror(c->write_errno)));
	return o;
}

static unsigned drain(struct mdd *m);

/* Disarm the leg, write what is queued, close the file. */
static void
cap_end(struct mdd *m, struct cap *c, const char *why)
{
	struct mdd_leg *l = cap_leg(m, c);

	if (l != NULL && __atomic_load_n(&l->capture, __ATOMIC_RELAXED) == c->token)
		__atomic_store_n(&l->capture, 0, __ATOMIC_RELEASE);
	/* copies the workers made before they saw the flag cleared: every
	 * worker passes a quiescent state once per loop, after its burst's
	 * copies are on its ring (microseconds; stopped workers are offline) */
	if (m->qs != NULL)
		rte_rcu_qsbr_check(m->qs, rte_rcu_qsbr_start(m->qs), true);
	drain(m);
	c->state = CAP_DONE;
	c->end_reason = why;
	if (c->f != NULL && fclose(c->f) != 0 && c->write_errno == 0)
		c->write_errno = errno;
	c->f = NULL;
	MDD_LOG(INFO, CONTROL, "capture of %s/%s ended (%s): %" PRIu64 " packets in %s", c->conf,
		c->id, why, c->packets, c->path);
}

static void
cap_write(struct mdd *m, struct mdd_cap_rec *r)
{
	struct cap *c = &caps[(r->token >> 1) & (MDD_CAP_MAX - 1)];

	if (c->state != CAP_RUNNING || c->token != r->token)
		return;
	if (c->max_packets != 0 && c->packets >= c->max_packets)
		return;
	if (write_epb(m, c, r) != 0 && c->write_errno == 0) {
		c->write_errno = errno != 0 ? errno : EIO;
		MDD_LOG(ERR, CONTROL, "capture %s: write failed: %s (free space in %s)",
			c->path, strerror(c->write_errno), cap_dir);
	}
}

/* Write every queued record. */
static unsigned
drain(struct mdd *m)
{
	void *recs[64];
	unsigned total = 0;

	for (unsigned i = 0; i < m->n_workers; i++) {
		unsigned n;

		if (m->workers[i].cap_ring == NULL)
			continue;
		while ((n = rte_ring_sc_dequeue_burst(m->workers[i].cap_ring, recs, 64, NULL)) > 0) {
			for (unsigned k = 0; k < n; k++)
				cap_write(m, recs[k]);
			rte_mempool_put_bulk(mdd_cap_pool, recs, n);
			total += n;
		}
	}
	return total;
}

unsigned
mdd_capture_poll(struct mdd *m)
{
	unsigned total;
	uint64_t now;

	if (mdd_cap_pool == NULL)
		return 0;
	total = drain(m);
	now = rte_get_tsc_cycles();
	for (unsigned i = 0; i < MDD_CAP_MAX; i++) {
		struct cap *c = &caps[i];

		if (c->state != CAP_RUNNING)
			continue;
		if (total > 0 && c->f != NULL)
			fflush(c->f);
		if (c->max_packets != 0 && c->packets >= c->max_packets)
			cap_end(m, c, "max_packets");
		else if (c->deadline_tsc != 0 && now >= c->deadline_tsc)
			cap_end(m, c, "max_seconds");
		else if (now - last_check_tsc > rte_get_tsc_hz() && cap_leg(m, c) == NULL)
			cap_end(m, c, "endpoint_removed");
	}
	if (now - last_check_tsc > rte_get_tsc_hz())
		last_check_tsc = now;
	return total;
}

void
mdd_capture_fini(struct mdd *m)
{
	for (unsigned i = 0; i < MDD_CAP_MAX; i++)
		if (caps[i].state == CAP_RUNNING)
			cap_end(m, &caps[i], "shutdown");
	for (unsigned i = 0; m->workers != NULL && i < m->n_workers; i++) {
		rte_ring_free(m->workers[i].cap_ring);
		m->workers[i].cap_ring = NULL;
	}
	rte_mempool_free(mdd_cap_pool);
	mdd_cap_pool = NULL;
	if (pdump_on)
		rte_pdump_uninit();
	pdump_on = false;
}

/* Create path for writing if it lies in --capture-dir; fd or -1 with why. */
static int
open_in_dir(const char *path, char *why, size_t whylen)
{
	char dir[PATH_MAX], real_dir[PATH_MAX], real_root[PATH_MAX];
	const char *base = strrchr(path, '/');
	size_t rl;
	int fd, dirfd;

	if (path[0] != '/') {
		snprintf(why, whylen, "file '%s' is relative: give an absolute path in %s", path,
			 cap_dir);
		return -1;
	}
	if (strlen(path) >= sizeof(dir) || base[1] == '\0' || strcmp(base, "/.") == 0 ||
	    strcmp(base, "/..") == 0) {
		snprintf(why, whylen, "file '%s' names no file: give DIR/NAME.pcapng in %s", path,
			 cap_dir);
		return -1;
	}
	memcpy(dir, path, (size_t)(base - path));
	dir[base - path] = '\0';
	if (realpath(cap_dir, real_root) == NULL) {
		snprintf(why, whylen, "capture directory %s: %s (create it, or start perc-mdd "
			 "with --capture-dir DIR)", cap_dir, strerror(errno));
		return -1;
	}
	if (realpath(dir[0] != '\0' ? dir : "/", real_dir) == NULL) {
		snprintf(why, whylen, "directory of '%s': %s", path, strerror(errno));
		return -1;
	}
	rl = strlen(real_root);
	if (strncmp(real_dir, real_root, rl) != 0 ||
	    (real_dir[rl] != '\0' && real_dir[rl] != '/' && strcmp(real_root, "/") != 0)) {
		snprintf(why, whylen, "file '%s' is outside the capture directory %s (perc-mdd "
			 "--capture-dir sets it)", path, cap_dir);
		return -1;
	}
	/* the directory as checked, not the path again (no second walk of
	 * "..": what was checked is what is opened) */
	dirfd = open(real_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		snprintf(why, whylen, "directory %s: %s", real_dir, strerror(errno));
		return -1;
	}
	fd = openat(dirfd, base + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	close(dirfd);
	if (fd < 0)
		snprintf(why, whylen, "cannot create '%s': %s%s", path, strerror(errno),
			 errno == EEXIST ? " (captures never overwrite: choose another name)" : "");
	return fd;
}

static struct cap *
cap_find(const char *conf, const char *id)
{
	for (unsigned i = 0; i < MDD_CAP_MAX; i++)
		if (caps[i].state == CAP_RUNNING && strcmp(caps[i].conf, conf) == 0 &&
		    strcmp(caps[i].id, id) == 0)
			return &caps[i];
	return NULL;
}

static struct cap *
cap_slot(void)
{
	struct cap *done = NULL;

	for (unsigned i = 0; i < MDD_CAP_MAX; i++) {
		if (caps[i].state == CAP_FREE)
			return &caps[i];
		if (caps[i].state == CAP_DONE && (done == NULL || caps[i].start_ms < done->start_ms))
			done = &caps[i];
	}
	return done;
}

static json_t *
op_start(struct mdd *m, json_t *req)
{
	const char *op, *conf = NULL, *id = NULL, *file = NULL;
	int dec = 0;
	json_int_t maxp = 0;
	double maxs = 0;
	json_error_t je;
	struct mdd_leg *l;
	struct mdd_conf *cf;
	struct cap *c;
	char why[PATH_MAX + 160];
	int fd;

	if (json_unpack_ex(req, &je, JSON_STRICT, "{s:s,s:s,s:s,s:s,s?b,s?I,s?F}", "op", &op,
			   "conference", &conf, "id", &id, "file", &file, "decrypted", &dec,
			   "max_packets", &maxp, "max_seconds", &maxs) != 0)
		return mdd_api_refuse("capture_start: %s (give conference, id, file, and "
				      "optionally decrypted (bool), max_packets, max_seconds)",
				      je.text);
	if (maxp < 0 || maxs < 0 || maxs > 86400)
		return mdd_api_refuse("capture_start: max_packets >= 0 and 0 <= max_seconds <= "
				      "86400 (0 = no limit)");
	if (mdd_cap_pool == NULL)
		return mdd_api_refuse("capture_start: captures are not available in this process");
	cf = mdd_conf_find(m, conf);
	l = cf == NULL ? NULL : mdd_leg_find(cf, id);
	if (l == NULL)
		return mdd_api_refuse("capture_start: no endpoint '%s' in conference '%s' (mddctl "
				      "list shows them)", id, conf);
	if (cap_find(conf, id) != NULL || __atomic_load_n(&l->capture, __ATOMIC_RELAXED) != 0)
		return mdd_api_refuse("capture_start: %s/%s is already being captured (capture "
				      "stop it first)", conf, id);
	c = cap_slot();
	if (c == NULL)
		return mdd_api_refuse("capture_start: %d captures are running: stop one first",
				      MDD_CAP_MAX);
	fd = open_in_dir(file, why, sizeof(why));
	if (fd < 0)
		return mdd_api_refuse("capture_start: %s", why);
	memset(c, 0, sizeof(*c));
	c->f = fdopen(fd, "w");
	if (c->f == NULL) {
		close(fd);
		unlink(file);
		return mdd_api_refuse("capture_start: %s: %s", file, strerror(errno));
	}
	snprintf(c->conf, sizeof(c->conf), "%s", conf);
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->leg_serial = l->serial;
	snprintf(c->path, sizeof(c->path), "%s", file);
	c->decrypted = dec != 0;
	if (write_headers(c) != 0 || fflush(c->f) != 0) {
		int e = errno;

		fclose(c->f);
		unlink(file);
		c->f = NULL;
		return mdd_api_refuse("capture_start: cannot write %s: %s", file, strerror(e));
	}
	c->max_packets = (uint64_t)maxp;
	c->tsc0 = rte_get_tsc_cycles();
	c->ns0 = realtime_ns();
	c->start_ms = c->ns0 / 1000000u;
	c->deadline_tsc = maxs > 0 ? c->tsc0 + (uint64_t)(maxs * (double)rte_get_tsc_hz()) : 0;
	cap_gen++;
	c->token = cap_gen << 5 | (uint32_t)(c - caps) << 1 | (c->decrypted ? 1u : 0u);
	c->state = CAP_RUNNING;
	__atomic_store_n(&l->capture, c->token, __ATOMIC_RELEASE);
	MDD_LOG(INFO, CONTROL, "capture of %s/%s (%s) into %s", conf, id,
		c->decrypted ? "decrypted" : "raw", file);
	return json_pack("{s:b,s:o}", "ok", 1, "capture", cap_json(c));
}

static json_t *
op_stop(struct mdd *m, json_t *req)
{
	const char *op, *conf, *id;
	json_error_t je;
	struct cap *c;

	if (json_unpack_ex(req, &je, JSON_STRICT, "{s:s,s:s,s:s}", "op", &op, "conference", &conf,
			   "id", &id) != 0)
		return mdd_api_refuse("capture_stop: %s (give conference and id)", je.text);
	c = cap_find(conf, id);
	if (c == NULL)
		return mdd_api_refuse("capture_stop: no capture of %s/%s is running (capture list "
				      "shows them)", conf, id);
	cap_end(m, c, "stopped");
	return json_pack("{s:b,s:o}", "ok", 1, "capture", cap_json(c));
}

static json_t *
op_list(void)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < MDD_CAP_MAX; i++)
		if (caps[i].state != CAP_FREE)
			json_array_append_new(a, cap_json(&caps[i]));
	return json_pack("{s:b,s:s,s:b,s:o}", "ok", 1, "capture_dir", cap_dir, "pdump",
			 pdump_on, "captures", a);
}

json_t *
mdd_capture_api(struct mdd *m, const char *line, size_t len)
{
	json_t *req = json_loadb(line, len, 0, NULL), *resp = NULL;
	const char *op = NULL;

	if (req == NULL || json_unpack(req, "{s:s}", "op", &op) != 0 ||
	    strncmp(op, "capture_", 8) != 0) {
		json_decref(req);
		return NULL;
	}
	if (strcmp(op, "capture_start") == 0)
		resp = op_start(m, req);
	else if (strcmp(op, "capture_stop") == 0)
		resp = op_stop(m, req);
	else if (strcmp(op, "capture_list") == 0)
		resp = op_list();
	else
		resp = mdd_api_refuse("unknown op '%s': capture ops are capture_start, "
				      "capture_stop, capture_list", op);
	json_decref(req);
	return resp;
}
