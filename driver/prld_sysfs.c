// SPDX-License-Identifier: GPL-2.0
/*
 * prld_sysfs.c - /sys/block/prldN/prld/, as loop's /sys/block/loopN/loop/:
 * what a device is attached to and how, for lsblk, udev and `prldctl
 * list`, readable by anyone without opening the device.
 *
 *   backing_file  the top image (the file writes go to)
 *   chain         every image, base first, one path a line
 *   cluster_size  bytes
 *   offset        bytes skipped at the start of the disk
 *   read_only, dio, autoclear, partscan   0 or 1
 *
 * The group comes with the disk (device_add_disk) and goes with it; on an
 * unbound device every attribute reads as -ENXIO.  Values are read under
 * dev->mutex, which every change of the chain and the flags holds.
 * chain is a binary attribute only because a deep chain of long paths
 * does not fit the one page a text attribute has; its content is text.
 */
#include <linux/blkdev.h>
#include <linux/fs.h>
#include <linux/minmax.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "prld.h"

struct prld_attr {
	struct device_attribute attr;
	ssize_t (*show)(struct prld_device *dev, char *buf);
};

static struct prld_device *prld_sysfs_device(struct device *d)
{
	return dev_to_disk(d)->private_data;
}

static ssize_t prld_attr_show(struct device *d, struct device_attribute *a,
			      char *buf)
{
	const struct prld_attr *pa = container_of(a, struct prld_attr, attr);
	struct prld_device *dev = prld_sysfs_device(d);
	ssize_t ret;

	ret = mutex_lock_interruptible(&dev->mutex);
	if (ret)
		return ret;
	ret = dev->state == PRLD_BOUND ? pa->show(dev, buf) : -ENXIO;
	mutex_unlock(&dev->mutex);
	return ret;
}

static ssize_t prld_show_backing_file(struct prld_device *dev, char *buf)
{
	/* The top of the last part: the file a split disk's list shows. */
	struct file *top = prld_chain_top(&dev->parts[dev->nr_parts - 1])->file;
	size_t len;
	char *p;

	p = file_path(top, buf, PAGE_SIZE - 1);
	if (IS_ERR(p))
		return PTR_ERR(p);
	len = strlen(p);
	memmove(buf, p, len);
	buf[len++] = '\n';
	buf[len] = '\0';
	return len;
}

static ssize_t prld_show_cluster_size(struct prld_device *dev, char *buf)
{
	return sysfs_emit(buf, "%llu\n", dev->parts[0].cluster_bytes);
}

static ssize_t prld_show_offset(struct prld_device *dev, char *buf)
{
	return sysfs_emit(buf, "%llu\n", dev->offset);
}

static ssize_t prld_show_read_only(struct prld_device *dev, char *buf)
{
	return sysfs_emit(buf, "%d\n", !!(dev->flags & PRLD_CONFIG_READ_ONLY));
}

static ssize_t prld_show_dio(struct prld_device *dev, char *buf)
{
	return sysfs_emit(buf, "%d\n", !!(dev->flags & PRLD_CONFIG_DIRECT_IO));
}

static ssize_t prld_show_autoclear(struct prld_device *dev, char *buf)
{
	return sysfs_emit(buf, "%d\n", dev->autoclear);
}

static ssize_t prld_show_partscan(struct prld_device *dev, char *buf)
{
	return sysfs_emit(buf, "%d\n", !(dev->flags & PRLD_CONFIG_NO_PARTSCAN));
}

#define PRLD_ATTR(_name)						\
	static struct prld_attr prld_attr_##_name = {			\
		.attr = __ATTR(_name, 0444, prld_attr_show, NULL),	\
		.show = prld_show_##_name,				\
	}

PRLD_ATTR(backing_file);
PRLD_ATTR(cluster_size);
PRLD_ATTR(offset);
PRLD_ATTR(read_only);
PRLD_ATTR(dio);
PRLD_ATTR(autoclear);
PRLD_ATTR(partscan);

/* Copy what of @line (at @at in the whole text) falls in [@pos, @pos + @count). */
static size_t prld_chain_piece(const char *line, size_t len, loff_t at,
			       char *buf, loff_t pos, size_t count)
{
	loff_t start = max(at, pos);
	loff_t end = min_t(loff_t, at + len, pos + count);

	if (start >= end)
		return 0;
	memcpy(buf + (start - pos), line + (start - at), end - start);
	return end - start;
}

/* Under dev->mutex, bound: the chain's text from @pos into @buf. */
static ssize_t prld_chain_text(struct prld_device *dev, char *path,
			       char *buf, loff_t pos, size_t count)
{
	const struct prld_layer *l;
	size_t len, done = 0;
	unsigned int part;
	loff_t at = 0;
	u32 i;
	char *p;

	/* Every part's layers, a split disk's pieces in order. */
	for (i = 0; (l = prld_parts_layer(dev, i, &part)) &&
		    at < pos + (loff_t)count; i++) {
		p = file_path(l->file, path, PATH_MAX - 1);
		if (IS_ERR(p))
			return PTR_ERR(p);
		len = strlen(p);
		p[len++] = '\n';	/* file_path() left its last byte free */
		done += prld_chain_piece(p, len, at, buf, pos, count);
		at += len;
	}
	return done;
}

static ssize_t chain_read(struct file *file, struct kobject *kobj,
			  struct bin_attribute *attr, char *buf, loff_t pos,
			  size_t count)
{
	struct prld_device *dev = prld_sysfs_device(kobj_to_dev(kobj));
	char *path;
	ssize_t ret;

	path = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!path)
		return -ENOMEM;
	ret = mutex_lock_interruptible(&dev->mutex);
	if (!ret) {
		ret = dev->state == PRLD_BOUND ?
		      prld_chain_text(dev, path, buf, pos, count) : -ENXIO;
		mutex_unlock(&dev->mutex);
	}
	kfree(path);
	return ret;
}

/* Size 0: no fixed size, the text is as long as the chain's paths. */
static BIN_ATTR_RO(chain, 0);

static struct attribute *prld_attrs[] = {
	&prld_attr_backing_file.attr.attr,
	&prld_attr_cluster_size.attr.attr,
	&prld_attr_offset.attr.attr,
	&prld_attr_read_only.attr.attr,
	&prld_attr_dio.attr.attr,
	&prld_attr_autoclear.attr.attr,
	&prld_attr_partscan.attr.attr,
	NULL,
};

static struct bin_attribute *prld_bin_attrs[] = {
	&bin_attr_chain,
	NULL,
};

static const struct attribute_group prld_attr_group = {
	.name = "prld",
	.attrs = prld_attrs,
	.bin_attrs = prld_bin_attrs,
};

const struct attribute_group *prld_attr_groups[] = {
	&prld_attr_group,
	NULL,
};
