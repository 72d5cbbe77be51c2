#!/usr/bin/env python3
"""The dashboard-like query set of the TSDB benchmarks: answers compared, then timed.

For every query of QUERIES over every range of RANGES (ending at --end, same step on every
target), the range query is first sent once to every target and the answers are compared: same
series (label sets), same timestamps, every value equal within a relative 1e-6 (NaN equals NaN).
Then each query is timed: one warm-up per target, then --runs runs per target, alternating which
target goes first; the time is the median wall time from sending the request to having read the
whole answer, on a keep-alive connection. With a PID (NAME=URL@PID) the server's CPU time over
the timed runs is read from /proc and reported per run.

Prints `CHECK` and `QUERY` lines, then Markdown tables; exits 1 if an answer differed or a query
failed, after printing everything.

  tsdb_query.py --target pharos=http://127.0.0.1:P@PID --target prometheus=http://...@PID \
                --end UNIX_S [--runs 5] [--only NAME,...]

Other query sets use the same machinery through `run()` (tsdb_dashboard.py: the demo
dashboard's panel queries).
"""

import argparse
import http.client
import json
import math
import os
import statistics
import sys
import time
import urllib.parse

QUERIES = [
    ("rate", "rate(bench_requests_total[5m])"),
    ("sum-by-rate", "sum by (cluster, code) (rate(bench_requests_total[5m]))"),
    ("error-ratio", 'sum by (namespace) (rate(bench_requests_total{code="500"}[5m]))'
                    " / sum by (namespace) (rate(bench_requests_total[5m]))"),
    ("p99-histogram", "histogram_quantile(0.99, sum by (cluster, le) (rate(bench_latency_seconds_bucket[5m])))"),
    ("max-over-24h", "max_over_time(bench_memory_bytes[24h])"),
    ("avg-over-24h-by-ns", "sum by (namespace) (avg_over_time(bench_memory_bytes[24h]))"),
]
# name, range seconds, step seconds: about 240-290 points per series, as a dashboard panel asks.
RANGES = [("1h", 3600, 15), ("24h", 86400, 300), ("7d", 7 * 86400, 2100)]
TOLERANCE = 1e-6
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Target:
    def __init__(self, text):
        name, _, rest = text.partition("=")
        url, _, pid = rest.partition("@")
        if not name or not url:
            raise SystemExit(f"--target {text!r}: expected NAME=URL[@PID]")
        self.name = name
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.pid = int(pid) if pid else None
        self.connection = None

    def range_query(self, query, start, end, step):
        """(HTTP status, body bytes, seconds) of one range query; reconnects once if needed."""
        form = urllib.parse.urlencode({"query": query, "start": start, "end": end, "step": step})
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=600)
            try:
                started = time.monotonic()
                # A form POST, as Grafana and Perses send range queries.
                self.connection.request("POST", "/api/v1/query_range", body=form,
                                        headers={"Content-Type": "application/x-www-form-urlencoded"})
                response = self.connection.getresponse()
                body = response.read()
                return response.status, body, time.monotonic() - started
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get_json(self, path, params):
        """The decoded JSON answer to GET path?params (a list of pairs); raises unless HTTP 200."""
        url = f"{path}?{urllib.parse.urlencode(params)}"
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=600)
            try:
                self.connection.request("GET", url)
                response = self.connection.getresponse()
                body = response.read()
                break
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        if response.status != 200:
            raise RuntimeError(f"{self.name}: GET {url} answered {response.status}: {body[:300]!r}")
        return json.loads(body)

    def cpu_seconds(self):
        if not self.pid:
            return None
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def parse_matrix(status, body):
    """{label set: [(t, value)]} of a successful answer, or raise with the error text."""
    try:
        answer = json.loads(body)
    except ValueError as error:
        raise RuntimeError(f"HTTP {status}, not JSON: {body[:200]!r}") from error
    if status != 200 or answer.get("status") != "success":
        raise RuntimeError(f"HTTP {status}: {answer.get('errorType')}: {answer.get('error')}")
    if answer["data"]["resultType"] != "matrix":
        raise RuntimeError(f"resultType {answer['data']['resultType']}, expected matrix")
    return {
        tuple(sorted(series["metric"].items())): [(float(t), float(v)) for t, v in series["values"]]
        for series in answer["data"]["result"]
    }


def values_equal(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))


def compare(reference, other):
    """None when equal, else a short description of the first difference."""
    if reference.keys() != other.keys():
        missing = sorted(reference.keys() - other.keys())
        extra = sorted(other.keys() - reference.keys())
        return (f"series differ: {len(reference)} vs {len(other)}; missing e.g. {dict(missing[0]) if missing else '-'}, "
                f"extra e.g. {dict(extra[0]) if extra else '-'}")
    for labels, points in reference.items():
        theirs = other[labels]
        if [t for t, _ in points] != [t for t, _ in theirs]:
            return (f"timestamps differ for {dict(labels)}: {len(points)} vs {len(theirs)} points, "
                    f"first {points[:1]} vs {theirs[:1]}")
        for (t, a), (_, b) in zip(points, theirs):
            if not values_equal(a, b):
                return f"value differs for {dict(labels)} at {t}: {a!r} vs {b!r}"
    return None


def values_by_time(answer):
    """{t: sorted values of every series at t} of an answer."""
    by_time = {}
    for points in answer.values():
        for t, v in points:
            by_time.setdefault(t, []).append(v)
    return {t: sorted(vs, key=lambda v: (math.isnan(v), v)) for t, vs in by_time.items()}


def compare_ignoring_ties(reference, other):
    """For topk/bottomk/limitk: which of several series with equal values is kept is not
    defined by PromQL, so two correct servers may keep different ones. Equal when, at every
    step, both answers hold the same multiset of values; None when equal, else why not."""
    ours, theirs = values_by_time(reference), values_by_time(other)
    if ours.keys() != theirs.keys():
        return f"steps differ: {len(ours)} vs {len(theirs)}"
    for t, values in ours.items():
        if len(values) != len(theirs[t]) or not all(map(values_equal, values, theirs[t])):
            return f"values at {t} differ: {values} vs {theirs[t]}"
    return None


SELECTS_AMONG_TIES = ("topk", "bottomk", "limitk", "limit_ratio")


def check(targets, cases):
    """Compares every answer with the first target's; returns the cases that failed."""
    failed = set()
    for name, query, range_name, start, end, step in cases:
        answers, errors = {}, {}
        for target in targets:
            try:
                status, body, _ = target.range_query(query, start, end, step)
                answers[target.name] = parse_matrix(status, body)
            except RuntimeError as error:
                errors[target.name] = str(error)
        reference_name = targets[0].name
        line = f"CHECK query={name} range={range_name}"
        if errors:
            failed.add((name, range_name))
            print(f"{line} ERROR {errors}", flush=True)
            continue
        reference = answers[reference_name]
        points = sum(len(p) for p in reference.values())
        differences = {t.name: compare(reference, answers[t.name]) for t in targets[1:]}
        differences = {k: v for k, v in differences.items() if v}
        if differences and any(word in query for word in SELECTS_AMONG_TIES):
            ties = {k: compare_ignoring_ties(reference, answers[k]) for k in differences}
            if not any(ties.values()):
                print(f"{line} series={len(reference)} points={points} equal "
                      f"(other series kept among equal values: {differences})", flush=True)
                continue
        if differences:
            failed.add((name, range_name))
            print(f"{line} series={len(reference)} points={points} MISMATCH {differences}", flush=True)
        else:
            print(f"{line} series={len(reference)} points={points} equal", flush=True)
    return failed


def time_cases(targets, cases, runs):
    """{(query, range, target): (median s, min s, cpu s per run or None, answer bytes)}."""
    results = {}
    for name, query, range_name, start, end, step in cases:
        for target in targets:  # warm-up: caches, page cache, first-use allocations
            target.range_query(query, start, end, step)
        times = {t.name: [] for t in targets}
        cpu = {t.name: 0.0 for t in targets}
        sizes = {}
        for run in range(runs):
            order = targets if run % 2 == 0 else list(reversed(targets))
            for target in order:
                before = target.cpu_seconds()
                status, body, seconds = target.range_query(query, start, end, step)
                after = target.cpu_seconds()
                if status != 200:
                    raise RuntimeError(f"{target.name} answered {status} to {name}/{range_name}: {body[:300]!r}")
                times[target.name].append(seconds)
                sizes[target.name] = len(body)
                if before is not None:
                    cpu[target.name] += after - before
        for target in targets:
            samples = times[target.name]
            cpu_per_run = cpu[target.name] / runs if target.pid else None
            results[(name, range_name, target.name)] = (statistics.median(samples), min(samples), cpu_per_run,
                                                        sizes[target.name])
            line = (f"QUERY query={name} range={range_name} target={target.name} "
                    f"median_ms={1000 * statistics.median(samples):.1f} min_ms={1000 * min(samples):.1f} "
                    f"runs_ms={','.join(f'{1000 * s:.1f}' for s in samples)} answer_bytes={sizes[target.name]}")
            if cpu_per_run is not None:
                line += f" server_cpu_ms_per_run={1000 * cpu_per_run:.0f}"
            print(line, flush=True)
    return results


def tables(targets, cases, results, failed, set_goal=2.0):
    first, second = targets[0].name, targets[1].name
    print()
    print(f"| query | range | step | {first} ms | {second} ms | speed-up: {second} ms / {first} ms (goal ≥ 1) | "
          f"{first} CPU ms | {second} CPU ms | answers |")
    print("|---|---|---|---|---|---|---|---|---|")
    totals = {first: 0.0, second: 0.0}
    slower = 0
    for name, _, range_name, _, _, step in cases:
        a = results[(name, range_name, first)]
        b = results[(name, range_name, second)]
        totals[first] += a[0]
        totals[second] += b[0]
        ratio = b[0] / a[0]
        slower += ratio < 1
        cpu_a = f"{1000 * a[2]:.0f}" if a[2] is not None else "-"
        cpu_b = f"{1000 * b[2]:.0f}" if b[2] is not None else "-"
        verdict = "differ ❌" if (name, range_name) in failed else "equal"
        print(f"| {name} | {range_name} | {step}s | {1000 * a[0]:.1f} | {1000 * b[0]:.1f} | "
              f"{ratio:.2f} {'✅' if ratio >= 1 else '❌'} | {cpu_a} | {cpu_b} | {verdict} |")
    ratio = totals[second] / totals[first]
    goal = f" (goal ≥ {set_goal:g}: {'✅' if ratio >= set_goal else '❌'})" if set_goal else ""
    print()
    print(f"Whole set (sum of medians): {first} {1000 * totals[first]:.0f} ms, {second} {1000 * totals[second]:.0f} ms, "
          f"{second} / {first} = {ratio:.2f}{goal}; "
          f"{first} slower than {second} on {slower} of {len(cases)} queries (goal 0); "
          f"answers differ on {len(failed)} of {len(cases)}.")
    print(f"TOTAL {first}_ms={1000 * totals[first]:.0f} {second}_ms={1000 * totals[second]:.0f} ratio={ratio:.3f} "
          f"slower_queries={slower} differing_answers={len(failed)} cases={len(cases)}")


def run(targets, cases, runs, check_only=False, set_goal=2.0):
    """Checks every case (name, query, range name, start, end, step), then times them and
    prints the tables; returns the exit status (1 if an answer differed or a query failed)."""
    failed = check(targets, cases)
    if check_only:
        return 1 if failed else 0
    try:
        results = time_cases(targets, cases, runs)
    except RuntimeError as error:
        print(f"# timing failed: {error}", flush=True)
        return 1
    tables(targets, cases, results, failed, set_goal)
    return 1 if failed else 0


def parse_targets(texts):
    targets = [Target(t) for t in texts]
    if len(targets) != 2:
        raise SystemExit("give exactly two --target")
    return targets


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", action="append", required=True,
                        help="NAME=URL[@PID]; exactly two, the first one is the one whose speed-up is reported")
    parser.add_argument("--end", type=float, required=True, help="end of every range, unix seconds")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated query names (default: all)")
    parser.add_argument("--check-only", action="store_true")
    args = parser.parse_args()
    targets = parse_targets(args.target)
    wanted = set(filter(None, args.only.split(",")))
    cases = [(name, query, range_name, args.end - seconds, args.end, step)
             for range_name, seconds, step in RANGES
             for name, query in QUERIES if not wanted or name in wanted]
    print("# queries:")
    for name, query in QUERIES:
        if not wanted or name in wanted:
            print(f"#   {name}: {query}")
    print(f"# ranges ending at {args.end:.0f}: " + ", ".join(f"{r} step {s}s" for r, _, s in RANGES), flush=True)
    sys.exit(run(targets, cases, args.runs, args.check_only))


if __name__ == "__main__":
    main()
