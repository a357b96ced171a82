"""One error hierarchy, framework-free.

Every error the registry raises on purpose carries a stable ``code`` (clients switch on it),
the explanation in Chinese (``zh``) and English (``en``) as separate fields, and optionally the
input ``field`` it concerns and extra data for the client (``allowed``, ``case`` …). Rules,
services and file readers raise these; the HTTP layer (:mod:`registry.http.errors`) alone maps
each kind to a status code and a response body, and the CLI to one line on stderr.
"""

from __future__ import annotations

from typing import Any


def field_error(field: str, message: str) -> dict[str, str]:
    """One problem with one input field, as error bodies list them."""
    return {"field": field, "message": message}


class RegistryError(Exception):
    """Base of every error the registry raises on purpose (a bad request unless a subclass
    says otherwise).

    Attributes:
        code: stable machine-readable code (``site_exists``, ``out_of_scope`` …).
        zh: Chinese explanation, for the pages.
        en: English explanation.
        field: the input field concerned, if any.
        errors: problems per field (by default the one of ``field``).
        extra: additional data for the client, merged into the response body.
    """

    default_code = "bad_request"
    default_zh = "请求无效"
    default_en = "bad request"

    def __init__(
        self,
        code: str | None = None,
        zh: str | None = None,
        en: str | None = None,
        field: str | None = None,
        errors: list[dict[str, str]] | None = None,
        **extra: Any,
    ) -> None:
        self.code = code or self.default_code
        self.zh = zh if zh is not None else self.default_zh
        self.en = en if en is not None else self.default_en
        self.field = field
        if errors is None:
            errors = [field_error(field, self.message)] if field else []
        self.errors = errors
        self.extra = extra
        super().__init__(f"{self.code}: {self.en}")

    @property
    def message(self) -> str:
        """Both languages in one line, where a list or a file has one text column."""
        return f"{self.zh} / {self.en}"


class InvalidInput(RegistryError):
    """The input breaks a rule or a field's format."""

    default_code = "invalid_input"
    default_zh = "请求数据无效"
    default_en = "invalid request data"


class RuleViolation(InvalidInput):
    """A pure rule refused an input (rules modules raise this; signature kept short)."""

    def __init__(self, code: str, zh: str, en: str, field: str | None = None, **extra: Any):
        super().__init__(code, zh, en, field=field, **extra)


class BadRequest(RegistryError):
    """The request itself is malformed (path, query string, body encoding)."""


class NotFound(RegistryError):
    default_code = "not_found"
    default_zh = "资源不存在"
    default_en = "not found"


class Conflict(RegistryError):
    """The request conflicts with the current state (exists already, stale version)."""

    default_code = "conflict"
    default_zh = "与当前数据冲突"
    default_en = "conflict with the current state"


class Unauthorized(RegistryError):
    """No, a bad or an expired sign-in."""

    default_code = "not_authenticated"
    default_zh = "需要登录"
    default_en = "sign-in required"


class Forbidden(RegistryError):
    """Signed in, but the role or scope does not allow it."""

    default_code = "forbidden"
    default_zh = "无权操作"
    default_en = "forbidden"


class TooManyRequests(RegistryError):
    """A limit on attempts or batches; ``retry_after`` seconds until the next may pass."""

    default_code = "too_many_requests"
    default_zh = "请求过于频繁"
    default_en = "too many requests"

    def __init__(self, *args: Any, retry_after: int | None = None, **kwargs: Any) -> None:
        if retry_after is not None:
            kwargs["retry_after"] = retry_after
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class UnsupportedMediaType(RegistryError):
    default_code = "unsupported_media_type"
    default_zh = "不支持的内容类型"
    default_en = "unsupported content type"


class TooLarge(RegistryError):
    """A body, file or workbook beyond its size limit."""

    default_code = "body_too_large"
    default_zh = "请求体过大"
    default_en = "request body too large"
