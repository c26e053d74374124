"""Parsing of TradingView alert webhooks (plain functions, no Litestar).

TradingView alert messages are user-templated, so three shapes are accepted:
``{"ticker": "AAPL", "price": 187.3, "secret": "..."}`` (JSON; ``symbol``/``close`` also work),
``ticker=AAPL price=187.3`` (key=value pairs) and ``AAPL 187.3`` (two words).
An exchange prefix (``NASDAQ:AAPL``) is dropped.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from wheelflow.queries import QueryInputError, normalize_symbol

_PAIR = re.compile(r"([A-Za-z_]+)\s*[=:]\s*([^\s,;]+)")


@dataclass(frozen=True)
class TradingViewAlert:
    ticker: str
    price: float
    secret: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


def _fields_from_text(body: str) -> dict[str, Any]:
    pairs = {k.lower(): v for k, v in _PAIR.findall(body)}
    if "ticker" in pairs or "symbol" in pairs:
        return pairs
    words = body.split()
    if len(words) == 2:
        return {"ticker": words[0], "price": words[1]}
    raise QueryInputError(
        "body", "expected JSON with ticker/price, 'ticker=X price=Y' or 'X 123.45'"
    )


def parse_tradingview_alert(body: bytes) -> TradingViewAlert:
    """Ticker, price and optional secret of an alert body; QueryInputError names what is wrong."""
    try:
        content = body.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise QueryInputError("body", "must be UTF-8 text") from None
    if not content:
        raise QueryInputError("body", "is empty")
    fields: dict[str, Any]
    if content.startswith(("{", "[")):
        try:
            parsed = json.loads(content)
        except ValueError:
            raise QueryInputError("body", "is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise QueryInputError("body", "JSON must be an object")
        fields = {str(k).lower(): v for k, v in parsed.items()}
    else:
        fields = _fields_from_text(content)
    raw_ticker = fields.get("ticker", fields.get("symbol"))
    if not isinstance(raw_ticker, str) or not raw_ticker.strip():
        raise QueryInputError("ticker", "is required (a string such as AAPL or NASDAQ:AAPL)")
    ticker = normalize_symbol(raw_ticker.rsplit(":", 1)[-1], field="ticker")
    raw_price = fields.get("price", fields.get("close"))
    if isinstance(raw_price, bool) or raw_price is None:
        raise QueryInputError("price", "is required (a positive number)")
    try:
        price = float(raw_price)
    except (TypeError, ValueError):
        raise QueryInputError("price", f"{raw_price!r} is not a number") from None
    if not math.isfinite(price) or price <= 0:
        raise QueryInputError("price", "must be a positive finite number")
    secret = fields.get("secret")
    return TradingViewAlert(
        ticker=ticker,
        price=price,
        secret=secret if isinstance(secret, str) else None,
        fields={k: v for k, v in fields.items() if k != "secret"},
    )
