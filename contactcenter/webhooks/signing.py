"""The `X-Contactcenter-Signature` header: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.

The time is signed with the body so a receiver can refuse an old request
replayed later (docs/webhooks.md); the same recipe as Stripe's, which many
receivers already know.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

HEADER = "X-Contactcenter-Signature"


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
