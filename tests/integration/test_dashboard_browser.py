"""The dashboard end to end in headless Chromium (Debian's package, driven by Playwright).

A `make run`-style database (``wheelflow db upgrade`` + ``wheelflow run`` on the synthetic
market, SQLite), ``wheelflow api`` on a free loopback port serving the Vite build, then a trader's
morning: log in, opportunities, a chain, positions, risk, runs, acknowledge an alert, admin, a
pipeline run arriving live, log out; a viewer who cannot reach trader screens; the offline API
docs. Screenshots of every screen go to web/test-results/screenshots/ (not committed).

Speed figures (printed, not asserted): initial JavaScript gzipped, the opportunities screen
interactive with 5,000 rankings, and end of a pipeline run -> updated table in the browser.

Needs ``chromium`` and ``npm``: outside CI the test skips without them; with CI=true it fails.
The web app is built (``npm ci`` + ``npm run build``) when web/dist is missing.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from sqlalchemy import Engine, select, text

from models.tables import Alert, PipelineRun
from tests.web_tools import WEB, need, web_build
from wheelflow import security
from wheelflow.calendar import sessions
from wheelflow.db import make_engine, transaction, upsert_frame

ROOT = Path(__file__).resolve().parents[2]
DIST = WEB / "dist"
SHOTS = WEB / "test-results" / "screenshots"
PASSWORD = "correct horse battery"
BIN = Path(sys.executable).parent / "wheelflow"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def chromium() -> str:
    need("npm")
    found = need("chromium")
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)  # assertions wait as long as actions (shared machine)
    return found


@pytest.fixture(scope="module")
def web_dist(chromium: str) -> Path:
    return web_build()


def _wheelflow(env: dict[str, str], *args: str, timeout: float = 900) -> str:
    done = subprocess.run(
        [str(BIN), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"wheelflow {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Engine]]:
    """A `make run` database one session old (the next run is the live update), with users."""
    data = tmp_path_factory.mktemp("dashboard")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WHEELFLOW_")},
        "WHEELFLOW_DATA_DIR": str(data),
        "WHEELFLOW_JWT_SECRET": "browser-test-secret-0123456789abcdef",
        "WHEELFLOW_LOGIN_RATE_PER_MINUTE": "1000",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    today = dt.datetime.now(dt.UTC).date()
    previous_session = sessions(today - dt.timedelta(days=14), today - dt.timedelta(days=1))[-2]
    _wheelflow(env, "db", "upgrade")
    _wheelflow(env, "run", "--quiet", "--date", previous_session.isoformat())
    engine = make_engine(f"sqlite:///{data / 'wheelflow.sqlite'}")
    with transaction(engine) as conn:
        for name, role in (("alice", "admin"), ("tom", "trader"), ("vera", "viewer")):
            security.create_user(conn, name, PASSWORD, role)
    yield env, engine
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(deployment: tuple[dict[str, str], Engine], web_dist: Path) -> Iterator[str]:
    env, _ = deployment
    port = _free_port()
    log = (ROOT / "web" / "test-results").joinpath("api.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(BIN), "api", "--port", str(port), "--log-level", "warning"],
            env={**env, "WHEELFLOW_WEB_DIST_DIR": str(web_dist)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            pytest.fail(f"wheelflow api did not start:\n{log.read_text()}")
        assert f"wheelflow dashboard: {base}/" in log.read_text()
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


class Watch:
    """What the page did that it must not: third-party requests, console errors (CSP)."""

    def __init__(self, page: Any, base: str) -> None:
        self.foreign: list[str] = []
        self.errors: list[str] = []
        page.on(
            "request",
            lambda r: (
                None
                if r.url.startswith((base, "data:", "blob:", "ws://127.0.0.1"))
                else self.foreign.append(r.url)
            ),
        )
        page.on(
            "console",
            lambda m: (
                self.errors.append(m.text)
                if m.type == "error" and "status of 401" not in m.text
                else None
            ),
        )

    def check(self) -> None:
        assert self.foreign == [], f"requests outside the server: {self.foreign[:5]}"
        csp = [e for e in self.errors if "Content Security Policy" in e]
        assert csp == [], csp


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/")
    page.wait_for_url("**/app/login**")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/app/opportunities")


def _count(page: Any) -> str:
    return str(page.get_by_test_id("row-count").inner_text())


def _initial_js_gzip_kb(dist: Path) -> float:
    """Gzipped size of the scripts index.html loads up front (entry + module preloads)."""
    index = (dist / "index.html").read_text()
    paths = re.findall(r'(?:src|href)="(/assets/[^"]+\.js)"', index)
    return sum(len(gzip.compress((dist / p.lstrip("/")).read_bytes(), 9)) for p in paths) / 1024


def _seed_rankings(engine: Engine, n: int) -> str:
    """A newer run whose 5,000 cash-secured puts are the latest rankings (copied contracts of the
    current run with distinct strikes), as the pipeline would store them."""
    with engine.connect() as conn:
        latest = pd.read_sql(
            text(
                "SELECT * FROM rankings WHERE snapshot_at = (SELECT MAX(snapshot_at) FROM rankings)"
            ),
            conn,
            parse_dates=["snapshot_at"],
        )
    puts = latest[latest["strategy"] == "csp"].reset_index(drop=True)
    snapshot = pd.Timestamp(latest["snapshot_at"].max()).to_pydatetime() + dt.timedelta(minutes=1)
    run_id = "speed-" + snapshot.strftime("%Y%m%dT%H%M%S")
    frame = puts.loc[[i % len(puts) for i in range(n)]].reset_index(drop=True)
    frame["snapshot_at"] = snapshot
    frame["run_id"] = run_id
    frame["rank"] = range(1, n + 1)
    frame["strike"] = frame["strike"] + (frame.index // len(puts)) * 0.01
    frame["occ_symbol"] = [f"{o[:-8]}{i:08d}" for i, o in enumerate(frame["occ_symbol"])]
    frame["expiration"] = pd.to_datetime(frame["expiration"]).dt.date
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with transaction(engine) as conn:
        upsert_frame(conn, "rankings", frame)
        conn.execute(
            PipelineRun.__table__.insert().values(
                run_id=run_id,
                flow_name="speed",
                snapshot_at=snapshot,
                status="completed",
                provider="synthetic",
                started_at=now,
                finished_at=now,
                n_rankings=n,
            )
        )
    return run_id


def test_a_traders_morning_in_the_browser(server, deployment, chromium, capsys):
    from playwright.sync_api import expect, sync_playwright

    _, engine = deployment
    figures: dict[str, Any] = {"initial_js_gzip_kb": round(_initial_js_gzip_kb(DIST), 1)}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        context = browser.new_context(
            viewport={"width": 1280, "height": 760}, timezone_id="Europe/Paris"
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        watch = Watch(page, server)

        page.goto(f"{server}/app/login")
        _shot(page, "login")
        _login(page, server, "alice")

        # Opportunities of the make-run database
        with engine.connect() as conn:
            n_puts = conn.execute(
                text(
                    "SELECT COUNT(*) FROM rankings WHERE strategy='csp' AND snapshot_at="
                    "(SELECT MAX(snapshot_at) FROM rankings)"
                )
            ).scalar_one()
        assert n_puts > 0
        expect(page.get_by_test_id("row-count")).to_have_text(
            re.compile(rf"^{n_puts} of {n_puts}$")
        )
        expect(page.get_by_test_id("ranking-row").first).to_be_visible()
        expect(page.get_by_test_id("live-status")).to_have_text("live")
        _shot(page, "opportunities")

        # Tokens: nothing in web storage; the refresh token only in an httpOnly cookie on /auth
        storage = page.evaluate("() => JSON.stringify({...localStorage, ...sessionStorage})")
        assert "eyJ" not in storage and "refresh" not in storage
        (cookie,) = [c for c in context.cookies() if c["name"] == "wheelflow_refresh"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/auth"
        page.reload()  # the session survives a reload through the cookie alone
        expect(page.get_by_test_id("ranking-row").first).to_be_visible()

        # Chain explorer from a ranking row
        first = page.get_by_test_id("ranking-row").first
        symbol = first.get_by_role("gridcell").nth(1).inner_text()
        first.click()
        page.wait_for_url(f"**/app/chains/{symbol}?expiry=*")
        expect(page.get_by_test_id("contract-row").first).to_be_visible()
        expect(page.get_by_test_id("chain-meta")).to_contain_text(symbol)
        expect(page.locator("canvas").first).to_be_visible()  # the ECharts smile and term
        _shot(page, "chain")

        # Positions and wheel cycles, risk, runs
        page.get_by_role("link", name="Positions & cycles").click()
        expect(page.get_by_test_id("pnl-realized")).not_to_have_text("")
        expect(page.get_by_test_id("position-row").first).to_be_visible()
        _shot(page, "positions")
        page.get_by_role("link", name="Risk").click()
        expect(page.get_by_role("heading", name="Risk")).to_be_visible()
        expect(page.get_by_test_id("risk-status")).to_be_visible()
        _shot(page, "risk")
        page.get_by_role("link", name="Runs").click()
        page.get_by_test_id("run-row").first.click()
        expect(page.get_by_test_id("run-details")).to_contain_text("Data-quality results")
        _shot(page, "runs")

        # Acknowledge an alert
        page.get_by_role("link", name="Alerts").click()
        item = (
            page.get_by_test_id("alert-item")
            .filter(has=page.get_by_role("button", name="Acknowledge"))
            .first
        )
        alert_id = int(item.get_attribute("data-alert-id"))
        item.get_by_role("button", name="Acknowledge").click()
        expect(page.locator(f'[data-alert-id="{alert_id}"]')).to_contain_text(
            "acknowledged by alice"
        )
        with engine.connect() as conn:
            acked = conn.execute(
                select(Alert.acknowledged_by).where(Alert.id == alert_id)
            ).scalar_one()
        assert acked == "alice"
        _shot(page, "alerts")

        page.get_by_role("link", name="Admin").click()
        expect(page.get_by_role("table", name="users")).to_contain_text("vera")
        _shot(page, "admin")

        # The dark theme, remembered across a reload (no secret in web storage, just the theme)
        page.get_by_role("button", name="toggle dark theme").click()
        page.get_by_role("link", name="Positions & cycles").click()
        dark = "() => getComputedStyle(document.body).backgroundColor"
        assert page.evaluate(dark) == "rgb(18, 18, 18)"
        page.reload()
        expect(page.get_by_test_id("position-row").first).to_be_visible()
        assert page.evaluate(dark) == "rgb(18, 18, 18)"
        _shot(page, "positions-dark")
        page.get_by_role("button", name="toggle dark theme").click()

        # A pipeline run in another process arrives live
        page.get_by_role("link", name="Opportunities").click()
        expect(page.get_by_test_id("live-status")).to_have_text("live")
        # the page notes when the snapshot shown changes (the run's process exits seconds later)
        page.evaluate(
            """() => {
              const before = document.querySelector('[data-testid=snapshot-at]').textContent;
              new MutationObserver((_, observer) => {
                const now = document.querySelector('[data-testid=snapshot-at]');
                if (now && now.textContent && now.textContent !== before) {
                  window.__snapshotChangedAt = Date.now();
                  observer.disconnect();
                }
              }).observe(document.body, { subtree: true, childList: true, characterData: true });
            }"""
        )
        env, _ = deployment
        _wheelflow(env, "run", "--quiet")
        handle = page.wait_for_function("() => window.__snapshotChangedAt", timeout=TIMEOUT_MS)
        seen_ms = handle.json_value()
        with engine.connect() as conn:
            finished = conn.execute(
                select(PipelineRun.finished_at).order_by(PipelineRun.finished_at.desc()).limit(1)
            ).scalar_one()
        figures["run_end_to_table_ms"] = round(
            seen_ms - finished.replace(tzinfo=dt.UTC).timestamp() * 1000
        )
        expect(page.get_by_test_id("ranking-row").first).to_be_visible()

        # Log out: back to the login page, and a reload does not sign in again
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url("**/app/login")
        assert not [c for c in context.cookies() if c["name"] == "wheelflow_refresh"]
        page.goto(f"{server}/app/opportunities")
        page.wait_for_url("**/app/login**")

        # Speed with 5,000 rankings, from navigation start: the first page of rows on screen and
        # usable (the rest stream in behind it), then all 5,000 loaded
        _seed_rankings(engine, 5000)
        _login(page, server, "tom")
        page.goto(f"{server}/app/opportunities")
        first_rows = page.wait_for_function(
            "() => document.querySelector('[data-testid=ranking-row]') ? performance.now() : false",
            polling="raf",
            timeout=TIMEOUT_MS,
        )
        figures["opportunities_first_rows_ms"] = round(first_rows.json_value())
        all_rows = page.wait_for_function(
            """() => {
              const c = document.querySelector('[data-testid=row-count]');
              return c && /^5\\D?000 of 5\\D?000$/.test(c.textContent) ? performance.now() : false;
            }""",
            polling="raf",
            timeout=TIMEOUT_MS,
        )
        figures["opportunities_all_5000_ms"] = round(all_rows.json_value())
        page.get_by_role("button", name="Ann. yield").click()  # sorting 5,000 rows
        expect(page.get_by_role("columnheader", name=re.compile("Ann. yield"))).to_have_attribute(
            "aria-sort", "descending"
        )
        _shot(page, "opportunities-5000")
        watch.check()
        browser.close()

    (WEB / "test-results" / "speed.json").write_text(json.dumps(figures, indent=1))
    with capsys.disabled():
        print(f"\ndashboard speed (loopback, shared machine): {figures}")


def test_a_viewer_never_reaches_trader_screens(server, chromium):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 390, "height": 800})  # a phone
        page.set_default_timeout(TIMEOUT_MS)
        watch = Watch(page, server)
        _login(page, server, "vera")
        expect(page.get_by_test_id("ranking-row").first).to_be_visible()
        page.get_by_role("button", name="open navigation").click()
        nav = page.get_by_role("navigation", name="screens")
        expect(nav).to_contain_text("Opportunities")
        expect(nav).not_to_contain_text("Positions")
        expect(nav).not_to_contain_text("Admin")
        _shot(page, "viewer-phone-nav")
        page.keyboard.press("Escape")
        for screen in ("positions", "admin"):
            page.goto(f"{server}/app/{screen}")
            expect(page.get_by_test_id("forbidden")).to_contain_text("needs the")
        _shot(page, "viewer-forbidden")
        page.goto(f"{server}/app/alerts")
        expect(page.get_by_test_id("alert-item").first).to_be_visible()
        expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
        watch.check()
        browser.close()


def test_api_docs_render_offline_from_pinned_assets(server, chromium):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 760})
        page.set_default_timeout(TIMEOUT_MS)
        watch = Watch(page, server)
        page.goto(f"{server}/schema/swagger")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("wheelflow API")
        expect(page.locator(".opblock-summary-path", has_text="/rankings").first).to_be_visible()
        _shot(page, "docs-swagger")
        page.goto(f"{server}/schema/scalar")
        expect(page.locator("h1", has_text="wheelflow API")).to_be_visible()
        expect(page.get_by_text("/rankings").first).to_be_attached()
        _shot(page, "docs-scalar")
        watch.check()
        browser.close()
