// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lock.c - the locks that keep a writer alone with an image file.
 *
 * Two protocols guard image files on Linux, and a user may run tools of
 * both kinds on one disk:
 *
 *  - flock(2): prld (the tool, the library and the files the kernel driver
 *    holds) and ploop take LOCK_EX to write and LOCK_SH to read.
 *  - QEMU's file-posix driver takes open file description (OFD) read
 *    locks on single bytes: byte 100 + P while it holds permission P, and
 *    byte 200 + P while it does not let others have P.  Before using a
 *    permission it tests the matching bytes with F_OFD_GETLK; any lock of
 *    another open file description there means "in use".
 *    (P: 0 consistent read, 1 write, 2 write-unchanged, 3 resize.)
 *
 * QEMU never looks at flocks and prld never looked at byte locks, so each
 * took the other's image as free: qemu-io's in-use flag then made prld
 * advise a repair that corrupted the disk when QEMU closed it.  prld now
 * takes both: a writer holds bytes 100, 101, 103 (read, write, resize, as
 * a QEMU format driver over a writable file) and 201, 203 (nobody else
 * may write or resize); a reader holds 100, 201 and 203, as QEMU's
 * read-only opens do.  And it tests QEMU's bytes as QEMU does, so a disk
 * QEMU holds is refused as busy before its header is even read.
 *
 * OFD locks belong to the open file description, as flocks do: they go
 * with the last close, and a descriptor handed to the kernel driver keeps
 * them for as long as the driver holds the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>

#include "internal.h"

#define QEMU_PERM_BASE 100	/* QEMU's RAW_LOCK_PERM_BASE */
#define QEMU_SHARED_BASE 200	/* QEMU's RAW_LOCK_SHARED_BASE */

enum {
	QPERM_READ = 1 << 0,		/* BLK_PERM_CONSISTENT_READ */
	QPERM_WRITE = 1 << 1,		/* BLK_PERM_WRITE */
	QPERM_WRITE_UNCHANGED = 1 << 2,	/* BLK_PERM_WRITE_UNCHANGED */
	QPERM_RESIZE = 1 << 3,		/* BLK_PERM_RESIZE */
	QPERM_ALL = 0xf,
};

/* What prld asks for, in QEMU's terms. */
struct qemu_perms {
	unsigned int held;		/* permissions we use */
	unsigned int unshared;		/* permissions nobody else may have */
};

static struct qemu_perms perms_for(bool exclusive)
{
	struct qemu_perms p = {
		.held = QPERM_READ,
		.unshared = QPERM_WRITE | QPERM_RESIZE,
	};

	if (exclusive)
		p.held |= QPERM_WRITE | QPERM_RESIZE;
	return p;
}

static int ofd_lock_byte(int fd, int byte, short type)
{
	struct flock fl = {
		.l_type = type,
		.l_whence = SEEK_SET,
		.l_start = byte,
		.l_len = 1,
	};

	return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* Does another open file description hold a lock on @byte?  1, 0, -errno. */
static int ofd_byte_taken(int fd, int byte)
{
	struct flock fl = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = byte,
		.l_len = 1,
	};

	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	return fl.l_type != F_UNLCK;
}

/*
 * Take our bytes (read locks never conflict with QEMU's, also read locks).
 * 1 where the filesystem has no such locks (QEMU's locking=auto then goes
 * without them too): flock alone guards the file.
 */
static int qemu_take(int fd, const struct qemu_perms *p)
{
	int i, ret;

	for (i = 0; (1 << i) <= QPERM_ALL; i++) {
		ret = 0;
		if (p->held & (1 << i))
			ret = ofd_lock_byte(fd, QEMU_PERM_BASE + i, F_RDLCK);
		if (!ret && (p->unshared & (1 << i)))
			ret = ofd_lock_byte(fd, QEMU_SHARED_BASE + i, F_RDLCK);
		if (ret == -EINVAL || ret == -ENOLCK || ret == -EOPNOTSUPP)
			return 1;
		if (ret)
			return ret == -EAGAIN || ret == -EACCES ? -EBUSY : ret;
	}
	return 0;
}

/*
 * QEMU's raw_check_lock_bytes: a permission we use that somebody does not
 * share, or one we do not share that somebody uses, is a conflict.
 */
static int qemu_test(int fd, const struct qemu_perms *p)
{
	int i, ret;

	for (i = 0; (1 << i) <= QPERM_ALL; i++) {
		ret = 0;
		if (p->held & (1 << i))
			ret = ofd_byte_taken(fd, QEMU_SHARED_BASE + i);
		if (!ret && (p->unshared & (1 << i)))
			ret = ofd_byte_taken(fd, QEMU_PERM_BASE + i);
		if (ret)
			return ret > 0 ? -EBUSY : ret;
	}
	return 0;
}

static void qemu_release(int fd)
{
	struct flock fl = {
		.l_type = F_UNLCK,
		.l_whence = SEEK_SET,
		.l_start = QEMU_PERM_BASE,
		.l_len = QEMU_SHARED_BASE + 8 - QEMU_PERM_BASE,
	};

	fcntl(fd, F_OFD_SETLK, &fl);
}

int lock_image_fd(int fd, bool exclusive)
{
	struct qemu_perms p = perms_for(exclusive);
	int ret;

	if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	ret = qemu_take(fd, &p);
	if (ret == 1) {
		qemu_release(fd);
		return 0;
	}
	if (!ret)
		ret = qemu_test(fd, &p);
	if (ret) {
		qemu_release(fd);
		flock(fd, LOCK_UN);
	}
	return ret;
}

bool lock_writer_elsewhere(int fd)
{
	if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK)
		return true;
	return ofd_byte_taken(fd, QEMU_PERM_BASE + 1) > 0;	/* "write" */
}
