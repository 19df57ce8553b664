"""The whole evaluation on small made-up tables: figures, report sections, plots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from endorse.research.downloads import DownloadTable
from endorse.research.evaluation import (
    MODEL_A,
    MODEL_B,
    MODEL_FLAT,
    MODEL_NONE,
    Evaluation,
    EvaluationInputs,
    YearInputs,
    evaluate,
    newcomers,
    years_between,
)
from endorse.research.metadata_cost import LayoutAssumptions
from endorse.research.report import SECTIONS, key_figures, render_report


def zipf_table(as_of: str, prefix: str, n: int, exponent: float) -> DownloadTable:
    counts = tuple(round(1e7 * r**-exponent) for r in range(1, n + 1))
    names = tuple(f"{prefix}{i:03d}" for i in range(n))
    return DownloadTable(as_of, names, counts)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def evaluation() -> Evaluation:
    current = zipf_table("2026-04-01 06:00:00", "p", 400, 1.5)
    # Half of the older names are the same projects.
    baseline = zipf_table("2020-11-01 15:00:00", "p", 100, 1.5)
    baseline = DownloadTable(
        baseline.as_of,
        tuple(n if i % 2 == 0 else f"old{i}" for i, n in enumerate(baseline.names)),  # type: ignore[misc]
        baseline.counts,
    )
    inputs = EvaluationInputs(
        current=YearInputs("2026-04", current, 2_000, "test"),
        baseline=YearInputs("2020-11", baseline, 1_000, "test"),
        claim_counts=(20, 40),
        alt_projects=4_000,
        layout=LayoutAssumptions(
            bin_count=16, total_files=2_000, total_projects=2_000, project_files=5
        ),
    )
    return evaluate(inputs)


def test_years_between() -> None:
    assert years_between("2020-11-01 15:30:13", "2026-04-01 06:34:06") == pytest.approx(
        1977 / 365.25
    )


def test_exact_zipf_is_fitted_and_ordered(evaluation: Evaluation) -> None:
    cur = evaluation.current
    # Rounding to whole downloads bends the far end a little; the slope stays close.
    assert cur.exponents[MODEL_A] == pytest.approx(1.5, abs=0.01)
    assert cur.exponents[MODEL_B] == pytest.approx(1.5, abs=0.01)
    for score in cur.scores:
        s = score.shares
        assert s[MODEL_FLAT] <= s[MODEL_A] <= s[MODEL_NONE]
    assert cur.primary.projects == 2_000


def test_backtest_turnover_and_workload(evaluation: Evaluation) -> None:
    bt = evaluation.backtest
    assert bt is not None and bt.fitted_on == 100 and bt.predicted_to == 400
    # Fitted on an exact power law, model A predicts the held-out ranks closely.
    assert bt.ratio(MODEL_A) == pytest.approx(1.0, rel=0.05)
    t100 = next(t for t in evaluation.turnovers if t.k == 100)
    assert t100.stayed == 50
    assert [p.claims for p, _ in evaluation.workloads] == [
        s.policy.claims for s in evaluation.current.scores
    ]
    # The odd-ranked names of the older table were replaced.
    assert newcomers(evaluation.baseline.inputs.table, evaluation.current.inputs.table, 2) == [
        (2, "p001"),
        (4, "p003"),
    ]


def test_metadata_cost_reads_curves_between_builds(evaluation: Evaluation) -> None:
    cost = evaluation.cost
    assert [s.claims for s in cost.measured] == [20, 40]
    assert cost.is_measured(20) and not cost.is_measured(30)
    mid = cost.at(30).grown.claimed
    assert cost.at(20).grown.claimed < mid < cost.at(40).grown.claimed
    assert cost.claimed_per_project > 0 and cost.second_key_per_project > 0
    # One key per maintainer: the publisher leaves the maintainer map out.
    assert cost.maintainer_map_per_project == 0
    assert cost.max_line_error() < 0.05


def test_report_has_every_section_and_figure(evaluation: Evaluation) -> None:
    figures = {
        k: f"img/{k}.png"
        for k in ("downloads", "protected", "concentration", "workload", "size", "install")
    }
    text = render_report(evaluation, figures, "endorse evaluate")
    for section in SECTIONS:
        assert section in text
    for path in figures.values():
        assert f"]({path})" in text
    assert text.count("*Assumptions behind this figure:*") == len(figures)
    json.dumps(key_figures(evaluation))


def test_plots_are_written(evaluation: Evaluation, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from endorse.research.plots import FIGURES, draw_all

    paths = draw_all(evaluation, tmp_path)
    assert sorted(p.name for p in paths.values()) == sorted(FIGURES.values())
    for path in paths.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
