// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rawattach - issue PRLD_CONFIGURE directly, without libprld's checks, so
 * tests reach the kernel's own validation: malformed images, and malformed
 * ioctl arguments (wrong size, unknown flags, non-zero padding/reserved,
 * bad descriptors).
 *
 *   rawattach [--ro] [--offset N] [--flags X] [--size N] [--pad N]
 *             [--reserved N] [--nr N] [--bad-fd] [--bad-ptr] [--ro-fds]
 *             FILE...
 *   rawattach --push-to DEV [--flags X] [--size N] [--pad N] [--reserved N]
 *             [--ro-fds] FILE       (PRLD_PUSH_TOP of FILE onto DEV)
 *   --append opens every file with O_APPEND (which the driver refuses)
 *   --plain N sets PRLD_CONFIG_PLAIN_BASE with plain_sectors N (any N,
 *   with --flags too, so the validation can be driven)
 *   --parts A,B,... sets PRLD_CONFIG_SPLIT: the files are parts of A, B,
 *   ... layers (the top of each opened read-write unless --ro)
 *   rawattach --revert-to DEV [--flags X] [--size N] [--pad N] [--reserved N]
 *             [--nr N] [--bad-fd] [--bad-ptr] [--ro-fds] FILE...
 *                                   (PRLD_REVERT of DEV to the chain FILE...)
 *
 * --make-it-fail sets /proc/self/make-it-fail around the ioctl alone, for
 * failslab with task-filter: the kernel's allocations for the ioctl fail,
 * never those of the exec or of the file opens (in the test VM those read
 * the 9p root, whose client does not survive a failed allocation: every
 * later exec in the guest fails with EINVAL).
 *
 * Prints /dev/prldN on success; on failure "configure: <errno name>" on
 * stderr and exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "prld_ioctl.h"

/* The last element of an array: where --reserved puts its value. */
#define ARRAY_LAST(a) (sizeof(a) / sizeof((a)[0]) - 1)

static int fail_fd = -1;	/* /proc/self/make-it-fail, or -1 */
static int append_flag;		/* --append: files opened with O_APPEND */
static uint32_t part_layers[PRLD_MAX_PARTS];	/* --parts */
static unsigned int nr_parts;

/* --parts A,B,...: the layers of each part. */
static int parse_parts(char *arg)
{
	char *tok;

	for (tok = strtok(arg, ","); tok; tok = strtok(NULL, ",")) {
		if (nr_parts == PRLD_MAX_PARTS)
			return -1;
		part_layers[nr_parts++] = strtoul(tok, NULL, 0);
	}
	return 0;
}

/* Is file @i (of @n) the top of its part? */
static int part_top(int i, int n)
{
	unsigned int k, end = 0;

	if (!nr_parts)
		return i == n - 1;
	for (k = 0; k < nr_parts; k++) {
		end += part_layers[k];
		if ((unsigned int)i < end)
			return (unsigned int)i == end - 1;
	}
	return 0;
}

/* ioctl() with this task's allocations failing as failslab decides. */
static int failing_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret, err;

	if (fail_fd >= 0 && pwrite(fail_fd, "1", 1, 0) != 1)
		return -1;
	ret = ioctl(fd, cmd, arg);
	err = errno;
	if (fail_fd >= 0 && pwrite(fail_fd, "0", 1, 0) != 1)
		return -1;
	errno = err;
	return ret;
}

static int fail(const char *what)
{
	fprintf(stderr, "%s: %s (%s)\n", what, strerrorname_np(errno),
		strerror(errno));
	return 1;
}

/* PRLD_PUSH_TOP with the configure options' size/flags/pad/reserved. */
static int push(const char *devpath, const struct prld_config *cfg,
		int ro_fds, int nfiles, char **files)
{
	struct prld_push_top req = {
		.size = cfg->size == sizeof(*cfg) ? sizeof(req) : cfg->size,
		.flags = cfg->flags,
		.pad = cfg->pad,
	};
	int dev;

	if (nfiles != 1)
		return 2;
	req.reserved[ARRAY_LAST(req.reserved)] = cfg->reserved[0];
	req.fd = open(files[0], (ro_fds ? O_RDONLY : O_RDWR) | append_flag);
	if (req.fd < 0)
		return fail(files[0]);
	dev = open(devpath, O_RDONLY);
	if (dev < 0)
		return fail(devpath);
	if (failing_ioctl(dev, PRLD_PUSH_TOP, &req) < 0)
		return fail("push");
	return 0;
}

/* PRLD_REVERT to the chain in @fds, with the configure options' fields. */
static int revert(const char *devpath, const struct prld_config *cfg)
{
	struct prld_revert req = {
		.size = cfg->size == sizeof(*cfg) ? sizeof(req) : cfg->size,
		.flags = cfg->flags,
		.pad = cfg->pad,
		.fds = cfg->fds,
		.nr_layers = cfg->nr_layers,
	};
	int dev;

	req.reserved[ARRAY_LAST(req.reserved)] = cfg->reserved[0];
	dev = open(devpath, O_RDONLY);
	if (dev < 0)
		return fail(devpath);
	if (failing_ioctl(dev, PRLD_REVERT, &req) < 0)
		return fail("revert");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ro", no_argument, NULL, 'r' },
		{ "offset", required_argument, NULL, 'o' },
		{ "flags", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 's' },
		{ "pad", required_argument, NULL, 'p' },
		{ "reserved", required_argument, NULL, 'R' },
		{ "nr", required_argument, NULL, 'n' },
		{ "bad-fd", no_argument, NULL, 'b' },
		{ "bad-ptr", no_argument, NULL, 'P' },
		{ "ro-fds", no_argument, NULL, 'O' },
		{ "push-to", required_argument, NULL, 'T' },
		{ "revert-to", required_argument, NULL, 'V' },
		{ "make-it-fail", no_argument, NULL, 'F' },
		{ "append", no_argument, NULL, 'A' },
		{ "plain", required_argument, NULL, 'L' },
		{ "parts", required_argument, NULL, 'S' },
		{ 0 }
	};
	struct prld_config cfg = { .size = sizeof(cfg) };
	int c, ctl, dev, index, nr = -1, ro = 0, bad_fd = 0, bad_ptr = 0, i;
	int ro_fds = 0;
	const char *push_to = NULL, *revert_to = NULL;
	char path[64];
	int32_t fds[PRLD_MAX_LAYERS + 1];

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': ro = 1; cfg.flags |= PRLD_CONFIG_READ_ONLY; break;
		case 'o': cfg.offset = strtoull(optarg, NULL, 0); break;
		case 'f': cfg.flags = strtoul(optarg, NULL, 0); break;
		case 's': cfg.size = strtoul(optarg, NULL, 0); break;
		case 'p': cfg.pad = strtoul(optarg, NULL, 0); break;
		case 'R': cfg.reserved[0] = strtoull(optarg, NULL, 0); break;
		case 'n': nr = atoi(optarg); break;
		case 'b': bad_fd = 1; break;
		case 'P': bad_ptr = 1; break;
		case 'O': ro_fds = 1; break;
		case 'T': push_to = optarg; break;
		case 'V': revert_to = optarg; break;
		case 'A': append_flag = O_APPEND; break;
		case 'L':
			cfg.plain_sectors = strtoull(optarg, NULL, 0);
			cfg.flags |= PRLD_CONFIG_PLAIN_BASE;
			break;
		case 'S':
			if (parse_parts(optarg))
				return 2;
			cfg.flags |= PRLD_CONFIG_SPLIT;
			cfg.nr_parts = nr_parts;
			cfg.part_layers = (uintptr_t)part_layers;
			break;
		case 'F':
			fail_fd = open("/proc/self/make-it-fail", O_WRONLY);
			if (fail_fd < 0)
				return fail("/proc/self/make-it-fail");
			break;
		default: return 2;
		}
	}
	if (push_to)
		return push(push_to, &cfg, ro_fds, argc - optind, argv + optind);
	if (argc - optind > PRLD_MAX_LAYERS)
		return 2;
	for (i = 0; i <= PRLD_MAX_LAYERS; i++)
		fds[i] = -1;
	for (i = optind; i < argc; i++) {
		int top = part_top(i - optind, argc - optind);

		fds[i - optind] = open(argv[i],
				       (top && !ro && !ro_fds ? O_RDWR : O_RDONLY) |
				       append_flag);
		if (fds[i - optind] < 0)
			return fail(argv[i]);
	}
	if (bad_fd)
		fds[0] = 1000;
	cfg.nr_layers = nr >= 0 ? (uint32_t)nr : (uint32_t)(argc - optind);
	cfg.fds = bad_ptr ? 8 : (uintptr_t)fds;
	if (revert_to)
		return revert(revert_to, &cfg);
	ctl = open("/dev/" PRLD_CONTROL_NAME, O_RDWR);
	if (ctl < 0)
		return fail("control");
	index = ioctl(ctl, PRLD_CTL_GET_FREE, 0);
	if (index < 0)
		return fail("get-free");
	snprintf(path, sizeof(path), "/dev/" PRLD_DEVICE_PREFIX "%d", index);
	for (i = 0; i < 100 && (dev = open(path, ro ? O_RDONLY : O_RDWR)) < 0;
	     i++)
		usleep(10000);
	if (dev < 0)
		return fail(path);
	if (failing_ioctl(dev, PRLD_CONFIGURE, &cfg) < 0)
		return fail("configure");
	printf("%s\n", path);
	return 0;
}
