"""Who is calling, and may they: API tokens, agent passwords, roles.

Roles are ranked; a route names the least role it needs. An `intake` token can
only hand in contacts (another system's integration); agents read and answer;
supervisors also merge customers and move work; admins do everything.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contactcenter.db.models import ApiToken
from contactcenter.errors import AuthError, ForbiddenError
from contactcenter.keys import HUB, TOKEN_CACHE

ROLES = ("intake", "agent", "supervisor", "admin")

# scrypt parameters (RFC 7914): 16 MiB of memory per hash; about 50 ms here.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


@dataclass(frozen=True, slots=True)
class Principal:
    actor: str  # "token:3", "agent:7": what audit events record
    role: str
    agent_id: int | None = None

    def has_role(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_api_token(session: AsyncSession, name: str, role: str, agent_id: int | None = None) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    token = "cc_" + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=hash_token(token), role=role, agent_id=agent_id))
    return token


async def require(request: web.Request, role: str) -> Principal:
    """The caller, when they hold at least `role`; else 401 or 403."""
    principal = await authenticate(request)
    if not principal.has_role(role):
        raise ForbiddenError(f"this needs the {role} role; your token has {principal.role}")
    return principal


async def authenticate(request: web.Request) -> Principal:
    """The holder of the request's bearer token: remembered briefly, else looked up (token_cache.py)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("send an API token as 'Authorization: Bearer <token>'", code="missing_token")
    token_hash = hash_token(token.strip())
    cache = request.app[TOKEN_CACHE]
    principal = cache.find(token_hash)
    if principal is None:
        principal = await find_token_holder(request.app[HUB].reads, token_hash)
        if principal is None:
            raise AuthError("the API token is not valid", code="invalid_token")
        cache.add(token_hash, principal)
    return principal


async def find_token_holder(sessions: async_sessionmaker[AsyncSession], token_hash: str) -> Principal | None:
    """Who holds the token with this hash, when it exists and is not revoked."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(ApiToken.id, ApiToken.role, ApiToken.agent_id).where(
                    ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None)
                )
            )
        ).one_or_none()
    return None if row is None else Principal(actor=f"token:{row.id}", role=row.role, agent_id=row.agent_id)


async def hash_password(password: str) -> str:
    """scrypt, in a worker thread: hashing is deliberately slow."""
    salt = secrets.token_bytes(16)
    digest = await asyncio.to_thread(_scrypt, password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "scrypt${}${}${}${}${}".format(
        SCRYPT_N, SCRYPT_R, SCRYPT_P, base64.b64encode(salt).decode(), base64.b64encode(digest).decode()
    )


async def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    computed = await asyncio.to_thread(_scrypt, password, base64.b64decode(salt), int(n), int(r), int(p))
    return hmac.compare_digest(computed, base64.b64decode(digest))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)
