"""The exception pure rules raise; services turn it into an HTTP-mapped RegistryError."""

from __future__ import annotations


class RuleViolation(ValueError):
    """A domain rule refused an input.

    Attributes:
        code: stable machine-readable code (``status_transition_not_allowed`` …).
        zh: Chinese explanation.
        en: English explanation.
        field: the input field concerned, if any.
        extra: additional data for the client (e.g. ``distance_m``).
    """

    def __init__(self, code: str, zh: str, en: str, field: str | None = None, **extra: object):
        super().__init__(f"{code}: {en}")
        self.code = code
        self.zh = zh
        self.en = en
        self.field = field
        self.extra = extra
