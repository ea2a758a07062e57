// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mutant_run - attach every case of a `mutants gen` directory with a raw
 * PRLD_CONFIGURE (as rawattach does, so only the kernel judges) and hold
 * the kernel to the verdict the generator predicted:
 *
 *   refused: with exactly the predicted errno (ENOMEM always allowed),
 *            and the files are byte-identical afterwards;
 *   attached: the device reads back the predicted content (whole, or
 *            1 MiB at each end of a large disk); read-write: 4 KiB written
 *            at a random sector reads back, and after the detach
 *            `$PRLDCTL check` of the top finds no corruption (leaks are
 *            fine); read-only: the files are byte-identical; PRLD_DETACH
 *            succeeds.
 *
 *   mutant_run [--progress FILE] SEED DIR
 *
 * One process for hundreds of cases: under the emulated CPU every exec
 * costs a good fraction of a second.  Each failure is one line naming the
 * seed and case (`mutants gen --seed S --first I --count 1 DIR` rebuilds
 * it); --progress keeps the case being attached in FILE, so a hang names
 * it too.  Exit status 1 if any case failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/fs.h>

#include "prld_ioctl.h"
#include "mutants.h"

struct mcase {
	unsigned long long index;
	char mode[4], expect[32], files[2][4096], what[1024];
	__u64 devhash, filehash;
	int nr;
};

static unsigned long long seed;
static unsigned int failed;

static void fail(const struct mcase *c, const char *fmt, const char *arg)
{
	failed++;
	printf("FAIL case %llu (seed %llu): ", c->index, seed);
	printf(fmt, arg);
	printf("\n  mutations: %s\n  rebuild: mutants gen --seed %llu --first %llu --count 1 DIR\n",
	       c->what, seed, c->index);
	fflush(stdout);
}

/* The hash of the device's sample, as the generator computed it. */
static int dev_hash(const char *dev, __u64 *out)
{
	__u64 size, start[2], len[2], h = FNV_INIT, pos;
	const size_t chunk = 1 << 20;
	static void *buf;
	int fd, r, nr;
	ssize_t n;

	if (!buf && posix_memalign(&buf, 4096, chunk))
		return -1;
	fd = open(dev, O_RDONLY | O_DIRECT);
	if (fd < 0)
		return -1;
	if (ioctl(fd, BLKGETSIZE64, &size)) {
		close(fd);
		return -1;
	}
	nr = sample_ranges(size, start, len);
	for (r = 0; r < nr; r++) {
		for (pos = start[r]; pos < start[r] + len[r]; pos += (__u64)n) {
			__u64 left = start[r] + len[r] - pos;

			n = pread(fd, buf, left < chunk ? left : chunk, (off_t)pos);
			if (n <= 0) {
				close(fd);
				return -1;
			}
			h = fnv(h, buf, (size_t)n);
		}
	}
	close(fd);
	*out = h;
	return 0;
}

/* As the generator's image_hash(): first HASH_SPAN bytes, then length. */
static __u64 file_hash(const struct mcase *c)
{
	static __u8 *buf;
	__u64 h = FNV_INIT, len, done;
	struct stat st;
	ssize_t n;
	int i, fd;

	if (!buf && !(buf = malloc(HASH_SPAN)))
		return 0;
	for (i = 0; i < c->nr; i++) {
		fd = open(c->files[i], O_RDONLY);
		if (fd < 0 || fstat(fd, &st))
			return 0;
		len = (__u64)st.st_size;
		for (done = 0; done < len && done < HASH_SPAN; done += (__u64)n) {
			n = pread(fd, buf + done, HASH_SPAN - done, (off_t)done);
			if (n <= 0)
				break;
		}
		close(fd);
		h = fnv(h, buf, done);
		h = fnv(h, (const __u8 *)&len, sizeof(len));
	}
	return h;
}

/* 4 KiB of a pattern at a random 512-byte sector reads back. */
static void write_check(const struct mcase *c, const char *dev)
{
	static void *out, *in;
	__u64 size, pos;
	int fd;

	if ((!out && posix_memalign(&out, 4096, 4096)) ||
	    (!in && posix_memalign(&in, 4096, 4096)))
		return fail(c, "%s", "out of memory");
	fd = open(dev, O_RDWR | O_DIRECT);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size))
		return fail(c, "open %s for the write", dev);
	if (size < 4096) {
		close(fd);
		return;
	}
	pos = (__u64)(random() % (long)((size - 4096) / 512 + 1)) * 512;
	memset(out, (int)(c->index & 0xff) | 1, 4096);
	snprintf(out, 64, "case %llu at %llu", c->index, (unsigned long long)pos);
	if (pwrite(fd, out, 4096, (off_t)pos) != 4096 || fdatasync(fd))
		fail(c, "4 KiB write to %s failed", dev);
	else if (pread(fd, in, 4096, (off_t)pos) != 4096 || memcmp(in, out, 4096))
		fail(c, "4 KiB written to %s does not read back", dev);
	close(fd);
}

/* `$PRLDCTL check FILE` exit status: 0 clean, 3 leaks, 2 corrupt. */
static int prldctl_check(const char *file)
{
	const char *tool = getenv("PRLDCTL");
	int status;
	pid_t pid;

	if (!tool)
		return 0;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execl(tool, tool, "check", file, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* PRLD_CTL_GET_FREE, then /dev/prldN opened as rawattach does. */
static int free_device(int ro, char *path, size_t len)
{
	int ctl, index, dev = -1, i;

	ctl = open("/dev/" PRLD_CONTROL_NAME, O_RDWR);
	if (ctl < 0)
		return -1;
	index = ioctl(ctl, PRLD_CTL_GET_FREE, 0);
	close(ctl);
	if (index < 0)
		return -1;
	snprintf(path, len, "/dev/" PRLD_DEVICE_PREFIX "%d", index);
	for (i = 0; i < 100 && (dev = open(path, ro ? O_RDONLY : O_RDWR)) < 0; i++)
		usleep(10000);
	return dev;
}

/*
 * @dev is closed here: the detach completes at the last close (as with
 * newest loop), so the files are looked at only after it.
 */
static void attached(const struct mcase *c, int dev, const char *path)
{
	int ro = !strcmp(c->mode, "ro"), rc;
	__u64 h;

	if (strcmp(c->expect, "OK"))
		fail(c, "attached, the kernel should have refused with %s",
		     c->expect);
	else if (dev_hash(path, &h))
		fail(c, "reading %s failed", path);
	else if (h != c->devhash)
		fail(c, "%s does not hold the predicted content", path);
	if (!ro)
		write_check(c, path);
	if (ioctl(dev, PRLD_DETACH, 0))
		fail(c, "PRLD_DETACH: %s", strerrorname_np(errno));
	close(dev);
	if (ro && file_hash(c) != c->filehash)
		fail(c, "%s", "a read-only attachment changed the files");
	if (!ro) {
		rc = prldctl_check(c->files[c->nr - 1]);
		if (rc != 0 && rc != 3)
			fail(c, "prldctl check after read-write use: exit %s",
			     rc == 2 ? "2 (corrupt)" : "other than 0/2/3");
	}
}

static void run_case(const struct mcase *c, const char *progress)
{
	struct prld_config cfg = { .size = sizeof(cfg) };
	int ro = !strcmp(c->mode, "ro"), i, dev, err = 0;
	__s32 fds[2] = { -1, -1 };
	const char *name;
	char path[64];
	FILE *p;

	if (progress && (p = fopen(progress, "w"))) {
		fprintf(p, "seed %llu case %llu: %s\n", seed, c->index, c->what);
		fclose(p);
	}
	for (i = 0; i < c->nr; i++) {
		fds[i] = open(c->files[i], !ro && i == c->nr - 1 ? O_RDWR : O_RDONLY);
		if (fds[i] < 0)
			return fail(c, "open %s", c->files[i]);
	}
	dev = free_device(ro, path, sizeof(path));
	if (dev < 0) {
		fail(c, "no free device: %s", strerrorname_np(errno));
		goto out;
	}
	cfg.flags = ro ? PRLD_CONFIG_READ_ONLY : 0;
	cfg.flags |= PRLD_CONFIG_NO_PARTSCAN * (random() & 1);
	cfg.nr_layers = (__u32)c->nr;
	cfg.fds = (__u64)(unsigned long)fds;
	if (ioctl(dev, PRLD_CONFIGURE, &cfg))
		err = errno;
	for (i = 0; i < c->nr; i++)
		close(fds[i]);
	fds[0] = fds[1] = -1;
	if (!err) {
		attached(c, dev, path);
		return;
	}
	close(dev);
	name = strerrorname_np(err);
	if (strcmp(name, c->expect) && err != ENOMEM)
		fail(c, "refused with %s", name);
	if (file_hash(c) != c->filehash)
		fail(c, "%s", "a refused attach changed the files");
out:
	for (i = 0; i < c->nr; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int main(int argc, char **argv)
{
	const char *progress = NULL;
	unsigned long ok_attach = 0, refused = 0, n = 0;
	char line[16384], files[8192];
	struct mcase c;
	FILE *tsv;

	if (argc == 5 && !strcmp(argv[1], "--progress")) {
		progress = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: mutant_run [--progress FILE] SEED DIR\n");
		return 2;
	}
	seed = strtoull(argv[1], NULL, 0);
	srandom((unsigned int)seed);
	snprintf(line, sizeof(line), "%s/cases.tsv", argv[2]);
	tsv = fopen(line, "r");
	if (!tsv) {
		perror(line);
		return 2;
	}
	while (fgets(line, sizeof(line), tsv)) {
		memset(&c, 0, sizeof(c));
		if (sscanf(line, "%llu\t%3s\t%31s\t%llx\t%llx\t%8191[^\t]\t%1023[^\n]",
			   &c.index, c.mode, c.expect,
			   (unsigned long long *)&c.devhash,
			   (unsigned long long *)&c.filehash, files, c.what) < 6) {
			fprintf(stderr, "mutant_run: bad line: %s", line);
			return 2;
		}
		c.nr = sscanf(files, "%4095s %4095s", c.files[0], c.files[1]);
		run_case(&c, progress);
		n++;
		if (!strcmp(c.expect, "OK"))
			ok_attach++;
		else
			refused++;
	}
	fclose(tsv);
	printf("mutant_run: %lu cases (%lu predicted to attach, %lu to be refused), %u failures\n",
	       n, ok_attach, refused, failed);
	return failed ? 1 : 0;
}
