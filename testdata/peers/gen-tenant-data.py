#!/usr/bin/env python3
"""Write the deterministic multi-tenant data set that scripts/peers.sh backfills into Prometheus.

The output is OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`. Every value is
a pure function of (namespace, pod, sample index), so tests can assert exact numbers:

* namespaces ``team-a``, ``team-b``, ``team-c`` (index n = 0, 1, 2), pods ``pod-0``, ``pod-1`` (p = 0, 1)
* one sample every ``--step`` seconds (15) from ``end - hours*3600`` to ``end`` inclusive
  (6 h -> 1441 samples per series); ``end`` defaults to 1767225600 = 2026-01-01T00:00:00Z
* ``pharos_test_requests_total{namespace,pod}`` counter: starts at 0 and grows by exactly
  (n+1)*(p+1) per second, so ``rate(...)`` is (n+1)*(p+1) and the value at ``end`` is
  (n+1)*(p+1)*hours*3600
* ``pharos_test_queue_depth{namespace,pod}`` gauge: 10*(n+1) + p + (k mod 4) at sample index k,
  so at ``end`` (k = 1440) it is 10*(n+1) + p

Usage: gen-tenant-data.py [--end EPOCH_S] [--hours H] [--step S] [--output FILE]
"""

import argparse
import sys

NAMESPACES = ("team-a", "team-b", "team-c")
PODS_PER_NAMESPACE = 2
FIXED_END = 1767225600  # 2026-01-01T00:00:00Z: fixed so query results never depend on the clock


def series():
    """Yield (namespace index, pod index, label text) for every series, in a stable order."""
    for ns_index, namespace in enumerate(NAMESPACES):
        for pod in range(PODS_PER_NAMESPACE):
            yield ns_index, pod, f'namespace="{namespace}",pod="pod-{pod}"'


def timestamps(end, hours, step):
    """Sample times in whole seconds, oldest first, ending exactly at `end`."""
    start = end - hours * 3600
    return range(start, end + 1, step)


def write_data_set(out, end, hours, step):
    times = timestamps(end, hours, step)
    start = times[0]

    out.write("# HELP pharos_test_requests Requests handled (synthetic, rate (ns+1)*(pod+1)/s).\n")
    out.write("# TYPE pharos_test_requests counter\n")
    for ns_index, pod, labels in series():
        per_second = (ns_index + 1) * (pod + 1)
        for t in times:
            out.write(f"pharos_test_requests_total{{{labels}}} {per_second * (t - start)} {t}\n")

    out.write("# HELP pharos_test_queue_depth Items waiting (synthetic, 10*(ns+1)+pod+(k mod 4)).\n")
    out.write("# TYPE pharos_test_queue_depth gauge\n")
    for ns_index, pod, labels in series():
        base = 10 * (ns_index + 1) + pod
        for k, t in enumerate(times):
            out.write(f"pharos_test_queue_depth{{{labels}}} {base + k % 4} {t}\n")

    # promtool rejects OpenMetrics input without the terminating EOF marker
    out.write("# EOF\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--end", type=int, default=FIXED_END, help="last sample time, epoch seconds")
    parser.add_argument("--hours", type=int, default=6, help="length of the data set in hours")
    parser.add_argument("--step", type=int, default=15, help="seconds between samples")
    parser.add_argument("--output", help="file to write (default: stdout)")
    args = parser.parse_args()
    if args.hours <= 0 or args.step <= 0:
        parser.error("--hours and --step must be positive")
    # OpenMetrics timestamps are seconds; a millisecond value would silently land in year 55970
    if args.end > 10**11:
        parser.error("--end looks like milliseconds; pass epoch seconds")

    if args.output:
        with open(args.output, "w", encoding="ascii") as out:
            write_data_set(out, args.end, args.hours, args.step)
    else:
        write_data_set(sys.stdout, args.end, args.hours, args.step)


if __name__ == "__main__":
    main()
