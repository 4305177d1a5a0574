"""One chunk of a campaign: its recipients become messages under one
reservation, and the campaign's cursor moves past them, in one transaction.

It reuses the bulk path's preparation (validation, templating, encoding,
pricing, opt-outs) and its streamed save. What differs: message ids are
derived from the campaign and the recipient's number in the list, each chunk
holds its own reservation, and the closing event is the campaign's
ChunkSent rather than its start. Because the ChunkSent event takes the
campaign's next version, a pause (or another executor) that wrote that
version first makes this whole transaction fail: the chunk is then either
entirely sent or not at all, and never twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.campaigns.ports import ListedRecipient
from application.ledger.app import LedgerApplication
from application.ports import AccountProfile
from application.sending.outgoing import Outgoing
from application.sending.send import (
    BulkRecipient,
    MessagingService,
    _BulkPreparation,
    acceptance_terms,
)
from domain import ids
from domain.campaign import Campaign, CampaignStatus
from domain.errors import RecipientOptedOut
from domain.message import Message
from domain.messaging.templates import Template
from domain.wallet import Wallet


class CampaignMoved(Exception):
    """The campaign changed (paused, cancelled, another executor) since it
    was loaded; the chunk was not sent."""


def send_chunk(
    app: LedgerApplication,
    messaging: MessagingService,
    profile: AccountProfile,
    opted_out: frozenset[str],
    campaign: Campaign,
    rows: Sequence[ListedRecipient],
) -> Campaign:
    """Send `rows` (the next recipients after the campaign's cursor) and
    return the campaign as saved. Raises InsufficientBalance (nothing sent),
    CampaignMoved, or Conflict when another writer got there first."""
    assert rows and rows[0].seq > campaign.cursor
    campaign_id, cursor = campaign.id, campaign.cursor
    to_seq = rows[-1].seq
    wallet_id = ids.wallet_id(campaign.account_id, sandbox=campaign.sandbox)
    template = Template.parse(campaign.body)
    card = messaging.card_for(profile, sandbox=campaign.sandbox)
    reservation_id = f"campaign/{campaign_id}/{to_seq}"
    command = Outgoing(
        account_id=campaign.account_id, sandbox=campaign.sandbox, sender=campaign.sender,
        body=campaign.body, client_ref=campaign.client_ref, unicode=campaign.unicode,
    ).to_many([
        BulkRecipient(r.phone, r.variables, ids.campaign_message_id(campaign_id, r.seq))
        for r in rows
    ])
    attempts = 0

    def reserve_and_save(wallet: Wallet) -> Campaign:
        nonlocal attempts
        attempts += 1
        # A retry (another process wrote the wallet) starts from the stored
        # campaign: the first attempt's copy already holds its unsaved event.
        current = campaign if attempts == 1 else app.repository.get(campaign_id)
        if current.status != CampaignStatus.SENDING or current.cursor != cursor:
            raise CampaignMoved(str(current.status))
        preparation = _BulkPreparation(command, profile, template, card, opted_out)
        timestamp = Message.Event.create_timestamp()

        terms = acceptance_terms(
            command, wallet_id=wallet_id, campaign_id=campaign_id,
            reservation_id=reservation_id, currency=wallet.currency,
        )

        def close() -> list[Aggregate]:
            total = preparation.total_micros
            if total:
                wallet.reserve(reservation_id, total, f"campaign:{campaign_id}:{to_seq}")
            rejections = preparation.rejections
            current.send_chunk(
                to_seq=to_seq, accepted=preparation.accepted, rejected=len(rejections),
                opted_out=sum(1 for r in rejections if r.code == RecipientOptedOut.code),
                total_price_micros=total, reservation_id=reservation_id if total else "",
            )
            return [wallet, current]

        batches = preparation.batches(terms, timestamp)
        app.record_stream([], batches, close, expected_events=len(rows))
        return current

    return app.run_on_wallet(wallet_id, reserve_and_save)


def message_ids(campaign_id: UUID, seqs: Sequence[int]) -> list[UUID]:
    return [ids.campaign_message_id(campaign_id, seq) for seq in seqs]
