"""The expectation suites, one per gated stage, as plain data.

Each suite is built from the batch it validates (some bounds depend on the snapshot), so a
builder takes the context of the stage. Derived columns the expectations read (``_row``,
``years_to_expiry``, ``quote_age_seconds``) are added by the gate's caller in ``wheelflow``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# The OCC symbol pattern of wheelflow.occ without capture groups (GE runs str.contains on it).
OCC_PATTERN_FLAT = r"^[A-Z][A-Z0-9.]{0,5} *\d{6}[CP]\d{8}$"


@dataclass(frozen=True)
class Expect:
    """One expectation: the GE class name (``ExpectColumnValuesToBeBetween``) and its kwargs."""

    type: str
    kwargs: dict[str, Any]
    row_level: bool = True  # False: batch-level (row count, distinct values), not per row
    fatal: bool = True  # for batch-level ones: does a failure fail the whole stage?

    def describe(self) -> str:
        shown = {k: v for k, v in self.kwargs.items() if k not in {"condition_parser"}}
        args = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"{self.type}({args})"


@dataclass(frozen=True)
class Suite:
    name: str
    expectations: Sequence[Expect] = field(default_factory=tuple)


def _not_null(*columns: str) -> list[Expect]:
    return [Expect("ExpectColumnValuesToNotBeNull", {"column": c}) for c in columns]


def quotes_suite(requested_symbols: Sequence[str], max_quote_age_seconds: float) -> Suite:
    return Suite(
        "quotes",
        (
            *_not_null("symbol", "last", "quote_age_seconds"),
            Expect(
                "ExpectColumnValuesToBeBetween",
                {"column": "last", "min_value": 0, "strict_min": True},
            ),
            Expect("ExpectColumnValuesToBeBetween", {"column": "bid", "min_value": 0}),
            Expect(
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {
                    "column_A": "ask",
                    "column_B": "bid",
                    "or_equal": True,
                    "ignore_row_if": "either_value_is_missing",
                },
            ),
            Expect(
                "ExpectColumnValuesToBeBetween",
                {
                    "column": "quote_age_seconds",
                    "min_value": -300,
                    "max_value": max_quote_age_seconds,
                },
            ),
            Expect("ExpectColumnValuesToBeUnique", {"column": "symbol"}),
            Expect(
                "ExpectColumnDistinctValuesToContainSet",
                {"column": "symbol", "value_set": sorted(set(requested_symbols))},
                row_level=False,
                fatal=False,  # missing symbols are quarantined one by one by the caller
            ),
            Expect("ExpectTableRowCountToBeBetween", {"min_value": 1}, row_level=False),
        ),
    )


def chains_suite() -> Suite:
    return Suite(
        "chains",
        (
            *_not_null(
                "occ_symbol", "underlying", "expiration", "strike", "bid", "ask", "underlying_price"
            ),
            Expect("ExpectColumnValuesToBeNull", {"column": "parse_error"}),
            Expect(
                "ExpectColumnValuesToMatchRegex",
                {"column": "occ_symbol", "regex": OCC_PATTERN_FLAT},
            ),
            Expect("ExpectColumnValuesToBeInSet", {"column": "right", "value_set": ["C", "P"]}),
            Expect(
                "ExpectColumnValuesToBeBetween",
                {"column": "strike", "min_value": 0, "strict_min": True},
            ),
            Expect("ExpectColumnValuesToBeBetween", {"column": "bid", "min_value": 0}),
            Expect(
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": "ask", "column_B": "bid", "or_equal": True},
            ),
            Expect(
                "ExpectColumnValuesToBeBetween",
                {"column": "underlying_price", "min_value": 0, "strict_min": True},
            ),
            Expect(
                "ExpectColumnValuesToBeBetween",
                {"column": "years_to_expiry", "min_value": 0, "strict_min": True},
            ),
            Expect("ExpectColumnValuesToBeUnique", {"column": "occ_symbol"}),
            Expect("ExpectTableRowCountToBeBetween", {"min_value": 1}, row_level=False),
        ),
    )


def greeks_suite() -> Suite:
    """IV in (0, 5]; delta in [-1, 0] for puts and [0, 1] for calls, checked as
    ``directional_delta`` (delta for calls, -delta for puts) in [0, 1]; gamma >= 0."""
    return Suite(
        "greeks",
        (
            *_not_null("iv", "delta", "gamma"),
            Expect(
                "ExpectColumnValuesToBeBetween",
                {"column": "iv", "min_value": 0, "max_value": 5, "strict_min": True},
            ),
            Expect(
                "ExpectColumnValuesToBeBetween",
                {"column": "directional_delta", "min_value": 0, "max_value": 1},
            ),
            Expect("ExpectColumnValuesToBeBetween", {"column": "gamma", "min_value": 0}),
            Expect("ExpectTableRowCountToBeBetween", {"min_value": 1}, row_level=False),
        ),
    )


def rankings_suite() -> Suite:
    return Suite(
        "rankings",
        (
            *_not_null("annualized_return", "score", "premium", "rank"),
            Expect(
                "ExpectColumnValuesToBeBetween",
                {"column": "annualized_return", "min_value": -1e6, "max_value": 1e6},
            ),
            Expect("ExpectColumnValuesToBeBetween", {"column": "premium", "min_value": 0}),
            Expect(
                "ExpectColumnValuesToBeBetween",
                {"column": "probability_otm", "min_value": 0, "max_value": 1},
            ),
            Expect("ExpectCompoundColumnsToBeUnique", {"column_list": ["strategy", "rank"]}),
            Expect("ExpectCompoundColumnsToBeUnique", {"column_list": ["strategy", "occ_symbol"]}),
        ),
    )
