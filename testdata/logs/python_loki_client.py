"""Pushes access-log lines to Pharos through the real `python-logging-loki` client (PyPI).

Run by crates/pharos-server/tests/logs_intake.rs when PHAROS_TEST_PYTHON_LOKI=1:

    python3 -m pip install python-logging-loki==0.3.1
    PHAROS_TEST_PYTHON_LOKI=1 cargo nextest run -p pharos-server --test logs_intake

Arguments: <push URL> <bearer token> <service> <count>. Logs <count> JSON lines
{"latency_ms": i, "status": 200 or 503 for every 10th} for i = 1..count, one push each (the
client's LokiHandler posts every record), and exits 1 if any push was not answered 204.
The client knows only basic auth, so the token goes on its requests session as a header.
"""

import json
import logging
import sys

import logging_loki


def main() -> int:
    url, token, service, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
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
    for i in range(1, count + 1):
        status = 503 if i % 10 == 0 else 200
        logger.info(json.dumps({"latency_ms": i, "status": status}))
    handler.close()
    if failures:
        print(f"{len(failures)} pushes failed, first: {failures[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
