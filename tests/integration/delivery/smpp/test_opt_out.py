"""A STOP sent over SMPP opts the number out however the SMSC writes it, and
no written form of the number gets past the opt-out afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from uuid import uuid4

import pytest

from adapters.bootstrap.container import Container
from adapters.dispatcher.worker import ReceiptCollector
from application.sending.send import BulkRecipient, SendBulk, SendMessage
from domain.errors import RecipientOptedOut
from domain.wallet import TopUpSource
from tests.integration.delivery.smpp.conftest import CarrierFactory
from tests.support.replies import handed_to_carrier
from tests.support.senders import approve_sender
from tests.support.smsc import ScriptedSmsc, eventually

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

CARRIER = "smpp-test"  # the name the `carriers` fixture gives its carrier
NUMBER = "+447911500007"
WRITTEN_FORMS = ("+447911500007", "447911500007", "07911500007", "+44 7911 500007",
                 "07911-500-007", "0044 7911 500 007", "(07911) 500007")


@pytest.fixture
def gb_route(container: Container) -> Iterator[str]:
    """A route sending +44 through the test SMSC: its country is GB."""
    name = f"smpp-gb-{uuid4().hex[:8]}"
    with container.pool.connection() as conn:
        conn.execute(
            "INSERT INTO routes (name, prefix, carrier, messages_per_second, receipt_policy)"
            " VALUES (%s, '+44', %s, 10, 'receipts')",
            (name, CARRIER),
        )
    try:
        yield name
    finally:
        with container.pool.connection() as conn:
            conn.execute("DELETE FROM routes WHERE name = %s", (name,))


@pytest.fixture
def account(container: Container) -> str:
    profile = container.accounts.create_account("Stop Ltd", "GBP", "GB")
    live, _ = container.wallets.open_wallets(profile.account_id, "GBP")
    container.wallets.top_up(live, 5_000_000, TopUpSource.ADJUSTMENT, "opening")
    approve_sender(container, profile.account_id)
    return profile.account_id


@pytest.fixture
async def collector(container: Container) -> AsyncIterator[ReceiptCollector]:
    """The dispatcher's handlers for what its carriers receive. They hand the
    application's work to the loop's default executor, whose thread is ended
    here so that the test leaves none running."""
    yield ReceiptCollector(container.receipts, container.inbound)
    await asyncio.get_running_loop().shutdown_default_executor()


async def test_a_digits_only_stop_opts_the_number_out_in_every_written_form(
    smsc: ScriptedSmsc, carriers: CarrierFactory, container: Container, account: str,
    gb_route: str, collector: ReceiptCollector,
) -> None:
    messaging = container.messaging
    messaging.send(SendMessage(account, NUMBER, "Acme", "Your code is 1234"))
    handed_to_carrier(container, account, NUMBER)

    # Many SMSCs send a handset's number as digits with TON 0 (unknown).
    await carriers(recorder=collector)
    await eventually(lambda: len(smsc.sessions) == 1)
    answered = await smsc.sessions[0].deliver_sm(
        "1234", b"STOP", source_addr=NUMBER[1:], source_addr_ton=0, source_addr_npi=1,
    )  # fmt: skip
    assert answered.command_status == 0  # ESME_ROK: taken, not left for a retry
    assert NUMBER in container.opt_outs.opted_out(account)

    for written in WRITTEN_FORMS:
        with pytest.raises(RecipientOptedOut):  # 422 OPT_OUT over HTTP
            messaging.send(SendMessage(account, written, "Acme", "Sale!"))
    bulk = messaging.send_bulk(SendBulk(
        account, [BulkRecipient(w) for w in (*WRITTEN_FORMS, "+447911500008")], "Acme", "Sale!"
    ))
    assert bulk.accepted == 1
    assert [r.code for r in bulk.rejections] == ["OPT_OUT"] * len(WRITTEN_FORMS)
