/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The provisioning file, the capture and the machine facts for the
 * pipeline benchmark (bench_pipeline_common.h).
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <x86intrin.h>

#include "bench_pipeline_common.h"
#include "perc/rtp.h"
#include "pkt.h"

struct bp_addr_ent {
	uint8_t key[19];            /* family, port (network order), ip */
	uint32_t ep;
};

static int __attribute__((format(printf, 3, 4)))
err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void
addr_key(uint8_t key[19], int family, const uint8_t *ip, uint16_t port)
{
	memset(key, 0, 19);
	key[0] = (uint8_t)family;
	key[1] = (uint8_t)(port >> 8);
	key[2] = (uint8_t)port;
	memcpy(key + 3, ip, family == AF_INET ? 4 : 16);
}

static int
addr_cmp(const void *a, const void *b)
{
	return memcmp(((const struct bp_addr_ent *)a)->key, ((const struct bp_addr_ent *)b)->key, 19);
}

int
bp_world_load(const char *path, struct bp_world *w, char *err, size_t errlen)
{
	struct prov_error pe;
	unsigned i = 0;

	memset(w, 0, sizeof(*w));
	if (prov_load(path, &w->prov, &pe) != 0)
		return err_set(err, errlen, "%s", pe.msg);
	w->n_eps = w->prov.n_endpoints;
	w->n_confs = w->prov.n_conferences;
	w->eps = calloc(w->n_eps + 1, sizeof(*w->eps));
	w->conf_first = calloc(w->n_eps + 1, sizeof(*w->conf_first));
	w->conf_n = calloc(w->n_eps + 1, sizeof(*w->conf_n));
	w->by_addr = calloc(w->n_eps + 1, sizeof(*w->by_addr));
	if (w->eps == NULL || w->conf_first == NULL || w->conf_n == NULL || w->by_addr == NULL)
		return err_set(err, errlen, "out of memory for %u endpoints", w->n_eps);
	for (unsigned c = 0; c < w->prov.n_conferences; c++) {
		const struct prov_conference *pc = &w->prov.conferences[c];
		unsigned first = i;

		for (unsigned j = 0; j < pc->n_endpoints; j++, i++) {
			const struct prov_endpoint *e = &pc->endpoints[j];

			w->eps[i] = e;
			w->conf_first[i] = first;
			w->conf_n[i] = pc->n_endpoints;
			w->n_streams += e->n_ssrcs;
			addr_key(w->by_addr[i].key, e->addr.family, e->addr.ip, e->addr.port);
			w->by_addr[i].ep = i;
		}
	}
	qsort(w->by_addr, w->n_eps, sizeof(*w->by_addr), addr_cmp);
	return 0;
}

void
bp_world_free(struct bp_world *w)
{
	prov_free(&w->prov);
	free(w->eps);
	free(w->conf_first);
	free(w->conf_n);
	free(w->by_addr);
	memset(w, 0, sizeof(*w));
}

int
bp_world_find(const struct bp_world *w, int family, const uint8_t *ip, uint16_t port)
{
	struct bp_addr_ent k;
	const struct bp_addr_ent *e;

	addr_key(k.key, family, ip, port);
	e = bsearch(&k, w->by_addr, w->n_eps, sizeof(k), addr_cmp);
	return e == NULL ? -1 : (int)e->ep;
}

int
bp_capture_load(const char *path, const struct bp_world *w, uint16_t mdd_port,
		struct bp_capture *c, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	size_t cap_f = 0, cap_d = 0;
	pcap_t *p;
	int r;

	memset(c, 0, sizeof(*c));
	p = pcap_open_offline(path, perr);
	if (p == NULL)
		return err_set(err, errlen, "%s: %s", path, perr);
	if (pcap_datalink(p) != DLT_EN10MB) {
		pcap_close(p);
		return err_set(err, errlen, "%s: not an Ethernet capture", path);
	}
	while ((r = pcap_next_ex(p, &h, &d)) == 1) {
		struct bp_frame *f;
		struct pkt_info pi;
		int ep;

		if (h->caplen != h->len) {
			err_set(err, errlen, "%s: frame %zu is truncated in the capture", path, c->n + 1);
			goto fail;
		}
		if (c->n == cap_f) {
			size_t nc = cap_f ? 2 * cap_f : 4096;
			struct bp_frame *nf = realloc(c->f, nc * sizeof(*nf));

			if (nf == NULL)
				goto nomem;
			c->f = nf;
			cap_f = nc;
		}
		while (c->size + h->caplen > cap_d) {
			size_t nc = cap_d ? 2 * cap_d : 1u << 20;
			uint8_t *nd = realloc(c->data, nc);

			if (nd == NULL)
				goto nomem;
			c->data = nd;
			cap_d = nc;
		}
		f = &c->f[c->n];
		f->off = c->size;
		f->len = h->caplen;
		memcpy(c->data + c->size, d, h->caplen);
		c->size += h->caplen;
		if (pkt_parse(d, h->caplen, false, &pi) != PKT_OK || pi.kind != PKT_K_UDP ||
		    pi.dst_port != mdd_port ||
		    perc_demux(d + pi.payload_off, pi.payload_len) != PERC_DEMUX_RTP) {
			err_set(err, errlen, "%s: frame %zu is not RTP to UDP port %u (the benchmark "
				"replays media only: generate without --rtcp and --bad)",
				path, c->n + 1, mdd_port);
			goto fail;
		}
		ep = bp_world_find(w, pi.family, pi.src_ip, pi.src_port);
		if (ep < 0) {
			err_set(err, errlen, "%s: frame %zu comes from an address the provisioning "
				"file does not list", path, c->n + 1);
			goto fail;
		}
		f->ep = (uint32_t)ep;
		f->payload_off = pi.payload_off;
		f->payload_len = pi.payload_len;
		f->fanout = (uint16_t)(w->conf_n[ep] - 1);
		c->egress += f->fanout;
		if (f->len > c->max_len)
			c->max_len = f->len;
		c->n++;
	}
	if (r == PCAP_ERROR) {
		err_set(err, errlen, "%s: %s", path, pcap_geterr(p));
		goto fail;
	}
	pcap_close(p);
	if (c->n == 0)
		return err_set(err, errlen, "%s: no frames", path);
	return 0;
nomem:
	err_set(err, errlen, "%s: out of memory after %zu frames", path, c->n);
fail:
	pcap_close(p);
	bp_capture_free(c);
	return -1;
}

void
bp_capture_free(struct bp_capture *c)
{
	free(c->data);
	free(c->f);
	memset(c, 0, sizeof(*c));
}

size_t *
bp_split(const struct bp_capture *c, size_t warmup, uint64_t chunk_egress, unsigned *chunks)
{
	size_t k = 0, cap = 64, *b = malloc(cap * sizeof(*b));
	uint64_t e = 0;

	if (b == NULL)
		return NULL;
	if (warmup > c->n)
		warmup = c->n;
	b[0] = 0;
	b[1] = warmup;
	for (size_t i = warmup; i < c->n; i++) {
		e += c->f[i].fanout;
		if (e >= chunk_egress || i + 1 == c->n) {
			if (k + 3 > cap) {
				size_t *nb = realloc(b, 2 * cap * sizeof(*b));

				if (nb == NULL) {
					free(b);
					return NULL;
				}
				b = nb;
				cap *= 2;
			}
			b[k + 2] = i + 1;
			k++;
			e = 0;
		}
	}
	*chunks = (unsigned)k;
	return b;
}

uint64_t
bp_preemptions(int tid)
{
	char path[64], line[128];
	unsigned long long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "nonvoluntary_ctxt_switches: %llu", &n) == 1)
			break;
	fclose(f);
	return n;
}

uint64_t
bp_egress(const struct bp_capture *c, size_t a, size_t b)
{
	uint64_t e = 0;

	for (size_t i = a; i < b; i++)
		e += c->f[i].fanout;
	return e;
}

uint64_t
bp_tsc_begin(void)
{
	uint64_t t;

	_mm_lfence();
	t = __rdtsc();
	_mm_lfence();
	return t;
}

uint64_t
bp_tsc_end(void)
{
	unsigned aux;
	uint64_t t = __rdtscp(&aux);

	_mm_lfence();
	return t;
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double
bp_tsc_calibrate(void)
{
	struct timespec d = { 0, 100 * 1000 * 1000 };
	double s0, s1;
	uint64_t t0, t1;

	s0 = mono_s();
	t0 = bp_tsc_begin();
	nanosleep(&d, NULL);
	t1 = bp_tsc_end();
	s1 = mono_s();
	return (double)(t1 - t0) / (s1 - s0);
}

void
bp_cpu_model(char *buf, size_t len, bool *tsc_invariant)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	bool model = false, flags = false;

	snprintf(buf, len, "unknown");
	*tsc_invariant = false;
	if (f == NULL)
		return;
	while ((!model || !flags) && fgets(line, sizeof(line), f) != NULL) {
		char *v = strchr(line, ':');

		if (v == NULL)
			continue;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		v[strcspn(v, "\n")] = 0;
		if (!model && strncmp(line, "model name", 10) == 0) {
			snprintf(buf, len, "%s", v);
			model = true;
		} else if (!flags && strncmp(line, "flags", 5) == 0) {
			*tsc_invariant = strstr(v, "constant_tsc") != NULL &&
					 strstr(v, "nonstop_tsc") != NULL;
			flags = true;
		}
	}
	fclose(f);
}

void
bp_now_iso(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
bp_die(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}
