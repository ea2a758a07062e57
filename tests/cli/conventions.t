#!/bin/bash
# CLI conventions: every command's --help (exit 0, its usage on stdout),
# -V/--version, and for every command and option in the usage: the man
# page and the bash completion cover it.  Completion is driven as bash
# drives it (COMP_WORDS/COMP_CWORD) and must offer commands, options,
# the GUIDs of a disk's snapshots and /dev/prldN.  Sizes: resize +SIZE
# and fractions; errors name sizes in bytes and the offset the user gave;
# a random file is "not a Parallels image" for every command.
. "$(dirname "$0")/tap.sh"

P=$PRLDCTL
TOP=$(cd "$(dirname "$0")/../.." && pwd)
MAN=$TOP/userspace/prldctl.8
COMPL=$TOP/userspace/prldctl.bash-completion

cmds=$("$P" --help | awk '/^commands:/ { on = 1; next } on && NF { print $1 } !NF && on { exit }')
is "$(echo "$cmds" | wc -l)" 20 "--help lists 20 commands"
man_text=$(MANWIDTH=2000 man -l "$MAN" 2>/dev/null | col -b | tr -s ' \t' '  ')
for c in $cmds; do
	run "$P" "$c" --help
	is "$RC" 0 "$c --help exits 0"
	like "$OUT" "usage: prldctl $c " "$c --help prints its usage on stdout"
	like "$man_text" "prldctl $c" "man page has $c in its synopsis"
	opts=$(echo "$OUT" | grep -oE -- '(^|[][ |])--?[a-z][a-z-]*' |
	       sed 's/^[][ |]//' | sort -u)
	compl_opts=$(bash -c ". '$COMPL'; _prldctl_options $c")
	missing_man= missing_compl=
	for o in $opts; do
		case " $(echo $compl_opts) " in *" $o "*) ;; *) missing_compl+=" $o" ;; esac
		case "$man_text" in *"$o"*) ;; *) missing_man+=" $o" ;; esac
	done
	is "$missing_compl" "" "completion offers every option of $c"
	is "$missing_man" "" "man page names every option of $c"
done
run "$P" -V
like "$OUT" "prldctl " "-V prints the version"
run "$P" --version
is "$RC" 0 "--version exits 0"
run "$P" read --bogus x
is "$RC" 1 "an unknown option fails"
like "$ERR" "usage: prldctl read" "and shows the command's usage"

# Completion, as bash calls it.
compl() {	# compl CWORD WORD... : COMPREPLY, one line
	bash -c '. "$1"; shift; PATH=$(dirname "$PRLDCTL"):$PATH
		COMP_CWORD=$1; shift; COMP_WORDS=("$@"); _prldctl
		echo "${COMPREPLY[*]}"' _ "$COMPL" "$@"
}
export PRLDCTL
cd "$WORK" || exit 1
is "$(compl 1 prldctl sn)" "snapshot snapshots" "completion: commands"
is "$(compl 1 prldctl con)" "convert" "completion: convert"
like "$(compl 2 prldctl convert --s)" "--snapshot" "completion: options of the command"
"$P" create -s 8M d > /dev/null
echo a | "$P" write d
G1=$("$P" snapshot d)
G2=$("$P" snapshot d)
got=$(compl 3 prldctl read --snapshot "" d)
is "$(echo "$got" | tr ' ' '\n' | sort | tr '\n' ' ')" \
	"$(printf '%s\n' "$G1" "$G2" | sort | tr '\n' ' ')" \
	"completion: --snapshot offers the disk's snapshot GUIDs (not the top)"
is "$(compl 4 prldctl map d --from "")" "$(compl 4 prldctl map d --to "")" \
	"completion: --from and --to offer the same GUIDs"
like "$(compl 2 prldctl delete-snapshot "" d)" "$G1" \
	"completion: delete-snapshot's GUID"
is "$(compl 3 prldctl open --direct-io "")" "on off auto" "completion: --direct-io values"
if ls /dev/prld[0-9]* > /dev/null 2>&1; then
	like "$(compl 2 prldctl close /dev/prl)" "/dev/prld" "completion: /dev/prldN"
else
	# No driver here: a fake node in a private /dev is not possible, so
	# check the device glob on a directory of our own instead.
	like "$(bash -c ". '$COMPL'; declare -f _prldctl_devices")" "/dev/prld[0-9]*" \
		"completion: devices come from /dev/prld[0-9]*"
fi
cd - > /dev/null || exit 1

# Sizes.
"$P" create -s 1.5M "$WORK/r" > /dev/null
is "$("$P" info --json "$WORK/r" | jq .virtual_size)" 2097152 \
	"create -s 1.5M: 1.5 MiB rounded up to the 1 MiB cluster"
run "$P" resize -s +1.5G "$WORK/r"
is "$RC" 0 "resize -s +1.5G"
is "$("$P" info --json "$WORK/r" | jq .virtual_size)" $(( (2 << 20) + (3 << 29) )) \
	"resize -s +1.5G adds 1.5 GiB"
run "$P" resize -s 1M "$WORK/r"
like "$ERR" "cannot resize to 1048576 bytes (it has 1612709888 bytes)" \
	"shrinking is refused with both sizes in bytes"
run "$P" resize -s 1.1K "$WORK/r"
like "$ERR" "not a size" "a fraction that is not whole bytes is refused"
run bash -c "head -c 3M /dev/zero | '$P' write --offset 1612709888 '$WORK/r'"
like "$ERR" "--offset 1612709888" "write past the end names the user's offset"
like "$ERR" "1612709888 bytes (1.50 GiB)" "and the disk's size in bytes with units"
run "$P" read --offset 1G --length 1G "$WORK/r"
like "$ERR" "--length 1073741824 bytes (1 GiB) from --offset 1073741824" \
	"read past the end names the user's length and offset"

# A random file is not a Parallels image, whatever the command.
head -c 100000 /dev/urandom > "$WORK/random.bin"
sum=$(md5sum < "$WORK/random.bin")
for c in info read write check "check --repair" map resize open; do
	case $c in
	resize) run "$P" resize -s 1G "$WORK/random.bin" ;;
	open) run "$P" open -r "$WORK/random.bin" ;;
	write) run "$P" write "$WORK/random.bin" < /dev/null ;;
	*) run "$P" $c "$WORK/random.bin" ;;
	esac
	is "$RC" 1 "random file: $c fails with 1"
	like "$ERR" "not a Parallels image" "random file: $c says not a Parallels image"
	case "$OUT$ERR" in *corrupt*) ok 1 "random file: $c does not say corrupt" ;;
	*) ok 0 "random file: $c does not say corrupt" ;; esac
done
is "$(md5sum < "$WORK/random.bin")" "$sum" "random file: untouched by all of them"

tap_done
