"""The relay the bench's hubs send their acknowledgements to: accepts and drops them, in a process of its own.

In the load generator's process (aiosmtpd's Controller thread) it shared the
generator's GIL: each time the sink ran, the client's event loop waited up to
the 5 ms switch interval to read an answer, and that wait was counted as the
hub's latency (issue 11: mail p50 14-19 ms at a quarter of the maximum).
"""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any


class MailSink:
    def __init__(self, port: int):
        context = multiprocessing.get_context("spawn")  # nothing of the generator's loop or threads comes along
        self.port = port
        self._relayed = context.Value("q", 0)
        ready = context.Event()
        self._process = context.Process(target=_serve, args=(port, self._relayed, ready), daemon=True, name="bench-mail-sink")
        self._process.start()
        if not ready.wait(30):
            self.stop()
            raise RuntimeError("the bench's mail sink did not start within 30 s")

    @property
    def relayed(self) -> int:
        """Acknowledgements received, so a window's CPU can be read beside the mail it sent."""
        return int(self._relayed.value)

    def stop(self) -> None:
        self._process.terminate()
        self._process.join(10)


def _serve(port: int, relayed: Any, ready: Any) -> None:
    from aiosmtpd.controller import Controller

    class Drop:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with relayed.get_lock():
                relayed.value += 1
            return "250 OK"

    Controller(Drop(), hostname="127.0.0.1", port=port).start()
    ready.set()
    threading.Event().wait()  # until terminated
