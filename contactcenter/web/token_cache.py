"""API tokens checked a moment ago, so that a busy client costs one token lookup per few seconds.

An integration posting contacts sends the same bearer token on every request;
looking it up in the database each time is a round trip per request. A token
found valid is remembered for `[http] token_cache_seconds`, so a token revoked
in the database (`api_tokens.revoked_at` set) is refused by every hub process
at most that long afterwards; 0 turns the cache off.

Only valid tokens are kept, by their SHA-256 hash, never the token itself;
unknown tokens are looked up every time, so guessing cannot fill the cache.
It is per process and bounded: when full, it starts again empty.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contactcenter.web.auth import Principal

MAX_ENTRIES = 1024


class TokenCache:
    def __init__(self, lifetime_seconds: float):
        self.lifetime = lifetime_seconds
        self._entries: dict[str, tuple[float, Principal]] = {}

    def find(self, token_hash: str, now: float | None = None) -> Principal | None:
        """The token's holder when it was found valid less than the lifetime ago, else None."""
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        expires, principal = entry
        if (time.monotonic() if now is None else now) >= expires:
            del self._entries[token_hash]
            return None
        return principal

    def add(self, token_hash: str, principal: Principal, now: float | None = None) -> None:
        if self.lifetime <= 0:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[token_hash] = ((time.monotonic() if now is None else now) + self.lifetime, principal)

    def forget(self, token_hash: str) -> None:
        """A token revoked here stops working here at once (other processes: within the lifetime)."""
        self._entries.pop(token_hash, None)
