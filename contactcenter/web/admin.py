"""The admin's pages: people, API tokens (with webhook subscriptions) and the audit log.

Forms post and redirect (303) like the agent pages; bad input shows the form
again with the message and what was typed. People go through the same
checks and actions as `POST/PATCH /api/v1/agents` (contactcenter/people/), so
a change made here is audited the same way and visible in /admin/audit.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from contactcenter.actions import audit
from contactcenter.db.audit_log import ENTITIES, audit_events, parse_audit_filter
from contactcenter.db.models import Agent, ApiToken, WebhookSubscription, utcnow
from contactcenter.db.queries import MAX_ID
from contactcenter.errors import InputError, NotFoundError
from contactcenter.events import Event
from contactcenter.keys import HUB, TOKEN_CACHE
from contactcenter.people.agents import do_create_agent, do_update_agent
from contactcenter.people.fields import CHANNELS, ROLES, format_levels, parse_agent_fields, parse_levels
from contactcenter.web.auth import ROLES as TOKEN_ROLES
from contactcenter.web.auth import create_api_token
from contactcenter.web.sessions import Person, check_form, private_page, require_person, see_other
from contactcenter.webhooks.api import do_resume_webhook, get_subscription

AUDIT_PAGE = 50


def setup_admin_pages(app: web.Application) -> None:
    app.router.add_get("/admin", handle_people)
    app.router.add_get("/admin/people", handle_people)
    app.router.add_post("/admin/people", handle_create_person)
    app.router.add_get("/admin/people/{id:\\d+}", handle_person)
    app.router.add_post("/admin/people/{id:\\d+}", handle_update_person)
    app.router.add_get("/admin/tokens", handle_tokens)
    app.router.add_post("/admin/tokens", handle_create_token)
    app.router.add_post("/admin/tokens/{id:\\d+}/revoke", handle_revoke_token)
    app.router.add_post("/admin/webhooks/{id}/resume", handle_resume_webhook)
    app.router.add_get("/admin/audit", handle_audit)


async def handle_people(request: web.Request) -> web.Response:
    person = await require_person(request, "admin")
    return await _people_page(request, person, notice=request.query.get("done", ""))


async def _people_page(request: web.Request, person: Person, *, status: int = 200, **values: Any) -> web.Response:
    async with request.app[HUB].reads() as session:
        people = list(await session.scalars(select(Agent).order_by(Agent.active.desc(), Agent.name)))
    blank = {"email": "", "name": "", "role": "agent", "phone": "", "skills": "", "capacity": "", "language": "en", "timezone": ""}
    values["typed"] = {**blank, **values.get("typed", {})}
    defaults = {"notice": "", "error": ""}
    return private_page(
        request, person, "admin_people.html", status=status, people=people, roles=ROLES, format_levels=format_levels, **{**defaults, **values}
    )


async def handle_create_person(request: web.Request) -> web.Response:
    person = await require_person(request, "admin")
    form = await request.post()
    check_form(request, form)
    typed = {k: str(form.get(k, "")) for k in ("email", "name", "role", "phone", "skills", "capacity", "language", "timezone")}
    hub = request.app[HUB]
    try:
        body = _form_body(form, with_active=False)
        if password := str(form.get("password", "")):
            body["password"] = password
        fields = parse_agent_fields(body, creating=True)
        async with hub.sessions() as session, session.begin():
            agent, events = await do_create_agent(session, fields, actor=person.principal.actor)
    except InputError as exc:
        return await _people_page(request, person, status=exc.status, error=exc.message, typed=typed)
    hub.bus.publish_all(events)
    return see_other(f"/admin/people/{agent.id}?done=created")


async def handle_person(request: web.Request) -> web.Response:
    person = await require_person(request, "admin")
    return await _person_page(request, person, notice=request.query.get("done", ""))


async def _person_page(request: web.Request, person: Person, *, status: int = 200, **values: Any) -> web.Response:
    wanted = int(request.match_info["id"])
    async with request.app[HUB].reads() as session:
        agent = await session.get(Agent, wanted) if wanted <= MAX_ID else None
        if agent is None:
            raise NotFoundError(f"There is no person {wanted}.")
        history = await audit_events(session, parse_audit_filter({"entity": "agent", "entity_id": str(agent.id)}), limit=20)
    defaults = {"notice": "", "error": ""}
    return private_page(
        request, person, "admin_person.html", status=status, agent=agent, history=history, roles=ROLES, channels=CHANNELS,
        format_levels=format_levels, **{**defaults, **values},
    )


async def handle_update_person(request: web.Request) -> web.Response:
    person = await require_person(request, "admin")
    form = await request.post()
    check_form(request, form)
    hub = request.app[HUB]
    wanted = int(request.match_info["id"])
    try:
        body = _form_body(form, with_active=True)
        if password := str(form.get("password", "")):
            body["password"] = password
        fields = parse_agent_fields(body, creating=False)
        async with hub.sessions() as session, session.begin():
            agent = await session.get(Agent, wanted, with_for_update=True) if wanted <= MAX_ID else None
            if agent is None:
                raise NotFoundError(f"There is no person {wanted}.")
            events = await do_update_agent(session, agent, fields, actor=person.principal.actor)
    except InputError as exc:
        if isinstance(exc, NotFoundError):
            raise
        return await _person_page(request, person, status=exc.status, error=exc.message)
    hub.bus.publish_all(events)
    return see_other(f"/admin/people/{wanted}?done=saved")


def _form_body(form: Any, *, with_active: bool) -> dict[str, Any]:
    """A form's text fields in the shape the API takes (skills and capacity as name=number lists)."""
    body: dict[str, Any] = {
        key: str(form.get(key, "")).strip() for key in ("email", "name", "role", "phone", "language", "timezone")
    }
    if not body["language"]:
        body.pop("language")
    body["skills"] = parse_levels(str(form.get("skills", "")), "skills")
    body["capacity"] = parse_levels(str(form.get("capacity", "")), "capacity")
    if with_active:
        body["active"] = form.get("active") == "on"
    return body


async def handle_tokens(request: web.Request) -> web.Response:
    person = await require_person(request, "admin")
    return await _tokens_page(request, person, notice=request.query.get("done", ""))


async def _tokens_page(request: web.Request, person: Person, *, status: int = 200, **values: Any) -> web.Response:
    async with request.app[HUB].reads() as session:
        tokens = list(await session.scalars(select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())))
        webhooks = list(await session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.status.desc(), WebhookSubscription.id)))
    defaults = {"notice": "", "error": "", "new_token": ""}
    return private_page(
        request, person, "admin_tokens.html", status=status, tokens=tokens, webhooks=webhooks, roles=TOKEN_ROLES, **{**defaults, **values}
    )


async def handle_resume_webhook(request: web.Request) -> web.Response:
    """The tokens page's button for a paused subscription."""
    person = await require_person(request, "admin")
    check_form(request, await request.post())
    hub = request.app[HUB]
    async with hub.sessions() as session, session.begin():
        sub = await get_subscription(session, request)
        await do_resume_webhook(session, sub, person.principal.actor)
    hub.bus.publish(Event("webhook.resumed", {"subscription_id": sub.id}))
    return see_other("/admin/tokens#webhooks")


async def handle_create_token(request: web.Request) -> web.Response:
    """Shows the new token once, in the answer to the post (it is stored only as a hash)."""
    person = await require_person(request, "admin")
    form = await request.post()
    check_form(request, form)
    name, role = str(form.get("name", "")).strip(), str(form.get("role", ""))
    if not name or len(name) > 200 or not name.isprintable():
        return await _tokens_page(request, person, status=400, error="Give the token a name (who or what uses it), up to 200 characters.")
    if role not in TOKEN_ROLES:
        return await _tokens_page(request, person, status=400, error="Choose the token's role.")
    async with request.app[HUB].sessions() as session, session.begin():
        token = await create_api_token(session, name, role)
        created = await session.scalar(select(ApiToken).order_by(ApiToken.id.desc()).limit(1))
        audit(session, person.principal.actor, "token.created", created, name=name, role=role)
    return await _tokens_page(request, person, new_token=token)


async def handle_revoke_token(request: web.Request) -> web.Response:
    person = await require_person(request, "admin")
    form = await request.post()
    check_form(request, form)
    wanted = int(request.match_info["id"])
    async with request.app[HUB].sessions() as session, session.begin():
        token = await session.get(ApiToken, wanted, with_for_update=True) if wanted <= MAX_ID else None
        if token is None:
            raise NotFoundError(f"There is no token {wanted}.")
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            audit(session, person.principal.actor, "token.revoked", token, name=token.name)
    request.app[TOKEN_CACHE].forget(token.token_hash)
    return see_other("/admin/tokens?done=revoked")


async def handle_audit(request: web.Request) -> web.Response:
    person = await require_person(request, "admin")
    wanted = parse_audit_filter(dict(request.query))
    before = request.query.get("before_id", "")
    before_id = int(before) if before.isascii() and before.isdigit() and len(before) < 19 else None
    async with request.app[HUB].reads() as session:
        events = await audit_events(session, wanted, limit=AUDIT_PAGE, before_id=before_id)
    older = None
    if len(events) == AUDIT_PAGE:
        older = str(request.rel_url.update_query({"before_id": events[-1].id}))
    return private_page(
        request, person, "admin_audit.html", events=events, query=dict(request.query), entities=ENTITIES, older=older
    )
