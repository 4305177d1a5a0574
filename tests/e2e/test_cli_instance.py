"""The command line without a running `up`: commands that work on the
product's data say so plainly instead of starting servers of their own;
those that need none (`openapi`, `migrate` with DATABASE_URL) are unaffected;
a data directory's JWT key is used, so no false warning is printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.identity.jwt_tokens import KEY_FILE_NAME, new_private_key_pem
from adapters.runtime import instance

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SMSLEDGER = [sys.executable, "-m", "adapters.cli.main"]
JWT_WARNING = "no JWT signing key configured"


@pytest.fixture
def shell_env(tmp_path: Path) -> dict[str, str]:
    """Nothing of smsledger configured, and a home of its own."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "NATS_URL") and not k.startswith(("SMSLEDGER_", "XDG_"))}
    env.update(HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT))
    return env


def _run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SMSLEDGER, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_without_a_running_up_a_command_says_so_and_starts_nothing(
    tmp_path: Path, shell_env: dict[str, str]
) -> None:
    done = _run(tmp_path, shell_env, "accounts", "create", "--name", "Acme", "--shell")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no smsledger up is running" in done.stderr
    assert done.stdout == ""  # nothing for `eval` to run
    assert not (tmp_path / ".smsledger").exists()

    named = _run(tmp_path, shell_env, "ledger", "verify", "--data-dir", "sms-data")
    assert named.returncode == 2
    assert f"no smsledger up is running on {tmp_path / 'sms-data'}" in named.stderr
    assert not (tmp_path / "sms-data").exists()


def test_a_stale_record_is_reported(tmp_path: Path, shell_env: dict[str, str]) -> None:
    data_dir = tmp_path / "sms-data"
    data_dir.mkdir()
    record = instance.this_process(data_dir, "http://127.0.0.1:8000", "postgresql:///x")
    gone = instance.InstanceRecord(record.pid, record.started_at - 3600, record.data_dir,
                                   record.api_url, record.database_url)
    instance._write(data_dir / instance.RECORD_NAME, gone)
    env = {**shell_env, "SMSLEDGER_DATA_DIR": str(data_dir)}
    done = _run(tmp_path, env, "ledger", "verify")
    assert done.returncode == 2
    assert f"the smsledger up that ran on {data_dir} (pid {record.pid}) is gone" in done.stderr


def test_openapi_and_migrate_need_no_running_up(
    tmp_path: Path, shell_env: dict[str, str], database_url: str
) -> None:
    document = _run(tmp_path, shell_env, "openapi")
    assert document.returncode == 0, document.stderr
    assert document.stdout.startswith("{")
    migrated = _run(tmp_path, {**shell_env, "DATABASE_URL": database_url}, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert not (tmp_path / ".smsledger").exists()


def test_the_key_of_the_data_dir_is_used_without_a_warning(
    tmp_path: Path, shell_env: dict[str, str], database_url: str
) -> None:
    data_dir = tmp_path / "sms-data"
    data_dir.mkdir()
    (data_dir / KEY_FILE_NAME).write_bytes(new_private_key_pem())
    env = {**shell_env, "DATABASE_URL": database_url}
    done = _run(tmp_path, env, "ledger", "verify", "--data-dir", "sms-data")
    assert done.returncode == 0, done.stderr
    assert JWT_WARNING not in done.stderr
    # Without a key anywhere, a command that signs no token has nothing to warn of.
    bare = _run(tmp_path, env, "ledger", "verify")
    assert bare.returncode == 0, bare.stderr
    assert JWT_WARNING not in bare.stderr
