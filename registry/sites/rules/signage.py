"""Standard signage (统一标识): "XX乡镇(街道)便民服务中心" and "XX村(居)便民服务代办点".

A reported name is compared with the standard one after NFKC normalisation and removal of
white space; every difference is listed, in words a county clerk understands:

- a sign written in traditional characters (龍潭鎮便民服務中心) is said to be the right name in
  traditional characters — the conversion is OpenCC's (``t2s``), not a hand-written table;
- a committee's title on the sign (石头村民委员会便民服务代办点: the sign names the place,
  石头村, not its committee) is named as such, and the rest is checked as if it were not there;
- a wrong suffix (代办站 for 代办点) is one problem: the words the wrong suffix shares with the
  right one (便民服务) are part of it, not "extra words".
"""

from __future__ import annotations

from functools import cache

import msgspec
import opencc

from registry.core.text import compact
from registry.divisions.rules import CENTRE_KINDS, SITE_KIND_BY_DIVISION_KIND

CENTRE_SUFFIX = "便民服务中心"
POINT_SUFFIX = "便民服务代办点"
# Suffixes seen on non-standard signs, longest first so the most specific one is recognised.
_KNOWN_SUFFIXES = (
    "便民服务代办点",
    "便民服务中心",
    "政务服务中心",
    "便民服务站",
    "便民服务室",
    "便民服务点",
    "便民服务所",
    "服务中心",
    "代办点",
    "服务站",
    "代办站",
)


# Committee and office titles that name an organisation, not the place, longest first.
_TITLES = (
    "社区居民委员会",
    "社区居委会",
    "村民委员会",
    "居民委员会",
    "街道办事处",
    "人民政府",
    "村委会",
    "居委会",
    "办事处",
)


@cache
def _to_simplified() -> opencc.OpenCC:
    """OpenCC's traditional → simplified converter (built once: loading its tables takes ms)."""
    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """``text`` in simplified characters."""
    return _to_simplified().convert(text)


class SignageProblem(msgspec.Struct, frozen=True):
    """One difference between a reported sign and the standard name: ``message`` is
    ``message_zh / message_en`` (pages show ``message_zh``)."""

    code: str
    message: str
    found: str = ""
    expected: str = ""
    message_zh: str = ""
    message_en: str = ""


def _problem(code: str, zh: str, en: str, found: str = "", expected: str = "") -> SignageProblem:
    return SignageProblem(
        code=code,
        message=f"{zh} / {en}",
        found=found,
        expected=expected,
        message_zh=zh,
        message_en=en,
    )


class SignageCheck(msgspec.Struct, frozen=True):
    """Result of comparing a reported name with the standard one.

    ``conforms`` is None when no name was reported.
    """

    standard_name: str
    conforms: bool | None
    problems: list[SignageProblem]


def suffix_for(division_kind: str) -> str:
    site_kind = SITE_KIND_BY_DIVISION_KIND.get(division_kind)
    return CENTRE_SUFFIX if site_kind in CENTRE_KINDS else POINT_SUFFIX


def standard_name(division_name: str, division_kind: str) -> str:
    """The standard sign of the site on a division: name + 便民服务中心 / 便民服务代办点."""
    return compact(division_name) + suffix_for(division_kind)


def _split_suffix(name: str, expected: str) -> tuple[str, str, str]:
    """Split a compact name into (head, suffix found, tail after the suffix).

    A wrong suffix takes in the words before it that the expected suffix begins with:
    大坪村便民服务代办站 is 大坪村 + 便民服务代办站, not 大坪村便民服务 + 代办站.
    """
    index = name.find(expected)
    if index >= 0:
        return name[:index], expected, name[index + len(expected) :]
    for suffix in _KNOWN_SUFFIXES:
        index = name.rfind(suffix)
        if index >= 0:
            head, tail = name[:index], name[index + len(suffix) :]
            for k in range(len(expected) - 1, 0, -1):
                if head.endswith(expected[:k]) and not suffix.startswith(expected[:k]):
                    return head[:-k], expected[:k] + suffix, tail
            return head, suffix, tail
    return name, "", ""


def _title_problem(found: str, division: str) -> tuple[str, SignageProblem | None]:
    """A committee's or office's title written where the place name belongs: the name with
    the title replaced by the place, and the problem (or the name unchanged and None)."""
    stems = [division]
    for kind in ("社区", "街道", "村", "镇", "乡"):
        if division.endswith(kind) and len(division) > len(kind):
            # 麻溪铺 + 社区居委会 is tried before 麻溪铺社区 + 居委会.
            stems.insert(0, division[: -len(kind)])
            break
    for stem in stems:
        for title in _TITLES:
            written = stem + title
            if written in found:
                problem = _problem(
                    "committee_title",
                    f"标识不应带委员会或机关名称“{title}”：应写地名“{division}”",
                    f"the sign should not carry the committee title “{title}”: write the "
                    f"place name “{division}”",
                    found=written,
                    expected=division,
                )
                return found.replace(written, division, 1), problem
    return found, None


def check(division_name: str, division_kind: str, reported: str | None) -> SignageCheck:
    """Compare a reported sign name with the standard name of the division's site."""
    standard = standard_name(division_name, division_kind)
    if reported is None or not compact(reported):
        return SignageCheck(standard_name=standard, conforms=None, problems=[])
    found = compact(reported)
    if found == standard:
        return SignageCheck(standard_name=standard, conforms=True, problems=[])

    expected_suffix = suffix_for(division_kind)
    division = compact(division_name)
    problems: list[SignageProblem] = []
    plain = simplified(found)
    if plain != found:
        right = plain == standard
        problems.append(
            _problem(
                "traditional_characters",
                f"标识使用了繁体字：{'名称正确，' if right else ''}应使用规范简化字“{plain}”",
                f"the sign is written in traditional characters"
                f"{' (the name is right)' if right else ''}: write it in simplified "
                f"characters, “{plain}”",
                found=found,
                expected=plain,
            )
        )
        if right:
            return SignageCheck(standard_name=standard, conforms=False, problems=problems)
        found = plain
    found, title = _title_problem(found, division)
    if title is not None:
        problems.append(title)
        if found == standard:
            return SignageCheck(standard_name=standard, conforms=False, problems=problems)
    head, suffix, tail = _split_suffix(found, expected_suffix)

    if suffix != expected_suffix:
        problems.append(
            _problem(
                "wrong_suffix" if suffix else "missing_suffix",
                f"后缀应为“{expected_suffix}”，实为“{suffix or '（无）'}”",
                f"the sign must end in “{expected_suffix}”, found “{suffix or '(none)'}”",
                found=suffix,
                expected=expected_suffix,
            )
        )
    if tail:
        problems.append(
            _problem(
                "extra_words",
                f"后缀之后有多余文字“{tail}”",
                f"extra words after the suffix: “{tail}”",
                found=tail,
            )
        )

    if not head:
        problems.append(
            _problem(
                "missing_division_name",
                f"缺少区划名称“{division}”",
                f"the division name “{division}” is missing",
                expected=division,
            )
        )
    elif head != division:
        position = head.rfind(division)
        if position >= 0:
            extra = head[:position] + head[position + len(division) :]
            problems.append(
                _problem(
                    "extra_words",
                    f"区划名称外有多余文字“{extra}”",
                    f"extra words beside the division name: “{extra}”",
                    found=extra,
                )
            )
        else:
            problems.append(
                _problem(
                    "wrong_division_name",
                    f"区划名称应为“{division}”，实为“{head}”",
                    f"the division name should be “{division}”, found “{head}”",
                    found=head,
                    expected=division,
                )
            )
    return SignageCheck(standard_name=standard, conforms=False, problems=problems)
