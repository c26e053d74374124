"""Implied-volatility status codes, one representation for every exercise style.

Every IV function returns one int8 code per contract (an :class:`IVStatus` value); map codes to
names with :func:`status_names` only where text is needed (storage, reports): mapping a million
strings costs more than solving them.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray


class IVStatus(IntEnum):
    """Why a contract has (or lacks) an implied volatility; stored as int8 codes."""

    OK = 0  # solved (sigma 0 when a European price equals the forward's intrinsic value)
    BELOW_INTRINSIC = 1  # below the intrinsic value by more than the tolerance: bad data
    ABOVE_UPPER_BOUND = 2  # price at or above the no-arbitrage bound (S e^{-qt} / K e^{-rt})
    EXPIRED = 3  # t <= 0
    BAD_INPUT = 4  # non-finite input, spot or strike <= 0, negative price
    NO_CONVERGENCE = 5  # the solver did not settle (not seen in testing)
    # At the exercise value, or below the lowest model price by no more than the caller's
    # tolerance (e.g. half the bid-ask spread): no volatility is determined, yet the quote is
    # not bad data. No IV and no greeks, and no quarantine either.
    UNDETERMINED = 6


STATUS_NAMES = tuple(status.name.lower() for status in IVStatus)
_STATUS_ARRAY = np.array(STATUS_NAMES)


def status_names(codes: ArrayLike) -> NDArray[np.str_]:
    """Map int8 status codes to their names ("ok", "below_intrinsic", ...)."""
    return _STATUS_ARRAY[np.asarray(codes, dtype=np.intp)]
