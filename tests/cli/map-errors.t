#!/bin/bash
# prldctl map output forms, info --json, and argument errors.
. "$(dirname "$0")/tap.sh"

"$PRLDCTL" create -s 64M "$WORK/d"
for off in 0 5M 63M 63M; do
	printf 'data' | "$PRLDCTL" write --offset $off "$WORK/d"
done
printf 'x' | "$PRLDCTL" write --offset 1048575 "$WORK/d"
run "$PRLDCTL" map "$WORK/d"
is "$RC" 0 "map works"
like "$OUT" "clusters:     0,5,63" "text map lists clusters 0,5,63"
like "$OUT" "granularity:  1048576 bytes" "text map granularity"
j=$("$PRLDCTL" map --json "$WORK/d")
is "$(jq .granularity <<<"$j")" 1048576 "json granularity = cluster size"
is "$(jq .bits <<<"$j")" 64 "json bits = clusters"
is "$(jq .set <<<"$j")" 3 "json set count"
is "$(jq -r .bitmap <<<"$j")" 2100000000000080 "json bitmap hex, LSB first"
is "$("$PRLDCTL" map --raw "$WORK/d" | od -An -tx1 | tr -d ' \n')" \
	2100000000000080 "raw bitmap bytes"
run "$PRLDCTL" map --json --raw "$WORK/d"
ok $((RC == 0)) "--json with --raw refused"
run "$PRLDCTL" map --from "{11111111-1111-1111-1111-111111111111}" "$WORK/d"
ok $((RC == 0)) "map --from an unknown GUID fails"
like "$ERR" "11111111" "and names the GUID"

j=$("$PRLDCTL" info --json "$WORK/d")
is "$(jq .virtual_size <<<"$j")" 67108864 "info virtual_size"
is "$(jq .cluster_size <<<"$j")" 1048576 "info cluster_size"
is "$(jq .allocated_clusters <<<"$j")" 3 "info allocated clusters"
is "$(jq -r '.layers[0].guid' <<<"$j")" "{5fbaabe3-6958-40ff-92a7-860e329aab41}" "info layer GUID"
is "$(jq '.layers[0].top' <<<"$j")" true "info top layer"
is "$(jq -r '.geometry | "\(.cylinders)/\(.heads)/\(.sectors)"' <<<"$j")" 256/16/32 "info geometry"
run "$PRLDCTL" info "$WORK/d"
like "$OUT" "64 MiB" "text info shows the size"
run "$PRLDCTL" info "$WORK/d/DiskDescriptor.xml"
is "$RC" 0 "info accepts the descriptor path"
run "$PRLDCTL" info "$WORK/d/root.hds"
is "$RC" 0 "info accepts the bare image inside"

# Argument errors: non-zero exit, a message, a usage line.
run "$PRLDCTL"
is "$RC" 1 "no command: exit 1"
run "$PRLDCTL" frobnicate
like "$ERR" "unknown command 'frobnicate'" "unknown command named"
run "$PRLDCTL" info
like "$ERR" "usage: prldctl info" "missing argument shows usage"
run "$PRLDCTL" info --bogus "$WORK/d"
is "$RC" 1 "unknown option: exit 1"
run "$PRLDCTL" read --offset -5 "$WORK/d"
like "$ERR" "not a size" "negative offset refused"
run "$PRLDCTL" read --length 1X "$WORK/d"
like "$ERR" "not a size" "bad length refused"
run "$PRLDCTL" info "$WORK/nope"
is "$RC" 1 "missing disk: exit 1"
like "$ERR" "nope" "missing disk named"
printf 'hello world, not a disk at all, padding padding padding padding' > "$WORK/junk.hds"
run "$PRLDCTL" info "$WORK/junk.hds"
like "$ERR" "junk.hds" "non-image file named"
# Driver commands where no prld module is loaded (this host cannot load
# modules; the VM suite covers them with the module).
if [ ! -e /dev/prld-control ]; then
	run "$PRLDCTL" open "$WORK/d"
	is "$RC" 1 "open without the module fails"
	like "$ERR" "is the prld module loaded" "and says what is missing"
	run "$PRLDCTL" list
	is "$RC:$OUT" "0:" "list without the module: nothing, exit 0"
fi
run "$PRLDCTL" open --direct-io sometimes "$WORK/d"
like "$ERR" "--direct-io: 'sometimes'" "bad --direct-io value named"
run "$PRLDCTL" open --offset 1000 "$WORK/d"
like "$ERR" "not a multiple of 512" "unaligned --offset refused before anything is opened"
run "$PRLDCTL" open "$WORK/nope"
like "$ERR" "nope" "open of a missing disk names it"
run "$PRLDCTL" close /dev/null
like "$ERR" "not a prld device" "close of a non-prld device refused"
run "$PRLDCTL" close "$WORK/d"
is "$RC" 1 "close of a disk that is not attached fails"
run "$PRLDCTL" flush /dev/null
like "$ERR" "not a prld device" "flush of a non-prld device refused"
run "$PRLDCTL" flush
like "$ERR" "usage: prldctl flush" "flush without a device shows usage"
run "$PRLDCTL" info --json /dev/null
like "$ERR" "/dev/null" "info of a non-disk names it"

run "$PRLDCTL" --help
is "$RC" 0 "--help exit 0"
like "$OUT" "create" "--help lists commands"

tap_done
