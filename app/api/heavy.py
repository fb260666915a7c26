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
import ctypes
import math
import sys
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, HTTPException
from starlette.requests import HTTPConnection

from app.api.limits import acquire_within

T = TypeVar("T")


def _libc_malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    return trim


_malloc_trim = _libc_malloc_trim()
TRIM_INTERVAL = 10.0  # seconds between two hand-backs of freed heap by `trim_memory_forever`


async def trim_memory_forever() -> None:
    """Every TRIM_INTERVAL seconds, hand the heap that requests freed back to the system (in a
    worker thread; a few ms). Big bodies, images and answers are freed when their request
    ends, but glibc keeps the pages in its arenas: without this the server's RSS stays at its
    high-water mark after a burst (issue 18, item 3: back near the baseline within 30 s)."""
    if _malloc_trim is None:
        return
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(TRIM_INTERVAL)
        await loop.run_in_executor(None, _malloc_trim, 0)


class WorkGate:
    """At most `slots` heavy jobs at once; `queue` more may wait up to `wait` seconds."""

    def __init__(self, slots: int, wait: float, queue: int) -> None:
        self.slots = slots
        self.wait = wait
        self.queue = queue
        self.waiting = 0
        self.running = 0
        self._free = asyncio.Semaphore(slots)
        self._trimmed = 0.0
        self._pool = ThreadPoolExecutor(slots, thread_name_prefix="heavy")

    def close(self) -> None:
        """Stop the pool's threads once their jobs are done (at shutdown)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def busy(self) -> HTTPException:
        retry = max(1, math.ceil(self.wait))
        return HTTPException(
            503,
            f"the server is busy with {self.slots} heavy requests and {self.waiting} waiting; "
            f"try again in {retry} s",
            headers={"Retry-After": str(retry)},
        )

    async def run(self, work: Callable[..., T], *args: object) -> T:
        """`work(*args)` in the pool's own threads (`slots` of them, apart from the thread pool
        of plain `def` endpoints) once a slot is free; HTTPException 503 (with Retry-After)
        when none frees up in time."""
        if self.waiting >= self.queue and self._free.locked():
            raise self.busy()
        self.waiting += 1
        try:
            await acquire_within(self._free, self.wait)
        except TimeoutError:
            raise self.busy() from None
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)
        finally:
            self.running -= 1
            self._free.release()
            if self.running == 0 and self.waiting == 0:
                self._give_back_memory()

    def _give_back_memory(self) -> None:
        """Once the last heavy job is done: hand the freed heap back to the system (glibc keeps
        freed memory in its per-thread arenas; this is what brings RSS back near its
        baseline), at most once a second, in a worker thread."""
        now = time.monotonic()
        if _malloc_trim is None or now - self._trimmed < 1.0:
            return
        self._trimmed = now
        asyncio.get_running_loop().run_in_executor(None, _malloc_trim, 0)


async def get_gate(conn: HTTPConnection) -> WorkGate:  # async: no thread-pool hop
    gate: WorkGate = conn.app.state.heavy
    return gate


GateDep = Annotated[WorkGate, Depends(get_gate)]


class Shared(Generic[T]):
    """One result per key, computed once through the gate however many ask at the same time.

    `weak`: keys are objects (a model's network) held weakly, the entry goes with them; else
    keys are any hashable values and the `size` latest results are kept (0: none, only the
    askers of the same moment share one computation)."""

    def __init__(self, *, weak: bool = True, size: int = 8) -> None:
        self._done: weakref.WeakKeyDictionary[object, T] | OrderedDict[Hashable, T] = (
            weakref.WeakKeyDictionary() if weak else OrderedDict()
        )
        self._size = size
        self._pending: dict[Hashable, asyncio.Future[T]] = {}

    async def get(self, key: Hashable, gate: WorkGate, work: Callable[[], T]) -> T:
        if key in self._done:
            return self._done[key]
        flight = id(key) if isinstance(self._done, weakref.WeakKeyDictionary) else key
        pending = self._pending.get(flight)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending[flight] = future
        try:
            result = await gate.run(work)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        finally:
            del self._pending[flight]
        self._done[key] = result
        if isinstance(self._done, OrderedDict) and len(self._done) > self._size:
            self._done.popitem(last=False)  # (size 0: the result just stored)
        future.set_result(result)
        return result
