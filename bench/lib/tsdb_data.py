#!/usr/bin/env python3
"""Deterministic synthetic metrics for the TSDB benchmarks (standard library only).

The same generator feeds both stores: as an OpenMetrics file (for `promtool tsdb
create-blocks-from openmetrics` and `pharos tsdb import`) and, through tsdb_remote_write.py, as
remote-write requests in time order. Every value comes from a per-group random generator seeded
by the group's labels, so a series has the same values whichever way it is produced.

The values imitate what real exporters send rather than straight lines, because compression
(and so bytes per sample) depends on it: integer counters with noisy increments, CPU-seconds
counters with two decimals (poorly compressible floats, like process_cpu_seconds_total), memory
gauges moving in 4 KiB pages, small queue depths, constant `up`, and classic latency histograms.

Per pod, up to 20 series in 6 families:
  bench_requests_total{cluster,namespace,pod,method,code}   4 counters (GET/POST x 200/500)
  bench_cpu_seconds_total{cluster,namespace,pod}            1 counter, two decimals
  bench_memory_bytes{cluster,namespace,pod}                 1 gauge
  bench_queue_depth{cluster,namespace,pod}                  1 gauge, small integers
  bench_up{cluster,namespace,pod}                           1 gauge, always 1
  bench_latency_seconds_{bucket{le},sum,count}{cluster,namespace,pod}  12 (10 buckets)
Pod p is in cluster c{p % 3} and namespace ns-{(p // 3) % 10}.

Profiles (how many pods carry each family):
  footprint  500 pods x all 20 series = 10,000 series (the "10k active series" of issue 3)
  query      requests on 250 pods (1,000 series), memory on 250, latency on 20 (240): 1,490

Usage:
  tsdb_data.py openmetrics --profile P --start UNIX_S --steps N [--step S] > data.om
  tsdb_data.py describe --profile P          (series count)
  tsdb_data.py count-query --profile P --window S   (PromQL: samples of P in the last S seconds)
"""

import argparse
import random
import sys
import zlib

CLUSTERS = 3
NAMESPACES = 10
LATENCY_BOUNDS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "+Inf"]
# Share of observations falling into each bucket (not cumulative); sums to 1.
LATENCY_SHARES = [0.05, 0.10, 0.20, 0.25, 0.20, 0.10, 0.05, 0.03, 0.015, 0.005]
# A representative observed value per bucket, for `_sum`.
LATENCY_MIDPOINTS = [0.003, 0.0075, 0.0175, 0.0375, 0.075, 0.175, 0.375, 0.75, 1.75, 4.0]

FAMILY_ORDER = ["requests", "cpu", "memory", "queue", "up", "latency"]
FAMILY_TYPES = {
    "requests": ("bench_requests", "counter"),
    "cpu": ("bench_cpu_seconds", "counter"),
    "memory": ("bench_memory_bytes", "gauge"),
    "queue": ("bench_queue_depth", "gauge"),
    "up": ("bench_up", "gauge"),
    "latency": ("bench_latency_seconds", "histogram"),
}
PROFILES = {
    "footprint": {family: 500 for family in FAMILY_ORDER},
    "query": {"requests": 250, "memory": 250, "latency": 20},
}


def pod_labels(pod):
    return {"cluster": f"c{pod % CLUSTERS}", "namespace": f"ns-{(pod // CLUSTERS) % NAMESPACES}", "pod": f"pod-{pod}"}


def sorted_labels(name, labels):
    """The label set as a tuple sorted by label name, `__name__` included (remote-write order)."""
    return tuple(sorted([("__name__", name)] + list(labels.items())))


class Group:
    """The series of one family on one pod, advanced one scrape step at a time.

    `series` lists (metric name, labels dict); `advance(step_s)` returns one value per series.
    """

    def __init__(self, family, pod):
        self.family = family
        self.pod = pod
        base = pod_labels(pod)
        if family == "requests":
            self.series = [
                ("bench_requests_total", {**base, "method": method, "code": code})
                for method in ("GET", "POST")
                for code in ("200", "500")
            ]
        elif family == "latency":
            self.series = [("bench_latency_seconds_bucket", {**base, "le": le}) for le in LATENCY_BOUNDS]
            self.series += [("bench_latency_seconds_sum", dict(base)), ("bench_latency_seconds_count", dict(base))]
        else:
            name = {"cpu": "bench_cpu_seconds_total", "memory": "bench_memory_bytes",
                    "queue": "bench_queue_depth", "up": "bench_up"}[family]
            self.series = [(name, dict(base))]
        self.random = random.Random(zlib.crc32(f"{family}/{pod}".encode()))
        rnd = self.random
        if family == "requests":
            ok_rate = rnd.uniform(0.5, 40.0)
            # GET/200, GET/500, POST/200, POST/500 requests per second
            self.rates = [ok_rate, ok_rate * rnd.uniform(0.001, 0.03), ok_rate * 0.3, ok_rate * 0.3 * rnd.uniform(0.001, 0.05)]
            self.values = [0.0] * 4
        elif family == "cpu":
            self.cores = rnd.uniform(0.02, 1.5)
            self.value = round(rnd.uniform(0, 5000), 2)
        elif family == "memory":
            self.value = float(4096 * rnd.randint(25_000, 500_000))
        elif family == "queue":
            self.value = float(rnd.randint(0, 20))
        elif family == "latency":
            self.rate = rnd.uniform(1.0, 30.0)
            self.buckets = [0] * len(LATENCY_BOUNDS)
            self.sum = 0.0

    def advance(self, step_s):
        rnd = self.random
        family = self.family
        if family == "requests":
            out = self.values
            for i, rate in enumerate(self.rates):
                out[i] += float(int(rate * step_s * rnd.uniform(0.7, 1.3)))
            return list(out)
        if family == "cpu":
            self.value = round(self.value + self.cores * step_s * rnd.uniform(0.8, 1.2), 2)
            return [self.value]
        if family == "memory":
            value = self.value + 4096 * rnd.randint(-40, 48)
            # An occasional restart drops memory back down, as real pods do.
            if value > 4e9 or rnd.random() < 0.0005:
                value = float(4096 * rnd.randint(25_000, 100_000))
            self.value = value
            return [value]
        if family == "queue":
            self.value = float(max(0, int(self.value) + rnd.randint(-2, 2)))
            return [self.value]
        if family == "up":
            return [1.0]
        # latency: new observations spread over the buckets, cumulative per `le`
        observations = int(self.rate * step_s * rnd.uniform(0.7, 1.3))
        cumulative = 0
        step_sum = 0.0
        out = []
        for i, share in enumerate(LATENCY_SHARES):
            count = int(observations * share * rnd.uniform(0.6, 1.4))
            step_sum += count * LATENCY_MIDPOINTS[i]
            self.buckets[i] += count
            cumulative += self.buckets[i]
            out.append(float(cumulative))
        self.sum = round(self.sum + step_sum * rnd.uniform(0.9, 1.1), 6)
        out.append(self.sum)
        out.append(out[len(LATENCY_BOUNDS) - 1])  # _count equals the +Inf bucket
        return out


def groups(profile):
    """Every group of a profile, in OpenMetrics family order."""
    pods = PROFILES[profile]
    return [Group(family, pod) for family in FAMILY_ORDER for pod in range(pods.get(family, 0))]


def series_count(profile):
    return sum(len(group.series) for group in groups(profile))


def metric_names(profile):
    names = []
    for group in groups(profile):
        for name, _ in group.series:
            if name not in names:
                names.append(name)
    return names


def count_query(profile, window_s):
    """PromQL counting every sample of a profile in the last `window_s` seconds.

    One sum per metric name: `count_over_time` drops the name, and Prometheus 2 refuses the
    resulting duplicate label sets even inside an aggregation.
    """
    return " + ".join(f"sum(count_over_time({name}[{window_s}s]))" for name in metric_names(profile))


def label_text(labels):
    return "{" + ",".join(f'{key}="{value}"' for key, value in labels.items()) + "}"


def write_openmetrics(out, profile, start_s, steps, step_s):
    """One family after another, each series in ascending time, then `# EOF`."""
    times = [str(start_s + step_s * i) for i in range(steps)]
    current_family = None
    for group in groups(profile):
        if group.family != current_family:
            current_family = group.family
            family_name, family_type = FAMILY_TYPES[current_family]
            out.write(f"# TYPE {family_name} {family_type}\n")
        columns = [[] for _ in group.series]
        for _ in range(steps):
            for column, value in zip(columns, group.advance(step_s)):
                column.append(value)
        for (name, labels), column in zip(group.series, columns):
            prefix = name + label_text(labels) + " "
            out.write("".join(f"{prefix}{value!r} {t}\n" for value, t in zip(column, times)))
    out.write("# EOF\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    om = sub.add_parser("openmetrics", help="write a profile as OpenMetrics text to stdout")
    om.add_argument("--profile", choices=sorted(PROFILES), required=True)
    om.add_argument("--start", type=int, required=True, help="first timestamp, unix seconds")
    om.add_argument("--steps", type=int, required=True, help="samples per series")
    om.add_argument("--step", type=int, default=15, help="seconds between samples")
    describe = sub.add_parser("describe", help="print the series count of a profile")
    describe.add_argument("--profile", choices=sorted(PROFILES), required=True)
    counting = sub.add_parser("count-query", help="print PromQL counting a profile's samples in a window")
    counting.add_argument("--profile", choices=sorted(PROFILES), required=True)
    counting.add_argument("--window", type=int, required=True, help="seconds")
    args = parser.parse_args()
    if args.command == "describe":
        print(series_count(args.profile))
        return
    if args.command == "count-query":
        print(count_query(args.profile, args.window))
        return
    out = sys.stdout
    write_openmetrics(out, args.profile, args.start, args.steps, args.step)
    out.flush()


if __name__ == "__main__":
    main()
