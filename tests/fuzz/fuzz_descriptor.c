// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * fuzz_descriptor.c - libFuzzer target: any bytes through desc_parse(),
 * and through desc_chain() whenever they were accepted.  Every accepted
 * descriptor must yield a chain from TopGUID down to the root.
 */
#include <stdlib.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "internal.h"

static void quiet_generic(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

#if LIBXML_VERSION >= 21200
static void quiet_structured(void *ctx, const xmlError *e)
#else
static void quiet_structured(void *ctx, xmlErrorPtr e)
#endif
{
	(void)ctx;
	(void)e;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, quiet_generic);
	xmlSetStructuredErrorFunc(NULL, quiet_structured);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prld_desc *d = NULL;
	struct prld_err err = { 0 };
	unsigned int *idx = NULL, n = 0;

	if (desc_parse((const char *)data, size, "fuzz/DiskDescriptor.xml",
		       &d, &err) < 0)
		return 0;
	/* Validation promised a walkable tree: a failure here is a bug. */
	if (desc_chain(d, NULL, &idx, &n, &err) < 0 || n == 0 ||
	    n > d->nimages)
		abort();
	free(idx);
	desc_free(d);
	return 0;
}
