"""Rendering HTML pages from `templates/pages/` (autoescaped jinja2)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2
from aiohttp import web

from contactcenter.i18n import current_reader, gettext, ngettext
from contactcenter.settings import TEMPLATES_DIR
from contactcenter.web.formatting import FILTERS

# Pages may not be framed (clickjacking) and load nothing from elsewhere.
# Scripts only from our own files (never inline, never eval), no plugins, no
# <base> rewriting; frames only for the sandboxed srcdoc view of an email.
# The agent's softphone (our own copy of Twilio's Voice SDK) talks to Twilio's
# signalling and media servers and needs the microphone, on this origin only.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; img-src 'self' data:; "
        "style-src 'self' 'unsafe-inline'; frame-src 'self'; connect-src 'self' https://*.twilio.com wss://*.twilio.com; media-src 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(self), geolocation=(), payment=()",
}


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR / "pages"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        # Every page string goes through _() / {% trans %}, in the reader's
        # language (contactcenter.i18n: the request's locale).
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    environment.globals["reader"] = current_reader
    environment.filters.update(FILTERS)
    return environment


def render_page(name: str, *, status: int = 200, **values: Any) -> web.Response:
    html = _environment().get_template(name).render(**values)
    return web.Response(text=html, status=status, content_type="text/html", headers=SECURITY_HEADERS)
