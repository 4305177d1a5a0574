"""Many threads sending on one wallet, on PostgreSQL: grouped commits must
accept exactly what the wallet pays for, each send once, in a ledger that
verifies."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID, uuid4

import psycopg
from eventsourcing.persistence import StoredEvent

from adapters.bootstrap.container import Container
from adapters.eventstore.recorder import _array_literals
from application.sending.send import SendMessage
from domain import ids
from domain.errors import InsufficientBalance
from domain.wallet import TopUpSource, Wallet

THREADS = 48
SENDS_PER_THREAD = 6
AFFORDABLE = 200  # of THREADS * SENDS_PER_THREAD = 288
MESSAGE_ACCEPTED_TOPIC = "domain.message:Message.Accepted"


def _send_from_threads(container: Container, account_id: str) -> tuple[list[UUID], int]:
    start = threading.Barrier(THREADS)

    def sender(thread: int) -> tuple[list[UUID], int]:
        accepted: list[UUID] = []
        refused = 0
        start.wait()
        for n in range(SENDS_PER_THREAD):
            index = thread * SENDS_PER_THREAD + n
            try:
                sent = container.messaging.send(
                    SendMessage(account_id, f"+4477009{index:05d}", "Acme", "Code {{c}}",
                                {"c": str(index)}))
            except InsufficientBalance:
                refused += 1
            else:
                accepted.append(sent.message_id)
        return accepted, refused

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(sender, range(THREADS)))
    return [m for accepted, _ in results for m in accepted], sum(r for _, r in results)


def test_concurrent_sends_on_one_wallet_are_grouped_and_each_saved_once(
    container: Container, database_url: str
) -> None:
    price = container.messaging._rates.card("GBP").price_micros("GB", 1)
    profile = container.accounts.create_account("Group Commit Ltd", "GBP", "GB")
    wallet_id, _ = container.wallets.open_wallets(profile.account_id, "GBP")
    container.wallets.top_up(wallet_id, AFFORDABLE * price, TopUpSource.ADJUSTMENT, "opening")
    before = container.app.group_stats()

    accepted, refused = _send_from_threads(container, profile.account_id)

    assert (len(accepted), refused) == (AFFORDABLE, THREADS * SENDS_PER_THREAD - AFFORDABLE)
    assert len(set(accepted)) == AFFORDABLE
    with psycopg.connect(database_url) as conn:
        stored = conn.execute(
            "SELECT originator_id, count(*) FROM smsledger_events"
            " WHERE originator_id = ANY(%s) AND topic = %s GROUP BY originator_id",
            (accepted, MESSAGE_ACCEPTED_TOPIC),
        ).fetchall()
        per_transaction = conn.execute(
            "SELECT count(*) FROM smsledger_events WHERE originator_id = %s"
            " AND topic = %s GROUP BY xmin ORDER BY count(*) DESC LIMIT 1",
            (wallet_id, "domain.wallet:Wallet.FundsReserved"),
        ).fetchone()
    assert {row[0] for row in stored} == set(accepted)
    assert all(row[1] == 1 for row in stored)
    # Grouping happened: some transaction saved several sends' reservations.
    assert per_transaction is not None and per_transaction[0] > 1
    after = container.app.group_stats()
    assert after.commands - before.commands == THREADS * SENDS_PER_THREAD
    assert after.groups - before.groups < after.commands - before.commands

    reserved = [
        event.reservation_id
        for event in container.app.events.get(wallet_id)
        if isinstance(event, Wallet.FundsReserved)
    ]
    assert sorted(reserved) == sorted(str(m) for m in accepted)
    container.app.forget_wallet(wallet_id)
    balance = container.wallets.balance(wallet_id)
    assert balance.balance_micros == AFFORDABLE * price
    assert balance.reserved_micros == AFFORDABLE * price
    assert balance.available_micros == 0
    assert wallet_id == ids.wallet_id(profile.account_id, sandbox=False)
    report = container.verifier.verify()
    assert report.ok, report.problems


def test_array_literals_reach_postgresql_exactly(database_url: str) -> None:
    """A group's events are passed as array literals built by the recorder;
    every byte of state and every character of topic must come back as it
    went in. Read back through a SELECT, not the events table, so that no
    event with a made-up topic reaches the relay of later tests."""
    every_byte = bytes(range(256))
    events = [
        StoredEvent(uuid4(), index + 1, f'topic:{index} "quoted" \\ {{braces}}, comma NULL',
                    every_byte[index:] + every_byte[:index])
        for index in range(40)
    ]
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT %s::uuid[], %s::bigint[], %s::text[], %s::bytea[]",
            _array_literals(events),
        ).fetchone()
    assert row is not None
    assert row[0] == [e.originator_id for e in events]
    assert row[1] == [e.originator_version for e in events]
    assert row[2] == [e.topic for e in events]
    assert [bytes(state) for state in row[3]] == [e.state for e in events]
