// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldctl delete-snapshot: remove a snapshot, merging it with its one
 * child if it has one (the SDK's delete + WaitForCompletion): offline, or
 * on an attached disk (a DIR attached, or /dev/prldN) through the device,
 * which stays mounted and written meanwhile.  Progress as merge_report.c
 * shows it.
 *
 * --background: the delete runs in a process of its own, detached from
 * the terminal; the command returns once that process has passed every
 * check (or says why it refused) and `prldctl wait` follows it through
 * the status file (merge_report.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tool.h"

/* The background process's status file, written as the copy goes. */
struct bg_status {
	int fd;
	const char *guid;
	int last_pct;
	uint64_t done, total;
};

static void bg_progress(uint64_t done, uint64_t total, void *ctx)
{
	struct bg_status *s = ctx;
	int pct = total ? (int)(done * 100 / total) : 100;

	s->done = done;
	s->total = total;
	if (pct == s->last_pct && done != total)
		return;
	s->last_pct = pct;
	merge_status_write(s->fd, s->guid, done, total, NULL, NULL);
}

/* The start's outcome, from the background process to the command. */
struct bg_start {
	int ret;
	char msg[sizeof(((struct prld_err *)0)->msg)];
};

/*
 * In the detached process: start the delete, tell the command how that
 * went through @pipe_fd, then run it to the end, the status file locked
 * throughout.  Never returns.
 */
static void bg_run(const char *target, const char *guid, unsigned int pace,
		   int fd, int pipe_fd)
{
	struct bg_status s = { .fd = fd, .guid = guid, .last_pct = -1 };
	struct bg_start st = { 0 };
	struct prld_err err = { 0 };
	struct prld_job *job = NULL;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
	}
	merge_status_write(fd, guid, 0, 0, NULL, NULL);
	st.ret = prld_merge_start(target, guid, &job, &err);
	if (!st.ret)
		prld_job_set_pace(job, pace);
	snprintf(st.msg, sizeof(st.msg), "%s", err.msg);
	if (write(pipe_fd, &st, sizeof(st)) != (ssize_t)sizeof(st))
		st.ret = st.ret ? st.ret : -EPIPE;
	close(pipe_fd);
	if (!st.ret) {
		st.ret = prld_job_wait(job, bg_progress, &s, &err);
		prld_job_free(job);
	}
	merge_status_write(fd, guid, s.done, s.total, st.ret ? "error" : "ok",
			   st.ret ? err.msg : NULL);
	_exit(st.ret ? 1 : 0);
}

/* Fork twice (no zombie, no terminal), keep the status file locked. */
static int bg_spawn(const char *target, const char *guid, unsigned int pace,
		    int fd, struct bg_start *st)
{
	int p[2], status;
	pid_t pid;

	if (pipe(p) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		setsid();
		if (fork() == 0)
			bg_run(target, guid, pace, fd, p[1]);
		_exit(0);
	}
	close(p[1]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (pid < 0 || read(p[0], st, sizeof(*st)) != (ssize_t)sizeof(*st))
		st->ret = -ECHILD;
	close(p[0]);
	return 0;
}

static int run_background(const char *target, const char *guid,
			  unsigned int pace, bool json)
{
	struct bg_start st = { 0 };
	struct json_object *o;
	char *path = merge_status_path(target);
	int fd, ret;

	if (!path)
		return PRLDCTL_EXIT_FAIL;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ret = fail("%s: %s", path, fd < 0 ? strerror(errno) :
			   "a snapshot delete runs in the background already (prldctl wait)");
		free(path);
		return ret;
	}
	free(path);
	ret = bg_spawn(target, guid, pace, fd, &st);
	close(fd);	/* the background process keeps the lock */
	if (ret || st.ret)
		return fail("%s", ret ? strerror(-ret) :
			    st.msg[0] ? st.msg : "the background delete did not start");
	if (!json) {
		printf("deleting %s in the background: prldctl wait %s\n", guid,
		       target);
		return PRLDCTL_EXIT_OK;
	}
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("started"));
	json_object_object_add(o, "guid", json_object_new_string(guid));
	json_print(o);
	return PRLDCTL_EXIT_OK;
}

int cmd_delete_snapshot(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "background", no_argument, NULL, 'b' },
		{ "pace", required_argument, NULL, 'p' },
		{ 0 }
	};
	struct merge_output p;
	struct prld_err err = { 0 };
	struct prld_job *job;
	bool json = false, background = false;
	uint32_t pace = 100;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'b')
			background = true;
		else if (c != 'p' || parse_u32_arg("--pace", optarg, &pace))
			return c == 'p' ? PRLDCTL_EXIT_FAIL :
					  usage_error("bad option");
		if (!pace || pace > 100)
			return usage_error("--pace takes a percentage, 1 to 100");
	}
	if (optind != argc - 2)
		return usage_error("expected a snapshot GUID and a disk DIR or /dev/prldN");
	if (background)
		return run_background(argv[optind + 1], argv[optind], pace,
				      json);
	merge_output_init(&p, json);
	/*
	 * A merge cannot stop halfway (the snapshot's file already holds
	 * some of its child's clusters): Ctrl-C is noted and the merge
	 * finishes, so the disk is left clean.
	 */
	interrupt_catch();
	ret = prld_merge_start(argv[optind + 1], argv[optind], &job, &err);
	if (!ret) {
		prld_job_set_pace(job, pace);
		ret = prld_job_wait(job, merge_output_progress, &p, &err);
		prld_job_free(job);
	}
	return merge_output_end(&p, argv[optind], ret, err.msg);
}
