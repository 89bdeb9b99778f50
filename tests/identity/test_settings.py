"""The [identity] keys are checked at start-up, naming the key."""

from __future__ import annotations

import pytest

from contactcenter.errors import ConfigError
from contactcenter.settings import load_settings


def test_defaults_fold_gmail_tags_and_treat_gmail_as_free_mail():
    identity = load_settings(environ={}).identity
    assert identity.default_region == "US"
    assert "gmail.com" in identity.plus_tag_domains and "gmail.com" in identity.free_mail_domains


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CONTACTCENTER_IDENTITY_DEFAULT_REGION", "XX", r"\[identity\] default_region 'XX'"),
        ("CONTACTCENTER_IDENTITY_PLUS_TAG_DOMAINS", '["Gmail.com"]', r"\[identity\] plus_tag_domains"),
        ("CONTACTCENTER_IDENTITY_FREE_MAIL_DOMAINS", '["@x.example"]', r"\[identity\] free_mail_domains"),
        ("CONTACTCENTER_IDENTITY_FREE_MAIL_DOMAINS", '"gmail.com"', r"\[identity\] free_mail_domains must be a list"),
    ],
)
def test_bad_identity_settings_are_refused_with_the_key(variable, value, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={variable: value})
