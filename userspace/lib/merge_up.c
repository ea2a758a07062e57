// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * merge_up.c - deleting snapshot S by merging it up into its one child C:
 * C takes every cluster S holds that C lacks (allocated at C's end, data
 * durable before its BAT entry: image_alloc), then the descriptor drops S
 * (C's parent becomes S's parent; C keeps its GUID and its file) and S's
 * file goes.
 *
 * What C maps is never touched, and what it takes is what its state
 * already read through S, so every state of the disk reads the same
 * before, during and after the copy: a crash anywhere only leaves the
 * copy to finish (recovery rolls forward from the journal, as for a merge
 * down), and readers of any state, the kernel driver among them, may go
 * on reading meanwhile.  That is why deletes on an attached device go
 * this way (merge_online.c): into a lower child from here, into the top
 * through the driver.
 *
 * S is read through its header and a raw copy of its BAT, without a lock
 * (the device may hold it); a plain S holds the clusters its file has
 * data in (SEEK_DATA), as the driver judges it.  C is opened writable with
 * its own lock offline, without one where its lock is held already: C is
 * the disk's top (our own top lock), or a lower layer of the device, which
 * holds it shared (the directory's lock keeps other snapshot operations
 * out, the device's locks keep other writers out).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "merge.h"

uint32_t merge_up_end(const struct merge *m)
{
	return m->simg->geom.bat_entries;
}

uint32_t merge_up_next(const struct merge *m, uint32_t from)
{
	uint64_t cl = prld_cluster_bytes(&m->simg->geom);
	uint32_t end = merge_up_end(m);
	off_t data;

	if (m->sbat) {
		while (from < end && !m->sbat[from])
			from++;
		return from < end ? from : end;
	}
	if (from >= end)
		return end;
	data = lseek(m->simg->fd, (off_t)(from * cl), SEEK_DATA);
	if (data < 0)
		return errno == ENXIO ? end : from;
	return (uint64_t)data / cl < end ? (uint32_t)((uint64_t)data / cl) :
					   end;
}

/* S's header (no lock) and BAT; the total is the clusters it holds. */
static int open_source(struct merge *m, struct prld_err *err)
{
	const struct prld_desc *d = m->d;
	uint64_t total = 0, mapped;
	uint32_t i, end;
	int ret;

	ret = image_open_header(m->spath, m->skind, d->disk_size,
				d->blocksize, &m->simg, err);
	if (!ret && m->skind == PRLD_LAYER_EXPANDING)
		ret = merge_read_bat(m, m->simg, &m->sbat, &mapped, err);
	if (ret)
		return ret;
	end = merge_up_end(m);
	for (i = merge_up_next(m, 0); i < end; i = merge_up_next(m, i + 1))
		total++;
	merge_set_total(m, total);
	return 0;
}

/* Is C the disk's top, whose lock this process holds already? */
static bool child_is_top(const struct merge *m)
{
	return !strcasecmp(m->cguid, m->d->top_guid);
}

/*
 * C writable.  Resuming, its in-use flag is ours (the copy set it) or,
 * for a top left by a power cut, the driver's, whose image is whole
 * anyway (every entry names durable data): the journal says C is taking
 * S's clusters, so the flag is cleared and C gets a writable open's full
 * validation.
 */
static int open_child(struct merge *m, struct prld_err *err)
{
	const struct prld_desc *d = m->d;
	bool own_lock = m->device[0] || child_is_top(m);
	int ret;

	if (m->resume) {
		ret = merge_raw_state(m->cpath, false, err);
		if (ret)
			return ret;
	}
	ret = own_lock ? image_open_unlocked(m->cpath, PRLD_LAYER_EXPANDING,
					     d->disk_size, d->blocksize,
					     &m->cimg, err) :
			 image_open(m->cpath, PRLD_LAYER_EXPANDING, true,
				    d->disk_size, d->blocksize, &m->cimg, err);
	if (ret == -EBUSY)
		ret = prld_set_err(err, -EBUSY,
				   "%s: snapshot image in use by another process",
				   m->cpath);
	if (!ret && m->cimg->geom.cluster_sectors != d->blocksize)
		ret = prld_set_err(err, -EINVAL,
				   "%s: cluster size %u sectors differs from the descriptor's Blocksize %u",
				   m->cpath, m->cimg->geom.cluster_sectors,
				   d->blocksize);
	return ret;
}

/*
 * C must cover S's clusters.  A child is never smaller than its parent
 * but after odd histories (ploop's switch to a pre-resize snapshot):
 * offline C grows (@grow: once the journal is written; image_grow is
 * crash-safe and finds itself done the second time), a device's lower
 * layer must not (its clusters would move under the driver).
 */
static int child_size(struct merge *m, bool grow, struct prld_err *err)
{
	struct prld_image *c = m->cimg;

	if (c->geom.nb_sectors >= m->simg->geom.nb_sectors)
		return 0;
	if (m->device[0])
		return prld_set_err(err, -EOPNOTSUPP,
				    "%s: smaller than its parent snapshot %s: delete it offline",
				    c->path, m->sguid);
	return grow ? image_grow(c, m->simg->geom.nb_sectors, err) : 0;
}

int merge_up_open(struct merge *m, struct prld_err *err)
{
	int ret = m->simg ? 0 : open_source(m, err);

	if (ret || m->cimg || (m->device[0] && m->child_top) || m->dropped)
		return ret;
	ret = open_child(m, err);
	if (!ret)
		ret = child_size(m, false, err);
	return ret;
}

/* S's cluster @i into @buf; what lies past S's file reads as zeros. */
static int read_source(const struct merge *m, uint32_t i, void *buf,
		       uint64_t cl, struct prld_err *err)
{
	const struct prld_image *s = m->simg;
	uint64_t off = m->sbat ? prld_bat_to_offset(&s->geom, m->sbat[i]) :
				 (uint64_t)i * cl;
	uint64_t have = off >= s->file_size ? 0 :
			s->file_size - off < cl ? s->file_size - off : cl;
	int ret;

	memset((char *)buf + have, 0, (size_t)(cl - have));
	ret = have ? prld_pread_full(s->fd, buf, (size_t)have, off) : 0;
	if (ret)
		return prld_sys_err(err, ret, s->path, "cannot read a cluster");
	return 0;
}

int merge_up_copy(struct merge *m, struct prld_err *err)
{
	struct prld_image *c = m->cimg;
	uint64_t cl = prld_cluster_bytes(&c->geom), done = 0;
	uint32_t end = merge_up_end(m), i;
	struct timespec mark = { 0 };
	void *buf = malloc(cl);
	int ret = 0;

	if (!buf)
		return prld_set_err(err, -ENOMEM, "out of memory");
	merge_pace(m, &mark);
	for (i = merge_up_next(m, 0); !ret && i < end;
	     i = merge_up_next(m, i + 1)) {
		if (!image_lookup(c, i)) {
			ret = read_source(m, i, buf, cl, err);
			if (!ret)
				ret = image_alloc(c, i, buf, NULL, err);
		}
		if (!ret) {
			merge_progress(m, ++done);
			merge_crash(m, "copy", done);
			merge_pace(m, &mark);
		}
	}
	free(buf);
	/* Durable, trailing space cut, in-use flag cleared. */
	if (!ret)
		ret = image_close(c, err);
	else
		image_close(c, NULL);
	m->cimg = NULL;
	return ret;
}

/* S leaves the descriptor (C's parent is S's from now on), then its file. */
int merge_up_finish(struct merge *m, struct prld_err *err)
{
	struct prld_desc *d = m->d;
	int sp = desc_find_shot(d, m->sguid), sc = desc_find_shot(d, m->cguid);

	memcpy(d->shots[sc].parent, d->shots[sp].parent,
	       sizeof(d->shots[sc].parent));
	merge_drop_entries(d, m->sguid);
	return merge_finish_drop(m, err);
}

int merge_run_up(struct merge *m, struct prld_err *err)
{
	int ret;

	if (m->device[0] && (m->slayer >= 0 || m->dropped))
		return merge_online_run(m, err);
	ret = merge_up_open(m, err);
	if (!ret)
		ret = merge_journal_begin(m, err);
	if (!ret)
		ret = child_size(m, true, err);
	if (!ret)
		ret = merge_up_copy(m, err);
	if (ret)
		return ret;
	merge_crash(m, "copied", 0);
	return merge_up_finish(m, err);
}
