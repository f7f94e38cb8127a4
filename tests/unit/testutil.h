/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the CUnit test programs. */
#ifndef PERC_TESTUTIL_H
#define PERC_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "perc/kat.h"
#include "perc/srtp.h"

/** Decode a hex string that the test itself supplies; aborts on bad hex. */
static inline size_t
t_hex(const char *hex, uint8_t *out, size_t cap)
{
	long n = perc_hex_decode(hex, out, cap);

	if (n < 0) {
		fprintf(stderr, "bad test hex: %s\n", hex);
		abort();
	}
	return (size_t)n;
}

/** Read a vector file from the source tree (PERC_VECTORS_DIR) into a
 *  malloc'd NUL-terminated buffer. Aborts when missing. */
static inline char *
t_read_vectors(const char *name)
{
	char path[512];
	FILE *f;
	long n;
	char *buf;

	snprintf(path, sizeof(path), "%s/%s", PERC_VECTORS_DIR, name);
	f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		abort();
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
		abort();
	buf[n] = 0;
	fclose(f);
	return buf;
}

/** A malloc'd copy of exactly n bytes, so that a read past the end shows up
 *  under AddressSanitizer; aborts when out of memory. */
static inline uint8_t *
t_dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);

	if (d == NULL)
		abort();
	memcpy(d, p, n);
	return d;
}

/** The ipsec-mb architectures this CPU runs (AUTO excluded); returns count. */
static inline int
t_archs(enum perc_arch *out)
{
	int n = 0;

	for (int a = PERC_ARCH_SSE; a <= PERC_ARCH_AVX512; a++)
		if (perc_arch_supported((enum perc_arch)a))
			out[n++] = (enum perc_arch)a;
	return n;
}

/** Deterministic PRNG for reproducible random tests (xorshift64*). */
static inline uint64_t
t_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

/** Run the registered CUnit suites verbosely; exit status 1 on failures. */
static inline int
t_run(void)
{
	unsigned fails;

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}

#define T_SUITE(name) CU_pSuite suite_ = CU_add_suite(name, NULL, NULL)
#define T_ADD(fn) CU_add_test(suite_, #fn, fn)

#endif
