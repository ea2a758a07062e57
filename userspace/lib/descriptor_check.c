// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * descriptor_check.c - the rules a descriptor model must follow, and the
 * chain of images from a snapshot down to the base.
 *
 * The rules run on the model, not on the XML, so desc_new() and
 * desc_save() apply exactly what desc_load() applies: nothing we write can
 * be refused when read back.  GUID lookups go through a sorted index, which
 * keeps a hostile descriptor with tens of thousands of shots cheap.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor.h"

#define bad(d, err, ...) \
	desc_err(err, -EINVAL, desc_label((d)->path), __VA_ARGS__)

/* ---- sorted GUID index -------------------------------------------- */

struct gref {
	const char *guid;
	unsigned int i;
};

static int gref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct gref *)a)->guid,
		      ((const struct gref *)b)->guid);
}

/* Index over the guid member (first in both entry types) of @n entries. */
static struct gref *gindex(const void *arr, size_t stride, unsigned int n)
{
	struct gref *g = calloc(n ? n : 1, sizeof(*g));
	unsigned int i;

	if (!g)
		return NULL;
	for (i = 0; i < n; i++)
		g[i] = (struct gref){ (const char *)arr + i * stride, i };
	qsort(g, n, sizeof(*g), gref_cmp);
	return g;
}

static struct gref *imgs_index(const struct prld_desc *d)
{
	return gindex(d->images, sizeof(*d->images), d->nimages);
}

static struct gref *shots_index(const struct prld_desc *d)
{
	return gindex(d->shots, sizeof(*d->shots), d->nshots);
}

/* Entry index of @guid, -1 if absent. */
static long gfind(const struct gref *g, unsigned int n, const char *guid)
{
	struct gref key = { guid, 0 };
	const struct gref *hit;

	hit = bsearch(&key, g, n, sizeof(*g), gref_cmp);
	return hit ? (long)hit->i : -1;
}

/* First GUID listed twice, NULL if all differ. */
static const char *gdup(const struct gref *g, unsigned int n)
{
	unsigned int i;

	for (i = 1; i < n; i++)
		if (!strcmp(g[i - 1].guid, g[i].guid))
			return g[i].guid;
	return NULL;
}

/* ---- storages ----------------------------------------------------- */

void desc_storage(const struct prld_desc *d, unsigned int k,
		  struct prld_desc_storage *out)
{
	if (k == 0) {
		*out = (struct prld_desc_storage){
			.start = d->start, .end = d->end,
			.blocksize = d->blocksize, .nimages = d->nimages,
			.images = d->images,
		};
		return;
	}
	*out = d->more[k - 1];
}

int desc_single_storage(const struct prld_desc *d, const char *what,
			struct prld_err *err)
{
	if (d->nstorages <= 1)
		return 0;
	return desc_err(err, -EOPNOTSUPP, desc_label(d->path),
			"%s a split disk (%u <Storage> pieces): not supported; read and write it offline, or merge its pieces with Parallels Desktop first",
			what, d->nstorages);
}

/* Image index of @guid in @st, -1 if none. */
static long storage_find(const struct prld_desc_storage *st, const char *guid)
{
	unsigned int i;

	for (i = 0; i < st->nimages; i++)
		if (!strcmp(st->images[i].guid, guid))
			return (long)i;
	return -1;
}

int desc_storage_chain(const struct prld_desc *d, unsigned int k,
		       const unsigned int *idx, unsigned int n,
		       unsigned int *out)
{
	struct prld_desc_storage st;
	unsigned int i;
	long im;

	desc_storage(d, k, &st);
	for (i = 0; i < n; i++) {
		im = storage_find(&st, d->images[idx[i]].guid);
		if (im < 0)
			return -ENOENT;
		out[i] = (unsigned int)im;
	}
	return 0;
}

/* Every storage lists the first one's GUIDs, once each. */
static int check_storage_guids(const struct prld_desc *d, unsigned int k,
			       const struct prld_desc_storage *st,
			       struct prld_err *err)
{
	unsigned int i, j;

	if (st->nimages != d->nimages)
		return bad(d, err, "<Storage> %u has %u <Image> elements, the first has %u (every piece needs one image per snapshot)",
			   k, st->nimages, d->nimages);
	for (i = 0; i < st->nimages; i++) {
		if (storage_find(st, st->images[i].guid) != (long)i)
			return bad(d, err, "<Storage> %u: duplicate Image GUID %s",
				   k, st->images[i].guid);
		for (j = 0; j < d->nimages; j++)
			if (!strcmp(d->images[j].guid, st->images[i].guid))
				break;
		if (j == d->nimages)
			return bad(d, err, "<Storage> %u: Image %s is not in the first <Storage>",
				   k, st->images[i].guid);
	}
	return 0;
}

/*
 * Storages follow each other from sector 0 to Disk_size; a split disk's
 * pieces (Parallels Desktop's "split into 2 GB") each have their chain.
 */
static int check_storages(const struct prld_desc *d, struct prld_err *err)
{
	struct prld_desc_storage st;
	uint64_t at = 0;
	unsigned int k;
	int ret = 0;

	for (k = 0; k < d->nstorages && !ret; k++) {
		desc_storage(d, k, &st);
		if (st.start != at)
			return bad(d, err, "<Storage> %u: <Start> %llu, want %llu (the end of the one before)",
				   k, (unsigned long long)st.start,
				   (unsigned long long)at);
		if (st.end <= st.start || st.end > d->disk_size)
			return bad(d, err, "element <End> %llu does not match <Disk_size> %llu",
				   (unsigned long long)st.end,
				   (unsigned long long)d->disk_size);
		if (st.blocksize < 1 || st.blocksize > PRLD_MAX_CLUSTER_SECTORS)
			return bad(d, err, "element <Blocksize>: %u out of range 1..%u",
				   st.blocksize, PRLD_MAX_CLUSTER_SECTORS);
		at = st.end;
		if (k)
			ret = check_storage_guids(d, k, &st, err);
	}
	if (!ret && at != d->disk_size)
		return bad(d, err, "element <End> %llu does not match <Disk_size> %llu",
			   (unsigned long long)at,
			   (unsigned long long)d->disk_size);
	return ret;
}

/* ---- scalar rules ------------------------------------------------- */

/* Geometry is informational (QEMU, ploop, PD): any CHS is kept as is. */
static int check_numbers(const struct prld_desc *d, struct prld_err *err)
{
	if (d->disk_size == 0)
		return bad(d, err, "element <Disk_size>: must be greater than 0");
	return check_storages(d, err);
}

/*
 * Any path: absolute ones (Parallels Desktop's linked clones, ploop before
 * 2017) and "../" ones (ploop since) are as good as local names; the
 * files they name get the same checks when opened.
 */
static int check_file(const struct prld_desc *d, const char *file,
		      struct prld_err *err)
{
	if (!file || !*file)
		return bad(d, err, "element <File>: empty");
	return 0;
}

static int check_guid(const struct prld_desc *d, const char *what,
		      const char *guid, bool zero_ok, struct prld_err *err)
{
	char norm[PRLD_GUID_LEN + 1], q[80];

	desc_quote(q, sizeof(q), guid);
	if (!desc_guid_norm(guid, norm) || strcmp(norm, guid))
		return bad(d, err, "%s: bad value '%s' (want a lower-case GUID like %s)",
			   what, q, PRLD_ZERO_GUID);
	if (!zero_ok && !strcmp(guid, PRLD_ZERO_GUID))
		return bad(d, err, "%s: the zero GUID is reserved for the root's parent",
			   what);
	return 0;
}

static int check_entries(const struct prld_desc *d, struct prld_err *err)
{
	struct prld_desc_storage st;
	unsigned int i, k;
	int ret = 0;

	if (!d->nimages)
		return bad(d, err, "no <Image> in <Storage>");
	if (!d->nshots)
		return bad(d, err, "no <Shot> in <Snapshots>");
	for (k = 0; k < d->nstorages && !ret; k++) {
		desc_storage(d, k, &st);
		for (i = 0; i < st.nimages && !ret; i++) {
			ret = check_guid(d, "Image <GUID>", st.images[i].guid,
					 false, err);
			if (!ret)
				ret = check_file(d, st.images[i].file, err);
		}
	}
	for (i = 0; i < d->nshots && !ret; i++) {
		ret = check_guid(d, "Shot <GUID>", d->shots[i].guid, false,
				 err);
		if (!ret)
			ret = check_guid(d, "Shot <ParentGUID>",
					 d->shots[i].parent, true, err);
	}
	if (!ret)
		ret = check_guid(d, "<TopGUID>", d->top_guid, false, err);
	return ret;
}

/* Two layers in one file would overwrite each other. */
static int check_files_unique(const struct prld_desc *d, struct prld_err *err)
{
	unsigned int n = d->nimages * d->nstorages, i, k, at = 0;
	struct gref *g = calloc(n ? n : 1, sizeof(*g));
	struct prld_desc_storage st;
	const char *dup;
	char q[80];

	if (!g)
		return -ENOMEM;
	for (k = 0; k < d->nstorages; k++) {
		desc_storage(d, k, &st);
		for (i = 0; i < st.nimages && at < n; i++, at++)
			g[at] = (struct gref){ st.images[i].file, at };
	}
	qsort(g, at, sizeof(*g), gref_cmp);
	dup = gdup(g, at);
	if (dup)
		desc_quote(q, sizeof(q), dup);
	free(g);
	return dup ? bad(d, err, "element <File>: '%s' used by two images", q) : 0;
}

/* ---- the snapshot tree -------------------------------------------- */

struct tree {
	const struct prld_desc *d;
	struct gref *img, *shot;
	struct prld_err *err;
};

static int check_pairs(struct tree *t)
{
	const struct prld_desc *d = t->d;
	const char *dup;
	unsigned int i;

	dup = gdup(t->img, d->nimages);
	if (dup)
		return bad(d, t->err, "duplicate Image GUID %s", dup);
	dup = gdup(t->shot, d->nshots);
	if (dup)
		return bad(d, t->err, "duplicate Shot GUID %s", dup);
	for (i = 0; i < d->nimages; i++)
		if (gfind(t->shot, d->nshots, d->images[i].guid) < 0)
			return bad(d, t->err, "Image %s (%s) has no <Shot>",
				   d->images[i].guid, d->images[i].file);
	for (i = 0; i < d->nshots; i++)
		if (gfind(t->img, d->nimages, d->shots[i].guid) < 0)
			return bad(d, t->err, "Shot %s has no <Image>",
				   d->shots[i].guid);
	if (gfind(t->shot, d->nshots, d->top_guid) < 0)
		return bad(d, t->err, "<TopGUID> %s names no <Shot>",
			   d->top_guid);
	return 0;
}

static int check_parents(struct tree *t)
{
	const struct prld_desc *d = t->d;
	const char *root = NULL;
	unsigned int i;

	for (i = 0; i < d->nshots; i++) {
		const struct prld_desc_shot *s = &d->shots[i];

		if (strcmp(s->parent, PRLD_ZERO_GUID)) {
			if (gfind(t->shot, d->nshots, s->parent) < 0)
				return bad(d, t->err, "Shot %s: <ParentGUID> %s names no <Shot>",
					   s->guid, s->parent);
			continue;
		}
		if (root)
			return bad(d, t->err, "two root Shots (ParentGUID %s): %s and %s",
				   PRLD_ZERO_GUID, root, s->guid);
		root = s->guid;
	}
	if (!root)
		return bad(d, t->err, "no root Shot (none has ParentGUID %s)",
			   PRLD_ZERO_GUID);
	return 0;
}

enum { UNSEEN, ON_PATH, REACHES_ROOT };

/*
 * Every shot must reach the root.  Each walk stops at a shot already known
 * to reach it, so the whole check is linear in the number of shots.
 */
static int check_cycles(struct tree *t)
{
	const struct prld_desc *d = t->d;
	unsigned char *state = calloc(d->nshots, 1);
	unsigned int i;
	long cur, next;
	int ret = 0;

	if (!state)
		return -ENOMEM;
	for (i = 0; i < d->nshots && !ret; i++) {
		for (cur = i; cur >= 0 && state[cur] == UNSEEN; cur = next) {
			state[cur] = ON_PATH;
			next = gfind(t->shot, d->nshots, d->shots[cur].parent);
		}
		if (cur >= 0 && state[cur] == ON_PATH)
			ret = bad(d, t->err, "Shot %s: <ParentGUID> chain loops back to %s",
				  d->shots[i].guid, d->shots[cur].guid);
		for (cur = i; cur >= 0 && state[cur] == ON_PATH; cur = next) {
			state[cur] = REACHES_ROOT;
			next = gfind(t->shot, d->nshots, d->shots[cur].parent);
		}
	}
	free(state);
	return ret;
}

/* Another leaf than the top, NULL if the top is the only one. */
static const char *other_leaf(const struct prld_desc *d, const struct gref *shot)
{
	unsigned char *parent = calloc(d->nshots ? d->nshots : 1, 1);
	const char *leaf = NULL;
	unsigned int i;
	long p;

	if (!parent)
		return NULL;
	for (i = 0; i < d->nshots; i++) {
		p = gfind(shot, d->nshots, d->shots[i].parent);
		if (p >= 0)
			parent[p] = 1;
	}
	for (i = 0; i < d->nshots && !leaf; i++)
		if (!parent[i] && strcmp(d->shots[i].guid, d->top_guid))
			leaf = d->shots[i].guid;
	free(parent);
	return leaf;
}

int desc_top_rule(const struct prld_desc *d, struct prld_err *err)
{
	struct gref *shot;
	const char *leaf;
	int ret = 0;

	if (d->has_top_guid)
		return 0;
	shot = shots_index(d);
	if (!shot)
		return desc_err(err, -ENOMEM, desc_label(d->path),
				"out of memory");
	leaf = other_leaf(d, shot);
	if (leaf)
		ret = desc_err(err, -EOPNOTSUPP, desc_label(d->path),
			       "no <TopGUID>, and Shot %s (the top, as ploop reads such a descriptor) is not the only leaf of the snapshot tree: %s is one too; which state is current cannot be told, so prld does not guess (add <TopGUID> naming the current one)",
			       d->top_guid, leaf);
	free(shot);
	return ret;
}

int desc_validate(const struct prld_desc *d, struct prld_err *err)
{
	struct tree t = { .d = d, .err = err };
	int ret;

	ret = check_numbers(d, err);
	if (!ret)
		ret = check_entries(d, err);
	if (!ret)
		ret = check_files_unique(d, err);
	if (ret)
		return ret;
	t.img = imgs_index(d);
	t.shot = shots_index(d);
	if (!t.img || !t.shot)
		ret = desc_err(err, -ENOMEM, desc_label(d->path),
			       "out of memory");
	if (!ret)
		ret = check_pairs(&t);
	if (!ret)
		ret = check_parents(&t);
	if (!ret)
		ret = check_cycles(&t);
	free(t.img);
	free(t.shot);
	return ret;
}

/* ---- chain -------------------------------------------------------- */

static void reverse(unsigned int *v, unsigned int n)
{
	unsigned int i, tmp;

	for (i = 0; i < n / 2; i++) {
		tmp = v[i];
		v[i] = v[n - 1 - i];
		v[n - 1 - i] = tmp;
	}
}

/* Top-first walk; the step bound catches a cycle in an unchecked model. */
static int walk(struct tree *t, const char *top, unsigned int *out,
		unsigned int *n)
{
	const struct prld_desc *d = t->d;
	const char *cur = top;
	long s, im;

	for (*n = 0; strcmp(cur, PRLD_ZERO_GUID); (*n)++) {
		if (*n == d->nshots)
			return bad(d, t->err, "snapshot chain from %s loops",
				   top);
		s = gfind(t->shot, d->nshots, cur);
		im = gfind(t->img, d->nimages, cur);
		if (s < 0 || im < 0)
			return desc_err(t->err, -ENOENT, desc_label(d->path),
					"snapshot %s not found (chain from %s)",
					cur, top);
		out[*n] = (unsigned int)im;
		cur = d->shots[s].parent;
	}
	if (*n == 0)
		return desc_err(t->err, -ENOENT, desc_label(d->path),
				"snapshot %s not found", top);
	return 0;
}

int desc_chain(const struct prld_desc *d, const char *top_guid,
	       unsigned int **idx, unsigned int *n, struct prld_err *err)
{
	struct tree t = { .d = d, .err = err };
	char top[PRLD_GUID_LEN + 1], q[80];
	unsigned int *out;
	int ret;

	*idx = NULL;
	*n = 0;
	if (!desc_guid_norm(top_guid ? top_guid : d->top_guid, top)) {
		desc_quote(q, sizeof(q), top_guid ? top_guid : d->top_guid);
		return bad(d, err, "bad snapshot GUID '%s'", q);
	}
	t.img = imgs_index(d);
	t.shot = shots_index(d);
	out = calloc(d->nshots ? d->nshots : 1, sizeof(*out));
	if (!t.img || !t.shot || !out)
		ret = desc_err(err, -ENOMEM, desc_label(d->path),
			       "out of memory");
	else
		ret = walk(&t, top, out, n);
	free(t.img);
	free(t.shot);
	if (ret) {
		free(out);
		*n = 0;
		return ret;
	}
	reverse(out, *n);
	*idx = out;
	return 0;
}
