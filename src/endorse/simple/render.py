"""Render Simple API pages.

Project pages are TUF targets, so their bytes must depend on nothing but the
files they list and the project's status marker (PEP 792): the same files
and status always give the same bytes. Links are
relative (``../../tuf/targets/...``) so a mirror that copies ``/simple/`` and
``/tuf/`` serves pages that still verify and still resolve.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from packaging.version import Version

from endorse.states import ProjectStatus

#: 1.4: PEP 792 project status markers (1.1: PEP 700, 1.2-1.3 add nothing an index must).
API_VERSION = "1.4"
HTML_CONTENT_TYPE = "application/vnd.pypi.simple.v1+html"
JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"
#: From a project page (``/simple/<name>/``) to the targets root.
TARGETS_FROM_PROJECT_PAGE = "../../tuf/targets/"


@dataclass(frozen=True)
class ListedFile:
    """What a project page says of one file."""

    filename: str
    version: str
    target_path: str
    sha256: str
    size: int
    upload_time: datetime
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str = ""
    core_metadata_sha256: str | None = None

    @property
    def url(self) -> str:
        """The file's URL relative to its project page."""
        return TARGETS_FROM_PROJECT_PAGE + self.target_path


def _sorted(files: Iterable[ListedFile]) -> list[ListedFile]:
    return sorted(files, key=lambda f: (Version(f.version), f.filename))


def _upload_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class StatusMarker:
    """A project's PEP 792 status and the reason given for it."""

    status: ProjectStatus = ProjectStatus.ACTIVE
    reason: str = ""


ACTIVE = StatusMarker()


def render_project_html(
    name: str, files: Sequence[ListedFile], marker: StatusMarker = ACTIVE
) -> bytes:
    """PEP 503 page with PEP 592 yanks, PEP 658/714 metadata, hashes, PEP 792 status."""
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">',
        f'    <meta name="pypi:project-status" content="{marker.status.value}">',
    ]
    if marker.reason:
        lines.append(
            f'    <meta name="pypi:project-status-reason" content="{escape(marker.reason)}">'
        )
    lines += [
        f"    <title>Links for {escape(name)}</title>",
        "  </head>",
        "  <body>",
        f"    <h1>Links for {escape(name)}</h1>",
    ]
    for f in _sorted(files):
        attrs = [f'href="{escape(f.url)}#sha256={f.sha256}"']
        if f.requires_python:
            attrs.append(f'data-requires-python="{escape(f.requires_python)}"')
        if f.yanked:
            attrs.append(f'data-yanked="{escape(f.yanked_reason)}"')
        if f.core_metadata_sha256:
            attrs.append(f'data-dist-info-metadata="sha256={f.core_metadata_sha256}"')
            attrs.append(f'data-core-metadata="sha256={f.core_metadata_sha256}"')
        lines.append(f"    <a {' '.join(attrs)}>{escape(f.filename)}</a><br>")
    lines += ["  </body>", "</html>", ""]
    return "\n".join(lines).encode()


def render_project_json(
    name: str, files: Sequence[ListedFile], marker: StatusMarker = ACTIVE
) -> bytes:
    """PEP 691 page with PEP 700 fields (versions, size, upload-time), PEP 792 status."""
    ordered = _sorted(files)
    # Tie-break on the string: "1.0" and "1.0.0" are equal Versions.
    versions = sorted({f.version for f in ordered}, key=lambda v: (Version(v), v))
    entries = []
    for f in ordered:
        entry: dict[str, object] = {
            "filename": f.filename,
            "url": f.url,
            "hashes": {"sha256": f.sha256},
            "requires-python": f.requires_python,
            "size": f.size,
            "upload-time": _upload_time(f.upload_time),
            "yanked": (f.yanked_reason or True) if f.yanked else False,
        }
        if f.core_metadata_sha256:
            entry["core-metadata"] = {"sha256": f.core_metadata_sha256}
            entry["dist-info-metadata"] = {"sha256": f.core_metadata_sha256}
        else:
            entry["core-metadata"] = False
            entry["dist-info-metadata"] = False
        entries.append(entry)
    status: dict[str, str] = {"status": marker.status.value}
    if marker.reason:
        status["reason"] = marker.reason
    page = {
        "meta": {"api-version": API_VERSION},
        "name": name,
        "project-status": status,
        "versions": versions,
        "files": entries,
    }
    return (json.dumps(page, sort_keys=True, separators=(",", ":")) + "\n").encode()


def render_root_html(names: Sequence[str]) -> bytes:
    """PEP 503 root page: one link per project."""
    links = [f'    <a href="{escape(n)}/">{escape(n)}</a><br>' for n in names]
    body = "\n".join(links)
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        "    <title>Simple index</title>\n  </head>\n  <body>\n"
        f"{body}\n  </body>\n</html>\n"
    ).encode()


def render_root_json(names: Sequence[str]) -> bytes:
    """PEP 691 root page."""
    page = {"meta": {"api-version": API_VERSION}, "projects": [{"name": n} for n in names]}
    return (json.dumps(page, separators=(",", ":")) + "\n").encode()
