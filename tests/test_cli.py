"""The command line, run as a user runs it, against both databases."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import aiohttp
from sqlalchemy import select

from contactcenter.db.models import Agent
from contactcenter.hub import Hub
from contactcenter.web.auth import check_password
from tests.hubprocess import ROOT, HubProcess, write_config


async def run_cli(tmp_path, database_url, *args: str, stdin: str = "") -> tuple[int, str, str]:
    config = write_config(tmp_path / "cli.toml", {"database": {"url": database_url}})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "contactcenter", "--config", str(config), *args,
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
    return process.returncode, out.decode(), err.decode()


async def test_create_token_prints_a_working_token_last(tmp_path, database_url):
    code, out, _ = await run_cli(tmp_path, database_url, "create-token", "crm-sync", "--role", "intake")
    assert code == 0
    token = out.strip().splitlines()[-1]
    assert token.startswith("cc_") and " " not in token
    async with HubProcess(tmp_path, database_url) as hub, aiohttp.ClientSession(hub.url) as http:
        response = await http.post("/api/v1/contacts", json={"email": "a@b.example", "message": "hi"}, headers={"Authorization": f"Bearer {token}"})
        assert response.status == 201


async def test_create_agent_stores_a_scrypt_hash(tmp_path, database_url, hub: Hub):
    code, out, err = await run_cli(tmp_path, database_url, "create-agent", "Ada@Example.com", "--name", "Ada", "--role", "supervisor", "--password-stdin", stdin="correct horse battery\n")
    assert code == 0, err
    async with hub.sessions() as session:
        agent = await session.scalar(select(Agent))
    assert (agent.email, agent.role) == ("ada@example.com", "supervisor")
    assert agent.password_hash.startswith("scrypt$") and "correct horse" not in agent.password_hash
    assert await check_password("correct horse battery", agent.password_hash)
    assert not await check_password("wrong", agent.password_hash)
    again, _, err = await run_cli(tmp_path, database_url, "create-agent", "ada@example.com", "--name", "Ada", "--password-stdin", stdin="another password\n")
    assert again == 1 and "exists already" in err


async def test_demo_loads_once(tmp_path, database_url):
    code, out, err = await run_cli(tmp_path, database_url, "demo")
    assert code == 0, err
    assert "demo loaded" in out and out.strip().splitlines()[-1].startswith("cc_")
    code, out, _ = await run_cli(tmp_path, database_url, "demo")
    assert code == 0 and "already" in out


async def test_sigterm_lets_in_flight_requests_finish(tmp_path, database_url):
    hub = HubProcess(tmp_path, database_url)
    await hub.start()
    code, out, _ = await run_cli(tmp_path, database_url, "create-token", "t")
    headers = {"Authorization": f"Bearer {out.strip().splitlines()[-1]}"}
    async with aiohttp.ClientSession(hub.url) as http:
        posts = [asyncio.create_task(http.post("/api/v1/contacts", json={"external_id": f"s{i}", "email": f"c{i}@example.com", "message": "hi"}, headers=headers)) for i in range(20)]
        await asyncio.sleep(0)  # let the requests leave before the signal
        while not any(task.done() for task in posts):
            await asyncio.sleep(0.005)
        assert await hub.stop(signal.SIGTERM) == 0
        statuses = []
        for task in posts:
            try:
                statuses.append((await task).status)
            except aiohttp.ClientError:
                statuses.append("refused")  # arrived after the listener closed: never accepted
    assert 201 in statuses and 500 not in statuses and 503 not in statuses
    await hub.start()
    async with aiohttp.ClientSession(hub.url) as http:
        tickets = await (await http.get("/api/v1/tickets?limit=100", headers=headers)).json()
    await hub.stop()
    assert len(tickets["items"]) == statuses.count(201)


async def test_create_agent_takes_phone_skills_capacity_language_and_zone(tmp_path, database_url, hub: Hub):
    code, out, err = await run_cli(
        tmp_path, database_url, "create-agent", "lin@example.com", "--name", "Lin", "--role", "agent",
        "--phone", "+8613800138000", "--skills", "billing=3,refunds=1", "--capacity", "voice=1,sms=3,email=6",
        "--language", "zh-CN", "--timezone", "Asia/Shanghai", "--password-stdin", stdin="correct horse battery\n",
    )
    assert code == 0, err
    async with hub.sessions() as session:
        agent = await session.scalar(select(Agent))
    assert (agent.phone, agent.skills, agent.capacity, agent.language, agent.timezone) == (
        "+8613800138000", {"billing": 3, "refunds": 1}, {"voice": 1, "sms": 3, "email": 6}, "zh-CN", "Asia/Shanghai"
    )
    bad, _, err = await run_cli(
        tmp_path, database_url, "create-agent", "bo@example.com", "--name", "Bo", "--phone", "0800 123", "--password-stdin",
        stdin="correct horse battery\n",
    )
    assert bad == 1 and "E.164" in err
    bad, _, err = await run_cli(
        tmp_path, database_url, "create-agent", "bo@example.com", "--name", "Bo", "--skills", "billing", "--password-stdin",
        stdin="correct horse battery\n",
    )
    assert bad == 1 and "name=number" in err
