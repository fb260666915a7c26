"""`nn-playground export MODEL --format onnx|json|card [-o FILE]`, run as a user would (a
subprocess), and how it fails (one line on stderr, a non-zero status)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.models import SHIPPED, shipped_model_path
from app.nn.network import Network
from app.nn.serialize import load_model, save_model
from tests.nn.export_support import INSTALL, assert_onnx_matches, mnist_digits

from .test_cli import TIMEOUT, assert_one_line_error

REPO = Path(__file__).resolve().parents[2]


def run_export(*args: str, cwd: Path, block_onnx: bool = False) -> subprocess.CompletedProcess:
    """`nn-playground export ...` in a subprocess; `block_onnx`: as if onnx were not installed."""
    block = "sys.modules['onnx'] = None; " if block_onnx else ""
    code = f"import sys; {block}from app.cli import main; sys.exit(main())"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", code, "export", *args],
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=TIMEOUT,
    )


@pytest.mark.parametrize("name", SHIPPED)
def test_onnx_of_a_shipped_model_agrees_with_ours(name: str, tmp_path: Path, mnist_dir) -> None:
    target = tmp_path / "out" / "model.onnx"
    target.parent.mkdir()
    result = run_export(name, "--format", "onnx", "-o", str(target), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert str(target) in result.stdout.decode()
    network, _ = load_model(shipped_model_path(name))
    assert_onnx_matches(target.read_bytes(), network, mnist_digits(mnist_dir))


def test_onnx_of_a_custom_model_file_with_the_default_name(tmp_path: Path, mnist_dir) -> None:
    network = Network([784, 30, 20, 10], "tanh", "quadratic", seed=9)
    save_model(tmp_path / "tanh-net.npz", network, {})
    result = run_export("tanh-net.npz", cwd=tmp_path)  # onnx, to <stem>.onnx here
    assert result.returncode == 0, result.stderr
    assert_onnx_matches((tmp_path / "tanh-net.onnx").read_bytes(), network, mnist_digits(mnist_dir))


def test_json_to_stdout_reads_back_into_the_same_network(tmp_path: Path, mnist_dir) -> None:
    result = run_export("3b1b", "--format", "json", "-o", "-", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    copy = Network.from_parameters(
        [np.array(layer["weights"], np.float32) for layer in body["layers"]],
        [np.array(layer["biases"], np.float32) for layer in body["layers"]],
        body["activation"],
        body["cost"],
    )
    network, _ = load_model(shipped_model_path("3b1b"))
    x = mnist_digits(mnist_dir)
    assert np.array_equal(copy.predict_proba(x), network.predict_proba(x))
    assert list(tmp_path.iterdir()) == []  # nothing written but stdout


def test_card_file(tmp_path: Path) -> None:
    result = run_export("accurate", "--format", "card", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    card = (tmp_path / "accurate-card.md").read_text()
    _, metadata = load_model(shipped_model_path("accurate"))
    assert f"{metadata['test_accuracy']:.2%}" in card and metadata["created"] in card
    assert "Parameters: 235,146" in card


def test_without_onnx_one_line_with_the_install_command(tmp_path: Path) -> None:
    result = run_export("accurate", cwd=tmp_path, block_onnx=True)
    assert_one_line_error(_text(result), INSTALL)
    assert list(tmp_path.iterdir()) == []
    # The other formats need no onnx.
    assert run_export("accurate", "--format", "json", cwd=tmp_path, block_onnx=True).returncode == 0


def test_bad_arguments_are_one_line(tmp_path: Path) -> None:
    assert_one_line_error(_text(run_export("accurate", "--format", "tflite", cwd=tmp_path)),
                          "invalid choice", "onnx", "json", "card")  # fmt: skip
    assert_one_line_error(_text(run_export("nope", cwd=tmp_path)), "nope")
    (tmp_path / "broken.npz").write_bytes(b"not a model")
    assert_one_line_error(_text(run_export("broken.npz", cwd=tmp_path)), "broken.npz")
    missing = tmp_path / "no" / "such" / "m.onnx"
    assert_one_line_error(_text(run_export("3b1b", "-o", str(missing), cwd=tmp_path)),
                          "does not exist")  # fmt: skip
    assert_one_line_error(_text(run_export("3b1b", "-o", str(tmp_path), cwd=tmp_path)),
                          "cannot write")  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.npz"]


def _text(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(), result.stderr.decode()
    )
