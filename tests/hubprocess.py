"""Running a real hub in a child process, for tests that kill or restart it.

`HubProcess` writes a config file, starts `python -m contactcenter serve` (or
another entry module), waits until /healthz answers, and can stop it with
SIGTERM or SIGKILL. Everything stays on loopback.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f'"{k}" = {toml_value(v)}' for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, sections: dict[str, dict[str, Any]]) -> Path:
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {toml_value(value)}" for key, value in values.items())
    path.write_text("\n".join(lines) + "\n")
    return path


class HubProcess:
    def __init__(
        self,
        workdir: Path,
        database_url: str,
        sections: dict[str, dict[str, Any]] | None = None,
        module: str = "contactcenter",
        env: dict[str, str] | None = None,
    ):
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        sections = dict(sections or {})
        sections["database"] = {"url": database_url, **sections.get("database", {})}
        sections["http"] = {"port": self.port, "public_url": self.url, "secret_key": "test-secret", **sections.get("http", {})}
        # Any free port for the SMTP receiver unless the test names one: hubs run side by side.
        sections["email"] = {"smtp_port": 0, **sections.get("email", {})}
        self.config = write_config(workdir / "hub.toml", sections)
        self.module = module
        self.env = dict(env or {})
        self.process: asyncio.subprocess.Process | None = None
        self.log_path = workdir / "hub.log"

    async def start(self, timeout: float = 20.0) -> None:
        env = {**os.environ, **self.env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        log = self.log_path.open("ab")
        args = [sys.executable, "-m", self.module, "--config", str(self.config), "serve"]
        self.process = await asyncio.create_subprocess_exec(*args, cwd=self.workdir, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise RuntimeError(f"hub exited with {self.process.returncode}:\n{self.log()}")
                try:
                    async with session.get(self.url + "/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise TimeoutError(f"hub did not become healthy:\n{self.log()}")

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def kill(self) -> None:
        await self.stop(signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    async def __aenter__(self) -> HubProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.process and self.process.returncode is None:
            await self.kill()
