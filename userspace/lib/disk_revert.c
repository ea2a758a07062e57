// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * disk_revert.c - prld_disk_revert: the SDK's SwitchToState on a disk the
 * caller has open.  A plain prld_revert would find the top locked (by the
 * caller's own open) and refuse with EBUSY; here the caller's lock is the
 * revert's lock, so no other process can slip in between.  Afterwards
 * the disk is opened anew on the new chain: the new top is a fresh file
 * only the descriptor names, and the lower layers take shared locks,
 * which the old disk's shared locks do not conflict with, so the new disk
 * is open before the old one lets go.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int check_revertible(const struct prld_disk *disk,
			    struct prld_err *err)
{
	const char *top = disk->info[disk->nlayers - 1].file;

	if (!disk->desc)
		return prld_set_err(err, -EINVAL,
				    "%s: a bare image has no snapshots to switch to",
				    top);
	if (!(disk->flags & PRLD_OPEN_WRITE) || (disk->flags & PRLD_OPEN_FAKE))
		return prld_set_err(err, -EBADF,
				    "%s: switching to a snapshot needs the disk open for writing",
				    top);
	return 0;
}

/*
 * Does the descriptor now name another top than @disk's?  A revert that
 * failed only in its cleanup (removing the old top) has switched.
 */
static bool top_moved(const struct prld_disk *disk)
{
	const char *ours = disk->info[disk->nlayers - 1].file;
	struct prld_desc *d;
	char *path, *now = NULL, *was = realpath(ours, NULL);
	bool moved = true;
	int i;

	if (desc_load(disk->desc->path, &d, NULL))
		return false;	/* unreadable: nothing we could open anyway */
	i = desc_find_image(d, d->top_guid);
	path = i < 0 ? NULL : desc_file_path(d, d->images[i].file);
	if (path)
		now = realpath(path, NULL);
	if (now && was)
		moved = strcmp(now, was) != 0;
	free(path);
	free(now);
	free(was);
	desc_free(d);
	return moved;
}

int prld_disk_revert(struct prld_disk **diskp, const char *guid,
		     struct prld_err *err)
{
	struct prld_disk *old = *diskp, *fresh = NULL;
	struct prld_policy policy = { .offset = old->offset };
	struct prld_err why = { 0 };
	char *dir;
	int ret, reopen;

	ret = check_revertible(old, err);
	if (!ret)	/* what was written belongs to the state being dropped,
			 * but a failed revert must leave it durable */
		ret = prld_flush(old, err);
	if (ret)
		return ret;
	dir = strdup(old->desc->dir);
	if (!dir)
		return prld_set_err(err, -ENOMEM, "out of memory");
	ret = snapshot_revert_held(dir, guid,
				   old->layers[old->nlayers - 1]->fd, err);
	if (ret && !top_moved(old)) {
		free(dir);
		return ret;	/* nothing switched: the disk goes on as it was */
	}
	reopen = prld_open(dir, old->flags, &policy, &fresh, &why);
	prld_close(old, NULL);	/* its top is gone from the descriptor */
	*diskp = fresh;
	if (reopen)
		ret = prld_set_err(err, reopen,
				   "%s: switched to %s, but opening the new state failed (%s); open the disk again",
				   dir, guid, why.msg);
	free(dir);
	return ret;
}
