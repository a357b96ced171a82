"""Account and token bodies."""

from __future__ import annotations

from datetime import datetime

import msgspec


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    password: str


class TokenResponse(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int
    role: str
    scope: str
    username: str
    display_name: str


class Account(msgspec.Struct):
    """An account as the municipal centre sees it (never the password hash)."""

    id: int
    username: str
    display_name: str
    phone: str | None
    role: str
    scope: str
    active: bool
    is_demo: bool
    created_at: datetime
    updated_at: datetime
    scope_name: str = ""
    """The scope in words: an agent's point by its sign (with its township), a planner's
    county, the centre's area (怀化市); empty when it no longer resolves."""


class AccountList(msgspec.Struct):
    items: list[Account]
    total: int
    limit: int
    offset: int


class AccountCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Create an account: a planner for a county (scope: county code) or an agent for a point
    (scope: the agency-point site id)."""

    username: str
    password: str
    role: str
    scope: str
    display_name: str = ""
    phone: str | None = None


class AccountUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Change an account: display name, phone, active flag, or a new password."""

    display_name: str | msgspec.UnsetType = msgspec.UNSET
    phone: str | msgspec.UnsetType | None = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    password: str | msgspec.UnsetType = msgspec.UNSET


class Me(msgspec.Struct):
    username: str
    role: str | None
    scope: str
    display_name: str = ""
