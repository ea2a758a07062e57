// SPDX-License-Identifier: GPL-2.0
/*
 * kunit_chain.c - prld_chain.c: the per-cluster owner cache against a
 * reference model for many depths and sizes, resolution, allocation
 * bookkeeping (where the next cluster goes; commit and the uncommit that
 * rolls it back, with every counter) and the layer consistency check.
 */
#include <kunit/test.h>

#include "kunit_util.h"

struct shape {
	unsigned int layers;
	u32 clusters;
	u32 fmt;
};

static const struct shape shapes[] = {
	{ 1, 1, PRLD_FMT_V2 }, { 1, 9, PRLD_FMT_V1 }, { 2, 8, PRLD_FMT_V2 },
	{ 3, 37, PRLD_FMT_V2 }, { 4, 100, PRLD_FMT_V1 }, { 8, 64, PRLD_FMT_V2 },
	{ 255, 17, PRLD_FMT_V2 },
};

static void shape_desc(const struct shape *s, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%u layers, %u clusters, v%u",
		 s->layers, s->clusters, s->fmt);
}

KUNIT_ARRAY_PARAM(shape, shapes, shape_desc);

/* Build the pattern chain; each layer's slots in cluster order. */
static struct prld_chain *kt_pattern_chain(struct kunit *test,
					   const struct shape *s)
{
	struct prld_chain *chain = kt_chain(test, s->layers, s->clusters, s->fmt);
	unsigned int i;
	u32 c;

	for (i = 0; i < s->layers; i++) {
		u64 slot = 0;

		for (c = 0; c < s->clusters; c++)
			if (kt_pattern(i, c))
				kt_map(chain, i, c, slot++);
	}
	return chain;
}

static void prld_chain_owner_cache(struct kunit *test)
{
	const struct shape *s = test->param_value;
	struct prld_chain *chain = kt_pattern_chain(test, s);
	unsigned int layer, i;
	u64 off, mapped = 0;
	int want;
	u32 c;

	KUNIT_ASSERT_EQ(test, prld_chain_check_layers(chain), 0);
	KUNIT_ASSERT_EQ(test, prld_chain_build(chain), 0);
	KUNIT_EXPECT_EQ(test, chain->clusters, s->clusters);
	KUNIT_EXPECT_EQ(test, chain->cluster_sectors, KT_CLUSTER_SECTORS);
	KUNIT_EXPECT_EQ(test, chain->cluster_bytes, KT_CLUSTER_SECTORS * 512ULL);
	for (c = 0; c < s->clusters; c++) {
		want = kt_owner(chain, c, PRLD_MAP_FROM_NONE, s->layers - 1);
		KUNIT_EXPECT_EQ_MSG(test, (int)chain->owner[c], want + 1,
				    "cluster %u", c);
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
					chain->layers[want].bat[c]));
	}
	KUNIT_EXPECT_EQ(test, chain->allocated, mapped);
	for (i = 0; i < s->layers; i++)
		KUNIT_EXPECT_EQ(test, prld_layer_count(&chain->layers[i]),
				chain->layers[i].allocated);
	prld_chain_free(chain);
	KUNIT_EXPECT_NULL(test, chain->owner);
}

/* A discard cleared the entry but a reader still sees the old owner. */
static void prld_chain_resolve_cleared_entry(struct kunit *test)
{
	struct prld_chain *chain = kt_chain(test, 2, 4, PRLD_FMT_V2);
	unsigned int layer = 99;
	u64 off = 99;

	kt_map(chain, 1, 2, 0);
	KUNIT_ASSERT_EQ(test, prld_chain_build(chain), 0);
	chain->layers[1].bat[2] = 0;
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
};

static const struct alloc_case alloc_cases[] = {
	{ "empty v2", PRLD_FMT_V2, { 0 }, 0 },
	{ "empty v1", PRLD_FMT_V1, { 0 }, 0 },
	{ "dense", PRLD_FMT_V2, { 1, 2, 3, 4 }, 4 },
	{ "hole below the highest", PRLD_FMT_V2, { 1, 0, 6, 0 }, 6 },
	{ "highest mapped first", PRLD_FMT_V1, { 9, 1, 2, 0 }, 9 },
	{ "only the last cluster", PRLD_FMT_V2, { 0, 0, 0, 3 }, 3 },
};

static void alloc_case_desc(const struct alloc_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(alloc, alloc_cases, alloc_case_desc);

static void prld_chain_alloc_start_case(struct kunit *test)
{
	const struct alloc_case *c = test->param_value;
	struct prld_chain *chain = kt_chain(test, 1, 4, c->fmt);
	struct prld_layer *top = &chain->layers[0];
	u32 i;

	for (i = 0; i < 4; i++)
		if (c->slots[i])
			kt_map(chain, 0, i, c->slots[i] - 1);
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

	kt_map(chain, 0, 0, 0);
	kt_map(chain, 0, 2, 1);
	KUNIT_ASSERT_EQ(test, prld_chain_build(chain), 0);
	cl = chain->cluster_bytes;
	KUNIT_EXPECT_EQ(test, chain->allocated, 2ULL);
	off = prld_chain_alloc_start(top);
	KUNIT_EXPECT_EQ(test, off, prld_data_start(&top->geom));

	/* Over the base's cluster 0: the disk gains nothing, the top one. */
	prld_chain_commit(chain, 0, off);
	KUNIT_EXPECT_EQ(test, chain->allocated, 2ULL);
	KUNIT_EXPECT_EQ(test, top->allocated, 1ULL);
	KUNIT_EXPECT_TRUE(test, prld_chain_resolve(chain, 0, &layer, &got));
	KUNIT_EXPECT_EQ(test, layer, 1U);
	KUNIT_EXPECT_EQ(test, got, off);
	KUNIT_EXPECT_EQ(test, prld_chain_alloc_start(top), off + cl);

	/* Unmapped cluster 3. */
	prld_chain_commit(chain, 3, off + cl);
	KUNIT_EXPECT_EQ(test, chain->allocated, 3ULL);
	KUNIT_EXPECT_EQ(test, top->allocated, 2ULL);
	KUNIT_EXPECT_EQ(test, chain->owner[3], 2);
	KUNIT_EXPECT_EQ(test, prld_chain_alloc_start(top), off + 2 * cl);

	/* Roll back cluster 0: the base's copy shows again. */
	prld_chain_uncommit(chain, 0);
	KUNIT_EXPECT_EQ(test, chain->owner[0], 1);
	KUNIT_EXPECT_TRUE(test, prld_chain_resolve(chain, 0, &layer, &got));
	KUNIT_EXPECT_EQ(test, layer, 0U);
	KUNIT_EXPECT_EQ(test, got, prld_slot_to_offset(&base->geom, 0));
	KUNIT_EXPECT_EQ(test, chain->allocated, 3ULL);
	KUNIT_EXPECT_EQ(test, top->allocated, 1ULL);

	/* Roll back cluster 3: unmapped everywhere. */
	prld_chain_uncommit(chain, 3);
	KUNIT_EXPECT_EQ(test, chain->owner[3], 0);
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
	KUNIT_EXPECT_EQ(test, chain->owner[2], 1);
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
	prld_chain_commit(chain, 1, start);
	KUNIT_EXPECT_EQ(test, chain->allocated, 1ULL);
	KUNIT_EXPECT_EQ(test, top->bat[1], (u32)(start >> 9));
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
	unsigned int layer;
	u32 *bat;
	u8 *owner;
	u64 off;
	u32 c;

	/* The base describes only the first 4 clusters. */
	base->geom.bat_entries = 4;
	base->geom.nb_sectors = 4 * KT_CLUSTER_SECTORS;
	kt_map(chain, 0, 1, 0);
	kt_map(chain, 0, 3, 1);
	kt_map(chain, 1, 3, 0);
	kt_map(chain, 1, 6, 1);
	KUNIT_ASSERT_EQ(test, prld_chain_check_layers(chain), 0);
	KUNIT_ASSERT_EQ(test, prld_chain_build(chain), 0);
	KUNIT_EXPECT_EQ(test, chain->clusters, 8U);
	KUNIT_EXPECT_EQ(test, chain->allocated, 3ULL);
	KUNIT_EXPECT_TRUE(test, prld_chain_resolve(chain, 1, &layer, &off));
	KUNIT_EXPECT_EQ(test, layer, 0U);
	KUNIT_EXPECT_TRUE(test, prld_chain_resolve(chain, 6, &layer, &off));
	KUNIT_EXPECT_EQ(test, layer, 1U);
	KUNIT_EXPECT_FALSE(test, prld_chain_resolve(chain, 5, &layer, &off));

	/* Grow the top to 12 clusters. */
	bat = kunit_kcalloc(test, 12, sizeof(*bat), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, bat);
	owner = kvzalloc(12, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, owner);
	prld_chain_grow(chain, &bat, &owner, 12);
	kvfree(owner);		/* the old cache, swapped out */
	top->geom.bat_entries = 12;
	KUNIT_EXPECT_EQ(test, chain->clusters, 12U);
	for (c = 0; c < 12; c++) {
		int want = kt_owner(chain, c, PRLD_MAP_FROM_NONE, 1);

		KUNIT_EXPECT_EQ_MSG(test, (int)chain->owner[c], want + 1,
				    "cluster %u", c);
	}
	prld_chain_commit(chain, 11, prld_chain_alloc_start(top));
	KUNIT_EXPECT_TRUE(test, prld_chain_resolve(chain, 11, &layer, &off));
	KUNIT_EXPECT_EQ(test, layer, 1U);
	KUNIT_EXPECT_EQ(test, chain->allocated, 4ULL);
	prld_chain_free(chain);
}

static struct kunit_case prld_chain_cases[] = {
	KUNIT_CASE_PARAM(prld_chain_owner_cache, shape_gen_params),
	KUNIT_CASE(prld_chain_resolve_cleared_entry),
	KUNIT_CASE_PARAM(prld_chain_alloc_start_case, alloc_gen_params),
	KUNIT_CASE(prld_chain_commit_rollback),
	KUNIT_CASE(prld_chain_commit_v1),
	KUNIT_CASE(prld_chain_check_layers_mismatch),
	KUNIT_CASE(prld_chain_smaller_base_and_grow),
	{}
};

static struct kunit_suite prld_chain_suite = {
	.name = "prld_chain",
	.test_cases = prld_chain_cases,
};

kunit_test_suites(&prld_chain_suite);
