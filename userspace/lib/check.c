// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * check.c - prld_check(): find, and on request repair, damage in a disk
 * directory, a DiskDescriptor.xml or a bare image file.
 *
 * image.c refuses a bad image outright; a checker exists for exactly those
 * images.  So nothing here goes through image_open(): headers and BATs are
 * read raw, judged with the shared prld_format.h rules, and every broken
 * rule becomes a finding rather than an error.  Only a failure of the check
 * itself (no memory, an I/O error, an image locked by another user during a
 * repair) is returned as an error.
 *
 * rep->corrupt and rep->leaks count problems, not lines: one bad BAT entry,
 * one shared cluster, one unreferenced cluster, the in-use flag, a bad
 * header...  One finding may stand for many ("... and 40 more"), so the
 * counts stay exact while the list stays readable.
 *
 * A repair keeps every intermediate state readable (format-notes §7): shared
 * clusters are copied to fresh space and made durable before the BAT names
 * the copies, the BAT is durable before the tail is cut, and the in-use flag
 * is cleared last.  Then the image is scanned again, so what follows the
 * FIXED items is the state on disk, not a prediction.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define CHECK_CAP	20		/* findings of a kind, then a sum */
#define COPY_CHUNK	(1U << 20)	/* bounce buffer for copies */
#define BAT_CHUNK	4096U		/* BAT rewritten in such pieces */

struct checker {
	struct prld_report *rep;
	struct prld_err *err;
	bool repair;
	bool quiet;		/* scanning only to plan a repair */
	bool after_repair;	/* this scan follows a repair */
	int error;		/* sticky allocation failure */
};

/* What the descriptor says every expanding image must agree with. */
struct expect {
	uint32_t blocksize;
	uint64_t disk_size;	/* of its storage (the disk's, if one) */
	bool top;		/* the size must match (lower: may be less) */
	bool split;		/* a split disk's piece: cannot grow */
};

/* A referenced data cluster: its slot, and who names it. */
struct ref {
	uint64_t slot;
	uint64_t key;		/* 0: format extension, else index + 1 */
};

/* Findings of one kind: the first CHECK_CAP are listed, the rest summed. */
struct tally {
	unsigned int shown;
	uint64_t extra;
};

/* One image as read from disk, and what scanning it found. */
struct scan {
	const char *name;
	int fd;
	uint64_t file_size;
	__u8 hdr[PRLD_HEADER_SIZE];
	struct prld_geom g;
	bool header_ok;
	__u8 *bat;		/* raw little-endian entries */
	struct ref *refs;	/* valid entries (+ extension), sorted */
	uint64_t nrefs;
	uint64_t mapped;	/* valid BAT entries */
	uint64_t alloc_end;	/* end of the highest referenced cluster */
	bool torn;		/* the last mapped cluster is cut short */
	bool writer_elsewhere;	/* its in-use flag is a writer's, live */
};

/* ---- findings ------------------------------------------------------ */

static void count_add(unsigned int *counter, uint64_t n)
{
	if (n > UINT_MAX - *counter)
		*counter = UINT_MAX;
	else
		*counter += (unsigned int)n;
}

/* Room for one more finding; the array doubles from 8. */
static bool report_grow(struct checker *c)
{
	struct prld_report *rep = c->rep;
	struct prld_finding *items;
	unsigned int n = rep->count;

	if (n && (n < 8 || (n & (n - 1))))
		return true;
	items = realloc(rep->items, (n ? 2 * (size_t)n : 8) * sizeof(*items));
	if (!items) {
		c->error = prld_set_err(c->err, -ENOMEM,
					"out of memory recording findings");
		return false;
	}
	rep->items = items;
	return true;
}

/* Record a finding that stands for @n problems. */
static __attribute__((format(printf, 5, 0)))
void vadd(struct checker *c, enum prld_severity sev, uint64_t n,
	  const char *file, const char *fmt, va_list ap)
{
	struct prld_report *rep = c->rep;
	struct prld_finding *f;

	if (c->quiet || c->error || !report_grow(c))
		return;
	f = &rep->items[rep->count++];
	f->severity = sev;
	snprintf(f->file, sizeof(f->file), "%s", file);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	if (sev == PRLD_SEV_CORRUPT)
		count_add(&rep->corrupt, n);
	else if (sev == PRLD_SEV_LEAK)
		count_add(&rep->leaks, n);
	else if (sev == PRLD_SEV_FIXED)
		count_add(&rep->fixed, n);
	else if (sev == PRLD_SEV_UNSUPPORTED)
		count_add(&rep->unsupported, n);
}

static __attribute__((format(printf, 5, 6)))
void add(struct checker *c, enum prld_severity sev, uint64_t n,
	 const char *file, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(c, sev, n, file, fmt, ap);
	va_end(ap);
}

/* Like add(), but past CHECK_CAP findings only count toward a summary. */
static __attribute__((format(printf, 6, 7)))
void add_capped(struct checker *c, struct tally *t, enum prld_severity sev,
		uint64_t n, const char *file, const char *fmt, ...)
{
	va_list ap;

	if (t->shown >= CHECK_CAP) {
		t->extra += n;
		return;
	}
	t->shown++;
	va_start(ap, fmt);
	vadd(c, sev, n, file, fmt, ap);
	va_end(ap);
}

static void tally_flush(struct checker *c, const struct tally *t,
			enum prld_severity sev, const char *file,
			const char *what)
{
	if (t->extra)
		add(c, sev, t->extra, file, "... and %llu more: %s",
		    (unsigned long long)t->extra, what);
}

/* A library message without its "<file>: " lead: the finding names it. */
static const char *without_file(const char *msg, const char *file)
{
	size_t n = strlen(file);

	if (!strncmp(msg, file, n) && !strncmp(msg + n, ": ", 2))
		return msg + n + 2;
	return msg;
}

/* A validator fault in prld_fault_err()'s words. */
static void add_fault(struct checker *c, struct tally *t, const char *file,
		      const struct prld_fault *f, const char *extra)
{
	struct prld_err e = { 0 };
	const char *msg;

	prld_fault_err(&e, file, f);
	msg = without_file(e.msg, file);
	if (t)
		add_capped(c, t, PRLD_SEV_CORRUPT, 1, file, "%s%s", msg,
			   extra);
	else
		add(c, PRLD_SEV_CORRUPT, 1, file, "%s%s", msg, extra);
}

static int io_error(struct checker *c, int code, const char *file,
		    const char *what)
{
	return prld_set_err(c->err, code, "%s: %s: %s", file, what,
			    strerror(-code));
}

/* ---- scanning one image --------------------------------------------- */

/* Read up to @len bytes; a short file is not an error here. */
static int read_upto(int fd, void *buf, size_t len, uint64_t off,
		     size_t *got)
{
	ssize_t n;

	*got = 0;
	while (*got < len) {
		n = pread(fd, (char *)buf + *got, len - *got,
			  (off_t)(off + *got));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

static void scan_release(struct scan *s)
{
	s->torn = false;
	free(s->bat);
	free(s->refs);
	s->bat = NULL;
	s->refs = NULL;
	s->nrefs = 0;
	s->mapped = 0;
	s->header_ok = false;
}

/*
 * prld_check_placement() computes (ext_off << 9) + cluster unchecked: an
 * ext_off near 2^55 wraps to a "valid" offset, and every slot computed from
 * it would wrap too.  An extension cluster must start inside the file;
 * with that bound nothing can wrap.
 */
static bool ext_off_wraps(const struct prld_geom *g, uint64_t file_size)
{
	return g->ext_off > file_size >> PRLD_SECTOR_SHIFT;
}

static int scan_header(struct checker *c, struct scan *s)
{
	struct prld_fault f;
	size_t got;
	int ret;

	memset(s->hdr, 0, sizeof(s->hdr));
	ret = read_upto(s->fd, s->hdr, sizeof(s->hdr), 0, &got);
	if (ret)
		return io_error(c, ret, s->name, "reading the header");
	if (prld_header_check(s->hdr, got, s->file_size, &s->g, &f)) {
		add_fault(c, NULL, s->name, &f, "");
		return 0;
	}
	if (ext_off_wraps(&s->g, s->file_size)) {
		prld_fail(&f, PRLD_E_EXT_OFF, PRLD_OFF_EXT_OFF, s->g.ext_off,
			  0);
		add_fault(c, NULL, s->name, &f, "");
		return 0;
	}
	s->header_ok = true;
	return 0;
}

/*
 * A lower layer may be smaller than Disk_size (made before the disk
 * grew), never larger.  The top matches it; a larger top is a resize the
 * descriptor did not catch up with (a crash between the two steps).
 */
static void check_layer_size(struct checker *c, const struct scan *s,
			     const struct expect *exp)
{
	unsigned long long n = s->g.nb_sectors, want = exp->disk_size;

	if (exp->split && exp->top && n != want)
		add(c, PRLD_SEV_CORRUPT, 1, s->name,
		    "virtual size %llu sectors, not its storage's %llu (End - Start)",
		    n, want);
	else if (exp->top && n > want)
		add(c, PRLD_SEV_CORRUPT, 1, s->name,
		    "virtual size %llu sectors, more than the descriptor's Disk_size %llu: an interrupted resize; 'prldctl resize -s %llu' finishes it",
		    n, want, n << PRLD_SECTOR_SHIFT);
	else if (exp->top && n < want)
		add(c, PRLD_SEV_NOTE, 0, s->name,
		    "virtual size %llu sectors, less than the descriptor's Disk_size %llu: the disk has the top's size (as ploop reads it after switching to a snapshot made before a resize)",
		    n, want);
	else if (!exp->top && n > want)
		add(c, PRLD_SEV_CORRUPT, 1, s->name,
		    "virtual size %llu sectors, more than %s %llu",
		    n, exp->split ? "its storage's" :
				    "the descriptor's Disk_size", want);
}

/* Parallels Desktop leaves "pd17", "pd22"... in the field when closed. */
static bool closed_by_pd(__u32 inuse)
{
	__u8 b0 = inuse & 0xff, b1 = (inuse >> 8) & 0xff;
	__u8 b2 = (inuse >> 16) & 0xff, b3 = inuse >> 24;

	return b0 == 'p' && b1 == 'd' && b2 >= '0' && b2 <= '9' &&
	       b3 >= '0' && b3 <= '9';
}

/* Header fields that are valid but deserve a word, or disagree with the
 * descriptor. */
static void scan_header_fields(struct checker *c, const struct scan *s,
			       const struct expect *exp)
{
	const struct prld_geom *g = &s->g;
	__u64 canon = prld_canonical_data_off(g->bat_entries,
					      g->cluster_sectors);

	if (g->inuse == PRLD_INUSE_MAGIC && s->writer_elsewhere)
		add(c, PRLD_SEV_NOTE, 0, s->name,
		    "in-use flag set by the process writing it now");
	else if (g->inuse == PRLD_INUSE_MAGIC)
		add(c, PRLD_SEV_CORRUPT, 1, s->name,
		    "in-use flag set: image was not closed cleanly");
	else if (g->inuse && g->inuse != PRLD_CLEAN_ALT_MAGIC &&
		 !closed_by_pd(g->inuse))
		add(c, PRLD_SEV_NOTE, 0, s->name,
		    "unknown in-use value 0x%08x, treated as clean", g->inuse);
	if (g->readonly)
		add(c, PRLD_SEV_NOTE, 0, s->name, "%s",
		    prld_ro_str(g->readonly));
	if (exp && g->cluster_sectors != exp->blocksize)
		add(c, PRLD_SEV_CORRUPT, 1, s->name,
		    "cluster size %u sectors differs from the descriptor's Blocksize %u",
		    g->cluster_sectors, exp->blocksize);
	if (exp)
		check_layer_size(c, s, exp);
	if (g->flags & PRLD_FLAG_CONVERTING)
		add(c, PRLD_SEV_NOTE, 0, s->name,
		    "format conversion in progress flag set (writable opens refuse the image)");
	if (g->ext_off)
		add(c, PRLD_SEV_NOTE, 0, s->name,
		    "format extension at sector %llu (ploop's CBT or QEMU's dirty bitmaps): a write drops it",
		    (unsigned long long)g->ext_off);
	if (g->data_off > canon)
		add(c, PRLD_SEV_NOTE, 0, s->name,
		    "data_off %u is above the canonical %llu: %llu bytes unused",
		    g->data_off, (unsigned long long)canon,
		    (unsigned long long)(g->data_off - canon) <<
			    PRLD_SECTOR_SHIFT);
}

/* Index of a bad entry's kind in the per-kind tallies. */
static unsigned int bad_kind(enum prld_status s)
{
	return s == PRLD_E_BAT_LOW ? 0 : s == PRLD_E_BAT_ALIGN ? 1 : 2;
}

static const enum prld_status bad_status[3] = {
	PRLD_E_BAT_LOW, PRLD_E_BAT_ALIGN, PRLD_E_BAT_EOF,
};

/*
 * The extension cluster and the bitmap clusters it names, into s->refs
 * (key 0), which scan_bat() sized for @nonzero entries: grown here.
 */
static int ext_refs(struct checker *c, struct scan *s, uint64_t nonzero)
{
	const struct prld_geom *g = &s->g;
	uint64_t *offs = NULL;
	struct ref *r;
	size_t n = 0, i;
	char why[200];
	int ret;

	ret = format_ext_clusters(s->fd, g, s->file_size, &offs, &n, why,
				  sizeof(why));
	if (ret == -ENOMEM)
		return prld_set_err(c->err, ret, "%s: out of memory", s->name);
	if (ret)
		add(c, PRLD_SEV_NOTE, 0, s->name,
		    "format extension unreadable (%s): the clusters it names, if any, show as unreferenced",
		    why);
	r = realloc(s->refs, (nonzero + n + 1) * sizeof(*r));
	if (!r) {
		free(offs);
		return prld_set_err(c->err, -ENOMEM, "%s: out of memory",
				    s->name);
	}
	s->refs = r;
	s->refs[s->nrefs++] = (struct ref){
		prld_offset_to_slot(g, g->ext_off << PRLD_SECTOR_SHIFT), 0 };
	for (i = 0; i < n; i++)
		s->refs[s->nrefs++] = (struct ref){
			prld_offset_to_slot(g, offs[i]), 0 };
	free(offs);
	return 0;
}

/*
 * Entry @i names the cluster the file ends in (a torn write): QEMU reads
 * it, the missing bytes as zeros, and so does prld, read-only.
 * --repair restores the cluster's length.
 */
static bool torn_entry(struct checker *c, struct scan *s, __u32 i, __u32 e,
		       __u64 *off)
{
	const struct prld_geom *g = &s->g;
	__u64 o = prld_bat_to_offset(g, e), cl = prld_cluster_bytes(g);

	if (o < prld_data_start(g) || (o - prld_data_start(g)) % cl ||
	    o >= s->file_size || o + cl <= s->file_size)
		return false;
	add(c, PRLD_SEV_CORRUPT, 1, s->name,
	    "BAT entry %u: its cluster is cut short by the end of the file (%llu of %llu bytes; a torn write): the rest reads as zeros, the image is read-only until --repair restores its length",
	    i, (unsigned long long)(s->file_size - o),
	    (unsigned long long)cl);
	s->torn = true;
	*off = o;
	return true;
}

/* Read the BAT; judge every entry; collect the valid ones in s->refs. */
static int scan_bat(struct checker *c, struct scan *s)
{
	const struct prld_geom *g = &s->g;
	struct tally bad[3] = { { 0 } };
	struct prld_fault f;
	__u64 off;
	uint64_t nonzero = 0;
	__u32 i, e;
	int ret;

	/* The header check put the whole BAT inside the file. */
	s->bat = malloc((size_t)g->bat_entries * 4);
	if (!s->bat)
		return prld_set_err(c->err, -ENOMEM,
				    "%s: out of memory for a BAT of %u entries",
				    s->name, g->bat_entries);
	ret = prld_pread_full(s->fd, s->bat, (size_t)g->bat_entries * 4,
			      PRLD_BAT_OFFSET);
	if (ret)
		return io_error(c, ret, s->name, "reading the BAT");
	for (i = 0; i < g->bat_entries; i++)
		nonzero += prld_get_le32(s->bat + 4ULL * i) != 0;
	s->refs = malloc((nonzero + 1) * sizeof(*s->refs));
	if (!s->refs)
		return prld_set_err(c->err, -ENOMEM,
				    "%s: out of memory for %llu BAT entries",
				    s->name, (unsigned long long)nonzero);
	/* The extension's clusters are in use though no entry names them. */
	if (g->ext_off) {
		ret = ext_refs(c, s, nonzero);
		if (ret)
			return ret;
	}
	for (i = 0; i < g->bat_entries; i++) {
		e = prld_get_le32(s->bat + 4ULL * i);
		if (!e)
			continue;
		if (prld_bat_entry_check(g, i, e, s->file_size, &off, &f) &&
		    !torn_entry(c, s, i, e, &off)) {
			add_fault(c, &bad[bad_kind(f.status)], s->name, &f, "");
			continue;
		}
		s->refs[s->nrefs++] = (struct ref){
			prld_offset_to_slot(g, off), (uint64_t)i + 1 };
		s->mapped++;
	}
	for (i = 0; i < 3; i++)
		tally_flush(c, &bad[i], PRLD_SEV_CORRUPT, s->name,
			    prld_status_str(bad_status[i]));
	return 0;
}

static int ref_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return (x->key > y->key) - (x->key < y->key);
}

static void report_dup(struct checker *c, struct scan *s, struct tally *t,
		       const struct ref *r, uint64_t owner)
{
	__u32 idx = (__u32)(r->key - 1);
	struct prld_fault f;
	char who[64];

	if (owner)
		snprintf(who, sizeof(who), "; same cluster as BAT entry %llu",
			 (unsigned long long)(owner - 1));
	else
		snprintf(who, sizeof(who),
			 "; the cluster holds the format extension");
	prld_fail(&f, PRLD_E_BAT_DUP, idx, prld_get_le32(s->bat + 4ULL * idx),
		  0);
	add_fault(c, t, s->name, &f, who);
}

/* True when [off, off + len) of @fd holds no data at all (punched). */
static bool range_is_hole(int fd, uint64_t off, uint64_t len)
{
	off_t data = lseek(fd, (off_t)off, SEEK_DATA);

	if (data < 0)
		return errno == ENXIO;	/* no data from @off to the end */
	return (uint64_t)data >= off + len;
}

static void report_hole(struct checker *c, struct scan *s, struct tally *t,
			uint64_t first, uint64_t n)
{
	uint64_t off = prld_slot_to_offset(&s->g, first);

	/*
	 * A discard unmaps a cluster and punches it: unreferenced, but it
	 * costs no space, so it is no leak.
	 */
	if (range_is_hole(s->fd, off, n * prld_cluster_bytes(&s->g))) {
		add(c, PRLD_SEV_NOTE, n, s->name,
		    "unreferenced clusters holding no data (discarded): %llu at offset %llu",
		    (unsigned long long)n, (unsigned long long)off);
		return;
	}
	add_capped(c, t, PRLD_SEV_LEAK, n, s->name,
		   "unreferenced clusters: %llu at offset %llu%s",
		   (unsigned long long)n,
		   (unsigned long long)prld_slot_to_offset(&s->g, first),
		   c->after_repair ? " (not reclaimed)" : "");
}

/* Shared clusters and holes, from the valid entries sorted by slot. */
static void scan_refs(struct checker *c, struct scan *s)
{
	struct tally dups = { 0 }, holes = { 0 };
	uint64_t i, next = 0, owner = 0;
	const struct ref *r;

	qsort(s->refs, s->nrefs, sizeof(*s->refs), ref_cmp);
	for (i = 0; i < s->nrefs; i++) {
		r = &s->refs[i];
		if (i && r->slot == s->refs[i - 1].slot) {
			report_dup(c, s, &dups, r, owner);
			continue;
		}
		owner = r->key;
		if (r->slot > next)
			report_hole(c, s, &holes, next, r->slot - next);
		next = r->slot + 1;
	}
	tally_flush(c, &dups, PRLD_SEV_CORRUPT, s->name,
		    prld_status_str(PRLD_E_BAT_DUP));
	tally_flush(c, &holes, PRLD_SEV_LEAK, s->name,
		    c->after_repair ? "unreferenced clusters (not reclaimed)" :
				      "unreferenced clusters");
	s->alloc_end = prld_slot_to_offset(&s->g, next);
}

/* Bytes past the last whole cluster, and whole clusters past the last
 * referenced one. */
static void tail_sizes(const struct scan *s, uint64_t *partial,
		       uint64_t *tail)
{
	uint64_t cl = prld_cluster_bytes(&s->g);

	*partial = (s->file_size - prld_data_start(&s->g)) % cl;
	*tail = s->file_size - *partial - s->alloc_end;
	if (s->torn)	/* the partial cluster is a mapped one, cut short */
		*partial = *tail = 0;
}

static void scan_tail(struct checker *c, const struct scan *s)
{
	uint64_t partial, tail;

	tail_sizes(s, &partial, &tail);
	if (partial)
		add(c, PRLD_SEV_LEAK, 1, s->name,
		    "failed extension: the file ends %llu bytes into a cluster",
		    (unsigned long long)partial);
	if (tail)
		add(c, PRLD_SEV_LEAK, 1, s->name,
		    "leaked tail: %llu bytes after the last allocated cluster",
		    (unsigned long long)tail);
	if ((s->g.flags & PRLD_FLAG_EMPTY) && s->mapped)
		add(c, PRLD_SEV_NOTE, 0, s->name,
		    "empty flag set although %llu clusters are mapped",
		    (unsigned long long)s->mapped);
}

/* Everything about one open image file; the caller releases @s. */
static int scan_image(struct checker *c, struct scan *s,
		      const struct expect *exp)
{
	struct stat st;
	int ret;

	scan_release(s);
	if (fstat(s->fd, &st) < 0)
		return io_error(c, -errno, s->name, "stat");
	s->file_size = (uint64_t)st.st_size;
	ret = scan_header(c, s);
	if (ret || !s->header_ok)
		return ret;
	scan_header_fields(c, s, exp);
	ret = scan_bat(c, s);
	if (ret)
		return ret;
	scan_refs(c, s);
	scan_tail(c, s);
	return 0;
}

/* ---- repairing one image -------------------------------------------- */

static const char *const zero_reason[3] = {
	"it pointed into the header or BAT",
	"it was not on a cluster boundary",
	"it pointed past the end of the file",
};

/* Entries naming no reachable data: nothing to save, so drop them. */
static void zero_bad_entries(struct checker *c, const struct scan *s,
			     __u8 *bat)
{
	struct tally t[3] = { { 0 } };
	struct prld_fault f;
	__u64 off;
	unsigned int k;
	__u32 i, e;

	for (i = 0; i < s->g.bat_entries; i++) {
		e = prld_get_le32(bat + 4ULL * i);
		if (!e || !prld_bat_entry_check(&s->g, i, e, s->file_size,
						&off, &f))
			continue;
		k = bad_kind(f.status);
		prld_put_le32(bat + 4ULL * i, 0);
		add_capped(c, &t[k], PRLD_SEV_FIXED, 1, s->name,
			   "zeroed BAT entry %u (value %u): %s; the data there was unreachable anyway",
			   i, e, zero_reason[k]);
	}
	for (k = 0; k < 3; k++)
		tally_flush(c, &t[k], PRLD_SEV_FIXED, s->name,
			    "zeroed BAT entries");
}

static int copy_range(struct checker *c, const struct scan *s, uint64_t src,
		      uint64_t dst, uint64_t len)
{
	size_t chunk = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
	void *buf = malloc(chunk);
	size_t n;
	int ret = 0;

	if (!buf)
		return prld_set_err(c->err, -ENOMEM,
				    "%s: out of memory copying a cluster",
				    s->name);
	while (len && !ret) {
		n = len < chunk ? (size_t)len : chunk;
		ret = prld_pread_full(s->fd, buf, n, src);
		if (ret) {
			io_error(c, ret, s->name, "reading a shared cluster");
			break;
		}
		ret = prld_pwrite_full(s->fd, buf, n, dst);
		if (ret)
			io_error(c, ret, s->name, "writing a cluster copy");
		src += n;
		dst += n;
		len -= n;
	}
	free(buf);
	return ret;
}

/*
 * Give every later entry of a shared cluster its own copy at *@end, past
 * every referenced cluster.  Only @bat (memory) names the copies yet.
 */
static int relocate_dups(struct checker *c, const struct scan *s, __u8 *bat,
			 uint64_t *end)
{
	const struct prld_geom *g = &s->g;
	uint64_t cl = prld_cluster_bytes(g), src, i;
	struct tally t = { 0 };
	const struct ref *r;
	bool copied = false;
	__u32 idx;
	int ret;

	for (i = 1; i < s->nrefs; i++) {
		r = &s->refs[i];
		if (r->slot != s->refs[i - 1].slot)
			continue;
		/* Past what an entry can name (or wrapped): leave it. */
		if (*end > prld_max_entry_offset(g) || *end < s->alloc_end)
			break;
		src = prld_slot_to_offset(g, r->slot);
		ret = copy_range(c, s, src, *end, cl);
		if (ret)
			return ret;
		idx = (__u32)(r->key - 1);
		prld_put_le32(bat + 4ULL * idx, prld_offset_to_bat(g, *end));
		add_capped(c, &t, PRLD_SEV_FIXED, 1, s->name,
			   "BAT entry %u shared the cluster at offset %llu: copied it to offset %llu (data kept)",
			   idx, (unsigned long long)src,
			   (unsigned long long)*end);
		*end += cl;
		copied = true;
	}
	tally_flush(c, &t, PRLD_SEV_FIXED, s->name,
		    "shared clusters copied");
	/* The copies must be durable before any BAT entry names them. */
	if (copied && fdatasync(s->fd) < 0)
		return io_error(c, -errno, s->name, "fdatasync");
	return 0;
}

/* Write back the BAT pieces that changed, then make them durable. */
static int write_bat(struct checker *c, const struct scan *s,
		     const __u8 *bat)
{
	size_t len = (size_t)s->g.bat_entries * 4, pos, n;
	bool wrote = false;
	int ret;

	for (pos = 0; pos < len; pos += n) {
		n = len - pos < BAT_CHUNK ? len - pos : BAT_CHUNK;
		if (!memcmp(bat + pos, s->bat + pos, n))
			continue;
		ret = prld_pwrite_full(s->fd, bat + pos, n,
				       PRLD_BAT_OFFSET + pos);
		if (ret)
			return io_error(c, ret, s->name, "writing the BAT");
		wrote = true;
	}
	if (wrote && fdatasync(s->fd) < 0)
		return io_error(c, -errno, s->name, "fdatasync");
	return 0;
}

/* Drop whatever lies past @end, the end of the last referenced cluster. */
static int cut_tail(struct checker *c, const struct scan *s, uint64_t end)
{
	uint64_t partial, tail;
	const char *what;

	tail_sizes(s, &partial, &tail);
	if (!partial && !tail)
		return 0;
	what = partial && tail ? "leaked tail and failed extension" :
	       partial ? "failed extension" : "leaked tail";
	if (s->file_size <= end) {
		add(c, PRLD_SEV_FIXED, !!partial + !!tail, s->name,
		    "%s reused for the cluster copies", what);
		return 0;
	}
	if (ftruncate(s->fd, (off_t)end) < 0)
		return io_error(c, -errno, s->name, "truncate");
	if (fsync(s->fd) < 0)
		return io_error(c, -errno, s->name, "fsync");
	add(c, PRLD_SEV_FIXED, !!partial + !!tail, s->name,
	    "%s: truncated %llu bytes after the last allocated cluster", what,
	    (unsigned long long)(s->file_size - end));
	return 0;
}

/* Last step: with everything else durable, the image is clean again. */
static int fix_header(struct checker *c, const struct scan *s)
{
	__u8 hdr[PRLD_HEADER_SIZE];
	__u32 flags = s->g.flags;
	bool dirty = false;
	int ret;

	memcpy(hdr, s->hdr, sizeof(hdr));
	if ((flags & PRLD_FLAG_EMPTY) && s->mapped) {
		prld_put_le32(hdr + PRLD_OFF_FLAGS, flags & ~PRLD_FLAG_EMPTY);
		add(c, PRLD_SEV_FIXED, 1, s->name,
		    "cleared the empty flag: clusters are mapped");
		dirty = true;
	}
	if (s->g.inuse == PRLD_INUSE_MAGIC) {
		prld_put_le32(hdr + PRLD_OFF_INUSE, 0);
		add(c, PRLD_SEV_FIXED, 1, s->name, "cleared the in-use flag");
		dirty = true;
	}
	if (!dirty)
		return 0;
	ret = prld_pwrite_full(s->fd, hdr, sizeof(hdr), 0);
	if (ret)
		return io_error(c, ret, s->name, "writing the header");
	if (fsync(s->fd) < 0)
		return io_error(c, -errno, s->name, "fsync");
	return 0;
}

static int repair_image(struct checker *c, const struct scan *s)
{
	size_t len = (size_t)s->g.bat_entries * 4;
	uint64_t end = s->alloc_end;
	__u8 *bat = malloc(len);
	int ret;

	if (!bat)
		return prld_set_err(c->err, -ENOMEM,
				    "%s: out of memory for the BAT", s->name);
	memcpy(bat, s->bat, len);
	zero_bad_entries(c, s, bat);
	ret = relocate_dups(c, s, bat, &end);
	if (!ret)
		ret = write_bat(c, s, bat);
	if (!ret)
		ret = cut_tail(c, s, end);
	if (!ret)
		ret = fix_header(c, s);
	free(bat);
	return ret;
}

/* ---- files ---------------------------------------------------------- */

/*
 * A plain check takes no lock, but says when a writer holds one: what it
 * reads may be changing.  A repair must be alone with the file.
 */
static int lock_image(struct checker *c, struct scan *s)
{
	int fd = s->fd;
	const char *name = s->name;
	int ret;

	if (c->repair) {
		ret = lock_image_fd(fd, true);
		if (ret == 0)
			return 0;
		if (ret == -EBUSY)
			return prld_set_err(c->err, -EBUSY,
					    "%s: in use by another process (prld, QEMU, ploop or an attached device); cannot repair it while it is open",
					    name);
		return io_error(c, ret, name, "lock");
	}
	s->writer_elsewhere = lock_writer_elsewhere(fd);
	if (s->writer_elsewhere)
		add(c, PRLD_SEV_NOTE, 0, name,
		    "image is open for writing elsewhere: findings may be stale");
	return 0;
}

/*
 * The cluster a torn write cut short gets its length back (the missing
 * bytes read as zeros, as they did); then the image is scanned again.
 */
static int fix_torn(struct checker *c, struct scan *s,
		    const struct expect *exp)
{
	uint64_t was = s->file_size, end = s->alloc_end;

	if (ftruncate(s->fd, (off_t)end) < 0)
		return io_error(c, -errno, s->name, "extend");
	if (fsync(s->fd) < 0)
		return io_error(c, -errno, s->name, "fsync");
	c->quiet = false;
	add(c, PRLD_SEV_FIXED, 1, s->name,
	    "extended the file by %llu bytes: the torn last cluster is whole again (its missing tail reads as zeros, as before)",
	    (unsigned long long)(end - was));
	c->quiet = true;
	return scan_image(c, s, exp);
}

static int check_open_image(struct checker *c, struct scan *s,
			    const struct expect *exp)
{
	int ret = 0;

	if (c->repair) {
		c->quiet = true;
		ret = scan_image(c, s, exp);
		if (!ret && s->torn)
			ret = fix_torn(c, s, exp);
		c->quiet = false;
		if (!ret && s->header_ok)
			ret = repair_image(c, s);
		if (ret)
			return ret;
		c->after_repair = true;
	}
	ret = scan_image(c, s, exp);
	c->after_repair = false;
	if (!ret && c->repair && !s->header_ok)
		add(c, PRLD_SEV_NOTE, 0, s->name,
		    "cannot repair: the header is invalid (image left untouched)");
	return ret;
}

static int check_image(struct checker *c, const char *path,
		       const struct expect *exp)
{
	struct scan s = { .name = path };
	struct stat st;
	int ret;

	s.fd = open(path, (c->repair ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (s.fd < 0)
		return io_error(c, -errno, path, "open");
	if (fstat(s.fd, &st) < 0) {
		ret = io_error(c, -errno, path, "stat");
	} else if (!S_ISREG(st.st_mode)) {
		add(c, PRLD_SEV_CORRUPT, 1, path, "not a regular file");
		ret = 0;
	} else {
		ret = lock_image(c, &s);
		if (!ret)
			ret = check_open_image(c, &s, exp);
	}
	scan_release(&s);
	close(s.fd);
	return ret;
}

/* A raw layer has no header: it only has to cover the disk. */
static int check_plain(struct checker *c, const char *path,
		       uint64_t disk_size)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return io_error(c, -errno, path, "stat");
	if (!S_ISREG(st.st_mode))
		add(c, PRLD_SEV_CORRUPT, 1, path, "not a regular file");
	else if ((uint64_t)st.st_size < disk_size << PRLD_SECTOR_SHIFT)
		add(c, PRLD_SEV_CORRUPT, 1, path,
		    "plain image of %llu bytes is shorter than Disk_size (%llu bytes)",
		    (unsigned long long)st.st_size,
		    (unsigned long long)(disk_size << PRLD_SECTOR_SHIFT));
	return 0;
}

/* ---- descriptors ---------------------------------------------------- */

static void check_chain(struct checker *c, const struct prld_desc *d)
{
	struct prld_err e = { 0 };
	unsigned int *idx = NULL, n = 0;

	if (desc_chain(d, NULL, &idx, &n, &e) < 0) {
		if (e.code == -ENOMEM)
			c->error = prld_set_err(c->err, e.code, "%s", e.msg);
		else
			add(c, PRLD_SEV_CORRUPT, 1, d->path,
			    "snapshot chain from TopGUID does not reach the root: %s",
			    without_file(e.msg, d->path));
	}
	free(idx);
}

/* What the image's bytes hold, against its <Type> (layer_kind.c). */
static int layer_kind_finding(struct checker *c, const struct prld_desc *d,
			      unsigned int k, unsigned int i,
			      const char *path, enum prld_layer_kind *kind)
{
	const struct prld_desc_image *im;
	struct prld_desc_storage st;
	struct prld_err e = { 0 };
	int ret;

	desc_storage(d, k, &st);
	im = &st.images[i];
	ret = desc_image_kind(d, k, i, kind, &e);
	if (ret == -ENOMEM)
		return prld_set_err(c->err, ret, "%s", e.msg);
	if (ret) {
		add(c, PRLD_SEV_CORRUPT, 1, path, "%s", without_file(e.msg, path));
		return 1;
	}
	if (*kind != im->kind)
		add(c, PRLD_SEV_NOTE, 0, path,
		    "typed Plain but holds a Parallels delta, read as one (ploop types every image of a raw-base disk Plain)");
	return 0;
}

/* Image @i of storage @k. */
static int check_layer(struct checker *c, const struct prld_desc *d,
		       unsigned int k, unsigned int i)
{
	struct prld_desc_storage st;
	const struct prld_desc_image *im;
	enum prld_layer_kind kind;
	struct expect exp;
	struct stat sb;
	char *path;
	int ret = 0;

	desc_storage(d, k, &st);
	im = &st.images[i];
	exp = (struct expect){ st.blocksize, st.end - st.start,
			       !strcasecmp(im->guid, d->top_guid),
			       d->nstorages > 1 };
	path = desc_file_path(d, im->file);
	if (!path)
		return prld_set_err(c->err, -ENOMEM, "out of memory");
	if (stat(path, &sb) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			add(c, PRLD_SEV_CORRUPT, 1, path,
			    "image file %s (GUID %s) is missing", im->file,
			    im->guid);
		else
			ret = io_error(c, -errno, path, "stat");
	} else {
		ret = layer_kind_finding(c, d, k, i, path, &kind);
		if (!ret && kind == PRLD_LAYER_PLAIN)
			ret = check_plain(c, path, exp.disk_size);
		else if (!ret)
			ret = check_image(c, path, &exp);
		ret = ret > 0 ? 0 : ret;
	}
	free(path);
	return ret;
}

/*
 * A snapshot delete a crash interrupted (merge.c's journal): --repair
 * finishes it before anything else is looked at; a plain check reports it
 * as corrupt, since the snapshot being merged is mid-change (its in-use
 * flag is set) and only a repair makes the disk whole again, although
 * reads of every remaining state stay correct meanwhile.
 */
static int check_merge(struct checker *c, const char *desc_path)
{
	struct prld_err e = { 0 };
	char what[200];
	int ret;

	if (!c->repair) {
		ret = merge_pending(desc_path, what, sizeof(what));
		if (ret == 1)
			add(c, PRLD_SEV_CORRUPT, 1, desc_path, "%s", what);
		else if (ret == 2)	/* every state reads right meanwhile */
			add(c, PRLD_SEV_NOTE, 0, desc_path, "%s", what);
		return 0;
	}
	ret = merge_recover(desc_path, what, sizeof(what), &e);
	if (ret > 0)
		add(c, PRLD_SEV_FIXED, 1, desc_path, "%s", what);
	else if (ret == -EBUSY || ret == -ENOMEM)
		return prld_set_err(c->err, ret, "%s", e.msg);
	else if (ret < 0)
		add(c, PRLD_SEV_CORRUPT, 1, desc_path,
		    "cannot finish an interrupted snapshot delete: %s",
		    without_file(e.msg, desc_path));
	return 0;
}

static int check_disk(struct checker *c, const char *desc_path)
{
	struct prld_err e = { 0 };
	struct prld_desc *d = NULL;
	unsigned int i, k;
	int ret;

	ret = check_merge(c, desc_path);
	if (ret)
		return ret;
	ret = desc_load_any(desc_path, &d, &e);
	if (ret == -ENOMEM)
		return prld_set_err(c->err, ret, "%s", e.msg);
	if (ret < 0) {
		add(c, PRLD_SEV_CORRUPT, 1, desc_path, "%s",
		    without_file(e.msg, desc_path));
		return 0;
	}
	if (d->unsupported[0])
		add(c, PRLD_SEV_UNSUPPORTED, 1, desc_path, "%s", d->unsupported);
	check_chain(c, d);
	for (k = 0, ret = 0; k < d->nstorages && !ret && !c->error; k++)
		for (i = 0; i < d->nimages && !ret && !c->error; i++)
			ret = check_layer(c, d, k, i);
	desc_free(d);
	return ret;
}

/* Does @path start with an image magic?  Then it is an image, whatever
 * its name (prld_open decides the same way). */
static bool has_image_magic(const char *path)
{
	__u8 hdr[PRLD_HEADER_SIZE] = { 0 };
	struct prld_geom g;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	read_upto(fd, hdr, PRLD_MAGIC_LEN, 0, &got);
	close(fd);
	return got == PRLD_MAGIC_LEN && prld_header_decode(hdr, &g) == PRLD_OK;
}

static bool is_descriptor(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (strcmp(base, PRLD_DESCRIPTOR) &&
	    (n < 4 || strcasecmp(base + n - 4, ".xml")))
		return false;
	return !has_image_magic(path);
}

static int check_path(struct checker *c, const char *path)
{
	struct stat st;
	char *desc;
	int ret;

	if (stat(path, &st) < 0)
		return io_error(c, -errno, path, "stat");
	if (!S_ISDIR(st.st_mode)) {
		if (is_descriptor(path))
			return check_disk(c, path);
		desc = desc_bundle_of(path);
		if (desc) {
			ret = check_disk(c, desc);
			free(desc);
			return ret;
		}
		/* Named as an image by nobody but the user: is it one? */
		if (S_ISREG(st.st_mode) && !has_image_magic(path))
			return prld_not_image_err(c->err, path);
		return check_image(c, path, NULL);
	}
	desc = prld_join(path, PRLD_DESCRIPTOR);
	if (!desc)
		return prld_set_err(c->err, -ENOMEM, "out of memory");
	if (stat(desc, &st) < 0)
		ret = desc_missing(path, "check needs", c->err);
	else
		ret = check_disk(c, desc);
	free(desc);
	return ret;
}

int prld_check(const char *path, bool repair, struct prld_report *rep,
	       struct prld_err *err)
{
	struct checker c = { .rep = rep, .err = err, .repair = repair };
	int ret;

	memset(rep, 0, sizeof(*rep));
	if (err)
		memset(err, 0, sizeof(*err));
	ret = check_path(&c, path);
	if (!ret)
		ret = c.error;
	if (ret)
		prld_report_free(rep);
	return ret;
}

int prld_report_exit_status(const struct prld_report *rep)
{
	if (rep->corrupt)
		return 2;
	if (rep->unsupported)
		return PRLD_CHECK_UNSUPPORTED;
	if (rep->leaks)
		return 3;
	return 0;
}

void prld_report_free(struct prld_report *rep)
{
	if (!rep)
		return;
	free(rep->items);
	memset(rep, 0, sizeof(*rep));
}
