"""The read API on a real container: messages, reports, campaigns, billing.

Without NATS: each test applies every stored event to freshly truncated read
models (the database is shared by the run) and works in an account of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from adapters.http.app import create_app
from application.delivery.outcomes import Outcome, OutcomeKind
from application.sending.send import BulkRecipient, SendBulk, SendMessage
from domain.messaging.status import MessageStatus
from domain.wallet import TopUpSource
from tests.support.accounts import Account, new_account
from tests.support.projections import project_everything
from tests.support.senders import approve_sender

GB_PRICE_MICROS = 34_800  # the default GBP card's price of one GB segment


def send(
    container: Container, account: Account, to: str = "+447700900123", body: str = "hi",
    **options: Any,
) -> UUID:
    command = SendMessage(account_id=account.account_id, to=to, sender="Acme", body=body,
                          **options)
    return container.messaging.send(command).message_id


def settle(
    container: Container, delivered: Sequence[UUID], failed: Sequence[UUID] = (),
    sent: Sequence[UUID] = (),
) -> None:
    """Submit every message, then report the delivered and the failed ones."""
    container.outcomes.record([
        Outcome(m, OutcomeKind.SUBMITTED, carrier="testnet", carrier_message_id=f"c-{m}")
        for m in [*delivered, *failed, *sent]
    ])
    container.outcomes.record(
        [Outcome(m, OutcomeKind.REPORTED, carrier_status="DELIVRD",
                 status=MessageStatus.DELIVERED) for m in delivered]
        + [Outcome(m, OutcomeKind.REPORTED, carrier_status="UNDELIV",
                   status=MessageStatus.FAILED, error_code="EC_ABSENT") for m in failed]
    )


def test_a_message_shows_its_status_cost_and_events(
    client: TestClient, container: Container, account: Account
) -> None:
    message_id = send(container, account, client_ref="order-7")
    settle(container, [message_id])
    project_everything(container)

    response = client.get(f"/v1/sms/{message_id}", headers=account.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"]["request_id"].startswith("req_")
    data = body["data"]
    assert data["message_id"] == data["id"] == str(message_id)
    expected = {"status": "delivered", "carrier_status": "DELIVRD", "error_code": None,
                "destination": "+447700900123", "segments": 1, "cost_micros": GB_PRICE_MICROS,
                "cost": 0.0348, "charge": "captured", "client_ref": "order-7",
                "campaign_id": None, "sandbox": False}
    assert {name: data[name] for name in expected} == expected
    assert data["delivered_at"] is not None
    assert [e["status"] for e in data["events"]] == ["queued", "sent", "delivered"]
    assert [e["type"] for e in data["events"]] == [
        "message.accepted", "message.submitted_to_carrier", "message.delivery_reported"]
    assert data["events"] == sorted(data["events"], key=lambda e: e["occurred_at"])


def test_another_accounts_message_and_a_malformed_id_are_not_found(
    client: TestClient, container: Container, account: Account
) -> None:
    other = new_account(container)
    theirs = send(container, other)
    project_everything(container)

    for path in (f"/v1/sms/{theirs}", "/v1/sms/not-a-uuid", f"/v1/sms/{uuid4()}"):
        response = client.get(path, headers=account.headers)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "NOT_FOUND"
    assert client.get(f"/v1/sms/{theirs}", headers=other.headers).status_code == 200


def test_pages_of_a_bulk_hold_every_message_once(
    client: TestClient, container: Container, account: Account
) -> None:
    recipients = [BulkRecipient(f"+4477009{i:05d}") for i in range(1000)]
    batch = container.messaging.send_bulk(SendBulk(
        account_id=account.account_id, recipients=recipients, sender="Acme", body="hi"))
    send(container, account)  # not in the batch
    project_everything(container)

    seen: list[str] = []
    params: dict[str, Any] = {"campaign_id": str(batch.batch_id), "page_size": 137}
    pages = 0
    while True:
        response = client.get("/v1/sms", headers=account.headers, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        assert (body["pagination"]["total"], body["pagination"]["page_size"]) == (1000, 137)
        seen += [m["message_id"] for m in body["data"]]
        if not body["pagination"]["has_more"]:
            assert body["pagination"]["cursor"] is None
            break
        assert len(body["data"]) == 137
        params["cursor"] = body["pagination"]["cursor"]
    assert pages == 8
    assert len(seen) == len(set(seen)) == 1000


def test_the_list_filters_by_status_client_ref_and_destination(
    client: TestClient, container: Container, account: Account
) -> None:
    delivered = send(container, account, to="+447700900001", client_ref="a")
    failed = send(container, account, to="+447700900002", client_ref="b")
    queued = send(container, account, to="+447700900003", client_ref="a")
    settle(container, [delivered], [failed])
    project_everything(container)

    def ids(path: str, **params: Any) -> set[str]:
        response = client.get(path, headers=account.headers, params=params)
        assert response.status_code == 200, response.text
        return {m["message_id"] for m in response.json()["data"]}

    assert ids("/v1/sms") == {str(delivered), str(failed), str(queued)}
    assert ids("/v1/sms", status="delivered") == {str(delivered)}
    assert ids("/v1/reports/messages", status="failed") == {str(failed)}
    assert ids("/v1/sms", client_ref="a") == {str(delivered), str(queued)}
    assert ids("/v1/reports/messages", destination="+447700900002") == {str(failed)}
    assert ids("/v1/sms", status="queued", client_ref="a") == {str(queued)}
    [row] = client.get("/v1/sms", headers=account.headers,
                       params={"status": "failed"}).json()["data"]
    assert (row["carrier_status"], row["error_code"], row["charge"]) == (
        "UNDELIV", "EC_ABSENT", "released")
    today = datetime.now(UTC).date().isoformat()
    assert len(ids("/v1/sms", from_date=today, to_date=today)) == 3
    assert ids("/v1/sms", to_date="2000-01-01") == set()


@pytest.mark.parametrize(
    "params",
    [
        {"page_size": 0},
        {"page_size": 501},
        {"page_size": "many"},
        {"status": "lost"},
        {"cursor": "bm90IG91cnM"},
        {"campaign_id": "not-a-uuid"},
        {"from_date": "yesterday"},
        {"from_date": "2025-02-01", "to_date": "2025-01-01"},
        {"destination": "12"},
    ],
)
def test_invalid_list_parameters_are_validation_errors(
    client: TestClient, account: Account, params: dict[str, Any]
) -> None:
    for path in ("/v1/sms", "/v1/reports/messages"):
        response = client.get(path, headers=account.headers, params=params)
        assert response.status_code == 400, (path, params, response.text)
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_dlr_stats_count_outcomes(
    client: TestClient, container: Container, account: Account
) -> None:
    sent = [send(container, account, to=f"+44770090010{i}") for i in range(4)]
    settle(container, sent[:3], sent[3:])
    send(container, account, to="+447700900200")  # still queued
    project_everything(container)

    response = client.get("/v1/reports/dlr-stats", headers=account.headers)

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    counts = data["totals"]
    assert (counts["delivered"], counts["failed"], counts["queued"], data["total"]) == (3, 1, 1, 5)
    assert data["delivery_rate"] == 0.75
    assert data["median_delivery_ms"] is not None
    [cell] = data["breakdown"]
    assert (cell["country"], cell["day"]) == ("GB", datetime.now(UTC).date().isoformat())
    filtered = client.get("/v1/reports/dlr-stats", headers=account.headers,
                          params={"country": "fr"}).json()["data"]
    assert (filtered["total"], filtered["delivery_rate"]) == (0, None)
    bad = client.get("/v1/reports/dlr-stats", headers=account.headers,
                     params={"campaign_id": "nope"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "VALIDATION_ERROR"


def test_campaign_progress_counts_messages_per_status(
    client: TestClient, container: Container, account: Account
) -> None:
    recipients = [BulkRecipient(f"+4477009002{i:02d}") for i in range(10)]
    recipients.append(BulkRecipient("+4477"))  # rejected at acceptance
    batch = container.messaging.send_bulk(SendBulk(
        account_id=account.account_id, recipients=recipients, sender="Acme", body="hi",
        client_ref="batch-001"))
    project_everything(container)  # the batch's message ids come from the log
    page = client.get("/v1/sms", headers=account.headers,
                      params={"campaign_id": str(batch.batch_id)}).json()["data"]
    ids = [UUID(m["message_id"]) for m in page]
    settle(container, ids[:4], ids[4:5], sent=ids[5:6])
    project_everything(container)

    response = client.get(f"/v1/campaigns/{batch.batch_id}", headers=account.headers)

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["campaign_id"], data["kind"], data["status"], data["client_ref"]) == (
        str(batch.batch_id), "batch", "running", "batch-001")
    assert (data["accepted"], data["rejected"]) == (10, 1)
    assert data["messages"] == {"scheduled": 0, "queued": 4, "sent": 1, "delivered": 4,
                                "failed": 1, "expired": 0, "rejected": 0, "cancelled": 0}
    assert data["messages_total"] == 10
    assert (data["total_cost_micros"], data["total_cost"]) == (348_000, 35)  # 34.8p, rounded up
    other = new_account(container)
    assert client.get(f"/v1/campaigns/{batch.batch_id}",
                      headers=other.headers).status_code == 404
    assert client.get("/v1/campaigns/nope", headers=account.headers).status_code == 404


def test_transactions_carry_types_and_a_running_balance(
    client: TestClient, container: Container, account: Account
) -> None:
    delivered = send(container, account)
    failed = send(container, account)
    settle(container, [delivered], [failed])
    project_everything(container)

    response = client.get("/v1/billing/transactions", headers=account.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    lines = list(reversed(body["data"]))  # oldest first
    assert [t["type"] for t in lines] == [
        "PURCHASE", "RESERVATION", "RESERVATION", "USAGE", "REFUND"]
    assert body["pagination"] == {"total": 5, "page_size": 50, "has_more": False,
                                  "cursor": None}
    running = 0
    for line in lines:
        running += line["balance_change_micros"]
        assert line["balance_after_micros"] == running
        assert line["currency"] == "GBP"
    assert (lines[0]["amount_micros"], lines[0]["amount"]) == (100_000_000, 10_000)
    # Each line shows the message's 3.48p as 4p, whichever way it moves.
    assert [(t["amount_micros"], t["amount"]) for t in lines[1:]] == [
        (-GB_PRICE_MICROS, -4), (-GB_PRICE_MICROS, -4), (-GB_PRICE_MICROS, -4),
        (GB_PRICE_MICROS, 4)]
    assert lines[-1]["balance_after_micros"] == 100_000_000 - GB_PRICE_MICROS
    assert lines[-1]["balance_after"] == 9_996  # 99,965.2 pence, floored

    usage_only = client.get("/v1/billing/transactions", headers=account.headers,
                            params={"type": "USAGE"}).json()
    assert [t["type"] for t in usage_only["data"]] == ["USAGE"]
    paged = client.get("/v1/billing/transactions", headers=account.headers,
                       params={"page_size": 2}).json()
    assert paged["pagination"]["has_more"] is True
    rest = client.get("/v1/billing/transactions", headers=account.headers,
                      params={"page_size": 500, "cursor": paged["pagination"]["cursor"]})
    assert [t["id"] for t in paged["data"] + rest.json()["data"]] == [
        t["id"] for t in body["data"]]
    for params in ({"type": "GIFT"}, {"page_size": 0}, {"cursor": "x"}):
        bad = client.get("/v1/billing/transactions", headers=account.headers, params=params)
        assert bad.status_code == 400, params
        assert bad.json()["error"]["code"] == "VALIDATION_ERROR"


def test_usage_of_the_current_month(
    client: TestClient, container: Container, account: Account
) -> None:
    delivered = send(container, account)
    long_one = send(container, account, to="+447700900999", body="x" * 200)  # 2 segments
    failed = send(container, account, to="+33612345678")
    settle(container, [delivered, long_one], [failed])
    project_everything(container)

    response = client.get("/v1/billing/usage", headers=account.headers)

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["month"] == datetime.now(UTC).strftime("%Y-%m")
    assert (data["messages"], data["segments"]) == (3, 4)
    assert data["cost_micros"] == 3 * GB_PRICE_MICROS  # the failed one was released
    assert data["currency"] == "GBP"
    by_country = {c["country"]: c for c in data["by_country"]}
    assert (by_country["GB"]["messages"], by_country["GB"]["segments"]) == (2, 3)
    assert by_country["GB"]["cost"] == 11  # 10.44p, rounded up
    assert by_country["FR"]["cost_micros"] == 0
    empty = client.get("/v1/billing/usage", headers=account.headers,
                       params={"month": "2001-01"}).json()["data"]
    assert (empty["month"], empty["messages"], empty["by_country"]) == ("2001-01", 0, [])
    bad = client.get("/v1/billing/usage", headers=account.headers, params={"month": "May"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "VALIDATION_ERROR"


def test_a_sandbox_key_sees_only_sandbox_data(
    client: TestClient, container: Container, account: Account
) -> None:
    live = send(container, account)
    settle(container, [live])
    key = container.accounts.issue_key(account.account_id, sandbox=True)
    assert key.api_key.startswith("bsms_test_")
    sandbox = {"X-API-Key": key.api_key, "X-API-Secret": key.api_secret}
    sent = client.post("/v1/sms/send", headers=sandbox,
                       json={"to": "+447700900123", "from": "Acme", "body": "test"})
    assert sent.status_code == 200, sent.text
    test_id = sent.json()["data"]["id"]
    project_everything(container)

    def message_ids(headers: dict[str, str]) -> list[str]:
        return [m["message_id"] for m in client.get("/v1/sms", headers=headers).json()["data"]]

    assert message_ids(sandbox) == [test_id]
    assert message_ids(account.headers) == [str(live)]
    assert client.get(f"/v1/sms/{live}", headers=sandbox).status_code == 404
    assert client.get(f"/v1/sms/{test_id}", headers=account.headers).status_code == 404
    assert client.get(f"/v1/sms/{test_id}", headers=sandbox).json()["data"]["sandbox"] is True
    reports = client.get("/v1/reports/messages", headers=sandbox).json()
    assert reports["pagination"]["total"] == 1
    stats = client.get("/v1/reports/dlr-stats", headers=sandbox).json()["data"]
    # A sandbox send is delivered as it is accepted.
    assert (stats["total"], stats["totals"]["delivered"]) == (1, 1)
    live_stats = client.get("/v1/reports/dlr-stats", headers=account.headers).json()["data"]
    assert (live_stats["total"], live_stats["totals"]["delivered"]) == (1, 1)
    statement = client.get("/v1/billing/transactions", headers=sandbox).json()
    assert statement["data"] == []
    usage = client.get("/v1/billing/usage", headers=sandbox).json()["data"]
    assert (usage["sandbox"], usage["messages"], usage["by_country"]) == (True, 0, [])
    live_usage = client.get("/v1/billing/usage", headers=account.headers).json()["data"]
    assert live_usage["messages"] == 1


def test_the_openapi_document_lists_the_read_operations(client: TestClient) -> None:
    document = client.get("/openapi/openapi.json").json()
    operation_ids = {
        operation["operationId"]
        for path in document["paths"].values() for operation in path.values()
    }
    assert {"getMessage", "listMessages", "listMessageReports", "getDlrStats", "getCampaign",
            "listTransactions", "getUsage", "getBalance"} <= operation_ids
    for path in ("/v1/sms", "/v1/reports/dlr-stats", "/v1/billing/usage"):
        assert client.get(path).json()["error"]["code"] == "UNAUTHORIZED"


def test_messages_can_be_found_by_client_ref(container: Container) -> None:
    from litestar.testing import TestClient


    profile = container.accounts.create_account("Ref Ltd", "GBP", "GB")
    live, _ = container.wallets.open_wallets(profile.account_id, "GBP")
    container.wallets.top_up(live, 1_000_000, TopUpSource.ADJUSTMENT, "opening")
    approve_sender(container, profile.account_id)
    key = container.accounts.issue_key(profile.account_id, sandbox=False)
    headers = {"X-API-Key": key.api_key, "X-API-Secret": key.api_secret}
    with TestClient(create_app(container)) as client:
        for ref in ("order-1", "order-1", "order-2"):
            assert client.post("/v1/sms/send", headers=headers, json={
                "to": "+447700900123", "from": "Acme", "body": "hi", "client_ref": ref,
            }).status_code == 200
        project_everything(container)
        found = client.get("/v1/sms/by-ref/order-1", headers=headers).json()
        assert len(found["data"]) == 2 and found["pagination"]["total"] == 2
        assert {row["client_ref"] for row in found["data"]} == {"order-1"}
        estimate = client.post("/v1/sms/estimate", headers=headers, json={
            "to": ["+447700900123", "07700900124", "nope"], "body": "x" * 161})
        assert estimate.status_code == 200, estimate.text
        data = estimate.json()["data"]
        assert (data["recipients"], data["parts"], data["encoding"]) == (2, 2, "GSM-7")
        assert data["canAfford"] is True and data["rejected"][0]["index"] == 2
        assert data["cost_micros"] > 0
        balance = client.get("/v1/billing/balance", headers=headers).json()["data"]
        assert balance["available_micros"] == data["available_micros"]  # nothing charged


def test_a_message_is_readable_as_soon_as_its_send_answered(
    client: TestClient, container: Container, account: Account
) -> None:
    """Read your writes: the message log lags the store (nothing projects
    here at all), yet a message and its client_ref are found at once."""
    ref = f"ryw-{uuid4().hex[:8]}"
    sent = client.post("/v1/sms/send", headers=account.headers, json={
        "to": "+447700900123", "from": "Acme", "body": "hi", "client_ref": ref})
    assert sent.status_code == 200, sent.text
    message_id = sent.json()["data"]["id"]

    one = client.get(f"/v1/sms/{message_id}", headers=account.headers)
    assert one.status_code == 200, one.text
    data = one.json()["data"]
    assert (data["id"], data["status"], data["client_ref"]) == (message_id, "queued", ref)
    assert (data["cost_micros"], data["charge"]) == (GB_PRICE_MICROS, "held")
    assert [e["type"] for e in data["events"]] == ["message.accepted"]

    by_ref = client.get(f"/v1/sms/by-ref/{ref}", headers=account.headers)
    assert by_ref.status_code == 200, by_ref.text
    assert [row["id"] for row in by_ref.json()["data"]] == [message_id]
    assert by_ref.json()["pagination"]["total"] == 1

    # Later events the log has not seen either are folded in too.
    settle(container, [UUID(message_id)])
    data = client.get(f"/v1/sms/{message_id}", headers=account.headers).json()["data"]
    assert (data["status"], data["charge"]) == ("delivered", "captured")

    other = new_account(container)
    assert client.get(f"/v1/sms/{message_id}", headers=other.headers).status_code == 404
    assert client.get(f"/v1/sms/by-ref/{ref}", headers=other.headers).json()["data"] == []


def test_by_ref_merges_the_log_and_what_it_has_not_seen_yet(
    client: TestClient, container: Container, account: Account
) -> None:
    ref = f"ryw-{uuid4().hex[:8]}"
    first = send(container, account, client_ref=ref)
    project_everything(container)
    second = send(container, account, client_ref=ref)  # not projected
    found = client.get(f"/v1/sms/by-ref/{ref}", headers=account.headers).json()
    assert [row["id"] for row in found["data"]] == [str(second), str(first)]
    assert found["pagination"]["total"] == 2
    page = client.get(f"/v1/sms/by-ref/{ref}", headers=account.headers,
                      params={"page_size": 1}).json()
    assert [row["id"] for row in page["data"]] == [str(second)]
    assert page["pagination"]["has_more"] is True
    rest = client.get(f"/v1/sms/by-ref/{ref}", headers=account.headers,
                      params={"page_size": 1, "cursor": page["pagination"]["cursor"]}).json()
    assert [row["id"] for row in rest["data"]] == [str(first)]


def test_a_sandbox_send_reads_delivered_at_once(
    client: TestClient, container: Container, account: Account
) -> None:
    """The sandbox settles a send as it accepts it; nothing projects here, yet
    the read says what the answer said."""
    sent = client.post("/v1/sms/send", headers={**account.headers, "X-Sandbox": "true"},
                       json={"to": "+447700900123", "from": "Acme", "body": "hi"})
    assert sent.status_code == 200, sent.text
    assert (sent.json()["data"]["status"], sent.json()["data"]["sandbox"]) == ("delivered", True)
    read = client.get(f"/v1/sms/{sent.json()['data']['id']}",
                      headers={**account.headers, "X-Sandbox": "true"})
    assert read.status_code == 200, read.text
    assert (read.json()["data"]["status"], read.json()["data"]["sandbox"]) == ("delivered", True)
