"""CSRF protection for forms people submit, with or without a login.

Signed double submit: the browser holds a random cookie, and each form carries
`form_id.time.hmac(cookie, form_id, time)`. A forged cross-site post has no way
to learn the cookie, so it cannot carry a valid token. The form id also names
the form instance, so the same form submitted twice is one contact, while two
forms open in two tabs stay two contacts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

COOKIE_NAME = "cc_csrf"
MAX_AGE_SECONDS = 4 * 3600


def new_cookie_value() -> str:
    return secrets.token_urlsafe(16)


def issue_token(secret: str, cookie_value: str, now: float | None = None) -> str:
    form_id = secrets.token_urlsafe(12)
    issued = str(int(now if now is not None else time.time()))
    return f"{form_id}.{issued}.{_sign(secret, cookie_value, form_id, issued)}"


def check_token(secret: str, token: str, cookie_value: str, now: float | None = None) -> str | None:
    """The form id when `token` is valid for this cookie and fresh, else None."""
    try:
        form_id, issued, signature = token.split(".")
        age = (now if now is not None else time.time()) - int(issued)
    except ValueError:
        return None
    if not cookie_value or not hmac.compare_digest(signature, _sign(secret, cookie_value, form_id, issued)):
        return None
    return form_id if 0 <= age <= MAX_AGE_SECONDS else None


def _sign(secret: str, cookie_value: str, form_id: str, issued: str) -> str:
    message = f"csrf:{cookie_value}:{form_id}:{issued}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
