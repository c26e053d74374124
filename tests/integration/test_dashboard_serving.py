# ruff: noqa: F811  (pytest fixtures imported from test_api_seed are parameters here)
"""The dashboard's static serving (api/web.py), its offline API docs, and the run-quality read.

A small stand-in build (index.html, one hashed bundle, docs-assets.json) is written to a temp
directory; the real Vite build is exercised by the browser test (test_dashboard_browser.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from litestar.testing import TestClient

from api.app import create_app
from tests.integration.test_api_seed import (  # noqa: F401  (fixtures)
    api_settings,
    bearer,
    fast_password_hashing,
    login,
    shared_client,
    shared_engine,
    shared_roles,
)

INDEX = (
    '<!doctype html><html><body><div id="root"></div>'
    '<script type="module" src="/assets/index-Ab12Cd34.js"></script></body></html>'
)
DOCS = {
    "scalar_js": "/assets/docs/scalar-api-reference-1.46.4.js",
    "scalar_css": "/assets/docs/docs-0123456789.css",
    "swagger_js": "/assets/docs/swagger-ui-bundle-5.35.0.js",
    "swagger_css": "/assets/docs/swagger-ui-5.35.0.css",
    "swagger_preset_js": "/assets/docs/swagger-ui-standalone-preset-5.35.0.js",
    "swagger_init_js": "/assets/docs/swagger-init-0123456789.js",
}


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets" / "docs").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-Ab12Cd34.js").write_text("console.log('wheelflow')")
    (root / "assets" / "docs" / "swagger-init-0123456789.js").write_text("/* init */")
    (root / "docs-assets.json").write_text(json.dumps(DOCS))
    return root


def _client(shared_engine, tmp_path: Path, dist: Path) -> TestClient:
    settings = api_settings(tmp_path, web_dist_dir=dist)
    return TestClient(create_app(settings, shared_engine))


def test_root_and_client_routes_serve_index_html_uncached(shared_engine, tmp_path, dist):
    with _client(shared_engine, tmp_path, dist) as client:
        for path in ("/", "/app", "/app/opportunities", "/app/chains/AAPL"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert response.text == INDEX
            assert response.headers["content-type"].startswith("text/html")
            assert response.headers["cache-control"] == "no-cache"


def test_hashed_assets_are_cached_for_a_year_as_immutable(shared_engine, tmp_path, dist):
    with _client(shared_engine, tmp_path, dist) as client:
        response = client.get("/assets/index-Ab12Cd34.js")
        assert response.status_code == 200
        assert response.text == "console.log('wheelflow')"
        cache = response.headers["cache-control"]
        assert "max-age=31536000" in cache and "immutable" in cache and "public" in cache
        assert client.get("/assets/missing-00000000.js").status_code == 404


def test_client_routes_do_not_shadow_the_api(shared_engine, tmp_path, dist):
    with _client(shared_engine, tmp_path, dist) as client:
        alerts = client.get("/alerts")
        assert alerts.status_code == 401
        assert alerts.headers["content-type"].startswith("application/json")
        assert client.get("/no-such-route").status_code == 404
        viewer = bearer(login(client, "viewer"))
        assert client.get("/rankings", headers=viewer).json()["items"]


def test_without_a_build_the_root_says_how_to_build_it(shared_engine, tmp_path):
    with _client(shared_engine, tmp_path, tmp_path / "nothing-here") as client:
        response = client.get("/")
        assert response.status_code == 503
        assert "npm run build" in response.text
        assert "make run" in response.text
        docs = client.get("/schema/scalar")
        assert docs.status_code == 200 and "not built" in docs.text
        assert client.get("/health").json() == {"status": "ok"}


@pytest.mark.parametrize("page", ["/schema/scalar", "/schema/swagger"])
def test_api_docs_load_pinned_local_assets_without_inline_script(
    shared_engine, tmp_path, dist, page
):
    with _client(shared_engine, tmp_path, dist) as client:
        html = client.get(page).text
    assert "http://" not in html and "https://" not in html  # no CDN, no third-party favicon
    assert "<style" not in html
    scripts = html.split("<script")[1:]
    assert scripts
    for script in scripts:
        body = script.split(">", 1)[1].split("</script>")[0]
        assert body.strip() == "", f"inline script on {page}: {body[:80]}"
    expected = DOCS["scalar_js"] if page.endswith("scalar") else DOCS["swagger_js"]
    assert f'src="{expected}"' in html


def test_run_quality_lists_quarantined_rows_with_reasons(shared_client, shared_roles):
    response = shared_client.get("/runs/run-2/quality", headers=shared_roles["viewer"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["run_id"] == "run-2"
    assert body["quarantined_total"] == 1
    (row,) = body["quarantined"]
    assert row["row_key"] == "KO261218C00070000" and row["reasons"] == "bid > ask"
    assert row["payload"] == {"bid": 1.2, "ask": 1.0}
    assert {r["stage"] for r in body["quality_results"]}


def test_run_quality_of_an_unknown_run_is_404(shared_client, shared_roles):
    response = shared_client.get("/runs/nope/quality", headers=shared_roles["viewer"])
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]
