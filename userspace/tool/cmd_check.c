// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldctl check: findings one per line, exit status as qemu-img check
 * (0 clean, 2 corruption, 3 leaks only, 63 not supported by prld; 1 when
 * the check itself failed).
 */
#include <getopt.h>
#include <stdio.h>

#include "tool.h"

static const char *const severity_name[] = {
	[PRLD_SEV_NOTE] = "note",
	[PRLD_SEV_LEAK] = "leak",
	[PRLD_SEV_CORRUPT] = "corrupt",
	[PRLD_SEV_FIXED] = "repaired",
	[PRLD_SEV_UNSUPPORTED] = "unsupported",
};

static void print_json(const char *path, const struct prld_report *rep)
{
	struct json_object *o = json_object_new_object();
	struct json_object *items = json_object_new_array();
	const struct prld_finding *f;
	unsigned int i;

	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "corruptions", json_u64(rep->corrupt));
	json_object_object_add(o, "leaks", json_u64(rep->leaks));
	json_object_object_add(o, "repaired", json_u64(rep->fixed));
	json_object_object_add(o, "unsupported", json_u64(rep->unsupported));
	json_object_object_add(o, "exit_status",
			       json_u64(prld_report_exit_status(rep)));
	for (i = 0; i < rep->count; i++) {
		struct json_object *it = json_object_new_object();

		f = &rep->items[i];
		json_object_object_add(it, "severity", json_object_new_string(
					       severity_name[f->severity]));
		json_object_object_add(it, "file",
				       json_object_new_string(f->file));
		json_object_object_add(it, "message",
				       json_object_new_string(f->msg));
		json_object_array_add(items, it);
	}
	json_object_object_add(o, "findings", items);
	json_print(o);
}

static void print_text(const struct prld_report *rep)
{
	const struct prld_finding *f;
	unsigned int i;

	for (i = 0; i < rep->count; i++) {
		f = &rep->items[i];
		printf("%s: %s: %s\n", severity_name[f->severity], f->file,
		       f->msg);
	}
	if (!rep->corrupt && !rep->leaks)
		printf("No errors were found.\n");
	else
		printf("%u corruption(s), %u leak(s) found.\n", rep->corrupt,
		       rep->leaks);
	if (rep->unsupported)
		printf("Not supported by prld: it does not open this disk.\n");
	if (rep->fixed)
		printf("%u problem(s) repaired.\n", rep->fixed);
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repair", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	struct prld_report rep = { 0 };
	struct prld_err err = { 0 };
	bool json = false, repair = false;
	int c, status;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'r')
			repair = true;
		else if (c == 'j')
			json = true;
		else
			return usage_error("bad option");
	}
	if (optind != argc - 1)
		return usage_error("expected one DIR or IMAGE");
	if (prld_check(argv[optind], repair, &rep, &err) < 0) {
		prld_report_free(&rep);
		return fail_err(&err);
	}
	if (json)
		print_json(argv[optind], &rep);
	else
		print_text(&rep);
	status = prld_report_exit_status(&rep);
	prld_report_free(&rep);
	return status;
}
