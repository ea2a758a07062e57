/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Contracts between libprld's files.  Not installed.
 *
 *   util.c        error helpers, size parsing, full pread/pwrite, paths
 *   lock.c        image locks that prld, ploop and QEMU all honour
 *   geometry.c    ploop's CHS rule
 *   image.c       one image file: open/validate, lookup, allocate, close
 *   descriptor.c  DiskDescriptor.xml via libxml2: load, validate, chain, save
 *   create.c      prld_create_disk / prld_create_image
 *   disk.c        the layered disk: prld_open ... prld_close, maps
 *   check.c       prld_check (raw, tolerant reading; never trusts image.c)
 *   descriptor_lookup.c  the descriptor's path, entries by GUID, top's lock
 *   snapshot.c    prld_snapshot, prld_revert, prld_list_snapshots
 *   merge*.c      prld_delete_snapshot and the job API (see merge.h)
 *   identity.c    prld_get_identity: a disk's UID and name
 *   disk_revert.c prld_disk_revert: a revert through an open disk
 *   sdk*.c        the Virtuozzo SDK's disk API (prld_sdk.h, see sdk.h)
 */
#ifndef PRLD_INTERNAL_H
#define PRLD_INTERNAL_H

#include <stdarg.h>
#include <sys/types.h>

#include "prld.h"
#include "prld_format.h"

/* ---- util.c ------------------------------------------------------- */

/* Fill @err (may be NULL) and return @code (a negative errno). */
int prld_set_err(struct prld_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "<path>: <what>: <strerror(-code)>" for a failed call; returns @code. */
int prld_sys_err(struct prld_err *err, int code, const char *path,
		 const char *what);
/*
 * A file given as an image without either magic is no image at all, not
 * a corrupt one: -EINVAL, "<path>: not a Parallels image (...)".
 */
int prld_not_image_err(struct prld_err *err, const char *path);
bool prld_buf_has_magic(const void *buf, size_t len);
/* Message for a validator fault: "<file>: <rule> (field 0x.., value .., limit ..)". */
int prld_fault_err(struct prld_err *err, const char *file,
		   const struct prld_fault *f);
/*
 * Tests' crash points: does @want (an environment value, may be NULL)
 * name step @step, or "@step:@k" when @k is not 0?
 */
bool prld_test_step_is(const char *want, const char *step, uint64_t k);
/* Loop until all bytes moved; 0, -EIO on a short read past EOF, -errno. */
int prld_pread_full(int fd, void *buf, size_t len, uint64_t off);
int prld_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
/* Directory part of @path (malloc'd), and @name joined under @dir. */
char *prld_dirname(const char *path);
char *prld_join(const char *dir, const char *name);
/* fsync the directory holding @path (after create/rename). */
int prld_fsync_dir(const char *path);

/* ---- lock.c ------------------------------------------------------- */

/*
 * Lock an image file for writing (@exclusive) or reading, as prld and
 * ploop do (flock) and as QEMU does (OFD byte locks, see lock.c): 0,
 * -EBUSY when another process (prld, ploop, QEMU, the kernel driver) uses
 * it in a conflicting way, or another negative errno.  The locks live as
 * long as the open file description.
 */
int lock_image_fd(int fd, bool exclusive);
/*
 * Does somebody else write the file (an exclusive flock or QEMU's "write"
 * byte)?  Takes a shared flock when it can, as a reader would.
 */
bool lock_writer_elsewhere(int fd);

/* ---- geometry.c --------------------------------------------------- */

struct prld_chs {
	uint32_t cylinders, heads, sectors;
};
/* ploop's ConvertToCHS rule for a disk of @size_sectors. */
void prld_chs_from_size(uint64_t size_sectors, struct prld_chs *chs);

/* ---- image.c ------------------------------------------------------ */

struct prld_image {
	char *path;
	int fd;
	enum prld_layer_kind kind;
	bool writable;
	struct prld_geom geom;		/* expanding only */
	uint32_t *bat;			/* native-endian, geom.bat_entries */
	uint64_t file_size;
	uint64_t alloc_next;		/* byte offset of the next new cluster */
	uint64_t allocated;		/* non-zero BAT entries */
	bool marked_in_use;		/* we set the flag on disk */
	bool data_written;		/* clear PRLD_FLAG_EMPTY at close */
	/*
	 * The last mapped cluster is cut short by the end of the file (a
	 * torn write): readable, its missing tail reads as zeros (as QEMU
	 * reads it), never writable until `check --repair` restores it.
	 */
	bool torn;
	/*
	 * The batch (image_commit): BAT entries [pend_lo, pend_hi] may differ
	 * on disk from memory; pend_bytes of new cluster data written since
	 * the last commit.  @broken: a commit failed; writes and a clean
	 * close are refused from then on (the in-use flag stays set).
	 */
	bool pending;
	uint32_t pend_lo, pend_hi;
	uint64_t pend_bytes;
	int broken;			/* 0, or the negative errno */
};

/*
 * Open and fully validate one image (header + whole BAT through the shared
 * prld_format.h code).  A writable open refuses an image whose in-use flag
 * is set (-EUCLEAN, "run prldctl check --repair"), one with a format
 * extension or a conversion in progress (-EOPNOTSUPP), and takes an
 * exclusive flock; read-only takes a shared one (-EBUSY on conflict).
 * The in-use flag is not written here: image_begin_write() does that.
 * For PRLD_LAYER_PLAIN the file is raw; geom is synthesised from
 * @plain_sectors and @plain_cluster (every cluster mapped in place).
 */
int image_open(const char *path, enum prld_layer_kind kind, bool writable,
	       uint64_t plain_sectors, uint32_t plain_cluster,
	       struct prld_image **out, struct prld_err *err);
/*
 * image_open() for writing without a lock of its own, for a writer that
 * holds the image's lock another way: the disk's top locked through
 * another descriptor, or a lower layer of an attached device, which
 * holds it shared (a snapshot merged up into it, merge_up.c).
 */
int image_open_unlocked(const char *path, enum prld_layer_kind kind,
			uint64_t plain_sectors, uint32_t plain_cluster,
			struct prld_image **out, struct prld_err *err);
/*
 * PRLD_OPEN_FAKE: the validated header only, read-only, no BAT (every
 * lookup is 0, allocated 0) and no lock, so it works on an image in use.
 */
int image_open_header(const char *path, enum prld_layer_kind kind,
		      uint64_t plain_sectors, uint32_t plain_cluster,
		      struct prld_image **out, struct prld_err *err);
/*
 * Set the in-use flag and make it durable (once, before the first write).
 * A format extension (ploop's CBT: changes since a backup) goes in the
 * same header write: once data changes it would lie, so it is dropped
 * before any data is written, and its clusters, which lie past the last
 * data cluster, are cut by the first allocation or the close.
 */
int image_begin_write(struct prld_image *img, struct prld_err *err);
/* pread of a mapped range; a torn image's missing tail reads as zeros. */
int image_pread(const struct prld_image *img, void *buf, size_t len,
		uint64_t off);
/* Byte offset of virtual cluster @cluster in the file, 0 if unmapped. */
uint64_t image_lookup(const struct prld_image *img, uint32_t cluster);
/* Does @img hold @cluster (at *@off)?  A plain layer holds every one. */
bool image_maps(const struct prld_image *img, uint32_t cluster,
		uint64_t *off);
/*
 * Allocate @cluster at the end of the file following format-notes §7, in
 * batches as the kernel driver does: extend (reads as zeros) and write
 * @data (a whole cluster; NULL = leave zeros); memory maps it at once and
 * the BAT entry joins the batch.  image_commit() then makes the batch's
 * data durable with one fdatasync and only after it writes the batch's
 * BAT entries (durable with the next sync: the next commit's, a flush's
 * or the close's), so no entry on disk ever names space that is not
 * durable -- and a copied-up cluster is durable before the entry that
 * hides the lower layer's.  A batch commits by itself once it holds
 * IMAGE_BATCH_BYTES.  On failure before the batch, memory is unchanged.
 */
#define IMAGE_BATCH_BYTES (64ULL << 20)
int image_alloc(struct prld_image *img, uint32_t cluster, const void *data,
		uint64_t *file_off, struct prld_err *err);
/* @cluster's entry (memory already holds it) joins the batch. */
void image_mark_pending(struct prld_image *img, uint32_t cluster,
			uint64_t bytes);
/* The batch: data durable, then its BAT entries written (not synced). */
int image_commit(struct prld_image *img, struct prld_err *err);
/* image_commit, then everything written is durable. */
int image_sync(struct prld_image *img, struct prld_err *err);
/*
 * Grow the image to @size_sectors (image_grow.c): clusters in the way of
 * the larger BAT move to the end first; the new header is written last.
 * Smaller than now: -EINVAL.  The image must be open writable.
 */
int image_grow(struct prld_image *img, uint64_t size_sectors,
	       struct prld_err *err);
/*
 * Clean close: fdatasync, truncate to the last cluster, clear the in-use
 * flag (and EMPTY if data was written), fdatasync; then free.
 */
int image_close(struct prld_image *img, struct prld_err *err);

/* create.c: a new empty delta of @p->size_sectors exactly (snapshots). */
int image_create_delta(const char *path, const struct prld_create_params *p,
		       struct prld_err *err);

/* ---- format_ext.c ------------------------------------------------- */

/*
 * The bitmap clusters (byte offsets, malloc'd) the format extension of an
 * image with g->ext_off set names.  0; -EINVAL with @why when it cannot
 * be parsed; -ENOMEM.
 */
int format_ext_clusters(int fd, const struct prld_geom *g, uint64_t file_size,
			uint64_t **offs, size_t *n, char *why, size_t why_len);

/* ---- layer_kind.c ------------------------------------------------- */

/*
 * The kind of the image at @path, from its bytes checked against the
 * descriptor's <Type> @typed (@base: the root of its chain; @disk_sectors:
 * what a raw base must cover).  -EINVAL with the reason when the file
 * fits neither reading.
 */
int layer_kind(const char *path, enum prld_layer_kind typed, bool base,
	       uint64_t disk_sectors, enum prld_layer_kind *kind,
	       struct prld_err *err);

/* ---- descriptor.c ------------------------------------------------- */

struct prld_desc_image {
	char guid[PRLD_GUID_LEN + 1];
	/* <Type> as written; what the file holds is desc_image_kind()'s. */
	enum prld_layer_kind kind;
	char *file;			/* as written in <File> */
	void *node;			/* its <Image> (xmlNodePtr); NULL: new */
};

struct prld_desc_shot {
	char guid[PRLD_GUID_LEN + 1];
	char parent[PRLD_GUID_LEN + 1];
	void *node;			/* its <Shot> (xmlNodePtr); NULL: new */
};

/* One <Storage>: a piece of the disk with its own chain of images. */
struct prld_desc_storage {
	uint64_t start, end;		/* sectors */
	uint32_t blocksize;		/* sectors */
	unsigned int nimages;
	struct prld_desc_image *images;
};

struct prld_desc {
	void *doc;			/* xmlDocPtr, kept so unknown nodes survive */
	char *path;			/* .../DiskDescriptor.xml */
	char *dir;			/* its directory */
	uint64_t disk_size;		/* sectors */
	uint32_t cylinders, heads, sectors, padding;
	/* The first <Storage>; the only one but for a split disk. */
	uint64_t start, end;		/* sectors */
	uint32_t blocksize;		/* sectors */
	unsigned int nimages;
	struct prld_desc_image *images;
	/* A split disk's further storages (same GUIDs, one chain each). */
	unsigned int nstorages;		/* 1 + those */
	struct prld_desc_storage *more;
	unsigned int nshots;
	struct prld_desc_shot *shots;
	char top_guid[PRLD_GUID_LEN + 1];
	/*
	 * No <TopGUID> (Parallels Desktop never writes one): the top is the
	 * {5fbaabe3-...} Shot, as ploop decides, and a save adds none.
	 */
	bool has_top_guid;
	bool preallocated;		/* ploop's <Preallocated>1 */
	/* Why prld must not open the data (encrypted, padded...), or "". */
	char unsupported[400];
};

/* Storage @k (0 .. nstorages - 1) of @d, as a view into @d. */
void desc_storage(const struct prld_desc *d, unsigned int k,
		  struct prld_desc_storage *out);
/* -EOPNOTSUPP with "<path>: <what> a split disk ..." when @d is one. */
int desc_single_storage(const struct prld_desc *d, const char *what,
			struct prld_err *err);
/*
 * Indices into storage @k's images of the chain @idx of storage 0's
 * (same GUIDs, desc_load made sure each storage has them all).
 */
int desc_storage_chain(const struct prld_desc *d, unsigned int k,
		       const unsigned int *idx, unsigned int n,
		       unsigned int *out);

/*
 * Parse and validate: root Parallels_disk_image or Virtuozzo_disk_image,
 * one <Storage> or a split disk's consecutive ones, numbers in range,
 * well-formed unique GUIDs, one Shot per Image, exactly one root (zero
 * parent), no cycles; without <TopGUID> the {5fbaabe3-...} Shot is the
 * top and must be the tree's only leaf.  Messages name the element and
 * the value.  What prld does not support (encryption, Padding, a top it
 * cannot tell) is -EOPNOTSUPP; desc_load_any() returns such a descriptor
 * with the reason in ->unsupported, for the checker.
 */
int desc_load(const char *path, struct prld_desc **out, struct prld_err *err);
int desc_load_any(const char *path, struct prld_desc **out,
		  struct prld_err *err);
int desc_parse(const char *buf, size_t len, const char *path,
	       struct prld_desc **out, struct prld_err *err);
/* Indices into d->images from the base up to @top_guid (NULL: TopGUID). */
int desc_chain(const struct prld_desc *d, const char *top_guid,
	       unsigned int **idx, unsigned int *n, struct prld_err *err);
/* A fresh one-image descriptor (root Parallels_disk_image Version 1.0). */
int desc_new(const char *dir, uint64_t disk_size, const struct prld_chs *chs,
	     uint32_t blocksize, const char *file, enum prld_layer_kind kind,
	     struct prld_desc **out, struct prld_err *err);
/*
 * Write the model back into the DOM and save: .tmp, fsync, rename, dirsync.
 * An entry keeps its XML node (and the unknown elements inside it) through
 * renames and moves in the arrays; an entry with node NULL, or a copy of
 * another entry's node, gets a new element; nodes no entry holds are removed.
 */
int desc_save(struct prld_desc *d, struct prld_err *err);
void desc_free(struct prld_desc *d);
/*
 * Append an Image + Shot pair to the model (new XML nodes on save).
 * 0 or -ENOMEM, with the model unchanged on failure.
 */
int desc_add_layer(struct prld_desc *d, const char *guid, const char *parent,
		   const char *file, enum prld_layer_kind kind);
/* "{...}" with a fresh random uuid (libuuid). */
void desc_new_guid(char out[PRLD_GUID_LEN + 1]);
bool desc_guid_valid(const char *guid);

/* ---- descriptor_lookup.c ------------------------------------------ */

/*
 * DIR/DiskDescriptor.xml, or the .xml file given, which must exist; a bare
 * image has none.  @need completes the refusals, e.g. "snapshots need"
 * ("...; snapshots need a DiskDescriptor.xml (a bare image has none)").
 */
int desc_locate(const char *path, const char *need, char **out,
		struct prld_err *err);
/*
 * The bundle's own empty file "NAME.hdd/NAME.hdd" (Parallels Desktop; on
 * macOS the bundle looks like a file): its DiskDescriptor.xml, or NULL.
 */
char *desc_bundle_of(const char *path);
/* -ENOENT for a directory without a descriptor, saying what to do. */
int desc_missing(const char *dir, const char *need, struct prld_err *err);
/* Index of the Shot / Image with @guid (case-insensitive), or -1. */
int desc_find_shot(const struct prld_desc *d, const char *guid);
/*
 * The shot a user named by @guid: its index, or -EINVAL (not a GUID) or
 * -ENOENT (no such snapshot) with the message set.
 */
int desc_find_named_shot(const struct prld_desc *d, const char *guid,
			 struct prld_err *err);
int desc_find_image(const struct prld_desc *d, const char *guid);
/*
 * What image @i of storage @k holds (layer_kind(): its bytes against its
 * <Type>); the base of its chain is the one whose Shot has the zero
 * parent.  -errno with the reason when it fits neither reading.
 */
int desc_image_kind(const struct prld_desc *d, unsigned int k,
		    unsigned int i, enum prld_layer_kind *kind,
		    struct prld_err *err);
/*
 * The path of a <File> value: an absolute one as it is, a relative one
 * (".." allowed, as ploop writes since 2017) under the descriptor's
 * directory.  A Windows-style value ("\\" separators, as in ".\\x.hds")
 * whose literal name does not exist is read with '/' separators.
 */
char *desc_file_path(const struct prld_desc *d, const char *file);
/*
 * The kernel driver and libprld writers hold an exclusive flock on the top
 * while the disk is in use, readers a shared one: taking ours (exclusive,
 * non-blocking) fails then, and holding it keeps them out while the tree
 * changes.  The locked fd, or a negative errno (-EBUSY: in use; @busy goes
 * before "close it first" in the message, "" or a sentence ending ": ").
 */
int desc_lock_top(const char *top_path, const char *busy,
		  struct prld_err *err);
/*
 * The disk directory's own flock (exclusive, non-blocking), which every
 * change of the snapshot tree of an attached disk holds (the device holds
 * the top's): the locked fd, or -EBUSY "another snapshot operation is
 * running".
 */
int desc_lock_dir(const char *dir, struct prld_err *err);

/* ---- kdev.c ------------------------------------------------------- */

/*
 * The bound device whose top layer is the file @real_top (a realpath):
 * 1 and its node in @dev, 0 when none, or a negative errno.
 */
int kdev_find_by_top(const char *real_top, char *dev, size_t len,
		     struct prld_err *err);

/*
 * Is @path a read-only layer of a bound device, and written by none?  A
 * snapshot taken while attached leaves the driver holding the old top's
 * exclusive locks on what is now a read-only lower layer; readers of that
 * file may then go without their own lock (the driver itself refuses any
 * device that would write it).
 */
bool kdev_reads_only(const char *path);
/* ---- kdev_sysfs.c ------------------------------------------------- */

/*
 * prldN (@name) as sysfs shows it, without the counts (have_counts
 * false): -ENXIO when unbound, -ENOENT when the driver has no sysfs
 * attributes (an older module).
 */
int kdev_sysfs_info(const char *name, struct prld_dev_info *out);

/* The descriptor (malloc'd path) of the disk attached as @dev. */
int kdev_desc_path(const char *dev, char **out, struct prld_err *err);
/* The layer of @info whose file is @path (realpath'd), or -1. */
int kdev_layer_of(const struct prld_dev_info *info, const char *path);

/* ---- attach.c ----------------------------------------------------- */

/* PRLD_REVERT of @dev to the chain @path's descriptor now names. */
int kdev_revert(const char *dev, const char *path, struct prld_err *err);

/* ---- snapshot.c --------------------------------------------------- */

/*
 * prld_revert of the disk at @dir whose current top is open as @held_fd
 * with its exclusive flock: that lock stands for the one the revert
 * would take (prld_disk_revert).
 */
int snapshot_revert_held(const char *dir, const char *guid, int held_fd,
			 struct prld_err *err);

/* ---- identity.c --------------------------------------------------- */

/* The identity of the disk @d describes. */
void desc_identity(const struct prld_desc *d, struct prld_identity *out);

/* ---- disk.c ------------------------------------------------------- */

/* One storage of the disk; its chain is layers[first .. first + n). */
struct prld_part {
	uint64_t start;			/* bytes into the disk */
	uint64_t size;			/* bytes */
	unsigned int first, n;
	uint32_t cluster_sectors;
};

struct prld_disk {
	struct prld_desc *desc;		/* NULL for a bare image */
	unsigned int nlayers;
	struct prld_image **layers;	/* part by part, base first */
	struct prld_layer_info *info;	/* parallel to layers */
	unsigned int nparts;		/* 1, or a split disk's pieces */
	struct prld_part *parts;
	unsigned int flags;
	uint64_t offset;		/* policy */
	uint64_t size_bytes;		/* virtual size */
	uint32_t cluster_sectors;	/* the first part's */
};

/* ---- merge_recover.c, merge_journal.c (the rest is in merge.h) ---- */

/*
 * Finish a delete/merge a crash interrupted, if @path (a disk directory or
 * its descriptor) has a journal: 0 when there is none, 1 when one was
 * finished (@what says which), or a negative errno.
 */
int merge_recover(const char *path, char *what, size_t len,
		  struct prld_err *err);
/*
 * Is a journal next to descriptor @desc_path?  1 and @what (an
 * interrupted delete, or a journal that does not parse), 2 and @what when
 * a delete holds the disk's lock now (an online one in progress), or 0.
 */
int merge_pending(const char *desc_path, char *what, size_t len);

#endif /* PRLD_INTERNAL_H */
