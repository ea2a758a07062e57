// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldctl snapshot / snapshots / revert: the snapshot tree of a disk
 * directory, or of the disk a /dev/prldN has attached (SDK: CreateSnapshot,
 * the snapshot list, SwitchToState).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

int parse_json_arg(int argc, char **argv, bool *json, const char *what)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	int c;

	*json = false;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 'j')
			return usage_error("bad option"), -1;
		*json = true;
	}
	if (optind != argc - 1)
		return usage_error("expected one %s", what), -1;
	return optind;
}

static int parse_json_dir(int argc, char **argv, bool *json)
{
	return parse_json_arg(argc, argv, json, "disk DIR or /dev/prldN");
}

/* The disk directory of an attached device: where its top file lives. */
static char *device_dir(const char *dev)
{
	struct prld_err err = { 0 };
	struct prld_dev_info info;
	char *dir = NULL, *slash;

	if (prld_dev_get_info(dev, &info, &err) < 0) {
		fail_err(&err);
		return NULL;
	}
	dir = strdup(info.layers[info.nlayers - 1].path);
	prld_dev_info_free(&info);
	slash = dir ? strrchr(dir, '/') : NULL;
	if (slash)
		*slash = '\0';
	if (!dir)
		fail("out of memory");
	return dir;
}

int target_dir(const char *arg, char **dir)
{
	*dir = NULL;
	if (prld_is_device(arg) && !(*dir = device_dir(arg)))
		return -1;
	return 0;
}

int cmd_snapshot(int argc, char **argv)
{
	char guid[PRLD_GUID_LEN + 1];
	struct prld_err err = { 0 };
	struct json_object *o;
	char *dir = NULL;
	bool json;
	int arg = parse_json_dir(argc, argv, &json), ret;

	if (arg < 0 || target_dir(argv[arg], &dir) < 0)
		return PRLDCTL_EXIT_FAIL;
	ret = prld_snapshot(dir ? dir : argv[arg], guid, &err);
	free(dir);
	if (ret < 0)
		return fail_err(&err);
	if (!json) {
		printf("%s\n", guid);
		return PRLDCTL_EXIT_OK;
	}
	o = json_object_new_object();
	json_object_object_add(o, "guid", json_object_new_string(guid));
	json_print(o);
	return PRLDCTL_EXIT_OK;
}

static struct json_object *shot_json(const struct prld_snapshot_info *s)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "guid", json_object_new_string(s->guid));
	json_object_object_add(o, "parent",
			       json_object_new_string(s->parent));
	json_object_object_add(o, "file", json_object_new_string(s->file));
	json_object_object_add(o, "file_size", json_u64(s->file_size));
	json_object_object_add(o, "allocated", json_u64(s->allocated));
	json_object_object_add(o, "created",
			       json_object_new_int64(s->created));
	json_object_object_add(o, "depth", json_u64(s->depth));
	json_object_object_add(o, "top", json_object_new_boolean(s->top));
	json_object_object_add(o, "on_chain",
			       json_object_new_boolean(s->on_chain));
	if (s->status)
		json_object_object_add(o, "error", json_object_new_string(
					       strerror(-s->status)));
	return o;
}

/*
 * One line per shot, indented by depth: '*' in front of the shots the
 * disk reads through, "[top]" after the writable one.
 */
static void shot_line(const struct prld_snapshot_info *s)
{
	char size[32];

	printf("%c %*s%s  %s", s->on_chain ? '*' : ' ', 2 * (int)s->depth,
	       "", s->guid, s->file);
	if (s->status)
		printf("  (unreadable: %s)", strerror(-s->status));
	else
		printf("  %s, %" PRIu64 " clusters",
		       human_size(s->file_size, size, sizeof(size)),
		       s->allocated);
	printf("%s\n", s->top ? "  [top]" : "");
}

int cmd_snapshots(int argc, char **argv)
{
	struct prld_snapshot_info *list;
	struct prld_err err = { 0 };
	struct json_object *a;
	unsigned int n, i;
	char *dir = NULL;
	bool json;
	int arg = parse_json_dir(argc, argv, &json), ret;

	if (arg < 0 || target_dir(argv[arg], &dir) < 0)
		return PRLDCTL_EXIT_FAIL;
	ret = prld_list_snapshots(dir ? dir : argv[arg], &list, &n, &err);
	free(dir);
	if (ret < 0)
		return fail_err(&err);
	if (json) {
		a = json_object_new_array();
		for (i = 0; i < n; i++)
			json_object_array_add(a, shot_json(&list[i]));
		json_print(a);
	} else {
		for (i = 0; i < n; i++)
			shot_line(&list[i]);
	}
	prld_snapshots_free(list, n);
	return PRLDCTL_EXIT_OK;
}

int cmd_revert(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "to", required_argument, NULL, 't' },
		{ 0 }
	};
	struct prld_err err = { 0 };
	const char *to = NULL;
	char *dir;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 't')
			return usage_error("bad option");
		to = optarg;
	}
	if (!to)
		return usage_error("--to GUID is required");
	if (optind != argc - 1)
		return usage_error("expected one disk DIR or /dev/prldN");
	if (target_dir(argv[optind], &dir) < 0)
		return PRLDCTL_EXIT_FAIL;
	ret = prld_revert(dir ? dir : argv[optind], to, &err);
	free(dir);
	if (ret < 0)
		return fail_err(&err);
	return PRLDCTL_EXIT_OK;
}
