#!/bin/bash
# Seeded malformed images (tests/kernel/mutants.c) through PRLD_CONFIGURE
# (tests/kernel/mutant_run.c): each is refused with exactly the errno the
# shared validators predict and left byte-identical, or attached, read
# (whole, or both ends of a large disk) with the content a plain reader of
# the mapping predicts, written when attached read-write, and detached.
# No splat (the VM runner checks the kernel log).
#
#   PRLD_MUTANT_SEED   seed (default 1: the same cases on every run)
#   PRLD_MUTANT_FIRST  first case (default 0)
#   PRLD_MUTANT_COUNT  number of cases (default 200)
#
# A failure names its seed and case; `mutants gen --seed S --first I
# --count 1 DIR` writes that case again, bit for bit.
. "$(dirname "$0")/lib.sh"
: "${MUTANTS:?}" "${MUTANT_RUN:?}"
seed=${PRLD_MUTANT_SEED:-1}
first=${PRLD_MUTANT_FIRST:-0}
count=${PRLD_MUTANT_COUNT:-200}
batch=500	# cases on disk at once (about 600 MiB)
rc=0 start=$SECONDS

echo "# seed $seed, cases $first..$((first + count - 1))"
for ((b = first; b < first + count; b += batch)); do
	n=$((first + count - b < batch ? first + count - b : batch))
	rm -rf "$S/m"
	"$MUTANTS" gen --seed "$seed" --first "$b" --count "$n" "$S/m" || { rc=2; break; }
	# A hang would otherwise end the whole suite without naming the case.
	timeout 900 "$MUTANT_RUN" --progress "$WORK/progress" "$seed" "$S/m" \
		> "$WORK/out" 2>&1
	r=$?
	sed 's/^/# /' "$WORK/out" | grep -v '^# mutant_run: ' | head -n 200
	grep '^mutant_run: ' "$WORK/out" | sed 's/^/# /'
	if [ $r -eq 124 ]; then
		echo "# HANG at $(cat "$WORK/progress")"
		rc=1; break
	fi
	[ $r -eq 0 ] || rc=1
done
rm -rf "$S/m"
echo "# $count cases in $((SECONDS - start)) s"

# The runner can fail: a wrong content hash for an attaching case and a
# wrong errno for a refused one must be two failures.
"$MUTANTS" gen --seed 3 --count 40 "$S/self"
awk -F'\t' -v OFS='\t' '
	$3 == "OK" && !h { $4 = "0123456789abcdef"; h = 1 }
	$3 == "EINVAL" && !e { $3 = "EFBIG"; e = 1 }
	{ print }' "$S/self/cases.tsv" > "$S/self/t" && mv "$S/self/t" "$S/self/cases.tsv"
"$MUTANT_RUN" 3 "$S/self" > "$WORK/self" 2>&1
selfrc=$?
is "$selfrc/$(grep -c '^FAIL case' "$WORK/self")" 1/2 \
	"selftest: a wrong prediction of content and of errno both fail"
rm -rf "$S/self"
is "$rc" 0 "every mutant refused as predicted, or attached, read and detached"
is "$("$PRLDCTL" list | wc -l)" 0 "nothing left bound"

tap_done
