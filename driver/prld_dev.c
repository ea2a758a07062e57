// SPDX-License-Identifier: GPL-2.0
/*
 * prld_dev.c - the life of a /dev/prldN: created by the control device,
 * bound to a chain by PRLD_CONFIGURE, unbound at the last close after
 * PRLD_DETACH (or with autoclear), removed by the control device or
 * module exit.
 *
 * As newest loop: dev->state says what may happen next and changes under
 * dev->mutex; ->open refuses a device in RUNDOWN or DELETING; DETACH only
 * marks the device, and the teardown runs in the last ->release, after
 * the block layer has written back the device's page cache and when no
 * I/O can be in flight, so it needs no freeze.  Files are fput() without
 * dev->mutex held (fput may take the disk's open_mutex, which is taken
 * before dev->mutex elsewhere); the structure itself is freed only from
 * ->free_disk, when the last gendisk reference is gone.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "prld.h"

/* Indexes whose minors fit: PRLD_PART_SHIFT bits of each are partitions. */
#define PRLD_MAX_INDEX	(1 << (MINORBITS - PRLD_PART_SHIFT))

static const struct prld_limits prld_queue_limits = {
	.max_hw_sectors = 2048,			/* 1 MiB requests */
	.max_discard_sectors = UINT_MAX >> SECTOR_SHIFT,
};

static int prld_open(PRLD_OPEN_ARGS)
{
	struct prld_device *dev = PRLD_OPEN_DISK->private_data;
	int ret;

	ret = mutex_lock_killable(&dev->mutex);
	if (ret)
		return ret;
	if (dev->state == PRLD_RUNDOWN || dev->state == PRLD_DELETING)
		ret = -ENXIO;
	mutex_unlock(&dev->mutex);
	return ret;
}

/*
 * Detach, from the last ->release of a device in RUNDOWN: the disk's
 * open_mutex is held, the page cache written back, and no I/O can be in
 * flight, so the chain goes without a freeze.
 */
static void prld_clear(struct prld_device *dev)
{
	struct gendisk *disk = dev->disk;
	unsigned int k;
	int ret;

	for (k = 0; dev->dirty && k < dev->nr_parts; k++) {
		ret = prld_finish_top(&dev->parts[k], dev->wrote);
		if (ret)
			pr_err("%s: clean close of the top image of part %u failed (%d): it stays marked in use\n",
			       disk->disk_name, k, ret);
	}
	set_capacity(disk, 0);
	invalidate_disk(disk);
	if (!test_bit(GD_SUPPRESS_PART_SCAN, &disk->state)) {
		ret = bdev_disk_changed(disk, false);
		if (ret)
			pr_warn("%s: dropping partitions failed (%d)\n",
				disk->disk_name, ret);
	}
	set_bit(GD_SUPPRESS_PART_SCAN, &disk->state);
	kobject_uevent(&disk_to_dev(disk)->kobj, KOBJ_CHANGE);
	prld_unclaim_layers(dev, NULL, 0);
	/* fput, outside dev->mutex */
	prld_parts_release(dev->parts, dev->nr_parts);
	mutex_lock(&dev->mutex);
	dev->parts = NULL;
	dev->nr_parts = 0;
	dev->flags = 0;
	dev->autoclear = false;
	dev->dirty = false;
	dev->wrote = false;
	dev->offset = 0;
	dev->state = PRLD_UNBOUND;
	mutex_unlock(&dev->mutex);
	/* Taken at configure: the module stays while a device is bound. */
	module_put(THIS_MODULE);
}

static void prld_release(PRLD_RELEASE_ARGS)
{
	struct prld_device *dev = disk->private_data;
	bool clear;

	if (disk_openers(disk) > 0)
		return;
	mutex_lock(&dev->mutex);
	if (dev->state == PRLD_BOUND && dev->autoclear)
		dev->state = PRLD_RUNDOWN;
	clear = dev->state == PRLD_RUNDOWN;
	mutex_unlock(&dev->mutex);
	if (clear)
		prld_clear(dev);
}

static void prld_free_disk(struct gendisk *disk)
{
	struct prld_device *dev = disk->private_data;

	destroy_workqueue(dev->wq);
	mutex_destroy(&dev->flush_lock);
	mutex_destroy(&dev->alloc_lock);
	mutex_destroy(&dev->mutex);
	kfree(dev);
}

static const struct block_device_operations prld_fops = {
	.owner = THIS_MODULE,
	.open = prld_open,
	.release = prld_release,
	.ioctl = prld_ioctl,
	.compat_ioctl = blkdev_compat_ptr_ioctl,
	.free_disk = prld_free_disk,
};

/* The prld device of @disk, or NULL if it is another driver's disk. */
struct prld_device *prld_disk_device(struct gendisk *disk)
{
	return disk->fops == &prld_fops ? disk->private_data : NULL;
}

void prld_set_partscan(struct prld_device *dev)
{
	struct gendisk *disk = dev->disk;
	int ret;

	clear_bit(GD_SUPPRESS_PART_SCAN, &disk->state);
	mutex_lock(&disk->open_mutex);
	ret = bdev_disk_changed(disk, false);
	mutex_unlock(&disk->open_mutex);
	if (ret)
		pr_warn("%s: partition scan failed (%d)\n", disk->disk_name, ret);
}

/**
 * prld_sole_chain() - the chain a snapshot, revert or resize changes
 * @dev: the device, dev->mutex held
 *
 * Return: the chain of a device bound read-write to one chain, or an
 * ERR_PTR: -ENXIO (not bound), -EROFS (read-only), -EOPNOTSUPP (a split
 * disk, whose parts each have a chain).
 */
struct prld_chain *prld_sole_chain(struct prld_device *dev)
{
	lockdep_assert_held(&dev->mutex);
	if (dev->state != PRLD_BOUND)
		return ERR_PTR(-ENXIO);
	if (dev->flags & PRLD_CONFIG_READ_ONLY)
		return ERR_PTR(-EROFS);
	if (dev->nr_parts > 1) {
		pr_err("%s: a split disk's parts are not switched or grown\n",
		       dev->disk->disk_name);
		return ERR_PTR(-EOPNOTSUPP);
	}
	return &dev->parts[0];
}

/*
 * A switch of the top failed and the image that stays the top could not
 * be marked in use again: its header may say "closed cleanly" while the
 * device would go on writing it.  No write may follow, so the device
 * turns read-only until detached (whose clean close tries again).  The
 * queue is frozen: the request path reads dev->flags without a lock.
 */
void prld_fence(struct prld_device *dev, int err)
{
	lockdep_assert_held(&dev->mutex);
	pr_err("%s: the top image could not be marked in use again (%d): the device is read-only from now on\n",
	       dev->disk->disk_name, err);
	dev->flags |= PRLD_CONFIG_READ_ONLY;
	set_disk_ro(dev->disk, true);
}

static int prld_alloc_index(struct prld_device *dev, int index)
{
	int ret;

	ret = mutex_lock_killable(&prld_ctl_mutex);
	if (ret)
		return ret;
	if (index >= PRLD_MAX_INDEX) {
		ret = -EINVAL;	/* its minors would not fit */
	} else if (index >= 0) {
		ret = idr_alloc(&prld_index_idr, dev, index, index + 1,
				GFP_KERNEL);
		if (ret == -ENOSPC)
			ret = -EEXIST;
	} else {
		ret = idr_alloc(&prld_index_idr, dev, 0, PRLD_MAX_INDEX,
				GFP_KERNEL);
	}
	mutex_unlock(&prld_ctl_mutex);
	return ret;
}

static void prld_free_index(int index)
{
	mutex_lock(&prld_ctl_mutex);
	idr_remove(&prld_index_idr, index);
	mutex_unlock(&prld_ctl_mutex);
}

static int prld_init_tag_set(struct prld_device *dev)
{
	struct blk_mq_tag_set *set = &dev->tag_set;

	set->ops = &prld_mq_ops;
	set->nr_hw_queues = 1;
	set->queue_depth = PRLD_QUEUE_DEPTH;
	set->numa_node = NUMA_NO_NODE;
	set->cmd_size = sizeof(struct prld_cmd);
	set->flags = BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_STACKING;
	set->driver_data = dev;
	return blk_mq_alloc_tag_set(set);
}

static void prld_init_disk(struct prld_device *dev, struct gendisk *disk)
{
	disk->major = prld_major;
	disk->first_minor = dev->index << PRLD_PART_SHIFT;
	disk->minors = 1 << PRLD_PART_SHIFT;
	disk->fops = &prld_fops;
	disk->private_data = dev;
	disk->events = DISK_EVENT_MEDIA_CHANGE;
	disk->event_flags = DISK_EVENT_FLAG_UEVENT;
	/* Partitions are scanned only while a chain is attached. */
	set_bit(GD_SUPPRESS_PART_SCAN, &disk->state);
	snprintf(disk->disk_name, DISK_NAME_LEN, PRLD_DEVICE_PREFIX "%d",
		 dev->index);
}

/* Create /dev/prld@index (any free index if negative); returns it. */
int prld_add(int index)
{
	struct prld_device *dev;
	struct gendisk *disk;
	int ret;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	mutex_init(&dev->mutex);
	mutex_init(&dev->alloc_lock);
	mutex_init(&dev->flush_lock);
	spin_lock_init(&dev->claim_lock);
	init_waitqueue_head(&dev->claim_wq);
	init_llist_head(&dev->submit_list);
	INIT_WORK(&dev->submit_work, prld_submit_work);
	dev->state = PRLD_UNBOUND;
	ret = prld_alloc_index(dev, index);
	if (ret < 0)
		goto out_free_dev;
	dev->index = ret;
	dev->wq = alloc_workqueue(PRLD_DEVICE_PREFIX "%d",
				  WQ_UNBOUND | WQ_FREEZABLE, 0, dev->index);
	ret = -ENOMEM;
	if (!dev->wq)
		goto out_free_index;
	ret = prld_init_tag_set(dev);
	if (ret)
		goto out_free_wq;
	disk = prld_alloc_disk(&dev->tag_set, &prld_queue_limits, dev);
	if (IS_ERR(disk)) {
		ret = PTR_ERR(disk);
		goto out_free_tags;
	}
	dev->disk = disk;
	prld_init_disk(dev, disk);
	ret = device_add_disk(NULL, disk, prld_attr_groups);
	if (ret)
		goto out_put_disk;
	mutex_lock(&prld_ctl_mutex);
	dev->idr_visible = true;
	mutex_unlock(&prld_ctl_mutex);
	return dev->index;

out_put_disk:
	/* ->free_disk runs only for added disks: the rest is freed here. */
	put_disk(disk);
out_free_tags:
	blk_mq_free_tag_set(&dev->tag_set);
out_free_wq:
	destroy_workqueue(dev->wq);
out_free_index:
	prld_free_index(dev->index);
out_free_dev:
	mutex_destroy(&dev->flush_lock);
	mutex_destroy(&dev->alloc_lock);
	mutex_destroy(&dev->mutex);
	kfree(dev);
	return ret;
}

/* Unlink an unbound device; the last put_disk() frees it. */
static void prld_destroy(struct prld_device *dev)
{
	del_gendisk(dev->disk);
	blk_mq_free_tag_set(&dev->tag_set);
	prld_free_index(dev->index);
	put_disk(dev->disk);
}

/* Hide @index from the idr while deciding, so two removers can't race. */
static struct prld_device *prld_hide(int index, int *err)
{
	struct prld_device *dev;

	*err = mutex_lock_killable(&prld_ctl_mutex);
	if (*err)
		return NULL;
	dev = idr_find(&prld_index_idr, index);
	if (!dev || !dev->idr_visible) {
		*err = -ENODEV;
		dev = NULL;
	} else {
		dev->idr_visible = false;
	}
	mutex_unlock(&prld_ctl_mutex);
	return dev;
}

static void prld_unhide(struct prld_device *dev)
{
	mutex_lock(&prld_ctl_mutex);
	dev->idr_visible = true;
	mutex_unlock(&prld_ctl_mutex);
}

int prld_remove(int index)
{
	struct prld_device *dev;
	int ret;

	if (index < 0)
		return -EINVAL;
	dev = prld_hide(index, &ret);
	if (!dev)
		return ret;
	ret = mutex_lock_killable(&dev->mutex);
	if (ret)
		goto out_unhide;
	/* An opener in ->open waits for dev->mutex, then sees DELETING. */
	if (dev->state != PRLD_UNBOUND || disk_openers(dev->disk) > 0) {
		mutex_unlock(&dev->mutex);
		ret = -EBUSY;
		goto out_unhide;
	}
	dev->state = PRLD_DELETING;
	mutex_unlock(&dev->mutex);
	prld_destroy(dev);
	return 0;

out_unhide:
	prld_unhide(dev);
	return ret;
}

int prld_get_free(void)
{
	struct prld_device *dev;
	enum prld_state state;
	int id, ret;

	ret = mutex_lock_killable(&prld_ctl_mutex);
	if (ret)
		return ret;
	idr_for_each_entry(&prld_index_idr, dev, id) {
		/* Unlocked peek: a race only makes one device too many. */
		state = data_race(dev->state);
		if (dev->idr_visible && state == PRLD_UNBOUND) {
			mutex_unlock(&prld_ctl_mutex);
			return id;
		}
	}
	mutex_unlock(&prld_ctl_mutex);
	return prld_add(-1);
}

/* Module exit: no device is bound (each holds a module reference). */
void prld_remove_all(void)
{
	struct prld_device *dev;
	int id;

	idr_for_each_entry(&prld_index_idr, dev, id)
		prld_destroy(dev);
}
