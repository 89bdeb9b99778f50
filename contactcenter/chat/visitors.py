"""Who is on the other side of a chat: a visitor, kept by the page as a signed token.

The token is the page's memory across reloads (localStorage): the name and
email typed in the pre-chat step, whether a site vouched for the email, and
the ticket the conversation lives on. It is signed with the hub's secret key,
so a page cannot claim someone else's ticket or a verification it never had.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True, slots=True, kw_only=True)
class Visitor:
    visitor_id: str
    name: str = ""
    email: str = ""  # normalised; empty when the visitor gave none
    verified: bool = False  # the site signed this email (identity_hash)
    language: str = ""
    reference: str = ""  # the ticket of the conversation, once there is one

    def on_ticket(self, reference: str) -> Visitor:
        return replace(self, reference=reference)


def new_visitor(*, name: str, email: str, verified: bool, language: str) -> Visitor:
    return Visitor(visitor_id=secrets.token_urlsafe(12), name=name, email=email, verified=verified, language=language)


def issue_token(secret_key: str, visitor: Visitor) -> str:
    body = base64.urlsafe_b64encode(json.dumps(asdict(visitor), separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{body}.{_sign(secret_key, body)}"


def read_token(secret_key: str, token: str) -> Visitor | None:
    """The visitor the token was issued for; None when it is malformed or not ours."""
    body, _, signature = token.partition(".")
    if not body or not hmac.compare_digest(signature, _sign(secret_key, body)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return Visitor(**data)
    except (ValueError, TypeError):
        return None


def is_signed_identity(identity_secret: str, identity: str, identity_hash: str) -> bool:
    """Whether the site's server signed this identity: hex HMAC-SHA256(identity_secret, identity).

    Without a configured secret nothing is signed: every identity is claimed.
    """
    if not identity_secret or not identity:
        return False
    expected = hmac.new(identity_secret.encode(), identity.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, identity_hash.strip().lower())


def _sign(secret_key: str, body: str) -> str:
    return hmac.new(secret_key.encode(), b"chat-visitor:" + body.encode(), hashlib.sha256).hexdigest()[:32]
