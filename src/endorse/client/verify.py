"""``endorse verify``: check files, or a requirements file, without installing.

A **file** (wheel or sdist) is verified when its name is a target of its
project that ngclient finds, and its bytes have the signed length and hash.

A **requirements file** is verified line by line. Each requirement must be
pinned (``name==version``); every ``--hash=sha256:...`` on it must be the hash
of a verified file of that version (a hash nobody signed is what an attacker
who edited the file would add). A pinned requirement without hashes lists the
verified files of that version, with a note that pip would accept any of them.
Each verified file also meets the client's policy, or is reported as refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version
from tuf.api.exceptions import LengthOrHashMismatchError

from endorse.client.errors import PolicyNotMet, VerificationFailed
from endorse.client.policy import Policy
from endorse.client.resolver import IndexSession, VerifiedTarget
from endorse.errors import EndorseError, NotFound
from endorse.metadata.paths import file_target

__all__ = ["Check", "verify_file", "verify_requirements"]

_HASH = re.compile(r"--hash[= ]([a-z0-9]+):([0-9a-fA-F]+)")


@dataclass(frozen=True)
class Check:
    """The result for one file or one hash of a requirement."""

    subject: str
    verified: VerifiedTarget | None = None
    error: EndorseError | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        """Verified, and allowed by the policy."""
        return self.verified is not None and self.error is None

    def to_json(self) -> dict[str, Any]:
        """For ``--json`` output."""
        out: dict[str, Any] = {"subject": self.subject, "ok": self.ok}
        if self.verified is not None:
            out.update(self.verified.to_json())
        if self.error is not None:
            out["error"] = self.error.message
            out["hint"] = self.error.hint
            out["refused_by"] = "policy" if isinstance(self.error, PolicyNotMet) else "verification"
        if self.note:
            out["note"] = self.note
        return out


def _project_of(filename: str) -> NormalizedName:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[0]
        return parse_sdist_filename(filename)[0]
    except (InvalidWheelFilename, InvalidSdistFilename) as e:
        raise VerificationFailed(
            f"{filename!r} is not a wheel or sdist filename",
            check="filename",
            hint="verify the file under the name the index lists it",
        ) from e


def _policy(policy: Policy, verified: VerifiedTarget) -> EndorseError | None:
    try:
        policy.check(verified.project, verified.filename, verified.trust)
    except PolicyNotMet as e:
        return e
    return None


def verify_file(session: IndexSession, path: Path, policy: Policy) -> Check:
    """Verify one local distribution file against the signed metadata."""
    try:
        name = _project_of(path.name)
        verified = session.target(file_target(name, path.name))
    except NotFound as e:
        return Check(
            str(path),
            error=VerificationFailed(
                f"{path.name} is not signed by the index or its developers ({e.message})",
                check="signed target",
                project=None,
                filename=path.name,
                hint="it was not downloaded from this index, or it was renamed",
            ),
        )
    except EndorseError as e:
        return Check(str(path), error=e)
    with path.open("rb") as fh:
        try:
            verified.target.verify_length_and_hashes(fh)
        except LengthOrHashMismatchError as e:
            return Check(
                str(path),
                verified,
                VerificationFailed(
                    f"{path.name} differs from the file the index signed ({e})",
                    check="length and hash",
                    project=verified.project,
                    filename=path.name,
                    hint="do not install it: it was altered after it left the index",
                ),
            )
    return Check(str(path), verified, _policy(policy, verified))


def _logical_lines(path: Path) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        if not pending:
            start = number
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        if text:
            lines.append((f"{path}:{start}", text))
    return lines


def verify_requirements(
    session: IndexSession, path: Path, policy: Policy, _seen: set[Path] | None = None
) -> list[Check]:
    """Verify every pinned requirement (and its hashes) of a requirements file."""
    seen = _seen if _seen is not None else set()
    if path.resolve() in seen:
        return []
    seen.add(path.resolve())
    checks: list[Check] = []
    for where, text in _logical_lines(path):
        if text.startswith(("-r ", "--requirement")):
            nested = text.split(None, 1)[1] if " " in text else text.partition("=")[2]
            checks += verify_requirements(session, path.parent / nested.strip(), policy, seen)
            continue
        if text.startswith("-"):
            continue  # other options: the installer's business
        spec = text.split(" --hash", 1)[0].strip()
        checks += _verify_requirement(session, where, spec, _HASH.findall(text), policy)
    return checks


def _verify_requirement(
    session: IndexSession,
    where: str,
    spec: str,
    hashes: list[tuple[str, str]],
    policy: Policy,
) -> list[Check]:
    subject = f"{where}: {spec}"
    try:
        requirement = Requirement(spec)
        pins = [s for s in requirement.specifier if s.operator in ("==", "===")]
        if requirement.url or len(pins) != 1 or "*" in pins[0].version:
            raise VerificationFailed(
                f"{spec!r} is not pinned to one version",
                check="pin",
                hint="pin every requirement with == (pip-compile --generate-hashes does)",
            )
        name = canonicalize_name(requirement.name)
        wanted = Version(pins[0].version)
    except (InvalidRequirement, InvalidVersion) as e:
        return [Check(subject, error=VerificationFailed(f"{spec!r}: {e}", check="requirement"))]
    except VerificationFailed as e:
        return [Check(subject, error=e)]
    try:
        view = session.project(name)
    except EndorseError as e:
        return [Check(subject, error=e)]
    if view is None:
        return [Check(subject, error=NotFound(f"no project {name!r} in the verified metadata"))]
    files = [f for f in view.files if Version(f.version) == wanted]
    if not files:
        return [
            Check(
                subject,
                error=VerificationFailed(
                    f"no signed file of {name}=={wanted}",
                    check="signed target",
                    project=name,
                ),
            )
        ]
    by_sha = {f.sha256: f for f in files}
    checks: list[Check] = []
    if not hashes:
        note = "no --hash on this line: pip would accept any of these files"
        for f in files:
            checks.append(_check_target(session, subject, f.target_path, policy, note))
        return checks
    for algorithm, raw_digest in hashes:
        digest = raw_digest.lower()
        listed = by_sha.get(digest) if algorithm == "sha256" else None
        if listed is None:
            checks.append(
                Check(
                    f"{subject} --hash={algorithm}:{digest[:16]}…",
                    error=VerificationFailed(
                        f"{algorithm}:{digest} is not the hash of any signed file of "
                        f"{name}=={wanted}",
                        check="hash",
                        project=name,
                        hint="remove the hash, or regenerate the file from this index: "
                        "the requirements file may have been tampered with",
                    ),
                )
            )
            continue
        check = _check_target(session, subject, listed.target_path, policy, "")
        if check.verified is not None and check.verified.sha256 != digest:
            check = Check(
                check.subject,
                check.verified,
                VerificationFailed(
                    f"the listing and the signed target of {listed.filename} disagree",
                    check="hash",
                    project=name,
                ),
            )
        checks.append(check)
    return checks


def _check_target(
    session: IndexSession, subject: str, target_path: str, policy: Policy, note: str
) -> Check:
    try:
        verified = session.target(target_path)
    except EndorseError as e:
        return Check(subject, error=e, note=note)
    return Check(f"{subject} ({verified.filename})", verified, _policy(policy, verified), note)
