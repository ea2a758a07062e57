// SPDX-License-Identifier: GPL-2.0
/*
 * prld_revert.c - PRLD_REVERT (the SDK's SwitchToState on a bound device):
 * the device's chain is replaced by a chain that ends in a new empty delta
 * over a snapshot, so the device's contents become the snapshot's.
 *
 * Contents changing under a reader would be silent corruption for it, so
 * this is allowed only while the caller is the device's sole opener (no
 * mount, no other process): -EBUSY otherwise, as loop's LOOP_CLR_FD.  The
 * page cache of the device is written back before the switch (those writes
 * belong to the state being discarded) and dropped after it, so no stale
 * page of the old contents is ever read again.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/fs.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "prld.h"
#include "prld_validate.h"

/* A revert puts an empty delta on top: anything else is not a revert. */
static int prld_check_new_chain(const struct prld_chain *chain)
{
	const struct prld_layer *top = &chain->layers[chain->nr_layers - 1];

	if (top->allocated) {
		pr_err("revert: the new top is not empty (%llu clusters)\n",
		       top->allocated);
		return -EINVAL;
	}
	return 0;
}

/*
 * The current top is being written: a BAT read from it now would be stale
 * by the time of the switch.  (Reverting to the current state is a
 * snapshot, PRLD_PUSH_TOP.)
 */
static int prld_check_not_top(const struct prld_device *dev,
			      const struct prld_chain *chain)
{
	const struct prld_chain *cur = &dev->parts[0];
	const struct file *top = cur->layers[cur->nr_layers - 1].file;
	unsigned int i;

	for (i = 0; i < chain->nr_layers; i++) {
		if (file_inode(chain->layers[i].file) == file_inode(top)) {
			pr_err("%s: revert: layer %u is the device's current top\n",
			       dev->disk->disk_name, i);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Queue frozen, nothing in flight: the old top is closed cleanly (it stays
 * a valid image should userspace keep it) and the chains trade places.
 * If the close fails the old chain stays, its top marked in use again (or
 * the device fenced, prld_fence()).
 */
static int prld_swap_chain(struct prld_device *dev, struct prld_chain *chain)
{
	struct prld_chain *cur = &dev->parts[0];
	struct request_queue *q = dev->disk->queue;
	unsigned int noio;
	int ret, again;

	lockdep_assert_held(&dev->mutex);
	blk_mq_freeze_queue(q);
	/* No allocation may wait for writeback to this frozen device. */
	noio = memalloc_noio_save();
	ret = prld_finish_top(cur, dev->wrote);
	if (ret) {
		again = prld_mark_in_use(&cur->layers[cur->nr_layers - 1],
					 cur->alloc_next);
		if (again)
			prld_fence(dev, again);
	} else {
		swap(dev->parts[0], *chain);
		dev->wrote = false;
		prld_apply_limits(dev);
	}
	memalloc_noio_restore(noio);
	blk_mq_unfreeze_queue(q);
	return ret;
}

/* Under dev->mutex: every check against the device, then the switch. */
static int prld_revert_bound(struct prld_device *dev, struct prld_chain *chain)
{
	struct prld_layer *top = &chain->layers[chain->nr_layers - 1];
	u64 bytes = top->geom.nb_sectors << SECTOR_SHIFT;
	int ret;

	lockdep_assert_held(&dev->mutex);
	/* The caller's own open is one; a mount or another process is busy. */
	if (disk_openers(dev->disk) > 1)
		return -EBUSY;
	if (dev->offset >= bytes)
		return -EINVAL;
	ret = prld_check_not_top(dev, chain);
	if (ret)
		return ret;
	/* Dirty pages belong to the discarded state: written there first. */
	ret = sync_blockdev(dev->disk->part0);
	if (!ret)
		ret = prld_mark_in_use(top, chain->alloc_next);
	if (!ret)
		ret = prld_swap_chain(dev, chain);
	if (ret) {
		pr_err("%s: revert failed (%d): the old chain stays\n",
		       dev->disk->disk_name, ret);
		return ret;
	}
	invalidate_bdev(dev->disk->part0);
	set_capacity_and_notify(dev->disk, (bytes - dev->offset) >> SECTOR_SHIFT);
	return 0;
}

/* Under dev->mutex: the new chain claimed, read and switched to. */
static int prld_revert_locked(struct prld_device *dev,
			      struct prld_chain *chain)
{
	struct prld_chain *cur = prld_sole_chain(dev);
	int ret;

	if (IS_ERR(cur))
		return PTR_ERR(cur);
	ret = prld_claim_layers(dev, chain->layers, chain->nr_layers, 0);
	if (ret)
		return ret;
	/* dev->flags does not change while bound: DIRECT_IO holds for both. */
	ret = prld_build_chain(chain, dev->flags);
	if (!ret)
		ret = prld_check_new_chain(chain);
	if (!ret)
		ret = prld_revert_bound(dev, chain);
	/* On success @chain holds the old one now. */
	prld_unclaim_layers(dev, chain->layers, chain->nr_layers);
	return ret;
}

/**
 * prld_revert() - PRLD_REVERT: switch a bound device to a snapshot
 * @dev: a device bound read-write, opened by the caller alone
 * @arg: user pointer to struct prld_revert: the new chain, base first,
 *       its top an empty image
 *
 * The new chain's files pass the same checks as CONFIGURE's.
 * Context: takes dev->mutex (killable) across the images' I/O and a
 * frozen queue.
 * Return: 0, -EPERM, -EFAULT, -EINVAL, -EBADF, -EBUSY (another opener, or
 * a file another device writes), -EROFS, -ENXIO, -ENOMEM, -EINTR, or the
 * I/O error of the switch.
 */
int prld_revert(struct prld_device *dev, const void __user *arg)
{
	struct prld_chain chain = { 0 };
	struct prld_revert req;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	ret = prld_check_revert(&req);
	if (ret)
		return ret;
	ret = prld_take_files(&chain, req.fds, req.nr_layers, false);
	if (!ret && (req.flags & PRLD_REVERT_PLAIN_BASE))
		prld_chain_set_plain(&chain, req.plain_sectors);
	if (!ret)
		ret = mutex_lock_killable(&dev->mutex);
	if (!ret) {
		ret = prld_revert_locked(dev, &chain);
		mutex_unlock(&dev->mutex);
	}
	prld_chain_release(&chain);
	if (ret)
		return ret;
	if (!(dev->flags & PRLD_CONFIG_NO_PARTSCAN))
		prld_set_partscan(dev);
	kobject_uevent(&disk_to_dev(dev->disk)->kobj, KOBJ_CHANGE);
	return 0;
}
