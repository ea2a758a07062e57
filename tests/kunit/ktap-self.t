#!/bin/bash
# ktap-self.t: ktap.sh's verdicts on made-up KTAP in 6.1's layout (host
# side, no VM): a passing suite, a failed case, a skipped case, a
# missing suite, a failure that must happen and one that did not.
cd "$(dirname "$0")" || exit 1
pass=$'    KTAP version 1\n    # Subtest: prld_a\n    1..2
        KTAP version 1\n        # Subtest: c1\n        ok 1 - p1\n        ok 2 - p2
    # c1: pass:2 fail:0 skip:0 total:2\n    ok 1 - c1\n    ok 2 - c2
# prld_a: pass:2 fail:0 skip:0 total:2\n# Totals: pass:3 fail:0 skip:0 total:3
ok 1 - prld_a'
fail=$'    KTAP version 1\n    # Subtest: prld_b\n    1..2
    # c3: EXPECTATION FAILED at x.c:1\n    Expected 1 == 2, but
    not ok 1 - c3\n    ok 2 - c4
# prld_b: pass:1 fail:1 skip:0 total:2\n# Totals: pass:1 fail:1 skip:0 total:2
not ok 2 - prld_b'
skip=$'    KTAP version 1\n    # Subtest: prld_c\n    1..2
    ok 1 - c5 # SKIP no reason\n    ok 2 - c6
# Totals: pass:1 fail:0 skip:1 total:2\nok 3 - prld_c'
all="$pass"$'\n'"$fail"$'\n'"$skip"
n=0
check() { # WANT_RC DESCRIPTION SUITE...
	local want=$1 what=$2 out rc
	shift 2
	out=$(./ktap.sh "$@" <<<"$all"); rc=$?
	n=$((n + 1))
	if { [ "$want" = 0 ] && [ $rc = 0 ]; } || { [ "$want" != 0 ] && [ $rc != 0 ]; }; then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what (exit $rc)"; sed 's/^/# /' <<<"$out"
	fi
}
echo "1..7"
check 0 "a passing suite passes" prld_a
check 1 "a failed case fails" prld_a prld_b
check 1 "a skipped case fails" prld_c
check 1 "a missing suite fails" prld_a prld_missing
check 0 "a suite that must fail and does" prld_a '!prld_b'
check 1 "a suite that must fail but passes" '!prld_a'
out=$(./ktap.sh prld_a <<<"$pass")
n=$((n + 1))
if grep -q '^ok 1 - prld_a: 3 cases$' <<<"$out"; then
	echo "ok $n - cases counted with parameters (3)"
else
	echo "not ok $n - cases counted with parameters"; sed 's/^/# /' <<<"$out"
fi
