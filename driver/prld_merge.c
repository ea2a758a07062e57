// SPDX-License-Identifier: GPL-2.0
/*
 * prld_merge.c - PRLD_MERGE_COPY and PRLD_MERGE_DROP: a snapshot deleted
 * while the device is bound, mounted and written (prldctl delete-snapshot
 * GUID /dev/prldN).
 *
 * The layer L that goes first gives its clusters to its child L + 1: the
 * child takes every cluster L holds that it lacks.  Those are the bytes
 * the child's state already reads there, so no state of the disk changes
 * at any step and a crash anywhere leaves a chain that reads as before.
 * Then L leaves the layer array under a frozen queue.
 *
 *  - The child is the top (the newest snapshot is deleted, the common
 *    case): the copy runs through the write path's claims while the
 *    device serves I/O, a few clusters per PRLD_MERGE_COPY call, so
 *    userspace paces it and reports progress.  A write of a cluster being
 *    copied waits for that copy and then overwrites it; a copy finds a
 *    cluster the top took meanwhile and skips it: writes win.  A batch of
 *    copies is durable before the top's BAT names it, as a copy-up is.
 *    At the drop, clusters the top gave back meanwhile (a discard unmaps
 *    them) are copied once more under the freeze, and the top's BAT is
 *    made durable before L leaves, so the on-disk top holds all of L
 *    before userspace drops L from the descriptor.
 *  - The child is a lower layer (an inner snapshot): the device never
 *    writes it, so userspace copies L's clusters into the child's file
 *    (libprld's merge_up.c) while the device keeps reading the child
 *    through its old BAT, which stays true.  At the drop the kernel reads
 *    the child again and takes the new reading only if it maps everything
 *    it mapped before at the same place, and every cluster L holds.
 *
 * Either way the shorter chain's owner cache is built before the freeze
 * (lower layers never change while bound, and dev->mutex keeps PUSH_TOP,
 * REVERT and RESIZE out); under the freeze only the arrays trade places.
 * L's file and the child's old reading are released after dev->mutex.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/math64.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "prld.h"
#include "prld_validate.h"

/* Clusters layer @l covers: a plain one's size, else its BAT's. */
static u32 prld_merge_end(const struct prld_layer *l)
{
	return l->plain ? l->geom.bat_entries : l->bat.count;
}

/*
 * The first cluster >= @from that layer @l holds, or prld_merge_end(@l):
 * from an expanding layer's BAT; a plain layer holds the clusters its file
 * has data in (its holes read as zeros, which the layers under a plain
 * base also give: it has none).  Without SEEK_DATA all of it is data.
 */
static u32 prld_merge_next(const struct prld_chain *chain,
			   const struct prld_layer *l, u32 from)
{
	u32 end = prld_merge_end(l);
	loff_t data;

	if (!l->plain)
		return prld_layer_next(l, from);
	if (from >= end)
		return end;
	data = vfs_llseek(l->file, (loff_t)from * chain->cluster_bytes,
			  SEEK_DATA);
	if (data == -ENXIO)
		return end;
	if (data < 0)
		return from;
	return min_t(u64, div64_u64(data, chain->cluster_bytes), end);
}

/*
 * Claimed clusters of a copy, filled and committed together: one
 * fdatasync of the top per batch, which on ext4 is a journal commit that
 * the device's own writes may have to wait out (their mtime update), so
 * fewer, larger batches keep the device's tail latency down.
 */
struct prld_merge_batch {
	struct prld_piece p[PRLD_MERGE_BATCH];
	u64 off[PRLD_MERGE_BATCH];
	unsigned int n;
};

/*
 * Claim @c for the copy unless the top holds it, or takes it while we
 * wait for a writer's claim: 1 when claimed (space at b->off[]), 0 when
 * there is nothing to copy, or a negative errno.
 */
static int prld_merge_claim(struct prld_device *dev, struct prld_chain *chain,
			    u32 c, struct prld_merge_batch *b)
{
	struct prld_piece *p = &b->p[b->n];
	int ret;

	if (prld_layer_entry(prld_chain_top(chain), c))
		return 0;
	*p = (struct prld_piece){ .chain = chain, .cluster = c,
				  .len = chain->cluster_bytes };
	ret = prld_claim(dev, p, &b->off[b->n]);
	if (ret == 1)
		return 0;
	if (ret)
		return ret;
	b->n++;
	return 1;
}

/*
 * Copy each claimed cluster from the lower layer that holds it, make them
 * all durable with one sync, then let the top map them.  With @err (or
 * when a step fails) every claim ends unmapped instead: its space leaks,
 * nothing names it.  Returns the first error.
 */
static int prld_merge_fill(struct prld_device *dev, struct prld_chain *chain,
			   struct prld_merge_batch *b, int err)
{
	struct prld_layer *top = prld_chain_top(chain);
	errseq_t since = prld_sync_mark(top);
	unsigned int i, layer;
	u64 lower;

	for (i = 0; !err && i < b->n; i++)
		if (prld_chain_resolve(chain, b->p[i].cluster, &layer, &lower))
			err = prld_copy_up(dev, chain, layer, lower,
					   b->off[i]);
	if (!err && b->n)
		err = prld_sync_top(top, 1, since);
	for (i = 0; i < b->n; i++)
		prld_end_claim(dev, &b->p[i], b->off[i], err);
	b->n = 0;
	return err;
}

/*
 * Copy into the top every cluster in [@first, @end) that layer @from
 * holds and the top lacks, PRLD_MERGE_BATCH at a time; *@copied counts
 * them.  Under dev->mutex, so the chain keeps its shape.
 */
static int prld_merge_range(struct prld_device *dev, struct prld_chain *chain,
			    unsigned int from, u32 first, u32 end, u64 *copied)
{
	const struct prld_layer *l = &chain->layers[from];
	struct prld_merge_batch *b;
	unsigned int noio, n;
	int ret = 0;
	u32 c;

	lockdep_assert_held(&dev->mutex);
	/*
	 * Reclaim writing back this device's own pages would send writes
	 * that wait for the claims held here.
	 */
	noio = memalloc_noio_save();
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b) {
		memalloc_noio_restore(noio);
		return -ENOMEM;
	}
	end = min(end, prld_merge_end(l));
	for (c = prld_merge_next(chain, l, first); !ret && c < end;
	     c = prld_merge_next(chain, l, c + 1)) {
		ret = prld_merge_claim(dev, chain, c, b);
		if (ret == 1 && b->n == PRLD_MERGE_BATCH) {
			ret = prld_merge_fill(dev, chain, b, 0);
			*copied += ret ? 0 : PRLD_MERGE_BATCH;
		} else if (ret == 1) {
			ret = 0;
		}
		if (!ret && fatal_signal_pending(current))
			ret = -EINTR;
		cond_resched();
	}
	n = b->n;
	ret = prld_merge_fill(dev, chain, b, ret);
	*copied += ret ? 0 : n;
	kfree(b);
	memalloc_noio_restore(noio);
	return ret;
}

/* Is @req's layer of @chain the file @file?  (The shape is checked too.) */
static int prld_merge_layer(const struct prld_device *dev,
			    const struct prld_chain *chain,
			    const struct prld_merge *req, bool copy,
			    struct file *file)
{
	int ret = prld_check_merge_layer(req, copy, chain->nr_layers,
					 chain->clusters);

	if (ret)
		return ret;
	if (file_inode(file) != file_inode(chain->layers[req->layer].file)) {
		pr_err("%s: merge: layer %u is not the file given\n",
		       dev->disk->disk_name, req->layer);
		return -EINVAL;
	}
	return 0;
}

static int prld_merge_copy_locked(struct prld_device *dev,
				  struct prld_merge *req, struct file *file)
{
	struct prld_chain *chain = prld_sole_chain(dev);
	u64 end;
	int ret;

	if (IS_ERR(chain))
		return PTR_ERR(chain);
	ret = prld_merge_layer(dev, chain, req, true, file);
	if (ret)
		return ret;
	end = min_t(u64, req->first + req->count, chain->clusters);
	return prld_merge_range(dev, chain, req->layer, req->first, end,
				&req->copied);
}

/* The argument and the file it names, before dev->mutex. */
static int prld_merge_args(void __user *arg, struct prld_merge *req,
			   bool copy, struct file **file)
{
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(req, arg, sizeof(*req)))
		return -EFAULT;
	ret = prld_check_merge(req, copy);
	if (ret)
		return ret;
	*file = fget(req->fd);
	return *file ? 0 : -EBADF;
}

/**
 * prld_merge_copy() - PRLD_MERGE_COPY: the top takes clusters of its parent
 * @dev: a device bound read-write to one chain of two layers or more
 * @arg: user pointer to struct prld_merge: layer nr_layers - 2, its file,
 *       the clusters [first, first + count) to look at
 *
 * Every cluster of the range that the layer holds and the top lacks is
 * copied into the top through the write path's claims (concurrent writes
 * win) and durable before the top maps it; copied says how many.
 * Context: takes dev->mutex (killable) across the copies; the queue runs.
 * Return: 0, -EPERM, -EFAULT, -EINVAL, -EBADF, -EROFS, -ENXIO,
 * -EOPNOTSUPP (a split disk), -ENOSPC, -ENOMEM, -EINTR, or an I/O error
 * (the clusters copied before it stay the top's).
 */
int prld_merge_copy(struct prld_device *dev, void __user *arg)
{
	struct prld_merge req;
	struct file *file;
	int ret;

	ret = prld_merge_args(arg, &req, true, &file);
	if (ret)
		return ret;
	ret = mutex_lock_killable(&dev->mutex);
	if (!ret) {
		ret = prld_merge_copy_locked(dev, &req, file);
		mutex_unlock(&dev->mutex);
	}
	fput(file);
	if (!ret && copy_to_user(arg, &req, sizeof(req)))
		ret = -EFAULT;
	return ret;
}

/* What a drop swaps in (prepared before the freeze) and lets go after. */
struct prld_drop {
	struct prld_chain next;		/* the shorter chain: layers, owner */
	struct prld_layer child;	/* a lower child, read again */
	bool reread;
	struct prld_layer gone;		/* released after dev->mutex */
	struct prld_layer old_child;	/* the child's old reading, ditto */
};

/*
 * Does the child's new reading @now (old: @was) cover @gone?  Its BAT as
 * prld_layer_covers() asks, and for a plain @gone every cluster its file
 * has data in.
 */
static int prld_drop_covers(const struct prld_chain *chain,
			    const struct prld_layer *now,
			    const struct prld_layer *was,
			    const struct prld_layer *gone, u32 *bad)
{
	u32 end = prld_merge_end(gone), c;
	int ret = prld_layer_covers(now, was, gone, bad);

	if (ret || !gone->plain)
		return ret;
	for (c = prld_merge_next(chain, gone, 0); c < end;
	     c = prld_merge_next(chain, gone, c + 1)) {
		if (!prld_layer_entry(now, c)) {
			*bad = c;
			return -EINVAL;
		}
		cond_resched();
	}
	return 0;
}

/* A lower child read again from its file, judged against the old one. */
static int prld_drop_reread(struct prld_device *dev, struct prld_chain *chain,
			    unsigned int gone, struct prld_drop *d)
{
	const struct prld_layer *was = &chain->layers[gone + 1];
	u32 bad = 0;
	int ret;

	d->child.file = get_file(was->file);
	d->reread = true;
	ret = prld_layer_load(&d->child, gone + 1, dev->flags);
	if (!ret)
		ret = prld_drop_covers(chain, &d->child, was,
				       &chain->layers[gone], &bad);
	if (ret == -EINVAL)
		pr_err("%s: merge: layer %u does not hold cluster %u as it must to replace layer %u: not dropped\n",
		       dev->disk->disk_name, gone + 1, bad, gone);
	return ret;
}

/*
 * The shorter chain, but for its top, which is taken under the freeze:
 * the layer array without @gone (a lower child's new reading in its
 * place) and its owner cache.
 */
static int prld_drop_prepare(struct prld_chain *chain, unsigned int gone,
			     struct prld_drop *d)
{
	struct prld_chain *next = &d->next;
	unsigned int i, k = 0;
	int ret;

	next->layers = kcalloc(chain->nr_layers - 1, sizeof(*next->layers),
			       GFP_KERNEL);
	if (!next->layers)
		return -ENOMEM;
	next->nr_layers = chain->nr_layers - 1;
	for (i = 0; i < chain->nr_layers; i++) {
		if (i == gone)
			continue;
		next->layers[k++] = d->reread && i == gone + 1 ? d->child :
				    chain->layers[i];
	}
	ret = prld_chain_check_layers(next);
	if (!ret)
		ret = prld_chain_owner_build(next);
	return ret;
}

/*
 * Queue frozen: a top child takes what it still lacks and its BAT turns
 * durable; then the arrays trade places.  On failure nothing changed but
 * clusters the top took (the same bytes it read through @gone).
 */
static int prld_drop_frozen(struct prld_device *dev, struct prld_chain *chain,
			    unsigned int gone, struct prld_drop *d)
{
	struct request_queue *q = dev->disk->queue;
	struct prld_chain *next = &d->next;
	unsigned int noio;
	u64 copied = 0;
	int ret = 0;

	lockdep_assert_held(&dev->mutex);
	blk_mq_freeze_queue(q);
	/* No allocation may wait for writeback to this frozen device. */
	noio = memalloc_noio_save();
	if (!d->reread) {
		ret = prld_merge_range(dev, chain, gone, 0, chain->clusters,
				       &copied);
		if (!ret)
			ret = prld_bat_sync(prld_chain_top(chain), false);
	}
	if (!ret) {
		d->gone = chain->layers[gone];
		if (d->reread)
			d->old_child = chain->layers[gone + 1];
		next->layers[next->nr_layers - 1] = *prld_chain_top(chain);
		swap(chain->layers, next->layers);
		swap(chain->owner, next->owner);
		swap(chain->nr_layers, next->nr_layers);
		chain->plain_clusters = next->plain_clusters;
		prld_chain_recount(chain);
		d->reread = false;	/* the chain holds the new reading */
	}
	memalloc_noio_restore(noio);
	blk_mq_unfreeze_queue(q);
	if (copied)
		pr_info("%s: merge: %llu clusters given back meanwhile copied again at the switch\n",
			dev->disk->disk_name, copied);
	return ret;
}

static int prld_merge_drop_locked(struct prld_device *dev,
				  const struct prld_merge *req,
				  struct file *file, struct prld_drop *d)
{
	struct prld_chain *chain = prld_sole_chain(dev);
	unsigned int gone = req->layer;
	int ret;

	if (IS_ERR(chain))
		return PTR_ERR(chain);
	ret = prld_merge_layer(dev, chain, req, false, file);
	if (!ret && gone + 2 < chain->nr_layers)
		ret = prld_drop_reread(dev, chain, gone, d);
	if (!ret)
		ret = prld_drop_prepare(chain, gone, d);
	if (!ret)
		ret = prld_drop_frozen(dev, chain, gone, d);
	if (ret) {
		pr_err("%s: merge: layer %u stays (%d)\n",
		       dev->disk->disk_name, gone, ret);
		return ret;
	}
	prld_unclaim_layers(dev, &d->gone, 1);
	return 0;
}

/**
 * prld_merge_drop() - PRLD_MERGE_DROP: a merged layer leaves the chain
 * @dev: a device bound read-write to one chain of two layers or more
 * @arg: user pointer to struct prld_merge: the layer (not the top) and
 *       its file; first, count and copied zero
 *
 * The layer's child must hold everything the layer holds: a top child is
 * made to (what it lacks is copied under the freeze, then its BAT is made
 * durable), a lower child is read again and checked.
 * Context: takes dev->mutex (killable) across the images' I/O and a
 * frozen queue.
 * Return: 0, -EPERM, -EFAULT, -EINVAL (a layer that is the top or not the
 * file given, or a lower child that does not cover it), -EBADF, -EROFS,
 * -ENXIO, -EOPNOTSUPP, -ENOSPC, -ENOMEM, -EINTR, or an I/O error; on
 * failure the chain is unchanged.
 */
int prld_merge_drop(struct prld_device *dev, void __user *arg)
{
	struct prld_drop *d;
	struct prld_merge req;
	struct file *file;
	int ret;

	ret = prld_merge_args(arg, &req, false, &file);
	if (ret)
		return ret;
	d = kzalloc(sizeof(*d), GFP_KERNEL);
	ret = d ? mutex_lock_killable(&dev->mutex) : -ENOMEM;
	if (!ret) {
		ret = prld_merge_drop_locked(dev, &req, file, d);
		mutex_unlock(&dev->mutex);
	}
	fput(file);
	if (d) {
		/* fput, outside dev->mutex: the old files and arrays go. */
		prld_layer_release(&d->gone);
		prld_layer_release(&d->old_child);
		if (d->reread)
			prld_layer_release(&d->child);
		prld_chain_free(&d->next);
		kfree(d->next.layers);
		kfree(d);
	}
	return ret;
}
