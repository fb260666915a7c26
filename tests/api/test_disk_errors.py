"""A write the disk can't take is 507 with a clear detail, whichever layer saw it (issue 18,
item 2): ENOSPC and EDQUOT from the OS, SQLITE_FULL from SQLite, StorageFull from the store.
Any other I/O or database error stays a 500 that tells nothing of the server's insides."""

from __future__ import annotations

import errno
import sqlite3

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api import errors
from app.store.disk import is_disk_full, storage_full

FAILURES: dict[str, BaseException] = {
    "enospc": OSError(errno.ENOSPC, "No space left on device"),
    "edquot": OSError(errno.EDQUOT, "Disk quota exceeded"),
    "sqlite-full": sqlite3.OperationalError("database or disk is full"),
    "store": storage_full("store the model", OSError(errno.ENOSPC, "No space left on device")),
    "eacces": OSError(errno.EACCES, "Permission denied"),
    "sqlite-locked": sqlite3.OperationalError("database is locked"),
}


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    errors.install(app)

    @app.post("/fail/{kind}")
    def fail(kind: str) -> None:
        raise FAILURES[kind]

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize("kind", ["enospc", "edquot", "sqlite-full", "store"])
def test_a_full_disk_is_507_with_a_detail(client: TestClient, kind: str) -> None:
    r = client.post(f"/fail/{kind}")
    assert r.status_code == 507
    detail = r.json()["detail"]
    assert detail.startswith("the disk is full: could not ")
    assert "free space on the server, or delete models or runs" in detail
    assert r.headers.get("connection") != "close"


@pytest.mark.parametrize("kind", ["eacces", "sqlite-locked"])
def test_other_io_errors_stay_500_without_details(client: TestClient, kind: str) -> None:
    r = client.post(f"/fail/{kind}")
    assert r.status_code == 500
    assert r.json() == {"detail": "internal server error (logged on the server)"}


def test_disk_full_is_recognised_by_errno_and_sqlite_code() -> None:
    assert all(is_disk_full(FAILURES[k]) for k in ("enospc", "edquot", "sqlite-full", "store"))
    assert not any(is_disk_full(FAILURES[k]) for k in ("eacces", "sqlite-locked"))
    assert not is_disk_full(ValueError("no space"))


def test_openapi_declares_507_on_every_mutation() -> None:
    import app.main as main

    schema = main.create_app().openapi()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
                assert "507" in operation["responses"], (method, path)
