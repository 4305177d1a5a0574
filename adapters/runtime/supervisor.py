"""Keeping `up`'s child processes alive.

`up` runs the background roles (relay, projectors, dispatcher, ...) in child
processes. A child that dies, killed or failed, is reaped at once (no
zombie), logged with its exit code or signal, marked dead in the roles'
status (so /readyz answers "not ready") and started again after a backoff
that doubles with each quick death, up to a cap: a child that keeps dying
costs a start every `max_s` at most, not a spinning CPU. Messages are not
lost meanwhile: they wait in JetStream, whose consumers are durable, for
the restarted child.

One thread watches every child: it sleeps in `multiprocessing.connection.wait`
on the children's sentinels (readable once a process ends), on the pipes on
which they report that their roles run, and on a pipe that wakes it to stop.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from adapters.runtime.roles_status import (
    DEAD,
    RUNNING,
    STARTING,
    UNSUPERVISED,
    check_names,
    write_roles_status,
)

log = logging.getLogger(__name__)

# How long a child has to finish its work and exit once asked to stop,
# before it is killed.
CHILD_STOP_TIMEOUT_S = 25.0
CHILD_KILL_TIMEOUT_S = 5.0
MONITOR_JOIN_TIMEOUT_S = 10.0
# A restart's wait is at least this (a spawned child takes longer than that
# to start anyway) and the monitor never sleeps shorter.
MIN_WAIT_S = 0.01


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential: `first_s`, then times `factor` after each death
    of a child that ran less than `stable_after_s`, at most `max_s`."""

    first_s: float = 1.0
    factor: float = 2.0
    max_s: float = 30.0
    stable_after_s: float = 60.0

    def delay_s(self, quick_deaths: int) -> float:
        # The exponent is capped too, so that a long crash loop cannot overflow.
        return min(self.max_s, self.first_s * self.factor ** min(quick_deaths, 64))


class SupervisedProcess:
    """A spawned child process that can be asked to stop and that reports,
    once, when its work runs. `target(*args, stop_flag, running)` is called
    in the child: it returns soon after `stop_flag.is_set()`, and calls
    `running.send(True)` once its work has started."""

    def __init__(self, target: Callable[..., None], args: tuple[Any, ...], name: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop_flag = context.Event()
        self.running_signal, self._running_tx = context.Pipe(duplex=False)
        self._process = context.Process(
            target=target, args=(*args, self._stop_flag, self._running_tx), name=name
        )

    def start(self) -> None:
        self._process.start()
        # The child has its own end now; ours is closed so that the pipe
        # reads as ended once the child is gone.
        self._running_tx.close()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def sentinel(self) -> int:
        return self._process.sentinel

    @property
    def exitcode(self) -> int | None:
        return self._process.exitcode

    def is_alive(self) -> bool:
        return self._process.is_alive()

    def reap(self) -> int | None:
        """Wait for an ended child (so it leaves no zombie); its exit code."""
        self._process.join(timeout=CHILD_KILL_TIMEOUT_S)
        return self._process.exitcode

    def request_stop(self) -> None:
        self._stop_flag.set()

    def stop(self, timeout_s: float = CHILD_STOP_TIMEOUT_S) -> None:
        self.request_stop()
        self._process.join(timeout=timeout_s)
        if self._process.is_alive():
            log.error("child process %s did not stop in time; killing it", self.pid)
            self._process.kill()  # children ignore SIGTERM: their parent stops them
            self._process.join(timeout=CHILD_KILL_TIMEOUT_S)
        self.running_signal.close()


def describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "did not exit"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


@dataclass
class _Slot:
    """One child to keep running: its roles and its current process."""

    roles: tuple[str, ...]
    process: SupervisedProcess | None = None
    state: str = STARTING
    started_at_s: float = 0.0
    quick_deaths: int = 0
    restart_at_s: float | None = None
    restarts: int = 0

    @property
    def label(self) -> str:
        return ", ".join(self.roles)


class Supervisor:
    """Starts a child per group of roles and keeps each running until stop()."""

    def __init__(
        self,
        spawn: Callable[[tuple[str, ...]], SupervisedProcess],
        groups: Sequence[Sequence[str]],
        status_file: Path | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        """`status_file` is where the roles' state is kept for /readyz; by
        default in a directory of its own, removed by stop()."""
        self._spawn = spawn
        self._slots = [_Slot(tuple(group)) for group in groups]
        self._own_dir: Path | None = None
        if status_file is None:
            self._own_dir = Path(tempfile.mkdtemp(prefix="smsledger-up-"))
            status_file = self._own_dir / "roles.json"
        self.status_file = status_file
        self._backoff = backoff or Backoff()
        self._changed = threading.Condition()
        self._stopping = False
        self._wake_rx, self._wake_tx = os.pipe()
        self._thread = threading.Thread(target=self._watch, name="smsledger-supervisor",
                                        daemon=True)

    # Called by the owner ------------------------------------------------------

    def start(self) -> None:
        for slot in self._slots:
            self._start_child(slot, time.monotonic())
        self._write_status()
        self._thread.start()

    def wait_running(self, timeout_s: float) -> bool:
        """Until every child's roles run; False if `timeout_s` passed first."""
        with self._changed:
            return self._changed.wait_for(
                lambda: all(s.state == RUNNING for s in self._slots), timeout_s
            )

    def states(self) -> dict[str, str]:
        """Each role's state, by the names /readyz reports."""
        with self._changed:
            return {name: slot.state for slot in self._slots for name in check_names(slot.roles)}

    def pids(self) -> list[int | None]:
        with self._changed:
            return [slot.process.pid if slot.process else None for slot in self._slots]

    def stop(self) -> None:
        """Stop watching, then stop every child (all asked at once, then each
        waited for) and remove the status file."""
        with self._changed:
            self._stopping = True
        os.write(self._wake_tx, b"x")
        if self._thread.is_alive():
            self._thread.join(timeout=MONITOR_JOIN_TIMEOUT_S)
        processes = [slot.process for slot in self._slots if slot.process is not None]
        for process in processes:
            process.request_stop()
        for process in processes:
            process.stop()
        os.close(self._wake_rx)
        os.close(self._wake_tx)
        for path in (self.status_file, self.status_file.with_name(self.status_file.name + ".new")):
            path.unlink(missing_ok=True)
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)

    # The watching thread ------------------------------------------------------

    def _watch(self) -> None:
        try:
            self._watch_until_stopped()
        except Exception:
            # Nobody watches the children any more: /readyz must not go on
            # reading the last state as if it still held.
            log.exception("the supervisor of the worker processes failed")
            with self._changed:
                for slot in self._slots:
                    slot.state = UNSUPERVISED
                self._write_status()
                self._changed.notify_all()

    def _watch_until_stopped(self) -> None:
        while True:  # until stop() wakes it
            with self._changed:
                if self._stopping:
                    return
                handles = self._handles()
                timeout_s = self._until_next_restart_s(time.monotonic())
            ready = wait([self._wake_rx, *handles], timeout_s)
            with self._changed:
                if self._stopping:
                    return
                changed = self._handle(ready, handles, time.monotonic())
                if changed:
                    self._write_status()
                    self._changed.notify_all()

    def _handles(self) -> dict[Any, _Slot]:
        handles: dict[Any, _Slot] = {}
        for slot in self._slots:
            if slot.process is None:
                continue
            handles[slot.process.sentinel] = slot
            if slot.state == STARTING:
                handles[slot.process.running_signal] = slot
        return handles

    def _until_next_restart_s(self, now_s: float) -> float | None:
        due = [s.restart_at_s for s in self._slots if s.restart_at_s is not None]
        return max(MIN_WAIT_S, min(due) - now_s) if due else None

    def _handle(self, ready: list[Any], handles: dict[Any, _Slot], now_s: float) -> bool:
        changed = False
        for handle in ready:
            slot = handles.get(handle)
            if slot is None or slot.process is None:
                continue  # the wake-up pipe, or a child already dealt with
            if handle is slot.process.running_signal:
                changed |= self._on_running(slot)
            else:
                self._on_exit(slot, now_s)
                changed = True
        for slot in self._slots:
            if slot.restart_at_s is not None and slot.restart_at_s <= now_s:
                self._start_child(slot, now_s)
                changed = True
        return changed

    def _on_running(self, slot: _Slot) -> bool:
        assert slot.process is not None
        try:
            slot.process.running_signal.recv()
        except (EOFError, OSError):
            return False  # it is ending before it ran; its sentinel tells
        if slot.state != STARTING:
            return False
        slot.state = RUNNING
        log.info("worker process for %s (pid %s) running", slot.label, slot.process.pid)
        return True

    def _on_exit(self, slot: _Slot, now_s: float) -> None:
        process = slot.process
        assert process is not None
        exitcode = process.reap()
        process.running_signal.close()
        if now_s - slot.started_at_s >= self._backoff.stable_after_s:
            slot.quick_deaths = 0
        delay_s = self._backoff.delay_s(slot.quick_deaths)
        slot.quick_deaths += 1
        slot.process, slot.state, slot.restart_at_s = None, DEAD, now_s + delay_s
        log.error("worker process for %s (pid %s) died: %s; restarting it in %.1f s",
                  slot.label, process.pid, describe_exit(exitcode), delay_s)

    def _start_child(self, slot: _Slot, now_s: float) -> None:
        restarting = slot.restart_at_s is not None
        try:
            process = self._spawn(slot.roles)
            process.start()
        except Exception:  # out of processes or memory: try again after a backoff
            delay_s = self._backoff.delay_s(slot.quick_deaths)
            slot.quick_deaths += 1
            slot.state, slot.restart_at_s = DEAD, now_s + delay_s
            log.exception("could not start the worker process for %s; trying again in %.1f s",
                          slot.label, delay_s)
            return
        slot.process, slot.state, slot.started_at_s, slot.restart_at_s = (
            process, STARTING, now_s, None)
        if restarting:
            slot.restarts += 1
            log.warning("worker process for %s restarted (pid %s, restart %d)",
                        slot.label, process.pid, slot.restarts)
        else:
            log.info("worker process for %s started (pid %s)", slot.label, process.pid)

    def _write_status(self) -> None:
        states = {name: slot.state for slot in self._slots for name in check_names(slot.roles)}
        try:
            write_roles_status(self.status_file, states)
        except OSError:
            # /readyz then reads the previous state, or none ("unknown").
            log.exception("could not write the roles' status to %s", self.status_file)
