"""Who is signed in to the workspace, for admins: list the live sessions and end any of them."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from contactcenter.actions import audit
from contactcenter.db.models import Agent, AgentSession, utcnow
from contactcenter.errors import NotFoundError
from contactcenter.keys import HUB
from contactcenter.web.sessions import check_form, end_sessions, private_page, require_person, see_other


def setup_signins(app: web.Application) -> None:
    app.router.add_get("/admin/sessions", handle_session_list)
    app.router.add_post("/admin/sessions/{id:\\d+}/revoke", handle_revoke)


async def handle_session_list(request: web.Request) -> web.Response:
    person = await require_person(request, "admin")
    async with request.app[HUB].reads() as session:
        rows = (
            await session.execute(
                select(AgentSession, Agent.name, Agent.email)
                .join(Agent, Agent.id == AgentSession.agent_id)
                .where(AgentSession.revoked_at.is_(None), AgentSession.expires_at > utcnow())
                .order_by(AgentSession.created_at.desc())
                .limit(500)
            )
        ).all()
    return private_page(request, person, "admin_sessions.html", rows=rows, now=utcnow(), done=request.query.get("done", ""))


async def handle_revoke(request: web.Request) -> web.Response:
    person = await require_person(request, "admin")
    check_form(request, await request.post())
    session_id = int(request.match_info["id"])
    async with request.app[HUB].sessions() as session, session.begin():
        signed_in = await session.get(AgentSession, session_id) if session_id < 2**31 else None
        if signed_in is None:
            raise NotFoundError(f"no session {session_id}")
        if await end_sessions(session, session_id=session_id):
            audit(session, person.principal.actor, "session.revoked", signed_in, agent_id=signed_in.agent_id)
    return see_other("/admin/sessions?done=revoked")
