/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-mdd's control plane without the EAL: the conference API's request
 * parser (every op, every refusal), ICE-lite credential and USERNAME rules,
 * consent expiry, RFC 7983 DTLS detection, UUID v4 ids and the tunnel's
 * reconnect backoff.
 */
#include "testutil.h"

#include "mdapi.h"

static int
parse(const char *s, struct mdd_api_req *r, char *err)
{
	return mdd_api_parse(s, strlen(s), r, err, 512);
}

static void
test_ops(void)
{
	struct mdd_api_req r;
	char err[512];

	CU_ASSERT_EQUAL(parse("{\"op\":\"conference_create\",\"id\":\"c1\"}", &r, err), 0);
	CU_ASSERT_EQUAL(r.op, MDD_API_CONF_CREATE);
	CU_ASSERT_STRING_EQUAL(r.conf, "c1");
	CU_ASSERT_EQUAL(r.max_endpoints, MDD_API_CONF_LEGS_DEFAULT);
	CU_ASSERT_EQUAL(parse("{\"op\":\"conference_create\",\"id\":\"c2\",\"max_endpoints\":100}",
			      &r, err), 0);
	CU_ASSERT_EQUAL(r.max_endpoints, 100);
	CU_ASSERT_EQUAL(parse("{\"op\":\"conference_delete\",\"id\":\"c1\"}", &r, err), 0);
	CU_ASSERT_EQUAL(r.op, MDD_API_CONF_DELETE);
	CU_ASSERT_EQUAL(parse("{\"op\":\"endpoint_add\",\"conference\":\"c1\",\"id\":\"a\","
			      "\"remote_ufrag\":\"abcd\"}", &r, err), 0);
	CU_ASSERT_EQUAL(r.op, MDD_API_EP_ADD);
	CU_ASSERT_STRING_EQUAL(r.conf, "c1");
	CU_ASSERT_STRING_EQUAL(r.id, "a");
	CU_ASSERT_STRING_EQUAL(r.remote_ufrag, "abcd");
	CU_ASSERT_STRING_EQUAL(r.ufrag, "");
	CU_ASSERT_EQUAL(parse("{\"op\":\"endpoint_add\",\"conference\":\"c1\",\"id\":\"a\","
			      "\"remote_ufrag\":\"abcd\",\"ufrag\":\"wxyz\","
			      "\"pwd\":\"0123456789012345678901\"}", &r, err), 0);
	CU_ASSERT_STRING_EQUAL(r.ufrag, "wxyz");
	CU_ASSERT_STRING_EQUAL(r.pwd, "0123456789012345678901");
	CU_ASSERT_EQUAL(parse("{\"op\":\"endpoint_remove\",\"conference\":\"c1\",\"id\":\"a\"}",
			      &r, err), 0);
	CU_ASSERT_EQUAL(r.op, MDD_API_EP_REMOVE);
	CU_ASSERT_EQUAL(parse("{\"op\":\"list\"}", &r, err), 0);
	CU_ASSERT_EQUAL(r.op, MDD_API_LIST);
	CU_ASSERT_EQUAL(parse("  {\"op\":\"stats\"}  ", &r, err), 0);
	CU_ASSERT_EQUAL(r.op, MDD_API_STATS);
	CU_ASSERT_STRING_EQUAL(mdd_api_op_name(MDD_API_EP_ADD), "endpoint_add");
}

/* Each refusal, and that the message names what was wrong. */
static void
test_refusals(void)
{
	static const struct {
		const char *req, *says;
	} bad[] = {
		{ "", "not JSON" },
		{ "not json", "not JSON" },
		{ "{\"op\":\"list\"", "not JSON" },
		{ "[1]", "JSON object" },
		{ "{}", "\"op\"" },
		{ "{\"op\":7}", "\"op\"" },
		{ "{\"op\":\"nope\"}", "unknown op" },
		{ "{\"op\":\"list\",\"x\":1}", "unknown field" },
		{ "{\"op\":\"list\",\"op\":\"stats\"}", "not JSON" },
		{ "{\"op\":\"conference_create\"}", "needs \"id\"" },
		{ "{\"op\":\"conference_create\",\"id\":5}", "must be a string" },
		{ "{\"op\":\"conference_create\",\"id\":\"\"}", "conference id" },
		{ "{\"op\":\"conference_create\",\"id\":\"a\\\"b\"}", "conference id" },
		{ "{\"op\":\"conference_create\",\"id\":\"a\\u0001\"}", "conference id" },
		{ "{\"op\":\"conference_create\",\"id\":\"0123456789012345678901234567890123456789"
		  "012345678901234567890123456789\"}", "longer" },
		{ "{\"op\":\"conference_create\",\"id\":\"c\",\"max_endpoints\":1}", "max_endpoints" },
		{ "{\"op\":\"conference_create\",\"id\":\"c\",\"max_endpoints\":1025}", "max_endpoints" },
		{ "{\"op\":\"conference_create\",\"id\":\"c\",\"max_endpoints\":\"9\"}", "max_endpoints" },
		{ "{\"op\":\"conference_delete\",\"id\":\"c\",\"max_endpoints\":9}", "unknown field" },
		{ "{\"op\":\"endpoint_add\",\"conference\":\"c1\"}", "needs \"id\"" },
		{ "{\"op\":\"endpoint_add\",\"conference\":\"c1\",\"id\":\"a\"}", "remote_ufrag" },
		{ "{\"op\":\"endpoint_add\",\"conference\":\"c1\",\"id\":\"a\",\"remote_ufrag\":\"ab\"}",
		  "remote_ufrag" },
		{ "{\"op\":\"endpoint_add\",\"conference\":\"c1\",\"id\":\"a\",\"remote_ufrag\":\"ab:cd\"}",
		  "remote_ufrag" },
		{ "{\"op\":\"endpoint_add\",\"conference\":\"c1\",\"id\":\"a\",\"remote_ufrag\":\"abcd\","
		  "\"ufrag\":\"wxyz\"}", "both" },
		{ "{\"op\":\"endpoint_add\",\"conference\":\"c1\",\"id\":\"a\",\"remote_ufrag\":\"abcd\","
		  "\"ufrag\":\"wxyz\",\"pwd\":\"short\"}", "pwd" },
		{ "{\"op\":\"endpoint_add\",\"conference\":\"c1\",\"id\":\"a\",\"remote_ufrag\":\"abcd\","
		  "\"ufrag\":\"w:z!\",\"pwd\":\"0123456789012345678901\"}", "ufrag" },
		{ "{\"op\":\"endpoint_remove\",\"id\":\"a\"}", "needs \"conference\"" },
	};
	struct mdd_api_req r;
	char err[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(parse(bad[i].req, &r, err), -1);
		if (strstr(err, bad[i].says) == NULL) {
			fprintf(stderr, "request %s: error '%s' lacks '%s'\n", bad[i].req, err,
				bad[i].says);
			CU_FAIL("error message");
		}
	}
	/* a line over the bound is refused before JSON parsing */
	{
		size_t n = MDD_API_MAX_LINE + 1;
		char *big = malloc(n);

		CU_ASSERT_PTR_NOT_NULL_FATAL(big);
		memset(big, ' ', n);
		CU_ASSERT_EQUAL(mdd_api_parse(big, n, &r, err, sizeof(err)), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "longer than"));
		free(big);
	}
}

static void
test_creds(void)
{
	char a[MDD_ICE_CRED_MAX + 1], b[MDD_ICE_CRED_MAX + 1];
	char big[300];

	CU_ASSERT_TRUE(mdd_ice_cred_ok("abcd", MDD_ICE_UFRAG_MIN));
	CU_ASSERT_TRUE(mdd_ice_cred_ok("a+/9", MDD_ICE_UFRAG_MIN));
	CU_ASSERT_FALSE(mdd_ice_cred_ok("abc", MDD_ICE_UFRAG_MIN));
	CU_ASSERT_FALSE(mdd_ice_cred_ok("ab-d", MDD_ICE_UFRAG_MIN));
	CU_ASSERT_FALSE(mdd_ice_cred_ok("ab d", MDD_ICE_UFRAG_MIN));
	memset(big, 'a', 257);
	big[257] = '\0';
	CU_ASSERT_FALSE(mdd_ice_cred_ok(big, MDD_ICE_UFRAG_MIN));
	big[256] = '\0';
	CU_ASSERT_TRUE(mdd_ice_cred_ok(big, MDD_ICE_UFRAG_MIN));
	CU_ASSERT_EQUAL(mdd_ice_cred_gen(a, MDD_ICE_PWD_GEN), 0);
	CU_ASSERT_EQUAL(strlen(a), MDD_ICE_PWD_GEN);
	CU_ASSERT_TRUE(mdd_ice_cred_ok(a, MDD_ICE_PWD_MIN));
	CU_ASSERT_EQUAL(mdd_ice_cred_gen(b, MDD_ICE_PWD_GEN), 0);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
}

static void
test_username(void)
{
	char l[MDD_ICE_CRED_MAX + 1], r[MDD_ICE_CRED_MAX + 1];
	uint8_t big[600];

	CU_ASSERT_EQUAL(mdd_ice_split_username((const uint8_t *)"mdd1:ep22", 9, l, r), 0);
	CU_ASSERT_STRING_EQUAL(l, "mdd1");
	CU_ASSERT_STRING_EQUAL(r, "ep22");
	CU_ASSERT_EQUAL(mdd_ice_split_username((const uint8_t *)"mdd1ep22", 8, l, r), -1);
	CU_ASSERT_EQUAL(mdd_ice_split_username((const uint8_t *)":ep22", 5, l, r), -1);
	CU_ASSERT_EQUAL(mdd_ice_split_username((const uint8_t *)"mdd1:", 5, l, r), -1);
	CU_ASSERT_EQUAL(mdd_ice_split_username((const uint8_t *)"md\0d:e", 6, l, r), -1);
	memset(big, 'a', sizeof(big));
	big[300] = ':';
	CU_ASSERT_EQUAL(mdd_ice_split_username(big, sizeof(big), l, r), -1);
	big[300] = 'a';
	big[100] = ':';
	CU_ASSERT_EQUAL(mdd_ice_split_username(big, 200, l, r), 0);
	CU_ASSERT_EQUAL(strlen(l), 100);
	CU_ASSERT_EQUAL(strlen(r), 99);
}

static void
test_timers_and_ids(void)
{
	uint8_t u[16], v[16];
	char s[37];
	uint32_t b = 0;

	CU_ASSERT_FALSE(mdd_ice_consent_expired(1000, 1000, 30000));
	CU_ASSERT_FALSE(mdd_ice_consent_expired(1000, 30999, 30000));
	CU_ASSERT_TRUE(mdd_ice_consent_expired(1000, 31000, 30000));
	/* a refresh "from the future" (clock read before) never expires */
	CU_ASSERT_FALSE(mdd_ice_consent_expired(5000, 4000, 100));

	CU_ASSERT_FALSE(mdd_is_dtls((const uint8_t *)"\x13", 1));
	CU_ASSERT_TRUE(mdd_is_dtls((const uint8_t *)"\x14", 1));
	CU_ASSERT_TRUE(mdd_is_dtls((const uint8_t *)"\x16", 1));
	CU_ASSERT_TRUE(mdd_is_dtls((const uint8_t *)"\x3f", 1));
	CU_ASSERT_FALSE(mdd_is_dtls((const uint8_t *)"\x40", 1));
	CU_ASSERT_FALSE(mdd_is_dtls((const uint8_t *)"", 0));

	CU_ASSERT_EQUAL(mdd_uuid_v4(u), 0);
	CU_ASSERT_EQUAL(mdd_uuid_v4(v), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(u, v, 16), 0);
	CU_ASSERT_EQUAL(u[6] >> 4, 4);
	CU_ASSERT_EQUAL(u[8] >> 6, 2);
	mdd_uuid_fmt(u, s);
	CU_ASSERT_EQUAL(strlen(s), 36);
	CU_ASSERT_EQUAL(s[8], '-');
	CU_ASSERT_EQUAL(s[14], '4');
	memset(u, 0xab, 16);
	CU_ASSERT_STRING_EQUAL(mdd_uuid_fmt(u, s), "abababab-abab-abab-abab-abababababab");

	b = mdd_backoff_next(0);
	CU_ASSERT_EQUAL(b, 100);
	CU_ASSERT_EQUAL(mdd_backoff_next(b), 200);
	for (int i = 0; i < 20; i++)
		b = mdd_backoff_next(b);
	CU_ASSERT_EQUAL(b, 5000);
	CU_ASSERT_EQUAL(mdd_backoff_next(3200), 5000);
}

/* Mutated valid requests (fixed seed): the parser answers 0, or -1 with a
 * message, never anything else (run under ASan to catch reads past the end). */
static void
test_mutations(void)
{
	static const char *const good[] = {
		"{\"op\":\"endpoint_add\",\"conference\":\"c1\",\"id\":\"a\","
		"\"remote_ufrag\":\"abcd\",\"ufrag\":\"wxyz\",\"pwd\":\"0123456789012345678901\"}",
		"{\"op\":\"conference_delete\",\"id\":\"c1\"}",
		"{\"op\":\"list\"}",
	};
	struct mdd_api_req r;
	char buf[256], err[512];
	unsigned seed = 12345, ok = 0, refused = 0;

	for (int it = 0; it < 20000; it++) {
		const char *g = good[it % 3];
		size_t n = strlen(g);
		int rc;

		memcpy(buf, g, n);
		for (int k = 0; k < 1 + it % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			buf[(seed >> 8) % n] = (char)(seed >> 20);
		}
		seed = seed * 1103515245u + 12345u;
		if (seed % 5 == 0)
			n = (seed >> 8) % n; /* cut short too */
		err[0] = '\0';
		rc = mdd_api_parse(buf, n, &r, err, sizeof(err));
		CU_ASSERT(rc == 0 || rc == -1);
		if (rc == 0)
			ok++;
		else if (err[0] != '\0')
			refused++;
		else
			CU_FAIL("refused without a message");
	}
	CU_ASSERT(ok > 0);
	CU_ASSERT(refused > 0);
}

/* A one-endpoint directory for mdd_ice_check: MDD ufrag "mddu", remote
 * ufrag "epuf", pwd below. */
static const char ep_pwd[] = "abcdefghijklmnopqrstuvwx";
static int ep_token;

static const char *
lookup(void *ctx, const char *local, const char *remote, void **ep)
{
	(void)ctx;
	if (strcmp(local, "mddu") != 0 || strcmp(remote, "epuf") != 0)
		return NULL;
	*ep = &ep_token;
	return ep_pwd;
}

static int
request(uint8_t *out, const char *mdd_ufrag, const char *ep_ufrag, const char *pwd)
{
	static const uint8_t tid[PERC_STUN_TID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	/* as the endpoint sends it: USERNAME "<MDD ufrag>:<its ufrag>" */
	struct perc_stun_request rq = {
		.remote_ufrag = mdd_ufrag, .local_ufrag = ep_ufrag, .priority = 1,
		.controlling = true, .tie_breaker = 42, .use_candidate = true,
	};

	return perc_stun_build_request(out, 512, tid, &rq, pwd, strlen(pwd));
}

static void
test_ice_check(void)
{
	uint8_t b[512];
	struct perc_stun_msg sm;
	void *ep;
	int n;

	n = request(b, "mddu", "epuf", ep_pwd);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(mdd_ice_check(b, (size_t)n, &sm, lookup, NULL, &ep), MDD_ICE_OK);
	CU_ASSERT_PTR_EQUAL(ep, &ep_token);
	CU_ASSERT_TRUE(sm.use_candidate);
	/* the wrong password: found, not authenticated */
	n = request(b, "mddu", "epuf", "abcdefghijklmnopqrstuvwy");
	CU_ASSERT_EQUAL(mdd_ice_check(b, (size_t)n, &sm, lookup, NULL, &ep), MDD_ICE_BAD_INTEGRITY);
	/* ufrags swapped, or unknown */
	n = request(b, "epuf", "mddu", ep_pwd);
	CU_ASSERT_EQUAL(mdd_ice_check(b, (size_t)n, &sm, lookup, NULL, &ep), MDD_ICE_UNKNOWN_USER);
	CU_ASSERT_PTR_NULL(ep);
	n = request(b, "mddx", "epuf", ep_pwd);
	CU_ASSERT_EQUAL(mdd_ice_check(b, (size_t)n, &sm, lookup, NULL, &ep), MDD_ICE_UNKNOWN_USER);
	/* a flipped bit in the body: integrity (or the FINGERPRINT) fails */
	n = request(b, "mddu", "epuf", ep_pwd);
	b[30] ^= 1;
	CU_ASSERT_NOT_EQUAL(mdd_ice_check(b, (size_t)n, &sm, lookup, NULL, &ep), MDD_ICE_OK);
	/* without FINGERPRINT (the integrity still verifies: it excludes it) */
	n = request(b, "mddu", "epuf", ep_pwd);
	n -= 8;
	b[2] = (uint8_t)((n - 20) >> 8);
	b[3] = (uint8_t)(n - 20);
	CU_ASSERT_EQUAL(mdd_ice_check(b, (size_t)n, &sm, lookup, NULL, &ep), MDD_ICE_NO_FINGERPRINT);
	/* a success response, a request without USERNAME, garbage */
	{
		static const uint8_t tid[PERC_STUN_TID_LEN] = { 0 };
		struct perc_stun_addr a = { .family = 4, .port = 1, .addr = { 192, 0, 2, 2 } };
		uint8_t bare[20] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42 };

		n = perc_stun_build_success(b, sizeof(b), tid, &a, ep_pwd, strlen(ep_pwd));
		CU_ASSERT_EQUAL(mdd_ice_check(b, (size_t)n, &sm, lookup, NULL, &ep), MDD_ICE_NOT_ICE);
		CU_ASSERT_EQUAL(mdd_ice_check(bare, sizeof(bare), &sm, lookup, NULL, &ep),
				MDD_ICE_NOT_ICE);
		bare[4] = 0;
		CU_ASSERT_EQUAL(mdd_ice_check(bare, sizeof(bare), &sm, lookup, NULL, &ep),
				MDD_ICE_MALFORMED);
		CU_ASSERT_EQUAL(mdd_ice_check(bare, 7, &sm, lookup, NULL, &ep), MDD_ICE_MALFORMED);
	}
	CU_ASSERT_STRING_EQUAL(mdd_ice_state_name(false, false), "waiting_ice");
	CU_ASSERT_STRING_EQUAL(mdd_ice_state_name(true, false), "ice_ok");
	CU_ASSERT_STRING_EQUAL(mdd_ice_state_name(true, true), "keyed");
}

int
main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	T_SUITE("mdapi");
	T_ADD(test_ops);
	T_ADD(test_refusals);
	T_ADD(test_creds);
	T_ADD(test_username);
	T_ADD(test_timers_and_ids);
	T_ADD(test_ice_check);
	T_ADD(test_mutations);
	return t_run();
}
