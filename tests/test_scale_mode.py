"""Beyond one machine: PostgreSQL for state, S3-compatible storage, several API
processes and a separate publisher (DESIGN rule 6)."""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from endorse.metadata.paths import file_target
from tests.conftest import ENDORSE, IndexServer, http_upload, pip_install, server_env
from tests.packages import make_wheel


@pytest.fixture
def s3_env() -> Iterator[dict[str, str]]:
    """An S3-compatible server on 127.0.0.1 (moto: real S3 is out of reach here)."""
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {
        "AWS_ACCESS_KEY_ID": "endorse-test",
        "AWS_SECRET_ACCESS_KEY": "endorse-test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ENDORSE_S3_ENDPOINT_URL": endpoint,
        "ENDORSE_STORAGE_URL": "s3://endorse-test/index",
    }
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="endorse-test",
        aws_secret_access_key="endorse-test",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="endorse-test")
    try:
        yield env
    finally:
        server.stop()


def test_two_api_processes_one_publisher_on_postgres_and_s3(
    postgres_url: str, s3_env: dict[str, str], tmp_path: Path
) -> None:
    """Uploads through either API process are published by the single leader
    publisher; a standby publisher waits; clients verify through either process."""
    env = server_env({**s3_env, "ENDORSE_DATABASE_URL": postgres_url, "ENDORSE_UPLOAD_WAIT": "60"})
    first = IndexServer(tmp_path / "api-1", env, ["--no-publisher"]).start()
    second = IndexServer(tmp_path / "api-2", env, ["--no-publisher"]).start()
    assert not (tmp_path / "api-2" / "store").exists(), "storage must be S3, not a folder"
    publishers = [
        subprocess.Popen(
            [ENDORSE, "publisher", "-v", "--data-dir", str(first.data_dir)],
            stderr=(tmp_path / f"publisher-{i}.log").open("w"),
            env=env,
        )
        for i in range(2)
    ]
    try:
        wheels = [make_wheel(tmp_path / "w", f"scale-{i % 5}", f"1.{i}") for i in range(20)]
        with httpx.Client() as client, ThreadPoolExecutor(8) as pool:
            responses = list(
                pool.map(
                    lambda iw: http_upload(
                        client, first if iw[0] % 2 else second, iw[1], first.token
                    ),
                    enumerate(wheels),
                )
            )
        assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses]
        second.wait_published()

        updater = second.updater(tmp_path / "client")
        updater.refresh()
        for i, wheel in enumerate(wheels):
            info = updater.get_targetinfo(file_target(f"scale-{i % 5}", wheel.name))  # type: ignore[arg-type]
            assert info is not None
            assert Path(updater.download_target(info)).read_bytes() == wheel.read_bytes()

        result = pip_install(first, tmp_path / "target", "scale-3==1.18")
        assert result.returncode == 0, result.stderr

        # The standby logs once it has tried the lock; on a loaded machine that
        # can take a moment after its start.
        deadline = time.monotonic() + 15
        while True:
            logs = [(tmp_path / f"publisher-{i}.log").read_text() for i in range(2)]
            if any("standing by" in log for log in logs) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        leaders = [log for log in logs if "publisher is leader" in log]
        assert len(leaders) == 1, logs
        assert any("standing by" in log for log in logs), logs
    finally:
        for process in publishers:
            process.terminate()
            process.wait(30)
        first.stop()
        second.stop()
