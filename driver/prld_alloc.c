// SPDX-License-Identifier: GPL-2.0
/*
 * prld_alloc.c - giving the top its own cluster for a write, and taking
 * one back for a discard.
 *
 * A write into a cluster the top does not hold claims the cluster and the
 * next free space at the end of the top file under alloc_lock, then does
 * its I/O without the lock, so writers of different new clusters run in
 * parallel; a second writer of a claimed cluster waits for the claim to
 * end and then writes into the top's cluster like any other.  Order on
 * disk, as the format notes (7) ask and as a disk with a volatile write
 * cache promises:
 *
 *  - the new space is fresh and reads as zeros, durably, before anything
 *    can point at it (prld_reserve(): the file grows in large steps, each
 *    made durable once);
 *  - over a lower layer's cluster, the copy of that cluster and the new
 *    data are durable before the BAT entry is written, so a crash never
 *    shows zeros where the lower layer had data;
 *  - then the in-memory map takes the entry and marks its BAT leaf
 *    dirty; the next FLUSH or FUA writes the dirty leaves and fsyncs the
 *    top (prld_flush()), which makes the entry and the data durable
 *    together, as for any completed write.  Until then a crash leaves
 *    the cluster unmapped (the write is lost, as an unflushed write may
 *    be) or mapped to its data or zeros.  No BAT write on the write path
 *    also means no exclusive inode lock there, which would wait for
 *    every direct I/O in flight on the file.
 *
 * Space once handed out is never handed out again, even when the write
 * fails: a failure leaks the space, it never maps two clusters to it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/bvec.h>
#include <linux/falloc.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/wait.h>

#include "prld.h"
#include "prld_fault.h"

#define PRLD_COPY_CHUNK		(1U << 20)
#define PRLD_PREALLOC_BYTES	(64ULL << 20)

/*
 * Make [off, off + cluster) of the top fresh space that reads as zeros,
 * durably.  The file grows PRLD_PREALLOC_BYTES at a time and each step is
 * made durable once, so the allocations inside it skip both the
 * fallocate and a journal commit of their own.  Space past the last
 * mapped cluster is cut off at detach (prld_finish_top()) and at the next
 * attach (prld_mark_in_use()), so the image never keeps the tail.
 * durable_end, not i_size, says how far the durable space reaches: after
 * a failed sync i_size is past it, and the next claim must sync again.
 */
static int prld_reserve(struct prld_device *dev, struct prld_chain *chain,
			u64 off)
{
	struct prld_layer *l = &chain->layers[chain->nr_layers - 1];
	struct file *top = l->file;
	u64 end = off + chain->cluster_bytes, size;
	u64 step = l->small_steps ? chain->cluster_bytes :
		   max_t(u64, chain->cluster_bytes, PRLD_PREALLOC_BYTES);
	errseq_t since;
	int ret;

	lockdep_assert_held(&dev->alloc_lock);
	if (end <= l->durable_end)
		return 0;
	since = prld_sync_mark(l);
	size = i_size_read(file_inode(top));
	ret = vfs_fallocate(top, 0, off, step);
	if (ret == -ENOSPC && step > chain->cluster_bytes) {
		/*
		 * The filesystem is nearly full.  A failed fallocate may
		 * keep what it got (ext4 does): give that back, nothing past
		 * @off is referenced, and take one cluster at a time from
		 * now on, leaving the rest of the space to other files.
		 */
		l->small_steps = true;
		step = chain->cluster_bytes;
		ret = i_size_read(file_inode(top)) > max(size, off) ?
		      prld_truncate(top, max(size, off)) : 0;
		if (!ret)
			ret = vfs_fallocate(top, 0, off, step);
	}
	if (ret == -EOPNOTSUPP) {
		/* A hole reads as zeros too: extend the file over it. */
		step = chain->cluster_bytes;
		ret = i_size_read(file_inode(top)) < end ?
		      prld_truncate(top, end) : 0;
	}
	if (!ret)
		ret = prld_sync_top(l, 1, since);
	if (!ret)
		l->durable_end = off + step;
	return ret;
}

/* A claim names a cluster of one part of the disk. */
static u64 prld_claim_key(const struct prld_piece *p)
{
	return (u64)p->part << 32 | p->cluster;
}

/* Is @key claimed by a writer?  Under claim_lock. */
static bool prld_claimed_locked(struct prld_device *dev, u64 key)
{
	unsigned int i;

	for (i = 0; i < dev->nr_claims; i++)
		if (dev->claims[i] == key)
			return true;
	return false;
}

/* Can a claim of @key be tried now (not claimed, a free slot)? */
static bool prld_claim_possible(struct prld_device *dev, u64 key)
{
	bool possible;

	spin_lock(&dev->claim_lock);
	possible = dev->nr_claims < PRLD_MAX_CLAIMS &&
		   !prld_claimed_locked(dev, key);
	spin_unlock(&dev->claim_lock);
	return possible;
}

static void prld_unclaim(struct prld_device *dev, u64 key)
{
	unsigned int i;

	spin_lock(&dev->claim_lock);
	for (i = 0; i < dev->nr_claims; i++) {
		if (dev->claims[i] == key) {
			dev->claims[i] = dev->claims[--dev->nr_claims];
			break;
		}
	}
	spin_unlock(&dev->claim_lock);
	wake_up_all(&dev->claim_wq);
}

/*
 * Under alloc_lock: claim @p's cluster and space for it at *@off.  Returns
 * 1 if the top maps the cluster by now (at *@off: no claim needed),
 * -EAGAIN if another writer holds a claim (wait, then try again), 0 when
 * claimed, -ENOSPC when the next space lies past what a BAT entry can
 * express.
 */
static int prld_claim_locked(struct prld_device *dev,
			     const struct prld_piece *p, u64 *off)
{
	struct prld_chain *chain = p->chain;
	struct prld_layer *top = prld_chain_top(chain);
	u32 entry = prld_layer_entry(top, p->cluster);
	u64 key = prld_claim_key(p);
	int ret = -EAGAIN;

	lockdep_assert_held(&dev->alloc_lock);
	if (entry) {
		*off = prld_bat_to_offset(&top->geom, entry);
		return 1;
	}
	spin_lock(&dev->claim_lock);
	if (dev->nr_claims < PRLD_MAX_CLAIMS &&
	    !prld_claimed_locked(dev, key)) {
		dev->claims[dev->nr_claims++] = key;
		ret = 0;
	}
	spin_unlock(&dev->claim_lock);
	if (ret)
		return ret;
	/* The leaf first: nothing on disk may name space we cannot map. */
	ret = prld_chain_prepare(chain, p->cluster, GFP_NOIO);
	if (!ret && chain->alloc_next > prld_max_entry_offset(&top->geom)) {
		/* The entry would wrap and name another cluster's space. */
		pr_err_ratelimited("%s: the top image is full: no BAT entry can address byte %llu\n",
				   dev->disk->disk_name, chain->alloc_next);
		ret = -ENOSPC;
	}
	if (!ret)
		ret = prld_reserve(dev, chain, chain->alloc_next);
	if (ret) {
		prld_unclaim(dev, key);
		return ret;
	}
	*off = chain->alloc_next;
	chain->alloc_next += chain->cluster_bytes;
	return 0;
}

/* prld_claim_locked(), waiting out other writers' claims of the cluster. */
int prld_claim(struct prld_device *dev, const struct prld_piece *p, u64 *off)
{
	int ret;

	for (;;) {
		mutex_lock(&dev->alloc_lock);
		ret = prld_claim_locked(dev, p, off);
		mutex_unlock(&dev->alloc_lock);
		if (ret != -EAGAIN)
			return ret;
		wait_event(dev->claim_wq,
			   prld_claim_possible(dev, prld_claim_key(p)));
	}
}

/*
 * Write @len bytes of @buf to the top at @pos, as direct I/O on a device
 * that does its I/O so and when @buf is physically contiguous (kmalloc'd,
 * as kvmalloc gives a chunk unless memory is fragmented): a buffered
 * write holds the file's inode lock exclusively (ext4, xfs), so every
 * copy of a cluster would stall the direct writes into clusters the top
 * holds, which take it shared; an online merge copies many in a row.
 */
static int prld_copy_write(struct prld_device *dev, struct file *dst,
			   void *buf, size_t len, u64 pos)
{
	struct prld_piece p = { .len = len };
	struct iov_iter iter;
	struct bio_vec bv;

	if (!(dev->flags & PRLD_CONFIG_DIRECT_IO) || is_vmalloc_addr(buf) ||
	    len % SECTOR_SIZE)
		return prld_file_write(dst, buf, len, pos);
	bv.bv_page = virt_to_page(buf);
	bv.bv_offset = offset_in_page(buf);
	bv.bv_len = len;
	iov_iter_bvec(&iter, ITER_SOURCE, &bv, 1, len);
	return prld_iter_io(dev, dst, &iter, &p, pos, true);
}

/*
 * Copy the lower layer's cluster to @dst_off in the top, in chunks of at
 * most PRLD_COPY_CHUNK.  The last chunk stops at the cluster's end: a
 * cluster need not be a multiple of the chunk (1536K and 2560K are valid),
 * and a byte past it belongs to another cluster, or lies past the end of
 * the lower file.
 */
int prld_copy_up(struct prld_device *dev, struct prld_chain *chain,
		 unsigned int layer, u64 src_off, u64 dst_off)
{
	struct file *src = chain->layers[layer].file;
	struct file *dst = chain->layers[chain->nr_layers - 1].file;
	/* A plain base may end inside its last cluster: zeros after that. */
	u64 total = min(chain->cluster_bytes,
			prld_layer_end(&chain->layers[layer]) - src_off);
	u64 done, left;
	size_t len;
	void *buf;
	int ret = 0;

	buf = kvmalloc(min_t(u64, total, PRLD_COPY_CHUNK), GFP_NOIO);
	if (!buf)
		return -ENOMEM;
	for (done = 0; done < total && !ret; done += len) {
		left = total - done;
		len = min_t(u64, left, PRLD_COPY_CHUNK);
		ret = prld_file_read(src, buf, len, src_off + done);
		if (!ret)
			ret = prld_copy_write(dev, dst, buf, len,
					      dst_off + done);
	}
	kvfree(buf);
	return ret;
}

/*
 * Outside the lock: fill the claimed cluster at @off with what a lower
 * layer holds (unless the piece covers it all) and the piece's data.
 * Over a lower layer's cluster that is made durable before the entry
 * may hide the old contents.
 */
static int prld_fill_claim(struct prld_device *dev, const struct prld_piece *p,
			   struct iov_iter *iter, u64 off)
{
	struct prld_chain *chain = p->chain;
	struct prld_layer *l = prld_chain_top(chain);
	struct file *top = l->file;
	errseq_t since = prld_sync_mark(l);
	unsigned int lower;
	u64 lower_off;
	bool below;
	int ret = 0;

	below = prld_chain_resolve(chain, p->cluster, &lower, &lower_off);
	if (below && p->len < chain->cluster_bytes)
		ret = prld_copy_up(dev, chain, lower, lower_off, off);
	if (!ret)
		ret = prld_iter_io(dev, top, iter, p, off + p->in_cluster, true);
	if (!ret && below)
		ret = prld_sync_range(l, off, off + chain->cluster_bytes - 1, 1,
				      since);
	return ret;
}

/* The claim ends: on success the cluster is the top's from now on. */
int prld_end_claim(struct prld_device *dev, const struct prld_piece *p,
		   u64 off, int ret)
{
	if (!ret) {
		mutex_lock(&dev->alloc_lock);
		prld_chain_commit(p->chain, p->cluster, off);
		dev->wrote = true;
		mutex_unlock(&dev->alloc_lock);
	}
	prld_unclaim(dev, prld_claim_key(p));
	return ret;
}

/*
 * Write piece @p into a cluster of the top, allocating it if need be.
 * Returns with @iter advanced by the piece on success.
 */
int prld_alloc_write(struct prld_device *dev, const struct prld_piece *p,
		     struct iov_iter *iter)
{
	struct prld_layer *top = prld_chain_top(p->chain);
	u64 off;
	int ret;

	ret = prld_claim(dev, p, &off);
	if (ret == 1)
		return prld_iter_io(dev, top->file, iter, p,
				    off + p->in_cluster, true);
	if (ret)
		return ret;
	ret = prld_fill_claim(dev, p, iter, off);
	return prld_end_claim(dev, p, off, ret);
}

/*
 * WRITE_ZEROES of all of @p's cluster, which a lower layer holds: the top
 * takes fresh space for it, which already reads as zeros, durably
 * (prld_reserve()), so nothing is copied up or written.  Returns 0 when
 * done, 1 with *@off set if the top holds the cluster by now (zero it
 * there), or a negative errno.
 */
int prld_alloc_zeroed(struct prld_device *dev, const struct prld_piece *p,
		      u64 *off)
{
	int ret = prld_claim(dev, p, off);

	if (ret)
		return ret;
	return prld_end_claim(dev, p, *off, 0);
}

/*
 * Whole cluster of @p in its top, at @off: unmap it, then free its
 * space.  Lower layers show through again, which a discard allows (the
 * caller never unmaps for a WRITE_ZEROES over a lower layer).  The
 * cleared entry reaches the file with the next flush; until then a crash
 * may bring the old entry back over the punched hole, which reads as
 * zeros, as discarded space may.  The space is never reused while
 * attached (allocation only moves forward), so no entry can come back
 * pointing at another cluster's data.
 */
void prld_unmap_cluster(struct prld_device *dev, const struct prld_piece *p,
			u64 off)
{
	struct prld_chain *chain = p->chain;

	mutex_lock(&dev->alloc_lock);
	prld_chain_uncommit(chain, p->cluster);
	mutex_unlock(&dev->alloc_lock);
	/* Unreferenced now: failing to punch only wastes space. */
	vfs_fallocate(prld_chain_top(chain)->file,
		      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
		      chain->cluster_bytes);
}
