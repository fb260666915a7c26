"""Drawings on a full disk, for real (the data directory on a 5 MB tmpfs, as
tests/api/test_full_disk.py): storing a drawing or an import is a 507 with a clear detail and
leaves no file and no row; relabelling and deleting still work; the list is still served."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx

from tests.data.drawing_zips import labelled_zip, stroke_png
from tests.store.live import Server, fill_disk, tmpfs


def test_a_full_disk_gives_507_with_nothing_half_written_and_deletes_work(
    tmp_path: Path, mnist_dir: Path
) -> None:
    with tmpfs(tmp_path / "disk", "5m") as disk, Server(disk / "data", mnist_dir) as server:
        api = httpx.Client(base_url=server.url, timeout=60)
        body = {"image": base64.b64encode(stroke_png(3)).decode(), "label": 3}
        ids = [api.post("/api/drawings", json=body).json()["id"] for _ in range(3)]
        folder = disk / "data" / "drawings"
        fill_disk(disk)

        r = api.post("/api/drawings", json=body)
        assert r.status_code == 507, r.text
        assert "disk is full" in r.json()["detail"] and "drawing" in r.json()["detail"]
        r = api.post("/api/drawings/import", files={"file": ("d.zip", labelled_zip([1] * 40))})
        assert r.status_code == 507, r.text
        assert "disk is full" in r.json()["detail"]
        assert sorted(p.name for p in folder.iterdir()) == sorted(f"{i}.png" for i in ids)
        assert [d["id"] for d in api.get("/api/drawings").json()["drawings"]] == ids

        assert api.patch(f"/api/drawings/{ids[0]}", json={"label": 8}).status_code == 200
        assert api.delete(f"/api/drawings/{ids[1]}").status_code == 204
        fill_disk(disk, "filler2")  # full again
        assert api.delete(f"/api/drawings/{ids[2]}").status_code == 204
        listed = api.get("/api/drawings").json()
        assert [(d["id"], d["label"]) for d in listed["drawings"]] == [(ids[0], 8)]
        assert sorted(p.name for p in folder.iterdir()) == [f"{ids[0]}.png"]
        assert "Traceback" not in server.output(), server.output()
