"""Review #6: the disk reserve is topped up under the store's lock, so a write that releases
(unlinks) the reserve on a full disk never overlaps a fill that would write into the unlinked
file (taking the room the release freed), and two fills never both append."""

from __future__ import annotations

from pathlib import Path

from app.store.db import Store


def test_ensure_room_fills_the_reserve_under_the_store_lock(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3", reserve_bytes=64 * 1024)
    try:
        store.reserve.path.unlink()  # used by a write on a full disk: ensure_room refills it
        fill = store.reserve.fill
        held: list[bool] = []

        def watched_fill() -> bool:
            held.append(store._lock.locked())  # only this thread uses the store here
            return fill()

        store.reserve.fill = watched_fill  # type: ignore[method-assign]
        store.ensure_room("store the model")
        assert held == [True]
        assert store.reserve.path.stat().st_size == 64 * 1024
    finally:
        store.close()
