"""Rules about administrative divisions: levels, kinds, the site kind they carry, existence."""

from __future__ import annotations

from datetime import date

from registry.core.errors import RuleViolation

LEVELS = ("city", "county", "township", "village")
KINDS = ("市", "区", "县", "县级市", "乡", "镇", "街道", "村", "社区")
KINDS_BY_LEVEL: dict[str, tuple[str, ...]] = {
    "city": ("市",),
    "county": ("区", "县", "县级市"),
    "township": ("乡", "镇", "街道"),
    "village": ("村", "社区"),
}

SITE_KIND_BY_DIVISION_KIND = {
    "乡": "township_centre",
    "镇": "township_centre",
    "街道": "street_centre",
    "村": "village_point",
    "社区": "community_point",
}
SITE_KINDS = ("township_centre", "street_centre", "village_point", "community_point")
CENTRE_KINDS = ("township_centre", "street_centre")
POINT_KINDS = ("village_point", "community_point")

# Marker the source data uses for a division that no longer exists.
ABOLISHED_MARK = "（撤销）"


def township_kind(name: str) -> str:
    """乡, 镇 or 街道 from a township's name (民族乡 is 乡; Inner Mongolia's 苏木, the
    township-level unit of pastoral areas, counts as 乡)."""
    if name.endswith("街道"):
        return "街道"
    if name.endswith("镇"):
        return "镇"
    if name.endswith(("乡", "苏木")):
        return "乡"
    raise RuleViolation(
        "unknown_division_kind",
        f"无法从名称判断乡镇类型：{name}",
        f"cannot tell 乡/镇/街道 from the name {name!r}",
        "name",
    )


def county_kind(name: str) -> str:
    """区, 县 or 县级市 from a county-level division's name (Inner Mongolia's 旗 and 自治旗,
    county-level by law, count as 县)."""
    if name.endswith("区"):
        return "区"
    if name.endswith(("县", "旗")):
        return "县"
    if name.endswith("市"):
        return "县级市"
    raise RuleViolation(
        "unknown_division_kind",
        f"无法从名称判断县级区划类型：{name}",
        f"cannot tell 区/县/县级市 from the name {name!r}",
        "name",
    )


def village_kind(name: str) -> str:
    """村 or 社区 from a village-level name (居委会 counts as 社区)."""
    if name.endswith(("社区", "居委会", "居民委员会")):
        return "社区"
    if name.endswith(("村", "村委会", "村民委员会")):
        return "村"
    raise RuleViolation(
        "unknown_division_kind",
        f"无法从名称判断村(居)类型：{name}",
        f"cannot tell 村/社区 from the name {name!r}",
        "name",
    )


def check_kind(level: str, kind: str) -> None:
    """Refuse a kind that does not belong to the level."""
    if level not in KINDS_BY_LEVEL:
        raise RuleViolation(
            "invalid_level", f"未知层级：{level}", f"unknown level {level!r}", "level"
        )
    if kind not in KINDS_BY_LEVEL[level]:
        allowed = "、".join(KINDS_BY_LEVEL[level])
        raise RuleViolation(
            "invalid_kind",
            f"{level} 层级的类型应为 {allowed}，收到 {kind}",
            f"kind of a {level} must be one of {allowed}, got {kind!r}",
            "kind",
        )


def site_kind_for(division_kind: str, level: str) -> str:
    """The site kind a division carries, or a RuleViolation for a division that carries none."""
    kind = SITE_KIND_BY_DIVISION_KIND.get(division_kind)
    if kind is None or level not in ("township", "village"):
        raise RuleViolation(
            "division_level_not_allowed",
            "便民服务中心只能设在乡镇(街道)，代办点只能设在村(社区)；该区划层级为"
            f"{level}（{division_kind}）",
            f"sites belong to a township (centre) or a village/community (agency point); "
            f"this division is a {level} ({division_kind})",
            "division_code",
        )
    return kind


def exists_on(established_on: date | None, abolished_on: date | None, day: date) -> bool:
    """Whether a division exists on ``day``: established on or before it, abolished after it.

    ``abolished_on`` is the first day the division no longer exists.
    """
    return (established_on is None or established_on <= day) and (
        abolished_on is None or day < abolished_on
    )
