"""End-to-end fixtures: a real uvicorn server and Debian's Chromium driven by Playwright.

The server runs in a subprocess on a free port with its own data directory and the real MNIST,
exactly as a user would start it. Every page fails its test on a console error or an uncaught
page error. Screenshots and measurements go to $NNP_E2E_ARTIFACTS (default
tests/e2e/artifacts/, which git ignores).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .waits import wait_for

CHROMIUM = Path(os.environ.get("NNP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
# Installed in every page before its own scripts (over the DevTools protocol, so the page's CSP
# does not apply to it): records each Content-Security-Policy violation the page reports.
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push({
    directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile,
    line: e.lineNumber, sample: e.sample,
  });
}, true);
"""
ARTIFACTS = Path(os.environ.get("NNP_E2E_ARTIFACTS") or Path(__file__).parent / "artifacts")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def _need_browser() -> None:
    """Skip without Chromium or Playwright, unless CI demands the browser tests run."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed (pip install -e '.[test]')"
    if missing:
        if os.environ.get("NNP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"NNP_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(f"browser tests skipped: {missing}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@contextlib.contextmanager
def run_server(root: Path, **env_changes: str | None) -> Iterator[str]:
    """Start `uvicorn --factory app.main:create_app` in a subprocess with its own data folder
    under `root`; yield its base URL. `env_changes` sets (or, with None, removes) variables."""
    root.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {
        **os.environ,
        "NNP_DATA_DIR": str(root / "data"),
        "NNP_CACHE_DIR": str(root / "cache"),
        "XDG_DATA_HOME": str(root / "xdg-data"),
        "XDG_CACHE_HOME": str(root / "xdg-cache"),
        "PYTHONUNBUFFERED": "1",
    }
    for name, value in env_changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    log_path = root / "server.log"
    log = log_path.open("wb")
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "app.main:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                log_text = log_path.read_text()
                pytest.fail(f"the server did not answer /healthz within 30 s:\n{log_text}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(log_path, ARTIFACTS / f"server-{root.name}.log")


@pytest.fixture(scope="session")
def server(mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The shared test server, with the real MNIST already on disk."""
    _need_browser()
    with run_server(tmp_path_factory.mktemp("server"), NNP_MNIST_DIR=str(mnist_dir)) as base:
        yield base


# The teacher's token of the class-mode servers below (tests open the teacher's pages with it).
TEACHER_TOKEN = secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def class_server(browser, mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A class-mode server of the module's own (its learners, models and runs start empty),
    with the real MNIST; the teacher's token is TEACHER_TOKEN."""
    root = tmp_path_factory.mktemp("class-server")
    with run_server(
        root, NNP_MNIST_DIR=str(mnist_dir), NNP_CLASS="1", NNP_TEACHER_TOKEN=TEACHER_TOKEN
    ) as base:
        yield base


# Package scope, not session: Playwright's sync API keeps an asyncio loop running in the main
# thread while it is open, which would break asyncio.run() in the test packages that follow.
@pytest.fixture(scope="package")
def browser(server: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageErrors:
    """Console errors and uncaught exceptions of one page; some tests expect a few."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[str] = []

    def allow(self, fragment: str) -> None:
        """Tolerate console errors containing `fragment` (e.g. the browser logging a 422)."""
        self.allowed.append(fragment)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self.allowed)]


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def open_page(browser, server: str, page_errors: PageErrors) -> Iterator[object]:
    """open_page(width=1280, height=800) → a loaded playground page (watched for errors)."""
    contexts = []

    def _open(width: int = 1280, height: int = 800, path: str = "/", base: str | None = None):
        # The page follows prefers-color-scheme (issue 19), and Playwright emulates "light" by
        # default: the tests start in the dark theme, as the page did before, and switch.
        ctx = browser.new_context(viewport={"width": width, "height": height}, color_scheme="dark")
        ctx.add_init_script(script=CSP_RECORDER)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on(
            "console",
            lambda m: (
                page_errors.errors.append(f"console.{m.type}: {m.text}")
                if m.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda e: page_errors.errors.append(f"pageerror: {e}"))
        page.goto((base or server) + path)
        wait_for(page, "window.__nnp && window.__nnp.ready", timeout=15000)
        return page

    yield _open
    for ctx in contexts:
        ctx.close()
    unexpected = page_errors.unexpected()
    assert not unexpected, "console or page errors:\n" + "\n".join(unexpected)


def csp_violations(page) -> list[dict]:
    """The CSP violations the page has reported since it loaded (see CSP_RECORDER)."""
    violations = page.evaluate("window.__cspViolations")
    assert isinstance(violations, list), "the CSP recorder is not installed in this page"
    return violations


@pytest.fixture
def record(artifacts: Path):
    """record(name, data): merge into artifacts/measurements.json and print it."""
    return lambda name, data: _record(artifacts, name, data)


def _record(artifacts: Path, name: str, data: dict) -> None:
    path = artifacts / "measurements.json"
    try:
        all_data = json.loads(path.read_text())
    except (OSError, ValueError):
        all_data = {}
    all_data[name] = data
    path.write_text(json.dumps(all_data, indent=2))
    print(f"\n[e2e measurement] {name}: {json.dumps(data)}  (saved to {path})")
