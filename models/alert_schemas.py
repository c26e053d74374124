"""API schemas of alert delivery: subscriptions, test sends, the delivery log, Alertmanager."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

Severity = Literal["info", "warning", "critical"]
_NO_NUL = r"^[^\x00]*$"
ChannelUrl = Annotated[str, Meta(min_length=4, max_length=2000, pattern=_NO_NUL)]
HourMinute = Annotated[str, Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class SubscriptionIn(Struct, forbid_unknown_fields=True):
    """Which alerts reach which channels (Apprise URLs: ``mailto://``, ``json://``, ...)."""

    name: Annotated[str, Meta(min_length=1, max_length=64, pattern=_NO_NUL)]
    channels: Annotated[list[ChannelUrl], Meta(min_length=1, max_length=10)]
    kinds: Annotated[list[Annotated[str, Meta(max_length=48)]], Meta(max_length=20)] = (
        msgspec.field(default_factory=list)
    )  # empty: every kind
    min_severity: Severity = "info"
    quiet_start: HourMinute | None = None  # local time in ``timezone``; critical alerts bypass
    quiet_end: HourMinute | None = None
    timezone: Annotated[str, Meta(min_length=1, max_length=64, pattern=_NO_NUL)] = "UTC"
    digest_minutes: Annotated[int, Meta(ge=0, le=1440)] = 0  # 0: one message per alert
    enabled: bool = True


class SubscriptionOut(Struct):
    id: int
    name: str
    channels: list[str]  # redacted: credentials masked
    kinds: list[str]
    min_severity: str
    timezone: str
    digest_minutes: int
    enabled: bool
    updated_at: dt.datetime
    quiet_start: str | None = None
    quiet_end: str | None = None


class TestSendRequest(Struct, forbid_unknown_fields=True):
    subscription_id: Annotated[int, Meta(ge=1, le=2**31 - 1)] | None = None


class TestSendResult(Struct):
    subscription_id: int
    target: str
    ok: bool
    latency_ms: float
    error: str | None = None


class DeliveryOut(Struct):
    id: int
    target: str
    status: str  # pending|sending|delivered|dead
    attempts: int
    next_attempt_at: dt.datetime
    created_at: dt.datetime
    digest: bool
    delivered_at: dt.datetime | None = None
    last_error: str | None = None


class AlertmanagerAlert(Struct):
    status: Annotated[str, Meta(max_length=16)]
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    annotations: dict[str, str] = msgspec.field(default_factory=dict)
    startsAt: str | None = None
    endsAt: str | None = None
    generatorURL: str | None = None
    fingerprint: Annotated[str, Meta(max_length=64)] | None = None


class AlertmanagerPayload(Struct):
    """Alertmanager's webhook body (version 4)."""

    alerts: Annotated[list[AlertmanagerAlert], Meta(max_length=1000)]
    version: str = "4"
    status: str = "firing"
    receiver: str = ""
    groupKey: str = ""
    commonLabels: dict[str, str] = msgspec.field(default_factory=dict)
    externalURL: str = ""


class AlertmanagerReceipt(Struct):
    received: int
    created: int
