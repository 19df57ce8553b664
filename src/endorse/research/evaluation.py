"""The policy evaluation: every figure of the report, computed from two download tables.

:func:`evaluate` is the one entry point. It models each table's tail, scores
the claim policies, measures turnover between the two dates, and builds and
measures real signed metadata at the requested claim counts. It returns one
:class:`Evaluation`, which :mod:`endorse.research.report` renders and
:mod:`endorse.research.plots` draws. No IO here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from endorse.research.concentration import effective_projects, gini, top_share
from endorse.research.downloads import (
    DownloadTable,
    ModelledDownloads,
    TailModel,
    fit_exponent,
)
from endorse.research.metadata_cost import (
    ClaimedSizes,
    ClientLimits,
    FixedSizes,
    LayoutAssumptions,
    Line,
    MetadataCostBuilder,
    Piecewise,
    RoleSizes,
    fit_line,
)
from endorse.research.policy import (
    Policy,
    Turnover,
    Workload,
    WorkloadAssumptions,
    measure_turnover,
    policies_for,
    protected_share,
    workload,
)

__all__ = [
    "BackTest",
    "Evaluation",
    "EvaluationInputs",
    "MetadataCost",
    "PolicyScore",
    "YearInputs",
    "YearResult",
    "evaluate",
    "newcomers",
    "years_between",
]

logger = logging.getLogger(__name__)

#: Tail model labels (also the keys of ``YearResult.models``).
MODEL_A = "A"
MODEL_B = "B"
MODEL_NONE = "listed only"
MODEL_FLAT = "flat bound"
#: Shares of all downloads for which the report gives the claims needed.
TARGET_SHARES = (0.5, 0.8, 0.9, 0.95, 0.99)
#: Files per project role for which the report gives the role's size.
PROJECT_FILE_COUNTS = (10, 100, 1_000)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class YearInputs:
    """One download table and the number of projects its tail extends to."""

    label: str
    table: DownloadTable
    projects: int
    #: Where ``projects`` comes from, stated in the report.
    projects_source: str


@dataclass(frozen=True)
class EvaluationInputs:
    """Everything the evaluation depends on."""

    current: YearInputs
    baseline: YearInputs
    #: Claimed-project counts at which metadata is built and measured for real.
    claim_counts: tuple[int, ...] = (1_000, 10_000, 60_000)
    #: A second project count for the current year (sensitivity of the tail to N).
    alt_projects: int = 600_000
    workload: WorkloadAssumptions = field(default_factory=WorkloadAssumptions)
    layout: LayoutAssumptions = field(default_factory=LayoutAssumptions)
    #: Sharded ``claimed`` (a proposal) is measured too when true.
    sharded: bool = True


@dataclass(frozen=True)
class BackTest:
    """A tail fit on the head of the current list, checked against the rest of the list."""

    fitted_on: int
    predicted_to: int
    actual: float
    predicted: dict[str, float]

    def ratio(self, model: str) -> float:
        """Predicted over actual downloads of the held-out ranks."""
        return self.predicted[model] / self.actual


@dataclass(frozen=True)
class PolicyScore:
    """Protected share of one policy under each tail model."""

    policy: Policy
    shares: dict[str, float]


@dataclass(frozen=True)
class YearResult:
    """The modelled distribution and concentration figures of one table."""

    inputs: YearInputs
    exponents: dict[str, float]
    models: dict[str, ModelledDownloads]
    scores: list[PolicyScore]
    #: Claims needed per target share, per model.
    claims_for: dict[float, dict[str, int]]
    #: Model-free: computed on the first ``common_listed`` rows only.
    common_listed: int
    listed_top_share: dict[int, float]
    listed_gini: float
    #: 1 / HHI of the whole distribution under model A.
    effective_projects: float

    @property
    def label(self) -> str:
        """The table's date label."""
        return self.inputs.label

    @property
    def primary(self) -> ModelledDownloads:
        """The distribution under the primary tail model (A)."""
        return self.models[MODEL_A]


@dataclass(frozen=True)
class MetadataCost:
    """Real role sizes at the measured claim counts, and curves through them.

    Sizes at a claim count that was not built are read off straight segments
    between the measured points (the end segments extended); the least-squares
    lines give the bytes each claimed project adds.
    """

    limits: ClientLimits
    fixed: FixedSizes
    measured: list[RoleSizes]
    project_role_sizes: dict[int, int]
    #: ``claimed`` at the smallest measured count with two keys per project.
    two_keys: ClaimedSizes
    #: Bytes of ``claimed`` at the smallest measured count without the maintainer map.
    without_maintainer_map: int

    def _curve(self, value: Callable[[RoleSizes], float | None]) -> Piecewise:
        return Piecewise(tuple((float(s.claims), float(value(s) or 0.0)) for s in self.measured))

    def _line(self, value: Callable[[RoleSizes], float | None]) -> Line:
        return fit_line([(float(s.claims), float(value(s) or 0.0)) for s in self.measured])

    @property
    def sharded(self) -> bool:
        """Whether the sharded proposal was measured."""
        return self.measured[0].grown.sharded_claimed is not None

    @property
    def claimed_curve(self) -> Piecewise:
        """Bytes of a flat ``claimed`` by claims."""
        return self._curve(lambda s: s.grown.claimed)

    @property
    def snapshot_curve(self) -> Piecewise:
        """Bytes of ``snapshot`` by claims."""
        return self._curve(lambda s: s.grown.snapshot)

    @property
    def shard_curve(self) -> Piecewise:
        """Proposal: bytes of the average ``claimed-XX`` shard by claims."""
        return self._curve(lambda s: s.grown.sharded_shard_mean)

    @property
    def sharded_snapshot_curve(self) -> Piecewise:
        """Proposal: bytes of ``snapshot`` (with the 256 shard roles) by claims."""
        return self._curve(lambda s: s.grown.sharded_snapshot)

    @property
    def claimed_per_project(self) -> float:
        """Bytes one more claimed project adds to ``claimed`` (least-squares slope)."""
        return self._line(lambda s: s.grown.claimed).slope

    @property
    def snapshot_per_project(self) -> float:
        """Bytes one more claimed project adds to ``snapshot`` (least-squares slope)."""
        return self._line(lambda s: s.grown.snapshot).slope

    @property
    def maintainer_map_per_project(self) -> float:
        """Bytes endorse's signed maintainer map adds to ``claimed``, per project."""
        one = next(s for s in self.measured if s.claims == self.two_keys.claims)
        return (one.grown.claimed - self.without_maintainer_map) / self.two_keys.claims

    @property
    def second_key_per_project(self) -> float:
        """Bytes a second developer key per project adds to ``claimed``, per project."""
        one = next(s for s in self.measured if s.claims == self.two_keys.claims)
        return (self.two_keys.claimed - one.grown.claimed) / self.two_keys.claims

    def at(self, claims: int) -> RoleSizes:
        """Sizes at ``claims``: measured if it was built, else read off the curves."""
        for sizes in self.measured:
            if sizes.claims == claims:
                return sizes
        sharded = self.sharded
        return RoleSizes(
            self.fixed,
            ClaimedSizes(
                claims=claims,
                keys_per_project=1,
                claimed=round(self.claimed_curve(claims)),
                snapshot=round(self.snapshot_curve(claims)),
                sharded_claimed=self.measured[-1].grown.sharded_claimed,
                sharded_shard_mean=self.shard_curve(claims) if sharded else None,
                sharded_shard_max=None,
                sharded_snapshot=round(self.sharded_snapshot_curve(claims)) if sharded else None,
            ),
        )

    def is_measured(self, claims: int) -> bool:
        """Whether ``claims`` was built and measured (not read off a curve)."""
        return any(s.claims == claims for s in self.measured)

    @property
    def claimed_limit_claims(self) -> float | None:
        """Claims at which a flat ``claimed`` passes ngclient's targets limit."""
        return self.claimed_curve.crossing(self.limits.targets_max_length)

    @property
    def snapshot_limit_claims(self) -> float | None:
        """Claims at which ``snapshot`` passes ngclient's snapshot limit."""
        return self.snapshot_curve.crossing(self.limits.snapshot_max_length)

    @property
    def shard_limit_claims(self) -> float | None:
        """Proposal: claims at which an average shard passes ngclient's targets limit."""
        return self.shard_curve.crossing(self.limits.targets_max_length) if self.sharded else None

    def max_line_error(self) -> float:
        """Largest relative gap between a measured size and the least-squares line."""
        gaps = []
        claimed = self._line(lambda s: s.grown.claimed)
        snapshot = self._line(lambda s: s.grown.snapshot)
        for s in self.measured:
            gaps.append(abs(claimed(s.claims) - s.grown.claimed) / s.grown.claimed)
            gaps.append(abs(snapshot(s.claims) - s.grown.snapshot) / s.grown.snapshot)
        return max(gaps)


@dataclass(frozen=True)
class Evaluation:
    """Every figure of the report."""

    inputs: EvaluationInputs
    current: YearResult
    baseline: YearResult
    alt_projects_scores: list[PolicyScore]
    backtest: BackTest | None
    turnovers: list[Turnover]
    workloads: list[tuple[Policy, Workload]]
    workload_monthly: list[tuple[Policy, Workload]]
    cost: MetadataCost
    #: The highest-ranked current projects absent from the whole older list: (rank, name).
    newcomers: list[tuple[int, str]] = field(default_factory=list)

    def entry_rate_for(self, claims: int) -> float:
        """Yearly entry rate of the measured turnover nearest to ``claims`` (in log scale)."""
        return _nearest_turnover(self.turnovers, claims).entry_rate


def years_between(older: str, newer: str) -> float:
    """Years between two ``last_update`` stamps (``YYYY-MM-DD ...``)."""
    start = datetime.fromisoformat(older[:10])
    end = datetime.fromisoformat(newer[:10])
    return (end - start).days / 365.25


def _tail_models(table: DownloadTable, projects: int) -> tuple[dict[str, float], list[TailModel]]:
    n = table.listed
    exponents = {
        MODEL_A: fit_exponent(table.counts, max(n // 10, 1), n),
        MODEL_B: fit_exponent(table.counts, 1, n),
    }
    models = [
        TailModel(
            MODEL_A,
            "power-law",
            projects,
            exponents[MODEL_A],
            "Zipf continuation with the slope of the list's last decade"
            f" (ranks {max(n // 10, 1):,}-{n:,})",
        ),
        TailModel(
            MODEL_B,
            "power-law",
            projects,
            exponents[MODEL_B],
            f"Zipf continuation with the slope of the whole list (ranks 1-{n:,}); a heavier tail",
        ),
        TailModel(MODEL_NONE, "none", projects, source="no downloads beyond the list"),
        TailModel(
            MODEL_FLAT,
            "flat",
            projects,
            source="every unlisted project at the last listed count (the most the tail can be)",
        ),
    ]
    return exponents, models


def _score(models: dict[str, ModelledDownloads], policies: Sequence[Policy]) -> list[PolicyScore]:
    return [
        PolicyScore(p, {label: protected_share(m, p) for label, m in models.items()})
        for p in policies
    ]


def _year(inputs: YearInputs, common_listed: int) -> YearResult:
    exponents, tails = _tail_models(inputs.table, inputs.projects)
    models = {t.label: ModelledDownloads(inputs.table, t) for t in tails}
    policies = policies_for(inputs.projects)
    head = inputs.table.counts[:common_listed]
    return YearResult(
        inputs=inputs,
        exponents=exponents,
        models=models,
        scores=_score(models, policies),
        claims_for={
            s: {label: m.claims_for_share(s) for label, m in models.items()} for s in TARGET_SHARES
        },
        common_listed=common_listed,
        listed_top_share={k: top_share(head, k) for k in (10, 100, 1_000) if k < common_listed},
        listed_gini=gini(head),
        effective_projects=effective_projects(models[MODEL_A].counts),
    )


def _backtest(current: DownloadTable, fit_rows: int) -> BackTest | None:
    """Fit the tail models on the first ``fit_rows`` rows; predict the rest of the list."""
    if current.listed < 2 * fit_rows or fit_rows < 20:
        return None
    head = DownloadTable(current.as_of, current.names[:fit_rows], current.counts[:fit_rows], None)
    _, tails = _tail_models(head, current.listed)
    predicted = {t.label: sum(t.tail_counts(head)) for t in tails}
    actual = float(sum(current.counts[fit_rows:]))
    return BackTest(fit_rows, current.listed, actual, predicted)


def _nearest_turnover(turnovers: Sequence[Turnover], claims: int) -> Turnover:
    return min(turnovers, key=lambda t: abs(math.log(claims / t.k)))


def _metadata_cost(inputs: EvaluationInputs, progress: Progress | None) -> MetadataCost:
    builder = MetadataCostBuilder(inputs.current.table.names, inputs.layout)
    fixed = builder.measure_fixed()
    measured: list[RoleSizes] = []
    for claims in sorted(set(inputs.claim_counts)):
        if progress:
            progress(f"building and signing claimed and snapshot for {claims:,} claimed projects")
        grown = builder.measure_claimed(claims, sharded=inputs.sharded)
        measured.append(RoleSizes(fixed, grown))
    return MetadataCost(
        limits=ClientLimits.ngclient_defaults(),
        fixed=fixed,
        measured=measured,
        project_role_sizes={f: builder.measure_project_role(f) for f in PROJECT_FILE_COUNTS},
        two_keys=builder.measure_claimed(min(inputs.claim_counts), keys_per_project=2),
        without_maintainer_map=len(
            builder.signed_claimed(min(inputs.claim_counts), maintainer_map=False)
        ),
    )


def evaluate(inputs: EvaluationInputs, progress: Progress | None = None) -> Evaluation:
    """Compute every figure of the policy evaluation."""
    if len(set(inputs.claim_counts)) < 2:
        raise ValueError("metadata must be measured at two or more distinct claim counts")
    common = min(inputs.current.table.listed, inputs.baseline.table.listed)
    if progress:
        progress("modelling the download distributions")
    current = _year(inputs.current, common)
    baseline = _year(inputs.baseline, common)
    _, alt_tails = _tail_models(inputs.current.table, inputs.alt_projects)
    alt_models = {t.label: ModelledDownloads(inputs.current.table, t) for t in alt_tails[:2]}
    years = years_between(inputs.baseline.table.as_of, inputs.current.table.as_of)
    turnover_ks = sorted({k for k in (100, 1_000, common) if k <= common})
    turnovers = [
        measure_turnover(inputs.baseline.table, inputs.current.table, k, years) for k in turnover_ks
    ]
    workloads = []
    workload_monthly = []
    for score in current.scores:
        rate = _nearest_turnover(turnovers, score.policy.claims).entry_rate
        chosen = replace(inputs.workload, entry_rate_per_year=rate)
        monthly = replace(chosen, signing_events_per_year=12)
        workloads.append((score.policy, workload(score.policy, chosen)))
        workload_monthly.append((score.policy, workload(score.policy, monthly)))
    cost = _metadata_cost(inputs, progress)
    return Evaluation(
        inputs=inputs,
        current=current,
        baseline=baseline,
        alt_projects_scores=_score(alt_models, policies_for(inputs.current.projects)),
        backtest=_backtest(inputs.current.table, inputs.baseline.table.listed),
        turnovers=turnovers,
        workloads=workloads,
        workload_monthly=workload_monthly,
        cost=cost,
        newcomers=newcomers(inputs.baseline.table, inputs.current.table, 12),
    )


def newcomers(older: DownloadTable, newer: DownloadTable, count: int) -> list[tuple[int, str]]:
    """The ``count`` highest-ranked projects of ``newer`` that ``older`` does not list at all."""
    known = frozenset(older.names)
    found = [
        (rank, str(name)) for rank, name in enumerate(newer.names, start=1) if name not in known
    ]
    return found[:count]
