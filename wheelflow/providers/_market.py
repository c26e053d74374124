"""What the HTTP market-data adapters (Tradier, Alpaca, CBOE) share.

Each adapter fetches one underlying's raw records concurrently (``_chain_records``,
``_history_records``) and parses all symbols' records in one vectorized pass
(``_parse_chain``, ``_parse_history``): parsing per symbol would spend most of a run in pandas
overhead. Per-symbol failures are reported, authentication failures raised.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import numpy as np
import pandas as pd

from wheelflow.errors import ProviderAuthError, ProviderError
from wheelflow.providers._payload import utc_now_minute
from wheelflow.providers.base import BAR_COLUMNS, CHAIN_COLUMNS, ChainFetch, conform, empty_frame
from wheelflow.providers.http import ProviderClient, counting_retries

logger = logging.getLogger(__name__)

Records = list[dict[str, Any]]


class HttpMarketData:
    """Snapshot time, concurrent chain and history fetches, the expiry window."""

    name = "http"
    exercise_style = "american"

    def __init__(
        self,
        client: ProviderClient,
        *,
        max_days_to_expiry: int = 60,
        clock: Callable[[], dt.datetime] = utc_now_minute,
    ) -> None:
        self.client = client
        self.max_days_to_expiry = max_days_to_expiry
        self.clock = clock  # naive UTC "now"; tests pin it

    # -- what adapters implement
    def _underlying_prices(self, symbols: Sequence[str]) -> dict[str, Any]:
        """Raw last prices of many underlyings in few requests (adapters that can batch)."""
        return {}

    async def _chain_records(
        self,
        client: httpx.AsyncClient,
        symbol: str,
        expirations: Sequence[dt.date] | None,
        prices: dict[str, Any],
    ) -> Records:
        """One underlying's raw option records; ``prices`` holds prefetched underlying prices
        (an adapter fetches the price itself when the symbol is missing there)."""
        raise NotImplementedError

    def _parse_chain(self, records: Records) -> pd.DataFrame:
        """CHAIN_COLUMNS, one row per record, in order."""
        raise NotImplementedError

    async def _history_records(
        self, client: httpx.AsyncClient, symbol: str, start: dt.date, end: dt.date
    ) -> Records:
        raise NotImplementedError

    def _parse_history(self, records: Records) -> pd.DataFrame:
        """BAR_COLUMNS, one row per record."""
        raise NotImplementedError

    # -- the interface
    def snapshot_time(self) -> dt.datetime:
        return self.clock()

    def window(self) -> tuple[dt.date, dt.date]:
        """The expirations a chain fetch keeps: today to ``max_days_to_expiry`` days ahead."""
        today = self.snapshot_time().date()
        return today, today + dt.timedelta(days=self.max_days_to_expiry)

    def _wanted(self, chain: pd.DataFrame, expirations: Sequence[dt.date] | None) -> np.ndarray:
        """Rows inside the window (or of ``expirations``); unparsed expirations stay (gate)."""
        exp = chain["expiration"]
        if expirations is not None:
            inside = exp.isin(pd.to_datetime(pd.Series(list(expirations), dtype=object)))
        else:
            first, last = self.window()
            inside = exp.between(pd.Timestamp(first), pd.Timestamp(last))
        return (inside | exp.isna()).to_numpy()

    def _fetch_chains(
        self, symbols: Sequence[str], expirations: Sequence[dt.date] | None
    ) -> tuple[pd.DataFrame, dict[str, str]]:
        try:
            prices = self._underlying_prices(symbols)
        except ProviderAuthError:
            raise
        except ProviderError as exc:  # each symbol then asks for its own quote
            logger.warning("%s: batch quotes failed, quoting per symbol: %s", self.name, exc)
            prices = {}

        async def fetch(client: httpx.AsyncClient, symbol: str) -> Records:
            return await self._chain_records(client, symbol, expirations, prices)

        records: Records = []
        owners: list[str] = []
        failures: dict[str, str] = {}
        for symbol, result in zip(symbols, self.client.gather(fetch, list(symbols)), strict=True):
            if isinstance(result, ProviderAuthError):
                raise result
            if isinstance(result, ProviderError):
                failures[symbol] = str(result)
            else:
                records.extend(result)
                owners.extend([symbol] * len(result))
        chain = self._parse_chain(records) if records else empty_frame(CHAIN_COLUMNS)
        keep = self._wanted(chain, expirations)
        present = set(np.asarray(owners, dtype=object)[keep]) if len(owners) else set()
        for symbol in symbols:
            if symbol not in failures and symbol not in present:
                failures[symbol] = (
                    f"{self.name}: no option chain within {self.max_days_to_expiry} days"
                )
        return conform(chain[keep], CHAIN_COLUMNS), failures

    def option_chain(
        self, symbol: str, expirations: Sequence[dt.date] | None = None
    ) -> pd.DataFrame:
        chain, failures = self._fetch_chains([symbol], expirations)
        if symbol in failures and chain.empty and "no option chain" not in failures[symbol]:
            raise ProviderError(failures[symbol], provider=self.name)
        return chain

    def option_chains(self, symbols: Sequence[str]) -> ChainFetch:
        """Every symbol's chain, fetched concurrently; failures per symbol, auth errors raised."""
        with counting_retries() as retries:
            chain, failures = self._fetch_chains(list(symbols), None)
        return ChainFetch(chains=chain, failures=failures, retries=retries[0])

    def price_history(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        """Daily bars of every symbol; a symbol that fails is logged and left out."""

        async def fetch(client: httpx.AsyncClient, symbol: str) -> Records:
            return await self._history_records(client, symbol, start, end)

        records: Records = []
        for symbol, result in zip(symbols, self.client.gather(fetch, list(symbols)), strict=True):
            if isinstance(result, ProviderAuthError):
                raise result
            if isinstance(result, ProviderError):
                logger.warning("%s: no price history for %s: %s", self.name, symbol, result)
            else:
                records.extend(result)
        if not records:
            return empty_frame(BAR_COLUMNS)
        bars = conform(self._parse_history(records), BAR_COLUMNS)
        inside = bars["bar_date"].between(pd.Timestamp(start), pd.Timestamp(end))
        return bars[inside].reset_index(drop=True)
