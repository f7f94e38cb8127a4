/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What every fuzz harness provides. Built with clang -fsanitize=fuzzer, a
 * harness is a libFuzzer target; built with driver.c it is a plain program
 * that runs it over a deterministic corpus (an ordinary meson test).
 */
#ifndef PERC_FUZZ_H
#define PERC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/** libFuzzer entry point: must accept any input and return 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** Valid inputs (hex, NULL-terminated) that driver.c mutates. */
extern const char *const perc_fuzz_seeds[];

/** A property the harness checks did not hold: crash loudly so that both
 *  libFuzzer and the driver report the input. */
#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
			abort(); \
	} while (0)

#endif
