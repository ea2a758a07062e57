// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * test_compact.c - prld_compact: holes (leaked and punched clusters) in
 * the top and in lower layers filled by the last clusters, files cut
 * after their last cluster, every state read back byte for byte, check
 * clean; several batches; V1; a raw base left alone; an image with
 * nothing to give back left untouched; refusals; and a crash at each
 * named step (a forked child stopped by PRLD_TEST_COMPACT_CRASH) followed
 * by check --repair and a second compaction.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define CL_SECTORS	128U			/* 64 KiB clusters */
#define CL_BYTES	(CL_SECTORS * 512U)
#define DISK_SECTORS	131072U			/* 64 MiB, 1024 clusters */
#define DISK_BYTES	((uint64_t)DISK_SECTORS * 512U)
#define RW		(PRLD_OPEN_READ | PRLD_OPEN_WRITE)
#define CRASH_EXIT	86

/* The whole disk (or snapshot @guid's state) as prld reads it. */
static uint8_t *read_state(const char *dir, const char *guid)
{
	struct prld_err err = { 0 };
	struct prld_disk *d = NULL;
	uint8_t *buf = malloc(DISK_BYTES);

	if (!buf || prld_open_snapshot(dir, guid, PRLD_OPEN_READ, NULL, &d,
				       &err) ||
	    prld_pread(d, buf, DISK_BYTES, 0, &err)) {
		printf("# read %s: %s\n", dir, err.msg);
		bail_out("read");
	}
	prld_close(d, NULL);
	return buf;
}

/* Every cluster of the disk written, through prld. */
static void fill_disk(const char *dir)
{
	struct prld_disk *d = open_disk(dir, RW, 0);
	uint8_t *buf = malloc(4 << 20);
	uint64_t off;

	if (!d || !buf)
		bail_out("fill");
	for (off = 0; off < DISK_BYTES; off += 4 << 20) {
		fill_random(buf, 4 << 20);
		if (prld_pwrite(d, buf, 4 << 20, off, NULL))
			bail_out("fill write");
	}
	prld_close(d, NULL);
	free(buf);
}

/*
 * Unmap clusters [first, first + n) of @image (as a discard or a leak
 * leaves them): entries cleared, and with @punch their space punched.
 */
static void unmap(const char *image, uint32_t first, uint32_t n, bool punch)
{
	uint32_t i, entry, zero = 0;
	struct prld_image *hdr;
	struct prld_geom g;
	uint64_t off;
	int fd = open(image, O_RDWR);

	if (fd < 0 || image_open_header(image, PRLD_LAYER_EXPANDING, 0, 0,
					&hdr, NULL))
		bail_out(image);
	g = hdr->geom;
	image_close(hdr, NULL);
	for (i = first; i < first + n; i++) {
		if (pread(fd, &entry, 4, 64 + 4ULL * i) != 4)
			bail_out("pread");
		entry = le32toh(entry);
		if (!entry)
			continue;
		off = prld_bat_to_offset(&g, entry);
		if (punch && fallocate(fd, FALLOC_FL_PUNCH_HOLE |
				       FALLOC_FL_KEEP_SIZE, (off_t)off,
				       CL_BYTES))
			bail_out("punch");
		if (pwrite(fd, &zero, 4, 64 + 4ULL * i) != 4)
			bail_out("pwrite");
	}
	close(fd);
}

static int compact(const char *path, struct prld_compact_report *rep,
		   struct prld_err *err)
{
	memset(err, 0, sizeof(*err));
	return prld_compact(path, rep, err);
}

/* One layer, half its clusters unmapped (some punched), two batches. */
static void test_top(int fmt)
{
	char *dir = tpath("top-v%d", fmt), *img = tpath("top-v%d/root.hds", fmt);
	struct prld_create_params p = {
		.size_sectors = DISK_SECTORS, .cluster_sectors = CL_SECTORS,
		.fmt = fmt,
	};
	struct prld_compact_report rep;
	struct prld_err err = { 0 };
	uint64_t data_start, before;
	uint8_t *ref, *got;
	const char *tag = fmt == PRLD_FMT_V1 ? "v1" : "v2";

	if (prld_create_disk(dir, &p, &err))
		bail_out("create");
	fill_disk(dir);
	/* Clusters 0..511 go (half of them punched), and 600..602. */
	unmap(img, 0, 256, true);
	unmap(img, 256, 256, false);
	unmap(img, 600, 3, true);
	ref = read_state(dir, NULL);
	before = file_size(img);
	data_start = before - 1024ULL * CL_BYTES;
	is_int(compact(dir, &rep, &err), 0, "%s: compact (%s)", tag, err.msg);
	is_int(rep.n, 1, "%s: one image reported", tag);
	is_int(rep.n ? rep.images[0].moved : 0, 509,
	       "%s: the 509 clusters above the holes moved", tag);
	is_int(rep.n ? rep.images[0].size_before : 0, before,
	       "%s: the length before", tag);
	is_int(file_size(img), data_start + 509ULL * CL_BYTES,
	       "%s: the file ends after its 509 clusters", tag);
	is_int(rep.n ? rep.images[0].size_after : 0, file_size(img),
	       "%s: the length after", tag);
	ok(rep.n && rep.images[0].used_after < rep.images[0].used_before,
	   "%s: it takes less space", tag);
	got = read_state(dir, NULL);
	ok(!memcmp(got, ref, DISK_BYTES), "%s: the disk reads the same", tag);
	is_int(hdr32(img, PRLD_OFF_INUSE), 0, "%s: in-use flag clear", tag);
	check_clean(dir, tag);
	prld_compact_report_free(&rep);
	free(got);

	/* Again: nothing to do, nothing touched. */
	before = file_size(img);
	is_int(compact(dir, &rep, &err), 0, "%s: compact again", tag);
	is_int(rep.n ? rep.images[0].moved : 1, 0, "%s: nothing moved", tag);
	is_int(file_size(img), before, "%s: same length", tag);
	prld_compact_report_free(&rep);
	free(ref);
}

/* Every image of the tree, a raw base included (left as it is). */
static void test_chain(void)
{
	char *dir = tpath("chain"), g[PRLD_GUID_LEN + 1];
	struct prld_compact_report rep;
	struct prld_err err = { 0 };
	uint8_t *ref_s, *ref_top, *got;
	unsigned int i, shrank = 0;
	char *desc, *t, *out, *top = NULL;
	uint64_t len;
	int fd;

	if (create_disk_dir(dir, DISK_SECTORS, CL_SECTORS, false))
		bail_out("create");
	fill_disk(dir);
	if (prld_snapshot(dir, g, &err))
		bail_out("snapshot");
	fill_disk(dir);
	{
		struct prld_desc *d = load_desc(dir);
		int ti = d ? desc_find_image(d, PRLD_TOP_GUID) : -1;

		if (ti < 0)
			bail_out("top");
		top = strdup(tpath("chain/%s", d->images[ti].file));
		desc_free(d);
	}
	unmap(tpath("chain/root.hds"), 100, 300, true);
	unmap(top, 0, 200, true);
	ref_s = read_state(dir, g);
	ref_top = read_state(dir, NULL);
	is_int(compact(dir, &rep, &err), 0, "chain: compact (%s)", err.msg);
	is_int(rep.n, 2, "chain: both images reported");
	for (i = 0; i < rep.n; i++)
		shrank += rep.images[i].size_after < rep.images[i].size_before;
	is_int(shrank, 2, "chain: both files shrank");
	got = read_state(dir, g);
	ok(!memcmp(got, ref_s, DISK_BYTES), "chain: the snapshot reads the same");
	free(got);
	got = read_state(dir, NULL);
	ok(!memcmp(got, ref_top, DISK_BYTES), "chain: the top reads the same");
	free(got);
	check_clean(dir, "chain");
	prld_compact_report_free(&rep);
	free(ref_s);
	free(ref_top);
	free(top);

	/* A raw base: reported as raw, untouched. */
	dir = tpath("plain");
	if (create_disk_dir(dir, DISK_SECTORS, CL_SECTORS, false))
		bail_out("create");
	fd = open(tpath("plain/root.hds"), O_WRONLY | O_TRUNC);
	if (fd < 0 || ftruncate(fd, DISK_BYTES))
		bail_out("plain");
	close(fd);
	desc = slurp(tpath("plain/DiskDescriptor.xml"), &len);
	t = desc ? strstr(desc, "<Type>Compressed</Type>") : NULL;
	if (!t || asprintf(&out, "%.*s<Type>Plain</Type>%s", (int)(t - desc),
			   desc, t + strlen("<Type>Compressed</Type>")) < 0)
		bail_out("desc");
	if (write_bytes(tpath("plain/DiskDescriptor.xml"), out, strlen(out), 0))
		bail_out("desc");
	if (truncate(tpath("plain/DiskDescriptor.xml"), (off_t)strlen(out)))
		bail_out("desc");
	free(out);
	free(desc);
	if (prld_snapshot(dir, g, &err))
		bail_out("snapshot plain");
	is_int(compact(dir, &rep, &err), 0, "plain base: compact (%s)",
	       err.msg);
	ok(rep.n == 2 && rep.images[0].raw && !rep.images[0].moved &&
	   rep.images[0].size_after == DISK_BYTES,
	   "plain base: reported raw, left as it is");
	prld_compact_report_free(&rep);
	check_clean(dir, "plain base");
}

static void test_refusals(void)
{
	char *dir = tpath("busy");
	struct prld_compact_report rep;
	struct prld_err err = { 0 };
	int fd, ret;

	if (create_disk_dir(dir, DISK_SECTORS, CL_SECTORS, false))
		bail_out("create");
	fd = open(tpath("busy/root.hds"), O_RDONLY);
	ok(fd >= 0 && flock(fd, LOCK_SH) == 0, "busy: a reader holds the image");
	ret = compact(dir, &rep, &err);
	is_int(ret, -EBUSY, "busy: -EBUSY");
	like(err.msg, "in use", "busy: ... says in use");
	close(fd);
	fd = open(tpath("junk"), O_WRONLY | O_CREAT, 0644);
	if (fd < 0 || write(fd, "not an image at all", 19) != 19)
		bail_out("junk");
	close(fd);
	is_int(compact(tpath("junk"), &rep, &err), -EINVAL, "junk: -EINVAL");
	like(err.msg, "not a Parallels image", "junk: ... says so");
	mkdir(tpath("nodesc"), 0755);
	is_int(compact(tpath("nodesc"), &rep, &err), -ENOENT,
	       "a directory without a descriptor: -ENOENT");
	like(err.msg, "DiskDescriptor.xml", "... names what is missing");
}

static void compact_quietly(const void *dir)
{
	struct prld_compact_report rep;
	struct prld_err err = { 0 };

	if (prld_compact(dir, &rep, &err) == 0)
		prld_compact_report_free(&rep);
}

/* In a child: compact @dir and die at @step; its exit status. */
static int crash_at(const char *dir, const char *step)
{
	return crash_in_child("PRLD_TEST_COMPACT_CRASH", step,
			      compact_quietly, dir);
}

/* check: exit status, and whether the in-use flag is among the findings. */
static int check_status(const char *dir, bool repair, bool *inuse)
{
	struct prld_report rep;
	struct prld_err err = { 0 };
	unsigned int i;
	int st;

	*inuse = false;
	if (prld_check(dir, repair, &rep, &err))
		return -1;
	for (i = 0; i < rep.count; i++)
		if (strstr(rep.items[i].msg, "in-use flag"))
			*inuse = true;
	st = prld_report_exit_status(&rep);
	prld_report_free(&rep);
	return st;
}

static void test_crash(void)
{
	static const char *const steps[] = {
		"begin", "move:1", "move:300", "commit:1", "synced",
	};
	struct prld_compact_report rep;
	struct prld_err err = { 0 };
	unsigned int k;
	uint8_t *ref, *got;
	bool inuse;
	int st;

	for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		char *dir = tpath("crash-%u", k);
		char *img = tpath("crash-%u/root.hds", k);
		uint64_t final;

		if (create_disk_dir(dir, DISK_SECTORS, CL_SECTORS, false))
			bail_out("create");
		fill_disk(dir);
		unmap(img, 0, 512, k % 2);
		ref = read_state(dir, NULL);
		final = file_size(img) - 512ULL * CL_BYTES;
		is_int(crash_at(dir, steps[k]), CRASH_EXIT,
		       "crash at %s: the child died there", steps[k]);
		got = read_state(dir, NULL);
		ok(!memcmp(got, ref, DISK_BYTES),
		   "crash at %s: the disk reads the same", steps[k]);
		free(got);
		st = check_status(dir, false, &inuse);
		ok(st == 2 && inuse,
		   "crash at %s: check names the in-use flag (exit %d)",
		   steps[k], st);
		st = check_status(dir, true, &inuse);
		ok(st == 0 || st == 3, "crash at %s: check --repair (exit %d)",
		   steps[k], st);
		got = read_state(dir, NULL);
		ok(!memcmp(got, ref, DISK_BYTES),
		   "crash at %s: after the repair too", steps[k]);
		free(got);
		is_int(compact(dir, &rep, &err), 0,
		       "crash at %s: compact again (%s)", steps[k], err.msg);
		prld_compact_report_free(&rep);
		is_int(file_size(img), final,
		       "crash at %s: the file ends after its last cluster",
		       steps[k]);
		got = read_state(dir, NULL);
		ok(!memcmp(got, ref, DISK_BYTES),
		   "crash at %s: the disk reads the same at the end", steps[k]);
		free(got);
		check_clean(dir, steps[k]);
		free(ref);
	}
}

int main(void)
{
	tmpdir_make("compact");
	rnd_seed(17);
	test_top(PRLD_FMT_V2);
	test_top(PRLD_FMT_V1);
	test_chain();
	test_refusals();
	test_crash();
	ok(tmpdir_remove() == 0, "scratch directory removed");
	return tap_done();
}
