// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sdk_disk.c - PHT_VIRTUAL_DISK: PrlDisk_CreateDisk_Local,
 * PrlDisk_OpenDisk_Local, Read/Write/FlushCache, GetDiskInfo and Free
 * over libprld's struct prld_disk.  One call at a time per handle (the
 * handle's lock), and none while a worker runs the handle's asynchronous
 * call (sdk_async.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk.h"

/* Flags prld acts on, and the SDK's access hints it accepts and ignores. */
#define OPEN_FLAGS_HONOURED	(PRL_DISK_READ | PRL_DISK_WRITE | \
				 PRL_DISK_READ_LOCK | PRL_DISK_FAKE_OPEN)
#define OPEN_FLAGS_IGNORED	(PRL_DISK_FOPS_MASK | \
				 PRL_DISK_NOT_LIMIT_HANDLES | \
				 PRL_DISK_NO_SPACE_CHECKS | \
				 PRL_DISK_ALLOW_DATA_MODIFY | \
				 PRL_DISK_ALIGN_REQUESTS)

static void disk_destroy(struct sdk_obj *obj)
{
	struct sdk_disk *d = (struct sdk_disk *)obj;

	sdk_async_join(d);
	prld_close(d->disk, NULL);
	pthread_cond_destroy(&d->idle);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

PRL_RESULT sdk_disk_new(struct sdk_disk **out, PRL_HANDLE_PTR handle)
{
	struct sdk_disk *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return PRL_ERR_OUT_OF_MEMORY;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->idle, NULL);
	*handle = sdk_register(&d->obj, PHT_VIRTUAL_DISK, disk_destroy);
	if (!*handle) {
		disk_destroy(&d->obj);
		return PRL_ERR_OUT_OF_MEMORY;
	}
	*out = d;
	return PRL_ERR_SUCCESS;
}

struct sdk_disk *sdk_disk_begin(PRL_HANDLE h)
{
	struct sdk_obj *obj = sdk_get(h, PHT_VIRTUAL_DISK);
	struct sdk_disk *d = (struct sdk_disk *)obj;

	if (!obj)
		return NULL;
	pthread_mutex_lock(&d->lock);
	while (d->busy)
		pthread_cond_wait(&d->idle, &d->lock);
	return d;
}

void sdk_disk_end(struct sdk_disk *d)
{
	pthread_mutex_unlock(&d->lock);
	sdk_put(&d->obj);
}

/* ---- create and open ------------------------------------------------- */

/* The SDK's parameters as prld's; a storage must be the whole disk. */
static PRL_RESULT create_params(PRL_CONST_DISK_PARAMETERS_PTR in,
				struct prld_create_params *p)
{
	const PRL_IMAGE_PARAMETERS *st = in->m_Parts ? in->m_Storages : NULL;

	if (in->m_Parts > 1)
		return PRL_ERR_UNIMPLEMENTED;	/* split disks */
	if (in->m_Parts && !st)
		return PRL_ERR_INVALID_ARG;
	if (st && st->Type != PRL_IMAGE_COMPRESSED &&
	    st->Type != PRL_IMAGE_TRY_GUESS)
		return PRL_ERR_UNIMPLEMENTED;	/* plain images */
	if (st && (st->uStart || (st->uSize &&
				  st->uSize != in->m_SizeInSectors)))
		return PRL_ERR_INVALID_ARG;
	memset(p, 0, sizeof(*p));
	p->size_sectors = in->m_SizeInSectors;
	p->cluster_sectors = in->m_BlockSize;
	p->cylinders = in->m_Cylinders;
	p->heads = in->m_Heads;
	p->sectors = in->m_Sectors;
	return PRL_ERR_SUCCESS;
}

struct create_job {
	char *name;
	struct prld_create_params params;
	PRL_DISK_CALLBACK callback;
	PRL_VOID_PTR data;
};

/* Make the disk and open it read-write into @d (a worker, or the caller). */
static PRL_RESULT create_work(struct sdk_disk *d, void *arg)
{
	struct create_job *job = arg;
	int ret;

	if (job->callback &&
	    !job->callback(PRL_DISK_PROGRESS_MIN, PRL_DISK_PROGRESS_MAX,
			   job->data))
		return PRL_ERR_OPERATION_WAS_CANCELED;
	ret = prld_create_disk(job->name, &job->params, &d->err);
	if (!ret)
		ret = prld_open(job->name, PRLD_OPEN_READ | PRLD_OPEN_WRITE,
				NULL, &d->disk, &d->err);
	if (job->callback)
		job->callback(PRL_DISK_PROGRESS_MAX, PRL_DISK_PROGRESS_MAX,
			      job->data);
	return sdk_result(ret);
}

static void create_job_free(void *arg)
{
	struct create_job *job = arg;

	free(job->name);
	free(job);
}

PRL_RESULT PrlDisk_CreateDisk_Local(PRL_HANDLE_PTR pHandle,
				    PRL_CONST_STR pDiskName,
				    PRL_CONST_DISK_PARAMETERS_PTR pParams,
				    const PRL_DISK_CALLBACK pCallback,
				    PRL_CONST_VOID_PTR pAdditional)
{
	struct create_job *job;
	struct sdk_disk *d;
	PRL_HANDLE h;
	PRL_RESULT r;

	if (!pHandle || !pDiskName || !pParams)
		return PRL_ERR_INVALID_ARG;
	*pHandle = PRL_INVALID_HANDLE;
	job = calloc(1, sizeof(*job));
	if (!job)
		return PRL_ERR_OUT_OF_MEMORY;
	r = create_params(pParams, &job->params);
	job->name = strdup(pDiskName);
	job->callback = pCallback;
	job->data = (PRL_VOID_PTR)pAdditional;
	if (!PRL_FAILED(r) && !job->name)
		r = PRL_ERR_OUT_OF_MEMORY;
	if (!PRL_FAILED(r))
		r = sdk_disk_new(&d, &h);
	if (PRL_FAILED(r)) {
		create_job_free(job);
		return r;
	}
	pthread_mutex_lock(&d->lock);
	r = sdk_run(d, pCallback != NULL, create_work, job, create_job_free);
	pthread_mutex_unlock(&d->lock);
	if (PRL_FAILED(r)) {
		PrlHandle_Free(h);
		return r;
	}
	*pHandle = h;
	return PRL_ERR_SUCCESS;
}

PRL_RESULT PrlDisk_OpenDisk_Local(PRL_HANDLE_PTR pHandle,
				  PRL_CONST_STR pDiskName,
				  const PRL_DISK_OPEN_FLAGS OpenFlags,
				  PRL_HANDLE hPolicyList)
{
	struct prld_policy policy;
	struct prld_disk *disk;
	struct sdk_disk *d;
	PRL_HANDLE h;
	PRL_RESULT r;

	if (!pHandle || !pDiskName)
		return PRL_ERR_INVALID_ARG;
	*pHandle = PRL_INVALID_HANDLE;
	if (OpenFlags & ~(OPEN_FLAGS_HONOURED | OPEN_FLAGS_IGNORED))
		return PRL_ERR_UNIMPLEMENTED;
	r = sdk_policy_offset(hPolicyList, &policy.offset);
	if (PRL_FAILED(r))
		return r;
	r = sdk_result(prld_open(pDiskName, OpenFlags & OPEN_FLAGS_HONOURED,
				 &policy, &disk, NULL));
	if (PRL_FAILED(r))
		return r;
	r = sdk_disk_new(&d, &h);
	if (PRL_FAILED(r)) {
		prld_close(disk, NULL);
		return r;
	}
	d->disk = disk;
	*pHandle = h;
	return PRL_ERR_SUCCESS;
}

PRL_RESULT PrlDisk_Free(const PRL_HANDLE Handle)
{
	struct sdk_disk *d = sdk_disk_begin(Handle);
	PRL_RESULT r = PRL_ERR_SUCCESS;

	if (!d)
		return PRL_ERR_INVALID_ARG;
	/* Report what a clean close could still lose; the close follows. */
	if (d->disk && (d->disk->flags & PRLD_OPEN_WRITE) &&
	    !(d->disk->flags & PRLD_OPEN_FAKE))
		r = sdk_result(prld_flush(d->disk, &d->err));
	sdk_disk_end(d);
	PrlHandle_Free(Handle);
	return r;
}

/* ---- data ------------------------------------------------------------ */

static PRL_RESULT disk_io(PRL_HANDLE h, void *buf, PRL_UINT32 size,
			  PRL_UINT64 sector, bool write)
{
	struct sdk_disk *d;
	int ret;

	if ((!buf && size) || sector > UINT64_MAX >> PRLD_SECTOR_SHIFT)
		return PRL_ERR_INVALID_ARG;
	d = sdk_disk_begin(h);
	if (!d)
		return PRL_ERR_INVALID_ARG;
	if (!d->disk)
		ret = -EBADFD;
	else if (write)
		ret = prld_pwrite(d->disk, buf, size,
				  sector << PRLD_SECTOR_SHIFT, &d->err);
	else
		ret = prld_pread(d->disk, buf, size,
				 sector << PRLD_SECTOR_SHIFT, &d->err);
	sdk_disk_end(d);
	if (ret == -EBADFD)
		return PRL_ERR_UNINITIALIZED;
	if (ret == -EIO)
		return write ? PRL_ERR_FILE_WRITE_ERROR : PRL_ERR_FILE_READ_ERROR;
	return sdk_result(ret);
}

PRL_RESULT PrlDisk_Write(const PRL_HANDLE Handle, PRL_CONST_VOID_PTR pBlock,
			 const PRL_UINT32 uiSize,
			 const PRL_UINT64 uiBlockOffset)
{
	return disk_io(Handle, (void *)pBlock, uiSize, uiBlockOffset, true);
}

PRL_RESULT PrlDisk_Read(const PRL_HANDLE Handle, PRL_VOID_PTR pBlock,
			const PRL_UINT32 uiSize,
			const PRL_UINT64 uiBlockOffset)
{
	return disk_io(Handle, pBlock, uiSize, uiBlockOffset, false);
}

PRL_RESULT PrlDisk_FlushCache(const PRL_HANDLE Handle)
{
	struct sdk_disk *d = sdk_disk_begin(Handle);
	PRL_RESULT r;

	if (!d)
		return PRL_ERR_INVALID_ARG;
	r = d->disk ? sdk_result(prld_flush(d->disk, &d->err)) :
		      PRL_ERR_UNINITIALIZED;
	sdk_disk_end(d);
	return r;
}

/* ---- info ------------------------------------------------------------ */

/* "{8-4-4-4-12}" into the SDK's GUID layout; zeros if @text is "". */
static void guid_from_text(const char *text, PRL_GUID *g)
{
	unsigned int v[11];
	int i;

	memset(g, 0, sizeof(*g));
	if (sscanf(text, "{%8x-%4x-%4x-%2x%2x-%2x%2x%2x%2x%2x%2x}", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8],
		   &v[9], &v[10]) != 11)
		return;
	g->Data1 = v[0];
	g->Data2 = (PRL_UINT16)v[1];
	g->Data3 = (PRL_UINT16)v[2];
	for (i = 0; i < 8; i++)
		g->Data4[i] = (PRL_UINT8)v[3 + i];
}

/* The parameters, storage and strings laid out in one buffer. */
struct info_layout {
	PRL_DISK_PARAMETERS params;
	PRL_IMAGE_PARAMETERS storage;
	const char *file, *name;
	size_t file_off, name_off, total;
};

static void info_plan(struct prld_disk *disk, struct info_layout *l,
		      struct prld_identity *id)
{
	struct prld_info info;

	prld_get_info(disk, &info);
	if (disk->desc) {
		desc_identity(disk->desc, id);
	} else {
		memset(id, 0, sizeof(*id));
		snprintf(id->name, sizeof(id->name), "%s",
			 strrchr(info.layers[0].file, '/') ?
			 strrchr(info.layers[0].file, '/') + 1 :
			 info.layers[0].file);
	}
	memset(l, 0, sizeof(*l));
	l->params.m_Heads = info.heads;
	l->params.m_Cylinders = info.cylinders;
	l->params.m_Sectors = info.sectors;
	l->params.m_SizeInSectors = info.visible_bytes >> PRLD_SECTOR_SHIFT;
	l->params.m_BlockSize = info.cluster_sectors;
	l->params.m_Parts = 1;
	guid_from_text(id->uid, &l->params.Uid);
	l->storage.Type = info.layers[info.nlayers - 1].kind == PRLD_LAYER_PLAIN ?
			  PRL_IMAGE_PLAIN : PRL_IMAGE_COMPRESSED;
	l->storage.uSize = info.size_sectors;
	l->file = info.layers[info.nlayers - 1].file;
	l->name = id->name;
	l->file_off = sizeof(l->params) + sizeof(l->storage);
	l->name_off = l->file_off + strlen(l->file) + 1;
	l->total = l->name_off + strlen(l->name) + 1;
}

static void info_fill(const struct info_layout *l, char *buf)
{
	PRL_DISK_PARAMETERS *p = (PRL_DISK_PARAMETERS *)buf;
	PRL_IMAGE_PARAMETERS *st = (PRL_IMAGE_PARAMETERS *)(buf + sizeof(*p));

	*p = l->params;
	*st = l->storage;
	strcpy(buf + l->file_off, l->file);
	strcpy(buf + l->name_off, l->name);
	p->m_Storages = st;
	st->pFileName = buf + l->file_off;
	p->Name = buf + l->name_off;
}

PRL_RESULT PrlDisk_GetDiskInfo(const PRL_HANDLE Handle,
			       PRL_DISK_PARAMETERS_PTR pDiskParameters,
			       PRL_UINT32_PTR BufferSize)
{
	struct prld_identity id;
	struct info_layout l;
	struct sdk_disk *d;
	PRL_RESULT r = PRL_ERR_SUCCESS;

	if (!BufferSize || (*BufferSize && !pDiskParameters))
		return PRL_ERR_INVALID_ARG;
	d = sdk_disk_begin(Handle);
	if (!d)
		return PRL_ERR_INVALID_ARG;
	if (!d->disk) {
		sdk_disk_end(d);
		return PRL_ERR_UNINITIALIZED;
	}
	info_plan(d->disk, &l, &id);
	if (*BufferSize && *BufferSize < l.total)
		r = PRL_ERR_BUFFER_OVERRUN;
	else if (*BufferSize)
		info_fill(&l, (char *)pDiskParameters);
	*BufferSize = (PRL_UINT32)l.total;
	sdk_disk_end(d);
	return r;
}
