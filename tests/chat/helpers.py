"""What the chat tests share: a hub whose chat queue is open at any hour the tests run."""

from __future__ import annotations

import dataclasses

from contactcenter.settings import Settings
from tests.factories import settings_with


def chat_settings(settings: Settings, **chat: object) -> Settings:
    """`[chat]` changed as given, and the chat queue's calendar ("office") open round the clock.

    The nobody-available decision looks at the chat queue's business hours; a
    test run at night must not find the chat closed.
    """
    settings = settings_with(settings, chat=chat)
    return dataclasses.replace(settings, calendars={**settings.calendars, "office": settings.calendars["always"]})
