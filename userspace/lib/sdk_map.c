// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sdk_map.c - PHT_VIRTUAL_DISK_MAP (PrlDisk_GetChangesMap_Local and the
 * PrlDiskMap_* queries) and PHT_VIRTUAL_DISK_OPEN_POLICY (the offset
 * policy PrlDisk_OpenDisk_Local takes in a handles list).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk.h"

/* ---- open policies --------------------------------------------------- */

struct sdk_policy {
	struct sdk_obj obj;
	uint64_t offset;		/* bytes */
};

static void policy_destroy(struct sdk_obj *obj)
{
	free(obj);
}

PRL_RESULT PrlDiskOpenPolicy_CreateOffset(PRL_HANDLE_PTR pHandle,
					  PRL_UINT64 uiOffset)
{
	struct sdk_policy *p;

	if (!pHandle)
		return PRL_ERR_INVALID_ARG;
	p = calloc(1, sizeof(*p));
	if (!p)
		return PRL_ERR_OUT_OF_MEMORY;
	p->offset = uiOffset;
	*pHandle = sdk_register(&p->obj, PHT_VIRTUAL_DISK_OPEN_POLICY,
				policy_destroy);
	if (!*pHandle) {
		free(p);
		return PRL_ERR_OUT_OF_MEMORY;
	}
	return PRL_ERR_SUCCESS;
}

PRL_RESULT sdk_policy_offset(PRL_HANDLE list, uint64_t *offset)
{
	struct sdk_obj *obj;
	PRL_UINT32 n, i;
	PRL_HANDLE item;
	PRL_RESULT r;

	*offset = 0;
	if (!list)
		return PRL_ERR_SUCCESS;
	r = PrlHndlList_GetItemsCount(list, &n);
	/* Two offsets could only be added up or one ignored: neither is asked. */
	if (PRL_FAILED(r) || n > 1)
		return PRL_ERR_INVALID_ARG;
	for (i = 0; i < n; i++) {
		r = PrlHndlList_GetItem(list, i, &item);
		if (PRL_FAILED(r))
			return r;
		obj = sdk_get(item, PHT_VIRTUAL_DISK_OPEN_POLICY);
		PrlHandle_Free(item);
		if (!obj)
			return PRL_ERR_INVALID_ARG;
		*offset = ((struct sdk_policy *)obj)->offset;
		sdk_put(obj);
	}
	return PRL_ERR_SUCCESS;
}

/* ---- changes maps ---------------------------------------------------- */

struct sdk_map {
	struct sdk_obj obj;
	struct prld_map map;
};

static void map_destroy(struct sdk_obj *obj)
{
	struct sdk_map *m = (struct sdk_map *)obj;

	prld_map_free(&m->map);
	free(m);
}

/* A snapshot's GUID as the descriptor writes it: braces added if missing. */
static int pit_guid(PRL_CONST_STR in, char out[PRLD_GUID_LEN + 1],
		    const char **guid)
{
	size_t n;

	*guid = NULL;
	if (!in)
		return 0;
	n = strlen(in);
	if (n == PRLD_GUID_LEN - 2)
		snprintf(out, PRLD_GUID_LEN + 1, "{%s}", in);
	else if (n == PRLD_GUID_LEN)
		memcpy(out, in, PRLD_GUID_LEN + 1);
	else
		return -EINVAL;
	if (!desc_guid_valid(out))
		return -EINVAL;
	*guid = out;
	return 0;
}

static PRL_RESULT new_map(struct sdk_disk *d, const char *from,
			  const char *to, PRL_HANDLE_PTR phMap)
{
	struct sdk_map *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		return PRL_ERR_OUT_OF_MEMORY;
	ret = prld_get_map(d->disk, from, to, &m->map, &d->err);
	/* The SDK counts bits and bytes per bit in 32 bits. */
	if (!ret && (m->map.nbits > UINT32_MAX ||
		     m->map.granularity > UINT32_MAX))
		ret = -EOVERFLOW;
	if (!ret) {
		*phMap = sdk_register(&m->obj, PHT_VIRTUAL_DISK_MAP,
				      map_destroy);
		if (*phMap)
			return PRL_ERR_SUCCESS;
		ret = -ENOMEM;
	}
	map_destroy(&m->obj);
	/* An unknown snapshot is a wrong argument, as the SDK has it. */
	return ret == -ENOENT ? PRL_ERR_INVALID_ARG : sdk_result(ret);
}

PRL_RESULT PrlDisk_GetChangesMap_Local(PRL_HANDLE hDisk,
				       PRL_CONST_STR sPit1Uuid,
				       PRL_CONST_STR sPit2Uuid,
				       PRL_HANDLE_PTR phMap)
{
	char g1[PRLD_GUID_LEN + 1], g2[PRLD_GUID_LEN + 1];
	const char *from, *to;
	struct sdk_disk *d;
	PRL_RESULT r;

	if (!phMap || pit_guid(sPit1Uuid, g1, &from) ||
	    pit_guid(sPit2Uuid, g2, &to))
		return PRL_ERR_INVALID_ARG;
	*phMap = PRL_INVALID_HANDLE;
	d = sdk_disk_begin(hDisk);
	if (!d)
		return PRL_ERR_INVALID_ARG;
	r = d->disk ? new_map(d, from, to, phMap) : PRL_ERR_UNINITIALIZED;
	sdk_disk_end(d);
	return r;
}

/* The map of @h with a reference, or NULL. */
static struct sdk_map *map_get(PRL_HANDLE h)
{
	return (struct sdk_map *)sdk_get(h, PHT_VIRTUAL_DISK_MAP);
}

/* The map's bit count, or its bytes per bit. */
static PRL_RESULT map_number(PRL_HANDLE hMap, PRL_UINT32_PTR out,
			     bool granularity)
{
	struct sdk_map *m;

	if (!out || !(m = map_get(hMap)))
		return PRL_ERR_INVALID_ARG;
	*out = (PRL_UINT32)(granularity ? m->map.granularity : m->map.nbits);
	sdk_put(&m->obj);
	return PRL_ERR_SUCCESS;
}

PRL_RESULT PrlDiskMap_GetSize(PRL_HANDLE hMap, PRL_UINT32_PTR pnSize)
{
	return map_number(hMap, pnSize, false);
}

PRL_RESULT PrlDiskMap_GetGranularity(PRL_HANDLE hMap, PRL_UINT32_PTR pnSize)
{
	return map_number(hMap, pnSize, true);
}

PRL_RESULT PrlDiskMap_Read(PRL_HANDLE hMap, PRL_VOID_PTR pBuffer,
			   PRL_UINT32_PTR pnCapacity)
{
	PRL_RESULT r = PRL_ERR_SUCCESS;
	struct sdk_map *m;
	PRL_UINT32 bytes;

	if (!pnCapacity || !(m = map_get(hMap)))
		return PRL_ERR_INVALID_ARG;
	bytes = (PRL_UINT32)((m->map.nbits + 7) / 8);
	if (pBuffer && *pnCapacity < bytes)
		r = PRL_ERR_BUFFER_OVERRUN;
	else if (pBuffer)
		memcpy(pBuffer, m->map.bits, bytes);
	*pnCapacity = bytes;
	sdk_put(&m->obj);
	return r;
}
