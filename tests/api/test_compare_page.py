"""GET /compare: the compare-runs page (issue 16 §2), under the same strict CSP as the main
page: its scripts are files of this server, nothing inline; the run ids are read by the page
itself, so nothing from the query string is written into the HTML."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_the_compare_page_is_served_with_the_csp(client: TestClient) -> None:
    r = client.get("/compare", params={"runs": '"><script>alert(1)</script>,r1'})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "alert(1)" not in r.text
    scripts = re.findall(r"<script\b([^>]*)>", r.text)
    assert scripts and all('src="/static/js/' in attrs for attrs in scripts)
    assert 'src="/static/js/compare.js' in r.text
    assert " style=" not in r.text
    js = ("compare.js", "compare-chart.js", "compare-data.js", "url-state.js", "identity.js")
    for asset in [*(f"/static/js/{name}" for name in js), "/static/css/links.css"]:
        assert client.get(asset).status_code == 200, asset
