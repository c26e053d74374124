"""API request and response schemas (msgspec Structs): validated at the edge, documented in OpenAPI.

Units: prices per share in USD, returns as fractions (0.12 = 12 %), ``theta`` per calendar day.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

Role = Literal["viewer", "trader", "admin"]
Strategy = Literal["csp", "cc"]
AlertChannel = Literal["email", "slack", "telegram", "webhook", "pushover"]
MAX_ID = 2**31 - 1  # INTEGER primary keys: larger ids cannot exist (and overflow the driver)
# PostgreSQL text cannot hold NUL characters: refuse them at the edge (400, not 500).
_NO_NUL = r"^[^\x00]*$"
Username = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@\-]+$")]
Password = Annotated[str, Meta(min_length=1, max_length=1024)]
NewPassword = Annotated[str, Meta(min_length=1, max_length=1024)]  # policy: wheelflow.passwords
Ticker = Annotated[str, Meta(min_length=1, max_length=16, pattern=_NO_NUL)]
Text = Annotated[str, Meta(max_length=500, pattern=_NO_NUL)]


# --------------------------------------------------------------------------- auth


class LoginRequest(Struct, forbid_unknown_fields=True):
    username: Annotated[str, Meta(min_length=1, max_length=64, pattern=_NO_NUL)]
    password: Password


class RefreshRequest(Struct, forbid_unknown_fields=True):
    """Programs send the refresh token here; browsers leave it out and send the cookie."""

    refresh_token: Annotated[str, Meta(min_length=1, max_length=256)] | None = None


class PasswordChange(Struct, forbid_unknown_fields=True):
    current_password: Password
    new_password: NewPassword


class TokenPair(Struct):
    access_token: str
    refresh_token: str
    expires_in: int  # seconds until the access token expires
    role: str
    token_type: str = "bearer"


class Me(Struct):
    username: str
    role: str
    kind: str  # user|api_key
    user_id: int | None = None
    api_key_id: int | None = None


class Preferences(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Per-user defaults: ranking filters applied by clients and where alerts should go."""

    default_strategy: Strategy | None = None
    min_return: Annotated[float, Meta(ge=0, le=100)] | None = None  # annualized, fraction
    max_delta: Annotated[float, Meta(ge=0, le=1)] | None = None  # |delta|
    min_dte: Annotated[int, Meta(ge=0, le=3650)] | None = None
    max_dte: Annotated[int, Meta(ge=0, le=3650)] | None = None
    symbols: Annotated[list[Ticker], Meta(max_length=500)] = msgspec.field(default_factory=list)
    alert_channels: Annotated[list[AlertChannel], Meta(max_length=5)] = msgspec.field(
        default_factory=list
    )


# --------------------------------------------------------------------------- admin


class UserCreate(Struct, forbid_unknown_fields=True):
    username: Username
    password: NewPassword
    role: Role = "viewer"


class UserUpdate(Struct, forbid_unknown_fields=True):
    active: bool | None = None
    role: Role | None = None


class UserOut(Struct):
    id: int
    username: str
    role: str
    active: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None = None
    created_by: int | None = None  # the admin user who created it
    created_by_key: int | None = None  # or the API key


Scope = Literal["keys:admin", "users:admin"]


class ApiKeyCreate(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=64, pattern=_NO_NUL)]
    role: Role = "viewer"
    scopes: Annotated[list[Scope], Meta(max_length=2)] = msgspec.field(default_factory=list)


class ApiKeyCreated(Struct):
    id: int
    name: str
    role: str
    scopes: list[str]
    key: str  # shown once; only its SHA-256 digest is stored


class ApiKeyOut(Struct):
    id: int
    name: str
    prefix: str
    role: str
    scopes: list[str]
    created_at: dt.datetime
    created_by: int | None = None  # the minting user
    created_by_key: int | None = None  # or the minting API key
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


RowIdField = Annotated[int, Meta(ge=1, le=MAX_ID)]


class AccountMemberAdd(Struct, forbid_unknown_fields=True):
    """Exactly one of the two."""

    user_id: RowIdField | None = None
    team_id: RowIdField | None = None


class AccountOwner(Struct):
    id: int
    user_id: int | None = None
    username: str | None = None
    team_id: int | None = None
    team: str | None = None


class AccountOut(Struct):
    account: str
    owners: list[AccountOwner]


class TeamCreate(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=64, pattern=_NO_NUL)]


class TeamMemberAdd(Struct, forbid_unknown_fields=True):
    user_id: RowIdField


class AuditEventOut(Struct):
    id: int
    at: dt.datetime
    event: str
    actor: str | None = None
    actor_user_id: int | None = None
    actor_key_id: int | None = None
    subject: str | None = None
    address: str | None = None
    detail: dict[str, Any] | None = None


# --------------------------------------------------------------------------- market data


class RankingOut(Struct):
    snapshot_at: dt.datetime
    run_id: str
    strategy: str
    rank: int
    occ_symbol: str
    underlying: str
    expiration: dt.date
    strike: float
    right: str
    underlying_price: float
    bid: float
    ask: float
    premium: float
    days_to_expiry: int
    period_return: float
    annualized_return: float
    probability_otm: float
    delta: float
    iv: float
    breakeven: float
    collateral: float  # per contract
    spread_pct: float
    score: float
    blocked: bool
    open_interest: int | None = None
    volume: int | None = None
    blocked_reason: str | None = None
    # Net of the real fill and all fees, under the forecast volatility (README: expected value).
    fill_price: float | None = None  # per share, on the tick
    fees: float | None = None  # USD per contract, opening
    forecast_vol: float | None = None
    probability_assignment: float | None = None
    expected_loss_given_assignment: float | None = None  # USD per contract
    gross_expected_value: float | None = None  # USD per contract, at mid, no fees
    expected_value: float | None = None  # USD per contract: the ranking key
    expected_value_per_day: float | None = None
    net_annualized_return: float | None = None
    dividend_pv: float | None = None
    spans_earnings: bool = False
    spans_ex_dividend: bool = False
    early_assignment_risk: bool = False
    flags: str | None = None


class RankingsPage(Struct):
    items: list[RankingOut]
    snapshot_at: dt.datetime | None
    run_id: str | None
    next_cursor: str | None  # pass as ?cursor= for the next page; null on the last page


class ContractOut(Struct):
    occ_symbol: str
    expiration: dt.date
    strike: float
    right: str
    bid: float
    ask: float
    underlying_price: float
    iv_status: str
    provider: str
    last: float | None = None
    volume: int | None = None
    open_interest: int | None = None
    iv: float | None = None
    delta: float | None = None
    gamma: float | None = None
    theta: float | None = None  # per calendar day
    vega: float | None = None  # per 1 vol point
    rho: float | None = None  # per 1 rate point


class ChainOut(Struct):
    symbol: str
    snapshot_at: dt.datetime
    contracts: list[ContractOut]


class PositionOut(Struct):
    id: int
    account: str
    symbol: str
    asset_type: str
    quantity: int
    average_price: float
    status: str
    opened_at: dt.datetime
    realized_pnl: float
    source: str
    occ_symbol: str | None = None
    right: str | None = None
    strike: float | None = None
    expiration: dt.date | None = None
    cost_basis: float | None = None
    closed_at: dt.datetime | None = None
    cycle_id: int | None = None


# --------------------------------------------------------------------------- operations


class AlertOut(Struct):
    id: int
    created_at: dt.datetime
    kind: str
    severity: str
    title: str
    message: str
    symbol: str | None = None
    snapshot_at: dt.datetime | None = None
    payload: dict[str, Any] | None = None
    acknowledged_at: dt.datetime | None = None
    acknowledged_by: str | None = None


class WatchlistAdd(Struct, forbid_unknown_fields=True):
    symbol: Ticker
    notes: Text | None = None


class WatchlistEntry(Struct):
    symbol: str
    active: bool
    source: str
    added_at: dt.datetime
    section: str | None = None
    notes: str | None = None


class WebhookReceipt(Struct):
    alert_id: int
    created: bool  # false when the same ticker/price arrived within the same minute
    ticker: str
    price: float
    pipeline: str  # "triggered", "not configured", "failed: ..."
    flow_run_id: str | None = None
