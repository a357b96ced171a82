"""The process state of one registry deployment, held in one object.

A server keeps things between requests: the database engine, caches (coverage figures, the
county boundary index, verified tokens), the group-commit queues of case writes, the login
throttle and the sync rate limiter, and (in tests) an injected clock. They all live on one
:class:`Runtime` — the app keeps it on ``app.state.runtime`` — instead of in module globals, so
one :meth:`Runtime.reset` forgets all of it and no module holds state of its own.

Code finds the runtime of the deployment it serves through a context variable: the HTTP
middleware activates the app's runtime for each request, the app's startup for its background
tasks, the ``registry`` command for its run, the tests for theirs. Each capability keeps its
state in a named *slot* created on first use (``runtime.slot("coverage.figures", LRU)``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar, Token
from datetime import datetime
from typing import Any, TypeVar

from registry.core.settings import Settings

T = TypeVar("T")


class LRU:
    """A bounded mapping that forgets its least recently used entry when full."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            self._items.move_to_end(key)
        except KeyError:
            return default
        return self._items[key]

    def put(self, key: Any, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)

    def __contains__(self, key: Any) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()


class Runtime:
    """What one deployment keeps between requests.

    Attributes:
        settings: the deployment's configuration.
        engine: the Piccolo engine of its database (set by :func:`registry.db.binding.bind`).
        clock: a replacement for the system clock (tests), or None.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: Any = None
        self.clock: Callable[[], datetime] | None = None
        self._slots: dict[str, Any] = {}

    def slot(self, name: str, factory: Callable[[], T]) -> T:
        """The object kept under ``name``, made by ``factory`` on first use."""
        found = self._slots.get(name)
        if found is None:
            found = self._slots[name] = factory()
        return found

    def forget(self, prefix: str = "") -> None:
        """Drop the slots whose name starts with ``prefix`` (all of them by default)."""
        for name in [n for n in self._slots if n.startswith(prefix)]:
            del self._slots[name]

    def reset(self) -> None:
        """Forget every cache, queue, limiter and the injected clock (tests)."""
        self.forget()
        self.clock = None


_active: ContextVar[Runtime | None] = ContextVar("registry_runtime", default=None)


def active() -> Runtime | None:
    """The runtime of the current context, or None outside any deployment."""
    return _active.get()


def current() -> Runtime:
    """The runtime of the current context.

    Raises:
        RuntimeError: no runtime was activated (a programming error: the app, the CLI and the
            test fixtures activate one).
    """
    runtime = _active.get()
    if runtime is None:
        raise RuntimeError("no registry runtime is active in this context")
    return runtime


def activate(runtime: Runtime) -> Token[Runtime | None]:
    """Make ``runtime`` current in this context (and the tasks it starts)."""
    return _active.set(runtime)


def deactivate(token: Token[Runtime | None]) -> None:
    _active.reset(token)
