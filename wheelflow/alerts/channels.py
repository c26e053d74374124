"""Alert channels: Apprise URLs, checked, redacted, encrypted at rest, and sent to.

A channel is an Apprise URL (``mailto://user:pass@host?to=a@b``, ``json://host:port/path``,
``smseagle://token@host/+15551234``, ``slack://...``, ``tgram://...``, ``discord://...``). URLs
carry credentials, so:

- only :func:`redact` forms (Apprise's own privacy rendering) reach logs, the API and the tables;
- URLs a user stores are encrypted with Fernet (AES-128-CBC + HMAC) under
  ``WHEELFLOW_ALERT_SECRET_KEY`` or a key generated once into the data dir (mode 0600);
- the environment's default channels (``WHEELFLOW_ALERT_URLS``) are never stored at all: outbox
  rows reference them by position (``env:0``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wheelflow.errors import ConfigError

log = logging.getLogger("wheelflow.alerts")

SEVERITIES = ("info", "warning", "critical")


class ChannelError(ConfigError):
    """An alert channel URL that Apprise cannot use (the message names it, redacted)."""


def _apprise() -> Any:
    import apprise  # imported lazily: ~0.3 s, and only processes that deliver need it

    return apprise


def check_url(url: str) -> str:
    """Return ``url`` if Apprise has a plugin that accepts it, else raise :class:`ChannelError`."""
    url = url.strip()
    if not url or "://" not in url:
        raise ChannelError(f"not an Apprise URL: {url[:12]!r}...")
    if _apprise().Apprise.instantiate(url) is None:
        raise ChannelError(f"Apprise cannot use this channel URL: {redact(url)}")
    return url


def redact(url: str) -> str:
    """The URL with passwords, tokens and keys masked (Apprise's privacy form)."""
    plugin = _apprise().Apprise.instantiate(url.strip()) if "://" in url else None
    if plugin is None:
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        return f"{scheme[:16]}://***"
    return _drop_common_args(str(plugin.url(privacy=True)))[:300]


# Apprise appends its generic options to every URL it renders; they only add noise to a label.
_COMMON_ARGS = frozenset(
    {
        "method",
        "overflow",
        "retry",
        "wait",
        "optional",
        "format",
        "emojis",
        "tz",
        "store",
        "cto",
        "rto",
        "verify",
    }
)


def _drop_common_args(url: str) -> str:
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    kept = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _COMMON_ARGS
    ]
    return urlunsplit(parts._replace(query=urlencode(kept, safe="*@")))


def parse_url_list(value: str) -> list[str]:
    """Comma- or whitespace-separated URLs (``WHEELFLOW_ALERT_URLS``), each checked."""
    parts = [p for chunk in value.split(",") for p in chunk.split()]
    return [check_url(p) for p in parts if p.strip()]


# --------------------------------------------------------------------------- encryption at rest


def _fernet(key: str) -> Any:
    from cryptography.fernet import Fernet

    try:
        return Fernet(key.encode())
    except ValueError as exc:
        raise ConfigError(
            "WHEELFLOW_ALERT_SECRET_KEY must be a Fernet key (32 url-safe base64 bytes; "
            'generate one with `python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"`)'
        ) from exc


def load_or_create_key(configured: str, data_dir: Path) -> str:
    """The channel-encryption key: the configured one, else one generated once (mode 0600)."""
    if configured:
        _fernet(configured)
        return configured
    from cryptography.fernet import Fernet

    path = data_dir / "alert_secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    log.warning("WHEELFLOW_ALERT_SECRET_KEY is not set: generated one in %s", path)
    return key


def encrypt_urls(urls: list[str], key: str) -> str:
    return str(_fernet(key).encrypt(json.dumps(urls).encode()).decode())


def decrypt_urls(token: str, key: str) -> list[str]:
    from cryptography.fernet import InvalidToken

    try:
        return list(json.loads(_fernet(key).decrypt(token.encode())))
    except InvalidToken as exc:
        raise ConfigError(
            "stored alert channels cannot be decrypted: WHEELFLOW_ALERT_SECRET_KEY changed?"
        ) from exc


# --------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str | None
    latency_ms: float


_NOTIFY_TYPES = {"info": "info", "warning": "warning", "critical": "failure"}


def send(url: str, title: str, body: str, severity: str = "info") -> SendResult:
    """Send one message through Apprise; never raises, reports the error (redacted)."""
    apprise = _apprise()
    started = time.perf_counter()
    # Sequential inside Apprise: the dispatcher already sends on its own thread pool.
    notifier = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False))
    if not notifier.add(url):
        return SendResult(False, f"unusable channel URL {redact(url)}", 0.0)
    with apprise.LogCapture(level=logging.WARNING) as captured:
        try:
            ok = bool(
                notifier.notify(
                    title=title, body=body, notify_type=_NOTIFY_TYPES.get(severity, "info")
                )
            )
        except Exception as exc:  # a plugin bug must not stop the dispatcher
            ok = False
            captured.write(f"{type(exc).__name__}: {exc}")
        error = None if ok else _scrub(captured.getvalue(), url) or "delivery failed"
    return SendResult(ok, error, (time.perf_counter() - started) * 1000.0)


def _scrub(text: str, url: str) -> str:
    """Apprise's log lines, last few, with anything from the URL's credentials removed."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()][-3:]
    out = " | ".join(lines)[:1000]
    for secret in _url_secrets(url):
        out = out.replace(secret, "***")
    return out


def _url_secrets(url: str) -> list[str]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    found = [p for p in (parts.username, parts.password) if p and len(p) >= 3]
    found += [v for kv in parts.query.split("&") for v in kv.split("=")[1:2] if len(v) >= 8]
    found += [seg for seg in parts.path.split("/") if len(seg) >= 16]  # tokens in the path
    return found
