/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private glue between descriptor.c (read), descriptor_check.c (rules,
 * chain) and descriptor_write.c (new, save).  Not installed.
 */
#ifndef PRLD_DESCRIPTOR_H
#define PRLD_DESCRIPTOR_H

#include <libxml/tree.h>

#include "internal.h"

/* Larger than any real descriptor by orders of magnitude. */
#define DESC_MAX_BYTES	(4U << 20)

/* Name used in messages when a descriptor has no path yet. */
static inline const char *desc_label(const char *path)
{
	return path ? path : PRLD_DESCRIPTOR;
}

/* "<name>: <message>" into @err; returns @code. */
int desc_err(struct prld_err *err, int code, const char *name,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* @v cut to a readable length, non-printables as '?', for messages. */
void desc_quote(char *out, size_t size, const char *v);

/* Parse @buf into a DOM; libxml2's complaint ends up in @err. */
xmlDoc *dx_read(const char *buf, size_t len, const char *name,
		struct prld_err *err);
/* Is @n an element called @name? */
bool dx_is(const xmlNode *n, const char *name);
/* First element child of @parent called @name, NULL if none. */
xmlNode *dx_child(xmlNode *parent, const char *name);
unsigned int dx_count(xmlNode *parent, const char *name);
/* The direct text of @node with surrounding white space trimmed (malloc'd). */
char *dx_text(xmlNode *node);

/* descriptor_dom.c: the first <@name> in @parent, created if missing. */
int dom_ensure_child(xmlNode *parent, const char *name, xmlNode **out);
/* Set <@name>'s text in @parent (created if missing) if it differs. */
int dom_set_text(xmlNode *parent, const char *name, const char *value);
int dom_set_guid(xmlNode *parent, const char *name, const char *guid);
int dom_set_num(xmlNode *parent, const char *name, uint64_t v);
/*
 * Give each of the @n entries of @arr (@stride apart, node pointer at
 * @node_off) its own <@name> child of @parent; new ones get empty
 * @fields (NULL-terminated).  Children no entry holds are removed.
 */
/* Make @node the first <@name> child of @parent (with its indentation). */
int dom_move_first(xmlNode *parent, const char *name, xmlNode *node);
int dom_sync_list(xmlNode *parent, const char *name, void *arr, size_t stride,
		  size_t node_off, unsigned int n, const char *const *fields);

/* The rules of desc_load applied to the model (also before every save). */
int desc_validate(const struct prld_desc *d, struct prld_err *err);
/*
 * Without <TopGUID> the {5fbaabe3-...} Shot is the top; prld insists it be
 * the only leaf of the tree (else which state is current is a guess):
 * -EOPNOTSUPP naming another leaf.  0 with a TopGUID.
 */
int desc_top_rule(const struct prld_desc *d, struct prld_err *err);
/* Lower-case copy of a GUID; false if @in is not a well-formed GUID. */
bool desc_guid_norm(const char *in, char out[PRLD_GUID_LEN + 1]);

#endif /* PRLD_DESCRIPTOR_H */
