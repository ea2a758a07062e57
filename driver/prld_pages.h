/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prld_pages.h - a sparse array of small integers in 4 KiB leaves.
 *
 * A 16 TiB disk of 1 MiB clusters has 16 Mi BAT entries: 64 MiB as one
 * array, most of it zeros on a thin disk.  Here a leaf holds the entries
 * of one 4 KiB stretch and exists only once one of them is non-zero, so
 * memory follows what is mapped (a fully mapped disk costs the entries
 * plus one pointer per leaf) and a lookup stays two loads.
 *
 * Readers take no lock: a leaf is zeroed before its pointer is published
 * (release), so a reader that sees the pointer sees zeros or later values.
 * Leaves are only ever added while the array lives; the directory itself
 * changes only when nobody reads it (queue frozen, or not yet bound).
 */
#ifndef PRLD_PAGES_H
#define PRLD_PAGES_H

#include <linux/compiler.h>
#include <linux/gfp.h>
#include <linux/types.h>

#define PRLD_LEAF_BYTES		4096U

struct prld_pages {
	void **leaf;		/* nr_leaves pointers; NULL: all zeros */
	u32 nr_leaves;
	u32 count;		/* elements */
	u8 shift;		/* log2 of elements per leaf */
};

int prld_pages_init(struct prld_pages *p, u32 count, unsigned int elem_size);
void prld_pages_free(struct prld_pages *p);
int prld_pages_prepare(struct prld_pages *p, u32 idx, gfp_t gfp);
void **prld_pages_dir_alloc(u32 count, unsigned int elem_size, gfp_t gfp);
void prld_pages_adopt_dir(struct prld_pages *p, void ***dir, u32 count);
u32 prld_pages_next_leaf(const struct prld_pages *p, u32 idx);
size_t prld_pages_bytes(const struct prld_pages *p);

/* The leaf holding @idx, or NULL when that stretch is all zeros. */
static inline void *prld_pages_leaf(const struct prld_pages *p, u32 idx)
{
	if (idx >= p->count)
		return NULL;
	/* Pairs with smp_store_release() in prld_pages_prepare(). */
	return smp_load_acquire(&p->leaf[idx >> p->shift]);
}

static inline u32 prld_pages_mask(const struct prld_pages *p)
{
	return (1U << p->shift) - 1;
}

static inline u32 prld_pages_get32(const struct prld_pages *p, u32 idx)
{
	const u32 *leaf = prld_pages_leaf(p, idx);

	return leaf ? READ_ONCE(leaf[idx & prld_pages_mask(p)]) : 0;
}

static inline u8 prld_pages_get8(const struct prld_pages *p, u32 idx)
{
	const u8 *leaf = prld_pages_leaf(p, idx);

	return leaf ? READ_ONCE(leaf[idx & prld_pages_mask(p)]) : 0;
}

/* The leaf must exist (prld_pages_prepare()) unless @v is zero. */
static inline void prld_pages_set32(struct prld_pages *p, u32 idx, u32 v)
{
	u32 *leaf = prld_pages_leaf(p, idx);

	if (leaf)
		WRITE_ONCE(leaf[idx & prld_pages_mask(p)], v);
}

static inline void prld_pages_set8(struct prld_pages *p, u32 idx, u8 v)
{
	u8 *leaf = prld_pages_leaf(p, idx);

	if (leaf)
		WRITE_ONCE(leaf[idx & prld_pages_mask(p)], v);
}

#endif /* PRLD_PAGES_H */
