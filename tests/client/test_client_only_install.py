"""The client alone (issue 12): installed without the server's dependencies, as
`pipx install endorse` does, it verifies and installs against a served index, and
the index's commands say which extra they need."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.client.conftest import World, installed, uv
from tests.conftest import tool_env

REPO = Path(__file__).resolve().parents[2]
SERVER_ONLY = ("starlette", "uvicorn", "sqlalchemy", "alembic", "multipart", "argon2", "filelock")


def test_client_only_install_verifies_and_installs(world: World, tmp_path: Path) -> None:
    venv = tmp_path / "pipx-endorse"
    env = tool_env()
    env.pop("UV_NO_CACHE")  # a cache of its own: the dependencies come from the registry
    env["UV_CACHE_DIR"] = str(Path.home() / ".cache" / "endorse-tests-uv")
    subprocess.run([uv(), "venv", "--python", sys.executable, str(venv)], check=True, env=env)
    python = venv / "bin" / "python"
    done = subprocess.run(
        [uv(), "pip", "install", "--python", str(python), str(REPO)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for module in SERVER_ONLY:
        probe = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True)
        assert probe.returncode != 0, f"{module} came with the client"

    endorse = str(venv / "bin" / "endorse")
    run_env = tool_env({"ENDORSE_CLIENT_CACHE": str(tmp_path / "cache"), "COLUMNS": "200"})
    result = subprocess.run(
        [endorse, "install", "--index", world.url, "--root", str(world.root),
         "--python", sys.executable, "--", "--target", str(tmp_path / "t"), "gamma"],
        capture_output=True, text=True, env=run_env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert installed(tmp_path / "t") == {"gamma": "1.0"}
    assert "gamma-1.0-py3-none-any.whl" in result.stderr and "index-signed" in result.stderr

    serve = subprocess.run([endorse, "serve"], capture_output=True, text=True, env=run_env)
    assert serve.returncode == 2
    assert "`endorse serve` needs the 'server' extra" in serve.stderr
    assert "pip install 'endorse[server]'" in serve.stderr
