// SPDX-License-Identifier: GPL-2.0
/*
 * prld_ioctl.c - the block device ioctls of /dev/prldN.
 *
 * Every argument structure is copied in whole and checked before anything
 * happens: its size must be the one this kernel knows, unknown flags and
 * any non-zero padding or reserved field are -EINVAL, so that they can be
 * given a meaning later (prld_validate.c).
 *
 * Locks: dev->mutex (killable) for state and configuration, held across
 * this device's own image I/O as loop holds lo_mutex; never a global lock
 * across I/O, so one device on a hung store stalls no other device and
 * not /dev/prld-control.  Other devices are consulted only through the
 * claims list (prld_files.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "prld.h"
#include "prld_validate.h"

/*
 * The queue limits that follow from the bound chain (prld_compat.h).
 * Under dev->mutex, unbound or frozen.
 */
void prld_apply_limits(struct prld_device *dev)
{
	const struct prld_chain *chain = &dev->parts[0];
	struct file *top = prld_chain_top(chain)->file;
	struct block_device *bdev = file_inode(top)->i_sb->s_bdev;
	struct prld_binding_limits bl = {
		.discard_granularity = chain->cluster_bytes,
		.rotational = bdev && !bdev_nonrot(bdev),
	};
	u64 rem;
	int ret;

	/* Device sector 0 is image byte dev->offset. */
	div64_u64_rem(dev->offset, chain->cluster_bytes, &rem);
	bl.discard_alignment = rem ? chain->cluster_bytes - rem : 0;
	ret = prld_set_binding_limits(dev->disk, &bl);

	if (ret)	/* only the discard sizes are off: harmless */
		pr_warn("%s: queue limits not updated (%d)\n",
			dev->disk->disk_name, ret);
}

/* Mark every part's top in use; on failure, the ones marked are closed. */
static int prld_mark_parts(struct prld_chain *parts, unsigned int nr)
{
	unsigned int k;
	int ret = 0;

	for (k = 0; k < nr && !ret; k++)
		ret = prld_mark_in_use(prld_chain_top(&parts[k]),
				       parts[k].alloc_next);
	if (ret)
		while (--k > 0)
			prld_finish_top(&parts[k - 1], false);
	return ret;
}

/*
 * Under dev->mutex, files claimed, parts read: the tops marked in use,
 * then the parts become the device's.
 */
static int prld_bind(struct prld_device *dev, struct prld_chain *parts,
		     unsigned int nr, const struct prld_config *cfg)
{
	u64 bytes = prld_parts_bytes(parts, nr);
	bool ro = cfg->flags & PRLD_CONFIG_READ_ONLY;
	int ret;

	lockdep_assert_held(&dev->mutex);
	if (cfg->offset >= bytes)
		return -EINVAL;
	if (!ro) {
		ret = prld_mark_parts(parts, nr);
		if (ret)
			return ret;
	}
	dev->parts = parts;
	dev->nr_parts = nr;
	/* Autoclear changes while bound; the rest describes the files. */
	dev->flags = cfg->flags & ~(PRLD_CONFIG_AUTOCLEAR |
				    PRLD_CONFIG_PLAIN_BASE | PRLD_CONFIG_SPLIT);
	dev->autoclear = cfg->flags & PRLD_CONFIG_AUTOCLEAR;
	dev->offset = cfg->offset;
	dev->dirty = !ro;
	dev->wrote = false;
	prld_apply_limits(dev);
	set_disk_ro(dev->disk, ro);
	set_capacity_and_notify(dev->disk,
				(bytes - cfg->offset) >> SECTOR_SHIFT);
	/* Taken before I/O can start; dropped at the teardown. */
	__module_get(THIS_MODULE);
	/* Pairs with smp_load_acquire() in prld_queue_rq(). */
	smp_store_release(&dev->state, PRLD_BOUND);
	return 0;
}

/* Under dev->mutex: claim, read and bind the parts, or leave them. */
static int prld_configure_locked(struct prld_device *dev,
				 struct prld_chain *parts, unsigned int nr,
				 const struct prld_config *cfg)
{
	int ret;

	if (dev->state != PRLD_UNBOUND)
		return -EBUSY;
	/*
	 * Claimed before any header is read: a file another device writes
	 * is EBUSY, not the EUCLEAN its in-use flag would read as.
	 */
	ret = prld_parts_claim(dev, parts, nr);
	if (ret)
		return ret;
	ret = prld_parts_build(parts, nr, cfg->flags);
	if (!ret)
		ret = prld_bind(dev, parts, nr, cfg);
	if (ret)
		prld_unclaim_layers(dev, NULL, 0);
	return ret;
}

/**
 * prld_configure() - PRLD_CONFIGURE: attach a chain of image files
 * @dev: an unbound device
 * @mode: how the caller opened it; read-only forces a read-only binding
 * @arg: user pointer to struct prld_config
 *
 * The kernel reads and validates every header and BAT itself; userspace
 * hands in file descriptors only (and, for a split disk, how many belong
 * to each part).
 * Context: takes dev->mutex (killable) across the images' I/O.
 * Return: 0, or -EPERM, -EFAULT, -EINVAL (argument, file or image
 * refused: the log says why), -EBUSY (bound, or a file another device
 * writes), -EUCLEAN (top not closed cleanly), -EBADF, -ENOMEM, -EINTR.
 */
static int prld_configure(struct prld_device *dev, PRLD_OPEN_MODE_T mode,
			  const void __user *arg)
{
	struct prld_chain *parts = NULL;
	struct prld_config cfg;
	unsigned int nr = 0;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&cfg, arg, sizeof(cfg)))
		return -EFAULT;
	ret = prld_check_config(&cfg);
	if (ret)
		return ret;
	/* As loop: a device opened read-only can only be attached so. */
	if (!PRLD_MODE_WRITE(mode))
		cfg.flags |= PRLD_CONFIG_READ_ONLY;
	ret = prld_parts_take(&cfg, &parts, &nr);
	if (!ret)
		ret = mutex_lock_killable(&dev->mutex);
	if (!ret) {
		ret = prld_configure_locked(dev, parts, nr, &cfg);
		mutex_unlock(&dev->mutex);
	}
	if (ret) {
		prld_parts_release(parts, nr);
		return ret;
	}
	/* The caller's open keeps the device bound meanwhile. */
	if (!(cfg.flags & PRLD_CONFIG_NO_PARTSCAN))
		prld_set_partscan(dev);
	kobject_uevent(&disk_to_dev(dev->disk)->kobj, KOBJ_CHANGE);
	return 0;
}

/**
 * prld_detach() - PRLD_DETACH: detach at the last close
 * @dev: a bound device
 * @arg: 0, or PRLD_DETACH_DEFERRED
 *
 * As newest loop's LOOP_CLR_FD: the device is only marked here.  If the
 * caller is its sole opener the device goes to RUNDOWN (no new opener)
 * and the caller's close does the teardown; with other openers it is
 * -EBUSY, or with PRLD_DETACH_DEFERRED the last of them does it.
 * Return: 0, -EPERM, -EINVAL, -ENXIO (not bound), -EBUSY, -EINTR.
 */
static int prld_detach(struct prld_device *dev, unsigned long arg)
{
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (arg & ~(unsigned long)PRLD_DETACH_DEFERRED)
		return -EINVAL;
	ret = mutex_lock_killable(&dev->mutex);
	if (ret)
		return ret;
	if (dev->state != PRLD_BOUND) {
		ret = -ENXIO;
	} else if (disk_openers(dev->disk) > 1 &&
		   !(arg & PRLD_DETACH_DEFERRED)) {
		ret = -EBUSY;	/* a mount or another process */
	} else {
		dev->autoclear = true;
		if (disk_openers(dev->disk) == 1)
			dev->state = PRLD_RUNDOWN;
	}
	mutex_unlock(&dev->mutex);
	return ret;
}

static void prld_fill_status(struct prld_device *dev, struct prld_device_status *st)
{
	st->index = dev->index;
	st->flags = dev->flags | (dev->dirty ? PRLD_STATUS_DIRTY : 0) |
		    (dev->autoclear ? PRLD_CONFIG_AUTOCLEAR : 0) |
		    (dev->nr_parts > 1 ? PRLD_CONFIG_SPLIT : 0);
	prld_parts_totals(dev, &st->nr_layers, &st->clusters, &st->allocated);
	st->offset = dev->offset;
	st->virtual_sectors = prld_parts_bytes(dev->parts, dev->nr_parts) >>
			      SECTOR_SHIFT;
	st->device_sectors = get_capacity(dev->disk);
	st->cluster_sectors = dev->parts[0].cluster_sectors;
}

/**
 * prld_get_status() - PRLD_GET_STATUS: geometry, flags, depth, allocation
 * @dev: the device
 * @arg: user pointer to struct prld_device_status, its size filled in
 *
 * Unprivileged, as loop's LOOP_GET_STATUS.
 * Return: 0, -EFAULT, -EINVAL, -ENXIO (not bound), -EINTR.
 */
static int prld_get_status(struct prld_device *dev, void __user *arg)
{
	struct prld_device_status st;
	int ret;

	if (copy_from_user(&st, arg, sizeof(st)))
		return -EFAULT;
	if (st.size != sizeof(st))
		return -EINVAL;
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	ret = mutex_lock_killable(&dev->mutex);
	if (ret)
		return ret;
	if (dev->state == PRLD_BOUND)
		prld_fill_status(dev, &st);
	else
		ret = -ENXIO;
	mutex_unlock(&dev->mutex);
	if (!ret && copy_to_user(arg, &st, sizeof(st)))
		ret = -EFAULT;
	return ret;
}

static int prld_fill_layer(struct prld_device *dev, struct prld_layer_status *ls)
{
	unsigned int part;
	const struct prld_layer *l = prld_parts_layer(dev, ls->layer, &part);
	char *path;

	if (!l)
		return -EINVAL;
	ls->part = part;
	ls->part_start = dev->parts[part].start >> SECTOR_SHIFT;
	ls->flags = (l->writable ? PRLD_LAYER_WRITABLE : 0) |
		    (l->plain ? PRLD_LAYER_RAW : 0) |
		    (!l->plain && l->geom.fmt == PRLD_FMT_V1 ? PRLD_LAYER_V1 : 0);
	ls->allocated = READ_ONCE(l->allocated);
	ls->file_size = i_size_read(file_inode(l->file));
	path = d_path(&l->file->f_path, ls->path, sizeof(ls->path));
	if (IS_ERR(path))
		return PTR_ERR(path);
	memmove(ls->path, path, strlen(path) + 1);
	return 0;
}

/**
 * prld_get_layer() - PRLD_GET_LAYER: one layer's file, format, allocation
 * @dev: the device
 * @arg: user pointer to struct prld_layer_status, size and layer filled in
 *
 * Unprivileged, as loop's LOOP_GET_STATUS names the backing file.
 * Return: 0, -EFAULT, -EINVAL, -ENXIO, -ENAMETOOLONG, -EINTR.
 */
static int prld_get_layer(struct prld_device *dev, void __user *arg)
{
	struct prld_layer_status *ls;
	int ret;

	ls = memdup_user(arg, sizeof(*ls));
	if (IS_ERR(ls))
		return PTR_ERR(ls);
	ret = prld_check_layer_request(ls);
	if (!ret)
		ret = mutex_lock_killable(&dev->mutex);
	if (ret)
		goto out;
	if (dev->state != PRLD_BOUND)
		ret = -ENXIO;
	else
		ret = prld_fill_layer(dev, ls);
	mutex_unlock(&dev->mutex);
	if (!ret && copy_to_user(arg, ls, sizeof(*ls)))
		ret = -EFAULT;
out:
	kfree(ls);
	return ret;
}

/*
 * Under dev->mutex, bound: validate the layer range, fill @bits.  A split
 * device answers for its whole chains only.
 */
static int prld_map_locked(struct prld_device *dev,
			   struct prld_map_request *req, u8 *bits, u64 *len)
{
	const struct prld_chain *chain = &dev->parts[0];
	u64 clusters, allocated;
	u32 layers;
	int ret;

	lockdep_assert_held(&dev->mutex);
	prld_parts_totals(dev, &layers, &clusters, &allocated);
	ret = prld_check_map_range(req, layers, clusters);
	if (!ret && dev->nr_parts > 1 &&
	    (req->from_layer != PRLD_MAP_FROM_NONE || req->to_layer != layers - 1))
		ret = -EINVAL;
	if (ret)
		return ret;
	*len = min_t(u64, req->buf_bytes,
		     DIV_ROUND_UP(clusters - req->first_bit, 8));
	if (dev->nr_parts > 1)
		prld_parts_map_bits(dev, req->first_bit, bits, *len);
	else
		prld_chain_map_bits(chain, req->from_layer, req->to_layer,
				    req->first_bit, bits, *len);
	req->granularity = chain->cluster_bytes;
	req->nbits = clusters;
	return 0;
}

/**
 * prld_get_map() - PRLD_GET_MAP: the changes map from the in-kernel BATs
 * @dev: the device
 * @arg: user pointer to struct prld_map_request
 *
 * Bits for the clusters that layers (from_layer, to_layer] map.
 * Return: 0, -EPERM, -EFAULT, -EINVAL, -ENOMEM, -ENXIO, -EINTR.
 */
static int prld_get_map(struct prld_device *dev, void __user *arg)
{
	struct prld_map_request req;
	u64 len = 0;
	u8 *bits;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	ret = prld_check_map_request(&req);
	if (ret)
		return ret;
	/* Sized by the caller, who gets the ENOMEM: no kernel warning. */
	bits = kvmalloc(req.buf_bytes, GFP_KERNEL | __GFP_NOWARN);
	if (!bits)
		return -ENOMEM;
	ret = mutex_lock_killable(&dev->mutex);
	if (!ret) {
		ret = dev->state == PRLD_BOUND ?
			prld_map_locked(dev, &req, bits, &len) : -ENXIO;
		mutex_unlock(&dev->mutex);
	}
	if (!ret && copy_to_user(u64_to_user_ptr(req.bits), bits, len))
		ret = -EFAULT;
	if (!ret && copy_to_user(arg, &req, sizeof(req)))
		ret = -EFAULT;
	kvfree(bits);
	return ret;
}

/**
 * prld_flush_ioctl() - PRLD_FLUSH: make every completed write durable
 * @dev: the device
 * @bdev: the caller's block device
 *
 * A flush request through the queue, exactly what fsync(2) of the device
 * does, so it needs no more privilege than an open descriptor (README)
 * and holds no lock: a flush waiting on a slow store blocks nobody else.
 * Return: 0, -ENXIO (not bound), or the flush's error.
 */
static int prld_flush_ioctl(struct prld_device *dev, struct block_device *bdev)
{
	if (READ_ONCE(dev->state) != PRLD_BOUND)
		return -ENXIO;
	return blkdev_issue_flush(bdev);
}

/**
 * prld_ioctl() - the ioctls of /dev/prldN (include/prld_ioctl.h)
 * @bdev: the device the caller opened
 * @mode: how it opened it
 * @cmd: PRLD_*
 * @arg: the argument, a user pointer for all but DETACH and FLUSH
 *
 * Return: as the handler of @cmd, -ENOTTY for an unknown @cmd.
 */
int prld_ioctl(struct block_device *bdev, PRLD_OPEN_MODE_T mode,
	       unsigned int cmd, unsigned long arg)
{
	struct prld_device *dev = bdev->bd_disk->private_data;
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case PRLD_CONFIGURE:
		return prld_configure(dev, mode, argp);
	case PRLD_DETACH:
		return prld_detach(dev, arg);
	case PRLD_GET_STATUS:
		return prld_get_status(dev, argp);
	case PRLD_GET_LAYER:
		return prld_get_layer(dev, argp);
	case PRLD_FLUSH:
		return prld_flush_ioctl(dev, bdev);
	case PRLD_GET_MAP:
		return prld_get_map(dev, argp);
	case PRLD_PUSH_TOP:
		return prld_push_top(dev, argp);
	case PRLD_REVERT:
		return prld_revert(dev, argp);
	case PRLD_RESIZE:
		return prld_resize(dev, argp);
	case PRLD_MERGE_COPY:
		return prld_merge_copy(dev, argp);
	case PRLD_MERGE_DROP:
		return prld_merge_drop(dev, argp);
	default:
		return -ENOTTY;
	}
}
