"""The portal's tests send real mail: the sign-in links go out through a local relay."""

from __future__ import annotations

import pytest

from tests.factories import settings_with
from tests.mail import Relay


@pytest.fixture
def relay():
    relay = Relay().start()
    yield relay
    relay.stop()


@pytest.fixture
def settings(settings, relay):
    return settings_with(settings, email={"relay_host": "127.0.0.1", "relay_port": relay.port, "relay_tls": "none"})
