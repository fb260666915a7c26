"""First use on a fresh machine: training downloads MNIST, and the page shows its progress.

A server with no MNIST on disk is pointed (NNP_MNIST_MIRRORS) at a mirror on 127.0.0.1 that
serves the real files slowly enough for the progress bar to be seen moving.
"""

from __future__ import annotations

import gzip
import hashlib
import json

from app.data.mnist import MNIST_FILES

from .conftest import run_server
from .waits import wait_for


def test_first_run_downloads_mnist_with_a_progress_bar(open_page, mnist_mirror, tmp_path) -> None:
    root = tmp_path / "fresh"
    with run_server(
        root, NNP_MNIST_DIR=None, NNP_MNIST_MIRRORS=json.dumps([mnist_mirror.url])
    ) as base:
        page = open_page(base=base)
        # Record every value the bar shows, from inside the page.
        page.evaluate(
            """() => {
              window.__dl = [];
              const bar = document.getElementById("download-progress");
              const block = document.getElementById("download-block");
              setInterval(() => { if (!block.hidden) window.__dl.push(bar.value); }, 20);
            }"""
        )
        page.fill("#f-epochs", "1")
        page.fill("#f-train_subset", "2000")
        page.get_by_test_id("train-start").click()

        wait_for(page, "() => window.__dl.some(v => v > 0 && v < 1)", timeout=30000)  # seen mid-way
        assert "MB" in (page.locator("#download-text").text_content() or "")
        wait_for(
            page,
            "() => Number(document.querySelector('[data-testid=run-step]').textContent) > 0",
            timeout=60000,
        )
        wait_for(page, "() => document.getElementById('download-block').hidden")
        seen = page.evaluate("window.__dl")
        assert seen == sorted(seen), "the download bar went backwards"
        page.close()  # before its server stops, or the page would (rightly) retry and complain

    # The files landed in the cache, verified, and nothing half-written was left behind.
    cache = root / "cache"
    for name, digest in MNIST_FILES.items():
        stored = next(cache.glob(f"{name}*"))
        payload = stored.read_bytes()
        if stored.suffix == ".gz":
            payload = gzip.decompress(payload)
        assert hashlib.sha256(payload).hexdigest() == digest
    assert not list(cache.glob("*.part"))
