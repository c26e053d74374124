"""Passwords: argon2id hashing, the strength policy, and the dummy hash of constant-time login.

- Hashing: argon2id (argon2-cffi defaults, RFC 9106 "second recommended" parameters).
- Policy (NIST SP 800-63B 5.1.1.2): a minimum length (12 by default) and a strength estimate by
  zxcvbn (Dropbox's estimator: dictionaries, keyboard patterns, repeats, the user's own name),
  score >= 3 by default; no composition rules.
- Unknown users are verified against one dummy hash computed once per hasher, so an unknown
  name costs one verification like a wrong password (not a hash plus a verification).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

_hasher = PasswordHasher()
_dummy_hashes: dict[int, str] = {}
_dummy_lock = threading.Lock()
_ZXCVBN_MAX_CHARS = 100  # zxcvbn's cost grows with length; longer passwords are scored by prefix


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 12
    min_score: int = 3  # zxcvbn: 0 too guessable .. 4 very unguessable


DEFAULT_POLICY = PasswordPolicy()


class WeakPassword(ValueError):
    """The password breaks the policy; the message says why (safe to show)."""


def check_password(password: str, policy: PasswordPolicy, *, username: str = "") -> None:
    """Raise WeakPassword unless ``password`` is long and unguessable enough."""
    if len(password) < policy.min_length:
        raise WeakPassword(f"password must have at least {policy.min_length} characters")
    estimate = zxcvbn(password[:_ZXCVBN_MAX_CHARS], user_inputs=[username, "wheelflow"])
    if estimate["score"] < policy.min_score:
        feedback = estimate["feedback"]
        hint = feedback.get("warning") or " ".join(feedback.get("suggestions", []))
        raise WeakPassword(
            "password is too easy to guess"
            + (f": {hint.rstrip('.')}" if hint else "")
            + "; use a longer passphrase of unrelated words"
        )


def hash_password(password: str) -> str:
    """argon2id hash of ``password`` (a self-describing ``$argon2id$...`` string)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_hash() -> str:
    """The hash unknown users are verified against: computed once per hasher (API start-up)."""
    key = id(_hasher)
    found = _dummy_hashes.get(key)
    if found is None:
        with _dummy_lock:
            found = _dummy_hashes.get(key)
            if found is None:
                found = _dummy_hashes[key] = _hasher.hash("wheelflow-no-such-user")
    return found


def verify_unknown_user(password: str) -> bool:
    """Spend a verification's time for a user that does not exist; always False."""
    verify_password(dummy_hash(), password)
    return False
