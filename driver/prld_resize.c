// SPDX-License-Identifier: GPL-2.0
/*
 * prld_resize.c - PRLD_RESIZE: grow a bound device.  The top image's
 * header and BAT grow (lower layers keep their size and map nothing
 * beyond it); when the larger BAT reaches into the first data clusters,
 * those move to the end of the file first.  Shrinking is refused.
 *
 * Crash safety comes from the order: each moved cluster is copied and made
 * durable before its BAT entry points at the copy; the changed BAT leaves
 * are written and the region the BAT grows into is zeroed (it holds
 * nothing referenced any more), both made durable; only then does the
 * header with the new size go out, as one 64-byte write.  A crash before
 * that leaves the old disk plus leaked clusters; after it, the grown disk.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/blkdev.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "prld.h"
#include "prld_validate.h"

/*
 * Copy @cluster's data to the end of the file, durably; then point the
 * map at it (the BAT leaf is written before the header grows).
 */
static int prld_move_cluster(struct prld_chain *chain, u32 cluster, u64 from,
			     void *buf)
{
	u64 to = chain->alloc_next;
	struct prld_layer *top = &chain->layers[chain->nr_layers - 1];
	errseq_t since = prld_sync_mark(top);
	int ret;

	/* Past this a BAT entry would wrap and name another cluster. */
	if (to > prld_max_entry_offset(&top->geom)) {
		pr_err("resize: the top image is full: no BAT entry can address byte %llu\n",
		       to);
		return -ENOSPC;
	}
	ret = prld_file_read(top->file, buf, chain->cluster_bytes, from);
	if (!ret)
		ret = prld_file_write(top->file, buf, chain->cluster_bytes, to);
	if (!ret)
		ret = prld_sync_top(top, 1, since);
	/* Even on failure: the space may hold part of a copy. */
	chain->alloc_next = to + chain->cluster_bytes;
	if (!ret) {
		top->durable_end = max(top->durable_end, chain->alloc_next);
		prld_chain_commit(chain, cluster, to);
	}
	return ret;
}

/* Every cluster of the top that lies where the grown BAT will be. */
static int prld_move_out_of_the_way(struct prld_chain *chain,
				    const struct prld_geom *grown, void *buf)
{
	struct prld_layer *top = &chain->layers[chain->nr_layers - 1];
	u64 off;
	u32 c;
	int ret;

	chain->alloc_next = max(chain->alloc_next, prld_data_start(grown));
	for (c = prld_layer_next(top, 0); c < top->bat.count;
	     c = prld_layer_next(top, c + 1)) {
		off = prld_bat_to_offset(&top->geom, prld_layer_entry(top, c));
		if (!prld_grow_moves(grown, off))
			continue;
		ret = prld_move_cluster(chain, c, off, buf);
		if (ret)
			return ret;
	}
	return 0;
}

/* Zeros over [@from, @to): the new BAT entries and their padding. */
static int prld_zero_file(struct file *file, u64 from, u64 to, void *buf,
			  size_t buf_len)
{
	size_t len;
	int ret;

	memset(buf, 0, buf_len);
	for (; from < to; from += len) {
		len = min_t(u64, buf_len, to - from);
		ret = prld_file_write(file, buf, len, from);
		if (ret)
			return ret;
	}
	return 0;
}

/* Queue frozen: the file takes the grown layout; the header commits it. */
static int prld_grow_top(struct prld_chain *chain,
			 const struct prld_geom *grown)
{
	struct prld_layer *top = &chain->layers[chain->nr_layers - 1];
	errseq_t since = prld_sync_mark(top);
	u8 hdr[PRLD_HEADER_SIZE];
	void *buf;
	int ret;

	/* Up to 64 MiB, sized by the image: ENOMEM to the caller. */
	buf = kvmalloc(chain->cluster_bytes, GFP_KERNEL | __GFP_NOWARN);
	if (!buf)
		return -ENOMEM;
	ret = prld_move_out_of_the_way(chain, grown, buf);
	if (!ret)
		ret = prld_bat_sync(top, false);
	if (!ret)
		ret = prld_zero_file(top->file, prld_bat_end(top->geom.bat_entries),
				     prld_data_start(grown), buf,
				     chain->cluster_bytes);
	if (!ret)
		ret = prld_sync_top(top, 0, since);
	kvfree(buf);
	if (ret)
		return ret;
	prld_header_encode(grown, hdr);
	ret = prld_file_write(top->file, hdr, sizeof(hdr), 0);
	if (!ret)
		ret = prld_sync_top(top, 0, since);
	return ret;
}

/* The frozen part: file first, then the in-memory map takes the size. */
static int prld_grow_frozen(struct prld_device *dev,
			    const struct prld_geom *grown, void ***dir,
			    unsigned long **dirty)
{
	struct prld_chain *chain = &dev->parts[0];
	struct request_queue *q = dev->disk->queue;
	unsigned int noio;
	int ret;

	blk_mq_freeze_queue(q);
	/* No allocation may wait for writeback to this frozen device. */
	noio = memalloc_noio_save();
	ret = prld_grow_top(chain, grown);
	if (!ret) {
		prld_chain_grow(chain, dir, dirty, grown->bat_entries);
		prld_chain_top(chain)->geom = *grown;
		/* Requests are cut at the part's end: it moves with the top. */
		chain->bytes = grown->nb_sectors << SECTOR_SHIFT;
	}
	memalloc_noio_restore(noio);
	blk_mq_unfreeze_queue(q);
	return ret;
}

static int prld_resize_bound(struct prld_device *dev, u64 new_sectors)
{
	struct prld_chain *chain = prld_sole_chain(dev);
	struct prld_layer *top;
	struct prld_geom grown;
	struct prld_fault f;
	unsigned long *dirty;
	void **dir;
	int ret;

	if (IS_ERR(chain))
		return PTR_ERR(chain);
	top = prld_chain_top(chain);
	if (top->plain)
		return -EOPNOTSUPP;	/* a raw file grows by truncate */
	if (prld_grow_layout(&top->geom, new_sectors, &grown, &f)) {
		pr_err("%s: resize to %llu sectors: %s (value %llu, limit %llu)\n",
		       dev->disk->disk_name, new_sectors, prld_status_str(f.status),
		       f.value, f.limit);
		return -EINVAL;
	}
	if (grown.bat_entries == top->geom.bat_entries &&
	    grown.nb_sectors == top->geom.nb_sectors)
		return 0;
	if (grown.bat_entries > PRLD_MAX_BAT_ENTRIES)
		return -EFBIG;
	/* Allocated before the freeze: reclaim must not wait on this queue. */
	dir = prld_pages_dir_alloc(grown.bat_entries, sizeof(u32), GFP_KERNEL);
	dirty = bitmap_zalloc(DIV_ROUND_UP(grown.bat_entries,
					   PRLD_LEAF_BYTES / sizeof(u32)) + 1,
			      GFP_KERNEL);
	ret = dir && dirty ? prld_grow_frozen(dev, &grown, &dir, &dirty) :
			     -ENOMEM;
	/* The old ones on success, else the unused ones. */
	kvfree(dir);
	bitmap_free(dirty);
	if (ret)
		return ret;
	set_capacity_and_notify(dev->disk,
				((grown.nb_sectors << SECTOR_SHIFT) - dev->offset)
				>> SECTOR_SHIFT);
	return 0;
}

/**
 * prld_resize() - PRLD_RESIZE: grow a bound device
 * @dev: a device bound read-write
 * @arg: user pointer to struct prld_resize
 *
 * Context: takes dev->mutex (killable) across the top's I/O, under a
 * frozen queue.
 * Return: 0, -EPERM, -EFAULT, -EINVAL (smaller, or too large for the
 * format), -EFBIG, -EROFS, -ENXIO, -ENOMEM, -ENOSPC (a moved cluster
 * would pass the offsets a BAT entry holds), -EINTR, or an I/O error.
 */
int prld_resize(struct prld_device *dev, const void __user *arg)
{
	struct prld_resize req;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	ret = prld_check_resize(&req);
	if (ret)
		return ret;
	ret = mutex_lock_killable(&dev->mutex);
	if (ret)
		return ret;
	ret = prld_resize_bound(dev, req.new_sectors);
	mutex_unlock(&dev->mutex);
	return ret;
}
