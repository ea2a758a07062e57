// SPDX-License-Identifier: GPL-2.0
/*
 * prld_aio.c - the request path's async direct I/O.
 *
 * A read, or a write (without FUA) whose every piece lands in a cluster
 * the top already holds, goes out as one async kiocb per piece and the
 * request completes from the last completion, so no worker waits on the
 * disk.  Allocation and FUA need sleeping steps (fsync) after the data,
 * so those requests take the synchronous path (prld_io.c).  A write holds
 * its filesystem's freeze protection from submission to completion, as
 * an aio write does (kiocb_start_write()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/fs.h>
#include <linux/math64.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "prld.h"

bool prld_may_aio(struct prld_device *dev, struct request *rq)
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
	u64 pos = prld_rq_pos(dev, rq);
	size_t left = blk_rq_bytes(rq);
	unsigned int layer;
	struct prld_piece p;
	u64 off;

	if (req_op(rq) == REQ_OP_READ)
		return true;
	for (; left; pos += p.len, left -= p.len) {
		prld_piece_at(dev, pos, left, &p);
		if (!prld_chain_resolve(p.chain, p.cluster, &layer, &off) ||
		    layer != p.chain->nr_layers - 1)
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

	if (aio->write)
		kiocb_end_write(iocb);
	if (ret != aio->len)
		cmpxchg(&aio->cmd->error, 0, ret < 0 ? (int)ret : -EIO);
	prld_aio_put(aio->cmd);
}

/* Submit one piece from its own copy of the request's iterator. */
static void prld_aio_piece(struct prld_aio *aio, struct file *file, u64 pos,
			   u16 ioprio, struct iov_iter *iter)
{
	struct iov_iter piece = *iter;
	ssize_t ret;

	iov_iter_truncate(&piece, aio->len);
	aio->write = iov_iter_rw(iter) == ITER_SOURCE;
	aio->iocb.ki_filp = file;
	aio->iocb.ki_pos = pos;
	aio->iocb.ki_flags = IOCB_DIRECT;
	aio->iocb.ki_ioprio = ioprio;
	aio->iocb.ki_complete = prld_aio_done;
	atomic_inc(&aio->cmd->pending);
	if (aio->write) {
		kiocb_start_write(&aio->iocb);
		ret = file->f_op->write_iter(&aio->iocb, &piece);
	} else {
		ret = file->f_op->read_iter(&aio->iocb, &piece);
	}
	if (ret != -EIOCBQUEUED)
		prld_aio_done(&aio->iocb, ret);
}

static void prld_aio_submit(struct prld_device *dev, struct prld_cmd *cmd)
{
	struct request *rq = cmd->rq;
	u64 pos = prld_rq_pos(dev, rq);
	size_t left = blk_rq_bytes(rq);
	bool write = req_op(rq) == REQ_OP_WRITE;
	unsigned int layer, i = 0;
	struct iov_iter iter;
	struct prld_piece p;
	u64 off;
	int ret;

	atomic_set(&cmd->pending, 1);	/* the submitter's reference */
	cmd->error = prld_rq_iter(cmd, &iter, write ? ITER_SOURCE : ITER_DEST);
	p.ioprio = req_get_ioprio(rq);
	for (; !READ_ONCE(cmd->error) && left; pos += p.len, left -= p.len, i++) {
		prld_piece_at(dev, pos, left, &p);
		if (!prld_chain_resolve(p.chain, p.cluster, &layer, &off) ||
		    (write && layer != p.chain->nr_layers - 1) ||
		    off + p.in_cluster + p.len >
		    prld_layer_end(&p.chain->layers[layer])) {
			/*
			 * A hole to read, a read past the end of a plain
			 * base, or a write whose cluster a racing discard
			 * unmapped since prld_aio_eligible(): done here,
			 * synchronously (this is the worker).
			 */
			ret = write ? prld_write_piece(dev, &p, &iter) :
				      prld_read_piece(dev, &p, &iter);
			/* Pieces in flight may have failed already. */
			if (ret)
				cmpxchg(&cmd->error, 0, ret);
			continue;
		}
		cmd->aios[i].cmd = cmd;
		cmd->aios[i].len = p.len;
		prld_aio_piece(&cmd->aios[i], p.chain->layers[layer].file,
			       off + p.in_cluster, p.ioprio, &iter);
		iov_iter_advance(&iter, p.len);
	}
	prld_aio_put(cmd);
}

/* The pieces of @rq: the most async kiocbs it can need. */
static unsigned int prld_rq_pieces(struct prld_device *dev,
				   struct request *rq)
{
	u64 pos = prld_rq_pos(dev, rq);
	size_t left = blk_rq_bytes(rq);
	struct prld_piece p;
	unsigned int n = 0;

	for (; left; pos += p.len, left -= p.len, n++)
		prld_piece_at(dev, pos, left, &p);
	return n;
}

/*
 * @cmd passed prld_may_aio(): start it asynchronously if it still
 * qualifies; false: it takes the synchronous path.
 */
bool prld_try_aio(struct prld_device *dev, struct prld_cmd *cmd)
{
	unsigned int nr;

	if (!prld_aio_eligible(dev, cmd->rq))
		return false;
	nr = prld_rq_pieces(dev, cmd->rq);
	/* Most requests lie in one cluster: no allocation for those. */
	cmd->aios = nr == 1 ? &cmd->aio :
		    kcalloc(nr, sizeof(*cmd->aios), GFP_NOIO);
	if (!cmd->aios)
		return false;
	prld_aio_submit(dev, cmd);
	return true;
}

