// SPDX-License-Identifier: GPL-2.0
/*
 * prld_fault.c - the driver's fault points, each a fault_attr configured
 * in debugfs (/sys/kernel/debug/prld/fail_*: probability, interval,
 * times, ... as in Documentation/fault-injection): the paths whose
 * failure a real disk rarely produces on demand but the driver must
 * survive, BAT updates and flushes.  Test builds only (prld_fault.h).
 */
#include <linux/debugfs.h>
#include <linux/fault-inject.h>

#include "prld_fault.h"

/* A kernel without fault injection gets the header's empty stubs. */
#if IS_ENABLED(CONFIG_FAULT_INJECTION_DEBUG_FS)

static DECLARE_FAULT_ATTR(prld_fail_bat_write);
static DECLARE_FAULT_ATTR(prld_fail_flush);

static struct fault_attr *const prld_fault_attrs[PRLD_FAULT_NR] = {
	[PRLD_FAULT_BAT_WRITE] = &prld_fail_bat_write,
	[PRLD_FAULT_FLUSH] = &prld_fail_flush,
};

static const char *const prld_fault_names[PRLD_FAULT_NR] = {
	[PRLD_FAULT_BAT_WRITE] = "fail_bat_write",
	[PRLD_FAULT_FLUSH] = "fail_flush",
};

static struct dentry *prld_fault_dir;

bool prld_should_fail(enum prld_fault_point point)
{
	return should_fail(prld_fault_attrs[point], 1);
}

/* Without debugfs the points stay disabled: not a reason to fail load. */
void prld_fault_init(void)
{
	unsigned int i;

	prld_fault_dir = debugfs_create_dir("prld", NULL);
	for (i = 0; i < PRLD_FAULT_NR; i++)
		fault_create_debugfs_attr(prld_fault_names[i], prld_fault_dir,
					  prld_fault_attrs[i]);
}

void prld_fault_exit(void)
{
	debugfs_remove_recursive(prld_fault_dir);
}
#endif
