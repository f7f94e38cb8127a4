/* SPDX-License-Identifier: BSD-3-Clause */
/* The provisioning file: a valid file in full, every refusal with its line
 * and the words of its message, addresses, and prov_load on real files. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <unistd.h>

#include "provision.h"
#include "testutil.h"

#define K16 "000102030405060708090a0b0c0d0e0f"
#define K32 K16 "101112131415161718191a1b1c1d1e1f"
#define S12 "a0a1a2a3a4a5a6a7a8a9aaab"
#define S14 S12 "acad"

/* A valid file, one value per line; the tests replace one line by number
 * (1-based), so the line a refusal names is visible here. */
static const char *const base[] = {
	/*  1 */ "{",
	/*  2 */ "  \"conferences\": [",
	/*  3 */ "    {",
	/*  4 */ "      \"id\": \"c1\",",
	/*  5 */ "      \"endpoints\": [",
	/*  6 */ "        {",
	/*  7 */ "          \"id\": \"a\",",
	/*  8 */ "          \"addr\": \"192.0.2.10:40000\",",
	/*  9 */ "          \"profile\": \"DOUBLE_AEAD_AES_128_GCM_AEAD_AES_128_GCM\",",
	/* 10 */ "          \"rx_key\": \"" K16 "\",",
	/* 11 */ "          \"rx_salt\": \"" S12 "\",",
	/* 12 */ "          \"tx_key\": \"0x" K16 "\",",
	/* 13 */ "          \"tx_salt\": \"" S12 "\",",
	/* 14 */ "          \"ssrcs\": [1234, 5678],",
	/* 15 */ "          \"max_streams\": 4",
	/* 16 */ "        },",
	/* 17 */ "        {",
	/* 18 */ "          \"id\": \"b\",",
	/* 19 */ "          \"addr\": \"[2001:db8::1]:40002\",",
	/* 20 */ "          \"profile\": \"DOUBLE_AEAD_AES_256_GCM_AEAD_AES_256_GCM\",",
	/* 21 */ "          \"rx_key\": \"" K32 "\",",
	/* 22 */ "          \"rx_salt\": \"" S12 "\",",
	/* 23 */ "          \"tx_key\": \"" K32 "\",",
	/* 24 */ "          \"tx_salt\": \"" S12 "\",",
	/* 25 */ "          \"ssrcs\": [42],",
	/* 26 */ "          \"ekt\": false",
	/* 27 */ "        }",
	/* 28 */ "      ]",
	/* 29 */ "    },",
	/* 30 */ "    {",
	/* 31 */ "      \"id\": \"c2\",",
	/* 32 */ "      \"endpoints\": [",
	/* 33 */ "        {",
	/* 34 */ "          \"id\": \"a\",",
	/* 35 */ "          \"addr\": \"198.51.100.7:5004\",",
	/* 36 */ "          \"profile\": \"SRTP_AES128_CM_HMAC_SHA1_80\",",
	/* 37 */ "          \"rx_key\": \"" K16 "\",",
	/* 38 */ "          \"rx_salt\": \"" S14 "\",",
	/* 39 */ "          \"tx_key\": \"" K16 "\",",
	/* 40 */ "          \"tx_salt\": \"" S14 "\",",
	/* 41 */ "          \"ssrcs\": [1234]",
	/* 42 */ "        },",
	/* 43 */ "        {",
	/* 44 */ "          \"id\": \"g\",",
	/* 45 */ "          \"addr\": \"[2001:db8::2]:6000\",",
	/* 46 */ "          \"profile\": \"SRTP_AEAD_AES_256_GCM\",",
	/* 47 */ "          \"rx_key\": \"" K32 "\",",
	/* 48 */ "          \"rx_salt\": \"" S12 "\",",
	/* 49 */ "          \"tx_key\": \"" K32 "\",",
	/* 50 */ "          \"tx_salt\": \"" S12 "\",",
	/* 51 */ "          \"ssrcs\": [0, 4294967295],",
	/* 52 */ "          \"max_streams\": 1024",
	/* 53 */ "        },",
	/* 54 */ "        {",
	/* 55 */ "          \"id\": \"h\",",
	/* 56 */ "          \"addr\": \"203.0.113.1:1\",",
	/* 57 */ "          \"profile\": \"srtp_aead_aes_128_gcm\",",
	/* 58 */ "          \"rx_key\": \"" K16 "\",",
	/* 59 */ "          \"rx_salt\": \"" S12 "\",",
	/* 60 */ "          \"tx_key\": \"" K16 "\",",
	/* 61 */ "          \"tx_salt\": \"" S12 "\",",
	/* 62 */ "          \"ssrcs\": [],",
	/* 63 */ "          \"ekt\": false",
	/* 64 */ "        }",
	/* 65 */ "      ]",
	/* 66 */ "    }",
	/* 67 */ "  ]",
	/* 68 */ "}",
	NULL,
};

/* The base file with line n replaced by repl (n = 0: unchanged); joined
 * with sep ("\n", or "" for everything on one line). */
static char *
doc_sep(int n, const char *repl, const char *sep)
{
	size_t len = 1;
	char *d;

	for (int i = 0; base[i] != NULL; i++)
		len += strlen(i + 1 == n ? repl : base[i]) + strlen(sep);
	d = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	d[0] = 0;
	for (int i = 0; base[i] != NULL; i++) {
		strcat(d, i + 1 == n ? repl : base[i]);
		strcat(d, sep);
	}
	return d;
}

static char *
doc(int n, const char *repl)
{
	return doc_sep(n, repl, "\n");
}

/* text is refused at line (and column, when col > 0), the message starts
 * "<string>:LINE:" and holds every word given (NULL-terminated); p comes
 * back empty. */
static void
refused_at(const char *text, int line, int col, ...)
{
	struct prov p;
	struct prov_error err;
	char prefix[64];
	const char *w;
	va_list ap;
	int rc = prov_parse(text, &p, &err);
	bool ok = rc == -1 && err.line == line && (col <= 0 || err.column == col);

	if (line > 0)
		snprintf(prefix, sizeof(prefix), "<string>:%d:", line);
	else
		snprintf(prefix, sizeof(prefix), "<string>: ");
	ok = ok && strncmp(err.msg, prefix, strlen(prefix)) == 0;
	va_start(ap, col);
	while ((w = va_arg(ap, const char *)) != NULL)
		if (strstr(err.msg, w) == NULL) {
			printf("\n  missing word \"%s\"", w);
			ok = false;
		}
	va_end(ap);
	if (getenv("T_VERBOSE") != NULL)
		printf("\n  %s", err.msg);
	if (!ok)
		printf("\n  want line %d col %d, got rc %d line %d col %d: %s\n", line, col, rc,
		       err.line, err.column, err.msg);
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(p.n_conferences, 0);
	CU_ASSERT_PTR_NULL(p.conferences);
	prov_free(&p);
}

/* Line n replaced by repl is refused at line want with the words. */
#define REFUSED(n, repl, want, ...) do { \
		char *d_ = doc(n, repl); \
		refused_at(d_, want, 0, __VA_ARGS__, NULL); \
		free(d_); \
	} while (0)

static void
check_valid(const struct prov *p, bool lines)
{
	const struct prov_conference *c1 = &p->conferences[0], *c2 = &p->conferences[1];
	const struct prov_endpoint *a, *b, *ca, *g, *h;
	uint8_t k16[16], k32[32], s14[14];

	t_hex(K16, k16, sizeof(k16));
	t_hex(K32, k32, sizeof(k32));
	t_hex(S14, s14, sizeof(s14));
	CU_ASSERT_EQUAL_FATAL(p->n_conferences, 2);
	CU_ASSERT_EQUAL(p->n_endpoints, 5);
	CU_ASSERT_STRING_EQUAL(c1->id, "c1");
	CU_ASSERT_STRING_EQUAL(c2->id, "c2");
	CU_ASSERT_EQUAL_FATAL(c1->n_endpoints, 2);
	CU_ASSERT_EQUAL_FATAL(c2->n_endpoints, 3);
	a = &c1->endpoints[0];
	b = &c1->endpoints[1];
	ca = &c2->endpoints[0];
	g = &c2->endpoints[1];
	h = &c2->endpoints[2];
	if (lines) {
		CU_ASSERT_EQUAL(c1->line, 3);
		CU_ASSERT_EQUAL(c2->line, 30);
		CU_ASSERT_EQUAL(a->line, 6);
		CU_ASSERT_EQUAL(b->line, 17);
		CU_ASSERT_EQUAL(h->line, 54);
	}

	/* a: double 128, IPv4, ekt by default, max_streams given */
	CU_ASSERT_STRING_EQUAL(a->id, "a");
	CU_ASSERT_EQUAL(a->addr.family, AF_INET);
	CU_ASSERT(memcmp(a->addr.ip, "\xc0\x00\x02\x0a", 4) == 0);
	CU_ASSERT_EQUAL(a->addr.port, 40000);
	CU_ASSERT_PTR_EQUAL(a->profile, perc_profile_by_id(PERC_DOUBLE_AES_128_GCM));
	CU_ASSERT_EQUAL(a->key_len, 16);
	CU_ASSERT_EQUAL(a->salt_len, 12);
	CU_ASSERT(memcmp(a->rx_key, k16, 16) == 0);
	CU_ASSERT(memcmp(a->tx_key, k16, 16) == 0);   /* written with 0x */
	CU_ASSERT(memcmp(a->rx_salt, s14, 12) == 0);
	CU_ASSERT(memcmp(a->tx_salt, s14, 12) == 0);
	CU_ASSERT_EQUAL(a->n_ssrcs, 2);
	CU_ASSERT_EQUAL(a->ssrcs[0], 1234);
	CU_ASSERT_EQUAL(a->ssrcs[1], 5678);
	CU_ASSERT_EQUAL(a->max_streams, 4);
	CU_ASSERT_TRUE(a->ekt);

	/* b: double 256, IPv6, ekt off, max_streams by default */
	CU_ASSERT_EQUAL(b->addr.family, AF_INET6);
	CU_ASSERT(memcmp(b->addr.ip, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16) == 0);
	CU_ASSERT_EQUAL(b->addr.port, 40002);
	CU_ASSERT_PTR_EQUAL(b->profile, perc_profile_by_id(PERC_DOUBLE_AES_256_GCM));
	CU_ASSERT_EQUAL(b->key_len, 32);
	CU_ASSERT_EQUAL(b->salt_len, 12);
	CU_ASSERT(memcmp(b->rx_key, k32, 32) == 0);
	CU_ASSERT_EQUAL(b->max_streams, PROV_DEFAULT_MAX_STREAMS);
	CU_ASSERT_FALSE(b->ekt);

	/* c2/a: same id and SSRC as in c1 (allowed), AES-CM: salt 14, no ekt */
	CU_ASSERT_STRING_EQUAL(ca->id, "a");
	CU_ASSERT_PTR_EQUAL(ca->profile, perc_profile_by_id(PERC_AES128_CM_SHA1_80));
	CU_ASSERT_EQUAL(ca->key_len, 16);
	CU_ASSERT_EQUAL(ca->salt_len, 14);
	CU_ASSERT(memcmp(ca->rx_salt, s14, 14) == 0);
	CU_ASSERT(memcmp(ca->tx_salt, s14, 14) == 0);
	CU_ASSERT_EQUAL(ca->ssrcs[0], 1234);
	CU_ASSERT_FALSE(ca->ekt);

	/* g: GCM 256, SSRC range ends, max_streams at its limit */
	CU_ASSERT_PTR_EQUAL(g->profile, perc_profile_by_id(PERC_AEAD_AES_256_GCM));
	CU_ASSERT_EQUAL(g->key_len, 32);
	CU_ASSERT_EQUAL(g->salt_len, 12);
	CU_ASSERT_EQUAL(g->n_ssrcs, 2);
	CU_ASSERT_EQUAL(g->ssrcs[0], 0);
	CU_ASSERT_EQUAL(g->ssrcs[1], UINT32_MAX);
	CU_ASSERT_EQUAL(g->max_streams, PROV_MAX_STREAMS_LIMIT);

	/* h: profile name in lower case, no ssrcs, port 1 */
	CU_ASSERT_PTR_EQUAL(h->profile, perc_profile_by_id(PERC_AEAD_AES_128_GCM));
	CU_ASSERT_EQUAL(h->n_ssrcs, 0);
	CU_ASSERT_EQUAL(h->addr.port, 1);
	CU_ASSERT_FALSE(h->ekt);
}

static void
test_valid(void)
{
	struct prov p;
	struct prov_error err;
	char *d = doc(0, NULL);

	CU_ASSERT_EQUAL_FATAL(prov_parse(d, &p, &err), 0);
	check_valid(&p, true);
	prov_free(&p);
	CU_ASSERT_EQUAL(p.n_conferences, 0);
	CU_ASSERT_PTR_NULL(p.conferences);
	prov_free(&p);   /* twice is harmless */
	free(d);

	/* the same on one line */
	d = doc_sep(0, NULL, "");
	CU_ASSERT_EQUAL_FATAL(prov_parse(d, &p, &err), 0);
	check_valid(&p, false);
	CU_ASSERT_EQUAL(p.conferences[1].endpoints[2].line, 1);
	prov_free(&p);
	free(d);

	/* nothing provisioned; CRLF line ends */
	CU_ASSERT_EQUAL(prov_parse("{\"conferences\": []}", &p, &err), 0);
	CU_ASSERT_EQUAL(p.n_conferences, 0);
	CU_ASSERT_EQUAL(p.n_endpoints, 0);
	prov_free(&p);
	CU_ASSERT_EQUAL(prov_parse("{\r\n\"conferences\":\r\n[]\r\n}\r\n", &p, &err), 0);
	prov_free(&p);

	/* a key spelled with escapes is the key (only its position is lost) */
	d = doc(4, "      \"\\u0069d\": \"c1\",");
	CU_ASSERT_EQUAL(prov_parse(d, &p, &err), 0);
	CU_ASSERT_STRING_EQUAL(p.conferences[0].id, "c1");
	prov_free(&p);
	free(d);
}

/* Everything on one line: the refusal names line 1 and the column of the
 * value at fault. */
static void
test_one_line_columns(void)
{
	char *d = doc_sep(21, "\"rx_key\": \"" K16 "\",", "");
	const char *v = strstr(strstr(d, "\"id\": \"b\""), "\"rx_key\": \"" K16 "\",");
	int col;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	col = (int)(v - d) + (int)strlen("\"rx_key\": ") + 1;
	refused_at(d, 1, col, "endpoint \"b\" of conference \"c1\"", "rx_key must be 32 bytes",
		   "got 16", NULL);
	free(d);

	/* the second "id": "a" on the line is the one refused */
	d = doc_sep(18, "\"id\": \"a\",", "");
	v = strstr(strstr(d, "\"id\": \"a\"") + 1, "\"id\": \"a\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	refused_at(d, 1, (int)(v - d) + 7, "endpoint id \"a\" is already used at line 1", NULL);
	free(d);
}

/* The message of the brief, in full, and its column. */
static void
test_message_exact(void)
{
	struct prov p;
	struct prov_error err;
	char *d = doc(10, "          \"rx_key\": \"000102030405060708090a0b0c0d0e\",");

	CU_ASSERT_EQUAL(prov_parse(d, &p, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.msg, "<string>:10:21: endpoint \"a\" of conference \"c1\": "
			       "rx_key must be 16 bytes (32 hex digits) for "
			       "DOUBLE_AEAD_AES_128_GCM_AEAD_AES_128_GCM (the outer half), got 15");
	CU_ASSERT_EQUAL(err.line, 10);
	CU_ASSERT_EQUAL(err.column, 21);
	free(d);
}

static void
test_syntax(void)
{
	/* jansson's own line and column */
	REFUSED(14, "          \"ssrcs\": [1234 5678],", 14, "JSON syntax error", "5678");
	REFUSED(68, "}}", 68, "JSON syntax error");
	REFUSED(15, "          \"max_streams\": 4,", 16, "JSON syntax error");
	REFUSED(15, "          \"ssrcs\": [1]", 15, "JSON syntax error", "duplicate");
	REFUSED(51, "          \"ssrcs\": [99999999999999999999],", 51, "too big integer");
	refused_at("{\"conferences\": [] /* c */}", 1, 20, "JSON syntax error", NULL);
	/* empty, blank, not an object */
	refused_at("", 0, 0, "empty", "{\"conferences\": []}", NULL);
	refused_at("  \n ", 2, 0, "JSON syntax error", NULL);
	refused_at("[]", 1, 1, "top level must be an object", "got an array", NULL);
}

static void
test_structure(void)
{
	refused_at("{}", 1, 1, "no \"conferences\"", NULL);
	refused_at("{\"conferences\": {}}", 1, 17, "\"conferences\" must be an array",
		   "got an object", NULL);
	refused_at("{\"conferences\": null}", 1, 17, "got null", NULL);
	refused_at("{\n\"conferences\": [\n\"c1\"\n]}", 3, 1, "conference 1",
		   "must be an object", "got a string", NULL);
	refused_at("{\"conferences\": [{\"id\": \"c1\"}]}", 1, 18, "conference \"c1\"",
		   "no \"endpoints\"", NULL);
	refused_at("{\"conferences\": [{\"id\": \"c1\",\n \"endpoints\": []}]}", 2, 15,
		   "conference \"c1\"", "has no endpoints", NULL);
	refused_at("{\"conferences\": [{\"id\": \"c1\", \"endpoints\": {}}]}", 1, 44,
		   "\"endpoints\" must be an array", NULL);
	refused_at("{\"conferences\": [{\"endpoints\": []}]}", 1, 18, "conference 1",
		   "no \"id\"", NULL);
	refused_at("{\"conferences\": [{\"id\": \"c1\", \"endpoints\": [\n  7]}]}", 2, 3,
		   "endpoint 1 of conference \"c1\"", "must be an object", "got an integer", NULL);
	/* a required key missing: at the endpoint's opening brace */
	REFUSED(13, "          \"ekt\": true,", 6, "endpoint \"a\"", "no \"tx_salt\"");
	REFUSED(14, "          \"ekt\": true,", 6, "no \"ssrcs\"", "[] for none");
	REFUSED(8, "          \"ekt\": true,", 6, "no \"addr\"", "192.0.2.10:40000");
	REFUSED(9, "          \"ekt\": true,", 6, "no \"profile\"");
	REFUSED(7, "          \"ekt\": true,", 6, "endpoint 1 of conference \"c1\"", "no \"id\"");
}

static void
test_unknown_keys(void)
{
	REFUSED(15, "          \"max_streams\": 4, \"max_stream\": 4", 15, "endpoint \"a\"",
		"unknown key \"max_stream\"", "max_streams, ekt");
	REFUSED(31, "      \"id\": \"c2\", \"name\": \"x\",", 31, "conference \"c2\"",
		"unknown key \"name\"", "id, endpoints");
	REFUSED(2, "  \"version\": 1, \"conferences\": [", 2, "unknown key \"version\"",
		"top level");
	/* unknown keys come before anything else of the object; its id names
	 * it when the id is good, its place when not */
	REFUSED(26, "          \"ekt\": false, \"EKT\": false", 26, "endpoint \"b\" of conference",
		"\"EKT\"");
	REFUSED(18, "          \"id\": \"\", \"x\": 1,", 18, "endpoint 2 of conference \"c1\"",
		"unknown key \"x\"");
	/* an unprintable key is shown escaped; a key written with escapes is
	 * not found in the text: the refusal points at its object */
	REFUSED(26, "          \"ekt\": false, \"e\\u0001\": 1", 17, "\"e\\x01\"");
}

static void
test_ids(void)
{
	REFUSED(31, "      \"id\": \"c1\",", 31, "conference id \"c1\" is already used at line 4",
		"unique");
	REFUSED(18, "          \"id\": \"a\",", 18, "conference \"c1\"",
		"endpoint id \"a\" is already used at line 7");
	REFUSED(55, "          \"id\": \"g\",", 55, "endpoint id \"g\" is already used at line 44");
	REFUSED(4, "      \"id\": \"\",", 4, "conference 1", "\"id\" is empty");
	REFUSED(7, "          \"id\": 7,", 7, "\"id\" must be a string", "got an integer");
	REFUSED(7, "          \"id\": \"a\\\"b\",", 7, "printable ASCII");
	REFUSED(7, "          \"id\": \"a\\nb\",", 7, "byte 0x0a");
	REFUSED(7, "          \"id\": \"" "0123456789012345678901234567890123456789"
		"012345678901234567890123\",", 7, "64 bytes", "at most 63");
	{
		char *d = doc(7, "          \"id\": \"" "0123456789012345678901234567890123456789"
			      "01234567890123456789012\",");
		struct prov p;
		struct prov_error err;

		CU_ASSERT_EQUAL(prov_parse(d, &p, &err), 0);
		CU_ASSERT_EQUAL(strlen(p.conferences[0].endpoints[0].id), PROV_ID_MAX - 1);
		prov_free(&p);
		free(d);
	}
}

static void
test_addresses_in_file(void)
{
	/* the same address twice, in another conference; IPv6 in another spelling */
	REFUSED(35, "          \"addr\": \"192.0.2.10:40000\",", 35,
		"endpoint \"a\" of conference \"c2\"", "addr 192.0.2.10:40000 is already used by "
		"endpoint \"a\" of conference \"c1\" (line 8)");
	REFUSED(45, "          \"addr\": \"[2001:db8:0:0::1]:40002\",", 45,
		"[2001:db8::1]:40002 is already used by endpoint \"b\" of conference \"c1\" (line 19)");
	/* another port or family is another address */
	{
		char *d = doc(45, "          \"addr\": \"[2001:db8::1]:40003\",");
		struct prov p;
		struct prov_error err;

		CU_ASSERT_EQUAL(prov_parse(d, &p, &err), 0);
		prov_free(&p);
		free(d);
	}
	REFUSED(8, "          \"addr\": \"192.0.2.10\",", 8, "endpoint \"a\"", "has no port");
	REFUSED(8, "          \"addr\": \"192.0.2.10:0\",", 8, "port 0", "1..65535");
	REFUSED(8, "          \"addr\": \"192.0.2.10:70000\",", 8, "above 65535");
	REFUSED(8, "          \"addr\": \"192.0.2.10:\",", 8, "empty port");
	REFUSED(8, "          \"addr\": \"192.0.2.10:4x\",", 8, "not a number");
	REFUSED(8, "          \"addr\": \"garbage\",", 8, "has no port");
	REFUSED(8, "          \"addr\": \"garbage:40000\",", 8, "not a numeric IPv4");
	REFUSED(8, "          \"addr\": \"host.example:40000\",", 8, "names are not resolved");
	REFUSED(8, "          \"addr\": \"192.0.2.256:40000\",", 8, "not a numeric IPv4");
	REFUSED(8, "          \"addr\": \"2001:db8::1:40000\",", 8, "IPv6 without brackets");
	REFUSED(8, "          \"addr\": \"[2001:db8::1]\",", 8, "has no port");
	REFUSED(8, "          \"addr\": \"[2001:db8::1:40000\",", 8, "no ']'");
	REFUSED(8, "          \"addr\": \"[fe80::1%eth0]:40000\",", 8, "no valid IPv6");
	REFUSED(8, "          \"addr\": \"0.0.0.0:40000\",", 8, "unspecified");
	REFUSED(8, "          \"addr\": \"[::]:40000\",", 8, "unspecified");
	REFUSED(8, "          \"addr\": \"[::ffff:192.0.2.10]:40000\",", 8, "IPv4-mapped",
		"a.b.c.d:port");
	REFUSED(8, "          \"addr\": 40000,", 8, "\"addr\" must be a string");
}

static void
test_parse_addr(void)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{"192.0.2.10:40000", "192.0.2.10:40000"},
		{"10.0.0.1:1", "10.0.0.1:1"},
		{"10.0.0.1:65535", "10.0.0.1:65535"},
		{"10.0.0.1:08", "10.0.0.1:8"},
		{"[2001:db8::1]:5004", "[2001:db8::1]:5004"},
		{"[2001:DB8:0:0:0:0:0:1]:5004", "[2001:db8::1]:5004"},
		{"[::1]:9", "[::1]:9"},
		{"[::ffff:192.0.2.1]:9", "[::ffff:192.0.2.1]:9"},
	};
	static const char *const bad[] = {
		"", ":", ":80", "192.0.2.10", "192.0.2.10:", "192.0.2.10:0", "192.0.2.10:65536",
		"192.0.2.10:70000", "192.0.2.10:99999999999999999999", "192.0.2.10:-1",
		"192.0.2.10:+80", "192.0.2.10: 80", " 192.0.2.10:80", "192.0.2:80",
		"192.0.2.10.1:80", "garbage", "a.b.c.d:80", "2001:db8::1:80", "::1:80",
		"[2001:db8::1]", "[2001:db8::1]80", "[2001:db8::1]:", "[]:80", "[2001:db8::1:80",
		"[192.0.2.1]:80", "[fe80::1%1]:80", "[2001:db8::1]:80x",
	};
	struct prov_addr a;
	char buf[64];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CU_ASSERT_EQUAL(prov_parse_addr(ok[i].in, &a), 0);
		CU_ASSERT_STRING_EQUAL(prov_format_addr(&a, buf, sizeof(buf)), ok[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = prov_parse_addr(bad[i], &a);

		if (rc != -1)
			printf("\n  accepted \"%s\"\n", bad[i]);
		CU_ASSERT_EQUAL(rc, -1);
	}
	memset(&a, 0, sizeof(a));
	CU_ASSERT_STRING_EQUAL(prov_format_addr(&a, buf, sizeof(buf)), "(no address)");
}

static void
test_profiles_and_keys(void)
{
	REFUSED(9, "          \"profile\": \"DOUBLE_AEAD_AES_128_GCM\",", 9, "unknown profile",
		"did you mean DOUBLE_AEAD_AES_128_GCM_AEAD_AES_128_GCM");
	REFUSED(9, "          \"profile\": \"nonsense\",", 9, "unknown profile \"nonsense\"",
		"docs/provisioning.md");
	REFUSED(9, "          \"profile\": 9,", 9, "\"profile\" must be a string");
	/* double: one layer's outer half */
	REFUSED(11, "          \"rx_salt\": \"" S14 "\",", 11, "rx_salt must be 12 bytes "
		"(24 hex digits) for DOUBLE_AEAD_AES_128_GCM_AEAD_AES_128_GCM (the outer half), "
		"got 14");
	REFUSED(12, "          \"tx_key\": \"" K32 "\",", 12, "tx_key must be 16 bytes",
		"got 32: give only the hop-by-hop half");
	REFUSED(13, "          \"tx_salt\": \"" S12 S12 "\",", 13, "tx_salt must be 12 bytes",
		"got 24: give only the hop-by-hop half");
	REFUSED(21, "          \"rx_key\": \"" K16 "\",", 21, "endpoint \"b\"",
		"rx_key must be 32 bytes (64 hex digits) for "
		"DOUBLE_AEAD_AES_256_GCM_AEAD_AES_256_GCM (the outer half), got 16");
	/* single profiles: the whole key */
	REFUSED(38, "          \"rx_salt\": \"" S12 "\",", 38, "endpoint \"a\" of conference \"c2\"",
		"rx_salt must be 14 bytes (28 hex digits) for SRTP_AES128_CM_HMAC_SHA1_80, got 12");
	REFUSED(39, "          \"tx_key\": \"" K32 "\",", 39,
		"tx_key must be 16 bytes (32 hex digits) for SRTP_AES128_CM_HMAC_SHA1_80, got 32");
	{
		char *d = doc(36, "          \"profile\": \"SRTP_AES128_CM_HMAC_SHA1_32\",");
		struct prov p;
		struct prov_error err;

		/* the CM_32 profile takes the same lengths as CM_80 */
		CU_ASSERT_EQUAL(prov_parse(d, &p, &err), 0);
		prov_free(&p);
		free(d);
	}
	REFUSED(47, "          \"rx_key\": \"" K16 "\",", 47,
		"rx_key must be 32 bytes (64 hex digits) for SRTP_AEAD_AES_256_GCM, got 16");
	REFUSED(50, "          \"tx_salt\": \"" S14 "\",", 50,
		"tx_salt must be 12 bytes (24 hex digits) for SRTP_AEAD_AES_256_GCM, got 14");
	REFUSED(58, "          \"rx_key\": \"" K32 "\",", 58,
		"rx_key must be 16 bytes (32 hex digits) for SRTP_AEAD_AES_128_GCM, got 32");
	REFUSED(61, "          \"tx_salt\": \"" S14 "\",", 61,
		"tx_salt must be 12 bytes (24 hex digits) for SRTP_AEAD_AES_128_GCM, got 14");
	/* a profile change alone is refused at the first key that no longer fits */
	REFUSED(9, "          \"profile\": \"SRTP_AES128_CM_HMAC_SHA1_80\",", 11,
		"rx_salt must be 14 bytes");
	/* hex */
	REFUSED(10, "          \"rx_key\": \"zz0102030405060708090a0b0c0d0e0f\",", 10,
		"rx_key is not hex: 'z' at digit 1");
	REFUSED(10, "          \"rx_key\": \"000102030405060708090a0b0c0d0e0 \",", 10,
		"byte 0x20 at digit 32");
	REFUSED(10, "          \"rx_key\": \"000102030405060708090a0b0c0d0e0\",", 10,
		"odd number of hex digits (31)");
	REFUSED(10, "          \"rx_key\": \"\",", 10, "got 0");
	REFUSED(10, "          \"rx_key\": 16,", 10, "\"rx_key\" must be a string",
		"got an integer");
	REFUSED(10, "          \"rx_key\": \"0x\",", 10, "got 0");
}

static void
test_ssrcs(void)
{
	REFUSED(25, "          \"ssrcs\": [5678],", 25, "endpoint \"b\"",
		"ssrc 5678 is already used by endpoint \"a\" (line 14)", "unique within a conference");
	REFUSED(14, "          \"ssrcs\": [1234, 1234],", 14,
		"ssrc 1234 is listed twice (first at line 14)");
	REFUSED(14, "          \"ssrcs\": [1234,\n5678, 1234],", 15, "ssrc 1234 is listed twice");
	REFUSED(51, "          \"ssrcs\": [4294967296],", 51, "ssrcs[0] = 4294967296 is out of "
		"range", "0..4294967295");
	REFUSED(51, "          \"ssrcs\": [0, -1],", 51, "ssrcs[1] = -1 is out of range");
	REFUSED(51, "          \"ssrcs\": [1, \"2\"],", 51, "ssrcs[1] must be an integer",
		"got a string");
	REFUSED(51, "          \"ssrcs\": [1.0],", 51, "got a number with a fraction");
	REFUSED(51, "          \"ssrcs\": 1,", 51, "ssrcs must be an array", "got an integer");
	REFUSED(14, "          \"ssrcs\": [1, 2, 3, 4, 5],", 14,
		"ssrcs lists 5 SSRCs but max_streams is 4: raise max_streams");
	REFUSED(41, "          \"ssrcs\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]", 41,
		"max_streams is 16 (the default)");
	{
		char line[600];
		int o = snprintf(line, sizeof(line), "          \"ssrcs\": [");

		for (int i = 0; i < PROV_MAX_SSRCS + 1; i++)
			o += snprintf(line + o, sizeof(line) - (size_t)o, "%s%d", i ? "," : "", i);
		snprintf(line + o, sizeof(line) - (size_t)o, "],");
		REFUSED(51, line, 51, "ssrcs lists 65 SSRCs: at most 64");
		/* 64 is fine with max_streams 1024 */
		o = snprintf(line, sizeof(line), "          \"ssrcs\": [");
		for (int i = 0; i < PROV_MAX_SSRCS; i++)
			o += snprintf(line + o, sizeof(line) - (size_t)o, "%s%d", i ? "," : "", i);
		snprintf(line + o, sizeof(line) - (size_t)o, "],");
		{
			char *d = doc(51, line);
			struct prov p;
			struct prov_error err;

			CU_ASSERT_EQUAL(prov_parse(d, &p, &err), 0);
			CU_ASSERT_EQUAL(p.conferences[1].endpoints[1].n_ssrcs, PROV_MAX_SSRCS);
			prov_free(&p);
			free(d);
		}
	}
}

static void
test_max_streams_and_ekt(void)
{
	REFUSED(15, "          \"max_streams\": \"4\"", 15, "max_streams must be an integer 1..1024",
		"got a string");
	REFUSED(15, "          \"max_streams\": 4.0", 15, "got a number with a fraction");
	REFUSED(15, "          \"max_streams\": 0", 15, "max_streams must be 1..1024, got 0");
	REFUSED(52, "          \"max_streams\": 1025", 52, "got 1025");
	REFUSED(52, "          \"max_streams\": null", 52, "got null");
	REFUSED(41, "          \"ssrcs\": [1234], \"ekt\": true", 41, "endpoint \"a\" of conference "
		"\"c2\"", "\"ekt\": true needs a double (PERC) profile",
		"SRTP_AES128_CM_HMAC_SHA1_80 is single", "set it to false");
	REFUSED(63, "          \"ekt\": true", 63, "SRTP_AEAD_AES_128_GCM is single");
	REFUSED(26, "          \"ekt\": \"yes\"", 26, "ekt must be true or false", "got a string");
	REFUSED(26, "          \"ekt\": 1", 26, "got an integer");
	{
		char *d = doc(26, "          \"ekt\": true");
		struct prov p;
		struct prov_error err;

		CU_ASSERT_EQUAL(prov_parse(d, &p, &err), 0);
		CU_ASSERT_TRUE(p.conferences[0].endpoints[1].ekt);
		prov_free(&p);
		free(d);
	}
}

/* The next rx key (both halves or neither) and the rewrite keys. */
static void
test_rekey_and_rewrite(void)
{
	struct prov p;
	struct prov_error err;
	char *d;

	REFUSED(15, "          \"max_streams\": 4, \"rx_key_next\": \"" K16 "\"", 15,
		"rx_key_next without rx_salt_next", "give both");
	REFUSED(15, "          \"max_streams\": 4, \"rx_salt_next\": \"" S12 "\"", 15,
		"rx_salt_next without rx_key_next");
	REFUSED(15, "          \"max_streams\": 4, \"rx_key_next\": \"" K32 "\", \"rx_salt_next\": \""
		S12 "\"", 15, "rx_key_next must be 16 bytes");
	REFUSED(15, "          \"max_streams\": 4, \"pt_map\": [96]", 15, "pt_map must be an object");
	REFUSED(15, "          \"max_streams\": 4, \"pt_map\": {\"128\": 1}", 15,
		"is not a payload type 0..127");
	REFUSED(15, "          \"max_streams\": 4, \"pt_map\": {\"96\": 200}", 15,
		"must be a payload type 0..127");
	REFUSED(15, "          \"max_streams\": 4, \"seq_offset\": 65536", 15,
		"seq_offset must be an integer 0..65535");
	REFUSED(15, "          \"max_streams\": 4, \"marker\": \"toggle\"", 15,
		"marker must be \"keep\", \"clear\" or \"set\"");

	d = doc(15, "          \"max_streams\": 4, \"rx_key_next\": \"" K16 "\", \"rx_salt_next\": \""
		S12 "\", \"pt_map\": {\"96\": 100, \"97\": 97}, \"seq_offset\": 1000, "
		"\"marker\": \"set\"");
	CU_ASSERT_EQUAL_FATAL(prov_parse(d, &p, &err), 0);
	{
		const struct prov_endpoint *a = &p.conferences[0].endpoints[0];
		const struct prov_endpoint *b = &p.conferences[0].endpoints[1];

		CU_ASSERT_TRUE(a->has_rx_next);
		CU_ASSERT_TRUE(a->rewrite);
		CU_ASSERT_EQUAL(a->pt_map[96], 100);
		CU_ASSERT_EQUAL(a->pt_map[97], 97);
		CU_ASSERT_EQUAL(a->pt_map[5], 5);
		CU_ASSERT_EQUAL(a->seq_offset, 1000);
		CU_ASSERT_EQUAL(a->marker, 1);
		/* no rewrite keys: identity, keep */
		CU_ASSERT_FALSE(b->has_rx_next);
		CU_ASSERT_FALSE(b->rewrite);
		CU_ASSERT_EQUAL(b->pt_map[96], 96);
		CU_ASSERT_EQUAL(b->marker, -1);
	}
	prov_free(&p);
	free(d);
	/* a map onto itself and "keep" are no rewrite at all */
	d = doc(15, "          \"max_streams\": 4, \"pt_map\": {\"96\": 96}, \"marker\": \"keep\"");
	CU_ASSERT_EQUAL_FATAL(prov_parse(d, &p, &err), 0);
	CU_ASSERT_FALSE(p.conferences[0].endpoints[0].rewrite);
	prov_free(&p);
	free(d);
}

/* A file on disk: loads, refusals name the path; a missing file names the
 * path and the errno text; an empty file; a directory. */
static void
test_load(void)
{
	char dir[] = "/tmp/test_provision.XXXXXX", path[128], want[256];
	struct prov p;
	struct prov_error err;
	char *d;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/prov.json", dir);

	d = doc(0, NULL);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(d, f);
	fclose(f);
	free(d);
	CU_ASSERT_EQUAL_FATAL(prov_load(path, &p, &err), 0);
	check_valid(&p, true);
	prov_free(&p);

	d = doc(10, "          \"rx_key\": \"000102030405060708090a0b0c0d0e\",");
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(d, f);
	fclose(f);
	free(d);
	CU_ASSERT_EQUAL(prov_load(path, &p, &err), -1);
	snprintf(want, sizeof(want), "%s:10:21: endpoint \"a\" of conference \"c1\": rx_key must", path);
	CU_ASSERT_EQUAL(strncmp(err.msg, want, strlen(want)), 0);
	CU_ASSERT_EQUAL(err.line, 10);
	CU_ASSERT_EQUAL(p.n_conferences, 0);

	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	CU_ASSERT_EQUAL(prov_load(path, &p, &err), -1);
	snprintf(want, sizeof(want), "%s: the file is empty", path);
	CU_ASSERT_EQUAL(strncmp(err.msg, want, strlen(want)), 0);
	CU_ASSERT_EQUAL(err.line, 0);

	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("{\"conferences\": [}", f);
	fclose(f);
	CU_ASSERT_EQUAL(prov_load(path, &p, &err), -1);
	snprintf(want, sizeof(want), "%s:1:18: JSON syntax error", path);
	CU_ASSERT_EQUAL(strncmp(err.msg, want, strlen(want)), 0);
	unlink(path);

	CU_ASSERT_EQUAL(prov_load(path, &p, &err), -1);
	snprintf(want, sizeof(want), "%s: cannot open: %s", path, strerror(ENOENT));
	CU_ASSERT_EQUAL(strncmp(err.msg, want, strlen(want)), 0);
	if (strncmp(err.msg, want, strlen(want)) != 0)
		printf("\n  %s\n", err.msg);
	CU_ASSERT_EQUAL(p.n_conferences, 0);

	CU_ASSERT_EQUAL(prov_load(dir, &p, &err), -1);
	snprintf(want, sizeof(want), "%s: cannot read: %s", dir, strerror(EISDIR));
	CU_ASSERT_EQUAL(strncmp(err.msg, want, strlen(want)), 0);
	rmdir(dir);
}

/* A long path cannot overflow the message; it ends in "..." instead. */
static void
test_long_message(void)
{
	char path[400];
	struct prov p;
	struct prov_error err;

	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = 0;
	CU_ASSERT_EQUAL(prov_load(path, &p, &err), -1);
	CU_ASSERT_EQUAL(strlen(err.msg), sizeof(err.msg) - 1);
	CU_ASSERT_STRING_EQUAL(err.msg + sizeof(err.msg) - 4, "...");
}

int
main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	T_SUITE("provision");
	T_ADD(test_valid);
	T_ADD(test_one_line_columns);
	T_ADD(test_message_exact);
	T_ADD(test_syntax);
	T_ADD(test_structure);
	T_ADD(test_unknown_keys);
	T_ADD(test_ids);
	T_ADD(test_addresses_in_file);
	T_ADD(test_parse_addr);
	T_ADD(test_profiles_and_keys);
	T_ADD(test_ssrcs);
	T_ADD(test_max_streams_and_ekt);
	T_ADD(test_rekey_and_rewrite);
	T_ADD(test_load);
	T_ADD(test_long_message);
	return t_run();
}
