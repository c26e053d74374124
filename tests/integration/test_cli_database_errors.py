"""An unreachable or unopenable database ends the CLI with one clear line, fast.

Run as an operator would: the ``wheelflow`` command in a subprocess, with the database URL in
the environment. The line names the host and port (or the SQLite path), never the password,
and arrives within 5 s (libpq ``connect_timeout`` and a check before Prefect starts).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

PASSWORD = "s3cret-pw-never-printed"


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wheelflow(args: list[str], database_url: str, data_dir: Path) -> tuple[int, str, float]:
    env = {
        **os.environ,
        "WHEELFLOW_DATABASE_URL": database_url,
        "WHEELFLOW_DATA_DIR": str(data_dir),
        "PREFECT_HOME": str(data_dir / "prefect"),
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "wheelflow", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stderr + done.stdout, time.perf_counter() - started


@pytest.mark.parametrize("command", [["run", "--quiet"], ["db", "upgrade"], ["db", "status"]])
def test_a_wrong_database_port_fails_in_one_line_naming_the_host_within_5_s(
    command: list[str], tmp_path: Path
) -> None:
    port = free_port()
    url = f"postgresql+psycopg://wheelflow:{PASSWORD}@127.0.0.1:{port}/wheelflow"
    code, output, seconds = wheelflow(command, url, tmp_path)
    assert code == 2
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("wheelflow: error: database unreachable at 127.0.0.1:")
    assert f"127.0.0.1:{port}/wheelflow" in lines[0]
    assert PASSWORD not in output
    assert seconds < 5, f"took {seconds:.1f} s"


def test_a_sqlite_path_that_cannot_be_created_names_the_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the data directory should be")
    target = blocker / "sub" / "wheelflow.sqlite"
    code, output, seconds = wheelflow(["db", "upgrade"], f"sqlite:///{target}", tmp_path)
    assert code == 2
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert str(blocker / "sub") in lines[0]
    assert seconds < 5


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_an_unwritable_sqlite_directory_names_the_path(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, output, _ = wheelflow(
            ["db", "upgrade"], f"sqlite:///{locked / 'wheelflow.sqlite'}", tmp_path
        )
    finally:
        locked.chmod(0o700)
    assert code == 2
    assert str(locked / "wheelflow.sqlite") in output
    assert "not writable" in output
    assert len(output.strip().splitlines()) == 1
