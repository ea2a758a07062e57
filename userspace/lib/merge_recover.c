// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * merge_recover.c - rolling an interrupted delete forward.  Copying again
 * is harmless, so recovery never rolls back: the journal names the
 * operation, the (locked) descriptor tells whether the switch happened;
 * before it the operation runs again from the copy, after it only C's
 * file, P's in-use flag and the journal are left to clean up.  A merge up
 * interrupted on an attached disk (its process killed) goes on through
 * the device; after a power cut it finishes offline.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "merge.h"

static int mismatch(const struct merge *m, struct prld_err *err)
{
	return prld_set_err(err, -EUCLEAN,
			    "%s: the merge journal (snapshot %s) does not match %s; inspect the disk and remove the journal by hand",
			    m->journal, m->sguid, m->d->path);
}

/*
 * The journal against the (locked) descriptor: 0 with m set up to run the
 * rest of the operation, 1 when only the cleanup after the switch is left.
 */
static int resume_plan(struct merge *m, struct prld_err *err)
{
	const struct prld_desc *d = m->d;
	int ss = desc_find_shot(d, m->sguid), si = desc_find_image(d, m->sguid);
	int cs = m->kind != MK_LEAF ? desc_find_shot(d, m->cguid) : -1;
	int ci = m->kind != MK_LEAF ? desc_find_image(d, m->cguid) : -1;
	int c1, c2;

	m->resume = true;
	if (ss < 0) {
		/*
		 * Switched: P's file is C's now (merge), C keeps its own
		 * (merge up), S's file is nobody's (leaf, merge up).
		 */
		if (m->kind == MK_MERGE &&
		    (ci < 0 || strcmp(d->images[ci].file, m->sfile)))
			goto mismatch;
		if (m->kind == MK_UP &&
		    (ci < 0 || strcmp(d->images[ci].file, m->cfile)))
			goto mismatch;
		if (m->kind != MK_MERGE && merge_file_named(d, m->sfile))
			goto mismatch;
		if (m->kind == MK_MERGE)
			m->skind = d->images[ci].kind;
		return 1;
	}
	if (si < 0 || strcmp(d->images[si].file, m->sfile))
		goto mismatch;
	m->skind = d->images[si].kind;
	if (m->kind == MK_LEAF)
		return merge_children(d, m->sguid, &c1, &c2) ?
		       mismatch(m, err) : 0;
	if (cs < 0 || ci < 0 || strcmp(d->images[ci].file, m->cfile) ||
	    strcasecmp(d->shots[cs].parent, m->sguid) ||
	    merge_children(d, m->sguid, &c1, &c2) != 1)
		goto mismatch;
	/* S is only read, as what its bytes say (a raw base, maybe). */
	if (m->kind == MK_UP)
		return desc_image_kind(d, 0, (unsigned int)si, &m->skind, err);
	return 0;
mismatch:
	return mismatch(m, err);
}

/*
 * After the switch: C's file and P's flag (merge), S's file (leaf, merge
 * up: C's flag, if set, is a crashed device's, for check --repair), the
 * journal.
 */
static int finish_switched(struct merge *m, struct prld_err *err)
{
	int ret = 0;

	if (m->kind != MK_MERGE)
		ret = merge_drop_file(m->spath, err);
	if (m->kind == MK_MERGE) {
		if (!merge_file_named(m->d, m->cfile))
			ret = merge_drop_file(m->cpath, err);
		if (!ret && m->skind == PRLD_LAYER_EXPANDING)
			ret = merge_raw_state(m->spath, false, err);
	}
	if (!ret)
		ret = merge_journal_remove(m, err);
	return ret;
}

/*
 * With the disk locked and m->journal present: finish it.  @what gets a
 * one-line account.  0, or a negative errno.
 */
static int recover_locked(struct merge *m, char *what, size_t len,
			  struct prld_err *err)
{
	char op[160];
	int ret = merge_journal_read(m, err);

	if (!ret)
		ret = resume_plan(m, err);
	if (ret < 0)
		return ret;
	merge_describe(m, op, sizeof(op));
	if (what)
		snprintf(what, len, "finished the interrupted %s (%s)", op,
			 ret == 1 ? "after the descriptor switch" :
				    "before the descriptor switch");
	if (merge_fill_paths(m, err))
		return -ENOMEM;
	if (ret == 1)
		return finish_switched(m, err);
	/* Attached: through the device if it reads S (or dropped it). */
	if (m->kind == MK_UP && m->device[0]) {
		ret = merge_online_plan(m, err);
		if (ret < 0)
			return ret;
	}
	return merge_run(m, err);
}

int merge_recover(const char *path, char *what, size_t len,
		  struct prld_err *err)
{
	struct merge m;
	char *dp;
	int ret;

	if (what && len)
		what[0] = '\0';
	/* A bare image has no snapshots; the caller reports a bad path. */
	if (desc_locate(path, MERGE_NEED, &dp, NULL))
		return 0;
	ret = merge_init(&m, dp, err);
	if (!ret && access(m.journal, F_OK) < 0) {
		merge_fini(&m);
		free(dp);
		return 0;
	}
	if (!ret)
		ret = merge_lock_disk(&m, dp, err);
	if (!ret)
		ret = recover_locked(&m, what, len, err);
	if (!ret)
		ret = 1;
	merge_fini(&m);
	free(dp);
	return ret;
}

/*
 * Lock the disk; if an earlier delete left a journal, finish it under the
 * same lock, then start over (the finished merge may have moved the top).
 */
int merge_lock_and_recover(struct merge *m, const char *dp,
			   struct prld_err *err)
{
	struct merge r;
	int ret, round;

	for (round = 0; round < 2; round++) {
		ret = merge_lock_disk(m, dp, err);
		if (ret || access(m->journal, F_OK) < 0)
			return ret;
		ret = merge_init(&r, dp, err);
		if (ret) {
			merge_fini(&r);
			return ret;
		}
		r.d = m->d;
		m->d = NULL;
		memcpy(r.device, m->device, sizeof(r.device));
		r.crash = NULL;
		ret = recover_locked(&r, NULL, 0, err);
		/* r holds no lock: m still holds them. */
		merge_fini(&r);
		merge_unlock(m);
		if (ret)
			return ret;
	}
	return prld_set_err(err, -EUCLEAN,
			    "%s: the merge journal is still there after finishing it",
			    m->journal);
}
