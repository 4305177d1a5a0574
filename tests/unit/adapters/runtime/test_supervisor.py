"""`up`'s supervisor: a dead child is reaped, reported and restarted with a
capped, growing backoff; the roles' state reaches /readyz through a file."""

from __future__ import annotations

import logging
import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from adapters.runtime.roles_status import check_names, role_checks, write_roles_status
from adapters.runtime.supervisor import Backoff, SupervisedProcess, Supervisor, describe_exit
from tests.support.toy_children import exit_at_once, run_until_stopped

pytestmark = pytest.mark.timeout(60)
T = TypeVar("T")
START_TIMEOUT_S = 30.0


def _poll(fetch: Callable[[], T], done: Callable[[T], bool], timeout_s: float = 10.0) -> T:
    deadline = time.monotonic() + timeout_s
    value = fetch()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.005)
        value = fetch()
    return value


def _gone(pid: int) -> bool:
    """Reaped: not even a zombie is left in the process table."""
    return not Path(f"/proc/{pid}").exists()


def test_a_killed_child_is_reaped_reported_dead_and_restarted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "adapters.runtime.supervisor")
    status = tmp_path / "roles.json"
    supervisor = Supervisor(
        lambda roles: SupervisedProcess(run_until_stopped, (), "toy"),
        [("relay",), ("projector:dlr_stats,usage", "dispatcher")], status,
        Backoff(first_s=0.3),
    )
    supervisor.start()
    try:
        assert supervisor.wait_running(START_TIMEOUT_S)
        everything_ok = {"relay": "ok", "projector:dlr_stats": "ok", "projector:usage": "ok",
                         "dispatcher": "ok"}
        assert role_checks(status) == everything_ok
        relay, dispatcher = supervisor.pids()
        assert relay is not None and dispatcher is not None

        os.kill(dispatcher, signal.SIGKILL)
        seen = _poll(lambda: role_checks(status), lambda c: c["dispatcher"] == "dead")
        assert seen == {**everything_ok, "projector:dlr_stats": "dead",
                        "projector:usage": "dead", "dispatcher": "dead"}
        assert _poll(lambda: _gone(dispatcher), bool, 5.0)

        assert _poll(lambda: role_checks(status), lambda c: c == everything_ok,
                     START_TIMEOUT_S) == everything_ok
        assert supervisor.pids()[0] == relay
        assert supervisor.pids()[1] not in (None, dispatcher)
    finally:
        pids = supervisor.pids()
        supervisor.stop()
    assert all(pid is not None and _gone(pid) for pid in pids)
    assert not status.exists()
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"(pid {dispatcher}) died: killed by SIGKILL; restarting it in 0.3 s" in m
               for m in messages), messages
    assert any(re.search(r"dispatcher restarted \(pid \d+, restart 1\)", m)
               for m in messages), messages


def test_a_child_that_keeps_dying_is_restarted_ever_more_slowly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "adapters.runtime.supervisor")
    status = tmp_path / "roles.json"
    supervisor = Supervisor(
        lambda roles: SupervisedProcess(exit_at_once, (3,), "toy"), [("relay",)], status,
        Backoff(first_s=0.1, factor=2.0, max_s=0.4),
    )
    watched_s = 3.0
    cpu_before_s = time.process_time()
    supervisor.start()
    try:
        assert _poll(lambda: role_checks(status), lambda c: c == {"relay": "dead"})
        time.sleep(watched_s)
        assert not supervisor.wait_running(0.0)
    finally:
        supervisor.stop()
    cpu_s = time.process_time() - cpu_before_s
    delays_s = [float(found.group(1)) for r in caplog.records
                if (found := re.search(r"exited with code 3; restarting it in ([\d.]+) s",
                                       r.getMessage()))]
    # Each start costs a spawn, then the wait doubles up to its cap: 0.1,
    # 0.2, then 0.4 s each, about seven deaths in three seconds, however
    # fast the child dies. A spinning supervisor would burn the whole time.
    assert delays_s[:3] == [0.1, 0.2, 0.4]
    assert set(delays_s[2:]) == {0.4}
    assert 3 <= len(delays_s) <= 1 + watched_s / 0.4 + 2
    assert cpu_s < watched_s / 3, f"the supervisor used {cpu_s:.2f} s of CPU"


def test_the_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(first_s=1.0, factor=2.0, max_s=30.0)
    assert [backoff.delay_s(n) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay_s(10_000) == 30.0


def test_exits_are_described_by_code_or_signal() -> None:
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe_exit(-signal.SIGSEGV) == "killed by SIGSEGV"
    assert describe_exit(0) == "exited with code 0"
    assert describe_exit(1) == "exited with code 1"


def test_the_status_names_each_role_and_projection() -> None:
    assert check_names(("projector:message_log",)) == ["projector:message_log"]
    assert check_names(("projector:a,b", "dispatcher", "projector")) == [
        "projector:a", "projector:b", "dispatcher", "projector"]


def test_a_status_that_cannot_be_trusted_is_not_ready(tmp_path: Path) -> None:
    status = tmp_path / "roles.json"
    assert role_checks(status) == {"workers": "unknown"}
    status.write_text("{not json")
    assert role_checks(status) == {"workers": "unknown"}
    write_roles_status(status, {"relay": "running", "dispatcher": "starting"})
    assert role_checks(status) == {"relay": "ok", "dispatcher": "starting"}
    # A supervisor that is gone: its last word no longer holds.
    status.write_text('{"supervisor_pid": 999999999, "roles": {"relay": "running"}}')
    assert role_checks(status) == {"workers": "supervisor gone"}


def test_a_supervisor_that_fails_leaves_readiness_false(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    status = tmp_path / "roles.json"
    supervisor = Supervisor(
        lambda roles: SupervisedProcess(run_until_stopped, (), "toy"), [("relay",)], status
    )
    supervisor.start()
    try:
        assert supervisor.wait_running(START_TIMEOUT_S)

        def broken(*args: object) -> bool:
            raise RuntimeError("a defect in the supervisor")

        monkeypatch.setattr(supervisor, "_handle", broken)
        (pid,) = supervisor.pids()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        seen = _poll(lambda: role_checks(status), lambda c: c != {"relay": "ok"})
        assert seen == {"relay": "unsupervised"}
    finally:
        supervisor.stop()
    assert "the supervisor of the worker processes failed" in caplog.text
