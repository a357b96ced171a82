"""Standard signage (统一标识): "XX乡镇(街道)便民服务中心" and "XX村(居)便民服务代办点".

A reported name is compared with the standard one after NFKC normalisation and removal of
white space; every difference is listed.
"""

from __future__ import annotations

import msgspec

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


class SignageProblem(msgspec.Struct, frozen=True):
    """One difference between a reported sign and the standard name."""

    code: str
    message: str
    found: str = ""
    expected: str = ""


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
    """Split a compact name into (head, suffix found, tail after the suffix)."""
    index = name.find(expected)
    if index >= 0:
        return name[:index], expected, name[index + len(expected) :]
    for suffix in _KNOWN_SUFFIXES:
        index = name.rfind(suffix)
        if index >= 0:
            return name[:index], suffix, name[index + len(suffix) :]
    return name, "", ""


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
    head, suffix, tail = _split_suffix(found, expected_suffix)

    if suffix != expected_suffix:
        problems.append(
            SignageProblem(
                code="wrong_suffix" if suffix else "missing_suffix",
                message=(
                    f"后缀应为“{expected_suffix}”，实为“{suffix or '（无）'}” / "
                    f"the sign must end in “{expected_suffix}”, found “{suffix or '(none)'}”"
                ),
                found=suffix,
                expected=expected_suffix,
            )
        )
    if tail:
        problems.append(
            SignageProblem(
                code="extra_words",
                message=f"后缀之后有多余文字“{tail}” / extra words after the suffix: “{tail}”",
                found=tail,
            )
        )

    if not head:
        problems.append(
            SignageProblem(
                code="missing_division_name",
                message=f"缺少区划名称“{division}” / the division name “{division}” is missing",
                expected=division,
            )
        )
    elif head != division:
        position = head.rfind(division)
        if position >= 0:
            extra = head[:position] + head[position + len(division) :]
            problems.append(
                SignageProblem(
                    code="extra_words",
                    message=(
                        f"区划名称外有多余文字“{extra}” / extra words beside the division name: "
                        f"“{extra}”"
                    ),
                    found=extra,
                )
            )
        else:
            problems.append(
                SignageProblem(
                    code="wrong_division_name",
                    message=(
                        f"区划名称应为“{division}”，实为“{head}” / the division name should be "
                        f"“{division}”, found “{head}”"
                    ),
                    found=head,
                    expected=division,
                )
            )
    return SignageCheck(standard_name=standard, conforms=False, problems=problems)
