// SPDX-License-Identifier: GPL-2.0
/*
 * prld_chain.c - the in-memory map of a chain of images: which layer owns
 * each cluster, where the next cluster goes, and bitmaps of either.
 *
 * Pure bookkeeping over arrays the attach code filled in: no files, no
 * block layer, so the KUnit suite can drive every function directly.
 */
#include <linux/errno.h>
#include <linux/mm.h>
#include <linux/printk.h>
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
			pr_err("prld: layer %u: cluster of %u sectors, top has %u\n",
			       i, g->cluster_sectors, top->cluster_sectors);
			return -EINVAL;
		}
		if (g->nb_sectors > top->nb_sectors) {
			pr_err("prld: layer %u: %llu sectors, more than the top's %llu\n",
			       i, g->nb_sectors, top->nb_sectors);
			return -EINVAL;
		}
	}
	return 0;
}

/* Does layer @l map @cluster?  Beyond a smaller layer's end: no. */
static bool prld_layer_maps(const struct prld_layer *l, u32 cluster)
{
	return cluster < l->geom.bat_entries && l->bat[cluster];
}

u64 prld_layer_count(const struct prld_layer *layer)
{
	u64 n = 0;
	u32 c;

	for (c = 0; c < layer->geom.bat_entries; c++)
		n += layer->bat[c] != 0;
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

	for (c = 0; c < g->bat_entries; c++) {
		if (!top->bat[c])
			continue;
		end = prld_bat_to_offset(g, top->bat[c]) + prld_cluster_bytes(g);
		if (end > next)
			next = end;
	}
	return next;
}

/* Fill the owner cache from the layers' BATs, base first. */
int prld_chain_build(struct prld_chain *chain)
{
	const struct prld_geom *g = &chain->layers[chain->nr_layers - 1].geom;
	unsigned int i;
	u32 c;

	chain->clusters = g->bat_entries;
	chain->cluster_sectors = g->cluster_sectors;
	chain->cluster_bytes = prld_cluster_bytes(g);
	chain->owner = kvzalloc(chain->clusters, GFP_KERNEL);
	if (!chain->owner)
		return -ENOMEM;
	for (i = 0; i < chain->nr_layers; i++) {
		const struct prld_layer *l = &chain->layers[i];

		for (c = 0; c < l->geom.bat_entries; c++)
			if (l->bat[c])
				chain->owner[c] = i + 1;
	}
	chain->allocated = 0;
	for (c = 0; c < chain->clusters; c++)
		chain->allocated += chain->owner[c] != 0;
	return 0;
}

void prld_chain_free(struct prld_chain *chain)
{
	kvfree(chain->owner);
	chain->owner = NULL;
}

/* Layer and byte offset of @cluster's data; false when no layer maps it. */
bool prld_chain_resolve(const struct prld_chain *chain, u32 cluster,
			unsigned int *layer, u64 *file_off)
{
	const struct prld_layer *l;
	u8 owner = READ_ONCE(chain->owner[cluster]);
	u32 entry;

	if (!owner)
		return false;
	smp_rmb();	/* pairs with prld_chain_commit(): entry before owner */
	l = &chain->layers[owner - 1];
	entry = READ_ONCE(l->bat[cluster]);
	/* A discard may have just cleared it: unmapped, never offset 0. */
	if (!entry)
		return false;
	*layer = owner - 1;
	*file_off = prld_bat_to_offset(&l->geom, entry);
	return true;
}

/*
 * Record that the top now maps @cluster at @file_off.  Called only after
 * the BAT entry is durable.  The entry is published before the owner so a
 * lockless reader that sees the new owner also sees the entry.
 */
void prld_chain_commit(struct prld_chain *chain, u32 cluster, u64 file_off)
{
	unsigned int top = chain->nr_layers - 1;
	struct prld_layer *l = &chain->layers[top];

	if (!chain->owner[cluster])
		chain->allocated++;
	l->allocated++;
	WRITE_ONCE(l->bat[cluster], prld_offset_to_bat(&l->geom, file_off));
	/* Entry before owner; pairs with smp_rmb() in prld_chain_resolve(). */
	smp_wmb();
	WRITE_ONCE(chain->owner[cluster], top + 1);
}

/* The top no longer maps @cluster (discarded): lower layers show again. */
void prld_chain_uncommit(struct prld_chain *chain, u32 cluster)
{
	unsigned int top = chain->nr_layers - 1, i;
	struct prld_layer *l = &chain->layers[top];
	u8 owner = 0;

	if (!l->bat[cluster])
		return;
	for (i = top; i-- > 0;) {
		if (prld_layer_maps(&chain->layers[i], cluster)) {
			owner = i + 1;
			break;
		}
	}
	WRITE_ONCE(chain->owner[cluster], owner);
	/* Owner before the cleared entry, for prld_chain_resolve(). */
	smp_wmb();
	WRITE_ONCE(l->bat[cluster], 0);
	l->allocated--;
	if (!owner)
		chain->allocated--;
}

/*
 * The top grew to @entries clusters: its BAT and the owner cache trade
 * places with the larger, zeroed arrays the caller allocated (and frees:
 * the old ones come back in *@bat and *@owner).  The caller has the queue
 * frozen.
 */
void prld_chain_grow(struct prld_chain *chain, u32 **bat, u8 **owner,
		     u32 entries)
{
	struct prld_layer *top = &chain->layers[chain->nr_layers - 1];

	memcpy(*bat, top->bat, chain->clusters * sizeof(**bat));
	memcpy(*owner, chain->owner, chain->clusters);
	swap(top->bat, *bat);
	swap(chain->owner, *owner);
	chain->clusters = entries;
}

static bool prld_held_between(const struct prld_chain *chain, u32 cluster,
			      u32 from, u32 to)
{
	u32 i = from == PRLD_MAP_FROM_NONE ? 0 : from + 1;

	for (; i <= to; i++)
		if (prld_layer_maps(&chain->layers[i], cluster))
			return true;
	return false;
}

/*
 * Bits for clusters first_bit .. first_bit + 8 * nbytes - 1 that a layer
 * in (from, to] maps, LSB first; bits past the disk stay zero.  The caller
 * validated from < to < nr_layers (or from == PRLD_MAP_FROM_NONE).
 */
void prld_chain_map_bits(const struct prld_chain *chain, u32 from, u32 to,
			 u64 first_bit, u8 *buf, u64 nbytes)
{
	u64 bit, end = first_bit + nbytes * 8;

	memset(buf, 0, nbytes);
	if (end > chain->clusters)
		end = chain->clusters;
	for (bit = first_bit; bit < end; bit++)
		if (prld_held_between(chain, (u32)bit, from, to))
			buf[(bit - first_bit) / 8] |= 1U << ((bit - first_bit) % 8);
}
