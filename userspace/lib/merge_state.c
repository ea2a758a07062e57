// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * merge_state.c - the life of a struct merge: set up, the disk's locks
 * (the directory's flock, and the top's exclusive one or the device that
 * holds it, taken on the model they were loaded for), progress, the
 * release of everything it holds, and the crash points the tests use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
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
	if (prld_test_step_is(m->crash, step, k))
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

/*
 * The top's exclusive flock; if a prld device holds it, that device
 * instead (the delete then goes through it, merge_online.c).
 */
static int lock_top(struct merge *m, struct prld_err *err)
{
	const struct prld_desc *d = m->d;
	char *real;
	int fd, found;

	m->top_path = desc_file_path(d, top_file(d));
	if (!m->top_path)
		return prld_set_err(err, -ENOMEM, "out of memory");
	fd = desc_lock_top(m->top_path,
			   "snapshots are deleted offline or through the prld device the disk is attached as: ",
			   err);
	m->lock_fd = fd < 0 ? -1 : fd;
	if (fd != -EBUSY)
		return fd < 0 ? fd : 0;
	real = realpath(m->top_path, NULL);
	found = real ? kdev_find_by_top(real, m->device, sizeof(m->device),
					NULL) : 0;
	free(real);
	if (found != 1) {
		m->device[0] = '\0';
		return fd;	/* not a device: lock_top's message stands */
	}
	if (err)
		memset(err, 0, sizeof(*err));
	return 0;
}

void merge_unlock(struct merge *m)
{
	if (m->lock_fd >= 0)
		close(m->lock_fd);
	if (m->dir_fd >= 0)
		close(m->dir_fd);
	m->lock_fd = m->dir_fd = -1;
	m->device[0] = '\0';
	free(m->top_path);
	m->top_path = NULL;
	desc_free(m->d);
	m->d = NULL;
}

/*
 * The directory's lock (every change of an attached disk's tree takes
 * it), then load, lock the top (or find the device holding it), load
 * again: the model must be the locked one's.
 */
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
		if (!ret && m->dir_fd < 0) {
			m->dir_fd = desc_lock_dir(m->d->dir, err);
			ret = m->dir_fd < 0 ? m->dir_fd : 0;
		}
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
		merge_unlock(m);
	}
	return prld_set_err(err, -EBUSY,
			    "%s: the descriptor keeps changing (concurrent snapshots); try again",
			    desc_path);
}

void merge_progress(struct merge *m, uint64_t done)
{
	pthread_mutex_lock(&m->mu);
	m->done = done;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

void merge_pace(struct merge *m, struct timespec *mark)
{
	struct timespec now, rest;
	unsigned int pace;
	uint64_t busy_ns;

	pthread_mutex_lock(&m->mu);
	pace = m->pace;
	pthread_mutex_unlock(&m->mu);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (pace && pace < 100 && mark->tv_sec) {
		busy_ns = (uint64_t)(now.tv_sec - mark->tv_sec) * 1000000000 +
			  (uint64_t)now.tv_nsec - (uint64_t)mark->tv_nsec;
		busy_ns = busy_ns * (100 - pace) / pace;
		rest.tv_sec = (time_t)(busy_ns / 1000000000);
		rest.tv_nsec = (long)(busy_ns % 1000000000);
		nanosleep(&rest, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
	}
	*mark = now;
}

void merge_set_total(struct merge *m, uint64_t total)
{
	pthread_mutex_lock(&m->mu);
	m->total = total;
	m->counted = true;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

void merge_release(struct merge *m)
{
	if (m->pimg)
		image_close(m->pimg, NULL);
	if (m->cimg)
		image_close(m->cimg, NULL);
	if (m->simg)
		image_close(m->simg, NULL);
	m->pimg = m->cimg = m->simg = NULL;
	free(m->cbat);
	free(m->sbat);
	m->cbat = m->sbat = NULL;
	if (m->dev_fd >= 0)
		close(m->dev_fd);
	m->dev_fd = -1;
	merge_unlock(m);
	free(m->journal);
	free(m->sfile);
	free(m->cfile);
	free(m->spath);
	free(m->cpath);
	m->journal = m->sfile = m->cfile = NULL;
	m->spath = m->cpath = NULL;
}

int merge_init(struct merge *m, const char *desc_path, struct prld_err *err)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	m->lock_fd = m->dir_fd = m->dev_fd = m->slayer = -1;
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
