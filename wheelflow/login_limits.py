"""Limits on password guessing, per client address and per account, in the shared state (so
several API processes count together).

- Per address: at most ``per_address`` failed logins a minute (a shared office address is not
  locked out by successes, only by failures).
- Per account: at most ``per_account`` failed logins in ``account_window`` seconds, from any
  address: rotating addresses (or a forged ``X-Forwarded-For``) does not help. While an account
  is locked even its right password is refused, so guessing stays pointless.
"""

from __future__ import annotations

from dataclasses import dataclass

from wheelflow.shared_state import SharedState


class LoginLimited(Exception):
    """A limit refuses this attempt; the message says which and for how long (safe to show)."""

    def __init__(self, message: str, retry_after_seconds: int, scope: str) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
        self.scope = scope  # "address" or "account"


@dataclass(frozen=True)
class LoginLimits:
    state: SharedState
    per_address: int
    per_account: int
    account_window_seconds: float

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str]:
        return f"login-fail:addr:{address}", f"login-fail:user:{username.strip().lower()}"

    def check(self, username: str, address: str) -> None:
        """Raise LoginLimited when this address or this account has failed too often."""
        by_address, by_account = self.state.get_many(list(self._keys(username, address)))
        if by_address is not None and int(by_address) >= self.per_address:
            raise LoginLimited(
                "too many failed logins from this address: retry in a minute", 60, "address"
            )
        if by_account is not None and int(by_account) >= self.per_account:
            minutes = max(1, round(self.account_window_seconds / 60))
            raise LoginLimited(
                f"too many failed logins for this account: retry in up to {minutes} minutes",
                int(self.account_window_seconds),
                "account",
            )

    def failed(self, username: str, address: str) -> None:
        address_key, account_key = self._keys(username, address)
        self.state.incr(address_key, 60)
        self.state.incr(account_key, self.account_window_seconds)

    def succeeded(self, username: str) -> None:
        """A right password ends the account's failure streak (not the address's)."""
        self.state.delete(self._keys(username, "")[1])
