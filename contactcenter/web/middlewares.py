"""The one place where errors become HTTP answers.

API and webhook paths get JSON in the contract's shape
(`{"error": {"code", "message"}}`); pages get an HTML error page. Nothing
unexpected ever reaches a client as a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from contactcenter.db.engine import is_unavailable
from contactcenter.i18n import gettext as _
from contactcenter.errors import InputError, TemporaryError
from contactcenter.web.pages import render_page

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except InputError as exc:
        return error_response(request, exc.status, exc.code, exc.message, exc.fields)
    except TemporaryError as exc:
        # 503 makes Twilio and API clients try again later.
        return error_response(request, 503, "temporarily_unavailable", str(exc), headers={"Retry-After": "5"})
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        if exc.status == 413:
            message = "the request body is too large"
        return error_response(request, exc.status, _HTTP_CODES.get(exc.status, "http_error"), message, headers=_kept_headers(exc))
    except Exception as exc:  # noqa: BLE001 - logged with its traceback, never shown
        if is_unavailable(exc):
            # The database dropped out under a read or a token check: the same
            # answer as for an ingest, so providers and clients retry.
            log.warning("database unavailable on %s %s: %s", request.method, request.path, exc.__class__.__name__)
            return error_response(request, 503, "temporarily_unavailable", _("the database is unavailable"), headers={"Retry-After": "5"})
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(request, 500, "internal_error", _("something went wrong on our side; it has been logged"))


def error_response(
    request: web.Request,
    status: int,
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    if wants_json(request):
        body: dict = {"error": {"code": code, "message": message}}
        if fields:
            body["error"]["fields"] = fields
        return web.json_response(body, status=status, headers=headers)
    response = render_page("error.html", status=status, message=message)
    response.headers.update(headers or {})
    return response


def wants_json(request: web.Request) -> bool:
    return request.path.startswith(("/api/", "/webhooks/", "/healthz", "/metrics"))


def _kept_headers(exc: web.HTTPException) -> dict[str, str]:
    return {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After", "WWW-Authenticate")}


SERVER_NAME = "contactcenter"  # no versions: they only help someone matching exploits


async def set_common_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer: no version in `Server`; JSON is never sniffed into something a browser runs."""
    response.headers["Server"] = SERVER_NAME
    if response.content_type in ("application/json", "text/event-stream") or wants_json(request):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
