// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * merge_online.c - deleting a snapshot S that an attached device reads
 * (one of its lower layers), while the device stays mounted and written.
 * S merges up into its child C (merge_up.c): nothing any state reads
 * changes at any step, so the device may read through S all along.
 *
 *  1. The journal (as offline: "<descriptor>.merge", op merge-up).
 *  2. The copy.  C is the device's top (S the newest snapshot): the driver
 *     copies, through its write path's claims, so writes win and the copy
 *     is durable before the top's BAT names it (PRLD_MERGE_COPY, a few
 *     clusters per call: progress in between).  C is a lower layer: this
 *     process copies into C's file, which the device does not read there.
 *  3. PRLD_MERGE_DROP: under a short freeze the device leaves S out of its
 *     chain; a top C first takes what it still lacks (clusters a discard
 *     gave back meanwhile) and its BAT is made durable, a lower C is read
 *     again and must cover S.
 *  4. The descriptor drops S, S's file goes, the journal goes.
 *
 * A crash (or a kill) at any step leaves a journal and a disk that reads
 * as before: the descriptor still names S until step 4, and C holds all
 * of S from step 3 on.  Recovery (merge_recover.c) finishes it: through
 * the device if the disk is still attached, offline after a power cut.
 * The device is kept open meanwhile, so it cannot be detached under the
 * merge (PRLD_DETACH: EBUSY while another opener is there).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "merge.h"
#include "prld_ioctl.h"

/*
 * S clusters per PRLD_MERGE_COPY call: the call holds the device's
 * configuration mutex (a status query waits for it), and progress moves
 * once per call.
 */
#define ONLINE_CHUNK	64U

static int chain_mismatch(const struct merge *m, int s, int c,
			  struct prld_err *err)
{
	return prld_set_err(err, -EUCLEAN,
			    "%s: the device's chain does not match %s (snapshot %s is its layer %d, the child %s its layer %d)",
			    m->device, m->d->path, m->sguid, s, m->cguid, c);
}

int merge_online_plan(struct merge *m, struct prld_err *err)
{
	struct prld_dev_info info;
	int s, c, ret;

	ret = prld_dev_get_info(m->device, &info, err);
	if (ret)
		return ret;
	s = kdev_layer_of(&info, m->spath);
	c = m->cpath ? kdev_layer_of(&info, m->cpath) : -1;
	m->slayer = s;
	/* A merge that got as far as the drop: only the descriptor is left. */
	m->dropped = s < 0 && c >= 0;
	m->child_top = c >= 0 && c == (int)info.nlayers - 1;
	if (s >= 0 && c != s + 1)
		ret = chain_mismatch(m, s, c, err);
	else if ((s >= 0 || m->dropped) && info.read_only)
		ret = prld_set_err(err, -EROFS,
				   "%s: attached read-only: snapshot %s, on its chain, can only be deleted while it is attached read-write (or offline)",
				   m->device, m->sguid);
	prld_dev_info_free(&info);
	if (ret)
		return ret;
	return s >= 0 || m->dropped;
}

static int ioctl_err(const struct merge *m, const char *what,
		     struct prld_err *err)
{
	int code = -errno;

	return prld_set_err(err, code, "%s: %s snapshot %s: %s", m->device,
			    what, m->sguid,
			    code == -ENXIO ? "not attached any more" :
			    strerror(-code));
}

/* S's clusters into the device's top, ONLINE_CHUNK per call. */
static int copy_into_top(struct merge *m, struct prld_err *err)
{
	uint32_t end = merge_up_end(m), i, first, last = 0, k;
	struct timespec mark = { 0 };
	struct prld_merge req;
	uint64_t done = 0;

	merge_pace(m, &mark);
	i = merge_up_next(m, 0);
	while (i < end) {
		first = i;
		for (k = 0; i < end && k < ONLINE_CHUNK &&
			    i - first < PRLD_MERGE_MAX_COUNT; k++) {
			last = i;
			i = merge_up_next(m, i + 1);
		}
		req = (struct prld_merge){
			.size = sizeof(req),
			.layer = (uint32_t)m->slayer,
			.fd = m->simg->fd,
			.first = first,
			.count = (uint64_t)last - first + 1,
		};
		if (ioctl(m->dev_fd, PRLD_MERGE_COPY, &req) < 0)
			return ioctl_err(m, "copying into the top:", err);
		done += k;
		merge_progress(m, done);
		merge_crash(m, "copy", done);
		merge_pace(m, &mark);
	}
	return 0;
}

/* The device leaves S out of its chain (its child covers it). */
static int drop_layer(struct merge *m, struct prld_err *err)
{
	struct prld_merge req = {
		.size = sizeof(req),
		.layer = (uint32_t)m->slayer,
		.fd = m->simg->fd,
	};

	if (ioctl(m->dev_fd, PRLD_MERGE_DROP, &req) < 0)
		return ioctl_err(m, "dropping", err);
	return 0;
}

int merge_online_run(struct merge *m, struct prld_err *err)
{
	int ret;

	if (m->dropped)		/* resuming after the drop: step 4 */
		return merge_up_finish(m, err);
	m->dev_fd = open(m->device, O_RDONLY | O_CLOEXEC);
	if (m->dev_fd < 0)
		return prld_sys_err(err, -errno, m->device, "cannot open");
	ret = merge_up_open(m, err);
	if (!ret)
		ret = merge_journal_begin(m, err);
	if (!ret)
		ret = m->child_top ? copy_into_top(m, err) :
				     merge_up_copy(m, err);
	if (ret)
		return ret;
	merge_crash(m, "copied", 0);
	ret = drop_layer(m, err);
	if (ret)
		return ret;
	merge_crash(m, "dropped", 0);
	return merge_up_finish(m, err);
}
