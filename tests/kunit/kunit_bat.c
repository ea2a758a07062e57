// SPDX-License-Identifier: GPL-2.0
/*
 * kunit_bat.c - BAT entries: entry <-> byte offset in both formats (V1
 * counts sectors, V2 clusters), the per-entry rules (inside the data area,
 * on the cluster grid, inside the file) and duplicate detection over a
 * whole BAT.
 */
#include <kunit/test.h>

#include "prld_format.h"

struct conv_case {
	const char *name;
	u32 fmt;
	u32 cluster;
	u32 entry;
	u64 offset;
};

static const struct conv_case conv_cases[] = {
	{ "v1 sector 1", PRLD_FMT_V1, 2048, 1, 512 },
	{ "v1 1 MiB", PRLD_FMT_V1, 2048, 2048, 1ULL << 20 },
	{ "v1 max entry", PRLD_FMT_V1, 2048, 0xffffffff, 0xffffffffULL * 512 },
	{ "v2 cluster 1", PRLD_FMT_V2, 2048, 1, 1ULL << 20 },
	{ "v2 512-byte clusters", PRLD_FMT_V2, 1, 7, 7 * 512 },
	{ "v2 max entry, 64 MiB clusters", PRLD_FMT_V2, 131072, 0xffffffff,
	  0xffffffffULL << 26 },
	{ "v2 odd cluster size", PRLD_FMT_V2, 3, 5, 5 * 3 * 512 },
};

static void conv_case_desc(const struct conv_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(conv, conv_cases, conv_case_desc);

static void prld_bat_conversion(struct kunit *test)
{
	const struct conv_case *c = test->param_value;
	struct prld_geom g = { .fmt = c->fmt, .cluster_sectors = c->cluster };

	KUNIT_EXPECT_EQ(test, prld_bat_to_offset(&g, c->entry), c->offset);
	KUNIT_EXPECT_EQ(test, prld_offset_to_bat(&g, c->offset), c->entry);
	KUNIT_EXPECT_LE(test, c->offset, prld_max_entry_offset(&g));
	KUNIT_EXPECT_EQ(test, prld_bat_to_offset(&g, 0), 0ULL);
}

/*
 * Images for the entry rules, with four data clusters after the data
 * area's start:
 *   v1: 1 MiB clusters, data area at sector 2048 (entries count sectors)
 *   v1u: 4 KiB clusters, data area at sector 1 (not on the cluster grid)
 *   v2: 512-byte clusters, data area at sector 8 (BAT of 1000 entries)
 */
struct entry_case {
	const char *name;
	u32 fmt;
	u32 cluster;
	u32 data_off;
	u32 entry;
	int want;
	u64 offset;		/* when valid */
};

static const struct entry_case entry_cases[] = {
	{ "v1 first data cluster", PRLD_FMT_V1, 2048, 2048, 2048, PRLD_OK,
	  1ULL << 20 },
	{ "v1 last data cluster", PRLD_FMT_V1, 2048, 2048, 4 * 2048, PRLD_OK,
	  4ULL << 20 },
	{ "v1 one cluster past eof", PRLD_FMT_V1, 2048, 2048, 5 * 2048,
	  PRLD_E_BAT_EOF },
	{ "v1 inside the header", PRLD_FMT_V1, 2048, 2048, 1, PRLD_E_BAT_LOW },
	{ "v1 sector before data", PRLD_FMT_V1, 2048, 2048, 2047,
	  PRLD_E_BAT_LOW },
	{ "v1 off the grid", PRLD_FMT_V1, 2048, 2048, 2049, PRLD_E_BAT_ALIGN },
	{ "v1 max entry", PRLD_FMT_V1, 2048, 2048, 0xffffffff,
	  PRLD_E_BAT_ALIGN },
	{ "v1u grid from data_off", PRLD_FMT_V1, 8, 1, 9, PRLD_OK, 9 * 512 },
	{ "v1u cluster-aligned is off its grid", PRLD_FMT_V1, 8, 1, 8,
	  PRLD_E_BAT_ALIGN },
	{ "v2 first data cluster", PRLD_FMT_V2, 1, 8, 8, PRLD_OK, 8 * 512 },
	{ "v2 last data cluster", PRLD_FMT_V2, 1, 8, 11, PRLD_OK, 11 * 512 },
	{ "v2 past eof", PRLD_FMT_V2, 1, 8, 12, PRLD_E_BAT_EOF },
	{ "v2 in the bat", PRLD_FMT_V2, 1, 8, 7, PRLD_E_BAT_LOW },
	{ "v2 max entry", PRLD_FMT_V2, 1, 8, 0xffffffff, PRLD_E_BAT_EOF },
};

static void entry_case_desc(const struct entry_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(entry, entry_cases, entry_case_desc);

static void prld_bat_entry_case(struct kunit *test)
{
	const struct entry_case *c = test->param_value;
	struct prld_geom g = {
		.fmt = c->fmt, .cluster_sectors = c->cluster,
		.data_off = c->data_off,
	};
	u64 file_size = prld_data_start(&g) + 4 * prld_cluster_bytes(&g);
	struct prld_fault f = { 0 };
	u64 off = 0;
	int ret;

	ret = prld_bat_entry_check(&g, 42, c->entry, file_size, &off, &f);
	KUNIT_EXPECT_EQ_MSG(test, ret, c->want, "%s", prld_status_str(ret));
	if (ret == PRLD_OK) {
		KUNIT_EXPECT_EQ(test, off, c->offset);
		KUNIT_EXPECT_EQ(test, prld_slot_to_offset(&g,
				prld_offset_to_slot(&g, off)), off);
	} else {
		KUNIT_EXPECT_EQ(test, f.field, 42U);
		KUNIT_EXPECT_EQ(test, f.value, (u64)c->entry);
	}
}

/* A whole BAT: zeros skipped, the first bad entry reported by index. */
struct bat_case {
	const char *name;
	u32 entries[6];
	int want;
	u32 want_index;
};

/* v2, 512-byte clusters, data at sector 8, four data clusters (8..11). */
static const struct bat_case bat_cases[] = {
	{ "empty", { 0 }, PRLD_OK },
	{ "all four slots", { 8, 0, 9, 10, 0, 11 }, PRLD_OK },
	{ "reverse order", { 11, 10, 9, 8 }, PRLD_OK },
	{ "duplicate", { 8, 9, 0, 9 }, PRLD_E_BAT_DUP, 3 },
	{ "duplicate of first", { 10, 0, 0, 0, 0, 10 }, PRLD_E_BAT_DUP, 5 },
	{ "bad before duplicate", { 8, 3, 8 }, PRLD_E_BAT_LOW, 1 },
	{ "past eof last", { 8, 9, 10, 11, 0, 12 }, PRLD_E_BAT_EOF, 5 },
};

static void bat_case_desc(const struct bat_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(bat, bat_cases, bat_case_desc);

static void prld_bat_check_case(struct kunit *test)
{
	const struct bat_case *c = test->param_value;
	struct prld_geom g = {
		.fmt = PRLD_FMT_V2, .cluster_sectors = 1, .data_off = 8,
	};
	u64 file_size = prld_data_start(&g) + 4 * prld_cluster_bytes(&g);
	u8 raw[sizeof(c->entries)], seen[1] = { 0 };
	struct prld_fault f = { 0 };
	unsigned int i;
	int ret;

	KUNIT_ASSERT_EQ(test, prld_data_slots(&g, file_size), 4ULL);
	for (i = 0; i < ARRAY_SIZE(c->entries); i++)
		prld_put_le32(raw + 4 * i, c->entries[i]);
	ret = prld_bat_check(&g, raw, ARRAY_SIZE(c->entries), file_size, seen,
			     &f);
	KUNIT_EXPECT_EQ_MSG(test, ret, c->want, "%s", prld_status_str(ret));
	if (ret != PRLD_OK)
		KUNIT_EXPECT_EQ(test, f.field, c->want_index);
	/* The bitmap never grows past the file's data slots. */
	KUNIT_EXPECT_EQ(test, seen[0] & 0xf0, 0);
}

static void prld_data_slots_bounds(struct kunit *test)
{
	struct prld_geom g = {
		.fmt = PRLD_FMT_V2, .cluster_sectors = 2048, .data_off = 2048,
	};

	KUNIT_EXPECT_EQ(test, prld_data_slots(&g, 0), 0ULL);
	KUNIT_EXPECT_EQ(test, prld_data_slots(&g, 1ULL << 20), 0ULL);
	KUNIT_EXPECT_EQ(test, prld_data_slots(&g, (2ULL << 20) - 1), 0ULL);
	KUNIT_EXPECT_EQ(test, prld_data_slots(&g, 2ULL << 20), 1ULL);
	KUNIT_EXPECT_EQ(test, prld_data_slots(&g, (3ULL << 20) + 5), 2ULL);
}

/* A reader's check reaches the end of the slot a torn file ends in. */
static void prld_bat_check_size_torn(struct kunit *test)
{
	struct prld_geom g = {
		.fmt = PRLD_FMT_V1, .cluster_sectors = 3072, .data_off = 3072,
	};
	u64 cb = 3072 * 512;

	KUNIT_EXPECT_EQ(test, prld_bat_check_size(&g, 3 * cb, 0), 3 * cb);
	KUNIT_EXPECT_EQ(test, prld_bat_check_size(&g, 3 * cb - 4096, 0), 3 * cb);
	KUNIT_EXPECT_EQ(test, prld_bat_check_size(&g, 2 * cb + 1, 0), 3 * cb);
	KUNIT_EXPECT_EQ(test, prld_bat_check_size(&g, 3 * cb - 4096, 1),
			3 * cb - 4096);
	/* Nothing past the data start to round. */
	KUNIT_EXPECT_EQ(test, prld_bat_check_size(&g, 100, 0), 100ULL);
}

static struct kunit_case prld_bat_cases[] = {
	KUNIT_CASE_PARAM(prld_bat_conversion, conv_gen_params),
	KUNIT_CASE_PARAM(prld_bat_entry_case, entry_gen_params),
	KUNIT_CASE_PARAM(prld_bat_check_case, bat_gen_params),
	KUNIT_CASE(prld_data_slots_bounds),
	KUNIT_CASE(prld_bat_check_size_torn),
	{}
};

static struct kunit_suite prld_bat_suite = {
	.name = "prld_bat",
	.test_cases = prld_bat_cases,
};

kunit_test_suites(&prld_bat_suite);
