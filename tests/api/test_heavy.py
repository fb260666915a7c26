"""Heavy requests are bounded (issue 18, item 3): a bounded pool with 503 + Retry-After for
the excess, and the answer that is the same for everyone computed once."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.api.heavy import Shared, WorkGate

from .test_server import server

WHOLE_TEST_SET = {"batch": {"source": "test", "size": 10_000}, "model": "accurate"}


def test_the_shared_answer_is_computed_once_for_concurrent_askers() -> None:
    calls = 0
    release = threading.Event()

    def work() -> float:
        nonlocal calls
        calls += 1
        release.wait(10)
        return 42.0

    class Key:  # a model stand-in (held weakly)
        pass

    async def scenario() -> list[float]:
        gate, shared, key = WorkGate(slots=1, wait=5, queue=0), Shared[float](), Key()
        askers = [asyncio.create_task(shared.get(key, gate, work)) for _ in range(20)]
        for _ in range(10):
            await asyncio.sleep(0)  # let every asker arrive while the first computes
        release.set()
        results = await asyncio.gather(*askers)
        results.append(await shared.get(key, gate, work))  # later: from the cache
        return results

    assert asyncio.run(scenario()) == [42.0] * 21
    assert calls == 1


def test_excess_work_gets_503_with_retry_after() -> None:
    release = threading.Event()

    async def scenario() -> list[BaseException | None]:
        gate = WorkGate(slots=1, wait=0.2, queue=1)
        jobs = [asyncio.create_task(gate.run(release.wait, 10)) for _ in range(3)]
        # One runs, one waits (and gives up after 0.2 s), one finds the queue full.
        await asyncio.wait(jobs[1:], timeout=5)
        release.set()
        await asyncio.gather(*jobs, return_exceptions=True)
        return [job.exception() for job in jobs]

    first, *refused = asyncio.run(scenario())
    assert first is None
    assert [getattr(e, "status_code", None) for e in refused] == [503, 503]
    assert all(int(e.headers["Retry-After"]) >= 1 for e in refused)  # type: ignore[union-attr]


@pytest.fixture
def one_slot_server(tmp_path: Path, mnist_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NNP_HEAVY_SLOTS", "1")
    monkeypatch.setenv("NNP_HEAVY_WAIT_SECONDS", "0.5")
    with server(tmp_path / "data", mnist_dir) as (url, _):
        yield url


def test_concurrent_heavy_explains_are_bounded_and_the_test_set_mean_is_shared(
    one_slot_server: str,
) -> None:
    url = one_slot_server
    sample = {"batch": {"source": "train", "size": 10_000, "seed": 1}, "model": "accurate"}

    def post(body: dict[str, object]) -> httpx.Response:
        return httpx.post(f"{url}/api/explain", json=body, timeout=120)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, [sample] * 8))
    statuses = sorted(r.status_code for r in answers)
    assert set(statuses) <= {200, 503} and 200 in statuses and 503 in statuses, statuses
    busy = next(r for r in answers if r.status_code == 503)
    assert int(busy.headers["retry-after"]) >= 1 and "busy" in busy.json()["detail"]
    # The whole test set's mean: one computation shared by every asker, so all are answered
    # even with one slot and a short wait.
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, [WHOLE_TEST_SET] * 8))
    assert [r.status_code for r in answers] == [200] * 8, [r.text[:200] for r in answers]
    assert len({r.json()["cost"] for r in answers}) == 1
    assert answers[0].json()["count"] == 10_000
