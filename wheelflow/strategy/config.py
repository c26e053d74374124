"""The strategy file: a validated TOML document with defaults for every knob.

Load with ``load_strategy_config(path)``; any bad value raises ConfigError naming the key
(``screening.max_underlying_price: Input should be greater than 0``). Unknown keys are errors
too, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from wheelflow.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScreeningConfig(_Section):
    """Which contracts are eligible and how candidates are ranked."""

    max_underlying_price: float = Field(50.0, gt=0)
    min_underlying_price: float = Field(2.0, ge=0)
    min_days_to_expiry: int = Field(7, ge=0, le=3650)
    max_days_to_expiry: int = Field(60, ge=1, le=3650)
    csp_delta_min: float = Field(0.10, ge=0, le=1, description="absolute put delta, lower bound")
    csp_delta_max: float = Field(0.35, ge=0, le=1)
    cc_delta_min: float = Field(0.10, ge=0, le=1)
    cc_delta_max: float = Field(0.35, ge=0, le=1)
    min_open_interest: int = Field(100, ge=0)
    min_volume: int = Field(0, ge=0)
    max_spread_pct: float = Field(0.25, gt=0, description="(ask - bid) / mid")
    min_premium: float = Field(0.05, ge=0, description="per share")
    min_annualized_return: float = Field(0.05, ge=0)
    premium_basis: Literal["mid", "bid"] = "mid"
    cc_min_strike_vs_cost_basis: bool = True
    top_n_per_underlying: int = Field(3, ge=1, le=100)
    max_rankings: int = Field(500, ge=1, le=100000)
    # score = annualized_return * probability_otm ** pop_weight / (1 + spread_pct) ** spread_weight
    pop_weight: float = Field(1.0, ge=0, le=10)
    spread_weight: float = Field(1.0, ge=0, le=10)

    @model_validator(mode="after")
    def _windows(self) -> Self:
        if self.min_days_to_expiry > self.max_days_to_expiry:
            raise ValueError("min_days_to_expiry must not exceed max_days_to_expiry")
        if self.csp_delta_min > self.csp_delta_max:
            raise ValueError("csp_delta_min must not exceed csp_delta_max")
        if self.cc_delta_min > self.cc_delta_max:
            raise ValueError("cc_delta_min must not exceed cc_delta_max")
        if self.min_underlying_price >= self.max_underlying_price:
            raise ValueError("min_underlying_price must be below max_underlying_price")
        return self


class ScenarioSpec(_Section):
    """A user-defined stress scenario (``[risk.scenarios.<name>]`` in the strategy file).

    Moves are relative (-0.2 = a 20 % fall). Each underlying moves by ``spot`` plus ``market``
    times its beta, unless ``sectors`` or ``symbols`` name it (symbols win over sectors);
    implied volatility is scaled by ``1 + iv``; ``days`` of time pass before revaluation.
    """

    spot: float = Field(default=0.0, gt=-1, le=10)
    market: float = Field(default=0.0, gt=-1, le=10, description="benchmark move, beta-scaled")
    iv: float = Field(default=0.0, gt=-1, le=10, description="relative implied-volatility change")
    days: int = Field(default=0, ge=0, le=3650)
    sectors: dict[str, float] = Field(default_factory=dict)
    symbols: dict[str, float] = Field(default_factory=dict)


class RiskConfig(_Section):
    """Portfolio limits checked before candidates reach traders and before any order."""

    max_symbol_concentration: float = Field(
        0.20, gt=0, le=1, description="max share of account equity committed to one underlying"
    )
    min_cash_reserve: float = Field(0.10, ge=0, lt=1, description="share of equity kept as cash")
    max_total_collateral: float = Field(0.90, gt=0, le=1)
    max_contracts_per_symbol: int = Field(10, ge=1)
    # Portfolio limits of the risk service (wheelflow/risk), each a share of account equity.
    max_scenario_loss: float = Field(
        0.30, gt=0, le=1, description="max loss in the worst stress scenario"
    )
    max_sector_exposure: float = Field(
        0.50, gt=0, le=1, description="max notional (stock + put strikes) in one sector"
    )
    max_cluster_exposure: float = Field(
        0.50, gt=0, le=1, description="max notional in one correlation cluster"
    )
    max_beta_weighted_delta: float = Field(
        1.0, gt=0, le=10, description="max |beta-weighted dollar delta| vs the benchmark"
    )
    max_var_99: float = Field(
        0.08, gt=0, le=1, description="max 1-day 99% value at risk (Monte Carlo)"
    )
    benchmark: str = Field("SPY", min_length=1, max_length=16)
    cluster_min_correlation: float = Field(
        0.5, ge=-1, le=1, description="names correlated at least this much share a cluster"
    )
    monte_carlo_scenarios: int = Field(10_000, ge=100, le=1_000_000)
    sector_file: str | None = Field(
        None, description="CSV symbol,sector; default: the mapping shipped in wheelflow/defaults"
    )
    scenarios: dict[str, ScenarioSpec] = Field(
        default_factory=dict, description="user-defined stress scenarios, by name"
    )

    @model_validator(mode="after")
    def _scenario_names(self) -> Self:
        for name in self.scenarios:
            if not 1 <= len(name) <= 64:
                raise ValueError(f"scenario name {name[:70]!r} must be 1 to 64 characters")
        return self


class AlertsConfig(_Section):
    """Alert rules. Level rules fire once per episode: they re-arm only after the value has
    fallen ``hysteresis_pct`` back past the trigger."""

    top_opportunities: int = Field(3, ge=0, le=50, description="alert on new top-N candidates")
    min_score_for_alert: float = Field(0.0, ge=0)
    price_move_pct: float = Field(0.05, gt=0, le=1, description="move since the prior close")
    intraday_move_pct: float = Field(
        0.03, gt=0, le=1, description="move since the session's first watched quote"
    )
    strike_proximity_pct: float = Field(
        0.02, ge=0, le=1, description="a short strike within this share of the price"
    )
    hysteresis_pct: float = Field(0.01, ge=0, le=0.5, description="re-arm distance")
    expiry_warning_days: int = Field(1, ge=0, le=30, description="warn N days before expiry")
    stalled_run_minutes: int = Field(
        30, ge=1, le=1440, description="a pipeline run still running after N minutes"
    )


class WheelConfig(_Section):
    """What the wheel opens, how big, and how the paper broker fills it (prices per share, USD)."""

    account: str = Field("paper", min_length=1, max_length=32)
    starting_cash: float = Field(100_000.0, gt=0, description="paper account cash, USD")
    put_target_delta: float = Field(0.25, gt=0, lt=1, description="absolute delta")
    call_target_delta: float = Field(0.25, gt=0, lt=1)
    delta_tolerance: float = Field(0.15, gt=0, le=1, description="allowed |delta - target|")
    min_days_to_expiry: int = Field(7, ge=0, le=3650)
    max_days_to_expiry: int = Field(45, ge=1, le=3650)
    min_open_interest: int = Field(10, ge=0)
    max_spread_pct: float = Field(0.30, gt=0, description="(ask - bid) / mid")
    min_credit: float = Field(0.10, ge=0, description="minimum premium per share")
    symbol_weights: dict[str, float] = Field(
        default_factory=dict, description="share of equity targeted per symbol (thetagang style)"
    )
    default_weight: float = Field(0.05, ge=0, le=1, description="weight of unlisted symbols")
    max_allocation: float = Field(
        0.10, gt=0, le=1, description="max share of equity committed to one underlying"
    )
    max_new_buying_power_share: float = Field(
        0.5, gt=0, le=1, description="share of buying power new puts may use in one run"
    )
    puts_only_on_red_days: bool = False
    calls_only_on_green_days: bool = False
    calls_at_or_above_cost_basis: bool = True
    limit_price: Literal["mid", "bid_ask"] = Field(
        "mid", description="mid: limit at mid less `slippage` of the half-spread; bid_ask: touch"
    )
    slippage: float = Field(
        0.25, ge=0, le=1, description="share of the half-spread given up versus mid (and paper)"
    )
    fee_per_contract: float = Field(0.65, ge=0, description="USD per option contract")
    fee_per_order: float = Field(0.0, ge=0, description="USD per order")

    @model_validator(mode="after")
    def _windows(self) -> Self:
        if self.min_days_to_expiry > self.max_days_to_expiry:
            raise ValueError("min_days_to_expiry must not exceed max_days_to_expiry")
        if any(w < 0 for w in self.symbol_weights.values()):
            raise ValueError("symbol_weights must be non-negative")
        return self


class ManagementConfig(_Section):
    """How open short options are managed before expiry."""

    profit_target: float | None = Field(
        0.5, gt=0, le=1, description="close when this share of the premium is captured"
    )
    roll_when_dte_at_most: int | None = Field(3, ge=0, description="roll window, days")
    roll_min_pnl: float = Field(
        0.0, ge=-10, le=1, description="roll only when P&L / premium is at least this"
    )
    roll_itm_calls: bool = False  # False: let ITM calls be called away
    roll_itm_puts: bool = False  # False: take assignment
    roll_for_credit_only: bool = True
    never_roll_call_below_cost_basis: bool = True


class BrokerFees(_Section):
    """One broker's option fees, USD. Regulatory fees are passed through by most brokers.

    Per contract unless named otherwise. ``sec_fee_rate`` is the SEC Section 31 fee on sale
    proceeds (USD per USD sold). The FINRA TAF and the SEC fee apply to sells only.
    """

    commission_per_contract: float = Field(0.65, ge=0, le=100)
    commission_per_order: float = Field(0.0, ge=0, le=1000)
    orf_per_contract: float = Field(0.02295, ge=0, le=10, description="Options Regulatory Fee")
    occ_clearing_per_contract: float = Field(0.02, ge=0, le=10, description="OCC clearing fee")
    finra_taf_per_contract: float = Field(0.00279, ge=0, le=10, description="FINRA TAF, sells")
    sec_fee_rate: float = Field(0.0000278, ge=0, le=0.01, description="Section 31, of proceeds")
    assignment_fee: float = Field(0.0, ge=0, le=1000, description="per contract assigned")
    exercise_fee: float = Field(0.0, ge=0, le=1000, description="per contract exercised")


# Published schedules as of 2026 (commission, and an assignment fee where the broker charges
# one); regulatory fees are the pass-through rates. Edit them to your account's schedule.
DEFAULT_BROKER_FEES: dict[str, dict[str, float]] = {
    "paper": {"commission_per_contract": 0.65},
    "tradier": {"commission_per_contract": 0.35},
    "alpaca": {"commission_per_contract": 0.0},
}


class FeesConfig(_Section):
    """Fee schedules per broker; ``broker`` names the one rankings (and EV) assume.

    A ``[fees.brokers.NAME]`` table overrides that broker's built-in keys one by one; a new
    name starts from the generic defaults of ``BrokerFees``.
    """

    broker: str = Field("paper", min_length=1, max_length=32)
    brokers: dict[str, BrokerFees] = Field(
        default_factory=lambda: {k: BrokerFees(**v) for k, v in DEFAULT_BROKER_FEES.items()}
    )

    @field_validator("brokers", mode="before")
    @classmethod
    def _over_defaults(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        merged: dict[str, object] = {k: dict(v) for k, v in DEFAULT_BROKER_FEES.items()}
        for name, table in value.items():
            if isinstance(table, BrokerFees):
                merged[name] = table
            elif isinstance(table, dict) and isinstance(merged.get(name), dict):
                merged[name] = {**merged[name], **table}  # type: ignore[dict-item]
            else:
                merged[name] = table
        return merged

    @model_validator(mode="after")
    def _known_broker(self) -> Self:
        if self.broker not in self.brokers:
            known = ", ".join(sorted(self.brokers))
            raise ValueError(f"broker {self.broker!r} has no fee table (known: {known})")
        return self

    @property
    def schedule(self) -> BrokerFees:
        """The fee table of the selected broker."""
        return self.brokers[self.broker]


class ExpectedValueConfig(_Section):
    """The real-world model behind expected values and how events are treated in rankings."""

    forecast: Literal["blend", "garch"] = Field(
        "blend", description="volatility forecast: realized-volatility blend or GARCH(1,1)"
    )
    history_days: int = Field(
        400, ge=60, le=5000, description="calendar days of daily bars the forecast reads"
    )
    drift: Literal["risk_free", "zero"] = Field(
        "risk_free", description="annual drift of the real-world lognormal: r, or none"
    )
    earnings: Literal["flag", "penalize", "exclude"] = Field(
        "penalize", description="contracts whose life spans an earnings date"
    )
    earnings_move: float = Field(
        0.06, ge=0, le=1, description="std of the earnings-day log move added when penalizing"
    )
    ex_dividend: Literal["flag", "exclude"] = Field(
        "flag", description="contracts whose life spans an ex-dividend date"
    )
    early_assignment: Literal["flag", "exclude"] = Field(
        "flag", description="covered calls whose extrinsic value is below an upcoming dividend"
    )
    non_penny_symbols: tuple[str, ...] = Field(
        (), description="underlyings quoted in 0.05 below 3 USD and 0.10 above (not penny pilot)"
    )


class StrategyConfig(_Section):
    screening: ScreeningConfig = ScreeningConfig()  # type: ignore[call-arg]
    risk: RiskConfig = RiskConfig()  # type: ignore[call-arg]
    alerts: AlertsConfig = AlertsConfig()  # type: ignore[call-arg]
    wheel: WheelConfig = WheelConfig()  # type: ignore[call-arg]
    management: ManagementConfig = ManagementConfig()  # type: ignore[call-arg]
    fees: FeesConfig = FeesConfig()  # type: ignore[call-arg]
    expected_value: ExpectedValueConfig = ExpectedValueConfig()  # type: ignore[call-arg]


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"{key}: {err['msg']}")
    return f"invalid strategy file {source}: " + "; ".join(lines)


def parse_strategy_config(data: dict[str, object], source: str = "<dict>") -> StrategyConfig:
    try:
        return StrategyConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, source)) from None


def load_strategy_config(path: Path | str | None = None) -> StrategyConfig:
    """Read and validate a strategy TOML file; ``None`` gives the defaults."""
    if path is None:
        return StrategyConfig()
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read strategy file {p}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"strategy file {p} is not valid TOML: {exc}") from None
    return parse_strategy_config(data, str(p))
