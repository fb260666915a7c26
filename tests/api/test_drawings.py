"""/api/drawings and /api/class/drawings (issue 17) against a real server (a subprocess with
a real SQLite file): the CRUD round trip, export → import, wrong input refused with nothing
stored, and ownership in class mode (learner, other learner, teacher, anonymous)."""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.api.routers.drawings import POOL_FROM
from app.data.preprocess import image_to_input
from tests.data.drawing_zips import blank_png, encoded, labelled_zip, stroke_png, zip_of
from tests.store.live import Server

TEACHER_TOKEN = "drawings-teacher-token-0123456789"
TEACHER = {"Authorization": f"Bearer {TEACHER_TOKEN}"}
NONE = {str(d): 0 for d in range(10)}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def server(tmp_path: Path, mnist_dir: Path) -> Iterator[Server]:
    with Server(tmp_path / "data", mnist_dir) as live:
        yield live


@pytest.fixture
def class_server(tmp_path: Path, mnist_dir: Path) -> Iterator[Server]:
    env = {"NNP_CLASS": "1", "NNP_TEACHER_TOKEN": TEACHER_TOKEN, "NNP_RATE_DRAWINGS": "5"}
    with Server(tmp_path / "data", mnist_dir, **env) as live:
        yield live


def stored_files(server: Server) -> list[str]:
    folder = server.data_dir / "drawings"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_the_crud_round_trip(server: Server) -> None:
    api = httpx.Client(base_url=server.url, timeout=30)
    assert api.get("/api/drawings").json() == {"drawings": [], "counts": NONE}
    png = stroke_png(7)
    r = api.post("/api/drawings", json={"image": b64(png), "label": 7, "source": "correction"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["label"] == 7 and made["source"] == "correction" and "input" not in made
    assert (made["width"], made["height"], made["owner"]) == (280, 280, "local")
    pixels = np.zeros(784)
    pixels[350:450] = 1.0
    r = api.post("/api/drawings", json={"pixels": pixels.tolist(), "label": 1})
    assert r.status_code == 201 and r.json()["source"] == "example"
    second = r.json()["id"]

    one = api.get(f"/api/drawings/{made['id']}", params={"include": "input"}).json()
    np.testing.assert_allclose(one["input"], image_to_input(png), atol=1e-6)  # predict's input
    image = api.get(f"/api/drawings/{made['id']}/image")
    assert image.headers["content-type"] == "image/png" and image.content == png
    small = api.get(f"/api/drawings/{second}/image").content
    assert small.startswith(b"\x89PNG") and len(small) < 1000  # a PNG of its 28×28

    listed = api.get("/api/drawings").json()
    assert [d["id"] for d in listed["drawings"]] == [made["id"], second]
    assert listed["counts"] == {**NONE, "7": 1, "1": 1}
    r = api.patch(f"/api/drawings/{made['id']}", json={"label": 9})
    assert r.status_code == 200 and r.json()["label"] == 9
    assert api.delete(f"/api/drawings/{second}").status_code == 204
    assert api.get(f"/api/drawings/{second}").status_code == 404
    assert api.get("/api/drawings").json()["counts"] == {**NONE, "9": 1}
    assert stored_files(server) == [f"{made['id']}.png"]

    server.stop()
    server.start()  # kept across a restart
    assert [d["label"] for d in api.get("/api/drawings").json()["drawings"]] == [9]


def test_an_export_imports_back_to_the_same_set(server: Server) -> None:
    api = httpx.Client(base_url=server.url, timeout=60)
    for label in (3, 1, 4):
        assert (
            api.post(
                "/api/drawings", json={"image": b64(stroke_png(label)), "label": label}
            ).status_code
            == 201
        )
    pixels = np.zeros(784)
    pixels[100:200] = 0.6
    assert (
        api.post("/api/drawings", json={"pixels": pixels.tolist(), "label": 0}).status_code == 201
    )
    before = api.get("/api/drawings", params={"include": "input"}).json()["drawings"]
    export = api.get("/api/drawings/export")
    assert export.status_code == 200 and export.headers["content-type"] == "application/zip"
    assert "drawings.zip" in export.headers["content-disposition"]
    for d in before:
        assert api.delete(f"/api/drawings/{d['id']}").status_code == 204

    r = api.post("/api/drawings/import", files={"file": ("drawings.zip", export.content)})
    assert r.status_code == 201, r.text
    assert r.json() == {"imported": 4, "counts": {**NONE, "0": 1, "1": 1, "3": 1, "4": 1}}
    after = api.get("/api/drawings", params={"include": "input"}).json()["drawings"]
    assert [d["label"] for d in after] == [d["label"] for d in before]
    assert {d["source"] for d in after} == {"import"}
    for old, new in zip(before, after, strict=True):
        assert np.array_equal(
            np.rint(np.array(old["input"]) * 255), np.rint(np.array(new["input"]) * 255)
        )
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        originals = [archive.read(f"images/{d['id']}.png") for d in before]
    assert [api.get(f"/api/drawings/{d['id']}/image").content for d in after] == originals


def test_an_import_with_bad_rows_reports_each_and_imports_nothing(server: Server) -> None:
    api = httpx.Client(base_url=server.url, timeout=60)
    files: dict[str, bytes | str] = {
        "a.png": stroke_png(1),
        "b.png": stroke_png(2),
        "c.png": blank_png(),
        "labels.csv": "file,label\na.png,1\nb.png,two\nnope.png,3\na.png,1\n",
    }
    r = api.post("/api/drawings/import", files={"file": ("bad.zip", zip_of(files))})
    assert r.status_code == 422, r.text
    body = r.json()
    assert "nothing was imported" in body["detail"]
    assert [(e["row"], e["file"]) for e in body["errors"]] == [
        (3, "b.png"),
        (4, "nope.png"),
        (5, "a.png"),
        (None, "c.png"),
    ]
    files["labels.csv"] = "file,label\na.png,1\nb.png,2\nc.png,3\n"  # c.png is blank
    r = api.post("/api/drawings/import", files={"file": ("bad.zip", zip_of(files))})
    assert r.status_code == 422 and [e["row"] for e in r.json()["errors"]] == [4]
    assert "empty" in r.json()["errors"][0]["error"].lower()
    assert api.get("/api/drawings").json()["drawings"] == [] and stored_files(server) == []


def test_wrong_types_and_sizes_are_refused_and_nothing_is_stored(
    tmp_path: Path, mnist_dir: Path
) -> None:
    env = {"NNP_DRAWING_MAX_IMAGE_BYTES": "20000", "NNP_DRAWINGS_IMPORT_MAX_BYTES": "300000"}
    with Server(tmp_path / "data", mnist_dir, **env) as server:
        api = httpx.Client(base_url=server.url, timeout=60)
        gif = b"GIF89a" + bytes(100)
        cases = [
            ({"image": b64(gif), "label": 1}, 422, "PNG, JPEG or WebP"),
            ({"image": "not base64!", "label": 1}, 422, "base64"),
            ({"image": b64(blank_png()), "label": 1}, 422, "empty"),
            ({"image": b64(stroke_png()), "label": 10}, 422, None),
            ({"image": b64(stroke_png()), "pixels": [0.5] * 784, "label": 1}, 422, None),
            ({"image": b64(encoded(stroke_png(), "BMP")), "label": 1}, 413, "20,000"),
            ({"image": b64(stroke_png()), "label": 1, "source": "import"}, 422, None),
        ]
        for body, code, words in cases:
            r = api.post("/api/drawings", json=body)
            assert r.status_code == code, (body.get("label"), r.text)
            assert "detail" in r.json() and (words is None or words in str(r.json()["detail"]))
        r = api.post("/api/drawings/import", files={"file": ("x.png", stroke_png())})
        assert r.status_code == 422 and "not a zip" in r.json()["detail"]
        huge = zip_of(
            {f"f{k}.png": np.random.bytes(50_000) for k in range(8)}, method=zipfile.ZIP_STORED
        )
        r = api.post("/api/drawings/import", files={"file": ("big.zip", huge)})
        assert r.status_code == 413 and "detail" in r.json()
        r = api.post(
            "/api/drawings/import",
            files={"file": ("t.zip", zip_of({"../labels.csv": "file,label\n"}))},
        )
        assert r.status_code == 422 and "unsafe" in r.json()["detail"]
        assert api.get("/api/drawings").json()["drawings"] == [] and stored_files(server) == []
        assert api.get("/api/drawings/d_nothing").status_code == 404
        assert api.get("/api/drawings/..%2Fx").status_code in (404, 422)


def test_ownership_in_class_mode(class_server: Server) -> None:
    url = class_server.url
    anna, ben = httpx.Client(base_url=url, timeout=30), httpx.Client(base_url=url, timeout=30)
    names = {who: c.get("/api/me").json()["name"] for who, c in (("anna", anna), ("ben", ben))}
    teacher = httpx.Client(base_url=url, timeout=30, headers=TEACHER)
    anonymous = httpx.Client(base_url=url, timeout=30)
    body = {"image": b64(stroke_png(4)), "label": 4}
    r = anonymous.post("/api/drawings", json=body)
    assert r.status_code == 401 and "identity" in r.json()["detail"]
    r = anonymous.post("/api/drawings/import", files={"file": ("a.zip", labelled_zip([1]))})
    assert r.status_code == 401

    mine = anna.post("/api/drawings", json=body).json()
    assert mine["owner_name"] == names["anna"]
    assert ben.get("/api/drawings").json()["drawings"] == []
    for method, path, extra in (
        ("GET", "", {}),
        ("GET", "/image", {}),
        ("PATCH", "", {"json": {"label": 1}}),
        ("DELETE", "", {}),
    ):
        r = ben.request(method, f"/api/drawings/{mine['id']}{path}", **extra)
        assert r.status_code == 403, (method, path, r.text)
        assert names["anna"] in r.json()["detail"] and names["ben"] in r.json()["detail"]
    assert anonymous.get(f"/api/drawings/{mine['id']}").status_code == 403
    assert teacher.get(f"/api/drawings/{mine['id']}").json()["owner"] == mine["owner"]
    assert teacher.get(f"/api/drawings/{mine['id']}/image").status_code == 200
    assert anna.get(f"/api/drawings/{mine['id']}").status_code == 200
    r = ben.get("/api/drawings", params={"owner": mine["owner"]})
    assert r.status_code == 403 and names["ben"] in r.json()["detail"]
    theirs = teacher.get("/api/drawings", params={"owner": mine["owner"]}).json()
    assert [d["id"] for d in theirs["drawings"]] == [mine["id"]] and theirs["counts"]["4"] == 1
    assert teacher.get("/api/drawings").json()["drawings"] == []  # the teacher's own

    # Ben imports; the teacher pools; everyone sees the class dataset's size.
    r = ben.post("/api/drawings/import", files={"file": ("b.zip", labelled_zip([2, 2, 5]))})
    assert r.status_code == 201 and r.json()["imported"] == 3
    assert ben.post("/api/class/drawings").status_code == 403
    assert anna.get("/api/class/drawings").json() == {"count": 0, "counts": NONE, "pooled_at": None}
    everyone = teacher.get("/api/drawings", params={"owner": "all"}).json()
    assert len(everyone["drawings"]) == 4 and everyone["counts"]["2"] == 2
    pooled = teacher.post("/api/class/drawings").json()
    assert pooled["count"] == 4 and pooled["counts"] == {**NONE, "2": 2, "4": 1, "5": 1}
    assert anonymous.get("/api/class/drawings").json() == pooled
    assert ben.delete("/api/class/drawings").status_code == 403
    assert teacher.delete("/api/class/drawings").json()["count"] == 0

    # Creation is rate-limited per learner (NNP_RATE_DRAWINGS=5; the import counted one).
    codes = [anna.post("/api/drawings", json=body).status_code for _ in range(5)]
    assert codes == [201, 201, 201, 201, 429], codes
    assert teacher.post("/api/drawings", json=body).status_code == 201  # never limited


def test_a_big_import_is_decoded_in_worker_processes_all_the_same(server: Server) -> None:
    """240 images: over POOL_FROM, so the server decodes them in a process pool."""
    labels = [k % 10 for k in range(240)]
    assert len(labels) >= POOL_FROM
    api = httpx.Client(base_url=server.url, timeout=120)
    r = api.post("/api/drawings/import", files={"file": ("big.zip", labelled_zip(labels))})
    assert r.status_code == 201, r.text
    assert r.json()["counts"] == {str(d): 24 for d in range(10)}
    listed = api.get("/api/drawings", params={"include": "input"}).json()["drawings"]
    assert [d["label"] for d in listed] == labels
    for d in listed[:10]:
        np.testing.assert_allclose(d["input"], image_to_input(stroke_png(d["label"])), atol=1e-6)
