"""Turning provider JSON records into the common frames, vectorized, without losing bad rows.

A field that is present but cannot be parsed (``"bid": "abc"``) becomes null and the row's
``parse_error`` names the provider's raw field and value, so the chain gate quarantines the row
with that reason. Missing fields are simply null (the gate decides whether that is acceptable).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from wheelflow.market_time import NEW_YORK
from wheelflow.occ import parse_occ_symbols

Kind = Literal["float", "int", "str", "date", "right", "epoch_ms", "time_utc", "time_ny"]
_KIND_TEXT = {
    "float": "a number",
    "int": "a number",
    "date": "a date",
    "right": "put/call",
    "epoch_ms": "a millisecond timestamp",
    "time_utc": "a timestamp",
    "time_ny": "a timestamp",
}
_RIGHTS = {"put": "P", "call": "C", "p": "P", "c": "C"}


def as_list(value: Any) -> list[Any]:
    """Tradier-style containers: ``null``/``"null"`` -> [], one object -> [object], list -> list."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "null")):
        return []
    if isinstance(value, list):
        return value
    return [value]


def _present(raw: pd.Series) -> pd.Series:
    """Non-null and, for text, not blank."""
    return pd.Series([_text(v) is not None for v in raw.tolist()], index=raw.index)


def _text(value: Any) -> str | None:
    """A raw scalar as stripped text; None for null or blank."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def _parse(raw: pd.Series, kind: Kind) -> pd.Series:
    """Parse one raw field; unparseable values become null (``normalize_records`` names them).

    Text fields go through plain Python: for the tens to hundreds of rows of one payload that is
    several times faster than pandas string methods.
    """
    if kind == "str":
        return pd.Series([_text(v) for v in raw.tolist()], index=raw.index, dtype=object)
    if kind == "right":
        rights = [_RIGHTS.get((_text(v) or "").lower()) for v in raw.tolist()]
        return pd.Series(rights, index=raw.index, dtype=object)
    if kind in ("float", "int"):
        if pd.api.types.is_numeric_dtype(raw) and raw.dtype != bool:
            out = raw.astype("float64")  # the JSON was already numeric
        else:
            out = pd.to_numeric(raw.astype(object), errors="coerce").astype("float64")
        out = out.where(np.isfinite(out))
        return out if kind == "float" else out.round().astype("Int64")
    if kind == "epoch_ms":
        millis = pd.to_numeric(raw.astype(object), errors="coerce")
        return pd.to_datetime(millis, unit="ms", utc=True, errors="coerce").dt.tz_localize(None)
    values = raw.astype(object).where(raw.notna(), None)
    stamps = pd.to_datetime(values, errors="coerce", format="ISO8601", utc=kind == "time_utc")
    if kind == "time_utc":
        return stamps.dt.tz_localize(None)
    if kind == "time_ny":
        local = stamps.dt.tz_localize(NEW_YORK, ambiguous="NaT", nonexistent="NaT")
        return local.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.dt.normalize()  # "date"


def add_errors(errors: pd.Series, bad: pd.Series, messages: pd.Series) -> pd.Series:
    """Append ``messages`` (where ``bad``) to ``errors`` with ``"; "``."""
    if not bad.any():
        return errors
    joined = errors.where(errors.isna(), errors.astype(object) + "; ").fillna("")
    return errors.where(~bad, joined + messages.astype(str))


def normalize_records(
    records: list[dict[str, Any]] | pd.DataFrame,
    fields: Mapping[str, tuple[str, Kind]],
    *,
    provider: str,
) -> pd.DataFrame:
    """A frame with one column per ``fields`` key, parsed from the raw field it names.

    Nested objects are addressed with dots (``"greeks.delta"``, ``"latestQuote.bp"``).
    ``parse_error`` collects ``"<provider>.<raw field>: <value> is not <kind>"`` per row.
    """
    raw = records if isinstance(records, pd.DataFrame) else pd.json_normalize(records)
    columns: dict[str, Any] = {}
    errors = pd.Series(None, index=raw.index, dtype=object)
    for column, (raw_name, kind) in fields.items():
        if raw_name not in raw.columns:
            columns[column] = None  # absent field: null (conform gives it the column's dtype)
            continue
        source = raw[raw_name]
        parsed = _parse(source, kind)
        columns[column] = parsed
        if kind == "str" or not parsed.hasnans:
            continue
        bad = _present(source) & parsed.isna()
        if bad.any():
            messages = source[bad].map(
                lambda v, name=raw_name, k=kind: f"{provider}.{name}: {v!r} is not {_KIND_TEXT[k]}"
            )
            errors = add_errors(errors, bad, messages.reindex(raw.index))
    columns["parse_error"] = errors.where(errors.notna(), None)
    return pd.DataFrame(columns, index=raw.index)


def fill_from_occ(frame: pd.DataFrame, *, provider: str, raw_name: str) -> pd.DataFrame:
    """Fill underlying/expiration/strike/right of ``frame`` from its ``occ_symbol`` column.

    Rows whose symbol is not an OCC symbol keep nulls and get a ``parse_error`` naming the field.
    """
    frame = frame.copy()
    symbols = frame["occ_symbol"].astype(object).where(frame["occ_symbol"].notna(), "")
    parts = parse_occ_symbols(symbols.astype(str))
    frame["occ_symbol"] = symbols.astype(str).str.replace(" ", "", regex=False)
    for col in ("underlying", "expiration", "strike", "right"):
        if col in frame.columns:
            frame[col] = frame[col].where(frame[col].notna(), parts[col])
        else:
            frame[col] = parts[col]
    bad = ~parts["valid"].astype(bool)
    messages = symbols.map(lambda v: f"{provider}.{raw_name}: {v!r} is not an OCC symbol")
    if "parse_error" not in frame.columns:
        frame["parse_error"] = None
    errors = frame["parse_error"].astype(object)
    frame["parse_error"] = add_errors(errors, bad, messages)
    return frame


def utc_now_minute() -> dt.datetime:
    """Naive UTC now, truncated to the minute: the snapshot key of a live provider."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, second=0, microsecond=0)
