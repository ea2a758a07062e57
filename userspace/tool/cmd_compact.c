// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldctl compact: give the space of discarded and leaked clusters back
 * to the host filesystem, offline (libprld's prld_compact), and say what
 * each image's file was and is: its length and the space it takes.
 */
#include <stdio.h>

#include "tool.h"

static void print_text(const struct prld_compact_report *rep)
{
	char a[32], b[32], c[32], d[32];
	const struct prld_compact_image *r;
	uint64_t before = 0, after = 0;
	unsigned int i;

	for (i = 0; i < rep->n; i++) {
		r = &rep->images[i];
		printf("%s: %s -> %s (uses %s -> %s), %llu clusters moved%s\n",
		       r->file, human_size(r->size_before, a, sizeof(a)),
		       human_size(r->size_after, b, sizeof(b)),
		       human_size(r->used_before, c, sizeof(c)),
		       human_size(r->used_after, d, sizeof(d)),
		       (unsigned long long)r->moved,
		       r->raw ? " (raw image: nothing to move)" : "");
		before += r->size_before;
		after += r->size_after;
	}
	if (rep->n > 1)
		printf("total: %s -> %s\n", human_size(before, a, sizeof(a)),
		       human_size(after, b, sizeof(b)));
}

static void print_json(const struct prld_compact_report *rep)
{
	struct json_object *arr = json_object_new_array(), *o;
	const struct prld_compact_image *r;
	unsigned int i;

	for (i = 0; i < rep->n; i++) {
		r = &rep->images[i];
		o = json_object_new_object();
		json_object_object_add(o, "file", json_object_new_string(r->file));
		json_object_object_add(o, "raw", json_object_new_boolean(r->raw));
		json_object_object_add(o, "size_before", json_u64(r->size_before));
		json_object_object_add(o, "size_after", json_u64(r->size_after));
		json_object_object_add(o, "used_before", json_u64(r->used_before));
		json_object_object_add(o, "used_after", json_u64(r->used_after));
		json_object_object_add(o, "moved_clusters", json_u64(r->moved));
		json_object_array_add(arr, o);
	}
	json_print(arr);
}

int cmd_compact(int argc, char **argv)
{
	struct prld_compact_report rep;
	struct prld_err err = { 0 };
	bool json;
	int arg = parse_json_arg(argc, argv, &json, "DIR or IMAGE");

	if (arg < 0)
		return PRLDCTL_EXIT_FAIL;
	if (prld_is_device(argv[arg]))
		return fail("%s: an attached device: compact works offline; detach it and give the disk directory (while attached, discarded clusters are punched out of the file already)",
			    argv[arg]);
	if (prld_compact(argv[arg], &rep, &err) < 0)
		return fail_err(&err);
	if (json)
		print_json(&rep);
	else
		print_text(&rep);
	prld_compact_report_free(&rep);
	return PRLDCTL_EXIT_OK;
}
