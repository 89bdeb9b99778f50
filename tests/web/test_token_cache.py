"""API tokens remembered for `[http] token_cache_seconds`: revocation still takes effect."""

from __future__ import annotations

from sqlalchemy import update

from contactcenter.app import create_app
from contactcenter.db.models import ApiToken, utcnow
from contactcenter.web.auth import Principal
from contactcenter.web.token_cache import MAX_ENTRIES, TokenCache
from tests.factories import settings_with
from tests.polling import eventually

INTAKE = Principal(actor="token:1", role="intake")


def test_a_token_is_remembered_for_the_lifetime_only():
    cache = TokenCache(5.0)
    cache.add("hash", INTAKE, now=100.0)
    assert cache.find("hash", now=104.9) == INTAKE
    assert cache.find("hash", now=105.0) is None
    assert cache.find("hash", now=100.0) is None  # forgotten once expired
    assert cache.find("other", now=100.0) is None


def test_lifetime_zero_remembers_nothing():
    cache = TokenCache(0.0)
    cache.add("hash", INTAKE, now=100.0)
    assert cache.find("hash", now=100.0) is None


def test_a_full_cache_starts_again_empty():
    cache = TokenCache(5.0)
    for i in range(MAX_ENTRIES):
        cache.add(f"hash{i}", INTAKE, now=100.0)
    cache.add("one more", INTAKE, now=100.0)
    assert cache.find("hash0", now=100.0) is None
    assert cache.find("one more", now=100.0) == INTAKE


async def revoke_all(hub) -> None:
    async with hub.sessions() as session, session.begin():
        await session.execute(update(ApiToken).values(revoked_at=utcnow()))


async def status_with(client, auth) -> int:
    return (await client.get("/api/v1/tickets", headers=auth)).status


async def test_a_revoked_token_is_refused_once_the_lifetime_has_passed(aiohttp_client, hub, auth):
    hub.settings = settings_with(hub.settings, http={"token_cache_seconds": 0.5})
    client = await aiohttp_client(create_app(hub.settings, hub, workers=False))
    assert await status_with(client, auth) == 200
    await revoke_all(hub)
    await eventually(lambda: _refused(client, auth), timeout=5.0, what="the revoked token to be refused")


async def test_within_the_lifetime_a_revoked_token_still_works(aiohttp_client, hub, auth):
    """The documented trade-off: one lookup per token per lifetime, not per request."""
    hub.settings = settings_with(hub.settings, http={"token_cache_seconds": 3600.0})
    client = await aiohttp_client(create_app(hub.settings, hub, workers=False))
    assert await status_with(client, auth) == 200
    await revoke_all(hub)
    assert await status_with(client, auth) == 200


async def test_without_the_cache_revocation_is_immediate(aiohttp_client, hub, auth):
    hub.settings = settings_with(hub.settings, http={"token_cache_seconds": 0.0})
    client = await aiohttp_client(create_app(hub.settings, hub, workers=False))
    assert await status_with(client, auth) == 200
    await revoke_all(hub)
    response = await client.get("/api/v1/tickets", headers=auth)
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "invalid_token"


async def _refused(client, auth) -> bool:
    return await status_with(client, auth) == 401
