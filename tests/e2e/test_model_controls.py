"""The model list's owner controls in class mode (issue 16: "use any model that its owner has
shared (sharing is a toggle)"; "only the owner or the teacher may rename a model or change
whether it is shared"). A class-mode server, two learners and the teacher, each in their own
browser context: learner A uploads a model and shares it from the page (keyboard); learner B
then finds it in the model select and predicts with it, sees its owner's name as text and no
controls; A stops sharing it and B's select no longer offers it (and the server refuses B);
a name the server refuses is explained in plain words; the teacher renames it and deletes it
after confirming; the XSS payload of its name stays text; no page has a CSP violation, on a
phone-sized screen and in both themes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import CSP_RECORDER, TEACHER_TOKEN, csp_violations
from .test_accessibility import axe_violations, set_theme
from .test_class_dashboard import ClassPages
from .test_class_learners import learner
from .test_playground import SEVEN, choose_model, draw_and_predict, stroke
from .waits import wait_for

MODEL_NAME = '<img src=x onerror="window.__pwned=1">'
LEARNER_A = "<b>ada</b>"
READY = "window.__nnp && window.__nnp.ready"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def pages(browser) -> Iterator[ClassPages]:
    opened = ClassPages(browser)
    yield opened
    opened.close()
    errors = [e for e in opened.errors if not any(a in e for a in opened.allowed)]
    assert errors == [], "console or page errors:\n" + "\n".join(errors)


def open_in(pages: ClassPages, ctx, url: str, viewport: dict | None = None, scheme: str = "light"):
    """The playground in the learner's own context (its cookie), watched like ClassPages."""
    ctx.add_init_script(script=CSP_RECORDER)
    page = ctx.new_page()
    page.emulate_media(color_scheme=scheme)  # the page's theme follows it
    if viewport:
        page.set_viewport_size(viewport)
    page.on("console", lambda m: pages.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: pages.errors.append(f"pageerror: {e}"))
    page.on(
        "response",
        lambda r: pages.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    page.goto(url)
    wait_for(page, READY, timeout=20000)
    return page


def offered(page) -> list[str]:
    return page.evaluate(
        "[...document.querySelectorAll('[data-testid=model-select] option')].map(o => o.value)"
    )


def option_text(page, model_id: str) -> str:
    return page.evaluate(
        "id => [...document.querySelectorAll('[data-testid=model-select] option')]"
        ".find(o => o.value === id).textContent",
        model_id,
    )


def shared_on_server(ctx, base: str, model_id: str) -> bool:
    return ctx.request.get(f"{base}/api/models/{model_id}").json()["shared"]


def wait_server(predicate, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the server never saw the change"
        time.sleep(0.05)


def no_markup(page) -> None:
    """The payload names are text: no element made from them, nothing ran."""
    assert page.locator("header img, header b, #model-controls img").count() == 0
    assert page.evaluate("window.__pwned === undefined")


def upload(ctx, base: str) -> str:
    """Learner A's model: the shipped 3b1b's weights uploaded under an XSS payload name."""
    weights = ctx.request.get(f"{base}/api/models/3b1b/weights").body()
    r = ctx.request.post(
        f"{base}/api/models",
        multipart={
            "file": {"name": "mine.npz", "mimeType": "application/octet-stream", "buffer": weights},
            "name": MODEL_NAME,
        },
    )
    assert r.status == 201, r.text()
    info = r.json()
    assert info["shared"] is False
    return info["id"]


def test_a_learner_shares_a_model_and_the_teacher_renames_and_deletes_it(
    pages: ClassPages, class_server: str, artifacts: Path
) -> None:
    base = class_server
    ctx_a, _ = learner(pages, base, LEARNER_A)
    ctx_b, _ = learner(pages, base, "bea")
    model_id = upload(ctx_a, base)

    # A: their model, with its controls; Shared is off, and a real, labelled checkbox.
    a = open_in(pages, ctx_a, f"{base}/")
    choose_model(a, model_id)
    assert a.get_by_test_id("model-owner").text_content() == "Yours"
    shared = a.get_by_label("Shared")
    assert shared.is_visible() and not shared.is_checked()
    box = a.locator("label.model-shared").bounding_box()
    assert box["width"] >= 24 and box["height"] >= 24
    assert a.get_by_test_id("model-rename").is_visible()
    assert a.get_by_test_id("model-delete").is_visible()
    # B: someone else's unshared model is not offered.
    b = open_in(pages, ctx_b, f"{base}/")
    assert model_id not in offered(b)

    # A shares it from the keyboard.
    shared.focus()
    a.keyboard.press("Space")
    wait_server(lambda: shared_on_server(ctx_a, base, model_id))
    assert shared.is_checked()

    # B: now offered, under its owner's name (text), no controls; it answers B's drawing.
    b.reload()
    wait_for(b, READY, timeout=20000)
    assert model_id in offered(b)
    assert option_text(b, model_id).startswith(MODEL_NAME)
    assert f"by {LEARNER_A}" in option_text(b, model_id)
    choose_model(b, model_id)
    assert b.get_by_test_id("model-owner").text_content() == f"By {LEARNER_A}"
    assert not b.locator(".model-tools").is_visible()
    assert b.get_by_test_id("model-shared").count() == 1  # present in the DOM, but hidden
    assert not b.get_by_test_id("model-shared").is_visible()
    asked: list[str] = []
    b.on(
        "requestfinished",
        lambda r: asked.append(r.post_data or "") if "/api/predict" in r.url else None,
    )
    assert draw_and_predict(b, SEVEN) in list("0123456789")
    assert any(f'"model":"{model_id}"' in body for body in asked), asked
    no_markup(b)

    # A stops sharing it: B's next drawing is refused, B is told why, and the select stops
    # offering it (none shown as picked, so any model can be picked again).
    shared.click()
    wait_server(lambda: not shared_on_server(ctx_a, base, model_id))
    pages.allowed += [f"403 {base}/api/", "status of 403"]
    b.get_by_test_id("clear").click()
    b.get_by_test_id("draw-canvas").scroll_into_view_if_needed()
    stroke(b, SEVEN)
    wait_for(b, "id => !document.querySelector(`option[value='${id}']`)", arg=model_id)
    assert "has not shared it" in b.locator("#draw-message").text_content()
    assert b.get_by_test_id("model-select").input_value() == ""
    choose_model(b, "3b1b")
    assert draw_and_predict(b, SEVEN) in list("0123456789")
    b.reload()
    wait_for(b, READY, timeout=20000)
    assert model_id not in offered(b)
    refused = ctx_b.request.get(f"{base}/api/models/{model_id}/network")
    assert refused.status == 403
    assert "not shared" in refused.json()["detail"]

    # A rename the server refuses is explained in plain words, and nothing changes.
    pages.allowed.append("422")
    a.get_by_test_id("model-rename").click()
    a.get_by_test_id("model-name-input").fill("  padded  ")
    a.get_by_test_id("model-rename-save").click()
    wait_for(a, "() => document.querySelector('[data-testid=model-error]').textContent")
    said = a.get_by_test_id("model-error").text_content()
    assert "space" in said and "pattern" not in said and "^" not in said, said
    assert ctx_a.request.get(f"{base}/api/models/{model_id}").json()["name"] == MODEL_NAME
    no_markup(a)
    assert csp_violations(a) == [] and csp_violations(b) == []

    # The teacher (a phone, the light theme): renames it, then deletes it after confirming.
    t = pages.open(f"{base}/?teacher={TEACHER_TOKEN}", ready=READY, viewport=PHONE)
    t.locator("#theme-toggle").click()
    wait_for(t, "() => document.documentElement.dataset.theme === 'light'")
    choose_model(t, model_id)
    assert t.get_by_test_id("model-owner").text_content() == f"By {LEARNER_A}"
    no_markup(t)
    t.get_by_test_id("model-rename").click()
    t.get_by_test_id("model-name-input").fill("renamed by the teacher")
    t.get_by_test_id("model-rename-save").click()
    wait_for(
        t,
        "id => [...document.querySelectorAll('[data-testid=model-select] option')]"
        ".find(o => o.value === id).textContent.startsWith('renamed by the teacher')",
        arg=model_id,
    )
    assert ctx_a.request.get(f"{base}/api/models/{model_id}").json()["name"] == (
        "renamed by the teacher"
    )
    # Everything fits the phone's width.
    assert t.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    t.screenshot(path=str(artifacts / "model-controls-phone-light.png"), full_page=False)
    t.get_by_test_id("model-delete").click()
    confirm = t.get_by_test_id("model-confirm-text")
    assert "renamed by the teacher" in confirm.text_content()
    assert ctx_a.request.get(f"{base}/api/models/{model_id}").status == 200  # not yet
    t.get_by_test_id("model-delete-confirm").click()
    wait_for(t, "id => !document.querySelector(`option[value='${id}']`)", arg=model_id)
    assert ctx_a.request.get(f"{base}/api/models/{model_id}").status == 404
    wait_for(t, "() => window.__nnp.selected().id === '3b1b'")
    assert csp_violations(t) == []


def test_a_learner_can_delete_their_own_model_and_keep_it_by_cancelling(
    pages: ClassPages, class_server: str, artifacts: Path
) -> None:
    base = class_server
    ctx, _ = learner(pages, base, "cleo")
    model_id = upload(ctx, base)
    page = open_in(pages, ctx, f"{base}/", viewport=PHONE, scheme="dark")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    choose_model(page, model_id)
    # Rename, backed out of with Escape: the focus goes back to Rename, the name stays.
    page.get_by_test_id("model-rename").click()
    assert page.evaluate("document.activeElement.id") == "model-name-input"
    page.keyboard.type(" more")
    page.keyboard.press("Escape")
    assert page.get_by_test_id("model-name-input").is_hidden()
    assert page.evaluate("document.activeElement.dataset.testid") == "model-rename"
    assert ctx.request.get(f"{base}/api/models/{model_id}").json()["name"] == MODEL_NAME
    page.screenshot(path=str(artifacts / "model-controls-phone-dark.png"))
    page.get_by_test_id("model-delete").click()
    page.get_by_role("button", name="Keep it").click()
    assert page.get_by_test_id("model-delete").is_visible()
    assert page.evaluate("document.activeElement.dataset.testid") == "model-delete"
    assert ctx.request.get(f"{base}/api/models/{model_id}").status == 200
    page.get_by_test_id("model-delete").click()
    page.get_by_test_id("model-delete-confirm").click()
    wait_for(page, "id => !document.querySelector(`option[value='${id}']`)", arg=model_id)
    assert ctx.request.get(f"{base}/api/models/{model_id}").status == 404
    # Shipped models: no controls, for anyone.
    choose_model(page, "3b1b")
    assert not page.locator(".model-tools").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert csp_violations(page) == []


def test_on_a_single_user_server_saved_models_can_be_renamed_and_deleted(
    open_page, server: str, artifacts: Path
) -> None:
    """Without class mode the one user is the teacher of their server: Rename and Delete for
    every saved model; no Shared switch (there is nobody to share with); no owner line."""
    weights = httpx.get(f"{server}/api/models/3b1b/weights").content
    r = httpx.post(
        f"{server}/api/models", files={"file": ("solo.npz", weights)}, data={"name": "solo"}
    )
    assert r.status_code == 201, r.text
    model_id = r.json()["id"]
    page = open_page()
    choose_model(page, model_id)
    assert page.get_by_test_id("model-owner").text_content() == ""
    assert not page.get_by_test_id("model-shared").is_visible()
    for theme in ("light", "dark"):  # the controls, and the confirmation, in both themes
        set_theme(page, theme)
        assert axe_violations(page, artifacts, f"model-controls-{theme}") == []
        page.get_by_test_id("model-delete").click()
        assert axe_violations(page, artifacts, f"model-confirm-{theme}") == []
        page.keyboard.press("Escape")
    page.get_by_test_id("model-rename").click()
    page.get_by_test_id("model-name-input").fill("solo, renamed")
    page.keyboard.press("Enter")
    wait_for(
        page, "() => document.querySelector('[data-testid=model-name-input]').offsetParent === null"
    )
    assert httpx.get(f"{server}/api/models/{model_id}").json()["name"] == "solo, renamed"
    assert option_text(page, model_id).startswith("solo, renamed")
    page.get_by_test_id("model-delete").click()
    page.get_by_test_id("model-delete-confirm").click()
    wait_for(page, "id => !document.querySelector(`option[value='${id}']`)", arg=model_id)
    assert httpx.get(f"{server}/api/models/{model_id}").status_code == 404
    # A shipped model that is not the default: nothing to say, no row.
    shipped = [
        m["id"]
        for m in httpx.get(f"{server}/api/models").json()["models"]
        if m["shipped"] and not m["default"]
    ]
    choose_model(page, shipped[0])
    assert page.get_by_test_id("model-controls").is_hidden()
    # The server's default model carries the badge.
    default = httpx.get(f"{server}/api/models").json()["default"]
    choose_model(page, default)
    assert page.get_by_test_id("model-default").is_visible()
    assert csp_violations(page) == []


def test_the_model_list_follows_what_others_do_without_a_reload(
    pages: ClassPages, class_server: str
) -> None:
    """A model another learner shares, renames, stops sharing or deletes shows in (or leaves)
    a learner's model select, and the teacher's, while their pages stay open (no reload), and
    a learner's selected model's controls follow its new name; the pages ask for the list at
    a modest rate (no more than one request every 2.5 s on average)."""
    base = class_server
    ctx_a, _ = learner(pages, base, "ana")
    ctx_b, _ = learner(pages, base, "ben")
    b = open_in(pages, ctx_b, f"{base}/")
    t = pages.open(f"{base}/?teacher={TEACHER_TOKEN}", ready=READY)
    gets: list[float] = []
    b.on(
        "request",
        lambda r: (
            gets.append(time.monotonic())
            if r.method == "GET" and r.url == f"{base}/api/models"
            else None
        ),
    )
    since = time.monotonic()
    offers = "id => [...document.querySelectorAll('[data-testid=model-select] option')]"
    has = offers + ".some(o => o.value === id)"
    named = offers + ".some(o => o.value === id && o.textContent.startsWith('ana-net'))"

    model_id = upload(ctx_a, base)  # saved, not shared: the teacher sees it, B does not
    wait_for(t, has, arg=model_id, timeout=15000)
    assert model_id not in offered(b)
    assert ctx_a.request.patch(f"{base}/api/models/{model_id}", data={"shared": True}).ok
    wait_for(b, has, arg=model_id, timeout=15000)
    assert option_text(b, model_id).startswith(MODEL_NAME)
    no_markup(b)
    choose_model(b, model_id)

    assert ctx_a.request.patch(f"{base}/api/models/{model_id}", data={"name": "ana-net"}).ok
    wait_for(b, named, arg=model_id, timeout=15000)
    wait_for(t, named, arg=model_id, timeout=15000)
    rename = "() => document.querySelector('[data-testid=model-rename]').ariaLabel"
    wait_for(b, rename + " === 'Rename ana-net'")  # the selected model's controls followed

    assert ctx_a.request.patch(f"{base}/api/models/{model_id}", data={"shared": False}).ok
    wait_for(b, f"id => !({has})(id)", arg=model_id, timeout=15000)
    assert ctx_a.request.delete(f"{base}/api/models/{model_id}").ok
    wait_for(t, f"id => !({has})(id)", arg=model_id, timeout=15000)

    elapsed = time.monotonic() - since
    assert 1 <= len(gets) <= 1 + elapsed / 2.5, (len(gets), elapsed)
    assert csp_violations(b) == [] and csp_violations(t) == []
