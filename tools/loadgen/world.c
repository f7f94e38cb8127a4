/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-loadgen: the world (conferences, endpoints, streams, keys) and the
 * provisioning file it gives perc-mdd. Everything comes from --seed, so the
 * program that writes the provisioning file and the one that sends agree
 * on every key without passing secrets around.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lg.h"
#include "perc/seedrng.h"

static const char *const rx_names[] = {
#define LG_RX_NAME_(e, n) n,
	LG_FOREACH_RX(LG_RX_NAME_)
#undef LG_RX_NAME_
};

const char *
lg_rx_name(int c)
{
	return c >= 0 && c < LG_RX__COUNT ? rx_names[c] : "?";
}

void
lg_opts_default(struct lg_opts *o)
{
	static const uint8_t ip[4] = {192, 0, 2, 1};
	static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x01};

	memset(o, 0, sizeof(*o));
	o->conferences = 1;
	o->size = 3;
	o->media = LG_AUDIO;
	o->layers = 1;
	o->audio_ssrcs = 1;
	o->payload_audio = 160;
	o->payload_video = 1200;
	o->ekt_full_every = 100;
	o->rtcp_interval_ms = 500;
	o->seed = 1;
	o->profile = "DOUBLE_AEAD_AES_128_GCM_AEAD_AES_128_GCM";
	memcpy(o->mdd_ip, ip, 4);
	o->mdd_port = 3478;
	memcpy(o->mdd_mac, mac, 6);
}

static void
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* SSRC = (i + 1) * odd constant mod 2^32: unique, spread over the space
 * (the MDD's SSRC tables see no pattern), and invertible in O(1) */
#define LG_SSRC_MUL 0x9e3779b1u

uint32_t
lg_ssrc_of(uint32_t i)
{
	return (i + 1u) * LG_SSRC_MUL;
}

uint32_t
lg_index_of_ssrc(uint32_t ssrc)
{
	static uint32_t inv;

	if (inv == 0) {
		uint32_t x = LG_SSRC_MUL; /* Newton: x = x(2 - ax) doubles the bits */

		for (int k = 0; k < 5; k++)
			x *= 2u - LG_SSRC_MUL * x;
		inv = x;
	}
	return ssrc * inv - 1u;
}

static unsigned
ssrcs_per_ep(const struct lg_opts *o)
{
	switch (o->media) {
	case LG_AUDIO:
		return o->audio_ssrcs;
	case LG_VIDEO:
		return o->layers;
	default:
		return o->audio_ssrcs + o->layers;
	}
}

static int
keys_init(struct lg_world *w, struct lg_endpoint *ep, char *err, size_t errlen)
{
	unsigned kl = w->layer->key_len, sl = w->layer->salt_len;
	uint8_t mk[64], ms[24];
	int r;

	memcpy(mk, ep->e2e_key, kl);
	memcpy(mk + kl, ep->rx_key, kl);
	memcpy(ms, w->confs[ep->conf].e2e_salt, sl);
	memcpy(ms + sl, ep->rx_salt, sl);
	r = perc_double_key_init(&ep->send, w->eng, w->prof, mk, ms);
	if (r == PERC_R_OK)
		r = perc_key_init(&ep->recv, w->eng, w->layer, ep->tx_key, ep->tx_salt);
	OPENSSL_cleanse(mk, sizeof(mk));
	OPENSSL_cleanse(ms, sizeof(ms));
	if (r != PERC_R_OK) {
		fail(err, errlen, "key set-up failed (%s): is the profile a double GCM one?",
		     perc_reason_name(r));
		return -1;
	}
	return 0;
}

static void
stream_init(struct lg_world *w, struct lg_stream *s, unsigned ep, unsigned k, uint64_t *rng)
{
	bool video = w->o.media == LG_VIDEO || (w->o.media == LG_MIX && k >= w->o.audio_ssrcs);

	s->ep = ep;
	s->ssrc = lg_ssrc_of((uint32_t)(s - w->streams));
	s->video = video;
	s->pt = video ? (uint8_t)(96 + (w->o.media == LG_MIX ? k - w->o.audio_ssrcs : k)) : 111;
	s->payload = (uint16_t)(video ? w->o.payload_video : w->o.payload_audio);
	/* ROC 0 (the MDD's outbound ROC starts there too), SEQ anywhere in
	 * the first half so that long runs cross 65535 -> 0 */
	s->index = perc_seedrng_next(rng) & 0x7fff;
	s->ts = (uint32_t)perc_seedrng_next(rng);
	s->sent = 0;
}

int
lg_world_init(struct lg_world *w, const struct lg_opts *o, struct perc_engine *eng, char *err,
	      size_t errlen)
{
	uint64_t rng = o->seed;
	unsigned k, n;

	memset(w, 0, sizeof(*w));
	w->o = *o;
	w->eng = eng;
	w->prof = perc_profile_by_name(o->profile);
	if (w->prof == NULL || !w->prof->is_double || !w->prof->aead) {
		fail(err, errlen, "profile '%s' is not a double GCM profile: use "
			"DOUBLE_AEAD_AES_128_GCM_AEAD_AES_128_GCM or the 256 one", o->profile);
		return -1;
	}
	w->layer = perc_profile_layer(w->prof);
	if (o->size < 2 || o->size > LG_MAX_SIZE) {
		fail(err, errlen, "--size %u: a conference has 2..%u endpoints", o->size,
		     LG_MAX_SIZE);
		return -1;
	}
	if (o->audio_ssrcs < 1 || o->audio_ssrcs > 16) {
		fail(err, errlen, "--audio-ssrcs %u: 1..16 audio SSRCs per endpoint", o->audio_ssrcs);
		return -1;
	}
	if (o->layers < 1 || o->layers > 3) {
		fail(err, errlen, "--layers %u: 1..3 video layers", o->layers);
		return -1;
	}
	if (o->payload_audio < LG_STAMP || o->payload_audio > LG_PAYLOAD_MAX ||
	    o->payload_video < LG_STAMP || o->payload_video > LG_PAYLOAD_MAX) {
		fail(err, errlen, "payload sizes must be %u..%u bytes (the stamp needs %u)",
		     LG_STAMP, LG_PAYLOAD_MAX, LG_STAMP);
		return -1;
	}
	w->ssrcs_per_ep = k = ssrcs_per_ep(o);
	w->n_confs = o->conferences;
	if (o->streams > 0)
		w->n_confs = (o->streams + o->size * k - 1) / (o->size * k);
	if (w->n_confs == 0 || (uint64_t)w->n_confs * o->size > LG_MAX_ENDPOINTS) {
		fail(err, errlen, "%u conferences of %u: 1 to %u endpoints in all",
		     w->n_confs, o->size, LG_MAX_ENDPOINTS);
		return -1;
	}
	w->n_eps = w->n_confs * o->size;
	w->n_streams = w->n_eps * k;
	w->confs = calloc(w->n_confs, sizeof(*w->confs));
	w->eps = aligned_alloc(64, ((w->n_eps * sizeof(*w->eps)) + 63) & ~(size_t)63);
	w->streams = calloc(w->n_streams, sizeof(*w->streams));
	if (w->confs == NULL || w->eps == NULL || w->streams == NULL) {
		fail(err, errlen, "out of memory for %u endpoints", w->n_eps);
		lg_world_free(w);
		return -1;
	}
	memset(w->eps, 0, w->n_eps * sizeof(*w->eps));
	for (unsigned c = 0; c < w->n_confs; c++) {
		struct lg_conf *cf = &w->confs[c];

		cf->ekt_key_len = w->layer->key_len;
		perc_seedrng_bytes(&rng, cf->ekt_key, cf->ekt_key_len);
		perc_seedrng_bytes(&rng, cf->e2e_salt, w->layer->salt_len);
		cf->spi = (uint16_t)(0x100 + c);
	}
	n = 0;
	for (unsigned g = 0; g < w->n_eps; g++) {
		struct lg_endpoint *ep = &w->eps[g];
		uint32_t ip = 0xc6120010u + g; /* 198.18.0.16 + g */

		ep->conf = g / o->size;
		ep->pos = g % o->size;
		lg_put32(ep->ip, ip);
		ep->port = (uint16_t)(40000 + g % 20000);
		ep->mac[0] = 0x02;
		ep->mac[1] = 0xe0;
		lg_put32(ep->mac + 2, g + 1);
		perc_seedrng_bytes(&rng, ep->rx_key, w->layer->key_len);
		perc_seedrng_bytes(&rng, ep->rx_salt, w->layer->salt_len);
		perc_seedrng_bytes(&rng, ep->tx_key, w->layer->key_len);
		perc_seedrng_bytes(&rng, ep->tx_salt, w->layer->salt_len);
		perc_seedrng_bytes(&rng, ep->e2e_key, w->layer->key_len);
		if (keys_init(w, ep, err, errlen) != 0) {
			w->n_eps = g;
			lg_world_free(w);
			return -1;
		}
		ep->first_stream = n;
		ep->n_streams = k;
		for (unsigned j = 0; j < k; j++, n++)
			stream_init(w, &w->streams[n], g, j, &rng);
	}
	rng = 0;
	return 0;
}

void
lg_world_free(struct lg_world *w)
{
	if (w->eps != NULL) {
		for (unsigned g = 0; g < w->n_eps; g++) {
			perc_double_key_clear(&w->eps[g].send);
			perc_key_clear(&w->eps[g].recv);
		}
		OPENSSL_cleanse(w->eps, w->n_eps * sizeof(*w->eps));
	}
	if (w->confs != NULL)
		OPENSSL_cleanse(w->confs, w->n_confs * sizeof(*w->confs));
	free(w->eps);
	free(w->confs);
	free(w->streams);
	w->eps = NULL;
	w->confs = NULL;
	w->streams = NULL;
}

static void
put_hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

int
lg_world_write_provision(const struct lg_world *w, const char *path, char *err, size_t errlen)
{
	unsigned kl = w->layer->key_len, sl = w->layer->salt_len;
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		fail(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	fputs("{\"conferences\": [\n", f);
	for (unsigned c = 0; c < w->n_confs; c++) {
		fprintf(f, " {\"id\": \"lg%u\", \"endpoints\": [\n", c + 1);
		for (unsigned p = 0; p < w->o.size; p++) {
			const struct lg_endpoint *ep = &w->eps[c * w->o.size + p];

			fprintf(f, "  {\"id\": \"lg%u-ep%u\", \"addr\": \"%u.%u.%u.%u:%u\", "
				   "\"profile\": \"%s\",\n   \"rx_key\": \"",
				c + 1, p + 1, ep->ip[0], ep->ip[1], ep->ip[2], ep->ip[3],
				ep->port, w->prof->name);
			put_hex(f, ep->rx_key, kl);
			fputs("\", \"rx_salt\": \"", f);
			put_hex(f, ep->rx_salt, sl);
			fputs("\",\n   \"tx_key\": \"", f);
			put_hex(f, ep->tx_key, kl);
			fputs("\", \"tx_salt\": \"", f);
			put_hex(f, ep->tx_salt, sl);
			fputs("\",\n   \"ssrcs\": [", f);
			for (unsigned j = 0; j < ep->n_streams; j++)
				fprintf(f, "%s%u", j ? ", " : "",
					w->streams[ep->first_stream + j].ssrc);
			fprintf(f, "], \"max_streams\": %u}%s\n", ep->n_streams,
				p + 1 < w->o.size ? "," : "");
		}
		fprintf(f, " ]}%s\n", c + 1 < w->n_confs ? "," : "");
	}
	fputs("]}\n", f);
	if (fclose(f) != 0) {
		fail(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
