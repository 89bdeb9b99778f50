"""Hypothesis strategies for what attackers send: the alphabets of issue 19.

Lone surrogates, NUL and other controls, bidi overrides, line separators,
RFC 2047 encoded words hiding CR/LF, digits that are not ASCII, and integers
no column holds. Shared by the property tests and the schemathesis run.
"""

from __future__ import annotations

import base64

from hypothesis import strategies as st

NASTY_CHARACTERS = [
    "\x00", "\r", "\n", "\r\n", "\t", "\x0b", "\x1b", "\x7f", "\x85", "\u2028", "\u2029",
    "\ud800", "\udfff", "\u202e", "\u202d", "\u2066", "\u200f", "\ufeff", "\u00b2", "\u0663", "=?", "?=",
]


def _encoded_word(payload: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(payload.encode("utf-8", "surrogatepass")).decode() + "?="


INJECTIONS = [
    "Hi\r\nBcc: victim@evil.test",
    "Hi\r\nReply-To: attacker@evil.test\r\nContent-Type: text/html\r\n\r\n<h1>locked</h1>",
    "\n\nX-Injected: 1",
]

hostile_text = st.one_of(
    st.text(alphabet=st.sampled_from([c for c in NASTY_CHARACTERS if len(c) == 1]) | st.characters(), max_size=60),
    st.lists(st.sampled_from(NASTY_CHARACTERS) | st.text(max_size=5), max_size=12).map("".join),
    st.sampled_from(INJECTIONS).map(_encoded_word),
    st.sampled_from(INJECTIONS).map(lambda p: _encoded_word(_encoded_word(p))),
)

hostile_ids = st.one_of(
    st.sampled_from(["\u00b2", "\u0663", "１", "-1", "0", "1e3", "0x10", " 1", "1\x00", "CC-" + "9" * 40]),
    st.integers(min_value=2**31 - 2, max_value=2**70).map(str),
    st.integers(min_value=20, max_value=5000).map(lambda n: "9" * n),
)
