/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * prldtab.c: reading /etc/prldtab (prldtab(5)), one disk a line:
 *   <disk> [<options>]   options: ro, rw, offset=SIZE, direct-io=MODE,
 *                        no-partscan, noauto, nofail (or "defaults")
 */
#ifndef PRLDCTL_PRLDTAB_H
#define PRLDCTL_PRLDTAB_H

#include <stdbool.h>

#include "prld.h"

#define PRLDTAB_PATH "/etc/prldtab"

struct tab_entry {
	unsigned int line;
	char *disk;			/* absolute path, escapes undone */
	struct prld_attach_opts opts;
	bool noauto;			/* attach-all leaves it */
	bool nofail;			/* its failure does not fail attach-all */
};

struct tab {
	const char *path;
	unsigned int n;
	struct tab_entry *entries;	/* in the file's order */
	unsigned int bad_lines;		/* reported on stderr, left out */
};

/*
 * Read @path: every line that cannot be understood is reported on stderr
 * as "prldctl: PATH:LINE: reason" and counted, the others are kept.
 * -1 (reported) when the file cannot be read at all.
 */
int tab_load(const char *path, struct tab *tab);
void tab_free(struct tab *tab);
/* The entry's options as the table would write them ("ro,offset=1048576"). */
void tab_options_text(const struct tab_entry *e, char *buf, size_t len);

#endif /* PRLDCTL_PRLDTAB_H */
