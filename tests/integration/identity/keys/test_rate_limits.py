"""Rate limits in one process, over HTTP on the real database: headers on
every authenticated answer, 429 RATE_LIMITED with Retry-After, per-account
limits, and the shared bucket's lease arithmetic."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from adapters.http.middleware.rate_limit import lease_size
from adapters.postgres.rate_buckets import PostgresRateBuckets
from tests.support.owner_keys import create_key, new_account, pair


def _account_id(container: Container, headers: dict[str, str]) -> str:
    principal = container.accounts.authenticate(headers["X-API-Key"], headers["X-API-Secret"])
    assert principal is not None
    return principal.account_id


def test_every_authenticated_answer_carries_the_limit_headers(
    client: TestClient, container: Container
) -> None:
    owner = new_account(container)
    before = time.time()
    ok = client.get("/v1/billing/balance", headers=owner)
    missing = client.get(f"/v1/sms/{uuid.uuid4()}", headers=owner)
    bad_body = client.post("/v1/sms/send", headers=owner, json={"to": "+447700900123"})
    for response in (ok, missing, bad_body):
        assert response.headers["x-ratelimit-limit"] == "100"
        remaining = int(response.headers["x-ratelimit-remaining"])
        assert 0 <= remaining <= 100
        reset = int(response.headers["x-ratelimit-reset"])
        assert before <= reset <= time.time() + 2
        assert "retry-after" not in response.headers
    assert (ok.status_code, missing.status_code, bad_body.status_code) == (200, 404, 400)
    assert "x-ratelimit-limit" not in client.get("/healthz").headers


def test_over_the_limit_is_429_with_retry_after_until_the_bucket_refills(
    client: TestClient, container: Container
) -> None:
    owner = new_account(container, "Slow Ltd")
    container.accounts.set_rate_limit(_account_id(container, owner), 5)
    started = time.monotonic()
    responses = [client.get("/v1/billing/balance", headers=owner) for _ in range(40)]
    elapsed = time.monotonic() - started
    accepted = [r for r in responses if r.status_code == 200]
    limited = [r for r in responses if r.status_code == 429]
    assert len(accepted) + len(limited) == 40
    # The bucket's bound: a full bucket, the refill meanwhile, one lease of slack.
    assert 5 <= len(accepted) <= 5 + 5 * elapsed + lease_size(5)
    assert limited, "40 quick requests must overrun 5 per second"
    assert all(r.headers["x-ratelimit-limit"] == "5" for r in responses)
    refusal = limited[0]
    body = refusal.json()
    assert body["error"]["code"] == "RATE_LIMITED"
    assert body["meta"]["request_id"] == refusal.headers["x-request-id"]
    assert refusal.headers["x-ratelimit-remaining"] == "0"
    retry_after = int(refusal.headers["retry-after"])
    assert retry_after == 1  # a token is back within a fifth of a second
    time.sleep(retry_after)
    assert client.get("/v1/billing/balance", headers=owner).status_code == 200


def test_each_key_has_its_own_bucket_and_the_account_its_limit(
    client: TestClient, container: Container
) -> None:
    owner = new_account(container, "Two Keys Ltd")
    other = pair(create_key(client, owner, ["billing.read"]))
    container.accounts.set_rate_limit(_account_id(container, owner), 3)
    statuses = [client.get("/v1/billing/balance", headers=owner).status_code for _ in range(12)]
    assert 429 in statuses
    fresh = client.get("/v1/billing/balance", headers=other)
    assert fresh.status_code == 200
    assert fresh.headers["x-ratelimit-limit"] == "3"
    container.accounts.set_rate_limit(_account_id(container, owner), None)
    assert client.get("/v1/billing/balance", headers=other).headers["x-ratelimit-limit"] == "100"


def test_a_rate_limited_request_is_not_kept_under_its_idempotency_key(
    client: TestClient, container: Container
) -> None:
    owner = new_account(container, "Retry Ltd")
    container.accounts.set_rate_limit(_account_id(container, owner), 1)
    payload = {"to": "+447700900123", "from": "Acme", "body": "hi"}
    headers = {**owner, "Idempotency-Key": f"k-{uuid.uuid4()}"}
    statuses = [client.post("/v1/sms/send", headers=headers, json=payload).status_code
                for _ in range(5)]
    assert statuses[0] == 200 and 429 in statuses
    time.sleep(1.1)
    replay = client.post("/v1/sms/send", headers=headers, json=payload)
    assert replay.status_code == 200
    assert replay.headers.get("idempotent-replayed") == "true"


def test_leases_refill_at_the_rate_and_never_oversubscribe(container: Container) -> None:
    buckets = PostgresRateBuckets(container.pool)
    key_id = uuid.uuid4()
    # The window starts before the first lease: the bucket refills from the
    # moment it is first drawn on, and a loaded machine may pause anywhere
    # between the two rounds.
    started = time.monotonic()
    first = [buckets.lease(key_id, 50, 10) for _ in range(5)]
    assert sum(lease.taken for lease in first) >= 49  # full bucket, a little refill
    with ThreadPoolExecutor(max_workers=4) as pool:
        leases = list(pool.map(lambda _: buckets.lease(key_id, 50, 10), range(40)))
    elapsed = time.monotonic() - started
    taken = sum(lease.taken for lease in first + leases)
    assert taken <= 50 + 1 + 50 * (elapsed + 0.05)  # the capacity, then the rate
    time.sleep(0.3)
    refilled = buckets.lease(key_id, 50, 10)
    assert refilled.taken == 10
    time.sleep(2)
    capped = buckets.lease(key_id, 50, 10)
    assert capped.taken == 10 and capped.tokens_left <= 40.0


def test_a_bucket_of_its_own_shape_and_pruning_of_full_ones(container: Container) -> None:
    """A bucket may hold more than a second's worth (here 3, refilled at one
    a second), and a bucket that is full again is deleted by a prune: it is
    the same as no row, which a lease starts full."""
    buckets = PostgresRateBuckets(container.pool)
    busy, idle = uuid.uuid4(), uuid.uuid4()
    taken = [buckets.lease(busy, 1.0, 1, capacity=3).taken for _ in range(4)]
    assert taken == [1, 1, 1, 0]
    assert buckets.lease(idle, 1000.0, 1, capacity=3).taken == 1
    time.sleep(0.05)  # the idle bucket refills its one token in a millisecond
    buckets.prune()
    with container.pool.connection() as conn:
        rows = conn.execute("SELECT key_id FROM rate_buckets WHERE key_id = ANY(%s)",
                            ([busy, idle],)).fetchall()
    assert [row[0] for row in rows] == [busy]
    assert buckets.lease(idle, 1000.0, 1, capacity=3).tokens_left == 2.0  # it started full
