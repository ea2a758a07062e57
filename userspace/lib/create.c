// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * create.c - new images and disk directories in the layout ploop and QEMU
 * create (format-notes §2).  A failed create removes what it made, so a
 * half-written image never looks like a valid disk.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* BAT entries written per pwrite when preallocating. */
#define BAT_CHUNK_ENTRIES	(1U << 16)

static int sys_err(struct prld_err *err, const char *path, const char *what)
{
	int code = -errno;

	return prld_set_err(err, code, "%s: %s: %s", path, what,
			    strerror(-code));
}

static int check_chs(const char *path, const struct prld_create_params *p,
		     struct prld_err *err)
{
	int given = !!p->cylinders + !!p->heads + !!p->sectors;

	if (given != 0 && given != 3)
		return prld_set_err(err, -EINVAL,
				    "%s: give all of cylinders, heads and sectors, or none (got %u/%u/%u)",
				    path, p->cylinders, p->heads, p->sectors);
	return 0;
}

static int check_params(const char *path, const struct prld_create_params *p,
			struct prld_err *err)
{
	if (!p)
		return prld_set_err(err, -EINVAL, "%s: no parameters", path);
	if (!p->size_sectors)
		return prld_set_err(err, -EINVAL,
				    "%s: disk size must be at least one sector",
				    path);
	if (p->cluster_sectors > PRLD_MAX_CLUSTER_SECTORS)
		return prld_set_err(err, -EINVAL,
				    "%s: cluster size %u sectors is out of range (1..%u sectors, up to 64 MiB)",
				    path, p->cluster_sectors,
				    PRLD_MAX_CLUSTER_SECTORS);
	if (p->fmt != 0 && p->fmt != PRLD_FMT_V1 && p->fmt != PRLD_FMT_V2)
		return prld_set_err(err, -EINVAL,
				    "%s: unknown image format %d (1 = V1, 2 = V2)",
				    path, p->fmt);
	return check_chs(path, p, err);
}

/*
 * ploop rewrites a descriptor with Sectors = Disk_size / (Cylinders *
 * Heads): a geometry that rule would change is refused, so what the user
 * asked for is what every later writer keeps.
 */
static int check_ploop_chs(const char *path, const struct prld_create_params *p,
			   uint64_t size, struct prld_err *err)
{
	uint64_t spt = size / ((uint64_t)p->cylinders * p->heads);

	if (spt == p->sectors)
		return 0;
	return prld_set_err(err, -EINVAL,
			    "%s: geometry %u/%u/%u would not survive ploop, which rewrites Sectors as Disk_size / (Cylinders * Heads) = %llu for this %llu-sector disk (its size rounded up to the cluster): give %u/%u/%llu, or another size",
			    path, p->cylinders, p->heads, p->sectors,
			    (unsigned long long)spt, (unsigned long long)size,
			    p->cylinders, p->heads, (unsigned long long)spt);
}

/* The header fields and geometry a create request turns into. */
static int plan_layout(const char *path, const struct prld_create_params *p,
		       struct prld_geom *g, struct prld_chs *chs,
		       struct prld_err *err)
{
	enum prld_fmt fmt = PRLD_FMT_V2;
	uint32_t cluster = PRLD_DEF_CLUSTER_SECTORS;
	struct prld_fault f;
	int ret;

	ret = check_params(path, p, err);
	if (ret)
		return ret;
	if (p->cluster_sectors)
		cluster = p->cluster_sectors;
	if (p->fmt)
		fmt = (enum prld_fmt)p->fmt;
	if (prld_layout(g, fmt, p->size_sectors, cluster, &f) != PRLD_OK)
		return prld_fault_err(err, path, &f);
	if (p->cylinders) {
		chs->cylinders = p->cylinders;
		chs->heads = p->heads;
		chs->sectors = p->sectors;
	} else {
		prld_chs_from_size(g->nb_sectors, chs);
	}
	g->heads = chs->heads;
	g->cylinders = chs->cylinders;
	/* A preallocated image maps every cluster: it is not empty. */
	if (p->preallocate)
		g->flags &= ~PRLD_FLAG_EMPTY;
	return 0;
}

/* Map every cluster in order right after the header area. */
static int write_full_bat(int fd, const struct prld_geom *g)
{
	__u8 *buf = malloc(BAT_CHUNK_ENTRIES * 4);
	__u64 cl = prld_cluster_bytes(g);
	__u32 i = 0, n, k;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	while (!ret && i < g->bat_entries) {
		n = g->bat_entries - i;
		if (n > BAT_CHUNK_ENTRIES)
			n = BAT_CHUNK_ENTRIES;
		for (k = 0; k < n; k++)
			prld_put_le32(buf + 4ULL * k,
				      prld_offset_to_bat(g, prld_data_start(g) +
							 (i + k) * cl));
		ret = prld_pwrite_full(fd, buf, 4ULL * n,
				       PRLD_BAT_OFFSET + 4ULL * i);
		i += n;
	}
	free(buf);
	return ret;
}

/*
 * Reserve the whole file, header area included, so it reads as zeros, has
 * no holes and cannot run out of space later.
 */
static int reserve_data(int fd, const struct prld_geom *g)
{
	off_t len = (off_t)(prld_data_start(g) +
			    (__u64)g->bat_entries * prld_cluster_bytes(g));

	if (fallocate(fd, 0, 0, len) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	/* The file system cannot fallocate: let libc write the blocks. */
	return -posix_fallocate(fd, 0, len);
}

static int fill_image(int fd, const char *path, const struct prld_geom *g,
		      bool preallocate, struct prld_err *err)
{
	__u8 hdr[PRLD_HEADER_SIZE];
	int ret;

	prld_header_encode(g, hdr);
	ret = prld_pwrite_full(fd, hdr, sizeof(hdr), 0);
	/* The BAT and padding up to data_off are zeros: a sparse extension. */
	if (!ret && ftruncate(fd, (off_t)prld_data_start(g)) < 0)
		ret = -errno;
	if (!ret && preallocate) {
		ret = reserve_data(fd, g);
		if (!ret)
			ret = write_full_bat(fd, g);
	}
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (ret)
		return prld_set_err(err, ret, "%s: cannot write image: %s",
				    path, strerror(-ret));
	return 0;
}

static int write_new_image(const char *path, const struct prld_geom *g,
			   bool preallocate, struct prld_err *err)
{
	int fd, ret;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return prld_set_err(err, -EEXIST,
					    "%s: already exists; not overwriting it",
					    path);
		return sys_err(err, path, "cannot create");
	}
	ret = fill_image(fd, path, g, preallocate, err);
	if (close(fd) < 0 && !ret)
		ret = sys_err(err, path, "cannot close");
	if (!ret) {
		ret = prld_fsync_dir(path);
		if (ret)
			prld_set_err(err, ret, "%s: cannot sync directory: %s",
				     path, strerror(-ret));
	}
	if (ret)
		unlink(path);
	return ret;
}

/*
 * One new image.  A new delta of an existing disk (@exact) has the disk's
 * exact size, not rounded up to the cluster as a new disk is: a disk QEMU
 * made, or a plain one, may end inside a cluster, and a delta one cluster
 * larger would grow the disk (the driver refuses a new top of another
 * size).
 */
static int create_image(const char *path, const struct prld_create_params *p,
			bool exact, struct prld_err *err)
{
	struct prld_geom g;
	struct prld_chs chs;
	int ret;

	ret = plan_layout(path, p, &g, &chs, err);
	if (ret)
		return ret;
	if (exact)
		g.nb_sectors = p->size_sectors;
	return write_new_image(path, &g, p->preallocate && !exact, err);
}

int prld_create_image(const char *path, const struct prld_create_params *p,
		      struct prld_err *err)
{
	return create_image(path, p, false, err);
}

/* A new empty delta of @p->size_sectors exactly (snapshots). */
int image_create_delta(const char *path, const struct prld_create_params *p,
		       struct prld_err *err)
{
	return create_image(path, p, true, err);
}

/* An empty directory is fine to create a disk in; anything else is not. */
static int dir_is_empty(const char *dir, struct prld_err *err)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int ret = 0;

	if (!d)
		return sys_err(err, dir, "cannot open directory");
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			ret = prld_set_err(err, -EEXIST,
					   "%s: directory exists and is not empty (has %s); not creating a disk there",
					   dir, e->d_name);
			break;
		}
	}
	closedir(d);
	return ret;
}

/* mkdir @dir, or accept it when it is an empty directory. *made: we made it. */
static int make_disk_dir(const char *dir, bool *made, struct prld_err *err)
{
	struct stat st;

	*made = false;
	if (mkdir(dir, 0755) == 0) {
		*made = true;
		return 0;
	}
	if (errno != EEXIST)
		return sys_err(err, dir, "cannot create directory");
	if (stat(dir, &st) < 0)
		return sys_err(err, dir, "cannot stat");
	if (!S_ISDIR(st.st_mode))
		return prld_set_err(err, -EEXIST,
				    "%s: exists and is not a directory", dir);
	return dir_is_empty(dir, err);
}

static int write_descriptor(const char *dir, const struct prld_geom *g,
			    const struct prld_chs *chs, bool preallocated,
			    struct prld_err *err)
{
	struct prld_desc *d = NULL;
	int ret;

	ret = desc_new(dir, g->nb_sectors, chs, g->cluster_sectors,
		       "root.hds", PRLD_LAYER_EXPANDING, &d, err);
	if (!ret) {
		/* ploop's mark of a preallocated disk: <Preallocated>1. */
		d->preallocated = preallocated;
		ret = desc_save(d, err);
	}
	desc_free(d);
	return ret;
}

/* Undo a failed prld_create_disk: the directory was ours or empty. */
static void remove_disk(const char *dir, const char *image, bool made_dir)
{
	char *desc = prld_join(dir, PRLD_DESCRIPTOR);
	char *tmp = prld_join(dir, PRLD_DESCRIPTOR ".tmp");

	unlink(image);
	if (desc)
		unlink(desc);
	if (tmp)
		unlink(tmp);
	free(desc);
	free(tmp);
	if (made_dir)
		rmdir(dir);
}

int prld_create_disk(const char *dir, const struct prld_create_params *p,
		     struct prld_err *err)
{
	struct prld_geom g;
	struct prld_chs chs;
	char *image;
	bool made_dir;
	int ret;

	ret = plan_layout(dir, p, &g, &chs, err);
	/* The descriptor's geometry: a bare image's is informational. */
	if (!ret && p->cylinders)
		ret = check_ploop_chs(dir, p, g.nb_sectors, err);
	if (ret)
		return ret;
	image = prld_join(dir, "root.hds");
	if (!image)
		return prld_set_err(err, -ENOMEM, "%s: out of memory", dir);
	ret = make_disk_dir(dir, &made_dir, err);
	if (ret) {
		free(image);
		return ret;
	}
	ret = write_new_image(image, &g, p->preallocate, err);
	if (ret) {
		if (made_dir)
			rmdir(dir);
		free(image);
		return ret;
	}
	ret = write_descriptor(dir, &g, &chs, p->preallocate, err);
	if (!ret) {
		/* The new directory entry itself must survive a crash. */
		ret = prld_fsync_dir(dir);
		if (ret)
			prld_set_err(err, ret,
				     "%s: cannot sync parent directory: %s",
				     dir, strerror(-ret));
	}
	if (ret)
		remove_disk(dir, image, made_dir);
	free(image);
	return ret;
}
