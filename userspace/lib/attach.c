// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * attach.c - hand a disk to the prld kernel driver, and take it back.
 *
 * The chain is resolved here from the descriptor and the images' headers
 * only; the kernel reads and validates every header and BAT itself from
 * the file descriptors (it never trusts userspace's view), so reading a
 * large BAT twice would only double the attach time.  When the kernel
 * refuses a disk, the full userspace check (the same shared validators)
 * runs to name the file and the rule in the message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "prld_ioctl.h"

#define PRLD_CONTROL_PATH "/dev/" PRLD_CONTROL_NAME
#define ATTACH_TRIES 8
#define DETACH_BUSY_TRIES 20
#define DETACH_BUSY_WAIT_US 50000

struct chain_files {
	unsigned int n;
	char **paths;		/* base first; a split disk's pieces in order */
	int *fds;
	uint64_t plain_sectors;	/* the base is raw, of this size; 0: not */
	uint32_t *part_layers;	/* a split disk: layers of each piece */
	unsigned int nparts;	/* 1, or the pieces of a split disk */
};

/* Is layer @i the top of its piece (the one written)? */
static bool part_top(const struct chain_files *cf, unsigned int i)
{
	unsigned int k, end = 0;

	for (k = 0; k < cf->nparts; k++) {
		end += cf->part_layers[k];
		if (i < end)
			return i == end - 1;
	}
	return false;
}

/* Close the files (and so drop their locks); the paths stay. */
static void chain_files_close(struct chain_files *cf)
{
	unsigned int i;

	for (i = 0; i < cf->n; i++) {
		if (cf->fds[i] >= 0)
			close(cf->fds[i]);
		cf->fds[i] = -1;
	}
}

static void chain_files_free(struct chain_files *cf)
{
	unsigned int i;

	chain_files_close(cf);
	for (i = 0; i < cf->n; i++)
		free(cf->paths[i]);
	free(cf->paths);
	free(cf->fds);
	free(cf->part_layers);
	cf->part_layers = NULL;
	cf->n = 0;
}

/*
 * Resolve the chain with libprld; keep only the paths.  PRLD_OPEN_FAKE
 * reads headers only and takes no lock (so it also finds the files of an
 * attached disk, whose top the kernel's file holds locked); without it
 * every BAT is validated too.
 */
static int chain_resolve(const char *path, const char *guid,
			 unsigned int flags, struct chain_files *cf,
			 struct prld_err *err)
{
	struct prld_disk *disk;
	struct prld_info info;
	unsigned int i;
	int ret;

	ret = prld_open_snapshot(path, guid, flags, NULL, &disk, err);
	if (ret < 0)
		return ret;
	prld_get_info(disk, &info);
	cf->paths = calloc(info.nlayers, sizeof(*cf->paths));
	cf->fds = malloc(info.nlayers * sizeof(*cf->fds));
	/* A split disk: each piece's chain, in disk order, then the next. */
	cf->part_layers = calloc(info.nstorages, sizeof(*cf->part_layers));
	cf->nparts = info.nstorages;
	ret = cf->paths && cf->fds && cf->part_layers ? 0 :
		prld_set_err(err, -ENOMEM, "%s: out of memory", path);
	for (i = 0; !ret && i < info.nlayers; i++) {
		cf->fds[i] = -1;
		cf->n = i + 1;
		cf->part_layers[info.layers[i].storage]++;
		/*
		 * layer_kind.c decided from the bytes: only a base is ever
		 * raw.  The driver checks the file holds that many sectors.
		 */
		if (info.layers[i].kind == PRLD_LAYER_PLAIN)
			cf->plain_sectors = info.layers[i].nb_sectors;
		if (!(cf->paths[i] = strdup(info.layers[i].file)))
			ret = prld_set_err(err, -ENOMEM, "out of memory");
	}
	prld_close(disk, NULL);
	return ret;
}

/* Does this filesystem take O_DIRECT?  (The kernel would refuse it.) */
static bool dio_possible(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * Open every layer for the kernel: lower layers read-only with a shared
 * lock, the top read-write with an exclusive one.  The kernel's reference
 * keeps the open file description, and so the lock, while attached.
 * Never O_DIRECT: direct I/O is chosen per request by the driver, and its
 * own header and BAT accesses are small buffered ones.
 */
static int chain_open(struct chain_files *cf, bool read_only,
		      struct prld_err *err)
{
	unsigned int i;
	bool top;
	int flags;

	for (i = 0; i < cf->n; i++) {
		top = part_top(cf, i);
		flags = (top && !read_only ? O_RDWR : O_RDONLY) | O_CLOEXEC;
		cf->fds[i] = open(cf->paths[i], flags);
		if (cf->fds[i] < 0)
			return prld_set_err(err, -errno, "%s: %s", cf->paths[i],
					    strerror(errno));
		if (lock_image_fd(cf->fds[i], top && !read_only) < 0 &&
		    !(read_only && kdev_reads_only(cf->paths[i])))
			return prld_set_err(err, -EBUSY,
					    "%s: in use by another process or device",
					    cf->paths[i]);
	}
	return 0;
}

static int open_control(struct prld_err *err)
{
	int fd = open(PRLD_CONTROL_PATH, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return prld_set_err(err, -ENOENT,
				    PRLD_CONTROL_PATH ": not found: is the prld module loaded? (modprobe prld)");
	if (errno == EACCES || errno == EPERM)
		return prld_set_err(err, -EPERM,
				    PRLD_CONTROL_PATH ": permission denied (attaching needs root)");
	return prld_set_err(err, -errno, PRLD_CONTROL_PATH ": %s",
			    strerror(errno));
}

/* devtmpfs creates the node with the disk; give it a moment to appear. */
static int open_device(const char *dev, bool read_only)
{
	int fd, i;

	for (i = 0; i < 100; i++) {
		fd = open(dev, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			return fd;
		usleep(10000);
	}
	return -1;
}

/* Does a layer of @disk open read-only only (the kernel refuses those)? */
static bool torn_layer(const char *disk)
{
	struct prld_disk *d;
	struct prld_info info;
	unsigned int i;
	bool torn = false;

	if (prld_open(disk, PRLD_OPEN_READ, NULL, &d, NULL))
		return false;
	prld_get_info(d, &info);
	for (i = 0; i < info.nlayers; i++)
		torn |= info.layers[i].read_only;
	prld_close(d, NULL);
	return torn;
}

/*
 * The kernel found the chain invalid: userspace's full check names the
 * file and the rule.  A chain it finds valid gets the generic message.
 */
static int explain_invalid(int code, const char *disk, const char *guid,
			   struct prld_err *err)
{
	struct chain_files cf = { 0 };
	int ret;

	ret = chain_resolve(disk, guid, PRLD_OPEN_READ, &cf, err);
	chain_files_free(&cf);
	if (ret < 0)
		return ret;
	if (torn_layer(disk))
		return prld_set_err(err, code,
				    "%s: the driver refused the disk: %s: the last mapped cluster is cut short (a torn write); read it offline (prldctl read), or restore it with prldctl check --repair",
				    disk, prld_status_str(PRLD_E_BAT_EOF));
	return prld_set_err(err, code, "%s: the driver refused the disk: %s (see dmesg)",
			    disk, strerror(-code));
}

static int explain_configure(int code, const char *disk, const char *guid,
			     const char *top, struct prld_err *err)
{
	switch (code) {
	case -EINVAL:
		return explain_invalid(code, disk, guid, err);
	case -EUCLEAN:
		return prld_set_err(err, code,
				    "%s: in-use flag set (not closed cleanly): run 'prldctl check --repair %s' or attach read-only (-r)",
				    top, disk);
	case -EPERM:
		return prld_set_err(err, code, "%s: attaching needs CAP_SYS_ADMIN (run as root)",
				    disk);
	case -EBUSY:
		return prld_set_err(err, code, "%s: a file of this disk is attached elsewhere",
				    disk);
	case -EOPNOTSUPP:
		return prld_set_err(err, code,
				    "%s: a format conversion is in progress (the header's CIF_FmtVersionConvert flag): attach read-only (-r)",
				    top);
	case -EROFS:
		return prld_set_err(err, code,
				    "%s: the image can only be read (prldctl check says why): attach read-only (-r)",
				    top);
	default:
		return prld_set_err(err, code, "%s: the driver refused the disk: %s (see dmesg)",
				    disk, strerror(-code));
	}
}

/* One attempt on a free device; -EAGAIN if someone took it first. */
static int configure_one(int ctl, const struct chain_files *cf,
			 const struct prld_attach_opts *o, unsigned int flags,
			 char *devpath, size_t len)
{
	struct prld_config cfg = {
		.size = sizeof(cfg),
		.flags = flags | (cf->plain_sectors ? PRLD_CONFIG_PLAIN_BASE : 0) |
			 (cf->nparts > 1 ? PRLD_CONFIG_SPLIT : 0),
		.offset = o->offset,
		.fds = (uintptr_t)cf->fds,
		.nr_layers = cf->n,
		.plain_sectors = cf->plain_sectors,
		.part_layers = cf->nparts > 1 ? (uintptr_t)cf->part_layers : 0,
		.nr_parts = cf->nparts > 1 ? cf->nparts : 0,
	};
	int index, fd, ret = 0;

	index = ioctl(ctl, PRLD_CTL_GET_FREE, 0);
	if (index < 0)
		return -errno;
	snprintf(devpath, len, "/dev/" PRLD_DEVICE_PREFIX "%d", index);
	fd = open_device(devpath, o->read_only);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, PRLD_CONFIGURE, &cfg) < 0)
		ret = -errno;
	close(fd);
	/* EBUSY from a bound device: another attach won the race. */
	if (ret == -EBUSY) {
		struct prld_dev_info info;

		if (prld_dev_get_info(devpath, &info, NULL) == 0) {
			prld_dev_info_free(&info);
			return -EAGAIN;
		}
	}
	return ret;
}

static unsigned int config_flags(const struct prld_attach_opts *o, bool dio)
{
	return (o->read_only ? PRLD_CONFIG_READ_ONLY : 0) |
	       (dio ? PRLD_CONFIG_DIRECT_IO : 0) |
	       (o->autoclear ? PRLD_CONFIG_AUTOCLEAR : 0) |
	       (o->no_partscan ? PRLD_CONFIG_NO_PARTSCAN : 0);
}

int prld_attach(const char *path, const struct prld_attach_opts *o,
		char *devpath, size_t devpath_len, struct prld_err *err)
{
	struct chain_files cf = { 0 };
	int ctl = -1, ret, tries;
	bool dio;

	if (o->offset % PRLD_SECTOR_SIZE)
		return prld_set_err(err, -EINVAL,
				    "%s: offset %llu bytes is not a multiple of 512 bytes",
				    path, (unsigned long long)o->offset);
	if (o->snapshot && !o->read_only)
		return prld_set_err(err, -EROFS,
				    "%s: a snapshot state attaches read-only (-r)",
				    path);
	/* A writable attach first finishes an interrupted snapshot delete. */
	ret = o->read_only ? 0 : merge_recover(path, NULL, 0, err);
	if (ret >= 0)
		ret = chain_resolve(path, o->snapshot,
				    PRLD_OPEN_READ | PRLD_OPEN_FAKE, &cf, err);
	if (ret < 0)
		goto out;
	dio = o->direct_io == PRLD_DIO_ON ||
	      (o->direct_io == PRLD_DIO_AUTO && dio_possible(cf.paths[cf.n - 1]));
	ret = chain_open(&cf, o->read_only, err);
	if (ret < 0)
		goto out;
	ret = ctl = open_control(err);
	if (ret < 0)
		goto out;
	for (tries = 0; tries < ATTACH_TRIES; tries++) {
		ret = configure_one(ctl, &cf, o, config_flags(o, dio), devpath,
				    devpath_len);
		if (ret != -EAGAIN)
			break;
	}
	if (ret < 0) {
		/* Unlocked first: the explanation opens the files again. */
		chain_files_close(&cf);
		explain_configure(ret, path, o->snapshot, cf.paths[cf.n - 1],
				  err);
	}
out:
	if (ctl >= 0)
		close(ctl);
	chain_files_free(&cf);
	return ret;
}

/* The device a disk (dir or image) is attached as: its top file's path. */
static int find_device(const char *target, char *dev, size_t len,
		       struct prld_err *err)
{
	struct chain_files cf = { 0 };
	char *top = NULL;
	int ret;

	ret = chain_resolve(target, NULL, PRLD_OPEN_READ | PRLD_OPEN_FAKE, &cf,
			    err);
	if (!ret && !(top = realpath(cf.paths[cf.n - 1], NULL)))
		ret = prld_set_err(err, -errno, "%s: %s", cf.paths[cf.n - 1],
				   strerror(errno));
	chain_files_free(&cf);
	if (!ret)
		ret = kdev_find_by_top(top, dev, len, err);
	free(top);
	if (ret == 0)
		return prld_set_err(err, -ENXIO, "%s: not attached", target);
	return ret < 0 ? ret : 0;
}

int prld_find_device(const char *path, char *dev, size_t len,
		     struct prld_err *err)
{
	return find_device(path, dev, len, err);
}

static bool is_device_node(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 &&
	       (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode));
}

/*
 * PRLD_DETACH on @dev.  EBUSY is retried for a second or so, as
 * `dmsetup remove --retry` does: an opener such as udev's blkid, or an
 * attach racing for the same free index, holds the node only for a
 * moment, and failing a close for that would be a false alarm.  A mount
 * or a long-lived opener still gets EBUSY, just a second later.
 */
static int detach_retrying(const char *dev, unsigned long arg)
{
	int fd, ret, tries;

	for (tries = 0;; tries++) {
		fd = open(dev, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		ret = ioctl(fd, PRLD_DETACH, arg) < 0 ? -errno : 0;
		close(fd);
		if (ret != -EBUSY || tries == DETACH_BUSY_TRIES)
			return ret;
		usleep(DETACH_BUSY_WAIT_US);
	}
}

int prld_detach(const char *target, bool deferred, struct prld_err *err)
{
	char dev[64];
	int ret;

	if (prld_is_device(target))
		snprintf(dev, sizeof(dev), "%s", target);
	else if (is_device_node(target))
		return prld_set_err(err, -ENOTBLK, "%s: not a prld device",
				    target);
	else if ((ret = find_device(target, dev, sizeof(dev), err)) < 0)
		return ret;
	ret = detach_retrying(dev, deferred ? PRLD_DETACH_DEFERRED : 0);
	if (ret == -EBUSY)
		return prld_set_err(err, ret,
				    "%s: busy (mounted or open elsewhere); unmount it, or use --deferred",
				    dev);
	if (ret == -ENXIO)
		return prld_set_err(err, ret, "%s: not attached", dev);
	if (ret == -EPERM)
		return prld_set_err(err, ret, "%s: detaching needs CAP_SYS_ADMIN",
				    dev);
	if (ret)
		return prld_set_err(err, ret, "%s: %s", dev, strerror(-ret));
	return 0;
}

static int explain_revert(int code, const char *dev, struct prld_err *err)
{
	switch (code) {
	case -EBUSY:
		return prld_set_err(err, code,
				    "%s: open or mounted elsewhere: unmount it and close every user before reverting",
				    dev);
	case -EROFS:
		return prld_set_err(err, code,
				    "%s: attached read-only: nothing to revert",
				    dev);
	case -EPERM:
		return prld_set_err(err, code, "%s: reverting needs CAP_SYS_ADMIN",
				    dev);
	default:
		return prld_set_err(err, code, "%s: the driver refused the revert: %s (see dmesg)",
				    dev, strerror(-code));
	}
}

/* Is @path one of the files @dev reads now? */
static bool device_layer(const struct prld_dev_info *info, const char *path)
{
	char *real = realpath(path, NULL);
	bool found = false;
	unsigned int i;

	for (i = 0; real && !found && i < info->nlayers; i++)
		found = !strcmp(info->layers[i].path, real);
	free(real);
	return found;
}

/*
 * As chain_open(), except that a lower layer the device already reads
 * needs no lock of ours: the device's own reference holds one, exclusive
 * if that file was its top when attached.
 */
static int revert_open(struct chain_files *cf, const char *dev,
		       struct prld_err *err)
{
	struct prld_dev_info info;
	unsigned int i;
	bool top;
	int ret;

	ret = prld_dev_get_info(dev, &info, err);
	for (i = 0; !ret && i < cf->n; i++) {
		top = i == cf->n - 1;
		cf->fds[i] = open(cf->paths[i], (top ? O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (cf->fds[i] < 0)
			ret = prld_set_err(err, -errno, "%s: %s", cf->paths[i],
					   strerror(errno));
		else if (lock_image_fd(cf->fds[i], top) < 0 &&
			 (top || !device_layer(&info, cf->paths[i])))
			ret = prld_set_err(err, -EBUSY,
					   "%s: in use by another process or device",
					   cf->paths[i]);
	}
	prld_dev_info_free(&info);	/* zeroed on its own failure too */
	return ret;
}

/*
 * PRLD_REVERT: the descriptor at @path already names the new chain, whose
 * top is the new empty delta; its files are opened as prld_attach() does
 * (the new top's exclusive lock then lives with the kernel's reference).
 */
int kdev_revert(const char *dev, const char *path, struct prld_err *err)
{
	struct chain_files cf = { 0 };
	struct prld_revert req = { .size = sizeof(req) };
	int fd = -1, ret;

	ret = chain_resolve(path, NULL, PRLD_OPEN_READ | PRLD_OPEN_FAKE, &cf,
			    err);
	if (!ret)
		ret = revert_open(&cf, dev, err);
	if (!ret) {
		fd = open(dev, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			ret = prld_set_err(err, -errno, "%s: %s", dev,
					   strerror(errno));
	}
	if (!ret) {
		req.fds = (uintptr_t)cf.fds;
		req.nr_layers = cf.n;
		req.plain_sectors = cf.plain_sectors;
		req.flags = cf.plain_sectors ? PRLD_REVERT_PLAIN_BASE : 0;
		if (ioctl(fd, PRLD_REVERT, &req) < 0)
			ret = explain_revert(-errno, dev, err);
	}
	if (fd >= 0)
		close(fd);
	chain_files_free(&cf);
	return ret;
}
