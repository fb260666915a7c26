"""Labelled drawings on the page (issue 17 §1), in a real Chromium against a real server:
"Wrong? It's a …" under the prediction stores the drawing with the label tapped and says so
(undo deletes it); "Keep as a labelled example" stores the network's answer; neither is offered
for an MNIST test digit or an empty pad; "My drawings" shows them by digit with the count of
each, relabels and deletes; export then import round-trips through the page; an import with a
bad row lists that row's error and imports nothing; the buttons work from the keyboard alone;
both themes and a phone pass axe and the 24 px target rule. Screenshots of each panel go to
the artifacts folder.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from .test_accessibility import axe_violations, set_theme
from .test_playground import SEVEN, clear, draw_and_predict
from .test_touch_targets import failing_targets
from .waits import wait_for


def listed(server: str) -> list[dict]:
    r = httpx.get(f"{server}/api/drawings")
    assert r.status_code == 200, r.text
    return r.json()["drawings"]


def remove_all(server: str) -> None:
    for d in listed(server):
        httpx.delete(f"{server}/api/drawings/{d['id']}")


@pytest.fixture(autouse=True)
def _no_drawings(server: str) -> Iterator[None]:
    """Each test starts and ends without drawings (the server is shared)."""
    remove_all(server)
    yield
    remove_all(server)


def add_by_api(server: str, n: int) -> list[dict]:
    """n MNIST test digits stored as drawings (pixels and their true labels)."""
    out = []
    for _ in range(n):
        d = httpx.get(f"{server}/api/digits/random").json()
        r = httpx.post(f"{server}/api/drawings", json={"pixels": d["pixels"], "label": d["label"]})
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def count_shown(page, label: int) -> str:
    return page.get_by_test_id(f"drawings-count-{label}").text_content()


def wait_count(page, total: int) -> None:
    wait_for(page, "n => window.__nnp.drawingsTotal() === n", arg=total, timeout=10000)


def wait_text(page, testid: str, fragment: str) -> str:
    return wait_for(
        page,
        "([id, f]) => { const t = document.querySelector(`[data-testid=${id}]`).textContent;"
        " return t.includes(f) && t; }",
        arg=[testid, fragment],
        timeout=15000,
    )


def images_loaded(page) -> None:
    """Every thumbnail in "My drawings" has loaded (they load lazily: scrolled into view)."""
    page.get_by_test_id("drawings-gallery").scroll_into_view_if_needed()
    wait_for(page, "() => [...document.querySelectorAll('[data-testid=drawing] img')]"
             ".every(i => i.complete && i.naturalWidth > 0)")  # fmt: skip


OURS = "#correct, #correct-status, #my-drawings"


def axe_on_ours(page, artifacts, name: str) -> list[dict]:
    """Serious and critical axe-core violations inside the correction bar and "My drawings"
    (elsewhere on the page is test_accessibility's)."""
    found = axe_violations(page, artifacts, name)
    inside = (
        "([targets, ours]) => targets.map(t => { const el = document.querySelector(t[0]);"
        " return Boolean(el && el.closest(ours)); })"
    )
    for v in found:
        flags = page.evaluate(inside, [[n["target"] for n in v["nodes"]], OURS])
        v["nodes"] = [n for n, ours in zip(v["nodes"], flags, strict=True) if ours]
    return [v for v in found if v["nodes"]]


def another(digit: str) -> int:
    """A label that is not the network's answer."""
    return 3 if digit != "3" else 5


def test_correct_a_prediction_and_see_it_in_my_drawings(open_page, server: str) -> None:
    page = open_page()
    bar = page.get_by_test_id("correct")
    assert bar.is_hidden(), "offered before anything is drawn"
    assert page.get_by_test_id("drawings-empty").is_visible()
    predicted = draw_and_predict(page, SEVEN)
    assert bar.is_visible()
    label = another(predicted)
    page.get_by_test_id(f"correct-{label}").click()
    text = wait_text(page, "correct-text", "Saved as")
    assert text == f"Saved as a {label} · 1 of your drawings"
    [saved] = listed(server)
    assert saved["label"] == label and saved["source"] == "correction"
    # What is stored is the stroke image as the pad draws it (the PNG predict is sent).
    image = httpx.get(f"{server}/api/drawings/{saved['id']}/image")
    assert image.headers["content-type"] == "image/png"
    png = Image.open(io.BytesIO(image.content))
    assert png.size == (280, 280) and png.getextrema() != ((0, 0),)
    # "My drawings" shows it under its digit, with the count, and its image loads.
    assert count_shown(page, label) == "1"
    group = page.get_by_test_id(f"drawings-group-{label}")
    assert group.locator("[data-testid=drawing]").count() == 1
    images_loaded(page)
    assert not page.get_by_test_id("drawings-empty").is_visible()

    # A second tap for the same drawing relabels it rather than storing it twice.
    page.get_by_test_id("correct-8").click()
    assert wait_text(page, "correct-text", "an 8") == "Saved as an 8 · 1 of your drawings"
    assert [d["label"] for d in listed(server)] == [8]
    assert page.get_by_test_id("correct-8").get_attribute("aria-pressed") == "true"
    # Undo deletes it.
    page.get_by_test_id("correct-undo").click()
    wait_text(page, "correct-text", "Removed")
    assert listed(server) == []
    wait_count(page, 0)

    # "Keep as a labelled example" stores the network's answer.
    page.get_by_test_id("keep-example").click()
    wait_text(page, "correct-text", f"Saved as a{'n' if predicted == '8' else ''} {predicted}")
    [kept] = listed(server)
    assert kept["label"] == int(predicted) and kept["source"] == "example"

    # Relabel and delete in "My drawings".
    page.get_by_test_id("drawing-relabel").select_option("9")
    wait_for(page, "() => document.querySelector('[data-testid=drawings-group-9]')")
    assert [d["label"] for d in listed(server)] == [9]
    assert count_shown(page, 9) == "1" and count_shown(page, int(predicted)) == "0"
    assert wait_text(page, "drawings-status", "Relabelled") == "Relabelled as a 9."
    page.get_by_test_id("drawing-delete").click()
    wait_count(page, 0)
    assert listed(server) == []
    assert page.get_by_test_id("drawings-empty").is_visible()
    assert page.get_by_test_id("drawings-gallery").locator("[data-testid=drawing]").count() == 0


def test_not_offered_for_a_test_digit_or_an_empty_pad(open_page) -> None:
    page = open_page()
    page.get_by_role("button", name="Random test digit").click()
    wait_for(page, "window.__nnp.settled() && document.querySelector('#prediction').textContent")
    assert page.get_by_test_id("correct").is_hidden(), "offered for MNIST's own digit"
    draw_and_predict(page, SEVEN)  # a stroke on it makes it the learner's drawing
    assert page.get_by_test_id("correct").is_visible()
    clear(page)
    wait_for(page, "() => document.querySelector('[data-testid=correct]').hidden")


def test_the_correction_buttons_work_from_the_keyboard(open_page, server: str) -> None:
    page = open_page()
    draw_and_predict(page, SEVEN)
    page.focus("#random-digit")
    page.keyboard.press("Tab")
    focused = "() => document.activeElement.dataset.testid"
    assert page.evaluate(focused) == "correct-0"
    for _ in range(4):
        page.keyboard.press("Tab")
    assert page.evaluate(focused) == "correct-4"
    assert page.evaluate("document.activeElement.matches(':focus-visible')")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), outline
    label = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert label.startswith("It's a 4: save this drawing labelled 4"), label
    page.keyboard.press("Enter")
    wait_text(page, "correct-text", "Saved as a 4")
    assert [d["label"] for d in listed(server)] == [4]
    assert page.evaluate(focused) == "correct-4", "saving took the focus away"
    for _ in range(6):  # 5 … 9, then "Keep as a labelled example"
        page.keyboard.press("Tab")
    assert page.evaluate(focused) == "keep-example"
    page.keyboard.press("Tab")
    assert page.evaluate(focused) == "correct-undo"
    page.keyboard.press("Space")
    wait_text(page, "correct-text", "Removed")
    assert listed(server) == []


def test_relabel_from_the_keyboard_saves_where_the_arrows_stop(open_page, server: str) -> None:
    pixels = httpx.get(f"{server}/api/digits/random").json()["pixels"]
    httpx.post(f"{server}/api/drawings", json={"pixels": pixels, "label": 2})
    page = open_page()
    wait_count(page, 1)
    patches = []
    page.on("request", lambda r: patches.append(r.url) if r.method == "PATCH" else None)
    page.get_by_test_id("drawing-relabel").focus()
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    wait_for(page, "() => document.querySelector('[data-testid=drawings-group-5]')")
    assert [d["label"] for d in listed(server)] == [5]
    assert len(patches) == 1, patches
    # The focus stays on the drawing's select, now in its new group.
    assert page.evaluate("document.activeElement.dataset.role") == "relabel"
    assert page.evaluate("document.activeElement.closest('[data-testid=drawings-group-5]')")


def test_export_then_import_round_trips_through_the_page(open_page, server: str, tmp_path) -> None:
    made = add_by_api(server, 6)
    want = sorted(d["label"] for d in made)
    page = open_page()
    wait_count(page, 6)
    with page.expect_download() as download:
        page.get_by_test_id("drawings-export").click()
    path = tmp_path / "drawings.zip"
    download.value.save_as(path)
    assert zipfile.is_zipfile(path)
    remove_all(server)
    page.reload()
    wait_for(page, "window.__nnp && window.__nnp.ready", timeout=15000)
    wait_for(page, "() => !document.querySelector('[data-testid=drawings-empty]').hidden")
    page.get_by_test_id("drawings-file").set_input_files(str(path))
    assert wait_text(page, "drawings-status", "Imported") == "Imported 6 drawings."
    wait_count(page, 6)
    assert sorted(d["label"] for d in listed(server)) == want
    for label in set(want):
        assert count_shown(page, label) == str(want.count(label))


def test_a_digit_with_many_drawings_shows_the_newest_then_all(open_page, server: str) -> None:
    """An import of thousands would be too many elements: the newest 40 of a digit are shown,
    and "Show all" shows the rest."""
    pixels = httpx.get(f"{server}/api/digits/random").json()["pixels"]
    ids = []
    for _ in range(45):
        r = httpx.post(f"{server}/api/drawings", json={"pixels": pixels, "label": 6})
        ids.append(r.json()["id"])
    page = open_page()
    wait_count(page, 45)
    group = page.get_by_test_id("drawings-group-6")
    shown = group.locator("[data-testid=drawing]")
    assert shown.count() == 40
    assert shown.first.get_attribute("data-id") == ids[-1], "the newest first"
    assert count_shown(page, 6) == "45"
    page.get_by_test_id("drawings-more-6").click()
    assert shown.count() == 45
    assert page.evaluate("document.activeElement.closest('li').dataset.id") == ids[4]


def png_bytes(value: int = 255) -> bytes:
    img = Image.new("L", (28, 28), 0)
    for x in range(8, 20):
        for y in range(6, 22):
            img.putpixel((x, y), value if x in (13, 14) else 0)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_an_import_with_a_bad_row_shows_that_rows_error(
    open_page, server: str, page_errors, tmp_path
) -> None:
    page_errors.allow("422")  # the browser logs the refused upload
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a.png", png_bytes())
        z.writestr("b.png", png_bytes())
        z.writestr("c.png", png_bytes())
        z.writestr("labels.csv", "file,label\na.png,1\nb.png,12\nc.png,7\n")
    page = open_page()
    page.get_by_test_id("drawings-file").set_input_files(str(path))
    status = wait_text(page, "drawings-status", "Nothing imported")
    assert "1 row is wrong" in status, status
    errors = page.get_by_test_id("drawings-error").all_text_contents()
    assert len(errors) == 1, errors
    assert errors[0].startswith("Row 3 (b.png): ") and "12" in errors[0], errors
    assert listed(server) == [], "a refused import imported something"
    assert page.evaluate("window.__nnp.drawingsTotal()") == 0
    assert page.get_by_test_id("drawings-import").is_enabled()
    assert page.get_by_test_id("drawings-progress").is_hidden()


def test_names_and_errors_are_text_not_html(open_page, page_errors, tmp_path) -> None:
    """A file name with markup in a refused import is shown as text."""
    page_errors.allow("422")
    name = '<img src=x onerror="window.__pwned=1">.png'
    path = tmp_path / "xss.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("labels.csv", f"file,label\n{name},3\n")
    page = open_page()
    page.get_by_test_id("drawings-file").set_input_files(str(path))
    wait_text(page, "drawings-status", "Nothing imported")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("[data-testid=drawings-errors] img").count() == 0


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
@pytest.mark.parametrize("theme", ["dark", "light"])
def test_panels_in_both_themes_and_on_a_phone(
    open_page, server: str, artifacts, theme: str, width: int, height: int
) -> None:
    add_by_api(server, 5)
    page = open_page(width, height)
    set_theme(page, theme)
    wait_count(page, 5)
    draw_and_predict(page, SEVEN)
    page.get_by_test_id("correct-2").click()
    wait_text(page, "correct-text", "Saved as a 2")
    images_loaded(page)
    # Nothing sticks out sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    found = axe_on_ours(page, artifacts, f"drawings-{theme}-{width}")
    assert not found, json.dumps(found, indent=2)
    if width < 500:  # every target of ours at least 24×24 CSS px (WCAG 2.2 2.5.8)
        boxes = page.evaluate(
            "ours => [...document.querySelectorAll(ours)].map(el => {"
            " const r = el.getBoundingClientRect();"
            " return [r.left + scrollX, r.top + scrollY, r.right + scrollX, r.bottom + scrollY];"
            " })",
            OURS,
        )

        def ours(t: dict) -> bool:
            return any(x0 <= t["x"] < x1 and y0 <= t["y"] < y1 for x0, y0, x1, y1 in boxes)

        small = [t for t in failing_targets(page, "page") if ours(t)]
        assert not small, json.dumps(small, indent=2)
    shots = {"correct": page.locator(".draw-card"), "panel": page.get_by_test_id("my-drawings")}
    for name, where in shots.items():
        where.scroll_into_view_if_needed()
        file = f"drawpage-{name}-{theme}-{width}x{height}.png"
        where.screenshot(path=str(artifacts / file))
