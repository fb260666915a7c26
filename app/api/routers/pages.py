"""GET /: the playground page (templates/index.html), or a placeholder until it exists; GET
/compare: the compare-runs page (templates/compare.html)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from app import __version__
from app.api.deps import ModelsDep
from app.paths import TEMPLATES_DIR

router = APIRouter(tags=["pages"])
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

PLACEHOLDER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nn-playground</title></head>
<body><h1>nn-playground {version}</h1>
<p>The page is not built yet. The API is running: see <a href="/docs">/docs</a>.</p>
</body></html>"""


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(request: Request, models: ModelsDep) -> Response:
    if not (TEMPLATES_DIR / "index.html").is_file():
        return HTMLResponse(PLACEHOLDER.format(version=__version__))
    return templates.TemplateResponse(
        request,
        "index.html",
        {"request": request, "version": __version__, "default_model": models.default_id},
    )


@router.get("/compare", response_class=HTMLResponse, include_in_schema=False)
def compare(request: Request) -> Response:
    """The compare page: runs' curves overlaid (the runs come from ?runs=a,b,c, read by the
    page itself)."""
    return templates.TemplateResponse(request, "compare.html", {"version": __version__})
