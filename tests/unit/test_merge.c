// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * test_merge.c - prld_delete_snapshot and the job API: leaves removed,
 * snapshots merged into their one child's place, the state of every
 * remaining GUID read back byte for byte (through an independent reader
 * that walks the descriptor's chain of each GUID), the descriptor and
 * files left behind, every refusal, progress reports, and a crash at each
 * named step of a merge and of a leaf delete (a forked child stopped by
 * PRLD_TEST_MERGE_CRASH) followed by each way of recovering.
 */
#include <ctype.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define CL_SECTORS	128U			/* 64 KiB clusters */
#define CL_BYTES	(CL_SECTORS * 512U)
#define DISK_SECTORS	8192U			/* 4 MiB, 64 clusters */
#define DISK_BYTES	(DISK_SECTORS * 512U)
#define RW		(PRLD_OPEN_READ | PRLD_OPEN_WRITE)
#define MAXSTATES	8
#define CRASH_EXIT	86

/* The expected contents of every GUID of a disk. */
struct states {
	unsigned int n;
	char guid[MAXSTATES][PRLD_GUID_LEN + 1];
	uint8_t *data[MAXSTATES];
};

static void states_free(struct states *s)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		free(s->data[i]);
	s->n = 0;
}

static void states_add(struct states *s, const char *guid,
		       const uint8_t *ref)
{
	if (s->n == MAXSTATES)
		bail_out("too many states");
	snprintf(s->guid[s->n], sizeof(s->guid[0]), "%s", guid);
	s->data[s->n] = malloc(DISK_BYTES);
	if (!s->data[s->n])
		bail_out("malloc");
	memcpy(s->data[s->n], ref, DISK_BYTES);
	s->n++;
}

/* Forget @guid's state (it is deleted). */
static void states_drop(struct states *s, const char *guid)
{
	unsigned int i;

	for (i = 0; i < s->n; i++) {
		if (strcmp(s->guid[i], guid))
			continue;
		free(s->data[i]);
		memmove(&s->guid[i], &s->guid[i + 1],
			(s->n - i - 1) * sizeof(s->guid[0]));
		memmove(&s->data[i], &s->data[i + 1],
			(s->n - i - 1) * sizeof(s->data[0]));
		s->n--;
		return;
	}
}

static void states_copy(struct states *dst, const struct states *src)
{
	unsigned int i;

	dst->n = 0;
	for (i = 0; i < src->n; i++)
		states_add(dst, src->guid[i], src->data[i]);
}

/*
 * The state of @guid: its chain from the descriptor, each image opened on
 * its own, every cluster from the highest image that maps it.  NULL if
 * something is unreadable (the reason printed).
 */
static uint8_t *state_read(const char *dir, const char *guid)
{
	struct prld_desc *d = load_desc(dir);
	struct prld_image *img[MAXSTATES] = { 0 };
	struct prld_err err = { 0 };
	unsigned int *idx = NULL, n = 0, i, k;
	uint8_t *buf = calloc(1, DISK_BYTES);
	uint64_t off;
	bool bad = !d || !buf;
	uint32_t c;

	if (!bad && desc_chain(d, guid, &idx, &n, &err)) {
		printf("# chain of %s: %s\n", guid, err.msg);
		bad = true;
	}
	for (i = 0; !bad && i < n && i < MAXSTATES; i++) {
		char *p = prld_join(d->dir, d->images[idx[i]].file);

		if (image_open(p, d->images[idx[i]].kind, false, d->disk_size,
			       d->blocksize, &img[i], &err)) {
			printf("# open %s: %s\n", p, err.msg);
			bad = true;
		}
		free(p);
	}
	for (c = 0; !bad && c < DISK_BYTES / CL_BYTES; c++) {
		for (k = n; k-- > 0;) {
			off = image_lookup(img[k], c);
			if (!off)
				continue;
			if (prld_pread_full(img[k]->fd, buf + (uint64_t)c * CL_BYTES,
					    CL_BYTES, off))
				bad = true;
			break;
		}
	}
	for (i = 0; i < n && i < MAXSTATES; i++)
		image_close(img[i], NULL);
	free(idx);
	desc_free(d);
	if (bad) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Every expected state reads back exactly; one check. */
static void states_match(const char *dir, const struct states *s,
			 const char *skip, const char *what)
{
	unsigned int i, bad = 0, seen = 0;
	uint8_t *got;

	for (i = 0; i < s->n; i++) {
		if (skip && !strcmp(s->guid[i], skip))
			continue;
		got = state_read(dir, s->guid[i]);
		if (!got || memcmp(got, s->data[i], DISK_BYTES)) {
			printf("# state of %s differs\n", s->guid[i]);
			bad++;
		}
		free(got);
		seen++;
	}
	ok(bad == 0, "%s: all %u states read back byte for byte", what, seen);
}

/* The descriptor names exactly the states' GUIDs. */
static void desc_names(const char *dir, const struct states *s,
		       const char *what)
{
	struct prld_desc *d = load_desc(dir);
	unsigned int i, found = 0;
	int j;

	for (i = 0; d && i < s->n; i++)
		for (j = 0; j < (int)d->nshots; j++)
			found += !strcmp(d->shots[j].guid, s->guid[i]);
	ok(d && d->nshots == s->n && d->nimages == s->n && found == s->n,
	   "%s: descriptor holds exactly the %u remaining GUIDs", what, s->n);
	desc_free(d);
}

static unsigned int count_files(const char *dir)
{
	DIR *dh = opendir(dir);
	struct dirent *e;
	unsigned int n = 0;

	if (!dh)
		bail_out(dir);
	while ((e = readdir(dh)))
		n += e->d_name[0] != '.';
	closedir(dh);
	return n;
}

static int snap(const char *dir, char guid[PRLD_GUID_LEN + 1])
{
	struct prld_err err = { 0 };

	if (prld_snapshot(dir, guid, &err)) {
		printf("# snapshot %s: %s\n", dir, err.msg);
		bail_out("snapshot");
	}
	return 0;
}

static void scribble(const char *dir, uint8_t *ref, unsigned int n)
{
	struct prld_disk *d = open_disk(dir, RW, 0);

	if (!d)
		bail_out(dir);
	random_writes(d, ref, DISK_BYTES, n, 3 * CL_BYTES);
	if (prld_close(d, NULL))
		bail_out("close");
}

/*
 * A chain base -> S[0] ... -> S[levels-1] -> top, random writes on every
 * level; @s gets each GUID's state, @g the snapshot GUIDs in order.
 */
static void build_chain(const char *dir, int fmt, unsigned int levels,
			uint64_t seed, struct states *s,
			char g[][PRLD_GUID_LEN + 1])
{
	struct prld_create_params p = {
		.size_sectors = DISK_SECTORS,
		.cluster_sectors = CL_SECTORS,
		.fmt = fmt,
	};
	struct prld_err err = { 0 };
	uint8_t *ref = calloc(1, DISK_BYTES);
	unsigned int i;

	if (!ref || prld_create_disk(dir, &p, &err))
		bail_out("create");
	rnd_seed(seed);
	s->n = 0;
	for (i = 0; i < levels; i++) {
		scribble(dir, ref, 12);
		snap(dir, g[i]);
		states_add(s, g[i], ref);
	}
	scribble(dir, ref, 12);
	states_add(s, PRLD_TOP_GUID, ref);
	free(ref);
}

static int del(const char *dir, const char *guid, struct prld_err *err)
{
	memset(err, 0, sizeof(*err));
	return prld_delete_snapshot(dir, guid, err);
}

/* ---- merges of every position --------------------------------------- */

static void test_chain(int fmt)
{
	char g[4][PRLD_GUID_LEN + 1], *dir = tpath("chain-v%d", fmt);
	const char *tag = fmt == PRLD_FMT_V1 ? "v1" : "v2";
	struct prld_err err;
	struct states s;
	char what[64];
	/* middle, root, the one just below the top */
	const unsigned int order[3] = { 1, 0, 2 };
	unsigned int k, files;

	build_chain(dir, fmt, 3, 1234 + fmt, &s, g);
	states_match(dir, &s, NULL, tag);
	check_clean(dir, tag);
	for (k = 0; k < 3; k++) {
		char *child;

		snprintf(what, sizeof(what), "%s: delete S%u", tag,
			 order[k] + 1);
		files = count_files(dir);
		is_int(del(dir, g[order[k]], &err), 0, "%s: exit 0 (%s)",
		       what, err.msg);
		states_drop(&s, g[order[k]]);
		states_match(dir, &s, NULL, what);
		desc_names(dir, &s, what);
		is_int(count_files(dir), files - 1, "%s: one file fewer",
		       what);
		check_clean(dir, what);
		child = tpath("chain-v%d/DiskDescriptor.xml.merge", fmt);
		ok(access(child, F_OK) < 0, "%s: no journal left", what);
	}
	/* Only the top is left, in the base's file. */
	{
		struct prld_desc *d = load_desc(dir);

		ok(d && d->nimages == 1 && !strcmp(d->images[0].file,
						    "root.hds") &&
		   !strcmp(d->images[0].guid, PRLD_TOP_GUID) &&
		   !strcmp(d->shots[0].parent, PRLD_ZERO_GUID),
		   "%s: the top lives in root.hds now, parent zero", tag);
		desc_free(d);
		ok(disk_equals(dir, s.data[0], DISK_BYTES),
		   "%s: prld_open reads the top's state", tag);
		is_int(hdr32(tpath("chain-v%d/root.hds", fmt), PRLD_OFF_INUSE),
		       0, "%s: in-use flag clear", tag);
	}
	states_free(&s);
}

/* ---- leaves, branches, refusals ------------------------------------- */

static void test_tree_and_refusals(void)
{
	char g[3][PRLD_GUID_LEN + 1], leaf[PRLD_GUID_LEN + 1];
	char *dir = tpath("tree");
	struct prld_err err;
	struct states s;
	struct prld_disk *w;
	uint8_t *ref;
	int fd, ret;

	build_chain(dir, 0, 2, 77, &s, g);
	/* S2's state stays as a leaf: snapshot, then revert to S1. */
	snap(dir, leaf);
	ref = state_read(dir, PRLD_TOP_GUID);
	states_drop(&s, PRLD_TOP_GUID);
	states_add(&s, leaf, ref);
	free(ref);
	if (prld_revert(dir, g[1], &err))
		bail_out("revert");
	ref = state_read(dir, PRLD_TOP_GUID);
	states_add(&s, PRLD_TOP_GUID, ref);
	free(ref);
	/* g[0] -> g[1] -> { leaf, top } */
	states_match(dir, &s, NULL, "tree");

	ret = del(dir, g[1], &err);
	is_int(ret, -ENOTEMPTY, "two children: -ENOTEMPTY");
	like(err.msg, "has 2 child snapshots", "... says how many");
	like(err.msg, leaf, "... names the leaf");
	like(err.msg, PRLD_TOP_GUID, "... names the top");

	ret = del(dir, PRLD_TOP_GUID, &err);
	is_int(ret, -EINVAL, "the top: -EINVAL");
	like(err.msg, "is the current top", "... says so");
	ret = del(dir, "{01234567-89ab-cdef-0123-456789abcdef}", &err);
	is_int(ret, -ENOENT, "unknown GUID: -ENOENT");
	like(err.msg, "no snapshot {01234567-89ab-cdef-0123-456789abcdef}",
	     "... names it");
	ret = del(dir, "nonsense", &err);
	is_int(ret, -EINVAL, "malformed GUID: -EINVAL");
	like(err.msg, "'nonsense' is not a snapshot GUID", "... quotes it");
	ret = del(dir, NULL, &err);
	is_int(ret, -EINVAL, "NULL GUID: -EINVAL");

	/* In use: a lock on the top, a writer, a reader. */
	{
		struct prld_desc *d = load_desc(dir);
		int ti = -1;
		unsigned int i;

		for (i = 0; d && i < d->nimages; i++)
			if (!strcmp(d->images[i].guid, PRLD_TOP_GUID))
				ti = (int)i;
		fd = ti < 0 ? -1 : open(tpath("tree/%s", d->images[ti].file),
					O_RDONLY);
		desc_free(d);
	}
	ok(fd >= 0 && flock(fd, LOCK_EX) == 0, "lock the top like a device");
	ret = del(dir, leaf, &err);
	is_int(ret, -EBUSY, "top locked: -EBUSY");
	like(err.msg, "through the prld device", "... says offline or through a device");
	close(fd);
	w = open_disk(dir, RW, 0);
	is_int(del(dir, g[0], &err), -EBUSY, "open by a writer: -EBUSY");
	prld_close(w, NULL);
	w = open_disk(dir, PRLD_OPEN_READ, 0);
	is_int(del(dir, g[0], &err), -EBUSY, "open by a reader: -EBUSY");
	prld_close(w, NULL);
	/* A lower image locked for writing by someone else. */
	fd = open(tpath("tree/root.hds"), O_RDONLY);
	ok(fd >= 0 && flock(fd, LOCK_SH) == 0, "share-lock the base");
	is_int(del(dir, g[0], &err), -EBUSY, "base locked: -EBUSY");
	like(err.msg, "in use", "... says in use");
	close(fd);
	states_match(dir, &s, NULL, "after the refusals");
	ok(access(tpath("tree/DiskDescriptor.xml.merge"), F_OK) < 0,
	   "refusals leave no journal");

	/* The leaf goes: descriptor, then file. */
	is_int(del(dir, leaf, &err), 0, "delete the leaf (%s)", err.msg);
	ok(access(tpath("tree/root.hds.%s", g[1]), F_OK) < 0,
	   "leaf's file removed");
	states_drop(&s, leaf);
	states_match(dir, &s, NULL, "after the leaf");
	desc_names(dir, &s, "after the leaf");
	check_clean(dir, "after the leaf");
	is_int(del(dir, leaf, &err), -ENOENT, "deleted leaf is gone");

	/* A dirty image is refused until repaired. */
	put32(tpath("tree/root.hds"), PRLD_OFF_INUSE, PRLD_INUSE_MAGIC);
	is_int(del(dir, g[0], &err), -EUCLEAN, "dirty snapshot: -EUCLEAN");
	like(err.msg, "check --repair", "... says to repair");
	put32(tpath("tree/root.hds"), PRLD_OFF_INUSE, 0);

	/* Upper-case GUID works too. */
	{
		char up[PRLD_GUID_LEN + 1];
		unsigned int i;

		for (i = 0; i <= PRLD_GUID_LEN; i++)
			up[i] = (char)toupper((unsigned char)g[0][i]);
		is_int(del(dir, up, &err), 0, "upper-case GUID accepted (%s)",
		       err.msg);
	}
	states_drop(&s, g[0]);
	states_match(dir, &s, NULL, "after merging the root");
	check_clean(dir, "after merging the root");

	/* Bare image and a directory without descriptor. */
	{
		struct prld_create_params p = { .size_sectors = 2048 };

		prld_create_image(tpath("bare.hds"), &p, &err);
		is_int(del(tpath("bare.hds"), g[1], &err), -EINVAL,
		       "bare image: -EINVAL");
		like(err.msg, "bare image", "... says why");
		mkdir(tpath("empty"), 0755);
		is_int(del(tpath("empty"), g[1], &err), -ENOENT,
		       "no descriptor: -ENOENT");
	}
	states_free(&s);
}

/* Three children: all three named. */
static void test_three_children(void)
{
	char g[1][PRLD_GUID_LEN + 1], a[PRLD_GUID_LEN + 1], b[PRLD_GUID_LEN + 1];
	char *dir = tpath("three");
	struct prld_err err = { 0 };
	struct states s;

	build_chain(dir, 0, 1, 5, &s, g);
	snap(dir, a);
	if (prld_revert(dir, g[0], &err))
		bail_out("revert");
	snap(dir, b);
	if (prld_revert(dir, g[0], &err))
		bail_out("revert");
	is_int(del(dir, g[0], &err), -ENOTEMPTY, "three children: -ENOTEMPTY");
	like(err.msg, "has 3 child snapshots", "... counts them");
	like(err.msg, a, "... names the first");
	like(err.msg, b, "... names the second");
	like(err.msg, PRLD_TOP_GUID, "... names the top");
	states_free(&s);
}

/* ---- the job API ---------------------------------------------------- */

struct seen {
	unsigned int calls;
	uint64_t last_done, total;
	bool monotonic;
};

static void record(uint64_t done, uint64_t total, void *ctx)
{
	struct seen *s = ctx;

	if (s->calls && (done < s->last_done || total != s->total))
		s->monotonic = false;
	s->calls++;
	s->last_done = done;
	s->total = total;
}

static void test_job(void)
{
	char g[2][PRLD_GUID_LEN + 1], *dir = tpath("job");
	struct seen seen = { .monotonic = true };
	struct prld_err err = { 0 };
	struct prld_job *job = NULL;
	struct prld_desc *d;
	struct states s;
	uint64_t mapped = 0;
	char *top;
	int ret;
	uint32_t i;

	build_chain(dir, 0, 2, 99, &s, g);
	/* The clusters the top maps: what the merge of g[1] copies. */
	d = load_desc(dir);
	for (i = 0; d && i < d->nimages; i++)
		if (!strcmp(d->images[i].guid, PRLD_TOP_GUID))
			break;
	top = strdup(tpath("job/%s", d->images[i].file));
	desc_free(d);
	{
		struct prld_image *img;

		if (image_open(top, PRLD_LAYER_EXPANDING, false, DISK_SECTORS,
			       CL_SECTORS, &img, &err))
			bail_out("open top");
		mapped = img->allocated;
		image_close(img, NULL);
	}
	ret = prld_merge_start(dir, g[1], &job, &err);
	is_int(ret, 0, "merge_start (%s)", err.msg);
	is_int(prld_job_set_pace(job, 0), -EINVAL, "pace 0: -EINVAL");
	is_int(prld_job_set_pace(job, 101), -EINVAL, "pace 101: -EINVAL");
	is_int(prld_job_set_pace(job, 60), 0, "pace 60%%: taken");
	ret = job ? prld_job_wait(job, record, &seen, &err) : -1;
	is_int(ret, 0, "job_wait: 0 (%s)", err.msg);
	ok(seen.calls >= 1, "progress reported (%u calls)", seen.calls);
	ok(seen.monotonic, "done never goes back, total never changes");
	is_int(seen.total, mapped, "total = clusters the child maps");
	is_int(seen.last_done, seen.total, "last report: done = total");
	is_int(prld_job_wait(job, NULL, NULL, &err), 0,
	       "waiting again returns the result again");
	prld_job_free(job);
	states_drop(&s, g[1]);
	states_match(dir, &s, NULL, "job");

	/* Freed without a wait: still completes. */
	job = NULL;
	is_int(prld_merge_start(dir, g[0], &job, &err), 0, "start again");
	prld_job_free(job);
	states_drop(&s, g[0]);
	states_match(dir, &s, NULL, "job freed unwaited");
	check_clean(dir, "job freed unwaited");
	prld_job_free(NULL);
	free(top);
	states_free(&s);
}

/* ---- crashes -------------------------------------------------------- */

/*
 * The one image of descriptor @rel (under the scratch directory) typed
 * Plain, as ploop's raw-base disks are.
 */
static void desc_make_plain(const char *rel)
{
	static const char from[] = "<Type>Compressed</Type>";
	uint64_t len;
	char *desc = slurp(tpath("%s", rel), &len);
	char *t = desc ? strstr(desc, from) : NULL;
	char *out;
	int fd;

	if (!t || asprintf(&out, "%.*s<Type>Plain</Type>%s", (int)(t - desc),
			   desc, t + strlen(from)) < 0)
		bail_out("desc");
	fd = open(tpath("%s", rel), O_WRONLY | O_TRUNC);
	if (fd < 0 || prld_pwrite_full(fd, out, strlen(out), 0))
		bail_out("desc");
	close(fd);
	free(out);
	free(desc);
}

struct crash_op {
	const char *dir, *guid;	/* guid NULL: check --repair instead */
};

static void crash_op_run(const void *ctx)
{
	const struct crash_op *op = ctx;
	struct prld_report rep;
	struct prld_err err = { 0 };

	if (op->guid)
		prld_delete_snapshot(op->dir, op->guid, &err);
	else if (prld_check(op->dir, true, &rep, &err) == 0)
		prld_report_free(&rep);
}

/*
 * In a child: delete @guid of @dir (@how 0) or repair @dir (@how 1), and
 * die at @step; its exit status.
 */
static int crash_at(const char *dir, const char *guid, const char *step,
		    int how)
{
	struct crash_op op = { dir, how == 0 ? guid : NULL };

	return crash_in_child("PRLD_TEST_MERGE_CRASH", step, crash_op_run,
			      &op);
}

static bool pending_reported(const char *dir)
{
	struct prld_report rep;
	struct prld_err err = { 0 };
	bool found = false;
	unsigned int i;

	if (prld_check(dir, false, &rep, &err))
		return false;
	for (i = 0; i < rep.count; i++)
		if (strstr(rep.items[i].msg, "unfinished") &&
		    rep.items[i].severity == PRLD_SEV_CORRUPT)
			found = true;
	found = found && prld_report_exit_status(&rep) == 2;
	prld_report_free(&rep);
	return found;
}

/* Recover by way @way: check --repair, open for writing, a new delete. */
static int recover(const char *dir, int way, const char *other,
		   char *msg, size_t len)
{
	struct prld_report rep;
	struct prld_err err = { 0 };
	struct prld_disk *disk;
	unsigned int i;
	int ret;

	msg[0] = '\0';
	switch (way) {
	case 0:
		ret = prld_check(dir, true, &rep, &err);
		for (i = 0; !ret && i < rep.count; i++)
			if (rep.items[i].severity == PRLD_SEV_FIXED)
				snprintf(msg, len, "%s", rep.items[i].msg);
		if (!ret)
			prld_report_free(&rep);
		return ret;
	case 1:
		ret = prld_open(dir, RW, NULL, &disk, &err);
		if (!ret)
			ret = prld_close(disk, &err);
		return ret;
	default:
		/* A refused delete still finishes the old one first. */
		ret = prld_delete_snapshot(dir, other, &err);
		snprintf(msg, len, "%s", err.msg);
		return ret;
	}
}

static const char *const merge_steps[] = {
	"journal", "inuse", "copy:1", "copy:5", "copied", "switched",
	"unlinked", "closed",
};

/* A merge up (as on an attached device) has no in-use step on the snapshot. */
static const char *const up_steps[] = {
	"journal", "copy:1", "copy:4", "copied", "switched", "unlinked",
};

/*
 * Chain S1 -> S2 -> top; delete @victim (0: S1 with S2; 1: S2 with the
 * top), down or @up, crash at every step, recover each of the three
 * ways.  Until the switch a merge down leaves the victim's own state
 * mid-change; a merge up leaves every state as it was.
 */
static void test_crash_merge(unsigned int victim, bool up)
{
	const char *const *steps = up ? up_steps : merge_steps;
	unsigned int nsteps = up ? sizeof(up_steps) / sizeof(up_steps[0]) :
			      sizeof(merge_steps) / sizeof(merge_steps[0]);
	const char *how = up ? " up" : "";
	char g[2][PRLD_GUID_LEN + 1], msg[1100], what[96];
	struct states s, after;
	unsigned int k, way;
	int st, ret;

	for (k = 0; k < nsteps; k++) {
		char dir[512], journal[600];
		bool switched = !strcmp(steps[k], "switched") ||
				!strcmp(steps[k], "unlinked") ||
				!strcmp(steps[k], "closed");

		snprintf(dir, sizeof(dir), "%s",
			 tpath("crash-%u-%u%s", victim, k, up ? "-up" : ""));
		snprintf(journal, sizeof(journal), "%s/DiskDescriptor.xml.merge",
			 dir);
		way = k % 3;
		build_chain(dir, 0, 2, (up ? 700 : 500) + k, &s, g);
		states_copy(&after, &s);
		states_drop(&after, g[victim]);
		snprintf(what, sizeof(what), "crash at %s merging S%u%s",
			 steps[k], victim + 1, how);
		if (up)
			setenv("PRLD_TEST_MERGE_UP", "1", 1);
		st = crash_at(dir, g[victim], steps[k], 0);
		unsetenv("PRLD_TEST_MERGE_UP");
		is_int(st, CRASH_EXIT, "%s: the child died there", what);
		ok(access(journal, F_OK) == 0,
		   "%s: journal on disk", what);
		ok(pending_reported(dir),
		   "%s: check reports the unfinished merge (exit 2)", what);
		/* Every state reads as before meanwhile (down: not the victim's). */
		states_match(dir, switched ? &after : &s,
			     up ? NULL : g[victim], what);
		ret = recover(dir, way, way == 2 ? g[victim] : NULL, msg,
			      sizeof(msg));
		if (way == 0) {
			is_int(ret, 0, "%s: check --repair", what);
			like(msg, "finished the interrupted merge",
			     "%s: ... reports the merge finished", what);
		} else if (way == 1) {
			is_int(ret, 0, "%s: open for writing", what);
		} else {
			/* The finished merge took the victim's GUID with it. */
			is_int(ret, -ENOENT,
			       "%s: deleting it again finishes it, then finds it gone",
			       what);
		}
		ok(access(journal, F_OK) < 0,
		   "%s: journal gone", what);
		states_match(dir, &after, NULL, what);
		desc_names(dir, &after, what);
		is_int(count_files(dir), 3, "%s: descriptor + two images",
		       what);
		check_clean(dir, what);
		states_free(&s);
		states_free(&after);
	}
}

/* A crash while recovering: the next recovery still finishes. */
static void test_double_crash(void)
{
	char g[2][PRLD_GUID_LEN + 1], msg[1100];
	char *dir = tpath("double");
	struct states s;
	int st;

	build_chain(dir, 0, 2, 4242, &s, g);
	st = crash_at(dir, g[1], "copy:3", 0);
	is_int(st, CRASH_EXIT, "double: first crash mid-copy");
	st = crash_at(dir, NULL, "copy:2", 1);
	is_int(st, CRASH_EXIT, "double: check --repair dies mid-copy too");
	ok(pending_reported(dir), "double: still reported");
	st = crash_at(dir, NULL, "unlinked", 1);
	is_int(st, CRASH_EXIT, "double: and once more after the unlink");
	is_int(recover(dir, 0, NULL, msg, sizeof(msg)), 0,
	       "double: third repair finishes");
	like(msg, "after the descriptor switch", "double: ... from the last step");
	states_drop(&s, g[1]);
	states_match(dir, &s, NULL, "double");
	check_clean(dir, "double");
	states_free(&s);
}

/*
 * Died inside an allocation: P's file has a torn extension past its last
 * mapped cluster.  Recovery reuses the space; check finds no leak after.
 */
static void test_torn_tail(void)
{
	char g[2][PRLD_GUID_LEN + 1], msg[1100], *dir = tpath("torn");
	struct states s;
	uint8_t junk[CL_BYTES / 2];
	uint64_t size;

	build_chain(dir, 0, 2, 777, &s, g);
	is_int(crash_at(dir, g[0], "copy:2", 0), CRASH_EXIT,
	       "torn: crash merging S1");
	size = file_size(tpath("torn/root.hds"));
	memset(junk, 0xa5, sizeof(junk));
	is_int(write_bytes(tpath("torn/root.hds"), junk, sizeof(junk), size), 0,
	       "torn: half a cluster of junk after the end");
	states_match(dir, &s, g[0], "torn, before recovery");
	is_int(recover(dir, 0, NULL, msg, sizeof(msg)), 0, "torn: repaired");
	like(msg, "finished the interrupted merge", "torn: ... the merge finished");
	ok(file_size(tpath("torn/root.hds")) % CL_BYTES == 0,
	   "torn: file a whole number of clusters");
	states_drop(&s, g[0]);
	states_match(dir, &s, NULL, "torn");
	check_clean(dir, "torn");
	states_free(&s);
}

/* Snapshot and revert finish a pending merge before they change anything. */
static void test_crash_then_snapshot_ops(void)
{
	char g[2][PRLD_GUID_LEN + 1], n[PRLD_GUID_LEN + 1];
	char *dir = tpath("ops");
	struct prld_err err = { 0 };
	struct states s;
	int ret;

	build_chain(dir, 0, 2, 4343, &s, g);
	is_int(crash_at(dir, g[0], "copy:2", 0), CRASH_EXIT,
	       "ops: crash merging S1 into S2");
	ret = prld_revert(dir, g[0], &err);
	is_int(ret, -ENOENT, "ops: revert to the half-merged S1 finishes the merge, then finds S1 gone");
	ok(access(tpath("ops/DiskDescriptor.xml.merge"), F_OK) < 0,
	   "ops: journal gone");
	states_drop(&s, g[0]);
	states_match(dir, &s, NULL, "ops: after revert's recovery");
	is_int(crash_at(dir, g[1], "inuse", 0), CRASH_EXIT,
	       "ops: crash merging S2 into the top");
	is_int(prld_snapshot(dir, n, &err), 0, "ops: snapshot after the crash (%s)",
	       err.msg);
	states_drop(&s, g[1]);
	/* The old top's state is snapshot n's now; the new top reads the same. */
	memcpy(s.guid[s.n - 1], n, sizeof(n));
	states_add(&s, PRLD_TOP_GUID, s.data[s.n - 1]);
	states_match(dir, &s, NULL, "ops: after snapshot's recovery");
	desc_names(dir, &s, "ops");
	check_clean(dir, "ops");
	states_free(&s);
}

static void test_crash_leaf(void)
{
	static const char *const steps[] = { "journal", "switched",
					     "unlinked" };
	char g[2][PRLD_GUID_LEN + 1], leaf[PRLD_GUID_LEN + 1], msg[1100];
	struct prld_err err = { 0 };
	struct states s;
	unsigned int k;
	uint8_t *ref;

	for (k = 0; k < 3; k++) {
		char *dir = tpath("leaf-%u", k);

		build_chain(dir, 0, 2, 900 + k, &s, g);
		snap(dir, leaf);
		if (prld_revert(dir, g[1], &err))
			bail_out("revert");
		ref = state_read(dir, PRLD_TOP_GUID);
		states_drop(&s, PRLD_TOP_GUID);
		states_add(&s, PRLD_TOP_GUID, ref);
		free(ref);
		is_int(crash_at(dir, leaf, steps[k], 0), CRASH_EXIT,
		       "leaf crash at %s: child died", steps[k]);
		ok(pending_reported(dir), "leaf crash at %s: reported",
		   steps[k]);
		is_int(recover(dir, k == 1 ? 1 : 0, NULL, msg, sizeof(msg)), 0,
		       "leaf crash at %s: recovered", steps[k]);
		ok(access(tpath("leaf-%u/root.hds.%s", k, g[1]), F_OK) < 0,
		   "leaf crash at %s: leaf file gone", steps[k]);
		states_match(dir, &s, NULL, "leaf crash");
		desc_names(dir, &s, "leaf crash");
		check_clean(dir, "leaf crash");
		states_free(&s);
	}
}

/*
 * Into an empty base (its EMPTY flag goes once it holds data) and into a
 * plain (raw) base, which is written in place.
 */
static void test_empty_and_plain(void)
{
	char g[PRLD_GUID_LEN + 1], *dir = tpath("empty-base");
	struct prld_err err = { 0 };
	struct states s = { 0 };
	uint8_t *ref = calloc(1, DISK_BYTES);
	int fd;

	if (!ref || create_disk_dir(dir, DISK_SECTORS, CL_SECTORS, false))
		bail_out("create");
	snap(dir, g);
	states_add(&s, g, ref);
	scribble(dir, ref, 10);
	states_add(&s, PRLD_TOP_GUID, ref);
	ok(hdr32(tpath("empty-base/root.hds"), PRLD_OFF_FLAGS) & PRLD_FLAG_EMPTY,
	   "empty base: EMPTY flag set before");
	is_int(del(dir, g, &err), 0, "empty base: merged (%s)", err.msg);
	states_drop(&s, g);
	states_match(dir, &s, NULL, "empty base");
	is_int(hdr32(tpath("empty-base/root.hds"), PRLD_OFF_FLAGS) &
	       PRLD_FLAG_EMPTY, 0, "empty base: EMPTY flag cleared");
	check_clean(dir, "empty base");
	states_free(&s);

	/* A plain base: raw bytes, <Type>Plain</Type>. */
	dir = tpath("plain-base");
	if (create_disk_dir(dir, DISK_SECTORS, CL_SECTORS, false))
		bail_out("create");
	fill_random(ref, DISK_BYTES);
	fd = open(tpath("plain-base/root.hds"), O_WRONLY | O_TRUNC);
	if (fd < 0 || prld_pwrite_full(fd, ref, DISK_BYTES, 0))
		bail_out("plain");
	close(fd);
	desc_make_plain("plain-base/DiskDescriptor.xml");
	snap(dir, g);
	states_add(&s, g, ref);
	scribble(dir, ref, 10);
	states_add(&s, PRLD_TOP_GUID, ref);
	is_int(del(dir, g, &err), 0, "plain base: merged (%s)", err.msg);
	states_drop(&s, g);
	ok(disk_equals(dir, ref, DISK_BYTES), "plain base: top reads as before");
	is_int(file_size(tpath("plain-base/root.hds")), DISK_BYTES,
	       "plain base: still exactly the disk's size");
	{
		struct prld_desc *d = load_desc(dir);

		ok(d && d->nimages == 1 && d->images[0].kind == PRLD_LAYER_PLAIN &&
		   !strcmp(d->images[0].guid, PRLD_TOP_GUID),
		   "plain base: the top is the plain image now");
		desc_free(d);
	}
	check_clean(dir, "plain base");
	states_free(&s);
	free(ref);
}

/*
 * A resized disk: the lower images are smaller than the top.  Merging a
 * larger child grows the snapshot's image first; also across a crash
 * right before and right after the growth.
 */
static void test_resized(void)
{
	static const char *const steps[] = { NULL, "inuse", "grown", "copy:1" };
	const uint64_t big = 2ULL * DISK_BYTES;
	char g[PRLD_GUID_LEN + 1], msg[1100];
	struct prld_err err = { 0 };
	uint8_t *ref = calloc(1, big), *got = malloc(big);
	unsigned int k;

	if (!ref || !got)
		bail_out("malloc");
	for (k = 0; k < 4; k++) {
		char *dir = tpath("resized-%u", k);
		struct prld_disk *d;

		memset(ref, 0, big);
		rnd_seed(60 + k);
		if (create_disk_dir(dir, DISK_SECTORS, CL_SECTORS, false))
			bail_out("create");
		scribble(dir, ref, 8);
		snap(dir, g);
		if (prld_resize(dir, big, &err)) {
			printf("# resize: %s\n", err.msg);
			bail_out("resize");
		}
		d = open_disk(dir, RW, 0);
		if (!d)
			bail_out("open");
		random_writes(d, ref, big, 12, 3 * CL_BYTES);
		prld_close(d, NULL);
		if (steps[k]) {
			is_int(crash_at(dir, g, steps[k], 0), CRASH_EXIT,
			       "resized, crash at %s: died", steps[k]);
			is_int(recover(dir, k % 2, NULL, msg, sizeof(msg)), 0,
			       "resized, crash at %s: recovered", steps[k]);
		} else {
			is_int(del(dir, g, &err), 0,
			       "resized: merge the small base's child (%s)",
			       err.msg);
		}
		d = open_disk(dir, PRLD_OPEN_READ, 0);
		ok(d && prld_pread(d, got, big, 0, NULL) == 0 &&
		   !memcmp(got, ref, big), "resized %u: top reads as before", k);
		prld_close(d, NULL);
		is_int(hdr64(tpath("resized-%u/root.hds", k), PRLD_OFF_NB_SECTORS),
		       big / 512, "resized %u: root.hds grew to the top's size",
		       k);
		ok(access(tpath("resized-%u/DiskDescriptor.xml.merge", k),
			  F_OK) < 0, "resized %u: no journal", k);
		is_int(count_files(dir), 2, "resized %u: descriptor + one image",
		       k);
		check_clean(dir, "resized");
	}
	free(ref);
	free(got);
}

/* A journal that does not parse is reported and left for a human. */
static void test_bad_journal(void)
{
	char g[2][PRLD_GUID_LEN + 1], *dir = tpath("badj");
	struct prld_report rep;
	struct prld_err err = { 0 };
	struct states s;
	int fd;

	build_chain(dir, 0, 2, 31, &s, g);
	fd = open(tpath("badj/DiskDescriptor.xml.merge"),
		  O_WRONLY | O_CREAT, 0644);
	if (fd < 0 || write(fd, "garbage\n", 8) != 8)
		bail_out("journal");
	close(fd);
	ok(pending_reported(dir) == false, "bad journal: not an unfinished merge");
	is_int(prld_check(dir, false, &rep, &err), 0, "bad journal: check runs");
	is_int(prld_report_exit_status(&rep), 2, "bad journal: corrupt");
	like(rep.count ? rep.items[0].msg : "", "malformed merge journal",
	     "bad journal: says so");
	prld_report_free(&rep);
	is_int(del(dir, g[0], &err), -EINVAL, "bad journal: delete refused");
	like(err.msg, "malformed merge journal", "bad journal: ... says why");
	states_match(dir, &s, NULL, "bad journal");
	states_free(&s);
}

/* ---- merging up (as on an attached device), offline ------------------ */

/* The <File> of @guid in @dir's descriptor ("" if none), malloc'd. */
static char *file_of(const char *dir, const char *guid)
{
	struct prld_desc *d = load_desc(dir);
	int i = d ? desc_find_image(d, guid) : -1;
	char *f = strdup(i >= 0 ? d->images[i].file : "");

	desc_free(d);
	return f;
}

/*
 * Every position of a V1 and a V2 chain merged up: the child keeps its
 * GUID and its file, the snapshot's file goes, every other state reads
 * the same; the progress total is the clusters the snapshot holds.
 */
static void test_up_chain(int fmt)
{
	char g[3][PRLD_GUID_LEN + 1], *dir = tpath("up-v%d", fmt);
	const char *tag = fmt == PRLD_FMT_V1 ? "up v1" : "up v2";
	const unsigned int order[3] = { 1, 0, 2 };
	struct prld_err err = { 0 };
	char what[64], *sfile, *cfile, *cfile2;
	struct seen seen = { .monotonic = true };
	struct prld_job *job = NULL;
	struct states s;
	unsigned int k;

	setenv("PRLD_TEST_MERGE_UP", "1", 1);
	build_chain(dir, fmt, 3, 3100 + fmt, &s, g);
	for (k = 0; k < 3; k++) {
		const char *child = order[k] == 2 ? PRLD_TOP_GUID :
				    g[order[k] + 1];

		snprintf(what, sizeof(what), "%s: S%u up", tag, order[k] + 1);
		sfile = file_of(dir, g[order[k]]);
		cfile = file_of(dir, child);
		seen = (struct seen){ .monotonic = true };
		is_int(prld_merge_start(dir, g[order[k]], &job, &err), 0,
		       "%s: started (%s)", what, err.msg);
		is_int(job ? prld_job_wait(job, record, &seen, &err) : -1, 0,
		       "%s: done (%s)", what, err.msg);
		prld_job_free(job);
		ok(seen.monotonic && seen.last_done == seen.total &&
		   seen.total > 0, "%s: progress up to %llu clusters", what,
		   (unsigned long long)seen.total);
		states_drop(&s, g[order[k]]);
		states_match(dir, &s, NULL, what);
		desc_names(dir, &s, what);
		cfile2 = file_of(dir, child);
		ok(!strcmp(cfile2, cfile), "%s: the child keeps its file %s",
		   what, cfile);
		ok(access(tpath("up-v%d/%s", fmt, sfile), F_OK) < 0,
		   "%s: the snapshot's file is gone", what);
		check_clean(dir, what);
		free(sfile);
		free(cfile);
		free(cfile2);
	}
	/* The base went up into an old delta: new names do not grow. */
	{
		char n[PRLD_GUID_LEN + 1], want[80];

		snap(dir, n);
		sfile = file_of(dir, PRLD_TOP_GUID);
		snprintf(want, sizeof(want), "root.hds.%s", n);
		ok(!strcmp(sfile, want), "%s: a new delta is named %s (%s)",
		   tag, want, sfile);
		free(sfile);
	}
	unsetenv("PRLD_TEST_MERGE_UP");
	states_free(&s);
}

/* A plain (raw) base merged up into its child: the child becomes the base. */
static void test_up_plain(void)
{
	char g[PRLD_GUID_LEN + 1], *dir = tpath("up-plain");
	struct prld_err err = { 0 };
	uint8_t *ref = calloc(1, DISK_BYTES);
	struct prld_desc *d;
	int fd;

	if (!ref || create_disk_dir(dir, DISK_SECTORS, CL_SECTORS, false))
		bail_out("create");
	fill_random(ref, DISK_BYTES);
	/* Half the raw base a hole: nothing to take there. */
	memset(ref + DISK_BYTES / 2, 0, DISK_BYTES / 2);
	fd = open(tpath("up-plain/root.hds"), O_WRONLY | O_TRUNC);
	if (fd < 0 || prld_pwrite_full(fd, ref, DISK_BYTES / 2, 0) ||
	    ftruncate(fd, DISK_BYTES))
		bail_out("plain");
	close(fd);
	desc_make_plain("up-plain/DiskDescriptor.xml");
	snap(dir, g);
	scribble(dir, ref, 10);
	setenv("PRLD_TEST_MERGE_UP", "1", 1);
	is_int(del(dir, g, &err), 0, "plain base up: merged (%s)", err.msg);
	unsetenv("PRLD_TEST_MERGE_UP");
	ok(disk_equals(dir, ref, DISK_BYTES), "plain base up: reads as before");
	ok(access(tpath("up-plain/root.hds"), F_OK) < 0,
	   "plain base up: the raw file is gone");
	d = load_desc(dir);
	ok(d && d->nimages == 1 && d->images[0].kind == PRLD_LAYER_EXPANDING &&
	   !strcmp(d->shots[0].parent, PRLD_ZERO_GUID),
	   "plain base up: the delta is the base now");
	desc_free(d);
	{
		struct prld_image *img = NULL;
		char *f = file_of(dir, PRLD_TOP_GUID);
		char *p = tpath("up-plain/%s", f);
		uint64_t n = 0;

		if (image_open(p, PRLD_LAYER_EXPANDING, false, DISK_SECTORS,
			       CL_SECTORS, &img, &err) == 0)
			n = img->allocated;
		ok(n && n <= DISK_BYTES / CL_BYTES / 2 + 10,
		   "plain base up: the hole was not copied (%llu clusters)",
		   (unsigned long long)n);
		image_close(img, NULL);
		free(f);
	}
	check_clean(dir, "plain base up");
	free(ref);
}

int main(void)
{
	tmpdir_make("merge");
	test_chain(PRLD_FMT_V2);
	test_chain(PRLD_FMT_V1);
	test_tree_and_refusals();
	test_three_children();
	test_job();
	test_crash_merge(0, false);
	test_crash_merge(1, false);
	test_double_crash();
	test_torn_tail();
	test_crash_then_snapshot_ops();
	test_crash_leaf();
	test_empty_and_plain();
	test_resized();
	test_bad_journal();
	test_up_chain(PRLD_FMT_V2);
	test_up_chain(PRLD_FMT_V1);
	test_crash_merge(0, true);
	test_crash_merge(1, true);
	test_up_plain();
	ok(tmpdir_remove() == 0, "scratch directory removed");
	return tap_done();
}
