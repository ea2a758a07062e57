// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * image_grow.c - grow an expanding image: more BAT entries, and when the
 * larger BAT reaches into the first data clusters, those move to the end
 * of the file first.  The same order as the driver's PRLD_RESIZE, so a
 * crash at any point leaves a valid image: each moved cluster is durable
 * before its BAT entry points at it; the region the BAT grows into is
 * zeroed (nothing references it any more) and durable; the header with
 * the new size is written last, in one piece.  Before that the image is
 * the old one plus leaked clusters (and the in-use flag, which
 * `check --repair` clears); after it, the grown one.  The moves go in one
 * batch (image_commit): all copies durable with one sync, then their BAT
 * entries with a second, before the old places are zeroed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static int grow_sync(struct prld_image *img, struct prld_err *err)
{
	if (fdatasync(img->fd) < 0)
		return prld_set_err(err, -errno, "%s: cannot sync: %s",
				    img->path, strerror(errno));
	return 0;
}

static int grow_io_err(struct prld_image *img, int ret, const char *what,
		       struct prld_err *err)
{
	return prld_set_err(err, ret, "%s: cannot %s: %s", img->path, what,
			    strerror(-ret));
}

/* Copy @cluster's data from @from to the end of the file, then remap. */
static int move_cluster(struct prld_image *img, uint32_t cluster,
			uint64_t from, void *buf, struct prld_err *err)
{
	uint64_t cl = prld_cluster_bytes(&img->geom), to = img->alloc_next;
	__u32 entry = prld_offset_to_bat(&img->geom, to);
	int ret;

	ret = prld_pread_full(img->fd, buf, (size_t)cl, from);
	if (ret)
		return grow_io_err(img, ret, "read a cluster to move", err);
	ret = prld_pwrite_full(img->fd, buf, (size_t)cl, to);
	if (ret)
		return grow_io_err(img, ret, "write a moved cluster", err);
	img->bat[cluster] = entry;
	image_mark_pending(img, cluster, cl);
	img->alloc_next = to + cl;
	if (img->file_size < img->alloc_next)
		img->file_size = img->alloc_next;
	return 0;
}

/* Every cluster lying where the grown BAT and its padding will be. */
static int move_out_of_the_way(struct prld_image *img,
			       const struct prld_geom *grown,
			       struct prld_err *err)
{
	uint64_t cl = prld_cluster_bytes(&img->geom), off;
	void *buf = malloc((size_t)cl);
	uint32_t c;
	int ret = 0;

	if (!buf)
		return prld_set_err(err, -ENOMEM, "out of memory");
	if (img->alloc_next < prld_data_start(grown))
		img->alloc_next = prld_data_start(grown);
	for (c = 0; !ret && c < img->geom.bat_entries; c++) {
		if (!img->bat[c])
			continue;
		off = prld_bat_to_offset(&img->geom, img->bat[c]);
		if (prld_grow_moves(grown, off))
			ret = move_cluster(img, c, off, buf, err);
	}
	free(buf);
	/* The new entries durable before the old places are overwritten. */
	return ret ? ret : image_sync(img, err);
}

/* Zeros over [@from, @to): the new BAT entries and their padding. */
static int zero_range(struct prld_image *img, uint64_t from, uint64_t to,
		      struct prld_err *err)
{
	static const __u8 zeros[65536];
	size_t len;
	int ret;

	for (; from < to; from += len) {
		len = to - from < sizeof(zeros) ? (size_t)(to - from) :
						  sizeof(zeros);
		ret = prld_pwrite_full(img->fd, zeros, len, from);
		if (ret)
			return grow_io_err(img, ret, "zero the grown BAT", err);
	}
	if (img->file_size < to)
		img->file_size = to;
	return grow_sync(img, err);
}

/* The header commits the new size; then memory follows. */
static int commit_header(struct prld_image *img, const struct prld_geom *grown,
			 struct prld_err *err)
{
	__u32 *bat = calloc(grown->bat_entries, sizeof(*bat));
	__u8 hdr[PRLD_HEADER_SIZE];
	int ret;

	if (!bat)
		return prld_set_err(err, -ENOMEM, "out of memory");
	prld_header_encode(grown, hdr);
	ret = prld_pwrite_full(img->fd, hdr, sizeof(hdr), 0);
	ret = ret ? grow_io_err(img, ret, "write the header", err) :
		    grow_sync(img, err);
	if (ret) {
		free(bat);
		return ret;
	}
	memcpy(bat, img->bat, img->geom.bat_entries * sizeof(*bat));
	free(img->bat);
	img->bat = bat;
	img->geom = *grown;
	return 0;
}

int image_grow(struct prld_image *img, uint64_t size_sectors,
	       struct prld_err *err)
{
	struct prld_geom grown;
	struct prld_fault f;
	int ret;

	if (img->kind != PRLD_LAYER_EXPANDING || !img->writable)
		return prld_set_err(err, -EBADF,
				    "%s: only an expanding image opened for writing grows",
				    img->path);
	if (prld_grow_layout(&img->geom, size_sectors, &grown, &f))
		return prld_set_err(err, f.status == PRLD_E_SIZE_VS_BAT ?
					 -EINVAL : -EFBIG,
				    "%s: cannot resize to %llu bytes (it has %llu bytes): %s",
				    img->path,
				    (unsigned long long)size_sectors << PRLD_SECTOR_SHIFT,
				    (unsigned long long)img->geom.nb_sectors << PRLD_SECTOR_SHIFT,
				    f.status == PRLD_E_SIZE_VS_BAT ?
				    "shrinking is not supported (it would drop data)" :
				    prld_status_str(f.status));
	if (grown.nb_sectors == img->geom.nb_sectors)
		return 0;
	ret = image_begin_write(img, err);
	grown.inuse = img->geom.inuse;
	if (!ret)
		ret = move_out_of_the_way(img, &grown, err);
	if (!ret)
		ret = zero_range(img, prld_bat_end(img->geom.bat_entries),
				 prld_data_start(&grown), err);
	if (!ret)
		ret = commit_header(img, &grown, err);
	return ret;
}
