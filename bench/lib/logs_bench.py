#!/usr/bin/env python3
"""The access-log intake under load (bench/logs.sh): nginx `combined` + `$request_time` lines
for many services, pushed to `POST /loki/api/v1/push`, then checked against an exact computation.

Runs under the bench venv (numpy; python-snappy when present, else a valid snappy block of one
literal element). Subcommands:

  ingest   pre-built push bodies (JSON+gzip and protobuf+snappy) of the seeded data, pushed per
           round and mode (1 connection, 2 connections, protobuf on 1 connection), each run into
           its own source (`bench-<mode>-r<round>`, configured by logs.sh) so every
           (source, service, bucket) gets its lines in bucket order; wall time, Pharos CPU
           (/proc/PID/stat) and lines per CPU-second; then every (source, service, bucket)
           read back from the store (counts and errors must be exact, P50/P95/P99 against the
           nearest-rank values from numpy), the services API cross-checked, and numpy's own
           rate of exact per-bucket quantiles on the same data as the reference.
  memory   a fresh Pharos: idle RSS, then LINES_PER_SERVICE lines for each of SERVICES services
           in one bucket, every service published (checked in the store), RSS again and the
           intake's own gauges. The idle baseline is taken after a warm-up push (one body, one
           service, published), so one-time allocations of the first push and first store write
           are not counted per service; the gauges include that one warm-up service.

Every line printed that starts with `RAW ` is a parsed record; the rest is human-readable.
"""

import argparse
import calendar
import gzip
import hashlib
import http.client
import json
import math
import os
import re
import sys
import threading
import time
import urllib.parse

import numpy as np

try:
    import snappy  # python-snappy: raw snappy blocks, as Promtail sends

    HAVE_SNAPPY = True
except ImportError:  # pragma: no cover - depends on the venv
    HAVE_SNAPPY = False

BUCKET_S = 300
CLK_TCK = os.sysconf("SC_CLK_TCK")
ADMIN_PASSWORD = "bench-admin-password"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
PATHS = [
    "/api/v1/orders", "/api/v1/orders/12345", "/api/v1/cart", "/api/v1/cart/items?limit=50",
    "/api/v1/users/me", "/api/v1/search?q=shoes&page=2", "/healthz", "/static/app.7f3a9c.js",
    "/api/v2/inventory/sku-88123", "/api/v1/payments", "/graphql", "/api/v1/recommendations",
]
AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "okhttp/4.12.0",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
]


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- Pharos access


class Pharos:
    def __init__(self, url, pid):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.pid = pid
        self.token = None
        self.login()

    def login(self):
        body = json.dumps({"login": "admin", "password": ADMIN_PASSWORD})
        status, answer = self.request("POST", "/api/auth/providers/native/login", body,
                                      {"content-type": "application/json"}, auth=False)
        if status != 200:
            raise SystemExit(f"login answered {status}: {answer[:300]!r}")
        self.token = json.loads(answer)["access_token"]

    def connection(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=300)

    def request(self, method, path, body=None, headers=None, auth=True):
        conn = self.connection()
        try:
            h = dict(headers or {})
            if auth and self.token:
                h["authorization"] = f"Bearer {self.token}"
            conn.request(method, path, body=body, headers=h)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def get_json(self, path):
        status, answer = self.request("GET", path)
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}: {answer[:300]!r}")
        return json.loads(answer)

    def query(self, promql, at=None):
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        answer = self.get_json("/api/v1/query?" + urllib.parse.urlencode(params))
        if answer.get("status") != "success":
            raise SystemExit(f"query {promql} failed: {answer}")
        return answer["data"]

    def cpu_ticks(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)

    def rss_kib(self, key="VmRSS"):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        raise SystemExit(f"no {key} in /proc/{self.pid}/status")

    def self_metrics(self):
        status, answer = self.request("GET", "/metrics")
        if status != 200:
            raise SystemExit(f"/metrics answered {status}")
        out = {}
        for line in answer.decode().splitlines():
            m = re.match(r"^(pharos_logs_[a-z_]+)(\{[^}]*\})? ([0-9.eE+-]+|NaN)$", line)
            if m:
                out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
        return out


# ---------------------------------------------------------------- data


def seed_int(text):
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


class Fleet:
    """SERVICES services: traffic weights log-uniform over 1..2000 (so buckets run from a few
    dozen lines to tens of thousands), each a log-normal latency with its own median and spread
    plus a slow mode (a fraction of requests several times slower)."""

    def __init__(self, services, seed, prefix="svc"):
        rng = np.random.default_rng(seed_int(f"{seed}/services/{services}"))
        width = max(3, len(str(services - 1)))
        self.names = [f"{prefix}-{i:0{width}d}" for i in range(services)]
        self.weights = np.exp(rng.uniform(0.0, math.log(2000.0), services))
        self.median_ms = np.exp(rng.uniform(math.log(5.0), math.log(400.0), services))
        self.sigma = rng.uniform(0.3, 0.9, services)
        self.slow_fraction = rng.uniform(0.01, 0.10, services)
        self.slow_factor = rng.uniform(3.0, 10.0, services)
        self.error_rate = rng.uniform(0.0, 0.02, services)

    def latencies_ms(self, rng, svc):
        """Integer milliseconds (`$request_time` has ms resolution), at least 1."""
        x = rng.lognormal(np.log(self.median_ms[svc]), self.sigma[svc])
        slow = rng.random(len(svc)) < self.slow_fraction[svc]
        x = np.where(slow, x * self.slow_factor[svc] * rng.lognormal(0.0, 0.3, len(svc)), x)
        return np.clip(np.rint(x), 1, 600_000).astype(np.int64)

    def statuses(self, rng, svc):
        u = rng.random(len(svc))
        err = self.error_rate[svc]
        return np.where(u < err, np.where(u < err / 3, 503, 500),
                        np.where(u < err + 0.02, 404, np.where(u < err + 0.05, 201, 200)))


class Lines:
    """Columns of generated requests; `text(i)` formats line i."""

    def __init__(self, svc, ts, lat_ms, status, rng):
        self.svc, self.ts, self.lat_ms, self.status = svc, ts, lat_ms, status
        n = len(svc)
        self.ip = rng.integers(0, 1 << 24, n).tolist()
        self.path = rng.integers(0, len(PATHS), n).tolist()
        self.agent = rng.integers(0, len(AGENTS), n).tolist()
        self.size = rng.integers(120, 48_000, n).tolist()
        self.post = (rng.random(n) < 0.2).tolist()
        self.upstream_gap = rng.integers(0, 3, n).tolist()
        self._time_local = {}

    def time_local(self, t):
        s = self._time_local.get(t)
        if s is None:
            g = time.gmtime(t)
            s = f"{g.tm_mday:02d}/{MONTHS[g.tm_mon - 1]}/{g.tm_year}:{g.tm_hour:02d}:{g.tm_min:02d}:{g.tm_sec:02d} +0000"
            self._time_local[t] = s
        return s

    def texts(self, idx):
        """The lines at the indices `idx` (nginx `combined` + `$request_time $upstream_response_time`)."""
        ts, lat, status = self.ts, self.lat_ms, self.status
        out = []
        for i in idx:
            ms = lat[i]
            up = max(ms - self.upstream_gap[i], 0)
            ip = self.ip[i]
            out.append(
                f'10.{ip >> 16}.{(ip >> 8) & 255}.{ip & 255} - - [{self.time_local(ts[i])}] '
                f'"{"POST" if self.post[i] else "GET"} {PATHS[self.path[i]]} HTTP/1.1" {status[i]} '
                f'{self.size[i]} "-" "{AGENTS[self.agent[i]]}" '
                f"{ms // 1000}.{ms % 1000:03d} {up // 1000}.{up % 1000:03d}"
            )
        return out


def generate(fleet, lines_total, seed, buckets, now_s):
    """`lines_total` requests split evenly over `buckets` (bucket starts, oldest first), services
    drawn by weight; a bucket's timestamps are uniform seconds from its start to its end or now."""
    rng = np.random.default_rng(seed_int(f"{seed}/lines/{lines_total}"))
    p = fleet.weights / fleet.weights.sum()
    per = lines_total // len(buckets)
    svc_parts, ts_parts = [], []
    for start in buckets:
        svc_parts.append(rng.choice(len(fleet.names), size=per, p=p).astype(np.int64))
        end = min(start + BUCKET_S, now_s + 1)
        ts_parts.append(rng.integers(start, max(end, start + 1), per))
    svc = np.concatenate(svc_parts)
    ts = np.concatenate(ts_parts)
    lat = fleet.latencies_ms(rng, svc)
    status = fleet.statuses(rng, svc)
    return Lines(svc, ts, lat, status, rng)


def grouped_bodies(lines, fleet, body_lines, fmt):
    """Consecutive chunks of `body_lines` requests, each a push body with one stream per service
    (entries in time order, as Promtail batches them). Returns [(body, n_lines)]."""
    svc_np, ts_np = np.asarray(lines.svc), np.asarray(lines.ts)
    n = len(svc_np)
    svc_list, ts_list = svc_np.tolist(), ts_np.tolist()
    # texts() indexes python lists (fast), not numpy arrays.
    lines.ts, lines.lat_ms, lines.status = ts_list, np.asarray(lines.lat_ms).tolist(), np.asarray(lines.status).tolist()
    out = []
    for lo in range(0, n, body_lines):
        hi = min(lo + body_lines, n)
        order = np.lexsort((ts_np[lo:hi], svc_np[lo:hi])) + lo
        streams = []
        cur, members = None, []
        for i in order.tolist():
            if svc_list[i] != cur:
                if members:
                    streams.append((cur, members))
                cur, members = svc_list[i], []
            members.append(i)
        if members:
            streams.append((cur, members))
        if fmt == "json":
            doc = {"streams": [
                {"stream": {"service": fleet.names[s], "job": "nginx"},
                 "values": [[f"{ts_list[i]}000000000", t] for i, t in zip(m, lines.texts(m))]}
                for s, m in streams]}
            body = gzip.compress(json.dumps(doc, separators=(",", ":")).encode(), compresslevel=1)
        else:
            raw = bytearray()
            for s, m in streams:
                stream = bytearray()
                label = f'{{job="nginx", service="{fleet.names[s]}"}}'.encode()
                stream += b"\x0a" + uvarint(len(label)) + label
                for i, t in zip(m, lines.texts(m)):
                    tsb = b"\x08" + uvarint(ts_list[i])
                    tb = t.encode()
                    entry = b"\x0a" + uvarint(len(tsb)) + tsb + b"\x12" + uvarint(len(tb)) + tb
                    stream += b"\x12" + uvarint(len(entry)) + entry
                raw += b"\x0a" + uvarint(len(stream)) + stream
            body = snappy.compress(bytes(raw)) if HAVE_SNAPPY else snappy_literal(bytes(raw))
        out.append((body, hi - lo))
    return out


def uvarint(n):
    out = bytearray()
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def snappy_literal(raw):
    """A valid raw snappy block holding `raw` as one literal element."""
    n = len(raw) - 1
    if n < 60:
        tag = bytes([n << 2])
    else:
        size = (n.bit_length() + 7) // 8
        tag = bytes([(59 + size) << 2]) + n.to_bytes(size, "little")
    return uvarint(len(raw)) + tag + raw


HEADERS = {
    "json": {"content-type": "application/json", "content-encoding": "gzip"},
    # As Promtail sends it: no Content-Encoding, the body is a raw snappy block anyway.
    "proto": {"content-type": "application/x-protobuf"},
}


# ---------------------------------------------------------------- exact reference


def exact_stats(key, lat, status):
    """Per key: count, errors, nearest-rank P50/P95/P99 (the value at rank ceil(q*n) of the
    sorted latencies), by one lexsort of (key, latency)."""
    order = np.lexsort((lat, key))
    k, v = key[order], lat[order]
    e = (status[order] >= 500)
    bounds = np.flatnonzero(np.diff(k)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(k)]))
    n = ends - starts
    errors = np.add.reduceat(e.astype(np.int64), starts)
    qs = {}
    for q in (0.5, 0.95, 0.99):
        rank = np.clip(np.ceil(q * n).astype(np.int64), 1, n)
        qs[q] = v[starts + rank - 1]
    return k[starts], n, errors, qs


# ---------------------------------------------------------------- pushing


def push_bodies(pharos, bodies, fmt, source, connections, phases):
    """Pushes `bodies` (list of (body, n)); `phases` lists index ranges that must be complete
    before the next starts (older buckets before newer ones). Every answer must be 204."""
    path = "/loki/api/v1/push?source=" + urllib.parse.quote(source)
    headers = dict(HEADERS[fmt], authorization=f"Bearer {pharos.token}")
    errors, latencies = [], []
    lock = threading.Lock()

    def worker(queue):
        conn = pharos.connection()
        try:
            while True:
                with lock:
                    if not queue or errors:
                        return
                    body, _ = bodies[queue.pop(0)]
                t = time.perf_counter()
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read()
                dt = time.perf_counter() - t
                with lock:
                    latencies.append(dt)
                    if response.status != 204:
                        errors.append(f"{response.status}: {answer[:300]!r}")
        finally:
            conn.close()

    for lo, hi in phases:
        queue = list(range(lo, hi))
        threads = [threading.Thread(target=worker, args=(queue,)) for _ in range(connections)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if errors:
            raise SystemExit(f"push to {source} failed: {errors[0]}")
    return latencies


def run_mode(pharos, mode, bodies, fmt, source, connections, phases):
    lines = sum(n for _, n in bodies)
    pharos.login()
    c0, t0, p0 = pharos.cpu_ticks(), time.perf_counter(), time.process_time()
    latencies = push_bodies(pharos, bodies, fmt, source, connections, phases)
    t1, c1, p1 = time.perf_counter(), pharos.cpu_ticks(), time.process_time()
    wall, cpu = t1 - t0, (c1 - c0) / CLK_TCK
    latencies.sort()
    rec = {
        "mode": mode, "source": source, "connections": connections, "lines": lines,
        "requests": len(bodies), "body_mib": sum(len(b) for b, _ in bodies) / len(bodies) / 2**20,
        "wall_s": wall, "lines_per_s": lines / wall, "pharos_cpu_s": cpu,
        "lines_per_cpu_s": lines / cpu if cpu else float("inf"), "pharos_cores": cpu / wall,
        "client_cpu_s": p1 - p0,
        "req_p50_ms": 1000 * latencies[len(latencies) // 2], "req_max_ms": 1000 * latencies[-1],
    }
    print("RAW run " + json.dumps(rec), flush=True)
    log(f"  {mode} ({source}): {lines:,} lines in {wall:.2f} s = {lines / wall:,.0f} lines/s; "
        f"Pharos CPU {cpu:.2f} s = {rec['lines_per_cpu_s']:,.0f} lines/CPU-s")
    return rec


# ---------------------------------------------------------------- reading back


def store_buckets(pharos, metric, selector, window):
    """{(source, service, bucket_start): last value written inside that bucket}."""
    data = pharos.query(f"{metric}{{{selector}}}[{window}]")
    if data["resultType"] != "matrix":
        raise SystemExit(f"expected a matrix for {metric}, got {data['resultType']}")
    out = {}
    for series in data["result"]:
        labels = series["metric"]
        for t, v in series["values"]:
            key = (labels.get("source"), labels.get("service"), int(float(t)) // BUCKET_S * BUCKET_S)
            out[key] = float(v)  # values come in time order: the last one wins
    return out


def relative_errors(exact, got):
    return np.abs(got - exact) / exact


def summary(errs):
    if len(errs) == 0:
        return {"n": 0, "max": float("nan"), "p99": float("nan"), "over_1pct": 0}
    return {"n": int(len(errs)), "max": float(errs.max()),
            "p99": float(np.quantile(errs, 0.99, method="inverted_cdf")),
            "over_1pct": int((errs > 0.01).sum())}


# ---------------------------------------------------------------- ingest


def cmd_ingest(args):
    pharos = Pharos(args.pharos, args.pid)
    modes = [m.split(":") for m in args.modes.split(",")]  # name:fmt:connections
    fleet = Fleet(args.services, args.seed)
    now_s = int(time.time())
    current = now_s // BUCKET_S * BUCKET_S
    buckets = [current - BUCKET_S, current]

    t = time.perf_counter()
    data = generate(fleet, args.lines, args.seed, buckets, now_s)
    svc, ts = data.svc.copy(), data.ts.copy()
    lat, status = data.lat_ms.copy(), data.status.copy()
    t_gen = time.perf_counter() - t
    bodies, t_build = {}, {}
    for fmt in sorted({m[1] for m in modes}):
        t = time.perf_counter()
        bodies[fmt] = grouped_bodies(generate(fleet, args.lines, args.seed, buckets, now_s),
                                     fleet, args.body_lines, fmt)
        t_build[fmt] = time.perf_counter() - t
    per_bucket = args.lines // len(buckets)
    if per_bucket % args.body_lines:
        raise SystemExit("--lines / 2 must be a multiple of --body-lines (a body holds one bucket)")
    split = per_bucket // args.body_lines
    phases = [(0, split), (split, 2 * split)]
    raw_bytes = sum(len(x) for x in data.texts(range(min(len(svc), 20_000)))) / min(len(svc), 20_000)
    setup = {
        "services": args.services, "lines_per_run": args.lines, "body_lines": args.body_lines,
        "buckets": buckets, "generate_s": t_gen, "build_s": t_build,
        "mean_line_bytes": raw_bytes, "snappy": "python-snappy" if HAVE_SNAPPY else "one literal",
        "body_mib": {f: sum(len(b) for b, _ in bodies[f]) / len(bodies[f]) / 2**20 for f in bodies},
    }
    print("RAW setup " + json.dumps(setup), flush=True)
    log(f"data: {args.lines:,} lines x {args.services} services over buckets {buckets}, "
        f"generated in {t_gen:.1f} s, bodies built in " + ", ".join(f"{f} {s:.1f} s" for f, s in t_build.items()))

    # Check before measuring: one small body of each format into the check source must be taken
    # whole (204) and counted.
    for fmt in bodies:
        check = Fleet(5, "check", prefix="check")
        body, _ = grouped_bodies(generate(check, 100, "check", [current], now_s), check, 100, fmt)[0]
        pharos.login()
        push_bodies(pharos, [(body, 100)], fmt, "bench-check", 1, [(0, 1)])
    counted = pharos.self_metrics().get('pharos_logs_lines_total{source="bench-check"}')
    if counted != 100 * len(bodies):
        raise SystemExit(f"check: pharos_logs_lines_total{{source=\"bench-check\"}} = {counted}, "
                         f"expected {100 * len(bodies)}")
    log(f"check: {100 * len(bodies)} lines in {len(bodies)} format(s) taken and counted")

    time.sleep(2)
    c0 = pharos.cpu_ticks()
    time.sleep(5)
    idle = (pharos.cpu_ticks() - c0) / CLK_TCK / 5
    print("RAW idle " + json.dumps({"pharos_cores": idle}), flush=True)

    runs, sources = [], []
    for r in range(1, args.rounds + 1):
        for name, fmt, conns in modes:
            source = f"bench-{name}-r{r}"
            sources.append(source)
            rec = run_mode(pharos, name, bodies[fmt], fmt, source, int(conns), phases)
            rec["round"] = r
            runs.append(rec)

    # The reference: numpy's exact per-bucket quantiles on the same data, timed.
    key = svc * 2 + (ts >= current)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        keys, n, errors, qs = exact_stats(key, lat, status)
        times.append(time.perf_counter() - t)
    numpy_s = sorted(times)[len(times) // 2]
    reference = {"numpy_s": numpy_s, "numpy_lines_per_s": len(key) / numpy_s, "numpy": np.__version__}
    print("RAW reference " + json.dumps(reference), flush=True)

    # Wait for the publisher to write the newest bucket, then read every bucket back.
    exact = {}
    for k, cnt, err, p50, p95, p99 in zip(keys.tolist(), n.tolist(), errors.tolist(),
                                          qs[0.5].tolist(), qs[0.95].tolist(), qs[0.99].tolist()):
        exact[(fleet.names[k // 2], buckets[k % 2])] = (cnt, err, p50, p95, p99)
    wait_until = current + args.settle + args.publish_interval + 2
    if time.time() < wait_until:
        time.sleep(wait_until - time.time())
    selector = 'source=~"bench-.+-r[0-9]+"'
    deadline = time.time() + 120
    while True:
        pharos.login()
        counts = store_buckets(pharos, "pharos_service_requests", selector, "30m")
        missing = [(src, s, b) for src in sources for (s, b), e in exact.items()
                   if counts.get((src, s, b)) != e[0]]
        if not missing or time.time() > deadline:
            break
        time.sleep(2)
    if missing:
        src, s, b = missing[0]
        raise SystemExit(f"{len(missing)} (source, service, bucket) counts never matched; e.g. {src} {s} "
                         f"{b}: store {counts.get((src, s, b))}, sent {exact[(s, b)][0]}")
    errs_store = store_buckets(pharos, "pharos_service_errors", selector, "30m")
    quant = {q: store_buckets(pharos, f"pharos_service_latency_{q}_ms", selector, "30m")
             for q in ("p50", "p95", "p99")}
    bad_errors = [(src, s, b) for src in sources for (s, b), e in exact.items()
                  if errs_store.get((src, s, b)) != e[1]]
    if bad_errors:
        raise SystemExit(f"error counts differ in {len(bad_errors)} buckets, e.g. {bad_errors[0]}")

    acc = {}
    eligible = [(s, b) for (s, b), e in exact.items() if e[0] >= args.min_requests]
    for regime, pick in (("all", lambda n_: True), ("exact<=2048", lambda n_: n_ <= 2048),
                         ("sketch>2048", lambda n_: n_ > 2048)):
        for qi, q in enumerate(("p50", "p95", "p99")):
            ex, got = [], []
            for src in sources:
                for (s, b) in eligible:
                    e = exact[(s, b)]
                    if not pick(e[0]):
                        continue
                    v = quant[q].get((src, s, b))
                    if v is None:
                        raise SystemExit(f"no {q} in the store for {src} {s} {b}")
                    ex.append(e[2 + qi])
                    got.append(v)
            acc[(regime, q)] = summary(relative_errors(np.array(ex, float), np.array(got, float)))
    sizes = np.array([exact[k][0] for k in eligible])
    bucket_info = {
        "buckets_total": len(exact), "buckets_ge_min": len(eligible),
        "buckets_exact_regime": int((sizes <= 2048).sum()), "buckets_sketch_regime": int((sizes > 2048).sum()),
        "requests_min": int(min(e[0] for e in exact.values())), "requests_max": int(sizes.max()),
        "sources": len(sources),
    }
    print("RAW buckets " + json.dumps(bucket_info), flush=True)
    for (regime, q), s in acc.items():
        print("RAW accuracy " + json.dumps({"regime": regime, "quantile": q, **s}), flush=True)

    # pharos_service_fast_requests{le_ms}: exactly the requests within each step while a bucket
    # is exact, at most those within 0.5 % over it from the sketch.
    fast = check_fast_requests(pharos, selector, sources, fleet, buckets, key, lat, exact)
    print("RAW fast_requests " + json.dumps(fast), flush=True)
    if fast["failed"]:
        raise SystemExit(f"pharos_service_fast_requests out of bounds: {fast}")

    # The services API for every service: counts summed over the sources, quantiles the highest
    # of the sources (identical data in each, so the same values).
    api_ex, api_got, api_bad = [], [], 0
    pharos.login()
    for name in fleet.names:
        answer = pharos.get_json(f"/api/services/{urllib.parse.quote(name)}/latency?from=now-15m")
        by_start = {}
        for bucket in answer["buckets"]:
            start = calendar.timegm(time.strptime(bucket["start"][:19], "%Y-%m-%dT%H:%M:%S"))
            by_start[start] = bucket
        for b in buckets:
            e = exact.get((name, b))
            if e is None:
                continue
            got = by_start.get(b)
            if got is None or got["count"] != e[0] * len(sources) or got["errors"] != e[1] * len(sources):
                api_bad += 1
                continue
            if e[0] >= args.min_requests:
                api_ex.append(e[3])
                api_got.append(got["p95_ms"])
    api = summary(relative_errors(np.array(api_ex, float), np.array(api_got, float)))
    api["count_mismatches"] = api_bad
    print("RAW api " + json.dumps(api), flush=True)
    if api_bad:
        raise SystemExit(f"/api/services/{{id}}/latency: {api_bad} buckets with wrong counts")

    report_ingest(setup, idle, runs, reference, bucket_info, acc, api, fast, args)


LADDER_MS = (50, 100, 150, 200, 250, 300, 400, 500, 750, 1000)


def check_fast_requests(pharos, selector, sources, fleet, buckets, key, lat, exact):
    """The ladder counts of every (source, service, bucket) against numpy's: equal while the
    bucket has at most 2,048 requests; from the sketch, between the requests within the step and
    those within the upper edge of the sketch bucket holding the step (gamma^ceil(log_gamma le),
    gamma = 1.005/0.995: up to 1.0 % above the step). Also counts sketch answers that include
    requests more than 0.5 % over the step (what docs/user/latency-from-logs.md promises)."""
    data = pharos.query(f"pharos_service_fast_requests{{{selector}}}[30m]")
    got = {}
    for series in data["result"]:
        labels = series["metric"]
        for t, v in series["values"]:
            got[(labels.get("source"), labels.get("service"), int(float(t)) // BUCKET_S * BUCKET_S,
                 int(float(labels.get("le_ms", "nan"))))] = float(v)
    gamma = 1.005 / 0.995
    size = int(key.max()) + 1
    res = {"checked": 0, "missing": 0, "exact_regime_mismatches": 0, "sketch_differing": 0,
           "sketch_out_of_bounds": 0, "sketch_over_half_percent": 0, "sketch_max_excess_of_requests": 0.0}
    for le in LADDER_MS:
        edge = gamma ** math.ceil(math.log(le) / math.log(gamma))
        lo = np.bincount(key[lat <= le], minlength=size)
        half = np.bincount(key[lat <= le * 1.005], minlength=size)
        hi = np.bincount(key[lat <= edge], minlength=size)
        for k in range(size):
            e = exact.get((fleet.names[k // 2], buckets[k % 2]))
            if e is None:
                continue
            for src in sources:
                v = got.get((src, fleet.names[k // 2], buckets[k % 2], le))
                if v is None:
                    res["missing"] += 1
                    continue
                res["checked"] += 1
                if e[0] <= 2048:
                    res["exact_regime_mismatches"] += int(v != lo[k])
                    continue
                res["sketch_differing"] += int(v != lo[k])
                res["sketch_out_of_bounds"] += int(not (lo[k] <= v <= hi[k]))
                res["sketch_over_half_percent"] += int(v > half[k])
                res["sketch_max_excess_of_requests"] = max(res["sketch_max_excess_of_requests"],
                                                           float((v - lo[k]) / e[0]))
    res["failed"] = res["missing"] + res["exact_regime_mismatches"] + res["sketch_out_of_bounds"]
    return res


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def report_ingest(setup, idle, runs, reference, bucket_info, acc, api, fast, args):
    print()
    print(f"Ingest: {setup['lines_per_run']:,} lines per run ({setup['services']} services, "
          f"{setup['body_lines']:,} lines per push, 2 buckets), {args.rounds} rounds; "
          f"Pharos idle: {idle:.3f} cores; mean line {setup['mean_line_bytes']:.0f} bytes")
    print()
    print("| mode | body | connections | lines/s (wall) | Pharos CPU s | lines per CPU-second | Pharos cores | client CPU s | push p50 ms | rounds: lines/CPU-s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    per_mode = {}
    for rec in runs:
        per_mode.setdefault(rec["mode"], []).append(rec)
    best = {}
    for mode, recs in per_mode.items():
        fmt = "JSON+gzip" if "json" in mode else "protobuf+snappy"
        lps = median([r["lines_per_s"] for r in recs])
        lpc = median([r["lines_per_cpu_s"] for r in recs])
        best[mode] = lpc
        print(f"| {mode} | {fmt}, {recs[0]['body_mib']:.2f} MiB | {recs[0]['connections']} | {lps:,.0f} | "
              f"{median([r['pharos_cpu_s'] for r in recs]):.2f} | {lpc:,.0f} | "
              f"{median([r['pharos_cores'] for r in recs]):.2f} | {median([r['client_cpu_s'] for r in recs]):.2f} | "
              f"{median([r['req_p50_ms'] for r in recs]):.0f} | "
              + " / ".join(f"{r['lines_per_cpu_s']:,.0f}" for r in recs) + " |")
    print()
    print(f"Accuracy: {bucket_info['buckets_total']} (service, bucket) pairs per source x {bucket_info['sources']} sources; "
          f"{bucket_info['buckets_ge_min']} with >= {args.min_requests} requests ({bucket_info['buckets_exact_regime']} "
          f"<= 2,048 requests, answered exactly; {bucket_info['buckets_sketch_regime']} > 2,048, from the sketch; "
          f"largest {bucket_info['requests_max']:,}). Counts and errors: exact in every bucket.")
    print()
    print("| buckets | quantile | compared | max relative error | p99 relative error | over 1 % |")
    print("|---|---|---|---|---|---|")
    for (regime, q), s in acc.items():
        print(f"| {regime} | {q} | {s['n']} | {100 * s['max']:.3f} % | {100 * s['p99']:.3f} % | {s['over_1pct']} |")
    print(f"| services API | p95 | {api['n']} | {100 * api['max']:.3f} % | {100 * api['p99']:.3f} % | {api['over_1pct']} |")
    print()
    print(f"pharos_service_fast_requests{{le_ms}} (10 steps, 50-1000 ms): {fast['checked']:,} counts checked; "
          f"{fast['exact_regime_mismatches']} differ from the exact count in buckets of <= 2,048 requests; "
          f"in larger buckets (sketch) {fast['sketch_differing']:,} differ, all within the sketch bucket of the step "
          f"({fast['sketch_out_of_bounds']} outside), {fast['sketch_over_half_percent']:,} include requests more than "
          f"0.5 % over the step (the sketch bucket reaches up to 1.0 % over it); the largest excess is "
          f"{100 * fast['sketch_max_excess_of_requests']:.3f} % of the bucket's requests.")
    print()
    ref = reference["numpy_lines_per_s"]
    print(f"Reference: numpy {reference['numpy']} exact quantiles (one lexsort, nearest rank) on the same "
          f"{setup['lines_per_run']:,} requests: {reference['numpy_s'] * 1000:.0f} ms = {ref:,.0f} lines/s on one core")
    print()
    print("| mode | Pharos lines per CPU-second | / numpy exact lines/s | goal >= 300,000 lines/s per core |")
    print("|---|---|---|---|")
    for mode, lpc in best.items():
        print(f"| {mode} | {lpc:,.0f} | {lpc / ref:.3f}x | {'held' if lpc >= 300_000 else f'missed by {100 * (1 - lpc / 300_000):.0f} %'} |")
    worst = max(s["max"] for (regime, q), s in acc.items() if regime == "all")
    print()
    print(f"Accuracy goal (<= 1 % on every bucket with >= {args.min_requests} requests): "
          f"{'held' if worst <= 0.01 and api['over_1pct'] == 0 else 'MISSED'} (worst {100 * worst:.3f} %)")


# ---------------------------------------------------------------- memory


def cmd_memory(args):
    pharos = Pharos(args.pharos, args.pid)
    fleet = Fleet(args.services, args.seed)
    now_s = int(time.time())
    current = now_s // BUCKET_S * BUCKET_S
    rng = np.random.default_rng(seed_int(f"{args.seed}/memory/{args.services}"))
    n = args.services * args.lines_per_service
    svc = np.repeat(np.arange(args.services, dtype=np.int64), args.lines_per_service)
    ts = rng.integers(max(current, now_s - 60), now_s + 1, n)
    data = Lines(svc, ts, fleet.latencies_ms(rng, svc), fleet.statuses(rng, svc), rng)
    t = time.perf_counter()
    bodies = grouped_bodies(data, fleet, args.body_lines, "json")
    log(f"memory: {n:,} lines for {args.services:,} services built in {time.perf_counter() - t:.1f} s")

    # Warm-up: one body of the same size for one other service, published, so the baseline
    # already holds what the first push and the first store write allocate once (decompression
    # and parse buffers, the store's head and WAL); the growth after it is per service.
    warm = Fleet(1, "warm-up", prefix="warm-up")
    wsvc = np.zeros(args.body_lines, dtype=np.int64)
    wdata = Lines(wsvc, rng.integers(max(current, now_s - 60), now_s + 1, args.body_lines),
                  warm.latencies_ms(rng, wsvc), warm.statuses(rng, wsvc), rng)
    push_bodies(pharos, grouped_bodies(wdata, warm, args.body_lines, "json"), "json", "bench-mem", 1, [(0, 1)])
    time.sleep(2 * args.publish_interval + 1)
    idle = pharos.rss_kib()
    t = time.perf_counter()
    c0 = pharos.cpu_ticks()
    push_bodies(pharos, bodies, "json", "bench-mem", 1, [(0, len(bodies))])
    wall = time.perf_counter() - t
    cpu = (pharos.cpu_ticks() - c0) / CLK_TCK
    after_push = pharos.rss_kib()
    # Every service's bucket written to the store.
    deadline = time.time() + 120
    while True:
        time.sleep(args.publish_interval)
        pharos.login()
        result = pharos.query('count(last_over_time(pharos_service_requests{source="bench-mem"}[10m]))')["result"]
        published = int(float(result[0]["value"][1])) if result else 0
        if published == args.services + 1 or time.time() > deadline:
            break
    if published != args.services + 1:
        raise SystemExit(f"only {published} of {args.services} services published")
    time.sleep(args.publish_interval)
    rss = pharos.rss_kib()
    hwm = pharos.rss_kib("VmHWM")
    m = pharos.self_metrics()
    rec = {
        "services": args.services, "lines": n, "lines_per_service": args.lines_per_service,
        "push_wall_s": wall, "push_cpu_s": cpu, "rss_idle_kib": idle, "rss_after_push_kib": after_push,
        "rss_published_kib": rss, "hwm_kib": hwm,
        "growth_per_service_kib": (rss - idle) / args.services,
        "logs_services": m.get("pharos_logs_services"), "logs_buckets": m.get("pharos_logs_buckets"),
        "lines_total": sum(v for k, v in m.items() if k.startswith("pharos_logs_lines_total")),
    }
    if rec["logs_services"] != args.services + 1:
        raise SystemExit(f"pharos_logs_services = {rec['logs_services']}, expected {args.services} + 1 (warm-up)")
    print("RAW memory " + json.dumps(rec), flush=True)
    log(f"memory {args.services:,} services: RSS {idle / 1024:.1f} -> {rss / 1024:.1f} MiB "
        f"({rec['growth_per_service_kib']:.2f} KiB per service)")


def cmd_memory_table(args):
    recs = []
    with open(args.raw) as f:
        for line in f:
            if line.startswith("RAW memory "):
                recs.append(json.loads(line[len("RAW memory "):]))
    recs.sort(key=lambda r: r["services"])
    print("| services | lines | push s | RSS idle MiB | RSS after MiB | growth MiB | per service KiB | marginal KiB per service (vs previous row) | pharos_logs_services (+1 warm-up) | pharos_logs_buckets |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    prev = None
    for r in recs:
        growth = r["rss_published_kib"] - r["rss_idle_kib"]
        marginal = "—"
        if prev is not None:
            pg = prev["rss_published_kib"] - prev["rss_idle_kib"]
            marginal = f"{(growth - pg) / (r['services'] - prev['services']):.2f}"
        print(f"| {r['services']:,} | {r['lines']:,} | {r['push_wall_s']:.1f} | {r['rss_idle_kib'] / 1024:.1f} | "
              f"{r['rss_published_kib'] / 1024:.1f} | {growth / 1024:.1f} | {r['growth_per_service_kib']:.2f} | "
              f"{marginal} | {r['logs_services']:.0f} | {r['logs_buckets']:.0f} |")
        prev = r


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("ingest")
    p.add_argument("--pharos", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--services", type=int, default=200)
    p.add_argument("--lines", type=int, default=2_000_000)
    p.add_argument("--body-lines", type=int, default=50_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--modes", default="json-seq:json:1,json-par2:json:2,proto-seq:proto:1")
    p.add_argument("--seed", default="T026")
    p.add_argument("--min-requests", type=int, default=100)
    p.add_argument("--settle", type=int, default=5)
    p.add_argument("--publish-interval", type=int, default=5)
    p.set_defaults(func=cmd_ingest)
    p = sub.add_parser("memory")
    p.add_argument("--pharos", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--services", type=int, required=True)
    p.add_argument("--lines-per-service", type=int, default=200)
    p.add_argument("--body-lines", type=int, default=20_000)
    p.add_argument("--seed", default="T026")
    p.add_argument("--publish-interval", type=int, default=5)
    p.set_defaults(func=cmd_memory)
    p = sub.add_parser("memory-table")
    p.add_argument("raw")
    p.set_defaults(func=cmd_memory_table)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
