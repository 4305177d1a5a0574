"""Password hashes are bounded per process: a caller waits briefly for a
slot, then is refused; beyond a few waiters it is refused at once."""

from __future__ import annotations

import os
import threading
import time

import pytest

from adapters.identity.passwords import WAITING_PER_SLOT, Argon2Hasher, HashSlots
from application.identity.errors import PasswordCheckBusy


def _hold(slots: HashSlots, count: int) -> tuple[threading.Event, list[threading.Thread]]:
    """`count` threads each holding a slot until the event is set."""
    release = threading.Event()
    holding = threading.Barrier(count + 1)

    def holder() -> None:
        slots.run(lambda: (holding.wait(), release.wait()))

    threads = [threading.Thread(target=holder) for _ in range(count)]
    for thread in threads:
        thread.start()
    holding.wait()
    return release, threads


def test_a_caller_waits_for_a_slot_then_is_refused() -> None:
    slots = HashSlots(2, wait_s=0.2)
    release, threads = _hold(slots, 2)
    started = time.monotonic()
    with pytest.raises(PasswordCheckBusy) as refused:
        slots.run(lambda: None)
    assert 0.15 <= time.monotonic() - started < 2.0
    assert refused.value.code == "SERVICE_UNAVAILABLE"
    assert refused.value.details["retry_after_s"] >= 1
    release.set()
    for thread in threads:
        thread.join()
    assert slots.run(lambda: 42) == 42  # free again


def test_a_waiter_gets_the_slot_when_it_frees() -> None:
    slots = HashSlots(1, wait_s=5.0)
    release, threads = _hold(slots, 1)
    threading.Timer(0.1, release.set).start()
    assert slots.run(lambda: "got it") == "got it"
    for thread in threads:
        thread.join()


def test_past_the_waiting_bound_a_caller_is_refused_at_once() -> None:
    slots = HashSlots(1, wait_s=5.0)
    release, holders = _hold(slots, 1)
    waiting = threading.Barrier(WAITING_PER_SLOT + 1)
    outcomes: list[str] = []

    def waiter() -> None:
        waiting.wait()
        slots.run(lambda: outcomes.append("held"))

    waiters = [threading.Thread(target=waiter) for _ in range(WAITING_PER_SLOT)]
    for thread in waiters:
        thread.start()
    waiting.wait()
    time.sleep(0.1)  # the waiters are waiting
    started = time.monotonic()
    with pytest.raises(PasswordCheckBusy):
        slots.run(lambda: None)
    assert time.monotonic() - started < 0.5
    release.set()
    for thread in [*holders, *waiters]:
        thread.join()
    assert outcomes == ["held"] * WAITING_PER_SLOT


def test_every_hasher_call_takes_a_slot() -> None:
    slots = HashSlots(1, wait_s=0.0)
    hasher = Argon2Hasher(time_cost=1, memory_kib=8192, slots=slots)
    stored = hasher.hash("a password here")
    release, threads = _hold(slots, 1)
    for call in (lambda: hasher.hash("x"), lambda: hasher.verify(stored, "x"),
                 lambda: hasher.burn("x")):
        with pytest.raises(PasswordCheckBusy):
            call()
    release.set()
    for thread in threads:
        thread.join()
    assert hasher.verify(stored, "a password here")


def test_hashes_run_at_a_lower_cpu_priority() -> None:
    slots = HashSlots(1, wait_s=1.0)
    ours = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    theirs = slots.run(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    assert theirs == min(19, ours + 10)
