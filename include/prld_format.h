/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * prld_format.h - the Parallels/ploop expanding image format, shared
 * unchanged by the kernel module, libprld, the KUnit suite and the fuzzers.
 *
 * Everything here is a pure function of its arguments: no allocation, no
 * I/O, no libc or kernel calls.  Fields are decoded byte by byte so the
 * code is independent of host endianness and alignment.
 *
 * Layout of an image file (all little-endian, sector = 512 bytes):
 *
 *   0x00  16  magic        "WithoutFreeSpace" (V1) / "WithouFreSpacExt" (V2)
 *   0x10   4  version      must be 2
 *   0x14   4  heads        CHS geometry, informational
 *   0x18   4  cylinders    CHS geometry, informational
 *   0x1c   4  tracks       cluster size in sectors
 *   0x20   4  bat_entries  clusters in the virtual disk
 *   0x24   8  nb_sectors   virtual size in sectors (V1: low 32 bits only)
 *   0x2c   4  inuse        PRLD_INUSE_MAGIC while open read-write
 *   0x30   4  data_off     first data sector
 *   0x34   4  flags        PRLD_FLAG_*
 *   0x38   8  ext_off      format extension cluster (sectors), 0 = none
 *   0x40      BAT: bat_entries x le32
 */
#ifndef PRLD_FORMAT_H
#define PRLD_FORMAT_H

#include <linux/types.h>

#define PRLD_SECTOR_SHIFT	9
#define PRLD_SECTOR_SIZE	512U
#define PRLD_HEADER_SIZE	64U
#define PRLD_BAT_OFFSET		PRLD_HEADER_SIZE
#define PRLD_MAGIC_LEN		16U
#define PRLD_MAGIC_V1		"WithoutFreeSpace"
#define PRLD_MAGIC_V2		"WithouFreSpacExt"
#define PRLD_IMAGE_VERSION	2U
#define PRLD_INUSE_MAGIC	0x746F6E59U	/* "Ynot": open read-write */
#define PRLD_CLEAN_ALT_MAGIC	0x312e3276U	/* "v2.1": clean, spec alt. */
#define PRLD_FLAG_EMPTY		0x1U	/* no data written yet */
#define PRLD_FLAG_CONVERTING	0x2U	/* format conversion in progress */

/* Header field offsets, for messages that name the field. */
#define PRLD_OFF_VERSION	0x10
#define PRLD_OFF_HEADS		0x14
#define PRLD_OFF_CYLINDERS	0x18
#define PRLD_OFF_TRACKS		0x1c
#define PRLD_OFF_BAT_ENTRIES	0x20
#define PRLD_OFF_NB_SECTORS	0x24
#define PRLD_OFF_INUSE		0x2c
#define PRLD_OFF_DATA_OFF	0x30
#define PRLD_OFF_FLAGS		0x34
#define PRLD_OFF_EXT_OFF	0x38

/*
 * Cluster sizes.  QEMU reads any multiple of 512 bytes; ploop creates
 * powers of two from 32 KiB to 64 MiB.  64 MiB is the ceiling for reading
 * too: it bounds every product below (bat_entries * cluster < 2^58).
 */
#define PRLD_MAX_CLUSTER_SECTORS	131072U		/* 64 MiB */
#define PRLD_PLOOP_MIN_CLUSTER_SECTORS	64U		/* 32 KiB */
#define PRLD_DEF_CLUSTER_SECTORS	2048U		/* 1 MiB */

enum prld_fmt {
	PRLD_FMT_V1 = 1,	/* BAT entries count sectors */
	PRLD_FMT_V2 = 2,	/* BAT entries count clusters */
};

/* A decoded, native-endian header. */
struct prld_geom {
	__u32 fmt;		/* enum prld_fmt */
	__u32 heads;
	__u32 cylinders;
	__u32 cluster_sectors;
	__u32 bat_entries;
	__u32 inuse;
	__u32 data_off;		/* sectors */
	__u32 flags;
	__u64 nb_sectors;
	__u64 ext_off;		/* sectors */
	__u32 data_off_raw;	/* data_off as the header stores it */
	__u32 readonly;		/* enum prld_ro: why a writer must refuse */
};

/*
 * Images the validators accept for reading only: what QEMU reads but a
 * writer would have to rewrite in a way no other tool expects.  The
 * kernel refuses a writable layer with such a reason (-EROFS).
 */
enum prld_ro {
	PRLD_RO_NONE = 0,
	PRLD_RO_DATA_OFF_ZERO,	/* data_off 0: computed as QEMU does */
	PRLD_RO_COUNT
};

static inline const char *prld_ro_str(__u32 r)
{
	static const char *const text[PRLD_RO_COUNT] = {
		[PRLD_RO_NONE] = "writable",
		[PRLD_RO_DATA_OFF_ZERO] =
			"data_off is 0 (an old header; the data area is computed as QEMU does): read-only",
	};

	if (r >= PRLD_RO_COUNT)
		return "unknown read-only reason";
	return text[r];
}

/*
 * Verdicts of the validators.  Each names the rule that failed; the
 * offending value (and the bound it broke) come back in a prld_fault.
 */
enum prld_status {
	PRLD_OK = 0,
	PRLD_E_SHORT,		/* file shorter than the 64-byte header */
	PRLD_E_MAGIC,
	PRLD_E_VERSION,
	PRLD_E_CLUSTER_ZERO,
	PRLD_E_CLUSTER_BIG,
	PRLD_E_SIZE_ZERO,
	PRLD_E_SIZE_VS_BAT,	/* bat_entries != ceil(nb_sectors / cluster) */
	PRLD_E_DATA_OFF_LOW,	/* data area overlaps header or BAT */
	PRLD_E_DATA_OFF_ALIGN,	/* V2: data area not cluster aligned */
	PRLD_E_DATA_OFF_EOF,	/* data area starts past end of file */
	PRLD_E_TOO_BIG,		/* BAT entries cannot address the disk */
	PRLD_E_EXT_OFF,		/* extension cluster outside the data area */
	PRLD_E_BAT_LOW,		/* entry points into header/BAT */
	PRLD_E_BAT_ALIGN,	/* entry not on a cluster boundary */
	PRLD_E_BAT_EOF,		/* entry's cluster ends past end of file */
	PRLD_E_BAT_DUP,		/* two entries share one cluster */
	PRLD_E_COUNT
};

struct prld_fault {
	enum prld_status status;
	__u32 field;		/* header field offset, or BAT index */
	__u64 value;		/* the offending value */
	__u64 limit;		/* the bound it broke (0 if none) */
};

static inline const char *prld_status_str(enum prld_status s)
{
	static const char *const text[PRLD_E_COUNT] = {
		[PRLD_OK] = "ok",
		[PRLD_E_SHORT] = "file shorter than the 64-byte header",
		[PRLD_E_MAGIC] = "unknown magic (not a Parallels expanding image)",
		[PRLD_E_VERSION] = "unsupported version (must be 2)",
		[PRLD_E_CLUSTER_ZERO] = "cluster size (tracks) is zero",
		[PRLD_E_CLUSTER_BIG] = "cluster size (tracks) above 64 MiB",
		[PRLD_E_SIZE_ZERO] = "virtual size (nb_sectors) is zero",
		[PRLD_E_SIZE_VS_BAT] = "bat_entries does not match nb_sectors",
		[PRLD_E_DATA_OFF_LOW] = "data_off overlaps the header and BAT",
		[PRLD_E_DATA_OFF_ALIGN] = "data_off not a multiple of the cluster",
		[PRLD_E_DATA_OFF_EOF] = "data_off past the end of the file",
		[PRLD_E_TOO_BIG] = "disk too large for 32-bit BAT entries",
		[PRLD_E_EXT_OFF] = "ext_off outside the data area or unaligned",
		[PRLD_E_BAT_LOW] = "BAT entry points into the header or BAT",
		[PRLD_E_BAT_ALIGN] = "BAT entry not on a cluster boundary",
		[PRLD_E_BAT_EOF] = "BAT entry points past the end of the file",
		[PRLD_E_BAT_DUP] = "BAT entry duplicates another entry",
	};

	if ((unsigned int)s >= PRLD_E_COUNT)
		return "unknown status";
	return text[s];
}

/* Little-endian loads and stores, byte by byte. */
static inline __u32 prld_get_le32(const __u8 *p)
{
	return (__u32)p[0] | (__u32)p[1] << 8 | (__u32)p[2] << 16 |
	       (__u32)p[3] << 24;
}

static inline __u64 prld_get_le64(const __u8 *p)
{
	return (__u64)prld_get_le32(p) | (__u64)prld_get_le32(p + 4) << 32;
}

static inline void prld_put_le32(__u8 *p, __u32 v)
{
	p[0] = (__u8)v;
	p[1] = (__u8)(v >> 8);
	p[2] = (__u8)(v >> 16);
	p[3] = (__u8)(v >> 24);
}

static inline void prld_put_le64(__u8 *p, __u64 v)
{
	prld_put_le32(p, (__u32)v);
	prld_put_le32(p + 4, (__u32)(v >> 32));
}

static inline int prld_fail(struct prld_fault *f, enum prld_status s,
			    __u32 field, __u64 value, __u64 limit)
{
	f->status = s;
	f->field = field;
	f->value = value;
	f->limit = limit;
	return s;
}

static inline __u64 prld_cluster_bytes(const struct prld_geom *g)
{
	return (__u64)g->cluster_sectors << PRLD_SECTOR_SHIFT;
}

static inline __u64 prld_data_start(const struct prld_geom *g)
{
	return (__u64)g->data_off << PRLD_SECTOR_SHIFT;
}

/* Bytes from the start of the file to the end of the BAT. */
static inline __u64 prld_bat_end(__u32 bat_entries)
{
	return PRLD_BAT_OFFSET + 4ULL * bat_entries;
}

static inline __u64 prld_div_round_up(__u64 n, __u64 d)
{
	return n / d + (n % d != 0);
}

static inline int prld_is_pow2(__u64 v)
{
	return v && !(v & (v - 1));
}

/* The data_off ploop and QEMU write: header + BAT rounded up to a cluster. */
static inline __u64 prld_canonical_data_off(__u32 bat_entries,
					    __u32 cluster_sectors)
{
	__u64 cl = (__u64)cluster_sectors << PRLD_SECTOR_SHIFT;

	return prld_div_round_up(prld_bat_end(bat_entries), cl) *
	       cluster_sectors;
}

/* The largest byte offset a BAT entry can express in this format. */
static inline __u64 prld_max_entry_offset(const struct prld_geom *g)
{
	__u64 unit = g->fmt == PRLD_FMT_V1 ? PRLD_SECTOR_SIZE :
					     prld_cluster_bytes(g);

	return 0xffffffffULL * unit;
}

/* BAT entry <-> byte offset in the file.  Entry 0 means "not allocated". */
static inline __u64 prld_bat_to_offset(const struct prld_geom *g, __u32 entry)
{
	if (g->fmt == PRLD_FMT_V1)
		return (__u64)entry << PRLD_SECTOR_SHIFT;
	return (__u64)entry * prld_cluster_bytes(g);
}

/* The caller guarantees @offset is a valid data cluster offset. */
static inline __u32 prld_offset_to_bat(const struct prld_geom *g, __u64 offset)
{
	if (g->fmt == PRLD_FMT_V1)
		return (__u32)(offset >> PRLD_SECTOR_SHIFT);
	return (__u32)(offset / prld_cluster_bytes(g));
}

/*
 * Decode the 64-byte header at @hdr without judging it.  Returns PRLD_OK or
 * PRLD_E_MAGIC.
 */
static inline int prld_header_decode(const __u8 *hdr, struct prld_geom *g)
{
	static const char v1[] = PRLD_MAGIC_V1, v2[] = PRLD_MAGIC_V2;
	int is_v1 = 1, is_v2 = 1;
	unsigned int i;

	for (i = 0; i < PRLD_MAGIC_LEN; i++) {
		is_v1 &= hdr[i] == (__u8)v1[i];
		is_v2 &= hdr[i] == (__u8)v2[i];
	}
	if (!is_v1 && !is_v2)
		return PRLD_E_MAGIC;
	g->fmt = is_v1 ? PRLD_FMT_V1 : PRLD_FMT_V2;
	g->heads = prld_get_le32(hdr + PRLD_OFF_HEADS);
	g->cylinders = prld_get_le32(hdr + PRLD_OFF_CYLINDERS);
	g->cluster_sectors = prld_get_le32(hdr + PRLD_OFF_TRACKS);
	g->bat_entries = prld_get_le32(hdr + PRLD_OFF_BAT_ENTRIES);
	g->nb_sectors = prld_get_le64(hdr + PRLD_OFF_NB_SECTORS);
	if (g->fmt == PRLD_FMT_V1)	/* V1 only defines the low half */
		g->nb_sectors &= 0xffffffffULL;
	g->inuse = prld_get_le32(hdr + PRLD_OFF_INUSE);
	g->data_off = prld_get_le32(hdr + PRLD_OFF_DATA_OFF);
	g->data_off_raw = g->data_off;
	g->readonly = PRLD_RO_NONE;
	g->flags = prld_get_le32(hdr + PRLD_OFF_FLAGS);
	g->ext_off = prld_get_le64(hdr + PRLD_OFF_EXT_OFF);
	return PRLD_OK;
}

/*
 * Old headers (before 2015) leave data_off 0.  QEMU then starts the data
 * area right after the BAT, rounded up to a sector; in a V2 image, whose
 * entries count clusters from the start of the file, the first cluster
 * past the BAT is the same rule.  Such an image is read-only: writing it
 * would mean rewriting the header in a way its maker never did.
 * Returns PRLD_OK, or PRLD_E_TOO_BIG when the data area cannot be named.
 */
static inline int prld_fill_zero_data_off(struct prld_geom *g,
					  struct prld_fault *f)
{
	__u64 off;

	if (g->data_off)
		return PRLD_OK;
	if (g->fmt == PRLD_FMT_V1)
		off = prld_div_round_up(prld_bat_end(g->bat_entries),
					PRLD_SECTOR_SIZE);
	else
		off = prld_canonical_data_off(g->bat_entries,
					      g->cluster_sectors);
	if (off > 0xffffffffULL)
		return prld_fail(f, PRLD_E_TOO_BIG, PRLD_OFF_DATA_OFF, off,
				 0xffffffffULL);
	g->data_off = (__u32)off;
	g->readonly = PRLD_RO_DATA_OFF_ZERO;
	return PRLD_OK;
}

/* Size rules: cluster, virtual size and BAT length agree and fit. */
static inline int prld_check_sizes(const struct prld_geom *g,
				   struct prld_fault *f)
{
	__u64 need;

	if (g->cluster_sectors == 0)
		return prld_fail(f, PRLD_E_CLUSTER_ZERO, PRLD_OFF_TRACKS, 0, 0);
	if (g->cluster_sectors > PRLD_MAX_CLUSTER_SECTORS)
		return prld_fail(f, PRLD_E_CLUSTER_BIG, PRLD_OFF_TRACKS,
				 g->cluster_sectors, PRLD_MAX_CLUSTER_SECTORS);
	if (g->nb_sectors == 0)
		return prld_fail(f, PRLD_E_SIZE_ZERO, PRLD_OFF_NB_SECTORS, 0, 0);
	need = prld_div_round_up(g->nb_sectors, g->cluster_sectors);
	if (need != g->bat_entries)
		return prld_fail(f, PRLD_E_SIZE_VS_BAT, PRLD_OFF_BAT_ENTRIES,
				 g->bat_entries, need);
	return PRLD_OK;
}

/*
 * The format extension cluster lies in the data area, on the cluster grid,
 * inside the file.  ext_off is compared before it is shifted: a 64-bit
 * sector number times 512 can wrap around.
 */
static inline int prld_check_ext_off(const struct prld_geom *g,
				     __u64 file_size, struct prld_fault *f)
{
	__u64 cl = prld_cluster_bytes(g), ext;

	if (!g->ext_off)
		return PRLD_OK;
	if (g->ext_off > file_size >> PRLD_SECTOR_SHIFT)
		return prld_fail(f, PRLD_E_EXT_OFF, PRLD_OFF_EXT_OFF,
				 g->ext_off, file_size >> PRLD_SECTOR_SHIFT);
	ext = g->ext_off << PRLD_SECTOR_SHIFT;
	if (ext < prld_data_start(g) || (ext - prld_data_start(g)) % cl ||
	    cl > file_size - ext)
		return prld_fail(f, PRLD_E_EXT_OFF, PRLD_OFF_EXT_OFF,
				 g->ext_off, 0);
	return PRLD_OK;
}

/* Placement rules: data area after the BAT, aligned, inside the file. */
static inline int prld_check_placement(const struct prld_geom *g,
				       __u64 file_size, struct prld_fault *f)
{
	__u64 data = prld_data_start(g);
	__u64 cl = prld_cluster_bytes(g);
	__u64 last_end;

	if (data < prld_bat_end(g->bat_entries))
		return prld_fail(f, PRLD_E_DATA_OFF_LOW, PRLD_OFF_DATA_OFF,
				 g->data_off,
				 prld_div_round_up(prld_bat_end(g->bat_entries),
						   PRLD_SECTOR_SIZE));
	if (g->fmt == PRLD_FMT_V2 && g->data_off % g->cluster_sectors)
		return prld_fail(f, PRLD_E_DATA_OFF_ALIGN, PRLD_OFF_DATA_OFF,
				 g->data_off, g->cluster_sectors);
	if (data > file_size)
		return prld_fail(f, PRLD_E_DATA_OFF_EOF, PRLD_OFF_DATA_OFF,
				 data, file_size);
	/* Every cluster of a fully allocated disk must be addressable. */
	last_end = data + (__u64)g->bat_entries * cl;
	if (last_end - cl > prld_max_entry_offset(g))
		return prld_fail(f, PRLD_E_TOO_BIG, PRLD_OFF_BAT_ENTRIES,
				 last_end - cl, prld_max_entry_offset(g));
	return prld_check_ext_off(g, file_size, f);
}

/*
 * Decode and validate a header read from a file of @file_size bytes.
 * @len is how many header bytes the caller has (at least 64 to pass).
 */
static inline int prld_header_check(const __u8 *hdr, __u64 len,
				    __u64 file_size, struct prld_geom *g,
				    struct prld_fault *f)
{
	__u32 version;
	int ret;

	if (len < PRLD_HEADER_SIZE || file_size < PRLD_HEADER_SIZE)
		return prld_fail(f, PRLD_E_SHORT, 0, file_size,
				 PRLD_HEADER_SIZE);
	if (prld_header_decode(hdr, g) != PRLD_OK)
		return prld_fail(f, PRLD_E_MAGIC, 0, 0, 0);
	version = prld_get_le32(hdr + PRLD_OFF_VERSION);
	if (version != PRLD_IMAGE_VERSION)
		return prld_fail(f, PRLD_E_VERSION, PRLD_OFF_VERSION, version,
				 PRLD_IMAGE_VERSION);
	ret = prld_check_sizes(g, f);
	if (ret == PRLD_OK)
		ret = prld_fill_zero_data_off(g, f);
	if (ret != PRLD_OK)
		return ret;
	return prld_check_placement(g, file_size, f);
}

/*
 * Number of whole data clusters in a file of @file_size bytes: the slots a
 * valid BAT entry can name (the size of a duplicate-detection bitmap).
 */
static inline __u64 prld_data_slots(const struct prld_geom *g, __u64 file_size)
{
	__u64 data = prld_data_start(g);

	if (file_size <= data)
		return 0;
	return (file_size - data) / prld_cluster_bytes(g);
}

/*
 * The file size BAT entries are checked against.  A reader takes an image
 * whose last mapped cluster a torn write cut short, as QEMU does (the
 * missing tail reads as zeros): entries may reach into the slot the file
 * ends in.  A writer may not: it would write where the file holds nothing
 * it can trust.  Only one entry can name that slot (duplicates are
 * refused), so only one cluster is ever short.
 */
static inline __u64 prld_bat_check_size(const struct prld_geom *g,
					__u64 file_size, int writable)
{
	__u64 data = prld_data_start(g), cb = prld_cluster_bytes(g), tail;

	if (writable || file_size <= data)
		return file_size;
	tail = (file_size - data) % cb;
	return tail ? file_size + (cb - tail) : file_size;
}

/* Slot (data cluster index) of a valid data offset. */
static inline __u64 prld_offset_to_slot(const struct prld_geom *g, __u64 off)
{
	return (off - prld_data_start(g)) / prld_cluster_bytes(g);
}

static inline __u64 prld_slot_to_offset(const struct prld_geom *g, __u64 slot)
{
	return prld_data_start(g) + slot * prld_cluster_bytes(g);
}

/*
 * Validate one non-zero BAT entry (index @idx) against a file of
 * @file_size bytes; on success *@offset is the cluster's byte offset.
 */
static inline int prld_bat_entry_check(const struct prld_geom *g, __u32 idx,
				       __u32 entry, __u64 file_size,
				       __u64 *offset, struct prld_fault *f)
{
	__u64 off = prld_bat_to_offset(g, entry);
	__u64 cl = prld_cluster_bytes(g);

	if (off < prld_data_start(g))
		return prld_fail(f, PRLD_E_BAT_LOW, idx, entry, g->data_off);
	if ((off - prld_data_start(g)) % cl)
		return prld_fail(f, PRLD_E_BAT_ALIGN, idx, entry, 0);
	if (off + cl > file_size)
		return prld_fail(f, PRLD_E_BAT_EOF, idx, entry, file_size);
	*offset = off;
	return PRLD_OK;
}

static inline int prld_test_and_set_bit8(__u8 *map, __u64 bit)
{
	__u8 mask = (__u8)(1U << (bit & 7));
	int was = !!(map[bit >> 3] & mask);

	map[bit >> 3] |= mask;
	return was;
}

/*
 * Validate entries @first .. @first + @count - 1 of a BAT: @bat holds them
 * little-endian as read from the file, so a caller may check a large BAT
 * piece by piece.  @seen is a zeroed bitmap of prld_data_slots() bits the
 * caller provides and keeps across pieces, used to find two entries
 * naming one cluster.  Stops at the first bad entry; f->field is its
 * index in the whole BAT.
 */
static inline int prld_bat_check_range(const struct prld_geom *g,
				       const __u8 *bat, __u32 first,
				       __u32 count, __u64 file_size,
				       __u8 *seen, struct prld_fault *f)
{
	__u64 off;
	__u32 i, entry;
	int ret;

	for (i = 0; i < count; i++) {
		entry = prld_get_le32(bat + 4ULL * i);
		if (!entry)
			continue;
		ret = prld_bat_entry_check(g, first + i, entry, file_size,
					   &off, f);
		if (ret != PRLD_OK)
			return ret;
		if (prld_test_and_set_bit8(seen, prld_offset_to_slot(g, off)))
			return prld_fail(f, PRLD_E_BAT_DUP, first + i, entry, 0);
	}
	return PRLD_OK;
}

/* Validate a whole BAT of @count entries (as prld_bat_check_range()). */
static inline int prld_bat_check(const struct prld_geom *g, const __u8 *bat,
				 __u32 count, __u64 file_size, __u8 *seen,
				 struct prld_fault *f)
{
	return prld_bat_check_range(g, bat, 0, count, file_size, seen, f);
}

/*
 * Fill @g with the layout ploop and QEMU create for a disk of
 * @size_sectors (rounded up to the cluster) and encode nothing yet.
 * Returns PRLD_OK, or the rule the request breaks.
 */
static inline int prld_layout(struct prld_geom *g, enum prld_fmt fmt,
			      __u64 size_sectors, __u32 cluster_sectors,
			      struct prld_fault *f)
{
	__u64 clusters, data_off;

	if (cluster_sectors == 0)
		return prld_fail(f, PRLD_E_CLUSTER_ZERO, PRLD_OFF_TRACKS, 0, 0);
	if (cluster_sectors > PRLD_MAX_CLUSTER_SECTORS)
		return prld_fail(f, PRLD_E_CLUSTER_BIG, PRLD_OFF_TRACKS,
				 cluster_sectors, PRLD_MAX_CLUSTER_SECTORS);
	if (size_sectors == 0)
		return prld_fail(f, PRLD_E_SIZE_ZERO, PRLD_OFF_NB_SECTORS, 0, 0);
	clusters = prld_div_round_up(size_sectors, cluster_sectors);
	/* V1 stores only the low 32 bits of the size. */
	if (fmt == PRLD_FMT_V1 &&
	    clusters * cluster_sectors > 0xffffffffULL)
		return prld_fail(f, PRLD_E_TOO_BIG, PRLD_OFF_NB_SECTORS,
				 clusters * cluster_sectors, 0xffffffffULL);
	if (clusters > 0xffffffffULL)
		return prld_fail(f, PRLD_E_TOO_BIG, PRLD_OFF_BAT_ENTRIES,
				 clusters, 0xffffffffULL);
	data_off = prld_canonical_data_off((__u32)clusters, cluster_sectors);
	if (data_off > 0xffffffffULL)
		return prld_fail(f, PRLD_E_TOO_BIG, PRLD_OFF_DATA_OFF,
				 data_off, 0xffffffffULL);
	*g = (struct prld_geom){
		.fmt = fmt,
		.cluster_sectors = cluster_sectors,
		.bat_entries = (__u32)clusters,
		.nb_sectors = clusters * cluster_sectors,
		.data_off = (__u32)data_off,
		.data_off_raw = (__u32)data_off,
		.flags = PRLD_FLAG_EMPTY,
	};
	/* Same addressability rule the reader enforces. */
	if (prld_data_start(g) + (clusters - 1) * prld_cluster_bytes(g) >
	    prld_max_entry_offset(g))
		return prld_fail(f, PRLD_E_TOO_BIG, PRLD_OFF_BAT_ENTRIES,
				 clusters, 0);
	return PRLD_OK;
}

/* Encode @g into a 64-byte header (version 2, magic by format). */
static inline void prld_header_encode(const struct prld_geom *g, __u8 *hdr)
{
	const char *magic = g->fmt == PRLD_FMT_V1 ? PRLD_MAGIC_V1 :
						    PRLD_MAGIC_V2;
	unsigned int i;

	for (i = 0; i < PRLD_MAGIC_LEN; i++)
		hdr[i] = (__u8)magic[i];
	prld_put_le32(hdr + PRLD_OFF_VERSION, PRLD_IMAGE_VERSION);
	prld_put_le32(hdr + PRLD_OFF_HEADS, g->heads);
	prld_put_le32(hdr + PRLD_OFF_CYLINDERS, g->cylinders);
	prld_put_le32(hdr + PRLD_OFF_TRACKS, g->cluster_sectors);
	prld_put_le32(hdr + PRLD_OFF_BAT_ENTRIES, g->bat_entries);
	prld_put_le64(hdr + PRLD_OFF_NB_SECTORS, g->nb_sectors);
	prld_put_le32(hdr + PRLD_OFF_INUSE, g->inuse);
	prld_put_le32(hdr + PRLD_OFF_DATA_OFF, g->data_off);
	prld_put_le32(hdr + PRLD_OFF_FLAGS, g->flags);
	prld_put_le64(hdr + PRLD_OFF_EXT_OFF, g->ext_off);
}

/*
 * The header of @old grown to @size_sectors (rounded up to the cluster, as
 * prld_layout does): more BAT entries, and a data area that starts no
 * earlier than before (clusters in the way are moved by the caller; see
 * prld_grow_moves()).  Shrinking is PRLD_E_SIZE_VS_BAT; CHS keeps its
 * sectors per track.
 */
static inline int prld_grow_layout(const struct prld_geom *old,
				   __u64 size_sectors, struct prld_geom *out,
				   struct prld_fault *f)
{
	struct prld_geom canon;
	__u64 spt = 0;
	int ret;

	ret = prld_layout(&canon, (enum prld_fmt)old->fmt, size_sectors,
			  old->cluster_sectors, f);
	if (ret)
		return ret;
	if (canon.nb_sectors < old->nb_sectors)
		return prld_fail(f, PRLD_E_SIZE_VS_BAT, PRLD_OFF_NB_SECTORS,
				 canon.nb_sectors, old->nb_sectors);
	*out = *old;
	out->nb_sectors = canon.nb_sectors;
	out->bat_entries = canon.bat_entries;
	if (canon.data_off > old->data_off)
		out->data_off = canon.data_off;
	out->data_off_raw = out->data_off;
	if (old->heads && old->cylinders)
		spt = old->nb_sectors / ((__u64)old->heads * old->cylinders);
	if (spt) {
		__u64 cyl = out->nb_sectors / ((__u64)old->heads * spt);

		out->cylinders = cyl > 0xffffffffULL ? 0xffffffffU : (__u32)cyl;
	}
	/* A kept, larger data_off must still let every cluster be addressed. */
	if (prld_data_start(out) + (__u64)(out->bat_entries - 1) *
	    prld_cluster_bytes(out) > prld_max_entry_offset(out))
		return prld_fail(f, PRLD_E_TOO_BIG, PRLD_OFF_BAT_ENTRIES,
				 out->bat_entries, 0);
	return PRLD_OK;
}

/* Must the cluster at byte @off move out of the way of the grown BAT? */
static inline int prld_grow_moves(const struct prld_geom *grown, __u64 off)
{
	return off < prld_data_start(grown);
}

#endif /* PRLD_FORMAT_H */
