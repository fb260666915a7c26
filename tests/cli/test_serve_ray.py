"""`serve --ray HOST:PORT` / NNP_RAY_ADDRESS choose the ray executor; without Ray, one line."""

from __future__ import annotations

import importlib.util

import pytest

from app.cli import main
from app.settings import Settings


def test_a_ray_address_means_the_ray_executor_unless_one_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().executor == "local"
    assert Settings(ray_address="10.0.0.5:6379").executor == "ray"
    monkeypatch.setenv("NNP_RAY_ADDRESS", "10.0.0.5:6379")
    assert Settings().executor == "ray" and Settings().ray_address == "10.0.0.5:6379"
    monkeypatch.setenv("NNP_EXECUTOR", "local")  # named: kept
    assert Settings().executor == "local"


def test_serve_with_ray_but_without_ray_installed_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a)
    )
    code = main(["serve", "--ray", "10.0.0.5:6379", "--port", "0"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "\n" not in err
    assert 'pip install "nn-playground[ray]"' in err
