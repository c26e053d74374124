"""HTTP plumbing shared by the real providers: retries, rate limits, concurrency, redaction.

- Timeouts, connection errors, 5xx, 408 and 429 are retried with exponential backoff and jitter
  (``WHEELFLOW_PROVIDER_RETRIES``); a ``Retry-After`` header (seconds or HTTP date) replaces the
  computed delay. This is the only layer that retries them: ``retry_whole_batch`` tells the
  Prefect tasks not to retry them again.
- 401/403 fail fast with ``ProviderAuthError`` naming the setting that holds the credentials.
- Other 4xx, and bodies that are not JSON, raise ``ProviderError`` at once (retrying cannot help).
- One token bucket per provider name, shared by every client and thread of the process, caps
  the request rate (``WHEELFLOW_PROVIDER_REQUESTS_PER_SECOND``).
- Every message that leaves this module goes through ``redact`` so keys never reach logs,
  exceptions or run records.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import email.utils
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from wheelflow.errors import ProviderAuthError, ProviderError

if TYPE_CHECKING:
    from wheelflow.settings import Settings

logger = logging.getLogger(__name__)

T = TypeVar("T")
S = TypeVar("S")

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
AUTH_STATUS = frozenset({401, 403})
REDACTED = "***"


class ProviderUnreachable(ProviderError):
    """Timeouts or connection errors outlasted every retry (the request may have been received)."""


class ProviderHTTPError(ProviderError):
    """The provider answered with an error status (``status_code``) that was not retried away."""

    def __init__(self, message: str, *, provider: str, status_code: int) -> None:
        super().__init__(message, provider=provider, retryable=status_code in RETRYABLE_STATUS)
        self.status_code = status_code


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret (4+ characters) replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


class _RedactingFilter(logging.Filter):
    """Redacts every registered secret from records of the loggers it is attached to (httpx
    logs full request URLs at INFO)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            cleaned = redact(message, sorted(self.secrets))
            if cleaned != message:
                record.msg, record.args = cleaned, ()
        return True


_LOG_FILTER = _RedactingFilter()
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).addFilter(_LOG_FILTER)


def register_secrets(secrets: Sequence[str]) -> None:
    """Have third-party HTTP loggers redact ``secrets`` too."""
    _LOG_FILTER.secrets.update(s for s in secrets if s and len(s) >= 4)


# --------------------------------------------------------------------------- rate limiting


class TokenBucket:
    """A thread-safe token bucket: ``rate`` requests per second, bursts up to ``capacity``.

    ``reserve`` takes a token now and returns how long the caller must wait before using it, so
    waiting happens outside the lock (with ``time.sleep`` or ``asyncio.sleep``) and callers are
    served in arrival order.
    """

    def __init__(self, rate: float, capacity: float | None = None) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = float(rate)
        self.capacity = float(capacity if capacity is not None else max(1.0, rate))
        self._tokens = self.capacity
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token; return the seconds to wait before the request may go out."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self) -> None:
        wait = self.reserve()
        if wait > 0:
            time.sleep(wait)

    async def acquire_async(self) -> None:
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)


_BUCKETS: dict[str, TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def rate_limiter(provider: str, requests_per_second: float) -> TokenBucket:
    """The process-wide bucket of ``provider`` (replaced when the configured rate changes)."""
    with _BUCKETS_LOCK:
        bucket = _BUCKETS.get(provider)
        if bucket is None or bucket.rate != requests_per_second:
            bucket = TokenBucket(requests_per_second)
            _BUCKETS[provider] = bucket
        return bucket


# --------------------------------------------------------------------------- retry policy


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits ~``base_delay * 2**n`` seconds."""

    retries: int = 3
    base_delay: float = 1.0  # seconds
    max_delay: float = 30.0  # seconds, also caps a server's Retry-After

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (0-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        ceiling = min(self.base_delay * (2**attempt), self.max_delay)
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # "equal jitter"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def retry_whole_batch(error: BaseException) -> bool:
    """Whether a task should run a failed batch again: only for a retryable provider error that
    did not come out of this module's own retries. A timeout or an HTTP status has had its
    retries here already (or, as credentials or another 4xx, can never succeed); a bug or a
    data-quality refusal would fail the same way again."""
    if isinstance(error, ProviderHTTPError | ProviderUnreachable | ProviderAuthError):
        return False
    return isinstance(error, ProviderError) and error.retryable


# --------------------------------------------------------------------------- the client


_RETRY_TALLY: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "wheelflow_provider_retry_tally", default=None
)


@contextmanager
def counting_retries() -> Iterator[list[int]]:
    """Count the retries made inside the block, by this thread and the tasks it starts.

    Yields a one-element list holding the count. Concurrent batches sharing one provider (Prefect
    task threads) each see only their own retries, which a shared counter cannot give.
    """
    tally = [0]
    token = _RETRY_TALLY.set(tally)
    try:
        yield tally
    finally:
        _RETRY_TALLY.reset(token)


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from sync code, even when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    context = contextvars.copy_context()  # the retry tally travels to the helper thread
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(context.run, asyncio.run, coro).result()


class ProviderClient:
    """JSON over HTTP for one provider, sync and async, with the module's fault handling.

    ``transport`` (an ``httpx.MockTransport`` in tests) serves both the sync and async clients.
    ``retries`` counts the HTTP-level retries made so far (thread-safe), for run records.
    """

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
        auth_settings: str | None = None,
        auth_statuses: frozenset[int] = AUTH_STATUS,
        timeout: float = 20.0,
        policy: RetryPolicy | None = None,
        requests_per_second: float = 5.0,
        max_concurrency: int = 8,
        transport: httpx.MockTransport | None = None,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.secrets = tuple(s for s in secrets if s)
        register_secrets(self.secrets)
        self.auth_settings = auth_settings
        self.auth_statuses = auth_statuses  # Alpaca's order API uses 403 for buying power
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.limiter = rate_limiter(provider, requests_per_second)
        self.max_concurrency = max_concurrency
        self.transport = transport
        self._retries = 0
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None

    # -- bookkeeping
    @property
    def retries(self) -> int:
        return self._retries

    def _count_retry(self) -> None:
        with self._lock:
            self._retries += 1
            tally = _RETRY_TALLY.get()
            if tally is not None:
                tally[0] += 1

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _sync_client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.base_url,
                headers=self.headers,
                timeout=self.timeout,
                transport=self.transport,
            )
        return self._client

    def _async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            headers=self.headers,
            timeout=self.timeout,
            transport=self.transport,
            limits=httpx.Limits(max_connections=self.max_concurrency),
        )

    # -- the decision after each attempt
    def _describe(self, method: str, path: str, params: Mapping[str, Any] | None) -> str:
        query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
        return self.redact(f"{method} {path}" + (f"?{query}" if query else ""))

    def _next_wait(
        self,
        what: str,
        attempt: int,
        response: httpx.Response | None,
        error: httpx.TransportError | None,
        idempotent: bool,
    ) -> float | None:
        """None if ``response`` is a success; else the wait before a retry. Raises when done."""
        last = attempt >= self.policy.retries
        if error is not None:
            reason = f"{type(error).__name__}: {self.redact(str(error)) or 'no detail'}"
            if last or not idempotent:
                raise ProviderUnreachable(
                    f"{self.provider}: {what} failed after {attempt + 1} attempt(s) ({reason})",
                    provider=self.provider,
                ) from None
            wait = self.policy.delay(attempt)
        else:
            assert response is not None
            status = response.status_code
            if status < 400:
                return None
            if status in self.auth_statuses and self.auth_settings:
                raise ProviderAuthError(
                    f"{self.provider} refused the credentials (HTTP {status}) on {what}: "
                    f"check {self.auth_settings}",
                    provider=self.provider,
                )
            body = self.redact(response.text[:200].replace("\n", " "))
            retryable = status in RETRYABLE_STATUS and (idempotent or status == 429)
            if not retryable or last:
                tries = f" after {attempt + 1} attempts" if retryable else ""
                raise ProviderHTTPError(
                    f"{self.provider}: HTTP {status} on {what}{tries}: {body}",
                    provider=self.provider,
                    status_code=status,
                )
            reason = f"HTTP {status}"
            wait = self.policy.delay(
                attempt, parse_retry_after(response.headers.get("Retry-After"))
            )
        logger.warning(
            "%s: %s on %s, retry %d/%d in %.2fs",
            self.provider,
            reason,
            what,
            attempt + 1,
            self.policy.retries,
            wait,
        )
        self._count_retry()
        return wait

    def _decode(self, response: httpx.Response, what: str) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            body = self.redact(response.text[:120].replace("\n", " "))
            raise ProviderError(
                f"{self.provider}: {what} returned a body that is not JSON: {body!r}",
                provider=self.provider,
                retryable=False,
            ) from None

    # -- sync
    def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool = True,
    ) -> Any:
        """Send one request (with retries) and return the decoded JSON body (None if empty)."""
        what = self._describe(method, path, params)
        client = self._sync_client()
        for attempt in range(self.policy.retries + 1):
            self.limiter.acquire()
            response, error = None, None
            try:
                response = client.request(method, path, params=params, data=data, json=json)
            except httpx.TransportError as exc:
                error = exc
            wait = self._next_wait(what, attempt, response, error, idempotent)
            if wait is None:
                assert response is not None
                return self._decode(response, what)
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request_json("GET", path, params=params)

    # -- async
    async def aget_json(
        self, client: httpx.AsyncClient, path: str, params: Mapping[str, Any] | None = None
    ) -> Any:
        """``get_json`` on an async client from ``gather``."""
        what = self._describe("GET", path, params)
        for attempt in range(self.policy.retries + 1):
            await self.limiter.acquire_async()
            response, error = None, None
            try:
                response = await client.get(path, params=params)
            except httpx.TransportError as exc:
                error = exc
            wait = self._next_wait(what, attempt, response, error, True)
            if wait is None:
                assert response is not None
                return self._decode(response, what)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def gather(
        self,
        fetch: Callable[[httpx.AsyncClient, S], Awaitable[T]],
        items: Sequence[S],
    ) -> list[T | ProviderError]:
        """``fetch`` every item concurrently (at most ``max_concurrency`` at once, rate-limited).

        A ``ProviderError`` of one item, or a payload whose shape breaks ``fetch`` (KeyError,
        TypeError, ...), is returned in that item's place instead of raised.
        """

        async def main() -> list[T | ProviderError]:
            gate = asyncio.Semaphore(self.max_concurrency)
            async with self._async_client() as client:

                async def one(item: S) -> T | ProviderError:
                    async with gate:
                        try:
                            return await fetch(client, item)
                        except ProviderError as exc:
                            return exc
                        except (KeyError, TypeError, ValueError, AttributeError) as exc:
                            return ProviderError(
                                f"{self.provider}: unexpected payload shape for {item}: "
                                f"{self.redact(repr(exc))}",
                                provider=self.provider,
                                retryable=False,
                            )

                return list(await asyncio.gather(*(one(item) for item in items)))

        return run_coroutine(main())


def requests_per_second(settings: Settings) -> float:
    """The request rate the settings allow: the tighter of the per-second and per-minute caps."""
    rate = settings.provider_requests_per_second
    if settings.provider_requests_per_minute:
        rate = min(rate, settings.provider_requests_per_minute / 60.0)
    return rate


def client_from_settings(
    provider: str,
    base_url: str,
    settings: Settings,
    *,
    transport: httpx.MockTransport | None = None,
    **options: Any,
) -> ProviderClient:
    """A ``ProviderClient`` with the timeout, retry and rate settings of ``settings``.

    ``options`` are passed through (headers, secrets, auth_settings, auth_statuses).
    """
    return ProviderClient(
        provider,
        base_url,
        timeout=settings.provider_timeout_seconds,
        policy=RetryPolicy(
            settings.provider_retries,
            settings.provider_retry_delay_seconds,
            settings.provider_retry_max_delay_seconds,
        ),
        requests_per_second=requests_per_second(settings),
        max_concurrency=settings.provider_max_concurrency,
        transport=transport,
        **options,
    )
