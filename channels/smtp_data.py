"""Reading one SMTP DATA section into a file, a chunk at a time.

aiosmtpd's own `smtp_DATA` reads a message line by line and keeps every line
as a bytearray until the end, then joins them: a 24 MB message of 76-byte
base64 lines is 330,000 small objects, then a copy. Concurrent large mail left
the allocator's arenas fragmented long after the messages were gone
(docs/benchmarks.md, "Memory under 20 concurrent 24 MB mails"). Here DATA is
read in large chunks and written, dot-unstuffed, into a file that stays in
memory while small and moves to disk above `[email] spool_bytes`
(`tempfile.SpooledTemporaryFile` in `[paths] data_dir`).

RFC 5321 §4.5.2: the data ends with a line holding a single dot
(CRLF "." CRLF); a line of the data that starts with a dot was sent with one
more dot in front, which is removed. Only CRLF ends a line, as in aiosmtpd
(a bare LF inside a line is data: RFC 5321 §2.3.8, and the end of data cannot
be smuggled with LF "." LF).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from collections.abc import Callable
from typing import IO

CHUNK_BYTES = 256 * 1024
END = b"\r\n.\r\n"
STUFFED = b"\r\n."


def spool_file(spool_bytes: int, directory: Path) -> IO[bytes]:
    """A file for one message: in memory up to `spool_bytes`, then on disk in `directory` (removed when closed)."""
    directory.mkdir(parents=True, exist_ok=True)
    if spool_bytes <= 0:  # SpooledTemporaryFile takes 0 for "never roll over"
        return tempfile.TemporaryFile(mode="w+b", dir=directory, prefix="smtp-")
    return tempfile.SpooledTemporaryFile(max_size=spool_bytes, mode="w+b", dir=directory, prefix="smtp-")


async def read_data(
    reader: asyncio.StreamReader, sink: IO[bytes], limit: int | None, room: Callable[[int], bool] | None = None
) -> bool:
    """Copy DATA from `reader` into `sink` up to its end, the dots removed; -> False when over `limit` bytes.

    `room(received)`, if given, is asked before more data goes into `sink`
    and may say no (the memory budget is spent): False as well. In both cases
    the rest is still read (and dropped), so that the answer (552 or 451) comes
    after the end of data, where the client expects it (RFC 5321 §4.2.5).
    Raises ConnectionResetError when the peer goes away before the end.
    """
    # `pending` always starts at a line start, behind the CRLF that ended the
    # line before (a CRLF stands in for the start of data), so END and
    # STUFFED are found the same way on the first line as on the others.
    pending = bytearray(b"\r\n")
    received = 0  # bytes of data taken out of `pending`
    too_much = False
    first = True
    while True:
        searched = len(pending)
        chunk = await reader.read(CHUNK_BYTES)
        if not chunk:
            raise ConnectionResetError("the client went away during DATA")
        pending += chunk
        end = pending.find(END, max(0, searched - len(END) + 1))
        if end >= 0:
            line_data, rest = pending[:end], pending[end + len(END) :]
            if rest:  # commands sent right behind the data: give them back to the reader
                reader._buffer[:0] = rest  # noqa: SLF001 - StreamReader has no unread()
        else:
            # Everything before the last CRLF is whole lines: neither END nor
            # STUFFED can straddle that CRLF, which stays for the next round.
            last = pending.rfind(b"\r\n", max(0, searched - 1))
            if last <= 0:  # one long line so far
                if too_much:
                    del pending[: -len(END)]  # only the end is still looked for
                elif limit and received + len(pending) - 2 > limit or room is not None and not room(received + len(pending)):
                    too_much = True
                    del pending[: -len(END)]
                continue
            line_data = pending[:last]
            del pending[:last]
        received += len(line_data)
        if limit and received - 2 > limit or room is not None and not too_much and not room(received):
            too_much = True
        if not too_much and line_data:
            text = line_data.replace(STUFFED, b"\r\n")
            sink.write(memoryview(text)[2:] if first else text)
            first = False
        if end >= 0:
            if too_much:
                return False
            if not first:
                sink.write(b"\r\n")  # the CRLF that ended the last line is data too
            sink.seek(0)
            return True
