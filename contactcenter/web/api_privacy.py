"""The JSON API for a customer's data rights: export (`GET …/export`) and erasure (`POST …/erase`).

Both are admin work: an export hands over everything held on a person, an erasure
cannot be undone.
"""

from __future__ import annotations

from aiohttp import web

from contactcenter.errors import InputError
from contactcenter.keys import HUB
from contactcenter.privacy.erase import do_erase_customer
from contactcenter.privacy.export import export_customer
from contactcenter.web.api import read_json_object
from contactcenter.web.auth import require
from contactcenter.web.params import path_id

MAX_REASON_CHARS = 500


def setup_privacy_api(app: web.Application) -> None:
    app.router.add_get("/api/v1/customers/{id}/export", handle_export)
    app.router.add_post("/api/v1/customers/{id}/erase", handle_erase)


async def handle_export(request: web.Request) -> web.Response:
    await require(request, "admin")
    async with request.app[HUB].reads() as session:
        document = await export_customer(session, path_id(request))
    filename = f"customer-{document['customer_id']}.json"
    return web.json_response(document, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


async def handle_erase(request: web.Request) -> web.Response:
    """Body {"reason": "…"} (who asked and why: kept in the audit entry)."""
    principal = await require(request, "admin")
    body = await read_json_object(request)
    reason = body.get("reason", "")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON_CHARS:
        raise InputError(
            "say who asked and why in 'reason' (the audit log keeps it)",
            fields={"reason": f"required, at most {MAX_REASON_CHARS} characters"},
        )
    async with request.app[HUB].sessions() as session, session.begin():
        erasure = await do_erase_customer(session, path_id(request), principal.actor, reason.strip())
    return web.json_response(
        {
            "erased_customer_ids": erasure.customers,
            "contact_points": erasure.contact_points,
            "tickets": erasure.tickets,
            "interactions": erasure.interactions,
        }
    )
