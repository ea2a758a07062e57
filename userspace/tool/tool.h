/* SPDX-License-Identifier: GPL-2.0-or-later */
/* prldctl: shared helpers of the command implementations. */
#ifndef PRLDCTL_TOOL_H
#define PRLDCTL_TOOL_H

#include <json.h>
#include <stdbool.h>
#include <stdint.h>

#include "prld.h"

#define PRLDCTL_EXIT_OK 0
#define PRLDCTL_EXIT_FAIL 1

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;	/* arguments after the command name */
	const char *summary;
};

/* Commands, one file each group. */
int cmd_create(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_read(int argc, char **argv);
int cmd_write(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_open(int argc, char **argv);
int cmd_close(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_flush(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_snapshots(int argc, char **argv);
int cmd_revert(int argc, char **argv);
int cmd_delete_snapshot(int argc, char **argv);
int cmd_resize(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_attach_all(int argc, char **argv);
int cmd_detach_all(int argc, char **argv);
int cmd_compact(int argc, char **argv);
int cmd_wait(int argc, char **argv);
/*
 * DIR, or /dev/prldN standing for the disk it has attached: *dir is then
 * that disk's directory (free it), else NULL.  -1 after a reported failure.
 */
int target_dir(const char *arg, char **dir);
/* The one argument (@what, for the usage error) after [--json]; or -1. */
int parse_json_arg(int argc, char **argv, bool *json, const char *what);
/* info of an attached /dev/prldN, from the kernel. */
int device_info(const char *dev, bool json);

/* "prldctl: <message>" on stderr; returns PRLDCTL_EXIT_FAIL. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The library's message (it names the file and the reason). */
int fail_err(const struct prld_err *err);
/* Usage of the running command on stderr; returns PRLDCTL_EXIT_FAIL. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void set_current_command(const struct command *cmd);

/* Option values: sizes with K/M/G/T suffixes, plain numbers. */
int parse_size_arg(const char *opt, const char *text, uint64_t *bytes);
int parse_u32_arg(const char *opt, const char *text, uint32_t *out);
/* create's --cluster-size and --format (cmd_create.c); -1 on a bad value. */
int parse_cluster(const char *text, struct prld_create_params *p);
int parse_format(const char *text, struct prld_create_params *p);

/* "64 MiB" style; @buf of at least 32 bytes. */
const char *human_size(uint64_t bytes, char *buf, size_t len);

/* Print @obj pretty to stdout and drop the reference. */
void json_print(struct json_object *obj);
struct json_object *json_u64(uint64_t v);

/* "1073741824 bytes (1 GiB)"; @buf of at least 48 bytes. */
const char *bytes_str(uint64_t bytes, char *buf, size_t len);

/* Open for a command; prints the error itself. NULL on failure. */
struct prld_disk *open_disk(const char *path, unsigned int flags,
			    uint64_t offset);
/* The same at snapshot @snapshot's state (NULL: the disk as it is). */
struct prld_disk *open_disk_state(const char *path, const char *snapshot,
				  unsigned int flags, uint64_t offset);
/* Close and report a close error (data may not be durable). */
int close_disk(struct prld_disk *disk, int status);

/* progress.c: "what [####    ]  42% 430/1024 MiB" on stderr. */
struct progress_bar {
	bool on;
	const char *what;	/* "converting", "merging" */
	const char *unit;	/* "MiB", "clusters" */
	uint64_t unit_bytes;	/* what one unit is in the counts given */
	bool shown;
	int last_pct;
	uint64_t last_done;
};
void progress_show(struct progress_bar *p, uint64_t done, uint64_t total);
void progress_end(struct progress_bar *p);

/* merge_report.c: what delete-snapshot and wait show, the status file. */
struct merge_output {
	bool json;
	struct progress_bar bar;
	int last_pct;		/* -1: nothing shown yet */
	uint64_t last_done;
};
void merge_output_init(struct merge_output *p, bool json);
void merge_output_progress(uint64_t done, uint64_t total, void *ctx);
/* The final line (JSON) or message; the exit status for @ret. */
int merge_output_end(struct merge_output *p, const char *guid, int ret,
		     const char *msg);
/* "<descriptor>.merge.status" of DIR, its .xml or /dev/prldN (malloc'd). */
char *merge_status_path(const char *target);
int merge_status_write(int fd, const char *guid, uint64_t done,
		       uint64_t total, const char *status, const char *msg);
struct json_object *merge_status_read(int fd);

/*
 * interrupt.c: SIGINT/SIGTERM/SIGHUP only recorded, for loops that stop
 * between whole steps and close the disk cleanly.  interrupted() is the
 * signal caught (0: none); interrupt_exit() the shell's 128 + signal.
 */
void interrupt_catch(void);
int interrupted(void);
int interrupt_exit(void);

#endif /* PRLDCTL_TOOL_H */
