"""Claim policies ("claim the top N / top X% of projects"), what they protect, what they cost.

A claimed project's files are signed by its developers under ``claimed``
(offline keys), so a compromised index cannot replace them. The protected
share of a policy is the share of all downloads that goes to the projects it
claims, assuming every file of a claimed project is developer-signed.

The administrators' workload counts what ``claimed`` must hold and how often
it must change: one terminating delegation per claimed project, the key
changes of those projects, and the projects that enter the top as others
leave it (measured as the turnover of the top between two download tables).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from endorse.research.downloads import DownloadTable, ModelledDownloads

__all__ = [
    "Policy",
    "Turnover",
    "Workload",
    "WorkloadAssumptions",
    "measure_turnover",
    "policies_for",
    "protected_share",
    "workload",
]


@dataclass(frozen=True)
class Policy:
    """Claim the ``claims`` most-downloaded projects."""

    label: str
    claims: int


def policies_for(
    projects: int,
    top_counts: Iterable[int] = (100, 1_000, 10_000),
    top_percents: Iterable[float] = (0.1, 1.0, 10.0),
) -> list[Policy]:
    """ "Top N" and "top X%" policies over ``projects`` projects, fewest claims first.

    A percentage rounds up to whole projects; policies with equal claim counts
    keep the first label.
    """
    policies = [Policy(f"top {n:,}", n) for n in top_counts]
    policies += [
        Policy(f"top {p:g}% ({math.ceil(projects * p / 100):,})", math.ceil(projects * p / 100))
        for p in top_percents
    ]
    seen: set[int] = set()
    unique = []
    for policy in sorted(policies, key=lambda p: p.claims):
        if policy.claims not in seen and policy.claims > 0:
            seen.add(policy.claims)
            unique.append(policy)
    return unique


def protected_share(downloads: ModelledDownloads, policy: Policy) -> float:
    """Share of all downloads whose files a policy has developer-signed."""
    return downloads.share_of_top(policy.claims)


@dataclass(frozen=True)
class Turnover:
    """How much of a top-``k`` list was already in the top ``k`` of an older table."""

    k: int
    years: float
    #: Projects of the newer top ``k`` also in the older top ``k``.
    stayed: int

    @property
    def retained(self) -> float:
        """Fraction of the newer top ``k`` already there in the older one."""
        return self.stayed / self.k

    @property
    def entry_rate(self) -> float:
        """Fraction of the top ``k`` replaced per year: ``1 - retained ** (1 / years)``."""
        if self.retained <= 0:
            return 1.0
        return 1.0 - float(self.retained ** (1.0 / self.years))


def measure_turnover(older: DownloadTable, newer: DownloadTable, k: int, years: float) -> Turnover:
    """Turnover of the top ``k`` between two tables ``years`` apart (``k`` within both lists)."""
    if not 0 < k <= min(older.listed, newer.listed):
        raise ValueError(f"k={k} must be within both lists (1..{min(older.listed, newer.listed)})")
    if years <= 0:
        raise ValueError(f"years must be positive, not {years!r}")
    stayed = len(newer.top_names(k) & older.top_names(k))
    return Turnover(k=k, years=years, stayed=stayed)


@dataclass(frozen=True)
class WorkloadAssumptions:
    """What the workload figures assume (each is stated next to the figures)."""

    #: Developer keys per claimed project (one Ed25519 key per maintainer).
    keys_per_project: int = 1
    #: Changes (add, revoke or replace) per key per year: new machine, lost key, new maintainer.
    key_changes_per_key_year: float = 0.5
    #: Offline signing events per year (PEP 480: every two weeks to a month).
    signing_events_per_year: int = 26
    #: Fraction of the claimed set replaced per year as projects enter the top.
    entry_rate_per_year: float = 0.0


@dataclass(frozen=True)
class Workload:
    """The administrators' work for one policy in one year."""

    claims: int
    delegations: int
    developer_keys: int
    key_changes_per_year: float
    new_claims_per_year: float
    signing_events_per_year: int

    @property
    def delegation_changes_per_year(self) -> float:
        """Delegations added or re-keyed in ``claimed`` per year."""
        return self.key_changes_per_year + self.new_claims_per_year

    @property
    def changes_per_signing_event(self) -> float:
        """Delegation changes the administrators review and sign at each event."""
        return self.delegation_changes_per_year / self.signing_events_per_year


def workload(policy: Policy, assumptions: WorkloadAssumptions) -> Workload:
    """The workload of a policy under stated assumptions."""
    keys = policy.claims * assumptions.keys_per_project
    return Workload(
        claims=policy.claims,
        delegations=policy.claims,
        developer_keys=keys,
        key_changes_per_year=keys * assumptions.key_changes_per_key_year,
        new_claims_per_year=policy.claims * assumptions.entry_rate_per_year,
        signing_events_per_year=assumptions.signing_events_per_year,
    )
