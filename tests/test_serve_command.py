"""``endorse serve`` as a new user meets it: the banner, the front page, a taken port.

The banner and the front page put the verified install first (issue 12), and
the commands they print work when copied literally.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from endorse.cli import main
from tests.client.conftest import installed
from tests.conftest import FAST_ENV, IndexServer, tool_env
from tests.inprocess import InProcessIndex
from tests.packages import make_wheel


def test_front_page_puts_the_verified_install_first(tmp_path: Path) -> None:
    index = InProcessIndex.start(tmp_path / "index")
    try:
        page = index.get("/").text
        verified = f"endorse install --index {index.url} --root-sha256 {index.root_sha256} -- "
        assert verified in page and "pip install --index-url" in page
        assert page.index(verified) < page.index("pip install --index-url")
        assert f"twine upload --repository-url {index.url}/legacy/ -u __token__ -p " in page
    finally:
        index.stop()


def test_serve_banner_commands_work_when_copied(server: IndexServer, tmp_path: Path) -> None:
    """The upload line and the verified install line, run as printed."""
    assert server.log_path is not None
    banner = server.log_path.read_text()
    upload = next(line.strip() for line in banner.splitlines() if "twine upload" in line)
    install = next(line.strip() for line in banner.splitlines() if "endorse install" in line)
    root = server.get("/tuf/metadata/root.json").content
    assert f"--root-sha256 {hashlib.sha256(root).hexdigest()}" in install
    banner_lines = banner.splitlines()
    first_install = next(i for i, line in enumerate(banner_lines) if "install," in line)
    assert "verified" in banner_lines[first_install]

    wheel = make_wheel(tmp_path / "dist", "copied-pkg", "1.0")
    env = tool_env()
    # twine and endorse on PATH, as after `./scripts/serve` with .venv/bin added
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    uploaded = subprocess.run(
        shlex.split(upload.replace("dist/*", str(wheel))), capture_output=True, text=True, env=env
    )
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr
    server.wait_published()
    target = tmp_path / "t"
    command = shlex.split(install.replace("-- PROJECT", ""))
    env["ENDORSE_CLIENT_CACHE"] = str(tmp_path / "cache")
    done = subprocess.run(
        [*command, "--python", sys.executable, "--", "--target", str(target), "copied-pkg"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert installed(target) == {"copied-pkg": "1.0"}


def test_a_taken_port_is_a_usage_error_not_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner(env=FAST_ENV).invoke(
            main, ["serve", "--port", str(port), "--data-dir", str(tmp_path / "data")]
        )
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in message
    assert "--port 0 picks a free one" in message and "Traceback" not in result.output
    assert not (tmp_path / "data").exists()  # nothing created for an index that cannot run
    assert re.search(r"error:", result.stderr)
