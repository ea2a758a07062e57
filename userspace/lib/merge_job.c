// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * merge_job.c - a delete runs in a worker thread (struct prld_job):
 * prld_merge_start refuses what it can before the thread starts,
 * prld_job_wait() waits for it and reports (done, total) clusters from the
 * caller's thread, prld_delete_snapshot does both.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"

struct prld_job {
	struct merge m;
	pthread_t thread;
	bool started, joined;
};

static void *job_main(void *arg)
{
	struct merge *m = arg;
	struct prld_err err = { 0 };
	int ret;

	ret = merge_run(m, &err);
	if (ret && m->journaled) {
		size_t n = strlen(err.msg);

		snprintf(err.msg + n, sizeof(err.msg) - n,
			 "; the delete is recorded in %s: `prldctl check --repair` finishes it",
			 m->journal);
	}
	/* Everything closed (locks released) before waiters hear of it. */
	merge_release(m);
	pthread_mutex_lock(&m->mu);
	m->result = ret;
	m->err = err;
	m->finished = true;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

static void job_destroy(struct prld_job *job)
{
	merge_fini(&job->m);
	free(job);
}

int prld_merge_start(const char *dir, const char *guid,
		     struct prld_job **out, struct prld_err *err)
{
	struct prld_job *job;
	struct merge *m;
	char *dp;
	int ret;

	*out = NULL;
	/* A device: the disk it is attached from (the top's directory). */
	ret = prld_is_device(dir) ? kdev_desc_path(dir, &dp, err) :
				    desc_locate(dir, MERGE_NEED, &dp, err);
	if (ret)
		return ret;
	job = calloc(1, sizeof(*job));
	if (!job) {
		free(dp);
		return prld_set_err(err, -ENOMEM, "out of memory");
	}
	m = &job->m;
	ret = merge_init(m, dp, err);
	if (!ret)
		ret = merge_prepare(m, dp, guid, err);
	free(dp);
	if (!ret) {
		ret = -pthread_create(&job->thread, NULL, job_main, m);
		if (ret)
			prld_set_err(err, ret, "cannot start the merge: %s",
				     strerror(-ret));
	}
	if (ret) {
		job_destroy(job);
		return ret;
	}
	job->started = true;
	*out = job;
	return 0;
}

int prld_job_set_pace(struct prld_job *job, unsigned int percent)
{
	if (!percent || percent > 100)
		return -EINVAL;
	pthread_mutex_lock(&job->m.mu);
	job->m.pace = percent;
	pthread_mutex_unlock(&job->m.mu);
	return 0;
}

int prld_job_wait(struct prld_job *job, prld_progress_fn cb, void *ctx,
		  struct prld_err *err)
{
	struct merge *m = &job->m;
	uint64_t done = 0, total = 0;
	bool finished = false, counted = false;
	int ret;

	while (!finished) {
		pthread_mutex_lock(&m->mu);
		while (!m->finished && m->done == done &&
		       m->counted == counted)
			pthread_cond_wait(&m->cv, &m->mu);
		finished = m->finished;
		counted = m->counted;
		done = m->done;
		total = m->total;
		pthread_mutex_unlock(&m->mu);
		if (cb && counted && (!finished || m->result == 0))
			cb(done, total, ctx);
	}
	if (!job->joined) {
		pthread_join(job->thread, NULL);
		job->joined = true;
	}
	ret = m->result;
	if (ret && err)
		*err = m->err;
	return ret;
}

void prld_job_free(struct prld_job *job)
{
	if (!job)
		return;
	if (job->started && !job->joined)
		pthread_join(job->thread, NULL);
	job_destroy(job);
}

int prld_delete_snapshot(const char *dir, const char *guid,
			 struct prld_err *err)
{
	struct prld_job *job;
	int ret = prld_merge_start(dir, guid, &job, err);

	if (ret)
		return ret;
	ret = prld_job_wait(job, NULL, NULL, err);
	prld_job_free(job);
	return ret;
}
