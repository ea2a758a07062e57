// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldctl map: the blocks map (SDK: GetChangesMap + DiskMap
 * GetGranularity/GetSize/Read).  Without --from every allocated cluster
 * counts; with --from GUID only those held by layers above that snapshot.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tool.h"

enum map_output { MAP_TEXT, MAP_JSON, MAP_RAW };

static bool map_bit(const struct prld_map *m, uint64_t i)
{
	return (m->bits[i / 8] >> (i % 8)) & 1;
}

static char *bits_hex(const struct prld_map *m)
{
	static const char digits[] = "0123456789abcdef";
	size_t len = (size_t)((m->nbits + 7) / 8), i;
	char *hex = malloc(2 * len + 1);

	if (!hex)
		return NULL;
	for (i = 0; i < len; i++) {
		hex[2 * i] = digits[m->bits[i] >> 4];
		hex[2 * i + 1] = digits[m->bits[i] & 15];
	}
	hex[2 * len] = '\0';
	return hex;
}

static uint64_t count_bits(const struct prld_map *m)
{
	uint64_t i, n = 0;

	for (i = 0; i < m->nbits; i++)
		n += map_bit(m, i);
	return n;
}

/* Set clusters as ranges: "0-3,7,9-10". */
static void print_ranges(const struct prld_map *m)
{
	const char *sep = "";
	uint64_t i = 0, start;

	while (i < m->nbits) {
		if (!map_bit(m, i++))
			continue;
		start = i - 1;
		while (i < m->nbits && map_bit(m, i))
			i++;
		if (start == i - 1)
			printf("%s%" PRIu64, sep, start);
		else
			printf("%s%" PRIu64 "-%" PRIu64, sep, start, i - 1);
		sep = ",";
	}
	printf("\n");
}

static int print_map(const struct prld_map *m, enum map_output out)
{
	struct json_object *o;
	char *hex;

	if (out == MAP_RAW) {
		size_t len = (size_t)((m->nbits + 7) / 8);

		if (fwrite(m->bits, 1, len, stdout) != len)
			return fail("writing to stdout failed");
		return 0;
	}
	if (out == MAP_TEXT) {
		printf("granularity:  %" PRIu64 " bytes\n", m->granularity);
		printf("bits:         %" PRIu64 "\n", m->nbits);
		printf("set:          %" PRIu64 "\n", count_bits(m));
		printf("clusters:     ");
		print_ranges(m);
		return 0;
	}
	hex = bits_hex(m);
	if (!hex)
		return fail("out of memory");
	o = json_object_new_object();
	json_object_object_add(o, "granularity", json_u64(m->granularity));
	json_object_object_add(o, "bits", json_u64(m->nbits));
	json_object_object_add(o, "set", json_u64(count_bits(m)));
	json_object_object_add(o, "bitmap", json_object_new_string(hex));
	json_print(o);
	free(hex);
	return 0;
}

/* The map of an attached device, read from the in-kernel BAT. */
static int device_map(const char *dev, const char *from, const char *to,
		      enum map_output out)
{
	struct prld_err err = { 0 };
	struct prld_map map;
	int status;

	if (prld_dev_get_map_guid(dev, from, to, &map, &err) < 0)
		return fail_err(&err);
	status = print_map(&map, out);
	prld_map_free(&map);
	return status;
}

int cmd_map(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "raw", no_argument, NULL, 'r' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ 0 }
	};
	const char *from = NULL, *to = NULL;
	enum map_output out = MAP_TEXT;
	struct prld_err err = { 0 };
	struct prld_disk *disk;
	struct prld_map map;
	int c, status;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'j' || c == 'r') {
			if (out != MAP_TEXT)
				return usage_error("--json and --raw exclude "
						   "each other");
			out = c == 'j' ? MAP_JSON : MAP_RAW;
		} else if (c == 'f') {
			from = optarg;
		} else if (c == 't') {
			to = optarg;
		} else {
			return usage_error("bad option");
		}
	}
	if (optind != argc - 1)
		return usage_error("expected one DIR, IMAGE or /dev/prldN");
	if (prld_is_device(argv[optind]))
		return device_map(argv[optind], from, to, out);
	disk = open_disk(argv[optind], PRLD_OPEN_READ, 0);
	if (!disk)
		return PRLDCTL_EXIT_FAIL;
	if (prld_get_map(disk, from, to, &map, &err) < 0)
		return close_disk(disk, fail_err(&err));
	status = print_map(&map, out);
	prld_map_free(&map);
	return close_disk(disk, status);
}
