"""One error hierarchy and the one handler that maps it (and framework errors) to HTTP.

Every error response has the shape ``{"status", "code", "detail", "errors": [{"field",
"message"}]}``; ``code`` is stable (clients switch on it), ``detail`` is Chinese / English.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException

from registry.core.access import Denied
from registry.core.rule_errors import RuleViolation
from registry.db.engines import integrity_kind

log = logging.getLogger("registry")


class RegistryError(Exception):
    """Base of every error the registry raises on purpose."""

    status_code = 400
    default_code = "bad_request"

    def __init__(
        self,
        code: str | None = None,
        zh: str = "请求无效",
        en: str = "bad request",
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.code = code or self.default_code
        self.zh = zh
        self.en = en
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra
        super().__init__(f"{self.code}: {en}")

    @property
    def detail(self) -> str:
        return f"{self.zh} / {self.en}"

    def body(self) -> dict[str, Any]:
        return {
            "status": self.status_code,
            "code": self.code,
            "detail": self.detail,
            "errors": self.errors,
            **self.extra,
        }


class InvalidInput(RegistryError):
    status_code = 422
    default_code = "invalid_input"


class OutsideBoundary(InvalidInput):
    default_code = "outside_boundary"


class BadRequest(RegistryError):
    status_code = 400
    default_code = "bad_request"


class NotFound(RegistryError):
    status_code = 404
    default_code = "not_found"


class Conflict(RegistryError):
    status_code = 409
    default_code = "conflict"


class Unauthorized(RegistryError):
    status_code = 401
    default_code = "not_authenticated"

    def __init__(
        self, code: str | None = None, zh: str = "需要登录", en: str = "sign-in required", **kw: Any
    ) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(code, zh, en, **kw)


class Forbidden(RegistryError):
    status_code = 403
    default_code = "forbidden"


class TooManyRequests(RegistryError):
    status_code = 429
    default_code = "too_many_requests"


class UnsupportedMediaType(RegistryError):
    status_code = 415
    default_code = "unsupported_media_type"


class PayloadTooLarge(RegistryError):
    status_code = 413
    default_code = "body_too_large"


def field_error(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def from_rule(violation: RuleViolation) -> InvalidInput:
    """The 422 a broken domain rule becomes."""
    errors = (
        [field_error(violation.field, f"{violation.zh} / {violation.en}")]
        if violation.field
        else []
    )
    return InvalidInput(
        violation.code, violation.zh, violation.en, errors=errors, **violation.extra
    )


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        content=body, status_code=status, media_type=MediaType.JSON, headers=headers or {}
    )


_HTTP_CODES: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "请求格式错误", "malformed request"),
    401: ("not_authenticated", "需要登录", "sign-in required"),
    403: ("forbidden", "无权操作", "forbidden"),
    404: ("not_found", "资源不存在", "not found"),
    405: ("method_not_allowed", "不支持该请求方法", "method not allowed"),
    413: ("body_too_large", "请求体过大", "request body too large"),
    415: ("unsupported_media_type", "不支持的内容类型", "unsupported content type"),
    429: ("too_many_requests", "请求过于频繁", "too many requests"),
}


def _validation_errors(exc: ValidationException) -> tuple[str, list[dict[str, str]]]:
    """Turn Litestar/msgspec validation details into a stable code and field errors."""
    items = exc.extra if isinstance(exc.extra, list) else []
    errors: list[dict[str, str]] = []
    code = "invalid_input"
    for item in items:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", ""))
        key = str(item.get("key") or item.get("source") or "")
        lowered = message.lower()
        if "unknown field" in lowered:
            code = "unknown_field"
            start = message.find("`")
            end = message.rfind("`")
            if 0 <= start < end:
                key = message[start + 1 : end]
        elif "missing required field" in lowered and code == "invalid_input":
            code = "missing_field"
            start = message.find("`")
            end = message.rfind("`")
            if 0 <= start < end:
                key = message[start + 1 : end]
        elif (
            "json is malformed" in lowered
            or "invalid json" in lowered
            or "malformed" in lowered
            or "utf-8" in lowered
        ):
            code = "malformed_json"
        errors.append(field_error(key.removeprefix("$.") or "body", message))
    detail = str(exc.detail or "")
    if not errors and detail:
        lowered = detail.lower()
        if "json" in lowered or "decode" in lowered or "utf-8" in lowered:
            code = "malformed_json"
        errors.append(field_error("body", detail))
    return code, errors


def _only_path(exc: ValidationException) -> bool:
    items = exc.extra if isinstance(exc.extra, list) else []
    return bool(items) and all(
        isinstance(item, dict) and str(item.get("source")) in ("path", "ParamType.PATH")
        for item in items
    )


def _missing_body(exc: ValidationException) -> bool:
    """Litestar reports a required body that is absent as the bare key ``'data'``."""
    items = exc.extra if isinstance(exc.extra, list) else []
    return any(
        isinstance(item, dict) and item.get("key") == "data" and item.get("message") == "'data'"
        for item in items
    )


def exception_handler(request: Request, exc: Exception) -> Response:
    """The one handler: RegistryError, framework HTTP errors, integrity errors, the rest."""
    if isinstance(exc, RegistryError):
        return _json(exc.status_code, exc.body(), exc.headers)
    if isinstance(exc, RuleViolation):
        return _json(422, from_rule(exc).body())
    if isinstance(exc, Denied):
        error = (
            Unauthorized(exc.code, exc.zh, exc.en)
            if exc.code == "not_authenticated"
            else Forbidden(exc.code, exc.zh, exc.en)
        )
        return _json(error.status_code, error.body(), error.headers)
    if isinstance(exc, ValidationException) and _missing_body(exc):
        return _json(
            400,
            {
                "status": 400,
                "code": "missing_body",
                "detail": "缺少请求体（应为 JSON） / the request body is missing (JSON expected)",
                "errors": [field_error("body", "empty")],
            },
        )
    if isinstance(exc, ValidationException) and _only_path(exc):
        # An id out of range (0, -1, 2**64) names nothing, like /api/sites/abc: 404.
        return _json(
            404,
            {
                "status": 404,
                "code": "not_found",
                "detail": "资源不存在 / not found",
                "errors": _validation_errors(exc)[1],
            },
        )
    if isinstance(exc, ValidationException):
        code, errors = _validation_errors(exc)
        status = 400 if code == "malformed_json" else 422
        zh, en = {
            "malformed_json": ("请求体不是有效的 JSON", "request body is not valid JSON"),
            "unknown_field": ("请求包含未知字段", "request contains an unknown field"),
            "missing_field": ("缺少必填字段", "a required field is missing"),
        }.get(code, ("请求数据无效", "invalid request data"))
        return _json(
            status, {"status": status, "code": code, "detail": f"{zh} / {en}", "errors": errors}
        )
    if isinstance(exc, HTTPException) and isinstance(exc.__cause__, SerializationException):
        message = str(exc.detail or exc.__cause__)
        if "out of range" in message.lower():
            return _json(
                422,
                {
                    "status": 422,
                    "code": "number_out_of_range",
                    "detail": "数值超出可表示范围 / a number is out of range",
                    "errors": [field_error("body", message)],
                },
            )
        return _json(
            400,
            {
                "status": 400,
                "code": "malformed_json",
                "detail": "请求体不是有效的 JSON / request body is not valid JSON",
                "errors": [field_error("body", message)],
            },
        )
    if isinstance(exc, HTTPException):
        status = exc.status_code
        code, zh, en = _HTTP_CODES.get(status, ("http_error", "请求失败", "request failed"))
        body = {"status": status, "code": code, "detail": f"{zh} / {en}", "errors": []}
        if status not in _HTTP_CODES and exc.detail:
            body["errors"] = [field_error("request", str(exc.detail))]
        return _json(status, body, dict(exc.headers or {}))
    if isinstance(exc, UnicodeDecodeError):
        # msgspec checks UTF-8 inside JSON strings lazily and raises this (not a
        # ValidationException): invalid UTF-8 in a body is malformed input, not a crash.
        return _json(
            400,
            {
                "status": 400,
                "code": "malformed_json",
                "detail": "请求体不是有效的 UTF-8 JSON / request body is not valid UTF-8 JSON",
                "errors": [field_error("body", f"invalid UTF-8 at byte {exc.start}")],
            },
        )
    if isinstance(exc, RecursionError) and "deserializ" in str(exc):
        # msgspec gives up on JSON nested thousands deep (e.g. [[[[…]]]]): bad input, not a crash.
        return _json(
            400,
            {
                "status": 400,
                "code": "nesting_too_deep",
                "detail": "请求体的嵌套层次过深 / the request body is nested too deeply",
                "errors": [field_error("body", "maximum nesting depth exceeded")],
            },
        )
    kind = integrity_kind(exc)
    if kind is not None:
        zh, en = {
            "unique": ("记录已存在", "the record already exists"),
            "foreign_key": (
                "引用的记录不存在或仍被使用",
                "a referenced record is missing or in use",
            ),
        }.get(kind, ("数据约束冲突", "data constraint violated"))
        return _json(
            409, {"status": 409, "code": f"conflict_{kind}", "detail": f"{zh} / {en}", "errors": []}
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _json(
        500,
        {
            "status": 500,
            "code": "internal_error",
            "detail": "服务器内部错误 / internal server error",
            "errors": [],
        },
    )
