"""Parsing one message: exact values out of small hand-written messages."""

from __future__ import annotations

import hashlib

from contactcenter.channels.email_parse import AttachmentLimits, parse_email
from contactcenter.channels.email_text import decode_bytes, html_to_text, split_reply

LIMITS = AttachmentLimits(max_bytes=1000, max_count=3)


def _mail(headers: str, body: str | bytes) -> bytes:
    body_bytes = body.encode() if isinstance(body, str) else body
    return headers.replace("\n", "\r\n").encode() + b"\r\n" + body_bytes


def test_html_only_mail_becomes_text_and_loses_its_scripts() -> None:
    raw = _mail(
        "From: Alice <alice@example.com>\nSubject: Hi\nContent-Type: text/html; charset=utf-8\n",
        '<html><head><style>p{}</style></head><body><p>Hello <b>there</b></p><script>alert(1)</script>'
        '<p><a href="javascript:alert(2)" onclick="x()">link</a></p><img src="cid:logo@x"></body></html>',
    )
    parsed = parse_email(raw, LIMITS)
    assert parsed.text == "Hello there\n\nlink"
    assert parsed.body_type == "text/html"
    assert "script" not in parsed.html and "javascript" not in parsed.html and "onclick" not in parsed.html
    assert 'src="cid:logo@x"' in parsed.html


def test_html_to_text_keeps_only_what_a_reader_sees() -> None:
    # Head, styles, Word's markup and attribute values are not text; a `>` inside a
    # quoted attribute does not end the tag, and a tag cut off by truncation is dropped.
    markup = (
        '<html><head><title>Newsletter</title><style>p {color: red}</style></head><body>'
        '<p title="a > b">Dear &amp; <span style="x">dear</span><o:p>word</o:p></p>'
        "<table><tr><td>one</td><td>two</td></tr></table><pre>  kept\n  as is</pre><p>cut <span sty"
    )
    assert html_to_text(markup) == "Dear & dear\n\none two\n\nkept\nas is\n\ncut"


def test_quoted_history_and_signature_are_separated() -> None:
    new, signature, quoted = split_reply(
        "Thanks, that worked.\n\n-- \nAlice\n\nOn Tue, 2 Jan 2024 at 10:00, Support <support@example.com> wrote:\n> Try turning it off."
    )
    assert (new, signature) == ("Thanks, that worked.", "-- \nAlice")
    assert quoted.startswith("On Tue, 2 Jan 2024") and quoted.endswith("> Try turning it off.")
    # Interleaved answers are all new text; a mail that is only a quote is not emptied.
    assert split_reply("> q1\na1\n> q2\na2")[0] == "> q1\na1\n> q2\na2"
    assert split_reply("> only a quote")[0] == "> only a quote"


def test_mislabelled_and_undeclared_charsets_are_read() -> None:
    assert decode_bytes("Grüße".encode(), "iso-8859-1") == "Grüße"  # UTF-8 labelled Latin-1
    assert decode_bytes("Grüße".encode("cp1252"), "utf-8") == "Grüße"  # Latin-1 labelled UTF-8
    assert decode_bytes("机房环境".encode("gb2312"), None) == "机房环境"
    # ISO-2022-JP with the NEC row-13 signs Japanese mailers use (CP50221): ① is JIS 0x2D21.
    assert decode_bytes(b"\x1b$B-!\x1b(B 1", "iso-2022-jp") == "① 1"
    assert html_to_text("<blockquote>old</blockquote><p>new</p>") == "> old\n\nnew"


def test_attachments_carry_type_and_limits_drop_the_large_ones() -> None:
    boundary = "XYZ"
    small = b"hello"
    big = b"x" * 2000
    raw = _mail(
        f"From: bob@example.org\nSubject: files\nContent-Type: multipart/mixed; boundary={boundary}\n",
        (
            f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
            f"--{boundary}\r\nContent-Type: text/plain; name=a.txt\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\n"
            + small.decode()
            + f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=big.bin\r\n\r\n"
            + big.decode()
            + f"\r\n--{boundary}\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Disposition: inline\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\npnggA\r\n"  # cut short: the stray "A" holds no byte
            f"--{boundary}--\r\n"
        ),
    )
    parsed = parse_email(raw, LIMITS)
    assert parsed.text == "See attached."
    assert [(a.filename, a.content_type, a.content, a.inline) for a in parsed.attachments] == [
        ("a.txt", "text/plain", small, False),
        ("image.png", "image/png", b"\xa6\x78\x20", True),
    ]
    assert parsed.attachments[1].content_id == "logo@x"
    assert parsed.dropped_attachments == [
        {"filename": "big.bin", "content_type": "application/octet-stream", "size": 2000,
         "sha256": hashlib.sha256(big).hexdigest(), "reason": "too large"}
    ]


def test_uuencoded_attachment_and_mbox_line() -> None:
    raw = b"From bob@example.org  Mon Jan  1 00:00:00 2024\nFrom: bob@example.org\nSubject: report\n\nHere it is.\n\nbegin 644 r.csv\n%86)C9&4*\n`\nend\n"
    parsed = parse_email(raw, LIMITS)
    assert parsed.from_address == "bob@example.org"
    assert parsed.text == "Here it is."
    assert [(a.filename, a.content) for a in parsed.attachments] == [("r.csv", b"abcde")]


def test_broken_encoded_word_and_uuencode_block_do_not_lose_the_message() -> None:
    raw = "From: bob@example.org\nSubject: =?utf-8?B?SGVsbG8gd29yb?= x\n\nHi.\n\nbegin 644 r.csv\n%86)C\u00e99&4*\nend\n"
    parsed = parse_email(raw.encode(), LIMITS)
    assert parsed.subject == "=?utf-8?B?SGVsbG8gd29yb?= x"
    assert parsed.attachments == [] and "broken uuencode block" in parsed.defects


def test_automated_mail_is_recognised() -> None:
    base = "From: alice@example.com\nSubject: Hello\n"
    assert parse_email(_mail(base, "hi"), LIMITS).automated_reason == ""
    assert parse_email(_mail(base + "Auto-Submitted: no\n", "hi"), LIMITS).automated_reason == ""
    assert parse_email(_mail(base + "Auto-Submitted: auto-replied\n", "hi"), LIMITS).automated_reason
    assert parse_email(_mail(base + "Precedence: bulk\n", "hi"), LIMITS).automated_reason == "Precedence: bulk"
    assert parse_email(_mail(base + "List-Id: <news.example.com>\n", "hi"), LIMITS).automated_reason == "list-id"
    assert parse_email(_mail(base + "X-Autoreply: yes\n", "hi"), LIMITS).automated_reason == "x-autoreply"
    assert parse_email(_mail("From: noreply@shop.example\nSubject: Order\n", "hi"), LIMITS).automated_reason
    assert parse_email(_mail("From: MAILER-DAEMON@mx.example\nSubject: x\n", "hi"), LIMITS).automated_reason


def test_threading_headers_and_references_are_all_kept() -> None:
    raw = _mail(
        "From: alice@example.com\nSubject: Re: Printer [CC-000042]\nMessage-ID: <c@x>\nIn-Reply-To: <b@x>\n"
        "References: <a@x>\n <b@x>\nTo: support@example.com, carol@example.org\nCc: Dave <dave@example.org>\n",
        "see CC-000043 too",
    )
    parsed = parse_email(raw, LIMITS)
    assert (parsed.message_id, parsed.in_reply_to, parsed.references) == ("<c@x>", ["<b@x>"], ["<a@x>", "<b@x>"])
    assert parsed.ticket_references == ["CC-000042", "CC-000043"]
    assert (parsed.to, parsed.cc) == (["support@example.com", "carol@example.org"], ["dave@example.org"])
