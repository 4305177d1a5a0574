"""The contact base and campaigns, wired from the pieces the composition root
has already built. `adapters.bootstrap.container.build` calls `build_crm` once."""

from __future__ import annotations

import os
import socket
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
from application.contacts.service import ContactService
from application.delivery.outcomes import OutcomeService
from application.ledger.app import LedgerApplication
from application.ports import AccountDirectory, OptOutRegistry
from application.sending.audience import AudienceResolver
from application.sending.send import MessagingService


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
