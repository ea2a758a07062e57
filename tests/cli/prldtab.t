#!/bin/bash
# /etc/prldtab as prldctl attach-all reads it (prldtab(5)), without a
# kernel: --dry-run shows every line as understood (options, escapes,
# comments, defaults); every kind of bad line is named with its file and
# line while the good lines still count; exit status; a missing table.
# Then the real attach-all where the driver is absent: each disk fails
# with its own message and line, nofail lines do not fail the run; and
# detach-all with nothing attached.
. "$(dirname "$0")/tap.sh"

tab=$WORK/prldtab
cat > "$tab" <<'TAB'
# a comment, then a blank line

/srv/vm/a.hdd
	/srv/vm/b.hdd   defaults
/srv/vm/c.hdd	ro,direct-io=on,offset=1M,no-partscan
/srv/vm/My\040Disk.hdd  -   
/srv/vm/d.hds   rw,noauto,nofail,direct-io=off
   # an indented comment
TAB
run "$PRLDCTL" attach-all --dry-run --table "$tab"
is "$RC" 0 "a valid table: exit 0"
is "$ERR" "" "... nothing on stderr"
is "$OUT" "/srv/vm/a.hdd: would attach (rw,direct-io=auto,offset=0)
/srv/vm/b.hdd: would attach (rw,direct-io=auto,offset=0)
/srv/vm/c.hdd: would attach (ro,direct-io=on,offset=1048576,no-partscan)
/srv/vm/My Disk.hdd: would attach (rw,direct-io=auto,offset=0)
/srv/vm/d.hds: left alone (noauto) (rw,direct-io=off,offset=0,noauto,nofail)" \
	"every line read as prldtab(5) says (escapes, defaults, -, options)"

cat > "$tab" <<'TAB'
/srv/ok1.hdd
relative/disk.hdd
/srv/x.hdd ro,bogus
/srv/x.hdd ro extra
/srv/x.hdd offset=1000
/srv/x.hdd offset=lots
/srv/x.hdd direct-io=maybe
/srv/x.hdd ro,,rw
/srv/x.hdd ro=1
/srv/ok2.hdd ro
TAB
run "$PRLDCTL" attach-all --dry-run --table "$tab"
is "$RC" 1 "bad lines: exit 1"
is "$OUT" "/srv/ok1.hdd: would attach (rw,direct-io=auto,offset=0)
/srv/ok2.hdd: would attach (ro,direct-io=auto,offset=0)" \
	"... the good lines before and after them still count"
like "$ERR" "prldctl: $tab:2: the disk must be an absolute path 'relative/disk.hdd'" "a relative path"
like "$ERR" "prldctl: $tab:3: unknown option 'bogus'" "an unknown option"
like "$ERR" "prldctl: $tab:4: more than two fields" "a third field"
like "$ERR" "prldctl: $tab:5: offset: not a size in whole sectors '1000'" "an offset off the sector grid"
like "$ERR" "prldctl: $tab:6: offset: not a size in whole sectors 'lots'" "an offset that is no size"
like "$ERR" "prldctl: $tab:7: direct-io: not on, off or auto 'maybe'" "a bad direct-io"
like "$ERR" "prldctl: $tab:8: empty option in 'ro,,rw'" "an empty option"
like "$ERR" "prldctl: $tab:9: unknown option 'ro=1'" "a flag given a value"
like "$ERR" "attach-all: 8 of the lines of $tab failed" "the count of failed lines"

run "$PRLDCTL" attach-all --table "$WORK/none"
is "$RC" 1 "a missing table: exit 1"
like "$ERR" "$WORK/none: cannot read: No such file or directory" "... named"

# The driver is not loaded here: each disk fails on its own.
"$PRLDCTL" create -s 8M "$WORK/d1" > /dev/null
"$PRLDCTL" create -s 8M "$WORK/d2" > /dev/null
printf '%s\n%s nofail\n%s noauto\n' "$WORK/d1" "$WORK/d2" "$WORK/d3" > "$tab"
if [ -e /dev/prld-control ]; then
	echo "ok $((TAP_N += 1)) # skip the prld driver is loaded on this host"
else
	run "$PRLDCTL" attach-all --table "$tab"
	is "$RC" 1 "attach-all without the driver: exit 1"
	like "$ERR" "prldctl: $tab:1: /dev/prld-control: not found" "line 1's disk failed, named with its line"
	like "$ERR" "prldctl: $tab:2: /dev/prld-control: not found: is the prld module loaded? (modprobe prld) (nofail: ignored)" \
		"line 2 was tried all the same, and its nofail said"
	like "$ERR" "attach-all: 1 of the lines" "only the line without nofail counts"
	printf '%s nofail\n' "$WORK/d1" > "$tab"
	run "$PRLDCTL" attach-all --table "$tab"
	is "$RC" 0 "a table of nofail disks does not fail"
fi
run "$PRLDCTL" detach-all
is "$RC$OUT$ERR" "0" "detach-all with nothing attached: exit 0, silent"
run "$PRLDCTL" detach-all extra
is "$RC" 1 "detach-all takes no arguments"
tap_done
