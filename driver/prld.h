/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prld.h - internal interfaces of the prld block driver.
 *
 *   prld_main.c    module init/exit, /dev/prld-control
 *   prld_dev.c     device lifetime: add, remove, open/release, free_disk
 *   prld_ioctl.c   block device ioctls: configure, detach, status, map
 *   prld_files.c   what an image file must be; which device uses which
 *   prld_parts.c   a disk as parts (a split disk's storages), each a chain
 *   prld_attach.c  reading and validating images from their files
 *   prld_chain.c   the in-memory map: owner per cluster, allocation
 *                  bookkeeping, bitmaps (pure logic, no block layer)
 *   prld_pages.c   the sparse leaf arrays that map lives in
 *   prld_io.c      the request path, synchronous part and worker context
 *   prld_aio.c     the request path, async direct I/O part
 *   prld_alloc.c   new clusters for writes, unmapping for discards
 *   prld_snapshot.c  PRLD_PUSH_TOP: a new top under a frozen queue
 *   prld_revert.c  PRLD_REVERT: a whole new chain under a frozen queue
 *   prld_resize.c  PRLD_RESIZE: the top's header and BAT grow
 *   prld_merge.c   PRLD_MERGE_COPY/DROP: a snapshot deleted while bound
 *   prld_sysfs.c   /sys/block/prldN/prld/: the chain and flags, as loop's
 */
#ifndef PRLD_H
#define PRLD_H

#include <linux/blk-mq.h>
#include <linux/fs.h>
#include <linux/llist.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "prld_compat.h"
#include "prld_format.h"
#include "prld_ioctl.h"
#include "prld_pages.h"

#define PRLD_PART_SHIFT		4	/* 15 partitions per device */
#define PRLD_QUEUE_DEPTH	128
/*
 * Each request allocates one cluster at a time: a claim per request; an
 * online merge's copy claims a batch of its own beside them.
 */
#define PRLD_MERGE_BATCH	32
#define PRLD_MAX_CLAIMS		(PRLD_QUEUE_DEPTH + PRLD_MERGE_BATCH)

/*
 * A BAT of 2^28 entries is 1 GiB of memory and maps 256 TiB at 1 MiB
 * clusters; anything larger is refused rather than left to the allocator.
 */
#define PRLD_MAX_BAT_ENTRIES	(1U << 28)

/* Device lifetime, as loop's: only BOUND devices do I/O. */
enum prld_state {
	PRLD_UNBOUND,
	PRLD_BOUND,
	PRLD_RUNDOWN,		/* detached at the last close; still serves I/O */
	PRLD_DELETING,		/* being removed */
};

/* One image file of the chain. */
struct prld_layer {
	struct file *file;
	struct prld_geom geom;
	struct prld_pages bat;	/* native-endian copy, geom.bat_entries */
	unsigned long *dirty;	/* writable top: leaves of bat not written */
	/*
	 * Writable top: a second open file of it for the driver's own
	 * ordering syncs.  A write-back error is reported once per open
	 * file; syncing through this one never takes an error away from
	 * the next FLUSH, which syncs through @file.
	 */
	struct file *sync_file;
	u64 allocated;		/* non-zero entries */
	/*
	 * Writable top: below this byte offset the file's space is durable
	 * (mapped clusters, or fresh space made durable by prld_reserve()).
	 * Not i_size: a failed sync leaves i_size past what is durable.
	 */
	u64 durable_end;
	bool small_steps;	/* its filesystem ran out: no preallocation */
	bool writable;		/* only ever the top */
	/*
	 * A raw image (the base only): no header, no BAT; cluster i lies at
	 * byte i * cluster, geom.nb_sectors is its size, geom.bat_entries
	 * the clusters it covers (the last one may be partial).
	 */
	bool plain;
	/*
	 * Where the layer's data ends: a plain image's size; a read-only
	 * layer's file size (a torn last cluster ends early); U64_MAX for
	 * the top, whose file grows.  Reads past it return zeros.
	 */
	u64 data_end;
};

/*
 * The chain and its map.  A cluster is the top's if the top's BAT maps
 * it, else owner's: 1 + the index of the highest lower layer that maps
 * it (0: none), so resolving costs the same whatever the depth.  Only the
 * top changes while bound, always under alloc_lock; the owner cache only
 * under a frozen queue.  The top is the largest layer: the disk's size is
 * its size.
 */
struct prld_chain {
	unsigned int nr_layers;
	struct prld_layer *layers;	/* base first */
	struct prld_pages owner;	/* u8 per cluster, lower layers */
	u32 clusters;
	u32 cluster_sectors;
	u64 cluster_bytes;
	u64 alloc_next;			/* byte offset of the next new cluster */
	u64 allocated;			/* clusters mapped in any layer */
	u32 plain_clusters;		/* held by a plain base; 0: none */
	/* Where the chain's part of the disk lies (a split disk has many). */
	u64 start;			/* byte offset in the disk */
	u64 bytes;			/* its size: its top's */
};

/* Bytes of data @l's file holds (prld_layer.data_end). */
static inline u64 prld_layer_end(const struct prld_layer *l)
{
	return l->data_end;
}

/* The top layer of @chain: the one that is written. */
static inline struct prld_layer *prld_chain_top(const struct prld_chain *chain)
{
	return &chain->layers[chain->nr_layers - 1];
}

/* @l's BAT entry for cluster @c (0: unmapped, also past @l's end). */
static inline u32 prld_layer_entry(const struct prld_layer *l, u32 c)
{
	return prld_pages_get32(&l->bat, c);
}

struct prld_device {
	int index;
	enum prld_state state;
	/*
	 * State and configuration.  Held across this device's own image I/O
	 * in configure, snapshot, revert and resize (as loop's lo_mutex),
	 * never across another device's: waits for it are killable.
	 */
	struct mutex mutex;
	bool idr_visible;		/* under prld_ctl_mutex */
	/*
	 * PRLD_CONFIG_* but AUTOCLEAR: fixed while bound (the request path
	 * reads it without a lock), changed only under a frozen queue.
	 */
	unsigned int flags;
	bool autoclear;			/* detach at last close */
	bool dirty;			/* in-use flag written by us */
	u64 offset;			/* policy, bytes */
	/*
	 * The disk's chains, one per storage of a split disk (in disk
	 * order), else one.  Snapshot, revert and resize take one only.
	 */
	struct prld_chain *parts;
	unsigned int nr_parts;
	struct mutex alloc_lock;	/* new clusters, the map's counters */
	struct mutex flush_lock;	/* one BAT writeback + fsync at a time */
	bool wrote;			/* something was allocated */
	spinlock_t claim_lock;		/* claims, nr_claims */
	u64 claims[PRLD_MAX_CLAIMS];	/* prld_claim_key()s being allocated */
	unsigned int nr_claims;
	wait_queue_head_t claim_wq;	/* a claim ended */
	struct workqueue_struct *wq;
	struct llist_head submit_list;	/* requests for submit_work */
	struct work_struct submit_work;	/* starts async I/O in order */
	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;
};

/* One piece of a request that lies inside a single cluster. */
struct prld_piece {
	struct prld_chain *chain;	/* of the part it lies in */
	unsigned int part;		/* that part's index */
	u32 cluster;			/* in the part */
	u64 in_cluster;		/* byte offset inside the cluster */
	size_t len;
	u16 ioprio;		/* the request's, for the file I/O */
};

/* One async direct I/O piece of a request. */
struct prld_aio {
	struct kiocb iocb;
	struct prld_cmd *cmd;
	size_t len;
	bool write;		/* holds freeze protection until done */
};

/* Per request, in the blk-mq PDU. */
struct prld_cmd {
	struct work_struct work;
	struct llist_node submit_node;	/* on the device's submit_list */
	struct request *rq;
	struct bio_vec *bvec;		/* allocated for multi-bio requests */
	struct prld_aio *aios;		/* async pieces, one per cluster */
	struct prld_aio aio;		/* aios of a one-cluster request */
	atomic_t pending;		/* pieces in flight + the submitter */
	int error;			/* first error of any piece */
	/* The issuer's cgroups, taken on by the worker (as loop does). */
	struct cgroup_subsys_state *blkcg_css;
	struct cgroup_subsys_state *memcg_css;	/* a reference, put at the end */
};

/* prld_main.c */
extern struct mutex prld_ctl_mutex;
extern struct idr prld_index_idr;
extern int prld_major;

/* prld_dev.c */
int prld_add(int index);
int prld_remove(int index);
int prld_get_free(void);
struct prld_device *prld_disk_device(struct gendisk *disk);
void prld_remove_all(void);
void prld_set_partscan(struct prld_device *dev);
void prld_fence(struct prld_device *dev, int err);
struct prld_chain *prld_sole_chain(struct prld_device *dev);

/* prld_ioctl.c */
void prld_apply_limits(struct prld_device *dev);
int prld_ioctl(struct block_device *bdev, PRLD_OPEN_MODE_T mode,
	       unsigned int cmd, unsigned long arg);

/* prld_files.c */
int prld_check_file(struct file *file, unsigned int index, bool writable,
		    bool direct);
int prld_take_files(struct prld_chain *chain, u64 user_fds,
		    unsigned int nr_layers, bool ro);
int prld_claim_layers(struct prld_device *dev, const struct prld_layer *layers,
		      unsigned int nr, unsigned int first_index);
void prld_unclaim_layers(struct prld_device *dev,
			 const struct prld_layer *layers, unsigned int nr);
void prld_claim_set_readonly(struct prld_device *dev, struct file *file);
void prld_lock_downgrade(struct file *file);

/* prld_parts.c */
int prld_parts_take(const struct prld_config *cfg, struct prld_chain **parts,
		    unsigned int *nr);
void prld_parts_release(struct prld_chain *parts, unsigned int nr);
int prld_parts_build(struct prld_chain *parts, unsigned int nr,
		     unsigned int flags);
int prld_parts_claim(struct prld_device *dev, const struct prld_chain *parts,
		     unsigned int nr);
u64 prld_parts_bytes(const struct prld_chain *parts, unsigned int nr);
void prld_parts_totals(const struct prld_device *dev, u32 *layers,
		       u64 *clusters, u64 *allocated);
const struct prld_layer *prld_parts_layer(const struct prld_device *dev,
					  u32 index, unsigned int *part);
void prld_parts_map_bits(const struct prld_device *dev, u64 first_bit,
			 u8 *buf, u64 nbytes);

/* prld_sysfs.c: the "prld" group of every disk, given to device_add_disk() */
extern const struct attribute_group *prld_attr_groups[];

/* prld_revert.c */
int prld_revert(struct prld_device *dev, const void __user *arg);

/* prld_resize.c */
int prld_resize(struct prld_device *dev, const void __user *arg);

/* prld_snapshot.c */
int prld_push_top(struct prld_device *dev, const void __user *arg);

/* prld_merge.c */
int prld_merge_copy(struct prld_device *dev, void __user *arg);
int prld_merge_drop(struct prld_device *dev, void __user *arg);

/* prld_attach.c */
int prld_layer_load(struct prld_layer *layer, unsigned int index,
		    unsigned int flags);
int prld_build_chain(struct prld_chain *chain, unsigned int flags);
void prld_chain_set_plain(struct prld_chain *chain, u64 plain_sectors);
void prld_layer_release(struct prld_layer *layer);
void prld_chain_release(struct prld_chain *chain);
int prld_mark_in_use(struct prld_layer *top, u64 alloc_next);
int prld_finish_top(struct prld_chain *chain, bool wrote);
int prld_bat_sync(struct prld_layer *top, bool flush);
errseq_t prld_sync_mark(const struct prld_layer *top);
int prld_sync_range(struct prld_layer *top, loff_t start, loff_t end,
		    int datasync, errseq_t since);
int prld_sync_top(struct prld_layer *top, int datasync, errseq_t since);
int prld_file_read(struct file *file, void *buf, size_t len, loff_t pos);
int prld_file_write(struct file *file, const void *buf, size_t len,
		    loff_t pos);
int prld_truncate(struct file *file, loff_t len);

/* prld_chain.c (pure logic: no block layer, KUnit-testable) */
int prld_chain_check_layers(const struct prld_chain *chain);
int prld_chain_build(struct prld_chain *chain);
int prld_chain_owner_build(struct prld_chain *chain);
void prld_chain_recount(struct prld_chain *chain);
int prld_layer_covers(const struct prld_layer *now,
		      const struct prld_layer *was,
		      const struct prld_layer *gone, u32 *bad);
void prld_chain_free(struct prld_chain *chain);
u64 prld_chain_alloc_start(const struct prld_layer *top);
bool prld_chain_resolve(const struct prld_chain *chain, u32 cluster,
			unsigned int *layer, u64 *file_off);
int prld_chain_prepare(struct prld_chain *chain, u32 cluster, gfp_t gfp);
void prld_chain_commit(struct prld_chain *chain, u32 cluster, u64 file_off);
void prld_chain_uncommit(struct prld_chain *chain, u32 cluster);
void prld_chain_grow(struct prld_chain *chain, void ***dir,
		     unsigned long **dirty, u32 entries);
int prld_chain_owner_reserve(struct prld_chain *chain, unsigned int index,
			     gfp_t gfp);
void prld_chain_owner_record(struct prld_chain *chain, unsigned int index);
void prld_chain_map_bits(const struct prld_chain *chain, u32 from, u32 to,
			 u64 first_bit, u8 *buf, u64 nbytes);
u32 prld_layer_next(const struct prld_layer *l, u32 from);
u64 prld_layer_count(const struct prld_layer *layer);

/* prld_io.c */
extern const struct blk_mq_ops prld_mq_ops;
void prld_submit_work(struct work_struct *work);
int prld_flush(struct prld_device *dev);
void prld_piece_at(struct prld_device *dev, u64 pos, size_t left,
		   struct prld_piece *p);
u64 prld_rq_pos(const struct prld_device *dev, const struct request *rq);
int prld_rq_iter(struct prld_cmd *cmd, struct iov_iter *iter, int dir);
int prld_write_piece(struct prld_device *dev, const struct prld_piece *p,
		     struct iov_iter *iter);
int prld_read_piece(struct prld_device *dev, const struct prld_piece *p,
		    struct iov_iter *iter);
int prld_iter_io(struct prld_device *dev, struct file *file,
		 struct iov_iter *iter, const struct prld_piece *p, u64 pos,
		 bool write);

/* prld_aio.c */
bool prld_may_aio(struct prld_device *dev, struct request *rq);
bool prld_try_aio(struct prld_device *dev, struct prld_cmd *cmd);

/* prld_alloc.c */
int prld_claim(struct prld_device *dev, const struct prld_piece *p,
	       u64 *off);
int prld_copy_up(struct prld_device *dev, struct prld_chain *chain,
		 unsigned int layer, u64 src_off, u64 dst_off);
int prld_end_claim(struct prld_device *dev, const struct prld_piece *p,
		   u64 off, int ret);
int prld_alloc_write(struct prld_device *dev, const struct prld_piece *p,
		     struct iov_iter *iter);
int prld_alloc_zeroed(struct prld_device *dev, const struct prld_piece *p,
		      u64 *off);
void prld_unmap_cluster(struct prld_device *dev, const struct prld_piece *p,
			u64 off);

#endif /* PRLD_H */
