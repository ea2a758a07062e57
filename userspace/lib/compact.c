// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * compact.c - prld_compact: give the space of unreferenced clusters back
 * to the host filesystem, offline, in every image of a disk (each layer of
 * every chain of the snapshot tree, every piece of a split disk) or in a
 * bare image.
 *
 * A cluster becomes unreferenced when a discard unmaps it (the driver
 * punches it: the filesystem has that space back already, but the file
 * keeps its length), when a crash or a failed write leaks it, or when the
 * format extension it held is dropped.  Compaction moves the clusters
 * from the end of the file into those holes, lowest hole first, then cuts
 * the file after its last cluster, so the file is exactly header, BAT and
 * its data.  What the image reads never changes.
 *
 * Crash safety is image.c's batch order: a moved cluster's copy goes to a
 * hole (space no entry names), the batch's copies are made durable by one
 * fdatasync before its BAT entries are written (image_commit), and the
 * file is cut only after the last entries are durable (image_close).  A
 * copy never lands on space an entry on disk may still name: the holes
 * filled lie below every cluster moved, and a cluster's old place is
 * never reused before the cut.  A crash thus leaves each entry naming its
 * old place or its copy, both whole, plus leaked clusters and the in-use
 * flag, which `prldctl check --repair` clears; compacting again finishes.
 *
 * Locks: every image is opened for writing (its exclusive flock and
 * QEMU's byte locks) before any is changed and kept until all are done,
 * so no prld, QEMU or ploop process and no attached device uses the disk
 * meanwhile, and a snapshot cannot change its tree.
 *
 * PRLD_TEST_COMPACT_CRASH=STEP (test builds only) ends the process with
 * _exit(86) at: begin (in-use flag set), move:K (after K copies),
 * commit:K (after the K-th batch's entries), synced (all entries durable,
 * before the cut).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Clusters moved per batch (each batch: one fdatasync, one BAT write). */
#define MOVE_BATCH	256U

/* Crash points in test builds only, as merge_state.c's. */
#ifdef PRLD_TEST_HOOKS
#define CRASH_ENV	"PRLD_TEST_COMPACT_CRASH"
#define CRASH_EXIT	86

static void crash_at(const char *step, uint64_t k)
{
	if (prld_test_step_is(getenv(CRASH_ENV), step, k))
		_exit(CRASH_EXIT);
}
#else
static void crash_at(const char *step, uint64_t k)
{
	(void)step;
	(void)k;
}
#endif

/* Which cluster each data slot below alloc_next holds (+1; 0: none). */
static uint32_t *slot_owners(const struct prld_image *img, uint64_t *nslots)
{
	const struct prld_geom *g = &img->geom;
	uint64_t data = prld_data_start(g), off;
	uint32_t *owner, i;

	*nslots = img->alloc_next > data ?
		  (img->alloc_next - data) / prld_cluster_bytes(g) : 0;
	owner = calloc(*nslots ? *nslots : 1, sizeof(*owner));
	for (i = 0; owner && i < g->bat_entries; i++) {
		if (!img->bat[i])
			continue;
		off = prld_bat_to_offset(g, img->bat[i]);
		owner[prld_offset_to_slot(g, off)] = i + 1;
	}
	return owner;
}

/* Copy slot @from to slot @to (a hole); the entry follows in memory. */
static int move_cluster(struct prld_image *img, uint32_t *owner, uint64_t from,
			uint64_t to, void *buf, struct prld_err *err)
{
	const struct prld_geom *g = &img->geom;
	uint64_t cl = prld_cluster_bytes(g);
	uint32_t c = owner[from] - 1;
	int ret;

	ret = prld_pread_full(img->fd, buf, cl, prld_slot_to_offset(g, from));
	if (ret)
		return prld_sys_err(err, ret, img->path, "cannot read a cluster");
	ret = prld_pwrite_full(img->fd, buf, cl, prld_slot_to_offset(g, to));
	if (ret)
		return prld_sys_err(err, ret, img->path, "cannot write a cluster");
	img->bat[c] = prld_offset_to_bat(g, prld_slot_to_offset(g, to));
	image_mark_pending(img, c, cl);
	owner[to] = owner[from];
	owner[from] = 0;
	return 0;
}

/*
 * Fill the holes below the last cluster with the last clusters, a batch
 * at a time; img->alloc_next ends right after the last cluster left.
 */
static int fill_holes(struct prld_image *img, uint32_t *owner, uint64_t n,
		      uint64_t *moved, struct prld_err *err)
{
	const struct prld_geom *g = &img->geom;
	uint64_t lo = 0, hi = n, batch = 0, commits = 0;
	void *buf = malloc(prld_cluster_bytes(g));
	int ret = 0;

	if (!buf)
		return prld_set_err(err, -ENOMEM, "out of memory");
	for (;;) {
		while (hi > 0 && !owner[hi - 1])
			hi--;
		while (lo < hi && owner[lo])
			lo++;
		if (lo >= hi)
			break;
		ret = move_cluster(img, owner, hi - 1, lo, buf, err);
		if (ret)
			break;
		crash_at("move", ++*moved);
		if (++batch == MOVE_BATCH) {
			ret = image_commit(img, err);
			if (ret)
				break;
			crash_at("commit", ++commits);
			batch = 0;
		}
	}
	free(buf);
	img->alloc_next = prld_slot_to_offset(g, hi);
	if (img->alloc_next < prld_data_start(g))
		img->alloc_next = prld_data_start(g);
	return ret;
}

static void usage_of(const char *path, uint64_t *size, uint64_t *used)
{
	struct stat st;

	*size = *used = 0;
	if (stat(path, &st) == 0) {
		*size = (uint64_t)st.st_size;
		*used = (uint64_t)st.st_blocks * 512;
	}
}

/*
 * One image, open for writing: holes filled, entries durable, file cut
 * after its last cluster, in-use flag cleared (image_close).  An image
 * with nothing to give back is left untouched.
 */
static int compact_image(struct prld_image *img, struct prld_compact_image *r,
			 struct prld_err *err)
{
	uint64_t n, end_before = img->alloc_next;
	uint32_t *owner;
	int ret;

	if (img->kind != PRLD_LAYER_EXPANDING)
		return 0;	/* raw: every cluster in place */
	owner = slot_owners(img, &n);
	if (!owner)
		return prld_set_err(err, -ENOMEM, "out of memory");
	ret = img->allocated == n && img->file_size == end_before ? 0 :
	      image_begin_write(img, err);
	if (!ret && img->marked_in_use) {
		crash_at("begin", 0);
		ret = fill_holes(img, owner, n, &r->moved, err);
	}
	if (!ret && img->marked_in_use) {
		ret = image_sync(img, err);
		crash_at("synced", 0);
	}
	free(owner);
	return ret;
}

/* The images to compact: a descriptor's every image, or one bare image. */
struct targets {
	unsigned int n;
	char **paths;
	enum prld_layer_kind *kinds;
	struct prld_image **imgs;
};

static void targets_free(struct targets *t)
{
	unsigned int i;

	for (i = 0; i < t->n; i++) {
		if (t->imgs && t->imgs[i])
			image_close(t->imgs[i], NULL);
		free(t->paths[i]);
	}
	free(t->paths);
	free(t->kinds);
	free(t->imgs);
	memset(t, 0, sizeof(*t));
}

static int targets_alloc(struct targets *t, unsigned int n)
{
	t->paths = calloc(n ? n : 1, sizeof(*t->paths));
	t->kinds = calloc(n ? n : 1, sizeof(*t->kinds));
	t->imgs = calloc(n ? n : 1, sizeof(*t->imgs));
	return t->paths && t->kinds && t->imgs ? 0 : -ENOMEM;
}

static int targets_of_desc(const char *desc_path, struct targets *t,
			   uint64_t *sectors, uint32_t *cluster,
			   struct prld_err *err)
{
	struct prld_desc_storage st;
	struct prld_desc *d;
	unsigned int k, i;
	int ret = desc_load(desc_path, &d, err);

	if (ret)
		return ret;
	*sectors = d->disk_size;
	*cluster = d->blocksize;
	ret = targets_alloc(t, d->nimages * d->nstorages);
	for (k = 0; !ret && k < d->nstorages; k++) {
		desc_storage(d, k, &st);
		for (i = 0; !ret && i < st.nimages; i++, t->n++) {
			t->paths[t->n] = desc_file_path(d, st.images[i].file);
			ret = t->paths[t->n] ? 0 : -ENOMEM;
			if (!ret)
				ret = desc_image_kind(d, k, i, &t->kinds[t->n],
						      err);
		}
	}
	desc_free(d);
	if (ret == -ENOMEM)
		prld_set_err(err, ret, "out of memory");
	return ret;
}

/* A disk: its journal finished first; else one bare image. */
static int find_targets(const char *path, struct targets *t,
			uint64_t *sectors, uint32_t *cluster,
			struct prld_err *err)
{
	struct stat st;
	char *dp = NULL;
	int ret;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	    desc_locate(path, "compact needs", &dp, err))
		return -ENOENT;
	if (dp || desc_locate(path, "", &dp, NULL) == 0) {
		ret = merge_recover(dp, NULL, 0, err);
		if (ret >= 0)
			ret = targets_of_desc(dp, t, sectors, cluster, err);
		free(dp);
		return ret < 0 ? ret : 0;
	}
	if (targets_alloc(t, 1) || !(t->paths[0] = strdup(path)))
		return prld_set_err(err, -ENOMEM, "out of memory");
	t->n = 1;
	t->kinds[0] = PRLD_LAYER_EXPANDING;
	*sectors = 0;
	*cluster = 0;
	return 0;
}

/* Every image open for writing before any changes: all, or none. */
static int open_targets(struct targets *t, uint64_t sectors, uint32_t cluster,
			struct prld_err *err)
{
	unsigned int i;
	int ret = 0;
	char dev[64];
	char *real;

	for (i = 0; !ret && i < t->n; i++)
		ret = image_open(t->paths[i], t->kinds[i], true, sectors,
				 cluster, &t->imgs[i], err);
	if (ret != -EBUSY)
		return ret;
	real = realpath(t->paths[i - 1], NULL);
	if (real && kdev_find_by_top(real, dev, sizeof(dev), NULL) == 1)
		ret = prld_set_err(err, -EBUSY,
				   "%s: attached as %s: compact works offline; detach it first (while attached, discarded clusters are punched out of the file already)",
				   t->paths[i - 1], dev);
	free(real);
	return ret;
}

int prld_compact(const char *path, struct prld_compact_report *rep,
		 struct prld_err *err)
{
	struct targets t = { 0 };
	struct prld_compact_image *r;
	uint64_t sectors = 0;
	uint32_t cluster = 0;
	unsigned int i;
	int ret;

	memset(rep, 0, sizeof(*rep));
	ret = find_targets(path, &t, &sectors, &cluster, err);
	if (!ret)
		ret = open_targets(&t, sectors, cluster, err);
	rep->images = ret ? NULL : calloc(t.n ? t.n : 1, sizeof(*rep->images));
	if (!ret && !rep->images)
		ret = prld_set_err(err, -ENOMEM, "out of memory");
	for (i = 0; !ret && i < t.n; i++, rep->n++) {
		r = &rep->images[i];
		r->file = strdup(t.paths[i]);
		r->raw = t.kinds[i] != PRLD_LAYER_EXPANDING;
		usage_of(t.paths[i], &r->size_before, &r->used_before);
		ret = r->file ? compact_image(t.imgs[i], r, err) :
			       prld_set_err(err, -ENOMEM, "out of memory");
		/* Cut after the last cluster, in-use flag cleared. */
		if (!ret)
			ret = image_close(t.imgs[i], err);
		t.imgs[i] = NULL;
		usage_of(t.paths[i], &r->size_after, &r->used_after);
	}
	targets_free(&t);
	if (ret)
		prld_compact_report_free(rep);
	return ret;
}

void prld_compact_report_free(struct prld_compact_report *rep)
{
	unsigned int i;

	if (!rep)
		return;
	for (i = 0; i < rep->n; i++)
		free(rep->images[i].file);
	free(rep->images);
	memset(rep, 0, sizeof(*rep));
}
