"""Live dashboard events (api/live.py): an authenticated WebSocket fed by the run/alert watcher.

Runs and alerts are inserted as the pipeline writes them (another process, in production), on
SQLite and PostgreSQL; with Redis, two API apps share one channel and each event arrives once.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient
from sqlalchemy import Engine, insert, update

from api.app import create_app
from models.tables import Alert, PipelineRun, utcnow
from tests.integration.test_api_seed import (  # noqa: F401  (fixtures)
    api_settings,
    fast_password_hashing,
    login,
)
from wheelflow import security
from wheelflow.db import transaction

POLL = 0.05
WAIT = 10.0  # generous: the machine is shared


def _users(engine: Engine) -> None:
    with transaction(engine) as conn:
        security.create_user(conn, "viewer", "correct horse battery", "viewer")


def _start_run(engine: Engine, run_id: str) -> None:
    now = utcnow()
    with transaction(engine) as conn:
        conn.execute(
            insert(PipelineRun).values(
                run_id=run_id,
                flow_name="wheel_pipeline",
                snapshot_at=now,
                status="running",
                provider="synthetic",
                started_at=now,
            )
        )


def _finish_run(engine: Engine, run_id: str) -> None:
    with transaction(engine) as conn:
        conn.execute(
            update(PipelineRun)
            .where(PipelineRun.run_id == run_id)
            .values(status="completed", finished_at=utcnow(), n_rankings=12)
        )


def _add_alert(engine: Engine, title: str) -> None:
    with transaction(engine) as conn:
        conn.execute(
            insert(Alert).values(
                dedup_key=f"test:{uuid.uuid4()}",
                created_at=utcnow(),
                kind="risk",
                severity="warning",
                symbol="AAPL",
                title=title,
                message=f"{title} (test)",
            )
        )


def _authenticate(ws: Any, token: str) -> dict[str, Any]:
    ws.send_text(json.dumps({"type": "auth", "token": token}))
    return ws.receive_json(timeout=WAIT)


def _events(ws: Any, count: int) -> list[dict[str, Any]]:
    return [ws.receive_json(timeout=WAIT) for _ in range(count)]


def _app_client(engine: Engine, tmp_path: Path, **overrides: Any) -> TestClient:
    settings = api_settings(tmp_path, live_poll_seconds=POLL, **overrides)
    return TestClient(create_app(settings, engine))


def test_socket_needs_a_valid_access_token_in_its_first_message(engine, tmp_path):
    _users(engine)
    with _app_client(engine, tmp_path) as client:
        for first, reason in (
            (json.dumps({"type": "auth", "token": "not-a-jwt"}), "invalid access token"),
            ("hello?", "authentication required"),
            (json.dumps({"type": "subscribe"}), "first message must be"),
        ):
            with client.websocket_connect("/live") as ws:
                ws.send_text(first)
                with pytest.raises(WebSocketDisconnect) as closed:
                    ws.receive(timeout=WAIT)
            assert closed.value.code == 4401
            assert reason in closed.value.detail
        token = login(client, "viewer")["access_token"]
        with client.websocket_connect("/live") as ws:
            assert _authenticate(ws, token) == {
                "type": "hello",
                "username": "viewer",
                "role": "viewer",
            }
            ws.send_text("ping")
            assert ws.receive_text(timeout=WAIT) == "pong"


def test_finished_run_and_new_alert_are_pushed_to_the_socket(engine, tmp_path):
    _users(engine)
    _add_alert(engine, "an old alert")  # before the watcher's baseline: never sent
    with _app_client(engine, tmp_path) as client:
        token = login(client, "viewer")["access_token"]
        with client.websocket_connect("/live") as ws:
            _authenticate(ws, token)
            _start_run(engine, "run-live-1")
            started = _events(ws, 1)[0]
            assert (started["type"], started["run_id"], started["status"]) == (
                "run",
                "run-live-1",
                "running",
            )
            _finish_run(engine, "run-live-1")
            finished = _events(ws, 1)[0]
            assert finished["status"] == "completed" and finished["n_rankings"] == 12
            assert finished["finished_at"] is not None
            _add_alert(engine, "assignment risk")
            alert = _events(ws, 1)[0]
            assert alert["type"] == "alert"
            assert alert["alert"]["title"] == "assignment risk"
            assert alert["alert"]["symbol"] == "AAPL"


def test_finished_run_drops_the_rankings_cache(engine, tmp_path):
    _users(engine)
    with _app_client(engine, tmp_path, api_cache_seconds=3600) as client:
        cache = client.app.state.rankings_cache
        cache.get(("some", "page"), lambda: (b"{}", "application/json", ""))
        assert cache.peek(("some", "page")) is not None
        token = login(client, "viewer")["access_token"]
        with client.websocket_connect("/live") as ws:
            _authenticate(ws, token)
            _start_run(engine, "run-live-2")
            _events(ws, 1)
        assert cache.peek(("some", "page")) is None


def _redis_url() -> str | None:
    url = os.environ.get("WHEELFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        if os.environ.get("CI") == "true":
            raise
        return None
    return url


def test_with_redis_every_api_process_gets_each_event_once(sqlite_engine, tmp_path):
    url = _redis_url()
    if url is None:
        pytest.skip("no Redis on 127.0.0.1:6379")
    _users(sqlite_engine)
    with (
        _app_client(sqlite_engine, tmp_path / "a", redis_url=url) as one,
        _app_client(sqlite_engine, tmp_path / "b", redis_url=url) as two,
    ):
        token = login(one, "viewer")["access_token"]
        with one.websocket_connect("/live") as ws_one, two.websocket_connect("/live") as ws_two:
            _authenticate(ws_one, token)
            _authenticate(ws_two, token)
            title = f"fan-out {uuid.uuid4()}"
            _add_alert(sqlite_engine, title)
            for ws in (ws_one, ws_two):
                (event,) = _events(ws, 1)
                assert event["alert"]["title"] == title
                with pytest.raises(queue.Empty):  # both watchers saw it; one published it
                    ws.receive(timeout=1.0)


def test_alert_timestamps_are_utc(engine, tmp_path):
    """The client reads naive API timestamps as UTC (web/src/format.ts): they must be UTC."""
    _users(engine)
    with _app_client(engine, tmp_path) as client:
        token = login(client, "viewer")["access_token"]
        with client.websocket_connect("/live") as ws:
            _authenticate(ws, token)
            before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            _add_alert(engine, "utc check")
            (event,) = _events(ws, 1)
        created = dt.datetime.fromisoformat(event["alert"]["created_at"]).replace(tzinfo=None)
        assert abs((created - before).total_seconds()) < 60


def test_with_redis_a_finished_run_outdates_the_shared_rankings_pages(sqlite_engine, tmp_path):
    url = _redis_url()
    if url is None:
        pytest.skip("no Redis on 127.0.0.1:6379")
    _users(sqlite_engine)
    prefix = f"wheelflow-test-{uuid.uuid4().hex[:8]}:"
    with _app_client(
        sqlite_engine, tmp_path, redis_url=url, redis_key_prefix=prefix, api_cache_seconds=3600
    ) as client:
        cache = client.app.state.rankings_cache
        assert cache.remote  # the pages live in Redis, shared by the API processes
        cache.get(("some", "page"), lambda: (b"{}", "application/json", ""))
        assert cache.peek(("some", "page")) is not None
        token = login(client, "viewer")["access_token"]
        with client.websocket_connect("/live") as ws:
            _authenticate(ws, token)
            _start_run(sqlite_engine, "run-live-3")
            _events(ws, 1)
        assert cache.peek(("some", "page")) is None
