"""The shared HTTP plumbing: retries, Retry-After, fail-fast auth, rate limit, redaction."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from wheelflow.errors import ProviderAuthError, ProviderError
from wheelflow.providers.http import (
    ProviderClient,
    ProviderHTTPError,
    ProviderUnreachable,
    RetryPolicy,
    TokenBucket,
    parse_retry_after,
    redact,
)

SECRET = "sk-live-VERY-SECRET-42"


def client(
    handler: Callable[[httpx.Request], Any], *, retries: int = 3, base_delay: float = 0.0, **kw: Any
) -> ProviderClient:
    return ProviderClient(
        kw.pop("provider", "testprov"),
        "https://api.example.test",
        headers={"Authorization": f"Bearer {SECRET}"},
        secrets=[SECRET],
        auth_settings="WHEELFLOW_TESTPROV_TOKEN",
        policy=RetryPolicy(retries=retries, base_delay=base_delay, max_delay=5.0),
        requests_per_second=1000.0,
        transport=httpx.MockTransport(handler),
        **kw,
    )


def flaky(*failures: httpx.Response | Exception) -> Any:
    """A handler that fails with ``failures`` in order, then answers ``{"ok": true}``."""
    queue = list(failures)
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if queue:
            item = queue.pop(0)
            if isinstance(item, Exception):
                raise item
            return item
        return httpx.Response(200, json={"ok": True})

    handler.calls = calls  # type: ignore[attr-defined]
    return handler


def test_timeouts_5xx_and_429_are_retried_until_success() -> None:
    handler = flaky(
        httpx.ReadTimeout("slow"),
        httpx.Response(500, text="boom"),
        httpx.Response(429, headers={"Retry-After": "0"}),
    )
    c = client(handler)
    assert c.get_json("/x") == {"ok": True}
    assert c.retries == 3


def test_connection_errors_are_retried() -> None:
    c = client(flaky(httpx.ConnectError("refused")))
    assert c.get_json("/x") == {"ok": True}
    assert c.retries == 1


def test_retries_give_up_with_a_provider_error_after_the_configured_attempts() -> None:
    handler = flaky(*[httpx.Response(503, text="down")] * 10)
    with pytest.raises(ProviderHTTPError, match=r"HTTP 503 .* after 3 attempts") as info:
        client(handler, retries=2).get_json("/x")
    assert info.value.retryable
    assert len(handler.calls) == 3


def test_persistent_timeouts_raise_provider_unreachable() -> None:
    with pytest.raises(ProviderUnreachable, match="ReadTimeout"):
        client(flaky(*[httpx.ReadTimeout("slow")] * 5), retries=1).get_json("/x")


def test_retry_after_header_replaces_the_backoff_delay() -> None:
    handler = flaky(httpx.Response(429, headers={"Retry-After": "0.2"}))
    started = time.perf_counter()
    client(handler, base_delay=0.0).get_json("/x")
    assert time.perf_counter() - started >= 0.2


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(retries=5, base_delay=1.0, max_delay=3.0)
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 3.0), (5, 3.0)]:
        delays = [policy.delay(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jitter
    assert policy.delay(0, retry_after=120.0) == 3.0


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_fail_fast_naming_the_setting(status: int) -> None:
    handler = flaky(*[httpx.Response(status, json={"fault": "invalid token"})] * 5)
    with pytest.raises(ProviderAuthError, match="WHEELFLOW_TESTPROV_TOKEN") as info:
        client(handler).get_json("/x")
    assert not info.value.retryable
    assert len(handler.calls) == 1


def test_other_client_errors_are_not_retried() -> None:
    handler = flaky(*[httpx.Response(404, text="not found")] * 5)
    with pytest.raises(ProviderHTTPError) as info:
        client(handler).get_json("/x")
    assert info.value.status_code == 404
    assert len(handler.calls) == 1


def test_body_that_is_not_json_is_a_provider_error() -> None:
    c = client(lambda r: httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(ProviderError, match="not JSON"):
        c.get_json("/x")


def test_non_idempotent_requests_are_not_retried_on_server_errors() -> None:
    handler = flaky(httpx.Response(500, text="boom"))
    with pytest.raises(ProviderHTTPError):
        client(handler).request_json("POST", "/orders", json={}, idempotent=False)
    assert len(handler.calls) == 1


def test_secrets_never_appear_in_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    def echo_secret(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text=f"bad header {request.headers['Authorization']}")

    caplog.set_level(logging.DEBUG)
    with pytest.raises(ProviderError) as info:
        client(echo_secret, retries=2).get_json("/x", {"token": SECRET})
    assert SECRET not in str(info.value)
    assert "***" in str(info.value)
    assert SECRET not in caplog.text
    assert "retry 1/2" in caplog.text


def test_redact_replaces_every_secret() -> None:
    assert redact("a=abcd1234 b=zzzz9999", ["abcd1234", "zzzz9999", ""]) == "a=*** b=***"


def test_token_bucket_limits_the_rate_across_threads() -> None:
    bucket = TokenBucket(rate=100.0, capacity=1.0)
    started = time.perf_counter()

    def take_six() -> None:
        for _ in range(6):
            bucket.acquire()

    threads = [threading.Thread(target=take_six) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.perf_counter() - started >= 0.2  # 24 tokens at 100/s, one in the bucket


def test_gather_runs_items_concurrently_up_to_the_limit() -> None:
    active = 0
    peak = 0
    lock = threading.Lock()

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal active, peak
        import asyncio

        with lock:
            active += 1
            peak = max(peak, active)
        await asyncio.sleep(0.05)
        with lock:
            active -= 1
        return httpx.Response(200, json={"symbol": request.url.path})

    c = client(slow, max_concurrency=4)

    async def fetch(http: httpx.AsyncClient, symbol: str) -> object:
        return await c.aget_json(http, f"/{symbol}")

    started = time.perf_counter()
    results = c.gather(fetch, [f"S{i}" for i in range(12)])
    assert len(results) == 12
    assert peak == 4
    assert time.perf_counter() - started < 0.5


def test_gather_returns_errors_in_place_of_failed_items() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/BAD":
            return httpx.Response(404, text="unknown symbol")
        return httpx.Response(200, json={"ok": True})

    c = client(handler)

    async def fetch(http: httpx.AsyncClient, symbol: str) -> object:
        return await c.aget_json(http, f"/{symbol}")

    good, bad = c.gather(fetch, ["GOOD", "BAD"])
    assert good == {"ok": True}
    assert isinstance(bad, ProviderHTTPError)


def test_per_minute_cap_tightens_the_request_rate() -> None:
    from wheelflow.providers.http import requests_per_second
    from wheelflow.settings import load_settings

    assert requests_per_second(load_settings(provider_requests_per_second=5.0)) == 5.0
    capped = load_settings(provider_requests_per_second=5.0, provider_requests_per_minute=120)
    assert requests_per_second(capped) == 2.0


def test_concurrent_batches_each_count_only_their_own_retries() -> None:
    from wheelflow.providers.http import counting_retries

    calls = {"flaky": 0}
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/flaky"):
            with lock:
                calls["flaky"] += 1
                if calls["flaky"] % 2 == 1:  # every other call to /flaky fails once
                    return httpx.Response(503)
        return httpx.Response(200, json={"ok": True})

    c = client(handler)
    counts: dict[str, int] = {}

    def batch(prefix: str) -> None:
        async def fetch(http: httpx.AsyncClient, item: str) -> object:
            return await c.aget_json(http, f"/{prefix}/{item}")

        with counting_retries() as tally:
            c.gather(fetch, [str(i) for i in range(10)])
        counts[prefix] = tally[0]

    threads = [threading.Thread(target=batch, args=(p,)) for p in ("flaky", "calm")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counts["calm"] == 0
    assert counts["flaky"] > 0
    assert c.retries == counts["flaky"]


def test_a_real_slow_server_times_out_and_the_retry_succeeds() -> None:
    import http.server
    import json as jsonlib

    hits: list[float] = []

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(time.perf_counter())
            if len(hits) == 1:
                time.sleep(0.6)  # longer than the client's timeout
            body = jsonlib.dumps({"ok": True}).encode()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        c = ProviderClient(
            "local",
            f"http://127.0.0.1:{server.server_port}",
            timeout=0.2,
            policy=RetryPolicy(retries=2, base_delay=0.0),
            requests_per_second=1000.0,
        )
        assert c.get_json("/quote") == {"ok": True}
        assert c.retries == 1
        assert len(hits) == 2
        c.close()
    finally:
        server.shutdown()
        server.server_close()
