// SPDX-License-Identifier: GPL-2.0
/*
 * prld_attach.c - read each image's header and BAT from the file userspace
 * handed in, and judge them with the shared validators of prld_format.h.
 * Nothing map-like is ever taken from userspace: only file descriptors.
 *
 * Also the two header updates of a read-write attachment: the in-use flag
 * at attach, and the clean-close sequence at detach.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "prld.h"
#include "prld_fault.h"

int prld_file_read(struct file *file, void *buf, size_t len, loff_t pos)
{
	ssize_t n;

	while (len) {
		n = kernel_read(file, buf, len, &pos);
		if (n < 0)
			return n;
		if (n == 0)
			return -EIO;	/* the file shrank under us */
		buf += n;
		len -= n;
	}
	return 0;
}

int prld_file_write(struct file *file, const void *buf, size_t len,
		    loff_t pos)
{
	ssize_t n;

	while (len) {
		n = kernel_write(file, buf, len, &pos);
		if (n < 0)
			return n;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * Truncate with the credentials the file was opened with, not the
 * current task's: the clean close runs in the last closer's ->release,
 * and that may be a user allowed to use /dev/prldN but not to write its
 * image (vfs_truncate() checks MAY_WRITE and the LSM as current).
 */
int prld_truncate(struct file *file, loff_t len)
{
	const struct cred *old = override_creds(file->f_cred);
	int ret = vfs_truncate(&file->f_path, len);

	revert_creds(old);
	return ret;
}

static void prld_report_fault(unsigned int index, const struct prld_fault *f)
{
	pr_err("layer %u: %s (field 0x%x, value %llu, limit %llu)\n",
	       index, prld_status_str(f->status), f->field, f->value, f->limit);
}

/* Header rules, then what a writable top additionally needs. */
static int prld_load_header(struct prld_layer *layer, u64 size, bool writable,
			    unsigned int index)
{
	u8 hdr[PRLD_HEADER_SIZE] = { 0 };
	struct prld_fault f;
	int ret;

	if (size >= PRLD_HEADER_SIZE) {
		ret = prld_file_read(layer->file, hdr, sizeof(hdr), 0);
		if (ret)
			return ret;
	}
	if (prld_header_check(hdr, size >= PRLD_HEADER_SIZE ? sizeof(hdr) : 0,
			      size, &layer->geom, &f) != PRLD_OK) {
		prld_report_fault(index, &f);
		return -EINVAL;
	}
	if (layer->geom.bat_entries > PRLD_MAX_BAT_ENTRIES) {
		pr_err("layer %u: %u BAT entries, at most %u supported\n",
		       index, layer->geom.bat_entries, PRLD_MAX_BAT_ENTRIES);
		return -EFBIG;
	}
	if (!writable)
		return 0;
	if (layer->geom.inuse == PRLD_INUSE_MAGIC) {
		pr_err("layer %u: in-use flag set (not closed cleanly); repair it first\n",
		       index);
		return -EUCLEAN;
	}
	if (layer->geom.flags & PRLD_FLAG_CONVERTING) {
		pr_err("layer %u: format conversion in progress: read-only\n",
		       index);
		return -EOPNOTSUPP;
	}
	if (layer->geom.readonly) {
		pr_err("layer %u: %s\n", index,
		       prld_ro_str(layer->geom.readonly));
		return -EROFS;
	}
	return 0;
}

/* BAT entries read, checked and stored per step of prld_load_bat(). */
#define PRLD_BAT_CHUNK_ENTRIES	16384U	/* 64 KiB */

/* Store the non-zero entries of one checked piece, in CPU order. */
static int prld_store_bat(struct prld_layer *layer, const u8 *raw, u32 first,
			  u32 count)
{
	u32 i, entry;
	int ret;

	for (i = 0; i < count; i++) {
		entry = prld_get_le32(raw + 4 * (size_t)i);
		if (!entry)
			continue;
		ret = prld_pages_prepare(&layer->bat, first + i, GFP_KERNEL);
		if (ret)
			return ret;
		prld_pages_set32(&layer->bat, first + i, entry);
		layer->allocated++;
	}
	return 0;
}

/*
 * Does the file hold data in [@pos, @end)?  A hole reads as zeros, so a
 * piece of BAT that lies in one holds no entries.  A filesystem without
 * SEEK_DATA reports everything as data, which only costs the read.
 * (This moves the shared file position, which nobody uses for these
 * files: every access is positioned.)
 */
static bool prld_has_data(struct file *file, loff_t pos, loff_t end)
{
	loff_t data = vfs_llseek(file, pos, SEEK_DATA);

	if (data == -ENXIO)
		return false;	/* nothing but holes from @pos on */
	return data < 0 || data < end;
}

/*
 * Read the BAT piece by piece, validate each piece against the whole
 * file (duplicates across pieces included), and keep its non-zero
 * entries: a thin image costs memory for what it maps only, and the
 * holes of a sparse BAT are not even read.
 */
static int prld_load_bat(struct prld_layer *layer, u64 file_size,
			 unsigned int index)
{
	const struct prld_geom *g = &layer->geom;
	/* A reader takes a torn last cluster; its missing tail reads zeros. */
	u64 size = prld_bat_check_size(g, file_size, layer->writable);
	/*
	 * The duplicate bitmap: one bit per data slot an entry can name,
	 * which is at most 2^32 whatever the file's (sparse) size.
	 */
	u64 slots = min(prld_data_slots(g, size),
			prld_offset_to_slot(g, prld_max_entry_offset(g)) + 1);
	u32 first, n;
	struct prld_fault f;
	u8 *raw, *seen;
	int ret;

	ret = prld_pages_init(&layer->bat, g->bat_entries, sizeof(u32));
	if (ret)
		return ret;
	/* Sized by the image: ENOMEM goes to the caller, no warning. */
	raw = kvmalloc(4 * PRLD_BAT_CHUNK_ENTRIES, GFP_KERNEL | __GFP_NOWARN);
	seen = kvzalloc(DIV_ROUND_UP(slots, 8) + 1, GFP_KERNEL | __GFP_NOWARN);
	ret = raw && seen ? 0 : -ENOMEM;
	for (first = 0; !ret && first < g->bat_entries; first += n) {
		loff_t pos = PRLD_BAT_OFFSET + 4 * (loff_t)first;

		n = min(g->bat_entries - first, PRLD_BAT_CHUNK_ENTRIES);
		if (!prld_has_data(layer->file, pos, pos + 4 * (loff_t)n))
			continue;
		ret = prld_file_read(layer->file, raw, 4 * (size_t)n, pos);
		if (ret)
			break;
		if (prld_bat_check_range(g, raw, first, n, size, seen, &f) !=
		    PRLD_OK) {
			prld_report_fault(index, &f);
			ret = -EINVAL;
			break;
		}
		ret = prld_store_bat(layer, raw, first, n);
		cond_resched();
	}
	kvfree(raw);
	kvfree(seen);
	return ret;
}

/*
 * A plain layer: no header to read, only a size the file must hold.  Its
 * cluster size is the chain's, known once the top is loaded.
 */
static int prld_load_plain(struct prld_layer *layer, u64 size,
			   unsigned int index)
{
	u64 bytes = layer->geom.nb_sectors << SECTOR_SHIFT;

	if (size < bytes) {
		pr_err("layer %u: the plain image is %llu bytes, shorter than its %llu-byte disk\n",
		       index, size, bytes);
		return -EINVAL;
	}
	return prld_pages_init(&layer->bat, 0, sizeof(u32));
}

/* The writable top's BAT write-back bitmap and its second open file. */
static int prld_layer_writable(struct prld_layer *layer)
{
	int ret = 0;

	layer->dirty = bitmap_zalloc(max(layer->bat.nr_leaves, 1U), GFP_KERNEL);
	if (!layer->dirty)
		return -ENOMEM;
	layer->sync_file = file_clone_open(layer->file);
	if (IS_ERR(layer->sync_file)) {
		ret = PTR_ERR(layer->sync_file);
		layer->sync_file = NULL;
	}
	return ret;
}

/**
 * prld_layer_load() - check layer @index's file, read and judge its image
 * @layer: owns its file already; ->writable says whether it will be
 *         written, ->plain (with geom.nb_sectors) that it is raw
 * @index: its place in the chain, for the log
 * @flags: the device's PRLD_CONFIG_* (direct I/O asks more of the file)
 *
 * Return: 0, or a negative errno with the reason in the log.
 */
int prld_layer_load(struct prld_layer *layer, unsigned int index,
		    unsigned int flags)
{
	struct file *file = layer->file;
	u64 size;
	int ret;

	ret = prld_check_file(file, index, layer->writable,
			      flags & PRLD_CONFIG_DIRECT_IO);
	if (ret)
		return ret;
	size = i_size_read(file_inode(file));
	if (layer->plain) {
		ret = prld_load_plain(layer, size, index);
		layer->data_end = layer->geom.nb_sectors << SECTOR_SHIFT;
	} else {
		ret = prld_load_header(layer, size, layer->writable, index);
		if (!ret)
			ret = prld_load_bat(layer, size, index);
		/* A lower layer never grows; what it lacks reads as zeros. */
		layer->data_end = layer->writable ? U64_MAX : size;
	}
	if (!ret && layer->writable)
		ret = prld_layer_writable(layer);
	return ret;
}

/* Layer 0 is raw, of @plain_sectors (before prld_build_chain()). */
void prld_chain_set_plain(struct prld_chain *chain, u64 plain_sectors)
{
	chain->layers[0].plain = true;
	chain->layers[0].geom.nb_sectors = plain_sectors;
}

/*
 * A plain base takes the chain's cluster size (the top's, or 1 MiB when
 * it is the whole disk) and covers its size in those clusters.
 */
static int prld_plain_geometry(struct prld_chain *chain)
{
	struct prld_layer *base = &chain->layers[0];
	const struct prld_layer *top = &chain->layers[chain->nr_layers - 1];
	u32 cs = top->plain ? PRLD_DEF_CLUSTER_SECTORS :
			      top->geom.cluster_sectors;
	u64 clusters = DIV_ROUND_UP_ULL(base->geom.nb_sectors, cs);

	if (clusters > U32_MAX) {
		pr_err("layer 0: a plain image of %llu sectors has too many clusters of %u sectors\n",
		       base->geom.nb_sectors, cs);
		return -EFBIG;
	}
	base->geom.cluster_sectors = cs;
	base->geom.bat_entries = clusters;
	base->allocated = clusters;
	return 0;
}

/**
 * prld_build_chain() - read and validate every image, then build the map
 * @chain: the files, taken by prld_take_files() (and prld_chain_set_plain())
 * @flags: the device's PRLD_CONFIG_*
 *
 * Return: 0, or a negative errno with the reason in the log.
 */
int prld_build_chain(struct prld_chain *chain, unsigned int flags)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; !ret && i < chain->nr_layers; i++)
		ret = prld_layer_load(&chain->layers[i], i, flags);
	if (!ret && chain->layers[0].plain)
		ret = prld_plain_geometry(chain);
	if (!ret)
		ret = prld_chain_check_layers(chain);
	if (!ret)
		ret = prld_chain_build(chain);
	if (ret)
		return ret;
	chain->alloc_next = prld_chain_alloc_start(prld_chain_top(chain));
	/* A whole disk; prld_parts_build() places the parts of a split one. */
	chain->start = 0;
	chain->bytes = prld_chain_top(chain)->geom.nb_sectors << SECTOR_SHIFT;
	return 0;
}

void prld_layer_release(struct prld_layer *layer)
{
	prld_pages_free(&layer->bat);
	bitmap_free(layer->dirty);
	layer->dirty = NULL;
	if (layer->sync_file)
		fput(layer->sync_file);
	layer->sync_file = NULL;
	layer->allocated = 0;
	if (layer->file)
		fput(layer->file);
	layer->file = NULL;
}

/* Release every layer's file and map: the chain is empty afterwards. */
void prld_chain_release(struct prld_chain *chain)
{
	unsigned int i;

	for (i = 0; i < chain->nr_layers; i++)
		prld_layer_release(&chain->layers[i]);
	kfree(chain->layers);
	prld_chain_free(chain);
	memset(chain, 0, sizeof(*chain));
}

/* Where a later prld_sync_top() starts to count write-back errors. */
errseq_t prld_sync_mark(const struct prld_layer *top)
{
	return errseq_sample(&top->sync_file->f_mapping->wb_err);
}

/*
 * The driver's own ordering sync of the top, as opposed to a FLUSH: it
 * goes through top->sync_file, so it takes no error away from the next
 * FLUSH.  @since is prld_sync_mark() from before the caller wrote what
 * must be durable.  An error from before that is another write's,
 * reported (or still to be reported) through the top's own file: the
 * sync runs once more, past it.  An error nobody has seen yet counts as
 * new (errseq_sample()), so no write-back failure goes unreported.  The
 * data of [@start, @end] is written back; metadata as vfs_fsync_range().
 */
int prld_sync_range(struct prld_layer *top, loff_t start, loff_t end,
		    int datasync, errseq_t since)
{
	struct file *file = top->sync_file;
	int ret;

	ret = vfs_fsync_range(file, start, end, datasync);
	if (ret && !errseq_check(&file->f_mapping->wb_err, since))
		ret = vfs_fsync_range(file, start, end, datasync);
	return ret;
}

int prld_sync_top(struct prld_layer *top, int datasync, errseq_t since)
{
	return prld_sync_range(top, 0, LLONG_MAX, datasync, since);
}

/*
 * inuse, data_off, flags and ext_off are adjacent (0x2c..0x3f, one
 * sector): one write updates the flags and drops a format extension.
 */
static int prld_write_state(struct prld_layer *top)
{
	u8 buf[20];

	prld_put_le32(buf, top->geom.inuse);
	prld_put_le32(buf + 4, top->geom.data_off);
	prld_put_le32(buf + 8, top->geom.flags);
	prld_put_le64(buf + 12, top->geom.ext_off);
	return prld_file_write(top->file, buf, sizeof(buf), PRLD_OFF_INUSE);
}

/*
 * Before the first write: drop the remains of a failed extension (so every
 * new cluster is fresh zeroed space), then set the in-use flag and make it
 * durable.
 */
int prld_mark_in_use(struct prld_layer *top, u64 alloc_next)
{
	errseq_t since = prld_sync_mark(top);
	u32 was = top->geom.inuse;
	u64 ext_off = top->geom.ext_off;
	int ret;

	if (top->plain)		/* no header to mark, nothing to allocate */
		return 0;
	if (i_size_read(file_inode(top->file)) > alloc_next) {
		ret = prld_truncate(top->file, alloc_next);
		if (ret)
			return ret;
	}
	/*
	 * A format extension (ploop's CBT: changes since a backup) would
	 * be stale after the first write: it goes in the same header write
	 * that marks the image in use, before any data changes, as an
	 * offline write drops it.  Its clusters past the data were cut
	 * above; any among the data are leaked space, never referenced.
	 */
	top->geom.inuse = PRLD_INUSE_MAGIC;
	top->geom.ext_off = 0;
	ret = prld_write_state(top);
	if (!ret)
		ret = prld_sync_top(top, 0, since);
	if (!ret)
		top->durable_end = min_t(u64, alloc_next,
					 i_size_read(file_inode(top->file)));
	if (ret) {
		/*
		 * The flag may sit in the page cache (the sync failed): put
		 * the clean state back so a failed attach leaves the image
		 * as it found it.  Best effort: the attach fails anyway.
		 */
		top->geom.inuse = was;
		top->geom.ext_off = ext_off;
		prld_write_state(top);
	}
	return ret;
}

/*
 * Clean close of the top: data and BAT written and durable, file ends
 * after its last mapped cluster (not alloc_next: clusters after it were
 * discarded or leaked by a failed write, and nothing references them),
 * then the in-use flag is cleared and that is made durable too.
 */
static int prld_close_top(struct prld_layer *top, bool wrote)
{
	u64 end = prld_chain_alloc_start(top);
	errseq_t since = prld_sync_mark(top);
	int ret;

	if (top->plain)		/* data durable is all a raw image needs */
		return prld_sync_top(top, 0, since);
	ret = prld_bat_sync(top, false);
	if (ret)
		return ret;
	if (i_size_read(file_inode(top->file)) > end) {
		ret = prld_truncate(top->file, end);
		if (ret)
			return ret;
	}
	top->geom.inuse = 0;
	if (wrote)
		top->geom.flags &= ~PRLD_FLAG_EMPTY;
	ret = prld_write_state(top);
	if (!ret)
		ret = prld_sync_top(top, 0, since);
	return ret;
}

/**
 * prld_finish_top() - close @chain's top image cleanly
 * @chain: a bound chain whose top was marked in use by prld_mark_in_use()
 * @wrote: something was allocated since (the image is no longer empty)
 *
 * Runs with the credentials the top was opened with: from the last
 * closer's ->release, the LSM and permission checks of the writes and the
 * truncate must not depend on who closed the device last.
 * Return: 0, or the first error (the flag then stays set on disk).
 */
int prld_finish_top(struct prld_chain *chain, bool wrote)
{
	struct prld_layer *top = &chain->layers[chain->nr_layers - 1];
	const struct cred *old = override_creds(top->file->f_cred);
	int ret = prld_close_top(top, wrote);

	revert_creds(old);
	return ret;
}

/* Leaf @leaf of @top's BAT to the file, little-endian, through @buf. */
static int prld_write_leaf(struct prld_layer *top, u32 leaf, __le32 *buf)
{
	u32 first = leaf << top->bat.shift, i, n;

	n = min(1U << top->bat.shift, top->bat.count - first);
	for (i = 0; i < n; i++)
		buf[i] = cpu_to_le32(prld_layer_entry(top, first + i));
	if (prld_should_fail(PRLD_FAULT_BAT_WRITE))
		return -EIO;
	return prld_file_write(top->file, buf, 4 * (size_t)n,
			       PRLD_BAT_OFFSET + 4 * (loff_t)first);
}

/* Write the leaves set in @leaves; stop at the first failure. */
static int prld_write_leaves(struct prld_layer *top, const unsigned long *leaves)
{
	unsigned long leaf;
	__le32 *buf;
	int ret = 0;

	buf = kmalloc(PRLD_LEAF_BYTES, GFP_NOIO);
	if (!buf)
		return -ENOMEM;
	for_each_set_bit(leaf, leaves, top->bat.nr_leaves) {
		ret = prld_write_leaf(top, leaf, buf);
		if (ret)
			break;
	}
	kfree(buf);
	return ret;
}

/*
 * Make @top's BAT as the map has it, and everything written before,
 * durable: write every leaf that changed in memory, then fsync.  A
 * leaf's bit is cleared before its entries are read, so an entry
 * committed meanwhile either is in this write or sets the bit again for
 * the next one.  If anything fails, every leaf of this round is dirty
 * again: after a failed write or sync the page cache may not hold it, so
 * the next call writes it anew from memory.  A FLUSH (@flush) syncs
 * through the top's own file and so reports every write-back error since
 * the last FLUSH; the driver's own calls sync as prld_sync_top() does.
 * Callers serialise (flush_lock, or a frozen queue).
 */
int prld_bat_sync(struct prld_layer *top, bool flush)
{
	unsigned int nr = top->bat.nr_leaves;
	errseq_t since = prld_sync_mark(top);
	unsigned long *round, leaf;
	int ret;

	if (bitmap_empty(top->dirty, nr))
		return flush ? vfs_fsync(top->file, 0) :
			       prld_sync_top(top, 0, since);
	round = bitmap_zalloc(nr, GFP_NOIO);
	if (!round)
		return -ENOMEM;
	for_each_set_bit(leaf, top->dirty, nr)
		if (test_and_clear_bit(leaf, top->dirty))
			__set_bit(leaf, round);
	ret = prld_write_leaves(top, round);
	if (!ret)
		ret = flush ? vfs_fsync(top->file, 0) :
			      prld_sync_top(top, 0, since);
	if (ret)
		for_each_set_bit(leaf, round, nr)
			set_bit(leaf, top->dirty);
	bitmap_free(round);
	return ret;
}
