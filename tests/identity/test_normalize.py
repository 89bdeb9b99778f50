"""Normalising identifiers and names: examples, and properties over any input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactcenter.identity.normalize import name_key, normalize_email, normalize_name, normalize_phone, parse_phone

GMAIL = ("gmail.com",)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Alice@Example.COM", "alice@example.com"),
        ("  alice@example.com\t", "alice@example.com"),
        ("ALICE@EXAMPLE.COM", "alice@example.com"),
        ("alice+shop@example.com", "alice+shop@example.com"),  # not a tag domain: "+" is part of the name
        ("alice@bücher.example", "alice@bücher.example"),
        ("not-an-address", None),
        ("alice@", None),
        ("", None),
        ("a" * 400 + "@example.com", None),
    ],
)
def test_email(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Alice+Shop@Gmail.com", "alice@gmail.com"),
        ("alice+a+b@gmail.com", "alice@gmail.com"),
        ("+tag@gmail.com", "+tag@gmail.com"),
        ("alice+shop@example.com", "alice+shop@example.com"),
    ],
)
def test_plus_tags_fold_only_on_listed_domains(raw, expected):
    assert normalize_email(raw, plus_tag_domains=GMAIL) == expected


@pytest.mark.parametrize(
    "raw",
    ["+1 (415) 555-0100", "415.555.0100", "(415) 555 0100", "4155550100", "+1-415-555-0100", "1 (415) 555-0100", "+14155550100"],
)
def test_phone_formats_give_one_e164(raw):
    assert normalize_phone(raw, "US") == "+14155550100"


def test_national_numbers_read_in_the_default_region():
    assert normalize_phone("020 7183 8750", "GB") == "+442071838750"
    assert normalize_phone("020 7183 8750", "US") is None
    assert normalize_phone("+44 20 7183 8750", "US") == "+442071838750"


def test_extension_is_kept_apart_and_never_part_of_the_number():
    phone = parse_phone("+1 415 555 0100 ext. 42", "US")
    assert (phone.e164, phone.extension) == ("+14155550100", "42")
    assert normalize_phone("+1 415 555 0100 x42", "US") == "+14155550100"


@pytest.mark.parametrize("raw", ["12", "555", "VERIFY", "+1 415 555", "+999 1234567", "hello@example.com"])
def test_invalid_numbers_are_kept_raw_without_a_matching_value(raw):
    phone = parse_phone(raw, "US")
    assert phone.e164 is None and phone.raw == raw


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Alice   Example ", "Alice Example"),
        ("Ａｌｉｃｅ", "Alice"),  # full-width letters
        ("王　小明", "王 小明"),  # ideographic space
        ("王小明\u200b", "王小明"),  # zero-width space
        ("Chloe\u0301", "Chloé"),  # combining accent composed
        ("\ufb01ona", "fiona"),  # ligature
    ],
)
def test_names(raw, expected):
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("John Doe", "Doe, John"),
        ("  JOHN   doe ", "john doe"),
        ("Chloé Dupont", "chloe dupont"),
        ("王小明", "王 小明"),
        ("Ｗａｎｇ Xiaoming", "wang xiaoming"),
    ],
)
def test_name_keys_ignore_order_case_accents_and_spacing(a, b):
    assert name_key(a) == name_key(b)


def test_chinese_name_keys_keep_their_order():
    assert name_key("王小明") != name_key("小明王")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_email_never_raises_and_is_idempotent(raw):
    once = normalize_email(raw, plus_tag_domains=GMAIL)
    if once is not None:
        assert normalize_email(once, plus_tag_domains=GMAIL) == once
        assert once == once.lower()


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[A-Za-z0-9._%+-]{1,20}(\+[a-z]{0,5})?@[A-Za-z0-9-]{1,10}\.(com|org|example)", fullmatch=True))
def test_email_like_input_is_idempotent(raw):
    once = normalize_email(raw, plus_tag_domains=("example",))
    if once is not None:
        assert normalize_email(once, plus_tag_domains=("example",)) == once


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789 +-().xext#*"), max_size=30), st.sampled_from(["US", "GB", "DE", "CN"]))
def test_phone_never_raises_and_is_idempotent(raw, region):
    once = normalize_phone(raw, region)
    if once is not None:
        assert normalize_phone(once, region) == once
        assert normalize_phone(once, "FR") == once  # E.164 reads the same in every region


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_phone_never_raises_on_any_text(raw):
    parse_phone(raw, "US")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_names_are_idempotent(raw):
    once = normalize_name(raw)
    assert normalize_name(once) == once
    assert once == once.strip()
    assert name_key(once) == name_key(raw)
