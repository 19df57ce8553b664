#!/usr/bin/env python3
"""PEP 480 (issue 4): claiming, signed releases, signing events, and what claims cost clients.

Four measurements, each with its baseline or cross-check in the same run:

1. **Developer operations over HTTP** against a real ``endorse serve --port 0``
   subprocess (``--bins`` hashed bins), with :class:`endorse.developer.IndexClient`
   and Ed25519 ``CryptoSigner`` keys, ``--runs`` times (after ``--warmup``):

   * *claim*: register the key, claim the project, build and sign version 1
     (vouching for the file already on the index), submit it; then, separately,
     the time until ``/tuf/metadata/1.rc-NAME.json`` is served;
   * *release*: read the project and its current role, ``build_release`` with
     one small new wheel, ``sign_release``, ``submit_release``; then the time
     until ``2.rc-NAME.json`` is served;
   * baseline: a plain twine-style upload (multipart POST to ``/legacy/``) of
     a wheel of the same size to an unclaimed project. The index answers it
     once the file is published (``upload_wait``), so its time already
     includes publication; a signed release is answered when accepted.

   Each run has its own account and project (made through the library and a
   plain upload: setup, not timed). Once, for context, the claim is repeated
   with a passphrase key at the default Argon2id cost (``endorse.signing.passphrase``).

2. **A signing event that moves ``--projects`` recently-claimed projects into
   ``claimed``**, in-process on a repository with ``--bins`` bins (setup is
   bulk-inserted; see ``_pep480_repo.py``): ``SigningEvents.prepare_claimed()``,
   signing with the demo offline ``claimed`` key, ``publish()``, the publisher
   batch that applies it, and the batches that drain the queue afterwards.
   The same is run at ``--cross-check`` projects (default 1,000) so that the
   builder of item 3 can be compared with what the publisher stored.

3. **Sizes of ``claimed`` and ``snapshot``** at ``--sizes`` claimed projects,
   and per-install bytes for a claimed vs an unclaimed project, built by
   ``endorse.research.metadata_cost`` (real signed metadata, PyPI-scale
   assumptions), against ngclient's default limits; cross-checked against the
   stored files of item 2 with the builder's assumptions set to match them.

4. **Per-install bytes measured with an unmodified ``tuf.ngclient.Updater``**
   (default ``UpdaterConfig``, bytes counted in a subclass of its own fetcher)
   on the repositories of item 2: a fresh client verifying what pip needs
   to install one wheel of a claimed project, and of an unclaimed project.

    .venv/bin/python benchmarks/bench_pep480.py                 # 10,000 projects, 16,384 bins, ~9 min
    .venv/bin/python benchmarks/bench_pep480.py --quick         # 300 projects, 1,024 bins, < 1 min
    .venv/bin/python benchmarks/bench_pep480.py --phases event --profile /tmp/pep480-prof
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from securesystemslib.signer import CryptoSigner, Signer
from tuf.api.metadata import Metadata
from tuf.api.serialization.json import JSONSerializer
from tuf.ngclient import UpdaterConfig

from _common import start_endorse, summary, write_result, write_wheel
from _pep480_repo import (
    CLAIMED_NAME,
    EventRepo,
    Profiler,
    build_event_repo,
    claimed_names,
    fresh_install,
    install_paths,
    median_install,
    run_event,
)
from endorse.developer import IndexClient, build_release, sign_release
from endorse.metadata.roles import claimed_project_role, recently_claimed_project_role
from endorse.research.metadata_cost import (
    ClientLimits,
    LayoutAssumptions,
    MetadataCostBuilder,
    Piecewise,
    RoleSizes,
)
from endorse.services.index import Services
from endorse.settings import Settings


def echo(text: str) -> None:
    print(text, flush=True)


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


# -- 1. developer operations over HTTP ---------------------------------------------


def upload_form(path: Path, name: str, version: str) -> dict[str, str]:
    """The form fields twine sends for a wheel (as ``tests/conftest.upload_form``)."""
    return {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": "2.1",
        "name": name,
        "version": version,
        "filetype": "bdist_wheel",
        "pyversion": "py3",
        "sha256_digest": hashlib.sha256(path.read_bytes()).hexdigest(),
    }


def http_upload(
    client: httpx.Client, url: str, token: str, path: Path, name: str, version: str
) -> None:
    """POST one file to ``/legacy/`` the way twine does; raise unless accepted."""
    response = client.post(
        f"{url}/legacy/",
        data=upload_form(path, name, version),
        files={"content": (path.name, path.read_bytes(), "application/octet-stream")},
        auth=("__token__", token),
        timeout=120,
    )
    if response.status_code != 200:
        raise RuntimeError(
            f"upload of {path.name} refused: {response.status_code} {response.text[:300]}"
        )


def wait_served(
    client: httpx.Client, url: str, role: str, version: int, poll: float, timeout: float = 60
) -> float:
    """When a client could first see ``role`` at ``version``: the first-seen time of the
    first ``timestamp.json`` whose snapshot lists the role at that version or later.

    (``V.ROLE.json`` itself is stored before snapshot and timestamp, so its mere
    presence would be too early.) ``timestamp.json`` is polled every ``poll``
    seconds; each new version's snapshot is fetched once. The poll interval
    bounds the error (the time is an upper bound).
    """
    meta = f"{url}/tuf/metadata/"
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        ts = client.get(meta + "timestamp.json").json()
        seen = time.perf_counter()
        snap_version = ts["signed"]["meta"]["snapshot.json"]["version"]
        if snap_version != last:
            last = snap_version
            snap = client.get(f"{meta}{snap_version}.snapshot.json").json()
            entry = snap["signed"]["meta"].get(f"{role}.json")
            if entry is not None and entry["version"] >= version:
                return seen
        time.sleep(poll)
    raise TimeoutError(f"{version}.{role}.json not published within {timeout} s")


def claim_once(
    ic: IndexClient,
    name: str,
    signer: Signer,
    public_key: Any,
    poller: httpx.Client,
    url: str,
    poll: float,
) -> dict[str, float]:
    """Register key, claim, build + sign v1 (vouching for the index's file), submit; then wait."""
    t0 = time.perf_counter()
    ic.register_key(public_key, label="bench")
    t1 = time.perf_counter()
    ic.claim(name, maintainers=[], threshold=1)
    t2 = time.perf_counter()
    project = ic.project(name)
    md = build_release(project, [], previous=None)
    sign_release(md, signer)
    t3 = time.perf_counter()
    outcome = ic.submit_release(name, md.to_bytes(), [])
    t4 = time.perf_counter()
    if outcome.get("state") != "accepted":
        raise RuntimeError(f"claim of {name}: {outcome}")
    seen = wait_served(poller, url, recently_claimed_project_role(name), 1, poll)  # type: ignore[arg-type]
    return {
        "register_key": t1 - t0,
        "claim": t2 - t1,
        "build_and_sign": t3 - t2,
        "submit": t4 - t3,
        "answered": t4 - t0,
        "answer_to_published": seen - t4,
        "published": seen - t0,
    }


def release_once(
    ic: IndexClient,
    name: str,
    signer: Signer,
    wheel: Path,
    poller: httpx.Client,
    url: str,
    poll: float,
) -> dict[str, float]:
    """Read project + current role, build_release with one wheel, sign, submit; then wait."""
    t0 = time.perf_counter()
    project = ic.project(name)
    claim = project["claim"]
    previous = ic.role_metadata(claim["role"], claim["version"])
    md = build_release(project, [wheel], previous=previous)
    sign_release(md, signer)
    t1 = time.perf_counter()
    outcome = ic.submit_release(name, md.to_bytes(), [wheel])
    t2 = time.perf_counter()
    if outcome.get("state") != "accepted":
        raise RuntimeError(f"release of {name}: {outcome}")
    seen = wait_served(poller, url, claim["role"], md.signed.version, poll)
    return {
        "build_and_sign": t1 - t0,
        "submit": t2 - t1,
        "answered": t2 - t0,
        "answer_to_published": seen - t2,
        "published": seen - t0,
    }


def phase_http(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    data_dir = work / "http"
    echo(f"  starting endorse serve ({args.bins} bins) ...")
    t = time.perf_counter()
    server = start_endorse(data_dir, bins=args.bins, timeout=600)
    start_seconds = time.perf_counter() - t
    settings = Settings(
        data_dir=data_dir, bin_count=args.bins, password_memory_kib=256, password_iterations=1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        services = Services.open(settings)
    wheels = work / "http-wheels"
    claim_t: list[dict[str, float]] = []
    release_t: list[dict[str, float]] = []
    plain_t: list[float] = []
    passphrase: dict[str, Any] = {}
    try:
        with httpx.Client(timeout=120) as plain, httpx.Client(timeout=30) as poller:
            for i in range(args.warmup + args.runs):
                # setup (not timed): an account, and v1.0 of two projects by plain upload
                user = f"dev{i:04d}"
                services.accounts.create_user(user, secrets.token_urlsafe(18))
                token = services.accounts.create_token(user, description="bench")
                claimed, free = f"pep480-c-{i:04d}", f"pep480-u-{i:04d}"
                for proj in (claimed, free):
                    http_upload(
                        plain, server.url, token, write_wheel(wheels, proj, "1.0"), proj, "1.0"
                    )
                new_release = write_wheel(wheels, claimed, "2.0")
                new_plain = write_wheel(wheels, free, "2.0")
                signer = CryptoSigner.generate_ed25519()
                ic = IndexClient(server.url, "__token__", token)
                try:
                    c = claim_once(
                        ic, claimed, signer, signer.public_key, poller, server.url, args.poll
                    )
                    r = release_once(
                        ic, claimed, signer, new_release, poller, server.url, args.poll
                    )
                finally:
                    ic.close()
                t = time.perf_counter()
                http_upload(plain, server.url, token, new_plain, free, "2.0")
                p = time.perf_counter() - t
                if i >= args.warmup:
                    claim_t.append(c)
                    release_t.append(r)
                    plain_t.append(p)
                echo(
                    f"    run {i + 1 - args.warmup:>3}{' (warm-up)' if i < args.warmup else ''}: "
                    f"claim answered {c['answered'] * 1000:.0f} ms, published {c['published'] * 1000:.0f} ms; "
                    f"release answered {r['answered'] * 1000:.0f} ms, published {r['published'] * 1000:.0f} ms; "
                    f"plain upload {p * 1000:.0f} ms"
                )
            if not args.no_passphrase:
                passphrase = passphrase_claim(services, server.url, wheels, poller, args.poll)
    finally:
        server.stop()
        services.close()

    def fig(rows: list[dict[str, float]], key: str) -> dict[str, float]:
        return summary([row[key] for row in rows])

    figures: dict[str, Any] = {
        "server_start_seconds": round(start_seconds, 1),
        "claim": {k: fig(claim_t, k) for k in claim_t[0]},
        "release": {k: fig(release_t, k) for k in release_t[0]},
        "plain_upload_answered_after_publish": summary(plain_t),
        "passphrase_key": passphrase,
    }
    return figures


def passphrase_claim(
    services: Services, url: str, wheels: Path, poller: httpx.Client, poll: float
) -> dict[str, Any]:
    """One claim with a passphrase key at the default Argon2id cost (KDF cost, for context)."""
    from endorse.signing import passphrase as pp
    from endorse.signing.descriptor import KeyLabels
    from endorse.signing.kdf import DEFAULT_ARGON2
    from endorse.signing.secret import Secret

    user = "devpass"
    services.accounts.create_user(user, secrets.token_urlsafe(18))
    token = services.accounts.create_token(user, description="bench")
    name = "pep480-pass"
    with httpx.Client(timeout=120) as plain:
        http_upload(plain, url, token, write_wheel(wheels, name, "1.0"), name, "1.0")
    phrase = "-".join(secrets.token_hex(4) for _ in range(5))
    t = time.perf_counter()
    descriptor = pp.generate(
        Secret(phrase), KeyLabels(name="bench", maintainer=user, machine="bench")
    )
    generate = time.perf_counter() - t
    t = time.perf_counter()
    signer = pp.load_signer(descriptor, lambda _what: phrase)
    unlock = time.perf_counter() - t
    ic = IndexClient(url, "__token__", token)
    try:
        c = claim_once(ic, name, signer, descriptor.public_key, poller, url, poll)
    finally:
        ic.close()
    result = {
        "kdf": DEFAULT_ARGON2.describe(),
        "generate_seconds (strength check + 1 derivation)": round(generate, 3),
        "unlock_seconds (1 derivation)": round(unlock, 3),
        "claim_answered_seconds (key already unlocked)": round(c["answered"], 3),
        "claim_published_seconds (key already unlocked)": round(c["published"], 3),
        "unlock_plus_claim_answered_seconds": round(unlock + c["answered"], 3),
    }
    echo(
        f"    passphrase key ({result['kdf']}): make {generate:.2f} s, unlock {unlock:.2f} s, "
        f"then claim answered in {c['answered'] * 1000:.0f} ms"
    )
    return result


# -- 2. the signing event, and 4. a fresh ngclient on its repository --------------------


def phase_event(
    args: argparse.Namespace, work: Path, claims: int, profiler: Profiler
) -> tuple[EventRepo, dict[str, Any]]:
    data_dir = work / f"event-{claims}"
    shutil.rmtree(data_dir, ignore_errors=True)
    echo(
        f"  setup: {claims:,} recently-claimed + {args.unclaimed:,} unclaimed projects, {args.bins:,} bins ..."
    )
    t = time.perf_counter()
    repo = build_event_repo(
        data_dir, bins=args.bins, claims=claims, unclaimed=args.unclaimed, echo=echo
    )
    repo.setup["total_seconds"] = round(time.perf_counter() - t, 1)
    echo(f"    setup took {repo.setup['total_seconds']} s: {repo.setup}")
    echo(
        f"    one more claim published while recently-claimed holds {claims - 1:,} projects "
        f"({repo.setup['one_claim_batch_recently_claimed_bytes_before']:,} B): one batch of "
        f"{repo.setup['one_claim_batch_seconds']:.2f} s"
    )
    echo("  signing event:")
    result = run_event(repo, profiler, echo=echo)
    result["setup"] = repo.setup
    a = result["stored_after"]
    echo(
        f"    stored after the event: claimed {a['claimed']:,} B, recently-claimed {a['recently-claimed']:,} B, "
        f"snapshot {a['snapshot']:,} B ({a['snapshot_entries']:,} entries: {a['snapshot_entries_p']:,} p-*, "
        f"{a['snapshot_entries_rc']:,} rc-*, {a['snapshot_entries_bins']:,} bins)"
    )
    return repo, result


def phase_install(args: argparse.Namespace, work: Path, repo: EventRepo) -> dict[str, Any]:
    """Fresh ngclient installs of claimed and unclaimed projects' wheels on a served event repo."""
    server = start_endorse(
        repo.data_dir, bins=repo.bins, extra_args=["--no-publisher"], timeout=600
    )
    clients = work / "clients"
    clients.mkdir(exist_ok=True)
    root = (repo.data_dir / "store" / "metadata" / "1.root.json").read_bytes()
    out: dict[str, Any] = {}
    try:
        n = args.samples
        big = UpdaterConfig(snapshot_max_length=1 << 30, targets_max_length=1 << 30)
        tiny = UpdaterConfig(snapshot_max_length=10_000, targets_max_length=10_000)
        for label, config in (
            ("stock", None),
            ("limits_raised", big),
            ("control_limits_10kB", tiny),
        ):
            if label != "stock" and not args.install_variants:
                continue
            row: dict[str, Any] = {}
            for kind, wheels, claimed in (
                ("claimed", repo.samples_claimed, True),
                ("unclaimed", repo.samples_unclaimed, False),
            ):
                results = [
                    fresh_install(
                        server.url, root, install_paths(w, claimed=claimed), clients, config
                    )
                    for w in wheels[:n]
                ]
                row[kind] = median_install(results)
            out[label] = row
            c, u = row["claimed"], row["unclaimed"]
            echo(
                f"    fresh ngclient ({label}): claimed project {c['metadata_bytes_median']:,.0f} B of metadata "
                f"(ok={c['all_ok']}), unclaimed {u['metadata_bytes_median']:,.0f} B (ok={u['all_ok']}) "
                f"[+{len(root):,} B 1.root.json given out of band]"
            )
            for kind in ("claimed", "unclaimed"):
                sample = row[kind]["median_sample"]
                if sample["error"]:
                    echo(f"      {kind}: {sample['error'][:200]}")
                echo(f"      {kind} per role: {sample['metadata_bytes_per_role']}")
    finally:
        server.stop()
    return out


# -- 3. sizes from endorse.research.metadata_cost --------------------------------------


def builder_sizes(sizes: list[int], *, sharded: bool) -> dict[str, Any]:
    """claimed / snapshot / per-install bytes at PyPI-scale assumptions (16,384 bins)."""
    limits = ClientLimits.ngclient_defaults()
    assumptions = LayoutAssumptions()
    builder = MetadataCostBuilder(claimed_names(max(sizes)), assumptions)
    t = time.perf_counter()
    fixed = builder.measure_fixed()
    points: list[dict[str, Any]] = []
    for n in sizes:
        grown = builder.measure_claimed(n, sharded=sharded)
        rs = RoleSizes(fixed, grown)
        point: dict[str, Any] = {
            "claims": n,
            "claimed": grown.claimed,
            "snapshot": grown.snapshot,
            "claimed_over_targets_max_length": grown.claimed > limits.targets_max_length,
            "snapshot_over_snapshot_max_length": grown.snapshot > limits.snapshot_max_length,
            "per_install_claimed": rs.per_install_claimed,
            "per_install_unclaimed": rs.per_install_unclaimed,
            "per_refresh": rs.per_refresh,
        }
        if sharded:
            point.update(
                {
                    "sharded_claimed": grown.sharded_claimed,
                    "sharded_shard_mean": round(grown.sharded_shard_mean or 0),
                    "sharded_shard_max": grown.sharded_shard_max,
                    "sharded_snapshot": grown.sharded_snapshot,
                    "sharded_per_install_claimed": round(rs.sharded_per_install_claimed),
                    "sharded_per_install_unclaimed": round(rs.sharded_per_install_unclaimed),
                }
            )
        points.append(point)
        echo(
            f"    {n:>7,} claims: claimed {grown.claimed:>11,} B{' (> 5,000,000)' if point['claimed_over_targets_max_length'] else ''}, "
            f"snapshot {grown.snapshot:>10,} B{' (> 2,000,000)' if point['snapshot_over_snapshot_max_length'] else ''}; "
            f"per install: claimed {rs.per_install_claimed:,} B, unclaimed {rs.per_install_unclaimed:,} B"
            + (
                f"; sharded: {rs.sharded_per_install_claimed:,.0f} / {rs.sharded_per_install_unclaimed:,.0f} B"
                if sharded
                else ""
            )
        )
    crossings: dict[str, Any] = {}
    if len(points) >= 2:
        claimed_curve = Piecewise(tuple((p["claims"], p["claimed"]) for p in points))
        snapshot_curve = Piecewise(tuple((p["claims"], p["snapshot"]) for p in points))
        crossings = {
            "claimed_reaches_targets_max_length_at_claims": round(
                claimed_curve.crossing(limits.targets_max_length) or 0
            ),
            "snapshot_reaches_snapshot_max_length_at_claims": round(
                snapshot_curve.crossing(limits.snapshot_max_length) or 0
            ),
        }
    return {
        "assumptions": {k: getattr(assumptions, k) for k in assumptions.__dataclass_fields__},
        "limits": limits.__dict__,
        "fixed": fixed.__dict__,
        "points": points,
        "crossings": crossings,
        "seconds": round(time.perf_counter() - t, 1),
    }


def builder_matched(repo: EventRepo, stored: dict[str, Any]) -> dict[str, Any]:
    """The builder with its assumptions set to the real repository of item 2."""
    claims = repo.claims
    assumptions = LayoutAssumptions(
        bin_count=repo.bins,
        total_files=max(1, repo.unclaimed),
        total_projects=max(1, repo.unclaimed),
        wheel_share=1.0,
        project_files=1,
        root_keys=(1, 1),
        offline_keys=(1, 1),
        bin_version=1,
        project_role_version=1,
        offline_role_version=stored["claimed_version"],
        snapshot_version=stored["snapshot_version"],
    )
    builder = MetadataCostBuilder(claimed_names(claims), assumptions)
    fixed = builder.measure_fixed()
    grown = builder.measure_claimed(claims)
    rs = RoleSizes(fixed, grown)
    # The same snapshot with the retired rc-* entries the publisher keeps (version 1 each).
    names = claimed_names(claims)
    with_rc = builder.snapshot_role(
        [claimed_project_role(n) for n in names] + [recently_claimed_project_role(n) for n in names]
    )
    md = Metadata(with_rc)
    md.sign(CryptoSigner.generate_ed25519())
    return {
        "claims": claims,
        "claimed": grown.claimed,
        "snapshot": grown.snapshot,
        "snapshot_with_retired_rc": len(md.to_bytes(JSONSerializer(compact=True))),
        "per_install_claimed": rs.per_install_claimed,
        "per_install_unclaimed": rs.per_install_unclaimed,
        "fixed": fixed.__dict__,
    }


def cross_check(repo: EventRepo, event: dict[str, Any], install: dict[str, Any]) -> dict[str, Any]:
    stored = event["stored_after"]
    model = builder_matched(repo, stored)
    # The builder lists only p-* roles; the publisher keeps retired rc-* entries too.
    rc_entries = stored["snapshot_entries_rc"]
    real_install: dict[str, Any] = {}
    for label in ("stock", "limits_raised"):
        if label in install:
            real_install[label] = {
                kind: install[label][kind]["median_sample"]["metadata_bytes_with_root"]
                for kind in ("claimed", "unclaimed")
            }
    result = {
        "claims": repo.claims,
        "real_claimed": stored["claimed"],
        "builder_claimed": model["claimed"],
        "claimed_difference": stored["claimed"] - model["claimed"],
        "claimed_difference_pct": round(
            100 * (stored["claimed"] - model["claimed"]) / model["claimed"], 2
        ),
        "real_snapshot": stored["snapshot"],
        "builder_snapshot": model["snapshot"],
        "snapshot_difference": stored["snapshot"] - model["snapshot"],
        "snapshot_difference_pct": round(
            100 * (stored["snapshot"] - model["snapshot"]) / model["snapshot"], 2
        ),
        "real_snapshot_stale_rc_entries": rc_entries,
        "builder_snapshot_with_retired_rc": model["snapshot_with_retired_rc"],
        "snapshot_difference_with_retired_rc": stored["snapshot"]
        - model["snapshot_with_retired_rc"],
        "builder_per_install_claimed": model["per_install_claimed"],
        "builder_per_install_unclaimed": model["per_install_unclaimed"],
        "real_per_install_with_root": real_install,
        "builder_fixed": model["fixed"],
    }
    echo(
        f"    cross-check at {repo.claims:,} claims: claimed real {stored['claimed']:,} B vs builder "
        f"{model['claimed']:,} B ({result['claimed_difference']:+,} B, {result['claimed_difference_pct']:+.2f} %); "
        f"snapshot real {stored['snapshot']:,} B vs builder {model['snapshot']:,} B "
        f"({result['snapshot_difference']:+,} B, {result['snapshot_difference_pct']:+.2f} %; the real one still "
        f"lists {rc_entries:,} retired rc-* roles; with them the builder gives "
        f"{model['snapshot_with_retired_rc']:,} B, {result['snapshot_difference_with_retired_rc']:+,} B)"
    )
    if real_install:
        echo(
            f"    per install (with root): builder claimed {model['per_install_claimed']:,} / unclaimed "
            f"{model['per_install_unclaimed']:,} B; ngclient {real_install}"
        )
    return result


# -- main ---------------------------------------------------------------------------


#: The source files whose code these figures measure (the tree may be uncommitted).
SRC_FILES = (
    "repository/events.py",
    "repository/publisher.py",
    "repository/tufrepo.py",
    "repository/claims.py",
    "repository/releases.py",
    "metadata/delegations.py",
    "research/metadata_cost.py",
)


def src_fingerprint() -> dict[str, str]:
    """SHA-256 (first 12 hex digits) of each measured source file, as run."""
    import endorse

    base = Path(endorse.__file__).resolve().parent
    return {f: hashlib.sha256((base / f).read_bytes()).hexdigest()[:12] for f in SRC_FILES}


def merge_proposed_fix(
    name: str, parameters: dict[str, Any], figures: dict[str, Any], details: dict[str, Any]
) -> Path:
    """Store a ``--patch`` run inside the existing result file, under ``proposed_fix``."""
    from datetime import UTC, datetime

    from _common import RESULTS_DIR, machine

    path = RESULTS_DIR / f"{name}.json"
    doc = json.loads(path.read_text()) if path.exists() else {"benchmark": name}
    doc["proposed_fix"] = {
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "parameters": parameters,
        "figures": figures,
        "details": details,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    os.replace(tmp, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: 300 projects, 1,024 bins, 5 runs"
    )
    parser.add_argument(
        "--projects", type=int, default=None, help="projects moved by the signing event [10000]"
    )
    parser.add_argument(
        "--cross-check",
        type=int,
        default=None,
        help="a second event repository of this size [1000]",
    )
    parser.add_argument(
        "--unclaimed",
        type=int,
        default=None,
        help="index-signed projects in the event repository [100]",
    )
    parser.add_argument("--bins", type=int, default=None, help="hashed bins [16384]")
    parser.add_argument(
        "--runs", type=int, default=None, help="timed claim/release/upload runs [20]"
    )
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first [2]")
    parser.add_argument(
        "--poll", type=float, default=0.02, help="seconds between polls for a published role"
    )
    parser.add_argument(
        "--sizes",
        default=None,
        help="claims measured by the builder [1000,5000,10000,20000,40000,60000]",
    )
    parser.add_argument("--samples", type=int, default=3, help="fresh clients per project kind")
    parser.add_argument(
        "--no-passphrase", action="store_true", help="skip the passphrase-key claim"
    )
    parser.add_argument(
        "--no-sharded", action="store_true", help="skip the sharded proposal in the builder"
    )
    parser.add_argument(
        "--install-variants",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run ngclient with raised limits, and with 100 kB limits (control)",
    )
    parser.add_argument(
        "--phases", default="http,event,sizes", help="comma list of http,event,sizes"
    )
    parser.add_argument(
        "--profile", type=Path, default=None, help="cProfile the event phases into this folder"
    )
    parser.add_argument(
        "--patch",
        type=Path,
        default=None,
        help="import this Python file first (monkeypatched proposed fixes, e.g. benchmarks/_pep480_proposed_fix.py); "
        "the figures are then stored under 'proposed_fix' inside the existing results/<name>.json",
    )
    parser.add_argument("--work", type=Path, default=None, help="work folder (kept)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    parser.add_argument(
        "--name", default=None, help="result name [bench_pep480, or bench_pep480-quick]"
    )
    args = parser.parse_args()
    quick = args.quick
    args.projects = args.projects or (300 if quick else 10_000)
    args.cross_check = args.cross_check if args.cross_check is not None else (0 if quick else 1_000)
    args.unclaimed = args.unclaimed if args.unclaimed is not None else (50 if quick else 100)
    args.bins = args.bins or (1024 if quick else 16_384)
    args.runs = args.runs or (5 if quick else 20)
    if quick and args.warmup == 2:
        args.warmup = 1
    sizes = [
        int(s)
        for s in (
            args.sizes or ("300,3000" if quick else "1000,5000,10000,20000,40000,60000")
        ).split(",")
    ]
    name = args.name or ("bench_pep480-quick" if quick else "bench_pep480")
    phases = set(args.phases.split(","))
    logging.basicConfig(level=logging.WARNING)
    if args.patch is not None:
        import importlib.util

        spec = importlib.util.spec_from_file_location("_bench_patch", args.patch)
        assert spec is not None and spec.loader is not None
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
        echo(f"applied {args.patch} (monkeypatched, experiment only)")
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-pep480-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load_before = load_average()
    echo(f"bench_pep480: work folder {work}, load average {load_before}")
    figures: dict[str, Any] = {}
    details: dict[str, Any] = {}
    profiler = Profiler(args.profile)
    try:
        if "http" in phases:
            echo(
                f"1. claim / release / plain upload over HTTP ({args.runs} runs + {args.warmup} warm-up)"
            )
            t = time.perf_counter()
            figures["http"] = phase_http(args, work)
            figures["http"]["phase_seconds"] = round(time.perf_counter() - t, 1)
            h = figures["http"]
            echo(
                f"  claim: answered p50 {h['claim']['answered']['p50']:.3f} s p90 {h['claim']['answered']['p90']:.3f} s; "
                f"published p50 {h['claim']['published']['p50']:.3f} s p90 {h['claim']['published']['p90']:.3f} s"
            )
            echo(
                f"  release: answered p50 {h['release']['answered']['p50']:.3f} s p90 {h['release']['answered']['p90']:.3f} s; "
                f"published p50 {h['release']['published']['p50']:.3f} s p90 {h['release']['published']['p90']:.3f} s"
            )
            b = h["plain_upload_answered_after_publish"]
            echo(
                f"  baseline plain upload (answered once published): p50 {b['p50']:.3f} s p90 {b['p90']:.3f} s"
            )
        if "event" in phases:
            events: dict[str, Any] = {}
            for claims in [c for c in (args.cross_check, args.projects) if c]:
                echo(f"2. signing event moving {claims:,} projects into claimed")
                t = time.perf_counter()
                repo, result = phase_event(
                    args, work, claims, profiler if claims == args.projects else Profiler(None)
                )
                echo(f"4. fresh ngclient on the {claims:,}-claim repository")
                result["install"] = phase_install(args, work, repo)
                echo(f"3b. builder vs publisher at {claims:,} claims")
                result["cross_check"] = cross_check(repo, result, result["install"])
                result["phase_seconds"] = round(time.perf_counter() - t, 1)
                events[str(claims)] = result
                if not args.keep and args.work is None:
                    shutil.rmtree(repo.data_dir, ignore_errors=True)
            figures["events"] = events
            if profiler.top:
                details["profile_top"] = profiler.top
        if "sizes" in phases:
            echo(
                f"3. sizes from endorse.research.metadata_cost (PyPI-scale assumptions) at {sizes}"
            )
            figures["builder"] = builder_sizes(sizes, sharded=not args.no_sharded)
            cr = figures["builder"]["crossings"]
            if cr:
                echo(
                    f"  claimed reaches 5,000,000 B at ~{cr['claimed_reaches_targets_max_length_at_claims']:,} claims; "
                    f"snapshot reaches 2,000,000 B at ~{cr['snapshot_reaches_snapshot_max_length_at_claims']:,} claims"
                )
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    total = round(time.perf_counter() - started, 1)
    figures["total_seconds"] = total
    parameters = {
        "quick": quick,
        "projects": args.projects,
        "cross_check": args.cross_check,
        "unclaimed": args.unclaimed,
        "bins": args.bins,
        "runs": args.runs,
        "warmup": args.warmup,
        "poll_seconds": args.poll,
        "sizes": sizes,
        "samples": args.samples,
        "phases": sorted(phases),
        "project_names": CLAIMED_NAME.format(0) + " ...",
        "keys": "Ed25519 CryptoSigner, one per project / maintainer, threshold 1",
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "src_sha256": src_fingerprint(),
        "patch": str(args.patch) if args.patch else None,
    }
    if args.patch is not None:
        path = merge_proposed_fix(name, parameters, figures, details)
    else:
        path = write_result(name, parameters, figures, details=details)
    echo(f"wrote {path} ({total} s)")
    print(json.dumps({"total_seconds": total}))


if __name__ == "__main__":
    main()
