"""`nn-playground serve --class` (issue 16): the two links at start-up, no exposure warning,
and no secret in the server's output after the links (a real server in a subprocess)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from app.cli import main

from .api_support import wait_for
from .test_server import REPO, free_port


def test_class_mode_prints_the_links_and_no_secret_after_them(
    tmp_path: Path, mnist_dir: Path
) -> None:
    port = free_port()
    data = tmp_path / "data"
    env = {**os.environ, "NNP_MNIST_DIR": str(mnist_dir), "PYTHONPATH": str(REPO)}
    env.pop("NNP_TEACHER_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--class", "--port", str(port),
         "--data-dir", str(data)],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    assert proc.stdout is not None
    first, second = proc.stdout.readline(), proc.stdout.readline()
    assert first.strip() == f"class mode: learners open {url}/"
    token = (data / "teacher-token").read_text().strip()
    assert f"{url}/?teacher={token}" in second
    secrets = {"teacher token": token}

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, timeout=60, interval=0.1)
        secrets["cookie key"] = (data / "cookie-key").read_text().strip()
        with httpx.Client(base_url=url) as browser, httpx.Client(base_url=url) as script:
            r = browser.get(f"/?teacher={token}", follow_redirects=False)
            assert r.status_code == 303
            secrets["teacher cookie"] = browser.cookies["nnp_id"]
            assert browser.get("/api/me").json()["is_teacher"]
            assert browser.get("/?teacher=wrong-token-0123456789").status_code == 403
            auth = {"Authorization": f"Bearer {token}"}
            assert script.get("/api/class/limits", headers=auth).status_code == 200
            learner = script.get("/api/me")
            secrets["learner cookie"] = script.cookies["nnp_id"]
            secrets["learner token"] = script.post("/api/me/token").json()["token"]
            bad = script.get("/api/me", headers={"Authorization": f"Bearer {token}x"})
            assert learner.status_code == 200 and bad.status_code == 401
            r = script.post("/api/runs", json={"preset": "3b1b", "layers": [4000, 4000]})
            assert r.status_code == 422
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    for what, value in secrets.items():
        assert value not in rest, f"the {what} was printed after the links"
    assert "anyone who can reach" not in first + second + rest


def test_class_mode_on_all_interfaces_prints_links_not_the_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import uvicorn

    calls: dict[str, object] = {}

    def fake_run(app: object, host: str, port: int, **options: object) -> None:
        calls.update(host=host, output=capsys.readouterr())

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setenv("NNP_TEACHER_TOKEN", "a-teacher-token-of-20-chars")
    args = ["serve", "--class", "--host", "0.0.0.0", "--port", "0"]
    assert main([*args, "--data-dir", str(tmp_path / "data")]) == 0
    output = calls["output"]
    assert calls["host"] == "0.0.0.0"
    assert output.err == ""  # type: ignore[attr-defined]
    lines = output.out.splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 2 and lines[0].startswith("class mode: learners open http://")
    assert lines[1].endswith("/?teacher=a-teacher-token-of-20-chars (keep it private)")
    assert "0.0.0.0" not in lines[0]  # a link a phone can open: this machine's address


def test_a_teacher_token_too_short_is_one_line_and_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("NNP_TEACHER_TOKEN", "short")
    assert main(["serve", "--class", "--data-dir", str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "at least 16" in err


def test_the_token_command_makes_a_token_the_server_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = tmp_path / "data"
    assert main(["token", "--data-dir", str(data)]) == 0
    out = capsys.readouterr()
    token = out.out.strip()
    assert token.startswith("nnp_") and "token for" in out.err
    from app.main import DB_NAME
    from app.store.db import Store
    from app.store.learners import Learners

    store = Store(data / DB_NAME)
    learner = Learners(store).by_token(token)
    store.close()
    assert learner is not None and learner.id.startswith("u_")
    assert main(["token", "--data-dir", str(data), "--learner", "u_nobody"]) == 1
