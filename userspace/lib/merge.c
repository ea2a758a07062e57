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
 * The copy runs in a worker thread (struct prld_job); prld_job_wait() waits
 * for it and reports (done, total) clusters from the caller's thread.
 *
 * PRLD_TEST_MERGE_CRASH=STEP (tests only) ends the process with _exit(86)
 * at a named point: journal, inuse, grown (P took a larger C's size),
 * copy:K (after K clusters), copied, switched, unlinked, closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define JOURNAL_SUFFIX	".merge"
#define JOURNAL_MAGIC	"prld-merge 1"
#define CRASH_ENV	"PRLD_TEST_MERGE_CRASH"
#define CRASH_EXIT	86

enum merge_kind { MK_LEAF, MK_MERGE };

struct merge {
	struct prld_desc *d;
	char *journal;			/* <descriptor>.merge */
	char *top_path;
	int lock_fd;			/* the top's exclusive flock */
	enum merge_kind kind;
	bool resume;			/* rolling forward a journal */
	bool journaled;			/* the journal is on disk */
	char sguid[PRLD_GUID_LEN + 1];	/* the snapshot deleted (P) */
	char cguid[PRLD_GUID_LEN + 1];	/* its child (C), merge only */
	char *sfile, *cfile;		/* <File> values */
	char *spath, *cpath;
	enum prld_layer_kind skind;
	struct prld_image *pimg;	/* P, writable */
	struct prld_image *cimg;	/* C, header only */
	uint32_t *cbat;			/* C's BAT, native */
	const char *crash;		/* PRLD_TEST_MERGE_CRASH */

	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t done, total;
	bool counted;			/* total is known */
	bool finished;
	int result;
	struct prld_err err;
};

struct prld_job {
	struct merge m;
	pthread_t thread;
	bool started, joined;
};

static int sys_err(struct prld_err *err, int code, const char *path,
		   const char *what)
{
	return prld_set_err(err, code, "%s: %s: %s", path, what,
			    strerror(-code));
}

static void crash_point(const struct merge *m, const char *step,
			uint64_t k)
{
	char buf[48];

	if (!m->crash)
		return;
	if (k)
		snprintf(buf, sizeof(buf), "%s:%llu", step,
			 (unsigned long long)k);
	else
		snprintf(buf, sizeof(buf), "%s", step);
	if (!strcmp(m->crash, buf))
		_exit(CRASH_EXIT);
}

/* ---- the descriptor ----------------------------------------------------- */

/* DIR/DiskDescriptor.xml or the .xml given; a bare image has none. */
static int merge_desc_path(const char *path, char **out, struct prld_err *err)
{
	struct stat st;
	size_t n = strlen(path);

	*out = NULL;
	if (stat(path, &st) < 0)
		return sys_err(err, -errno, path, "cannot stat");
	if (S_ISDIR(st.st_mode))
		*out = prld_join(path, PRLD_DESCRIPTOR);
	else if (n >= 4 && !strcasecmp(path + n - 4, ".xml"))
		*out = strdup(path);
	else
		return prld_set_err(err, -EINVAL,
				    "%s: not a disk directory; deleting a snapshot needs a %s (a bare image has none)",
				    path, PRLD_DESCRIPTOR);
	if (!*out)
		return prld_set_err(err, -ENOMEM, "out of memory");
	if (access(*out, F_OK) < 0 && errno == ENOENT) {
		prld_set_err(err, -ENOENT, "%s: no %s: not a disk directory",
			     path, PRLD_DESCRIPTOR);
		free(*out);
		*out = NULL;
		return -ENOENT;
	}
	return 0;
}

static int shot_idx(const struct prld_desc *d, const char *guid)
{
	unsigned int i;

	for (i = 0; i < d->nshots; i++)
		if (!strcasecmp(d->shots[i].guid, guid))
			return (int)i;
	return -1;
}

static int image_idx(const struct prld_desc *d, const char *guid)
{
	unsigned int i;

	for (i = 0; i < d->nimages; i++)
		if (!strcasecmp(d->images[i].guid, guid))
			return (int)i;
	return -1;
}

static char *file_path(const struct prld_desc *d, const char *file)
{
	return file[0] == '/' ? strdup(file) : prld_join(d->dir, file);
}

/* Children of @guid: their count, the first two in @c1, @c2. */
static unsigned int children(const struct prld_desc *d, const char *guid,
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

static bool file_named(const struct prld_desc *d, const char *file)
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

/* ---- locking ------------------------------------------------------------ */

static int lock_top(struct merge *m, struct prld_err *err)
{
	const struct prld_desc *d = m->d;
	int ret;

	m->top_path = file_path(d, d->images[image_idx(d, d->top_guid)].file);
	if (!m->top_path)
		return prld_set_err(err, -ENOMEM, "out of memory");
	m->lock_fd = open(m->top_path, O_RDONLY | O_CLOEXEC);
	if (m->lock_fd < 0)
		return sys_err(err, -errno, m->top_path, "cannot open");
	if (flock(m->lock_fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		ret = prld_set_err(err, -EBUSY,
				   "%s: disk in use (attached as a device or open by another process); deleting snapshots works offline only: close it first",
				   m->top_path);
	else
		ret = sys_err(err, -errno, m->top_path, "cannot lock");
	close(m->lock_fd);
	m->lock_fd = -1;
	return ret;
}

/* Load, lock the top, load again: the model must be the locked one's. */
static int lock_disk(struct merge *m, const char *desc_path,
		     struct prld_err *err)
{
	struct prld_desc *now;
	int ret, tries;

	for (tries = 0; tries < 3; tries++) {
		ret = desc_load(desc_path, &m->d, err);
		if (!ret)
			ret = lock_top(m, err);
		if (ret)
			return ret;
		ret = desc_load(desc_path, &now, err);
		if (ret)
			return ret;
		if (!strcmp(now->top_guid, m->d->top_guid) &&
		    !strcmp(now->images[image_idx(now, now->top_guid)].file,
			    m->d->images[image_idx(m->d, m->d->top_guid)].file)) {
			desc_free(m->d);
			m->d = now;
			return 0;
		}
		/* A snapshot or revert switched the top meanwhile. */
		desc_free(now);
		desc_free(m->d);
		m->d = NULL;
		close(m->lock_fd);
		m->lock_fd = -1;
		free(m->top_path);
		m->top_path = NULL;
	}
	return prld_set_err(err, -EBUSY,
			    "%s: the descriptor keeps changing (concurrent snapshots); try again",
			    desc_path);
}

static void merge_release(struct merge *m)
{
	if (m->pimg)
		image_close(m->pimg, NULL);
	if (m->cimg)
		image_close(m->cimg, NULL);
	m->pimg = m->cimg = NULL;
	free(m->cbat);
	m->cbat = NULL;
	if (m->lock_fd >= 0)
		close(m->lock_fd);
	m->lock_fd = -1;
	desc_free(m->d);
	m->d = NULL;
	free(m->journal);
	free(m->top_path);
	free(m->sfile);
	free(m->cfile);
	free(m->spath);
	free(m->cpath);
	m->journal = m->top_path = m->sfile = m->cfile = NULL;
	m->spath = m->cpath = NULL;
}

static int merge_init(struct merge *m, const char *desc_path,
		      struct prld_err *err)
{
	memset(m, 0, sizeof(*m));
	m->lock_fd = -1;
	m->crash = getenv(CRASH_ENV);
	if (asprintf(&m->journal, "%s%s", desc_path, JOURNAL_SUFFIX) < 0) {
		m->journal = NULL;
		return prld_set_err(err, -ENOMEM, "out of memory");
	}
	return 0;
}

/* ---- the journal -------------------------------------------------------- */

static int journal_write(struct merge *m, struct prld_err *err)
{
	char *tmp = NULL, *text = NULL;
	int fd = -1, ret = 0, len;

	len = asprintf(&text, "%s\nop %s\nshot %s\nchild %s\nshot_file %s\nchild_file %s\n",
		       JOURNAL_MAGIC, m->kind == MK_MERGE ? "merge" : "delete",
		       m->sguid, m->kind == MK_MERGE ? m->cguid : "-",
		       m->sfile, m->kind == MK_MERGE ? m->cfile : "-");
	if (len < 0 || asprintf(&tmp, "%s.tmp", m->journal) < 0) {
		if (len >= 0)
			free(text);
		return prld_set_err(err, -ENOMEM, "out of memory");
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		ret = sys_err(err, -errno, tmp, "cannot create");
	if (!ret) {
		ret = prld_pwrite_full(fd, text, (size_t)len, 0);
		if (ret)
			sys_err(err, ret, tmp, "cannot write");
	}
	if (!ret && fsync(fd) < 0)
		ret = sys_err(err, -errno, tmp, "cannot sync");
	if (fd >= 0)
		close(fd);
	if (!ret && rename(tmp, m->journal) < 0)
		ret = sys_err(err, -errno, m->journal, "cannot rename into place");
	if (!ret) {
		ret = prld_fsync_dir(m->journal);
		if (ret)
			sys_err(err, ret, m->journal, "cannot sync the directory");
	}
	if (ret)
		unlink(tmp);
	free(tmp);
	free(text);
	return ret;
}

static int journal_remove(struct merge *m, struct prld_err *err)
{
	int ret;

	if (unlink(m->journal) < 0 && errno != ENOENT)
		return sys_err(err, -errno, m->journal, "cannot remove");
	ret = prld_fsync_dir(m->journal);
	if (ret)
		return sys_err(err, ret, m->journal, "cannot sync the directory");
	return 0;
}

/* "key value" line @key of @text: the value, malloc'd, or NULL. */
static char *journal_field(const char *text, const char *key)
{
	size_t kl = strlen(key);
	const char *p = text, *end;

	while (p && *p) {
		end = strchr(p, '\n');
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) > kl && !strncmp(p, key, kl) &&
		    p[kl] == ' ')
			return strndup(p + kl + 1, (size_t)(end - p) - kl - 1);
		p = *end ? end + 1 : end;
	}
	return NULL;
}

/* Read the journal into @m; -ENOENT when there is none. */
static int journal_read(struct merge *m, struct prld_err *err)
{
	char *text, *op = NULL, *s = NULL, *c = NULL;
	uint64_t len;
	int fd, ret = 0;
	struct stat st;

	fd = open(m->journal, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return sys_err(err, -errno, m->journal, "cannot open");
	}
	if (fstat(fd, &st) < 0 || st.st_size > 65536) {
		close(fd);
		return prld_set_err(err, -EINVAL,
				    "%s: merge journal unreadable or too big",
				    m->journal);
	}
	len = (uint64_t)st.st_size;
	text = calloc(1, len + 1);
	if (!text || prld_pread_full(fd, text, len, 0)) {
		close(fd);
		free(text);
		return prld_set_err(err, -EIO, "%s: cannot read the merge journal",
				    m->journal);
	}
	close(fd);
	if (strncmp(text, JOURNAL_MAGIC "\n", strlen(JOURNAL_MAGIC) + 1))
		ret = -EINVAL;
	if (!ret) {
		op = journal_field(text, "op");
		s = journal_field(text, "shot");
		c = journal_field(text, "child");
		m->sfile = journal_field(text, "shot_file");
		m->cfile = journal_field(text, "child_file");
	}
	if (!ret && (!op || !s || !c || !m->sfile || !m->cfile ||
		     !desc_guid_valid(s)))
		ret = -EINVAL;
	if (!ret && !strcmp(op, "merge") && desc_guid_valid(c))
		m->kind = MK_MERGE;
	else if (!ret && !strcmp(op, "delete"))
		m->kind = MK_LEAF;
	else
		ret = -EINVAL;
	if (!ret) {
		snprintf(m->sguid, sizeof(m->sguid), "%s", s);
		snprintf(m->cguid, sizeof(m->cguid), "%s",
			 m->kind == MK_MERGE ? c : "");
	}
	free(op);
	free(s);
	free(c);
	free(text);
	if (ret)
		return prld_set_err(err, ret,
				    "%s: malformed merge journal; inspect the disk and remove it by hand",
				    m->journal);
	return 0;
}

/* ---- images ------------------------------------------------------------- */

/* C's header and BAT, read raw and validated; no lock (C may be our top). */
static int open_child(struct merge *m, struct prld_err *err)
{
	const struct prld_desc *d = m->d;
	struct prld_image *c;
	struct prld_fault f;
	uint64_t total;
	size_t bytes;
	__u8 *seen;
	uint32_t i;
	int ret;

	ret = image_open_header(m->cpath, PRLD_LAYER_EXPANDING, d->disk_size,
				d->blocksize, &m->cimg, err);
	if (ret)
		return ret;
	c = m->cimg;
	if (c->geom.inuse == PRLD_INUSE_MAGIC)
		return prld_set_err(err, -EUCLEAN,
				    "%s: image was not closed cleanly (in-use flag set); run `prldctl check --repair` first",
				    c->path);
	/* Sizes may differ: a resize grows only the top (lower ones stay). */
	if (c->geom.cluster_sectors != d->blocksize)
		return prld_set_err(err, -EINVAL,
				    "%s: cluster size %u sectors differs from the descriptor's Blocksize %u",
				    c->path, c->geom.cluster_sectors, d->blocksize);
	bytes = (size_t)c->geom.bat_entries * 4;
	m->cbat = malloc(bytes ? bytes : 1);
	seen = calloc((size_t)(prld_data_slots(&c->geom, c->file_size) / 8 + 1),
		      1);
	if (!m->cbat || !seen) {
		free(seen);
		return prld_set_err(err, -ENOMEM, "out of memory");
	}
	ret = prld_pread_full(c->fd, m->cbat, bytes, PRLD_BAT_OFFSET);
	if (ret) {
		free(seen);
		return sys_err(err, ret, c->path, "cannot read BAT");
	}
	if (prld_bat_check(&c->geom, (const __u8 *)m->cbat,
			   c->geom.bat_entries, c->file_size, seen, &f))
		ret = prld_fault_err(err, c->path, &f);
	free(seen);
	if (ret)
		return ret;
	for (i = 0, total = 0; i < c->geom.bat_entries; i++) {
		m->cbat[i] = prld_get_le32((const __u8 *)&m->cbat[i]);
		total += m->cbat[i] != 0;
	}
	pthread_mutex_lock(&m->mu);
	m->total = total;
	m->counted = true;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	return 0;
}

/* Write P's in-use word (and clear EMPTY once it holds data), raw. */
static int raw_state(const char *path, bool inuse, struct prld_err *err)
{
	__u8 hdr[PRLD_HEADER_SIZE];
	struct prld_geom g;
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return sys_err(err, -errno, path, "cannot open");
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
		return sys_err(err, ret, path, "cannot rewrite the header state");
	return 0;
}

/*
 * P writable.  Resuming, the flag we set before the crash is ours: the
 * journal, not the flag, says P is mid-merge, so it is cleared first and
 * P goes through the full validation of a writable open.
 */
static int open_parent(struct merge *m, struct prld_err *err)
{
	const struct prld_desc *d = m->d;
	struct prld_image *p;
	int ret;

	if (m->resume && m->skind == PRLD_LAYER_EXPANDING) {
		ret = raw_state(m->spath, false, err);
		if (ret)
			return ret;
	}
	ret = image_open(m->spath, m->skind, true, d->disk_size, d->blocksize,
			 &m->pimg, err);
	if (ret == -EBUSY)
		ret = prld_set_err(err, -EBUSY,
				   "%s: snapshot image in use by another process; deleting snapshots works offline only",
				   m->spath);
	if (ret)
		return ret;
	p = m->pimg;
	if (p->geom.cluster_sectors != d->blocksize)
		return prld_set_err(err, -EINVAL,
				    "%s: cluster size %u sectors differs from the descriptor's Blocksize %u",
				    p->path, p->geom.cluster_sectors, d->blocksize);
	/* An expanding P grows to C's size first (run_merge); raw cannot. */
	if (p->kind == PRLD_LAYER_PLAIN &&
	    p->geom.bat_entries < m->cimg->geom.bat_entries)
		return prld_set_err(err, -EOPNOTSUPP,
				    "%s: plain image smaller than its child %s (a resized disk); merging it is not supported",
				    p->path, m->cimg->path);
	return 0;
}

static void progress(struct merge *m, uint64_t done)
{
	pthread_mutex_lock(&m->mu);
	m->done = done;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

/* Every cluster C maps into P: in place where P has it, else allocated. */
static int copy_clusters(struct merge *m, struct prld_err *err)
{
	struct prld_image *p = m->pimg, *c = m->cimg;
	uint64_t cl = prld_cluster_bytes(&c->geom);
	uint64_t disk_bytes = m->d->disk_size << PRLD_SECTOR_SHIFT;
	uint64_t done = 0, coff, poff, len;
	void *buf = malloc(cl);
	uint32_t i;
	int ret = 0;

	if (!buf)
		return prld_set_err(err, -ENOMEM, "out of memory");
	for (i = 0; i < c->geom.bat_entries && !ret; i++) {
		if (!m->cbat[i])
			continue;
		coff = prld_bat_to_offset(&c->geom, m->cbat[i]);
		ret = prld_pread_full(c->fd, buf, cl, coff);
		if (ret) {
			sys_err(err, ret, c->path, "cannot read a cluster");
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
				sys_err(err, ret, p->path,
					"cannot write a cluster");
			p->data_written = true;
		} else {
			ret = image_alloc(p, i, buf, NULL, err);
		}
		if (!ret) {
			progress(m, ++done);
			crash_point(m, "copy", done);
		}
	}
	free(buf);
	return ret;
}

/* P's file now carries C's GUID; P's entries go. */
static int switch_descriptor(struct merge *m, struct prld_err *err)
{
	struct prld_desc *d = m->d;
	int ip = image_idx(d, m->sguid), sp = shot_idx(d, m->sguid);
	int ic = image_idx(d, m->cguid), sc = shot_idx(d, m->cguid);
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

static int drop_file(const char *path, struct prld_err *err)
{
	int ret;

	if (unlink(path) < 0 && errno != ENOENT)
		return sys_err(err, -errno, path, "cannot remove");
	ret = prld_fsync_dir(path);
	if (ret)
		return sys_err(err, ret, path, "cannot sync the directory");
	return 0;
}

/* ---- the two operations ------------------------------------------------- */

static int run_merge(struct merge *m, struct prld_err *err)
{
	int ret = 0, keep;

	/* A fresh delete opened both in prld_merge_start, to fail early. */
	if (!m->cimg)
		ret = open_child(m, err);
	if (!ret && !m->pimg)
		ret = open_parent(m, err);
	if (!ret && !m->resume)
		ret = journal_write(m, err);
	if (ret)
		return ret;
	m->journaled = true;
	crash_point(m, "journal", 0);
	ret = image_begin_write(m->pimg, err);
	if (ret)
		return ret;
	crash_point(m, "inuse", 0);
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
		crash_point(m, "grown", 0);
	}
	ret = copy_clusters(m, err);
	if (!ret)
		ret = image_sync(m->pimg, err);
	if (ret)
		return ret;
	crash_point(m, "copied", 0);
	ret = switch_descriptor(m, err);
	if (ret)
		return ret;
	crash_point(m, "switched", 0);
	ret = drop_file(m->cpath, err);
	if (ret)
		return ret;
	crash_point(m, "unlinked", 0);
	/*
	 * P's file may be the top now: a dup keeps P's flock (it belongs to
	 * the open file) until the journal is gone.
	 */
	keep = dup(m->pimg->fd);
	ret = image_close(m->pimg, err);
	m->pimg = NULL;
	if (!ret)
		crash_point(m, "closed", 0);
	if (!ret)
		ret = journal_remove(m, err);
	if (keep >= 0)
		close(keep);
	return ret;
}

static int run_leaf(struct merge *m, struct prld_err *err)
{
	struct prld_desc *d = m->d;
	int ret = 0;

	if (!m->resume)
		ret = journal_write(m, err);
	if (ret)
		return ret;
	m->journaled = true;
	crash_point(m, "journal", 0);
	drop_image(d, (unsigned int)image_idx(d, m->sguid));
	drop_shot(d, (unsigned int)shot_idx(d, m->sguid));
	ret = desc_save(d, err);
	if (ret)
		return ret;
	crash_point(m, "switched", 0);
	ret = drop_file(m->spath, err);
	if (ret)
		return ret;
	crash_point(m, "unlinked", 0);
	return journal_remove(m, err);
}

static int fill_paths(struct merge *m, struct prld_err *err)
{
	m->spath = file_path(m->d, m->sfile);
	if (m->kind == MK_MERGE)
		m->cpath = file_path(m->d, m->cfile);
	if (!m->spath || (m->kind == MK_MERGE && !m->cpath))
		return prld_set_err(err, -ENOMEM, "out of memory");
	return 0;
}

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
	int ss = shot_idx(d, m->sguid), si = image_idx(d, m->sguid);
	int cs = m->kind == MK_MERGE ? shot_idx(d, m->cguid) : -1;
	int ci = m->kind == MK_MERGE ? image_idx(d, m->cguid) : -1;
	int c1, c2;

	m->resume = true;
	if (ss < 0) {
		/* Switched: P's file is C's now (merge) or nobody's (leaf). */
		if (m->kind == MK_MERGE &&
		    (ci < 0 || strcmp(d->images[ci].file, m->sfile)))
			goto mismatch;
		if (m->kind == MK_LEAF && file_named(d, m->sfile))
			goto mismatch;
		if (m->kind == MK_MERGE)
			m->skind = d->images[ci].kind;
		return 1;
	}
	if (si < 0 || strcmp(d->images[si].file, m->sfile))
		goto mismatch;
	m->skind = d->images[si].kind;
	if (m->kind == MK_LEAF)
		return children(d, m->sguid, &c1, &c2) ? mismatch(m, err) : 0;
	if (cs < 0 || ci < 0 || strcmp(d->images[ci].file, m->cfile) ||
	    strcasecmp(d->shots[cs].parent, m->sguid) ||
	    children(d, m->sguid, &c1, &c2) != 1)
		goto mismatch;
	return 0;
mismatch:
	return mismatch(m, err);
}

/* After the switch: C's file, P's flag, the journal. */
static int finish_switched(struct merge *m, struct prld_err *err)
{
	int ret = 0;

	if (m->kind == MK_LEAF)
		ret = drop_file(m->spath, err);
	if (m->kind == MK_MERGE) {
		if (!file_named(m->d, m->cfile))
			ret = drop_file(m->cpath, err);
		if (!ret && m->skind == PRLD_LAYER_EXPANDING)
			ret = raw_state(m->spath, false, err);
	}
	if (!ret)
		ret = journal_remove(m, err);
	return ret;
}

/*
 * With the disk locked and m->journal present: finish it.  @what gets a
 * one-line account.  0, or a negative errno.
 */
static int recover_locked(struct merge *m, char *what, size_t len,
			  struct prld_err *err)
{
	int ret = journal_read(m, err);

	if (!ret)
		ret = resume_plan(m, err);
	if (ret < 0)
		return ret;
	if (what)
		snprintf(what, len,
			 m->kind == MK_MERGE ?
			 "finished the interrupted merge of snapshot %s into %s (%s)" :
			 "finished the interrupted deletion of snapshot %s%s (%s)",
			 m->kind == MK_MERGE ? m->cguid : m->sguid,
			 m->kind == MK_MERGE ? m->sguid : "",
			 ret == 1 ? "after the descriptor switch" :
				    "before the descriptor switch");
	if (fill_paths(m, err))
		return -ENOMEM;
	if (ret == 1)
		return finish_switched(m, err);
	return m->kind == MK_MERGE ? run_merge(m, err) : run_leaf(m, err);
}

int merge_recover(const char *path, char *what, size_t len,
		  struct prld_err *err)
{
	size_t n = strlen(path);
	struct merge m;
	struct stat st;
	char *dp;
	int ret;

	if (what && len)
		what[0] = '\0';
	/* A bare image has no snapshots; the caller reports a bad path. */
	if (stat(path, &st) < 0 || (!S_ISDIR(st.st_mode) &&
				    (n < 4 || strcasecmp(path + n - 4, ".xml"))))
		return 0;
	if (merge_desc_path(path, &dp, NULL))
		return 0;
	ret = merge_init(&m, dp, err);
	if (!ret && access(m.journal, F_OK) < 0) {
		free(m.journal);
		free(dp);
		return 0;
	}
	pthread_mutex_init(&m.mu, NULL);
	pthread_cond_init(&m.cv, NULL);
	if (!ret)
		ret = lock_disk(&m, dp, err);
	if (!ret)
		ret = recover_locked(&m, what, len, err);
	if (!ret)
		ret = 1;
	merge_release(&m);
	pthread_mutex_destroy(&m.mu);
	pthread_cond_destroy(&m.cv);
	free(dp);
	return ret;
}

static const char *journal_name(const struct merge *m)
{
	const char *slash = strrchr(m->journal, '/');

	return slash ? slash + 1 : m->journal;
}

int merge_pending(const char *desc_path, char *what, size_t len)
{
	struct merge m;
	int ret;

	if (merge_init(&m, desc_path, NULL))
		return -ENOMEM;
	ret = journal_read(&m, NULL);
	if (ret == -ENOENT) {
		ret = 0;
	} else if (ret) {
		snprintf(what, len,
			 "malformed merge journal %s: inspect the disk, then remove it",
			 journal_name(&m));
		ret = 1;
	} else {
		snprintf(what, len,
			 m.kind == MK_MERGE ?
			 "unfinished merge of snapshot %s into %s (journal %s); check --repair finishes it" :
			 "unfinished deletion of snapshot %s%s (journal %s); check --repair finishes it",
			 m.kind == MK_MERGE ? m.cguid : m.sguid,
			 m.kind == MK_MERGE ? m.sguid : "", journal_name(&m));
		ret = 1;
	}
	free(m.journal);
	free(m.sfile);
	free(m.cfile);
	return ret;
}

/* ---- a fresh delete ----------------------------------------------------- */

/* The refusal for 2+ children names them (up to 8). */
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
	int s, c1, c2, ci;
	unsigned int n;

	if (!guid || !desc_guid_valid(guid))
		return prld_set_err(err, -EINVAL,
				    "'%s' is not a snapshot GUID (want one like %s)",
				    guid ? guid : "", PRLD_ZERO_GUID);
	s = shot_idx(d, guid);
	if (s < 0)
		return prld_set_err(err, -ENOENT,
				    "%s: no snapshot %s (prldctl snapshots lists them)",
				    d->path, guid);
	if (!strcasecmp(guid, d->top_guid))
		return prld_set_err(err, -EINVAL,
				    "%s: %s is the current top (the disk's current state), not a snapshot; revert to another snapshot to discard it",
				    d->path, guid);
	memcpy(m->sguid, d->shots[s].guid, sizeof(m->sguid));
	n = children(d, m->sguid, &c1, &c2);
	if (n >= 2)
		return too_many_children(d, m->sguid, n, err);
	m->sfile = strdup(d->images[image_idx(d, m->sguid)].file);
	m->skind = d->images[image_idx(d, m->sguid)].kind;
	if (!m->sfile)
		return prld_set_err(err, -ENOMEM, "out of memory");
	m->kind = n ? MK_MERGE : MK_LEAF;
	if (n) {
		memcpy(m->cguid, d->shots[c1].guid, sizeof(m->cguid));
		ci = image_idx(d, m->cguid);
		if (d->images[ci].kind == PRLD_LAYER_PLAIN)
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
	return fill_paths(m, err);
}

/*
 * Lock the disk; if an earlier delete left a journal, finish it under the
 * same lock, then start over (the finished merge may have moved the top).
 */
static int lock_and_recover(struct merge *m, const char *dp,
			    struct prld_err *err)
{
	struct merge r;
	int ret, round;

	for (round = 0; round < 2; round++) {
		ret = lock_disk(m, dp, err);
		if (ret || access(m->journal, F_OK) < 0)
			return ret;
		ret = merge_init(&r, dp, err);
		if (ret)
			return ret;
		r.d = m->d;
		m->d = NULL;
		r.crash = NULL;
		pthread_mutex_init(&r.mu, NULL);
		pthread_cond_init(&r.cv, NULL);
		ret = recover_locked(&r, NULL, 0, err);
		merge_release(&r);	/* r.lock_fd is -1: m holds the lock */
		pthread_mutex_destroy(&r.mu);
		pthread_cond_destroy(&r.cv);
		close(m->lock_fd);
		m->lock_fd = -1;
		free(m->top_path);
		m->top_path = NULL;
		if (ret)
			return ret;
	}
	return prld_set_err(err, -EUCLEAN,
			    "%s: the merge journal is still there after finishing it",
			    m->journal);
}

static void *job_main(void *arg)
{
	struct merge *m = arg;
	struct prld_err err = { 0 };
	int ret;

	ret = m->kind == MK_MERGE ? run_merge(m, &err) : run_leaf(m, &err);
	if (ret && m->journaled) {
		size_t n = strlen(err.msg);

		snprintf(err.msg + n, sizeof(err.msg) - n,
			 "; the delete is recorded in %s: `prldctl check --repair` finishes it",
			 m->journal);
	}
	/* Everything closed (locks released) before waiters hear of it. */
	merge_release(m);
	pthread_mutex_lock(&m->mu);
	m->result = ret;
	m->err = err;
	m->finished = true;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

static void job_destroy(struct prld_job *job)
{
	merge_release(&job->m);
	pthread_mutex_destroy(&job->m.mu);
	pthread_cond_destroy(&job->m.cv);
	free(job);
}

int prld_merge_start(const char *dir, const char *guid,
		     struct prld_job **out, struct prld_err *err)
{
	struct prld_job *job;
	struct merge *m;
	char *dp;
	int ret;

	*out = NULL;
	ret = merge_desc_path(dir, &dp, err);
	if (ret)
		return ret;
	job = calloc(1, sizeof(*job));
	if (!job) {
		free(dp);
		return prld_set_err(err, -ENOMEM, "out of memory");
	}
	m = &job->m;
	ret = merge_init(m, dp, err);
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	if (!ret)
		ret = lock_and_recover(m, dp, err);
	free(dp);
	if (!ret)
		ret = plan_delete(m, guid, err);
	if (!ret && m->kind == MK_MERGE)
		ret = open_child(m, err);
	if (!ret && m->kind == MK_MERGE)
		ret = open_parent(m, err);
	if (!ret && m->kind == MK_LEAF)
		m->counted = true;	/* nothing to copy */
	if (!ret) {
		ret = -pthread_create(&job->thread, NULL, job_main, m);
		if (ret)
			prld_set_err(err, ret, "cannot start the merge: %s",
				     strerror(-ret));
	}
	if (ret) {
		job_destroy(job);
		return ret;
	}
	job->started = true;
	*out = job;
	return 0;
}

int prld_job_wait(struct prld_job *job, prld_progress_fn cb, void *ctx,
		  struct prld_err *err)
{
	struct merge *m = &job->m;
	uint64_t done = 0, total = 0;
	bool finished = false, counted = false;
	int ret;

	while (!finished) {
		pthread_mutex_lock(&m->mu);
		while (!m->finished && m->done == done &&
		       m->counted == counted)
			pthread_cond_wait(&m->cv, &m->mu);
		finished = m->finished;
		counted = m->counted;
		done = m->done;
		total = m->total;
		pthread_mutex_unlock(&m->mu);
		if (cb && counted && (!finished || m->result == 0))
			cb(done, total, ctx);
	}
	if (!job->joined) {
		pthread_join(job->thread, NULL);
		job->joined = true;
	}
	ret = m->result;
	if (ret && err)
		*err = m->err;
	return ret;
}

void prld_job_free(struct prld_job *job)
{
	if (!job)
		return;
	if (job->started && !job->joined)
		pthread_join(job->thread, NULL);
	job_destroy(job);
}

int prld_delete_snapshot(const char *dir, const char *guid,
			 struct prld_err *err)
{
	struct prld_job *job;
	int ret = prld_merge_start(dir, guid, &job, err);

	if (ret)
		return ret;
	ret = prld_job_wait(job, NULL, NULL, err);
	prld_job_free(job);
	return ret;
}
