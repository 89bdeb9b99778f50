"""Which language a request is answered in.

Set once per request, before anything renders: `?lang=` (public pages: a
customer switching the form), else the browser's Accept-Language, else
`[i18n] default_locale`. A signed-in agent's own language and time zone then
win (`sessions.current_person` applies them), whatever the browser says.
"""

from __future__ import annotations

from aiohttp import web

from contactcenter.i18n import Reader, choose_locale, parse_accept_language, set_reader
from contactcenter.keys import HUB
from contactcenter.settings import I18nSettings
from contactcenter.web.middlewares import Handler


def request_locale(request: web.Request, i18n: I18nSettings) -> str:
    """The locale this request asks for, among the configured ones."""
    preferred = [request.query.get("lang", ""), *parse_accept_language(request.headers.get("Accept-Language", ""))]
    return choose_locale(preferred, i18n.locales, i18n.default_locale)


def person_locale(language: str, i18n: I18nSettings, fallback: str) -> str:
    """An agent's profile language, when it is one we have; else what the request chose."""
    return choose_locale([language], i18n.locales, fallback) if language else fallback


@web.middleware
async def locale_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    settings = request.app[HUB].settings
    set_reader(Reader(request_locale(request, settings.i18n), "UTC"))
    response = await handler(request)
    # Caches must not hand a Chinese page to an English reader.
    if "Vary" not in response.headers and not response.prepared:
        response.headers["Vary"] = "Accept-Language, Cookie"
    return response
