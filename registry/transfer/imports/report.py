"""The import report: every issue with its row, column, code and message, and the counts.

A row with any error is a bad row; a file with any error writes nothing. An issue's message is
the one line ``RegistryError.message`` gives (Chinese / English): the report has one text
column, so the two languages are joined there and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.core.errors import RegistryError, RuleViolation
from registry.formats.writers import write_csv, write_xlsx
from registry.transfer.schemas import ImportIssue, ImportReport

REPORT_FORMATS = ("json", "csv", "xlsx")
REPORT_COLUMNS = ("row", "column", "level", "code", "message")
SHOWN_ISSUES = 200
"""Issues a JSON answer lists at most (errors first); the csv/xlsx report has them all."""


class Issues:
    """The issues found so far, and the rows they make bad."""

    def __init__(self) -> None:
        self.items: list[ImportIssue] = []
        self.bad_rows: set[int] = set()
        self._errors = 0

    def add(
        self, row: int | None, column: str | None, problem: RegistryError, level: str = "error"
    ) -> None:
        """Record ``problem`` (its code and message) for ``row`` (None: the whole file)."""
        self.items.append(
            ImportIssue(
                row=row, column=column, code=problem.code, message=problem.message, level=level
            )
        )
        if level == "error":
            self._errors += 1
            if row is not None:
                self.bad_rows.add(row)

    def error(self, row: int | None, column: str | None, code: str, zh: str, en: str) -> None:
        self.add(row, column, RuleViolation(code, zh, en, column))

    def rule(self, row: int, exc: RuleViolation, column: str | None = None) -> None:
        """A rule's refusal, in ``column`` or else the rule's own field."""
        self.add(row, column or exc.field, exc)

    def warn(self, row: int | None, column: str | None, code: str, zh: str, en: str) -> None:
        self.add(row, column, RuleViolation(code, zh, en, column), level="warning")

    def warn_text(self, row: int, column: str, code: str, message: str) -> None:
        """A warning whose one-line text a rule already wrote (a location warning, which the
        site keeps as it is)."""
        self.items.append(
            ImportIssue(row=row, column=column, code=code, message=message, level="warning")
        )

    @property
    def errors(self) -> int:
        """Errors so far (counted as they are added: a large report is not counted again)."""
        return self._errors

    def sorted(self) -> list[ImportIssue]:
        return sorted(self.items, key=lambda i: (i.row or 0, i.level != "error", i.column or ""))


@dataclass
class Outcome:
    """What a valid file changes (all zero when it has any error)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    status_events: int = 0
    boundaries: int = 0


def shown_issues(issues: list[ImportIssue], limit: int = SHOWN_ISSUES) -> list[ImportIssue]:
    """At most ``limit`` of the (sorted) ``issues``, errors before warnings, in their order:
    what a JSON answer lists of a large report."""
    if len(issues) <= limit:
        return issues
    errors = [i for i in issues if i.level == "error"][:limit]
    if len(errors) == limit:
        return errors
    kept = set(map(id, errors))
    warnings = [i for i in issues if id(i) not in kept][: limit - len(errors)]
    chosen = set(map(id, errors + warnings))
    return [i for i in issues if id(i) in chosen]


def report_file(report: ImportReport, fmt: str) -> bytes:
    """The report's issues as a ``csv`` or ``xlsx`` table (:data:`REPORT_COLUMNS`), written by
    the shared writers (a header or cell quoted in a message never becomes a formula)."""
    rows = ([i.row, i.column, i.level, i.code, i.message] for i in report.issues)
    if fmt == "xlsx":
        return write_xlsx(REPORT_COLUMNS, rows, "report")
    return write_csv(REPORT_COLUMNS, rows)
