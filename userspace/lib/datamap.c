// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * datamap.c - prld_get_data_map: which clusters of the open disk (or
 * snapshot state) may hold anything but zeros.  A cluster no layer maps
 * reads as zeros; so does one whose bytes in the layer that serves it are
 * a hole of that file (a preallocated image, space a crash left unwritten
 * -- found with SEEK_DATA, so such clusters are never read).  Exporting
 * and copying skip both.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* What one layer's file was last found to hold: a data and a hole range. */
struct extent_cache {
	uint64_t data_lo, data_hi;	/* [lo, hi) is data */
	uint64_t hole_lo, hole_hi;	/* [lo, hi) is a hole */
};

/*
 * Has [off, off + len) of @fd any data?  1, 0, or a negative errno.
 * SEEK_DATA from @off: the next data byte (ENXIO: none up to EOF).
 */
static int range_has_data(int fd, uint64_t off, uint64_t len,
			  struct extent_cache *c)
{
	off_t data, hole;

	if (off >= c->data_lo && off < c->data_hi)
		return 1;
	if (off >= c->hole_lo && off + len <= c->hole_hi)
		return 0;
	data = lseek(fd, (off_t)off, SEEK_DATA);
	if (data < 0 && errno == ENXIO)
		return 0;	/* only a hole up to the end of the file */
	if (data < 0)
		return errno == EINVAL ? 1 : -errno;	/* no SEEK_DATA here */
	if ((uint64_t)data > off) {
		c->hole_lo = off;
		c->hole_hi = (uint64_t)data;
	}
	if ((uint64_t)data >= off + len)
		return 0;
	hole = lseek(fd, data, SEEK_HOLE);
	c->data_lo = (uint64_t)data;
	c->data_hi = hole > data ? (uint64_t)hole : (uint64_t)data + 1;
	return 1;
}

/* The layer serving @cluster, or -1 when none maps it; *@off in its file. */
static int serving_layer(const struct prld_disk *disk, uint32_t cluster,
			 uint64_t *off)
{
	unsigned int i;

	for (i = disk->nlayers; i-- > 0;)
		if (image_maps(disk->layers[i], cluster, off))
			return (int)i;
	return -1;
}

int prld_get_data_map(struct prld_disk *disk, struct prld_map *out,
		      struct prld_err *err)
{
	uint64_t cb = (uint64_t)disk->cluster_sectors << PRLD_SECTOR_SHIFT;
	uint64_t nbits = (disk->size_bytes + cb - 1) / cb, off;
	struct extent_cache *cache;
	uint32_t c;
	int layer, ret = 0;

	memset(out, 0, sizeof(*out));
	if (disk->flags & PRLD_OPEN_FAKE)
		return prld_set_err(err, -EPERM,
				    "%s: opened for parameters only; no map",
				    disk->info[disk->nlayers - 1].file);
	out->bits = calloc((size_t)((nbits + 7) / 8) + 1, 1);
	cache = calloc(disk->nlayers, sizeof(*cache));
	if (!out->bits || !cache) {
		free(cache);
		prld_map_free(out);
		return prld_set_err(err, -ENOMEM, "out of memory for the map");
	}
	out->granularity = cb;
	out->nbits = nbits;
	if (disk->nparts > 1) {
		/*
		 * A split disk's pieces each have their own chain and grid:
		 * call everything data (zeros are still skipped by whoever
		 * copies, they are only read).
		 */
		for (c = 0; c < nbits; c++)
			out->bits[c / 8] |= (uint8_t)(1U << (c % 8));
		free(cache);
		return 0;
	}
	for (c = 0; c < nbits && ret >= 0; c++) {
		layer = serving_layer(disk, c, &off);
		if (layer < 0)
			continue;
		ret = range_has_data(disk->layers[layer]->fd, off, cb,
				     &cache[layer]);
		if (ret > 0)
			out->bits[c / 8] |= (uint8_t)(1U << (c % 8));
	}
	free(cache);
	if (ret < 0) {
		prld_map_free(out);
		return prld_sys_err(err, ret, disk->info[layer].file,
				    "cannot find its data (SEEK_DATA)");
	}
	return 0;
}
