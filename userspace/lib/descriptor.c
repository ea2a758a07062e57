// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * descriptor.c - read DiskDescriptor.xml (format-notes §5) into struct
 * prld_desc.  The DOM is kept next to the model so that a later save
 * rewrites only what we own and leaves vendor elements alone.  Each
 * reader names the element and the offending value in its message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "descriptor.h"

/* ---- GUIDs -------------------------------------------------------- */

bool desc_guid_norm(const char *in, char out[PRLD_GUID_LEN + 1])
{
	char inner[PRLD_GUID_LEN - 1];
	uuid_t u;

	if (!in || strlen(in) != PRLD_GUID_LEN || in[0] != '{' ||
	    in[PRLD_GUID_LEN - 1] != '}')
		return false;
	memcpy(inner, in + 1, PRLD_GUID_LEN - 2);
	inner[PRLD_GUID_LEN - 2] = '\0';
	if (uuid_parse(inner, u) < 0)
		return false;
	out[0] = '{';
	uuid_unparse_lower(u, out + 1);
	out[PRLD_GUID_LEN - 1] = '}';
	out[PRLD_GUID_LEN] = '\0';
	return true;
}

bool desc_guid_valid(const char *guid)
{
	char tmp[PRLD_GUID_LEN + 1];

	return desc_guid_norm(guid, tmp);
}

int desc_add_layer(struct prld_desc *d, const char *guid, const char *parent,
		   const char *file, enum prld_layer_kind kind)
{
	struct prld_desc_image *im;
	struct prld_desc_shot *sh;
	char *dup = strdup(file);

	im = dup ? realloc(d->images, (d->nimages + 1) * sizeof(*im)) : NULL;
	if (im)
		d->images = im;
	sh = im ? realloc(d->shots, (d->nshots + 1) * sizeof(*sh)) : NULL;
	if (!sh) {
		free(dup);
		return -ENOMEM;
	}
	d->shots = sh;
	im = &d->images[d->nimages++];
	*im = (struct prld_desc_image){ .kind = kind, .file = dup };
	snprintf(im->guid, sizeof(im->guid), "%s", guid);
	sh = &d->shots[d->nshots++];
	*sh = (struct prld_desc_shot){ .node = NULL };
	snprintf(sh->guid, sizeof(sh->guid), "%s", guid);
	snprintf(sh->parent, sizeof(sh->parent), "%s", parent);
	return 0;
}

void desc_new_guid(char out[PRLD_GUID_LEN + 1])
{
	uuid_t u;

	uuid_generate(u);
	out[0] = '{';
	uuid_unparse_lower(u, out + 1);
	out[PRLD_GUID_LEN - 1] = '}';
	out[PRLD_GUID_LEN] = '\0';
}

/* ---- element readers ---------------------------------------------- */

struct dparse {
	struct prld_desc *d;
	const char *name;	/* the descriptor, for messages */
	struct prld_err *err;
};

#define bad(p, ...) desc_err((p)->err, -EINVAL, (p)->name, __VA_ARGS__)

/* The one <@name> in @parent; NULL without error if absent. */
static int find_one(struct dparse *p, xmlNode *parent, const char *name,
		    xmlNode **out)
{
	unsigned int n = dx_count(parent, name);

	*out = dx_child(parent, name);
	if (n > 1)
		return bad(p, "element <%s> appears %u times in <%s>", name, n,
			   (const char *)parent->name);
	return 0;
}

static int need_one(struct dparse *p, xmlNode *parent, const char *name,
		    xmlNode **out)
{
	int ret = find_one(p, parent, name, out);

	if (!ret && !*out)
		return bad(p, "missing element <%s> in <%s>", name,
			   (const char *)parent->name);
	return ret;
}

/* Text of the required <@name> in @parent, malloc'd. */
static int need_text(struct dparse *p, xmlNode *parent, const char *name,
		     char **out)
{
	xmlNode *n;
	int ret = need_one(p, parent, name, &n);

	if (ret)
		return ret;
	*out = dx_text(n);
	return *out ? 0 : desc_err(p->err, -ENOMEM, p->name, "out of memory");
}

/* Plain decimal only: no sign, no base prefix, no suffix, no overflow. */
static bool parse_dec(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned int digit = (unsigned int)(*s - '0');

		if (*s < '0' || *s > '9' || v > (max - digit) / 10)
			return false;
		v = v * 10 + digit;
	}
	*out = v;
	return true;
}

static int get_num(struct dparse *p, xmlNode *parent, const char *name,
		   bool required, uint64_t max, uint64_t *out)
{
	char q[80], *text;
	xmlNode *n;
	int ret;

	ret = required ? need_one(p, parent, name, &n) :
			 find_one(p, parent, name, &n);
	if (ret || !n)
		return ret;
	text = dx_text(n);
	if (!text)
		return desc_err(p->err, -ENOMEM, p->name, "out of memory");
	if (!parse_dec(text, max, out)) {
		desc_quote(q, sizeof(q), text);
		ret = bad(p, "element <%s>: bad value '%s' (want a decimal number up to %llu)",
			  name, q, (unsigned long long)max);
	}
	free(text);
	return ret;
}

static int get_u32(struct dparse *p, xmlNode *parent, const char *name,
		   bool required, uint32_t *out)
{
	uint64_t v = 0;
	int ret = get_num(p, parent, name, required, UINT32_MAX, &v);

	*out = (uint32_t)v;
	return ret;
}

static int get_guid(struct dparse *p, xmlNode *parent, const char *name,
		    char out[PRLD_GUID_LEN + 1])
{
	char q[80], *text;
	int ret = need_text(p, parent, name, &text);

	if (ret)
		return ret;
	if (!desc_guid_norm(text, out)) {
		desc_quote(q, sizeof(q), text);
		ret = bad(p, "element <%s> in <%s>: bad value '%s' (want a GUID like %s)",
			  name, (const char *)parent->name, q, PRLD_ZERO_GUID);
	}
	free(text);
	return ret;
}

/* ---- the sections ------------------------------------------------- */

static int parse_params(struct dparse *p, xmlNode *root)
{
	struct prld_desc *d = p->d;
	xmlNode *dp;
	int ret;

	ret = need_one(p, root, "Disk_Parameters", &dp);
	if (!ret)
		ret = get_num(p, dp, "Disk_size", true, UINT64_MAX,
			      &d->disk_size);
	if (!ret)
		ret = get_u32(p, dp, "Cylinders", true, &d->cylinders);
	if (!ret)
		ret = get_u32(p, dp, "Heads", true, &d->heads);
	if (!ret)
		ret = get_u32(p, dp, "Sectors", true, &d->sectors);
	if (!ret)
		ret = get_u32(p, dp, "Padding", false, &d->padding);
	return ret;
}

static int parse_type(struct dparse *p, xmlNode *img,
		      enum prld_layer_kind *kind)
{
	char q[80], *text;
	int ret = need_text(p, img, "Type", &text);

	if (ret)
		return ret;
	if (!strcmp(text, "Compressed")) {
		*kind = PRLD_LAYER_EXPANDING;
	} else if (!strcmp(text, "Plain")) {
		*kind = PRLD_LAYER_PLAIN;
	} else {
		desc_quote(q, sizeof(q), text);
		ret = bad(p, "element <Type>: bad value '%s' (want Compressed or Plain)",
			  q);
	}
	free(text);
	return ret;
}

static int parse_image(struct dparse *p, xmlNode *node,
		       struct prld_desc_image *im)
{
	int ret;

	im->node = node;
	ret = get_guid(p, node, "GUID", im->guid);
	if (!ret)
		ret = parse_type(p, node, &im->kind);
	if (!ret)
		ret = need_text(p, node, "File", &im->file);
	return ret;
}

static int parse_images(struct dparse *p, xmlNode *storage)
{
	struct prld_desc *d = p->d;
	unsigned int n = dx_count(storage, "Image"), i = 0;
	xmlNode *c;
	int ret;

	if (!n)
		return bad(p, "no <Image> in <Storage>");
	d->images = calloc(n, sizeof(*d->images));
	if (!d->images)
		return desc_err(p->err, -ENOMEM, p->name, "out of memory");
	d->nimages = n;
	for (c = storage->children; c; c = c->next) {
		if (!dx_is(c, "Image"))
			continue;
		ret = parse_image(p, c, &d->images[i++]);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_storage(struct dparse *p, xmlNode *root)
{
	struct prld_desc *d = p->d;
	xmlNode *sd, *st;
	unsigned int n;
	int ret;

	ret = need_one(p, root, "StorageData", &sd);
	if (ret)
		return ret;
	n = dx_count(sd, "Storage");
	if (n == 0)
		return bad(p, "no <Storage> in <StorageData>");
	if (n > 1)
		return bad(p, "<StorageData> has %u <Storage> elements: split disks unsupported",
			   n);
	st = dx_child(sd, "Storage");
	ret = get_num(p, st, "Start", true, UINT64_MAX, &d->start);
	if (!ret)
		ret = get_num(p, st, "End", true, UINT64_MAX, &d->end);
	if (!ret)
		ret = get_u32(p, st, "Blocksize", true, &d->blocksize);
	if (!ret)
		ret = parse_images(p, st);
	return ret;
}

static int parse_shots(struct dparse *p, xmlNode *snaps)
{
	struct prld_desc *d = p->d;
	unsigned int n = dx_count(snaps, "Shot"), i = 0;
	xmlNode *c;
	int ret;

	if (!n)
		return bad(p, "no <Shot> in <Snapshots>");
	d->shots = calloc(n, sizeof(*d->shots));
	if (!d->shots)
		return desc_err(p->err, -ENOMEM, p->name, "out of memory");
	d->nshots = n;
	for (c = snaps->children; c; c = c->next) {
		if (!dx_is(c, "Shot"))
			continue;
		d->shots[i].node = c;
		ret = get_guid(p, c, "GUID", d->shots[i].guid);
		if (!ret)
			ret = get_guid(p, c, "ParentGUID", d->shots[i].parent);
		if (ret)
			return ret;
		i++;
	}
	return 0;
}

static int parse_snapshots(struct dparse *p, xmlNode *root)
{
	xmlNode *snaps;
	int ret;

	ret = need_one(p, root, "Snapshots", &snaps);
	if (!ret)
		ret = get_guid(p, snaps, "TopGUID", p->d->top_guid);
	if (!ret)
		ret = parse_shots(p, snaps);
	return ret;
}

static int parse_root(struct dparse *p, xmlNode *root)
{
	const char *rn = (const char *)root->name;
	char q[80];
	int ret;

	if (strcmp(rn, "Parallels_disk_image") &&
	    strcmp(rn, "Virtuozzo_disk_image")) {
		desc_quote(q, sizeof(q), rn);
		return bad(p, "unknown root element <%s> (want <Parallels_disk_image> or <Virtuozzo_disk_image>)",
			   q);
	}
	ret = parse_params(p, root);
	if (!ret)
		ret = parse_storage(p, root);
	if (!ret)
		ret = parse_snapshots(p, root);
	return ret;
}

/* ---- public ------------------------------------------------------- */

static int set_paths(struct prld_desc *d, const char *path)
{
	if (!path)
		return 0;
	d->path = strdup(path);
	d->dir = prld_dirname(path);
	return d->path && d->dir ? 0 : -ENOMEM;
}

int desc_parse(const char *buf, size_t len, const char *path,
	       struct prld_desc **out, struct prld_err *err)
{
	struct dparse p = { .name = desc_label(path), .err = err };
	xmlNode *root;
	int ret;

	*out = NULL;
	p.d = calloc(1, sizeof(*p.d));
	if (!p.d || set_paths(p.d, path)) {
		desc_free(p.d);
		return desc_err(err, -ENOMEM, p.name, "out of memory");
	}
	p.d->doc = dx_read(buf, len, p.name, err);
	if (!p.d->doc) {
		desc_free(p.d);
		return err ? err->code : -EINVAL;
	}
	root = xmlDocGetRootElement(p.d->doc);
	ret = root ? parse_root(&p, root) : bad(&p, "no root element");
	if (!ret)
		ret = desc_validate(p.d, err);
	if (ret) {
		desc_free(p.d);
		return ret;
	}
	*out = p.d;
	return 0;
}

/* The whole file, refusing anything that is not a small regular file. */
static int read_file(int fd, const char *path, char **buf, size_t *len,
		     struct prld_err *err)
{
	size_t cap = DESC_MAX_BYTES + 1, got = 0;
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return desc_err(err, -errno, path, "stat: %m");
	if (!S_ISREG(st.st_mode))
		return desc_err(err, -EINVAL, path, "not a regular file");
	if (st.st_size > (off_t)DESC_MAX_BYTES)
		return desc_err(err, -EFBIG, path,
				"%lld bytes, more than the %u byte limit for a descriptor",
				(long long)st.st_size, DESC_MAX_BYTES);
	*buf = malloc(cap);
	if (!*buf)
		return desc_err(err, -ENOMEM, path, "out of memory");
	/* Read to EOF rather than st_size: the file may change under us. */
	while (got < cap) {
		n = read(fd, *buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return desc_err(err, -errno, path, "read: %m");
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*len = got;
	return 0;
}

int desc_load(const char *path, struct prld_desc **out, struct prld_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	int fd, ret;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return desc_err(err, -errno, path, "open: %m");
	ret = read_file(fd, path, &buf, &len, err);
	close(fd);
	if (!ret)
		ret = desc_parse(buf, len, path, out, err);
	free(buf);
	return ret;
}

void desc_free(struct prld_desc *d)
{
	unsigned int i;

	if (!d)
		return;
	for (i = 0; i < d->nimages; i++)
		free(d->images[i].file);
	free(d->images);
	free(d->shots);
	free(d->path);
	free(d->dir);
	xmlFreeDoc(d->doc);
	free(d);
}
