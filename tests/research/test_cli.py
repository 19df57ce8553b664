"""``endorse evaluate``: on the shipped data, on small files, and its errors."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from endorse.cli import main
from endorse.errors import NotFound
from endorse.research.report import SECTIONS
from endorse.research.sources import BASELINE_FILE, CURRENT_FILE, find_data_dir


def shipped_data() -> Path:
    explicit = os.environ.get("ENDORSE_DATA_FILES")
    try:
        return find_data_dir(Path(explicit) if explicit else None)
    except NotFound as e:
        pytest.skip(f"the shipped download data is not here: {e.message}")


def write_dump(path: Path, rows: list[tuple[str, int]], **extra: object) -> Path:
    doc = {
        "last_update": extra.pop("last_update", "2026-04-01 00:00:00"),
        "rows": [{"download_count": c, "project": n} for n, c in rows],
        **extra,
    }
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.slow
def test_evaluate_on_the_shipped_data(tmp_path: Path) -> None:
    data = shipped_data()
    output = tmp_path / "docs" / "policy-evaluation.md"
    started = time.monotonic()
    result = CliRunner().invoke(
        main, ["evaluate", "--data-dir", str(data), "--output", str(output)]
    )
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert elapsed < 60, f"endorse evaluate took {elapsed:.0f} s"
    text = output.read_text()
    for section in SECTIONS:
        assert section in text
    images = sorted(p.name for p in (output.parent / "img").iterdir())
    assert images == sorted(
        [
            "policy-concentration.png",
            "policy-downloads.png",
            "policy-metadata-size.png",
            "policy-per-install.png",
            "policy-protected-share.png",
            "policy-workload.png",
        ]
    )
    assert "top 1,000" in result.stdout
    assert "2026-04" in text and "2020-11" in text


def test_evaluate_small_files_to_json(tmp_path: Path) -> None:
    current = write_dump(
        tmp_path / "current.json",
        [(f"p{i}", 10_000 // (i + 1)) for i in range(60)],
        rows_before_limit_at_least=500,
    )
    baseline = write_dump(
        tmp_path / "baseline.json",
        [(f"p{i * 2}", 5_000 // (i + 1)) for i in range(30)],
        last_update="2020-11-01 00:00:00",
    )
    output = tmp_path / "report.md"
    result = CliRunner().invoke(
        main,
        [
            "evaluate",
            "--current", str(current),
            "--baseline", str(baseline),
            "--output", str(output),
            "--claims", "10",
            "--claims", "20",
            "--baseline-projects", "300",
            "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["current"]["projects"] == 500
    assert set(figures["metadata"]) == {"10", "20"}
    text = output.read_text()
    assert "endorse evaluate --claims 10 --claims 20 --baseline-projects 300" in text


def test_evaluate_needs_two_claim_counts(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["evaluate", "--claims", "1000"])
    assert result.exit_code == 2
    assert "at least two" in result.output


def test_evaluate_without_data_says_where_it_looked(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["evaluate", "--output", str(tmp_path / "r.md")],
        env={"ENDORSE_DATA_FILES": str(tmp_path / "nowhere")},
    )  # fmt: skip
    assert result.exit_code == 1
    assert CURRENT_FILE in result.output and BASELINE_FILE in result.output
    assert "ENDORSE_DATA_FILES" in result.output
