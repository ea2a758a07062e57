#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/tool.sh (make bench-tool): prldctl against qemu-img on the host,
# same files, same run, the two commands of each job back to back in
# BENCH_TOOL_ROUNDS rounds; a ratio is qemu-img's time over prldctl's
# (above 1: prldctl is faster), the median over the rounds.
#
#   write    prldctl write DIR < dense.raw     qemu-img convert -O parallels
#   export   prldctl convert DIR out.raw       qemu-img convert -O raw
#   read     prldctl read DIR > out.raw        qemu-img convert -O raw
#   import   prldctl convert sparse.raw DIR    qemu-img convert -O parallels
#   check    prldctl check DIR                 qemu-img check
#   write-durable, import-durable: the same with qemu-img convert
#            -t writeback, which makes its output durable before it ends,
#            as prldctl always does
#
# dense.raw is BENCH_TOOL_SIZE of random data; sparse.raw twice that size
# with the same amount of data in 64 MiB pieces, the rest holes.  prldctl
# syncs what it wrote before it returns (its in-use flag must be cleared
# only after the data is durable); qemu-img convert writes with
# cache=unsafe (no sync) by default, so its times include none.
# Writes bench/results/tool-latest.md.
set -eu
cd "$(dirname "$0")/.."
P=${PRLDCTL:-$PWD/userspace/prldctl}
SIZE_MB=${BENCH_TOOL_SIZE_MB:-1024}
ROUNDS=${BENCH_TOOL_ROUNDS:-3}
DIR=${BENCH_TOOL_DIR:-/var/tmp/prld-bench-tool}
OUT=bench/results/tool-latest.md

rm -rf "$DIR" && mkdir -p "$DIR"
trap 'rm -rf "$DIR"' EXIT
head -c $((SIZE_MB << 20)) /dev/urandom > "$DIR/dense.raw"
truncate -s $((2 * SIZE_MB << 20)) "$DIR/sparse.raw"
for ((i = 0; i < SIZE_MB / 64; i++)); do
	dd if="$DIR/dense.raw" of="$DIR/sparse.raw" bs=1M count=64 \
	   skip=$((i * 64)) seek=$((i * 128)) conv=notrunc status=none
done

secs() {	# secs CMD...: run it, print its wall time in seconds
	local t0=$EPOCHREALTIME
	"$@" > /dev/null
	echo "$EPOCHREALTIME $t0" | awk '{ printf "%.3f", $1 - $2 }'
}
sh_c() { bash -c "$1"; }

# One job, one round: prints "prld_seconds qemu_seconds".
job() {
	case $1 in
	write)
		rm -rf "$DIR/d" "$DIR/q.hds"
		"$P" create -s "${SIZE_MB}M" "$DIR/d" > /dev/null
		echo "$(secs sh_c "'$P' write '$DIR/d' < '$DIR/dense.raw'") \
$(secs qemu-img convert -O parallels "$DIR/dense.raw" "$DIR/q.hds")" ;;
	write-durable)
		rm -rf "$DIR/d" "$DIR/q.hds"
		"$P" create -s "${SIZE_MB}M" "$DIR/d" > /dev/null
		echo "$(secs sh_c "'$P' write '$DIR/d' < '$DIR/dense.raw'") \
$(secs qemu-img convert -t writeback -O parallels "$DIR/dense.raw" "$DIR/q.hds")" ;;
	export)
		rm -f "$DIR/o1.raw" "$DIR/o2.raw"
		echo "$(secs "$P" convert -q "$DIR/d" "$DIR/o1.raw") \
$(secs qemu-img convert -f parallels -O raw "$DIR/q.hds" "$DIR/o2.raw")" ;;
	read)
		rm -f "$DIR/o1.raw" "$DIR/o2.raw"
		echo "$(secs sh_c "'$P' read '$DIR/d' > '$DIR/o1.raw'") \
$(secs qemu-img convert -f parallels -O raw "$DIR/q.hds" "$DIR/o2.raw")" ;;
	import)
		rm -rf "$DIR/i" "$DIR/qi.hds"
		echo "$(secs "$P" convert -q "$DIR/sparse.raw" "$DIR/i") \
$(secs qemu-img convert -O parallels "$DIR/sparse.raw" "$DIR/qi.hds")" ;;
	import-durable)
		rm -rf "$DIR/i" "$DIR/qi.hds"
		echo "$(secs "$P" convert -q "$DIR/sparse.raw" "$DIR/i") \
$(secs qemu-img convert -t writeback -O parallels "$DIR/sparse.raw" "$DIR/qi.hds")" ;;
	check)
		echo "$(secs "$P" check "$DIR/d") \
$(secs qemu-img check -f parallels "$DIR/q.hds")" ;;
	esac
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A ratios prld_t qemu_t
JOBS="write write-durable export read import import-durable check"
for ((r = 1; r <= ROUNDS; r++)); do
	for j in $JOBS; do
		read -r tp tq < <(job "$j")
		echo "round $r $j: prldctl ${tp}s qemu-img ${tq}s" >&2
		ratios[$j]+="$(awk -v p="$tp" -v q="$tq" 'BEGIN { printf "%.3f", (p > 0 ? q / p : 0) }') "
		prld_t[$j]+="$tp " qemu_t[$j]+="$tq "
	done
done
# The import's result: about the data's size.
img_mb=$(( $(stat -c %s "$DIR/i/root.hds") >> 20 ))
qimg_mb=$(( $(stat -c %s "$DIR/qi.hds") >> 20 ))

{
	echo "bench-tool $(git rev-parse --short HEAD 2>/dev/null || echo '?') ($(date -u '+%Y-%m-%d %H:%M UTC')), $(qemu-img --version | head -1), files on $(df --output=fstype "$DIR" | tail -1 | tr -d ' '), ${SIZE_MB} MiB of data, $ROUNDS rounds; ratio = qemu-img time / prldctl time, median (above 1: prldctl faster)."
	echo
	echo "| job | prldctl s (median) | qemu-img s (median) | ratio | per round |"
	echo "|---|---|---|---|---|"
	for j in $JOBS; do
		echo "| $j | $(echo ${prld_t[$j]} | tr ' ' '\n' | median) | $(echo ${qemu_t[$j]} | tr ' ' '\n' | median) | **$(echo ${ratios[$j]} | tr ' ' '\n' | median)** | ${ratios[$j]% } |"
	done
	echo
	echo "Import of a $((2 * SIZE_MB)) MiB sparse raw file holding ${SIZE_MB} MiB of data: prldctl's image ${img_mb} MiB, qemu-img's ${qimg_mb} MiB."
} | tee "$OUT"
