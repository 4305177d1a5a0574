"""Group commit: concurrent commands on one wallet share one transaction.

Every send of an account reserves from the same wallet, so sends of one
account cannot commit in parallel: each needs the wallet's next version.
Committing them one transaction at a time caps an account at one commit
round trip per send. Instead, callers queue their command on the wallet's
lane and the first of them leads: it takes every command that is waiting (up
to a bound), has the application apply them in order to the live wallet and
save all they produced in one transaction, then wakes each caller with its
own outcome. Commands that arrive while that transaction runs wait for it
and form the next group, led by the oldest of them. No timer is involved: a
lone send commits at once, and groups grow only as fast as commands queue
behind a commit in progress.

A caller returns only once its command is committed, or with the error that
stopped it: its own (such as INSUFFICIENT_BALANCE, which fails that command
alone) or the group's (the transaction failed, so nothing of it was saved).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.errors import Unavailable
from domain.errors import DomainError
from domain.wallet import Wallet

# Commands committed together at most. A send saves two events, so a full
# group is 128 rows: still one INSERT, well below the recorder's COPY path,
# and a bounded wait for the last command of the group.
MAX_GROUP_COMMANDS = 64

# A command applies its change to the wallet and returns the other aggregates
# to save with it (never the wallet itself). It may run more than once, on a
# fresh wallet, if the group must be retried, so it must not have other
# effects. It should raise, if it must, before it changes the wallet: a
# command that changes the wallet and then fails makes the group reload the
# wallet and apply the commands before it again.
WalletCommand = Callable[[Wallet], Sequence[Aggregate]]


class CommitFailed(Unavailable):
    """The transaction that held this command failed, so nothing of it was
    saved, and the caller may retry the request. (When the store cannot tell
    whether the transaction committed, it raises OutcomeUnknown instead,
    which reaches each caller as itself.)"""


class GroupRunner(Protocol):
    def run_group_on_wallet(
        self, wallet_id: UUID, commands: Sequence[WalletCommand]
    ) -> list[Exception | None]:
        """Apply the commands in order and save their results in one
        transaction; per command, the error that failed it or None."""
        ...


@dataclass(frozen=True, slots=True)
class GroupStats:
    """Groups run since start and the commands in them: their ratio is how
    many sends share a transaction on average."""

    groups: int
    commands: int
    largest: int


class _Waiter:
    __slots__ = ("command", "done", "error", "wake")

    def __init__(self, command: WalletCommand) -> None:
        self.command = command
        # Only a caller that queues behind a group sleeps; one that leads
        # at once never needs an event (a send alone on its wallet).
        self.wake: threading.Event | None = None
        self.done = False
        self.error: BaseException | None = None


class GroupCommitter:
    """Per-wallet lanes of waiting commands, each with at most one leader."""

    def __init__(self, runner: GroupRunner, max_group: int = MAX_GROUP_COMMANDS) -> None:
        assert 1 <= max_group <= MAX_GROUP_COMMANDS
        self._runner = runner
        self._max_group = max_group
        # A wallet has an entry exactly while a leader works on it; the entry
        # holds the commands waiting for the next group. Each waiting command
        # holds its caller's thread, so a lane is no deeper than the server's
        # worker threads (adapters/bootstrap/api.py). One guard for all lanes: it is
        # held only to push or pop a few references.
        self._lanes: dict[UUID, deque[_Waiter]] = {}
        self._guard = threading.Lock()
        self._groups = 0
        self._commands = 0
        self._largest = 0

    def stats(self) -> GroupStats:
        with self._guard:
            return GroupStats(self._groups, self._commands, self._largest)

    def waiting(self, wallet_id: UUID) -> int:
        """Commands queued on the wallet behind the group in progress."""
        with self._guard:
            return len(self._lanes.get(wallet_id, ()))

    def submit(self, wallet_id: UUID, command: WalletCommand) -> None:
        """Run the command in the wallet's next group; return once committed."""
        waiter = _Waiter(command)
        with self._guard:
            lane = self._lanes.get(wallet_id)
            if lane is None:
                self._lanes[wallet_id] = deque()
            else:
                waiter.wake = threading.Event()
                lane.append(waiter)
        if waiter.wake is not None:
            # Woken either with the outcome, or to lead the next group.
            waiter.wake.wait()
        if not waiter.done:
            self._lead(wallet_id, waiter)
        if waiter.error is not None:
            raise waiter.error

    def _lead(self, wallet_id: UUID, leader: _Waiter) -> None:
        group = [leader]
        with self._guard:
            lane = self._lanes[wallet_id]
            while lane and len(group) < self._max_group:
                group.append(lane.popleft())
        try:
            self._commit(wallet_id, group)
        finally:
            # Hand the lane to the oldest waiter, or close it. This runs even
            # if the commit raised something unexpected, so that no waiter
            # is left asleep.
            with self._guard:
                self._groups += 1
                self._commands += len(group)
                self._largest = max(self._largest, len(group))
                lane = self._lanes[wallet_id]
                successor = lane.popleft() if lane else None
                if successor is None:
                    del self._lanes[wallet_id]
            if successor is not None:
                assert successor.wake is not None, "a queued caller has an event"
                successor.wake.set()

    def _commit(self, wallet_id: UUID, group: list[_Waiter]) -> None:
        commands = [waiter.command for waiter in group]
        try:
            errors: list[BaseException | None] = list(
                self._runner.run_group_on_wallet(wallet_id, commands)
            )
        except Exception as error:
            errors = [_for_one_caller(error) for _ in group]
        except BaseException as error:
            for waiter in group:
                _finish(waiter, _for_one_caller(error))
            raise
        assert len(errors) == len(group), "one outcome per command"
        for waiter, own in zip(group, errors, strict=True):
            _finish(waiter, own)


def _finish(waiter: _Waiter, error: BaseException | None) -> None:
    waiter.error = error
    waiter.done = True
    if waiter.wake is not None:
        waiter.wake.set()


def _for_one_caller(error: BaseException) -> BaseException:
    """Each caller raises its own exception object: one object raised in many
    threads at once would have its traceback rewritten under their feet."""
    if isinstance(error, DomainError):
        copy = type(error)(error.message, **error.details)
    else:
        copy = CommitFailed(
            "The message was not saved and nothing was charged: its transaction"
            " failed. Retry the request",
            outcome="not_saved",
            cause=type(error).__name__,
        )
    copy.__cause__ = error
    return copy
