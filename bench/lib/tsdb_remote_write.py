#!/usr/bin/env python3
"""Remote-write (1.0) load generator for the TSDB benchmarks, standard library only.

Requests are protobuf `WriteRequest`s encoded by hand inside a snappy block made of one literal
element (valid snappy that any decoder accepts, without compression work on either side). Each
request is built once as a template with fixed-width sample slots (an 8-byte double and a
timestamp varint padded to 6 bytes), so a new batch only patches values and timestamps in place.

Series and values come from tsdb_data.py (a profile's groups), split into request units of about
--series-per-request series. Worker processes own disjoint units and send them one request at a
time on one keep-alive connection, so every series receives its samples in time order.

  ingest   throughput: rounds of --batches batches (one sample per series each, timestamps
           --step-ms apart), each round's bodies built before the clock starts and then sent to
           every --target in turn (the order alternates between rounds). Prints one `ROUND` line
           per round and target and checks afterwards that each target stored every sample.
  replay   time-ordered load of a profile (the same data as `tsdb_data.py openmetrics`), several
           samples per series per request, workers kept in step by a barrier.

A --target is NAME=URL[@PID]; with a PID the server's CPU time and RSS are read from /proc.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tsdb_data  # noqa: E402

SAMPLE_BYTES = 18  # 0x12 len | 0x09 double(8) | 0x10 varint(6)
DOUBLE = struct.Struct("<d")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
    "User-Agent": "pharos-bench-remote-write/1",
}


# ---------------------------------------------------------------- encoding

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


def fixed_varint6(n):
    """A varint of exactly 6 bytes (valid protobuf: padding is allowed for in-range values)."""
    if not 0 <= n < 1 << 42:
        raise ValueError(f"timestamp {n} does not fit a 6-byte varint")
    return bytes([((n >> (7 * i)) & 0x7F) | (0x80 if i < 5 else 0) for i in range(6)])


def length_delimited(field, payload):
    return uvarint((field << 3) | 2) + uvarint(len(payload)) + payload


def snappy_literal_header(length):
    """Snappy block header for a body that is a single literal of `length` bytes."""
    n = length - 1
    if n < 60:
        tag = bytes([n << 2])
    elif n < 1 << 8:
        tag = bytes([60 << 2]) + n.to_bytes(1, "little")
    elif n < 1 << 16:
        tag = bytes([61 << 2]) + n.to_bytes(2, "little")
    elif n < 1 << 24:
        tag = bytes([62 << 2]) + n.to_bytes(3, "little")
    else:
        tag = bytes([63 << 2]) + n.to_bytes(4, "little")
    return uvarint(length) + tag


class Template:
    """A request for a fixed list of series with `per_series` sample slots each."""

    def __init__(self, label_sets, per_series):
        raw = bytearray()
        slots = []
        empty_sample = b"\x12\x10\x09" + bytes(8) + b"\x10" + fixed_varint6(0)
        for labels in label_sets:
            series = bytearray()
            for name, value in labels:
                series += length_delimited(1, length_delimited(1, name.encode()) + length_delimited(2, value.encode()))
            first = len(series)
            series += empty_sample * per_series
            raw += uvarint((1 << 3) | 2) + uvarint(len(series))
            slots.append(len(raw) + first)
            raw += series
        header = snappy_literal_header(len(raw))
        self.body = bytes(header + raw)
        self.slots = [slot + len(header) for slot in slots]
        self.per_series = per_series
        self.samples = len(self.slots) * per_series

    def fill(self, columns, timestamps_ms):
        """A body with `columns[k][i]` as series i's value at `timestamps_ms[k]`."""
        body = bytearray(self.body)
        pack = DOUBLE.pack_into
        for k, (values, ts) in enumerate(zip(columns, timestamps_ms)):
            ts_bytes = fixed_varint6(ts)
            offset = k * SAMPLE_BYTES
            for slot, value in zip(self.slots, values):
                at = slot + offset
                pack(body, at + 3, value)
                body[at + 12:at + 18] = ts_bytes
        return bytes(body)


# ---------------------------------------------------------------- units and values

def request_units(profile, series_per_request):
    """Group indices per request unit: consecutive groups of about `series_per_request` series."""
    units, current, size = [], [], 0
    for index, group in enumerate(tsdb_data.groups(profile)):
        if current and size + len(group.series) > series_per_request:
            units.append(current)
            current, size = [], 0
        current.append(index)
        size += len(group.series)
    if current:
        units.append(current)
    return units


class Unit:
    """The groups of one request unit, their label sets and the per-step value columns."""

    def __init__(self, all_groups, indices, per_series):
        self.groups = [all_groups[i] for i in indices]
        labels = [tsdb_data.sorted_labels(name, lbl) for g in self.groups for name, lbl in g.series]
        self.template = Template(labels, per_series)

    def next_values(self, step_s):
        values = []
        for group in self.groups:
            values.extend(group.advance(step_s))
        return values


def post(connection, body):
    """POSTs one body; returns (status, answer text)."""
    connection.request("POST", connection.bench_path, body=body, headers=HEADERS)
    response = connection.getresponse()
    answer = response.read()
    return response.status, answer


def connect(url):
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port or 80, timeout=120)
    connection.bench_path = parsed.path or "/api/v1/write"
    return connection


# ---------------------------------------------------------------- ingest mode

def ingest_worker(worker, args, unit_indices, targets, pipe, barrier):
    """Builds this worker's bodies for a round, then sends them to each target on command."""
    all_groups = tsdb_data.groups(args.profile)
    units = [Unit(all_groups, indices, 1) for indices in unit_indices]
    connections = {name: connect(url) for name, url, _ in targets}
    bodies = []
    while True:
        command = pipe.recv()
        if command[0] == "stop":
            pipe.send(("stopped",))
            return
        if command[0] == "build":
            _, first_batch, batches = command
            bodies = []
            for batch in range(first_batch, first_batch + batches):
                ts = args.start_ms + batch * args.step_ms
                for unit in units:
                    bodies.append(unit.template.fill([unit.next_values(15)], [ts]))
            pipe.send(("built", len(bodies)))
            continue
        _, target = command  # ("send", target)
        connection = connections[target]
        latencies, errors, first_error, samples = [], 0, "", 0
        cpu_before = os.times()
        barrier.wait()
        started = time.monotonic()
        for unit_index, body in enumerate(bodies):
            sent_at = time.monotonic()
            try:
                status, answer = post(connection, body)
            except (OSError, http.client.HTTPException) as error:
                status, answer = 0, str(error).encode()
                connection.close()
            latencies.append(time.monotonic() - sent_at)
            if 200 <= status < 300:
                samples += units[unit_index % len(units)].template.samples
            else:
                errors += 1
                first_error = first_error or f"HTTP {status}: {answer[:300].decode(errors='replace').strip()}"
        finished = time.monotonic()
        cpu_after = os.times()
        client_cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
        pipe.send(("sent", started, finished, samples, latencies, errors, first_error, client_cpu))


def proc_cpu_seconds(pid):
    if not pid:
        return None
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def proc_rss_bytes(pid):
    if not pid:
        return None
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


def parse_target(text):
    name, _, rest = text.partition("=")
    url, _, pid = rest.partition("@")
    if not name or not url:
        raise SystemExit(f"--target {text!r}: expected NAME=URL[@PID]")
    return name, url.rstrip("/") + "/api/v1/write", int(pid) if pid else None


def instant_query(base_url, query, at_s):
    params = urllib.parse.urlencode({"query": query, "time": f"{at_s:.3f}"})
    try:
        with urllib.request.urlopen(f"{base_url}/api/v1/query?{params}", timeout=300) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{query}: HTTP {error.code}: {error.read()[:300]!r}") from error
    if answer.get("status") != "success":
        raise RuntimeError(f"{query} on {base_url}: {answer}")
    return answer["data"]["result"]


def scalar_result(base_url, query, at_s):
    result = instant_query(base_url, query, at_s)
    return float(result[0]["value"][1]) if result else 0.0


def run_ingest(args):
    targets = [parse_target(t) for t in args.target]
    units = request_units(args.profile, args.series_per_request)
    per_worker = [units[w::args.workers] for w in range(args.workers)]
    series = tsdb_data.series_count(args.profile)
    barrier = multiprocessing.Barrier(args.workers + 1)
    workers, pipes = [], []
    for w in range(args.workers):
        parent_end, child_end = multiprocessing.Pipe()
        process = multiprocessing.Process(target=ingest_worker, args=(w, args, per_worker[w], targets, child_end, barrier))
        process.start()
        workers.append(process)
        pipes.append(parent_end)
    rounds = [("warmup", args.warmup_batches)] + [(f"{r + 1}", args.batches) for r in range(args.rounds)]
    print(f"# {series} series in {len(units)} requests of <= {args.series_per_request} series per batch, "
          f"{args.workers} workers; timestamps from {args.start_ms} ms, {args.step_ms} ms apart", flush=True)
    failed = False
    first_batch = 0
    sent_per_target = {name: 0 for name, _, _ in targets}
    try:
        for round_index, (round_name, batches) in enumerate(rounds):
            if batches <= 0:
                continue
            for pipe in pipes:
                pipe.send(("build", first_batch, batches))
            for pipe in pipes:
                pipe.recv()
            first_batch += batches
            order = targets if round_index % 2 == 0 else list(reversed(targets))
            for name, _, pid in order:
                cpu_before = proc_cpu_seconds(pid)
                for pipe in pipes:
                    pipe.send(("send", name))
                barrier.wait()
                replies = [pipe.recv() for pipe in pipes]
                cpu_after = proc_cpu_seconds(pid)
                started = min(r[1] for r in replies)
                finished = max(r[2] for r in replies)
                samples = sum(r[3] for r in replies)
                latencies = sorted(x for r in replies for x in r[4])
                errors = sum(r[5] for r in replies)
                client_cpu = sum(r[7] for r in replies)
                sent_per_target[name] += samples
                seconds = finished - started
                line = (f"ROUND round={round_name} target={name} samples={samples} seconds={seconds:.3f} "
                        f"samples_per_s={samples / seconds:.0f} requests={len(latencies)} "
                        f"p50_ms={1000 * statistics.median(latencies):.2f} "
                        f"p99_ms={1000 * latencies[int(0.99 * (len(latencies) - 1))]:.2f} errors={errors}")
                if cpu_before is not None:
                    server_cpu = cpu_after - cpu_before
                    line += f" server_cpu_s={server_cpu:.2f} server_cpu_us_per_sample={1e6 * server_cpu / max(samples, 1):.2f}"
                    line += f" rss_mib={proc_rss_bytes(pid) / 1048576:.0f}"
                line += f" client_cpu_s={client_cpu:.2f}"
                print(line, flush=True)
                if errors:
                    failed = True
                    print(f"# {name}: {errors} failed requests, first: {next(r[6] for r in replies if r[6])}", flush=True)
    finally:
        for pipe in pipes:
            pipe.send(("stop",))
        for process in workers:
            process.join(timeout=30)
    last_ts = args.start_ms + (first_batch - 1) * args.step_ms
    span_s = (first_batch * args.step_ms) // 1000 + 60
    for name, url, _ in targets:
        base = url.rsplit("/api/v1/write", 1)[0]
        stored = scalar_result(base, tsdb_data.count_query(args.profile, span_s), last_ts / 1000)
        ok = int(stored) == sent_per_target[name]
        print(f"CHECK target={name} sent={sent_per_target[name]} stored={int(stored)} {'ok' if ok else 'MISMATCH'}", flush=True)
        failed |= not ok
    totals = {name: scalar_result(url.rsplit('/api/v1/write', 1)[0], "sum(bench_requests_total)", last_ts / 1000)
              for name, url, _ in targets}
    if len(set(totals.values())) > 1:
        print(f"CHECK sum(bench_requests_total) differs between targets: {totals}", flush=True)
        failed = True
    else:
        print(f"CHECK sum(bench_requests_total) at the last batch is {next(iter(totals.values()))} on every target", flush=True)
    return 1 if failed else 0


# ---------------------------------------------------------------- replay mode

def replay_worker(args, unit_indices, url, barrier, results):
    all_groups = tsdb_data.groups(args.profile)
    connection = connect(url)
    errors, first_error, samples = 0, "", 0
    templates = {}
    units = [(indices, [all_groups[i] for i in indices]) for indices in unit_indices]
    for chunk_start in range(0, args.steps, args.steps_per_request):
        count = min(args.steps_per_request, args.steps - chunk_start)
        timestamps = [args.start_ms + (chunk_start + k) * args.step * 1000 for k in range(count)]
        for indices, groups in units:
            key = (tuple(indices), count)
            if key not in templates:
                labels = [tsdb_data.sorted_labels(name, lbl) for g in groups for name, lbl in g.series]
                templates[key] = Template(labels, count)
            columns = []
            for _ in range(count):
                values = []
                for group in groups:
                    values.extend(group.advance(args.step))
                columns.append(values)
            template = templates[key]
            body = template.fill(columns, timestamps)
            try:
                status, answer = post(connection, body)
            except (OSError, http.client.HTTPException) as error:
                status, answer = 0, str(error).encode()
                connection.close()
            if 200 <= status < 300:
                samples += template.samples
            else:
                errors += 1
                first_error = first_error or f"HTTP {status}: {answer[:300].decode(errors='replace').strip()}"
        barrier.wait()
    results.put((samples, errors, first_error))


def run_replay(args):
    url = args.url.rstrip("/") + "/api/v1/write"
    units = request_units(args.profile, args.series_per_request)
    barrier = multiprocessing.Barrier(args.workers)
    results = multiprocessing.Queue()
    started = time.monotonic()
    workers = [multiprocessing.Process(target=replay_worker, args=(args, units[w::args.workers], url, barrier, results))
               for w in range(args.workers)]
    for process in workers:
        process.start()
    replies = [results.get() for _ in workers]
    for process in workers:
        process.join()
    seconds = time.monotonic() - started
    samples = sum(r[0] for r in replies)
    errors = sum(r[1] for r in replies)
    print(f"REPLAY profile={args.profile} samples={samples} seconds={seconds:.1f} samples_per_s={samples / seconds:.0f} "
          f"errors={errors}", flush=True)
    if errors:
        print(f"# first error: {next(r[2] for r in replies if r[2])}", flush=True)
        return 1
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    ingest = sub.add_parser("ingest")
    ingest.add_argument("--target", action="append", required=True, help="NAME=URL[@PID], repeatable")
    ingest.add_argument("--profile", default="footprint", choices=sorted(tsdb_data.PROFILES))
    ingest.add_argument("--rounds", type=int, default=3)
    ingest.add_argument("--batches", type=int, default=200, help="batches per measured round")
    ingest.add_argument("--warmup-batches", type=int, default=50)
    ingest.add_argument("--workers", type=int, default=4)
    ingest.add_argument("--series-per-request", type=int, default=500)
    ingest.add_argument("--start-ms", type=int, required=True)
    ingest.add_argument("--step-ms", type=int, default=1000)
    replay = sub.add_parser("replay")
    replay.add_argument("--url", required=True, help="server base URL")
    replay.add_argument("--profile", required=True, choices=sorted(tsdb_data.PROFILES))
    replay.add_argument("--start", type=int, required=True, help="first timestamp, unix seconds")
    replay.add_argument("--steps", type=int, required=True)
    replay.add_argument("--step", type=int, default=15)
    replay.add_argument("--workers", type=int, default=2)
    replay.add_argument("--series-per-request", type=int, default=500)
    replay.add_argument("--steps-per-request", type=int, default=20)
    args = parser.parse_args()
    if args.command == "ingest":
        sys.exit(run_ingest(args))
    args.start_ms = args.start * 1000
    sys.exit(run_replay(args))


if __name__ == "__main__":
    main()
