// SPDX-License-Identifier: GPL-2.0
/*
 * prld_validate.c - the checks of the ioctl argument structures that need
 * no device: size (the ABI version), flags, padding, reserved fields and
 * ranges.  Pure functions of their arguments, so the KUnit suite links
 * this file and drives every rule directly.
 *
 * Every failure is -EINVAL: unknown flags and non-zero reserved or padding
 * fields are refused so that they can gain a meaning later.
 */
#include <linux/errno.h>
#include <linux/string.h>

#include "prld_format.h"
#include "prld_validate.h"

static bool prld_all_zero(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

/* A plain base has a size, and only a plain base has one. */
static int prld_check_plain(bool plain, __u64 sectors)
{
	if (plain != !!sectors)
		return -EINVAL;
	return sectors > PRLD_MAX_PLAIN_SECTORS ? -EINVAL : 0;
}

/*
 * A split disk has 2..PRLD_MAX_PARTS parts and up to PRLD_MAX_FDS layers
 * in all (each part's count is checked when they are read); no other
 * disk has parts.  A plain base is for a whole disk only.
 */
static int prld_check_split(const struct prld_config *cfg)
{
	bool split = cfg->flags & PRLD_CONFIG_SPLIT;

	if (!split)
		return cfg->part_layers || cfg->nr_parts ||
		       cfg->nr_layers > PRLD_MAX_LAYERS ? -EINVAL : 0;
	if (cfg->flags & PRLD_CONFIG_PLAIN_BASE)
		return -EINVAL;
	if (cfg->nr_parts < 2 || cfg->nr_parts > PRLD_MAX_PARTS ||
	    cfg->nr_layers < cfg->nr_parts || cfg->nr_layers > PRLD_MAX_FDS)
		return -EINVAL;
	return 0;
}

int prld_check_config(const struct prld_config *cfg)
{
	if (cfg->size != sizeof(*cfg))
		return -EINVAL;
	if (cfg->flags & ~PRLD_CONFIG_FLAGS_ALL)
		return -EINVAL;
	if (cfg->pad || cfg->pad2 ||
	    !prld_all_zero(cfg->reserved, sizeof(cfg->reserved)))
		return -EINVAL;
	if (!cfg->nr_layers)
		return -EINVAL;
	if (cfg->offset % PRLD_SECTOR_SIZE)
		return -EINVAL;
	if (prld_check_split(cfg))
		return -EINVAL;
	return prld_check_plain(cfg->flags & PRLD_CONFIG_PLAIN_BASE,
				cfg->plain_sectors);
}

/* One part's layer count, read from the caller's part_layers. */
int prld_check_part_layers(const u32 *counts, u32 nr_parts, u32 nr_layers)
{
	u64 sum = 0;
	u32 k;

	for (k = 0; k < nr_parts; k++) {
		if (!counts[k] || counts[k] > PRLD_MAX_LAYERS)
			return -EINVAL;
		sum += counts[k];
	}
	return sum == nr_layers ? 0 : -EINVAL;
}

/* PRLD_GET_LAYER: everything but size and layer is output, so zero. */
int prld_check_layer_request(const struct prld_layer_status *ls)
{
	if (ls->size != sizeof(*ls) || ls->pad || ls->flags || ls->allocated ||
	    ls->file_size || ls->part || ls->pad2 || ls->part_start ||
	    !prld_all_zero(ls->reserved, sizeof(ls->reserved)))
		return -EINVAL;
	return 0;
}

int prld_check_map_request(const struct prld_map_request *req)
{
	if (req->size != sizeof(*req) || req->pad || req->granularity ||
	    req->nbits || !prld_all_zero(req->reserved, sizeof(req->reserved)))
		return -EINVAL;
	if (req->first_bit % 8 || !req->buf_bytes ||
	    req->buf_bytes > PRLD_MAP_MAX_BYTES)
		return -EINVAL;
	return 0;
}

/* The layer range and start against the bound chain's shape. */
int prld_check_map_range(const struct prld_map_request *req,
			 unsigned int nr_layers, u64 clusters)
{
	if (req->to_layer >= nr_layers)
		return -EINVAL;
	if (req->from_layer != PRLD_MAP_FROM_NONE &&
	    req->from_layer >= req->to_layer)
		return -EINVAL;
	if (req->first_bit > clusters)
		return -EINVAL;
	return 0;
}

int prld_check_push(const struct prld_push_top *req)
{
	if (req->size != sizeof(*req) || req->flags || req->pad ||
	    !prld_all_zero(req->reserved, sizeof(req->reserved)))
		return -EINVAL;
	return 0;
}

int prld_check_revert(const struct prld_revert *req)
{
	if (req->size != sizeof(*req) || req->flags & ~PRLD_REVERT_PLAIN_BASE ||
	    req->pad || !prld_all_zero(req->reserved, sizeof(req->reserved)))
		return -EINVAL;
	if (!req->nr_layers || req->nr_layers > PRLD_MAX_LAYERS)
		return -EINVAL;
	return prld_check_plain(req->flags & PRLD_REVERT_PLAIN_BASE,
				req->plain_sectors);
}

int prld_check_resize(const struct prld_resize *req)
{
	if (req->size != sizeof(*req) || req->flags ||
	    !prld_all_zero(req->reserved, sizeof(req->reserved)))
		return -EINVAL;
	return req->new_sectors ? 0 : -EINVAL;
}

/*
 * PRLD_MERGE_COPY (@copy) or PRLD_MERGE_DROP: a range only for a copy,
 * of 1..PRLD_MERGE_MAX_COUNT clusters; copied is output.
 */
int prld_check_merge(const struct prld_merge *req, bool copy)
{
	if (req->size != sizeof(*req) || req->flags || req->copied ||
	    !prld_all_zero(req->reserved, sizeof(req->reserved)))
		return -EINVAL;
	if (!copy)
		return req->first || req->count ? -EINVAL : 0;
	if (!req->count || req->count > PRLD_MERGE_MAX_COUNT)
		return -EINVAL;
	return 0;
}

/*
 * The merged layer against the bound chain's shape: it has a child (it
 * is not the top); a copy goes into the top, so its child must be the
 * top, and its range must start inside the disk.
 */
int prld_check_merge_layer(const struct prld_merge *req, bool copy,
			   unsigned int nr_layers, u64 clusters)
{
	if (nr_layers < 2 || req->layer > nr_layers - 2)
		return -EINVAL;
	if (copy && (req->layer != nr_layers - 2 || req->first >= clusters))
		return -EINVAL;
	return 0;
}
