"""The process heap after large mail: freed memory goes back to the system.

CPython frees a 24 MB message's buffers, but glibc keeps the pages: its
mmap threshold grows to the size of the largest block freed (up to 32 MB), so
after one large mail every later buffer of that size comes from the arenas,
and arenas shrink only from their top. A burst of large mail then left the hub
at several times its idle size (docs/benchmarks.md). Fixing the threshold
keeps large blocks in their own mappings, unmapped as soon as they are freed;
malloc_trim(3) returns what the arenas hold free. Elsewhere than glibc both
do nothing.
"""

from __future__ import annotations

import ctypes

# Blocks this large or larger get their own mapping (glibc's default before
# it starts adapting; M_MMAP_THRESHOLD is -3 in malloc.h).
MMAP_THRESHOLD_BYTES = 128 * 1024
M_MMAP_THRESHOLD = -3

try:
    LIBC: ctypes.CDLL | None = ctypes.CDLL("libc.so.6")
    LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
    LIBC.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
except (OSError, AttributeError):  # not glibc
    LIBC = None


def map_large_blocks() -> None:
    """Stop glibc from raising its mmap threshold: large buffers are unmapped when freed."""
    if LIBC is not None:
        LIBC.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def give_back_memory() -> None:
    """Hand the arenas' free pages back to the system (after a burst, once it is over)."""
    if LIBC is not None:
        LIBC.malloc_trim(0)
