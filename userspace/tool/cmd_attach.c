// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldctl open / close / list: attach a disk to the prld driver as
 * /dev/prldN (as losetup does for files), detach it, list what is bound.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static int parse_dio(const char *text, enum prld_direct_io *dio)
{
	if (!strcmp(text, "on"))
		*dio = PRLD_DIO_ON;
	else if (!strcmp(text, "off"))
		*dio = PRLD_DIO_OFF;
	else if (!strcmp(text, "auto"))
		*dio = PRLD_DIO_AUTO;
	else
		return usage_error("--direct-io: '%s' is not on, off or auto",
				   text);
	return 0;
}

int cmd_open(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "read-only", no_argument, NULL, 'r' },
		{ "offset", required_argument, NULL, 'o' },
		{ "direct-io", required_argument, NULL, 'd' },
		{ "autoclear", no_argument, NULL, 'a' },
		{ "no-partscan", no_argument, NULL, 'n' },
		{ "snapshot", required_argument, NULL, 's' },
		{ 0 }
	};
	struct prld_attach_opts o = { 0 };
	struct prld_err err = { 0 };
	char dev[64];
	int c, bad = 0;

	while (!bad && (c = getopt_long(argc, argv, "r", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o.read_only = true;
			break;
		case 'o':
			bad = parse_size_arg("--offset", optarg, &o.offset);
			break;
		case 'd':
			bad = parse_dio(optarg, &o.direct_io);
			break;
		case 'a':
			o.autoclear = true;
			break;
		case 'n':
			o.no_partscan = true;
			break;
		case 's':
			o.snapshot = optarg;
			break;
		default:
			return usage_error("bad option");
		}
	}
	if (bad)
		return PRLDCTL_EXIT_FAIL;
	if (optind != argc - 1)
		return usage_error("expected one DIR or IMAGE");
	if (prld_attach(argv[optind], &o, dev, sizeof(dev), &err) < 0)
		return fail_err(&err);
	printf("%s\n", dev);
	return PRLDCTL_EXIT_OK;
}

int cmd_close(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "deferred", no_argument, NULL, 'd' },
		{ 0 }
	};
	struct prld_err err = { 0 };
	bool deferred = false;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 'd')
			return usage_error("bad option");
		deferred = true;
	}
	if (optind != argc - 1)
		return usage_error("expected /dev/prldN or DIR");
	if (prld_detach(argv[optind], deferred, &err) < 0)
		return fail_err(&err);
	return PRLDCTL_EXIT_OK;
}

int cmd_flush(int argc, char **argv)
{
	struct prld_err err = { 0 };

	if (argc != 2 || argv[1][0] == '-')
		return usage_error("expected one /dev/prldN");
	if (prld_dev_flush(argv[1], &err) < 0)
		return fail_err(&err);
	return PRLDCTL_EXIT_OK;
}

static struct json_object *dev_json(const struct prld_dev_info *d)
{
	struct json_object *o = json_object_new_object();
	struct json_object *layers = json_object_new_array();
	unsigned int i;

	json_object_object_add(o, "device", json_object_new_string(d->device));
	json_object_object_add(o, "virtual_size",
			       json_u64(d->virtual_sectors * 512));
	json_object_object_add(o, "size", json_u64(d->device_sectors * 512));
	json_object_object_add(o, "offset", json_u64(d->offset));
	json_object_object_add(o, "cluster_size",
			       json_u64((uint64_t)d->cluster_sectors * 512));
	json_object_object_add(o, "clusters", json_u64(d->clusters));
	/* Without read access to the device (sysfs only): unknown. */
	json_object_object_add(o, "allocated_clusters",
			       d->have_counts ? json_u64(d->allocated) : NULL);
	json_object_object_add(o, "read_only",
			       json_object_new_boolean(d->read_only));
	json_object_object_add(o, "direct_io",
			       json_object_new_boolean(d->direct_io));
	json_object_object_add(o, "autoclear",
			       json_object_new_boolean(d->autoclear));
	json_object_object_add(o, "partscan",
			       json_object_new_boolean(d->partscan));
	for (i = 0; i < d->nlayers; i++) {
		struct json_object *l = json_object_new_object();

		json_object_object_add(l, "file",
				       json_object_new_string(d->layers[i].path));
		json_object_object_add(l, "allocated_clusters",
				       d->have_counts ?
				       json_u64(d->layers[i].allocated) : NULL);
		json_object_object_add(l, "file_size",
				       json_u64(d->layers[i].file_size));
		json_object_object_add(l, "writable", json_object_new_boolean(
					       d->layers[i].writable));
		json_object_array_add(layers, l);
	}
	json_object_object_add(o, "layers", layers);
	return o;
}

static void dev_text(const struct prld_dev_info *d, bool long_form)
{
	char sz[32], cl[32];
	unsigned int i;

	printf("%-12s %10s  %s%s%s\n", d->device,
	       human_size(d->device_sectors * 512, sz, sizeof(sz)),
	       d->layers[d->nlayers - 1].path, d->read_only ? "  (ro)" : "",
	       d->nlayers > 1 ? "  (chain)" : "");
	if (!long_form)
		return;
	printf("  cluster size %s, ",
	       human_size((uint64_t)d->cluster_sectors * 512, cl, sizeof(cl)));
	if (d->have_counts)
		printf("%" PRIu64 " of ", d->allocated);
	printf("%" PRIu64 " clusters%s, offset %" PRIu64 ", direct I/O %s\n",
	       d->clusters, d->have_counts ? " allocated" : "", d->offset,
	       d->direct_io ? "on" : "off");
	for (i = 0; i < d->nlayers; i++)
		printf("  layer %u: %s%s\n", i, d->layers[i].path,
		       d->layers[i].writable ? " (writable)" : "");
}

/* prldctl info /dev/prldN: answered by the kernel. */
int device_info(const char *dev, bool json)
{
	struct prld_err err = { 0 };
	struct prld_dev_info d;

	if (prld_dev_get_info(dev, &d, &err) < 0)
		return fail_err(&err);
	if (json)
		json_print(dev_json(&d));
	else
		dev_text(&d, true);
	prld_dev_info_free(&d);
	return PRLDCTL_EXIT_OK;
}

int cmd_list(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	struct json_object *arr = NULL;
	struct prld_err err = { 0 };
	struct prld_dev_info *list;
	unsigned int n, i;
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 'j')
			return usage_error("bad option");
		json = true;
	}
	if (optind != argc)
		return usage_error("no arguments expected");
	if (prld_dev_list(&list, &n, &err) < 0)
		return fail_err(&err);
	if (json)
		arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		if (json)
			json_object_array_add(arr, dev_json(&list[i]));
		else
			dev_text(&list[i], false);
		prld_dev_info_free(&list[i]);
	}
	free(list);
	if (json)
		json_print(arr);
	return PRLDCTL_EXIT_OK;
}
