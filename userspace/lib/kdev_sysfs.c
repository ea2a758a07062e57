// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kdev_sysfs.c - an attached device as /sys/block/prldN/prld/ shows it
 * (driver/prld_sysfs.c): the chain and the flags, readable by anyone.
 * The allocation counts and the in-use state are not there; the ioctls
 * (kdev.c) add them for a caller that may open the device.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "prld_ioctl.h"

#define SYSFS_BLOCK "/sys/block"

/* /sys/block/@name/@attr whole, NUL-terminated (malloc'd); -errno. */
static int read_attr(const char *name, const char *attr, char **out)
{
	size_t cap = 4096, len = 0;
	char path[256], *buf, *grown;
	ssize_t n;
	int fd, ret = 0;

	*out = NULL;
	snprintf(path, sizeof(path), SYSFS_BLOCK "/%s/%s", name, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	while (buf) {
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : 0;
			break;
		}
		len += (size_t)n;
		if (len + 1 < cap)
			continue;
		grown = realloc(buf, cap *= 2);	/* a chain of long paths */
		if (!grown)
			free(buf);
		buf = grown;
	}
	close(fd);
	if (!buf)
		return -ENOMEM;
	if (ret) {
		free(buf);
		return ret;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

static int read_u64(const char *name, const char *attr, uint64_t *v)
{
	char *text, *end;
	int ret = read_attr(name, attr, &text);

	*v = 0;
	if (ret)
		return ret;
	errno = 0;
	*v = strtoull(text, &end, 10);
	ret = errno || end == text || (*end && *end != '\n') ? -EIO : 0;
	free(text);
	return ret;
}

/* One layer per line of @chain, base first. */
static int fill_layers(struct prld_dev_info *out, char *chain)
{
	unsigned int n = 0, i;
	struct stat st;
	char *line, *next;

	for (line = chain; *line; line++)
		n += *line == '\n';
	if (!n)
		return -EIO;
	out->layers = calloc(n, sizeof(*out->layers));
	if (!out->layers)
		return -ENOMEM;
	for (i = 0, line = chain; i < n; i++, line = next + 1) {
		next = strchr(line, '\n');
		*next = '\0';
		snprintf(out->layers[i].path, sizeof(out->layers[i].path), "%s",
			 line);
		if (stat(line, &st) == 0)
			out->layers[i].file_size = (uint64_t)st.st_size;
	}
	out->nlayers = n;
	out->layers[n - 1].writable = !out->read_only;
	return 0;
}

/* A flag: "0\n" or "1\n". */
static int read_flag(const char *name, const char *attr, bool *flag)
{
	uint64_t v;
	int ret = read_u64(name, attr, &v);

	*flag = v != 0;
	return ret;
}

static int read_flags(const char *name, struct prld_dev_info *out)
{
	int ret = read_flag(name, "prld/read_only", &out->read_only);

	if (!ret)
		ret = read_flag(name, "prld/dio", &out->direct_io);
	if (!ret)
		ret = read_flag(name, "prld/autoclear", &out->autoclear);
	if (!ret)
		ret = read_flag(name, "prld/partscan", &out->partscan);
	return ret;
}

int kdev_sysfs_info(const char *name, struct prld_dev_info *out)
{
	uint64_t cluster, offset, size;
	char *chain = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = read_attr(name, "prld/chain", &chain);
	if (!ret)
		ret = read_flags(name, out);
	if (!ret)
		ret = read_u64(name, "prld/cluster_size", &cluster);
	if (!ret)
		ret = read_u64(name, "prld/offset", &offset);
	if (!ret)
		ret = read_u64(name, "size", &size);
	if (!ret && (cluster < PRLD_SECTOR_SIZE || cluster % PRLD_SECTOR_SIZE))
		ret = -EIO;
	if (!ret)
		ret = fill_layers(out, chain);
	free(chain);
	if (ret) {
		prld_dev_info_free(out);
		return ret;
	}
	snprintf(out->device, sizeof(out->device), "/dev/%s", name);
	out->index = atoi(name + strlen(PRLD_DEVICE_PREFIX));
	out->offset = offset;
	out->cluster_sectors = (uint32_t)(cluster / PRLD_SECTOR_SIZE);
	out->device_sectors = size;
	out->virtual_sectors = size + offset / PRLD_SECTOR_SIZE;
	out->clusters = (out->virtual_sectors + out->cluster_sectors - 1) /
			out->cluster_sectors;
	return 0;
}
