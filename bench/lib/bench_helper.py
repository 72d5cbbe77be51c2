#!/usr/bin/env python3
"""Helpers for the bench/ scripts: build dashboards, bulk-create them, verify answers before a
load run, and turn the recorded wrk runs into result tables.

Standard library only, so the benchmarks need nothing beyond python3, curl and wrk.

Subcommands (all print errors to stderr and exit 1 on a failed check):
  dashboard         print one dashboard with N TimeSeriesChart panels and a Grid layout
  create-dashboards create COUNT dashboards in a project with a thread pool
  check-dashboard   GET a dashboard and check it has the expected number of panels
  check-list        GET a project's dashboard list and check its length
  check-proxy       compare a query_range through the Pharos proxy with Prometheus itself
  summarize-proxy   markdown table of proxy-overhead records (medians over the rounds)
  summarize-resource markdown table of resource-api records (medians, PostgreSQL/SQLite ratio)
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

# A spread of realistic panel queries, so panels are not byte-identical (compressible) copies.
PANEL_QUERIES = [
    'sum by (pod) (rate(pharos_test_requests_total{{namespace="team-a"}}[{window}]))',
    'max by (pod) (pharos_test_queue_depth{{namespace="team-a"}})',
    'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{job="api"}}[{window}])))',
    'sum(rate(container_cpu_usage_seconds_total{{namespace="team-a", container!=""}}[{window}])) by (pod)',
    'avg_over_time(pharos_test_queue_depth{{namespace="team-a"}}[{window}])',
]


class CheckFailed(Exception):
    """A verification found a wrong answer; the message says what differed."""


def build_dashboard(project, name, panels):
    """A Perses dashboard with `panels` TimeSeriesChart panels, all referenced from one Grid."""
    panel_map = {}
    grid_items = []
    for index in range(panels):
        key = f"panel_{index:02d}"
        query = PANEL_QUERIES[index % len(PANEL_QUERIES)].format(window=f"{1 + index % 10}m")
        panel_map[key] = {
            "kind": "Panel",
            "spec": {
                "display": {"name": f"Panel {index + 1}", "description": f"benchmark panel {index + 1}"},
                "plugin": {
                    "kind": "TimeSeriesChart",
                    "spec": {"legend": {"position": "bottom"}, "yAxis": {"format": {"unit": "decimal"}}},
                },
                "queries": [
                    {
                        "kind": "TimeSeriesQuery",
                        "spec": {"plugin": {"kind": "PrometheusTimeSeriesQuery", "spec": {"query": query}}},
                    }
                ],
            },
        }
        grid_items.append(
            {
                "x": (index % 2) * 12,
                "y": (index // 2) * 6,
                "width": 12,
                "height": 6,
                "content": {"$ref": f"#/spec/panels/{key}"},
            }
        )
    return {
        "kind": "Dashboard",
        "metadata": {"name": name, "project": project},
        "spec": {
            "display": {"name": f"Benchmark {name}"},
            "duration": "1h",
            "variables": [],
            "panels": panel_map,
            "layouts": [{"kind": "Grid", "spec": {"display": {"title": "All panels"}, "items": grid_items}}],
        },
    }


def http_json(method, url, body=None, form=None):
    """One request; returns (status, parsed JSON or None, raw bytes). Sends PHAROS_TOKEN (the
    admin's token from start_pharos) when set; Prometheus ignores it."""
    headers = {}
    token = os.environ.get("PHAROS_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = form.encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raw = error.read()
        status = error.code
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    return status, parsed, raw


# ---------------------------------------------------------------- creating dashboards


def create_dashboards(args):
    base = urllib.parse.urlsplit(args.url)
    path = f"/api/v1/projects/{args.project}/dashboards"
    names = [f"{args.prefix}-{i:05d}" for i in range(args.count)]
    # One keep-alive connection per worker thread: http.client connections are not thread-safe.
    local = threading.local()

    def create(name):
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(base.hostname, base.port, timeout=60)
            local.connection = connection
        payload = json.dumps(build_dashboard(args.project, name, args.panels))
        connection.request("POST", path, body=payload, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise CheckFailed(f"POST {path} ({name}) returned {response.status}: {answer[:300]!r}")

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers) as pool:
        for future in concurrent.futures.as_completed([pool.submit(create, n) for n in names]):
            future.result()
    elapsed = time.monotonic() - started
    print(
        f"created {args.count} dashboards ({args.panels} panels each) in {elapsed:.1f} s "
        f"with {args.workers} workers: {args.count / elapsed:.0f} dashboards/s"
    )


# ---------------------------------------------------------------- checks before measuring


def check_dashboard(args):
    status, body, raw = http_json("GET", args.url)
    if status != 200 or body is None:
        raise CheckFailed(f"GET {args.url} returned {status}: {raw[:300]!r}")
    panels = body.get("spec", {}).get("panels", {})
    if len(panels) != args.panels:
        raise CheckFailed(f"GET {args.url} returned {len(panels)} panels, expected {args.panels}")
    items = body["spec"]["layouts"][0]["spec"]["items"]
    if len(items) != args.panels:
        raise CheckFailed(f"the Grid layout has {len(items)} items, expected {args.panels}")
    print(f"dashboard ok: {len(panels)} panels, {len(raw)} bytes")


def check_list(args):
    status, body, raw = http_json("GET", args.url)
    if status != 200 or not isinstance(body, list):
        raise CheckFailed(f"GET {args.url} returned {status}: {raw[:300]!r}")
    if len(body) != args.count:
        raise CheckFailed(f"GET {args.url} listed {len(body)} dashboards, expected {args.count}")
    with_spec = sum(1 for item in body if item.get("spec"))
    if with_spec:
        raise CheckFailed(f"metadata_only=true still returned a spec for {with_spec} dashboards")
    print(f"list ok: {len(body)} dashboards, {len(raw)} bytes")


def range_query(url, form):
    status, body, raw = http_json("POST", url, form=form)
    if status != 200 or body is None or body.get("status") != "success":
        raise CheckFailed(f"POST {url} returned {status}: {raw[:300]!r}")
    return body["data"]["result"]


def check_proxy(args):
    form = urllib.parse.urlencode(
        {"query": args.query, "start": args.start, "end": args.end, "step": args.step}
    )
    direct = range_query(args.direct, form)
    proxied = range_query(args.proxied, form)
    direct_by_namespace = {series["metric"].get("namespace"): series["values"] for series in direct}
    if len(direct_by_namespace) < 2:
        raise CheckFailed(f"Prometheus itself returned {sorted(direct_by_namespace)}: no tenant data to compare")
    proxied_namespaces = sorted(series["metric"].get("namespace") for series in proxied)
    if proxied_namespaces != [args.namespace]:
        raise CheckFailed(f"the proxy returned namespaces {proxied_namespaces}, expected only {args.namespace}")
    expected = direct_by_namespace[args.namespace]
    got = proxied[0]["values"]
    if len(got) != len(expected) or not got:
        raise CheckFailed(f"the proxy returned {len(got)} points, Prometheus {len(expected)} for {args.namespace}")
    for (t_got, v_got), (t_exp, v_exp) in zip(got, expected):
        if t_got != t_exp or abs(float(v_got) - float(v_exp)) > 1e-9 * max(1.0, abs(float(v_exp))):
            raise CheckFailed(f"point differs at {t_exp}: proxy {v_got}, Prometheus {v_exp}")
        # Before a full range window of data exists, rate() extrapolates from fewer samples.
        settled = float(t_got) >= float(args.start) + args.window_seconds
        if settled and abs(float(v_got) - args.expected_value) > 1e-6 * args.expected_value:
            raise CheckFailed(f"{args.namespace} at {t_got} is {v_got}, the data set says {args.expected_value}")
    # A query naming another tenant must still only see the project's own namespace.
    foreign = urllib.parse.urlencode(
        {"query": args.foreign_query, "start": args.start, "end": args.end, "step": args.step}
    )
    leaked = sorted(
        {series["metric"].get("namespace") for series in range_query(args.proxied, foreign)} - {args.namespace}
    )
    if leaked:
        raise CheckFailed(f"`{args.foreign_query}` through the proxy returned other namespaces: {leaked}")
    print(
        f"proxy ok: only {args.namespace}, {len(got)} points equal to Prometheus and to the data set "
        f"({args.expected_value}/s); `{args.foreign_query}` leaks nothing"
    )


# ---------------------------------------------------------------- summaries


def read_records(path):
    """Lines of `key=value` pairs (the script's tags followed by wrk-report.lua's BENCH line)."""
    records = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
            if fields:
                records.append(fields)
    return records


def median_of(records, key):
    return statistics.median(float(record[key]) for record in records)


def ms(microseconds):
    return f"{microseconds / 1000:.2f}"


def summarize_proxy(args):
    records = read_records(args.records)
    levels = sorted({int(r["connections"]) for r in records})
    targets = list(dict.fromkeys(r["target"] for r in records))

    def runs(level, target):
        return [r for r in records if int(r["connections"]) == level and r["target"] == target]

    print("| connections | target | req/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for level in levels:
        for target in targets:
            if runs(level, target):
                rows = runs(level, target)
                print(
                    f"| {level} | {target} | {median_of(rows, 'rps'):.0f} | {ms(median_of(rows, 'p50_us'))} "
                    f"| {ms(median_of(rows, 'p99_us'))} |"
                )
    print()
    print("| connections | proxied vs | req/s ratio (goal ≥ 0.90) | added p50 ms | added p99 ms (goal < 1) |")
    print("|---|---|---|---|---|")
    for level in levels:
        proxied = runs(level, "proxied")
        for baseline in (t for t in targets if t not in ("proxied", "proxied-cached")):
            direct = runs(level, baseline)
            if not direct or not proxied:
                continue
            ratio = median_of(proxied, "rps") / median_of(direct, "rps")
            added_p50 = median_of(proxied, "p50_us") - median_of(direct, "p50_us")
            added_p99 = median_of(proxied, "p99_us") - median_of(direct, "p99_us")
            print(
                f"| {level} | {baseline} | {ratio:.2f} {'✅' if ratio >= 0.9 else '❌'} | {ms(added_p50)} "
                f"| {ms(added_p99)} {'✅' if added_p99 < 1000 else '❌'} |"
            )
    if "proxied-auth-disabled" in targets:
        print()
        print("| connections | auth on vs off: req/s ratio (goal ≥ 0.95) | added p99 ms |")
        print("|---|---|---|")
        for level in levels:
            on, off = runs(level, "proxied"), runs(level, "proxied-auth-disabled")
            if on and off:
                ratio = median_of(on, "rps") / median_of(off, "rps")
                added = median_of(on, "p99_us") - median_of(off, "p99_us")
                print(f"| {level} | {ratio:.2f} {'✅' if ratio >= 0.95 else '❌'} | {ms(added)} |")
    if "proxied-cached" in targets:
        print()
        print("| connections | cached vs direct-enforced: req/s ratio | p99 ms cached / direct |")
        print("|---|---|---|")
        for level in levels:
            cached, direct = runs(level, "proxied-cached"), runs(level, "direct-enforced")
            if cached and direct:
                ratio = median_of(cached, "rps") / median_of(direct, "rps")
                print(
                    f"| {level} | {ratio:.2f} | {ms(median_of(cached, 'p99_us'))} / "
                    f"{ms(median_of(direct, 'p99_us'))} |"
                )
    rounds = max(int(r["round"]) for r in records)
    print(f"\nMedians over {rounds} alternating rounds per target.")


def summarize_resource(args):
    records = read_records(args.records)
    scenarios = list(dict.fromkeys(r["scenario"] for r in records))
    backends = list(dict.fromkeys(r["backend"] for r in records))
    print("| scenario | connections | backend | req/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    medians = {}
    for scenario in scenarios:
        for backend in backends:
            runs = [r for r in records if r["scenario"] == scenario and r["backend"] == backend]
            if not runs:
                continue
            rps = median_of(runs, "rps")
            medians[(scenario, backend)] = rps
            print(
                f"| {scenario} | {runs[0]['connections']} | {backend} | {rps:.0f} "
                f"| {ms(median_of(runs, 'p50_us'))} | {ms(median_of(runs, 'p99_us'))} |"
            )
    if "sqlite" in backends and "postgres" in backends:
        print("\n| scenario | PostgreSQL / SQLite req/s |")
        print("|---|---|")
        for scenario in scenarios:
            if (scenario, "sqlite") in medians and (scenario, "postgres") in medians:
                print(f"| {scenario} | {medians[(scenario, 'postgres')] / medians[(scenario, 'sqlite')]:.2f} |")
    rounds = max(int(r["round"]) for r in records)
    print(f"\nMedians over {rounds} rounds per scenario and backend.")


# ---------------------------------------------------------------- command line


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    dashboard = commands.add_parser("dashboard")
    dashboard.add_argument("--project", required=True)
    dashboard.add_argument("--name", required=True)
    dashboard.add_argument("--panels", type=int, required=True)

    create = commands.add_parser("create-dashboards")
    create.add_argument("--url", required=True, help="Pharos base URL")
    create.add_argument("--project", required=True)
    create.add_argument("--count", type=int, required=True)
    create.add_argument("--panels", type=int, required=True)
    create.add_argument("--workers", type=int, default=8)
    create.add_argument("--prefix", default="dash")

    one = commands.add_parser("check-dashboard")
    one.add_argument("--url", required=True)
    one.add_argument("--panels", type=int, required=True)

    listing = commands.add_parser("check-list")
    listing.add_argument("--url", required=True)
    listing.add_argument("--count", type=int, required=True)

    proxy = commands.add_parser("check-proxy")
    proxy.add_argument("--direct", required=True, help="Prometheus query_range URL")
    proxy.add_argument("--proxied", required=True, help="the same endpoint through the Pharos proxy")
    proxy.add_argument("--query", required=True)
    proxy.add_argument("--foreign-query", required=True, help="a query naming another tenant's namespace")
    proxy.add_argument("--start", required=True)
    proxy.add_argument("--end", required=True)
    proxy.add_argument("--step", required=True)
    proxy.add_argument("--namespace", required=True)
    proxy.add_argument("--expected-value", type=float, required=True)
    proxy.add_argument("--window-seconds", type=float, required=True, help="the query's range window")

    for name in ("summarize-proxy", "summarize-resource"):
        summary = commands.add_parser(name)
        summary.add_argument("records")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    handlers = {
        "dashboard": lambda a: print(json.dumps(build_dashboard(a.project, a.name, a.panels))),
        "create-dashboards": create_dashboards,
        "check-dashboard": check_dashboard,
        "check-list": check_list,
        "check-proxy": check_proxy,
        "summarize-proxy": summarize_proxy,
        "summarize-resource": summarize_resource,
    }
    try:
        handlers[args.command](args)
    except (CheckFailed, OSError) as error:
        print(f"bench_helper {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
