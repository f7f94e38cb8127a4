/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-capacity: reading scenario and calibration files. JSON goes
 * through jansson; YAML through libyaml into the same jansson tree, so
 * one schema check serves both. Every error names the file, the line
 * where it is known (syntax errors, and any YAML node) and the field, and
 * says what to do.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "capacity.h"

/* ---- where a YAML node came from ---- */

/* Lines of the nodes of the last YAML file read, so that a field error can
 * say where the field is. jansson's true/false/null are shared singletons
 * and never recorded; JSON files have no per-value positions in jansson. */
#define CAP_LINES_MAX 4096
static struct {
	const json_t *node;
	unsigned line;
} cap_lines[CAP_LINES_MAX];
static unsigned cap_n_lines;

static void
cap_line_note(const json_t *node, unsigned line)
{
	if (cap_n_lines < CAP_LINES_MAX && !json_is_boolean(node) && !json_is_null(node)) {
		cap_lines[cap_n_lines].node = node;
		cap_lines[cap_n_lines].line = line;
		cap_n_lines++;
	}
}

static unsigned
cap_line_of(const json_t *node)
{
	unsigned i;

	for (i = 0; i < cap_n_lines; i++)
		if (cap_lines[i].node == node)
			return cap_lines[i].line;
	return 0;
}

/* ---- YAML to jansson ---- */

/* a plain (unquoted) scalar is a number, a boolean or null when it reads
 * as one, as YAML 1.1's core types say; anything quoted is a string */
static json_t *
cap_yaml_scalar(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	char *end;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_string(s);
	if (*s == '\0' || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0)
		return json_null();
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0)
		return json_true();
	if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0)
		return json_false();
	errno = 0;
	long long v = strtoll(s, &end, 10);

	if (*end == '\0' && errno == 0)
		return json_integer(v);
	double d = strtod(s, &end);

	if (*end == '\0' && isfinite(d))
		return json_real(d);
	return json_string(s);
}

/* why cap_yaml_node failed, for the message */
static char cap_yaml_why[160];

static json_t *
cap_yaml_node(yaml_document_t *doc, yaml_node_t *n, int depth)
{
	json_t *j = NULL;

	if (n == NULL || depth > 64) {
		snprintf(cap_yaml_why, sizeof(cap_yaml_why), "nesting deeper than 64: simplify "
			 "the file");
		return NULL;
	}
	switch (n->type) {
	case YAML_SCALAR_NODE:
		j = cap_yaml_scalar(n);
		break;
	case YAML_SEQUENCE_NODE: {
		yaml_node_item_t *it;

		j = json_array();
		for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
			json_t *v = cap_yaml_node(doc, yaml_document_get_node(doc, *it), depth + 1);

			if (v == NULL || json_array_append_new(j, v) < 0) {
				json_decref(j);
				return NULL;
			}
		}
		break;
	}
	case YAML_MAPPING_NODE: {
		yaml_node_pair_t *pr;

		j = json_object();
		for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = yaml_document_get_node(doc, pr->key);
			json_t *v;

			if (k == NULL || k->type != YAML_SCALAR_NODE) {
				snprintf(cap_yaml_why, sizeof(cap_yaml_why), "line %zu: a key must be "
					 "a plain name", n->start_mark.line + 1);
				json_decref(j);
				return NULL;
			}
			/* JSON files refuse repeated keys (JSON_REJECT_DUPLICATES); so
			 * does YAML, rather than keep the last one silently */
			if (json_object_get(j, (const char *)k->data.scalar.value) != NULL) {
				snprintf(cap_yaml_why, sizeof(cap_yaml_why), "line %zu: key '%s' "
					 "appears twice: keep one", k->start_mark.line + 1,
					 (const char *)k->data.scalar.value);
				json_decref(j);
				return NULL;
			}
			v = cap_yaml_node(doc, yaml_document_get_node(doc, pr->value), depth + 1);
			if (v == NULL || json_object_set_new(j,
					(const char *)k->data.scalar.value, v) < 0) {
				json_decref(j);
				return NULL;
			}
		}
		break;
	}
	default:
		return NULL;
	}
	if (j != NULL)
		cap_line_note(j, (unsigned)n->start_mark.line + 1);
	return j;
}

static json_t *
cap_yaml_load(FILE *f, const char *path, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	json_t *j = NULL;

	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: out of memory starting the YAML parser", path);
		return NULL;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s: line %zu: YAML syntax: %s%s%s: fix the file (it "
			 "may also be JSON, see docs/capacity.md)", path,
			 parser.problem_mark.line + 1, parser.problem ? parser.problem : "error",
			 parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return NULL;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);

	/* cap_yaml_node says why when it knows; otherwise jansson ran out */
	snprintf(cap_yaml_why, sizeof(cap_yaml_why), "out of memory");
	if (root == NULL)
		snprintf(err, errlen, "%s: the YAML document is empty: write a scenario or "
			 "calibration (docs/capacity.md)", path);
	else if ((j = cap_yaml_node(&doc, root, 0)) == NULL)
		snprintf(err, errlen, "%s: YAML: %s", path, cap_yaml_why);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return j;
}

static bool
cap_is_yaml_name(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot != NULL && (strcasecmp(dot, ".yaml") == 0 || strcasecmp(dot, ".yml") == 0);
}

json_t *
cap_load_tree(const char *path, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j;
	FILE *f;

	cap_n_lines = 0;
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s: check the path", path, strerror(errno));
		return NULL;
	}
	if (cap_is_yaml_name(path)) {
		j = cap_yaml_load(f, path, err, errlen);
		fclose(f);
		return j;
	}
	j = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	fclose(f);
	if (j == NULL)
		snprintf(err, errlen, "%s: line %d column %d: JSON syntax: %s: fix the file (name "
			 "it .yaml or .yml for YAML)", path, je.line, je.column, je.text);
	return j;
}

/* ---- schema checks ---- */

struct cap_ctx {
	const char *path;
	char *err;
	size_t errlen;
};

/* "FILE: line N: field F: what" with the line of node (or of its parent
 * when the node itself has none, e.g. a missing field) */
static int
cap_fail(const struct cap_ctx *x, const json_t *node, const json_t *parent, const char *field,
	 const char *fmt, ...)
{
	char what[512], where[32] = "";
	unsigned line = node ? cap_line_of(node) : 0;
	va_list ap;

	if (line == 0 && parent)
		line = cap_line_of(parent);
	if (line)
		snprintf(where, sizeof(where), "line %u: ", line);
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(x->err, x->errlen, "%s: %sfield %s: %s", x->path, where, field, what);
	return -1;
}

static void
cap_join(char *out, size_t n, const char *base, const char *key)
{
	snprintf(out, n, "%s%s%s", base, *base ? "." : "", key);
}

/* A number in [lo, hi]. Missing: *v = dflt when !required. */
static int
cap_num(const struct cap_ctx *x, const json_t *obj, const char *base, const char *key,
	bool required, double lo, double hi, double dflt, double *v)
{
	const json_t *n = json_object_get(obj, key);
	char f[128];

	cap_join(f, sizeof(f), base, key);
	if (n == NULL || json_is_null(n)) {
		if (required)
			return cap_fail(x, NULL, obj, f, "missing: add it (a number from %g to "
					"%g, docs/capacity.md)", lo, hi);
		*v = dflt;
		return 0;
	}
	if (!json_is_number(n))
		return cap_fail(x, n, obj, f, "must be a number from %g to %g, not %s", lo, hi,
				json_is_string(n) ? json_string_value(n) : "this");
	*v = json_number_value(n);
	if (!(*v >= lo && *v <= hi))
		return cap_fail(x, n, obj, f, "%g is out of range: use a number from %g to %g",
				*v, lo, hi);
	return 0;
}

/* "all" (0) or a count >= 1 */
static int
cap_all_or_count(const struct cap_ctx *x, const json_t *obj, const char *base,
		 const char *key, unsigned *v)
{
	const json_t *n = json_object_get(obj, key);
	char f[128];

	cap_join(f, sizeof(f), base, key);
	*v = 0;
	if (n == NULL || (json_is_string(n) && strcmp(json_string_value(n), "all") == 0))
		return 0;
	if (json_is_integer(n) && json_integer_value(n) >= 1 &&
	    json_integer_value(n) <= 100000) {
		*v = (unsigned)json_integer_value(n);
		return 0;
	}
	return cap_fail(x, n, obj, f, "must be \"all\" or a whole number from 1 to 100000");
}

static int
cap_str(const struct cap_ctx *x, const json_t *obj, const char *base, const char *key,
	char *out, size_t n)
{
	const json_t *s = json_object_get(obj, key);
	char f[128];

	if (s == NULL || json_is_null(s))
		return 0;
	cap_join(f, sizeof(f), base, key);
	if (!json_is_string(s))
		return cap_fail(x, s, obj, f, "must be a string");
	snprintf(out, n, "%s", json_string_value(s));
	return 0;
}

/* every key of obj must be one of the NULL-terminated list: typos in a
 * scenario would otherwise silently plan with defaults */
static int
cap_known(const struct cap_ctx *x, const json_t *obj, const char *base,
	  const char *const *keys)
{
	const char *k;
	json_t *v;
	char f[128], list[512] = "";
	unsigned i;

	json_object_foreach((json_t *)(uintptr_t)obj, k, v) {
		for (i = 0; keys[i]; i++)
			if (strcmp(keys[i], k) == 0)
				break;
		if (keys[i])
			continue;
		for (i = 0; keys[i]; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 i ? ", " : "", keys[i]);
		cap_join(f, sizeof(f), base, k);
		return cap_fail(x, v, obj, f, "unknown field: remove it or use one of: %s", list);
	}
	return 0;
}

static int
cap_object(const struct cap_ctx *x, const json_t *parent, const char *base, const char *key,
	   bool required, const json_t **out)
{
	const json_t *o = json_object_get(parent, key);
	char f[128];

	cap_join(f, sizeof(f), base, key);
	*out = NULL;
	if (o == NULL || json_is_null(o)) {
		if (required)
			return cap_fail(x, NULL, parent, f, "missing: add it (docs/capacity.md, "
					"\"Scenario file\")");
		return 0;
	}
	if (!json_is_object(o))
		return cap_fail(x, o, parent, f, "must be an object (a mapping)");
	*out = o;
	return 0;
}

static int
cap_format(const struct cap_ctx *x, const json_t *j, bool required)
{
	const json_t *n = json_object_get(j, "format");

	if (n == NULL && !required)
		return 0;
	if (!json_is_integer(n) || json_integer_value(n) != 1)
		return cap_fail(x, n, j, "format", "%s: this perc-capacity reads format 1",
				n ? "unsupported version" : "missing");
	return 0;
}

/* ---- scenario ---- */

/* bitrate_kbps, packet_rate, payload_bytes: two of them, or all three
 * consistent; header_extension_bytes optional */
static int
cap_stream(const struct cap_ctx *x, const json_t *o, const char *base, struct cap_stream *s,
	   double dflt_payload, const char *extra_key)
{
	const char *const keys[] = { "bitrate_kbps", "packet_rate", "payload_bytes",
		"header_extension_bytes", extra_key, NULL };
	double kbps, pps, pay;

	if (cap_known(x, o, base, keys) < 0 ||
	    cap_num(x, o, base, "bitrate_kbps", false, 0.001, 1e7, 0, &kbps) < 0 ||
	    cap_num(x, o, base, "packet_rate", false, 0.001, 1e6, 0, &pps) < 0 ||
	    cap_num(x, o, base, "payload_bytes", false, 1, 9000, 0, &pay) < 0 ||
	    cap_num(x, o, base, "header_extension_bytes", false, 0, 1024, s->hdr_ext,
		    &s->hdr_ext) < 0)
		return -1;
	if (pay == 0 && !(kbps > 0 && pps > 0))
		pay = dflt_payload;
	s->bitrate = kbps * 1000;
	s->pps = pps;
	s->payload = pay;
	if (kbps > 0 && pps > 0 && pay > 0 && fabs(kbps * 1000 / 8 / pps - pay) > 0.01 * pay + 0.5)
		return cap_fail(x, o, NULL, base, "bitrate_kbps %g at packet_rate %g gives %.1f "
				"payload bytes, not payload_bytes %g: give two of the three",
				kbps, pps, kbps * 1000 / 8 / pps, pay);
	if (cap_stream_complete(s) < 0)
		return cap_fail(x, o, NULL, base, "give two of bitrate_kbps, packet_rate and "
				"payload_bytes%s", dflt_payload > 0 ? " (or bitrate_kbps alone: "
				"payload_bytes defaults to the video payload)" : "");
	if (s->payload < 1 || s->payload > 9000)
		return cap_fail(x, o, NULL, base, "%.1f payload bytes per packet: use 1 to 9000 "
				"(check bitrate_kbps and packet_rate)", s->payload);
	return 0;
}

static int
cap_conferences(const struct cap_ctx *x, const json_t *j, struct cap_scenario *sc)
{
	static const char *const keys[] = { "count", "size", NULL };
	const json_t *a = json_object_get(j, "conferences"), *e;
	char f[64];
	size_t i;
	double size;

	if (!json_is_array(a) || json_array_size(a) == 0)
		return cap_fail(x, a, j, "conferences", "%s: give a list such as [{\"count\": 200, "
				"\"size\": 4}, {\"count\": 20, \"size\": 25}]",
				a ? "must be a non-empty list" : "missing");
	if (json_array_size(a) > CAP_MAX_GROUPS)
		return cap_fail(x, a, j, "conferences", "more than %d entries: merge sizes",
				CAP_MAX_GROUPS);
	json_array_foreach(a, i, e) {
		snprintf(f, sizeof(f), "conferences[%zu]", i);
		if (!json_is_object(e))
			return cap_fail(x, e, a, f, "must be an object {\"count\": N, \"size\": S}");
		if (cap_known(x, e, f, keys) < 0 ||
		    cap_num(x, e, f, "count", true, 0, 1e9, 0, &sc->groups[i].count) < 0 ||
		    cap_num(x, e, f, "size", true, 2, 10000, 0, &size) < 0)
			return -1;
		if (size != floor(size))
			return cap_fail(x, json_object_get(e, "size"), e, f, "size %g: participants "
					"come whole, use a whole number", size);
		sc->groups[i].size = (unsigned)size;
	}
	sc->n_groups = (unsigned)json_array_size(a);
	return 0;
}

static int
cap_video(const struct cap_ctx *x, const json_t *v, struct cap_scenario *sc)
{
	static const char *const keys[] = { "senders", "payload_bytes", "header_extension_bytes",
		"layers", NULL };
	const json_t *layers = json_object_get(v, "layers"), *e;
	double pay, ext;
	char f[64];
	size_t i;

	if (cap_known(x, v, "media.video", keys) < 0 ||
	    cap_num(x, v, "media.video", "senders", false, 0, 1, 1, &sc->video_senders) < 0 ||
	    cap_num(x, v, "media.video", "payload_bytes", false, 1, 9000, 1200, &pay) < 0 ||
	    cap_num(x, v, "media.video", "header_extension_bytes", false, 0, 1024, 0, &ext) < 0)
		return -1;
	if (!json_is_array(layers) || json_array_size(layers) == 0 ||
	    json_array_size(layers) > CAP_MAX_LAYERS)
		return cap_fail(x, layers, v, "media.video.layers", "must be a list of 1 to %d "
				"simulcast layers, lowest first, e.g. [{\"bitrate_kbps\": 150}, "
				"{\"bitrate_kbps\": 1500}]", CAP_MAX_LAYERS);
	json_array_foreach(layers, i, e) {
		snprintf(f, sizeof(f), "media.video.layers[%zu]", i);
		if (!json_is_object(e))
			return cap_fail(x, e, layers, f, "must be an object with bitrate_kbps");
		sc->layers[i].hdr_ext = ext;
		if (cap_stream(x, e, f, &sc->layers[i], pay, NULL) < 0)
			return -1;
	}
	sc->n_layers = (unsigned)json_array_size(layers);
	sc->video = true;
	return 0;
}

static int
cap_media(const struct cap_ctx *x, const json_t *j, struct cap_scenario *sc)
{
	static const char *const keys[] = { "audio", "video", "screen_share", NULL };
	const json_t *m, *a, *v, *s;

	if (cap_object(x, j, "", "media", true, &m) < 0 || cap_known(x, m, "media", keys) < 0 ||
	    cap_object(x, m, "media", "audio", true, &a) < 0 ||
	    cap_stream(x, a, "media.audio", &sc->audio, 0, NULL) < 0 ||
	    cap_object(x, m, "media", "video", false, &v) < 0 ||
	    (v && cap_video(x, v, sc) < 0) ||
	    cap_object(x, m, "media", "screen_share", false, &s) < 0)
		return -1;
	if (s == NULL)
		return 0;
	/* share is the screen share's own field; the rest is a stream */
	if (cap_num(x, s, "media.screen_share", "share", true, 0, 1, 0, &sc->screen_share) < 0)
		return -1;
	return cap_stream(x, s, "media.screen_share", &sc->screen, 1200, "share");
}

static int
cap_subscription(const struct cap_ctx *x, const json_t *j, struct cap_scenario *sc)
{
	static const char *const keys[] = { "audio", "video", "video_top_layer", NULL };
	const json_t *s;

	if (cap_object(x, j, "", "subscription", false, &s) < 0)
		return -1;
	if (s == NULL)
		return 0;
	return cap_known(x, s, "subscription", keys) < 0 ||
	       cap_all_or_count(x, s, "subscription", "audio", &sc->audio_receive) < 0 ||
	       cap_all_or_count(x, s, "subscription", "video", &sc->video_receive) < 0 ||
	       cap_all_or_count(x, s, "subscription", "video_top_layer", &sc->video_top) < 0 ?
	       -1 : 0;
}

static int
cap_server(const struct cap_ctx *x, const json_t *j, struct cap_scenario *sc)
{
	static const char *const keys[] = { "nic_gbps", "ports", "worker_cores", NULL };
	const json_t *s;
	double ports, cores;

	if (cap_object(x, j, "", "server", true, &s) < 0 || cap_known(x, s, "server", keys) < 0 ||
	    cap_num(x, s, "server", "nic_gbps", true, 0.001, 100000, 0, &sc->nic_gbps) < 0 ||
	    cap_num(x, s, "server", "ports", true, 1, 64, 0, &ports) < 0 ||
	    cap_num(x, s, "server", "worker_cores", true, 1, 4096, 0, &cores) < 0)
		return -1;
	if (ports != floor(ports) || cores != floor(cores))
		return cap_fail(x, s, NULL, "server", "ports and worker_cores must be whole numbers");
	sc->ports_per_server = (unsigned)ports;
	sc->cores_per_server = (unsigned)cores;
	return 0;
}

int
cap_scenario_from_json(const json_t *j, const char *path, struct cap_scenario *sc,
		       char *err, size_t errlen)
{
	static const char *const keys[] = { "format", "name", "description", "conferences",
		"media", "subscription", "server", "headroom", NULL };
	struct cap_ctx x = { path, err, errlen };

	memset(sc, 0, sizeof(*sc));
	if (!json_is_object(j))
		return cap_fail(&x, j, NULL, "(top level)", "must be an object (a mapping): see "
				"perf/scenarios/ for examples");
	if (cap_format(&x, j, false) < 0 || cap_known(&x, j, "", keys) < 0 ||
	    cap_str(&x, j, "", "name", sc->name, sizeof(sc->name)) < 0 ||
	    cap_conferences(&x, j, sc) < 0 || cap_media(&x, j, sc) < 0 ||
	    cap_subscription(&x, j, sc) < 0 || cap_server(&x, j, sc) < 0 ||
	    cap_num(&x, j, "", "headroom", false, 0, 0.95, 0.3, &sc->headroom) < 0)
		return -1;
	if (sc->name[0] == '\0') {
		const char *b = strrchr(path, '/');

		snprintf(sc->name, sizeof(sc->name), "%s", b ? b + 1 : path);
	}
	return 0;
}

/* ---- calibration ---- */

static int
cap_host(const struct cap_ctx *x, const json_t *j, struct cap_calib *c)
{
	const json_t *h;
	double cpus;

	if (cap_object(x, j, "", "host", true, &h) < 0 ||
	    cap_str(x, h, "host", "cpu_model", c->cpu_model, sizeof(c->cpu_model)) < 0 ||
	    cap_str(x, h, "host", "ipsec_mb", c->ipsec_mb, sizeof(c->ipsec_mb)) < 0 ||
	    cap_str(x, h, "host", "arch", c->arch, sizeof(c->arch)) < 0 ||
	    cap_str(x, h, "host", "dpdk", c->dpdk, sizeof(c->dpdk)) < 0 ||
	    cap_str(x, h, "host", "git_commit", c->git_commit, sizeof(c->git_commit)) < 0 ||
	    cap_str(x, h, "host", "date", c->date, sizeof(c->date)) < 0 ||
	    cap_num(x, h, "host", "tsc_hz", false, 1e6, 1e11, 0, &c->tsc_hz) < 0 ||
	    cap_num(x, h, "host", "nominal_hz", false, 1e6, 1e11, 0, &c->nominal_hz) < 0 ||
	    cap_num(x, h, "host", "cpus", false, 1, 1e6, 0, &cpus) < 0)
		return -1;
	c->cpus = (unsigned)cpus;
	if (c->cpu_model[0] == '\0')
		return cap_fail(x, NULL, h, "host.cpu_model", "missing: every calibration says "
				"which CPU it was measured on (perf/calibrate.sh writes it)");
	return 0;
}

static int
cap_points(const struct cap_ctx *x, const json_t *j, struct cap_calib *c)
{
	static const char *const keys[] = { "payload", "fanout", "cycles_per_ingress",
		"cycles_per_egress", "cycles_per_egress_p10", "samples", "spread_pct", "streams",
		NULL };
	const json_t *a = json_object_get(j, "points"), *e;
	double in, out;
	char f[64];
	size_t i;

	if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > CAP_MAX_POINTS)
		return cap_fail(x, a, j, "points", "must be a list of 1 to %d measured points "
				"{payload, fanout, cycles_per_ingress}: run perf/calibrate.sh",
				CAP_MAX_POINTS);
	json_array_foreach(a, i, e) {
		struct cap_point *p = &c->points[i];

		snprintf(f, sizeof(f), "points[%zu]", i);
		if (!json_is_object(e))
			return cap_fail(x, e, a, f, "must be an object");
		if (cap_known(x, e, f, keys) < 0 ||
		    cap_num(x, e, f, "payload", true, 1, 9000, 0, &p->payload) < 0 ||
		    cap_num(x, e, f, "fanout", true, 1, 100000, 0, &p->fanout) < 0 ||
		    cap_num(x, e, f, "cycles_per_ingress", false, 1, 1e9, 0, &in) < 0 ||
		    cap_num(x, e, f, "cycles_per_egress", false, 1, 1e9, 0, &out) < 0 ||
		    cap_num(x, e, f, "streams", false, 1, 1e9, 0, &p->streams) < 0)
			return -1;
		if (p->streams > c->max_streams)
			c->max_streams = p->streams;
		if (in == 0 && out == 0)
			return cap_fail(x, e, NULL, f, "give cycles_per_ingress (or "
					"cycles_per_egress, which is multiplied by fanout)");
		p->cycles_per_ingress = in > 0 ? in : out * p->fanout;
	}
	c->n_points = (unsigned)json_array_size(a);
	return 0;
}

int
cap_calib_from_json(const json_t *j, const char *path, struct cap_calib *c,
		    char *err, size_t errlen)
{
	struct cap_ctx x = { path, err, errlen };
	char why[384];

	memset(c, 0, sizeof(*c));
	if (!json_is_object(j))
		return cap_fail(&x, j, NULL, "(top level)", "must be an object: perf/calibrate.sh "
				"writes one");
	if (cap_format(&x, j, true) < 0 || cap_host(&x, j, c) < 0 ||
	    cap_num(&x, j, "", "budget_hz", true, 1e6, 1e11, 0, &c->budget_hz) < 0 ||
	    cap_points(&x, j, c) < 0)
		return -1;
	if (cap_calib_fit(c, why, sizeof(why)) < 0)
		return cap_fail(&x, json_object_get(j, "points"), j, "points", "%s", why);
	return 0;
}

int
cap_scenario_load(const char *path, struct cap_scenario *sc, char *err, size_t errlen)
{
	json_t *j = cap_load_tree(path, err, errlen);
	int rc;

	if (j == NULL)
		return -1;
	rc = cap_scenario_from_json(j, path, sc, err, errlen);
	json_decref(j);
	cap_n_lines = 0;  /* the nodes are gone: no stale line for a reused address */
	return rc;
}

int
cap_calib_load(const char *path, struct cap_calib *c, char *err, size_t errlen)
{
	json_t *j = cap_load_tree(path, err, errlen);
	int rc;

	if (j == NULL)
		return -1;
	rc = cap_calib_from_json(j, path, c, err, errlen);
	json_decref(j);
	cap_n_lines = 0;
	return rc;
}
