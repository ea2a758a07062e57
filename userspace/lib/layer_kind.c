// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * layer_kind.c - what an image of a disk holds, decided from its bytes and
 * checked against the descriptor's <Type>, never taken from <Type> alone.
 *
 * ploop writes <Type>Plain</Type> for every image of a raw-base disk,
 * deltas included; only the base is raw (ploop's own check reads only the
 * first image as raw).  So:
 *
 *   Compressed        a valid Parallels header, else refused (the
 *                     validator names the rule);
 *   Plain, the base   raw when the file covers the disk (ploop's rule,
 *                     even if its first bytes look like a header: a raw
 *                     disk may hold anything); else a valid header makes
 *                     it an expanding image; else refused;
 *   Plain, a delta    a valid header makes it an expanding delta; else
 *                     refused: a raw file above the base is something no
 *                     tool writes, and reading it raw would hide the
 *                     layers below.
 *
 * An image that fits neither reading is refused; no image is ever read
 * the wrong way round (a delta's header returned as disk data).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Is there a valid header?  @why gets the validator's words if not. */
static int probe_header(const char *path, uint64_t *size, bool *valid,
			char *why, size_t why_len, struct prld_err *err)
{
	__u8 hdr[PRLD_HEADER_SIZE] = { 0 };
	struct prld_geom g;
	struct prld_fault f = { .status = PRLD_E_SHORT };
	struct stat st;
	size_t len;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return prld_sys_err(err, -errno, path, "cannot open");
	if (fstat(fd, &st) < 0) {
		ret = prld_sys_err(err, -errno, path, "cannot stat");
		close(fd);
		return ret;
	}
	*size = (uint64_t)st.st_size;
	len = *size < PRLD_HEADER_SIZE ? (size_t)*size : PRLD_HEADER_SIZE;
	ret = S_ISREG(st.st_mode) ? prld_pread_full(fd, hdr, len, 0) : 0;
	close(fd);
	if (ret)
		return prld_set_err(err, ret, "%s: cannot read header: %s",
				    path, strerror(-ret));
	*valid = S_ISREG(st.st_mode) &&
		 prld_header_check(hdr, len, *size, &g, &f) == PRLD_OK;
	snprintf(why, why_len, "%s", S_ISREG(st.st_mode) ?
		 prld_status_str(f.status) : "not a regular file");
	return 0;
}

int layer_kind(const char *path, enum prld_layer_kind typed, bool base,
	       uint64_t disk_sectors, enum prld_layer_kind *kind,
	       struct prld_err *err)
{
	uint64_t size = 0, need = disk_sectors << PRLD_SECTOR_SHIFT;
	bool valid = false;
	char why[128];
	int ret;

	*kind = typed;
	if (typed == PRLD_LAYER_EXPANDING)
		return 0;	/* image_open() names what is wrong, if anything */
	ret = probe_header(path, &size, &valid, why, sizeof(why), err);
	if (ret)
		return ret;
	if (base && size >= need)
		return 0;
	if (valid) {
		*kind = PRLD_LAYER_EXPANDING;
		return 0;
	}
	if (base)
		return prld_set_err(err, -EINVAL,
				    "%s: typed Plain, but neither a raw image covering the disk (%llu bytes, the disk has %llu) nor a Parallels image (%s)",
				    path, (unsigned long long)size,
				    (unsigned long long)need, why);
	return prld_set_err(err, -EINVAL,
			    "%s: typed Plain above the base, but not a Parallels delta (%s); ploop types every image of a raw-base disk Plain, and only the base is raw",
			    path, why);
}
