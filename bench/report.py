#!/usr/bin/env python3
"""bench/report.py - tables and a chart from bench/guest.sh's raw results.

usage: report.py [--tag TAG] [--readme README.md] RAW_DIR OUT_DIR

RAW_DIR holds one directory per run (KERNEL--FS) as bench/run.sh copies
them out of the VM.  Writes OUT_DIR/latest.json (every number), latest.md
(the tables) and latest.png (gnuplot, when gnuplot is installed).  With
--readme, the part of README between the bench markers is replaced by
latest.md.  Every ratio compares results of the same VM run.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

TARGETS = ["loop", "prld", "fresh", "lfresh", "nbd", "chain"]
TARGET_LABEL = {"loop": "loop (dio, raw)", "prld": "prld allocated",
                "fresh": "prld fresh", "lfresh": "loop, new sparse file",
                "nbd": "qemu-nbd", "chain": "prld chain"}
RATIOS = ["prld/loop", "fresh/loop", "fresh/lfresh", "prld/nbd",
          "depth1/depth64"]
RATIO_LABEL = {"prld/loop": "prld/loop", "fresh/loop": "fresh/loop",
               "fresh/lfresh": "fresh/loop new", "prld/nbd": "prld/nbd",
               "depth1/depth64": "depth 1/64"}
JOBS = ["randread-4k-qd1", "randread-4k-qd32", "randwrite-4k-qd1",
        "randwrite-4k-qd32", "seqread-1m-qd8", "seqwrite-1m-qd8",
        "randwrite-4k-fsync"]
READ_JOBS = [j for j in JOBS if "read" in j]
WRITE_JOBS = [j for j in JOBS if "write" in j]
RANDOM_4K = ["randread-4k-qd1", "randread-4k-qd32", "randwrite-4k-qd1",
             "randwrite-4k-qd32"]
BEGIN = "<!-- bench:begin (bench/report.py rewrites this part) -->"
END = "<!-- bench:end -->"


def size_bytes(text):
    m = re.fullmatch(r"(\d+)([KMGT]?)", text)
    if not m:
        raise ValueError("bad size %r" % text)
    return int(m.group(1)) << (10 * " KMGT".index(m.group(2) or " "))


def read_text(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def fio_result(path):
    """IOPS, MiB/s and completion latency of a one-job fio JSON file."""
    with open(path) as f:
        text = f.read()
    # fio may print notes before the JSON document.
    job = json.loads(text[text.index("{"):])["jobs"][0]
    side = job["write"] if job["write"]["io_bytes"] > job["read"]["io_bytes"] \
        else job["read"]
    pct = side["clat_ns"].get("percentile", {})

    def us(key):
        return round(pct[key] / 1000, 1) if key in pct else None
    return {
        "iops": round(side["iops"], 1),
        "mib_s": round(side["bw_bytes"] / 2**20, 2),
        "lat_mean_us": round(side["lat_ns"]["mean"] / 1000, 1),
        "clat_p50_us": us("50.000000"),
        "clat_p99_us": us("99.000000"),
        "clat_p999_us": us("99.900000"),
        "ios": side["total_ios"],
    }


def meminfo(path):
    out = {}
    for line in open(path):
        key, val = line.split(":", 1)
        out[key] = int(val.split()[0])		# kB
    return out


def vmalloc_areas(path):
    """address range -> (bytes, caller) of /proc/vmallocinfo."""
    out = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 3:
            out[f[0]] = (int(f[1]), f[2])
    return out


def configure_ms(path):
    """The slowest ioctl in an strace -T log of `prldctl open`: the
    PRLD_CONFIGURE (the others are GET_FREE and terminal probes)."""
    try:
        lines = open(path).read().splitlines()
    except FileNotFoundError:
        return None
    times = [float(t.group(1)) for t in
             (re.search(r"ioctl\(.*<(\d+\.\d+)>$", l) for l in lines) if t]
    return round(max(times) * 1000, 1) if times else None


def memory(run_dir, meta, name):
    """Kernel memory and times of attaching image NAME (huge: sparse,
    dense: every cluster mapped), from bench/guest.sh's attach_cost."""
    def path(suffix):
        return os.path.join(run_dir, "%s-%s" % (name, suffix))
    if not os.path.exists(path("meminfo-before")) or name not in meta:
        return None
    a = meminfo(path("meminfo-after"))
    b = meminfo(path("meminfo-before"))
    va = vmalloc_areas(path("vmallocinfo-after"))
    vb = vmalloc_areas(path("vmallocinfo-before"))
    new = [va[k] for k in va if k not in vb]
    new_bytes = sum(size for size, _ in new)
    tib = size_bytes(meta[name]) / 2**40
    d_slab = a["Slab"] - b["Slab"]
    d_vmalloc = a["VmallocUsed"] - b["VmallocUsed"]
    info = json.loads(read_text(path("info.json")) or "{}")
    return {
        "image": meta[name],
        "clusters": info.get("clusters"),
        "allocated_clusters": info.get("allocated_clusters"),
        "cluster_bytes": info.get("cluster_size"),
        "attach_ms": int(read_text(path("attach-ms"))),
        "configure_ioctl_ms": configure_ms(path("attach.strace")),
        "tool_baseline_ms": int(read_text(
            os.path.join(run_dir, "tiny-attach-ms")) or 0),
        "detach_ms": int(read_text(path("detach-ms"))),
        "slab_delta_kib": d_slab,
        "vmalloc_used_delta_kib": d_vmalloc,
        "vmallocinfo_new_kib": new_bytes // 1024,
        "vmallocinfo_new_callers": sorted({c for _, c in new}),
        # A negative Slab delta is reclaim noise, not the attach: clamp it.
        "mib_per_tib": round((max(d_slab, 0) + d_vmalloc) / 1024 / tib, 2),
    }


def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def load_merge(run_dir):
    """The merge target: each job idle and during an online merge, back to
    back per round; the ratio is the median over rounds of live/idle p99."""
    fio_dir = os.path.join(run_dir, "fio")
    by_job = {}		# job -> round -> {"idle"|"live": result}
    for name in sorted(os.listdir(fio_dir)):
        m = re.fullmatch(r"merge_(idle|live)--([\w@-]+?)--r(\d+)\.json", name)
        if m:
            by_job.setdefault(m.group(2), {}).setdefault(
                int(m.group(3)), {})[m.group(1)] = fio_result(
                    os.path.join(fio_dir, name))
    out = {}
    for j, rounds in by_job.items():
        pairs = [(k, r["idle"], r["live"]) for k, r in sorted(rounds.items())
                 if "idle" in r and "live" in r]
        infos = [json.loads(read_text(os.path.join(
            run_dir, "merge--%s--r%d.json" % (j, k))) or "{}")
            for k, _, _ in pairs]
        ratios = [ratio(live["clat_p99_us"], idle["clat_p99_us"])
                  for _, idle, live in pairs]
        ratios = [x for x in ratios if x is not None]
        if not ratios:
            continue
        out[j] = {
            "rounds": len(pairs),
            "ratio_p99": round(statistics.median(ratios), 2),
            "rounds_ratio_p99": ratios,
            "idle_p99_us": statistics.median(i["clat_p99_us"]
                                             for _, i, _ in pairs),
            "live_p99_us": statistics.median(lv["clat_p99_us"]
                                             for _, _, lv in pairs),
            "idle_iops": statistics.median(i["iops"] for _, i, _ in pairs),
            "live_iops": statistics.median(lv["iops"] for _, _, lv in pairs),
            "merge_s": round(statistics.median(
                x.get("merge_ms", 0) for x in infos) / 1000, 1),
            "clusters": max((x.get("clusters") or 0) for x in infos),
            "outlasted": sum(1 for x in infos if x.get("outlasted")),
        }
    return out


def median_result(rounds):
    """Per-field median over the rounds of one target and job."""
    out = {}
    for key in rounds[0]:
        vals = [r[key] for r in rounds if r[key] is not None]
        out[key] = round(statistics.median(vals), 2) if vals else None
    out["rounds_iops"] = [r["iops"] for r in rounds]
    return out


def load_run(run_dir):
    meta = json.load(open(os.path.join(run_dir, "meta.json")))
    by_round = {}		# (target, job) -> {round: result}
    fio_dir = os.path.join(run_dir, "fio")
    for name in sorted(os.listdir(fio_dir)):
        m = re.fullmatch(r"(\w+)--([\w-]+?)(?:--r(\d+))?\.json", name)
        if m and m.group(1) in TARGETS and m.group(2) in JOBS:
            by_round.setdefault((m.group(1), m.group(2)), {})[
                int(m.group(3) or 1)] = fio_result(os.path.join(fio_dir, name))
    res = {}
    for (t, j), rounds in by_round.items():
        res.setdefault(t, {})[j] = median_result(
            [rounds[k] for k in sorted(rounds)])
    fresh_alloc = {}
    for j in WRITE_JOBS:
        for suffix in ("--r1.info.json", ".info.json"):
            txt = read_text(os.path.join(run_dir, "fresh--" + j + suffix))
            if txt:
                fresh_alloc[j] = json.loads(txt).get("allocated_clusters")
                break

    def ratio_of(a, b, j):
        """Median over rounds of a/b, each round's pair run side by side."""
        ra, rb = by_round.get((a, j), {}), by_round.get((b, j), {})
        vals = [ra[k]["iops"] / rb[k]["iops"] for k in ra
                if k in rb and rb[k]["iops"]]
        return round(statistics.median(vals), 3) if vals else None
    ratios = {
        "prld/loop": {j: ratio_of("prld", "loop", j) for j in JOBS},
        "fresh/loop": {j: ratio_of("fresh", "loop", j) for j in WRITE_JOBS},
        # Context: loop's own first writes into a new sparse file.
        "fresh/lfresh": {j: ratio_of("fresh", "lfresh", j)
                         for j in WRITE_JOBS},
        "prld/nbd": {j: ratio_of("prld", "nbd", j) for j in JOBS},
        # Cost of depth: how much slower depth 64 is than depth 1.
        "depth1/depth64": {j: ratio_of("prld", "chain", j) for j in READ_JOBS},
    }
    for k in ratios:
        ratios[k] = {j: v for j, v in ratios[k].items() if v is not None}
    chain_ms = read_text(os.path.join(run_dir, "chain-attach-ms"))
    return {
        "kernel": meta["kernel"], "fs": meta["fs"], "meta": meta,
        "loop_dio": read_text(os.path.join(run_dir, "loop-dio")),
        "chain_layers": read_text(os.path.join(run_dir, "chain-layers")),
        "chain_attach_ms": int(chain_ms) if chain_ms else None,
        "fresh_allocated_clusters": fresh_alloc,
        "results": res, "ratios": ratios,
        "memory": memory(run_dir, meta, "huge"),
        "memory_dense": memory(run_dir, meta, "dense"),
        "merge": load_merge(run_dir),
    }


def check_targets(runs):
    """Each issue target: worst value over all runs, and whether it is met."""
    def worst(key, jobs, fn):
        vals = [r["ratios"][key][j] for r in runs for j in jobs
                if j in r["ratios"][key]]
        return fn(vals) if vals else None
    mems = [r["memory"] for r in runs if r["memory"]]
    all_mems = mems + [r["memory_dense"] for r in runs
                       if r.get("memory_dense")]
    rows = [
        ("prld/loop, allocated image, every job", ">= 0.95",
         worst("prld/loop", JOBS, min), lambda v: v >= 0.95),
        ("prld/loop, allocating writes (fresh image)", ">= 0.80",
         worst("fresh/loop", WRITE_JOBS, min), lambda v: v >= 0.80),
        ("prld/qemu-nbd, 4k random IOPS", ">= 3",
         worst("prld/nbd", RANDOM_4K, min), lambda v: v >= 3),
        ("chain depth 64 vs 1 (IOPS depth 1 / depth 64)", "<= 1.05",
         worst("depth1/depth64", READ_JOBS, max), lambda v: v <= 1.05),
        ("kernel memory per TiB attached (1 MiB clusters; sparse and "
         "fully mapped images)", "<= 4.5 MiB",
         max((m["mib_per_tib"] for m in all_mems), default=None),
         lambda v: v <= 4.5),
        ("attach of the sparse 16 TiB image: `prldctl open`", "< 1000 ms",
         max((m["attach_ms"] for m in mems), default=None),
         lambda v: v < 1000),
        ("attach of the sparse 16 TiB image: its PRLD_CONFIGURE ioctl",
         "< 1000 ms",
         max((m["configure_ioctl_ms"] for m in mems
              if m["configure_ioctl_ms"] is not None), default=None),
         lambda v: v < 1000),
        ("p99 latency during an online merge / without (same job, same "
         "run)", "reported",
         max((m["ratio_p99"] for r in runs for m in r["merge"].values()),
             default=None), None),
    ]
    return [{"target": name, "goal": goal, "worst": val,
             "met": None if val is None or ok is None else bool(ok(val))}
            for name, goal, val, ok in rows]


def fmt(v, nd=0):
    if v is None:
        return "-"
    return ("{:,.%df}" % nd).format(v)


def cell(job, r):
    """IOPS for 4k jobs, MiB/s for 1M ones."""
    if r is None:
        return "-"
    return fmt(r["mib_s"], 1) + " MiB/s" if "-1m-" in job else fmt(r["iops"])


def markdown(doc):
    out = []
    w = out.append
    m0 = doc["runs"][0]["meta"]
    w("Run %s (%s), fio %s, %s s per job after %s s ramp, %s round(s), "
      "guest: %s vCPU under QEMU TCG on a shared 2-core host, virtio "
      "scratch disk cache=none, its image on the host's %s." % (
          doc["tag"], doc["date"], m0["fio"], m0["runtime"], m0["ramp"],
          m0.get("rounds", 1), m0["cpus"],
          m0.get("scratch_host", "disk")))
    w("Absolute numbers are emulated-CPU numbers and drift with the host's "
      "load; loop, prld and qemu-nbd run each job back to back, and a ratio "
      "is the median over rounds of those side-by-side pairs.")
    w("")
    w("| target | goal | worst measured | met |")
    w("|---|---|---|---|")
    for t in doc["targets"]:
        w("| %s | %s | %s | %s |" % (
            t["target"], t["goal"], fmt(t["worst"], 2) if t["worst"] is not None
            and t["worst"] < 100 else fmt(t["worst"]),
            {True: "yes", False: "**no**", None: "-"}[t["met"]]))
    ctx = [v for r in doc["runs"] for v in r["ratios"]["fresh/lfresh"].values()]
    if ctx:
        w("")
        w("Allocating writes in context: loop itself, writing into a new "
          "sparse raw file of the fresh image's size (the filesystem's "
          "first-write cost, which any file-backed device pays), gets "
          "prld fresh / loop new file = %s to %s over the write jobs." % (
              fmt(min(ctx), 2), fmt(max(ctx), 2)))
    for r in doc["runs"]:
        m = r["meta"]
        w("")
        w("### %s, image files on %s" % (r["kernel"], r["fs"]))
        w("")
        w("IOPS (4k jobs) or MiB/s (1M jobs); images of %s, fresh images of "
          "%s, chain of %s layers; loop dio=%s." % (
              m["size"], m["fresh_size"], r["chain_layers"] or "-",
              r["loop_dio"] or "-"))
        w("")
        w("| job | " + " | ".join(TARGET_LABEL[t] for t in TARGETS) +
          " | " + " | ".join(RATIO_LABEL[k] for k in RATIOS) + " |")
        w("|---" * (len(TARGETS) + len(RATIOS) + 1) + "|")
        for j in JOBS:
            row = [cell(j, r["results"].get(t, {}).get(j)) for t in TARGETS]
            row += [fmt(r["ratios"][k].get(j), 2) for k in RATIOS]
            w("| %s | %s |" % (j, " | ".join(row)))
        w("")
        w("Completion latency p50 / p99 / p99.9, microseconds:")
        w("")
        w("| job | " + " | ".join(TARGET_LABEL[t] for t in TARGETS) + " |")
        w("|---" * (len(TARGETS) + 1) + "|")
        for j in JOBS:
            row = []
            for t in TARGETS:
                x = r["results"].get(t, {}).get(j)
                row.append("-" if x is None else "%s / %s / %s" % (
                    fmt(x["clat_p50_us"]), fmt(x["clat_p99_us"]),
                    fmt(x["clat_p999_us"])))
            w("| %s | %s |" % (j, " | ".join(row)))
        if r["fresh_allocated_clusters"]:
            w("")
            w("Fresh images, first round: clusters allocated over the whole "
              "job (ramp included) / writes fio counted after the ramp: " +
              ", ".join("%s %s / %s" % (
                  j, fmt(n), fmt(r["results"].get("fresh", {}).get(j, {})
                                 .get("ios"))) for j, n in
                  r["fresh_allocated_clusters"].items()) +
              ": nearly every write allocates.")
        mem = r["memory"]
        if mem:
            w("")
            w("Sparse %s image (%s clusters of %s bytes): `prldctl open` "
              "%d ms (its PRLD_CONFIGURE ioctl, timed in a second attach under "
              "strace: %s ms; `prldctl open` of a 16 MiB image: %d ms), "
              "detach %d ms; Slab %+d KiB, VmallocUsed %+d KiB (new "
              "vmalloc areas: %s KiB): **%.2f MiB per TiB**." % (
                  mem["image"], fmt(mem["clusters"]), fmt(mem["cluster_bytes"]),
                  mem["attach_ms"], fmt(mem["configure_ioctl_ms"], 1),
                  mem["tool_baseline_ms"],
                  mem["detach_ms"], mem["slab_delta_kib"],
                  mem["vmalloc_used_delta_kib"],
                  fmt(mem["vmallocinfo_new_kib"]), mem["mib_per_tib"]))
        mem = r.get("memory_dense")
        if mem:
            w("Fully mapped %s image (%s of %s clusters mapped): `prldctl "
              "open` %d ms (PRLD_CONFIGURE %s ms), detach %d ms; Slab %+d "
              "KiB, VmallocUsed %+d KiB: **%.2f MiB per TiB**." % (
                  mem["image"], fmt(mem["allocated_clusters"]),
                  fmt(mem["clusters"]), mem["attach_ms"],
                  fmt(mem["configure_ioctl_ms"], 1), mem["detach_ms"],
                  mem["slab_delta_kib"], mem["vmalloc_used_delta_kib"],
                  mem["mib_per_tib"]))
        if r["chain_attach_ms"] is not None:
            w("Attach of the %s-layer chain: %d ms." % (
                r["chain_layers"], r["chain_attach_ms"]))
        if r["merge"]:
            w("")
            w("Latency during an online merge: a snapshot holding %s of "
              "data, whose first %s the top has rewritten, is merged into "
              "the top (`prldctl delete-snapshot` on the device: the "
              "clusters the top lacks are copied) while the job runs, and "
              "the same job runs idle right before on the same chain; read "
              "jobs read the whole disk, write jobs write the rewritten "
              "part; JOB@PACE: `delete-snapshot --pace PACE` (copying that "
              "percentage of the time); medians over rounds:" % (
                  m.get("merge_size", "-"), m.get("merge_hot", "-")))
            w("")
            w("| job | p99 idle (us) | p99 during the merge (us) | "
              "**p99 ratio** | IOPS idle / during | merge (s, clusters) | "
              "merge outlasted the job |")
            w("|---|---|---|---|---|---|---|")
            for j, x in sorted(r["merge"].items()):
                w("| %s | %s | %s | **%s** (rounds: %s) | %s / %s | %s, %s "
                  "| %d of %d |" % (
                      j, fmt(x["idle_p99_us"]), fmt(x["live_p99_us"]),
                      fmt(x["ratio_p99"], 2),
                      " ".join(fmt(v, 2) for v in x["rounds_ratio_p99"]),
                      fmt(x["idle_iops"]), fmt(x["live_iops"]),
                      fmt(x["merge_s"], 1), fmt(x["clusters"]),
                      x["outlasted"], x["rounds"]))
    w("")
    return "\n".join(out)


def chart(doc, png):
    """IOPS of each target relative to loop, per job, one panel per run."""
    if not shutil.which("gnuplot"):
        print("report: no gnuplot, no chart", file=sys.stderr)
        return False
    runs = doc["runs"]
    with tempfile.TemporaryDirectory() as tmp:
        script = ["set terminal pngcairo size 1100,%d font ',9'" % (360 * len(runs)),
                  "set output '%s'" % png,
                  "set style data histogram",
                  "set style histogram clustered gap 1",
                  "set style fill solid 0.85 border -1",
                  "set boxwidth 0.9", "set grid ytics",
                  "set ylabel 'IOPS / loop IOPS'", "set yrange [0:*]",
                  "set offsets 0, 0, 0.1, 0",
                  "set xrange [-0.6:%g]" % (len(JOBS) - 0.4),
                  "set xtics rotate by -20 noenhanced",
                  "set key outside right noenhanced",
                  "set multiplot layout %d,1" % len(runs)]
        for i, r in enumerate(runs):
            dat = os.path.join(tmp, "run%d.dat" % i)
            with open(dat, "w") as f:
                for j in JOBS:
                    base = r["results"].get("loop", {}).get(j, {}).get("iops")
                    vals = []
                    for t in TARGETS:
                        v = r["results"].get(t, {}).get(j, {}).get("iops")
                        vals.append("%.3f" % (v / base) if v is not None and base
                                    else "NaN")
                    f.write(j + " " + " ".join(vals) + "\n")
            script.append("set title '%s, %s (%s)' noenhanced" % (
                r["kernel"], r["fs"], doc["tag"]))
            plots = ["'%s' using %d:xtic(1) title '%s'" % (
                dat, k + 2, TARGET_LABEL[t]) for k, t in enumerate(TARGETS)]
            script.append("plot " + ", ".join(plots) +
                          ", 1 with lines lc rgb 'black' dt 2 notitle")
        script.append("unset multiplot")
        gp = os.path.join(tmp, "chart.gp")
        with open(gp, "w") as f:
            f.write("\n".join(script) + "\n")
        subprocess.run(["gnuplot", gp], check=True)
    return True


def update_readme(path, md):
    text = open(path).read()
    if BEGIN not in text or END not in text:
        print("report: %s has no bench markers; left alone" % path,
              file=sys.stderr)
        return
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w") as f:
        f.write(head + BEGIN + "\n" + md + END + tail)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tag", default="unknown")
    ap.add_argument("--readme")
    ap.add_argument("raw")
    ap.add_argument("out")
    a = ap.parse_args()
    runs = [load_run(os.path.join(a.raw, d)) for d in sorted(os.listdir(a.raw))
            if os.path.exists(os.path.join(a.raw, d, "meta.json"))]
    if not runs:
        sys.exit("report: no runs in %s" % a.raw)
    doc = {"tag": a.tag,
           "date": datetime.datetime.now(datetime.timezone.utc)
           .strftime("%Y-%m-%d %H:%M UTC"),
           "runs": runs}
    doc["targets"] = check_targets(runs)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "latest.json"), "w") as f:
        json.dump(doc, f, indent=1)
    md = markdown(doc)
    with open(os.path.join(a.out, "latest.md"), "w") as f:
        f.write(md)
    if chart(doc, os.path.join(a.out, "latest.png")):
        md += "\n![IOPS relative to loop](bench/results/latest.png)\n"
    if a.readme:
        update_readme(a.readme, md)
    print(md)


if __name__ == "__main__":
    main()
