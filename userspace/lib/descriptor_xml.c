// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * descriptor_xml.c - the libxml2 side of the descriptor code: a locked-down
 * parse whose complaints land in prld_err instead of on stderr, the few
 * DOM lookups the reader and writer share, and message formatting.
 *
 * libxml2 is used without entity substitution, DTD loading or network
 * access, and a document with a DOCTYPE is refused outright: a descriptor
 * never needs one, and refusing it closes the entity-expansion door.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "descriptor.h"

/* ---- messages ----------------------------------------------------- */

int desc_err(struct prld_err *err, int code, const char *name,
	     const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return prld_set_err(err, code, "%s: %s", name, msg);
}

void desc_quote(char *out, size_t size, const char *v)
{
	const size_t keep = 64;
	size_t i;

	for (i = 0; v[i] && i < keep && i + 1 < size; i++)
		out[i] = isprint((unsigned char)v[i]) ? v[i] : '?';
	out[i] = '\0';
	if (v[i] && i + 4 < size)
		strcpy(out + i, "...");
}

/* ---- XML reading -------------------------------------------------- */

struct xml_capture {
	char msg[256];
	int line;
	bool have_error;
	bool doctype;
};

/* Keep the first real error; libxml2 tends to follow it with noise. */
#if LIBXML_VERSION >= 21200
static void capture_error(void *ctx, const xmlError *e)
#else
static void capture_error(void *ctx, xmlErrorPtr e)
#endif
{
	struct xml_capture *cap = ctx;
	size_t n;
	char *c;

	if (cap->have_error || e->level < XML_ERR_ERROR)
		return;
	cap->have_error = true;
	cap->line = e->line;
	snprintf(cap->msg, sizeof(cap->msg), "%s",
		 e->message ? e->message : "unknown error");
	n = strlen(cap->msg);
	while (n && isspace((unsigned char)cap->msg[n - 1]))
		cap->msg[--n] = '\0';
	/* Some messages span lines; ours must stay on one. */
	for (c = cap->msg; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
}

/* Errors reported outside a parser context would otherwise print. */
static void silent_generic(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

/* SAX hook: a DOCTYPE stops the parse before any entity is declared. */
static void refuse_doctype(void *ctx, const xmlChar *name,
			   const xmlChar *ext_id, const xmlChar *sys_id)
{
	xmlParserCtxt *ctxt = ctx;
	struct xml_capture *cap = ctxt->_private;

	(void)name;
	(void)ext_id;
	(void)sys_id;
	cap->doctype = true;
	xmlStopParser(ctxt);
}

static xmlDoc *parse_captured(const char *buf, int len, const char *name,
			      struct xml_capture *cap)
{
	xmlGenericErrorFunc old_gen = xmlGenericError;
	void *old_gen_ctx = xmlGenericErrorContext;
	xmlStructuredErrorFunc old_st = xmlStructuredError;
	void *old_st_ctx = xmlStructuredErrorContext;
	xmlParserCtxt *ctxt;
	xmlDoc *doc;

	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return NULL;
	ctxt->_private = cap;
	ctxt->sax->internalSubset = refuse_doctype;
	/* Thread-local in libxml2; restored before we return. */
	xmlSetGenericErrorFunc(NULL, silent_generic);
	xmlSetStructuredErrorFunc(cap, capture_error);
	doc = xmlCtxtReadMemory(ctxt, buf, len, name, NULL, XML_PARSE_NONET);
	xmlSetStructuredErrorFunc(old_st_ctx, old_st);
	xmlSetGenericErrorFunc(old_gen_ctx, old_gen);
	xmlFreeParserCtxt(ctxt);
	return doc;
}

xmlDoc *dx_read(const char *buf, size_t len, const char *name,
		struct prld_err *err)
{
	struct xml_capture cap = { .have_error = false };
	xmlDoc *doc;

	if (len == 0) {
		desc_err(err, -EINVAL, name, "empty file");
		return NULL;
	}
	if (len > DESC_MAX_BYTES) {
		desc_err(err, -EFBIG, name,
			 "%zu bytes, more than the %u byte limit for a descriptor",
			 len, DESC_MAX_BYTES);
		return NULL;
	}
	xmlInitParser();
	doc = parse_captured(buf, (int)len, name, &cap);
	if (doc && !cap.doctype && !cap.have_error)
		return doc;
	xmlFreeDoc(doc);
	if (cap.doctype)
		desc_err(err, -EINVAL, name, "DOCTYPE not allowed");
	else if (cap.have_error && cap.line > 0)
		desc_err(err, -EINVAL, name, "not valid XML: line %d: %s",
			 cap.line, cap.msg);
	else if (cap.have_error)
		desc_err(err, -EINVAL, name, "not valid XML: %s", cap.msg);
	else
		desc_err(err, -ENOMEM, name, "cannot parse: out of memory");
	return NULL;
}

bool dx_is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	       strcmp((const char *)n->name, name) == 0;
}

xmlNode *dx_child(xmlNode *parent, const char *name)
{
	xmlNode *c;

	for (c = parent->children; c; c = c->next)
		if (dx_is(c, name))
			return c;
	return NULL;
}

unsigned int dx_count(xmlNode *parent, const char *name)
{
	unsigned int n = 0;
	xmlNode *c;

	for (c = parent->children; c; c = c->next)
		if (dx_is(c, name))
			n++;
	return n;
}

/*
 * Only text and CDATA directly inside @node count: entity references are
 * never followed, so nothing is expanded behind our back.
 */
static bool is_text(const xmlNode *c)
{
	return (c->type == XML_TEXT_NODE ||
		c->type == XML_CDATA_SECTION_NODE) && c->content;
}

char *dx_text(xmlNode *node)
{
	size_t len = 0, start, end, n;
	xmlNode *c;
	char *s;

	for (c = node->children; c; c = c->next)
		if (is_text(c))
			len += strlen((const char *)c->content);
	s = malloc(len + 1);
	if (!s)
		return NULL;
	for (len = 0, c = node->children; c; c = c->next) {
		if (!is_text(c))
			continue;
		n = strlen((const char *)c->content);
		memcpy(s + len, c->content, n);
		len += n;
	}
	for (start = 0; start < len && isspace((unsigned char)s[start]);)
		start++;
	for (end = len; end > start && isspace((unsigned char)s[end - 1]);)
		end--;
	memmove(s, s + start, end - start);
	s[end - start] = '\0';
	return s;
}
