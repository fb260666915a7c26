"""The training panel in a real Chromium against a real server (issue 9, the page side).

The form's choices come from the server; the preset select says "custom" once edited; a
collapsed run says so; joining a run selects it; recent runs are listed and can be opened,
saved and deleted; the speed control slows a run down; a queued run shows its position.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.nn.activations import ACTIVATIONS
from app.nn.network import COSTS
from app.nn.optim import OPTIMIZERS
from app.nn.trainer import LR_SCHEDULES

from .conftest import run_server
from .test_playground import RUN_FORM, wait_status, wait_text
from .waits import wait_for

# One short epoch: 3,000 images in mini-batches of 30 → 100 steps, a few seconds at most.
SHORT_RUN = {"#f-layers": "16", "#f-epochs": "1", "#f-train_subset": "3000", "#f-batch_size": "30"}


@pytest.fixture(autouse=True)
def _no_leftover_runs(server: str) -> Iterator[None]:
    """Each test starts and ends with no run training (the server has few slots)."""
    yield
    for run in httpx.get(f"{server}/api/runs").json()["runs"]:
        if run["status"] in ("queued", "downloading", "running", "paused"):
            httpx.post(f"{server}/api/runs/{run['id']}/stop", timeout=30)


def options(page, select: str) -> list[str]:
    return page.eval_on_selector(select, "s => [...s.options].map(o => o.value)")


def fill_form(page, fields: dict[str, str]) -> None:
    for sel, value in fields.items():
        page.fill(sel, value)


def start_from_page(page) -> str:
    """Click Start; the id of the new run the page then watches."""
    before = page.evaluate("window.__nnp.runId()")
    page.get_by_test_id("train-start").click()
    return wait_for(
        page, "b => { const id = window.__nnp.runId(); return id !== b && id; }", before
    )


def run_info(server: str, run_id: str) -> dict:
    return httpx.get(f"{server}/api/runs/{run_id}").json()


def recent_item(page, run_id: str):
    return page.locator(f"[data-testid=recent-run][data-run-id='{run_id}']")


def test_the_choices_come_from_the_server(open_page, server: str) -> None:
    page = open_page()
    assert options(page, "#f-activation") == list(ACTIVATIONS)
    assert options(page, "#f-cost") == list(COSTS)
    assert options(page, "#f-optimizer") == list(OPTIMIZERS)
    assert options(page, "#f-lr_schedule") == list(LR_SCHEDULES)
    # The presets, and one more entry for an edited form.
    presets = httpx.get(f"{server}/api/presets").json()  # the page's URL now carries its state
    assert options(page, "#f-preset") == [n for n in presets if n != "limits"] + [""]


def test_preset_select_says_custom_once_edited(open_page, server: str) -> None:
    page = open_page()
    presets = httpx.get(f"{server}/api/presets").json()
    page.select_option("#f-preset", "3b1b")
    assert page.input_value("#f-lr_schedule") == presets["3b1b"]["lr_schedule"]
    rate = page.input_value("#f-learning_rate")
    page.fill("#f-learning_rate", "0.25")
    assert page.input_value("#f-preset") == ""
    assert page.locator("#f-preset option:checked").text_content() == "custom"
    assert page.locator("#hint-preset").text_content() == "edited from 3b1b"
    page.fill("#f-learning_rate", rate)  # edited back: the preset's name again
    assert page.input_value("#f-preset") == "3b1b"
    assert page.locator("#hint-preset").text_content() == ""
    page.check("#f-augment")
    assert page.input_value("#f-preset") == ""
    page.uncheck("#f-augment")
    assert page.input_value("#f-preset") == "3b1b"
    page.select_option("#f-preset", "accurate")
    assert page.input_value("#f-lr_schedule") == presets["accurate"]["lr_schedule"]
    assert page.input_value("#f-layers") == ", ".join(map(str, presets["accurate"]["layers"]))

    # The schedule can be chosen, and the run gets it; the rest comes from the base preset.
    page.select_option("#f-preset", "3b1b")
    fill_form(page, SHORT_RUN)
    page.select_option("#f-lr_schedule", "constant")
    assert page.input_value("#f-preset") == ""
    run_id = start_from_page(page)
    cfg = run_info(server, run_id)["config"]
    assert cfg["lr_schedule"] == "constant"
    assert cfg["layers"] == [16] and cfg["epochs"] == 1
    assert cfg["momentum"] == presets["3b1b"]["momentum"]
    wait_status(page, "finished", timeout=60000)


def test_deslant_and_strokes_are_checkboxes_that_reach_the_run(open_page, server: str) -> None:
    """The model input transforms (issue 17 §5) can be chosen on the page: a preset fills
    them, ticking them makes the form custom and the link carries them, the run gets them, and
    a link with them restores them."""
    presets = httpx.get(f"{server}/api/presets").json()
    flags = {n: (c.get("deslant"), c.get("strokes")) for n, c in presets.items() if n != "limits"}
    with_both = next(n for n, both in flags.items() if both == (True, True))
    without = next(n for n, both in flags.items() if both == (False, False))
    page = open_page()
    page.select_option("#f-preset", with_both)
    assert page.is_checked("#f-deslant") and page.is_checked("#f-strokes")
    page.select_option("#f-preset", without)
    assert not page.is_checked("#f-deslant") and not page.is_checked("#f-strokes")
    page.check("#f-strokes")
    assert page.input_value("#f-preset") == ""  # custom
    page.uncheck("#f-strokes")
    assert page.input_value("#f-preset") == without
    fill_form(page, SHORT_RUN)
    page.check("#f-deslant")
    page.check("#f-strokes")
    link = wait_for(page, "() => location.href.includes('strokes=1') && location.href")
    assert "deslant=1" in link
    run_id = start_from_page(page)
    config = run_info(server, run_id)["config"]
    assert config["deslant"] is True and config["strokes"] is True
    assert config["layers"] == [16]  # the rest of the form went with them
    wait_status(page, "finished", timeout=60000)

    other = open_page(path=f"/?preset={without}&deslant=1&strokes=0")
    assert other.is_checked("#f-deslant") and not other.is_checked("#f-strokes")
    assert other.input_value("#f-preset") == ""  # edited from the preset by the link


def test_a_collapsed_run_says_so(open_page, server: str) -> None:
    page = open_page()
    page.select_option("#f-preset", "3b1b")
    # SGD at learning rate 1000 on the sigmoid network: the cost stays finite, the network
    # saturates, and the first epoch (400 steps) ends at chance level.
    fill_form(page, {"#f-layers": "16", "#f-epochs": "2", "#f-train_subset": "6400",
                     "#f-batch_size": "16", "#f-learning_rate": "1000"})  # fmt: skip
    page.select_option("#f-optimizer", "sgd")
    run_id = start_from_page(page)
    wait_status(page, "diverged", timeout=90000)
    assert (run_info(server, run_id)["reason"] or "").startswith("collapsed")
    message = page.locator("#run-message").text_content()
    assert "collapsed" in message and "chance level" in message
    assert "try 100" in message  # the suggestion: a rate ten times smaller
    assert "Finished" not in message
    assert page.get_by_test_id("train-start").is_enabled()
    # One click puts the suggestion in the form.
    page.get_by_test_id("run-suggest").click()
    assert page.input_value("#f-learning_rate") == "100"
    assert page.get_by_test_id("run-suggest").is_hidden()


def test_join_reload_and_recent_runs(open_page, server: str) -> None:
    page = open_page()
    page.select_option("#f-preset", "3b1b")
    fill_form(page, SHORT_RUN)
    run_id = start_from_page(page)
    # Slow motion from the start (the worker is still starting), so there is a run to join.
    res = httpx.post(f"{server}/api/runs/{run_id}/speed", json={"batches_per_second": 20})
    assert res.status_code == 200, res.text

    # A second tab joins the run, and the run answers its drawing.
    other = open_page(390, 844)
    assert other.get_by_test_id("model-select").input_value() == f"run:{run_id}"
    assert other.evaluate("window.__nnp.selected()") == {"kind": "run", "id": run_id}
    # Both tabs say where it trains, in plain words, with its worker process (the pid the API
    # names) in the tooltip (issue 19: the pid is jargon for a learner).
    pid = run_info(server, run_id)["placement"]["pid"]
    for tab in (page, other):
        wait_text(tab, "[data-testid=run-where]", "Trains on the server")
        wait_for(
            tab,
            "t => document.querySelector('[data-testid=run-where]').title.includes(t)",
            arg=f"worker process {pid} on the server's machine",
        )
        assert "process" not in tab.get_by_test_id("run-where").text_content()
    other.get_by_test_id("run-speed-select").select_option("")  # full speed to the end

    wait_status(page, "finished", timeout=60000)
    wait_status(other, "finished", timeout=10000)
    text = page.locator("#epoch-text").text_content()
    assert text.startswith("100% of the run") and "epoch 0%" not in text, text

    # A reload keeps the finished run (this tab watched it) and lists it with its accuracy.
    page.reload()
    wait_for(page, "window.__nnp && window.__nnp.ready")
    wait_status(page, "finished")
    assert page.evaluate("window.__nnp.runId()") == run_id
    assert page.get_by_test_id("model-select").input_value() == f"run:{run_id}"
    item = recent_item(page, run_id)
    item.wait_for()
    info = run_info(server, run_id)
    best = max(e["test_accuracy"] for e in info["history"]["evaluations"])
    wait_text(page, f"[data-run-id='{run_id}'] [data-testid=recent-acc]", f"{best * 100:.2f}%")
    assert item.get_attribute("data-status") == "finished"
    assert "784-16-10" in item.text_content()

    # The other tab opens an older run from the list, then saves and deletes it there.
    older = start_api_run(server, {"preset": "3b1b", "layers": [8], "epochs": 1,
                                   "train_subset": 1000})  # fmt: skip
    wait_api_status(server, older, "finished")
    other.click("#recent-refresh")
    recent_item(other, older).locator("[data-action=open]").click()
    wait_for(other, "id => window.__nnp.runId() === id", arg=older)
    assert other.get_by_test_id("model-select").input_value() == f"run:{older}"
    recent_item(other, older).locator("[data-action=save]").click()
    wait_text(other, "#run-message", f"Saved run {older}")
    models = httpx.get(f"{server}/api/models").json()["models"]
    assert any(m.get("source_run") == older for m in models)
    recent_item(other, older).locator("[data-action=remove]").click()
    recent_item(other, older).wait_for(state="detached")
    assert httpx.get(f"{server}/api/runs/{older}").status_code == 404
    assert other.get_by_test_id("run-status").text_content() == "idle"
    assert other.evaluate("window.__nnp.selected()")["kind"] == "model"


def start_api_run(base: str, cfg: dict) -> str:
    res = httpx.post(f"{base}/api/runs", json=cfg, timeout=30)
    assert res.status_code == 201, res.text
    return res.json()["id"]


def wait_api_status(base: str, run_id: str, status: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (now := httpx.get(f"{base}/api/runs/{run_id}").json()["status"]) != status:
        assert time.monotonic() < deadline, f"run {run_id} is {now}, not {status}"
        time.sleep(0.1)


def server_step(base: str, run_id: str) -> int:
    return run_info(base, run_id)["progress"]["step"]


def test_speed_control(open_page, server: str) -> None:
    page = open_page()
    assert page.get_by_test_id("run-speed-select").is_disabled()
    page.select_option("#f-preset", "3b1b")
    fill_form(page, RUN_FORM)
    run_id = start_from_page(page)
    wait_status(page, "running")
    page.get_by_test_id("run-speed-select").select_option("1")
    wait_for(page, "() => !document.querySelector('[data-testid=run-speed-select]').disabled")
    deadline = time.monotonic() + 10
    while run_info(server, run_id)["speed"] != 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # One mini-batch a second: over 2 s the step moves by at most 3 (one may be under way).
    before = server_step(server, run_id)
    t0 = time.monotonic()
    time.sleep(2)  # slowness can only be seen over a window of time
    moved = server_step(server, run_id) - before
    assert moved <= 1 + (time.monotonic() - t0) * 1, moved
    # A tab that joins now shows the run's speed.
    other = open_page()
    wait_for(other, "() => document.querySelector('[data-testid=run-speed-select]').value === '1'")
    # Full speed again.
    page.get_by_test_id("run-speed-select").select_option("")
    before = server_step(server, run_id)
    deadline = time.monotonic() + 20
    while server_step(server, run_id) < before + 200:
        assert time.monotonic() < deadline, "the run did not speed up again"
        time.sleep(0.1)
    assert run_info(server, run_id)["speed"] is None


@pytest.fixture
def one_slot_server(mnist_dir: Path, tmp_path: Path, server: str) -> Iterator[str]:
    """A second server with a single training slot, so a third run waits in the queue."""
    with run_server(tmp_path / "one-slot", NNP_MNIST_DIR=str(mnist_dir), NNP_MAX_RUNS="1") as base:
        yield base
        for run in httpx.get(f"{base}/api/runs").json()["runs"]:
            if run["status"] in ("queued", "downloading", "running", "paused"):
                httpx.post(f"{base}/api/runs/{run['id']}/stop", timeout=30)


def test_queued_run_shows_its_position(one_slot_server: str, open_page) -> None:
    # one_slot_server first: it must outlive the page (fixtures end in reverse order).
    base = one_slot_server
    long_run = {"preset": "3b1b", "epochs": 100, "train_subset": 12000, "batch_size": 16}
    first = start_api_run(base, long_run)
    second = start_api_run(base, long_run)
    page = open_page(base=base)
    page.select_option("#f-preset", "3b1b")
    fill_form(page, RUN_FORM)
    mine = start_from_page(page)
    wait_status(page, "queued")
    queue = page.get_by_test_id("run-queue")
    wait_text(page, "[data-testid=run-queue]", "Waiting for a free slot: position 2")
    assert queue.is_visible()
    assert page.get_by_test_id("train-stop").is_enabled()
    httpx.post(f"{base}/api/runs/{second}/stop", timeout=30)
    wait_text(page, "[data-testid=run-queue]", "Waiting for a free slot: position 1")
    httpx.post(f"{base}/api/runs/{first}/stop", timeout=30)
    wait_status(page, "running", timeout=60000)
    assert queue.is_hidden()
    assert run_info(base, mine)["status"] == "running"


def test_train_panel_screenshots(open_page, server: str, artifacts: Path) -> None:
    """The panel while a run trains in slow motion, with recent runs listed, at both sizes and
    in both themes (for looking at); it fits a phone's width."""
    start_api_run(server, {"preset": "3b1b", "layers": [8], "epochs": 1, "train_subset": 1000})
    for width, height in [(1280, 800), (390, 844)]:
        page = open_page(width, height)
        page.select_option("#f-preset", "3b1b")
        fill_form(page, SHORT_RUN)
        run_id = start_from_page(page)
        httpx.post(f"{server}/api/runs/{run_id}/speed", json={"batches_per_second": 10})
        wait_status(page, "running")
        recent_item(page, run_id).wait_for()
        card = page.locator(".train-card")
        for theme in ["dark", "light"]:
            if page.evaluate("document.documentElement.dataset.theme") != theme:
                page.get_by_role("button", name=f"Switch to {theme} theme").click()
            card.screenshot(path=str(artifacts / f"train-panel-{width}x{height}-{theme}.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        httpx.post(f"{server}/api/runs/{run_id}/stop", timeout=30)
