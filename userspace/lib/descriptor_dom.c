// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * descriptor_dom.c - careful edits of a descriptor's DOM for desc_save().
 *
 * Only elements we own are touched, and only when their value changes.
 * A new element copies the white space of its siblings, and a removed one
 * takes its indentation with it, so a hand-formatted file stays readable.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "descriptor.h"

/* ---- DOM editing -------------------------------------------------- */

static bool is_blank(const xmlNode *n)
{
	const char *s;

	if (!n || n->type != XML_TEXT_NODE || !n->content)
		return false;
	for (s = (const char *)n->content; *s; s++)
		if (!strchr(" \t\r\n", *s))
			return false;
	return true;
}

/* The indentation in front of @n, NULL if there is none. */
static xmlNode *blank_before(xmlNode *n)
{
	return is_blank(n->prev) ? n->prev : NULL;
}

static int add_blank_copy(xmlNode *parent, xmlNode *blank)
{
	xmlNode *t;

	if (!blank)
		return 0;
	t = xmlNewDocText(parent->doc, blank->content);
	if (!t)
		return -ENOMEM;
	xmlAddChild(parent, t);
	return 0;
}

/*
 * Put @n right after @ref, indented like @ref.  On failure @n is left
 * unlinked, so the caller can still free it.
 */
static int add_after(xmlNode *ref, xmlNode *n)
{
	xmlNode *ws = blank_before(ref), *t = NULL;

	if (ws) {
		t = xmlNewDocText(ref->doc, ws->content);
		if (!t)
			return -ENOMEM;
	}
	xmlAddNextSibling(ref, n);
	if (t)
		xmlAddPrevSibling(n, t);
	return 0;
}

static xmlNode *last_element(xmlNode *parent, const char *name)
{
	xmlNode *c, *last = NULL;

	for (c = parent->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE &&
		    (!name || !strcmp((const char *)c->name, name)))
			last = c;
	return last;
}

/* Append @n to @parent after its last element (or @name sibling). */
static int add_child(xmlNode *parent, const char *name, xmlNode *n)
{
	xmlNode *ref = last_element(parent, name);

	if (!ref)
		ref = last_element(parent, NULL);
	if (ref)
		return add_after(ref, n);
	xmlAddChild(parent, n);
	return 0;
}

int dom_ensure_child(xmlNode *parent, const char *name, xmlNode **out)
{
	xmlNode *n = dx_child(parent, name);

	if (!n) {
		n = xmlNewDocNode(parent->doc, NULL, BAD_CAST name, NULL);
		if (!n || add_child(parent, NULL, n)) {
			xmlFreeNode(n);
			return -ENOMEM;
		}
	}
	*out = n;
	return 0;
}

static void free_children(xmlNode *n)
{
	xmlNode *c;

	while ((c = n->children)) {
		xmlUnlinkNode(c);
		xmlFreeNode(c);
	}
}

/* Rewrite <@name>'s text only if it differs, so untouched values stay. */
static int set_text(xmlNode *parent, const char *name, const char *value,
		    bool case_blind)
{
	xmlNode *n, *t;
	char *cur;
	bool same;
	int ret = dom_ensure_child(parent, name, &n);

	if (ret)
		return ret;
	cur = dx_text(n);
	if (!cur)
		return -ENOMEM;
	same = case_blind ? !strcasecmp(cur, value) : !strcmp(cur, value);
	free(cur);
	if (same)
		return 0;
	t = xmlNewDocText(n->doc, BAD_CAST value);
	if (!t)
		return -ENOMEM;
	free_children(n);
	xmlAddChild(n, t);
	return 0;
}

int dom_set_text(xmlNode *parent, const char *name, const char *value)
{
	return set_text(parent, name, value, false);
}

/* The model keeps GUIDs lower-case; a file's upper-case GUID is as good. */
int dom_set_guid(xmlNode *parent, const char *name, const char *guid)
{
	return set_text(parent, name, guid, true);
}

int dom_set_num(xmlNode *parent, const char *name, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return dom_set_text(parent, name, buf);
}

/* Unlink @n with the indentation in front of it. */
static void remove_node(xmlNode *n)
{
	xmlNode *ws = blank_before(n);

	if (ws) {
		xmlUnlinkNode(ws);
		xmlFreeNode(ws);
	}
	xmlUnlinkNode(n);
	xmlFreeNode(n);
}

/* ---- list entries (<Image>, <Shot>) ------------------------------- */

/* A node's _private while an entry holds it during one sync. */
static char claim_mark;

/*
 * A fresh <@name> with empty @fields, indented like @model: the white
 * space before @model's first child and before its end tag.
 */
static xmlNode *new_entry(xmlNode *parent, const char *name, xmlNode *model,
			  const char *const *fields)
{
	xmlNode *first = model ? dx_child(model, fields[0]) : NULL;
	xmlNode *inner = first ? blank_before(first) : NULL;
	xmlNode *close = model && is_blank(model->last) ? model->last : NULL;
	xmlNode *n = xmlNewDocNode(parent->doc, NULL, BAD_CAST name, NULL);
	xmlNode *f;

	if (!n)
		return NULL;
	for (; *fields; fields++) {
		f = xmlNewDocNode(parent->doc, NULL, BAD_CAST *fields, NULL);
		if (!f || add_blank_copy(n, inner)) {
			xmlFreeNode(f);
			goto fail;
		}
		xmlAddChild(n, f);
	}
	if (add_blank_copy(n, close) == 0)
		return n;
fail:
	xmlFreeNode(n);
	return NULL;
}

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a;
	uintptr_t y = (uintptr_t)*(void *const *)b;

	return x < y ? -1 : x > y;
}

/* The live <@name> children of @parent, sorted by address. */
static xmlNode **live_nodes(xmlNode *parent, const char *name, unsigned int *n)
{
	unsigned int cnt = dx_count(parent, name), i = 0;
	xmlNode **v = calloc(cnt ? cnt : 1, sizeof(*v));
	xmlNode *c;

	if (!v)
		return NULL;
	for (c = parent->children; c; c = c->next)
		if (dx_is(c, name))
			v[i++] = c;
	qsort(v, cnt, sizeof(*v), ptr_cmp);
	*n = cnt;
	return v;
}

/*
 * Give every entry (@slots[i] points at its node field) a node of its own
 * under @parent.  A node is trusted only if it is one of @parent's live
 * children and no earlier entry holds it, so a stale or copied pointer
 * never touches freed memory or steals a sibling's vendor elements.
 */
static int claim_nodes(xmlNode *parent, const char *name, void ***slots,
		       unsigned int n, const char *const *fields)
{
	unsigned int nlive = 0, i;
	xmlNode **live = live_nodes(parent, name, &nlive);
	xmlNode *node, *model;

	if (!live)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		node = *slots[i];
		if (!node || !bsearch(&node, live, nlive, sizeof(*live),
				      ptr_cmp) || node->_private == &claim_mark)
			node = NULL;
		if (node)
			node->_private = &claim_mark;
		*slots[i] = node;
	}
	free(live);
	for (i = 0; i < n; i++) {
		if (*slots[i])
			continue;
		model = last_element(parent, name);
		node = new_entry(parent, name, model, fields);
		if (!node || add_child(parent, name, node)) {
			xmlFreeNode(node);
			return -ENOMEM;
		}
		node->_private = &claim_mark;
		*slots[i] = node;
	}
	return 0;
}

/* Drop the entries nobody holds; clear the marks of the rest. */
static void release_nodes(xmlNode *parent, const char *name)
{
	xmlNode *c, *next;

	for (c = parent->children; c; c = next) {
		next = c->next;
		if (!dx_is(c, name))
			continue;
		if (c->_private == &claim_mark)
			c->_private = NULL;
		else
			remove_node(c);
	}
}

int dom_sync_list(xmlNode *parent, const char *name, void *arr,
		  size_t stride, size_t node_off, unsigned int n,
		  const char *const *fields)
{
	void ***slots = calloc(n ? n : 1, sizeof(*slots));
	unsigned int i;
	int ret;

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		slots[i] = (void **)((char *)arr + i * stride + node_off);
	ret = claim_nodes(parent, name, slots, n, fields);
	release_nodes(parent, name);
	free(slots);
	return ret;
}

int dom_move_first(xmlNode *parent, const char *name, xmlNode *node)
{
	xmlNode *first = dx_child(parent, name), *ws;

	if (!node || !first || first == node)
		return 0;
	ws = blank_before(node);
	xmlUnlinkNode(node);
	xmlAddPrevSibling(first, node);
	/* Its indentation moves with it: a copy of first's goes in front. */
	if (ws) {
		xmlUnlinkNode(ws);
		xmlAddPrevSibling(node, ws);
	}
	return 0;
}
