"""Schemathesis over every operation of the OpenAPI schema, against a real uvicorn server.

All of schemathesis's checks run (no server errors, status codes, content types, response
schemas and headers, negative data rejected, positive data accepted, unsupported methods, ...),
in every generation mode, with a fixed seed (`derandomize`), and at least MIN_CASES cases.
The app reads the real MNIST (the digit endpoints need it); every run a case starts is stopped
after the case, so generated configs never train for long. Valid generated ids are also swapped
for ids that exist (shipped and uploaded models, a finished run), so operations meet real
resources, not only 404s.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import app.main as main
from app.nn.network import Network
from app.nn.serialize import model_to_bytes
from app.settings import Settings
from app.store.files import is_valid_id

from .api_support import SHORT_RUN, wait_for
from .test_server import free_port

MIN_CASES = 1_000
EXAMPLES_PER_OPERATION = 40
CASES: dict[str, int] = {}
DRAWING = {"pixels": [0.0] * 400 + [1.0] * 100 + [0.0] * 284, "label": 3}


@pytest.fixture(scope="module")
def live_url(
    tmp_path_factory: pytest.TempPathFactory, shipped_dir: Path, mnist_dir: Path
) -> Iterator[str]:
    yield from _live(tmp_path_factory.mktemp("schemathesis"), shipped_dir, mnist_dir)


def _live(tmp: Path, shipped_dir: Path, mnist_dir: Path, **settings: Any) -> Iterator[str]:
    """A real uvicorn server of the app on a free port (for as long as the generator lives)."""
    original = main.SHIPPED_MODELS_DIR
    main.SHIPPED_MODELS_DIR = shipped_dir
    app = main.create_app(
        Settings(
            data_dir=tmp / "data",
            mnist_dir=mnist_dir,
            cache_dir=tmp / "cache",
            mnist_download=False,
            max_runs=1,
            **settings,
        )
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, timeout=30, interval=0.05)
        yield url
    finally:
        server.should_exit = True
        thread.join(30)
        main.SHIPPED_MODELS_DIR = original


# positive_data_acceptance ("schema-valid data gets a 2xx") can't hold where validity depends on
# the content of an image or a model file, or on a product of fields: a schema-valid base64
# string is rarely a PNG, a PNG may be blank ("the drawing is empty"), a binary string is rarely
# a model .npz, and layer sizes each within bounds can add up to more than the parameter limit.
# Those operations answer such data 422 with a detail, which every other check still verifies.
CONTENT_DEPENDENT = [
    "POST /api/predict",
    "POST /api/explain",
    "POST /api/explain/step",
    "POST /api/models",
    "POST /api/runs",
    "PUT /api/class/config",  # the dashboard's: a RunCreate body, as POST /api/runs
    "POST /api/drawings",  # issue 17: an image, as predict
    "POST /api/drawings/import",  # a binary string is rarely a zip with a labels.csv
]
CONFIG = {
    "seed": 11,
    "operations": [
        {"include-name": name, "checks": {"positive_data_acceptance": {"enabled": False}}}
        for name in CONTENT_DEPENDENT
    ],
}


def _real_ids(url: str) -> dict[str, list[str]]:
    """Ids that exist: the shipped models, an upload, and a short run that has finished."""
    with httpx.Client(base_url=url, timeout=30) as http:
        net = Network([784, 8, 10], "relu", "cross_entropy", seed=0)
        upload = http.post("/api/models", files={"file": ("n.npz", model_to_bytes(net, {}))})
        run = http.post("/api/runs", json={**SHORT_RUN, "epochs": 1}).json()
        wait_for(lambda: http.get(f"/api/runs/{run['id']}").json()["status"] == "finished", 120)
        drawing = http.post("/api/drawings", json=DRAWING).json()["id"]
    return {
        "model_id": ["accurate", "3b1b", upload.json()["id"]],
        "run_id": [run["id"]],
        "drawing_id": [drawing],
    }


@pytest.fixture(scope="module")
def api_schema(live_url: str) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(CONFIG)
    loaded = schemathesis.openapi.from_url(f"{live_url}/openapi.json", config=config)
    real = _real_ids(live_url)

    @loaded.hook
    def flatmap_path_parameters(
        context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
    ) -> st.SearchStrategy[dict[str, Any] | None]:
        # Random ids rarely exist: also try ids that do (so pause, save, delete, network...
        # meet real runs and models). Only a valid id is swapped for another valid one, so a
        # negative case stays negative. The run and the drawing are never deleted, so every
        # operation meets them (test_runs deletes runs).
        if not path_parameters:
            return st.just(path_parameters)
        deleting = context.operation is not None and context.operation.method.upper() == "DELETE"
        names = [
            n
            for n in real
            if isinstance(path_parameters.get(n), str)
            and not (deleting and n in ("run_id", "drawing_id"))
        ]
        if not names or not all(is_valid_id(path_parameters[n]) for n in names):
            return st.just(path_parameters)
        swapped = st.fixed_dictionaries({n: st.sampled_from(real[n]) for n in names})
        return st.one_of(
            st.just(path_parameters), swapped.map(lambda ids: {**path_parameters, **ids})
        )

    return loaded


def _stop_live_runs(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        for run in http.get("/api/runs").json()["runs"]:
            if run["status"] in ("queued", "downloading", "running", "paused"):
                http.post(f"/api/runs/{run['id']}/stop")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_and_never_errors(case: schemathesis.Case, live_url: str) -> None:
    label = case.operation.label
    CASES[label] = CASES.get(label, 0) + 1
    try:
        case.call_and_validate()  # every check schemathesis has
    finally:
        if case.method == "POST" and case.path == "/api/runs":
            _stop_live_runs(live_url)


def test_enough_cases_over_every_operation(api_schema: schemathesis.BaseSchema) -> None:
    """Runs after the parametrised test above (pytest keeps the file's order)."""
    operations = {
        f"{result.ok().method.upper()} {result.ok().path}"
        for result in api_schema.get_all_operations()
    }
    if not CASES:
        pytest.skip("the schemathesis test did not run in this session")
    print(f"schemathesis: {sum(CASES.values())} cases over {len(CASES)} operations: {CASES}")
    assert operations <= set(CASES), operations - set(CASES)
    assert sum(CASES.values()) >= MIN_CASES, CASES


# ---- class mode (issue 16): the identity endpoints, with and without an identity -------------

TEACHER_TOKEN = "schemathesis-teacher-token-0123"
# The operations that ask who the caller is, and the new ones; others don't depend on it.
CLASS_PATHS = (
    r"^/api/(me|me/token|class/limits|models/default|models/\{model_id\}|runs|predict"
    r"|drawings|drawings/export|drawings/import|drawings/\{drawing_id\}(/image)?"
    r"|class/drawings)$"  # issue 17: the drawings, owned like models
)
CLASS_CASES: dict[str, int] = {}


@pytest.fixture(scope="module")
def class_url(
    tmp_path_factory: pytest.TempPathFactory, shipped_dir: Path, mnist_dir: Path
) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("schemathesis-class")
    yield from _live(tmp, shipped_dir, mnist_dir, class_mode=True, teacher_token=TEACHER_TOKEN)


def _identities(url: str) -> dict[str, dict[str, str]]:
    """The headers of each kind of caller: none, a learner's cookie, the teacher's token."""
    with httpx.Client(base_url=url, timeout=30) as http:
        http.get("/api/me")
        cookie = http.cookies["nnp_id"]
    return {
        "anonymous": {},
        "learner": {"Cookie": f"nnp_id={cookie}"},
        "teacher": {"Authorization": f"Bearer {TEACHER_TOKEN}"},
    }


@pytest.fixture(scope="module")
def class_schema(class_url: str) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(CONFIG)
    loaded = schemathesis.openapi.from_url(f"{class_url}/openapi.json", config=config)
    with httpx.Client(base_url=class_url, timeout=30) as http:
        net = Network([784, 8, 10], "relu", "cross_entropy", seed=0)
        auth = {"Authorization": f"Bearer {TEACHER_TOKEN}"}
        files = {"file": ("n.npz", model_to_bytes(net, {}))}
        upload = http.post("/api/models", files=files, headers=auth).json()["id"]
        drawing = http.post("/api/drawings", json=DRAWING, headers=auth).json()["id"]
    real = {"model_id": ["accurate", upload], "drawing_id": [drawing]}

    @loaded.hook
    def flatmap_path_parameters(
        context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
    ) -> st.SearchStrategy[dict[str, Any] | None]:
        if not path_parameters or context.operation.method.upper() == "DELETE":
            return st.just(path_parameters)
        name = "drawing_id" if "drawing_id" in path_parameters else "model_id"
        value = path_parameters.get(name)
        if not isinstance(value, str) or not is_valid_id(value):
            return st.just(path_parameters)
        swapped = st.sampled_from(real[name]).map(
            lambda real_id: {**path_parameters, name: real_id}
        )
        return st.one_of(st.just(path_parameters), swapped)

    return loaded.include(path_regex=CLASS_PATHS).exclude(method="POST", path="/api/runs")


class_schema_fixture = schemathesis.pytest.from_fixture("class_schema")


def _class_test(who: str) -> Any:
    """A schemathesis test of the class-mode server's operations as `who`."""

    @class_schema_fixture.parametrize()
    @settings(
        max_examples=EXAMPLES_PER_OPERATION // 2,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    def test(case: schemathesis.Case, class_url: str) -> None:
        label = f"{who} {case.operation.label}"
        CLASS_CASES[label] = CLASS_CASES.get(label, 0) + 1
        case.call_and_validate(headers=_identities_cached(class_url)[who])

    return test


# With no identity (an API client without cookie or token), a learner's cookie, the teacher.
test_class_mode_anonymous = _class_test("anonymous")
test_class_mode_learner = _class_test("learner")
test_class_mode_teacher = _class_test("teacher")


_IDENTITIES: dict[str, dict[str, dict[str, str]]] = {}


def _identities_cached(url: str) -> dict[str, dict[str, str]]:
    if url not in _IDENTITIES:
        _IDENTITIES[url] = _identities(url)
    return _IDENTITIES[url]
