"""Heavy requests go through a bounded pool; answers that are the same for everyone are shared.

Decoding a big drawing or averaging a 10,000-digit sample takes a core (and up to ~100 MB) for
a while. Run without bound, twenty of them at once slow every other request and take gigabytes
(issue 18, item 3). So every such job goes through the app's `WorkGate`: at most `slots` run at
once in the thread pool; a request waits up to `wait` seconds for a slot, and when it can't
get one (or `queue` requests are waiting already) it is answered 503 with `Retry-After`.

`Shared` computes an answer that does not depend on who asks (a model's mean over the whole
test set) once, while the others that ask for it meanwhile wait for that one result (holding no
slot), and keeps it for as long as the model lives.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

T = TypeVar("T")


class WorkGate:
    """At most `slots` heavy jobs at once; `queue` more may wait up to `wait` seconds."""

    def __init__(self, slots: int, wait: float, queue: int) -> None:
        self.slots = slots
        self.wait = wait
        self.queue = queue
        self.waiting = 0
        self._free = asyncio.Semaphore(slots)

    def busy(self) -> HTTPException:
        retry = max(1, math.ceil(self.wait))
        return HTTPException(
            503,
            f"the server is busy with {self.slots} heavy requests and {self.waiting} waiting; "
            f"try again in {retry} s",
            headers={"Retry-After": str(retry)},
        )

    async def run(self, work: Callable[..., T], *args: object) -> T:
        """`work(*args)` in the thread pool once a slot is free; HTTPException 503 (with
        Retry-After) when none frees up in time."""
        if self.waiting >= self.queue and self._free.locked():
            raise self.busy()
        self.waiting += 1
        try:
            await asyncio.wait_for(self._free.acquire(), self.wait)
        except TimeoutError:
            raise self.busy() from None
        finally:
            self.waiting -= 1
        try:
            return await run_in_threadpool(work, *args)
        finally:
            self._free.release()


async def get_gate(conn: HTTPConnection) -> WorkGate:  # async: no thread-pool hop
    gate: WorkGate = conn.app.state.heavy
    return gate


GateDep = Annotated[WorkGate, Depends(get_gate)]


class Shared(Generic[T]):
    """One result per key (a key object, held weakly: the entry goes with it), computed once
    through the gate however many ask at the same time."""

    def __init__(self) -> None:
        self._done: weakref.WeakKeyDictionary[object, T] = weakref.WeakKeyDictionary()
        self._pending: dict[int, asyncio.Future[T]] = {}

    async def get(self, key: object, gate: WorkGate, work: Callable[[], T]) -> T:
        if key in self._done:
            return self._done[key]
        pending = self._pending.get(id(key))
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending[id(key)] = future
        try:
            result = await gate.run(work)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        finally:
            del self._pending[id(key)]
        self._done[key] = result
        future.set_result(result)
        return result
