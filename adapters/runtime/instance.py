"""Where a running `smsledger up` can be found by the other commands.

`up` leaves a record of itself in its data directory (`up.json`) and a copy
in the user's state directory, one file per running `up`. A command such as
`accounts create` or `ledger verify` then works on that instance, wherever
its data lives, instead of starting embedded servers of its own: a second
PostgreSQL on another directory would hold other data, and the API would not
know the account it made.

A record names the process that wrote it (pid and start time), so one that
outlived its `up` (killed, or the machine restarted) is recognised as stale.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from adapters.config.settings import ConfigError

_logger = logging.getLogger(__name__)

RECORD_NAME = "up.json"
# A pid's start time, as psutil reports it, tells a reused pid apart.
START_TIME_TOLERANCE_S = 0.5
# More than this many records in the state directory is not a normal machine.
MAX_RECORDS = 200


class NoInstance(ConfigError):
    """No running `up` fits; the message says what to do."""


@dataclass(frozen=True, slots=True)
class InstanceRecord:
    pid: int
    started_at: float  # the process's start time (seconds since the epoch)
    data_dir: str  # absolute
    api_url: str
    # The embedded PostgreSQL's URL; None when `up` was given DATABASE_URL,
    # which is not copied into a file: the command is given it too.
    database_url: str | None

    def alive(self) -> bool:
        try:
            started = float(psutil.Process(self.pid).create_time())
        except psutil.Error:
            return False
        return abs(started - self.started_at) < START_TIME_TOLERANCE_S


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """The user's records of running instances (XDG state directory)."""
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local/state")
    return Path(base) / "smsledger" / "running"


def read_record(path: Path) -> InstanceRecord | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return InstanceRecord(
            pid=int(raw["pid"]), started_at=float(raw["started_at"]),
            data_dir=str(raw["data_dir"]), api_url=str(raw["api_url"]),
            database_url=raw.get("database_url"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def this_process(data_dir: Path, api_url: str, database_url: str | None) -> InstanceRecord:
    return InstanceRecord(
        pid=os.getpid(), started_at=psutil.Process().create_time(),
        data_dir=str(data_dir.absolute()), api_url=api_url, database_url=database_url,
    )


def refuse_second_up(data_dir: Path) -> None:
    """Two `up`s on one data directory would share PostgreSQL but stop each
    other's NATS (see EmbeddedNats), so the second one stops here."""
    record = read_record(data_dir / RECORD_NAME)
    if record is not None and record.alive():
        raise NoInstance(
            f"smsledger up is already running on {record.data_dir} (pid {record.pid}, "
            f"API {record.api_url}); stop it first, or use another --data-dir"
        )


@contextlib.contextmanager
def recorded(record: InstanceRecord, env: Mapping[str, str] | None = None) -> Iterator[None]:
    """Keep the record while the block runs; remove it after."""
    places = [Path(record.data_dir) / RECORD_NAME, state_dir(env) / f"{record.pid}.json"]
    written = [path for path in places if _write(path, record)]
    try:
        yield
    finally:
        for path in written:
            if read_record(path) == record:  # not one a later `up` wrote since
                path.unlink(missing_ok=True)


def _write(path: Path, record: InstanceRecord) -> bool:
    text = json.dumps(asdict(record), indent=2) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        # Owner-only: it names the database the commands will write to.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        temporary.replace(path)
    except OSError as error:
        # The API still runs; commands then need --data-dir to find it.
        _logger.warning("could not record this instance at %s: %s", path, error)
        return False
    return True


def locate(data_dir: Path | None, default_dir: Path,
           env: Mapping[str, str] | None = None) -> InstanceRecord:
    """The running `up` a command should use.

    `data_dir` is the directory the user named (--data-dir or
    SMSLEDGER_DATA_DIR), relative to the current directory or absolute: its
    `up` must be running. Without one, the default directory's `up` if it
    runs, else the one running `up` this user started; several, or none, is
    an error that says what to do."""
    if data_dir is not None:
        return _on(data_dir)
    record = read_record(default_dir / RECORD_NAME)
    if record is not None and record.alive():
        return record
    running, stale = _running(state_dir(env))
    if len(running) == 1:
        return running[0]
    if running:
        listed = "\n  ".join(f"{r.data_dir} (pid {r.pid}, API {r.api_url})" for r in running)
        raise NoInstance(
            f"several smsledger up are running:\n  {listed}\n"
            "name one with --data-dir DIR or SMSLEDGER_DATA_DIR=DIR"
        )
    gone = "".join(f"\n(the smsledger up that ran on {r.data_dir}, pid {r.pid}, is gone)"
                   for r in stale)
    raise NoInstance(
        f"no smsledger up is running (looked in {default_dir.absolute()} and "
        f"{state_dir(env)}).{gone}\nStart one (./scripts/up, or smsledger up --data-dir DIR) "
        "and run this again; give --data-dir DIR or SMSLEDGER_DATA_DIR=DIR if it uses "
        "another directory, or DATABASE_URL for a PostgreSQL of your own."
    )


def _on(data_dir: Path) -> InstanceRecord:
    record = read_record(data_dir / RECORD_NAME)
    if record is None:
        raise NoInstance(
            f"no smsledger up is running on {data_dir.absolute()}: start it with "
            f"`smsledger up --data-dir {data_dir}` and run this again"
        )
    if not record.alive():
        raise NoInstance(
            f"the smsledger up that ran on {record.data_dir} (pid {record.pid}) is gone: "
            f"start it again with `smsledger up --data-dir {data_dir}`"
        )
    return record


def _running(directory: Path) -> tuple[list[InstanceRecord], list[InstanceRecord]]:
    """(running, stale) records; a stale record is removed once reported."""
    running: list[InstanceRecord] = []
    stale: list[InstanceRecord] = []
    try:
        paths = sorted(directory.glob("*.json"))[:MAX_RECORDS]
    except OSError:
        return running, stale
    for path in paths:
        record = read_record(path)
        if record is None:
            continue
        if record.alive():
            running.append(record)
        else:
            stale.append(record)
            path.unlink(missing_ok=True)
    return running, stale
