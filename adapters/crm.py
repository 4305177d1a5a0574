"""The contact base and campaigns, wired from the pieces the composition root
has already built. `adapters.bootstrap.build` calls `build_crm` once."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from psycopg_pool import ConnectionPool

from adapters.postgres.campaign_recipients import PostgresCampaignRecipients
from adapters.postgres.campaign_runs import PostgresCampaignRuns, PostgresFinishedBatches
from adapters.postgres.contact_imports import PostgresContactImports
from adapters.postgres.contact_labels import PostgresAudience, PostgresLabels
from adapters.postgres.contacts import PostgresContacts
from adapters.postgres.trusted_accounts import PostgresTrustedAccounts
from application.audience import AudienceResolver
from application.batch_completion import BatchCompleter
from application.campaign_executor import CampaignExecutor
from application.campaigns import CampaignService
from application.contacts import ContactService
from application.ledger_app import LedgerApplication
from application.outcomes import OutcomeService
from application.ports import AccountDirectory, OptOutRegistry
from application.sending import MessagingService


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
