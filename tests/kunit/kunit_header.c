// SPDX-License-Identifier: GPL-2.0
/*
 * kunit_header.c - prld_header_check(): every field of the 64-byte header
 * at and around each boundary it has, for V1 and V2 images.
 *
 * Each case starts from the header prld_layout() makes for a given format,
 * cluster and size (a valid image), overrides one field and states the
 * verdict and the field the fault must name.
 */
#include <kunit/test.h>

#include "prld_format.h"

#define MIB		(1ULL << 20)

struct hdr_case {
	const char *name;
	u32 fmt;
	u32 cluster;		/* sectors, for prld_layout() */
	u64 size;		/* sectors, for prld_layout() */
	u32 off;		/* field to override; 0 with width 0: none */
	u32 width;		/* 1, 4 or 8 bytes */
	u64 value;
	u64 extra;		/* file bytes past the data area's start */
	u64 file_size;		/* if non-zero, the file size instead */
	u64 len;		/* header bytes given; 0: 64 */
	int want;
	u32 want_field;
};

/* V2 base: 1 MiB clusters, 16 of them; data area at 1 MiB. */
#define V2(n, o, w, v, st, fl) \
	{ n, PRLD_FMT_V2, 2048, 32768, o, w, v, 0, 0, 0, st, fl }
#define V1(n, o, w, v, st, fl) \
	{ n, PRLD_FMT_V1, 2048, 32768, o, w, v, 0, 0, 0, st, fl }

static const struct hdr_case hdr_cases[] = {
	V2("v2 valid", 0, 0, 0, PRLD_OK, 0),
	V1("v1 valid", 0, 0, 0, PRLD_OK, 0),
	{ "v1 1-sector cluster", PRLD_FMT_V1, 1, 100, 0, 0, 0, 0, 0, 0,
	  PRLD_OK, 0 },
	{ "v2 64 MiB cluster", PRLD_FMT_V2, 131072, 131072, 0, 0, 0, 0, 0, 0,
	  PRLD_OK, 0 },
	{ "len 63", PRLD_FMT_V2, 2048, 32768, 0, 0, 0, 0, 0, 63,
	  PRLD_E_SHORT, 0 },
	{ "file 63 bytes", PRLD_FMT_V2, 2048, 32768, 0, 0, 0, 0, 63, 0,
	  PRLD_E_SHORT, 0 },
	{ "file 64 bytes", PRLD_FMT_V2, 2048, 32768, 0, 0, 0, 0, 64, 0,
	  PRLD_E_DATA_OFF_EOF, PRLD_OFF_DATA_OFF },
	{ "file one byte short of data", PRLD_FMT_V2, 2048, 32768, 0, 0, 0, 0,
	  MIB - 1, 0, PRLD_E_DATA_OFF_EOF, PRLD_OFF_DATA_OFF },
	V2("magic first byte", 0, 1, 'w', PRLD_E_MAGIC, 0),
	V2("magic last byte", 15, 1, 0, PRLD_E_MAGIC, 0),
	V1("v1 magic last byte", 15, 1, 'E', PRLD_E_MAGIC, 0),
	V2("version 0", PRLD_OFF_VERSION, 4, 0, PRLD_E_VERSION, PRLD_OFF_VERSION),
	V2("version 1", PRLD_OFF_VERSION, 4, 1, PRLD_E_VERSION, PRLD_OFF_VERSION),
	V2("version 3", PRLD_OFF_VERSION, 4, 3, PRLD_E_VERSION, PRLD_OFF_VERSION),
	V1("v1 version max", PRLD_OFF_VERSION, 4, 0xffffffff, PRLD_E_VERSION,
	   PRLD_OFF_VERSION),
	V2("heads max", PRLD_OFF_HEADS, 4, 0xffffffff, PRLD_OK, 0),
	V2("cylinders max", PRLD_OFF_CYLINDERS, 4, 0xffffffff, PRLD_OK, 0),
	V2("inuse set", PRLD_OFF_INUSE, 4, PRLD_INUSE_MAGIC, PRLD_OK, 0),
	V2("flags max", PRLD_OFF_FLAGS, 4, 0xffffffff, PRLD_OK, 0),
	V2("tracks 0", PRLD_OFF_TRACKS, 4, 0, PRLD_E_CLUSTER_ZERO, PRLD_OFF_TRACKS),
	V1("v1 tracks 0", PRLD_OFF_TRACKS, 4, 0, PRLD_E_CLUSTER_ZERO,
	   PRLD_OFF_TRACKS),
	V2("tracks 64 MiB + 1", PRLD_OFF_TRACKS, 4, 131073, PRLD_E_CLUSTER_BIG,
	   PRLD_OFF_TRACKS),
	V2("tracks max", PRLD_OFF_TRACKS, 4, 0xffffffff, PRLD_E_CLUSTER_BIG,
	   PRLD_OFF_TRACKS),
	V2("tracks doubled", PRLD_OFF_TRACKS, 4, 4096, PRLD_E_SIZE_VS_BAT,
	   PRLD_OFF_BAT_ENTRIES),
	V2("nb_sectors 0", PRLD_OFF_NB_SECTORS, 8, 0, PRLD_E_SIZE_ZERO,
	   PRLD_OFF_NB_SECTORS),
	V2("nb_sectors one short", PRLD_OFF_NB_SECTORS, 8, 32767, PRLD_OK, 0),
	V2("nb_sectors into last cluster", PRLD_OFF_NB_SECTORS, 8, 30721,
	   PRLD_OK, 0),
	V2("nb_sectors one cluster less", PRLD_OFF_NB_SECTORS, 8, 30720,
	   PRLD_E_SIZE_VS_BAT, PRLD_OFF_BAT_ENTRIES),
	V2("nb_sectors one over", PRLD_OFF_NB_SECTORS, 8, 32769,
	   PRLD_E_SIZE_VS_BAT, PRLD_OFF_BAT_ENTRIES),
	V2("v2 nb_sectors high half", PRLD_OFF_NB_SECTORS, 8,
	   32768 + (1ULL << 32), PRLD_E_SIZE_VS_BAT, PRLD_OFF_BAT_ENTRIES),
	V1("v1 ignores nb_sectors high half", PRLD_OFF_NB_SECTORS, 8,
	   32768 + (1ULL << 32), PRLD_OK, 0),
	V1("v1 nb_sectors 0 in low half", PRLD_OFF_NB_SECTORS, 8, 1ULL << 32,
	   PRLD_E_SIZE_ZERO, PRLD_OFF_NB_SECTORS),
	V2("bat_entries one short", PRLD_OFF_BAT_ENTRIES, 4, 15,
	   PRLD_E_SIZE_VS_BAT, PRLD_OFF_BAT_ENTRIES),
	V2("bat_entries one over", PRLD_OFF_BAT_ENTRIES, 4, 17,
	   PRLD_E_SIZE_VS_BAT, PRLD_OFF_BAT_ENTRIES),
	V1("v1 bat_entries 0", PRLD_OFF_BAT_ENTRIES, 4, 0,
	   PRLD_E_SIZE_VS_BAT, PRLD_OFF_BAT_ENTRIES),
	/* data_off 0 (old headers): computed as QEMU does, read-only. */
	V2("data_off 0", PRLD_OFF_DATA_OFF, 4, 0, PRLD_OK, 0),
	V1("v1 data_off 0", PRLD_OFF_DATA_OFF, 4, 0, PRLD_OK, 0),
	V1("v1 data_off 1 (unaligned is fine)", PRLD_OFF_DATA_OFF, 4, 1,
	   PRLD_OK, 0),
	V2("v2 data_off 1", PRLD_OFF_DATA_OFF, 4, 1, PRLD_E_DATA_OFF_ALIGN,
	   PRLD_OFF_DATA_OFF),
	V2("v2 data_off cluster - 1", PRLD_OFF_DATA_OFF, 4, 2047,
	   PRLD_E_DATA_OFF_ALIGN, PRLD_OFF_DATA_OFF),
	V2("data_off past eof", PRLD_OFF_DATA_OFF, 4, 4096, PRLD_E_DATA_OFF_EOF,
	   PRLD_OFF_DATA_OFF),
	{ "data_off at eof", PRLD_FMT_V2, 2048, 32768, PRLD_OFF_DATA_OFF, 4,
	  4096, MIB, 0, 0, PRLD_OK, 0 },
	/* 1024 V1 entries end at byte 4160: 9 sectors, not 8. */
	{ "v1 data_off inside bat", PRLD_FMT_V1, 1, 1024, PRLD_OFF_DATA_OFF, 4,
	  8, 0, 0, 0, PRLD_E_DATA_OFF_LOW, PRLD_OFF_DATA_OFF },
	{ "v1 data_off right after bat", PRLD_FMT_V1, 1, 1024,
	  PRLD_OFF_DATA_OFF, 4, 9, 0, 0, 0, PRLD_OK, 0 },
	/* 512-byte V2 clusters: the last of 16 clusters at entry 2^32 - 1. */
	{ "v2 last cluster at max entry", PRLD_FMT_V2, 1, 16, PRLD_OFF_DATA_OFF,
	  4, 0xfffffff0, 0, 1ULL << 42, 0, PRLD_OK, 0 },
	{ "v2 last cluster past max entry", PRLD_FMT_V2, 1, 16,
	  PRLD_OFF_DATA_OFF, 4, 0xfffffff1, 0, 1ULL << 42, 0, PRLD_E_TOO_BIG,
	  PRLD_OFF_BAT_ENTRIES },
	{ "v1 last cluster past max entry", PRLD_FMT_V1, 2048, 32768,
	  PRLD_OFF_DATA_OFF, 4, 0xffffffff, 0, 1ULL << 42, 0, PRLD_E_TOO_BIG,
	  PRLD_OFF_BAT_ENTRIES },
	{ "ext_off first data cluster", PRLD_FMT_V2, 2048, 32768,
	  PRLD_OFF_EXT_OFF, 8, 2048, MIB, 0, 0, PRLD_OK, 0 },
	{ "v1 ext_off first data cluster", PRLD_FMT_V1, 2048, 32768,
	  PRLD_OFF_EXT_OFF, 8, 2048, MIB, 0, 0, PRLD_OK, 0 },
	{ "ext_off unaligned", PRLD_FMT_V2, 2048, 32768, PRLD_OFF_EXT_OFF, 8,
	  2049, 2 * MIB, 0, 0, PRLD_E_EXT_OFF, PRLD_OFF_EXT_OFF },
	{ "ext_off below data", PRLD_FMT_V2, 2048, 32768, PRLD_OFF_EXT_OFF, 8,
	  2047, 2 * MIB, 0, 0, PRLD_E_EXT_OFF, PRLD_OFF_EXT_OFF },
	{ "ext_off cluster ends past eof", PRLD_FMT_V2, 2048, 32768,
	  PRLD_OFF_EXT_OFF, 8, 4096, MIB, 0, 0, PRLD_E_EXT_OFF,
	  PRLD_OFF_EXT_OFF },
	{ "ext_off past eof", PRLD_FMT_V2, 2048, 32768, PRLD_OFF_EXT_OFF, 8,
	  1ULL << 40, MIB, 0, 0, PRLD_E_EXT_OFF, PRLD_OFF_EXT_OFF },
	{ "ext_off wraps when shifted", PRLD_FMT_V2, 2048, 32768,
	  PRLD_OFF_EXT_OFF, 8, (1ULL << 55) + 2048, MIB, 0, 0, PRLD_E_EXT_OFF,
	  PRLD_OFF_EXT_OFF },
	{ "ext_off max", PRLD_FMT_V2, 2048, 32768, PRLD_OFF_EXT_OFF, 8,
	  U64_MAX, MIB, 0, 0, PRLD_E_EXT_OFF, PRLD_OFF_EXT_OFF },
};

static void hdr_case_desc(const struct hdr_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(hdr, hdr_cases, hdr_case_desc);

static void hdr_override(u8 *hdr, const struct hdr_case *c)
{
	if (c->width == 1)
		hdr[c->off] = (u8)c->value;
	else if (c->width == 4)
		prld_put_le32(hdr + c->off, (u32)c->value);
	else if (c->width == 8)
		prld_put_le64(hdr + c->off, c->value);
}

static void prld_header_check_case(struct kunit *test)
{
	const struct hdr_case *c = test->param_value;
	struct prld_geom base, g;
	struct prld_fault f = { 0 };
	u8 hdr[PRLD_HEADER_SIZE];
	u64 file_size;
	int ret;

	ret = prld_layout(&base, c->fmt, c->size, c->cluster, &f);
	KUNIT_ASSERT_EQ(test, ret, PRLD_OK);
	prld_header_encode(&base, hdr);
	hdr_override(hdr, c);
	file_size = c->file_size ?: prld_data_start(&base) + c->extra;
	ret = prld_header_check(hdr, c->len ?: PRLD_HEADER_SIZE, file_size,
				&g, &f);
	KUNIT_EXPECT_EQ_MSG(test, ret, c->want, "%s", prld_status_str(ret));
	/* Only a zero data_off makes a valid header read-only. */
	if (ret == PRLD_OK)
		KUNIT_EXPECT_EQ(test, g.readonly,
				c->off == PRLD_OFF_DATA_OFF && c->width &&
				!c->value ? (u32)PRLD_RO_DATA_OFF_ZERO :
					    (u32)PRLD_RO_NONE);
	if (ret != PRLD_OK && ret == c->want) {
		KUNIT_EXPECT_EQ(test, f.status, (enum prld_status)c->want);
		KUNIT_EXPECT_EQ(test, f.field, c->want_field);
	}
	/* Unchanged fields decode as they were encoded. */
	if (ret == PRLD_OK && c->width == 0) {
		KUNIT_EXPECT_EQ(test, g.fmt, base.fmt);
		KUNIT_EXPECT_EQ(test, g.cluster_sectors, base.cluster_sectors);
		KUNIT_EXPECT_EQ(test, g.bat_entries, base.bat_entries);
		KUNIT_EXPECT_EQ(test, g.nb_sectors, base.nb_sectors);
		KUNIT_EXPECT_EQ(test, g.data_off, base.data_off);
	}
}

/* Every field survives encode then decode, in both formats. */
static void prld_header_roundtrip(struct kunit *test)
{
	static const u32 fmts[] = { PRLD_FMT_V1, PRLD_FMT_V2 };
	struct prld_geom in = {
		.heads = 16, .cylinders = 0x12345678, .cluster_sectors = 64,
		.bat_entries = 3, .nb_sectors = 150, .inuse = PRLD_INUSE_MAGIC,
		.data_off = 64, .flags = PRLD_FLAG_EMPTY, .ext_off = 128,
		.data_off_raw = 64,
	}, out;
	u8 hdr[PRLD_HEADER_SIZE];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fmts); i++) {
		in.fmt = fmts[i];
		prld_header_encode(&in, hdr);
		memset(&out, 0xa5, sizeof(out));
		KUNIT_ASSERT_EQ(test, prld_header_decode(hdr, &out), PRLD_OK);
		KUNIT_EXPECT_EQ(test, memcmp(&in, &out, sizeof(in)), 0);
		KUNIT_EXPECT_EQ(test, prld_get_le32(hdr + PRLD_OFF_VERSION),
				PRLD_IMAGE_VERSION);
	}
}

/*
 * data_off 0: V1 starts the data area right after the BAT rounded up to a
 * sector (QEMU's rule), V2 at the first cluster past it; entries are then
 * judged against that, and the header is read-only.
 */
static void prld_header_zero_data_off(struct kunit *test)
{
	static const struct {
		u32 fmt, cluster;
		u64 size;
		u32 want_off;
	} cases[] = {
		/* 8192 entries of 63-sector clusters: 64 + 32768 bytes. */
		{ PRLD_FMT_V1, 63, 8192ULL * 63, 65 },
		{ PRLD_FMT_V1, 2048, 32768, 1 },
		{ PRLD_FMT_V2, 2048, 32768, 2048 },
		{ PRLD_FMT_V2, 64, 64 * 8177, 128 },
	};
	struct prld_fault f = { 0 };
	struct prld_geom base, g;
	u8 hdr[PRLD_HEADER_SIZE], bat[4];
	u8 seen[8] = { 0 };
	unsigned int i;
	u64 file;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		KUNIT_ASSERT_EQ(test, prld_layout(&base, cases[i].fmt,
						  cases[i].size,
						  cases[i].cluster, &f),
				PRLD_OK);
		base.data_off = 0;
		prld_header_encode(&base, hdr);
		file = ((u64)cases[i].want_off << 9) +
		       prld_cluster_bytes(&base);
		KUNIT_ASSERT_EQ(test, prld_header_check(hdr, sizeof(hdr), file,
							&g, &f), PRLD_OK);
		KUNIT_EXPECT_EQ(test, g.data_off, cases[i].want_off);
		KUNIT_EXPECT_EQ(test, g.data_off_raw, 0U);
		KUNIT_EXPECT_EQ(test, g.readonly, (u32)PRLD_RO_DATA_OFF_ZERO);
		/* The first data cluster sits at the computed data_off. */
		prld_put_le32(bat, prld_offset_to_bat(&g, prld_data_start(&g)));
		memset(seen, 0, sizeof(seen));
		KUNIT_EXPECT_EQ(test, prld_bat_check(&g, bat, 1, file, seen, &f),
				PRLD_OK);
	}
}

struct layout_case {
	const char *name;
	u32 fmt;
	u64 size;
	u32 cluster;
	int want;
	u32 want_field;
	u32 bat_entries;	/* expected, when valid */
	u32 data_off;
};

static const struct layout_case layout_cases[] = {
	{ "1 MiB clusters, 16 MiB", PRLD_FMT_V2, 32768, 2048, PRLD_OK, 0, 16, 2048 },
	{ "rounded up to a cluster", PRLD_FMT_V2, 32769, 2048, PRLD_OK, 0, 17, 2048 },
	{ "v1 1-sector clusters", PRLD_FMT_V1, 1024, 1, PRLD_OK, 0, 1024, 9 },
	/* 32 KiB clusters: header + 8176 entries fill the first exactly. */
	{ "bat spills into cluster 2", PRLD_FMT_V2, 64 * 8177, 64, PRLD_OK, 0,
	  8177, 128 },
	{ "bat fills cluster 1", PRLD_FMT_V2, 64 * 8176, 64, PRLD_OK, 0, 8176, 64 },
	{ "cluster 0", PRLD_FMT_V2, 100, 0, PRLD_E_CLUSTER_ZERO, PRLD_OFF_TRACKS },
	{ "cluster 64 MiB + 1", PRLD_FMT_V2, 1ULL << 30, 131073,
	  PRLD_E_CLUSTER_BIG, PRLD_OFF_TRACKS },
	{ "size 0", PRLD_FMT_V2, 0, 2048, PRLD_E_SIZE_ZERO, PRLD_OFF_NB_SECTORS },
	{ "v1 size 2^32 sectors", PRLD_FMT_V1, 1ULL << 32, 2048, PRLD_E_TOO_BIG,
	  PRLD_OFF_NB_SECTORS },
	/* Fits the 32-bit size, but its last cluster is past 2^32 sectors. */
	{ "v1 size 2^32 - 2048", PRLD_FMT_V1, (1ULL << 32) - 2048, 2048,
	  PRLD_E_TOO_BIG, PRLD_OFF_BAT_ENTRIES },
	{ "v1 1 TiB", PRLD_FMT_V1, 1ULL << 31, 2048, PRLD_OK, 0, 1048576,
	  10240 },
	{ "v2 2^32 clusters", PRLD_FMT_V2, 1ULL << 32, 1, PRLD_E_TOO_BIG,
	  PRLD_OFF_BAT_ENTRIES },
};

static void layout_case_desc(const struct layout_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(layout, layout_cases, layout_case_desc);

static void prld_layout_case(struct kunit *test)
{
	const struct layout_case *c = test->param_value;
	struct prld_geom g = { 0 };
	struct prld_fault f = { 0 };
	u8 hdr[PRLD_HEADER_SIZE];
	int ret;

	ret = prld_layout(&g, c->fmt, c->size, c->cluster, &f);
	KUNIT_EXPECT_EQ_MSG(test, ret, c->want, "%s", prld_status_str(ret));
	if (ret != PRLD_OK) {
		KUNIT_EXPECT_EQ(test, f.field, c->want_field);
		return;
	}
	KUNIT_EXPECT_EQ(test, g.bat_entries, c->bat_entries);
	KUNIT_EXPECT_EQ(test, g.data_off, c->data_off);
	KUNIT_EXPECT_EQ(test, g.flags, PRLD_FLAG_EMPTY);
	/* What the writer lays out, the reader accepts. */
	prld_header_encode(&g, hdr);
	KUNIT_EXPECT_EQ(test, prld_header_check(hdr, sizeof(hdr),
						prld_data_start(&g), &g, &f),
			PRLD_OK);
}

static struct kunit_case prld_header_cases[] = {
	KUNIT_CASE_PARAM(prld_header_check_case, hdr_gen_params),
	KUNIT_CASE(prld_header_roundtrip),
	KUNIT_CASE(prld_header_zero_data_off),
	KUNIT_CASE_PARAM(prld_layout_case, layout_gen_params),
	{}
};

static struct kunit_suite prld_header_suite = {
	.name = "prld_header",
	.test_cases = prld_header_cases,
};

kunit_test_suites(&prld_header_suite);
