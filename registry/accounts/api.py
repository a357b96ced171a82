"""Sign-in, the current actor, accounts (municipal) and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.params import FromQuery, JSONBody, QueryParameter

from registry.accounts import service as accounts
from registry.accounts import tokens as auth
from registry.accounts.schemas import (
    Account,
    AccountCreate,
    AccountList,
    AccountUpdate,
    Me,
    TokenRequest,
    TokenResponse,
)
from registry.audit.schemas import AuditList
from registry.core import audit
from registry.http.deps import CurrentActor, PathId, client_address


class AuthController(Controller):
    path = "/api/auth"
    tags = ["auth"]

    @post(
        "/token",
        operation_id="issueToken",
        summary="Sign in: username and password → token",
        status_code=200,
    )
    async def token(self, request: Request, data: JSONBody[TokenRequest]) -> TokenResponse:
        """Repeated failures for one username or address are throttled (429, Retry-After)."""
        return await auth.issue_token(data, client_address(request))

    @get("/me", operation_id="whoAmI", summary="The signed-in actor")
    async def me(self, actor: CurrentActor) -> Me:
        return await auth.whoami(actor)


class AccountController(Controller):
    path = "/api/users"
    tags = ["accounts"]

    @get("/", operation_id="listUsers", summary="Accounts (municipal)")
    async def list_users(
        self,
        actor: CurrentActor,
        role: FromQuery[str | None] = None,
        scope_filter: Annotated[str | None, QueryParameter(name="scope")] = None,
        active: FromQuery[bool | None] = None,
        limit: FromQuery[int] = 50,
        offset: FromQuery[int] = 0,
    ) -> AccountList:
        return await accounts.list_accounts(actor, role, scope_filter, active, limit, offset)

    @post("/", operation_id="createUser", summary="Create a planner or agent (municipal)")
    async def create_user(self, actor: CurrentActor, data: JSONBody[AccountCreate]) -> Account:
        return await accounts.create_account(actor, data)

    @get("/{account_id:int}", operation_id="getUser", summary="One account (municipal)")
    async def get_user(self, actor: CurrentActor, account_id: PathId) -> Account:
        return await accounts.get_account(actor, account_id)

    @patch(
        "/{account_id:int}",
        operation_id="updateUser",
        summary="Disable/enable, rename, or reset the password (municipal)",
    )
    async def update_user(
        self, actor: CurrentActor, account_id: PathId, data: JSONBody[AccountUpdate]
    ) -> Account:
        return await accounts.update_account(actor, account_id, data)


class AuditController(Controller):
    path = "/api/audit"
    tags = ["audit"]

    @get("/", operation_id="listAudit", summary="Append-only audit entries, newest first")
    async def list_audit(
        self,
        actor: CurrentActor,
        entity: FromQuery[str | None] = None,
        entity_id: FromQuery[str | None] = None,
        by: Annotated[
            str | None, QueryParameter(name="actor", description="actor username")
        ] = None,
        action: FromQuery[str | None] = None,
        county: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        limit: FromQuery[int] = 50,
        offset: FromQuery[int] = 0,
    ) -> AuditList:
        """Filters: entity (site, account, plan, case…), entity_id, actor (username), action,
        county, since/until (ISO timestamps)."""
        result = await audit.list_entries(
            actor, entity, entity_id, by, action, county, since, until, limit, offset
        )
        return msgspec.convert(result, AuditList)
