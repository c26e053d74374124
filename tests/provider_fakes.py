"""The outside world for provider tests: fixture payloads served through httpx.MockTransport.

Payloads live in ``tests/fixtures/providers`` and follow each provider's documented shape.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parent / "fixtures" / "providers"

Route = Callable[[httpx.Request], httpx.Response] | Any


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


class FakeAPI:
    """Routes ``(METHOD, path)`` or ``path`` to a payload (served as JSON) or a handler.

    Every request is recorded in ``requests`` so tests can check headers and parameters.
    """

    def __init__(self, routes: dict[Any, Route]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        route = self.routes.get(
            (request.method, request.url.path), self.routes.get(request.url.path)
        )
        if route is None:
            return httpx.Response(404, json={"message": f"no route {request.url.path}"})
        if callable(route):
            return route(request)
        return httpx.Response(200, json=route)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]
