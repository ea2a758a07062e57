#!/usr/bin/env python3
"""bench/ab_report.py RAW_DIR: the B/A table of one bench/ab.sh run."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import JOBS, fio_result, fmt  # noqa: E402


def main():
    raw = sys.argv[1]
    meta = json.load(open(os.path.join(raw, "meta.json")))
    res = {}
    for name in os.listdir(os.path.join(raw, "fio")):
        key, job = name[:-len(".json")].rsplit("--", 1)
        res[(key, job)] = fio_result(os.path.join(raw, "fio", name))
    print("A/B on %s, %s, %s s per job: A = %s, B = %s\n" % (
        meta["kernel"], meta["fs"], meta["runtime"], meta["a"], meta["b"]))
    print("| target | job | loop IOPS | A IOPS | B IOPS | B/A | A/loop | "
          "B/loop | A p99 us | B p99 us |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for target in ("prld", "fresh"):
        for job in JOBS:
            a = res.get(("A--" + target, job))
            b = res.get(("B--" + target, job))
            if not a or not b:
                continue
            loop = res.get(("loop", job), {}).get("iops")
            print("| %s | %s | %s | %s | %s | %.2f | %s | %s | %s | %s |" % (
                target, job, fmt(loop), fmt(a["iops"]), fmt(b["iops"]),
                b["iops"] / a["iops"] if a["iops"] else 0,
                fmt(a["iops"] / loop, 2) if loop else "-",
                fmt(b["iops"] / loop, 2) if loop else "-",
                fmt(a["clat_p99_us"]), fmt(b["clat_p99_us"])))


if __name__ == "__main__":
    main()
