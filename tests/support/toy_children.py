"""Targets for supervised child processes in tests: cheap to spawn (they
import nothing of the product), each behaving as a test needs."""

from __future__ import annotations

import os
import time
from multiprocessing.connection import Connection
from typing import Any

POLL_S = 0.02


def run_until_stopped(stop_flag: Any, running: Connection) -> None:
    running.send(True)
    while not stop_flag.is_set():
        time.sleep(POLL_S)


def exit_at_once(code: int, stop_flag: Any, running: Connection) -> None:
    os._exit(code)
