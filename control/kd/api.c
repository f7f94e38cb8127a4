/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-kd roster API: one JSON request per line, one JSON response line.
 * Call processing announces participants (authorize) and removes them
 * (revoke); operators read the roster, the rekeys and the counters.
 * Nothing here ever returns key bytes.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kd.h"

static const char *const drop_names[] = {
#define KD_DROP_NAME_(e, n) n,
	KD_FOREACH_DROP(KD_DROP_NAME_)
#undef KD_DROP_NAME_
};

static char *
dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(o);
	return s != NULL ? s : strdup("{\"ok\":false,\"error\":\"out of memory\"}");
}

static char *
api_err(struct kd *kd, enum kd_drop d, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static char *
api_err(struct kd *kd, enum kd_drop d, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kd->stats.drops[d]++;
	kd_log("api: refused: %s", msg);
	return dump(json_pack("{s:b, s:s}", "ok", 0, "error", msg));
}

static char *
api_ok(json_t *extra)
{
	json_t *o = json_pack("{s:b}", "ok", 1);

	if (extra != NULL) {
		json_object_update(o, extra);
		json_decref(extra);
	}
	return dump(o);
}

static long
hex_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s), i;
	int hi, lo;

	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		hi = s[2 * i];
		lo = s[2 * i + 1];
		hi = hi >= '0' && hi <= '9' ? hi - '0' : hi >= 'a' && hi <= 'f' ? hi - 'a' + 10 :
		     hi >= 'A' && hi <= 'F' ? hi - 'A' + 10 : -1;
		lo = lo >= '0' && lo <= '9' ? lo - '0' : lo >= 'a' && lo <= 'f' ? lo - 'a' + 10 :
		     lo >= 'A' && lo <= 'F' ? lo - 'A' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

/* A required string member; NULL when absent or not a string. */
static const char *
get_str(json_t *req, const char *name)
{
	json_t *v = json_object_get(req, name);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static char *
op_authorize(struct kd *kd, json_t *req)
{
	const char *conf = get_str(req, "conference"), *part = get_str(req, "participant");
	const char *fps = get_str(req, "fingerprint"), *tid = get_str(req, "tls_id");
	uint8_t fp[32], id[KD_MAX_TLS_ID];
	char err[300];
	long n;

	if (conf == NULL || part == NULL || fps == NULL || tid == NULL)
		return api_err(kd, KD_D_API_MALFORMED, "authorize needs string members conference, "
			       "participant, fingerprint (\"sha-256 AB:..\") and tls_id (hex)");
	if (kd_fp_parse(fps, fp) != 0)
		return api_err(kd, KD_D_API_MALFORMED, "fingerprint must be \"sha-256 \" and 32 "
			       "colon-separated hex bytes, as in SDP a=fingerprint");
	n = hex_decode(tid, id, sizeof(id));
	if (n < (long)KD_MIN_TLS_ID)
		return api_err(kd, KD_D_API_MALFORMED, "tls_id must be hex of %u..%u bytes "
			       "(the external_session_id the endpoint presents)",
			       KD_MIN_TLS_ID, KD_MAX_TLS_ID);
	if (kd_authorize(kd, conf, part, fp, id, (size_t)n, err, sizeof(err)) != 0)
		return api_err(kd, KD_D_API_REFUSED, "%s", err);
	return api_ok(NULL);
}

static char *
op_revoke(struct kd *kd, json_t *req)
{
	const char *conf = get_str(req, "conference"), *part = get_str(req, "participant");
	char err[300];

	if (conf == NULL || part == NULL)
		return api_err(kd, KD_D_API_MALFORMED,
			       "revoke needs string members conference and participant");
	if (kd_revoke(kd, conf, part, err, sizeof(err)) != 0)
		return api_err(kd, KD_D_API_REFUSED, "%s", err);
	return api_ok(NULL);
}

static char *
op_list(struct kd *kd)
{
	json_t *confs = json_array(), *members, *m;
	struct kd_conf *c;
	struct kd_entry *e;
	char uuid[40];

	for (c = kd->confs; c != NULL; c = c->next) {
		members = json_array();
		for (e = c->entries; e != NULL; e = e->next) {
			m = json_pack("{s:s, s:b}", "participant", e->participant,
				      "joined", e->joined);
			if (e->joined) {
				kd_uuid_format(e->uuid, uuid, sizeof(uuid));
				json_object_set_new(m, "association", json_string(uuid));
				json_object_set_new(m, "acked_spi", json_integer(e->acked_spi));
			} else {
				json_object_set_new(m, "association", json_null());
			}
			json_array_append_new(members, m);
		}
		json_array_append_new(confs, json_pack("{s:s, s:o, s:I, s:i, s:o}",
			"conference", c->name,
			"spi", c->have_key ? json_integer(c->spi) : json_null(),
			"roster_version", (json_int_t)c->version,
			"n_members", (int)c->n_members,
			"members", members));
	}
	return api_ok(json_pack("{s:o}", "conferences", confs));
}

static char *
op_rekeys(struct kd *kd)
{
	json_t *a = json_array();
	size_t i = kd->n_rekeys > KD_REKEY_LOG ? kd->n_rekeys - KD_REKEY_LOG : 0;
	const struct kd_rekey *r;

	for (; i < kd->n_rekeys; i++) {
		r = &kd->rekeys[i % KD_REKEY_LOG];
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:i, s:I, s:I}",
			"conference", r->conf, "cause", r->cause, "participant", r->participant,
			"spi", (int)r->spi, "roster_version", (json_int_t)r->version,
			"time_ms", (json_int_t)r->time_ms));
	}
	return api_ok(json_pack("{s:o}", "rekeys", a));
}

static char *
op_stats(struct kd *kd)
{
	const struct kd_stats *s = &kd->stats;
	json_t *tok = json_object(), *drops = json_object();
	unsigned int i;

	for (i = 1; i < PERC_JWT__COUNT; i++)
		json_object_set_new(tok, perc_jwt_err_name(i), json_integer((json_int_t)s->tokens_refused[i]));
	json_object_set_new(tok, "wrong_sub", json_integer((json_int_t)s->tokens_refused[KD_TOK_WRONG_SUB]));
	json_object_set_new(tok, "wrong_conf", json_integer((json_int_t)s->tokens_refused[KD_TOK_WRONG_CONF]));
	for (i = 0; i < KD_D__COUNT; i++)
		json_object_set_new(drops, drop_names[i], json_integer((json_int_t)s->drops[i]));
	return api_ok(json_pack("{s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}",
		"tunnels", (int)kd_live.tunnels,
		"associations", (int)kd_live.associations,
		"tunnels_accepted", (json_int_t)s->tunnels_accepted,
		"handshakes_ok", (json_int_t)s->handshakes_ok,
		"handshakes_failed", (json_int_t)s->handshakes_failed,
		"joins", (json_int_t)s->joins,
		"leaves", (json_int_t)s->leaves,
		"rekeys", (json_int_t)s->rekeys,
		"tokens_refused", tok,
		"errors", drops));
}

char *
kd_api_handle(struct kd *kd, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req;
	const char *op;
	char *resp;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL)
		return api_err(kd, KD_D_API_MALFORMED, "request is not JSON (%s at column %d); "
			       "send one JSON object per line", jerr.text, jerr.column);
	if (!json_is_object(req)) {
		json_decref(req);
		return api_err(kd, KD_D_API_MALFORMED, "request must be a JSON object with \"op\"");
	}
	op = get_str(req, "op");
	if (op == NULL)
		resp = api_err(kd, KD_D_API_MALFORMED, "missing string member \"op\" "
			       "(authorize, revoke, list, rekeys, stats)");
	else if (strcmp(op, "authorize") == 0)
		resp = op_authorize(kd, req);
	else if (strcmp(op, "revoke") == 0)
		resp = op_revoke(kd, req);
	else if (strcmp(op, "list") == 0)
		resp = op_list(kd);
	else if (strcmp(op, "rekeys") == 0)
		resp = op_rekeys(kd);
	else if (strcmp(op, "stats") == 0)
		resp = op_stats(kd);
	else
		resp = api_err(kd, KD_D_API_MALFORMED, "unknown op \"%.40s\"; use authorize, revoke, "
			       "list, rekeys or stats", op);
	json_decref(req);
	return resp;
}
