/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libperc_ep: the sealed payload header, the EKT send schedule, the
 * receiver's SPI / epoch / overlap logic, the key-by-reference API and the
 * media path between two endpoint instances. The media tests reach the
 * library's internals (ep_internal.h) to give two endpoints the keys a KD
 * would have given them: that hook exists only in this test program, the
 * public API has no way to put keys in. test_endpoint_dtls.c runs the
 * whole ICE + DTLS + KD message path against a fake KD.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/crypto.h>

#include "../../endpoint/ep_internal.h"
#include "ep_testutil.h"
#include "perc/ekt.h"
#include "testutil.h"

/* ---------------------------------------------------------------- header */
static void
test_sealed_header(void)
{
	struct ep_sealed_hdr h = { .flags = EP_HDR_F_VIDEO | EP_HDR_F_KEY, .sender_hash = 0xdeadbeef,
				   .send_ms = 1790000000123LL, .frame_no = 77, .pkt_no = 123456,
				   .spi = 0xabcd }, g;
	uint8_t b[EP_HDR_LEN + 4];

	ep_hdr_write(b, &h);
	CU_ASSERT_FATAL(ep_hdr_parse(b, EP_HDR_LEN, &g));
	CU_ASSERT_EQUAL(g.flags, h.flags);
	CU_ASSERT_EQUAL(g.sender_hash, h.sender_hash);
	CU_ASSERT_EQUAL(g.send_ms, h.send_ms);
	CU_ASSERT_EQUAL(g.frame_no, 77);
	CU_ASSERT_EQUAL(g.pkt_no, 123456);
	CU_ASSERT_EQUAL(g.spi, 0xabcd);
	/* big-endian on the wire where the doc says so */
	CU_ASSERT_EQUAL(b[24], 0xab);
	CU_ASSERT_EQUAL(b[4], 0xde);
	CU_ASSERT_FALSE(ep_hdr_parse(b, EP_HDR_LEN - 1, &g));
	for (unsigned i = 0; i < 4; i++) {
		static const unsigned pos[] = { 0, 1, 2, 26 };
		uint8_t c[EP_HDR_LEN];

		memcpy(c, b, sizeof(c));
		c[pos[i]] ^= 0x40;
		CU_ASSERT_FALSE(ep_hdr_parse(c, sizeof(c), &g));
	}
	/* flags: exactly one kind; key only on video; no unknown bits */
	b[3] = EP_HDR_F_AUDIO | EP_HDR_F_VIDEO;
	CU_ASSERT_FALSE(ep_hdr_parse(b, EP_HDR_LEN, &g));
	b[3] = EP_HDR_F_AUDIO | EP_HDR_F_KEY;
	CU_ASSERT_FALSE(ep_hdr_parse(b, EP_HDR_LEN, &g));
	b[3] = 0;
	CU_ASSERT_FALSE(ep_hdr_parse(b, EP_HDR_LEN, &g));
	b[3] = EP_HDR_F_AUDIO | 0x80;
	CU_ASSERT_FALSE(ep_hdr_parse(b, EP_HDR_LEN, &g));
	b[3] = EP_HDR_F_AUDIO;
	CU_ASSERT_TRUE(ep_hdr_parse(b, EP_HDR_LEN, &g));
	CU_ASSERT_EQUAL(ep_id_hash("c1-p1"), ep_id_hash("c1-p1"));
	CU_ASSERT_NOT_EQUAL(ep_id_hash("c1-p1"), ep_id_hash("c1-p2"));
}

/* -------------------------------------------------------------- schedule */
static void
test_sched_audio(void)
{
	struct ep_ekt_sched s = { .audio = true };
	unsigned full = 0;

	ep_sched_new_key(&s);
	/* the three packets after a new key carry Full fields */
	CU_ASSERT_TRUE(ep_sched_full(&s, 1000, false));
	CU_ASSERT_TRUE(ep_sched_full(&s, 1020, false));
	CU_ASSERT_TRUE(ep_sched_full(&s, 1040, false));
	/* then Short until 100 ms passed since the last Full */
	CU_ASSERT_FALSE(ep_sched_full(&s, 1060, false));
	CU_ASSERT_FALSE(ep_sched_full(&s, 1120, false));
	CU_ASSERT_TRUE(ep_sched_full(&s, 1140, false));
	CU_ASSERT_FALSE(ep_sched_full(&s, 1160, false));
	/* one second of 20 ms frames: a Full field every 100 ms */
	for (uint64_t t = 1180; t < 2180; t += 20)
		full += ep_sched_full(&s, t, false);
	CU_ASSERT_EQUAL(full, 10);
	/* a new key: three Full fields again, at once */
	ep_sched_new_key(&s);
	CU_ASSERT_TRUE(ep_sched_full(&s, 2180, false));
	CU_ASSERT_TRUE(ep_sched_full(&s, 2200, false));
	CU_ASSERT_TRUE(ep_sched_full(&s, 2220, false));
	CU_ASSERT_FALSE(ep_sched_full(&s, 2240, false));
}

static void
test_sched_video(void)
{
	struct ep_ekt_sched s = { .audio = false };

	ep_sched_new_key(&s);
	CU_ASSERT_TRUE(ep_sched_full(&s, 0, false));
	CU_ASSERT_TRUE(ep_sched_full(&s, 1, false));
	CU_ASSERT_TRUE(ep_sched_full(&s, 2, false));
	/* video: no timer; Short however long it has been ... */
	CU_ASSERT_FALSE(ep_sched_full(&s, 3, false));
	CU_ASSERT_FALSE(ep_sched_full(&s, 5000, false));
	/* ... and Full on key frame packets */
	CU_ASSERT_TRUE(ep_sched_full(&s, 5001, true));
	CU_ASSERT_TRUE(ep_sched_full(&s, 5002, true));
	CU_ASSERT_FALSE(ep_sched_full(&s, 5003, false));
}

/* ---------------------------------------------------------- endpoints */
static struct ep_pki pki;

static void
test_receiver_keys(void)
{
	struct perc_ep *ep = t_ep_new(&pki, "rx", PERC_EP_AUDIO, 40, NULL);
	uint8_t ex[EP_EXPORT_LEN], k1[16], k2[16], salt[12], e1[16], e2[16], zero[64] = { 0 };
	struct ep_ekt_key *old;
	unsigned slot, slot2;
	uint64_t now = ep_mono_ms();
	int si;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ep);
	ep_random(ex, sizeof(ex));
	ep_random(k1, 16);
	ep_random(k2, 16);
	ep_random(salt, 12);
	ep_random(e1, 16);
	ep_random(e2, 16);
	CU_ASSERT_EQUAL(ep_install_outer(ep, ex), 0);
	/* EKT keys by SPI: the previous one stays for the overlap only */
	CU_ASSERT_EQUAL(ep_ekt_install(ep, 1, k1, 16, salt, 12, 1, now), 0);
	CU_ASSERT_PTR_NOT_NULL(ep_ekt_find(ep, 1, now));
	CU_ASSERT_PTR_NULL(ep_ekt_find(ep, 2, now));
	CU_ASSERT_EQUAL(ep_ekt_install(ep, 2, k2, 16, NULL, 0, 2, now), 0);
	CU_ASSERT_EQUAL(ep->cur_spi, 2);
	old = ep_ekt_find(ep, 1, now + 39);
	CU_ASSERT_PTR_NOT_NULL_FATAL(old);
	CU_ASSERT_PTR_NULL(ep_ekt_find(ep, 1, now + 40));
	CU_ASSERT_PTR_NOT_NULL(ep_ekt_find(ep, 2, now + 100000));
	/* ekt_ttl: the key is gone after its lifetime; a step inherits it */
	ep_ekt_set_ttl(ep, 2, 5);
	CU_ASSERT_PTR_NOT_NULL(ep_ekt_find(ep, 2, now + 4999));
	CU_ASSERT_PTR_NULL(ep_ekt_find(ep, 2, now + 5000));
	CU_ASSERT_EQUAL(ep_keys_next_retire(ep), now + 40);
	/* a repeated EKT_KEY for the same SPI changes nothing */
	CU_ASSERT_EQUAL(ep_ekt_install(ep, 2, k2, 16, NULL, 0, 2, now), 0);
	CU_ASSERT_EQUAL(perc_ep_spi_count(ep), 2);
	{
		struct perc_ep_spi_info a, b;

		CU_ASSERT_TRUE(perc_ep_spi_get(ep, 0, &a));
		CU_ASSERT_TRUE(perc_ep_spi_get(ep, 1, &b));
		CU_ASSERT_EQUAL(a.spi, 1);
		CU_ASSERT(a.replaced_ms >= a.received_ms && a.replaced_ms > 0);
		CU_ASSERT_EQUAL(b.replaced_ms, 0);
		CU_ASSERT_FALSE(perc_ep_spi_get(ep, 2, &b));
	}
	/* expiry zeroizes */
	ep_keys_expire(ep, now + 40);
	CU_ASSERT_FALSE(old->used);
	CU_ASSERT_EQUAL(memcmp(old->key, zero, sizeof(old->key)), 0);
	CU_ASSERT_EQUAL(ep_keys_next_retire(ep), now + 5000);
	ep_keys_expire(ep, now + 5000);
	CU_ASSERT_PTR_NULL(ep_ekt_current(ep));
	CU_ASSERT_EQUAL(ep_ekt_install(ep, 2, k2, 16, salt, 12, 2, now), 0);

	/* a sender's E2E keys: epochs, repeats, a new SPI */
	si = ep_sender_find(ep, 0x1234, true);
	CU_ASSERT_FATAL(si >= 0);
	CU_ASSERT_EQUAL(ep_sender_find(ep, 0x1234, false), si);
	CU_ASSERT_EQUAL(ep_rx_install(ep, (unsigned)si, 2, 1, e1, salt, 0, now, &slot), 0);
	CU_ASSERT_EQUAL(ep_rx_install(ep, (unsigned)si, 2, 1, e1, salt, 0, now, &slot2), 1);
	CU_ASSERT_EQUAL(slot, slot2);
	CU_ASSERT_EQUAL(ep_rx_install(ep, (unsigned)si, 2, 0, e2, salt, 0, now, &slot2), -1);
	CU_ASSERT_EQUAL(ep_rx_install(ep, (unsigned)si, 2, 2, e2, salt, 0, now, &slot2), 0);
	CU_ASSERT_EQUAL(slot, slot2); /* replaced in place */
	CU_ASSERT_EQUAL(memcmp(ep->keys->rx[si][slot].e2e, e2, 16), 0);
	/* a key under a new SPI: the old one is retired after the overlap */
	CU_ASSERT_EQUAL(ep_rx_install(ep, (unsigned)si, 3, 0, e1, salt, 0, now, &slot2), 0);
	CU_ASSERT_NOT_EQUAL(slot, slot2);
	CU_ASSERT_EQUAL(ep->keys->rx[si][slot].retire_ms, now + 40);
	CU_ASSERT_EQUAL(ep->keys->rx[si][slot2].retire_ms, 0);
	ep_keys_expire(ep, now + 39);
	CU_ASSERT_TRUE(ep->keys->rx[si][slot].used);
	ep_keys_expire(ep, now + 40);
	CU_ASSERT_FALSE(ep->keys->rx[si][slot].used);
	CU_ASSERT_EQUAL(memcmp(ep->keys->rx[si][slot].e2e, zero, 16), 0);
	CU_ASSERT_TRUE(ep->keys->rx[si][slot2].used);
	perc_ep_destroy(ep);
}

/* A pair: a sends, the test reads a's datagrams from its "MDD" socket and
 * hands them to b. a's outer client_write = b's outer server_write (no MDD
 * in between to re-encrypt). */
struct pair {
	struct perc_ep *a, *b;
	int mdd;            /* a's MDD: a socket of this test */
	struct t_frames got;
};

static void
pair_keys(struct pair *p, uint16_t spi, const uint8_t *ekt, const uint8_t *salt, bool outer)
{
	uint64_t now = ep_mono_ms();

	if (outer) {
		uint8_t exa[EP_EXPORT_LEN], exb[EP_EXPORT_LEN];

		ep_random(exa, sizeof(exa));
		ep_random(exb, sizeof(exb));
		memcpy(exb + 48, exa + 16, 16);  /* server outer key = a's client outer */
		memcpy(exb + 100, exa + 76, 12); /* server outer salt */
		CU_ASSERT_EQUAL(ep_install_outer(p->a, exa), 0);
		CU_ASSERT_EQUAL(ep_install_outer(p->b, exb), 0);
	}
	CU_ASSERT_EQUAL(ep_ekt_install(p->a, spi, ekt, 16, salt, 12, spi, now), 0);
	CU_ASSERT_EQUAL(ep_ekt_install(p->b, spi, ekt, 16, salt, 12, spi, now), 0);
}

static void
pair_new(struct pair *p, unsigned media, uint32_t overlap)
{
	memset(p, 0, sizeof(*p));
	p->mdd = t_udp_socket(NULL);
	p->a = t_ep_new(&pki, "c1-a", media, overlap, NULL);
	p->b = t_ep_new(&pki, "c1-b", 0, overlap, &p->got);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p->a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p->b);
	t_ep_point_at(p->a, p->mdd);
	t_ep_force_joined(p->a);
	t_ep_force_joined(p->b);
}

static void
pair_free(struct pair *p)
{
	perc_ep_destroy(p->a);
	perc_ep_destroy(p->b);
	close(p->mdd);
}

/* read one datagram a sent; returns its length (0: none) */
static size_t
grab(struct pair *p, uint8_t *buf, size_t cap)
{
	ssize_t n = t_recv(p->mdd, buf, cap, 200);

	return n > 0 ? (size_t)n : 0;
}

static void
test_media_audio(void)
{
	struct pair p;
	uint8_t ekt[16], salt[12], pkt[10][2048], payload[160], bad[2048];
	size_t len[10];
	struct perc_ep_stats st;

	pair_new(&p, PERC_EP_AUDIO, 250);
	ep_random(ekt, 16);
	ep_random(salt, 12);
	pair_keys(&p, 7, ekt, salt, true);
	for (unsigned i = 0; i < 10; i++) {
		memset(payload, (int)i, sizeof(payload));
		CU_ASSERT_EQUAL_FATAL(perc_ep_send_audio(p.a, payload, 100 + i), 0);
		len[i] = grab(&p, pkt[i], sizeof(pkt[i]));
		CU_ASSERT_FATAL(len[i] > 0);
	}
	/* the first three carry a Full field (47 bytes for a 16-byte key),
	 * the rest (sent within 100 ms) a Short one */
	for (unsigned i = 0; i < 10; i++) {
		int f = perc_ekt_field_len(pkt[i], len[i]);

		CU_ASSERT_EQUAL(f, i < 3 ? 47 : 1);
		CU_ASSERT_EQUAL(pkt[i][1] & 0x7f, EP_PT_AUDIO);
		/* 12 RTP + 28 sealed header + payload + 16 inner tag + 1 OHB +
		 * 16 outer tag + EKT */
		CU_ASSERT_EQUAL(len[i], 12 + 28 + 100 + i + 16 + 1 + 16 + (size_t)f);
	}
	/* the receiver without a Full field yet: no key */
	ep_media_input(p.b, pkt[5], len[5]);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.no_key, 1);
	CU_ASSERT_EQUAL(st.e2e_ok, 0);
	for (unsigned i = 0; i < 10; i++)
		if (i != 5)
			ep_media_input(p.b, pkt[i], len[i]);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.e2e_ok, 9);
	CU_ASSERT_EQUAL(st.ekt_full_rx, 1); /* one key, seen three times */
	CU_ASSERT_EQUAL(st.e2e_fail, 0);
	CU_ASSERT_EQUAL(st.outer_fail, 0);
	CU_ASSERT_EQUAL(st.before_join_ok, 0);
	CU_ASSERT_EQUAL(st.seq_gap, 1);       /* packet 5 never opened */
	CU_ASSERT_EQUAL(p.got.n, 9);
	CU_ASSERT_EQUAL(p.got.last.spi, 7);
	CU_ASSERT_EQUAL(p.got.last.key_spi, 7);
	CU_ASSERT_EQUAL(p.got.last.sender_hash, ep_id_hash("c1-a"));
	CU_ASSERT_EQUAL(p.got.last.kind, PERC_EP_AUDIO);
	CU_ASSERT_EQUAL(p.got.last.len, 109);
	CU_ASSERT_EQUAL(p.got.last_byte, 9);
	CU_ASSERT_EQUAL(p.got.last.ssrc, perc_ep_ssrc(p.a, PERC_EP_AUDIO));
	CU_ASSERT(p.got.last.recv_ms - p.got.last.send_ms < 1000);
	/* a duplicate is refused by the outer replay window */
	ep_media_input(p.b, pkt[9], len[9]);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.outer_replay, 1);
	CU_ASSERT_EQUAL(st.e2e_ok, 9);
	/* a flipped payload bit: the outer layer refuses it */
	perc_ep_send_audio(p.a, payload, 120);
	len[0] = grab(&p, pkt[0], sizeof(pkt[0]));
	memcpy(bad, pkt[0], len[0]);
	bad[40] ^= 1;
	ep_media_input(p.b, bad, len[0]);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.outer_fail, 1);
	ep_media_input(p.b, pkt[0], len[0]);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.e2e_ok, 10);
	pair_free(&p);
}

/* Inner layer refusal: the outer layer is fine but the E2E key is wrong
 * (the Full field carried a different key than the one used). */
static void
test_media_inner_fail(void)
{
	struct pair p;
	uint8_t ekt[16], salt[12], pkt[2048], payload[120] = { 0 };
	size_t len;
	struct perc_ep_stats st;

	pair_new(&p, PERC_EP_AUDIO, 250);
	ep_random(ekt, 16);
	ep_random(salt, 12);
	pair_keys(&p, 3, ekt, salt, true);
	perc_ep_send_audio(p.a, payload, sizeof(payload));
	len = grab(&p, pkt, sizeof(pkt));
	CU_ASSERT_FATAL(len > 0);
	ep_media_input(p.b, pkt, len);
	/* the sender picks a new key under the same SPI but the receiver is
	 * told nothing (Short fields only): the inner tag fails */
	ep_tx_rekey(p.a, 0);
	p.a->tx[0].sched.full_left = 0;
	p.a->tx[0].sched.last_full_ms = ep_mono_ms();
	perc_ep_send_audio(p.a, payload, sizeof(payload));
	len = grab(&p, pkt, sizeof(pkt));
	CU_ASSERT_EQUAL(pkt[len - 1], 0x00);
	ep_media_input(p.b, pkt, len);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.e2e_ok, 1);
	CU_ASSERT_EQUAL(st.e2e_fail, 1);
	CU_ASSERT_EQUAL(st.e2e_fail_auth, 1);
	CU_ASSERT_EQUAL(st.outer_fail, 0);
	pair_free(&p);
}

static void
test_media_rekey_overlap(void)
{
	struct pair p;
	uint8_t ekt1[16], ekt2[16], salt[12], oldpkt[2][2048], pkt[2048], payload[120] = { 0 };
	size_t oldlen[2], len;
	struct perc_ep_stats st;

	pair_new(&p, PERC_EP_AUDIO, 100);
	ep_random(ekt1, 16);
	ep_random(ekt2, 16);
	ep_random(salt, 12);
	pair_keys(&p, 1, ekt1, salt, true);
	perc_ep_send_audio(p.a, payload, 100);
	len = grab(&p, pkt, sizeof(pkt));
	ep_media_input(p.b, pkt, len);
	for (unsigned i = 0; i < 2; i++) {
		perc_ep_send_audio(p.a, payload, 100);
		oldlen[i] = grab(&p, oldpkt[i], sizeof(oldpkt[i])); /* delayed */
	}
	/* new SPI: the sender switches its E2E key at once */
	CU_ASSERT_EQUAL(ep_ekt_install(p.a, 2, ekt2, 16, NULL, 0, 2, ep_mono_ms()), 0);
	CU_ASSERT_EQUAL(ep_ekt_install(p.b, 2, ekt2, 16, NULL, 0, 2, ep_mono_ms()), 0);
	perc_ep_send_audio(p.a, payload, 100);
	len = grab(&p, pkt, sizeof(pkt));
	CU_ASSERT_EQUAL(perc_ekt_field_len(pkt, len), 47);
	CU_ASSERT_EQUAL(perc_ekt_field_spi(pkt + len - 47, 47), 2);
	ep_media_input(p.b, pkt, len);
	CU_ASSERT_EQUAL(p.got.last.spi, 2);
	/* an old-key packet within the overlap still opens */
	ep_media_input(p.b, oldpkt[0], oldlen[0]);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.e2e_ok, 3);
	CU_ASSERT_EQUAL(p.got.last.spi, 1);
	CU_ASSERT_EQUAL(st.seq_reorder, 1);
	/* after the overlap the old key is gone */
	usleep(150 * 1000);
	perc_ep_poll(p.b);
	ep_media_input(p.b, oldpkt[1], oldlen[1]);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.e2e_ok, 3);
	/* and the EKT key of SPI 1 too: its Full field names an SPI no
	 * longer held, so the packet counts as no_key */
	CU_ASSERT_EQUAL(st.no_key, 1);
	CU_ASSERT_EQUAL(st.ekt_unknown_spi, 1);
	CU_ASSERT_EQUAL(st.e2e_fail, 0);
	CU_ASSERT_PTR_NULL(ep_ekt_find(p.b, 1, ep_mono_ms()));
	pair_free(&p);
}

/* The sender switched to a new SPI before the receiver got that EKT key
 * from the KD: its Full fields wait and are unwrapped when the key comes,
 * and what could not be opened meanwhile counts as no_key, not e2e_fail. */
static void
test_media_key_race(void)
{
	struct pair p;
	uint8_t ekt1[16], ekt2[16], salt[12], pkt[6][2048], payload[120] = { 0 };
	size_t len[6];
	struct perc_ep_stats st;

	pair_new(&p, PERC_EP_AUDIO, 250);
	ep_random(ekt1, 16);
	ep_random(ekt2, 16);
	ep_random(salt, 12);
	pair_keys(&p, 1, ekt1, salt, true);
	perc_ep_send_audio(p.a, payload, 100);
	len[0] = grab(&p, pkt[0], sizeof(pkt[0]));
	ep_media_input(p.b, pkt[0], len[0]);
	CU_ASSERT_EQUAL(ep_ekt_install(p.a, 2, ekt2, 16, NULL, 0, 2, ep_mono_ms()), 0);
	for (unsigned i = 1; i < 6; i++) {
		perc_ep_send_audio(p.a, payload, 100);
		len[i] = grab(&p, pkt[i], sizeof(pkt[i]));
	}
	/* three Full fields under SPI 2, then Short */
	for (unsigned i = 1; i < 5; i++)
		ep_media_input(p.b, pkt[i], len[i]);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.ekt_unknown_spi, 3);
	CU_ASSERT_EQUAL(st.no_key, 4);
	CU_ASSERT_EQUAL(st.e2e_fail, 0);
	CU_ASSERT_EQUAL(st.e2e_ok, 1);
	/* the KD's EKT_KEY arrives: the waiting field is unwrapped */
	CU_ASSERT_EQUAL(ep_ekt_install(p.b, 2, ekt2, 16, NULL, 0, 2, ep_mono_ms()), 0);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.ekt_late_unwrap, 1);
	ep_media_input(p.b, pkt[5], len[5]);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.e2e_ok, 2);
	CU_ASSERT_EQUAL(p.got.last.spi, 2);
	CU_ASSERT_EQUAL(st.e2e_fail, 0);
	pair_free(&p);
}

/* A restarted KD hands out SPI 1 again with another key: the sender's Full
 * field does not unwrap with the old SPI 1 key; it waits for the new one. */
static void
test_media_same_spi_new_key(void)
{
	struct pair p;
	uint8_t ekt1[16], ekt1b[16], salt[12], salt2[12], pkt[3][2048], payload[120] = { 0 };
	size_t len[3];
	struct perc_ep_stats st;

	pair_new(&p, PERC_EP_AUDIO, 250);
	ep_random(ekt1, 16);
	ep_random(ekt1b, 16);
	ep_random(salt, 12);
	ep_random(salt2, 12);
	pair_keys(&p, 1, ekt1, salt, true);
	perc_ep_send_audio(p.a, payload, 100);
	len[0] = grab(&p, pkt[0], sizeof(pkt[0]));
	ep_media_input(p.b, pkt[0], len[0]);
	CU_ASSERT_EQUAL(ep_ekt_install(p.a, 1, ekt1b, 16, salt2, 12, 1, ep_mono_ms()), 0);
	CU_ASSERT_EQUAL(perc_ep_spi_count(p.a), 2);
	for (unsigned i = 1; i < 3; i++) {
		perc_ep_send_audio(p.a, payload, 100);
		len[i] = grab(&p, pkt[i], sizeof(pkt[i]));
	}
	ep_media_input(p.b, pkt[1], len[1]);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.ekt_fail, 1);
	CU_ASSERT_EQUAL(st.no_key, 1);
	CU_ASSERT_EQUAL(st.e2e_fail, 0);
	CU_ASSERT_EQUAL(ep_ekt_install(p.b, 1, ekt1b, 16, salt2, 12, 1, ep_mono_ms()), 0);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.ekt_late_unwrap, 1);
	ep_media_input(p.b, pkt[2], len[2]);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.e2e_ok, 2);
	CU_ASSERT_EQUAL(st.e2e_fail, 0);
	pair_free(&p);
}

static void
test_media_video(void)
{
	struct pair p;
	uint8_t ekt[16], salt[12], pkt[2048], frame[5000];
	size_t len;
	unsigned full = 0, pkts = 0, markers = 0;
	struct perc_ep_stats st;

	pair_new(&p, PERC_EP_VIDEO, 250);
	ep_random(ekt, 16);
	ep_random(salt, 12);
	pair_keys(&p, 5, ekt, salt, true);
	ep_random(frame, sizeof(frame));
	/* frame 1: key frame of 5 packets; frames 2, 3: delta */
	CU_ASSERT_EQUAL(perc_ep_send_video(p.a, frame, sizeof(frame), true), 5);
	CU_ASSERT_EQUAL(perc_ep_send_video(p.a, frame, 2000, false), 2);
	CU_ASSERT_EQUAL(perc_ep_send_video(p.a, frame, 1000, false), 1);
	while ((len = grab(&p, pkt, sizeof(pkt))) > 0) {
		int f = perc_ekt_field_len(pkt, len);

		pkts++;
		full += f > 1;
		markers += (pkt[1] & 0x80) != 0;
		CU_ASSERT_EQUAL(pkt[1] & 0x7f, EP_PT_VIDEO);
		CU_ASSERT(len - (size_t)f <= 12 + 1200 + 16 + 1 + 16);
		ep_media_input(p.b, pkt, len);
	}
	CU_ASSERT_EQUAL(pkts, 8);
	CU_ASSERT_EQUAL(markers, 3);
	CU_ASSERT_EQUAL(full, 5); /* all packets of the key frame */
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.e2e_ok, 8);
	CU_ASSERT_EQUAL(p.got.last.kind, PERC_EP_VIDEO);
	CU_ASSERT_EQUAL(p.got.last.frame_no, 2);
	CU_ASSERT_TRUE(p.got.last.marker);
	pair_free(&p);
}

/* The leak checks: after leaving, the receiver keeps its keys but cannot
 * open media under a key it never got; the counters do count a leak. */
static void
test_leave_and_join_checks(void)
{
	struct pair p;
	uint8_t ekt1[16], ekt2[16], salt[12], pkt[2048], payload[120] = { 0 };
	size_t len;
	struct perc_ep_stats st;

	pair_new(&p, PERC_EP_AUDIO, 250);
	ep_random(ekt1, 16);
	ep_random(ekt2, 16);
	ep_random(salt, 12);
	pair_keys(&p, 1, ekt1, salt, true);
	perc_ep_send_audio(p.a, payload, 100);
	len = grab(&p, pkt, sizeof(pkt));
	ep_media_input(p.b, pkt, len);
	perc_ep_leave(p.b);
	CU_ASSERT_EQUAL(perc_ep_get_state(p.b), PERC_EP_LEFT);
	CU_ASSERT_TRUE(perc_ep_left_ms(p.b) > 0);
	CU_ASSERT_EQUAL(perc_ep_send_audio(p.b, payload, 100), -1);
	/* still held keys: media under SPI 1 opens, that is no leak */
	perc_ep_send_audio(p.a, payload, 100);
	len = grab(&p, pkt, sizeof(pkt));
	ep_media_input(p.b, pkt, len);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.e2e_ok, 2);
	CU_ASSERT_EQUAL(st.after_leave_ok, 0);
	/* the rekey after the leave reaches a only */
	CU_ASSERT_EQUAL(ep_ekt_install(p.a, 2, ekt2, 16, NULL, 0, 2, ep_mono_ms()), 0);
	for (unsigned i = 0; i < 4; i++) {
		perc_ep_send_audio(p.a, payload, 100);
		len = grab(&p, pkt, sizeof(pkt));
		ep_media_input(p.b, pkt, len);
	}
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.e2e_ok, 2);
	CU_ASSERT_EQUAL(st.after_leave_ok, 0);
	CU_ASSERT_EQUAL(st.ekt_unknown_spi, 3);
	CU_ASSERT_EQUAL(st.e2e_fail + st.no_key, 4);
	/* simulate a leak (the test hook installs SPI 2 anyway): counted */
	CU_ASSERT_EQUAL(ep_ekt_install(p.b, 2, ekt2, 16, NULL, 0, 2, ep_mono_ms()), 0);
	ep_tx_rekey(p.a, 0);
	perc_ep_send_audio(p.a, payload, 100);
	len = grab(&p, pkt, sizeof(pkt));
	ep_media_input(p.b, pkt, len);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.e2e_ok, 3);
	CU_ASSERT_EQUAL(st.after_leave_ok, 1);
	/* before_join_ok: a sealed SPI never held (history forgotten) */
	CU_ASSERT_EQUAL(st.before_join_ok, 0);
	p.b->nhist = 0;
	perc_ep_send_audio(p.a, payload, 100);
	len = grab(&p, pkt, sizeof(pkt));
	ep_media_input(p.b, pkt, len);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.before_join_ok, 1);
	pair_free(&p);
}

/* Bad input is a counted drop, never a crash: every truncation and every
 * bit flip of a packet, and random datagrams of every kind. */
static void
test_garbage_input(void)
{
	struct pair p;
	uint8_t ekt[16], salt[12], pkt[2048], m[2048], payload[100] = { 0 };
	size_t len, ekt_at;
	struct perc_ep_stats st;
	uint64_t inputs = 0;
	int sock;

	pair_new(&p, PERC_EP_AUDIO, 250);
	ep_random(ekt, 16);
	ep_random(salt, 12);
	pair_keys(&p, 1, ekt, salt, true);
	perc_ep_send_audio(p.a, payload, sizeof(payload));
	len = grab(&p, pkt, sizeof(pkt));
	CU_ASSERT_FATAL(len > 47);
	ekt_at = len - 47;
	for (size_t n = 0; n < len; n++) {
		memcpy(m, pkt, n);
		ep_media_input(p.b, m, n);
		inputs++;
	}
	/* flips in the SRTP part (covered by the outer tag) never open */
	for (size_t bit = 0; bit < ekt_at * 8; bit++) {
		memcpy(m, pkt, len);
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ep_media_input(p.b, m, len);
		inputs++;
	}
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.rtp_received, inputs);
	CU_ASSERT_EQUAL(st.e2e_ok, 0);
	CU_ASSERT(st.outer_fail + st.ekt_fail >= ekt_at * 8);
	/* flips in the EKT field: outside every tag, refused by the key
	 * wrap, or only the unauthenticated SPI / epoch / length moved */
	for (size_t bit = ekt_at * 8; bit < len * 8; bit++) {
		memcpy(m, pkt, len);
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ep_media_input(p.b, m, len);
	}
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT(st.ekt_fail + st.ekt_unknown_spi > 0);
	CU_ASSERT_EQUAL(st.e2e_fail_header, 0);
	/* the packet itself is a replay by now; the next one opens */
	memcpy(m, pkt, len);
	ep_media_input(p.b, m, len);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT(st.outer_replay > 0);
	perc_ep_send_audio(p.a, payload, sizeof(payload));
	len = grab(&p, pkt, sizeof(pkt));
	ep_media_input(p.b, pkt, len);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT_EQUAL(st.e2e_ok, 1);
	/* random datagrams of every first-byte class through the socket */
	sock = t_udp_socket(NULL);
	t_ep_point_at(p.b, sock);
	p.b->started = true;
	for (unsigned i = 0; i < 400; i++) {
		struct sockaddr_in to = { .sin_family = AF_INET,
					  .sin_port = htons(perc_ep_local_port(p.b)),
					  .sin_addr.s_addr = htonl(0x7f000001) };
		size_t n = 1 + (size_t)(i * 7919u) % 1400u;

		ep_random(m, n);
		m[0] = (uint8_t)(i % 4 == 0 ? i % 4 : i % 4 == 1 ? 20 + i % 40 :
				 i % 4 == 2 ? 128 + i % 64 : 0x00);
		if (i % 8 == 3 && n > 20) { /* STUN header with the cookie */
			m[0] = 0x01;
			m[1] = 0x01;
			m[4] = 0x21; m[5] = 0x12; m[6] = 0xa4; m[7] = 0x42;
		}
		sendto(sock, m, n, 0, (struct sockaddr *)&to, sizeof(to));
		if (i % 50 == 49)
			perc_ep_poll(p.b);
	}
	perc_ep_poll(p.b);
	perc_ep_get_stats(p.b, &st);
	CU_ASSERT(st.stun_fail > 0);
	CU_ASSERT_EQUAL(perc_ep_get_state(p.b), PERC_EP_JOINED);
	close(sock);
	pair_free(&p);
}

/* ------------------------------------------------------ key by reference */
static void
test_header_exports_no_key_bytes(void)
{
	/* every byte pointer or byte array in the public header, and why it
	 * is there: none of them carries key material */
	static const char *const allowed[] = {
		"const uint8_t *payload; /**< application payload",
		"const uint8_t *tls_id;",
		"const uint8_t *payload, size_t len);",
		"const uint8_t *frame, size_t len, bool key_frame);",
	};
	char path[600], line[512];
	unsigned seen[4] = { 0 }, bad = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/../../include/perc/endpoint.h", PERC_VECTORS_DIR);
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		bool ok = false;

		if (strstr(line, "uint8_t") == NULL && strstr(line, "char *") == NULL &&
		    strstr(line, "void *") == NULL && strstr(line, "[") == NULL)
			continue;
		if (strstr(line, "uint8_t") == NULL && strstr(line, "[") == NULL)
			continue; /* strings (ids, names, paths) and cb_arg */
		for (unsigned i = 0; i < 4; i++)
			if (strstr(line, allowed[i]) != NULL) {
				seen[i]++;
				ok = true;
			}
		if (!ok && (strstr(line, "uint8_t *") != NULL || strstr(line, "[") != NULL)) {
			fprintf(stderr, "\n  endpoint.h: unexpected byte buffer: %s", line);
			bad++;
		}
	}
	fclose(f);
	CU_ASSERT_EQUAL(bad, 0);
	for (unsigned i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(seen[i], 1);
}

/* The arena: out of core dumps, keys zeroized on wipe. */
static void
test_arena(void)
{
	struct pair p;
	uint8_t ekt[16], salt[12];
	bool dd;

	pair_new(&p, PERC_EP_AUDIO, 250);
	ep_random(ekt, 16);
	ep_random(salt, 12);
	pair_keys(&p, 1, ekt, salt, true);
	dd = t_smaps_has_flag(p.a->keys, " dd");
	CU_ASSERT_TRUE(dd);
	CU_ASSERT_EQUAL(memcmp(p.a->keys->ekt[0].key, ekt, 16), 0);
	ep_keys_wipe(p.a);
	for (size_t i = 0; i < sizeof(struct ep_arena); i++)
		if (((const uint8_t *)p.a->keys)[i] != 0) {
			CU_FAIL("arena not zero after wipe");
			break;
		}
	pair_free(&p);
}

/* Keys appear in the key log and only there, and only when it is on. */
static void
test_keylog_only_export(void)
{
	struct pair p;
	uint8_t ekt[16], salt[12], payload[100] = { 0 };
	char *kl = NULL, hex[33], line[160];
	size_t kll = 0;
	FILE *klf = open_memstream(&kl, &kll);

	CU_ASSERT_PTR_NOT_NULL_FATAL(klf);
	t_log_capture_reset();
	pair_new(&p, PERC_EP_AUDIO, 250);
	ep_random(ekt, 16);
	ep_random(salt, 12);
	p.a->cfg.keylog = klf;  /* as perc_ep_config.keylog would set it */
	pair_keys(&p, 9, ekt, salt, true);
	perc_ep_send_audio(p.a, payload, sizeof(payload));
	perc_ep_leave(p.a);
	fflush(klf);
	for (unsigned i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", ekt[i]);
	snprintf(line, sizeof(line), " c1-a EKT_KEY spi=9 %s\n", hex);
	CU_ASSERT_PTR_NOT_NULL(strstr(kl, line));
	CU_ASSERT_PTR_NOT_NULL(strstr(kl, " c1-a E2E_KEY ssrc="));
	/* b had no key log: nothing of b there; no key in any log line */
	CU_ASSERT_PTR_NULL(strstr(kl, "c1-b"));
	CU_ASSERT_PTR_NULL(strstr(t_log_capture(), hex));
	CU_ASSERT_TRUE(strlen(t_log_capture()) > 0);
	pair_free(&p);
	fclose(klf);
	free(kl);
}

int
main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	if (t_pki_init(&pki) != 0)
		return 2;
	T_SUITE("endpoint");
	T_ADD(test_sealed_header);
	T_ADD(test_sched_audio);
	T_ADD(test_sched_video);
	T_ADD(test_receiver_keys);
	T_ADD(test_media_audio);
	T_ADD(test_media_inner_fail);
	T_ADD(test_media_rekey_overlap);
	T_ADD(test_media_key_race);
	T_ADD(test_media_same_spi_new_key);
	T_ADD(test_media_video);
	T_ADD(test_leave_and_join_checks);
	T_ADD(test_garbage_input);
	T_ADD(test_header_exports_no_key_bytes);
	T_ADD(test_arena);
	T_ADD(test_keylog_only_export);
	int r = t_run();

	t_pki_free(&pki);
	return r;
}
