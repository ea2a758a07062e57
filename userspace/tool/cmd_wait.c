// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldctl wait: follow a snapshot delete started with `delete-snapshot
 * --background` to its end, with delete-snapshot's own progress output,
 * and exit with its result, told once: the status file goes then.  The
 * background process holds an exclusive flock on the status file until
 * its last write (merge_report.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

static uint64_t json_num(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
	       (uint64_t)json_object_get_int64(v) : 0;
}

static const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
	       json_object_get_string(v) : NULL;
}

/* Until the background process lets go of the file: its progress. */
static void follow(int fd, struct merge_output *p)
{
	const struct timespec tick = { 0, 200 * 1000 * 1000 };
	struct json_object *o;

	while (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
		o = merge_status_read(fd);
		if (o && json_num(o, "total"))
			merge_output_progress(json_num(o, "done"),
					      json_num(o, "total"), p);
		json_object_put(o);
		nanosleep(&tick, NULL);
	}
}

int cmd_wait(int argc, char **argv)
{
	struct merge_output p;
	struct json_object *o;
	const char *status, *guid;
	bool json;
	char *path, msg[512];
	int fd, ret, arg = parse_json_arg(argc, argv, &json,
					  "disk DIR or /dev/prldN");

	if (arg < 0)
		return PRLDCTL_EXIT_FAIL;
	path = merge_status_path(argv[arg]);
	if (!path)
		return PRLDCTL_EXIT_FAIL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = errno == ENOENT ?
		      fail("%s: no snapshot delete was started in the background here",
			   argv[arg]) :
		      fail("%s: %s", path, strerror(errno));
		free(path);
		return ret;
	}
	merge_output_init(&p, json);
	follow(fd, &p);
	o = merge_status_read(fd);
	/* The result is told once: then the file goes, unless a new delete
	 * has it already (it holds the lock). */
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		unlink(path);
	free(path);
	close(fd);
	status = o ? json_str(o, "status") : NULL;
	guid = o && json_str(o, "guid") ? json_str(o, "guid") : "?";
	if (o && json_num(o, "total") && status && !strcmp(status, "ok"))
		merge_output_progress(json_num(o, "total"), json_num(o, "total"),
				      &p);
	if (!status)
		snprintf(msg, sizeof(msg),
			 "the background delete of %s ended without a result (killed?); `prldctl check --repair` finishes it",
			 guid);
	else
		snprintf(msg, sizeof(msg), "%s",
			 json_str(o, "error") ? json_str(o, "error") : "");
	ret = merge_output_end(&p, guid, !status || strcmp(status, "ok"), msg);
	json_object_put(o);
	return ret;
}
