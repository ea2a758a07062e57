// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldtab.c - the /etc/prldtab parser (format in prldtab(5), in the manner
 * of fstab and crypttab): white-space separated fields, '#' comments,
 * octal escapes (\040 for a space) in the disk's path.  A bad line is
 * named and skipped; it never stops the lines after it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prldtab.h"
#include "tool.h"

#define FIELD_SEP " \t"

/* fstab's escapes: \NNN (octal) stands for one byte. */
static void unescape(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
					(s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

static int bad(const struct tab *tab, unsigned int line, const char *what,
	       const char *value)
{
	fail("%s:%u: %s%s%s%s", tab->path, line, what, value ? " '" : "",
	     value ? value : "", value ? "'" : "");
	return -1;
}

static int parse_dio(const char *v, enum prld_direct_io *dio)
{
	if (!strcmp(v, "on"))
		*dio = PRLD_DIO_ON;
	else if (!strcmp(v, "off"))
		*dio = PRLD_DIO_OFF;
	else if (!strcmp(v, "auto"))
		*dio = PRLD_DIO_AUTO;
	else
		return -1;
	return 0;
}

/* One option of @e; -1 (reported) if it is not one. */
static int parse_option(const struct tab *tab, struct tab_entry *e,
			char *opt)
{
	char *value = strchr(opt, '=');

	if (value)
		*value++ = '\0';
	if (!value && !strcmp(opt, "ro"))
		e->opts.read_only = true;
	else if (!value && !strcmp(opt, "rw"))
		e->opts.read_only = false;
	else if (!value && !strcmp(opt, "noauto"))
		e->noauto = true;
	else if (!value && !strcmp(opt, "nofail"))
		e->nofail = true;
	else if (!value && !strcmp(opt, "no-partscan"))
		e->opts.no_partscan = true;
	else if (value && !strcmp(opt, "offset")) {
		if (prld_parse_size(value, &e->opts.offset) < 0 ||
		    e->opts.offset % 512)
			return bad(tab, e->line,
				   "offset: not a size in whole sectors",
				   value);
	} else if (value && !strcmp(opt, "direct-io")) {
		if (parse_dio(value, &e->opts.direct_io) < 0)
			return bad(tab, e->line,
				   "direct-io: not on, off or auto", value);
	} else {
		if (value)
			value[-1] = '=';	/* name it as written */
		return bad(tab, e->line, "unknown option", opt);
	}
	return 0;
}

static int parse_options(const struct tab *tab, struct tab_entry *e,
			 char *text)
{
	char *opt, *save = NULL;

	if (!text || !strcmp(text, "defaults") || !strcmp(text, "-"))
		return 0;
	if (text[0] == ',' || strstr(text, ",,") || text[strlen(text) - 1] == ',')
		return bad(tab, e->line, "empty option in", text);
	for (opt = strtok_r(text, ",", &save); opt;
	     opt = strtok_r(NULL, ",", &save))
		if (parse_option(tab, e, opt) < 0)
			return -1;
	return 0;
}

/* Line @n of the table (comments and blank lines give 0, nothing kept). */
static int parse_line(struct tab *tab, unsigned int n, char *text,
		      struct tab_entry *e)
{
	char *save = NULL, *disk, *options;

	memset(e, 0, sizeof(*e));
	e->line = n;
	text[strcspn(text, "\n")] = '\0';
	disk = strtok_r(text, FIELD_SEP, &save);
	if (!disk || disk[0] == '#')
		return 0;
	options = strtok_r(NULL, FIELD_SEP, &save);
	if (strtok_r(NULL, FIELD_SEP, &save))
		return bad(tab, n, "more than two fields (escape a space in a path as \\040)",
			   NULL);
	unescape(disk);
	if (disk[0] != '/')
		return bad(tab, n, "the disk must be an absolute path", disk);
	if (parse_options(tab, e, options) < 0)
		return -1;
	e->disk = strdup(disk);
	if (!e->disk)
		return bad(tab, n, "out of memory", NULL);
	return 1;
}

static int keep(struct tab *tab, const struct tab_entry *e)
{
	struct tab_entry *grown;

	grown = realloc(tab->entries, (tab->n + 1) * sizeof(*grown));
	if (!grown)
		return -1;
	tab->entries = grown;
	tab->entries[tab->n++] = *e;
	return 0;
}

/* Report a failure to read the table itself; -1. */
static int unreadable(const char *path, const char *why)
{
	fail("%s: cannot read: %s", path, why);
	return -1;
}

int tab_load(const char *path, struct tab *tab)
{
	struct tab_entry e;
	unsigned int n = 0;
	size_t cap = 0;
	char *line = NULL;
	FILE *f;
	int ret = 0, r;

	memset(tab, 0, sizeof(*tab));
	tab->path = path;
	f = fopen(path, "re");
	if (!f)
		return unreadable(path, strerror(errno));
	while (!ret && getline(&line, &cap, f) >= 0) {
		r = parse_line(tab, ++n, line, &e);
		if (r < 0)
			tab->bad_lines++;
		if (r > 0 && keep(tab, &e) < 0) {
			free(e.disk);
			ret = unreadable(path, "out of memory");
		}
	}
	if (!ret && ferror(f))
		ret = unreadable(path, strerror(errno));
	free(line);
	fclose(f);
	if (ret)
		tab_free(tab);
	return ret;
}

void tab_free(struct tab *tab)
{
	unsigned int i;

	for (i = 0; i < tab->n; i++)
		free(tab->entries[i].disk);
	free(tab->entries);
	tab->entries = NULL;
	tab->n = 0;
}

void tab_options_text(const struct tab_entry *e, char *buf, size_t len)
{
	static const char *const dio[] = {
		[PRLD_DIO_AUTO] = "auto", [PRLD_DIO_ON] = "on",
		[PRLD_DIO_OFF] = "off",
	};

	snprintf(buf, len, "%s,direct-io=%s,offset=%llu%s%s%s",
		 e->opts.read_only ? "ro" : "rw", dio[e->opts.direct_io],
		 (unsigned long long)e->opts.offset,
		 e->opts.no_partscan ? ",no-partscan" : "",
		 e->noauto ? ",noauto" : "", e->nofail ? ",nofail" : "");
}
