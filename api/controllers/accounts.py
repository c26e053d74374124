"""Trading accounts and their owners (users or teams): list (trader: their own; admin: all),
grant and revoke ownership, teams (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import JSONBody, PathParameter
from sqlalchemy import Engine

from api.auth import admin, audit_event, trader
from api.params import RowId
from models.schemas import AccountMemberAdd, AccountOut, TeamCreate, TeamMemberAdd
from wheelflow import authorization
from wheelflow.db import transaction
from wheelflow.security import Principal

AccountName = Annotated[str, PathParameter(min_length=1, max_length=32, pattern=r"^[^\x00/]+$")]


class AccountsController(Controller):
    tags = ["accounts"]  # noqa: RUF012

    @get("/accounts", guards=[trader], sync_to_thread=True)
    def accounts(
        self, reader: NamedDependency[Engine], request: Request[Principal, Any, Any]
    ) -> list[AccountOut]:
        """The trading accounts the caller belongs to (admins: all), with their owners."""
        with reader.connect() as conn:
            return authorization.list_accounts(conn, request.user)  # type: ignore[return-value]

    @post("/accounts/{account:str}/members", guards=[admin], sync_to_thread=True)
    def add_member(
        self,
        engine: NamedDependency[Engine],
        request: Request[Principal, Any, Any],
        account: AccountName,
        data: JSONBody[AccountMemberAdd],
    ) -> dict[str, Any]:
        """Make a user (``user_id``) or a team (``team_id``) an owner of ``account``."""
        try:
            with transaction(engine) as conn:
                member_id = authorization.add_account_member(
                    conn, account, user_id=data.user_id, team_id=data.team_id
                )
                audit_event(
                    conn,
                    request,
                    "account_member_added",
                    subject=f"account:{account}",
                    detail={"user_id": data.user_id, "team_id": data.team_id},
                )
        except ValueError as exc:
            raise ValidationException(
                str(exc), extra=[{"key": "body", "message": str(exc)}]
            ) from None
        except LookupError as exc:
            raise NotFoundException(str(exc)) from None
        return {
            "id": member_id,
            "account": account,
            **{"user_id": data.user_id, "team_id": data.team_id},
        }

    @delete("/accounts/{account:str}/members/{member_id:int}", guards=[admin], sync_to_thread=True)
    def remove_member(
        self,
        engine: NamedDependency[Engine],
        request: Request[Principal, Any, Any],
        account: AccountName,
        member_id: RowId,
    ) -> None:
        with transaction(engine) as conn:
            if not authorization.remove_account_member(conn, account, member_id):
                raise NotFoundException(f"no owner {member_id} of account {account}")
            audit_event(
                conn,
                request,
                "account_member_removed",
                subject=f"account:{account}",
                detail={"member_id": member_id},
            )

    @post("/teams", guards=[admin], sync_to_thread=True)
    def create_team(
        self, engine: NamedDependency[Engine], data: JSONBody[TeamCreate]
    ) -> dict[str, Any]:
        try:
            with transaction(engine) as conn:
                team_id = authorization.create_team(conn, data.name)
        except ValueError as exc:
            raise ValidationException(
                str(exc), extra=[{"key": "name", "message": str(exc)}]
            ) from None
        return {"id": team_id, "name": data.name}

    @post("/teams/{team_id:int}/members", guards=[admin], sync_to_thread=True)
    def add_team_member(
        self, engine: NamedDependency[Engine], team_id: RowId, data: JSONBody[TeamMemberAdd]
    ) -> dict[str, int]:
        try:
            with transaction(engine) as conn:
                authorization.add_team_member(conn, team_id, data.user_id)
        except LookupError as exc:
            raise NotFoundException(str(exc)) from None
        return {"team_id": team_id, "user_id": data.user_id}
