// SPDX-License-Identifier: GPL-2.0
/*
 * kunit_validate.c - prld_validate.c: each rule of each ioctl argument
 * structure, one field changed from a valid argument per case, on both
 * sides of every bound.
 */
#include <kunit/test.h>

#include "prld_validate.h"

struct arg_case {
	const char *name;
	void (*mutate)(void *arg);
	int want;
};

static void arg_case_desc(const struct arg_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

/*
 * One mutation function per case, generated: NAME sets FIELD of the
 * structure TYPE to VALUE.
 */
#define MUT(type, name, field, value)					\
	static void name(void *p) { ((struct type *)p)->field = (value); }

/* --- struct prld_config --- */
MUT(prld_config, cfg_none, flags, 0)
MUT(prld_config, cfg_size_less, size, sizeof(struct prld_config) - 1)
MUT(prld_config, cfg_size_more, size, sizeof(struct prld_config) + 8)
MUT(prld_config, cfg_size_zero, size, 0)
MUT(prld_config, cfg_flags_all, flags,
    PRLD_CONFIG_FLAGS_ALL & ~(PRLD_CONFIG_PLAIN_BASE | PRLD_CONFIG_SPLIT))
MUT(prld_config, cfg_plain_no_size, flags, PRLD_CONFIG_PLAIN_BASE)
MUT(prld_config, cfg_size_no_plain, plain_sectors, 2048)

/* A plain base with a size: both fields together. */
static void cfg_plain(void *p)
{
	struct prld_config *cfg = p;

	cfg->flags = PRLD_CONFIG_PLAIN_BASE;
	cfg->plain_sectors = 41984;
}

static void cfg_plain_huge(void *p)
{
	cfg_plain(p);
	((struct prld_config *)p)->plain_sectors = PRLD_MAX_PLAIN_SECTORS + 1;
}
MUT(prld_config, cfg_flag_ro, flags, PRLD_CONFIG_READ_ONLY)
MUT(prld_config, cfg_flag_next, flags, PRLD_CONFIG_FLAGS_ALL + 1)
MUT(prld_config, cfg_flag_top, flags, 1U << 31)
MUT(prld_config, cfg_pad, pad, 1)
MUT(prld_config, cfg_res0, reserved[0], 1)
MUT(prld_config, cfg_res0b, reserved[0], 1ULL << 63)
MUT(prld_config, cfg_pad2, pad2, 1)
MUT(prld_config, cfg_parts_no_split, nr_parts, 2)
MUT(prld_config, cfg_ptr_no_split, part_layers, 0x1000)
MUT(prld_config, cfg_layers_256, nr_layers, PRLD_MAX_LAYERS + 1)

/* A split disk of @parts parts and @layers layers in all. */
static void cfg_split_set(struct prld_config *cfg, u32 parts, u32 layers)
{
	cfg->flags = PRLD_CONFIG_SPLIT;
	cfg->nr_parts = parts;
	cfg->nr_layers = layers;
	cfg->part_layers = 0x1000;	/* read later, not here */
}

static void cfg_split(void *p) { cfg_split_set(p, 6, 6); }
static void cfg_split_max(void *p) { cfg_split_set(p, PRLD_MAX_PARTS, PRLD_MAX_FDS); }
static void cfg_split_one(void *p) { cfg_split_set(p, 1, 1); }
static void cfg_split_parts_over(void *p) { cfg_split_set(p, PRLD_MAX_PARTS + 1, PRLD_MAX_FDS); }
static void cfg_split_fds_over(void *p) { cfg_split_set(p, 6, PRLD_MAX_FDS + 1); }
static void cfg_split_few_layers(void *p) { cfg_split_set(p, 6, 5); }

static void cfg_split_plain(void *p)
{
	cfg_split_set(p, 2, 2);
	((struct prld_config *)p)->flags |= PRLD_CONFIG_PLAIN_BASE;
	((struct prld_config *)p)->plain_sectors = 8;
}
MUT(prld_config, cfg_layers0, nr_layers, 0)
MUT(prld_config, cfg_layers_max, nr_layers, PRLD_MAX_LAYERS)
MUT(prld_config, cfg_layers_over, nr_layers, PRLD_MAX_LAYERS + 1)
MUT(prld_config, cfg_layers_huge, nr_layers, 0xffffffff)
MUT(prld_config, cfg_off_sector, offset, 512)
MUT(prld_config, cfg_off_one, offset, 1)
MUT(prld_config, cfg_off_511, offset, 511)
MUT(prld_config, cfg_off_513, offset, 513)
MUT(prld_config, cfg_off_max, offset, U64_MAX & ~511ULL)
MUT(prld_config, cfg_fds_any, fds, U64_MAX)

static const struct arg_case cfg_cases[] = {
	{ "valid", cfg_none, 0 },
	{ "size - 1", cfg_size_less, -EINVAL },
	{ "size + 8", cfg_size_more, -EINVAL },
	{ "size 0", cfg_size_zero, -EINVAL },
	{ "all known flags but a plain base and split", cfg_flags_all, 0 },
	{ "plain base of 41984 sectors", cfg_plain, 0 },
	{ "plain base without a size", cfg_plain_no_size, -EINVAL },
	{ "a size without a plain base", cfg_size_no_plain, -EINVAL },
	{ "plain base past the limit", cfg_plain_huge, -EINVAL },
	{ "read-only", cfg_flag_ro, 0 },
	{ "first unknown flag", cfg_flag_next, -EINVAL },
	{ "top flag", cfg_flag_top, -EINVAL },
	{ "pad", cfg_pad, -EINVAL },
	{ "reserved[0]", cfg_res0, -EINVAL },
	{ "reserved[0] top bit", cfg_res0b, -EINVAL },
	{ "pad2", cfg_pad2, -EINVAL },
	{ "parts without SPLIT", cfg_parts_no_split, -EINVAL },
	{ "part_layers without SPLIT", cfg_ptr_no_split, -EINVAL },
	{ "256 layers, not split", cfg_layers_256, -EINVAL },
	{ "split, 6 parts", cfg_split, 0 },
	{ "split, the most parts and layers", cfg_split_max, 0 },
	{ "split of one part", cfg_split_one, -EINVAL },
	{ "split, too many parts", cfg_split_parts_over, -EINVAL },
	{ "split, too many layers", cfg_split_fds_over, -EINVAL },
	{ "split, fewer layers than parts", cfg_split_few_layers, -EINVAL },
	{ "split with a plain base", cfg_split_plain, -EINVAL },
	{ "0 layers", cfg_layers0, -EINVAL },
	{ "max layers", cfg_layers_max, 0 },
	{ "max layers + 1", cfg_layers_over, -EINVAL },
	{ "2^32 - 1 layers", cfg_layers_huge, -EINVAL },
	{ "offset 512", cfg_off_sector, 0 },
	{ "offset 1", cfg_off_one, -EINVAL },
	{ "offset 511", cfg_off_511, -EINVAL },
	{ "offset 513", cfg_off_513, -EINVAL },
	{ "offset max sector", cfg_off_max, 0 },
	{ "fds not checked here", cfg_fds_any, 0 },
};

KUNIT_ARRAY_PARAM(cfg, cfg_cases, arg_case_desc);

static void prld_check_config_case(struct kunit *test)
{
	const struct arg_case *c = test->param_value;
	struct prld_config cfg = {
		.size = sizeof(cfg), .nr_layers = 1,
	};

	c->mutate(&cfg);
	KUNIT_EXPECT_EQ(test, prld_check_config(&cfg), c->want);
}

/* --- struct prld_layer_status (in: size and layer only) --- */
MUT(prld_layer_status, ls_none, layer, 0)
MUT(prld_layer_status, ls_layer_any, layer, 0xffffffff)
MUT(prld_layer_status, ls_size, size, sizeof(struct prld_layer_status) - 1)
MUT(prld_layer_status, ls_flags, flags, PRLD_LAYER_WRITABLE)
MUT(prld_layer_status, ls_pad, pad, 1)
MUT(prld_layer_status, ls_alloc, allocated, 1)
MUT(prld_layer_status, ls_fsize, file_size, 1)
MUT(prld_layer_status, ls_res1, reserved[1], 1)
MUT(prld_layer_status, ls_part, part, 1)
MUT(prld_layer_status, ls_pad2, pad2, 1)
MUT(prld_layer_status, ls_part_start, part_start, 1)
MUT(prld_layer_status, ls_path, path[0], '/')

static const struct arg_case ls_cases[] = {
	{ "valid", ls_none, 0 },
	{ "layer range checked later", ls_layer_any, 0 },
	{ "size - 1", ls_size, -EINVAL },
	{ "flags", ls_flags, -EINVAL },
	{ "pad", ls_pad, -EINVAL },
	{ "allocated", ls_alloc, -EINVAL },
	{ "file_size", ls_fsize, -EINVAL },
	{ "reserved[1]", ls_res1, -EINVAL },
	{ "part is output", ls_part, -EINVAL },
	{ "pad2", ls_pad2, -EINVAL },
	{ "part_start is output", ls_part_start, -EINVAL },
	{ "path is output only", ls_path, 0 },
};

KUNIT_ARRAY_PARAM(ls, ls_cases, arg_case_desc);

static void prld_check_layer_case(struct kunit *test)
{
	const struct arg_case *c = test->param_value;
	struct prld_layer_status *ls;

	ls = kunit_kzalloc(test, sizeof(*ls), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ls);
	ls->size = sizeof(*ls);
	c->mutate(ls);
	KUNIT_EXPECT_EQ(test, prld_check_layer_request(ls), c->want);
}

/* --- struct prld_map_request --- */
MUT(prld_map_request, mr_none, pad, 0)
MUT(prld_map_request, mr_size, size, sizeof(struct prld_map_request) + 1)
MUT(prld_map_request, mr_pad, pad, 1)
MUT(prld_map_request, mr_gran, granularity, 4096)
MUT(prld_map_request, mr_nbits, nbits, 1)
MUT(prld_map_request, mr_res2, reserved[2], 1)
MUT(prld_map_request, mr_first8, first_bit, 8)
MUT(prld_map_request, mr_first7, first_bit, 7)
MUT(prld_map_request, mr_first9, first_bit, 9)
MUT(prld_map_request, mr_first_huge, first_bit, U64_MAX & ~7ULL)
MUT(prld_map_request, mr_buf0, buf_bytes, 0)
MUT(prld_map_request, mr_buf1, buf_bytes, 1)
MUT(prld_map_request, mr_buf_max, buf_bytes, PRLD_MAP_MAX_BYTES)
MUT(prld_map_request, mr_buf_over, buf_bytes, PRLD_MAP_MAX_BYTES + 1)
MUT(prld_map_request, mr_buf_huge, buf_bytes, U64_MAX)

static const struct arg_case mr_cases[] = {
	{ "valid", mr_none, 0 },
	{ "size + 1", mr_size, -EINVAL },
	{ "pad", mr_pad, -EINVAL },
	{ "granularity is output", mr_gran, -EINVAL },
	{ "nbits is output", mr_nbits, -EINVAL },
	{ "reserved[2]", mr_res2, -EINVAL },
	{ "first_bit 8", mr_first8, 0 },
	{ "first_bit 7", mr_first7, -EINVAL },
	{ "first_bit 9", mr_first9, -EINVAL },
	{ "first_bit huge, range checked later", mr_first_huge, 0 },
	{ "buf_bytes 0", mr_buf0, -EINVAL },
	{ "buf_bytes 1", mr_buf1, 0 },
	{ "buf_bytes max", mr_buf_max, 0 },
	{ "buf_bytes max + 1", mr_buf_over, -EINVAL },
	{ "buf_bytes 2^64 - 1", mr_buf_huge, -EINVAL },
};

KUNIT_ARRAY_PARAM(mr, mr_cases, arg_case_desc);

static void prld_check_map_request_case(struct kunit *test)
{
	const struct arg_case *c = test->param_value;
	struct prld_map_request req = {
		.size = sizeof(req), .to_layer = 0, .buf_bytes = 64,
	};

	c->mutate(&req);
	KUNIT_EXPECT_EQ(test, prld_check_map_request(&req), c->want);
}

/* --- the map's layer range, against a 3-layer chain of 100 clusters --- */
struct range_case {
	const char *name;
	u32 from;
	u32 to;
	u64 first_bit;
	int want;
};

static const struct range_case range_cases[] = {
	{ "all layers", PRLD_MAP_FROM_NONE, 2, 0, 0 },
	{ "base only", PRLD_MAP_FROM_NONE, 0, 0, 0 },
	{ "to past the top", PRLD_MAP_FROM_NONE, 3, 0, -EINVAL },
	{ "to max", PRLD_MAP_FROM_NONE, 0xfffffffe, 0, -EINVAL },
	{ "one layer", 1, 2, 0, 0 },
	{ "from == to", 2, 2, 0, -EINVAL },
	{ "from > to", 2, 1, 0, -EINVAL },
	{ "from 0 to 0", 0, 0, 0, -EINVAL },
	{ "first_bit at the end", PRLD_MAP_FROM_NONE, 2, 100, 0 },
	{ "first_bit past the end", PRLD_MAP_FROM_NONE, 2, 101, -EINVAL },
};

static void range_case_desc(const struct range_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(range, range_cases, range_case_desc);

static void prld_check_map_range_case(struct kunit *test)
{
	const struct range_case *c = test->param_value;
	struct prld_map_request req = {
		.size = sizeof(req), .from_layer = c->from, .to_layer = c->to,
		.first_bit = c->first_bit, .buf_bytes = 8,
	};

	KUNIT_EXPECT_EQ(test, prld_check_map_range(&req, 3, 100), c->want);
}

/* --- struct prld_push_top --- */
MUT(prld_push_top, pt_none, fd, 3)
MUT(prld_push_top, pt_fd_neg, fd, -1)
MUT(prld_push_top, pt_size, size, 0)
MUT(prld_push_top, pt_flags, flags, 1)
MUT(prld_push_top, pt_pad, pad, 1)
MUT(prld_push_top, pt_res0, reserved[0], 1)
MUT(prld_push_top, pt_res3, reserved[3], 1)

static const struct arg_case pt_cases[] = {
	{ "valid", pt_none, 0 },
	{ "fd checked later", pt_fd_neg, 0 },
	{ "size 0", pt_size, -EINVAL },
	{ "flags", pt_flags, -EINVAL },
	{ "pad", pt_pad, -EINVAL },
	{ "reserved[0]", pt_res0, -EINVAL },
	{ "reserved[3]", pt_res3, -EINVAL },
};

KUNIT_ARRAY_PARAM(pt, pt_cases, arg_case_desc);

static void prld_check_push_case(struct kunit *test)
{
	const struct arg_case *c = test->param_value;
	struct prld_push_top req = { .size = sizeof(req) };

	c->mutate(&req);
	KUNIT_EXPECT_EQ(test, prld_check_push(&req), c->want);
}

MUT(prld_revert, rv_none, nr_layers, 2)
MUT(prld_revert, rv_max, nr_layers, PRLD_MAX_LAYERS)
MUT(prld_revert, rv_zero_layers, nr_layers, 0)
MUT(prld_revert, rv_too_many, nr_layers, PRLD_MAX_LAYERS + 1)
MUT(prld_revert, rv_size, size, 8)
MUT(prld_revert, rv_flags, flags, 2)
MUT(prld_revert, rv_pad, pad, 1)
MUT(prld_revert, rv_res2, reserved[2], 1)
MUT(prld_revert, rv_plain_no_size, flags, PRLD_REVERT_PLAIN_BASE)
MUT(prld_revert, rv_size_no_plain, plain_sectors, 8)

static void rv_plain(void *p)
{
	struct prld_revert *req = p;

	req->flags = PRLD_REVERT_PLAIN_BASE;
	req->plain_sectors = 8;
}

static const struct arg_case rv_cases[] = {
	{ "valid", rv_none, 0 },
	{ "255 layers", rv_max, 0 },
	{ "no layer", rv_zero_layers, -EINVAL },
	{ "256 layers", rv_too_many, -EINVAL },
	{ "size 8", rv_size, -EINVAL },
	{ "unknown flag", rv_flags, -EINVAL },
	{ "pad", rv_pad, -EINVAL },
	{ "reserved[2]", rv_res2, -EINVAL },
	{ "plain base", rv_plain, 0 },
	{ "plain base without a size", rv_plain_no_size, -EINVAL },
	{ "a size without a plain base", rv_size_no_plain, -EINVAL },
};

KUNIT_ARRAY_PARAM(rv, rv_cases, arg_case_desc);

static void prld_check_revert_case(struct kunit *test)
{
	const struct arg_case *c = test->param_value;
	struct prld_revert req = { .size = sizeof(req), .nr_layers = 1 };

	c->mutate(&req);
	KUNIT_EXPECT_EQ(test, prld_check_revert(&req), c->want);
}

MUT(prld_resize, rs_none, new_sectors, 1ULL << 40)
MUT(prld_resize, rs_zero, new_sectors, 0)
MUT(prld_resize, rs_size, size, 0)
MUT(prld_resize, rs_flags, flags, 2)
MUT(prld_resize, rs_res0, reserved[0], 1)

static const struct arg_case rs_cases[] = {
	{ "valid", rs_none, 0 },
	{ "zero sectors", rs_zero, -EINVAL },
	{ "size 0", rs_size, -EINVAL },
	{ "flags", rs_flags, -EINVAL },
	{ "reserved[0]", rs_res0, -EINVAL },
};

KUNIT_ARRAY_PARAM(rs, rs_cases, arg_case_desc);

static void prld_check_resize_case(struct kunit *test)
{
	const struct arg_case *c = test->param_value;
	struct prld_resize req = { .size = sizeof(req), .new_sectors = 8 };

	c->mutate(&req);
	KUNIT_EXPECT_EQ(test, prld_check_resize(&req), c->want);
}

/* --- struct prld_merge (PRLD_MERGE_COPY; DROP below) --- */
MUT(prld_merge, mg_none, layer, 3)
MUT(prld_merge, mg_fd_neg, fd, -1)
MUT(prld_merge, mg_size, size, sizeof(struct prld_merge) - 8)
MUT(prld_merge, mg_flags, flags, 1)
MUT(prld_merge, mg_copied, copied, 1)
MUT(prld_merge, mg_res0, reserved[0], 1)
MUT(prld_merge, mg_res3, reserved[3], 1ULL << 63)
MUT(prld_merge, mg_count0, count, 0)
MUT(prld_merge, mg_count_max, count, PRLD_MERGE_MAX_COUNT)
MUT(prld_merge, mg_count_over, count, PRLD_MERGE_MAX_COUNT + 1)
MUT(prld_merge, mg_first_huge, first, U64_MAX)

static const struct arg_case mg_cases[] = {
	{ "valid", mg_none, 0 },
	{ "a negative fd (the ioctl's fget says)", mg_fd_neg, 0 },
	{ "size", mg_size, -EINVAL },
	{ "flags", mg_flags, -EINVAL },
	{ "copied set on input", mg_copied, -EINVAL },
	{ "reserved[0]", mg_res0, -EINVAL },
	{ "reserved[3]", mg_res3, -EINVAL },
	{ "no clusters", mg_count0, -EINVAL },
	{ "the most clusters", mg_count_max, 0 },
	{ "one cluster too many", mg_count_over, -EINVAL },
	{ "a first cluster past anything (the range check says)",
	  mg_first_huge, 0 },
};

KUNIT_ARRAY_PARAM(mg, mg_cases, arg_case_desc);

static void prld_check_merge_copy_case(struct kunit *test)
{
	const struct arg_case *c = test->param_value;
	struct prld_merge req = { .size = sizeof(req), .count = 1 };

	c->mutate(&req);
	KUNIT_EXPECT_EQ(test, prld_check_merge(&req, true), c->want);
}

/* DROP: the same rules, and no range at all. */
static void prld_check_merge_drop_case(struct kunit *test)
{
	struct prld_merge req = { .size = sizeof(req), .layer = 1 };

	KUNIT_EXPECT_EQ(test, prld_check_merge(&req, false), 0);
	req.count = 1;
	KUNIT_EXPECT_EQ(test, prld_check_merge(&req, false), -EINVAL);
	req.count = 0;
	req.first = 1;
	KUNIT_EXPECT_EQ(test, prld_check_merge(&req, false), -EINVAL);
	req.first = 0;
	req.copied = 1;
	KUNIT_EXPECT_EQ(test, prld_check_merge(&req, false), -EINVAL);
	req.copied = 0;
	req.flags = 2;
	KUNIT_EXPECT_EQ(test, prld_check_merge(&req, false), -EINVAL);
}

/* The merged layer against the chain: it has a child; a copy's is the top. */
static void prld_check_merge_layer_case(struct kunit *test)
{
	struct prld_merge req = { .size = sizeof(req), .count = 1 };

	/* 3 layers, 100 clusters: 0 and 1 may be dropped, only 1 copied. */
	req.layer = 1;
	KUNIT_EXPECT_EQ(test, prld_check_merge_layer(&req, true, 3, 100), 0);
	KUNIT_EXPECT_EQ(test, prld_check_merge_layer(&req, false, 3, 100), 0);
	req.layer = 0;
	KUNIT_EXPECT_EQ(test, prld_check_merge_layer(&req, true, 3, 100),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, prld_check_merge_layer(&req, false, 3, 100), 0);
	req.layer = 2;
	KUNIT_EXPECT_EQ(test, prld_check_merge_layer(&req, false, 3, 100),
			-EINVAL);
	req.layer = U32_MAX;
	KUNIT_EXPECT_EQ(test, prld_check_merge_layer(&req, false, 3, 100),
			-EINVAL);
	req.layer = 0;
	KUNIT_EXPECT_EQ(test, prld_check_merge_layer(&req, false, 1, 100),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, prld_check_merge_layer(&req, false, 0, 100),
			-EINVAL);
	req.layer = 1;
	req.first = 99;
	KUNIT_EXPECT_EQ(test, prld_check_merge_layer(&req, true, 3, 100), 0);
	req.first = 100;
	KUNIT_EXPECT_EQ(test, prld_check_merge_layer(&req, true, 3, 100),
			-EINVAL);
}

/* The counts of part_layers, once read from userspace. */
static void prld_check_part_layers_case(struct kunit *test)
{
	static const u32 ok[] = { 1, 3, 255 }, zero[] = { 1, 0, 2 };
	static const u32 big[] = { 256, 1 };

	KUNIT_EXPECT_EQ(test, prld_check_part_layers(ok, 3, 259), 0);
	KUNIT_EXPECT_EQ(test, prld_check_part_layers(ok, 3, 258), -EINVAL);
	KUNIT_EXPECT_EQ(test, prld_check_part_layers(ok, 3, 260), -EINVAL);
	KUNIT_EXPECT_EQ(test, prld_check_part_layers(zero, 3, 3), -EINVAL);
	KUNIT_EXPECT_EQ(test, prld_check_part_layers(big, 2, 257), -EINVAL);
}

static struct kunit_case prld_validate_cases[] = {
	KUNIT_CASE_PARAM(prld_check_config_case, cfg_gen_params),
	KUNIT_CASE_PARAM(prld_check_layer_case, ls_gen_params),
	KUNIT_CASE_PARAM(prld_check_map_request_case, mr_gen_params),
	KUNIT_CASE_PARAM(prld_check_map_range_case, range_gen_params),
	KUNIT_CASE_PARAM(prld_check_push_case, pt_gen_params),
	KUNIT_CASE_PARAM(prld_check_revert_case, rv_gen_params),
	KUNIT_CASE_PARAM(prld_check_resize_case, rs_gen_params),
	KUNIT_CASE(prld_check_part_layers_case),
	KUNIT_CASE_PARAM(prld_check_merge_copy_case, mg_gen_params),
	KUNIT_CASE(prld_check_merge_drop_case),
	KUNIT_CASE(prld_check_merge_layer_case),
	{}
};

static struct kunit_suite prld_validate_suite = {
	.name = "prld_validate",
	.test_cases = prld_validate_cases,
};

kunit_test_suites(&prld_validate_suite);
