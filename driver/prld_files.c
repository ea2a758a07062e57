// SPDX-License-Identifier: GPL-2.0
/*
 * prld_files.c - the files a device is given: what each must be, and
 * which device uses which.
 *
 * Every ioctl that hands the driver image files (CONFIGURE, PUSH_TOP,
 * REVERT) runs the same checks on each: a regular file the driver can
 * read (and write, for the top) with positioned I/O, no O_APPEND (a
 * header write would land at the end of the file), and for a direct-I/O
 * device a filesystem that does direct I/O at 512-byte granularity.
 *
 * A device then claims its files in one list shared by all devices, under
 * a mutex that is never held across I/O or another lock: a file two
 * devices use must not be written by either (-EBUSY), and no device may
 * be given a file whose I/O comes back to the device itself (a file on a
 * filesystem of the device, or of a prld device stacked on it): the
 * device freezes its queue to switch its top and writes its files
 * meanwhile, which would wait forever for its own frozen queue.  Only
 * prld devices are walked, not a loop or dm device in between (README).
 * A claim holds no reference: it names a file of a chain and is dropped
 * before the chain releases the file.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/stat.h>

#include "prld.h"

/* Stacks deeper than this are refused rather than walked further. */
#define PRLD_MAX_STACK	8

struct prld_claim {
	struct list_head node;
	struct prld_device *dev;
	struct file *file;
	bool writable;
};

static LIST_HEAD(prld_claims);
/* The list above; innermost lock, never held across I/O. */
static DEFINE_MUTEX(prld_claims_mutex);

/*
 * The file offset alignment direct I/O needs on @file: the filesystem's
 * own (STATX_DIOALIGN) where it says, else its disk's logical block size;
 * 0 if it cannot do direct I/O at all.
 */
static u32 prld_dio_align(struct file *file)
{
	struct block_device *bdev = file_inode(file)->i_sb->s_bdev;
	struct kstat st;

	if (!(file->f_mode & FMODE_CAN_ODIRECT))
		return 0;
	if (!vfs_getattr(&file->f_path, &st, STATX_DIOALIGN, 0) &&
	    (st.result_mask & STATX_DIOALIGN))
		return max(st.dio_offset_align, st.dio_mem_align);
	return bdev ? bdev_logical_block_size(bdev) : SECTOR_SIZE;
}

/**
 * prld_check_file() - may the driver do its I/O on this image file?
 * @file: the file userspace handed in
 * @index: its layer, for the log
 * @writable: the driver will write it (the top of a read-write device)
 * @direct: the device does direct I/O on its files
 *
 * Return: 0, or a negative errno with the reason in the log.
 */
int prld_check_file(struct file *file, unsigned int index, bool writable,
		    bool direct)
{
	u32 align;

	if (!S_ISREG(file_inode(file)->i_mode)) {
		pr_err("layer %u: not a regular file\n", index);
		return -EINVAL;
	}
	/* Header and BAT I/O is small and buffered; direct I/O is per kiocb. */
	if (file->f_flags & O_DIRECT) {
		pr_err("layer %u: opened with O_DIRECT; ask for PRLD_CONFIG_DIRECT_IO instead\n",
		       index);
		return -EINVAL;
	}
	if (file->f_flags & O_APPEND) {
		pr_err("layer %u: opened with O_APPEND: every write would go to its end\n",
		       index);
		return -EINVAL;
	}
	/* kernel_read() WARNs on a file not opened for reading. */
	if (!(file->f_mode & FMODE_READ) || !file->f_op->read_iter) {
		pr_err("layer %u: not readable with read_iter\n", index);
		return -EBADF;
	}
	if (writable && (!(file->f_mode & FMODE_WRITE) || !file->f_op->write_iter)) {
		pr_err("layer %u: the top must be opened read-write (and have write_iter)\n",
		       index);
		return -EBADF;
	}
	if (!direct)
		return 0;
	align = prld_dio_align(file);
	if (!align || align > SECTOR_SIZE) {
		pr_err("layer %u: its filesystem cannot do direct I/O in 512-byte units (alignment %u); attach without direct I/O\n",
		       index, align);
		return -EINVAL;
	}
	return 0;
}

/**
 * prld_take_files() - take a reference on every descriptor, base first
 * @chain: an empty chain; layer i owns file i from here on (released by
 *         prld_chain_release(), even on failure)
 * @user_fds: user pointer to __s32[@nr_layers]
 * @nr_layers: 1..PRLD_MAX_LAYERS (checked by the caller)
 * @ro: no layer will be written
 *
 * Nothing is read yet.  Return: 0 or a negative errno.
 */
int prld_take_files(struct prld_chain *chain, u64 user_fds,
		    unsigned int nr_layers, bool ro)
{
	unsigned int i, j;
	struct file *file;
	s32 *fds;
	int ret = 0;

	fds = memdup_user(u64_to_user_ptr(user_fds), nr_layers * sizeof(*fds));
	if (IS_ERR(fds))
		return PTR_ERR(fds);
	chain->layers = kcalloc(nr_layers, sizeof(*chain->layers), GFP_KERNEL);
	chain->nr_layers = chain->layers ? nr_layers : 0;
	if (!chain->layers)
		ret = -ENOMEM;
	for (i = 0; !ret && i < chain->nr_layers; i++) {
		file = fget(fds[i]);
		if (!file) {
			ret = -EBADF;
			break;
		}
		chain->layers[i].file = file;
		chain->layers[i].writable = !ro && i == chain->nr_layers - 1;
		for (j = 0; j < i; j++) {
			if (file_inode(chain->layers[j].file) == file_inode(file)) {
				pr_err("layer %u is the same file as layer %u\n",
				       i, j);
				ret = -EINVAL;
			}
		}
	}
	kfree(fds);
	return ret;
}

static bool prld_file_needs(struct file *file, const struct gendisk *disk,
			    unsigned int depth);

/* Does any file prld device @other claims need @disk?  Under the mutex. */
static bool prld_device_needs(struct prld_device *other,
			      const struct gendisk *disk, unsigned int depth)
{
	struct prld_claim *c;

	lockdep_assert_held(&prld_claims_mutex);
	list_for_each_entry(c, &prld_claims, node)
		if (c->dev == other && prld_file_needs(c->file, disk, depth + 1))
			return true;
	return false;
}

/*
 * Does I/O to @file go through @disk: is it on a filesystem of @disk, or
 * of a prld device whose own files (at any depth) are?  Under the mutex,
 * so no claim goes away under the walk.
 */
static bool prld_file_needs(struct file *file, const struct gendisk *disk,
			    unsigned int depth)
{
	struct block_device *bdev = file_inode(file)->i_sb->s_bdev;
	struct prld_device *other;

	if (!bdev)
		return false;
	if (bdev->bd_disk == disk || depth >= PRLD_MAX_STACK)
		return true;
	other = prld_disk_device(bdev->bd_disk);
	return other && prld_device_needs(other, disk, depth);
}

/* Another device's claim on @file's inode that conflicts with ours? */
static bool prld_claimed_elsewhere(struct prld_device *dev, struct file *file,
				   bool writable)
{
	struct prld_claim *c;

	lockdep_assert_held(&prld_claims_mutex);
	list_for_each_entry(c, &prld_claims, node)
		if (c->dev != dev && file_inode(c->file) == file_inode(file) &&
		    (c->writable || writable))
			return true;
	return false;
}

static int prld_claim_check(struct prld_device *dev,
			    const struct prld_layer *l, unsigned int index)
{
	if (prld_claimed_elsewhere(dev, l->file, l->writable)) {
		pr_err("%s: layer %u: another prld device uses this file and one of them writes it\n",
		       dev->disk->disk_name, index);
		return -EBUSY;
	}
	if (prld_file_needs(l->file, dev->disk, 0)) {
		pr_err("%s: layer %u: on a filesystem of this device (or of a device stacked on it)\n",
		       dev->disk->disk_name, index);
		return -EINVAL;
	}
	return 0;
}

/**
 * prld_claim_layers() - @dev claims @nr layers of a chain for its use
 * @dev: the claiming device
 * @layers: the layers; their files and writable flags are what is claimed
 * @nr: how many
 * @first_index: the layer number of @layers[0], for the log
 *
 * All or nothing: checked against every other device's claims and the
 * stacking rule, then recorded, in one hold of the claims mutex.
 * Return: 0, -EBUSY, -EINVAL (stacking) or -ENOMEM.
 */
int prld_claim_layers(struct prld_device *dev, const struct prld_layer *layers,
		      unsigned int nr, unsigned int first_index)
{
	struct prld_claim **new;
	unsigned int i;
	int ret = 0;

	new = kcalloc(nr, sizeof(*new), GFP_KERNEL);
	for (i = 0; new && i < nr; i++) {
		new[i] = kzalloc(sizeof(**new), GFP_KERNEL);
		if (!new[i])
			break;
	}
	if (!new || i < nr) {
		ret = -ENOMEM;
		goto out;
	}
	mutex_lock(&prld_claims_mutex);
	for (i = 0; !ret && i < nr; i++)
		ret = prld_claim_check(dev, &layers[i], first_index + i);
	for (i = 0; !ret && i < nr; i++) {
		new[i]->dev = dev;
		new[i]->file = layers[i].file;
		new[i]->writable = layers[i].writable;
		list_add(&new[i]->node, &prld_claims);
		new[i] = NULL;
	}
	mutex_unlock(&prld_claims_mutex);
out:
	for (i = 0; new && i < nr; i++)
		kfree(new[i]);
	kfree(new);
	return ret;
}

/*
 * Drop @dev's claims on the files of @layers (all of @dev's if @layers is
 * NULL), before those files are released.
 */
void prld_unclaim_layers(struct prld_device *dev,
			 const struct prld_layer *layers, unsigned int nr)
{
	struct prld_claim *c, *next;
	unsigned int i;

	mutex_lock(&prld_claims_mutex);
	list_for_each_entry_safe(c, next, &prld_claims, node) {
		if (c->dev != dev)
			continue;
		for (i = 0; layers && i < nr; i++)
			if (layers[i].file == c->file)
				break;
		if (!layers || i < nr) {
			list_del(&c->node);
			kfree(c);
		}
	}
	mutex_unlock(&prld_claims_mutex);
}

/* @dev's claim on @file is now read-only (a snapshot turned it so). */
void prld_claim_set_readonly(struct prld_device *dev, struct file *file)
{
	struct prld_claim *c;

	mutex_lock(&prld_claims_mutex);
	list_for_each_entry(c, &prld_claims, node)
		if (c->dev == dev && c->file == file)
			c->writable = false;
	mutex_unlock(&prld_claims_mutex);
}

/* QEMU's byte locks (file-posix.c): 100 + permission while it is used. */
#define PRLD_QEMU_PERM_WRITE	101
#define PRLD_QEMU_PERM_RESIZE	103

/**
 * prld_lock_downgrade() - a top that turned read-only gives up its writer's locks
 * @file: the old top, which userspace locked as a writer (lock.c): an
 *        exclusive flock and QEMU's byte locks of the write and resize
 *        permissions, all of its open file description, which the driver
 *        holds
 *
 * After a snapshot nothing writes the file any more: the flock becomes
 * shared and the write and resize bytes are released, so prld's readers
 * and QEMU (qemu-img check, a backup reading the snapshot) may open it.
 * Bytes 201 and 203 stay: nobody else may write or resize it either.
 * Best effort: a failure only keeps readers out, so it is logged.
 */
void prld_lock_downgrade(struct file *file)
{
	static const int bytes[] = { PRLD_QEMU_PERM_WRITE,
				     PRLD_QEMU_PERM_RESIZE };
	struct file_lock fl;
	unsigned int i;
	int ret;

	prld_file_lock_init(&fl, file, FL_FLOCK, F_RDLCK);
	ret = locks_lock_inode_wait(file_inode(file), &fl);
	for (i = 0; !ret && i < ARRAY_SIZE(bytes); i++) {
		prld_file_lock_init(&fl, file, FL_POSIX | FL_OFDLCK, F_UNLCK);
		fl.fl_start = bytes[i];
		fl.fl_end = bytes[i];
		ret = vfs_lock_file(file, F_SETLK, &fl, NULL);
	}
	if (ret)
		pr_warn("the snapshot's image keeps its writer's locks (%d): readers are refused\n",
			ret);
}
