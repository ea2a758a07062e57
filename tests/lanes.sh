#!/bin/bash
# lanes.sh NAME=CMD NAME=CMD...: runs the commands side by side and fails
# if any fails.  For `make test`: the suites are mostly one sequential
# shell inside a TCG guest, so two of them on a 2-core machine take
# little longer than one.
#
# The first lane is the foreground one: its output goes out live.  Every
# other lane writes to build/lanes/NAME.log, shown whole (unprefixed, so
# prove's summaries count as usual) between "lane NAME" markers once the
# foreground lane is done, so no two outputs interleave.  The first lane
# to fail stops the others (as make stops at its first failing target):
# their logs so far are shown and the run fails.  Each lane is a session
# of its own, so stopping one stops every process it started, its VMs
# included (timeout(1) puts QEMU in a process group of its own).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd -P)
logs=$top/build/lanes
mkdir -p "$logs"

names=() cmds=() pids=() start=$SECONDS
for a in "$@"; do
	[[ $a == ?*=?* ]] || { echo "usage: lanes.sh NAME=CMD..." >&2; exit 2; }
	names+=("${a%%=*}") cmds+=("${a#*=}")
done
[ ${#names[@]} -gt 0 ] || { echo "usage: lanes.sh NAME=CMD..." >&2; exit 2; }

stop_all() {
	local p
	for p in "${pids[@]}"; do
		[ -z "$p" ] || pkill -TERM -s "$p" 2>/dev/null
	done
}
trap 'stop_all; exit 130' INT TERM

# A lane's status goes to a file: a lane stopped by stop_all writes none.
rm -f "$logs"/*.rc
for i in "${!names[@]}"; do
	# shellcheck disable=SC2016 # expanded by the lane's own bash
	run='bash -c "$1"; echo $? >"$2"'
	if [ "$i" = 0 ]; then
		setsid bash -c "$run" lane "${cmds[$i]}" "$logs/${names[$i]}.rc" &
	else
		echo "lanes: ${names[$i]} runs beside ${names[0]}: build/lanes/${names[$i]}.log"
		setsid bash -c "$run" lane "${cmds[$i]}" "$logs/${names[$i]}.rc" \
			>"$logs/${names[$i]}.log" 2>&1 </dev/null &
	fi
	pids[i]=$!
done

status=0 left=${#names[@]}
while [ "$left" -gt 0 ] && [ $status = 0 ]; do
	sleep 1
	for i in "${!names[@]}"; do
		[ -n "${pids[$i]}" ] && [ -s "$logs/${names[$i]}.rc" ] || continue
		rc=$(cat "$logs/${names[$i]}.rc")
		wait "${pids[$i]}"
		pids[i]=''
		left=$((left - 1))
		echo "lanes: ${names[$i]} $([ "$rc" = 0 ] && echo passed || echo "FAILED ($rc)")" \
			"after $((SECONDS - start)) s"
		[ "$rc" = 0 ] || status=1
	done
done
if [ $status != 0 ]; then
	stop_all
	wait
fi
for i in "${!names[@]}"; do
	[ "$i" = 0 ] && continue
	rc=$(cat "$logs/${names[$i]}.rc" 2>/dev/null || echo stopped)
	echo "==== lane ${names[$i]}: $([ "$rc" = 0 ] && echo passed || echo "FAILED ($rc)") ===="
	cat "$logs/${names[$i]}.log"
	echo "==== lane ${names[$i]}: end ===="
done
echo "lanes: $([ $status = 0 ] && echo "all passed" || echo FAILED) after $((SECONDS - start)) s"
exit $status
