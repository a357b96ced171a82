"""The file system the static routers (``/static``, ``/static/docs``) read from.

Litestar's local file system answers "no such file" (404) only for ``FileNotFoundError``; any
other error of ``stat`` became a 500: ``/static/dashboard.css/foo`` (a file used as a folder,
``ENOTDIR``) and a name longer than the system allows (``ENAMETOOLONG``). A path that cannot
name a file names none: 404. Permission errors keep their own answer.
"""

from __future__ import annotations

from typing import Any

from litestar.file_system import BaseLocalFileSystem
from litestar.types import PathType
from litestar.types.file_types import FileInfo


class StaticFileSystem(BaseLocalFileSystem):
    """The local file system, where a path that cannot be looked up is simply not found."""

    async def info(self, path: PathType, **kwargs: Any) -> FileInfo:
        try:
            return await super().info(path, **kwargs)
        except (FileNotFoundError, PermissionError):
            raise
        except OSError as exc:
            raise FileNotFoundError(exc.errno, "not a file", str(path)) from None
