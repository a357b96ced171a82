"""Service guides (办事指南) of the matter catalogue: what a guide must hold, and the search
residents and clerks type (低保, 社保卡, 新农合 …).

A resident does not know a matter's official name (最低生活保障申请); they know what it is
called in the village (低保). So every matter carries *aliases*, and a search matches the code,
the name, the category, the department and the aliases, after the same normalisation on both
sides (NFKC, lower case, no white space), so that ``ＳＢ００１``, ``sb001`` and ``SB 001`` are one
query and the answer does not depend on the database engine (the catalogue is searched in
Python: it holds tens of matters, not thousands).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from registry.core.errors import RuleViolation

MAX_ALIASES = 20
MAX_ALIAS_LENGTH = 20
NO_FEE = "不收费"


def fold(text: str) -> str:
    """``text`` as searches compare it: NFKC, lower case, without white space."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def check_aliases(aliases: Iterable[str]) -> list[str]:
    """The aliases of a matter: trimmed, blanks and repeats dropped, at most
    :data:`MAX_ALIASES` of at most :data:`MAX_ALIAS_LENGTH` characters.

    Raises:
        RuleViolation: ``too_many_aliases`` or ``alias_too_long``.
    """
    cleaned: list[str] = []
    seen: set[str] = set()
    for alias in aliases:
        text = unicodedata.normalize("NFKC", alias).strip()
        if not text or fold(text) in seen:
            continue
        if len(text) > MAX_ALIAS_LENGTH:
            raise RuleViolation(
                "alias_too_long",
                f"常用名“{text[:30]}”超过 {MAX_ALIAS_LENGTH} 个字",
                f"an alias has at most {MAX_ALIAS_LENGTH} characters",
                "aliases",
            )
        seen.add(fold(text))
        cleaned.append(text)
    if len(cleaned) > MAX_ALIASES:
        raise RuleViolation(
            "too_many_aliases",
            f"常用名最多 {MAX_ALIASES} 个",
            f"at most {MAX_ALIASES} aliases",
            "aliases",
        )
    return cleaned


def check_materials(materials: list[str], required: bool) -> None:
    """A guide of a matter that requires materials lists at least one.

    Raises:
        RuleViolation: ``materials_required``.
    """
    if required and not materials:
        raise RuleViolation(
            "materials_required",
            "该事项需要申请材料：办事指南的材料清单不能为空",
            "this matter requires materials: the guide's list of materials cannot be empty",
            "materials",
        )


def fees_text(fees: str | None) -> str:
    """The fee of a guide: the text given, or 不收费 when blank."""
    text = (fees or "").strip()
    return text or NO_FEE


SEARCHED = ("code", "name", "category", "department")


def matter_matches(matter: Mapping[str, Any], query: str) -> bool:
    """Whether ``matter`` (a catalogue row) matches the search ``query``: every word of the
    query is found in its code, name, category, department or one of its aliases."""
    words = [fold(w) for w in unicodedata.normalize("NFKC", query).split() if fold(w)]
    if not words:
        return True
    haystack = " ".join(
        [
            *(fold(str(matter.get(k) or "")) for k in SEARCHED),
            *map(fold, matter.get("aliases") or []),
        ]
    )
    return all(word in haystack for word in words)


def match_rank(matter: Mapping[str, Any], query: str) -> int:
    """How well ``matter`` answers ``query`` (lower is better): 0 an alias or the code equals
    it, 1 the name contains it, 2 anything else that matches."""
    folded = fold(query)
    if folded in {fold(a) for a in matter.get("aliases") or []} or folded == fold(
        str(matter.get("code") or "")
    ):
        return 0
    if folded in fold(str(matter.get("name") or "")):
        return 1
    return 2
