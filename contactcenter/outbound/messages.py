"""Rendering the messages we send customers from the jinja2 templates in `templates/messages/`.

Operators change the wording by editing the templates, not the code. Each
message has a `.txt` template and may have a `.html` one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2

from contactcenter.settings import TEMPLATES_DIR


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR / "messages"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        # What customers read goes through _() / {% trans %} too (null translations for now).
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return environment


def render_message(template: str, **values: Any) -> tuple[str, str]:
    """-> (text, html); html is empty when the message has no HTML template."""
    env = _environment()
    text = env.get_template(f"{template}.txt").render(**values).strip() + "\n"
    try:
        html = env.get_template(f"{template}.html").render(**values)
    except jinja2.TemplateNotFound:
        html = ""
    return text, html
