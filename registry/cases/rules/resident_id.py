"""The 18-digit resident identity number (居民身份证号码, GB 11643-1999).

Structure: 6-digit address code · 8-digit birth date · 3-digit sequence (odd for men) ·
ISO 7064 MOD 11-2 check character (0–9 or X).

Rules checked, each named by its own code so a client can tell the resident what is wrong:
``id_format`` (17 digits and a digit or X), ``id_province`` (the first two digits are a known
province-level code), ``id_birth_date`` (a real calendar date, not before 1890),
``id_birth_date_future`` (not after today) and ``id_checksum`` (the check character).

The county part of the address code is deliberately *not* checked against the birth year:
people re-registered after a county was created carry the new code (431202198001010018 is a
1980-born resident of 鹤城区, created 1997). python-stdnum's ``cn.ric`` refuses such numbers.
"""

from __future__ import annotations

import unicodedata
from datetime import date

import msgspec

from registry.core.errors import RuleViolation

FIELD = "resident_id_number"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
EARLIEST_BIRTH = date(1890, 1, 1)

# Province-level codes of GB/T 2260 (81/82/83: Hong Kong, Macao, Taiwan residence permits).
PROVINCES: dict[str, str] = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
    "83": "台湾地区（居住证）",
}


class ResidentId(msgspec.Struct, frozen=True):
    """A checked identity number and what it encodes."""

    number: str
    province_code: str
    birth_date: date
    male: bool


class InvalidResidentId(RuleViolation):
    """One or more rules refused the number; ``problems`` names every one of them."""

    def __init__(self, problems: list[RuleViolation]) -> None:
        codes = [p.code for p in problems]
        super().__init__(
            "invalid_resident_id",
            "身份证号码无效：" + "；".join(p.zh for p in problems),
            "invalid resident ID number: " + "; ".join(p.en for p in problems),
            FIELD,
            rules=codes,
        )
        self.problems = problems


def normalise(raw: str) -> str:
    """Full-width digits to ASCII, spaces removed, a lower-case check ``x`` upper-cased."""
    # ASCII text is its own NFKC form (what devices send): not normalised again.
    text = raw if raw.isascii() else unicodedata.normalize("NFKC", raw or "")
    return "".join(text.split()).upper()


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    if len(first17) != len(WEIGHTS) or not (first17.isascii() and first17.isdigit()):
        raise ValueError("the check character is computed from 17 digits")
    # The weights are 2^(17-i) mod 11, so the weighted sum is 2·Σ dᵢ·2^(16-i) mod 11, and as
    # 13 ≡ 2 (mod 11), Σ dᵢ·2^(16-i) ≡ Σ dᵢ·13^(16-i): the 17 digits read in base 13, in C.
    return CHECK_CHARS[2 * int(first17, 13) % 11]


def _rule(code: str, zh: str, en: str) -> RuleViolation:
    return RuleViolation(code, zh, en, FIELD)


def problems(raw: str, today: date) -> list[RuleViolation]:
    """Every rule the number breaks (empty when valid). The number is never echoed."""
    return _problems(normalise(raw), today)


def _problems(number: str, today: date) -> list[RuleViolation]:
    if (
        len(number) != 18
        or not number[:17].isascii()
        or not number[:17].isdigit()
        or not (number[17].isdigit() or number[17] == "X")
    ):
        return [
            _rule(
                "id_format",
                "应为 17 位数字加 1 位数字或 X，共 18 位",
                "must be 17 digits followed by a digit or X (18 characters)",
            )
        ]
    found: list[RuleViolation] = []
    if number[:2] not in PROVINCES:
        found.append(
            _rule(
                "id_province",
                "前两位不是已知的省级行政区划代码",
                "the first two digits are not a known province-level code",
            )
        )
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        birth = None
    if birth is None or birth < EARLIEST_BIRTH:
        found.append(
            _rule(
                "id_birth_date",
                "第 7–14 位不是有效的出生日期",
                "digits 7–14 are not a real birth date",
            )
        )
    elif birth > today:
        found.append(
            _rule(
                "id_birth_date_future",
                "出生日期晚于今天",
                "the birth date is in the future",
            )
        )
    if check_character(number[:17]) != number[17]:
        found.append(
            _rule(
                "id_checksum",
                "校验码不符（ISO 7064 MOD 11-2）",
                "the check character does not match (ISO 7064 MOD 11-2)",
            )
        )
    return found


def validate(raw: str, today: date) -> ResidentId:
    """The checked number.

    Raises:
        InvalidResidentId: naming every failing rule in ``rules``.
    """
    number = normalise(raw)
    found = _problems(number, today)
    if found:
        raise InvalidResidentId(found)
    return ResidentId(
        number=number,
        province_code=number[:2],
        birth_date=date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
        male=int(number[16]) % 2 == 1,
    )


def with_check_character(first17: str) -> str:
    """Complete 17 digits with their check character (demo data and tests)."""
    return first17 + check_character(first17)
