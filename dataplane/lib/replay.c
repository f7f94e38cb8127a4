/* SPDX-License-Identifier: BSD-3-Clause */
/* ROC estimation (RFC 3711 §3.3.1) and the bitmap replay window (§3.3.2). */
#include <string.h>

#include "perc/reason.h"
#include "perc/replay.h"

static bool
window_ok(uint32_t window)
{
	return window >= PERC_REPLAY_MIN && window <= PERC_REPLAY_MAX && window % 64 == 0;
}

size_t
perc_stream_size(uint32_t window)
{
	if (!window_ok(window))
		return 0;
	return sizeof(struct perc_stream) + 2 * (window / 8);
}

static void
replay_clear(struct perc_replay *w)
{
	w->top = 0;
	w->seen = 0;
	memset(w->bits, 0, w->nwords * sizeof(uint64_t));
}

struct perc_stream *
perc_stream_init(void *mem, uint32_t window, uint32_t roc)
{
	struct perc_stream *s = mem;
	uint64_t *bits = (uint64_t *)(s + 1);

	if (mem == NULL || !window_ok(window))
		return NULL;
	s->rtp.nwords = window / 64;
	s->rtp.bits = bits;
	s->rtcp.nwords = window / 64;
	s->rtcp.bits = bits + window / 64;
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
	uint64_t window = (uint64_t)w->nwords * 64, bit;

	if (!w->seen || index > w->top)
		return PERC_R_OK;
	if (w->top - index >= window)
		return PERC_R_TOO_OLD;
	bit = index % window;
	if (w->bits[bit / 64] & (1ull << (bit % 64)))
		return PERC_R_REPLAY;
	return PERC_R_OK;
}

int
perc_replay_update(struct perc_replay *w, uint64_t index)
{
	uint64_t window = (uint64_t)w->nwords * 64, bit;

	if (!w->seen) {
		w->seen = 1;
		w->top = index;
	} else if (index > w->top) {
		uint64_t gap = index - w->top;

		if (gap >= window) {
			memset(w->bits, 0, w->nwords * sizeof(uint64_t));
		} else {
			/* clear the slots of indices top+1 .. index-1 (and index) */
			for (uint64_t i = w->top + 1; i <= index; i++) {
				bit = i % window;
				if (bit % 64 == 0 && index - i >= 63) {
					w->bits[bit / 64] = 0;
					i += 63;
					continue;
				}
				w->bits[bit / 64] &= ~(1ull << (bit % 64));
			}
		}
		w->top = index;
	} else {
		int r = perc_replay_check(w, index);

		if (r != PERC_R_OK)
			return r;
	}
	bit = index % window;
	w->bits[bit / 64] |= 1ull << (bit % 64);
	return PERC_R_OK;
}
