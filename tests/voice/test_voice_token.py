"""The softphone's Access Token: a JWT Twilio's library accepts, with a VoiceGrant for that agent only."""

from __future__ import annotations

import jwt as pyjwt
import pytest
from twilio.jwt import Jwt, JwtDecodeError

from contactcenter.web.auth import create_api_token
from tests.twilio_standin import ACCOUNT_SID, API_KEY_SECRET, API_KEY_SID, standin, twilio_settings  # noqa: F401
from tests.factories import settings_with
from tests.web.workspace_helpers import add_agent, sign_in


@pytest.fixture
def settings(settings, standin):
    base = twilio_settings(settings, standin.url)
    return settings_with(base, http={"public_url": "http://hub.example.test"})  # the session cookie is not Secure


async def bearer(hub, role: str, agent_id: int | None) -> dict[str, str]:
    async with hub.sessions() as session, session.begin():
        return {"Authorization": f"Bearer {await create_api_token(session, 'softphone', role, agent_id)}"}


async def test_the_token_is_a_twilio_access_token_for_that_agent_only(client, hub):
    ada = await add_agent(hub, "ada@example.com", phone="+12065550181")
    response = await client.get(f"/api/v1/agents/{ada}/voice-token", headers=await bearer(hub, "agent", ada))
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    body = await response.json()
    assert body["identity"] == f"agent-{ada}"

    decoded = Jwt.from_jwt(body["token"], API_KEY_SECRET)  # twilio's own decoder checks the signature
    assert decoded.payload["grants"] == {
        "identity": f"agent-{ada}",
        "voice": {"incoming": {"allow": True}},  # receive calls only: nothing to place calls with
    }
    claims = pyjwt.decode(body["token"], API_KEY_SECRET, algorithms=["HS256"])
    assert (claims["iss"], claims["sub"], claims["exp"] - claims["nbf"]) == (API_KEY_SID, ACCOUNT_SID, 3600)  # short-lived: one hour
    assert pyjwt.get_unverified_header(body["token"])["cty"] == "twilio-fpa;v=1"
    with pytest.raises(JwtDecodeError):
        Jwt.from_jwt(body["token"], "another-secret-of-the-same-length-000")


async def test_without_a_session_or_token_it_is_401_and_one_agent_cannot_get_anothers(client, hub):
    ada = await add_agent(hub, "ada@example.com")
    ben = await add_agent(hub, "ben@example.com", name="Ben")
    assert (await client.get(f"/api/v1/agents/{ada}/voice-token")).status == 401
    assert (await client.get(f"/api/v1/agents/{ada}/voice-token", headers={"Authorization": "Bearer nope"})).status == 401
    refused = await client.get(f"/api/v1/agents/{ben}/voice-token", headers=await bearer(hub, "agent", ada))
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "forbidden"
    supervisor = await client.get(f"/api/v1/agents/{ben}/voice-token", headers=await bearer(hub, "supervisor", None))
    assert supervisor.status == 403
    admin = await client.get(f"/api/v1/agents/{ben}/voice-token", headers=await bearer(hub, "admin", None))
    assert admin.status == 200 and (await admin.json())["identity"] == f"agent-{ben}"


async def test_a_signed_in_agent_gets_their_own_token_with_the_session(client, hub):
    ada = await add_agent(hub, "ada@example.com")
    ben = await add_agent(hub, "ben@example.com", name="Ben")
    assert (await sign_in(client)).status == 303
    own = await client.get(f"/api/v1/agents/{ada}/voice-token")
    assert own.status == 200 and Jwt.from_jwt((await own.json())["token"], API_KEY_SECRET).payload["grants"]["identity"] == f"agent-{ada}"
    assert (await client.get(f"/api/v1/agents/{ben}/voice-token")).status == 403


async def test_without_an_api_key_the_softphone_is_refused_clearly(client, hub):
    hub.settings = twilio_settings(hub.settings, hub.settings.twilio.api_base_url, api_key_sid="", api_key_secret="")
    ada = await add_agent(hub, "ada@example.com")
    response = await client.get(f"/api/v1/agents/{ada}/voice-token", headers=await bearer(hub, "agent", ada))
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "voice_not_configured"
