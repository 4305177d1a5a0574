"""How the commands find the running `smsledger up`: by the directory the
user names (relative or absolute), else the default directory, else the one
`up` this user runs; stale records are noticed; none or several is an error
that says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.runtime import instance
from adapters.runtime.instance import InstanceRecord, NoInstance


def _alive(data_dir: Path, url: str = "http://127.0.0.1:8000") -> InstanceRecord:
    return instance.this_process(data_dir, url, "postgresql://postgres@/postgres?host=/tmp")


def _gone(data_dir: Path) -> InstanceRecord:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    record = _alive(data_dir)
    return InstanceRecord(int(finished.stdout), record.started_at, record.data_dir,
                          record.api_url, record.database_url)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_STATE_HOME": str(tmp_path / "state")}


def test_a_record_names_this_process_until_the_block_ends(
    tmp_path: Path, env: dict[str, str]
) -> None:
    data_dir = tmp_path / "data"
    record = _alive(data_dir)
    with instance.recorded(record, env):
        assert instance.read_record(data_dir / instance.RECORD_NAME) == record
        assert record.alive()
        (kept,) = (instance.state_dir(env)).glob("*.json")
        assert oct(kept.stat().st_mode & 0o777) == oct(0o600)
    assert not (data_dir / instance.RECORD_NAME).exists()
    assert not list(instance.state_dir(env).glob("*.json"))


def test_a_named_directory_relative_or_absolute_finds_its_up(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    record = _alive(data_dir)
    with instance.recorded(record, env):
        assert instance.locate(data_dir, Path(".smsledger"), env) == record
        monkeypatch.chdir(tmp_path / "data")
        assert instance.locate(Path("../data"), Path(".smsledger"), env) == record
        assert record.data_dir == str(data_dir)  # kept absolute


def test_without_a_name_the_only_running_up_is_found_from_anywhere(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    record = _alive(tmp_path / "elsewhere")
    monkeypatch.chdir(tmp_path)
    with instance.recorded(record, env):
        assert instance.locate(None, Path(".smsledger"), env) == record


def test_nothing_running_is_said_plainly(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(NoInstance, match="no smsledger up is running"):
        instance.locate(None, tmp_path / ".smsledger", env)
    with pytest.raises(NoInstance, match=f"no smsledger up is running on {tmp_path}"):
        instance.locate(tmp_path / "data", tmp_path / ".smsledger", env)


def test_a_stale_record_is_noticed(tmp_path: Path, env: dict[str, str]) -> None:
    data_dir = tmp_path / "data"
    gone = _gone(data_dir)
    assert not gone.alive()
    with instance.recorded(gone, env):
        with pytest.raises(NoInstance, match=r"is gone: start it again"):
            instance.locate(data_dir, tmp_path / ".smsledger", env)
        with pytest.raises(NoInstance, match=rf"ran on {data_dir}, pid {gone.pid}, is gone"):
            instance.locate(None, tmp_path / ".smsledger", env)


def test_a_reused_pid_is_not_the_up_that_wrote_the_record(tmp_path: Path) -> None:
    mine = _alive(tmp_path)
    earlier = InstanceRecord(os.getpid(), mine.started_at - 60, mine.data_dir, mine.api_url,
                             mine.database_url)
    assert not earlier.alive()


def test_several_running_ups_must_be_told_apart(tmp_path: Path, env: dict[str, str]) -> None:
    first, second = _alive(tmp_path / "a"), _alive(tmp_path / "b", "http://127.0.0.1:9000")
    # Two records of one process stand for two `up`s here.
    instance._write(instance.state_dir(env) / "1.json", first)
    instance._write(instance.state_dir(env) / "2.json", second)
    with pytest.raises(NoInstance, match="several smsledger up are running") as raised:
        instance.locate(None, tmp_path / ".smsledger", env)
    assert str(tmp_path / "a") in str(raised.value) and "9000" in str(raised.value)
    # The default directory's own `up` is the one meant.
    instance._write(tmp_path / ".smsledger" / instance.RECORD_NAME, second)
    assert instance.locate(None, tmp_path / ".smsledger", env) == second


def test_a_second_up_on_one_directory_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    record = _alive(tmp_path / "data")
    with instance.recorded(record, env):
        with pytest.raises(NoInstance, match="already running"):
            instance.refuse_second_up(tmp_path / "data")
    instance.refuse_second_up(tmp_path / "data")  # gone now: fine
