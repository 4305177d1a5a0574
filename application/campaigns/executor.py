"""The campaign executor: starts approved campaigns when they are due, sends
them a chunk at a time, and cleans up after a cancel.

Its progress lives in the campaign itself (the cursor of ChunkSent events),
so stopping it anywhere (pause, crash, a redeploy) loses nothing and repeats
nothing: the next run reads the cursor and sends the recipients after it.
Several executors may run; the work queue hands each campaign to one at a
time, and if two ever met on one campaign the store would refuse the second
writer of its next version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.campaigns.chunks import CampaignMoved, message_ids, send_chunk
from application.campaigns.ports import CampaignRuns, Claim, RecipientList
from application.contacts.ports import OptOutRegistry
from application.delivery.outcomes import Outcome, OutcomeKind, OutcomeService
from application.errors import Conflict
from application.ledger.app import LedgerApplication
from application.ports import AccountDirectory
from application.sending.send import MessagingService
from domain.campaign import PAUSED_FOR_BALANCE, Campaign, CampaignStatus
from domain.errors import InsufficientBalance, InvalidTransition
from domain.message import Message
from domain.messaging.status import NOT_YET_SUBMITTED

log = logging.getLogger(__name__)

DEFAULT_CHUNK_RECIPIENTS = 1_000
MAX_CHUNK_RECIPIENTS = 5_000
# A turn on one campaign before the executor looks at the others: several
# campaigns due together progress side by side.
CHUNKS_PER_TURN = 10
CAMPAIGNS_PER_CLAIM = 8
CLAIM_LEASE_S = 120.0
SWEEP_PAGE = 1_000
MAX_CANCEL_ATTEMPTS = 3
EXECUTOR = "executor"


class CampaignExecutor:
    def __init__(
        self,
        app: LedgerApplication,
        messaging: MessagingService,
        accounts: AccountDirectory,
        opt_outs: OptOutRegistry,
        recipients: RecipientList,
        runs: CampaignRuns,
        outcomes: OutcomeService,
        *,
        owner: str,
        chunk_recipients: int = DEFAULT_CHUNK_RECIPIENTS,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        assert 1 <= chunk_recipients <= MAX_CHUNK_RECIPIENTS
        self._app = app
        self._messaging = messaging
        self._accounts = accounts
        self._opt_outs = opt_outs
        self._recipients = recipients
        self._runs = runs
        self._outcomes = outcomes
        self._owner = owner
        self._chunk = chunk_recipients
        self._now = now

    def run_once(self, chunks_per_turn: int = CHUNKS_PER_TURN) -> int:
        """One pass over the campaigns due now; the chunks sent (0: idle)."""
        sent = 0
        for claim in self._runs.claim(self._owner, CAMPAIGNS_PER_CLAIM, CLAIM_LEASE_S):
            try:
                sent += self.work(claim, chunks_per_turn)
            except Exception:
                # The claim lapses after its lease and the campaign is tried
                # again; its cursor makes the retry safe.
                log.exception("campaign %s: a turn failed", claim.campaign_id)
        return sent

    def work(self, claim: Claim, chunks_per_turn: int) -> int:
        campaign = self._load(claim.campaign_id)
        if campaign is None:
            self._runs.remove(claim)
            return 0
        if campaign.status == CampaignStatus.APPROVED:
            if campaign.scheduled_at is not None and campaign.scheduled_at > self._now():
                self._runs.release(claim, campaign.scheduled_at)
                return 0
            campaign = self._save_or_reload(campaign, campaign.start)
        if campaign.status == CampaignStatus.SENDING:
            return self._send(claim, campaign, chunks_per_turn)
        if campaign.status == CampaignStatus.CANCELLED:
            self._sweep(claim, campaign)
            return 0
        # Paused, completed, rejected, failed: nothing to do until a command
        # queues it again.
        self._runs.remove(claim)
        return 0

    def _send(self, claim: Claim, campaign: Campaign, chunks: int) -> int:
        profile = self._accounts.profile(campaign.account_id)
        sent = 0
        for _ in range(chunks):
            rows = self._recipients.page(
                campaign.id, campaign.cursor, campaign.last_seq, self._chunk
            )
            if not rows:
                campaign = self._save_or_reload(campaign, campaign.complete)
                if campaign.status != CampaignStatus.SENDING:
                    self._runs.remove(claim)
                    return sent
                continue
            opted_out = self._opt_outs.opted_out(campaign.account_id)
            try:
                campaign = send_chunk(
                    self._app, self._messaging, profile, opted_out, campaign, rows
                )
                sent += 1
            except InsufficientBalance:
                campaign = self._pause_for_balance(self._reload(campaign))
            except (CampaignMoved, Conflict, IntegrityError):
                campaign = self._reload(campaign)
            if campaign.status != CampaignStatus.SENDING:
                self._runs.remove(claim)
                return sent
        self._runs.release(claim)
        return sent

    def _sweep(self, claim: Claim, campaign: Campaign) -> None:
        """Cancel the cancelled campaign's messages not yet submitted, a page
        at a time, noting how far it got, so a crash resumes the sweep."""
        swept = claim.swept_seq
        while True:
            seqs = self._recipients.seqs(campaign.id, swept, campaign.cursor, SWEEP_PAGE)
            if not seqs:
                self._runs.remove(claim)
                return
            self._cancel_unsent(message_ids(campaign.id, seqs))
            swept = seqs[-1]
            self._runs.swept(claim, swept)

    def _cancel_unsent(self, candidates: list[UUID]) -> None:
        for _ in range(MAX_CANCEL_ATTEMPTS):
            found = self._app.get_many(candidates)
            unsent = {
                message_id: message for message_id, message in found.items()
                if isinstance(message, Message) and message.status in NOT_YET_SUBMITTED
            }
            if not unsent:
                return
            try:
                self._outcomes.record(
                    [Outcome(m, OutcomeKind.CANCELLED) for m in unsent], loaded=unsent
                )
                return
            except InvalidTransition:
                # The dispatcher submitted one meanwhile: it goes, the rest
                # are cancelled on the next pass.
                candidates = list(unsent)
        log.warning("cancelling %d messages kept colliding with dispatch", len(candidates))

    def _pause_for_balance(self, campaign: Campaign) -> Campaign:
        """Nothing of the chunk was sent; the campaign waits for a top-up and
        a resume, which continues from this same cursor."""
        log.info("campaign %s paused: insufficient balance", campaign.id)
        return self._save_or_reload(
            campaign, lambda: campaign.pause(PAUSED_FOR_BALANCE, EXECUTOR)
        )

    def _save_or_reload(self, campaign: Campaign, command: Callable[[], None]) -> Campaign:
        """Apply a transition and save it; if another writer moved the
        campaign first (or the transition no longer applies), the stored one."""
        try:
            command()
            self._app.record(campaign)
            return campaign
        except (IntegrityError, InvalidTransition):
            return self._reload(campaign)

    def _reload(self, campaign: Campaign) -> Campaign:
        fresh = self._load(campaign.id)
        assert fresh is not None
        return fresh

    def _load(self, campaign_id: UUID) -> Campaign | None:
        campaign: object
        try:
            campaign = self._app.repository.get(campaign_id)
        except AggregateNotFoundError:
            return None
        return campaign if isinstance(campaign, Campaign) else None
