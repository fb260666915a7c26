"""A 422 says which bound was broken (review #4): the page words it as "Learning rate must be more
than 0" from the error's `ctx`, which keeps the bounds, lengths and allowed words, and never
the input."""

from __future__ import annotations

from fastapi.testclient import TestClient


def _errors(client: TestClient, path: str, body: dict) -> list[dict]:
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    errors: list[dict] = r.json()["detail"]
    return errors


def test_a_bound_error_carries_its_bound(client: TestClient) -> None:
    [error] = _errors(client, "/api/explain/step", {"pixels": [0.5] * 784, "learning_rate": 0})
    assert error["type"] == "greater_than" and error["loc"] == ["body", "learning_rate"]
    assert error["ctx"] == {"gt": 0}
    [error] = _errors(client, "/api/runs", {"preset": "3b1b", "epochs": 1000})
    assert error["ctx"] == {"le": 100}


def test_a_word_error_carries_the_allowed_words(client: TestClient) -> None:
    [error] = _errors(client, "/api/explain", {"batch": {"source": "valid"}})
    assert error["type"] == "literal_error"
    for word in ("train", "test"):
        assert word in error["ctx"]["expected"]


def test_the_input_is_never_echoed(client: TestClient) -> None:
    huge = "A" * 100_000
    for error in _errors(client, "/api/explain", {"image": huge, "label": "x"}):
        assert set(error) <= {"type", "loc", "msg", "ctx"}
        assert huge not in str(error) and "input" not in error.get("ctx", {})
    [error] = _errors(client, "/api/runs", {"learning_rate": "fast"})
    assert "ctx" not in error  # nothing in a parsing error's ctx is a bound
