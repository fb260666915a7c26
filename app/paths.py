"""Where the package's bundled files live, in a source checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _bundled(name: str) -> Path:
    # A wheel carries static/ and templates/ inside the package (see pyproject's force-include);
    # a source checkout or editable install keeps them at the repository root.
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name


STATIC_DIR = _bundled("static")
TEMPLATES_DIR = _bundled("templates")
SHIPPED_MODELS_DIR = PACKAGE_DIR / "models"
