"""Rendering HTML pages from `templates/pages/` (autoescaped jinja2)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2
from aiohttp import web

from contactcenter.settings import TEMPLATES_DIR

# Pages may not be framed (clickjacking) and load nothing from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR / "pages"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def render_page(name: str, *, status: int = 200, **values: Any) -> web.Response:
    html = _environment().get_template(name).render(**values)
    return web.Response(text=html, status=status, content_type="text/html", headers=SECURITY_HEADERS)
