// SPDX-License-Identifier: GPL-2.0
/*
 * kunit_map.c - prld_chain_map_bits(), the PRLD_GET_MAP bitmap: bit i set
 * iff a layer in (from, to] maps cluster first_bit + i, LSB first, zero
 * past the disk, nothing written past the buffer.  Checked bit by bit
 * against the reference model on an irregular 4-layer chain whose size
 * (37 clusters) is not a multiple of 8.
 */
#include <kunit/test.h>

#include "kunit_util.h"

#define MAP_LAYERS	4
#define MAP_CLUSTERS	37
#define MAP_CANARY	0xa5

struct map_case {
	u32 from;
	u32 to;
	u64 first_bit;
	u64 nbytes;
};

static const struct map_case map_cases[] = {
	{ PRLD_MAP_FROM_NONE, 3, 0, 5 },	/* whole disk, all layers */
	{ PRLD_MAP_FROM_NONE, 0, 0, 5 },	/* the base alone */
	{ 0, 3, 0, 5 },				/* all deltas */
	{ 1, 2, 8, 2 },				/* one middle layer */
	{ 2, 3, 32, 4 },			/* the tail: bits past 37 */
	{ PRLD_MAP_FROM_NONE, 3, 0, 1 },	/* a short buffer */
	{ PRLD_MAP_FROM_NONE, 3, 16, 64 },	/* a long buffer */
	{ 0, 1, 40, 2 },			/* entirely past the disk */
};

static void map_case_desc(const struct map_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "(%d, %u] from bit %llu, %llu bytes",
		 (int)c->from, c->to, c->first_bit, c->nbytes);
}

KUNIT_ARRAY_PARAM(map, map_cases, map_case_desc);

static void prld_chain_map_bits_case(struct kunit *test)
{
	const struct map_case *c = test->param_value;
	struct prld_chain *chain;
	bool want, got;
	u64 bit, b;
	u8 *buf;
	int owner;
	unsigned int i;
	u32 cl;

	chain = kt_chain(test, MAP_LAYERS, MAP_CLUSTERS, PRLD_FMT_V2);
	for (i = 0; i < MAP_LAYERS; i++) {
		u64 slot = 0;

		for (cl = 0; cl < MAP_CLUSTERS; cl++)
			if (kt_pattern(i, cl))
				kt_map(test, chain, i, cl, slot++);
	}
	KUNIT_ASSERT_EQ(test, prld_chain_build(chain), 0);
	buf = kunit_kzalloc(test, c->nbytes + 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	memset(buf, 0xff, c->nbytes);	/* stale bits must be cleared */
	buf[c->nbytes] = MAP_CANARY;

	prld_chain_map_bits(chain, c->from, c->to, c->first_bit, buf, c->nbytes);
	for (b = 0; b < c->nbytes * 8; b++) {
		bit = c->first_bit + b;
		owner = bit < MAP_CLUSTERS ?
			kt_owner(chain, (u32)bit, c->from, c->to) : -1;
		want = owner >= 0;
		got = buf[b / 8] & (1U << (b % 8));
		KUNIT_EXPECT_EQ_MSG(test, got, want, "cluster %llu", bit);
	}
	KUNIT_EXPECT_EQ(test, buf[c->nbytes], MAP_CANARY);
	prld_chain_free(chain);
}

static struct kunit_case prld_map_cases[] = {
	KUNIT_CASE_PARAM(prld_chain_map_bits_case, map_gen_params),
	{}
};

static struct kunit_suite prld_map_suite = {
	.name = "prld_map",
	.test_cases = prld_map_cases,
};

kunit_test_suites(&prld_map_suite);
