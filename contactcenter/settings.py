"""Configuration: one TOML file over the documented defaults, then environment overrides.

`config/default.toml` holds every key with its documentation; an operator's file
only names what it changes. Each section is a frozen dataclass below, so the rest
of the code reads `settings.http.port` and a misspelt key is caught at start-up,
with one line that names it, instead of being silently ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers

from contactcenter.errors import ConfigError
from contactcenter.resources import package_folder

DEFAULT_CONFIG = package_folder("contactcenter.config") / "default.toml"
TEMPLATES_DIR = package_folder("contactcenter.templates")
ENV_PREFIX = "CONTACTCENTER_"
# Variables with the prefix that are not configuration keys: the file to read,
# and the test suite's and benchmarks' own knobs.
ENV_NOT_KEYS = (ENV_PREFIX + "CONFIG",)
ENV_NOT_KEY_PREFIXES = (ENV_PREFIX + "TEST_", ENV_PREFIX + "BENCH_")


@dataclass(frozen=True, slots=True)
class PathsSettings:
    data_dir: str


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str
    pool_size: int
    pool_timeout: float


@dataclass(frozen=True, slots=True)
class IngestSettings:
    batch_size: int
    max_batch_bytes: int
    writers: int
    max_backlog: int


@dataclass(frozen=True, slots=True)
class HttpSettings:
    host: str
    port: int
    public_url: str
    secret_key: str
    max_body_bytes: int
    request_timeout: float
    idle_timeout: float
    max_header_bytes: int
    max_headers: int
    token_cache_seconds: float


@dataclass(frozen=True, slots=True)
class WebSettings:
    max_message_chars: int
    max_subject_chars: int
    max_name_chars: int
    rate_limit_per_minute: int


@dataclass(frozen=True, slots=True)
class TicketSettings:
    thread_window_hours: float
    auto_acknowledge: bool
    reopen_days: float
    acknowledgements_per_hour: int
    claimed_acknowledgements_per_hour: int
    acknowledgements_per_client_per_hour: int
    sms_acknowledgement_countries: list[str]
    confirm_claimed_addresses: bool


@dataclass(frozen=True, slots=True)
class QueueSettings:
    skills: list[str]
    sla_policy: str
    calendar: str
    csat: bool = True  # send satisfaction surveys for this queue's resolved tickets


@dataclass(frozen=True, slots=True)
class RuleConditions:
    """What a contact must look like for a rule to apply; a list means "any of"."""

    channel: list[str] = field(default_factory=list)
    address: list[str] = field(default_factory=list)
    ivr: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    tier: list[str] = field(default_factory=list)
    segment: list[str] = field(default_factory=list)
    type: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RuleActions:
    queue: str = ""
    priority: str = ""
    type: str = ""


@dataclass(frozen=True, slots=True)
class RoutingRule:
    name: str
    when: RuleConditions
    then: RuleActions


@dataclass(frozen=True, slots=True)
class RoutingSettings:
    default_queue: str
    channel_queues: dict[str, str]
    queues: dict[str, QueueSettings] = field(default_factory=dict)
    rules: list[RoutingRule] = field(default_factory=list)
    default_capacity: dict[str, int] = field(default_factory=dict)
    assign_interval_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    first_response_hours: dict[str, float]
    resolution_hours: dict[str, float]
    at_risk_ratio: float
    breach_raise_priority: bool
    breach_move_to_queue: str


@dataclass(frozen=True, slots=True)
class SlaSettings:
    check_seconds: float
    policies: dict[str, SlaPolicy]


@dataclass(frozen=True, slots=True)
class CalendarSettings:
    timezone: str
    hours: dict[str, list[str]]
    holidays: list[str]


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    interactions_days: int
    check_seconds: float


@dataclass(frozen=True, slots=True)
class OutboxSettings:
    poll_seconds: float
    max_attempts: int
    backoff_base_seconds: float
    backoff_max_seconds: float
    lease_seconds: float


@dataclass(frozen=True, slots=True)
class EmailSettings:
    smtp_host: str
    smtp_port: int
    max_message_bytes: int
    relay_host: str
    relay_port: int
    relay_username: str
    relay_password: str
    relay_tls: str
    from_address: str
    addresses: dict[str, str]
    max_attachment_bytes: int
    max_attachments: int
    max_smtp_sessions: int
    max_bytes_in_memory: int
    spool_bytes: int


@dataclass(frozen=True, slots=True)
class ImapMailbox:
    name: str
    host: str
    username: str
    address: str
    port: int = 993
    tls: bool = True
    password: str = ""
    password_env: str = ""
    folder: str = "INBOX"
    after: str = "seen"
    move_to: str = "Processed"
    poll_seconds: float = 60.0
    idle: bool = True

    def secret(self) -> str:
        return os.environ.get(self.password_env, "") if self.password_env else self.password


@dataclass(frozen=True, slots=True)
class ImapSettings:
    mailboxes: list[ImapMailbox]


@dataclass(frozen=True, slots=True)
class TwilioMenuOption:
    """One choice of the phone menu: a key to press or words to say, and its queue."""

    digit: str
    queue: str
    words: list[str]


@dataclass(frozen=True, slots=True)
class TwilioVoiceSettings:
    greeting: str
    greeting_known: str
    menu_prompt: str
    invalid_choice: str
    closed_message: str
    no_agent_message: str
    voicemail_prompt: str
    voicemail_thanks: str
    voicemail_max_seconds: int
    hold_music_url: str
    language: str
    recording_notice: str
    queue_position: str
    queue_estimate: str
    transfer_message: str
    agent_whisper: str


@dataclass(frozen=True, slots=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    api_key_sid: str
    api_key_secret: str
    phone_number: str
    messaging_service_sid: str
    api_base_url: str
    validate_signatures: bool
    request_timeout: float
    sms_after_hours_reply: str
    calendar: str
    voice: TwilioVoiceSettings
    menu: list[TwilioMenuOption]


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    """How calls reach agents (DESIGN.md §6 `[voice]`)."""

    agent_ring_seconds: int
    wrap_up_seconds: float
    record_calls: bool


@dataclass(frozen=True, slots=True)
class IdentitySettings:
    default_region: str
    plus_tag_domains: list[str]
    free_mail_domains: list[str]


@dataclass(frozen=True, slots=True)
class WorkspaceSettings:
    session_hours: float
    login_attempts_per_address: int
    login_attempts_per_account: int
    login_window_minutes: float
    login_delay_seconds: float
    login_max_delay_seconds: float
    login_account_max_delay_seconds: float
    board_refresh_seconds: float


@dataclass(frozen=True, slots=True)
class CsatSettings:
    enabled: bool
    delay_minutes: float
    per_customer_days: float
    answer_days: float
    check_seconds: float


@dataclass(frozen=True, slots=True)
class ComplaintSettings:
    sla_policy: str
    follow_up_days: float


@dataclass(frozen=True, slots=True)
class ChatSettings:
    enabled: bool
    allowed_origins: list[str]
    identity_secret: str


@dataclass(frozen=True, slots=True)
class PortalSettings:
    enabled: bool
    link_minutes: float
    session_days: float
    links_per_hour: int


@dataclass(frozen=True, slots=True)
class I18nSettings:
    default_locale: str
    locales: list[str]


@dataclass(frozen=True, slots=True)
class Settings:
    database: DatabaseSettings
    ingest: IngestSettings
    http: HttpSettings
    web: WebSettings
    tickets: TicketSettings
    routing: RoutingSettings
    outbox: OutboxSettings
    email: EmailSettings
    imap: ImapSettings
    twilio: TwilioSettings
    voice: VoiceSettings
    identity: IdentitySettings
    sla: SlaSettings
    calendars: dict[str, CalendarSettings]
    workspace: WorkspaceSettings
    csat: CsatSettings
    complaints: ComplaintSettings
    i18n: I18nSettings
    chat: ChatSettings
    portal: PortalSettings
    retention: RetentionSettings
    paths: PathsSettings
    # Where the file came from, for messages; not a key.
    source: str = field(default="", compare=False)

    def data_dir(self) -> Path:
        """Where the SQLite file and the secret key live ([paths] data_dir)."""
        return Path(self.paths.data_dir).expanduser().resolve()

    def database_url(self) -> str:
        """The configured URL, or the embedded SQLite file in the data folder."""
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{self.data_dir() / 'contactcenter.db'}"


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read defaults, then the operator's file, then CONTACTCENTER_* variables."""
    environ = dict(os.environ if environ is None else environ)
    path = path or environ.get(ENV_PREFIX + "CONFIG") or None
    data = _read_toml(DEFAULT_CONFIG)
    if path:
        _merge(data, _read_toml(Path(path)), where="")
    _apply_environment(data, environ)
    settings = _build(Settings, data, where="")
    _check(settings)
    return dataclasses.replace(settings, source=str(path or DEFAULT_CONFIG))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"configuration file {path} nests tables or arrays too deeply") from None


def _merge(base: dict[str, Any], override: dict[str, Any], where: str) -> None:
    """Lay `override` over `base`, refusing keys the defaults do not know.

    Tables that map names to values (mailbox addresses, queues) are replaced
    whole, so an operator's file can remove the example entries.
    """
    for key, value in override.items():
        name = f"{where}.{key}" if where else key
        if where in _NAMED_TABLES:
            base[key] = value  # a calendar or policy is added, or replaced whole, by name
            continue
        if key not in base:
            raise ConfigError(f"unknown configuration key [{_section(name)}] {_key(name)}")
        if isinstance(value, dict) and isinstance(base[key], dict) and not _is_open_table(name):
            _merge(base[key], value, name)
        else:
            base[key] = value


def _apply_environment(data: dict[str, Any], environ: dict[str, str]) -> None:
    known = set(ENV_NOT_KEYS)
    for section, values in data.items():
        if not isinstance(values, dict):
            continue
        for key, current in values.items():
            variable = f"{ENV_PREFIX}{section}_{key}".upper()
            known.add(variable)
            raw = environ.get(variable)
            if raw is None:
                continue
            values[key] = _from_environment(raw, current, f"{section}.{key}")
    _refuse_unknown_variables(environ, known | _password_variables(data))


def _refuse_unknown_variables(environ: dict[str, str], known: set[str]) -> None:
    """A misspelt variable stops start-up like a misspelt key, instead of being ignored."""
    for variable in sorted(environ):
        if variable.startswith(ENV_PREFIX) and variable not in known and not variable.startswith(ENV_NOT_KEY_PREFIXES):
            close = difflib.get_close_matches(variable, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"unknown configuration key from the environment: {variable}{hint}")


def _password_variables(data: dict[str, Any]) -> set[str]:
    """Variables that `[[imap.mailboxes]] password_env` names hold passwords, not keys."""
    mailboxes = data.get("imap", {}).get("mailboxes", [])
    if not isinstance(mailboxes, list):
        return set()
    return {m["password_env"] for m in mailboxes if isinstance(m, dict) and isinstance(m.get("password_env"), str)}


def _from_environment(raw: str, current: Any, name: str) -> Any:
    """Environment values are strings; give them the type the default has."""
    if isinstance(current, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"[{_section(name)}] {_key(name)} from the environment must be true or false")
    if isinstance(current, (dict, list)):
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            raise ConfigError(f"[{_section(name)}] {_key(name)} from the environment must be JSON") from None
    if isinstance(current, (int, float)):
        try:
            return type(current)(raw)
        except ValueError:
            raise ConfigError(
                f"[{_section(name)}] {_key(name)} from the environment must be a number, got {raw!r}"
            ) from None
    return raw


def _build(cls: type, data: Any, where: str) -> Any:
    """Turn a TOML table into the dataclass `cls`, checking names and types."""
    if not isinstance(data, dict):
        raise ConfigError(f"[{where}] must be a table")
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if not f.init or f.name == "source":
            continue
        name = f"{where}.{f.name}" if where else f.name
        if f.name not in data:
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                continue
            raise ConfigError(f"missing configuration key [{_section(name)}] {_key(name)}")
        values[f.name] = _convert(hints[f.name], data[f.name], name)
    for key in data:
        if key not in {f.name for f in dataclasses.fields(cls)}:
            name = f"{where}.{key}" if where else key
            raise ConfigError(f"unknown configuration key [{_section(name)}] {_key(name)}")
    return cls(**values)


def _convert(hint: Any, value: Any, name: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, name)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise _wrong_type(name, "a list", value)
        return [_convert(item, v, f"{name}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        _, item = typing.get_args(hint)
        if not isinstance(value, dict):
            raise _wrong_type(name, "a table", value)
        return {str(k): _convert(item, v, f"{name}.{k}") for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if hint is bool and not isinstance(value, bool):
        raise _wrong_type(name, "true or false", value)
    if hint in (int, float) and (isinstance(value, bool) or not isinstance(value, hint)):
        raise _wrong_type(name, "a number", value)
    if hint in (int, float):
        _check_number(name, value)
    if hint is str and not isinstance(value, str):
        raise _wrong_type(name, "a string", value)
    return value


# Keys (or tables of per-priority values) that hold a length of time.
_DURATION_SUFFIXES = ("_seconds", "_timeout", "_minutes", "_hours", "_days")


def _check_number(name: str, value: float) -> None:
    """No setting means anything with nan or infinity, and no length of time is negative.

    TOML and the environment both accept `nan` and `inf`; a timer set to nan
    never fires and compares unequal to itself, so it is refused here.
    """
    if not math.isfinite(value):
        raise ConfigError(f"[{_section(name)}] {_key(name)} must be a finite number, got {value!r}")
    if value < 0 and any(part.endswith(_DURATION_SUFFIXES) for part in name.split(".")[-2:]):
        raise ConfigError(f"[{_section(name)}] {_key(name)} is a duration and must be 0 or more, got {value!r}")


def _check(settings: Settings) -> None:
    """Rules that span keys or need more than a type."""
    if not 0 < settings.http.port < 65536:
        raise ConfigError("[http] port must be between 1 and 65535")
    if not settings.http.public_url.startswith(("http://", "https://")):
        raise ConfigError("[http] public_url must start with http:// or https://")
    if not 0 <= settings.email.smtp_port < 65536:
        raise ConfigError("[email] smtp_port must be between 0 and 65535 (0: any free port)")
    if settings.email.spool_bytes < 0:
        raise ConfigError("[email] spool_bytes cannot be negative (0: every message goes to disk)")
    if settings.email.relay_tls not in ("starttls", "tls", "none"):
        raise ConfigError('[email] relay_tls must be "starttls", "tls" or "none"')
    for key in ("max_body_bytes", "request_timeout", "idle_timeout", "max_header_bytes", "max_headers"):
        if getattr(settings.http, key) <= 0:
            raise ConfigError(f"[http] {key} must be greater than 0")
    if settings.http.token_cache_seconds < 0:
        raise ConfigError("[http] token_cache_seconds must be 0 or more")
    if settings.workspace.session_hours <= 0:
        raise ConfigError("[workspace] session_hours must be more than 0")
    if settings.workspace.login_attempts_per_address < 1 or settings.workspace.login_attempts_per_account < 1:
        raise ConfigError("[workspace] login_attempts_per_address and login_attempts_per_account must be at least 1")
    if min(settings.workspace.login_delay_seconds, settings.workspace.login_max_delay_seconds, settings.workspace.login_account_max_delay_seconds) < 0:
        raise ConfigError("[workspace] login_delay_seconds and the maximum delays cannot be negative")
    if settings.workspace.login_window_minutes <= 0:
        raise ConfigError("[workspace] login_window_minutes must be more than 0")
    if settings.workspace.board_refresh_seconds < 1:
        raise ConfigError("[workspace] board_refresh_seconds must be at least 1")
    if settings.ingest.batch_size < 1 or settings.ingest.writers < 1 or settings.ingest.max_batch_bytes < 1:
        raise ConfigError("[ingest] batch_size, max_batch_bytes and writers must be at least 1")
    if settings.i18n.default_locale not in settings.i18n.locales:
        raise ConfigError("[i18n] default_locale must be one of [i18n] locales")
    if settings.complaints.sla_policy and settings.complaints.sla_policy not in settings.sla.policies:
        raise ConfigError(f"[complaints] sla_policy names {settings.complaints.sla_policy!r}, which is not under [sla.policies]")
    if settings.csat.answer_days <= 0 or settings.csat.check_seconds <= 0:
        raise ConfigError("[csat] answer_days and check_seconds must be more than 0")
    if settings.portal.link_minutes <= 0 or settings.portal.session_days <= 0 or settings.portal.links_per_hour < 1:
        raise ConfigError("[portal] link_minutes and session_days must be more than 0, links_per_hour at least 1")
    if settings.outbox.max_attempts < 1:
        raise ConfigError("[outbox] max_attempts must be at least 1")
    if settings.retention.interactions_days < 0 or not settings.retention.check_seconds > 0:
        raise ConfigError("[retention] interactions_days must be 0 or more and check_seconds more than 0")
    names = [m.name for m in settings.imap.mailboxes]
    for i, mailbox in enumerate(settings.imap.mailboxes):
        where = f"[imap] mailboxes[{i}]"
        if names.count(mailbox.name) > 1:
            raise ConfigError(f"{where} name {mailbox.name!r} is used twice")
        if mailbox.after not in ("seen", "move", "delete"):
            raise ConfigError(f'{where} after must be "seen", "move" or "delete"')
        if mailbox.password_env and mailbox.password_env not in os.environ:
            raise ConfigError(f"{where} password_env names {mailbox.password_env}, which is not set")
    from contactcenter.routing.rules import check_routing_settings  # it reads these dataclasses

    check_routing_settings(settings)
    _check_twilio(settings)
    _check_identity(settings.identity)


def _check_twilio(settings: Settings) -> None:
    twilio = settings.twilio
    if twilio.account_sid and not twilio.account_sid.startswith("AC"):
        raise ConfigError("[twilio] account_sid must start with AC")
    if twilio.messaging_service_sid and not twilio.messaging_service_sid.startswith("MG"):
        raise ConfigError("[twilio] messaging_service_sid must start with MG")
    if twilio.phone_number and not (twilio.phone_number.startswith("+") and twilio.phone_number[1:].isdigit()):
        raise ConfigError("[twilio] phone_number must be an E.164 number such as +15035550100")
    if not twilio.api_base_url.startswith(("http://", "https://")):
        raise ConfigError("[twilio] api_base_url must start with http:// or https://")
    if twilio.request_timeout <= 0:
        raise ConfigError("[twilio] request_timeout must be more than 0")
    if twilio.calendar not in settings.calendars:
        raise ConfigError(f"[twilio] calendar: no calendar named {twilio.calendar!r} in [calendars]")
    if twilio.api_key_sid and not twilio.api_key_sid.startswith("SK"):
        raise ConfigError("[twilio] api_key_sid must start with SK")
    if not 5 <= settings.voice.agent_ring_seconds <= 600:
        raise ConfigError("[voice] agent_ring_seconds must be between 5 and 600 (Twilio's Timeout range)")
    if settings.voice.wrap_up_seconds < 0:
        raise ConfigError("[voice] wrap_up_seconds must be 0 or more")
    if twilio.voice.voicemail_max_seconds < 1:
        raise ConfigError("[twilio.voice] voicemail_max_seconds must be at least 1")
    digits = [option.digit for option in twilio.menu]
    for option in twilio.menu:
        if len(option.digit) != 1 or option.digit not in "0123456789":
            raise ConfigError(f"[[twilio.menu]] digit must be one key 0-9, got {option.digit!r}")
        if not option.queue:
            raise ConfigError(f"[[twilio.menu]] queue must be set for digit {option.digit}")
        if settings.routing.queues and option.queue not in settings.routing.queues:
            raise ConfigError(f"[[twilio.menu]] queue: no queue named {option.queue!r} in [routing.queues]")
    if len(set(digits)) != len(digits):
        raise ConfigError("[[twilio.menu]] digit must differ between options")


def _check_identity(identity: IdentitySettings) -> None:
    if identity.default_region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"[identity] default_region {identity.default_region!r} is not an ISO 3166 region phonenumbers knows")
    for key in ("plus_tag_domains", "free_mail_domains"):
        for domain in getattr(identity, key):
            if not domain or domain != domain.strip().lower() or "@" in domain:
                raise ConfigError(f"[identity] {key} entries must be lower-case domain names, got {domain!r}")


# Tables whose keys are names chosen by the operator rather than fixed settings.
_OPEN_TABLES = {"email.addresses", "routing.channel_queues", "routing.queues", "routing.default_capacity"}
# Tables of named definitions an operator adds to; the documented ones stay.
_NAMED_TABLES = {"sla.policies", "calendars"}


def _is_open_table(name: str) -> bool:
    return name in _OPEN_TABLES


def _section(name: str) -> str:
    return name.split(".", 1)[0]


def _key(name: str) -> str:
    return name.split(".", 1)[1] if "." in name else ""


def _wrong_type(name: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"[{_section(name)}] {_key(name)} must be {expected}, got {value!r}")
