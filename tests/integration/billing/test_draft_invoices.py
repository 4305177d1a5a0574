"""A draft invoice for the month in progress: the statement to date, marked
as a draft everywhere it is shown; drawn up again it changes only when the
ledger moved on; closing the month replaces it with the invoice, which no
later draft replaces."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import TestClient
from pypdf import PdfReader

from adapters.bootstrap.container import Container
from application.billing.invoices import month_bounds
from domain.wallet import TopUpSource
from tests.integration.billing.support import open_account

pytestmark = pytest.mark.integration


def test_a_draft_of_the_month_to_date_until_the_month_is_closed(
    billing_container: Container, client: TestClient
) -> None:
    invoices = billing_container.invoices
    account = open_account(billing_container, credit_micros=5_000_000)
    month = datetime.now(UTC).strftime("%Y-%m")
    with pytest.raises(Exception, match="not over"):
        invoices.close_month(month, datetime.now(UTC), account_id=account.account_id)

    (draft,) = invoices.close_month(month, datetime.now(UTC),
                                    account_id=account.account_id, draft=True)
    assert draft.draft and draft.closing_micros == 5_000_000
    (again,) = invoices.close_month(month, datetime.now(UTC),
                                    account_id=account.account_id, draft=True)
    assert again == draft  # nothing new in the ledger: nothing changes

    shown = client.get(f"/v1/billing/invoices/{draft.id}", headers=account.live)
    assert shown.status_code == 200, shown.text
    assert shown.json()["data"]["status"] == "draft"
    pdf = client.get(f"/v1/billing/invoices/{draft.id}/pdf", headers=account.live)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "DRAFT" in text and "not its invoice" in text

    billing_container.wallets.top_up(account.wallet_id, 1_000_000, TopUpSource.ADJUSTMENT,
                                     "more")
    (moved,) = invoices.close_month(month, datetime.now(UTC),
                                    account_id=account.account_id, draft=True)
    assert moved.draft and moved.id == draft.id
    assert moved.closing_micros == 6_000_000 and moved.entry_hash != draft.entry_hash

    month_end = month_bounds(month)[1]
    (closed,) = invoices.close_month(month, month_end, account_id=account.account_id)
    assert not closed.draft and closed.closing_micros == 6_000_000
    assert client.get(f"/v1/billing/invoices/{closed.id}",
                      headers=account.live).json()["data"]["status"] == "closed"
    billing_container.wallets.top_up(account.wallet_id, 1_000_000, TopUpSource.ADJUSTMENT,
                                     "late")
    (kept,) = invoices.close_month(month, month_end - timedelta(seconds=1),
                                   account_id=account.account_id, draft=True)
    assert kept == closed  # an invoice is never replaced by a draft


def test_a_month_not_begun_has_no_draft(billing_container: Container) -> None:
    with pytest.raises(Exception, match="not begun"):
        billing_container.invoices.close_month("2999-01", datetime.now(UTC), draft=True)
