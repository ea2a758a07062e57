#!/bin/bash
# make demo: the main job end to end with the tool alone - create a disk,
# write into it, read it back, check it, and show that QEMU agrees.
set -euo pipefail
: "${PRLDCTL:?}"
dir=$(mktemp -d /tmp/prld-demo.XXXXXX)
trap 'rm -rf "$dir"' EXIT
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
step() { say "$*"; "$@"; }

step "$PRLDCTL" create -s 256M "$dir/disk"
step ls -l "$dir/disk"
say "echo 'hello from prld' | prldctl write --offset 1M $dir/disk"
echo 'hello from prld' | "$PRLDCTL" write --offset 1M "$dir/disk"
say "head -c 64M /dev/urandom | prldctl write --offset 100M $dir/disk"
head -c 64M /dev/urandom | tee "$dir/payload" | "$PRLDCTL" write --offset 100M "$dir/disk"
step "$PRLDCTL" read --offset 1M --length 16 "$dir/disk"
echo
say "prldctl read --offset 100M --length 64M $dir/disk | cmp - payload"
"$PRLDCTL" read --offset 100M --length 64M "$dir/disk" | cmp - "$dir/payload"
echo "identical"
step "$PRLDCTL" info "$dir/disk"
step "$PRLDCTL" map "$dir/disk"
step "$PRLDCTL" check "$dir/disk"
if command -v qemu-img > /dev/null; then
	step qemu-img check -f parallels "$dir/disk/root.hds"
fi
echo
echo "demo: OK (the kernel driver part of the demo comes with /dev/prldN)"
