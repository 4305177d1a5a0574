"""Campaign commands: create, fill, submit, review, pause, resume, cancel.

The Campaign aggregate decides every transition. A command that loses a race
with the executor (both wrote the campaign's next version) is retried from a
fresh load, a bounded number of times; the loser's event never lands, so the
store's unique version is what keeps pause and a chunk from both happening
"first".

Work for the executor is queued before the event that creates it is saved
(approve, resume, cancel): a crash between the two leaves a queue entry the
executor finds has nothing to do, never a campaign no one will send.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.campaigns.ports import Appended, CampaignRuns, RecipientList, TrustedAccounts
from application.contacts.ports import Audience
from application.errors import ConcurrencyExhausted, NotFound, ValidationFailed
from application.ledger.app import LedgerApplication
from application.ports import AccountDirectory
from application.sending.send import BulkRecipient
from domain.campaign import Campaign, CampaignKind
from domain.contact import normalise_phone
from domain.errors import DomainError
from domain.messaging.sender import validate_sender_id
from domain.messaging.templates import Template

MAX_COMMAND_RETRIES = 5
MAX_NAME_LENGTH = 200
MAX_SCHEDULE_AHEAD = timedelta(days=30)
MAX_RECIPIENTS_PER_CALL = 10_000
MAX_LISTED_INVALID = 100
TRUSTED_APPROVER = "trusted-account"


@dataclass(frozen=True, slots=True)
class CreateCampaign:
    account_id: str
    sandbox: bool
    name: str
    sender: str
    body: str
    client_ref: str | None = None
    scheduled_at: datetime | None = None
    unicode: bool = False


@dataclass(frozen=True, slots=True)
class InvalidRecipient:
    index: int
    to: str
    reason: str


@dataclass(frozen=True, slots=True)
class RecipientsAdded:
    added: int
    duplicates: int
    invalid: int
    invalid_recipients: list[InvalidRecipient] = field(default_factory=list)
    listed: int = 0


class CampaignService:
    def __init__(
        self,
        app: LedgerApplication,
        accounts: AccountDirectory,
        recipients: RecipientList,
        runs: CampaignRuns,
        trust: TrustedAccounts,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._app = app
        self._accounts = accounts
        self._recipients = recipients
        self._runs = runs
        self._trust = trust
        self._now = now

    def create(self, command: CreateCampaign) -> Campaign:
        name = command.name.strip()
        if not 1 <= len(name) <= MAX_NAME_LENGTH:
            raise ValidationFailed(f"A campaign's name is 1 to {MAX_NAME_LENGTH} characters")
        validate_sender_id(command.sender)
        Template.parse(command.body)
        self._check_schedule(command.scheduled_at)
        self._accounts.profile(command.account_id)
        campaign = Campaign.create_campaign(
            uuid4(), account_id=command.account_id, name=name, sender=command.sender,
            body=command.body, client_ref=command.client_ref, sandbox=command.sandbox,
            scheduled_at=command.scheduled_at, unicode=command.unicode,
        )
        self._app.record(campaign)
        return campaign

    def get(self, account_id: str, sandbox: bool, campaign_id: UUID) -> Campaign:
        """The account's campaign in the key's mode; NotFound otherwise."""
        campaign = self._load(campaign_id)
        if campaign.account_id != account_id or campaign.sandbox != sandbox:
            raise NotFound("No such campaign", campaign_id=str(campaign_id))
        return campaign

    def add_recipients(
        self, account_id: str, sandbox: bool, campaign_id: UUID,
        explicit: Sequence[BulkRecipient], audience: Audience,
    ) -> RecipientsAdded:
        """Numbers (with variables), groups and contacts onto a draft's list.
        A number already listed is a duplicate; an invalid one is refused."""
        if len(explicit) > MAX_RECIPIENTS_PER_CALL:
            raise ValidationFailed(
                f"At most {MAX_RECIPIENTS_PER_CALL} numbers per call; call again for more"
            )
        self.get(account_id, sandbox, campaign_id)
        country = self._accounts.profile(account_id).default_country
        valid: list[tuple[str, Mapping[str, object]]] = []
        invalid: list[InvalidRecipient] = []
        for index, recipient in enumerate(explicit):
            try:
                valid.append((normalise_phone(recipient.to, country), recipient.variables))
            except DomainError as error:
                invalid.append(InvalidRecipient(index, recipient.to, error.message))
        with self._recipients.editing(campaign_id) as editor:
            # Loaded under the list's lock: submit takes it too, so nothing
            # is added to a list once it is frozen.
            campaign = self.get(account_id, sandbox, campaign_id)
            added = editor.append(valid)
            if not audience.empty:
                more = editor.append_audience(account_id, audience)
                added = Appended(added.added + more.added, added.duplicates + more.duplicates)
            campaign.list_recipients(added.added, added.duplicates, len(invalid))
            self._app.record(campaign)
        return RecipientsAdded(
            added.added, added.duplicates, len(invalid), invalid[:MAX_LISTED_INVALID],
            campaign.listed,
        )

    def submit(self, account_id: str, sandbox: bool, campaign_id: UUID, by: str) -> Campaign:
        """Freeze the list and ask for review; a trusted account's campaign
        is approved in the same step."""
        with self._recipients.editing(campaign_id) as editor:
            campaign = self.get(account_id, sandbox, campaign_id)
            count, last_seq = editor.summary()
            campaign.submit(count, last_seq)
            if self._trust.is_trusted(account_id):
                self._runs.schedule(campaign.id, account_id, self._due(campaign))
                campaign.approve(TRUSTED_APPROVER)
            self._app.record(campaign)
        return campaign

    def approve(self, campaign_id: UUID, by: str) -> Campaign:
        def approve(campaign: Campaign) -> None:
            campaign.approve(by)
            self._runs.schedule(campaign.id, campaign.account_id, self._due(campaign))

        return self._change(self._load(campaign_id), approve)

    def reject(self, campaign_id: UUID, by: str, reason: str) -> Campaign:
        return self._change(self._load(campaign_id), lambda c: c.reject(by, reason))

    def pause(self, account_id: str, sandbox: bool, campaign_id: UUID, by: str) -> Campaign:
        return self._change(
            self.get(account_id, sandbox, campaign_id), lambda c: c.pause("requested", by)
        )

    def resume(self, account_id: str, sandbox: bool, campaign_id: UUID, by: str) -> Campaign:
        def resume(campaign: Campaign) -> None:
            campaign.resume(by)
            self._runs.schedule(campaign.id, campaign.account_id, self._now())

        return self._change(self.get(account_id, sandbox, campaign_id), resume)

    def cancel(self, account_id: str, sandbox: bool, campaign_id: UUID, by: str) -> Campaign:
        """Cancelled at once; the executor then cancels the campaign's messages
        not yet submitted, releasing what they hold."""
        def cancel(campaign: Campaign) -> None:
            campaign.cancel(by)
            self._runs.schedule(campaign.id, campaign.account_id, self._now())

        return self._change(self.get(account_id, sandbox, campaign_id), cancel)

    # Internals ---------------------------------------------------------------

    def _change(self, campaign: Campaign, command: Callable[[Campaign], None]) -> Campaign:
        """Run `command` and save; on losing a race, again from a fresh load.
        The command raises InvalidTransition (409) if the fresh state forbids it."""
        for attempt in range(MAX_COMMAND_RETRIES):
            if attempt:
                campaign = self._load(campaign.id)
            command(campaign)
            try:
                self._app.record(campaign)
            except IntegrityError:
                continue
            return campaign
        raise ConcurrencyExhausted(
            "The campaign is being changed by another process; retry",
            campaign_id=str(campaign.id),
        )

    def _load(self, campaign_id: UUID) -> Campaign:
        campaign: object
        try:
            campaign = self._app.repository.get(campaign_id)
        except AggregateNotFoundError:
            campaign = None
        if not isinstance(campaign, Campaign) or campaign.kind != CampaignKind.CAMPAIGN:
            raise NotFound("No such campaign", campaign_id=str(campaign_id))
        return campaign

    def _due(self, campaign: Campaign) -> datetime:
        now = self._now()
        scheduled = campaign.scheduled_at
        return scheduled if scheduled is not None and scheduled > now else now

    def _check_schedule(self, scheduled_at: datetime | None) -> None:
        if scheduled_at is None:
            return
        if scheduled_at.tzinfo is None:
            raise ValidationFailed("schedule_at needs a timezone, e.g. 2026-03-15T08:00:00Z")
        now = self._now()
        if scheduled_at <= now:
            raise ValidationFailed("schedule_at is in the past")
        if scheduled_at > now + MAX_SCHEDULE_AHEAD:
            raise ValidationFailed("schedule_at is at most 30 days ahead")
