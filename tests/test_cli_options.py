"""The command line's options: where --config may go, what --help says, which
environment variables count as configuration, where the hub keeps its files."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from contactcenter.cli import _parser, main
from contactcenter.errors import ConfigError
from contactcenter.hub import load_secret_key
from contactcenter.settings import load_settings


def _subcommands(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, argparse.ArgumentParser]:
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[prefix + name] = sub
                found.update(_subcommands(sub, prefix + name + " "))
    return found


def test_config_goes_before_or_after_the_command(tmp_path: Path) -> None:
    parser = _parser()
    assert parser.parse_args(["serve", "--config", "a.toml"]).config == "a.toml"
    assert parser.parse_args(["--config", "a.toml", "serve"]).config == "a.toml"
    assert parser.parse_args(["db", "upgrade", "--config", "b.toml"]).config == "b.toml"
    assert parser.parse_args(["serve"]).config is None


def test_every_option_of_every_command_is_described_with_its_default(capsys) -> None:
    commands = _subcommands(_parser())
    assert {"serve", "check-config", "db upgrade", "demo", "create-agent", "create-token", "import-customers", "replay"} <= set(commands)
    for name, parser in commands.items():
        for action in parser._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"
            if action.option_strings and action.default not in (None, False, argparse.SUPPRESS) and action.dest != "help":
                assert "default" in action.help, f"{name} {action.option_strings} does not say its default"
        with pytest.raises(SystemExit):
            main([*name.split(), "--help"])
        assert "--config FILE" in capsys.readouterr().out


def test_unknown_environment_keys_stop_start_up_like_unknown_file_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"CONTACTCENTER_HTTP_PROT \(did you mean CONTACTCENTER_HTTP_PORT\?\)"):
        load_settings(environ={"CONTACTCENTER_HTTP_PROT": "1"})
    with pytest.raises(ConfigError, match="CONTACTCENTER_NOPE"):
        load_settings(environ={"CONTACTCENTER_NOPE": "1"})
    # Not keys: the file to read, the tests' and benchmarks' own knobs, and a password a mailbox names.
    mailbox = '[{"name": "s", "host": "h", "username": "u", "address": "support@example.com", "password_env": "CONTACTCENTER_IMAP_SECRET"}]'
    monkeypatch.setenv("CONTACTCENTER_IMAP_SECRET", "pw")
    load_settings(environ={"CONTACTCENTER_TEST_PG": "x", "CONTACTCENTER_BENCH_PG": "x", "CONTACTCENTER_IMAP_MAILBOXES": mailbox, "CONTACTCENTER_IMAP_SECRET": "pw"})


def test_data_dir_holds_the_sqlite_file_and_the_secret_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    default = load_settings(environ={})
    assert default.database_url() == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'contactcenter.db'}"
    settings = load_settings(environ={"CONTACTCENTER_PATHS_DATA_DIR": str(tmp_path / "state")})
    assert settings.database_url() == f"sqlite+aiosqlite:///{tmp_path / 'state' / 'contactcenter.db'}"
    key = load_secret_key(settings)
    assert (tmp_path / "state" / "secret_key").read_text() == key and load_secret_key(settings) == key
    assert not (tmp_path / "var").exists()
