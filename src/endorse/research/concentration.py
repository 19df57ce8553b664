"""How concentrated downloads are: top-k shares, the Gini coefficient and the HHI.

Pure functions over download counts (any order unless stated). The
Herfindahl-Hirschman index ``HHI = sum(s_i ** 2)`` of the download shares
``s_i`` has an intuitive inverse: ``1 / HHI`` is the number of equally popular
projects that would be as concentrated (the "effective number" of projects).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["effective_projects", "gini", "hhi", "top_share"]


def top_share(counts_most_first: Sequence[float], k: int) -> float:
    """Share of the total held by the first ``k`` counts (already sorted, most first)."""
    total = sum(counts_most_first)
    if total <= 0:
        raise ValueError("counts must have a positive total")
    return sum(counts_most_first[: max(k, 0)]) / total


def gini(counts: Sequence[float]) -> float:
    """Gini coefficient: 0 when every project has the same downloads, (n-1)/n when one has all."""
    values = sorted(counts)
    n = len(values)
    total = sum(values)
    if n == 0 or total <= 0:
        raise ValueError("counts must be non-empty with a positive total")
    weighted = sum(i * v for i, v in enumerate(values, start=1))
    return 2.0 * weighted / (n * total) - (n + 1) / n


def hhi(counts: Sequence[float]) -> float:
    """Herfindahl-Hirschman index of the download shares, in (0, 1]."""
    total = sum(counts)
    if total <= 0:
        raise ValueError("counts must have a positive total")
    return sum((c / total) ** 2 for c in counts)


def effective_projects(counts: Sequence[float]) -> float:
    """``1 / HHI``: how many equally popular projects would be as concentrated."""
    return 1.0 / hhi(counts)
