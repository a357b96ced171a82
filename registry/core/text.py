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
