"""Download counts of the most-downloaded projects, and a model of the tail beyond them.

The public monthly dumps list only the head of the distribution (the top
4,000 or 15,000 projects). Any share "of all downloads" needs the downloads of
the hundreds of thousands of unlisted projects, so this module makes the tail
explicit: a :class:`TailModel` continues the listed counts from the last listed
rank down to a stated number of projects, and :class:`ModelledDownloads` is
the whole distribution (listed head plus modelled tail) with its prefix sums.

Tail models, from optimistic to pessimistic for the protected share:

* ``none``: nothing beyond the list (a lower bound on all downloads);
* ``power-law``: ``d(r) = d(n) * (r / n) ** -a`` for ``r > n``, anchored at the
  last listed count ``d(n)`` with an exponent ``a`` fitted on the head;
* ``flat``: every unlisted project has the last listed count (an upper bound,
  since the list is sorted, no unlisted project can have more).

No IO here: :func:`parse_download_table` takes the decoded JSON document.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Literal

from packaging.utils import NormalizedName, canonicalize_name

__all__ = [
    "DownloadTable",
    "ModelledDownloads",
    "TailKind",
    "TailModel",
    "fit_exponent",
    "parse_download_table",
]

TailKind = Literal["none", "power-law", "flat"]


@dataclass(frozen=True)
class DownloadTable:
    """Downloads per project over one window, most-downloaded first."""

    as_of: str
    names: tuple[NormalizedName, ...]
    counts: tuple[int, ...]
    #: Projects with at least one download in the window, if the source reports it.
    reported_projects: int | None = None

    def __post_init__(self) -> None:
        if not self.counts:
            raise ValueError("a download table needs at least one row")
        if len(self.names) != len(self.counts):
            raise ValueError(f"{len(self.names)} names but {len(self.counts)} counts")
        if any(c <= 0 for c in self.counts):
            raise ValueError("download counts must be positive")
        if any(a < b for a, b in zip(self.counts, self.counts[1:], strict=False)):
            raise ValueError("download counts must be sorted, most first")

    @property
    def listed(self) -> int:
        """Number of listed projects."""
        return len(self.counts)

    @property
    def total(self) -> int:
        """Downloads of the listed projects."""
        return sum(self.counts)

    def top_names(self, k: int) -> frozenset[NormalizedName]:
        """Names of the ``k`` most-downloaded projects (at most every listed one)."""
        return frozenset(self.names[:k])


def parse_download_table(doc: Mapping[str, Any]) -> DownloadTable:
    """Read a ``top-pypi-packages`` dump (``{"last_update":..., "rows": [...]}``).

    Names are normalised (PEP 503); rows whose names normalise to the same
    project are merged, and the result is sorted by downloads (ties by name).
    ``rows_before_limit_at_least`` (ClickHouse's count of rows before the
    ``LIMIT``, i.e. of projects downloaded in the window) is kept when present.
    """
    rows = doc.get("rows")
    if not isinstance(rows, list) or not rows:
        raise ValueError("'rows' must be a non-empty list")
    merged: dict[NormalizedName, int] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise ValueError(f"rows[{i}] is not an object: {row!r}")
        project, count = row.get("project"), row.get("download_count")
        if not isinstance(project, str) or not project:
            raise ValueError(f"rows[{i}].project is not a name: {project!r}")
        if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
            raise ValueError(f"rows[{i}].download_count is not a positive integer: {count!r}")
        name = canonicalize_name(project)
        merged[name] = merged.get(name, 0) + count
    ordered = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    reported = doc.get("rows_before_limit_at_least")
    reported_projects = reported if isinstance(reported, int) and reported > 0 else None
    return DownloadTable(
        as_of=str(doc.get("last_update", "unknown")),
        names=tuple(name for name, _ in ordered),
        counts=tuple(count for _, count in ordered),
        reported_projects=reported_projects,
    )


def fit_exponent(
    counts: Sequence[int], first_rank: int, last_rank: int, points: int = 200
) -> float:
    """Least-squares Zipf exponent ``a`` of ``log d(r) = c - a log r`` over a rank range.

    Ranks are 1-based and sampled evenly in log(rank) (at most ``points``
    distinct ranks), so that each decade of ranks weighs the same; a plain fit
    over every rank would be dominated by the many ranks at the end.
    """
    if not 1 <= first_rank < last_rank <= len(counts):
        raise ValueError(f"rank range {first_rank}..{last_rank} is not inside 1..{len(counts)}")
    step = (math.log(last_rank) - math.log(first_rank)) / max(points - 1, 1)
    ranks = sorted(
        {round(math.exp(math.log(first_rank) + i * step)) for i in range(points)}
        | {first_rank, last_rank}
    )
    xs = [math.log(r) for r in ranks]
    ys = [math.log(counts[r - 1]) for r in ranks]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return -sxy / sxx


@dataclass(frozen=True)
class TailModel:
    """How the downloads of the unlisted projects are modelled."""

    label: str
    kind: TailKind
    #: Total projects (listed and unlisted) the tail extends to.
    projects: int
    #: Zipf exponent ``a`` for ``kind == "power-law"``.
    exponent: float | None = None
    #: One sentence on where the parameters come from.
    source: str = ""

    def __post_init__(self) -> None:
        if self.kind == "power-law" and (self.exponent is None or self.exponent <= 0):
            raise ValueError(f"a power-law tail needs a positive exponent, not {self.exponent!r}")
        if self.projects < 1:
            raise ValueError(f"projects must be positive, not {self.projects!r}")

    def tail_counts(self, table: DownloadTable) -> list[float]:
        """Modelled downloads of ranks ``listed + 1 .. projects``."""
        n = table.listed
        unlisted = max(self.projects - n, 0)
        last = float(table.counts[-1])
        if self.kind == "none" or unlisted == 0:
            return []
        if self.kind == "flat":
            return [last] * unlisted
        a = self.exponent if self.exponent is not None else 0.0
        return [last * (r / n) ** -a for r in range(n + 1, n + unlisted + 1)]


class ModelledDownloads:
    """The whole distribution: the listed head followed by a modelled tail."""

    def __init__(self, table: DownloadTable, tail: TailModel) -> None:
        self.table = table
        self.tail = tail
        self.counts: list[float] = [float(c) for c in table.counts] + tail.tail_counts(table)
        self.cumulative: list[float] = list(accumulate(self.counts))

    @property
    def projects(self) -> int:
        """Projects in the distribution (at least every listed one)."""
        return len(self.counts)

    @property
    def total(self) -> float:
        """All downloads: listed and modelled."""
        return self.cumulative[-1]

    @property
    def tail_total(self) -> float:
        """Modelled downloads beyond the list."""
        return self.total - self.cumulative[self.table.listed - 1]

    def downloads_of_top(self, k: int) -> float:
        """Downloads of the ``k`` most-downloaded projects (``k`` is clamped to 0..projects)."""
        if k <= 0:
            return 0.0
        return self.cumulative[min(k, self.projects) - 1]

    def share_of_top(self, k: int) -> float:
        """Share of all downloads that goes to the ``k`` most-downloaded projects."""
        return self.downloads_of_top(k) / self.total

    def claims_for_share(self, share: float) -> int:
        """Fewest top projects whose downloads reach ``share`` of all downloads."""
        if not 0.0 < share <= 1.0:
            raise ValueError(f"share must be in (0, 1], not {share!r}")
        target = share * self.total
        lo, hi = 1, self.projects
        while lo < hi:
            mid = (lo + hi) // 2
            if self.cumulative[mid - 1] >= target * (1 - 1e-12):
                hi = mid
            else:
                lo = mid + 1
        return lo
