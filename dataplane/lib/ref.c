/* SPDX-License-Identifier: BSD-3-Clause */
/* placeholder until the libsrtp2 backend lands */
#include "internal.h"
int perc_ref_global_init(void) { return -1; }
int perc_ref_key_init(struct perc_key *k, const struct perc_profile *l, const uint8_t *a, const uint8_t *b) { (void)k; (void)l; (void)a; (void)b; return PERC_R_ENGINE; }
void perc_ref_key_clear(struct perc_key *k) { (void)k; }
void perc_ref_op(struct perc_op *op) { op->reason = PERC_R_ENGINE; }
