"""The built-in synthetic market: the embedded default provider (no keys, no network).

Deterministic for a seed and a date. Prices follow a factor model (one business day per step,
from ``EPOCH``): a market factor with fat tails (Student-t), GARCH volatility clustering and
rare gap days, a factor per sector, and each name's own fat-tailed noise, so names in a sector
move together, correlations and drawdowns mean something, and consecutive days continue the
same paths. Implied volatilities follow the market's volatility regime. Every random draw comes from
a stream of its own symbol (and day), so a symbol's quotes, bars and chain on a day are the same
whichever other symbols are requested with it, and in every process. Option prices come from the
pricing engine over an implied-volatility surface with put skew, a smile and a term structure;
bid/ask spreads widen away from the money and for cheap contracts, on listed tick sizes;
open interest and volume concentrate near the money and in monthly expirations.

The chains are priced as European options (``exercise_style = "european"``) so that the IV
stage recovers the surface exactly; real US equity providers declare ``"american"``.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import exchange_calendars as xcals
import numpy as np
import pandas as pd
from scipy.special import ndtri

from wheelflow.market_time import close_time_utc, years_to_expiry
from wheelflow.occ import build_occ_symbols
from wheelflow.pricing import price as bsm_price
from wheelflow.providers.base import (
    BAR_COLUMNS,
    CHAIN_COLUMNS,
    DIVIDEND_COLUMNS,
    EARNINGS_COLUMNS,
    QUOTE_COLUMNS,
    ChainFetch,
    conform,
    empty_frame,
)

EPOCH = dt.date(2025, 1, 2)  # first session of the synthetic history
RISK_FREE_RATE = 0.04

# (symbol, price at EPOCH, annual volatility, liquidity 0..1): familiar wheel names, some above $50.
DEFAULT_UNIVERSE: tuple[tuple[str, float, float, float], ...] = (
    ("F", 12.0, 0.32, 1.0),
    ("SOFI", 9.0, 0.55, 0.9),
    ("T", 18.0, 0.20, 0.9),
    ("INTC", 32.0, 0.38, 1.0),
    ("BAC", 36.0, 0.26, 1.0),
    ("PFE", 30.0, 0.22, 0.9),
    ("CCL", 16.0, 0.48, 0.8),
    ("AAL", 14.0, 0.45, 0.8),
    ("NIO", 7.0, 0.70, 0.7),
    ("SNAP", 11.0, 0.60, 0.7),
    ("RIVN", 14.0, 0.68, 0.7),
    ("HOOD", 20.0, 0.62, 0.8),
    ("MARA", 17.0, 0.85, 0.8),
    ("PLTR", 24.0, 0.55, 1.0),
    ("KMI", 19.0, 0.20, 0.5),
    ("VZ", 40.0, 0.18, 0.8),
    ("CSCO", 48.0, 0.21, 0.8),
    ("WBD", 10.0, 0.45, 0.6),
    ("PBR", 14.0, 0.36, 0.6),
    ("VALE", 12.0, 0.33, 0.6),
    ("GOLD", 17.0, 0.30, 0.5),
    ("KO", 60.0, 0.15, 0.8),
    ("WFC", 52.0, 0.24, 0.8),
    ("DIS", 95.0, 0.26, 0.9),
    ("UBER", 68.0, 0.36, 0.9),
    ("AMD", 140.0, 0.48, 1.0),
    ("AAPL", 185.0, 0.25, 1.0),
    ("MSFT", 400.0, 0.22, 1.0),
    ("NVDA", 120.0, 0.52, 1.0),
    ("XOM", 108.0, 0.23, 0.8),
)

_RIGHTS = np.array(["C", "P"])

# Annual dividend yields of the payers in the default universe; quarterly, ex-dates spread by
# symbol. The chains are priced without them (q = 0): they feed early-assignment flags only.
DIVIDEND_YIELDS: dict[str, float] = {
    "F": 0.05,
    "T": 0.06,
    "INTC": 0.015,
    "BAC": 0.025,
    "PFE": 0.06,
    "KMI": 0.06,
    "VZ": 0.065,
    "CSCO": 0.03,
    "PBR": 0.10,
    "VALE": 0.08,
    "GOLD": 0.02,
    "KO": 0.03,
    "WFC": 0.025,
    "XOM": 0.035,
}


def symbol_key(symbol: str) -> int:
    """A hash of the ticker that is the same in every process (unlike ``hash()``)."""
    return zlib.crc32(symbol.encode())


def _symbol_seed(seed: int, symbol: str) -> list[int]:
    return [seed, symbol_key(symbol)]


def symbol_day_rng(seed: int, stream: str, symbol: str, day: dt.date) -> np.random.Generator:
    """The random stream of one symbol on one day, for one purpose (``stream``).

    Seeded from (seed, stream, symbol, day) only, so the draws of a symbol never depend on which
    other symbols are generated with it or in which order.
    """
    entropy = [seed, symbol_key(stream), symbol_key(symbol), day.toordinal()]
    return np.random.default_rng(np.random.SeedSequence(entropy))


SECTORS = (
    "Communication Services",
    "Consumer Discretionary",
    "Consumer Staples",
    "Energy",
    "Financials",
    "Health Care",
    "Industrials",
    "Materials",
    "Technology",
)
# Sectors of the default universe (the same as wheelflow/defaults/sectors.csv).
UNIVERSE_SECTORS: dict[str, str] = {
    "AAL": "Industrials",
    "AAPL": "Technology",
    "AMD": "Technology",
    "BAC": "Financials",
    "CCL": "Consumer Discretionary",
    "CSCO": "Technology",
    "DIS": "Communication Services",
    "F": "Consumer Discretionary",
    "GOLD": "Materials",
    "HOOD": "Financials",
    "INTC": "Technology",
    "KMI": "Energy",
    "KO": "Consumer Staples",
    "MARA": "Financials",
    "MSFT": "Technology",
    "NIO": "Consumer Discretionary",
    "NVDA": "Technology",
    "PBR": "Energy",
    "PFE": "Health Care",
    "PLTR": "Technology",
    "RIVN": "Consumer Discretionary",
    "SNAP": "Communication Services",
    "SOFI": "Financials",
    "T": "Communication Services",
    "UBER": "Industrials",
    "VALE": "Materials",
    "VZ": "Communication Services",
    "WBD": "Communication Services",
    "WFC": "Financials",
    "XOM": "Energy",
}
MARKET_VOL = 0.16  # long-run annual volatility of the market factor
SECTOR_VOL = 0.12  # annual volatility of each sector factor
# GARCH(1,1) of the market factor (Bollerslev 1986), daily: persistence alpha + beta = 0.97
GARCH_ALPHA, GARCH_BETA = 0.10, 0.87
JUMP_PROBABILITY = 0.008  # a market gap day about twice a year
JUMP_MEAN, JUMP_SD = -0.035, 0.02  # log size of a market gap


@dataclass(frozen=True)
class MarketFactors:
    """Daily log returns of the market and of each sector, and the volatility regime."""

    market: np.ndarray  # (n_days,)
    sector: np.ndarray  # (len(SECTORS), n_days)
    regime: np.ndarray  # (n_days,): market volatility / its long-run level


def _unit_t(rng: np.random.Generator, df: float, n: int) -> np.ndarray:
    """Student-t draws scaled to unit variance (fat tails, same spread as a standard normal)."""
    return rng.standard_t(df, n) * np.sqrt((df - 2.0) / df)


@lru_cache(maxsize=8)
def market_factors(seed: int, n_days: int) -> MarketFactors:
    """The factor paths of the first ``n_days`` sessions from ``EPOCH``.

    The market's shocks are Student-t (5 df) with GARCH(1,1) volatility (clusters of calm and
    stress) and rare negative jumps (gap days); each sector adds its own Student-t factor under
    the same regime. Every factor is its own stream, so session k's draw never depends on how
    many sessions are generated: the market is the same whatever the date it is read on.
    """
    dt_year = 1.0 / 252.0

    def stream(name: str) -> np.random.Generator:  # one per component: prefix-stable draws
        return np.random.default_rng([seed, symbol_key(name)])

    z = _unit_t(stream("market-factor"), 5.0, n_days)
    jumps = stream("market-jump").random(n_days) < JUMP_PROBABILITY
    jump_size = stream("market-jump-size").normal(JUMP_MEAN, JUMP_SD, n_days)
    long_run = MARKET_VOL**2 * dt_year
    omega = long_run * (1.0 - GARCH_ALPHA - GARCH_BETA)
    variance = np.empty(n_days)
    shock = np.empty(n_days)
    v = long_run
    for k in range(n_days):  # the recursion is sequential by nature; n_days ~ 10^3
        variance[k] = v
        shock[k] = np.sqrt(v) * z[k]
        v = omega + GARCH_ALPHA * shock[k] ** 2 + GARCH_BETA * v
    regime = np.sqrt(variance / long_run)
    market = shock + np.where(jumps, jump_size, 0.0)
    sector = np.vstack(
        [
            SECTOR_VOL * np.sqrt(dt_year) * regime * _unit_t(stream("sector:" + name), 5.0, n_days)
            for name in SECTORS
        ]
    )
    return MarketFactors(market=market, sector=sector, regime=regime)


def _generated_symbol(i: int) -> str:
    """Deterministic synthetic tickers beyond the default universe: QAAA, QAAB, ..."""
    letters = []
    n = i
    for _ in range(4):
        letters.append(chr(ord("A") + n % 26))
        n //= 26
    return "Q" + "".join(reversed(letters))


def strike_step(spot: np.ndarray) -> np.ndarray:
    """Listed strike spacing by underlying price (typical US equity option grids)."""
    return np.select(
        [spot < 5, spot < 25, spot < 100, spot < 250], [0.5, 1.0, 2.5, 5.0], default=10.0
    )


@lru_cache(maxsize=1)
def _nyse() -> xcals.ExchangeCalendar:
    return xcals.get_calendar("XNYS", start=EPOCH.isoformat(), end="2030-12-31")


@lru_cache(maxsize=1)
def _all_sessions() -> pd.DatetimeIndex:
    return pd.DatetimeIndex(_nyse().sessions)


def trading_sessions(start: dt.date, end: dt.date) -> pd.DatetimeIndex:
    """NYSE sessions between start and end inclusive (holidays excluded)."""
    sessions = _all_sessions()
    lo = sessions.searchsorted(pd.Timestamp(start), side="left")
    hi = sessions.searchsorted(pd.Timestamp(end), side="right")
    return sessions[lo:hi]


def listed_expirations(
    as_of: dt.date, horizon_days: int = 120, weeklies_days: int = 45
) -> list[dt.date]:
    """Weekly Fridays out to ``weeklies_days`` and monthly third Fridays out to ``horizon_days``.

    An expiration Friday that is an exchange holiday moves to the session before it.
    """
    end = as_of + dt.timedelta(days=horizon_days)
    fridays = pd.date_range(as_of + dt.timedelta(days=1), end, freq="W-FRI")
    sessions = set(trading_sessions(as_of, end + dt.timedelta(days=7)).date)
    out = []
    for ts in fridays:
        day = ts.date()
        is_monthly = 15 <= day.day <= 21
        if is_monthly or (day - as_of).days <= weeklies_days:
            while day not in sessions and day > as_of:
                day -= dt.timedelta(days=1)
            if day > as_of:
                out.append(day)
    return out


@dataclass(frozen=True)
class _Underlying:
    symbols: tuple[str, ...]
    start_price: np.ndarray
    volatility: np.ndarray
    liquidity: np.ndarray


class SyntheticMarket:
    """A deterministic synthetic US equity-options market implementing ``MarketDataProvider``."""

    name = "synthetic"
    exercise_style = "european"

    def __init__(
        self, seed: int = 42, as_of: dt.date | None = None, universe_size: int = 30
    ) -> None:
        if universe_size < 1:
            raise ValueError("universe_size must be at least 1")
        self.seed = int(seed)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        day = as_of or now.date()
        if day < EPOCH:
            raise ValueError(f"as_of must be on or after {EPOCH}")
        # A weekend or holiday shows the market as of the last session before it; by default
        # the last session that has closed, so a snapshot is never in the future.
        sessions = trading_sessions(day - dt.timedelta(days=10), day)
        if as_of is None and close_time_utc(sessions[-1].date()) > now:
            sessions = sessions[:-1]
        self.as_of = sessions[-1].date()
        self.universe_size = int(universe_size)

    # ------------------------------------------------------------------ universe and paths
    @cached_property
    def universe(self) -> _Underlying:
        base = list(DEFAULT_UNIVERSE[: self.universe_size])
        extra = self.universe_size - len(base)
        if extra > 0:
            # One uniform row per generated symbol, drawn in one call: symbol i gets the same
            # price, volatility and liquidity whatever the universe size.
            u = np.random.default_rng([self.seed, 7]).random((extra, 3))
            prices = np.round(np.exp(np.log(35.0) + 0.9 * ndtri(u[:, 0])), 2).clip(2.0, 900.0)
            vols = 0.15 + 0.75 * u[:, 1]
            liq = 0.3 + 0.7 * u[:, 2]
            base += [
                (_generated_symbol(i), float(p), float(v), float(q))
                for i, (p, v, q) in enumerate(zip(prices, vols, liq, strict=True))
            ]
        return _Underlying(
            symbols=tuple(b[0] for b in base),
            start_price=np.array([b[1] for b in base]),
            volatility=np.array([b[2] for b in base]),
            liquidity=np.array([b[3] for b in base]),
        )

    @property
    def symbols(self) -> list[str]:
        return list(self.universe.symbols)

    @cached_property
    def _sessions(self) -> pd.DatetimeIndex:
        return trading_sessions(EPOCH, self.as_of)

    @cached_property
    def _factors(self) -> MarketFactors:
        return market_factors(self.seed, len(self._sessions))

    @cached_property
    def _closes(self) -> np.ndarray:
        """Closing prices, shape (n_symbols, n_sessions), from the factor model.

        A symbol's daily log return is ``beta x market + sector + idiosyncratic``, each scaled
        by the market's volatility regime (see :func:`market_factors`); the idiosyncratic part
        is standardized Student-t (4 degrees of freedom) with the variance left over from the
        symbol's total volatility. Its draws are the symbol's own stream (the k-th session's
        draw is the same whatever the date, the universe or the other symbols requested)."""
        u = self.universe
        factors = self._factors
        n_days = len(self._sessions)
        dt_year = 1.0 / 252.0
        sectors = [self.sector_of(s) for s in u.symbols]
        paths = np.empty((len(u.symbols), n_days))
        for i, sym in enumerate(u.symbols):
            rng = np.random.default_rng(_symbol_seed(self.seed, sym))
            drift = rng.normal(0.06, 0.05)
            shocks = _unit_t(rng, 4.0, n_days)
            sigma = u.volatility[i]
            beta = float(np.clip(sigma / 0.30, 0.5, 1.8))
            idio = np.sqrt(
                max(sigma**2 - (beta * MARKET_VOL) ** 2 - SECTOR_VOL**2, (0.3 * sigma) ** 2)
            )
            log_steps = (
                (drift - 0.5 * sigma**2) * dt_year
                + beta * factors.market
                + factors.sector[SECTORS.index(sectors[i])]
                + idio * np.sqrt(dt_year) * factors.regime * shocks
            )
            log_steps[0] = 0.0
            paths[i] = u.start_price[i] * np.exp(np.cumsum(log_steps))
        return np.round(paths, 2)

    def sector_of(self, symbol: str) -> str:
        """The sector of a symbol: the default universe's own, a generated one's by its key."""
        return UNIVERSE_SECTORS.get(symbol, SECTORS[symbol_key(symbol) % len(SECTORS)])

    def sectors(self, symbols: Sequence[str]) -> dict[str, str]:
        """Sector by symbol (the optional provider capability the risk service reads)."""
        known, _ = self._index(symbols)
        return {s: self.sector_of(s) for s in known}

    def volatility_regime(self) -> float:
        """Today's market volatility relative to its long-run level (1.0 = normal)."""
        return float(self._factors.regime[-1])

    def _index(self, symbols: Sequence[str]) -> tuple[list[str], np.ndarray]:
        pos = {s: i for i, s in enumerate(self.universe.symbols)}
        known = [s for s in dict.fromkeys(symbols) if s in pos]  # once each, in request order
        return known, np.array([pos[s] for s in known], dtype=int)

    def snapshot_time(self) -> dt.datetime:
        return close_time_utc(self.as_of)

    # ------------------------------------------------------------------ provider interface
    def quotes(self, symbols: Sequence[str]) -> pd.DataFrame:
        known, idx = self._index(symbols)
        if not known:
            return empty_frame(QUOTE_COLUMNS)
        last = self._closes[idx, -1]
        prev = self._closes[idx, -2] if self._closes.shape[1] > 1 else last
        half = np.maximum(0.01, np.round(last * 0.0002, 2))
        noise = self._symbol_day_lognormal("quote-volume", known)
        volume = (self.universe.liquidity[idx] * 2e7 * noise).astype(np.int64)
        frame = pd.DataFrame(
            {
                "symbol": known,
                "bid": np.round(last - half, 2),
                "ask": np.round(last + half, 2),
                "last": last,
                "prev_close": prev,
                "volume": volume,
                "quote_time": self.snapshot_time(),
            }
        )
        return conform(frame, QUOTE_COLUMNS)

    def price_history(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        known, idx = self._index(symbols)
        sessions = self._sessions
        mask = (sessions >= pd.Timestamp(start)) & (sessions <= pd.Timestamp(end))
        if not known or not mask.any():
            return empty_frame(BAR_COLUMNS)
        cols = np.flatnonzero(mask)
        close = self._closes[idx][:, cols]
        prev = self._closes[idx][:, np.maximum(cols - 1, 0)]
        # One uniform row per (symbol, session since EPOCH): a bar is the same whatever range
        # and symbols are requested.
        u = np.stack([self._bar_uniforms(sym)[cols] for sym in known])
        wiggle = 0.006 * np.abs(ndtri(u[..., 0])) * close
        open_ = np.round(prev + (close - prev) * 0.3 * u[..., 1], 2)
        high = np.round(np.maximum(open_, close) + wiggle, 2)
        low = np.round(np.maximum(0.01, np.minimum(open_, close) - wiggle), 2)
        volume = self.universe.liquidity[idx][:, None] * 2e7 * np.exp(0.3 * ndtri(u[..., 2]))
        n_sym, n_day = close.shape
        frame = pd.DataFrame(
            {
                "symbol": np.repeat(known, n_day),
                "bar_date": np.tile(sessions[cols].to_numpy(), n_sym),
                "open": open_.ravel(),
                "high": high.ravel(),
                "low": low.ravel(),
                "close": close.ravel(),
                "volume": volume.astype(np.int64).ravel(),
            }
        )
        return conform(frame, BAR_COLUMNS)

    def dividends(self, symbols: Sequence[str]) -> pd.DataFrame:
        """The next quarterly ex-dividend date (within 120 days) and amount of each payer."""
        known, idx = self._index(symbols)
        rows = []
        for sym, i in zip(known, idx, strict=True):
            annual = DIVIDEND_YIELDS.get(sym)
            if annual is None:
                continue
            offset = zlib.crc32(sym.encode()) % 91  # days after EPOCH of the first ex-date
            days = (self.as_of - EPOCH).days - offset
            next_ex = EPOCH + dt.timedelta(days=offset + 91 * (days // 91 + 1))
            if days < 0:
                next_ex = EPOCH + dt.timedelta(days=offset)
            amount = round(float(self._closes[i, -1]) * annual / 4, 2)
            rows.append({"symbol": sym, "ex_date": next_ex, "amount": amount})
        return conform(pd.DataFrame(rows, columns=list(DIVIDEND_COLUMNS)), DIVIDEND_COLUMNS)

    def earnings(self, symbols: Sequence[str]) -> pd.DataFrame:
        """Every symbol reports quarterly: the next two dates (91 days apart) from ``as_of``.

        The first report falls a fixed number of days after EPOCH per symbol (its name's CRC),
        so the dates depend on the symbol and the day only, not on what else is requested.
        """
        known, _ = self._index(symbols)
        offset = np.array([(zlib.crc32(s.encode()) >> 8) % 91 for s in known], dtype=int)
        elapsed = (self.as_of - EPOCH).days
        quarters = np.maximum(np.ceil((elapsed - offset) / 91), 0).astype(int)
        first = np.array([EPOCH], dtype="datetime64[D]") + (offset + 91 * quarters)
        dates = np.concatenate([first, first + 91])
        frame = pd.DataFrame(
            {"symbol": np.tile(np.asarray(known, dtype=object), 2), "earnings_date": dates}
        )
        return conform(frame.sort_values(["symbol", "earnings_date"]), EARNINGS_COLUMNS)

    def expirations(self, symbol: str) -> list[dt.date]:
        if symbol not in self.universe.symbols:
            return []
        return listed_expirations(self.as_of)

    def option_chain(
        self, symbol: str, expirations: Sequence[dt.date] | None = None
    ) -> pd.DataFrame:
        return self._chains([symbol], expirations)

    def option_chains(self, symbols: Sequence[str]) -> ChainFetch:
        known = set(self._index(symbols)[0])
        failures = {s: "unknown symbol" for s in symbols if s not in known}
        return ChainFetch(chains=self._chains(symbols, None), failures=failures)

    # ------------------------------------------------------------------ per-symbol noise
    def _symbol_day_lognormal(self, stream: str, symbols: Sequence[str]) -> np.ndarray:
        """One lognormal(0, 0.25) factor per symbol for today, from each symbol's own stream."""
        return np.array(
            [symbol_day_rng(self.seed, stream, s, self.as_of).lognormal(0, 0.25) for s in symbols]
        )

    def _bar_uniforms(self, symbol: str) -> np.ndarray:
        """Uniforms of shape (n_sessions, 3) for the bars of ``symbol``, row i = session i.

        Drawn in one call from the symbol's stream, so row i is the same for any ``as_of``
        on or after session i.
        """
        rng = np.random.default_rng([self.seed, 11, symbol_key(symbol)])
        return rng.random((len(self._sessions), 3))

    # ------------------------------------------------------------------ chain generation

    def _chains(
        self, symbols: Sequence[str], expirations: Sequence[dt.date] | None
    ) -> pd.DataFrame:
        known, idx = self._index(symbols)
        exps = sorted(expirations) if expirations is not None else listed_expirations(self.as_of)
        exps = [e for e in exps if e > self.as_of]
        if not known or not exps:
            return empty_frame(CHAIN_COLUMNS)
        snapshot = self.snapshot_time()
        spot_all = self._closes[idx, -1]
        exp_series = pd.Series(pd.to_datetime(exps))
        t_exp = years_to_expiry(snapshot, exp_series)

        # Grid per (symbol, expiration): strikes within ~2.2 standard deviations, clipped.
        sym_parts, exp_parts, strike_parts = [], [], []
        steps = strike_step(spot_all)
        for k, (spot, step, vol) in enumerate(
            zip(spot_all, steps, self.universe.volatility[idx], strict=True)
        ):
            for j, t in enumerate(t_exp):
                width = min(0.6, 2.2 * vol * np.sqrt(t) + 0.05)
                lo = max(step, np.floor(spot * (1 - width) / step) * step)
                hi = np.ceil(spot * (1 + width) / step) * step
                grid = np.arange(lo, hi + step / 2, step)
                if len(grid) > 40:  # far strikes are listed wider apart
                    grid = grid[:: int(np.ceil(len(grid) / 40))]
                sym_parts.append(np.full(len(grid), k))
                exp_parts.append(np.full(len(grid), j))
                strike_parts.append(grid)
        sym_k = np.concatenate(sym_parts)
        exp_j = np.concatenate(exp_parts)
        strike = np.round(np.concatenate(strike_parts), 3)
        n = len(strike)
        # Both rights for every strike.
        sym_k = np.concatenate([sym_k, sym_k])
        exp_j = np.concatenate([exp_j, exp_j])
        strike = np.concatenate([strike, strike])
        is_call = np.concatenate([np.ones(n, bool), np.zeros(n, bool)])

        spot = spot_all[sym_k]
        t = t_exp[exp_j]
        # implied vols follow the market's volatility regime (part-way: IV mean-reverts)
        base_vol = self.universe.volatility[idx][sym_k] * np.sqrt(self.volatility_regime())
        # Term structure: short-dated vol mean-reverts to the long-run level.
        regime = self._symbol_day_lognormal("vol-regime", known)[sym_k]
        atm = base_vol * (1.0 + (regime - 1.0) * np.exp(-t / 0.25))
        forward = spot * np.exp(RISK_FREE_RATE * t)
        x = np.log(strike / forward) / np.sqrt(np.maximum(t, 1e-6))  # standardized moneyness
        skew, smile = -0.10, 0.035
        iv = np.clip(atm * (1.0 + skew * x + smile * x**2), 0.05, 3.0)
        theo = bsm_price(spot, strike, t, RISK_FREE_RATE, 0.0, iv, is_call)
        theo = np.maximum(theo, 0.0)

        liquidity = self.universe.liquidity[idx][sym_k]
        exp_dates = exp_series.iloc[exp_j].reset_index(drop=True)
        monthly = exp_dates.dt.day.between(15, 21).to_numpy()
        oi_mean = 4000.0 * liquidity * np.exp(-1.2 * np.abs(x)) * np.where(monthly, 2.0, 0.7)
        noise = self._contract_noise(known, sym_k, oi_mean)

        tick = np.where(theo < 3.0, 0.01, 0.05)
        rel = 0.02 + 0.05 * np.abs(x) + 0.02 * (1.0 - liquidity)
        half = np.maximum(tick, theo * rel / 2 + 0.01 * (0.5 + noise["spread"]))
        bid = np.floor((theo - half) / tick) * tick
        bid = np.where(bid < tick, 0.0, bid)
        ask = np.ceil((theo + half) / tick) * tick
        ask = np.maximum(ask, bid + tick)
        last = np.round(np.clip(theo * (1.0 + 0.02 * noise["last"]), 0.0, None), 2)

        underlying = pd.Series(np.asarray(known, dtype=object)[sym_k])
        right = pd.Series(np.where(is_call, "C", "P"))
        frame = pd.DataFrame(
            {
                "occ_symbol": build_occ_symbols(underlying, exp_dates, right, pd.Series(strike)),
                "underlying": underlying,
                "expiration": exp_dates,
                "strike": strike,
                "right": right,
                "bid": np.round(bid, 2),
                "ask": np.round(ask, 2),
                "last": last,
                "volume": noise["volume"],
                "open_interest": noise["open_interest"],
                "underlying_price": spot,
                "quote_time": snapshot,
                "parse_error": None,
            }
        )
        return conform(frame, CHAIN_COLUMNS)

    def _contract_noise(
        self, known: Sequence[str], sym_k: np.ndarray, oi_mean: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Per-contract draws, each symbol's from its own (symbol, day) stream.

        ``sym_k`` indexes ``known`` per contract row; within a symbol the rows keep their order
        (calls then puts, by expiration and strike), so a symbol's chain gets the same draws
        whichever other symbols are in the request. One loop step per symbol, none per contract.
        """
        n = len(sym_k)
        out = {
            "spread": np.empty(n),  # uniform [0, 1): spread jitter
            "last": np.empty(n),  # standard normal: last trade vs theoretical
            "open_interest": np.empty(n, dtype=np.int64),
            "volume": np.empty(n, dtype=np.int64),
        }
        order = np.argsort(sym_k, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(sym_k, minlength=len(known)))])
        for k, symbol in enumerate(known):
            rows = order[bounds[k] : bounds[k + 1]]
            rng = symbol_day_rng(self.seed, "chain", symbol, self.as_of)
            mean = oi_mean[rows]
            out["spread"][rows] = rng.random(len(rows))
            out["open_interest"][rows] = rng.poisson(mean)
            out["volume"][rows] = rng.poisson(mean * 0.15 * rng.uniform(0.2, 1.5, len(rows)))
            out["last"][rows] = rng.standard_normal(len(rows))
        return out
