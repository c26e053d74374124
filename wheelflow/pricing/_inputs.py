"""Input normalisation shared by the pricing functions (broadcasting, option-type flags)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def as_call_flags(is_call: ArrayLike) -> BoolArray:
    """Return a bool array, True for calls.

    Accepts bools, numbers (+1 call, -1 put: any positive value is a call) and strings whose
    first character is 'c' or 'C' for calls ("c", "call", "C"); any other string is a put.
    Object arrays (e.g. a pandas string column) are converted to fixed-width strings first,
    which costs ~0.3 s per million: on hot paths pass bool or int8 flags.
    """
    flags = np.asarray(is_call)
    if flags.dtype == np.bool_:
        return flags
    if flags.dtype.kind == "O":
        flags = flags.astype(str)
    if flags.dtype.kind in "US":
        # Look at the first character's code only: a C-speed view, no per-element Python.
        width = flags.dtype.itemsize // (4 if flags.dtype.kind == "U" else 1)
        code_type = np.uint32 if flags.dtype.kind == "U" else np.uint8
        contiguous = np.ascontiguousarray(flags)
        if width == 0:
            return np.zeros(flags.shape, dtype=bool)
        first = contiguous.view(code_type).reshape(*flags.shape, width)[..., 0]
        return (first == ord("c")) | (first == ord("C"))
    return flags > 0


def as_float(value: ArrayLike) -> FloatArray:
    """Return ``value`` as a float64 array (no copy when it already is one)."""
    return np.asarray(value, dtype=np.float64)
