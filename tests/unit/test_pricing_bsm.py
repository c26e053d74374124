"""Black-Scholes-Merton prices and greeks against vollib (the reference implementation)."""

from __future__ import annotations

import numpy as np
import pytest
from vollib.black_scholes_merton import black_scholes_merton as vollib_price
from vollib.black_scholes_merton.greeks import analytical as vollib_greeks

from wheelflow.pricing import greeks, price


@pytest.mark.parametrize("flag", ["c", "p"])
def test_price_matches_vollib_on_hull_example(flag: str) -> None:
    ours = price(49.0, 50.0, 0.3846, 0.05, 0.01, 0.2, flag == "c")
    ref = vollib_price(flag, 49.0, 50.0, 0.3846, 0.05, 0.2, 0.01)
    assert ours == pytest.approx(ref, rel=1e-13)


@pytest.mark.parametrize("flag", ["c", "p"])
def test_greeks_match_vollib_on_hull_example(flag: str) -> None:
    ours = greeks(49.0, 50.0, 0.3846, 0.05, 0.01, 0.2, flag)
    for name, value in ours.items():
        ref = getattr(vollib_greeks, name)(flag, 49.0, 50.0, 0.3846, 0.05, 0.2, 0.01)
        assert value == pytest.approx(ref, rel=1e-12), name


def test_flags_accept_bool_int8_and_strings() -> None:
    as_bool = price(100.0, 90.0, 0.5, 0.03, 0.0, 0.3, np.array([True, False]))
    as_int8 = price(100.0, 90.0, 0.5, 0.03, 0.0, 0.3, np.array([1, -1], dtype=np.int8))
    as_str = price(100.0, 90.0, 0.5, 0.03, 0.0, 0.3, np.array(["c", "p"]))
    np.testing.assert_array_equal(as_bool, as_int8)
    np.testing.assert_array_equal(as_bool, as_str)


def test_expired_option_is_worth_its_intrinsic_value() -> None:
    values = price(110.0, 100.0, 0.0, 0.05, 0.0, 0.2, np.array([True, False]))
    np.testing.assert_array_equal(values, [10.0, 0.0])


def test_invalid_inputs_price_to_nan() -> None:
    values = price(
        np.array([-1.0, 100.0, 100.0, np.nan]),
        100.0,
        np.array([1.0, -1.0, 1.0, 1.0]),
        0.0,
        0.0,
        np.array([0.2, 0.2, -0.1, 0.2]),
        True,
    )
    assert np.isnan(values).all()


def test_string_flags_are_read_by_their_first_letter() -> None:
    flags = np.array(["call", "Put", "C", "p"], dtype=object)
    values = price(100.0, 100.0, 0.5, 0.0, 0.0, 0.2, flags)
    calls = price(100.0, 100.0, 0.5, 0.0, 0.0, 0.2, np.array([True, False, True, False]))
    np.testing.assert_array_equal(values, calls)
