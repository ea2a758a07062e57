// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sdk_handle.c - the SDK's handles: a table from handle numbers to
 * reference-counted objects, PrlHandle_*, the PHT_HANDLES_LIST container,
 * and the mapping of libprld's errno results to PRL_RESULT codes.
 */
#include <errno.h>
#include <search.h>
#include <stdlib.h>

#include "sdk.h"

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static void *table;			/* tsearch tree of struct sdk_obj */
static uintptr_t last_id;

static int by_id(const void *a, const void *b)
{
	const struct sdk_obj *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

PRL_HANDLE sdk_register(struct sdk_obj *obj, PRL_HANDLE_TYPE type,
			void (*destroy)(struct sdk_obj *obj))
{
	PRL_HANDLE h = NULL;

	obj->type = type;
	obj->refs = 1;
	obj->destroy = destroy;
	pthread_mutex_lock(&table_lock);
	obj->id = ++last_id;
	if (tsearch(obj, &table, by_id))
		h = (PRL_HANDLE)obj->id;
	pthread_mutex_unlock(&table_lock);
	return h;
}

/* Under table_lock: the object numbered @h, or NULL. */
static struct sdk_obj *lookup(PRL_HANDLE h)
{
	struct sdk_obj key = { .id = (uintptr_t)h };
	void *node;

	if (!h)
		return NULL;
	node = tfind(&key, &table, by_id);
	return node ? *(struct sdk_obj **)node : NULL;
}

struct sdk_obj *sdk_get(PRL_HANDLE h, PRL_HANDLE_TYPE type)
{
	struct sdk_obj *obj;

	pthread_mutex_lock(&table_lock);
	obj = lookup(h);
	if (obj && type != PHT_ERROR && obj->type != type)
		obj = NULL;
	if (obj)
		obj->refs++;
	pthread_mutex_unlock(&table_lock);
	return obj;
}

void sdk_ref(struct sdk_obj *obj)
{
	pthread_mutex_lock(&table_lock);
	obj->refs++;
	pthread_mutex_unlock(&table_lock);
}

void sdk_put(struct sdk_obj *obj)
{
	bool last;

	pthread_mutex_lock(&table_lock);
	last = --obj->refs == 0;
	if (last)	/* from here on its number is invalid */
		tdelete(obj, &table, by_id);
	pthread_mutex_unlock(&table_lock);
	if (last)
		obj->destroy(obj);
}

PRL_RESULT sdk_result(int ret)
{
	switch (ret) {
	case 0:
		return PRL_ERR_SUCCESS;
	case -ENOMEM:
		return PRL_ERR_OUT_OF_MEMORY;
	case -EINVAL:
	case -ERANGE:
	case -EOVERFLOW:
	case -EFBIG:
	case -ENXIO:		/* past the end of the disk */
		return PRL_ERR_INVALID_ARG;
	case -ENOENT:
	case -ENOTDIR:
		return PRL_ERR_FILE_NOT_FOUND;
	case -EACCES:
	case -EPERM:
	case -EBADF:		/* not open for that */
		return PRL_ERR_ACCESS_DENIED;
	case -EBUSY:
	case -EAGAIN:
		return PRL_ERR_CONCURRENT_COMMAND_EXECUTING;
	case -EEXIST:
	case -ENOTEMPTY:
		return PRL_ERR_FILE_OR_DIR_ALREADY_EXISTS;
	case -ENOSPC:
	case -EDQUOT:
		return PRL_ERR_OUT_OF_DISK_SPACE;
	case -EROFS:
		return PRL_ERR_READONLY_FILESYSTEM;
	case -EOPNOTSUPP:
	case -ENOSYS:
		return PRL_ERR_UNIMPLEMENTED;
	default:
		return PRL_ERR_OPERATION_FAILED;
	}
}

/* ---- PrlHandle_* ----------------------------------------------------- */

PRL_RESULT PrlHandle_AddRef(PRL_HANDLE handle)
{
	struct sdk_obj *obj = sdk_get(handle, PHT_ERROR);

	/* The reference sdk_get took is the one asked for. */
	return obj ? PRL_ERR_SUCCESS : PRL_ERR_INVALID_ARG;
}

PRL_RESULT PrlHandle_Free(PRL_HANDLE handle)
{
	struct sdk_obj *obj = sdk_get(handle, PHT_ERROR);

	if (!obj)
		return PRL_ERR_INVALID_ARG;
	sdk_put(obj);	/* ours */
	sdk_put(obj);	/* the caller's */
	return PRL_ERR_SUCCESS;
}

PRL_RESULT PrlHandle_GetType(PRL_HANDLE handle, PRL_HANDLE_TYPE_PTR type)
{
	struct sdk_obj *obj;

	if (!type)
		return PRL_ERR_INVALID_ARG;
	obj = sdk_get(handle, PHT_ERROR);
	if (!obj)
		return PRL_ERR_INVALID_ARG;
	*type = obj->type;
	sdk_put(obj);
	return PRL_ERR_SUCCESS;
}

/* ---- PHT_HANDLES_LIST ------------------------------------------------ */

struct sdk_list {
	struct sdk_obj obj;
	pthread_mutex_t lock;
	PRL_UINT32 count;
	struct sdk_obj **items;		/* each holds a reference */
};

static void list_destroy(struct sdk_obj *obj)
{
	struct sdk_list *l = (struct sdk_list *)obj;
	PRL_UINT32 i;

	for (i = 0; i < l->count; i++)
		sdk_put(l->items[i]);
	free(l->items);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

PRL_RESULT PrlApi_CreateHandlesList(PRL_HANDLE_PTR phHandlesList)
{
	struct sdk_list *l;

	if (!phHandlesList)
		return PRL_ERR_INVALID_ARG;
	l = calloc(1, sizeof(*l));
	if (!l)
		return PRL_ERR_OUT_OF_MEMORY;
	pthread_mutex_init(&l->lock, NULL);
	*phHandlesList = sdk_register(&l->obj, PHT_HANDLES_LIST, list_destroy);
	if (!*phHandlesList) {
		pthread_mutex_destroy(&l->lock);
		free(l);
		return PRL_ERR_OUT_OF_MEMORY;
	}
	return PRL_ERR_SUCCESS;
}

static struct sdk_list *list_get(PRL_HANDLE h)
{
	struct sdk_obj *obj = sdk_get(h, PHT_HANDLES_LIST);

	if (!obj)
		return NULL;
	pthread_mutex_lock(&((struct sdk_list *)obj)->lock);
	return (struct sdk_list *)obj;
}

static void list_put(struct sdk_list *l)
{
	pthread_mutex_unlock(&l->lock);
	sdk_put(&l->obj);
}

PRL_RESULT PrlHndlList_GetItemsCount(PRL_HANDLE hHandlesList,
				     PRL_UINT32_PTR pnItemsCount)
{
	struct sdk_list *l;

	if (!pnItemsCount || !(l = list_get(hHandlesList)))
		return PRL_ERR_INVALID_ARG;
	*pnItemsCount = l->count;
	list_put(l);
	return PRL_ERR_SUCCESS;
}

PRL_RESULT PrlHndlList_AddItem(PRL_HANDLE hHandlesList, PRL_HANDLE hItem)
{
	struct sdk_obj *item, **grown;
	struct sdk_list *l;

	item = sdk_get(hItem, PHT_ERROR);	/* the list's reference */
	if (!item)
		return PRL_ERR_INVALID_ARG;
	l = list_get(hHandlesList);
	if (!l || item == &l->obj) {
		if (l)
			list_put(l);
		sdk_put(item);
		return PRL_ERR_INVALID_ARG;
	}
	grown = realloc(l->items, (l->count + 1) * sizeof(*grown));
	if (!grown) {
		list_put(l);
		sdk_put(item);
		return PRL_ERR_OUT_OF_MEMORY;
	}
	l->items = grown;
	l->items[l->count++] = item;
	list_put(l);
	return PRL_ERR_SUCCESS;
}

PRL_RESULT PrlHndlList_GetItem(PRL_HANDLE hHandlesList,
			       PRL_UINT32 nItemIndex, PRL_HANDLE_PTR phItem)
{
	struct sdk_list *l;

	if (!phItem || !(l = list_get(hHandlesList)))
		return PRL_ERR_INVALID_ARG;
	if (nItemIndex >= l->count) {
		list_put(l);
		return PRL_ERR_INVALID_ARG;
	}
	sdk_ref(l->items[nItemIndex]);		/* the caller's */
	*phItem = (PRL_HANDLE)l->items[nItemIndex]->id;
	list_put(l);
	return PRL_ERR_SUCCESS;
}

PRL_RESULT PrlHndlList_RemoveItem(PRL_HANDLE hHandlesList,
				  PRL_UINT32 nItemIndex)
{
	struct sdk_obj *item;
	struct sdk_list *l;
	PRL_UINT32 i;

	if (!(l = list_get(hHandlesList)))
		return PRL_ERR_INVALID_ARG;
	if (nItemIndex >= l->count) {
		list_put(l);
		return PRL_ERR_INVALID_ARG;
	}
	item = l->items[nItemIndex];
	for (i = nItemIndex; i + 1 < l->count; i++)
		l->items[i] = l->items[i + 1];
	l->count--;
	list_put(l);
	sdk_put(item);
	return PRL_ERR_SUCCESS;
}
