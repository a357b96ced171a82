"""Sign-in, the current actor and accounts (municipal)."""

from __future__ import annotations

from typing import Annotated

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
        """Failures are throttled per (username, client address) with growing waits, and per
        address across usernames (429 `login_throttled`, the wait in minutes in the message,
        Retry-After in seconds); sign-ins are also limited per address (429
        `anonymous_rate_limited`). No token is needed or checked."""
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
