// SPDX-License-Identifier: MIT
/*
 * sdk-disk - a program written against the Virtuozzo SDK's virtual-disk
 * calls, built on libprld:
 *
 *   cc -o sdk-disk sdk-disk.c $(pkg-config --cflags --libs prld)
 *
 *   sdk-disk create DIR MIB           a new disk of MIB MiB, 1 MiB clusters
 *   sdk-disk info DIR                 its parameters (PrlDisk_GetDiskInfo)
 *   sdk-disk write DIR SECTOR         stdin into the disk at SECTOR
 *   sdk-disk read DIR OFFSET BYTES    BYTES from the start of a disk opened
 *                                     with an offset policy of OFFSET bytes
 *   sdk-disk map DIR [FROM [TO]]      the changes map's bits to stdout
 *   sdk-disk switch DIR GUID BYTES [async]
 *                                     write over the start, switch to the
 *                                     snapshot GUID through the same open
 *                                     handle, print its first BYTES
 *
 * Every failure prints the call and its PRL_RESULT and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <prld_sdk.h>

#define SECTOR 512

static int check(PRL_RESULT r, const char *call)
{
	if (PRL_FAILED(r)) {
		fprintf(stderr, "sdk-disk: %s: PRL_RESULT 0x%08x\n", call,
			(unsigned int)r);
		exit(1);
	}
	return 0;
}

static PRL_HANDLE open_disk(const char *dir, PRL_DISK_OPEN_FLAGS flags,
			    PRL_UINT64 offset)
{
	PRL_HANDLE disk, list = PRL_INVALID_HANDLE, policy;

	if (offset) {
		check(PrlApi_CreateHandlesList(&list), "PrlApi_CreateHandlesList");
		check(PrlDiskOpenPolicy_CreateOffset(&policy, offset),
		      "PrlDiskOpenPolicy_CreateOffset");
		check(PrlHndlList_AddItem(list, policy), "PrlHndlList_AddItem");
		check(PrlHandle_Free(policy), "PrlHandle_Free");
	}
	check(PrlDisk_OpenDisk_Local(&disk, dir, flags, list),
	      "PrlDisk_OpenDisk_Local");
	if (list)
		check(PrlHandle_Free(list), "PrlHandle_Free");
	return disk;
}

static int cmd_create(const char *dir, const char *mib)
{
	PRL_DISK_PARAMETERS params = { 0 };
	PRL_HANDLE disk;

	params.m_SizeInSectors = strtoull(mib, NULL, 10) << 11;
	params.m_BlockSize = 2048;
	check(PrlDisk_CreateDisk_Local(&disk, dir, &params, NULL, NULL),
	      "PrlDisk_CreateDisk_Local");
	return check(PrlDisk_Free(disk), "PrlDisk_Free");
}

static int cmd_info(const char *dir)
{
	PRL_DISK_PARAMETERS *p;
	PRL_UINT32 size = 0;
	PRL_HANDLE disk = open_disk(dir, PRL_DISK_READ, 0);
	const PRL_GUID *u;

	check(PrlDisk_GetDiskInfo(disk, NULL, &size), "PrlDisk_GetDiskInfo");
	p = malloc(size);
	if (!p)
		return 1;
	check(PrlDisk_GetDiskInfo(disk, p, &size), "PrlDisk_GetDiskInfo");
	u = &p->Uid;
	printf("size_sectors=%llu\nblock_sectors=%u\nchs=%u/%u/%u\n"
	       "storages=%u\nstorage_type=%u\nstorage_sectors=%llu\n"
	       "storage_file=%s\nname=%s\n",
	       (unsigned long long)p->m_SizeInSectors, p->m_BlockSize,
	       p->m_Cylinders, p->m_Heads, p->m_Sectors, p->m_Parts,
	       p->m_Storages[0].Type,
	       (unsigned long long)p->m_Storages[0].uSize,
	       p->m_Storages[0].pFileName, p->Name);
	printf("uid={%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}\n",
	       u->Data1, u->Data2, u->Data3, u->Data4[0], u->Data4[1],
	       u->Data4[2], u->Data4[3], u->Data4[4], u->Data4[5],
	       u->Data4[6], u->Data4[7]);
	free(p);
	return check(PrlDisk_Free(disk), "PrlDisk_Free");
}

/* All of stdin (malloc'd), its length in *len. */
static char *slurp(size_t *len)
{
	size_t cap = 1 << 20, n;
	char *buf = malloc(cap), *grown;

	*len = 0;
	while (buf && (n = fread(buf + *len, 1, cap - *len, stdin)) > 0) {
		*len += n;
		if (*len == cap) {
			grown = realloc(buf, cap *= 2);
			if (!grown)
				free(buf);
			buf = grown;
		}
	}
	return buf;
}

static int cmd_write(const char *dir, const char *sector)
{
	PRL_HANDLE disk = open_disk(dir, PRL_DISK_READ | PRL_DISK_WRITE, 0);
	size_t len;
	char *buf = slurp(&len);

	if (!buf)
		return 1;
	check(PrlDisk_Write(disk, buf, (PRL_UINT32)len,
			    strtoull(sector, NULL, 10)), "PrlDisk_Write");
	free(buf);
	check(PrlDisk_FlushCache(disk), "PrlDisk_FlushCache");
	return check(PrlDisk_Free(disk), "PrlDisk_Free");
}

/* @bytes from sector 0 of @disk to stdout. */
static void print_start(PRL_HANDLE disk, PRL_UINT32 bytes)
{
	char *buf = malloc(bytes);

	if (!buf)
		exit(1);
	check(PrlDisk_Read(disk, buf, bytes, 0), "PrlDisk_Read");
	fwrite(buf, 1, bytes, stdout);
	free(buf);
}

static int cmd_read(const char *dir, const char *offset, const char *bytes)
{
	PRL_HANDLE disk = open_disk(dir, PRL_DISK_READ,
				    strtoull(offset, NULL, 10));

	print_start(disk, (PRL_UINT32)strtoul(bytes, NULL, 10));
	return check(PrlDisk_Free(disk), "PrlDisk_Free");
}

static int cmd_map(const char *dir, const char *from, const char *to)
{
	PRL_HANDLE disk = open_disk(dir, PRL_DISK_READ, 0), map;
	PRL_UINT32 gran, bits, bytes = 0;
	unsigned char *buf;

	check(PrlDisk_GetChangesMap_Local(disk, from, to, &map),
	      "PrlDisk_GetChangesMap_Local");
	check(PrlDiskMap_GetGranularity(map, &gran), "PrlDiskMap_GetGranularity");
	check(PrlDiskMap_GetSize(map, &bits), "PrlDiskMap_GetSize");
	check(PrlDiskMap_Read(map, NULL, &bytes), "PrlDiskMap_Read");
	buf = malloc(bytes);
	if (!buf)
		return 1;
	check(PrlDiskMap_Read(map, buf, &bytes), "PrlDiskMap_Read");
	fprintf(stderr, "granularity=%u bits=%u bytes=%u\n", gran, bits, bytes);
	fwrite(buf, 1, bytes, stdout);
	free(buf);
	check(PrlHandle_Free(map), "PrlHandle_Free");
	return check(PrlDisk_Free(disk), "PrlDisk_Free");
}

static PRL_BOOL on_state(PRL_STATES_CALLBACK_TYPE kind, PRL_INT32 progress,
			 PRL_VOID_PTR data)
{
	fprintf(stderr, "%s: callback 0x%x %d\n", (const char *)data,
		(unsigned int)kind, progress);
	return PRL_TRUE;
}

static int cmd_switch(const char *dir, const char *guid, const char *bytes,
		      int async)
{
	PRL_HANDLE disk = open_disk(dir, PRL_DISK_READ | PRL_DISK_WRITE, 0);
	static char junk[64 * SECTOR];
	unsigned int v[11];
	PRL_GUID uid;
	int i;

	if (sscanf(guid, "{%8x-%4x-%4x-%2x%2x-%2x%2x%2x%2x%2x%2x}", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8],
		   &v[9], &v[10]) != 11)
		return 1;
	uid.Data1 = v[0];
	uid.Data2 = (PRL_UINT16)v[1];
	uid.Data3 = (PRL_UINT16)v[2];
	for (i = 0; i < 8; i++)
		uid.Data4[i] = (PRL_UINT8)v[3 + i];
	/* What the switch must throw away. */
	memset(junk, 0xee, sizeof(junk));
	check(PrlDisk_Write(disk, junk, sizeof(junk), 0), "PrlDisk_Write");
	if (async) {
		check(PrlDisk_SwitchToState(disk, NULL, &uid, on_state,
					    "switch"), "PrlDisk_SwitchToState");
		check(PrlDisk_WaitForCompletion(disk),
		      "PrlDisk_WaitForCompletion");
	} else {
		check(PrlDisk_SwitchToState(disk, NULL, &uid, NULL, NULL),
		      "PrlDisk_SwitchToState");
	}
	print_start(disk, (PRL_UINT32)strtoul(bytes, NULL, 10));
	return check(PrlDisk_Free(disk), "PrlDisk_Free");
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 2 ? argv[1] : "";

	if (!strcmp(cmd, "create") && argc == 4)
		return cmd_create(argv[2], argv[3]);
	if (!strcmp(cmd, "info") && argc == 3)
		return cmd_info(argv[2]);
	if (!strcmp(cmd, "write") && argc == 4)
		return cmd_write(argv[2], argv[3]);
	if (!strcmp(cmd, "read") && argc == 5)
		return cmd_read(argv[2], argv[3], argv[4]);
	if (!strcmp(cmd, "map") && argc >= 3 && argc <= 5)
		return cmd_map(argv[2], argc > 3 ? argv[3] : NULL,
			       argc > 4 ? argv[4] : NULL);
	if (!strcmp(cmd, "switch") && (argc == 5 || argc == 6))
		return cmd_switch(argv[2], argv[3], argv[4], argc == 6);
	fprintf(stderr, "usage: see the comment at the top of sdk-disk.c\n");
	return 2;
}
