/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Contracts between the merge_*.c files that delete a snapshot (the
 * overview, crash safety and locking are in merge.c).  Not installed.
 *
 *   merge.c          planning a delete, the step order of the offline ones
 *   merge_state.c    struct merge's life, the disk lock, test crash points
 *   merge_journal.c  the <descriptor>.merge journal
 *   merge_copy.c     opening P and C, copying C's clusters into P
 *   merge_up.c       the other way: S's clusters up into its child C
 *   merge_online.c   a delete on an attached device (PRLD_MERGE_*)
 *   merge_recover.c  rolling an interrupted delete forward
 *   merge_job.c      the worker thread and the prld_job_* API
 *
 * One struct merge carries an operation through all of them, because
 * recovery replays the same steps a fresh delete runs.
 */
#ifndef PRLD_MERGE_H
#define PRLD_MERGE_H

#include <pthread.h>

#include "internal.h"

/* The journal is "<descriptor>.merge". */
#define MERGE_JOURNAL_SUFFIX	".merge"
/* prld_merge_start's and merge_recover's refusals of a path. */
#define MERGE_NEED	"deleting a snapshot needs"
/* Tests only: offline deletes merge up, as online ones do. */
#define MERGE_UP_ENV	"PRLD_TEST_MERGE_UP"

/*
 * MK_MERGE: the child's clusters down into the snapshot (P's file stays,
 * with C's GUID: offline deletes).  MK_UP: the snapshot's clusters up
 * into its child (C's file stays, S's goes: deletes on an attached device,
 * whose top or lower layer takes them, and their recovery).
 */
enum merge_kind { MK_LEAF, MK_MERGE, MK_UP };

struct merge {
	struct prld_desc *d;
	char *journal;			/* <descriptor>.merge */
	char *top_path;
	int lock_fd;			/* the top's exclusive flock */
	enum merge_kind kind;
	bool resume;			/* rolling forward a journal */
	bool journaled;			/* the journal is on disk */
	char sguid[PRLD_GUID_LEN + 1];	/* the snapshot deleted (P) */
	char cguid[PRLD_GUID_LEN + 1];	/* its child (C), merge only */
	char *sfile, *cfile;		/* <File> values */
	char *spath, *cpath;
	enum prld_layer_kind skind;
	struct prld_image *pimg;	/* P, writable */
	struct prld_image *cimg;	/* C: header only; MK_UP: writable */
	uint32_t *cbat;			/* C's BAT, native */
	const char *crash;		/* PRLD_TEST_MERGE_CRASH */

	/* MK_UP (merge_up.c): S read raw, C takes its clusters. */
	struct prld_image *simg;	/* S, header only */
	uint32_t *sbat;			/* S's BAT, native; NULL: plain S */
	int dir_fd;			/* the disk directory's flock */
	/* Attached (merge_online.c): the device holds the top's lock. */
	char device[64];		/* "/dev/prldN", or "" offline */
	int dev_fd;			/* open while the merge runs */
	int slayer;			/* S's layer in the device, or -1 */
	bool child_top;			/* C is the device's top */
	bool dropped;			/* S left the device's chain */

	/* Progress and the result, from the worker to prld_job_wait. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t done, total;
	unsigned int pace;		/* copying busy this % of the time */
	bool counted;			/* total is known */
	bool finished;
	int result;
	struct prld_err err;
};

/* ---- merge_state.c ------------------------------------------------ */

/*
 * Zero @m, set up its mutex and condition and the journal's name next to
 * @desc_path.  Whatever it returns, merge_fini() undoes it.
 */
int merge_init(struct merge *m, const char *desc_path, struct prld_err *err);
/* Close the images, drop the lock and the model; @m can be reused. */
void merge_release(struct merge *m);
/* merge_release(), then the mutex and condition go. */
void merge_fini(struct merge *m);
/* Load @desc_path and lock its top; the model is the locked top's. */
int merge_lock_disk(struct merge *m, const char *desc_path,
		    struct prld_err *err);
/*
 * Test builds only (PRLD_TEST_HOOKS): _exit(86) if PRLD_TEST_MERGE_CRASH
 * names @step (":@k" if k).  Elsewhere it does nothing.
 */
void merge_crash(const struct merge *m, const char *step, uint64_t k);
/* Clusters done so far, for prld_job_wait. */
void merge_progress(struct merge *m, uint64_t done);
/* The total to report, once known. */
void merge_set_total(struct merge *m, uint64_t total);
/*
 * After a step of the copy that began at *@mark: pause so that copying
 * takes m->pace percent of the time, then *@mark is now.
 */
void merge_pace(struct merge *m, struct timespec *mark);
/* Let go of the disk's locks (and the model they were taken for). */
void merge_unlock(struct merge *m);

/* ---- merge_journal.c ---------------------------------------------- */

/* Write the journal durably (tmp, fsync, rename, directory fsync). */
int merge_journal_write(struct merge *m, struct prld_err *err);
/* Read it into @m (kind, GUIDs, files); -ENOENT when there is none. */
int merge_journal_read(struct merge *m, struct prld_err *err);
int merge_journal_remove(struct merge *m, struct prld_err *err);
/* "merge of snapshot X into Y" (the one that goes first), or "deletion of". */
void merge_describe(const struct merge *m, char *buf, size_t len);

/* ---- merge_copy.c ------------------------------------------------- */

/* A clean image's BAT read raw and validated, native; its entries. */
int merge_read_bat(const struct merge *m, const struct prld_image *img,
		   uint32_t **bat, uint64_t *mapped, struct prld_err *err);
/* C's header and BAT (no lock: C may be our top); sets total, counted. */
int merge_open_child(struct merge *m, struct prld_err *err);
/* P writable; after merge_open_child (its size is checked against C's). */
int merge_open_parent(struct merge *m, struct prld_err *err);
/* Write P's in-use word (and clear EMPTY once it holds data), raw. */
int merge_raw_state(const char *path, bool inuse, struct prld_err *err);
/* Every cluster C maps, into P; reports progress as it goes. */
int merge_copy_clusters(struct merge *m, struct prld_err *err);

/* ---- merge_up.c ---------------------------------------------------- */

/*
 * S's header and BAT, raw (no lock: the device may hold S; sets total),
 * and C writable unless the device's top is C (the driver writes it).
 */
int merge_up_open(struct merge *m, struct prld_err *err);
/* The first cluster >= @from that S holds; S's cluster count if none. */
uint32_t merge_up_next(const struct merge *m, uint32_t from);
uint32_t merge_up_end(const struct merge *m);
/* Every cluster S holds and C lacks, into C, durably; C closed cleanly. */
int merge_up_copy(struct merge *m, struct prld_err *err);
/* After the copy: the descriptor without S, then S's file, the journal. */
int merge_up_finish(struct merge *m, struct prld_err *err);
/* The whole of MK_UP, offline or through m->device. */
int merge_run_up(struct merge *m, struct prld_err *err);

/* ---- merge_online.c ------------------------------------------------ */

/*
 * Where S and C sit in m->device's chain: slayer, child_top, dropped.
 * 0 when S is not one of its layers (an offline delete may go on).
 */
int merge_online_plan(struct merge *m, struct prld_err *err);
/* The copy and the switch on the device (MK_UP, S a layer of it). */
int merge_online_run(struct merge *m, struct prld_err *err);

/* ---- merge.c ------------------------------------------------------ */

/* The steps after the planning (or a journal): the merge, or the leaf. */
int merge_run_merge(struct merge *m, struct prld_err *err);
int merge_run_leaf(struct merge *m, struct prld_err *err);
/* The one of merge_run_merge, merge_run_up, merge_run_leaf m->kind is. */
int merge_run(struct merge *m, struct prld_err *err);
/* Drop @guid's Image and Shot from the model. */
void merge_drop_entries(struct prld_desc *d, const char *guid);
/* Before the first change: the journal durable (unless resuming). */
int merge_journal_begin(struct merge *m, struct prld_err *err);
/* The model without S saved, then S's file removed, the journal last. */
int merge_finish_drop(struct merge *m, struct prld_err *err);
/* spath and cpath from sfile and cfile. */
int merge_fill_paths(struct merge *m, struct prld_err *err);
/* Unlink @path and sync its directory (ENOENT is fine: done before). */
int merge_drop_file(const char *path, struct prld_err *err);
/* Children of @guid: their count, the first two in @c1, @c2. */
unsigned int merge_children(const struct prld_desc *d, const char *guid,
			    int *c1, int *c2);
/* Does an Image of @d have <File> @file? */
bool merge_file_named(const struct prld_desc *d, const char *file);
/*
 * A fresh delete of @guid on the disk at @desc_path, up to the point where
 * the worker can run it: locked, earlier journal finished, planned, P and
 * C open (so that refusals come before prld_merge_start returns).
 */
int merge_prepare(struct merge *m, const char *desc_path, const char *guid,
		  struct prld_err *err);

/* ---- merge_recover.c ---------------------------------------------- */

/*
 * Lock the disk for @m; if an earlier delete left a journal, finish it
 * under the same lock first.
 */
int merge_lock_and_recover(struct merge *m, const char *desc_path,
			   struct prld_err *err);

#endif /* PRLD_MERGE_H */
