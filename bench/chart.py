"""An SVG chart of throughput and p99 latency against offered load, without a plotting library.

Left axis: contacts per second the hub handled; right axis: p99 latency in
milliseconds. One colour per configuration; solid lines are throughput,
dashed lines latency. The dotted diagonal is "handled = offered".
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 760, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 80, 40, 60
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def write_chart(path: Path, runs: list[dict[str, Any]]) -> None:
    points = [(run["label"], [(s["offered_per_second"], s.get("processed_per_second", s["per_second"]), s["p99_ms"] or 0.0) for s in run["sweep"]]) for run in runs]
    x_max = _nice_max(max((x for _, ps in points for x, _, _ in ps), default=1))
    y_max = _nice_max(max((max(x, y) for _, ps in points for x, y, _ in ps), default=1))
    l_max = _nice_max(max((lat for _, ps in points for _, _, lat in ps), default=1))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + x / x_max * plot_w

    def sy(y: float) -> float:
        return TOP + plot_h - y / y_max * plot_h

    def sl(lat: float) -> float:
        return TOP + plot_h - min(lat, l_max) / l_max * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="14">Throughput (solid) and p99 latency (dashed) vs offered load</text>',
    ]
    for i in range(6):
        gy = TOP + plot_h * i / 5
        out.append(f'<line x1="{LEFT}" y1="{gy:.1f}" x2="{LEFT + plot_w}" y2="{gy:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end">{y_max * (5 - i) / 5:g}</text>')
        out.append(f'<text x="{LEFT + plot_w + 6}" y="{gy + 4:.1f}">{l_max * (5 - i) / 5:g}</text>')
        gx = LEFT + plot_w * i / 5
        out.append(f'<text x="{gx:.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{x_max * i / 5:g}</text>')
    out += [
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="black"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="black"/>',
        f'<line x1="{LEFT + plot_w}" y1="{TOP}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="black"/>',
        f'<line x1="{sx(0):.1f}" y1="{sy(0):.1f}" x2="{sx(min(x_max, y_max)):.1f}" y2="{sy(min(x_max, y_max)):.1f}" stroke="#999" stroke-dasharray="2,3"/>',
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 22}" text-anchor="middle">offered load (contacts/s)</text>',
        f'<text transform="translate(18,{TOP + plot_h / 2}) rotate(-90)" text-anchor="middle">handled (contacts/s)</text>',
        f'<text transform="translate({WIDTH - 16},{TOP + plot_h / 2}) rotate(90)" text-anchor="middle">p99 latency (ms)</text>',
    ]
    for n, (label, ps) in enumerate(points):
        colour = COLOURS[n % len(COLOURS)]
        if ps:
            through = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y, _ in ps)
            latency = " ".join(f"{sx(x):.1f},{sl(lat):.1f}" for x, _, lat in ps)
            out.append(f'<polyline points="{through}" fill="none" stroke="{colour}" stroke-width="2"/>')
            out.append(f'<polyline points="{latency}" fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="6,4"/>')
            for x, y, lat in ps:
                out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}"/>')
                out.append(f'<rect x="{sx(x) - 3:.1f}" y="{sl(lat) - 3:.1f}" width="6" height="6" fill="{colour}"/>')
        ly = TOP + 14 + 16 * n
        out.append(f'<line x1="{LEFT + 10}" y1="{ly - 4}" x2="{LEFT + 30}" y2="{ly - 4}" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{LEFT + 36}" y="{ly}">{escape(label)}</text>')
    out.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n")
