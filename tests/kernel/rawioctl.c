// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rawioctl - one raw prld ioctl, for the abuse and race tests: no libprld,
 * no checks of its own, so whatever it sends reaches the driver.
 *
 *   rawioctl ctl-add N | ctl-remove N | ctl-get-free
 *   rawioctl detach DEV [deferred] | status DEV | layer DEV N | flush DEV
 *   rawioctl map DEV
 *   rawioctl push DEV FILE			PRLD_PUSH_TOP of FILE
 *   rawioctl merge DEV copy|drop LAYER FILE [FIELD=N]...
 *	PRLD_MERGE_COPY or _DROP of LAYER, FILE its file (opened read-only),
 *	FIELD one of first, count, size, flags, copied, reserved (the last
 *	reserved word); prints copied
 *   rawioctl configure DEV KIND [FILE]	PRLD_CONFIGURE of one layer
 *	whose descriptor is of KIND: file (FILE read-write), wronly (FILE
 *	opened write-only), opath (O_PATH), pipe, socket, null (/dev/null),
 *	eventfd, memfd (FILE's bytes copied into a memfd), self (the
 *	device's own descriptor)
 *
 * DEV is opened read-write (read-only for status/layer/map).  Prints the
 * ioctl's non-negative result; on failure "<op>: <errno name> (...)" on
 * stderr and exit status 1.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prld_ioctl.h"

static int fail(const char *what)
{
	fprintf(stderr, "%s: %s (%s)\n", what, strerrorname_np(errno),
		strerror(errno));
	return 1;
}

static int done(const char *what, long ret)
{
	if (ret < 0)
		return fail(what);
	printf("%ld\n", ret);
	return 0;
}

/* A descriptor of @kind for the layer; @dev is the device's own. */
static int layer_fd(const char *kind, const char *file, int dev)
{
	int fds[2], fd, src;
	char buf[65536];
	ssize_t n;

	if (!strcmp(kind, "file"))
		return open(file, O_RDWR);
	if (!strcmp(kind, "wronly"))
		return open(file, O_WRONLY);
	if (!strcmp(kind, "opath"))
		return open(file, O_PATH);
	if (!strcmp(kind, "pipe"))
		return pipe(fds) ? -1 : fds[0];
	if (!strcmp(kind, "socket"))
		return socketpair(AF_UNIX, SOCK_STREAM, 0, fds) ? -1 : fds[0];
	if (!strcmp(kind, "null"))
		return open("/dev/null", O_RDWR);
	if (!strcmp(kind, "eventfd"))
		return eventfd(0, 0);
	if (!strcmp(kind, "self"))
		return dev;
	if (strcmp(kind, "memfd"))
		return errno = EINVAL, -1;
	fd = memfd_create("prld-image", 0);
	src = open(file, O_RDONLY);
	if (fd < 0 || src < 0)
		return -1;
	while ((n = read(src, buf, sizeof(buf))) > 0)
		if (write(fd, buf, n) != n)
			return -1;
	close(src);
	return n < 0 ? -1 : fd;
}

static int configure(int dev, const char *kind, const char *file)
{
	struct prld_config cfg = { .size = sizeof(cfg), .nr_layers = 1 };
	__s32 fd = layer_fd(kind, file, dev);

	if (fd < 0)
		return fail(kind);
	cfg.fds = (__u64)(unsigned long)&fd;
	return done("configure", ioctl(dev, PRLD_CONFIGURE, &cfg));
}

/* rawioctl merge DEV copy|drop LAYER FILE [FIELD=N]... */
static int merge(int dev, int argc, char **argv)
{
	struct prld_merge req = { .size = sizeof(req) };
	bool copy = !strcmp(argv[3], "copy");
	unsigned long long v;
	char field[16];
	int i;

	req.layer = (__u32)atoi(argv[4]);
	req.fd = open(argv[5], O_RDONLY);
	if (req.fd < 0)
		return fail(argv[5]);
	for (i = 6; i < argc; i++) {
		if (sscanf(argv[i], "%15[a-z]=%lli", field, (long long *)&v) != 2)
			return 2;
		if (!strcmp(field, "first"))
			req.first = v;
		else if (!strcmp(field, "count"))
			req.count = v;
		else if (!strcmp(field, "size"))
			req.size = (__u32)v;
		else if (!strcmp(field, "flags"))
			req.flags = (__u32)v;
		else if (!strcmp(field, "copied"))
			req.copied = v;
		else if (!strcmp(field, "reserved"))
			req.reserved[3] = v;
		else
			return 2;
	}
	if (ioctl(dev, copy ? PRLD_MERGE_COPY : PRLD_MERGE_DROP, &req))
		return fail(copy ? "merge-copy" : "merge-drop");
	printf("%llu\n", (unsigned long long)req.copied);
	return 0;
}

static int dev_op(const char *op, int argc, char **argv)
{
	int ro = !strcmp(op, "status") || !strcmp(op, "layer") ||
		 !strcmp(op, "map");
	int dev = open(argv[2], ro ? O_RDONLY : O_RDWR);

	if (dev < 0)
		return fail(argv[2]);
	if (!strcmp(op, "detach"))
		return done(op, ioctl(dev, PRLD_DETACH, argc > 3 &&
				      !strcmp(argv[3], "deferred") ?
				      PRLD_DETACH_DEFERRED : 0));
	if (!strcmp(op, "flush"))
		return done(op, ioctl(dev, PRLD_FLUSH, 0));
	if (!strcmp(op, "status")) {
		struct prld_device_status st = { .size = sizeof(st) };

		return done(op, ioctl(dev, PRLD_GET_STATUS, &st) ?: (long)st.nr_layers);
	}
	if (!strcmp(op, "layer") && argc > 3) {
		static struct prld_layer_status ls = { .size = sizeof(ls) };

		ls.layer = (__u32)atoi(argv[3]);
		if (ioctl(dev, PRLD_GET_LAYER, &ls))
			return fail(op);
		printf("%s\n", ls.path);
		return 0;
	}
	if (!strcmp(op, "map")) {
		static unsigned char bits[4096];
		struct prld_map_request req = {
			.size = sizeof(req), .from_layer = PRLD_MAP_FROM_NONE,
			.bits = (__u64)(unsigned long)bits, .buf_bytes = sizeof(bits),
		};

		return done(op, ioctl(dev, PRLD_GET_MAP, &req) ?: (long)req.nbits);
	}
	if (!strcmp(op, "push") && argc > 3) {
		struct prld_push_top req = { .size = sizeof(req) };

		req.fd = open(argv[3], O_RDWR);
		if (req.fd < 0)
			return fail(argv[3]);
		return done(op, ioctl(dev, PRLD_PUSH_TOP, &req));
	}
	if (!strcmp(op, "configure") && argc > 3)
		return configure(dev, argv[3], argc > 4 ? argv[4] : NULL);
	if (!strcmp(op, "merge") && argc > 5)
		return merge(dev, argc, argv);
	return 2;
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";
	int ctl;

	if (!strncmp(op, "ctl-", 4)) {
		ctl = open("/dev/" PRLD_CONTROL_NAME, O_RDWR);
		if (ctl < 0)
			return fail("control");
		if (!strcmp(op, "ctl-add") && argc > 2)
			return done(op, ioctl(ctl, PRLD_CTL_ADD, atol(argv[2])));
		if (!strcmp(op, "ctl-remove") && argc > 2)
			return done(op, ioctl(ctl, PRLD_CTL_REMOVE, atol(argv[2])));
		if (!strcmp(op, "ctl-get-free"))
			return done(op, ioctl(ctl, PRLD_CTL_GET_FREE, 0));
		return 2;
	}
	if (argc < 3)
		return 2;
	return dev_op(op, argc, argv);
}
