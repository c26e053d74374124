"""Real receivers on loopback for alert-delivery tests: an HTTP endpoint (JSON webhooks, the SMS
gateway's API) and an SMTP server (aiosmtpd). They record what arrives."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class HttpReceiver:
    """Records every POST; answers ``status`` after ``delay`` seconds."""

    port: int = 0
    status: int = 200
    delay: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    reply: dict[str, Any] = field(default_factory=dict)

    def url(self, scheme: str = "json", path: str = "/hook", auth: str = "") -> str:
        return f"{scheme}://{auth}127.0.0.1:{self.port}{path}"

    def bodies(self) -> list[Any]:
        with self.lock:
            return [r["json"] for r in self.received]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        with self.lock:
            return list(self.received)


@contextmanager
def http_receiver(status: int = 200, delay: float = 0.0) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(status=status, delay=delay)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                parsed: Any = json.loads(raw)
            except ValueError:
                parsed = None
            with receiver.lock:
                receiver.received.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "raw": raw,
                        "json": parsed,
                        "at": time.monotonic(),
                    }
                )
            if receiver.delay:
                time.sleep(receiver.delay)
            body = json.dumps(receiver.reply).encode()
            self.send_response(receiver.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class SmtpReceiver:
    port: int = 0
    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.messages) < count:
            time.sleep(0.02)
        return list(self.messages)


@contextmanager
def smtp_receiver() -> Iterator[SmtpReceiver]:
    """A real SMTP server (aiosmtpd) on a free loopback port, plain text, no auth required."""
    import socket

    from aiosmtpd.controller import Controller

    receiver = SmtpReceiver()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            receiver.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            receiver.messages.append(message_from_bytes(envelope.original_content))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        receiver.port = probe.getsockname()[1]
    controller = Controller(
        Handler(), hostname="127.0.0.1", port=receiver.port, auth_require_tls=False
    )
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()
