// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * prld_disk_revert: a switch to a snapshot through the caller's own open
 * disk (the SDK's SwitchToState on a handle), where prld_revert finds the
 * caller's lock and refuses with EBUSY.  After it the same handle reads
 * the snapshot's bytes, takes writes that land in the new top, still
 * keeps other writers out, and the disk checks clean; refusals leave the
 * handle as it was.
 */
#include "testutil.h"

#define SIZE (8ULL << 20)

static uint8_t a[SIZE], b[SIZE], buf[SIZE];

static bool reads(struct prld_disk *d, const uint8_t *want)
{
	return prld_pread(d, buf, SIZE, 0, NULL) == 0 && !memcmp(buf, want, SIZE);
}

static void refusals(const char *dir, const char *guid)
{
	struct prld_err err = { 0 };
	struct prld_disk *d, *same;
	int ret;

	d = open_disk(dir, PRLD_OPEN_READ, 0);
	same = d;
	ret = prld_disk_revert(&d, guid, &err);
	is_int(ret, -EBADF, "a disk open read-only is refused");
	like(err.msg, "needs the disk open for writing", "... and says why");
	ok(d == same && reads(d, b), "... the handle is untouched");
	prld_close(d, NULL);

	d = open_disk(dir, PRLD_OPEN_READ | PRLD_OPEN_WRITE, 0);
	same = d;
	ret = prld_disk_revert(&d, "{00000000-1111-2222-3333-444444444444}", &err);
	ok(ret == -ENOENT || ret == -EINVAL, "an unknown snapshot is refused (%d)", ret);
	ok(d == same && reads(d, b), "... the handle reads as before");
	prld_close(d, NULL);
}

int main(void)
{
	struct prld_err err = { 0 };
	struct prld_disk *d, *other;
	char guid[PRLD_GUID_LEN + 1];
	char *old_top;
	struct prld_report rep;

	tmpdir_make("disk-revert");
	rnd_seed(16);
	fill_random(a, SIZE);
	fill_random(b, SIZE);
	if (create_disk_dir(tpath("d"), SIZE >> 9, 128, false))
		return 255;
	d = open_disk(tpath("d"), PRLD_OPEN_READ | PRLD_OPEN_WRITE, 0);
	ok(d && prld_pwrite(d, a, SIZE, 0, NULL) == 0, "state A written");
	prld_close(d, NULL);
	ok(prld_snapshot(tpath("d"), guid, &err) == 0, "snapshot %s", guid);

	d = open_disk(tpath("d"), PRLD_OPEN_READ | PRLD_OPEN_WRITE, 0);
	ok(d && prld_pwrite(d, b, SIZE, 0, NULL) == 0, "state B written through the handle");
	old_top = strdup(d->info[d->nlayers - 1].file);
	is_int(prld_revert(tpath("d"), guid, &err), -EBUSY,
	       "prld_revert while we hold the disk: EBUSY");
	is_int(prld_disk_revert(&d, guid, &err), 0, "prld_disk_revert through the handle");
	ok(d && reads(d, a), "the handle reads the snapshot's bytes");
	ok(access(old_top, F_OK) != 0, "the discarded top's file is gone");
	is_int(prld_open(tpath("d"), PRLD_OPEN_READ | PRLD_OPEN_WRITE, NULL,
			 &other, NULL), -EBUSY,
	       "another writer is still kept out");
	ok(d && prld_pwrite(d, b, 4096, 65536, NULL) == 0, "a write after the switch");
	is_int(prld_close(d, &err), 0, "a clean close");
	memcpy(a + 65536, b, 4096);
	ok(disk_equals(tpath("d"), a, SIZE), "reopened: the snapshot plus the new write");
	is_int(prld_check(tpath("d"), false, &rep, &err), 0, "check runs");
	is_int(prld_report_exit_status(&rep), 0, "... and finds the disk clean");
	prld_report_free(&rep);
	free(old_top);

	memcpy(b, a, SIZE);	/* what the disk holds now */
	refusals(tpath("d"), guid);
	if (create_disk_dir(tpath("bare-dir"), SIZE >> 9, 128, false) == 0) {
		d = open_disk(tpath("bare-dir/root.hds"), PRLD_OPEN_READ | PRLD_OPEN_WRITE, 0);
		is_int(d ? prld_disk_revert(&d, guid, &err) : 0, -EINVAL,
		       "a bare image has no snapshots");
		prld_close(d, NULL);
	}
	tmpdir_remove();
	return tap_done();
}
