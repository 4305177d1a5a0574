"""The dispatcher: hands queued messages to their route's carrier and records
what the carrier said; and the receipt side: turns delivery receipts into
outcomes, and settles messages whose carrier never reported.

Everything a batch causes is recorded with one OutcomeService call, so each
wallet gets at most one settlement event per batch.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from application.carriers import Carrier, SubmitRequest, TemporaryCarrierError
from application.dispatch_ports import AwaitedReceipt, Clock, DispatchClaims, ReceiptIndex
from application.ledger_app import LedgerApplication
from application.outcomes import Outcome, OutcomeKind, OutcomeService
from application.routing import ReceiptPolicy, Route, RouteBook, TokenBucket
from domain.message import Message
from domain.message_status import NOT_YET_SUBMITTED

log = logging.getLogger(__name__)

MAX_DEFER_S = 3600.0  # a far-future schedule is looked at again hourly
RETRY_TEMPORARY_S = 5.0
MAX_CONCURRENT_SUBMITS = 64


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
        owner: str,
        lease_s: float = 60.0,
    ) -> None:
        self._app = app
        self._outcomes = outcomes
        self._routes = routes
        self._carriers = carriers
        self._claims = claims
        self._index = index
        self._clock = clock
        self._owner = owner
        self._lease_s = lease_s
        self._buckets = {r.name: TokenBucket(r.messages_per_second) for r in routes.routes}
        self._submit_slots = asyncio.Semaphore(MAX_CONCURRENT_SUBMITS)

    async def dispatch(self, message_ids: Sequence[UUID]) -> dict[UUID, float | None]:
        """Handle each message: None when it is done with (ack), or seconds
        after which to look at it again (scheduled, throttled, busy)."""
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
                # Another dispatcher has it; look again once its lease is over.
                decisions[candidate.message.id] = self._lease_s
        awaited: list[AwaitedReceipt] = []
        results = await asyncio.gather(*(self._submit(s) for s in submissions))
        for submission, (outcome, delay_s) in zip(submissions, results, strict=True):
            decisions[submission.message.id] = delay_s
            if outcome is not None:
                outcomes.append(outcome)
                if outcome.kind == OutcomeKind.SUBMITTED and not outcome.capture_on_submit:
                    awaited.append(self._awaited(submission, outcome.carrier_message_id))
        if outcomes:
            await asyncio.to_thread(
                functools.partial(self._outcomes.record, outcomes, loaded=messages)
            )
        if awaited:
            await asyncio.to_thread(self._index.add, awaited)
        if submissions:
            await asyncio.to_thread(self._claims.release, [s.message.id for s in submissions])
        return decisions

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
