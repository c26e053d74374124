# ruff: noqa: F811  (pytest fixtures imported from test_api_seed are parameters here)
"""Property-based fuzzing of every operation in the OpenAPI schema (schemathesis + Hypothesis):
whatever the generated path, query, headers and body, the API never answers with a 5xx.

Runs as admin so every handler is reached past its guard, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python import asgi

from api.app import create_app
from tests.integration.test_api_seed import (  # noqa: F401  (fixtures)
    api_settings,
    fast_password_hashing,
    shared_client,
    shared_engine,
    shared_roles,
)
from wheelflow.db import make_engine


def _schema_only_app():
    """The app built over an unused in-memory engine: its OpenAPI document drives generation;
    every generated call is then sent to the app over the seeded database of the test."""
    settings = api_settings(Path(tempfile.gettempdir()) / "wheelflow-fuzz-unused")
    return create_app(settings, make_engine("sqlite://"))


@pytest.fixture(scope="module")
def asgi_session(shared_client):
    """One in-process HTTP session to the app over the seeded database (both backends)."""
    with asgi.get_client(shared_client.app) as session:
        yield session


schema = schemathesis.openapi.from_asgi("/schema/openapi.json", _schema_only_app())


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_operation_answers_with_a_server_error(case, asgi_session, shared_roles):
    response = case.call(session=asgi_session, headers=shared_roles["admin"])
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
    )
