"""Download tables and the tail model, on hand-made inputs with known answers."""

from __future__ import annotations

import math

import pytest

from endorse.research.downloads import (
    DownloadTable,
    ModelledDownloads,
    TailModel,
    fit_exponent,
    parse_download_table,
)


def table(counts: list[int]) -> DownloadTable:
    names = tuple(f"p{i}" for i in range(len(counts)))
    return DownloadTable("2026-04-01", names, tuple(counts))  # type: ignore[arg-type]


def test_parse_normalises_merges_and_sorts() -> None:
    doc = {
        "last_update": "2026-04-01 06:34:06",
        "rows": [
            {"download_count": 5, "project": "Foo_Bar"},
            {"download_count": 7, "project": "baz"},
            {"download_count": 3, "project": "foo.bar"},
        ],
        "rows_before_limit_at_least": 1234,
    }
    t = parse_download_table(doc)
    assert t.names == ("foo-bar", "baz")
    assert t.counts == (8, 7)
    assert t.as_of == "2026-04-01 06:34:06"
    assert t.reported_projects == 1234
    assert t.total == 15
    assert t.top_names(1) == frozenset({"foo-bar"})


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [{"download_count": 0, "project": "a"}],
        [{"download_count": "3", "project": "a"}],
        [{"download_count": True, "project": "a"}],
        [{"download_count": 3, "project": ""}],
        ["not an object"],
    ],
)
def test_parse_rejects_bad_rows(rows: list[object]) -> None:
    with pytest.raises(ValueError):
        parse_download_table({"rows": rows})


def test_table_must_be_sorted_most_first() -> None:
    with pytest.raises(ValueError, match="sorted"):
        table([1, 2])


def test_fit_exponent_recovers_an_exact_power_law() -> None:
    counts = [round(1e12 * r**-2.0) for r in range(1, 1001)]
    assert fit_exponent(counts, 1, 1000) == pytest.approx(2.0, abs=1e-6)
    assert fit_exponent(counts, 100, 1000) == pytest.approx(2.0, abs=1e-6)


def test_fit_exponent_rejects_a_range_outside_the_list() -> None:
    with pytest.raises(ValueError):
        fit_exponent([3, 2, 1], 1, 4)


def test_tail_none_flat_and_power_law() -> None:
    t = table([100, 50, 25])
    assert TailModel("none", "none", 6).tail_counts(t) == []
    assert TailModel("flat", "flat", 6).tail_counts(t) == [25.0, 25.0, 25.0]
    zipf = TailModel("zipf", "power-law", 6, exponent=1.0).tail_counts(t)
    assert zipf == pytest.approx([25 * 3 / 4, 25 * 3 / 5, 25 * 3 / 6])
    # No tail when the list already holds every project.
    assert TailModel("flat", "flat", 2).tail_counts(t) == []


def test_power_law_tail_needs_a_positive_exponent() -> None:
    with pytest.raises(ValueError):
        TailModel("bad", "power-law", 10)


def test_modelled_downloads_shares_and_claims() -> None:
    m = ModelledDownloads(table([60, 30, 10]), TailModel("none", "none", 3))
    assert m.total == 100
    assert m.tail_total == 0
    assert m.share_of_top(1) == pytest.approx(0.6)
    assert m.share_of_top(0) == 0
    assert m.share_of_top(99) == pytest.approx(1.0)
    assert m.claims_for_share(0.6) == 1
    assert m.claims_for_share(0.61) == 2
    assert m.claims_for_share(0.9) == 2
    assert m.claims_for_share(0.91) == 3
    assert m.claims_for_share(1.0) == 3
    with pytest.raises(ValueError):
        m.claims_for_share(0)


def test_tail_lowers_the_share_of_the_head() -> None:
    t = table([60, 30, 10])
    flat = ModelledDownloads(t, TailModel("flat", "flat", 5))
    assert flat.projects == 5
    assert flat.total == 120
    assert flat.tail_total == 20
    assert flat.share_of_top(1) == pytest.approx(0.5)
    zipf = ModelledDownloads(t, TailModel("zipf", "power-law", 5, exponent=2.0))
    assert zipf.tail_total == pytest.approx(10 * (3 / 4) ** 2 + 10 * (3 / 5) ** 2)
    assert math.isclose(zipf.share_of_top(3), 100 / zipf.total)
