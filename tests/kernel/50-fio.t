#!/bin/bash
# Concurrent random writes with verification: allocation races between
# jobs writing into the same new clusters must not lose or mix data.
. "$(dirname "$0")/lib.sh"

for cl in 64K 1M; do
	"$PRLDCTL" create -s 64M --cluster-size $cl "$S/fio$cl"
	dev=$(attach "$S/fio$cl")
	run fio --name=verify --filename="$dev" --direct=1 --ioengine=psync \
		--rw=randwrite --bsrange=4k-64k --size=8M \
		--numjobs=4 --offset_increment=8M --verify=crc32c \
		--verify_fatal=1 --do_verify=1 --group_reporting --randseed=$$ \
		--output-format=terse
	is "$RC" 0 "$cl clusters: 4 fio jobs, random writes, crc32c verify passes"
	# Overlapping jobs: all hit the same clusters at once.
	run fio --name=race --filename="$dev" --direct=1 --ioengine=psync \
		--rw=randwrite --bs=4k --size=8M --offset=40M --numjobs=4 \
		--group_reporting --output-format=terse
	is "$RC" 0 "$cl clusters: 4 jobs racing on the same new clusters"
	"$PRLDCTL" close "$dev"
	run "$PRLDCTL" check "$S/fio$cl"
	is "$RC" 0 "$cl clusters: image clean after the races (no duplicate entries)"
	run qemu-img check -f parallels "$S/fio$cl/root.hds"
	is "$RC" 0 "$cl clusters: qemu-img check exit 0"
done

tap_done
