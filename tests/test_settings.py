"""Configuration: defaults, the operator's file, environment overrides, clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from contactcenter.errors import ConfigError
from contactcenter.settings import load_settings
from tests.hubprocess import ROOT


def test_defaults_load_and_document_every_key():
    settings = load_settings(environ={})
    assert settings.http.port == 8080
    assert settings.email.smtp_port == 2525
    assert settings.twilio.validate_signatures is True
    assert settings.identity.default_region == "US"


def test_file_then_environment_override(tmp_path):
    path = tmp_path / "my.toml"
    path.write_text('[http]\nport = 9000\n[email.addresses]\n"help@shop.example" = "billing"\n')
    settings = load_settings(path, environ={"CONTACTCENTER_DATABASE_URL": "postgresql+asyncpg://db/cc", "CONTACTCENTER_HTTP_PORT": "9100"})
    assert settings.http.port == 9100
    assert settings.database_url() == "postgresql+asyncpg://db/cc"
    # A table in the operator's file replaces the example entries.
    assert settings.email.addresses == {"help@shop.example": "billing"}


def test_config_file_found_through_environment(tmp_path):
    path = tmp_path / "other.toml"
    path.write_text("[web]\nrate_limit_per_minute = 5\n")
    assert load_settings(environ={"CONTACTCENTER_CONFIG": str(path)}).web.rate_limit_per_minute == 5


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("[http]\nprot = 1\n", {}, "unknown configuration key [http] prot"),
        ("[htp]\nport = 1\n", {}, "unknown configuration key [htp]"),
        ('[http]\nport = "eighty"\n', {}, "[http] port must be a number"),
        ("[http]\nport = 70000\n", {}, "[http] port must be between 1 and 65535"),
        ("[twilio]\nvalidate_signatures = 1\n", {}, "[twilio] validate_signatures must be true or false"),
        ("", {"CONTACTCENTER_HTTP_PORT": "x"}, "[http] port from the environment must be a number"),
        ("", {"CONTACTCENTER_TWILIO_VALIDATE_SIGNATURES": "maybe"}, "validate_signatures from the environment must be true or false"),
        ("[http\n", {}, "is not valid TOML"),
        ('[email]\nrelay_tls = "ssl"\n', {}, "[email] relay_tls must be"),
        # Durations: finite and not negative, from the file or the environment.
        ("[http]\ntoken_cache_seconds = nan\n", {}, "[http] token_cache_seconds must be a finite number, got nan"),
        ("", {"CONTACTCENTER_HTTP_TOKEN_CACHE_SECONDS": "nan"}, "[http] token_cache_seconds must be a finite number"),
        ("", {"CONTACTCENTER_OUTBOX_POLL_SECONDS": "inf"}, "[outbox] poll_seconds must be a finite number, got inf"),
        ("[outbox]\nlease_seconds = -inf\n", {}, "[outbox] lease_seconds must be a finite number"),
        ("[outbox]\nbackoff_base_seconds = -5\n", {}, "[outbox] backoff_base_seconds is a duration and must be 0 or more"),
        ("", {"CONTACTCENTER_TICKETS_REOPEN_DAYS": "-1"}, "[tickets] reopen_days is a duration and must be 0 or more"),
        ("[database]\npool_timeout = -0.5\n", {}, "[database] pool_timeout is a duration"),
        (
            "[sla.policies.standard]\nfirst_response_hours = { normal = -8 }\nresolution_hours = {}\nat_risk_ratio = 0.5\n"
            'breach_raise_priority = false\nbreach_move_to_queue = ""\n',
            {},
            "[sla] policies.standard.first_response_hours.normal is a duration and must be 0 or more",
        ),
        ("[sla]\ncheck_seconds = nan\n", {}, "[sla] check_seconds must be a finite number"),
    ],
)
def test_wrong_configuration_names_the_key(tmp_path, text, environ, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_settings(path, environ=environ)
    assert message in str(error.value)


def test_command_line_prints_one_clear_line_not_a_traceback(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[http]\nprot = 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "contactcenter", "--config", str(path), "db", "upgrade"],
        capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "contactcenter: configuration error: unknown configuration key [http] prot"
    missing = subprocess.run(
        [sys.executable, "-m", "contactcenter", "--config", str(tmp_path / "nope.toml"), "serve"],
        capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=60,
    )
    assert missing.returncode == 2 and "nope.toml does not exist" in missing.stderr and "Traceback" not in missing.stderr
