"""The real API, `smsledger api`, in a subprocess on 127.0.0.1.

A subprocess rather than a thread: the memory benchmark reads the server's
own peak RSS from /proc, and the client's work stays off the server's GIL.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

import httpx

READY_TIMEOUT_S = 30.0
READY_POLL_S = 0.1
STOP_TIMEOUT_S = 15.0
KILL_TIMEOUT_S = 5.0
LOG_TAIL_CHARS = 2_000


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _api_command(port: int, args: Sequence[str] = ()) -> list[str]:
    script = Path(sys.executable).parent / "smsledger"
    if script.is_file():
        return [str(script), "api", "--port", str(port), *args]
    found = shutil.which("smsledger")
    if found:
        return [found, "api", "--port", str(port), *args]
    return [sys.executable, "-m", "adapters.cli.main", "api", "--port", str(port), *args]


class ApiProcess:
    """`with ApiProcess(url, log) as api:` serves until the block ends; the
    process is terminated, waited for, and killed if it will not stop."""

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        command: Callable[[int], list[str]] | None = None,
        *,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        """`command` makes the server's command line from its port (by default
        `smsledger api`, with `args` added); `env` is added to its environment."""
        self._database_url = database_url
        self._log_path = log_path
        extra_args = tuple(args)  # e.g. --workers 2
        self._command = command or (lambda port: _api_command(port, extra_args))
        self._env = dict(env or {})
        self._proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ApiProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self.port = free_port()
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self._database_url,
            SMSLEDGER_LOG_LEVEL="WARNING",
            SMSLEDGER_HOST="127.0.0.1",
            SMSLEDGER_DATA_DIR=str(self._log_path.parent / "api-data"),
        )
        env.pop("NATS_URL", None)
        env.update(self._env)
        with open(self._log_path, "wb") as log_file:
            self._proc = subprocess.Popen(
                self._command(self.port),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                code = self._proc.returncode
                raise RuntimeError(f"the API exited with {code}: {self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(READY_POLL_S)
        raise RuntimeError(f"the API was not ready in {READY_TIMEOUT_S}s: {self.log_tail()}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=KILL_TIMEOUT_S)

    def log_tail(self) -> str:
        try:
            return self._log_path.read_text(errors="replace")[-LOG_TAIL_CHARS:]
        except OSError:
            return "(no log)"

    def cpu_s(self) -> float:
        """User plus system CPU seconds the process has used so far."""
        with open(f"/proc/{self.pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def status_kib(self, field: str) -> int:
        """A `/proc/<pid>/status` figure such as VmRSS or VmHWM, in KiB."""
        with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1])
        raise RuntimeError(f"{field} not in /proc/{self.pid}/status")

