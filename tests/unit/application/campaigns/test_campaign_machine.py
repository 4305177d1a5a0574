"""A Hypothesis state machine over a campaign's commands (submit, approve,
reject, pause, resume, cancel), the executor's passes, top-ups, opt-outs and
dispatch, on the library's in-memory store.

After every step: the counts add up (every recipient up to the cursor is
accepted or rejected, every accepted one has exactly one message), no
number is sent twice, what the wallet holds is what the live messages cost,
and a command succeeded exactly when the transition table allows it."""

from __future__ import annotations

from uuid import UUID, uuid4

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from adapters.config.settings import in_memory_eventsourcing_env
from adapters.pricing.loader import load_rate_book
from application.campaigns.commands import CampaignService, CreateCampaign
from application.campaigns.executor import CampaignExecutor
from application.contacts.ports import Audience
from application.delivery.outcomes import Outcome, OutcomeKind, OutcomeService
from application.ledger.app import LedgerApplication
from application.ledger.wallets import WalletService
from application.ports import AccountProfile
from application.sending.send import BulkRecipient, MessagingService
from domain.campaign import ALLOWED_FROM, Campaign, CampaignStatus
from domain.errors import DomainError, InvalidTransition
from domain.inbound import OptAction
from domain.message import Message
from domain.messaging.status import MessageStatus
from domain.wallet import TopUpSource
from tests.support.campaign_fakes import InMemoryRecipientList, InMemoryRuns, InMemoryTrust
from tests.support.fakes import InMemoryAccounts, InMemoryOptOuts

PRICE_MICROS = 34_800  # one GB segment on the default GBP card
RATES = load_rate_book()
ACCEPTED_TOPIC = f"{Message.Accepted.__module__}:{Message.Accepted.__qualname__}"


class CampaignMachine(RuleBasedStateMachine):
    @initialize(count=st.integers(1, 14), affordable=st.integers(0, 16),
                trusted=st.booleans(), approved=st.booleans())
    def setup(self, count: int, affordable: int, trusted: bool, approved: bool) -> None:
        self.app = LedgerApplication(in_memory_eventsourcing_env())
        self.account_id = f"acct-{uuid4()}"
        accounts = InMemoryAccounts()
        accounts.add(AccountProfile(self.account_id, "Acme", "GBP", "GB"))
        self.opt_outs = InMemoryOptOuts()
        messaging = MessagingService(self.app, accounts, RATES, self.opt_outs)
        self.wallets = WalletService(self.app)
        self.wallet_id, _ = self.wallets.open_wallets(self.account_id, "GBP")
        self.top_ups = 0
        if affordable:
            self.top_up(affordable)
        self.outcomes = OutcomeService(self.app)
        self.recipients = InMemoryRecipientList()
        trust = InMemoryTrust()
        trust.set_trusted(self.account_id, trusted)
        self.runs = InMemoryRuns()
        self.campaigns = CampaignService(self.app, accounts, self.recipients, self.runs, trust)
        self.executor = CampaignExecutor(
            self.app, messaging, accounts, self.opt_outs, self.recipients, self.runs,
            self.outcomes, owner="machine", chunk_recipients=3,
        )
        campaign = self.campaigns.create(CreateCampaign(
            account_id=self.account_id, sandbox=False, name="Machine", sender="Acme",
            body="Hi {{name}}"))
        self.campaign_id = campaign.id
        self.phones = [f"+4477009{i:05d}" for i in range(count)]
        # One recipient lacks its variable: rejected, never skipped.
        self.campaigns.add_recipients(self.account_id, False, self.campaign_id, [
            BulkRecipient(p, {} if i == 1 else {"name": str(i)})
            for i, p in enumerate(self.phones)], Audience())
        if approved:  # half the runs start approved, to spend their steps sending
            self.campaigns.submit(self.account_id, False, self.campaign_id, "me")
            if not trusted:
                self.campaigns.approve(self.campaign_id, "op")

    # Helpers ------------------------------------------------------------------

    def campaign(self) -> Campaign:
        return self.campaigns.get(self.account_id, False, self.campaign_id)

    def messages(self) -> list[Message]:
        ids = [n.originator_id for n in self.app.recorder.select_notifications(
            1, 100_000, topics=[ACCEPTED_TOPIC])]
        found = [self.app.repository.get(i) for i in ids]
        return [m for m in found if m.campaign_id == self.campaign_id]

    def command(self, action: str, run: object) -> None:
        before = self.campaign().status
        allowed = before in ALLOWED_FROM[action]
        try:
            run()  # type: ignore[operator]
        except InvalidTransition as refused:
            assert not allowed, f"{action} refused from {before}"
            assert refused.details["status"] == str(before)
            return
        assert allowed, f"{action} accepted from {before}"

    # Rules --------------------------------------------------------------------

    @rule()
    def submit(self) -> None:
        self.command("submit", lambda: self.campaigns.submit(
            self.account_id, False, self.campaign_id, "me"))

    @rule()
    def approve(self) -> None:
        self.command("approve", lambda: self.campaigns.approve(self.campaign_id, "op"))

    @rule()
    def reject(self) -> None:
        self.command("reject", lambda: self.campaigns.reject(self.campaign_id, "op", "no"))

    @rule()
    def pause(self) -> None:
        self.command("pause", lambda: self.campaigns.pause(
            self.account_id, False, self.campaign_id, "me"))

    @rule()
    def resume(self) -> None:
        self.command("resume", lambda: self.campaigns.resume(
            self.account_id, False, self.campaign_id, "me"))

    @rule()
    def cancel(self) -> None:
        self.command("cancel", lambda: self.campaigns.cancel(
            self.account_id, False, self.campaign_id, "me"))

    @rule(chunks=st.integers(1, 3))
    def run_executor(self, chunks: int) -> None:
        before = self.campaign()
        self.executor.run_once(chunks_per_turn=chunks)
        after = self.campaign()
        event(f"after the executor: {after.status} ({after.reason})")
        if after.status == CampaignStatus.PAUSED and before.status != CampaignStatus.PAUSED:
            assert after.reason == "insufficient_balance"
            assert after.cursor < after.last_seq

    @rule(messages=st.integers(1, 8))
    def top_up(self, messages: int) -> None:
        self.top_ups += 1
        self.wallets.top_up(self.wallet_id, messages * PRICE_MICROS, TopUpSource.STRIPE,
                            f"pi_{self.top_ups}")

    @rule(index=st.integers(0, 13))
    def opt_out(self, index: int) -> None:
        if index < len(self.phones):
            self.opt_outs.record(self.account_id, self.phones[index], OptAction.OPT_OUT,
                                 source="sms", keyword="STOP")

    @precondition(lambda self: any(m.status == MessageStatus.QUEUED for m in self.messages()))
    @rule(data=st.data())
    def dispatch_one(self, data: st.DataObject) -> None:
        queued = sorted(str(m.id) for m in self.messages() if m.status == MessageStatus.QUEUED)
        chosen = UUID(data.draw(st.sampled_from(queued)))
        self.outcomes.record([Outcome(chosen, OutcomeKind.SUBMITTED, carrier="sim",
                                      carrier_message_id=f"c-{chosen}")])

    # Invariants --------------------------------------------------------------

    @invariant()
    def counts_add_up_and_nobody_is_sent_twice(self) -> None:
        campaign = self.campaign()
        messages = self.messages()
        destinations = [m.destination for m in messages]
        assert len(destinations) == len(set(destinations)), "a number was sent twice"
        assert len(messages) == campaign.accepted
        reached = [p for i, p in enumerate(self.phones, start=1) if i <= campaign.cursor]
        assert campaign.accepted + campaign.rejected == len(reached), "a recipient was skipped"
        assert set(destinations) <= set(reached)
        assert campaign.opted_out <= campaign.rejected
        if campaign.status == CampaignStatus.COMPLETED:
            assert campaign.cursor == len(self.phones)

    @invariant()
    def the_wallet_holds_what_live_messages_cost(self) -> None:
        held = sum(m.price_micros for m in self.messages()
                   if m.status != MessageStatus.CANCELLED)
        assert self.wallets.balance(self.wallet_id).reserved_micros == held

    @invariant()
    def a_cancelled_campaign_is_swept_once_the_executor_has_run(self) -> None:
        campaign = self.campaign()
        if campaign.status == CampaignStatus.CANCELLED and self.campaign_id not in self.runs.due:
            assert not [m for m in self.messages() if m.status == MessageStatus.QUEUED]

    def teardown(self) -> None:
        if hasattr(self, "app"):
            self.app.close()


CampaignMachine.TestCase.settings = settings(
    max_examples=80, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCampaignMachine = CampaignMachine.TestCase


def test_domain_errors_keep_their_codes() -> None:
    assert InvalidTransition.code == "CONFLICT"
    assert issubclass(InvalidTransition, DomainError)
