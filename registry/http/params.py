"""Date and time query parameters, checked in one place before any handler runs.

Every ``date`` or ``datetime`` query parameter of every route (``/api/audit?since=&until=``,
``/api/cases?from=&to=``, ``/api/cases/stats``, ``/api/plans/{id}/progress?as_of=`` …) is
found from the handler's signature and its value checked here, so no route can forget: an
instant must lie between 0001-01-02 and 9999-12-30 in UTC, a date likewise. The margin of a day
keeps every later step representable — the conversion to UTC that the database drivers make
(``since=0001-01-01T00:00:00+14:00`` is 31 December of the year 0 in UTC: an OverflowError in
both drivers, a 500), to China time, or a day's arithmetic. Beyond: 422 ``date_out_of_range``.
A value that is not a date at all is left to the framework's parsing (422 ``invalid_input``).
Coverage's ``as_of`` (text, parsed by its rules within the campaign and today) is already
bounded.
"""

from __future__ import annotations

import types
import typing
from datetime import UTC, date, datetime, time

import msgspec
from litestar import Request
from litestar.handlers import HTTPRouteHandler
from litestar.params import (
    CookieParameter,
    HeaderParameter,
    ParameterKwarg,
    PathParameter,
    QueryParameter,
)

from registry.core.errors import InvalidInput

EARLIEST = date(1, 1, 2)
LATEST = date(9999, 12, 30)
_FIRST_INSTANT = datetime.combine(EARLIEST, time.min, tzinfo=UTC)
_LAST_INSTANT = datetime.combine(LATEST, time.max, tzinfo=UTC)
OPT_KEY = "registry.temporal_query"


def _temporal_kind(annotation: typing.Any) -> type[date] | None:
    """``datetime`` or ``date`` when the annotation is one of them (or optional)."""
    candidates = (annotation,)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        candidates = typing.get_args(annotation)
    for kind in (datetime, date):  # datetime first: it is a date too
        if kind in candidates:
            return kind
    return None


def temporal_query_parameters(handler: HTTPRouteHandler) -> tuple[tuple[str, type[date]], ...]:
    """The (query name, type) of each date or datetime query parameter of a handler."""
    found: list[tuple[str, type[date]]] = []
    path_names = {
        part.split(":")[0].strip("{")
        for path in handler.paths
        for part in path.split("/")
        if part.startswith("{")
    }
    for name, field in handler.parsed_fn_signature.parameters.items():
        kind = _temporal_kind(field.annotation)
        if kind is None or name in path_names:
            continue
        kwarg = field.kwarg_definition
        if kwarg is None:
            found.append((name, kind))
        elif isinstance(kwarg, QueryParameter):
            found.append((kwarg.name or kwarg.query or name, kind))
        elif isinstance(kwarg, ParameterKwarg) and not (
            isinstance(kwarg, HeaderParameter | CookieParameter | PathParameter)
            or kwarg.header
            or kwarg.cookie
        ):
            found.append((kwarg.query or name, kind))
    return tuple(found)


def out_of_range(name: str) -> InvalidInput:
    return InvalidInput(
        "date_out_of_range",
        f"{name} 超出可处理的日期范围（{EARLIEST} 至 {LATEST}）",
        f"{name} lies outside the dates the registry handles ({EARLIEST} to {LATEST})",
        field=name,
    )


def check_value(name: str, kind: type[date], raw: str) -> None:
    """Raise 422 ``date_out_of_range`` for a date or instant beyond the representable range
    (a value that does not parse is left to the framework)."""
    try:
        value = msgspec.convert(raw, kind, strict=False)
    except msgspec.ValidationError:
        return
    if isinstance(value, datetime):
        try:
            instant = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError:
            raise out_of_range(name) from None
        if not _FIRST_INSTANT <= instant <= _LAST_INSTANT:
            raise out_of_range(name)
    elif not EARLIEST <= value <= LATEST:
        raise out_of_range(name)


def check_query_dates(request: Request) -> None:
    """Check every date and datetime query parameter of the request's route."""
    if not request.scope.get("query_string"):
        return
    handler = request.route_handler
    params = handler.opt.get(OPT_KEY)
    if params is None:
        params = handler.opt[OPT_KEY] = temporal_query_parameters(handler)
    if not params:
        return
    query = request.query_params
    for name, kind in params:
        for raw in query.getall(name, []):
            check_value(name, kind, raw)
