"""`nn-playground train` takes every TrainConfig option (issue 17 §2 adds data, drawings_fraction,
drawings_pool and from_model); the ones that need the server's drawings and models are refused
in one line, with a usage exit code, before anything loads."""

from __future__ import annotations

import pytest

from .test_cli import run_cli


@pytest.mark.parametrize(
    "options", [["--data", "mix"], ["--data", "drawings"], ["--from-model", "accurate"]]
)
def test_train_refuses_drawings_and_from_model_in_one_line(options: list[str]) -> None:
    result = run_cli("train", "--epochs", "1", *options)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "POST /api/runs" in line and "Traceback" not in result.stderr


def test_train_lists_the_fine_tune_options() -> None:
    result = run_cli("train", "--help")
    for flag in ("--data", "--drawings-fraction", "--drawings-pool", "--from-model"):
        assert flag in result.stdout
    assert "{mnist,drawings,mix}" in result.stdout
