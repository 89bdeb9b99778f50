"""HTTP/1.1 POSTs over kept-alive sockets, for the load generator's own CPU.

The hub and the load generator share this 2-core machine. aiohttp's client
cost the generator about 1.5 ms of CPU per SMS webhook, more than the hub spent
on it (docs/benchmarks.md, "The load generator's share of the machine"): at
the maximum the generator took a whole core, and the hub's rate was bounded by
what was left. A POST here is bytes written to a kept connection and a
response read by its Content-Length (or chunks): a fraction of that, and the
same requests on the wire. `bench/run.py --http-client aiohttp` keeps the old
client for comparison.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 30.0


class WireError(Exception):
    """The hub's answer could not be read as HTTP/1.1."""


class _ClosedBeforeAnswer(WireError):
    """The connection ended before the first byte of an answer (a kept connection the server had closed)."""


class KeptConnections:
    """Idle keep-alive connections by (host, port); one request at a time on each."""

    def __init__(self) -> None:
        self.idle: dict[tuple[str, int], list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = defaultdict(list)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST `body` to `url`; -> the response's status (its body is read and dropped)."""
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n"
        request = (head + "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n").encode("latin-1") + body
        pool = self.idle[(host, port)]
        while pool:
            reader, writer = pool.pop()
            if reader.at_eof():  # the server closed it while idle
                writer.close()
                continue
            try:
                return await self._exchange(pool, reader, writer, request)
            except _ClosedBeforeAnswer:
                continue  # closed as we wrote: nothing was read by the server, so it goes again on another
        reader, writer = await asyncio.open_connection(host, port)
        return await self._exchange(pool, reader, writer, request)

    @staticmethod
    async def _exchange(pool: list, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                writer.write(request)
                status, keep = await _read_response(reader)
        except BaseException:
            writer.close()
            raise
        if keep:
            pool.append((reader, writer))
        else:
            writer.close()
        return status

    def close(self) -> None:
        for pool in self.idle.values():
            for _, writer in pool:
                writer.close()
        self.idle.clear()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """-> (status, whether the connection stays open)."""
    line = await reader.readline()
    if not line:
        raise _ClosedBeforeAnswer("the connection closed before an answer")
    version, _, rest = line.partition(b" ")
    if not version.startswith(b"HTTP/1."):
        raise WireError(f"not an HTTP/1.1 answer: {line[:80]!r}")
    status = int(rest[:3])
    length, chunked, keep = 0, False, version == b"HTTP/1.1"
    while (header := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = header.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value
        elif name == b"connection":
            keep = value == b"keep-alive" or (keep and value != b"close")
    if chunked:
        while size := int((await reader.readline()).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readline()
    elif length:
        await reader.readexactly(length)
    return status, keep
