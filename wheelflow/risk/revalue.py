"""A book of positions as arrays, revalued whole under many scenarios at once.

A :class:`Book` holds one account's open positions (stock and options) as NumPy arrays; every
scenario is a row of relative spot moves per underlying, a relative implied-volatility shift and
a horizon. Options are repriced in full with the European Black-Scholes-Merton kernel of
``wheelflow.pricing`` (no delta/gamma approximation), so a short put far out of the money loses
little under a small gap and a lot under a large one, as it should.

Units: ``units`` are signed shares (stock) or signed contracts x 100 (options); prices are USD
per share; ``years`` ACT/365 to expiry; ``iv`` annualised; all P&L is USD.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from wheelflow.pricing import greeks, price

FloatArray = NDArray[np.float64]
CONTRACT_MULTIPLIER = 100.0
DAY = 1.0 / 365.0

BOOK_COLUMNS = ("symbol", "asset_type", "right", "strike", "years", "units", "iv", "spot")


@dataclass(frozen=True)
class Book:
    """Open positions of one account as aligned arrays (one entry per position)."""

    symbols: np.ndarray  # the underlyings, one entry each (str)
    underlying: np.ndarray  # per position: index into ``symbols``
    spot: FloatArray  # per underlying: last price
    is_option: np.ndarray  # bool
    is_call: np.ndarray  # bool (False for stock)
    strike: FloatArray  # NaN for stock
    years: FloatArray  # to expiry; 0 for stock
    units: FloatArray  # signed shares, or signed contracts x 100
    iv: FloatArray  # NaN for stock
    rate: float = 0.04

    @property
    def size(self) -> int:
        return len(self.units)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, rate: float = 0.04) -> Book:
        """A book from a frame with :data:`BOOK_COLUMNS` (``asset_type`` stock|option)."""
        f = frame.reset_index(drop=True)
        symbols, underlying = np.unique(f["symbol"].astype(str).to_numpy(), return_inverse=True)
        spot = np.full(len(symbols), np.nan)
        spot[underlying] = f["spot"].astype(float).to_numpy()
        is_option = (f["asset_type"] == "option").to_numpy(dtype=bool)
        right = f["right"].fillna("").astype(str).str.upper().to_numpy()
        return cls(
            symbols=symbols,
            underlying=underlying.astype(np.int64),
            spot=spot,
            is_option=is_option,
            is_call=is_option & (right == "C"),
            strike=f["strike"].astype(float).to_numpy(),
            years=np.where(is_option, f["years"].astype(float).to_numpy(), 0.0),
            units=f["units"].astype(float).to_numpy(),
            iv=f["iv"].astype(float).to_numpy(),
            rate=rate,
        )

    @classmethod
    def empty(cls) -> Book:
        return cls.from_frame(pd.DataFrame({c: [] for c in BOOK_COLUMNS}))


def position_values(
    book: Book,
    spot_move: FloatArray,
    *,
    iv_shift: FloatArray | float = 0.0,
    horizon_years: float = 0.0,
) -> FloatArray:
    """Value (USD) of every position in every scenario: shape (scenarios, positions).

    ``spot_move`` is (scenarios, underlyings) of relative moves (-0.2 = a 20 % gap);
    ``iv_shift`` a relative IV change per scenario (0.5 = IV x 1.5). Options whose expiry falls
    inside the horizon are worth their intrinsic value (``t`` floors at 0).
    """
    moves = np.atleast_2d(np.asarray(spot_move, dtype=np.float64))
    spot = book.spot[book.underlying] * (1.0 + moves[:, book.underlying])
    opt = book.is_option
    shift = np.asarray(iv_shift, dtype=np.float64).reshape(-1, 1)
    t = np.maximum(book.years - horizon_years, 0.0)
    if opt.all():
        sigma = book.iv * (1.0 + shift) if shift.any() else book.iv
        return book.units * price(spot, book.strike, t, book.rate, 0.0, sigma, book.is_call)
    values = spot * book.units
    if opt.any():
        values[:, opt] = book.units[opt] * price(
            spot[:, opt],
            book.strike[opt],
            t[opt],
            book.rate,
            0.0,
            book.iv[opt] * (1.0 + shift),
            book.is_call[opt],
        )
    return values


def base_values(book: Book) -> FloatArray:
    """Value (USD) of every position today."""
    return position_values(book, np.zeros((1, len(book.symbols))))[0]


def position_pnl(
    book: Book,
    spot_move: FloatArray,
    *,
    iv_shift: FloatArray | float = 0.0,
    horizon_years: float = 0.0,
) -> FloatArray:
    """P&L (USD) of every position in every scenario: shape (scenarios, positions)."""
    values = position_values(book, spot_move, iv_shift=iv_shift, horizon_years=horizon_years)
    return values - base_values(book)


def revalue(
    book: Book,
    spot_move: FloatArray,
    *,
    iv_shift: FloatArray | float = 0.0,
    horizon_years: float = 0.0,
    chunk: int = 2_000,
) -> FloatArray:
    """P&L (USD) of the whole book in every scenario, by full revaluation: shape (scenarios,).

    Stock is linear (one matrix product); every option is repriced. Scenarios are priced in
    chunks so that memory stays bounded for 10^4 x 10^3 books.
    """
    moves = np.atleast_2d(np.asarray(spot_move, dtype=np.float64))
    if book.size == 0:
        return np.zeros(len(moves))
    stock = ~book.is_option
    stock_dollars = np.zeros(len(book.symbols))
    np.add.at(
        stock_dollars,
        book.underlying[stock],
        book.units[stock] * book.spot[book.underlying[stock]],
    )
    out = moves @ stock_dollars
    opt = book.is_option
    if not opt.any():
        return out
    options = Book(
        symbols=book.symbols,
        underlying=book.underlying[opt],
        spot=book.spot,
        is_option=book.is_option[opt],
        is_call=book.is_call[opt],
        strike=book.strike[opt],
        years=book.years[opt],
        units=book.units[opt],
        iv=book.iv[opt],
        rate=book.rate,
    )
    today = base_values(options).sum()
    shifts = np.broadcast_to(np.asarray(iv_shift, dtype=np.float64), (len(moves),))
    for lo in range(0, len(moves), chunk):
        hi = lo + chunk
        values = position_values(
            options, moves[lo:hi], iv_shift=shifts[lo:hi], horizon_years=horizon_years
        )
        out[lo:hi] += values.sum(axis=1) - today
    return out


def dollar_greeks(book: Book) -> pd.DataFrame:
    """Per position: ``delta_usd`` (USD per 100 % spot move, i.e. the stock-equivalent
    exposure), ``gamma_usd`` (change of delta_usd per 1 % move), ``theta_usd`` (per calendar
    day) and ``vega_usd`` (per 1 vol point). Stock: delta = 1, other greeks 0."""
    s = book.spot[book.underlying]
    delta = np.ones(book.size)
    gamma = np.zeros(book.size)
    theta = np.zeros(book.size)
    vega = np.zeros(book.size)
    opt = book.is_option
    if opt.any():
        g = greeks(
            s[opt],
            book.strike[opt],
            book.years[opt],
            book.rate,
            0.0,
            book.iv[opt],
            book.is_call[opt],
        )
        delta[opt], gamma[opt], theta[opt], vega[opt] = (
            np.nan_to_num(g[k]) for k in ("delta", "gamma", "theta", "vega")
        )
    return pd.DataFrame(
        {
            "symbol": book.symbols[book.underlying],
            "delta_usd": book.units * delta * s,
            "gamma_usd": book.units * gamma * s * s / 100.0,
            "theta_usd": book.units * theta,
            "vega_usd": book.units * vega,
        }
    )


def notional_exposure(book: Book) -> FloatArray:
    """Per position, USD at risk: stock at market, a short put's strike x units, else 0.

    The same measure the concentration limit has always used (collateral of short puts plus
    stock held); a covered call adds no notional.
    """
    s = book.spot[book.underlying]
    stock = np.where(book.is_option, 0.0, book.units * s)
    short_put = book.is_option & ~book.is_call & (book.units < 0)
    return stock + np.where(short_put, -book.units * np.nan_to_num(book.strike), 0.0)
