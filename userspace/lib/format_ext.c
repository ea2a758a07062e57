// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * format_ext.c - the clusters a Parallels Format Extension uses (ploop's
 * CBT, QEMU's persistent dirty bitmaps), so that the checker does not
 * call them leaks.
 *
 * The extension cluster (header ext_off, sectors) holds: u64 magic
 * 0xAB234CEF23DCEA87, 16 bytes of MD5 over the rest of the cluster, then
 * features, each a 24-byte header {u64 magic, u64 flags, u32 data_size,
 * u32 unused} and data_size bytes padded to 8; magic 0 ends the list.
 * A dirty bitmap (magic 0x20385FAE252CB34A) is {u64 size, 16-byte id,
 * u32 granularity, u32 l1_size, u64 l1[l1_size]}; an L1 entry is 0 (all
 * zeros), 1 (all ones) or the sector of a bitmap cluster.
 *
 * The MD5 is not verified (no hash library for one checksum): a damaged
 * extension that still parses can only hide leaks, never lose data, and
 * writers drop the extension anyway (image_begin_write()).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define EXT_MAGIC	0xAB234CEF23DCEA87ULL
#define EXT_HDR		24U	/* magic + MD5 */
#define FEAT_HDR	24U
#define BITMAP_MAGIC	0x20385FAE252CB34AULL
#define BITMAP_HDR	32U	/* size, id, granularity, l1_size */

struct ext_walk {
	const struct prld_geom *g;
	uint64_t file_size;
	uint64_t *offs;		/* bitmap clusters found (bytes) */
	size_t n, cap;
	char *why;
	size_t why_len;
};

static int fail(struct ext_walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct ext_walk *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->why, w->why_len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int add_cluster(struct ext_walk *w, uint64_t sector)
{
	uint64_t off, cl = prld_cluster_bytes(w->g), *v;

	if (sector > w->file_size >> PRLD_SECTOR_SHIFT)
		return fail(w, "bitmap cluster at sector %llu is past the end of the file",
			    (unsigned long long)sector);
	off = sector << PRLD_SECTOR_SHIFT;
	if (off < prld_data_start(w->g) ||
	    (off - prld_data_start(w->g)) % cl || off + cl > w->file_size)
		return fail(w, "bitmap cluster at sector %llu is off the data area's cluster grid or past the end",
			    (unsigned long long)sector);
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 16;
		v = realloc(w->offs, w->cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		w->offs = v;
	}
	w->offs[w->n++] = off;
	return 0;
}

static int walk_bitmap(struct ext_walk *w, const __u8 *data, uint64_t size)
{
	uint64_t i, l1, e;
	int ret = 0;

	if (size < BITMAP_HDR)
		return fail(w, "dirty bitmap feature of %llu bytes is too small",
			    (unsigned long long)size);
	l1 = prld_get_le32(data + 28);
	if (l1 > (size - BITMAP_HDR) / 8)
		return fail(w, "dirty bitmap L1 table of %llu entries exceeds its feature",
			    (unsigned long long)l1);
	for (i = 0; i < l1 && !ret; i++) {
		e = prld_get_le64(data + BITMAP_HDR + 8 * i);
		if (e > 1)
			ret = add_cluster(w, e);
	}
	return ret;
}

static int walk_features(struct ext_walk *w, const __u8 *buf, uint64_t len)
{
	uint64_t pos = EXT_HDR, magic, size;
	int ret;

	for (;;) {
		if (len - pos < FEAT_HDR)
			return fail(w, "feature list runs past the extension cluster");
		magic = prld_get_le64(buf + pos);
		size = prld_get_le32(buf + pos + 16);
		if (!magic)
			return 0;
		if (prld_get_le64(buf + pos + 8))
			return fail(w, "feature 0x%llx has flags set",
				    (unsigned long long)magic);
		pos += FEAT_HDR;
		if ((size + 7) / 8 * 8 > len - pos)
			return fail(w, "feature 0x%llx of %llu bytes runs past the extension cluster",
				    (unsigned long long)magic,
				    (unsigned long long)size);
		if (magic == BITMAP_MAGIC) {
			ret = walk_bitmap(w, buf + pos, size);
			if (ret)
				return ret;
		}
		pos += (size + 7) / 8 * 8;
	}
}

int format_ext_clusters(int fd, const struct prld_geom *g, uint64_t file_size,
			uint64_t **offs, size_t *n, char *why, size_t why_len)
{
	struct ext_walk w = { g, file_size, NULL, 0, 0, why, why_len };
	uint64_t cl = prld_cluster_bytes(g);
	__u8 *buf;
	int ret;

	*offs = NULL;
	*n = 0;
	if (cl < EXT_HDR + FEAT_HDR)
		return fail(&w, "cluster too small for a format extension");
	buf = malloc((size_t)cl);
	if (!buf)
		return -ENOMEM;
	ret = prld_pread_full(fd, buf, (size_t)cl, g->ext_off << PRLD_SECTOR_SHIFT);
	if (ret)
		fail(&w, "cannot read the extension cluster: %s", strerror(-ret));
	else if (prld_get_le64(buf) != EXT_MAGIC)
		ret = fail(&w, "bad magic 0x%016llx",
			   (unsigned long long)prld_get_le64(buf));
	else
		ret = walk_features(&w, buf, cl);
	free(buf);
	if (ret) {
		free(w.offs);
		return ret;
	}
	*offs = w.offs;
	*n = w.n;
	return 0;
}
