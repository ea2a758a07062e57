/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * prldctl convert: the two ends of a copy.  Either end is a prld disk
 * (directory or bare image, opened through libprld) or a raw file or
 * block device.  convert_io.c opens and closes them; cmd_convert.c copies.
 */
#ifndef PRLDCTL_CONVERT_H
#define PRLDCTL_CONVERT_H

#include <stdbool.h>
#include <stdint.h>

#include "prld.h"

struct conv_end {
	const char *path;
	struct prld_disk *disk;		/* a prld disk, or NULL: raw */
	struct prld_map data;		/* a prld source: clusters with data */
	int fd;				/* raw: the file or device */
	bool blockdev;			/* raw: zeros must be written */
	bool created;			/* removed again if the copy fails */
	bool created_dir;		/* a disk directory (else one file) */
	uint64_t size;			/* bytes */
	uint32_t granule;		/* bytes checked for zeros at once */
};

/* How a new prld disk is laid out (create's options). */
struct conv_layout {
	bool image;			/* bare image, not a directory */
	uint32_t cluster_sectors;	/* 0: 1 MiB */
	int fmt;			/* 0: V2 */
};

/* Is @path a prld disk (directory, descriptor, or a file with a magic)? */
bool conv_is_disk(const char *path);
/* Sources: a disk at snapshot @guid's state (NULL: as it is), or raw. */
int conv_open_disk_src(struct conv_end *e, const char *path,
		       const char *guid);
int conv_open_raw_src(struct conv_end *e, const char *path);
/* Destinations: a new disk of @size bytes, or a raw file / device. */
int conv_create_disk_dst(struct conv_end *e, const char *path,
			 uint64_t size, const struct conv_layout *lay);
int conv_open_raw_dst(struct conv_end *e, const char *path, uint64_t size);
/*
 * Data: may [off, off + len) of a source hold non-zero bytes (1/0)?
 * Reading and writing print their own errors (-1).
 */
int conv_has_data(struct conv_end *src, uint64_t off, uint64_t len);
int conv_read(struct conv_end *src, void *buf, size_t len, uint64_t off);
int conv_write(struct conv_end *dst, const void *buf, size_t len,
	       uint64_t off);
/* Zeros over [off, off + len) where the destination does not read so. */
int conv_zero(struct conv_end *dst, uint64_t off, uint64_t len);
/*
 * Close: a disk cleanly (data, BAT, in-use flag cleared).  @failed: what
 * this run created is removed again; @status is returned, or a failure.
 */
int conv_close(struct conv_end *e, bool failed, int status);

#endif /* PRLDCTL_CONVERT_H */
