#!/usr/bin/env python3
"""Measurements for the TSDB benchmarks (standard library only).

  blocks DIR [--from-ms A --to-ms B]   blocks under DIR (Prometheus or Pharos `meta.json`) that
                                       overlap [A, B]: count, series, samples, bytes on disk (and
                                       of those the `index` files)
  dirsize PATH...                      apparent bytes of each path (0 when missing)
  proc PID                             `rss_bytes=N cpu_s=X` of a process
  scalar URL QUERY TIME                value of an instant query (0 when the result is empty)
  wait-ready ...                       time from T0 until a health URL answers 200 and until a
                                       data query returns the expected value
  settle DIR...                        wait until the block directories under every DIR stop
                                       changing (compaction finished), --quiet seconds in a row
  row LABEL A B lower|higher|info      one Markdown row `| LABEL | A | B | B/A |` with a verdict
  summarize-ingest RECORDS             the table of tsdb-ingest.sh from tsdb_remote_write.py's output
  summarize-startup RECORDS            the table of tsdb-startup.sh from its STARTUP records
"""

import argparse
import json
import os
import statistics
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def tree_bytes(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass  # deleted while we walked (compaction)
    return total


def block_metas(directory):
    """(block dir, meta dict) for every meta.json below `directory`."""
    found = []
    for root, dirs, files in os.walk(directory):
        # Half-written blocks and the WAL are not blocks.
        dirs[:] = [d for d in dirs if not d.endswith((".tmp", ".tmp-for-creation", ".tmp-for-deletion"))
                   and d not in ("wal", "chunks_head")]
        if "meta.json" in files:
            try:
                with open(os.path.join(root, "meta.json")) as meta:
                    found.append((root, json.load(meta)))
            except (OSError, ValueError):
                pass
    return found


def meta_field(meta, *names):
    for name in names:
        if name in meta:
            return meta[name]
    return 0


def command_blocks(args):
    count = series = samples = size = index = 0
    for path, meta in block_metas(args.dir):
        min_time = meta_field(meta, "minTime", "min_time")
        max_time = meta_field(meta, "maxTime", "max_time")
        if args.from_ms is not None and max_time <= args.from_ms:
            continue
        if args.to_ms is not None and min_time > args.to_ms:
            continue
        stats = meta.get("stats", {})
        count += 1
        series += meta_field(stats, "numSeries", "num_series")
        samples += meta_field(stats, "numSamples", "num_samples")
        size += tree_bytes(path)
        index += tree_bytes(os.path.join(path, "index")) if os.path.exists(os.path.join(path, "index")) else 0
    per_sample = size / samples if samples else 0
    print(f"blocks={count} series={series} samples={samples} bytes={size} bytes_per_sample={per_sample:.3f} "
          f"index_bytes={index}")


def command_dirsize(args):
    print(" ".join(str(tree_bytes(p) if os.path.exists(p) else 0) for p in args.paths))


def command_proc(args):
    with open(f"/proc/{args.pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    rss = 0
    with open(f"/proc/{args.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    print(f"rss_bytes={rss} cpu_s={cpu:.2f}")


def instant(url, query, at):
    params = urllib.parse.urlencode({"query": query, "time": at})
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/api/v1/query?{params}", timeout=600) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{query}: HTTP {error.code}: {error.read()[:300]!r}") from error
    if answer.get("status") != "success":
        raise RuntimeError(f"{query}: {answer}")
    result = answer["data"]["result"]
    if answer["data"]["resultType"] == "scalar":
        return float(result[1])
    return float(result[0]["value"][1]) if result else 0.0


def command_scalar(args):
    value = instant(args.url, args.query, args.time)
    print(int(value) if value.is_integer() else value)


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            response.read()
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def command_wait_ready(args):
    """Polls every 10 ms; elapsed times are measured from --t0-ns (wall clock, `date +%s%N`)."""
    deadline = time.time() + args.timeout
    health_s = data_s = None
    last_error = ""
    while time.time() < deadline:
        if args.pid and not os.path.exists(f"/proc/{args.pid}"):
            print(f"wait-ready: process {args.pid} exited", file=sys.stderr)
            sys.exit(1)
        if health_s is None and http_ok(args.health):
            health_s = (time.time_ns() - args.t0_ns) / 1e9
        if health_s is not None:
            try:
                value = instant(args.url, args.query, args.time)
                if abs(value - args.expect) <= 1e-9 * max(1.0, abs(args.expect)):
                    data_s = (time.time_ns() - args.t0_ns) / 1e9
                    break
                last_error = f"{args.query} = {value}, expected {args.expect}"
            except (OSError, RuntimeError, urllib.error.URLError, ValueError) as error:
                last_error = str(error)
        time.sleep(0.01)
    if data_s is None:
        print(f"wait-ready: not ready within {args.timeout}s (health {health_s}); last: {last_error}", file=sys.stderr)
        sys.exit(1)
    print(f"health_s={health_s:.3f} data_s={data_s:.3f}")


def block_names(directories):
    names = set()
    for directory in directories:
        for path, _ in block_metas(directory):
            names.add(path)
    return names


def command_settle(args):
    deadline = time.time() + args.timeout
    last, stable_since = None, time.time()
    while time.time() < deadline:
        names = block_names(args.dirs)
        if names != last:
            last, stable_since = names, time.time()
        elif time.time() - stable_since >= args.quiet:
            print(f"blocks={len(names)} settled_after_s={time.time() - deadline + args.timeout:.0f}")
            return
        time.sleep(2)
    print(f"settle: blocks still changing after {args.timeout}s", file=sys.stderr)
    sys.exit(1)


def command_row(args):
    a, b = float(args.a), float(args.b)

    def show(value):
        if value == int(value) and abs(value) >= 100:
            return f"{int(value):,}"
        return f"{value:.3g}" if abs(value) < 10 else f"{value:,.1f}"

    ratio = b / a if a else float("inf")
    verdict = ""
    if args.better == "lower":
        verdict = " ✅" if b <= a else " ❌"
    elif args.better == "higher":
        verdict = " ✅" if b >= a else " ❌"
    print(f"| {args.label} | {show(a)} | {show(b)} | {ratio:.2f}{verdict} |")


def parse_records(path, kind):
    """The key=value fields of every line of `path` that starts with `kind`."""
    records = []
    with open(path) as lines:
        for line in lines:
            if line.startswith(kind + " "):
                records.append(dict(field.split("=", 1) for field in line.split()[1:] if "=" in field))
    return records


def command_summarize_ingest(args):
    """Medians over the measured rounds (the warm-up excluded) per target, then the ratio."""
    rounds = [r for r in parse_records(args.records, "ROUND") if r["round"] != "warmup"]
    seen = list(dict.fromkeys(r["target"] for r in rounds))
    targets = [t for t in (args.first, args.second) if t in seen] + [t for t in seen if t not in (args.first, args.second)]
    medians = {}
    print("| target | samples/s (median) | rounds | p50 ms | p99 ms | server CPU µs/sample | RSS MiB at end |")
    print("|---|---|---|---|---|---|---|")
    for target in targets:
        mine = [r for r in rounds if r["target"] == target]

        def median(key):
            values = [float(r[key]) for r in mine if key in r]
            return statistics.median(values) if values else float("nan")

        medians[target] = (median("samples_per_s"), median("server_cpu_us_per_sample"))
        each_round = " / ".join(f"{float(r['samples_per_s']):,.0f}" for r in mine)
        print(f"| {target} | {median('samples_per_s'):,.0f} | {each_round} | {median('p50_ms'):.1f} | "
              f"{median('p99_ms'):.1f} | {median('server_cpu_us_per_sample'):.2f} | {mine[-1].get('rss_mib', '-')} |")
    if args.first in medians and args.second in medians:
        first, second = medians[args.first], medians[args.second]
        ratio = first[0] / second[0]
        cpu_ratio = first[1] / second[1]
        print()
        print(f"{args.first} / {args.second} samples/s: {ratio:.2f} (goal ≥ 2: {'✅' if ratio >= 2 else '❌'}); "
              f"{args.first} spends {cpu_ratio:.2f}x the server CPU per sample of {args.second}.")
        print(f"RATIO samples_per_s={ratio:.3f} cpu_per_sample={cpu_ratio:.3f}")


def command_summarize_startup(args):
    """Medians per restart kind and server of tsdb-startup.sh's STARTUP records."""
    rows = parse_records(args.records, "STARTUP")

    def median(kind, target, key):
        return statistics.median(float(r[key]) for r in rows if r["kind"] == kind and r["target"] == target)

    print("| restart | until | Prometheus s | Pharos s | Pharos / Prometheus |")
    print("|---|---|---|---|---|")
    for kind, label in (("clean", "SIGTERM, 7 days in blocks"), ("kill-9", "SIGKILL, WAL replay")):
        for key, what in (("health_s", "health endpoint answers"), ("data_s", "first correct answer")):
            prometheus, pharos = median(kind, "prometheus", key), median(kind, "pharos", key)
            verdict = "✅" if pharos <= prometheus else "❌"
            print(f"| {label} | {what} | {prometheus:.2f} | {pharos:.2f} | {pharos / prometheus:.2f} {verdict} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    blocks = sub.add_parser("blocks")
    blocks.add_argument("dir")
    blocks.add_argument("--from-ms", type=int)
    blocks.add_argument("--to-ms", type=int)
    dirsize = sub.add_parser("dirsize")
    dirsize.add_argument("paths", nargs="+")
    proc = sub.add_parser("proc")
    proc.add_argument("pid", type=int)
    scalar = sub.add_parser("scalar")
    scalar.add_argument("url")
    scalar.add_argument("query")
    scalar.add_argument("time")
    ready = sub.add_parser("wait-ready")
    ready.add_argument("--t0-ns", type=int, required=True)
    ready.add_argument("--health", required=True, help="URL that answers 200 once the server is up")
    ready.add_argument("--url", required=True, help="server base URL for the data query")
    ready.add_argument("--query", required=True)
    ready.add_argument("--time", required=True)
    ready.add_argument("--expect", type=float, required=True)
    ready.add_argument("--timeout", type=float, default=600)
    ready.add_argument("--pid", type=int)
    settle = sub.add_parser("settle")
    settle.add_argument("dirs", nargs="+")
    settle.add_argument("--quiet", type=float, default=75)
    settle.add_argument("--timeout", type=float, default=900)
    row = sub.add_parser("row")
    row.add_argument("label")
    row.add_argument("a")
    row.add_argument("b")
    row.add_argument("better", choices=["lower", "higher", "info"])
    summary = sub.add_parser("summarize-ingest")
    summary.add_argument("records")
    summary.add_argument("--first", default="pharos")
    summary.add_argument("--second", default="prometheus")
    startup = sub.add_parser("summarize-startup")
    startup.add_argument("records")
    args = parser.parse_args()
    {"summarize-ingest": command_summarize_ingest, "summarize-startup": command_summarize_startup, "blocks": command_blocks, "dirsize": command_dirsize, "proc": command_proc, "scalar": command_scalar,
     "wait-ready": command_wait_ready, "settle": command_settle, "row": command_row}[args.command](args)


if __name__ == "__main__":
    main()
