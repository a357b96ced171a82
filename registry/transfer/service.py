"""The transfer capability's public face: bulk import, export, the import report as a file,
backup and restore.

Other capabilities, the command line and the tools use these names only; the modules behind
them (:mod:`.imports`, :mod:`.exports`, :mod:`.backup`) may change shape freely.
"""

from __future__ import annotations

from registry.transfer.backup import backup, restore
from registry.transfer.exports import FORMATS as EXPORT_FORMATS
from registry.transfer.exports import export, parse_target
from registry.transfer.imports import WHAT as IMPORTS
from registry.transfer.imports import import_file
from registry.transfer.imports.report import REPORT_FORMATS, report_file

__all__ = [
    "EXPORT_FORMATS",
    "IMPORTS",
    "REPORT_FORMATS",
    "backup",
    "export",
    "import_file",
    "parse_target",
    "report_file",
    "restore",
]
