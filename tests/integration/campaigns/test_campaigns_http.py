"""A campaign's whole life over HTTP, with the executor running beside the
API as it does in `smsledger up`: 20,000 recipients, a pause and a resume in
the middle, and every recipient sent exactly once."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.campaigns import run_campaign_executor
from adapters.bootstrap.container import Container
from adapters.eventstore.envelopes import envelopes_of
from adapters.http.app import create_app
from projections.campaign_progress import CampaignProgress
from tests.support.campaign_accounts import (
    GB_PRICE_MICROS,
    Account,
    accepted_messages,
    new_account,
    numbers,
    sent_once,
)

RECIPIENTS = 20_000
PROGRESS = CampaignProgress()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as test_client:
        yield test_client


class ExecutorThread:
    """The campaigns role's loop, in a thread, as `smsledger up` runs it."""

    def __init__(self, container: Container) -> None:
        self._container = container
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        self._loop.run_until_complete(
            run_campaign_executor(self._container.crm.executor, self._stop))

    def __enter__(self) -> ExecutorThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)
        assert not self._thread.is_alive()


def wait_for(predicate: Any, timeout_s: float = 180.0, every_s: float = 0.01) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every_s)


def project_campaign(container: Container, campaign_id: UUID) -> None:
    """Apply the campaign's events, and its messages', to the progress model."""
    ids = {campaign_id} | {e.originator_id for e in accepted_messages(container, campaign_id)}
    notifications = []
    start = 1
    while True:
        page = container.app.recorder.select_notifications(start, 10_000)
        notifications += [n for n in page if n.originator_id in ids]
        if len(page) < 10_000:
            break
        start = page[-1].id + 1
    envelopes = [e for e in envelopes_of(container.app.mapper, notifications)
                 if e.type in PROGRESS.event_types]
    with container.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("DELETE FROM rm_campaign_progress WHERE campaign_id = %s", (campaign_id,))
        PROGRESS.apply(cur, envelopes)


def test_lifecycle_with_pause_and_resume_sends_each_recipient_once(
    client: TestClient, container: Container
) -> None:
    account: Account = new_account(container)
    headers = account.headers
    created = client.post("/v1/campaigns", headers=headers, json={
        "name": "Spring Sale 2026", "from": "MyShop",
        "body": "Hi {{name}}, get 30% off this weekend"})
    assert created.status_code == 201, created.text
    campaign = created.json()["data"]
    assert campaign["status"] == "draft"
    campaign_id = campaign["id"]
    phones = numbers(RECIPIENTS, start=50_000)
    for start in range(0, RECIPIENTS, 10_000):
        added = client.post(f"/v1/campaigns/{campaign_id}/recipients", headers=headers, json={
            "recipients": [{"to": p, "variables": {"name": f"N{p[-5:]}"}}
                           for p in phones[start:start + 10_000]]})
        assert added.status_code == 200, added.text
        assert added.json()["data"]["added"] == 10_000
    assert added.json()["data"]["listed"] == RECIPIENTS
    submitted = client.post(f"/v1/campaigns/{campaign_id}/submit", headers=headers)
    assert submitted.json()["data"]["status"] == "pending_approval"
    assert submitted.json()["data"]["recipients"] == RECIPIENTS
    # An API key is never a platform operator.
    refused = client.post(f"/v1/admin/campaigns/{campaign_id}/approve", headers=headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "FORBIDDEN")
    early = client.post(f"/v1/campaigns/{campaign_id}/pause", headers=headers)
    assert early.status_code == 409
    assert early.json()["error"]["details"]["status"] == "pending_approval"
    assert "pending_approval" in early.json()["error"]["message"]

    def state() -> Any:
        return container.crm.campaigns.get(account.account_id, False, UUID(campaign_id))

    with ExecutorThread(container):
        container.crm.campaigns.approve(UUID(campaign_id), "operator-1")
        # Paused as soon as the first chunk is in, so that most of the
        # campaign is still to come however slow or fast the machine is.
        wait_for(lambda: state().cursor >= 1_000)
        paused = client.post(f"/v1/campaigns/{campaign_id}/pause", headers=headers)
        assert paused.status_code == 200, paused.text
        assert paused.json()["data"]["status"] == "paused"
        stopped_at = state().cursor
        assert 1_000 <= stopped_at < RECIPIENTS
        time.sleep(1.5)  # the executor keeps polling; nothing more may be sent
        assert state().cursor == stopped_at
        assert len(accepted_messages(container, UUID(campaign_id))) == stopped_at
        resumed = client.post(f"/v1/campaigns/{campaign_id}/resume", headers=headers)
        assert resumed.json()["data"]["status"] == "sending"
        wait_for(lambda: state().status == "completed")

    sent_once(container, UUID(campaign_id), phones)
    done = state()
    assert (done.accepted, done.rejected, done.processed) == (RECIPIENTS, 0, RECIPIENTS)
    balance = container.wallets.balance(account.wallet_id)
    assert balance.reserved_micros == RECIPIENTS * GB_PRICE_MICROS

    again = client.post(f"/v1/campaigns/{campaign_id}/resume", headers=headers)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "CONFLICT")
    assert again.json()["error"]["details"]["status"] == "completed"

    project_campaign(container, UUID(campaign_id))
    progress = client.get(f"/v1/campaigns/{campaign_id}", headers=headers).json()["data"]
    assert (progress["status"], progress["kind"], progress["recipients"]) == (
        "completed", "campaign", RECIPIENTS)
    assert (progress["accepted"], progress["processed"]) == (RECIPIENTS, RECIPIENTS)
    assert progress["messages"]["queued"] == RECIPIENTS
    assert progress["cost_so_far_micros"] == RECIPIENTS * GB_PRICE_MICROS
    assert progress["paused_at"] is not None and progress["eta_seconds"] is None
    listed = client.get("/v1/campaigns", headers=headers, params={"kind": "campaign"}).json()
    assert [c["id"] for c in listed["data"]] == [campaign_id]


def test_reject_cancel_and_other_accounts(client: TestClient, container: Container) -> None:
    account = new_account(container)
    other = new_account(container)
    campaign_id = client.post("/v1/campaigns", headers=account.headers, json={
        "name": "Review me", "from": "MyShop", "body": "Hello"}).json()["data"]["id"]
    assert client.post(f"/v1/campaigns/{campaign_id}/submit",
                       headers=account.headers).json()["error"]["code"] == "VALIDATION_ERROR"
    client.post(f"/v1/campaigns/{campaign_id}/recipients", headers=account.headers,
                json={"recipients": [{"to": "+447700900123"}, {"to": "bad"}]})
    assert client.post(f"/v1/campaigns/{campaign_id}/recipients", headers=other.headers,
                       json={"recipients": [{"to": "+447700900124"}]}).status_code == 404
    assert client.post(f"/v1/campaigns/{campaign_id}/submit",
                       headers=other.headers).status_code == 404
    client.post(f"/v1/campaigns/{campaign_id}/submit", headers=account.headers)
    refused = client.post(f"/v1/admin/campaigns/{campaign_id}/reject", headers=account.headers,
                          json={"reason": "spam"})
    assert refused.status_code == 403
    rejected = container.crm.campaigns.reject(UUID(campaign_id), "operator-1", "Misleading")
    assert (rejected.status, rejected.reason) == ("rejected", "Misleading")
    cancel = client.post(f"/v1/campaigns/{campaign_id}/cancel", headers=account.headers)
    assert cancel.status_code == 409
    assert cancel.json()["error"]["details"]["status"] == "rejected"
    unknown = client.post("/v1/campaigns", headers=account.headers, json={
        "name": "x", "from": "MyShop", "body": "hi", "status": "approved"})
    assert unknown.json()["error"]["code"] == "VALIDATION_ERROR"


def test_a_campaign_needs_an_approved_sender_and_may_use_a_template(
    client: TestClient, container: Container
) -> None:
    account = new_account(container)
    refused = client.post("/v1/campaigns", headers=account.headers, json={
        "name": "Unapproved", "from": "Stranger", "body": "Hello"})
    assert refused.json()["error"]["code"] == "INVALID_SENDER_ID"
    template = client.post("/v1/templates", headers=account.headers, json={
        "name": "promo", "content": "Hi {{first_name}}, 20% off today"}).json()["data"]
    made = client.post("/v1/campaigns", headers=account.headers, json={
        "name": "From a template", "from": "Acme", "template_id": template["id"]})
    assert made.status_code == 201, made.text
    campaign_id = UUID(made.json()["data"]["id"])
    campaign = container.crm.campaigns.get(account.account_id, False, campaign_id)
    assert campaign.body == "Hi {{first_name}}, 20% off today"
    both = client.post("/v1/campaigns", headers=account.headers, json={
        "name": "Both", "from": "Acme", "body": "x", "template_id": template["id"]})
    assert both.json()["error"]["code"] == "VALIDATION_ERROR"
