/* SPDX-License-Identifier: BSD-3-Clause */
/* ROC estimation (RFC 3711 §3.3.1) and the bitmap replay window (§3.3.2). */
#include <string.h>

#include "perc/reason.h"
#include "perc/replay.h"

static bool
window_ok(uint32_t window)
{
	return window >= PERC_REPLAY_MIN && window <= PERC_REPLAY_MAX;
}

/* bitmap bits for a window: the next power of two */
static uint32_t
bitmap_bits(uint32_t window)
{
	uint32_t b = 64;

	while (b < window)
		b <<= 1;
	return b;
}

size_t
perc_stream_size(uint32_t window)
{
	if (!window_ok(window))
		return 0;
	return sizeof(struct perc_stream) + 2 * (bitmap_bits(window) / 8);
}

static void
replay_clear(struct perc_replay *w)
{
	w->top = 0;
	w->seen = 0;
	w->hinted = 0;
	w->hint = 0;
	memset(w->bits, 0, w->nwords * sizeof(uint64_t));
}

struct perc_stream *
perc_stream_init(void *mem, uint32_t window, uint32_t roc)
{
	struct perc_stream *s = mem;
	uint64_t *bits = (uint64_t *)(s + 1);
	uint32_t nbits;

	if (mem == NULL || !window_ok(window))
		return NULL;
	nbits = bitmap_bits(window);
	s->rtp.window = s->rtcp.window = window;
	s->rtp.mask = s->rtcp.mask = nbits - 1;
	s->rtp.nwords = s->rtcp.nwords = nbits / 64;
	s->rtp.bits = bits;
	s->rtcp.bits = bits + nbits / 64;
	perc_stream_reset(s, roc);
	return s;
}

void
perc_stream_reset(struct perc_stream *s, uint32_t roc)
{
	replay_clear(&s->rtp);
	replay_clear(&s->rtcp);
	s->roc_init = roc;
	s->rtcp_next = 0;
}

bool
perc_rtp_index_guess(const struct perc_replay *w, uint32_t roc_init, uint16_t seq,
		     uint64_t *index)
{
	uint32_t roc, s_l;
	int64_t v;

	if (!w->seen) {
		*index = ((uint64_t)roc_init << 16) | seq;
		return true;
	}
	roc = (uint32_t)(w->top >> 16);
	s_l = (uint32_t)(w->top & 0xffff);
	v = roc;
	if (s_l < 32768) {
		if (seq > s_l && seq - s_l > 32768)
			v = (int64_t)roc - 1;
	} else if (seq < s_l - 32768) {
		v = (int64_t)roc + 1;
	}
	if (v < 0 || v > UINT32_MAX)
		return false;
	*index = ((uint64_t)v << 16) | seq;
	return true;
}

int
perc_replay_check(const struct perc_replay *w, uint64_t index)
{
	uint64_t bit;

	if (!w->seen || index > w->top)
		return PERC_R_OK;
	if (w->top - index >= w->window)
		return PERC_R_TOO_OLD;
	bit = index & w->mask;
	if (w->bits[bit / 64] & (1ull << (bit % 64)))
		return PERC_R_REPLAY;
	return PERC_R_OK;
}

/* Clear the slots of indices from..to (inclusive), to - from < bitmap bits. */
static void
clear_slots(struct perc_replay *w, uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i <= to;) {
		uint64_t bit = i & w->mask;

		if (bit % 64 == 0 && to - i >= 63) {
			w->bits[bit / 64] = 0;
			i += 64;
		} else {
			w->bits[bit / 64] &= ~(1ull << (bit % 64));
			i++;
		}
	}
}

int
perc_replay_update(struct perc_replay *w, uint64_t index)
{
	uint64_t bit;

	if (w->seen && index == w->top + 1) {
		/* in-order packet: its own slot is the only one to recycle, and
		 * it is about to be set */
		w->top = index;
	} else if (!w->seen) {
		w->seen = 1;
		w->top = index;
	} else if (index > w->top) {
		if (index - w->top > w->mask)
			memset(w->bits, 0, w->nwords * sizeof(uint64_t));
		else
			clear_slots(w, w->top + 1, index);
		w->top = index;
	} else {
		int r = perc_replay_check(w, index);

		if (r != PERC_R_OK)
			return r;
	}
	bit = index & w->mask;
	w->bits[bit / 64] |= 1ull << (bit % 64);
	return PERC_R_OK;
}
