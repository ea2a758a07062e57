/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * prld_sdk.h - the Virtuozzo/Parallels SDK's local virtual-disk API
 * (PHT_VIRTUAL_DISK and the handles it works with), implemented by
 * libprld over its own disk code.  A program written against the SDK's
 * disk calls includes this header instead of the SDK's and links with
 * `pkg-config --cflags --libs prld`.
 *
 * Names, types, structure layouts (packed, as the SDK's PRL_STRUCT) and
 * numeric values are the SDK's, so such programs build unchanged; the
 * implementation and these comments are prld's own.  Only the subset
 * below exists: no server connection, no VM calls, no PrlApi_Init (the
 * disk calls need none).
 *
 * Every call returns a PRL_RESULT: PRL_ERR_SUCCESS (0) or a negative
 * code; PRL_FAILED() tells them apart.  Handles are reference counted:
 * each one a call hands out is released with PrlHandle_Free (or, for a
 * disk, PrlDisk_Free).  Handles may be shared between threads; calls on
 * one disk handle run one at a time.
 */
#ifndef PRLD_SDK_H
#define PRLD_SDK_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- basic types (PrlTypes.h) --------------------------------------- */

typedef char PRL_CHAR;
typedef PRL_CHAR *PRL_CHAR_PTR;
typedef PRL_CHAR_PTR PRL_STR;
typedef const char *PRL_CONST_STR;

typedef unsigned char PRL_UINT8;
typedef unsigned short PRL_UINT16;
typedef unsigned int PRL_UINT32;
typedef PRL_UINT32 *PRL_UINT32_PTR;
typedef unsigned long long PRL_UINT64;
typedef PRL_UINT64 *PRL_UINT64_PTR;
typedef int PRL_INT32;
typedef long long PRL_INT64;

/* Zero is false, anything else true. */
typedef unsigned int PRL_BOOL;
#define PRL_TRUE	(1)
#define PRL_FALSE	(0)

typedef void PRL_VOID;
typedef PRL_VOID *PRL_VOID_PTR;
typedef const PRL_VOID *PRL_CONST_VOID_PTR;

/* An opaque handle; 0 is never a valid one. */
typedef int *PRL_HANDLE;
typedef PRL_HANDLE *PRL_HANDLE_PTR;
#define PRL_INVALID_HANDLE	(0)

typedef int PRL_RESULT;

/* The SDK's calling convention is the platform's default on x86-64. */
#ifndef PRL_CALL
#define PRL_CALL
#endif

/* A GUID in the Windows layout: {Data1-Data2-Data3-Data4[0..1]-Data4[2..7]}. */
typedef struct __attribute__((packed)) _PRL_GUID {
	PRL_UINT32 Data1;
	PRL_UINT16 Data2;
	PRL_UINT16 Data3;
	PRL_UINT8 Data4[8];
} PRL_GUID;
typedef PRL_GUID *PRL_GUID_PTR;
typedef const PRL_GUID *PRL_CONST_GUID_PTR;

/* ---- handle types (PrlEnums.h) -------------------------------------- */

typedef enum _PRL_HANDLE_TYPE {
	PHT_ERROR = 0,
	PHT_HANDLES_LIST = 0x1000002E,
	PHT_VIRTUAL_DISK = 0x1000002F,
	PHT_VIRTUAL_DISK_MAP = 0x1000005F,
	PHT_VIRTUAL_DISK_OPEN_POLICY = 0x10000060,
} PRL_HANDLE_TYPE;
typedef PRL_HANDLE_TYPE *PRL_HANDLE_TYPE_PTR;

/* ---- result codes (PrlErrors.h, PrlErrorsValues.h) ------------------ */

#define PRL_SUCCEEDED(err)	((PRL_RESULT)(err) >= 0)
#define PRL_FAILED(err)		((PRL_RESULT)(err) < 0)
/* The SDK writes error numbers as hexadecimal digits after 0x8000.... */
#define PRL_RESULT_DECLARE_ERROR(err)	((PRL_RESULT)(0x80000000 + 0x##err))
#define PRL_RESULT_DECLARE_SUCCESS(err)	((PRL_RESULT)(err))

#define PRL_ERR_SUCCESS			PRL_RESULT_DECLARE_SUCCESS(0)
#define PRL_ERR_UNEXPECTED		PRL_RESULT_DECLARE_ERROR(1)
#define PRL_ERR_OUT_OF_MEMORY		PRL_RESULT_DECLARE_ERROR(2)
#define PRL_ERR_INVALID_ARG		PRL_RESULT_DECLARE_ERROR(3)
#define PRL_ERR_INVALID_HANDLE		PRL_RESULT_DECLARE_ERROR(4)
#define PRL_ERR_ACCESS_DENIED		PRL_RESULT_DECLARE_ERROR(5)
#define PRL_ERR_BUFFER_OVERRUN		PRL_RESULT_DECLARE_ERROR(6)
#define PRL_ERR_UNINITIALIZED		PRL_RESULT_DECLARE_ERROR(7)
#define PRL_ERR_UNIMPLEMENTED		PRL_RESULT_DECLARE_ERROR(8)
#define PRL_ERR_FAILURE			PRL_RESULT_DECLARE_ERROR(9)
#define PRL_ERR_FILE_NOT_FOUND		PRL_RESULT_DECLARE_ERROR(10)
#define PRL_ERR_OPERATION_PENDING	PRL_RESULT_DECLARE_ERROR(13)
#define PRL_ERR_NO_DATA			PRL_RESULT_DECLARE_ERROR(14)
#define PRL_ERR_OPERATION_FAILED	PRL_RESULT_DECLARE_ERROR(16)
#define PRL_ERR_INVALID_PARAM		PRL_RESULT_DECLARE_ERROR(18)
#define PRL_ERR_FILE_READ_ERROR		PRL_RESULT_DECLARE_ERROR(110)
#define PRL_ERR_CONCURRENT_COMMAND_EXECUTING	PRL_RESULT_DECLARE_ERROR(242)
#define PRL_ERR_OPERATION_WAS_CANCELED	PRL_RESULT_DECLARE_ERROR(275)
#define PRL_ERR_OUT_OF_DISK_SPACE	PRL_RESULT_DECLARE_ERROR(297)
#define PRL_ERR_FILE_OR_DIR_ALREADY_EXISTS	PRL_RESULT_DECLARE_ERROR(355)
#define PRL_ERR_READONLY_FILESYSTEM	PRL_RESULT_DECLARE_ERROR(356)
#define PRL_ERR_FILE_WRITE_ERROR	PRL_RESULT_DECLARE_ERROR(372)

/* ---- disk types (PrlDisk.h) ----------------------------------------- */

/* PrlDisk_SwitchToState's progress runs 0..MAX, then COMPLETED. */
#define PRL_DISK_PROGRESS_MIN		0
#define PRL_DISK_PROGRESS_MAX		1000
#define PRL_DISK_PROGRESS_COMPLETED	1005
#define PRL_STATE_PROGRESS_MIN		0
#define PRL_STATE_PROGRESS_MAX		1000
#define PRL_STATE_PROGRESS_COMPLETED	1005

/* How a storage keeps its data. */
typedef PRL_UINT32 PRL_IMAGE_TYPE;
#define PRL_IMAGE_INVALID		0
#define PRL_IMAGE_PLAIN			1	/* raw file */
#define PRL_IMAGE_COMPRESSED		2	/* expanding: header + BAT */
#define PRL_IMAGE_TRY_GUESS		100

/* PrlDisk_OpenDisk_Local's flags (the ones prld honours). */
typedef PRL_UINT32 PRL_DISK_OPEN_FLAGS;
#define PRL_DISK_NOTHING		0x00000000
#define PRL_DISK_READ			0x00000001
#define PRL_DISK_WRITE			0x00000002
#define PRL_DISK_READ_LOCK		0x00000004
#define PRL_DISK_FAKE_OPEN		0x00000008	/* parameters only */
/* File access hints: accepted and ignored (prld picks its own I/O). */
#define PRL_DISK_FOPS_MASK		0x000003C0
#define PRL_DISK_NOT_LIMIT_HANDLES	0x00004000
#define PRL_DISK_NO_SPACE_CHECKS	0x00008000
#define PRL_DISK_ALLOW_DATA_MODIFY	0x00010000
#define PRL_DISK_ALIGN_REQUESTS		0x00020000
#define PRL_DISK_DEFAULT_FLAG		(PRL_DISK_READ | PRL_DISK_WRITE)

/* PRL_STATES_CALLBACK's kinds. */
typedef PRL_INT32 PRL_STATES_CALLBACK_TYPE;
#define PRL_STATE_DISK_CALLBACK				0x1000
#define PRL_STATE_CORE_FIRST_COMPLETE_CALLBACK		0x1001
#define PRL_STATE_CORE_FULL_COMPLETE_CALLBACK		0x1002
#define PRL_STATE_CORE_START_DISK_PROCESS_CALLBACK	0x1003

/* One storage (a piece of the disk); prld disks have exactly one. */
typedef struct __attribute__((packed)) __PRL_IMAGE_PARAMETERS {
	PRL_IMAGE_TYPE Type;
	PRL_UINT64 uStart;		/* sectors */
	PRL_UINT64 uSize;		/* sectors */
	PRL_CHAR_PTR pFileName;
} PRL_IMAGE_PARAMETERS;
typedef PRL_IMAGE_PARAMETERS *PRL_IMAGE_PARAMETERS_PTR;

typedef struct __attribute__((packed)) __PRL_DISK_PARAMETERS {
	PRL_UINT32 m_Heads;
	PRL_UINT32 m_Cylinders;
	PRL_UINT32 m_Sectors;		/* per track */
	PRL_UINT64 m_SizeInSectors;	/* 512-byte sectors */
	PRL_UINT32 m_BlockSize;		/* cluster, in sectors */
	PRL_UINT32 m_Parts;		/* entries of m_Storages */
	PRL_IMAGE_PARAMETERS_PTR m_Storages;
	PRL_GUID Uid;			/* the descriptor's <UID>; zero if none */
	PRL_CHAR_PTR Name;		/* the descriptor's <Name> */
} PRL_DISK_PARAMETERS;
typedef PRL_DISK_PARAMETERS *PRL_DISK_PARAMETERS_PTR;
typedef const PRL_DISK_PARAMETERS *PRL_CONST_DISK_PARAMETERS_PTR;

/*
 * Progress of an asynchronous create: (done, total, user data); return
 * PRL_FALSE at the start to cancel.  States: (kind, progress, data).
 * Both are called from libprld's worker thread.
 */
typedef PRL_BOOL (PRL_CALL *PRL_DISK_CALLBACK)(PRL_INT32 iComplete,
					       PRL_INT32 iTotal,
					       PRL_VOID_PTR pParam);
typedef PRL_BOOL (PRL_CALL *PRL_STATES_CALLBACK)(
	PRL_STATES_CALLBACK_TYPE iCallbackType, PRL_INT32 iProgress,
	PRL_VOID_PTR pParameter);

/* ---- handles (PrlApiCore.h) ----------------------------------------- */

PRL_RESULT PrlHandle_AddRef(PRL_HANDLE handle);
PRL_RESULT PrlHandle_Free(PRL_HANDLE handle);
PRL_RESULT PrlHandle_GetType(PRL_HANDLE handle, PRL_HANDLE_TYPE_PTR type);

/* A list of handles; it holds a reference to each item it contains. */
PRL_RESULT PrlApi_CreateHandlesList(PRL_HANDLE_PTR phHandlesList);
PRL_RESULT PrlHndlList_GetItemsCount(PRL_HANDLE hHandlesList,
				     PRL_UINT32_PTR pnItemsCount);
PRL_RESULT PrlHndlList_AddItem(PRL_HANDLE hHandlesList, PRL_HANDLE hItem);
/* The item gets a new reference: free it with PrlHandle_Free. */
PRL_RESULT PrlHndlList_GetItem(PRL_HANDLE hHandlesList,
			       PRL_UINT32 nItemIndex, PRL_HANDLE_PTR phItem);
PRL_RESULT PrlHndlList_RemoveItem(PRL_HANDLE hHandlesList,
				  PRL_UINT32 nItemIndex);

/* ---- virtual disks (PrlDisk.h) -------------------------------------- */

/*
 * A new disk directory @pDiskName (DiskDescriptor.xml + one expanding
 * image) of pParams->m_SizeInSectors, clusters of m_BlockSize sectors
 * (0: 1 MiB), geometry from m_Heads/m_Cylinders/m_Sectors (all 0:
 * ploop's rule), opened read-write as *pHandle.  At most one storage, of
 * type PRL_IMAGE_COMPRESSED (or TRY_GUESS).  With @pCallback the call
 * returns at once and the disk is made by a worker thread; the handle's
 * other calls, and PrlDisk_WaitForCompletion, wait for it.
 */
PRL_RESULT PrlDisk_CreateDisk_Local(PRL_HANDLE_PTR pHandle,
				    PRL_CONST_STR pDiskName,
				    PRL_CONST_DISK_PARAMETERS_PTR pParams,
				    const PRL_DISK_CALLBACK pCallback,
				    PRL_CONST_VOID_PTR pAdditional);

/*
 * Open a disk: a disk directory, its DiskDescriptor.xml, or a bare image.
 * @hPolicyList: NULL, or a PHT_HANDLES_LIST of open policies (at most one
 * offset policy).
 */
PRL_RESULT PrlDisk_OpenDisk_Local(PRL_HANDLE_PTR pHandle,
				  PRL_CONST_STR pDiskName,
				  const PRL_DISK_OPEN_FLAGS OpenFlags,
				  PRL_HANDLE hPolicyList);

/* Every read and write of a disk opened with it is shifted by @uiOffset bytes. */
PRL_RESULT PrlDiskOpenPolicy_CreateOffset(PRL_HANDLE_PTR pHandle,
					  PRL_UINT64 uiOffset);

/* Wait for the handle's asynchronous call; its result. */
PRL_RESULT PrlDisk_WaitForCompletion(const PRL_HANDLE Handle);

/*
 * Revert to snapshot @pUid: the top delta is discarded and a new empty one
 * goes over @pUid; the handle (opened for writing) goes on with the new
 * state.  @pDirectoryName is not used.  With @pCallback the switch runs
 * in a worker thread (see PrlDisk_WaitForCompletion).
 */
PRL_RESULT PrlDisk_SwitchToState(const PRL_HANDLE Handle,
				 PRL_CONST_STR pDirectoryName,
				 PRL_CONST_GUID_PTR pUid,
				 const PRL_STATES_CALLBACK pCallback,
				 PRL_VOID_PTR pParameter);

/* Close the disk cleanly and release the handle. */
PRL_RESULT PrlDisk_Free(const PRL_HANDLE Handle);

/*
 * @uiSize bytes at sector @uiBlockOffset (after the open policy's offset).
 * Past the end of the disk: PRL_ERR_INVALID_ARG, nothing moved.
 */
PRL_RESULT PrlDisk_Write(const PRL_HANDLE Handle, PRL_CONST_VOID_PTR pBlock,
			 const PRL_UINT32 uiSize,
			 const PRL_UINT64 uiBlockOffset);
PRL_RESULT PrlDisk_Read(const PRL_HANDLE Handle, PRL_VOID_PTR pBlock,
			const PRL_UINT32 uiSize,
			const PRL_UINT64 uiBlockOffset);

/* Make every completed write durable. */
PRL_RESULT PrlDisk_FlushCache(const PRL_HANDLE Handle);

/*
 * The disk's parameters in one caller-owned buffer: PRL_DISK_PARAMETERS,
 * its storages and strings after it (the pointers point inside).  With
 * *BufferSize 0 the call only sets *BufferSize to the size needed; a
 * smaller buffer is PRL_ERR_BUFFER_OVERRUN with the size set.  The size
 * is the one seen through the open policy.
 */
PRL_RESULT PrlDisk_GetDiskInfo(const PRL_HANDLE Handle,
			       PRL_DISK_PARAMETERS_PTR pDiskParameters,
			       PRL_UINT32_PTR BufferSize);

/*
 * The clusters written in the layers above snapshot @sPit1Uuid up to and
 * including @sPit2Uuid (NULL: the top); NULL @sPit1Uuid: every allocated
 * cluster.  GUIDs with or without braces.  *phMap is a
 * PHT_VIRTUAL_DISK_MAP.
 */
PRL_RESULT PrlDisk_GetChangesMap_Local(PRL_HANDLE hDisk,
				       PRL_CONST_STR sPit1Uuid,
				       PRL_CONST_STR sPit2Uuid,
				       PRL_HANDLE_PTR phMap);

/* Bits in the map (clusters of the disk). */
PRL_RESULT PrlDiskMap_GetSize(PRL_HANDLE hMap, PRL_UINT32_PTR pnSize);
/* Bytes of the disk per bit. */
PRL_RESULT PrlDiskMap_GetGranularity(PRL_HANDLE hMap, PRL_UINT32_PTR pnSize);
/*
 * The bits, bit i of byte i / 8 (least significant first) for cluster i.
 * *pnCapacity: the buffer's size in, the map's bytes out; a NULL buffer
 * asks for the size, a small one is PRL_ERR_BUFFER_OVERRUN.
 */
PRL_RESULT PrlDiskMap_Read(PRL_HANDLE hMap, PRL_VOID_PTR pBuffer,
			   PRL_UINT32_PTR pnCapacity);

#ifdef __cplusplus
}
#endif

#endif /* PRLD_SDK_H */
