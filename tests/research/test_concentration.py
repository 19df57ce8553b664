"""Concentration measures on inputs with known answers."""

from __future__ import annotations

import pytest

from endorse.research.concentration import effective_projects, gini, hhi, top_share


def test_gini_known_values() -> None:
    assert gini([5, 5, 5, 5]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 8]) == pytest.approx(0.75)
    # Mean absolute difference 20 / (2 * 4**2 * 2.5).
    assert gini([4, 1, 3, 2]) == pytest.approx(0.25)


def test_hhi_and_effective_number() -> None:
    assert hhi([1, 1, 1, 1]) == pytest.approx(0.25)
    assert effective_projects([1, 1, 1, 1]) == pytest.approx(4.0)
    assert hhi([3, 1]) == pytest.approx(0.75**2 + 0.25**2)
    assert effective_projects([10]) == pytest.approx(1.0)


def test_top_share() -> None:
    assert top_share([50, 30, 20], 2) == pytest.approx(0.8)
    assert top_share([50, 30, 20], 0) == 0


@pytest.mark.parametrize("func", [gini, hhi])
def test_empty_or_zero_is_an_error(func: object) -> None:
    with pytest.raises(ValueError):
        func([0, 0])  # type: ignore[operator]
