/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * RFC 8723 Original Header Block: a 1 to 4 byte trailer at the end of the
 * outer plaintext, parsed backwards from its last byte: [PT] [SEQ(2)] Config.
 * Config bits (MSB first) R R R R B M P Q.
 */
#ifndef PERC_OHB_H
#define PERC_OHB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PERC_OHB_Q 0x01u  /**< original SEQ present */
#define PERC_OHB_P 0x02u  /**< original PT present */
#define PERC_OHB_M 0x04u  /**< original marker recorded in B */
#define PERC_OHB_B 0x08u  /**< original marker value */
#define PERC_OHB_R 0xf0u  /**< reserved, must be zero */
#define PERC_OHB_MAX 4u

struct perc_ohb {
	uint8_t config;
	uint8_t pt;      /**< original PT (valid with P) */
	uint16_t seq;    /**< original SEQ (valid with Q) */
	uint8_t len;     /**< bytes on the wire: 1 + P + 2*Q */
};

/** Parse the OHB at the end of an outer plaintext of len bytes. Returns
 *  PERC_R_OK or PERC_R_OHB (reserved bits, B without M, PT byte with its top
 *  bit set, longer than len). */
int perc_ohb_parse(const uint8_t *plain, size_t len, struct perc_ohb *o);

/** Write o at dst (o->len bytes, recomputed from config). Returns bytes. */
size_t perc_ohb_write(uint8_t *dst, const struct perc_ohb *o);

/** A Media Distributor's change to a header: -1 leaves a field alone. */
struct perc_hop_change {
	int pt;      /**< 0..127 or -1 */
	int seq;     /**< 0..65535 or -1 */
	int marker;  /**< 0, 1 or -1 */
};

/**
 * RFC 8723 §5.2: apply a change to the header fields (*pt, *seq, *marker)
 * and to the OHB. The first change of a field records the value it had when
 * the endpoint sent it; setting a field back to that original value drops
 * the entry. Fields not changed leave the OHB alone.
 */
void perc_ohb_apply(struct perc_ohb *o, uint8_t *pt, uint16_t *seq, bool *marker,
		    const struct perc_hop_change *c);

/** Restore the original header fields from an OHB (endpoint receive). */
void perc_ohb_restore(const struct perc_ohb *o, uint8_t *pt, uint16_t *seq, bool *marker);

#endif
