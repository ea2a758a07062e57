// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * test_snapshot.c - offline prld_snapshot, prld_revert and
 * prld_list_snapshots: data at every level read back exactly, the
 * descriptor they leave behind, vendor elements kept, change maps between
 * snapshots, and every refusal (unknown GUID, the top, a bare image, a
 * disk in use, a dirty top, a failed descriptor save).
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define CL_SECTORS	128U			/* 64 KiB clusters */
#define CL_BYTES	(CL_SECTORS * 512U)
#define DISK_SECTORS	8192U			/* 4 MiB, 64 clusters */
#define DISK_BYTES	(DISK_SECTORS * 512U)
#define NCL		(DISK_SECTORS / CL_SECTORS)
#define RW		(PRLD_OPEN_READ | PRLD_OPEN_WRITE)

/* ---- helpers -------------------------------------------------------- */

static int snap(const char *dir, char guid[PRLD_GUID_LEN + 1])
{
	struct prld_err err = { 0 };
	int ret = prld_snapshot(dir, guid, &err);

	if (ret)
		printf("# snapshot %s: %s\n", dir, err.msg);
	return ret;
}

static int revert(const char *dir, const char *guid)
{
	struct prld_err err = { 0 };
	int ret = prld_revert(dir, guid, &err);

	if (ret)
		printf("# revert %s: %s\n", dir, err.msg);
	return ret;
}

/* @n random writes into the disk at @dir, mirrored into @ref. */
static void scribble(const char *dir, uint8_t *ref, unsigned int n)
{
	struct prld_disk *d = open_disk(dir, RW, 0);

	if (!d)
		bail_out(dir);
	random_writes(d, ref, DISK_BYTES, n, 3 * CL_BYTES);
	is_int(prld_close(d, NULL), 0, "close after writing");
}

/* Write @len random bytes at @off, also into @ref. */
static void write_at(const char *dir, uint8_t *ref, uint64_t off,
		     size_t len)
{
	struct prld_disk *d = open_disk(dir, RW, 0);

	if (!d)
		bail_out(dir);
	fill_random(ref + off, len);
	if (prld_pwrite(d, ref + off, len, off, NULL) ||
	    prld_close(d, NULL))
		bail_out(dir);
}

/* Entry index of @guid in the model, -1 if absent. */
static int shot_of(const struct prld_desc *d, const char *guid)
{
	unsigned int i;

	for (i = 0; i < d->nshots; i++)
		if (!strcmp(d->shots[i].guid, guid))
			return (int)i;
	return -1;
}

static int image_of(const struct prld_desc *d, const char *guid)
{
	unsigned int i;

	for (i = 0; i < d->nimages; i++)
		if (!strcmp(d->images[i].guid, guid))
			return (int)i;
	return -1;
}

/* How many entries of @dir there are, "." and ".." aside. */
static unsigned int dir_entries(const char *dir)
{
	struct dirent *e;
	unsigned int n = 0;
	DIR *dh = opendir(dir);

	if (!dh)
		bail_out(dir);
	while ((e = readdir(dh)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(dh);
	return n;
}

/* ---- snapshot, write, revert ---------------------------------------- */

static void check_snapshot_desc(const char *dir, const char *s)
{
	struct prld_desc *d = load_desc(dir);
	unsigned int *idx = NULL, n = 0;
	char file[128];
	int ti, si;

	if (!ok(d != NULL, "descriptor loads after the snapshot"))
		return;
	is_int(d->nimages, 2, "two images");
	ok(!strcmp(d->top_guid, PRLD_TOP_GUID), "TopGUID is the top GUID");
	ti = image_of(d, PRLD_TOP_GUID);
	si = shot_of(d, PRLD_TOP_GUID);
	snprintf(file, sizeof(file), "root.hds.%s", s);
	ok(ti >= 0 && !strcmp(d->images[ti].file, file),
	   "the new top is root.hds.{snapshot GUID}");
	ok(si >= 0 && !strcmp(d->shots[si].parent, s),
	   "the new top's parent is the snapshot");
	ok(image_of(d, s) >= 0 &&
	   !strcmp(d->images[image_of(d, s)].file, "root.hds"),
	   "the old top (root.hds) carries the snapshot GUID");
	ok(shot_of(d, s) >= 0 &&
	   !strcmp(d->shots[shot_of(d, s)].parent, PRLD_ZERO_GUID),
	   "the snapshot is the root");
	is_int(desc_chain(d, NULL, &idx, &n, NULL), 0, "chain walks");
	is_int(n, 2, "chain of two");
	free(idx);
	desc_free(d);
}

static void test_snapshot_revert(void)
{
	uint8_t *a = calloc(1, DISK_BYTES), *b = malloc(DISK_BYTES);
	char s[PRLD_GUID_LEN + 1] = "", *dir = tpath("sr");

	if (!a || !b || create_disk_dir(dir, DISK_SECTORS, CL_SECTORS, false))
		bail_out("setup");
	scribble(dir, a, 40);
	if (!ok(snap(dir, s) == 0, "snapshot"))
		return;
	ok(desc_guid_valid(s) && strcmp(s, PRLD_TOP_GUID),
	   "snapshot GUID %s is a fresh GUID", s);
	ok(access(tpath("sr/root.hds.%s", s), F_OK) == 0,
	   "new delta file exists");
	check_snapshot_desc(dir, s);
	ok(disk_equals(dir, a, DISK_BYTES), "A reads back after snapshot");
	memcpy(b, a, DISK_BYTES);
	scribble(dir, b, 40);
	ok(disk_equals(dir, b, DISK_BYTES), "B reads back");
	is_int(revert(dir, s), 0, "revert to the snapshot");
	ok(disk_equals(dir, a, DISK_BYTES), "A reads back after revert");
	ok(access(tpath("sr/root.hds.%s", s), F_OK) < 0,
	   "the discarded delta is gone");
	is_int(dir_entries(dir), 3, "descriptor, base and the new delta");
	memcpy(b, a, DISK_BYTES);
	scribble(dir, b, 10);
	ok(disk_equals(dir, b, DISK_BYTES), "writes after revert read back");
	is_int(revert(dir, s), 0, "revert again");
	ok(disk_equals(dir, a, DISK_BYTES), "A again");
	free(a);
	free(b);
}

/* ---- three levels --------------------------------------------------- */

static void check_list_deep(const char *dir, char s[3][PRLD_GUID_LEN + 1])
{
	struct prld_snapshot_info *v = NULL;
	struct prld_err err = { 0 };
	unsigned int n = 0, i;
	bool order = true;

	if (!ok(prld_list_snapshots(dir, &v, &n, &err) == 0, "list: %s",
		err.msg))
		return;
	is_int(n, 4, "list: four shots");
	for (i = 0; i < n && i < 3; i++)
		order &= !strcmp(v[i].guid, s[i]) && v[i].depth == i &&
			 v[i].on_chain && !v[i].top && !v[i].status;
	ok(order, "list: snapshots root first, depth 0..2, on the chain");
	ok(n == 4 && !strcmp(v[3].guid, PRLD_TOP_GUID) && v[3].top &&
	   v[3].depth == 3 && v[3].on_chain && v[3].allocated > 0,
	   "list: the top last, depth 3, holds the last writes");
	ok(n == 4 && !strcmp(v[1].parent, s[0]) && v[0].created == 0,
	   "list: parents; no creation time in a ploop descriptor");
	ok(n == 4 && v[0].allocated > 0 && v[0].file_size > CL_BYTES &&
	   strstr(v[0].file, "/root.hds"), "list: root's file and usage");
	prld_snapshots_free(v, n);
}

/* After reverting to s[0]: s[0] has two children, only one on the chain. */
static void check_list_branch(const char *dir, char s[3][PRLD_GUID_LEN + 1])
{
	struct prld_snapshot_info *v = NULL;
	unsigned int n = 0, i, chain = 0, kids = 0;

	if (prld_list_snapshots(dir, &v, &n, NULL))
		bail_out("list");
	for (i = 0; i < n; i++) {
		chain += v[i].on_chain;
		kids += !strcmp(v[i].parent, s[0]);
	}
	is_int(n, 4, "branch: four shots");
	is_int(chain, 2, "branch: two on the chain (root and top)");
	is_int(kids, 2, "branch: the root snapshot has two children");
	ok(n == 4 && !strcmp(v[0].guid, s[0]) && v[1].depth == 1 &&
	   v[2].depth == 2 && v[3].depth == 1 && v[3].top,
	   "branch: tree order, top a second child of the root");
	prld_snapshots_free(v, n);
}

static void test_three_deep(void)
{
	uint8_t *lv[4];
	char s[3][PRLD_GUID_LEN + 1], *dir = tpath("deep");
	int i;

	if (create_disk_dir(dir, DISK_SECTORS, CL_SECTORS, false))
		bail_out("setup");
	for (i = 0; i < 4; i++) {
		lv[i] = calloc(1, DISK_BYTES);
		if (!lv[i])
			bail_out("calloc");
		if (i)
			memcpy(lv[i], lv[i - 1], DISK_BYTES);
		scribble(dir, lv[i], 20);
		if (i < 3 && snap(dir, s[i]))
			bail_out("snapshot");
	}
	ok(disk_equals(dir, lv[3], DISK_BYTES), "level 3 (top) reads back");
	check_list_deep(dir, s);
	for (i = 2; i >= 0; i--) {
		is_int(revert(dir, s[i]), 0, "revert to level %d", i);
		ok(disk_equals(dir, lv[i], DISK_BYTES),
		   "level %d reads back exactly", i);
	}
	check_list_branch(dir, s);
	is_int(revert(dir, s[2]), 0, "revert forward to the deepest");
	ok(disk_equals(dir, lv[2], DISK_BYTES), "level 2 again");
	for (i = 0; i < 4; i++)
		free(lv[i]);
}

/* ---- maps between snapshots ----------------------------------------- */

static bool map_bit(const struct prld_map *m, uint64_t i)
{
	return (m->bits[i / 8] >> (i % 8)) & 1;
}

static void test_map_between(void)
{
	uint8_t *ref = calloc(1, DISK_BYTES);
	char s1[PRLD_GUID_LEN + 1], s2[PRLD_GUID_LEN + 1];
	char *dir = tpath("map");
	struct prld_map m = { 0 };
	struct prld_disk *d;
	bool exact = true;
	uint64_t c;

	if (!ref || create_disk_dir(dir, DISK_SECTORS, CL_SECTORS, false))
		bail_out("setup");
	write_at(dir, ref, 0, 3 * CL_BYTES);		/* clusters 0-2 */
	if (snap(dir, s1))
		bail_out("snapshot");
	write_at(dir, ref, 10 * CL_BYTES + 5, 100);	/* cluster 10 */
	if (snap(dir, s2))
		bail_out("snapshot");
	write_at(dir, ref, 20 * CL_BYTES, CL_BYTES + 1); /* 20, 21 */
	d = open_disk(dir, PRLD_OPEN_READ, 0);
	if (!d || prld_get_map(d, s1, NULL, &m, NULL))
		bail_out("map");
	for (c = 0; c < NCL; c++)
		exact &= map_bit(&m, c) == (c == 10 || c == 20 || c == 21);
	ok(exact, "map from S1 to the top: clusters 10, 20, 21");
	prld_map_free(&m);
	if (prld_get_map(d, s1, s2, &m, NULL))
		bail_out("map");
	for (c = 0, exact = true; c < NCL; c++)
		exact &= map_bit(&m, c) == (c == 10);
	ok(exact, "map from S1 to S2: cluster 10");
	prld_map_free(&m);
	prld_close(d, NULL);
	free(ref);
}

/* ---- vendor elements ------------------------------------------------ */

/* Insert @add right after the first @after in the descriptor of @dir. */
static void desc_insert(const char *dir, const char *after, const char *add)
{
	char *path = prld_join(dir, PRLD_DESCRIPTOR), *old, *at, *buf;
	int fd;

	old = path ? slurp(path, NULL) : NULL;
	at = old ? strstr(old, after) : NULL;
	if (!at || asprintf(&buf, "%.*s%s%s", (int)(at - old + strlen(after)),
			    old, add, at + strlen(after)) < 0)
		bail_out("desc_insert");
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0 || prld_pwrite_full(fd, buf, strlen(buf), 0))
		bail_out(path);
	close(fd);
	free(buf);
	free(old);
	free(path);
}

static void test_vendor_kept(void)
{
	char s[PRLD_GUID_LEN + 1], *dir = tpath("vendor"), *xml;
	char s2[PRLD_GUID_LEN + 1];

	if (create_disk_dir(dir, DISK_SECTORS, CL_SECTORS, false))
		bail_out("setup");
	desc_insert(dir, "<File>root.hds</File>",
		    "<VendorImage>base</VendorImage>");
	desc_insert(dir, "<Snapshots>",
		    "<VendorSnaps flag=\"1\">keep</VendorSnaps>");
	desc_insert(dir, "</Disk_Parameters>",
		    "<Vendor_Root>x</Vendor_Root>");
	if (snap(dir, s) || snap(dir, s2))
		bail_out("snapshot");
	xml = slurp(tpath("vendor/" PRLD_DESCRIPTOR), NULL);
	like(xml, "<VendorImage>base</VendorImage>",
	     "snapshot keeps the vendor element of the image");
	like(xml, "<VendorSnaps flag=\"1\">keep</VendorSnaps>",
	     "snapshot keeps the vendor element in <Snapshots>");
	like(xml, "<Vendor_Root>x</Vendor_Root>",
	     "snapshot keeps the vendor element under the root");
	free(xml);
	if (revert(dir, s))
		bail_out("revert");
	xml = slurp(tpath("vendor/" PRLD_DESCRIPTOR), NULL);
	like(xml, "<VendorImage>base</VendorImage>", "revert keeps it too");
	like(xml, "<VendorSnaps flag=\"1\">keep</VendorSnaps>",
	     "revert keeps <Snapshots>' vendor element");
	free(xml);
}

/* ---- refusals ------------------------------------------------------- */

/* The descriptor of @dir, to prove a refusal left it alone. */
static char *desc_text(const char *dir)
{
	char *path = prld_join(dir, PRLD_DESCRIPTOR);
	char *text = path ? slurp(path, NULL) : NULL;

	free(path);
	if (!text)
		bail_out(dir);
	return text;
}

static bool desc_is(const char *dir, const char *before)
{
	char *now = desc_text(dir);
	bool same = !strcmp(now, before);

	free(now);
	return same;
}

static void refused(int ret, int code, const struct prld_err *err,
		    const char *want, const char *what)
{
	is_int(ret, code, "%s: refused", what);
	like(err->msg, want, "%s: message", what);
}

static void test_revert_refusals(void)
{
	char s[PRLD_GUID_LEN + 1], *dir = tpath("ref"), *before;
	const char *unknown = "{01234567-89ab-cdef-0123-456789abcdef}";
	struct prld_err err = { 0 };

	if (create_disk_dir(dir, DISK_SECTORS, CL_SECTORS, false) || snap(dir, s))
		bail_out("setup");
	before = desc_text(dir);
	refused(prld_revert(dir, unknown, &err), -ENOENT, &err, unknown,
		"revert to an unknown GUID");
	refused(prld_revert(dir, PRLD_TOP_GUID, &err), -EINVAL, &err,
		PRLD_TOP_GUID, "revert to the top");
	refused(prld_revert(dir, "nonsense", &err), -EINVAL, &err,
		"not a snapshot GUID", "revert to a malformed GUID");
	ok(desc_is(dir, before), "refusals left the descriptor");
	is_int(dir_entries(dir), 3, "no stray delta after the refusals");
	free(before);
}

static void test_bare_and_missing(void)
{
	struct prld_create_params p = { .size_sectors = DISK_SECTORS };
	struct prld_snapshot_info *v = NULL;
	char g[PRLD_GUID_LEN + 1];
	struct prld_err err = { 0 };
	unsigned int n = 0;

	if (prld_create_image(tpath("bare.hds"), &p, NULL) ||
	    mkdir(tpath("empty"), 0755))
		bail_out("setup");
	refused(prld_snapshot(tpath("bare.hds"), g, &err), -EINVAL, &err,
		"bare image", "snapshot of a bare image");
	refused(prld_revert(tpath("bare.hds"), PRLD_TOP_GUID, &err), -EINVAL,
		&err, "bare image", "revert of a bare image");
	refused(prld_list_snapshots(tpath("bare.hds"), &v, &n, &err), -EINVAL,
		&err, "bare image", "list of a bare image");
	refused(prld_snapshot(tpath("empty"), g, &err), -ENOENT, &err,
		"no " PRLD_DESCRIPTOR, "snapshot of a directory without one");
	refused(prld_snapshot(tpath("nowhere"), g, &err), -ENOENT, &err,
		"nowhere", "snapshot of a missing path");
}

static void test_malformed(void)
{
	char g[PRLD_GUID_LEN + 1], *dir = tpath("bad");
	struct prld_err err = { 0 };

	if (create_disk_dir(dir, DISK_SECTORS, CL_SECTORS, false))
		bail_out("setup");
	desc_insert(dir, "<TopGUID>", "{garbage");
	refused(prld_snapshot(dir, g, &err), -EINVAL, &err, "TopGUID",
		"snapshot with a malformed descriptor");
	is_int(dir_entries(dir), 2, "nothing created");
}

/* Anyone holding the top (a writer, a reader, the driver) blocks both. */
static void test_in_use(void)
{
	char s[PRLD_GUID_LEN + 1], g[PRLD_GUID_LEN + 1], *dir = tpath("busy");
	struct prld_err err = { 0 };
	struct prld_disk *d;
	char *before;
	int fd;

	if (create_disk_dir(dir, DISK_SECTORS, CL_SECTORS, false) || snap(dir, s))
		bail_out("setup");
	before = desc_text(dir);
	d = open_disk(dir, RW, 0);
	refused(prld_snapshot(dir, g, &err), -EBUSY, &err, "in use",
		"snapshot while open for writing");
	refused(prld_revert(dir, s, &err), -EBUSY, &err, "in use",
		"revert while open for writing");
	prld_close(d, NULL);
	d = open_disk(dir, PRLD_OPEN_READ, 0);
	refused(prld_revert(dir, s, &err), -EBUSY, &err, "in use",
		"revert while open for reading");
	prld_close(d, NULL);
	fd = open(tpath("busy/root.hds.%s", s), O_RDONLY);
	if (fd < 0 || flock(fd, LOCK_EX))
		bail_out("flock");
	refused(prld_snapshot(dir, g, &err), -EBUSY, &err, "close it first",
		"snapshot while another flock holds the top");
	close(fd);
	ok(desc_is(dir, before), "refusals left the descriptor");
	is_int(dir_entries(dir), 3, "refusals left no files");
	is_int(snap(dir, g), 0, "snapshot once the holder is gone");
	free(before);
}

static void test_dirty_top(void)
{
	char g[PRLD_GUID_LEN + 1], *dir = tpath("dirty");
	struct prld_err err = { 0 };

	if (create_disk_dir(dir, DISK_SECTORS, CL_SECTORS, false))
		bail_out("setup");
	put32(tpath("dirty/root.hds"), PRLD_OFF_INUSE, PRLD_INUSE_MAGIC);
	refused(prld_snapshot(dir, g, &err), -EUCLEAN, &err, "check --repair",
		"snapshot of a top left in use");
	is_int(dir_entries(dir), 2, "no delta made");
}

/* A save that fails leaves the old descriptor and no stray delta. */
static void test_save_fails(void)
{
	char g[PRLD_GUID_LEN + 1], *dir = tpath("nosave"), *before;
	uint8_t *ref = calloc(1, DISK_BYTES);
	struct prld_err err = { 0 };

	if (!ref || create_disk_dir(dir, DISK_SECTORS, CL_SECTORS, false))
		bail_out("setup");
	write_at(dir, ref, CL_BYTES, 1000);
	before = desc_text(dir);
	/* A directory where the .tmp file must go: the write fails. */
	if (mkdir(tpath("nosave/" PRLD_DESCRIPTOR ".tmp"), 0755))
		bail_out("mkdir");
	ok(prld_snapshot(dir, g, &err) < 0, "snapshot fails: %s", err.msg);
	ok(desc_is(dir, before), "old descriptor in force");
	is_int(dir_entries(dir), 3, "the new delta was removed");
	ok(disk_equals(dir, ref, DISK_BYTES), "data unchanged");
	free(before);
	free(ref);
}

int main(void)
{
	tmpdir_make("snapshot");
	rnd_seed(0x853c49e6748fea9bULL);
	test_snapshot_revert();
	test_three_deep();
	test_map_between();
	test_vendor_kept();
	test_revert_refusals();
	test_bare_and_missing();
	test_malformed();
	test_in_use();
	test_dirty_top();
	test_save_fails();
	tmpdir_remove();
	return tap_done();
}
