"""Charts drawn on the server as SVG geometry (no script, no CDN): bars, a line, a heat map.

Pure functions returning shapes; the template draws them, escaping labels.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 720, 180, 28


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


def bars(points: list[tuple[str, int]]) -> list[Bar]:
    """One bar per (label, value), scaled to the tallest."""
    if not points:
        return []
    top = max(v for _, v in points) or 1
    step = (WIDTH - 2 * PAD) / len(points)
    found = []
    for i, (label, value) in enumerate(points):
        height = (HEIGHT - 2 * PAD) * value / top
        found.append(Bar(PAD + i * step + step * 0.1, HEIGHT - PAD - height, step * 0.8, height, label, value))
    return found


def line(points: list[tuple[str, int]]) -> str:
    """An SVG polyline's `points` attribute for (label, value) pairs."""
    if not points:
        return ""
    top = max(v for _, v in points) or 1
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)
    return " ".join(f"{PAD + i * step:.1f},{HEIGHT - PAD - (HEIGHT - 2 * PAD) * v / top:.1f}" for i, (_, v) in enumerate(points))


def heat_shade(value: int, top: int) -> str:
    """A blue whose depth says how busy the hour is (white for none)."""
    if not value or not top:
        return "#ffffff"
    depth = 0.15 + 0.85 * value / top
    return f"rgba(31,79,191,{depth:.2f})"
