"""Issue 19: the SMTP receiver refuses sessions beyond its cap with 421 and recovers after."""

from __future__ import annotations

import aiosmtplib
import pytest
from contactcenter.channels.smtp_server import SMTP_PORT

from tests.factories import settings_with
from tests.hostile.conftest import send_smtp
from tests.mail import make_mail


@pytest.fixture
def settings(settings):
    return settings_with(settings, email={"max_smtp_sessions": 2})


async def test_smtp_sessions_beyond_the_cap_get_421(client, hub):
    port = client.server.app[SMTP_PORT]
    open_sessions = [aiosmtplib.SMTP(hostname="127.0.0.1", port=port) for _ in range(2)]
    for session in open_sessions:
        await session.connect()
    try:
        extra = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        with pytest.raises(aiosmtplib.SMTPConnectResponseError) as refused:
            await extra.connect()
        assert refused.value.code == 421
    finally:
        for session in open_sessions:
            await session.quit()
    # Once they have gone, mail flows again.
    assert "OK" in await send_smtp(client, make_mail(sender="after@example.com"))
