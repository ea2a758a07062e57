// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * disk.c - the layered disk the public API works on: a chain of images
 * (base first) from a DiskDescriptor.xml, or one bare image.  Reads resolve
 * top-down; writes go to the top layer, copying a cluster up from below
 * before a partial write (format-notes §6).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* The writable image of part @p (of a single-storage disk: the top). */
static struct prld_image *part_top(const struct prld_disk *disk,
				   const struct prld_part *p)
{
	return disk->layers[p->first + p->n - 1];
}

static struct prld_image *top_layer(const struct prld_disk *disk)
{
	return part_top(disk, &disk->parts[0]);
}

static uint64_t part_cluster_bytes(const struct prld_part *p)
{
	return (uint64_t)p->cluster_sectors << PRLD_SECTOR_SHIFT;
}

/* The name messages use for the disk: its last layer's file. */
static const char *disk_name(const struct prld_disk *disk)
{
	return disk->info[disk->nlayers - 1].file;
}

/* ---- open ----------------------------------------------------------- */

static void free_disk(struct prld_disk *disk)
{
	unsigned int i;

	if (!disk)
		return;
	for (i = 0; i < disk->nlayers; i++)
		free((char *)disk->info[i].file);
	free(disk->info);
	free(disk->layers);
	free(disk->parts);
	if (disk->desc)
		desc_free(disk->desc);
	free(disk);
}

/* Close every layer, top first; the first error wins. */
static int close_layers(struct prld_disk *disk, struct prld_err *err)
{
	struct prld_err tmp;
	unsigned int i;
	int ret = 0, r;

	for (i = disk->nlayers; i-- > 0;) {
		r = image_close(disk->layers[i], ret ? &tmp : err);
		disk->layers[i] = NULL;
		if (r && !ret)
			ret = r;
	}
	return ret;
}

/* @nparts parts of @n layers each. */
static int alloc_layers(struct prld_disk *disk, unsigned int nparts,
			unsigned int n, struct prld_err *err)
{
	unsigned int k;

	disk->layers = calloc((size_t)n * nparts, sizeof(*disk->layers));
	disk->info = calloc((size_t)n * nparts, sizeof(*disk->info));
	disk->parts = calloc(nparts, sizeof(*disk->parts));
	if (!disk->layers || !disk->info || !disk->parts)
		return prld_set_err(err, -ENOMEM, "out of memory");
	disk->nlayers = n * nparts;
	disk->nparts = nparts;
	for (k = 0; k < nparts; k++)
		disk->parts[k] = (struct prld_part){ .first = k * n, .n = n };
	return 0;
}

/* Does the file start with one of the two image magics? */
static bool has_image_magic(const char *path)
{
	char buf[PRLD_MAGIC_LEN];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool yes;

	if (fd < 0)
		return false;
	yes = prld_pread_full(fd, buf, sizeof(buf), 0) == 0 &&
	      prld_buf_has_magic(buf, sizeof(buf));
	close(fd);
	return yes;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcasecmp(s + n - m, suffix);
}

static bool can_write(const struct prld_disk *disk)
{
	return (disk->flags & PRLD_OPEN_WRITE) &&
	       !(disk->flags & PRLD_OPEN_FAKE);
}

/* FAKE opens read headers only; everything else validates the BAT too. */
static int open_layer(const struct prld_disk *disk, const char *path,
		      enum prld_layer_kind kind, bool top, uint64_t sectors,
		      uint32_t cluster, struct prld_image **img,
		      struct prld_err *err)
{
	if (disk->flags & PRLD_OPEN_FAKE)
		return image_open_header(path, kind, sectors, cluster, img,
					 err);
	return image_open(path, kind, top && can_write(disk), sectors, cluster,
			  img, err);
}

static int set_layer_file(struct prld_layer_info *li, const char *path,
			  struct prld_err *err)
{
	li->file = strdup(path);
	if (!li->file)
		return prld_set_err(err, -ENOMEM, "%s: out of memory", path);
	return 0;
}

static int open_bare(struct prld_disk *disk, const char *path,
		     struct prld_err *err)
{
	struct prld_image *img;
	int ret;

	ret = alloc_layers(disk, 1, 1, err);
	if (!ret)
		ret = set_layer_file(&disk->info[0], path, err);
	if (!ret)
		ret = open_layer(disk, path, PRLD_LAYER_EXPANDING, true, 0, 0,
				 &img, err);
	if (ret)
		return ret;
	disk->layers[0] = img;
	disk->info[0].top = true;
	disk->size_bytes = img->geom.nb_sectors << PRLD_SECTOR_SHIFT;
	disk->cluster_sectors = img->geom.cluster_sectors;
	disk->parts[0].size = disk->size_bytes;
	disk->parts[0].cluster_sectors = disk->cluster_sectors;
	return 0;
}

/*
 * Every layer has its storage's cluster size.  Lower layers may be
 * smaller than the storage (made before the disk grew), never larger.
 * The top of a one-storage disk sets the disk's size, as in ploop: after
 * a switch to a snapshot made before a resize it is smaller than
 * Disk_size, and after a resize whose descriptor update a crash cut off
 * it is larger (`prldctl resize` finishes that).  A split disk's pieces
 * cannot grow: each top is exactly its storage.
 */
static int layer_matches(const struct prld_desc *d,
			 const struct prld_desc_storage *st,
			 const struct prld_image *img, bool top,
			 struct prld_err *err)
{
	uint64_t n = img->geom.nb_sectors, want = st->end - st->start;

	if (img->geom.cluster_sectors != st->blocksize)
		return prld_set_err(err, -EINVAL,
				    "%s: cluster size %u sectors differs from the descriptor's Blocksize %u",
				    img->path, img->geom.cluster_sectors,
				    st->blocksize);
	if (top && d->nstorages == 1)
		return 0;
	if (top ? n != want : n > want)
		return prld_set_err(err, -EINVAL,
				    "%s: virtual size %llu sectors, %s %s %llu",
				    img->path, (unsigned long long)n,
				    top ? "not" : "more than",
				    d->nstorages > 1 ? "its storage's End - Start" :
						       "the descriptor's Disk_size",
				    (unsigned long long)want);
	return 0;
}

static const char *parent_of(const struct prld_desc *d, const char *guid)
{
	unsigned int i;

	for (i = 0; i < d->nshots; i++)
		if (!strcasecmp(d->shots[i].guid, guid))
			return d->shots[i].parent;
	return "";
}

/* Two layers in one file would write into each other. */
static int distinct_file(const struct prld_disk *disk, unsigned int i,
			 struct prld_err *err)
{
	struct stat a, b;
	unsigned int j;

	if (stat(disk->info[i].file, &a) < 0)
		return 0;	/* the open names the problem */
	for (j = 0; j < i; j++)
		if (stat(disk->info[j].file, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return prld_set_err(err, -EINVAL,
					    "%s: the same file as layer %u (%s)",
					    disk->info[i].file, j,
					    disk->info[j].file);
	return 0;
}

/*
 * Layer @i = image @di of storage @k, position @pos in its chain.  Only
 * the top writes.  A snapshot @state's top is a lower layer of the disk:
 * it may be smaller than Disk_size, as they are.
 */
static int open_chain_layer(struct prld_disk *disk, unsigned int i,
			    unsigned int k, unsigned int di, unsigned int pos,
			    bool state, struct prld_err *err)
{
	const struct prld_desc *d = disk->desc;
	struct prld_layer_info *li = &disk->info[i];
	const struct prld_part *p = &disk->parts[k];
	bool top = pos == p->n - 1;
	struct prld_desc_storage st;
	enum prld_layer_kind kind;
	int ret;

	desc_storage(d, k, &st);
	li->file = desc_file_path(d, st.images[di].file);
	if (!li->file)
		return prld_set_err(err, -ENOMEM, "out of memory");
	snprintf(li->guid, sizeof(li->guid), "%s", st.images[di].guid);
	snprintf(li->parent, sizeof(li->parent), "%s",
		 parent_of(d, st.images[di].guid));
	li->top = top;
	li->storage = k;
	li->start_sector = st.start;
	ret = distinct_file(disk, i, err);
	if (!ret)
		ret = desc_image_kind(d, k, di, &kind, err);
	if (!ret)
		ret = open_layer(disk, li->file, kind, top,
				 st.end - st.start, st.blocksize,
				 &disk->layers[i], err);
	if (!ret)
		ret = layer_matches(d, &st, disk->layers[i], top && !state,
				    err);
	return ret;
}

/* Storage @k's chain (the GUIDs of @idx) and its place in the disk. */
static int open_part(struct prld_disk *disk, unsigned int k,
		     const unsigned int *idx, unsigned int n,
		     unsigned int *sidx, bool state, struct prld_err *err)
{
	struct prld_part *p = &disk->parts[k];
	struct prld_desc_storage st;
	unsigned int i;
	int ret = 0;

	desc_storage(disk->desc, k, &st);
	if (desc_storage_chain(disk->desc, k, idx, n, sidx))
		return prld_set_err(err, -EINVAL,
				    "%s: <Storage> %u lacks an image of the chain",
				    disk->desc->path, k);
	for (i = 0; i < n && !ret; i++)
		ret = open_chain_layer(disk, p->first + i, k, sidx[i], i,
				       state, err);
	if (ret)
		return ret;
	p->start = st.start << PRLD_SECTOR_SHIFT;
	p->size = part_top(disk, p)->geom.nb_sectors << PRLD_SECTOR_SHIFT;
	p->cluster_sectors = st.blocksize;
	return 0;
}

static int open_parts(struct prld_disk *disk, const unsigned int *idx,
		      unsigned int n, bool state, struct prld_err *err)
{
	unsigned int k, *sidx = calloc(n, sizeof(*sidx));
	int ret = sidx ? 0 : prld_set_err(err, -ENOMEM, "out of memory");

	if (!ret)
		ret = alloc_layers(disk, disk->desc->nstorages, n, err);
	for (k = 0; !ret && k < disk->nparts; k++)
		ret = open_part(disk, k, idx, n, sidx, state, err);
	free(sidx);
	return ret;
}

/* The chain up to @guid (NULL: TopGUID), base first. */
static int state_chain(const struct prld_desc *d, const char *guid,
		       unsigned int **idx, unsigned int *n,
		       struct prld_err *err)
{
	int s;

	if (!guid)
		return desc_chain(d, NULL, idx, n, err);
	s = desc_find_named_shot(d, guid, err);
	if (s < 0)
		return s;
	return desc_chain(d, d->shots[s].guid, idx, n, err);
}

static int open_descriptor(struct prld_disk *disk, const char *path,
			   const char *guid, struct prld_err *err)
{
	const struct prld_part *last;
	unsigned int *idx = NULL, n = 0;
	int ret;

	/* A writer first finishes a snapshot delete a crash interrupted. */
	if (can_write(disk)) {
		ret = merge_recover(path, NULL, 0, err);
		if (ret < 0)
			return ret;
	}
	ret = desc_load(path, &disk->desc, err);
	if (!ret)
		ret = state_chain(disk->desc, guid, &idx, &n, err);
	if (!ret && n == 0)
		ret = prld_set_err(err, -EINVAL, "%s: no images in the chain",
				   path);
	if (!ret)
		ret = open_parts(disk, idx, n, guid != NULL, err);
	free(idx);
	if (ret)
		return ret;
	last = &disk->parts[disk->nparts - 1];
	disk->size_bytes = last->start + last->size;
	disk->cluster_sectors = disk->parts[0].cluster_sectors;
	return 0;
}

/* A directory without a descriptor: what to do. */
static int open_dir(struct prld_disk *disk, const char *path,
		    const char *guid, struct prld_err *err)
{
	char *desc = prld_join(path, PRLD_DESCRIPTOR);
	int ret;

	if (!desc)
		return prld_set_err(err, -ENOMEM, "out of memory");
	if (access(desc, F_OK) < 0 && errno == ENOENT)
		ret = desc_missing(path, "open needs", err);
	else
		ret = open_descriptor(disk, desc, guid, err);
	free(desc);
	return ret;
}

/*
 * A directory, its DiskDescriptor.xml, or a bare image: open the right
 * one, at snapshot @guid's state if not NULL.
 */
static int open_any(struct prld_disk *disk, const char *path,
		    const char *guid, struct prld_err *err)
{
	struct stat st;
	char *desc;
	int ret;

	if (stat(path, &st) < 0)
		return prld_set_err(err, -errno, "%s: %s", path,
				    strerror(errno));
	if (S_ISDIR(st.st_mode))
		return open_dir(disk, path, guid, err);
	desc = desc_bundle_of(path);
	if (desc) {
		ret = open_descriptor(disk, desc, guid, err);
		free(desc);
		return ret;
	}
	if (has_image_magic(path) && guid)
		return prld_set_err(err, -ENOENT,
				    "%s: a bare image has no snapshots (no GUID %s)",
				    path, guid);
	if (has_image_magic(path))
		return open_bare(disk, path, err);
	if (ends_with(path, ".xml"))
		return open_descriptor(disk, path, guid, err);
	/* Let the image validator say what is wrong with the header. */
	return open_bare(disk, path, err);
}

static int apply_policy(struct prld_disk *disk, const char *path,
			const struct prld_policy *policy, struct prld_err *err)
{
	disk->offset = policy ? policy->offset : 0;
	if (disk->offset > disk->size_bytes)
		return prld_set_err(err, -EINVAL,
				    "%s: offset %llu is beyond the disk size %llu bytes",
				    path, (unsigned long long)disk->offset,
				    (unsigned long long)disk->size_bytes);
	return 0;
}

int prld_open(const char *path, unsigned int flags,
	      const struct prld_policy *policy, struct prld_disk **out,
	      struct prld_err *err)
{
	return prld_open_snapshot(path, NULL, flags, policy, out, err);
}

int prld_open_snapshot(const char *path, const char *guid,
		       unsigned int flags, const struct prld_policy *policy,
		       struct prld_disk **out, struct prld_err *err)
{
	struct prld_disk *disk;
	int ret;

	*out = NULL;
	if (guid && (flags & PRLD_OPEN_WRITE))
		return prld_set_err(err, -EROFS,
				    "%s: snapshot %s is read-only; revert to it (prldctl revert) to write on top of it",
				    path, guid);
	disk = calloc(1, sizeof(*disk));
	if (!disk)
		return prld_set_err(err, -ENOMEM, "%s: out of memory", path);
	disk->flags = flags;
	ret = open_any(disk, path, guid, err);
	if (!ret)
		ret = apply_policy(disk, path, policy, err);
	if (ret) {
		close_layers(disk, NULL);
		free_disk(disk);
		return ret;
	}
	*out = disk;
	return 0;
}

int prld_close(struct prld_disk *disk, struct prld_err *err)
{
	int ret;

	if (!disk)
		return 0;
	ret = close_layers(disk, err);
	free_disk(disk);
	return ret;
}

/* ---- info ----------------------------------------------------------- */

/* Refresh the parts of a layer's info that change while writing. */
static void fill_layer(struct prld_layer_info *li, const struct prld_image *img)
{
	li->kind = img->kind;
	li->fmt = img->kind == PRLD_LAYER_PLAIN ? 0 : (int)img->geom.fmt;
	li->cluster_sectors = img->geom.cluster_sectors;
	li->nb_sectors = img->geom.nb_sectors;
	li->file_size = img->file_size;
	li->allocated = img->allocated;
	li->flags = img->geom.flags;
	li->in_use = img->geom.inuse == PRLD_INUSE_MAGIC;
	li->read_only = img->geom.readonly || img->torn;
}

/* A bare image keeps heads and cylinders; sectors per track is the rest. */
static void bare_chs(const struct prld_geom *g, struct prld_info *out)
{
	uint64_t hc = (uint64_t)g->heads * g->cylinders;
	struct prld_chs chs;

	if (hc && g->nb_sectors % hc == 0 && g->nb_sectors / hc <= UINT32_MAX) {
		out->heads = g->heads;
		out->cylinders = g->cylinders;
		out->sectors = (uint32_t)(g->nb_sectors / hc);
		return;
	}
	prld_chs_from_size(g->nb_sectors, &chs);
	out->cylinders = chs.cylinders;
	out->heads = chs.heads;
	out->sectors = chs.sectors;
}

int prld_get_info(struct prld_disk *disk, struct prld_info *out)
{
	unsigned int i;

	if (!disk || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	for (i = 0; i < disk->nlayers; i++)
		fill_layer(&disk->info[i], disk->layers[i]);
	for (i = 0; i < disk->nparts; i++)
		out->clusters += part_top(disk, &disk->parts[i])->geom.bat_entries;
	out->size_sectors = disk->size_bytes >> PRLD_SECTOR_SHIFT;
	out->visible_bytes = disk->size_bytes - disk->offset;
	out->cluster_sectors = disk->cluster_sectors;
	out->has_descriptor = disk->desc != NULL;
	out->nstorages = disk->nparts;
	out->nlayers = disk->nlayers;
	out->layers = disk->info;
	if (disk->desc) {
		out->cylinders = disk->desc->cylinders;
		out->heads = disk->desc->heads;
		out->sectors = disk->desc->sectors;
	} else {
		bare_chs(&top_layer(disk)->geom, out);
	}
	return 0;
}

/* ---- data ----------------------------------------------------------- */

static int check_range(const struct prld_disk *disk, size_t len,
		       uint64_t off, const char *op, struct prld_err *err)
{
	uint64_t visible = disk->size_bytes - disk->offset;

	if (disk->flags & PRLD_OPEN_FAKE)
		return prld_set_err(err, -EPERM,
				    "%s: opened for parameters only; cannot %s",
				    disk_name(disk), op);
	if (off > visible || len > visible - off)
		return prld_set_err(err, -ENXIO,
				    "%s: cannot %s %zu bytes at offset %llu: the disk has %llu bytes%s",
				    disk_name(disk), op,
				    len, (unsigned long long)off,
				    (unsigned long long)visible,
				    disk->offset ? " past the open's offset" : "");
	return 0;
}

/* One piece of a request that stays inside a single cluster of one part. */
struct chunk {
	const struct prld_part *part;
	uint32_t cluster;	/* in the part */
	uint64_t in;		/* byte offset inside the cluster */
	size_t len;
};

/* The part holding disk byte @pos (< size_bytes): parts are in order. */
static const struct prld_part *find_part(const struct prld_disk *disk,
					 uint64_t pos)
{
	unsigned int lo = 0, hi = disk->nparts - 1, mid;

	while (lo < hi) {
		mid = (lo + hi + 1) / 2;
		if (disk->parts[mid].start <= pos)
			lo = mid;
		else
			hi = mid - 1;
	}
	return &disk->parts[lo];
}

static struct chunk next_chunk(const struct prld_disk *disk, uint64_t pos,
			       size_t left)
{
	const struct prld_part *p = find_part(disk, pos);
	uint64_t cb = part_cluster_bytes(p), rel = pos - p->start;
	uint64_t room = p->size - rel;
	struct chunk c = {
		.part = p,
		.cluster = (uint32_t)(rel / cb),
		.in = rel % cb,
	};

	if (cb - c.in < room)
		room = cb - c.in;
	c.len = room < left ? (size_t)room : left;
	return c;
}

/*
 * Read bytes of @c from the highest layer at or below chain position
 * @from of its part that holds the cluster; zeros if none does.
 */
static int read_chunk(const struct prld_disk *disk, unsigned int from,
		      const struct chunk *c, void *buf, struct prld_err *err)
{
	const struct prld_image *img;
	uint64_t foff;
	unsigned int i;
	int ret;

	for (i = from + 1; i-- > 0;) {
		img = disk->layers[c->part->first + i];
		if (!image_maps(img, c->cluster, &foff))
			continue;
		ret = image_pread(img, buf, c->len, foff + c->in);
		if (ret)
			return prld_set_err(err, ret,
					    "%s: cannot read %zu bytes at file offset %llu (disk cluster %u): %s",
					    img->path, c->len,
					    (unsigned long long)(foff + c->in),
					    c->cluster, strerror(-ret));
		return 0;
	}
	memset(buf, 0, c->len);
	return 0;
}

int prld_pread(struct prld_disk *disk, void *buf, size_t len, uint64_t off,
	       struct prld_err *err)
{
	uint64_t pos;
	char *p = buf;
	int ret;

	ret = check_range(disk, len, off, "read", err);
	pos = off + disk->offset;
	while (!ret && len) {
		struct chunk c = next_chunk(disk, pos, len);

		ret = read_chunk(disk, c.part->n - 1, &c, p, err);
		p += c.len;
		pos += c.len;
		len -= c.len;
	}
	return ret;
}

/*
 * Build the whole new content of a cluster the top does not hold: what
 * the layers below hold (zeros past the part's end), with @c overlaid.
 */
static int build_cluster(const struct prld_disk *disk, const struct chunk *c,
			 const void *src, char *cbuf, struct prld_err *err)
{
	const struct prld_part *p = c->part;
	uint64_t cb = part_cluster_bytes(p);
	uint64_t start = (uint64_t)c->cluster * cb;
	struct chunk whole = { .part = p, .cluster = c->cluster, .in = 0 };
	int ret = 0;

	whole.len = (size_t)(p->size - start < cb ? p->size - start : cb);
	memset(cbuf + whole.len, 0, (size_t)(cb - whole.len));
	if (p->n > 1)
		ret = read_chunk(disk, p->n - 2, &whole, cbuf, err);
	else
		memset(cbuf, 0, whole.len);
	if (!ret)
		memcpy(cbuf + c->in, src, c->len);
	return ret;
}

static int write_chunk(struct prld_disk *disk, const struct chunk *c,
		       const void *src, char **cbuf, struct prld_err *err)
{
	struct prld_image *top = part_top(disk, c->part);
	uint64_t cb = part_cluster_bytes(c->part);
	uint64_t foff;
	int ret;

	/* Each piece's top is marked in use before its first write. */
	ret = image_begin_write(top, err);
	if (ret)
		return ret;
	if (image_maps(top, c->cluster, &foff)) {
		ret = prld_pwrite_full(top->fd, src, c->len, foff + c->in);
		if (ret)
			return prld_set_err(err, ret,
					    "%s: cannot write %zu bytes at file offset %llu (disk cluster %u): %s",
					    top->path, c->len,
					    (unsigned long long)(foff + c->in),
					    c->cluster, strerror(-ret));
		top->data_written = true;
		return 0;
	}
	if (c->len == cb)	/* whole cluster: nothing to copy up */
		return image_alloc(top, c->cluster, src, NULL, err);
	if (!*cbuf) {
		/* The largest cluster of any part fits every part's. */
		*cbuf = malloc((size_t)PRLD_MAX_CLUSTER_SECTORS << PRLD_SECTOR_SHIFT);
		if (!*cbuf)
			return prld_set_err(err, -ENOMEM,
					    "%s: out of memory for a %llu-byte cluster",
					    top->path, (unsigned long long)cb);
	}
	ret = build_cluster(disk, c, src, *cbuf, err);
	if (!ret)
		ret = image_alloc(top, c->cluster, *cbuf, NULL, err);
	return ret;
}

static int check_writable(const struct prld_disk *disk, struct prld_err *err)
{
	if (disk->flags & PRLD_OPEN_FAKE)
		return prld_set_err(err, -EPERM,
				    "%s: opened for parameters only; cannot write",
				    disk_name(disk));
	if (!(disk->flags & PRLD_OPEN_WRITE))
		return prld_set_err(err, -EBADF,
				    "%s: disk opened read-only; cannot write",
				    disk_name(disk));
	return 0;
}

int prld_pwrite(struct prld_disk *disk, const void *buf, size_t len,
		uint64_t off, struct prld_err *err)
{
	const char *p = buf;
	char *cbuf = NULL;
	uint64_t pos;
	int ret;

	ret = check_writable(disk, err);
	if (!ret)
		ret = check_range(disk, len, off, "write", err);
	pos = off + disk->offset;
	while (!ret && len) {
		struct chunk c = next_chunk(disk, pos, len);

		ret = write_chunk(disk, &c, p, &cbuf, err);
		p += c.len;
		pos += c.len;
		len -= c.len;
	}
	free(cbuf);
	return ret;
}

static int sector_range(uint32_t nsectors, uint64_t sector, size_t *len,
			uint64_t *off, struct prld_err *err)
{
	if (sector > (UINT64_MAX >> PRLD_SECTOR_SHIFT))
		return prld_set_err(err, -ENXIO, "sector %llu is out of range",
				    (unsigned long long)sector);
	*len = (size_t)nsectors << PRLD_SECTOR_SHIFT;
	*off = sector << PRLD_SECTOR_SHIFT;
	return 0;
}

int prld_read(struct prld_disk *disk, void *buf, uint32_t nsectors,
	      uint64_t sector, struct prld_err *err)
{
	uint64_t off = 0;
	size_t len = 0;
	int ret;

	ret = sector_range(nsectors, sector, &len, &off, err);
	if (!ret)
		ret = prld_pread(disk, buf, len, off, err);
	return ret;
}

int prld_write(struct prld_disk *disk, const void *buf, uint32_t nsectors,
	       uint64_t sector, struct prld_err *err)
{
	uint64_t off = 0;
	size_t len = 0;
	int ret;

	ret = sector_range(nsectors, sector, &len, &off, err);
	if (!ret)
		ret = prld_pwrite(disk, buf, len, off, err);
	return ret;
}

int prld_flush(struct prld_disk *disk, struct prld_err *err)
{
	unsigned int k;
	int ret = 0;

	if (disk->flags & PRLD_OPEN_FAKE)
		return prld_set_err(err, -EPERM,
				    "%s: opened for parameters only",
				    disk_name(disk));
	for (k = 0; k < disk->nparts && !ret; k++)
		ret = image_sync(part_top(disk, &disk->parts[k]), err);
	return ret;
}

/* ---- maps ----------------------------------------------------------- */

/* Index of the chain layer named @guid, or -ENOENT with a message. */
static int find_layer(const struct prld_disk *disk, const char *guid,
		      struct prld_err *err)
{
	unsigned int i;

	if (!disk->desc)
		return prld_set_err(err, -ENOENT,
				    "%s: a bare image has no snapshots (no GUID %s)",
				    disk->info[0].file, guid);
	for (i = 0; i < disk->parts[0].n; i++)	/* every part's chain alike */
		if (!strcasecmp(disk->info[i].guid, guid))
			return (int)i;
	return prld_set_err(err, -ENOENT,
			    "%s: no layer with GUID %s in the open chain",
			    disk->desc->path, guid);
}

/* Layers lo..hi (inclusive) the two GUIDs select. */
static int map_range(const struct prld_disk *disk, const char *from,
		     const char *to, int *lo, int *hi, struct prld_err *err)
{
	*lo = 0;
	*hi = (int)disk->parts[0].n - 1;
	if (from) {
		*lo = find_layer(disk, from, err);
		if (*lo < 0)
			return *lo;
		(*lo)++;	/* strictly above @from */
	}
	if (to) {
		*hi = find_layer(disk, to, err);
		if (*hi < 0)
			return *hi;
	}
	if (*lo > *hi + 1)
		return prld_set_err(err, -EINVAL,
				    "%s: snapshot %s is above %s; give the older one first",
				    disk->info[0].file, from, to);
	return 0;
}

/*
 * One bit per cluster of the whole disk: a split disk's pieces must then
 * share the cluster size, and all but the last end on a cluster.
 */
static int map_bits(const struct prld_disk *disk, uint64_t *nbits,
		    struct prld_err *err)
{
	const struct prld_part *p;
	unsigned int k;

	*nbits = 0;
	for (k = 0; k < disk->nparts; k++) {
		p = &disk->parts[k];
		if (p->cluster_sectors != disk->cluster_sectors ||
		    (k + 1 < disk->nparts && p->size % part_cluster_bytes(p)))
			return prld_set_err(err, -EOPNOTSUPP,
					    "%s: the pieces of this split disk do not share one cluster grid: no map",
					    disk_name(disk));
		*nbits += part_top(disk, p)->geom.bat_entries;
	}
	return 0;
}

/* Set the bits of part @p's layers at chain positions lo..hi. */
static void map_part(const struct prld_disk *disk, const struct prld_part *p,
		     int lo, int hi, uint64_t bit0, struct prld_map *out)
{
	uint32_t c, n = part_top(disk, p)->geom.bat_entries;
	uint64_t foff, b;
	int i;

	for (i = lo; i <= hi; i++)
		for (c = 0; c < n; c++)
			if (image_maps(disk->layers[p->first + i], c, &foff)) {
				b = bit0 + c;
				out->bits[b / 8] |= (uint8_t)(1U << (b % 8));
			}
}

int prld_get_map(struct prld_disk *disk, const char *from_guid,
		 const char *to_guid, struct prld_map *out,
		 struct prld_err *err)
{
	uint64_t nbits = 0, bit0 = 0;
	unsigned int k;
	int lo, hi, ret;

	memset(out, 0, sizeof(*out));
	if (disk->flags & PRLD_OPEN_FAKE)
		return prld_set_err(err, -EPERM,
				    "%s: opened for parameters only; no map",
				    disk_name(disk));
	ret = map_bits(disk, &nbits, err);
	if (!ret)
		ret = map_range(disk, from_guid, to_guid, &lo, &hi, err);
	if (ret)
		return ret;
	out->bits = calloc((size_t)((nbits + 7) / 8) + 1, 1);
	if (!out->bits)
		return prld_set_err(err, -ENOMEM, "out of memory for the map");
	out->granularity = (uint64_t)disk->cluster_sectors << PRLD_SECTOR_SHIFT;
	out->nbits = nbits;
	for (k = 0; k < disk->nparts; k++) {
		map_part(disk, &disk->parts[k], lo, hi, bit0, out);
		bit0 += part_top(disk, &disk->parts[k])->geom.bat_entries;
	}
	return 0;
}

void prld_map_free(struct prld_map *map)
{
	if (!map)
		return;
	free(map->bits);
	map->bits = NULL;
	map->nbits = 0;
}
