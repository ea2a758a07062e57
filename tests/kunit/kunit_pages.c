// SPDX-License-Identifier: GPL-2.0
/*
 * kunit_pages.c - prld_pages.c, the sparse leaf arrays the map lives in:
 * zeros without leaves, a leaf on first use, bounds, walking the leaves
 * that exist, growing the directory, and what it all costs, for both
 * element sizes the driver uses (u32 BAT entries, u8 owners) and sizes
 * around the leaf boundaries.
 */
#include <kunit/test.h>

#include "kunit_util.h"

struct pages_case {
	u32 count;
	unsigned int elem;	/* bytes per element: 4 or 1 */
};

static const struct pages_case pages_cases[] = {
	{ 1, 4 }, { 1023, 4 }, { 1024, 4 }, { 1025, 4 }, { 5000, 4 },
	{ 1, 1 }, { 4095, 1 }, { 4096, 1 }, { 4097, 1 }, { 20000, 1 },
};

static void pages_case_desc(const struct pages_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%u elements of %u bytes",
		 c->count, c->elem);
}

KUNIT_ARRAY_PARAM(pages, pages_cases, pages_case_desc);

static u32 kt_get(const struct prld_pages *p, unsigned int elem, u32 i)
{
	return elem == 4 ? prld_pages_get32(p, i) : prld_pages_get8(p, i);
}

static void kt_put(struct prld_pages *p, unsigned int elem, u32 i, u32 v)
{
	if (elem == 4)
		prld_pages_set32(p, i, v);
	else
		prld_pages_set8(p, i, (u8)v);
}

static int kt_pages_res_init(struct kunit_resource *res, void *p)
{
	res->data = p;
	return 0;
}

static void kt_pages_res_free(struct kunit_resource *res)
{
	prld_pages_free(res->data);
}

static struct prld_pages *kt_pages(struct kunit *test, u32 count,
				   unsigned int elem)
{
	struct prld_pages *p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, p);
	KUNIT_ASSERT_EQ(test, prld_pages_init(p, count, elem), 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test,
		kunit_alloc_resource(test, kt_pages_res_init, kt_pages_res_free,
				     GFP_KERNEL, p));
	return p;
}

/* Set the first, the last and every 777th element; read all back. */
static void prld_pages_roundtrip(struct kunit *test)
{
	const struct pages_case *c = test->param_value;
	struct prld_pages *p = kt_pages(test, c->count, c->elem);
	u32 per_leaf = PRLD_LEAF_BYTES / c->elem, i, want, leaves;

	KUNIT_EXPECT_EQ(test, p->nr_leaves, DIV_ROUND_UP(c->count, per_leaf));
	KUNIT_EXPECT_EQ(test, prld_pages_next_leaf(p, 0), c->count);
	for (i = 0; i < c->count; i++)
		KUNIT_EXPECT_EQ(test, kt_get(p, c->elem, i), 0U);
	for (i = 0; i < c->count; i++) {
		if (i && i != c->count - 1 && i % 777)
			continue;
		KUNIT_ASSERT_EQ(test, prld_pages_prepare(p, i, GFP_KERNEL), 0);
		kt_put(p, c->elem, i, (i % 250) + 1);
	}
	leaves = 0;
	for (i = 0; i < p->nr_leaves; i++)
		leaves += p->leaf[i] != NULL;
	KUNIT_EXPECT_EQ(test, prld_pages_bytes(p),
			(size_t)max(p->nr_leaves, 1U) * sizeof(void *) +
			leaves * PRLD_LEAF_BYTES);
	for (i = 0; i < c->count; i++) {
		want = (!i || i == c->count - 1 || !(i % 777)) ? (i % 250) + 1 : 0;
		KUNIT_EXPECT_EQ_MSG(test, kt_get(p, c->elem, i), want,
				    "element %u", i);
	}
	/* Past the end: zeros, and no leaf may be made there. */
	KUNIT_EXPECT_EQ(test, kt_get(p, c->elem, c->count), 0U);
	KUNIT_EXPECT_EQ(test, prld_pages_prepare(p, c->count, GFP_KERNEL),
			-EINVAL);
}

/* next_leaf skips absent leaves and never goes back before @idx. */
static void prld_pages_walk(struct kunit *test)
{
	struct prld_pages *p = kt_pages(test, 10 * 1024, sizeof(u32));

	KUNIT_ASSERT_EQ(test, prld_pages_prepare(p, 3 * 1024 + 5, GFP_KERNEL), 0);
	KUNIT_ASSERT_EQ(test, prld_pages_prepare(p, 9 * 1024, GFP_KERNEL), 0);
	KUNIT_EXPECT_EQ(test, prld_pages_next_leaf(p, 0), 3U * 1024);
	KUNIT_EXPECT_EQ(test, prld_pages_next_leaf(p, 3 * 1024 + 7),
			3U * 1024 + 7);
	KUNIT_EXPECT_EQ(test, prld_pages_next_leaf(p, 4 * 1024), 9U * 1024);
	KUNIT_EXPECT_EQ(test, prld_pages_next_leaf(p, 10 * 1024 - 1),
			10U * 1024 - 1);
	KUNIT_EXPECT_EQ(test, prld_pages_next_leaf(p, 10 * 1024), 10U * 1024);
	/* Preparing twice keeps the leaf and what it holds. */
	prld_pages_set32(p, 9 * 1024 + 1, 42);
	KUNIT_ASSERT_EQ(test, prld_pages_prepare(p, 9 * 1024 + 1, GFP_KERNEL), 0);
	KUNIT_EXPECT_EQ(test, prld_pages_get32(p, 9 * 1024 + 1), 42U);
	/* Setting zero where no leaf is: a no-op, not a crash. */
	prld_pages_set32(p, 0, 0);
	KUNIT_EXPECT_NULL(test, p->leaf[0]);
}

/* A larger directory keeps every leaf; the new range reads as zeros. */
static void prld_pages_grow(struct kunit *test)
{
	struct prld_pages *p = kt_pages(test, 1500, sizeof(u32));
	void **dir;
	u32 i;

	KUNIT_ASSERT_EQ(test, prld_pages_prepare(p, 1499, GFP_KERNEL), 0);
	prld_pages_set32(p, 1499, 7);
	dir = prld_pages_dir_alloc(8000, sizeof(u32), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dir);
	prld_pages_adopt_dir(p, &dir, 8000);
	kvfree(dir);
	KUNIT_EXPECT_EQ(test, p->count, 8000U);
	KUNIT_EXPECT_EQ(test, p->nr_leaves, 8U);
	KUNIT_EXPECT_EQ(test, prld_pages_get32(p, 1499), 7U);
	for (i = 1500; i < 8000; i++)
		KUNIT_EXPECT_EQ(test, prld_pages_get32(p, i), 0U);
	KUNIT_ASSERT_EQ(test, prld_pages_prepare(p, 7999, GFP_KERNEL), 0);
	prld_pages_set32(p, 7999, 9);
	KUNIT_EXPECT_EQ(test, prld_pages_get32(p, 7999), 9U);
	KUNIT_EXPECT_EQ(test, prld_pages_next_leaf(p, 1500), 1500U);
	KUNIT_EXPECT_EQ(test, prld_pages_next_leaf(p, 2048), 7U * 1024);
}

/* An empty array still has a directory, and freeing it is idempotent. */
static void prld_pages_empty(struct kunit *test)
{
	struct prld_pages *p = kt_pages(test, 0, sizeof(u8));

	KUNIT_EXPECT_NOT_NULL(test, p->leaf);
	KUNIT_EXPECT_EQ(test, p->nr_leaves, 0U);
	KUNIT_EXPECT_EQ(test, prld_pages_get8(p, 0), 0);
	KUNIT_EXPECT_EQ(test, prld_pages_next_leaf(p, 0), 0U);
	KUNIT_EXPECT_EQ(test, prld_pages_prepare(p, 0, GFP_KERNEL), -EINVAL);
	prld_pages_free(p);
	prld_pages_free(p);
	KUNIT_EXPECT_NULL(test, p->leaf);
}

static struct kunit_case prld_pages_cases[] = {
	KUNIT_CASE_PARAM(prld_pages_roundtrip, pages_gen_params),
	KUNIT_CASE(prld_pages_walk),
	KUNIT_CASE(prld_pages_grow),
	KUNIT_CASE(prld_pages_empty),
	{}
};

static struct kunit_suite prld_pages_suite = {
	.name = "prld_pages",
	.test_cases = prld_pages_cases,
};

kunit_test_suites(&prld_pages_suite);
