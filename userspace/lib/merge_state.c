// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * merge_state.c - the life of a struct merge: set up, the disk's lock
 * (the top's exclusive flock, taken on the model it was loaded for), the
 * release of everything it holds, and the crash points the tests use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "merge.h"

/*
 * Crash points exist only in test builds (PRLD_TEST_HOOKS: the tests'
 * archive and prldctl-test), never in the installed library, where no
 * environment variable may end its caller.
 */
#ifdef PRLD_TEST_HOOKS
#define CRASH_ENV	"PRLD_TEST_MERGE_CRASH"
#define CRASH_EXIT	86

static const char *crash_point(void)
{
	return getenv(CRASH_ENV);
}

void merge_crash(const struct merge *m, const char *step, uint64_t k)
{
	char buf[48];

	if (!m->crash)
		return;
	if (k)
		snprintf(buf, sizeof(buf), "%s:%llu", step,
			 (unsigned long long)k);
	else
		snprintf(buf, sizeof(buf), "%s", step);
	if (!strcmp(m->crash, buf))
		_exit(CRASH_EXIT);
}
#else
static const char *crash_point(void)
{
	return NULL;
}

void merge_crash(const struct merge *m, const char *step, uint64_t k)
{
	(void)m;
	(void)step;
	(void)k;
}
#endif

/* The top's <File> value (desc_load made sure TopGUID has an Image). */
static const char *top_file(const struct prld_desc *d)
{
	return d->images[desc_find_image(d, d->top_guid)].file;
}

static int lock_top(struct merge *m, struct prld_err *err)
{
	const struct prld_desc *d = m->d;
	int fd;

	m->top_path = desc_file_path(d, top_file(d));
	if (!m->top_path)
		return prld_set_err(err, -ENOMEM, "out of memory");
	fd = desc_lock_top(m->top_path,
			   "deleting snapshots works offline only: ", err);
	m->lock_fd = fd < 0 ? -1 : fd;
	return fd < 0 ? fd : 0;
}

/* Load, lock the top, load again: the model must be the locked one's. */
int merge_lock_disk(struct merge *m, const char *desc_path,
		    struct prld_err *err)
{
	struct prld_desc *now;
	int ret, tries;

	for (tries = 0; tries < 3; tries++) {
		ret = desc_load(desc_path, &m->d, err);
		if (!ret)
			ret = desc_single_storage(m->d, "deleting snapshots of",
						  err);
		if (!ret)
			ret = lock_top(m, err);
		if (ret)
			return ret;
		ret = desc_load(desc_path, &now, err);
		if (ret)
			return ret;
		if (!strcmp(now->top_guid, m->d->top_guid) &&
		    !strcmp(top_file(now), top_file(m->d))) {
			desc_free(m->d);
			m->d = now;
			return 0;
		}
		/* A snapshot or revert switched the top meanwhile. */
		desc_free(now);
		desc_free(m->d);
		m->d = NULL;
		close(m->lock_fd);
		m->lock_fd = -1;
		free(m->top_path);
		m->top_path = NULL;
	}
	return prld_set_err(err, -EBUSY,
			    "%s: the descriptor keeps changing (concurrent snapshots); try again",
			    desc_path);
}

void merge_release(struct merge *m)
{
	if (m->pimg)
		image_close(m->pimg, NULL);
	if (m->cimg)
		image_close(m->cimg, NULL);
	m->pimg = m->cimg = NULL;
	free(m->cbat);
	m->cbat = NULL;
	if (m->lock_fd >= 0)
		close(m->lock_fd);
	m->lock_fd = -1;
	desc_free(m->d);
	m->d = NULL;
	free(m->journal);
	free(m->top_path);
	free(m->sfile);
	free(m->cfile);
	free(m->spath);
	free(m->cpath);
	m->journal = m->top_path = m->sfile = m->cfile = NULL;
	m->spath = m->cpath = NULL;
}

int merge_init(struct merge *m, const char *desc_path, struct prld_err *err)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	m->lock_fd = -1;
	m->crash = crash_point();
	if (asprintf(&m->journal, "%s%s", desc_path, MERGE_JOURNAL_SUFFIX) < 0) {
		m->journal = NULL;
		return prld_set_err(err, -ENOMEM, "out of memory");
	}
	return 0;
}

void merge_fini(struct merge *m)
{
	merge_release(m);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
}
