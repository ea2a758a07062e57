// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * test_disk.c - libprld on disk directories: prld_create_disk, opening by
 * directory / descriptor / image path, delta chains built by hand with
 * copy-up on partial writes, plain (raw) layers, and change maps.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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

/*
 * What ploop's snapshot does (format-notes §6), by hand: the top image
 * gets the fresh GUID @snap, a new empty delta of @cluster sectors and
 * @sectors becomes the top.  Returns 0 or a negative errno.
 */
static int snapshot_ex(const char *dir, char snap[PRLD_GUID_LEN + 1],
		       uint32_t cluster, uint64_t sectors)
{
	struct prld_create_params p = {
		.size_sectors = sectors,
		.cluster_sectors = cluster,
	};
	struct prld_err err = { 0 };
	struct prld_desc *d = load_desc(dir);
	char file[128], *path;
	unsigned int i;
	int ret;

	if (!d)
		return -EINVAL;
	desc_new_guid(snap);
	for (i = 0; i < d->nimages; i++)
		if (!strcmp(d->images[i].guid, PRLD_TOP_GUID))
			strcpy(d->images[i].guid, snap);
	for (i = 0; i < d->nshots; i++)
		if (!strcmp(d->shots[i].guid, PRLD_TOP_GUID))
			strcpy(d->shots[i].guid, snap);
	snprintf(file, sizeof(file), "root.hds.%s", snap);
	path = prld_join(dir, file);
	ret = path ? prld_create_image(path, &p, &err) : -ENOMEM;
	free(path);
	if (!ret)
		ret = desc_add_layer(d, PRLD_TOP_GUID, snap, file,
				PRLD_LAYER_EXPANDING);
	if (!ret)
		ret = desc_save(d, &err);
	if (ret)
		printf("# snapshot %s: %d %s\n", dir, ret, err.msg);
	desc_free(d);
	return ret;
}

static int snapshot(const char *dir, char snap[PRLD_GUID_LEN + 1])
{
	return snapshot_ex(dir, snap, CL_SECTORS, DISK_SECTORS);
}

/* Bits of a map as a string of '0'/'1', cluster 0 first. */
static char *map_str(struct prld_disk *d, const char *from, const char *to,
		     int *ret)
{
	static char s[NCL + 1];
	struct prld_map m;
	uint64_t i;

	*ret = prld_get_map(d, from, to, &m, NULL);
	memset(s, 0, sizeof(s));
	for (i = 0; !*ret && i < m.nbits && i < NCL; i++)
		s[i] = m.bits[i / 8] & (1U << (i % 8)) ? '1' : '0';
	prld_map_free(&m);
	return s;
}

/* The expected map string: '1' where @a or @b (may be NULL) says so. */
static char *expect_bits(const bool *a, const bool *b)
{
	static char s[NCL + 1];
	unsigned int i;

	for (i = 0; i < NCL; i++)
		s[i] = (a && a[i]) || (b && b[i]) ? '1' : '0';
	s[NCL] = '\0';
	return s;
}

/* Clusters a range write touches, for the expected maps. */
static void mark(bool *held, uint64_t off, uint64_t len)
{
	uint64_t c;

	for (c = off / CL_BYTES; c <= (off + len - 1) / CL_BYTES; c++)
		held[c] = true;
}

/* ---- create and open ------------------------------------------------ */

static void test_create_disk(void)
{
	const char *dir = tpath("d1");
	struct prld_desc *desc;
	struct prld_disk *d;
	struct prld_info info;

	if (create_disk_dir(dir, DISK_SECTORS, CL_SECTORS, false))
		return;
	is_int(file_size(tpath("d1/root.hds")), CL_BYTES,
	       "root.hds is exactly header + BAT cluster");
	is_int(hdr32(tpath("d1/root.hds"), PRLD_OFF_FLAGS), PRLD_FLAG_EMPTY,
	       "root.hds is EMPTY");
	is_int(hdr32(tpath("d1/root.hds"), PRLD_OFF_HEADS), 16,
	       "image heads = CHS heads");
	is_int(hdr32(tpath("d1/root.hds"), PRLD_OFF_CYLINDERS), 16,
	       "image cylinders = CHS cylinders");
	is_int(hdr32(tpath("d1/root.hds"), PRLD_OFF_TRACKS), CL_SECTORS,
	       "image tracks = cluster");
	desc = load_desc(dir);
	if (!ok(desc != NULL, "descriptor loads"))
		return;
	is_int(desc->disk_size, DISK_SECTORS, "descriptor Disk_size");
	is_int(desc->blocksize, CL_SECTORS, "descriptor Blocksize");
	ok(desc->cylinders == 16 && desc->heads == 16 && desc->sectors == 32,
	   "descriptor CHS 16/16/32 (got %u/%u/%u)", desc->cylinders,
	   desc->heads, desc->sectors);
	ok(desc->nimages == 1 && !strcmp(desc->images[0].file, "root.hds") &&
	   desc->images[0].kind == PRLD_LAYER_EXPANDING,
	   "one expanding image root.hds");
	ok(!strcasecmp(desc->top_guid, PRLD_TOP_GUID), "TopGUID is ploop's");
	desc_free(desc);

	d = open_disk(dir, PRLD_OPEN_READ, 0);
	if (!ok(d != NULL, "open the directory"))
		return;
	prld_get_info(d, &info);
	ok(info.has_descriptor && info.nlayers == 1, "one layer, descriptor");
	is_int(info.size_sectors, DISK_SECTORS, "info size");
	is_int(info.clusters, NCL, "info clusters");
	ok(info.cylinders == 16 && info.heads == 16 && info.sectors == 32,
	   "info CHS from the descriptor");
	ok(!strcasecmp(info.layers[0].guid, PRLD_TOP_GUID) &&
	   !strcmp(info.layers[0].parent, PRLD_ZERO_GUID) &&
	   info.layers[0].top, "layer GUID, parent, top");
	like(info.layers[0].file, "d1/root.hds", "layer file path");
	prld_close(d, NULL);

	d = open_disk(tpath("d1/%s", PRLD_DESCRIPTOR), PRLD_OPEN_READ, 0);
	ok(d != NULL, "open by descriptor path");
	prld_close(d, NULL);
	d = open_disk(tpath("d1/"), PRLD_OPEN_READ, 0);
	ok(d != NULL, "open by directory with a trailing slash");
	prld_close(d, NULL);
	d = open_disk(tpath("d1/root.hds"), PRLD_OPEN_READ, 0);
	ok(d != NULL, "open the image inside the directory bare");
	if (d) {
		prld_get_info(d, &info);
		ok(!info.has_descriptor && !info.layers[0].guid[0],
		   "bare open has no descriptor and no GUID");
		ok(info.cylinders == 16 && info.heads == 16 &&
		   info.sectors == 32, "bare CHS derived from the header");
	}
	prld_close(d, NULL);
}

static void create_disk_fails(const char *dir, int code, const char *msg,
			      const char *what)
{
	struct prld_create_params p = {
		.size_sectors = DISK_SECTORS,
		.cluster_sectors = CL_SECTORS,
	};
	struct prld_err err = { 0 };

	is_int(prld_create_disk(dir, &p, &err), code, "%s", what);
	like(err.msg, msg, "%s: message", what);
}

static void test_create_disk_refusals(void)
{
	struct prld_create_params bad = { .size_sectors = 0 };
	struct prld_err err = { 0 };
	struct stat st;
	int fd;

	mkdir(tpath("full"), 0755);
	fd = open(tpath("full/other"), O_CREAT | O_WRONLY, 0600);
	close(fd);
	create_disk_fails(tpath("full"), -EEXIST, "not empty",
			  "non-empty directory is refused");
	ok(access(tpath("full/root.hds"), F_OK) != 0 &&
	   access(tpath("full/other"), F_OK) == 0,
	   "nothing created, nothing removed");
	create_disk_fails(tpath("d1"), -EEXIST, "not empty",
			  "existing disk is refused");
	is_int(file_size(tpath("d1/root.hds")), CL_BYTES,
	       "existing disk untouched");
	create_disk_fails(tpath("d1/root.hds"), -EEXIST, "not a directory",
			  "a file in the way is refused");
	create_disk_fails(tpath("no/such/dir"), -ENOENT, "no/such",
			  "missing parent is reported");
	is_int(prld_create_disk(tpath("bad"), &bad, &err), -EINVAL,
	       "bad parameters are refused");
	ok(stat(tpath("bad"), &st) != 0, "and no directory is left");
	mkdir(tpath("empty"), 0755);
	is_int(create_disk_dir(tpath("empty"), 2048, 0, false), 0,
	       "an existing empty directory is fine");
	ok(access(tpath("empty/%s", PRLD_DESCRIPTOR), F_OK) == 0,
	   "descriptor created in it");
}

static void test_create_disk_prealloc(void)
{
	struct prld_disk *d;
	struct prld_map m = { 0 };
	unsigned int i, set = 0;

	if (create_disk_dir(tpath("pre"), DISK_SECTORS, CL_SECTORS, true))
		return;
	is_int(file_size(tpath("pre/root.hds")), CL_BYTES + DISK_BYTES,
	       "preallocated disk: all clusters in the file");
	d = open_disk(tpath("pre"), PRLD_OPEN_READ, 0);
	if (!ok(d != NULL, "preallocated disk opens"))
		return;
	is_int(prld_get_map(d, NULL, NULL, &m, NULL), 0, "map");
	for (i = 0; i < m.nbits; i++)
		set += !!(m.bits[i / 8] & (1U << (i % 8)));
	is_int(set, NCL, "every cluster is mapped");
	prld_map_free(&m);
	prld_close(d, NULL);
}

/* ---- chains --------------------------------------------------------- */

struct chain {
	const char *dir;
	uint8_t *ref;
	bool base[NCL], mid[NCL], top[NCL];
	char g1[PRLD_GUID_LEN + 1], g2[PRLD_GUID_LEN + 1];
};

static void write_base(struct chain *c)
{
	struct prld_disk *d = open_disk(c->dir, RW, 0);
	uint8_t buf[CL_BYTES];
	int fails = 0;

	if (!d)
		return;
	/* Clusters 0..7 full, 10 half: a known shape for the maps. */
	for (unsigned int i = 0; i < 8; i++) {
		fill_random(buf, CL_BYTES);
		fails += !!prld_pwrite(d, buf, CL_BYTES, i * CL_BYTES, NULL);
		memcpy(c->ref + i * CL_BYTES, buf, CL_BYTES);
		c->base[i] = true;
	}
	fill_random(buf, CL_BYTES / 2);
	fails += !!prld_pwrite(d, buf, CL_BYTES / 2, 10 * CL_BYTES + 100, NULL);
	memcpy(c->ref + 10 * CL_BYTES + 100, buf, CL_BYTES / 2);
	c->base[10] = true;
	is_int(fails, 0, "base written");
	is_int(prld_close(d, NULL), 0, "base closed");
}

/* Copy-up: partial writes over base data, whole-cluster and fresh ones. */
static void write_delta(struct chain *c)
{
	struct prld_disk *d = open_disk(c->dir, RW, 0);
	uint8_t w[3000], *buf = malloc(DISK_BYTES);
	struct prld_err err = { 0 };
	struct prld_disk *other = NULL;

	if (!d || !buf)
		goto out;
	fill_random(w, sizeof(w));
	/* Straddles clusters 2 and 3, both held only by the base. */
	is_int(prld_pwrite(d, w, sizeof(w), 3 * CL_BYTES - 1000, NULL), 0,
	       "partial write over two base clusters");
	memcpy(c->ref + 3 * CL_BYTES - 1000, w, sizeof(w));
	mark(c->top, 3 * CL_BYTES - 1000, sizeof(w));
	/* Cluster 20: nobody holds it. */
	is_int(prld_pwrite(d, w, 10, 20 * CL_BYTES + 5, NULL), 0,
	       "partial write to a fresh cluster");
	memcpy(c->ref + 20 * CL_BYTES + 5, w, 10);
	c->top[20] = true;
	is_int(prld_pread(d, buf, DISK_BYTES, 0, NULL), 0, "read the chain");
	ok(!memcmp(buf, c->ref, DISK_BYTES), "chain reads the expected bytes");
	is_int(prld_open(tpath("chain/root.hds"), PRLD_OPEN_WRITE, NULL,
			 &other, &err), -EBUSY,
	       "lower layer is locked against writers");
	is_int(prld_open(tpath("chain/root.hds"), PRLD_OPEN_READ, NULL,
			 &other, &err), 0, "but readers may share it");
	prld_close(other, NULL);
	is_int(prld_close(d, NULL), 0, "delta closed");
out:
	free(buf);
}

static void check_maps_two(struct chain *c)
{
	struct prld_disk *d = open_disk(c->dir, PRLD_OPEN_READ, 0);
	struct prld_err err = { 0 };
	struct prld_map m;
	int ret;

	if (!d)
		return;
	ok(!strcmp(map_str(d, NULL, NULL, &ret),
		   expect_bits(c->base, c->top)) && !ret,
	   "map(all) is the union of the layers");
	ok(!strcmp(map_str(d, c->g1, NULL, &ret), expect_bits(c->top, NULL)) &&
	   !ret, "map(from base) is the delta's clusters");
	ok(!strcmp(map_str(d, NULL, c->g1, &ret), expect_bits(c->base, NULL)) &&
	   !ret, "map(up to base) is the base's clusters");
	ok(!strcmp(map_str(d, c->g1, c->g1, &ret), expect_bits(NULL, NULL)) &&
	   !ret, "map(base, base) is empty");
	ok(!strcmp(map_str(d, NULL, PRLD_TOP_GUID, &ret),
		   expect_bits(c->base, c->top)) && !ret,
	   "map(to top GUID) is everything");
	is_int(prld_get_map(d, PRLD_TOP_GUID, c->g1, &m, &err), -EINVAL,
	       "map with from above to is -EINVAL");
	is_int(prld_get_map(d, "{11111111-2222-3333-4444-555555555555}", NULL,
			    &m, &err), -ENOENT, "unknown GUID is -ENOENT");
	like(err.msg, "{11111111-2222-3333-4444-555555555555}",
	     "message names the GUID");
	is_int(prld_get_map(d, NULL, NULL, &m, NULL), 0, "map granularity");
	ok(m.granularity == CL_BYTES && m.nbits == NCL,
	   "granularity is the cluster, one bit per cluster");
	prld_map_free(&m);
	prld_map_free(NULL);
	prld_close(d, NULL);
}

static void check_files_two(struct chain *c, const uint8_t *base_copy,
			    uint64_t base_len)
{
	char *delta;
	uint64_t len;
	uint8_t *now = slurp(tpath("chain/root.hds"), &len), buf[CL_BYTES];
	struct prld_disk *d;

	ok(now && len == base_len && !memcmp(now, base_copy, len),
	   "base image bytes unchanged by delta writes");
	free(now);
	/* The delta file is named after the snapshot GUID, not TOP. */
	delta = tpath("chain/root.hds.%s", c->g1);
	is_int(hdr32(delta, PRLD_OFF_INUSE), 0, "delta in-use cleared");
	is_int(hdr32(delta, PRLD_OFF_FLAGS), 0, "delta EMPTY cleared");
	is_int(file_size(delta), CL_BYTES + 3 * CL_BYTES,
	       "delta holds exactly three clusters");
	d = open_disk(delta, PRLD_OPEN_READ, 0);
	if (!d)
		return;
	/* Copy-up kept the base's bytes around the write in cluster 2. */
	prld_pread(d, buf, CL_BYTES, 2 * CL_BYTES, NULL);
	ok(!memcmp(buf, c->ref + 2 * CL_BYTES, CL_BYTES),
	   "delta's copy of cluster 2 is base data + the write");
	prld_pread(d, buf, CL_BYTES, 4 * CL_BYTES, NULL);
	ok(buf[0] == 0 && buf[CL_BYTES - 1] == 0,
	   "delta alone reads zeros where only the base has data");
	prld_close(d, NULL);
}

static void check_info_three(struct chain *c)
{
	struct prld_disk *d = open_disk(c->dir, PRLD_OPEN_READ, 0);
	struct prld_info info;
	int ret;

	if (!d)
		return;
	prld_get_info(d, &info);
	is_int(info.nlayers, 3, "three layers");
	ok(!strcmp(info.layers[0].guid, c->g1) &&
	   !strcmp(info.layers[1].guid, c->g2) &&
	   !strcasecmp(info.layers[2].guid, PRLD_TOP_GUID),
	   "layers base first: g1, g2, top");
	ok(!strcmp(info.layers[0].parent, PRLD_ZERO_GUID) &&
	   !strcmp(info.layers[1].parent, c->g1) &&
	   !strcmp(info.layers[2].parent, c->g2), "parents follow the chain");
	ok(!info.layers[0].top && !info.layers[1].top && info.layers[2].top,
	   "only the last is the top");
	is_int(info.layers[1].allocated, 3, "middle layer has 3 clusters");
	ok(!strcmp(map_str(d, c->g1, c->g2, &ret), expect_bits(c->mid, NULL)) &&
	   !ret, "map(g1, g2) is the middle layer's clusters");
	ok(!strcmp(map_str(d, c->g2, NULL, &ret), expect_bits(NULL, NULL)) &&
	   !ret, "map(g2, top) is empty: the new top holds nothing yet");
	prld_close(d, NULL);
}

/* Writes to the top never touch the two lower layers. */
static void check_files_three(struct chain *c, const uint8_t *ref2)
{
	char *mid = tpath("chain/root.hds.%s", c->g1);
	uint8_t *buf = malloc(DISK_BYTES);
	struct prld_disk *d;
	bool same = true;
	unsigned int i;

	is_int(hdr32(tpath("chain/root.hds"), PRLD_OFF_INUSE), 0,
	       "base never marked in use");
	is_int(hdr32(mid, PRLD_OFF_INUSE), 0, "middle never marked in use");
	d = open_disk(mid, PRLD_OPEN_READ, 0);
	if (!d || !buf)
		goto out;
	for (i = 0; i < NCL; i++) {
		if (!c->mid[i])
			continue;
		prld_pread(d, buf, CL_BYTES, (uint64_t)i * CL_BYTES, NULL);
		same &= !memcmp(buf, ref2 + (uint64_t)i * CL_BYTES, CL_BYTES);
	}
	ok(same, "middle layer still holds exactly its clusters");
out:
	prld_close(d, NULL);
	free(buf);
}

static void test_chain(void)
{
	struct chain c = { .dir = tpath("chain") };
	uint8_t *base_copy, *ref2 = NULL;
	uint64_t base_len;

	c.ref = calloc(1, DISK_BYTES);
	if (!c.ref || create_disk_dir(c.dir, DISK_SECTORS, CL_SECTORS, false))
		goto out;
	write_base(&c);
	base_copy = slurp(tpath("chain/root.hds"), &base_len);
	if (!ok(snapshot(c.dir, c.g1) == 0, "snapshot 1 made by hand"))
		goto out2;
	write_delta(&c);
	ok(disk_equals(c.dir, c.ref, DISK_BYTES), "two layers after reopen");
	check_files_two(&c, base_copy, base_len);
	check_maps_two(&c);
	/* Third layer: the old top becomes g2; its clusters are "mid". */
	memcpy(c.mid, c.top, sizeof(c.mid));
	ref2 = malloc(DISK_BYTES);
	if (ref2)
		memcpy(ref2, c.ref, DISK_BYTES);
	memset(c.top, 0, sizeof(c.top));
	if (!ok(snapshot(c.dir, c.g2) == 0, "snapshot 2 made by hand"))
		goto out2;
	check_info_three(&c);
	{
		struct prld_disk *d = open_disk(c.dir, PRLD_OPEN_READ |
						       PRLD_OPEN_WRITE, 0);

		if (d) {
			random_writes(d, c.ref, DISK_BYTES, 120, CL_BYTES * 2);
			prld_close(d, NULL);
		}
	}
	ok(disk_equals(c.dir, c.ref, DISK_BYTES), "three layers after reopen");
	if (ref2)
		check_files_three(&c, ref2);
out2:
	free(ref2);
	free(base_copy);
out:
	free(c.ref);
}

/* ---- refusals in chains --------------------------------------------- */

static void open_fails(const char *path, unsigned int flags, int code,
		       const char *msg, const char *what)
{
	struct prld_err err = { 0 };
	struct prld_disk *d = NULL;

	is_int(prld_open(path, flags, NULL, &d, &err), code, "%s", what);
	like(err.msg, msg, "%s: message", what);
	ok(d == NULL, "%s: no handle", what);
	prld_close(d, NULL);
}

/*
 * A top larger than Disk_size (a resize the descriptor missed) opens at
 * the top's size; a lower layer larger than Disk_size does not.
 */
static void test_grown_top(char *g, char *msg, size_t len)
{
	struct prld_disk *d = NULL;
	struct prld_info info;
	char g2[PRLD_GUID_LEN + 1];

	if (create_disk_dir(tpath("mg"), DISK_SECTORS, CL_SECTORS, false) ||
	    snapshot_ex(tpath("mg"), g, CL_SECTORS, 2 * DISK_SECTORS))
		return;
	is_int(prld_open(tpath("mg"), PRLD_OPEN_READ, NULL, &d, NULL), 0,
	       "top larger than Disk_size opens");
	if (d) {
		prld_get_info(d, &info);
		is_int(info.size_sectors, 2 * DISK_SECTORS, "at the top's size");
	}
	prld_close(d, NULL);
	if (snapshot_ex(tpath("mg"), g2, CL_SECTORS, DISK_SECTORS))
		return;
	snprintf(msg, len,
		 "root.hds.%s: virtual size 16384 sectors, more than the descriptor's Disk_size 8192",
		 g);
	open_fails(tpath("mg"), PRLD_OPEN_READ, -EINVAL, msg,
		   "lower layer larger than Disk_size");
}

/*
 * A top smaller than Disk_size (ploop's snapshot-switch to a snapshot
 * made before a resize): the disk has the top's size, as ploop reads it.
 */
static void test_small_top(char *g)
{
	struct prld_disk *d = NULL;
	struct prld_info info;
	uint8_t b = 0;

	if (create_disk_dir(tpath("ms"), DISK_SECTORS, CL_SECTORS, false) ||
	    snapshot_ex(tpath("ms"), g, CL_SECTORS, DISK_SECTORS / 2))
		return;
	is_int(prld_open(tpath("ms"), PRLD_OPEN_READ, NULL, &d, NULL), 0,
	       "top smaller than Disk_size opens");
	if (!d)
		return;
	prld_get_info(d, &info);
	is_int(info.size_sectors, DISK_SECTORS / 2, "... at the top's size");
	is_int(prld_pread(d, &b, 1, (uint64_t)DISK_SECTORS / 2 * 512, NULL),
	       -ENXIO, "... nothing past it");
	prld_close(d, NULL);
}

static void test_chain_mismatch(void)
{
	char g[PRLD_GUID_LEN + 1], msg[256];

	if (create_disk_dir(tpath("mm"), DISK_SECTORS, CL_SECTORS, false) ||
	    snapshot_ex(tpath("mm"), g, 256, DISK_SECTORS))
		return;
	snprintf(msg, sizeof(msg),
		 "root.hds.%s: cluster size 256 sectors differs from the descriptor's Blocksize 128",
		 g);
	open_fails(tpath("mm"), PRLD_OPEN_READ, -EINVAL, msg,
		   "delta with another cluster size");
	test_small_top(g);
	test_grown_top(g, msg, sizeof(msg));
	if (create_disk_dir(tpath("miss"), DISK_SECTORS, CL_SECTORS, false) ||
	    snapshot(tpath("miss"), g))
		return;
	unlink(tpath("miss/root.hds.%s", g));
	snprintf(msg, sizeof(msg), "root.hds.%s: cannot open", g);
	open_fails(tpath("miss"), PRLD_OPEN_READ, -ENOENT, msg,
		   "missing delta file");
	ok(access(tpath("miss/root.hds"), F_OK) == 0,
	   "failed open leaves the base alone");
}

static void test_fake_dir(void)
{
	struct prld_disk *d;
	struct prld_info info;
	uint8_t b[512] = { 0 };

	d = open_disk(tpath("chain"), PRLD_OPEN_FAKE | PRLD_OPEN_WRITE, 0);
	if (!ok(d != NULL, "FAKE open of a chain"))
		return;
	prld_get_info(d, &info);
	is_int(info.nlayers, 3, "FAKE: layers are listed");
	is_int(prld_pread(d, b, 512, 0, NULL), -EPERM, "FAKE: read -EPERM");
	is_int(prld_pwrite(d, b, 512, 0, NULL), -EPERM, "FAKE: write -EPERM");
	is_int(prld_flush(d, NULL), -EPERM, "FAKE: flush -EPERM");
	is_int(prld_close(d, NULL), 0, "FAKE: close");
}

/* ---- plain (raw) layers --------------------------------------------- */

static int make_plain_disk(const char *dir, uint64_t raw_bytes,
			   uint8_t *content)
{
	struct prld_err err = { 0 };
	struct prld_desc *d = NULL;
	char *raw = prld_join(dir, "root.img");
	int fd, ret;

	mkdir(dir, 0755);
	fd = raw ? open(raw, O_CREAT | O_WRONLY | O_EXCL, 0600) : -1;
	free(raw);
	if (fd < 0)
		return -EIO;
	fill_random(content, raw_bytes);
	ret = prld_pwrite_full(fd, content, raw_bytes, 0);
	close(fd);
	if (!ret)
		ret = desc_new(dir, DISK_SECTORS, NULL, CL_SECTORS, "root.img",
			       PRLD_LAYER_PLAIN, &d, &err);
	if (!ret)
		ret = desc_save(d, &err);
	if (ret)
		printf("# plain disk %s: %s\n", dir, err.msg);
	desc_free(d);
	return ret;
}

static void test_plain_base(void)
{
	const char *dir = tpath("plain");
	uint8_t *ref = malloc(DISK_BYTES), *raw0 = NULL, *raw1 = NULL;
	uint8_t w[5000];
	bool held[NCL] = { false };
	struct prld_disk *d;
	struct prld_info info;
	char g[PRLD_GUID_LEN + 1];
	uint64_t len;
	int ret;

	if (!ref || make_plain_disk(dir, DISK_BYTES, ref))
		goto out;
	ok(disk_equals(dir, ref, DISK_BYTES), "plain disk reads the raw file");
	d = open_disk(dir, PRLD_OPEN_READ | PRLD_OPEN_WRITE, 0);
	if (!ok(d != NULL, "plain disk opens writable"))
		goto out;
	prld_get_info(d, &info);
	ok(info.layers[0].kind == PRLD_LAYER_PLAIN && info.layers[0].fmt == 0,
	   "layer kind plain, no format");
	is_int(info.layers[0].allocated, NCL, "plain: every cluster counts");
	ok(!strchr(map_str(d, NULL, NULL, &ret), '0') && !ret,
	   "plain: map has every bit set");
	fill_random(w, sizeof(w));
	is_int(prld_pwrite(d, w, sizeof(w), 123457, NULL), 0,
	       "plain: write in place");
	memcpy(ref + 123457, w, sizeof(w));
	is_int(prld_close(d, NULL), 0, "plain: close");
	is_int(file_size(tpath("plain/root.img")), DISK_BYTES,
	       "plain: the raw file keeps its size");
	raw0 = slurp(tpath("plain/root.img"), &len);
	ok(raw0 && !memcmp(raw0, ref, DISK_BYTES), "plain: raw file has it");
	if (!ok(snapshot(dir, g) == 0, "snapshot over a plain base"))
		goto out;
	d = open_disk(dir, PRLD_OPEN_READ | PRLD_OPEN_WRITE, 0);
	is_int(prld_pwrite(d, w, 7, 3 * CL_BYTES + 11, NULL), 0,
	       "partial write over the plain base");
	memcpy(ref + 3 * CL_BYTES + 11, w, 7);
	prld_close(d, NULL);
	ok(disk_equals(dir, ref, DISK_BYTES), "copy-up from a plain base");
	raw1 = slurp(tpath("plain/root.img"), &len);
	ok(raw0 && raw1 && len == DISK_BYTES &&
	   !memcmp(raw0, raw1, DISK_BYTES),
	   "plain base not written through the delta");
	held[3] = true;
	d = open_disk(dir, PRLD_OPEN_READ, 0);
	ok(d && !strcmp(map_str(d, g, NULL, &ret), expect_bits(held, NULL)) &&
	   !ret, "map above the plain base is the delta's one cluster");
	prld_close(d, NULL);
out:
	free(raw0);
	free(raw1);
	free(ref);
}

static void test_plain_short(void)
{
	uint8_t *buf = malloc(DISK_BYTES);

	if (!buf || make_plain_disk(tpath("short"), DISK_BYTES - 512, buf)) {
		free(buf);
		return;
	}
	open_fails(tpath("short"), PRLD_OPEN_READ, -EINVAL,
		   "typed Plain, but neither a raw image covering the disk",
		   "plain file too short");
	free(buf);
}

int main(void)
{
	tmpdir_make("disk");
	rnd_seed(0x2545f4914f6cdd1dULL);	/* a stream of its own */
	test_create_disk();
	test_create_disk_refusals();
	test_create_disk_prealloc();
	test_chain();
	test_chain_mismatch();
	test_fake_dir();
	test_plain_base();
	test_plain_short();
	tmpdir_remove();
	return tap_done();
}
