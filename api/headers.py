"""Security headers on every answer, errors and 404s included (an app ``before_send`` hook).

``nosniff``, frame denial, no referrer, the Content-Security-Policy of the settings (one place:
``WHEELFLOW_CONTENT_SECURITY_POLICY``), and HSTS when the request came over TLS (directly, or
through a trusted proxy's ``X-Forwarded-Proto``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from wheelflow.settings import Settings


def security_headers_hook(settings: Settings) -> Callable[[Message, Scope], Awaitable[None]]:
    always = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": settings.content_security_policy,
    }
    hsts = f"max-age={settings.hsts_seconds}; includeSubDomains" if settings.hsts_seconds else ""

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        for name, value in always.items():
            if name not in headers:
                headers[name] = value
        if hsts and scope.get("scheme") == "https":
            headers["Strict-Transport-Security"] = hsts

    return add_security_headers
