"""``endorse install`` installs where pip and uv would (issue 12): the active
virtual environment, else the python3 on PATH, or where ``--python`` says;
never into endorse's own interpreter. The report names the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from endorse.client.install import target_environment
from endorse.errors import ConfigError
from tests.client.conftest import World
from tests.conftest import ENDORSE, tool_env


def make_venv(folder: Path, *, pip: bool = True) -> Path:
    args = [] if pip else ["--without-pip"]
    subprocess.run([sys.executable, "-m", "venv", *args, str(folder)], check=True)
    return folder


def activated(venv: Path, cache: Path) -> dict[str, str]:
    """What `source venv/bin/activate` leaves in the environment."""
    env = tool_env({"ENDORSE_CLIENT_CACHE": str(cache), "COLUMNS": "200"})
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    return env


def install(world: World, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ENDORSE, "install", "--index", world.url, "--root", str(world.root), "--json", *args],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip


def imports(venv: Path, module: str) -> bool:
    probe = [str(venv / "bin" / "python"), "-c", f"import {module}"]
    return subprocess.run(probe, capture_output=True).returncode == 0


def test_installs_into_the_active_virtual_environment_or_the_one_named(
    world: World, tmp_path: Path
) -> None:
    active = make_venv(tmp_path / "active")
    env = activated(active, tmp_path / "cache")

    result = install(world, env, "gamma")
    assert result.returncode == 0, result.stderr
    assert imports(active, "gamma") and not imports(Path(sys.prefix), "gamma")
    report = json.loads(result.stdout)
    assert report["environment"]["prefix"] == str(active)
    assert report["environment"]["chosen_by"] == "the active virtual environment, VIRTUAL_ENV"
    assert f"pip installed into {active} (the active virtual environment" in result.stderr

    other = make_venv(tmp_path / "other")
    named = install(world, env, "--python", str(other), "beta==1.0")
    assert named.returncode == 0, named.stderr
    assert imports(other, "beta") and not imports(active, "beta")
    assert json.loads(named.stdout)["environment"]["chosen_by"] == "--python"

    # pip's own --python, passed through to pip, chooses too (pip wants it before `install`).
    third = make_venv(tmp_path / "third")
    passed = install(world, env, "--", "--python", str(third / "bin" / "python"), "alpha")
    assert passed.returncode == 0, passed.stderr
    assert imports(third, "alpha") and imports(third, "beta")

    bare = make_venv(tmp_path / "bare", pip=False)
    with_uv = install(world, activated(bare, tmp_path / "cache"), "--installer", "uv", "delta")
    assert with_uv.returncode == 0, with_uv.stderr
    assert imports(bare, "delta")
    assert json.loads(with_uv.stdout)["environment"]["prefix"] == str(bare)


def test_without_an_active_environment_the_python3_on_path(world: World, tmp_path: Path) -> None:
    """A client installed with pipx runs in pipx's own venv; installs go to the
    python3 on PATH, as a plain `pip install` would."""
    on_path = make_venv(tmp_path / "on-path")
    env = tool_env({"ENDORSE_CLIENT_CACHE": str(tmp_path / "cache")})
    env.pop("VIRTUAL_ENV", None)
    env.pop("CONDA_PREFIX", None)
    env["PATH"] = f"{on_path / 'bin'}{os.pathsep}{env['PATH']}"
    result = install(world, env, "gamma")
    assert result.returncode == 0, result.stderr
    assert imports(on_path, "gamma")
    assert json.loads(result.stdout)["environment"]["chosen_by"] == "python3 on PATH"


def test_a_python_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a Python interpreter"):
        target_environment(str(tmp_path / "nope"), {"PATH": ""})
    with pytest.raises(ConfigError, match=r"has no bin/python"):
        target_environment(None, {"VIRTUAL_ENV": str(tmp_path), "PATH": ""})
    with pytest.raises(ConfigError, match="no Python to install into"):
        target_environment(None, {"PATH": str(tmp_path)})
    venv = target_environment(sys.executable, {"PATH": ""})
    assert venv.python == sys.executable and venv.chosen_by == "--python"
