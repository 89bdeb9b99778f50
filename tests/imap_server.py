"""A real IMAP server for tests: Dovecot, started in a temporary folder on a free port.

Debian's dovecot-imapd provides it (`.ci/run` installs it). Tests that need it
skip with the reason when it is not installed; under CI they fail instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.hubprocess import free_port

USER = "support@example.com"
PASSWORD = "imap-test-password"
# Dovecot refuses to deliver mail as root; the mailbox belongs to `nobody`.
MAIL_UID = MAIL_GID = 65534


class Dovecot:
    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.maildir = root / "home" / USER / "Maildir"
        self.config = root / "dovecot.conf"

    def start(self) -> None:
        for sub in ("run", "state", "home"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for sub in ("new", "cur", "tmp"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        self.config.write_text(
            f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={MAIL_UID} gid={MAIL_GID} home={self.root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""
        )
        self._chown()
        subprocess.run(["dovecot", "-c", str(self.config)], check=True, timeout=30)

    def stop(self) -> None:
        subprocess.run(["dovecot", "-c", str(self.config), "stop"], check=False, timeout=30)

    def deliver(self, raw: bytes) -> None:
        """Put a message in the inbox the way a local delivery agent does (maildir new/)."""
        name = f"{time.time_ns()}.{uuid.uuid4().hex}.test"
        (self.maildir / "tmp" / name).write_bytes(raw)
        os.chown(self.maildir / "tmp" / name, MAIL_UID, MAIL_GID)
        os.rename(self.maildir / "tmp" / name, self.maildir / "new" / name)

    def _chown(self) -> None:
        for path in [self.root / "home", *(self.root / "home").rglob("*")]:
            os.chown(path, MAIL_UID, MAIL_GID)


def require_dovecot() -> None:
    if shutil.which("dovecot") is None:
        reason = "Dovecot is not installed (apt-get install dovecot-imapd)"
        if os.environ.get("CI"):
            pytest.fail(reason + "; CI must run the IMAP tests")
        pytest.skip(reason)


def make_mail(i: int, sender: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = sender or f"Customer {i} <customer{i}@example.net>"
    message["To"] = USER
    message["Subject"] = f"Order {1000 + i} has not arrived"
    message["Message-ID"] = f"<imap-test-{i}@example.net>"
    message["Date"] = format_datetime(datetime.now(UTC))
    message.set_content(f"Hello,\n\nmy order {1000 + i} has not arrived yet.\n\nCustomer {i}\n")
    return bytes(message)
