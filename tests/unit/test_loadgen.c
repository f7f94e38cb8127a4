/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-loadgen's core (tools/loadgen): the generator's frames open with
 * libperc's reference double SRTP under the keys of the provisioning file
 * and the E2E keys, their EKT Full fields unwrap to the sender's E2E key,
 * SEQ and timestamps are unique; the receiver counts clean traffic as
 * such and finds injected loss, duplicates, reordering, misrouting and
 * packets broken in each layer (outer, OHB, EKT, inner).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perc/double.h"
#include "perc/ekt.h"
#include "perc/kat.h"
#include "perc/rtcp.h"
#include "testutil.h"
#include "../../tools/loadgen/lg.h"

static struct perc_engine *eng;

static void
world(struct lg_world *w, enum lg_media media, unsigned confs, unsigned size)
{
	struct lg_opts o;
	char err[256];

	lg_opts_default(&o);
	o.media = media;
	o.conferences = confs;
	o.size = size;
	o.layers = 2;
	o.ekt_full_every = 3;
	o.payload_audio = 100;
	o.payload_video = 700;
	o.seed = 7;
	CU_ASSERT_EQUAL_FATAL(lg_world_init(w, &o, eng, err, sizeof(err)), 0);
}

/* hex of key in the provisioning file, endpoint g */
static size_t
prov_key(json_t *root, unsigned size, unsigned g, const char *name, uint8_t *out)
{
	json_t *confs = json_object_get(root, "conferences");
	json_t *eps = json_object_get(json_array_get(confs, g / size), "endpoints");
	const char *hex = json_string_value(json_object_get(json_array_get(eps, g % size), name));

	CU_ASSERT_PTR_NOT_NULL_FATAL(hex);
	return t_hex(hex, out, 32);
}

static void
test_generator_opens_with_reference(void)
{
	struct lg_world w;
	char path[] = "/tmp/test_loadgen_XXXXXX", err[256];
	uint8_t f[LG_FRAME_MAX];
	struct perc_engine *ref = perc_engine_create(PERC_ARCH_AUTO);
	json_error_t je;
	json_t *root;
	int fd;
	unsigned full = 0, total = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
	world(&w, LG_MIX, 2, 3);
	CU_ASSERT_EQUAL(w.n_streams, 2u * 3u * 3u);
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(lg_world_write_provision(&w, path, err, sizeof(err)), 0);
	root = json_load_file(path, 0, &je);
	unlink(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);

	for (unsigned i = 0; i < w.n_streams; i++) {
		struct lg_stream *s = &w.streams[i];
		const struct lg_endpoint *ep = &w.eps[s->ep];
		const struct lg_conf *cf = &w.confs[ep->conf];
		struct perc_double_key dk;
		uint8_t mk[64], ms[24], hk[32], hs[32];
		unsigned kl = w.layer->key_len, sl = w.layer->salt_len;
		uint64_t first = s->index;
		uint32_t ts_prev = 0;

		/* the reference key: E2E half from the world, HBH half as the
		 * MDD reads it from the provisioning file */
		CU_ASSERT_EQUAL(prov_key(root, 3, s->ep, "rx_key", hk), kl);
		CU_ASSERT_EQUAL(prov_key(root, 3, s->ep, "rx_salt", hs), sl);
		memcpy(mk, ep->e2e_key, kl);
		memcpy(mk + kl, hk, kl);
		memcpy(ms, cf->e2e_salt, sl);
		memcpy(ms + sl, hs, sl);
		CU_ASSERT_EQUAL_FATAL(perc_double_key_init(&dk, ref, w.prof, mk, ms), PERC_R_OK);
		for (unsigned k = 0; k < 7; k++) {
			uint32_t len = lg_build(&w, s, LG_PH_MEASURE, 1000 + k, f, sizeof(f));
			uint8_t *p = f + LG_L2L4;
			uint32_t n = len - LG_L2L4, body;
			int fl;

			total++;
			CU_ASSERT_FATAL(len > LG_L2L4);
			/* addressed from the endpoint to the MDD */
			CU_ASSERT_EQUAL(memcmp(f + LG_ETH + 12, ep->ip, 4), 0);
			CU_ASSERT_EQUAL(memcmp(f + LG_ETH + 16, w.o.mdd_ip, 4), 0);
			CU_ASSERT_EQUAL(lg_get16(f + LG_ETH + LG_IP4 + 2), 3478);
			CU_ASSERT_EQUAL(lg_get16(f + LG_ETH + 2), len - LG_ETH);
			fl = perc_ekt_field_len(p, n);
			CU_ASSERT_FATAL(fl >= 1);
			body = n - (uint32_t)fl;
			if (k % 3 == 0) {
				struct perc_ekt_plain pl;

				CU_ASSERT(fl > 1);
				CU_ASSERT_EQUAL_FATAL(perc_ekt_unwrap(cf->ekt_key, cf->ekt_key_len,
								      p + body, (size_t)fl, &pl),
						      PERC_R_OK);
				CU_ASSERT_EQUAL(memcmp(pl.key, ep->e2e_key, kl), 0);
				CU_ASSERT_EQUAL(pl.ssrc, s->ssrc);
				CU_ASSERT_EQUAL(pl.spi, cf->spi);
				full++;
			} else {
				CU_ASSERT_EQUAL(fl, 1);
				CU_ASSERT_EQUAL(p[body], 0);
			}
			/* RTP header in clear: SEQ consecutive (unique), SSRC */
			CU_ASSERT_EQUAL(lg_get16(p + 2), (uint16_t)(first + k));
			CU_ASSERT_EQUAL(lg_get32(p + 8), s->ssrc);
			CU_ASSERT(k == 0 || lg_get32(p + 4) >= ts_prev);
			ts_prev = lg_get32(p + 4);
			/* the reference receive: outer, OHB, inner */
			CU_ASSERT_EQUAL_FATAL(perc_double_unprotect(ref, &dk, NULL, NULL,
								    (uint32_t)(first >> 16), p, &body),
					      PERC_R_OK);
			CU_ASSERT_EQUAL(body, LG_RTP + s->payload);
			CU_ASSERT_EQUAL(lg_get32(p + LG_RTP), LG_MAGIC);
			CU_ASSERT_EQUAL(lg_get32(p + LG_RTP + 4), LG_PH_MEASURE);
			CU_ASSERT_EQUAL(lg_get32(p + LG_RTP + 20), (uint32_t)(first + k));
		}
		/* audio timestamps advance every packet */
		if (!s->video)
			CU_ASSERT_EQUAL(s->ts - ts_prev, 960u);
		perc_double_key_clear(&dk);
	}
	CU_ASSERT_EQUAL(full, w.n_streams * 3);
	CU_ASSERT_EQUAL(total, w.n_streams * 7);
	json_decref(root);
	lg_world_free(&w);
	perc_engine_destroy(ref);
}

static void
test_provision_has_no_e2e_keys(void)
{
	struct lg_world w;
	char path[] = "/tmp/test_loadgen_XXXXXX", err[256], hex[65], *text;
	FILE *f;
	long n;
	int fd;

	world(&w, LG_AUDIO, 3, 4);
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(lg_world_write_provision(&w, path, err, sizeof(err)), 0);
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = calloc(1, (size_t)n + 1);
	CU_ASSERT_EQUAL_FATAL(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(path);
	for (unsigned g = 0; g < w.n_eps; g++) {
		for (unsigned i = 0; i < w.layer->key_len; i++)
			sprintf(hex + 2 * i, "%02x", w.eps[g].e2e_key[i]);
		CU_ASSERT_PTR_NULL(strstr(text, hex));
		for (unsigned i = 0; i < w.layer->key_len; i++)
			sprintf(hex + 2 * i, "%02x", w.eps[g].tx_key[i]);
		CU_ASSERT_PTR_NOT_NULL(strstr(text, hex));
	}
	for (unsigned c = 0; c < w.n_confs; c++) {
		for (unsigned i = 0; i < w.confs[c].ekt_key_len; i++)
			sprintf(hex + 2 * i, "%02x", w.confs[c].ekt_key[i]);
		CU_ASSERT_PTR_NULL(strstr(text, hex));
	}
	free(text);
	lg_world_free(&w);
}

static void
test_ssrc_bijection(void)
{
	for (uint32_t i = 0; i < 200000; i += 7)
		CU_ASSERT_EQUAL(lg_index_of_ssrc(lg_ssrc_of(i)), i);
	CU_ASSERT(lg_index_of_ssrc(12345) >= 200000 || lg_ssrc_of(lg_index_of_ssrc(12345)) == 12345);
}

/* every stream, every receiver, through the reference hop: all open */
static void
test_receiver_clean(void)
{
	struct lg_world w;
	struct lg_rx r;
	uint8_t in[LG_FRAME_MAX], out[LG_FRAME_MAX];
	unsigned sent = 0;

	world(&w, LG_MIX, 2, 4);
	CU_ASSERT_EQUAL_FATAL(lg_rx_init(&r, &w, 1.0), 0);
	for (unsigned round = 0; round < 5; round++) {
		for (unsigned i = 0; i < w.n_streams; i++) {
			uint32_t len = lg_build(&w, &w.streams[i], LG_PH_MEASURE, 100, in, sizeof(in));

			sent++;
			for (unsigned p = 0; p < w.o.size; p++) {
				uint32_t ol = lg_ref_hop(&w, in, len, p, out, sizeof(out));

				if (p == w.eps[w.streams[i].ep].pos) {
					CU_ASSERT_EQUAL(ol, 0);
					continue;
				}
				CU_ASSERT_FATAL(ol > 0);
				CU_ASSERT_EQUAL(lg_rx_frame(&r, out, ol, 5100), LG_RX_OK);
			}
		}
	}
	CU_ASSERT_EQUAL(r.c[LG_RX_OK], sent * (w.o.size - 1));
	CU_ASSERT_EQUAL(r.c[LG_RX_FRAMES], sent * (w.o.size - 1));
	CU_ASSERT_EQUAL(r.c[LG_RX_DUP] + r.c[LG_RX_REORDER] + r.c[LG_RX_OUTER_FAIL] +
				r.c[LG_RX_INNER_FAIL] + r.c[LG_RX_OHB_BAD] + r.c[LG_RX_EKT_BAD],
			0);
	CU_ASSERT(r.c[LG_RX_EKT_FULL] > 0);
	/* latency from the stamp: 5000 ticks at 1 ns each */
	CU_ASSERT_EQUAL(r.lat_min_ns, 5000);
	CU_ASSERT_EQUAL(r.lat_max_ns, 5000);
	CU_ASSERT_DOUBLE_EQUAL(lg_rx_lat_pct(&r, 50), 5500.0, 1.0);
	lg_rx_free(&r);
	lg_world_free(&w);
}

/* Re-open the outer layer of a frame for receiver key k at index idx,
 * let fn change the plaintext, seal again: a frame whose outer layer is
 * right and whose inside is not. */
static void
reseal(const struct perc_key *k, uint64_t idx, uint8_t *f, uint32_t len,
       void (*fn)(uint8_t *p, uint32_t hdr, uint32_t n))
{
	uint8_t *p = f + LG_L2L4;
	int fl = perc_ekt_field_len(p, len - LG_L2L4);
	uint32_t body = len - LG_L2L4 - (uint32_t)fl;
	uint8_t ekt[PERC_EKT_FIELD_MAX];
	struct perc_op op = {
		.key = k, .src = p, .dst = p, .len = body, .cap = body,
		.type = PERC_OP_RTP_UNPROTECT, .flags = PERC_OPF_INDEX, .index = idx,
	};

	memcpy(ekt, p + body, (size_t)fl);
	CU_ASSERT_EQUAL_FATAL(perc_engine_run1(eng, &op), PERC_R_OK);
	fn(p, op.hdr_len, op.len);
	op.type = PERC_OP_RTP_PROTECT;
	op.cap = body;
	CU_ASSERT_EQUAL_FATAL(perc_engine_run1(eng, &op), PERC_R_OK);
	CU_ASSERT_EQUAL_FATAL(op.len, body);
	memcpy(p + body, ekt, (size_t)fl);
}

static void
flip_inner(uint8_t *p, uint32_t hdr, uint32_t n)
{
	(void)n;
	p[hdr + 3] ^= 0x01;
}

static void
bad_ohb(uint8_t *p, uint32_t hdr, uint32_t n)
{
	(void)hdr;
	p[n - 1] = 0xf0; /* reserved bits set */
}

static void
test_receiver_finds_faults(void)
{
	enum { N = 20 };
	struct lg_world w;
	struct lg_rx r;
	uint8_t in[LG_FRAME_MAX], fr[N][LG_FRAME_MAX], tmp[LG_FRAME_MAX];
	uint32_t len[N];
	uint64_t idx[N];
	struct lg_stream *s;
	const struct lg_endpoint *rep;

	world(&w, LG_AUDIO, 2, 3);
	CU_ASSERT_EQUAL_FATAL(lg_rx_init(&r, &w, 1.0), 0);
	s = &w.streams[0];                 /* conference 1, ep1 */
	rep = &w.eps[1];                   /* receiver: conference 1, ep2 */
	for (unsigned i = 0; i < N; i++) {
		uint32_t l;

		idx[i] = s->index;
		l = lg_build(&w, s, LG_PH_MEASURE, 0, in, sizeof(in));
		len[i] = lg_ref_hop(&w, in, l, 1, fr[i], LG_FRAME_MAX);
		CU_ASSERT_FATAL(len[i] > 0);
	}
	/* broken inside the outer layer: inner tag, OHB */
	reseal(&rep->recv, idx[7], fr[7], len[7], flip_inner);
	reseal(&rep->recv, idx[8], fr[8], len[8], bad_ohb);
	/* outer tag (frame 6 has a Full EKT field behind it) */
	fr[6][len[6] - (uint32_t)perc_ekt_field_len(fr[6] + LG_L2L4, len[6] - LG_L2L4) - 1] ^= 0x80;
	/* EKT type byte unknown (frame 9 has a Short field: 9 % 3 == 0 is
	 * Full, so take 10) */
	fr[10][len[10] - 1] = 0x05;

#define FEED(i, want) do { \
		memcpy(tmp, fr[i], len[i]); \
		CU_ASSERT_EQUAL(lg_rx_frame(&r, tmp, len[i], 10), (want)); \
	} while (0)
	FEED(0, LG_RX_OK);
	FEED(1, LG_RX_OK);
	FEED(3, LG_RX_OK);
	FEED(2, LG_RX_OK);            /* late: reordered, still ok */
	FEED(4, LG_RX_OK);
	FEED(4, LG_RX_DUP);
	/* 5 lost */
	FEED(6, LG_RX_OUTER_FAIL);
	FEED(7, LG_RX_INNER_FAIL);
	FEED(8, LG_RX_OHB_BAD);
	FEED(9, LG_RX_OK);
	FEED(10, LG_RX_EKT_BAD);
	for (unsigned i = 11; i < N; i++)
		FEED(i, LG_RX_OK);
	/* frame 11 again, addressed to an endpoint of the other conference */
	memcpy(tmp, fr[11], len[11]);
	memcpy(tmp + LG_ETH + 16, w.eps[4].ip, 4);
	lg_put16(tmp + LG_ETH + LG_IP4 + 2, w.eps[4].port);
	CU_ASSERT_EQUAL(lg_rx_frame(&r, tmp, len[11], 10), LG_RX_WRONG_RECEIVER);
	/* a frame not for the world at all */
	memcpy(tmp, fr[12], len[12]);
	tmp[LG_ETH + 16] = 10;
	CU_ASSERT_EQUAL(lg_rx_frame(&r, tmp, len[12], 10), LG_RX_NOT_OURS);
	/* a frame cut short */
	memcpy(tmp, fr[13], len[13]);
	CU_ASSERT_EQUAL(lg_rx_frame(&r, tmp, 30, 10), LG_RX_NOT_OURS);
#undef FEED
	CU_ASSERT_EQUAL(r.c[LG_RX_OK], N - 1 - 4); /* 5 lost, 6..8 and 10 broken */
	CU_ASSERT_EQUAL(r.c[LG_RX_REORDER], 1);
	CU_ASSERT_EQUAL(r.c[LG_RX_DUP], 1);
	CU_ASSERT_EQUAL(r.c[LG_RX_OUTER_FAIL], 1);
	CU_ASSERT_EQUAL(r.c[LG_RX_INNER_FAIL], 1);
	CU_ASSERT_EQUAL(r.c[LG_RX_OHB_BAD], 1);
	CU_ASSERT_EQUAL(r.c[LG_RX_EKT_BAD], 1);
	CU_ASSERT_EQUAL(r.c[LG_RX_WRONG_RECEIVER], 1);
	CU_ASSERT_EQUAL(r.c[LG_RX_NOT_OURS], 2);
	lg_rx_free(&r);
	lg_world_free(&w);
}

/* a stream crossing SEQ 65535 -> 0: the receiver follows the ROC */
static void
test_receiver_roc(void)
{
	struct lg_world w;
	struct lg_rx r;
	uint8_t in[LG_FRAME_MAX], out[LG_FRAME_MAX];
	struct perc_engine *e = eng;
	(void)e;

	world(&w, LG_AUDIO, 1, 2);
	CU_ASSERT_EQUAL_FATAL(lg_rx_init(&r, &w, 1.0), 0);
	w.streams[0].index = 65530;
	for (unsigned i = 0; i < 12; i++) {
		uint32_t l = lg_build(&w, &w.streams[0], LG_PH_MEASURE, 0, in, sizeof(in));
		uint32_t ol = lg_ref_hop(&w, in, l, 1, out, sizeof(out));

		CU_ASSERT_FATAL(ol > 0);
		CU_ASSERT_EQUAL(lg_rx_frame(&r, out, ol, 1), LG_RX_OK);
	}
	CU_ASSERT_EQUAL(r.c[LG_RX_OK], 12);
	lg_rx_free(&r);
	lg_world_free(&w);
}

/* SRTCP: what the generator seals opens with libperc's reference under the
 * HBH key of the provisioning file (E = 1, index counting up, SR + SDES,
 * feedback to the next member); the receiver takes every copy perc-mdd's
 * routing delivers and catches a bad tag and a replayed index. */
static void
test_rtcp(void)
{
	struct lg_world w;
	struct lg_rx r;
	char path[] = "/tmp/test_loadgen_XXXXXX", err[256];
	uint8_t f[LG_FRAME_MAX], out[LG_FRAME_MAX], dup[LG_FRAME_MAX];
	struct perc_engine *ref = perc_engine_create(PERC_ARCH_LIBSRTP);
	struct perc_key k;
	uint8_t hk[32], hs[32];
	uint64_t expect = 0, fb = 0;
	json_error_t je;
	json_t *root;
	int fd;

	if (ref == NULL)
		ref = perc_engine_create(PERC_ARCH_AUTO);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
	world(&w, LG_MIX, 2, 3);
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(lg_world_write_provision(&w, path, err, sizeof(err)), 0);
	root = json_load_file(path, 0, &je);
	unlink(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_EQUAL(prov_key(root, 3, 4, "rx_key", hk), w.layer->key_len);
	CU_ASSERT_EQUAL(prov_key(root, 3, 4, "rx_salt", hs), w.layer->salt_len);
	CU_ASSERT_EQUAL_FATAL(perc_key_init(&k, ref, w.layer, hk, hs), PERC_R_OK);
	json_decref(root);
	for (unsigned i = 0; i < 8; i++) {
		unsigned copies = 0;
		uint32_t len = lg_build_rtcp(&w, 4, true, f, sizeof(f), &copies);
		struct perc_rtcp_pkt pk[PERC_RTCP_MAX_PKTS];
		struct perc_op op = {
			.key = &k, .src = f + LG_L2L4, .dst = f + LG_L2L4, .len = len - LG_L2L4,
			.cap = len - LG_L2L4, .type = PERC_OP_RTCP_UNPROTECT,
			.flags = PERC_OPF_INDEX,
		};
		int n;

		CU_ASSERT_FATAL(len > LG_L2L4);
		CU_ASSERT_EQUAL(memcmp(f + LG_ETH + 12, w.eps[4].ip, 4), 0);
		CU_ASSERT_EQUAL_FATAL(perc_engine_run1(ref, &op), PERC_R_OK);
		CU_ASSERT_EQUAL(op.index, i);
		CU_ASSERT_EQUAL(op.encrypted, 1);
		n = perc_rtcp_parse(f + LG_L2L4, op.len, pk, PERC_RTCP_MAX_PKTS);
		CU_ASSERT_EQUAL(n, i % 4 == 3 ? 3 : 2);
		CU_ASSERT_EQUAL(pk[0].pt, PERC_RTCP_SR);
		CU_ASSERT_EQUAL(pk[0].ssrc, w.streams[w.eps[4].first_stream].ssrc);
		CU_ASSERT_EQUAL(pk[1].pt, PERC_RTCP_SDES);
		/* endpoint 4 is position 1 of conference 1: feedback to position 2 */
		CU_ASSERT_EQUAL(copies, i % 4 == 3 ? 1u : 2u);
		CU_ASSERT_EQUAL(lg_rtcp_target(&w, f + LG_L2L4, op.len), i % 4 == 3 ? 5 : -1);
		if (n == 3)
			CU_ASSERT_EQUAL(pk[2].media_ssrc, w.streams[w.eps[5].first_stream].ssrc);
	}
	perc_key_clear(&k);
	perc_engine_destroy(ref);

	/* through the reference hop, routed as perc-mdd routes it */
	CU_ASSERT_EQUAL_FATAL(lg_rx_init(&r, &w, 1.0), 0);
	for (unsigned i = 0; i < 4 * w.n_eps; i++) {
		unsigned e = i % w.n_eps, copies = 0, got = 0;
		uint32_t len = lg_build_rtcp(&w, e, true, f, sizeof(f), &copies);

		expect += copies;
		for (unsigned p = 0; p < w.o.size; p++) {
			uint32_t ol = lg_ref_hop_rtcp(&w, f, len, p, out, sizeof(out));

			if (ol == 0)
				continue;
			got++;
			CU_ASSERT_EQUAL(lg_rx_frame(&r, out, ol, 1), LG_RX_RTCP);
		}
		CU_ASSERT_EQUAL(got, copies);
		fb += copies == 1;
	}
	CU_ASSERT(fb > 0);
	CU_ASSERT_EQUAL(r.c[LG_RX_RTCP], expect);
	CU_ASSERT_EQUAL(r.c[LG_RX_RTCP_FB], fb);
	CU_ASSERT_EQUAL(r.c[LG_RX_FRAMES], 0);

	/* a corrupted tag, then a replayed index */
	{
		unsigned copies;
		uint32_t len = lg_build_rtcp(&w, 0, false, f, sizeof(f), &copies);
		uint32_t ol = lg_ref_hop_rtcp(&w, f, len, 1, out, sizeof(out));

		CU_ASSERT_FATAL(ol > 0);
		memcpy(dup, out, ol);
		out[ol - 1] ^= 1;
		CU_ASSERT_EQUAL(lg_rx_frame(&r, out, ol, 1), LG_RX_RTCP_FAIL);
		memcpy(out, dup, ol);
		CU_ASSERT_EQUAL(lg_rx_frame(&r, out, ol, 1), LG_RX_RTCP);
		CU_ASSERT_EQUAL(lg_rx_frame(&r, dup, ol, 1), LG_RX_RTCP_REPLAY);
		/* a copy for the sender itself: misrouted */
		ol = lg_ref_hop_rtcp(&w, f, len, 0, out, sizeof(out));
		CU_ASSERT_EQUAL(ol, 0);
	}
	lg_rx_free(&r);
	lg_world_free(&w);
}

int
main(void)
{
	int rc;

	eng = perc_engine_create(PERC_ARCH_AUTO);
	if (eng == NULL || CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	T_SUITE("loadgen");
	T_ADD(test_generator_opens_with_reference);
	T_ADD(test_provision_has_no_e2e_keys);
	T_ADD(test_ssrc_bijection);
	T_ADD(test_receiver_clean);
	T_ADD(test_receiver_finds_faults);
	T_ADD(test_receiver_roc);
	T_ADD(test_rtcp);
	rc = t_run();
	perc_engine_destroy(eng);
	return rc;
}
