// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Unit tests of prld_check(): images are made with the library, damaged by
 * hand, checked (every finding kind with its severity and exit status) and
 * repaired, and the data is then read back through prld_open() to prove
 * the repair kept every byte it promised to keep.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define CS	128U			/* 64 KiB clusters */
#define CL	(CS * 512ULL)
#define NCL	16U			/* clusters in the default disk */

/* ---- helpers --------------------------------------------------------- */

static void die(const char *what, const struct prld_err *err)
{
	printf("Bail out! %s: %s\n", what, err ? err->msg : strerror(errno));
	exit(255);
}

/* The byte cluster @c holds at offset @i in the test pattern. */
static __u8 pattern(unsigned int c, uint64_t i)
{
	return (__u8)(c * 29 + 1 + i / 512 + (i % 512) * 7);
}

static void fill_cluster(__u8 *buf, unsigned int c, uint64_t cl)
{
	uint64_t i;

	for (i = 0; i < cl; i++)
		buf[i] = pattern(c, i);
}

/*
 * A fresh image: @ncl clusters of @cs sectors, format @fmt, with the
 * clusters in @mapped written (in that order, so file slots follow it).
 */
static void make_image(const char *path, int fmt, uint32_t cs,
		       unsigned int ncl, const unsigned int *mapped,
		       unsigned int nmapped)
{
	struct prld_create_params p = {
		.size_sectors = (uint64_t)ncl * cs,
		.cluster_sectors = cs,
		.fmt = fmt,
	};
	uint64_t cl = (uint64_t)cs * 512;
	struct prld_err err = { 0 };
	struct prld_disk *d;
	__u8 *buf = malloc(cl);
	unsigned int i;

	unlink(path);
	if (!buf || prld_create_image(path, &p, &err))
		die("create", &err);
	if (prld_open(path, PRLD_OPEN_READ | PRLD_OPEN_WRITE, NULL, &d, &err))
		die("open", &err);
	for (i = 0; i < nmapped; i++) {
		fill_cluster(buf, mapped[i], cl);
		if (prld_pwrite(d, buf, cl, mapped[i] * cl, &err))
			die("pwrite", &err);
	}
	if (prld_close(d, &err))
		die("close", &err);
	free(buf);
}

/* The whole virtual disk through prld_open (NULL if it will not open). */
static __u8 *read_disk(const char *path, uint64_t *len)
{
	struct prld_err err = { 0 };
	struct prld_info info;
	struct prld_disk *d;
	__u8 *buf;

	if (prld_open(path, PRLD_OPEN_READ, NULL, &d, &err))
		return NULL;
	prld_get_info(d, &info);
	*len = info.size_sectors * 512;
	buf = malloc(*len);
	if (!buf || prld_pread(d, buf, *len, 0, &err)) {
		free(buf);
		buf = NULL;
	}
	prld_close(d, &err);
	return buf;
}

/* The whole file (NUL-terminated), or bail out. */
static __u8 *read_file(const char *path, uint64_t *len)
{
	__u8 *buf = slurp(path, len);

	if (!buf)
		die(path, NULL);
	return buf;
}

static __u32 bat_get(const char *path, __u32 i)
{
	return hdr32(path, PRLD_BAT_OFFSET + 4ULL * i);
}

static void bat_set(const char *path, __u32 i, __u32 v)
{
	put32(path, PRLD_BAT_OFFSET + 4ULL * i, v);
}

static void resize(const char *path, uint64_t size)
{
	if (truncate(path, (off_t)size) < 0)
		die(path, NULL);
}

/* Run the checker; the exit status, or the negative error. */
static int check(const char *path, bool repair, struct prld_report *rep)
{
	struct prld_err err = { 0 };
	int ret = prld_check(path, repair, rep, &err);

	if (ret < 0) {
		printf("# prld_check(%s): %s\n", path, err.msg);
		return ret;
	}
	return prld_report_exit_status(rep);
}

static void dump(const struct prld_report *rep)
{
	static const char *const sev[] = { "note", "leak", "corrupt",
					   "fixed" };
	unsigned int i;

	for (i = 0; i < rep->count; i++)
		printf("#   %s: %s: %s\n", sev[rep->items[i].severity],
		       rep->items[i].file, rep->items[i].msg);
}

static unsigned int count_sev(const struct prld_report *rep,
			      enum prld_severity sev, const char *sub)
{
	unsigned int i, n = 0;

	for (i = 0; i < rep->count; i++)
		n += rep->items[i].severity == sev &&
		     strstr(rep->items[i].msg, sub);
	return n;
}

static void has(const struct prld_report *rep, enum prld_severity sev,
		const char *sub, const char *name)
{
	if (!ok(count_sev(rep, sev, sub) > 0, "%s: finding '%s'", name, sub))
		dump(rep);
}

/* Check, expect @status and a @sev finding with @sub; free the report. */
static void expect(const char *path, bool repair, int status,
		   enum prld_severity sev, const char *sub, const char *name)
{
	struct prld_report rep;
	int got = check(path, repair, &rep);

	if (got != status)
		dump(&rep);
	is_int(got, status, "%s: exit status", name);
	if (sub)
		has(&rep, sev, sub, name);
	prld_report_free(&rep);
}

static bool same_bytes(const __u8 *a, const __u8 *b, uint64_t len)
{
	return a && b && !memcmp(a, b, len);
}

static bool is_zero(const __u8 *p, uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* ---- tests ----------------------------------------------------------- */

static const unsigned int three[] = { 0, 3, 7 };	/* slots 0, 1, 2 */

static void test_clean(void)
{
	const char *img = tpath("clean.hds");
	struct prld_report rep;
	uint64_t l1, l2;
	__u8 *before, *after;

	make_image(img, PRLD_FMT_V2, CS, NCL, three, 3);
	is_int(check(img, false, &rep), 0, "clean: exit 0");
	is_int(rep.corrupt + rep.leaks + rep.fixed, 0, "clean: no problems");
	is_int(rep.count, 0, "clean: no findings");
	prld_report_free(&rep);
	before = read_file(img, &l1);
	is_int(check(img, true, &rep), 0, "clean: repair exit 0");
	is_int(rep.fixed, 0, "clean: nothing repaired");
	prld_report_free(&rep);
	after = read_file(img, &l2);
	ok(l1 == l2 && same_bytes(before, after, l1),
	   "clean: repair wrote nothing");
	free(before);
	free(after);
	is_int(prld_report_exit_status(&rep), 0, "freed report exits 0");
	prld_report_free(&rep);	/* twice is harmless */
}

static void test_in_use(void)
{
	const char *img = tpath("inuse.hds");
	struct prld_err err = { 0 };
	struct prld_disk *d = NULL;
	uint64_t l1, l2;
	__u8 *before, *after;

	make_image(img, PRLD_FMT_V2, CS, NCL, three, 3);
	before = read_disk(img, &l1);
	put32(img, PRLD_OFF_INUSE, PRLD_INUSE_MAGIC);
	expect(img, false, 2, PRLD_SEV_CORRUPT,
	       "in-use flag set: image was not closed cleanly", "in-use");
	is_int(prld_open(img, PRLD_OPEN_READ | PRLD_OPEN_WRITE, NULL, &d,
			 &err), -EUCLEAN, "in-use: writable open refused");
	expect(img, true, 0, PRLD_SEV_FIXED, "cleared the in-use flag",
	       "in-use repair");
	is_int(hdr32(img, PRLD_OFF_INUSE), 0, "in-use: flag cleared on disk");
	expect(img, false, 0, PRLD_SEV_NOTE, NULL, "in-use after repair");
	after = read_disk(img, &l2);
	ok(l1 == l2 && same_bytes(before, after, l1), "in-use: data kept");
	free(before);
	free(after);
}

/*
 * Break entry @idx of an image with clusters 0, 3, 7 mapped; expect
 * @status_text; repair must zero just that entry and keep the rest.  When
 * the entry named the last cluster, that cluster becomes a leaked tail
 * and is cut too (@tail).
 */
static void bad_entry_case(const char *name, int fmt, __u32 idx, __u32 value,
			   const char *status_text, bool tail)
{
	const char *img = tpath("%s", name);
	struct prld_report rep;
	uint64_t l1, l2, size;
	__u8 *before, *after;
	int st;

	make_image(img, fmt, CS, NCL, three, 3);
	size = file_size(img);
	before = read_disk(img, &l1);
	bat_set(img, idx, value);
	ok(read_disk(img, &l2) == NULL, "%s: library refuses to open", name);
	st = check(img, false, &rep);
	is_int(st, 2, "%s: exit 2", name);
	has(&rep, PRLD_SEV_CORRUPT, status_text, name);
	is_int(rep.corrupt, 1, "%s: one corruption", name);
	prld_report_free(&rep);
	st = check(img, true, &rep);
	is_int(st, 0, "%s: repaired to exit 0", name);
	has(&rep, PRLD_SEV_FIXED, "zeroed BAT entry", name);
	has(&rep, PRLD_SEV_FIXED, "unreachable", name);
	is_int(rep.fixed, 1 + tail, "%s: repairs", name);
	if (tail)
		has(&rep, PRLD_SEV_FIXED, "leaked tail: truncated 65536", name);
	prld_report_free(&rep);
	is_int(bat_get(img, idx), 0, "%s: entry zeroed", name);
	is_int(file_size(img), size - (tail ? CL : 0), "%s: file size", name);
	after = read_disk(img, &l2);
	ok(after && l1 == l2, "%s: opens after repair", name);
	if (after) {
		ok(is_zero(after + idx * CL, CL), "%s: cluster reads zeros",
		   name);
		memset(before + idx * CL, 0, CL);
		ok(same_bytes(before, after, l1), "%s: other data kept", name);
	}
	free(before);
	free(after);
}

static void test_bad_entries(void)
{
	/* V2: 3 clusters after a 1-cluster header: entry 100 is past EOF. */
	bad_entry_case("past-eof.hds", PRLD_FMT_V2, 7, 100,
		       prld_status_str(PRLD_E_BAT_EOF), true);
	/* Unmapped entry 5 pointing just past EOF. */
	bad_entry_case("past-eof-unmapped.hds", PRLD_FMT_V2, 5, 4,
		       prld_status_str(PRLD_E_BAT_EOF), false);
	/* V1 entries count sectors: sector 1 is inside the header. */
	bad_entry_case("v1-header.hds", PRLD_FMT_V1, 1, 1,
		       prld_status_str(PRLD_E_BAT_LOW), false);
	/* V1: one sector past a cluster boundary. */
	bad_entry_case("v1-unaligned.hds", PRLD_FMT_V1, 7, CS + 1,
		       prld_status_str(PRLD_E_BAT_ALIGN), true);
}

/* Both entries of a shared cluster keep its data, then diverge. */
static void dup_case(const char *name, int fmt, uint32_t cs)
{
	const char *img = tpath("%s", name);
	uint64_t cl = (uint64_t)cs * 512, l1, l2, size;
	struct prld_err err = { 0 };
	struct prld_report rep;
	struct prld_disk *d;
	__u8 *before, *after, *buf;
	int st;

	make_image(img, fmt, cs, NCL, three, 3);
	size = file_size(img);
	/* Entry 9 (unmapped) names cluster 3's data too. */
	bat_set(img, 9, bat_get(img, 3));
	before = read_disk(img, &l1);	/* refused: compute by hand */
	ok(before == NULL, "%s: library refuses to open", name);
	st = check(img, false, &rep);
	is_int(st, 2, "%s: exit 2", name);
	has(&rep, PRLD_SEV_CORRUPT, prld_status_str(PRLD_E_BAT_DUP), name);
	has(&rep, PRLD_SEV_CORRUPT, "same cluster as BAT entry 3", name);
	prld_report_free(&rep);
	st = check(img, true, &rep);
	is_int(st, 0, "%s: repaired to exit 0", name);
	has(&rep, PRLD_SEV_FIXED, "data kept", name);
	prld_report_free(&rep);
	is_int(file_size(img), size + cl, "%s: one cluster appended", name);
	ok(bat_get(img, 9) != bat_get(img, 3), "%s: entries differ", name);
	after = read_disk(img, &l2);
	buf = malloc(cl);
	fill_cluster(buf, 3, cl);
	ok(after && same_bytes(after + 3 * cl, buf, cl) &&
	   same_bytes(after + 9 * cl, buf, cl), "%s: both read the data", name);
	fill_cluster(buf, 0, cl);
	ok(after && same_bytes(after, buf, cl), "%s: cluster 0 kept", name);
	/* Now independent: writing one leaves the other alone. */
	if (prld_open(img, PRLD_OPEN_READ | PRLD_OPEN_WRITE, NULL, &d, &err))
		die("open", &err);
	memset(buf, 0xee, cl);
	ok(!prld_pwrite(d, buf, cl, 9 * cl, &err) && !prld_close(d, &err),
	   "%s: write the copy", name);
	free(after);
	after = read_disk(img, &l2);
	fill_cluster(buf, 3, cl);
	ok(after && same_bytes(after + 3 * cl, buf, cl),
	   "%s: original untouched by a write to the copy", name);
	expect(img, false, 0, PRLD_SEV_NOTE, NULL, name);
	free(after);
	free(buf);
}

static void test_duplicates(void)
{
	dup_case("dup.hds", PRLD_FMT_V2, CS);
	dup_case("dup-v1.hds", PRLD_FMT_V1, CS);
	dup_case("dup-33.hds", PRLD_FMT_V2, 33);
	dup_case("dup-2m.hds", PRLD_FMT_V2, 4096);	/* copied in chunks */
}

/* Leaks: @extra bytes appended; expect each finding; repair truncates. */
static void tail_case(const char *name, uint64_t extra, const char *sub1,
		      const char *sub2, unsigned int leaks)
{
	const char *img = tpath("%s", name);
	struct prld_report rep;
	uint64_t size, l1, l2;
	__u8 *before, *after;

	make_image(img, PRLD_FMT_V2, CS, NCL, three, 3);
	size = file_size(img);
	before = read_disk(img, &l1);
	resize(img, size + extra);
	is_int(check(img, false, &rep), 3, "%s: exit 3", name);
	has(&rep, PRLD_SEV_LEAK, sub1, name);
	if (sub2)
		has(&rep, PRLD_SEV_LEAK, sub2, name);
	is_int(rep.leaks, leaks, "%s: leak count", name);
	is_int(rep.corrupt, 0, "%s: nothing corrupt", name);
	prld_report_free(&rep);
	is_int(check(img, true, &rep), 0, "%s: repaired to exit 0", name);
	has(&rep, PRLD_SEV_FIXED, "truncated", name);
	is_int(rep.fixed, leaks, "%s: fixed count", name);
	prld_report_free(&rep);
	is_int(file_size(img), size, "%s: back to the allocated end", name);
	after = read_disk(img, &l2);
	ok(l1 == l2 && same_bytes(before, after, l1), "%s: data kept", name);
	free(before);
	free(after);
}

static void test_tails(void)
{
	tail_case("tail.hds", 3 * CL, "leaked tail: 196608 bytes", NULL, 1);
	tail_case("failed-ext.hds", 1000, "failed extension", NULL, 1);
	tail_case("both.hds", 2 * CL + 100, "failed extension",
		  "leaked tail: 131072 bytes", 2);
}

static void test_hole(void)
{
	const char *img = tpath("hole.hds");
	struct prld_report rep;

	make_image(img, PRLD_FMT_V2, CS, NCL, three, 3);
	bat_set(img, 3, 0);	/* slot 1 of 3 now unreferenced */
	is_int(check(img, false, &rep), 3, "hole: exit 3");
	has(&rep, PRLD_SEV_LEAK, "unreferenced clusters: 1 at offset 131072",
	    "hole");
	is_int(rep.leaks, 1, "hole: one leaked cluster");
	prld_report_free(&rep);
	is_int(check(img, true, &rep), 3, "hole: repair leaves it: exit 3");
	has(&rep, PRLD_SEV_LEAK, "not reclaimed", "hole");
	is_int(rep.fixed, 0, "hole: nothing repaired");
	prld_report_free(&rep);
}

/* A discarded cluster: unreferenced but punched, so it costs nothing. */
static void test_discarded_hole(void)
{
	const char *img = tpath("discarded.hds");
	struct prld_report rep;
	int fd;

	make_image(img, PRLD_FMT_V2, CS, NCL, three, 3);
	bat_set(img, 3, 0);	/* slot 1 of 3 now unreferenced */
	fd = open(img, O_RDWR);
	ok(fd >= 0 && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				2 * CL, CL) == 0, "discarded: hole punched");
	if (fd >= 0)
		close(fd);
	is_int(check(img, false, &rep), 0, "discarded: exit 0");
	has(&rep, PRLD_SEV_NOTE, "holding no data (discarded): 1 at offset 131072",
	    "discarded");
	is_int(rep.leaks, 0, "discarded: no leak counted");
	prld_report_free(&rep);
}

/* A hand-built image whose data area starts a cluster late. */
static void test_data_off_note(void)
{
	const char *img = tpath("data-off.hds");
	__u8 hdr[PRLD_HEADER_SIZE], *buf = calloc(1, 3 * CL);
	struct prld_geom g;
	struct prld_fault f;
	uint64_t len;
	__u8 *data;
	int fd;

	prld_layout(&g, PRLD_FMT_V2, NCL * CS, CS, &f);
	g.data_off += CS;
	g.flags = 0;
	prld_header_encode(&g, hdr);
	memcpy(buf, hdr, sizeof(hdr));
	prld_put_le32(buf + PRLD_BAT_OFFSET + 4, 2);	/* cluster 1 */
	fill_cluster(buf + 2 * CL, 1, CL);
	fd = open(img, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || prld_pwrite_full(fd, buf, 3 * CL, 0))
		die(img, NULL);
	close(fd);
	expect(img, false, 0, PRLD_SEV_NOTE, "above the canonical",
	       "large data_off");
	data = read_disk(img, &len);
	ok(data && same_bytes(data + CL, buf + 2 * CL, CL),
	   "large data_off: data readable");
	free(data);
	free(buf);
}

static void test_empty_flag(void)
{
	const char *img = tpath("empty-flag.hds");
	__u32 flags;

	make_image(img, PRLD_FMT_V2, CS, NCL, three, 3);
	flags = hdr32(img, PRLD_OFF_FLAGS);
	put32(img, PRLD_OFF_FLAGS, flags | PRLD_FLAG_EMPTY);
	expect(img, false, 0, PRLD_SEV_NOTE, "empty flag set", "empty flag");
	expect(img, true, 0, PRLD_SEV_FIXED, "cleared the empty flag",
	       "empty flag repair");
	is_int(hdr32(img, PRLD_OFF_FLAGS) & PRLD_FLAG_EMPTY, 0,
	       "empty flag: cleared on disk");
	make_image(img, PRLD_FMT_V2, CS, NCL, NULL, 0);
	expect(img, false, 0, PRLD_SEV_NOTE, NULL, "new empty image");
}

/* A bad header is reported, and a repair must not touch the file. */
static void bad_header_case(const char *name, uint64_t off, __u32 v,
			    uint64_t trunc, const char *sub)
{
	const char *img = tpath("%s", name);
	struct prld_report rep;
	uint64_t l1, l2;
	__u8 *before, *after;

	make_image(img, PRLD_FMT_V2, CS, NCL, three, 3);
	put32(img, PRLD_OFF_INUSE, PRLD_INUSE_MAGIC);	/* not reached */
	if (trunc)
		resize(img, trunc);
	else
		put32(img, off, v);
	expect(img, false, 2, PRLD_SEV_CORRUPT, sub, name);
	before = read_file(img, &l1);
	is_int(check(img, true, &rep), 2, "%s: repair exits 2", name);
	has(&rep, PRLD_SEV_NOTE, "cannot repair", name);
	has(&rep, PRLD_SEV_CORRUPT, sub, name);
	is_int(rep.corrupt, 1, "%s: one corruption (nothing after the header)",
	       name);
	prld_report_free(&rep);
	after = read_file(img, &l2);
	ok(l1 == l2 && same_bytes(before, after, l1), "%s: file untouched",
	   name);
	free(before);
	free(after);
}

static void test_bad_headers(void)
{
	/*
	 * ext_off 2^55 - 128: in bytes 2^64 - 64 KiB, cluster aligned, and
	 * its end wraps to 0.  It names no cluster of the file.
	 */
	bad_header_case("ext-off-wrap.hds", PRLD_OFF_EXT_OFF + 4, 0x7fffff,
			0, prld_status_str(PRLD_E_EXT_OFF));
	put32(tpath("ext-off-wrap.hds"), PRLD_OFF_EXT_OFF, 0xffffff80U);
	expect(tpath("ext-off-wrap.hds"), true, 2, PRLD_SEV_CORRUPT,
	       prld_status_str(PRLD_E_EXT_OFF), "ext_off wraps");
	bad_header_case("version.hds", PRLD_OFF_VERSION, 3, 0,
			prld_status_str(PRLD_E_VERSION));
	bad_header_case("nb-sectors.hds", PRLD_OFF_NB_SECTORS, 0, 0,
			prld_status_str(PRLD_E_SIZE_ZERO));
	bad_header_case("data-off.hds", PRLD_OFF_DATA_OFF, CS + 1, 0,
			prld_status_str(PRLD_E_DATA_OFF_ALIGN));
	bad_header_case("short.hds", 0, 0, 40,
			prld_status_str(PRLD_E_SHORT));
	bad_header_case("short-bat.hds", 0, 0, 70,
			prld_status_str(PRLD_E_DATA_OFF_EOF));
}

static void make_disk(const char *dir);

/*
 * A file without either magic, given as an image, is no image: an error
 * (not a finding), plain and with --repair, and the file is untouched.
 * Inside a disk, whose descriptor names it as an image, it is corrupt.
 */
static void test_not_image(void)
{
	const char *img = tpath("magic.hds");
	struct prld_report rep;
	struct prld_err err = { 0 };
	uint64_t l1, l2;
	__u8 *before, *after;

	make_image(img, PRLD_FMT_V2, CS, NCL, three, 3);
	put32(img, 4, 0x41414141);
	before = read_file(img, &l1);
	is_int(prld_check(img, false, &rep, &err), -EINVAL,
	       "no magic: check is an error, not a finding");
	like(err.msg, "magic.hds: not a Parallels image", "no magic: message");
	is_int(prld_check(img, true, &rep, &err), -EINVAL,
	       "no magic: repair refuses it too");
	after = read_file(img, &l2);
	ok(l1 == l2 && same_bytes(before, after, l1), "no magic: untouched");
	free(before);
	free(after);
	make_disk(tpath("nomagic"));
	put32(tpath("nomagic/root.hds"), 4, 0x41414141);
	expect(tpath("nomagic"), false, 2, PRLD_SEV_CORRUPT,
	       prld_status_str(PRLD_E_MAGIC), "no magic inside a disk");
}

/* More bad entries than the cap: 20 listed, the rest summed. */
static void test_cap(void)
{
	const char *img = tpath("cap.hds");
	struct prld_report rep;
	unsigned int i;

	make_image(img, PRLD_FMT_V2, CS, 64, three, 3);
	for (i = 10; i < 40; i++)
		bat_set(img, i, 1000 + i);
	is_int(check(img, false, &rep), 2, "cap: exit 2");
	is_int(rep.corrupt, 30, "cap: all 30 counted");
	is_int(count_sev(&rep, PRLD_SEV_CORRUPT,
			 prld_status_str(PRLD_E_BAT_EOF)), 21,
	       "cap: 20 listed + a summary");
	has(&rep, PRLD_SEV_CORRUPT, "... and 10 more", "cap");
	prld_report_free(&rep);
	is_int(check(img, true, &rep), 0, "cap: repair exit 0");
	is_int(rep.fixed, 30, "cap: 30 repaired");
	has(&rep, PRLD_SEV_FIXED, "... and 10 more", "cap");
	prld_report_free(&rep);
}

/* Everything at once: in-use, shared cluster, bad entry, leaked tail. */
static void test_combined(void)
{
	const char *img = tpath("combined.hds");
	static const unsigned int five[] = { 1, 2, 4, 8, 15 };
	struct prld_report rep;
	uint64_t size, l1, l2;
	__u8 *before, *after;

	make_image(img, PRLD_FMT_V2, CS, NCL, five, 5);
	size = file_size(img);
	before = read_disk(img, &l1);
	memcpy(before + 10 * CL, before + 4 * CL, CL);	/* 10 shares 4 */
	memset(before + 2 * CL, 0, CL);			/* 2 is lost */
	bat_set(img, 10, bat_get(img, 4));
	bat_set(img, 2, 0xfffffff0);
	resize(img, size + 5 * CL + 17);
	put32(img, PRLD_OFF_INUSE, PRLD_INUSE_MAGIC);
	is_int(check(img, false, &rep), 2, "combined: exit 2");
	is_int(rep.corrupt, 3, "combined: 3 corruptions");
	is_int(rep.leaks, 3, "combined: 3 leaks (tail, extension, hole)");
	prld_report_free(&rep);
	/* Slot 1 (cluster 2's) is now a hole: a leak that stays. */
	is_int(check(img, true, &rep), 3, "combined: repaired, hole remains");
	is_int(rep.corrupt, 0, "combined: nothing corrupt");
	is_int(rep.leaks, 1, "combined: the hole");
	is_int(rep.fixed, 5, "combined: 5 repairs");
	prld_report_free(&rep);
	after = read_disk(img, &l2);
	ok(l1 == l2 && same_bytes(before, after, l1), "combined: data kept");
	/* The copy went to the old end; the rest of the tail was cut. */
	is_int(file_size(img), size + CL, "combined: tail cut after the copy");
	free(before);
	free(after);
}

static void test_busy(void)
{
	const char *img = tpath("busy.hds");
	struct prld_err err = { 0 };
	struct prld_report rep;
	struct prld_disk *d;
	__u8 buf[512] = { 1 };

	make_image(img, PRLD_FMT_V2, CS, NCL, three, 3);
	if (prld_open(img, PRLD_OPEN_READ | PRLD_OPEN_WRITE, NULL, &d, &err))
		die("open", &err);
	is_int(prld_check(img, true, &rep, &err), -EBUSY, "busy: repair");
	like(err.msg, "in use", "busy: message");
	is_int(rep.count, 0, "busy: empty report");
	prld_report_free(&rep);
	expect(img, false, 0, PRLD_SEV_NOTE, "open for writing elsewhere",
	       "busy: plain check works");
	prld_pwrite(d, buf, sizeof(buf), 0, &err);
	/* Its writer's in-use flag, live: a note, not a corruption. */
	expect(img, false, 0, PRLD_SEV_NOTE,
	       "in-use flag set by the process writing it now", "busy: dirty");
	prld_close(d, &err);
	expect(img, false, 0, PRLD_SEV_NOTE, NULL, "busy: closed cleanly");
}

static void test_errors(void)
{
	struct prld_err err = { 0 };
	struct prld_report rep;

	ok(prld_check(tpath("nope.hds"), false, &rep, &err) == -ENOENT,
	   "missing file: -ENOENT");
	like(err.msg, "nope.hds", "missing file: message names it");
	ok(prld_check(tmpdir, false, &rep, &err) == -ENOENT,
	   "directory without descriptor: -ENOENT");
	like(err.msg, PRLD_DESCRIPTOR, "no descriptor: message");
}

/* ---- descriptors ----------------------------------------------------- */

static void make_disk(const char *dir)
{
	struct prld_create_params p = {
		.size_sectors = NCL * CS,
		.cluster_sectors = CS,
	};
	struct prld_err err = { 0 };
	char *root = prld_join(dir, "root.hds");
	struct prld_disk *d;
	__u8 buf[4096];

	memset(buf, 0x5a, sizeof(buf));
	if (prld_create_disk(dir, &p, &err))
		die("create disk", &err);
	if (prld_open(dir, PRLD_OPEN_READ | PRLD_OPEN_WRITE, NULL, &d, &err) ||
	    prld_pwrite(d, buf, sizeof(buf), 5 * CL, &err) ||
	    prld_close(d, &err))
		die("write disk", &err);
	free(root);
}

/* Replace the first @from in @path's text with @to. */
static void edit(const char *path, const char *from, const char *to)
{
	uint64_t len;
	char *text = (char *)read_file(path, &len), *hit;
	FILE *f;

	text[len] = '\0';
	hit = strstr(text, from);
	if (!hit)
		die(from, NULL);
	f = fopen(path, "w");
	fwrite(text, 1, (size_t)(hit - text), f);
	fputs(to, f);
	fputs(hit + strlen(from), f);
	fclose(f);
	free(text);
}

static void test_descriptor(void)
{
	char dir[600], desc[700], root[700], *saved;
	struct prld_report rep;
	uint64_t len;

	snprintf(dir, sizeof(dir), "%s/disk", tmpdir);
	snprintf(desc, sizeof(desc), "%s/%s", dir, PRLD_DESCRIPTOR);
	snprintf(root, sizeof(root), "%s/root.hds", dir);
	make_disk(dir);
	expect(dir, false, 0, PRLD_SEV_NOTE, NULL, "disk dir clean");
	expect(desc, false, 0, PRLD_SEV_NOTE, NULL, "descriptor path clean");
	expect(root, false, 0, PRLD_SEV_NOTE, NULL, "its image clean");
	saved = (char *)read_file(desc, &len);

	/* Image findings name the image inside the disk. */
	put32(root, PRLD_OFF_INUSE, PRLD_INUSE_MAGIC);
	is_int(check(dir, false, &rep), 2, "disk: in-use image: exit 2");
	ok(rep.count == 1 && strstr(rep.items[0].file, "root.hds"),
	   "disk: finding names root.hds");
	prld_report_free(&rep);
	expect(dir, true, 0, PRLD_SEV_FIXED, "in-use", "disk: repair");

	edit(desc, "<Blocksize>128<", "<Blocksize>256<");
	expect(dir, false, 2, PRLD_SEV_CORRUPT, "Blocksize", "disk: Blocksize");
	edit(desc, "<Blocksize>256<", "<Blocksize>128<");
	expect(dir, false, 0, PRLD_SEV_NOTE, NULL, "disk: Blocksize restored");

	/* A descriptor consistent in itself, but not with its image. */
	edit(desc, "<Disk_size>2048<", "<Disk_size>1024<");
	edit(desc, "<End>2048<", "<End>1024<");
	edit(desc, "<Cylinders>4<", "<Cylinders>2<");
	expect(dir, false, 2, PRLD_SEV_CORRUPT,
	       "more than the descriptor's Disk_size 1024: an interrupted resize; 'prldctl resize -s 1048576' finishes it",
	       "disk: Disk_size behind the top");
	/* ... and one that is not: desc_load's own words, once. */
	edit(desc, "<End>1024<", "<End>2048<");
	is_int(check(dir, false, &rep), 2, "disk: bad End: exit 2");
	if (!ok(rep.count == 1 && !strstr(rep.items[0].msg, PRLD_DESCRIPTOR),
		"disk: one finding, path not repeated in the message"))
		dump(&rep);
	prld_report_free(&rep);
	edit(desc, "<Disk_size>1024<", "<Disk_size>2048<");
	edit(desc, "<Cylinders>2<", "<Cylinders>4<");

	edit(desc, "root.hds<", "gone.hds<");
	expect(dir, false, 2, PRLD_SEV_CORRUPT, "missing", "disk: missing");
	edit(desc, "gone.hds<", "root.hds<");

	edit(desc, "<TopGUID>{5", "<TopGUID>{6");
	expect(dir, false, 2, PRLD_SEV_CORRUPT, "TopGUID", "disk: bad TopGUID");
	edit(desc, "<TopGUID>{6", "<TopGUID>{5");

	edit(desc, "<StorageData>", "<StorageData");
	expect(desc, false, 2, PRLD_SEV_CORRUPT, "", "disk: broken XML");
	expect(desc, true, 2, PRLD_SEV_CORRUPT, "", "disk: XML not repaired");

	{
		FILE *f = fopen(desc, "w");

		fwrite(saved, 1, len, f);
		fclose(f);
	}
	expect(dir, false, 0, PRLD_SEV_NOTE, NULL, "disk: restored");
	free(saved);
}

#define G1 "{1b3c6b1e-0000-4000-8000-00000000c0de}"

/* Two layers written by hand: base root.hds, top delta. */
static void write_chain_descriptor(const char *desc)
{
	FILE *f = fopen(desc, "w");

	if (!f)
		die(desc, NULL);
	fprintf(f,
		"<?xml version=\"1.0\"?>\n"
		"<Parallels_disk_image Version=\"1.0\">\n"
		"<Disk_Parameters><Disk_size>2048</Disk_size>"
		"<Cylinders>4</Cylinders><Heads>16</Heads><Sectors>32</Sectors>"
		"<Padding>0</Padding></Disk_Parameters>\n"
		"<StorageData><Storage><Start>0</Start><End>2048</End>"
		"<Blocksize>128</Blocksize>\n"
		"<Image><GUID>" G1 "</GUID><Type>Compressed</Type>"
		"<File>root.hds</File></Image>\n"
		"<Image><GUID>" PRLD_TOP_GUID "</GUID><Type>Compressed</Type>"
		"<File>root.hds." PRLD_TOP_GUID "</File></Image>\n"
		"</Storage></StorageData>\n"
		"<Snapshots><TopGUID>" PRLD_TOP_GUID "</TopGUID>\n"
		"<Shot><GUID>" G1 "</GUID><ParentGUID>" PRLD_ZERO_GUID
		"</ParentGUID></Shot>\n"
		"<Shot><GUID>" PRLD_TOP_GUID "</GUID><ParentGUID>" G1
		"</ParentGUID></Shot>\n"
		"</Snapshots>\n</Parallels_disk_image>\n");
	fclose(f);
}

static void make_delta(const char *path, uint32_t cs)
{
	struct prld_create_params p = {
		.size_sectors = NCL * CS,
		.cluster_sectors = cs,
	};
	struct prld_err err = { 0 };

	unlink(path);
	if (prld_create_image(path, &p, &err))
		die("create delta", &err);
}

static void test_chain(void)
{
	char dir[600], desc[700], base[700], top[800];
	struct prld_report rep;

	snprintf(dir, sizeof(dir), "%s/chain", tmpdir);
	snprintf(desc, sizeof(desc), "%s/%s", dir, PRLD_DESCRIPTOR);
	snprintf(base, sizeof(base), "%s/root.hds", dir);
	snprintf(top, sizeof(top), "%s/root.hds.%s", dir, PRLD_TOP_GUID);
	make_disk(dir);
	write_chain_descriptor(desc);
	make_delta(top, CS);
	expect(dir, false, 0, PRLD_SEV_NOTE, NULL, "chain: clean");

	/* A finding names the layer it is about. */
	put32(base, PRLD_OFF_INUSE, PRLD_INUSE_MAGIC);
	bat_set(top, 1, 40);
	is_int(check(dir, false, &rep), 2, "chain: both layers damaged");
	is_int(rep.corrupt, 2, "chain: two corruptions");
	ok(rep.count == 2 && strstr(rep.items[0].file, "root.hds") &&
	   !strstr(rep.items[0].file, "{") &&
	   strstr(rep.items[1].file, PRLD_TOP_GUID),
	   "chain: base first, then the top, each named");
	prld_report_free(&rep);
	is_int(check(desc, true, &rep), 0, "chain: repair both");
	is_int(rep.fixed, 2, "chain: two repairs");
	prld_report_free(&rep);

	make_delta(top, 2 * CS);
	expect(dir, false, 2, PRLD_SEV_CORRUPT, "Blocksize 128",
	       "chain: delta with another cluster size");
	unlink(top);
	expect(dir, false, 2, PRLD_SEV_CORRUPT, "is missing",
	       "chain: delta missing");
}

int main(void)
{
	tmpdir_make("check");
	test_clean();
	test_in_use();
	test_bad_entries();
	test_duplicates();
	test_tails();
	test_hole();
	test_discarded_hole();
	test_data_off_note();
	test_empty_flag();
	test_bad_headers();
	test_not_image();
	test_cap();
	test_combined();
	test_busy();
	test_errors();
	test_descriptor();
	test_chain();
	/* Kept for a post-mortem if anything failed. */
	if (!tap_failed && tmpdir_remove())
		printf("# could not remove %s\n", tmpdir);
	return tap_done();
}
