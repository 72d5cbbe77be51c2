"""Pushes access-log lines to Pharos through the real `python-logging-loki` client (PyPI).

Run by crates/pharos-server/tests/logs_intake.rs when PHAROS_TEST_PYTHON_LOKI=1:

    python3 -m pip install python-logging-loki==0.3.1
    PHAROS_TEST_PYTHON_LOKI=1 cargo nextest run -p pharos-server --test logs_intake

Arguments: <push URL> <bearer token> <service> <count> [buckets].

Without `buckets`: logs <count> JSON lines {"latency_ms": i, "status": 200 or 503 for every
10th} for i = 1..count.

With `buckets`: logs <count> lines into each of the two 5-minute buckets before the current
one (the line's own "time" places it; the client stamps entries with its clock), latencies
drawn from a seeded log-normal distribution with a slow tail, 1 % status 503; then prints the
exact numbers of each bucket as JSON: {"<bucket start ms>": {"count", "errors", "p50", "p95",
"p99"}}, quantiles by nearest rank (the value at rank ceil(q * n)), as Pharos defines them.

The client posts every record (one push each) and exits 1 if any push was not answered 204.
It knows only basic auth, so the token goes on its requests session as a header.
"""

import json
import logging
import math
import random
import sys
import time

import logging_loki

BUCKET_MS = 300_000


def nearest_rank(sorted_values, q):
    return sorted_values[max(1, math.ceil(q * len(sorted_values))) - 1]


def main() -> int:
    url, token, service, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    buckets = len(sys.argv) > 5 and sys.argv[5] == "buckets"
    failures = []

    class Handler(logging_loki.LokiHandler):
        def handleError(self, record):  # noqa: N802 (logging's name)
            failures.append(sys.exc_info()[1])

    handler = Handler(url=url, tags={"service": service}, version="1")
    handler.emitter.session.headers["Authorization"] = f"Bearer {token}"
    logger = logging.getLogger("access")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    exact = {}
    if buckets:
        rng = random.Random(13)
        current = int(time.time() * 1000) // BUCKET_MS * BUCKET_MS
        for start in (current - 2 * BUCKET_MS, current - BUCKET_MS):
            latencies, errors = [], 0
            for i in range(count):
                # Log-normal around 120 ms; one request in 20 from a slow mode around 600 ms.
                centre = 600.0 if rng.random() < 0.05 else 120.0
                latency = round(rng.lognormvariate(math.log(centre), 0.35), 3)
                status = 503 if rng.random() < 0.01 else 200
                errors += status >= 500
                latencies.append(latency)
                t_ms = start + (i * (BUCKET_MS - 1000)) // count
                logger.info(json.dumps({"latency_ms": latency, "status": status, "time": t_ms}))
            latencies.sort()
            exact[str(start)] = {
                "count": count,
                "errors": errors,
                "p50": nearest_rank(latencies, 0.50),
                "p95": nearest_rank(latencies, 0.95),
                "p99": nearest_rank(latencies, 0.99),
            }
    else:
        for i in range(1, count + 1):
            status = 503 if i % 10 == 0 else 200
            logger.info(json.dumps({"latency_ms": i, "status": status}))
    handler.close()
    if failures:
        print(f"{len(failures)} pushes failed, first: {failures[0]}", file=sys.stderr)
        return 1
    if buckets:
        print(json.dumps(exact))
    return 0


if __name__ == "__main__":
    sys.exit(main())
