"""The README's walk-through and the finance walk-through of
docs/operations.md, followed exactly as written on a fresh clone:
`smsledger up --data-dir DIR` in one process (embedded PostgreSQL and NATS,
nothing configured), the walk-through's shell block in another, which must
find that instance by itself and end with `ledger verify` passing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import stop_gracefully

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 30
BLOCK_TIMEOUT_S = 180


def doc_block(doc: str, heading: str) -> str:
    """The first ```sh block after a heading of a document, as the reader sees it."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n")
    found = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    assert found, f"no sh block under {heading!r}"
    return found.group(1)


class Up:
    """`smsledger up` in a subprocess, its output collected by a thread so
    that a chatty log never blocks it on a full pipe."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "adapters.cli.main", "up", *args],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for_url(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and self.process.poll() is None:
            for line in list(self.lines):
                found = re.search(r"listening on (http://\S+)", line)
                if found:
                    return found.group(1)
            time.sleep(0.1)
        self.stop()
        pytest.fail("smsledger up did not announce its URL:\n" + "".join(self.lines))

    def stop(self) -> int:
        stop_gracefully(self.process, STOP_TIMEOUT_S)
        self._reader.join(timeout=STOP_TIMEOUT_S)
        return self.process.returncode


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    """A directory laid out like a clone after `./scripts/up` installed it:
    `.venv/bin/smsledger` runs this checkout's product."""
    clone = tmp_path / "clone"
    (clone / ".venv" / "bin").mkdir(parents=True)
    shim = clone / ".venv" / "bin" / "smsledger"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m adapters.cli.main "$@"\n')
    shim.chmod(0o755)
    return clone


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """A user's shell with nothing of smsledger configured: embedded servers,
    and a home of its own so that no other instance on this machine is seen."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "NATS_URL") and not k.startswith(("SMSLEDGER_", "XDG_"))}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT), SMSLEDGER_SIM_RECEIPT_DELAY_S="0.05")
    return env


@pytest.fixture
def running_up(fresh_clone: Path, user_env: dict[str, str]) -> Iterator[Up]:
    # Relative, as a user would type it: `./scripts/up --data-dir ../sms-data`.
    up = Up(["--data-dir", "../sms-data", "--port", "0"], fresh_clone, user_env)
    try:
        up.wait_for_url()
        yield up
    finally:
        up.stop()


def run_block(block: str, clone: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = clone.parent / "walkthrough.sh"
    script.write_text(block)
    return subprocess.run(
        ["bash", "-eu", "-o", "pipefail", str(script)], cwd=clone, env=env,
        capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S,
    )


FINANCE_MARK = "=== the finance walk-through"


def test_the_walkthrough_as_written_against_up_with_a_data_dir(
    running_up: Up, fresh_clone: Path, user_env: dict[str, str]
) -> None:
    """The walk-through, then the finance walk-through in the same shell."""
    script = "\n".join([doc_block("README.md", "## Walk-through"), f"echo '{FINANCE_MARK}'",
                         doc_block("docs/operations.md", "### A finance walk-through")])
    done = run_block(script, fresh_clone, user_env)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    walk, finance = done.stdout.split(FINANCE_MARK)
    assert '"status":"queued"' in walk, output
    assert '"reserved"' in walk, output
    assert "ledger verified" in walk, output
    # Nothing was started beside the instance the user runs, and the JWT key
    # of its data directory was found.
    assert not (fresh_clone / ".smsledger").exists(), output
    assert "no JWT signing key configured" not in output, output

    assert "journal checks out" in finance, output
    assert "DRAFT to" in finance and '"status":"draft"' in finance, output
    pdf = next(fresh_clone.glob("invoice-*.pdf"))
    assert pdf.read_bytes().startswith(b"%PDF")
    assert (fresh_clone / "usage.csv").read_text().count("\n") >= 2  # a header and the send
