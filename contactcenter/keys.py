"""Typed keys for what the aiohttp application holds."""

from aiohttp import web

from contactcenter.hub import Hub
from contactcenter.web.ratelimit import RateLimiter

HUB = web.AppKey("hub", Hub)
FORM_RATE_LIMIT = web.AppKey("form_rate_limit", RateLimiter)
