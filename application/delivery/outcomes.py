"""Record message outcomes and settle their money, a batch at a time.

Each outcome moves one message; the captures and releases those moves cause
are settled with one ReservationsSettled event per wallet per batch, saved in
the same transaction as the message events, so a message's final status and
its money can never disagree. A duplicate or late outcome moves nothing and
so settles nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.errors import Conflict, NotFound, ValidationFailed
from application.ledger.app import LedgerApplication
from domain.errors import InvalidTransition
from domain.message import Message
from domain.messaging.status import NOT_YET_SUBMITTED, MessageStatus
from domain.settlement import SettlementItem
from domain.wallet import MAX_SETTLEMENT_ITEMS, Wallet


class OutcomeKind(StrEnum):
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    REPORTED = "reported"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Outcome:
    message_id: UUID
    kind: OutcomeKind
    carrier: str = ""
    carrier_message_id: str = ""
    carrier_status: str = ""
    status: MessageStatus | None = None  # for REPORTED: sent, delivered or failed
    error_code: str = ""
    reason: str = ""
    capture_on_submit: bool = False  # the route has no delivery reports
    capture_on_expiry: bool = False  # the route's policy for silent carriers


@dataclass(frozen=True, slots=True)
class OutcomesRecorded:
    applied: int
    ignored: int
    captured_micros: int
    released_micros: int


class OutcomeService:
    def __init__(self, app: LedgerApplication) -> None:
        self._app = app

    def record(
        self, outcomes: Sequence[Outcome], *, loaded: Mapping[UUID, Message] | None = None
    ) -> OutcomesRecorded:
        """Apply outcomes and settle what they settle, one wallet event per
        wallet. `loaded` may hold messages the caller has just read and not
        changed, to spare reading them again."""
        if len(outcomes) > MAX_SETTLEMENT_ITEMS:
            raise ValidationFailed(
                "Too many outcomes in one batch", max_outcomes=MAX_SETTLEMENT_ITEMS
            )
        messages: dict[UUID, Message] = dict(loaded or {})
        missing = {o.message_id for o in outcomes} - messages.keys()
        messages.update(self._load_messages(missing))
        by_wallet: dict[UUID, list[Outcome]] = defaultdict(list)
        for outcome in outcomes:
            message = messages.get(outcome.message_id)
            if message is None:
                raise NotFound("No such message", message_id=str(outcome.message_id))
            by_wallet[message.wallet_id].append(outcome)
        totals = OutcomesRecorded(0, 0, 0, 0)
        for wallet_id, wallet_outcomes in by_wallet.items():
            result = self._apply(wallet_id, wallet_outcomes, messages)
            totals = OutcomesRecorded(
                totals.applied + result.applied,
                totals.ignored + result.ignored,
                totals.captured_micros + result.captured_micros,
                totals.released_micros + result.released_micros,
            )
        return totals

    def _apply(
        self, wallet_id: UUID, outcomes: list[Outcome], loaded: dict[UUID, Message]
    ) -> OutcomesRecorded:
        attempts = 0

        def settle(wallet: Wallet) -> OutcomesRecorded:
            nonlocal attempts
            attempts += 1
            # A retry starts from the store again: the first attempt's
            # messages already hold the events that failed to save.
            messages = (
                {o.message_id: loaded[o.message_id] for o in outcomes} if attempts == 1
                else self._load_messages({o.message_id for o in outcomes})
            )
            versions = {m.id: m.version for m in messages.values()}
            items = [
                item for o in outcomes
                if (item := _apply_outcome(messages[o.message_id], o)) is not None
            ]
            moved = [m for m in messages.values() if m.version != versions[m.id]]
            wallet.settle(items)
            self._app.record(wallet, *moved)
            applied = sum(m.version - versions[m.id] for m in moved)
            return OutcomesRecorded(
                applied=applied,
                ignored=len(outcomes) - applied,
                captured_micros=sum(i.captured_micros for i in items),
                released_micros=sum(i.released_micros for i in items),
            )

        try:
            return self._app.run_on_wallet(wallet_id, settle)
        except Conflict:
            # A message moved under us (another dispatcher, a cancel): its
            # event collided with ours. Transitions are idempotent, so one
            # more pass from fresh loads records what is still to record.
            attempts = max(attempts, 1)
            return self._app.run_on_wallet(wallet_id, settle)

    def cancel(self, account_id: str, message_id: UUID, *, sandbox: bool) -> Message:
        """Cancel a message that has not been submitted, releasing its price.

        Another account's message is not found; one already on its way to
        the carrier cannot be called back (409).
        """
        message = self._load_message(message_id)
        if message.account_id != account_id or message.sandbox != sandbox:
            raise NotFound("No such message", message_id=str(message_id))
        if message.status not in NOT_YET_SUBMITTED and message.status != MessageStatus.CANCELLED:
            raise InvalidTransition(
                "Only a scheduled or queued message can be cancelled",
                status=str(message.status),
            )
        self.record([Outcome(message_id, OutcomeKind.CANCELLED)])
        return self._load_message(message_id)

    def _load_messages(self, message_ids: set[UUID]) -> dict[UUID, Message]:
        found = self._app.get_many(sorted(message_ids))
        return {i: m for i, m in found.items() if isinstance(m, Message)}

    def _load_message(self, message_id: UUID) -> Message:
        try:
            message: Message = self._app.repository.get(message_id)
        except AggregateNotFoundError:
            raise NotFound("No such message", message_id=str(message_id)) from None
        return message


def _apply_outcome(message: Message, outcome: Outcome) -> SettlementItem | None:
    kind = outcome.kind
    if kind == OutcomeKind.SUBMITTED:
        if message.is_final:
            return None
        return message.submit(
            outcome.carrier, outcome.carrier_message_id,
            capture_on_submit=outcome.capture_on_submit,
        )
    if kind == OutcomeKind.REJECTED:
        return message.reject(outcome.error_code, outcome.reason)
    if kind == OutcomeKind.REPORTED:
        if outcome.status is None:
            raise ValidationFailed("A delivery report needs a status")
        return message.report_delivery(outcome.carrier_status, outcome.status, outcome.error_code)
    if kind == OutcomeKind.EXPIRED:
        return message.expire(capture_held=outcome.capture_on_expiry)
    return message.cancel()
