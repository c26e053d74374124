"""Liveness and readiness (no authentication)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from api.auth import PUBLIC
from wheelflow import queries


class SystemController(Controller):
    tags = ["system"]  # noqa: RUF012

    @get("/health", opt=PUBLIC, summary="Liveness: the process answers")
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", opt=PUBLIC, sync_to_thread=True, summary="Readiness: database and last run")
    def ready(self, reader: NamedDependency[Engine]) -> Response[dict[str, Any]]:
        """200 when the database answers, with the last pipeline run's status and age (seconds);
        503 when it does not."""
        try:
            with reader.connect() as conn:
                conn.execute(text("SELECT 1"))
                last_run = queries.last_run_summary(conn)
        except SQLAlchemyError as exc:
            return Response(
                {"status": "unavailable", "database": f"unreachable: {type(exc).__name__}"},
                status_code=503,
            )
        return Response({"status": "ready", "database": "ok", "last_run": last_run})
