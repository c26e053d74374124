"""The final state of a scheduled run the market calendar skips: Cancelled, named "Skipped".

Distinct from Completed in the Prefect UI (no green no-op runs outside market hours), with the
calendar's reason as the message; nothing for an operator to act on.
"""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger
from prefect.states import Cancelled, State


def skipped(reason: str) -> State[Any]:
    get_run_logger().info("skipped: %s", reason)
    return Cancelled(name="Skipped", message=f"skipped: {reason}")
