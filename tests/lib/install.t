#!/bin/bash
# make install and make uninstall (Debian's layout: PREFIX=/usr, a
# multiarch LIBDIR) into a scratch root: every file where it belongs with
# its mode, the library's links, a pkg-config file that names this
# install, the unit naming the installed tool (systemd-analyze verify
# accepts it, and refuses a broken copy), an /etc/prldtab that a second
# install keeps; the installed tool runs on the installed library; and
# uninstall leaves nothing but the administrator's /etc/prldtab.
. "$(dirname "$0")/../cli/tap.sh"
: "${STAGE_LIBDIR:?}"
top=$(cd "$(dirname "$0")/../.." && pwd)
root=$WORK/root
vars=(DESTDIR="$root" PREFIX=/usr LIBDIR="$STAGE_LIBDIR" UDEVDIR=/usr/lib/udev
      SYSTEMDUNITDIR=/usr/lib/systemd/system)
lib=$root$STAGE_LIBDIR

make -s -C "$top" install "${vars[@]}" > "$WORK/install.log" 2>&1
ok $? "make install"
want="0755 usr/bin/prldctl
0644 ${STAGE_LIBDIR#/}/libprld.so.1.0.0
0644 ${STAGE_LIBDIR#/}/libprld.a
0644 ${STAGE_LIBDIR#/}/pkgconfig/prld.pc
0644 usr/include/prld/prld.h
0644 usr/include/prld/prld_sdk.h
0644 usr/include/prld/prld_format.h
0644 usr/include/prld/prld_ioctl.h
0644 usr/share/man/man8/prldctl.8
0644 usr/share/man/man5/prldtab.5
0644 usr/lib/udev/rules.d/60-prld.rules
0755 usr/lib/udev/prld_id
0644 usr/lib/systemd/system/prld-attach.service
0644 etc/prldtab"
bad=0
while read -r mode f; do
	[ "$(stat -c %a "$root/$f" 2>/dev/null)" = "${mode#0}" ] ||
		{ bad=1; echo "#   $f: not there with mode $mode"; }
done <<< "$want"
ok $bad "all $(wc -l <<< "$want") files, each with its mode"
is "$(readlink "$lib/libprld.so.1")" libprld.so.1.0.0 "libprld.so.1 -> libprld.so.1.0.0"
is "$(readlink "$lib/libprld.so")" libprld.so.1 "libprld.so -> libprld.so.1 (for -lprld)"

pc=$lib/pkgconfig/prld.pc
grep -qx "libdir=$STAGE_LIBDIR" "$pc" && grep -qx 'Cflags: -I${includedir}/prld' "$pc"
ok $? "prld.pc names this LIBDIR and the include directory"
pkg-config --validate "$pc"
ok $? "pkg-config --validate prld.pc"

unit=$root/usr/lib/systemd/system/prld-attach.service
grep -qx "ExecStart=/usr/bin/prldctl attach-all" "$unit" &&
	grep -qx "ExecStop=/usr/bin/prldctl detach-all" "$unit"
ok $? "the unit runs the installed prldctl"
systemd-analyze verify --man=no --root="$root" prld-attach.service > "$WORK/v.out" 2>&1
ok $? "systemd-analyze verify accepts prld-attach.service"
sed 's/^/#   /' "$WORK/v.out"
sed 's|^ExecStart=.*|ExecStart=/usr/bin/no-such-tool|' "$unit" > "${unit%/*}/prld-broken.service"
systemd-analyze verify --man=no --root="$root" prld-broken.service > /dev/null 2>&1
ok $((! $?)) "... and refuses a copy whose command is missing"
rm "${unit%/*}/prld-broken.service"

LD_LIBRARY_PATH=$lib "$root/usr/bin/prldctl" create -s 8M "$WORK/d" > /dev/null &&
	printf 'installed' | LD_LIBRARY_PATH=$lib "$root/usr/bin/prldctl" write "$WORK/d" &&
	[ "$(LD_LIBRARY_PATH=$lib "$root/usr/bin/prldctl" read --length 9 "$WORK/d")" = installed ]
ok $? "the installed prldctl works on the installed libprld"
like "$(LD_LIBRARY_PATH=$lib ldd "$root/usr/bin/prldctl")" "libprld.so.1 => $lib/libprld.so.1" \
	"... linked to it, not to a copy of its own"

echo "# mine" >> "$root/etc/prldtab"
make -s -C "$top" install "${vars[@]}" > /dev/null 2>&1
like "$(cat "$root/etc/prldtab")" "# mine" "a second install keeps the administrator's /etc/prldtab"

make -s -C "$top" uninstall "${vars[@]}" > "$WORK/uninstall.log" 2>&1
ok $? "make uninstall"
left=$(cd "$root" && find . ! -type d | sort | tr '\n' ' ')
is "$left" "./etc/prldtab " "uninstall leaves only /etc/prldtab"
tap_done
