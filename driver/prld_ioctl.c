// SPDX-License-Identifier: GPL-2.0
/*
 * prld_ioctl.c - the block device ioctls of /dev/prldN.
 *
 * Every argument structure is copied in whole and checked before anything
 * happens: its size must be the one this kernel knows, unknown flags and
 * any non-zero padding or reserved field are -EINVAL (loop never checked
 * its own reserved fields, so they could never be given a meaning).
 */
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "prld.h"
#include "prld_validate.h"

/* Direct I/O needs a filesystem that does it at 512-byte granularity. */
static int prld_check_dio(struct file *file)
{
	struct super_block *sb = file_inode(file)->i_sb;

	if (!(file->f_mode & FMODE_CAN_ODIRECT))
		return -EINVAL;
	if (sb->s_bdev && bdev_logical_block_size(sb->s_bdev) > SECTOR_SIZE)
		return -EINVAL;
	return 0;
}

/*
 * Take a reference on every descriptor, base first; layer i owns file i
 * from here on (released by prld_chain_release()).  Nothing is read yet.
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
				pr_err("prld: layer %u is the same file as layer %u\n",
				       i, j);
				ret = -EINVAL;
			}
		}
	}
	kfree(fds);
	return ret;
}

/* Read and validate every image, then build the map. */
int prld_build_chain(struct prld_chain *chain, unsigned int flags)
{
	struct prld_layer *top;
	unsigned int i;
	int ret = 0;

	for (i = 0; !ret && i < chain->nr_layers; i++) {
		if (flags & PRLD_CONFIG_DIRECT_IO)
			ret = prld_check_dio(chain->layers[i].file);
		if (!ret)
			ret = prld_layer_load(&chain->layers[i], i);
	}
	if (!ret)
		ret = prld_chain_check_layers(chain);
	if (!ret)
		ret = prld_chain_build(chain);
	if (ret)
		return ret;
	top = &chain->layers[chain->nr_layers - 1];
	chain->alloc_next = prld_chain_alloc_start(top);
	return 0;
}

/*
 * Is any layer of @chain's files used by another bound device in a way
 * that conflicts (one of the two writes it)?  Caller holds prld_ctl_mutex
 * and not self->mutex: two device mutexes are never held together.
 */
bool prld_files_conflict(struct prld_device *self,
			 const struct prld_chain *chain)
{
	struct prld_device *dev;
	unsigned int i, j;
	int id;

	idr_for_each_entry(&prld_index_idr, dev, id) {
		if (dev == self)
			continue;
		mutex_lock(&dev->mutex);
		for (i = 0; dev->state == PRLD_BOUND && i < dev->chain.nr_layers; i++) {
			const struct prld_layer *a = &dev->chain.layers[i];

			for (j = 0; j < chain->nr_layers; j++) {
				const struct prld_layer *b = &chain->layers[j];

				if (file_inode(a->file) == file_inode(b->file) &&
				    (a->writable || b->writable)) {
					mutex_unlock(&dev->mutex);
					return true;
				}
			}
		}
		mutex_unlock(&dev->mutex);
	}
	return false;
}

int prld_conflict_check(struct prld_device *dev,
			const struct prld_chain *chain)
{
	bool busy;

	mutex_lock(&prld_ctl_mutex);
	busy = prld_files_conflict(dev, chain);
	mutex_unlock(&prld_ctl_mutex);
	return busy ? -EBUSY : 0;
}

void prld_set_partscan(struct prld_device *dev)
{
	struct gendisk *disk = dev->disk;
	int ret;

	clear_bit(GD_SUPPRESS_PART_SCAN, &disk->state);
	mutex_lock(&disk->open_mutex);
	ret = bdev_disk_changed(disk, false);
	mutex_unlock(&disk->open_mutex);
	if (ret)
		pr_warn("prld%d: partition scan failed (%d)\n", dev->index, ret);
}

/* Under dev->mutex: the chain becomes the device's. */
static int prld_bind(struct prld_device *dev, struct prld_chain *chain,
		     const struct prld_config *cfg)
{
	u64 bytes = chain->layers[chain->nr_layers - 1].geom.nb_sectors
		    << SECTOR_SHIFT;
	bool ro = cfg->flags & PRLD_CONFIG_READ_ONLY;
	int ret;

	if (dev->state != PRLD_UNBOUND)
		return -EBUSY;
	if (cfg->offset >= bytes)
		return -EINVAL;
	if (!ro) {
		ret = prld_mark_in_use(&chain->layers[chain->nr_layers - 1],
				       chain->alloc_next);
		if (ret)
			return ret;
	}
	dev->chain = *chain;
	dev->flags = cfg->flags;
	dev->offset = cfg->offset;
	dev->dirty = !ro;
	dev->wrote = false;
	set_disk_ro(dev->disk, ro);
	set_capacity_and_notify(dev->disk,
				(bytes - cfg->offset) >> SECTOR_SHIFT);
	/* Pairs with the lockless check in prld_queue_rq(). */
	smp_store_release(&dev->state, PRLD_BOUND);
	return 0;
}

static int prld_configure(struct prld_device *dev, PRLD_OPEN_MODE_T mode,
			  const void __user *arg)
{
	struct prld_chain chain = { 0 };
	struct prld_config cfg;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&cfg, arg, sizeof(cfg)))
		return -EFAULT;
	ret = prld_check_config(&cfg);
	if (ret)
		return ret;
	/* As loop: a device opened read-only can only be attached so. */
	if (!PRLD_MODE_WRITE(mode))
		cfg.flags |= PRLD_CONFIG_READ_ONLY;
	/*
	 * A file another device uses is EBUSY before its header is read:
	 * that device's in-use flag would otherwise read as EUCLEAN.
	 */
	ret = prld_take_files(&chain, cfg.fds, cfg.nr_layers,
			      cfg.flags & PRLD_CONFIG_READ_ONLY);
	if (!ret)
		ret = prld_conflict_check(dev, &chain);
	if (!ret)
		ret = prld_build_chain(&chain, cfg.flags);
	/* Checked again under prld_ctl_mutex, held until we are bound. */
	if (!ret) {
		mutex_lock(&prld_ctl_mutex);
		ret = prld_files_conflict(dev, &chain) ? -EBUSY : 0;
		if (!ret) {
			mutex_lock(&dev->mutex);
			ret = prld_bind(dev, &chain, &cfg);
			mutex_unlock(&dev->mutex);
		}
		mutex_unlock(&prld_ctl_mutex);
	}
	if (ret) {
		prld_chain_release(&chain);
		return ret;
	}
	__module_get(THIS_MODULE);	/* dropped in prld_clear() */
	if (!(cfg.flags & PRLD_CONFIG_NO_PARTSCAN))
		prld_set_partscan(dev);
	kobject_uevent(&disk_to_dev(dev->disk)->kobj, KOBJ_CHANGE);
	return 0;
}

static int prld_detach(struct prld_device *dev, unsigned long arg)
{
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (arg & ~(unsigned long)PRLD_DETACH_DEFERRED)
		return -EINVAL;
	ret = mutex_lock_killable(&dev->mutex);
	if (ret)
		return ret;
	if (dev->state != PRLD_BOUND) {
		mutex_unlock(&dev->mutex);
		return -ENXIO;
	}
	/* The caller's own open is one; anyone else (a mount) is busy. */
	if (disk_openers(dev->disk) > 1) {
		if (arg & PRLD_DETACH_DEFERRED)
			dev->flags |= PRLD_CONFIG_AUTOCLEAR;
		mutex_unlock(&dev->mutex);
		return arg & PRLD_DETACH_DEFERRED ? 0 : -EBUSY;
	}
	dev->state = PRLD_RUNDOWN;
	mutex_unlock(&dev->mutex);
	prld_clear(dev, false);
	return 0;
}

static void prld_fill_status(struct prld_device *dev, struct prld_device_status *st)
{
	const struct prld_chain *chain = &dev->chain;

	st->index = dev->index;
	st->flags = dev->flags | (dev->dirty ? PRLD_STATUS_DIRTY : 0);
	st->nr_layers = chain->nr_layers;
	st->offset = dev->offset;
	st->virtual_sectors = chain->layers[chain->nr_layers - 1].geom.nb_sectors;
	st->device_sectors = get_capacity(dev->disk);
	st->cluster_sectors = chain->cluster_sectors;
	st->clusters = chain->clusters;
	st->allocated = READ_ONCE(chain->allocated);
}

static int prld_get_status(struct prld_device *dev, void __user *arg)
{
	struct prld_device_status st;
	int ret = 0;

	if (copy_from_user(&st, arg, sizeof(st)))
		return -EFAULT;
	if (st.size != sizeof(st))
		return -EINVAL;
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	mutex_lock(&dev->mutex);
	if (dev->state == PRLD_BOUND)
		prld_fill_status(dev, &st);
	else
		ret = -ENXIO;
	mutex_unlock(&dev->mutex);
	if (!ret && copy_to_user(arg, &st, sizeof(st)))
		ret = -EFAULT;
	return ret;
}

static int prld_fill_layer(struct prld_device *dev, struct prld_layer_status *ls)
{
	const struct prld_layer *l = &dev->chain.layers[ls->layer];
	char *path;

	ls->flags = (l->writable ? PRLD_LAYER_WRITABLE : 0) |
		    (l->geom.fmt == PRLD_FMT_V1 ? PRLD_LAYER_V1 : 0);
	ls->allocated = READ_ONCE(l->allocated);
	ls->file_size = i_size_read(file_inode(l->file));
	path = d_path(&l->file->f_path, ls->path, sizeof(ls->path));
	if (IS_ERR(path))
		return PTR_ERR(path);
	memmove(ls->path, path, strlen(path) + 1);
	return 0;
}

static int prld_get_layer(struct prld_device *dev, void __user *arg)
{
	struct prld_layer_status *ls;
	int ret;

	ls = memdup_user(arg, sizeof(*ls));
	if (IS_ERR(ls))
		return PTR_ERR(ls);
	ret = prld_check_layer_request(ls);
	if (ret)
		goto out;
	mutex_lock(&dev->mutex);
	if (dev->state != PRLD_BOUND)
		ret = -ENXIO;
	else if (ls->layer >= dev->chain.nr_layers)
		ret = -EINVAL;
	else
		ret = prld_fill_layer(dev, ls);
	mutex_unlock(&dev->mutex);
	if (!ret && copy_to_user(arg, ls, sizeof(*ls)))
		ret = -EFAULT;
out:
	kfree(ls);
	return ret;
}

/* Under dev->mutex, bound: validate the layer range, fill @bits. */
static int prld_map_locked(struct prld_device *dev,
			   struct prld_map_request *req, u8 *bits, u64 *len)
{
	const struct prld_chain *chain = &dev->chain;
	int ret;

	ret = prld_check_map_range(req, chain->nr_layers, chain->clusters);
	if (ret)
		return ret;
	*len = min_t(u64, req->buf_bytes,
		     DIV_ROUND_UP(chain->clusters - req->first_bit, 8));
	prld_chain_map_bits(chain, req->from_layer, req->to_layer,
			    req->first_bit, bits, *len);
	req->granularity = chain->cluster_bytes;
	req->nbits = chain->clusters;
	return 0;
}

static int prld_get_map(struct prld_device *dev, void __user *arg)
{
	struct prld_map_request req;
	u64 len = 0;
	u8 *bits;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	ret = prld_check_map_request(&req);
	if (ret)
		return ret;
	/* Sized by the caller, who gets the ENOMEM: no kernel warning. */
	bits = kvmalloc(req.buf_bytes, GFP_KERNEL | __GFP_NOWARN);
	if (!bits)
		return -ENOMEM;
	mutex_lock(&dev->mutex);
	ret = dev->state == PRLD_BOUND ?
		prld_map_locked(dev, &req, bits, &len) : -ENXIO;
	mutex_unlock(&dev->mutex);
	if (!ret && copy_to_user(u64_to_user_ptr(req.bits), bits, len))
		ret = -EFAULT;
	if (!ret && copy_to_user(arg, &req, sizeof(req)))
		ret = -EFAULT;
	kvfree(bits);
	return ret;
}

static int prld_flush_ioctl(struct prld_device *dev)
{
	int ret;

	mutex_lock(&dev->mutex);
	ret = dev->state == PRLD_BOUND ? prld_flush(dev) : -ENXIO;
	mutex_unlock(&dev->mutex);
	return ret;
}

int prld_ioctl(struct block_device *bdev, PRLD_OPEN_MODE_T mode,
	       unsigned int cmd, unsigned long arg)
{
	struct prld_device *dev = bdev->bd_disk->private_data;
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case PRLD_CONFIGURE:
		return prld_configure(dev, mode, argp);
	case PRLD_DETACH:
		return prld_detach(dev, arg);
	case PRLD_GET_STATUS:
		return prld_get_status(dev, argp);
	case PRLD_GET_LAYER:
		return prld_get_layer(dev, argp);
	case PRLD_FLUSH:
		return prld_flush_ioctl(dev);
	case PRLD_GET_MAP:
		return prld_get_map(dev, argp);
	case PRLD_PUSH_TOP:
		return prld_push_top(dev, argp);
	case PRLD_REVERT:
		return prld_revert(dev, argp);
	case PRLD_RESIZE:
		return prld_resize(dev, argp);
	default:
		return -ENOTTY;
	}
}
