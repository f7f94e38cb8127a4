/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Conference API requests and ICE-lite rules, without the EAL (unit-tested
 * by tests/unit/test_mdapi.c).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "mdapi.h"
#include "perc/reason.h"

static const struct {
	const char *name;
	enum mdd_api_op op;
	const char *fields;      /* allowed keys besides "op", space-separated */
	const char *required;
} ops[] = {
	{ "conference_create", MDD_API_CONF_CREATE, " id max_endpoints ", " id " },
	{ "conference_delete", MDD_API_CONF_DELETE, " id ", " id " },
	{ "endpoint_add", MDD_API_EP_ADD, " conference id remote_ufrag ufrag pwd ",
	  " conference id remote_ufrag " },
	{ "endpoint_remove", MDD_API_EP_REMOVE, " conference id ", " conference id " },
	{ "list", MDD_API_LIST, " ", " " },
	{ "stats", MDD_API_STATS, " ", " " },
};

const char *
mdd_api_op_name(enum mdd_api_op op)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].op == op)
			return ops[i].name;
	return "?";
}

bool
mdd_api_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= PROV_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

static bool
ice_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

bool
mdd_ice_cred_ok(const char *s, size_t min)
{
	size_t n = strlen(s);

	if (n < min || n > MDD_ICE_CRED_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!ice_char(s[i]))
			return false;
	return true;
}

int
mdd_ice_cred_gen(char *out, size_t n)
{
	static const char alpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t r[MDD_ICE_CRED_MAX];

	if (n > sizeof(r) || RAND_bytes(r, (int)n) != 1)
		return -1;
	/* 64 symbols: six bits of each byte, no bias */
	for (size_t i = 0; i < n; i++)
		out[i] = alpha[r[i] & 63];
	out[n] = '\0';
	return 0;
}

/* Copy string field key of o into out (cap bytes). 1 when present, 0 when
 * absent, -1 (err set) when not a string or too long. */
static int
str_field(json_t *o, const char *key, char *out, size_t cap, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "\"%s\" must be a string", key);
		return -1;
	}
	if (json_string_length(v) >= cap || strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, errlen, "\"%s\" is longer than %zu bytes (or holds a NUL)", key,
			 cap - 1);
		return -1;
	}
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 1;
}

static int
check_fields(json_t *o, const char *allowed, const char *required, const char *op, char *err,
	     size_t errlen)
{
	const char *k;
	json_t *v;
	char pat[80];

	json_object_foreach(o, k, v) {
		(void)v;
		snprintf(pat, sizeof(pat), " %s ", k);
		if (strcmp(k, "op") != 0 && strstr(allowed, pat) == NULL) {
			snprintf(err, errlen, "unknown field \"%.64s\" for op %s: it takes%s(see "
				 "docs/mdd-control.md)", k, op, allowed);
			return -1;
		}
	}
	for (const char *p = required; *p != '\0';) {
		const char *e;
		char key[32];

		while (*p == ' ')
			p++;
		e = strchr(p, ' ');
		if (e == NULL || e == p)
			break;
		snprintf(key, sizeof(key), "%.*s", (int)(e - p), p);
		if (json_object_get(o, key) == NULL) {
			snprintf(err, errlen, "op %s needs \"%s\" (it takes%s)", op, key, allowed);
			return -1;
		}
		p = e;
	}
	return 0;
}

static int
parse_obj(json_t *o, struct mdd_api_req *r, char *err, size_t errlen)
{
	json_t *jop = json_object_get(o, "op");
	const char *name;
	size_t i;

	if (!json_is_string(jop)) {
		snprintf(err, errlen, "no \"op\" string: send {\"op\":\"list\"} or one of "
			 "conference_create, conference_delete, endpoint_add, endpoint_remove, stats");
		return -1;
	}
	name = json_string_value(jop);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, name) == 0)
			break;
	if (i == sizeof(ops) / sizeof(ops[0])) {
		snprintf(err, errlen, "unknown op \"%.64s\": use conference_create, "
			 "conference_delete, endpoint_add, endpoint_remove, list or stats", name);
		return -1;
	}
	r->op = ops[i].op;
	if (check_fields(o, ops[i].fields, ops[i].required, name, err, errlen) != 0)
		return -1;
	switch (r->op) {
	case MDD_API_CONF_CREATE: {
		json_t *me = json_object_get(o, "max_endpoints");

		r->max_endpoints = MDD_API_CONF_LEGS_DEFAULT;
		if (me != NULL) {
			if (!json_is_integer(me) || json_integer_value(me) < 2 ||
			    json_integer_value(me) > MDD_API_CONF_LEGS_MAX) {
				snprintf(err, errlen, "\"max_endpoints\" must be an integer 2..%u "
					 "(default %u)", MDD_API_CONF_LEGS_MAX,
					 MDD_API_CONF_LEGS_DEFAULT);
				return -1;
			}
			r->max_endpoints = (unsigned)json_integer_value(me);
		}
	}
		/* fall through */
	case MDD_API_CONF_DELETE:
		if (str_field(o, "id", r->conf, sizeof(r->conf), err, errlen) < 0)
			return -1;
		break;
	case MDD_API_EP_ADD:
		if (str_field(o, "remote_ufrag", r->remote_ufrag, sizeof(r->remote_ufrag), err,
			      errlen) < 0 ||
		    str_field(o, "ufrag", r->ufrag, sizeof(r->ufrag), err, errlen) < 0 ||
		    str_field(o, "pwd", r->pwd, sizeof(r->pwd), err, errlen) < 0)
			return -1;
		/* fall through */
	case MDD_API_EP_REMOVE:
		if (str_field(o, "conference", r->conf, sizeof(r->conf), err, errlen) < 0 ||
		    str_field(o, "id", r->id, sizeof(r->id), err, errlen) < 0)
			return -1;
		break;
	default:
		return 0;
	}
	if (!mdd_api_id_ok(r->conf)) {
		snprintf(err, errlen, "conference id must be 1..%d bytes of printable ASCII "
			 "without '\"' or '\\'", PROV_ID_MAX - 1);
		return -1;
	}
	if ((r->op == MDD_API_EP_ADD || r->op == MDD_API_EP_REMOVE) && !mdd_api_id_ok(r->id)) {
		snprintf(err, errlen, "endpoint id must be 1..%d bytes of printable ASCII "
			 "without '\"' or '\\'", PROV_ID_MAX - 1);
		return -1;
	}
	if (r->op != MDD_API_EP_ADD)
		return 0;
	if (!mdd_ice_cred_ok(r->remote_ufrag, MDD_ICE_UFRAG_MIN)) {
		snprintf(err, errlen, "remote_ufrag must be %u..%u ICE characters (A-Z a-z 0-9 + /; "
			 "RFC 8445 5.3): the endpoint's a=ice-ufrag", MDD_ICE_UFRAG_MIN,
			 MDD_ICE_CRED_MAX);
		return -1;
	}
	if ((r->ufrag[0] != '\0') != (r->pwd[0] != '\0')) {
		snprintf(err, errlen, "give both ufrag and pwd, or neither (the MDD makes them)");
		return -1;
	}
	if (r->ufrag[0] != '\0' && !mdd_ice_cred_ok(r->ufrag, MDD_ICE_UFRAG_MIN)) {
		snprintf(err, errlen, "ufrag must be %u..%u ICE characters (A-Z a-z 0-9 + /)",
			 MDD_ICE_UFRAG_MIN, MDD_ICE_CRED_MAX);
		return -1;
	}
	if (r->pwd[0] != '\0' && !mdd_ice_cred_ok(r->pwd, MDD_ICE_PWD_MIN)) {
		snprintf(err, errlen, "pwd must be %u..%u ICE characters (A-Z a-z 0-9 + /)",
			 MDD_ICE_PWD_MIN, MDD_ICE_CRED_MAX);
		return -1;
	}
	return 0;
}

int
mdd_api_parse(const char *line, size_t len, struct mdd_api_req *r, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o;
	int rc;

	memset(r, 0, sizeof(*r));
	if (len > MDD_API_MAX_LINE) {
		snprintf(err, errlen, "request longer than %u bytes: send one JSON object per line",
			 MDD_API_MAX_LINE);
		return -1;
	}
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL) {
		snprintf(err, errlen, "not JSON (%s at column %d): send one JSON object per line, "
			 "e.g. {\"op\":\"list\"}", je.text, je.column);
		return -1;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "a request is a JSON object, e.g. {\"op\":\"list\"}");
		json_decref(o);
		return -1;
	}
	rc = parse_obj(o, r, err, errlen);
	json_decref(o);
	return rc;
}

int
mdd_ice_split_username(const uint8_t *u, size_t len, char local[MDD_ICE_CRED_MAX + 1],
		       char remote[MDD_ICE_CRED_MAX + 1])
{
	const uint8_t *c = memchr(u, ':', len);
	size_t a, b;

	if (c == NULL)
		return -1;
	a = (size_t)(c - u);
	b = len - a - 1;
	if (a == 0 || b == 0 || a > MDD_ICE_CRED_MAX || b > MDD_ICE_CRED_MAX ||
	    memchr(u, '\0', len) != NULL)
		return -1;
	memcpy(local, u, a);
	local[a] = '\0';
	memcpy(remote, c + 1, b);
	remote[b] = '\0';
	return 0;
}

enum mdd_ice_verdict
mdd_ice_check(const uint8_t *p, size_t len, struct perc_stun_msg *sm, mdd_ice_lookup_fn lookup,
	      void *ctx, void **ep)
{
	char local[MDD_ICE_CRED_MAX + 1], remote[MDD_ICE_CRED_MAX + 1];
	const char *pwd;

	*ep = NULL;
	if (perc_stun_parse(p, len, sm) != PERC_R_OK)
		return MDD_ICE_MALFORMED;
	if (sm->type != PERC_STUN_BINDING_REQUEST || sm->username == NULL)
		return MDD_ICE_NOT_ICE;
	if (mdd_ice_split_username(sm->username, sm->username_len, local, remote) != 0 ||
	    (pwd = lookup(ctx, local, remote, ep)) == NULL)
		return MDD_ICE_UNKNOWN_USER;
	if (perc_stun_check_integrity(sm, pwd, strlen(pwd)) != PERC_R_OK)
		return MDD_ICE_BAD_INTEGRITY;
	if (!sm->has_fingerprint)
		return MDD_ICE_NO_FINGERPRINT;
	if (sm->n_unknown > 0)
		return MDD_ICE_UNKNOWN_ATTR;
	return MDD_ICE_OK;
}

const char *
mdd_ice_state_name(bool latched, bool keyed)
{
	if (keyed)
		return "keyed";
	return latched ? "ice_ok" : "waiting_ice";
}

bool
mdd_ice_consent_expired(uint64_t last_ms, uint64_t now_ms, uint64_t timeout_ms)
{
	return now_ms > last_ms && now_ms - last_ms >= timeout_ms;
}

bool
mdd_is_dtls(const uint8_t *p, size_t len)
{
	return len > 0 && p[0] >= 20 && p[0] <= 63;
}

int
mdd_uuid_v4(uint8_t u[16])
{
	if (RAND_bytes(u, 16) != 1)
		return -1;
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	return 0;
}

const char *
mdd_uuid_fmt(const uint8_t u[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	char *p = out;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[u[i] >> 4];
		*p++ = hex[u[i] & 15];
	}
	*p = '\0';
	return out;
}

uint32_t
mdd_backoff_next(uint32_t cur)
{
	if (cur < MDD_BACKOFF_MIN_MS)
		return MDD_BACKOFF_MIN_MS;
	return cur >= MDD_BACKOFF_MAX_MS / 2 ? MDD_BACKOFF_MAX_MS : cur * 2;
}
