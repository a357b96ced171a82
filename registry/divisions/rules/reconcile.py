"""Two code systems, reconciled: the statistical register's townships against the register's.

The registry's townships carry the civil-affairs codes of the national place-name database
(民政 国家地名信息库: 黄金坳镇 431202102000); the statistical register (国家统计局 统计用区划代码)
numbers the same townships its own way (黄金坳镇 431202101), and its villages' codes start with
that statistical township code. Every statistical township is matched to one division of the
register by the first rule that applies, within its county:

- ``matched``: the same name and the same code;
- ``aliased``: the same name, another code: the statistical code becomes an alias of the
  division (every official code that names a division resolves to it);
- ``renamed``: the same place under another name — an ethnic designation left out (二酉乡 /
  二酉苗族乡), a township that became a street (盈口乡 / 盈口街道: the same stem), or a variant
  character of :data:`VARIANT_CHARACTERS` (晃洲镇 / 晃州镇), or the same code with a name
  sharing most characters (人民街道 / 人民路街道; a rare character written another way: 斫曹乡 /
  斫𥕢乡); aliased too, the register's name (civil affairs, current) kept;
- ``moved``: a unit the statistical register files under another county-level unit than civil
  affairs does, found by name in the other county (怀化市洪江管理区's six units, filed by civil
  affairs under 洪江市): the statistical county is the one the register follows (it has the
  villages), so the division moves there under the statistical code, the civil-affairs code
  its alias;
- ``statistical``: a unit civil affairs does not list — development zones, farms, forestry
  farms, scenic areas (统计局 codes 4xx/5xx, "类似乡级单位"): added as a township-level unit of
  kind 类似乡级单位 that carries villages but no service centre and is not counted among the
  townships;
- ``unmatched``: none of these: added under its statistical code and listed for a person to
  check.

Civil-affairs townships no statistical unit matches are reported as ``register_only``
(abolished ones, marked （撤销）, are expected there).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from registry.divisions.rules import STATISTICAL_TOWNSHIP
from registry.divisions.rules.names import township_place

# Characters that registers write interchangeably in place names (a documented, short list).
VARIANT_CHARACTERS: dict[str, str] = {"洲": "州", "垄": "垅", "巖": "岩", "邱": "丘", "筸": "竿"}
STATISTICAL_KIND = STATISTICAL_TOWNSHIP
# The 55 ethnic minorities of the official list: a 民族乡 (二酉苗族乡) may be written without.
ETHNIC_GROUPS = (
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
)
_ETHNIC = re.compile(
    "(?:"
    + "|".join(sorted((g + "族" for g in ETHNIC_GROUPS), key=len, reverse=True))
    + ")+(?=(?:乡|镇|苏木)$)"
)
_KIND_ENDINGS = ("街道", "苏木", "镇", "乡")
_STATISTICAL_NAMES = (
    "开发区",
    "工业园",
    "园区",
    "农场",
    "林场",
    "茶场",
    "园艺场",
    "度假区",
    "风景区",
    "管理区",
    "管理处",
    "管理局",
    "监狱",
    "科技园",
    "高科技园",
)

RULES = ("matched", "aliased", "renamed", "moved", "statistical", "unmatched")
RULE_LABELS_ZH = {
    "matched": "一致",
    "aliased": "代码不同（登记别名）",
    "renamed": "名称不同（同一地方）",
    "moved": "归属县级单位不同",
    "statistical": "统计用单位（类似乡级单位）",
    "unmatched": "未能匹配（新增，请核对）",
    "register_only": "仅见于民政区划",
}


@dataclass(frozen=True)
class Township:
    """A township of either list: 12-digit code, name, county (6 digits)."""

    code: str
    name: str
    county: str
    abolished: bool = False


@dataclass(frozen=True)
class Match:
    """How one statistical township maps to the register.

    Attributes:
        nbs: the statistical township (its code padded to 12 digits).
        rule: one of :data:`RULES`.
        division: the register's division code it resolves to (a new one for ``statistical``,
            ``unmatched`` and ``moved``).
        register: the civil-affairs township matched, if any.
        note: why, in words a clerk reads.
    """

    nbs: Township
    rule: str
    division: str
    register: Township | None = None
    note: str = ""


@dataclass(frozen=True)
class Reconciliation:
    matches: list[Match]
    register_only: list[Township]

    def by_rule(self) -> dict[str, int]:
        counts = dict.fromkeys(RULES, 0)
        for m in self.matches:
            counts[m.rule] += 1
        counts["register_only"] = len(self.register_only)
        return counts

    def aliases(self) -> dict[tuple[str, str], str]:
        """Every official code that names a division, by code system (``nbs`` statistical,
        ``mca`` civil affairs) → the division's code (a code naming the division itself is
        left out). Keyed by system: a statistical code may be another township's civil-affairs
        code (统计 431221111 is 袁家镇, 民政 431221111000 is 中方镇)."""
        out: dict[tuple[str, str], str] = {}
        for m in self.matches:
            if m.nbs.code != m.division:
                out[("nbs", m.nbs.code)] = m.division
            if m.register is not None and m.register.code != m.division:
                out[("mca", m.register.code)] = m.division
        return out


def stem(name: str) -> str:
    """A township's name without its ethnic designation and kind word (二酉苗族乡 → 二酉)."""
    place = _ETHNIC.sub("", township_place(name))
    for ending in _KIND_ENDINGS:
        if place.endswith(ending) and len(place) > len(ending):
            return place[: -len(ending)]
    return place


def _variant_key(text: str) -> str:
    return "".join(VARIANT_CHARACTERS.get(c, c) for c in text)


def _similar(a: str, b: str) -> bool:
    """At least half of the shorter stem's characters appear in the other (a same-code check)."""
    sa, sb = stem(a), stem(b)
    shorter, longer = sorted((sa, sb), key=len)
    return bool(shorter) and sum(c in longer for c in shorter) * 2 >= len(shorter)


def is_statistical(code: str, name: str) -> bool:
    """A statistical-only unit: NBS numbers 类似乡级单位 from 400 up; or named like one."""
    return code[6:9] >= "400" or township_place(name).endswith(_STATISTICAL_NAMES)


def reconcile(register: Iterable[Township], nbs: Sequence[Township]) -> Reconciliation:
    """Match every statistical township to the register (see the module's rules)."""
    by_county: dict[str, list[Township]] = {}
    for t in register:
        by_county.setdefault(t.county, []).append(t)
    used: set[str] = set()
    matches: list[Match] = []
    pending: list[Township] = []

    def take(t: Township, rule: str, found: Township, note: str = "") -> None:
        used.add(found.code)
        matches.append(Match(t, rule, found.code, found, note))

    # Pass 1: same name in the county; pass 2: the same place by stem or variant character.
    for t in nbs:
        candidates = [c for c in by_county.get(t.county, []) if c.code not in used]
        exact = [c for c in candidates if township_place(c.name) == township_place(t.name)]
        if exact:
            found = exact[0]
            take(t, "matched" if found.code == t.code else "aliased", found)
        else:
            pending.append(t)
    still: list[Township] = []
    for t in pending:
        candidates = [c for c in by_county.get(t.county, []) if c.code not in used]
        same = [c for c in candidates if _variant_key(stem(c.name)) == _variant_key(stem(t.name))]
        if len(same) != 1:
            # The same code, a name sharing most of its characters (人民街道 / 人民路街道,
            # 斫曹乡 / 斫𥕢乡: a rare character written another way).
            same = [c for c in candidates if c.code == t.code and _similar(c.name, t.name)]
        if len(same) == 1:
            take(t, "renamed", same[0], f"统计用名称“{t.name}”，民政名称“{same[0].name}”")
        else:
            still.append(t)
    # Pass 3: filed under another county by civil affairs (same name, same city).
    for t in still:
        elsewhere = [
            c
            for county, items in by_county.items()
            if county != t.county and county[:4] == t.county[:4]
            for c in items
            if c.code not in used and township_place(c.name) == township_place(t.name)
        ]
        if len(elsewhere) == 1 and not is_statistical(t.code, t.name):
            found = elsewhere[0]
            used.add(found.code)
            matches.append(
                Match(
                    t,
                    "moved",
                    t.code,
                    found,
                    f"民政区划列在 {found.county}，统计用区划列在 {t.county}（从统计用区划）",
                )
            )
        elif is_statistical(t.code, t.name):
            matches.append(Match(t, "statistical", t.code, None, STATISTICAL_KIND))
        else:
            matches.append(Match(t, "unmatched", t.code, None, "民政区划中找不到同名乡镇"))
    register_only = [t for items in by_county.values() for t in items if t.code not in used]
    matches = _free_codes(matches, by_county)
    return Reconciliation(matches, sorted(register_only, key=lambda t: t.code))


def _free_codes(matches: list[Match], by_county: dict[str, list[Township]]) -> list[Match]:
    """A unit added under its statistical code whose code civil affairs gives to another
    township (统计 110108023 万柳地区, 民政 110108023000 海淀镇) gets a code of its own: the
    first free ``CCCCCC9NN000`` of its county (9xx, a range neither register uses); its
    statistical code stays its alias."""
    taken = {t.code for items in by_county.values() for t in items}
    out: list[Match] = []
    for m in matches:
        if m.register is not None and m.rule != "moved":
            out.append(m)
            continue
        if m.division in taken:
            county = m.nbs.county[:6]
            code = next(
                f"{county}9{n:02d}000" for n in range(100) if f"{county}9{n:02d}000" not in taken
            )
            note = f"统计用代码 {m.nbs.code[:9]} 在民政区划中另属他乡，登记代码为 {code}"
            m = Match(m.nbs, m.rule, code, m.register, f"{m.note}；{note}" if m.note else note)
        taken.add(m.division)
        out.append(m)
    return out
