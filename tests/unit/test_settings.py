"""``Settings.from_env``: casts, clear refusals naming the variable, overrides."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from endorse.errors import ConfigError
from endorse.settings import Expiry, Settings


def test_no_variables_gives_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_variables_are_cast_to_the_field_types() -> None:
    settings = Settings.from_env(
        {
            "ENDORSE_DATA_DIR": "/srv/endorse",
            "ENDORSE_DATABASE_URL": "postgresql+psycopg://db/endorse",
            "ENDORSE_PORT": "9000",
            "ENDORSE_BIN_COUNT": "16384",
            "ENDORSE_MAX_UPLOAD_BYTES": "1048576",
            "ENDORSE_PUBLISH_INTERVAL": "0.25",
            "ENDORSE_TUF_ENABLED": "false",
            "ENDORSE_RUN_PUBLISHER": "Yes",
            "ENDORSE_PASSWORD_MEMORY_KIB": "256",
            "ENDORSE_EXPIRY_TIMESTAMP_DAYS": "0.5",
            "ENDORSE_EXPIRY_BINS_DAYS": "3",
        }
    )
    assert settings.data_dir == Path("/srv/endorse")
    assert settings.database_url == "postgresql+psycopg://db/endorse"
    assert settings.port == 9000
    assert settings.bin_count == 16384
    assert settings.max_upload_bytes == 1048576
    assert settings.publish_interval == 0.25
    assert settings.tuf_enabled is False
    assert settings.run_publisher is True
    assert settings.password_memory_kib == 256
    assert settings.expiry.timestamp == timedelta(hours=12)
    assert settings.expiry.bins == timedelta(days=3)
    assert settings.expiry.root == Expiry().root


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1", True), ("true", True), ("ON", True), ("0", False), ("no", False), (" Off ", False)],
)
def test_booleans(raw: str, value: bool) -> None:
    assert Settings.from_env({"ENDORSE_TUF_ENABLED": raw}).tuf_enabled is value


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("ENDORSE_PORT", "eighty"),
        ("ENDORSE_PORT", "80.5"),
        ("ENDORSE_BIN_COUNT", ""),
        ("ENDORSE_MAX_UPLOAD_BYTES", "100MB"),
        ("ENDORSE_PUBLISH_INTERVAL", "fast"),
        ("ENDORSE_TUF_ENABLED", "maybe"),
        ("ENDORSE_RUN_PUBLISHER", ""),
        ("ENDORSE_EXPIRY_SNAPSHOT_DAYS", "one"),
    ],
)
def test_bad_value_names_the_variable(variable: str, raw: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({variable: raw})
    assert f"'{variable}'" in refused.value.message
    assert repr(raw) in refused.value.message


@pytest.mark.parametrize("count", ["0", "1", "3", "12", "-4", "1000"])
def test_bin_count_must_be_a_power_of_two(count: str) -> None:
    with pytest.raises(ConfigError, match=r"'ENDORSE_BIN_COUNT'.*Not a power of two") as refused:
        Settings.from_env({"ENDORSE_BIN_COUNT": count})
    assert refused.value.hint is not None
    with pytest.raises(ConfigError, match="ENDORSE_BIN_COUNT"):
        Settings.from_env({}, bin_count=int(count))


@pytest.mark.parametrize("count", [2, 16, 1024, 16384])
def test_powers_of_two_are_valid_bin_counts(count: int) -> None:
    assert Settings.from_env({"ENDORSE_BIN_COUNT": str(count)}).bin_count == count


@pytest.mark.parametrize("size", ["0", "-1"])
def test_upload_limit_must_be_positive(size: str) -> None:
    with pytest.raises(ConfigError, match="ENDORSE_MAX_UPLOAD_BYTES"):
        Settings.from_env({"ENDORSE_MAX_UPLOAD_BYTES": size})


def test_overrides_win_over_the_environment() -> None:
    environ = {"ENDORSE_PORT": "1000", "ENDORSE_DATA_DIR": "/from/env"}
    settings = Settings.from_env(environ, port=2000, data_dir=Path("/from/cli"))
    assert (settings.port, settings.data_dir) == (2000, Path("/from/cli"))


def test_none_overrides_are_ignored() -> None:
    environ = {"ENDORSE_PORT": "1000", "ENDORSE_BIN_COUNT": "32"}
    settings = Settings.from_env(environ, port=None, bin_count=None, data_dir=None)
    assert (settings.port, settings.bin_count) == (1000, 32)
    assert settings.data_dir == Settings().data_dir


def test_other_variables_are_ignored() -> None:
    assert Settings.from_env({"PORT": "x", "endorse_port": "x", "HOME": "/root"}) == Settings()


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.port = 1  # type: ignore[misc]


def test_default_locations_are_inside_the_data_dir(tmp_path: Path) -> None:
    settings = Settings.from_env({"ENDORSE_DATA_DIR": str(tmp_path)})
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve()}/endorse.sqlite3"
    assert settings.resolved_storage_url == (tmp_path.resolve() / "store").as_uri()
    assert settings.keys_dir == tmp_path / "keys"


def test_expiry_by_role_kind() -> None:
    expiry = Expiry(recently_claimed=timedelta(days=2))
    assert expiry.for_role_kind("recently-claimed") == timedelta(days=2)
    assert expiry.for_role_kind("recently_claimed") == timedelta(days=2)
    with pytest.raises(ConfigError, match="no expiry is configured for role kind 'nonsense'"):
        expiry.for_role_kind("nonsense")


def test_to_env_reads_back_as_the_same_settings() -> None:
    """``endorse serve`` hands its settings to its publisher process this way."""
    settings = Settings(
        data_dir=Path("/srv/endorse data"),
        database_url="postgresql+psycopg://db/endorse",
        port=0,
        bin_count=16384,
        tuf_enabled=False,
        run_publisher=False,
        publish_interval=0.05,
        upload_wait=0.0,
        expiry=Expiry(timestamp=timedelta(seconds=1), bins=timedelta(hours=36)),
    )
    env = settings.to_env()
    assert all(key.startswith("ENDORSE_") for key in env)
    assert Settings.from_env(env) == settings
    assert Settings.from_env(Settings().to_env()) == Settings()
