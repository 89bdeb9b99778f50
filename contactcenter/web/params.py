"""Numbers from URLs, query strings, forms and JSON bodies, checked before they reach a database.

One set of rules for every `{id}` path parameter and numeric parameter, so no
handler can forget one: ASCII digits only (`"²".isdigit()` is true and
`int("٣")` is 3, but neither is an id anyone was given), and within the
column's range. Python refuses to read integers of more than 4,300 digits and
PostgreSQL refuses a bind beyond its INTEGER/BIGINT, so a number out of range
is answered here: 404 for a path (names nothing), 400 for a parameter.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from contactcenter.db.queries import (
    MAX_ID,  # INTEGER keys: the bound PostgreSQL sets, used on SQLite too
)
from contactcenter.errors import InputError, NotFoundError

# Every number we read is far below this; longer strings are refused unread.
_MAX_DIGITS = 18


def parse_whole_number(value: object, maximum: int = MAX_ID) -> int | None:
    """`"42"` -> 42; None unless ASCII digits (or a JSON integer) from 0 to `maximum`."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= _MAX_DIGITS:
        number = int(value)
    else:
        return None
    return number if 0 <= number <= maximum else None


def parse_id(value: object) -> int | None:
    """A record id: a whole number from 1 to MAX_ID; None otherwise."""
    number = parse_whole_number(value)
    return number if number else None


def path_id(request: web.Request, name: str = "id") -> int:
    """The `{id}` of the URL; NotFoundError (404) when it cannot name a record."""
    number = parse_id(request.match_info[name])
    if number is None:
        raise NotFoundError(f"no {name} {request.match_info[name][:40]!r}")
    return number


def id_field(value: Any, name: str) -> int | None:
    """An id given in a body (`from_customer_id`, `agent_id`).

    InputError (400) unless a whole number of at least 1; None for one beyond
    every key, which names nothing (the caller says what is missing).
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)) or parse_whole_number(value, maximum=10**_MAX_DIGITS) in (None, 0):
        raise InputError(f"{name} must be an id (a whole number of at least 1)", fields={name: "must be an id"})
    return parse_id(value)


def number_field(value: Any, name: str, maximum: int = MAX_ID) -> int:
    """A count or offset (`limit`, `after_id`): InputError (400) unless a whole number within range."""
    number = parse_whole_number(value, maximum)
    if number is None:
        raise InputError(f"{name} must be a whole number from 0 to {maximum}", fields={name: "must be a whole number"})
    return number
