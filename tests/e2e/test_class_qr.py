"""The dashboard's QR code says the learners' link (issue 16, section 2: "a QR code a phone
can scan from the projector"): Chromium renders the SVG the dashboard shows, as a phone's
camera would see it on the screen, and zxing-cpp (a real QR decoder, the `test` extra)
reads it back."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import zxingcpp
from PIL import Image

from .test_class_dashboard import ClassPages


@pytest.fixture
def pages(browser) -> Iterator[ClassPages]:
    opened = ClassPages(browser)
    yield opened
    opened.close()
    assert opened.errors == [], "console or page errors:\n" + "\n".join(opened.errors)


def decoded(png: bytes) -> list[str]:
    image = Image.open(io.BytesIO(png)).convert("L")
    return [
        r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode
    ]


@pytest.mark.parametrize(
    "viewport", [{"width": 1400, "height": 900}, {"width": 390, "height": 844}]
)
def test_the_dashboards_qr_code_decodes_to_the_learners_link(
    pages: ClassPages, server: str, viewport: dict
) -> None:
    page = pages.open(f"{server}/class", viewport=viewport)
    qr = page.get_by_test_id("qr")
    qr.scroll_into_view_if_needed()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    shown = page.get_by_test_id("learners-link").text_content().strip()
    # The test server listens on 127.0.0.1 (not a wildcard): the link is its own address.
    assert shown == f"{server}/"
    assert decoded(qr.screenshot()) == [shown]
