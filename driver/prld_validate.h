/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prld_validate.h - the pure checks of the ioctl argument structures,
 * shared by the driver and the KUnit suite (tests/kunit).
 */
#ifndef PRLD_VALIDATE_H
#define PRLD_VALIDATE_H

#include <linux/types.h>

#include "prld_ioctl.h"

/*
 * The largest plain base: its clusters (1 MiB or more) must fit a u32
 * count as a BAT's do, 4 PiB; the top's BAT is the practical limit.
 */
#define PRLD_MAX_PLAIN_SECTORS	(0xffffffffULL * 2048)

/* The largest bitmap one PRLD_GET_MAP call returns (2^27 clusters). */
#define PRLD_MAP_MAX_BYTES	(16U << 20)

int prld_check_config(const struct prld_config *cfg);
int prld_check_part_layers(const u32 *counts, u32 nr_parts, u32 nr_layers);
int prld_check_layer_request(const struct prld_layer_status *ls);
int prld_check_map_request(const struct prld_map_request *req);
int prld_check_map_range(const struct prld_map_request *req,
			 unsigned int nr_layers, u64 clusters);
int prld_check_push(const struct prld_push_top *req);
int prld_check_revert(const struct prld_revert *req);
int prld_check_resize(const struct prld_resize *req);
int prld_check_merge(const struct prld_merge *req, bool copy);
int prld_check_merge_layer(const struct prld_merge *req, bool copy,
			   unsigned int nr_layers, u64 clusters);

#endif /* PRLD_VALIDATE_H */
