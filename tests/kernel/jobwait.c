// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * jobwait - delete a snapshot through libprld's public job calls, as a
 * program using the library would: prld_merge_start on TARGET (a disk
 * directory or /dev/prldN), prld_job_set_pace, prld_job_wait with a
 * progress callback, prld_job_free.  Built against the installed-style
 * libprld.a, so only the public API is at hand.
 *
 *   jobwait TARGET GUID PACE
 *
 * Checks what a caller relies on: the pace rejects 0 and 101 with
 * -EINVAL, progress comes from the caller's thread with a fixed total
 * and a done that never goes back and ends at the total, and the wait
 * returns the job's result.  Prints "progress CALLS DONE TOTAL" and exits
 * 0, or prints why and exits 1.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "prld.h"

struct seen {
	pthread_t caller;
	unsigned long calls;
	uint64_t done, total;
	int bad;		/* a rule broken: which one, 0 none */
};

static void on_progress(uint64_t done, uint64_t total, void *ctx)
{
	struct seen *s = ctx;

	if (!pthread_equal(pthread_self(), s->caller))
		s->bad = s->bad ? s->bad : 1;
	if (s->calls && total != s->total)
		s->bad = s->bad ? s->bad : 2;
	if (done < s->done || done > total)
		s->bad = s->bad ? s->bad : 3;
	s->calls++;
	s->done = done;
	s->total = total;
}

static const char *const rule[] = {
	"", "progress from another thread", "the total changed",
	"done went back or past the total",
};

int main(int argc, char **argv)
{
	struct seen s = { .caller = pthread_self() };
	struct prld_err err = { 0 };
	struct prld_job *job;
	int ret;

	if (argc != 4) {
		fprintf(stderr, "usage: jobwait TARGET GUID PACE\n");
		return 2;
	}
	ret = prld_merge_start(argv[1], argv[2], &job, &err);
	if (ret) {
		printf("start: %d %s\n", ret, err.msg);
		return 1;
	}
	if (prld_job_set_pace(job, 0) != -EINVAL ||
	    prld_job_set_pace(job, 101) != -EINVAL) {
		printf("pace 0 or 101 accepted\n");
		prld_job_free(job);
		return 1;
	}
	ret = prld_job_set_pace(job, (unsigned int)atoi(argv[3]));
	if (!ret)
		ret = prld_job_wait(job, on_progress, &s, &err);
	prld_job_free(job);
	if (ret) {
		printf("wait: %d %s\n", ret, err.msg);
		return 1;
	}
	if (s.bad || !s.calls || s.done != s.total) {
		printf("progress: %s (%lu calls, %llu of %llu)\n",
		       s.bad ? rule[s.bad] : "did not end at the total",
		       s.calls, (unsigned long long)s.done,
		       (unsigned long long)s.total);
		return 1;
	}
	printf("progress %lu %llu %llu\n", s.calls,
	       (unsigned long long)s.done, (unsigned long long)s.total);
	return 0;
}
