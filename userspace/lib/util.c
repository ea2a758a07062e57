// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * util.c - error messages, size parsing, full-length I/O and path helpers
 * shared by the rest of libprld.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

int prld_set_err(struct prld_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int prld_not_image_err(struct prld_err *err, const char *path)
{
	return prld_set_err(err, -EINVAL,
			    "%s: not a Parallels image (its first 16 bytes are neither \"%s\" nor \"%s\")",
			    path, PRLD_MAGIC_V1, PRLD_MAGIC_V2);
}

bool prld_buf_has_magic(const void *buf, size_t len)
{
	return len >= PRLD_MAGIC_LEN &&
	       (!memcmp(buf, PRLD_MAGIC_V1, PRLD_MAGIC_LEN) ||
		!memcmp(buf, PRLD_MAGIC_V2, PRLD_MAGIC_LEN));
}

int prld_sys_err(struct prld_err *err, int code, const char *path,
		 const char *what)
{
	return prld_set_err(err, code, "%s: %s: %s", path, what,
			    strerror(-code));
}

/* Name of the header field at byte offset @off, as the format notes say. */
static const char *header_field_name(__u32 off)
{
	switch (off) {
	case PRLD_OFF_VERSION:
		return "version";
	case PRLD_OFF_HEADS:
		return "heads";
	case PRLD_OFF_CYLINDERS:
		return "cylinders";
	case PRLD_OFF_TRACKS:
		return "tracks";
	case PRLD_OFF_BAT_ENTRIES:
		return "bat_entries";
	case PRLD_OFF_NB_SECTORS:
		return "nb_sectors";
	case PRLD_OFF_INUSE:
		return "inuse";
	case PRLD_OFF_DATA_OFF:
		return "data_off";
	case PRLD_OFF_FLAGS:
		return "flags";
	case PRLD_OFF_EXT_OFF:
		return "ext_off";
	default:
		return "header";
	}
}

static bool fault_is_bat(enum prld_status s)
{
	return s >= PRLD_E_BAT_LOW && s <= PRLD_E_BAT_DUP;
}

int prld_fault_err(struct prld_err *err, const char *file,
		   const struct prld_fault *f)
{
	const char *rule = prld_status_str(f->status);
	char field[64];
	char limit[48] = "";

	if (f->status == PRLD_E_MAGIC)
		return prld_set_err(err, -EINVAL,
				    "%s: %s (magic: bytes 0x00-0x0f)",
				    file, rule);
	if (fault_is_bat(f->status))
		snprintf(field, sizeof(field), "BAT entry %u", f->field);
	else if (f->status == PRLD_E_SHORT)
		snprintf(field, sizeof(field), "file size");
	else
		snprintf(field, sizeof(field), "%s",
			 header_field_name(f->field));
	/* A limit of 0 means the rule has no single bound to show. */
	if (f->limit)
		snprintf(limit, sizeof(limit), ", limit %llu",
			 (unsigned long long)f->limit);
	return prld_set_err(err, -EINVAL, "%s: %s (%s: value %llu%s)", file,
			    rule, field, (unsigned long long)f->value, limit);
}

bool prld_test_step_is(const char *want, const char *step, uint64_t k)
{
	char buf[48];

	if (!want)
		return false;
	if (k)
		snprintf(buf, sizeof(buf), "%s:%llu", step,
			 (unsigned long long)k);
	else
		snprintf(buf, sizeof(buf), "%s", step);
	return !strcmp(want, buf);
}

int prld_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;	/* the file ended before the data */
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int prld_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Drop trailing slashes, keeping a lone "/". */
static void strip_slashes(char *s)
{
	size_t n = strlen(s);

	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
}

char *prld_dirname(const char *path)
{
	char *dup = strdup(path);
	char *slash;

	if (!dup)
		return NULL;
	strip_slashes(dup);
	slash = strrchr(dup, '/');
	if (!slash) {
		free(dup);
		return strdup(".");
	}
	if (slash == dup)
		slash[1] = '\0';	/* "/name" -> "/" */
	else
		*slash = '\0';
	strip_slashes(dup);
	return dup;
}

char *prld_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	const char *sep = dl && dir[dl - 1] == '/' ? "" : "/";
	char *out;

	if (asprintf(&out, "%s%s%s", dir, sep, name) < 0)
		return NULL;
	return out;
}

int prld_fsync_dir(const char *path)
{
	char *dir = prld_dirname(path);
	int fd, ret = 0;

	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -errno;
	/* Some file systems cannot sync a directory; nothing to do then. */
	if (fsync(fd) < 0 && errno != EINVAL)
		ret = -errno;
	close(fd);
	return ret;
}

/* Shift for a binary suffix letter, -1 if @c is not one. */
static int suffix_shift(char c)
{
	switch (c) {
	case 'k': case 'K':
		return 10;
	case 'm': case 'M':
		return 20;
	case 'g': case 'G':
		return 30;
	case 't': case 'T':
		return 40;
	default:
		return -1;
	}
}

/* Accept "", "B", "iB" (any case) after a suffix letter; "" or "B" after none. */
static bool unit_tail_ok(const char *s, bool had_letter)
{
	if (!*s)
		return true;
	if ((s[0] == 'b' || s[0] == 'B') && !s[1])
		return true;
	return had_letter && (s[0] == 'i' || s[0] == 'I') &&
	       (s[1] == 'b' || s[1] == 'B') && !s[2];
}

/*
 * The digits after a decimal point ("5" of "1.5G", up to 9 of them):
 * @num / @den, 0 / 1 when there is no point.  -EINVAL for a point
 * without digits.
 */
static int parse_fraction(const char **pp, uint64_t *num, uint64_t *den)
{
	const char *p = *pp;

	*num = 0;
	*den = 1;
	if (*p != '.')
		return 0;
	for (p++; *p >= '0' && *p <= '9'; p++) {
		if (*den == 1000000000ULL)
			return -EINVAL;
		*num = *num * 10 + (uint64_t)(*p - '0');
		*den *= 10;
	}
	if (*den == 1)
		return -EINVAL;
	*pp = p;
	return 0;
}

int prld_parse_size(const char *text, uint64_t *bytes)
{
	uint64_t v = 0, num, den, part;
	const char *p = text;
	int shift;

	if (!text || *p < '0' || *p > '9')
		return -EINVAL;	/* empty, sign, space or garbage */
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (parse_fraction(&p, &num, &den))
		return -EINVAL;
	shift = suffix_shift(*p);
	if (shift >= 0)
		p++;
	if (!unit_tail_ok(p, shift >= 0))
		return -EINVAL;
	shift = shift < 0 ? 0 : shift;
	/* "1.5G": the fraction of the unit, which must be whole bytes. */
	if (((unsigned __int128)num << shift) % den)
		return -EINVAL;
	part = (uint64_t)(((unsigned __int128)num << shift) / den);
	if (v > (UINT64_MAX >> shift) || (v << shift) > UINT64_MAX - part)
		return -ERANGE;
	*bytes = (v << shift) + part;
	return 0;
}
