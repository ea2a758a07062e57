#!/bin/bash
# Races while fio writes and verifies through a device: snapshots
# (PRLD_PUSH_TOP), status/map/flush queries, refused attaches of the same
# file, refused detaches of the busy device, two processes attaching and
# detaching other disks (same free index), simultaneous detaches of one
# device, and control-node add/remove.  Every request ends with success or
# an error, fio's verify passes, the chain checks clean; a hang fails the
# timeouts, a splat the VM run.
. "$(dirname "$0")/lib.sh"
: "${RAWIOCTL:?}"
STOP=$WORK/stop
bound() { "$PRLDCTL" list | wc -l; }
count() { [ -e "$WORK/$1" ] && wc -l < "$WORK/$1" || echo 0; }
until_stop() { while [ ! -e "$STOP" ]; do "$@"; done; }

"$PRLDCTL" create -s 64M --cluster-size 64K "$S/r"
dev=$(attach "$S/r")
# Held open throughout, so the device is busy whatever fio's jobs are
# doing (starting up, done): any detach of it must fail.
exec 9< "$dev"
fio --name=race --filename="$dev" --direct=1 --ioengine=psync \
	--rw=randwrite --bs=4k --size=4M --numjobs=2 --offset_increment=24M \
	--verify=crc32c --verify_fatal=1 --do_verify=1 --randseed=11 \
	--group_reporting --output-format=terse > "$WORK/fio.out" 2>&1 &
fio_pid=$!
sleep 1

snapshot() {
	if "$PRLDCTL" snapshot "$dev" > /dev/null 2>> "$WORK/snap.err"; then
		echo >> "$WORK/snap.ok"
	fi
	sleep 1
}
query() {
	"$PRLDCTL" info --json "$dev" > /dev/null 2>&1
	"$PRLDCTL" map "$dev" > /dev/null 2>&1
	"$RAWIOCTL" status "$dev" > /dev/null 2>&1
	"$RAWIOCTL" flush "$dev" > /dev/null 2>&1 || echo >> "$WORK/flush.fail"
}
same_file() {	# the file another device writes: never attachable
	local top
	top=$("$PRLDCTL" info --json "$dev" 2>/dev/null | jq -r '.layers[-1].file')
	[ -n "$top" ] && [ "$top" != null ] || return 0
	if out=$("$RAWATTACH" "$top" 2>/dev/null); then
		echo "$top -> $out" >> "$WORK/same.ok"
		"$PRLDCTL" close "$out"
	fi
}
busy_detach() {	# held open (fd 9): always EBUSY
	"$RAWIOCTL" detach "$dev" > /dev/null 2>&1 && echo >> "$WORK/detach.ok"
	sleep 0.2
}
churn() {	# attach and detach its own disk; both churners race for an index
	local d
	if d=$("$PRLDCTL" open "$S/churn$1" 2>> "$WORK/churn.err"); then
		echo >> "$WORK/churn.ok"
		"$PRLDCTL" close "$d" 2>> "$WORK/churn.bad" ||
			echo "close $d failed" >> "$WORK/churn.bad"
	fi
}
ctl() {	# add and remove a device far away from the ones in use
	"$RAWIOCTL" ctl-add 900 > /dev/null 2>&1
	"$RAWIOCTL" ctl-remove 900 > /dev/null 2>&1
}
for i in 1 2; do "$PRLDCTL" create -s 16M "$S/churn$i"; done
pids=()
until_stop snapshot & pids+=($!)
until_stop query & pids+=($!)
until_stop same_file & pids+=($!)
until_stop busy_detach & pids+=($!)
until_stop churn 1 & pids+=($!)
until_stop churn 2 & pids+=($!)
until_stop ctl & pids+=($!)

timeout 600 tail --pid=$fio_pid -f /dev/null
wait $fio_pid
fio_rc=$?
touch "$STOP"
for p in "${pids[@]}"; do
	timeout 120 tail --pid="$p" -f /dev/null || echo "# loop $p did not stop"
done
wait

# Simultaneous detaches of one idle device, a few rounds, once the loops
# above have stopped: while they run, a churner can get the index the
# first detach freed, and the second detach then (rightly) detaches the
# churner's disk instead.
twice=0 twice_bad=0
for round in 1 2 3; do
	"$PRLDCTL" create -s 16M "$S/twice$round"
	t=$(attach "$S/twice$round") || continue
	"$RAWIOCTL" detach "$t" > "$WORK/d1" 2>&1 & a=$!
	"$RAWIOCTL" detach "$t" > "$WORK/d2" 2>&1 & b=$!
	wait $a; ra=$?
	wait $b; rb=$?
	[ $ra -eq 0 ] && [ $rb -eq 0 ] && twice_bad=$((twice_bad + 1))
	# Both may see the other's open and say EBUSY: then detach now.
	[ $ra -eq 0 ] || [ $rb -eq 0 ] ||
		"$PRLDCTL" close "$S/twice$round" > /dev/null 2>&1
	"$PRLDCTL" list --json | grep -q "twice$round" || twice=$((twice + 1))
done

is "$fio_rc" 0 "fio verify passes through all the races"
echo "# snapshots $(count snap.ok), churn attaches $(count churn.ok)"
ok $(( $(count snap.ok) < 1 )) "snapshots succeeded under load ($(count snap.ok))"
is "$(count same.ok)" 0 "the file a device writes never attached twice"
is "$(count detach.ok)" 0 "the busy device never detached"
is "$(count flush.fail)" 0 "PRLD_FLUSH never failed"
ok $(( $(count churn.ok) < 2 )) "racing attach/detach loops attached ($(count churn.ok))"
bad=$(grep -c '^close ' "$WORK/churn.bad" 2>/dev/null)
is "${bad:-0}" 0 "and every attach they got detached again"
[ -s "$WORK/churn.bad" ] && sed 's/^/#   /' "$WORK/churn.bad"
is "$twice_bad" 0 "two simultaneous detaches never both succeeded"
is "$twice" 3 "each device of the double-detach rounds ended unbound"
exec 9<&-
"$PRLDCTL" close "$dev"
is "$(bound)" 0 "nothing left bound"
run "$PRLDCTL" check "$S/r"
is "$RC" 0 "the chain the races left checks clean"
echo "$OUT" | sed 's/^/#   /' | head -n 20
tap_done
