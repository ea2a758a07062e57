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
	else
		return prld_set_err(err, -EINVAL,
				    "%s: not a disk directory; %s a %s (a bare image has none)",
				    path, need, PRLD_DESCRIPTOR);
	if (!*out)
		return prld_set_err(err, -ENOMEM, "out of memory");
	if (access(*out, F_OK) < 0 && errno == ENOENT) {
		prld_set_err(err, -ENOENT,
			     "%s: no %s: not a disk directory (%s one; a bare image has none)",
			     path, PRLD_DESCRIPTOR, need);
		free(*out);
		*out = NULL;
		return -ENOENT;
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

char *desc_file_path(const struct prld_desc *d, const char *file)
{
	return file[0] == '/' ? strdup(file) : prld_join(d->dir, file);
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
