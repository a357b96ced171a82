"""Files over HTTP: the one media-type table and the one Content-Disposition header.

Every download (exports, reports, plan workbooks) is built by :func:`download`: its media type
follows from the file name's suffix, its ``Content-Disposition`` follows RFC 6266 — an ASCII
``filename`` for old clients and, when the name is not plain ASCII (Chinese county names), a
``filename*=UTF-8''…`` that every current browser prefers.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import PurePosixPath
from types import MappingProxyType
from urllib.parse import quote

from litestar import Response

MEDIA_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "geojson": "application/geo+json",
        "json": "application/json",
        "svg": "image/svg+xml",
    }
)
"""Media type by format name (a file name's suffix)."""


def media_type(filename_or_format: str) -> str:
    """The media type of a format (``xlsx``) or a file name (``sites.xlsx``)."""
    suffix = PurePosixPath(filename_or_format).suffix.lstrip(".") or filename_or_format
    return MEDIA_TYPES[suffix.lower()]


def format_of(content_type: str | None, allowed: Collection[str] = MEDIA_TYPES) -> str | None:
    """The format an upload's ``Content-Type`` declares (parameters ignored), if it is one of
    ``allowed``; None for any other type."""
    bare = (content_type or "").split(";")[0].strip().lower()
    for fmt in allowed:
        if MEDIA_TYPES[fmt].split(";")[0] == bare:
            return fmt
    return None


def _ascii_fallback(filename: str) -> str:
    # Quotes and backslashes would end or escape the quoted-string; non-ASCII has no encoding.
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """``attachment; filename="…"`` (RFC 6266), with ``filename*=UTF-8''…`` (RFC 8187) when the
    name is not plain printable ASCII."""
    fallback = _ascii_fallback(filename)
    header = f'{disposition}; filename="{fallback}"'
    if fallback != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


def download(
    content: bytes,
    filename: str,
    *,
    media: str | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    cache_control: str | None = "no-store",
) -> Response[bytes]:
    """A file download: media type from ``filename``'s suffix unless ``media`` is given;
    ``no-store`` by default (files hold current, often restricted, data)."""
    all_headers = {"Content-Disposition": content_disposition(filename)}
    if cache_control:
        all_headers["Cache-Control"] = cache_control
    all_headers.update(headers or {})
    return Response(
        content,
        status_code=status_code,
        media_type=media or media_type(filename),
        headers=all_headers,
    )
