/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prld_compat.h - the few block-layer interfaces that differ between the
 * kernels prld supports (Debian's 6.1 and 6.12).  Everything else is
 * written once against the common API.
 */
#ifndef PRLD_COMPAT_H
#define PRLD_COMPAT_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/fs.h>
#include <linux/sched.h>
/* Later kernels moved struct file_lock out of fs.h into filelock.h. */
#ifndef FL_POSIX
#include <linux/filelock.h>
#endif

/*
 * Feature tests rather than version numbers: 6.5 replaced fmode_t by
 * blk_mode_t (and BLK_OPEN_*) in the block_device_operations and dropped
 * the mode from ->release; 6.11 moved queue limits into the queue_limits
 * given to blk_mq_alloc_disk() (with BLK_FEAT_*) and removed the
 * blk_queue_* setters.
 */
#ifdef BLK_OPEN_WRITE
#define PRLD_OPEN_MODE_T	blk_mode_t
#define PRLD_MODE_WRITE(m)	((m) & BLK_OPEN_WRITE)
#define PRLD_OPEN_ARGS		struct gendisk *disk, blk_mode_t mode
#define PRLD_OPEN_DISK		disk
#define PRLD_RELEASE_ARGS	struct gendisk *disk
#else
#define PRLD_OPEN_MODE_T	fmode_t
#define PRLD_MODE_WRITE(m)	((m) & FMODE_WRITE)
#define PRLD_OPEN_ARGS		struct block_device *bdev, fmode_t mode
#define PRLD_OPEN_DISK		(bdev->bd_disk)
#define PRLD_RELEASE_ARGS	struct gendisk *disk, fmode_t mode
#endif

/* The fixed limits every prld queue gets, whatever is attached later. */
struct prld_limits {
	unsigned int max_hw_sectors;
	unsigned int max_discard_sectors;
};

#ifdef BLK_FEAT_WRITE_CACHE
static inline struct gendisk *prld_alloc_disk(struct blk_mq_tag_set *set,
					      const struct prld_limits *pl,
					      void *queuedata)
{
	struct queue_limits lim = {
		.logical_block_size = SECTOR_SIZE,
		.physical_block_size = SECTOR_SIZE,
		.max_hw_sectors = pl->max_hw_sectors,
		.max_hw_discard_sectors = pl->max_discard_sectors,
		.max_write_zeroes_sectors = pl->max_discard_sectors,
		.discard_granularity = SECTOR_SIZE,
		.features = BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA,
	};

	return blk_mq_alloc_disk(set, &lim, queuedata);
}
#else
static inline struct gendisk *prld_alloc_disk(struct blk_mq_tag_set *set,
					      const struct prld_limits *pl,
					      void *queuedata)
{
	struct gendisk *disk = blk_mq_alloc_disk(set, queuedata);

	if (IS_ERR(disk))
		return disk;
	blk_queue_logical_block_size(disk->queue, SECTOR_SIZE);
	blk_queue_physical_block_size(disk->queue, SECTOR_SIZE);
	blk_queue_max_hw_sectors(disk->queue, pl->max_hw_sectors);
	blk_queue_max_discard_sectors(disk->queue, pl->max_discard_sectors);
	blk_queue_max_write_zeroes_sectors(disk->queue,
					   pl->max_discard_sectors);
	disk->queue->limits.discard_granularity = SECTOR_SIZE;
	blk_queue_write_cache(disk->queue, true, true);
	return disk;
}
#endif

/*
 * What a binding decides (prld_bind(), revert): discard in whole
 * clusters, aligned to them through the offset policy, since only whole
 * clusters are unmapped; rotational as the disk under the top's
 * filesystem (not rotational without one), as loop decides.  No I/O runs:
 * the device is unbound, or its queue frozen.
 */
struct prld_binding_limits {
	unsigned int discard_granularity;
	unsigned int discard_alignment;
	bool rotational;
};

#ifdef BLK_FEAT_WRITE_CACHE
static inline int prld_set_binding_limits(struct gendisk *disk,
					  const struct prld_binding_limits *bl)
{
	struct queue_limits lim = queue_limits_start_update(disk->queue);

	lim.discard_granularity = bl->discard_granularity;
	lim.discard_alignment = bl->discard_alignment;
	if (bl->rotational)
		lim.features |= BLK_FEAT_ROTATIONAL;
	else
		lim.features &= ~BLK_FEAT_ROTATIONAL;
	return queue_limits_commit_update(disk->queue, &lim);
}
#else
static inline int prld_set_binding_limits(struct gendisk *disk,
					  const struct prld_binding_limits *bl)
{
	struct request_queue *q = disk->queue;

	q->limits.discard_granularity = bl->discard_granularity;
	q->limits.discard_alignment = bl->discard_alignment;
	if (bl->rotational)
		blk_queue_flag_clear(QUEUE_FLAG_NONROT, q);
	else
		blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	return 0;
}
#endif

/*
 * A lock of @file's own open file description (owner: the file, as
 * flock(2) and F_OFD_SETLK make them).  6.9 moved the owner, type and
 * flags of struct file_lock into its member c (struct file_lock_core),
 * and added for_each_file_lock(), which tells the two apart.
 */
static inline void prld_file_lock_init(struct file_lock *fl, struct file *file,
				       unsigned int flags, unsigned char type)
{
	locks_init_lock(fl);
#ifdef for_each_file_lock	/* 6.9's struct file_lock_core */
	fl->c.flc_flags = flags;
	fl->c.flc_type = type;
	fl->c.flc_owner = file;
	fl->c.flc_pid = current->tgid;
	fl->c.flc_file = file;
#else
	fl->fl_flags = flags;
	fl->fl_type = type;
	fl->fl_owner = file;
	fl->fl_pid = current->tgid;
	fl->fl_file = file;
#endif
	fl->fl_start = 0;
	fl->fl_end = OFFSET_MAX;
}

#endif /* PRLD_COMPAT_H */
