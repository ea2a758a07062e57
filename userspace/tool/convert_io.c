// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldctl convert: opening, reading, writing and closing the two ends of
 * a copy (see convert.h).  Raw ends are plain files or block devices; a
 * raw file is written sparse (zeros become holes: the file is cut to 0
 * and grown to its size first), a block device gets zeros written
 * (BLKZEROOUT, which the device may do without moving data).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert.h"
#include "prld_format.h"
#include "tool.h"

#define RAW_GRANULE 4096	/* holes in raw output, as qemu-img's -S 4k */

bool conv_is_disk(const char *path)
{
	size_t n = strlen(path);
	char magic[PRLD_MAGIC_LEN];
	struct stat st;
	bool yes;
	int fd;

	if (stat(path, &st) < 0)
		return false;
	if (S_ISDIR(st.st_mode))
		return true;
	if (n >= 4 && !strcasecmp(path + n - 4, ".xml"))
		return true;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	yes = pread(fd, magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) &&
	      (!memcmp(magic, PRLD_MAGIC_V1, PRLD_MAGIC_LEN) ||
	       !memcmp(magic, PRLD_MAGIC_V2, PRLD_MAGIC_LEN));
	close(fd);
	return yes;
}

int conv_open_disk_src(struct conv_end *e, const char *path,
		       const char *guid)
{
	struct prld_err err = { 0 };
	struct prld_info info;

	e->path = path;
	e->fd = -1;
	e->disk = open_disk_state(path, guid, PRLD_OPEN_READ, 0);
	if (!e->disk)
		return -1;
	prld_get_info(e->disk, &info);
	e->size = info.size_sectors * 512;
	e->granule = info.cluster_sectors * 512;
	if (prld_get_data_map(e->disk, &e->data, &err) < 0)
		return fail_err(&err), -1;
	return 0;
}

/* A regular file's or a block device's size; -1 for anything else. */
static int raw_size(int fd, const char *path, uint64_t *size, bool *blockdev)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return fail("%s: %s", path, strerror(errno)), -1;
	*blockdev = S_ISBLK(st.st_mode);
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (*blockdev && ioctl(fd, BLKGETSIZE64, size) == 0)
		return 0;
	if (*blockdev)
		return fail("%s: cannot get the device's size: %s", path,
			    strerror(errno)), -1;
	return fail("%s: neither a regular file nor a block device", path), -1;
}

int conv_open_raw_src(struct conv_end *e, const char *path)
{
	e->path = path;
	e->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (e->fd < 0)
		return fail("%s: %s", path, strerror(errno)), -1;
	if (raw_size(e->fd, path, &e->size, &e->blockdev))
		return -1;
	if (!e->size)
		return fail("%s: empty; nothing to convert", path), -1;
	return 0;
}

int conv_create_disk_dst(struct conv_end *e, const char *path,
			 uint64_t size, const struct conv_layout *lay)
{
	struct prld_create_params p = {
		.size_sectors = (size + 511) / 512,
		.cluster_sectors = lay->cluster_sectors,
		.fmt = lay->fmt,
	};
	struct prld_err err = { 0 };
	struct prld_info info;
	struct stat st;
	int ret;

	e->path = path;
	e->fd = -1;
	if (stat(path, &st) == 0)
		return fail("%s: exists; convert makes a new disk (remove it first)",
			    path), -1;
	ret = lay->image ? prld_create_image(path, &p, &err) :
			   prld_create_disk(path, &p, &err);
	if (ret < 0)
		return fail_err(&err), -1;
	e->created = true;
	e->created_dir = !lay->image;
	e->disk = open_disk(path, PRLD_OPEN_READ | PRLD_OPEN_WRITE, 0);
	if (!e->disk)
		return -1;
	prld_get_info(e->disk, &info);
	e->size = size;
	e->granule = info.cluster_sectors * 512;
	return 0;
}

int conv_open_raw_dst(struct conv_end *e, const char *path, uint64_t size)
{
	char have[48], need[48];
	struct stat st;

	e->path = path;
	e->granule = RAW_GRANULE;
	e->size = size;
	e->created = stat(path, &st) < 0;
	if (!e->created && S_ISBLK(st.st_mode)) {
		e->fd = open(path, O_WRONLY | O_CLOEXEC);
		if (e->fd < 0)
			return fail("%s: %s", path, strerror(errno)), -1;
		e->blockdev = true;
		if (raw_size(e->fd, path, &e->size, &e->blockdev))
			return -1;
		if (e->size < size)
			return fail("%s: the device has %s, the disk %s", path,
				    bytes_str(e->size, have, sizeof(have)),
				    bytes_str(size, need, sizeof(need))), -1;
		return 0;
	}
	if (!e->created && !S_ISREG(st.st_mode))
		return fail("%s: neither a regular file nor a block device",
			    path), -1;
	/* Never cut an image (the source's own file, say) to raw. */
	if (!e->created && conv_is_disk(path))
		return fail("%s: a Parallels image; convert does not overwrite one (remove it first)",
			    path), -1;
	/* Cut to nothing first, so every byte not written is a hole. */
	e->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (e->fd < 0)
		return fail("%s: %s", path, strerror(errno)), -1;
	if (ftruncate(e->fd, (off_t)size) < 0)
		return fail("%s: cannot make it %s: %s", path,
			    bytes_str(size, need, sizeof(need)),
			    strerror(errno)), -1;
	return 0;
}

/* A prld source: any cluster of [off, off + len) in the data map. */
static bool map_has_data(const struct prld_map *m, uint64_t off, uint64_t len)
{
	uint64_t c = off / m->granularity;
	uint64_t end = (off + len + m->granularity - 1) / m->granularity;

	for (; c < end && c < m->nbits; c++)
		if (m->bits[c / 8] & (1U << (c % 8)))
			return true;
	return false;
}

int conv_has_data(struct conv_end *src, uint64_t off, uint64_t len)
{
	off_t data;

	if (src->disk)
		return map_has_data(&src->data, off, len);
	if (src->blockdev)
		return 1;
	/* A raw file's holes are skipped without reading them. */
	data = lseek(src->fd, (off_t)off, SEEK_DATA);
	if (data < 0)
		return errno == ENXIO ? 0 : 1;
	return (uint64_t)data < off + len;
}

int conv_read(struct conv_end *src, void *buf, size_t len, uint64_t off)
{
	struct prld_err err = { 0 };
	size_t got = 0;
	ssize_t n;

	if (src->disk)
		return prld_pread(src->disk, buf, len, off, &err) < 0 ?
		       fail_err(&err), -1 : 0;
	while (got < len) {
		n = pread(src->fd, (char *)buf + got, len - got,
			  (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail("%s: cannot read %zu bytes at offset %" PRIu64
				    ": %s", src->path, len - got, off + got,
				    n ? strerror(errno) : "end of file"), -1;
		got += (size_t)n;
	}
	return 0;
}

int conv_write(struct conv_end *dst, const void *buf, size_t len,
	       uint64_t off)
{
	struct prld_err err = { 0 };
	size_t done = 0;
	ssize_t n;

	if (dst->disk)
		return prld_pwrite(dst->disk, buf, len, off, &err) < 0 ?
		       fail_err(&err), -1 : 0;
	while (done < len) {
		n = pwrite(dst->fd, (const char *)buf + done, len - done,
			   (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("%s: cannot write at offset %" PRIu64 ": %s",
				    dst->path, off + done, strerror(errno)), -1;
		done += (size_t)n;
	}
	return 0;
}

int conv_zero(struct conv_end *dst, uint64_t off, uint64_t len)
{
	static const char zeros[1 << 16];
	uint64_t range[2] = { off, len };
	size_t n;

	if (dst->disk || !dst->blockdev || !len)
		return 0;	/* a new disk and a cut file read zeros */
	if (ioctl(dst->fd, BLKZEROOUT, range) == 0)
		return 0;
	for (; len; off += n, len -= n) {
		n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		if (conv_write(dst, zeros, n, off))
			return -1;
	}
	return 0;
}

/* Remove a disk this run created: its image and descriptor, its dir. */
static void remove_created(const struct conv_end *e)
{
	char *p;

	if (!e->created_dir) {
		unlink(e->path);
		return;
	}
	p = malloc(strlen(e->path) + 32);
	if (!p)
		return;
	sprintf(p, "%s/root.hds", e->path);
	unlink(p);
	sprintf(p, "%s/DiskDescriptor.xml", e->path);
	unlink(p);
	rmdir(e->path);
	free(p);
}

int conv_close(struct conv_end *e, bool failed, int status)
{
	if (e->disk)
		status = close_disk(e->disk, status);
	e->disk = NULL;
	prld_map_free(&e->data);
	if (e->fd >= 0)
		close(e->fd);
	e->fd = -1;
	if (e->created && (failed || status != PRLDCTL_EXIT_OK))
		remove_created(e);
	return status;
}
