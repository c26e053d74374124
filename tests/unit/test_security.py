"""Pure functions of the user service: password hashing, access tokens, secrets, roles."""

from __future__ import annotations

import datetime as dt
import stat

import pytest

from wheelflow import passwords, security

SECRET = "unit-test-secret-of-at-least-thirty-two-bytes"


def test_password_hash_is_argon2id_and_verifies_only_the_password():
    hashed = security.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert security.verify_password(hashed, "correct horse battery")
    assert not security.verify_password(hashed, "correct horse batterY")


def test_verifying_against_a_malformed_hash_is_false_not_an_error():
    assert security.verify_password("not-a-hash", "whatever") is False


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short", "at least 12 characters"),
        ("aaaaaaaa", "at least 12 characters"),
        ("aaaaaaaaaaaaaaaa", "too easy to guess"),
        ("password1234", "too easy to guess"),
        ("qwertyuiopasdf", "too easy to guess"),
        ("carol-smith-2026", "too easy to guess"),  # built from the user's own name
    ],
)
def test_the_password_policy_refuses_short_or_guessable_passwords(password, why):
    with pytest.raises(passwords.WeakPassword, match=why):
        passwords.check_password(password, passwords.PasswordPolicy(), username="carol-smith")


@pytest.mark.parametrize("password", ["correct horse battery", "lantern quarry ribbon 47"])
def test_the_password_policy_accepts_long_unguessable_passphrases(password):
    passwords.check_password(password, passwords.PasswordPolicy(), username="carol")


def test_access_token_round_trips_the_principal():
    token = security.issue_access_token(
        7, "carol", "trader", secret=SECRET, lifetime=dt.timedelta(minutes=5)
    )
    principal = security.decode_access_token(token, secret=SECRET)
    assert (principal.user_id, principal.username, principal.role) == (7, "carol", "trader")
    assert principal.kind == "user"


def test_access_token_expires_after_its_lifetime():
    token = security.issue_access_token(
        7,
        "carol",
        "trader",
        secret=SECRET,
        lifetime=dt.timedelta(minutes=15),
        now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=15, seconds=1),
    )
    with pytest.raises(security.AuthenticationFailed, match="expired"):
        security.decode_access_token(token, secret=SECRET)


def test_access_token_with_an_unknown_role_is_refused():
    import jwt

    forged = jwt.encode({"sub": "1", "role": "root", "exp": 9999999999}, SECRET, algorithm="HS256")
    with pytest.raises(security.AuthenticationFailed):
        security.decode_access_token(forged, secret=SECRET)


def test_unsigned_tokens_are_refused():
    import jwt

    unsigned = jwt.encode({"sub": "1", "role": "admin", "exp": 9999999999}, None, algorithm="none")
    with pytest.raises(security.AuthenticationFailed):
        security.decode_access_token(unsigned, secret=SECRET)


@pytest.mark.parametrize(
    ("role", "required", "allowed"),
    [
        ("viewer", "viewer", True),
        ("viewer", "trader", False),
        ("trader", "viewer", True),
        ("trader", "admin", False),
        ("admin", "trader", True),
        ("root", "viewer", False),
    ],
)
def test_roles_nest_viewer_trader_admin(role, required, allowed):
    assert security.role_allows(role, required) is allowed


def test_generated_jwt_secret_is_kept_with_mode_0600_and_reused(tmp_path):
    first = security.load_or_create_jwt_secret("", tmp_path)
    again = security.load_or_create_jwt_secret("", tmp_path)
    assert first == again and len(first) >= 48
    assert stat.S_IMODE((tmp_path / "jwt_secret").stat().st_mode) == 0o600


def test_configured_jwt_secret_wins_and_writes_nothing(tmp_path):
    assert security.load_or_create_jwt_secret("from-env", tmp_path) == "from-env"
    assert not (tmp_path / "jwt_secret").exists()


def test_secrets_equal_only_for_identical_secrets():
    assert security.secrets_equal("abc", "abc")
    assert not security.secrets_equal("abc", "abd")
    assert not security.secrets_equal("", "abc")


def test_a_remembered_token_still_expires_on_time():
    import time

    token = security.issue_access_token(
        7, "carol", "trader", secret=SECRET, lifetime=dt.timedelta(seconds=2)
    )
    assert security.decode_access_token(token, secret=SECRET).user_id == 7
    time.sleep(2.1)
    with pytest.raises(security.AuthenticationFailed, match="expired"):
        security.decode_access_token(token, secret=SECRET)


def test_a_remembered_token_is_not_valid_under_another_secret():
    token = security.issue_access_token(
        7, "carol", "trader", secret=SECRET, lifetime=dt.timedelta(minutes=5)
    )
    security.decode_access_token(token, secret=SECRET)
    with pytest.raises(security.AuthenticationFailed, match="invalid"):
        security.decode_access_token(token, secret=SECRET + "-rotated")
