// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * merge_journal.c - the journal "<descriptor>.merge" that names a delete
 * in progress (the operation, both GUIDs, both files) so that it can be
 * rolled forward after a crash: written durably before anything changes,
 * read back by recovery and by a plain check (merge_pending), removed last.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "merge.h"

#define JOURNAL_MAGIC	"prld-merge 1"

static const char *op_name(enum merge_kind kind)
{
	return kind == MK_MERGE ? "merge" : kind == MK_UP ? "merge-up" :
	       "delete";
}

int merge_journal_write(struct merge *m, struct prld_err *err)
{
	char *tmp = NULL, *text = NULL;
	int fd = -1, ret = 0, len;

	bool child = m->kind != MK_LEAF;

	len = asprintf(&text, "%s\nop %s\nshot %s\nchild %s\nshot_file %s\nchild_file %s\n",
		       JOURNAL_MAGIC, op_name(m->kind), m->sguid,
		       child ? m->cguid : "-", m->sfile,
		       child ? m->cfile : "-");
	if (len < 0 || asprintf(&tmp, "%s.tmp", m->journal) < 0) {
		if (len >= 0)
			free(text);
		return prld_set_err(err, -ENOMEM, "out of memory");
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		ret = prld_sys_err(err, -errno, tmp, "cannot create");
	if (!ret) {
		ret = prld_pwrite_full(fd, text, (size_t)len, 0);
		if (ret)
			prld_sys_err(err, ret, tmp, "cannot write");
	}
	if (!ret && fsync(fd) < 0)
		ret = prld_sys_err(err, -errno, tmp, "cannot sync");
	if (fd >= 0)
		close(fd);
	if (!ret && rename(tmp, m->journal) < 0)
		ret = prld_sys_err(err, -errno, m->journal, "cannot rename into place");
	if (!ret) {
		ret = prld_fsync_dir(m->journal);
		if (ret)
			prld_sys_err(err, ret, m->journal, "cannot sync the directory");
	}
	if (ret)
		unlink(tmp);
	free(tmp);
	free(text);
	return ret;
}

int merge_journal_remove(struct merge *m, struct prld_err *err)
{
	int ret;

	if (unlink(m->journal) < 0 && errno != ENOENT)
		return prld_sys_err(err, -errno, m->journal, "cannot remove");
	ret = prld_fsync_dir(m->journal);
	if (ret)
		return prld_sys_err(err, ret, m->journal, "cannot sync the directory");
	return 0;
}

/* "key value" line @key of @text: the value, malloc'd, or NULL. */
static char *journal_field(const char *text, const char *key)
{
	size_t kl = strlen(key);
	const char *p = text, *end;

	while (p && *p) {
		end = strchr(p, '\n');
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) > kl && !strncmp(p, key, kl) &&
		    p[kl] == ' ')
			return strndup(p + kl + 1, (size_t)(end - p) - kl - 1);
		p = *end ? end + 1 : end;
	}
	return NULL;
}

/* Read the journal into @m; -ENOENT when there is none. */
int merge_journal_read(struct merge *m, struct prld_err *err)
{
	char *text, *op = NULL, *s = NULL, *c = NULL;
	uint64_t len;
	int fd, ret = 0;
	struct stat st;

	fd = open(m->journal, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return prld_sys_err(err, -errno, m->journal, "cannot open");
	}
	if (fstat(fd, &st) < 0 || st.st_size > 65536) {
		close(fd);
		return prld_set_err(err, -EINVAL,
				    "%s: merge journal unreadable or too big",
				    m->journal);
	}
	len = (uint64_t)st.st_size;
	text = calloc(1, len + 1);
	if (!text || prld_pread_full(fd, text, len, 0)) {
		close(fd);
		free(text);
		return prld_set_err(err, -EIO, "%s: cannot read the merge journal",
				    m->journal);
	}
	close(fd);
	if (strncmp(text, JOURNAL_MAGIC "\n", strlen(JOURNAL_MAGIC) + 1))
		ret = -EINVAL;
	if (!ret) {
		op = journal_field(text, "op");
		s = journal_field(text, "shot");
		c = journal_field(text, "child");
		m->sfile = journal_field(text, "shot_file");
		m->cfile = journal_field(text, "child_file");
	}
	if (!ret && (!op || !s || !c || !m->sfile || !m->cfile ||
		     !desc_guid_valid(s)))
		ret = -EINVAL;
	if (!ret && !strcmp(op, "merge") && desc_guid_valid(c))
		m->kind = MK_MERGE;
	else if (!ret && !strcmp(op, "merge-up") && desc_guid_valid(c))
		m->kind = MK_UP;
	else if (!ret && !strcmp(op, "delete"))
		m->kind = MK_LEAF;
	else
		ret = -EINVAL;
	if (!ret) {
		snprintf(m->sguid, sizeof(m->sguid), "%s", s);
		snprintf(m->cguid, sizeof(m->cguid), "%s",
			 m->kind != MK_LEAF ? c : "");
	}
	free(op);
	free(s);
	free(c);
	free(text);
	if (ret)
		return prld_set_err(err, ret,
				    "%s: malformed merge journal; inspect the disk and remove it by hand",
				    m->journal);
	return 0;
}

static const char *journal_name(const struct merge *m)
{
	const char *slash = strrchr(m->journal, '/');

	return slash ? slash + 1 : m->journal;
}

/* "merge of snapshot X into Y" or "deletion of snapshot X", for @m. */
void merge_describe(const struct merge *m, char *buf, size_t len)
{
	if (m->kind == MK_LEAF)
		snprintf(buf, len, "deletion of snapshot %s", m->sguid);
	else if (m->kind == MK_UP)
		snprintf(buf, len, "merge of snapshot %s into %s", m->sguid,
			 m->cguid);
	else
		snprintf(buf, len, "merge of snapshot %s into %s", m->cguid,
			 m->sguid);
}

/* Does a delete hold the disk directory's lock right now? */
static bool delete_running(const char *desc_path)
{
	char *dir = prld_dirname(desc_path);
	int fd = dir ? desc_lock_dir(dir, NULL) : -ENOMEM;

	free(dir);
	if (fd >= 0)
		close(fd);
	return fd == -EBUSY;
}

int merge_pending(const char *desc_path, char *what, size_t len)
{
	char op[160];
	struct merge m;
	int ret;

	if (merge_init(&m, desc_path, NULL)) {
		merge_fini(&m);
		return -ENOMEM;
	}
	ret = merge_journal_read(&m, NULL);
	if (ret == -ENOENT) {
		ret = 0;
	} else if (ret) {
		snprintf(what, len,
			 "malformed merge journal %s: inspect the disk, then remove it",
			 journal_name(&m));
		ret = 1;
	} else if (delete_running(desc_path)) {
		merge_describe(&m, op, sizeof(op));
		snprintf(what, len, "%s in progress (journal %s)", op,
			 journal_name(&m));
		ret = 2;
	} else {
		merge_describe(&m, op, sizeof(op));
		snprintf(what, len,
			 "unfinished %s (journal %s); check --repair finishes it",
			 op, journal_name(&m));
		ret = 1;
	}
	merge_fini(&m);
	return ret;
}
