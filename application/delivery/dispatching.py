"""The dispatcher: hands queued messages to their route's carrier and records
what the carrier said; and the receipt side: turns delivery receipts into
outcomes, and settles messages whose carrier never reported.

Everything a batch causes is recorded with one OutcomeService call, so each
wallet gets at most one settlement event per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from application.delivery.carriers import Carrier, SubmitRequest, TemporaryCarrierError
from application.delivery.outcomes import Outcome, OutcomeKind, OutcomeService
from application.delivery.ports import (
    AwaitedReceipt,
    Clock,
    DispatchClaims,
    ReceiptIndex,
    ReplyRoutes,
    SentTo,
)
from application.delivery.routing import ReceiptPolicy, Route, RouteBook, TokenBucket
from application.errors import Unavailable
from application.ledger.app import LedgerApplication
from domain.errors import DomainError
from domain.message import Message
from domain.messaging.status import NOT_YET_SUBMITTED

log = logging.getLogger(__name__)

MAX_DEFER_S = 3600.0  # a far-future schedule is looked at again hourly
RETRY_TEMPORARY_S = 5.0
MAX_CONCURRENT_SUBMITS = 64
# A save that fails after the carrier took messages is retried, doubling
# from the first wait to the last, for as long as the dispatcher runs: the
# carrier's ids are kept in memory, never thrown away to be sent again.
SAVE_RETRY_FIRST_S = 0.25
SAVE_RETRY_MAX_S = 5.0
# Held back after another dispatcher claimed a message: it is submitting it
# now, or it died and its lease runs out.
CLAIMED_ELSEWHERE_S = 5.0


class OutcomesNotSaved(Exception):
    """The dispatcher was told to stop while outcomes of messages the
    carrier had taken were still unsaved. They are logged with their carrier
    ids; the messages, not acknowledged, come back to a dispatcher later."""


@dataclass(frozen=True, slots=True)
class Submission:
    message: Message
    route: Route


class Dispatcher:
    def __init__(
        self,
        app: LedgerApplication,
        outcomes: OutcomeService,
        routes: RouteBook,
        carriers: Mapping[str, Carrier],
        claims: DispatchClaims,
        index: ReceiptIndex,
        clock: Clock,
        *,
        replies: ReplyRoutes,
        owner: str,
        lease_s: float = 30.0,
    ) -> None:
        self._app = app
        self._outcomes = outcomes
        self._routes = routes
        self._carriers = carriers
        self._claims = claims
        self._index = index
        self._clock = clock
        self._replies = replies
        self._owner = owner
        self._lease_s = lease_s
        self._buckets = {r.name: TokenBucket(r.messages_per_second) for r in routes.routes}
        self._submit_slots = asyncio.Semaphore(MAX_CONCURRENT_SUBMITS)

    async def dispatch(
        self, message_ids: Sequence[UUID], stop: asyncio.Event | None = None
    ) -> dict[UUID, float | None]:
        """Handle each message: None when it is done with (ack), or seconds
        after which to look at it again (scheduled, throttled, busy).

        Until a message is handed to a carrier, a failure (the database
        gone) raises, and the caller hands the messages back to be tried
        again. Once any is handed over, its outcome is saved whatever it
        takes (see _save); OutcomesNotSaved if `stop` ends that first."""
        messages = await asyncio.to_thread(self._load, message_ids)
        decisions: dict[UUID, float | None] = {}
        outcomes: list[Outcome] = []
        candidates: list[Submission] = []
        for message_id in message_ids:
            message = messages.get(message_id)
            if message is None:
                decisions[message_id] = None
                continue
            decisions[message_id] = self._triage(message, outcomes, candidates)
        claimed = await asyncio.to_thread(
            self._claims.claim, [c.message.id for c in candidates], self._owner, self._lease_s
        )
        submissions = [c for c in candidates if c.message.id in claimed]
        for candidate in candidates:
            if candidate.message.id not in claimed:
                decisions[candidate.message.id] = CLAIMED_ELSEWHERE_S
        awaited = await self._submit_all(submissions, decisions, outcomes)
        await self._save(outcomes, messages, awaited, _sent_to(submissions, outcomes), stop)
        if submissions:
            await self._release_claims([s.message.id for s in submissions])
        return decisions

    async def _submit_all(
        self, submissions: list[Submission], decisions: dict[UUID, float | None],
        outcomes: list[Outcome],
    ) -> list[AwaitedReceipt]:
        """Hand the messages to their carriers; note each one's outcome and
        decision, and the receipts to wait for."""
        awaited: list[AwaitedReceipt] = []
        results = await asyncio.gather(
            *(self._submit(s) for s in submissions), return_exceptions=True
        )
        for submission, result in zip(submissions, results, strict=True):
            if isinstance(result, BaseException):
                # A carrier fault, not a refusal: whether it took the message
                # is unknown, as after a lost response. Tried again shortly.
                log.error("dispatcher: submitting %s failed", submission.message.id,
                          exc_info=result)
                decisions[submission.message.id] = RETRY_TEMPORARY_S
                continue
            outcome, delay_s = result
            decisions[submission.message.id] = delay_s
            if outcome is not None:
                outcomes.append(outcome)
                if outcome.kind == OutcomeKind.SUBMITTED and not outcome.capture_on_submit:
                    awaited.append(self._awaited(submission, outcome.carrier_message_id))
        return awaited

    async def _save(
        self, outcomes: list[Outcome], messages: dict[UUID, Message],
        awaited: list[AwaitedReceipt], sent: list[SentTo], stop: asyncio.Event | None,
    ) -> None:
        """Save the outcomes, then index the receipts to wait for and note
        where replies go, retrying each until it succeeds: a message the
        carrier has taken must not be handed over again because a save failed."""
        if outcomes:
            attempts = 0

            def record() -> None:
                nonlocal attempts
                attempts += 1
                # A retry reads the messages again: the loaded ones already
                # hold the events of the failed attempt.
                self._record(outcomes, messages if attempts == 1 else None)

            await self._until_saved("outcomes", record, outcomes, stop)
        if awaited:
            await self._until_saved(
                "awaited receipts", functools.partial(self._index.add, awaited), outcomes, stop
            )
        if sent:
            await self._until_saved(
                "reply routes", functools.partial(self._replies.note, sent), outcomes, stop
            )

    def _record(self, outcomes: list[Outcome], loaded: dict[UUID, Message] | None) -> None:
        """Record outcomes; if the batch is refused (a message moved in a way
        its outcome no longer fits), record them one by one, so that one
        refusal does not hold back the rest."""
        try:
            self._outcomes.record(outcomes, loaded=loaded)
            return
        except Unavailable:
            raise  # the store, not the outcomes: retried whole (OutcomeUnknown too)
        except DomainError as refused:
            log.warning("dispatcher: %d outcomes refused together (%s); one by one",
                        len(outcomes), refused)
        for outcome in outcomes:
            try:
                self._outcomes.record([outcome])
            except Unavailable:
                raise
            except DomainError as error:
                log.error("dispatcher: outcome %s of %s refused: %s",
                          outcome.kind, outcome.message_id, error)

    async def _until_saved(
        self, what: str, save: Callable[[], object], outcomes: list[Outcome],
        stop: asyncio.Event | None,
    ) -> None:
        wait_s = SAVE_RETRY_FIRST_S
        while True:
            try:
                await asyncio.to_thread(save)
                return
            except Exception:
                log.exception("dispatcher: saving %s failed; retrying in %.2fs", what, wait_s)
            if stop is not None and stop.is_set():
                taken = [(o.message_id, o.carrier_message_id) for o in outcomes
                         if o.kind == OutcomeKind.SUBMITTED]
                log.error("dispatcher: stopping with %s unsaved; carrier ids of the messages"
                          " the carrier took: %s", what, taken)
                raise OutcomesNotSaved(what)
            await _sleep_unless(stop, wait_s)
            wait_s = min(SAVE_RETRY_MAX_S, wait_s * 2)

    async def _release_claims(self, message_ids: list[UUID]) -> None:
        """Claims only guard the submit; once the outcome is saved the
        message's status guards it, and a claim left over lapses with its
        lease. So a failure here is logged, not retried."""
        try:
            await asyncio.to_thread(self._claims.release, message_ids)
        except Exception:
            log.warning("dispatcher: releasing %d claims failed; they lapse with their lease",
                        len(message_ids), exc_info=True)

    def _load(self, message_ids: Sequence[UUID]) -> dict[UUID, Message]:
        found = self._app.get_many(message_ids)
        for message_id in set(message_ids) - found.keys():
            log.error("dispatcher: message %s is not in the store", message_id)
        return {i: m for i, m in found.items() if isinstance(m, Message)}

    def _triage(
        self, message: Message, outcomes: list[Outcome], submissions: list[Submission]
    ) -> float | None:
        if message.status not in NOT_YET_SUBMITTED:
            return None  # a redelivery of one already handled
        now = self._clock.now()
        if message.scheduled_at is not None and message.scheduled_at > now:
            return min(MAX_DEFER_S, (message.scheduled_at - now).total_seconds())
        start = message.scheduled_at or message.created_on
        if now > start + timedelta(minutes=message.validity_minutes):
            outcomes.append(Outcome(message.id, OutcomeKind.EXPIRED))
            return None
        route = self._routes.route_for(message.destination, sandbox=message.sandbox)
        if route is None or route.carrier not in self._carriers:
            outcomes.append(Outcome(message.id, OutcomeKind.REJECTED, error_code="NO_ROUTE",
                                    reason=f"no route for {message.destination}"))
            return None
        submissions.append(Submission(message, route))
        return None

    async def _submit(self, submission: Submission) -> tuple[Outcome | None, float | None]:
        message, route = submission.message, submission.route
        wait_s = self._buckets[route.name].reserve(self._clock.monotonic())
        if wait_s > 0:
            await asyncio.sleep(wait_s)
        request = SubmitRequest(
            message_id=message.id, destination=message.destination, sender=message.sender,
            body=message.body, encoding=message.encoding, segments=message.segments,
            wants_receipt=route.receipt_policy == ReceiptPolicy.RECEIPTS,
        )
        async with self._submit_slots:
            try:
                result = await self._carriers[route.carrier].submit(request)
            except TemporaryCarrierError as error:
                log.warning("dispatcher: %s deferred: %s", message.id, error)
                return None, RETRY_TEMPORARY_S
        if not result.accepted:
            return Outcome(message.id, OutcomeKind.REJECTED, carrier=route.carrier,
                           error_code=result.error_code, reason=result.reason), None
        return Outcome(
            message.id, OutcomeKind.SUBMITTED, carrier=route.carrier,
            carrier_message_id=result.carrier_message_id,
            capture_on_submit=route.receipt_policy == ReceiptPolicy.NONE,
        ), None

    def _awaited(self, submission: Submission, carrier_message_id: str) -> AwaitedReceipt:
        message, route = submission.message, submission.route
        start = message.scheduled_at or message.created_on
        return AwaitedReceipt(
            message_id=message.id,
            carrier=route.carrier,
            carrier_message_id=carrier_message_id,
            settle_after=start + timedelta(minutes=message.validity_minutes + route.grace_minutes),
            capture_on_silence=route.capture_on_silence,
        )


def _sent_to(submissions: list[Submission], outcomes: list[Outcome]) -> list[SentTo]:
    """The live messages a carrier took, whose numbers may reply."""
    taken = {o.message_id for o in outcomes if o.kind == OutcomeKind.SUBMITTED}
    return [
        SentTo(s.message.destination, s.message.account_id)
        for s in submissions
        if s.message.id in taken and not s.message.sandbox
    ]


async def _sleep_unless(stop: asyncio.Event | None, seconds: float) -> None:
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
