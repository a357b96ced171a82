"""Rules about administrative divisions: levels, kinds, the site kind they carry, existence."""

from __future__ import annotations

from datetime import date

from registry.core.errors import RuleViolation

LEVELS = ("province", "city", "county", "township", "village")
# 类似乡级单位: the statistics' township-level units that are no township (development zones,
# farms, forestry farms): they carry villages, no service centre, and are not counted as
# townships (see rules/reconcile.py).
STATISTICAL_TOWNSHIP = "类似乡级单位"
# 类似县级单位: the statistics' county-level units that are no county (开发区, 示范区, 管理区 such
# as 怀化市洪江管理区; codes xxxx7x): counted as county-level units, with their villages.
STATISTICAL_COUNTY = "类似县级单位"
KINDS = (
    "省",
    "自治区",
    "直辖市",
    "市",
    "地区",
    "自治州",
    "盟",
    "区",
    "县",
    "县级市",
    STATISTICAL_COUNTY,
    "乡",
    "镇",
    "街道",
    STATISTICAL_TOWNSHIP,
    "村",
    "社区",
)
KINDS_BY_LEVEL: dict[str, tuple[str, ...]] = {
    "province": ("省", "自治区", "直辖市"),
    "city": ("市", "地区", "自治州", "盟"),
    "county": ("区", "县", "县级市", STATISTICAL_COUNTY),
    "township": ("乡", "镇", "街道", STATISTICAL_TOWNSHIP),
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


def province_kind(name: str) -> str:
    """省, 自治区 or 直辖市 from a province-level name (北京市 … 重庆市 are 直辖市)."""
    if name.endswith("自治区"):
        return "自治区"
    if name.endswith("市"):
        return "直辖市"
    return "省"


def city_kind(name: str) -> str:
    """市, 地区, 自治州 or 盟 from a city-level name."""
    for kind in ("自治州", "地区", "盟"):
        if name.endswith(kind):
            return kind
    return "市"


def statistical_county(code: str) -> bool:
    """A county-level unit of the statistics only (its code's county digits 70 and above)."""
    return code[4:6] >= "70"


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
