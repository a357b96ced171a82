"""Group commit: single requests that arrive while a write is running are applied together.

A :class:`GroupCommit` queue takes one item per request and hands the items that are waiting
to its ``apply`` callback, a group at a time, so one transaction (and one set-based statement
per table) serves many requests. Whatever the grouping, every caller is answered as if alone:

- each caller gets its own outcome — the result ``apply`` gives for its item, or the exception
  meant for it — never another's;
- a group never holds two items of one ``key`` (a retried request whose first copy is in the
  group goes to the next group and sees the first copy's write);
- when ``apply`` fails for a whole group, its items are applied again one by one, so one bad
  item never fails the others;
- should the drain itself break or be cancelled (the server stopping), every waiting caller is
  answered with an error instead of waiting for ever, and the next item starts a new drain.

The drain runs in its own task, in a fresh context in which only the registry runtime is
active: it belongs to no request (and to no request's transaction), so a client that hangs up
does not roll back the others' writes. With nothing else running, an item is applied at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from registry.core import runtime

log = logging.getLogger("registry.db.group_commit")

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Job(Generic[T, R]):
    item: T
    done: asyncio.Future[R]


class GroupCommit(Generic[T, R]):
    """A queue of single writes applied in groups (see the module doc).

    Args:
        apply: writes a group of items (in one transaction) and answers each of them, in
            order: its result, or the exception its caller gets (without failing the others).
        key: what two items of one group must not share (e.g. the id of the record written).
        limit: the most items in one group.
        name: what the items are, for the log and the errors ("case write").
    """

    def __init__(
        self,
        apply: Callable[[list[T]], Awaitable[Sequence[R | Exception]]],
        *,
        key: Callable[[T], Hashable],
        limit: int,
        name: str,
    ) -> None:
        self.apply = apply
        self.key = key
        self.limit = limit
        self.name = name
        self.jobs: list[_Job[T, R]] = []
        self.task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Queue ``item`` and wait for its outcome (its result, or its exception raised)."""
        loop = asyncio.get_running_loop()
        job: _Job[T, R] = _Job(item, loop.create_future())
        self.jobs.append(job)
        if self.task is None:
            # A fresh context: the drain belongs to no request (and to no transaction), only
            # to the deployment.
            context = contextvars.Context()
            context.run(runtime.activate, runtime.current())
            self.task = loop.create_task(self._drain(), context=context)
        return await job.done

    def _take(self) -> list[_Job[T, R]]:
        """The next group: waiting jobs in arrival order, one per key, at most ``limit``."""
        taken: list[_Job[T, R]] = []
        keys: set[Hashable] = set()
        rest: list[_Job[T, R]] = []
        for job in self.jobs:
            key = self.key(job.item)
            if key in keys or len(taken) >= self.limit:
                rest.append(job)
            else:
                keys.add(key)
                taken.append(job)
        self.jobs = rest
        return taken

    async def _drain(self) -> None:
        current: list[_Job[T, R]] = []
        try:
            while self.jobs:
                current = self._take()
                await self._run(current)
                current = []
        finally:
            self.task = None
            # Only after an unexpected error or a cancellation (shutdown): no caller is left
            # waiting for a drain that is gone.
            for job in [*current, *self.jobs]:
                if not job.done.done():
                    job.done.set_exception(RuntimeError(f"the {self.name} queue stopped"))
            self.jobs = []

    async def _run(self, jobs: list[_Job[T, R]]) -> None:
        """Apply one group; should it fail as a whole, apply its items one by one."""
        try:
            outcomes = await self.apply([job.item for job in jobs])
        except Exception as exc:
            if len(jobs) == 1:
                _answer(jobs[0], exc)
                return
            log.warning("a group of %d %ss failed; retrying them one by one", len(jobs), self.name)
            for job in jobs:
                try:
                    (outcome,) = await self.apply([job.item])
                except Exception as alone:
                    outcome = alone
                _answer(job, outcome)
            return
        for job, outcome in zip(jobs, outcomes, strict=True):
            _answer(job, outcome)


def _answer(job: _Job[Any, Any], outcome: Any) -> None:
    """Settle a job with its outcome (an exception is raised in its caller: logged once there,
    answered as a 500 unless it is a registry error)."""
    if job.done.done():
        return
    if isinstance(outcome, Exception):
        job.done.set_exception(outcome)
    else:
        job.done.set_result(outcome)


def queue(slot: str, make: Callable[[], GroupCommit[T, R]]) -> GroupCommit[T, R]:
    """The queue kept in the runtime's ``slot`` for the running event loop, made by ``make`` on
    first use (the server has one loop; tests run several, and a queue's futures belong to its
    loop)."""
    queues = runtime.current().slot(slot, weakref.WeakKeyDictionary)
    loop = asyncio.get_running_loop()
    found = queues.get(loop)
    if found is None:
        found = queues[loop] = make()
    return found
