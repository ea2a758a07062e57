// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * geometry.c - the CHS geometry ploop writes into new disks.  Geometry is
 * informational (the size in sectors is authoritative), but matching
 * ploop keeps descriptors we create identical to the ones users know.
 */
#include "internal.h"

#define CHS_MID_LOW	1032192ULL	/* 1024 x 16 x 63: old CHS limit */
#define CHS_MID_HIGH	16777216ULL	/* 8 GiB in sectors */

static uint32_t clamp_u32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* First of @cand (zero-terminated) that divides @n, 0 if none. */
static uint32_t first_divisor(uint64_t n, const uint32_t *cand)
{
	for (; *cand; cand++)
		if (n % *cand == 0)
			return *cand;
	return 0;
}

void prld_chs_from_size(uint64_t size_sectors, struct prld_chs *chs)
{
	static const uint32_t sector_cand[] = { 63, 32, 16, 8, 0 };
	static const uint32_t head_cand[] = { 16, 8, 4, 2, 0 };
	uint32_t s, h = 0;

	/* Mid-sized disks get the classic 16 heads x 63 sectors. */
	if (size_sectors > CHS_MID_LOW && size_sectors < CHS_MID_HIGH) {
		chs->sectors = 63;
		chs->heads = 16;
		chs->cylinders = clamp_u32(size_sectors / (63 * 16));
		return;
	}
	s = first_divisor(size_sectors, sector_cand);
	if (s)
		h = first_divisor(size_sectors / s, head_cand);
	if (!h) {
		/* Nothing divides evenly: describe the disk as pure LBA. */
		chs->sectors = 1;
		chs->heads = 1;
		chs->cylinders = clamp_u32(size_sectors);
		return;
	}
	chs->sectors = s;
	chs->heads = h;
	chs->cylinders = clamp_u32(size_sectors / s / h);
}
