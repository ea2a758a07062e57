// SPDX-License-Identifier: GPL-2.0
/*
 * prld_snapshot.c - PRLD_PUSH_TOP: an empty delta becomes the writable top
 * of a bound device; the old top is closed cleanly and turns read-only.
 *
 * Nothing acknowledged is lost or reordered: the queue is frozen (every
 * request in flight completes, none starts), the old top is made durable
 * and marked clean, the new top is marked in use, the layer array is
 * swapped, and only then does I/O resume, now allocating in the new top.
 * The old top's clusters enter the owner cache of the lower layers; the
 * new delta is empty, so nothing else in the map changes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "prld.h"
#include "prld_validate.h"

/* A file already in the chain (its top carries the in-use flag). */
static int prld_check_new_file(const struct prld_chain *chain,
			       const struct file *file)
{
	unsigned int i;

	for (i = 0; i < chain->nr_layers; i++) {
		if (file_inode(chain->layers[i].file) == file_inode(file)) {
			pr_err("new top: already layer %u\n", i);
			return -EINVAL;
		}
	}
	return 0;
}

/* The new top must describe the same disk and hold nothing. */
static int prld_check_new_top(const struct prld_chain *chain,
			      const struct prld_layer *top)
{
	const struct prld_geom *cur = &chain->layers[chain->nr_layers - 1].geom;

	if (top->geom.cluster_sectors != cur->cluster_sectors ||
	    top->geom.nb_sectors != cur->nb_sectors) {
		pr_err("new top: geometry differs from the chain's\n");
		return -EINVAL;
	}
	if (top->allocated) {
		pr_err("new top: not empty (%llu clusters)\n",
		       top->allocated);
		return -EINVAL;
	}
	return 0;
}

/*
 * Queue frozen: close the old top cleanly, open the new one.  On failure
 * the old top is marked in use again and stays the top; if even that
 * fails the device may write no more (prld_fence()).
 */
static int prld_switch_files(struct prld_device *dev, struct prld_layer *top)
{
	struct prld_chain *chain = &dev->parts[0];
	struct prld_layer *old = &chain->layers[chain->nr_layers - 1];
	int ret, again;

	ret = prld_finish_top(chain, dev->wrote);
	if (!ret)
		ret = prld_mark_in_use(top, prld_chain_alloc_start(top));
	if (ret) {
		again = prld_mark_in_use(old, chain->alloc_next);
		if (again)
			prld_fence(dev, again);
	}
	return ret;
}

/*
 * Under dev->mutex, bound read-write: the frozen swap itself.  On success
 * *layers and the chain's array trade places: the caller frees *layers.
 */
static int prld_push_locked(struct prld_device *dev, struct prld_layer *top,
			    struct prld_layer **layers)
{
	struct prld_chain *chain = &dev->parts[0];
	struct request_queue *q = dev->disk->queue;
	unsigned int old = chain->nr_layers - 1, noio;
	int ret;

	lockdep_assert_held(&dev->mutex);
	blk_mq_freeze_queue(q);
	/* No allocation may wait for writeback to this frozen device. */
	noio = memalloc_noio_save();
	/* The old top's clusters join the owner cache: room first. */
	ret = prld_chain_owner_reserve(chain, old, GFP_KERNEL);
	if (!ret)
		ret = prld_switch_files(dev, top);
	memalloc_noio_restore(noio);
	if (!ret) {
		memcpy(*layers, chain->layers,
		       chain->nr_layers * sizeof(**layers));
		(*layers)[old].writable = false;
		(*layers)[old + 1] = *top;
		swap(chain->layers, *layers);
		chain->nr_layers++;
		prld_chain_owner_record(chain, old);
		chain->alloc_next = prld_chain_alloc_start(top);
		dev->wrote = false;
	}
	blk_mq_unfreeze_queue(q);
	return ret;
}

/*
 * Under dev->mutex: every check against the chain, the new top claimed
 * and loaded, then the frozen swap.  On failure the claim is dropped.
 */
static int prld_push_bound(struct prld_device *dev, struct prld_layer *top)
{
	struct prld_chain *chain = prld_sole_chain(dev);
	struct prld_layer *layers;
	struct file *old_top;
	int ret;

	if (IS_ERR(chain))
		return PTR_ERR(chain);
	old_top = prld_chain_top(chain)->file;
	if (chain->nr_layers >= PRLD_MAX_LAYERS)
		return -E2BIG;
	/* Before loading: the device's own top would read as "in use". */
	ret = prld_check_new_file(chain, top->file);
	if (ret)
		return ret;
	ret = prld_claim_layers(dev, top, 1, chain->nr_layers);
	if (ret)
		return ret;
	ret = prld_layer_load(top, chain->nr_layers, dev->flags);
	if (!ret)
		ret = prld_check_new_top(chain, top);
	/* Allocated before the freeze: reclaim must not wait on this queue. */
	layers = ret ? NULL :
		 kcalloc(chain->nr_layers + 1, sizeof(*layers), GFP_KERNEL);
	if (!ret && !layers)
		ret = -ENOMEM;
	if (!ret)
		ret = prld_push_locked(dev, top, &layers);
	kfree(layers);		/* the old array on success, else the unused one */
	if (ret) {
		prld_unclaim_layers(dev, top, 1);
	} else {
		prld_claim_set_readonly(dev, old_top);
		prld_lock_downgrade(old_top);
	}
	return ret;
}

/**
 * prld_push_top() - PRLD_PUSH_TOP: a snapshot of a bound device
 * @dev: a device bound read-write
 * @arg: user pointer to struct prld_push_top
 *
 * An empty image of the chain's geometry becomes the writable top; the
 * old top is closed cleanly and turns read-only.  The new file passes the
 * same checks as CONFIGURE's (prld_check_file()).
 * Context: takes dev->mutex (killable) across the images' I/O and a
 * frozen queue.
 * Return: 0, -EPERM, -EFAULT, -EINVAL, -EBADF, -EBUSY, -EROFS, -E2BIG,
 * -ENXIO, -ENOMEM, -EINTR, or the I/O error of the switch.
 */
int prld_push_top(struct prld_device *dev, const void __user *arg)
{
	struct prld_layer top = { .writable = true };
	struct prld_push_top req;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	ret = prld_check_push(&req);
	if (ret)
		return ret;
	top.file = fget(req.fd);
	if (!top.file)
		return -EBADF;
	ret = mutex_lock_killable(&dev->mutex);
	if (!ret) {
		ret = prld_push_bound(dev, &top);
		mutex_unlock(&dev->mutex);
	}
	if (ret)
		prld_layer_release(&top);
	return ret;
}
