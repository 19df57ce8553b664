"""Real signed metadata: sizes grow exactly as the layout says, and python-tuf verifies it."""

from __future__ import annotations

import pytest
from packaging.utils import NormalizedName
from tuf.api.metadata import Metadata, Targets

from endorse.metadata.delegations import MAINTAINERS_FIELD
from endorse.metadata.paths import file_target
from endorse.metadata.roles import CLAIMED, claimed_project_role
from endorse.research.metadata_cost import (
    ClaimedSizes,
    ClientLimits,
    FixedSizes,
    LayoutAssumptions,
    MetadataCostBuilder,
    Piecewise,
    RoleSizes,
    fit_line,
    project_names,
)

SMALL = LayoutAssumptions(
    bin_count=16, total_files=1_000, total_projects=100, wheel_share=0.5, project_files=4
)
#: Names of equal length, so that every delegation serializes to the same number of bytes.
NAMES = [f"proj-{i:03d}" for i in range(100)]


@pytest.fixture(scope="module")
def builder() -> MetadataCostBuilder:
    return MetadataCostBuilder(NAMES, SMALL)


def test_targets_per_bin() -> None:
    # 10 files per project, half of them wheels with a .metadata file, 2 listings: 17 targets.
    assert SMALL.targets_per_project == pytest.approx(17.0)
    assert SMALL.targets_per_bin == round(100 * 17 / 16)


def test_project_names_extend_the_list_with_distinct_names() -> None:
    names = project_names(["a", "B_c"], 5)
    assert names == ["a", "b-c", "a-2", "b-c-2", "a-3"]
    assert len(set(project_names(NAMES, 250))) == 250


def test_claimed_has_one_terminating_delegation_per_project(builder: MetadataCostBuilder) -> None:
    claimed = builder.claimed_role(5, keys_per_project=2)
    assert claimed.delegations is not None and claimed.delegations.roles is not None
    roles = claimed.delegations.roles
    assert list(roles) == [claimed_project_role(NormalizedName(n)) for n in NAMES[:5]]
    assert all(r.terminating and r.threshold == 1 and len(r.keyids) == 2 for r in roles.values())
    assert len(claimed.delegations.keys) == 10
    target = file_target(NormalizedName(NAMES[3]), "proj_003-1.0-py3-none-any.whl")
    found = list(claimed.delegations.get_roles_for_target(target))
    assert found == [(f"p-{NAMES[3]}", True)]


def test_one_key_per_maintainer_needs_no_maintainer_map(builder: MetadataCostBuilder) -> None:
    """Keys and maintainers count the same when each maintainer has one key, so the
    publisher's delegations leave the map out and it costs nothing."""
    claimed = builder.claimed_role(2, keys_per_project=2)
    assert claimed.delegations is not None and claimed.delegations.roles is not None
    role = claimed.delegations.roles[f"p-{NAMES[1]}"]
    assert MAINTAINERS_FIELD not in role.unrecognized_fields
    assert len(role.keyids) == 2
    assert len(builder.signed_claimed(5)) == len(builder.signed_claimed(5, maintainer_map=False))


def test_signed_claimed_verifies_against_targets(builder: MetadataCostBuilder) -> None:
    targets = Metadata[Targets].from_bytes(builder.signed_targets())
    claimed = Metadata[Targets].from_bytes(builder.signed_claimed(3))
    targets.verify_delegate(CLAIMED, claimed)  # raises if the signatures do not verify
    assert len(claimed.signatures) == SMALL.offline_keys[1]


def test_sizes_grow_by_a_constant_per_claim(builder: MetadataCostBuilder) -> None:
    s10, s20, s30 = (builder.measure_claimed(k) for k in (10, 20, 30))
    assert s20.claimed - s10.claimed == s30.claimed - s20.claimed > 0
    assert s20.snapshot - s10.snapshot == s30.snapshot - s20.snapshot > 0
    # A snapshot entry is '"p-proj-000.json":{"version":40}' plus a comma.
    assert (s20.snapshot - s10.snapshot) / 10 == len('"p-proj-000.json":{"version":40},')


def test_sharded_variant_holds_every_project_once(builder: MetadataCostBuilder) -> None:
    top, shards = builder.sharded_roles(50)
    assert top.delegations is not None and top.delegations.roles is not None
    assert len(top.delegations.roles) == 256
    assert all(not r.terminating for r in top.delegations.roles.values())
    held = [r for s in shards.values() if s.delegations for r in (s.delegations.roles or {})]
    assert sorted(held) == sorted(f"p-{n}" for n in NAMES[:50])
    sizes = builder.measure_claimed(50, sharded=True)
    assert sizes.sharded_claimed is not None and sizes.sharded_snapshot is not None
    assert sizes.sharded_snapshot > sizes.snapshot


def test_fixed_sizes_are_plausible(builder: MetadataCostBuilder) -> None:
    f = builder.measure_fixed()
    assert f.targets_per_bin == SMALL.targets_per_bin
    assert 0 < f.timestamp < f.targets < f.root
    assert builder.measure_project_role(40) > builder.measure_project_role(4)


def test_per_install_sums() -> None:
    fixed = FixedSizes(
        root=1, timestamp=2, targets=4, recently_claimed=8, unclaimed=16, bin=32,
        targets_per_bin=1, project_role=64, project_files=1,
    )  # fmt: skip
    grown = ClaimedSizes(
        claims=1, keys_per_project=1, claimed=128, snapshot=256, sharded_claimed=512,
        sharded_shard_mean=1024, sharded_snapshot=2048,
    )  # fmt: skip
    s = RoleSizes(fixed, grown)
    assert s.per_install_claimed == 1 + 2 + 4 + 256 + 128 + 64
    assert s.per_install_unclaimed == 1 + 2 + 4 + 256 + 128 + 8 + 16 + 3 * 32
    assert s.per_refresh == 2 + 256
    assert s.sharded_per_install_claimed == 1 + 2 + 4 + 2048 + 512 + 1024 + 64
    assert s.sharded_per_install_unclaimed == 1 + 2 + 4 + 2048 + 512 + 1024 + 8 + 16 + 96


def test_piecewise_interpolates_and_extends() -> None:
    curve = Piecewise(((0.0, 0.0), (10.0, 100.0), (20.0, 300.0)))
    assert curve(5) == pytest.approx(50)
    assert curve(15) == pytest.approx(200)
    assert curve(30) == pytest.approx(500)
    assert curve.crossing(200) == pytest.approx(15)
    assert curve.crossing(500) == pytest.approx(30)
    assert curve.crossing(-50) == pytest.approx(-5)
    with pytest.raises(ValueError):
        Piecewise(((1.0, 1.0),))


def test_fit_line_through_collinear_points() -> None:
    line = fit_line([(0, 3), (1, 5), (2, 7)])
    assert line.slope == pytest.approx(2)
    assert line.intercept == pytest.approx(3)
    assert line.crossing(9) == pytest.approx(3)


def test_client_limits_come_from_python_tuf() -> None:
    limits = ClientLimits.ngclient_defaults()
    assert limits.snapshot_max_length == 2_000_000
    assert limits.targets_max_length == 5_000_000
