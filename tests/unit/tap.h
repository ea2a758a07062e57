/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Minimal TAP producer for the C unit tests, run by prove(1).
 * Each check prints "ok N - name" or "not ok N - name"; tap_done() prints
 * the plan and returns the exit status (non-zero if anything failed).
 */
#ifndef PRLD_TAP_H
#define PRLD_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed;

static inline int tap_vok(int cond, const char *fmt, va_list ap)
{
	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

static inline __attribute__((format(printf, 2, 3)))
int ok(int cond, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = tap_vok(cond, fmt, ap);
	va_end(ap);
	return ret;
}

/* Integer equality with a diagnostic showing both values on failure. */
#define is_int(got, want, ...)						\
	do {								\
		long long g_ = (long long)(got), w_ = (long long)(want); \
		if (!ok(g_ == w_, __VA_ARGS__))				\
			printf("#   got %lld, want %lld\n", g_, w_);	\
	} while (0)

/* Substring match with a diagnostic. */
#define like(str, sub, ...)						\
	do {								\
		const char *s_ = (str), *u_ = (sub);			\
		if (!ok(s_ && strstr(s_, u_) != NULL, __VA_ARGS__))	\
			printf("#   '%s' does not contain '%s'\n",	\
			       s_ ? s_ : "(null)", u_);			\
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	if (tap_failed)
		printf("# %d of %d checks failed\n", tap_failed, tap_count);
	return tap_failed ? 1 : 0;
}

#endif /* PRLD_TAP_H */
