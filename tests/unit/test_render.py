"""Simple API pages: byte-stable, escaped, and complete (PEP 503, 592, 658, 691, 700, 714)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urljoin

import pytest

from endorse.simple.render import (
    API_VERSION,
    ListedFile,
    StatusMarker,
    render_project_html,
    render_project_json,
    render_root_html,
    render_root_json,
)
from endorse.states import ProjectStatus

WHEN = datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
CORE = "c" * 64


def listed(filename: str, version: str, **kwargs: object) -> ListedFile:
    """A file of project ``hello-world`` with plausible fields."""
    fields: dict[str, object] = {
        "target_path": f"afa2/hello-world/{filename}",
        "sha256": (filename.encode().hex() * 64)[:64],
        "size": len(filename) * 100,
        "upload_time": WHEN,
    }
    fields.update(kwargs)
    return ListedFile(filename=filename, version=version, **fields)  # type: ignore[arg-type]


FILES = [
    listed("hello_world-10.0.tar.gz", "10.0"),
    listed("hello_world-2.0-py3-none-any.whl", "2.0", core_metadata_sha256=CORE),
    listed("hello_world-2.0.tar.gz", "2.0", requires_python=">=3.8,<4"),
    listed("hello_world-2.0rc1.tar.gz", "2.0rc1", yanked=True),
    listed("hello_world-1.0.post1.tar.gz", "1.0.post1", yanked=True, yanked_reason="broken"),
    listed("hello_world-1.0.tar.gz", "1.0"),
]


def page(files: list[ListedFile]) -> dict[str, object]:
    return json.loads(render_project_json("hello-world", files))  # type: ignore[no-any-return]


def json_file(files: list[ListedFile], filename: str) -> dict[str, object]:
    entries = page(files)["files"]
    assert isinstance(entries, list)
    return next(e for e in entries if e["filename"] == filename)


def html_anchor(files: list[ListedFile], filename: str) -> str:
    html = render_project_html("hello-world", files).decode()
    return next(line for line in html.splitlines() if f">{filename}</a>" in line)


@pytest.mark.parametrize("render", [render_project_html, render_project_json])
def test_listing_bytes_do_not_depend_on_input_order(render: object) -> None:
    """A listing is a signed target: the same files always give the same bytes."""
    outputs = {
        render("hello-world", list(order))  # type: ignore[operator]
        for order in itertools.islice(itertools.permutations(FILES), 0, None, 97)
    }
    outputs.add(render("hello-world", list(reversed(FILES))))  # type: ignore[operator]
    assert len(outputs) == 1


@pytest.mark.subprocess  # only fresh interpreters get other hash seeds
def test_json_listing_bytes_do_not_depend_on_hash_seed() -> None:
    """Equal versions spelt differently (x-1.0 wheel, x-1.0.0 sdist) still give one byte string."""
    script = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from endorse.simple.render import ListedFile, render_project_json\n"
        "t = datetime(2024, 1, 1, tzinfo=UTC)\n"
        "files = [ListedFile('x-1.0-py3-none-any.whl', '1.0', 'p/x/a', '0' * 64, 1, t),\n"
        "         ListedFile('x-1.0.0.tar.gz', '1.0.0', 'p/x/b', '1' * 64, 1, t)]\n"
        "sys.stdout.buffer.write(render_project_json('x', files))\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout
        for seed in range(8)
    }
    assert len(outputs) == 1


def test_files_are_ordered_by_version_then_filename() -> None:
    entries = page(FILES)["files"]
    assert isinstance(entries, list)
    assert [e["filename"] for e in entries] == [
        "hello_world-1.0.tar.gz",
        "hello_world-1.0.post1.tar.gz",
        "hello_world-2.0rc1.tar.gz",
        "hello_world-2.0-py3-none-any.whl",
        "hello_world-2.0.tar.gz",
        "hello_world-10.0.tar.gz",
    ]
    html = render_project_html("hello-world", FILES).decode()
    positions = [html.index(f">{e['filename']}</a>") for e in entries]
    assert positions == sorted(positions)


def test_html_escapes_requires_python_and_names() -> None:
    anchor = html_anchor(FILES, "hello_world-2.0.tar.gz")
    assert 'data-requires-python="&gt;=3.8,&lt;4"' in anchor
    assert "<4" not in anchor
    odd = [listed("x-1.0.tar.gz", "1.0", yanked=True, yanked_reason='say "<b>no</b>" & go')]
    html = render_project_html("<script>", odd).decode()
    assert "<script>" not in html
    assert "Links for &lt;script&gt;" in html
    assert 'data-yanked="say &quot;&lt;b&gt;no&lt;/b&gt;&quot; &amp; go"' in html
    # JSON keeps the value as it is.
    assert json_file(FILES, "hello_world-2.0.tar.gz")["requires-python"] == ">=3.8,<4"


def test_yanked_with_and_without_a_reason() -> None:
    """PEP 592 in HTML (data-yanked) and PEP 691 in JSON (reason string or true)."""
    assert 'data-yanked="broken"' in html_anchor(FILES, "hello_world-1.0.post1.tar.gz")
    assert 'data-yanked=""' in html_anchor(FILES, "hello_world-2.0rc1.tar.gz")
    assert "data-yanked" not in html_anchor(FILES, "hello_world-1.0.tar.gz")
    assert json_file(FILES, "hello_world-1.0.post1.tar.gz")["yanked"] == "broken"
    assert json_file(FILES, "hello_world-2.0rc1.tar.gz")["yanked"] is True
    assert json_file(FILES, "hello_world-1.0.tar.gz")["yanked"] is False


def test_core_metadata_attributes_pep_658_and_714() -> None:
    anchor = html_anchor(FILES, "hello_world-2.0-py3-none-any.whl")
    assert f'data-core-metadata="sha256={CORE}"' in anchor
    assert f'data-dist-info-metadata="sha256={CORE}"' in anchor
    entry = json_file(FILES, "hello_world-2.0-py3-none-any.whl")
    assert entry["core-metadata"] == {"sha256": CORE}
    assert entry["dist-info-metadata"] == {"sha256": CORE}
    plain = html_anchor(FILES, "hello_world-2.0.tar.gz")
    assert "data-core-metadata" not in plain
    assert "data-dist-info-metadata" not in plain
    sdist = json_file(FILES, "hello_world-2.0.tar.gz")
    assert sdist["core-metadata"] is False
    assert sdist["dist-info-metadata"] is False


def test_pep_700_versions_size_and_upload_time() -> None:
    listing = page(FILES)
    assert listing["meta"] == {"api-version": API_VERSION}
    assert API_VERSION == "1.4"  # PEP 700 came with 1.1; PEP 792 status markers with 1.4
    assert listing["name"] == "hello-world"
    assert listing["versions"] == ["1.0", "1.0.post1", "2.0rc1", "2.0", "10.0"]
    entry = json_file(FILES, "hello_world-1.0.tar.gz")
    assert entry["size"] == len("hello_world-1.0.tar.gz") * 100
    assert entry["upload-time"] == "2024-01-02T03:04:05.123456Z"
    assert entry["hashes"] == {"sha256": FILES[-1].sha256}


def test_upload_time_is_converted_to_utc() -> None:
    local = WHEN.astimezone(timezone(timedelta(hours=5, minutes=30)))
    entry = json_file([listed("x-1.0.tar.gz", "1.0", upload_time=local)], "x-1.0.tar.gz")
    assert entry["upload-time"] == "2024-01-02T03:04:05.123456Z"


def test_urls_are_relative_and_resolve_to_tuf_targets() -> None:
    """A mirror that copies /simple/ and /tuf/ serves pages whose links still work."""
    project_page = "https://mirror.example/simple/hello-world/"
    entry = json_file(FILES, "hello_world-1.0.tar.gz")
    url = entry["url"]
    assert isinstance(url, str)
    assert url == "../../tuf/targets/afa2/hello-world/hello_world-1.0.tar.gz"
    assert urljoin(project_page, url) == (
        "https://mirror.example/tuf/targets/afa2/hello-world/hello_world-1.0.tar.gz"
    )
    anchor = html_anchor(FILES, "hello_world-1.0.tar.gz")
    assert f'href="{url}#sha256={FILES[-1].sha256}"' in anchor
    assert "://" not in render_project_html("hello-world", FILES).decode()


def test_html_declares_the_repository_version() -> None:
    html = render_project_html("hello-world", FILES).decode()
    assert f'<meta name="pypi:repository-version" content="{API_VERSION}">' in html
    assert html.startswith("<!DOCTYPE html>")


def test_root_pages_link_every_project() -> None:
    names = ["a-project", "hello-world"]
    html = render_root_html(names).decode()
    assert '<a href="hello-world/">hello-world</a>' in html
    root = json.loads(render_root_json(names))
    assert root == {"meta": {"api-version": API_VERSION}, "projects": [{"name": n} for n in names]}


@pytest.mark.parametrize("status", list(ProjectStatus))
def test_pep_792_status_marker_in_both_formats(status: ProjectStatus) -> None:
    marker = StatusMarker(status, 'moved to "x" & co' if status is not ProjectStatus.ACTIVE else "")
    html = render_project_html("hello-world", FILES, marker).decode()
    assert f'<meta name="pypi:project-status" content="{status.value}">' in html
    listing = json.loads(render_project_json("hello-world", FILES, marker))
    expected: dict[str, str] = {"status": status.value}
    if marker.reason:
        expected["reason"] = marker.reason
        assert (
            '<meta name="pypi:project-status-reason" content="moved to &quot;x&quot; &amp; co">'
            in html
        )
    else:
        assert "project-status-reason" not in html
    assert listing["project-status"] == expected
    # The same files and status give the same bytes (the listing is a signed target).
    assert render_project_json("hello-world", FILES, marker) == render_project_json(
        "hello-world", list(reversed(FILES)), marker
    )
