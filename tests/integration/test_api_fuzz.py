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


# ------------------------------------------------------------------- extreme and deep inputs

EXTREME_INTS = ["2147483648", "9223372036854775808", "-1", "0", "1e308", "9" * 40]
EXTREME_STRINGS = ["A" * 5000, "%00", "..%2F..", "\u00ff\u2028", "' OR 1=1 --"]
EXTREME_QUERY = {
    "integer": EXTREME_INTS,
    "number": ["1e309", "-1e309", "nan", "inf", "9" * 400],
    "boolean": ["maybe", "2"],
    "date-time": [
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00%2B23:59",
        "1970-01-01T00:00:00%2B99:99",
        "275760-09-13T00:00:00Z",
    ],
    "date": ["9999-12-31", "0001-01-01", "0000-00-00"],
    "string": EXTREME_STRINGS,
}
BIG = 2**70
EXTREME_BODIES = [
    b"[" * 20_000 + b"]" * 20_000,
    b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    b"[]",
    b'"just a string"',
    b"1e999",
    b'{"username": "' + b"u" * 100_000 + b'", "password": "p"}',
    (
        b'{"user_id": %d, "team_id": %d, "subscription_id": %d, "limit": %d, "name": "%s",'
        b' "symbol": "%s", "role": "root", "active": "yes", "scopes": ["root"]}'
        % (BIG, BIG, BIG, BIG, b"n" * 10_000, b"S" * 1_000)
    ),
]
NEVER_WITH_A_SESSION = {("POST", "/auth/logout"), ("PUT", "/auth/me/password")}


def _operations(app) -> list[tuple[str, str, list[dict]]]:
    ops = []
    for path, item in app.openapi_schema.to_schema()["paths"].items():
        for method, op in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                ops.append((method.upper(), path, op.get("parameters", [])))
    return ops


def _kind(parameter: dict) -> str:
    schema = parameter.get("schema", {})
    for option in [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]:
        if option.get("format") in {"date-time", "date"}:
            return option["format"]
        types = option.get("type", [])
        for kind in ("integer", "number", "boolean"):
            if kind == types or kind in types:
                return kind
    return "string"


def _urls(path: str, parameters: list[dict]) -> list[str]:
    """The path with each path parameter at each extreme, then each query parameter so."""
    path_params = [p for p in parameters if p["in"] == "path"]
    plain = path
    for p in path_params:
        plain = plain.replace("{" + p["name"] + "}", "1" if _kind(p) == "integer" else "AAPL")
    urls = []
    for p in path_params:
        values = EXTREME_INTS if _kind(p) == "integer" else EXTREME_STRINGS
        for value in values:
            other = path
            for q in path_params:
                filler = value if q is p else ("1" if _kind(q) == "integer" else "AAPL")
                other = other.replace("{" + q["name"] + "}", filler)
            urls.append(other)
    for p in (p for p in parameters if p["in"] == "query"):
        urls += [f"{plain}?{p['name']}={value}" for value in EXTREME_QUERY[_kind(p)]]
    return urls or [plain]


@pytest.mark.parametrize("caller", ["anonymous", "viewer", "trader", "admin"])
def test_extreme_and_deep_inputs_never_answer_with_a_server_error(shared_client, caller):
    """Every operation, as every caller: ids past 2^31-1, overflowing numbers, dates at the
    ends of the calendar and beyond, absurd offsets, huge and NUL strings in the path and
    query; bodies nested 20,000 deep, huge numbers, wrong types. All answered 4xx."""
    from tests.integration.test_api_seed import bearer, login

    client = shared_client
    failures = []
    for method, path, parameters in _operations(client.app):
        headers = {}
        if caller != "anonymous" and (method, path) not in NEVER_WITH_A_SESSION:
            headers = bearer(login(client, caller))  # fresh: a call may end its session
        for url in _urls(path, parameters):
            response = client.request(method, url, headers=headers)
            if response.status_code >= 500:
                failures.append(f"{method} {url[:120]} -> {response.status_code}")
        if method in {"POST", "PUT", "PATCH"}:
            plain = _urls(path, [p for p in parameters if p["in"] == "path"])[0]
            for body in EXTREME_BODIES:
                response = client.request(
                    method,
                    plain.split("?")[0],
                    content=body,
                    headers={**headers, "Content-Type": "application/json"},
                )
                if response.status_code >= 500:
                    failures.append(f"{method} {path} body {body[:40]!r} -> {response.status_code}")
    assert not failures, "\n".join(failures)
