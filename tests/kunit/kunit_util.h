/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kunit_util.h - in-memory chains for the chain and map suites: layers
 * with a geometry from prld_layout() and empty BATs, freed by KUnit.
 */
#ifndef PRLD_KUNIT_UTIL_H
#define PRLD_KUNIT_UTIL_H

#include <kunit/test.h>

#include "prld.h"

#define KT_CLUSTER_SECTORS	8	/* 4 KiB clusters */

static inline int kt_chain_res_init(struct kunit_resource *res, void *chain)
{
	res->data = chain;
	return 0;
}

/* When the test ends, however it ends: every layer's BAT and the cache. */
static inline void kt_chain_res_free(struct kunit_resource *res)
{
	struct prld_chain *chain = res->data;
	unsigned int i;

	for (i = 0; i < chain->nr_layers; i++) {
		prld_pages_free(&chain->layers[i].bat);
		bitmap_free(chain->layers[i].dirty);
	}
	prld_chain_free(chain);
}

/*
 * @nr_layers layers of @clusters clusters of @cs sectors each; any
 * multiple of 512 bytes is a valid cluster, powers of two or not.
 */
static inline struct prld_chain *kt_chain_cs(struct kunit *test,
					     unsigned int nr_layers,
					     u32 clusters, u32 fmt, u32 cs)
{
	struct prld_chain *chain;
	struct prld_fault f;
	unsigned int i;

	chain = kunit_kzalloc(test, sizeof(*chain), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, chain);
	chain->layers = kunit_kcalloc(test, nr_layers, sizeof(*chain->layers),
				      GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, chain->layers);
	chain->nr_layers = nr_layers;
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test,
		kunit_alloc_resource(test, kt_chain_res_init, kt_chain_res_free,
				     GFP_KERNEL, chain));
	for (i = 0; i < nr_layers; i++) {
		struct prld_layer *l = &chain->layers[i];

		KUNIT_ASSERT_EQ(test, prld_layout(&l->geom, fmt,
						  (u64)clusters * cs, cs, &f),
				PRLD_OK);
		KUNIT_ASSERT_EQ(test, prld_pages_init(&l->bat, clusters,
						      sizeof(u32)), 0);
		l->writable = i == nr_layers - 1;
		if (l->writable) {
			l->dirty = bitmap_zalloc(l->bat.nr_leaves + 1, GFP_KERNEL);
			KUNIT_ASSERT_NOT_ERR_OR_NULL(test, l->dirty);
		}
	}
	return chain;
}

static inline struct prld_chain *kt_chain(struct kunit *test,
					  unsigned int nr_layers, u32 clusters,
					  u32 fmt)
{
	return kt_chain_cs(test, nr_layers, clusters, fmt, KT_CLUSTER_SECTORS);
}

/* Layer @i's raw entry for @cluster becomes @entry (0: unmapped). */
static inline void kt_set(struct kunit *test, struct prld_chain *chain,
			  unsigned int i, u32 cluster, u32 entry)
{
	struct prld_layer *l = &chain->layers[i];

	KUNIT_ASSERT_EQ(test, prld_pages_prepare(&l->bat, cluster, GFP_KERNEL),
			0);
	prld_pages_set32(&l->bat, cluster, entry);
}

/* Layer @i maps @cluster to data slot @slot of its file. */
static inline void kt_map(struct kunit *test, struct prld_chain *chain,
			  unsigned int i, u32 cluster, u64 slot)
{
	struct prld_layer *l = &chain->layers[i];

	kt_set(test, chain, i, cluster,
	       prld_offset_to_bat(&l->geom, prld_slot_to_offset(&l->geom, slot)));
	l->allocated++;
}

/*
 * Reference model: the highest layer in (from, to] mapping @cluster; a
 * layer smaller than the disk maps nothing past its end.
 */
static inline int kt_owner(const struct prld_chain *chain, u32 cluster,
			   u32 from, u32 to)
{
	int i, lo = from == PRLD_MAP_FROM_NONE ? 0 : (int)from + 1;

	for (i = to; i >= lo; i--)
		if (cluster < chain->layers[i].geom.bat_entries &&
		    prld_layer_entry(&chain->layers[i], cluster))
			return i;
	return -1;
}

/* A fixed irregular pattern: does layer @i map cluster @c? */
static inline bool kt_pattern(unsigned int i, u32 c)
{
	return (c * 7 + i * 3) % (i + 2) == 0 || (c ^ (i * 5)) % 11 == 3;
}

#endif /* PRLD_KUNIT_UTIL_H */
