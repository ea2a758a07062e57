/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Contracts between the files of the SDK API (prld_sdk.h).  Not installed.
 *
 *   sdk_handle.c  the handle table, reference counts, handle lists,
 *                 PRL_RESULT from an errno
 *   sdk_disk.c    PHT_VIRTUAL_DISK: create, open, I/O, info, free
 *   sdk_async.c   the worker behind callbacks, SwitchToState, Wait
 *   sdk_map.c     PHT_VIRTUAL_DISK_MAP and PHT_VIRTUAL_DISK_OPEN_POLICY
 *
 * A PRL_HANDLE is a number, never a pointer: the table maps it to its
 * object, so a stale or made-up handle is PRL_ERR_INVALID_ARG, never a
 * crash.  Numbers are not reused.
 */
#ifndef PRLD_SDK_INTERNAL_H
#define PRLD_SDK_INTERNAL_H

#include <pthread.h>

#include "internal.h"
#include "prld_sdk.h"

struct sdk_obj {
	PRL_HANDLE_TYPE type;
	uintptr_t id;			/* the PRL_HANDLE's value */
	unsigned int refs;		/* under the table's lock */
	void (*destroy)(struct sdk_obj *obj);
};

/* ---- sdk_handle.c ---------------------------------------------------- */

/* Enter @obj in the table with one reference; its handle, or NULL (ENOMEM). */
PRL_HANDLE sdk_register(struct sdk_obj *obj, PRL_HANDLE_TYPE type,
			void (*destroy)(struct sdk_obj *obj));
/* The object of @h if it is of @type, with a reference taken; or NULL. */
struct sdk_obj *sdk_get(PRL_HANDLE h, PRL_HANDLE_TYPE type);
void sdk_ref(struct sdk_obj *obj);
/* Drop a reference; the last one destroys the object. */
void sdk_put(struct sdk_obj *obj);
/* The SDK's code for a libprld result (0 or a negative errno). */
PRL_RESULT sdk_result(int ret);

/* ---- sdk_disk.c ------------------------------------------------------ */

struct sdk_disk {
	struct sdk_obj obj;
	pthread_mutex_t lock;
	pthread_cond_t idle;		/* busy went false */
	bool busy;			/* a worker runs an operation */
	bool has_worker;		/* @worker is to be joined */
	pthread_t worker;
	PRL_RESULT async_result;	/* of the last worker's operation */
	struct prld_disk *disk;		/* NULL until created, or lost */
	struct prld_err err;		/* the last failure's message */
};

/*
 * The disk of @h, locked and idle (no worker running), with a reference:
 * sdk_disk_end() releases both.  NULL if @h is no disk.
 */
struct sdk_disk *sdk_disk_begin(PRL_HANDLE h);
void sdk_disk_end(struct sdk_disk *d);
/* A new disk object (locked by nobody) and its handle in *out. */
PRL_RESULT sdk_disk_new(struct sdk_disk **out, PRL_HANDLE_PTR handle);

/* ---- sdk_async.c ----------------------------------------------------- */

/*
 * @work(@d, @arg), then @done(@arg): here, or with @async on a worker
 * thread, @d marked busy meanwhile (the caller holds its lock and @d is
 * idle) and the result kept for PrlDisk_WaitForCompletion.  Returns the
 * result, or whether the worker started.
 */
PRL_RESULT sdk_run(struct sdk_disk *d, bool async,
		   PRL_RESULT (*work)(struct sdk_disk *d, void *arg),
		   void *arg, void (*done)(void *arg));
/* Reap the last worker of @d (it has finished or is finishing). */
void sdk_async_join(struct sdk_disk *d);

/* ---- sdk_map.c ------------------------------------------------------- */

/* The offset of the policies in @list (NULL: 0); more than one is invalid. */
PRL_RESULT sdk_policy_offset(PRL_HANDLE list, uint64_t *offset);

#endif /* PRLD_SDK_INTERNAL_H */
