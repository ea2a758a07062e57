// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kdev.c - questions answered by the prld kernel driver about an attached
 * device: status, layers, the list of bound devices, the blocks map.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"
#include "prld_ioctl.h"

/* The one GET_MAP call's buffer limit in the driver. */
#define MAP_CHUNK_BYTES (16U << 20)

static bool is_prld_name(const char *name)
{
	size_t n = strlen(PRLD_DEVICE_PREFIX);

	if (strncmp(name, PRLD_DEVICE_PREFIX, n) || !name[n])
		return false;
	return strspn(name + n, "0123456789") == strlen(name + n);
}

/* A whole prld disk (not a partition), judged by its sysfs name. */
bool prld_is_device(const char *path)
{
	char link[64], target[512];
	struct stat st;
	ssize_t len;

	if (stat(path, &st) < 0 || !S_ISBLK(st.st_mode))
		return false;
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u",
		 major(st.st_rdev), minor(st.st_rdev));
	len = readlink(link, target, sizeof(target) - 1);
	if (len < 0)
		return false;
	target[len] = '\0';
	return is_prld_name(basename(target));
}

static int open_prld(const char *dev, struct prld_err *err)
{
	int fd;

	if (!prld_is_device(dev))
		return prld_set_err(err, -ENOTBLK, "%s: not a prld device", dev);
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return prld_set_err(err, -errno, "%s: %s", dev, strerror(errno));
	return fd;
}

static void fill_info(struct prld_dev_info *out, const char *dev,
		      const struct prld_device_status *st)
{
	snprintf(out->device, sizeof(out->device), "%s", dev);
	out->index = (int)st->index;
	out->read_only = st->flags & PRLD_CONFIG_READ_ONLY;
	out->direct_io = st->flags & PRLD_CONFIG_DIRECT_IO;
	out->autoclear = st->flags & PRLD_CONFIG_AUTOCLEAR;
	out->partscan = !(st->flags & PRLD_CONFIG_NO_PARTSCAN);
	out->dirty = st->flags & PRLD_STATUS_DIRTY;
	out->offset = st->offset;
	out->virtual_sectors = st->virtual_sectors;
	out->device_sectors = st->device_sectors;
	out->cluster_sectors = st->cluster_sectors;
	out->clusters = st->clusters;
	out->allocated = st->allocated;
	out->nlayers = st->nr_layers;
	out->have_counts = true;
}

static int get_layer(int fd, unsigned int i, struct prld_dev_layer *out)
{
	struct prld_layer_status ls = { .size = sizeof(ls), .layer = i };

	if (ioctl(fd, PRLD_GET_LAYER, &ls) < 0)
		return -errno;
	snprintf(out->path, sizeof(out->path), "%s", ls.path);
	out->allocated = ls.allocated;
	out->file_size = ls.file_size;
	out->writable = ls.flags & PRLD_LAYER_WRITABLE;
	out->v1 = ls.flags & PRLD_LAYER_V1;
	return 0;
}

static int get_status(int fd, const char *dev, struct prld_device_status *st,
		      struct prld_err *err)
{
	*st = (struct prld_device_status){ .size = sizeof(*st) };
	if (ioctl(fd, PRLD_GET_STATUS, st) == 0)
		return 0;
	if (errno == ENXIO)
		return prld_set_err(err, -ENXIO, "%s: not attached", dev);
	return prld_set_err(err, -errno, "%s: %s", dev, strerror(errno));
}

int prld_dev_get_info(const char *dev, struct prld_dev_info *out,
		      struct prld_err *err)
{
	struct prld_device_status st;
	unsigned int i;
	int fd, ret;

	memset(out, 0, sizeof(*out));
	fd = open_prld(dev, err);
	if (fd < 0)
		return fd;
	ret = get_status(fd, dev, &st, err);
	if (!ret) {
		fill_info(out, dev, &st);
		out->layers = calloc(st.nr_layers, sizeof(*out->layers));
		if (!out->layers)
			ret = prld_set_err(err, -ENOMEM, "out of memory");
	}
	for (i = 0; !ret && i < st.nr_layers; i++)
		if ((ret = get_layer(fd, i, &out->layers[i])) < 0)
			prld_set_err(err, ret, "%s: layer %u: %s", dev, i,
				     strerror(-ret));
	close(fd);
	if (ret)
		prld_dev_info_free(out);
	return ret;
}

void prld_dev_info_free(struct prld_dev_info *info)
{
	free(info->layers);
	info->layers = NULL;
	info->nlayers = 0;
}

/*
 * @name from sysfs, with the ioctls' counts if we may open it (an older
 * module without the sysfs attributes: the ioctls only).
 */
static int bound_info(const char *name, struct prld_dev_info *info)
{
	struct prld_dev_info full;
	char dev[sizeof(((struct dirent *)0)->d_name) + 8];
	int ret;

	snprintf(dev, sizeof(dev), "/dev/%s", name);
	ret = kdev_sysfs_info(name, info);
	if (ret == -ENOENT)
		return prld_dev_get_info(dev, info, NULL);
	if (ret)
		return ret;
	ret = prld_dev_get_info(dev, &full, NULL);
	if (ret == -EACCES || ret == -EPERM)
		return 0;	/* sysfs is all this caller may see */
	prld_dev_info_free(info);
	if (ret)
		return ret;
	*info = full;
	return 0;
}

static int append_bound(const char *name, struct prld_dev_info **list,
			unsigned int *count, struct prld_err *err)
{
	struct prld_dev_info info, *grown;
	int ret;

	ret = bound_info(name, &info);
	if (ret == -ENXIO || ret == -ENOENT)
		return 0;	/* unbound, or its node not there */
	if (ret)
		return prld_set_err(err, ret, "/dev/%s: %s", name,
				    strerror(-ret));
	grown = realloc(*list, (*count + 1) * sizeof(**list));
	if (!grown) {
		prld_dev_info_free(&info);
		return prld_set_err(err, -ENOMEM, "out of memory");
	}
	*list = grown;
	(*list)[(*count)++] = info;
	return 0;
}

static int by_index(const void *a, const void *b)
{
	return ((const struct prld_dev_info *)a)->index -
	       ((const struct prld_dev_info *)b)->index;
}

int prld_dev_list(struct prld_dev_info **out, unsigned int *count,
		  struct prld_err *err)
{
	struct dirent *de;
	DIR *dir;
	int ret = 0;

	*out = NULL;
	*count = 0;
	dir = opendir("/sys/block");
	if (!dir)
		return prld_set_err(err, -errno, "/sys/block: %s",
				    strerror(errno));
	while (!ret && (de = readdir(dir)))
		if (is_prld_name(de->d_name))
			ret = append_bound(de->d_name, out, count, err);
	closedir(dir);
	if (ret) {
		while (*count)
			prld_dev_info_free(&(*out)[--*count]);
		free(*out);
		*out = NULL;
		return ret;
	}
	if (*count)	/* qsort's array may not be NULL, even when empty */
		qsort(*out, *count, sizeof(**out), by_index);
	return 0;
}

int prld_dev_flush(const char *dev, struct prld_err *err)
{
	int fd, ret = 0;

	fd = open_prld(dev, err);
	if (fd < 0)
		return fd;
	if (ioctl(fd, PRLD_FLUSH) < 0)
		ret = prld_set_err(err, -errno, "%s: flush: %s", dev,
				   errno == ENXIO ? "not attached" :
						    strerror(errno));
	close(fd);
	return ret;
}

int kdev_layer_of(const struct prld_dev_info *info, const char *path)
{
	char *real = realpath(path, NULL);
	unsigned int l;
	int found = -1;

	for (l = 0; real && l < info->nlayers; l++)
		if (!strcmp(info->layers[l].path, real))
			found = (int)l;
	free(real);
	return found;
}

/* Index of the device layer whose file is the descriptor's image @guid. */
static int layer_of_guid(const struct prld_dev_info *info,
			 const struct prld_desc *d, const char *guid,
			 struct prld_err *err)
{
	unsigned int i;
	char *path;
	int found = -1;

	for (i = 0; i < d->nimages && found < 0; i++) {
		if (strcasecmp(d->images[i].guid, guid))
			continue;
		path = prld_join(d->dir, d->images[i].file);
		if (path)
			found = kdev_layer_of(info, path);
		free(path);
	}
	if (found < 0)
		return prld_set_err(err, -ENOENT, "%s: %s is not a layer of this device",
				    info->device, guid);
	return found;
}

/* The path of the descriptor next to the device's top image, malloc'd. */
static char *device_desc_path(const struct prld_dev_info *info)
{
	char *dir = prld_dirname(info->layers[info->nlayers - 1].path);
	char *path = dir ? prld_join(dir, PRLD_DESCRIPTOR) : NULL;

	free(dir);
	return path;
}

static int load_device_desc(const struct prld_dev_info *info,
			    struct prld_desc **d, struct prld_err *err)
{
	char *path = device_desc_path(info);
	int ret;

	ret = path ? desc_load(path, d, err) :
		     prld_set_err(err, -ENOMEM, "out of memory");
	free(path);
	return ret;
}

int kdev_desc_path(const char *dev, char **out, struct prld_err *err)
{
	struct prld_dev_info info;
	int ret = prld_dev_get_info(dev, &info, err);

	if (ret)
		return ret;
	*out = device_desc_path(&info);
	prld_dev_info_free(&info);
	if (!*out)
		return prld_set_err(err, -ENOMEM, "out of memory");
	if (access(*out, F_OK) < 0) {
		ret = prld_set_err(err, -ENOENT,
				   "%s: attached from a bare image (no %s next to its top): it has no snapshots",
				   dev, PRLD_DESCRIPTOR);
		free(*out);
		*out = NULL;
	}
	return ret;
}

int prld_dev_get_map_guid(const char *dev, const char *from_guid,
			  const char *to_guid, struct prld_map *out,
			  struct prld_err *err)
{
	struct prld_desc *d = NULL;
	struct prld_dev_info info;
	int from = -1, to, ret;

	ret = prld_dev_get_info(dev, &info, err);
	if (ret)
		return ret;
	to = (int)info.nlayers - 1;
	if (from_guid || to_guid)
		ret = load_device_desc(&info, &d, err);
	if (!ret && from_guid)
		ret = from = layer_of_guid(&info, d, from_guid, err);
	if (ret >= 0 && to_guid)
		ret = to = layer_of_guid(&info, d, to_guid, err);
	if (ret >= 0)
		ret = prld_dev_get_map(dev, from, to, out, err);
	desc_free(d);
	prld_dev_info_free(&info);
	return ret < 0 ? ret : 0;
}

bool kdev_reads_only(const char *path)
{
	struct prld_dev_info *list;
	char *real = realpath(path, NULL);
	bool reader = false, writer = false;
	unsigned int n = 0, i, l;

	if (!real || prld_dev_list(&list, &n, NULL) < 0) {
		free(real);
		return false;
	}
	for (i = 0; i < n; i++) {
		for (l = 0; l < list[i].nlayers; l++) {
			if (strcmp(list[i].layers[l].path, real))
				continue;
			if (list[i].layers[l].writable)
				writer = true;
			else
				reader = true;
		}
		prld_dev_info_free(&list[i]);
	}
	free(list);
	free(real);
	return reader && !writer;
}

int kdev_find_by_top(const char *real_top, char *dev, size_t len,
		     struct prld_err *err)
{
	struct prld_dev_info *list;
	unsigned int n, i;
	int found = 0, ret;

	ret = prld_dev_list(&list, &n, err);
	if (ret < 0)
		return ret;
	for (i = 0; i < n; i++) {
		if (!found && list[i].nlayers &&
		    !strcmp(list[i].layers[list[i].nlayers - 1].path,
			    real_top)) {
			snprintf(dev, len, "%s", list[i].device);
			found = 1;
		}
		prld_dev_info_free(&list[i]);
	}
	free(list);
	return found;
}

/* Fill map->bits in MAP_CHUNK_BYTES pieces (the driver's limit per call). */
static int read_map(int fd, const char *dev, struct prld_map_request *req,
		    struct prld_map *map, struct prld_err *err)
{
	uint64_t bytes = (map->nbits + 7) / 8, done;

	for (done = 0; done < bytes; done += req->buf_bytes) {
		req->first_bit = done * 8;
		req->bits = (uintptr_t)(map->bits + done);
		req->buf_bytes = bytes - done < MAP_CHUNK_BYTES ?
				 bytes - done : MAP_CHUNK_BYTES;
		req->granularity = 0;
		req->nbits = 0;
		if (ioctl(fd, PRLD_GET_MAP, req) < 0)
			return prld_set_err(err, -errno, "%s: reading the map: %s",
					    dev, strerror(errno));
	}
	return 0;
}

int prld_dev_get_map(const char *dev, int from_layer, int to_layer,
		     struct prld_map *map, struct prld_err *err)
{
	struct prld_device_status st;
	struct prld_map_request req = { .size = sizeof(req) };
	int fd, ret;

	memset(map, 0, sizeof(*map));
	fd = open_prld(dev, err);
	if (fd < 0)
		return fd;
	ret = get_status(fd, dev, &st, err);
	if (!ret && (to_layer < 0 || to_layer >= (int)st.nr_layers ||
		     from_layer >= to_layer))
		ret = prld_set_err(err, -EINVAL, "%s: no layers %d..%d in a chain of %u",
				   dev, from_layer, to_layer, st.nr_layers);
	if (!ret) {
		map->granularity = (uint64_t)st.cluster_sectors * PRLD_SECTOR_SIZE;
		map->nbits = st.clusters;
		map->bits = calloc(1, (map->nbits + 7) / 8 + 1);
		if (!map->bits)
			ret = prld_set_err(err, -ENOMEM, "out of memory");
	}
	req.from_layer = from_layer < 0 ? PRLD_MAP_FROM_NONE : (uint32_t)from_layer;
	req.to_layer = (uint32_t)to_layer;
	if (!ret)
		ret = read_map(fd, dev, &req, map, err);
	close(fd);
	if (ret)
		prld_map_free(map);
	return ret;
}
