// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * sdk_calls DIR - the SDK API's contracts beyond the happy path, as a
 * program written against prld_sdk.h sees them (built with pkg-config
 * from a staged install, run under valgrind by tests/lib/sdk.t): handle
 * validation and reference counts, handle lists, the size-query protocol
 * of GetDiskInfo and DiskMap_Read, refusals with their PRL_RESULT, the
 * asynchronous create and switch with WaitForCompletion, cancelling from
 * a callback, and a handle shared by threads.  TAP on stdout.  DIR: an
 * empty scratch directory.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <prld_sdk.h>

static int tests;
static int failed;

static void is_res(PRL_RESULT got, PRL_RESULT want, const char *what)
{
	tests++;
	if (got == want) {
		printf("ok %d - %s\n", tests, what);
		return;
	}
	failed++;
	printf("not ok %d - %s\n# got 0x%08x, want 0x%08x\n", tests, what,
	       (unsigned int)got, (unsigned int)want);
}

static void ok(int cond, const char *what)
{
	is_res(cond ? PRL_ERR_SUCCESS : PRL_ERR_FAILURE, PRL_ERR_SUCCESS, what);
}

static char dir[4096];

static const char *path(const char *name)
{
	static char buf[4200];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

static PRL_DISK_PARAMETERS params(PRL_UINT64 mib)
{
	PRL_DISK_PARAMETERS p;

	memset(&p, 0, sizeof(p));
	p.m_SizeInSectors = mib << 11;
	return p;
}

static void handles(void)
{
	PRL_HANDLE list, pol, item, bogus = (PRL_HANDLE)(long)0x7fffffff;
	PRL_HANDLE_TYPE type;
	PRL_UINT32 n;

	is_res(PrlHandle_Free(bogus), PRL_ERR_INVALID_ARG,
	       "a made-up handle is refused, not dereferenced");
	is_res(PrlHandle_Free(PRL_INVALID_HANDLE), PRL_ERR_INVALID_ARG,
	       "the invalid handle is refused");
	is_res(PrlApi_CreateHandlesList(&list), PRL_ERR_SUCCESS, "a list");
	is_res(PrlDiskOpenPolicy_CreateOffset(&pol, 4096), PRL_ERR_SUCCESS,
	       "an offset policy");
	PrlHandle_GetType(pol, &type);
	ok(type == PHT_VIRTUAL_DISK_OPEN_POLICY, "its type is the SDK's value");
	PrlHandle_GetType(list, &type);
	ok(type == PHT_HANDLES_LIST, "the list's type");
	is_res(PrlHndlList_AddItem(list, pol), PRL_ERR_SUCCESS, "added");
	is_res(PrlHandle_Free(pol), PRL_ERR_SUCCESS, "our reference freed");
	is_res(PrlHndlList_GetItem(list, 0, &item), PRL_ERR_SUCCESS,
	       "the list kept it alive");
	ok(item == pol, "... the same handle");
	is_res(PrlHndlList_GetItem(list, 1, &bogus), PRL_ERR_INVALID_ARG,
	       "an index past the end is refused");
	is_res(PrlHndlList_RemoveItem(list, 0), PRL_ERR_SUCCESS, "removed");
	PrlHndlList_GetItemsCount(list, &n);
	ok(n == 0, "the list is empty");
	is_res(PrlHandle_GetType(item, &type), PRL_ERR_SUCCESS,
	       "GetItem's reference still holds it");
	is_res(PrlHandle_AddRef(item), PRL_ERR_SUCCESS, "AddRef");
	is_res(PrlHandle_Free(item), PRL_ERR_SUCCESS, "free one");
	is_res(PrlHandle_Free(item), PRL_ERR_SUCCESS, "free the last");
	is_res(PrlHandle_GetType(item, &type), PRL_ERR_INVALID_ARG,
	       "a freed handle is invalid");
	is_res(PrlHndlList_AddItem(list, list), PRL_ERR_INVALID_ARG,
	       "a list does not hold itself");
	is_res(PrlDisk_Read(list, &n, 4, 0), PRL_ERR_INVALID_ARG,
	       "a list is no disk");
	PrlHandle_Free(list);
}

static void refusals(void)
{
	PRL_DISK_PARAMETERS p = params(8);
	PRL_IMAGE_PARAMETERS st[2];
	PRL_HANDLE disk, list, pol1, pol2;

	memset(st, 0, sizeof(st));
	p.m_Parts = 2;
	p.m_Storages = st;
	is_res(PrlDisk_CreateDisk_Local(&disk, path("split"), &p, NULL, NULL),
	       PRL_ERR_UNIMPLEMENTED, "a split disk is not made");
	p.m_Parts = 1;
	st[0].Type = PRL_IMAGE_PLAIN;
	is_res(PrlDisk_CreateDisk_Local(&disk, path("plain"), &p, NULL, NULL),
	       PRL_ERR_UNIMPLEMENTED, "nor a plain one");
	ok(disk == PRL_INVALID_HANDLE, "... and no handle is handed out");
	is_res(PrlDisk_OpenDisk_Local(&disk, path("none"), PRL_DISK_READ, NULL),
	       PRL_ERR_FILE_NOT_FOUND, "a missing disk");
	p = params(8);
	is_res(PrlDisk_CreateDisk_Local(&disk, path("d"), &p, NULL, NULL),
	       PRL_ERR_SUCCESS, "a disk");
	PrlDisk_Free(disk);
	is_res(PrlDisk_CreateDisk_Local(&disk, path("d"), &p, NULL, NULL),
	       PRL_ERR_FILE_OR_DIR_ALREADY_EXISTS, "not over an existing one");
	is_res(PrlDisk_OpenDisk_Local(&disk, path("d"), PRL_DISK_READ | 0x20,
				      NULL),
	       PRL_ERR_UNIMPLEMENTED, "an open flag prld cannot honour");
	PrlApi_CreateHandlesList(&list);
	PrlDiskOpenPolicy_CreateOffset(&pol1, 512);
	PrlDiskOpenPolicy_CreateOffset(&pol2, 1024);
	PrlHndlList_AddItem(list, pol1);
	PrlHndlList_AddItem(list, pol2);
	is_res(PrlDisk_OpenDisk_Local(&disk, path("d"), PRL_DISK_READ, list),
	       PRL_ERR_INVALID_ARG, "two offset policies");
	PrlHandle_Free(pol1);
	PrlHandle_Free(pol2);
	PrlHandle_Free(list);
}

static void info_and_io(void)
{
	PRL_HANDLE disk, map;
	PRL_UINT32 size = 0, small = 8, bytes = 0;
	char buf[1024];

	PrlDisk_OpenDisk_Local(&disk, path("d"), PRL_DISK_READ, NULL);
	is_res(PrlDisk_GetDiskInfo(disk, NULL, &size), PRL_ERR_SUCCESS,
	       "GetDiskInfo: the size asked for");
	ok(size > sizeof(PRL_DISK_PARAMETERS) + sizeof(PRL_IMAGE_PARAMETERS),
	   "... covers the storages and strings");
	is_res(PrlDisk_GetDiskInfo(disk, (PRL_DISK_PARAMETERS *)buf, &small),
	       PRL_ERR_BUFFER_OVERRUN, "a buffer too small");
	ok(small == size, "... and the size is given back");
	is_res(PrlDisk_Read(disk, buf, 512, 8 << 11), PRL_ERR_INVALID_ARG,
	       "a read past the end");
	is_res(PrlDisk_Read(disk, buf, 1024, (8 << 11) - 1),
	       PRL_ERR_INVALID_ARG, "a read across the end");
	is_res(PrlDisk_Write(disk, buf, 512, 0), PRL_ERR_ACCESS_DENIED,
	       "a write to a disk open read-only");
	is_res(PrlDisk_GetChangesMap_Local(disk, "{00000000-1111-2222-3333-444444444444}",
					   NULL, &map),
	       PRL_ERR_INVALID_ARG, "a map from an unknown snapshot");
	is_res(PrlDisk_GetChangesMap_Local(disk, "not-a-guid", NULL, &map),
	       PRL_ERR_INVALID_ARG, "a map from no GUID at all");
	is_res(PrlDisk_GetChangesMap_Local(disk, NULL, NULL, &map),
	       PRL_ERR_SUCCESS, "the allocation map");
	is_res(PrlDiskMap_Read(map, buf, &bytes), PRL_ERR_BUFFER_OVERRUN,
	       "DiskMap_Read into no room");
	ok(bytes == 1, "... 8 clusters are one byte");
	PrlHandle_Free(map);
	is_res(PrlDisk_SwitchToState(disk, NULL,
				     &(PRL_GUID){ 1, 2, 3, { 4 } }, NULL, NULL),
	       PRL_ERR_ACCESS_DENIED, "a switch through a read-only handle");
	PrlDisk_Free(disk);
}

static PRL_BOOL refuse(PRL_INT32 done, PRL_INT32 total, PRL_VOID_PTR data)
{
	(void)done;
	(void)total;
	(*(int *)data)++;
	return PRL_FALSE;
}

static PRL_BOOL count(PRL_INT32 done, PRL_INT32 total, PRL_VOID_PTR data)
{
	(void)done;
	(void)total;
	(*(int *)data)++;
	return PRL_TRUE;
}

static void async_create(void)
{
	PRL_DISK_PARAMETERS p = params(4);
	PRL_HANDLE disk;
	char buf[512];
	int calls = 0;
	struct stat st;

	is_res(PrlDisk_CreateDisk_Local(&disk, path("async"), &p, count,
					&calls), PRL_ERR_SUCCESS,
	       "an asynchronous create returns a handle");
	is_res(PrlDisk_Read(disk, buf, sizeof(buf), 0), PRL_ERR_SUCCESS,
	       "a read on it waits for the disk");
	is_res(PrlDisk_WaitForCompletion(disk), PRL_ERR_SUCCESS,
	       "WaitForCompletion: the create's result");
	ok(calls == 2, "the callback ran at the start and the end");
	PrlDisk_Free(disk);
	calls = 0;
	is_res(PrlDisk_CreateDisk_Local(&disk, path("cancelled"), &p, refuse,
					&calls), PRL_ERR_SUCCESS,
	       "a create its callback will cancel");
	is_res(PrlDisk_WaitForCompletion(disk), PRL_ERR_OPERATION_WAS_CANCELED,
	       "WaitForCompletion reports the cancel");
	ok(calls == 1 && stat(path("cancelled"), &st) != 0,
	   "... nothing was made");
	is_res(PrlDisk_Read(disk, buf, sizeof(buf), 0), PRL_ERR_UNINITIALIZED,
	       "its handle has no disk");
	is_res(PrlDisk_WaitForCompletion(disk), PRL_ERR_SUCCESS,
	       "a result is reported once");
	PrlDisk_Free(disk);
	is_res(PrlDisk_CreateDisk_Local(&disk, path("freed"), &p, count,
					&calls), PRL_ERR_SUCCESS,
	       "a create freed at once");
	is_res(PrlDisk_Free(disk), PRL_ERR_SUCCESS, "... Free waits for it");
	ok(stat(path("freed/root.hds"), &st) == 0, "... and the disk is there");
}

static void *reader(void *h)
{
	static __thread char buf[65536];
	long i, bad = 0;

	for (i = 0; i < 200; i++)
		bad += PrlDisk_Read(h, buf, sizeof(buf), (i % 64) * 128) != 0;
	return (void *)bad;
}

static void threads(void)
{
	PRL_HANDLE disk;
	pthread_t t[4];
	void *bad;
	long sum = 0;
	int i;

	PrlDisk_OpenDisk_Local(&disk, path("d"), PRL_DISK_READ, NULL);
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, reader, disk);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], &bad);
		sum += (long)bad;
	}
	ok(sum == 0, "four threads read through one handle");
	PrlDisk_Free(disk);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	handles();
	refusals();
	info_and_io();
	async_create();
	threads();
	printf("1..%d\n", tests);
	return failed ? 1 : 0;
}
