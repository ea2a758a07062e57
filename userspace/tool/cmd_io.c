// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldctl read / write: stream the virtual disk to stdout, or stdin into
 * it.  --offset is the SDK's open policy (every access shifted by that many
 * bytes), so "read from byte N" and "open with offset N" are one path.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

#define IO_CHUNK (1U << 20)

struct io_opts {
	uint64_t offset, length;
	bool have_length;
	const char *path;
	const char *snapshot;	/* read a snapshot's state */
};

static int parse_io(int argc, char **argv, struct io_opts *o, bool reading)
{
	static const struct option longopts[] = {
		{ "offset", required_argument, NULL, 'o' },
		{ "length", required_argument, NULL, 'l' },
		{ "snapshot", required_argument, NULL, 's' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (parse_size_arg("--offset", optarg, &o->offset))
				return PRLDCTL_EXIT_FAIL;
			break;
		case 'l':
			if (!reading)
				return usage_error("--length is for read only");
			if (parse_size_arg("--length", optarg, &o->length))
				return PRLDCTL_EXIT_FAIL;
			o->have_length = true;
			break;
		case 's':
			if (!reading)
				return usage_error("--snapshot is for read only (snapshots are read-only)");
			o->snapshot = optarg;
			break;
		default:
			return usage_error("bad option");
		}
	}
	if (optind != argc - 1)
		return usage_error("expected one DIR or IMAGE");
	o->path = argv[optind];
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("writing to stdout: %s", strerror(errno));
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int stream_out(struct prld_disk *disk, uint64_t length, char *buf)
{
	struct prld_err err = { 0 };
	uint64_t pos = 0;
	size_t n;

	while (pos < length) {
		n = length - pos < IO_CHUNK ? (size_t)(length - pos) : IO_CHUNK;
		if (prld_pread(disk, buf, n, pos, &err) < 0)
			return fail_err(&err);
		if (write_all(STDOUT_FILENO, buf, n))
			return PRLDCTL_EXIT_FAIL;
		pos += n;
	}
	return 0;
}

int cmd_read(int argc, char **argv)
{
	struct io_opts o = { 0 };
	struct prld_disk *disk;
	struct prld_info info;
	char *buf;
	int status;

	if (parse_io(argc, argv, &o, true))
		return PRLDCTL_EXIT_FAIL;
	disk = open_disk_state(o.path, o.snapshot, PRLD_OPEN_READ, o.offset);
	if (!disk)
		return PRLDCTL_EXIT_FAIL;
	prld_get_info(disk, &info);
	if (!o.have_length)
		o.length = info.visible_bytes;
	if (o.length > info.visible_bytes) {
		char len_s[48], size_s[48];

		fail("%s: --length %s from --offset %" PRIu64
		     " runs past the end of the disk (%s)", o.path,
		     bytes_str(o.length, len_s, sizeof(len_s)), o.offset,
		     bytes_str(info.size_sectors * 512, size_s,
			       sizeof(size_s)));
		return close_disk(disk, PRLDCTL_EXIT_FAIL);
	}
	buf = malloc(IO_CHUNK);
	status = buf ? stream_out(disk, o.length, buf) :
		       fail("out of memory");
	free(buf);
	return close_disk(disk, status);
}

/* Fill @buf from stdin; fewer than @len bytes only at end of input. */
static ssize_t read_full(char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len && !interrupted()) {
		n = read(STDIN_FILENO, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/*
 * Whole chunks of stdin into the disk.  A signal stops it between two
 * writes, dropping the chunk it cut short: the disk then holds a prefix
 * of the input, whole chunks of it, and closes cleanly.
 */
static int stream_in(struct prld_disk *disk, const struct io_opts *o,
		     char *buf, uint64_t *written)
{
	struct prld_err err = { 0 };
	struct prld_info info;
	char end_s[48], size_s[48];
	ssize_t n;

	prld_get_info(disk, &info);
	for (;;) {
		n = read_full(buf, IO_CHUNK);
		if (interrupted())
			return interrupt_exit();
		if (n < 0)
			return fail("reading stdin: %s", strerror((int)-n));
		if (n == 0)
			return 0;
		if (*written + (uint64_t)n > info.visible_bytes)
			return fail("%s: the input runs past the end of the disk: --offset %" PRIu64
				    " + more than %s of input > the disk's %s",
				    o->path, o->offset,
				    bytes_str(info.visible_bytes, end_s, sizeof(end_s)),
				    bytes_str(info.size_sectors * 512, size_s,
					      sizeof(size_s)));
		if (prld_pwrite(disk, buf, (size_t)n, *written, &err) < 0)
			return fail_err(&err);
		*written += (uint64_t)n;
	}
}

int cmd_write(int argc, char **argv)
{
	struct io_opts o = { 0 };
	struct prld_disk *disk;
	uint64_t written = 0;
	char done[48];
	char *buf;
	int status;

	if (parse_io(argc, argv, &o, false))
		return PRLDCTL_EXIT_FAIL;
	disk = open_disk(o.path, PRLD_OPEN_READ | PRLD_OPEN_WRITE, o.offset);
	if (!disk)
		return PRLDCTL_EXIT_FAIL;
	interrupt_catch();
	buf = malloc(IO_CHUNK);
	status = buf ? stream_in(disk, &o, buf, &written) :
		       fail("out of memory");
	free(buf);
	status = close_disk(disk, status);
	if (interrupted())
		fail("interrupted: %s written from --offset %" PRIu64
		     "; %s closed cleanly", bytes_str(written, done, sizeof(done)),
		     o.offset, o.path);
	return status;
}
