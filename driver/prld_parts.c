// SPDX-License-Identifier: GPL-2.0
/*
 * prld_parts.c - a disk as a sequence of parts, each a chain of its own.
 *
 * A Parallels Desktop split disk ("split into 2 GB pieces") has several
 * storages one after the other, each with its own images; every other
 * disk has one.  CONFIGURE hands in all their files in disk order and,
 * for a split disk, how many layers each part has; each part is read and
 * validated as any chain is, and lies where the previous one ends, its
 * size its top's.  A request is cut at part boundaries as at cluster
 * boundaries (prld_piece_at()), so the rest of the driver sees one chain
 * per piece.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "prld.h"
#include "prld_validate.h"

/* The number of layers of each part: the caller's, or all of them. */
static u32 *prld_part_counts(const struct prld_config *cfg)
{
	u32 *counts;

	if (!(cfg->flags & PRLD_CONFIG_SPLIT)) {
		counts = kmalloc(sizeof(*counts), GFP_KERNEL);
		if (counts)
			*counts = cfg->nr_layers;
		return counts ?: ERR_PTR(-ENOMEM);
	}
	counts = memdup_user(u64_to_user_ptr(cfg->part_layers),
			     cfg->nr_parts * sizeof(*counts));
	if (!IS_ERR(counts) &&
	    prld_check_part_layers(counts, cfg->nr_parts, cfg->nr_layers)) {
		kfree(counts);
		counts = ERR_PTR(-EINVAL);
	}
	return counts;
}

/*
 * Move @all's layers into @nr parts of @counts layers each; each part's
 * top is written unless @ro.  Cannot fail: the arrays are allocated.
 */
static void prld_parts_fill(struct prld_chain *all, struct prld_chain *parts,
			    struct prld_layer **arrays, const u32 *counts,
			    unsigned int nr, bool ro)
{
	unsigned int k, first = 0;

	for (k = 0; k < nr; k++) {
		parts[k].layers = arrays[k];
		parts[k].nr_layers = counts[k];
		memcpy(arrays[k], &all->layers[first],
		       counts[k] * sizeof(*arrays[k]));
		arrays[k][counts[k] - 1].writable = !ro;
		first += counts[k];
	}
	kfree(all->layers);
	all->layers = NULL;
	all->nr_layers = 0;
}

/* Each part's layer array, before anything moves. */
static struct prld_layer **prld_parts_arrays(const u32 *counts,
					     unsigned int nr)
{
	struct prld_layer **arrays = kcalloc(nr, sizeof(*arrays), GFP_KERNEL);
	unsigned int k;

	for (k = 0; arrays && k < nr; k++) {
		arrays[k] = kcalloc(counts[k], sizeof(**arrays), GFP_KERNEL);
		if (!arrays[k]) {
			while (k--)
				kfree(arrays[k]);
			kfree(arrays);
			return NULL;
		}
	}
	return arrays;
}

/**
 * prld_parts_take() - take a CONFIGURE's files and group them into parts
 * @cfg: the checked configuration
 * @parts: out: the parts (their files taken, nothing read yet)
 * @nr: out: how many
 *
 * Return: 0, or a negative errno; on failure nothing is kept.
 */
int prld_parts_take(const struct prld_config *cfg, struct prld_chain **parts,
		    unsigned int *nr)
{
	bool ro = cfg->flags & PRLD_CONFIG_READ_ONLY;
	unsigned int n = cfg->flags & PRLD_CONFIG_SPLIT ? cfg->nr_parts : 1;
	struct prld_chain all = { 0 };
	struct prld_layer **arrays = NULL;
	u32 *counts;
	int ret;

	counts = prld_part_counts(cfg);
	if (IS_ERR(counts))
		return PTR_ERR(counts);
	ret = prld_take_files(&all, cfg->fds, cfg->nr_layers, ro);
	*parts = ret ? NULL : kcalloc(n, sizeof(**parts), GFP_KERNEL);
	if (!ret)
		arrays = prld_parts_arrays(counts, n);
	if (!ret && (!*parts || !arrays))
		ret = -ENOMEM;
	if (!ret) {
		/* The layer arrays become the parts'. */
		prld_parts_fill(&all, *parts, arrays, counts, n, ro);
		*nr = n;
		if (cfg->flags & PRLD_CONFIG_PLAIN_BASE)
			prld_chain_set_plain(&(*parts)[0], cfg->plain_sectors);
	} else {
		while (arrays && n--)
			kfree(arrays[n]);
		kfree(*parts);
		*parts = NULL;
	}
	prld_chain_release(&all);
	kfree(arrays);
	kfree(counts);
	return ret;
}

void prld_parts_release(struct prld_chain *parts, unsigned int nr)
{
	unsigned int k;

	for (k = 0; parts && k < nr; k++)
		prld_chain_release(&parts[k]);
	kfree(parts);
}

/*
 * Read and validate every part, then place them one after the other.
 * The parts of a split disk must share the cluster size: the device has
 * one discard granularity and one grid for its changes map.
 */
int prld_parts_build(struct prld_chain *parts, unsigned int nr,
		     unsigned int flags)
{
	unsigned int k, first = 0;
	u64 start = 0;
	int ret = 0;

	for (k = 0; !ret && k < nr; k++) {
		ret = prld_build_chain(&parts[k], flags);
		if (!ret && parts[k].cluster_bytes != parts[0].cluster_bytes) {
			pr_err("layer %u: part %u has clusters of %llu bytes, part 0 of %llu\n",
			       first, k, parts[k].cluster_bytes,
			       parts[0].cluster_bytes);
			ret = -EINVAL;
		}
		parts[k].start = start;
		start += parts[k].bytes;
		first += parts[k].nr_layers;
	}
	return ret;
}

/* Claim every part's files for @dev (all or none). */
int prld_parts_claim(struct prld_device *dev, const struct prld_chain *parts,
		     unsigned int nr)
{
	unsigned int k, first = 0;
	int ret = 0;

	for (k = 0; !ret && k < nr; first += parts[k++].nr_layers)
		ret = prld_claim_layers(dev, parts[k].layers, parts[k].nr_layers,
					first);
	if (ret)
		prld_unclaim_layers(dev, NULL, 0);
	return ret;
}

/* The disk's size: the end of its last part. */
u64 prld_parts_bytes(const struct prld_chain *parts, unsigned int nr)
{
	return parts[nr - 1].start + parts[nr - 1].bytes;
}

/* Totals over @dev's parts, for PRLD_GET_STATUS. */
void prld_parts_totals(const struct prld_device *dev, u32 *layers,
		       u64 *clusters, u64 *allocated)
{
	unsigned int k;

	*layers = 0;
	*clusters = 0;
	*allocated = 0;
	for (k = 0; k < dev->nr_parts; k++) {
		*layers += dev->parts[k].nr_layers;
		*clusters += dev->parts[k].clusters;
		*allocated += READ_ONCE(dev->parts[k].allocated);
	}
}

/* Layer @index counted over every part, base of part 0 first; or NULL. */
const struct prld_layer *prld_parts_layer(const struct prld_device *dev,
					  u32 index, unsigned int *part)
{
	unsigned int k;

	for (k = 0; k < dev->nr_parts; k++) {
		if (index < dev->parts[k].nr_layers) {
			*part = k;
			return &dev->parts[k].layers[index];
		}
		index -= dev->parts[k].nr_layers;
	}
	return NULL;
}

/*
 * The whole disk's map (every layer of every part), bits first_bit ..
 * first_bit + 8 * nbytes - 1; each part's clusters follow the previous
 * part's.  For a split device, which has no snapshots to compare.
 */
void prld_parts_map_bits(const struct prld_device *dev, u64 first_bit,
			 u8 *buf, u64 nbytes)
{
	u64 bit = 0, b, end = first_bit + nbytes * 8, off;
	unsigned int k, layer;
	u32 c;

	memset(buf, 0, nbytes);
	for (k = 0; k < dev->nr_parts && bit < end; k++) {
		const struct prld_chain *chain = &dev->parts[k];

		for (c = 0; c < chain->clusters; c++, bit++) {
			if (bit < first_bit)
				continue;
			if (bit >= end)
				break;
			b = bit - first_bit;
			if (prld_chain_resolve(chain, c, &layer, &off))
				buf[b / 8] |= 1U << (b % 8);
			if (!(b % 65536))
				cond_resched();
		}
	}
}
