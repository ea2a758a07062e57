// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldctl - create, inspect, read, write, check and map Parallels/ploop
 * virtual disks.  A thin command layer over libprld: every command parses
 * its options, makes one or two library calls and prints the result.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"

#define PRLDCTL_VERSION "0.2.0"

static const struct command commands[] = {
	{ "create", cmd_create,
	  "[-s SIZE] [--cluster-size SIZE] [--preallocate] [--geometry C/H/S]\n"
	  "                 [--format v1|v2] DIR\n"
	  "       prldctl create --image [same options] FILE",
	  "create a disk directory (or a bare image)" },
	{ "info", cmd_info, "[--json] DIR|IMAGE",
	  "size, geometry, cluster size, layers, allocation" },
	{ "read", cmd_read,
	  "[--offset BYTES] [--length BYTES] [--snapshot GUID] DIR|IMAGE",
	  "write the virtual disk's bytes to stdout" },
	{ "write", cmd_write, "[--offset BYTES] DIR|IMAGE",
	  "write stdin into the virtual disk" },
	{ "convert", cmd_convert,
	  "[-p] [-q] [--snapshot GUID] [-O raw|prld] DISK RAW-FILE|DEVICE\n"
	  "       prldctl convert [-p] [-q] [--image] [--cluster-size SIZE]\n"
	  "                 [--format v1|v2] RAW-FILE|DEVICE|DISK NEW-DISK",
	  "copy a disk to raw or raw into a new disk, zeros skipped" },
	{ "check", cmd_check, "[--repair] [--json] DIR|IMAGE",
	  "verify (and repair) images and descriptor; exit 0/2/3" },
	{ "open", cmd_open,
	  "[-r] [--offset BYTES] [--direct-io on|off|auto] [--autoclear]\n"
	  "                 [--no-partscan] [--snapshot GUID (with -r)] DIR|IMAGE",
	  "attach a disk as /dev/prldN (kernel driver)" },
	{ "close", cmd_close, "[--deferred] /dev/prldN|DIR|IMAGE",
	  "detach a device (--deferred: at last close)" },
	{ "list", cmd_list, "[--json]", "attached devices" },
	{ "attach-all", cmd_attach_all, "[--table FILE] [--dry-run]",
	  "attach the disks of /etc/prldtab (boot)" },
	{ "detach-all", cmd_detach_all, "",
	  "detach every attached device (shutdown)" },
	{ "flush", cmd_flush, "/dev/prldN",
	  "make every completed write to a device durable" },
	{ "map", cmd_map,
	  "[--json|--raw] [--from GUID] [--to GUID] DIR|IMAGE",
	  "bitmap of allocated clusters" },
	{ "snapshot", cmd_snapshot, "[--json] DIR|/dev/prldN",
	  "snapshot: the top turns read-only, a new delta on it" },
	{ "snapshots", cmd_snapshots, "[--json] DIR|/dev/prldN",
	  "the snapshot tree (* = read through, [top] = writable)" },
	{ "revert", cmd_revert, "--to GUID DIR|/dev/prldN",
	  "discard the top, continue from snapshot GUID" },
	{ "resize", cmd_resize, "-s [+]SIZE DIR|IMAGE|/dev/prldN",
	  "grow the disk (offline or attached); shrinking is refused" },
	{ "delete-snapshot", cmd_delete_snapshot,
	  "[--json] [--background] [--pace PERCENT] GUID DIR|/dev/prldN",
	  "remove a snapshot, merging it with its one child (also attached)" },
	{ "wait", cmd_wait, "[--json] DIR|/dev/prldN",
	  "follow a snapshot delete run in the background to its end" },
	{ "compact", cmd_compact, "[--json] DIR|IMAGE",
	  "give discarded and leaked space back (offline): files shrink" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* The name column of the help: as wide as the longest command name. */
static int name_width(void)
{
	size_t i, w = 0;

	for (i = 0; i < NCOMMANDS; i++)
		if (strlen(commands[i].name) > w)
			w = strlen(commands[i].name);
	return (int)w;
}

static void print_help(FILE *out)
{
	int w = name_width();
	size_t i;

	fprintf(out, "usage: prldctl COMMAND [OPTIONS] ...\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-*s %s\n", w, commands[i].name,
			commands[i].summary);
	fprintf(out, "\nSizes take binary K/M/G/T suffixes and fractions "
		"(1.5G).  'prldctl COMMAND --help' shows a\n"
		"command's options; 'prldctl -V' the version.\n");
}

/* Does the command line ask for help (before a "--")? */
static bool wants_help(int argc, char **argv)
{
	int i;

	for (i = 2; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

static void print_command_help(const struct command *cmd)
{
	printf("usage: prldctl %s %s\n\n%s.\n", cmd->name, cmd->usage,
	       cmd->summary);
	printf("See prldctl(8) for the details.\n");
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		print_help(stderr);
		return PRLDCTL_EXIT_FAIL;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		print_help(stdout);
		return PRLDCTL_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("prldctl %s\n", PRLDCTL_VERSION);
		return PRLDCTL_EXIT_OK;
	}
	cmd = find_command(argv[1]);
	if (!cmd)
		return usage_error("unknown command '%s'", argv[1]);
	if (wants_help(argc, argv)) {
		print_command_help(cmd);
		return PRLDCTL_EXIT_OK;
	}
	set_current_command(cmd);
	/* Commands see argv[0] = their own name, as getopt expects. */
	return cmd->run(argc - 1, argv + 1);
}
