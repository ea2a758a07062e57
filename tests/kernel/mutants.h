/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mutants.h - what the malformed-image generator (mutants.c) and the
 * runner that attaches its cases (mutant_run.c) must agree on: which bytes
 * of a device and of a file are hashed, and the hash.
 */
#ifndef MUTANTS_H
#define MUTANTS_H

#include <stddef.h>
#include <linux/types.h>

#include "prld_format.h"

#define WHOLE_LIMIT	(4ULL << 20)	/* devices up to this are read whole */
#define EDGE_BYTES	(1ULL << 20)	/* else this much at each end */
/* Files are hashed over their first HASH_SPAN bytes plus their length. */
#define HASH_SPAN	(4ULL << 20)

#define FNV_INIT	0xcbf29ce484222325ULL
#define FNV_PRIME	0x100000001b3ULL

/*
 * FNV-1a over 64-bit little-endian words (bytes for a tail): a byte loop
 * costs seconds per case under the emulated CPU.  Callers hash a stream in
 * pieces whose lengths are multiples of 8 except the last.
 */
static inline __u64 fnv(__u64 h, const __u8 *p, size_t n)
{
	for (; n >= 8; n -= 8, p += 8)
		h = (h ^ prld_get_le64(p)) * FNV_PRIME;
	while (n--)
		h = (h ^ *p++) * FNV_PRIME;
	return h;
}

/* Byte ranges of a device of @size bytes whose content is hashed. */
static inline int sample_ranges(__u64 size, __u64 start[2], __u64 len[2])
{
	if (size <= WHOLE_LIMIT) {
		start[0] = 0;
		len[0] = size;
		return 1;
	}
	start[0] = 0;
	len[0] = EDGE_BYTES;
	start[1] = size - EDGE_BYTES;
	len[1] = EDGE_BYTES;
	return 2;
}

#endif /* MUTANTS_H */
