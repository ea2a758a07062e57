#!/bin/bash
# prldctl delete-snapshot: merges at every position of a chain and leaves
# of a tree, the state of every remaining GUID read by QEMU (a backing
# chain per GUID, independent of libprld) before and after, byte for byte;
# qemu-img check of every image; JSON lines and the progress bar; exact
# refusals; a crash at each named step (PRLD_TEST_MERGE_CRASH, honoured by
# the test build $PRLDCTL_TEST only) and kill -9 at random moments, each
# followed by a repair and the same comparisons.
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/chain.sh"
: "${PRLDCTL_TEST:?PRLDCTL_TEST must point at prldctl built with the test hooks}"

head -c 4M /dev/urandom > "$WORK/pool"
POOLPOS=0

put() {
	tail -c +$((POOLPOS + 1)) "$WORK/pool" | head -c "$3" |
		"$PRLDCTL" write --offset "$2" "$1"
	POOLPOS=$(( (POOLPOS + $3 + 4099) % (3 << 20) ))
}

# state DIR GUID OUT: QEMU's reading of GUID's state.
state() {
	qemu-img convert -O raw --image-opts "$(qemu_opts "$1" "$2")" "$3"
}

guids() { xmllint --xpath '//Shot/GUID/text()' "$1/DiskDescriptor.xml" |
	  tr -d '\r' | grep -o '{[^}]*}'; }

# save DIR TAG: every GUID's state to $WORK/TAG.<n>, names in $WORK/TAG.list
save() {
	local g n=0
	: > "$WORK/$2.list"
	for g in $(guids "$1"); do
		state "$1" "$g" "$WORK/$2.$n"
		echo "$g $n" >> "$WORK/$2.list"
		n=$((n + 1))
	done
}

# same DIR TAG NAME: every GUID still in DIR reads as saved under TAG,
# and DIR holds no GUID TAG did not have.
same() {
	local g n bad=0 cnt=0
	for g in $(guids "$1"); do
		n=$(awk -v g="$g" '$1 == g { print $2 }' "$WORK/$2.list")
		if [ -z "$n" ]; then bad=1; echo "# new GUID $g"; continue; fi
		state "$1" "$g" "$WORK/now.raw"
		cmp -s "$WORK/now.raw" "$WORK/$2.$n" || { bad=1; echo "# $g differs"; }
		cnt=$((cnt + 1))
	done
	ok $bad "$3: the $cnt remaining states read (by QEMU) as before"
}

# judge_merged NAME DIR NSHOTS: prldctl read = QEMU's top chain, qemu-img
# check of every image, prldctl check clean, NSHOTS shots, no journal.
# (chain.sh's judge counts the top's chain; a merge leaves other branches.)
judge_merged() {
	local f bad=0 n=0
	state "$2" "$TOPG" "$WORK/q.raw"
	"$PRLDCTL" read "$2" | cmp -s - "$WORK/q.raw"
	ok $? "$1: prldctl read equals qemu-img convert of the chain"
	for f in $(xmllint --xpath '//Image/File/text()' "$2/DiskDescriptor.xml"); do
		qemu-img check -f parallels "$2/$f" > /dev/null 2>&1 ||
			{ bad=1; echo "# qemu-img check $f failed"; }
		n=$((n + 1))
	done
	ok $bad "$1: qemu-img check exits 0 on all $n images"
	run "$PRLDCTL" check "$2"
	is "$RC$OUT" "0No errors were found." "$1: prldctl check clean"
	is "$(guids "$2" | wc -l)" "$3" "$1: $3 shots"
	is "$(ls "$2" | wc -l)" $(($3 + 1)) "$1: descriptor + $3 images, nothing else"
	is "$(xp "$2" "//Snapshots/TopGUID")" "$TOPG" "$1: TopGUID kept"
}

# chain DIR N: base + N snapshots with writes on every level; GUIDs in S[].
chain() {
	local i
	"$PRLDCTL" create -s 8M --cluster-size 64K "$1" > /dev/null
	S=()
	for i in $(seq "$2"); do
		put "$1" $((RANDOM * 200)) $((RANDOM % 300000 + 1))
		put "$1" $((RANDOM * 100)) 65536
		S+=("$("$PRLDCTL" snapshot "$1")")
	done
	put "$1" $((RANDOM * 200)) 200000
	put "$1" 0 1000
}

# ---- a chain of four: middle, root, the top's parent ----------------------

c=$WORK/c
chain "$c" 3
save "$c" c
judge_merged "chain of four" "$c" 4
cp -a "$c" "$WORK/rv"
"$PRLDCTL" revert --to "${S[1]}" "$WORK/rv"
"$PRLDCTL" read "$WORK/rv" | cmp -s - "$WORK/c.1"
ok $? "QEMU's reading of S2 agrees with prldctl after a revert to it"

S2file=$c/$(xp "$c" "//Image[GUID='${S[2]}']/File")
run "$PRLDCTL" delete-snapshot --json "${S[1]}" "$c"
is "$RC" 0 "delete-snapshot S2 (middle): exit 0"
is "$ERR" "" "... nothing on stderr"
echo "$OUT" | jq -e . > /dev/null 2>&1
ok $? "... every stdout line is JSON"
is "$(echo "$OUT" | tail -1 | jq -c .)" \
	"{\"status\":\"ok\",\"guid\":\"${S[1]}\"}" "... last line: status ok"
prog=$(echo "$OUT" | head -n -1)
is "$(echo "$prog" | jq -s '[.[] | select(.done <= .total)] | length')" \
	"$(echo "$prog" | wc -l)" "... progress lines: done <= total"
is "$(echo "$prog" | jq -s '[.[].done] as $d | $d == ($d | sort)')" true \
	"... done only grows"
is "$(echo "$prog" | tail -1 | jq '.done == .total and .total > 0')" true \
	"... last progress line: done = total > 0"
is "$(echo "$prog" | jq -s '[.[].total] | unique | length')" 1 \
	"... one total throughout"
ok $([ ! -e "$S2file" ]; echo $?) "S3's old file is gone (S2's file carries S3 now)"
is "$(xp "$c" "//Shot[GUID='${S[2]}']/ParentGUID")" "${S[0]}" "S3's parent is S1 now"
same "$c" c "after deleting S2"
judge_merged "after deleting S2" "$c" 3

run "$PRLDCTL" delete-snapshot "${S[0]}" "$c" < /dev/null
is "$RC" 0 "delete-snapshot S1 (root): exit 0"
is "$(xp "$c" "//Image[GUID='${S[2]}']/File")" root.hds "S3 lives in root.hds"
is "$(xp "$c" "//Shot[GUID='${S[2]}']/ParentGUID")" "$ZERO" "S3 is the root"
same "$c" c "after deleting S1"
judge_merged "after deleting S1" "$c" 2

run "$PRLDCTL" delete-snapshot "${S[2]}" "$c"
is "$RC" 0 "delete-snapshot S3 (below the top): exit 0"
is "$(xp "$c" "//Image[GUID='$TOPG']/File")" root.hds "the top lives in root.hds"
same "$c" c "after deleting S3"
judge_merged "only the top left" "$c" 1
"$PRLDCTL" read "$c" | cmp -s - "$WORK/c.3"
ok $? "the top reads as it did before any delete"

# ---- V1 images, 1 MiB clusters --------------------------------------------

v=$WORK/v1
"$PRLDCTL" create -s 16M --format v1 "$v" > /dev/null
put "$v" 1000 3000000
V1=$("$PRLDCTL" snapshot "$v")
put "$v" 2500000 3000000
V2=$("$PRLDCTL" snapshot "$v")
put "$v" 9000000 100
save "$v" v
run "$PRLDCTL" delete-snapshot "$V2" "$v"
is "$RC" 0 "V1: delete the top's parent"
same "$v" v "V1, after the top's parent"
judge_merged "V1, after the top's parent" "$v" 2
run "$PRLDCTL" delete-snapshot "$V1" "$v"
is "$RC" 0 "V1: delete the root"
same "$v" v "V1, after the root"
judge_merged "V1, after the root" "$v" 1
is "$(head -c 16 "$v/root.hds")" WithoutFreeSpace "V1: still a V1 image"

# ---- a resized disk: lower images smaller than the top ---------------------

z=$WORK/z
"$PRLDCTL" create -s 8M --cluster-size 64K "$z" > /dev/null
put "$z" 0 3000000
Z1=$("$PRLDCTL" snapshot "$z")
"$PRLDCTL" resize -s 12M "$z"
put "$z" 7000000 3000000
Z2=$("$PRLDCTL" snapshot "$z")
put "$z" 11000000 500000
save "$z" z
judge_merged "resized" "$z" 3
run "$PRLDCTL" delete-snapshot "$Z1" "$z"
is "$RC" 0 "resized: merge the 8M base with its 12M child"
is "$(qemu-img info -f parallels --output=json "$z/root.hds" | jq '."virtual-size"')" 	12582912 "resized: root.hds grew to 12M"
same "$z" z "resized, after the base"
judge_merged "resized, after the base" "$z" 2
run "$PRLDCTL" delete-snapshot "$Z2" "$z"
is "$RC" 0 "resized: merge into the top"
same "$z" z "resized, after the top's parent"
judge_merged "resized, after the top's parent" "$z" 1

# ---- a tree: a leaf, then a snapshot with two children --------------------

t=$WORK/t
chain "$t" 2
L=$("$PRLDCTL" snapshot "$t")
"$PRLDCTL" revert --to "${S[1]}" "$t"
put "$t" 5000000 100000
save "$t" t
judge_merged "tree" "$t" 4
run "$PRLDCTL" delete-snapshot "${S[1]}" "$t"
is "$RC" 1 "two children: exit 1"
like "$ERR" "prldctl: $t/DiskDescriptor.xml: snapshot ${S[1]} has 2 child snapshots ($L, $TOPG); delete all but one of them first" \
	"... exact message naming both"
Lfile=$t/$(xp "$t" "//Image[GUID='$L']/File")
run "$PRLDCTL" delete-snapshot --json "$L" "$t"
is "$RC" 0 "delete the leaf: exit 0"
is "$OUT" "{\"status\":\"ok\",\"guid\":\"$L\"}" "... no copy, one status line"
ok $([ ! -e "$Lfile" ]; echo $?) "... its file is gone"
same "$t" t "after the leaf"
judge_merged "after the leaf" "$t" 3
run "$PRLDCTL" delete-snapshot "${S[1]}" "$t"
is "$RC" 0 "now S2 has one child: merged"
same "$t" t "after S2"
judge_merged "after S2" "$t" 2

# ---- refusals ------------------------------------------------------------

r=$WORK/r
chain "$r" 2
cp "$r/DiskDescriptor.xml" "$WORK/r.desc"
files=$(ls -l --time-style=+ "$r")
unk='{01234567-89ab-cdef-0123-456789abcdef}'
run "$PRLDCTL" delete-snapshot "$unk" "$r"
is "$RC:$ERR" "1:prldctl: $r/DiskDescriptor.xml: no snapshot $unk (prldctl snapshots lists them)" \
	"unknown GUID: exact message"
run "$PRLDCTL" delete-snapshot "{nonsense}" "$r"
is "$RC:$ERR" "1:prldctl: '{nonsense}' is not a snapshot GUID (want one like $ZERO)" \
	"malformed GUID: exact message"
run "$PRLDCTL" delete-snapshot "$TOPG" "$r"
is "$RC:$ERR" "1:prldctl: $r/DiskDescriptor.xml: $TOPG is the current top (the disk's current state), not a snapshot; revert to another snapshot to discard it" \
	"the top: exact message"
run "$PRLDCTL" delete-snapshot "$r"
is "$RC" 1 "one argument: exit 1"
like "$ERR" "expected a snapshot GUID and a disk DIR" "... usage"
like "$ERR" "usage: prldctl delete-snapshot [--json] [--background] [--pace PERCENT] GUID DIR|/dev/prldN" "... synopsis"
run "$PRLDCTL" delete-snapshot --bogus "${S[0]}" "$r"
is "$RC" 1 "bad option: exit 1"
run "$PRLDCTL" delete-snapshot --pace 0 "${S[0]}" "$r"
is "$RC" 1 "--pace 0: exit 1"
like "$ERR" "--pace takes a percentage, 1 to 100" "... saying what it takes"
run "$PRLDCTL" delete-snapshot --pace 101 "${S[0]}" "$r"
is "$RC" 1 "--pace 101: exit 1"
top=$r/$(xp "$r" "//Image[GUID='$TOPG']/File")
run flock -x "$top" "$PRLDCTL" delete-snapshot "${S[0]}" "$r"
is "$RC:$ERR" "1:prldctl: $top: disk in use (attached as a device or open by another process); snapshots are deleted offline or through the prld device the disk is attached as: close it first" \
	"top locked (a writer, not a device): exact message"
run flock -s "$r/root.hds" "$PRLDCTL" delete-snapshot "${S[0]}" "$r"
is "$RC:$ERR" "1:prldctl: $r/root.hds: snapshot image in use by another process" \
	"base image held by a reader: exact message"
run "$PRLDCTL" delete-snapshot --json "$unk" "$r"
is "$(echo "$OUT" | jq -r .status)" error "--json: a refusal is a status error line"
like "$(echo "$OUT" | jq -r .error)" "no snapshot $unk" "... with the message"
cmp -s "$r/DiskDescriptor.xml" "$WORK/r.desc"
ok $? "refusals left the descriptor alone"
is "$(ls -l --time-style=+ "$r")" "$files" "refusals left the files alone"
"$PRLDCTL" create --image -s 4M "$WORK/bare.hds" > /dev/null
run "$PRLDCTL" delete-snapshot "${S[0]}" "$WORK/bare.hds"
is "$RC" 1 "bare image: exit 1"
like "$ERR" "a bare image has none" "... says why"

# ---- the progress bar on a terminal ---------------------------------------

script -qec "$PRLDCTL delete-snapshot ${S[0]} $r" /dev/null > "$WORK/tty.out" 2>&1
is "$?" 0 "on a terminal: exit 0"
tr '\r' '\n' < "$WORK/tty.out" | grep -q '^merging \[#*\] 100% [0-9]*/[0-9]* clusters'
ok $? "on a terminal: a progress bar reaching 100%"
grep -q '"status"' "$WORK/tty.out"
ok $((! $?)) "on a terminal: no JSON"
judge_merged "after the terminal run" "$r" 2

# ---- a crash at each step, then check --repair -----------------------------

for step in journal inuse copy:1 copy:3 copied switched unlinked closed; do
	k=$WORK/k-${step/:/-}
	chain "$k" 2
	save "$k" k
	victim=${S[1]}
	PRLD_TEST_MERGE_CRASH=$step "$PRLDCTL_TEST" delete-snapshot "$victim" "$k" > /dev/null 2>&1
	is "$?" 86 "crash at $step: prldctl died there"
	run "$PRLDCTL" check "$k"
	is "$RC" 2 "crash at $step: check exits 2"
	like "$OUT" "DiskDescriptor.xml: unfinished merge of snapshot $TOPG into $victim (journal DiskDescriptor.xml.merge); check --repair finishes it" \
		"crash at $step: check names the unfinished merge"
	"$PRLDCTL" read "$k" | cmp -s - "$WORK/k.2"
	ok $? "crash at $step: the top still reads as before"
	run "$PRLDCTL" check --repair "$k"
	is "$RC" 0 "crash at $step: check --repair exits 0"
	like "$OUT" "finished the interrupted merge of snapshot $TOPG into $victim" \
		"crash at $step: ... and says it finished the merge"
	same "$k" k "crash at $step, repaired"
	judge_merged "crash at $step, repaired" "$k" 2
	rm -rf "$k"
done

# The real tool (and library) has no crash points: the variable is inert.
k=$WORK/k-inert
chain "$k" 2
save "$k" k
PRLD_TEST_MERGE_CRASH=journal "$PRLDCTL" delete-snapshot "${S[1]}" "$k" > /dev/null 2>&1
is "$?" 0 "PRLD_TEST_MERGE_CRASH does not end the installed tool"
ok $([ ! -e "$k/DiskDescriptor.xml.merge" ]; echo $?) "... the merge finished, no journal"
judge_merged "merged with the variable set" "$k" 2
rm -rf "$k"

# Recovery by opening for writing, and by a crash in the recovery.
k=$WORK/kw
chain "$k" 2
save "$k" k
PRLD_TEST_MERGE_CRASH=copy:2 "$PRLDCTL_TEST" delete-snapshot "${S[0]}" "$k" > /dev/null 2>&1
is "$?" 86 "crash merging S1: died"
PRLD_TEST_MERGE_CRASH=switched "$PRLDCTL_TEST" check --repair "$k" > /dev/null 2>&1
is "$?" 86 "the repair itself crashed after the switch"
printf 'xyz' | "$PRLDCTL" write --offset 4096 "$k"
is "$?" 0 "a write opens the disk: finishes the merge first"
ok $([ ! -e "$k/DiskDescriptor.xml.merge" ]; echo $?) "... journal gone"
"$PRLDCTL" read --offset 4096 --length 3 "$k" | cmp -s - <(printf 'xyz')
ok $? "... and the write landed"
judge_merged "recovered by a writer" "$k" 2

# ---- kill -9 at random moments of a bigger merge ---------------------------

big=$WORK/big
"$PRLDCTL" create -s 32M --cluster-size 64K "$big" > /dev/null
head -c 8M /dev/urandom | "$PRLDCTL" write --offset 0 "$big"
B1=$("$PRLDCTL" snapshot "$big")
head -c 12M /dev/urandom | "$PRLDCTL" write --offset 4194304 "$big"
save "$big" big
# The kills land within the time a whole delete takes here (measured on
# a copy), so they hit it while it runs, not after it has finished.
cp -a "$big" "$WORK/timed"
t0=$(date +%s%N)
"$PRLDCTL" delete-snapshot "$B1" "$WORK/timed" > /dev/null
full_us=$(( ($(date +%s%N) - t0) / 1000 ))
rm -rf "$WORK/timed"
echo "# a whole delete takes $full_us us"
killed=0 mid=0
for i in 1 2 3 4 5 6; do
	k=$WORK/kill$i
	cp -a "$big" "$k"
	"$PRLDCTL" delete-snapshot "$B1" "$k" > "$WORK/kill.out" 2>&1 &
	pid=$!
	sleep "$(printf '0.%06d' $(( (RANDOM * 32768 + RANDOM) % full_us % 1000000 )))"
	kill -9 "$pid" 2> /dev/null && killed=$((killed + 1))
	wait "$pid" 2> /dev/null
	[ -e "$k/DiskDescriptor.xml.merge" ] && mid=$((mid + 1))
	run "$PRLDCTL" check --repair "$k"
	is "$RC" 0 "kill -9 #$i: check --repair exits 0"
	same "$k" big "kill -9 #$i, repaired"
	if [ "$(guids "$k" | wc -l)" = 2 ]; then
		# Killed before the journal: nothing had changed; go again.
		echo "# kill -9 #$i came before the journal"
		"$PRLDCTL" delete-snapshot "$B1" "$k" > /dev/null
	fi
	same "$k" big "kill -9 #$i"
	judge_merged "kill -9 #$i" "$k" 1
	rm -rf "$k"
done
echo "# $killed of 6 runs killed, $mid of them with the merge under way"
ok $((killed == 0)) "kill -9 landed while a delete ran ($killed of 6 times)"

# --background and wait: the delete runs detached, wait follows it.
bg=$WORK/bg
cp -a "$big" "$bg"
run "$PRLDCTL" wait "$bg"
is "$RC" 1 "wait with nothing started: exit 1"
like "$ERR" "no snapshot delete was started in the background" "... says so"
run "$PRLDCTL" delete-snapshot --background "$B1" "$bg"
is "$RC" 0 "delete-snapshot --background returns"
like "$OUT" "prldctl wait $bg" "... saying how to follow it"
run "$PRLDCTL" wait --json "$bg"
is "$RC" 0 "wait: exit 0 once it is done"
is "$(tail -1 <<<"$OUT" | jq -r .status)" ok "wait: the last JSON line says ok"
is "$(tail -2 <<<"$OUT" | head -1 | jq '.done == .total and .total > 0')" true "wait: the last progress line is done = total"
same "$bg" big "background delete"
ok $([ ! -e "$bg/DiskDescriptor.xml.merge.status" ]; echo $?) "wait told the result and removed the status file"
judge_merged "background delete" "$bg" 1
run "$PRLDCTL" wait "$bg"
is "$RC" 1 "wait again: nothing to wait for"
run "$PRLDCTL" delete-snapshot --background "$unk" "$bg"
is "$RC" 1 "a background delete that cannot start: exit 1"
like "$ERR" "no snapshot $unk" "... with the reason"
rm -rf "$bg"
cp -a "$big" "$bg"
exec 8>>"$bg/DiskDescriptor.xml.merge.status"
flock -x 8
run "$PRLDCTL" delete-snapshot --background "$B1" "$bg"
is "$RC" 1 "a second background delete: refused"
like "$ERR" "runs in the background already" "... saying so"
exec 8>&-
rm "$bg/DiskDescriptor.xml.merge.status"
run env PRLD_TEST_MERGE_CRASH=copy:5 "$PRLDCTL_TEST" delete-snapshot --background "$B1" "$bg"
is "$RC" 0 "a background delete that will die mid-copy starts"
run "$PRLDCTL" wait "$bg"
is "$RC" 1 "wait: exit 1 when it died"
like "$ERR" "ended without a result" "... and says it ended without a result"
run "$PRLDCTL" check --repair "$bg"
is "$RC" 0 "check --repair finishes it"
same "$bg" big "background delete that died, repaired"
judge_merged "background delete that died" "$bg" 1

tap_done
