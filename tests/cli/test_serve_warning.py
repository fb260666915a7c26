"""`nn-playground serve` warns, in one line on stderr, when it listens beyond loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import exposure_warning, is_loopback, main


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "[::1]", "localhost", "LOCALHOST"]
)
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)
    assert exposure_warning(host) is None


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.1", "128.0.0.1", "pc.lan", "localhost.evil"]
)
def test_other_addresses_get_the_warning(host: str) -> None:
    assert not is_loopback(host)
    warning = exposure_warning(host)
    assert warning is not None and "\n" not in warning
    assert host in warning and "anyone who can reach" in warning


def serve_stderr(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> tuple[str, dict[str, object]]:
    """Run `serve` with uvicorn.run replaced by a recorder: no socket is bound."""
    import uvicorn

    calls: dict[str, object] = {}

    def fake_run(app: object, host: str, port: int, **options: object) -> None:
        calls.update(app=app, host=host, port=port, stderr_so_far=capsys.readouterr().err)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    assert main(["serve", *args, "--port", "0", "--data-dir", str(tmp_path / "data")]) == 0
    return str(calls.pop("stderr_so_far")), calls


def test_serve_on_all_interfaces_warns_before_it_listens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    stderr, calls = serve_stderr(["--host", "0.0.0.0"], tmp_path, monkeypatch, capsys)
    assert calls["host"] == "0.0.0.0"
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: serving on 0.0.0.0"), stderr


def test_serve_on_loopback_says_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.delenv("NNP_HOST", raising=False)
    stderr, calls = serve_stderr([], tmp_path, monkeypatch, capsys)
    assert calls["host"] == "127.0.0.1"
    assert stderr == ""


def test_nnp_host_from_the_environment_warns_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("NNP_HOST", "0.0.0.0")  # what the Docker image sets
    stderr, _ = serve_stderr([], tmp_path, monkeypatch, capsys)
    assert "anyone who can reach this address" in stderr
