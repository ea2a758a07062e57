// SPDX-License-Identifier: GPL-2.0-or-later
/* prldctl: error reporting, option values, JSON and disk helpers. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static const struct command *current;

void set_current_command(const struct command *cmd)
{
	current = cmd;
}

static void vreport(const char *fmt, va_list ap)
{
	fputs("prldctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	return PRLDCTL_EXIT_FAIL;
}

int fail_err(const struct prld_err *err)
{
	if (err->msg[0])
		return fail("%s", err->msg);
	return fail("%s", strerror(-err->code));
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	if (current)
		fprintf(stderr, "usage: prldctl %s %s\n", current->name,
			current->usage);
	else
		fprintf(stderr, "see 'prldctl --help'\n");
	return PRLDCTL_EXIT_FAIL;
}

int parse_size_arg(const char *opt, const char *text, uint64_t *bytes)
{
	if (prld_parse_size(text, bytes) < 0)
		return usage_error("%s: '%s' is not a size (e.g. 512, 64K, 10G)",
				   opt, text);
	return 0;
}

int parse_u32_arg(const char *opt, const char *text, uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || v > UINT32_MAX)
		return usage_error("%s: '%s' is not a number up to %u", opt,
				   text, UINT32_MAX);
	*out = (uint32_t)v;
	return 0;
}

const char *human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB",
					     "TiB", "PiB", "EiB" };
	unsigned int u = 0;
	double v = (double)bytes;

	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (u == 0 || v == (double)(uint64_t)v)
		snprintf(buf, len, "%.0f %s", v, units[u]);
	else
		snprintf(buf, len, "%.2f %s", v, units[u]);
	return buf;
}

void json_print(struct json_object *obj)
{
	puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
}

struct json_object *json_u64(uint64_t v)
{
	/* json-c holds int64; every size here is far below 2^63. */
	return json_object_new_int64((int64_t)v);
}

const char *bytes_str(uint64_t bytes, char *buf, size_t len)
{
	char human[32];

	if (bytes < 1024)
		snprintf(buf, len, "%" PRIu64 " bytes", bytes);
	else
		snprintf(buf, len, "%" PRIu64 " bytes (%s)", bytes,
			 human_size(bytes, human, sizeof(human)));
	return buf;
}

struct prld_disk *open_disk(const char *path, unsigned int flags,
			    uint64_t offset)
{
	return open_disk_state(path, NULL, flags, offset);
}

struct prld_disk *open_disk_state(const char *path, const char *snapshot,
				  unsigned int flags, uint64_t offset)
{
	struct prld_policy policy = { .offset = offset };
	struct prld_err err = { 0 };
	struct prld_disk *disk = NULL;

	if (prld_open_snapshot(path, snapshot, flags, &policy, &disk,
			       &err) < 0) {
		fail_err(&err);
		return NULL;
	}
	return disk;
}

int close_disk(struct prld_disk *disk, int status)
{
	struct prld_err err = { 0 };

	if (prld_close(disk, &err) < 0) {
		fail_err(&err);
		return PRLDCTL_EXIT_FAIL;
	}
	return status;
}
