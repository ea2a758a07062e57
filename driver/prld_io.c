// SPDX-License-Identifier: GPL-2.0
/*
 * prld_io.c - the request path.
 *
 * ->queue_rq hands each request to the device's workqueue (file I/O may
 * sleep).  Requests that may go out as async direct I/O go to one list
 * that a single work item drains in order, as loop's worker does: one
 * wakeup starts a whole batch, under one plug (prld_aio.c).  The rest
 * (allocation, FLUSH, FUA, DISCARD, buffered I/O) get a work item each,
 * so a request that sleeps holds up no other.  A request is walked one
 * cluster at a time: each piece is resolved through the in-memory map to
 * a layer and a file offset and read or written there with one kiocb
 * over the request's own pages.
 *
 * The workers do the issuer's I/O in the issuer's name, as loop's do:
 * its block and memory cgroups (so io.max, io.weight and memory limits
 * hold for I/O to /dev/prldN), its I/O priority, writeback throttled
 * against the backing device only (PF_LOCAL_THROTTLE: the dirty pages
 * this device's own writeback creates must not throttle it), and no
 * allocation that waits for I/O to this device (PF_MEMALLOC_NOIO).
 * Every write to a backing file takes its filesystem's freeze protection,
 * so a frozen filesystem (fsfreeze, an LVM snapshot) makes writes wait.
 *
 * Reads and writes into clusters the top already holds take no lock; a
 * write into a cluster the top does not hold allocates one
 * (prld_alloc.c).  FLUSH writes the BAT leaves new clusters changed and
 * fsyncs the top, which makes every completed write durable.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-cgroup.h>
#include <linux/blk-mq.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/math64.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "prld.h"
#include "prld_fault.h"

/* The byte of the image a request starts at (the offset policy added). */
u64 prld_rq_pos(const struct prld_device *dev, const struct request *rq)
{
	return ((u64)blk_rq_pos(rq) << SECTOR_SHIFT) + dev->offset;
}

/* The part holding disk byte @pos (below the capacity): parts in order. */
static unsigned int prld_part_of(const struct prld_device *dev, u64 pos)
{
	unsigned int lo = 0, hi = dev->nr_parts - 1, mid;

	while (lo < hi) {
		mid = (lo + hi + 1) / 2;
		if (dev->parts[mid].start <= pos)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/*
 * The piece of a request at disk byte @pos, @left bytes long at most:
 * it stays inside one cluster of one part.
 */
void prld_piece_at(struct prld_device *dev, u64 pos, size_t left,
		   struct prld_piece *p)
{
	unsigned int k = dev->nr_parts == 1 ? 0 : prld_part_of(dev, pos);
	struct prld_chain *chain = &dev->parts[k];
	u64 rel = pos - chain->start, rem;

	p->chain = chain;
	p->part = k;
	p->cluster = (u32)div64_u64_rem(rel, chain->cluster_bytes, &rem);
	p->in_cluster = rem;
	p->len = min_t(u64, min_t(u64, left, chain->cluster_bytes - rem),
		       chain->bytes - rel);
}

static ssize_t prld_file_rw(struct prld_device *dev, struct file *file,
			    struct iov_iter *iter, u64 pos, u16 ioprio,
			    bool write)
{
	struct kiocb kiocb;
	ssize_t ret;

	init_sync_kiocb(&kiocb, file);
	kiocb.ki_pos = pos;
	kiocb.ki_ioprio = ioprio;
	/*
	 * Direct I/O pins the iterator's pages: the request's bvecs, yes; a
	 * kernel buffer (the zeros of prld_zero_by_write()) goes buffered.
	 */
	if ((dev->flags & PRLD_CONFIG_DIRECT_IO) && iov_iter_is_bvec(iter))
		kiocb.ki_flags |= IOCB_DIRECT;
	if (!write)
		return vfs_iocb_iter_read(file, &kiocb, iter);
	/*
	 * Not vfs_iocb_iter_write(): on 6.1 it takes no freeze protection,
	 * on later kernels it does; this is the same on both.
	 */
	kiocb_start_write(&kiocb);
	ret = file->f_op->write_iter(&kiocb, iter);
	kiocb_end_write(&kiocb);
	return ret;
}

/* Move exactly @p->len bytes of @iter to or from @file at @pos. */
int prld_iter_io(struct prld_device *dev, struct file *file,
		 struct iov_iter *iter, const struct prld_piece *p, u64 pos,
		 bool write)
{
	size_t rest = iov_iter_count(iter) - p->len;
	ssize_t done;

	iov_iter_truncate(iter, p->len);
	done = prld_file_rw(dev, file, iter, pos, p->ioprio, write);
	iov_iter_reexpand(iter, iov_iter_count(iter) + rest);
	if (done < 0)
		return done;
	return done == p->len ? 0 : -EIO;
}

int prld_write_piece(struct prld_device *dev, const struct prld_piece *p,
		     struct iov_iter *iter)
{
	struct prld_chain *chain = p->chain;
	unsigned int top = chain->nr_layers - 1, layer;
	u64 off;

	if (prld_chain_resolve(chain, p->cluster, &layer, &off) && layer == top)
		return prld_iter_io(dev, chain->layers[top].file, iter, p,
				    off + p->in_cluster, true);
	return prld_alloc_write(dev, p, iter);
}

/* Read @p from @l at @pos; past the end of a plain image, zeros. */
static int prld_read_layer(struct prld_device *dev, const struct prld_layer *l,
			   const struct prld_piece *p, u64 pos,
			   struct iov_iter *iter)
{
	u64 end = prld_layer_end(l);
	struct prld_piece head = *p;
	size_t tail;
	int ret;

	if (pos + p->len <= end)
		return prld_iter_io(dev, l->file, iter, p, pos, false);
	head.len = pos < end ? end - pos : 0;
	tail = p->len - head.len;
	ret = head.len ? prld_iter_io(dev, l->file, iter, &head, pos, false) : 0;
	if (!ret && iov_iter_zero(tail, iter) != tail)
		ret = -EIO;
	return ret;
}

int prld_read_piece(struct prld_device *dev, const struct prld_piece *p,
		    struct iov_iter *iter)
{
	unsigned int layer;
	u64 off;

	if (!prld_chain_resolve(p->chain, p->cluster, &layer, &off))
		return iov_iter_zero(p->len, iter) == p->len ? 0 : -EIO;
	return prld_read_layer(dev, &p->chain->layers[layer], p,
			       off + p->in_cluster, iter);
}

/* An iov_iter over all of @cmd's request's pages (as loop builds one). */
int prld_rq_iter(struct prld_cmd *cmd, struct iov_iter *iter, int dir)
{
	struct request *rq = cmd->rq;
	struct req_iterator rq_iter;
	struct bio_vec tmp, *bvec;
	unsigned int offset = 0;
	int nr_bvec = 0;

	rq_for_each_bvec(tmp, rq, rq_iter)
		nr_bvec++;
	if (rq->bio != rq->biotail) {
		bvec = kmalloc_array(nr_bvec, sizeof(*bvec), GFP_NOIO);
		if (!bvec)
			return -ENOMEM;
		cmd->bvec = bvec;
		rq_for_each_bvec(tmp, rq, rq_iter)
			*bvec++ = tmp;
		bvec = cmd->bvec;
	} else {
		/* A split bio may start inside its first bvec. */
		offset = rq->bio->bi_iter.bi_bvec_done;
		bvec = __bvec_iter_bvec(rq->bio->bi_io_vec, rq->bio->bi_iter);
	}
	iov_iter_bvec(iter, dir, bvec, nr_bvec, blk_rq_bytes(rq));
	iter->iov_offset = offset;
	return 0;
}

static int prld_rw(struct prld_device *dev, struct prld_cmd *cmd, bool write)
{
	struct request *rq = cmd->rq;
	u64 pos = prld_rq_pos(dev, rq);
	size_t left = blk_rq_bytes(rq);
	struct prld_piece p;
	struct iov_iter iter;
	int ret;

	ret = prld_rq_iter(cmd, &iter, write ? ITER_SOURCE : ITER_DEST);
	p.ioprio = req_get_ioprio(rq);
	while (!ret && left) {
		prld_piece_at(dev, pos, left, &p);
		if (write)
			ret = prld_write_piece(dev, &p, &iter);
		else
			ret = prld_read_piece(dev, &p, &iter);
		pos += p.len;
		left -= p.len;
	}
	return ret;
}

/*
 * Every write completed before this call becomes durable: the BAT leaves
 * that new clusters changed are written, then the top is synced.  One
 * flush at a time, so a second one cannot find the leaves clean and sync
 * while the first is still writing them.
 */
int prld_flush(struct prld_device *dev)
{
	unsigned int k;
	int ret = 0;

	if (dev->flags & PRLD_CONFIG_READ_ONLY)
		return 0;
	if (prld_should_fail(PRLD_FAULT_FLUSH))
		return -EIO;
	mutex_lock(&dev->flush_lock);
	for (k = 0; k < dev->nr_parts && !ret; k++)
		ret = prld_bat_sync(prld_chain_top(&dev->parts[k]), true);
	mutex_unlock(&dev->flush_lock);
	return ret;
}

/* Zeros over a piece the top does not hold: allocate it like a write. */
static int prld_zero_by_write(struct prld_device *dev,
			      const struct prld_piece *p)
{
	struct iov_iter iter;
	struct kvec kv;
	int ret;

	kv.iov_len = p->len;
	kv.iov_base = kvzalloc(p->len, GFP_NOIO);
	if (!kv.iov_base)
		return -ENOMEM;
	iov_iter_kvec(&iter, ITER_SOURCE, &kv, 1, p->len);
	ret = prld_write_piece(dev, p, &iter);
	kvfree(kv.iov_base);
	return ret;
}

/*
 * A piece of a DISCARD or WRITE_ZEROES.  Only WRITE_ZEROES must read back
 * zeros: a discard over a cluster a lower layer holds does nothing (it
 * may keep returning the old data), where copying the cluster up just to
 * zero it would fill the top with the discarded range.  A whole cluster
 * the top holds is unmapped and its space given back when reads may then
 * show zeros (one layer) or anything (a discard); otherwise it is zeroed
 * in place.
 */
static int prld_zero_piece(struct prld_device *dev, const struct prld_piece *p,
			   bool discard, bool may_unmap)
{
	struct prld_chain *chain = p->chain;
	unsigned int top = chain->nr_layers - 1, layer;
	struct file *file = chain->layers[top].file;
	bool whole = p->len == chain->cluster_bytes;
	u64 off;
	int ret;

	if (!prld_chain_resolve(chain, p->cluster, &layer, &off))
		return 0;	/* already reads as zeros */
	if (layer != top) {
		if (discard)
			return 0;
		if (!whole)
			return prld_zero_by_write(dev, p);
		ret = prld_alloc_zeroed(dev, p, &off);
		if (ret <= 0)
			return ret;
		/* The top took the cluster meanwhile: zero it there. */
	} else if (whole && may_unmap && (top == 0 || discard)) {
		prld_unmap_cluster(dev, p, off);
		return 0;
	}
	ret = vfs_fallocate(file, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
			    off + p->in_cluster, p->len);
	if (ret == -EOPNOTSUPP)
		ret = prld_zero_by_write(dev, p);
	return ret;
}

static int prld_discard(struct prld_device *dev, struct request *rq)
{
	u64 pos = prld_rq_pos(dev, rq);
	u64 left = blk_rq_bytes(rq);
	bool discard = req_op(rq) == REQ_OP_DISCARD;
	bool may_unmap = !(rq->cmd_flags & REQ_NOUNMAP);
	struct prld_piece p;
	int ret = 0;

	p.ioprio = req_get_ioprio(rq);
	while (!ret && left) {
		prld_piece_at(dev, pos, left, &p);
		ret = prld_zero_piece(dev, &p, discard, may_unmap);
		pos += p.len;
		left -= p.len;
	}
	return ret;
}

static int prld_handle(struct prld_device *dev, struct prld_cmd *cmd)
{
	struct request *rq = cmd->rq;
	bool ro = dev->flags & PRLD_CONFIG_READ_ONLY;
	int ret;

	if (op_is_write(req_op(rq)) && req_op(rq) != REQ_OP_FLUSH && ro)
		return -EROFS;	/* the block layer only warns about these */
	switch (req_op(rq)) {
	case REQ_OP_FLUSH:
		return prld_flush(dev);
	case REQ_OP_READ:
		return prld_rw(dev, cmd, false);
	case REQ_OP_WRITE:
		ret = prld_rw(dev, cmd, true);
		if (!ret && (rq->cmd_flags & REQ_FUA))
			ret = prld_flush(dev);
		return ret;
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:
		return prld_discard(dev, rq);
	default:
		return -EOPNOTSUPP;
	}
}

/* Both paths end here, the async one through blk_mq_complete_request(). */
static void prld_complete_rq(struct request *rq)
{
	struct prld_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct prld_device *dev = rq->q->queuedata;

	if (cmd->aios != &cmd->aio)
		kfree(cmd->aios);
	cmd->aios = NULL;
	kfree(cmd->bvec);
	cmd->bvec = NULL;
	if (cmd->error && req_op(rq) == REQ_OP_FLUSH)
		pr_err_ratelimited("%s: FLUSH failed: %d\n",
				   dev->disk->disk_name, cmd->error);
	else if (cmd->error)
		pr_err_ratelimited("%s: %s of %u bytes at sector %llu failed: %d\n",
				   dev->disk->disk_name, blk_op_str(req_op(rq)),
				   blk_rq_bytes(rq), (u64)blk_rq_pos(rq),
				   cmd->error);
	blk_mq_end_request(rq, errno_to_blk_status(cmd->error));
}

/* What a worker takes on for one request and gives back after. */
struct prld_ctx {
	struct mem_cgroup *old_memcg;
	unsigned int old_noio;
	bool memcg_set;
	bool throttle_set;
};

static void prld_ctx_enter(struct prld_cmd *cmd, struct prld_ctx *ctx)
{
	ctx->old_noio = memalloc_noio_save();
	/* Workqueue threads are shared: add only what is not set, undo it. */
	ctx->throttle_set = !(current->flags & PF_LOCAL_THROTTLE);
	current->flags |= PF_LOCAL_THROTTLE;
	if (cmd->blkcg_css)
		kthread_associate_blkcg(cmd->blkcg_css);
	ctx->memcg_set = cmd->memcg_css;
	if (ctx->memcg_set)
		ctx->old_memcg = set_active_memcg(mem_cgroup_from_css(cmd->memcg_css));
}

static void prld_ctx_leave(struct prld_ctx *ctx)
{
	if (ctx->memcg_set)
		set_active_memcg(ctx->old_memcg);
	kthread_associate_blkcg(NULL);
	if (ctx->throttle_set)
		current->flags &= ~PF_LOCAL_THROTTLE;
	memalloc_noio_restore(ctx->old_noio);
}

/* The reference prld_take_cgroups() took, once the request is started. */
static void prld_put_cgroups(struct cgroup_subsys_state *memcg_css)
{
	if (memcg_css)
		css_put(memcg_css);
}

/*
 * The synchronous path: requests prld_may_aio() refused and those the
 * submit worker handed on.
 */
static void prld_work(struct work_struct *work)
{
	struct prld_cmd *cmd = container_of(work, struct prld_cmd, work);
	struct prld_device *dev = cmd->rq->q->queuedata;
	struct cgroup_subsys_state *memcg_css = cmd->memcg_css;
	struct prld_ctx ctx;

	prld_ctx_enter(cmd, &ctx);
	cmd->error = prld_handle(dev, cmd);
	prld_complete_rq(cmd->rq);
	prld_ctx_leave(&ctx);
	prld_put_cgroups(memcg_css);
}

/*
 * Drains the submit list in arrival order.  A request that turns out to
 * need the synchronous path (a write into a cluster the top does not
 * hold) moves to a work item of its own rather than stall the batch.
 */
void prld_submit_work(struct work_struct *work)
{
	struct prld_device *dev = container_of(work, struct prld_device,
					       submit_work);
	struct llist_node *batch = llist_del_all(&dev->submit_list);
	struct cgroup_subsys_state *memcg_css;
	struct prld_cmd *cmd, *next;
	struct blk_plug plug;
	struct prld_ctx ctx;
	bool started;

	blk_start_plug(&plug);
	/* Safe: a submitted request may complete and be reused at once. */
	llist_for_each_entry_safe(cmd, next, llist_reverse_order(batch),
				  submit_node) {
		memcg_css = cmd->memcg_css;
		prld_ctx_enter(cmd, &ctx);
		started = prld_try_aio(dev, cmd);
		prld_ctx_leave(&ctx);
		if (started)
			prld_put_cgroups(memcg_css);
		else	/* prld_work() takes it on again, and puts the css. */
			queue_work(dev->wq, &cmd->work);
	}
	blk_finish_plug(&plug);
}

/* The issuer's cgroups, as loop's queue_rq records them. */
static void prld_take_cgroups(struct prld_cmd *cmd, struct request *rq)
{
	cmd->blkcg_css = NULL;
	cmd->memcg_css = NULL;
#ifdef CONFIG_BLK_CGROUP
	if (rq->bio && rq->bio->bi_blkg) {
		cmd->blkcg_css = bio_blkcg_css(rq->bio);
#ifdef CONFIG_MEMCG
		cmd->memcg_css = cgroup_get_e_css(cmd->blkcg_css->cgroup,
						  &memory_cgrp_subsys);
#endif
	}
#endif
}

static blk_status_t prld_queue_rq(struct blk_mq_hw_ctx *hctx,
				  const struct blk_mq_queue_data *bd)
{
	struct prld_cmd *cmd = blk_mq_rq_to_pdu(bd->rq);
	struct prld_device *dev = bd->rq->q->queuedata;
	/* Pairs with smp_store_release() in prld_bind(): the chain is set. */
	enum prld_state state = smp_load_acquire(&dev->state);

	blk_mq_start_request(bd->rq);
	/* RUNDOWN still serves the last opener's I/O until its close. */
	if (state != PRLD_BOUND && state != PRLD_RUNDOWN)
		return BLK_STS_IOERR;
	cmd->rq = bd->rq;
	prld_take_cgroups(cmd, bd->rq);
	if (!prld_may_aio(dev, bd->rq))
		queue_work(dev->wq, &cmd->work);
	else if (llist_add(&cmd->submit_node, &dev->submit_list))
		/* The list was empty: no pass of submit_work will see it. */
		queue_work(dev->wq, &dev->submit_work);
	return BLK_STS_OK;
}

static int prld_init_request(struct blk_mq_tag_set *set, struct request *rq,
			     unsigned int hctx_idx, unsigned int numa_node)
{
	struct prld_cmd *cmd = blk_mq_rq_to_pdu(rq);

	INIT_WORK(&cmd->work, prld_work);
	cmd->bvec = NULL;
	cmd->aios = NULL;
	return 0;
}

const struct blk_mq_ops prld_mq_ops = {
	.queue_rq = prld_queue_rq,
	.complete = prld_complete_rq,
	.init_request = prld_init_request,
};
