// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libFuzzer target: the input is an image file.
 *
 * It goes through the shared validators directly (as the kernel runs them),
 * then, from a memfd, through prld_check() and the opener image_open(), the
 * two library paths that read untrusted images.  Besides "no crash, no
 * leak" (the sanitizers' job) two promises are asserted, because a
 * disagreement between them is the bug a user would meet:
 *
 *  - the checker is at least as strict as the opener: an image the check
 *    passes without corruption always opens;
 *  - a repair leaves no corruption behind, unless it said it could not
 *    repair the image (bad header), and a repaired image opens.
 *
 * The repair runs last, on the memfd, so it never touches a real file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void validators(const uint8_t *data, size_t size)
{
	struct prld_geom g;
	struct prld_fault f;
	__u8 *seen;

	if (prld_header_check(data, size, size, &g, &f) != PRLD_OK)
		return;
	/* A valid header puts the BAT inside the @size bytes. */
	seen = calloc((size_t)(prld_data_slots(&g, size) / 8 + 1), 1);
	if (!seen)
		abort();
	prld_bat_check(&g, data + PRLD_BAT_OFFSET, g.bat_entries, size, seen,
		       &f);
	free(seen);
}

static bool opens(const char *path)
{
	struct prld_err err = { 0 };
	struct prld_image *img;

	if (image_open(path, PRLD_LAYER_EXPANDING, false, 0, 0, &img, &err))
		return false;
	image_close(img, &err);
	return true;
}

static bool said_cannot_repair(const struct prld_report *rep)
{
	unsigned int i;

	for (i = 0; i < rep->count; i++)
		if (rep->items[i].severity == PRLD_SEV_NOTE &&
		    strstr(rep->items[i].msg, "cannot repair"))
			return true;
	return false;
}

/* Fail loudly with the finding list, so a reproducer explains itself. */
static void fail(const char *why, const struct prld_report *rep)
{
	unsigned int i;

	fprintf(stderr, "fuzz_image: %s\n", why);
	for (i = 0; rep && i < rep->count; i++)
		fprintf(stderr, "  %d %s\n", rep->items[i].severity,
			rep->items[i].msg);
	abort();
}

static void check_and_open(const char *path)
{
	struct prld_err err = { 0 };
	struct prld_report rep;
	int ret;

	ret = prld_check(path, false, &rep, &err);
	if (ret == 0 && rep.corrupt == 0 && !opens(path))
		fail("check found no corruption but image_open refused",
		     &rep);
	if (ret != 0)
		opens(path);
	prld_report_free(&rep);
}

static void repair(const char *path)
{
	struct prld_err err = { 0 };
	struct prld_report rep;

	if (prld_check(path, true, &rep, &err))
		return;
	if (rep.corrupt && !said_cannot_repair(&rep))
		fail("corruption left after a repair", &rep);
	if (!rep.corrupt && !opens(path))
		fail("repaired image does not open", &rep);
	prld_report_free(&rep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd;

	validators(data, size);
	fd = memfd_create("fuzz_image", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && prld_pwrite_full(fd, data, size, 0))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	check_and_open(path);
	repair(path);
	close(fd);
	return 0;
}
