/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * mddctl's operator verbs (metrics, drain, limits, log levels, capture).
 */
#ifndef MDDCTL_OPS_H
#define MDDCTL_OPS_H

#include <jansson.h>

/** Usage lines of the verbs. */
extern const char mddctl_ops_usage[];

/**
 * The request for an operator verb argv[0] (argc >= 1): *mine = 1 when
 * argv[0] is one (then NULL means bad usage, *why says the form), 0 when
 * it is another command.
 */
json_t *mddctl_ops_build(int argc, char **argv, const char **why, int *mine);

#endif
