"""Both signature schemes, checked by implementations that are not ours:
the `standardwebhooks` package, and the seed's recipe written from its text."""

from __future__ import annotations

import base64
import time

from domain.webhooks.catalogue import WebhookEvent
from domain.webhooks.signing import secret_from_key, signature_headers
from tests.support.webhook_receiver import verify_seed_signature, verify_standard_signature

OLD = secret_from_key(b"o" * 32)
NEW = secret_from_key(b"n" * 32)
BODY = b'{"id":"e","event":"message.delivered","data":{"carrier_status":"DELIVRD"}}'


def test_one_secret_is_verified_by_both_schemes() -> None:
    headers = signature_headers([NEW], "evt-1", int(time.time()), BODY)
    assert verify_seed_signature(NEW, headers, BODY)
    assert verify_standard_signature(NEW, headers, BODY)
    assert headers["X-Webhook-Id"] == headers["webhook-id"] == "evt-1"


def test_a_changed_body_or_another_secret_fails_both() -> None:
    headers = signature_headers([NEW], "evt-1", int(time.time()), BODY)
    tampered = BODY.replace(b"DELIVRD", b"UNDELIV")
    assert not verify_seed_signature(NEW, headers, tampered)
    assert not verify_standard_signature(NEW, headers, tampered)
    assert not verify_seed_signature(OLD, headers, BODY)
    assert not verify_standard_signature(OLD, headers, BODY)


def test_a_stale_timestamp_is_refused_by_both() -> None:
    headers = signature_headers([NEW], "evt-1", int(time.time()) - 3600, BODY)
    assert not verify_seed_signature(NEW, headers, BODY)
    assert not verify_standard_signature(NEW, headers, BODY)


def test_during_a_rotation_the_old_and_the_new_secret_both_verify() -> None:
    headers = signature_headers([NEW, OLD], "evt-2", int(time.time()), BODY)
    for secret in (NEW, OLD):
        assert verify_seed_signature(secret, headers, BODY)
        assert verify_standard_signature(secret, headers, BODY)
    assert not verify_standard_signature(secret_from_key(b"x" * 32), headers, BODY)


def test_the_secret_is_a_standard_webhooks_secret() -> None:
    assert NEW.startswith("whsec_")
    assert base64.b64decode(NEW[len("whsec_"):]) == b"n" * 32


def test_the_body_has_the_seed_shape() -> None:
    from datetime import UTC, datetime
    from uuid import uuid4

    event = WebhookEvent(uuid4(), "message.delivered", "acct",
                         datetime(2026, 2, 18, 12, 0, 3, tzinfo=UTC),
                         {"message_id": "m"}, None, 1)
    import json

    payload = json.loads(event.body())
    assert list(payload) == ["id", "event", "created_at", "data"]
    assert payload["created_at"] == "2026-02-18T12:00:03Z"
