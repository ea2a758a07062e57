// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mutants - seeded, reproducible malformed images for the kernel's attach
 * path (tests/kernel/mutants.sh feeds them to PRLD_CONFIGURE in the VM).
 *
 *   mutants gen --seed S [--first I] [--count N] OUTDIR
 *	Writes case I..I+N-1 as OUTDIR/c<I>.hds (and c<I>.base.hds when the
 *	case is a two-layer chain) plus OUTDIR/cases.tsv, one line per case:
 *	  index TAB mode(ro|rw) TAB expect TAB devhash TAB filehash TAB files
 *	  TAB what
 *	expect is OK or the errno name the kernel must return (the order of
 *	its checks is mirrored below); devhash is the FNV-1a 64 of the
 *	device's sample (see sample_ranges()), filehash that of the files.
 *	Case I depends only on (S, I): `--first I --count 1` rebuilds one.
 * tests/kernel/mutant_run.c attaches them; the hashes are in mutants.h.
 *
 * Every case starts from a valid image (or chain) laid out with
 * prld_layout() and prld_header_encode(), then gets one to three
 * mutations: a header field set to an edge value, a BAT entry aimed into
 * the header, past the end, at another's cluster or off the grid, the
 * file cut or extended (up to 1 TiB, sparse), bits flipped in the header
 * and BAT, or a huge BAT.  The expected verdict is computed from the
 * final bytes with the same prld_format.h validators the kernel uses, so
 * a mismatch means the kernel's glue (file size, reads, order of checks)
 * disagrees, and the expected device content is computed here with a
 * plain reader of the mapping, independent of the driver.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "prld_format.h"
#include "mutants.h"

#define MAX_BAT_KERNEL	(1U << 28)	/* PRLD_MAX_BAT_ENTRIES in the driver */

/*
 * An image file: the first buflen bytes in memory, zeros (a sparse hole)
 * from there to len.
 */
struct image {
	__u8 *buf;
	__u64 buflen;
	__u64 len;
	struct prld_geom g;
	int huge;
};

struct mcase {
	struct image im[2];	/* base first */
	int nr;
	int rw;
	char what[512];
};

static __u64 rng_state;

static void die(const char *what)
{
	fprintf(stderr, "mutants: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* splitmix64: tiny, good enough, and the same on every machine. */
static __u64 rnd(void)
{
	__u64 z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __u64 below(__u64 n)
{
	return n ? rnd() % n : 0;
}

static int chance(unsigned int percent)
{
	return below(100) < percent;
}

static void note(struct mcase *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(struct mcase *c, const char *fmt, ...)
{
	size_t n = strlen(c->what);
	va_list ap;

	if (n + 2 >= sizeof(c->what))
		return;
	if (n)
		c->what[n++] = ';';
	va_start(ap, fmt);
	vsnprintf(c->what + n, sizeof(c->what) - n, fmt, ap);
	va_end(ap);
}

static void resize(struct image *im, __u64 buflen)
{
	__u8 *buf = realloc(im->buf, buflen ? buflen : 1);

	if (!buf)
		die("realloc");
	if (buflen > im->buflen)
		memset(buf + im->buflen, 0, buflen - im->buflen);
	im->buf = buf;
	im->buflen = buflen;
}

static __u8 byte_at(const struct image *im, __u64 off)
{
	return off < im->buflen && off < im->len ? im->buf[off] : 0;
}

static __u32 bat_get(const struct image *im, __u32 i)
{
	__u64 off = PRLD_BAT_OFFSET + 4ULL * i;

	return off + 4 <= im->buflen ? prld_get_le32(im->buf + off) : 0;
}

static void bat_put(struct image *im, __u32 i, __u32 v)
{
	__u64 off = PRLD_BAT_OFFSET + 4ULL * i;

	if (off + 4 > im->buflen)
		resize(im, off + 4);
	prld_put_le32(im->buf + off, v);
}

/* ---- valid starting points -------------------------------------------- */

static __u32 pick_cluster(void)
{
	static const __u32 common[] = { 1, 8, 64, 128, 256, 2048 };

	if (chance(15))
		return 1 + (__u32)below(600);	/* QEMU allows any multiple */
	return common[below(sizeof(common) / sizeof(common[0]))];
}

/*
 * A valid image of @entries clusters of @cs sectors with about @fill
 * percent of them allocated at shuffled slots; data bytes name the case
 * layer, slot and sector so any misdirected read shows.
 */
static void build(struct image *im, enum prld_fmt fmt, __u32 cs,
		  __u32 entries, unsigned int fill, unsigned int layer)
{
	struct prld_fault f;
	__u64 cl, off, nslots = 0, s, i;
	__u32 *slot_of;
	__u32 c;

	memset(im, 0, sizeof(*im));
	if (prld_layout(&im->g, fmt, (__u64)entries * cs, cs, &f))
		die("prld_layout");
	if (chance(20))		/* a short last cluster */
		im->g.nb_sectors -= below(cs);
	if (chance(15))		/* a gap before the data area */
		im->g.data_off += (__u32)(1 + below(3)) * cs;
	im->g.heads = 16;
	im->g.cylinders = (__u32)(im->g.nb_sectors / (16 * 32));
	cl = prld_cluster_bytes(&im->g);
	slot_of = calloc(entries, sizeof(*slot_of));
	if (!slot_of)
		die("calloc");
	for (c = 0; c < entries; c++)
		slot_of[c] = below(100) < fill ? (__u32)++nslots : 0;
	/* Shuffle the slots among the allocated clusters. */
	for (c = entries; c > 1; c--) {
		__u32 j = (__u32)below(c), t;

		if (!slot_of[c - 1] || !slot_of[j])
			continue;
		t = slot_of[c - 1];
		slot_of[c - 1] = slot_of[j];
		slot_of[j] = t;
	}
	im->g.flags = nslots ? 0 : PRLD_FLAG_EMPTY;
	im->len = prld_data_start(&im->g) + nslots * cl;
	resize(im, im->len);
	prld_header_encode(&im->g, im->buf);
	for (c = 0; c < entries; c++) {
		if (!slot_of[c])
			continue;
		s = slot_of[c] - 1;
		off = prld_slot_to_offset(&im->g, s);
		bat_put(im, c, prld_offset_to_bat(&im->g, off));
		for (i = 0; i < cl; i += 8) {
			__u64 v = (layer << 28) ^ (s << 16) ^ (i >> 9) ^ 0x5a00;

			prld_put_le64(im->buf + off + i, v * 0x9e3779b97f4a7c15ULL);
		}
	}
	free(slot_of);
}

/* A BAT of millions of entries in a sparse file, a few of them mapped. */
static void build_huge(struct mcase *c, struct image *im)
{
	static const __u32 sizes[] = { 1U << 20, 1U << 22, 1U << 24, 1U << 26,
				       MAX_BAT_KERNEL + 1 };
	__u32 entries = sizes[below(sizeof(sizes) / sizeof(sizes[0]))];
	__u32 cs = chance(50) ? 2048 : 131072, i;
	struct prld_fault f;
	__u64 cl;

	/* The largest BAT the driver takes: 1 GiB to read, seconds in TCG. */
	if (chance(10))
		entries = MAX_BAT_KERNEL;
	memset(im, 0, sizeof(*im));
	if (prld_layout(&im->g, PRLD_FMT_V2, (__u64)entries * cs, cs, &f))
		die("prld_layout huge");
	im->huge = 1;
	im->g.flags = 0;
	cl = prld_cluster_bytes(&im->g);
	im->len = prld_data_start(&im->g) + 4 * cl;
	resize(im, PRLD_BAT_OFFSET + 64);
	prld_header_encode(&im->g, im->buf);
	/* Clusters 0..3 map to the four (zero-filled) slots, backwards. */
	for (i = 0; i < 4; i++)
		bat_put(im, i, prld_offset_to_bat(&im->g,
				prld_slot_to_offset(&im->g, 3 - i)));
	note(c, "huge BAT %u entries, %u-sector clusters", entries, cs);
}

/* ---- mutations --------------------------------------------------------- */

static const struct {
	const char *name;
	unsigned int off, width;
} fields[] = {
	{ "magic", 0, 16 }, { "version", PRLD_OFF_VERSION, 4 },
	{ "heads", PRLD_OFF_HEADS, 4 }, { "cylinders", PRLD_OFF_CYLINDERS, 4 },
	{ "tracks", PRLD_OFF_TRACKS, 4 },
	{ "bat_entries", PRLD_OFF_BAT_ENTRIES, 4 },
	{ "nb_sectors", PRLD_OFF_NB_SECTORS, 8 }, { "inuse", PRLD_OFF_INUSE, 4 },
	{ "data_off", PRLD_OFF_DATA_OFF, 4 }, { "flags", PRLD_OFF_FLAGS, 4 },
	{ "ext_off", PRLD_OFF_EXT_OFF, 8 },
};

static __u64 edge_value(__u64 cur, unsigned int width)
{
	__u64 max = width == 8 ? ~0ULL : 0xffffffffULL;

	switch (below(14)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return max;
	case 3: return max >> 1;
	case 4: return (max >> 1) + 1;
	case 5: return cur + 1;
	case 6: return cur - 1;
	case 7: return cur * 2;
	case 8: return cur / 2;
	case 9: return PRLD_INUSE_MAGIC;
	case 10: return 1ULL << below(width * 8);
	case 11: return cur + (1ULL << below(width * 8));
	case 12: return cur ^ (1ULL << below(width * 8));
	default: return rnd();
	}
}

static void mutate_field(struct mcase *c, struct image *im)
{
	unsigned int k = (unsigned int)below(sizeof(fields) / sizeof(fields[0]));
	unsigned int off = fields[k].off;
	__u64 v;

	if (fields[k].width == 16) {	/* one magic byte, or the other magic */
		if (chance(50)) {
			memcpy(im->buf, im->g.fmt == PRLD_FMT_V1 ? PRLD_MAGIC_V2 :
			       PRLD_MAGIC_V1, PRLD_MAGIC_LEN);
			note(c, "magic swapped");
		} else {
			im->buf[below(16)] ^= (__u8)(1 + below(255));
			note(c, "magic byte changed");
		}
		return;
	}
	if (fields[k].width == 8) {
		v = edge_value(prld_get_le64(im->buf + off), 8);
		prld_put_le64(im->buf + off, v);
	} else {
		v = edge_value(prld_get_le32(im->buf + off), 4) & 0xffffffffULL;
		prld_put_le32(im->buf + off, (__u32)v);
	}
	note(c, "%s=%llu", fields[k].name, (unsigned long long)v);
}

static __u32 units_per_cluster(const struct image *im)
{
	return im->g.fmt == PRLD_FMT_V1 ? im->g.cluster_sectors : 1;
}

static void mutate_bat(struct mcase *c, struct image *im)
{
	__u32 n = im->g.bat_entries, i, j, v, data_units;
	const char *how;

	if (!n)
		return;
	i = (__u32)below(n < 4096 ? n : 4096);
	data_units = im->g.fmt == PRLD_FMT_V1 ? im->g.data_off :
		     im->g.data_off / (im->g.cluster_sectors ? im->g.cluster_sectors : 1);
	switch (below(7)) {
	case 0:
		how = "into the header";
		v = data_units > 1 ? 1 + (__u32)below(data_units - 1) : 1;
		break;
	case 1:
		how = "past EOF";
		v = prld_offset_to_bat(&im->g, im->len) + (__u32)below(3) *
		    units_per_cluster(im);
		break;
	case 2:
		how = "huge";
		v = 0xffffffffU - (__u32)below(2);
		break;
	case 3:
		how = "duplicate";
		j = (__u32)below(n < 4096 ? n : 4096);
		v = bat_get(im, j);
		if (!v)
			v = data_units;
		break;
	case 4:
		how = "off the grid";
		v = bat_get(im, i) ? bat_get(im, i) + 1 : data_units + 1;
		break;
	case 5:
		how = "the last slot, twice";
		v = prld_offset_to_bat(&im->g, im->len) - units_per_cluster(im);
		bat_put(im, (i + 1) % n, v);
		break;
	default:
		how = "random";
		v = (__u32)rnd();
		break;
	}
	bat_put(im, i, v);
	note(c, "bat[%u]=%u (%s)", i, v, how);
}

static void mutate_length(struct mcase *c, struct image *im)
{
	__u64 cl = im->g.cluster_sectors ? prld_cluster_bytes(&im->g) : 512;
	__u64 len = im->len;

	switch (below(7)) {
	case 0: len = below(PRLD_HEADER_SIZE + 1); break;
	case 1: len = below(im->len + 1); break;
	case 2: len = im->len - (im->len ? 1 : 0); break;
	case 3: len = im->len + 1 + below(cl); break;
	case 4: len = im->len + cl * (1 + below(3)); break;
	case 5: len = prld_data_start(&im->g) - (chance(50) ? 1 : 0); break;
	default: len = 1ULL << (32 + below(9)); break;	/* sparse, <= 1 TiB */
	}
	im->len = len;
	if (im->buflen > len)
		im->buflen = len;
	note(c, "length %llu", (unsigned long long)len);
}

static void mutate_flips(struct mcase *c, struct image *im)
{
	__u64 span = PRLD_BAT_OFFSET + 4ULL * im->g.bat_entries;
	unsigned int k, n = 1 + (unsigned int)below(8);

	if (span > im->buflen)
		span = im->buflen;
	if (!span)
		return;
	for (k = 0; k < n; k++)
		im->buf[below(span)] ^= (__u8)(1U << below(8));
	note(c, "%u bit flips in header+BAT", n);
}

/* ---- the verdict the kernel must reach -------------------------------- */

/*
 * Mirror of prld_layer_load()/prld_load_header()/prld_load_bat() and the
 * chain checks, on the final bytes: the errno, or NULL for an attach.
 */
static const char *judge_layer(const struct image *im, int writable,
			       struct prld_geom *g)
{
	__u8 hdr[PRLD_HEADER_SIZE] = { 0 };
	struct prld_fault f;
	__u8 *bat, *seen;
	__u64 k, slots, size;
	int bad;

	for (k = 0; k < PRLD_HEADER_SIZE; k++)
		hdr[k] = byte_at(im, k);
	if (prld_header_check(hdr, im->len >= PRLD_HEADER_SIZE ? sizeof(hdr) : 0,
			      im->len, g, &f) != PRLD_OK)
		return "EINVAL";
	if (g->bat_entries > MAX_BAT_KERNEL)
		return "EFBIG";
	if (writable && g->inuse == PRLD_INUSE_MAGIC)
		return "EUCLEAN";
	/* A format extension is dropped by a writer; a conversion is not. */
	if (writable && (g->flags & PRLD_FLAG_CONVERTING))
		return "EOPNOTSUPP";
	if (writable && g->readonly)
		return "EROFS";
	bat = calloc(g->bat_entries ? g->bat_entries : 1, 4);
	/* As the kernel: a reader takes a torn last cluster. */
	size = prld_bat_check_size(g, im->len, writable);
	slots = prld_data_slots(g, size);
	seen = calloc(slots / 8 + 2, 1);
	if (!bat || !seen)
		die("calloc");
	for (k = 0; k < 4ULL * g->bat_entries && PRLD_BAT_OFFSET + k < im->buflen; k++)
		bat[k] = im->buf[PRLD_BAT_OFFSET + k];
	bad = prld_bat_check(g, bat, g->bat_entries, size, seen, &f) != PRLD_OK;
	free(bat);
	free(seen);
	return bad ? "EINVAL" : NULL;
}

static const char *judge(const struct mcase *c, struct prld_geom *g)
{
	const char *err;
	int i;

	for (i = 0; i < c->nr; i++) {
		err = judge_layer(&c->im[i], c->rw && i == c->nr - 1, &g[i]);
		if (err)
			return err;
	}
	if (c->nr == 2 && (g[1].cluster_sectors != g[0].cluster_sectors ||
			   g[1].nb_sectors != g[0].nb_sectors))
		return "EINVAL";
	return NULL;
}

/* ---- expected device content ------------------------------------------ */

/* A plain reader: top layer first, zeros where no layer maps a cluster. */
static __u64 expected_hash(const struct mcase *c, const struct prld_geom *g)
{
	__u64 size = g[0].nb_sectors << PRLD_SECTOR_SHIFT;
	__u64 cl = prld_cluster_bytes(&g[0]);
	__u64 start[2], len[2], h = FNV_INIT, pos, end, off, n;
	__u8 chunk[4096];
	int r, nr = sample_ranges(size, start, len), i;

	for (r = 0; r < nr; r++) {
		for (pos = start[r], end = start[r] + len[r]; pos < end; pos += n) {
			__u64 clu = pos / cl, in = pos % cl;
			const struct image *src = NULL;
			__u32 e = 0;

			n = cl - in;
			if (n > end - pos)
				n = end - pos;
			if (n > sizeof(chunk))
				n = sizeof(chunk);
			for (i = c->nr - 1; i >= 0 && !src; i--) {
				e = bat_get(&c->im[i], (__u32)clu);
				if (e)
					src = &c->im[i];
			}
			if (!src) {
				memset(chunk, 0, n);
			} else {
				off = prld_bat_to_offset(&g[src - c->im], e) + in;
				for (__u64 k = 0; k < n; k++)
					chunk[k] = byte_at(src, off + k);
			}
			h = fnv(h, chunk, n);
		}
	}
	return h;
}

/* The first HASH_SPAN bytes of the file in one piece, then its length. */
static __u64 image_hash(const struct image *im, __u64 h)
{
	__u64 span = im->len < HASH_SPAN ? im->len : HASH_SPAN;
	__u64 mem = im->buflen < span ? im->buflen : span;
	__u8 *tmp = calloc(span ? span : 1, 1);

	if (!tmp)
		die("calloc");
	memcpy(tmp, im->buf, mem);
	h = fnv(h, tmp, span);
	free(tmp);
	return fnv(h, (const __u8 *)&im->len, sizeof(im->len));
}

/* ---- case assembly ----------------------------------------------------- */

static void make_case(struct mcase *c, __u64 seed, __u64 index)
{
	unsigned int k, nmut;
	struct image *victim;
	enum prld_fmt fmt;
	__u32 cs, entries;

	memset(c, 0, sizeof(*c));
	rng_state = seed * 0x2545f4914f6cdd1dULL ^ index;
	rnd();
	c->rw = chance(30);
	c->nr = 1;
	if (chance(3)) {
		build_huge(c, &c->im[0]);
	} else {
		fmt = chance(15) ? PRLD_FMT_V1 : PRLD_FMT_V2;
		cs = pick_cluster();
		/* At most 4 MiB of disk: each case stays cheap to write and read. */
		entries = 1 + (__u32)below((8192 / cs) < 300 ? 8192 / cs + 1 : 300);
		build(&c->im[0], fmt, cs, entries, (unsigned int)below(101), 0);
		if (chance(12)) {
			c->nr = 2;
			build(&c->im[1], chance(85) ? PRLD_FMT_V2 : PRLD_FMT_V1,
			      cs, entries, (unsigned int)below(60), 1);
			note(c, "2-layer chain");
		}
	}
	/* About one case in ten stays valid: the accepting path too. */
	nmut = chance(10) ? 0 : 1 + (unsigned int)below(3);
	for (k = 0; k < nmut; k++) {
		victim = &c->im[below(c->nr)];
		if (victim->buflen < PRLD_HEADER_SIZE)
			break;	/* cut below the header: nothing left to edit */
		switch (below(c->im[0].huge ? 3 : 5)) {
		case 0: mutate_field(c, victim); break;
		case 1: mutate_bat(c, victim); break;
		case 2: mutate_flips(c, victim); break;
		case 3: mutate_length(c, victim); break;
		default:
			mutate_field(c, victim);
			mutate_bat(c, victim);
			break;
		}
	}
	if (!nmut)
		note(c, "valid");
}

static void write_image(const struct image *im, const char *path)
{
	__u64 n = im->buflen < im->len ? im->buflen : im->len;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		die(path);
	if (pwrite(fd, im->buf, n, 0) != (ssize_t)n)
		die(path);
	if (ftruncate(fd, (off_t)im->len))
		die(path);
	close(fd);
}

static int cmd_gen(__u64 seed, __u64 first, __u64 count, const char *dir)
{
	struct prld_geom g[2];
	char path[2][4096], tsv[4096];
	struct mcase c;
	const char *err;
	__u64 i, dh, fh;
	FILE *out;
	int k;

	mkdir(dir, 0755);
	snprintf(tsv, sizeof(tsv), "%s/cases.tsv", dir);
	out = fopen(tsv, "w");
	if (!out)
		die(tsv);
	for (i = first; i < first + count; i++) {
		make_case(&c, seed, i);
		memset(g, 0, sizeof(g));
		err = judge(&c, g);
		dh = err ? 0 : expected_hash(&c, g);
		fh = FNV_INIT;
		for (k = 0; k < c.nr; k++) {
			snprintf(path[k], sizeof(path[k]), "%s/c%llu%s.hds", dir,
				 (unsigned long long)i,
				 k == c.nr - 1 ? "" : ".base");
			write_image(&c.im[k], path[k]);
			fh = image_hash(&c.im[k], fh);
		}
		fprintf(out, "%llu\t%s\t%s\t%016llx\t%016llx\t%s%s%s\t%s\n",
			(unsigned long long)i, c.rw ? "rw" : "ro",
			err ? err : "OK", (unsigned long long)dh,
			(unsigned long long)fh, path[0], c.nr == 2 ? " " : "",
			c.nr == 2 ? path[1] : "", c.what);
		for (k = 0; k < c.nr; k++)
			free(c.im[k].buf);
	}
	if (fclose(out))
		die(tsv);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: mutants gen --seed S [--first I] [--count N] DIR\n");
	exit(2);
}

int main(int argc, char **argv)
{
	__u64 seed = 1, first = 0, count = 100;
	int i;

	if (argc < 3 || strcmp(argv[1], "gen"))
		usage();
	for (i = 2; i < argc - 1; i += 2) {
		if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--first"))
			first = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--count"))
			count = strtoull(argv[i + 1], NULL, 0);
		else
			usage();
	}
	if (i != argc - 1)
		usage();
	return cmd_gen(seed, first, count, argv[argc - 1]);
}
