"""Data stored by earlier code still loads, replays, verifies and projects.

tests/fixtures/stored_v1 holds the event store's rows (events and wallet
snapshots) written by the code of the day it was made, from a mixed
workload, and a manifest of what that code derived from them. Here the
rows are copied as they are into a fresh store, and today's code must read
them to the same facts: every stored topic resolves, every aggregate
replays, the ledger verifies (a hashed type name that changed breaks the
chain), and every projection rebuilds to the same figures (a projection
that no longer asks for a stored topic misses its events).

The fixture is frozen: when this fails, fix the code (an upcaster, a
registered old topic), not the fixture.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

from adapters.bootstrap.container import Container, build
from adapters.config.settings import Settings
from domain.wallet import Wallet
from tests.fixtures.stored_v1 import facts
from tests.support import infra

FIXTURE_DIR = Path(facts.__file__).parent
# What `ledger verify` compares between a wallet replayed from its first
# event and the live one; the manifest has the balance fields of each.
_WALLET_FIELDS = (
    "balance_micros",
    "reserved_micros",
    "credit_limit_micros",
    "available_micros",
    "low_balance_threshold_micros",
    "version",
    "auto_topup_enabled",
    "frozen",
    "flagged",
)


@dataclass(frozen=True)
class Loaded:
    container: Container
    database_url: str
    events: list[facts.Row]
    snapshots: list[facts.Row]
    manifest: dict[str, Any]


@pytest.fixture(scope="module")
def loaded(postgres_server: str, run_id: str) -> Iterator[Loaded]:
    events = facts.read_rows(FIXTURE_DIR / facts.EVENTS_FILE)
    snapshots = facts.read_rows(FIXTURE_DIR / facts.SNAPSHOTS_FILE)
    manifest = json.loads((FIXTURE_DIR / facts.MANIFEST_FILE).read_text())
    with infra.migrated_database(postgres_server, f"smsledger_stored_v1_{run_id}") as url:
        facts.load_rows(url, events, snapshots)
        container = build(Settings.from_env({}), url)
        try:
            yield Loaded(container, url, events, snapshots, manifest)
        finally:
            container.close()


def test_the_rows_load_as_they_were_stored(loaded: Loaded) -> None:
    assert facts.dump_rows(loaded.database_url) == (loaded.events, loaded.snapshots)
    assert facts.stored_facts(loaded.events, loaded.snapshots) == loaded.manifest["stored"]


def test_every_stored_event_decodes_to_the_class_its_topic_names(loaded: Loaded) -> None:
    mapper = loaded.container.app.mapper
    for row in loaded.events:
        stored = StoredEvent(
            UUID(row["originator_id"]),
            row["originator_version"],
            row["topic"],
            facts.state_bytes(row),
        )
        event = mapper.to_domain_event(stored)
        assert type(event) is resolve_topic(row["topic"]), row["topic"]
    for row in loaded.snapshots:
        stored = StoredEvent(
            UUID(row["originator_id"]),
            row["originator_version"],
            row["topic"],
            facts.state_bytes(row),
        )
        snapshot = mapper.to_domain_event(stored)
        assert resolve_topic(snapshot.topic) is Wallet  # type: ignore[attr-defined]


def test_every_aggregate_replays_to_its_stored_version(loaded: Loaded) -> None:
    replayed = facts.replay_every_aggregate(loaded.container, loaded.events)
    by_class = Counter(type(aggregate) for aggregate in replayed.values())
    expected = {
        resolve_topic(topic): count
        for topic, count in loaded.manifest["aggregates_by_class"].items()
    }
    assert by_class == expected
    wallets = {str(a.id): a for a in replayed.values() if isinstance(a, Wallet)}
    assert set(wallets) == set(loaded.manifest["wallets"])
    for wallet_id, wallet in wallets.items():
        recorded = loaded.manifest["wallets"][wallet_id]
        assert {name: getattr(wallet, name) for name in _WALLET_FIELDS} == {
            name: recorded[name] for name in _WALLET_FIELDS
        }, wallet_id


def test_the_application_reads_the_same_balances(loaded: Loaded) -> None:
    assert facts.wallet_facts(loaded.container) == loaded.manifest["wallets"]


def test_ledger_verify_passes_with_the_same_totals(loaded: Loaded) -> None:
    report = facts.verification_facts(loaded.container)
    assert report["problems"] == []
    assert report == loaded.manifest["ledger_verify"]


def test_every_projection_rebuilds_to_the_same_figures(loaded: Loaded) -> None:
    assert facts.rebuild_all(loaded.container) == loaded.manifest["rebuilds"]
    figures = facts.projection_facts(loaded.container)
    for name, expected in loaded.manifest["projections"].items():
        assert figures[name] == expected, name
