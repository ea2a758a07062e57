// SPDX-License-Identifier: GPL-2.0
/*
 * prld_pages.c - the sparse leaf array of prld_pages.h: its directory,
 * leaves made on first non-zero use, and walking only the leaves that
 * exist.  Pure memory bookkeeping, KUnit-testable.
 */
#include <linux/errno.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "prld_pages.h"

static u8 prld_pages_shift(unsigned int elem_size)
{
	return ilog2(PRLD_LEAF_BYTES / elem_size);
}

void **prld_pages_dir_alloc(u32 count, unsigned int elem_size, gfp_t gfp)
{
	u32 leaves = DIV_ROUND_UP_ULL(count, 1U << prld_pages_shift(elem_size));

	/*
	 * At least one slot: an empty array still has a valid directory.
	 * The size comes from an image: a failure is the caller's ENOMEM,
	 * not a kernel warning.
	 */
	return kvcalloc(max(leaves, 1U), sizeof(void *), gfp | __GFP_NOWARN);
}

int prld_pages_init(struct prld_pages *p, u32 count, unsigned int elem_size)
{
	p->shift = prld_pages_shift(elem_size);
	p->count = count;
	p->nr_leaves = DIV_ROUND_UP_ULL(count, 1U << p->shift);
	p->leaf = prld_pages_dir_alloc(count, elem_size, GFP_KERNEL);
	return p->leaf ? 0 : -ENOMEM;
}

void prld_pages_free(struct prld_pages *p)
{
	u32 i;

	for (i = 0; p->leaf && i < p->nr_leaves; i++)
		kfree(p->leaf[i]);
	kvfree(p->leaf);
	p->leaf = NULL;
	p->nr_leaves = 0;
	p->count = 0;
}

/*
 * Make sure the leaf of @idx exists.  Callers that may race each other
 * serialise on their own lock (alloc_lock); readers never allocate.
 */
int prld_pages_prepare(struct prld_pages *p, u32 idx, gfp_t gfp)
{
	void *leaf;

	if (idx >= p->count)
		return -EINVAL;
	if (p->leaf[idx >> p->shift])
		return 0;
	leaf = kzalloc(PRLD_LEAF_BYTES, gfp);
	if (!leaf)
		return -ENOMEM;
	/* Zeros first, then the pointer: pairs with prld_pages_leaf(). */
	smp_store_release(&p->leaf[idx >> p->shift], leaf);
	return 0;
}

/*
 * Grow to @count elements with the larger directory *@dir from
 * prld_pages_dir_alloc(); the old directory comes back in *@dir for the
 * caller to free.  Nobody may read @p meanwhile.
 */
void prld_pages_adopt_dir(struct prld_pages *p, void ***dir, u32 count)
{
	memcpy(*dir, p->leaf, p->nr_leaves * sizeof(void *));
	swap(p->leaf, *dir);
	p->count = count;
	p->nr_leaves = DIV_ROUND_UP_ULL(count, 1U << p->shift);
}

/* The first index >= @idx whose leaf exists, or p->count if none does. */
u32 prld_pages_next_leaf(const struct prld_pages *p, u32 idx)
{
	u32 i;

	for (i = idx >> p->shift; i < p->nr_leaves; i++) {
		if (READ_ONCE(p->leaf[i]))
			return max(idx, i << p->shift);
	}
	return p->count;
}

/* Memory held: directory and leaves. */
size_t prld_pages_bytes(const struct prld_pages *p)
{
	size_t bytes = (size_t)max(p->nr_leaves, 1U) * sizeof(void *);
	u32 i;

	for (i = 0; p->leaf && i < p->nr_leaves; i++)
		bytes += p->leaf[i] ? PRLD_LEAF_BYTES : 0;
	return bytes;
}
