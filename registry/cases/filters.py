"""Which cases a query covers: the actor's scope and the filters, built in one place.

:func:`readable` turns an actor and their :class:`CaseFilters` into :class:`Where`, a list of
conditions on ``service_case`` that renders both as Piccolo where-clauses (lists and exports)
and as an SQL fragment with its arguments (the statistics' ``GROUP BY`` statements), so every
read of cases covers exactly the same rows.

Scope: an agent reads their own point's cases, a planner their county's, the city all of its
own. Asking explicitly for another point's or county's cases is refused (403), never silently
narrowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import reduce
from typing import Any

from registry.cases.rules import timeline as rules
from registry.core.access import Actor, require_role
from registry.core.errors import Forbidden, RuleViolation
from registry.core.params import code_or_none, one_of
from registry.tables import Case as CaseRow

MAX_ID = 2**31 - 1
# Comparison operators of a Test: its SQL, and the Piccolo clause of a column and a value.
_OPS: dict[str, tuple[str, Any]] = {
    "=": ("=", lambda col, v: col == v),
    "<": ("<", lambda col, v: col < v),
    "<=": ("<=", lambda col, v: col <= v),
    ">=": (">=", lambda col, v: col >= v),
    "like": ("LIKE", lambda col, v: col.like(v)),
    "in": ("IN", lambda col, v: col.is_in(list(v))),
    "not in": ("NOT IN", lambda col, v: col.not_in(list(v))),
}


@dataclass(frozen=True)
class Test:
    """One column of ``service_case`` compared with a value (a tuple for ``in``/``not in``)."""

    column: str
    op: str
    value: Any

    def clause(self) -> Any:
        return _OPS[self.op][1](getattr(CaseRow, self.column), self.value)

    def sql(self) -> tuple[str, list[Any]]:
        op = _OPS[self.op][0]
        if self.op in ("in", "not in"):
            values = list(self.value)
            return f"{self.column} {op} ({', '.join('{}' for _ in values)})", values
        return f"{self.column} {op} {{}}", [self.value]


@dataclass(frozen=True)
class AnyOf:
    """At least one of the tests holds."""

    tests: tuple[Test, ...]

    def clause(self) -> Any:
        return reduce(lambda a, b: a | b, (t.clause() for t in self.tests))

    def sql(self) -> tuple[str, list[Any]]:
        parts = [t.sql() for t in self.tests]
        return "(" + " OR ".join(p for p, _ in parts) + ")", [a for _, args in parts for a in args]


Condition = Test | AnyOf


@dataclass(frozen=True)
class Where:
    """Conditions that all hold (AND)."""

    conditions: tuple[Condition, ...]

    def on(self, query: Any) -> Any:
        """``query`` (a Piccolo select or count of cases) narrowed to these conditions."""
        for condition in self.conditions:
            query = query.where(condition.clause())
        return query

    def sql(self) -> tuple[str, list[Any]]:
        """The conditions as one SQL boolean expression (``{}`` placeholders, as Piccolo's
        ``raw`` takes them) and its arguments, in order."""
        parts = [c.sql() for c in self.conditions]
        text = " AND ".join(p for p, _ in parts) or "1 = 1"
        return text, [a for _, args in parts for a in args]


def scope(actor: Actor) -> tuple[Condition, ...]:
    """The cases an actor may read: an agent their point's, a planner their county's, the city
    all of its own."""
    if actor.is_agent:
        return (Test("site", "=", int(actor.scope)),)
    if actor.is_planner:
        return (Test("county_code", "=", actor.scope),)
    return (Test("county_code", "like", actor.scope[:4] + "%"),)


@dataclass
class CaseFilters:
    """The filters of a list, export or statistics request (already checked)."""

    site: int | None = None
    county: str | None = None
    township: str | None = None
    state: str | None = None
    overdue: bool | None = None
    matter: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def parse(
        cls,
        site: int | None = None,
        county: str | None = None,
        township: str | None = None,
        state: str | None = None,
        overdue: bool | None = None,
        matter: str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> CaseFilters:
        if site is not None and not 1 <= site <= MAX_ID:
            raise RuleViolation(
                "invalid_filter", "site 取值无效", "site must be a positive site id", "site"
            )
        if date_from and date_to and date_to < date_from:
            raise RuleViolation(
                "invalid_date_range", "结束日期早于开始日期", "`to` is before `from`", "to"
            )
        return cls(
            site=site,
            county=code_or_none(county, "county"),
            township=code_or_none(township, "township"),
            state=one_of(state, rules.STATES, "state"),
            overdue=overdue,
            matter=matter.strip().upper() if matter else None,
            date_from=date_from,
            date_to=date_to,
        )

    def check_scope(self, actor: Actor) -> None:
        """Asking explicitly for another point's or county's cases is refused (403)."""
        if actor.is_agent and self.site is not None and str(self.site) != actor.scope:
            raise Forbidden(
                "out_of_scope",
                "代办员只能查看本代办点的事项",
                "an agent can only read their own point's cases",
            )
        if actor.is_planner and self.county is not None and self.county != actor.scope:
            raise Forbidden(
                "out_of_scope",
                "规划员只能查看本县的事项",
                "a planner can only read their own county's cases",
            )
        if actor.is_planner and self.township is not None and self.township[:6] != actor.scope[:6]:
            raise Forbidden(
                "out_of_scope",
                "规划员只能查看本县的事项",
                "a planner can only read their own county's cases",
            )

    def conditions(self, today: date) -> tuple[Condition, ...]:
        """The filters as conditions (``overdue``: open past the due date on ``today``)."""
        found: list[Condition] = []
        if self.site is not None:
            found.append(Test("site", "=", self.site))
        if self.county:
            found.append(Test("county_code", "=", self.county))
        if self.township:
            found.append(Test("township_code", "=", self.township))
        if self.state:
            found.append(Test("state", "=", self.state))
        if self.matter:
            found.append(Test("matter", "=", self.matter))
        if self.date_from:
            found.append(Test("received_on", ">=", self.date_from))
        if self.date_to:
            found.append(Test("received_on", "<=", self.date_to))
        if self.overdue is True:
            found.append(Test("state", "in", rules.OPEN_STATES))
            found.append(Test("due_on", "<", today))
        elif self.overdue is False:
            found.append(
                AnyOf((Test("state", "not in", rules.OPEN_STATES), Test("due_on", ">=", today)))
            )
        return tuple(found)


def readable(actor: Actor, filters: CaseFilters, today: date) -> Where:
    """The cases ``actor`` may read that ``filters`` select (401/403 when they may not ask)."""
    require_role(actor, "municipal", "county_planner", "village_agent")
    filters.check_scope(actor)
    return Where((*scope(actor), *filters.conditions(today)))
