// SPDX-License-Identifier: GPL-2.0
/*
 * prld_stack.c - which files a device must never be given: those whose
 * I/O comes back to the device itself, because they live on a filesystem
 * of the device, or of another prld device stacked on it.  The device
 * freezes its queue to switch its top (snapshot, revert, detach) and
 * writes its files meanwhile: a file whose writes need the frozen queue
 * hangs it forever.  Stacking on another, independent device is fine.
 */
#include <linux/blkdev.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>

#include "prld.h"

/* Stacks deeper than this are refused rather than walked further. */
#define PRLD_MAX_STACK	8

static bool prld_file_needs(struct file *file, const struct gendisk *disk,
			    unsigned int depth);

/*
 * Does any file of prld device @other's chain need @disk?  Its files are
 * taken under its mutex and walked without it: one device mutex at a
 * time, as everywhere else.
 */
static bool prld_device_needs(struct prld_device *other,
			      const struct gendisk *disk, unsigned int depth)
{
	struct file **files;
	unsigned int i, n = 0;
	bool needs = false;

	files = kcalloc(PRLD_MAX_LAYERS, sizeof(*files), GFP_KERNEL);
	if (!files)
		return true;	/* cannot tell: refuse */
	mutex_lock(&other->mutex);
	for (i = 0; other->state == PRLD_BOUND && i < other->chain.nr_layers; i++)
		files[n++] = get_file(other->chain.layers[i].file);
	mutex_unlock(&other->mutex);
	for (i = 0; i < n; i++) {
		needs = needs || prld_file_needs(files[i], disk, depth + 1);
		fput(files[i]);
	}
	kfree(files);
	return needs;
}

/*
 * Does I/O to @file go through @disk: is it on a filesystem of @disk, or
 * of a prld device whose own files (at any depth) are?  Writing such a
 * file under @disk's frozen queue waits for @disk's own I/O, forever.
 * Loop refuses stacking on itself too.  Only prld devices are walked, not
 * a loop or dm device in between.  Caller holds prld_ctl_mutex, so no
 * chain changes under the walk.
 */
static bool prld_file_needs(struct file *file, const struct gendisk *disk,
			    unsigned int depth)
{
	struct block_device *bdev = file_inode(file)->i_sb->s_bdev;
	struct prld_device *other;

	if (!bdev)
		return false;
	if (bdev->bd_disk == disk || depth >= PRLD_MAX_STACK)
		return true;
	other = prld_disk_device(bdev->bd_disk);
	return other && prld_device_needs(other, disk, depth);
}

/*
 * -EINVAL, with the reason in the log, if any file of @chain needs @dev.
 * Caller holds prld_ctl_mutex and no device mutex.
 */
int prld_chain_stacks_on(struct prld_device *dev,
			 const struct prld_chain *chain)
{
	unsigned int i;

	for (i = 0; i < chain->nr_layers; i++) {
		if (prld_file_needs(chain->layers[i].file, dev->disk, 0)) {
			pr_err("prld%d: layer %u: on a filesystem of this device (or of a device stacked on it)\n",
			       dev->index, i);
			return -EINVAL;
		}
	}
	return 0;
}
