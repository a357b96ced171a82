"""Names as people write them: the place a committee serves, from the committee's official title.

The statistical register (NBS 统计用区划代码) names about half of the villages by their
committee's title — 仰溪铺村村委会, 石头村民委员会, 麻溪铺社区居委会, 城关居委会 — and the
townships sometimes by their office — 城中街道办事处, 黄金坳镇人民政府. The registry names a
division by its place (仰溪铺村, 石头村, 麻溪铺社区, 城关社区, 城中街道, 黄金坳镇) and keeps the
title as ``official_name``; sign names are built from the place name.

The rules, in order (each documented in docs/reference/divisions.md):

1. Trailing notes in brackets are not part of the name (``龙门街居委会（社区）`` → 龙门街居委会);
   a doubled ending from a clerk's typo is undone (``吉家冲村村委会会`` → 吉家冲村村委会).
2. A villagers' committee (村民委员会, 村委会, 村委, 村民委员 …) serves a village: the place is
   the stem + 村, the 村 not doubled (仰溪铺村村委会 → 仰溪铺村, 石头村民委员会 → 石头村).
3. A residents' committee (社区居民委员会, 社区居委会, 居民委员会, 居委会 …) serves a community:
   the place is the stem + 社区 (麻溪铺社区居委会 → 麻溪铺社区, 城关居委会 → 城关社区).
4. Inner Mongolia's 嘎查 (a pastoral village) keeps its name without the committee (嘎查委员会).
5. A township's office (街道办事处, 镇人民政府, 乡人民政府) is dropped (城中街道办事处 → 城中街道).
6. Anything else keeps its name, with its kind from the name (:data:`EXCEPTION_KINDS`): statistical
   units such as 泸阳林场生活区 (a forestry farm's living quarters) are communities, farm teams
   (队, 连队) villages. These are reported as exceptions, not changed.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# Committee titles of a village-level unit, longest first; the group is the stem.
_VILLAGE_TITLES = re.compile(
    r"^(?P<stem>.+?)(?:村村民委员会|村民委员会|村委员会|村民委员|村民委会|村委会|村委)$"
)
_COMMUNITY_TITLES = re.compile(
    r"^(?P<stem>.+?)(?:社区居民管理委员会|社区居民委员会|社区居民委员|社区居民委会|社区居委会|"
    r"社区居委|社区委员会|居民委员会|居民委员|居委会)$"
)
_GACHA_TITLE = re.compile(r"^(?P<stem>.+?嘎查)(?:村)?(?:委员会|委会)$")
_TOWNSHIP_OFFICE = re.compile(r"^(?P<stem>.+?(?:街道|镇|乡|苏木))(?:办事处|人民政府)$")
_BRACKETS = re.compile(r"[（(][^（）()]*[）)]$")
_DOUBLED = re.compile(r"(会)会$|(委)委(会)$")

# Names that are not a committee's title and not 村/社区: their kind, by ending.
EXCEPTION_KINDS: tuple[tuple[str, str], ...] = (
    ("生活区", "社区"),
    ("居民区", "社区"),
    ("小区", "社区"),
    ("管理区", "社区"),
    ("嘎查", "村"),
    ("连队", "村"),
    ("队", "村"),
)


class PlaceName(NamedTuple):
    """A division's name as people write it, its kind, and how it was found.

    Attributes:
        name: the place (仰溪铺村, 麻溪铺社区 …).
        kind: 村 or 社区 for a village-level unit; for a township 乡, 镇 or 街道.
        rule: which rule gave it: ``place`` (already a place name), ``villagers_committee``,
            ``residents_committee``, ``gacha``, ``township_office`` or ``exception``.
    """

    name: str
    kind: str
    rule: str


def _tidy(official: str) -> str:
    name = official.strip()
    while _BRACKETS.search(name) and len(_BRACKETS.sub("", name)) >= 2:
        name = _BRACKETS.sub("", name).strip()
    return _DOUBLED.sub(lambda m: "".join(g for g in m.groups() if g), name)


def village_place(official: str) -> PlaceName:
    """The place and kind (村/社区) of a village-level unit from its official name."""
    name = _tidy(official)
    if name.endswith("社区"):
        return PlaceName(name, "社区", "place")
    if name.endswith("村") and not name.endswith("委村"):
        return PlaceName(name, "村", "place")
    if name.endswith("嘎查"):
        return PlaceName(name, "村", "place")
    if match := _GACHA_TITLE.match(name):
        return PlaceName(match["stem"], "村", "gacha")
    if match := _COMMUNITY_TITLES.match(name):
        stem = match["stem"].removesuffix("社区")
        return PlaceName(stem + "社区", "社区", "residents_committee")
    if match := _VILLAGE_TITLES.match(name):
        stem = match["stem"]
        return PlaceName(stem if stem.endswith("村") else stem + "村", "村", "villagers_committee")
    for ending, kind in EXCEPTION_KINDS:
        if name.endswith(ending):
            return PlaceName(name, kind, "exception")
    return PlaceName(name, "村", "exception")


def township_place(official: str) -> str:
    """A township-level unit's place name: its office's title dropped."""
    name = _tidy(official)
    match = _TOWNSHIP_OFFICE.match(name)
    return match["stem"] if match else name
