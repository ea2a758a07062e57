// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * merge.c - delete a snapshot of a disk directory, offline (format-notes §6).
 *
 * A leaf (no child, not the top) leaves the descriptor, then its file goes.
 * A snapshot P with exactly one child C is merged: every cluster C maps is
 * copied into P's image (overwritten in place where P maps it, allocated
 * where it does not: data durable before the BAT entry, image_alloc), P is
 * synced, and the descriptor switches atomically so that P's file carries
 * C's GUID (C's identity, TopGUID included, survives; C's children stay
 * on it; P's GUID disappears).  Then C's file goes.
 *
 * Crash safety: before anything changes, a journal "<descriptor>.merge"
 * (tmp, fsync, rename, directory fsync) names the operation, both GUIDs and
 * both files; P's in-use flag is set while it is modified.  C is never
 * written, so until the switch every state but P's own reads as before,
 * and P's own state is the one being deleted.  Copying again is harmless,
 * so recovery only rolls forward (merge_recover): the descriptor tells
 * whether the switch happened; before it the copy runs again, after it only
 * C's file, P's flag and the journal are left to clean up.  prld_open for
 * writing, prld_check --repair and a new delete call it; a plain check
 * reports the pending journal.
 *
 * Locking: the top image's exclusive flock (as snapshot.c), which an
 * attached device, a reader or a writer of the disk conflicts with; P is
 * opened writable (its own exclusive flock).  C is read through its header
 * and a raw copy of its BAT, without a lock of its own, because C may be
 * the very top we hold.
 *
 * The files: see merge.h.  This one plans a fresh delete and holds the
 * step order both operations follow, the first time and in recovery.
 *
 * On an attached disk the device holds the top's lock: the delete then
 * runs under the directory's lock, and a snapshot the device reads is
 * merged the other way, up into its child while the device serves I/O
 * (merge_up.c, merge_online.c); one it does not read goes as offline.
 *
 * PRLD_TEST_MERGE_CRASH=STEP (test builds only) ends the process with
 * _exit(86) at a named point: journal, inuse, grown (P took a larger C's
 * size), copy:K (after K clusters), copied, switched, unlinked, closed; a
 * merge up also dropped (the device let S go).  PRLD_TEST_MERGE_UP=1 (test
 * builds only) merges up offline too, so that path and its recovery run
 * without a device.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "merge.h"

unsigned int merge_children(const struct prld_desc *d, const char *guid,
			    int *c1, int *c2)
{
	unsigned int i, n = 0;

	*c1 = *c2 = -1;
	for (i = 0; i < d->nshots; i++) {
		if (strcasecmp(d->shots[i].parent, guid))
			continue;
		if (n == 0)
			*c1 = (int)i;
		else if (n == 1)
			*c2 = (int)i;
		n++;
	}
	return n;
}

bool merge_file_named(const struct prld_desc *d, const char *file)
{
	unsigned int i;

	for (i = 0; i < d->nimages; i++)
		if (!strcmp(d->images[i].file, file))
			return true;
	return false;
}

/* Drop entry @i of an array of @n elements of @size bytes. */
static void drop_entry(void *arr, unsigned int *n, unsigned int i,
		       size_t size)
{
	char *a = arr;

	memmove(a + i * size, a + (i + 1) * size, (*n - i - 1) * size);
	(*n)--;
}

static void drop_image(struct prld_desc *d, unsigned int i)
{
	free(d->images[i].file);
	drop_entry(d->images, &d->nimages, i, sizeof(*d->images));
}

static void drop_shot(struct prld_desc *d, unsigned int i)
{
	drop_entry(d->shots, &d->nshots, i, sizeof(*d->shots));
}

void merge_drop_entries(struct prld_desc *d, const char *guid)
{
	drop_image(d, (unsigned int)desc_find_image(d, guid));
	drop_shot(d, (unsigned int)desc_find_shot(d, guid));
}

/* P's file now carries C's GUID; P's entries go. */
static int switch_descriptor(struct merge *m, struct prld_err *err)
{
	struct prld_desc *d = m->d;
	int ip = desc_find_image(d, m->sguid), sp = desc_find_shot(d, m->sguid);
	int ic = desc_find_image(d, m->cguid), sc = desc_find_shot(d, m->cguid);
	char *file = strdup(d->images[ip].file);

	if (!file)
		return prld_set_err(err, -ENOMEM, "out of memory");
	free(d->images[ic].file);
	d->images[ic].file = file;
	d->images[ic].kind = d->images[ip].kind;
	memcpy(d->shots[sc].parent, d->shots[sp].parent,
	       sizeof(d->shots[sc].parent));
	drop_image(d, (unsigned int)ip);
	drop_shot(d, (unsigned int)sp);
	return desc_save(d, err);
}

int merge_drop_file(const char *path, struct prld_err *err)
{
	int ret;

	if (unlink(path) < 0 && errno != ENOENT)
		return prld_sys_err(err, -errno, path, "cannot remove");
	ret = prld_fsync_dir(path);
	if (ret)
		return prld_sys_err(err, ret, path, "cannot sync the directory");
	return 0;
}

int merge_journal_begin(struct merge *m, struct prld_err *err)
{
	int ret = m->resume ? 0 : merge_journal_write(m, err);

	if (ret)
		return ret;
	m->journaled = true;
	merge_crash(m, "journal", 0);
	return 0;
}

int merge_finish_drop(struct merge *m, struct prld_err *err)
{
	int ret = desc_save(m->d, err);

	if (ret)
		return ret;
	merge_crash(m, "switched", 0);
	ret = merge_drop_file(m->spath, err);
	if (ret)
		return ret;
	merge_crash(m, "unlinked", 0);
	return merge_journal_remove(m, err);
}

int merge_run_merge(struct merge *m, struct prld_err *err)
{
	int ret = 0, keep;

	/* A fresh delete opened both in prld_merge_start, to fail early. */
	if (!m->cimg)
		ret = merge_open_child(m, err);
	if (!ret && !m->pimg)
		ret = merge_open_parent(m, err);
	if (!ret)
		ret = merge_journal_begin(m, err);
	if (ret)
		return ret;
	ret = image_begin_write(m->pimg, err);
	if (ret)
		return ret;
	merge_crash(m, "inuse", 0);
	/*
	 * After a resize C may be larger: P takes C's size before the copy
	 * (image_grow is crash-safe on its own and a second call after a
	 * crash finds it done), so P's file can stand for C afterwards.
	 */
	if (m->pimg->kind == PRLD_LAYER_EXPANDING &&
	    m->pimg->geom.nb_sectors < m->cimg->geom.nb_sectors) {
		ret = image_grow(m->pimg, m->cimg->geom.nb_sectors, err);
		if (ret)
			return ret;
		merge_crash(m, "grown", 0);
	}
	ret = merge_copy_clusters(m, err);
	if (!ret)
		ret = image_sync(m->pimg, err);
	if (ret)
		return ret;
	merge_crash(m, "copied", 0);
	ret = switch_descriptor(m, err);
	if (ret)
		return ret;
	merge_crash(m, "switched", 0);
	ret = merge_drop_file(m->cpath, err);
	if (ret)
		return ret;
	merge_crash(m, "unlinked", 0);
	/*
	 * P's file may be the top now: a dup keeps P's flock (it belongs to
	 * the open file) until the journal is gone.
	 */
	keep = dup(m->pimg->fd);
	ret = image_close(m->pimg, err);
	m->pimg = NULL;
	if (!ret)
		merge_crash(m, "closed", 0);
	if (!ret)
		ret = merge_journal_remove(m, err);
	if (keep >= 0)
		close(keep);
	return ret;
}

int merge_run_leaf(struct merge *m, struct prld_err *err)
{
	int ret = merge_journal_begin(m, err);

	if (ret)
		return ret;
	merge_drop_entries(m->d, m->sguid);
	return merge_finish_drop(m, err);
}

int merge_run(struct merge *m, struct prld_err *err)
{
	if (m->kind == MK_MERGE)
		return merge_run_merge(m, err);
	if (m->kind == MK_UP)
		return merge_run_up(m, err);
	return merge_run_leaf(m, err);
}

int merge_fill_paths(struct merge *m, struct prld_err *err)
{
	m->spath = desc_file_path(m->d, m->sfile);
	if (m->kind != MK_LEAF)
		m->cpath = desc_file_path(m->d, m->cfile);
	if (!m->spath || (m->kind != MK_LEAF && !m->cpath))
		return prld_set_err(err, -ENOMEM, "out of memory");
	return 0;
}

/* The refusal for 2+ children names them (up to 8). */
/* Test builds only: PRLD_TEST_MERGE_UP=1 merges up offline too. */
static bool merge_up_forced(void)
{
#ifdef PRLD_TEST_HOOKS
	return getenv(MERGE_UP_ENV) != NULL;
#else
	return false;
#endif
}

static int too_many_children(const struct prld_desc *d, const char *guid,
			     unsigned int n, struct prld_err *err)
{
	char list[8 * (PRLD_GUID_LEN + 2) + 8] = "";
	unsigned int i, k = 0;
	size_t len = 0;

	for (i = 0; i < d->nshots && k < 8; i++) {
		if (strcasecmp(d->shots[i].parent, guid))
			continue;
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
					k ? ", " : "", d->shots[i].guid);
		k++;
	}
	if (n > k)
		snprintf(list + len, sizeof(list) - len, ", ...");
	return prld_set_err(err, -ENOTEMPTY,
			    "%s: snapshot %s has %u child snapshots (%s); delete all but one of them first",
			    d->path, guid, n, list);
}

static int plan_delete(struct merge *m, const char *guid,
		       struct prld_err *err)
{
	const struct prld_desc *d = m->d;
	enum prld_layer_kind ckind;
	int s, c1, c2, ci, ret;
	unsigned int n;

	s = desc_find_named_shot(d, guid, err);
	if (s < 0)
		return s;
	if (!strcasecmp(guid, d->top_guid))
		return prld_set_err(err, -EINVAL,
				    "%s: %s is the current top (the disk's current state), not a snapshot; revert to another snapshot to discard it",
				    d->path, guid);
	memcpy(m->sguid, d->shots[s].guid, sizeof(m->sguid));
	n = merge_children(d, m->sguid, &c1, &c2);
	if (n >= 2)
		return too_many_children(d, m->sguid, n, err);
	m->sfile = strdup(d->images[desc_find_image(d, m->sguid)].file);
	if (!m->sfile)
		return prld_set_err(err, -ENOMEM, "out of memory");
	ret = desc_image_kind(d, 0, (unsigned int)desc_find_image(d, m->sguid),
			      &m->skind, err);
	if (ret)
		return ret;
	m->kind = n ? MK_MERGE : MK_LEAF;
	if (n) {
		memcpy(m->cguid, d->shots[c1].guid, sizeof(m->cguid));
		ci = desc_find_image(d, m->cguid);
		ret = desc_image_kind(d, 0, (unsigned int)ci, &ckind, err);
		if (ret)
			return ret;
		if (ckind == PRLD_LAYER_PLAIN)
			return prld_set_err(err, -EOPNOTSUPP,
					    "%s: the child %s of %s is a plain (raw) image; merging it is not supported",
					    d->path, m->cguid, m->sguid);
		m->cfile = strdup(d->images[ci].file);
		if (!m->cfile)
			return prld_set_err(err, -ENOMEM, "out of memory");
	}
	if (strchr(m->sfile, '\n') || (m->cfile && strchr(m->cfile, '\n')))
		return prld_set_err(err, -EINVAL,
				    "%s: image file names with a newline are not supported",
				    d->path);
	ret = merge_fill_paths(m, err);
	if (ret || m->kind == MK_LEAF)
		return ret;
	/* A snapshot the device reads goes up into its child, online. */
	ret = m->device[0] ? merge_online_plan(m, err) : 0;
	if (ret > 0 || merge_up_forced())
		m->kind = MK_UP;
	return ret < 0 ? ret : 0;
}

int merge_prepare(struct merge *m, const char *desc_path, const char *guid,
		  struct prld_err *err)
{
	int ret = merge_lock_and_recover(m, desc_path, err);

	if (!ret)
		ret = plan_delete(m, guid, err);
	if (!ret && m->kind == MK_MERGE)
		ret = merge_open_child(m, err);
	if (!ret && m->kind == MK_MERGE)
		ret = merge_open_parent(m, err);
	if (!ret && m->kind == MK_UP)
		ret = merge_up_open(m, err);
	if (!ret && m->kind == MK_LEAF)
		m->counted = true;	/* nothing to copy */
	return ret;
}
