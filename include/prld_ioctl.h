/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note OR MIT */
/*
 * prld_ioctl.h - the user/kernel interface of the prld block driver,
 * shared unchanged by driver/ and prldctl.
 *
 * Control device /dev/prld-control (as loop-control):
 *   PRLD_CTL_ADD(index or -1)  -> index of the new /dev/prldN
 *   PRLD_CTL_REMOVE(index)     -> 0, -EBUSY while bound or open
 *   PRLD_CTL_GET_FREE          -> index of an unbound device (made if none)
 *
 * Block device /dev/prldN:
 *   PRLD_CONFIGURE   attach a chain of image files in one step
 *   PRLD_DETACH      detach (or, with PRLD_DETACH_DEFERRED, at last close)
 *   PRLD_GET_STATUS  geometry, flags, chain depth, allocation
 *   PRLD_GET_LAYER   one layer's file, format and allocation
 *   PRLD_FLUSH       make every completed write durable
 *   PRLD_GET_MAP     the blocks map, read from the in-kernel BAT
 *   PRLD_PUSH_TOP    snapshot: a new empty delta becomes the writable top,
 *                    the old top is closed cleanly and becomes read-only
 *   PRLD_REVERT      switch to a snapshot: the whole chain is replaced by
 *                    one ending in a new empty delta; only while nobody
 *                    else has the device open (-EBUSY otherwise)
 *   PRLD_RESIZE      grow: the top's header and BAT grow, capacity follows
 *   PRLD_MERGE_COPY  online snapshot delete, the copy: the top takes the
 *                    clusters of the layer below it that it lacks
 *   PRLD_MERGE_DROP  online snapshot delete, the switch: a layer whose
 *                    child holds all its clusters leaves the chain
 *
 * Every structure starts with its size (the ABI version) and ends with
 * reserved space: the kernel rejects unknown flags and any non-zero
 * reserved or padding field with -EINVAL, so they can gain meaning later.
 */
#ifndef PRLD_IOCTL_H
#define PRLD_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define PRLD_CONTROL_NAME	"prld-control"
#define PRLD_DEVICE_PREFIX	"prld"
#define PRLD_IOCTL_MAGIC	0xDC
#define PRLD_MAX_LAYERS		255	/* owner cache holds 1 + index in a u8 */
#define PRLD_PATH_MAX		1024

/* PRLD_CONFIGURE flags */
#define PRLD_CONFIG_READ_ONLY	(1U << 0)	/* no writes to the top */
#define PRLD_CONFIG_DIRECT_IO	(1U << 1)	/* O_DIRECT-style file I/O */
#define PRLD_CONFIG_AUTOCLEAR	(1U << 2)	/* detach at last close */
#define PRLD_CONFIG_NO_PARTSCAN	(1U << 3)	/* don't scan partitions */
/*
 * Layer 0 is a plain (raw) image of plain_sectors: no header, no BAT,
 * cluster i at byte i * cluster.  The file must hold that many sectors.
 * Only the base may be plain (a ploop raw-base disk); the layers above
 * are expanding images whose geometry gives the cluster size (1 MiB for a
 * disk that is the plain image alone).
 */
#define PRLD_CONFIG_PLAIN_BASE	(1U << 4)
/*
 * A split disk (Parallels Desktop's "split into 2 GB pieces"): several
 * storages, each with its own chain, one after the other.  fds holds the
 * chains in disk order, each base first; part_layers the number of layers
 * of each.  A part's size is its top's; the disk is their sum.  Not with
 * PLAIN_BASE; snapshot, revert and resize refuse a split device.
 */
#define PRLD_CONFIG_SPLIT	(1U << 5)
#define PRLD_CONFIG_FLAGS_ALL	0x3fU
#define PRLD_MAX_PARTS		4096	/* 2 GiB pieces of an 8 TiB disk */
#define PRLD_MAX_FDS		4096	/* the layers of every part */

struct prld_config {
	__u32 size;		/* sizeof(struct prld_config) */
	__u32 flags;		/* PRLD_CONFIG_* */
	__u64 offset;		/* bytes skipped at the start; sector multiple */
	__u64 fds;		/* user pointer to __s32[nr_layers], base first */
	__u32 nr_layers;	/* 1..PRLD_MAX_LAYERS; SPLIT: ..PRLD_MAX_FDS */
	__u32 pad;		/* must be zero */
	__u64 plain_sectors;	/* PLAIN_BASE: layer 0's size; else zero */
	__u64 part_layers;	/* SPLIT: user pointer to __u32[nr_parts] */
	__u32 nr_parts;		/* SPLIT: 2..PRLD_MAX_PARTS; else zero */
	__u32 pad2;		/* must be zero */
	__u64 reserved[1];	/* must be zero */
};

/* PRLD_DETACH argument */
#define PRLD_DETACH_DEFERRED	(1U << 0)	/* detach at last close */

/* PRLD_GET_STATUS: flags also carry the PRLD_CONFIG_* in effect */
#define PRLD_STATUS_DIRTY	(1U << 16)	/* in-use flag set by us */

struct prld_device_status {
	__u32 size;		/* in: sizeof(struct prld_device_status) */
	__u32 index;		/* N of /dev/prldN */
	__u32 flags;		/* PRLD_CONFIG_* | PRLD_STATUS_* */
	__u32 nr_layers;	/* chain depth */
	__u64 offset;		/* bytes */
	__u64 virtual_sectors;	/* the image's size */
	__u64 device_sectors;	/* capacity: virtual size less offset */
	__u32 cluster_sectors;
	__u32 pad;
	__u64 clusters;		/* BAT entries */
	__u64 allocated;	/* clusters mapped in any layer */
	__u64 reserved[4];
};

/* PRLD_GET_LAYER flags */
#define PRLD_LAYER_WRITABLE	(1U << 0)
#define PRLD_LAYER_V1		(1U << 1)	/* sector-unit BAT */
#define PRLD_LAYER_RAW		(1U << 2)	/* a plain (raw) image */

struct prld_layer_status {
	__u32 size;		/* in: sizeof(struct prld_layer_status) */
	__u32 layer;		/* in: 0 = base (of the first part) */
	__u32 flags;		/* PRLD_LAYER_* */
	__u32 pad;
	__u64 allocated;	/* clusters mapped in this layer */
	__u64 file_size;	/* bytes */
	__u32 part;		/* the part (storage) it belongs to */
	__u32 pad2;
	__u64 part_start;	/* that part's first sector in the disk */
	__u64 reserved[2];
	char path[PRLD_PATH_MAX];	/* backing file, as d_path() sees it */
};

/*
 * PRLD_GET_MAP: bits of clusters held by layers (from_layer, to_layer].
 * A split device answers for its whole chains only (PRLD_MAP_FROM_NONE
 * to its last layer): each part's bits follow the previous part's.
 */
#define PRLD_MAP_FROM_NONE	0xffffffffU	/* from below the base */

struct prld_map_request {
	__u32 size;		/* in: sizeof(struct prld_map_request) */
	__u32 from_layer;	/* in: exclusive; PRLD_MAP_FROM_NONE = all */
	__u32 to_layer;		/* in: inclusive, < nr_layers */
	__u32 pad;
	__u64 first_bit;	/* in: cluster of bit 0; multiple of 8 */
	__u64 bits;		/* in: user pointer to the buffer */
	__u64 buf_bytes;	/* in: buffer size */
	__u64 granularity;	/* out: bytes per bit */
	__u64 nbits;		/* out: significant bits of the whole map */
	__u64 reserved[4];
};

/* PRLD_PUSH_TOP: the new top, an empty image of the same geometry */
struct prld_push_top {
	__u32 size;		/* sizeof(struct prld_push_top) */
	__u32 flags;		/* none defined: must be zero */
	__s32 fd;		/* the new top, opened read-write */
	__u32 pad;		/* must be zero */
	__u64 reserved[4];	/* must be zero */
};

/*
 * PRLD_REVERT: the device's new chain, base first, its top an empty image
 * (opened read-write).  Same limits as PRLD_CONFIGURE; PLAIN_BASE as there.
 */
#define PRLD_REVERT_PLAIN_BASE	(1U << 0)

struct prld_revert {
	__u32 size;		/* sizeof(struct prld_revert) */
	__u32 flags;		/* PRLD_REVERT_* */
	__u64 fds;		/* user pointer to __s32[nr_layers], base first */
	__u32 nr_layers;	/* 1..PRLD_MAX_LAYERS */
	__u32 pad;		/* must be zero */
	__u64 plain_sectors;	/* PLAIN_BASE: layer 0's size; else zero */
	__u64 reserved[3];	/* must be zero */
};

/*
 * PRLD_RESIZE: the new virtual size, rounded up to the cluster; smaller
 * than now is -EINVAL (shrinking would drop data).  Lower layers keep
 * their size: beyond it they map nothing.
 */
struct prld_resize {
	__u32 size;		/* sizeof(struct prld_resize) */
	__u32 flags;		/* none defined: must be zero */
	__u64 new_sectors;	/* of the image, before the offset */
	__u64 reserved[4];	/* must be zero */
};

/*
 * Online snapshot delete: layer L gives its clusters to its child L + 1
 * (the child takes every cluster L holds that it lacks, so no state of
 * the disk changes), then leaves the chain.
 *
 * PRLD_MERGE_COPY (L + 1 is the top): every cluster in [first, first +
 * count) that L holds and the top does not is copied into the top through
 * the write path's claims, so a concurrent write of the cluster either
 * waits for the copy or makes the copy skip it; the copy is durable before
 * the top's BAT entry names it.  out: copied.
 *
 * PRLD_MERGE_DROP: L leaves the chain under a frozen queue.  If L + 1 is
 * the top, the clusters of L it still lacks (discarded meanwhile) are
 * copied first and the top's BAT is made durable.  Otherwise userspace has
 * copied L's clusters into L + 1's file; the kernel reads L + 1 again and
 * refuses (-EINVAL) unless it maps every cluster it mapped before, at the
 * same place, and every cluster L holds.  first and count must be zero.
 *
 * A plain (raw) L holds the clusters its file has data in (SEEK_DATA).
 * fd is any open descriptor of L's image file: the kernel checks that L
 * is that file, so a chain changed meanwhile is -EINVAL, not a wrong drop.
 */
#define PRLD_MERGE_MAX_COUNT	(1U << 20)	/* clusters per COPY call */

struct prld_merge {
	__u32 size;		/* sizeof(struct prld_merge) */
	__u32 flags;		/* none defined: must be zero */
	__u32 layer;		/* L: 0 (the base) .. nr_layers - 2 */
	__s32 fd;		/* L's image file */
	__u64 first;		/* COPY: first cluster looked at */
	__u64 count;		/* COPY: 1..PRLD_MERGE_MAX_COUNT clusters */
	__u64 copied;		/* out: clusters copied; in: zero */
	__u64 reserved[4];	/* must be zero */
};

#define PRLD_CTL_ADD		_IO(PRLD_IOCTL_MAGIC, 0x00)
#define PRLD_CTL_REMOVE		_IO(PRLD_IOCTL_MAGIC, 0x01)
#define PRLD_CTL_GET_FREE	_IO(PRLD_IOCTL_MAGIC, 0x02)

#define PRLD_CONFIGURE		_IOW(PRLD_IOCTL_MAGIC, 0x10, struct prld_config)
#define PRLD_DETACH		_IO(PRLD_IOCTL_MAGIC, 0x11)
#define PRLD_GET_STATUS		_IOWR(PRLD_IOCTL_MAGIC, 0x12, struct prld_device_status)
#define PRLD_GET_LAYER		_IOWR(PRLD_IOCTL_MAGIC, 0x13, \
				      struct prld_layer_status)
#define PRLD_FLUSH		_IO(PRLD_IOCTL_MAGIC, 0x14)
#define PRLD_GET_MAP		_IOWR(PRLD_IOCTL_MAGIC, 0x15, \
				      struct prld_map_request)
#define PRLD_PUSH_TOP		_IOW(PRLD_IOCTL_MAGIC, 0x16, \
				     struct prld_push_top)
#define PRLD_REVERT		_IOW(PRLD_IOCTL_MAGIC, 0x17, struct prld_revert)
#define PRLD_RESIZE		_IOW(PRLD_IOCTL_MAGIC, 0x18, struct prld_resize)
#define PRLD_MERGE_COPY		_IOWR(PRLD_IOCTL_MAGIC, 0x19, struct prld_merge)
#define PRLD_MERGE_DROP		_IOWR(PRLD_IOCTL_MAGIC, 0x1a, struct prld_merge)

#endif /* PRLD_IOCTL_H */
