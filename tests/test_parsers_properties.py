"""Property tests for the parsers on the hub's edge: whatever comes in, each one
answers with its value or its documented error, never anything else.

- configuration (`load_settings`): a Settings value or ConfigError;
- the web form and JSON intake (`channels.web.parse_contact`): an
  InboundContact or InputError listing the fields;
- identifier normalisation (`contactcenter.identity.normalize`): a normalised value or
  None, and normalising twice changes nothing (stored values must match the
  searches that re-normalise what an agent types).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contactcenter.channels.web import parse_contact
from contactcenter.contact import ChannelKind, InboundContact
from contactcenter.errors import ConfigError, InputError
from contactcenter.identity.normalize import is_text, mask, normalize_email, normalize_name, normalize_phone
from contactcenter.settings import DEFAULT_CONFIG, Settings, _read_toml, load_settings

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")

DEFAULTS = _read_toml(DEFAULT_CONFIG)
KNOWN_KEYS = [(section, key) for section, values in DEFAULTS.items() for key in values]

# ---------------------------------------------------------------- settings

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


def toml_value(value: Any) -> str:
    """A small TOML writer; values TOML cannot hold come out invalid on purpose."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items() if v is not None) + "}"
    return '""'


@st.composite
def config_files(draw) -> str:
    lines = []
    for section in draw(st.lists(st.sampled_from([*DEFAULTS, "unknown"]), max_size=4, unique=True)):
        lines.append(f"[{section}]")
        keys = list(DEFAULTS.get(section, {})) + ["bogus"]
        for key in draw(st.lists(st.sampled_from(keys), max_size=4, unique=True)):
            lines.append(f"{key} = {toml_value(draw(json_values.filter(lambda v: v is not None)))}")
    if draw(st.booleans()):
        lines.append(draw(st.text(max_size=40)))  # a stray line: often not TOML at all
    return "\n".join(lines)


environments = st.dictionaries(
    st.sampled_from([f"CONTACTCENTER_{s}_{k}".upper() for s, k in KNOWN_KEYS]),
    st.text(max_size=30) | st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{1,3})?", fullmatch=True) | st.sampled_from(["true", "off", "{}", "[]", '{"a": "b"}']),
    max_size=6,
)


@PROPERTY_SETTINGS
@given(text=config_files(), environ=environments)
@example(text="[database]\npool_size = " + "[" * 2000 + "]" * 2000, environ={})
@example(text="", environ={"CONTACTCENTER_EMAIL_ADDRESSES": "[" * 100_000})
@example(text="", environ={"CONTACTCENTER_HTTP_PORT": "9" * 5000})
@example(text="[http]\nport = 0", environ={})
def test_settings_load_or_name_the_problem(tmp_path_factory, text: str, environ: dict[str, str]) -> None:
    path = tmp_path_factory.mktemp("cfg") / "hub.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        loaded = load_settings(path, environ=environ)
    except ConfigError as exc:
        assert str(exc), "a configuration error must say what is wrong"
        return
    assert isinstance(loaded, Settings)
    assert 0 < loaded.http.port < 65536


@PROPERTY_SETTINGS
@given(section_key=st.sampled_from(KNOWN_KEYS), raw=st.text(max_size=20))
# What Hypothesis once found: a duration of nan (nan != nan), inf, or below 0.
@example(section_key=("http", "token_cache_seconds"), raw="nan")
@example(section_key=("outbox", "poll_seconds"), raw="inf")
@example(section_key=("tickets", "reopen_days"), raw="-1")
def test_environment_override_wins_or_is_refused(section_key: tuple[str, str], raw: str) -> None:
    section, key = section_key
    try:
        loaded = load_settings(environ={f"CONTACTCENTER_{section}_{key}".upper(): raw})
    except ConfigError as exc:
        assert f"[{section}" in str(exc), "the error names the section (or the table) of the bad key"
        return
    value = getattr(getattr(loaded, section), key)
    default = DEFAULTS[section][key]
    if isinstance(default, str):
        assert value == raw
    elif isinstance(default, bool):
        assert value is (raw.lower() in ("1", "true", "yes", "on"))
    elif isinstance(default, (int, float)):
        assert value == type(default)(raw)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


# ---------------------------------------------------------------- web form / JSON intake

field_values = st.one_of(
    st.text(max_size=60),
    st.emails().map(str),
    st.from_regex(r"\+?[0-9 ()\-.]{3,20}", fullmatch=True),
    st.sampled_from(["question", "request", "complaint", "rant", "", " ", "\x00", "\ud800"]),
    json_values,
)
form_bodies = st.dictionaries(
    st.sampled_from(["name", "email", "phone", "subject", "message", "type", "extra"]), field_values, max_size=7
)


@pytest.fixture(scope="module")
def default_settings() -> Settings:
    return load_settings(environ={})


@PROPERTY_SETTINGS
@given(body=form_bodies, customer=st.none() | json_values)
@example(body={"email": "a@example.com", "message": "x" * 20001}, customer=None)
@example(body={"email": "a@example.com", "message": "hi", "name": "\ufdfa" * 20}, customer=None)
@example(body={"phone": "+1 415 555 0100", "message": "hi"}, customer={"tier": "x" * 500})
def test_parse_contact_returns_a_contact_or_lists_the_fields(default_settings: Settings, body: dict, customer: Any) -> None:
    limits = default_settings.web
    try:
        contact = parse_contact(body, default_settings, channel=ChannelKind.API, provider_id="ext:p", customer=customer)
    except InputError as exc:
        assert exc.fields, "every refusal names the fields to fix"
        assert exc.status == 400
        return
    assert isinstance(contact, InboundContact)
    assert contact.identities, "a contact we can answer has an address or a number"
    for identity in contact.identities:
        if identity.kind == "email":
            assert identity.value == normalize_email(identity.value)
        else:
            assert E164.match(identity.value)
        assert identity.evidence == "claimed"
    assert contact.text and contact.text == contact.text.strip() and len(contact.text) <= limits.max_message_chars
    assert len(contact.subject) <= limits.max_subject_chars and len(contact.display_name) <= limits.max_name_chars
    for value in (contact.text, contact.subject, contact.display_name):
        assert is_text(value)
    hints = contact.customer_hints
    assert set(hints) <= {"tier", "external_id", "segments"}
    assert isinstance(hints.get("tier", ""), str) and len(hints.get("tier", "")) <= 20
    assert all(isinstance(s, str) for s in hints.get("segments", []))
    json.dumps(contact.to_json())  # storable raw for replay


# ---------------------------------------------------------------- normalisation

@settings(max_examples=500, deadline=None)
@given(raw=st.one_of(st.text(max_size=80), st.emails().map(str), st.emails().map(lambda e: f"  {e.upper()} ")))
@example(raw="İ@example.com")
@example(raw="a@xn--80ak6aa92e.com")
@example(raw="\ud800@example.com")
def test_normalize_email_is_total_and_idempotent(raw: str) -> None:
    value = normalize_email(raw)
    if value is None:
        return
    assert value == value.strip().lower() and "@" in value and len(value) <= 320
    assert normalize_email(value) == value


@settings(max_examples=500, deadline=None)
@given(
    raw=st.one_of(st.text(max_size=40), st.from_regex(r"\+?[0-9 ()\-.x]{1,30}", fullmatch=True)),
    region=st.one_of(st.sampled_from(["US", "GB", "DE", "FR", "IN", "", "us", "ZZ"]), st.text(max_size=4)),
)
@example(raw="+1 (415) 555-0100 ext. 12", region="US")
@example(raw="０４１５５５５０１００", region="US")
@example(raw="30000000000000", region="DE")  # 16 digits as E.164: libphonenumber calls it valid
def test_normalize_phone_is_total_and_idempotent(raw: str, region: str) -> None:
    value = normalize_phone(raw, region)
    if value is None:
        return
    assert E164.match(value), value
    assert normalize_phone(value, region) == value
    assert normalize_phone(value, "US") == value  # E.164 reads the same in any region


@settings(max_examples=500, deadline=None)
@given(raw=st.text(max_size=60))
def test_normalize_name_is_idempotent_and_trimmed(raw: str) -> None:
    name = normalize_name(raw)
    assert name == name.strip() and "  " not in name
    assert normalize_name(name) == name


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(st.text(max_size=40), st.emails().map(str)))
def test_mask_never_shows_a_whole_identifier(raw: str) -> None:
    masked = mask(raw)
    if len(raw) > 6:
        assert masked != raw
