"""Rows of the bad-input corpus kept beside its main list, one module per area: each module
defines ``ROWS`` (a list of :class:`tests.integration.corpus.rows.Row`), which
``test_bad_input_corpus`` appends to ``CORPUS``."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any


def extra_rows() -> list[Any]:
    rows: list[Any] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name == "rows":
            continue
        rows.extend(importlib.import_module(f"{__name__}.{info.name}").ROWS)
    return rows
