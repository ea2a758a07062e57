// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * test_descriptor.c - DiskDescriptor.xml: both root names, chain order,
 * desc_new/desc_save/desc_load round trips, vendor elements surviving a
 * rewrite, atomic save, and one precise error message per malformed case.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define BASE_G	"{9b1c5c5e-2c1f-4a8e-9a57-3f0c2f3b8d11}"
#define MID_G	"{0f2e4d6c-8b1a-4c3d-9e5f-a1b2c3d4e5f6}"
#define TOP_G	PRLD_TOP_GUID
#define ZERO_G	PRLD_ZERO_GUID

/* Two layers, ploop's layout: the base case every malformed one edits. */
static const char two_layers[] =
	"<?xml version=\"1.0\"?>\n"
	"<Parallels_disk_image Version=\"1.0\">\n"
	"  <Disk_Parameters>\n"
	"    <Disk_size>2097152</Disk_size>\n"
	"    <Cylinders>2080</Cylinders>\n"
	"    <Heads>16</Heads>\n"
	"    <Sectors>63</Sectors>\n"
	"    <Padding>0</Padding>\n"
	"  </Disk_Parameters>\n"
	"  <StorageData>\n"
	"    <Storage>\n"
	"      <Start>0</Start>\n"
	"      <End>2097152</End>\n"
	"      <Blocksize>2048</Blocksize>\n"
	"      <Image>\n"
	"        <GUID>" BASE_G "</GUID>\n"
	"        <Type>Compressed</Type>\n"
	"        <File>root.hds</File>\n"
	"      </Image>\n"
	"      <Image>\n"
	"        <GUID>" TOP_G "</GUID>\n"
	"        <Type>Compressed</Type>\n"
	"        <File>root.hds." TOP_G "</File>\n"
	"      </Image>\n"
	"    </Storage>\n"
	"  </StorageData>\n"
	"  <Snapshots>\n"
	"    <TopGUID>" TOP_G "</TopGUID>\n"
	"    <Shot>\n"
	"      <GUID>" BASE_G "</GUID>\n"
	"      <ParentGUID>" ZERO_G "</ParentGUID>\n"
	"    </Shot>\n"
	"    <Shot>\n"
	"      <GUID>" TOP_G "</GUID>\n"
	"      <ParentGUID>" BASE_G "</ParentGUID>\n"
	"    </Shot>\n"
	"  </Snapshots>\n"
	"</Parallels_disk_image>\n";

/* ---- helpers -------------------------------------------------------- */

static int put_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ret;

	if (fd < 0)
		return -errno;
	ret = prld_pwrite_full(fd, text, len, 0);
	close(fd);
	return ret;
}

/* @base with the first @from replaced by @to (malloc'd). */
static char *edit(const char *base, const char *from, const char *to)
{
	const char *at = strstr(base, from);
	char *out;

	if (!at)
		return NULL;
	if (asprintf(&out, "%.*s%s%s", (int)(at - base), base, to,
		     at + strlen(from)) < 0)
		return NULL;
	return out;
}

/* Two edits in a row. */
static char *edit2(const char *base, const char *f1, const char *t1,
		   const char *f2, const char *t2)
{
	char *a = edit(base, f1, t1);
	char *b = a ? edit(a, f2, t2) : NULL;

	free(a);
	return b;
}

static unsigned int count(const char *hay, const char *needle)
{
	unsigned int n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

static int parse(const char *text, struct prld_desc **d, struct prld_err *e)
{
	memset(e, 0, sizeof(*e));
	return desc_parse(text, strlen(text), "/d/DiskDescriptor.xml", d, e);
}

/* ---- well-formed descriptors ---------------------------------------- */

static void test_parallels_root(void)
{
	struct prld_desc *d = NULL;
	struct prld_err e;
	int ret = parse(two_layers, &d, &e);

	is_int(ret, 0, "ploop-style descriptor parses");
	if (ret) {
		printf("#   %s\n", e.msg);
		return;
	}
	is_int(d->disk_size, 2097152, "Disk_size");
	is_int(d->cylinders, 2080, "Cylinders");
	is_int(d->heads, 16, "Heads");
	is_int(d->sectors, 63, "Sectors");
	is_int(d->end, 2097152, "End");
	is_int(d->blocksize, 2048, "Blocksize");
	is_int(d->nimages, 2, "two images");
	is_int(d->nshots, 2, "two shots");
	ok(!strcmp(d->top_guid, TOP_G), "TopGUID");
	ok(!strcmp(d->images[0].file, "root.hds"), "base file");
	is_int(d->images[0].kind, PRLD_LAYER_EXPANDING, "Compressed kind");
	ok(!strcmp(d->dir, "/d"), "dir from the path");
	ok(!strcmp(d->path, "/d/DiskDescriptor.xml"), "path kept");
	desc_free(d);
}

static void test_virtuozzo_root(void)
{
	char *t2 = edit2(two_layers, "<Parallels_disk_image Version=\"1.0\">",
			 "<Virtuozzo_disk_image>", "</Parallels_disk_image>",
			 "</Virtuozzo_disk_image>");
	char *t3 = t2 ? edit(t2, "<Type>Compressed</Type>",
			     "<Type>Plain</Type>") : NULL;
	struct prld_desc *d = NULL;
	struct prld_err e;
	int ret = t3 ? parse(t3, &d, &e) : -1;

	is_int(ret, 0, "Virtuozzo root without Version parses");
	if (!ret) {
		is_int(d->images[0].kind, PRLD_LAYER_PLAIN, "Plain kind");
		desc_free(d);
	}
	free(t2);
	free(t3);
}

/* Images and shots listed in an order unrelated to the chain. */
static const char three_layers[] =
	"<Virtuozzo_disk_image>"
	"<Disk_Parameters><Disk_size>2048</Disk_size><Cylinders>2</Cylinders>"
	"<Heads>16</Heads><Sectors>63</Sectors></Disk_Parameters>"
	"<StorageData><Storage><Start>0</Start><End>2048</End>"
	"<Blocksize>2048</Blocksize>"
	"<Image><GUID>" TOP_G "</GUID><Type>Compressed</Type><File>t</File></Image>"
	"<Image><GUID>" BASE_G "</GUID><Type>Compressed</Type><File>b</File></Image>"
	"<Image><GUID>" MID_G "</GUID><Type>Compressed</Type><File>m</File></Image>"
	"</Storage></StorageData>"
	"<Snapshots>"
	"<Shot><GUID>" MID_G "</GUID><ParentGUID>" BASE_G "</ParentGUID></Shot>"
	"<Shot><GUID>" TOP_G "</GUID><ParentGUID>" MID_G "</ParentGUID></Shot>"
	"<Shot><GUID>" BASE_G "</GUID><ParentGUID>" ZERO_G "</ParentGUID></Shot>"
	"<TopGUID>" TOP_G "</TopGUID>"
	"</Snapshots></Virtuozzo_disk_image>";

static void test_chain(void)
{
	unsigned int *idx = NULL, n = 0;
	struct prld_desc *d = NULL;
	struct prld_err e;
	int ret = parse(three_layers, &d, &e);

	is_int(ret, 0, "three-layer descriptor parses");
	if (ret) {
		printf("#   %s\n", e.msg);
		return;
	}
	ret = desc_chain(d, NULL, &idx, &n, &e);
	is_int(ret, 0, "chain from TopGUID");
	is_int(n, 3, "three layers");
	if (n == 3)
		ok(idx[0] == 1 && idx[1] == 2 && idx[2] == 0,
		   "base first: b, m, t (got %u %u %u)", idx[0], idx[1],
		   idx[2]);
	free(idx);
	ret = desc_chain(d, "{0F2E4D6C-8B1A-4C3D-9E5F-A1B2C3D4E5F6}", &idx,
			 &n, &e);
	ok(!ret && n == 2 && idx[0] == 1 && idx[1] == 2,
	   "chain from the middle (upper-case GUID): b, m");
	free(idx);
	ret = desc_chain(d, "{11111111-1111-1111-1111-111111111111}", &idx,
			 &n, &e);
	is_int(ret, -ENOENT, "chain from an unknown snapshot: -ENOENT");
	like(e.msg, "not found", "... says not found");
	ok(idx == NULL && n == 0, "... returns nothing");
	/* A model edited into a loop after validation: the walk must end. */
	strcpy(d->shots[2].parent, TOP_G);
	ret = desc_chain(d, NULL, &idx, &n, &e);
	is_int(ret, -EINVAL, "chain through a loop: -EINVAL");
	like(e.msg, "loops", "... says it loops");
	desc_free(d);
}

static void test_guids(void)
{
	char g[PRLD_GUID_LEN + 1], h[PRLD_GUID_LEN + 1];

	desc_new_guid(g);
	desc_new_guid(h);
	is_int(strlen(g), PRLD_GUID_LEN, "new GUID is 38 chars");
	ok(desc_guid_valid(g), "new GUID is valid");
	ok(strcmp(g, h), "two new GUIDs differ");
	ok(desc_guid_valid(ZERO_G), "zero GUID is valid syntax");
	ok(desc_guid_valid("{5FBAABE3-6958-40FF-92A7-860E329AAB41}"),
	   "upper case accepted");
	ok(!desc_guid_valid("5fbaabe3-6958-40ff-92a7-860e329aab41"),
	   "no braces refused");
	ok(!desc_guid_valid("{5fbaabe3-6958-40ff-92a7-860e329aab4}"),
	   "short refused");
	ok(!desc_guid_valid("{5fbaabe3-6958-40ff-92a7-860e329aabzz}"),
	   "non-hex refused");
	ok(!desc_guid_valid("{5fbaabe3x6958-40ff-92a7-860e329aab41}"),
	   "bad separator refused");
	ok(!desc_guid_valid(NULL), "NULL refused");
}

/* ---- new, save, load ------------------------------------------------ */

static void test_new_roundtrip(void)
{
	struct prld_chs chs = { 1040, 16, 63 };
	struct prld_desc *d = NULL, *r = NULL;
	struct prld_err e = { 0 };
	char *text;
	int ret;

	ret = desc_new(tmpdir, 1048576, &chs, 2048, "root.hds",
		       PRLD_LAYER_EXPANDING, &d, &e);
	is_int(ret, 0, "desc_new");
	if (ret) {
		printf("#   %s\n", e.msg);
		return;
	}
	ok(!strcmp(d->path, tpath("DiskDescriptor.xml")), "desc_new path");
	is_int(desc_save(d, &e), 0, "desc_save of a new descriptor");
	ok(access(tpath("DiskDescriptor.xml.tmp"), F_OK) < 0,
	   "no .tmp left behind");
	text = slurp(tpath("DiskDescriptor.xml"), NULL);
	like(text, "<Parallels_disk_image Version=\"1.0\">\n  <Disk_Parameters>\n"
		   "    <Disk_size>1048576</Disk_size>\n", "ploop's layout");
	like(text, "      <Image>\n        <GUID>" TOP_G "</GUID>\n"
		   "        <Type>Compressed</Type>\n"
		   "        <File>root.hds</File>\n      </Image>\n",
	     "one Image with the top GUID");
	like(text, "<TopGUID>" TOP_G "</TopGUID>", "TopGUID");
	like(text, "<ParentGUID>" ZERO_G "</ParentGUID>", "root's parent");
	like(text, "<Padding>0</Padding>", "Padding 0");
	free(text);
	ret = desc_load(tpath("DiskDescriptor.xml"), &r, &e);
	is_int(ret, 0, "reload");
	if (!ret) {
		ok(r->disk_size == 1048576 && r->end == 1048576 &&
		   r->cylinders == 1040 && r->heads == 16 && r->sectors == 63 &&
		   r->blocksize == 2048 && r->nimages == 1 && r->nshots == 1 &&
		   !strcmp(r->images[0].file, "root.hds"),
		   "reloaded values match");
		desc_free(r);
	}
	desc_free(d);

	ret = desc_new(tmpdir, 1048576, &chs, 0, "root.hds",
		       PRLD_LAYER_EXPANDING, &d, &e);
	is_int(ret, -EINVAL, "desc_new refuses Blocksize 0");
	ret = desc_new(tmpdir, 1048576, NULL, 2048, "../x",
		       PRLD_LAYER_PLAIN, &d, &e);
	is_int(ret, 0, "desc_new takes a File with '..' (ploop writes them)");
	desc_free(d);
	ret = desc_new(tmpdir, 1048576, NULL, 2048, "root.hds",
		       PRLD_LAYER_PLAIN, &d, &e);
	ok(!ret && d->heads && d->sectors &&
	   (uint64_t)d->cylinders * d->heads * d->sectors <= 1048576,
	   "desc_new with no CHS picks ploop's");
	desc_free(d);
}

static const char vendor[] =
	"<?xml version=\"1.0\"?>\n"
	"<!-- written by hand -->\n"
	"<Parallels_disk_image Version=\"1.0\">\n"
	"\t<Disk_Parameters>\n"
	"\t\t<Disk_size>2048</Disk_size>\n"
	"\t\t<Cylinders>2</Cylinders>\n"
	"\t\t<Heads>16</Heads>\n"
	"\t\t<Sectors>63</Sectors>\n"
	"\t\t<Padding>0</Padding>\n"
	"\t\t<Encryption><Engine>" ZERO_G "</Engine><KeyId>k&amp;1</KeyId></Encryption>\n"
	"\t</Disk_Parameters>\n"
	"\t<Foo attr=\"x\">text</Foo>\n"
	"\t<StorageData>\n"
	"\t\t<Storage>\n"
	"\t\t\t<Start>0</Start>\n"
	"\t\t\t<End>2048</End>\n"
	"\t\t\t<Blocksize>2048</Blocksize>\n"
	"\t\t\t<Image>\n"
	"\t\t\t\t<GUID>" TOP_G "</GUID>\n"
	"\t\t\t\t<Type>Compressed</Type>\n"
	"\t\t\t\t<File>root.hds</File>\n"
	"\t\t\t\t<Bar attr=\"y\">base's own</Bar>\n"
	"\t\t\t</Image>\n"
	"\t\t</Storage>\n"
	"\t</StorageData>\n"
	"\t<Snapshots>\n"
	"\t\t<TopGUID>" TOP_G "</TopGUID>\n"
	"\t\t<Shot>\n"
	"\t\t\t<GUID>" TOP_G "</GUID>\n"
	"\t\t\t<ParentGUID>" ZERO_G "</ParentGUID>\n"
	"\t\t\t<Temporary/>\n"
	"\t\t</Shot>\n"
	"\t</Snapshots>\n"
	"</Parallels_disk_image>\n";

/* What the snapshot operation does to the model (format-notes §6). */
static int take_snapshot(struct prld_desc *d, const char *guid)
{
	struct prld_desc_image *im;
	struct prld_desc_shot *sh;
	unsigned int top = d->nimages - 1;

	im = realloc(d->images, (d->nimages + 1) * sizeof(*im));
	if (!im)
		return -ENOMEM;
	d->images = im;
	sh = realloc(d->shots, (d->nshots + 1) * sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	d->shots = sh;
	/* A struct copy also copies the node: save must not share it. */
	im[d->nimages] = im[top];
	if (asprintf(&im[d->nimages].file, "root.hds.%s", guid) < 0)
		return -ENOMEM;
	strcpy(im[top].guid, guid);
	sh[d->nshots] = sh[d->nshots - 1];
	strcpy(sh[d->nshots - 1].guid, guid);
	strcpy(sh[d->nshots].parent, guid);
	d->nimages++;
	d->nshots++;
	return 0;
}

static void test_vendor_elements(void)
{
	char guid[PRLD_GUID_LEN + 1], *text, *base_img;
	const char *path = tpath("DiskDescriptor.xml");
	struct prld_desc *d = NULL, *r = NULL;
	unsigned int *idx = NULL, n = 0;
	struct prld_err e = { 0 };
	int ret;

	put_file(path, vendor, strlen(vendor));
	put_file(tpath("DiskDescriptor.xml.tmp"), "stale", 5);
	ret = desc_load(path, &d, &e);
	is_int(ret, 0, "descriptor with vendor elements loads");
	if (ret) {
		printf("#   %s\n", e.msg);
		return;
	}
	desc_new_guid(guid);
	ok(take_snapshot(d, guid) == 0, "snapshot in the model");
	is_int(desc_save(d, &e), 0, "save with one more Image and Shot");
	ok(access(tpath("DiskDescriptor.xml.tmp"), F_OK) < 0,
	   "stale .tmp replaced and gone");
	text = slurp(path, NULL);
	ok(text != NULL, "saved file readable");
	if (!text)
		return;
	like(text, "<!-- written by hand -->", "comment kept");
	like(text, "\t\t<Encryption><Engine>" ZERO_G "</Engine><KeyId>k&amp;1</KeyId>"
		   "</Encryption>\n", "<Encryption> kept byte for byte");
	like(text, "\n\t<Foo attr=\"x\">text</Foo>\n\t<StorageData>",
	     "<Foo> under the root kept in place");
	is_int(count(text, "<Bar attr=\"y\">base's own</Bar>"), 1,
	       "<Bar> under Image kept once, not copied");
	base_img = strstr(text, "<File>root.hds</File>");
	ok(base_img && strstr(base_img, "<Bar") &&
	   strstr(base_img, "<Bar") < strstr(base_img, "</Image>"),
	   "<Bar> stays with root.hds, the Image it described");
	is_int(count(text, "<Temporary/>"), 1, "<Temporary/> under Shot kept once");
	like(text, "\t\t\t</Image>\n\t\t\t<Image>\n\t\t\t\t<GUID>" TOP_G
		   "</GUID>\n\t\t\t\t<Type>Compressed</Type>\n\t\t\t\t<File>root.hds.",
	     "new Image indented like its sibling");
	like(text, "\t\t</Shot>\n\t\t<Shot>\n\t\t\t<GUID>" TOP_G "</GUID>\n"
		   "\t\t\t<ParentGUID>", "new Shot indented like its sibling");
	free(text);
	desc_free(d);

	ret = desc_load(path, &r, &e);
	is_int(ret, 0, "saved descriptor reloads");
	if (ret)
		return;
	is_int(r->nimages, 2, "two images now");
	ret = desc_chain(r, NULL, &idx, &n, &e);
	ok(!ret && n == 2 && !strcmp(r->images[idx[0]].file, "root.hds") &&
	   !strcmp(r->images[idx[1]].guid, TOP_G), "chain: root.hds, new top");
	free(idx);

	/* Merge the top back down: its nodes go, the base keeps <Bar>. */
	free(r->images[1].file);
	r->nimages = 1;
	r->nshots = 1;
	strcpy(r->images[0].guid, TOP_G);
	strcpy(r->shots[0].guid, TOP_G);
	is_int(desc_save(r, &e), 0, "save after dropping a layer");
	desc_free(r);
	text = slurp(path, NULL);
	ok(text && count(text, "<Image>") == 1 && count(text, "<Shot>") == 1,
	   "dropped Image and Shot removed from the XML");
	like(text, "<Bar attr=\"y\">base's own</Bar>", "<Bar> survives the merge");
	like(text, "\t\t\t</Image>\n\t\t</Storage>", "no blank line left behind");
	free(text);
}

static void test_save_refuses_invalid(void)
{
	const char *path = tpath("DiskDescriptor.xml");
	struct prld_desc *d = NULL;
	struct prld_err e = { 0 };
	char *before, *after;

	put_file(path, two_layers, strlen(two_layers));
	if (desc_load(path, &d, &e)) {
		ok(0, "load for the invalid-save test: %s", e.msg);
		return;
	}
	d->blocksize = 0;
	before = slurp(path, NULL);
	is_int(desc_save(d, &e), -EINVAL, "save refuses an invalid model");
	like(e.msg, "<Blocksize>", "... naming the element");
	after = slurp(path, NULL);
	ok(before && after && !strcmp(before, after), "... file untouched");
	d->blocksize = 2048;
	is_int(desc_save(d, &e), 0, "unchanged model saves");
	free(after);
	after = slurp(path, NULL);
	ok(before && after && !strcmp(before, after),
	   "unchanged model rewrites identical bytes");
	free(before);
	free(after);
	desc_free(d);
}

/* Values are compared exactly, except GUIDs, which ignore case. */
static void test_case_handling(void)
{
	const char *path = tpath("DiskDescriptor.xml");
	char *upper = edit(two_layers, "<GUID>" BASE_G,
			   "<GUID>{9B1C5C5E-2C1F-4A8E-9A57-3F0C2F3B8D11}");
	struct prld_desc *d = NULL;
	struct prld_err e = { 0 };
	char *text;

	put_file(path, upper, strlen(upper));
	if (desc_load(path, &d, &e)) {
		ok(0, "load upper-case GUID: %s", e.msg);
		free(upper);
		return;
	}
	ok(!strcmp(d->images[0].guid, BASE_G), "GUID kept lower-case in memory");
	is_int(desc_save(d, &e), 0, "save unchanged");
	text = slurp(path, NULL);
	ok(text && !strcmp(text, upper), "upper-case GUID left as written");
	free(text);
	free(d->images[0].file);
	d->images[0].file = strdup("ROOT.hds");
	is_int(desc_save(d, &e), 0, "save after a case-only rename");
	text = slurp(path, NULL);
	like(text, "<File>ROOT.hds</File>", "case-only File rename written");
	free(text);
	free(d->images[0].file);
	d->images[0].file = strdup("a&b<c.hds");
	is_int(desc_save(d, &e), 0, "save a File needing escapes");
	text = slurp(path, NULL);
	like(text, "<File>a&amp;b&lt;c.hds</File>", "... escaped in the XML");
	free(text);
	desc_free(d);
	d = NULL;
	is_int(desc_load(path, &d, &e), 0, "... and reloads");
	ok(d && !strcmp(d->images[0].file, "a&b<c.hds"), "... to the same name");
	desc_free(d);
	free(upper);
}

/* ---- malformed ------------------------------------------------------ */

struct bad_case {
	const char *name, *from, *to, *want;
};

static const struct bad_case bad_cases[] = {
	{ "cycle", "<ParentGUID>" BASE_G, "<ParentGUID>" TOP_G,
	  "Shot " TOP_G ": <ParentGUID> chain loops back to " TOP_G },
	{ "two roots", "<ParentGUID>" BASE_G, "<ParentGUID>" ZERO_G,
	  "two root Shots" },
	{ "no root", "<ParentGUID>" ZERO_G, "<ParentGUID>" TOP_G,
	  "no root Shot (none has ParentGUID " ZERO_G ")" },
	{ "parent missing", "<ParentGUID>" BASE_G,
	  "<ParentGUID>{11111111-1111-1111-1111-111111111111}",
	  "Shot " TOP_G ": <ParentGUID> {11111111-1111-1111-1111-111111111111} names no <Shot>" },
	/* ploop's rule: without TopGUID the {5fbaabe3-...} Shot is the top. */
	{ "missing TopGUID", "<TopGUID>" TOP_G "</TopGUID>", "", NULL },
	{ "TopGUID twice", "<TopGUID>" TOP_G "</TopGUID>",
	  "<TopGUID>" TOP_G "</TopGUID><TopGUID>" TOP_G "</TopGUID>",
	  "element <TopGUID> appears 2 times in <Snapshots>" },
	{ "TopGUID not a Shot", "<TopGUID>" TOP_G,
	  "<TopGUID>{22222222-2222-2222-2222-222222222222}",
	  "<TopGUID> {22222222-2222-2222-2222-222222222222} names no <Shot>" },
	{ "bad GUID syntax", "<GUID>" BASE_G "</GUID>",
	  "<GUID>{9b1c5c5e-2c1f-4a8e-9a57-3f0c2f3b8dZZ}</GUID>",
	  "element <GUID> in <Image>: bad value '{9b1c5c5e-2c1f-4a8e-9a57-3f0c2f3b8dZZ}'" },
	{ "GUID without braces", "<GUID>" BASE_G "</GUID>",
	  "<GUID>9b1c5c5e-2c1f-4a8e-9a57-3f0c2f3b8d11</GUID>",
	  "bad value '9b1c5c5e" },
	{ "duplicate Image GUID", "<GUID>" BASE_G "</GUID>\n        <Type>",
	  "<GUID>" TOP_G "</GUID>\n        <Type>",
	  "duplicate Image GUID " TOP_G },
	{ "duplicate Shot GUID", "<GUID>" TOP_G "</GUID>\n      <Parent",
	  "<GUID>" BASE_G "</GUID>\n      <Parent",
	  "duplicate Shot GUID " BASE_G },
	{ "two Storages", "    </Storage>\n",
	  "    </Storage>\n    <Storage></Storage>\n",
	  "missing element <Start> in <Storage>" },
	{ "zero Blocksize", "<Blocksize>2048", "<Blocksize>0",
	  "element <Blocksize>: 0 out of range 1..131072" },
	{ "Blocksize not a number", "<Blocksize>2048", "<Blocksize>2k",
	  "element <Blocksize>: bad value '2k'" },
	{ "Blocksize too big", "<Blocksize>2048", "<Blocksize>262144",
	  "element <Blocksize>: 262144 out of range" },
	/* Absolute and "../" paths (PD linked clones, ploop): any path. */
	{ "absolute File", "<File>root.hds</File>", "<File>/etc/passwd</File>",
	  NULL },
	{ "File with ..", "<File>root.hds</File>", "<File>a/../../x</File>",
	  NULL },
	{ "Windows File", "<File>root.hds</File>", "<File>.\\root.hds</File>",
	  NULL },
	{ "File dots allowed", "<File>root.hds</File>", "<File>a..b/.x</File>",
	  NULL },
	{ "empty File", "<File>root.hds</File>", "<File> </File>",
	  "element <File>: empty" },
	{ "same File twice", "<File>root.hds." TOP_G, "<File>root.hds",
	  "'root.hds' used by two images" },
	{ "Image without Shot",
	  "    <Shot>\n      <GUID>" TOP_G "</GUID>\n      <ParentGUID>" BASE_G
	  "</ParentGUID>\n    </Shot>\n", "",
	  "Image " TOP_G " (root.hds." TOP_G ") has no <Shot>" },
	{ "Shot without Image",
	  "      <Image>\n        <GUID>" TOP_G "</GUID>\n        <Type>"
	  "Compressed</Type>\n        <File>root.hds." TOP_G "</File>\n"
	  "      </Image>\n", "", "Shot " TOP_G " has no <Image>" },
	{ "bad Type", "<Type>Compressed", "<Type>Sparse",
	  "element <Type>: bad value 'Sparse' (want Compressed or Plain)" },
	{ "Disk_size overflows u64", "<Disk_size>2097152",
	  "<Disk_size>99999999999999999999999",
	  "element <Disk_size>: bad value '99999999999999999999999'" },
	{ "Disk_size 2^64", "<Disk_size>2097152</Disk_size>",
	  "<Disk_size>18446744073709551616</Disk_size>",
	  "element <Disk_size>: bad value '18446744073709551616'" },
	{ "Heads overflows u32", "<Heads>16</Heads>", "<Heads>4294967296</Heads>",
	  "element <Heads>: bad value '4294967296'" },
	/* Geometry is informational: kept whatever its product. */
	{ "Heads u32 max", "<Heads>16</Heads>", "<Heads>4294967295</Heads>",
	  NULL },
	{ "negative Sectors", "<Sectors>63</Sectors>", "<Sectors>-63</Sectors>",
	  "element <Sectors>: bad value '-63'" },
	{ "hex Cylinders", "<Cylinders>2080</Cylinders>",
	  "<Cylinders>0x820</Cylinders>", "element <Cylinders>: bad value '0x820'" },
	{ "empty Disk_size", "<Disk_size>2097152</Disk_size>",
	  "<Disk_size></Disk_size>", "element <Disk_size>: bad value ''" },
	{ "zero Disk_size", "<Disk_size>2097152</Disk_size>",
	  "<Disk_size>0</Disk_size>", "element <Disk_size>: must be greater than 0" },
	{ "End mismatch", "<End>2097152", "<End>2097153",
	  "element <End> 2097153 does not match <Disk_size> 2097152" },
	{ "Start not 0", "<Start>0", "<Start>8", "<Start> 8, want 0" },
	{ "geometry too big", "<Cylinders>2080", "<Cylinders>3000", NULL },
	{ "geometry smaller is fine", "<Cylinders>2080", "<Cylinders>20", NULL },
	{ "white space around values", "<Heads>16", "<Heads>\n 16\t", NULL },
	{ "missing Heads", "<Heads>16</Heads>", "", "missing element <Heads> in <Disk_Parameters>" },
	{ "Disk_size twice", "<Disk_size>2097152</Disk_size>",
	  "<Disk_size>2097152</Disk_size><Disk_size>1</Disk_size>",
	  "element <Disk_size> appears 2 times in <Disk_Parameters>" },
	{ "zero GUID as Image", "<GUID>" BASE_G "</GUID>\n        <Type>",
	  "<GUID>" ZERO_G "</GUID>\n        <Type>", "zero GUID is reserved" },
	{ "not well-formed", "</Padding>", "</Padd>",
	  "not valid XML: line 8: Opening and ending tag mismatch: Padding" },
	{ "DOCTYPE", "<?xml version=\"1.0\"?>\n",
	  "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"aaaaaaaa\">"
	  "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>\n", "DOCTYPE not allowed" },
	{ "entity reference", "<Heads>16", "<Heads>&amp;16",
	  "element <Heads>: bad value '&16'" },
	{ "CDATA value", "<Heads>16</Heads>", "<Heads><![CDATA[16]]></Heads>",
	  NULL },
};

static void run_bad_case(const struct bad_case *c)
{
	struct prld_desc *d = NULL;
	struct prld_err e;
	char *text = edit(two_layers, c->from, c->to);
	int ret;

	if (!ok(text != NULL, "%s: edit applies", c->name))
		return;
	ret = parse(text, &d, &e);
	free(text);
	if (!c->want) {
		is_int(ret, 0, "%s: accepted", c->name);
		if (ret)
			printf("#   %s\n", e.msg);
		desc_free(d);
		return;
	}
	ok(ret == -EINVAL && d == NULL, "%s: refused with -EINVAL (%d)",
	   c->name, ret);
	like(e.msg, c->want, "%s: message", c->name);
	like(e.msg, "/d/DiskDescriptor.xml: ", "%s: names the file", c->name);
	is_int(e.code, ret, "%s: err.code", c->name);
}

static void expect_refused(const char *name, const char *text, size_t len,
			   const char *want)
{
	struct prld_desc *d = NULL;
	struct prld_err e = { 0 };
	int ret = desc_parse(text, len, NULL, &d, &e);

	ok(ret < 0 && d == NULL, "%s: refused (%d)", name, ret);
	like(e.msg, want, "%s: message", name);
}

static void test_malformed(void)
{
	static const char huge_hdr[] = "<Parallels_disk_image><!--";
	size_t i, big = (4U << 20) + 1;
	char *text;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		run_bad_case(&bad_cases[i]);
	text = edit2(two_layers, "<StorageData>\n    <Storage>",
		     "<StorageData>\n    <Storage_>", "</Storage>",
		     "</Storage_>");
	expect_refused("no Storage", text, text ? strlen(text) : 0,
		       "DiskDescriptor.xml: no <Storage> in <StorageData>");
	free(text);
	text = edit2(two_layers, "Parallels_disk_image Version=\"1.0\"",
		     "Disk_image", "/Parallels_disk_image", "/Disk_image");
	expect_refused("unknown root", text, text ? strlen(text) : 0,
		       "unknown root element <Disk_image>");
	free(text);
	expect_refused("not XML", "hello, world\n", 13,
		       "DiskDescriptor.xml: not valid XML: line 1: "
		       "Start tag expected, '<' not found");
	expect_refused("empty", "", 0, "DiskDescriptor.xml: empty file");
	expect_refused("white space only", " \n", 2, "not valid XML");
	expect_refused("truncated", two_layers, 200, "not valid XML");
	expect_refused("NUL inside", "<a>\0</a>", 8, "not valid XML");
	text = calloc(1, big);
	if (text) {
		memcpy(text, huge_hdr, sizeof(huge_hdr) - 1);
		expect_refused("over 4 MiB", text, big,
			       "more than the 4194304 byte limit");
		free(text);
	}
}

/* libxml2 must not print: its complaint belongs in prld_err. */
static void test_silent(void)
{
	static const char iso[] = "<?xml version=\"1.0\" encoding=\"ISO-2022-JP\"?>"
				  "<a>\x1b$B\xff\xff</a>";
	const char *log = tpath("stderr.log");
	struct prld_desc *d = NULL;
	struct prld_err e;
	int saved, fd;
	char *out;

	fflush(stderr);
	saved = dup(2);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 2);
	close(fd);
	desc_parse("<a><b></a>", 10, NULL, &d, &e);
	desc_parse("<?xml version=\"1.0\" encoding=\"bogus-enc\"?><a/>", 46,
		   NULL, &d, &e);
	desc_parse("<a>\xff\xfe</a>", 9, NULL, &d, &e);
	ok(!strchr(e.msg, '\n'), "multi-line libxml2 message kept on one line");
	desc_parse(iso, strlen(iso), NULL, &d, &e);
	like(e.msg, "not valid XML: ", "iconv failure reported");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	out = slurp(log, NULL);
	ok(out && !out[0], "libxml2 prints nothing to stderr");
	if (out && out[0])
		printf("#   %s", out);
	free(out);
}

static void test_load_errors(void)
{
	struct prld_desc *d = NULL;
	struct prld_err e = { 0 };

	is_int(desc_load(tpath("nonexistent.xml"), &d, &e), -ENOENT,
	       "missing file: -ENOENT");
	like(e.msg, "nonexistent.xml: open: ", "... names the file");
	is_int(desc_load(tmpdir, &d, &e), -EINVAL, "directory: refused");
	like(e.msg, "not a regular file", "... says why");
	put_file(tpath("empty.xml"), "", 0);
	is_int(desc_load(tpath("empty.xml"), &d, &e), -EINVAL,
	       "empty file refused");
	like(e.msg, "empty.xml: empty file", "... names it");
}

int main(void)
{
	tmpdir_make("desc");
	test_parallels_root();
	test_virtuozzo_root();
	test_chain();
	test_guids();
	test_new_roundtrip();
	test_vendor_elements();
	test_save_refuses_invalid();
	test_case_handling();
	test_malformed();
	test_silent();
	test_load_errors();
	tmpdir_remove();
	return tap_done();
}
