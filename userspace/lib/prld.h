/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libprld - Parallels/ploop virtual disks from userspace.
 *
 * The calls mirror the Virtuozzo SDK's PHT_VIRTUAL_DISK handle:
 *   PrlDisk_CreateDisk_Local   -> prld_create_disk / prld_create_image
 *   PrlDisk_OpenDisk_Local     -> prld_open (flags, policy with an offset)
 *   PrlDisk_GetDiskInfo        -> prld_get_info
 *   PrlDisk_Read / _Write      -> prld_read / prld_write (sectors),
 *                                 prld_pread / prld_pwrite (any byte range)
 *   PrlDisk_FlushCache         -> prld_flush
 *   PrlDisk_GetChangesMap_Local + PrlDiskMap_* -> prld_get_map
 *   PrlDisk_Free               -> prld_close
 *
 * Every call returns 0 or a negative errno.  When @err is not NULL it is
 * filled with a message naming the file and the reason.
 */
#ifndef PRLD_H
#define PRLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PRLD_GUID_LEN 38	/* "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" */
#define PRLD_TOP_GUID "{5fbaabe3-6958-40ff-92a7-860e329aab41}"
#define PRLD_ZERO_GUID "{00000000-0000-0000-0000-000000000000}"
#define PRLD_DESCRIPTOR "DiskDescriptor.xml"

struct prld_err {
	int code;		/* negative errno, 0 if none */
	char msg[1024];
};

/* Open flags, the SDK's values. */
enum {
	PRLD_OPEN_READ = 1,
	PRLD_OPEN_WRITE = 2,
	PRLD_OPEN_READ_LOCK = 4,	/* shared lock: refuse concurrent writers */
	PRLD_OPEN_FAKE = 8,		/* parameters only: no data access */
};

/* How a layer stores its data (the descriptor's <Type>). */
enum prld_layer_kind {
	PRLD_LAYER_EXPANDING = 0,	/* "Compressed": header + BAT */
	PRLD_LAYER_PLAIN = 1,		/* "Plain": raw file, fully mapped */
};

struct prld_create_params {
	uint64_t size_sectors;		/* rounded up to the cluster */
	uint32_t cluster_sectors;	/* 0: 2048 (1 MiB) */
	uint32_t cylinders;		/* all three 0: ploop's CHS rule */
	uint32_t heads;
	uint32_t sectors;
	int fmt;			/* PRLD_FMT_V1 or _V2; 0: V2 */
	bool preallocate;		/* map every cluster, fallocate */
};

/* PrlDiskOpenPolicy_CreateOffset: every access is shifted by @offset. */
struct prld_policy {
	uint64_t offset;		/* bytes */
};

struct prld_layer_info {
	const char *file;		/* path as opened */
	char guid[PRLD_GUID_LEN + 1];	/* "" for a bare image */
	char parent[PRLD_GUID_LEN + 1];
	enum prld_layer_kind kind;
	int fmt;			/* PRLD_FMT_V1/V2; 0 for plain */
	uint32_t cluster_sectors;
	uint64_t nb_sectors;
	uint64_t file_size;
	uint64_t allocated;		/* clusters mapped in this layer */
	uint32_t flags;			/* header flags */
	bool in_use;			/* header in-use flag set */
	bool top;
	bool read_only;			/* readable only (old or torn image) */
	unsigned int storage;		/* piece of a split disk; 0 otherwise */
	uint64_t start_sector;		/* where that piece starts */
};

struct prld_info {
	uint64_t size_sectors;		/* virtual size, before the offset */
	uint64_t visible_bytes;		/* size seen through the policy */
	uint32_t cylinders, heads, sectors;
	uint32_t cluster_sectors;
	uint64_t clusters;		/* BAT entries */
	bool has_descriptor;
	unsigned int nstorages;		/* > 1: a split disk */
	unsigned int nlayers;		/* all pieces' layers */
	const struct prld_layer_info *layers;	/* by piece, base first */
};

/* A changes/blocks map: bit i (LSB first in byte i / 8) = cluster i. */
struct prld_map {
	uint64_t granularity;		/* bytes per bit (cluster size) */
	uint64_t nbits;			/* significant bits */
	uint8_t *bits;			/* (nbits + 7) / 8 bytes */
};

struct prld_disk;

int prld_create_disk(const char *dir, const struct prld_create_params *p,
		     struct prld_err *err);
int prld_create_image(const char *path, const struct prld_create_params *p,
		      struct prld_err *err);

/* @path: a disk directory, a DiskDescriptor.xml, or a bare image file. */
int prld_open(const char *path, unsigned int flags,
	      const struct prld_policy *policy, struct prld_disk **out,
	      struct prld_err *err);
/*
 * prld_open of the state snapshot @guid holds (the chain from the base up
 * to @guid; NULL: the disk as it is), read-only (-EROFS with
 * PRLD_OPEN_WRITE): a frozen state read without reverting, e.g. for a
 * backup while the disk is in use -- a snapshot's files are read-only
 * layers, which readers share with writers of the top.  Its size is the
 * snapshot's own (a disk grown later was smaller then).
 */
int prld_open_snapshot(const char *path, const char *guid,
		       unsigned int flags, const struct prld_policy *policy,
		       struct prld_disk **out, struct prld_err *err);
/* Clean close: data durable, file truncated, in-use flag cleared. */
int prld_close(struct prld_disk *disk, struct prld_err *err);

int prld_get_info(struct prld_disk *disk, struct prld_info *out);

/*
 * Writes into new clusters go in batches (as the kernel driver's): their
 * BAT entries reach the file, after their data is durable, once a batch
 * is full, and at prld_flush() or prld_close(), which make everything
 * durable.  A crash before that leaves such a cluster unmapped (leaked
 * space, which check --repair reclaims), never mapped to other data.
 */
int prld_pread(struct prld_disk *disk, void *buf, size_t len, uint64_t off,
	       struct prld_err *err);
int prld_pwrite(struct prld_disk *disk, const void *buf, size_t len,
		uint64_t off, struct prld_err *err);
int prld_read(struct prld_disk *disk, void *buf, uint32_t nsectors,
	      uint64_t sector, struct prld_err *err);
int prld_write(struct prld_disk *disk, const void *buf, uint32_t nsectors,
	       uint64_t sector, struct prld_err *err);
int prld_flush(struct prld_disk *disk, struct prld_err *err);

/*
 * Clusters held by the layers above @from_guid up to and including
 * @to_guid.  NULL @from_guid: from below the base (every allocated
 * cluster).  NULL @to_guid: up to the top.
 */
int prld_get_map(struct prld_disk *disk, const char *from_guid,
		 const char *to_guid, struct prld_map *out,
		 struct prld_err *err);
void prld_map_free(struct prld_map *map);
/*
 * The clusters of the open disk (or snapshot state) that may hold other
 * than zeros: mapped by a layer, and not a hole of the file that serves
 * them (SEEK_DATA).  Bits past the virtual size are 0.  For copying and
 * exporting: a clear bit reads as zeros, without reading it.
 */
int prld_get_data_map(struct prld_disk *disk, struct prld_map *out,
		      struct prld_err *err);

/* Checker: findings in order; exit status as qemu-img check. */
enum prld_severity {
	PRLD_SEV_NOTE = 0,	/* informational, not counted */
	PRLD_SEV_LEAK = 1,	/* wasted space, no data at risk */
	PRLD_SEV_CORRUPT = 2,	/* data at risk or image unusable */
	PRLD_SEV_FIXED = 3,	/* repaired by --repair */
	PRLD_SEV_UNSUPPORTED = 4,	/* valid, but prld cannot open it */
};

struct prld_finding {
	enum prld_severity severity;
	char file[256];
	char msg[256];
};

struct prld_report {
	unsigned int count;
	struct prld_finding *items;
	unsigned int corrupt, leaks, fixed;	/* counts after repair */
	unsigned int unsupported;
};

int prld_check(const char *path, bool repair, struct prld_report *rep,
	       struct prld_err *err);
/*
 * 0 clean, 2 corrupt, 3 leaks only (qemu-img check's codes); 63 when
 * nothing is corrupt but prld does not support the disk (encrypted,
 * padded, a top it cannot tell): qemu-img's code for "not supported".
 */
#define PRLD_CHECK_UNSUPPORTED 63
int prld_report_exit_status(const struct prld_report *rep);
void prld_report_free(struct prld_report *rep);

/*
 * The kernel driver: attach a disk as /dev/prldN, query and detach it.
 * prld_attach() opens the chain's files (lower layers read-only, shared
 * flock; top exclusive) and hands only their descriptors to the kernel,
 * which reads and validates the images itself.
 */
enum prld_direct_io {
	PRLD_DIO_AUTO = 0,	/* direct I/O where the filesystem allows it */
	PRLD_DIO_ON,
	PRLD_DIO_OFF,
};

struct prld_attach_opts {
	bool read_only;
	uint64_t offset;		/* bytes, multiple of 512 */
	enum prld_direct_io direct_io;
	bool autoclear;			/* detach at last close */
	bool no_partscan;
	/*
	 * Attach the state of this snapshot (GUID; read_only required)
	 * instead of the disk: its files are lower layers of the disk, so
	 * it may sit beside the disk's own device.  NULL: the disk.
	 */
	const char *snapshot;
};

struct prld_dev_layer {
	char path[1024];
	uint64_t allocated;
	uint64_t file_size;
	bool writable;
	bool v1;
};

struct prld_dev_info {
	char device[64];		/* /dev/prldN */
	int index;
	bool read_only, direct_io, autoclear, partscan, dirty;
	/*
	 * allocated, dirty and each layer's allocated and v1 are known
	 * (from the device's ioctls); prld_dev_list gives the rest from
	 * sysfs to callers that may not open the device.
	 */
	bool have_counts;
	uint64_t offset;
	uint64_t virtual_sectors, device_sectors;
	uint32_t cluster_sectors;
	uint64_t clusters, allocated;
	unsigned int nlayers;
	struct prld_dev_layer *layers;	/* base first; prld_dev_info_free */
};

/* @devpath receives "/dev/prldN". */
int prld_attach(const char *path, const struct prld_attach_opts *opts,
		char *devpath, size_t devpath_len, struct prld_err *err);
/*
 * @target: /dev/prldN, or a disk (dir/image) that is attached.  -EBUSY
 * once the device stayed open elsewhere for about a second (a brief
 * opener is waited out); @deferred detaches at the last close instead.
 */
int prld_detach(const char *target, bool deferred, struct prld_err *err);
bool prld_is_device(const char *path);
int prld_dev_get_info(const char *devpath, struct prld_dev_info *out,
		      struct prld_err *err);
/* The device disk @path (dir, descriptor or image) is attached as: 0 and
 * "/dev/prldN" in @dev, -ENXIO when it is not attached, or an error. */
int prld_find_device(const char *path, char *dev, size_t len,
		     struct prld_err *err);
void prld_dev_info_free(struct prld_dev_info *info);
/*
 * Every bound device, from sysfs (/sys/block/prldN/prld/), with the
 * counts added where the caller may open the device (have_counts);
 * *count entries, free each and the array.
 */
int prld_dev_list(struct prld_dev_info **out, unsigned int *count,
		  struct prld_err *err);
/* Make every completed write to the device durable (fsync of the top). */
int prld_dev_flush(const char *devpath, struct prld_err *err);
/*
 * The changes map of an attached device between two snapshots, by GUID as
 * in prld_get_map() (NULL from: all; NULL to: the top), from the kernel.
 */
int prld_dev_get_map_guid(const char *devpath, const char *from_guid,
			  const char *to_guid, struct prld_map *out,
			  struct prld_err *err);
/* The map from the in-kernel BAT: layers (from, to]; -1 from = all. */
int prld_dev_get_map(const char *devpath, int from_layer, int to_layer,
		     struct prld_map *out, struct prld_err *err);

/*
 * Offline snapshots of a disk directory (DIR or its DiskDescriptor.xml).
 * Each refuses a disk in use (-EBUSY): it holds an exclusive flock on the
 * top image throughout, which an attached device or a writer conflicts
 * with.
 *
 * prld_snapshot: the top image gets a fresh GUID (@new_guid) and turns
 * read-only; a new empty delta "<base file>.{GUID}" becomes the top.
 */
int prld_snapshot(const char *dir, char new_guid[PRLD_GUID_LEN + 1],
		  struct prld_err *err);

/* One <Shot> of the snapshot tree. */
struct prld_snapshot_info {
	char guid[PRLD_GUID_LEN + 1];
	char parent[PRLD_GUID_LEN + 1];	/* PRLD_ZERO_GUID for the root */
	char *file;			/* image path (descriptor dir + File) */
	uint64_t file_size;
	uint64_t allocated;		/* clusters mapped in this image */
	int64_t created;		/* seconds since the epoch; 0: unknown */
	unsigned int depth;		/* 0 for the root */
	int status;			/* 0, or -errno: image unreadable */
	bool top;			/* the writable image (TopGUID) */
	bool on_chain;			/* between the root and the top */
};

/* Every shot, in tree order: each one followed by its subtrees. */
int prld_list_snapshots(const char *dir, struct prld_snapshot_info **out,
			unsigned int *n, struct prld_err *err);
void prld_snapshots_free(struct prld_snapshot_info *list, unsigned int n);

/*
 * The SDK's SwitchToState: discard the top delta and put a new empty one
 * over snapshot @guid (kept, as are all other snapshots).  On an attached
 * disk the device switches too (PRLD_REVERT), but only while nobody has
 * it open or mounted (-EBUSY otherwise).
 */
int prld_revert(const char *dir, const char *guid, struct prld_err *err);

/*
 * Grow the disk at @path (DIR, descriptor or bare image) to @size_bytes,
 * rounded up to the cluster; attached disks grow through their device
 * (PRLD_RESIZE).  Only the top image grows; the descriptor follows.
 * Shrinking is -EINVAL.
 */
int prld_resize(const char *path, uint64_t size_bytes, struct prld_err *err);

/* Sizes such as "64M", "1G", "512" (bytes; binary K/M/G/T suffixes). */
int prld_parse_size(const char *text, uint64_t *bytes);

/*
 * Delete snapshot @guid of a disk directory, offline (-EBUSY while the
 * disk is attached or open).  A leaf leaves the descriptor and its file is
 * removed; a snapshot with one child is merged: the child's clusters are
 * copied into it and its file carries the child's GUID from then on.
 * Refused for the top (-EINVAL), a snapshot with 2+ children (-ENOTEMPTY),
 * an unknown GUID (-ENOENT), an image left in use (-EUCLEAN), a plain
 * (raw) child (-EOPNOTSUPP).  After a resize a smaller snapshot image
 * grows to its child's size.  Crash-safe: a journal next to the descriptor
 * ("DiskDescriptor.xml.merge") lets the next prld_open for writing,
 * prld_check --repair or delete finish an interrupted one.
 *
 * prld_merge_start checks and locks, then works in a background thread;
 * prld_job_wait returns when it has finished (its result), calling @cb (if
 * not NULL) from the caller's thread with clusters (done, total) as they
 * progress.  prld_job_free waits too if need be.
 */
struct prld_job;
typedef void (*prld_progress_fn)(uint64_t done, uint64_t total, void *ctx);

int prld_merge_start(const char *dir, const char *guid,
		     struct prld_job **job, struct prld_err *err);
int prld_job_wait(struct prld_job *job, prld_progress_fn cb, void *ctx,
		  struct prld_err *err);
/*
 * Let the job copy @percent (1..100, 100 by default) of the time, pausing
 * in between, so that a disk in use keeps more of its bandwidth (on an
 * attached device: more of the device's own I/O latency).  May be called
 * at any time before the job ends; -EINVAL for 0 or more than 100.
 */
int prld_job_set_pace(struct prld_job *job, unsigned int percent);
void prld_job_free(struct prld_job *job);
/* prld_merge_start + prld_job_wait + prld_job_free. */
int prld_delete_snapshot(const char *dir, const char *guid,
			 struct prld_err *err);

/*
 * What a disk is called: the <UID> and <Name> of <Disk_Parameters>
 * (Parallels products write them), else the name of the disk's directory
 * or of a bare image.  @path: a disk directory, its descriptor, or an image.
 */
struct prld_identity {
	char uid[PRLD_GUID_LEN + 1];	/* "{...}" lower case; "" if none */
	char name[256];
};

int prld_get_identity(const char *path, struct prld_identity *out,
		      struct prld_err *err);

/*
 * prld_revert through an open disk (opened for writing, with a
 * descriptor): the disk's own lock on its top stands for the lock a
 * revert takes, so nobody else can open the disk in between, and the
 * disk is opened again on the new chain with the same flags and policy.
 * On success *disk is the new one (the old is closed).  On failure
 * before the switch *disk is unchanged; if only opening the new chain
 * failed, the revert stands and *disk is closed and set to NULL.
 */
int prld_disk_revert(struct prld_disk **disk, const char *guid,
		     struct prld_err *err);

/*
 * Give the space of unreferenced clusters (discarded, leaked) back to the
 * host filesystem, offline: in every image of the disk at @path (DIR, its
 * descriptor, or a bare image) the last clusters move into the holes and
 * the file is cut after its last cluster; what the disk reads does not
 * change.  Every image is locked for writing throughout (-EBUSY while the
 * disk is attached or open).  Crash-safe: copies are durable before BAT
 * entries name them, the file is cut only after; an interrupted run
 * leaves leaks and the in-use flag (check --repair, or compact again).
 * @rep gets each image's length and used space before and after.
 */
struct prld_compact_image {
	char *file;
	bool raw;			/* a plain image: nothing to move */
	uint64_t size_before, size_after;	/* the file's length, bytes */
	uint64_t used_before, used_after;	/* space it takes, bytes */
	uint64_t moved;			/* clusters relocated */
};

struct prld_compact_report {
	unsigned int n;
	struct prld_compact_image *images;
};

int prld_compact(const char *path, struct prld_compact_report *rep,
		 struct prld_err *err);
void prld_compact_report_free(struct prld_compact_report *rep);

#endif /* PRLD_H */
