"""Claim policies, turnover and workload on hand-made inputs."""

from __future__ import annotations

import pytest

from endorse.research.downloads import DownloadTable, ModelledDownloads, TailModel
from endorse.research.policy import (
    Policy,
    WorkloadAssumptions,
    measure_turnover,
    policies_for,
    protected_share,
    workload,
)


def table(names: str, counts: list[int]) -> DownloadTable:
    return DownloadTable("2026-04-01", tuple(names), tuple(counts))  # type: ignore[arg-type]


def test_policies_round_up_and_drop_duplicates() -> None:
    policies = policies_for(1_000)
    assert [p.claims for p in policies] == [1, 10, 100, 1_000, 10_000]
    labels = [p.label for p in policies]
    assert labels[0] == "top 0.1% (1)"
    assert "top 100" in labels  # kept over "top 10% (100)"
    assert all("10%" not in label for label in labels)
    assert [p.claims for p in policies_for(1_001, (), (1.0,))] == [11]


def test_protected_share_is_the_share_of_the_claimed_head() -> None:
    m = ModelledDownloads(table("abcd", [40, 30, 20, 10]), TailModel("none", "none", 4))
    assert protected_share(m, Policy("top 2", 2)) == pytest.approx(0.7)


def test_turnover_between_two_tables() -> None:
    older = table("abcde", [50, 40, 30, 20, 10])
    newer = table("axbcd", [50, 40, 30, 20, 10])
    t = measure_turnover(older, newer, 4, years=2.0)
    assert t.stayed == 3  # a, b, c of {a, x, b, c}
    assert t.retained == pytest.approx(0.75)
    assert t.entry_rate == pytest.approx(1 - 0.75**0.5)
    with pytest.raises(ValueError):
        measure_turnover(older, newer, 6, years=2.0)


def test_workload_counts() -> None:
    w = workload(
        Policy("top 1,000", 1_000),
        WorkloadAssumptions(
            keys_per_project=2,
            key_changes_per_key_year=0.5,
            signing_events_per_year=26,
            entry_rate_per_year=0.1,
        ),
    )
    assert w.delegations == 1_000
    assert w.developer_keys == 2_000
    assert w.key_changes_per_year == pytest.approx(1_000)
    assert w.new_claims_per_year == pytest.approx(100)
    assert w.delegation_changes_per_year == pytest.approx(1_100)
    assert w.changes_per_signing_event == pytest.approx(1_100 / 26)
