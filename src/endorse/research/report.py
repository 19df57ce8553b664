"""The policy evaluation as Markdown: every table, each figure with its assumptions.

:func:`render_report` is pure: it takes an :class:`Evaluation` and the paths
of the figures relative to the report, and returns the Markdown text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from endorse.research.evaluation import (
    MODEL_A,
    MODEL_B,
    MODEL_FLAT,
    MODEL_NONE,
    TARGET_SHARES,
    Evaluation,
)
from endorse.research.metadata_cost import RoleSizes

__all__ = ["key_figures", "render_report"]

#: Section titles; tests check the report has each of them.
SECTIONS = (
    "## Summary",
    "## 1. Data and the tail beyond the list",
    "## 2. Protected share per policy",
    "## 3. Administrators' workload",
    "## 4. Metadata cost for clients",
    "## 5. 2020 vs 2026: how concentrated downloads have become",
    "## 6. What this means for the claim policy",
    "## Regenerate",
)


def _pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%"


def _mb(n: float) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.2f} MB"
    return f"{n / 1_000:.1f} kB"


def _claims(x: float | None) -> str:
    if x is None:
        return "never (flat)"
    if x <= 0:
        return "already at 0 claims"
    return f"≈ {round(x, -2):,.0f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str = "") -> list[str]:
    aligns = align or "l" + "r" * (len(header) - 1)
    marks = {"l": "---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(marks[a] for a in aligns) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _figure(path: str, alt: str, assumptions: Sequence[str]) -> list[str]:
    lines = [f"![{alt}]({path})", "", "*Assumptions behind this figure:*", ""]
    lines += [f"- {a}" for a in assumptions]
    return [*lines, ""]


def _share_cell(shares: dict[str, float]) -> str:
    return (
        f"**{_pct(shares[MODEL_A])}** ({_pct(shares[MODEL_B])} - {_pct(shares[MODEL_NONE])})"
        f" [≥ {_pct(shares[MODEL_FLAT])}]"
    )


def _limits_note(ev: Evaluation, sizes: RoleSizes) -> str:
    limits = ev.cost.limits
    over = []
    if sizes.grown.claimed > limits.targets_max_length:
        over.append("claimed > targets limit")
    if sizes.grown.snapshot > limits.snapshot_max_length:
        over.append("snapshot > snapshot limit")
    return "over default limits: " + ", ".join(over) if over else "within limits"


def key_figures(ev: Evaluation) -> dict[str, object]:
    """The headline numbers, for the command's table and ``--json``."""
    cur, base = ev.current, ev.baseline
    policies = {
        score.policy.label: {
            "claims": score.policy.claims,
            "protected_share": score.shares,
        }
        for score in cur.scores
    }
    baseline = {
        score.policy.label: {"claims": score.policy.claims, "protected_share": score.shares}
        for score in base.scores
    }
    sizes = {
        str(s.claims): {
            "claimed_bytes": s.grown.claimed,
            "snapshot_bytes": s.grown.snapshot,
            "per_install_claimed_project": s.per_install_claimed,
            "per_install_unclaimed_project": s.per_install_unclaimed,
            "sharded_per_install_claimed_project": (
                s.sharded_per_install_claimed if ev.cost.sharded else None
            ),
            "sharded_per_install_unclaimed_project": (
                s.sharded_per_install_unclaimed if ev.cost.sharded else None
            ),
        }
        for s in ev.cost.measured
    }
    return {
        "current": {
            "as_of": cur.inputs.table.as_of,
            "projects": cur.inputs.projects,
            "policies": policies,
        },
        "baseline": {
            "as_of": base.inputs.table.as_of,
            "projects": base.inputs.projects,
            "policies": baseline,
        },
        "metadata": sizes,
        "claimed_passes_targets_limit_at": ev.cost.claimed_limit_claims,
        "snapshot_passes_snapshot_limit_at": ev.cost.snapshot_limit_claims,
    }


def _summary(ev: Evaluation) -> list[str]:
    cur, base = ev.current, ev.baseline
    by_claims = {s.policy.claims: s for s in cur.scores}
    base_claims = {s.policy.claims: s for s in base.scores}
    lines = ["## Summary", ""]
    for k in (100, 1_000, 10_000):
        if k in by_claims and k in base_claims:
            lines.append(
                f"- Claiming the **top {k:,}** projects protects"
                f" {_pct(by_claims[k].shares[MODEL_A])}"
                f" of all downloads in {cur.label} (tail model A;"
                f" {_pct(by_claims[k].shares[MODEL_B])}"
                f" under the heavier tail B), against {_pct(base_claims[k].shares[MODEL_A])} in"
                f" {base.label}."
            )
    c90, b90 = cur.claims_for[0.9][MODEL_A], base.claims_for[0.9][MODEL_A]
    c95, b95 = cur.claims_for[0.95][MODEL_A], base.claims_for[0.95][MODEL_A]
    lines.append(
        f"- To protect 90% of downloads takes {c90:,} claims in {cur.label} ({b90:,} in"
        f" {base.label});"
        f" 95% takes {c95:,} ({b95:,})."
    )
    cost = ev.cost
    lines.append(
        f"- Each claimed project adds {cost.claimed_per_project:,.0f} bytes to `claimed` and"
        f" {cost.snapshot_per_project:,.0f} bytes to `snapshot` (real signed metadata). A flat"
        f" `claimed` passes an unmodified ngclient's {_mb(cost.limits.targets_max_length)} targets"
        f" limit at {_claims(cost.claimed_limit_claims)} claims, and `snapshot` (with"
        f" {ev.inputs.layout.bin_count:,} bins) passes the {_mb(cost.limits.snapshot_max_length)}"
        f" snapshot limit at {_claims(cost.snapshot_limit_claims)} claims."
    )
    first = cost.measured[0]
    lines.append(
        f"- Because every lookup tries `claimed` first, *every* install pays for it: with"
        f" {first.claims:,} claims a fresh client downloads {_mb(first.per_install_claimed)} of"
        f" metadata for a claimed project and {_mb(first.per_install_unclaimed)} for an unclaimed"
        " one;"
        f" with {cost.measured[-1].claims:,} claims, {_mb(cost.measured[-1].per_install_claimed)}"
        f" and {_mb(cost.measured[-1].per_install_unclaimed)}"
        + (
            " (past ngclient's default length limits, which endorse's published metadata"
            " does not hit: it states the length of `claimed` and of snapshot, so the limits"
            " do not apply; the cost is bandwidth)."
            if _limits_note(ev, cost.measured[-1]) != "within limits"
            else "."
        )
    )
    t100 = next((t for t in ev.turnovers if t.k == 100), ev.turnovers[0])
    lines.append(
        f"- The top moves: of the {cur.label} top {t100.k:,}, {t100.stayed} were in the"
        f" {base.label} top {t100.k:,} ({_pct(t100.entry_rate)} of the set replaced per year)."
    )
    work = ev.workloads[0][1]
    key_share = work.key_changes_per_year / work.delegation_changes_per_year
    lines.append(
        f"- At the assumed {ev.inputs.workload.key_changes_per_key_year:g} key changes per key"
        f" and year, {'key changes' if key_share > 0.5 else 'new claims'} dominate the"
        f" administrators' work ({_pct(key_share, 0)} of all changes to `claimed` are key"
        " changes); at"
        f" {ev.inputs.workload.signing_events_per_year} signing events a year, each event of the"
        f" top-1,000 policy reviews about {_workload_at(ev, 1_000):,.0f} delegation changes."
    )
    return [*lines, ""]


def _workload_at(ev: Evaluation, claims: int) -> float:
    """Changes per signing event of the policy nearest to ``claims``."""
    _, work = min(ev.workloads, key=lambda pw: abs(pw[0].claims - claims))
    return work.changes_per_signing_event


def _data_section(ev: Evaluation, figure: str) -> list[str]:
    lines = [
        "## 1. Data and the tail beyond the list",
        "",
        "The inputs are the public monthly dumps of `hugovk/top-pypi-packages` (downloads in the"
        " 30 days before the date, from PyPI's public download logs). They list only the head of"
        " the distribution, so every share *of all downloads* below depends on a model of the"
        " unlisted projects. The tail is modelled explicitly, from the last listed rank *n* with"
        " count *d(n)* to *N* projects:",
        "",
        "- **A (primary):** Zipf continuation `d(r) = d(n)·(r/n)^-a`, with *a* fitted (least"
        " squares in log-log, ranks sampled evenly in log rank) on the list's last decade of ranks"
        " (n/10 … n);",
        "- **B (heavier tail):** the same continuation with *a* fitted on the whole list (1 … n);",
        "- **bounds:** *listed only* (no tail, an upper bound on every protected share) and *flat*"
        " (every unlisted project at *d(n)*: the most the tail can hold, since the list is sorted;"
        " a hard lower bound on every protected share).",
        "",
    ]
    rows = []
    for year in (ev.current, ev.baseline):
        t = year.inputs.table
        rows.append(
            [
                year.label,
                f"{t.listed:,}",
                f"{t.total:,}",
                f"{t.counts[-1]:,}",
                f"{year.inputs.projects:,} ({year.inputs.projects_source})",
                f"{year.exponents[MODEL_A]:.2f}",
                f"{year.exponents[MODEL_B]:.2f}",
                " / ".join(
                    _pct(year.models[m].tail_total / year.models[m].total)
                    for m in (MODEL_A, MODEL_B, MODEL_FLAT)
                ),
            ]
        )
    lines += _table(
        [
            "date",
            "listed projects",
            "listed downloads",
            "last listed count d(n)",
            "projects N (source)",
            "a (A)",
            "a (B)",
            "tail share of all downloads: A / B / flat",
        ],
        rows,
    )
    bt = ev.backtest
    if bt is not None:
        lines += [
            f"**Back-test.** Fitted on the first {bt.fitted_on:,} rows of the {ev.current.label}"
            " list"
            " only, the models predict the downloads of ranks"
            f" {bt.fitted_on + 1:,}-{bt.predicted_to:,},"
            f" which the list does show ({bt.actual:,.0f}): A predicts {bt.ratio(MODEL_A):.2f}x,"
            f" B {bt.ratio(MODEL_B):.2f}x and the flat bound {bt.ratio(MODEL_FLAT):.2f}x the actual"
            " downloads. The log-log curve keeps bending down past the list, so both Zipf"
            " continuations *over*-estimate the tail: the protected shares below are, if anything,"
            " conservative.",
            "",
        ]
    lines += _figure(
        figure,
        "Downloads per project by rank, both dates, with the modelled tails",
        [
            f"{ev.current.label}: N = {ev.current.inputs.projects:,} projects"
            f" ({ev.current.inputs.projects_source}); {ev.baseline.label}: N ="
            f" {ev.baseline.inputs.projects:,} ({ev.baseline.inputs.projects_source}).",
            "Downloads are counted per file download (CI and mirrors included), not per user;"
            " one install of a project with dependencies is several downloads.",
            "The two dumps come from different pipelines (2020: BigQuery via pypinfo; 2026:"
            " ClickHouse), so absolute counts are not comparable across dates; shares are.",
        ],
    )
    return lines


def _policy_section(ev: Evaluation, figure: str) -> list[str]:
    cur, base = ev.current, ev.baseline
    base_by_label = {s.policy.label.split(" (")[0]: s for s in base.scores}
    rows = []
    for score in cur.scores:
        short = score.policy.label.split(" (")[0]
        other = base_by_label.get(short)
        rows.append(
            [
                score.policy.label,
                _share_cell(score.shares),
                f"{other.policy.claims:,}: " + _share_cell(other.shares) if other else "-",
            ]
        )
    lines = [
        "## 2. Protected share per policy",
        "",
        "The protected share of a policy is the share of all downloads whose files are"
        " developer-signed under `claimed`, so that a compromised index (its online keys, its"
        " database, its storage) cannot replace them. Cells: **model A** (model B - listed only)"
        ' [flat-tail lower bound]. A "top X%" policy is a share of each date\'s N.',
        "",
    ]
    lines += _table(
        ["policy (claims in " + cur.label + ")", cur.label, base.label + " (claims: share)"], rows
    )
    alt = ev.inputs.alt_projects
    lines += [
        f"**Sensitivity to N.** With N = {alt:,} projects instead of {cur.inputs.projects:,} for"
        f" {cur.label} (same claim counts), model A gives "
        + ", ".join(
            f"{s.policy.label.split(' (')[0]}: {_pct(s.shares[MODEL_A])}"
            for s in ev.alt_projects_scores
        )
        + ". The answer hardly depends on N, because the tail holds so little.",
        "",
        "Claims needed for a target share of all downloads (model A, with B and the listed-only"
        " bound in brackets):",
        "",
    ]
    rows = []
    for share in TARGET_SHARES:
        cells = [_pct(share, 0)]
        for year in (cur, base):
            c = year.claims_for[share]
            cells.append(f"**{c[MODEL_A]:,}** ({c[MODEL_B]:,} / {c[MODEL_NONE]:,})")
        rows.append(cells)
    lines += _table(["protected share", cur.label, base.label], rows)
    lines += _figure(
        figure,
        "Protected share of downloads against claimed projects, 2020 and 2026",
        [
            "Projects are claimed in order of downloads, and every file of a claimed project"
            " (old releases re-signed at claim time) is developer-signed.",
            "Only `claimed` protects against an index compromise: `recently-claimed` is delegated"
            " with an online key, so a project claimed since the last offline signing event is"
            " protected only once that event moves it to `claimed`.",
            "A share of downloads is not a share of users or installs: an install is safe from a"
            " compromised index only if every project in its dependency closure is claimed."
            " (Diplomat counted users, one per IP; these dumps do not allow that.)",
            "Band: between tail model B and no tail; dotted: the flat-tail lower bound.",
        ],
    )
    return lines


def _workload_section(ev: Evaluation, figure: str) -> list[str]:
    w0 = ev.inputs.workload
    rows = []
    for (policy, w), (_, wm) in zip(ev.workloads, ev.workload_monthly, strict=True):
        rows.append(
            [
                policy.label,
                f"{w.delegations:,}",
                f"{w.developer_keys:,}",
                f"{w.key_changes_per_year:,.0f}",
                f"{w.new_claims_per_year:,.0f}",
                f"{w.changes_per_signing_event:,.1f}",
                f"{wm.changes_per_signing_event:,.1f}",
            ]
        )
    lines = [
        "## 3. Administrators' workload",
        "",
        "Every claimed project is one terminating delegation in `claimed` (role `p-<name>`, its"
        " developer keys, path pattern `<prefix>/<name>/*`; a signed maintainer map only when a"
        " maintainer has several machine keys), created"
        " once and then kept, and changed whenever the project's keys change. `claimed` is"
        " signed offline, so each change waits for a signing event.",
        "",
    ]
    lines += _table(
        [
            "policy",
            "delegations kept",
            "developer keys",
            "key changes / year",
            "new claims / year",
            f"changes / event ({w0.signing_events_per_year}/yr)",
            "changes / event (12/yr)",
        ],
        rows,
    )
    lines += [
        "Turnover of the top, measured between the two dates (names PEP 503-normalised), which"
        " sets the *new claims per year* of each policy (the nearest measured size is used):",
        "",
    ]
    lines += _table(
        [
            "top k",
            f"in both the {ev.baseline.label} and {ev.current.label} top k",
            "years",
            "replaced per year",
        ],
        [
            [f"{t.k:,}", f"{t.stayed:,} ({_pct(t.retained)})", f"{t.years:.2f}", _pct(t.entry_rate)]
            for t in ev.turnovers
        ],
    )
    lines += _figure(
        figure,
        "Delegations and changes per signing event by claim policy",
        [
            f"{w0.keys_per_project} Ed25519 key per maintainer, one maintainer per project"
            " (threshold 1) as the base case; a second key doubles the key changes.",
            f"{w0.key_changes_per_key_year:g} key changes (add, revoke or replace) per key per"
            " year:"
            " new machines, lost keys, maintainers joining and leaving. Not measured; an"
            " assumption.",
            "New claims per year = claims x the measured yearly replacement rate of the top"
            " (compounded: 1 - retained^(1/years)). Claims are not withdrawn when a project leaves"
            " the top, so `claimed` also grows by that many delegations a year.",
            f"Signing events: {w0.signing_events_per_year} a year (every two weeks) or 12"
            " (monthly),"
            " the range PEP 480 suggests; each event also re-signs `claimed` as a whole.",
        ],
    )
    return lines


def _cost_section(ev: Evaluation, size_fig: str, install_fig: str) -> list[str]:
    cost = ev.cost
    layout = ev.inputs.layout
    f = cost.fixed
    claim_counts = sorted({s.claims for s in cost.measured} | {p.claims for p, _ in ev.workloads})
    rows = []
    for claims in claim_counts:
        sizes = cost.at(claims)
        measured = "measured" if cost.is_measured(claims) else "from the curve"
        row = [
            f"{claims:,} ({measured})",
            _mb(sizes.grown.claimed),
            _mb(sizes.grown.snapshot),
            _mb(sizes.per_install_claimed),
            _mb(sizes.per_install_unclaimed),
            _mb(sizes.per_refresh),
            _limits_note(ev, sizes),
        ]
        if cost.sharded:
            row += [
                _mb(sizes.sharded_per_install_claimed),
                _mb(sizes.sharded_per_install_unclaimed),
            ]
        rows.append(row)
    header = [
        "claims",
        "`claimed`",
        "`snapshot`",
        "install, claimed project",
        "install, unclaimed project",
        "each refresh",
        "unmodified ngclient",
    ]
    if cost.sharded:
        header += ["sharded*: claimed project", "sharded*: unclaimed project"]
    lines = [
        "## 4. Metadata cost for clients",
        "",
        "Sizes are measured on real metadata: each role is built with python-tuf 7's Metadata API"
        " and endorse's own layout (`endorse.metadata.layout.new_root`, `new_targets`,"
        " `new_unclaimed` with TAP 15 succinct bins; role names from `endorse.metadata.roles`;"
        " target"
        " paths from `endorse.metadata.paths`), signed with Ed25519 keys and serialized as the"
        " publisher does (`JSONSerializer(compact=True)`). Only `claimed` and `snapshot` grow with"
        " the claims; they were built and signed at"
        f" {', '.join(f'{s.claims:,}' for s in cost.measured)}"
        " claimed projects; other claim counts are read off straight segments between those builds"
        f" (a single least-squares line fits all builds within {_pct(cost.max_line_error())}).",
        "",
        "Roles that do not grow with the claims:",
        "",
    ]
    lines += _table(
        ["role", "bytes", "what it holds"],
        [
            [
                "root",
                f"{f.root:,}",
                f"{layout.root_keys[0]} root keys (threshold {layout.root_keys[1]}),"
                f" {layout.offline_keys[0]}-key targets, 1-key snapshot and timestamp",
            ],
            ["timestamp", f"{f.timestamp:,}", "snapshot version"],
            ["targets", f"{f.targets:,}", "3 delegations: claimed, recently-claimed, unclaimed"],
            ["recently-claimed", f"{f.recently_claimed:,}", "empty (right after a signing event)"],
            ["unclaimed", f"{f.unclaimed:,}", f"succinct delegation to {layout.bin_count:,} bins"],
            [
                "one bin",
                f"{f.bin:,}",
                f"{f.targets_per_bin} targets (index-signed files, .metadata, listings)",
            ],
            [
                "project role `p-<name>`",
                f"{f.project_role:,}",
                f"{f.project_files} files of one project",
            ],
        ],
        "lrl",
    )
    lines += [
        "Per-install bytes are what a *fresh* client downloads to install one wheel (three"
        " lookups: the PEP 691 listing, the PEP 658 `.metadata` file and the wheel). Claimed"
        " project: root, timestamp, snapshot, targets, `claimed`, `p-<name>`. Unclaimed project:"
        " root, timestamp, snapshot, targets, `claimed` (tried first for every path),"
        " `recently-claimed`, `unclaimed` and 3 bins. *Each refresh*: a warm client after any"
        " publish downloads the new timestamp and the whole new snapshot.",
        "",
    ]
    lines += _table(header, rows)
    two = cost.two_keys
    lines += [
        f"- A flat `claimed` passes ngclient's {_mb(cost.limits.targets_max_length)}"
        f" `targets_max_length` at {_claims(cost.claimed_limit_claims)} claims, and `snapshot`"
        f" passes the {_mb(cost.limits.snapshot_max_length)} `snapshot_max_length` at"
        f" {_claims(cost.snapshot_limit_claims)} claims. Those limits apply only to metadata"
        " whose length the parent does not state; endorse's timestamp states the snapshot's"
        " length and the snapshot states `claimed`'s, so an unmodified client still loads"
        " them (measured: `benchmarks/bench_pep480.py`). The cost is bandwidth on every"
        " install, which is why `claimed` must be sharded and the snapshot replaced by"
        " TAP 16 proofs long before PyPI's scale.",
        f"- Each claimed project costs {cost.claimed_per_project:,.0f} bytes in `claimed` (its"
        " key and its delegation) and"
        f" {cost.snapshot_per_project:,.0f} bytes in `snapshot`. endorse's signed maintainer"
        " map (`x-endorse-maintainers`) is written only when a maintainer has more than one"
        f" machine key; in this base case it adds {cost.maintainer_map_per_project:,.0f}"
        " bytes. A second developer key (and maintainer) per"
        f" project adds {cost.second_key_per_project:,.0f} bytes (measured at"
        f" {two.claims:,} claims: {_mb(two.claimed)} instead of"
        f" {_mb(next(s.grown.claimed for s in cost.measured if s.claims == two.claims))})."
        " Keys shared by projects with a common maintainer would be listed once; the base case"
        " counts one distinct key per project (an upper bound).",
        "- A project role's own size depends on its files: "
        + ", ".join(f"{n:,} files: {_mb(b)}" for n, b in cost.project_role_sizes.items())
        + ". Claiming moves a project's files out of the bins, so *its* installs get cheaper"
        f" ({_mb(f.project_role)} instead of {_mb(3 * f.bin)} of bins); everyone else pays for"
        " `claimed`.",
    ]
    if cost.sharded:
        lines.append(
            "- *Sharded (a proposal, not endorse's layout today): `claimed` delegates,"
            " non-terminating, by the first two hex digits of the project's path prefix"
            " (`3f*/*/*`), to 256 roles `claimed-3f`, which hold the per-project delegations. The"
            " target paths already carry the prefix, so no target is renamed. A client then"
            f" downloads `claimed` ({_mb(cost.measured[-1].grown.sharded_claimed or 0)}) and one"
            f" shard (mean {_mb(cost.measured[-1].grown.sharded_shard_mean or 0)}, largest"
            f" {_mb(cost.measured[-1].grown.sharded_shard_max or 0)} at"
            f" {cost.measured[-1].claims:,} claims). The lookup is 4 roles deep, well inside"
            f" ngclient's {cost.limits.max_delegations} visited roles. Sharding does not shrink"
            " `snapshot`, which still lists every role: that is what TAP 16 (snapshot Merkle"
            " trees) is for."
        )
    lines.append("")
    lines += _figure(
        size_fig,
        "Sizes of claimed and snapshot against ngclient's default limits",
        [
            f"{layout.bin_count:,} hashed bins; {layout.total_files:,} files on the index"
            f" (DESIGN: 6-7 million), {_pct(layout.wheel_share, 0)} of them wheels (each with a"
            f" `.metadata` target), 2 listings per project, {layout.total_projects:,} projects:"
            f" {f.targets_per_bin} targets per bin (all projects unclaimed: an upper bound).",
            "One distinct Ed25519 developer key per claimed project, threshold 1, built with the"
            " publisher's `project_delegation` (one key per maintainer, so without a maintainer"
            " map); claimed names are the real top names"
            " (beyond the list: listed names with a suffix).",
            f"Versions written into snapshot: bins {layout.bin_version:,}, project roles"
            f" {layout.project_role_version}, offline roles {layout.offline_role_version}"
            " (their digits count in the bytes). No compression (HTTP compression would shrink"
            " transfers, not the limits, which apply to the decoded bytes).",
        ],
    )
    lines += _figure(
        install_fig,
        "Per-install metadata bytes by role, claimed vs unclaimed project",
        [
            "A fresh client (nothing cached) installs one wheel: the listing, the `.metadata` file"
            " and the wheel are three lookups; for an unclaimed project they fall in three bins.",
            f"The claimed project has {f.project_files} files (wheels, sdists and their"
            " `.metadata` files plus two listings in its role).",
            "Dependencies add their own project role or bins; the top-level roles, `claimed` and"
            " `snapshot` are fetched once per refresh.",
        ],
    )
    return lines


def _concentration_section(ev: Evaluation, figure: str) -> list[str]:
    cur, base = ev.current, ev.baseline
    n = cur.common_listed

    rows: list[list[str]] = []
    for k in sorted(cur.listed_top_share):
        rows.append(
            [
                f"share of the top-{n:,} downloads in the top {k:,} (no model)",
                _pct(base.listed_top_share[k]),
                _pct(cur.listed_top_share[k]),
            ]
        )
    rows.append(
        [f"Gini of the top {n:,} (no model)", f"{base.listed_gini:.3f}", f"{cur.listed_gini:.3f}"]
    )
    rows.append(
        [
            "Zipf slope, last decade of the list (A)",
            f"{base.exponents[MODEL_A]:.2f}",
            f"{cur.exponents[MODEL_A]:.2f}",
        ]
    )
    rows.append(
        [
            "Zipf slope, whole list (B)",
            f"{base.exponents[MODEL_B]:.2f}",
            f"{cur.exponents[MODEL_B]:.2f}",
        ]
    )
    for k in (100, 1_000):
        rows.append(
            [
                f"share of all downloads in the top {k:,} (A)",
                _pct(base.primary.share_of_top(k)),
                _pct(cur.primary.share_of_top(k)),
            ]
        )
    rows.append(
        [
            "share of all downloads in the top 1% of projects (A)",
            f"{_pct(base.primary.share_of_top(-(-base.inputs.projects // 100)))}"
            f" ({-(-base.inputs.projects // 100):,})",
            f"{_pct(cur.primary.share_of_top(-(-cur.inputs.projects // 100)))}"
            f" ({-(-cur.inputs.projects // 100):,})",
        ]
    )
    rows.append(
        [
            "effective number of projects, 1/HHI (A)",
            f"{base.effective_projects:,.0f}",
            f"{cur.effective_projects:,.0f}",
        ]
    )
    for share in (0.9, 0.95):
        rows.append(
            [
                f"claims for {_pct(share, 0)} of all downloads (A)",
                f"{base.claims_for[share][MODEL_A]:,}",
                f"{cur.claims_for[share][MODEL_A]:,}",
            ]
        )
    head_more = cur.listed_top_share.get(100, 0) > base.listed_top_share.get(100, 0)
    tail_steeper = cur.exponents[MODEL_A] > base.exponents[MODEL_A]
    lines = [
        "## 5. 2020 vs 2026: how concentrated downloads have become",
        "",
        f"The model-free rows compare the top {n:,} of each date (the length of the shorter list);"
        " the others use tail model A.",
        "",
    ]
    lines += _table(["measure", base.label, cur.label], rows)
    lines += [
        (
            f"- The very top is {'more' if head_more else 'less'} dominant than in {base.label}:"
            f" the top 100 hold {_pct(cur.listed_top_share.get(100, 0))} of the top-{n:,}"
            f" downloads, against {_pct(base.listed_top_share.get(100, 0))} (Gini"
            f" {cur.listed_gini:.3f} vs {base.listed_gini:.3f})."
            + (
                " Newcomers absent from the whole "
                + base.label
                + " list now rank high: "
                + ", ".join(f"`{name}` (#{rank:,})" for rank, name in ev.newcomers[:8])
                + "."
                if ev.newcomers
                else ""
            )
        ),
        f"- Past the head the curve is {'steeper' if tail_steeper else 'flatter'}"
        f" (slope {cur.exponents[MODEL_A]:.2f} vs {base.exponents[MODEL_A]:.2f} at the end of the"
        " lists), so the long tail of hundreds of thousands of projects holds"
        f" {'less' if tail_steeper else 'more'} of the downloads:"
        f" {_pct(cur.primary.tail_total / cur.primary.total)} beyond the top"
        f" {cur.inputs.table.listed:,} in"
        f" {cur.label} against {_pct(base.primary.tail_total / base.primary.total)} beyond the"
        f" top {base.inputs.table.listed:,} in {base.label} (model A).",
        f"- For the policy: a fixed small claim list buys less than it did (top 100:"
        f" {_pct(cur.primary.share_of_top(100))} vs {_pct(base.primary.share_of_top(100))}), while"
        f" a few thousand claims now cover nearly everything: 95% needs"
        f" {cur.claims_for[0.95][MODEL_A]:,} claims (vs {base.claims_for[0.95][MODEL_A]:,}), 99%"
        f" needs {cur.claims_for[0.99][MODEL_A]:,} (vs {base.claims_for[0.99][MODEL_A]:,}). The"
        ' useful policy moved from "top 100" to "top few thousand".',
        "",
    ]
    lines += _figure(
        figure,
        "Cumulative share of downloads within each date's top list, 2020 vs 2026",
        [
            f"Both curves use only the first {n:,} listed projects of each date, so no tail model"
            " is"
            " involved; the shares are of those projects' downloads.",
            "Names are PEP 503-normalised; the 2020 and 2026 counts come from different pipelines,"
            " so only shares are compared.",
        ],
    )
    return lines


def _meaning_section(ev: Evaluation) -> list[str]:
    cur = ev.current
    cost = ev.cost
    limit_claims = cost.claimed_limit_claims or float("inf")
    fits = [s for s in cur.scores if s.policy.claims < limit_claims]
    best = max(fits, key=lambda s: s.policy.claims) if fits else None
    k1000 = next((s for s in cur.scores if s.policy.claims == 1_000), None)
    work = ev.workloads[0][1]
    key_share = work.key_changes_per_year / work.delegation_changes_per_year
    lines = ["## 6. What this means for the claim policy", ""]
    if k1000 is not None:
        at = cost.at(1_000)
        w = next(w for p, w in ev.workloads if p.claims == 1_000)
        lines.append(
            f"1. **Claim the top 1,000 first.** It protects {_pct(k1000.shares[MODEL_A])} of"
            f" downloads (≥ {_pct(k1000.shares[MODEL_FLAT])} even if the whole tail were as large"
            f" as it could be), keeps `claimed` at {_mb(at.grown.claimed)} and `snapshot` at"
            f" {_mb(at.grown.snapshot)}, and costs about {w.changes_per_signing_event:,.0f}"
            f" delegation changes per signing event ({w.signing_events_per_year} a year)."
        )
    if best is not None:
        at_best = cost.at(best.policy.claims)
        lines.append(
            f"2. **The largest policy a flat `claimed` can carry is {best.policy.label}**"
            f" ({_pct(best.shares[MODEL_A])} protected), at {_mb(at_best.per_install_unclaimed)}"
            " of metadata for a fresh install of any unclaimed project; a flat `claimed` stops"
            " working for"
            f" unmodified clients at {_claims(cost.claimed_limit_claims)} claims. Going further"
            " needs `claimed` sharded by the path prefix (measured above as a proposal), and past"
            f" {_claims(cost.snapshot_limit_claims)} claims the snapshot itself needs TAP 16 or a"
            " client with a larger `snapshot_max_length`."
        )
    lines += [
        "3. **Beyond a few thousand claims, claiming buys little and costs much.** The last"
        " percent of downloads is spread over hundreds of thousands of projects; each claim adds"
        f" {cost.claimed_per_project:,.0f} bytes to every install's `claimed` and its key changes"
        " to the offline ceremonies.",
        (
            "4. **Key changes dominate the administrators' work**, not new claims"
            if key_share > 0.5
            else "4. **New claims dominate the administrators' work**, then key changes"
        )
        + f" ({_pct(key_share, 0)} of the changes to `claimed` at the assumed rate). A design"
        " where a project's own keys can add and revoke its machine keys without an offline"
        " event (DESIGN rule 7: a new machine's key is added by a signature of an existing one)"
        " takes key changes out of the ceremonies; an offline event is then needed only for new"
        " claims and for lost-all-keys recovery.",
        "5. **Keep the list moving.** The top changes by about"
        f" {_pct(ev.entry_rate_for(1_000))} a year at the top 1,000, so a claim campaign has to be"
        " repeated, and claims made stay (`claimed` only grows).",
        "",
    ]
    return lines


def render_report(ev: Evaluation, figures: dict[str, str], command: str) -> str:
    """The whole report; ``figures`` maps each section key to the PNG path relative to the"
    " report."""
    cur, base = ev.current, ev.baseline
    lines = [
        "# Which projects should claim first: the policy evaluation",
        "",
        "> Generated by `endorse evaluate` from the PyPI download dumps of"
        f" {cur.inputs.table.as_of}"
        f" ({cur.inputs.table.listed:,} projects) and {base.inputs.table.as_of}"
        f" ({base.inputs.table.listed:,} projects). Do not edit by hand: rerun the command"
        " (see *Regenerate*). The method follows Diplomat (NSDI '16): claim the most-downloaded"
        " projects first and ask what share of downloads a compromised index can no longer"
        " touch, what the administrators must do, and what clients must download.",
        "",
    ]
    lines += _summary(ev)
    lines += _data_section(ev, figures["downloads"])
    lines += _policy_section(ev, figures["protected"])
    lines += _workload_section(ev, figures["workload"])
    lines += _cost_section(ev, figures["size"], figures["install"])
    lines += _concentration_section(ev, figures["concentration"])
    lines += _meaning_section(ev)
    lines += [
        "## Regenerate",
        "",
        "```",
        command,
        "```",
        "",
        "The command reads the two JSON dumps (see `shared/data/README.md`), builds and signs the"
        " metadata in memory, and rewrites this file and the figures in `docs/img/`. Sizes do not"
        " depend on the day it runs (fixed expiry dates); signatures differ, their lengths do not.",
        "",
    ]
    return "\n".join(lines)
