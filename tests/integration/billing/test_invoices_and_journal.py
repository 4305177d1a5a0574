"""Invoices closed from the ledger, their PDF, and the journal export,
checked against an independent replay of the ledger."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from litestar.testing import TestClient
from pypdf import PdfReader

from adapters.bootstrap.container import Container
from adapters.cli.main import main
from application.billing.invoices import month_bounds
from domain.wallet import Wallet
from tests.integration.billing.mixed import mixed_month
from tests.integration.billing.support import open_account
from tests.support.stripe_standin import StripeStandIn

GENESIS = "0" * 64


def _this_month() -> tuple[str, datetime]:
    month = datetime.now(UTC).strftime("%Y-%m")
    return month, month_bounds(month)[1]


def _replayed_figures(container: Container, wallet_id) -> dict[str, int]:
    """The month's movements, summed straight from the stored events."""
    figures: dict[str, int] = defaultdict(int)
    for event in container.app.events.get(wallet_id):
        if isinstance(event, Wallet.ToppedUp) and event.source == "stripe":
            figures["purchases"] += event.amount_micros
        elif isinstance(event, Wallet.ToppedUp | Wallet.Adjusted):
            figures["adjustments"] += event.amount_micros
        elif isinstance(event, Wallet.Refunded):
            figures["refunds"] += event.amount_micros
        elif isinstance(event, Wallet.ReservationsSettled):
            figures["usage"] += event.captured_micros
    return figures


def test_invoice_equals_the_replayed_ledger_and_its_pdf_reads_back(
    billing_container: Container, client: TestClient, stripe_api: StripeStandIn
) -> None:
    mixed = mixed_month(billing_container, client, stripe_api)
    account = mixed.account
    month, month_end = _this_month()
    (invoice,) = billing_container.invoices.close_month(
        month, month_end, account_id=account.account_id)
    replayed = _replayed_figures(billing_container, account.wallet_id)
    as_of_end = billing_container.wallets.balance_as_of(account.wallet_id, month_end)
    assert invoice.opening_micros == 0  # the account was opened this month
    assert invoice.purchases_micros == replayed["purchases"] == mixed.purchased_micros
    assert invoice.refunds_micros == replayed["refunds"] == mixed.refunded_micros
    assert invoice.adjustments_micros == replayed["adjustments"] == 3_000_000 - 250_000
    assert invoice.usage_micros == replayed["usage"] > 0
    assert invoice.closing_micros == as_of_end.balance_micros
    assert invoice.closing_micros == (
        invoice.opening_micros + invoice.purchases_micros - invoice.refunds_micros
        + invoice.adjustments_micros - invoice.usage_micros)
    countries = {u.country: u for u in invoice.usage_by_country}
    assert set(countries) == {"GB", "US"}  # FR was rejected and released
    assert sum(u.cost_micros for u in countries.values()) == invoice.usage_micros
    with billing_container.app.locked_wallet(account.wallet_id) as wallet:
        assert invoice.entry_hash == wallet.last_entry_hash  # every entry is this month's
    # Closing again keeps the first invoice.
    (again,) = billing_container.invoices.close_month(
        month, month_end.replace(year=month_end.year + 1), account_id=account.account_id)
    assert again == invoice

    listed = client.get("/v1/billing/invoices", headers=account.live).json()
    assert [i["id"] for i in listed["data"]] == [str(invoice.id)]
    assert listed["pagination"]["total"] == 1
    shown = client.get(f"/v1/billing/invoices/{invoice.id}", headers=account.live).json()
    assert shown["data"]["closing_balance_micros"] == invoice.closing_micros
    assert {line["kind"] for line in shown["data"]["lines"]} == {
        "PURCHASE", "REFUND", "ADJUSTMENT"}
    stranger = open_account(billing_container)
    for path in (f"/v1/billing/invoices/{invoice.id}", f"/v1/billing/invoices/{invoice.id}/pdf"):
        hidden = client.get(path, headers=stranger.live)
        assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "NOT_FOUND"

    pdf = client.get(f"/v1/billing/invoices/{invoice.id}/pdf", headers=account.live)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)

    def printed(label: str) -> int:
        line = next(x for x in text.splitlines() if x.startswith(label))
        amount = line.rsplit("GBP", 1)[1].strip().replace(",", "")
        return round(float(amount) * 100)

    assert printed("Closing balance") == round(invoice.closing_micros / 10_000)
    assert printed("Purchases") == invoice.purchases_micros // 10_000
    assert printed("Refunds") == -(invoice.refunds_micros // 10_000)
    assert printed("Opening balance") == 0
    assert invoice.entry_hash in text.replace("\n", "")


def test_close_month_refuses_a_month_not_over(billing_container: Container) -> None:
    month, _ = _this_month()
    with pytest.raises(Exception, match="not over"):
        billing_container.invoices.close_month(month, datetime.now(UTC))


def _check_chain(entries: list[dict]) -> dict[str, dict[str, int]]:
    """Independent of the product's code: every entry's postings sum to zero,
    its postings are the ones its hashed body names, and each hash is
    sha256(previous hash + body), from the genesis hash, per wallet. Returns
    the balance of each ledger account per wallet."""
    previous: dict[str, str] = {}
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for entry in entries:
        wallet = entry["wallet_id"]
        expected_previous = previous.get(wallet, GENESIS)
        assert entry["previous_hash"] == expected_previous, "chain broken"
        digest = hashlib.sha256(expected_previous.encode() + entry["body"].encode()).hexdigest()
        assert digest == entry["entry_hash"], "hash does not recompute"
        body = json.loads(entry["body"])
        assert [list(p) for p in body["postings"]] == [list(p) for p in entry["postings"]]
        assert sum(amount for _, amount in entry["postings"]) == 0, "unbalanced entry"
        for account, amount in entry["postings"]:
            totals[wallet][account] += amount
        previous[wallet] = entry["entry_hash"]
    return totals


def _read_csv(path: Path) -> list[dict]:
    entries: dict[tuple[str, str], dict] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            key = (row["wallet_id"], row["version"])
            entry = entries.setdefault(key, {**row, "postings": []})
            entry["postings"].append([row["ledger_account"], int(row["amount_micros"])])
    return list(entries.values())


def test_verify_and_export_over_a_mixed_workload(
    billing_container: Container, client: TestClient, stripe_api: StripeStandIn,
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mixed = mixed_month(billing_container, client, stripe_api)
    billing_container.billing.open_dispute({
        "id": "dp_mixed", "amount": 100, "currency": "gbp", "charge": "ch",
        "metadata": {"account_id": mixed.account.account_id}})
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["ledger", "verify"]) == 0
    assert "ledger verified" in capsys.readouterr().out
    jsonl, csv_path = tmp_path / "journal.jsonl", tmp_path / "journal.csv"
    assert main(["ledger", "export", "--format", "jsonl", "--output", str(jsonl)]) == 0
    assert main(["ledger", "export", "--format", "csv", "--output", str(csv_path)]) == 0
    from_jsonl = [json.loads(line) for line in jsonl.read_text().splitlines()]
    from_csv = _read_csv(csv_path)
    assert len(from_jsonl) == len(from_csv) > 0
    types = {entry["type"] for entry in from_jsonl}
    assert {"Wallet.ToppedUp", "Wallet.FundsReserved", "Wallet.ReservationsSettled",
            "Wallet.Adjusted", "Refunded"} <= types
    for entries in (from_jsonl, from_csv):
        totals = _check_chain(entries)
        wallet = str(mixed.account.wallet_id)
        account_id = mixed.account.account_id
        balance = billing_container.wallets.balance(mixed.account.wallet_id)
        assert totals[wallet][f"wallet:{account_id}"] + totals[wallet][f"holds:{account_id}"] \
            == balance.balance_micros
        assert totals[wallet][f"holds:{account_id}"] == balance.reserved_micros
    # The same checker notices one edited amount.
    tampered = [dict(e) for e in from_jsonl]
    target = next(e for e in tampered if e["type"] == "Refunded")
    target["body"] = target["body"].replace('"amount_micros":12000000', '"amount_micros":1')
    with pytest.raises(AssertionError, match="hash does not recompute"):
        _check_chain(tampered)


def test_balance_as_of_a_past_instant_over_http(
    billing_container: Container, client: TestClient, stripe_api: StripeStandIn
) -> None:
    account = open_account(billing_container, credit_micros=2_000_000)
    between = datetime.now(UTC)
    billing_container.wallets.adjust(account.wallet_id, 500_000, "goodwill", "T-1")
    then = client.get("/v1/billing/balance", headers=account.live,
                      params={"as_of": between.isoformat()}).json()["data"]
    now = client.get("/v1/billing/balance", headers=account.live).json()["data"]
    assert (then["balance_micros"], now["balance_micros"]) == (2_000_000, 2_500_000)
    assert then["as_of"] is not None and now["as_of"] is None
    before = client.get("/v1/billing/balance", headers=account.live,
                        params={"as_of": "2001-01-01"})
    assert before.status_code == 404
    assert client.get("/v1/billing/balance", headers=account.live,
                      params={"as_of": "yesterday"}).status_code == 400
