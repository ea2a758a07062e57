// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * descriptor_lookup.c - finding a disk's descriptor and the entries in it,
 * and locking its top: shared by the operations that change the snapshot
 * tree (snapshot.c and the merge_*.c files) so that they agree on paths,
 * GUID matching and what "in use" means.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static bool is_xml(const char *path)
{
	size_t n = strlen(path);

	return n >= 4 && !strcasecmp(path + n - 4, ".xml");
}

char *desc_bundle_of(const char *path)
{
	char *dir, *desc = NULL;
	const char *base = strrchr(path, '/'), *dbase;
	struct stat st;

	base = base ? base + 1 : path;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size)
		return NULL;
	dir = prld_dirname(path);
	if (!dir)
		return NULL;
	dbase = strrchr(dir, '/');
	dbase = dbase ? dbase + 1 : dir;
	if (!strcmp(base, dbase))
		desc = prld_join(dir, PRLD_DESCRIPTOR);
	free(dir);
	if (desc && access(desc, F_OK) < 0) {
		free(desc);
		desc = NULL;
	}
	return desc;
}

int desc_missing(const char *dir, const char *need, struct prld_err *err)
{
	char *backup = prld_join(dir, PRLD_DESCRIPTOR ".Backup");
	bool has_backup = backup && access(backup, F_OK) == 0;
	int ret;

	if (has_backup)
		ret = prld_set_err(err, -ENOENT,
				   "%s: no %s, only Parallels Desktop's copy %s: if it is current, restore it (cp '%s' '%s/%s') and try again",
				   dir, PRLD_DESCRIPTOR, PRLD_DESCRIPTOR ".Backup",
				   backup, dir, PRLD_DESCRIPTOR);
	else
		ret = prld_set_err(err, -ENOENT,
				   "%s: no %s: not a disk directory (%s one; a bare image has none)",
				   dir, PRLD_DESCRIPTOR, need);
	free(backup);
	return ret;
}

int desc_locate(const char *path, const char *need, char **out,
		struct prld_err *err)
{
	struct stat st;

	*out = NULL;
	if (stat(path, &st) < 0)
		return prld_sys_err(err, -errno, path, "cannot stat");
	if (S_ISDIR(st.st_mode))
		*out = prld_join(path, PRLD_DESCRIPTOR);
	else if (is_xml(path))
		*out = strdup(path);
	else if (!(*out = desc_bundle_of(path)))
		return prld_set_err(err, -EINVAL,
				    "%s: not a disk directory; %s a %s (a bare image has none)",
				    path, need, PRLD_DESCRIPTOR);
	if (!*out)
		return prld_set_err(err, -ENOMEM, "out of memory");
	if (access(*out, F_OK) < 0 && errno == ENOENT) {
		free(*out);
		*out = NULL;
		return desc_missing(path, need, err);
	}
	return 0;
}

/* Both entry types begin with their GUID: one search serves the two arrays. */
static int find_guid(const void *arr, size_t stride, unsigned int n,
		     const char *guid)
{
	const char *p = arr;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!strcasecmp(p + i * stride, guid))
			return (int)i;
	return -1;
}

int desc_find_shot(const struct prld_desc *d, const char *guid)
{
	return find_guid(d->shots, sizeof(*d->shots), d->nshots, guid);
}

int desc_find_image(const struct prld_desc *d, const char *guid)
{
	return find_guid(d->images, sizeof(*d->images), d->nimages, guid);
}

static char *join_file(const struct prld_desc *d, const char *file)
{
	return file[0] == '/' ? strdup(file) : prld_join(d->dir, file);
}

/*
 * Parallels Desktop on Windows writes ".\name.hds".  On Linux a backslash
 * is an ordinary character, so a file of that literal name wins; only when
 * there is none are the backslashes read as separators.
 */
char *desc_file_path(const struct prld_desc *d, const char *file)
{
	char *path = join_file(d, file), *unix_name, *c;

	if (!path || !strchr(file, '\\') || access(path, F_OK) == 0)
		return path;
	unix_name = strdup(file);
	if (!unix_name)
		return path;
	for (c = unix_name; *c; c++)
		if (*c == '\\')
			*c = '/';
	c = join_file(d, unix_name);
	free(unix_name);
	if (!c)
		return path;
	free(path);
	return c;
}

int desc_lock_top(const char *top_path, const char *busy,
		  struct prld_err *err)
{
	int fd, ret;

	fd = open(top_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return prld_sys_err(err, -errno, top_path, "cannot open");
	ret = lock_image_fd(fd, true);
	if (ret == 0)
		return fd;
	if (ret == -EBUSY)
		ret = prld_set_err(err, -EBUSY,
				   "%s: disk in use (attached as a device or open by another process); %sclose it first",
				   top_path, busy);
	else
		ret = prld_sys_err(err, ret, top_path, "cannot lock");
	close(fd);
	return ret;
}

int desc_lock_dir(const char *dir, struct prld_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return prld_sys_err(err, -errno, dir, "cannot open");
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	close(fd);
	if (errno != EWOULDBLOCK)
		return prld_sys_err(err, -errno, dir, "cannot lock");
	return prld_set_err(err, -EBUSY,
			    "%s: another snapshot operation is running; try again",
			    dir);
}

int desc_find_named_shot(const struct prld_desc *d, const char *guid,
			 struct prld_err *err)
{
	int s;

	if (!guid || !desc_guid_valid(guid))
		return prld_set_err(err, -EINVAL,
				    "'%s' is not a snapshot GUID (want one like %s)",
				    guid ? guid : "", PRLD_ZERO_GUID);
	s = desc_find_shot(d, guid);
	if (s < 0)
		return prld_set_err(err, -ENOENT,
				    "%s: no snapshot %s (prldctl snapshots lists them)",
				    d->path, guid);
	return s;
}

int desc_image_kind(const struct prld_desc *d, unsigned int k,
		    unsigned int i, enum prld_layer_kind *kind,
		    struct prld_err *err)
{
	struct prld_desc_storage st;
	char *path;
	bool base;
	int s, ret;

	desc_storage(d, k, &st);
	s = desc_find_shot(d, st.images[i].guid);
	base = s >= 0 && !strcmp(d->shots[s].parent, PRLD_ZERO_GUID);
	path = desc_file_path(d, st.images[i].file);
	if (!path)
		return prld_set_err(err, -ENOMEM, "out of memory");
	ret = layer_kind(path, st.images[i].kind, base, st.end - st.start,
			 kind, err);
	free(path);
	return ret;
}
