#!/usr/bin/env python3
"""bench/ab_report.py RAW_DIR: the table of one bench/ab.sh run: per job,
each module build's median IOPS, its ratio to the first build (A) and to
loop, each a median over rounds of pairs run back to back."""
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import JOBS, fio_result, fmt  # noqa: E402


def med(vals):
    return statistics.median(vals) if vals else None


def main():
    raw = sys.argv[1]
    meta = json.load(open(os.path.join(raw, "meta.json")))
    labels = dict(kv.split("=", 1) for kv in meta["labels"].split())
    variants = sorted(labels)
    res = {}			# (key, job) -> {round: result}
    for name in os.listdir(os.path.join(raw, "fio")):
        m = re.fullmatch(r"(.+)--([\w-]+)--r(\d+)\.json", name)
        if m:
            res.setdefault((m.group(1), m.group(2)), {})[int(m.group(3))] = \
                fio_result(os.path.join(raw, "fio", name))
    print("Module builds compared on %s, %s, %s s per job, %s round(s): %s\n"
          % (meta["kernel"], meta["fs"], meta["runtime"], meta["rounds"],
             ", ".join("%s = %s" % (v, labels[v]) for v in variants)))
    head = ["target", "job", "loop IOPS"]
    for v in variants:
        head += ["%s IOPS" % v, "%s/loop" % v]
        if v != "A":
            head.append("%s/A" % v)
    print("| " + " | ".join(head) + " |")
    print("|---" * len(head) + "|")
    for target in ("prld", "fresh"):
        for job in JOBS:
            runs = {v: res.get(("%s--%s" % (v, target), job), {})
                    for v in variants}
            if not all(runs.values()):
                continue
            loop = res.get(("loop", job), {})

            def ratio(x, y):
                return med([x[k]["iops"] / y[k]["iops"] for k in x
                            if k in y and y[k]["iops"]])
            row = [target, job, fmt(med([r["iops"] for r in loop.values()]))]
            for v in variants:
                row += [fmt(med([r["iops"] for r in runs[v].values()])),
                        fmt(ratio(runs[v], loop), 2)]
                if v != "A":
                    row.append(fmt(ratio(runs[v], runs["A"]), 2))
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
