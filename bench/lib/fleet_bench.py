#!/usr/bin/env python3
"""Clients for bench/fleet.sh (standard library only).

delay-proxy  a reverse proxy that holds every answer of its upstream (Prometheus) for a while: the
             slow cluster of the fan-out bench.
fanout       federated instant queries (POST /api/v1/metrics/query) over the registered clusters,
             sequential and concurrent, each answer's `clusters` section checked; a direct query to
             Prometheus as the reference.
ws           N WebSocket subscribers of topic `alerts` on GET /ws (a minimal RFC 6455 client on
             asyncio), webhooks posted at a steady rate, per-event delivery delay, loss, Pharos RSS.
webhooks     Alertmanager webhooks (version 4), each a new firing alert, at a fixed rate from
             keep-alive connections; every answer must be 2xx and the alert book must hold them all.

Every subcommand prints raw lines, then a markdown table; a wrong answer or a lost event exits
non-zero.
"""

import argparse
import asyncio
import base64
import http.client
import http.server
import json
import multiprocessing
import os
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse

# ---------------------------------------------------------------- shared


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100.0 * (len(ordered) - 1)))))
    return ordered[index]


def proc_rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_threads(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def fail(message):
    print(f"fleet_bench: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def connection_for(url, timeout=60):
    parsed = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)


def rfc3339_now():
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"


def alert_payload(alertname, seq, fingerprint):
    """An Alertmanager webhook (version 4) carrying one new firing alert."""
    labels = {"alertname": alertname, "seq": str(seq), "severity": "warning", "namespace": "bench"}
    alert = {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": f"bench alert {seq}"},
        "startsAt": rfc3339_now(),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.invalid/graph",
        "fingerprint": fingerprint,
    }
    return json.dumps({
        "version": "4", "groupKey": f"{{}}:{{alertname=\"{alertname}\"}}", "truncatedAlerts": 0,
        "status": "firing", "receiver": "pharos", "groupLabels": {"alertname": alertname},
        "commonLabels": labels, "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager.invalid", "alerts": [alert],
    }).encode()


def fleet_alert_total(pharos, token, cluster):
    conn = connection_for(pharos)
    conn.request("GET", f"/api/v1/fleet/alerts?limit=1&cluster={cluster}",
                 headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status != 200:
        fail(f"GET /api/v1/fleet/alerts answered {response.status}: {body[:300]!r}")
    return json.loads(body)["total"]


# ---------------------------------------------------------------- delay-proxy


def delay_proxy(args):
    upstream = urllib.parse.urlsplit(args.upstream)
    delay = args.delay

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body are two writes: without this, Nagle + delayed ACK add 40 ms.
        disable_nagle_algorithm = True

        def forward(self):
            started = time.monotonic()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() in ("content-type", "accept", "authorization")}
            try:
                conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                payload = answer.read()
                status, content_type = answer.status, answer.getheader("Content-Type")
                conn.close()
            except OSError as error:
                status, content_type = 502, "text/plain"
                payload = f"delay-proxy: {error}".encode()
            # Hold the answer until `delay` after the request arrived.
            time.sleep(max(0.0, delay - (time.monotonic() - started)))
            try:
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the caller gave up (its timeout): nothing to answer

        do_GET = forward
        do_POST = forward

        def log_message(self, *_):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 256

    server = Server(("127.0.0.1", args.port), Handler)
    print(f"delay-proxy: 127.0.0.1:{args.port} -> {args.upstream}, {delay}s", flush=True)
    server.serve_forever()


# ---------------------------------------------------------------- fanout


def check_federated(answer, expect_ok, expect_timeout, expect_absent):
    """Checks one federated answer; returns (max cluster ms, sum of cluster ms) or fails."""
    if answer.get("status") != "success":
        fail(f"federated answer is not a success: {json.dumps(answer)[:400]}")
    clusters = answer.get("clusters") or {}
    wanted = set(expect_ok) | set(expect_timeout)
    if set(clusters) != wanted:
        fail(f"clusters section names {sorted(clusters)}, expected {sorted(wanted)}")
    for name in expect_ok:
        if clusters[name].get("status") != "ok":
            fail(f"cluster {name}: {clusters[name]} (expected ok)")
    for name in expect_timeout:
        if clusters[name].get("status") != "timeout":
            fail(f"cluster {name}: {clusters[name]} (expected timeout)")
        if not any(name in w for w in answer.get("warnings") or []):
            fail(f"the answer's warnings do not name the timed-out cluster {name}")
    seen = {}
    for series in answer["data"]["result"]:
        name = series["metric"].get("cluster")
        seen[name] = seen.get(name, 0) + 1
    if set(seen) != set(expect_ok):
        fail(f"series came from clusters {sorted(seen)}, expected {sorted(expect_ok)}")
    if len(set(seen.values())) != 1:
        fail(f"clusters answered different series counts: {seen}")
    for name in expect_absent:
        if name in seen:
            fail(f"cluster {name} should not have been asked")
    latencies = [c.get("latency_ms", 0) for c in clusters.values()]
    return max(latencies), sum(latencies)


def fanout(args):
    healthy = args.healthy.split(",")
    slow = args.slow
    auth = {"Authorization": f"Bearer {args.token}", "Content-Type": "application/json"}
    scenarios = [
        # name, target, body, expected ok, expected timeout, expected absent
        ("direct-prometheus", "prometheus", None, [], [], []),
        ("fleet-9-healthy", "pharos", {"query": args.query, "clusters": healthy}, healthy, [], [slow]),
        ("fleet-10-all", "pharos", {"query": args.query}, healthy + [slow], [], []),
        ("fleet-10-timeout-1s", "pharos", {"query": args.query, "timeout": "1s"}, healthy, [slow], []),
    ]

    def one(conn, scenario):
        name, target, body, ok, timeout, absent = scenario
        started = time.perf_counter()
        if target == "prometheus":
            conn.request("POST", "/api/v1/query", body=urllib.parse.urlencode({"query": args.query}),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        else:
            conn.request("POST", "/api/v1/metrics/query", body=json.dumps(body), headers=auth)
        response = conn.getresponse()
        raw = response.read()
        elapsed = (time.perf_counter() - started) * 1000.0
        if response.status != 200:
            fail(f"{name}: HTTP {response.status}: {raw[:400]!r}")
        answer = json.loads(raw)
        if target == "prometheus":
            if answer.get("status") != "success" or not answer["data"]["result"]:
                fail(f"{name}: unexpected answer {raw[:300]!r}")
            return elapsed, elapsed, elapsed, len(answer["data"]["result"])
        cmax, csum = check_federated(answer, ok, timeout, absent)
        return elapsed, cmax, csum, len(answer["data"]["result"])

    def url_of(target):
        return args.prometheus if target == "prometheus" else args.pharos

    results = {}

    def register_extra_slow():
        """More clusters behind the delay proxy, for the sharpest "not the sum" case."""
        names = [f"{slow}-{i}" for i in range(2, args.extra_slow + 2)]
        conn = connection_for(args.pharos)
        for name in names:
            conn.request("POST", "/api/v1/clusters", headers=auth, body=json.dumps(
                {"name": name, "type": "spoke", "prometheus_url": args.slow_url}))
            response = conn.getresponse()
            raw = response.read()
            if response.status != 201:
                fail(f"registering {name}: HTTP {response.status}: {raw[:300]!r}")
        conn.close()
        return [slow] + names

    if args.extra_slow:
        scenarios.append("many-slow")  # registered only now: the 10-cluster cases must not see them
    for scenario in scenarios:
        if scenario == "many-slow":
            many = register_extra_slow()
            scenario = (f"fleet-{len(many)}-slow", "pharos", {"query": args.query, "clusters": many},
                        many, [], healthy)
        name, target = scenario[0], scenario[1]
        conn = connection_for(url_of(target))
        for _ in range(args.warmup):
            one(conn, scenario)
        # The many-slow case costs 2 s a query: a fifth of the runs tells as much.
        runs = max(5, args.runs // 5) if name.endswith("-slow") else args.runs
        sequential = [one(conn, scenario) for _ in range(runs)]
        conn.close()
        # Concurrent round: `concurrency` clients, each with its own connection.
        concurrent, lock = [], threading.Lock()

        def client(count):
            c = connection_for(url_of(target))
            mine = [one(c, scenario) for _ in range(count)]
            c.close()
            with lock:
                concurrent.extend(mine)

        per_client = max(1, runs // args.concurrency)
        threads = [threading.Thread(target=client, args=(per_client,)) for _ in range(args.concurrency)]
        round_started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        round_seconds = time.perf_counter() - round_started
        if len(concurrent) != per_client * args.concurrency:
            fail(f"{name}: concurrent round lost answers ({len(concurrent)})")
        results[name] = (sequential, concurrent, round_seconds)
        walls = [r[0] for r in sequential]
        print(f"RAW fanout {name} sequential n={len(walls)} series={sequential[0][3]} "
              f"wall_ms p50={percentile(walls, 50):.1f} p99={percentile(walls, 99):.1f} "
              f"max={max(walls):.1f} min={min(walls):.1f} "
              f"cluster_max_ms p50={percentile([r[1] for r in sequential], 50):.1f} "
              f"cluster_sum_ms p50={percentile([r[2] for r in sequential], 50):.1f}", flush=True)
        cw = [r[0] for r in concurrent]
        print(f"RAW fanout {name} concurrent clients={args.concurrency} n={len(cw)} "
              f"wall_ms p50={percentile(cw, 50):.1f} p99={percentile(cw, 99):.1f} max={max(cw):.1f} "
              f"round_s={round_seconds:.2f} answers_per_s={len(cw) / round_seconds:.1f}", flush=True)

    direct = percentile([r[0] for r in results["direct-prometheus"][0]], 50)
    direct_c = percentile([r[0] for r in results["direct-prometheus"][1]], 50)
    print()
    print(f"Federated `{args.query}` over 10 clusters (9 healthy on one Prometheus, `{slow}` behind "
          f"a {args.delay:g} s delay proxy); {args.runs} sequential queries, then "
          f"{args.concurrency} concurrent clients x {max(1, args.runs // args.concurrency)}; every "
          f"answer's `clusters` section checked.")
    print()
    print("| scenario | seq p50 ms | seq p99 ms | conc p50 ms | conc p99 ms | seq p50 / direct | "
          "slowest cluster p50 ms | Σ cluster ms p50 (the sum) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (sequential, concurrent, _) in results.items():
        walls, cw = [r[0] for r in sequential], [r[0] for r in concurrent]
        print(f"| {name} | {percentile(walls, 50):.1f} | {percentile(walls, 99):.1f} | "
              f"{percentile(cw, 50):.1f} | {percentile(cw, 99):.1f} | "
              f"{percentile(walls, 50) / direct:.1f}x | "
              f"{percentile([r[1] for r in sequential], 50):.1f} | "
              f"{percentile([r[2] for r in sequential], 50):.1f} |")
    print()
    # "Never the sum": the answer must track the slowest asked cluster (or the timeout), not
    # the slowest plus the other nine one after the other.
    verdicts = []
    for name, bound in (("fleet-10-all", args.delay * 1000.0), ("fleet-10-timeout-1s", 1000.0)):
        walls = [r[0] for r in results[name][0]]
        p50 = percentile(walls, 50)
        serial = bound + 9 * direct
        extra = p50 - bound
        verdicts.append(f"{name}: p50 {p50:.1f} ms = {bound:.0f} ms (slowest cluster or timeout) + "
                        f"{extra:.1f} ms; asked one after another it would be >= {bound:.0f} + 9 x "
                        f"{direct:.1f} = {serial:.1f} ms: with nine ~{direct:.1f} ms clusters the two "
                        f"differ by less than the noise, so this case shows ≈ slowest + ε but cannot "
                        f"tell it from the sum (the many-slow case can)")
    h9 = results["fleet-9-healthy"][0]
    verdicts.append(f"fleet-9-healthy: p50 {percentile([r[0] for r in h9], 50):.1f} ms against Σ of "
                    f"the nine clusters' own latencies p50 {percentile([r[2] for r in h9], 50):.1f} ms "
                    f"(slowest {percentile([r[1] for r in h9], 50):.1f} ms); direct p50 {direct:.1f} ms "
                    f"(concurrent round {direct_c:.1f} ms)")
    many = [n for n in results if n.endswith("-slow")]
    if many:
        walls = [r[0] for r in results[many[0]][0]]
        count = args.extra_slow + 1
        p50 = percentile(walls, 50)
        holds = max(walls) < 2 * args.delay * 1000.0
        verdicts.append(f"{many[0]}: {count} clusters that each take {args.delay * 1000:.0f} ms answer "
                        f"together in p50 {p50:.1f} ms, max {max(walls):.1f} ms; one after another "
                        f"they would take {count * args.delay * 1000:.0f} ms: never the sum "
                        f"{'HOLDS' if holds else 'DOES NOT HOLD'}")
    for line in verdicts:
        print(f"- {line}")


# ---------------------------------------------------------------- WebSocket client


class WsClient(asyncio.Protocol):
    """A minimal RFC 6455 client: upgrade, subscribe, then record each event's arrival."""

    def __init__(self, host_header, token, subscribe, events, on_ready, on_done, cluster):
        self.host_header, self.token, self.subscribe_text = host_header, token, subscribe
        self.received = [0.0] * events
        self.count = 0
        self.events = events
        self.on_ready, self.on_done, self.cluster = on_ready, on_done, cluster
        self.buffer = bytearray()
        self.upgraded = False
        self.subscribed = False
        self.lagged = 0
        self.duplicates = 0
        self.others = 0
        self.closed = False
        self.transport = None
        self.fragments = bytearray()

    def connection_made(self, transport):
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((f"GET /ws HTTP/1.1\r\nHost: {self.host_header}\r\nUpgrade: websocket\r\n"
                         f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                         f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {self.token}\r\n\r\n").encode())

    def send_frame(self, opcode, payload):
        mask = os.urandom(4)
        header = bytearray([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header.append(0x80 | length)
        elif length < 65536:
            header.append(0x80 | 126)
            header += struct.pack("!H", length)
        else:
            header.append(0x80 | 127)
            header += struct.pack("!Q", length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes(header) + mask + masked)

    def data_received(self, data):
        arrived = time.time()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buffer[:end]).split(b"\r\n", 1)[0]
            if b" 101 " not in status + b" ":
                self.fail(f"upgrade refused: {status!r} {bytes(self.buffer[end + 4:end + 300])!r}")
                return
            del self.buffer[:end + 4]
            self.upgraded = True
            self.send_frame(0x1, self.subscribe_text.encode())
        self.parse(arrived)

    def parse(self, arrived):
        buf = self.buffer
        while len(buf) >= 2:
            first, second = buf[0], buf[1]
            length, offset = second & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, offset = struct.unpack_from("!H", buf, 2)[0], 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, offset = struct.unpack_from("!Q", buf, 2)[0], 10
            if len(buf) < offset + length:
                return
            payload = bytes(buf[offset:offset + length])
            del buf[:offset + length]
            opcode, fin = first & 0x0F, first & 0x80
            if opcode == 0x0 or (opcode == 0x1 and not fin):
                self.fragments += payload
                if not fin:
                    continue
                payload, opcode = bytes(self.fragments), 0x1
                self.fragments = bytearray()
            if opcode == 0x1:
                self.message(payload, arrived)
            elif opcode == 0x9:
                self.send_frame(0xA, payload)
            elif opcode == 0x8:
                self.fail(f"server closed the connection: {payload[:2].hex()} {payload[2:200]!r}")
                return

    def message(self, payload, arrived):
        message = json.loads(payload)
        kind = message.get("type")
        if kind == "subscribed":
            if not self.subscribed:
                self.subscribed = True
                self.on_ready(self, None)
        elif kind == "ALERT_FIRED":
            if message.get("cluster") != self.cluster:
                self.others += 1
                return
            seq = int(message["data"]["labels"]["seq"])
            if self.received[seq]:
                self.duplicates += 1
                return
            self.received[seq] = arrived
            self.count += 1
            if self.count == self.events:
                self.on_done(self)
        elif kind == "lagged":
            self.lagged += int(message.get("missed", 0))
        elif kind == "error":
            self.fail(f"server error message: {message}")

    def fail(self, reason):
        if not self.subscribed:
            self.on_ready(self, reason)
        self.closed = True
        if self.transport:
            self.transport.close()

    def connection_lost(self, exc):
        if not self.closed and not self.subscribed:
            self.on_ready(self, f"connection lost before subscribing: {exc}")
        self.closed = True


class SseClient(WsClient):
    """The same subscriber on GET /api/v1/events?topics=alerts (Server-Sent Events, chunked)."""

    def connection_made(self, transport):
        self.transport = transport
        self.chunk_left = 0
        self.text = bytearray()
        transport.write((f"GET /api/v1/events?topics=alerts HTTP/1.1\r\nHost: {self.host_header}\r\n"
                         f"Accept: text/event-stream\r\nAuthorization: Bearer {self.token}\r\n\r\n").encode())

    def data_received(self, data):
        arrived = time.time()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            if not head.startswith(b"http/1.1 200") or b"transfer-encoding: chunked" not in head:
                self.fail(f"events stream refused: {bytes(self.buffer[:300])!r}")
                return
            del self.buffer[:end + 4]
            self.upgraded = True
        # De-chunk into the event text.
        buf = self.buffer
        while buf:
            if self.chunk_left == 0:
                line_end = buf.find(b"\r\n")
                if line_end < 0:
                    break
                size_text = bytes(buf[:line_end]).split(b";")[0].strip()
                if not size_text:  # the CRLF closing the previous chunk
                    del buf[:line_end + 2]
                    continue
                self.chunk_left = int(size_text, 16)
                del buf[:line_end + 2]
                if self.chunk_left == 0:
                    self.fail("events stream ended")
                    return
            take = min(self.chunk_left, len(buf))
            self.text += buf[:take]
            del buf[:take]
            self.chunk_left -= take
        while True:
            end = self.text.find(b"\n\n")
            if end < 0:
                return
            block = bytes(self.text[:end]).decode()
            del self.text[:end + 2]
            name, data = None, []
            for line in block.split("\n"):
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
            if name == "hello":
                self.message(b'{"type": "subscribed"}', arrived)
            elif name == "lagged":
                self.message(json.dumps({"type": "lagged", **json.loads("".join(data))}).encode(), arrived)
            elif data:
                self.message("\n".join(data).encode(), arrived)


def ws_worker(index, pharos, token, count, events, cluster, ready_queue, go_event, close_event,
              result_queue, wait_seconds, connect_parallel, transport):
    """One process with `count` subscribers: reports when all are subscribed, then their arrivals."""
    parsed = urllib.parse.urlsplit(pharos)
    host_header = f"{parsed.hostname}:{parsed.port}"
    subscribe = json.dumps({"action": "subscribe", "topics": ["alerts"]})

    async def main():
        loop = asyncio.get_running_loop()
        ready_count, errors, done_count = 0, [], 0
        all_ready, all_done = asyncio.Event(), asyncio.Event()
        clients = []
        gate = asyncio.Semaphore(connect_parallel)

        def on_ready(client, error):
            nonlocal ready_count
            if getattr(client, "_reported", False):
                return
            client._reported = True
            ready_count += 1
            if error:
                errors.append(error)
            if ready_count == count:
                all_ready.set()

        def on_done(_client):
            nonlocal done_count
            done_count += 1
            if done_count == count:
                all_done.set()

        async def connect_one():
            async with gate:
                kind = WsClient if transport == "ws" else SseClient
                client = kind(host_header, token, subscribe, events, on_ready, on_done, cluster)
                clients.append(client)
                try:
                    await loop.create_connection(lambda: client, parsed.hostname, parsed.port)
                except OSError as error:
                    on_ready(client, f"connect: {error}")
                    return
                # Hold the gate until this one is subscribed (bounded connection burst).
                while not getattr(client, "_reported", False):
                    await asyncio.sleep(0.005)

        connect_started = time.time()
        await asyncio.gather(*(connect_one() for _ in range(count)))
        await asyncio.wait_for(all_ready.wait(), timeout=120)
        ready_queue.put((index, len(errors), errors[:5], time.time() - connect_started))
        # The parent posts the webhooks now; wait for every event or give up after the deadline.
        await loop.run_in_executor(None, go_event.wait)
        try:
            await asyncio.wait_for(all_done.wait(), timeout=wait_seconds)
        except asyncio.TimeoutError:
            pass
        result = {
            "received": [c.received for c in clients],
            "lagged": sum(c.lagged for c in clients),
            "duplicates": sum(c.duplicates for c in clients),
            "others": sum(c.others for c in clients),
            "closed": sum(1 for c in clients if c.closed),
        }
        result_queue.put((index, result))
        # Keep the connections open until the parent has read the RSS with them connected.
        await loop.run_in_executor(None, close_event.wait)
        for client in clients:
            if client.transport:
                client.transport.close()
        await asyncio.sleep(0.5)

    asyncio.run(main())


def ws(args):
    pid = args.pid
    results_out = []

    def line(text):
        print(text, flush=True)
        results_out.append(text)

    rss_before = proc_rss_mib(pid)
    fds_before = open_fds(pid)
    threads_before = proc_threads(pid)
    ctx = multiprocessing.get_context("fork")
    ready_queue, result_queue = ctx.Queue(), ctx.Queue()
    go_events = (ctx.Event(), ctx.Event())
    go_posting, go_close = go_events
    per_worker = [args.subscribers // args.workers + (1 if i < args.subscribers % args.workers else 0)
                  for i in range(args.workers)]
    wait_seconds = args.events / args.rate + args.grace
    workers = [ctx.Process(target=ws_worker, args=(i, args.pharos, args.token, n, args.events,
                                                   args.cluster, ready_queue, go_posting, go_close,
                                                   result_queue, wait_seconds, args.connect_parallel,
                                                   args.transport))
               for i, n in enumerate(per_worker)]
    for worker in workers:
        worker.daemon = True  # never outlive a failed run
    for worker in workers:
        worker.start()
    connect_errors, slowest_connect = [], 0.0
    for _ in workers:
        _, n_errors, sample, took = ready_queue.get(timeout=180)
        slowest_connect = max(slowest_connect, took)
        if n_errors:
            connect_errors.extend(sample)
    if connect_errors:
        go_posting.set()
        go_close.set()
        fail(f"subscribers could not connect/subscribe: {connect_errors[:5]}")
    time.sleep(2.0)
    rss_connected = proc_rss_mib(pid)
    fds_connected = open_fds(pid)
    line(f"RAW ws transport={args.transport} subscribers={args.subscribers} workers={args.workers} all subscribed in "
         f"{slowest_connect:.2f}s; Pharos fds {fds_before} -> {fds_connected}, threads "
         f"{threads_before} -> {proc_threads(pid)}")

    # Post the webhooks at a steady rate on one keep-alive connection.
    conn = connection_for(args.pharos)
    posted = [0.0] * args.events
    post_ms = []
    cpu_before = proc_cpu_seconds(pid)
    start = time.time() + 0.2
    go_posting.set()
    for seq in range(args.events):
        due = start + seq / args.rate
        pause = due - time.time()
        if pause > 0:
            time.sleep(pause)
        body = alert_payload("BenchWsAlert", seq, f"{0xB0000000 + seq:016x}")
        posted[seq] = time.time()
        conn.request("POST", f"/api/v1/alerts/webhook?cluster={args.cluster}", body=body,
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        answer = response.read()
        post_ms.append((time.time() - posted[seq]) * 1000.0)
        if response.status != 200 or json.loads(answer).get("fired") != 1:
            fail(f"webhook {seq}: HTTP {response.status}: {answer[:300]!r}")
    post_seconds = time.time() - start
    conn.close()

    results = {}
    for _ in workers:
        index, result = result_queue.get(timeout=wait_seconds + 120)
        results[index] = result
    cpu_used = proc_cpu_seconds(pid) - cpu_before
    rss_connected_after = proc_rss_mib(pid)
    go_close.set()
    for worker in workers:
        worker.join(timeout=30)
        if worker.is_alive():
            worker.terminate()
    time.sleep(3.0)
    rss_after = proc_rss_mib(pid)
    fds_after = open_fds(pid)

    delays, lost, per_sub_lost = [], 0, 0
    for result in results.values():
        for received in result["received"]:
            missing = 0
            for seq, arrived in enumerate(received):
                if arrived:
                    delays.append((arrived - posted[seq]) * 1000.0)
                else:
                    missing += 1
            lost += missing
            per_sub_lost += 1 if missing else 0
    lagged = sum(r["lagged"] for r in results.values())
    duplicates = sum(r["duplicates"] for r in results.values())
    others = sum(r["others"] for r in results.values())
    closed = sum(r["closed"] for r in results.values())
    expected = args.subscribers * args.events
    line(f"RAW ws events={args.events} rate={args.rate}/s posted_in={post_seconds:.2f}s "
         f"webhook_ms p50={percentile(post_ms, 50):.2f} p99={percentile(post_ms, 99):.2f} "
         f"deliveries={len(delays)}/{expected} lost={lost} subscribers_missing_events={per_sub_lost} "
         f"lagged_missed={lagged} duplicates={duplicates} other_events={others} "
         f"closed_by_server={closed}")
    line(f"RAW ws delay_ms p50={percentile(delays, 50):.2f} p90={percentile(delays, 90):.2f} "
         f"p99={percentile(delays, 99):.2f} p99.9={percentile(delays, 99.9):.2f} "
         f"max={max(delays) if delays else float('nan'):.2f}")
    line(f"RAW ws rss_mib before={rss_before:.1f} connected_idle={rss_connected:.1f} "
         f"connected_after_events={rss_connected_after:.1f} after_close={rss_after:.1f} "
         f"fds_after={fds_after} pharos_cpu_s_during_events={cpu_used:.2f}")
    print()
    where = "WebSocket subscribers of `alerts` on `/ws`" if args.transport == "ws" else \
        "Server-Sent-Events subscribers of `alerts` on `/api/v1/events?topics=alerts`"
    print(f"{args.subscribers} {where}; {args.events} webhooks "
          f"(one new alert each) at {args.rate:g}/s; delay = frame arrival at the subscriber − "
          f"just before the webhook POST; {args.workers} client processes.")
    print()
    print("| transport | subscribers | events | deliveries | lost | delay p50 ms | p99 ms | max ms | "
          "RSS before MiB | RSS connected MiB | RSS after events MiB | RSS after close MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.transport} | {args.subscribers} | {args.events} | {len(delays)} | {lost} | "
          f"{percentile(delays, 50):.1f} | {percentile(delays, 99):.1f} | "
          f"{max(delays) if delays else float('nan'):.1f} | {rss_before:.1f} | {rss_connected:.1f} | "
          f"{rss_connected_after:.1f} | {rss_after:.1f} |")
    if lost or duplicates or lagged:
        fail(f"{lost} deliveries lost ({per_sub_lost} subscribers missed events), {lagged} reported "
             f"lagged, {duplicates} duplicates")


def ws_probe(args):
    """One /ws client: upgrade, subscribe, expect the `subscribed` answer within 5 s."""
    parsed = urllib.parse.urlsplit(args.pharos)
    outcome = {}

    async def main():
        loop = asyncio.get_running_loop()
        done = asyncio.Event()

        def on_ready(client, error):
            outcome["upgraded"] = client.upgraded
            outcome["error"] = error
            done.set()

        client = WsClient(f"{parsed.hostname}:{parsed.port}", args.token,
                          json.dumps({"action": "subscribe", "topics": ["alerts"]}), 1, on_ready,
                          lambda _c: None, "none")
        started = time.time()
        await loop.create_connection(lambda: client, parsed.hostname, parsed.port)
        try:
            await asyncio.wait_for(done.wait(), timeout=5)
        except asyncio.TimeoutError:
            outcome["error"] = "no answer to the subscribe message within 5 s"
        outcome["seconds"] = time.time() - started
        if client.transport:
            client.transport.close()

    asyncio.run(main())
    if outcome.get("error"):
        print(f"RAW ws-probe FAILED after {outcome['seconds']:.3f}s: upgraded (101)="
              f"{outcome.get('upgraded')}, {outcome['error']}")
        sys.exit(1)
    print(f"RAW ws-probe ok: 101, subscribed in {outcome['seconds'] * 1000:.1f} ms")


# ---------------------------------------------------------------- webhooks


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, chunked = 0, False
    for header in lines[1:]:
        name, _, value = header.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            body += await reader.readexactly(size + 2)
            if size == 0:
                break
        return status, bytes(body)
    return status, await reader.readexactly(length) if length else b""


def webhook_worker(index, procs, args, start, result_queue):
    parsed = urllib.parse.urlsplit(args.pharos)
    total = int(args.rate * args.seconds)
    my_slots = list(range(index, total, procs))
    connections = max(1, args.connections // procs)

    async def main():
        cursor = 0
        latencies, statuses, errors = [], {}, []
        last_done = 0.0

        async def sender():
            nonlocal cursor, last_done
            reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while cursor < len(my_slots):
                slot = my_slots[cursor]
                cursor += 1
                due = start + slot / args.rate
                pause = due - time.time()
                if pause > 0:
                    await asyncio.sleep(pause)
                body = alert_payload("BenchFlood", slot, f"{0xF0000000 + slot:016x}")
                request = (f"POST /api/v1/alerts/webhook?cluster={args.cluster} HTTP/1.1\r\n"
                           f"Host: {parsed.hostname}:{parsed.port}\r\nContent-Type: application/json\r\n"
                           f"Content-Length: {len(body)}\r\n\r\n").encode() + body
                try:
                    writer.write(request)
                    status, answer = await read_response(reader)
                except (OSError, asyncio.IncompleteReadError) as error:
                    errors.append(f"slot {slot}: {error!r}")
                    writer.close()
                    reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
                    continue
                finished = time.time()
                last_done = max(last_done, finished)
                # Latency from the scheduled send time: a sender that fell behind counts its wait.
                latencies.append((finished - max(due, start)) * 1000.0)
                statuses[status] = statuses.get(status, 0) + 1
                if status != 200:
                    if len(errors) < 20:
                        errors.append(f"slot {slot}: HTTP {status} {answer[:200]!r}")
                elif b'"fired":1' not in answer.replace(b" ", b""):
                    errors.append(f"slot {slot}: not fired: {answer[:200]!r}")
            writer.close()

        await asyncio.gather(*(sender() for _ in range(connections)))
        result_queue.put((index, {"sent": len(my_slots), "latencies": latencies, "statuses": statuses,
                                  "errors": errors, "last_done": last_done}))

    asyncio.run(main())


def webhooks(args):
    pid = args.pid
    total = int(args.rate * args.seconds)
    before = fleet_alert_total(args.pharos, args.token, args.cluster)
    rss_before, cpu_before = proc_rss_mib(pid), proc_cpu_seconds(pid)
    ctx = multiprocessing.get_context("fork")
    result_queue = ctx.Queue()
    start = time.time() + 0.5
    workers = [ctx.Process(target=webhook_worker, args=(i, args.procs, args, start, result_queue))
               for i in range(args.procs)]
    for worker in workers:
        worker.daemon = True
        worker.start()
    results = [result_queue.get(timeout=args.seconds + 300)[1] for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    cpu_used = proc_cpu_seconds(pid) - cpu_before
    rss_after = proc_rss_mib(pid)
    latencies = [l for r in results for l in r["latencies"]]
    statuses = {}
    for r in results:
        for status, n in r["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    errors = [e for r in results for e in r["errors"]]
    ok = statuses.get(200, 0)
    elapsed = max(r["last_done"] for r in results) - start
    time.sleep(0.5)
    after = fleet_alert_total(args.pharos, args.token, args.cluster)
    kept = after - before
    loss = total - kept
    print(f"RAW webhooks target_rate={args.rate:g}/s seconds={args.seconds:g} connections="
          f"{args.connections} client_processes={args.procs} sent={total} answered={len(latencies)} "
          f"statuses={json.dumps(statuses)} errors={len(errors)} elapsed_s={elapsed:.2f} "
          f"achieved_rate={ok / elapsed:.1f}/s", flush=True)
    print(f"RAW webhooks latency_ms p50={percentile(latencies, 50):.2f} p90={percentile(latencies, 90):.2f} "
          f"p99={percentile(latencies, 99):.2f} max={max(latencies) if latencies else float('nan'):.2f} "
          f"book_total_before={before} after={after} kept={kept} loss={loss} "
          f"pharos_cpu_s={cpu_used:.2f} ({cpu_used / elapsed:.2f} cores) rss_mib {rss_before:.1f} -> {rss_after:.1f}",
          flush=True)
    for error in errors[:10]:
        print(f"RAW webhooks error {error}")
    print()
    print(f"Webhooks (Alertmanager v4, one new firing alert each, `?cluster={args.cluster}`) "
          f"scheduled at {args.rate:g}/s for {args.seconds:g} s from {args.connections} keep-alive "
          f"connections; latency from each request's scheduled time.")
    print()
    print("| sent | 2xx | achieved /s | p50 ms | p99 ms | max ms | in the book | loss | Pharos CPU (cores) | RSS MiB before → after |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {total} | {ok} | {ok / elapsed:.0f} | {percentile(latencies, 50):.1f} | "
          f"{percentile(latencies, 99):.1f} | {max(latencies) if latencies else float('nan'):.1f} | "
          f"{kept} | {loss} | {cpu_used / elapsed:.2f} | {rss_before:.0f} → {rss_after:.0f} |")
    if errors or ok != total or loss != 0:
        fail(f"webhooks: {ok}/{total} answered 200, {len(errors)} errors, book kept {kept} (loss {loss})")


# ---------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("delay-proxy")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--delay", type=float, default=2.0)
    p.set_defaults(run=delay_proxy)

    p = sub.add_parser("fanout")
    p.add_argument("--pharos", required=True)
    p.add_argument("--prometheus", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--healthy", required=True, help="comma-separated cluster names")
    p.add_argument("--slow", required=True)
    p.add_argument("--delay", type=float, default=2.0)
    p.add_argument("--slow-url", default="", help="the delay proxy, for --extra-slow")
    p.add_argument("--extra-slow", type=int, default=0,
                   help="afterwards, register this many more clusters on the delay proxy and ask "
                        "all the slow ones at once")
    p.add_argument("--query", default="up")
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--concurrency", type=int, default=10)
    p.set_defaults(run=fanout)

    p = sub.add_parser("ws")
    p.add_argument("--pharos", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--subscribers", type=int, default=1000)
    p.add_argument("--events", type=int, default=300)
    p.add_argument("--rate", type=float, default=20.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--grace", type=float, default=30.0)
    p.add_argument("--connect-parallel", type=int, default=50)
    p.add_argument("--cluster", default="bench-ws")
    p.add_argument("--transport", choices=["ws", "sse"], default="ws")
    p.set_defaults(run=ws)

    p = sub.add_parser("ws-probe")
    p.add_argument("--pharos", required=True)
    p.add_argument("--token", required=True)
    p.set_defaults(run=ws_probe)

    p = sub.add_parser("webhooks")
    p.add_argument("--pharos", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--rate", type=float, default=1200.0)
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--cluster", default="bench-flood")
    p.set_defaults(run=webhooks)

    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
