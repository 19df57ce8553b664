"""``endorse evaluate``: which projects should claim first (the policy evaluation report)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import click
from rich import box
from rich.table import Table

from endorse.cli._console import err, out, setup_logging
from endorse.cli._exit import reports_errors
from endorse.errors import ConfigError
from endorse.research.evaluation import (
    MODEL_A,
    Evaluation,
    EvaluationInputs,
    YearInputs,
)
from endorse.research.evaluation import (
    evaluate as run_evaluation,
)
from endorse.research.report import key_figures, render_report
from endorse.research.sources import BASELINE_FILE, CURRENT_FILE, find_data_dir, load_table

#: N for the current table when its dump does not report one (DESIGN: about 600,000).
DEFAULT_PROJECTS = 600_000
#: N for the 2020 table: PyPI listed about 270,000 projects at the end of 2020 (approximate).
DEFAULT_BASELINE_PROJECTS = 270_000
DEFAULT_CLAIMS = (1_000, 10_000, 60_000)


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _command_line(
    claims: tuple[int, ...], projects: int | None, baseline_projects: int, sharded: bool
) -> str:
    parts = ["endorse evaluate"]
    if tuple(sorted(set(claims))) != DEFAULT_CLAIMS:
        parts += [f"--claims {c}" for c in sorted(set(claims))]
    if projects is not None:
        parts.append(f"--projects {projects}")
    if baseline_projects != DEFAULT_BASELINE_PROJECTS:
        parts.append(f"--baseline-projects {baseline_projects}")
    if not sharded:
        parts.append("--no-sharded")
    return " ".join(parts)


def _summary_table(ev: Evaluation) -> Table:
    cur, base = ev.current.label, ev.baseline.label
    table = Table(
        title=f"Claim policies, {cur}: protected share and cost",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        padding=(0, 1),
        collapse_padding=True,
        caption=f"%: protected share of all downloads, tail model A ({base}: same policy)."
        " MB of signed metadata; install C / U: what a fresh client downloads for one wheel"
        " of a claimed / unclaimed project. ~: read off the curve between measured builds.",
    )
    table.add_column("policy (claims)", no_wrap=True)
    for header in (
        f"{cur}\n%",
        f"{base}\n%",
        "claimed\nMB",
        "snapshot\nMB",
        "install\nC, MB",
        "install\nU, MB",
        "changes\n/event",
    ):
        table.add_column(header, justify="right")
    baseline = {s.policy.label.split(" (")[0]: s for s in ev.baseline.scores}
    for score, (_, work) in zip(ev.current.scores, ev.workloads, strict=True):
        sizes = ev.cost.at(score.policy.claims)
        other = baseline.get(score.policy.label.split(" (")[0])
        mark = "" if ev.cost.is_measured(score.policy.claims) else "~"
        table.add_row(
            score.policy.label,
            f"{100 * score.shares[MODEL_A]:.1f}",
            f"{100 * other.shares[MODEL_A]:.1f}" if other else "-",
            f"{mark}{sizes.grown.claimed / 1e6:.2f}",
            f"{mark}{sizes.grown.snapshot / 1e6:.2f}",
            f"{mark}{sizes.per_install_claimed / 1e6:.2f}",
            f"{mark}{sizes.per_install_unclaimed / 1e6:.2f}",
            f"{work.changes_per_signing_event:,.0f}",
        )
    return table


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="ENDORSE_DATA_FILES",
    default=None,
    help="Folder with the download dumps [env ENDORSE_DATA_FILES; default: ../shared/data"
    " from the current folder, then from the repository root].",
)
@click.option(
    "--current",
    "current_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Current dump [default: <data-dir>/{CURRENT_FILE}].",
)
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Older dump to compare with [default: <data-dir>/{BASELINE_FILE}].",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("docs/policy-evaluation.md"),
    show_default=True,
    help="Markdown report to write; figures go to img/ beside it.",
)
@click.option(
    "--claims",
    type=click.IntRange(min=1),
    multiple=True,
    default=DEFAULT_CLAIMS,
    show_default=True,
    help="Claimed-project counts at which metadata is built and measured (repeat; two or more).",
)
@click.option(
    "--projects",
    type=click.IntRange(min=1),
    default=None,
    help="Projects on PyPI for the current dump's tail [default: the count the dump reports,"
    f" else {DEFAULT_PROJECTS:,}].",
)
@click.option(
    "--baseline-projects",
    type=click.IntRange(min=1),
    default=DEFAULT_BASELINE_PROJECTS,
    show_default=True,
    help="Projects on PyPI for the older dump's tail.",
)
@click.option("--no-sharded", is_flag=True, help="Skip measuring the sharded-claimed proposal.")
@click.option("--json", "as_json", is_flag=True, help="Print the key figures as JSON.")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@reports_errors
def evaluate(
    data_dir: Path | None,
    current_file: Path | None,
    baseline_file: Path | None,
    output: Path,
    claims: tuple[int, ...],
    projects: int | None,
    baseline_projects: int,
    no_sharded: bool,
    as_json: bool,
    verbose: int,
) -> None:
    """Evaluate "claim the top N / top X%" policies on real PyPI download counts.

    Writes a Markdown report with PNG figures: the share of downloads that
    claiming protects (with the unlisted tail modelled), the administrators'
    workload, and the metadata clients download, measured on real signed
    endorse metadata at each claim count.

    \b
    Example:
      endorse evaluate --output docs/policy-evaluation.md
    """
    setup_logging(verbose)
    started = time.monotonic()
    if len(set(claims)) < 2:
        raise click.BadParameter("give at least two distinct values", param_hint="--claims")
    if current_file is None or baseline_file is None:
        needed = [
            f
            for f, given in ((CURRENT_FILE, current_file), (BASELINE_FILE, baseline_file))
            if given is None
        ]
        folder = find_data_dir(data_dir, needed)
        current_file = current_file or folder / CURRENT_FILE
        baseline_file = baseline_file or folder / BASELINE_FILE
    current = load_table(current_file)
    baseline = load_table(baseline_file)
    if projects is not None:
        n, source = projects, "--projects"
    elif current.reported_projects is not None:
        n, source = (
            current.reported_projects,
            "projects downloaded in the window, as the dump reports",
        )
    else:
        n, source = DEFAULT_PROJECTS, "DESIGN's PyPI scale"
    source_2020 = (
        "approximate PyPI project count at the end of 2020"
        if baseline_projects == DEFAULT_BASELINE_PROJECTS
        else "--baseline-projects"
    )
    inputs = EvaluationInputs(
        current=YearInputs(current.as_of[:7], current, max(n, current.listed), source),
        baseline=YearInputs(
            baseline.as_of[:7], baseline, max(baseline_projects, baseline.listed), source_2020
        ),
        claim_counts=tuple(sorted(set(claims))),
        # The tail's sensitivity to N: DESIGN's 600,000, or 800,000 when N is 600,000.
        alt_projects=DEFAULT_PROJECTS if n != DEFAULT_PROJECTS else 800_000,
        sharded=not no_sharded,
    )

    def progress(message: str) -> None:
        err.print(f"[dim]{message} ...[/]", highlight=False)

    try:
        from endorse.research.plots import FIGURES, draw_all
    except ImportError as e:  # pragma: no cover - depends on the installed extras
        raise ConfigError(
            f"matplotlib is needed for the figures: {e}",
            hint="pip install 'endorse[research]'",
        ) from e
    ev = run_evaluation(inputs, progress)
    progress("drawing figures")
    images = output.parent / "img"
    draw_all(ev, images)
    figures = {key: f"img/{name}" for key, name in FIGURES.items()}
    command = _command_line(claims, projects, baseline_projects, not no_sharded)
    _atomic_write(output, render_report(ev, figures, command))
    elapsed = time.monotonic() - started
    if as_json:
        out.print_json(json.dumps(key_figures(ev)))
    else:
        out.print(_summary_table(ev))
    err.print(
        f"wrote {output} and {len(figures)} figures in {images} ({elapsed:.1f} s)", highlight=False
    )
