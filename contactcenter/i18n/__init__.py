"""Languages: Babel message catalogues, the locale of the current reader, and formatting for it.

Catalogues live in `contactcenter/i18n/locale/<ll_CC>/LC_MESSAGES/messages.po`
(compiled to `.mo` beside it, shipped in the wheel); `babel.cfg` at the top of
the repository says what is extracted (see the README, "Translations").

Who reads decides the language: a page uses the signed-in agent's language,
else `?lang=` on public pages, else the browser's Accept-Language; a message to a
customer uses the customer's language. The current locale and time zone live
in context variables, set per request (aiohttp runs each request in a task of
its own) or around rendering one message (`reading_as`), so templates and
Python code call `_()` without passing them around.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import re

from babel import Locale, UnknownLocaleError
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
SOURCE_LOCALE = "en"  # what the templates and code are written in
# BCP 47's shape, loosely: a language, then subtags (script, region, variants).
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")


@dataclass(frozen=True, slots=True)
class Reader:
    """Who is reading: a BCP 47 language tag (`en`, `zh-CN`) and an IANA time zone."""

    locale: str = SOURCE_LOCALE
    timezone: str = "UTC"


_reader: contextvars.ContextVar[Reader] = contextvars.ContextVar("reader", default=Reader())


def current_reader() -> Reader:
    return _reader.get()


def set_reader(reader: Reader) -> None:
    """For the rest of this task (one HTTP request): read as `reader`."""
    _reader.set(reader)


@contextlib.contextmanager
def reading_as(locale: str, timezone: str = "UTC") -> Iterator[Reader]:
    """Render something for another reader (a customer's message), then go back."""
    token = _reader.set(Reader(locale or SOURCE_LOCALE, timezone or "UTC"))
    try:
        yield _reader.get()
    finally:
        _reader.reset(token)


def babel_locale(tag: str) -> Locale:
    """`zh-CN` -> Locale zh_CN; anything unknown -> English."""
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale.parse(SOURCE_LOCALE)


@lru_cache(maxsize=32)
def translations(tag: str) -> NullTranslations:
    """The compiled catalogue for `tag`; the source text when there is none."""
    if tag == SOURCE_LOCALE:
        return NullTranslations()
    # Folders are named like the tag (`zh-CN` -> zh_CN), not Babel's expanded `zh_Hans_CN`.
    return Translations.load(str(LOCALE_DIR), [tag.replace("-", "_"), tag.partition("-")[0]], DOMAIN)


def gettext(message: str, **values: object) -> str:
    """`message` in the current reader's language; `{name}` placeholders filled from `values`."""
    text = translations(current_reader().locale).gettext(message)
    return text.format(**values) if values else text


def ngettext(singular: str, plural: str, n: int, **values: object) -> str:
    text = translations(current_reader().locale).ngettext(singular, plural, n)
    return text.format(n=n, **values)


_ = gettext


def N_(message: str) -> str:
    """Marks a string for extraction where it is defined; `_()` translates it where it is shown."""
    return message


def choose_locale(preferred: Sequence[str], available: Sequence[str], default: str) -> str:
    """The first of `preferred` we have, by exact tag, else by language (`zh-TW` reads `zh-CN`); else `default`.

    Pure: the caller collects the preferences (agent profile, `?lang=`,
    Accept-Language, the customer's record).
    """
    by_tag = {tag.lower(): tag for tag in available}
    by_language: dict[str, str] = {}
    for tag in available:
        by_language.setdefault(tag.lower().partition("-")[0], tag)
    for wanted in preferred:
        wanted = wanted.strip().replace("_", "-").lower()
        if not wanted or wanted == "*":
            continue
        if wanted in by_tag:
            return by_tag[wanted]
        if (language := wanted.partition("-")[0]) in by_language:
            return by_language[language]
    return default


def parse_accept_language(header: str) -> list[str]:
    """RFC 9110 §12.5.4: `zh-CN,zh;q=0.9,en;q=0.8` -> ["zh-CN", "zh", "en"], best first; q=0 means "not this"."""
    weighted = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, position, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def choose_customer_language(recorded: str, offered: str, *, chosen: bool) -> str:
    """What to keep on the customer's record: their explicit choice (a form's
    language field, the JSON intake's `language`) replaces it; a browser's
    Accept-Language only fills a record that has none."""
    if offered and (chosen or not recorded):
        return offered
    return recorded


def normalize_language(tag: str) -> str | None:
    """A BCP 47 tag in its usual case (`zh-cn` -> `zh-CN`, `zh_hans` -> `zh-Hans`); None when it is not one."""
    tag = tag.strip().replace("_", "-")
    if len(tag) > 20 or not LANGUAGE_TAG.fullmatch(tag):
        return None
    language, *rest = tag.split("-")
    parts = [language.lower()]
    for part in rest:
        parts.append(part.upper() if len(part) == 2 else part.title() if len(part) == 4 else part.lower())
    return "-".join(parts)
