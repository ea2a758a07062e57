// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldctl resize -s SIZE: grow a disk, offline or through the device it
 * is attached as.  The filesystem on it is the user's to grow afterwards
 * (resize2fs, xfs_growfs), as after growing any block device.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>

#include "tool.h"

/* The disk's virtual size now, in bytes: from the kernel for a device. */
static int current_size(const char *target, uint64_t *bytes)
{
	struct prld_dev_info dinfo;
	struct prld_err err = { 0 };
	struct prld_disk *disk;
	struct prld_info info;

	if (prld_is_device(target)) {
		if (prld_dev_get_info(target, &dinfo, &err) < 0)
			return fail_err(&err);
		*bytes = dinfo.virtual_sectors * 512;
		prld_dev_info_free(&dinfo);
		return 0;
	}
	disk = open_disk(target, PRLD_OPEN_READ | PRLD_OPEN_FAKE, 0);
	if (!disk)
		return PRLDCTL_EXIT_FAIL;
	prld_get_info(disk, &info);
	*bytes = info.size_sectors * 512;
	return close_disk(disk, 0);
}

/* "-s +1G": that much more than the disk has now. */
static int relative_size(const char *target, uint64_t add, uint64_t *size)
{
	uint64_t now = 0;

	if (current_size(target, &now))
		return PRLDCTL_EXIT_FAIL;
	if (now > UINT64_MAX - add)
		return fail("%s: +%" PRIu64 " bytes overflows the size", target,
			    add);
	*size = now + add;
	return 0;
}

int cmd_resize(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ 0 }
	};
	struct prld_err err = { 0 };
	uint64_t size = 0;
	bool relative = false;
	char *dir;
	int c, ret;

	while ((c = getopt_long(argc, argv, "s:", longopts, NULL)) != -1) {
		if (c != 's')
			return usage_error("bad option");
		relative = optarg[0] == '+';
		if (parse_size_arg("--size", optarg + relative, &size))
			return PRLDCTL_EXIT_FAIL;
	}
	if (!size)
		return usage_error("-s SIZE (or +SIZE) is required");
	if (optind != argc - 1)
		return usage_error("expected one DIR, IMAGE or /dev/prldN");
	if (relative && relative_size(argv[optind], size, &size))
		return PRLDCTL_EXIT_FAIL;
	if (target_dir(argv[optind], &dir) < 0)
		return PRLDCTL_EXIT_FAIL;
	ret = prld_resize(dir ? dir : argv[optind], size, &err);
	free(dir);
	if (ret < 0)
		return fail_err(&err);
	return PRLDCTL_EXIT_OK;
}
