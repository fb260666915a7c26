"""Inside the test cluster's namespace (see tests/runs/test_on_ray.py)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def worker_node() -> str:
    """The id of the cluster's node that is not the head."""
    node = os.environ.get("NNP_TEST_RAY_WORKER_NODE")
    assert node, "started by tests/runs/test_on_ray.py, which names the second node"
    return node
