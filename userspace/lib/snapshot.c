// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * snapshot.c - offline snapshot, revert (the SDK's SwitchToState) and the
 * snapshot list of a disk directory (format-notes §6).
 *
 * Both changes follow one crash-safe order: the new empty delta is created
 * and made durable first, then the descriptor is replaced atomically
 * (desc_save: .tmp, fsync, rename).  A crash before the rename leaves the
 * old descriptor in force and at worst a stray delta nobody names.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "prld_ioctl.h"

/* BAT entries read at once when counting a layer's clusters. */
#define BAT_SCAN_ENTRIES	(1U << 16)

/* ---- the disk's descriptor ------------------------------------------ */

static int load_disk(const char *path, struct prld_desc **d,
		     struct prld_err *err)
{
	char *dp;
	int ret;

	*d = NULL;
	ret = desc_locate(path, "snapshots need", &dp, err);
	if (ret)
		return ret;
	ret = desc_load(dp, d, err);
	free(dp);
	return ret;
}

/* ---- one change of the tree ----------------------------------------- */

struct shot_op {
	struct prld_desc *d;
	int top_img, top_shot;		/* indices of the current top */
	char *top_path;
	int lock_fd;			/* the top's flock, or the dir's */
	char device[64];		/* attached as this device, or "" */
	char *new_file;			/* <File> of the new delta */
	char *new_path;
};

/* The top's flock, held until the descriptor is switched (desc_lock_top). */
static int lock_top(struct shot_op *op, struct prld_err *err)
{
	int fd = desc_lock_top(op->top_path, "", err);

	op->lock_fd = fd < 0 ? -1 : fd;
	return fd < 0 ? fd : 0;
}

/*
 * The top is busy: if a prld device holds it, the operation goes through
 * that device.  Two such operations are kept apart by a lock on the disk
 * directory (the device itself holds the top's).
 */
static int lock_attached(struct shot_op *op, struct prld_err *err)
{
	char *real = realpath(op->top_path, NULL);
	int found;

	found = real ? kdev_find_by_top(real, op->device, sizeof(op->device),
					NULL) : 0;
	free(real);
	if (found != 1) {
		op->device[0] = '\0';
		return -EBUSY;	/* not ours: lock_top's message stands */
	}
	if (err)	/* the "disk in use" of lock_top no longer holds */
		memset(err, 0, sizeof(*err));
	op->lock_fd = desc_lock_dir(op->d->dir, err);
	return op->lock_fd < 0 ? op->lock_fd : 0;
}

static void op_end(struct shot_op *op)
{
	if (op->lock_fd >= 0)
		close(op->lock_fd);
	desc_free(op->d);
	free(op->top_path);
	free(op->new_file);
	free(op->new_path);
}

/*
 * Another snapshot or revert may have switched the descriptor between our
 * read and our lock: read it again under the lock and insist on the same
 * top, so a stale model never overwrites a newer one.
 */
static int recheck_top(struct shot_op *op, const char *dir,
		       struct prld_err *err)
{
	struct prld_desc *now;
	int ret = load_disk(dir, &now, err);

	if (ret)
		return ret;
	if (strcmp(now->top_guid, op->d->top_guid) ||
	    strcmp(now->images[desc_find_image(now, now->top_guid)].file,
		   op->d->images[op->top_img].file)) {
		desc_free(now);
		return prld_set_err(err, -EBUSY,
				    "%s: the descriptor changed while we locked the top (a concurrent snapshot or revert); try again",
				    dir);
	}
	desc_free(op->d);
	op->d = now;
	op->top_img = desc_find_image(now, now->top_guid);
	op->top_shot = desc_find_shot(now, now->top_guid);
	return 0;
}

/*
 * The caller's open file of the top (@held_fd) holds the top's exclusive
 * flock: a duplicate of it is our lock, if it is the top's file indeed.
 */
static int lock_held(struct shot_op *op, int held_fd, struct prld_err *err)
{
	struct stat held, top;

	if (fstat(held_fd, &held) < 0 || stat(op->top_path, &top) < 0 ||
	    held.st_dev != top.st_dev || held.st_ino != top.st_ino)
		return prld_set_err(err, -EBUSY,
				    "%s: the open disk is no longer the descriptor's top (a concurrent snapshot or revert)",
				    op->top_path);
	op->lock_fd = fcntl(held_fd, F_DUPFD_CLOEXEC, 0);
	if (op->lock_fd < 0)
		return prld_sys_err(err, -errno, op->top_path, "cannot dup");
	return 0;
}

/*
 * Load the descriptor, find the top and lock it; @held_fd (or -1) is an
 * open file of the top that holds its lock already (lock_held).
 */
static int op_begin(struct shot_op *op, const char *dir, int held_fd,
		    struct prld_err *err)
{
	struct prld_desc *d;
	int ret;

	memset(op, 0, sizeof(*op));
	op->lock_fd = -1;
	/* A snapshot delete a crash interrupted is finished first (merge.c). */
	ret = merge_recover(dir, NULL, 0, err);
	if (ret < 0)
		return ret;
	ret = load_disk(dir, &op->d, err);
	if (!ret)
		ret = desc_single_storage(op->d, "snapshots and reverts of",
					  err);
	if (ret)
		return ret;
	d = op->d;
	/* desc_load guarantees TopGUID names a Shot with an Image. */
	op->top_img = desc_find_image(d, d->top_guid);
	op->top_shot = desc_find_shot(d, d->top_guid);
	op->top_path = desc_file_path(d, d->images[op->top_img].file);
	if (!op->top_path)
		return prld_set_err(err, -ENOMEM, "out of memory");
	if (held_fd >= 0) {
		ret = lock_held(op, held_fd, err);
	} else {
		ret = lock_top(op, err);
		if (ret == -EBUSY)
			ret = lock_attached(op, err);
	}
	if (!ret)
		ret = recheck_top(op, dir, err);
	return ret;
}

/*
 * The new delta matches the image it sits on: size and cluster from the
 * descriptor (every layer must agree with it), format and geometry from
 * @img_idx's header.  @need_clean: refuse an image left in use.
 */
static int delta_params(const struct shot_op *op, int img_idx,
			bool need_clean, struct prld_create_params *p,
			struct prld_err *err)
{
	const struct prld_desc *d = op->d;
	const struct prld_desc_image *im = &d->images[img_idx];
	struct prld_image *img;
	char *path = desc_file_path(d, im->file);
	enum prld_layer_kind kind;
	int ret;

	if (!path)
		return prld_set_err(err, -ENOMEM, "out of memory");
	ret = desc_image_kind(d, 0, (unsigned int)img_idx, &kind, err);
	if (!ret)
		ret = image_open_header(path, kind, d->disk_size,
					d->blocksize, &img, err);
	free(path);
	if (ret)
		return ret;
	memset(p, 0, sizeof(*p));
	p->size_sectors = d->disk_size;
	p->cluster_sectors = d->blocksize;
	if (kind == PRLD_LAYER_EXPANDING) {
		p->fmt = (int)img->geom.fmt;
		if (img->geom.heads && img->geom.cylinders && d->sectors) {
			p->cylinders = img->geom.cylinders;
			p->heads = img->geom.heads;
			p->sectors = d->sectors;
		}
	}
	if (need_clean && img->geom.inuse == PRLD_INUSE_MAGIC)
		ret = prld_set_err(err, -EUCLEAN,
				   "%s: image was not closed cleanly (in-use flag set); run `prldctl check --repair` first",
				   img->path);
	image_close(img, NULL);
	return ret;
}

/*
 * How much of @base is the stem of ploop's delta names: the whole name
 * but for the ".{GUID}" suffixes it carries when the base is itself an
 * old delta (a delete merged the real base up into it), so that names do
 * not grow with every such delete.
 */
static size_t delta_stem(const char *base)
{
	size_t n = strlen(base), k = PRLD_GUID_LEN + 1;
	char guid[PRLD_GUID_LEN + 1];

	while (n > k && base[n - k] == '.') {
		memcpy(guid, base + n - PRLD_GUID_LEN, sizeof(guid));
		if (!desc_guid_valid(guid))
			break;
		n -= k;
	}
	return n;
}

/*
 * The new delta's <File>: ploop's "<base file>.{GUID}", or, in a
 * Parallels Desktop bundle (no TopGUID, base "NAME.hdd.0.{GUID}.hds"),
 * PD's own pattern "NAME.hdd.0.{@guid}.hds".
 */
static char *delta_name(const struct prld_desc *d, const char *base,
			const char *guid)
{
	const char *g = strrchr(base, '{');
	size_t n = strlen(base);
	char *out;

	if (!d->has_top_guid && g && g > base && g[-1] == '.' &&
	    n - (size_t)(g - base) == PRLD_GUID_LEN + 4 &&
	    !strcmp(base + n - 4, ".hds")) {
		if (asprintf(&out, "%.*s%s.hds", (int)(g - base), base,
			     guid) < 0)
			return NULL;
		return out;
	}
	if (asprintf(&out, "%.*s.%s", (int)delta_stem(base), base, guid) < 0)
		return NULL;
	return out;
}

/* Create the new delta (O_EXCL, fsync of file and directory). */
static int make_delta(struct shot_op *op, const char *guid,
		      const struct prld_create_params *p, struct prld_err *err)
{
	const struct prld_desc *d = op->d;
	unsigned int *idx = NULL, n = 0;
	int ret;

	ret = desc_chain(d, NULL, &idx, &n, err);
	if (ret)
		return ret;
	op->new_file = delta_name(d, d->images[idx[0]].file, guid);
	free(idx);
	if (op->new_file)
		op->new_path = desc_file_path(d, op->new_file);
	if (!op->new_file || !op->new_path)
		return prld_set_err(err, -ENOMEM, "out of memory");
	return image_create_delta(op->new_path, p, err);
}

/* Append an Image + Shot pair for the new top delta (new XML nodes). */
static int add_top(struct prld_desc *d, const char *file, const char *parent,
		   struct prld_err *err)
{
	if (desc_add_layer(d, PRLD_TOP_GUID, parent, file, PRLD_LAYER_EXPANDING))
		return prld_set_err(err, -ENOMEM, "out of memory");
	strcpy(d->top_guid, PRLD_TOP_GUID);
	return 0;
}

/* Save the descriptor; on failure the new delta goes (no one names it). */
static int switch_descriptor(struct shot_op *op, struct prld_err *err)
{
	int ret = desc_save(op->d, err);

	if (ret) {
		unlink(op->new_path);
		prld_fsync_dir(op->new_path);
	}
	return ret;
}

/* ---- snapshot ------------------------------------------------------- */

/* The top becomes snapshot @guid; whatever pointed at it follows. */
static void rename_top(struct shot_op *op, const char *guid)
{
	struct prld_desc *d = op->d;
	char old[PRLD_GUID_LEN + 1];
	unsigned int i;

	memcpy(old, d->top_guid, sizeof(old));
	for (i = 0; i < d->nshots; i++)
		if (!strcmp(d->shots[i].parent, old))
			strcpy(d->shots[i].parent, guid);
	strcpy(d->images[op->top_img].guid, guid);
	strcpy(d->shots[op->top_shot].guid, guid);
}

/* PRLD_PUSH_TOP: the device starts writing into the new delta. */
static int push_top(const struct shot_op *op, struct prld_err *err)
{
	struct prld_push_top req = { .size = sizeof(req) };
	int dev, ret = 0;

	req.fd = open(op->new_path, O_RDWR | O_CLOEXEC);
	if (req.fd < 0)
		return prld_sys_err(err, -errno, op->new_path, "cannot open");
	dev = open(op->device, O_RDONLY | O_CLOEXEC);
	/* The kernel's reference keeps this lock for as long as it is top. */
	if (dev < 0 || lock_image_fd(req.fd, true) < 0 ||
	    ioctl(dev, PRLD_PUSH_TOP, &req) < 0)
		ret = prld_set_err(err, -errno,
				   "%s: switching to the new delta failed: %s",
				   op->device, strerror(errno));
	if (dev >= 0)
		close(dev);
	close(req.fd);
	return ret;
}

/*
 * Attached: the descriptor naming the new delta is made durable before the
 * device writes a byte into it (a snapshot: PRLD_PUSH_TOP) or switches to
 * the new chain (a revert: PRLD_REVERT, which demands that nobody else
 * has the device open, so nothing is written in between).  A crash at any
 * point thus leaves a descriptor whose chain holds every acknowledged
 * write.  If the kernel refuses, the old descriptor is put back and the
 * delta removed.
 */
static int switch_attached(struct shot_op *op, const char *dir, bool revert,
			   struct prld_err *err)
{
	struct prld_desc *old;
	int ret;

	ret = load_disk(dir, &old, err);
	if (!ret)
		ret = switch_descriptor(op, err);
	if (!ret) {
		ret = revert ? kdev_revert(op->device, dir, err) :
			       push_top(op, err);
		if (ret && !desc_save(old, NULL)) {
			unlink(op->new_path);
			prld_fsync_dir(op->new_path);
		}
	}
	desc_free(old);
	return ret;
}

int prld_snapshot(const char *dir, char new_guid[PRLD_GUID_LEN + 1],
		  struct prld_err *err)
{
	struct prld_create_params p;
	char guid[PRLD_GUID_LEN + 1];
	struct shot_op op;
	int ret;

	desc_new_guid(guid);
	ret = op_begin(&op, dir, -1, err);
	/* An attached top is in use by design: no clean-flag demand. */
	if (!ret)
		ret = delta_params(&op, op.top_img, !op.device[0], &p, err);
	if (!ret)
		ret = make_delta(&op, guid, &p, err);
	if (!ret) {
		rename_top(&op, guid);
		ret = add_top(op.d, op.new_file, guid, err);
		if (ret)
			unlink(op.new_path);
	}
	if (!ret)
		ret = op.device[0] ? switch_attached(&op, dir, false, err) :
				     switch_descriptor(&op, err);
	if (!ret && new_guid)
		memcpy(new_guid, guid, PRLD_GUID_LEN + 1);
	op_end(&op);
	return ret;
}

/* ---- revert --------------------------------------------------------- */

/* @guid must name a snapshot below the top; returns its shot index. */
static int revert_target(const struct shot_op *op, const char *guid,
			 struct prld_err *err)
{
	const struct prld_desc *d = op->d;
	unsigned int i;
	int s;

	s = desc_find_named_shot(d, guid, err);
	if (s < 0)
		return s;
	if (s == op->top_shot)
		return prld_set_err(err, -EINVAL,
				    "%s: %s is the current top, not a snapshot; nothing to revert to",
				    d->path, guid);
	/* Snapshots built on the top would lose the data they sit on. */
	for (i = 0; i < d->nshots; i++)
		if (!strcmp(d->shots[i].parent, d->top_guid))
			return prld_set_err(err, -EBUSY,
					    "%s: the top %s has child snapshot %s; not discarding it",
					    d->path, d->top_guid,
					    d->shots[i].guid);
	return s;
}

/* The old top's entries become the new top's, with new XML nodes. */
static int replace_top(struct shot_op *op, const char *parent,
		       struct prld_err *err)
{
	struct prld_desc *d = op->d;
	struct prld_desc_image *im = &d->images[op->top_img];
	struct prld_desc_shot *sh = &d->shots[op->top_shot];
	char *dup = strdup(op->new_file);

	if (!dup)
		return prld_set_err(err, -ENOMEM, "out of memory");
	free(im->file);
	im->file = dup;
	im->kind = PRLD_LAYER_EXPANDING;
	im->node = NULL;	/* the old <Image> and its extras go */
	strcpy(im->guid, PRLD_TOP_GUID);
	sh->node = NULL;
	strcpy(sh->guid, PRLD_TOP_GUID);
	snprintf(sh->parent, sizeof(sh->parent), "%s", parent);
	strcpy(d->top_guid, PRLD_TOP_GUID);
	return 0;
}

/* After the switch: the old top is no one's; a failure only leaks it. */
static int drop_old_top(const struct shot_op *op, struct prld_err *err)
{
	int ret;

	if (unlink(op->top_path) < 0 && errno != ENOENT)
		return prld_set_err(err, -errno,
				    "%s: reverted, but cannot remove the old top: %s",
				    op->top_path, strerror(errno));
	ret = prld_fsync_dir(op->top_path);
	if (ret)
		return prld_set_err(err, ret,
				    "%s: reverted, but cannot sync the directory: %s",
				    op->top_path, strerror(-ret));
	return 0;
}

static int revert(const char *dir, const char *guid, int held_fd,
		  struct prld_err *err)
{
	char parent[PRLD_GUID_LEN + 1], name[PRLD_GUID_LEN + 1];
	struct prld_create_params p;
	struct shot_op op;
	int s, ret;

	desc_new_guid(name);
	ret = op_begin(&op, dir, held_fd, err);
	s = ret ? ret : revert_target(&op, guid, err);
	if (s < 0) {
		op_end(&op);
		return s;
	}
	memcpy(parent, op.d->shots[s].guid, sizeof(parent));
	ret = delta_params(&op, desc_find_image(op.d, parent), false, &p, err);
	if (!ret)
		ret = make_delta(&op, name, &p, err);
	if (!ret) {
		ret = replace_top(&op, parent, err);
		if (ret)
			unlink(op.new_path);
	}
	if (!ret)
		ret = op.device[0] ? switch_attached(&op, dir, true, err) :
				     switch_descriptor(&op, err);
	if (!ret)
		ret = drop_old_top(&op, err);
	op_end(&op);
	return ret;
}

int prld_revert(const char *dir, const char *guid, struct prld_err *err)
{
	return revert(dir, guid, -1, err);
}

int snapshot_revert_held(const char *dir, const char *guid, int held_fd,
			 struct prld_err *err)
{
	return revert(dir, guid, held_fd, err);
}

/* ---- list ----------------------------------------------------------- */

/* Non-zero BAT entries, read raw: no lock, so it works on a disk in use. */
static int count_bat(const struct prld_image *img, uint64_t *allocated)
{
	uint32_t n = img->geom.bat_entries, i = 0, k, chunk;
	__u8 *buf = malloc(BAT_SCAN_ENTRIES * 4);
	int ret = 0;

	*allocated = 0;
	if (!buf)
		return -ENOMEM;
	while (!ret && i < n) {
		chunk = n - i < BAT_SCAN_ENTRIES ? n - i : BAT_SCAN_ENTRIES;
		ret = prld_pread_full(img->fd, buf, 4ULL * chunk,
				      PRLD_BAT_OFFSET + 4ULL * i);
		for (k = 0; !ret && k < chunk; k++)
			*allocated += prld_get_le32(buf + 4ULL * k) != 0;
		i += chunk;
	}
	free(buf);
	return ret;
}

/* Size and allocation of one shot's image; failures go in ->status. */
static void fill_usage(const struct prld_desc *d,
		       const struct prld_desc_image *im,
		       struct prld_snapshot_info *si)
{
	struct prld_image *img;
	enum prld_layer_kind kind;

	si->status = desc_image_kind(d, 0, (unsigned int)(im - d->images),
				     &kind, NULL);
	if (!si->status)
		si->status = image_open_header(si->file, kind, d->disk_size,
					       d->blocksize, &img, NULL);
	if (si->status)
		return;
	si->file_size = img->file_size;
	if (kind == PRLD_LAYER_PLAIN)
		si->allocated = img->allocated;
	else
		si->status = count_bat(img, &si->allocated);
	image_close(img, NULL);
}

/* A GUID -> index lookup over the shots, so big trees list fast. */
struct gslot {
	const char *guid;
	unsigned int i;
};

static int gslot_cmp(const void *a, const void *b)
{
	return strcmp(((const struct gslot *)a)->guid,
		      ((const struct gslot *)b)->guid);
}

static int gslot_find(const struct gslot *g, unsigned int n,
		      const char *guid)
{
	struct gslot key = { guid, 0 };
	const struct gslot *hit = bsearch(&key, g, n, sizeof(*g), gslot_cmp);

	return hit ? (int)hit->i : -1;
}

/* Shots as a tree: parent, first child, next sibling (-1: none). */
struct tree {
	int *parent, *child, *sibling;
	int *image;			/* each shot's Image */
	int *pos;			/* each shot's place in the list */
	int root;
};

static void tree_free(struct tree *t)
{
	free(t->parent);
	free(t->child);
	free(t->sibling);
	free(t->image);
	free(t->pos);
}

/* Sorted GUID index over @n entries @stride apart (GUID first in both). */
static struct gslot *gslot_index(const void *arr, size_t stride,
				 unsigned int n)
{
	struct gslot *g = calloc(n ? n : 1, sizeof(*g));
	unsigned int i;

	if (!g)
		return NULL;
	for (i = 0; i < n; i++)
		g[i] = (struct gslot){ (const char *)arr + i * stride, i };
	qsort(g, n, sizeof(*g), gslot_cmp);
	return g;
}

static int tree_alloc(struct tree *t, unsigned int n)
{
	t->parent = malloc(n * sizeof(int));
	t->child = malloc(n * sizeof(int));
	t->sibling = malloc(n * sizeof(int));
	t->image = malloc(n * sizeof(int));
	t->pos = malloc(n * sizeof(int));
	if (!t->parent || !t->child || !t->sibling || !t->image || !t->pos)
		return -ENOMEM;
	memset(t->child, 0xff, n * sizeof(int));	/* all -1 */
	t->root = -1;
	return 0;
}

static int tree_build(const struct prld_desc *d, struct tree *t)
{
	unsigned int n = d->nshots, i;
	struct gslot *gs, *gi;
	int p, ret;

	ret = tree_alloc(t, n);
	gs = gslot_index(d->shots, sizeof(*d->shots), n);
	gi = gslot_index(d->images, sizeof(*d->images), d->nimages);
	if (ret || !gs || !gi) {
		free(gs);
		free(gi);
		return -ENOMEM;
	}
	/* Backwards, so siblings keep the descriptor's order. */
	for (i = n; i-- > 0;) {
		p = gslot_find(gs, n, d->shots[i].parent);
		t->parent[i] = p;
		t->sibling[i] = p < 0 ? -1 : t->child[p];
		if (p < 0)
			t->root = (int)i;
		else
			t->child[p] = (int)i;
		/* desc_load made sure every Shot has its Image. */
		t->image[i] = gslot_find(gi, d->nimages, d->shots[i].guid);
	}
	free(gs);
	free(gi);
	return 0;
}

static int fill_info(const struct prld_desc *d, unsigned int s, int im,
		     unsigned int depth, struct prld_snapshot_info *si)
{
	const struct prld_desc_shot *sh = &d->shots[s];

	memcpy(si->guid, sh->guid, sizeof(si->guid));
	memcpy(si->parent, sh->parent, sizeof(si->parent));
	si->depth = depth;
	si->top = !strcmp(sh->guid, d->top_guid);
	si->file = desc_file_path(d, d->images[im].file);
	if (!si->file)
		return -ENOMEM;
	fill_usage(d, &d->images[im], si);
	return 0;
}

/* Depth-first from the root: each shot, then its subtrees. */
static int walk_tree(const struct prld_desc *d, struct tree *t,
		     struct prld_snapshot_info *out)
{
	unsigned int k = 0, depth = 0;
	int cur = t->root, ret;

	while (cur >= 0) {
		t->pos[cur] = (int)k;
		ret = fill_info(d, (unsigned int)cur, t->image[cur], depth,
				&out[k++]);
		if (ret)
			return ret;
		if (t->child[cur] >= 0) {
			cur = t->child[cur];
			depth++;
			continue;
		}
		while (cur >= 0 && t->sibling[cur] < 0) {
			cur = t->parent[cur];
			depth--;
		}
		if (cur >= 0)
			cur = t->sibling[cur];
	}
	return 0;
}

/* Walk from the top down to the root, marking each shot on the way. */
static void mark_chain(const struct prld_desc *d, const struct tree *t,
		       struct prld_snapshot_info *out)
{
	int cur;

	for (cur = desc_find_shot(d, d->top_guid); cur >= 0; cur = t->parent[cur])
		out[t->pos[cur]].on_chain = true;
}

int prld_list_snapshots(const char *dir, struct prld_snapshot_info **out,
			unsigned int *n, struct prld_err *err)
{
	struct prld_snapshot_info *v = NULL;
	struct tree t = { 0 };
	struct prld_desc *d;
	int ret;

	*out = NULL;
	*n = 0;
	ret = load_disk(dir, &d, err);
	if (ret)
		return ret;
	v = calloc(d->nshots, sizeof(*v));
	ret = v ? tree_build(d, &t) : -ENOMEM;
	if (!ret)
		ret = walk_tree(d, &t, v);
	if (!ret)
		mark_chain(d, &t, v);
	if (ret) {
		prld_snapshots_free(v, d->nshots);
		ret = prld_set_err(err, ret, "%s: out of memory", d->path);
	} else {
		*out = v;
		*n = d->nshots;
	}
	tree_free(&t);
	desc_free(d);
	return ret;
}

void prld_snapshots_free(struct prld_snapshot_info *list, unsigned int n)
{
	unsigned int i;

	if (!list)
		return;
	for (i = 0; i < n; i++)
		free(list[i].file);
	free(list);
}
