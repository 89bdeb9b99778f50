"""Admins subscribe URLs to events and watch what became of each delivery (DESIGN.md §6)."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import delete, select, update

from contactcenter.actions import audit
from contactcenter.db.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from contactcenter.errors import InputError, NotFoundError
from contactcenter.events import Event
from contactcenter.keys import HUB
from contactcenter.web.api import read_json_object
from contactcenter.web.auth import require
from contactcenter.web.params import path_id
from contactcenter.webhooks.enqueue import WEBHOOK_EVENTS
from contactcenter.webhooks.signing import new_secret

ATTEMPTS_PAGE = 200
MAX_URL_CHARS = 2000


def setup_webhook_api(app: web.Application) -> None:
    app.router.add_post("/api/v1/webhooks", handle_create)
    app.router.add_get("/api/v1/webhooks", handle_list)
    app.router.add_delete("/api/v1/webhooks/{id}", handle_delete)
    app.router.add_post("/api/v1/webhooks/{id}/resume", handle_resume)
    app.router.add_get("/api/v1/webhooks/{id}/deliveries", handle_deliveries)


def parse_subscription(body: dict) -> tuple[str, list[str]]:
    """`{"url", "events"}` checked: an http(s) URL and known, distinct event names."""
    url, events = body.get("url"), body.get("events")
    problems = {}
    if not isinstance(url, str) or len(url) > MAX_URL_CHARS or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        problems["url"] = "must be an http:// or https:// URL"
    if not isinstance(events, list) or not events or not all(isinstance(e, str) and e in WEBHOOK_EVENTS for e in events):
        problems["events"] = f"must be a list of: {', '.join(WEBHOOK_EVENTS)}"
    if problems:
        raise InputError("the subscription is not valid", fields=problems)
    return url, list(dict.fromkeys(events))


def subscription_json(sub: WebhookSubscription, *, with_secret: bool = False) -> dict:
    answer = {
        "id": sub.id, "url": sub.url, "events": sub.events, "status": sub.status,
        "consecutive_failures": sub.consecutive_failures,
        "paused_at": sub.paused_at.isoformat() if sub.paused_at else None, "created_at": sub.created_at.isoformat(),
    }
    return {**answer, "secret": sub.secret} if with_secret else answer


async def handle_create(request: web.Request) -> web.Response:
    """The answer is the only time the secret is shown."""
    principal = await require(request, "admin")
    url, events = parse_subscription(await read_json_object(request))
    async with request.app[HUB].sessions() as session, session.begin():
        sub = WebhookSubscription(url=url, events=events, secret=new_secret(), created_by=principal.actor)
        session.add(sub)
        await session.flush()
        audit(session, principal.actor, "webhook.created", sub, url=url, events=events)
    return web.json_response(subscription_json(sub, with_secret=True), status=201)


async def handle_list(request: web.Request) -> web.Response:
    await require(request, "admin")
    async with request.app[HUB].reads() as session:
        subs = (await session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id))).all()
    return web.json_response({"items": [subscription_json(s) for s in subs], "next": None})


async def get_subscription(session, request: web.Request) -> WebhookSubscription:
    sub = await session.get(WebhookSubscription, path_id(request), with_for_update=True)
    if sub is None:
        raise NotFoundError(f"no webhook {request.match_info['id']}")
    return sub


async def handle_delete(request: web.Request) -> web.Response:
    """Its deliveries and their attempts go with it."""
    principal = await require(request, "admin")
    async with request.app[HUB].sessions() as session, session.begin():
        sub = await get_subscription(session, request)
        audit(session, principal.actor, "webhook.deleted", sub, url=sub.url)
        deliveries = select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == sub.id)
        await session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
        await session.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id))
        await session.delete(sub)
    return web.Response(status=204)


async def handle_resume(request: web.Request) -> web.Response:
    principal = await require(request, "admin")
    hub = request.app[HUB]
    async with hub.sessions() as session, session.begin():
        sub = await get_subscription(session, request)
        await do_resume_webhook(session, sub, principal.actor)
    hub.bus.publish(Event("webhook.resumed", {"subscription_id": sub.id}))
    return web.json_response(subscription_json(sub))


async def do_resume_webhook(session, sub: WebhookSubscription, actor: str) -> None:
    """Active again: what queued while paused goes out, and failed deliveries get another round."""
    if sub.status == "paused":
        audit(session, actor, "webhook.resumed", sub, failures=sub.consecutive_failures)
    sub.status, sub.paused_at, sub.consecutive_failures = "active", None, 0
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == sub.id, WebhookDelivery.status == "failed")
        .values(status="pending", attempts=0)
    )


async def handle_deliveries(request: web.Request) -> web.Response:
    """Newest first, one item per attempt: time, event, status code, error, duration."""
    await require(request, "admin")
    async with request.app[HUB].reads() as session:
        sub = await session.get(WebhookSubscription, path_id(request))
        if sub is None:
            raise NotFoundError(f"no webhook {request.match_info['id']}")
        rows = await session.execute(
            select(WebhookAttempt, WebhookDelivery)
            .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
            .where(WebhookDelivery.subscription_id == sub.id)
            .order_by(WebhookAttempt.id.desc())
            .limit(ATTEMPTS_PAGE)
        )
        items = [
            {"at": attempt.at.isoformat(), "delivery_id": delivery.id, "event_id": delivery.event_id, "event": delivery.event_kind,
             "status_code": attempt.status_code, "error": attempt.error, "duration_ms": attempt.duration_ms,
             "delivery_status": delivery.status}
            for attempt, delivery in rows
        ]
    return web.json_response({"items": items, "next": None})
