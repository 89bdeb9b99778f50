"""Downloading a message's attachments from the workspace.

Always a download (`Content-Disposition: attachment`), never shown inline:
a customer's HTML or SVG "attachment" opened on our origin would run with the
agent's session. Only a few plain types keep their content type; everything
else goes out as application/octet-stream, with nosniff and a sandbox CSP in
case a browser still opens it.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from contactcenter.db.models import Attachment, AttachmentBlob
from contactcenter.errors import NotFoundError
from contactcenter.keys import HUB
from contactcenter.web.sessions import require_person

KEPT_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "application/pdf", "text/plain", "audio/mpeg", "audio/wav"})


def setup_attachments(app: web.Application) -> None:
    app.router.add_get("/agent/attachments/{id:\\d+}", handle_attachment)


def download_headers(filename: str, content_type: str) -> dict[str, str]:
    """Headers that make any file a download (RFC 6266 with an RFC 5987 UTF-8 name)."""
    safe_type = content_type.lower() if content_type.lower() in KEPT_TYPES else "application/octet-stream"
    name = filename or "attachment"
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in name)
    return {
        "Content-Type": safe_type,
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, no-store",
    }


async def handle_attachment(request: web.Request) -> web.Response:
    await require_person(request, "agent")
    attachment_id = int(request.match_info["id"])
    async with request.app[HUB].reads() as session:
        attachment = await session.get(Attachment, attachment_id) if attachment_id < 2**31 else None
        blob = await session.get(AttachmentBlob, attachment.sha256) if attachment is not None else None
    if attachment is None or blob is None:
        raise NotFoundError(f"no attachment {attachment_id}")
    return web.Response(body=blob.content, headers=download_headers(attachment.filename, attachment.content_type))
