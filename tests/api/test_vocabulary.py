"""GET /api/vocabulary: the page's words, from the server's one declaration."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_vocabulary_lists_statuses_and_choices(client: TestClient) -> None:
    r = client.get("/api/vocabulary")
    assert r.status_code == 200
    v = r.json()
    assert v["statuses"][:4] == ["queued", "downloading", "running", "paused"]
    assert set(v["live_statuses"]) == {"queued", "downloading", "running", "paused"}
    assert {"finished", "stopped", "diverged", "failed", "interrupted"} <= set(v["ended_statuses"])
    assert sorted(v["live_statuses"] + v["ended_statuses"]) == sorted(v["statuses"])
    assert {"sigmoid", "relu", "tanh"} <= set(v["choices"]["activation"])
    assert {"quadratic", "cross_entropy"} == set(v["choices"]["cost"])
    assert {"sgd", "adam"} <= set(v["choices"]["optimizer"])
    assert "onecycle" in v["choices"]["lr_schedule"]


def test_vocabulary_agrees_with_what_the_api_accepts_and_answers(client: TestClient) -> None:
    v = client.get("/api/vocabulary").json()
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    status = schemas["RunInfo"]["properties"]["status"]
    assert set(status.get("enum") or schemas[status["$ref"].split("/")[-1]]["enum"]) == set(
        v["statuses"]
    )
    for field, words in v["choices"].items():
        for word in words:  # every listed choice is accepted by POST /api/runs' validation
            r = client.post("/api/runs", json={field: word, "epochs": 0})
            assert not (r.status_code == 422 and field in r.text), (field, word, r.text)
        r = client.post("/api/runs", json={field: "not-a-choice"})
        assert r.status_code == 422, field


def test_vocabulary_gives_the_network_sizes_and_each_costs_output_function(
    client: TestClient,
) -> None:
    v = client.get("/api/vocabulary").json()
    assert v["input_size"] == 784 and v["output_size"] == 10
    assert v["output_for_cost"] == {"quadratic": "sigmoid", "cross_entropy": "softmax"}
    assert set(v["output_for_cost"]) == set(v["choices"]["cost"])


def test_the_output_function_of_each_cost_is_what_the_network_computes() -> None:
    """What the vocabulary says matches the network: written out here, not read from it."""
    import numpy as np

    from app.nn.network import Network

    x = np.random.default_rng(0).random((3, 784), dtype=np.float32)
    for cost, function in {"quadratic": "sigmoid", "cross_entropy": "softmax"}.items():
        net = Network([784, 5, 10], "relu", cost, seed=1)
        z = net.forward(x).zs[-1].astype(np.float64)
        a = net.forward(x).activations[-1].astype(np.float64)
        if function == "sigmoid":
            expected = 1 / (1 + np.exp(-z))
        else:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            expected = e / e.sum(axis=1, keepdims=True)
        assert np.allclose(a, expected, atol=1e-5), cost
