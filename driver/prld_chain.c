// SPDX-License-Identifier: GPL-2.0
/*
 * prld_chain.c - the in-memory map of a chain of images: which layer owns
 * each cluster, where the next cluster goes, and bitmaps of either.
 *
 * Each layer keeps its BAT as a sparse leaf array (prld_pages.h).  A
 * cluster resolves to the top's entry if it has one, else to the highest
 * lower layer that maps it, which the owner cache names in one byte: the
 * lower layers never change while bound, so that cache is built once
 * (and extended when a snapshot turns the top into a lower layer), and a
 * lookup costs the same at any depth.  A one-layer disk has no owner
 * cache at all.
 *
 * Pure bookkeeping over arrays the attach code filled in: no files, no
 * block layer, so the KUnit suite can drive every function directly.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/errno.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "prld.h"

/*
 * Every layer uses the top's cluster size.  A lower layer may be smaller
 * than the top (the disk grew after it was made; beyond its end it maps
 * nothing, as for ploop and QEMU backing files), never larger.
 */
int prld_chain_check_layers(const struct prld_chain *chain)
{
	const struct prld_geom *top = &chain->layers[chain->nr_layers - 1].geom;
	unsigned int i;

	for (i = 0; i + 1 < chain->nr_layers; i++) {
		const struct prld_geom *g = &chain->layers[i].geom;

		if (g->cluster_sectors != top->cluster_sectors) {
			pr_err("layer %u: cluster of %u sectors, top has %u\n",
			       i, g->cluster_sectors, top->cluster_sectors);
			return -EINVAL;
		}
		if (g->nb_sectors > top->nb_sectors) {
			pr_err("layer %u: %llu sectors, more than the top's %llu\n",
			       i, g->nb_sectors, top->nb_sectors);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * The first cluster >= @from that @l maps, or l->bat.count if none: only
 * the leaves that exist are looked at.
 */
u32 prld_layer_next(const struct prld_layer *l, u32 from)
{
	u32 c = from;

	while ((c = prld_pages_next_leaf(&l->bat, c)) < l->bat.count) {
		if (prld_layer_entry(l, c))
			return c;
		c++;
	}
	return l->bat.count;
}

u64 prld_layer_count(const struct prld_layer *layer)
{
	u64 n = 0;
	u32 c;

	for (c = prld_layer_next(layer, 0); c < layer->bat.count;
	     c = prld_layer_next(layer, c + 1))
		n++;
	return n;
}

/*
 * Where the next cluster of @top goes: right after its highest mapped
 * cluster.  Anything beyond in the file is unreferenced (leaked clusters,
 * a failed extension) and is cut off before the first write, so reused
 * space is fresh and reads as zeros.
 */
u64 prld_chain_alloc_start(const struct prld_layer *top)
{
	const struct prld_geom *g = &top->geom;
	u64 next = prld_data_start(g), end;
	u32 c;

	for (c = prld_layer_next(top, 0); c < top->bat.count;
	     c = prld_layer_next(top, c + 1)) {
		end = prld_bat_to_offset(g, prld_layer_entry(top, c)) +
		      prld_cluster_bytes(g);
		if (end > next)
			next = end;
	}
	return next;
}

/*
 * Lower layer @index is about to enter the owner cache: make the cache
 * large enough and give it a leaf wherever the layer maps a cluster.
 * Nothing visible changes, so a failure leaves a valid (larger) cache.
 */
int prld_chain_owner_reserve(struct prld_chain *chain, unsigned int index,
			     gfp_t gfp)
{
	const struct prld_layer *l = &chain->layers[index];
	struct prld_pages *owner = &chain->owner;
	void **dir;
	u32 c;
	int ret;

	if (l->bat.count > owner->count) {
		dir = prld_pages_dir_alloc(l->bat.count, 1, gfp);
		if (!dir)
			return -ENOMEM;
		prld_pages_adopt_dir(owner, &dir, l->bat.count);
		kvfree(dir);
	}
	for (c = prld_layer_next(l, 0); c < l->bat.count;
	     c = prld_layer_next(l, c + 1)) {
		ret = prld_pages_prepare(owner, c, gfp);
		if (ret)
			return ret;
	}
	return 0;
}

/* Layer @index, reserved above, is now the highest lower one it maps. */
void prld_chain_owner_record(struct prld_chain *chain, unsigned int index)
{
	const struct prld_layer *l = &chain->layers[index];
	u32 c;

	for (c = prld_layer_next(l, 0); c < l->bat.count;
	     c = prld_layer_next(l, c + 1))
		prld_pages_set8(&chain->owner, c, index + 1);
}

/*
 * Clusters mapped by any layer: those a plain base holds, plus beyond it
 * the top's and those only the owner cache names.
 */
static u64 prld_chain_count(const struct prld_chain *chain)
{
	const struct prld_layer *top = &chain->layers[chain->nr_layers - 1];
	u64 n = chain->plain_clusters;
	u32 c;

	for (c = prld_layer_next(top, chain->plain_clusters); c < top->bat.count;
	     c = prld_layer_next(top, c + 1))
		n++;
	for (c = prld_pages_next_leaf(&chain->owner, chain->plain_clusters);
	     c < chain->owner.count;
	     c = prld_pages_next_leaf(&chain->owner, c + 1))
		n += prld_pages_get8(&chain->owner, c) &&
		     !prld_layer_entry(top, c);
	return n;
}

/*
 * A fresh owner cache from the lower layers' BATs, base first, and the
 * chain's shape from its layers.  The top's BAT is not read (only its
 * geometry), so this may run while the top is written: a merge builds
 * the shorter chain's cache before it freezes the queue.
 */
int prld_chain_owner_build(struct prld_chain *chain)
{
	const struct prld_geom *g = &chain->layers[chain->nr_layers - 1].geom;
	unsigned int i;
	int ret;

	chain->clusters = g->bat_entries;
	chain->cluster_sectors = g->cluster_sectors;
	chain->cluster_bytes = prld_cluster_bytes(g);
	chain->plain_clusters = chain->layers[0].plain ?
				chain->layers[0].geom.bat_entries : 0;
	ret = prld_pages_init(&chain->owner, 0, 1);
	for (i = 0; !ret && i + 1 < chain->nr_layers; i++) {
		ret = prld_chain_owner_reserve(chain, i, GFP_KERNEL);
		if (!ret)
			prld_chain_owner_record(chain, i);
	}
	if (ret)
		prld_chain_free(chain);
	return ret;
}

/* chain->allocated from the map; the top must not change meanwhile. */
void prld_chain_recount(struct prld_chain *chain)
{
	chain->allocated = prld_chain_count(chain);
}

/* Fill the owner cache from the lower layers' BATs, base first. */
int prld_chain_build(struct prld_chain *chain)
{
	int ret = prld_chain_owner_build(chain);

	if (!ret)
		prld_chain_recount(chain);
	return ret;
}

/*
 * May @gone leave a chain in which @now (a new reading of its child, read
 * as @was before) stands above what lay under @gone?  Only if @now maps
 * every cluster @was mapped, at the same place (what the device reads
 * through the child stays where it is), and every cluster @gone maps (an
 * expanding @gone: a plain one is judged by its file's data, by the
 * caller).  0, or -EINVAL with the first cluster that fails in *@bad.
 */
int prld_layer_covers(const struct prld_layer *now,
		      const struct prld_layer *was,
		      const struct prld_layer *gone, u32 *bad)
{
	u32 c;

	for (c = prld_layer_next(was, 0); c < was->bat.count;
	     c = prld_layer_next(was, c + 1)) {
		if (prld_layer_entry(now, c) != prld_layer_entry(was, c)) {
			*bad = c;
			return -EINVAL;
		}
	}
	for (c = prld_layer_next(gone, 0); c < gone->bat.count;
	     c = prld_layer_next(gone, c + 1)) {
		if (!prld_layer_entry(now, c)) {
			*bad = c;
			return -EINVAL;
		}
		if (!(c % 65536))
			cond_resched();
	}
	return 0;
}

void prld_chain_free(struct prld_chain *chain)
{
	prld_pages_free(&chain->owner);
}

/*
 * Layer and byte offset of @cluster's data; false when no layer maps it.
 * Below every expanding layer, a plain base holds each cluster it covers
 * in place.
 */
bool prld_chain_resolve(const struct prld_chain *chain, u32 cluster,
			unsigned int *layer, u64 *file_off)
{
	unsigned int i = chain->nr_layers - 1;
	const struct prld_layer *l = &chain->layers[i];
	u32 entry = prld_layer_entry(l, cluster);
	u8 owner;

	if (!entry) {
		owner = prld_pages_get8(&chain->owner, cluster);
		if (!owner && cluster < chain->plain_clusters) {
			*layer = 0;
			*file_off = (u64)cluster * chain->cluster_bytes;
			return true;
		}
		if (!owner)
			return false;
		i = owner - 1;
		l = &chain->layers[i];
		entry = prld_layer_entry(l, cluster);
		if (WARN_ON_ONCE(!entry))	/* lower layers never change */
			return false;
	}
	*layer = i;
	*file_off = prld_bat_to_offset(&l->geom, entry);
	return true;
}

/* Before prld_chain_commit() of @cluster: the top's leaf must exist. */
int prld_chain_prepare(struct prld_chain *chain, u32 cluster, gfp_t gfp)
{
	return prld_pages_prepare(&chain->layers[chain->nr_layers - 1].bat,
				  cluster, gfp);
}

static bool prld_lower_maps(const struct prld_chain *chain, u32 cluster)
{
	return cluster < chain->plain_clusters ||
	       prld_pages_get8(&chain->owner, cluster) != 0;
}

/*
 * @cluster's entry of the top changed: its leaf must reach the file at
 * the next writeback.  The entry is stored before the bit is set; the
 * writeback clears the bit before it reads the entries.
 */
static void prld_mark_dirty(struct prld_layer *top, u32 cluster)
{
	if (!top->dirty)
		return;
	/* Entry before bit: pairs with test_and_clear_bit() in writeback. */
	smp_mb__before_atomic();
	set_bit(cluster >> top->bat.shift, top->dirty);
}

/*
 * Record that the top now maps @cluster at @file_off (prepared above).
 * One store publishes it to the lockless readers of prld_chain_resolve();
 * the file's BAT follows at the next prld_bat_sync().
 */
void prld_chain_commit(struct prld_chain *chain, u32 cluster, u64 file_off)
{
	struct prld_layer *l = &chain->layers[chain->nr_layers - 1];

	if (!prld_layer_entry(l, cluster)) {
		l->allocated++;
		if (!prld_lower_maps(chain, cluster))
			chain->allocated++;
	}
	prld_pages_set32(&l->bat, cluster,
			 prld_offset_to_bat(&l->geom, file_off));
	prld_mark_dirty(l, cluster);
}

/* The top no longer maps @cluster (discarded): lower layers show again. */
void prld_chain_uncommit(struct prld_chain *chain, u32 cluster)
{
	struct prld_layer *l = &chain->layers[chain->nr_layers - 1];

	if (!prld_layer_entry(l, cluster))
		return;
	prld_pages_set32(&l->bat, cluster, 0);
	prld_mark_dirty(l, cluster);
	l->allocated--;
	if (!prld_lower_maps(chain, cluster))
		chain->allocated--;
}

/*
 * The top grew to @entries clusters: its BAT takes the larger directory
 * *@dir and dirty bitmap *@dirty the caller allocated (zeroed) and frees:
 * the old ones come back in them.  The owner cache covers the lower
 * layers only, which do not grow.  The caller has the queue frozen.
 */
void prld_chain_grow(struct prld_chain *chain, void ***dir,
		     unsigned long **dirty, u32 entries)
{
	struct prld_layer *top = &chain->layers[chain->nr_layers - 1];

	if (top->dirty)
		bitmap_copy(*dirty, top->dirty, top->bat.nr_leaves);
	swap(top->dirty, *dirty);
	prld_pages_adopt_dir(&top->bat, dir, entries);
	chain->clusters = entries;
}

static bool prld_held_between(const struct prld_chain *chain, u32 cluster,
			      u32 from, u32 to)
{
	u32 i = from == PRLD_MAP_FROM_NONE ? 0 : from + 1;

	for (; i <= to; i++)
		if (prld_layer_entry(&chain->layers[i], cluster) ||
		    (chain->layers[i].plain && cluster < chain->plain_clusters))
			return true;
	return false;
}

/*
 * Bits for clusters first_bit .. first_bit + 8 * nbytes - 1 that a layer
 * in (from, to] maps, LSB first; bits past the disk stay zero.  The caller
 * validated from < to < nr_layers (or from == PRLD_MAP_FROM_NONE).  Up to
 * 2^27 bits of 255 layers each: the walk yields the CPU as it goes.
 */
void prld_chain_map_bits(const struct prld_chain *chain, u32 from, u32 to,
			 u64 first_bit, u8 *buf, u64 nbytes)
{
	u64 bit, end = first_bit + nbytes * 8;

	memset(buf, 0, nbytes);
	if (end > chain->clusters)
		end = chain->clusters;
	for (bit = first_bit; bit < end; bit++) {
		if (prld_held_between(chain, (u32)bit, from, to))
			buf[(bit - first_bit) / 8] |= 1U << ((bit - first_bit) % 8);
		if (!(bit % 65536))
			cond_resched();
	}
}
