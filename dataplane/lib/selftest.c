/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Self-test: every crypto path against the embedded known-answer data.
 * Used by `perc-srtp selftest`, by the test suite on every ipsec-mb
 * architecture, and at start-up by programs that want to refuse a broken
 * crypto library.
 */
#include <stdlib.h>
#include <string.h>

#include "perc/double.h"
#include "perc/ekt.h"
#include "perc/kat.h"
#include "perc/kdf.h"
#include "perc/tunnel.h"

#define BUF 2048
#define MAX_SECS 32

struct st {
	FILE *log;
	int fails;
	int cases;
	struct perc_engine *e;
};

static void
report(struct st *t, const char *file, const char *sec, const char *what, bool ok)
{
	t->cases++;
	if (!ok)
		t->fails++;
	if (t->log != NULL)
		fprintf(t->log, "%-4s %s [%s] %s\n", ok ? "ok" : "FAIL", file, sec, what);
}

/* hex value of key in s, decoded into out; -1 when absent or bad */
static long
get_hex(const struct perc_kat_section *s, const char *key, uint8_t *out, size_t cap)
{
	const char *v = perc_kat_get(s, key);

	return v == NULL ? -1 : perc_hex_decode(v, out, cap);
}

static long
get_num(const struct perc_kat_section *s, const char *key, long dflt)
{
	const char *v = perc_kat_get(s, key);

	if (v == NULL || strcmp(v, "-") == 0)
		return dflt;
	return strtol(v, NULL, 0);
}

/* Load and parse one embedded file into a private copy. */
static int
load(const char *name, char **text, struct perc_kat_section *secs)
{
	const char *src = perc_kat_text(name);

	*text = NULL;
	if (src == NULL)
		return -1;
	*text = strdup(src);
	if (*text == NULL)
		return -1;
	return perc_kat_parse(*text, secs, MAX_SECS);
}

static void
kat_kdf(struct st *t)
{
	struct perc_kat_section secs[MAX_SECS];
	char *text;
	int n = load("rfc3711_kdf.txt", &text, secs);

	for (int i = 0; i < n; i++) {
		uint8_t mk[32], ms[14], want[32], got[32];
		static const struct {
			const char *key;
			uint8_t label;
		} outs[] = { { "rtp_cipher_key", PERC_LABEL_RTP_ENC },
			     { "rtp_cipher_salt", PERC_LABEL_RTP_SALT },
			     { "rtp_auth_key", PERC_LABEL_RTP_AUTH } };
		long kl = get_hex(&secs[i], "master_key", mk, sizeof(mk));
		long sl = get_hex(&secs[i], "master_salt", ms, sizeof(ms));

		for (unsigned j = 0; j < sizeof(outs) / sizeof(outs[0]); j++) {
			long wl = get_hex(&secs[i], outs[j].key, want, sizeof(want));
			bool ok = kl > 0 && sl > 0 && wl > 0 &&
				  perc_kdf(mk, (size_t)kl, ms, (size_t)sl, outs[j].label, got,
					   (size_t)wl) == 0 &&
				  memcmp(got, want, (size_t)wl) == 0;

			report(t, "rfc3711_kdf", secs[i].name, outs[j].key, ok);
		}
	}
	if (n <= 0)
		report(t, "rfc3711_kdf", "-", "file parses", false);
	free(text);
}

static bool
run_op(struct st *t, const struct perc_key *k, uint8_t type, uint8_t flags, uint64_t index,
       const uint8_t *in, size_t in_len, const uint8_t *want, size_t want_len)
{
	uint8_t src[BUF], dst[BUF];
	struct perc_op op = {
		.key = k, .src = src, .dst = dst, .len = (uint32_t)in_len, .cap = BUF,
		.type = type, .flags = (uint8_t)(PERC_OPF_INDEX | flags), .index = index,
	};

	memcpy(src, in, in_len);
	if (perc_engine_run1(t->e, &op) != PERC_R_OK)
		return false;
	return op.len == want_len && memcmp(dst, want, want_len) == 0;
}

static void
kat_rfc7714(struct st *t)
{
	struct perc_kat_section secs[MAX_SECS];
	char *text;
	int n = load("rfc7714.txt", &text, secs);

	for (int i = 0; i < n; i++) {
		struct perc_kat_section *s = &secs[i];
		uint8_t key[32], salt[12], plain[BUF], prot[BUF];
		long kl = get_hex(s, "session_key", key, sizeof(key));
		long pl = get_hex(s, "plain", plain, sizeof(plain));
		long cl = get_hex(s, "protected", prot, sizeof(prot));
		long idx = get_num(s, "srtcp_index", 0);
		const struct perc_profile *p =
			perc_profile_by_id(kl == 32 ? PERC_AEAD_AES_256_GCM : PERC_AEAD_AES_128_GCM);
		struct perc_key *k = aligned_alloc(64, sizeof(*k));
		bool ok = false;

		if (k == NULL || get_hex(s, "session_salt", salt, sizeof(salt)) != 12 || pl < 0 ||
		    cl < 0 ||
		    perc_key_init_session(k, t->e, p, key, salt, NULL, key, salt, NULL) != PERC_R_OK) {
			report(t, "rfc7714", s->name, "key set-up", false);
			free(k);
			continue;
		}
		if (strstr(s->name, "rtp-enc") != NULL) {
			ok = run_op(t, k, PERC_OP_RTP_PROTECT, 0, 0, plain, (size_t)pl, prot, (size_t)cl);
			report(t, "rfc7714", s->name, "protect", ok);
			ok = run_op(t, k, PERC_OP_RTP_UNPROTECT, 0, 0, prot, (size_t)cl, plain, (size_t)pl);
			report(t, "rfc7714", s->name, "unprotect", ok);
		} else if (strstr(s->name, "rtp-auth-only") != NULL) {
			uint8_t iv[12], tag[16];
			uint32_t ssrc = (uint32_t)plain[8] << 24 | plain[9] << 16 | plain[10] << 8 | plain[11];
			uint16_t seq = (uint16_t)(plain[2] << 8 | plain[3]);

			/* RFC 7714 §8.2 mode with the whole packet as AAD: bare GCM */
			for (int b = 0; b < 12; b++)
				iv[b] = salt[b];
			iv[2] ^= (uint8_t)(ssrc >> 24);
			iv[3] ^= (uint8_t)(ssrc >> 16);
			iv[4] ^= (uint8_t)(ssrc >> 8);
			iv[5] ^= (uint8_t)ssrc;
			iv[10] ^= (uint8_t)(seq >> 8);
			iv[11] ^= (uint8_t)seq;
			perc_engine_gcm(t->e, &k->u.gcm.rtp, (unsigned)kl, true, iv, plain, (size_t)pl,
					NULL, NULL, 0, tag);
			ok = cl == pl + 16 && memcmp(prot, plain, (size_t)pl) == 0 &&
			     memcmp(tag, prot + pl, 16) == 0;
			report(t, "rfc7714", s->name, "gmac tag", ok);
			ok = perc_engine_gcm(t->e, &k->u.gcm.rtp, (unsigned)kl, false, iv, plain,
					     (size_t)pl, NULL, NULL, 0, prot + pl) == PERC_R_OK;
			report(t, "rfc7714", s->name, "gmac verify", ok);
		} else if (strstr(s->name, "rtcp") != NULL) {
			uint8_t f = strstr(s->name, "auth-only") != NULL ? PERC_OPF_RTCP_AUTH_ONLY : 0;

			ok = run_op(t, k, PERC_OP_RTCP_PROTECT, f, (uint64_t)idx, plain, (size_t)pl, prot,
				    (size_t)cl);
			report(t, "rfc7714", s->name, "protect", ok);
			ok = run_op(t, k, PERC_OP_RTCP_UNPROTECT, 0, 0, prot, (size_t)cl, plain,
				    (size_t)pl);
			report(t, "rfc7714", s->name, "unprotect", ok);
		}
		perc_key_clear(k);
		free(k);
	}
	if (n <= 0)
		report(t, "rfc7714", "-", "file parses", false);
	free(text);
}

static void
kat_double(struct st *t)
{
	struct perc_kat_section secs[MAX_SECS];
	char *text;
	int n = load("perc_double.txt", &text, secs);

	for (int i = 0; i < n; i++) {
		struct perc_kat_section *s = &secs[i];
		const char *pname = strrchr(s->name, ' ');
		const struct perc_profile *p = perc_profile_by_name(pname != NULL ? pname + 1 : "");
		const struct perc_profile *layer = perc_profile_layer(p);
		struct perc_double_key *dk = aligned_alloc(64, sizeof(*dk));
		struct perc_key *ko = aligned_alloc(64, sizeof(*ko) * 2);
		uint8_t mk[64], ms[24], plain[BUF], prot[BUF], relayed[BUF], buf[BUF], ik[32], is[12],
			ok_[32], os[12];
		long pl = get_hex(s, "plain", plain, sizeof(plain));
		long cl = get_hex(s, "protected", prot, sizeof(prot));
		long rl = get_hex(s, "relayed", relayed, sizeof(relayed));
		struct perc_hop_change c = {
			.pt = (int)get_num(s, "relay_set_pt", -1),
			.seq = (int)get_num(s, "relay_set_seq", -1),
			.marker = (int)get_num(s, "relay_set_marker", -1),
		};
		uint32_t len;
		bool ok;

		if (dk == NULL || ko == NULL || p == NULL || pl < 0 || cl < 0 || rl < 0 ||
		    get_hex(s, "master_key", mk, sizeof(mk)) != p->key_len ||
		    get_hex(s, "master_salt", ms, sizeof(ms)) != p->salt_len ||
		    get_hex(s, "relay_in_key", ik, sizeof(ik)) != layer->key_len ||
		    get_hex(s, "relay_in_salt", is, sizeof(is)) != 12 ||
		    get_hex(s, "relay_out_key", ok_, sizeof(ok_)) != layer->key_len ||
		    get_hex(s, "relay_out_salt", os, sizeof(os)) != 12 ||
		    perc_double_key_init(dk, t->e, p, mk, ms) != PERC_R_OK ||
		    perc_key_init(&ko[0], t->e, layer, ik, is) != PERC_R_OK ||
		    perc_key_init(&ko[1], t->e, layer, ok_, os) != PERC_R_OK) {
			report(t, "perc_double", s->name, "set-up", false);
			free(dk);
			free(ko);
			continue;
		}
		/* sender */
		memcpy(buf, plain, (size_t)pl);
		len = (uint32_t)pl;
		ok = perc_double_protect(t->e, dk, NULL, NULL, 0, buf, &len, BUF) == PERC_R_OK &&
		     len == cl && memcmp(buf, prot, (size_t)cl) == 0;
		report(t, "perc_double", s->name, "endpoint send", ok);
		/* receiver of the sender's own packet */
		memcpy(buf, prot, (size_t)cl);
		len = (uint32_t)cl;
		ok = perc_double_unprotect(t->e, dk, NULL, NULL, 0, buf, &len) == PERC_R_OK &&
		     len == pl && memcmp(buf, plain, (size_t)pl) == 0;
		report(t, "perc_double", s->name, "endpoint receive", ok);
		/* Media Distributor hop */
		ok = perc_hop_relay(t->e, &ko[0], NULL, 0, &ko[1], NULL, 0, &c, prot, (uint32_t)cl,
				    buf, BUF, &len) == PERC_R_OK &&
		     len == rl && memcmp(buf, relayed, (size_t)rl) == 0;
		report(t, "perc_double", s->name, "relay", ok);
		/* the receiver (inner key of the sender, outer key of its own hop)
		 * gets the sender's packet back, original header restored */
		perc_key_clear(&dk->outer);
		memcpy(&dk->outer, &ko[1], sizeof(ko[1]));
		memcpy(buf, relayed, (size_t)rl);
		len = (uint32_t)rl;
		ok = perc_double_unprotect(t->e, dk, NULL, NULL, 0, buf, &len) == PERC_R_OK &&
		     len == pl && memcmp(buf, plain, (size_t)pl) == 0;
		report(t, "perc_double", s->name, "receive relayed", ok);
		perc_double_key_clear(dk);
		perc_key_clear(&ko[0]);
		perc_key_clear(&ko[1]);
		free(dk);
		free(ko);
	}
	if (n <= 0)
		report(t, "perc_double", "-", "file parses", false);
	free(text);
}

static void
kat_ekt(struct st *t)
{
	struct perc_kat_section secs[MAX_SECS];
	char *text;
	int n = load("ekt.txt", &text, secs);

	for (int i = 0; i < n; i++) {
		struct perc_kat_section *s = &secs[i];
		uint8_t field[PERC_EKT_FIELD_MAX + 8], out[PERC_EKT_FIELD_MAX + 8], ek[32];
		long fl = get_hex(s, "field", field, sizeof(field));
		long el = get_hex(s, "ekt_key", ek, sizeof(ek));
		struct perc_ekt_plain pl = { 0 }, got;
		bool ok;

		if (el < 0) { /* short field */
			ok = fl == 1 && perc_ekt_field_len(field, 1) == 1;
			report(t, "ekt", s->name, "field length", ok);
			continue;
		}
		long kl = get_hex(s, "srtp_master_key", pl.key, sizeof(pl.key));

		pl.key_len = (uint8_t)kl;
		pl.spi = (uint16_t)get_num(s, "spi", 0);
		pl.epoch = (uint16_t)get_num(s, "epoch", 0);
		pl.ssrc = (uint32_t)strtoul(perc_kat_get(s, "ssrc") ? perc_kat_get(s, "ssrc") : "0",
					    NULL, 0);
		pl.roc = (uint32_t)get_num(s, "roc", 0);
		ok = fl > 0 && kl > 0 &&
		     perc_ekt_wrap(ek, (size_t)el, &pl, out, sizeof(out)) == fl &&
		     memcmp(out, field, (size_t)fl) == 0;
		report(t, "ekt", s->name, "wrap", ok);
		ok = fl > 0 && perc_ekt_field_len(field, (size_t)fl) == fl &&
		     perc_ekt_unwrap(ek, (size_t)el, field, (size_t)fl, &got) == PERC_R_OK &&
		     got.key_len == pl.key_len && memcmp(got.key, pl.key, pl.key_len) == 0 &&
		     got.ssrc == pl.ssrc && got.roc == pl.roc && got.spi == pl.spi &&
		     got.epoch == pl.epoch;
		report(t, "ekt", s->name, "unwrap", ok);
	}
	if (n <= 0)
		report(t, "ekt", "-", "file parses", false);
	free(text);
}

static void
kat_kwp(struct st *t)
{
	struct perc_kat_section secs[MAX_SECS];
	char *text;
	int n = load("rfc5649_kwp.txt", &text, secs);

	for (int i = 0; i < n; i++) {
		struct perc_kat_section *s = &secs[i];
		uint8_t kek[32], key[64], wrapped[80], out[80];
		long kl = get_hex(s, "kek", kek, sizeof(kek));
		long nl = get_hex(s, "key", key, sizeof(key));
		long wl = get_hex(s, "wrapped", wrapped, sizeof(wrapped));
		bool ok;

		ok = kl > 0 && nl > 0 && wl > 0 &&
		     perc_aes_kwp_wrap(kek, (size_t)kl, key, (size_t)nl, out, sizeof(out)) == wl &&
		     memcmp(out, wrapped, (size_t)wl) == 0;
		report(t, "rfc5649_kwp", s->name, "wrap", ok);
		ok = kl > 0 && nl > 0 && wl > 0 &&
		     perc_aes_kwp_unwrap(kek, (size_t)kl, wrapped, (size_t)wl, out, sizeof(out)) == nl &&
		     memcmp(out, key, (size_t)nl) == 0;
		report(t, "rfc5649_kwp", s->name, "unwrap", ok);
	}
	if (n <= 0)
		report(t, "rfc5649_kwp", "-", "file parses", false);
	free(text);
}

static void
kat_tunnel(struct st *t)
{
	struct perc_kat_section secs[MAX_SECS];
	char *text;
	int n = load("rfc9185_tunnel.txt", &text, secs);
	struct perc_tun_msg *m = malloc(sizeof(*m));

	for (int i = 0; m != NULL && i < n; i++) {
		struct perc_kat_section *s = &secs[i];
		uint8_t msg[512], out[512], uuid[16];
		long ml = get_hex(s, "message", msg, sizeof(msg));
		long ul = get_hex(s, "association_id", uuid, sizeof(uuid));
		bool ok;

		ok = ml > 0 && perc_tun_frame(msg, (size_t)ml) == (size_t)ml &&
		     perc_tun_decode(msg, (size_t)ml, m) == PERC_R_OK;
		if (ok && ul == 16)
			ok = memcmp(m->uuid, uuid, 16) == 0;
		if (ok && perc_kat_get(s, "profile") != NULL)
			ok = m->profile == get_num(s, "profile", -1);
		if (ok && perc_kat_get(s, "highest_version") != NULL)
			ok = m->version == get_num(s, "highest_version", -1);
		report(t, "rfc9185_tunnel", s->name, "decode", ok);
		ok = ok && perc_tun_encode(m, out, sizeof(out)) == ml && memcmp(out, msg, (size_t)ml) == 0;
		report(t, "rfc9185_tunnel", s->name, "encode", ok);
	}
	if (n <= 0 || m == NULL)
		report(t, "rfc9185_tunnel", "-", "file parses", false);
	free(m);
	free(text);
}

int
perc_selftest(enum perc_arch arch, FILE *log)
{
	struct st t = { .log = log };

	t.e = perc_engine_create(arch);
	if (t.e == NULL) {
		if (log != NULL)
			fprintf(log, "FAIL engine %s cannot be created\n", perc_arch_name(arch));
		return 1;
	}
	if (perc_engine_mgr(t.e) == NULL) {
		if (log != NULL)
			fprintf(log, "FAIL selftest needs an ipsec-mb architecture, not %s\n",
				perc_arch_name(arch));
		perc_engine_destroy(t.e);
		return 1;
	}
	kat_kdf(&t);
	kat_rfc7714(&t);
	kat_double(&t);
	kat_ekt(&t);
	kat_kwp(&t);
	kat_tunnel(&t);
	if (log != NULL)
		fprintf(log, "%s: %d of %d known-answer checks passed\n",
			perc_arch_name(perc_engine_arch(t.e)), t.cases - t.fails, t.cases);
	perc_engine_destroy(t.e);
	return t.fails;
}
