"""Ten digits, each drawn twice at an eighth of the pad's height in its corners, read on the
page in Chromium with the default model (`accurate`); prints "N of 20 right" (and the large
control: the same strokes drawn across most of the pad).

    python bench/small_digits.py [--model accurate] [--url http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "bench"), str(REPO / "tests" / "e2e")]

from digit_strokes import CORNERS, DIGITS, SMALL, place  # noqa: E402
from page_bench import ARGS, CHROMIUM, start_server  # noqa: E402
from waits import wait_for  # noqa: E402


def draw_digit(page, strokes) -> str:
    """Clear, draw every stroke with the mouse, and return the prediction after the last."""
    page.get_by_test_id("clear").click()
    box = page.get_by_test_id("draw-canvas").bounding_box()
    for s in strokes:
        at = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in s]
        page.mouse.move(*at[0])
        page.mouse.down()
        for p in at[1:]:
            page.mouse.move(*p, steps=2)
        page.mouse.up()
    wait_for(page, "window.__nnp.settled()", timeout=10000)
    return page.get_by_test_id("prediction").text_content() or ""


def run(url: str, model: str) -> tuple[int, int, list[str]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url + "/")
        wait_for(page, "window.__nnp && window.__nnp.ready", timeout=15000)
        page.get_by_test_id("model-select").select_option(model)
        wait_for(page, "v => (window.__nnp.selected() || {}).id === v", arg=model)
        small, large, wrong = 0, 0, []
        for d, strokes in DIGITS.items():
            for k in range(2):
                x, y = CORNERS[(2 * d + k) % 4]
                got = draw_digit(page, place(strokes, x, y, SMALL))
                small += got == str(d)
                if got != str(d):
                    wrong.append(f"{d}→{got}")
            large += draw_digit(page, place(strokes, 0.12, 0.1, 0.78)) == str(d)
        browser.close()
    return small, large, wrong


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="accurate")
    ap.add_argument("--url", help="a running server (default: start one)")
    args = ap.parse_args()
    if args.url:
        small, large, wrong = run(args.url, args.model)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            proc, url = start_server(Path(tmp))
            try:
                small, large, wrong = run(url, args.model)
            finally:
                proc.terminate()
                proc.wait(timeout=10)
    print(f"small, in the corners: {small} of 20 right   (wrong: {', '.join(wrong) or 'none'})")
    print(f"large: {large} of 10 right")


if __name__ == "__main__":
    main()
