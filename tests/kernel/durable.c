// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * durable - the writer and the checker of the power-cut test
 * (tests/kernel/crash-workload.sh, crash-check.sh).
 *
 *   durable dev DEV LOG SEED	random 4 KiB direct writes to a block
 *				device until killed
 *   durable files DIR LOG SEED	create, fsync and delete files until killed
 *   durable check-dev DEV LOG	every write the log calls durable is there
 *   durable check-files DIR LOG
 *   durable damage-dev DEV LOG	selftest: undo one durable write
 *   durable damage-files DIR LOG	selftest: flip a byte of a durable file
 *
 * The log lives on another disk (the VM's 9p share, which the host keeps
 * whatever happens to the guest), one line per event, and a line is only
 * written after the event it records:
 *   W blk seq	a write of block blk is about to be issued
 *   D blk seq	that write is durable: it was O_DSYNC (FUA), or a flush
 *		(fdatasync of the device) completed after it
 *   F name size seq	file created, written, fsynced, its directory fsynced
 *   u name		an unlink is about to be issued (no fsync needed)
 *   U name		file unlinked and the directory fsynced
 * D, F and U lines are fdatasync'ed before the writer goes on, so the log
 * never claims less than the disk must hold.
 *
 * A device block is a self-describing record (magic, block, seq, seed)
 * followed by a pattern of (seed, block, seq): a block may hold its last
 * durable write or any later write issued after it (or garbage, a torn
 * write, if one was issued), never an older one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/fs.h>

#define BLK		4096
#define MAX_BLOCKS	8192		/* the first 32 MiB of the device */
#define MAGIC		0x7072646c64757261ULL
#define MAX_FILES	100000
#define BATCH		256		/* blocks per read when checking */

static uint64_t rng;

static void die(const char *what)
{
	fprintf(stderr, "durable: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The content of block @blk written as its @seq-th version. */
static void fill(uint8_t *buf, size_t len, uint64_t seed, uint64_t blk,
		 uint64_t seq)
{
	uint64_t s = seed ^ (blk << 32) ^ seq ^ 0xa5a5a5a5ULL, *w = (uint64_t *)buf;
	size_t i;

	for (i = 0; i < len / 8; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		w[i] = s;
	}
	for (i = len & ~(size_t)7; i < len; i++)	/* the odd tail */
		buf[i] = (uint8_t)(s >> (8 * (i & 7)));
	if (len >= 32) {
		w[0] = MAGIC;
		w[1] = blk;
		w[2] = seq;
		w[3] = seed;
	}
}

static FILE *open_log(const char *path, const char *mode)
{
	FILE *f = fopen(path, mode);

	if (!f)
		die(path);
	return f;
}

/* Make the log's lines so far reach its disk before going on. */
static void log_sync(FILE *log)
{
	if (fflush(log) || fdatasync(fileno(log)))
		die("log");
}

static int dev_open(const char *dev, int flags, uint64_t *nblocks)
{
	struct stat st;
	uint64_t size;
	int fd = open(dev, flags | O_DIRECT);

	/* A regular file too: the checkers' own tests run on the host. */
	if (fd < 0 || fstat(fd, &st))
		die(dev);
	if (S_ISREG(st.st_mode))
		size = (uint64_t)st.st_size;
	else if (ioctl(fd, BLKGETSIZE64, &size))
		die(dev);
	*nblocks = size / BLK < MAX_BLOCKS ? size / BLK : MAX_BLOCKS;
	if (!*nblocks) {
		errno = ENOSPC;
		die(dev);
	}
	return fd;
}

/*
 * Writes until killed.  A third go out with RWF_DSYNC (FUA through the
 * driver) and are durable when they return; the rest are plain direct
 * writes, made durable in batches by fdatasync() (a FLUSH request).
 */
static int cmd_dev(const char *dev, const char *logpath, uint64_t seed)
{
	uint64_t nblocks, seq, pend_blk[16], pend_seq[16];
	unsigned int npend = 0, batch, i;
	FILE *log = open_log(logpath, "a");
	struct iovec iov;
	void *buf;
	int fd;

	rng = seed;
	fd = dev_open(dev, O_RDWR, &nblocks);
	if (posix_memalign(&buf, BLK, BLK))
		die("posix_memalign");
	iov.iov_base = buf;
	iov.iov_len = BLK;
	batch = 1 + (unsigned int)(rnd() % 16);
	fprintf(log, "S %llu\n", (unsigned long long)seed);
	log_sync(log);
	for (seq = 1;; seq++) {
		uint64_t blk = rnd() % nblocks;
		int dsync = rnd() % 3 == 0;

		fill(buf, BLK, seed, blk, seq);
		/* 9p: the line is on the host when fprintf+fflush return. */
		fprintf(log, "W %llu %llu\n", (unsigned long long)blk,
			(unsigned long long)seq);
		if (fflush(log))
			die("log");
		if (pwritev2(fd, &iov, 1, (off_t)(blk * BLK),
			     dsync ? RWF_DSYNC : 0) != BLK)
			die("pwritev2");
		if (dsync) {
			fprintf(log, "D %llu %llu\n", (unsigned long long)blk,
				(unsigned long long)seq);
			log_sync(log);
			continue;
		}
		pend_blk[npend] = blk;
		pend_seq[npend++] = seq;
		if (npend < batch)
			continue;
		if (fdatasync(fd))
			die("fdatasync");
		for (i = 0; i < npend; i++)
			fprintf(log, "D %llu %llu\n",
				(unsigned long long)pend_blk[i],
				(unsigned long long)pend_seq[i]);
		log_sync(log);
		npend = 0;
		batch = 1 + (unsigned int)(rnd() % 16);
	}
	return 0;
}

struct blkstate {
	uint64_t durable;	/* seq of the last durable write, 0 = none */
	uint64_t later_max;	/* highest seq issued after it */
	uint64_t later_n;	/* how many were issued after it */
};

static int all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	return len == 0 || (b[0] == 0 && !memcmp(b, b + 1, len - 1));
}

/*
 * Replay the log into per-block state (two passes: the last durable write
 * of each block first, then the writes issued after it); returns the seed.
 */
static uint64_t read_dev_log(const char *logpath, struct blkstate *st,
			     uint64_t nblocks, unsigned long *ndurable)
{
	unsigned long long a, b;
	uint64_t seed = 0;
	char line[128];
	FILE *log;
	int pass;

	*ndurable = 0;
	for (pass = 0; pass < 2; pass++) {
		log = open_log(logpath, "r");
		while (fgets(line, sizeof(line), log)) {
			/* A line cut by the kill matches neither pattern. */
			if (sscanf(line, "S %llu", &a) == 1) {
				seed = a;
			} else if (pass == 0 &&
				   sscanf(line, "D %llu %llu", &a, &b) == 2 &&
				   a < nblocks && b > st[a].durable) {
				st[a].durable = b;
				(*ndurable)++;
			} else if (pass == 1 &&
				   sscanf(line, "W %llu %llu", &a, &b) == 2 &&
				   a < nblocks && b > st[a].durable) {
				st[a].later_n++;
				if (b > st[a].later_max)
					st[a].later_max = b;
			}
		}
		fclose(log);
	}
	return seed;
}

static int cmd_check_dev(const char *dev, const char *logpath)
{
	uint64_t nblocks, seed, blk, seq;
	unsigned long ndurable, bad = 0, found_later = 0;
	struct blkstate *st;
	uint8_t *want;
	void *buf;
	int fd;

	fd = dev_open(dev, O_RDONLY, &nblocks);
	st = calloc(nblocks, sizeof(*st));
	want = malloc(BLK);
	if (!st || !want || posix_memalign(&buf, BLK, BLK * BATCH))
		die("alloc");
	seed = read_dev_log(logpath, st, nblocks, &ndurable);
	for (blk = 0; blk < nblocks; blk++) {
		const uint64_t *w = (const uint64_t *)((uint8_t *)buf +
						       (blk % BATCH) * BLK);
		const char *why = NULL;

		/* BATCH blocks per read: 4 KiB reads crawl in the VM. */
		if (blk % BATCH == 0 &&
		    pread(fd, buf, BLK * (nblocks - blk < BATCH ? nblocks - blk : BATCH),
			  (off_t)(blk * BLK)) <= 0)
			die("pread");
		seq = w[0] == MAGIC && w[1] == blk && w[3] == seed ? w[2] : 0;
		if (seq) {
			fill(want, BLK, seed, blk, seq);
			if (memcmp(want, w, BLK))
				seq = 0;	/* a record header over other bytes */
		}
		if (seq == st[blk].durable && (seq || all_zero(w, BLK)))
			continue;	/* its last durable write, or never written */
		if (seq > st[blk].durable && seq <= st[blk].later_max) {
			found_later++;	/* a write issued after it landed too */
			continue;
		}
		if (seq)
			why = "an older or unknown write";
		else if (all_zero(w, BLK))
			why = "zeros";
		else if (!st[blk].later_n)
			why = "bytes nobody wrote";	/* a torn write needs a write */
		if (!why)
			continue;
		bad++;
		if (bad <= 20)
			printf("block %llu: holds %s (seq %llu), its last durable write is seq %llu\n",
			       (unsigned long long)blk, why,
			       (unsigned long long)seq,
			       (unsigned long long)st[blk].durable);
	}
	printf("check-dev: %llu blocks, %lu durable writes logged, %lu blocks hold a later write, %lu bad\n",
	       (unsigned long long)nblocks, ndurable, found_later, bad);
	return bad ? 1 : 0;
}

/*
 * Files until killed: most are written, fsynced and their directory
 * fsynced before the log names them; one in four is left to the page
 * cache (the log never names it); one step in five unlinks a logged file.
 */
static int cmd_files(const char *dir, const char *logpath, uint64_t seed)
{
	static uint64_t live[MAX_FILES];
	FILE *log = open_log(logpath, "a");
	size_t nlive = 0, size;
	char name[64], path[4096];
	uint8_t *buf = malloc(1 << 18);
	uint64_t seq;
	int dfd, fd;

	rng = seed ^ 0xf11e5;
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0 || !buf)
		die(dir);
	fprintf(log, "S %llu\n", (unsigned long long)seed);
	log_sync(log);
	for (seq = 1; nlive < MAX_FILES; seq++) {
		if (nlive && rnd() % 5 == 0) {
			size_t k = rnd() % nlive;

			snprintf(name, sizeof(name), "f%llu",
				 (unsigned long long)live[k]);
			/* Cut from here to the U line: either outcome is right. */
			fprintf(log, "u %s\n", name);
			if (fflush(log))
				die("log");
			if (unlinkat(dfd, name, 0) || fsync(dfd))
				die(name);
			live[k] = live[--nlive];
			fprintf(log, "U %s\n", name);
			log_sync(log);
			continue;
		}
		size = 1 + rnd() % (1 << 18);
		snprintf(name, sizeof(name), "f%llu", (unsigned long long)seq);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		fill(buf, size, seed, seq, size);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || write(fd, buf, size) != (ssize_t)size)
			die(path);
		if (rnd() % 4 == 0) {
			close(fd);
			continue;	/* not durable: no claim */
		}
		if (fsync(fd) || close(fd) || fsync(dfd))
			die(path);
		live[nlive++] = seq;
		fprintf(log, "F %s %zu %llu\n", name, size,
			(unsigned long long)seq);
		log_sync(log);
	}
	return 0;
}

struct fentry {
	char name[32];
	size_t size;
	int gone;	/* unlinked, durably */
	int going;	/* an unlink was issued: the file may be gone */
};

/* The log's files: created (F) and not unlinked since, or unlinked (U). */
static struct fentry *read_files_log(const char *logpath, size_t *n,
				     uint64_t *seed)
{
	struct fentry *e = calloc(MAX_FILES * 2, sizeof(*e));
	FILE *log = open_log(logpath, "r");
	unsigned long long sz, sq;
	char line[160], name[32];
	size_t i;

	if (!e)
		die("calloc");
	*n = 0;
	*seed = 0;
	while (fgets(line, sizeof(line), log) && *n < MAX_FILES * 2) {
		if (sscanf(line, "S %llu", &sz) == 1) {
			*seed = sz;
		} else if (sscanf(line, "F %31s %llu %llu", name, &sz, &sq) == 3) {
			snprintf(e[*n].name, sizeof(e[*n].name), "%s", name);
			e[(*n)++].size = sz;
		} else if (sscanf(line, "U %31s", name) == 1 && strchr(line, '\n')) {
			for (i = 0; i < *n; i++)
				if (!strcmp(e[i].name, name))
					e[i].gone = 1;
		} else if (sscanf(line, "u %31s", name) == 1) {
			for (i = 0; i < *n; i++)
				if (!strcmp(e[i].name, name))
					e[i].going = 1;
		}
	}
	fclose(log);
	return e;
}

static int cmd_check_files(const char *dir, const char *logpath)
{
	uint8_t *want = malloc(1 << 18), *got = malloc(1 << 18);
	unsigned long bad = 0, live = 0, gone = 0;
	char path[4096];
	struct fentry *e;
	struct stat st;
	uint64_t seed, seq;
	size_t n, i;
	int fd;

	if (!want || !got)
		die("malloc");
	e = read_files_log(logpath, &n, &seed);
	for (i = 0; i < n; i++) {
		const char *why = NULL;

		snprintf(path, sizeof(path), "%s/%s", dir, e[i].name);
		seq = strtoull(e[i].name + 1, NULL, 10);
		fd = open(path, O_RDONLY);
		if (e[i].gone) {
			gone++;
			if (fd >= 0)
				why = "unlinked durably, but still there";
		} else if (fd < 0) {
			why = e[i].going ? NULL : "missing";
		} else if (fstat(fd, &st) || (size_t)st.st_size != e[i].size) {
			why = "wrong size";
		} else {
			live++;
			fill(want, e[i].size, seed, seq, e[i].size);
			if (pread(fd, got, e[i].size, 0) != (ssize_t)e[i].size ||
			    memcmp(want, got, e[i].size))
				why = "wrong content";
		}
		if (fd >= 0)
			close(fd);
		if (!why)
			continue;
		if (++bad <= 20)
			printf("%s: %s\n", e[i].name, why);
	}
	printf("check-files: %zu files logged, %lu present and right, %lu durably unlinked, %lu bad\n",
	       n, live, gone, bad);
	return bad ? 1 : 0;
}

/* Selftests of the checkers: undo what the log calls durable. */
static int cmd_damage_dev(const char *dev, const char *logpath)
{
	uint64_t nblocks, blk;
	unsigned long nd;
	struct blkstate *st;
	void *buf;
	int fd;

	fd = dev_open(dev, O_RDWR, &nblocks);
	st = calloc(nblocks, sizeof(*st));
	if (!st || posix_memalign(&buf, BLK, BLK))
		die("alloc");
	read_dev_log(logpath, st, nblocks, &nd);
	for (blk = 0; blk < nblocks && !st[blk].durable; blk++)
		;
	if (blk == nblocks) {
		fprintf(stderr, "damage-dev: no durable write to undo\n");
		return 1;
	}
	memset(buf, 0, BLK);
	if (pwrite(fd, buf, BLK, (off_t)(blk * BLK)) != BLK || fdatasync(fd))
		die("pwrite");
	printf("damage-dev: zeroed block %llu\n", (unsigned long long)blk);
	return 0;
}

static int cmd_damage_files(const char *dir, const char *logpath)
{
	char path[4096];
	uint64_t seed;
	struct fentry *e;
	size_t n, i;
	uint8_t c;
	int fd;

	e = read_files_log(logpath, &n, &seed);
	for (i = 0; i < n && e[i].gone; i++)
		;
	if (i == n) {
		fprintf(stderr, "damage-files: no durable file to damage\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, e[i].name);
	fd = open(path, O_RDWR);
	if (fd < 0 || pread(fd, &c, 1, e[i].size / 2) != 1)
		die(path);
	c ^= 0x40;
	if (pwrite(fd, &c, 1, e[i].size / 2) != 1 || fsync(fd))
		die(path);
	printf("damage-files: flipped a bit of %s\n", e[i].name);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (argc == 5 && !strcmp(cmd, "dev"))
		return cmd_dev(argv[2], argv[3], strtoull(argv[4], NULL, 0));
	if (argc == 5 && !strcmp(cmd, "files"))
		return cmd_files(argv[2], argv[3], strtoull(argv[4], NULL, 0));
	if (argc == 4 && !strcmp(cmd, "check-dev"))
		return cmd_check_dev(argv[2], argv[3]);
	if (argc == 4 && !strcmp(cmd, "check-files"))
		return cmd_check_files(argv[2], argv[3]);
	if (argc == 4 && !strcmp(cmd, "damage-dev"))
		return cmd_damage_dev(argv[2], argv[3]);
	if (argc == 4 && !strcmp(cmd, "damage-files"))
		return cmd_damage_files(argv[2], argv[3]);
	fprintf(stderr, "usage: durable dev|files DEV|DIR LOG SEED\n"
		"       durable check-dev|damage-dev DEV LOG\n"
		"       durable check-files|damage-files DIR LOG\n");
	return 2;
}
