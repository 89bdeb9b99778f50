"""The exception tree. Each transport turns these into its answer in one place:
the HTTP error middleware (`web/middlewares.py`) and the SMTP handler."""


class ContactCenterError(Exception):
    """Base of every error the hub raises on purpose."""


class ConfigError(ContactCenterError):
    """The configuration is wrong; the message names the key."""


class InputError(ContactCenterError):
    """The caller sent something we will not accept (HTTP 4xx, SMTP 5xx).

    `fields` maps a form field to its problem, so forms can show each error next
    to its field and the JSON API can list them.
    """

    status = 400
    code = "invalid_input"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})
        if code:
            self.code = code
        if status:
            self.status = status


class NotFoundError(InputError):
    status = 404
    code = "not_found"


class ConflictError(InputError):
    status = 409
    code = "conflict"


class AuthError(InputError):
    status = 401
    code = "unauthorized"


class ForbiddenError(InputError):
    status = 403
    code = "forbidden"


class RateLimitedError(InputError):
    status = 429
    code = "rate_limited"


class TemporaryError(ContactCenterError):
    """Something we depend on is down (database, relay); the sender should retry.

    HTTP answers 503, SMTP 451: Twilio and mail servers retry those.
    """


class ChannelSendError(ContactCenterError):
    """A channel could not deliver an outbound message.

    `retryable` says whether the outbox should try again (relay down, 429, 5xx)
    or give up (address rejected, number opted out).
    """

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable
