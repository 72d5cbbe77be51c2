#!/usr/bin/env python3
"""Clients for bench/live-stream.sh and bench/dashboard-load.sh (standard library only).

viewers         N Server-Sent-Events viewers of one dashboard for a while: events received,
                delivery delay after each tick, Pharos CPU and RSS, and the backend's query count.
dashboard-load  a dashboard's panel queries loaded together (one thread per panel), through the
                Pharos proxy and straight to Prometheus, cold (a new range each load) and warm
                (the same range again).
"""

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request


def now_ms():
    return int(time.time() * 1000)


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100.0 * (len(ordered) - 1)))))
    return ordered[index]


def prometheus_range_queries(prometheus):
    """Prometheus' own count of answered range queries."""
    with urllib.request.urlopen(prometheus + "/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if (line.startswith("prometheus_http_requests_total{")
                    and 'handler="/api/v1/query_range"' in line and 'code="200"' in line):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def proc_sample(pid):
    """(cpu seconds, rss MiB) of a process."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = 100.0
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = 0.0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024.0
    return cpu, rss


def viewer(url, token, deadline, results, index):
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    path = parsed.path + ("?" + parsed.query if parsed.query else "")
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"})
    response = connection.getresponse()
    if response.status != 200:
        results[index] = {"error": f"HTTP {response.status}: {response.read(300)!r}"}
        return
    delays, events, first_round_at = [], 0, None
    name, data = None, []
    while time.time() < deadline:
        raw = response.fp.readline()
        if not raw:
            break
        line = raw.decode().rstrip("\n")
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "":
            if name == "data" and data:
                arrived = now_ms()
                event = json.loads("".join(data))
                events += 1
                if event.get("status") != "success":
                    results[index] = {"error": f"error event: {event}"}
                    return
                at = event["at"]
                if first_round_at is None:
                    first_round_at = at
                elif at != first_round_at:
                    # The first round comes at connect time; later rounds follow the clock.
                    delays.append(arrived - at)
            name, data = None, []
    connection.close()
    results[index] = {"events": events, "delays": delays}


def run_viewers(args):
    url = f"{args.pharos}/api/v1/projects/{args.project}/dashboards/{args.dashboard}/stream?range={args.range}&refresh={args.refresh}"
    before = prometheus_range_queries(args.prometheus)
    cpu_before, _ = proc_sample(args.pid)
    started = time.time()
    deadline = started + args.seconds
    results = [None] * args.viewers
    threads = [threading.Thread(target=viewer, args=(url, args.token, deadline, results, i), daemon=True)
               for i in range(args.viewers)]
    for thread in threads:
        thread.start()
    rss_peak = 0.0
    while time.time() < deadline:
        rss_peak = max(rss_peak, proc_sample(args.pid)[1])
        time.sleep(1)
    for thread in threads:
        thread.join(timeout=70)
    elapsed = time.time() - started
    cpu_after, rss_end = proc_sample(args.pid)
    after = prometheus_range_queries(args.prometheus)
    errors = [r["error"] for r in results if r and "error" in r]
    missing = sum(1 for r in results if r is None)
    if errors or missing:
        sys.exit(f"viewers failed: {missing} gave no result; errors: {errors[:3]}")
    delays = [d for r in results for d in r["delays"]]
    events = sum(r["events"] for r in results)
    refresh_s = float(args.refresh.rstrip("s"))
    intervals = elapsed / refresh_s
    backend = after - before
    print(f"| viewers | panels | seconds | refresh | events | backend range queries | per interval | "
          f"per interval without sharing | delay p50 ms | delay p99 ms | Pharos CPU % | RSS MiB (peak) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.viewers} | {args.panels} | {elapsed:.0f} | {args.refresh} | {events} | {backend:.0f} | "
          f"{backend / intervals:.1f} | {args.viewers * args.panels} | {percentile(delays, 50):.0f} | "
          f"{percentile(delays, 99):.0f} | {100 * (cpu_after - cpu_before) / elapsed:.1f} | "
          f"{rss_end:.0f} ({rss_peak:.0f}) |")


class Panel(threading.Thread):
    """One panel's client: a kept-alive connection per target, like a browser's."""

    def __init__(self):
        super().__init__(daemon=True)
        self.jobs, self.connections = [], {}
        self.ready = threading.Condition()
        self.start()

    def submit(self, job):
        with self.ready:
            self.jobs.append(job)
            self.ready.notify()

    def run(self):
        while True:
            with self.ready:
                while not self.jobs:
                    self.ready.wait()
                url, form, token, done = self.jobs.pop(0)
            try:
                done(self.post(url, form, token), None)
            except Exception as error:  # noqa: BLE001 - reported by the caller
                done(None, error)

    def post(self, url, form, token):
        parsed = urllib.parse.urlsplit(url)
        key = (parsed.hostname, parsed.port)
        if key not in self.connections:
            self.connections[key] = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        connection = self.connections[key]
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        connection.request("POST", parsed.path, body=urllib.parse.urlencode(form), headers=headers)
        response = connection.getresponse()
        answer = json.loads(response.read())
        if answer.get("status") != "success":
            raise RuntimeError(f"{url}: {answer}")
        return response.getheader("X-Pharos-Cache", "")


PANELS = []


def load_dashboard(url, queries, start, end, step, token):
    """Wall time (ms) to load every panel query at once, and the cache words seen."""
    while len(PANELS) < len(queries):
        PANELS.append(Panel())
    words, errors = [], []
    finished = threading.Semaphore(0)

    def done(word, error):
        if error is not None:
            errors.append(str(error))
        else:
            words.append(word)
        finished.release()

    began = time.perf_counter()
    for panel, query in zip(PANELS, queries):
        panel.submit((url, {"query": query, "start": start, "end": end, "step": step}, token, done))
    for _ in queries:
        finished.acquire()
    took = (time.perf_counter() - began) * 1000
    if errors:
        sys.exit(f"dashboard load failed: {errors[:2]}")
    return took, words


def run_dashboard_load(args):
    queries = json.loads(args.queries)
    step = args.step
    targets = {"direct": (args.prometheus + "/api/v1/query_range", None),
               "pharos": (args.proxied, args.token)}
    results = {}
    for mode in ("cold", "warm"):
        for name, (url, token) in targets.items():
            times, words = [], []
            for load in range(args.loads):
                # Cold: a new window each load (one step earlier), so no cache can answer it;
                # warm: the same window every time.
                end = args.end - 3600 - load * step if mode == "cold" else args.end
                start = end - args.window
                if mode == "warm" and load == 0:
                    load_dashboard(url, queries, start, end, step, token)  # fill the cache
                took, seen = load_dashboard(url, queries, start, end, step, token)
                times.append(took)
                words.extend(seen)
            results[(mode, name)] = (times, words)
    print("| load | target | p50 ms | p95 ms | cache answers |")
    print("|---|---|---|---|---|")
    for (mode, name), (times, words) in results.items():
        counts = {w: words.count(w) for w in sorted(set(words)) if w}
        print(f"| {mode} | {name} | {percentile(times, 50):.1f} | {percentile(times, 95):.1f} | "
              f"{counts if counts else '-'} |")
    print()
    print("| load | Pharos p50 / direct p50 | goal |")
    print("|---|---|---|")
    for mode, goal in (("cold", "≤ 1.1"), ("warm", "≤ 0.2 (≥ 5× faster)")):
        ratio = statistics.median(results[(mode, "pharos")][0]) / statistics.median(results[(mode, "direct")][0])
        print(f"| {mode} | {ratio:.2f} | {goal} |")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    viewers = commands.add_parser("viewers")
    for flag in ("pharos", "prometheus", "token", "project", "dashboard", "range", "refresh"):
        viewers.add_argument(f"--{flag}", required=True)
    viewers.add_argument("--pid", type=int, required=True)
    viewers.add_argument("--viewers", type=int, default=200)
    viewers.add_argument("--panels", type=int, required=True)
    viewers.add_argument("--seconds", type=int, default=120)
    load = commands.add_parser("dashboard-load")
    for flag in ("prometheus", "proxied", "token", "queries"):
        load.add_argument(f"--{flag}", required=True)
    load.add_argument("--end", type=int, required=True)
    load.add_argument("--window", type=int, default=6 * 3600 - 3600)
    load.add_argument("--step", type=int, default=60)
    load.add_argument("--loads", type=int, default=20)
    args = parser.parse_args(argv)
    {"viewers": run_viewers, "dashboard-load": run_dashboard_load}[args.command](args)


if __name__ == "__main__":
    main(sys.argv[1:])
