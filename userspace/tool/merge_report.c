// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldctl: what delete-snapshot and wait show of a snapshot delete, and
 * the status file a delete run in the background keeps for wait.
 *
 * Progress: a bar on stderr when stderr is a terminal; otherwise, or with
 * --json, JSON lines on stdout: {"done":N,"total":M} as the copy goes
 * (first, last and one per percent in between), then one final
 * {"status":"ok",...} or {"status":"error",...} line.
 *
 * The status file "<descriptor>.merge.status" holds one JSON object: the
 * GUID, the background process's pid, done and total, and once it ends
 * its status (and error).  The process holds an exclusive flock on it
 * until the last write, so a reader that gets a shared one knows the
 * object is final.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool.h"

static void json_line(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(o);
}

void merge_output_init(struct merge_output *p, bool json)
{
	memset(p, 0, sizeof(*p));
	p->last_pct = -1;
	p->bar = (struct progress_bar){ .what = "merging", .unit = "clusters",
					.unit_bytes = 1 };
	p->bar.on = isatty(STDERR_FILENO) && !json;
	p->json = json || !isatty(STDERR_FILENO);
}

void merge_output_progress(uint64_t done, uint64_t total, void *ctx)
{
	struct merge_output *p = ctx;
	int pct = total ? (int)(done * 100 / total) : 100;
	struct json_object *o;

	if (!total)		/* a leaf: nothing to copy */
		return;
	if (interrupted() == SIGINT || interrupted() == SIGTERM)
		p->bar.what = "merging (cannot stop halfway, finishing)";
	progress_show(&p->bar, done, total);
	if (!p->json || (p->last_pct >= 0 && pct == p->last_pct &&
			 !(done == total && p->last_done != total)))
		return;
	p->last_pct = pct;
	p->last_done = done;
	o = json_object_new_object();
	json_object_object_add(o, "done", json_u64(done));
	json_object_object_add(o, "total", json_u64(total));
	json_line(o);
}

int merge_output_end(struct merge_output *p, const char *guid, int ret,
		     const char *msg)
{
	struct json_object *o;

	progress_end(&p->bar);
	if (p->json) {
		o = json_object_new_object();
		json_object_object_add(o, "status", json_object_new_string(
					       ret ? "error" : "ok"));
		json_object_object_add(o, "guid", json_object_new_string(guid));
		if (ret)
			json_object_object_add(o, "error",
					       json_object_new_string(
						       msg[0] ? msg : "failed"));
		json_line(o);
	}
	if (ret)
		return fail("%s", msg[0] ? msg : "failed");
	return PRLDCTL_EXIT_OK;
}

char *merge_status_path(const char *target)
{
	struct stat st;
	char *dir = NULL, *path = NULL;
	size_t n = strlen(target);

	if (target_dir(target, &dir) < 0)
		return NULL;
	if (dir || (stat(target, &st) == 0 && S_ISDIR(st.st_mode))) {
		if (asprintf(&path, "%s/DiskDescriptor.xml.merge.status",
			     dir ? dir : target) < 0)
			path = NULL;
	} else if (n > 4 && !strcmp(target + n - 4, ".xml")) {
		if (asprintf(&path, "%s.merge.status", target) < 0)
			path = NULL;
	} else {
		fail("%s: give the disk directory or its /dev/prldN", target);
	}
	free(dir);
	return path;
}

int merge_status_write(int fd, const char *guid, uint64_t done,
		       uint64_t total, const char *status, const char *msg)
{
	struct json_object *o = json_object_new_object();
	const char *text;
	size_t len;
	int ret = 0;

	json_object_object_add(o, "guid", json_object_new_string(guid));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "done", json_u64(done));
	json_object_object_add(o, "total", json_u64(total));
	if (status)
		json_object_object_add(o, "status",
				       json_object_new_string(status));
	if (msg)
		json_object_object_add(o, "error", json_object_new_string(msg));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	len = strlen(text);
	if (pwrite(fd, text, len, 0) != (ssize_t)len ||
	    ftruncate(fd, (off_t)len) < 0)
		ret = -errno;
	json_object_put(o);
	return ret;
}

struct json_object *merge_status_read(int fd)
{
	char buf[8192];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return json_tokener_parse(buf);
}
