// SPDX-License-Identifier: GPL-2.0
/*
 * prld - Parallels/ploop virtual disks as block devices.
 *
 * prld_main.c: module parameters, init/exit, and /dev/prld-control, which
 * creates and removes /dev/prldN on demand as loop-control does.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

#include "prld.h"
#include "prld_fault.h"

/* The index idr and idr_visible; never held across I/O. */
DEFINE_MUTEX(prld_ctl_mutex);
DEFINE_IDR(prld_index_idr);
int prld_major;

static unsigned int nr_devices;
module_param(nr_devices, uint, 0444);
MODULE_PARM_DESC(nr_devices, "Devices created at load (default 0: on demand)");

static long prld_ctl_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	/* Indexes arrive as the argument itself, as with loop-control. */
	long index = (long)arg;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	switch (cmd) {
	case PRLD_CTL_ADD:
		if (index < -1 || index > INT_MAX)
			return -EINVAL;
		return prld_add((int)index);
	case PRLD_CTL_REMOVE:
		if (index < 0 || index > INT_MAX)
			return -EINVAL;
		return prld_remove((int)index);
	case PRLD_CTL_GET_FREE:
		if (arg)
			return -EINVAL;
		return prld_get_free();
	default:
		return -ENOTTY;
	}
}

/*
 * A 32-bit caller's index arrives zero-extended: -1 ("any") would read as
 * 4294967295.  Indexes are ints, so sign-extend them as such.
 */
static long prld_ctl_compat_ioctl(struct file *file, unsigned int cmd,
				  unsigned long arg)
{
	return prld_ctl_ioctl(file, cmd, (unsigned long)(long)(int)arg);
}

static const struct file_operations prld_ctl_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.unlocked_ioctl = prld_ctl_ioctl,
	.compat_ioctl = prld_ctl_compat_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice prld_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = PRLD_CONTROL_NAME,
	.fops = &prld_ctl_fops,
	.mode = 0600,
};

static int __init prld_init(void)
{
	unsigned int i;
	int ret;

	prld_major = register_blkdev(0, PRLD_DEVICE_PREFIX);
	if (prld_major < 0)
		return prld_major;
	ret = misc_register(&prld_misc);
	if (ret)
		goto out_blkdev;
	/*
	 * As loop: a device that cannot be made is reported, not fatal.
	 * Unwinding would delete disks udev may have opened already.
	 */
	for (i = 0; i < nr_devices; i++) {
		ret = prld_add(i);
		if (ret < 0)
			pr_warn("creating prld%u failed (%d)\n", i, ret);
	}
	prld_fault_init();	/* test builds only: prld_fault.h */
	pr_info("loaded (major %d)\n", prld_major);
	return 0;

out_blkdev:
	unregister_blkdev(prld_major, PRLD_DEVICE_PREFIX);
	return ret;
}

static void __exit prld_exit(void)
{
	/* No device is bound: each bound one holds a module reference. */
	prld_fault_exit();
	misc_deregister(&prld_misc);
	prld_remove_all();
	idr_destroy(&prld_index_idr);
	unregister_blkdev(prld_major, PRLD_DEVICE_PREFIX);
}

module_init(prld_init);
module_exit(prld_exit);
MODULE_DESCRIPTION("Parallels/ploop virtual disk block device");
MODULE_LICENSE("GPL");
/*
 * No MODULE_ALIAS("devname:..."): with a dynamic misc minor depmod has no
 * node to create, so it would load nothing; dkms loads the module at boot.
 */
