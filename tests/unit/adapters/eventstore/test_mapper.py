"""The msgspec mapper: exact round trips, upcasting, snapshots."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import msgspec
import pytest
from eventsourcing.domain import Aggregate, Snapshot

from adapters.eventstore.mapper import MsgspecMapper
from domain.message import ACCEPTANCE_FIELDS, ACCEPTED_RECIPIENT_FIELDS, Acceptance, Message
from domain.messaging.accepted_batch import AcceptedBatch
from domain.messaging.recipient import Recipient
from domain.messaging.simulator import (
    EXPIRED_NUMBER,
    FAILED_NUMBER,
    REJECTED_NUMBER,
    SILENT_NUMBER,
)
from domain.wallet import TopUpSource, Wallet


class Parcel(Aggregate):
    """A test aggregate whose event changed shape once."""

    class Weighed(Aggregate.Event):
        class_version = 2
        grams: int
        unit: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Version 1 stored kilograms as "kg"; version 2 stores grams.
            state["grams"] = state.pop("kg") * 1000
            state["unit"] = "g"


def test_events_round_trip_with_their_types() -> None:
    mapper = MsgspecMapper(transcoder=None)  # type: ignore[arg-type]
    wallet = Wallet.open(uuid4(), "acct", "GBP")
    wallet.top_up(1_000_000, TopUpSource.STRIPE, "cs_1")
    message = Message.accept(
        Recipient(uuid4(), "+447700900123", "GB", "hi", "GSM-7", 1, 35_000),
        Acceptance(account_id="acct", wallet_id=wallet.id, campaign_id=None, reservation_id="r",
                   sender="Acme", currency="GBP", client_ref=None, sandbox=False),
    )
    for event in [*wallet.collect_events(), *message.collect_events()]:
        restored = mapper.to_domain_event(mapper.to_stored_event(event))
        assert type(restored) is type(event)
        assert vars(restored) == vars(event)


def test_old_versions_are_upcast_on_read() -> None:
    mapper = MsgspecMapper(transcoder=None)  # type: ignore[arg-type]
    parcel_id = uuid4()
    event = Parcel.Weighed(originator_id=parcel_id, originator_version=2,
                           timestamp=Parcel.Event.create_timestamp(), grams=0, unit="g")
    stored = mapper.to_stored_event(event)
    version_1_state = stored.state.replace(b'"grams":0,"unit":"g","class_version":2', b'"kg":3')
    assert version_1_state != stored.state
    restored = mapper.to_domain_event(type(stored)(
        originator_id=stored.originator_id, originator_version=2, topic=stored.topic,
        state=version_1_state))
    assert (restored.grams, restored.unit) == (3000, "g")  # type: ignore[attr-defined]


def test_wallet_snapshots_restore_the_same_wallet() -> None:
    mapper = MsgspecMapper(transcoder=None)  # type: ignore[arg-type]
    wallet = Wallet.open(uuid4(), "acct", "GBP")
    wallet.top_up(1_000_000, TopUpSource.STRIPE, "cs_1")
    wallet.reserve("hold-1", 40_000, "m")
    wallet.collect_events()
    snapshot = Snapshot.take(wallet)
    restored = mapper.to_domain_event(mapper.to_stored_event(snapshot)).mutate(None)
    assert vars(restored) == vars(wallet)


@pytest.mark.parametrize("callback_url", [None, "https://hooks.example.com/dlr?a=1&b=\"2\""])
def test_batch_encoding_stores_the_same_events_as_one_by_one(callback_url: str | None) -> None:
    mapper = MsgspecMapper(transcoder=None)  # type: ignore[arg-type]
    batch = AcceptedBatch(
        Acceptance(
            account_id="acct", wallet_id=uuid4(), campaign_id=uuid4(), reservation_id="r",
            sender="Acme", currency="GBP", client_ref='quote " and \\ backslash',
            sandbox=False, validity_minutes=60, callback_url=callback_url,
        ),
        timestamp=Message.Event.create_timestamp(),
        recipients=[
            Recipient(
                uuid4(), "+447700900123", "GB", 'Hi "Ann" € \u0645\U0001f600', "UCS-2", 2, 70_000
            ),
            Recipient(uuid4(), "+233201234567", "GH", "plain", "GSM-7", 1, 25_300),
        ],
    )
    fast = mapper.encode_accepted_batch(batch)
    slow = [mapper.to_stored_event(e) for e in batch.events()]
    assert [(s.originator_id, s.originator_version, s.topic) for s in fast] == [
        (s.originator_id, s.originator_version, s.topic) for s in slow]
    for fast_row, slow_row in zip(fast, slow, strict=True):
        assert vars(mapper.to_domain_event(fast_row)) == vars(mapper.to_domain_event(slow_row))
        assert mapper.to_domain_event(fast_row).callback_url == callback_url  # type: ignore


def test_a_sandbox_batch_settled_at_once_encodes_the_same_events_as_one_by_one() -> None:
    mapper = MsgspecMapper(transcoder=None)  # type: ignore[arg-type]
    numbers = ["+447700900123", FAILED_NUMBER, "+447700900124", EXPIRED_NUMBER,
               REJECTED_NUMBER, SILENT_NUMBER, "+447700900125", REJECTED_NUMBER]
    batch = AcceptedBatch(
        Acceptance(account_id="acct", wallet_id=uuid4(), campaign_id=uuid4(), reservation_id="r",
                   sender="Test", currency="GBP", client_ref=None, sandbox=True,
                   validity_minutes=60),
        timestamp=Message.Event.create_timestamp(),
        recipients=[Recipient(uuid4(), n, "GB", "hi", "GSM-7", 1, 0) for n in numbers],
        settled_at=Message.Event.create_timestamp(),
    )
    fast = mapper.encode_accepted_batch(batch)
    slow = [mapper.to_stored_event(e) for e in batch.events()]
    # Accepted for all 8; then taken and reported for 5, refused for 2; the
    # silent one is left to the dispatcher.
    assert len(fast) == len(slow) == 8 + 5 * 2 + 2
    assert [(s.originator_id, s.originator_version, s.topic) for s in fast] == [
        (s.originator_id, s.originator_version, s.topic) for s in slow]
    for fast_row, slow_row in zip(fast, slow, strict=True):
        assert vars(mapper.to_domain_event(fast_row)) == vars(mapper.to_domain_event(slow_row))
    message = None
    for row in fast:
        if row.originator_id == batch.recipients[2].message_id:
            message = mapper.to_domain_event(row).mutate(message)  # type: ignore[attr-defined]
    assert message is not None and (message.status, message.carrier_message_id) == (
        "delivered", f"sandbox-{batch.recipients[2].message_id.hex}")


def test_a_batch_stores_every_value_under_its_own_name() -> None:
    """The batch encoding writes the shared terms once and each recipient's
    fields after them; every value, each one distinct, must land under its
    own field's name, whatever the order the fields are declared in."""
    mapper = MsgspecMapper(transcoder=None)  # type: ignore[arg-type]
    terms = Acceptance(
        account_id="the-account", wallet_id=uuid4(), campaign_id=uuid4(),
        reservation_id="the-reservation", sender="TheSender", currency="XOF",
        client_ref="the-ref", sandbox=True, validity_minutes=61,
        scheduled_at=Message.Event.create_timestamp(), callback_url="https://the.example/cb",
    )
    recipient = Recipient(uuid4(), "+447700900123", "GB", "the-body", "UCS-2", 3, 70_001)
    batch = AcceptedBatch(terms, Message.Event.create_timestamp(), [recipient])
    (row,) = mapper.encode_accepted_batch(batch)
    stored = msgspec.json.decode(row.state)
    event = mapper.to_domain_event(row)
    for name in ACCEPTED_RECIPIENT_FIELDS:
        assert stored[name] == getattr(recipient, name), name
        assert getattr(event, name) == getattr(recipient, name), name
    for name in ACCEPTANCE_FIELDS:
        assert getattr(event, name) == getattr(terms, name), name
    assert set(stored) == {
        "timestamp", "originator_topic", "class_version",
        *ACCEPTANCE_FIELDS, *ACCEPTED_RECIPIENT_FIELDS,
    }
