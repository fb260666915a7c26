"""GET /docs: Swagger UI from the vendored `swagger-ui-dist` files, offline and CSP-clean.

FastAPI's own /docs loads Swagger UI from a CDN (blank without internet) and starts it with an
inline script (refused by the CSP's `script-src 'self'`). This page loads the files vendored in
static/vendor/swagger-ui/ and starts them from static/js/docs-init.js, which reads the schema's
URL from a data attribute.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from app import __version__
from app.paths import TEMPLATES_DIR

router = APIRouter(tags=["pages"])
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def swagger_ui(request: Request) -> Response:
    return templates.TemplateResponse(
        request,
        "docs.html",
        {
            "title": f"{request.app.title} {request.app.version} · API docs",
            "openapi_url": request.app.openapi_url,
            "version": __version__,
        },
    )
