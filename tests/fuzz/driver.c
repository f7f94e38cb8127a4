/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Stand-in for libFuzzer where there is none (gcc builds, CI): runs a
 * harness over a deterministic corpus, so that it is an ordinary test that
 * gives the same inputs on every run.
 *
 *   fuzz_X [iterations [seed]]   seeds, their prefixes and single-byte
 *                                edits, then iterations random and mutated
 *                                inputs (default 200000)
 *   fuzz_X FILE...               run the inputs in these files (replay a
 *                                crash that libFuzzer saved)
 *   fuzz_X --seeds DIR           write the seeds into DIR (an existing
 *                                folder) as a starting corpus for libFuzzer
 *
 * Every input is copied into a heap buffer of exactly its size, so that a
 * read past the end shows under ASan or valgrind.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "perc/kat.h"

#define DEFAULT_ITERS 200000ul
#define MAX_INPUT 2048u
#define MAX_SEEDS 32u
#define MAX_MUTATIONS 6u

struct corpus {
	uint8_t *p[MAX_SEEDS];
	size_t len[MAX_SEEDS];
	unsigned n;
};

static unsigned long runs;

/* xorshift64*: fixed sequence for a fixed seed, like t_rand() */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

static size_t
below(uint64_t *s, size_t n)
{
	return n ? (size_t)(rnd(s) % n) : 0;
}

static void
run_one(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);

	if (d == NULL)
		abort();
	memcpy(d, p, n);
	(void)LLVMFuzzerTestOneInput(d, n);
	free(d);
	runs++;
}

static int
load_seeds(struct corpus *c)
{
	for (c->n = 0; perc_fuzz_seeds[c->n] != NULL; c->n++) {
		size_t cap = strlen(perc_fuzz_seeds[c->n]) / 2 + 1;
		long n;

		if (c->n >= MAX_SEEDS)
			return -1;
		c->p[c->n] = malloc(cap);
		if (c->p[c->n] == NULL)
			return -1;
		n = perc_hex_decode(perc_fuzz_seeds[c->n], c->p[c->n], cap);
		if (n < 0 || (size_t)n > MAX_INPUT) {
			fprintf(stderr, "fuzz: seed %u is not valid hex\n", c->n);
			return -1;
		}
		c->len[c->n] = (size_t)n;
	}
	return c->n > 0 ? 0 : -1;
}

/* Seeds as they are, every prefix, and each byte set to a few values. */
static void
systematic(const struct corpus *c)
{
	static const uint8_t vals[] = { 0x00, 0x01, 0x02, 0x7f, 0x80, 0xff };
	uint8_t w[MAX_INPUT];

	for (unsigned i = 0; i < c->n; i++) {
		for (size_t k = 0; k <= c->len[i]; k++)
			run_one(c->p[i], k);
		if (c->len[i] > MAX_INPUT)
			continue;
		for (size_t k = 0; k < c->len[i]; k++) {
			for (size_t v = 0; v < sizeof(vals); v++) {
				memcpy(w, c->p[i], c->len[i]);
				w[k] = vals[v];
				run_one(w, c->len[i]);
			}
		}
	}
}

/* Values that sit on the edges of length checks. */
static uint16_t
edge16(uint64_t *s, size_t len)
{
	const uint16_t v[] = {
		0, 1, 2, 3, 4, 7, 8, 0x0f, 0x10, 0x2f, 0x7f, 0x80, 0xff, 0x100,
		0x7fff, 0x8000, 0xfffe, 0xffff, (uint16_t)len, (uint16_t)(len - 1),
		(uint16_t)(len + 1), (uint16_t)(len / 4), (uint16_t)(len / 4 - 1),
		(uint16_t)(len - 3),
	};

	return v[below(s, sizeof(v) / sizeof(v[0]))];
}

static void
insert(uint8_t *w, size_t *len, size_t at, const uint8_t *src, size_t n)
{
	if (*len + n > MAX_INPUT)
		n = MAX_INPUT - *len;
	memmove(w + at + n, w + at, *len - at);
	memcpy(w + at, src, n);
	*len += n;
}

static void
mutate(uint64_t *s, const struct corpus *c, uint8_t *w, size_t *len)
{
	size_t at = below(s, *len + 1), n;
	uint8_t tmp[64];
	uint16_t v;
	unsigned o;

	switch (below(s, 10)) {
	case 0:
		if (*len)
			w[below(s, *len)] ^= (uint8_t)(1u << below(s, 8));
		break;
	case 1:
		if (*len)
			w[below(s, *len)] = (uint8_t)rnd(s);
		break;
	case 2:
		if (*len)
			w[below(s, *len)] = (uint8_t)edge16(s, *len);
		break;
	case 3:
		if (*len >= 2) {
			at = below(s, *len - 1);
			v = edge16(s, *len);
			w[at] = (uint8_t)(v >> 8);
			w[at + 1] = (uint8_t)v;
		}
		break;
	case 4:
		n = 1 + below(s, 8);
		for (size_t i = 0; i < n; i++)
			tmp[i] = (uint8_t)rnd(s);
		insert(w, len, at, tmp, n);
		break;
	case 5:
		n = below(s, *len - at + 1);
		memmove(w + at, w + at + n, *len - at - n);
		*len -= n;
		break;
	case 6:
		*len = below(s, *len + 1);
		break;
	case 7:
		/* a copy of a piece of itself somewhere else */
		n = below(s, sizeof(tmp) + 1);
		if (n > *len - at)
			n = *len - at;
		memcpy(tmp, w + at, n);
		insert(w, len, below(s, *len + 1), tmp, n);
		break;
	default:
		/* another seed behind or inside this one: compounds, streams */
		o = (unsigned)below(s, c->n);
		insert(w, len, below(s, 4) ? *len : at, c->p[o], c->len[o]);
		break;
	}
}

static void
random_inputs(uint64_t seed, unsigned long iters, const struct corpus *c)
{
	uint8_t w[MAX_INPUT];

	for (unsigned long i = 0; i < iters; i++) {
		size_t len;

		if (below(&seed, 8) == 0) {
			/* pure noise, mostly short */
			len = below(&seed, 4) ? below(&seed, 80) : below(&seed, MAX_INPUT + 1);
			for (size_t k = 0; k < len; k++)
				w[k] = (uint8_t)rnd(&seed);
		} else {
			unsigned o = (unsigned)below(&seed, c->n);
			unsigned m = 1 + (unsigned)below(&seed, MAX_MUTATIONS);

			len = c->len[o];
			memcpy(w, c->p[o], len);
			/* few mutations more often than many */
			if (below(&seed, 2))
				m = 1 + m / 3;
			while (m--)
				mutate(&seed, c, w, &len);
		}
		run_one(w, len);
	}
}

static int
replay(int argc, char **argv)
{
	static uint8_t buf[1 << 20];

	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t n;

		if (f == NULL) {
			fprintf(stderr, "fuzz: %s: %s\n", argv[i], strerror(errno));
			return 2;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		run_one(buf, n);
		printf("fuzz: %s (%zu bytes) ok\n", argv[i], n);
	}
	return 0;
}

static int
write_seeds(const struct corpus *c, const char *dir)
{
	char path[4096];

	for (unsigned i = 0; i < c->n; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/seed-%02u", dir, i);
		f = fopen(path, "wb");
		if (f == NULL || fwrite(c->p[i], 1, c->len[i], f) != c->len[i]) {
			fprintf(stderr, "fuzz: %s: %s\n", path, strerror(errno));
			if (f != NULL)
				fclose(f);
			return 2;
		}
		fclose(f);
	}
	printf("fuzz: %u seeds written to %s\n", c->n, dir);
	return 0;
}

static bool
is_number(const char *s)
{
	char *end;

	errno = 0;
	(void)strtoul(s, &end, 0);
	return *s != 0 && *end == 0 && errno == 0;
}

int
main(int argc, char **argv)
{
	unsigned long iters = DEFAULT_ITERS;
	uint64_t seed = 0x70657263667a7a31ull;
	struct corpus c = { .n = 0 };
	struct timespec t0, t1;

	if (argc > 1 && strcmp(argv[1], "--seeds") != 0 && !is_number(argv[1]))
		return replay(argc, argv);
	if (load_seeds(&c) < 0)
		return 2;
	if (argc == 3 && strcmp(argv[1], "--seeds") == 0)
		return write_seeds(&c, argv[2]);
	if (argc > 1)
		iters = strtoul(argv[1], NULL, 0);
	if (argc > 2 && is_number(argv[2]))
		seed = strtoull(argv[2], NULL, 0) | 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	systematic(&c);
	random_inputs(seed, iters, &c);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("fuzz: %lu inputs from %u seeds, seed 0x%llx, %.2f s\n", runs, c.n,
	       (unsigned long long)seed,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	for (unsigned i = 0; i < c.n; i++)
		free(c.p[i]);
	return 0;
}
