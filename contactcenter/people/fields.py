"""Checking what an admin types about a person, whichever door it comes through.

The API (JSON), the admin page (a form) and `create-agent` (flags) all end
here, so a phone number or a skill level is judged the same way everywhere.
Pure functions: each returns the clean value or raises InputError naming the
field.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contactcenter.contact import ChannelKind
from contactcenter.errors import InputError
from contactcenter.identity.normalize import is_text, normalize_email, parse_phone

ROLES = ("agent", "supervisor", "admin")
CHANNELS = tuple(c.value for c in ChannelKind)
MAX_LEVEL = 5  # skill levels 1..5; 0 takes the skill away
MAX_CAPACITY = 100
MIN_PASSWORD = 8
# Fields the API and the forms accept; `password` is extra to DESIGN.md §6,
# so an admin can give a new person a way in without the command line.
FIELDS = ("email", "name", "role", "phone", "skills", "capacity", "language", "timezone", "active", "password")
_SKILL = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,49}$")
# BCP 47 as people write it: a language, then optional script/region subtags.
_LANGUAGE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8}){0,3}$")


def parse_agent_fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The known fields of `body`, cleaned; unknown fields are refused."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise InputError(f"unknown fields: {', '.join(unknown)}", fields={k: "unknown field" for k in unknown})
    if creating:
        missing = [k for k in ("email", "name") if not body.get(k)]
        if missing:
            raise InputError(f"a new person needs {' and '.join(missing)}", fields={k: "required" for k in missing})
    clean: dict[str, Any] = {}
    for key, value in body.items():
        clean[key] = PARSERS[key](value)
    return clean


def parse_email(value: object) -> str:
    email = normalize_email(value) if isinstance(value, str) and is_text(value) else None
    if email is None:
        raise InputError("'email' must be an email address", fields={"email": "not an email address"})
    return email


def parse_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200 or not is_text(value):
        raise InputError("'name' must be 1 to 200 characters", fields={"name": "required, at most 200 characters"})
    return " ".join(value.split())


def parse_role(value: object) -> str:
    if value not in ROLES:
        raise InputError(f"'role' must be one of {', '.join(ROLES)}", fields={"role": "unknown role"})
    return str(value)


def parse_phone_field(value: object) -> str:
    """An E.164 number (`+14155550100`) or "" for none; national forms are refused:
    calls to agents go out from anywhere, so the country must be written."""
    if value == "" or value is None:
        return ""
    if not isinstance(value, str):
        raise InputError("'phone' must be a string", fields={"phone": "not a phone number"})
    text = value.strip()
    number = parse_phone(text, "") if text.startswith("+") else None
    if number is None or number.e164 is None or number.extension:
        raise InputError(
            "'phone' must be a valid number in E.164 form, like +14155550100", fields={"phone": "not a valid E.164 number"}
        )
    return number.e164


def parse_skills(value: object) -> dict[str, int]:
    """`{"billing": 3}`: levels 1..5; a level of 0 removes the skill."""
    if not isinstance(value, dict):
        raise InputError("'skills' must be an object of skill -> level", fields={"skills": "must be an object"})
    skills = {}
    for name, level in value.items():
        if not isinstance(name, str) or not _SKILL.match(name):
            raise InputError(f"skill name {name!r} is not allowed (lower-case letters, digits, . _ -)", fields={"skills": "bad skill name"})
        if not _is_int(level) or not 0 <= level <= MAX_LEVEL:
            raise InputError(f"skill {name}: the level must be a whole number 0..{MAX_LEVEL}", fields={"skills": "level out of range"})
        if level:
            skills[name] = int(level)
    return skills


def parse_capacity(value: object) -> dict[str, int]:
    """`{"voice": 1, "sms": 3}`: how many of each channel's tickets at once."""
    if not isinstance(value, dict):
        raise InputError("'capacity' must be an object of channel -> count", fields={"capacity": "must be an object"})
    capacity = {}
    for channel, count in value.items():
        if channel not in CHANNELS:
            raise InputError(f"capacity: unknown channel {channel!r} (use {', '.join(CHANNELS)})", fields={"capacity": "unknown channel"})
        if not _is_int(count) or not 0 <= count <= MAX_CAPACITY:
            raise InputError(f"capacity {channel}: a whole number 0..{MAX_CAPACITY}", fields={"capacity": "count out of range"})
        capacity[channel] = int(count)
    return capacity


def parse_language(value: object) -> str:
    if not isinstance(value, str) or not _LANGUAGE.match(value):
        raise InputError("'language' must be a BCP 47 tag such as en or zh-CN", fields={"language": "not a language tag"})
    language, _, rest = value.partition("-")
    return language.lower() + (f"-{rest}" if rest else "")


def parse_timezone(value: object) -> str:
    """An IANA zone name, or "" for the center's own."""
    if value == "":
        return ""
    try:
        if not isinstance(value, str) or not is_text(value) or len(value) > 64:
            raise ValueError
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"'timezone' must be an IANA time zone such as Asia/Shanghai", fields={"timezone": "unknown time zone"}) from None
    return value


def parse_active(value: object) -> bool:
    if not isinstance(value, bool):
        raise InputError("'active' must be true or false", fields={"active": "must be true or false"})
    return value


def parse_password(value: object) -> str:
    if not isinstance(value, str) or len(value) < MIN_PASSWORD or len(value) > 200:
        raise InputError(f"the password needs {MIN_PASSWORD} to 200 characters", fields={"password": "too short"})
    return value


def parse_levels(text: str, what: str) -> dict[str, int]:
    """`billing=3,refunds=1` (the command line's and the form's way) -> {"billing": 3, "refunds": 1}."""
    found: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, equals, number = part.partition("=")
        if not equals or not number.strip().isdigit():
            raise InputError(f"{what}: write name=number pairs separated by commas, like billing=3,refunds=1", fields={what: "bad list"})
        found[name.strip()] = int(number)
    return found


def format_levels(levels: dict[str, Any]) -> str:
    return ",".join(f"{name}={level}" for name, level in sorted(levels.items()))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


PARSERS = {
    "email": parse_email,
    "name": parse_name,
    "role": parse_role,
    "phone": parse_phone_field,
    "skills": parse_skills,
    "capacity": parse_capacity,
    "language": parse_language,
    "timezone": parse_timezone,
    "active": parse_active,
    "password": parse_password,
}
