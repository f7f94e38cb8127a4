/* SPDX-License-Identifier: BSD-3-Clause */
/* perc-kd roster, rekey rules and roster API, without the network: the
 * roster's calls to the network side are recorded and checked. */
#include <jansson.h>

#include "kd.h"
#include "testutil.h"

#define LINK1 ((void *)0x1001)
#define LINK2 ((void *)0x1002)
#define LINK3 ((void *)0x1003)

struct call {
	char what;                 /* 'k' key, 's' step, 'd' drop */
	void *link;
	uint8_t key[16], salt[12];
	uint16_t spi;
	uint32_t ttl;
	struct perc_kd_roster r;
	uint16_t code;
};

static struct call calls[32];
static int n_calls;
static struct kd kd;

static void
rec_key(void *ctx, void *link, const uint8_t *key, size_t key_len, const uint8_t *salt,
	size_t salt_len, uint16_t spi, uint32_t ttl, const struct perc_kd_roster *r)
{
	struct call *c = &calls[n_calls++];

	(void)ctx;
	CU_ASSERT_EQUAL(key_len, 16);
	CU_ASSERT_EQUAL(salt_len, 12);
	c->what = 'k';
	c->link = link;
	memcpy(c->key, key, 16);
	memcpy(c->salt, salt, 12);
	c->spi = spi;
	c->ttl = ttl;
	c->r = *r;
}

static void
rec_step(void *ctx, void *link, uint16_t spi, const struct perc_kd_roster *r)
{
	struct call *c = &calls[n_calls++];

	(void)ctx;
	c->what = 's';
	c->link = link;
	c->spi = spi;
	c->r = *r;
}

static void
rec_drop(void *ctx, void *link, uint16_t code, const char *text)
{
	struct call *c = &calls[n_calls++];

	(void)ctx, (void)text;
	c->what = 'd';
	c->link = link;
	c->code = code;
}

static const uint8_t UUID[16] = { 1, 2, 3, 4, 5, 6, 0x40, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static void
setup(void)
{
	if (kd.arena.base != NULL)
		kd_fini(&kd);
	CU_ASSERT_FATAL(kd_init(&kd, 777) == 0);
	kd.ops.send_key = rec_key;
	kd.ops.send_step = rec_step;
	kd.ops.drop = rec_drop;
	n_calls = 0;
}

static void
fp_of(int n, uint8_t fp[32])
{
	memset(fp, n, 32);
}

static int
auth(const char *conf, const char *p, int n)
{
	uint8_t fp[32], id[20];
	char err[300];

	fp_of(n, fp);
	memset(id, n, sizeof(id));
	return kd_authorize(&kd, conf, p, fp, id, sizeof(id), err, sizeof(err));
}

static struct kd_entry *
entry(const char *conf, const char *p)
{
	struct kd_entry *e = kd_entry_find(&kd, conf, p);

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	return e;
}

static void
test_first_join(void)
{
	struct kd_conf *c;
	uint16_t spi0;

	setup();
	CU_ASSERT_EQUAL(auth("c1", "alice", 1), 0);
	c = kd_conf_find(&kd, "c1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	spi0 = c->spi;
	CU_ASSERT_FALSE(c->have_key);
	CU_ASSERT_EQUAL(kd_join(&kd, entry("c1", "alice"), LINK1, UUID), 0);
	CU_ASSERT_EQUAL_FATAL(n_calls, 1);
	CU_ASSERT_EQUAL(calls[0].what, 'k');
	CU_ASSERT_PTR_EQUAL(calls[0].link, LINK1);
	CU_ASSERT_EQUAL(calls[0].spi, (uint16_t)(spi0 + 1));
	CU_ASSERT_EQUAL(calls[0].ttl, 777);
	CU_ASSERT_EQUAL(calls[0].r.version, 1);
	CU_ASSERT_EQUAL(calls[0].r.n, 1);
	CU_ASSERT_STRING_EQUAL(calls[0].r.ids[0], "alice");
	CU_ASSERT_EQUAL(memcmp(calls[0].salt, c->salt, 12), 0);
	CU_ASSERT_EQUAL(kd.n_rekeys, 1);
	CU_ASSERT_STRING_EQUAL(kd.rekeys[0].cause, "join");
	CU_ASSERT_TRUE(c->have_key);
}

static void
test_join_step_and_leave(void)
{
	struct kd_conf *c;
	uint8_t k1[16], derived[16], k2[16];
	uint16_t spi1;

	setup();
	auth("c1", "alice", 1);
	auth("c1", "bob", 2);
	auth("c1", "carol", 3);
	kd_join(&kd, entry("c1", "alice"), LINK1, UUID);
	memcpy(k1, calls[0].key, 16);
	spi1 = calls[0].spi;
	n_calls = 0;
	kd_join(&kd, entry("c1", "bob"), LINK2, UUID);
	c = kd_conf_find(&kd, "c1");
	/* alice steps, bob gets the stepped key */
	CU_ASSERT_EQUAL_FATAL(n_calls, 2);
	CU_ASSERT_EQUAL(calls[0].what, 's');
	CU_ASSERT_PTR_EQUAL(calls[0].link, LINK1);
	CU_ASSERT_EQUAL(calls[1].what, 'k');
	CU_ASSERT_PTR_EQUAL(calls[1].link, LINK2);
	CU_ASSERT_EQUAL(calls[0].spi, (uint16_t)(spi1 + 1));
	CU_ASSERT_EQUAL(calls[1].spi, calls[0].spi);
	CU_ASSERT_EQUAL(calls[0].r.version, 2);
	CU_ASSERT_EQUAL(calls[0].r.n, 2);
	CU_ASSERT_EQUAL(perc_kd_step_key(k1, 16, calls[1].salt, 12, calls[0].spi,
					 calls[0].r.version, derived), 0);
	CU_ASSERT_EQUAL(memcmp(derived, calls[1].key, 16), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(k1, calls[1].key, 16), 0);
	memcpy(k2, calls[1].key, 16);
	/* bob leaves: alice alone gets a fresh key, new SPI */
	n_calls = 0;
	kd_leave(&kd, entry("c1", "bob"), "bye");
	CU_ASSERT_EQUAL_FATAL(n_calls, 1);
	CU_ASSERT_EQUAL(calls[0].what, 'k');
	CU_ASSERT_PTR_EQUAL(calls[0].link, LINK1);
	CU_ASSERT_EQUAL(calls[0].spi, (uint16_t)(spi1 + 2));
	CU_ASSERT_EQUAL(calls[0].r.version, 3);
	CU_ASSERT_EQUAL(calls[0].r.n, 1);
	CU_ASSERT_NOT_EQUAL(memcmp(calls[0].key, k2, 16), 0);
	/* not a step of the old key either */
	perc_kd_step_key(k2, 16, c->salt, 12, calls[0].spi, 3, derived);
	CU_ASSERT_NOT_EQUAL(memcmp(calls[0].key, derived, 16), 0);
	CU_ASSERT_EQUAL(kd.n_rekeys, 3);
	CU_ASSERT_STRING_EQUAL(kd.rekeys[2].cause, "leave");
	CU_ASSERT_STRING_EQUAL(kd.rekeys[2].participant, "bob");
	CU_ASSERT_EQUAL(kd.rekeys[2].spi, calls[0].spi);
	/* leaving twice does nothing */
	n_calls = 0;
	kd_leave(&kd, entry("c1", "bob"), "bye");
	CU_ASSERT_EQUAL(n_calls, 0);
	/* last member leaves: key erased, nobody to send to */
	kd_leave(&kd, entry("c1", "alice"), "timeout");
	CU_ASSERT_EQUAL(n_calls, 0);
	CU_ASSERT_FALSE(c->have_key);
	memset(derived, 0, 16);
	CU_ASSERT_EQUAL(memcmp(c->key, derived, 16), 0);
	CU_ASSERT_EQUAL(kd.n_rekeys, 3);
	/* a later join starts fresh: EKT_KEY, no step */
	kd_join(&kd, entry("c1", "carol"), LINK3, UUID);
	CU_ASSERT_EQUAL_FATAL(n_calls, 1);
	CU_ASSERT_EQUAL(calls[0].what, 'k');
	CU_ASSERT_EQUAL(calls[0].r.n, 1);
	CU_ASSERT_STRING_EQUAL(calls[0].r.ids[0], "carol");
}

static void
test_revoke(void)
{
	setup();
	auth("c1", "alice", 1);
	auth("c1", "bob", 2);
	auth("c2", "dave", 4);
	kd_join(&kd, entry("c1", "alice"), LINK1, UUID);
	kd_join(&kd, entry("c1", "bob"), LINK2, UUID);
	n_calls = 0;
	char err[300];
	CU_ASSERT_EQUAL(kd_revoke(&kd, "c1", "bob", err, sizeof(err)), 0);
	/* leave rekey to alice, then bob's association is dropped */
	CU_ASSERT_EQUAL_FATAL(n_calls, 2);
	CU_ASSERT_EQUAL(calls[0].what, 'k');
	CU_ASSERT_PTR_EQUAL(calls[0].link, LINK1);
	CU_ASSERT_EQUAL(calls[1].what, 'd');
	CU_ASSERT_PTR_EQUAL(calls[1].link, LINK2);
	CU_ASSERT_EQUAL(calls[1].code, PERC_KD_E_REMOVED);
	CU_ASSERT_PTR_NULL(kd_entry_find(&kd, "c1", "bob"));
	CU_ASSERT_EQUAL(kd_revoke(&kd, "c1", "bob", err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not authorized"));
	/* the last entry of a conference takes the conference with it */
	CU_ASSERT_EQUAL(kd_revoke(&kd, "c2", "dave", err, sizeof(err)), 0);
	CU_ASSERT_PTR_NULL(kd_conf_find(&kd, "c2"));
	CU_ASSERT_PTR_NOT_NULL(kd_conf_find(&kd, "c1"));
}

static void
test_authorize_rules(void)
{
	uint8_t fp[32], id[20], big[256];
	char err[300];
	struct kd_entry *e;

	setup();
	fp_of(1, fp);
	memset(id, 1, sizeof(id));
	memset(big, 7, sizeof(big));
	CU_ASSERT_EQUAL(kd_authorize(&kd, "c1", "alice", fp, id, 19, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "tls_id"));
	CU_ASSERT_EQUAL(kd_authorize(&kd, "c1", "alice", fp, big, 256, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(kd_authorize(&kd, "", "alice", fp, id, 20, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(kd_authorize(&kd, "c1", "", fp, id, 20, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(kd_authorize(&kd, "c1", "al\nice", fp, id, 20, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NULL(kd.confs);     /* nothing was created by refusals */
	CU_ASSERT_EQUAL(kd_authorize(&kd, "c1", "alice", fp, id, 20, err, sizeof(err)), 0);
	/* the same tls_id for someone else is refused */
	CU_ASSERT_EQUAL(kd_authorize(&kd, "c1", "bob", fp, id, 20, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "tls_id already"));
	/* re-announcing alice updates her */
	fp_of(9, fp);
	CU_ASSERT_EQUAL(kd_authorize(&kd, "c1", "alice", fp, id, 20, err, sizeof(err)), 0);
	e = entry("c1", "alice");
	CU_ASSERT_EQUAL(e->fp[0], 9);
	CU_ASSERT_PTR_EQUAL(kd_entry_by_tls_id(&kd, id, 20), e);
	CU_ASSERT_PTR_NULL(kd_entry_by_tls_id(&kd, id, 19));
	/* while connected, it cannot change */
	e->link = LINK1;
	CU_ASSERT_EQUAL(kd_authorize(&kd, "c1", "alice", fp, id, 20, err, sizeof(err)), -1);
	e->link = NULL;
}

static void
test_fp(void)
{
	uint8_t fp[32], back[32];
	char s[120];
	int i;

	for (i = 0; i < 32; i++)
		fp[i] = (uint8_t)(i * 7 + 0xa0);
	kd_fp_format(fp, s, sizeof(s));
	CU_ASSERT_EQUAL(strlen(s), 8 + 95);
	CU_ASSERT_EQUAL(strncmp(s, "sha-256 A0:A7:", 14), 0);
	CU_ASSERT_EQUAL(kd_fp_parse(s, back), 0);
	CU_ASSERT_EQUAL(memcmp(fp, back, 32), 0);
	for (i = 0; s[i]; i++)
		if (s[i] >= 'A' && s[i] <= 'F')
			s[i] = (char)(s[i] + 32);
	CU_ASSERT_EQUAL(kd_fp_parse(s, back), 0);
	s[strlen(s) - 3] = '\0';
	CU_ASSERT_EQUAL(kd_fp_parse(s, back), -1);
	CU_ASSERT_EQUAL(kd_fp_parse("sha-1 00", back), -1);
	CU_ASSERT_EQUAL(kd_fp_parse("sha-256 ZZ", back), -1);
}

/* the key arena is excluded from core dumps: the kernel says "dd" for it */
static void
test_arena_dontdump(void)
{
	char line[512], want[64];
	FILE *f;
	bool in = false, dd = false;

	setup();
	snprintf(want, sizeof(want), "%lx-", (unsigned long)kd.arena.base);
	f = fopen("/proc/self/smaps", "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, want, strlen(want)) == 0)
			in = true;
		else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			dd = strstr(line, " dd") != NULL;
			break;
		}
	}
	fclose(f);
	CU_ASSERT_TRUE(in);
	CU_ASSERT_TRUE(dd);
	/* freed slots are zero */
	uint8_t *s = kd_arena_alloc(&kd);
	memset(s, 0xab, KD_SLOT);
	kd_arena_free(&kd, s);
	for (unsigned i = 0; i < KD_SLOT; i++)
		CU_ASSERT_EQUAL_FATAL(s[i], 0);
}

/* ---- API ---- */

static json_t *
api(const char *req)
{
	char *r = kd_api_handle(&kd, req, strlen(req));
	json_t *j;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_PTR_NULL(strchr(r, '\n'));
	j = json_loads(r, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	free(r);
	return j;
}

static bool
api_ok(const char *req)
{
	json_t *j = api(req);
	bool ok = json_is_true(json_object_get(j, "ok"));

	if (!ok)
		CU_ASSERT_TRUE(json_is_string(json_object_get(j, "error")));
	json_decref(j);
	return ok;
}

#define FP "sha-256 01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01"
#define TID "0101010101010101010101010101010101010101"

static void
test_api(void)
{
	json_t *j, *c, *m, *r;

	setup();
	CU_ASSERT_FALSE(api_ok("not json"));
	CU_ASSERT_FALSE(api_ok("[1,2]"));
	CU_ASSERT_FALSE(api_ok("{}"));
	CU_ASSERT_FALSE(api_ok("{\"op\":\"format_disk\"}"));
	CU_ASSERT_FALSE(api_ok("{\"op\":7}"));
	CU_ASSERT_FALSE(api_ok("{\"op\":\"authorize\"}"));
	CU_ASSERT_FALSE(api_ok("{\"op\":\"authorize\",\"conference\":7,\"participant\":[]}"));
	CU_ASSERT_FALSE(api_ok("{\"op\":\"authorize\",\"conference\":\"c1\",\"participant\":\"a\","
			       "\"fingerprint\":\"sha-256 01\",\"tls_id\":\"" TID "\"}"));
	CU_ASSERT_FALSE(api_ok("{\"op\":\"authorize\",\"conference\":\"c1\",\"participant\":\"a\","
			       "\"fingerprint\":\"" FP "\",\"tls_id\":\"0101\"}"));
	CU_ASSERT_FALSE(api_ok("{\"op\":\"authorize\",\"conference\":\"c1\",\"participant\":\"a\","
			       "\"fingerprint\":\"" FP "\",\"tls_id\":\"" TID "0\"}"));
	CU_ASSERT_FALSE(api_ok("{\"op\":\"authorize\",\"conference\":\"c1\",\"participant\":\"a\","
			       "\"fingerprint\":\"" FP "\",\"tls_id\":\"zz" TID "\"}"));
	CU_ASSERT_FALSE(api_ok("{\"op\":\"list\",\"op\":\"list\"}"));   /* duplicate key */
	CU_ASSERT_TRUE(api_ok("{\"op\":\"authorize\",\"conference\":\"c1\",\"participant\":\"alice\","
			      "\"fingerprint\":\"" FP "\",\"tls_id\":\"" TID "\"}"));
	CU_ASSERT_FALSE(api_ok("{\"op\":\"revoke\",\"conference\":\"c1\",\"participant\":\"nobody\"}"));
	kd_join(&kd, entry("c1", "alice"), LINK1, UUID);

	j = api("{\"op\":\"list\"}");
	c = json_array_get(json_object_get(j, "conferences"), 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(c, "conference")), "c1");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(c, "spi")), calls[0].spi);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(c, "roster_version")), 1);
	m = json_array_get(json_object_get(c, "members"), 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "participant")), "alice");
	CU_ASSERT_TRUE(json_is_true(json_object_get(m, "joined")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "association")),
			       "01020304-0506-4008-090a-0b0c0d0e0f10");
	json_decref(j);

	j = api("{\"op\":\"rekeys\"}");
	r = json_array_get(json_object_get(j, "rekeys"), 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "cause")), "join");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "participant")), "alice");
	CU_ASSERT_TRUE(json_integer_value(json_object_get(r, "time_ms")) > 1600000000000LL);
	json_decref(j);

	j = api("{\"op\":\"stats\"}");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "rekeys")), 1);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(j, "errors"),
							   "api_malformed")), 12);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(j, "errors"),
							   "api_refused")), 1);
	CU_ASSERT_PTR_NOT_NULL(json_object_get(json_object_get(j, "tokens_refused"), "expired"));
	json_decref(j);

	/* revoke through the API drops the association */
	n_calls = 0;
	CU_ASSERT_TRUE(api_ok("{\"op\":\"revoke\",\"conference\":\"c1\",\"participant\":\"alice\"}"));
	CU_ASSERT_EQUAL(n_calls, 1);
	CU_ASSERT_EQUAL(calls[0].what, 'd');
	j = api("{\"op\":\"list\"}");
	CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "conferences")), 0);
	json_decref(j);
}

int
main(void)
{
	CU_pSuite s;
	unsigned int fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("kd_state", NULL, NULL);
	CU_add_test(s, "first join: fresh key, EKT_KEY", test_first_join);
	CU_add_test(s, "join steps, leave takes a fresh key", test_join_step_and_leave);
	CU_add_test(s, "revoke drops and rekeys", test_revoke);
	CU_add_test(s, "authorize checks", test_authorize_rules);
	CU_add_test(s, "fingerprint text", test_fp);
	CU_add_test(s, "key arena out of core dumps", test_arena_dontdump);
	CU_add_test(s, "roster API", test_api);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	kd_fini(&kd);
	CU_cleanup_registry();
	return fails == 0 ? 0 : 1;
}
