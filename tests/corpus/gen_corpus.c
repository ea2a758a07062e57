// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * gen_corpus OUTDIR - write one small image file per named case into
 * OUTDIR, plus OUTDIR/cases.txt with one line per file:
 *
 *	<file> TAB <expected `prldctl check` exit status> TAB <substring>
 *
 * The substring is what the report (and, for a refused image, the error of
 * `prldctl info`/`read`) must contain: the prld_status_str() text of the
 * broken rule, or "-" for a valid image.  Status 1: no image at all (no
 * magic), which every command refuses with "not a Parallels image".
 *
 * Every case starts from a valid layout made with prld_layout() and
 * prld_header_encode() - 64 KiB clusters, a 200-entry BAT, two data
 * clusters - and then breaks exactly one rule, so that a checker and an
 * opener must both name that rule.  Files are built in memory, so the
 * generator never depends on the code it tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prld_format.h"

#define CS		128U	/* 64 KiB clusters */
#define NENTRIES	200U	/* a BAT of 800 bytes, two sectors */
#define IN_USE_TEXT	"in-use flag set"
#define LEAK_TAIL_TEXT	"leaked tail"
#define LEAK_EXT_TEXT	"failed extension"
#define LEAK_HOLE_TEXT	"unreferenced clusters"
#define DATA_OFF_ZERO_TEXT	"data_off is 0"
#define TORN_TEXT	"cut short by the end of the file"

/* An image file being built in memory. */
struct image {
	__u8 *buf;
	size_t len;
	struct prld_geom g;
};

static void die(const char *what)
{
	fprintf(stderr, "gen_corpus: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void resize(struct image *im, size_t len)
{
	__u8 *buf = realloc(im->buf, len ? len : 1);

	if (!buf)
		die("realloc");
	if (len > im->len)
		memset(buf + im->len, 0, len - im->len);
	im->buf = buf;
	im->len = len;
}

static void put32(struct image *im, size_t off, __u32 v)
{
	prld_put_le32(im->buf + off, v);
}

static void put64(struct image *im, size_t off, __u64 v)
{
	prld_put_le64(im->buf + off, v);
}

static void bat_put(struct image *im, __u32 idx, __u32 v)
{
	put32(im, PRLD_BAT_OFFSET + 4ULL * idx, v);
}

static __u32 bat_get(const struct image *im, __u32 idx)
{
	return prld_get_le32(im->buf + PRLD_BAT_OFFSET + 4ULL * idx);
}

static void encode(struct image *im)
{
	prld_header_encode(&im->g, im->buf);
}

/*
 * A valid image: @nentries clusters of @cs sectors, data area at @data_off
 * (0: canonical), virtual clusters @map[0..n) stored in file slots 0..n.
 */
static void build(struct image *im, enum prld_fmt fmt, __u32 cs,
		  __u32 nentries, __u32 data_off, const __u32 *map,
		  unsigned int n)
{
	struct prld_fault f;
	__u64 cl, off, i;
	unsigned int k;

	memset(im, 0, sizeof(*im));
	if (prld_layout(&im->g, fmt, (__u64)nentries * cs, cs, &f))
		die("prld_layout");
	if (data_off)
		im->g.data_off = data_off;
	im->g.heads = 16;
	im->g.cylinders = (__u32)(im->g.nb_sectors / (16 * 32));
	im->g.flags = n ? 0 : PRLD_FLAG_EMPTY;
	cl = prld_cluster_bytes(&im->g);
	resize(im, prld_data_start(&im->g) + n * cl);
	encode(im);
	for (k = 0; k < n; k++) {
		off = prld_slot_to_offset(&im->g, k);
		bat_put(im, map[k], prld_offset_to_bat(&im->g, off));
		for (i = 0; i < cl; i++)
			im->buf[off + i] = (__u8)(map[k] * 13 + 1 + i / 512);
	}
}

static const __u32 two[] = { 0, 3 };

static void base_v2(struct image *im)
{
	build(im, PRLD_FMT_V2, CS, NENTRIES, 0, two, 2);
}

static void base_v1(struct image *im)
{
	build(im, PRLD_FMT_V1, CS, NENTRIES, 0, two, 2);
}

/* ---- header cases ------------------------------------------------- */

static void bad_magic(struct image *im)
{
	base_v2(im);
	im->buf[7] = 'X';
}

static void version_1(struct image *im)
{
	base_v2(im);
	put32(im, PRLD_OFF_VERSION, 1);
}

static void version_3(struct image *im)
{
	base_v2(im);
	put32(im, PRLD_OFF_VERSION, 3);
}

static void cluster_zero(struct image *im)
{
	base_v2(im);
	put32(im, PRLD_OFF_TRACKS, 0);
}

static void cluster_big(struct image *im)
{
	base_v2(im);
	put32(im, PRLD_OFF_TRACKS, PRLD_MAX_CLUSTER_SECTORS + 1);
	put64(im, PRLD_OFF_NB_SECTORS,
	      (__u64)NENTRIES * (PRLD_MAX_CLUSTER_SECTORS + 1));
}

static void cluster_huge(struct image *im)
{
	base_v2(im);
	put32(im, PRLD_OFF_TRACKS, 0xffffffffU);
}

static void size_zero(struct image *im)
{
	base_v2(im);
	put64(im, PRLD_OFF_NB_SECTORS, 0);
}

static void bat_small(struct image *im)
{
	base_v2(im);
	put32(im, PRLD_OFF_BAT_ENTRIES, NENTRIES - 1);
}

static void bat_large(struct image *im)
{
	base_v2(im);
	put32(im, PRLD_OFF_BAT_ENTRIES, NENTRIES + 1);
}

static void size_huge(struct image *im)
{
	base_v2(im);
	put64(im, PRLD_OFF_NB_SECTORS, ~0ULL);
}

static void data_off_zero(struct image *im)
{
	base_v2(im);
	put32(im, PRLD_OFF_DATA_OFF, 0);
}

static void data_off_in_bat(struct image *im)
{
	base_v1(im);		/* V1: no alignment rule gets there first */
	put32(im, PRLD_OFF_DATA_OFF, 1);
}

static void data_off_eof(struct image *im)
{
	base_v2(im);
	put32(im, PRLD_OFF_DATA_OFF, 10 * CS);
}

static void data_off_unaligned(struct image *im)
{
	base_v2(im);
	put32(im, PRLD_OFF_DATA_OFF, CS + 2);
}

static void ext_off_eof(struct image *im)
{
	base_v2(im);
	put64(im, PRLD_OFF_EXT_OFF, 50 * CS);
}

static void ext_off_unaligned(struct image *im)
{
	base_v2(im);
	put64(im, PRLD_OFF_EXT_OFF, CS + 1);
}

static void ext_off_header(struct image *im)
{
	base_v2(im);
	put64(im, PRLD_OFF_EXT_OFF, 1);
}

/*
 * 2^55 - 128 sectors is 2^64 - 64 KiB: cluster aligned, and the end of
 * that "cluster" wraps to 0, inside any file.  It names nothing real.
 */
static void ext_off_wrap(struct image *im)
{
	base_v2(im);
	put64(im, PRLD_OFF_EXT_OFF, (~0ULL - CS * 512 + 1) >> 9);
}

static void short_header(struct image *im)
{
	base_v2(im);
	resize(im, 40);
}

static void empty_file(struct image *im)
{
	base_v2(im);
	resize(im, 0);
}

static void short_bat(struct image *im)
{
	base_v2(im);
	resize(im, PRLD_BAT_OFFSET + 4 * 50);
}

/* 2^32-1 entries of 64 MiB: every product must be computed in 64 bits. */
static void overflow_bat(struct image *im)
{
	base_v2(im);
	resize(im, 4096);
	put32(im, PRLD_OFF_TRACKS, PRLD_MAX_CLUSTER_SECTORS);
	put32(im, PRLD_OFF_BAT_ENTRIES, 0xffffffffU);
	put64(im, PRLD_OFF_NB_SECTORS,
	      0xffffffffULL * PRLD_MAX_CLUSTER_SECTORS);
	put32(im, PRLD_OFF_DATA_OFF,
	      (__u32)prld_canonical_data_off(0xffffffffU,
					     PRLD_MAX_CLUSTER_SECTORS));
}

/* The same, with data_off small enough to sit inside the file. */
static void overflow_bat_low(struct image *im)
{
	overflow_bat(im);
	put32(im, PRLD_OFF_DATA_OFF, 8);
}

/* V1 keeps only the low 32 bits of nb_sectors: the BAT cannot match. */
static void overflow_v1(struct image *im)
{
	overflow_bat(im);
	memcpy(im->buf, PRLD_MAGIC_V1, PRLD_MAGIC_LEN);
}

/* ---- BAT cases ---------------------------------------------------- */

static void truncated_data(struct image *im)
{
	base_v2(im);
	resize(im, im->len - CS * 512 / 2);
}

static void bat_into_header(struct image *im)
{
	base_v1(im);		/* V1 entries count sectors */
	bat_put(im, 5, 1);
}

/* V2 with the data area a cluster late: entry 1 names the padding. */
static void bat_below_data(struct image *im)
{
	build(im, PRLD_FMT_V2, CS, NENTRIES, 2 * CS, two, 2);
	bat_put(im, 5, 1);
}

static void bat_past_eof(struct image *im)
{
	base_v2(im);
	bat_put(im, 5, 3);	/* file holds clusters 0..2 */
}

static void bat_past_eof_max(struct image *im)
{
	base_v2(im);
	bat_put(im, 5, 0xffffffffU);
}

static void bat_unaligned(struct image *im)
{
	base_v1(im);
	bat_put(im, 5, bat_get(im, 3) + 8);
}

static void bat_dup(struct image *im)
{
	base_v2(im);
	bat_put(im, 5, bat_get(im, 0));
}

static void bat_dup_v1(struct image *im)
{
	base_v1(im);
	bat_put(im, 199, bat_get(im, 3));
}

static void in_use(struct image *im)
{
	base_v2(im);
	put32(im, PRLD_OFF_INUSE, PRLD_INUSE_MAGIC);
}

/* ---- leaks -------------------------------------------------------- */

static void leaked_tail(struct image *im)
{
	base_v2(im);
	resize(im, im->len + 2 * CS * 512);
	memset(im->buf + im->len - CS * 512, 0x77, CS * 512);
}

static void failed_extension(struct image *im)
{
	base_v2(im);
	resize(im, im->len + 1000);
}

static void hole(struct image *im)
{
	static const __u32 three[] = { 0, 3, 9 };

	build(im, PRLD_FMT_V2, CS, NENTRIES, 0, three, 3);
	bat_put(im, 3, 0);
}

/* ---- valid edge cases --------------------------------------------- */

static void valid_v1(struct image *im)
{
	base_v1(im);
}

/* V1 has no alignment rule: data may start right after the BAT. */
static void valid_v1_tight(struct image *im)
{
	build(im, PRLD_FMT_V1, CS, NENTRIES,
	      (__u32)prld_div_round_up(prld_bat_end(NENTRIES), 512), two, 2);
}

static void valid_33(struct image *im)
{
	build(im, PRLD_FMT_V2, 33, 40, 0, two, 2);
}

static void valid_32k(struct image *im)
{
	build(im, PRLD_FMT_V2, PRLD_PLOOP_MIN_CLUSTER_SECTORS, NENTRIES, 0,
	      two, 2);
}

static void valid_empty(struct image *im)
{
	build(im, PRLD_FMT_V2, CS, NENTRIES, 0, NULL, 0);
}

static void valid_clean_alt(struct image *im)
{
	base_v2(im);
	put32(im, PRLD_OFF_INUSE, PRLD_CLEAN_ALT_MAGIC);
}

static void valid_late_data(struct image *im)
{
	build(im, PRLD_FMT_V2, CS, NENTRIES, 2 * CS, two, 2);
}

/* Virtual size not a multiple of the cluster: the last one is partial. */
static void valid_partial(struct image *im)
{
	base_v2(im);
	put64(im, PRLD_OFF_NB_SECTORS, (__u64)NENTRIES * CS - 7);
}

static const struct corpus_case {
	const char *file;
	int status;
	enum prld_status rule;	/* PRLD_OK: use @text */
	const char *text;
	void (*make)(struct image *im);
} cases[] = {
	/* No magic: not an image at all (check exits 1, as qemu-img). */
	{ "bad-magic.hds", 1, PRLD_OK, "not a Parallels image", bad_magic },
	{ "version-1.hds", 2, PRLD_E_VERSION, NULL, version_1 },
	{ "version-3.hds", 2, PRLD_E_VERSION, NULL, version_3 },
	{ "cluster-zero.hds", 2, PRLD_E_CLUSTER_ZERO, NULL, cluster_zero },
	{ "cluster-big.hds", 2, PRLD_E_CLUSTER_BIG, NULL, cluster_big },
	{ "cluster-huge.hds", 2, PRLD_E_CLUSTER_BIG, NULL, cluster_huge },
	{ "nb-sectors-zero.hds", 2, PRLD_E_SIZE_ZERO, NULL, size_zero },
	{ "bat-entries-small.hds", 2, PRLD_E_SIZE_VS_BAT, NULL, bat_small },
	{ "bat-entries-large.hds", 2, PRLD_E_SIZE_VS_BAT, NULL, bat_large },
	{ "nb-sectors-huge.hds", 2, PRLD_E_SIZE_VS_BAT, NULL, size_huge },
	/* Old headers: computed as QEMU does, opened read-only. */
	{ "data-off-zero.hds", 0, PRLD_OK, DATA_OFF_ZERO_TEXT, data_off_zero },
	{ "data-off-in-bat.hds", 2, PRLD_E_DATA_OFF_LOW, NULL,
	  data_off_in_bat },
	{ "data-off-eof.hds", 2, PRLD_E_DATA_OFF_EOF, NULL, data_off_eof },
	{ "data-off-unaligned.hds", 2, PRLD_E_DATA_OFF_ALIGN, NULL,
	  data_off_unaligned },
	{ "ext-off-eof.hds", 2, PRLD_E_EXT_OFF, NULL, ext_off_eof },
	{ "ext-off-unaligned.hds", 2, PRLD_E_EXT_OFF, NULL,
	  ext_off_unaligned },
	{ "ext-off-header.hds", 2, PRLD_E_EXT_OFF, NULL, ext_off_header },
	{ "ext-off-wrap.hds", 2, PRLD_E_EXT_OFF, NULL, ext_off_wrap },
	{ "short-header.hds", 2, PRLD_E_SHORT, NULL, short_header },
	{ "empty-file.hds", 1, PRLD_OK, "not a Parallels image", empty_file },
	{ "short-bat.hds", 2, PRLD_E_DATA_OFF_EOF, NULL, short_bat },
	{ "overflow-bat.hds", 2, PRLD_E_DATA_OFF_EOF, NULL, overflow_bat },
	{ "overflow-bat-low.hds", 2, PRLD_E_DATA_OFF_LOW, NULL,
	  overflow_bat_low },
	{ "overflow-v1.hds", 2, PRLD_E_SIZE_VS_BAT, NULL, overflow_v1 },
	/* A torn last cluster: read as QEMU reads it, read-only. */
	{ "truncated-data.hds", 2, PRLD_OK, TORN_TEXT, truncated_data },
	{ "bat-into-header.hds", 2, PRLD_E_BAT_LOW, NULL, bat_into_header },
	{ "bat-below-data.hds", 2, PRLD_E_BAT_LOW, NULL, bat_below_data },
	{ "bat-past-eof.hds", 2, PRLD_E_BAT_EOF, NULL, bat_past_eof },
	{ "bat-past-eof-max.hds", 2, PRLD_E_BAT_EOF, NULL,
	  bat_past_eof_max },
	{ "bat-unaligned.hds", 2, PRLD_E_BAT_ALIGN, NULL, bat_unaligned },
	{ "bat-dup.hds", 2, PRLD_E_BAT_DUP, NULL, bat_dup },
	{ "bat-dup-v1.hds", 2, PRLD_E_BAT_DUP, NULL, bat_dup_v1 },
	{ "in-use.hds", 2, PRLD_OK, IN_USE_TEXT, in_use },
	{ "leaked-tail.hds", 3, PRLD_OK, LEAK_TAIL_TEXT, leaked_tail },
	{ "failed-extension.hds", 3, PRLD_OK, LEAK_EXT_TEXT,
	  failed_extension },
	{ "hole.hds", 3, PRLD_OK, LEAK_HOLE_TEXT, hole },
	{ "valid-v2.hds", 0, PRLD_OK, "-", base_v2 },
	{ "valid-v1.hds", 0, PRLD_OK, "-", valid_v1 },
	{ "valid-v1-tight.hds", 0, PRLD_OK, "-", valid_v1_tight },
	{ "valid-33-sector.hds", 0, PRLD_OK, "-", valid_33 },
	{ "valid-32k.hds", 0, PRLD_OK, "-", valid_32k },
	{ "valid-empty.hds", 0, PRLD_OK, "-", valid_empty },
	{ "valid-clean-alt.hds", 0, PRLD_OK, "-", valid_clean_alt },
	{ "valid-late-data.hds", 0, PRLD_OK, "-", valid_late_data },
	{ "valid-partial-cluster.hds", 0, PRLD_OK, "-", valid_partial },
};

static void write_file(const char *dir, const char *name, const void *buf,
		       size_t len)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die(path);
	if (len && write(fd, buf, len) != (ssize_t)len)
		die(path);
	if (close(fd) < 0)
		die(path);
}

int main(int argc, char **argv)
{
	const struct corpus_case *c;
	struct image im;
	char *list = NULL;
	size_t list_len = 0, i;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus OUTDIR\n");
		return 2;
	}
	/* A fresh directory, or one we may overwrite our own files in. */
	if (mkdir(argv[1], 0755) < 0 && errno != EEXIST)
		die(argv[1]);
	f = open_memstream(&list, &list_len);
	if (!f)
		die("open_memstream");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		c->make(&im);
		write_file(argv[1], c->file, im.buf, im.len);
		free(im.buf);
		fprintf(f, "%s\t%d\t%s\n", c->file, c->status,
			c->rule ? prld_status_str(c->rule) : c->text);
	}
	if (fclose(f))
		die("cases.txt");
	write_file(argv[1], "cases.txt", list, list_len);
	free(list);
	return 0;
}
