"""Live updates for the dashboard: one WebSocket (``/live``) fed by a Litestar channel.

Pipeline runs and alerts are written by other processes (the CLI, a Prefect worker), so a small
watcher in each API process polls ``pipeline_runs`` and ``alerts`` (two indexed queries every
``WHEELFLOW_LIVE_POLL_SECONDS``) and publishes what changed:

- ``{"type": "run", "run_id", "status", "snapshot_at", "finished_at", "n_rankings"}`` when a run
  appears or changes status (the process's rankings cache is dropped first, so a refetch after a
  finished run reads the new rankings);
- ``{"type": "alert", "alert": {...}}`` for every new alert.

With ``WHEELFLOW_REDIS_URL`` the channel is Redis pub/sub, so every API process's sockets get
every event; each event is then published once (a ``SET NX`` claim per event in Redis), whichever
watcher sees it first. Without Redis the channel is in memory, one process.

The socket is authenticated by its first message, ``{"type": "auth", "token": "<access JWT>"}``
(tokens never travel in the URL, where proxies log them); the server answers
``{"type": "hello", "username", "role"}`` or closes with code 4401. Clients send ``"ping"`` to get
``"pong"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import anyio.to_thread
from litestar import Litestar, WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.config.app import AppConfig
from litestar.exceptions import WebSocketDisconnect
from sqlalchemy import Engine

from api.auth import PUBLIC
from wheelflow import queries, security
from wheelflow.security import AuthenticationFailed
from wheelflow.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "events"
AUTH_TIMEOUT_SECONDS = 10.0
CLOSE_UNAUTHORIZED = 4401

Publish = Callable[[dict[str, Any], str], Awaitable[None]]


def channels_backend(settings: Settings) -> ChannelsBackend:
    """Redis pub/sub when WHEELFLOW_REDIS_URL is set (several API processes), else in memory."""
    if settings.redis_url:
        from litestar.channels.backends.redis import RedisChannelsPubSubBackend
        from redis.asyncio import Redis

        return RedisChannelsPubSubBackend(
            redis=Redis.from_url(settings.redis_url),
            key_prefix=f"{settings.redis_key_prefix}channels",
        )
    return MemoryChannelsBackend()


def make_publisher(settings: Settings, channels: ChannelsPlugin) -> Publish:
    """``publish(event, key)``: send ``event`` to every socket, once per ``key`` (Redis: across
    all API processes)."""
    if not settings.redis_url:

        async def publish_local(event: dict[str, Any], key: str) -> None:
            channels.publish(event, CHANNEL)

        return publish_local

    from redis.asyncio import Redis

    redis = Redis.from_url(settings.redis_url)

    async def publish_once(event: dict[str, Any], key: str) -> None:
        # every watcher sees a change within one poll: a minute-long claim is plenty
        if await redis.set(f"{settings.redis_key_prefix}live:{key}", 1, nx=True, ex=60):
            channels.publish(event, CHANNEL)

    return publish_once


class Watcher:
    """Turns two readings of the run and alert tables into events (see the module docstring)."""

    def __init__(self, reader: Engine, publish: Publish, on_run_change: Callable[[], None]):
        self.reader = reader
        self.publish = publish
        self.on_run_change = on_run_change
        self.run_status: dict[str, str] | None = None
        self.last_alert_id: int | None = None

    def _read(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with self.reader.connect() as conn:
            return (
                queries.recent_run_states(conn),
                queries.alerts_after(conn, self.last_alert_id),
            )

    async def poll(self) -> int:
        """Read both tables once and publish what changed since the last reading; returns the
        number of events. The first reading only sets the baseline."""
        runs, alerts = await anyio.to_thread.run_sync(self._read)
        events = 0
        first = self.run_status is None
        previous = self.run_status or {}
        self.run_status = {run["run_id"]: run["status"] for run in runs}
        changed = [run for run in runs if previous.get(run["run_id"]) != run["status"]]
        if not first and changed:
            self.on_run_change()
            for run in reversed(changed):  # oldest first
                key = f"run:{run['run_id']}:{run['status']}:{run['finished_at']}"
                await self.publish({"type": "run", **run}, key)
                events += 1
        if self.last_alert_id is None:
            self.last_alert_id = int(alerts[0]["id"]) if alerts else 0
            return events
        for alert in alerts:
            key = f"alert:{alert['id']}:{alert['dedup_key']}:{alert['created_at']}"
            await self.publish({"type": "alert", "alert": alert}, key)
            self.last_alert_id = int(alert["id"])
            events += 1
        return events

    async def run_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.poll()
            except Exception:  # a database hiccup must not end live updates
                log.exception("live watcher: reading runs and alerts failed; retrying")


def watcher_lifespan(settings: Settings) -> Callable[[Litestar], Any]:
    """The app lifespan running the watcher next to the server (polling off when interval 0)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        interval = settings.live_poll_seconds
        if interval <= 0:
            yield
            return
        channels = app.plugins.get(LiveChannels)
        watcher = Watcher(
            app.state.engine.execution_options(isolation_level="AUTOCOMMIT"),
            make_publisher(settings, channels),
            app.state.rankings_cache.clear,
        )
        with contextlib.suppress(Exception):  # the baseline; a failure is retried by the loop
            await watcher.poll()
        task = asyncio.create_task(watcher.run_forever(interval))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan


async def _authenticate(socket: WebSocket[Any, Any, Any]) -> security.Principal | None:
    try:
        first = await asyncio.wait_for(socket.receive_text(), AUTH_TIMEOUT_SECONDS)
        message = json.loads(first)
        if not isinstance(message, dict) or message.get("type") != "auth":
            raise AuthenticationFailed("the first message must be {'type': 'auth', 'token': ...}")
        return security.decode_access_token(
            str(message.get("token", "")), secret=socket.app.state.jwt_secret
        )
    except (TimeoutError, ValueError, AuthenticationFailed) as exc:
        reason = str(exc) if isinstance(exc, AuthenticationFailed) else "authentication required"
        await socket.close(code=CLOSE_UNAUTHORIZED, reason=reason[:120])
        return None


@websocket("/live", opt=PUBLIC)
async def live_socket(socket: WebSocket[Any, Any, Any]) -> None:
    """Live events (runs, alerts) for any signed-in user; see the module docstring."""
    channels = socket.app.plugins.get(LiveChannels)
    await socket.accept()
    try:
        principal = await _authenticate(socket)
        if principal is None:
            return
        await socket.send_json(
            {"type": "hello", "username": principal.username, "role": principal.role}
        )

        async def forward(event: bytes) -> None:
            await socket.send_text(event.decode())

        async with (
            channels.start_subscription([CHANNEL]) as subscriber,
            subscriber.run_in_background(forward),
        ):
            while True:
                if await socket.receive_text() == "ping":
                    await socket.send_text("pong")
    except WebSocketDisconnect:
        return


class LiveChannels(ChannelsPlugin):
    """The channels plugin without its app-wide ``channels`` dependency: that name would shadow
    any request-body field called ``channels`` (alert subscriptions have one) in every handler's
    validation. The socket handler takes the plugin from the app instead."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config = super().on_app_init(app_config)
        app_config.dependencies.pop("channels", None)
        return app_config


def channels_plugin(settings: Settings) -> ChannelsPlugin:
    return LiveChannels(backend=channels_backend(settings), channels=[CHANNEL])
