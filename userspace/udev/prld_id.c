// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prld_id SYSPATH - udev's helper for prld disks (60-prld.rules): prints
 * the disk's names as udev properties, from the top image the driver
 * shows in SYSPATH/prld/backing_file:
 *
 *   ID_PRLD_UUID=<the descriptor's <UID>, without braces>  (if it has one)
 *   ID_PRLD_NAME=<its <Name>, else the disk directory's name>
 *
 * Characters udev would not keep in a link name become '_'.  Exit 1 for
 * an unbound device or an unreadable disk: no properties, no links.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prld.h"

/* The first line of @path into @buf; false if it cannot be read. */
static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return ok && buf[0];
}

/* Keep what udev keeps in /dev/disk/by-id names; the rest becomes '_'. */
static void print_safe(const char *key, const char *value)
{
	const char *keep = "#+-.:=@_";
	const char *c;

	printf("%s=", key);
	for (c = value; *c; c++)
		putchar((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
			(*c >= 'A' && *c <= 'Z') || strchr(keep, *c) ? *c : '_');
	putchar('\n');
}

/* A descriptor next to the top names the disk; else the image itself. */
static void disk_of(const char *top, char *out, size_t len)
{
	const char *slash = strrchr(top, '/');
	char desc[PATH_MAX];

	snprintf(out, len, "%s", top);
	if (!slash)
		return;
	snprintf(desc, sizeof(desc), "%.*s/%s", (int)(slash - top), top,
		 PRLD_DESCRIPTOR);
	if (access(desc, F_OK) == 0)
		snprintf(out, len, "%.*s", slash == top ? 1 : (int)(slash - top),
			 top);
}

int main(int argc, char **argv)
{
	char attr[PATH_MAX], top[PATH_MAX], disk[PATH_MAX];
	struct prld_identity id;
	struct prld_err err = { 0 };

	if (argc != 2) {
		fprintf(stderr, "usage: prld_id SYSPATH\n");
		return 2;
	}
	snprintf(attr, sizeof(attr), "%s/prld/backing_file", argv[1]);
	if (!read_line(attr, top, sizeof(top)))
		return 1;	/* not bound: nothing to name */
	disk_of(top, disk, sizeof(disk));
	if (prld_get_identity(disk, &id, &err) < 0) {
		fprintf(stderr, "prld_id: %s\n", err.msg);
		return 1;
	}
	if (id.uid[0])	/* "{...}" */
		printf("ID_PRLD_UUID=%.*s\n", (int)strlen(id.uid) - 2,
		       id.uid + 1);
	print_safe("ID_PRLD_NAME", id.name);
	return 0;
}
