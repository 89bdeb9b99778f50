"""Typed keys for what the aiohttp application holds."""

import asyncio

from aiohttp import web

from contactcenter.hub import Hub
from contactcenter.web.ratelimit import RateLimiter
from contactcenter.web.token_cache import TokenCache

HUB = web.AppKey("hub", Hub)
TOKEN_CACHE = web.AppKey("token_cache", TokenCache)
FORM_RATE_LIMIT = web.AppKey("form_rate_limit", RateLimiter)
STREAMS_CLOSING = web.AppKey("streams_closing", asyncio.Event)  # set on shutdown: live pages end
PORTAL_RATE_LIMIT = web.AppKey("portal_rate_limit", RateLimiter)  # sign-in link requests per client address
