"""Accounts: created, listed, disabled and reset by the municipal centre (or the CLI)."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from msgspec import UNSET

from registry.accounts import tokens
from registry.accounts.passwords import check_password
from registry.accounts.schemas import Account, AccountCreate, AccountList, AccountUpdate
from registry.accounts.tokens import hash_password, username_key
from registry.audit import service as audit
from registry.core import clock
from registry.core.access import Actor, normalise_scope, require_role
from registry.core.codes import covers, level_of_code
from registry.core.errors import Conflict, NotFound, RuleViolation
from registry.core.params import one_of, page
from registry.core.settings import get_settings
from registry.core.text import clean_text
from registry.db.engines import integrity_kind
from registry.db.transactions import write_transaction
from registry.divisions.rules import POINT_KINDS
from registry.tables import Account as AccountRow
from registry.tables import Division, Site

_USERNAME = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{3,32}$")
COLUMNS = (
    AccountRow.id,
    AccountRow.username,
    AccountRow.display_name,
    AccountRow.phone,
    AccountRow.role,
    AccountRow.scope,
    AccountRow.active,
    AccountRow.is_demo,
    AccountRow.created_at,
    AccountRow.updated_at,
)


async def actor_from_authorization(header: str | None) -> Actor:
    """The actor behind a request's ``Authorization`` header (for the HTTP layer)."""
    return await tokens.actor_from_authorization(header)


def _check_username(username: str) -> str:
    name = clean_text(username, "username", max_length=32, required=True) or ""
    if not _USERNAME.match(name):
        raise RuleViolation(
            "invalid_username",
            "用户名须为 3–32 位字母、数字、汉字或 . _ -",
            "a username is 3–32 letters, digits, Chinese characters or . _ -",
            "username",
        )
    return name


async def _check_scope_exists(role: str, scope: str) -> str | None:
    """The county the scope belongs to (for audit), after checking the scope exists."""
    if role == "village_agent":
        site = (
            await Site.select(Site.id, Site.kind, Site.status, Site.county_code)
            .where(Site.id == int(scope))
            .first()
        )
        if site is None or site["kind"] not in POINT_KINDS:
            raise RuleViolation(
                "invalid_scope",
                f"代办点 {scope} 不存在（代办员的范围须为村/社区代办点）",
                f"agency point {scope} does not exist (an agent's scope is a village or "
                "community agency point)",
                "scope",
            )
        if site["status"] == "closed":
            raise RuleViolation(
                "invalid_scope",
                f"代办点 {scope} 已撤销",
                f"agency point {scope} is closed",
                "scope",
            )
        return site["county_code"]
    root = get_settings().root_code
    if not covers(root, scope):
        raise RuleViolation(
            "invalid_scope",
            f"区划 {scope} 不在本系统所辖范围内",
            f"division {scope} lies outside the registry's root {root}",
            "scope",
        )
    if role == "municipal" and scope == root and level_of_code(root) == "nation":
        return None  # the nation is the root, not a division of the register
    row = await Division.select(Division.code, Division.level).where(Division.code == scope).first()
    if row is None or row["level"] != level_of_code(scope):
        raise RuleViolation(
            "invalid_scope", f"区划 {scope} 不存在", f"division {scope} does not exist", "scope"
        )
    # A planner's unit is a county, or a city whose townships hang directly under it.
    if (
        role == "county_planner"
        and row["level"] == "city"
        and not await Division.exists().where(
            (Division.county_code == scope) & (Division.level == "township")
        )
    ):
        raise RuleViolation(
            "invalid_scope",
            "县级规划员的范围应为县级区划代码",
            "the scope of a county planner must be a county code",
            "scope",
        )
    return scope if role == "county_planner" else None


def _to_account(row: dict[str, Any], names: dict[tuple[str, str], str] | None = None) -> Account:
    name = (names or {}).get((row["role"], row["scope"]), "")
    return msgspec.convert({**row, "scope_name": name}, Account)


async def scope_names(rows: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """The scopes of accounts in words, by (role, scope), in two queries whatever the count:
    an agent's point by its sign name (its standard name while none is reported) after its
    township ("黄金坳镇 · 黄金坳村便民服务代办点"), a division by its name."""
    points = {
        int(r["scope"]) for r in rows if r["role"] == "village_agent" and r["scope"].isdigit()
    }
    codes = {r["scope"] for r in rows if r["role"] != "village_agent"}
    sites = (
        await Site.select(Site.id, Site.standard_name, Site.signage_name, Site.township_code).where(
            Site.id.is_in(list(points))
        )
        if points
        else []
    )
    codes |= {s["township_code"] for s in sites}
    divisions = (
        await Division.select(Division.code, Division.name).where(Division.code.is_in(list(codes)))
        if codes
        else []
    )
    division_name = {d["code"]: d["name"] for d in divisions}
    names: dict[tuple[str, str], str] = {}
    for s in sites:
        sign = s["signage_name"] or s["standard_name"]
        township = division_name.get(s["township_code"])
        names[("village_agent", str(s["id"]))] = f"{township} · {sign}" if township else sign
    for r in rows:
        if r["role"] != "village_agent" and r["scope"] in division_name:
            names[(r["role"], r["scope"])] = division_name[r["scope"]]
    return names


async def create_account(actor: Actor, data: AccountCreate, is_demo: bool = False) -> Account:
    """Create an account (municipal actors only; the CLI acts as the system)."""
    require_role(actor, "municipal")
    username = _check_username(data.username)
    scope = normalise_scope(data.role, data.scope)
    if data.role == "municipal" and actor.scope and not covers(actor.scope, scope):
        raise RuleViolation(
            "invalid_scope",
            "只能在本中心所辖范围内创建账号",
            "accounts can only be created within your own scope",
            "scope",
        )
    if data.role == "county_planner" and actor.scope and not covers(actor.scope, scope):
        raise RuleViolation(
            "invalid_scope",
            "只能为本中心所辖的县(市、区)创建规划员",
            "planners can only be created for counties within your scope",
            "scope",
        )
    check_password(data.password, username)
    display = clean_text(data.display_name, "display_name", max_length=100) or ""
    phone = clean_text(data.phone, "phone", max_length=30)
    county = await _check_scope_exists(data.role, scope)
    password_hash = await hash_password(data.password)
    key = username_key(username)
    now = clock.now()
    taken = Conflict(
        "username_taken",
        f"用户名 {username} 已被使用（不区分大小写）",
        f"the username {username} is taken (case-insensitive)",
    )
    try:
        async with write_transaction():
            if await AccountRow.exists().where(AccountRow.username_key == key):
                raise taken
            row = AccountRow(
                username=username,
                username_key=key,
                display_name=display,
                phone=phone,
                role=data.role,
                scope=scope,
                active=True,
                password_hash=password_hash,
                token_version=1,
                is_demo=is_demo,
                created_at=now,
                updated_at=now,
            )
            await row.save()
            await audit.record(
                actor,
                "create",
                "account",
                row.id,
                audit.diff(
                    {},
                    {
                        "username": username,
                        "role": data.role,
                        "scope": scope,
                        "display_name": display,
                        "phone": phone,
                        "active": True,
                    },
                ),
                county_code=county,
            )
    except Exception as exc:
        # Taken by a concurrent request between the check and the insert (the UNIQUE
        # username_key refuses the second): the same answer as the check's.
        if integrity_kind(exc) != "unique":
            raise
        raise taken from None
    return await get_account(actor, row.id)


async def get_account(actor: Actor, account_id: int) -> Account:
    require_role(actor, "municipal")
    row = await AccountRow.select(*COLUMNS).where(AccountRow.id == account_id).first()
    if row is None:
        raise NotFound(
            "account_not_found", f"账号 {account_id} 不存在", f"account {account_id} not found"
        )
    return _to_account(row, await scope_names([row]))


async def list_accounts(
    actor: Actor,
    role: str | None,
    scope: str | None,
    active: bool | None,
    limit: int | None,
    offset: int | None,
) -> AccountList:
    require_role(actor, "municipal")
    limit, offset = page(limit, offset)
    role = one_of(role, ("municipal", "county_planner", "village_agent"), "role")
    query = AccountRow.select(*COLUMNS).order_by(AccountRow.id)
    count = AccountRow.count()
    clauses = []
    if role:
        clauses.append(AccountRow.role == role)
    if scope:
        clauses.append(AccountRow.scope == scope.strip())
    if active is not None:
        clauses.append(AccountRow.active == active)
    for clause in clauses:
        query = query.where(clause)
        count = count.where(clause)
    rows = await query.limit(limit).offset(offset)
    names = await scope_names(rows)
    return AccountList(
        items=[_to_account(r, names) for r in rows], total=await count, limit=limit, offset=offset
    )


async def update_account(actor: Actor, account_id: int, data: AccountUpdate) -> Account:
    """Change display name, phone, active flag or password; disabling revokes tokens."""
    require_role(actor, "municipal")
    before = await AccountRow.select().where(AccountRow.id == account_id).first()
    if before is None:
        raise NotFound(
            "account_not_found", f"账号 {account_id} 不存在", f"account {account_id} not found"
        )
    changes: dict[str, Any] = {}
    if data.display_name is not UNSET:
        changes["display_name"] = (
            clean_text(data.display_name, "display_name", max_length=100) or ""
        )
    if data.phone is not UNSET:
        changes["phone"] = clean_text(data.phone, "phone", max_length=30)
    if data.active is not UNSET:
        if not data.active and actor.account_id == account_id:
            raise RuleViolation(
                "cannot_disable_self",
                "不能停用自己的账号",
                "you cannot disable your own account",
                "active",
            )
        changes["active"] = data.active
    values: dict[Any, Any] = {getattr(AccountRow, k): v for k, v in changes.items()}
    revoke = (data.active is False and before["active"]) or data.password is not UNSET
    if data.password is not UNSET:
        check_password(data.password, before["username"])
        values[AccountRow.password_hash] = await hash_password(data.password)
    if revoke:
        values[AccountRow.token_version] = before["token_version"] + 1
    audited = audit.diff(before, changes)
    if data.password is not UNSET:
        audited.append({"field": "password", "before": "***", "after": "***"})
    if values:
        values[AccountRow.updated_at] = clock.now()
        async with write_transaction():
            await AccountRow.update(values).where(AccountRow.id == account_id)
            await audit.record(
                actor,
                "update",
                "account",
                account_id,
                audited,
                county_code=before["scope"] if before["role"] == "county_planner" else None,
            )
    return await get_account(actor, account_id)


async def set_password_by_username(actor: Actor, username: str, password: str) -> None:
    """CLI password reset."""
    row = (
        await AccountRow.select(AccountRow.id)
        .where(AccountRow.username_key == username_key(username))
        .first()
    )
    if row is None:
        raise NotFound(
            "account_not_found", f"账号 {username} 不存在", f"account {username} not found"
        )
    await update_account(actor, row["id"], AccountUpdate(password=password))


async def set_active_by_username(actor: Actor, username: str, active: bool) -> Account:
    row = (
        await AccountRow.select(AccountRow.id)
        .where(AccountRow.username_key == username_key(username))
        .first()
    )
    if row is None:
        raise NotFound(
            "account_not_found", f"账号 {username} 不存在", f"account {username} not found"
        )
    return await update_account(actor, row["id"], AccountUpdate(active=active))
