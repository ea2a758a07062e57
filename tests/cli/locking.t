#!/bin/bash
# Locks that QEMU and prld both honour.  QEMU's file-posix takes OFD byte
# locks (bytes 100+P and 200+P); prld takes those and flock.  While
# qemu-io holds an image, every prld command that writes or repairs must
# say "in use by another process" (never the in-use flag's repair advice)
# and leave the image alone; while prld writes it, qemu-io and qemu-img
# must be refused.  Both for a bare image and for a directory's top.
. "$(dirname "$0")/tap.sh"

P=$PRLDCTL

# hold_qemu IMAGE [qemu-io options]: qemu-io runs in the background with
# the image open, reading commands from a fifo (fd 7); wait until it has
# written (so its in-use flag is set), or read with -r.  drop_qemu ends it.
hold_qemu() {
	local img=$1 cmd="write -P 0x5a 0 64k" done="wrote 65536"; shift
	[ "${1:-}" = -r ] && cmd="read 0 4k" done="read 4096"
	rm -f "$WORK/qfifo"; mkfifo "$WORK/qfifo"
	qemu-io "$@" -f parallels "$img" < "$WORK/qfifo" > "$WORK/qio.out" 2>&1 &
	QPID=$!
	exec 7>"$WORK/qfifo"
	echo "$cmd" >&7
	echo "flush" >&7
	for _ in $(seq 100); do
		grep -q "$done" "$WORK/qio.out" 2>/dev/null && return 0
		grep -q "can't open" "$WORK/qio.out" 2>/dev/null && return 1
		sleep 0.05
	done
	return 1
}
drop_qemu() {
	echo quit >&7
	exec 7>&-
	wait "$QPID"
}

locked_by_qemu() {	# locked_by_qemu NAME TARGET IMAGE
	local name=$1 t=$2 img=$3 before
	hold_qemu "$img"
	ok $? "$name: qemu-io holds the image and has written"
	before=$(md5sum < "$img")
	run "$P" write "$t" < /dev/null
	is "$RC" 1 "$name: prldctl write refused"
	like "$ERR" "in use by another process" "$name: write says in use"
	case "$ERR" in *repair*) ok 1 "$name: no repair advice ($ERR)" ;;
	*) ok 0 "$name: no repair advice" ;; esac
	run "$P" check --repair "$t"
	is "$RC" 1 "$name: check --repair refused"
	like "$ERR" "in use by another process" "$name: repair says in use"
	run "$P" resize -s 128M "$t"
	is "$RC" 1 "$name: resize refused"
	like "$ERR" "in use" "$name: resize says in use"
	if [ -d "$t" ]; then
		run "$P" snapshot "$t"
		is "$RC" 1 "$name: snapshot refused"
		like "$ERR" "in use" "$name: snapshot says in use"
	fi
	run "$P" read --length 4096 "$t"
	is "$RC" 1 "$name: read refused while QEMU writes"
	like "$ERR" "in use by another process" "$name: read says in use"
	run "$P" check "$t"
	like "$OUT$ERR" "open for writing elsewhere" "$name: plain check notes the writer"
	like "$OUT$ERR" "in-use flag set by the process writing it now" \
		"$name: and does not call its live in-use flag corruption"
	ok $((RC != 0 && RC != 3)) "$name: plain check finds no corruption beside the live writer ($RC)"
	is "$(md5sum < "$img")" "$before" "$name: image untouched by prld"
	drop_qemu
	run qemu-img check -f parallels "$img"
	is "$RC" 0 "$name: qemu-img check clean after qemu-io quits"
	is "$("$P" read --length 65536 "$t" | tr -d 'Z' | wc -c)" 0 \
		"$name: prld reads QEMU's bytes (0x5a) afterwards"
	run "$P" check "$t"
	is "$RC" 0 "$name: prldctl check clean afterwards"
}

"$P" create --image -s 64M "$WORK/bare.hds" >/dev/null
locked_by_qemu "bare image" "$WORK/bare.hds" "$WORK/bare.hds"
"$P" create -s 64M "$WORK/d" >/dev/null
locked_by_qemu "directory" "$WORK/d" "$WORK/d/root.hds"

# A read-only qemu-io (it does not share "write") keeps prld writers out
# but lets prld readers in.
hold_qemu "$WORK/bare.hds" -r
ok $? "qemu-io -r holds the image and has read"
run "$P" write "$WORK/bare.hds" < /dev/null
is "$RC" 1 "qemu-io -r: prldctl write refused"
like "$ERR" "in use by another process" "qemu-io -r: write says in use"
run "$P" read --length 4096 "$WORK/bare.hds"
is "$RC" 0 "qemu-io -r: prldctl read allowed beside a reader"
drop_qemu 2>/dev/null

# prld holds the image: a writer fed through a fifo stays open.
prld_holds() {	# prld_holds NAME TARGET IMAGE
	local name=$1 t=$2 img=$3
	rm -f "$WORK/pfifo"; mkfifo "$WORK/pfifo"
	"$P" write "$t" < "$WORK/pfifo" &
	PPID_W=$!
	exec 8>"$WORK/pfifo"
	head -c 1048577 /dev/urandom >&8	# a whole 1 MiB chunk: written now
	for _ in $(seq 100); do
		[ "$(le32 "$img" 44)" != 0 ] && break
		sleep 0.05
	done
	run qemu-io -f parallels -c "write 0 4k" "$img"
	like "$OUT$ERR" 'Failed to get "write" lock' "$name: qemu-io writer refused"
	run qemu-io -r -f parallels -c "read 0 4k" "$img"
	like "$OUT$ERR" 'Failed to get shared "write" lock' "$name: qemu-io reader refused"
	run qemu-img info "$img"
	ok $((RC == 0)) "$name: qemu-img info refused"
	run qemu-img check -f parallels "$img"
	ok $((RC == 0)) "$name: qemu-img check refused"
	run "$P" write "$t" < /dev/null
	like "$ERR" "in use by another process" "$name: a second prldctl write refused"
	exec 8>&-
	wait "$PPID_W"
	is $? 0 "$name: the writer finishes"
	run qemu-img check -f parallels "$img"
	is "$RC" 0 "$name: qemu-img check clean afterwards"
}
prld_holds "bare image" "$WORK/bare.hds" "$WORK/bare.hds"
prld_holds "directory" "$WORK/d" "$WORK/d/root.hds"

tap_done
