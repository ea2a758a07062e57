/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Helpers shared by the libprld unit tests: a scratch directory per test
 * program, whole-file and header peeks and pokes on the files in it, a
 * fixed-seed random stream, and opening / comparing / scribbling on disks.
 *
 * Helpers that read or write a file the test made itself bail out (TAP
 * "Bail out!", exit 255) when that fails, so a broken fixture can never
 * satisfy a check by accident.
 */
#ifndef PRLD_TESTUTIL_H
#define PRLD_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "tap.h"

/* The scratch directory, made by tmpdir_make(). */
static char tmpdir[64];

/* Abort the whole run: @what failed with errno. */
static inline __attribute__((noreturn)) void bail_out(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(255);
}

/* Make the scratch directory /tmp/prld-test-@tag-XXXXXX, or bail out. */
static inline void tmpdir_make(const char *tag)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/prld-test-%s-XXXXXX", tag);
	if (!mkdtemp(tmpdir))
		bail_out("mkdtemp");
}

/* nftw() callback of tmpdir_remove(). */
static inline int tmpdir_rm_entry(const char *path, const struct stat *sb,
				  int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove the scratch directory and all in it; non-zero if that failed. */
static inline int tmpdir_remove(void)
{
	return nftw(tmpdir, tmpdir_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * A path under the scratch directory, the rest printf-style.  The result
 * lives in one of 8 rotating static buffers: good for 8 calls.
 */
static inline __attribute__((format(printf, 1, 2)))
char *tpath(const char *fmt, ...)
{
	static char buf[8][512];
	static unsigned int slot;
	char *p = buf[slot++ % 8];
	int n = snprintf(p, sizeof(buf[0]), "%s/", tmpdir);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p + n, sizeof(buf[0]) - n, fmt, ap);
	va_end(ap);
	return p;
}

/* Size of the file at @path in bytes, or bail out. */
static inline uint64_t file_size(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		bail_out(path);
	return (uint64_t)st.st_size;
}

/* The whole file, NUL-terminated and malloc'd; NULL on error.  @len: opt. */
static inline void *slurp(const char *path, uint64_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	char *buf = NULL;

	if (len)
		*len = 0;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0)
		buf = malloc((size_t)st.st_size + 1);
	if (buf && prld_pread_full(fd, buf, st.st_size, 0)) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	if (buf) {
		buf[st.st_size] = '\0';
		if (len)
			*len = (uint64_t)st.st_size;
	}
	return buf;
}

/* Read @len bytes at @off of @path: 0 or a negative errno. */
static inline int read_bytes(const char *path, void *buf, size_t len,
			     uint64_t off)
{
	int fd = open(path, O_RDONLY);
	int ret;

	if (fd < 0)
		return -errno;
	ret = prld_pread_full(fd, buf, len, off);
	close(fd);
	return ret;
}

/* Overwrite @len bytes at @off of @path: 0 or a negative errno. */
static inline int write_bytes(const char *path, const void *buf, size_t len,
			      uint64_t off)
{
	int fd = open(path, O_WRONLY);
	int ret;

	if (fd < 0)
		return -errno;
	ret = prld_pwrite_full(fd, buf, len, off);
	close(fd);
	return ret;
}

/* The little-endian 32-bit field at @off of @path, or bail out. */
static inline uint32_t hdr32(const char *path, uint64_t off)
{
	__u8 b[4];

	if (read_bytes(path, b, sizeof(b), off))
		bail_out(path);
	return prld_get_le32(b);
}

/* The little-endian 64-bit field at @off of @path, or bail out. */
static inline uint64_t hdr64(const char *path, uint64_t off)
{
	__u8 b[8];

	if (read_bytes(path, b, sizeof(b), off))
		bail_out(path);
	return prld_get_le64(b);
}

/* Store @v little-endian at @off of @path (to damage an image). */
static inline void put32(const char *path, uint64_t off, uint32_t v)
{
	__u8 b[4];

	prld_put_le32(b, v);
	if (write_bytes(path, b, sizeof(b), off))
		bail_out(path);
}

/* State of rnd(): the same stream on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* Restart the random stream at @seed (non-zero). */
static inline void rnd_seed(uint64_t seed)
{
	rng_state = seed;
}

/* Next number of a xorshift64 stream: test data, not cryptography. */
static inline uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Fill @n bytes at @p from rnd(). */
static inline void fill_random(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

/* prld_open() of @path at byte @offset; NULL (and a note) if it fails. */
/* A disk directory of @sectors with @cluster-sector clusters; 0 or -errno. */
static inline int create_disk_dir(const char *dir, uint64_t sectors,
				  uint32_t cluster, bool prealloc)
{
	struct prld_create_params p = {
		.size_sectors = sectors,
		.cluster_sectors = cluster,
		.preallocate = prealloc,
	};
	struct prld_err err = { 0 };
	int ret = prld_create_disk(dir, &p, &err);

	if (ret)
		printf("# create_disk %s: %s\n", dir, err.msg);
	return ret;
}

/* The model of @dir's descriptor, or NULL (the reason is printed). */
static inline struct prld_desc *load_desc(const char *dir)
{
	struct prld_err err = { 0 };
	struct prld_desc *d = NULL;
	char *path = prld_join(dir, PRLD_DESCRIPTOR);

	if (!path || desc_load(path, &d, &err))
		printf("# desc_load %s: %s\n", dir, err.msg);
	free(path);
	return d;
}

static inline struct prld_disk *open_disk(const char *path,
					  unsigned int flags, uint64_t offset)
{
	struct prld_policy pol = { .offset = offset };
	struct prld_err err = { 0 };
	struct prld_disk *d = NULL;

	if (prld_open(path, flags, &pol, &d, &err))
		printf("# open %s: %s\n", path, err.msg);
	return d;
}

/* Whether the first @size bytes of the disk at @path are those of @ref. */
static inline bool disk_equals(const char *path, const uint8_t *ref,
			       uint64_t size)
{
	struct prld_disk *d = open_disk(path, PRLD_OPEN_READ, 0);
	uint8_t *buf = malloc(size);
	bool same;

	same = d && buf && prld_pread(d, buf, size, 0, NULL) == 0 &&
	       !memcmp(buf, ref, size);
	free(buf);
	prld_close(d, NULL);
	return same;
}

/*
 * @count random writes of up to @maxlen bytes to @d, mirrored into @ref
 * (the model of its @size bytes); one check that they all succeed.
 */
static inline void random_writes(struct prld_disk *d, uint8_t *ref,
				 uint64_t size, unsigned int count,
				 size_t maxlen)
{
	uint8_t *buf = malloc(maxlen);
	unsigned int i, fails = 0;

	if (!buf)
		bail_out("malloc");
	for (i = 0; i < count; i++) {
		uint64_t off = rnd() % size;
		size_t len = 1 + rnd() % maxlen;

		if (len > size - off)
			len = size - off;
		fill_random(buf, len);
		if (prld_pwrite(d, buf, len, off, NULL))
			fails++;
		memcpy(ref + off, buf, len);
	}
	is_int(fails, 0, "%u random writes succeed", count);
	free(buf);
}

/* prld_check: exit status 0 and no finding but notes. */
static inline void check_clean(const char *dir, const char *what)
{
	struct prld_report rep;
	struct prld_err err = { 0 };
	unsigned int i, findings = 0;
	int ret = prld_check(dir, false, &rep, &err);

	for (i = 0; !ret && i < rep.count; i++) {
		if (rep.items[i].severity == PRLD_SEV_NOTE)
			continue;
		printf("# %s: %s\n", rep.items[i].file, rep.items[i].msg);
		findings++;
	}
	ok(!ret && prld_report_exit_status(&rep) == 0 && findings == 0,
	   "%s: prld_check clean", what);
	if (!ret)
		prld_report_free(&rep);
}

/*
 * Fork: the child sets the test hook @env to @step (a crash point), runs
 * @fn(@ctx) and exits 0 unless the hook ends it first.  The child's exit
 * status, or 128 + the signal that ended it.
 */
static inline int crash_in_child(const char *env, const char *step,
				 void (*fn)(const void *ctx), const void *ctx)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		bail_out("fork");
	if (pid == 0) {
		setenv(env, step, 1);
		fn(ctx);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) < 0)
		bail_out("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#endif /* PRLD_TESTUTIL_H */
