/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prld_fault.h - the driver's own fault points, for the fault-injection
 * tests on the debug kernel (tests/fault).  Compiled in only when the
 * module is built with PRLD_FAULT_INJECT=y (tests/kernel/build-module.sh),
 * as null_blk does with its own; otherwise every hook is a constant false
 * the compiler drops, and the production module and dkms never see them.
 */
#ifndef PRLD_FAULT_H
#define PRLD_FAULT_H

#include <linux/types.h>

enum prld_fault_point {
	PRLD_FAULT_BAT_WRITE,	/* prld_bat_sync(): a leaf is not written */
	PRLD_FAULT_FLUSH,	/* prld_flush(): the top is not synced */
	PRLD_FAULT_NR
};

#if defined(PRLD_FAULT_INJECT) && IS_ENABLED(CONFIG_FAULT_INJECTION_DEBUG_FS)
bool prld_should_fail(enum prld_fault_point point);
void prld_fault_init(void);
void prld_fault_exit(void);
#else
static inline bool prld_should_fail(enum prld_fault_point point)
{
	return false;
}

static inline void prld_fault_init(void)
{
}

static inline void prld_fault_exit(void)
{
}
#endif

#endif /* PRLD_FAULT_H */
