"""Division codes: 12-digit statistical codes, with the 6-digit GB/T 2260 form accepted.

Structure of a 12-digit code: ``PP CC DD TTT VVV`` — province, city, county, township, village.
"""

from __future__ import annotations

from registry.core.errors import RuleViolation

LEVELS = ("province", "city", "county", "township", "village")


def normalise_code(raw: str | int | None, field: str = "code") -> str:
    """Return the 12-digit form of a division code.

    6-digit GB/T 2260 codes (province, city, county) and 9-digit township codes are padded
    with zeros.

    Raises:
        RuleViolation: ``invalid_code`` when the value is not 6, 9 or 12 ASCII digits.
    """
    text = "" if raw is None else str(raw).strip()
    if text.isascii() and text.isdigit() and len(text) in (6, 9, 12):
        return text.ljust(12, "0")
    raise RuleViolation(
        "invalid_code",
        f"区划代码应为 6、9 或 12 位数字，收到 {text[:20]!r}",
        f"a division code is 6, 9 or 12 digits, got {text[:20]!r}",
        field=field,
    )


def level_of_code(code: str) -> str:
    """The level a 12-digit code's structure implies (``province`` … ``village``)."""
    if code[9:] != "000":
        return "village"
    if code[6:9] != "000":
        return "township"
    if code[4:6] != "00":
        return "county"
    if code[2:4] != "00":
        return "city"
    return "province"


def parent_code_of(code: str) -> str | None:
    """The code of the division directly above, by structure (None for a province)."""
    level = level_of_code(code)
    if level == "village":
        return code[:9] + "000"
    if level == "township":
        return code[:6] + "000000"
    if level == "county":
        return code[:4] + "00000000"
    if level == "city":
        return code[:2] + "0000000000"
    return None


def county_of(code: str) -> str | None:
    """The 12-digit county code containing ``code`` (itself for a county); None above county."""
    if level_of_code(code) in ("province", "city"):
        return None
    return code[:6] + "000000"


def township_of(code: str) -> str | None:
    """The township code containing ``code`` (itself for a township); None above township."""
    if level_of_code(code) in ("province", "city", "county"):
        return None
    return code[:9] + "000"
