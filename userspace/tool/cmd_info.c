// SPDX-License-Identifier: GPL-2.0-or-later
/* prldctl info: what a disk is made of, for people and for scripts. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "prld_format.h"
#include "tool.h"

static const char *format_name(const struct prld_layer_info *l)
{
	if (l->kind == PRLD_LAYER_PLAIN)
		return "plain";
	return l->fmt == PRLD_FMT_V1 ? "v1" : "v2";
}

/* Clusters mapped in any layer: what reading the disk would not zero-fill. */
static int count_allocated(struct prld_disk *disk, uint64_t *count)
{
	struct prld_err err = { 0 };
	struct prld_map map;
	uint64_t i;

	if (prld_get_map(disk, NULL, NULL, &map, &err) < 0)
		return fail_err(&err);
	*count = 0;
	for (i = 0; i < map.nbits; i++)
		*count += (map.bits[i / 8] >> (i % 8)) & 1;
	prld_map_free(&map);
	return 0;
}

static struct json_object *layer_json(const struct prld_layer_info *l)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "file", json_object_new_string(l->file));
	json_object_object_add(o, "guid", json_object_new_string(l->guid));
	json_object_object_add(o, "parent", json_object_new_string(l->parent));
	json_object_object_add(o, "format",
			       json_object_new_string(format_name(l)));
	json_object_object_add(o, "cluster_size",
			       json_u64((uint64_t)l->cluster_sectors * 512));
	json_object_object_add(o, "virtual_size",
			       json_u64(l->nb_sectors * 512));
	json_object_object_add(o, "file_size", json_u64(l->file_size));
	json_object_object_add(o, "allocated_clusters", json_u64(l->allocated));
	json_object_object_add(o, "flags", json_u64(l->flags));
	json_object_object_add(o, "in_use", json_object_new_boolean(l->in_use));
	json_object_object_add(o, "top", json_object_new_boolean(l->top));
	json_object_object_add(o, "read_only",
			       json_object_new_boolean(l->read_only));
	json_object_object_add(o, "storage", json_u64(l->storage));
	json_object_object_add(o, "start_sector", json_u64(l->start_sector));
	return o;
}

static void print_json(const char *path, const struct prld_info *in,
		       uint64_t allocated)
{
	struct json_object *o = json_object_new_object();
	struct json_object *geo = json_object_new_object();
	struct json_object *layers = json_object_new_array();
	unsigned int i;

	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "virtual_size",
			       json_u64(in->size_sectors * 512));
	json_object_object_add(o, "sectors", json_u64(in->size_sectors));
	json_object_object_add(geo, "cylinders", json_u64(in->cylinders));
	json_object_object_add(geo, "heads", json_u64(in->heads));
	json_object_object_add(geo, "sectors", json_u64(in->sectors));
	json_object_object_add(o, "geometry", geo);
	json_object_object_add(o, "cluster_size",
			       json_u64((uint64_t)in->cluster_sectors * 512));
	json_object_object_add(o, "clusters", json_u64(in->clusters));
	json_object_object_add(o, "allocated_clusters", json_u64(allocated));
	json_object_object_add(o, "descriptor",
			       json_object_new_boolean(in->has_descriptor));
	for (i = 0; i < in->nlayers; i++)
		json_object_array_add(layers, layer_json(&in->layers[i]));
	json_object_object_add(o, "storages", json_u64(in->nstorages));
	json_object_object_add(o, "layers", layers);
	json_print(o);
}

static void print_layer(const struct prld_layer_info *l)
{
	char fs[32];

	printf("  %s%s%s\n", l->file, l->top ? "  (top)" : "",
	       l->read_only ? "  (read-only: see prldctl check)" : "");
	if (l->storage || l->start_sector)
		printf("    piece %u from sector %" PRIu64 "\n", l->storage,
		       l->start_sector);
	if (l->guid[0])
		printf("    guid %s parent %s\n", l->guid, l->parent);
	printf("    format %s, file size %s, %" PRIu64
	       " clusters allocated%s\n", format_name(l),
	       human_size(l->file_size, fs, sizeof(fs)), l->allocated,
	       l->in_use ? ", IN USE (not closed cleanly)" : "");
}

static void print_text(const char *path, const struct prld_info *in,
		       uint64_t allocated)
{
	char vs[32], cs[32];
	unsigned int i;

	printf("disk:           %s\n", path);
	printf("virtual size:   %s (%" PRIu64 " bytes)\n",
	       human_size(in->size_sectors * 512, vs, sizeof(vs)),
	       in->size_sectors * 512);
	printf("geometry:       %u/%u/%u (C/H/S)\n", in->cylinders, in->heads,
	       in->sectors);
	printf("cluster size:   %s\n",
	       human_size((uint64_t)in->cluster_sectors * 512, cs, sizeof(cs)));
	printf("clusters:       %" PRIu64 ", %" PRIu64 " allocated\n",
	       in->clusters, allocated);
	if (in->nstorages > 1)
		printf("pieces:         %u (a split disk)\n", in->nstorages);
	printf("layers:         %u (base first)\n", in->nlayers);
	for (i = 0; i < in->nlayers; i++)
		print_layer(&in->layers[i]);
}

int cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	struct prld_disk *disk;
	struct prld_info info;
	uint64_t allocated;
	bool json = false;
	int c, status;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 'j')
			return usage_error("bad option");
		json = true;
	}
	if (optind != argc - 1)
		return usage_error("expected one DIR, IMAGE or /dev/prldN");
	if (prld_is_device(argv[optind]))
		return device_info(argv[optind], json);
	disk = open_disk(argv[optind], PRLD_OPEN_READ, 0);
	if (!disk)
		return PRLDCTL_EXIT_FAIL;
	prld_get_info(disk, &info);
	status = count_allocated(disk, &allocated);
	if (!status) {
		if (json)
			print_json(argv[optind], &info, allocated);
		else
			print_text(argv[optind], &info, allocated);
	}
	return close_disk(disk, status);
}
