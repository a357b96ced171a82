"""The one mapping of errors to HTTP: status codes, response bodies, headers.

Every error response has the shape ``{"status", "code", "detail", "detail_zh", "detail_en",
"errors": [{"field", "message"}]}`` (plus an error's extra data); ``code`` is stable, ``detail``
is "Chinese / English". Registry errors (:mod:`registry.core.errors`), the framework's own
errors and the integrity errors of both database engines all pass through
:func:`exception_handler`; nothing else in the registry knows a status code of an error.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException

from registry.core.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RegistryError,
    TooLarge,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    field_error,
)
from registry.db.engines import integrity_kind

log = logging.getLogger("registry")

# Most specific first: the first kind an error is an instance of gives its status.
STATUS_OF: tuple[tuple[type[RegistryError], int], ...] = (
    (InvalidInput, 422),
    (NotFound, 404),
    (Conflict, 409),
    (Unauthorized, 401),
    (Forbidden, 403),
    (TooManyRequests, 429),
    (UnsupportedMediaType, 415),
    (TooLarge, 413),
    (BadRequest, 400),
    (RegistryError, 400),
)


def status_of(error: RegistryError) -> int:
    """The HTTP status of a registry error."""
    return next(status for kind, status in STATUS_OF if isinstance(error, kind))


def body(status: int, code: str, zh: str, en: str, errors: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "status": status,
        "code": code,
        "detail": f"{zh} / {en}",
        "detail_zh": zh,
        "detail_en": en,
        "errors": errors,
    }


def error_body(error: RegistryError) -> dict[str, Any]:
    """The response body of a registry error."""
    return {**body(status_of(error), error.code, error.zh, error.en, error.errors), **error.extra}


def error_headers(error: RegistryError) -> dict[str, str]:
    if isinstance(error, Unauthorized):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(error, TooManyRequests) and error.retry_after is not None:
        return {"Retry-After": str(error.retry_after)}
    return {}


def _json(status: int, content: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        content=content, status_code=status, media_type=MediaType.JSON, headers=headers or {}
    )


def error_response(error: RegistryError) -> Response:
    return _json(status_of(error), error_body(error), error_headers(error))


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

_VALIDATION_TEXTS = {
    "malformed_json": ("请求体不是有效的 JSON", "request body is not valid JSON"),
    "unknown_field": ("请求包含未知字段", "request contains an unknown field"),
    "missing_field": ("缺少必填字段", "a required field is missing"),
}


def _quoted(message: str) -> str | None:
    start, end = message.find("`"), message.rfind("`")
    return message[start + 1 : end] if 0 <= start < end else None


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
            key = _quoted(message) or key
        elif "missing required field" in lowered and code == "invalid_input":
            code = "missing_field"
            key = _quoted(message) or key
        elif "malformed" in lowered or "invalid json" in lowered or "utf-8" in lowered:
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


def _validation_response(exc: ValidationException) -> Response:
    if _missing_body(exc):
        zh, en = "缺少请求体（应为 JSON）", "the request body is missing (JSON expected)"
        return _json(400, body(400, "missing_body", zh, en, [field_error("body", "empty")]))
    if _only_path(exc):
        # An id out of range (0, -1, 2**64) names nothing, like /api/sites/abc: 404.
        errors = _validation_errors(exc)[1]
        return _json(404, body(404, "not_found", "资源不存在", "not found", errors))
    code, errors = _validation_errors(exc)
    status = 400 if code == "malformed_json" else 422
    zh, en = _VALIDATION_TEXTS.get(code, ("请求数据无效", "invalid request data"))
    return _json(status, body(status, code, zh, en, errors))


def _serialization_response(exc: HTTPException) -> Response:
    message = str(exc.detail or exc.__cause__)
    if "out of range" in message.lower():
        zh, en = "数值超出可表示范围", "a number is out of range"
        return _json(422, body(422, "number_out_of_range", zh, en, [field_error("body", message)]))
    zh, en = _VALIDATION_TEXTS["malformed_json"]
    return _json(400, body(400, "malformed_json", zh, en, [field_error("body", message)]))


def _http_response(exc: HTTPException) -> Response:
    status = exc.status_code
    code, zh, en = _HTTP_CODES.get(status, ("http_error", "请求失败", "request failed"))
    errors = []
    if status not in _HTTP_CODES and exc.detail:
        errors = [field_error("request", str(exc.detail))]
    return _json(status, body(status, code, zh, en, errors), dict(exc.headers or {}))


def exception_handler(request: Request, exc: Exception) -> Response:
    """The one handler: registry errors, framework HTTP errors, integrity errors, the rest."""
    if isinstance(exc, RegistryError):
        return error_response(exc)
    if isinstance(exc, ValidationException):
        return _validation_response(exc)
    if isinstance(exc, HTTPException) and isinstance(exc.__cause__, SerializationException):
        return _serialization_response(exc)
    if isinstance(exc, HTTPException):
        return _http_response(exc)
    if isinstance(exc, UnicodeDecodeError):
        # msgspec checks UTF-8 inside JSON strings lazily and raises this (not a
        # ValidationException): invalid UTF-8 in a body is malformed input, not a crash.
        zh, en = "请求体不是有效的 UTF-8 JSON", "request body is not valid UTF-8 JSON"
        errors = [field_error("body", f"invalid UTF-8 at byte {exc.start}")]
        return _json(400, body(400, "malformed_json", zh, en, errors))
    if isinstance(exc, RecursionError) and "deserializ" in str(exc):
        # msgspec gives up on JSON nested thousands deep (e.g. [[[[…]]]]): bad input, not a crash.
        zh, en = "请求体的嵌套层次过深", "the request body is nested too deeply"
        errors = [field_error("body", "maximum nesting depth exceeded")]
        return _json(400, body(400, "nesting_too_deep", zh, en, errors))
    kind = integrity_kind(exc)
    if kind is not None:
        zh, en = {
            "unique": ("记录已存在", "the record already exists"),
            "foreign_key": (
                "引用的记录不存在或仍被使用",
                "a referenced record is missing or in use",
            ),
        }.get(kind, ("数据约束冲突", "data constraint violated"))
        return _json(409, body(409, f"conflict_{kind}", zh, en, []))
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _json(500, body(500, "internal_error", "服务器内部错误", "internal server error", []))
