"""`smsledger up` supervises its children: the dispatcher's process killed
with SIGKILL is reaped, /readyz says so until it runs again, it is restarted,
and the messages it would have handled reach a final status."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from tests.e2e.test_up import (  # noqa: F401 - product_env is a fixture
    SMSLEDGER,
    STOP_TIMEOUT_S,
    product_env,
)
from tests.support.processes import stop_gracefully

pytestmark = pytest.mark.e2e
T = TypeVar("T")

START_TIMEOUT_S = 90
BULK_SIZE = 100
# Two API processes: /readyz must tell the truth in each, not only in the
# process that supervises the children.
API_WORKERS = "2"


class Up:
    """`smsledger up` in a subprocess, its output read as it comes."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir, self.env = data_dir, env
        self.process = subprocess.Popen(
            [*SMSLEDGER, "up", "--data-dir", str(data_dir), "--port", "0",
             "--workers", API_WORKERS],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        found = self.wait_for_line(r"listening on (http://\S+)", START_TIMEOUT_S)
        self.base_url = found.group(1)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for_line(self, pattern: str, timeout_s: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if found := re.search(pattern, line):
                    return found
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        pytest.fail(f"no line matching {pattern!r} in:\n{''.join(self.lines)}")

    def worker_children(self) -> list[int]:
        """The children `up` spawned for the background roles and API
        processes, oldest first: `up` starts the relay's, the message log's,
        then the one with the dispatcher, before the API processes."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            state, parent, started = fields[0], int(fields[1]), int(fields[19])
            if parent == self.process.pid and b"spawn_main" in cmdline and state != "Z":
                found.append((started, int(entry.name)))
        return [pid for _, pid in sorted(found)]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*SMSLEDGER, *args, "--data-dir", str(self.data_dir)],
                              env=self.env, capture_output=True, text=True, timeout=120)

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=STOP_TIMEOUT_S)
        self._reader.join(timeout=STOP_TIMEOUT_S)
        return "".join(self.lines)


@pytest.fixture
def up(tmp_path: Path, product_env: dict[str, str]) -> Iterator[Up]:  # noqa: F811
    running = Up(tmp_path / "data", {**product_env, "SMSLEDGER_SIM_FAILURE_SHARE": "0"})
    try:
        yield running
    finally:
        stop_gracefully(running.process)


def _poll(fetch: Callable[[], T], done: Callable[[T], bool], timeout_s: float) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = fetch()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def _process_state(pid: int) -> str | None:
    """R, S, Z (a zombie: dead, never waited for) ...; None once reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def test_a_killed_worker_child_is_reaped_reported_and_restarted(up: Up) -> None:
    created = up.cli("accounts", "create", "--name", "Kill", "--sender-id", "Acme",
                     "--credit", "100.00", "--country", "GB", "--json")
    assert created.returncode == 0, created.stderr
    account = json.loads(created.stdout)
    headers = {"X-API-Key": account["api_key"], "X-API-Secret": account["api_secret"]}
    with httpx.Client(base_url=up.base_url, headers=headers, timeout=30) as http:
        ready = _poll(lambda: http.get("/readyz"), lambda r: r.status_code == 200, 60)
        assert ready.status_code == 200, ready.text

        dispatcher = up.worker_children()[2]
        os.kill(dispatcher, signal.SIGKILL)
        not_ready = _poll(lambda: http.get("/readyz"), lambda r: r.status_code == 503, 10)
        assert not_ready.status_code == 503, not_ready.text
        assert not_ready.json()["checks"]["dispatcher"] != "ok", not_ready.text
        # Sends are still taken; they wait, durably, for the dispatcher.
        bulk = http.post("/v1/sms/bulk", json={
            "from": "Acme", "body": "while the dispatcher is down",
            "recipients": [{"to": f"+4477009{i:05d}"} for i in range(BULK_SIZE)]})
        assert bulk.status_code == 200, bulk.text
        batch_id = bulk.json()["data"]["batch_id"]
        reaped = _poll(lambda: _process_state(dispatcher), lambda s: s is None, 10)
        assert reaped is None, f"the killed child is left as {reaped!r} (Z: a zombie)"

        ready = _poll(lambda: http.get("/readyz"), lambda r: r.status_code == 200, 60)
        assert ready.status_code == 200, ready.text

        def final(response: httpx.Response) -> bool:
            counts = response.json()["data"]["messages"] if response.status_code == 200 else {}
            return sum(counts.values()) == BULK_SIZE and counts["queued"] + counts["sent"] == 0

        campaign = _poll(lambda: http.get(f"/v1/campaigns/{batch_id}"), final, 60)
        assert final(campaign), campaign.text
    output = up.stop()
    assert re.search(rf"pid {dispatcher}\).*died.*SIGKILL", output), output
    assert re.search(r"restarted", output), output
    assert "smsledger stopped" in output
    assert up.process.returncode == 0, output
