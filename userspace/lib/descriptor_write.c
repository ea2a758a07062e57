// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * descriptor_write.c - desc_new() and desc_save().
 *
 * Saving writes the model into the DOM it was read from (descriptor_dom.c
 * keeps vendor elements and the file's own indentation), then replaces the
 * file atomically: "<path>.tmp", fsync, rename, fsync of the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "descriptor.h"

/* ploop's layout; desc_sync() fills in every value. */
static const char new_template[] =
	"<?xml version=\"1.0\"?>\n"
	"<Parallels_disk_image Version=\"1.0\">\n"
	"  <Disk_Parameters>\n"
	"    <Disk_size/>\n"
	"    <Cylinders/>\n"
	"    <Heads/>\n"
	"    <Sectors/>\n"
	"    <Padding/>\n"
	"  </Disk_Parameters>\n"
	"  <StorageData>\n"
	"    <Storage>\n"
	"      <Start/>\n"
	"      <End/>\n"
	"      <Blocksize/>\n"
	"      <Image>\n"
	"        <GUID/>\n"
	"        <Type/>\n"
	"        <File/>\n"
	"      </Image>\n"
	"    </Storage>\n"
	"  </StorageData>\n"
	"  <Snapshots>\n"
	"    <TopGUID/>\n"
	"    <Shot>\n"
	"      <GUID/>\n"
	"      <ParentGUID/>\n"
	"    </Shot>\n"
	"  </Snapshots>\n"
	"</Parallels_disk_image>\n";

/* ---- model -> DOM ------------------------------------------------- */

static int sync_params(struct prld_desc *d, xmlNode *root)
{
	xmlNode *dp;
	int ret = dom_ensure_child(root, "Disk_Parameters", &dp);

	if (!ret)
		ret = dom_set_num(dp, "Disk_size", d->disk_size);
	if (!ret)
		ret = dom_set_num(dp, "Cylinders", d->cylinders);
	if (!ret)
		ret = dom_set_num(dp, "Heads", d->heads);
	if (!ret)
		ret = dom_set_num(dp, "Sectors", d->sectors);
	if (!ret)
		ret = dom_set_num(dp, "Padding", d->padding);
	return ret;
}

static int sync_image(xmlNode *n, const struct prld_desc_image *im)
{
	int ret = dom_set_guid(n, "GUID", im->guid);

	if (!ret)
		ret = dom_set_text(n, "Type", im->kind == PRLD_LAYER_PLAIN ?
					      "Plain" : "Compressed");
	if (!ret)
		ret = dom_set_text(n, "File", im->file);
	return ret;
}

static int sync_storage(struct prld_desc *d, xmlNode *root)
{
	static const char *const fields[] = { "GUID", "Type", "File", NULL };
	xmlNode *sd, *st;
	unsigned int i;
	int ret = dom_ensure_child(root, "StorageData", &sd);

	if (!ret)
		ret = dom_ensure_child(sd, "Storage", &st);
	if (!ret)
		ret = dom_set_num(st, "Start", d->start);
	if (!ret)
		ret = dom_set_num(st, "End", d->end);
	if (!ret)
		ret = dom_set_num(st, "Blocksize", d->blocksize);
	/* ploop writes it only when set; an existing one is kept true. */
	if (!ret && (d->preallocated || dx_child(st, "Preallocated")))
		ret = dom_set_num(st, "Preallocated", d->preallocated);
	if (!ret)
		ret = dom_sync_list(st, "Image", d->images,
				    sizeof(*d->images),
				    offsetof(struct prld_desc_image, node),
				    d->nimages, fields);
	for (i = 0; i < d->nimages && !ret; i++)
		ret = sync_image(d->images[i].node, &d->images[i]);
	return ret;
}

static int sync_snapshots(struct prld_desc *d, xmlNode *root)
{
	static const char *const fields[] = { "GUID", "ParentGUID", NULL };
	xmlNode *sn, *n;
	unsigned int i;
	int ret = dom_ensure_child(root, "Snapshots", &sn);

	/* No TopGUID where there was none: libphdi refuses the element. */
	if (!ret && d->has_top_guid)
		ret = dom_set_guid(sn, "TopGUID", d->top_guid);
	if (!ret)
		ret = dom_sync_list(sn, "Shot", d->shots, sizeof(*d->shots),
				    offsetof(struct prld_desc_shot, node),
				    d->nshots, fields);
	for (i = 0; i < d->nshots && !ret; i++) {
		n = d->shots[i].node;
		ret = dom_set_guid(n, "GUID", d->shots[i].guid);
		if (!ret)
			ret = dom_set_guid(n, "ParentGUID", d->shots[i].parent);
	}
	/*
	 * Without TopGUID, libphdi takes the first <Shot> for the current
	 * state: the top goes first, so it and ploop read the same chain.
	 */
	if (!ret && !d->has_top_guid)
		ret = dom_move_first(sn, "Shot",
				     d->shots[desc_find_shot(d, d->top_guid)].node);
	return ret;
}

static int desc_sync(struct prld_desc *d, struct prld_err *err)
{
	xmlNode *root = xmlDocGetRootElement(d->doc);
	int ret;

	if (!root)
		return desc_err(err, -EINVAL, desc_label(d->path),
				"no root element");
	ret = sync_params(d, root);
	if (!ret)
		ret = sync_storage(d, root);
	if (!ret)
		ret = sync_snapshots(d, root);
	if (ret)
		return desc_err(err, ret, desc_label(d->path),
				"cannot update the XML: out of memory");
	return 0;
}

/* ---- writing ------------------------------------------------------ */

/* Keep the permissions of the file being replaced. */
static mode_t old_mode(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_mode & 07777 : 0644;
}

static int write_tmp(const char *tmp, mode_t mode, const char *buf,
		     size_t len, struct prld_err *err)
{
	int fd, ret;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return desc_err(err, -errno, tmp, "create: %m");
	ret = fchmod(fd, mode) < 0 ? -errno : 0;
	if (!ret)
		ret = prld_pwrite_full(fd, buf, len, 0);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (ret)
		return desc_err(err, ret, tmp, "write: %s", strerror(-ret));
	return 0;
}

static int replace_file(const char *path, const char *buf, size_t len,
			struct prld_err *err)
{
	char *tmp;
	int ret;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return desc_err(err, -ENOMEM, path, "out of memory");
	ret = write_tmp(tmp, old_mode(path), buf, len, err);
	if (!ret && rename(tmp, path) < 0)
		ret = desc_err(err, -errno, path, "rename from %s: %m", tmp);
	if (ret)
		unlink(tmp);
	free(tmp);
	if (ret)
		return ret;
	ret = prld_fsync_dir(path);
	if (ret)
		return desc_err(err, ret, path, "fsync of its directory: %s",
				strerror(-ret));
	return 0;
}

int desc_save(struct prld_desc *d, struct prld_err *err)
{
	xmlChar *mem = NULL;
	int len = 0, ret;

	if (!d->path)
		return desc_err(err, -EINVAL, PRLD_DESCRIPTOR,
				"descriptor has no path to save to");
	ret = desc_single_storage(d, "cannot rewrite the descriptor of", err);
	if (!ret)
		ret = desc_validate(d, err);
	if (!ret)
		ret = desc_top_rule(d, err);
	if (!ret)
		ret = desc_sync(d, err);
	if (ret)
		return ret;
	xmlDocDumpMemory(d->doc, &mem, &len);
	if (!mem || len <= 0) {
		xmlFree(mem);
		return desc_err(err, -ENOMEM, d->path,
				"cannot serialise the XML: out of memory");
	}
	ret = replace_file(d->path, (const char *)mem, (size_t)len, err);
	xmlFree(mem);
	return ret;
}

/* ---- new ---------------------------------------------------------- */

static int new_model(struct prld_desc *d, const char *dir, uint64_t disk_size,
		     const struct prld_chs *chs, uint32_t blocksize,
		     const char *file, enum prld_layer_kind kind)
{
	struct prld_chs def;

	if (!chs) {
		prld_chs_from_size(disk_size, &def);
		chs = &def;
	}
	d->dir = strdup(dir);
	d->path = prld_join(dir, PRLD_DESCRIPTOR);
	d->images = calloc(1, sizeof(*d->images));
	d->shots = calloc(1, sizeof(*d->shots));
	if (!d->dir || !d->path || !d->images || !d->shots)
		return -ENOMEM;
	d->nimages = 1;
	d->nstorages = 1;
	d->nshots = 1;
	d->has_top_guid = true;
	d->images[0].file = strdup(file ? file : "");
	if (!d->images[0].file)
		return -ENOMEM;
	d->disk_size = disk_size;
	d->cylinders = chs->cylinders;
	d->heads = chs->heads;
	d->sectors = chs->sectors;
	d->end = disk_size;
	d->blocksize = blocksize;
	d->images[0].kind = kind;
	strcpy(d->images[0].guid, PRLD_TOP_GUID);
	strcpy(d->shots[0].guid, PRLD_TOP_GUID);
	strcpy(d->shots[0].parent, PRLD_ZERO_GUID);
	strcpy(d->top_guid, PRLD_TOP_GUID);
	return 0;
}

/* Parse the template and tie its one Image and Shot to the model. */
static int new_doc(struct prld_desc *d, struct prld_err *err)
{
	xmlNode *root, *st, *sn;

	d->doc = dx_read(new_template, sizeof(new_template) - 1,
			 desc_label(d->path), err);
	if (!d->doc)
		return err ? err->code : -ENOMEM;
	root = xmlDocGetRootElement(d->doc);
	st = dx_child(dx_child(root, "StorageData"), "Storage");
	sn = dx_child(root, "Snapshots");
	d->images[0].node = dx_child(st, "Image");
	d->shots[0].node = dx_child(sn, "Shot");
	return desc_sync(d, err);
}

int desc_new(const char *dir, uint64_t disk_size, const struct prld_chs *chs,
	     uint32_t blocksize, const char *file, enum prld_layer_kind kind,
	     struct prld_desc **out, struct prld_err *err)
{
	struct prld_desc *d = calloc(1, sizeof(*d));
	int ret;

	*out = NULL;
	ret = d ? new_model(d, dir, disk_size, chs, blocksize, file, kind) :
		  -ENOMEM;
	if (ret)
		ret = desc_err(err, ret, dir, "out of memory");
	if (!ret)
		ret = desc_validate(d, err);
	if (!ret)
		ret = new_doc(d, err);
	if (ret) {
		desc_free(d);
		return ret;
	}
	*out = d;
	return 0;
}
