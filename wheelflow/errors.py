"""Exceptions, one family per boundary. The API maps them to 4xx JSON bodies."""

from __future__ import annotations


class WheelflowError(Exception):
    """Base class of every error wheelflow raises on purpose."""


class ConfigError(WheelflowError):
    """A setting or strategy-file value is invalid. The message names the key."""


class ProviderError(WheelflowError):
    """A market-data or broker provider failed (network, HTTP status, payload)."""

    def __init__(self, message: str, *, provider: str = "", retryable: bool = True) -> None:
        super().__init__(message)
        self.provider = provider
        self.retryable = retryable


class ProviderAuthError(ProviderError):
    """Credentials were refused. Never retried; the message names the setting to fix."""

    def __init__(self, message: str, *, provider: str = "") -> None:
        super().__init__(message, provider=provider, retryable=False)


class DataQualityError(WheelflowError):
    """A data-quality gate refused a whole batch (empty, or mostly bad)."""

    def __init__(self, message: str, *, stage: str = "", bad_fraction: float = 1.0) -> None:
        super().__init__(message)
        self.stage = stage
        self.bad_fraction = bad_fraction


class RiskLimitBreached(WheelflowError):
    """An order or candidate would break a portfolio risk limit."""


class LiveTradingDisabled(WheelflowError):
    """A live broker was asked to trade while WHEELFLOW_LIVE_TRADING is not true."""
