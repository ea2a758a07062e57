// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sdk_async.c - the SDK's asynchronous calls (those given a callback)
 * and the ones that wait for them: a worker thread per call runs it while
 * the handle is "busy" (its other calls wait for the end), and
 * PrlDisk_WaitForCompletion collects the result.  PrlDisk_SwitchToState,
 * synchronous or not, is here too.
 *
 * The worker holds no reference to the handle: whoever destroys it joins
 * the worker first, so the disk outlives the thread and a program that
 * frees its handle and exits never cuts a clean close short.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "sdk.h"

struct async_call {
	struct sdk_disk *d;
	PRL_RESULT (*work)(struct sdk_disk *d, void *arg);
	void *arg;
	void (*done)(void *arg);
};

static void *async_worker(void *p)
{
	struct async_call *call = p;
	struct sdk_disk *d = call->d;
	PRL_RESULT r;

	r = call->work(d, call->arg);
	call->done(call->arg);
	free(call);
	pthread_mutex_lock(&d->lock);
	d->async_result = r;
	d->busy = false;
	pthread_cond_broadcast(&d->idle);
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

void sdk_async_join(struct sdk_disk *d)
{
	if (d->has_worker)
		pthread_join(d->worker, NULL);
	d->has_worker = false;
}

static PRL_RESULT async_start(struct sdk_disk *d,
			      PRL_RESULT (*work)(struct sdk_disk *d, void *arg),
			      void *arg, void (*done)(void *arg))
{
	struct async_call *call = malloc(sizeof(*call));

	if (!call)
		return PRL_ERR_OUT_OF_MEMORY;
	*call = (struct async_call){ d, work, arg, done };
	sdk_async_join(d);	/* the previous one has ended: d is idle */
	d->busy = true;
	if (pthread_create(&d->worker, NULL, async_worker, call)) {
		d->busy = false;
		free(call);
		return PRL_ERR_OUT_OF_MEMORY;
	}
	d->has_worker = true;
	return PRL_ERR_SUCCESS;
}

PRL_RESULT sdk_run(struct sdk_disk *d, bool async,
		   PRL_RESULT (*work)(struct sdk_disk *d, void *arg),
		   void *arg, void (*done)(void *arg))
{
	PRL_RESULT r;

	if (async) {
		r = async_start(d, work, arg, done);
		if (PRL_FAILED(r))
			done(arg);
		return r;
	}
	r = work(d, arg);
	done(arg);
	return r;
}

PRL_RESULT PrlDisk_WaitForCompletion(const PRL_HANDLE Handle)
{
	struct sdk_disk *d = sdk_disk_begin(Handle);	/* waits while busy */
	PRL_RESULT r;

	if (!d)
		return PRL_ERR_INVALID_ARG;
	sdk_async_join(d);
	r = d->async_result;
	d->async_result = PRL_ERR_SUCCESS;	/* reported once */
	sdk_disk_end(d);
	return r;
}

/* ---- SwitchToState --------------------------------------------------- */

struct switch_job {
	char guid[PRLD_GUID_LEN + 1];
	PRL_STATES_CALLBACK callback;
	PRL_VOID_PTR data;
};

static PRL_RESULT switch_work(struct sdk_disk *d, void *arg)
{
	struct switch_job *job = arg;
	int ret;

	if (job->callback &&
	    !job->callback(PRL_STATE_CORE_START_DISK_PROCESS_CALLBACK,
			   PRL_STATE_PROGRESS_MIN, job->data))
		return PRL_ERR_OPERATION_WAS_CANCELED;
	ret = d->disk ? prld_disk_revert(&d->disk, job->guid, &d->err) :
			-EBADFD;
	if (job->callback) {
		job->callback(PRL_STATE_DISK_CALLBACK, PRL_STATE_PROGRESS_MAX,
			      job->data);
		job->callback(PRL_STATE_CORE_FULL_COMPLETE_CALLBACK,
			      PRL_STATE_PROGRESS_COMPLETED, job->data);
	}
	if (ret == -EBADFD)
		return PRL_ERR_UNINITIALIZED;
	/* Not a snapshot of this disk: a wrong argument, as the SDK has it. */
	if (ret == -ENOENT)
		return PRL_ERR_INVALID_ARG;
	return sdk_result(ret);
}

PRL_RESULT PrlDisk_SwitchToState(const PRL_HANDLE Handle,
				 PRL_CONST_STR pDirectoryName,
				 PRL_CONST_GUID_PTR pUid,
				 const PRL_STATES_CALLBACK pCallback,
				 PRL_VOID_PTR pParameter)
{
	struct switch_job *job;
	struct sdk_disk *d;
	PRL_RESULT r;

	(void)pDirectoryName;	/* the SDK does not use it either */
	if (!pUid)
		return PRL_ERR_INVALID_ARG;
	job = calloc(1, sizeof(*job));
	if (!job)
		return PRL_ERR_OUT_OF_MEMORY;
	snprintf(job->guid, sizeof(job->guid),
		 "{%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}",
		 pUid->Data1, pUid->Data2, pUid->Data3, pUid->Data4[0],
		 pUid->Data4[1], pUid->Data4[2], pUid->Data4[3],
		 pUid->Data4[4], pUid->Data4[5], pUid->Data4[6],
		 pUid->Data4[7]);
	job->callback = pCallback;
	job->data = pParameter;
	d = sdk_disk_begin(Handle);
	if (!d) {
		free(job);
		return PRL_ERR_INVALID_ARG;
	}
	r = sdk_run(d, pCallback != NULL, switch_work, job, free);
	sdk_disk_end(d);
	return r;
}
