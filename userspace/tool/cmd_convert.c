// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prldctl convert: copy a disk (any snapshot state) to a raw file or
 * block device, a raw file or device into a new disk, or a disk's state
 * into a new disk.  Zeros are never copied: clusters no layer maps, holes
 * of the files (SEEK_DATA) and blocks that read as zeros are skipped, so
 * a new disk allocates only what holds data and a raw file gets holes.
 * qcow2, vmdk and the rest are qemu-img's: convert to raw and on from
 * there, or run qemu-img on the attached /dev/prldN.
 *
 * Ctrl-C stops between two chunks; what this run created is closed
 * cleanly and removed (it would be incomplete).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convert.h"
#include "tool.h"

#define CHUNK_BYTES (4U << 20)

enum out_fmt { OUT_DEFAULT, OUT_RAW, OUT_PRLD };

struct convert_opts {
	bool progress, quiet;
	const char *snapshot;
	enum out_fmt out;
	struct conv_layout layout;
	const char *src, *dst;
};

struct copy_stats {
	uint64_t data, zeros;	/* bytes written, bytes skipped */
};

static int parse_out(const char *text, enum out_fmt *out)
{
	if (!strcmp(text, "raw"))
		*out = OUT_RAW;
	else if (!strcmp(text, "prld") || !strcmp(text, "parallels") ||
		 !strcmp(text, "ploop"))
		*out = OUT_PRLD;
	else
		return usage_error("-O: '%s' is neither raw nor prld (qcow2, vmdk: convert to raw, then qemu-img convert)",
				   text);
	return 0;
}

static int parse_layout(int c, const char *arg, struct conv_layout *lay)
{
	struct prld_create_params p = { 0 };

	if (c == 'c') {
		if (parse_cluster(arg, &p))
			return -1;
		lay->cluster_sectors = p.cluster_sectors;
	} else {
		if (parse_format(arg, &p))
			return -1;
		lay->fmt = p.fmt;
	}
	return 0;
}

static int parse_convert(int argc, char **argv, struct convert_opts *o)
{
	static const struct option longopts[] = {
		{ "progress", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "output-format", required_argument, NULL, 'O' },
		{ "image", no_argument, NULL, 'i' },
		{ "cluster-size", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ 0 }
	};
	int c, bad = 0;

	while (!bad && (c = getopt_long(argc, argv, "pqO:", longopts,
					NULL)) != -1) {
		switch (c) {
		case 'p': o->progress = true; break;
		case 'q': o->quiet = true; break;
		case 's': o->snapshot = optarg; break;
		case 'O': bad = parse_out(optarg, &o->out); break;
		case 'i': o->layout.image = true; break;
		case 'c': case 'f': bad = parse_layout(c, optarg, &o->layout); break;
		default: return usage_error("bad option");
		}
	}
	if (bad)
		return PRLDCTL_EXIT_FAIL;
	if (optind != argc - 2)
		return usage_error("expected a SOURCE and a DESTINATION");
	o->src = argv[optind];
	o->dst = argv[optind + 1];
	return 0;
}

static bool all_zero(const char *p, size_t len)
{
	return !len || (!p[0] && !memcmp(p, p + 1, len - 1));
}

/* Write @buf's runs of non-zero granules; zero the others (a device). */
static int put_chunk(struct conv_end *dst, const char *buf, size_t len,
		     uint64_t off, struct copy_stats *st)
{
	size_t g = dst->granule, pos = 0, run, n;
	bool zero;

	while (pos < len) {
		zero = all_zero(buf + pos, len - pos < g ? len - pos : g);
		for (run = pos; run < len; run += n) {
			n = len - run < g ? len - run : g;
			if (all_zero(buf + run, n) != zero)
				break;
		}
		if (zero ? conv_zero(dst, off + pos, run - pos) :
			   conv_write(dst, buf + pos, run - pos, off + pos))
			return -1;
		*(zero ? &st->zeros : &st->data) += run - pos;
		pos = run;
	}
	return 0;
}

/* The copy, chunk by chunk; 1 when a signal stopped it. */
static int copy(struct conv_end *src, struct conv_end *dst,
		struct progress_bar *bar, struct copy_stats *st)
{
	uint64_t chunk = (CHUNK_BYTES + dst->granule - 1) / dst->granule *
			 dst->granule, off, len;
	char *buf = malloc(chunk);
	int ret = 0, data;

	if (!buf)
		return fail("out of memory"), -1;
	for (off = 0; off < src->size && !ret; off += len) {
		if (interrupted()) {
			ret = 1;
			break;
		}
		progress_show(bar, off, src->size);
		len = src->size - off < chunk ? src->size - off : chunk;
		data = conv_has_data(src, off, len);
		if (!data) {
			st->zeros += len;
			ret = conv_zero(dst, off, len);
		} else {
			ret = conv_read(src, buf, len, off);
			if (!ret)
				ret = put_chunk(dst, buf, len, off, st);
		}
	}
	if (!ret)
		progress_show(bar, src->size, src->size);
	progress_end(bar);
	free(buf);
	return ret;
}

/* "NAME.hds" is a bare image, as --image says. */
static bool wants_image(const struct convert_opts *o)
{
	size_t n = strlen(o->dst);

	return o->layout.image || (n > 4 && !strcmp(o->dst + n - 4, ".hds"));
}

static int open_ends(const struct convert_opts *o, struct conv_end *src,
		     struct conv_end *dst)
{
	bool from_disk = conv_is_disk(o->src);
	struct conv_layout lay = o->layout;
	enum out_fmt out = o->out;

	if (out == OUT_DEFAULT)
		out = from_disk ? OUT_RAW : OUT_PRLD;
	if (!from_disk && o->snapshot)
		return usage_error("--snapshot: %s is not a prld disk", o->src);
	if (!from_disk && out == OUT_RAW)
		return usage_error("%s is not a prld disk, and raw to raw is cp's job (cp --sparse=always)",
				   o->src);
	if (from_disk ? conv_open_disk_src(src, o->src, o->snapshot) :
			conv_open_raw_src(src, o->src))
		return -1;
	if (out == OUT_RAW)
		return conv_open_raw_dst(dst, o->dst, src->size);
	lay.image = wants_image(o);
	return conv_create_disk_dst(dst, o->dst, src->size, &lay);
}

static void report(const struct convert_opts *o, const struct conv_end *src,
		   const struct copy_stats *st)
{
	char total[48], data[48];

	if (o->quiet)
		return;
	printf("%s -> %s: %s, of which %s data (zeros skipped)\n", o->src,
	       o->dst, bytes_str(src->size, total, sizeof(total)),
	       bytes_str(st->data, data, sizeof(data)));
}

int cmd_convert(int argc, char **argv)
{
	struct convert_opts o = { 0 };
	struct conv_end src = { .fd = -1 }, dst = { .fd = -1 };
	struct progress_bar bar = { .what = "converting", .unit = "MiB",
				    .unit_bytes = 1 << 20 };
	struct copy_stats st = { 0 };
	int ret, status;

	if (parse_convert(argc, argv, &o))
		return PRLDCTL_EXIT_FAIL;
	bar.on = o.progress && !o.quiet;
	interrupt_catch();
	ret = open_ends(&o, &src, &dst);
	if (!ret)
		ret = copy(&src, &dst, &bar, &st);
	status = ret == 1 ? interrupt_exit() :
		 ret ? PRLDCTL_EXIT_FAIL : PRLDCTL_EXIT_OK;
	status = conv_close(&dst, ret != 0, status);
	conv_close(&src, false, 0);
	if (ret == 1)
		fail("interrupted: %s %s", o.dst,
		     dst.created ? "removed (it was incomplete)" :
		     "is incomplete");
	else if (status == PRLDCTL_EXIT_OK)
		report(&o, &src, &st);
	return status;
}
