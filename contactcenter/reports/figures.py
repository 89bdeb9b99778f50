"""Pure arithmetic for reports: percentiles and the shapes figures take."""

from __future__ import annotations

import json
import math


def percentile(values: list[int], share: float, ordered: bool = False) -> float | None:
    """Linear interpolation between closest ranks (numpy's default, PostgreSQL's
    percentile_cont): the median of 1, 2, 3, 10 is 2.5; None for no values.
    `ordered`: the values are sorted already (a report's groups are), so no copy is sorted."""
    if not values:
        return None
    ordered = values if ordered else sorted(values)
    position = share * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def spread(values: list[int], ordered: bool = False) -> dict[str, float | int | None]:
    return {"count": len(values), "median_seconds": percentile(values, 0.5, ordered), "p90_seconds": percentile(values, 0.9, ordered)}


def parse_numbers(joined: str | None) -> list[int]:
    """The values an aggregate_strings(…, ",") query handed back in one string (integers we
    wrote; the JSON parser reads them about twice as fast as int() over a split)."""
    return json.loads(f"[{joined}]") if joined else []


def compliance(met: int, breached: int) -> float | None:
    return round(met / (met + breached), 4) if met + breached else None
