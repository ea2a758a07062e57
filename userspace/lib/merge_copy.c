// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * merge_copy.c - the images of a merge: C (the child) read through its
 * header and a raw copy of its BAT, P (the snapshot deleted) opened
 * writable, and the copy of every cluster C maps into P, in place where P
 * maps it, allocated where it does not (data durable before the BAT entry,
 * image_alloc), with progress for prld_job_wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "merge.h"

/*
 * @img's BAT (header-only open: no lock, the image may be our top or a
 * device's layer), read raw and validated; a clean image of the
 * descriptor's cluster size only.  *@bat native, *@mapped its entries.
 */
int merge_read_bat(const struct merge *m, const struct prld_image *img,
		   uint32_t **bat, uint64_t *mapped, struct prld_err *err)
{
	struct prld_fault f;
	size_t bytes;
	__u8 *seen;
	uint32_t i;
	int ret;

	if (img->geom.inuse == PRLD_INUSE_MAGIC)
		return prld_set_err(err, -EUCLEAN,
				    "%s: image was not closed cleanly (in-use flag set); run `prldctl check --repair` first",
				    img->path);
	/* Sizes may differ: a resize grows only the top (lower ones stay). */
	if (img->geom.cluster_sectors != m->d->blocksize)
		return prld_set_err(err, -EINVAL,
				    "%s: cluster size %u sectors differs from the descriptor's Blocksize %u",
				    img->path, img->geom.cluster_sectors,
				    m->d->blocksize);
	bytes = (size_t)img->geom.bat_entries * 4;
	*bat = malloc(bytes ? bytes : 1);
	seen = calloc((size_t)(prld_data_slots(&img->geom, img->file_size) /
			       8 + 1), 1);
	if (!*bat || !seen) {
		free(seen);
		return prld_set_err(err, -ENOMEM, "out of memory");
	}
	ret = prld_pread_full(img->fd, *bat, bytes, PRLD_BAT_OFFSET);
	if (ret) {
		free(seen);
		return prld_sys_err(err, ret, img->path, "cannot read BAT");
	}
	if (prld_bat_check(&img->geom, (const __u8 *)*bat,
			   img->geom.bat_entries, img->file_size, seen, &f))
		ret = prld_fault_err(err, img->path, &f);
	free(seen);
	if (ret)
		return ret;
	for (i = 0, *mapped = 0; i < img->geom.bat_entries; i++) {
		(*bat)[i] = prld_get_le32((const __u8 *)&(*bat)[i]);
		*mapped += (*bat)[i] != 0;
	}
	return 0;
}

/* C's header and BAT, read raw and validated; no lock (C may be our top). */
int merge_open_child(struct merge *m, struct prld_err *err)
{
	const struct prld_desc *d = m->d;
	uint64_t total;
	int ret;

	ret = image_open_header(m->cpath, PRLD_LAYER_EXPANDING, d->disk_size,
				d->blocksize, &m->cimg, err);
	if (!ret)
		ret = merge_read_bat(m, m->cimg, &m->cbat, &total, err);
	if (!ret)
		merge_set_total(m, total);
	return ret;
}

/* Write P's in-use word (and clear EMPTY once it holds data), raw. */
int merge_raw_state(const char *path, bool inuse, struct prld_err *err)
{
	__u8 hdr[PRLD_HEADER_SIZE];
	struct prld_geom g;
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return prld_sys_err(err, -errno, path, "cannot open");
	ret = prld_pread_full(fd, hdr, sizeof(hdr), 0);
	if (!ret && (fstat(fd, &st) < 0 || prld_header_decode(hdr, &g)))
		ret = -EINVAL;
	if (!ret) {
		prld_put_le32(hdr + PRLD_OFF_INUSE, inuse ? PRLD_INUSE_MAGIC : 0);
		if ((uint64_t)st.st_size > prld_data_start(&g))
			prld_put_le32(hdr + PRLD_OFF_FLAGS,
				      g.flags & ~PRLD_FLAG_EMPTY);
		ret = prld_pwrite_full(fd, hdr + PRLD_OFF_INUSE, 12,
				       PRLD_OFF_INUSE);
	}
	if (!ret && fdatasync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret)
		return prld_sys_err(err, ret, path, "cannot rewrite the header state");
	return 0;
}

/*
 * P writable.  Resuming, the flag we set before the crash is ours: the
 * journal, not the flag, says P is mid-merge, so it is cleared first and
 * P goes through the full validation of a writable open.
 */
int merge_open_parent(struct merge *m, struct prld_err *err)
{
	const struct prld_desc *d = m->d;
	struct prld_image *p;
	int ret;

	if (m->resume && m->skind == PRLD_LAYER_EXPANDING) {
		ret = merge_raw_state(m->spath, false, err);
		if (ret)
			return ret;
	}
	ret = image_open(m->spath, m->skind, true, d->disk_size, d->blocksize,
			 &m->pimg, err);
	if (ret == -EBUSY)
		ret = prld_set_err(err, -EBUSY,
				   "%s: snapshot image in use by another process",
				   m->spath);
	if (ret)
		return ret;
	p = m->pimg;
	if (p->geom.cluster_sectors != d->blocksize)
		return prld_set_err(err, -EINVAL,
				    "%s: cluster size %u sectors differs from the descriptor's Blocksize %u",
				    p->path, p->geom.cluster_sectors, d->blocksize);
	/* An expanding P grows to C's size first (merge_run_merge); raw cannot. */
	if (p->kind == PRLD_LAYER_PLAIN &&
	    p->geom.bat_entries < m->cimg->geom.bat_entries)
		return prld_set_err(err, -EOPNOTSUPP,
				    "%s: plain image smaller than its child %s (a resized disk); merging it is not supported",
				    p->path, m->cimg->path);
	return 0;
}

/* Every cluster C maps into P: in place where P has it, else allocated. */
int merge_copy_clusters(struct merge *m, struct prld_err *err)
{
	struct prld_image *p = m->pimg, *c = m->cimg;
	uint64_t cl = prld_cluster_bytes(&c->geom);
	uint64_t disk_bytes = m->d->disk_size << PRLD_SECTOR_SHIFT;
	uint64_t done = 0, coff, poff, len;
	struct timespec mark = { 0 };
	void *buf = malloc(cl);
	uint32_t i;
	int ret = 0;

	if (!buf)
		return prld_set_err(err, -ENOMEM, "out of memory");
	merge_pace(m, &mark);
	for (i = 0; i < c->geom.bat_entries && !ret; i++) {
		if (!m->cbat[i])
			continue;
		coff = prld_bat_to_offset(&c->geom, m->cbat[i]);
		ret = prld_pread_full(c->fd, buf, cl, coff);
		if (ret) {
			prld_sys_err(err, ret, c->path, "cannot read a cluster");
			break;
		}
		if (p->kind == PRLD_LAYER_PLAIN) {
			poff = (uint64_t)i * cl;
			len = disk_bytes - poff < cl ? disk_bytes - poff : cl;
		} else {
			poff = image_lookup(p, i);
			len = cl;
		}
		if (poff || p->kind == PRLD_LAYER_PLAIN) {
			ret = prld_pwrite_full(p->fd, buf, len, poff);
			if (ret)
				prld_sys_err(err, ret, p->path,
					"cannot write a cluster");
			p->data_written = true;
		} else {
			ret = image_alloc(p, i, buf, NULL, err);
		}
		if (!ret) {
			merge_progress(m, ++done);
			merge_crash(m, "copy", done);
			merge_pace(m, &mark);
		}
	}
	free(buf);
	return ret;
}
