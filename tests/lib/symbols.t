#!/bin/bash
# libprld's interface as built: the shared library exports exactly the
# functions its public headers declare (versioned PRLD_1), the static
# archive the same, the soname is libprld.so.1, and the test hooks (the
# merge crash points a variable could trigger) are in neither, though
# they are in the test build.  $BUILD is the build directory.
. "$(dirname "$0")/../cli/tap.sh"
: "${BUILD:?BUILD must name the build directory}"
top=$(cd "$(dirname "$0")/../.." && pwd)
so=$BUILD/libprld.so.1.0.0

# Every function the public headers declare, one a line.
sed -n 's/^[A-Za-z].*[ *]\(\(prld\|Prl\)[A-Za-z0-9_]*\)(.*/\1/p' \
	"$top/userspace/lib/prld.h" "$top/userspace/lib/prld_sdk.h" |
	sort -u > "$WORK/declared"
sort -u "$BUILD/libprld.syms" > "$WORK/mapped"
nm -D --defined-only "$so" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' |
	sort -u > "$WORK/exported"
nm -g --defined-only "$BUILD/libprld.a" | awk '$2 == "T" { print $3 }' |
	sort -u > "$WORK/archived"

ok $([ "$(wc -l < "$WORK/declared")" -gt 50 ]; echo $?) \
	"the headers declare $(wc -l < "$WORK/declared") functions"
diff "$WORK/declared" "$WORK/mapped" > "$WORK/d1"
ok $? "the version script lists exactly the declared functions"
sed 's/^/#   /' "$WORK/d1"
diff "$WORK/declared" "$WORK/exported" > "$WORK/d2"
ok $? "libprld.so exports exactly them"
sed 's/^/#   /' "$WORK/d2"
diff "$WORK/declared" "$WORK/archived" > "$WORK/d3"
ok $? "libprld.a's global symbols are exactly them"
sed 's/^/#   /' "$WORK/d3"
n=$(nm -D --defined-only "$so" | awk '$2 == "T"' | grep -vEc '@@PRLD_1(\.1)?$')
is "$n" 0 "every export carries a version node, PRLD_1 or PRLD_1.1"
like "$(nm -D --defined-only "$so" | grep ' prld_compact@')" "@@PRLD_1.1" \
	"a function added after 0.1.0 is in the new node PRLD_1.1"
like "$(readelf -d "$so")" "Library soname: [libprld.so.1]" "soname libprld.so.1"
like "$(readelf -d "$so" | grep NEEDED | tr '\n' ' ')" "libxml2" \
	"it names its own dependencies (libxml2)"

for f in "$so" "$BUILD/libprld.a" "$BUILD/prldctl-shared"; do
	for hook in PRLD_TEST_MERGE_CRASH PRLD_TEST_MERGE_UP \
		PRLD_TEST_COMPACT_CRASH; do
		n=$(grep -c "$hook" "$f")
		is "$n" 0 "$(basename "$f") has no test hook $hook"
	done
done
n=$(grep -c PRLD_TEST_MERGE_CRASH "$BUILD/prldctl-test")
ok $([ "$n" -gt 0 ]; echo $?) "the test build has it (the check above can see it)"

# The headers stand alone, in C and C++.
for h in prld.h prld_sdk.h; do
	printf '#include "%s"\nint main(void) { return 0; }\n' "$h" > "$WORK/h.c"
	cc -std=c99 -Wall -Wextra -Werror -pedantic -I"$top/userspace/lib" \
		-I"$top/include" -fsyntax-only "$WORK/h.c" 2> "$WORK/h.err"
	ok $? "$h compiles alone as C99"
	sed 's/^/#   /' "$WORK/h.err" | head -5
	if command -v g++ > /dev/null; then
		g++ -Wall -Wextra -Werror -I"$top/userspace/lib" -I"$top/include" \
			-fsyntax-only -x c++ "$WORK/h.c" 2> "$WORK/h.err"
		ok $? "$h compiles as C++"
		sed 's/^/#   /' "$WORK/h.err" | head -5
	fi
done
tap_done
