"""Who may touch what: roles, scopes and the pure checks services apply to every request.

- ``municipal`` (the centre): scope is the deployment's root (``REGISTRY_ROOT``: a city, a
  province or the nation) or a city or province within it; reads everything of its scope,
  approves plans, manages accounts, writes any site of its scope.
- ``county_planner``: scope is one county code; writes the sites and plans of that county and
  reads (masked) its cases.
- ``village_agent``: scope is one agency-point site id; logs that point's cases only.
"""

from __future__ import annotations

import msgspec

from registry.core.codes import covers, level_of_code, normalise_code
from registry.core.errors import Forbidden, RuleViolation, Unauthorized

ROLES = ("municipal", "county_planner", "village_agent")
ROLE_LABELS_ZH = {
    "municipal": "市政务服务中心",
    "county_planner": "县级规划员",
    "village_agent": "村代办员",
}


class Actor(msgspec.Struct, frozen=True):
    """The person behind a request (``role`` None for an anonymous reader)."""

    username: str = "anonymous"
    role: str | None = None
    scope: str = ""
    account_id: int | None = None

    @property
    def anonymous(self) -> bool:
        return self.role is None

    @property
    def is_municipal(self) -> bool:
        return self.role == "municipal"

    @property
    def is_planner(self) -> bool:
        return self.role == "county_planner"

    @property
    def is_agent(self) -> bool:
        return self.role == "village_agent"


ANONYMOUS = Actor()
SYSTEM = Actor(username="system", role="municipal", scope="")


def normalise_scope(role: str, scope: str) -> str:
    """Validate a scope against its role and return its canonical form.

    Raises:
        RuleViolation: ``invalid_role`` or ``invalid_scope`` (e.g. a planner with a village
            scope, an agent with a county scope).
    """
    if role not in ROLES:
        raise RuleViolation(
            "invalid_role",
            f"未知角色：{role}",
            f"unknown role {role!r}; one of {', '.join(ROLES)}",
            "role",
        )
    scope = (scope or "").strip()
    if role == "village_agent":
        if not (scope.isascii() and scope.isdigit()) or len(scope) > 12 or int(scope) <= 0:
            raise RuleViolation(
                "invalid_scope",
                "代办员的范围应为代办点编号（站点 id）",
                "a village agent's scope is the id of one agency-point site",
                "scope",
            )
        return str(int(scope))
    try:
        code = normalise_code(scope, field="scope")
    except RuleViolation as exc:
        raise RuleViolation("invalid_scope", exc.zh, exc.en, "scope") from exc
    # A planner's county may be a city without counties (东莞: townships under the city).
    wanted = ("nation", "province", "city") if role == "municipal" else ("county", "city")
    if level_of_code(code) not in wanted:
        zh = "全国、省或市级" if role == "municipal" else "县级"
        raise RuleViolation(
            "invalid_scope",
            f"{ROLE_LABELS_ZH[role]}的范围应为{zh}区划代码",
            f"the scope of a {role} must be a {' or '.join(wanted)} code, got a "
            f"{level_of_code(code)} code",
            "scope",
        )
    return code


def _deny_anonymous(actor: Actor) -> None:
    if actor.anonymous:
        raise Unauthorized()


def require_role(actor: Actor, *roles: str) -> None:
    """The actor must be signed in with one of ``roles``."""
    _deny_anonymous(actor)
    if actor.role not in roles:
        raise Forbidden(
            "wrong_role",
            f"当前角色（{ROLE_LABELS_ZH.get(actor.role or '', actor.role)}）无权执行此操作",
            f"the role {actor.role} may not do this",
        )


def within_scope(actor: Actor, code: str) -> bool:
    """Whether a municipal actor's scope (city, province or nation) contains ``code``."""
    return bool(actor.scope) and covers(actor.scope, code)


def require_county(actor: Actor, county_code: str) -> None:
    """Write access to a county's register: its planners and the municipal centre."""
    require_role(actor, "municipal", "county_planner")
    if actor.is_municipal and within_scope(actor, county_code):
        return
    if actor.is_planner and actor.scope == county_code:
        return
    raise Forbidden(
        "out_of_scope",
        "无权操作其他县(市、区)的数据",
        f"{actor.username} may not act on county {county_code}",
    )


def can_read_county(actor: Actor, county_code: str) -> bool:
    """Non-public reads of a county (masked cases, audit): its planners and the city."""
    if actor.is_municipal:
        return within_scope(actor, county_code)
    return actor.is_planner and actor.scope == county_code
