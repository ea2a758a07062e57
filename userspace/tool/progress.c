// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldctl: a progress bar on stderr for the long commands (convert -p,
 * delete-snapshot), redrawn only when the percentage moves.
 */
#include <stdio.h>

#include "tool.h"

#define BAR_WIDTH 40

void progress_show(struct progress_bar *p, uint64_t done, uint64_t total)
{
	int pct = total ? (int)(done * 100 / total) : 100;
	int fill = total ? (int)(done * BAR_WIDTH / total) : BAR_WIDTH;

	if (!p->on || (p->shown && pct == p->last_pct &&
			!(done == total && p->last_done != total)))
		return;
	p->shown = true;
	p->last_pct = pct;
	p->last_done = done;
	fprintf(stderr, "\r%s [%.*s%*s] %3d%% %llu/%llu %s", p->what, fill,
		"########################################", BAR_WIDTH - fill,
		"", pct, (unsigned long long)(done / p->unit_bytes),
		(unsigned long long)(total / p->unit_bytes), p->unit);
	fflush(stderr);
}

void progress_end(struct progress_bar *p)
{
	if (p->on && p->shown)
		fputc('\n', stderr);
	p->shown = false;
}
