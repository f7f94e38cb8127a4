/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-kd roster and rekey rules.
 *
 * A conference exists while call processing has authorized someone in it.
 * Its members are the authorized participants whose endpoint finished the
 * handshake and showed a valid token; they hold the current EKT key.
 * - join: the first member gets a fresh random key; a later joiner makes
 *   the key step one-way (perc_kd_step_key) so the joiner cannot read what
 *   was sent before it came, and the others step with it (EKT_STEP).
 * - leave: a fresh random key for the remaining members, so the one who
 *   left cannot read what comes after.
 * Every key change takes a new SPI; every membership change a new roster
 * version.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "kd.h"

struct kd_live kd_live;

uint64_t
kd_time_ms(const struct kd *kd)
{
	struct timespec ts;

	if (kd != NULL && kd->now_ms != NULL)
		return kd->now_ms();
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int
kd_random(struct kd *kd, uint8_t *buf, size_t n)
{
	if (kd->rand != NULL)
		return kd->rand(buf, n);
	return RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

void
kd_log(const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char stamp[40];
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ perc-kd: ", stamp, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

void
kd_event(struct kd *kd, const char *event, const char *conf, const char *participant,
	 long spi, const char *cause, long long version, const char *reason)
{
	json_t *o;
	char *line;

	if (kd->events == NULL)
		return;
	o = json_pack("{s:I, s:s}", "time_ms", (json_int_t)kd_time_ms(kd), "event", event);
	if (o == NULL)
		return;
	json_object_set_new(o, "conference", str_or_null(conf));
	json_object_set_new(o, "participant", str_or_null(participant));
	json_object_set_new(o, "spi", spi >= 0 ? json_integer(spi) : json_null());
	json_object_set_new(o, "cause", str_or_null(cause));
	json_object_set_new(o, "roster_version", version >= 0 ? json_integer(version) : json_null());
	json_object_set_new(o, "reason", str_or_null(reason));
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (line == NULL)
		return;
	fprintf(kd->events, "%s\n", line);
	fflush(kd->events);
	free(line);
}

/* ---- key arena ---- */

static int
arena_init(struct kd_arena *a)
{
	a->size = (size_t)KD_SLOT * KD_ARENA_SLOTS;
	a->base = mmap(NULL, a->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a->base == MAP_FAILED) {
		a->base = NULL;
		kd_log("cannot map %zu bytes of key memory: %s; free memory and retry",
		       a->size, strerror(errno));
		return -1;
	}
	/* keys stay out of core dumps (requirement C); a failure here is fatal
	 * because the property is promised */
	if (madvise(a->base, a->size, MADV_DONTDUMP) != 0) {
		kd_log("madvise(MADV_DONTDUMP) on the key arena failed: %s; a kernel >= 3.4 is needed",
		       strerror(errno));
		munmap(a->base, a->size);
		a->base = NULL;
		return -1;
	}
	/* locking only keeps keys out of swap: best effort */
	if (mlock(a->base, a->size) != 0)
		kd_log("warning: mlock of the %zu-byte key arena failed (%s): keys may be swapped; "
		       "raise RLIMIT_MEMLOCK (ulimit -l) to lock them", a->size, strerror(errno));
	memset(a->used, 0, sizeof(a->used));
	return 0;
}

uint8_t *
kd_arena_alloc(struct kd *kd)
{
	struct kd_arena *a = &kd->arena;
	size_t i;

	for (i = 0; i < KD_ARENA_SLOTS; i++) {
		if (!a->used[i]) {
			a->used[i] = 1;
			return a->base + i * KD_SLOT;
		}
	}
	return NULL;
}

void
kd_arena_free(struct kd *kd, uint8_t *slot)
{
	struct kd_arena *a = &kd->arena;
	size_t i;

	if (slot == NULL)
		return;
	i = (size_t)(slot - a->base) / KD_SLOT;
	OPENSSL_cleanse(slot, KD_SLOT);
	if (i < KD_ARENA_SLOTS)
		a->used[i] = 0;
}

int
kd_init(struct kd *kd, uint32_t ekt_ttl)
{
	memset(kd, 0, sizeof(*kd));
	kd->ekt_ttl = ekt_ttl;
	kd->rekeys = calloc(KD_REKEY_LOG, sizeof(*kd->rekeys));
	if (kd->rekeys == NULL)
		return -1;
	if (arena_init(&kd->arena) != 0) {
		free(kd->rekeys);
		kd->rekeys = NULL;
		return -1;
	}
	return 0;
}

static void conf_destroy(struct kd *kd, struct kd_conf *c);

void
kd_fini(struct kd *kd)
{
	while (kd->confs != NULL)
		conf_destroy(kd, kd->confs);
	if (kd->arena.base != NULL) {
		OPENSSL_cleanse(kd->arena.base, kd->arena.size);
		munmap(kd->arena.base, kd->arena.size);
		kd->arena.base = NULL;
	}
	free(kd->rekeys);
	kd->rekeys = NULL;
}

/* ---- helpers ---- */

void
kd_fp_format(const uint8_t fp[32], char *out, size_t cap)
{
	size_t o;
	int i;

	o = (size_t)snprintf(out, cap, "sha-256 ");
	for (i = 0; i < 32 && o + 3 < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, i ? ":%02X" : "%02X", fp[i]);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
kd_fp_parse(const char *s, uint8_t fp[32])
{
	int i, hi, lo;

	if (strncasecmp(s, "sha-256 ", 8) != 0)
		return -1;
	s += 8;
	for (i = 0; i < 32; i++) {
		hi = hexval((unsigned char)s[0]);
		lo = hi < 0 ? -1 : hexval((unsigned char)s[1]);
		if (lo < 0)
			return -1;
		fp[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i < 31 && *s++ != ':')
			return -1;
	}
	return *s == '\0' ? 0 : -1;
}

void
kd_uuid_format(const uint8_t u[16], char *out, size_t cap)
{
	snprintf(out, cap, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		 u[12], u[13], u[14], u[15]);
}

/* ---- roster ---- */

struct kd_conf *
kd_conf_find(struct kd *kd, const char *name)
{
	struct kd_conf *c;

	for (c = kd->confs; c != NULL; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

struct kd_entry *
kd_entry_find(struct kd *kd, const char *conf, const char *participant)
{
	struct kd_conf *c = kd_conf_find(kd, conf);
	struct kd_entry *e;

	if (c == NULL)
		return NULL;
	for (e = c->entries; e != NULL; e = e->next)
		if (strcmp(e->participant, participant) == 0)
			return e;
	return NULL;
}

struct kd_entry *
kd_entry_by_tls_id(struct kd *kd, const uint8_t *id, size_t len)
{
	struct kd_conf *c;
	struct kd_entry *e;

	for (c = kd->confs; c != NULL; c = c->next)
		for (e = c->entries; e != NULL; e = e->next)
			if (e->tls_id_len == len && CRYPTO_memcmp(e->tls_id, id, len) == 0)
				return e;
	return NULL;
}

void
kd_roster(const struct kd_conf *c, struct perc_kd_roster *r)
{
	const struct kd_entry *e;

	memset(r, 0, sizeof(*r));
	r->version = c->version;
	for (e = c->entries; e != NULL && r->n < PERC_KD_MAX_ROSTER; e = e->next) {
		if (!e->joined)
			continue;
		snprintf(r->ids[r->n], PERC_KD_MAX_ID, "%s", e->participant);
		r->n++;
	}
}

static struct kd_conf *
conf_create(struct kd *kd, const char *name, char *err, size_t errcap)
{
	struct kd_conf *c = calloc(1, sizeof(*c));
	uint8_t spi[2];

	if (c == NULL) {
		snprintf(err, errcap, "out of memory creating conference %s", name);
		return NULL;
	}
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->key = kd_arena_alloc(kd);
	c->salt = c->key != NULL ? c->key + 32 : NULL;
	if (c->key == NULL || kd_random(kd, c->salt, KD_SALT_LEN) != 0 ||
	    kd_random(kd, spi, sizeof(spi)) != 0) {
		snprintf(err, errcap, "no key memory or randomness for conference %s; "
			 "revoke unused conferences", name);
		kd_arena_free(kd, c->key);
		free(c);
		return NULL;
	}
	/* the first key takes spi + 1: start anywhere in 1..0x7fff */
	c->spi = (uint16_t)(((spi[0] << 8 | spi[1]) & 0x7ffe));
	c->next = kd->confs;
	kd->confs = c;
	return c;
}

static void
conf_destroy(struct kd *kd, struct kd_conf *c)
{
	struct kd_conf **pp;
	struct kd_entry *e, *n;

	for (pp = &kd->confs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	for (e = c->entries; e != NULL; e = n) {
		n = e->next;
		OPENSSL_cleanse(e, sizeof(*e));
		free(e);
	}
	kd_arena_free(kd, c->key);    /* key and salt: zeroized there */
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

/* Ids go into logs and into the roster on the wire: printable text only. */
static bool
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int
kd_authorize(struct kd *kd, const char *conf, const char *participant, const uint8_t fp[32],
	     const uint8_t *tls_id, size_t tls_id_len, char *err, size_t errcap)
{
	struct kd_entry *e, *other, **pp;
	struct kd_conf *c;

	if (conf[0] == '\0' || strlen(conf) >= KD_MAX_CONF_NAME) {
		snprintf(err, errcap, "conference must be 1..%u bytes", KD_MAX_CONF_NAME - 1);
		return -1;
	}
	if (participant[0] == '\0' || strlen(participant) >= PERC_KD_MAX_ID) {
		snprintf(err, errcap, "participant must be 1..%u bytes", PERC_KD_MAX_ID - 1);
		return -1;
	}
	if (!printable(conf) || !printable(participant)) {
		snprintf(err, errcap, "conference and participant must be printable text "
			 "(no control characters)");
		return -1;
	}
	if (tls_id_len < KD_MIN_TLS_ID || tls_id_len > KD_MAX_TLS_ID) {
		snprintf(err, errcap, "tls_id must be %u..%u bytes (hex), got %zu",
			 KD_MIN_TLS_ID, KD_MAX_TLS_ID, tls_id_len);
		return -1;
	}
	e = kd_entry_find(kd, conf, participant);
	other = kd_entry_by_tls_id(kd, tls_id, tls_id_len);
	if (other != NULL && other != e) {
		snprintf(err, errcap, "tls_id already announced for %s in %s; use a fresh tls_id",
			 other->participant, other->conf->name);
		return -1;
	}
	if (e != NULL) {
		if (e->link != NULL) {
			snprintf(err, errcap, "%s is connected to %s; revoke it first to change "
				 "its fingerprint or tls_id", participant, conf);
			return -1;
		}
		memcpy(e->fp, fp, 32);
		memcpy(e->tls_id, tls_id, tls_id_len);
		e->tls_id_len = (uint8_t)tls_id_len;
		kd_event(kd, "authorize", conf, participant, -1, "update", -1, NULL);
		return 0;
	}
	c = kd_conf_find(kd, conf);
	if (c == NULL && (c = conf_create(kd, conf, err, errcap)) == NULL)
		return -1;
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		snprintf(err, errcap, "out of memory");
		if (c->entries == NULL)
			conf_destroy(kd, c);
		return -1;
	}
	e->conf = c;
	snprintf(e->participant, sizeof(e->participant), "%s", participant);
	memcpy(e->fp, fp, 32);
	memcpy(e->tls_id, tls_id, tls_id_len);
	e->tls_id_len = (uint8_t)tls_id_len;
	/* append: the roster lists members in announcement order */
	for (pp = &c->entries; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = e;
	kd_log("authorized %s in %s", participant, conf);
	kd_event(kd, "authorize", conf, participant, -1, NULL, -1, NULL);
	return 0;
}

static uint16_t
next_spi(uint16_t spi)
{
	spi++;
	return spi == 0 ? 1 : spi;
}

static void
record_rekey(struct kd *kd, struct kd_conf *c, const char *cause, const char *participant)
{
	struct kd_rekey *r = &kd->rekeys[kd->n_rekeys % KD_REKEY_LOG];

	snprintf(r->conf, sizeof(r->conf), "%s", c->name);
	snprintf(r->participant, sizeof(r->participant), "%s", participant);
	r->cause = cause;
	r->spi = c->spi;
	r->version = c->version;
	r->time_ms = kd_time_ms(kd);
	kd->n_rekeys++;
	kd->stats.rekeys++;
	kd_log("rekey in %s (%s %s): spi %u, roster version %u, %u member(s)",
	       c->name, cause, participant, c->spi, c->version, c->n_members);
	kd_event(kd, "rekey", c->name, participant, c->spi, cause, c->version, NULL);
}

static void
send_key_to(struct kd *kd, struct kd_conf *c, struct kd_entry *e, const struct perc_kd_roster *r)
{
	kd->ops.send_key(kd->ops.ctx, e->link, c->key, KD_EKT_KEY_LEN, c->salt, KD_SALT_LEN,
			 c->spi, kd->ekt_ttl, r);
}

int
kd_join(struct kd *kd, struct kd_entry *e, void *link, const uint8_t uuid[16])
{
	struct kd_conf *c = e->conf;
	struct perc_kd_roster r;
	struct kd_entry *m;
	uint8_t *next;
	bool step = c->have_key && c->n_members > 0;

	if (e->joined)
		return 0;
	next = c->key + 64;   /* scratch half of the conference's slot */
	c->version++;
	c->spi = next_spi(c->spi);
	if (step && perc_kd_step_key(c->key, KD_EKT_KEY_LEN, c->salt, KD_SALT_LEN, c->spi,
				     c->version, next) == 0) {
		memcpy(c->key, next, KD_EKT_KEY_LEN);
		OPENSSL_cleanse(next, KD_EKT_KEY_LEN);
	} else {
		/* a failed step must not leave members on a key the joiner could
		 * not have: everyone gets a fresh key instead */
		if (step)
			kd_log("key step failed in %s: sending a fresh key to every member", c->name);
		OPENSSL_cleanse(next, KD_EKT_KEY_LEN);
		step = false;
		if (kd_random(kd, c->key, KD_EKT_KEY_LEN) != 0) {
			kd_log("no randomness for the EKT key of %s: join of %s refused",
			       c->name, e->participant);
			return -1;
		}
	}
	c->have_key = true;
	e->joined = true;
	e->link = link;
	memcpy(e->uuid, uuid, 16);
	e->joined_ms = kd_time_ms(kd);
	e->acked_spi = 0;
	c->n_members++;
	kd->stats.joins++;
	kd_roster(c, &r);
	kd_log("join: %s in %s (%u member(s))", e->participant, c->name, c->n_members);
	kd_event(kd, "join", c->name, e->participant, c->spi, NULL, c->version, NULL);
	for (m = c->entries; m != NULL; m = m->next) {
		if (!m->joined)
			continue;
		if (m == e || !step)
			send_key_to(kd, c, m, &r);
		else
			kd->ops.send_step(kd->ops.ctx, m->link, c->spi, &r);
	}
	record_rekey(kd, c, "join", e->participant);
	return 0;
}

void
kd_leave(struct kd *kd, struct kd_entry *e, const char *why)
{
	struct kd_conf *c = e->conf;
	struct perc_kd_roster r;
	struct kd_entry *m;

	if (!e->joined)
		return;
	e->joined = false;
	e->link = NULL;
	c->n_members--;
	c->version++;
	kd->stats.leaves++;
	kd_log("leave: %s from %s (%s), %u member(s) remain", e->participant, c->name, why,
	       c->n_members);
	kd_event(kd, "leave", c->name, e->participant, -1, NULL, c->version, why);
	if (c->n_members == 0 || kd->stopping) {
		/* nobody holds the key any more: it ends here */
		OPENSSL_cleanse(c->key, KD_EKT_KEY_LEN);
		c->have_key = false;
		return;
	}
	c->spi = next_spi(c->spi);
	if (kd_random(kd, c->key, KD_EKT_KEY_LEN) != 0) {
		/* without a fresh key the leaver could keep reading: drop the key */
		kd_log("no randomness for the leave rekey of %s: key withdrawn", c->name);
		OPENSSL_cleanse(c->key, KD_EKT_KEY_LEN);
		c->have_key = false;
		return;
	}
	kd_roster(c, &r);
	for (m = c->entries; m != NULL; m = m->next)
		if (m->joined)
			send_key_to(kd, c, m, &r);
	record_rekey(kd, c, "leave", e->participant);
}

int
kd_revoke(struct kd *kd, const char *conf, const char *participant, char *err, size_t errcap)
{
	struct kd_entry *e = kd_entry_find(kd, conf, participant), **pp;
	struct kd_conf *c;
	void *link;

	if (e == NULL) {
		snprintf(err, errcap, "%s is not authorized in %s; see {\"op\":\"list\"}",
			 participant, conf);
		return -1;
	}
	c = e->conf;
	link = e->link;
	kd_leave(kd, e, "revoked");
	e->link = NULL;
	if (link != NULL)
		kd->ops.drop(kd->ops.ctx, link, PERC_KD_E_REMOVED,
			     "removed from the conference by call processing (revoked)");
	for (pp = &c->entries; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	kd_log("revoked %s in %s", participant, conf);
	kd_event(kd, "revoke", conf, participant, -1, NULL, c->version, NULL);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
	if (c->entries == NULL) {
		kd_log("conference %s has nobody authorized: its keys are erased", conf);
		conf_destroy(kd, c);
	}
	return 0;
}
