// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldctl resize -s SIZE: grow a disk, offline or through the device it
 * is attached as.  The filesystem on it is the user's to grow afterwards
 * (resize2fs, xfs_growfs), as after growing any block device.
 */
#include <getopt.h>
#include <stdlib.h>

#include "tool.h"

int cmd_resize(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ 0 }
	};
	struct prld_err err = { 0 };
	uint64_t size = 0;
	char *dir;
	int c, ret;

	while ((c = getopt_long(argc, argv, "s:", longopts, NULL)) != -1) {
		if (c != 's')
			return usage_error("bad option");
		if (parse_size_arg("--size", optarg, &size))
			return PRLDCTL_EXIT_FAIL;
	}
	if (!size)
		return usage_error("-s SIZE is required");
	if (optind != argc - 1)
		return usage_error("expected one DIR, IMAGE or /dev/prldN");
	if (target_dir(argv[optind], &dir) < 0)
		return PRLDCTL_EXIT_FAIL;
	ret = prld_resize(dir ? dir : argv[optind], size, &err);
	free(dir);
	if (ret < 0)
		return fail_err(&err);
	return PRLDCTL_EXIT_OK;
}
