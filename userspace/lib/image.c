// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * image.c - one image file: open and validate (header and whole BAT through
 * prld_format.h), look clusters up, allocate new clusters following the
 * crash-safety order of format-notes §7, and close cleanly.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static void image_free(struct prld_image *img)
{
	if (!img)
		return;
	if (img->fd >= 0)
		close(img->fd);
	free(img->bat);
	free(img->path);
	free(img);
}

static int sys_err(struct prld_err *err, const char *path, const char *what)
{
	int code = -errno;

	return prld_set_err(err, code, "%s: %s: %s", path, what,
			    strerror(-code));
}

/*
 * Open the file and take the lock that matches the access mode; a
 * header-only open takes none, so it works while a writer holds the file.
 */
static int open_locked(struct prld_image *img, bool lock_it,
		       struct prld_err *err)
{
	int mode = img->writable ? O_RDWR : O_RDONLY;
	struct stat st;
	int ret;

	img->fd = open(img->path, mode | O_CLOEXEC);
	if (img->fd < 0)
		return sys_err(err, img->path, "cannot open");
	ret = lock_it ? lock_image_fd(img->fd, img->writable) : 0;
	if (ret == -EBUSY && !img->writable && kdev_reads_only(img->path))
		ret = 0;	/* the driver's own lock on a lower layer */
	if (ret == -EBUSY)
		return prld_set_err(err, -EBUSY,
				    "%s: in use by another process (prld, QEMU, ploop or an attached device)",
				    img->path);
	if (ret)
		return prld_sys_err(err, ret, img->path, "cannot lock");
	if (fstat(img->fd, &st) < 0)
		return sys_err(err, img->path, "cannot stat");
	if (!S_ISREG(st.st_mode))
		return prld_set_err(err, -EINVAL, "%s: not a regular file",
				    img->path);
	img->file_size = (uint64_t)st.st_size;
	return 0;
}

/* A raw layer: every cluster lives at its own offset. */
static int plain_setup(struct prld_image *img, uint64_t sectors,
		       uint32_t cluster, struct prld_err *err)
{
	uint64_t need = sectors << PRLD_SECTOR_SHIFT;

	if (!sectors || !cluster || cluster > PRLD_MAX_CLUSTER_SECTORS)
		return prld_set_err(err, -EINVAL,
				    "%s: plain layer needs a size and a block size of 1..%u sectors (size %llu, block %u)",
				    img->path, PRLD_MAX_CLUSTER_SECTORS,
				    (unsigned long long)sectors, cluster);
	if (prld_div_round_up(sectors, cluster) > UINT32_MAX)
		return prld_set_err(err, -EFBIG,
				    "%s: plain layer of %llu sectors has too many blocks",
				    img->path, (unsigned long long)sectors);
	if (img->file_size < need)
		return prld_set_err(err, -EINVAL,
				    "%s: plain file is %llu bytes, shorter than the virtual size %llu bytes",
				    img->path,
				    (unsigned long long)img->file_size,
				    (unsigned long long)need);
	img->geom = (struct prld_geom){
		.fmt = 0,
		.cluster_sectors = cluster,
		.bat_entries = (uint32_t)prld_div_round_up(sectors, cluster),
		.nb_sectors = sectors,
	};
	img->allocated = img->geom.bat_entries;
	img->alloc_next = img->file_size;
	return 0;
}

static int read_header(struct prld_image *img, struct prld_err *err)
{
	__u8 hdr[PRLD_HEADER_SIZE] = { 0 };
	struct prld_fault f;
	size_t len = img->file_size < PRLD_HEADER_SIZE ?
		     (size_t)img->file_size : PRLD_HEADER_SIZE;
	int ret;

	ret = prld_pread_full(img->fd, hdr, len, 0);
	if (ret)
		return prld_set_err(err, ret, "%s: cannot read header: %s",
				    img->path, strerror(-ret));
	if (!prld_buf_has_magic(hdr, len))
		return prld_not_image_err(err, img->path);
	if (prld_header_check(hdr, len, img->file_size, &img->geom, &f))
		return prld_fault_err(err, img->path, &f);
	return 0;
}

/* What a writer must not touch, checked before the BAT is even read. */
static int writable_ok(const struct prld_image *img, struct prld_err *err)
{
	const struct prld_geom *g = &img->geom;

	if (g->inuse == PRLD_INUSE_MAGIC)
		return prld_set_err(err, -EUCLEAN,
				    "%s: image was not closed cleanly (in-use flag set); run `prldctl check --repair` first",
				    img->path);
	if (g->readonly)
		return prld_set_err(err, -EROFS, "%s: %s", img->path,
				    prld_ro_str(g->readonly));
	if (g->flags & PRLD_FLAG_CONVERTING)
		return prld_set_err(err, -EOPNOTSUPP,
				    "%s: a format conversion is in progress (flags 0x%x); read-only",
				    img->path, g->flags);
	return 0;
}

/*
 * The file ends inside a cluster: as if it were whole, do the entries
 * pass?  Then only the last cluster is cut short (a torn write), which
 * QEMU reads, its missing bytes as zeros: so do we, read-only.
 */
static int torn_tail(struct prld_image *img, const __u8 *raw, __u8 *seen,
		     struct prld_fault *f, struct prld_err *err)
{
	const struct prld_geom *g = &img->geom;
	__u64 cl = prld_cluster_bytes(g), data = prld_data_start(g), whole;
	struct prld_fault f2;

	if (f->status != PRLD_E_BAT_EOF || img->file_size <= data ||
	    !((img->file_size - data) % cl))
		return prld_fault_err(err, img->path, f);
	whole = data + prld_div_round_up(img->file_size - data, cl) * cl;
	memset(seen, 0, (size_t)(prld_data_slots(g, whole) / 8 + 1));
	if (prld_bat_check(g, raw, g->bat_entries, whole, seen, &f2))
		return prld_fault_err(err, img->path, f);
	if (img->writable)
		return prld_set_err(err, -EROFS,
				    "%s: the last mapped cluster is cut short by the end of the file (a torn write): read-only; `prldctl check --repair` restores its missing tail as zeros",
				    img->path);
	img->torn = true;
	return 0;
}

/* Validate the raw little-endian BAT in @raw, then decode it into img->bat. */
static int decode_bat(struct prld_image *img, __u8 *raw, struct prld_err *err)
{
	const struct prld_geom *g = &img->geom;
	__u64 slots = prld_data_slots(g, img->file_size);
	struct prld_fault f;
	__u8 *seen;
	__u32 i;
	int ret = 0;

	seen = calloc((size_t)(slots / 8 + 2), 1);
	if (!seen)
		return prld_set_err(err, -ENOMEM, "%s: out of memory",
				    img->path);
	if (prld_bat_check(g, raw, g->bat_entries, img->file_size, seen, &f))
		ret = torn_tail(img, raw, seen, &f, err);
	free(seen);
	if (ret)
		return ret;
	/* In place: entry i's bytes are exactly bat[i]'s storage. */
	for (i = 0; i < g->bat_entries; i++)
		img->bat[i] = prld_get_le32(raw + 4ULL * i);
	return 0;
}

/*
 * Where the next cluster goes: right after the highest mapped cluster,
 * never inside the header area.  Whatever the file holds beyond (leaked
 * clusters, a torn tail, format notes 7.5) is unreferenced: extend_zeroed()
 * cuts it before reusing the space, so a leak is reclaimed, not kept as a
 * hole behind new clusters.
 */
static void compute_alloc_next(struct prld_image *img)
{
	const struct prld_geom *g = &img->geom;
	__u64 cl = prld_cluster_bytes(g);
	__u64 next = prld_data_start(g);
	__u32 i;

	img->allocated = 0;
	for (i = 0; i < g->bat_entries; i++) {
		__u64 end;

		if (!img->bat[i])
			continue;
		img->allocated++;
		end = prld_bat_to_offset(g, img->bat[i]) + cl;
		if (end > next)
			next = end;
	}
	img->alloc_next = next;
}

static int expanding_setup(struct prld_image *img, struct prld_err *err)
{
	size_t bat_bytes;
	int ret;

	ret = read_header(img, err);
	if (ret)
		return ret;
	if (img->writable) {
		ret = writable_ok(img, err);
		if (ret)
			return ret;
	}
	bat_bytes = (size_t)img->geom.bat_entries * 4;
	img->bat = malloc(bat_bytes ? bat_bytes : 1);
	if (!img->bat)
		return prld_set_err(err, -ENOMEM,
				    "%s: out of memory for a %zu-byte BAT",
				    img->path, bat_bytes);
	ret = prld_pread_full(img->fd, img->bat, bat_bytes, PRLD_BAT_OFFSET);
	if (ret)
		return prld_set_err(err, ret, "%s: cannot read BAT: %s",
				    img->path, strerror(-ret));
	ret = decode_bat(img, (__u8 *)img->bat, err);
	if (ret)
		return ret;
	compute_alloc_next(img);
	return 0;
}

static struct prld_image *image_new(const char *path,
				    enum prld_layer_kind kind, bool writable)
{
	struct prld_image *img = calloc(1, sizeof(*img));

	if (!img)
		return NULL;
	img->fd = -1;
	img->kind = kind;
	img->writable = writable;
	img->path = strdup(path);
	if (!img->path) {
		free(img);
		return NULL;
	}
	return img;
}

/*
 * Shared by the opens: @full reads the BAT, else the header only; @lock
 * takes the lock that matches the access mode.
 */
static int open_image(const char *path, enum prld_layer_kind kind,
		      bool writable, bool full, bool lock,
		      uint64_t plain_sectors, uint32_t plain_cluster,
		      struct prld_image **out, struct prld_err *err)
{
	struct prld_image *img;
	int ret;

	*out = NULL;
	img = image_new(path, kind, writable);
	if (!img)
		return prld_set_err(err, -ENOMEM, "%s: out of memory", path);
	ret = open_locked(img, lock, err);
	if (!ret && kind == PRLD_LAYER_PLAIN)
		ret = plain_setup(img, plain_sectors, plain_cluster, err);
	else if (!ret && full)
		ret = expanding_setup(img, err);
	else if (!ret)
		ret = read_header(img, err);
	if (ret) {
		image_free(img);
		return ret;
	}
	*out = img;
	return 0;
}

int image_open(const char *path, enum prld_layer_kind kind, bool writable,
	       uint64_t plain_sectors, uint32_t plain_cluster,
	       struct prld_image **out, struct prld_err *err)
{
	return open_image(path, kind, writable, true, true, plain_sectors,
			  plain_cluster, out, err);
}

int image_open_unlocked(const char *path, enum prld_layer_kind kind,
			uint64_t plain_sectors, uint32_t plain_cluster,
			struct prld_image **out, struct prld_err *err)
{
	return open_image(path, kind, true, true, false, plain_sectors,
			  plain_cluster, out, err);
}

int image_open_header(const char *path, enum prld_layer_kind kind,
		      uint64_t plain_sectors, uint32_t plain_cluster,
		      struct prld_image **out, struct prld_err *err)
{
	return open_image(path, kind, false, false, false, plain_sectors,
			  plain_cluster, out, err);
}

static int sync_fd(struct prld_image *img, struct prld_err *err)
{
	if (fdatasync(img->fd) < 0)
		return sys_err(err, img->path, "cannot sync");
	return 0;
}

/*
 * Write the in-use word, data_off, flags and ext_off (bytes 0x2c..0x3f,
 * one sector) at once.
 */
static int write_state(struct prld_image *img, __u32 inuse, __u32 flags,
		       struct prld_err *err)
{
	__u8 buf[20];
	int ret;

	prld_put_le32(buf, inuse);
	prld_put_le32(buf + 4, img->geom.data_off);
	prld_put_le32(buf + 8, flags);
	prld_put_le64(buf + 12, img->geom.ext_off);
	ret = prld_pwrite_full(img->fd, buf, sizeof(buf), PRLD_OFF_INUSE);
	if (ret)
		return prld_set_err(err, ret, "%s: cannot write header: %s",
				    img->path, strerror(-ret));
	return sync_fd(img, err);
}

int image_begin_write(struct prld_image *img, struct prld_err *err)
{
	int ret;

	if (!img->writable)
		return prld_set_err(err, -EBADF, "%s: opened read-only",
				    img->path);
	if (img->marked_in_use)
		return 0;
	if (img->kind == PRLD_LAYER_EXPANDING) {
		__u64 ext_off = img->geom.ext_off;

		/* The flag must be durable before any data write (§3). */
		img->geom.ext_off = 0;
		ret = write_state(img, PRLD_INUSE_MAGIC, img->geom.flags, err);
		if (ret) {
			img->geom.ext_off = ext_off;
			return ret;
		}
		img->geom.inuse = PRLD_INUSE_MAGIC;
	}
	img->marked_in_use = true;
	return 0;
}

int image_pread(const struct prld_image *img, void *buf, size_t len,
		uint64_t off)
{
	size_t have = len;

	if (img->torn && off + len > img->file_size) {
		have = off >= img->file_size ? 0 :
		       (size_t)(img->file_size - off);
		memset((char *)buf + have, 0, len - have);
	}
	return have ? prld_pread_full(img->fd, buf, have, off) : 0;
}

uint64_t image_lookup(const struct prld_image *img, uint32_t cluster)
{
	if (cluster >= img->geom.bat_entries)
		return 0;
	if (img->kind == PRLD_LAYER_PLAIN)
		return (uint64_t)cluster * prld_cluster_bytes(&img->geom);
	if (!img->bat)		/* header-only open */
		return 0;
	return prld_bat_to_offset(&img->geom, img->bat[cluster]);
}

bool image_maps(const struct prld_image *img, uint32_t cluster, uint64_t *off)
{
	if (img->kind == PRLD_LAYER_PLAIN) {
		*off = (uint64_t)cluster * prld_cluster_bytes(&img->geom);
		return cluster < img->geom.bat_entries;
	}
	*off = image_lookup(img, cluster);
	return *off != 0;
}

static int alloc_args_ok(const struct prld_image *img, uint32_t cluster,
			 struct prld_err *err)
{
	const struct prld_geom *g = &img->geom;

	if (!img->writable || img->kind != PRLD_LAYER_EXPANDING)
		return prld_set_err(err, -EBADF,
				    "%s: cannot allocate in a read-only or plain layer",
				    img->path);
	if (cluster >= g->bat_entries)
		return prld_set_err(err, -EINVAL,
				    "%s: cluster %u beyond the BAT (%u entries)",
				    img->path, cluster, g->bat_entries);
	if (img->bat[cluster])
		return prld_set_err(err, -EEXIST,
				    "%s: cluster %u is already allocated",
				    img->path, cluster);
	if (img->alloc_next > prld_max_entry_offset(g))
		return prld_set_err(err, -ENOSPC,
				    "%s: offset %llu cannot be expressed in a BAT entry",
				    img->path,
				    (unsigned long long)img->alloc_next);
	return 0;
}

/* Make [off, off + cl) space that reads as zeros (§7.1). */
static int extend_zeroed(struct prld_image *img, uint64_t off, uint64_t cl,
			 struct prld_err *err)
{
	if (img->file_size > off && ftruncate(img->fd, (off_t)off) < 0)
		return sys_err(err, img->path, "cannot truncate");
	if (ftruncate(img->fd, (off_t)(off + cl)) < 0)
		return sys_err(err, img->path, "cannot extend");
	return 0;
}

void image_mark_pending(struct prld_image *img, uint32_t cluster,
			uint64_t bytes)
{
	if (!img->pending || cluster < img->pend_lo)
		img->pend_lo = cluster;
	if (!img->pending || cluster > img->pend_hi)
		img->pend_hi = cluster;
	img->pending = true;
	img->pend_bytes += bytes;
}

/* The batch's BAT entries, from memory, in one write. */
static int write_pending_bat(struct prld_image *img, struct prld_err *err)
{
	uint32_t n = img->pend_hi - img->pend_lo + 1, i;
	__u8 *le = malloc((size_t)n * 4);
	int ret;

	if (!le)
		return prld_set_err(err, -ENOMEM, "%s: out of memory",
				    img->path);
	for (i = 0; i < n; i++)
		prld_put_le32(le + 4ULL * i, img->bat[img->pend_lo + i]);
	ret = prld_pwrite_full(img->fd, le, (size_t)n * 4,
			       PRLD_BAT_OFFSET + 4ULL * img->pend_lo);
	free(le);
	if (ret)
		return prld_set_err(err, ret, "%s: cannot write the BAT: %s",
				    img->path, strerror(-ret));
	return 0;
}

static int refuse_broken(const struct prld_image *img, struct prld_err *err)
{
	return prld_set_err(err, img->broken,
			    "%s: an earlier write failed (%s); the in-use flag stays set: run `prldctl check --repair`",
			    img->path, strerror(-img->broken));
}

int image_commit(struct prld_image *img, struct prld_err *err)
{
	int ret;

	if (img->broken)
		return refuse_broken(img, err);
	if (!img->pending)
		return 0;
	/* The batch's data durable before any BAT entry names it. */
	ret = sync_fd(img, err);
	if (!ret)
		ret = write_pending_bat(img, err);
	if (ret) {
		img->broken = ret;
		return ret;
	}
	img->pending = false;
	img->pend_bytes = 0;
	return 0;
}

/* Best effort after a failed allocation: give the space back. */
static void alloc_rollback(struct prld_image *img, uint64_t off)
{
	struct stat st;

	if (ftruncate(img->fd, (off_t)off) < 0)
		return;
	if (fstat(img->fd, &st) == 0)
		img->file_size = (uint64_t)st.st_size;
}

/*
 * [off, off + cl) holds @data or reads as zeros.  A torn tail past @off
 * (a failed extension) may hold stale bytes: cut it first.
 */
static int place_cluster(struct prld_image *img, uint32_t cluster,
			 uint64_t off, const void *data, struct prld_err *err)
{
	uint64_t cl = prld_cluster_bytes(&img->geom);
	int ret;

	if (!data)
		return extend_zeroed(img, off, cl, err);
	if (img->file_size > off && ftruncate(img->fd, (off_t)off) < 0)
		return sys_err(err, img->path, "cannot truncate");
	ret = prld_pwrite_full(img->fd, data, (size_t)cl, off);
	if (ret)
		return prld_set_err(err, ret, "%s: cannot write cluster %u: %s",
				    img->path, cluster, strerror(-ret));
	return 0;
}

int image_alloc(struct prld_image *img, uint32_t cluster, const void *data,
		uint64_t *file_off, struct prld_err *err)
{
	const struct prld_geom *g = &img->geom;
	uint64_t cl = prld_cluster_bytes(g);
	uint64_t off = img->alloc_next;
	int ret;

	ret = img->broken ? refuse_broken(img, err) :
			    alloc_args_ok(img, cluster, err);
	if (!ret)
		ret = image_begin_write(img, err);
	if (ret)
		return ret;
	ret = place_cluster(img, cluster, off, data, err);
	if (ret) {
		alloc_rollback(img, off);
		return ret;
	}
	/*
	 * Start the write-back now, without waiting: the device writes while
	 * the next clusters are copied, and the batch's fdatasync mostly
	 * finds the work done.  Its errors show at that fdatasync.
	 */
	if (data)
		sync_file_range(img->fd, (off64_t)off, (off64_t)cl,
				SYNC_FILE_RANGE_WRITE);
	img->bat[cluster] = prld_offset_to_bat(g, off);
	img->allocated++;
	img->alloc_next = off + cl;
	img->file_size = off + cl;
	img->data_written = true;
	image_mark_pending(img, cluster, cl);
	if (file_off)
		*file_off = off;
	if (img->pend_bytes >= IMAGE_BATCH_BYTES)
		return image_commit(img, err);
	return 0;
}

int image_sync(struct prld_image *img, struct prld_err *err)
{
	int ret;

	if (!img->writable)
		return 0;
	ret = image_commit(img, err);
	if (!ret)
		ret = sync_fd(img, err);
	return ret;
}

/* Data durable, trailing space cut, in-use flag cleared (§3). */
static int finish_expanding(struct prld_image *img, struct prld_err *err)
{
	uint64_t end = img->alloc_next;
	__u32 flags = img->geom.flags;
	int ret;

	if (end < prld_data_start(&img->geom))
		end = prld_data_start(&img->geom);
	ret = image_sync(img, err);
	if (ret)
		return ret;
	if (img->file_size != end && ftruncate(img->fd, (off_t)end) < 0)
		return sys_err(err, img->path, "cannot truncate");
	img->file_size = end;
	if (img->data_written)
		flags &= ~PRLD_FLAG_EMPTY;
	ret = write_state(img, 0, flags, err);
	if (ret)
		return ret;
	img->geom.inuse = 0;
	img->geom.flags = flags;
	return 0;
}

int image_close(struct prld_image *img, struct prld_err *err)
{
	int ret = 0;

	if (!img)
		return 0;
	if (img->writable && img->marked_in_use && img->broken) {
		ret = refuse_broken(img, err);
	} else if (img->writable && img->marked_in_use) {
		if (img->kind == PRLD_LAYER_EXPANDING)
			ret = finish_expanding(img, err);
		else
			ret = sync_fd(img, err);
	}
	image_free(img);
	return ret;
}
