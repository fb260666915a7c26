"""The run suite, again, on a real two-node Ray cluster; and the cluster's own tests.

A test here starts the cluster in a network namespace (tests/runs/ray_cluster.py) and runs pytest
inside it with NNP_TEST_RAY_ADDRESS set: every test that takes `executor_name` then runs as
[ray]. It asserts that each test the local run of the suite has passed there too, by id.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RAY_ADDRESS_ENV

from .ray_cluster import REPO, RayCluster

# The run suite: everything that creates runs through the manager, the API or the WebSocket.
RUN_SUITE = [
    "tests/runs",
    "tests/api/test_runs.py",
    "tests/api/test_resume.py",
    "tests/api/test_events.py",
    "tests/api/test_first_download.py",
    "tests/api/test_finetune.py",  # issue 17 §2: the drawings and start weights reach the actors
]
CLUSTER_TESTS = ["tests/runs/inside_ray/test_cluster.py"]
NODE_DEATH_TESTS = ["tests/runs/inside_ray/test_node_death.py"]


def missing() -> str | None:
    """What this machine lacks for a Ray cluster in a network namespace (None: nothing)."""
    if importlib.util.find_spec("ray") is None:
        return 'Ray is not installed: pip install -e ".[test,ray]"'
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is missing"
    if os.geteuid() != 0:
        return "network namespaces need root"
    return None


@pytest.fixture(scope="module")
def cluster() -> Iterator[RayCluster]:
    lacking = missing()
    if lacking is not None:
        if os.environ.get("NNP_REQUIRE_RAY"):
            pytest.fail(f"NNP_REQUIRE_RAY is set but {lacking}")
        pytest.skip(lacking)
    with RayCluster() as started:
        yield started


def run_inside(cluster: RayCluster, paths: list[str], mnist_dir: Path) -> tuple[set[str], str]:
    """pytest inside the cluster's namespace: the ids that passed, and its output."""
    done = cluster.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", *paths],
        env={
            RAY_ADDRESS_ENV: cluster.address,
            "NNP_TEST_RAY_WORKER_NODE": cluster.worker_node or "",
            "NNP_MNIST_DIR": str(mnist_dir),
        },
    )
    output = done.stdout + done.stderr
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    # The failures first (their tracebacks), then the end of the output (the summary).
    failures = output[output.find("= FAILURES =") :][:15000] if "= FAILURES =" in output else ""
    assert done.returncode == 0, (
        f"pytest on the Ray cluster failed ({summary}):\n{failures}\n…\n{output[-8000:]}"
    )
    assert not re.search(r"\b(skipped|xfailed|deselected|error)", summary), summary
    passed = set(re.findall(r"^PASSED (\S+)", output, re.MULTILINE))
    return passed, output


def local_ids(paths: list[str]) -> set[str]:
    """The ids this (local) run of the suite collects."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *paths],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return {line for line in done.stdout.splitlines() if "::" in line}


def test_the_run_suite_passes_on_a_two_node_ray_cluster(
    cluster: RayCluster, mnist_dir: Path
) -> None:
    expected = {
        test.replace("[local]", "[ray]")
        for test in local_ids(RUN_SUITE)
        if not test.startswith("tests/runs/test_on_ray.py")
    }
    on_ray = {test for test in expected if "[ray]" in test}
    assert len(on_ray) >= 25, "the run suite should be parametrised by executor"
    # (tests/runs holds the cluster's tests too, inside it; the node deaths come last, alone.)
    passed, output = run_inside(cluster, [*RUN_SUITE, f"--ignore={NODE_DEATH_TESTS[0]}"], mnist_dir)
    missing = expected - passed
    assert not missing, f"did not pass on Ray: {sorted(missing)}\n{output[-5000:]}"
    assert any(test.startswith(CLUSTER_TESTS[0]) for test in passed)


def test_a_dead_node_fails_its_runs_and_the_server_carries_on(
    cluster: RayCluster, mnist_dir: Path
) -> None:
    # Last: it kills the cluster's nodes.
    passed, output = run_inside(cluster, NODE_DEATH_TESTS, mnist_dir)
    assert any(test.startswith(NODE_DEATH_TESTS[0]) for test in passed), output[-5000:]
