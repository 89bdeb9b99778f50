"""What a person typed into the search box, as words both databases can match."""

from __future__ import annotations

import re

MAX_WORDS = 8
MAX_WORD_CHARS = 64
MIN_PREFIX_CHARS = 3  # "ref" finds "refund"; "r" would match half the database
_WORD = re.compile(r"\w+")


def search_words(query: str) -> list[str]:
    """Lower-cased words, at most MAX_WORDS, each cut to MAX_WORD_CHARS; no operators survive."""
    return [w[:MAX_WORD_CHARS] for w in _WORD.findall(query.lower())][:MAX_WORDS]


def fts5_query(words: list[str]) -> str:
    """All words must occur; the last one may be the start of a word (typing is not finished)."""
    parts = [f'"{w}"' for w in words]
    if words and len(words[-1]) >= MIN_PREFIX_CHARS:
        parts[-1] += "*"
    return " ".join(parts)


def tsquery(words: list[str]) -> str:
    """The same as `fts5_query`, in to_tsquery's syntax (words are \\w only, so nothing to escape)."""
    parts = list(words)
    if words and len(words[-1]) >= MIN_PREFIX_CHARS:
        parts[-1] += ":*"
    return " & ".join(parts)
