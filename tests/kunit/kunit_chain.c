// SPDX-License-Identifier: GPL-2.0
/*
 * kunit_chain.c - prld_chain.c: the per-cluster owner cache of the lower
 * layers against a reference model for many depths and sizes,
 * resolution, allocation bookkeeping (where the next cluster goes; commit
 * and the uncommit that rolls it back, with every counter), a snapshot
 * extending the cache, the memory of a sparse map, the layer
 * consistency check, and a layer dropped by an online merge.
 */
#include <kunit/test.h>

#include "kunit_util.h"
#include "prld_validate.h"

struct shape {
	unsigned int layers;
	u32 clusters;
	u32 fmt;
	u32 cs;		/* cluster sectors */
};

/* Cluster sizes that are not powers of two too: QEMU makes them. */
static const struct shape shapes[] = {
	{ 1, 1, PRLD_FMT_V2, 8 }, { 1, 9, PRLD_FMT_V1, 8 },
	{ 2, 8, PRLD_FMT_V2, 8 }, { 3, 37, PRLD_FMT_V2, 8 },
	{ 4, 100, PRLD_FMT_V1, 8 }, { 8, 64, PRLD_FMT_V2, 8 },
	{ 255, 17, PRLD_FMT_V2, 8 }, { 3, 37, PRLD_FMT_V2, 3 },
	{ 2, 20, PRLD_FMT_V1, 3072 }, { 4, 30, PRLD_FMT_V2, 5120 },
	{ 2, 9, PRLD_FMT_V1, 63 },
};

static void shape_desc(const struct shape *s, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE,
		 "%u layers, %u clusters of %u sectors, v%u",
		 s->layers, s->clusters, s->cs, s->fmt);
}

KUNIT_ARRAY_PARAM(shape, shapes, shape_desc);

/* Build the pattern chain; each layer's slots in cluster order. */
static struct prld_chain *kt_pattern_chain(struct kunit *test,
					   const struct shape *s)
{
	struct prld_chain *chain = kt_chain_cs(test, s->layers, s->clusters,
					       s->fmt, s->cs);
	unsigned int i;
	u32 c;

	for (i = 0; i < s->layers; i++) {
		u64 slot = 0;

		for (c = 0; c < s->clusters; c++)
			if (kt_pattern(i, c))
				kt_map(test, chain, i, c, slot++);
	}
	return chain;
}

static void prld_chain_owner_cache(struct kunit *test)
{
	const struct shape *s = test->param_value;
	struct prld_chain *chain = kt_pattern_chain(test, s);
	unsigned int layer, i;
	u64 off, mapped = 0;
	int want, lower;
	u32 c;

	KUNIT_ASSERT_EQ(test, prld_chain_check_layers(chain), 0);
	KUNIT_ASSERT_EQ(test, prld_chain_build(chain), 0);
	KUNIT_EXPECT_EQ(test, chain->clusters, s->clusters);
	KUNIT_EXPECT_EQ(test, chain->cluster_sectors, s->cs);
	KUNIT_EXPECT_EQ(test, chain->cluster_bytes, s->cs * 512ULL);
	for (c = 0; c < s->clusters; c++) {
		want = kt_owner(chain, c, PRLD_MAP_FROM_NONE, s->layers - 1);
		/* The cache names the highest lower layer only. */
		lower = s->layers > 1 ?
			kt_owner(chain, c, PRLD_MAP_FROM_NONE, s->layers - 2) : -1;
		KUNIT_EXPECT_EQ_MSG(test, (int)prld_pages_get8(&chain->owner, c),
				    lower + 1, "cluster %u", c);
		if (want < 0) {
			KUNIT_EXPECT_FALSE(test, prld_chain_resolve(chain, c,
								    &layer, &off));
			continue;
		}
		mapped++;
		KUNIT_EXPECT_TRUE(test, prld_chain_resolve(chain, c, &layer, &off));
		KUNIT_EXPECT_EQ(test, layer, (unsigned int)want);
		KUNIT_EXPECT_EQ(test, off, prld_bat_to_offset(
					&chain->layers[want].geom,
					prld_layer_entry(&chain->layers[want], c)));
	}
	KUNIT_EXPECT_EQ(test, chain->allocated, mapped);
	for (i = 0; i < s->layers; i++)
		KUNIT_EXPECT_EQ(test, prld_layer_count(&chain->layers[i]),
				chain->layers[i].allocated);
	prld_chain_free(chain);
	KUNIT_EXPECT_NULL(test, chain->owner.leaf);
}

/* A discard cleared the top's entry: no layer maps the cluster now. */
static void prld_chain_resolve_cleared_entry(struct kunit *test)
{
	struct prld_chain *chain = kt_chain(test, 2, 4, PRLD_FMT_V2);
	unsigned int layer = 99;
	u64 off = 99;

	kt_map(test, chain, 1, 2, 0);
	KUNIT_ASSERT_EQ(test, prld_chain_build(chain), 0);
	kt_set(test, chain, 1, 2, 0);
	KUNIT_EXPECT_FALSE(test, prld_chain_resolve(chain, 2, &layer, &off));
	KUNIT_EXPECT_EQ(test, layer, 99U);
	KUNIT_EXPECT_EQ(test, off, 99ULL);
	prld_chain_free(chain);
}

/* Where new clusters go: after the highest mapped one, holes ignored. */
struct alloc_case {
	const char *name;
	u32 fmt;
	u64 slots[4];		/* slot + 1 of clusters 0..3; 0: unmapped */
	u64 want_slot;		/* first free slot */
	u32 cs;			/* cluster sectors; 0: KT_CLUSTER_SECTORS */
};

static const struct alloc_case alloc_cases[] = {
	{ "empty v2", PRLD_FMT_V2, { 0 }, 0 },
	{ "empty v1", PRLD_FMT_V1, { 0 }, 0 },
	{ "dense", PRLD_FMT_V2, { 1, 2, 3, 4 }, 4 },
	{ "hole below the highest", PRLD_FMT_V2, { 1, 0, 6, 0 }, 6 },
	{ "highest mapped first", PRLD_FMT_V1, { 9, 1, 2, 0 }, 9 },
	{ "only the last cluster", PRLD_FMT_V2, { 0, 0, 0, 3 }, 3 },
	{ "dense, 1536K clusters", PRLD_FMT_V1, { 1, 2, 3, 4 }, 4, 3072 },
	{ "hole, 2560K clusters", PRLD_FMT_V2, { 1, 0, 6, 0 }, 6, 5120 },
	{ "1.5K clusters", PRLD_FMT_V2, { 2, 0, 0, 7 }, 7, 3 },
};

static void alloc_case_desc(const struct alloc_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(alloc, alloc_cases, alloc_case_desc);

static void prld_chain_alloc_start_case(struct kunit *test)
{
	const struct alloc_case *c = test->param_value;
	struct prld_chain *chain = kt_chain_cs(test, 1, 4, c->fmt,
					       c->cs ?: KT_CLUSTER_SECTORS);
	struct prld_layer *top = &chain->layers[0];
	u32 i;

	for (i = 0; i < 4; i++)
		if (c->slots[i])
			kt_map(test, chain, 0, i, c->slots[i] - 1);
	KUNIT_EXPECT_EQ(test, prld_chain_alloc_start(top),
			prld_slot_to_offset(&top->geom, c->want_slot));
}

/*
 * Allocation in a two-layer chain and its rollback: commit over a
 * cluster the base maps and over an unmapped one, then uncommit both (a
 * discard, or undoing a failed allocation): owners, resolution and every
 * counter return to where they were.
 */
static void prld_chain_commit_rollback(struct kunit *test)
{
	struct prld_chain *chain = kt_chain(test, 2, 4, PRLD_FMT_V2);
	struct prld_layer *base = &chain->layers[0], *top = &chain->layers[1];
	u64 off, got, cl;
	unsigned int layer;

	kt_map(test, chain, 0, 0, 0);
	kt_map(test, chain, 0, 2, 1);
	KUNIT_ASSERT_EQ(test, prld_chain_build(chain), 0);
	cl = chain->cluster_bytes;
	KUNIT_EXPECT_EQ(test, chain->allocated, 2ULL);
	off = prld_chain_alloc_start(top);
	KUNIT_EXPECT_EQ(test, off, prld_data_start(&top->geom));

	/* Over the base's cluster 0: the disk gains nothing, the top one. */
	KUNIT_ASSERT_EQ(test, prld_chain_prepare(chain, 0, GFP_KERNEL), 0);
	KUNIT_EXPECT_FALSE(test, test_bit(0, top->dirty));
	prld_chain_commit(chain, 0, off);
	/* The file's BAT follows at the next writeback: its leaf is dirty. */
	KUNIT_EXPECT_TRUE(test, test_bit(0, top->dirty));
	KUNIT_EXPECT_EQ(test, chain->allocated, 2ULL);
	KUNIT_EXPECT_EQ(test, top->allocated, 1ULL);
	KUNIT_EXPECT_TRUE(test, prld_chain_resolve(chain, 0, &layer, &got));
	KUNIT_EXPECT_EQ(test, layer, 1U);
	KUNIT_EXPECT_EQ(test, got, off);
	KUNIT_EXPECT_EQ(test, prld_chain_alloc_start(top), off + cl);

	/* Unmapped cluster 3. */
	KUNIT_ASSERT_EQ(test, prld_chain_prepare(chain, 3, GFP_KERNEL), 0);
	prld_chain_commit(chain, 3, off + cl);
	KUNIT_EXPECT_EQ(test, chain->allocated, 3ULL);
	KUNIT_EXPECT_EQ(test, top->allocated, 2ULL);
	KUNIT_EXPECT_EQ(test, prld_pages_get8(&chain->owner, 3), 0);
	KUNIT_EXPECT_TRUE(test, prld_chain_resolve(chain, 3, &layer, &got));
	KUNIT_EXPECT_EQ(test, layer, 1U);
	KUNIT_EXPECT_EQ(test, got, off + cl);
	KUNIT_EXPECT_EQ(test, prld_chain_alloc_start(top), off + 2 * cl);

	/* Roll back cluster 0: the base's copy shows again. */
	clear_bit(0, top->dirty);
	prld_chain_uncommit(chain, 0);
	KUNIT_EXPECT_TRUE(test, test_bit(0, top->dirty));
	KUNIT_EXPECT_EQ(test, prld_pages_get8(&chain->owner, 0), 1);
	KUNIT_EXPECT_TRUE(test, prld_chain_resolve(chain, 0, &layer, &got));
	KUNIT_EXPECT_EQ(test, layer, 0U);
	KUNIT_EXPECT_EQ(test, got, prld_slot_to_offset(&base->geom, 0));
	KUNIT_EXPECT_EQ(test, chain->allocated, 3ULL);
	KUNIT_EXPECT_EQ(test, top->allocated, 1ULL);

	/* Roll back cluster 3: unmapped everywhere. */
	prld_chain_uncommit(chain, 3);
	KUNIT_EXPECT_FALSE(test, prld_chain_resolve(chain, 3, &layer, &got));
	KUNIT_EXPECT_EQ(test, chain->allocated, 2ULL);
	KUNIT_EXPECT_EQ(test, top->allocated, 0ULL);
	KUNIT_EXPECT_EQ(test, prld_layer_count(top), 0ULL);
	KUNIT_EXPECT_EQ(test, prld_chain_alloc_start(top),
			prld_data_start(&top->geom));

	/* Twice is a no-op, and so is a cluster only the base maps. */
	prld_chain_uncommit(chain, 3);
	prld_chain_uncommit(chain, 2);
	KUNIT_EXPECT_EQ(test, chain->allocated, 2ULL);
	KUNIT_EXPECT_EQ(test, top->allocated, 0ULL);
	KUNIT_EXPECT_EQ(test, prld_pages_get8(&chain->owner, 2), 1);
	KUNIT_EXPECT_EQ(test, base->allocated, 2ULL);
	prld_chain_free(chain);
}

/* A V1 top stores the new cluster's offset in sectors. */
static void prld_chain_commit_v1(struct kunit *test)
{
	struct prld_chain *chain = kt_chain(test, 1, 2, PRLD_FMT_V1);
	struct prld_layer *top = &chain->layers[0];
	u64 start = prld_data_start(&top->geom);

	KUNIT_ASSERT_EQ(test, prld_chain_build(chain), 0);
	KUNIT_ASSERT_EQ(test, prld_chain_prepare(chain, 1, GFP_KERNEL), 0);
	prld_chain_commit(chain, 1, start);
	KUNIT_EXPECT_EQ(test, chain->allocated, 1ULL);
	KUNIT_EXPECT_EQ(test, prld_layer_entry(top, 1), (u32)(start >> 9));
	KUNIT_EXPECT_EQ(test, prld_layer_count(top), 1ULL);
	prld_chain_free(chain);
}

static void prld_chain_check_layers_mismatch(struct kunit *test)
{
	struct prld_chain *chain = kt_chain(test, 3, 4, PRLD_FMT_V2);

	KUNIT_EXPECT_EQ(test, prld_chain_check_layers(chain), 0);
	/* A V1 layer in a V2 chain is fine: same units of the disk. */
	chain->layers[1].geom.fmt = PRLD_FMT_V1;
	KUNIT_EXPECT_EQ(test, prld_chain_check_layers(chain), 0);
	chain->layers[0].geom.cluster_sectors *= 2;
	KUNIT_EXPECT_EQ(test, prld_chain_check_layers(chain), -EINVAL);
	chain->layers[0].geom.cluster_sectors /= 2;
	/* A lower layer may be smaller (the disk grew since), not larger. */
	chain->layers[1].geom.nb_sectors--;
	KUNIT_EXPECT_EQ(test, prld_chain_check_layers(chain), 0);
	chain->layers[1].geom.nb_sectors += 2;
	KUNIT_EXPECT_EQ(test, prld_chain_check_layers(chain), -EINVAL);
}

/*
 * A base smaller than the top (the disk grew after the snapshot): past
 * the base's end only the top maps; growing the top keeps every mapping
 * and adds unmapped clusters.
 */
static void prld_chain_smaller_base_and_grow(struct kunit *test)
{
	struct prld_chain *chain = kt_chain(test, 2, 8, PRLD_FMT_V2);
	struct prld_layer *base = &chain->layers[0], *top = &chain->layers[1];
	unsigned long *dirty;
	unsigned int layer;
	void **dir;
	u64 off;
	u32 c;

	/* The base describes only the first 4 clusters. */
	base->geom.bat_entries = 4;
	base->geom.nb_sectors = 4 * KT_CLUSTER_SECTORS;
	prld_pages_free(&base->bat);
	KUNIT_ASSERT_EQ(test, prld_pages_init(&base->bat, 4, sizeof(u32)), 0);
	kt_map(test, chain, 0, 1, 0);
	kt_map(test, chain, 0, 3, 1);
	kt_map(test, chain, 1, 3, 0);
	kt_map(test, chain, 1, 6, 1);
	KUNIT_ASSERT_EQ(test, prld_chain_check_layers(chain), 0);
	KUNIT_ASSERT_EQ(test, prld_chain_build(chain), 0);
	KUNIT_EXPECT_EQ(test, chain->clusters, 8U);
	KUNIT_EXPECT_EQ(test, chain->allocated, 3ULL);
	KUNIT_EXPECT_TRUE(test, prld_chain_resolve(chain, 1, &layer, &off));
	KUNIT_EXPECT_EQ(test, layer, 0U);
	KUNIT_EXPECT_TRUE(test, prld_chain_resolve(chain, 6, &layer, &off));
	KUNIT_EXPECT_EQ(test, layer, 1U);
	KUNIT_EXPECT_FALSE(test, prld_chain_resolve(chain, 5, &layer, &off));

	/* Grow the top to 12 clusters: a larger directory, same leaves. */
	dir = prld_pages_dir_alloc(12, sizeof(u32), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dir);
	dirty = bitmap_zalloc(2, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dirty);
	set_bit(0, top->dirty);
	prld_chain_grow(chain, &dir, &dirty, 12);
	kvfree(dir);		/* the old directory and bitmap, swapped out */
	bitmap_free(dirty);
	KUNIT_EXPECT_TRUE(test, test_bit(0, top->dirty));	/* kept */
	top->geom.bat_entries = 12;
	KUNIT_EXPECT_EQ(test, chain->clusters, 12U);
	KUNIT_EXPECT_EQ(test, top->bat.count, 12U);
	for (c = 0; c < 12; c++) {
		int want = kt_owner(chain, c, PRLD_MAP_FROM_NONE, 1);
		bool mapped = prld_chain_resolve(chain, c, &layer, &off);

		KUNIT_EXPECT_EQ_MSG(test, mapped, want >= 0, "cluster %u", c);
		if (mapped)
			KUNIT_EXPECT_EQ_MSG(test, (int)layer, want, "cluster %u", c);
	}
	KUNIT_ASSERT_EQ(test, prld_chain_prepare(chain, 11, GFP_KERNEL), 0);
	prld_chain_commit(chain, 11, prld_chain_alloc_start(top));
	KUNIT_EXPECT_TRUE(test, prld_chain_resolve(chain, 11, &layer, &off));
	KUNIT_EXPECT_EQ(test, layer, 1U);
	KUNIT_EXPECT_EQ(test, chain->allocated, 4ULL);
	prld_chain_free(chain);
}

/*
 * A snapshot: the top (layer 1 of 2) becomes a lower layer under a new
 * empty top.  After reserve + record the owner cache names it wherever it
 * is the highest lower layer, and every cluster resolves as before.
 */
static void prld_chain_owner_push(struct kunit *test)
{
	struct prld_chain *chain = kt_chain(test, 3, 40, PRLD_FMT_V2);
	unsigned int layer, want_layer;
	u64 off, want_off;
	u32 c;

	for (c = 0; c < 40; c++) {
		if (kt_pattern(0, c))
			kt_map(test, chain, 0, c, c);
		if (kt_pattern(1, c))
			kt_map(test, chain, 1, c, c);
	}
	chain->nr_layers = 2;
	KUNIT_ASSERT_EQ(test, prld_chain_build(chain), 0);
	KUNIT_ASSERT_EQ(test, prld_chain_owner_reserve(chain, 1, GFP_KERNEL), 0);
	chain->nr_layers = 3;
	prld_chain_owner_record(chain, 1);
	for (c = 0; c < 40; c++) {
		int want = kt_owner(chain, c, PRLD_MAP_FROM_NONE, 2);

		KUNIT_EXPECT_EQ_MSG(test, (int)prld_pages_get8(&chain->owner, c),
				    want + 1, "cluster %u", c);
		KUNIT_EXPECT_EQ_MSG(test, prld_chain_resolve(chain, c, &layer, &off),
				    want >= 0, "cluster %u", c);
		if (want < 0)
			continue;
		want_layer = want;
		want_off = prld_slot_to_offset(&chain->layers[want].geom, c);
		KUNIT_EXPECT_EQ(test, layer, want_layer);
		KUNIT_EXPECT_EQ(test, off, want_off);
	}
}

/*
 * Memory follows what is mapped: a 2^20-cluster layer mapping one
 * cluster holds its directory and one leaf, and a lookup anywhere else
 * finds zeros without a leaf.
 */
static void prld_chain_sparse_memory(struct kunit *test)
{
	struct prld_chain *chain = kt_chain(test, 1, 1U << 20, PRLD_FMT_V2);
	struct prld_layer *top = &chain->layers[0];
	unsigned int layer;
	u64 off;

	kt_map(test, chain, 0, 777777, 0);
	KUNIT_ASSERT_EQ(test, prld_chain_build(chain), 0);
	KUNIT_EXPECT_EQ(test, prld_pages_bytes(&top->bat),
			(size_t)1024 * sizeof(void *) + PRLD_LEAF_BYTES);
	KUNIT_EXPECT_TRUE(test, prld_chain_resolve(chain, 777777, &layer, &off));
	KUNIT_EXPECT_FALSE(test, prld_chain_resolve(chain, 0, &layer, &off));
	KUNIT_EXPECT_EQ(test, prld_layer_next(top, 0), 777777U);
	KUNIT_EXPECT_EQ(test, prld_layer_next(top, 777778), 1U << 20);
	KUNIT_EXPECT_EQ(test, chain->allocated, 1ULL);
	/* One layer: no owner cache leaves at all. */
	KUNIT_EXPECT_EQ(test, chain->owner.count, 0U);
}

/*
 * The shorter chain an online merge leaves (prld_merge.c): layer @gone's
 * child takes the clusters @gone holds and it lacks, at new slots.
 * @copied marks them.  Layers keep their geometry.
 */
static struct prld_chain *kt_dropped(struct kunit *test,
				     const struct prld_chain *old,
				     const struct shape *s, unsigned int gone,
				     bool *copied)
{
	struct prld_chain *neu = kt_chain_cs(test, s->layers - 1, s->clusters,
					     s->fmt, s->cs);
	const struct prld_layer *g = &old->layers[gone];
	unsigned int j;
	u64 slot = 0;
	u32 c, e;

	for (j = 0; j < neu->nr_layers; j++) {
		const struct prld_layer *src = &old->layers[j < gone ? j : j + 1];

		for (c = 0; c < s->clusters; c++) {
			e = prld_layer_entry(src, c);
			if (e)
				kt_set(test, neu, j, c, e);
			if (e && j == gone)
				slot++;
		}
	}
	for (c = 0; c < s->clusters; c++) {
		copied[c] = prld_layer_entry(g, c) &&
			    !prld_layer_entry(&neu->layers[gone], c);
		if (copied[c])
			kt_map(test, neu, gone, c, slot++);
	}
	return neu;
}

/*
 * Drop a layer: prld_layer_covers() takes the child's new reading, and
 * refuses one that lacks a cluster of the layer or moved one of its own;
 * the owner cache built for the shorter chain resolves every cluster to
 * the same data (the same layer file and place, or the child's copy).
 */
static void prld_chain_drop_layer(struct kunit *test)
{
	const struct shape *s = test->param_value;
	unsigned int k, gone, lo, ln, want;
	struct prld_chain *old, *neu;
	u64 oo, on;
	bool ro, rn, *copied;
	u32 c, bad, e;

	if (s->layers < 2) {
		/* Nothing to drop: the driver refuses before any of this. */
		struct prld_merge req = { .size = sizeof(req) };

		KUNIT_EXPECT_EQ(test, prld_check_merge_layer(&req, false, 1,
							     s->clusters),
				-EINVAL);
		return;
	}
	copied = kunit_kcalloc(test, s->clusters, sizeof(*copied), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, copied);
	/* The base, one in the middle, the top's parent. */
	for (k = 0; k < 3; k++) {
		gone = k == 0 ? 0 : k == 1 ? (s->layers - 2) / 2 : s->layers - 2;
		old = kt_pattern_chain(test, s);
		neu = kt_dropped(test, old, s, gone, copied);
		KUNIT_EXPECT_EQ(test, prld_layer_covers(&neu->layers[gone],
							&old->layers[gone + 1],
							&old->layers[gone], &bad),
				0);
		KUNIT_ASSERT_EQ(test, prld_chain_build(old), 0);
		KUNIT_ASSERT_EQ(test, prld_chain_owner_build(neu), 0);
		prld_chain_recount(neu);
		for (c = 0; c < s->clusters; c++) {
			ro = prld_chain_resolve(old, c, &lo, &oo);
			rn = prld_chain_resolve(neu, c, &ln, &on);
			KUNIT_EXPECT_EQ_MSG(test, ro, rn, "drop %u, cluster %u",
					    gone, c);
			if (!ro || !rn)
				continue;
			want = lo <= gone ? (lo == gone ? gone : lo) : lo - 1;
			KUNIT_EXPECT_EQ_MSG(test, ln, want, "drop %u, cluster %u",
					    gone, c);
			/* Read through the layer: the child's copy now. */
			if (lo == gone)
				KUNIT_EXPECT_TRUE(test, copied[c]);
			else
				KUNIT_EXPECT_EQ(test, on, oo);
		}
		KUNIT_EXPECT_EQ(test, neu->allocated, old->allocated);
		for (c = 0; c < s->clusters && !copied[c]; c++)
			;
		if (c == s->clusters)
			continue;
		/* A child that lacks a cluster of the layer: refused. */
		e = prld_layer_entry(&neu->layers[gone], c);
		kt_set(test, neu, gone, c, 0);
		KUNIT_EXPECT_EQ(test, prld_layer_covers(&neu->layers[gone],
							&old->layers[gone + 1],
							&old->layers[gone], &bad),
				-EINVAL);
		KUNIT_EXPECT_EQ(test, bad, c);
		kt_set(test, neu, gone, c, e);
		/* One whose own cluster moved: refused too. */
		for (c = 0; c < s->clusters &&
		     !prld_layer_entry(&old->layers[gone + 1], c); c++)
			;
		if (c == s->clusters)
			continue;
		e = prld_layer_entry(&neu->layers[gone], c);
		kt_set(test, neu, gone, c, e + 1);
		KUNIT_EXPECT_EQ(test, prld_layer_covers(&neu->layers[gone],
							&old->layers[gone + 1],
							&old->layers[gone], &bad),
				-EINVAL);
		KUNIT_EXPECT_EQ(test, bad, c);
	}
}

static struct kunit_case prld_chain_cases[] = {
	KUNIT_CASE_PARAM(prld_chain_drop_layer, shape_gen_params),
	KUNIT_CASE_PARAM(prld_chain_owner_cache, shape_gen_params),
	KUNIT_CASE(prld_chain_resolve_cleared_entry),
	KUNIT_CASE_PARAM(prld_chain_alloc_start_case, alloc_gen_params),
	KUNIT_CASE(prld_chain_commit_rollback),
	KUNIT_CASE(prld_chain_commit_v1),
	KUNIT_CASE(prld_chain_check_layers_mismatch),
	KUNIT_CASE(prld_chain_smaller_base_and_grow),
	KUNIT_CASE(prld_chain_owner_push),
	KUNIT_CASE(prld_chain_sparse_memory),
	{}
};

static struct kunit_suite prld_chain_suite = {
	.name = "prld_chain",
	.test_cases = prld_chain_cases,
};

kunit_test_suites(&prld_chain_suite);
