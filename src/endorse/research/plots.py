"""The report's figures, drawn with matplotlib (Agg backend, PNG files).

matplotlib is an optional dependency (the ``research`` extra); it is imported
only when a figure is drawn. Each ``plot_*`` function writes one PNG and
returns nothing; :func:`draw_all` writes every figure into one folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from endorse.research.evaluation import (
    MODEL_A,
    MODEL_B,
    MODEL_FLAT,
    MODEL_NONE,
    Evaluation,
    YearResult,
)
from endorse.research.metadata_cost import RoleSizes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["FIGURES", "draw_all"]

#: File name of each figure, by the report section that shows it.
FIGURES: dict[str, str] = {
    "downloads": "policy-downloads.png",
    "protected": "policy-protected-share.png",
    "concentration": "policy-concentration.png",
    "workload": "policy-workload.png",
    "size": "policy-metadata-size.png",
    "install": "policy-per-install.png",
}

_COLOURS = {"current": "#1f5fa8", "baseline": "#c0632b"}
_MB = 1_000_000


def _figure(width: float = 8.0, height: float = 5.0) -> tuple[Figure, Axes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    return fig, ax


def _save(fig: Figure, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, format="png", metadata={"Software": None})
    tmp.replace(path)
    plt.close(fig)


def _years(ev: Evaluation) -> list[tuple[YearResult, str]]:
    return [(ev.current, _COLOURS["current"]), (ev.baseline, _COLOURS["baseline"])]


def plot_downloads(ev: Evaluation, path: Path) -> None:
    """Downloads by rank (log-log): the listed head and the modelled tails."""
    fig, ax = _figure()
    for year, colour in _years(ev):
        n = year.inputs.table.listed
        a, b = year.models[MODEL_A], year.models[MODEL_B]
        ranks = range(1, n + 1)
        ax.plot(ranks, year.inputs.table.counts, color=colour, lw=2, label=f"{year.label}: listed")
        tail_ranks = _log_ranks(n + 1, a.projects)
        ax.plot(
            tail_ranks,
            [a.counts[r - 1] for r in tail_ranks],
            color=colour,
            ls="--",
            label=f"{year.label}: tail A (a={year.exponents[MODEL_A]:.2f})",
        )
        ax.plot(
            tail_ranks,
            [b.counts[r - 1] for r in tail_ranks],
            color=colour,
            ls=":",
            label=f"{year.label}: tail B (a={year.exponents[MODEL_B]:.2f})",
        )
        ax.hlines(
            year.inputs.table.counts[-1],
            n,
            a.projects,
            colors=colour,
            lw=0.8,
            alpha=0.5,
            label=f"{year.label}: flat upper bound",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("project rank by downloads")
    ax.set_ylabel("downloads in 30 days")
    ax.set_title("Downloads per project: listed head and modelled tail")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    _save(fig, path)


def _log_ranks(first: int, last: int, points: int = 200) -> list[int]:
    if last <= first:
        return [first]
    ratio = (last / first) ** (1 / (points - 1))
    return sorted({min(round(first * ratio**i), last) for i in range(points)})


def _policy_marks(ev: Evaluation) -> list[tuple[int, str]]:
    """Current policies as (claims, label); policies within a factor 1.5 share one label."""
    marks: list[tuple[int, str]] = []
    for score in ev.current.scores:
        claims, label = score.policy.claims, score.policy.label.split(" (")[0]
        if marks and claims < 1.5 * marks[-1][0]:
            marks[-1] = (claims, f"{marks[-1][1]} / {label}")
        else:
            marks.append((claims, label))
    return marks


def plot_protected(ev: Evaluation, path: Path) -> None:
    """Protected share against claims, with the tail-model spread as a band."""
    fig, ax = _figure()
    for year, colour in _years(ev):
        primary = year.primary
        ks = _log_ranks(1, primary.projects, 300)
        ax.plot(
            ks,
            [100 * primary.share_of_top(k) for k in ks],
            color=colour,
            lw=2,
            label=f"{year.label}: tail A ({primary.projects:,} projects)",
        )
        low, high = year.models[MODEL_B], year.models[MODEL_NONE]
        ax.fill_between(
            ks,
            [100 * low.share_of_top(k) for k in ks],
            [100 * high.share_of_top(k) for k in ks],
            color=colour,
            alpha=0.18,
            label=f"{year.label}: between tail B and listed only",
        )
        flat = year.models[MODEL_FLAT]
        ax.plot(
            ks,
            [100 * flat.share_of_top(k) for k in ks],
            color=colour,
            lw=0.8,
            ls=":",
            label=f"{year.label}: flat-tail lower bound",
        )
    for score in ev.current.scores:
        ax.axvline(score.policy.claims, color="grey", lw=0.5, alpha=0.5)
    for claims, label in _policy_marks(ev):
        ax.text(
            claims,
            2,
            label,
            rotation=90,
            fontsize=7,
            color="grey",
            va="bottom",
            ha="right",
        )
    ax.set_xscale("log")
    ax.set_ylim(0, 100)
    ax.set_xlabel(
        f"claimed projects, the most-downloaded first (grey: {ev.current.label} policies)"
    )
    ax.set_ylabel("downloads developer-signed (%)")
    ax.set_title("Share of downloads protected against an index compromise")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    _save(fig, path)


def plot_concentration(ev: Evaluation, path: Path) -> None:
    """Model-free: cumulative share of the common top-N downloads, both years."""
    fig, ax = _figure()
    n = ev.current.common_listed
    for year, colour in _years(ev):
        counts = year.inputs.table.counts[:n]
        total = sum(counts)
        running = 0
        shares = []
        for c in counts:
            running += c
            shares.append(100 * running / total)
        ax.plot(
            range(1, n + 1),
            shares,
            color=colour,
            lw=2,
            label=f"{year.label} (Gini {year.listed_gini:.2f})",
        )
    ax.set_xscale("log")
    ax.set_ylim(0, 100)
    ax.set_xlabel(f"project rank (within the top {n:,} of each date)")
    ax.set_ylabel(f"share of the top-{n:,} downloads (%)")
    ax.set_title(f"Concentration within the top {n:,}: 2020 vs 2026 (no tail model)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper left")
    _save(fig, path)


def plot_workload(ev: Evaluation, path: Path) -> None:
    """Delegations kept, delegation changes per year and per signing event."""
    fig, ax = _figure()
    claims = [p.claims for p, _ in ev.workloads]
    ax.plot(claims, [w.delegations for _, w in ev.workloads], "o-", label="delegations in claimed")
    ax.plot(
        claims,
        [w.delegation_changes_per_year for _, w in ev.workloads],
        "s-",
        label="delegation changes per year (new claims + key changes)",
    )
    ax.plot(
        claims,
        [w.changes_per_signing_event for _, w in ev.workloads],
        "^-",
        label=f"changes per signing event ({ev.workloads[0][1].signing_events_per_year}/year)",
    )
    ax.plot(
        claims,
        [w.changes_per_signing_event for _, w in ev.workload_monthly],
        "v--",
        label="changes per signing event (12/year)",
    )
    for mark, label in _policy_marks(ev):
        ax.annotate(
            label,
            (mark, mark),
            fontsize=7,
            xytext=(-6, 8),
            textcoords="offset points",
            color="grey",
            rotation=30,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("claimed projects")
    ax.set_ylabel("count")
    ax.set_title("Administrators' workload per claim policy")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_size(ev: Evaluation, path: Path) -> None:
    """Sizes of claimed and snapshot (measured points, fitted lines) against ngclient's limits."""
    fig, ax = _figure()
    cost = ev.cost
    top = max([s.claims for s in cost.measured] + [p.claims for p, _ in ev.workloads])
    xs = _log_ranks(100, top, 100)
    measured = [s.claims for s in cost.measured]
    series: list[tuple[str, Callable[[RoleSizes], float], str]] = [
        ("claimed (flat, endorse today)", lambda s: s.grown.claimed, "#1f5fa8"),
        ("snapshot", lambda s: s.grown.snapshot, "#c0632b"),
    ]
    if cost.sharded:
        series.append(
            (
                "proposal: claimed + one of 256 shards",
                lambda s: (s.grown.sharded_claimed or 0) + (s.grown.sharded_shard_mean or 0),
                "#3a9a4a",
            )
        )
    for label, value, colour in series:
        ax.plot(xs, [value(cost.at(x)) / _MB for x in xs], color=colour, lw=1.2, alpha=0.7)
        ax.plot(
            measured,
            [value(s) / _MB for s in cost.measured],
            "o",
            color=colour,
            label=f"{label} (measured)",
        )
    ax.axhline(
        cost.limits.targets_max_length / _MB,
        color="#1f5fa8",
        ls="--",
        lw=0.9,
        label=f"ngclient targets limit {cost.limits.targets_max_length / _MB:g} MB",
    )
    ax.axhline(
        cost.limits.snapshot_max_length / _MB,
        color="#c0632b",
        ls="--",
        lw=0.9,
        label=f"ngclient snapshot limit {cost.limits.snapshot_max_length / _MB:g} MB",
    )
    for policy, _ in ev.workloads:
        ax.axvline(policy.claims, color="grey", lw=0.5, alpha=0.4)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("claimed projects")
    ax.set_ylabel("signed metadata (MB, compact JSON)")
    ax.set_title(
        f"Signed role sizes by claimed projects ({ev.inputs.layout.bin_count:,} bins,"
        f" {cost.fixed.targets_per_bin} targets per bin)"
    )
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    _save(fig, path)


#: Bars of the per-install figure: (tag under the bar, project claimed?, sharded proposal?).
_INSTALL_BARS = (
    ("claimed", True, False),
    ("unclaimed", False, False),
    ("claimed*", True, True),
    ("unclaimed*", False, True),
)
_INSTALL_PARTS = (
    ("root + timestamp + targets", "#999999"),
    ("snapshot", "#c0632b"),
    ("claimed (* + one shard)", "#1f5fa8"),
    ("project role p-<name>", "#3a9a4a"),
    ("recently-claimed + unclaimed + 3 bins", "#8a5fb0"),
)


def _install_parts(sizes: RoleSizes, claimed: bool, sharded: bool) -> list[float]:
    f, g = sizes.fixed, sizes.grown
    snapshot = g.sharded_snapshot if sharded and g.sharded_snapshot is not None else g.snapshot
    if sharded:
        claimed_bytes = float(g.sharded_claimed or 0) + float(g.sharded_shard_mean or 0)
    else:
        claimed_bytes = float(g.claimed)
    return [
        float(f.root + f.timestamp + f.targets),
        float(snapshot),
        claimed_bytes,
        float(f.project_role) if claimed else 0.0,
        0.0 if claimed else float(f.recently_claimed + f.unclaimed + 3 * f.bin),
    ]


def _refused(sizes: RoleSizes, ev: Evaluation, sharded: bool) -> bool:
    limits, g = ev.cost.limits, sizes.grown
    snapshot = g.sharded_snapshot if sharded and g.sharded_snapshot is not None else g.snapshot
    claimed = (g.sharded_shard_mean or 0.0) if sharded else g.claimed
    return snapshot > limits.snapshot_max_length or claimed > limits.targets_max_length


def plot_install(ev: Evaluation, path: Path) -> None:
    """Per-install metadata bytes of a fresh client, stacked by role."""
    fig, ax = _figure(9.0, 5.2)
    cost = ev.cost
    groups = [s.claims for s in cost.measured]
    bars = [b for b in _INSTALL_BARS if cost.sharded or not b[2]]
    width = 0.8 / len(bars)
    for gi, claims in enumerate(groups):
        sizes = cost.at(claims)
        for bi, (tag, claimed, sharded) in enumerate(bars):
            x = gi + (bi - (len(bars) - 1) / 2) * width
            bottom = 0.0
            for (label, colour), value in zip(
                _INSTALL_PARTS, _install_parts(sizes, claimed, sharded), strict=True
            ):
                ax.bar(
                    x,
                    value / _MB,
                    width,
                    bottom=bottom,
                    color=colour,
                    edgecolor="white",
                    lw=0.4,
                    label=label if gi == 0 and bi == 0 else None,
                )
                bottom += value / _MB
            refused = _refused(sizes, ev, sharded)
            ax.text(
                x,
                bottom,
                f"{bottom:.1f}" + ("\nrefused" if refused else ""),
                ha="center",
                va="bottom",
                fontsize=7,
                color="#b00020" if refused else "black",
            )
            ax.text(
                x,
                -0.02,
                tag,
                ha="center",
                va="top",
                fontsize=6.5,
                rotation=90,
                transform=ax.get_xaxis_transform(),
            )
    ax.set_xticks(range(len(groups)), [f"\n\n\n\n{g:,} claimed projects" for g in groups])
    ax.set_ylabel("metadata downloaded (MB)")
    ax.set_title(
        "Fresh client, one wheel: metadata bytes by role (* = sharded proposal;"
        " refused = over ngclient's default limits)",
        fontsize=10,
    )
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    _save(fig, path)


def draw_all(ev: Evaluation, folder: Path) -> dict[str, Path]:
    """Write every figure into ``folder``; return their paths by section."""
    folder.mkdir(parents=True, exist_ok=True)
    drawers: dict[str, Callable[[Evaluation, Path], None]] = {
        "downloads": plot_downloads,
        "protected": plot_protected,
        "concentration": plot_concentration,
        "workload": plot_workload,
        "size": plot_size,
        "install": plot_install,
    }
    paths = {}
    for key, draw in drawers.items():
        path = folder / FIGURES[key]
        draw(ev, path)
        paths[key] = path
    return paths
