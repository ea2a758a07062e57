// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * identity.c - what a disk is called: the <UID> and <Name> Parallels
 * products write into <Disk_Parameters>, else the name of the disk's
 * directory (or of a bare image).  udev's /dev/disk/by-id/prld-* links
 * and the SDK's PrlDisk_GetDiskInfo use it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "descriptor.h"

/* The last component of @path, without trailing slashes, into @out. */
static void base_name(const char *path, char *out, size_t size)
{
	size_t end = strlen(path), start;

	while (end > 1 && path[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	snprintf(out, size, "%.*s", (int)(end - start), path + start);
}

static bool is_descriptor(const char *path)
{
	size_t n = strlen(path);

	return n >= 4 && !strcasecmp(path + n - 4, ".xml");
}

/* <Disk_Parameters><@name> of the descriptor's DOM, trimmed (malloc'd). */
static char *param_text(const struct prld_desc *d, const char *name)
{
	xmlNode *root = xmlDocGetRootElement(d->doc);
	xmlNode *params = root ? dx_child(root, "Disk_Parameters") : NULL;
	xmlNode *node = params ? dx_child(params, name) : NULL;

	return node ? dx_text(node) : NULL;
}

void desc_identity(const struct prld_desc *d, struct prld_identity *out)
{
	char *uid = param_text(d, "UID");
	char *name = param_text(d, "Name");
	size_t i;

	memset(out, 0, sizeof(*out));
	/* Only a well-formed GUID identifies; anything else is ignored. */
	if (uid && desc_guid_valid(uid)) {
		for (i = 0; uid[i] && i < PRLD_GUID_LEN; i++)
			out->uid[i] = (char)tolower((unsigned char)uid[i]);
	}
	if (name && name[0])
		snprintf(out->name, sizeof(out->name), "%s", name);
	else
		base_name(d->dir, out->name, sizeof(out->name));
	free(uid);
	free(name);
}

int prld_get_identity(const char *path, struct prld_identity *out,
		      struct prld_err *err)
{
	struct prld_desc *d;
	struct stat st;
	char *dp;
	int ret;

	memset(out, 0, sizeof(*out));
	if (stat(path, &st) < 0)
		return prld_sys_err(err, -errno, path, "cannot stat");
	if (S_ISREG(st.st_mode) && !is_descriptor(path)) {
		base_name(path, out->name, sizeof(out->name));	/* bare image */
		return 0;
	}
	ret = desc_locate(path, "a disk's identity needs", &dp, err);
	if (ret)
		return ret;
	ret = desc_load(dp, &d, err);
	free(dp);
	if (ret)
		return ret;
	desc_identity(d, out);
	desc_free(d);
	return 0;
}
