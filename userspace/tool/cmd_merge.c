// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldctl delete-snapshot: remove a snapshot, merging it with its one
 * child if it has one (the SDK's delete + WaitForCompletion): offline, or
 * on an attached disk (a DIR attached, or /dev/prldN) through the device,
 * which stays mounted and written meanwhile.
 *
 * Progress: a bar on stderr when stderr is a terminal; otherwise, or with
 * --json, JSON lines on stdout: {"done":N,"total":M} as the copy goes
 * (first, last and one per percent in between), then one final
 * {"status":"ok",...} or {"status":"error",...} line.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "tool.h"

struct progress {
	bool json;
	struct progress_bar bar;
	int last_pct;		/* -1: nothing shown yet */
	uint64_t last_done;
};

static void json_line(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(o);
}

static void on_progress(uint64_t done, uint64_t total, void *ctx)
{
	struct progress *p = ctx;
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

static int finish(struct progress *p, const char *guid, int ret,
		  const struct prld_err *err)
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
						       err->msg[0] ? err->msg :
						       "failed"));
		json_line(o);
	}
	return ret ? fail_err(err) : PRLDCTL_EXIT_OK;
}

int cmd_delete_snapshot(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	struct progress p = {
		.last_pct = -1,
		.bar = { .what = "merging", .unit = "clusters", .unit_bytes = 1 },
	};
	struct prld_err err = { 0 };
	struct prld_job *job;
	bool json = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 'j')
			return usage_error("bad option");
		json = true;
	}
	if (optind != argc - 2)
		return usage_error("expected a snapshot GUID and a disk DIR or /dev/prldN");
	p.bar.on = isatty(STDERR_FILENO) && !json;
	p.json = json || !isatty(STDERR_FILENO);
	/*
	 * A merge cannot stop halfway (the snapshot's file already holds
	 * some of its child's clusters): Ctrl-C is noted and the merge
	 * finishes, so the disk is left clean.
	 */
	interrupt_catch();
	ret = prld_merge_start(argv[optind + 1], argv[optind], &job, &err);
	if (!ret) {
		ret = prld_job_wait(job, on_progress, &p, &err);
		prld_job_free(job);
	}
	return finish(&p, argv[optind], ret, &err);
}
