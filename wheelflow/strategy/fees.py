"""What a broker's fee schedule costs per option contract (USD, vectorized).

Selling one contract to open at ``price`` per share costs

    commission_per_contract + commission_per_order      (one contract per order)
    + orf_per_contract + occ_clearing_per_contract      (regulatory, both sides)
    + finra_taf_per_contract + sec_fee_rate x price x 100   (sells only)

and an assignment at expiry adds ``assignment_fee`` (per contract assigned). Buying to close
costs the same without the sell-only fees. Example, the built-in "paper" schedule, a put sold
at 0.50: 0.65 + 0 + 0.02295 + 0.02 + 0.00279 + 0.0000278 x 50 = 0.696 USD.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from wheelflow.strategy.config import BrokerFees
from wheelflow.strategy.wheel import SHARES_PER_CONTRACT


def trade_fees(
    fees: BrokerFees, price: np.ndarray, side: Literal["sell", "buy"], contracts_per_order: int = 1
) -> np.ndarray:
    """Fees of one contract traded at ``price`` per share (USD per contract)."""
    p = np.asarray(price, dtype=float)
    per_contract = (
        fees.commission_per_contract
        + fees.commission_per_order / max(contracts_per_order, 1)
        + fees.orf_per_contract
        + fees.occ_clearing_per_contract
    )
    if side == "sell":
        per_contract += fees.finra_taf_per_contract
        return per_contract + fees.sec_fee_rate * p * SHARES_PER_CONTRACT
    return np.full_like(p, per_contract)
