"""Reading an uploaded file in a worker process, not in the server's.

Parsing a file at the limits of :mod:`registry.formats.problems` is seconds of CPU work that
allocates millions of short-lived objects. Done by a thread of the server, it still stalls the
event loop: the thread and the loop share one interpreter lock, and the garbage collector's
full collections — triggered by the parser's allocations, walking the server's whole heap, and
openpyxl leaves cyclic garbage behind for every row — pause every thread for up to 0.9 s. A
worker process (:func:`anyio.to_process.run_sync`, a small pool of reusable workers) parses
with its own interpreter, heap and memory, at a lower scheduling priority than the server; the
server only waits for the result.

What crosses between the processes is kept cheap for the event loop (anyio pickles arguments
and results on it): the upload goes through a temporary file, and the table comes back as
pickled pieces of a few thousand rows, unpickled one piece at a time in a worker thread. A
refusal comes back as the error's class and state, and is raised here as the same
:class:`~registry.core.errors.RegistryError`.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio.to_process
import anyio.to_thread

from registry.core.errors import RegistryError
from registry.formats.readers import RawTable, read_path, read_table

T = TypeVar("T")

PIECE_ROWS = 5_000
"""Rows (or features' geometries) per pickled piece of a table."""


def _portable(exc: RegistryError) -> tuple[type[RegistryError], tuple[Any, ...], dict[str, Any]]:
    # An exception pickles as its class called with ``args``: a RegistryError's args are its
    # one-line message, not its code and texts. Its class and attributes travel instead.
    return type(exc), exc.args, dict(exc.__dict__)


def _restore(cls: type[RegistryError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


WORKER_NICENESS = 10
"""The worker processes' scheduling priority (Unix niceness): parsing is background work, and
with few cores the server's own process must get the CPU first to keep answering."""


def _call(work: Callable[..., T], *args: Any) -> tuple[str, Any]:
    """In the worker process: ``work(*args)``, a refusal returned as data."""
    with contextlib.suppress(OSError, AttributeError):  # not on every platform
        if os.getpriority(os.PRIO_PROCESS, 0) < WORKER_NICENESS:
            os.setpriority(os.PRIO_PROCESS, 0, WORKER_NICENESS)
    try:
        return "ok", work(*args)
    except RegistryError as exc:
        return "refused", _portable(exc)


async def in_process(work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` in a worker process (``work`` a module-level function, its arguments
    and result small and picklable); a RegistryError it raises is raised here."""
    outcome, value = await anyio.to_process.run_sync(_call, work, *args)
    if outcome == "refused":
        raise _restore(*value)
    return value


def _read_pieces(path: str, name: str | None, hint: str | None) -> tuple[bytes, list[bytes]]:
    """In the worker process: the file at ``path`` read as a table, pickled in pieces."""
    table = read_table(read_path(path), name, hint)
    head = pickle.dumps(
        (table.format, table.columns, table.encoding, table.blank_rows), pickle.HIGHEST_PROTOCOL
    )
    pieces = [
        pickle.dumps(("rows", table.rows[i : i + PIECE_ROWS]), pickle.HIGHEST_PROTOCOL)
        for i in range(0, len(table.rows), PIECE_ROWS)
    ]
    geometries = list(table.geometries.items())
    pieces += [
        pickle.dumps(("geometries", geometries[i : i + PIECE_ROWS]), pickle.HIGHEST_PROTOCOL)
        for i in range(0, len(geometries), PIECE_ROWS)
    ]
    return head, pieces


def _assemble(head: bytes, pieces: list[bytes]) -> RawTable:
    """In a worker thread: the table from its pieces (each unpickled on its own, a short
    hold of the interpreter lock)."""
    fmt, columns, encoding, blank_rows = pickle.loads(head)
    table = RawTable(fmt, columns, [], encoding=encoding, blank_rows=blank_rows)
    for n, piece in enumerate(pieces):
        pieces[n] = b""
        kind, part = pickle.loads(piece)
        if kind == "rows":
            table.rows.extend(part)
        else:
            table.geometries.update(part)
    return table


def _write_temporary(data: bytes | bytearray) -> str:
    handle, path = tempfile.mkstemp(prefix="registry-upload-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return path


async def read_table_isolated(
    data: bytes | bytearray, name: str | None = None, hint: str | None = None
) -> RawTable:
    """:func:`~registry.formats.readers.read_table` in a worker process: the same table, or
    the same FileProblem / TooLarge."""
    path = await anyio.to_thread.run_sync(_write_temporary, data)
    try:
        head, pieces = await in_process(_read_pieces, path, name, hint)
    finally:
        await anyio.to_thread.run_sync(partial(_remove, path))
    return await anyio.to_thread.run_sync(_assemble, head, pieces)


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
