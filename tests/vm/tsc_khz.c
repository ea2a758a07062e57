// SPDX-License-Identifier: GPL-2.0
/*
 * tsc_khz: prints the host's TSC frequency in kHz, for run.sh to hand to
 * a TCG guest as tsc_early_khz=.
 *
 * Under TCG the guest's RDTSC reads the host's TSC, but the guest measures
 * its frequency against the emulated PIT, and on a loaded host that gave
 * 59 MHz for a 2.6 GHz TSC: the guest's clock then ran many times too fast
 * (timeouts fired early, RCU reported stalls) and the kernel threw its
 * refined calibration away for being more than 1% off the first one.
 *
 * Each sample brackets RDTSC between two CLOCK_MONOTONIC_RAW reads and is
 * kept only when they are close; the median of five 100 ms intervals
 * rides out a preemption in any one of them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

#define INTERVALS 5
#define MAX_BRACKET_NS 20000

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC_RAW, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* A (time, tsc) pair read close together. */
static void sample(int64_t *ns, uint64_t *tsc)
{
	int64_t before, after;

	do {
		before = now_ns();
		*tsc = __rdtsc();
		after = now_ns();
	} while (after - before > MAX_BRACKET_NS);
	*ns = before + (after - before) / 2;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	struct timespec pause = { 0, 100000000 };
	double khz[INTERVALS];
	int64_t ns0, ns1;
	uint64_t tsc0, tsc1;
	int i;

	for (i = 0; i < INTERVALS; i++) {
		sample(&ns0, &tsc0);
		nanosleep(&pause, NULL);
		sample(&ns1, &tsc1);
		khz[i] = (double)(tsc1 - tsc0) * 1e6 / (double)(ns1 - ns0);
	}
	qsort(khz, INTERVALS, sizeof(khz[0]), cmp_double);
	printf("%.0f\n", khz[INTERVALS / 2]);
	return 0;
}
