"""The group committer's queueing, on a runner that records what it is given."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from uuid import UUID, uuid4

import pytest

from application.errors import NotFound
from application.ledger.group_commit import CommitFailed, GroupCommitter, WalletCommand
from domain.errors import InsufficientBalance

WAIT_S = 5.0


class RecordingRunner:
    """Runs nothing: records each group it is handed, and answers with the
    outcome `decide` gives. The first group can be held until released, so
    that the next commands queue behind it."""

    def __init__(self, decide: Callable[[WalletCommand], Exception | None] | None = None) -> None:
        self.groups: list[list[WalletCommand]] = []
        self.hold_first = threading.Event()
        self.hold_first.set()
        self.first_started = threading.Event()
        self.fail_with: Exception | None = None
        self._decide = decide or (lambda command: None)

    def run_group_on_wallet(
        self, wallet_id: UUID, commands: Sequence[WalletCommand]
    ) -> list[Exception | None]:
        self.groups.append(list(commands))
        if len(self.groups) == 1:
            self.first_started.set()
            assert self.hold_first.wait(WAIT_S)
        if self.fail_with is not None:
            raise self.fail_with
        return [self._decide(command) for command in commands]


def named(name: str) -> WalletCommand:
    def command(wallet: object) -> list[object]:
        return []

    command.__name__ = name
    return command  # type: ignore[return-value]


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


class Callers:
    """Threads that each submit one command and keep what it raised."""

    def __init__(self, committer: GroupCommitter, wallet_id: UUID) -> None:
        self._committer = committer
        self._wallet_id = wallet_id
        self.threads: list[threading.Thread] = []
        self.raised: dict[str, BaseException | None] = {}

    def start(self, command: WalletCommand) -> None:
        def call() -> None:
            try:
                self._committer.submit(self._wallet_id, command)
            except BaseException as error:
                self.raised[command.__name__] = error
            else:
                self.raised[command.__name__] = None

        thread = threading.Thread(target=call)
        thread.start()
        self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(WAIT_S)
            assert not thread.is_alive()


def queue_behind_first(
    committer: GroupCommitter, runner: RecordingRunner, names: Sequence[str]
) -> Callers:
    """The first command leads and is held; the others queue, in order."""
    wallet_id = uuid4()
    callers = Callers(committer, wallet_id)
    runner.hold_first.clear()
    callers.start(named(names[0]))
    assert runner.first_started.wait(WAIT_S)
    for count, name in enumerate(names[1:], start=1):
        callers.start(named(name))
        wait_until(lambda count=count: committer.waiting(wallet_id) == count)  # type: ignore[misc]
    runner.hold_first.set()
    callers.join()
    return callers


def names_of(group: list[WalletCommand]) -> list[str]:
    return [command.__name__ for command in group]


def test_a_lone_command_commits_at_once_in_a_group_of_one() -> None:
    runner = RecordingRunner()
    committer = GroupCommitter(runner)
    wallet_id = uuid4()
    committer.submit(wallet_id, named("a"))
    assert [names_of(g) for g in runner.groups] == [["a"]]
    assert committer.waiting(wallet_id) == 0
    committer.submit(wallet_id, named("b"))
    assert [names_of(g) for g in runner.groups] == [["a"], ["b"]]
    assert committer.stats().groups == 2


def test_commands_queued_behind_a_commit_form_the_next_group_in_arrival_order() -> None:
    runner = RecordingRunner()
    committer = GroupCommitter(runner)
    callers = queue_behind_first(committer, runner, ["a", "b", "c", "d", "e"])
    assert [names_of(g) for g in runner.groups] == [["a"], ["b", "c", "d", "e"]]
    assert callers.raised == dict.fromkeys("abcde")
    stats = committer.stats()
    assert (stats.groups, stats.commands, stats.largest) == (2, 5, 4)


def test_groups_are_bounded_and_every_command_runs_exactly_once() -> None:
    runner = RecordingRunner()
    committer = GroupCommitter(runner, max_group=3)
    names = [f"c{i}" for i in range(8)]
    queue_behind_first(committer, runner, names)
    assert [names_of(g) for g in runner.groups] == [
        ["c0"], ["c1", "c2", "c3"], ["c4", "c5", "c6"], ["c7"]
    ]


def test_a_command_that_fails_fails_alone() -> None:
    refusal = InsufficientBalance("Wallet balance too low", required=2, available=1)
    runner = RecordingRunner(lambda command: refusal if command.__name__ == "c" else None)
    committer = GroupCommitter(runner)
    callers = queue_behind_first(committer, runner, ["a", "b", "c", "d"])
    assert callers.raised["c"] is refusal
    assert [callers.raised[n] for n in "abd"] == [None, None, None]


def test_every_caller_of_a_failed_transaction_gets_its_own_error() -> None:
    runner = RecordingRunner()
    committer = GroupCommitter(runner)
    runner.fail_with = OSError("connection lost")
    callers = queue_behind_first(committer, runner, ["a", "b", "c"])
    errors = [callers.raised[n] for n in "abc"]
    assert all(isinstance(e, CommitFailed) for e in errors)
    assert len({id(e) for e in errors}) == 3
    assert all(e is not None and e.__cause__ is runner.fail_with for e in errors)
    assert all(isinstance(e, CommitFailed) and e.code == "SERVICE_UNAVAILABLE" for e in errors)
    # The lane was handed on and closed: the next command commits normally.
    runner.fail_with = None
    committer.submit(uuid4(), named("z"))
    assert names_of(runner.groups[-1]) == ["z"]


def test_a_domain_error_of_the_whole_group_reaches_each_caller_as_itself() -> None:
    runner = RecordingRunner()
    committer = GroupCommitter(runner)
    runner.fail_with = NotFound("No such wallet", wallet_id="w")
    callers = queue_behind_first(committer, runner, ["a", "b"])
    for name in "ab":
        error = callers.raised[name]
        assert isinstance(error, NotFound) and error is not runner.fail_with
        assert error.details == {"wallet_id": "w"}


def test_wallets_have_separate_lanes() -> None:
    runner = RecordingRunner()
    committer = GroupCommitter(runner)
    first, second = uuid4(), uuid4()
    runner.hold_first.clear()
    held = Callers(committer, first)
    held.start(named("held"))
    assert runner.first_started.wait(WAIT_S)
    # Another wallet does not wait for the first wallet's commit.
    committer.submit(second, named("other"))
    assert names_of(runner.groups[-1]) == ["other"]
    runner.hold_first.set()
    held.join()
    assert held.raised == {"held": None}


def test_max_group_is_bounded() -> None:
    with pytest.raises(AssertionError):
        GroupCommitter(RecordingRunner(), max_group=0)
