/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-pcaptest: what gen, forward and check share. The L2-L4 code here is
 * deliberately independent of dataplane/mdd/pkt.c: the tool is the oracle
 * the forwarder is tested against, so it must not share the forwarder's
 * parser (and its mistakes).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "perc/kat.h"
#include "perc/seedrng.h"
#include "pcaptest.h"

static const char *const counter_names[] = {
#define PT_C_NAME_(e, n) n,
	PT_FOREACH_COUNTER(PT_C_NAME_)
#undef PT_C_NAME_
};

const char *
pt_counter_name(int c)
{
	if (c < 0 || c >= PT_C__COUNT)
		return "?";
	return counter_names[c];
}

int
pt_counter_by_name(const char *name, bool forwarder_only)
{
	int last = forwarder_only ? PT_C__FORWARDER_COUNT : PT_C__COUNT;

	for (int c = PT_C_NONE + 1; c < last; c++)
		if (strcmp(counter_names[c], name) == 0)
			return c;
	return -1;
}

/* ---- options ---- */

int
pt_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "perc-pcaptest%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see perc-pcaptest %s%s--help)\n", cmd ? cmd : "", cmd ? " " : "");
	return PT_EX_USAGE;
}

int
pt_usage_hint(const char *cmd)
{
	fprintf(stderr, "(see perc-pcaptest %s --help)\n", cmd);
	return PT_EX_USAGE;
}

bool
pt_num(const char *s, unsigned long long min, unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (s == NULL || *s == 0 || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != 0 || v < min || v > max)
		return false;
	*out = v;
	return true;
}

const char *
pt_path(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}

/* ---- addresses ---- */

int
pt_parse_ip(const char *s, struct pt_addr *a)
{
	memset(a->ip, 0, sizeof(a->ip));
	if (inet_pton(AF_INET, s, a->ip) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->ip) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return -1;
}

int
pt_parse_addr_port(const char *s, struct pt_addr *a)
{
	char host[64];
	const char *colon, *h = s;
	size_t hl;
	unsigned long long port;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -1;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, h, hl);
	host[hl] = 0;
	if (pt_parse_ip(host, a) != 0)
		return -1;
	if ((*s == '[') != (a->family == AF_INET6))
		return -1;
	if (!pt_num(colon + 1, 1, 65535, &port))
		return -1;
	a->port = (uint16_t)port;
	return 0;
}

const char *
pt_fmt_ip(const struct pt_addr *a, char *buf, size_t len)
{
	if (inet_ntop(a->family, a->ip, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

const char *
pt_fmt_addr_port(const struct pt_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	pt_fmt_ip(a, ip, sizeof(ip));
	if (a->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, a->port);
	else
		snprintf(buf, len, "%s:%u", ip, a->port);
	return buf;
}

int
pt_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

const char *
pt_fmt_mac(const uint8_t mac[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	return buf;
}

/* ---- hashing, randomness, payloads ---- */

uint64_t
pt_fnv64(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* splitmix64 (perc/seedrng.h: the generators share one sequence) */
uint64_t
pt_rng_next(struct pt_rng *r)
{
	return perc_seedrng_next(&r->s);
}

void
pt_rng_bytes(struct pt_rng *r, uint8_t *out, size_t n)
{
	perc_seedrng_bytes(&r->s, out, n);
}

void
pt_payload_fill(uint32_t ssrc, uint16_t seq, uint8_t *out, size_t n)
{
	uint32_t x = ssrc ^ ((uint32_t)seq * 0x10001u);

	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		out[i] = (uint8_t)(x >> 24);
	}
}

size_t
pt_payload_len(unsigned payload, unsigned k, uint16_t seq)
{
	return k == 0 ? payload : payload + seq % 17u;
}

/* ---- the receiver's rewrite ---- */

void
pt_rewrite_none(struct pt_rewrite *rw)
{
	memset(rw, 0, sizeof(*rw));
	for (unsigned i = 0; i < PT_PT_COUNT; i++)
		rw->pt_map[i] = (uint8_t)i;
	rw->marker = -1;
}

void
pt_rewrite_fields(const struct pt_rewrite *rw, uint8_t *pt, uint16_t *seq, bool *marker)
{
	*pt = rw->pt_map[*pt & 0x7f];
	*seq = (uint16_t)(*seq + rw->seq_offset);
	if (rw->marker >= 0)
		*marker = rw->marker != 0;
}

const char *
pt_marker_name(int marker)
{
	return marker < 0 ? "keep" : marker == 0 ? "clear" : "set";
}

/* ---- map ---- */

static uint64_t
map_hash(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ull;

	h ^= b + 0x632be59bd9b4e019ull + (h << 6) + (h >> 2);
	h ^= c + 0x85ebca77c2b2ae63ull + (h << 6) + (h >> 2);
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

static struct pt_map_slot *
map_find(const struct pt_map *m, uint64_t a, uint64_t b, uint64_t c)
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	for (i = map_hash(a, b, c) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct pt_map_slot *s = &m->s[i];

		if (!s->used || (s->k[0] == a && s->k[1] == b && s->k[2] == c))
			return s;
	}
}

uint32_t *
pt_map_get(const struct pt_map *m, uint64_t a, uint64_t b, uint64_t c)
{
	struct pt_map_slot *s = map_find(m, a, b, c);

	return s != NULL && s->used ? &s->v : NULL;
}

int
pt_map_put(struct pt_map *m, uint64_t a, uint64_t b, uint64_t c, uint32_t v)
{
	struct pt_map_slot *s;

	if ((m->n + 1) * 2 > m->cap) {
		struct pt_map old = *m;
		size_t cap = m->cap ? m->cap * 2 : 64;

		m->s = calloc(cap, sizeof(*m->s));
		if (m->s == NULL) {
			*m = old;
			return -1;
		}
		m->cap = cap;
		m->n = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.s[i].used)
				pt_map_put(m, old.s[i].k[0], old.s[i].k[1], old.s[i].k[2],
					   old.s[i].v);
		free(old.s);
	}
	s = map_find(m, a, b, c);
	if (!s->used) {
		s->used = 1;
		s->k[0] = a;
		s->k[1] = b;
		s->k[2] = c;
		m->n++;
	}
	s->v = v;
	return 0;
}

void
pt_map_free(struct pt_map *m)
{
	free(m->s);
	memset(m, 0, sizeof(*m));
}

/* ---- the world ---- */

static void
addr_key(int family, const uint8_t *ip, uint16_t port, uint64_t k[3])
{
	memcpy(&k[0], ip, 8);
	memcpy(&k[1], ip + 8, 8);
	k[2] = (uint64_t)family << 16 | port;
}

int
pt_world_index(struct pt_world *w, char *err, size_t errlen)
{
	char buf[80];

	pt_map_free(&w->by_addr);
	pt_map_free(&w->by_ssrc);
	for (unsigned i = 0; i < w->n_eps; i++) {
		const struct pt_endpoint *ep = &w->eps[i];
		uint32_t *o;
		uint64_t k[3];

		addr_key(ep->addr.family, ep->addr.ip, ep->addr.port, k);
		o = pt_map_get(&w->by_addr, k[0], k[1], k[2]);
		if (o != NULL) {
			snprintf(err, errlen, "endpoints %s and %s share the address %s",
				 w->eps[*o].id, ep->id, pt_fmt_addr_port(&ep->addr, buf, sizeof(buf)));
			return -1;
		}
		if (pt_map_put(&w->by_addr, k[0], k[1], k[2], i) != 0)
			goto oom;
		for (unsigned s = 0; s < ep->n_ssrcs; s++) {
			o = pt_map_get(&w->by_ssrc, ep->ssrcs[s], ep->conf, 0);
			if (o != NULL) {
				snprintf(err, errlen, "ssrc %u is listed by both %s and %s",
					 ep->ssrcs[s], w->eps[*o].id, ep->id);
				return -1;
			}
			if (pt_map_put(&w->by_ssrc, ep->ssrcs[s], ep->conf, 0, i) != 0)
				goto oom;
		}
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int
pt_world_ep_by_addr(const struct pt_world *w, int family, const uint8_t *ip, uint16_t port)
{
	uint64_t k[3];
	uint32_t *v;

	addr_key(family, ip, port, k);
	v = pt_map_get(&w->by_addr, k[0], k[1], k[2]);
	return v ? (int)*v : -1;
}

int
pt_world_ep_by_ssrc(const struct pt_world *w, int conf, uint32_t ssrc)
{
	uint32_t *v;

	if (conf >= 0) {
		v = pt_map_get(&w->by_ssrc, ssrc, (uint64_t)conf, 0);
		return v ? (int)*v : -1;
	}
	for (unsigned c = 0; c < w->n_confs; c++) {
		v = pt_map_get(&w->by_ssrc, ssrc, c, 0);
		if (v != NULL)
			return (int)*v;
	}
	return -1;
}

void
pt_world_free(struct pt_world *w)
{
	pt_map_free(&w->by_addr);
	pt_map_free(&w->by_ssrc);
	if (w->eps)
		memset(w->eps, 0, w->n_eps * sizeof(*w->eps));  /* keys */
	if (w->confs)
		memset(w->confs, 0, w->n_confs * sizeof(*w->confs));
	free(w->eps);
	free(w->confs);
	free(w->bad);
	memset(w, 0, sizeof(*w));
}

/* ---- JSON ---- */

struct jctx {
	const char *file;
	char *err;
	size_t errlen;
};

static int
jfail(struct jctx *c, const char *where, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
jfail(struct jctx *c, const char *where, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s: %s%s%s", c->file, where ? where : "",
		 where ? ": " : "", msg);
	return -1;
}

static json_t *
jload(const char *path, struct jctx *c)
{
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);

	if (root == NULL) {
		if (je.line <= 0)
			jfail(c, NULL, "%s", je.text);
		else
			snprintf(c->err, c->errlen, "%s:%d:%d: %s", path, je.line, je.column,
				 je.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		jfail(c, NULL, "the top level is not an object");
		json_decref(root);
		return NULL;
	}
	return root;
}

static const char *
jstr(json_t *o, const char *key, struct jctx *c, const char *where)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v)) {
		jfail(c, where, "\"%s\" missing or not a string", key);
		return NULL;
	}
	return json_string_value(v);
}

static int
jint(json_t *o, const char *key, long long min, long long max, long long *out,
     struct jctx *c, const char *where)
{
	json_t *v = json_object_get(o, key);

	*out = 0;
	if (!json_is_integer(v))
		return jfail(c, where, "\"%s\" missing or not an integer", key);
	*out = json_integer_value(v);
	if (*out < min || *out > max)
		return jfail(c, where, "\"%s\" = %lld is outside %lld..%lld", key, *out, min, max);
	return 0;
}

static int
jhex(json_t *o, const char *key, uint8_t *out, size_t want, struct jctx *c, const char *where)
{
	const char *s = jstr(o, key, c, where);
	long n;

	if (s == NULL)
		return -1;
	n = perc_hex_decode(s, out, want);
	if (n < 0 || strlen(s) != 2 * want)
		return jfail(c, where, "\"%s\" must be %zu bytes of hex", key, want);
	return 0;
}

static int
jssrcs(json_t *o, struct pt_endpoint *ep, struct jctx *c, const char *where)
{
	json_t *a = json_object_get(o, "ssrcs"), *v;
	size_t i;

	if (!json_is_array(a))
		return jfail(c, where, "\"ssrcs\" missing or not an array");
	if (json_array_size(a) > PT_MAX_SSRCS)
		return jfail(c, where, "more than %d ssrcs", PT_MAX_SSRCS);
	ep->n_ssrcs = 0;
	json_array_foreach(a, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > UINT32_MAX)
			return jfail(c, where, "ssrcs[%zu] is not a 32-bit unsigned integer", i);
		ep->ssrcs[ep->n_ssrcs++] = (uint32_t)json_integer_value(v);
	}
	return 0;
}

static int
jprofile(json_t *o, struct pt_endpoint *ep, struct jctx *c, const char *where)
{
	const char *p = jstr(o, "profile", c, where);

	if (p == NULL)
		return -1;
	ep->prof = perc_profile_by_name(p);
	if (ep->prof == NULL)
		return jfail(c, where, "unknown profile \"%s\"", p);
	ep->layer = perc_profile_layer(ep->prof);
	return 0;
}

/* the HBH keys of one endpoint, as sized by its layer */
static int
jhbh(json_t *o, struct pt_endpoint *ep, struct jctx *c, const char *where)
{
	size_t kl = ep->layer->key_len, sl = ep->layer->salt_len;

	if (jhex(o, "rx_key", ep->rx_key, kl, c, where) || jhex(o, "rx_salt", ep->rx_salt, sl, c, where) ||
	    jhex(o, "tx_key", ep->tx_key, kl, c, where) || jhex(o, "tx_salt", ep->tx_salt, sl, c, where))
		return -1;
	return 0;
}

/* The optional next rx key (a hop-by-hop rekey): both halves or neither,
 * as perc-mdd's provisioning wants them. */
static int
jhbh_next(json_t *o, struct pt_endpoint *ep, struct jctx *c, const char *where)
{
	size_t kl = ep->layer->key_len, sl = ep->layer->salt_len;
	bool k = json_object_get(o, "rx_key_next") != NULL;
	bool s = json_object_get(o, "rx_salt_next") != NULL;

	ep->has_rx_next = false;
	if (!k && !s)
		return 0;
	if (k != s)
		return jfail(c, where, "\"%s\" without \"%s\"", k ? "rx_key_next" : "rx_salt_next",
			     k ? "rx_salt_next" : "rx_key_next");
	if (jhex(o, "rx_key_next", ep->rx_key_next, kl, c, where) ||
	    jhex(o, "rx_salt_next", ep->rx_salt_next, sl, c, where))
		return -1;
	ep->has_rx_next = true;
	return 0;
}

/* The optional rewrite toward an endpoint ("pt_map", "seq_offset",
 * "marker"), refused where perc-mdd's provisioning refuses it. */
static int
jrewrite(json_t *o, struct pt_endpoint *ep, struct jctx *c, const char *where)
{
	struct pt_rewrite *rw = &ep->rw;
	json_t *v;

	pt_rewrite_none(rw);
	v = json_object_get(o, "pt_map");
	if (v != NULL) {
		const char *k;
		json_t *m;

		if (!json_is_object(v))
			return jfail(c, where, "\"pt_map\" is not an object {\"96\": 100, ...}");
		json_object_foreach(v, k, m) {
			char *end;
			long from = strtol(k, &end, 10);

			if (*k == 0 || *end != 0 || from < 0 || from >= PT_PT_COUNT)
				return jfail(c, where, "pt_map key \"%.16s\" is not a payload type 0..127", k);
			if (!json_is_integer(m) || json_integer_value(m) < 0 ||
			    json_integer_value(m) >= PT_PT_COUNT)
				return jfail(c, where, "pt_map[\"%s\"] is not a payload type 0..127", k);
			rw->pt_map[from] = (uint8_t)json_integer_value(m);
			rw->listed[from] = true;
			rw->any |= rw->pt_map[from] != from;
		}
	}
	if (json_object_get(o, "seq_offset") != NULL) {
		long long x;

		if (jint(o, "seq_offset", 0, 65535, &x, c, where))
			return -1;
		rw->seq_offset = (uint16_t)x;
		rw->any |= x != 0;
	}
	v = json_object_get(o, "marker");
	if (v != NULL) {
		const char *s = json_is_string(v) ? json_string_value(v) : "";

		if (strcmp(s, "keep") == 0)
			rw->marker = -1;
		else if (strcmp(s, "clear") == 0)
			rw->marker = 0;
		else if (strcmp(s, "set") == 0)
			rw->marker = 1;
		else
			return jfail(c, where, "\"marker\" is not \"keep\", \"clear\" or \"set\"");
		rw->any |= rw->marker >= 0;
	}
	return 0;
}

/* secrets.json: where an endpoint with a next key switches to it */
static int
jrekey(json_t *o, struct pt_endpoint *ep, struct jctx *c, const char *where)
{
	long long v;

	if (!ep->has_rx_next)
		return 0;
	if (jint(o, "rekey_at_round", 0, INT32_MAX, &v, c, where))
		return -1;
	ep->rekey_round = (unsigned)v;
	if (jint(o, "rekey_at_index", 0, (long long)UINT32_MAX << 16 | 0xffff, &v, c, where))
		return -1;
	ep->rekey_index = (uint64_t)v;
	if (jint(o, "rekey_at_srtcp_index", 0, 0x7fffffff, &v, c, where))
		return -1;
	ep->rekey_srtcp = (uint32_t)v;
	return 0;
}

static int
jmdd(json_t *root, struct pt_world *w, struct jctx *c)
{
	json_t *m = json_object_get(root, "mdd");
	const char *s;

	if (!json_is_object(m))
		return jfail(c, NULL, "\"mdd\" missing or not an object");
	s = jstr(m, "addr", c, "mdd");
	if (s == NULL)
		return -1;
	if (pt_parse_addr_port(s, &w->mdd) != 0)
		return jfail(c, "mdd", "\"addr\" \"%s\" is not a.b.c.d:port or [v6]:port", s);
	s = jstr(m, "mac", c, "mdd");
	if (s == NULL)
		return -1;
	if (pt_parse_mac(s, w->mdd_mac) != 0)
		return jfail(c, "mdd", "\"mac\" \"%s\" is not xx:xx:xx:xx:xx:xx", s);
	return 0;
}

static int
jbad(json_t *root, struct pt_world *w, struct jctx *c)
{
	json_t *a = json_object_get(root, "bad"), *v;
	size_t i;

	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return jfail(c, NULL, "\"bad\" is not an array");
	w->bad = calloc(json_array_size(a) + 1, sizeof(*w->bad));
	if (w->bad == NULL)
		return jfail(c, NULL, "out of memory");
	json_array_foreach(a, i, v) {
		struct pt_bad *b = &w->bad[w->n_bad];
		char where[80];
		long long f;
		const char *s;

		snprintf(where, sizeof(where), "bad[%zu]", i);
		if (!json_is_object(v))
			return jfail(c, where, "not an object");
		if (jint(v, "frame", 1, INT32_MAX, &f, c, where))
			return -1;
		b->frame = (unsigned)f;
		s = jstr(v, "counter", c, where);
		if (s == NULL)
			return -1;
		b->counter = pt_counter_by_name(s, true);
		if (b->counter < 0)
			return jfail(c, where, "unknown counter \"%s\"", s);
		s = json_string_value(json_object_get(v, "what"));
		snprintf(b->what, sizeof(b->what), "%s", s ? s : "");
		s = json_string_value(json_object_get(v, "note"));
		snprintf(b->note, sizeof(b->note), "%s", s ? s : "");
		w->n_bad++;
	}
	return 0;
}

int
pt_secrets_load_mdd(const char *path, struct pt_world *w, char *err, size_t errlen)
{
	struct jctx c = { path, err, errlen };
	json_t *root = jload(path, &c);
	int r;

	if (root == NULL)
		return -1;
	r = jmdd(root, w, &c);
	if (r == 0)
		r = jbad(root, w, &c);
	json_decref(root);
	return r;
}

static int
secrets_conf(json_t *v, struct pt_conf *cf, struct jctx *c, const char *where)
{
	const char *s = jstr(v, "id", c, where);
	long long spi;
	size_t n;

	if (s == NULL)
		return -1;
	snprintf(cf->id, sizeof(cf->id), "%s", s);
	s = json_string_value(json_object_get(v, "ekt_key"));
	if (s != NULL) {
		n = strlen(s) / 2;
		if ((n != 16 && n != 32) || jhex(v, "ekt_key", cf->ekt_key, n, c, where))
			return jfail(c, where, "\"ekt_key\" must be 16 or 32 bytes of hex");
		cf->ekt_key_len = (unsigned)n;
		if (jint(v, "ekt_spi", 0, 0xffff, &spi, c, where) ||
		    jhex(v, "e2e_salt", cf->e2e_salt, 12, c, where))
			return -1;
		cf->ekt_spi = (uint16_t)spi;
	}
	return 0;
}

static int
secrets_ep(json_t *v, struct pt_world *w, struct pt_endpoint *ep, struct jctx *c,
	   const char *where)
{
	const char *s;
	long long ms;
	json_t *ekt;

	if ((s = jstr(v, "id", c, where)) == NULL)
		return -1;
	snprintf(ep->id, sizeof(ep->id), "%s", s);
	if ((s = jstr(v, "conference", c, where)) == NULL)
		return -1;
	ep->conf = w->n_confs;
	for (unsigned k = 0; k < w->n_confs; k++)
		if (strcmp(w->confs[k].id, s) == 0)
			ep->conf = k;
	if (ep->conf == w->n_confs)
		return jfail(c, where, "conference \"%s\" is not in \"conferences\"", s);
	if ((s = jstr(v, "addr", c, where)) == NULL)
		return -1;
	if (pt_parse_addr_port(s, &ep->addr) != 0)
		return jfail(c, where, "\"addr\" \"%s\" is not a.b.c.d:port or [v6]:port", s);
	if ((s = jstr(v, "mac", c, where)) == NULL)
		return -1;
	if (pt_parse_mac(s, ep->mac) != 0)
		return jfail(c, where, "\"mac\" \"%s\" is not xx:xx:xx:xx:xx:xx", s);
	ep->have_mac = true;
	if (jprofile(v, ep, c, where) || jhbh(v, ep, c, where) || jhbh_next(v, ep, c, where) ||
	    jrekey(v, ep, c, where) || jssrcs(v, ep, c, where) || jrewrite(v, ep, c, where))
		return -1;
	if (ep->prof->is_double &&
	    (jhex(v, "e2e_key", ep->e2e_key, ep->layer->key_len, c, where) ||
	     jhex(v, "e2e_salt", ep->e2e_salt, 12, c, where)))
		return -1;
	if (jint(v, "max_streams", 1, 1024, &ms, c, where))
		return -1;
	ep->max_streams = (unsigned)ms;
	ekt = json_object_get(v, "ekt");
	ep->ekt = ekt ? json_is_true(ekt) : ep->prof->is_double;
	return 0;
}

int
pt_secrets_load(const char *path, struct pt_world *w, char *err, size_t errlen)
{
	struct jctx c = { path, err, errlen };
	json_t *root = jload(path, &c), *a, *v;
	long long n;
	size_t i;
	int r = -1;

	memset(w, 0, sizeof(*w));
	if (root == NULL)
		return -1;
	if (jmdd(root, w, &c) || jint(root, "payload", 0, PT_MTU_PAYLOAD, &n, &c, NULL))
		goto out;
	w->payload = (unsigned)n;
	a = json_object_get(root, "conferences");
	if (!json_is_array(a) || json_array_size(a) == 0) {
		jfail(&c, NULL, "\"conferences\" missing, empty or not an array");
		goto out;
	}
	w->confs = calloc(json_array_size(a), sizeof(*w->confs));
	if (w->confs == NULL)
		goto oom;
	json_array_foreach(a, i, v) {
		char where[80];

		snprintf(where, sizeof(where), "conferences[%zu]", i);
		if (secrets_conf(v, &w->confs[w->n_confs], &c, where))
			goto out;
		w->n_confs++;
	}
	a = json_object_get(root, "endpoints");
	if (!json_is_array(a) || json_array_size(a) == 0) {
		jfail(&c, NULL, "\"endpoints\" missing, empty or not an array");
		goto out;
	}
	w->eps = calloc(json_array_size(a), sizeof(*w->eps));
	if (w->eps == NULL)
		goto oom;
	json_array_foreach(a, i, v) {
		struct pt_endpoint *ep = &w->eps[w->n_eps];
		struct pt_conf *cf;
		char where[80];

		snprintf(where, sizeof(where), "endpoints[%zu]", i);
		if (secrets_ep(v, w, ep, &c, where))
			goto out;
		cf = &w->confs[ep->conf];
		if (cf->n_eps == 0)
			cf->first_ep = w->n_eps;
		else if (cf->first_ep + cf->n_eps != w->n_eps) {
			jfail(&c, where, "the endpoints of conference %s are not listed together",
			      cf->id);
			goto out;
		}
		ep->pos = cf->n_eps++;
		if (ep->prof->is_double && cf->ekt_key_len == 0) {
			jfail(&c, where, "double profile, but conference %s has no ekt_key", cf->id);
			goto out;
		}
		w->n_eps++;
	}
	if (jbad(root, w, &c))
		goto out;
	if (pt_world_index(w, err, errlen))
		goto out;
	r = 0;
	goto out;
oom:
	jfail(&c, NULL, "out of memory");
out:
	json_decref(root);
	if (r != 0)
		pt_world_free(w);
	return r;
}

static int
provision_ep(json_t *v, struct pt_endpoint *ep, struct jctx *c, const char *where)
{
	const char *s;
	json_t *x;

	if ((s = jstr(v, "id", c, where)) == NULL)
		return -1;
	snprintf(ep->id, sizeof(ep->id), "%s", s);
	if ((s = jstr(v, "addr", c, where)) == NULL)
		return -1;
	if (pt_parse_addr_port(s, &ep->addr) != 0)
		return jfail(c, where, "\"addr\" \"%s\" is not a.b.c.d:port or [v6]:port", s);
	if (jprofile(v, ep, c, where) || jhbh(v, ep, c, where) || jhbh_next(v, ep, c, where) ||
	    jssrcs(v, ep, c, where) || jrewrite(v, ep, c, where))
		return -1;
	ep->max_streams = 16;  /* PROV_DEFAULT_MAX_STREAMS */
	x = json_object_get(v, "max_streams");
	if (x != NULL) {
		long long ms;

		if (jint(v, "max_streams", 1, 1024, &ms, c, where))
			return -1;
		ep->max_streams = (unsigned)ms;
	}
	if (ep->n_ssrcs > ep->max_streams)
		return jfail(c, where, "%u ssrcs listed but max_streams is %u", ep->n_ssrcs,
			     ep->max_streams);
	x = json_object_get(v, "ekt");
	ep->ekt = x ? json_is_true(x) : ep->prof->is_double;
	return 0;
}

int
pt_provision_load(const char *path, struct pt_world *w, char *err, size_t errlen)
{
	struct jctx c = { path, err, errlen };
	json_t *root = jload(path, &c), *a, *v;
	size_t i, total = 0;
	int r = -1;

	w->confs = NULL;
	w->eps = NULL;
	w->n_confs = w->n_eps = 0;
	if (root == NULL)
		return -1;
	a = json_object_get(root, "conferences");
	if (!json_is_array(a) || json_array_size(a) == 0) {
		jfail(&c, NULL, "\"conferences\" missing, empty or not an array");
		goto out;
	}
	json_array_foreach(a, i, v)
		total += json_array_size(json_object_get(v, "endpoints"));
	w->confs = calloc(json_array_size(a), sizeof(*w->confs));
	w->eps = calloc(total + 1, sizeof(*w->eps));
	if (w->confs == NULL || w->eps == NULL) {
		jfail(&c, NULL, "out of memory");
		goto out;
	}
	json_array_foreach(a, i, v) {
		struct pt_conf *cf = &w->confs[w->n_confs];
		json_t *eps = json_object_get(v, "endpoints"), *e;
		char where[80];
		const char *s;
		size_t j;

		snprintf(where, sizeof(where), "conferences[%zu]", i);
		if ((s = jstr(v, "id", &c, where)) == NULL)
			goto out;
		snprintf(cf->id, sizeof(cf->id), "%s", s);
		if (!json_is_array(eps)) {
			jfail(&c, where, "\"endpoints\" missing or not an array");
			goto out;
		}
		cf->first_ep = w->n_eps;
		json_array_foreach(eps, j, e) {
			struct pt_endpoint *ep = &w->eps[w->n_eps];

			snprintf(where, sizeof(where), "conferences[%zu].endpoints[%zu]", i, j);
			if (provision_ep(e, ep, &c, where))
				goto out;
			ep->conf = w->n_confs;
			ep->pos = cf->n_eps++;
			w->n_eps++;
		}
		w->n_confs++;
	}
	if (pt_world_index(w, err, errlen))
		goto out;
	r = 0;
out:
	json_decref(root);
	return r;
}

/* ---- pcap ---- */

int
pt_pcap_add(struct pt_pcap *c, const uint8_t *data, size_t len, struct timeval ts)
{
	struct pt_pkt *p;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct pt_pkt *np = realloc(c->p, cap * sizeof(*np));

		if (np == NULL)
			return -1;
		c->p = np;
		c->cap = cap;
	}
	p = &c->p[c->n];
	p->data = malloc(len ? len : 1);
	if (p->data == NULL)
		return -1;
	memcpy(p->data, data, len);
	p->len = (uint32_t)len;
	p->ts = ts;
	c->n++;
	return 0;
}

void
pt_pcap_free(struct pt_pcap *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->p[i].data);
	free(c->p);
	memset(c, 0, sizeof(*c));
}

int
pt_pcap_read(const char *path, struct pt_pcap *c, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *p;
	int r;

	p = pcap_open_offline(path, ebuf);
	if (p == NULL) {
		snprintf(err, errlen, "%s: %s", path, ebuf);
		return -1;
	}
	if (pcap_datalink(p) != DLT_EN10MB) {
		snprintf(err, errlen, "%s: link type %d, not Ethernet (DLT_EN10MB)", path,
			 pcap_datalink(p));
		pcap_close(p);
		return -1;
	}
	while ((r = pcap_next_ex(p, &h, &d)) == 1) {
		if (h->caplen < h->len) {
			snprintf(err, errlen, "%s: record %zu captured %u of %u bytes (snaplen too small)",
				 path, c->n + 1, h->caplen, h->len);
			pcap_close(p);
			return -1;
		}
		if (pt_pcap_add(c, d, h->caplen, h->ts) != 0) {
			snprintf(err, errlen, "out of memory");
			pcap_close(p);
			return -1;
		}
	}
	if (r == -1) {
		snprintf(err, errlen, "%s: %s", path, pcap_geterr(p));
		pcap_close(p);
		return -1;
	}
	pcap_close(p);
	return 0;
}

int
pt_pcap_write(const char *path, const struct pt_pcap *c, char *err, size_t errlen)
{
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d;

	if (p == NULL) {
		snprintf(err, errlen, "pcap_open_dead failed");
		return -1;
	}
	d = pcap_dump_open(p, path);
	if (d == NULL) {
		snprintf(err, errlen, "%s: %s", path, pcap_geterr(p));
		pcap_close(p);
		return -1;
	}
	for (size_t i = 0; i < c->n; i++) {
		struct pcap_pkthdr h = { .ts = c->p[i].ts, .caplen = c->p[i].len,
					 .len = c->p[i].len };

		pcap_dump((u_char *)d, &h, c->p[i].data);
	}
	if (pcap_dump_flush(d) != 0) {
		snprintf(err, errlen, "%s: write failed", path);
		pcap_dump_close(d);
		pcap_close(p);
		return -1;
	}
	pcap_dump_close(d);
	pcap_close(p);
	return 0;
}

/* ---- L2-L4 ---- */

uint16_t
pt_csum(const void *p, size_t n, uint32_t sum)
{
	const uint8_t *b = p;
	uint64_t s = sum;

	for (; n >= 2; n -= 2, b += 2)
		s += (uint32_t)(b[0] << 8 | b[1]);
	if (n)
		s += (uint32_t)b[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* complemented sum over the pseudo-header and n bytes of UDP datagram */
static uint16_t
udp_sum(int family, const uint8_t *src_ip, const uint8_t *dst_ip, const uint8_t *udp, size_t n)
{
	uint32_t sum = 0;
	size_t al = family == AF_INET6 ? 16 : 4;

	for (size_t i = 0; i < al; i += 2) {
		sum += (uint32_t)(src_ip[i] << 8 | src_ip[i + 1]);
		sum += (uint32_t)(dst_ip[i] << 8 | dst_ip[i + 1]);
	}
	sum += 17;
	sum += (uint32_t)(n & 0xffff) + (uint32_t)(n >> 16);
	return pt_csum(udp, n, sum);
}

uint16_t
pt_udp_csum(int family, const uint8_t *src_ip, const uint8_t *dst_ip, const uint8_t *udp,
	    size_t n)
{
	uint16_t c = udp_sum(family, src_ip, dst_ip, udp, n);

	/* RFC 768: a computed zero is sent as all ones */
	return c == 0 ? 0xffff : c;
}

/* The UDP part of a parse, shared by IPv4 and IPv6: l4 .. l4 + ip_payload. */
static int
parse_udp(const uint8_t *f, size_t l4, size_t ip_payload, struct pt_frame *pf)
{
	const uint8_t *u = f + l4;
	uint16_t ulen, csum;

	if (ip_payload < PT_UDP)
		return PT_C_UDP_BAD_LEN;
	ulen = pt_get16(u + 4);
	if (ulen != ip_payload)
		return PT_C_UDP_BAD_LEN;
	pf->l4_off = (uint16_t)l4;
	pf->sport = pt_get16(u);
	pf->dport = pt_get16(u + 2);
	pf->payload = u + PT_UDP;
	pf->plen = ulen - PT_UDP;
	csum = pt_get16(u + 6);
	pf->udp_csum_zero = csum == 0;
	/* a right checksum makes the sum over pseudo-header and datagram,
	 * checksum field included, all ones */
	pf->udp_csum_ok = csum == 0 ||
			  udp_sum(pf->family, pf->src_ip, pf->dst_ip, u, ulen) == 0;
	pf->kind = PT_F_UDP;
	return PT_C_NONE;
}

int
pt_frame_parse(const uint8_t *f, size_t len, struct pt_frame *pf)
{
	uint16_t et;
	size_t l3 = PT_ETH;

	memset(pf, 0, sizeof(*pf));
	if (len < PT_ETH)
		return PT_C_ETH_TRUNCATED;
	memcpy(pf->dst_mac, f, 6);
	memcpy(pf->src_mac, f + 6, 6);
	et = pt_get16(f + 12);
	pf->l3_off = (uint16_t)l3;
	pf->kind = PT_F_OTHER;
	pf->ip_csum_ok = true;
	if (et == 0x0806) {
		pf->kind = PT_F_CONTROL;
		return PT_C_NONE;
	}
	if (et == 0x0800) {
		const uint8_t *ip = f + l3;
		size_t ihl, tot;

		if (len < l3 + PT_IP4)
			return PT_C_IP_TRUNCATED;
		if ((ip[0] >> 4) != 4)
			return PT_C_IP_TRUNCATED;
		ihl = 4u * (ip[0] & 0x0fu);
		if (ihl < PT_IP4 || len < l3 + ihl)
			return PT_C_IP_TRUNCATED;
		tot = pt_get16(ip + 2);
		if (tot < ihl || tot > len - l3)
			return PT_C_IP_BAD_LEN;
		pf->family = AF_INET;
		memcpy(pf->src_ip, ip + 12, 4);
		memcpy(pf->dst_ip, ip + 16, 4);
		pf->ip_csum_ok = pt_csum(ip, ihl, 0) == 0;
		if (pt_get16(ip + 6) & 0x3fff)  /* MF or a fragment offset */
			return PT_C_IP_FRAGMENT;
		if (ip[9] != 17)
			return PT_C_NONE;  /* PT_F_OTHER */
		return parse_udp(f, l3 + ihl, tot - ihl, pf);
	}
	if (et == 0x86dd) {
		const uint8_t *ip = f + l3;
		size_t pl;

		if (len < l3 + PT_IP6)
			return PT_C_IP_TRUNCATED;
		if ((ip[0] >> 4) != 6)
			return PT_C_IP_TRUNCATED;
		pl = pt_get16(ip + 4);
		if (pl > len - l3 - PT_IP6)
			return PT_C_IP_BAD_LEN;
		pf->family = AF_INET6;
		memcpy(pf->src_ip, ip + 8, 16);
		memcpy(pf->dst_ip, ip + 24, 16);
		if (ip[6] == 44)
			return PT_C_IP_FRAGMENT;
		if (ip[6] == 58) {
			pf->kind = PT_F_CONTROL;
			return PT_C_NONE;
		}
		if (ip[6] != 17)
			return PT_C_NONE;  /* PT_F_OTHER */
		return parse_udp(f, l3 + PT_IP6, pl, pf);
	}
	return PT_C_NONE;
}

void
pt_frame_fix_csums(uint8_t *f, int family, size_t l3, size_t l4, size_t udp_bytes)
{
	const uint8_t *src, *dst;

	if (family == AF_INET) {
		size_t ihl = 4u * (f[l3] & 0x0fu);

		f[l3 + 10] = f[l3 + 11] = 0;
		pt_put16(f + l3 + 10, pt_csum(f + l3, ihl, 0));
		src = f + l3 + 12;
		dst = f + l3 + 16;
	} else {
		src = f + l3 + 8;
		dst = f + l3 + 24;
	}
	f[l4 + 6] = f[l4 + 7] = 0;
	pt_put16(f + l4 + 6, pt_udp_csum(family, src, dst, f + l4, udp_bytes));
}

size_t
pt_frame_build(uint8_t *out, size_t cap, const uint8_t dst_mac[6], const uint8_t src_mac[6],
	       const struct pt_addr *src, const struct pt_addr *dst, const uint8_t *payload,
	       size_t plen)
{
	size_t l3 = PT_ETH, iplen = src->family == AF_INET6 ? PT_IP6 : PT_IP4;
	size_t l4 = l3 + iplen, n = l4 + PT_UDP + plen;
	uint8_t *ip = out + l3, *u = out + l4;

	if (n > cap || PT_UDP + plen > 0xffff)
		return 0;
	memcpy(out, dst_mac, 6);
	memcpy(out + 6, src_mac, 6);
	memmove(u + PT_UDP, payload, plen);
	memset(ip, 0, iplen);
	if (src->family == AF_INET6) {
		pt_put16(out + 12, 0x86dd);
		ip[0] = 0x60;
		pt_put16(ip + 4, (uint16_t)(PT_UDP + plen));
		ip[6] = 17;
		ip[7] = 64;
		memcpy(ip + 8, src->ip, 16);
		memcpy(ip + 24, dst->ip, 16);
	} else {
		pt_put16(out + 12, 0x0800);
		ip[0] = 0x45;
		pt_put16(ip + 2, (uint16_t)(iplen + PT_UDP + plen));
		pt_put16(ip + 6, 0x4000);  /* DF */
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, src->ip, 4);
		memcpy(ip + 16, dst->ip, 4);
	}
	pt_put16(u, src->port);
	pt_put16(u + 2, dst->port);
	pt_put16(u + 4, (uint16_t)(PT_UDP + plen));
	pt_frame_fix_csums(out, src->family, l3, l4, PT_UDP + plen);
	return n;
}

/* ---- per-stream replay / ROC state ---- */

struct perc_stream *
pt_streams_get(struct pt_streams *s, int kind, unsigned ep, uint32_t ssrc)
{
	uint32_t *v = pt_map_get(&s->map, (uint64_t)kind, ep, ssrc);
	size_t sz = perc_stream_size(PT_WINDOW);
	void *mem;

	if (v != NULL)
		return s->st[*v];
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct perc_stream **n = realloc(s->st, cap * sizeof(*n));

		if (n == NULL)
			return NULL;
		s->st = n;
		s->cap = cap;
	}
	mem = aligned_alloc(64, (sz + 63) & ~(size_t)63);
	if (mem == NULL)
		return NULL;
	s->st[s->n] = perc_stream_init(mem, PT_WINDOW, 0);
	if (pt_map_put(&s->map, (uint64_t)kind, ep, ssrc, (uint32_t)s->n) != 0) {
		free(mem);
		return NULL;
	}
	return s->st[s->n++];
}

void
pt_streams_clear(struct pt_streams *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->st[i]);
	s->n = 0;
	pt_map_free(&s->map);
}

void
pt_streams_free(struct pt_streams *s)
{
	pt_streams_clear(s);
	free(s->st);
	s->st = NULL;
	s->cap = 0;
}
