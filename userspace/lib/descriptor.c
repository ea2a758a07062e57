// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * descriptor.c - read DiskDescriptor.xml (format-notes §5) into struct
 * prld_desc.  The DOM is kept next to the model so that a later save
 * rewrites only what we own and leaves vendor elements alone.  Each
 * reader names the element and the offending value in its message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* Record the first reason prld cannot open the data; parsing goes on. */
static void unsupported(struct prld_desc *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void unsupported(struct prld_desc *d, const char *fmt, ...)
{
	va_list ap;

	if (d->unsupported[0])
		return;
	va_start(ap, fmt);
	vsnprintf(d->unsupported, sizeof(d->unsupported), fmt, ap);
	va_end(ap);
}

/*
 * Parallels Desktop's <Encryption>: an Engine other than the zero GUID,
 * or key Data, means the clusters hold ciphertext.
 */
static int parse_encryption(struct dparse *p, xmlNode *dp)
{
	char *engine = NULL, *data = NULL, q[80];
	xmlNode *enc, *n;
	int ret;

	ret = find_one(p, dp, "Encryption", &enc);
	if (ret || !enc)
		return ret;
	n = dx_child(enc, "Engine");
	engine = n ? dx_text(n) : strdup("");
	n = dx_child(enc, "Data");
	data = n ? dx_text(n) : strdup("");
	if (!engine || !data) {
		ret = desc_err(p->err, -ENOMEM, p->name, "out of memory");
	} else if ((*engine && strcasecmp(engine, PRLD_ZERO_GUID)) || *data) {
		desc_quote(q, sizeof(q), *engine ? engine : "(none)");
		unsupported(p->d, "encrypted disk (<Encryption> engine %s%s): prld cannot decrypt it, and its clusters would read as ciphertext",
			    q, *data ? ", key data set" : "");
	}
	free(engine);
	free(data);
	return ret;
}

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
	if (!ret)
		ret = parse_encryption(p, dp);
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

static int parse_images(struct dparse *p, xmlNode *storage,
			struct prld_desc_storage *out)
{
	unsigned int n = dx_count(storage, "Image"), i = 0;
	xmlNode *c;
	int ret;

	if (!n)
		return bad(p, "no <Image> in <Storage>");
	out->images = calloc(n, sizeof(*out->images));
	if (!out->images)
		return desc_err(p->err, -ENOMEM, p->name, "out of memory");
	out->nimages = n;
	for (c = storage->children; c; c = c->next) {
		if (!dx_is(c, "Image"))
			continue;
		ret = parse_image(p, c, &out->images[i++]);
		if (ret)
			return ret;
	}
	return 0;
}

/* ploop's <Preallocated>: 0 or 1, in any <Storage>. */
static int parse_prealloc(struct dparse *p, xmlNode *st)
{
	uint64_t v = 0;
	int ret = get_num(p, st, "Preallocated", false, 1, &v);

	if (v)
		p->d->preallocated = true;
	return ret;
}

static int parse_one_storage(struct dparse *p, xmlNode *st,
			     struct prld_desc_storage *out)
{
	int ret = get_num(p, st, "Start", true, UINT64_MAX, &out->start);

	if (!ret)
		ret = get_num(p, st, "End", true, UINT64_MAX, &out->end);
	if (!ret)
		ret = get_u32(p, st, "Blocksize", true, &out->blocksize);
	if (!ret)
		ret = parse_prealloc(p, st);
	if (!ret)
		ret = parse_images(p, st, out);
	return ret;
}

/* The first <Storage> lives in the model's own fields. */
static void keep_first(struct prld_desc *d, struct prld_desc_storage *st)
{
	d->start = st->start;
	d->end = st->end;
	d->blocksize = st->blocksize;
	d->nimages = st->nimages;
	d->images = st->images;
}

static int parse_storage(struct dparse *p, xmlNode *root)
{
	struct prld_desc *d = p->d;
	struct prld_desc_storage first = { 0 };
	unsigned int n, k = 0;
	xmlNode *sd, *c;
	int ret;

	ret = need_one(p, root, "StorageData", &sd);
	if (ret)
		return ret;
	n = dx_count(sd, "Storage");
	if (n == 0)
		return bad(p, "no <Storage> in <StorageData>");
	d->more = calloc(n, sizeof(*d->more));
	if (!d->more)
		return desc_err(p->err, -ENOMEM, p->name, "out of memory");
	for (c = sd->children; c && !ret; c = c->next) {
		if (!dx_is(c, "Storage"))
			continue;
		ret = parse_one_storage(p, c, k ? &d->more[k - 1] : &first);
		if (k++ == 0)
			keep_first(d, &first);
		d->nstorages = k;
	}
	return ret;
}

/*
 * A descriptor that lists its one image but no <Shot> (an old ploop
 * layout): ploop adds the Shot {top GUID, zero parent}, and so do we.
 */
static int synth_shot(struct dparse *p)
{
	struct prld_desc *d = p->d;

	if (d->nimages != 1 || d->nstorages != 1 ||
	    strcmp(d->images[0].guid, PRLD_TOP_GUID))
		return bad(p, "no <Shot> in <Snapshots>");
	d->shots = calloc(1, sizeof(*d->shots));
	if (!d->shots)
		return desc_err(p->err, -ENOMEM, p->name, "out of memory");
	d->nshots = 1;
	strcpy(d->shots[0].guid, PRLD_TOP_GUID);
	strcpy(d->shots[0].parent, PRLD_ZERO_GUID);
	return 0;
}

static int parse_shots(struct dparse *p, xmlNode *snaps)
{
	struct prld_desc *d = p->d;
	unsigned int n = dx_count(snaps, "Shot"), i = 0;
	xmlNode *c;
	int ret;

	if (!n)
		return synth_shot(p);
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

/*
 * No <TopGUID>: ploop's rule (validate_disk_descriptor) makes the
 * {5fbaabe3-...} Shot the top.  Whether it is the current state of a
 * Parallels Desktop bundle with several snapshots is not known, so
 * desc_top_rule() insists that it be the only leaf.
 */
static int top_without_guid(struct dparse *p)
{
	if (desc_find_shot(p->d, PRLD_TOP_GUID) < 0)
		return bad(p, "no <TopGUID> in <Snapshots>, and no Shot %s (the top, as ploop and Parallels Desktop name it): cannot tell which image is current",
			   PRLD_TOP_GUID);
	strcpy(p->d->top_guid, PRLD_TOP_GUID);
	return 0;
}

static int parse_snapshots(struct dparse *p, xmlNode *root)
{
	xmlNode *snaps, *top;
	int ret;

	ret = need_one(p, root, "Snapshots", &snaps);
	if (!ret)
		ret = find_one(p, snaps, "TopGUID", &top);
	if (!ret && top) {
		p->d->has_top_guid = true;
		ret = get_guid(p, snaps, "TopGUID", p->d->top_guid);
	}
	if (!ret)
		ret = parse_shots(p, snaps);
	if (!ret && !top)
		ret = top_without_guid(p);
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

/* What parses and validates, but prld must not open (see ->unsupported). */
static void find_unsupported(struct prld_desc *d)
{
	struct prld_err e = { 0 };

	if (d->padding)
		unsupported(d, "<Padding> %u: padded disks are not supported (the format's documentation says not to open them)",
			    d->padding);
	if (desc_top_rule(d, &e))
		unsupported(d, "%s", e.msg + strlen(desc_label(d->path)) + 2);
}

static int parse_any(const char *buf, size_t len, const char *path,
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
	if (!ret)
		find_unsupported(p.d);
	if (ret) {
		desc_free(p.d);
		return ret;
	}
	*out = p.d;
	return 0;
}

/* A descriptor prld can open, or -EOPNOTSUPP saying why not. */
static int refuse_unsupported(struct prld_desc **out, const char *path,
			      struct prld_err *err)
{
	int ret;

	if (!*out || !(*out)->unsupported[0])
		return 0;
	ret = desc_err(err, -EOPNOTSUPP, desc_label(path), "%s",
		       (*out)->unsupported);
	desc_free(*out);
	*out = NULL;
	return ret;
}

int desc_parse(const char *buf, size_t len, const char *path,
	       struct prld_desc **out, struct prld_err *err)
{
	int ret = parse_any(buf, len, path, out, err);

	return ret ? ret : refuse_unsupported(out, path, err);
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

int desc_load_any(const char *path, struct prld_desc **out,
		  struct prld_err *err)
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
		ret = parse_any(buf, len, path, out, err);
	free(buf);
	return ret;
}

int desc_load(const char *path, struct prld_desc **out, struct prld_err *err)
{
	int ret = desc_load_any(path, out, err);

	return ret ? ret : refuse_unsupported(out, path, err);
}

void desc_free(struct prld_desc *d)
{
	unsigned int i, k;

	if (!d)
		return;
	for (i = 0; i < d->nimages; i++)
		free(d->images[i].file);
	free(d->images);
	for (k = 0; d->more && k + 1 < d->nstorages; k++) {
		for (i = 0; i < d->more[k].nimages; i++)
			free(d->more[k].images[i].file);
		free(d->more[k].images);
	}
	free(d->more);
	free(d->shots);
	free(d->path);
	free(d->dir);
	xmlFreeDoc(d->doc);
	free(d);
}
