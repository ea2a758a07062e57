// SPDX-License-Identifier: GPL-2.0
/*
 * prld_io.c - the request path.
 *
 * ->queue_rq hands each request to the device's workqueue (file I/O may
 * sleep).  Requests that may go out as async direct I/O go to one list
 * that a single work item drains in order, as loop's worker does: one
 * wakeup starts a whole batch, under one plug.  The rest (allocation,
 * FLUSH, FUA, DISCARD, buffered I/O) get a work item each, so a request
 * that sleeps holds up no other.  A request is walked one cluster at a
 * time: each piece is resolved through the in-memory map to a layer and a
 * file offset and read or written there with one kiocb over the request's
 * own pages.
 *
 * Reads and writes into clusters the top already holds take no lock; a
 * write into a cluster the top does not hold allocates one
 * (prld_alloc.c).  FLUSH writes the BAT leaves new clusters changed and
 * fsyncs the top, which makes every completed write durable.
 */
#include <linux/blk-mq.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "prld.h"
#include "prld_fault.h"

static void prld_piece_at(const struct prld_chain *chain, u64 pos,
			  size_t left, struct prld_piece *p)
{
	u64 rem;

	p->cluster = (u32)div64_u64_rem(pos, chain->cluster_bytes, &rem);
	p->in_cluster = rem;
	p->len = min_t(u64, left, chain->cluster_bytes - rem);
}

static ssize_t prld_file_rw(struct prld_device *dev, struct file *file,
			    struct iov_iter *iter, u64 pos, bool write)
{
	struct kiocb kiocb;

	init_sync_kiocb(&kiocb, file);
	kiocb.ki_pos = pos;
	/*
	 * Direct I/O pins the iterator's pages: the request's bvecs, yes; a
	 * kernel buffer (the zeros of prld_zero_by_write()) goes buffered.
	 */
	if ((dev->flags & PRLD_CONFIG_DIRECT_IO) && iov_iter_is_bvec(iter))
		kiocb.ki_flags |= IOCB_DIRECT;
	if (write)
		return vfs_iocb_iter_write(file, &kiocb, iter);
	return vfs_iocb_iter_read(file, &kiocb, iter);
}

/* Move exactly @len bytes of @iter to or from @file at @pos. */
int prld_iter_io(struct prld_device *dev, struct file *file,
			struct iov_iter *iter, size_t len, u64 pos, bool write)
{
	size_t rest = iov_iter_count(iter) - len;
	ssize_t done;

	iov_iter_truncate(iter, len);
	done = prld_file_rw(dev, file, iter, pos, write);
	iov_iter_reexpand(iter, iov_iter_count(iter) + rest);
	if (done < 0)
		return done;
	return done == len ? 0 : -EIO;
}

static int prld_write_piece(struct prld_device *dev, const struct prld_piece *p,
			    struct iov_iter *iter)
{
	struct prld_chain *chain = &dev->chain;
	unsigned int top = chain->nr_layers - 1, layer;
	u64 off;

	if (prld_chain_resolve(chain, p->cluster, &layer, &off) && layer == top)
		return prld_iter_io(dev, chain->layers[top].file, iter, p->len,
				    off + p->in_cluster, true);
	return prld_alloc_write(dev, p, iter);
}

static int prld_read_piece(struct prld_device *dev, const struct prld_piece *p,
			   struct iov_iter *iter)
{
	unsigned int layer;
	u64 off;

	if (!prld_chain_resolve(&dev->chain, p->cluster, &layer, &off))
		return iov_iter_zero(p->len, iter) == p->len ? 0 : -EIO;
	return prld_iter_io(dev, dev->chain.layers[layer].file, iter, p->len,
			    off + p->in_cluster, false);
}

/* An iov_iter over all of @rq's pages (as loop builds one). */
static int prld_rq_iter(struct prld_cmd *cmd, struct iov_iter *iter, int dir)
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
	u64 pos = ((u64)blk_rq_pos(rq) << SECTOR_SHIFT) + dev->offset;
	size_t left = blk_rq_bytes(rq);
	struct prld_piece p;
	struct iov_iter iter;
	int ret;

	ret = prld_rq_iter(cmd, &iter, write ? ITER_SOURCE : ITER_DEST);
	while (!ret && left) {
		prld_piece_at(&dev->chain, pos, left, &p);
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
 * Async direct I/O.  A read, or a write (without FUA) whose every piece
 * lands in a cluster the top already holds, goes out as one async kiocb
 * per piece and the request completes from the last completion, so no
 * worker waits on the disk.  Allocation and FUA need sleeping steps
 * (fsync) after the data, so those requests take the synchronous path.
 */
static bool prld_may_aio(struct prld_device *dev, struct request *rq)
{
	if (!(dev->flags & PRLD_CONFIG_DIRECT_IO) || !blk_rq_bytes(rq))
		return false;
	if (req_op(rq) == REQ_OP_READ)
		return true;
	return req_op(rq) == REQ_OP_WRITE && !(rq->cmd_flags & REQ_FUA) &&
	       !(dev->flags & PRLD_CONFIG_READ_ONLY);
}

/*
 * After prld_may_aio(), in the submit worker: a write also needs every
 * cluster it touches in the top (the map may have changed since
 * ->queue_rq, so this cannot be decided there).
 */
static bool prld_aio_eligible(struct prld_device *dev, struct request *rq)
{
	struct prld_chain *chain = &dev->chain;
	u64 pos = ((u64)blk_rq_pos(rq) << SECTOR_SHIFT) + dev->offset;
	size_t left = blk_rq_bytes(rq);
	unsigned int layer;
	struct prld_piece p;
	u64 off;

	if (req_op(rq) == REQ_OP_READ)
		return true;
	for (; left; pos += p.len, left -= p.len) {
		prld_piece_at(chain, pos, left, &p);
		if (!prld_chain_resolve(chain, p.cluster, &layer, &off) ||
		    layer != chain->nr_layers - 1)
			return false;
	}
	return true;
}

static void prld_aio_put(struct prld_cmd *cmd)
{
	if (atomic_dec_and_test(&cmd->pending))
		blk_mq_complete_request(cmd->rq);
}

static void prld_aio_done(struct kiocb *iocb, long ret)
{
	struct prld_aio *aio = container_of(iocb, struct prld_aio, iocb);

	if (ret != aio->len)
		cmpxchg(&aio->cmd->error, 0, ret < 0 ? (int)ret : -EIO);
	prld_aio_put(aio->cmd);
}

/* Submit one piece from its own copy of the request's iterator. */
static void prld_aio_piece(struct prld_device *dev, struct prld_aio *aio,
			   struct file *file, u64 pos, struct iov_iter *iter)
{
	struct iov_iter piece = *iter;
	bool write = iov_iter_rw(iter) == ITER_SOURCE;
	ssize_t ret;

	iov_iter_truncate(&piece, aio->len);
	aio->iocb.ki_filp = file;
	aio->iocb.ki_pos = pos;
	aio->iocb.ki_flags = IOCB_DIRECT;
	aio->iocb.ki_complete = prld_aio_done;
	atomic_inc(&aio->cmd->pending);
	if (write)
		ret = file->f_op->write_iter(&aio->iocb, &piece);
	else
		ret = file->f_op->read_iter(&aio->iocb, &piece);
	if (ret != -EIOCBQUEUED)
		prld_aio_done(&aio->iocb, ret);
}

static void prld_aio_submit(struct prld_device *dev, struct prld_cmd *cmd)
{
	struct request *rq = cmd->rq;
	u64 pos = ((u64)blk_rq_pos(rq) << SECTOR_SHIFT) + dev->offset;
	size_t left = blk_rq_bytes(rq);
	bool write = req_op(rq) == REQ_OP_WRITE;
	unsigned int layer, i = 0;
	struct iov_iter iter;
	struct prld_piece p;
	u64 off;
	int ret;

	atomic_set(&cmd->pending, 1);	/* the submitter's reference */
	cmd->error = prld_rq_iter(cmd, &iter, write ? ITER_SOURCE : ITER_DEST);
	for (; !READ_ONCE(cmd->error) && left; pos += p.len, left -= p.len, i++) {
		prld_piece_at(&dev->chain, pos, left, &p);
		if (!prld_chain_resolve(&dev->chain, p.cluster, &layer, &off) ||
		    (write && layer != dev->chain.nr_layers - 1)) {
			/*
			 * A hole to read, or a write whose cluster a racing
			 * discard unmapped since prld_aio_eligible(): done
			 * here, synchronously (this is the worker).
			 */
			ret = write ? prld_write_piece(dev, &p, &iter) :
			      iov_iter_zero(p.len, &iter) == p.len ? 0 : -EIO;
			/* Pieces in flight may have failed already. */
			if (ret)
				cmpxchg(&cmd->error, 0, ret);
			continue;
		}
		cmd->aios[i].cmd = cmd;
		cmd->aios[i].len = p.len;
		prld_aio_piece(dev, &cmd->aios[i], dev->chain.layers[layer].file,
			       off + p.in_cluster, &iter);
		iov_iter_advance(&iter, p.len);
	}
	prld_aio_put(cmd);
}

/* Clusters touched by @rq: the most async pieces it can need. */
static unsigned int prld_rq_clusters(struct prld_device *dev,
				     struct request *rq)
{
	u64 first = ((u64)blk_rq_pos(rq) << SECTOR_SHIFT) + dev->offset;
	u64 last = first + blk_rq_bytes(rq) - 1;

	return div64_u64(last, dev->chain.cluster_bytes) -
	       div64_u64(first, dev->chain.cluster_bytes) + 1;
}

/*
 * @cmd passed prld_may_aio(): start it asynchronously if it still
 * qualifies; false: it takes the synchronous path.
 */
static bool prld_try_aio(struct prld_device *dev, struct prld_cmd *cmd)
{
	unsigned int nr;

	if (!prld_aio_eligible(dev, cmd->rq))
		return false;
	nr = prld_rq_clusters(dev, cmd->rq);
	/* Most requests lie in one cluster: no allocation for those. */
	cmd->aios = nr == 1 ? &cmd->aio :
		    kcalloc(nr, sizeof(*cmd->aios), GFP_NOIO);
	if (!cmd->aios)
		return false;
	prld_aio_submit(dev, cmd);
	return true;
}

/*
 * Every write completed before this call becomes durable: the BAT leaves
 * that new clusters changed are written, then the top is synced.  One
 * flush at a time, so a second one cannot find the leaves clean and sync
 * while the first is still writing them.
 */
int prld_flush(struct prld_device *dev)
{
	struct prld_chain *chain = &dev->chain;
	struct prld_layer *top = &chain->layers[chain->nr_layers - 1];
	int ret;

	if (dev->flags & PRLD_CONFIG_READ_ONLY)
		return 0;
	if (prld_should_fail(PRLD_FAULT_FLUSH))
		return -EIO;
	mutex_lock(&dev->flush_lock);
	ret = prld_bat_sync(top, true);
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

static int prld_zero_piece(struct prld_device *dev, const struct prld_piece *p,
			   bool may_unmap)
{
	struct prld_chain *chain = &dev->chain;
	unsigned int top = chain->nr_layers - 1, layer;
	struct file *file = chain->layers[top].file;
	u64 off;
	int ret;

	if (!prld_chain_resolve(chain, p->cluster, &layer, &off))
		return 0;	/* already reads as zeros */
	if (layer != top)
		return prld_zero_by_write(dev, p);
	if (may_unmap && top == 0 && p->len == chain->cluster_bytes) {
		prld_unmap_cluster(dev, p->cluster, off);
		return 0;
	}
	ret = vfs_fallocate(file, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
			    off + p->in_cluster, p->len);
	if (ret == -EOPNOTSUPP)
		ret = prld_zero_by_write(dev, p);
	return ret;
}

/* DISCARD and WRITE_ZEROES: both leave the range reading as zeros. */
static int prld_discard(struct prld_device *dev, struct request *rq)
{
	u64 pos = ((u64)blk_rq_pos(rq) << SECTOR_SHIFT) + dev->offset;
	u64 left = blk_rq_bytes(rq);
	bool may_unmap = !(rq->cmd_flags & REQ_NOUNMAP);
	struct prld_piece p;
	int ret = 0;

	while (!ret && left) {
		prld_piece_at(&dev->chain, pos, left, &p);
		ret = prld_zero_piece(dev, &p, may_unmap);
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
		pr_err_ratelimited("prld%d: FLUSH failed: %d\n", dev->index,
				   cmd->error);
	else if (cmd->error)
		pr_err_ratelimited("prld%d: %s of %u bytes at sector %llu failed: %d\n",
				   dev->index, blk_op_str(req_op(rq)),
				   blk_rq_bytes(rq), (u64)blk_rq_pos(rq),
				   cmd->error);
	blk_mq_end_request(rq, errno_to_blk_status(cmd->error));
}

/*
 * The synchronous path: requests prld_may_aio() refused and those the
 * submit worker handed on.  Every allocation here, the backing files'
 * page cache included, is GFP_NOIO, as in loop's worker: reclaim that
 * waited for writeback to this device would wait for this very worker.
 */
static void prld_work(struct work_struct *work)
{
	struct prld_cmd *cmd = container_of(work, struct prld_cmd, work);
	struct prld_device *dev = cmd->rq->q->queuedata;
	unsigned int noio = memalloc_noio_save();

	cmd->error = prld_handle(dev, cmd);
	prld_complete_rq(cmd->rq);
	memalloc_noio_restore(noio);
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
	unsigned int noio = memalloc_noio_save();
	struct prld_cmd *cmd, *next;
	struct blk_plug plug;

	blk_start_plug(&plug);
	/* Safe: a submitted request may complete and be reused at once. */
	llist_for_each_entry_safe(cmd, next, llist_reverse_order(batch),
				  submit_node) {
		if (!prld_try_aio(dev, cmd))
			queue_work(dev->wq, &cmd->work);
	}
	blk_finish_plug(&plug);
	memalloc_noio_restore(noio);
}

static blk_status_t prld_queue_rq(struct blk_mq_hw_ctx *hctx,
				  const struct blk_mq_queue_data *bd)
{
	struct prld_cmd *cmd = blk_mq_rq_to_pdu(bd->rq);
	struct prld_device *dev = bd->rq->q->queuedata;

	blk_mq_start_request(bd->rq);
	if (READ_ONCE(dev->state) != PRLD_BOUND)
		return BLK_STS_IOERR;
	cmd->rq = bd->rq;
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
