"""One retry layer per kind of fault, counted at the network edge through the Prefect flow.

The HTTP client retries a request's transient faults (``WHEELFLOW_PROVIDER_RETRIES``); the
Prefect task re-runs a batch (``WHEELFLOW_TASK_RETRIES``) only for what that layer cannot see.
A fake Tradier (httpx.MockTransport) counts the requests each fault costs.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence

import httpx
import pytest
from sqlalchemy import Engine

from flows.stages import fetch_chains_flow
from tests.tradier_fake import FakeTradier
from wheelflow.errors import ProviderError
from wheelflow.providers.base import ChainFetch
from wheelflow.providers.http import ProviderHTTPError, ProviderUnreachable, retry_whole_batch
from wheelflow.providers.synthetic import SyntheticMarket
from wheelflow.providers.tradier import TradierMarketData
from wheelflow.settings import load_settings

pytestmark = pytest.mark.usefixtures("prefect_harness")

DAY = dt.date(2026, 11, 24)
HTTP_RETRIES = 2
TASK_RETRIES = 3


MARKET = SyntheticMarket(as_of=DAY, universe_size=5)
SYMBOL = MARKET.symbols[0]
EXPIRATIONS = "/v1/markets/options/expirations"


class CountingTradier:
    """A fake Tradier whose options calls all get one response; counts those calls."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.server = FakeTradier(MARKET, max_days=30)
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if "/options/" not in request.url.path:
            return self.server(request)  # quotes answer normally
        with self.lock:
            self.calls[request.url.path] = self.calls.get(request.url.path, 0) + 1
        return httpx.Response(
            self.response.status_code,
            headers=self.response.headers,
            content=self.response.content,
        )


class BatchFailingMarket(SyntheticMarket):
    """A provider without an HTTP layer whose whole-batch call fails ``failures`` times."""

    def __init__(self, failures: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.failures = failures
        self.calls = 0

    def option_chains(self, symbols: Sequence[str]) -> ChainFetch:
        self.calls += 1
        if self.calls <= self.failures:
            raise ProviderError("session expired mid-batch", provider="batchy")
        return super().option_chains(symbols)


@pytest.fixture(autouse=True)
def _retry_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHEELFLOW_TASK_RETRIES", str(TASK_RETRIES))


def tradier(server: CountingTradier) -> TradierMarketData:
    settings = load_settings(
        tradier_token="tok-123456",
        provider_retries=HTTP_RETRIES,
        provider_retry_delay_seconds=0.0,
        provider_requests_per_second=1000.0,
    )
    return TradierMarketData.from_settings(
        settings, httpx.MockTransport(server), clock=MARKET.snapshot_time
    )


def url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def fetch_chains(server: CountingTradier, engine: Engine) -> object:
    return fetch_chains_flow(provider=tradier(server), symbols=[SYMBOL], database_url=url(engine))


def test_a_5xx_is_retried_by_the_http_layer_only(sqlite_engine: Engine) -> None:
    server = CountingTradier(httpx.Response(503, text="down"))
    with pytest.raises(ProviderError, match="HTTP 503"):
        fetch_chains_flow(
            provider=tradier(server), symbols=[SYMBOL], database_url=url(sqlite_engine)
        )
    # 1 + HTTP_RETRIES requests, and no task re-run multiplying them.
    assert server.calls == {EXPIRATIONS: 1 + HTTP_RETRIES}


def test_a_429_honours_retry_after_and_is_retried_by_the_http_layer_only(
    sqlite_engine: Engine,
) -> None:
    server = CountingTradier(httpx.Response(429, headers={"Retry-After": "0"}, text="slow"))
    with pytest.raises(ProviderError, match="HTTP 429"):
        fetch_chains_flow(
            provider=tradier(server), symbols=[SYMBOL], database_url=url(sqlite_engine)
        )
    assert server.calls == {EXPIRATIONS: 1 + HTTP_RETRIES}


def test_rejected_credentials_are_tried_once_and_never_retried(sqlite_engine: Engine) -> None:
    server = CountingTradier(httpx.Response(401, text="Invalid Access Token"))
    with pytest.raises(ProviderError, match="WHEELFLOW_TRADIER_TOKEN"):
        fetch_chains_flow(
            provider=tradier(server), symbols=[SYMBOL], database_url=url(sqlite_engine)
        )
    assert server.calls == {EXPIRATIONS: 1}


def test_a_client_error_other_than_408_and_429_is_tried_once(sqlite_engine: Engine) -> None:
    server = CountingTradier(httpx.Response(400, text="bad symbol"))
    with pytest.raises(ProviderError, match="HTTP 400"):
        fetch_chains_flow(
            provider=tradier(server), symbols=[SYMBOL], database_url=url(sqlite_engine)
        )
    assert server.calls == {EXPIRATIONS: 1}


def test_a_408_is_retried_by_the_http_layer(sqlite_engine: Engine) -> None:
    server = CountingTradier(httpx.Response(408, text="request timeout"))
    with pytest.raises(ProviderError, match="HTTP 408"):
        fetch_chains_flow(
            provider=tradier(server), symbols=[SYMBOL], database_url=url(sqlite_engine)
        )
    assert server.calls == {EXPIRATIONS: 1 + HTTP_RETRIES}


def test_a_whole_batch_failure_the_http_layer_cannot_see_is_retried_by_the_task(
    sqlite_engine: Engine,
) -> None:
    market = BatchFailingMarket(failures=TASK_RETRIES, as_of=DAY)
    summary = fetch_chains_flow(provider=market, symbols=[SYMBOL], database_url=url(sqlite_engine))
    assert market.calls == 1 + TASK_RETRIES
    assert summary["contracts"] > 0


def test_the_task_gives_up_after_its_own_retries(sqlite_engine: Engine) -> None:
    market = BatchFailingMarket(failures=100, as_of=DAY)
    with pytest.raises(ProviderError, match="session expired mid-batch"):
        fetch_chains_flow(provider=market, symbols=[SYMBOL], database_url=url(sqlite_engine))
    assert market.calls == 1 + TASK_RETRIES


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (ProviderError("batch assembly failed", provider="p"), True),
        (ProviderError("bad payload", provider="p", retryable=False), False),
        (ProviderHTTPError("HTTP 503 after 4 attempts", provider="p", status_code=503), False),
        (ProviderHTTPError("HTTP 404", provider="p", status_code=404), False),
        (ProviderUnreachable("timed out after 4 attempts", provider="p"), False),
        (ValueError("a bug"), False),
    ],
)
def test_which_errors_a_task_retries(error: BaseException, retried: bool) -> None:
    assert retry_whole_batch(error) is retried
