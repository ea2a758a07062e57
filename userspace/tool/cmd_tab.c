// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldctl attach-all / detach-all: the disks of /etc/prldtab at boot and
 * every attached device at shutdown (prld-attach.service).  One disk's
 * failure is reported (stderr, so the journal) and the others go on; the
 * exit status says whether anything failed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prldtab.h"
#include "tool.h"

/* Attach one entry, or say it is attached already; 0 or -1 (reported). */
static int attach_entry(const struct tab *tab, const struct tab_entry *e)
{
	struct prld_err err = { 0 };
	char dev[64];

	if (prld_find_device(e->disk, dev, sizeof(dev), &err) == 0) {
		printf("%s: already attached as %s\n", e->disk, dev);
		return 0;
	}
	memset(&err, 0, sizeof(err));
	if (prld_attach(e->disk, &e->opts, dev, sizeof(dev), &err) < 0) {
		fail("%s:%u: %s%s", tab->path, e->line,
		     err.msg[0] ? err.msg : strerror(-err.code),
		     e->nofail ? " (nofail: ignored)" : "");
		return e->nofail ? 0 : -1;
	}
	printf("%s: attached as %s\n", e->disk, dev);
	return 0;
}

static void show_entry(const struct tab_entry *e)
{
	char opts[160];

	tab_options_text(e, opts, sizeof(opts));
	printf("%s: %s (%s)\n", e->disk,
	       e->noauto ? "left alone (noauto)" : "would attach", opts);
}

int cmd_attach_all(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "table", required_argument, NULL, 't' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ 0 }
	};
	const char *path = PRLDTAB_PATH;
	bool dry_run = false;
	unsigned int i, failed;
	struct tab tab;
	int c;

	while ((c = getopt_long(argc, argv, "n", longopts, NULL)) != -1) {
		if (c == 't')
			path = optarg;
		else if (c == 'n')
			dry_run = true;
		else
			return usage_error("bad option");
	}
	if (optind != argc)
		return usage_error("no arguments expected");
	if (tab_load(path, &tab) < 0)
		return PRLDCTL_EXIT_FAIL;
	failed = tab.bad_lines;
	for (i = 0; i < tab.n; i++) {
		if (dry_run)
			show_entry(&tab.entries[i]);
		else if (!tab.entries[i].noauto &&
			 attach_entry(&tab, &tab.entries[i]) < 0)
			failed++;
	}
	tab_free(&tab);
	if (failed)
		fail("attach-all: %u of the lines of %s failed", failed, path);
	return failed ? PRLDCTL_EXIT_FAIL : PRLDCTL_EXIT_OK;
}

/* Detach @dev, or have it detach at its last close if it is in use. */
static int detach_device(const char *dev)
{
	struct prld_err err = { 0 };
	int ret;

	ret = prld_detach(dev, false, &err);
	if (ret == -EBUSY) {
		memset(&err, 0, sizeof(err));
		ret = prld_detach(dev, true, &err);
		if (!ret) {
			printf("%s: in use; detaches at its last close\n", dev);
			return 0;
		}
	}
	if (ret < 0) {
		fail_err(&err);
		return -1;
	}
	printf("%s: detached\n", dev);
	return 0;
}

int cmd_detach_all(int argc, char **argv)
{
	struct prld_err err = { 0 };
	struct prld_dev_info *list;
	unsigned int n, i, failed = 0;

	if (argc != 1)
		return usage_error("no arguments expected");
	(void)argv;
	if (prld_dev_list(&list, &n, &err) < 0)
		return fail_err(&err);
	/* Newest first: a disk whose images live on an older one goes first. */
	for (i = n; i-- > 0;) {
		if (detach_device(list[i].device) < 0)
			failed++;
		prld_dev_info_free(&list[i]);
	}
	free(list);
	return failed ? PRLDCTL_EXIT_FAIL : PRLDCTL_EXIT_OK;
}
