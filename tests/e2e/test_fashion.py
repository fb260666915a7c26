"""Fashion-MNIST on the page (issue 17 §3): a run on the fashion dataset downloads it from a
local mirror with the progress bar, trains, and the page names the outputs by class — in the
confusion matrix, the prediction and the network view — for the run and for the model saved
from it, while the MNIST models keep their digits.

The mirror serves generated files in Fashion-MNIST's format (never the real ones); their
checksums reach the server through NNP_DATASETS, as an operator's private copy's would.
"""

from __future__ import annotations

import json
from pathlib import Path

from data.fakes import make_fake_dataset, serve_folder

from .conftest import run_server
from .test_playground import choose_model, clear, draw_and_predict
from .waits import wait_for

FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
# A stroke across the pad: whatever the network makes of it, the answer is one of its classes.
STROKE = [(0.3, 0.2), (0.7, 0.2), (0.5, 0.5), (0.5, 0.85)]
TEXTS = "els => els.map(e => e.textContent)"
CLASS_NAMES = "async () => (await import('/static/js/classes.js')).classNames()"


def predict(page) -> str:
    """Draw STROKE on a clear pad (scrolled into view) and return the prediction's text."""
    clear(page)
    page.get_by_test_id("draw-canvas").scroll_into_view_if_needed()
    return draw_and_predict(page, STROKE)


def random_test_image(page, prefix: str) -> str:
    """Press "Random test digit" (its label under the pad emptied first); the new label
    starts with `prefix`; return it."""
    page.locator("#digit-label").evaluate("el => { el.textContent = ''; }")
    page.locator("#random-digit").click()
    label = "() => document.getElementById('digit-label').textContent"
    shown = wait_for(page, label)
    assert shown.startswith(prefix), shown
    return shown


def test_a_fashion_run_downloads_trains_and_shows_class_names(
    open_page, mnist_dir: Path, tmp_path: Path, artifacts: Path
) -> None:
    # More training images than the preset's 5,000 held out for validation.
    fake = make_fake_dataset(train=6000, test=200)
    mirror_dir = fake.write(tmp_path / "mirror")
    # ~1.6 MB/s: the download takes a couple of seconds, long enough to watch.
    with serve_folder(mirror_dir, chunk=32 * 1024, pause=0.02) as mirror:
        sources = {"fashion_mnist": {"mirrors": [mirror.url], "checksums": fake.gz_checksums}}
        with run_server(
            tmp_path / "fashion", NNP_MNIST_DIR=str(mnist_dir), NNP_DATASETS=json.dumps(sources)
        ) as base:
            page = open_page(base=base)
            page.evaluate(
                """() => {
                  window.__dl = [];
                  const bar = document.getElementById("download-progress");
                  const block = document.getElementById("download-block");
                  setInterval(() => { if (!block.hidden) window.__dl.push(bar.value); }, 20);
                }"""
            )
            options = page.eval_on_selector_all("#f-dataset option", "os => os.map(o => o.text)")
            assert options == ["MNIST", "Fashion-MNIST"]  # the server's registry, by title
            page.select_option("#f-preset", "3b1b")
            page.select_option("#f-dataset", "fashion_mnist")
            page.fill("#f-epochs", "2")
            page.get_by_test_id("train-start").click()

            # Download progress, seen mid-way, never going back.
            wait_for(page, "() => window.__dl.some(v => v > 0 && v < 1)", timeout=30000)
            assert "MB" in (page.locator("#download-text").text_content() or "")
            label = page.locator("#download-label").text_content() or ""
            assert label == "Downloading Fashion-MNIST (first use)"
            # Trained: the confusion matrix names its rows by class.
            wait_for(
                page,
                "() => [...document.querySelectorAll('#confusion th')]"
                ".some(th => th.textContent.includes('Ankle boot'))",
                timeout=90000,
            )
            seen = page.evaluate("window.__dl")
            assert seen == sorted(seen), "the download bar went backwards"
            rows = page.eval_on_selector_all(
                "#confusion th[scope=row]", "ts => ts.map(t => t.textContent)"
            )
            assert rows == [f"{i} {name}" for i, name in enumerate(FASHION_CLASSES)]
            assert page.evaluate(CLASS_NAMES) == FASHION_CLASSES  # the network view's labels

            # The run answers the drawing with a class name.
            assert predict(page) in FASHION_CLASSES
            page.screenshot(path=str(artifacts / "fashion-run.png"), full_page=True)

            # Saved, the model keeps its names; an MNIST model answers with a digit.
            page.get_by_test_id("train-save").click()
            saved = wait_for(
                page,
                "() => window.__nnp && [...document.querySelectorAll('#model-select option')]"
                ".map(o => o.value).find(v => v.startsWith('m_'))",
            )
            option = page.locator(f"#model-select option[value='{saved}']").text_content()
            assert option and option.endswith("· Fashion-MNIST")
            choose_model(page, saved)
            assert predict(page) in FASHION_CLASSES
            assert page.evaluate(CLASS_NAMES) == FASHION_CLASSES
            # What it dreams of: one image per class, captioned with the class's name.
            wait_for(
                page,
                "() => [...document.querySelectorAll('[data-testid=dream] strong')]"
                ".some(e => e.textContent === 'Ankle boot')",
                timeout=30000,
            )
            assert page.eval_on_selector_all("[data-testid=dream] strong", TEXTS) == FASHION_CLASSES
            # "Random test digit" takes a test image of the model's own dataset, named by class.
            shown = random_test_image(page, "Fashion-MNIST test image #")
            index, name = shown.removeprefix("Fashion-MNIST test image #").split(", labelled ")
            assert name == FASHION_CLASSES[fake.arrays["t10k-labels-idx1-ubyte"][int(index)]]
            page.screenshot(path=str(artifacts / "fashion-model.png"), full_page=True)
            choose_model(page, "3b1b")
            assert predict(page) in [str(d) for d in range(10)]
            assert page.evaluate(CLASS_NAMES) == [str(d) for d in range(10)]
            assert random_test_image(page, "MNIST test digit #")
            page.close()  # before its server stops, or the page would (rightly) complain

    # The files landed in the dataset's own cache folder, verified, nothing half-written.
    cache = tmp_path / "fashion" / "cache"
    assert sorted(p.name for p in (cache / "fashion-mnist").iterdir()) == sorted(
        f"{name}.gz" for name in fake.gz
    )
    assert sorted(mirror.requests) == sorted(f"/{name}.gz" for name in fake.gz)
