"""Input normalisation shared by the pricing functions (broadcasting, option-type flags)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def as_call_flags(is_call: ArrayLike) -> BoolArray:
    """Return a bool array, True for calls.

    Accepts bools, integers (+1 call, -1 put; any positive value is a call) and strings whose
    first letter is 'c'/'C' for calls ('p'/'put' for puts).
    """
    flags = np.asarray(is_call)
    if flags.dtype == np.bool_:
        return flags
    if flags.dtype.kind in "US":
        first = np.char.lower(np.char.strip(flags.astype(str)))
        return np.char.startswith(first, "c")
    if flags.dtype.kind == "O":
        return np.vectorize(lambda v: str(v).strip().lower().startswith("c"), otypes=[bool])(flags)
    return flags > 0


def as_float(value: ArrayLike) -> FloatArray:
    """Return ``value`` as a float64 array (no copy when it already is one)."""
    return np.asarray(value, dtype=np.float64)
