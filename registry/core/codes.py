"""Division codes: 12-digit statistical codes, with the 6-digit GB/T 2260 form accepted.

Structure of a 12-digit code: ``PP CC DD TTT VVV`` — province, city, county, township, village;
``000000000000`` is the nation. A code's *prefix* is its significant digits (``4312`` for the
city 431200000000): a division lies within another when its code starts with the other's
prefix. Every such slicing of codes lives here.
"""

from __future__ import annotations

from registry.core.errors import RuleViolation

LEVELS = ("nation", "province", "city", "county", "township", "village")
NATION = "000000000000"
_DIGITS = {"nation": 0, "province": 2, "city": 4, "county": 6, "township": 9, "village": 12}


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
    """The level a 12-digit code's structure implies (``nation`` … ``village``)."""
    if code == NATION:
        return "nation"
    if code[9:] != "000":
        return "village"
    if code[6:9] != "000":
        return "township"
    if code[4:6] != "00":
        return "county"
    if code[2:4] != "00":
        return "city"
    return "province"


def prefix(code: str) -> str:
    """The significant digits of a 12-digit code (``4312`` for a city; ``""`` for the nation)."""
    return code[: _DIGITS[level_of_code(code)]]


def pad(digits: str) -> str:
    """Significant digits back to a 12-digit code."""
    return digits.ljust(12, "0")


def covers(ancestor: str, code: str) -> bool:
    """Whether ``code`` lies within ``ancestor`` (or is it)."""
    return code.startswith(prefix(ancestor))


def like_prefix(code: str) -> str:
    """A SQL ``LIKE`` pattern for every code within ``code``."""
    return prefix(code) + "%"


def parent_code_of(code: str) -> str | None:
    """The code of the division directly above, by structure (None for a province: the nation
    is no division of the register, only a possible root)."""
    level = level_of_code(code)
    if level in ("nation", "province"):
        return None
    above = {"village": 9, "township": 6, "county": 4, "city": 2}[level]
    return pad(code[:above])


def county_of(code: str) -> str | None:
    """The 12-digit county code containing ``code`` (itself for a county); None above county.

    A city whose townships hang directly under it (东莞 441900, 中山 442000, 儋州 460400,
    嘉峪关 620200: no county level) is its own county: its townships' county is the city.
    """
    if level_of_code(code) in ("nation", "province", "city"):
        return None
    return pad(code[:6])


def city_of(code: str) -> str | None:
    """The 12-digit city code containing ``code``; None above city."""
    if level_of_code(code) in ("nation", "province"):
        return None
    return pad(code[:4])
