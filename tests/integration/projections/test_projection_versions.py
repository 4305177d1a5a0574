"""A projection's schema version: `smsledger migrate` rebuilds, from the event
store, each read model whose projection's version changed, and only those; a
first migrate records the versions and rebuilds nothing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

import pytest

from adapters.bootstrap.container import build
from adapters.cli.main import main
from adapters.config.settings import Settings
from domain.inbound import InboundMessage
from domain.published import Envelope
from projections import inbound
from projections.common import AnyCursor
from projections.registry import ALL_PROJECTIONS
from tests.support import infra

BODIES = ("hello", "see you at nine")


@pytest.fixture
def fresh_database(
    postgres_server: str, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    name = f"smsledger_test_{run_id}_versions"
    url = infra.create_database(postgres_server, name)
    monkeypatch.setenv("DATABASE_URL", url)
    try:
        yield url
    finally:
        infra.drop_database(postgres_server, name)


def _positions(url: str) -> dict[str, tuple[int, int | None, datetime]]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT name, position, schema_version, updated_at FROM projection_positions"
        ).fetchall()
    return {name: (position, version, updated) for name, position, version, updated in rows}


def _receive_replies(url: str) -> None:
    container = build(Settings.from_env({}), url)
    try:
        for body in BODIES:
            container.app.record(
                InboundMessage.receive(
                    account_id="acct-versions",
                    carrier="simulated",
                    source="+447700900123",
                    destination="12345",
                    body=body,
                )
            )
    finally:
        container.close()


_DDL_V2 = inbound._DDL.replace(
    "    received_at timestamptz NOT NULL\n",
    "    received_at timestamptz NOT NULL,\n    body_length integer NOT NULL\n",
)


def _apply_v2(self: inbound.Inbound, cursor: AnyCursor, envelopes: Sequence[Envelope]) -> None:
    """Version 2 of the projection: the body's length in a column of its own."""
    cursor.executemany(
        f"INSERT INTO {inbound.TABLE} (inbound_id, account_id, carrier, source, destination,"
        " body, received_at, body_length) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        [
            (
                e.aggregate_id,
                e.account_id,
                e.data["carrier"],
                e.data["source"],
                e.data["destination"],
                e.data["body"],
                e.occurred_at,
                len(e.data["body"]),
            )
            for e in envelopes
        ],
    )


def test_a_first_migrate_records_every_version_and_rebuilds_nothing(
    fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert "rebuilt" not in capsys.readouterr().out
    assert {
        name: (position, version)
        for name, (position, version, _) in _positions(fresh_database).items()
    } == {p.name: (0, p.schema_version) for p in ALL_PROJECTIONS}


def test_migrate_rebuilds_a_bumped_projection_and_leaves_the_others_alone(
    fresh_database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["migrate"]) == 0
    _receive_replies(fresh_database)
    assert main(["projections", "rebuild", "--all"]) == 0
    before = _positions(fresh_database)
    assert before["inbound"][0] > 0
    capsys.readouterr()

    monkeypatch.setattr(inbound.Inbound, "schema_version", 2)
    monkeypatch.setattr(inbound, "_DDL", _DDL_V2)
    monkeypatch.setattr(inbound.Inbound, "apply", _apply_v2)
    assert main(["migrate"]) == 0
    out = capsys.readouterr()
    assert "inbound: rebuilt for schema version 2 (was 1)" in out.out
    assert "inbound" in out.err  # its progress bar

    import psycopg

    with psycopg.connect(fresh_database) as conn:
        rows = conn.execute(
            f"SELECT body, body_length FROM {inbound.TABLE} ORDER BY body"
        ).fetchall()
    assert rows == [(body, len(body)) for body in sorted(BODIES)]
    after = _positions(fresh_database)
    assert after["inbound"][:2] == (before["inbound"][0], 2)
    others = {name for name in before if name != "inbound"}
    assert {name: after[name] for name in others} == {name: before[name] for name in others}

    assert main(["migrate"]) == 0  # versions agree now: nothing to do
    assert "rebuilt" not in capsys.readouterr().out
    assert _positions(fresh_database) == after
