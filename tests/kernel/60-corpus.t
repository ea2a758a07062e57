#!/bin/bash
# The kernel's own validation, bypassing prldctl's: every malformed image
# of the corpus is refused with the rule named in dmesg (the same text the
# shared validators give userspace), valid edge cases attach and read, and
# malformed ioctl arguments are refused.  No splat anywhere (the VM runner
# checks dmesg).
. "$(dirname "$0")/lib.sh"

"$CORPUS_GEN" "$S/c" > /dev/null
no_bound() { [ "$("$PRLDCTL" list | wc -l)" -eq 0 ]; }

while IFS=$'\t' read -r file status text; do
	img=$S/c/$file
	sum=$(sha256sum < "$img")
	dmesg_mark
	run "$RAWATTACH" --ro "$img"
	if [ "$status" = 1 ]; then	# no magic: no image at all
		ok $((RC == 0)) "$file: refused"
		case $(dmesg_new) in
		*"unknown magic"*|*"shorter than the 64-byte header"*) ok 0 "$file: kernel names the rule" ;;
		*) ok 1 "$file: kernel names the rule (magic or short header)" ;;
		esac
	elif [ "$status" = 2 ] && [ "$text" != "in-use flag set" ] &&
		[ "$text" != "cut short by the end of the file" ]; then
		ok $((RC == 0)) "$file: refused"
		like "$(dmesg_new)" "$text" "$file: kernel names the rule"
	elif [ "$text" = "cut short by the end of the file" ]; then
		# A torn last cluster: readable, its missing tail zeros.
		is "$RC" 0 "$file: read-only attach works (torn last cluster)"
		dev=$OUT
		DEVS+=("$dev")
		cmp -s <(dd if="$dev" bs=64k iflag=direct status=none) \
			<("$PRLDCTL" read "$img")
		ok $? "$file: reads as prldctl (and QEMU) read it"
		"$PRLDCTL" close "$dev"
		run "$RAWATTACH" "$img"
		like "$ERR" EINVAL "$file: read-write attach refused"
	else
		is "$RC" 0 "$file: read-only attach works"
		dev=$OUT
		DEVS+=("$dev")
		cat "$dev" > /dev/null
		ok $? "$file: whole device readable"
		"$PRLDCTL" close "$dev"
	fi
	is "$(sha256sum < "$img")" "$sum" "$file: image unchanged"
done < "$S/c/cases.txt"
no_bound
ok $? "nothing left bound after the corpus"

# Malformed PRLD_CONFIGURE arguments.
"$PRLDCTL" create --image -s 16M "$S/ok.hds"
bound() { "$PRLDCTL" list | wc -l; }
abuse() {	# EXPECTED-ERRNO NAME RAWATTACH-ARGS...
	local want=$1 name=$2 before; shift 2
	before=$(bound)
	run "$RAWATTACH" "$@"
	like "$ERR" "$want" "$name: $want"
	is "$(bound)" "$before" "$name: no device bound by it"
	[ "$RC" -ne 0 ] || "$PRLDCTL" close "$OUT"
}
abuse EINVAL "struct size too small" --size 40 "$S/ok.hds"
abuse EINVAL "struct size too large" --size 4096 "$S/ok.hds"
abuse EINVAL "unknown flag" --flags 0x100 "$S/ok.hds"
abuse EINVAL "non-zero padding" --pad 1 "$S/ok.hds"
abuse EINVAL "non-zero reserved field" --reserved 1 "$S/ok.hds"
abuse EINVAL "zero layers" --nr 0 "$S/ok.hds"
abuse EINVAL "too many layers" --nr 256 "$S/ok.hds"
abuse EBADF "more layers than fds given" --nr 2 "$S/ok.hds"
abuse EFAULT "fds pointer not mapped" --bad-ptr "$S/ok.hds"
abuse EBADF "closed descriptor" --bad-fd "$S/ok.hds"
abuse EINVAL "offset not sector aligned" --offset 1000 "$S/ok.hds"
abuse EINVAL "offset past the end" --offset $((16 << 20)) "$S/ok.hds"
abuse EINVAL "a directory as backing file" --ro "$S"
abuse EINVAL "the same file twice in a chain" --ro "$S/ok.hds" "$S/ok.hds"
dev=$(attach -r "$S/ok.hds")
abuse EINVAL "a prld device as its own backing file" --ro "$dev"
"$PRLDCTL" close "$dev"
abuse EBADF "top opened read-only for a read-write attach" --ro-fds "$S/ok.hds"
dev=$("$RAWATTACH" "$S/ok.hds")
DEVS+=("$dev")
run "$RAWATTACH" "$S/ok.hds"
like "$ERR" "EBUSY" "configuring a bound device's file again: EBUSY"
"$PRLDCTL" close "$dev"
no_bound
ok $? "nothing left bound"

tap_done
