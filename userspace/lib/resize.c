// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * resize.c - grow a disk, offline or attached.  Only the top image grows
 * (lower layers keep their size and read as unallocated beyond it, as in
 * ploop and QEMU backing chains); then the descriptor's Disk_size, CHS
 * and Storage end follow, atomically.  The image first: a crash between
 * the two leaves a top larger than Disk_size, which opens (the image is
 * authoritative) and which running the same resize again finishes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"
#include "prld_ioctl.h"

/* The descriptor follows the top's new size (ploop's CHS rule). */
static int update_descriptor(struct prld_desc *d, uint64_t sectors,
			     struct prld_err *err)
{
	struct prld_chs chs;

	if (d->disk_size == sectors && d->end == sectors)
		return 0;
	prld_chs_from_size(sectors, &chs);
	d->disk_size = sectors;
	d->end = sectors;
	d->cylinders = chs.cylinders;
	d->heads = chs.heads;
	d->sectors = chs.sectors;
	return desc_save(d, err);
}

/* Under the directory lock: the descriptor as it is now, updated. */
static int reload_and_update(const char *desc_path, uint64_t sectors,
			     struct prld_err *err)
{
	struct prld_desc *d;
	int ret = desc_load(desc_path, &d, err);

	if (ret)
		return ret;
	ret = update_descriptor(d, sectors, err);
	desc_free(d);
	return ret;
}

static int resize_offline(struct prld_disk *disk, uint64_t sectors,
			  struct prld_err *err)
{
	struct prld_image *top = disk->layers[disk->nlayers - 1];
	int ret;

	if (disk->desc) {
		ret = desc_single_storage(disk->desc, "resizing", err);
		if (ret)
			return ret;
	}
	if (top->kind != PRLD_LAYER_EXPANDING)
		return prld_set_err(err, -EOPNOTSUPP,
				    "%s: a plain (raw) top does not grow here; use truncate",
				    top->path);
	ret = image_grow(top, sectors, err);
	if (!ret && disk->desc)
		ret = update_descriptor(disk->desc, top->geom.nb_sectors, err);
	return ret;
}

static int explain_resize(int code, const char *dev, struct prld_err *err)
{
	switch (code) {
	case -EINVAL:
		return prld_set_err(err, code,
				    "%s: the driver refused the size (shrinking is not supported; see dmesg)",
				    dev);
	case -EROFS:
		return prld_set_err(err, code, "%s: attached read-only", dev);
	case -EPERM:
		return prld_set_err(err, code, "%s: resizing needs CAP_SYS_ADMIN",
				    dev);
	default:
		return prld_set_err(err, code, "%s: resize failed: %s (see dmesg)",
				    dev, strerror(-code));
	}
}

static int ioctl_resize(const char *dev, uint64_t sectors,
			struct prld_err *err)
{
	struct prld_resize req = { .size = sizeof(req), .new_sectors = sectors };
	int fd = open(dev, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return prld_set_err(err, -errno, "%s: %s", dev, strerror(errno));
	if (ioctl(fd, PRLD_RESIZE, &req) < 0)
		ret = explain_resize(-errno, dev, err);
	close(fd);
	return ret;
}

/*
 * Attached: the driver grows the top it holds, then the descriptor is
 * updated (read fresh, under a lock on its directory so a concurrent
 * snapshot cannot interleave) to the size the device reports.
 */
static int resize_attached(const char *path, const char *dev,
			   uint64_t sectors, struct prld_err *err)
{
	struct prld_disk *disk;
	struct prld_dev_info info;
	int lock = -1, ret;

	ret = prld_open(path, PRLD_OPEN_READ | PRLD_OPEN_FAKE, NULL, &disk, err);
	if (ret)
		return ret;
	if (disk->desc) {
		lock = open(disk->desc->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (lock < 0 || flock(lock, LOCK_EX) < 0)
			ret = prld_set_err(err, -errno, "%s: cannot lock: %s",
					   disk->desc->dir, strerror(errno));
	}
	if (!ret)
		ret = ioctl_resize(dev, sectors, err);
	if (!ret)
		ret = prld_dev_get_info(dev, &info, err);
	if (!ret) {
		if (disk->desc)
			ret = reload_and_update(disk->desc->path,
						info.virtual_sectors, err);
		prld_dev_info_free(&info);
	}
	if (lock >= 0)
		close(lock);
	prld_close(disk, NULL);
	return ret;
}

/* The device an attached disk is bound to; 0 if none. */
static int attached_as(const char *path, char *dev, size_t len)
{
	struct prld_disk *disk;
	struct prld_info info;
	char *real;
	int found = 0;

	if (prld_open(path, PRLD_OPEN_READ | PRLD_OPEN_FAKE, NULL, &disk,
		      NULL))
		return 0;
	prld_get_info(disk, &info);
	real = realpath(info.layers[info.nlayers - 1].file, NULL);
	if (real)
		found = kdev_find_by_top(real, dev, len, NULL) == 1;
	free(real);
	prld_close(disk, NULL);
	return found;
}

int prld_resize(const char *path, uint64_t size_bytes, struct prld_err *err)
{
	struct prld_disk *disk;
	char dev[64];
	int ret, close_ret;

	if (!size_bytes || size_bytes % PRLD_SECTOR_SIZE)
		return prld_set_err(err, -EINVAL,
				    "%s: size %llu bytes is not a positive multiple of 512 bytes",
				    path, (unsigned long long)size_bytes);
	ret = prld_open(path, PRLD_OPEN_READ | PRLD_OPEN_WRITE, NULL, &disk,
			err);
	if (ret == -EBUSY && attached_as(path, dev, sizeof(dev))) {
		if (err)
			memset(err, 0, sizeof(*err));
		return resize_attached(path, dev, size_bytes >> PRLD_SECTOR_SHIFT,
				       err);
	}
	if (ret)
		return ret;
	ret = resize_offline(disk, size_bytes >> PRLD_SECTOR_SHIFT, err);
	close_ret = prld_close(disk, ret ? NULL : err);
	return ret ? ret : close_ret;
}
