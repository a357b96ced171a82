"""Division changes over time: what a newer official list changes in the register.

A list is compared with the register's divisions of the same counties that exist now. Codes are
the identity; a change is one of:

- ``new``: a code the register does not have;
- ``renamed``: the same code, another name (and possibly another township: both are said);
- ``moved``: the same place (the same name) under a new code in another township — the old
  code is abolished, the new one established, linked as predecessor and successor;
- ``merged`` (合村并组): several old codes of one township end and one new unit takes their
  place — a unit new in the list whose name shares characters with each of them (李家村 +
  王桥村 → 李桥村), or, when no name is shared and one village is all the township gains
  for several it lost, that village; linked;
- ``abolished``: a code the list no longer has and no rule above explains.

The rules prefer saying "abolished" and "new" to guessing a link: a merge is only claimed when
each predecessor shares a distinctive character with the successor (common place words such as
家, 新, 大, 村 do not count). A person reads the dry-run report before anything is applied.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

CHANGES = ("new", "renamed", "moved", "merged", "abolished")
CHANGE_LABELS_ZH = {
    "new": "新增",
    "renamed": "更名",
    "moved": "迁移（新代码）",
    "merged": "合并",
    "abolished": "撤销",
}
# Characters too common in village names to show that two names are the same place.
_COMMON = set("家新大小上下中东西南北村社区头口坪冲湾山水田里屯寨塘江河")


@dataclass(frozen=True)
class Unit:
    """A division of a list or of the register."""

    code: str
    name: str
    parent: str
    county: str
    kind: str = ""
    official_name: str = ""


@dataclass
class Change:
    """One change the list makes.

    Attributes:
        change: one of :data:`CHANGES`.
        code: the division concerned (the new one for ``moved`` and ``merged``).
        before: the register's unit (``renamed``, ``abolished``), if any.
        after: the list's unit (``new``, ``renamed``, ``moved``, ``merged``), if any.
        predecessors: the codes that end in this unit (``moved``, ``merged``).
    """

    change: str
    code: str
    before: Unit | None = None
    after: Unit | None = None
    predecessors: list[str] = field(default_factory=list)


def _distinctive(name: str) -> set[str]:
    return {c for c in name if c not in _COMMON}


def diff(register: Sequence[Unit], incoming: Sequence[Unit]) -> list[Change]:
    """The changes that take ``register`` (units existing now) to ``incoming`` (the list)."""
    old = {u.code: u for u in register}
    new = {u.code: u for u in incoming}
    changes: list[Change] = []
    for code in sorted(old.keys() & new.keys()):
        before, after = old[code], new[code]
        if (before.name, before.parent) != (after.name, after.parent):
            changes.append(Change("renamed", code, before, after))
    gone = [old[c] for c in sorted(old.keys() - new.keys())]
    born = [new[c] for c in sorted(new.keys() - old.keys())]

    linked: dict[str, list[Unit]] = defaultdict(list)
    unexplained: list[Unit] = []
    for g in gone:
        same_place = [b for b in born if b.county == g.county and b.name == g.name]
        if len(same_place) == 1:
            linked[same_place[0].code].append(g)
        else:
            unexplained.append(g)
    # Merges: the gone of a township, and what the township gained.
    gained: dict[str, list[Unit]] = defaultdict(list)
    for b in born:
        if b.code not in linked:
            gained[b.parent].append(b)
    abolished: list[Unit] = []
    by_township: dict[str, list[Unit]] = defaultdict(list)
    for g in unexplained:
        by_township[g.parent].append(g)
    for township, olds in by_township.items():
        candidates = gained.get(township, [])
        claims: dict[str, list[Unit]] = defaultdict(list)
        for g in olds:
            sharing = [b for b in candidates if _distinctive(b.name) & _distinctive(g.name)]
            if len(sharing) == 1:
                claims[sharing[0].code].append(g)
        if not claims and len(candidates) == 1 and len(olds) >= 2:
            # Nothing shares a name, but the township lost several and gained one.
            claims[candidates[0].code] = list(olds)
        claimed = {g.code for preds in claims.values() for g in preds}
        abolished.extend(g for g in olds if g.code not in claimed)
        for successor, preds in claims.items():
            if len(preds) >= 2:
                linked[successor].extend(preds)
            else:
                abolished.extend(preds)
    for b in born:
        preds = linked.get(b.code, [])
        if not preds:
            changes.append(Change("new", b.code, None, b))
        elif len(preds) == 1:
            changes.append(Change("moved", b.code, preds[0], b, [preds[0].code]))
        else:
            changes.append(Change("merged", b.code, None, b, sorted(p.code for p in preds)))
    changes.extend(Change("abolished", g.code, g) for g in sorted(abolished, key=lambda u: u.code))
    order = {name: i for i, name in enumerate(CHANGES)}
    return sorted(changes, key=lambda c: (order[c.change], c.code))


def summary(changes: Sequence[Change]) -> dict[str, int]:
    """How many changes of each kind."""
    counts = dict.fromkeys(CHANGES, 0)
    for c in changes:
        counts[c.change] += 1
    return counts
