/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Contracts between libprld's files.  Not installed.
 *
 *   util.c        error helpers, size parsing, full pread/pwrite, paths
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
/* Message for a validator fault: "<file>: <rule> (field 0x.., value .., limit ..)". */
int prld_fault_err(struct prld_err *err, const char *file,
		   const struct prld_fault *f);
/* Loop until all bytes moved; 0, -EIO on a short read past EOF, -errno. */
int prld_pread_full(int fd, void *buf, size_t len, uint64_t off);
int prld_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
/* Directory part of @path (malloc'd), and @name joined under @dir. */
char *prld_dirname(const char *path);
char *prld_join(const char *dir, const char *name);
/* fsync the directory holding @path (after create/rename). */
int prld_fsync_dir(const char *path);

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
 * PRLD_OPEN_FAKE: the validated header only, read-only, no BAT (every
 * lookup is 0, allocated 0) and no lock, so it works on an image in use.
 */
int image_open_header(const char *path, enum prld_layer_kind kind,
		      uint64_t plain_sectors, uint32_t plain_cluster,
		      struct prld_image **out, struct prld_err *err);
/* Set the in-use flag and make it durable (once, before the first write). */
int image_begin_write(struct prld_image *img, struct prld_err *err);
/* Byte offset of virtual cluster @cluster in the file, 0 if unmapped. */
uint64_t image_lookup(const struct prld_image *img, uint32_t cluster);
/*
 * Allocate @cluster at the end of the file following format-notes §7:
 * extend (reads as zeros), write @data (a whole cluster; NULL = leave
 * zeros), fdatasync, write the BAT entry, fdatasync, then update memory.
 * On failure memory is unchanged and the space is reused by the next call.
 */
int image_alloc(struct prld_image *img, uint32_t cluster, const void *data,
		uint64_t *file_off, struct prld_err *err);
int image_sync(struct prld_image *img, struct prld_err *err);
/* BAT entry @cluster := @entry on disk, made durable (memory unchanged). */
int image_write_bat(struct prld_image *img, uint32_t cluster, __u32 entry,
		    struct prld_err *err);
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

/* ---- descriptor.c ------------------------------------------------- */

struct prld_desc_image {
	char guid[PRLD_GUID_LEN + 1];
	enum prld_layer_kind kind;
	char *file;			/* as written in <File> */
	void *node;			/* its <Image> (xmlNodePtr); NULL: new */
};

struct prld_desc_shot {
	char guid[PRLD_GUID_LEN + 1];
	char parent[PRLD_GUID_LEN + 1];
	void *node;			/* its <Shot> (xmlNodePtr); NULL: new */
};

struct prld_desc {
	void *doc;			/* xmlDocPtr, kept so unknown nodes survive */
	char *path;			/* .../DiskDescriptor.xml */
	char *dir;			/* its directory */
	uint64_t disk_size;		/* sectors */
	uint32_t cylinders, heads, sectors, padding;
	uint64_t start, end;		/* the one <Storage> */
	uint32_t blocksize;		/* sectors */
	unsigned int nimages;
	struct prld_desc_image *images;
	unsigned int nshots;
	struct prld_desc_shot *shots;
	char top_guid[PRLD_GUID_LEN + 1];
};

/*
 * Parse and validate: root Parallels_disk_image or Virtuozzo_disk_image,
 * exactly one <Storage>, numbers in range, well-formed unique GUIDs, one
 * Shot per Image, exactly one root (zero parent), no cycles, TopGUID
 * present.  Messages name the element and the value.
 */
int desc_load(const char *path, struct prld_desc **out, struct prld_err *err);
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
/* Index of the Shot / Image with @guid (case-insensitive), or -1. */
int desc_find_shot(const struct prld_desc *d, const char *guid);
/*
 * The shot a user named by @guid: its index, or -EINVAL (not a GUID) or
 * -ENOENT (no such snapshot) with the message set.
 */
int desc_find_named_shot(const struct prld_desc *d, const char *guid,
			 struct prld_err *err);
int desc_find_image(const struct prld_desc *d, const char *guid);
/* The path of a <File> value: relative ones are under the descriptor's dir. */
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

/* ---- kdev.c ------------------------------------------------------- */

/*
 * The bound device whose top layer is the file @real_top (a realpath):
 * 1 and its node in @dev, 0 when none, or a negative errno.
 */
int kdev_find_by_top(const char *real_top, char *dev, size_t len,
		     struct prld_err *err);

/* ---- kdev_sysfs.c ------------------------------------------------- */

/*
 * prldN (@name) as sysfs shows it, without the counts (have_counts
 * false): -ENXIO when unbound, -ENOENT when the driver has no sysfs
 * attributes (an older module).
 */
int kdev_sysfs_info(const char *name, struct prld_dev_info *out);

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

struct prld_disk {
	struct prld_desc *desc;		/* NULL for a bare image */
	unsigned int nlayers;
	struct prld_image **layers;	/* base first */
	struct prld_layer_info *info;	/* parallel to layers */
	unsigned int flags;
	uint64_t offset;		/* policy */
	uint64_t size_bytes;		/* virtual size */
	uint32_t cluster_sectors;
};

/* ---- merge_recover.c, merge_journal.c (the rest is in merge.h) ---- */

/*
 * Finish a delete/merge a crash interrupted, if @path (a disk directory or
 * its descriptor) has a journal: 0 when there is none, 1 when one was
 * finished (@what says which), or a negative errno.
 */
int merge_recover(const char *path, char *what, size_t len,
		  struct prld_err *err);
/* Is a journal next to descriptor @desc_path?  1 and @what, or 0. */
int merge_pending(const char *desc_path, char *what, size_t len);

#endif /* PRLD_INTERNAL_H */
