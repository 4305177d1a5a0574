"""Which projections a worker's roles run, and how `up` splits them."""

from __future__ import annotations

import pytest

from adapters.bootstrap.workers import PROJECTOR_GROUPS, projections_of, up_worker_processes
from projections.registry import ALL_PROJECTIONS


def names(roles: tuple[str, ...]) -> list[str]:
    return [p.name for p in projections_of(roles)]


def test_projector_runs_every_projection() -> None:
    assert names(("relay", "projector")) == [p.name for p in ALL_PROJECTIONS]


def test_a_named_projector_runs_only_those() -> None:
    assert names(("projector:usage,message_log",)) == ["usage", "message_log"]
    assert names(("relay", "dispatcher")) == []


def test_a_projection_named_twice_runs_once() -> None:
    chosen = names(("projector:usage", "projector"))
    assert chosen[0] == "usage"
    assert sorted(chosen) == sorted(p.name for p in ALL_PROJECTIONS)


def test_an_unknown_projection_is_refused() -> None:
    with pytest.raises(KeyError, match="no projection 'nope'"):
        projections_of(("projector:nope",))


def test_up_runs_every_projection_once_the_message_log_alone() -> None:
    per_process = [names(group) for group in up_worker_processes()]
    everything = [name for process in per_process for name in process]
    assert sorted(everything) == sorted(p.name for p in ALL_PROJECTIONS)
    assert ["message_log"] in per_process
    assert names((PROJECTOR_GROUPS[0],)) == ["message_log"]


def test_the_projector_command_refuses_an_unknown_projection(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from adapters.cli.main import main

    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("NATS_URL", "nats://127.0.0.1:1")
    assert main(["projector", "--only", "message_log,nope"]) == 2
    assert "no projection 'nope'" in capsys.readouterr().err
