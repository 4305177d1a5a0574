"""Delivery on real PostgreSQL to a real local receiver: outages survived in
order, Retry-After, 410, the three-day rule, replays of an exact range, and
crashes of the consumer and of a sender."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import msgspec
import psycopg
from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from adapters.webhooks import queue
from adapters.webhooks.intake import WebhookIntake
from adapters.webhooks.sender import WebhookSender
from tests.integration.webhooks.conftest import Account, running_sender
from tests.integration.webhooks.support import (
    _ids,
    envelope,
    feed,
    intake_runner,
    message_lifecycle,
    replay,
    rows,
)
from tests.support.webhook_receiver import (
    Received,
    receiver,
    verify_seed_signature,
    verify_standard_signature,
)

BASE = "/v1/settings/webhooks"
ORDER = ["message.queued", "message.sent", "message.delivered"]


def endpoint(client: TestClient, account: Account, url: str, events: list[str]) -> dict:
    response = client.post(BASE, headers=account.headers, json={"url": url, "events": events})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def test_a_receiver_that_fails_for_a_while_gets_everything_in_order_after_recovery(
    client: TestClient, make_account: Callable[..., Account], hooks_container: Container
) -> None:
    account = make_account()
    outage_until = time.time() + 1.5

    def answer(count: int, received: Received) -> tuple[int, dict[str, str]]:
        return (503, {}) if received.at < outage_until else (200, {})

    with receiver(answer) as local:
        made = endpoint(client, account, local.url, ["*"])
        runner = intake_runner(hooks_container)
        messages = [uuid4() for _ in range(15)]
        lifecycles = [message_lifecycle(account.account_id, m) for m in messages]
        for step in range(3):  # every message's queued, then sent, then delivered
            feed(runner, [lifecycle[step] for lifecycle in lifecycles])
        with running_sender(hooks_container):
            local.wait_for(lambda r: len(r.successes()) == 45, timeout_s=30)
    assert any(r.status == 503 for r in local.requests)
    successes = local.successes()
    ids = [r.event_id for r in successes]
    assert len(ids) == len(set(ids)) == 45  # each id once per success
    per_message: dict[str, list[str]] = defaultdict(list)
    for request in local.requests:  # in order: no event overtook an earlier one
        per_message[request.payload["data"]["message_id"]].append(request.payload["event"])
        assert verify_seed_signature(made["secret"], request.headers, request.body)
        assert verify_standard_signature(made["secret"], request.headers, request.body)
    for message in messages:
        seen = per_message[str(message)]
        assert [e for i, e in enumerate(seen) if e not in seen[:i]] == ORDER
        assert seen == sorted(seen, key=ORDER.index)


def test_retry_after_is_honoured(
    client: TestClient, make_account: Callable[..., Account], hooks_container: Container
) -> None:
    account = make_account()

    def answer(count: int, received: Received) -> tuple[int, dict[str, str]]:
        return (429, {"Retry-After": "2"}) if count == 0 else (200, {})

    with receiver(answer) as local:
        endpoint(client, account, local.url, ["campaign.started"])
        feed(intake_runner(hooks_container),
             [envelope(account.account_id, "campaign.started", uuid4(), {})])
        with running_sender(hooks_container):
            local.wait_for(lambda r: len(r.successes()) == 1, timeout_s=15)
    first, second = local.requests
    assert second.at - first.at >= 1.9
    assert first.event_id == second.event_id


def test_410_disables_the_endpoint_at_once(
    client: TestClient, make_account: Callable[..., Account], hooks_container: Container
) -> None:
    account = make_account()
    with receiver(lambda count, received: (410, {})) as local:
        made = endpoint(client, account, local.url, ["campaign.started"])
        feed(intake_runner(hooks_container),
             [envelope(account.account_id, "campaign.started", uuid4(), {})])
        with running_sender(hooks_container):
            local.wait_for(lambda r: len(r.requests) == 1)
            time.sleep(0.5)
    got = client.get(f"{BASE}/{made['id']}", headers=account.headers).json()["data"]
    assert got["active"] is False and "410" in got["disabled_reason"]
    assert len(local.requests) == 1
    notices = rows(hooks_container, "SELECT kind FROM webhook_notices WHERE endpoint_id = %s",
                   made["id"])
    assert notices == [("webhook.disabled",)]


def test_an_endpoint_failing_for_three_days_is_marked_inactive_with_a_notice(
    client: TestClient, make_account: Callable[..., Account], hooks_container: Container
) -> None:
    account = make_account()
    with receiver(lambda count, received: (500, {})) as local:
        made = endpoint(client, account, local.url, ["campaign.started"])
        with hooks_container.pool.connection() as conn:  # it has failed since then
            conn.execute("UPDATE webhook_endpoints SET failing_since = now() - interval '2 days'"
                         " WHERE id = %s", (made["id"],))
        feed(intake_runner(hooks_container),
             [envelope(account.account_id, "campaign.started", uuid4(), {})])
        with running_sender(hooks_container):
            local.wait_for(lambda r: len(r.requests) >= 2)
        active = client.get(f"{BASE}/{made['id']}", headers=account.headers).json()["data"]
        assert active["active"] is True  # two days is not three
        with hooks_container.pool.connection() as conn:
            conn.execute("UPDATE webhook_endpoints SET failing_since = now() - interval '3 days'"
                         " WHERE id = %s", (made["id"],))
        with running_sender(hooks_container):
            time.sleep(1.5)
    got = client.get(f"{BASE}/{made['id']}", headers=account.headers).json()["data"]
    assert got["active"] is False and "72 hours" in got["disabled_reason"]
    notices = rows(hooks_container, "SELECT kind, detail FROM webhook_notices"
                   " WHERE endpoint_id = %s", made["id"])
    assert [n[0] for n in notices] == ["webhook.disabled"]


def test_replay_re_delivers_exactly_the_requested_range(
    client: TestClient, make_account: Callable[..., Account], hooks_container: Container
) -> None:
    account, other = make_account(), make_account()
    with receiver() as local:
        made = endpoint(client, account, local.url, ["campaign.started", "campaign.completed"])
        endpoint(client, other, local.url, ["*"])
        start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
        mine = [envelope(account.account_id, "campaign.started", uuid4(), {},
                         start + timedelta(minutes=i)) for i in range(10)]
        noise = [
            envelope(account.account_id, "campaign.failed", uuid4(), {"reason": "x"},
                     start + timedelta(minutes=4, seconds=30)),  # not subscribed
            envelope(other.account_id, "campaign.started", uuid4(), {},
                     start + timedelta(minutes=5)),  # another account
        ]
        fed = feed(intake_runner(hooks_container), [*mine[:5], *noise, *mine[5:]])
        mine = [*fed[:5], *fed[7:]]
        with running_sender(hooks_container):
            local.wait_for(lambda r: len(r.successes()) == 11)
            local.requests.clear()
            replayed = client.post(f"{BASE}/{made['id']}/replay", headers=account.headers, json={
                "since": (start + timedelta(minutes=3)).isoformat(),
                "until": (start + timedelta(minutes=7)).isoformat()})
            assert replayed.status_code == 202 and replayed.json()["data"]["queued"] == 4
            local.wait_for(lambda r: len(r.successes()) == 4)
            first = sorted(r.payload["created_at"] for r in local.successes())
            event_ids = [r.event_id for r in local.successes()]
            local.requests.clear()
            pivot = rows(hooks_container, "SELECT id FROM webhook_events WHERE envelope_id = %s",
                         mine[8].id)[0][0]
            by_id = client.post(f"{BASE}/{made['id']}/replay", headers=account.headers,
                                json={"since_event_id": str(pivot)})
            assert by_id.json()["data"]["queued"] == 2
            local.wait_for(lambda r: len(r.successes()) == 2)
            time.sleep(0.3)
    expected = [(start + timedelta(minutes=i)).isoformat().replace("+00:00", "Z")
                for i in (3, 4, 5, 6)]
    assert first == expected
    assert len(set(event_ids)) == 4
    assert sorted(r.payload["created_at"] for r in local.requests) == [
        (start + timedelta(minutes=i)).isoformat().replace("+00:00", "Z") for i in (8, 9)]
    assert client.post(f"{BASE}/{made['id']}/replay", headers=account.headers,
                       json={}).status_code == 400


class CrashingIntake(WebhookIntake):
    """Writes the batch, then dies before the commit."""

    def apply(self, cursor, envelopes):  # type: ignore[no-untyped-def]
        super().apply(cursor, envelopes)
        raise SystemExit("killed mid-batch")


def test_a_consumer_crash_mid_batch_loses_nothing_and_repeats_nothing(
    client: TestClient, make_account: Callable[..., Account], hooks_container: Container
) -> None:
    account = make_account()
    with receiver() as local:
        endpoint(client, account, local.url, ["*"])
        name = f"webhooks_test_{uuid4().hex[:10]}"
        batch = [e for m in range(10) for e in message_lifecycle(account.account_id, uuid4())]
        crashing = intake_runner(hooks_container, CrashingIntake(name=name))
        batch = [msgspec.structs.replace(e, id=next(_ids)) for e in batch]
        try:
            replay(crashing, batch)
        except SystemExit:
            pass
        else:
            raise AssertionError("the intake should have died")
        assert rows(hooks_container, "SELECT count(*) FROM webhook_events"
                    " WHERE envelope_id = ANY(%s)", [e.id for e in batch]) == [(0,)]
        # JetStream redelivers the unacked batch; then, once more, as if the
        # ack after the commit had been lost too.
        runner = intake_runner(hooks_container, WebhookIntake(name=name))
        replay(runner, batch)
        replay(runner, batch)
        with running_sender(hooks_container):
            local.wait_for(lambda r: len(r.successes()) == 30)
            time.sleep(0.3)
    ids = [r.event_id for r in local.requests]
    assert len(ids) == len(set(ids)) == 30


def test_a_sender_crash_after_posting_repeats_only_the_same_ids(
    client: TestClient, make_account: Callable[..., Account], hooks_container: Container
) -> None:
    account = make_account()
    with receiver() as local:
        endpoint(client, account, local.url, ["*"])
        feed(intake_runner(hooks_container),
             [e for m in range(5) for e in message_lifecycle(account.account_id, uuid4())])
        # A sender claims and posts, then dies before recording anything.
        doomed = WebhookSender(hooks_container.database_url,
                               hooks_container.webhook_guard,
                               hooks_container.settings.webhooks)

        async def claim_and_post() -> int:
            async with await psycopg.AsyncConnection.connect(
                hooks_container.database_url, autocommit=True
            ) as conn:
                claimed = await queue.claim(conn, 100, {}, 50, lease_s=1.0)
            # The queue is the run's: an earlier test's retry that fell due
            # is claimed too. Only this account's deliveries are this test's.
            claimed = [d for d in claimed if d.account_id == account.account_id]
            for delivery in claimed:
                await doomed.post(delivery)
            await doomed.aclose()  # it records nothing: as if it died here
            return len(claimed)

        assert asyncio.run(claim_and_post()) == 5  # one per message: the rest wait their turn
        assert len(local.successes()) == 5
        with running_sender(hooks_container):
            local.wait_for(lambda r: len(r.successes()) == 20, timeout_s=20)
            time.sleep(0.3)
    counts: dict[str, int] = defaultdict(int)
    bodies: dict[str, set[bytes]] = defaultdict(set)
    for request in local.requests:
        counts[request.event_id] += 1
        bodies[request.event_id].add(request.body)
    assert len(counts) == 15  # nothing lost
    assert sorted(counts.values()) == [1] * 10 + [2] * 5  # the claimed five, twice
    assert all(len(b) == 1 for b in bodies.values())  # a repeat is the same event
