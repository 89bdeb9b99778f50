"""Rendering the messages we send customers from the jinja2 templates in `templates/messages/`.

Operators change the wording by editing the templates, not the code. Each
message has a `.txt` template and may have a `.html` one. A message is written
in its reader's language: `locale` (the customer's), else `[i18n] default_locale`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2

from contactcenter.i18n import gettext, ngettext, reading_as
from contactcenter.settings import TEMPLATES_DIR
from contactcenter.web.formatting import FILTERS


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR / "messages"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        # What customers read goes through _() / {% trans %} too, in their language.
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    environment.filters.update(FILTERS)
    return environment


def render_message(template: str, *, locale: str = "", timezone: str = "UTC", **values: Any) -> tuple[str, str]:
    """-> (text, html) in `locale`; html is empty when the message has no HTML template."""
    env = _environment()
    with reading_as(locale, timezone):
        text = env.get_template(f"{template}.txt").render(**values).strip() + "\n"
        try:
            html = env.get_template(f"{template}.html").render(**values)
        except jinja2.TemplateNotFound:
            html = ""
    return text, html
