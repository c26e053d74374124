"""Serving the dashboard (``web/``, built by Vite into ``web/dist``) and the offline API docs.

- ``/`` and every client route under ``/app/...`` answer ``index.html`` (``no-cache``: a new build
  is picked up at once). Client routes live under ``/app`` so that they can never shadow an API
  path such as ``/alerts`` (which answers JSON to programs).
- ``/assets/...``: Vite's content-hashed bundles, cached for a year as ``immutable``.
- ``/schema/scalar`` and ``/schema/swagger`` load Scalar and Swagger UI from the pinned npm
  packages that the web build copies into ``dist/assets/docs/`` (listed in
  ``dist/docs-assets.json``): no CDN, no inline script, so they work offline and under a
  ``default-src 'self'`` content security policy.

Without a build, ``/`` and the docs pages answer 503 with the command that builds the app.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.enums import MediaType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router

from api.auth import PUBLIC
from wheelflow.settings import Settings

DEFAULT_DIST = Path(__file__).resolve().parent.parent / "web" / "dist"
BUILD_COMMAND = "make run (with npm installed), or: cd web && npm ci && npm run build"
ONE_YEAR = 365 * 24 * 3600
FAVICON = ""  # no third-party favicon link (Litestar's default points at a CDN)
NO_CACHE = {"Cache-Control": "no-cache"}
# Offline and private: no font CDN, no telemetry, no AI agent (it calls proxy.scalar.com).
SCALAR_OPTIONS = {
    "withDefaultFonts": False,
    "hideClientButton": True,
    "telemetry": False,
    "agent": {"disabled": True},
}


def dist_dir(settings: Settings) -> Path:
    return settings.web_dist_dir or DEFAULT_DIST


def not_built_page(what: str, dist: Path) -> Response[str]:
    body = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>wheelflow: {what} not built"
        f"</title></head><body><h1>The {html.escape(what)} is not built</h1><p>No build in "
        f"<code>{html.escape(str(dist))}</code>. Build it with <code>{BUILD_COMMAND}</code>, "
        "then reload. The JSON API works without it.</p></body></html>"
    )
    return Response(body, status_code=503, media_type=MediaType.HTML, headers=NO_CACHE)


@dataclass(frozen=True)
class DocsAssets:
    """URLs of the pinned documentation UIs inside the web build."""

    scalar_js: str
    scalar_css: str
    swagger_js: str
    swagger_css: str
    swagger_preset_js: str
    swagger_init_js: str

    @classmethod
    def load(cls, dist: Path) -> DocsAssets | None:
        try:
            return cls(**json.loads((dist / "docs-assets.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None


def _docs_page(title: str, css_url: str, body: str) -> bytes:
    """A docs page whose scripts and styles all come from this server (CSP ``'self'``)."""
    return (
        f'<!DOCTYPE html><html><head><title>{html.escape(title)}</title><meta charset="utf-8"/>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="stylesheet" href="{css_url}"></head><body>{body}</body></html>'
    ).encode()


def _not_built_docs(dist: Path) -> bytes:
    return not_built_page("API documentation", dist).content.encode()


class LocalScalar(ScalarRenderPlugin):
    """Scalar from the web build; its configuration rides on a data attribute (no inline JS)."""

    def __init__(self, dist: Path) -> None:
        self.dist = dist
        self.assets = DocsAssets.load(dist)
        assets = self.assets
        super().__init__(
            js_url=assets.scalar_js if assets else None,
            css_url=assets.scalar_css if assets else None,
            favicon=FAVICON,
            style="",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self.assets is None:
            return _not_built_docs(self.dist)
        config = html.escape(json.dumps(SCALAR_OPTIONS))
        return _docs_page(
            openapi_schema["info"]["title"],
            self.css_url,
            f'<script id="api-reference" data-url="{self.get_openapi_json_route(request)}" '
            f'data-configuration="{config}"></script><script src="{self.js_url}"></script>',
        )


class LocalSwagger(SwaggerRenderPlugin):
    """Swagger UI from the web build, started by a static script instead of an inline one."""

    def __init__(self, dist: Path) -> None:
        self.dist = dist
        self.assets = DocsAssets.load(dist)
        assets = self.assets
        super().__init__(
            js_url=assets.swagger_js if assets else None,
            css_url=assets.swagger_css if assets else None,
            standalone_preset_js_url=assets.swagger_preset_js if assets else None,
            favicon=FAVICON,
            style="",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self.assets is None:
            return _not_built_docs(self.dist)
        return _docs_page(
            openapi_schema["info"]["title"],
            self.css_url,
            '<div id="swagger-container"></div>'
            f'<script src="{self.js_url}"></script>'
            f'<script src="{self.standalone_preset_js_url}"></script>'
            f'<script src="{self.assets.swagger_init_js}" '
            f'data-openapi-url="{self.get_openapi_json_route(request)}"></script>',
        )


def docs_render_plugins(settings: Settings) -> list[Any]:
    dist = dist_dir(settings)
    return [LocalScalar(dist), LocalSwagger(dist)]


def web_routes(settings: Settings) -> list[HTTPRouteHandler | Router]:
    """The SPA entry (``/``, ``/app/...``) and its hashed assets (``/assets``)."""
    dist = dist_dir(settings)

    @get(
        ["/", "/app", "/app/{client_path:path}"],
        opt=PUBLIC,
        include_in_schema=False,
        sync_to_thread=False,
    )
    def index() -> Response[str]:
        """The dashboard's index.html (client routes are resolved in the browser)."""
        try:
            page = (dist / "index.html").read_text(encoding="utf-8")
        except OSError:
            return not_built_page("web app", dist)
        return Response(page, media_type=MediaType.HTML, headers=NO_CACHE)

    assets = create_static_files_router(
        path="/assets",
        directories=[dist / "assets"],
        name="web_assets",
        opt=PUBLIC,
        cache_control=CacheControlHeader(max_age=ONE_YEAR, public=True, immutable=True),
    )
    return [index, assets]
