"""Argon2id password hashing (argon2-cffi), with its recommended parameters,
and a bound on how many hashes a process runs at once."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from application.identity.errors import PasswordCheckBusy

# A valid hash of a random password, computed once: checking a password for an
# unknown email against it costs the same time as checking a real user's.
_BURN_PASSWORD = "not-a-password-anyone-has"  # noqa: S105 - a decoy, not a secret
# Callers that may wait for a slot, per slot; beyond them a caller is refused
# at once, so a flood holds few threads (the API's threads serve everyone).
WAITING_PER_SLOT = 8
BUSY_RETRY_AFTER_S = 1
# Hashing threads run this much nicer than the server's (19 is the lowest).
HASH_NICE_INCREMENT = 10
MAX_NICE = 19

T = TypeVar("T")


class HashSlots:
    """At most `slots` hashes at once, each on a thread of its own. Each
    Argon2id hash holds its whole memory cost (64 MiB by default) while it
    runs, so this bounds the process's memory as much as its CPU; an
    unbounded flood of logins would otherwise run one hash per server thread.
    A caller that finds every slot taken waits up to `wait_s`, then
    PasswordCheckBusy.

    The hashing threads run at a lower CPU priority (a higher nice value,
    which the lanes' threads argon2 starts inherit): while hashes fill the
    cores, the server's other requests still get the CPU first, so a flood
    of logins slows logins, not everyone else's traffic."""

    def __init__(self, slots: int, wait_s: float) -> None:
        assert slots > 0 and wait_s >= 0
        self.slots = slots
        self._free = threading.BoundedSemaphore(slots)
        self._wait_s = wait_s
        self._max_waiting = slots * WAITING_PER_SLOT
        self._waiting = 0
        self._guard = threading.Lock()
        # As many threads as slots: a job that holds a slot never queues.
        self._threads = ThreadPoolExecutor(
            max_workers=slots, thread_name_prefix="argon2", initializer=_lower_priority
        )

    def saturated(self) -> bool:
        """Whether a caller now would be refused at once: callers can say so
        before doing any other work. A hint, read without the lock."""
        return self._waiting >= self._max_waiting

    def run(self, work: Callable[[], T]) -> T:
        """`work()` on a hashing thread, once a slot is free."""
        if not self._free.acquire(blocking=False) and not self._wait():
            raise busy()
        try:
            return self._threads.submit(work).result()
        finally:
            self._free.release()

    def _wait(self) -> bool:
        with self._guard:
            if self._waiting >= self._max_waiting:
                return False
            self._waiting += 1
        try:
            return self._free.acquire(timeout=self._wait_s)
        finally:
            with self._guard:
                self._waiting -= 1


def busy() -> PasswordCheckBusy:
    return PasswordCheckBusy(
        "Too many sign-ins at once; retry in a moment", retry_after_s=BUSY_RETRY_AFTER_S
    )


def _lower_priority() -> None:
    """Lowers the calling thread's CPU priority (Linux's nice is per thread);
    where that cannot be done, hashing runs at the normal priority."""
    try:
        thread_id = threading.get_native_id()
        nice = os.getpriority(os.PRIO_PROCESS, thread_id)
        os.setpriority(os.PRIO_PROCESS, thread_id, min(MAX_NICE, nice + HASH_NICE_INCREMENT))
    except (AttributeError, OSError):  # not on this platform, or not allowed
        pass


class Argon2Hasher:
    """Argon2id, by default with argon2-cffi's parameters (RFC 9106's
    low-memory profile: 3 passes over 64 MiB, 4 lanes): tens to hundreds of
    milliseconds a check, which is why API keys do not use it per request.
    A hash records its parameters, so changing them keeps old hashes valid.
    Every hash and check, the decoy's included, takes one of the slots."""

    def __init__(
        self, *, time_cost: int = 3, memory_kib: int = 65_536, slots: HashSlots | None = None
    ) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        self._slots = slots or HashSlots(1, wait_s=60.0)
        self._decoy: str | None = None  # hashed on first use: it costs a hash

    def hash(self, password: str) -> str:
        return self._slots.run(lambda: self._hasher.hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        return self._slots.run(lambda: self._verify(password_hash, password))

    def burn(self, password: str) -> None:
        self._slots.run(lambda: self._burn(password))

    def _burn(self, password: str) -> None:
        if self._decoy is None:
            self._decoy = self._hasher.hash(_BURN_PASSWORD)
        self._verify(self._decoy, password + "\x00")

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
