// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldctl: Ctrl-C (SIGINT), SIGTERM and SIGHUP during a long command.
 * The handler only records the signal; the command's loop looks at it
 * between two whole steps and closes the disk cleanly (data, then BAT,
 * then the in-use flag cleared), so an interrupted command never leaves
 * a half-written cluster or a disk that needs a repair.  No SA_RESTART:
 * a read from a pipe that waits returns EINTR, so the loop sees it at
 * once.
 */
#include <signal.h>
#include <string.h>

#include "tool.h"

static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
	caught = sig;
}

void interrupt_catch(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

int interrupted(void)
{
	return caught;
}

int interrupt_exit(void)
{
	return 128 + caught;
}
