"""Alertmanager webhook receiver that logs: one JSON line per alert on stdout.

The stand-in receiver of deployments/alertmanager/alertmanager.yml until the API turns
Alertmanager posts into wheelflow alerts. Standard library only (runs in any wheelflow image).

    python deployments/alertmanager/log_receiver.py [--host 0.0.0.0] [--port 9095] [--file PATH]

POST /alertmanager with Alertmanager's webhook payload (version 4) logs each alert's status,
labels, annotations and start time; GET /health answers 200; GET /received (for tests) returns
the alert lines received so far as a JSON list.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.server
import json
import sys
import threading
from typing import Any

_received: list[dict[str, Any]] = []
_lock = threading.Lock()


def alert_lines(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One log record per alert of an Alertmanager webhook payload."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return [
        {
            "time": now,
            "level": "warning" if alert.get("status") == "firing" else "info",
            "logger": "alertmanager",
            "receiver": payload.get("receiver"),
            "status": alert.get("status"),
            "alertname": alert.get("labels", {}).get("alertname"),
            "severity": alert.get("labels", {}).get("severity"),
            "labels": alert.get("labels", {}),
            "summary": alert.get("annotations", {}).get("summary"),
            "starts_at": alert.get("startsAt"),
        }
        for alert in payload.get("alerts", [])
    ]


class Handler(http.server.BaseHTTPRequestHandler):
    log_file: Any = sys.stdout

    def _answer(self, status: int, body: Any = None) -> None:
        data = json.dumps(body if body is not None else {"status": status}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._answer(200)
        elif self.path == "/received":
            with _lock:
                self._answer(200, list(_received))
        else:
            self._answer(404)

    def do_POST(self) -> None:
        if self.path != "/alertmanager":
            self._answer(404)
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._answer(400)
            return
        lines = alert_lines(payload)
        with _lock:
            _received.extend(lines)
            for line in lines:
                print(json.dumps(line), file=self.log_file, flush=True)
        self._answer(200)

    def log_message(self, *args: object) -> None:  # access lines would not be JSON
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=9095)
    parser.add_argument("--file", help="append the JSON lines to this file instead of stdout")
    args = parser.parse_args(argv)
    if args.file:
        Handler.log_file = open(args.file, "a", encoding="utf-8")  # noqa: SIM115
    server = http.server.ThreadingHTTPServer((args.host, args.port), Handler)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
