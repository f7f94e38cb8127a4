/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * splitmix64: a seeded, reproducible generator for the traffic generators
 * and benchmarks (perc-loadgen, perc-bench-pipeline-gen), so that a seed
 * gives the same keys, SSRCs and timestamps on every run and host.
 * Not a cryptographic generator: the daemons and perc-endpoint take their
 * keys from OpenSSL's RAND_bytes, never from here.
 */
#ifndef PERC_SEEDRNG_H
#define PERC_SEEDRNG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/** Next 64-bit value of the sequence whose state is *s. */
static inline uint64_t
perc_seedrng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/** Fill out[0..n) from the sequence (8 bytes a step, host byte order). */
static inline void
perc_seedrng_bytes(uint64_t *s, uint8_t *out, size_t n)
{
	while (n > 0) {
		uint64_t v = perc_seedrng_next(s);
		size_t k = n < 8 ? n : 8;

		memcpy(out, &v, k);
		out += k;
		n -= k;
	}
}

#endif /* PERC_SEEDRNG_H */
