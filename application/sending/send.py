"""Send one message, or a bulk batch of up to 10,000, against the wallet.

Validation, templating, encoding and pricing happen before the wallet lock is
taken; the lock is held only to reserve the price and save, so that one
account's long bulk does not stall its single sends for longer than the save.

In the sandbox, a message sent now is settled in the same transaction by the
sandbox's simulator (domain/messaging/sandbox.py), and the answer gives the status the
stored message has.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from application.contacts.ports import OptOutRegistry
from application.errors import ValidationFailed
from application.ledger.app import LedgerApplication
from application.ports import AccountDirectory, AccountProfile
from domain import ids
from domain.campaign import Campaign
from domain.errors import DomainError, RecipientOptedOut
from domain.message import ACCEPTANCE_FIELDS, DEFAULT_VALIDITY_MINUTES, Acceptance, Message
from domain.messaging.accepted_batch import AcceptedBatch
from domain.messaging.encoding import count_segments
from domain.messaging.phone import parse_phone
from domain.messaging.pricing import RateBook, RateCard
from domain.messaging.recipient import Recipient
from domain.messaging.sandbox import sandbox_outcome, settled_status
from domain.messaging.sender import validate_sender_id
from domain.messaging.status import MessageStatus
from domain.messaging.templates import Template
from domain.wallet import Wallet

MAX_BULK_RECIPIENTS = 10_000
# Recipients prepared per step of a streamed bulk save.
BULK_CHUNK_SIZE = 500
MAX_CLIENT_REF_LENGTH = 128
MAX_SCHEDULE_AHEAD = timedelta(days=30)
# A batch's status when its messages' statuses differ.
MIXED = "mixed"


@dataclass(frozen=True, slots=True)
class SendMessage:
    account_id: str
    to: str
    sender: str
    body: str
    variables: Mapping[str, object] = field(default_factory=dict)
    client_ref: str | None = None
    unicode: bool = False
    sandbox: bool = False
    validity_minutes: int = DEFAULT_VALIDITY_MINUTES
    idempotency_key: str | None = None
    scheduled_at: datetime | None = None
    callback_url: str | None = None


@dataclass(frozen=True, slots=True)
class BulkRecipient:
    to: str
    variables: Mapping[str, object] = field(default_factory=dict)
    # Set by callers that derive ids themselves (a campaign's recipients).
    message_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class SendBulk:
    account_id: str
    recipients: Sequence[BulkRecipient]
    sender: str
    body: str
    client_ref: str | None = None
    unicode: bool = False
    sandbox: bool = False
    validity_minutes: int = DEFAULT_VALIDITY_MINUTES
    idempotency_key: str | None = None
    scheduled_at: datetime | None = None
    callback_url: str | None = None


@dataclass(frozen=True, slots=True)
class SentMessage:
    message_id: UUID
    status: str
    destination: str
    segments: int
    encoding: str
    price_micros: int
    currency: str


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    to: str
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class BulkAccepted:
    batch_id: UUID
    accepted: int
    rejections: tuple[Rejection, ...]
    cost_micros: int
    currency: str
    # The accepted recipients with their message ids, for callers that list them.
    messages: tuple[Recipient, ...] = ()
    # Each accepted message's status as stored, in the order of `messages`:
    # queued or scheduled, or already final for the sandbox's.
    statuses: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """The status every accepted message has, or "mixed" when they
        differ (a sandbox batch with some of the simulator's magic numbers)."""
        distinct = set(self.statuses)
        return distinct.pop() if len(distinct) == 1 else MIXED

    def status_counts(self) -> dict[str, int]:
        return dict(Counter(self.statuses))


class MessagingService:
    def __init__(
        self,
        app: LedgerApplication,
        accounts: AccountDirectory,
        rates: RateBook,
        opt_outs: OptOutRegistry,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._app = app
        self._accounts = accounts
        self._rates = rates
        self._opt_outs = opt_outs
        self._now = now

    def send(self, command: SendMessage) -> SentMessage:
        profile = self._accounts.profile(command.account_id)
        _check_command(command, self._now())
        message_id = (
            ids.keyed_message_id(command.account_id, command.idempotency_key, 0)
            if command.idempotency_key
            else uuid4()
        )
        recipient = prepare_recipient(
            message_id,
            command.to,
            Template.parse(command.body),
            command.variables,
            profile,
            self.card_for(profile, sandbox=command.sandbox),
            force_unicode=command.unicode,
        )
        _refuse_opted_out(recipient, self._opt_outs.opted_out(command.account_id))
        wallet_id = ids.wallet_id(command.account_id, sandbox=command.sandbox)
        settle_now = command.sandbox and command.scheduled_at is None
        outcome = sandbox_outcome(message_id, recipient.destination) if settle_now else None

        def reserve_and_save(wallet: Wallet) -> list[Aggregate]:
            wallet.ensure_can_send()
            if recipient.price_micros:
                wallet.reserve(str(message_id), recipient.price_micros, f"message:{message_id}")
            message = Message.accept(recipient, acceptance_terms(
                command, wallet_id=wallet_id, campaign_id=None,
                reservation_id=str(message_id), currency=wallet.currency,
            ))
            if outcome is not None:
                message.settle_in_sandbox(outcome)
            return [message]  # saved with the wallet by the group it joins

        # Concurrent sends on one wallet are committed together, in one transaction.
        self._app.run_grouped(wallet_id, reserve_and_save)
        status = MessageStatus.SCHEDULED if command.scheduled_at else MessageStatus.QUEUED
        return SentMessage(
            message_id=message_id,
            status=str(settled_status(outcome) if outcome is not None else status),
            destination=recipient.destination,
            segments=recipient.segments,
            encoding=recipient.encoding,
            price_micros=recipient.price_micros,
            currency=profile.currency,
        )

    def send_bulk(self, command: SendBulk) -> BulkAccepted:
        """Accept a batch: one Message per valid recipient, one Campaign, one
        reservation for the accepted total, all in one transaction.

        Recipients are validated, priced and encoded a chunk at a time while
        the store is already receiving the earlier chunks, so the database's
        work overlaps ours. The reservation comes last, once the total is
        known; if the wallet cannot pay it, the whole transaction rolls back.
        """
        count = len(command.recipients)
        if not 1 <= count <= MAX_BULK_RECIPIENTS:
            raise ValidationFailed(
                f"A bulk send has 1 to {MAX_BULK_RECIPIENTS} recipients",
                recipients=count,
                max_recipients=MAX_BULK_RECIPIENTS,
            )
        profile = self._accounts.profile(command.account_id)
        _check_command(command, self._now())
        key = command.idempotency_key
        batch_id = ids.keyed_batch_id(command.account_id, key) if key else uuid4()
        wallet_id = ids.wallet_id(command.account_id, sandbox=command.sandbox)
        template = Template.parse(command.body)
        card = self.card_for(profile, sandbox=command.sandbox)
        prepared: list[_BulkPreparation] = []

        def reserve_and_save(wallet: Wallet) -> None:
            wallet.ensure_can_send()
            preparation = _BulkPreparation(
                command, profile, template, card, self._opt_outs.opted_out(command.account_id)
            )
            timestamp = Message.Event.create_timestamp()
            # Created first, so that readers of the log meet the campaign
            # before its messages.
            campaign = Campaign.create_batch(
                batch_id,
                account_id=command.account_id,
                sender=command.sender,
                body=command.body,
                client_ref=command.client_ref,
                sandbox=command.sandbox,
            )

            def close() -> list[Aggregate]:
                return preparation.close(wallet, campaign, batch_id)

            terms = acceptance_terms(
                command, wallet_id=wallet_id, campaign_id=batch_id,
                reservation_id=str(batch_id), currency=wallet.currency,
            )
            batches = preparation.batches(terms, timestamp)
            self._app.record_stream([campaign], batches, close, expected_events=count)
            prepared.append(preparation)

        self._app.run_on_wallet(wallet_id, reserve_and_save)
        done = prepared[-1]
        return BulkAccepted(
            batch_id=batch_id,
            accepted=done.accepted,
            rejections=tuple(done.rejections),
            cost_micros=done.total_micros,
            currency=profile.currency,
            messages=tuple(done.prepared),
            statuses=tuple(done.statuses),
        )

    def card_for(self, profile: AccountProfile, *, sandbox: bool) -> RateCard | None:
        """The account's card; None for the sandbox, where sending is free."""
        if sandbox:
            return None
        card = self._rates.card(profile.currency)
        if profile.rate_overrides_micros:
            card = card.with_overrides(profile.rate_overrides_micros)
        return card


class _BulkPreparation:
    """Validates, renders, measures and prices a bulk's recipients in chunks,
    keeping count of what it accepted and why it rejected the rest."""

    def __init__(
        self,
        command: SendBulk,
        profile: AccountProfile,
        template: Template,
        card: RateCard | None,
        opted_out: frozenset[str],
    ) -> None:
        self._command = command
        self._opted_out = opted_out
        self._profile = profile
        self._template = template
        self._card = card
        self.accepted = 0
        self.total_micros = 0
        self.rejections: list[Rejection] = []
        self.prepared: list[Recipient] = []
        self.statuses: list[str] = []
        # Sandbox messages sent now are settled as they are accepted.
        self.settle_now = command.sandbox and command.scheduled_at is None
        self._unsettled = str(
            MessageStatus.SCHEDULED if command.scheduled_at else MessageStatus.QUEUED)

    def chunks(self) -> Iterator[list[Recipient]]:
        command, key = self._command, self._command.idempotency_key
        recipients = command.recipients
        for start in range(0, len(recipients), BULK_CHUNK_SIZE):
            chunk: list[Recipient] = []
            for index in range(start, min(start + BULK_CHUNK_SIZE, len(recipients))):
                item = recipients[index]
                message_id = item.message_id or (
                    ids.keyed_message_id(command.account_id, key, index) if key else uuid4()
                )
                try:
                    recipient = prepare_recipient(
                        message_id, item.to, self._template, item.variables, self._profile,
                        self._card, force_unicode=command.unicode,
                    )
                    _refuse_opted_out(recipient, self._opted_out)
                except DomainError as error:
                    self.rejections.append(Rejection(index, item.to, error.code, error.message))
                    continue
                chunk.append(recipient)
                self.total_micros += recipient.price_micros
            self.accepted += len(chunk)
            self.prepared.extend(chunk)
            self.statuses.extend(map(self._status_of, chunk))
            if chunk:
                yield chunk

    def _status_of(self, recipient: Recipient) -> str:
        """The status the recipient's message is stored with."""
        if not self.settle_now:
            return self._unsettled
        outcome = sandbox_outcome(recipient.message_id, recipient.destination)
        return self._unsettled if outcome is None else str(settled_status(outcome))

    def batches(self, terms: Acceptance, timestamp: datetime) -> Iterator[AcceptedBatch]:
        """The prepared recipients, a chunk at a time, accepted on `terms`."""
        for chunk in self.chunks():
            settled_at = Message.Event.create_timestamp() if self.settle_now else None
            yield AcceptedBatch(terms, timestamp, chunk, settled_at)

    def close(self, wallet: Wallet, campaign: Campaign, batch_id: UUID) -> list[Aggregate]:
        """Once every recipient is prepared: reserve the total and start the
        campaign; refuse a batch with nobody to send to."""
        if not self.accepted:
            raise ValidationFailed(
                "No recipient of the batch can be sent to",
                rejected=[_rejection_details(r) for r in self.rejections[:100]],
            )
        if self.total_micros:
            wallet.reserve(str(batch_id), self.total_micros, f"batch:{batch_id}")
        campaign.add_recipients(self.accepted, len(self.rejections), self.total_micros)
        campaign.start()
        return [wallet, campaign]


def prepare_recipient(
    message_id: UUID,
    to: str,
    template: Template,
    variables: Mapping[str, object],
    profile: AccountProfile,
    card: RateCard | None,
    *,
    force_unicode: bool,
) -> Recipient:
    """Validate, render, measure and price one recipient; raise a DomainError."""
    phone = parse_phone(to, profile.default_country)
    body = template.render(variables)
    if not body.strip():
        raise ValidationFailed("The message body is empty after substitution")
    count = count_segments(body, force_unicode=force_unicode)
    price_micros = 0 if card is None else card.price_micros(phone.country, count.segments)
    return Recipient(
        message_id=message_id,
        destination=phone.e164,
        country=phone.country,
        body=body,
        encoding=str(count.encoding),
        segments=count.segments,
        price_micros=price_micros,
    )


def acceptance_terms(
    command: SendMessage | SendBulk,
    *,
    wallet_id: UUID,
    campaign_id: UUID | None,
    reservation_id: str,
    currency: str,
) -> Acceptance:
    """The terms a send's messages are accepted on: where their money is
    held, and every other term taken from the command by name, so that a
    term added to acceptance cannot be left behind by one kind of send."""
    placed: dict[str, object] = {
        "wallet_id": wallet_id, "campaign_id": campaign_id,
        "reservation_id": reservation_id, "currency": currency,
    }
    stated = {name: getattr(command, name) for name in ACCEPTANCE_FIELDS if name not in placed}
    return Acceptance(**stated, **placed)  # type: ignore[arg-type]


def _check_command(command: SendMessage | SendBulk, now: datetime) -> None:
    """What every send is checked for before its recipients."""
    validate_sender_id(command.sender)
    _check_client_ref(command.client_ref)
    _check_schedule(command.scheduled_at, now)


def _refuse_opted_out(recipient: Recipient, opted_out: frozenset[str]) -> None:
    if recipient.destination in opted_out:
        raise RecipientOptedOut(
            "The recipient has opted out of messages from this account",
            to=recipient.destination,
        )


def _check_schedule(scheduled_at: datetime | None, now: datetime) -> None:
    if scheduled_at is None:
        return
    if scheduled_at.tzinfo is None:
        raise ValidationFailed("scheduled_at needs a timezone, e.g. 2026-03-01T09:00:00Z")
    if scheduled_at <= now:
        raise ValidationFailed("scheduled_at is in the past", scheduled_at=scheduled_at.isoformat())
    if scheduled_at > now + MAX_SCHEDULE_AHEAD:
        raise ValidationFailed(
            "scheduled_at is at most 30 days ahead", scheduled_at=scheduled_at.isoformat()
        )


def _check_client_ref(client_ref: str | None) -> None:
    if client_ref is not None and not 1 <= len(client_ref) <= MAX_CLIENT_REF_LENGTH:
        raise ValidationFailed(
            f"client_ref is 1 to {MAX_CLIENT_REF_LENGTH} characters",
            max_length=MAX_CLIENT_REF_LENGTH,
        )


def _rejection_details(rejection: Rejection) -> dict[str, object]:
    return {
        "index": rejection.index,
        "to": rejection.to,
        "code": rejection.code,
        "reason": rejection.reason,
    }
