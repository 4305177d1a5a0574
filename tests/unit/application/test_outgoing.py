"""One builder for every entry point's send commands."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

from application.sending.outgoing import OUTGOING_FIELDS, Outgoing
from application.sending.send import BulkRecipient, SendBulk, SendMessage


def test_the_builder_holds_every_field_a_send_command_has() -> None:
    """A field added to SendMessage or SendBulk but not to Outgoing would be
    left at its default by every entry point: refused here."""
    one = {f.name for f in fields(SendMessage)} - {"to", "variables"}
    many = {f.name for f in fields(SendBulk)} - {"recipients"}
    assert set(OUTGOING_FIELDS) == one == many


def test_one_and_many_carry_the_same_terms() -> None:
    outgoing = Outgoing(
        account_id="acct",
        sandbox=True,
        sender="Acme",
        body="Hi {{name}}",
        client_ref="ref",
        unicode=True,
        validity_minutes=61,
        idempotency_key="key",
        scheduled_at=datetime(2030, 1, 1, tzinfo=UTC),
        callback_url="https://h.example/cb",
    )
    one = outgoing.to_one("+447700900123", {"name": "Ann"})
    many = outgoing.to_many([BulkRecipient("+447700900123", {"name": "Ann"})])
    for name in OUTGOING_FIELDS:
        assert getattr(one, name) == getattr(many, name) == getattr(outgoing, name), name
    assert (one.to, one.variables) == ("+447700900123", {"name": "Ann"})
    assert outgoing.to_one("+447700900123").variables == {}
