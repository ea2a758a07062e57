// SPDX-License-Identifier: GPL-2.0-or-later
/* prldctl create: a new disk directory or a bare image, laid out as ploop. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "prld_format.h"
#include "tool.h"

struct create_opts {
	struct prld_create_params params;
	uint64_t size_bytes;
	bool have_size, have_geometry, bare_image;
	const char *target;
};

static int parse_geometry(const char *text, struct prld_create_params *p)
{
	unsigned int c, h, s;
	char tail;

	if (sscanf(text, "%u/%u/%u%c", &c, &h, &s, &tail) != 3 || !c || !h ||
	    !s)
		return usage_error("--geometry: '%s' is not C/H/S "
				   "(three positive numbers)", text);
	p->cylinders = c;
	p->heads = h;
	p->sectors = s;
	return 0;
}

int parse_cluster(const char *text, struct prld_create_params *p)
{
	uint64_t bytes;

	if (parse_size_arg("--cluster-size", text, &bytes))
		return -1;
	if (!bytes || bytes % PRLD_SECTOR_SIZE ||
	    bytes > (uint64_t)PRLD_MAX_CLUSTER_SECTORS * PRLD_SECTOR_SIZE)
		return usage_error("--cluster-size: %s must be a multiple of "
				   "512 bytes, at most 64M", text);
	p->cluster_sectors = (uint32_t)(bytes / PRLD_SECTOR_SIZE);
	return 0;
}

int parse_format(const char *text, struct prld_create_params *p)
{
	if (!strcmp(text, "v1"))
		p->fmt = PRLD_FMT_V1;
	else if (!strcmp(text, "v2"))
		p->fmt = PRLD_FMT_V2;
	else
		return usage_error("--format: '%s' is neither v1 nor v2", text);
	return 0;
}

static int parse_create(int argc, char **argv, struct create_opts *o)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "cluster-size", required_argument, NULL, 'c' },
		{ "preallocate", no_argument, NULL, 'p' },
		{ "geometry", required_argument, NULL, 'g' },
		{ "format", required_argument, NULL, 'f' },
		{ "image", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c, bad = 0;

	while (!bad && (c = getopt_long(argc, argv, "s:", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			bad = parse_size_arg("--size", optarg, &o->size_bytes);
			o->have_size = true;
			break;
		case 'c':
			bad = parse_cluster(optarg, &o->params);
			break;
		case 'p':
			o->params.preallocate = true;
			break;
		case 'g':
			bad = parse_geometry(optarg, &o->params);
			o->have_geometry = true;
			break;
		case 'f':
			bad = parse_format(optarg, &o->params);
			break;
		case 'i':
			o->bare_image = true;
			break;
		case 'h':
			return usage_error("create a disk");
		default:
			return usage_error("bad option");
		}
	}
	if (bad)
		return bad;
	if (optind != argc - 1)
		return usage_error("expected one DIR (or FILE with --image)");
	o->target = argv[optind];
	return 0;
}

/* The size comes from -s, or from the geometry when only that is given. */
static int settle_size(struct create_opts *o)
{
	struct prld_create_params *p = &o->params;
	uint64_t chs;

	if (!o->have_size && !o->have_geometry)
		return usage_error("give the size with -s SIZE (or --geometry)");
	chs = (uint64_t)p->cylinders * p->heads * p->sectors;
	if (!o->have_size) {
		p->size_sectors = chs;
		return 0;
	}
	if (!o->size_bytes || o->size_bytes % PRLD_SECTOR_SIZE)
		return usage_error("-s: size must be a non-zero multiple of "
				   "512 bytes");
	p->size_sectors = o->size_bytes / PRLD_SECTOR_SIZE;
	if (o->have_geometry && chs > p->size_sectors)
		return usage_error("--geometry: C*H*S = %llu sectors is more "
				   "than the size (%llu sectors)",
				   (unsigned long long)chs,
				   (unsigned long long)p->size_sectors);
	return 0;
}

int cmd_create(int argc, char **argv)
{
	struct create_opts o = { 0 };
	struct prld_err err = { 0 };
	int ret;

	if (parse_create(argc, argv, &o) || settle_size(&o))
		return PRLDCTL_EXIT_FAIL;
	if (o.bare_image)
		ret = prld_create_image(o.target, &o.params, &err);
	else
		ret = prld_create_disk(o.target, &o.params, &err);
	if (ret < 0)
		return fail_err(&err);
	return PRLDCTL_EXIT_OK;
}
