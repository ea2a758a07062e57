// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Unit tests of include/prld_format.h: layout rules, header encoding, and
 * every validator verdict on both sides of its boundary.
 */
#include <stdlib.h>
#include <string.h>

#include "prld_format.h"
#include "tap.h"

#define MIB (1ULL << 20)

/* A valid V2 header for @size bytes with @cluster-byte clusters. */
static void make_header(__u8 *hdr, struct prld_geom *g, enum prld_fmt fmt,
			__u64 size, __u32 cluster)
{
	struct prld_fault f;

	memset(hdr, 0, PRLD_HEADER_SIZE);
	if (prld_layout(g, fmt, size / 512, cluster / 512, &f) != PRLD_OK)
		abort();
	prld_header_encode(g, hdr);
}

static int check_hdr(const __u8 *hdr, __u64 file_size, struct prld_fault *f)
{
	struct prld_geom g;

	memset(f, 0, sizeof(*f));
	return prld_header_check(hdr, PRLD_HEADER_SIZE, file_size, &g, f);
}

static void test_layout(void)
{
	struct prld_geom g;
	struct prld_fault f;

	is_int(prld_layout(&g, PRLD_FMT_V2, 131072, 2048, &f), PRLD_OK,
	       "layout 64 MiB / 1 MiB");
	is_int(g.bat_entries, 64, "64 BAT entries");
	is_int(g.data_off, 2048, "data_off is one cluster");
	is_int(g.flags, PRLD_FLAG_EMPTY, "new image is EMPTY");
	is_int(prld_layout(&g, PRLD_FMT_V2, 1ULL << 31, 2048, &f), PRLD_OK,
	       "layout 1 TiB / 1 MiB");
	is_int(g.bat_entries, 1048576, "1 Mi entries");
	/* 64 + 4 MiB of BAT needs five 1 MiB clusters. */
	is_int(g.data_off, 5 * 2048, "data_off rounds header+BAT up");
	is_int(prld_layout(&g, PRLD_FMT_V2, 1000, 128, &f), PRLD_OK,
	       "size not a cluster multiple");
	is_int(g.nb_sectors, 1024, "size rounded up to the cluster");
	is_int(prld_layout(&g, PRLD_FMT_V2, 100, 33, &f), PRLD_OK,
	       "odd 33-sector cluster");
	is_int(g.data_off, 33, "odd cluster data_off");
	is_int(prld_layout(&g, PRLD_FMT_V2, 0, 2048, &f), PRLD_E_SIZE_ZERO,
	       "size 0 refused");
	is_int(prld_layout(&g, PRLD_FMT_V2, 10, 0, &f), PRLD_E_CLUSTER_ZERO,
	       "cluster 0 refused");
	is_int(prld_layout(&g, PRLD_FMT_V2, 1ULL << 20,
			   PRLD_MAX_CLUSTER_SECTORS + 1, &f),
	       PRLD_E_CLUSTER_BIG, "cluster above 64 MiB refused");
	is_int(prld_layout(&g, PRLD_FMT_V2, 1ULL << 20,
			   PRLD_MAX_CLUSTER_SECTORS, &f), PRLD_OK,
	       "cluster of exactly 64 MiB accepted");
	is_int(prld_layout(&g, PRLD_FMT_V1, 1ULL << 32, 2048, &f),
	       PRLD_E_TOO_BIG, "V1 refuses 2 TiB (32-bit size)");
	is_int(prld_layout(&g, PRLD_FMT_V1, (1ULL << 32) - 2048, 2048, &f),
	       PRLD_E_TOO_BIG, "V1 refuses a disk its sector BAT can't reach");
	is_int(prld_layout(&g, PRLD_FMT_V2, 0xffffffffULL * 131072, 131072,
			   &f), PRLD_E_TOO_BIG,
	       "2^32-1 clusters of 64 MiB: last one not addressable");
	is_int(prld_layout(&g, PRLD_FMT_V2, (1ULL << 32) * 2048, 2048, &f),
	       PRLD_E_TOO_BIG, "2^32 clusters refused");
}

static void test_roundtrip(void)
{
	struct prld_geom g, d;
	__u8 hdr[PRLD_HEADER_SIZE];

	make_header(hdr, &g, PRLD_FMT_V2, 64 * MIB, MIB);
	ok(!memcmp(hdr, PRLD_MAGIC_V2, 16), "V2 magic written");
	is_int(prld_get_le32(hdr + PRLD_OFF_VERSION), 2, "version 2 written");
	is_int(prld_get_le32(hdr + PRLD_OFF_TRACKS), 2048, "tracks at 0x1c");
	is_int(prld_get_le32(hdr + PRLD_OFF_DATA_OFF), 2048, "data_off at 0x30");
	is_int(prld_header_decode(hdr, &d), PRLD_OK, "decodes");
	ok(!memcmp(&g, &d, sizeof(g)), "decode(encode(g)) == g");
	make_header(hdr, &g, PRLD_FMT_V1, 64 * MIB, MIB);
	ok(!memcmp(hdr, PRLD_MAGIC_V1, 16), "V1 magic written");
	/* V1 defines only the low 32 bits of the size. */
	prld_put_le64(hdr + PRLD_OFF_NB_SECTORS, (1ULL << 32) | 131072);
	prld_header_decode(hdr, &d);
	is_int(d.nb_sectors, 131072, "V1 ignores high half of nb_sectors");
	is_int(prld_get_le32((const __u8 *)"\x78\x56\x34\x12"), 0x12345678,
	       "le32 load is little-endian");
}

static void test_header_verdicts(void)
{
	struct prld_fault f;
	struct prld_geom g;
	__u8 hdr[PRLD_HEADER_SIZE], bad[PRLD_HEADER_SIZE];
	__u64 fsize = MIB;	/* header cluster only */

	make_header(hdr, &g, PRLD_FMT_V2, 64 * MIB, MIB);
	is_int(check_hdr(hdr, fsize, &f), PRLD_OK, "fresh image valid");
	is_int(prld_header_check(hdr, 63, fsize, &g, &f), PRLD_E_SHORT,
	       "63 header bytes: short");
	is_int(check_hdr(hdr, 63, &f), PRLD_E_SHORT, "63-byte file: short");

	memcpy(bad, hdr, sizeof(bad));
	bad[3] ^= 1;
	is_int(check_hdr(bad, fsize, &f), PRLD_E_MAGIC, "bad magic");

	memcpy(bad, hdr, sizeof(bad));
	prld_put_le32(bad + PRLD_OFF_VERSION, 3);
	is_int(check_hdr(bad, fsize, &f), PRLD_E_VERSION, "version 3");
	is_int(f.value, 3, "fault carries the bad version");
	is_int(f.field, PRLD_OFF_VERSION, "fault names the version field");

	memcpy(bad, hdr, sizeof(bad));
	prld_put_le32(bad + PRLD_OFF_TRACKS, 0);
	is_int(check_hdr(bad, fsize, &f), PRLD_E_CLUSTER_ZERO, "tracks 0");

	memcpy(bad, hdr, sizeof(bad));
	prld_put_le32(bad + PRLD_OFF_TRACKS, PRLD_MAX_CLUSTER_SECTORS + 1);
	is_int(check_hdr(bad, fsize, &f), PRLD_E_CLUSTER_BIG, "tracks 2^17+1");
	is_int(f.limit, PRLD_MAX_CLUSTER_SECTORS, "fault carries the limit");

	memcpy(bad, hdr, sizeof(bad));
	prld_put_le64(bad + PRLD_OFF_NB_SECTORS, 0);
	is_int(check_hdr(bad, fsize, &f), PRLD_E_SIZE_ZERO, "nb_sectors 0");

	memcpy(bad, hdr, sizeof(bad));
	prld_put_le64(bad + PRLD_OFF_NB_SECTORS, 64 * 2048 + 1);
	is_int(check_hdr(bad, fsize, &f), PRLD_E_SIZE_VS_BAT,
	       "one sector more than the BAT covers");
	prld_put_le64(bad + PRLD_OFF_NB_SECTORS, 63 * 2048 + 1);
	is_int(check_hdr(bad, fsize, &f), PRLD_OK,
	       "a size ending inside the last cluster is fine");
	prld_put_le64(bad + PRLD_OFF_NB_SECTORS, 63 * 2048);
	is_int(check_hdr(bad, fsize, &f), PRLD_E_SIZE_VS_BAT,
	       "a BAT entry more than the size needs");
	is_int(f.limit, 63, "fault carries the expected entry count");

	memcpy(bad, hdr, sizeof(bad));
	prld_put_le64(bad + PRLD_OFF_NB_SECTORS, ~0ULL);
	is_int(check_hdr(bad, fsize, &f), PRLD_E_SIZE_VS_BAT,
	       "nb_sectors 2^64-1 does not overflow");
}

static void test_placement_verdicts(void)
{
	struct prld_fault f;
	struct prld_geom g;
	__u8 hdr[PRLD_HEADER_SIZE], bad[PRLD_HEADER_SIZE];

	make_header(hdr, &g, PRLD_FMT_V2, 64 * MIB, MIB);
	memcpy(bad, hdr, sizeof(bad));
	prld_put_le32(bad + PRLD_OFF_DATA_OFF, 0);
	is_int(check_hdr(bad, MIB, &f), PRLD_OK, "data_off 0: computed (QEMU)");
	prld_header_check(bad, PRLD_HEADER_SIZE, MIB, &g, &f);
	is_int(g.data_off, 2048, "... V2: the first cluster past the BAT");
	is_int(g.readonly, PRLD_RO_DATA_OFF_ZERO, "... and read-only");
	prld_put_le32(bad + PRLD_OFF_DATA_OFF, 1);	/* 512 < 64 + 256 ? no */
	is_int(check_hdr(bad, MIB, &f), PRLD_E_DATA_OFF_ALIGN,
	       "V2 data_off 1 sector: unaligned");
	prld_put_le32(bad + PRLD_OFF_DATA_OFF, 4096);
	is_int(check_hdr(bad, MIB, &f), PRLD_E_DATA_OFF_EOF,
	       "data_off past EOF");
	is_int(check_hdr(bad, 2 * MIB, &f), PRLD_OK,
	       "data_off exactly at EOF is fine");
	prld_put_le32(bad + PRLD_OFF_DATA_OFF, 2048 + 1024);
	is_int(check_hdr(bad, 4 * MIB, &f), PRLD_E_DATA_OFF_ALIGN,
	       "V2 data_off inside a cluster");

	/* V1 may start data anywhere after the BAT. */
	make_header(hdr, &g, PRLD_FMT_V1, 64 * MIB, MIB);
	memcpy(bad, hdr, sizeof(bad));
	prld_put_le32(bad + PRLD_OFF_DATA_OFF, 1);
	is_int(check_hdr(bad, MIB, &f), PRLD_OK,
	       "V1 data_off right after a 256-byte BAT");
	prld_put_le32(bad + PRLD_OFF_DATA_OFF, 0);
	is_int(check_hdr(bad, MIB, &f), PRLD_OK, "V1 data_off 0: computed");
	prld_header_check(bad, PRLD_HEADER_SIZE, MIB, &g, &f);
	is_int(g.data_off, 1, "... right after the 256-byte BAT, in sectors");
	is_int(g.readonly, PRLD_RO_DATA_OFF_ZERO, "... and read-only");
	like(prld_ro_str(g.readonly), "data_off is 0", "... saying why");

	/* bat_entries 0xffffffff x 64 MiB: the whole computation fits u64. */
	memset(bad, 0, sizeof(bad));
	memcpy(bad, PRLD_MAGIC_V2, 16);
	prld_put_le32(bad + PRLD_OFF_VERSION, 2);
	prld_put_le32(bad + PRLD_OFF_TRACKS, PRLD_MAX_CLUSTER_SECTORS);
	prld_put_le32(bad + PRLD_OFF_BAT_ENTRIES, 0xffffffffU);
	prld_put_le64(bad + PRLD_OFF_NB_SECTORS,
		      0xffffffffULL * PRLD_MAX_CLUSTER_SECTORS);
	prld_put_le32(bad + PRLD_OFF_DATA_OFF, 257 * PRLD_MAX_CLUSTER_SECTORS);
	is_int(check_hdr(bad, 258ULL << 26, &f), PRLD_E_TOO_BIG,
	       "4 G entries of 64 MiB: not addressable");

	make_header(hdr, &g, PRLD_FMT_V2, 64 * MIB, MIB);
	memcpy(bad, hdr, sizeof(bad));
	prld_put_le64(bad + PRLD_OFF_EXT_OFF, 4096);
	is_int(check_hdr(bad, 2 * MIB, &f), PRLD_E_EXT_OFF, "ext_off past EOF");
	is_int(check_hdr(bad, 3 * MIB, &f), PRLD_OK, "ext_off cluster in file");
	prld_put_le64(bad + PRLD_OFF_EXT_OFF, 100);
	is_int(check_hdr(bad, 3 * MIB, &f), PRLD_E_EXT_OFF, "ext_off in header");
}

static void test_bat_entries(void)
{
	struct prld_fault f;
	struct prld_geom g;
	__u8 hdr[PRLD_HEADER_SIZE];
	__u64 off = 0, fsize = 4 * MIB;

	make_header(hdr, &g, PRLD_FMT_V2, 64 * MIB, MIB);
	is_int(prld_bat_entry_check(&g, 0, 1, fsize, &off, &f), PRLD_OK,
	       "V2 entry 1 = first data cluster");
	is_int(off, MIB, "entry 1 at 1 MiB");
	is_int(prld_offset_to_bat(&g, off), 1, "offset -> entry");
	is_int(prld_bat_entry_check(&g, 5, 3, fsize, &off, &f), PRLD_OK,
	       "last cluster ending exactly at EOF");
	is_int(prld_bat_entry_check(&g, 5, 4, fsize, &off, &f),
	       PRLD_E_BAT_EOF, "cluster past EOF");
	is_int(f.field, 5, "fault names the BAT index");
	is_int(prld_bat_entry_check(&g, 0, 4, fsize + MIB - 1, &off, &f),
	       PRLD_E_BAT_EOF, "partial last cluster counts as past EOF");
	is_int(prld_data_slots(&g, fsize + MIB - 1), 3,
	       "a partial cluster is no slot");

	/* V1 entries count sectors: any cluster-aligned sector past data. */
	make_header(hdr, &g, PRLD_FMT_V1, 64 * MIB, MIB);
	is_int(prld_bat_entry_check(&g, 0, 2048, fsize, &off, &f), PRLD_OK,
	       "V1 entry 2048 = 1 MiB");
	is_int(prld_offset_to_bat(&g, 2 * MIB), 4096, "V1 offset -> sectors");
	is_int(prld_bat_entry_check(&g, 0, 2049, fsize, &off, &f),
	       PRLD_E_BAT_ALIGN, "V1 entry off the cluster grid");
	is_int(prld_bat_entry_check(&g, 0, 1, fsize, &off, &f),
	       PRLD_E_BAT_LOW, "V1 entry into the header");
}

static void test_bat_table(void)
{
	struct prld_fault f;
	struct prld_geom g;
	__u8 hdr[PRLD_HEADER_SIZE], bat[4 * 64] = { 0 }, seen[8];
	__u64 fsize = 5 * MIB;

	make_header(hdr, &g, PRLD_FMT_V2, 64 * MIB, MIB);
	prld_put_le32(bat + 4 * 0, 1);
	prld_put_le32(bat + 4 * 7, 2);
	prld_put_le32(bat + 4 * 63, 4);
	memset(seen, 0, sizeof(seen));
	is_int(prld_bat_check(&g, bat, 64, fsize, seen, &f), PRLD_OK,
	       "sparse valid BAT");
	prld_put_le32(bat + 4 * 9, 2);
	memset(seen, 0, sizeof(seen));
	is_int(prld_bat_check(&g, bat, 64, fsize, seen, &f), PRLD_E_BAT_DUP,
	       "duplicate entry found");
	is_int(f.field, 9, "the later duplicate is named");
	prld_put_le32(bat + 4 * 9, 0xffffffffU);
	memset(seen, 0, sizeof(seen));
	is_int(prld_bat_check(&g, bat, 64, fsize, seen, &f), PRLD_E_BAT_EOF,
	       "entry 2^32-1 does not overflow");
}

static void test_status_text(void)
{
	int s, distinct = 1;

	for (s = 1; s < PRLD_E_COUNT; s++)
		distinct &= strcmp(prld_status_str(s), "ok") &&
			    strcmp(prld_status_str(s), "unknown status");
	ok(distinct, "every verdict has its own text");
	like(prld_status_str(PRLD_E_COUNT), "unknown", "out of range text");
	like(prld_status_str(PRLD_E_DATA_OFF_EOF), "data_off",
	     "text names the field");
}

/*
 * Growing: more entries, the data area never earlier, the clusters in its
 * way named, CHS scaled by its sectors per track, shrinking and sizes the
 * format cannot address refused.
 */
static void test_grow_layout(void)
{
	struct prld_geom old, g;
	struct prld_fault f;

	prld_layout(&old, PRLD_FMT_V2, 1048576, 128, &f);	/* 512M, 64K */
	old.heads = 16;
	old.cylinders = 1048576 / (16 * 32);
	old.inuse = PRLD_INUSE_MAGIC;
	is_int(prld_grow_layout(&old, 4194304, &g, &f), PRLD_OK, "grow 512M -> 2G");
	is_int(g.bat_entries, 32768, "32768 entries");
	is_int(g.data_off, 384, "data area after three clusters");
	is_int(g.cylinders, 4194304 / (16 * 32), "cylinders scaled");
	is_int(g.inuse, PRLD_INUSE_MAGIC, "in-use word kept");
	ok(prld_grow_moves(&g, 128 * 512) && prld_grow_moves(&g, 256 * 512),
	   "clusters 1 and 2 of the file move");
	ok(!prld_grow_moves(&g, 384 * 512), "cluster 3 stays");
	is_int(prld_grow_layout(&old, 1048576 + 1, &g, &f), PRLD_OK,
	       "one sector more");
	is_int(g.nb_sectors, 1048576 + 128, "rounded up to the cluster");
	is_int(g.data_off, 128, "still one BAT cluster: nothing moves");
	is_int(prld_grow_layout(&old, 1048576, &g, &f), PRLD_OK, "same size");
	is_int(g.nb_sectors, old.nb_sectors, "unchanged");
	is_int(prld_grow_layout(&old, 1048576 - 128, &g, &f), PRLD_E_SIZE_VS_BAT,
	       "shrinking refused");
	is_int(prld_grow_layout(&old, 0, &g, &f), PRLD_E_SIZE_ZERO, "zero refused");
	is_int(prld_grow_layout(&old, 1ULL << 62, &g, &f), PRLD_E_TOO_BIG,
	       "beyond 2^32 entries refused");
	prld_layout(&old, PRLD_FMT_V1, 2048, 2048, &f);
	is_int(prld_grow_layout(&old, 0x100000000ULL, &g, &f), PRLD_E_TOO_BIG,
	       "V1: beyond 2^32 sectors refused");
}

int main(void)
{
	test_layout();
	test_roundtrip();
	test_header_verdicts();
	test_placement_verdicts();
	test_bat_entries();
	test_bat_table();
	test_status_text();
	test_grow_layout();
	return tap_done();
}
