"""Who may see what, in one place: the role split of risk figures and the owners of trading
accounts.

Roles nest viewer < trader < admin (``wheelflow.security.role_allows``). Holdings, cash and
exposure are trader information; a viewer gets aggregate figures only. Trading accounts belong
to users or teams (``account_members``): a trader sees and acts on the accounts they belong to
(directly or through a team), an admin on all. An API key acts for the accounts of the user
who minted it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection, delete, insert, select, union
from sqlalchemy.exc import IntegrityError

from models.auth import AccountMember, ApiKey, Team, TeamMember, User
from models.lifecycle import Account
from models.tables import Position, utcnow
from wheelflow.principal import Principal, role_allows

HOLDINGS_ROLE = "trader"  # the least role that sees positions, cash and exposure


def sees_holdings(role: str) -> bool:
    return role_allows(role, HOLDINGS_ROLE)


def risk_view(report: dict[str, Any], role: str) -> dict[str, Any]:
    """The latest risk report as ``role`` may see it.

    Traders and admins get it whole. Viewers get whether the portfolio passed and, per check
    name, how many checks ran and how many breached: no subjects (symbols held), metric values,
    limits, messages or details (cash, equity, exposure).
    """
    if sees_holdings(role):
        return report
    checks = report.get("checks", [])
    ran = Counter(c["check_name"] for c in checks)
    breached = Counter(c["check_name"] for c in checks if not c["passed"])
    return {
        "snapshot_at": report.get("snapshot_at"),
        "run_id": report.get("run_id"),
        "passed": report.get("passed"),
        "scope": "aggregate",
        "n_checks": len(checks),
        "n_breaches": sum(breached.values()),
        "checks": [
            {"check_name": name, "checks": ran[name], "breaches": breached[name]}
            for name in sorted(ran)
        ],
    }


# --------------------------------------------------------------------------- account owners


def accounts_of(conn: Connection, principal: Principal) -> frozenset[str] | None:
    """The trading accounts ``principal`` may see and act on; None means every account."""
    if principal.role == "admin":
        return None
    user_id = principal.user_id
    if user_id is None and principal.api_key_id is not None:
        user_id = conn.execute(
            select(ApiKey.created_by).where(ApiKey.id == principal.api_key_id)
        ).scalar_one_or_none()
    if user_id is None:
        return frozenset()
    teams = select(TeamMember.team_id).where(TeamMember.user_id == user_id)
    rows = conn.execute(
        select(AccountMember.account).where(
            (AccountMember.user_id == user_id) | AccountMember.team_id.in_(teams)
        )
    ).scalars()
    return frozenset(rows)


def of_accounts(
    rows: list[dict[str, Any]], accounts: frozenset[str] | None
) -> list[dict[str, Any]]:
    """The rows (each with an ``account``) of ``accounts``; all when None (admins)."""
    return rows if accounts is None else [r for r in rows if r["account"] in accounts]


def list_accounts(conn: Connection, principal: Principal) -> list[dict[str, Any]]:
    """The caller's accounts (admins: every account known to the books, the positions or the
    owners table) with their owners."""
    mine = accounts_of(conn, principal)
    known = conn.execute(
        union(
            select(Account.account),
            select(Position.account),
            select(AccountMember.account),
        )
    ).scalars()
    names = sorted(a for a in set(known) | set(mine or ()) if mine is None or a in mine)
    members = conn.execute(
        select(
            AccountMember.id,
            AccountMember.account,
            AccountMember.user_id,
            User.username,
            AccountMember.team_id,
            Team.name.label("team"),
        )
        .outerjoin(User, User.id == AccountMember.user_id)
        .outerjoin(Team, Team.id == AccountMember.team_id)
        .where(AccountMember.account.in_(names))
        .order_by(AccountMember.id)
    ).mappings()
    owners: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for m in members:
        owners[m["account"]].append({k: v for k, v in m.items() if k != "account"})
    return [{"account": name, "owners": owners[name]} for name in names]


def add_account_member(
    conn: Connection, account: str, *, user_id: int | None = None, team_id: int | None = None
) -> int:
    """Make a user or a team (exactly one) an owner of ``account``; the membership id.
    Idempotent: an existing membership's id is returned."""
    if (user_id is None) == (team_id is None):
        raise ValueError("give exactly one of user_id and team_id")
    owner = AccountMember.user_id == user_id if user_id else AccountMember.team_id == team_id
    found = conn.execute(
        select(AccountMember.id).where(AccountMember.account == account, owner)
    ).scalar_one_or_none()
    if found is not None:
        return int(found)
    try:
        with conn.begin_nested():
            result = conn.execute(
                insert(AccountMember).values(
                    account=account, user_id=user_id, team_id=team_id, added_at=utcnow()
                )
            )
    except IntegrityError:
        raise LookupError(f"no {'user' if user_id else 'team'} with that id") from None
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def remove_account_member(conn: Connection, account: str, member_id: int) -> bool:
    return bool(
        conn.execute(
            delete(AccountMember).where(
                AccountMember.id == member_id, AccountMember.account == account
            )
        ).rowcount
    )


def create_team(conn: Connection, name: str) -> int:
    if conn.execute(select(Team.id).where(Team.name == name)).first():
        raise ValueError(f"team {name!r} exists")
    result = conn.execute(insert(Team).values(name=name, created_at=utcnow()))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def add_team_member(conn: Connection, team_id: int, user_id: int) -> None:
    """Idempotent; LookupError when the team or user does not exist."""
    exists = conn.execute(
        select(TeamMember.team_id).where(
            TeamMember.team_id == team_id, TeamMember.user_id == user_id
        )
    ).first()
    if exists:
        return
    try:
        with conn.begin_nested():
            conn.execute(insert(TeamMember).values(team_id=team_id, user_id=user_id))
    except IntegrityError:
        raise LookupError("no such team or user") from None
