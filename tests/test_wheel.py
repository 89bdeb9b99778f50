"""The built wheel, installed into a fresh virtualenv, runs from any directory.

What a new user does: `pip install` the project (not editable), then `contactcenter
demo` and `contactcenter serve` in a folder of their own. Nothing of the source
checkout is on the path, so a template, the default configuration or a migration
missing from the wheel fails here.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import aiohttp

from tests.hubprocess import ROOT, free_port, write_config
from tests.polling import eventually


def _pip(*args: str) -> None:
    # The suite's own pip, pointed at the new environment (--python): no pip
    # inside it to install first. Dependencies come from pip's configured
    # index and cache.
    result = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_the_wheel_runs_demo_and_serve_from_anywhere(tmp_path: Path) -> None:
    _pip("wheel", "--no-deps", "--quiet", "--wheel-dir", str(tmp_path / "dist"), str(ROOT))
    (wheel,) = (tmp_path / "dist").glob("contactcenter-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"contactcenter", wheel.name.split("-py3")[0] + ".dist-info"}, "only contactcenter at the top"
    for shipped in ("contactcenter/config/default.toml", "contactcenter/templates/pages/contact.html",
                    "contactcenter/templates/messages/acknowledgement.txt", "contactcenter/templates/static/workspace.js",
                    "contactcenter/templates/static/chat-widget.js", "contactcenter/templates/pages/portal/ticket.html",
                    "contactcenter/db/migrations/script.py.mako", "contactcenter/channels/smtp_server.py"):
        assert shipped in names, shipped
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]

    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    _pip("--python", str(python), "install", "--quiet", "--no-compile", "--prefer-binary", str(wheel))
    site_packages = Path(subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True).strip())
    assert not (site_packages / "channels").exists() and not (site_packages / "channels.py").exists()

    workdir = tmp_path / "somewhere"
    workdir.mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CONTACTCENTER_", "PYTHON", "VIRTUAL_ENV"))}
    command = str(env_dir / "bin" / "contactcenter")
    demo = subprocess.run([command, "demo"], cwd=workdir, env=environ, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.strip().splitlines()[-1].startswith("cc_")
    assert (workdir / "var" / "contactcenter.db").exists(), "[paths] data_dir defaults to var/ in the working directory"

    port = free_port()
    config = write_config(workdir / "hub.toml", {"http": {"port": port, "public_url": f"http://127.0.0.1:{port}"}, "email": {"smtp_port": 0}})
    with (workdir / "serve.log").open("wb") as log:
        serve = subprocess.Popen([command, "serve", "--config", str(config)], cwd=workdir, env=environ, stdout=log, stderr=log)
    try:
        statuses = asyncio.run(_fetch(f"http://127.0.0.1:{port}", serve))
        assert statuses == {"/healthz": 200, "/contact": 200, "/login": 200, "/static/workspace.js": 200}, (workdir / "serve.log").read_text()
        assert (workdir / "var" / "secret_key").exists()
    finally:
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(30) == 0, (workdir / "serve.log").read_text()
    served_from = subprocess.check_output([python, "-c", "import contactcenter.settings as s; print(s.TEMPLATES_DIR)"], cwd=workdir, env=environ, text=True)
    assert served_from.strip() == str(site_packages / "contactcenter" / "templates")


async def _fetch(base: str, serve: subprocess.Popen) -> dict[str, int]:
    async with aiohttp.ClientSession(base) as http:

        async def healthy() -> bool:
            assert serve.poll() is None, "serve exited"
            try:
                async with http.get("/healthz") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await eventually(healthy, timeout=60, what="the installed hub to answer /healthz")
        statuses = {}
        for path in ("/healthz", "/contact", "/login", "/static/workspace.js"):
            async with http.get(path, allow_redirects=False) as response:
                await response.read()
                statuses[path] = response.status
        return statuses
