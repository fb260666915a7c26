"""Drawings in class mode (issue 17 §1), in real Chromium contexts against a class-mode server:
a learner's correction is theirs; the teacher pools the class's drawings from the dashboard and
sees the count and when; a learner's train panel then offers the class dataset; a caller
without an identity gets the correction buttons disabled with the reason (the server's 401).
"""

from __future__ import annotations

from . import test_learners
from .test_learners import api
from .test_playground import SEVEN, draw_and_predict
from .waits import wait_for

# test_learners' class-mode server (its own, for this module) and browser contexts per person.
class_server = test_learners.class_server
people = test_learners.people


def pool_options(page) -> dict[str, bool]:
    """The train panel's drawings pools: value → enabled."""
    return page.eval_on_selector(
        "#f-drawings_pool",
        "s => Object.fromEntries([...s.options].map(o => [o.value, !o.disabled]))",
    )


def test_the_teacher_pools_the_class_drawings_and_learners_can_train_on_them(
    people, class_server: str, artifacts
) -> None:
    base = class_server
    learner = people.person()
    page = people.open(learner)
    assert pool_options(page) == {"mine": True, "class": False}
    draw_and_predict(page, SEVEN)
    page.get_by_test_id("correct-1").click()
    wait_for(page, "window.__nnp.drawingsTotal() === 1")
    mine = api(learner, "GET", f"{base}/api/drawings").json()["drawings"]
    me = api(learner, "GET", f"{base}/api/me").json()
    assert [d["owner"] for d in mine] == [me["id"]]

    teacher, _ = people.teacher()
    dash = teacher.new_page()
    dash.goto(f"{base}/class")
    summary = dash.get_by_test_id("class-drawings-summary")
    wait_for(dash, "() => document.querySelector('[data-testid=class-drawings-summary]')"
             ".textContent.startsWith('Empty')")  # fmt: skip
    dash.get_by_test_id("class-drawings-pool").click()
    wait_for(dash, "() => document.querySelector('[data-testid=class-drawings-summary]')"
             ".textContent.startsWith('1 drawing')")  # fmt: skip
    text = summary.text_content()
    assert "pooled at" in text and "1: 1" in text, text
    assert api(learner, "GET", f"{base}/api/class/drawings").json()["count"] == 1
    for width, height in ((1400, 900), (390, 844)):
        dash.set_viewport_size({"width": width, "height": height})
        for theme in ("light", "dark"):
            dash.emulate_media(color_scheme=theme)
            dash.evaluate("t => { document.documentElement.dataset.theme = t; }", theme)
            control = dash.get_by_test_id("class-drawings")
            control.screenshot(path=str(artifacts / f"drawpage-pool-{theme}-{width}x{height}.png"))

    page.reload()
    wait_for(page, "window.__nnp && window.__nnp.ready", timeout=20000)
    class_option = "document.querySelector('#f-drawings_pool option[value=class]')"
    wait_for(page, f"() => {{ const o = {class_option}; return o && !o.disabled; }}")
    page.select_option("#f-data", "drawings")
    page.select_option("#f-drawings_pool", "class")


def test_without_an_identity_the_buttons_say_why(people, class_server: str) -> None:
    """A page whose cookie is gone (cleared, or blocked) is anonymous to the server: saving a
    drawing is answered 401, and the page disables the buttons with the reason."""
    ctx = people.person()
    people.allowed.append("401")  # the browser logs the refused request
    page = people.open(ctx)
    draw_and_predict(page, SEVEN)
    ctx.clear_cookies()
    page.get_by_test_id("correct-4").click()
    wait_for(page, "() => !document.querySelector('[data-testid=correct-why]').hidden")
    button = page.get_by_test_id("correct-4")
    assert button.is_disabled()
    assert "identity" in button.get_attribute("title")
    assert "identity" in page.get_by_test_id("correct-text").text_content()
    assert page.get_by_test_id("finetune-start").is_disabled()
    assert page.evaluate("window.__nnp.drawingsTotal()") == 0
