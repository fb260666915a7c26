"""The nn-playground command line: train, evaluate, predict, and how it fails."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app.cli import main, progress_bar
from app.models import SHIPPED, shipped_model_path
from app.nn.network import Network
from app.nn.serialize import load_model, save_model

TIMEOUT = 120


def run_cli(*args: str, mnist_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a subprocess, as a user would run it."""
    env = dict(os.environ)
    if mnist_dir is not None:
        env["NNP_MNIST_DIR"] = str(mnist_dir)
    return subprocess.run(
        [sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


def draw_digit(path: Path, digit: str, *, size: int = 280) -> Path:
    """Black strokes on white, like a drawing exported from a paint program."""
    image = Image.new("RGB", (size, size), "white")
    pen = ImageDraw.Draw(image)
    width = size // 14
    if digit == "1":
        pen.line([(size * 0.52, size * 0.15), (size * 0.48, size * 0.85)], "black", width)
    elif digit == "0":
        pen.ellipse(
            [size * 0.3, size * 0.15, size * 0.7, size * 0.85], outline="black", width=width
        )
    elif digit == "7":
        pen.line(
            [(size * 0.25, size * 0.2), (size * 0.75, size * 0.2), (size * 0.42, size * 0.85)],
            "black",
            width,
        )
    image.save(path)
    return path


def test_train_json_summary_and_save(tmp_path: Path, mnist_dir: Path) -> None:
    model = tmp_path / "tiny.npz"
    result = run_cli(
        *("train", "--layers", "32", "--activation", "relu", "--cost", "cross_entropy"),
        *("--train-subset", "2000", "--epochs", "1", "--batch-size", "64"),
        *("--optimizer", "adam", "--learning-rate", "0.003", "--seed", "7"),
        *("--json", "--save", str(model)),
        mnist_dir=mnist_dir,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "finished" and summary["epochs"] == 1
    assert 0.7 < summary["test_accuracy"] <= 1
    assert summary["seconds"] > 0 and summary["samples_per_second"] > 0
    assert summary["samples_seen"] == 2000 and summary["steps"] == 32  # ceil(2000 / 64)
    assert summary["config"]["layers"] == [32] and summary["config"]["seed"] == 7
    assert "Traceback" not in result.stderr

    network, metadata = load_model(model)
    assert network.sizes == [784, 32, 10] and network.activation == "relu"
    assert metadata["test_accuracy"] == summary["test_accuracy"]
    assert metadata["config"] == summary["config"] and metadata["epochs"] == 1
    assert {"preset", "seconds", "created"} <= set(metadata)

    evaluated = run_cli("evaluate", str(model), "--json", mnist_dir=mnist_dir)
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["accuracy"] == pytest.approx(summary["test_accuracy"])


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_models_evaluate_to_their_bars(
    name: str, mnist_dir: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("NNP_MNIST_DIR", str(mnist_dir))
    assert main(["evaluate", name, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    confusion = np.array(report["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 10_000
    assert report["accuracy"] == pytest.approx(np.trace(confusion) / 10_000)
    assert report["accuracy"] >= {"3b1b": 0.955, "accurate": 0.99}[name]  # the issues' bars
    assert shipped_model_path(name).stat().st_size < 2_000_000


def test_evaluate_prints_a_confusion_table(mnist_dir: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("NNP_MNIST_DIR", str(mnist_dir))
    assert main(["evaluate", "3b1b"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "test accuracy" in lines[0]
    rows = [[int(n) for n in line.split()[1:]] for line in lines[2:12]]
    assert len(rows) == 10 and all(len(row) == 10 for row in rows)
    assert sum(map(sum, rows)) == 10_000


def test_predict_drawn_digits(tmp_path: Path, capsys) -> None:
    files = [draw_digit(tmp_path / f"{d}.png", d) for d in ("0", "1", "7")]
    assert main(["predict", *map(str, files), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    results = [json.loads(line) for line in lines]
    assert [r["file"] for r in results] == [str(f) for f in files]
    assert [r["digit"] for r in results] == [0, 1, 7]
    for r in results:
        assert len(r["probabilities"]) == 10 and sum(r["probabilities"]) == pytest.approx(1, 1e-4)
        assert r["probabilities"][r["digit"]] == max(r["probabilities"])


def test_predict_plain_output_and_model_by_path(tmp_path: Path, capsys) -> None:
    image = draw_digit(tmp_path / "one.png", "1")
    assert main(["predict", str(image), "--model", str(shipped_model_path("3b1b"))]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"{image}: 1 (")


def test_predict_keeps_going_after_a_bad_file(tmp_path: Path, capsys) -> None:
    good = draw_digit(tmp_path / "one.png", "1")
    blank = tmp_path / "blank.png"
    Image.new("L", (100, 100), 255).save(blank)
    assert main(["predict", str(blank), str(good), "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["digit"] == 1
    assert captured.err.count("\n") == 1 and "blank.png" in captured.err


def test_predict_errors_are_one_line(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), "white").save(blank)
    assert_one_line_error(run_cli("predict", str(blank)), "blank.png")

    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("hello")
    assert_one_line_error(run_cli("predict", str(not_an_image)), "notes.png")

    assert_one_line_error(run_cli("predict", str(tmp_path / "missing.png")), "missing.png")

    image = draw_digit(tmp_path / "one.png", "1")
    assert_one_line_error(run_cli("predict", str(image), "--model", "nope"), "nope")

    corrupt = tmp_path / "corrupt.npz"
    buffer = io.BytesIO()
    save_model(tmp_path / "ok.npz", Network([784, 4, 10], seed=0), {})
    buffer.write((tmp_path / "ok.npz").read_bytes()[:200])
    corrupt.write_bytes(buffer.getvalue())
    assert_one_line_error(run_cli("predict", str(image), "--model", str(corrupt)), "corrupt.npz")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["train", "--epochs", "0"], "epochs"),
        (["train", "--batch-size", "5000"], "batch_size"),
        (["train", "--layers", "16,x"], "--layers"),
        (["train", "--layers", "2000"], "layers"),
        (["train", "--learning-rate", "nan"], "--learning-rate"),
        (["train", "--activation", "swish"], "--activation"),
        (["train", "--preset", "huge"], "--preset"),
        (["train", "--train-subset", "0"], "train_subset"),
        (["train", "--save", "/nonexistent-dir/x.npz"], "nonexistent-dir"),
        (["evaluate", "missing.npz"], "missing.npz"),
        (["serve", "--port", "70000"], "--port"),
        (["frobnicate"], "frobnicate"),
    ],
)
def test_bad_arguments_fail_with_one_line(args: list[str], needle: str) -> None:
    assert_one_line_error(run_cli(*args), needle)


def test_bad_arguments_in_process_return_usage_status(capsys) -> None:
    assert main(["train", "--epochs", "many"]) == 2
    assert main(["train", "--epochs", "0"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_progress_bar_text() -> None:
    assert progress_bar(0, 200, width=10) == "[..........]   0%  0.0/0.0 MB"
    assert progress_bar(5_000_000, 10_000_000, width=10).startswith("[#####.....]  50%")
    assert progress_bar(1_500_000, 0, width=4) == "[????]  1.5 MB"


def test_download_finds_existing_mnist(mnist_dir: Path, tmp_path: Path) -> None:
    result = run_cli("download", "--cache-dir", str(tmp_path / "cache"), mnist_dir=mnist_dir)
    assert result.returncode == 0, result.stderr
    assert str(mnist_dir) in result.stdout


def test_serve_answers_healthz(tmp_path: Path, mnist_dir: Path) -> None:
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "NNP_MNIST_DIR": str(mnist_dir)}
    server = subprocess.Popen(
        [sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())",
         "--port", str(port), "--data-dir", str(tmp_path / "data")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.stderr.read()
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert response.status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_train_divergence_is_reported_not_raised(mnist_dir: Path) -> None:
    result = run_cli(
        *("train", "--layers", "32", "--activation", "relu", "--cost", "cross_entropy"),
        *("--optimizer", "sgd", "--learning-rate", "1e10", "--train-subset", "500"),
        *("--epochs", "1", "--json"),
        mnist_dir=mnist_dir,
    )
    assert result.returncode == 1
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "diverged" and "learning rate" in summary["reason"]
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr
    assert "diverged" in result.stderr.strip().splitlines()[-1]
