"""The contact base and campaigns' part of the composition root, wired from
the pieces `adapters.bootstrap.container.build` has already built; and the
campaigns role: the campaign executor and the batch completer, each a loop
that asks for a pass off the event loop and waits a little when there was
nothing to do."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from psycopg_pool import ConnectionPool

from adapters.postgres.campaigns.recipients import PostgresCampaignRecipients
from adapters.postgres.campaigns.runs import PostgresCampaignRuns, PostgresFinishedBatches
from adapters.postgres.contacts.contacts import PostgresContacts
from adapters.postgres.contacts.imports import PostgresContactImports
from adapters.postgres.contacts.labels import PostgresAudience, PostgresLabels
from adapters.postgres.identity.trusted_accounts import PostgresTrustedAccounts
from application.campaigns.batch_completion import BatchCompleter
from application.campaigns.commands import CampaignService
from application.campaigns.executor import CampaignExecutor
from application.contacts.ports import OptOutRegistry
from application.contacts.service import ContactService
from application.delivery.outcomes import OutcomeService
from application.ledger.app import LedgerApplication
from application.ports import AccountDirectory
from application.sending.audience import AudienceResolver
from application.sending.send import MessagingService

log = logging.getLogger(__name__)

# How soon an approved or resumed campaign starts when the executor is idle.
IDLE_POLL_S = 0.5
# How soon a bulk batch whose last message became final reads `completed`,
# on top of the campaign-progress read model's own lag.
COMPLETION_POLL_S = 1.0
ERROR_BACKOFF_S = 5.0


@dataclass
class Crm:
    contacts: ContactService
    imports: PostgresContactImports
    audience: AudienceResolver
    campaigns: CampaignService
    executor: CampaignExecutor
    completer: BatchCompleter
    recipients: PostgresCampaignRecipients
    runs: PostgresCampaignRuns
    trusted: PostgresTrustedAccounts


def build_crm(
    app: LedgerApplication,
    pool: ConnectionPool,
    accounts: AccountDirectory,
    opt_outs: OptOutRegistry,
    messaging: MessagingService,
    outcomes: OutcomeService,
) -> Crm:
    recipients = PostgresCampaignRecipients(pool)
    runs = PostgresCampaignRuns(pool)
    trusted = PostgresTrustedAccounts(pool)
    contacts = ContactService(
        accounts, PostgresContacts(pool), PostgresLabels(pool, kind="group"),
        PostgresLabels(pool, kind="tag"), opt_outs,
    )
    return Crm(
        contacts=contacts,
        imports=PostgresContactImports(pool),
        audience=AudienceResolver(accounts, PostgresAudience(pool)),
        campaigns=CampaignService(app, accounts, recipients, runs, trusted),
        executor=CampaignExecutor(
            app, messaging, accounts, opt_outs, recipients, runs, outcomes,
            owner=f"{socket.gethostname()}:{os.getpid()}",
        ),
        completer=BatchCompleter(app, PostgresFinishedBatches(pool)),
        recipients=recipients,
        runs=runs,
        trusted=trusted,
    )


async def run_campaign_executor(executor: CampaignExecutor, stop: asyncio.Event) -> None:
    await _run_passes(executor.run_once, stop, IDLE_POLL_S, "the campaign executor's pass")


async def run_batch_completer(completer: BatchCompleter, stop: asyncio.Event) -> None:
    await _run_passes(
        completer.complete_finished, stop, COMPLETION_POLL_S, "completing finished batches"
    )


async def _run_passes(
    one_pass: Callable[[], int], stop: asyncio.Event, idle_s: float, what: str
) -> None:
    """Run `one_pass` off the event loop until `stop`: again at once while it
    finds work (a pass is bounded, so more may be waiting), after `idle_s`
    when it found none, after ERROR_BACKOFF_S when it failed."""
    while not stop.is_set():
        try:
            done = await asyncio.to_thread(one_pass)
        except Exception:
            log.exception("%s failed", what)
            done, wait_s = 0, ERROR_BACKOFF_S
        else:
            wait_s = idle_s
        if done:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait_s)
