"""Text normalisation shared by every string a user submits."""

from __future__ import annotations

import re
import unicodedata

from registry.core.errors import RuleViolation

# C0/C1 controls (tab and line breaks are checked separately), bidi overrides, lone surrogates.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_ZERO_WIDTH = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
# U+FFFD is what a decoder puts where bytes were not valid UTF-8 (e.g. ?q=%FF%FE).
_REPLACEMENT = "\ufffd"
_WHITESPACE = re.compile(r"\s+")
_LINE_BREAKS = re.compile(r"[\t\n\r]")


# Chinese punctuation typed in full width; NFKC would turn it into ASCII, which is lossy in
# Chinese prose, so free text (notes, comments, reasons) keeps it.
_CJK_PUNCTUATION = "，（）：；！？"
_KEEP = re.compile(f"([{_CJK_PUNCTUATION}])")


def nfkc(value: str, keep_cjk_punctuation: bool = False) -> str:
    """NFKC-normalise (full-width letters and digits become half-width) and strip zero-width
    characters; optionally keep full-width Chinese punctuation as typed."""
    if not keep_cjk_punctuation:
        return _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", value))
    parts = _KEEP.split(value)
    return _ZERO_WIDTH.sub(
        "",
        "".join(
            p if p and p in _CJK_PUNCTUATION else unicodedata.normalize("NFKC", p) for p in parts
        ),
    )


def clean_text(
    value: str | None,
    field: str,
    *,
    max_length: int = 200,
    multiline: bool = False,
    required: bool = False,
) -> str | None:
    """Normalise a user string: NFKC, trimmed, control characters refused.

    Free text (``multiline``) keeps full-width Chinese punctuation (，（）：；！？) as typed.

    Args:
        value: the submitted string (None allowed unless ``required``).
        field: the field name for error messages.
        max_length: longest accepted length after normalisation.
        multiline: allow line breaks (notes); otherwise new lines are refused.
        required: an empty value is refused.

    Returns:
        The cleaned string, or None for a missing/blank optional value.

    Raises:
        RuleViolation: ``control_character``, ``invalid_encoding`` (U+FFFD, left where bytes
            were not UTF-8), ``too_long`` or ``required``.
    """
    if value is None:
        if required:
            raise RuleViolation("required", f"{field} 不能为空", f"{field} is required", field)
        return None
    text = nfkc(value, keep_cjk_punctuation=multiline).replace("\r\n", "\n")
    if _CONTROL.search(text) or (not multiline and _LINE_BREAKS.search(text)):
        raise RuleViolation(
            "control_character",
            f"{field} 含有控制字符",
            f"{field} contains control characters",
            field,
        )
    if _REPLACEMENT in text:
        raise RuleViolation(
            "invalid_encoding",
            f"{field} 含有无法识别的字符（不是有效的 UTF-8）",
            f"{field} contains an undecodable character (not valid UTF-8)",
            field,
        )
    text = text.strip()
    if not text:
        if required:
            raise RuleViolation("required", f"{field} 不能为空", f"{field} is required", field)
        return None
    if len(text) > max_length:
        raise RuleViolation(
            "too_long",
            f"{field} 超过 {max_length} 个字符",
            f"{field} is longer than {max_length} characters",
            field,
        )
    return text


def compact(value: str) -> str:
    """NFKC and every white space removed: the form in which sign names are compared."""
    return _WHITESPACE.sub("", nfkc(value))


# ------------------------------------------------------------------------------ personal data

# Chinese numerals written for digits (一三八… for 138…): read as digits when looking for
# numbers in free text.
_NUMERAL_DIGITS = str.maketrans("〇零一二三四五六七八九幺", "001234567891")
# Letters that look like the middle dot · or a dash, used as one: ㆍ (which NFKC makes ᆞ), ꞏ, ᐧ,
# ˑ and ー.
_SEPARATOR_LETTERS = frozenset("\u318d\u119e\ua78f\u1427\u02d1\u30fc")
# Identity numbers (17 digits and a digit or X) and mainland mobile numbers (with an optional
# +86 / 0086 prefix), matched against whole candidates.
_ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")
_MOBILE = re.compile(r"(?:(?:00)?86)?1[3-9][0-9]{9}")
_LONGEST = 22  # 0086 + 18 characters
_GROUP = re.compile(r"[0-9]+X?|X")
# Any digit (of any script) or Chinese numeral: text with fewer than a mobile number's 11 holds
# no number worth reading (the common case, decided at C speed).
_DIGIT_LIKE = re.compile(r"[\d〇零一二三四五六七八九幺]")
_FEWEST_DIGITS = 11


def _is_word(char: str) -> bool:
    """A letter or a digit of any script. Everything else — spaces, dashes, dots, slashes, the
    middle dot · and its look-alikes (・‧•∙⋅ and the letters ㆍꞏᐧ), brackets, commas … —
    separates."""
    return unicodedata.category(char)[0] in "LN" and char not in _SEPARATOR_LETTERS


def _ascii_digits(text: str) -> str:
    """NFKC, zero-width characters removed, upper-cased, every decimal digit of any script and
    every Chinese numeral as its ASCII digit."""
    text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text)).upper()
    text = text.translate(_NUMERAL_DIGITS)
    return "".join(
        c if c.isascii() or unicodedata.decimal(c, None) is None else str(unicodedata.decimal(c))
        for c in text
    )


def number_runs(value: str) -> list[list[str]]:
    """The numbers of free text as people separate them: runs of digit groups with nothing but
    separators between them (``431202-19850612-3472`` → ``[431202, 19850612, 3472]``;
    ``4/3/1/2…`` → ``[4, 3, 1, 2, …]``); a letter or a CJK character ends a run. Digits are
    normalised first (full-width, other scripts, Chinese numerals); an ID's final X is kept."""
    text = _ascii_digits(value)
    runs: list[list[str]] = []
    run: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char.isascii() and (char.isdigit() or (char == "X" and run)):
            group = _GROUP.match(text, position)
            assert group is not None
            run.append(group.group())
            position = group.end()
            if group.group().endswith("X"):
                runs.append(run)
                run = []
            continue
        if _is_word(char) and run:
            runs.append(run)
            run = []
        position += 1
    if run:
        runs.append(run)
    return runs


def _numbers_in(runs: list[list[str]]) -> bool:
    """Whether some consecutive groups of a run make an identity or a mobile number exactly (two
    numbers written one after the other are still found one by one)."""
    for run in runs:
        for start in range(len(run)):
            candidate = ""
            for group in run[start:]:
                candidate += group
                if len(candidate) > _LONGEST:
                    break
                if _ID_NUMBER.fullmatch(candidate) or _MOBILE.fullmatch(candidate):
                    return True
    return False


def word_view(value: str) -> str:
    """Free text as names are compared: digits normalised as for numbers, case folded, and
    every character that is neither a letter nor a digit removed, so ``欧阳·秀英``, ``欧阳 秀英``
    and ``欧阳-秀英`` all read ``欧阳秀英``."""
    return "".join(c for c in _ascii_digits(value).casefold() if _is_word(c))


def personal_data_in(value: str | None, known: tuple[str, ...] = ()) -> bool:
    """Whether free text carries an identity number or a mobile number (however separated or
    written), or one of the ``known`` values (a person's name, ID or phone) in any spacing or
    punctuation."""
    if not value:
        return False
    digits = len(_DIGIT_LIKE.findall(value))
    if digits >= _FEWEST_DIGITS and _numbers_in(number_runs(value)):
        return True
    if not known:
        return False
    words = word_view(value)
    for item in known:
        wanted = word_view(item) if item else ""
        if len(wanted) >= 2 and wanted in words:
            return True
    return False


def check_no_personal_data(value: str | None, field: str) -> str | None:
    """Refuse free text (a note, a reason, a comment, an address) that carries an identity or a
    mobile number; the value itself is never repeated.

    Raises:
        RuleViolation: ``personal_data_in_text``.
    """
    if personal_data_in(value):
        raise RuleViolation(
            "personal_data_in_text",
            f"{field} 不能包含身份证号或手机号等个人信息",
            f"{field} cannot contain identity numbers, mobile numbers or other personal data",
            field,
        )
    return value
