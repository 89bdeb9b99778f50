"""The Twilio configuration: checked at start-up with the exact key; the line's opening hours."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contactcenter.channels.twilio_common import line_is_open
from contactcenter.routing.calendars import is_open, parse_calendar
from contactcenter.errors import ConfigError
from contactcenter.settings import CalendarSettings, load_settings
from tests.hubprocess import write_config
from tests.twilio_standin import closed_line


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[twilio]\naccount_sid = "XX123"', "[twilio] account_sid must start with AC"),
        ('[twilio]\nmessaging_service_sid = "AC123"', "[twilio] messaging_service_sid must start with MG"),
        ('[twilio]\nphone_number = "503 555 0100"', "[twilio] phone_number must be an E.164 number"),
        ('[twilio]\napi_base_url = "localhost:9"', "[twilio] api_base_url must start with http"),
        ("[twilio]\nrequest_timeout = 0", "[twilio] request_timeout must be more than 0"),
        ('[twilio]\ncalendar = "nights"', "[twilio] calendar: no calendar named 'nights'"),
        ('[[twilio.menu]]\ndigit = "12"\nqueue = "general"\nwords = []', "[[twilio.menu]] digit must be one key"),
        ('[[twilio.menu]]\ndigit = "1"\nqueue = "general"\nwords = []\n[[twilio.menu]]\ndigit = "1"\nqueue = "general"\nwords = []', "digit must differ"),
        ('[[twilio.menu]]\ndigit = "1"\nqueue = "billing"\nwords = []', "[[twilio.menu]] queue: no queue named 'billing'"),
        ("[twilio.voice]\nvoicemail_max_seconds = 0", "[twilio.voice] voicemail_max_seconds must be at least 1"),
        ('[twilio.voice]\ngreting = "Hi"', "unknown configuration key [twilio] voice.greting"),
    ],
)
def test_bad_twilio_settings_are_refused_naming_the_key(tmp_path, toml, message):
    path = tmp_path / "hub.toml"
    path.write_text(toml + "\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path, environ={})
    assert message in str(error.value)


def test_an_operator_file_sets_the_menu_and_the_line_calendar(tmp_path):
    path = write_config(tmp_path / "hub.toml", {"twilio": {"calendar": "office"}})
    path.write_text(path.read_text() + '[[twilio.menu]]\ndigit = "5"\nqueue = "general"\nwords = ["sales"]\n')
    settings = load_settings(path, environ={})
    assert [(o.digit, o.queue, o.words) for o in settings.twilio.menu] == [("5", "general", ["sales"])]
    assert settings.twilio.calendar == "office"


def test_environment_overrides_the_menu_as_json():
    settings = load_settings(environ={"CONTACTCENTER_TWILIO_MENU": '[{"digit": "3", "queue": "general", "words": []}]'})
    assert [(o.digit, o.queue) for o in settings.twilio.menu] == [("3", "general")]


OFFICE = parse_calendar(
    CalendarSettings(
        timezone="America/New_York",
        hours={day: ["09:00-17:30"] for day in ("mon", "tue", "wed", "thu", "fri")},
        holidays=["2026-12-25"],
    )
)


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (datetime(2026, 9, 2, 13, 0, tzinfo=UTC), True),  # Wednesday 09:00 in New York (EDT)
        (datetime(2026, 9, 2, 12, 59, tzinfo=UTC), False),  # 08:59
        (datetime(2026, 9, 2, 21, 29, tzinfo=UTC), True),  # 17:29
        (datetime(2026, 9, 2, 21, 30, tzinfo=UTC), False),  # 17:30: closed
        (datetime(2026, 9, 5, 15, 0, tzinfo=UTC), False),  # Saturday
        (datetime(2026, 12, 2, 14, 0, tzinfo=UTC), True),  # 09:00 EST in winter
        (datetime(2026, 12, 25, 15, 0, tzinfo=UTC), False),  # a holiday
    ],
)
def test_opening_hours_in_the_calendars_time_zone(utc, expected):
    assert is_open(OFFICE, utc) is expected


def test_the_default_line_is_always_open_and_a_closed_one_is_closed():
    settings = load_settings(environ={})
    moments = [datetime(2026, 9, day, hour, 59, tzinfo=UTC) for day in range(1, 8) for hour in range(24)]
    assert all(line_is_open(settings, moment) for moment in moments)
    assert not line_is_open(closed_line(settings), datetime.now(UTC))
