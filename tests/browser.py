"""A real browser for page tests: Debian's Chromium driven by Playwright's Python package.

Playwright's own browser download is impossible here, so the tests launch
`/usr/bin/chromium` (`.ci/run` installs Debian's package). Any test can take the
`browser` fixture (`tests/conftest.py` registers it) and open pages of a hub served
on loopback.

Screenshots go to `test-artifacts/screenshots/` (ignored by git), so a person can
look at what the tests saw.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CONTACTCENTER_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"

# Without the background-networking flags Chromium keeps trying Google's hosts, which this
# machine's closed network refuses; as root it also needs --no-sandbox.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing() -> str | None:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install -e '.[test]')"
    return None


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    """A headless Chromium for one test; under CI a missing browser fails instead of skipping."""
    problem = _missing()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem + " (CI must run the browser tests)")
        pytest.skip(problem)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


def screenshot_path(name: str) -> str:
    """Where a test saves the screenshot called `name` (e.g. "inbox")."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return str(SCREENSHOTS / f"{name}.png")
