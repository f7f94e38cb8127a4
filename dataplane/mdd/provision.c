/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The provisioning file. jansson checks the syntax and builds the tree; a
 * second, much smaller scan of the raw text (the locator, loc_*) records where
 * every value and object key starts, because jansson keeps no positions once
 * parsing has succeeded and a refusal must name the line of the value at
 * fault. The locator walks the same grammar in the same order as jansson, so
 * it is exact for any layout (one value per line, everything on one line, or
 * anything between); its one limit is a key spelled with \u escapes, which
 * it cannot match and reports at its object instead.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "perc/kat.h"
#include "perc/kdf.h"
#include "provision.h"

#define PROV_FILE_MAX (64u << 20)   /* a provisioning file is never this big */
#define LOC_NONE UINT32_MAX
#define LOC_MAX_DEPTH 2048          /* jansson's own nesting limit */

/* ---- locator: positions of values in the raw text ---- */

/* One JSON value, in document order. */
struct loc {
	int line, col;          /* first character of the value, 1-based */
	int kline, kcol;        /* its key, when it is an object member */
	uint32_t key_off, key_len;  /* raw key text, quotes excluded */
	uint32_t child, next;   /* first child, next sibling, or LOC_NONE */
};

struct locator {
	const char *s;
	size_t n, i;
	int line, col;          /* of s[i] */
	struct loc *v;
	uint32_t nv, cap;
};

static void
loc_step(struct locator *L)
{
	unsigned char ch = (unsigned char)L->s[L->i++];

	/* columns count characters, as jansson's do: skip UTF-8 continuations */
	if (ch == '\n') {
		L->line++;
		L->col = 1;
	} else if ((ch & 0xc0) != 0x80) {
		L->col++;
	}
}

static void
loc_ws(struct locator *L)
{
	while (L->i < L->n) {
		char ch = L->s[L->i];

		if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n')
			break;
		loc_step(L);
	}
}

static bool
loc_at(const struct locator *L, char ch)
{
	return L->i < L->n && L->s[L->i] == ch;
}

static uint32_t
loc_new(struct locator *L)
{
	struct loc *v;

	if (L->nv == L->cap) {
		uint32_t cap = L->cap ? 2 * L->cap : 64;

		v = realloc(L->v, cap * sizeof(*v));
		if (v == NULL)
			return LOC_NONE;
		L->v = v;
		L->cap = cap;
	}
	v = &L->v[L->nv];
	memset(v, 0, sizeof(*v));
	v->line = L->line;
	v->col = L->col;
	v->child = v->next = LOC_NONE;
	return L->nv++;
}

/* At the opening quote; leaves the raw contents in *off, *len. */
static int
loc_string(struct locator *L, uint32_t *off, uint32_t *len)
{
	loc_step(L);
	*off = (uint32_t)L->i;
	while (L->i < L->n && L->s[L->i] != '"') {
		if (L->s[L->i] == '\\')
			loc_step(L);
		if (L->i < L->n)
			loc_step(L);
	}
	if (L->i >= L->n)
		return -1;
	*len = (uint32_t)(L->i - *off);
	loc_step(L);
	return 0;
}

static uint32_t loc_value(struct locator *L, unsigned depth);

/* The members of an object or the elements of an array, after the bracket. */
static int
loc_children(struct locator *L, uint32_t parent, bool object, unsigned depth)
{
	char close = object ? '}' : ']';
	uint32_t last = LOC_NONE;

	loc_ws(L);
	if (loc_at(L, close)) {
		loc_step(L);
		return 0;
	}
	for (;;) {
		int kline = 0, kcol = 0;
		uint32_t koff = 0, klen = 0, c;

		loc_ws(L);
		if (object) {
			kline = L->line;
			kcol = L->col;
			if (!loc_at(L, '"') || loc_string(L, &koff, &klen) != 0)
				return -1;
			loc_ws(L);
			if (!loc_at(L, ':'))
				return -1;
			loc_step(L);
		}
		c = loc_value(L, depth + 1);
		if (c == LOC_NONE)
			return -1;
		L->v[c].kline = kline;
		L->v[c].kcol = kcol;
		L->v[c].key_off = koff;
		L->v[c].key_len = klen;
		if (last == LOC_NONE)
			L->v[parent].child = c;
		else
			L->v[last].next = c;
		last = c;
		loc_ws(L);
		if (loc_at(L, ',')) {
			loc_step(L);
			continue;
		}
		if (!loc_at(L, close))
			return -1;
		loc_step(L);
		return 0;
	}
}

static uint32_t
loc_value(struct locator *L, unsigned depth)
{
	uint32_t me, off, len;
	size_t start;

	loc_ws(L);
	if (L->i >= L->n || depth > LOC_MAX_DEPTH)
		return LOC_NONE;
	me = loc_new(L);
	if (me == LOC_NONE)
		return LOC_NONE;
	switch (L->s[L->i]) {
	case '{':
	case '[':
		loc_step(L);
		if (loc_children(L, me, L->s[L->i - 1] == '{', depth) != 0)
			return LOC_NONE;
		return me;
	case '"':
		return loc_string(L, &off, &len) == 0 ? me : LOC_NONE;
	default:
		/* number, true, false, null: jansson has checked the spelling */
		start = L->i;
		while (L->i < L->n && strchr(",]} \t\r\n", L->s[L->i]) == NULL && L->s[L->i] != 0)
			loc_step(L);
		return L->i > start ? me : LOC_NONE;
	}
}

/* Build the positions of text that jansson accepted. On failure (it cannot
 * fail on valid JSON, short of memory) there are none and refusals go out
 * without a line. */
static void
loc_build(struct locator *L, const char *text, size_t n)
{
	memset(L, 0, sizeof(*L));
	L->s = text;
	L->n = n;
	L->line = 1;
	L->col = 1;
	if (loc_value(L, 0) == LOC_NONE)
		L->nv = 0;
}

static uint32_t
loc_root(const struct locator *L)
{
	return L->nv > 0 ? 0 : LOC_NONE;
}

static uint32_t
loc_child(const struct locator *L, uint32_t at)
{
	return at == LOC_NONE ? LOC_NONE : L->v[at].child;
}

static uint32_t
loc_next(const struct locator *L, uint32_t at)
{
	return at == LOC_NONE ? LOC_NONE : L->v[at].next;
}

/* The member of object at whose raw key is key; LOC_NONE when not found
 * (also for keys written with escapes). */
static uint32_t
loc_member(const struct locator *L, uint32_t at, const char *key)
{
	size_t klen = strlen(key);

	for (uint32_t c = loc_child(L, at); c != LOC_NONE; c = L->v[c].next)
		if (L->v[c].key_len == klen && memcmp(L->s + L->v[c].key_off, key, klen) == 0)
			return c;
	return LOC_NONE;
}

/* ---- errors ---- */

struct pctx {
	const char *name;        /* file name for messages */
	struct locator L;
	struct prov_error *err;
	char what[160];          /* "endpoint "b" of conference "c1"", or "" */
};

/* "FILE:LINE:COL: what: reason", or "FILE: ..." without a position. A
 * message that does not fit ends in "...". */
static int __attribute__((format(printf, 6, 0)))
verr(struct prov_error *err, const char *name, const char *what, int line, int col,
     const char *fmt, va_list ap)
{
	char reason[sizeof(err->msg)];
	size_t cap = sizeof(err->msg);
	int n;

	vsnprintf(reason, sizeof(reason), fmt, ap);
	err->line = line;
	err->column = col;
	if (line > 0)
		n = snprintf(err->msg, cap, "%s:%d:%d: %s%s%s", name, line, col, what,
			     what[0] ? ": " : "", reason);
	else
		n = snprintf(err->msg, cap, "%s: %s%s%s", name, what, what[0] ? ": " : "", reason);
	if (n < 0 || (size_t)n >= cap)
		memcpy(err->msg + cap - 4, "...", 4);
	return -1;
}

/* At a given position (0: none), outside any conference or endpoint. */
static int __attribute__((format(printf, 5, 6)))
lerr(struct prov_error *err, const char *name, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(err, name, "", line, col, fmt, ap);
	va_end(ap);
	return -1;
}

/* At the value that locator node at stands for. */
static int __attribute__((format(printf, 3, 4)))
perr(struct pctx *c, uint32_t at, const char *fmt, ...)
{
	va_list ap;
	int line = at != LOC_NONE ? c->L.v[at].line : 0;
	int col = at != LOC_NONE ? c->L.v[at].col : 0;

	va_start(ap, fmt);
	verr(c->err, c->name, c->what, line, col, fmt, ap);
	va_end(ap);
	return -1;
}

/* At the key of the member at. */
static int __attribute__((format(printf, 3, 4)))
perr_key(struct pctx *c, uint32_t at, const char *fmt, ...)
{
	va_list ap;
	int line = at != LOC_NONE ? c->L.v[at].kline : 0;
	int col = at != LOC_NONE ? c->L.v[at].kcol : 0;

	va_start(ap, fmt);
	verr(c->err, c->name, c->what, line, col, fmt, ap);
	va_end(ap);
	return -1;
}

/* A string from the file, quoted, with anything unprintable as \xNN and at
 * most about 40 characters, so that it cannot garble the message. */
static const char *
quote(char *buf, size_t cap, const char *s)
{
	size_t o = 0;

	buf[o++] = '"';
	for (; *s != 0 && o + 8 < cap; s++) {
		unsigned char ch = (unsigned char)*s;

		if (o > 40) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o++] = '"';
	buf[o] = 0;
	return buf;
}

static const char *
jtype(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction or exponent";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static int addr_why(const char *s, struct prov_addr *a, const char **why);

/* ---- value helpers ---- */

/* Member key of obj and its position (the object's when it is absent or
 * cannot be found in the text). */
static json_t *
member(struct pctx *c, json_t *obj, uint32_t oloc, const char *key, uint32_t *at)
{
	json_t *v = json_object_get(obj, key);
	uint32_t m = v != NULL ? loc_member(&c->L, oloc, key) : LOC_NONE;

	*at = m != LOC_NONE ? m : oloc;
	return v;
}

/* Refuse the first key of obj (in document order) that is not in known. */
static int
check_keys(struct pctx *c, json_t *obj, uint32_t oloc, const char *const *known,
	   const char *where, const char *list)
{
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v) {
		unsigned i;
		char kb[64];
		uint32_t at;

		for (i = 0; known[i] != NULL; i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (known[i] != NULL)
			continue;
		at = loc_member(&c->L, oloc, k);
		if (at == LOC_NONE)
			return perr(c, oloc, "unknown key %s: %s takes only %s",
				    quote(kb, sizeof(kb), k), where, list);
		return perr_key(c, at, "unknown key %s: %s takes only %s",
				quote(kb, sizeof(kb), k), where, list);
	}
	return 0;
}

/* An id: 1..PROV_ID_MAX-1 bytes of printable ASCII other than '"' and '\',
 * so that it prints in logs, messages and JSON statistics as it is. Returns
 * the first bad byte's index, n when all are good, or 0 when it is empty. */
static size_t
id_scan(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			return i;
	}
	return n;
}

/* The object's id when it is a good one, to name the object in refusals
 * that come before its id is checked; "" otherwise. */
static const char *
peek_id(json_t *obj)
{
	json_t *v = json_object_get(obj, "id");
	size_t n = json_string_length(v);

	if (!json_is_string(v) || n == 0 || n >= PROV_ID_MAX ||
	    id_scan(json_string_value(v), n) != n)
		return "";
	return json_string_value(v);
}

static int
get_id(struct pctx *c, json_t *obj, uint32_t oloc, char *out)
{
	uint32_t at;
	json_t *v = member(c, obj, oloc, "id", &at);
	const char *s;
	size_t n;

	if (v == NULL)
		return perr(c, oloc, "no \"id\": add a unique \"id\": \"name\"");
	if (!json_is_string(v))
		return perr(c, at, "\"id\" must be a string, got %s", jtype(v));
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0)
		return perr(c, at, "\"id\" is empty: give it a name");
	if (n >= PROV_ID_MAX)
		return perr(c, at, "\"id\" is %zu bytes long: at most %d", n, PROV_ID_MAX - 1);
	if (id_scan(s, n) != n)
		return perr(c, at, "\"id\" has byte 0x%02x at position %zu: use printable "
			    "ASCII without quotes or backslashes",
			    (unsigned char)s[id_scan(s, n)], id_scan(s, n) + 1);
	memcpy(out, s, n + 1);
	return 0;
}

/* A required string member. */
static int
get_string(struct pctx *c, json_t *obj, uint32_t oloc, const char *key, const char *hint,
	   const char **out, uint32_t *at)
{
	json_t *v = member(c, obj, oloc, key, at);

	if (v == NULL)
		return perr(c, oloc, "no \"%s\": add %s", key, hint);
	if (!json_is_string(v))
		return perr(c, *at, "\"%s\" must be a string, got %s", key, jtype(v));
	*out = json_string_value(v);
	return 0;
}

static int
get_addr(struct pctx *c, json_t *obj, uint32_t oloc, struct prov_addr *a, uint32_t *atp)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t zero[16];
	const char *s, *why;
	uint32_t at;
	char sb[64];

	if (get_string(c, obj, oloc, "addr", "\"addr\": \"192.0.2.10:40000\" (IP and UDP port)",
		       &s, &at) != 0)
		return -1;
	*atp = at;
	if (addr_why(s, a, &why) != 0)
		return perr(c, at, "addr %s %s", quote(sb, sizeof(sb), s), why);
	if (memcmp(a->ip, zero, a->family == AF_INET ? 4 : 16) == 0)
		return perr(c, at, "addr %s is the unspecified address: give the endpoint's own IP",
			    quote(sb, sizeof(sb), s));
	if (a->family == AF_INET6 && memcmp(a->ip, v4mapped, sizeof(v4mapped)) == 0)
		return perr(c, at, "addr %s is IPv4-mapped: write the IPv4 address as a.b.c.d:port",
			    quote(sb, sizeof(sb), s));
	return 0;
}

/* Levenshtein distance, case-insensitive, for "did you mean". */
static unsigned
distance(const char *a, const char *b)
{
	unsigned row[65], nb = (unsigned)strlen(b);

	if (nb >= 65 || strlen(a) >= 65)
		return ~0u;
	for (unsigned j = 0; j <= nb; j++)
		row[j] = j;
	for (unsigned i = 1; a[i - 1] != 0; i++) {
		unsigned diag = row[0];

		row[0] = i;
		for (unsigned j = 1; j <= nb; j++) {
			unsigned up = row[j];
			unsigned sub = diag + (tolower((unsigned char)a[i - 1]) !=
					       tolower((unsigned char)b[j - 1]));

			row[j] = sub;
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[nb];
}

static int
get_profile(struct pctx *c, json_t *obj, uint32_t oloc, const struct perc_profile **out)
{
	const char *s, *best = NULL;
	unsigned bestd = ~0u;
	uint32_t at;
	char sb[64];

	if (get_string(c, obj, oloc, "profile",
		       "\"profile\": \"DOUBLE_AEAD_AES_128_GCM_AEAD_AES_128_GCM\" (or another)",
		       &s, &at) != 0)
		return -1;
	*out = perc_profile_by_name(s);
	if (*out != NULL && perc_profile_layer(*out) != NULL)
		return 0;
	for (unsigned i = 0; perc_profiles[i] != NULL; i++) {
		/* a name cut short ("DOUBLE_AEAD_AES_128_GCM") is a near miss too */
		bool prefix = strlen(s) >= 8 && strncasecmp(perc_profiles[i]->name, s, strlen(s)) == 0;
		unsigned d = prefix ? 0 : distance(s, perc_profiles[i]->name);

		if (d < bestd) {
			bestd = d;
			best = perc_profiles[i]->name;
		}
	}
	if (best != NULL && bestd <= 8)
		return perr(c, at, "unknown profile %s: did you mean %s? (all names: "
			    "docs/provisioning.md)", quote(sb, sizeof(sb), s), best);
	return perr(c, at, "unknown profile %s: see docs/provisioning.md for the names",
		    quote(sb, sizeof(sb), s));
}

/* A key or salt of exactly want bytes, as hex (an optional 0x prefix, as
 * perc_hex_decode takes it). */
static int
get_hex(struct pctx *c, json_t *obj, uint32_t oloc, const char *key,
	const struct perc_profile *prof, uint8_t *out, unsigned want)
{
	const char *half = prof->is_double ? " (the outer half)" : "";
	const char *s;
	size_t n, skip = 0, got;
	uint32_t at;
	char hint[64];

	snprintf(hint, sizeof(hint), "\"%s\": \"...\" with %u hex digits", key, 2 * want);
	if (get_string(c, obj, oloc, key, hint, &s, &at) != 0)
		return -1;
	n = strlen(s);
	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		skip = 2;
	for (size_t i = skip; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!isxdigit(ch)) {
			if (ch > 0x20 && ch < 0x7f)
				return perr(c, at, "%s is not hex: '%c' at digit %zu; use 0-9 and a-f",
					    key, ch, i - skip + 1);
			return perr(c, at, "%s is not hex: byte 0x%02x at digit %zu; use 0-9 and a-f",
				    key, ch, i - skip + 1);
		}
	}
	if ((n - skip) % 2 != 0)
		return perr(c, at, "%s has an odd number of hex digits (%zu): two per byte",
			    key, n - skip);
	got = (n - skip) / 2;
	/* twice the length for a double profile: the whole inner || outer value */
	if (got != want)
		return perr(c, at, "%s must be %u bytes (%u hex digits) for %s%s, got %zu%s",
			    key, want, 2 * want, prof->name, half, got,
			    prof->is_double && got == 2u * want ?
			    ": give only the hop-by-hop half" : "");
	if (perc_hex_decode(s, out, want) != (long)want)
		return perr(c, at, "%s: cannot decode the hex", key);
	return 0;
}

static int
get_max_streams(struct pctx *c, json_t *obj, uint32_t oloc, unsigned *out)
{
	uint32_t at;
	json_t *v = member(c, obj, oloc, "max_streams", &at);
	json_int_t x;

	*out = PROV_DEFAULT_MAX_STREAMS;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v))
		return perr(c, at, "max_streams must be an integer 1..%d, got %s",
			    PROV_MAX_STREAMS_LIMIT, jtype(v));
	x = json_integer_value(v);
	if (x < 1 || x > PROV_MAX_STREAMS_LIMIT)
		return perr(c, at, "max_streams must be 1..%d, got %lld", PROV_MAX_STREAMS_LIMIT,
			    (long long)x);
	*out = (unsigned)x;
	return 0;
}

static int
get_ssrcs(struct pctx *c, json_t *obj, uint32_t oloc, struct prov_endpoint *ep)
{
	uint32_t at, el;
	json_t *v = member(c, obj, oloc, "ssrcs", &at);
	size_t n;

	if (v == NULL)
		return perr(c, oloc, "no \"ssrcs\": list the endpoint's SSRCs, e.g. \"ssrcs\": "
			    "[1234], or [] for none");
	if (!json_is_array(v))
		return perr(c, at, "ssrcs must be an array of integers, got %s", jtype(v));
	n = json_array_size(v);
	if (n > PROV_MAX_SSRCS)
		return perr(c, at, "ssrcs lists %zu SSRCs: at most %d per endpoint", n,
			    PROV_MAX_SSRCS);
	el = loc_child(&c->L, at);
	for (size_t i = 0; i < n; i++, el = loc_next(&c->L, el)) {
		json_t *e = json_array_get(v, i);
		json_int_t x;

		if (!json_is_integer(e))
			return perr(c, el, "ssrcs[%zu] must be an integer 0..4294967295, got %s",
				    i, jtype(e));
		x = json_integer_value(e);
		if (x < 0 || x > (json_int_t)UINT32_MAX)
			return perr(c, el, "ssrcs[%zu] = %lld is out of range: an SSRC is "
				    "0..4294967295", i, (long long)x);
		ep->ssrcs[i] = (uint32_t)x;
	}
	ep->n_ssrcs = (unsigned)n;
	if (ep->n_ssrcs > ep->max_streams)
		return perr(c, at, "ssrcs lists %u SSRCs but max_streams is %u%s: raise "
			    "max_streams (at most %d) or list fewer", ep->n_ssrcs, ep->max_streams,
			    json_object_get(obj, "max_streams") ? "" : " (the default)",
			    PROV_MAX_STREAMS_LIMIT);
	return 0;
}

static int
get_ekt(struct pctx *c, json_t *obj, uint32_t oloc, struct prov_endpoint *ep)
{
	uint32_t at;
	json_t *v = member(c, obj, oloc, "ekt", &at);

	ep->ekt = ep->profile->is_double;
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return perr(c, at, "ekt must be true or false, got %s", jtype(v));
	ep->ekt = json_is_true(v);
	if (ep->ekt && !ep->profile->is_double)
		return perr(c, at, "\"ekt\": true needs a double (PERC) profile and %s is single: "
			    "remove \"ekt\" or set it to false", ep->profile->name);
	return 0;
}

/* The optional rewrite toward this endpoint: pt_map, seq_offset, marker. */
static int
get_rewrite(struct pctx *c, json_t *obj, uint32_t oloc, struct prov_endpoint *ep)
{
	uint32_t at;
	json_t *v;

	for (unsigned i = 0; i < 128; i++)
		ep->pt_map[i] = (uint8_t)i;
	ep->marker = -1;
	v = member(c, obj, oloc, "pt_map", &at);
	if (v != NULL) {
		const char *k;
		json_t *m;

		if (!json_is_object(v))
			return perr(c, at, "pt_map must be an object {\"96\": 100, ...}, got %s",
				    jtype(v));
		json_object_foreach(v, k, m) {
			char *end;
			long from = strtol(k, &end, 10);
			json_int_t to;

			if (*k == 0 || *end != 0 || from < 0 || from > 127)
				return perr(c, at, "pt_map key \"%.16s\" is not a payload type 0..127",
					    k);
			if (!json_is_integer(m) || (to = json_integer_value(m)) < 0 || to > 127)
				return perr(c, at, "pt_map[\"%s\"] must be a payload type 0..127", k);
			ep->pt_map[from] = (uint8_t)to;
			ep->rewrite |= from != to;
		}
	}
	v = member(c, obj, oloc, "seq_offset", &at);
	if (v != NULL) {
		json_int_t x;

		if (!json_is_integer(v) || (x = json_integer_value(v)) < 0 || x > 65535)
			return perr(c, at, "seq_offset must be an integer 0..65535");
		ep->seq_offset = (uint16_t)x;
		ep->rewrite |= x != 0;
	}
	v = member(c, obj, oloc, "marker", &at);
	if (v != NULL) {
		const char *s = json_is_string(v) ? json_string_value(v) : "";

		if (strcmp(s, "keep") == 0)
			ep->marker = -1;
		else if (strcmp(s, "clear") == 0)
			ep->marker = 0;
		else if (strcmp(s, "set") == 0)
			ep->marker = 1;
		else
			return perr(c, at, "marker must be \"keep\", \"clear\" or \"set\"");
		ep->rewrite |= ep->marker >= 0;
	}
	return 0;
}

/* The optional next rx key: both halves or neither. */
static int
get_rx_next(struct pctx *c, json_t *obj, uint32_t oloc, struct prov_endpoint *ep)
{
	uint32_t at;
	bool k = json_object_get(obj, "rx_key_next") != NULL;
	bool s = json_object_get(obj, "rx_salt_next") != NULL;

	if (!k && !s)
		return 0;
	if (k != s) {
		member(c, obj, oloc, k ? "rx_key_next" : "rx_salt_next", &at);
		return perr(c, at, "%s without %s: give both (the next hop-by-hop key and its "
			    "salt) or neither", k ? "rx_key_next" : "rx_salt_next",
			    k ? "rx_salt_next" : "rx_key_next");
	}
	if (get_hex(c, obj, oloc, "rx_key_next", ep->profile, ep->rx_key_next, ep->key_len) != 0 ||
	    get_hex(c, obj, oloc, "rx_salt_next", ep->profile, ep->rx_salt_next, ep->salt_len) != 0)
		return -1;
	ep->has_rx_next = true;
	return 0;
}

/* ---- duplicates ---- */

/* One id, address or SSRC, with where it was written. */
struct item {
	union {
		const char *id;
		const struct prov_addr *addr;
		uint32_t ssrc;
	} k;
	uint32_t seq;                    /* document order */
	uint32_t at;                     /* locator node of the value */
	const struct prov_conference *conf;
	const struct prov_endpoint *ep;
};

typedef int (*item_cmp)(const struct item *, const struct item *);

static int
cmp_id(const struct item *a, const struct item *b)
{
	return strcmp(a->k.id, b->k.id);
}

static int
cmp_addr(const struct item *a, const struct item *b)
{
	if (a->k.addr->family != b->k.addr->family)
		return a->k.addr->family < b->k.addr->family ? -1 : 1;
	if (a->k.addr->port != b->k.addr->port)
		return a->k.addr->port < b->k.addr->port ? -1 : 1;
	return memcmp(a->k.addr->ip, b->k.addr->ip, sizeof(a->k.addr->ip));
}

static int
cmp_ssrc(const struct item *a, const struct item *b)
{
	return a->k.ssrc < b->k.ssrc ? -1 : a->k.ssrc > b->k.ssrc;
}

struct cmp_arg {
	item_cmp cmp;
};

static int
cmp_sort(const void *pa, const void *pb, void *arg)
{
	const struct item *a = pa, *b = pb;
	int r = ((const struct cmp_arg *)arg)->cmp(a, b);

	return r != 0 ? r : (a->seq > b->seq) - (a->seq < b->seq);
}

/* Sort and find the pair of equal items whose second comes first in the
 * document, so that the refusal names the first repetition a reader meets.
 * Returns 1 and the pair (earlier, later), or 0. */
static int
first_dup(struct item *it, size_t n, item_cmp cmp, struct item *first, struct item *second)
{
	struct cmp_arg arg = {cmp};
	size_t head = 0, best = 0;

	qsort_r(it, n, sizeof(*it), cmp_sort, &arg);
	for (size_t i = 1; i < n; i++) {
		if (cmp(&it[head], &it[i]) != 0) {
			head = i;
			continue;
		}
		if (i == head + 1 && (best == 0 || it[i].seq < it[best].seq))
			best = i;
	}
	if (best == 0)
		return 0;
	*first = it[best - 1];
	*second = it[best];
	return 1;
}

static int
line_of(const struct pctx *c, uint32_t at)
{
	return at != LOC_NONE ? c->L.v[at].line : 0;
}

/* The "id" value of the object at (the object when not found). */
static uint32_t
id_at(const struct pctx *c, uint32_t at)
{
	uint32_t m = loc_member(&c->L, at, "id");

	return m != LOC_NONE ? m : at;
}

/* Endpoint ids and SSRCs of one conference. */
static int
conf_dups(struct pctx *c, const struct prov_conference *cf, const uint32_t *eploc,
	  const uint32_t *ssrcloc)
{
	struct item *it, a, b;
	size_t n = 0, k = 0;
	int rc = 0;

	for (unsigned i = 0; i < cf->n_endpoints; i++)
		n += cf->endpoints[i].n_ssrcs;
	it = calloc(n > cf->n_endpoints ? n : cf->n_endpoints, sizeof(*it));
	if (it == NULL)
		return perr(c, LOC_NONE, "out of memory");
	for (unsigned i = 0; i < cf->n_endpoints; i++) {
		it[i].k.id = cf->endpoints[i].id;
		it[i].seq = i;
		it[i].at = id_at(c, eploc[i]);
		it[i].ep = &cf->endpoints[i];
	}
	if (first_dup(it, cf->n_endpoints, cmp_id, &a, &b)) {
		rc = perr(c, b.at, "endpoint id \"%s\" is already used at line %d: endpoint ids "
			  "must be unique within a conference", b.k.id, line_of(c, a.at));
		goto out;
	}
	for (unsigned i = 0; i < cf->n_endpoints; i++)
		for (unsigned j = 0; j < cf->endpoints[i].n_ssrcs; j++, k++) {
			it[k].k.ssrc = cf->endpoints[i].ssrcs[j];
			it[k].seq = (uint32_t)k;
			it[k].at = ssrcloc[k];
			it[k].ep = &cf->endpoints[i];
		}
	if (first_dup(it, n, cmp_ssrc, &a, &b)) {
		snprintf(c->what, sizeof(c->what), "endpoint \"%s\" of conference \"%s\"",
			 b.ep->id, cf->id);
		if (a.ep == b.ep)
			rc = perr(c, b.at, "ssrc %u is listed twice (first at line %d): SSRCs must be "
				  "unique within a conference", b.k.ssrc, line_of(c, a.at));
		else
			rc = perr(c, b.at, "ssrc %u is already used by endpoint \"%s\" (line %d): "
				  "SSRCs must be unique within a conference", b.k.ssrc, a.ep->id,
				  line_of(c, a.at));
	}
out:
	free(it);
	return rc;
}

/* Conference ids and addresses over the whole file. */
static int
file_dups(struct pctx *c, const struct prov *p, const uint32_t *cfloc, const uint32_t *addrloc)
{
	size_t n = p->n_endpoints > p->n_conferences ? p->n_endpoints : p->n_conferences;
	struct item *it = calloc(n ? n : 1, sizeof(*it)), a, b;
	char buf[64];
	size_t k = 0;
	int rc = 0;

	if (it == NULL)
		return perr(c, LOC_NONE, "out of memory");
	for (unsigned i = 0; i < p->n_conferences; i++) {
		it[i].k.id = p->conferences[i].id;
		it[i].seq = i;
		it[i].at = id_at(c, cfloc[i]);
		it[i].conf = &p->conferences[i];
	}
	if (first_dup(it, p->n_conferences, cmp_id, &a, &b)) {
		rc = perr(c, b.at, "conference id \"%s\" is already used at line %d: conference "
			  "ids must be unique", b.k.id, line_of(c, a.at));
		goto out;
	}
	for (unsigned i = 0; i < p->n_conferences; i++)
		for (unsigned j = 0; j < p->conferences[i].n_endpoints; j++, k++) {
			it[k].k.addr = &p->conferences[i].endpoints[j].addr;
			it[k].seq = (uint32_t)k;
			it[k].at = addrloc[k];
			it[k].conf = &p->conferences[i];
			it[k].ep = &p->conferences[i].endpoints[j];
		}
	if (first_dup(it, k, cmp_addr, &a, &b)) {
		snprintf(c->what, sizeof(c->what), "endpoint \"%s\" of conference \"%s\"",
			 b.ep->id, b.conf->id);
		rc = perr(c, b.at, "addr %s is already used by endpoint \"%s\" of conference \"%s\" "
			  "(line %d): every endpoint needs its own address",
			  prov_format_addr(b.k.addr, buf, sizeof(buf)), a.ep->id, a.conf->id,
			  line_of(c, a.at));
	}
out:
	free(it);
	return rc;
}

/* ---- the document ---- */

static const char *const ep_keys[] = {
	"id", "addr", "profile", "rx_key", "rx_salt", "tx_key", "tx_salt", "ssrcs",
	"max_streams", "ekt", "rx_key_next", "rx_salt_next", "pt_map", "seq_offset", "marker",
	NULL,
};
#define EP_KEYS "id, addr, profile, rx_key, rx_salt, tx_key, tx_salt, ssrcs, max_streams, ekt, " \
	"rx_key_next, rx_salt_next, pt_map, seq_offset, marker"

/* Growable positions of the ssrcs (per conference) and addresses (file). */
struct locs {
	uint32_t *v;
	size_t n, cap;
};

static int
locs_push(struct locs *l, uint32_t at)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		uint32_t *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = at;
	return 0;
}

static int
parse_endpoint(struct pctx *c, const struct prov_conference *cf, json_t *obj, uint32_t oloc,
	       size_t idx, struct prov_endpoint *ep, struct locs *ssrcloc, struct locs *addrloc)
{
	const struct perc_profile *layer;
	uint32_t at, el;

	snprintf(c->what, sizeof(c->what), "endpoint %zu of conference \"%s\"", idx + 1, cf->id);
	ep->line = line_of(c, oloc);
	if (!json_is_object(obj))
		return perr(c, oloc, "must be an object {\"id\": ..., \"addr\": ..., ...}, got %s",
			    jtype(obj));
	if (peek_id(obj)[0] != 0)
		snprintf(c->what, sizeof(c->what), "endpoint \"%s\" of conference \"%s\"",
			 peek_id(obj), cf->id);
	if (check_keys(c, obj, oloc, ep_keys, "an endpoint", EP_KEYS) != 0 ||
	    get_id(c, obj, oloc, ep->id) != 0)
		return -1;
	snprintf(c->what, sizeof(c->what), "endpoint \"%s\" of conference \"%s\"", ep->id, cf->id);
	if (get_addr(c, obj, oloc, &ep->addr, &at) != 0)
		return -1;
	if (locs_push(addrloc, at) != 0)
		return perr(c, LOC_NONE, "out of memory");
	if (get_profile(c, obj, oloc, &ep->profile) != 0)
		return -1;
	layer = perc_profile_layer(ep->profile);
	ep->key_len = layer->key_len;
	ep->salt_len = layer->salt_len;
	if (get_hex(c, obj, oloc, "rx_key", ep->profile, ep->rx_key, ep->key_len) != 0 ||
	    get_hex(c, obj, oloc, "rx_salt", ep->profile, ep->rx_salt, ep->salt_len) != 0 ||
	    get_hex(c, obj, oloc, "tx_key", ep->profile, ep->tx_key, ep->key_len) != 0 ||
	    get_hex(c, obj, oloc, "tx_salt", ep->profile, ep->tx_salt, ep->salt_len) != 0 ||
	    get_max_streams(c, obj, oloc, &ep->max_streams) != 0 ||
	    get_ssrcs(c, obj, oloc, ep) != 0 ||
	    get_ekt(c, obj, oloc, ep) != 0 ||
	    get_rx_next(c, obj, oloc, ep) != 0 ||
	    get_rewrite(c, obj, oloc, ep) != 0)
		return -1;
	member(c, obj, oloc, "ssrcs", &at);
	el = loc_child(&c->L, at);
	for (unsigned i = 0; i < ep->n_ssrcs; i++, el = loc_next(&c->L, el))
		if (locs_push(ssrcloc, el) != 0)
			return perr(c, LOC_NONE, "out of memory");
	return 0;
}

static int
parse_conference(struct pctx *c, json_t *obj, uint32_t oloc, size_t idx,
		 struct prov_conference *cf, unsigned *n_endpoints, struct locs *addrloc)
{
	static const char *const keys[] = {"id", "endpoints", NULL};
	struct locs ssrcloc = {0};
	uint32_t *eploc = NULL;
	uint32_t at, el;
	json_t *eps;
	size_t n;
	int rc = -1;

	snprintf(c->what, sizeof(c->what), "conference %zu", idx + 1);
	cf->line = line_of(c, oloc);
	if (!json_is_object(obj))
		return perr(c, oloc, "must be an object {\"id\": ..., \"endpoints\": [...]}, got %s",
			    jtype(obj));
	if (peek_id(obj)[0] != 0)
		snprintf(c->what, sizeof(c->what), "conference \"%s\"", peek_id(obj));
	if (check_keys(c, obj, oloc, keys, "a conference", "id, endpoints") != 0 ||
	    get_id(c, obj, oloc, cf->id) != 0)
		return -1;
	snprintf(c->what, sizeof(c->what), "conference \"%s\"", cf->id);
	eps = member(c, obj, oloc, "endpoints", &at);
	if (eps == NULL)
		return perr(c, oloc, "no \"endpoints\": add \"endpoints\": [...] with at least one");
	if (!json_is_array(eps))
		return perr(c, at, "\"endpoints\" must be an array, got %s", jtype(eps));
	n = json_array_size(eps);
	if (n == 0)
		return perr(c, at, "has no endpoints: add at least one, or remove the conference");
	cf->endpoints = calloc(n, sizeof(*cf->endpoints));
	eploc = calloc(n, sizeof(*eploc));
	if (cf->endpoints == NULL || eploc == NULL) {
		perr(c, at, "out of memory");
		goto out;
	}
	el = loc_child(&c->L, at);
	for (size_t i = 0; i < n; i++, el = loc_next(&c->L, el)) {
		cf->n_endpoints = (unsigned)i + 1;
		eploc[i] = el;
		if (parse_endpoint(c, cf, json_array_get(eps, i), el, i, &cf->endpoints[i],
				   &ssrcloc, addrloc) != 0)
			goto out;
		(*n_endpoints)++;
	}
	snprintf(c->what, sizeof(c->what), "conference \"%s\"", cf->id);
	rc = conf_dups(c, cf, eploc, ssrcloc.v);
out:
	free(eploc);
	free(ssrcloc.v);
	return rc;
}

static int
parse_doc(struct pctx *c, json_t *root, struct prov *p)
{
	static const char *const keys[] = {"conferences", NULL};
	uint32_t rloc = loc_root(&c->L), at, el;
	struct locs addrloc = {0};
	uint32_t *cfloc = NULL;
	json_t *confs;
	size_t n;
	int rc = -1;

	if (!json_is_object(root))
		return perr(c, rloc, "the top level must be an object {\"conferences\": [...]}, "
			    "got %s", jtype(root));
	if (check_keys(c, root, rloc, keys, "the top level", "conferences") != 0)
		return -1;
	confs = member(c, root, rloc, "conferences", &at);
	if (confs == NULL)
		return perr(c, rloc, "no \"conferences\": add \"conferences\": [...] ([] for "
			    "nothing provisioned)");
	if (!json_is_array(confs))
		return perr(c, at, "\"conferences\" must be an array, got %s", jtype(confs));
	n = json_array_size(confs);
	p->conferences = calloc(n ? n : 1, sizeof(*p->conferences));
	cfloc = calloc(n ? n : 1, sizeof(*cfloc));
	if (p->conferences == NULL || cfloc == NULL) {
		perr(c, at, "out of memory");
		goto out;
	}
	el = loc_child(&c->L, at);
	for (size_t i = 0; i < n; i++, el = loc_next(&c->L, el)) {
		p->n_conferences = (unsigned)i + 1;
		cfloc[i] = el;
		if (parse_conference(c, json_array_get(confs, i), el, i, &p->conferences[i],
				     &p->n_endpoints, &addrloc) != 0)
			goto out;
	}
	c->what[0] = 0;
	rc = file_dups(c, p, cfloc, addrloc.v);
out:
	free(cfloc);
	free(addrloc.v);
	return rc;
}

/* Overwrite every string of the tree before jansson frees it: the keys were
 * in there as hex. (jansson's lexer buffers held them too; those are out of
 * reach.) */
static void
scrub(json_t *v)
{
	const char *k;
	json_t *m;
	size_t i;

	if (json_is_string(v)) {
		perc_zeroize((char *)json_string_value(v), json_string_length(v));
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, m)
			scrub(m);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			scrub(m);
	}
}

static int
parse_buf(const char *name, const char *text, size_t len, struct prov *p,
	  struct prov_error *err)
{
	struct pctx c = {.name = name, .err = err};
	json_error_t je;
	json_t *root;
	int rc;

	memset(p, 0, sizeof(*p));
	memset(err, 0, sizeof(*err));
	if (len == 0)
		return lerr(err, name, 0, 0, "the file is empty: write {\"conferences\": []} for an MDD "
			    "with nothing provisioned");
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		/* jansson's position: the last character it read */
		return lerr(err, name, je.line > 0 ? je.line : 1, je.column > 0 ? je.column : 1,
			    "JSON syntax error: %s", je.text);
	}
	loc_build(&c.L, text, len);
	rc = parse_doc(&c, root, p);
	scrub(root);
	json_decref(root);
	free(c.L.v);
	if (rc != 0)
		prov_free(p);
	return rc;
}

int
prov_parse(const char *text, struct prov *p, struct prov_error *err)
{
	return parse_buf("<string>", text, strlen(text), p, err);
}

int
prov_load(const char *path, struct prov *p, struct prov_error *err)
{
	size_t n = 0, cap = 0;
	char *buf = NULL;
	FILE *f;
	int rc;

	memset(p, 0, sizeof(*p));
	memset(err, 0, sizeof(*err));
	f = fopen(path, "rb");
	if (f == NULL)
		return lerr(err, path, 0, 0, "cannot open: %s (check the --provision path)",
			    strerror(errno));
	for (;;) {
		size_t got;

		if (n == cap) {
			/* grow by hand, so that the old copy is zeroized (realloc would not) */
			size_t ncap = cap ? 2 * cap : 16384;
			char *nbuf = ncap <= PROV_FILE_MAX ? malloc(ncap) : NULL;

			if (nbuf == NULL) {
				rc = lerr(err, path, 0, 0, ncap > PROV_FILE_MAX ? "larger than %u MiB: "
					  "is it the right file?" : "out of memory at %u MiB",
					  (unsigned)(ncap >> 20));
				goto out;
			}
			if (buf != NULL) {
				memcpy(nbuf, buf, n);
				perc_zeroize(buf, cap);
				free(buf);
			}
			buf = nbuf;
			cap = ncap;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		rc = lerr(err, path, 0, 0, "cannot read: %s", strerror(errno));
		goto out;
	}
	rc = parse_buf(path, buf, n, p, err);
out:
	fclose(f);
	if (buf != NULL) {
		perc_zeroize(buf, cap);
		free(buf);
	}
	return rc;
}

void
prov_free(struct prov *p)
{
	if (p == NULL)
		return;
	for (unsigned i = 0; i < p->n_conferences; i++) {
		struct prov_conference *cf = &p->conferences[i];

		if (cf->endpoints != NULL) {
			perc_zeroize(cf->endpoints, cf->n_endpoints * sizeof(*cf->endpoints));
			free(cf->endpoints);
		}
	}
	free(p->conferences);
	memset(p, 0, sizeof(*p));
}

/* ---- addresses ---- */

/* "1".."65535", digits only. */
static const char *
parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (*s == 0)
		return "has an empty port: write the UDP port after the ':'";
	for (; *s != 0; s++) {
		if (*s < '0' || *s > '9')
			return "has a port that is not a number: the port is 1..65535";
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return "has a port above 65535: the port is 1..65535";
	}
	if (v == 0)
		return "has port 0: the port is 1..65535";
	*port = (uint16_t)v;
	return NULL;
}

/* prov_parse_addr with the reason of a refusal, phrased to follow the
 * address in a message. */
static int
addr_why(const char *s, struct prov_addr *a, const char **why)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *end, *port;
	size_t len;

	memset(a, 0, sizeof(*a));
	*why = NULL;
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL) {
			*why = "has '[' but no ']': write \"[2001:db8::1]:40000\"";
			return -1;
		}
		len = (size_t)(end - s - 1);
		if (len == 0 || len >= sizeof(host)) {
			*why = "has no IPv6 address between the brackets";
			return -1;
		}
		memcpy(host, s + 1, len);
		host[len] = 0;
		if (inet_pton(AF_INET6, host, a->ip) != 1) {
			*why = "has no valid IPv6 address between the brackets (no names, no "
			       "%zone)";
			return -1;
		}
		if (end[1] != ':') {
			*why = "has no port: write \"[2001:db8::1]:40000\"";
			return -1;
		}
		a->family = AF_INET6;
		port = end + 2;
	} else {
		end = strrchr(s, ':');
		if (end == NULL) {
			*why = "has no port: write \"192.0.2.10:40000\"";
			return -1;
		}
		if (memchr(s, ':', (size_t)(end - s)) != NULL) {
			*why = "looks like IPv6 without brackets: write \"[2001:db8::1]:40000\"";
			return -1;
		}
		len = (size_t)(end - s);
		if (len >= sizeof(host))
			len = sizeof(host) - 1;
		memcpy(host, s, len);
		host[len] = 0;
		if (inet_pton(AF_INET, host, a->ip) != 1) {
			*why = "is not a numeric IPv4 address and port: write \"192.0.2.10:40000\" "
			       "(names are not resolved)";
			return -1;
		}
		a->family = AF_INET;
		port = end + 1;
	}
	*why = parse_port(port, &a->port);
	if (*why != NULL) {
		a->family = 0;
		return -1;
	}
	return 0;
}

int
prov_parse_addr(const char *s, struct prov_addr *a)
{
	const char *why;

	return addr_why(s, a, &why);
}

const char *
prov_format_addr(const struct prov_addr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if ((a->family != AF_INET && a->family != AF_INET6) ||
	    inet_ntop(a->family, a->ip, host, sizeof(host)) == NULL)
		snprintf(buf, len, "(no address)");
	else
		snprintf(buf, len, a->family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, a->port);
	return buf;
}
