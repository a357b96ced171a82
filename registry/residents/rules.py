"""The residents' search, pure: query cleaning, pinyin keys, the name index, nearest points.

A resident types a village, township or county name as they know it: in characters (仰溪铺,
仰溪铺村), in pinyin (yangxipu) or by initials (yxp). The index keeps, per division, the name,
its pinyin and initials (pypinyin, phrase-aware: 长沙 → changsha) both for the full name and for
the name without its suffix (仰溪铺村 → 仰溪铺), as sorted keys (prefix look-ups by bisection)
and as one joined text per key kind (substring look-ups by ``str.find``, in C): a query costs a
few bisections and finds, never a Python loop over every division.

Ranking: an exact match first (name, place without suffix, its pinyin or initials), then a
prefix, then a substring; within a rank counties before townships before villages, shorter
names first, then by code.
"""

from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from pypinyin import lazy_pinyin

from geo.crs import normalize_crs, to_wgs84
from registry.core.errors import RuleViolation

# Longest query accepted, in characters as sent (a place name with its township and county
# fits in 40; a pasted page does not).
MAX_QUERY_CHARS = 40
MAX_RESULTS = 20
DEFAULT_RESULTS = 8
LEVEL_RANK = {"county": 0, "township": 1, "village": 2}
# The suffixes a resident may leave out (longest first).
SUFFIXES = (
    "社区居委会",
    "村委会",
    "居委会",
    "管理区",
    "街道",
    "社区",
    "村",
    "镇",
    "乡",
    "县",
    "区",
    "市",
)
# Statuses of a site that serves residents (the others are planned, building, paused, closed).
SERVING = frozenset({"in_service", "standardized"})
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_LABELS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffd]")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
_LATIN = re.compile(r"[a-z]+")
EARTH_RADIUS_M = 6_371_008.8


# ----------------------------------------------------------------------------- the query


def clean_query(raw: str | None) -> str:
    """The query as matched: NFKC, lower case, without spaces and punctuation.

    Raises:
        RuleViolation: ``query_too_long`` (more than :data:`MAX_QUERY_CHARS` characters) or
            ``invalid_query`` (control characters, undecodable bytes).
    """
    if raw is None:
        return ""
    if len(raw) > MAX_QUERY_CHARS:
        raise RuleViolation(
            "query_too_long",
            f"搜索内容太长（最多 {MAX_QUERY_CHARS} 个字）",
            f"the search text is too long (at most {MAX_QUERY_CHARS} characters)",
            "q",
            max_length=MAX_QUERY_CHARS,
        )
    if _CONTROL.search(raw):
        raise RuleViolation(
            "invalid_query",
            "搜索内容含有无法识别的字符",
            "the search text contains control or undecodable characters",
            "q",
        )
    text = unicodedata.normalize("NFKC", _ZERO_WIDTH.sub("", raw)).lower()
    return "".join(ch for ch in text if ch.isalnum())


def is_latin(query: str) -> bool:
    """Whether the query is pinyin or initials (ASCII letters only)."""
    return bool(query) and _LATIN.fullmatch(query) is not None


# ----------------------------------------------------------------------------- names


def place_of(name: str) -> str:
    """The name without its administrative suffix (仰溪铺村 → 仰溪铺); the name if that would
    leave less than two characters."""
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def syllables_of(name: str) -> list[str]:
    """The pinyin of each character of a name, lower case, without tones (characters pypinyin
    does not know are left out)."""
    return [s.lower() for s in lazy_pinyin(name, errors="ignore") if s.isascii() and s]


def pinyin_keys(name: str) -> tuple[str, str]:
    """(full pinyin, initials) of a name: 仰溪铺村 → (yangxipucun, yxpc)."""
    syllables = syllables_of(name)
    return "".join(syllables), "".join(s[0] for s in syllables)


@dataclass(frozen=True)
class Place:
    """One division a resident may search for."""

    code: str
    name: str
    level: str
    township_code: str | None = None
    county_code: str | None = None


@dataclass
class _Keys:
    """One kind of key of every place: sorted for prefixes, joined for substrings."""

    sorted_keys: list[str] = field(default_factory=list)
    sorted_ids: list[int] = field(default_factory=list)
    text: str = ""
    starts: list[int] = field(default_factory=list)

    @classmethod
    def build(cls, keys: Sequence[str]) -> _Keys:
        order = sorted(range(len(keys)), key=keys.__getitem__)
        starts, at = [], 0
        for key in keys:
            starts.append(at)
            at += len(key) + 1
        return cls(
            sorted_keys=[keys[i] for i in order],
            sorted_ids=order,
            text="\n".join(keys) + "\n",
            starts=starts,
        )

    def prefixed(self, query: str, cap: int) -> Iterable[tuple[int, bool]]:
        """(place id, exact) of the keys starting with ``query``."""
        i = bisect_left(self.sorted_keys, query)
        n = 0
        while i < len(self.sorted_keys) and n < cap and self.sorted_keys[i].startswith(query):
            yield self.sorted_ids[i], self.sorted_keys[i] == query
            i += 1
            n += 1

    def containing(self, query: str, cap: int) -> Iterable[int]:
        """Place ids of the keys containing ``query`` (not at their start)."""
        at, n = self.text.find(query), 0
        while at >= 0 and n < cap:
            place = bisect_left(self.starts, at + 1) - 1
            if at != self.starts[place]:
                yield place
                n += 1
            at = self.text.find(query, at + 1)


class NameIndex:
    """The places of the register, searchable by characters, pinyin and initials."""

    def __init__(
        self, places: Sequence[Place], syllables: Callable[[str], list[str]] = syllables_of
    ) -> None:
        self.places = list(places)
        names = [p.name for p in self.places]
        short = [place_of(n) for n in names]
        full_syllables = [syllables(n) for n in names]
        # One pinyin per character: the place's syllables are the name's without the suffix's.
        short_syllables = [
            s[: len(s) - (len(n) - len(p))] if len(s) == len(n) else syllables(p)
            for s, n, p in zip(full_syllables, names, short, strict=True)
        ]
        self._exact_names = _Keys.build(names)
        self._short_names = _Keys.build(short)
        self._pinyin = _Keys.build(["".join(s) for s in full_syllables])
        self._initials = _Keys.build(["".join(x[0] for x in s) for s in full_syllables])
        self._short_pinyin = _Keys.build(["".join(s) for s in short_syllables])
        self._short_initials = _Keys.build(["".join(x[0] for x in s) for s in short_syllables])

    def __len__(self) -> int:
        return len(self.places)

    def search(self, query: str, limit: int = DEFAULT_RESULTS) -> list[Place]:
        """The best ``limit`` places for a cleaned query (:func:`clean_query`)."""
        if not query:
            return []
        cap = max(200, limit * 20)
        best: dict[int, int] = {}

        def note(place: int, rank: int) -> None:
            if rank < best.get(place, 99):
                best[place] = rank

        if is_latin(query):
            full = (self._pinyin, self._short_pinyin)
            initials = (self._initials, self._short_initials)
            for keys in (*full, *initials):
                for place, exact in keys.prefixed(query, cap):
                    note(place, 0 if exact else 1)
            if len(query) >= 3 and len(best) < limit:
                for place in self._pinyin.containing(query, cap):
                    note(place, 2)
        else:
            for keys in (self._exact_names, self._short_names):
                for place, exact in keys.prefixed(query, cap):
                    note(place, 0 if exact else 1)
            if len(best) < limit:
                for place in self._exact_names.containing(query, cap):
                    note(place, 2)

        def order(place: int) -> tuple[int, int, int, str]:
            p = self.places[place]
            return (best[place], LEVEL_RANK.get(p.level, 3), len(p.name), p.code)

        return [self.places[i] for i in sorted(best, key=order)[:limit]]


# ----------------------------------------------------------------------------- location


def _invalid_location(zh: str, en: str) -> RuleViolation:
    return RuleViolation("invalid_location", zh, en, "lon")


def _number(raw: str | float | None, name: str) -> float:
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _invalid_location(
            f"位置坐标 {name} 不是数字", f"the location's {name} is not a number"
        ) from None
    if not math.isfinite(value):
        raise _invalid_location(
            f"位置坐标 {name} 不是有限的数", f"the location's {name} is not a finite number"
        )
    return value


def check_location(
    lon: str | float | None, lat: str | float | None, crs: str | None
) -> tuple[float, float] | None:
    """The resident's location in WGS-84, or None when none was given.

    Raises:
        RuleViolation: ``invalid_location`` (one coordinate only, not a number, NaN, out of
            range, an unknown datum).
    """
    if lon in (None, "") and lat in (None, ""):
        return None
    if lon in (None, "") or lat in (None, ""):
        raise _invalid_location("位置需要同时给出经度和纬度", "a location needs both lon and lat")
    x, y = _number(lon, "lon"), _number(lat, "lat")
    if not (-180.0 <= x <= 180.0 and -90.0 <= y <= 90.0):
        raise _invalid_location("位置坐标超出范围", "the location is out of range")
    try:
        datum = normalize_crs(crs or "wgs84")
    except ValueError:
        raise RuleViolation(
            "invalid_location",
            "不认识的坐标系（可用 wgs84 或 gcj02）",
            "unknown datum (use wgs84 or gcj02)",
            "crs",
        ) from None
    return to_wgs84(x, y, datum)


def outside_root(name: str, code: str) -> RuleViolation:
    """The location is not in the area this registry serves (``name``, division ``code``)."""
    return RuleViolation(
        "location_outside_root",
        f"您的位置不在{name}范围内，请输入村或乡镇名称搜索",
        f"the location is outside the area this registry serves (division {code}); "
        "search by name instead",
        "lon",
        root=code,
    )


def distances_m(lon: float, lat: float, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Great-circle distances in metres from (lon, lat) to each point (haversine)."""
    phi1, phi2 = math.radians(lat), np.radians(lats)
    dphi = phi2 - phi1
    dlmb = np.radians(lons) - math.radians(lon)
    a = np.sin(dphi / 2) ** 2 + math.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def nearest(
    lon: float, lat: float, lons: np.ndarray, lats: np.ndarray, k: int
) -> list[tuple[int, float]]:
    """(index, distance in metres) of the ``k`` nearest points, nearest first."""
    if len(lons) == 0 or k <= 0:
        return []
    d = distances_m(lon, lat, lons, lats)
    k = min(k, len(d))
    idx = np.argpartition(d, k - 1)[:k]
    idx = idx[np.argsort(d[idx], kind="stable")]
    return [(int(i), float(d[i])) for i in idx]


def distance_text(metres: float) -> str:
    """A distance as a resident reads it: 850 米, 2.4 公里, 37 公里."""
    if metres < 1000:
        return f"{max(10, round(metres / 10) * 10)} 米"
    if metres < 10_000:
        return f"{metres / 1000:.1f} 公里"
    return f"{round(metres / 1000)} 公里"


# ----------------------------------------------------------------------------- opening hours


def hours_on(hours: Mapping[str, object] | None, day: date) -> list[tuple[str, str]] | None:
    """The opening periods of a weekly timetable on ``day`` (``[]``: closed that day; None:
    the timetable is not recorded)."""
    if not isinstance(hours, Mapping):
        return None
    periods = hours.get(WEEKDAYS[day.weekday()]) or []
    out: list[tuple[str, str]] = []
    if isinstance(periods, list):
        for period in periods:
            if isinstance(period, list | tuple) and len(period) == 2:
                out.append((str(period[0]), str(period[1])))
    return out


def hours_text(periods: list[tuple[str, str]] | None) -> str:
    """Periods in words: 08:30–12:00、14:30–17:30; 休息; 开放时间未登记."""
    if periods is None:
        return "开放时间未登记"
    if not periods:
        return "休息"
    return "、".join(f"{a}–{b}" for a, b in periods)
