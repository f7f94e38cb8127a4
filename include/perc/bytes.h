/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Big-endian (network order) loads and stores of unaligned header fields,
 * shared by every codec of the project (RTP/RTCP, EKT, STUN, the tunnel,
 * the KD messages, the packet parser). Byte by byte: no alignment needed,
 * and the compiler turns each into one load/store with a byte swap.
 */
#ifndef PERC_BYTES_H
#define PERC_BYTES_H

#include <stdint.h>

/** 16-bit big-endian value at p. */
static inline uint16_t
perc_rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

/** 32-bit big-endian value at p. */
static inline uint32_t
perc_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/** Store v big-endian at p; returns p + 2 (for writers that advance). */
static inline uint8_t *
perc_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

/** Store v big-endian at p; returns p + 4. */
static inline uint8_t *
perc_wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

#endif /* PERC_BYTES_H */
