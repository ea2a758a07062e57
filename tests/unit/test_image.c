// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * test_image.c - libprld on bare images: helpers (sizes, CHS, messages),
 * prld_create_image's exact bytes, and reads/writes through prld_open
 * checked against an in-memory copy of the disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

/* ---- helpers -------------------------------------------------------- */

static int make_image(const char *name, uint64_t sectors, uint32_t cluster,
		      int fmt, bool prealloc)
{
	struct prld_create_params p = {
		.size_sectors = sectors,
		.cluster_sectors = cluster,
		.fmt = fmt,
		.preallocate = prealloc,
	};
	struct prld_err err = { 0 };
	int ret = prld_create_image(tpath("%s", name), &p, &err);

	if (ret)
		printf("# create %s: %s\n", name, err.msg);
	return ret;
}

/* End of the highest cluster the BAT maps, from the file itself. */
static uint64_t bat_end(const char *path, int fmt)
{
	uint32_t n = hdr32(path, PRLD_OFF_BAT_ENTRIES);
	uint64_t cl = (uint64_t)hdr32(path, PRLD_OFF_TRACKS) * 512;
	uint64_t end = (uint64_t)hdr32(path, PRLD_OFF_DATA_OFF) * 512;
	uint32_t i, e;

	for (i = 0; i < n; i++) {
		uint64_t off;

		e = hdr32(path, 64 + 4 * i);
		off = fmt == PRLD_FMT_V1 ? (uint64_t)e * 512 : (uint64_t)e * cl;
		if (e && off + cl > end)
			end = off + cl;
	}
	return end;
}

/* ---- util.c, geometry.c -------------------------------------------- */

static void test_parse_size(void)
{
	static const struct {
		const char *text;
		int ret;
		uint64_t bytes;
	} cases[] = {
		{ "0", 0, 0 },
		{ "512", 0, 512 },
		{ "512B", 0, 512 },
		{ "64k", 0, 64 << 10 },
		{ "64K", 0, 64 << 10 },
		{ "64KiB", 0, 64 << 10 },
		{ "64kib", 0, 64 << 10 },
		{ "64KB", 0, 64 << 10 },
		{ "1M", 0, 1 << 20 },
		{ "3g", 0, 3ULL << 30 },
		{ "2T", 0, 2ULL << 40 },
		{ "16777215T", 0, 16777215ULL << 40 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },
		{ "1.5G", 0, 3ULL << 29 },
		{ "0.5k", 0, 512 },
		{ "1.25M", 0, 1310720 },
		{ "2.0", 0, 2 },
		{ "1.5", -EINVAL, 0 },		/* half a byte */
		{ "1.G", -EINVAL, 0 },
		{ ".5G", -EINVAL, 0 },
		{ "1.0000000001K", -EINVAL, 0 },	/* more than 9 digits */
		{ "16777215.5T", 0, (16777215ULL << 40) + (1ULL << 39) },
		{ "16777215.75T", 0, (16777215ULL << 40) + (3ULL << 38) },
		{ "16777216.5T", -ERANGE, 0 },
		{ "1.1K", -EINVAL, 0 },		/* 1126.4 bytes */
		{ "G", -EINVAL, 0 },
		{ "12X", -EINVAL, 0 },
		{ "12iB", -EINVAL, 0 },
		{ "12MM", -EINVAL, 0 },
		{ "12Mi", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "16777216T", -ERANGE, 0 },
		{ "99999999999999999999999", -ERANGE, 0 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		int ret = prld_parse_size(cases[i].text, &v);

		is_int(ret, cases[i].ret, "parse_size(\"%s\") returns %d",
		       cases[i].text, cases[i].ret);
		if (!cases[i].ret)
			ok(v == cases[i].bytes, "parse_size(\"%s\") = %llu",
			   cases[i].text, (unsigned long long)cases[i].bytes);
	}
	is_int(prld_parse_size(NULL, &(uint64_t){ 0 }), -EINVAL,
	       "parse_size(NULL) is -EINVAL");
}

static void chs_case(uint64_t size, uint32_t c, uint32_t h, uint32_t s)
{
	struct prld_chs chs;

	prld_chs_from_size(size, &chs);
	ok(chs.cylinders == c && chs.heads == h && chs.sectors == s,
	   "chs(%llu) = %u/%u/%u (got %u/%u/%u)", (unsigned long long)size,
	   c, h, s, chs.cylinders, chs.heads, chs.sectors);
}

static void test_chs(void)
{
	/* Boundaries of the 16 x 63 band are exclusive. */
	chs_case(1032192, 1024, 16, 63);	/* 63 * 16 divides it anyway */
	chs_case(1032193, 1024, 16, 63);	/* in band: truncated */
	chs_case(16777215, 16644, 16, 63);
	chs_case(16777216, 32768, 16, 32);	/* 8 GiB: 32 sectors */
	chs_case(1032190, 1032190, 1, 1);	/* nothing divides: LBA */
	chs_case(2048, 4, 16, 32);		/* 1 MiB */
	chs_case(20971520, 40960, 16, 32);	/* 10 GiB, as in the notes */
	chs_case(63 * 8 * 3, 3, 8, 63);		/* 63, then 8 heads */
	chs_case(63 * 5, 315, 1, 1);		/* 63 fits, no head: LBA */
	chs_case(7, 7, 1, 1);			/* nothing divides: LBA */
	chs_case(8 * 3, 24, 1, 1);		/* 8 fits, 3 has no head */
	chs_case(64, 1, 2, 32);
	chs_case(0x400000000000ULL, UINT32_MAX, 16, 32);	/* clamped */
}

static void test_paths(void)
{
	static const char *const dn[][2] = {
		{ "a/b/c", "a/b" }, { "a", "." }, { "/a", "/" },
		{ "/a/b/", "/a" }, { "a//b", "a" }, { "/", "/" },
	};
	unsigned int i;
	char *s;

	for (i = 0; i < sizeof(dn) / sizeof(dn[0]); i++) {
		s = prld_dirname(dn[i][0]);
		ok(s && !strcmp(s, dn[i][1]), "dirname(%s) = %s (got %s)",
		   dn[i][0], dn[i][1], s ? s : "NULL");
		free(s);
	}
	s = prld_join("d", "f");
	ok(s && !strcmp(s, "d/f"), "join(d, f) = d/f");
	free(s);
	s = prld_join("d/", "f");
	ok(s && !strcmp(s, "d/f"), "join(d/, f) = d/f");
	free(s);
	is_int(prld_fsync_dir(tpath("x")), 0, "fsync_dir of the test dir");
}

static void test_fault_msg(void)
{
	struct prld_err err = { 0 };
	struct prld_fault f = { PRLD_E_BAT_EOF, 7, 99, 4096 };

	is_int(prld_fault_err(&err, "a.hds", &f), -EINVAL,
	       "fault_err returns -EINVAL");
	is_int(err.code, -EINVAL, "fault_err sets the code");
	like(err.msg, "a.hds: BAT entry points past the end of the file",
	     "fault message names file and rule");
	like(err.msg, "BAT entry 7: value 99, limit 4096",
	     "fault message names entry, value and limit");
	f = (struct prld_fault){ PRLD_E_DATA_OFF_ALIGN, PRLD_OFF_DATA_OFF,
				 5, 2048 };
	prld_fault_err(&err, "b.hds", &f);
	like(err.msg, "(data_off: value 5, limit 2048)",
	     "header fault names the field");
	is_int(prld_set_err(NULL, -EIO, "x"), -EIO, "set_err(NULL) returns code");
}

/* ---- create --------------------------------------------------------- */

struct want_hdr {
	const char *magic;
	uint32_t heads, cylinders, tracks, bat, data_off, flags;
	uint64_t nb_sectors, length;
};

static void check_header(const char *name, const struct want_hdr *w)
{
	const char *path = tpath("%s", name);
	char magic[17] = { 0 };
	__u8 zeros[4096], buf[4096];
	uint64_t pos, end = (uint64_t)w->data_off * 512;
	bool bat_zero = true;

	read_bytes(path, magic, 16, 0);
	ok(!strcmp(magic, w->magic), "%s: magic %s", name, w->magic);
	is_int(hdr32(path, PRLD_OFF_VERSION), 2, "%s: version 2", name);
	is_int(hdr32(path, PRLD_OFF_HEADS), w->heads, "%s: heads", name);
	is_int(hdr32(path, PRLD_OFF_CYLINDERS), w->cylinders,
	       "%s: cylinders", name);
	is_int(hdr32(path, PRLD_OFF_TRACKS), w->tracks, "%s: tracks", name);
	is_int(hdr32(path, PRLD_OFF_BAT_ENTRIES), w->bat, "%s: bat_entries",
	       name);
	is_int(hdr64(path, PRLD_OFF_NB_SECTORS), w->nb_sectors,
	       "%s: nb_sectors", name);
	is_int(hdr32(path, PRLD_OFF_INUSE), 0, "%s: inuse 0", name);
	is_int(hdr32(path, PRLD_OFF_DATA_OFF), w->data_off, "%s: data_off",
	       name);
	is_int(hdr32(path, PRLD_OFF_FLAGS), w->flags, "%s: flags", name);
	is_int(hdr64(path, PRLD_OFF_EXT_OFF), 0, "%s: ext_off 0", name);
	is_int(file_size(path), w->length, "%s: file length", name);
	memset(zeros, 0, sizeof(zeros));
	for (pos = 64; pos < end; pos += sizeof(buf)) {
		size_t n = end - pos < sizeof(buf) ? end - pos : sizeof(buf);

		if (read_bytes(path, buf, n, pos) || memcmp(buf, zeros, n))
			bat_zero = false;
	}
	ok(bat_zero, "%s: BAT and padding are zeros", name);
}

static void test_create_layouts(void)
{
	struct want_hdr w;

	/* 64 KiB clusters, 10 MiB: 160 entries fit in the first cluster. */
	if (!make_image("c64k.hds", 20480, 128, 0, false)) {
		w = (struct want_hdr){ PRLD_MAGIC_V2, 16, 40, 128, 160, 128,
				       PRLD_FLAG_EMPTY, 20480, 65536 };
		check_header("c64k.hds", &w);
	}
	/* Default 1 MiB clusters, 100 MiB. */
	if (!make_image("c1m.hds", 204800, 0, 0, false)) {
		w = (struct want_hdr){ PRLD_MAGIC_V2, 16, 400, 2048, 100, 2048,
				       PRLD_FLAG_EMPTY, 204800, 1 << 20 };
		check_header("c1m.hds", &w);
	}
	/* Odd 33-sector clusters: size rounds up, data_off stays aligned. */
	if (!make_image("c33.hds", 1000, 33, 0, false)) {
		w = (struct want_hdr){ PRLD_MAGIC_V2, 1, 1023, 33, 31, 33,
				       PRLD_FLAG_EMPTY, 1023, 33 * 512 };
		check_header("c33.hds", &w);
	}
	/* 2 GiB at 64 KiB: the 128 KiB BAT needs three clusters. */
	if (!make_image("c2g.hds", 4194304, 128, 0, false)) {
		w = (struct want_hdr){ PRLD_MAGIC_V2, 16, 4161, 128, 32768,
				       384, PRLD_FLAG_EMPTY, 4194304,
				       384 * 512 };
		check_header("c2g.hds", &w);
	}
	/* V1 magic on request; the layout is the same. */
	if (!make_image("v1.hds", 20480, 128, PRLD_FMT_V1, false)) {
		w = (struct want_hdr){ PRLD_MAGIC_V1, 16, 40, 128, 160, 128,
				       PRLD_FLAG_EMPTY, 20480, 65536 };
		check_header("v1.hds", &w);
	}
}

static void test_create_chs_given(void)
{
	struct prld_create_params p = {
		.size_sectors = 4096, .cylinders = 4, .heads = 16,
		.sectors = 64,
	};
	struct prld_err err = { 0 };

	is_int(prld_create_image(tpath("chs.hds"), &p, &err), 0,
	       "create with explicit CHS");
	is_int(hdr32(tpath("chs.hds"), PRLD_OFF_HEADS), 16, "given heads");
	is_int(hdr32(tpath("chs.hds"), PRLD_OFF_CYLINDERS), 4,
	       "given cylinders");
	is_int(hdr32(tpath("chs.hds"), PRLD_OFF_TRACKS), 2048,
	       "tracks is the cluster, not sectors per track");
}

static void create_fails(const struct prld_create_params *p, const char *name,
			 int code, const char *msg, const char *what)
{
	struct prld_err err = { 0 };

	is_int(prld_create_image(tpath("%s", name), p, &err), code, "%s", what);
	like(err.msg, msg, "%s: message", what);
	if (code != -EEXIST)
		ok(access(tpath("%s", name), F_OK) != 0,
		   "%s: nothing left behind", what);
}

static void test_create_errors(void)
{
	struct prld_create_params p = { .size_sectors = 2048 };

	create_fails(&(struct prld_create_params){ 0 }, "e0.hds", -EINVAL,
		     "at least one sector", "size 0 is refused");
	p.cluster_sectors = PRLD_MAX_CLUSTER_SECTORS + 1;
	create_fails(&p, "e1.hds", -EINVAL, "cluster size 131073",
		     "cluster above 64 MiB is refused");
	p.cluster_sectors = 0;
	p.heads = 16;
	create_fails(&p, "e2.hds", -EINVAL, "all of cylinders, heads",
		     "partial CHS is refused");
	p.heads = 0;
	p.fmt = 3;
	create_fails(&p, "e3.hds", -EINVAL, "unknown image format",
		     "unknown format is refused");
	p.fmt = PRLD_FMT_V1;
	p.size_sectors = 1ULL << 33;
	create_fails(&p, "e4.hds", -EINVAL, "too large",
		     "V1 beyond 32-bit sectors is refused");
	p.fmt = 0;
	p.size_sectors = 1ULL << 50;
	create_fails(&p, "e5.hds", -EINVAL, "too large",
		     "more than 2^32 clusters is refused");
	p.size_sectors = 2048;
	create_fails(&p, "c64k.hds", -EEXIST, "already exists",
		     "existing file is not overwritten");
	is_int(file_size(tpath("c64k.hds")), 65536, "existing file untouched");
	create_fails(&p, "nodir/x.hds", -ENOENT, "nodir/x.hds",
		     "missing directory is reported");
	is_int(prld_create_image(tpath("n.hds"), NULL, NULL), -EINVAL,
	       "NULL params, NULL err");
}

static void test_preallocate(void)
{
	const char *path = tpath("pre.hds");
	struct prld_disk *d;
	struct stat st;
	uint8_t buf[4096], zero[4096] = { 0 };
	uint32_t i;
	bool seq = true;

	if (make_image("pre.hds", 2048, 128, 0, true))
		return;
	is_int(file_size(path), 65536 + 16 * 65536,
	       "preallocated: file holds header and all clusters");
	ok(stat(path, &st) == 0 && (uint64_t)st.st_blocks * 512 >=
	   file_size(path), "preallocated: no holes");
	for (i = 0; i < 16; i++)
		seq &= hdr32(path, 64 + 4 * i) == 1 + i;
	ok(seq, "preallocated: BAT maps clusters in order after data_off");
	is_int(hdr32(path, PRLD_OFF_FLAGS), 0, "preallocated: EMPTY clear");
	d = open_disk(path, PRLD_OPEN_READ | PRLD_OPEN_WRITE, 0);
	if (!ok(d != NULL, "preallocated image opens"))
		return;
	is_int(prld_pread(d, buf, sizeof(buf), 500000, NULL), 0, "read");
	ok(!memcmp(buf, zero, sizeof(buf)), "preallocated space reads zeros");
	memset(buf, 0x5a, sizeof(buf));
	is_int(prld_pwrite(d, buf, sizeof(buf), 70000, NULL), 0, "write");
	is_int(prld_close(d, NULL), 0, "close");
	is_int(file_size(path), 65536 + 16 * 65536,
	       "writing in place does not grow the file");
	memset(buf, 0, sizeof(buf));
	read_bytes(path, buf, sizeof(buf), 65536 + 70000);
	is_int(buf[0] == 0x5a && buf[4095] == 0x5a, 1,
	       "data landed at its preallocated place");
}

/* ---- I/O ------------------------------------------------------------ */

static void test_random_io(const char *name, uint32_t cluster,
			   uint64_t sectors, int fmt)
{
	const char *path = tpath("%s", name);
	uint64_t size = sectors * 512;
	uint8_t *ref = calloc(1, size), *buf = malloc(size);
	struct prld_disk *d;

	if (!ref || !buf || make_image(name, sectors, cluster, fmt, false))
		goto out;
	d = open_disk(path, PRLD_OPEN_READ | PRLD_OPEN_WRITE, 0);
	if (!ok(d != NULL, "%s: writable open", name))
		goto out;
	is_int(hdr32(path, PRLD_OFF_INUSE), 0,
	       "%s: in-use flag not set before the first write", name);
	random_writes(d, ref, size, 150, 3 * cluster * 512 / 2);
	is_int(hdr32(path, PRLD_OFF_INUSE), PRLD_INUSE_MAGIC,
	       "%s: in-use flag set on disk while writing", name);
	is_int(prld_pread(d, buf, size, 0, NULL), 0, "%s: read all", name);
	ok(!memcmp(buf, ref, size), "%s: reads match before close", name);
	is_int(prld_close(d, NULL), 0, "%s: close", name);
	is_int(hdr32(path, PRLD_OFF_INUSE), 0, "%s: in-use cleared", name);
	is_int(hdr32(path, PRLD_OFF_FLAGS), 0, "%s: EMPTY cleared", name);
	is_int(file_size(path), bat_end(path, fmt),
	       "%s: file ends after the last allocated cluster", name);
	ok(disk_equals(path, ref, size), "%s: reopened disk matches", name);
out:
	free(ref);
	free(buf);
}

static void test_sector_io(void)
{
	const char *path = tpath("sec.hds");
	uint8_t w[1536], r[1536];
	struct prld_disk *d;

	if (make_image("sec.hds", 4096, 128, 0, false))
		return;
	d = open_disk(path, PRLD_OPEN_READ | PRLD_OPEN_WRITE, 0);
	if (!ok(d != NULL, "sector I/O: open"))
		return;
	fill_random(w, sizeof(w));
	is_int(prld_write(d, w, 3, 127, NULL), 0, "write 3 sectors at 127");
	is_int(prld_read(d, r, 3, 127, NULL), 0, "read them back");
	ok(!memcmp(w, r, sizeof(r)), "sector data matches");
	is_int(prld_pread(d, r, 512, 127 * 512, NULL), 0, "pread");
	ok(!memcmp(w, r, 512), "pread at the same byte offset agrees");
	is_int(prld_read(d, r, 2, 4095, NULL), -ENXIO,
	       "read past the end is -ENXIO");
	is_int(prld_read(d, r, 1, UINT64_MAX / 2, NULL), -ENXIO,
	       "huge sector is -ENXIO");
	is_int(prld_flush(d, NULL), 0, "flush");
	is_int(prld_close(d, NULL), 0, "close");
}

static void test_inuse_refused(void)
{
	const char *path = tpath("dirty.hds");
	struct prld_err err = { 0 };
	struct prld_disk *d = NULL;
	struct prld_info info;

	if (make_image("dirty.hds", 2048, 128, 0, false))
		return;
	put32(path, PRLD_OFF_INUSE, PRLD_INUSE_MAGIC);
	is_int(prld_open(path, PRLD_OPEN_READ | PRLD_OPEN_WRITE, NULL, &d,
			 &err), -EUCLEAN, "writable open of a dirty image");
	like(err.msg, "prldctl check --repair", "message says how to fix it");
	like(err.msg, "dirty.hds", "message names the file");
	ok(d == NULL, "no handle on failure");
	d = open_disk(path, PRLD_OPEN_READ, 0);
	ok(d != NULL, "read-only open of a dirty image works");
	if (d) {
		prld_get_info(d, &info);
		ok(info.layers[0].in_use, "info reports the in-use flag");
		prld_close(d, NULL);
	}
	is_int(hdr32(path, PRLD_OFF_INUSE), PRLD_INUSE_MAGIC,
	       "read-only close leaves the flag alone");
}

static void test_locking(void)
{
	const char *path = tpath("lock.hds");
	struct prld_err err = { 0 };
	struct prld_disk *a, *b = NULL, *c;
	uint8_t byte = 1;

	if (make_image("lock.hds", 2048, 128, 0, false))
		return;
	a = open_disk(path, PRLD_OPEN_READ | PRLD_OPEN_WRITE, 0);
	is_int(prld_open(path, PRLD_OPEN_READ | PRLD_OPEN_WRITE, NULL, &b,
			 &err), -EBUSY, "second writable open is -EBUSY");
	like(err.msg, "in use by another process", "lock message");
	is_int(prld_open(path, PRLD_OPEN_READ, NULL, &b, &err), -EBUSY,
	       "reader while a writer holds it is -EBUSY");
	is_int(prld_pwrite(a, &byte, 1, 0, NULL), 0, "writer still works");
	prld_close(a, NULL);
	a = open_disk(path, PRLD_OPEN_READ, 0);
	c = open_disk(path, PRLD_OPEN_READ | PRLD_OPEN_READ_LOCK, 0);
	ok(a && c, "two readers share the image");
	is_int(prld_open(path, PRLD_OPEN_WRITE, NULL, &b, &err), -EBUSY,
	       "writer while readers hold it is -EBUSY");
	prld_close(a, NULL);
	prld_close(c, NULL);
	is_int(prld_close(NULL, NULL), 0, "close(NULL) is fine");
}

static void test_offset_policy(void)
{
	const char *path = tpath("off.hds");
	uint64_t size = 2048 * 512, shift = 4096 + 7;
	uint8_t w[10000], r[10000];
	struct prld_err err = { 0 };
	struct prld_disk *d = NULL;
	struct prld_policy pol = { .offset = size + 1 };
	struct prld_info info;

	if (make_image("off.hds", 2048, 128, 0, false))
		return;
	d = open_disk(path, PRLD_OPEN_READ | PRLD_OPEN_WRITE, shift);
	if (!ok(d != NULL, "open with an offset"))
		return;
	prld_get_info(d, &info);
	is_int(info.visible_bytes, size - shift, "visible = size - offset");
	is_int(info.size_sectors, 2048, "size is before the offset");
	fill_random(w, sizeof(w));
	is_int(prld_pwrite(d, w, sizeof(w), 0, NULL), 0, "write at 0");
	is_int(prld_pwrite(d, w, 1, size - shift, &err), -ENXIO,
	       "write at the visible end is -ENXIO");
	like(err.msg, "off.hds", "range message names the file");
	is_int(prld_pwrite(d, w, 0, size - shift, NULL), 0,
	       "empty write at the end is fine");
	prld_close(d, NULL);
	d = open_disk(path, PRLD_OPEN_READ, 0);
	is_int(prld_pread(d, r, sizeof(r), shift, NULL), 0, "plain read");
	ok(!memcmp(w, r, sizeof(r)), "offset write landed at byte 4103");
	prld_close(d, NULL);
	d = open_disk(path, PRLD_OPEN_READ, size);
	ok(d != NULL, "offset == size opens (nothing visible)");
	prld_close(d, NULL);
	d = NULL;
	is_int(prld_open(path, PRLD_OPEN_READ, &pol, &d, &err), -EINVAL,
	       "offset beyond the size is -EINVAL");
	like(err.msg, "offset 1048577", "offset message shows the value");
}

static void test_fake_and_readonly(void)
{
	const char *path = tpath("fake.hds");
	struct prld_disk *d, *w;
	struct prld_map m;
	struct prld_info info;
	uint8_t b[512] = { 0 };

	if (make_image("fake.hds", 2048, 128, 0, false))
		return;
	d = open_disk(path, PRLD_OPEN_FAKE | PRLD_OPEN_WRITE, 0);
	if (!ok(d != NULL, "FAKE open"))
		return;
	is_int(prld_get_info(d, &info), 0, "FAKE: info works");
	is_int(info.size_sectors, 2048, "FAKE: size");
	is_int(info.cluster_sectors, 128, "FAKE: cluster");
	ok(!info.has_descriptor && info.nlayers == 1 && info.layers[0].top,
	   "FAKE: one bare top layer");
	is_int(prld_pread(d, b, 512, 0, NULL), -EPERM, "FAKE: read -EPERM");
	is_int(prld_pwrite(d, b, 512, 0, NULL), -EPERM, "FAKE: write -EPERM");
	is_int(prld_get_map(d, NULL, NULL, &m, NULL), -EPERM,
	       "FAKE: map -EPERM");
	prld_close(d, NULL);
	is_int(hdr32(path, PRLD_OFF_INUSE), 0, "FAKE: image untouched");
	w = open_disk(path, PRLD_OPEN_READ | PRLD_OPEN_WRITE, 0);
	is_int(prld_pwrite(w, b, 512, 0, NULL), 0, "a writer is busy");
	d = open_disk(path, PRLD_OPEN_FAKE, 0);
	ok(d != NULL, "FAKE open works while a writer holds the image");
	if (d) {
		prld_get_info(d, &info);
		ok(info.layers[0].in_use, "FAKE sees the writer's in-use flag");
	}
	prld_close(d, NULL);
	prld_close(w, NULL);
	d = open_disk(path, PRLD_OPEN_READ, 0);
	is_int(prld_pwrite(d, b, 512, 0, NULL), -EBADF,
	       "read-only: write -EBADF");
	is_int(prld_flush(d, NULL), 0, "read-only: flush is a no-op");
	prld_close(d, NULL);
	is_int(file_size(path), 2 * 65536, "read-only: file untouched");
}

static void expect_open_fail(const char *name, unsigned int flags, int code,
			     const char *msg, const char *what)
{
	struct prld_err err = { 0 };
	struct prld_disk *d = NULL;

	is_int(prld_open(tpath("%s", name), flags, NULL, &d, &err), code, "%s",
	       what);
	like(err.msg, msg, "%s: message", what);
	prld_close(d, NULL);
}

static void test_bad_images(void)
{
	const unsigned int rw = PRLD_OPEN_READ | PRLD_OPEN_WRITE;

	if (make_image("bad.hds", 2048, 128, 0, false))
		return;
	put32(tpath("bad.hds"), 64 + 4 * 3, 5);	/* cluster 5: past EOF */
	expect_open_fail("bad.hds", PRLD_OPEN_READ, -EINVAL,
			 "BAT entry 3: value 5", "BAT entry past EOF");
	put32(tpath("bad.hds"), 64 + 4 * 3, 0);
	put32(tpath("bad.hds"), PRLD_OFF_VERSION, 3);
	expect_open_fail("bad.hds", PRLD_OPEN_READ, -EINVAL,
			 "bad.hds: unsupported version (must be 2) (version: value 3, limit 2)",
			 "bad version");
	put32(tpath("bad.hds"), PRLD_OFF_VERSION, 2);
	put32(tpath("bad.hds"), PRLD_OFF_FLAGS, PRLD_FLAG_CONVERTING);
	expect_open_fail("bad.hds", rw, -EOPNOTSUPP, "conversion",
			 "writable open during conversion");
	put32(tpath("bad.hds"), PRLD_OFF_FLAGS, 0);
	write_bytes(tpath("bad.hds"), "NotAParallelsImg", 16, 0);
	expect_open_fail("bad.hds", PRLD_OPEN_READ, -EINVAL,
			 "bad.hds: not a Parallels image",
			 "bad magic");
	expect_open_fail("missing.hds", PRLD_OPEN_READ, -ENOENT,
			 "missing.hds", "missing file");
}

static void test_bad_ext_off(void)
{
	const char *path = tpath("ext.hds");
	uint8_t one = 1;
	struct prld_disk *d;

	if (make_image("ext.hds", 2048, 128, 0, false))
		return;
	/* A valid extension cluster at data_off, as QEMU would place it. */
	ok(truncate(path, 2 * 65536) == 0, "room for an extension cluster");
	put32(path, PRLD_OFF_EXT_OFF, 128);
	d = open_disk(path, PRLD_OPEN_READ, 0);
	ok(d != NULL, "read-only open with ext_off works");
	is_int(prld_pwrite(d, &one, 1, 0, NULL), -EBADF, "and stays read-only");
	prld_close(d, NULL);
	/* A writer drops the extension (it would describe stale data). */
	d = open_disk(path, PRLD_OPEN_READ | PRLD_OPEN_WRITE, 0);
	ok(d != NULL, "writable open with ext_off works");
	is_int(hdr64(path, PRLD_OFF_EXT_OFF), 128, "... an open alone keeps it");
	is_int(prld_pwrite(d, &one, 1, 0, NULL), 0, "... a write goes in");
	is_int(hdr64(path, PRLD_OFF_EXT_OFF), 0,
	       "... the extension dropped before the data changed");
	is_int(prld_close(d, NULL), 0, "... closes cleanly");
	d = open_disk(path, PRLD_OPEN_READ, 0);
	one = 0;
	ok(d && prld_pread(d, &one, 1, 0, NULL) == 0 && one == 1,
	   "... and reads back what was written");
	prld_close(d, NULL);
}

static void test_duplicate_bat(void)
{
	const char *path = tpath("dup.hds");

	if (make_image("dup.hds", 2048, 128, 0, false))
		return;
	ok(truncate(path, 2 * 65536) == 0, "room for one cluster");
	put32(path, 64 + 4 * 1, 1);
	put32(path, 64 + 4 * 9, 1);
	expect_open_fail("dup.hds", PRLD_OPEN_READ, -EINVAL,
			 "BAT entry 9: value 1", "duplicate BAT entry");
}

/* A torn extension (§7.5): allocation restarts at the rounded-down size. */
static void test_torn_tail(void)
{
	const char *path = tpath("torn.hds");
	uint64_t size = 2048 * 512;
	uint8_t *ref = calloc(1, size), junk[1000], w[100];
	struct prld_disk *d;
	int fd;

	if (!ref || make_image("torn.hds", 2048, 128, 0, false))
		goto out;
	memset(junk, 0xee, sizeof(junk));
	fd = open(path, O_WRONLY | O_APPEND);
	ok(write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk),
	   "append 1000 stale bytes");
	close(fd);
	d = open_disk(path, PRLD_OPEN_READ | PRLD_OPEN_WRITE, 0);
	if (!ok(d != NULL, "image with a torn tail opens"))
		goto out;
	fill_random(w, sizeof(w));
	is_int(prld_pwrite(d, w, sizeof(w), 200000, NULL), 0,
	       "write into a new cluster");
	memcpy(ref + 200000, w, sizeof(w));
	is_int(prld_flush(d, NULL), 0, "flush writes the batch's BAT");
	is_int(hdr32(path, 64 + 4 * 3), 1,
	       "new cluster reuses the torn space at data_off");
	prld_close(d, NULL);
	is_int(file_size(path), 2 * 65536, "file ends after that cluster");
	ok(disk_equals(path, ref, size),
	   "stale tail bytes never show through");
out:
	free(ref);
}

/*
 * Leaked whole clusters at the end are reclaimed: the next cluster goes
 * right after the last mapped one, so no hole is left behind it.
 */
static void test_leak_reuse(void)
{
	const char *path = tpath("leak.hds");
	struct prld_report rep = { 0 };
	struct prld_disk *d;
	uint8_t b = 7, got = 0;

	if (make_image("leak.hds", 2048, 128, 0, false))
		return;
	ok(truncate(path, 4 * 65536) == 0, "three leaked clusters");
	d = open_disk(path, PRLD_OPEN_READ | PRLD_OPEN_WRITE, 0);
	if (!ok(d != NULL, "image with leaked clusters opens"))
		return;
	prld_pwrite(d, &b, 1, 70000, NULL);
	prld_flush(d, NULL);
	is_int(hdr32(path, 64 + 4), 1, "allocation reuses the leaked space");
	prld_close(d, NULL);
	is_int(file_size(path), 2 * 65536, "file ends after the new cluster");
	d = open_disk(path, PRLD_OPEN_READ, 0);
	if (d) {
		prld_pread(d, &got, 1, 70000, NULL);
		prld_close(d, NULL);
	}
	is_int(got, 7, "the byte written is there");
	prld_check(path, false, &rep, NULL);
	is_int(prld_report_exit_status(&rep), 0, "no leak and no hole left");
	prld_report_free(&rep);
}

/* A QEMU-style image whose size is not a multiple of the cluster. */
static void test_partial_last_cluster(void)
{
	const char *path = tpath("qemu.hds");
	uint8_t w[300], r[300];
	struct prld_disk *d;
	struct prld_info info;

	if (make_image("qemu.hds", 1024, 128, 0, false))
		return;
	put32(path, PRLD_OFF_NB_SECTORS, 1000);
	d = open_disk(path, PRLD_OPEN_READ | PRLD_OPEN_WRITE, 0);
	if (!ok(d != NULL, "image with 1000 sectors, 128-sector clusters"))
		return;
	prld_get_info(d, &info);
	is_int(info.visible_bytes, 512000, "visible size is nb_sectors");
	is_int(info.clusters, 8, "eight clusters");
	fill_random(w, sizeof(w));
	is_int(prld_pwrite(d, w, sizeof(w), 512000 - 300, NULL), 0,
	       "write the last 300 bytes");
	is_int(prld_pwrite(d, w, 1, 512000, NULL), -ENXIO,
	       "one byte more is refused");
	prld_close(d, NULL);
	d = open_disk(path, PRLD_OPEN_READ, 0);
	prld_pread(d, r, sizeof(r), 512000 - 300, NULL);
	ok(!memcmp(w, r, sizeof(r)), "the last bytes read back");
	prld_close(d, NULL);
	is_int(file_size(path), 2 * 65536, "whole last cluster allocated");
}

static void test_image_api(void)
{
	const char *path = tpath("api.hds");
	struct prld_err err = { 0 };
	struct prld_image *img = NULL;
	uint8_t buf[512], zero[512] = { 0 };
	uint64_t off = 0;

	if (make_image("api.hds", 2048, 128, 0, false))
		return;
	is_int(image_open(path, PRLD_LAYER_EXPANDING, true, 0, 0, &img, &err),
	       0, "image_open writable");
	if (!img)
		return;
	is_int(img->alloc_next, 65536, "alloc_next starts at data_off");
	is_int(image_lookup(img, 2), 0, "cluster 2 unmapped");
	is_int(image_alloc(img, 2, NULL, &off, &err), 0, "alloc with zeros");
	is_int(off, 65536, "placed at data_off");
	is_int(image_lookup(img, 2), 65536, "lookup finds it");
	is_int(img->allocated, 1, "one cluster allocated");
	is_int(image_alloc(img, 2, NULL, &off, &err), -EEXIST,
	       "allocating twice is refused");
	is_int(image_alloc(img, 16, NULL, &off, &err), -EINVAL,
	       "cluster past the BAT is refused");
	is_int(image_lookup(img, 99), 0, "lookup past the BAT is 0");
	read_bytes(path, buf, sizeof(buf), 65536 + 1000);
	ok(!memcmp(buf, zero, sizeof(buf)), "zero-allocated cluster reads 0");
	is_int(hdr32(path, 64 + 8), 0,
	       "BAT entry waits for the batch's commit");
	is_int(image_sync(img, &err), 0, "sync");
	is_int(hdr32(path, 64 + 8), 1, "BAT entry on disk after the sync");
	is_int(image_close(img, &err), 0, "close");
	is_int(hdr32(path, PRLD_OFF_FLAGS), 0, "EMPTY cleared after alloc");
	is_int(image_close(NULL, NULL), 0, "image_close(NULL)");
	is_int(image_open(path, PRLD_LAYER_EXPANDING, false, 0, 0, &img, &err),
	       0, "image_open read-only");
	if (!img)
		return;
	is_int(image_begin_write(img, &err), -EBADF,
	       "begin_write on a read-only image");
	is_int(image_alloc(img, 3, NULL, NULL, &err), -EBADF,
	       "alloc on a read-only image");
	image_close(img, NULL);
}

static void test_plain_layer(void)
{
	const char *path = tpath("raw.img");
	struct prld_err err = { 0 };
	struct prld_image *img = NULL;

	close(open(path, O_CREAT | O_WRONLY, 0600));
	ok(truncate(path, 1000 * 512) == 0, "raw file of 1000 sectors");
	is_int(image_open(path, PRLD_LAYER_PLAIN, false, 1001, 128, &img,
			  &err), -EINVAL, "plain file shorter than the disk");
	like(err.msg, "shorter than the virtual size", "plain size message");
	is_int(image_open(path, PRLD_LAYER_PLAIN, true, 1000, 128, &img, &err),
	       0, "plain image opens");
	if (!img)
		return;
	is_int(img->geom.bat_entries, 8, "plain: ceil(1000 / 128) clusters");
	is_int(image_lookup(img, 3), 3 * 65536, "plain: cluster in place");
	is_int(image_alloc(img, 3, NULL, NULL, &err), -EBADF,
	       "plain: nothing to allocate");
	is_int(image_close(img, &err), 0, "plain: close");
}

int main(void)
{
	tmpdir_make("image");
	test_parse_size();
	test_chs();
	test_paths();
	test_fault_msg();
	test_create_layouts();
	test_create_chs_given();
	test_create_errors();
	test_preallocate();
	test_random_io("r64k.hds", 128, 8192, 0);
	test_random_io("r1m.hds", 2048, 16384, 0);
	test_random_io("r33.hds", 33, 3300, 0);
	test_random_io("r33v1.hds", 33, 3300, PRLD_FMT_V1);
	test_sector_io();
	test_inuse_refused();
	test_locking();
	test_offset_policy();
	test_fake_and_readonly();
	test_bad_images();
	test_bad_ext_off();
	test_duplicate_bat();
	test_torn_tail();
	test_leak_reuse();
	test_partial_last_cluster();
	test_image_api();
	test_plain_layer();
	tmpdir_remove();
	return tap_done();
}
