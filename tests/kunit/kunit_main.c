// SPDX-License-Identifier: GPL-2.0
/*
 * kunit_main.c - module glue of prld_kunit.ko.  Each kunit_*.c registers
 * its suites with kunit_test_suites(); they all run when the module loads
 * and report KTAP in the kernel log and in /sys/kernel/debug/kunit.
 *
 * Built with PRLD_KUNIT_SELFTEST=y (tests/kunit/run.sh --selftest only),
 * it also carries a suite with one case that must fail, so the harness is
 * seen to turn a failed case into a failed run.
 */
#include <kunit/test.h>
#include <linux/module.h>

#ifdef PRLD_KUNIT_SELFTEST
static void prld_selftest_must_fail(struct kunit *test)
{
	KUNIT_EXPECT_EQ_MSG(test, 1, 2, "deliberate failure (selftest build)");
}

static void prld_selftest_passes(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, 2, 2);
}

static struct kunit_case prld_selftest_cases[] = {
	KUNIT_CASE(prld_selftest_passes),
	KUNIT_CASE(prld_selftest_must_fail),
	{}
};

static struct kunit_suite prld_selftest_suite = {
	.name = "prld_selftest",
	.test_cases = prld_selftest_cases,
};

kunit_test_suites(&prld_selftest_suite);
#endif

MODULE_DESCRIPTION("KUnit tests of prld's format, chain and ioctl logic");
MODULE_LICENSE("GPL");
