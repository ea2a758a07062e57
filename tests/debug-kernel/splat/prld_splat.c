// SPDX-License-Identifier: GPL-2.0
/*
 * prld_splat.c - commits one deliberate bug per load, chosen by the "bug"
 * parameter, so tests/debug-kernel/selftest.sh can show that the debug
 * kernel and tests/vm/run.sh catch each kind: leak, kasan, lockdep,
 * sleep.  Never built for anything else.  Init always fails (-EAGAIN) so
 * the module is gone right after, as prld.ko is when leaks are scanned.
 */
#include <linux/irqflags.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

static char *bug = "none";
module_param(bug, charp, 0444);
MODULE_PARM_DESC(bug, "leak, kasan, lockdep or sleep");

static DEFINE_MUTEX(prld_splat_a);
static DEFINE_MUTEX(prld_splat_b);
static DEFINE_SPINLOCK(prld_splat_lock);
static void *prld_splat_keep;

/*
 * Allocated here, then the only pointer is dropped.  kmemleak would not
 * report an object whose address is still in any memory it scans: the
 * callee-saved registers an interrupt handler pushes onto the per-CPU
 * interrupt stack (scanned with the per-CPU areas) may hold it for a long
 * time.  So interrupts are off while the pointer is in registers (insmod's
 * own stack goes with its task), and several objects leak: one stale copy
 * cannot hide them all.
 */
#define PRLD_SPLAT_LEAKS 4

static void prld_splat_leak(void)
{
	unsigned long flags;
	int i;

	for (i = 0; i < PRLD_SPLAT_LEAKS; i++) {
		local_irq_save(flags);
		WRITE_ONCE(prld_splat_keep, kmalloc(200, GFP_ATOMIC));
		WRITE_ONCE(prld_splat_keep, NULL);
		local_irq_restore(flags);
	}
}

/* One byte past a 16-byte object. */
static void prld_splat_kasan(void)
{
	char *p = kmalloc(16, GFP_KERNEL);
	volatile char *q = p;

	if (!p)
		return;
	q[16] = 1;
	kfree(p);
}

/* a then b, later b then a: lockdep sees the inversion at once. */
static void prld_splat_lockdep(void)
{
	mutex_lock(&prld_splat_a);
	mutex_lock(&prld_splat_b);
	mutex_unlock(&prld_splat_b);
	mutex_unlock(&prld_splat_a);
	mutex_lock(&prld_splat_b);
	mutex_lock(&prld_splat_a);
	mutex_unlock(&prld_splat_a);
	mutex_unlock(&prld_splat_b);
}

/*
 * A GFP_KERNEL allocation may sleep: under a spinlock DEBUG_ATOMIC_SLEEP
 * reports it even when it does not sleep (msleep() here was reported as
 * "scheduling while atomic", which any kernel prints).
 */
static void prld_splat_sleep(void)
{
	spin_lock(&prld_splat_lock);
	kfree(kmalloc(32, GFP_KERNEL));
	spin_unlock(&prld_splat_lock);
}

static int __init prld_splat_init(void)
{
	if (!strcmp(bug, "leak"))
		prld_splat_leak();
	else if (!strcmp(bug, "kasan"))
		prld_splat_kasan();
	else if (!strcmp(bug, "lockdep"))
		prld_splat_lockdep();
	else if (!strcmp(bug, "sleep"))
		prld_splat_sleep();
	return -EAGAIN;
}

module_init(prld_splat_init);
MODULE_DESCRIPTION("prld debug-kernel selftest: deliberate bugs");
MODULE_LICENSE("GPL");
